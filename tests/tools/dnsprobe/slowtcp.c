/* slowtcp.c -- dnsprobe slowtcp: one query over TCP, one byte per segment. */
#include "dnsprobe.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* ---- slowtcp: one query, one byte per segment ------------------------------------ */

#define SLOW_BYTE_PAUSE_MS 20

int cmd_slowtcp(const struct options *o)
{
	static uint8_t msg[DNS_MESSAGE_MAX];
	uint8_t framed[2 + 512];
	size_t query_len = build_query(framed + 2, sizeof framed - 2, (uint16_t)getpid(), 0, o->name,
				       TYPE_A, CLASS_IN);
	if (query_len == 0) {
		printf("slowtcp: FAIL: '%s' is not a valid name\n", o->name);
		return EXIT_FAIL;
	}
	size_t len = frame(framed, query_len);
	int fd = tcp_connect(o);
	if (fd < 0) {
		printf("slowtcp: FAIL: cannot connect: %s\n", strerror(errno));
		return EXIT_FAIL;
	}
	/* Without Nagle each one-byte send leaves as its own segment, so the server
	 * reads the length prefix and the message in pieces. */
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	for (size_t i = 0; i < len; i++) {
		if (send_all(fd, framed + i, 1) < 0) {
			printf("slowtcp: FAIL: the server closed after %zu of %zu bytes\n", i, len);
			close(fd);
			return EXIT_FAIL;
		}
		pause_ms(SLOW_BYTE_PAUSE_MS);
	}
	size_t answer_len;
	enum io_result r = read_framed(fd, msg, &answer_len, now_seconds() + IO_TIMEOUT_SECONDS);
	close(fd);
	if (r != IO_OK) {
		printf("slowtcp: FAIL: no answer: %s\n", io_result_text(r));
		return EXIT_FAIL;
	}
	struct reply reply;
	const char *why = check_reply(framed + 2, query_len, msg, answer_len, &reply);
	if (why) {
		printf("slowtcp: FAIL: bad answer: %s\n", why);
		return EXIT_FAIL;
	}
	printf("slowtcp: %s, %u answers%s%s\n", rcode_name(reply.rcode), reply.ancount,
	       reply.addresses[0] ? ": " : "", reply.addresses);
	return reply.rcode == 0 ? EXIT_PASS : EXIT_FAIL;
}

/* send.c -- dnsprobe send: one hand-made datagram, and the rcode that came back. */
#include "dnsprobe.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* ---- send: one hand-made datagram, and what came back --------------------------------- */

/* Hex digits to bytes; spaces and colons between them are ignored. */
static long parse_hex(const char *text, uint8_t *out, size_t cap)
{
	size_t len = 0;
	int high = -1;
	for (const char *p = text; *p; p++) {
		int v;
		if (*p == ' ' || *p == ':')
			continue;
		if (*p >= '0' && *p <= '9')
			v = *p - '0';
		else if ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'f')
			v = (*p | 0x20) - 'a' + 10;
		else
			return -1;
		if (high < 0) {
			high = v;
			continue;
		}
		if (len == cap)
			return -1;
		out[len++] = (uint8_t)(high << 4 | v);
		high = -1;
	}
	return high < 0 ? (long)len : -1;
}

int cmd_send(const struct options *o)
{
	uint8_t packet[4096], reply[DNS_MESSAGE_MAX];
	long len = parse_hex(o->hex, packet, sizeof packet);
	if (len < 0) {
		fprintf(stderr, "dnsprobe: send: --hex: not an even number of hex digits\n");
		return EXIT_USAGE;
	}
	int fd = udp_open(o);
	if (fd < 0 || send(fd, packet, (size_t)len, 0) < 0) {
		printf("send: FAIL: cannot send: %s\n", strerror(errno));
		if (fd >= 0)
			close(fd);
		return EXIT_FAIL;
	}
	double deadline = now_seconds() + o->timeout;
	struct pollfd p = { fd, POLLIN, 0 };
	int ready;
	while ((ready = poll(&p, 1, ms_until(deadline))) < 0 && errno == EINTR)
		;
	ssize_t n = ready > 0 ? recv(fd, reply, sizeof reply, MSG_DONTWAIT) : -1;
	int recv_errno = errno;
	close(fd);
	if (ready == 0) {
		printf("send: no answer\n");
		return EXIT_PASS;
	}
	if (n < 0) {
		/* ECONNREFUSED: nothing listens on the port, which is not "no answer". */
		printf("send: FAIL: %s\n", strerror(recv_errno));
		return EXIT_FAIL;
	}
	if (n < DNS_HEADER_SIZE) {
		printf("send: FAIL: a %zd-byte reply\n", n);
		return EXIT_FAIL;
	}
	if (len >= 2 && get_u16(reply) != get_u16(packet)) {
		printf("send: FAIL: reply id %u, sent %u\n", get_u16(reply), get_u16(packet));
		return EXIT_FAIL;
	}
	if (!(get_u16(reply + 2) & FLAG_QR)) {
		printf("send: FAIL: reply without the QR bit\n");
		return EXIT_FAIL;
	}
	printf("send: rcode %s\n", rcode_name(reply[3] & 0xf));
	return EXIT_PASS;
}

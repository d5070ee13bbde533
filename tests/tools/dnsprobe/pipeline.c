/* pipeline.c -- dnsprobe pipeline: many queries in one TCP write, answers in order. */
#include "dnsprobe.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- pipeline: many queries in one write, answers in order ---------------------- */

struct pending_query {
	uint8_t wire[512];
	size_t len;
};

int cmd_pipeline(const struct options *o)
{
	static const uint16_t types[] = { TYPE_A, TYPE_AAAA, TYPE_SOA };
	static uint8_t msg[DNS_MESSAGE_MAX];
	unsigned long k = o->count;
	struct pending_query *queries = calloc(k, sizeof *queries);
	uint8_t *stream = malloc(k * (2 + sizeof queries->wire));
	int fd = -1, rc = EXIT_FAIL;
	if (!queries || !stream) {
		printf("pipeline: FAIL: out of memory\n");
		goto out;
	}
	/* Distinct IDs from a base that differs between runs. */
	uint16_t base = (uint16_t)(getpid() * 7919u);
	size_t stream_len = 0;
	for (unsigned long i = 0; i < k; i++) {
		struct pending_query *q = &queries[i];
		q->len = build_query(q->wire, sizeof q->wire, (uint16_t)(base + i), 0, o->name,
				     types[i % 3], CLASS_IN);
		if (q->len == 0) {
			printf("pipeline: FAIL: '%s' is not a valid name\n", o->name);
			goto out;
		}
		put_u16(stream + stream_len, (uint16_t)q->len);
		memcpy(stream + stream_len + 2, q->wire, q->len);
		stream_len += 2 + q->len;
	}
	fd = tcp_connect(o);
	if (fd < 0) {
		printf("pipeline: FAIL: cannot connect: %s\n", strerror(errno));
		goto out;
	}
	/* One send(): the kernel may split it into segments, which is the point. */
	if (send_all(fd, stream, stream_len) < 0) {
		printf("pipeline: FAIL: cannot send the queries: %s\n", strerror(errno));
		goto out;
	}
	double deadline = now_seconds() + IO_TIMEOUT_SECONDS + (double)k / 1000;
	for (unsigned long i = 0; i < k; i++) {
		size_t len;
		enum io_result r = read_framed(fd, msg, &len, deadline);
		if (r != IO_OK) {
			printf("pipeline: FAIL: answer %lu of %lu: %s\n", i + 1, k, io_result_text(r));
			goto out;
		}
		struct reply reply;
		const char *why = check_reply(queries[i].wire, queries[i].len, msg, len, &reply);
		if (why) {
			printf("pipeline: FAIL: answer %lu of %lu: %s (id %u, expected %u)\n", i + 1, k,
			       why, reply.id, get_u16(queries[i].wire));
			goto out;
		}
		if (reply.rcode != 0) {
			printf("pipeline: FAIL: answer %lu of %lu: rcode %s\n", i + 1, k,
			       rcode_name(reply.rcode));
			goto out;
		}
	}
	/* Exactly k answers: nothing more may follow. */
	struct pollfd p = { fd, POLLIN, 0 };
	if (poll(&p, 1, 200) > 0 && recv(fd, msg, sizeof msg, MSG_DONTWAIT) > 0) {
		printf("pipeline: FAIL: more data after the %lu answers\n", k);
		goto out;
	}
	printf("pipeline: %lu answers in order\n", k);
	rc = EXIT_PASS;
out:
	if (fd >= 0)
		close(fd);
	free(stream);
	free(queries);
	return rc;
}

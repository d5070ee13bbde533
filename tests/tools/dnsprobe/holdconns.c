/* holdconns.c -- dnsprobe holdconns: hold many TCP connections open, count those the server refuses. */
#include "dnsprobe.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- holdconns: occupy connections, see which the server refuses -------------------- */

/* A connection closed this soon was refused, not timed out: the shortest idle
 * timeout svcdns takes is 1 s, and half of that keeps the two well apart. */
#define AT_ONCE_SECONDS 0.5

int cmd_holdconns(const struct options *o)
{
	unsigned long k = o->count;
	int *fds = calloc(k, sizeof *fds);
	struct pollfd *p = calloc(k, sizeof *p);
	int rc = EXIT_FAIL;
	unsigned long opened = 0, closed_at_once = 0, closed_later = 0;
	if (!fds || !p) {
		free(fds);
		free(p);
		printf("holdconns: FAIL: out of memory\n");
		return EXIT_FAIL;
	}
	for (; opened < k; opened++) {
		fds[opened] = tcp_connect(o);
		if (fds[opened] < 0) {
			printf("holdconns: FAIL: connection %lu: cannot connect: %s\n", opened + 1,
			       strerror(errno));
			goto out;
		}
	}
	/* Say so at once, so a script can act while the connections are held. */
	printf("holdconns: %lu connected, holding %.1f s\n", k, o->hold);
	fflush(stdout);

	double started = now_seconds(), until = started + o->hold;
	unsigned long still_open = k;
	while (still_open > 0 && now_seconds() < until) {
		for (unsigned long i = 0; i < k; i++)
			p[i] = (struct pollfd){ fds[i], POLLIN, 0 };  /* fd -1 is skipped */
		int ready = poll(p, k, ms_until(until));
		if (ready < 0 && errno == EINTR)
			continue;
		if (ready <= 0)
			break;
		for (unsigned long i = 0; i < k; i++) {
			if (fds[i] < 0 || !p[i].revents)
				continue;
			uint8_t byte;
			ssize_t n = recv(fds[i], &byte, 1, MSG_DONTWAIT);
			if (n > 0) {
				printf("holdconns: FAIL: the server sent data on connection %lu\n", i + 1);
				goto out;
			}
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (now_seconds() - started < AT_ONCE_SECONDS)
				closed_at_once++;
			else
				closed_later++;
			close(fds[i]);
			fds[i] = -1;
			still_open--;
		}
	}
	printf("holdconns: %lu opened, %lu closed at once, %lu closed later\n", k, closed_at_once,
	       closed_later);
	rc = o->expect_closed < 0 || (unsigned long)o->expect_closed == closed_at_once ? EXIT_PASS
										       : EXIT_FAIL;
out:
	for (unsigned long i = 0; i < opened; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(fds);
	free(p);
	return rc;
}

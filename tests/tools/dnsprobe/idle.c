/* idle.c -- dnsprobe idle: the server must hang up on a silent TCP client. */
#include "dnsprobe.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* ---- idle: the server hangs up on a silent client --------------------------------- */


/* Waits for the server to close fd; returns the seconds it took, or -1 on timeout,
 * -2 when it sent data instead. */
static double wait_for_close(int fd, double started, double limit)
{
	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		int ready = poll(&p, 1, ms_until(started + limit));
		if (ready < 0 && errno == EINTR)
			continue;
		if (ready <= 0)
			return -1;
		uint8_t byte;
		ssize_t n = recv(fd, &byte, 1, MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return now_seconds() - started;
		if (n > 0)
			return -2;
	}
}

int cmd_idle(const struct options *o)
{
	int fd = tcp_connect(o);
	if (fd < 0) {
		printf("idle: FAIL: cannot connect: %s\n", strerror(errno));
		return EXIT_FAIL;
	}
	double started = now_seconds();
	double took = wait_for_close(fd, started, o->close_within);
	close(fd);
	if (took == -2) {
		printf("idle: FAIL: the server sent data to a silent client\n");
		return EXIT_FAIL;
	}
	if (took < 0) {
		printf("idle: FAIL: still open after %.2f s\n", o->close_within);
		return EXIT_FAIL;
	}
	if (took < IDLE_TOO_EARLY) {
		printf("idle: FAIL: closed too early, after %.2f s\n", took);
		return EXIT_FAIL;
	}
	printf("idle: closed by the server after %.1f s\n", took);
	return EXIT_PASS;
}

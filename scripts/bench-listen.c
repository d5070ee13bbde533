/* bench-listen.c -- a TCP listener for the health-check benchmark: accepts every
 * connection and closes it at once, as fast as connections come.
 *
 *   bench-listen ADDR PORT
 *
 * Prints "ready" once listening; runs until killed. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: bench-listen ADDR PORT\n");
		return 2;
	}
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2])) };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fd < 0 || inet_pton(AF_INET, argv[1], &sin.sin_addr) != 1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof sin) < 0 || listen(fd, 4096) < 0) {
		perror("bench-listen");
		return 2;
	}
	printf("ready\n");
	fflush(stdout);
	struct pollfd p = { .fd = fd, .events = POLLIN };
	for (;;) {
		if (poll(&p, 1, -1) < 0)
			continue;
		int c;
		while ((c = accept4(fd, NULL, NULL, SOCK_NONBLOCK)) >= 0)
			close(c);
	}
}

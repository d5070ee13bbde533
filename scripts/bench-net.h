/* bench-net.h -- what the benchmark's C tools share: IPv4 sockets, clocks, fatal
 * errors and latency percentiles.  Header only (static inline: a tool that does not
 * use a function gets no warning), so scripts/bench still builds each tool from its
 * one .c file.  Include it after defining _GNU_SOURCE. */
#ifndef BENCH_NET_H
#define BENCH_NET_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

/* Ends the tool with status 2: "TOOL: WHAT: strerror(errno)". */
static inline void die(const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, what, strerror(errno));
	exit(2);
}

static inline int64_t clock_ns(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline double now_ms(clockid_t clock)
{
	return clock_ns(clock) / 1e6;
}

/* ADDR:PORT as a sockaddr; exits when ADDR is not a dotted IPv4 address. */
static inline struct sockaddr_in ipv4_address(const char *addr, int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
		fprintf(stderr, "%s: %s: not an IPv4 address\n", program_invocation_short_name, addr);
		exit(2);
	}
	return sa;
}

/* Sets both socket buffers to BYTES (the kernel caps them at rmem_max/wmem_max). */
static inline void socket_buffers(int fd, int bytes)
{
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
}

/* A socket of TYPE (SOCK_STREAM, SOCK_DGRAM) with 4 MiB buffers, connected to
 * ADDR:PORT; exits on failure. */
static inline int connect_to(int type, const char *addr, int port)
{
	struct sockaddr_in sa = ipv4_address(addr, port);
	int fd = socket(AF_INET, type, 0);
	if (fd < 0)
		die("socket");
	socket_buffers(fd, 4 << 20);   /* before connect: TCP sizes its window scale then */
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
		die("connect");
	return fd;
}

/* A UDP socket bound to ADDR:PORT; exits on failure. */
static inline int bind_udp(const char *addr, int port)
{
	struct sockaddr_in sa = ipv4_address(addr, port);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
		die("bind");
	return fd;
}

static inline int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* The P-quantile (0..1) of N sorted values; 0 when there are none. */
static inline uint32_t percentile(const uint32_t *sorted, size_t n, double p)
{
	if (n == 0)
		return 0;
	size_t i = (size_t)(p * (double)n);
	return sorted[i >= n ? n - 1 : i];
}

#endif

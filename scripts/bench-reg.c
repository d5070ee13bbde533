/* bench-reg.c -- registration load client: sends a file of request lines to svcdns
 * as fast as the server takes them, and reports requests/s.
 *
 *   bench-reg tcp ADDR PORT FILE [-w WINDOW] [-u EPOCH_MS]
 *   bench-reg udp ADDR PORT FILE [-w WINDOW] [-k LINES_PER_DATAGRAM] [-u EPOCH_MS]
 *
 * TCP: one connection, pipelined: up to WINDOW requests (default 4096) in flight,
 * one reply line per request, in order.
 * UDP: up to WINDOW datagrams (default 128; 256 overflow svcdns's default socket
 * buffer) in flight, each with LINES_PER_DATAGRAM lines (default 1), sent and
 * received in batches with sendmmsg/recvmmsg.  The protocol has no request IDs,
 * so replies are counted, not matched; when nothing arrives for 200 ms, whatever
 * is in flight is counted lost and sending resumes.
 * -u EPOCH_MS appends " ttl=S" to each line, S = the seconds from the moment of
 * sending to EPOCH_MS (rounded, at least 1): leases sent over several seconds then
 * all end within the same second.
 *
 * Prints one line: requests ok err lost seconds rate (requests answered OK per
 * second, from the first send to the last reply), then up to 3 error replies.
 * Exit status 1 when any request failed or was lost. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define UDP_BATCH 64
#define UDP_MAX 65536

struct lines {
	char *text;          /* the whole file */
	size_t *start;       /* start[i]: offset of line i; start[count]: end of the last */
	size_t count;
};

struct tally {
	size_t ok, err, lost, shown;
};

static double now_ms(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void die(const char *what)
{
	perror(what);
	exit(2);
}

static void read_lines(const char *path, struct lines *l)
{
	FILE *f = fopen(path, "r");
	struct stat st;
	if (!f || fstat(fileno(f), &st) < 0)
		die(path);
	l->text = malloc(st.st_size + 1);
	if (!l->text || fread(l->text, 1, st.st_size, f) != (size_t)st.st_size)
		die(path);
	fclose(f);
	l->text[st.st_size] = '\n';
	size_t n = 0;
	for (off_t i = 0; i < st.st_size; i++)
		n += l->text[i] == '\n';
	l->start = malloc((n + 2) * sizeof *l->start);
	l->count = 0;
	l->start[0] = 0;
	for (off_t i = 0; i < st.st_size; i++)
		if (l->text[i] == '\n')
			l->start[++l->count] = i + 1;
	if (l->start[l->count] < (size_t)st.st_size)   /* no final LF */
		l->start[++l->count] = st.st_size + 1;
}

/* Appends line i (with its LF, and a ttl when until_ms is set) to out; returns bytes. */
static size_t format_line(const struct lines *l, size_t i, double until_ms, char *out)
{
	size_t len = l->start[i + 1] - l->start[i] - 1;
	memcpy(out, l->text + l->start[i], len);
	if (until_ms > 0) {
		long ttl = (long)((until_ms - now_ms(CLOCK_REALTIME)) / 1e3 + 0.5);
		len += sprintf(out + len, " ttl=%ld", ttl < 1 ? 1 : ttl);
	}
	out[len++] = '\n';
	return len;
}

/* Counts the reply lines in buf[0..n), OK or not; *line_start carries over a line
 * split between two reads. */
static size_t count_replies(const char *buf, size_t n, struct tally *t, int *line_start)
{
	size_t lines = 0;
	for (size_t i = 0; i < n; i++) {
		if (*line_start) {
			if (n - i >= 2 && buf[i] == 'O' && buf[i + 1] == 'K') {
				t->ok++;
			} else {
				t->err++;
				if (t->shown++ < 3) {
					const char *end = memchr(buf + i, '\n', n - i);
					fprintf(stderr, "bench-reg: reply: %.*s\n",
						(int)(end ? end - (buf + i) : (long)(n - i)), buf + i);
				}
			}
			*line_start = 0;
		}
		if (buf[i] == '\n') {
			lines++;
			*line_start = 1;
		}
	}
	return lines;
}

static int connect_to(int type, const char *addr, int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
		fprintf(stderr, "bench-reg: %s: not an IPv4 address\n", addr);
		exit(2);
	}
	int fd = socket(AF_INET, type, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
		die("connect");
	int big = 4 << 20;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
	return fd;
}

static void run_tcp(int fd, const struct lines *l, size_t window, double until_ms, struct tally *t)
{
	int one = 1, line_start = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	size_t cap = 1 << 20, sent = 0, replied = 0, out_len = 0, out_off = 0;
	char *out = malloc(cap + 2048), *in = malloc(1 << 20);
	while (replied < l->count) {
		/* Refill the output buffer while the window allows. */
		if (out_off == out_len) {
			out_len = out_off = 0;
			while (sent < l->count && sent - replied < window && out_len < cap)
				out_len += format_line(l, sent++, until_ms, out + out_len);
		}
		struct pollfd p = { fd, POLLIN | (out_off < out_len ? POLLOUT : 0), 0 };
		if (poll(&p, 1, 10000) <= 0) {
			fprintf(stderr, "bench-reg: no reply for 10 s (%zu of %zu answered)\n", replied, l->count);
			break;
		}
		if (p.revents & POLLOUT) {
			ssize_t w = send(fd, out + out_off, out_len - out_off, MSG_DONTWAIT);
			if (w < 0 && errno != EAGAIN)
				die("send");
			if (w > 0)
				out_off += w;
		}
		if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t r = recv(fd, in, 1 << 20, MSG_DONTWAIT);
			if (r == 0) {
				fprintf(stderr, "bench-reg: server closed the connection\n");
				break;
			}
			if (r < 0 && errno != EAGAIN)
				die("recv");
			if (r > 0)
				replied += count_replies(in, r, t, &line_start);
		}
	}
	t->lost = l->count - replied;
}

static void run_udp(int fd, const struct lines *l, size_t window, size_t per_dgram,
		    double until_ms, struct tally *t, double *last_reply_ms)
{
	static char out[UDP_BATCH][UDP_MAX], in[UDP_BATCH][UDP_MAX];
	struct mmsghdr msgs[UDP_BATCH];
	struct iovec iov[UDP_BATCH];
	size_t next = 0, datagrams_in_flight = 0;
	while (next < l->count || datagrams_in_flight > 0) {
		/* Send a batch while the window allows. */
		int n = 0;
		while (next < l->count && datagrams_in_flight + n < window && n < UDP_BATCH) {
			size_t len = 0;
			for (size_t k = 0; k < per_dgram && next < l->count; k++)
				len += format_line(l, next++, until_ms, out[n] + len);
			iov[n] = (struct iovec){ out[n], len };
			msgs[n].msg_hdr = (struct msghdr){ .msg_iov = &iov[n], .msg_iovlen = 1 };
			n++;
		}
		for (int s = 0; s < n;) {
			int r = sendmmsg(fd, msgs + s, n - s, 0);
			if (r < 0) {
				if (errno == ENOBUFS || errno == EAGAIN) {
					usleep(100);
					continue;
				}
				die("sendmmsg");
			}
			s += r;
		}
		datagrams_in_flight += n;
		/* Take whatever replies are there; wait only when the window is full or all is sent. */
		int must_wait = datagrams_in_flight >= window || next >= l->count;
		struct pollfd p = { fd, POLLIN, 0 };
		int ready = poll(&p, 1, must_wait ? 200 : 0);
		if (ready == 0 && must_wait) {
			t->lost += datagrams_in_flight * per_dgram;   /* approximate for a short last datagram */
			datagrams_in_flight = 0;
			continue;
		}
		if (ready <= 0)
			continue;
		for (int i = 0; i < UDP_BATCH; i++) {
			iov[i] = (struct iovec){ in[i], UDP_MAX };
			msgs[i].msg_hdr = (struct msghdr){ .msg_iov = &iov[i], .msg_iovlen = 1 };
		}
		int r = recvmmsg(fd, msgs, UDP_BATCH, MSG_DONTWAIT, NULL);
		if (r < 0) {
			if (errno == ECONNREFUSED)
				die("recvmmsg (server gone)");
			continue;
		}
		for (int i = 0; i < r; i++) {
			int line_start = 1;
			count_replies(in[i], msgs[i].msg_len, t, &line_start);
			if (datagrams_in_flight > 0)
				datagrams_in_flight--;
		}
		if (r > 0)
			*last_reply_ms = now_ms(CLOCK_MONOTONIC);
	}
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: %s tcp|udp ADDR PORT FILE [-w WINDOW] [-k LINES_PER_DATAGRAM] [-u EPOCH_MS]\n",
			argv[0]);
		return 2;
	}
	int udp = strcmp(argv[1], "udp") == 0;
	size_t window = udp ? 128 : 4096, per_dgram = 1;
	double until_ms = 0;
	for (int i = 5; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "-w") == 0)
			window = strtoul(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "-k") == 0)
			per_dgram = strtoul(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "-u") == 0)
			until_ms = strtod(argv[i + 1], NULL);
	}
	struct lines l;
	read_lines(argv[4], &l);
	int fd = connect_to(udp ? SOCK_DGRAM : SOCK_STREAM, argv[2], atoi(argv[3]));
	struct tally t = { 0 };
	double t0 = now_ms(CLOCK_MONOTONIC), last_reply = t0;
	if (udp)
		run_udp(fd, &l, window, per_dgram ? per_dgram : 1, until_ms, &t, &last_reply);
	else
		run_tcp(fd, &l, window, until_ms, &t);
	double seconds = ((udp ? last_reply : now_ms(CLOCK_MONOTONIC)) - t0) / 1e3;
	printf("requests=%zu ok=%zu err=%zu lost=%zu seconds=%.3f rate=%.0f\n", l.count, t.ok, t.err,
	       t.lost, seconds, t.ok / seconds);
	return t.err || t.lost ? 1 : 0;
}

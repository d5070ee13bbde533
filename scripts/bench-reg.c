/* bench-reg.c -- registration load client: sends a file of request lines to svcdns,
 * either as fast as the server takes them (reporting requests/s) or at a fixed rate.
 *
 *   bench-reg tcp ADDR PORT FILE [-w WINDOW] [-u EPOCH_MS]
 *   bench-reg udp ADDR PORT FILE [-w WINDOW] [-k LINES_PER_DATAGRAM] [-u EPOCH_MS]
 *   bench-reg tcp ADDR PORT FILE -r RATE -l SECONDS [-s FIRST_LINE] [-w WINDOW] [-u EPOCH_MS]
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
 * -r RATE -l SECONDS (TCP only): a steady load of RATE requests/s for SECONDS, open
 * loop: every millisecond the requests due by then (RATE/1000 at a time) are sent,
 * whether or not the earlier ones have been answered (up to WINDOW in flight).  The
 * lines are taken from FILE cyclically, starting at line FIRST_LINE (0-based, default
 * 0), so consecutive runs can go on through the file where the last one stopped.
 *
 * Prints one line: requests ok err lost seconds rate (requests answered OK per
 * second, from the first send to the last reply); with -r also the latency of the
 * replies, measured from each request's scheduled send time (p50_us p99_us max_us).
 * Then up to 3 error replies on stderr.  Exit status 1 when any request failed or
 * was lost, 2 on a usage or socket error. */
#define _GNU_SOURCE
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench-net.h"

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

/* Counts the reply lines in buf[0..n), and which of them begin with OK; *state carries
 * a line split between two reads over (1: at the start of a line, 2: after its first
 * 'O', 0: further on). */
static size_t count_replies(const char *buf, size_t n, struct tally *t, int *state)
{
	size_t lines = 0;
	for (size_t i = 0; i < n; i++) {
		if (*state == 1 && buf[i] == 'O') {
			*state = 2;
		} else if (*state == 2 && buf[i] == 'K') {
			t->ok++;
			*state = 0;
		} else if (*state) {
			t->err++;
			if (t->shown++ < 3) {
				const char *from = buf + i - (*state == 2 && i > 0), *end = memchr(from, '\n', buf + n - from);
				fprintf(stderr, "bench-reg: reply: %.*s\n", (int)((end ? end : buf + n) - from), from);
			}
			*state = 0;
		}
		if (buf[i] == '\n') {
			lines++;
			*state = 1;
		}
	}
	return lines;
}

/* TOTAL requests over TCP, request k being line (FIRST + k) % l->count.  RATE 0: as fast
 * as the window allows.  Otherwise request k is due k / RATE seconds after the start, and
 * lat[k] gets the latency of its reply in microseconds from that moment. */
static void run_tcp(int fd, const struct lines *l, size_t total, size_t first, double rate, size_t window,
		    double until_ms, struct tally *t, uint32_t *lat)
{
	int one = 1, reply_state = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	size_t cap = 1 << 20, sent = 0, replied = 0, out_len = 0, out_off = 0;
	char *out = malloc(cap + 2048), *in = malloc(1 << 20);
	int64_t t0 = clock_ns(CLOCK_MONOTONIC), progress = t0;   /* progress: the last reply */
	while (replied < total) {
		int64_t now = clock_ns(CLOCK_MONOTONIC);
		size_t due = total;
		if (rate > 0 && (due = (size_t)((now - t0) / 1e9 * rate) + 1) > total)
			due = total;
		/* Refill the output buffer while the schedule and the window allow. */
		if (out_off == out_len) {
			out_len = out_off = 0;
		} else if (out_off > cap / 2) {
			memmove(out, out + out_off, out_len - out_off);
			out_len -= out_off;
			out_off = 0;
		}
		if (sent == replied)
			progress = now;   /* nothing in flight: nothing is overdue */
		while (sent < due && sent - replied < window && out_len < cap)
			out_len += format_line(l, (first + sent++) % l->count, until_ms, out + out_len);
		/* Paced: wake up for the next millisecond's batch. */
		struct pollfd p = { fd, POLLIN | (out_off < out_len ? POLLOUT : 0), 0 };
		int ready = poll(&p, 1, rate > 0 && sent < total ? 1 : 1000);
		if (ready < 0 && errno != EINTR)
			die("poll");
		now = clock_ns(CLOCK_MONOTONIC);
		if (ready <= 0) {
			if (sent > replied && now - progress > 10 * (int64_t)1000000000) {
				fprintf(stderr, "bench-reg: no reply for 10 s (%zu of %zu answered)\n", replied, total);
				break;
			}
			continue;
		}
		if (p.revents & POLLOUT) {
			ssize_t w = send(fd, out + out_off, out_len - out_off, MSG_DONTWAIT | MSG_NOSIGNAL);
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
			if (r <= 0)
				continue;
			size_t n = count_replies(in, r, t, &reply_state);
			for (size_t k = replied; lat && k < replied + n && k < total; k++) {
				int64_t due_ns = t0 + (int64_t)(k / rate * 1e9);
				lat[k] = now > due_ns ? (uint32_t)((now - due_ns) / 1000) : 0;
			}
			replied += n;
			if (n)
				progress = now;
		}
	}
	t->lost = replied < total ? total - replied : 0;
	free(out);
	free(in);
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

static void usage(void)
{
	fprintf(stderr, "usage: bench-reg tcp|udp ADDR PORT FILE [-w WINDOW] [-k LINES_PER_DATAGRAM] [-u EPOCH_MS]\n"
			"       bench-reg tcp ADDR PORT FILE -r RATE -l SECONDS [-s FIRST_LINE] [-w WINDOW] [-u EPOCH_MS]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	if (argc < 5 || (strcmp(argv[1], "tcp") != 0 && strcmp(argv[1], "udp") != 0))
		usage();
	int udp = strcmp(argv[1], "udp") == 0;
	size_t window = udp ? 128 : 4096, per_dgram = 1, first = 0;
	double until_ms = 0, rate = 0, duration = 0;
	for (int i = 5; i < argc; i += 2) {
		if (i + 1 >= argc)
			usage();
		const char *opt = argv[i], *val = argv[i + 1];
		if (strcmp(opt, "-w") == 0)
			window = strtoul(val, NULL, 10);
		else if (strcmp(opt, "-k") == 0)
			per_dgram = strtoul(val, NULL, 10);
		else if (strcmp(opt, "-u") == 0)
			until_ms = strtod(val, NULL);
		else if (strcmp(opt, "-r") == 0)
			rate = strtod(val, NULL);
		else if (strcmp(opt, "-l") == 0)
			duration = strtod(val, NULL);
		else if (strcmp(opt, "-s") == 0)
			first = strtoul(val, NULL, 10);
		else
			usage();
	}
	if ((rate > 0) != (duration > 0) || (rate > 0 && udp)) {
		fprintf(stderr, "bench-reg: -r RATE and -l SECONDS go together, over TCP only\n");
		return 2;
	}
	struct lines l;
	read_lines(argv[4], &l);
	if (rate > 0 && l.count == 0) {
		fprintf(stderr, "bench-reg: %s: no lines\n", argv[4]);
		return 2;
	}
	size_t total = rate > 0 ? (size_t)(rate * duration + 0.5) : l.count;
	uint32_t *lat = rate > 0 ? calloc(total + 1, sizeof *lat) : NULL;
	int fd = connect_to(udp ? SOCK_DGRAM : SOCK_STREAM, argv[2], atoi(argv[3]));
	struct tally t = { 0 };
	double t0 = now_ms(CLOCK_MONOTONIC), last_reply = t0;
	if (udp)
		run_udp(fd, &l, window, per_dgram ? per_dgram : 1, until_ms, &t, &last_reply);
	else
		run_tcp(fd, &l, total, l.count ? first % l.count : 0, rate, window ? window : 1, until_ms, &t, lat);
	double seconds = ((udp ? last_reply : now_ms(CLOCK_MONOTONIC)) - t0) / 1e3;
	printf("requests=%zu ok=%zu err=%zu lost=%zu seconds=%.3f rate=%.0f", total, t.ok, t.err, t.lost,
	       seconds, seconds > 0 ? t.ok / seconds : 0);
	if (lat) {
		size_t answered = total - t.lost;
		qsort(lat, answered, sizeof *lat, cmp_u32);
		printf(" p50_us=%u p99_us=%u max_us=%u", percentile(lat, answered, 0.5), percentile(lat, answered, 0.99),
		       answered ? lat[answered - 1] : 0);
	}
	printf("\n");
	return t.err || t.lost ? 1 : 0;
}

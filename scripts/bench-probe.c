/* bench-probe.c -- fixed-rate DNS latency probe, and a start-up timer.
 *
 * Latency mode: sends queries from a dnsperf-format file ("name TYPE" per line) over
 * UDP at a fixed rate, open loop (the send schedule does not wait for answers, so a
 * stalled server shows up as latency instead of as a slower sender), and reports the
 * latency distribution, which dnsperf 2.10 does not give:
 *
 *   bench-probe -s ADDR -p PORT -d FILE -r QPS -l SECONDS [-t TIMEOUT_MS]
 *               [-i WINDOW_MS [-z ZERO_EPOCH_MS] [-P SERVER_PID]]
 *
 *   summary: sent answered lost avg_us p50_us p99_us p999_us max_us rcodes
 *   with -i, also one line per window of WINDOW_MS (by send time): its start in ms
 *   relative to ZERO_EPOCH_MS (wall clock; default: the probe's start), the queries
 *   sent, answered and lost, p50/p99/max latency, and with -P the server's CPU use
 *   (utime+stime of SERVER_PID) during the window in percent of one core.
 *   A query unanswered after TIMEOUT_MS (default 1000) counts as lost.
 *
 * Start-up mode: runs a command (the server), then asks NAME/A every millisecond
 * until an answer with rcode NOERROR and at least one answer record arrives:
 *
 *   bench-probe -s ADDR -p PORT -S NAME -o PIDFILE [-T DEADLINE_S] -- COMMAND ARGS...
 *
 *   prints startup_ms (from just before exec to the first such answer), writes the
 *   server's PID to PIDFILE and exits, leaving the server running.  Exit status 1
 *   when no answer came before the deadline (default 300 s). */
#define _GNU_SOURCE
#include <poll.h>
#include <strings.h>
#include <unistd.h>

#include "bench-net.h"

#define BATCH 64
#define QMAX 300

struct query {
	uint8_t wire[QMAX];
	size_t len;
};

struct slot {             /* one per DNS ID */
	int64_t sent_ns;  /* 0: free */
	int32_t window;
};

static int type_code(const char *t)
{
	static const struct { const char *name; int code; } types[] = {
		{ "A", 1 }, { "NS", 2 }, { "SOA", 6 }, { "PTR", 12 }, { "MX", 15 }, { "TXT", 16 },
		{ "AAAA", 28 }, { "SRV", 33 }, { "ANY", 255 },
	};
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
		if (strcasecmp(t, types[i].name) == 0)
			return types[i].code;
	return -1;
}

/* Encodes a query for NAME/TYPE (ID left 0, RD clear, no EDNS); returns 0 or -1. */
static int encode_query(const char *name, const char *type, struct query *q)
{
	int code = type_code(type);
	uint8_t *p = q->wire;
	if (code < 0 || strlen(name) > 253)
		return -1;
	memset(p, 0, 12);
	p[5] = 1;                          /* QDCOUNT 1 */
	size_t off = 12;
	const char *label = name;
	while (*label) {
		const char *dot = strchr(label, '.');
		size_t len = dot ? (size_t)(dot - label) : strlen(label);
		if (len == 0 || len > 63)
			return -1;
		p[off++] = (uint8_t)len;
		memcpy(p + off, label, len);
		off += len;
		label += len + (dot != NULL);
	}
	p[off++] = 0;
	p[off++] = code >> 8, p[off++] = code & 255;
	p[off++] = 0, p[off++] = 1;        /* IN */
	q->len = off;
	return 0;
}

static struct query *read_queries(const char *path, size_t *count)
{
	FILE *f = fopen(path, "r");
	if (!f)
		die(path);
	size_t cap = 1024, n = 0;
	struct query *qs = malloc(cap * sizeof *qs);
	char line[512], name[300], type[32];
	while (fgets(line, sizeof line, f)) {
		if (sscanf(line, "%299s %31s", name, type) != 2)
			continue;
		if (n == cap)
			qs = realloc(qs, (cap *= 2) * sizeof *qs);
		if (encode_query(name, type, &qs[n]) == 0)
			n++;
		else
			fprintf(stderr, "bench-probe: skipping %s %s\n", name, type);
	}
	fclose(f);
	if (n == 0) {
		fprintf(stderr, "bench-probe: %s: no queries\n", path);
		exit(2);
	}
	*count = n;
	return qs;
}

static long cpu_ticks(int pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	long utime = 0, stime = 0;
	/* after ") ": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %ld %ld", &utime, &stime) != 2)
		return -1;
	return utime + stime;
}

static int startup(const char *addr, int port, const char *name, const char *pidfile, int deadline_s,
		   char **cmd)
{
	struct query q;
	if (encode_query(name, "A", &q) < 0) {
		fprintf(stderr, "bench-probe: bad name %s\n", name);
		return 2;
	}
	int fd = connect_to(SOCK_DGRAM, addr, port);
	int64_t t0 = clock_ns(CLOCK_MONOTONIC);
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		close(fd);
		execvp(cmd[0], cmd);
		die(cmd[0]);
	}
	FILE *f = fopen(pidfile, "w");
	if (!f)
		die(pidfile);
	fprintf(f, "%d\n", (int)pid);
	fclose(f);
	uint16_t id = 0;
	while (clock_ns(CLOCK_MONOTONIC) - t0 < (int64_t)deadline_s * 1000000000) {
		id++;
		q.wire[0] = id >> 8, q.wire[1] = id & 255;
		send(fd, q.wire, q.len, 0);
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, 1) <= 0)
			continue;
		uint8_t r[4096];
		ssize_t n = recv(fd, r, sizeof r, MSG_DONTWAIT);
		/* ECONNREFUSED: nothing listens yet.  Any answer to any of our IDs counts. */
		if (n >= 12 && (r[3] & 15) == 0 && (r[6] | r[7]) != 0) {
			printf("startup_ms=%.1f\n", (clock_ns(CLOCK_MONOTONIC) - t0) / 1e6);
			return 0;
		}
	}
	printf("startup_ms=timeout\n");
	return 1;
}

int main(int argc, char **argv)
{
	const char *addr = "127.0.0.1", *file = NULL, *startup_name = NULL, *pidfile = NULL;
	int port = 53, server_pid = 0, deadline_s = 300;
	double rate = 10000, seconds = 5, timeout_ms = 1000, window_ms = 0, zero_ms = 0;
	int opt;
	while ((opt = getopt(argc, argv, "s:p:d:r:l:t:i:z:P:S:o:T:")) != -1) {
		switch (opt) {
		case 's': addr = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 'd': file = optarg; break;
		case 'r': rate = atof(optarg); break;
		case 'l': seconds = atof(optarg); break;
		case 't': timeout_ms = atof(optarg); break;
		case 'i': window_ms = atof(optarg); break;
		case 'z': zero_ms = atof(optarg); break;
		case 'P': server_pid = atoi(optarg); break;
		case 'S': startup_name = optarg; break;
		case 'o': pidfile = optarg; break;
		case 'T': deadline_s = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: see the comment at the top of bench-probe.c\n");
			return 2;
		}
	}
	if (startup_name) {
		if (!pidfile || optind >= argc) {
			fprintf(stderr, "bench-probe: -S needs -o PIDFILE and -- COMMAND\n");
			return 2;
		}
		return startup(addr, port, startup_name, pidfile, deadline_s, argv + optind);
	}
	if (!file) {
		fprintf(stderr, "bench-probe: -d FILE is required\n");
		return 2;
	}

	size_t nq;
	struct query *qs = read_queries(file, &nq);
	int fd = connect_to(SOCK_DGRAM, addr, port);
	size_t total = (size_t)(rate * seconds) + 1;
	uint32_t *lat = malloc(total * sizeof *lat), *lat_window = malloc(total * sizeof *lat_window);
	size_t answered = 0, sent = 0, lost = 0, rcodes[16] = { 0 };
	size_t windows = window_ms > 0 ? (size_t)(seconds * 1000 / window_ms) + 2 : 1;
	size_t *w_sent = calloc(windows, sizeof *w_sent), *w_lost = calloc(windows, sizeof *w_lost);
	long *w_cpu = calloc(windows + 1, sizeof *w_cpu);
	static struct slot slots[65536];
	int64_t timeout_ns = (int64_t)(timeout_ms * 1e6);
	int64_t start = clock_ns(CLOCK_MONOTONIC);
	double start_wall_ms = clock_ns(CLOCK_REALTIME) / 1e6;
	if (zero_ms == 0)
		zero_ms = start_wall_ms;
	int64_t end = start + (int64_t)(seconds * 1e9);
	size_t cpu_window = 0;
	if (server_pid)
		w_cpu[0] = cpu_ticks(server_pid);
	uint16_t next_id = 0;
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	uint8_t out[BATCH][QMAX], in[BATCH][4096];

	for (;;) {
		int64_t now = clock_ns(CLOCK_MONOTONIC);
		if (now >= end + timeout_ns || (now >= end && answered + lost >= sent))
			break;
		size_t w = window_ms > 0 ? (size_t)((now - start) / (int64_t)(window_ms * 1e6)) : 0;
		while (server_pid && cpu_window < w && cpu_window < windows) {
			w_cpu[++cpu_window] = cpu_ticks(server_pid);
		}
		/* Send what the schedule says is due by now. */
		size_t due = now < end ? (size_t)((now - start) / 1e9 * rate) + 1 : sent;
		if (due > total)
			due = total;
		while (sent < due) {
			int n = 0;
			while (sent + n < due && n < BATCH) {
				uint16_t id = next_id++;
				struct slot *s = &slots[id];
				if (s->sent_ns) {     /* this ID's query never came back */
					lost++;
					if (window_ms > 0)
						w_lost[s->window]++;
				}
				s->sent_ns = now;
				s->window = (int32_t)w;
				if (window_ms > 0)
					w_sent[w]++;
				const struct query *q = &qs[(sent + n) % nq];
				memcpy(out[n], q->wire, q->len);
				out[n][0] = id >> 8, out[n][1] = id & 255;
				iov[n] = (struct iovec){ out[n], q->len };
				msgs[n].msg_hdr = (struct msghdr){ .msg_iov = &iov[n], .msg_iovlen = 1 };
				n++;
			}
			for (int done = 0; done < n;) {
				int r = sendmmsg(fd, msgs + done, n - done, 0);
				if (r < 0 && errno != ENOBUFS && errno != EAGAIN && errno != ECONNREFUSED)
					die("sendmmsg");
				if (r > 0)
					done += r;
			}
			sent += n;
		}
		/* Expire queries that waited past the timeout (checked every 100 ms). */
		static int64_t last_sweep;
		if (now - last_sweep > 100000000) {
			last_sweep = now;
			for (int i = 0; i < 65536; i++)
				if (slots[i].sent_ns && now - slots[i].sent_ns > timeout_ns) {
					slots[i].sent_ns = 0;
					lost++;
					if (window_ms > 0)
						w_lost[slots[i].window]++;
				}
		}
		/* Wait for answers until the next query is due. */
		struct pollfd p = { fd, POLLIN, 0 };
		struct timespec wait = { 0, (long)(1e9 / rate) };
		if (wait.tv_nsec > 1000000)
			wait.tv_nsec = 1000000;
		if (ppoll(&p, 1, &wait, NULL) <= 0)
			continue;
		for (int i = 0; i < BATCH; i++) {
			iov[i] = (struct iovec){ in[i], sizeof in[i] };
			msgs[i].msg_hdr = (struct msghdr){ .msg_iov = &iov[i], .msg_iovlen = 1 };
		}
		int r = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);
		int64_t got = clock_ns(CLOCK_MONOTONIC);
		for (int i = 0; i < r; i++) {
			if (msgs[i].msg_len < 12)
				continue;
			uint16_t id = (uint16_t)(in[i][0] << 8 | in[i][1]);
			struct slot *s = &slots[id];
			if (!s->sent_ns)
				continue;     /* late, already counted lost */
			lat[answered] = (uint32_t)((got - s->sent_ns) / 1000);
			lat_window[answered] = (uint32_t)s->window;
			answered++;
			rcodes[in[i][3] & 15]++;
			s->sent_ns = 0;
		}
	}
	for (int i = 0; i < 65536; i++)
		if (slots[i].sent_ns) {
			lost++;
			if (window_ms > 0)
				w_lost[slots[i].window]++;
		}

	/* Per-window percentiles first (grouping by window), then the overall ones. */
	if (window_ms > 0) {
		long hz = sysconf(_SC_CLK_TCK);
		/* Group the latencies by window: a counting sort. */
		size_t *first = calloc(windows + 1, sizeof *first), *fill = calloc(windows, sizeof *fill);
		uint32_t *buf = malloc((answered + 1) * sizeof *buf);
		for (size_t i = 0; i < answered; i++)
			first[lat_window[i] + 1]++;
		for (size_t w = 0; w < windows; w++)
			first[w + 1] += first[w];
		for (size_t i = 0; i < answered; i++)
			buf[first[lat_window[i]] + fill[lat_window[i]]++] = lat[i];
		size_t last = windows;
		while (last > 0 && w_sent[last - 1] == 0)
			last--;
		for (size_t w = 0; w < last; w++) {
			size_t n = first[w + 1] - first[w];
			uint32_t *wl = buf + first[w];
			qsort(wl, n, sizeof *wl, cmp_u32);
			double t = start_wall_ms + w * window_ms - zero_ms;
			printf("window t_ms=%.0f sent=%zu answered=%zu lost=%zu p50_us=%u p99_us=%u max_us=%u",
			       t, w_sent[w], n, w_lost[w], percentile(wl, n, 0.5), percentile(wl, n, 0.99),
			       n ? wl[n - 1] : 0);
			if (server_pid && w + 1 <= cpu_window && w_cpu[w] >= 0 && w_cpu[w + 1] >= 0)
				printf(" cpu_pct=%.0f", (w_cpu[w + 1] - w_cpu[w]) * 100.0 / hz / (window_ms / 1000));
			printf("\n");
		}
		free(buf);
		free(first);
		free(fill);
	}
	qsort(lat, answered, sizeof *lat, cmp_u32);
	double sum = 0;
	for (size_t i = 0; i < answered; i++)
		sum += lat[i];
	printf("sent=%zu answered=%zu lost=%zu avg_us=%.0f p50_us=%u p99_us=%u p999_us=%u max_us=%u rcodes=",
	       sent, answered, lost, answered ? sum / answered : 0, percentile(lat, answered, 0.5),
	       percentile(lat, answered, 0.99), percentile(lat, answered, 0.999),
	       answered ? lat[answered - 1] : 0);
	static const char *const names[16] = { "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED" };
	const char *sep = "";
	for (int i = 0; i < 16; i++)
		if (rcodes[i]) {
			printf("%s%s:%zu", sep, names[i] ? names[i] : "OTHER", rcodes[i]);
			sep = ",";
		}
	printf("\n");
	return 0;
}

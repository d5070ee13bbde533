/* common.c -- dnsprobe's shared helpers: time, building and checking DNS messages, sockets. */
#include "dnsprobe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- time ----------------------------------------------------------------- */

double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Milliseconds left until a deadline, for poll(); never negative. */
int ms_until(double deadline)
{
	double left = deadline - now_seconds();
	return left <= 0 ? 0 : (int)(left * 1000) + 1;
}

void pause_ms(unsigned ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---- building and reading DNS messages -------------------------------------- */

void put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

uint16_t get_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Encodes "a.b.c" (a trailing dot is optional, "." is the root) as wire labels.
 * Returns the length, or 0 when the name is not valid or does not fit. */
static size_t encode_name(const char *text, uint8_t *out, size_t cap)
{
	size_t len = 0;
	const char *p = strcmp(text, ".") == 0 ? "" : text;
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t label = dot ? (size_t)(dot - p) : strlen(p);
		if (label == 0 || label > 63 || len + 1 + label + 1 > cap)
			return 0;
		out[len++] = (uint8_t)label;
		memcpy(out + len, p, label);
		len += label;
		p += label;
		if (*p == '.')
			p++;
	}
	if (len + 1 > cap || len + 1 > 255)
		return 0;
	out[len++] = 0;
	return len;
}

/* Writes a query with one question; returns its length, or 0 for a bad name. */
size_t build_query(uint8_t *out, size_t cap, uint16_t id, uint16_t flags,
			  const char *name, uint16_t qtype, uint16_t qclass)
{
	if (cap < DNS_HEADER_SIZE + 4)
		return 0;
	memset(out, 0, DNS_HEADER_SIZE);
	put_u16(out, id);
	put_u16(out + 2, flags);
	put_u16(out + 4, 1);
	size_t name_len = encode_name(name, out + DNS_HEADER_SIZE, cap - DNS_HEADER_SIZE - 4);
	if (name_len == 0)
		return 0;
	size_t off = DNS_HEADER_SIZE + name_len;
	put_u16(out + off, qtype);
	put_u16(out + off + 2, qclass);
	return off + 4;
}

/* Appends an RFC 6891 OPT record (root owner, no options) and counts it in ARCOUNT. */
size_t append_opt(uint8_t *msg, size_t len, size_t cap, uint16_t udp_size, uint8_t version)
{
	if (len + 11 > cap)
		return len;
	uint8_t *p = msg + len;
	p[0] = 0;                  /* owner: the root */
	put_u16(p + 1, TYPE_OPT);
	put_u16(p + 3, udp_size);  /* CLASS carries the UDP payload size */
	p[5] = 0;                  /* TTL: extended rcode, version, flags */
	p[6] = version;
	p[7] = 0;
	p[8] = 0;
	put_u16(p + 9, 0);         /* RDLENGTH */
	put_u16(msg + 10, (uint16_t)(get_u16(msg + 10) + 1));
	return len + 11;
}

const char *rcode_name(int rcode)
{
	static const char *const names[] = { "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
					     "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET",
					     "NXRRSET", "NOTAUTH", "NOTZONE" };
	static char other[16];
	if (rcode >= 0 && rcode < (int)(sizeof names / sizeof names[0]))
		return names[rcode];
	snprintf(other, sizeof other, "RCODE%d", rcode);
	return other;
}

/* Steps over a name in a received message; a compression pointer ends it. */
static int skip_name(const uint8_t *msg, size_t len, size_t *off)
{
	for (;;) {
		if (*off >= len)
			return -1;
		uint8_t b = msg[*off];
		if (b == 0) {
			*off += 1;
			return 0;
		}
		if ((b & 0xc0) == 0xc0) {
			if (*off + 2 > len)
				return -1;
			*off += 2;
			return 0;
		}
		if (b > 63)
			return -1;
		*off += 1u + b;
	}
}


/* Walks the answer section and notes the A/AAAA addresses; -1 when it is malformed. */
static int read_addresses(const uint8_t *msg, size_t len, size_t off, struct reply *r)
{
	r->addresses[0] = 0;
	for (unsigned i = 0; i < r->ancount; i++) {
		if (skip_name(msg, len, &off) < 0 || off + 10 > len)
			return -1;
		uint16_t type = get_u16(msg + off);
		uint16_t rdlen = get_u16(msg + off + 8);
		off += 10;
		if (off + rdlen > len)
			return -1;
		char text[INET6_ADDRSTRLEN] = "";
		if (type == TYPE_A && rdlen == 4)
			inet_ntop(AF_INET, msg + off, text, sizeof text);
		else if (type == TYPE_AAAA && rdlen == 16)
			inet_ntop(AF_INET6, msg + off, text, sizeof text);
		if (text[0]) {
			size_t used = strlen(r->addresses);
			snprintf(r->addresses + used, sizeof r->addresses - used, "%s%s",
				 used ? " " : "", text);
		}
		off += rdlen;
	}
	return 0;
}

/* Checks that msg answers our query: same ID, QR set, the question echoed byte for
 * byte (our queries carry nothing after the question).  Fills r.  Returns NULL
 * when the reply fits, else what is wrong with it. */
const char *check_reply(const uint8_t *query, size_t query_len, const uint8_t *msg,
			       size_t len, struct reply *r)
{
	memset(r, 0, sizeof *r);
	if (len < DNS_HEADER_SIZE)
		return "shorter than a DNS header";
	r->id = get_u16(msg);
	r->flags = get_u16(msg + 2);
	r->rcode = r->flags & 0xf;
	r->ancount = get_u16(msg + 6);
	if (r->id != get_u16(query))
		return "wrong id";
	if (!(r->flags & FLAG_QR))
		return "QR bit not set";
	if (get_u16(msg + 4) != 1)
		return "QDCOUNT is not 1";
	size_t question_len = query_len - DNS_HEADER_SIZE;
	if (len < DNS_HEADER_SIZE + question_len ||
	    memcmp(msg + DNS_HEADER_SIZE, query + DNS_HEADER_SIZE, question_len) != 0)
		return "question not echoed";
	if (read_addresses(msg, len, DNS_HEADER_SIZE + question_len, r) < 0)
		return "answer section malformed";
	return NULL;
}

/* ---- sockets ---------------------------------------------------------------- */

/* A UDP socket connected to the server: the kernel then sends nowhere else and
 * passes up only datagrams from the server.  Non-blocking, so draining never waits. */
int udp_open(const struct options *o)
{
	int fd = socket(o->server.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)&o->server, o->server_len) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A TCP connection to the server.  Send and connect timeouts make a wedged
 * server fail the test instead of hanging it. */
int tcp_connect(const struct options *o)
{
	int fd = socket(o->server.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct timeval limit = { (time_t)IO_TIMEOUT_SECONDS, 0 };
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
	if (connect(fd, (const struct sockaddr *)&o->server, o->server_len) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}


/* Sends all of buf; MSG_NOSIGNAL so a server that closed on us is an error, not SIGPIPE. */
int send_all(int fd, const uint8_t *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}


const char *io_result_text(enum io_result r)
{
	switch (r) {
	case IO_OK: return "ok";
	case IO_CLOSED: return "the server closed the connection";
	case IO_TIMEOUT: return "timed out";
	case IO_ERROR: break;
	}
	return "socket error";
}

/* Reads exactly len bytes before the deadline, whatever pieces they arrive in. */
static enum io_result read_exact(int fd, uint8_t *buf, size_t len, double deadline)
{
	size_t got = 0;
	while (got < len) {
		struct pollfd p = { fd, POLLIN, 0 };
		int ready = poll(&p, 1, ms_until(deadline));
		if (ready < 0 && errno == EINTR)
			continue;
		if (ready < 0)
			return IO_ERROR;
		if (ready == 0)
			return IO_TIMEOUT;
		ssize_t n = recv(fd, buf + got, len - got, MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return IO_CLOSED;
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0)
			return IO_ERROR;
		got += (size_t)n;
	}
	return IO_OK;
}

/* Reads one DNS message with its 2-byte length prefix (RFC 1035 4.2.2). */
enum io_result read_framed(int fd, uint8_t *buf, size_t *len, double deadline)
{
	uint8_t prefix[2];
	enum io_result r = read_exact(fd, prefix, 2, deadline);
	if (r != IO_OK)
		return r;
	*len = get_u16(prefix);
	return read_exact(fd, buf, *len, deadline);
}

/* Puts the 2-byte length prefix before a message already at frame + 2. */
size_t frame(uint8_t *frame_buf, size_t msg_len)
{
	put_u16(frame_buf, (uint16_t)msg_len);
	return msg_len + 2;
}

/* Sends a framed query on a TCP connection and reads frames until its answer comes,
 * skipping answers to whatever was sent before it.  NULL on success, else why not. */
const char *tcp_expect_answer(int fd, const uint8_t *query, size_t query_len)
{
	static uint8_t msg[DNS_MESSAGE_MAX];
	uint8_t framed[2 + 512];
	memcpy(framed + 2, query, query_len);
	if (send_all(fd, framed, frame(framed, query_len)) < 0)
		return "could not send the query";
	double deadline = now_seconds() + IO_TIMEOUT_SECONDS;
	for (int skipped = 0; skipped < 64; skipped++) {
		size_t len;
		enum io_result r = read_framed(fd, msg, &len, deadline);
		if (r != IO_OK)
			return io_result_text(r);
		struct reply reply;
		if (!check_reply(query, query_len, msg, len, &reply))
			return NULL;
	}
	return "too many unrelated answers";
}

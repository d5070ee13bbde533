/* dnsprobe.c -- a small DNS client that does to svcdns what dig cannot.
 *
 * dig and kdig ask well-formed questions one at a time.  The integration tests
 * also need broken packets, pipelined TCP, a slow writer, idle and surplus
 * connections.  Each subcommand does one of those, prints one result line and
 * exits 0 when the server behaved, 1 when it did not, 2 on a usage error.
 *
 *   dnsprobe garbage   --server A --port P --seed N --count K [--name NAME]
 *   dnsprobe pipeline  --server A --port P --name NAME --count K
 *   dnsprobe slowtcp   --server A --port P --name NAME
 *   dnsprobe idle      --server A --port P --expect-close-within S
 *   dnsprobe holdconns --server A --port P --count K --hold S [--expect-closed N]
 *   dnsprobe send      --server A --port P --hex BYTES [--timeout S]
 *
 * Messages are built by hand rather than with ldns: broken packets cannot be
 * expressed as ldns_pkt objects, and one small encoder for both keeps them alike.
 * The only peer is --server, a numeric address: nothing here resolves a name,
 * and every socket is connect()ed to that address before it sends.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { EXIT_PASS = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

#define DNS_HEADER_SIZE 12
#define DNS_MESSAGE_MAX 65535
#define FLAG_QR 0x8000
enum { TYPE_A = 1, TYPE_SOA = 6, TYPE_TXT = 16, TYPE_AAAA = 28, TYPE_SRV = 33, TYPE_OPT = 41 };
enum { CLASS_IN = 1 };

#define IO_TIMEOUT_SECONDS 3.0  /* a server that takes longer than this has failed the test */

struct options {
	struct sockaddr_storage server; /* the one address this program ever talks to */
	socklen_t server_len;
	const char *name;               /* the query name */
	unsigned long count;            /* packets, queries or connections, by subcommand */
	uint64_t seed;                  /* garbage: the same seed sends the same packets */
	double hold;                    /* holdconns: seconds to keep the connections open */
	double close_within;            /* idle: the server must have closed by then */
	long expect_closed;             /* holdconns: closed-at-once count to insist on; -1: any */
	const char *hex;                /* send: the datagram, as hex digits */
	double timeout;                 /* send: seconds to wait for an answer */
};

/* ---- time ----------------------------------------------------------------- */

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Milliseconds left until a deadline, for poll(); never negative. */
static int ms_until(double deadline)
{
	double left = deadline - now_seconds();
	return left <= 0 ? 0 : (int)(left * 1000) + 1;
}

static void pause_ms(unsigned ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---- reproducible randomness ------------------------------------------------ */

/* splitmix64: tiny, and a seed gives the same packets on every machine, so a
 * seed that breaks the server can be replayed exactly. */
struct rng {
	uint64_t state;
};

static uint64_t rng_next(struct rng *r)
{
	uint64_t z = (r->state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* A number in 0..n-1 (0 when n is 0). */
static uint32_t rng_below(struct rng *r, uint32_t n)
{
	return n ? (uint32_t)(rng_next(r) % n) : 0;
}

static void rng_fill(struct rng *r, uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)rng_next(r);
}

/* ---- building and reading DNS messages -------------------------------------- */

static void put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t get_u16(const uint8_t *p)
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
static size_t build_query(uint8_t *out, size_t cap, uint16_t id, uint16_t flags,
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
static size_t append_opt(uint8_t *msg, size_t len, size_t cap, uint16_t udp_size, uint8_t version)
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

static const char *rcode_name(int rcode)
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

/* What a reply said, as far as the tests care. */
struct reply {
	uint16_t id;
	uint16_t flags;
	int rcode;
	uint16_t ancount;
	char addresses[512];  /* the A and AAAA records of the answer section, space separated */
};

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
static const char *check_reply(const uint8_t *query, size_t query_len, const uint8_t *msg,
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
static int udp_open(const struct options *o)
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
static int tcp_connect(const struct options *o)
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
static int send_all(int fd, const uint8_t *buf, size_t len)
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

enum io_result { IO_OK, IO_CLOSED, IO_TIMEOUT, IO_ERROR };

static const char *io_result_text(enum io_result r)
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
static enum io_result read_framed(int fd, uint8_t *buf, size_t *len, double deadline)
{
	uint8_t prefix[2];
	enum io_result r = read_exact(fd, prefix, 2, deadline);
	if (r != IO_OK)
		return r;
	*len = get_u16(prefix);
	return read_exact(fd, buf, *len, deadline);
}

/* Puts the 2-byte length prefix before a message already at frame + 2. */
static size_t frame(uint8_t *frame_buf, size_t msg_len)
{
	put_u16(frame_buf, (uint16_t)msg_len);
	return msg_len + 2;
}

/* Sends a framed query on a TCP connection and reads frames until its answer comes,
 * skipping answers to whatever was sent before it.  NULL on success, else why not. */
static const char *tcp_expect_answer(int fd, const uint8_t *query, size_t query_len)
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

/* ---- garbage: broken packets that must neither crash nor wedge the server ------ */

#define GARBAGE_MAX 600         /* the longest random packet */
#define GARBAGE_BUF 1024        /* room for the longest generated packet */
#define CHECKPOINT_EVERY 64     /* UDP packets between two checkpoint queries */
#define STALL_MS 300            /* how long stalled TCP connections sit before closing */

struct garbage {
	struct rng rng;
	const struct options *opt;
	unsigned long udp_sent, udp_replies, checkpoints, tcp_connections;
};

static const uint16_t common_types[] = { TYPE_A, TYPE_AAAA, TYPE_SOA, TYPE_SRV, TYPE_TXT, 2, 255 };

/* A well-formed query to break: a name of ours or not, a common type, maybe EDNS. */
static size_t valid_query(struct garbage *g, uint8_t *buf)
{
	static const char *const other_names[] = { "x.example", ".", "a.b.c.d.e.f.g.h" };
	const char *name = rng_below(&g->rng, 2) ? g->opt->name : other_names[rng_below(&g->rng, 3)];
	uint16_t type = common_types[rng_below(&g->rng, sizeof common_types / sizeof common_types[0])];
	size_t len = build_query(buf, GARBAGE_BUF, (uint16_t)rng_next(&g->rng),
				 rng_below(&g->rng, 2) ? 0x0100 : 0, name, type, CLASS_IN);
	if (rng_below(&g->rng, 3) == 0)
		len = append_opt(buf, len, GARBAGE_BUF, (uint16_t)rng_next(&g->rng), 0);
	return len;
}

/* Each maker writes one broken packet into buf and returns its length.  round
 * counts how often that maker ran, so the cycling ones cover every case. */

static size_t make_random_bytes(struct garbage *g, uint8_t *buf, unsigned round)
{
	(void)round;
	size_t len = rng_below(&g->rng, GARBAGE_MAX + 1);
	rng_fill(&g->rng, buf, len);
	return len;
}

static size_t make_truncated_query(struct garbage *g, uint8_t *buf, unsigned round)
{
	(void)round;
	size_t len = valid_query(g, buf);
	return rng_below(&g->rng, (uint32_t)len);  /* 0 .. len-1: cut anywhere, header too */
}

/* QD/AN/NS/AR counts that promise far more records than the packet holds. */
static size_t make_huge_counts(struct garbage *g, uint8_t *buf, unsigned round)
{
	static const uint16_t huge[] = { 0xffff, 0x8000, 0x0100, 2 };
	size_t len = valid_query(g, buf);
	put_u16(buf + 4 + 2 * (round % 4), huge[rng_below(&g->rng, 4)]);
	for (int field = 0; field < 4; field++)
		if (rng_below(&g->rng, 4) == 0)
			put_u16(buf + 4 + 2 * field, (uint16_t)rng_next(&g->rng));
	return len;
}

/* A question name made only of a header, the name bytes and QTYPE/QCLASS IN A. */
static size_t question_with_name(struct garbage *g, uint8_t *buf, const uint8_t *name, size_t name_len)
{
	memset(buf, 0, DNS_HEADER_SIZE);
	put_u16(buf, (uint16_t)rng_next(&g->rng));
	put_u16(buf + 4, 1);
	memcpy(buf + DNS_HEADER_SIZE, name, name_len);
	size_t len = DNS_HEADER_SIZE + name_len;
	put_u16(buf + len, TYPE_A);
	put_u16(buf + len + 2, CLASS_IN);
	return len + 4;
}

/* Compression pointers that never reach the end of a name. */
static size_t make_compression_loop(struct garbage *g, uint8_t *buf, unsigned round)
{
	static const uint8_t self[] = { 0xc0, 0x0c };                       /* points at itself */
	static const uint8_t back[] = { 1, 'a', 1, 'b', 0xc0, 0x0c };      /* a.b.a.b... */
	static const uint8_t pair[] = { 0xc0, 0x0e, 0xc0, 0x0c };           /* two, at each other */
	static const uint8_t late[] = { 3, 'w', 'w', 'w', 0xc0, 0x10 };     /* www, then itself */
	switch (round % 4) {
	case 0: return question_with_name(g, buf, self, sizeof self);
	case 1: return question_with_name(g, buf, back, sizeof back);
	case 2: return question_with_name(g, buf, pair, sizeof pair);
	default: return question_with_name(g, buf, late, sizeof late);
	}
}

/* Compression pointers past the end of the packet, into the header, or cut in half. */
static size_t make_bad_pointer(struct garbage *g, uint8_t *buf, unsigned round)
{
	uint8_t name[4] = { 1, 'x', 0xc0, 0 };
	switch (round % 4) {
	case 0:  /* just past the end */
		name[3] = (uint8_t)(DNS_HEADER_SIZE + sizeof name + 4 + rng_below(&g->rng, 8));
		return question_with_name(g, buf, name, sizeof name);
	case 1: {  /* as far as 14 bits go */
		size_t len = question_with_name(g, buf, name, sizeof name);
		buf[DNS_HEADER_SIZE + 2] = 0xff;
		buf[DNS_HEADER_SIZE + 3] = 0xff;
		return len;
	}
	case 2:  /* into the header */
		name[3] = (uint8_t)rng_below(&g->rng, DNS_HEADER_SIZE);
		return question_with_name(g, buf, name, sizeof name);
	default:  /* the packet ends inside the pointer */
		return question_with_name(g, buf, name, 3) - 4;
	}
}

/* Labels longer than 63 (the 0x40 and 0x80 length bits are reserved label
 * types), and names longer than 255 octets made of legal labels. */
static size_t make_long_label(struct garbage *g, uint8_t *buf, unsigned round)
{
	uint8_t name[5 * 64 + 1];
	size_t len = 0;
	if (round % 2 == 0) {
		uint8_t label = (uint8_t)(64 + rng_below(&g->rng, 128));  /* 64 .. 191 */
		name[len++] = label;
		memset(name + len, 'a', label);
		len += label;
	} else {
		for (int i = 0; i < 5; i++) {
			name[len++] = 63;
			memset(name + len, 'a' + i, 63);
			len += 63;
		}
	}
	name[len++] = 0;
	return question_with_name(g, buf, name, len);
}

/* An OPT record cut short, or one whose RDLENGTH or option runs past the end. */
static size_t make_truncated_opt(struct garbage *g, uint8_t *buf, unsigned round)
{
	size_t before = build_query(buf, GARBAGE_BUF, (uint16_t)rng_next(&g->rng), 0, g->opt->name,
				    TYPE_A, CLASS_IN);
	size_t len = append_opt(buf, before, GARBAGE_BUF, 1232, 0);
	switch (round % 3) {
	case 0:
		return before + 1 + rng_below(&g->rng, 10);  /* 1 .. 10 of its 11 bytes */
	case 1:
		put_u16(buf + before + 9, (uint16_t)(1 + rng_below(&g->rng, 0xffff)));
		return len;
	default:  /* RDLENGTH 4 holding an option header that claims 200 bytes */
		put_u16(buf + before + 9, 4);
		put_u16(buf + len, 10);
		put_u16(buf + len + 2, 200);
		return len + 4;
	}
}

/* Two OPT records, an OPT with a non-root owner, or an unknown EDNS version. */
static size_t make_bad_opt(struct garbage *g, uint8_t *buf, unsigned round)
{
	size_t len = build_query(buf, GARBAGE_BUF, (uint16_t)rng_next(&g->rng), 0, g->opt->name,
				 TYPE_A, CLASS_IN);
	size_t opt_start = len;
	switch (round % 3) {
	case 0:
		len = append_opt(buf, len, GARBAGE_BUF, 1232, 0);
		return append_opt(buf, len, GARBAGE_BUF, 4096, 0);
	case 1:  /* owner "a." instead of the root: one label longer */
		len = append_opt(buf, len, GARBAGE_BUF, 1232, 0);
		memmove(buf + opt_start + 2, buf + opt_start, 11);
		buf[opt_start] = 1;
		buf[opt_start + 1] = 'a';
		buf[opt_start + 2] = 0;
		return len + 2;
	default:
		return append_opt(buf, len, GARBAGE_BUF, 1232, (uint8_t)(1 + rng_below(&g->rng, 255)));
	}
}

/* A sound question under each of the 16 opcodes in turn. */
static size_t make_opcode(struct garbage *g, uint8_t *buf, unsigned round)
{
	size_t len = valid_query(g, buf);
	uint16_t flags = (uint16_t)((round % 16) << 11 | (rng_below(&g->rng, 2) ? 0x0100 : 0));
	put_u16(buf + 2, flags);
	return len;
}

/* Every class (CH, HS, NONE, ANY, 0 and a random one) against every kind of type,
 * meta types and zone transfers included. */
static size_t make_class_and_type(struct garbage *g, uint8_t *buf, unsigned round)
{
	static const uint16_t classes[] = { 1, 3, 4, 254, 255, 0, 0 };
	static const uint16_t types[] = { 1, 28, 6, 33, 16, 255, 252, 251, 41, 0, 128, 249, 250, 65535, 0 };
	const size_t nclass = sizeof classes / sizeof classes[0], ntype = sizeof types / sizeof types[0];
	uint16_t qclass = classes[round % nclass], qtype = types[(round / nclass) % ntype];
	if (qclass == 0 && round % 2)
		qclass = (uint16_t)rng_next(&g->rng);
	if (qtype == 0 && round % 2)
		qtype = (uint16_t)rng_next(&g->rng);
	return build_query(buf, GARBAGE_BUF, (uint16_t)rng_next(&g->rng), 0, g->opt->name, qtype, qclass);
}

/* Packets with QR=1: responses, which a server must never answer. */
static size_t make_response(struct garbage *g, uint8_t *buf, unsigned round)
{
	(void)round;
	size_t len = valid_query(g, buf);
	put_u16(buf + 2, (uint16_t)(FLAG_QR | rng_next(&g->rng)));
	return len;
}

/* A sound query with a few bytes flipped, or with junk after it. */
static size_t make_mutated(struct garbage *g, uint8_t *buf, unsigned round)
{
	size_t len = valid_query(g, buf);
	if (round % 2) {
		size_t extra = 1 + rng_below(&g->rng, 64);
		rng_fill(&g->rng, buf + len, extra);
		return len + extra;
	}
	for (uint32_t flips = 1 + rng_below(&g->rng, 4); flips > 0; flips--)
		buf[rng_below(&g->rng, (uint32_t)len)] ^= (uint8_t)(1 + rng_below(&g->rng, 255));
	return len;
}

struct garbage_kind {
	const char *what;
	size_t (*make)(struct garbage *g, uint8_t *buf, unsigned round);
};

static const struct garbage_kind garbage_kinds[] = {
	{ "random bytes", make_random_bytes },
	{ "truncated query", make_truncated_query },
	{ "huge section counts", make_huge_counts },
	{ "compression loop", make_compression_loop },
	{ "bad compression pointer", make_bad_pointer },
	{ "over-long label or name", make_long_label },
	{ "truncated OPT", make_truncated_opt },
	{ "two OPTs, bad OPT owner or version", make_bad_opt },
	{ "every opcode", make_opcode },
	{ "every class and type", make_class_and_type },
	{ "QR=1 packet", make_response },
	{ "mutated query", make_mutated },
};
#define GARBAGE_KINDS (sizeof garbage_kinds / sizeof garbage_kinds[0])

/* Packet i of the run: the kinds take turns. */
static size_t make_garbage(struct garbage *g, uint8_t *buf, unsigned long i)
{
	const struct garbage_kind *kind = &garbage_kinds[i % GARBAGE_KINDS];
	return kind->make(g, buf, (unsigned)(i / GARBAGE_KINDS));
}

/* Reads whatever replies are waiting, without waiting.  -1 when the kernel reports
 * the server port closed (ICMP port unreachable): the server is gone. */
static int udp_drain(struct garbage *g, int fd)
{
	uint8_t reply[DNS_MESSAGE_MAX];
	for (;;) {
		ssize_t n = recv(fd, reply, sizeof reply, MSG_DONTWAIT);
		if (n >= 0) {
			g->udp_replies++;
			continue;
		}
		if (errno == EINTR)
			continue;
		return errno == ECONNREFUSED ? -1 : 0;
	}
}

static int udp_send_garbage(struct garbage *g, int fd, const uint8_t *buf, size_t len)
{
	for (int tries = 0; tries < 100; tries++) {
		if (send(fd, buf, len, 0) >= 0) {
			g->udp_sent++;
			return 0;
		}
		if (errno == ECONNREFUSED)
			return -1;
		if (errno != EAGAIN && errno != ENOBUFS && errno != EINTR)
			return -1;
		/* Our send buffer is full: let it empty a little. */
		if (udp_drain(g, fd) < 0)
			return -1;
		pause_ms(1);
	}
	return -1;
}

/* A checkpoint: one sound query, and wait for its answer.  Loopback keeps the
 * order of datagrams, so once it is answered the server has read every packet
 * sent before it; that bounds the packets in flight (none dropped for want of
 * buffer space) and finds a crash or a wedge near the packet that caused it. */
static int udp_checkpoint(struct garbage *g, int fd)
{
	uint8_t query[512], reply[DNS_MESSAGE_MAX];
	size_t len = build_query(query, sizeof query, (uint16_t)rng_next(&g->rng), 0, g->opt->name,
				 TYPE_SOA, CLASS_IN);
	if (send(fd, query, len, 0) < 0)
		return -1;
	double deadline = now_seconds() + IO_TIMEOUT_SECONDS;
	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		int ready = poll(&p, 1, ms_until(deadline));
		if (ready == 0)
			return -1;
		if (ready < 0 && errno != EINTR)
			return -1;
		ssize_t n = recv(fd, reply, sizeof reply, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0)
			return -1;
		struct reply r;
		if (!check_reply(query, len, reply, (size_t)n, &r)) {
			g->checkpoints++;
			return 0;
		}
		g->udp_replies++;  /* an answer to a broken packet sent before the checkpoint */
	}
}

/* The TCP part: each function opens one connection, misbehaves on it, and returns
 * -1 only when the server did not accept or did not answer a sound query. */

/* Closes with a reset instead of a FIN (SO_LINGER of zero), an abrupt client. */
static void tcp_reset(int fd)
{
	struct linger abort_close = { 1, 0 };
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort_close, sizeof abort_close);
	close(fd);
}

/* Hangs up with a FIN or a reset, at random: the server sees both kinds of end,
 * and half as many of our ports sit in TIME_WAIT afterwards (a reset leaves none). */
static void tcp_hang_up(struct garbage *g, int fd)
{
	if (rng_below(&g->rng, 2))
		tcp_reset(fd);
	else
		close(fd);
}

/* A length prefix of random value, then random bytes, then hang up. */
static int tcp_bad_prefix(struct garbage *g)
{
	uint8_t buf[2 + GARBAGE_MAX];
	int fd = tcp_connect(g->opt);
	if (fd < 0)
		return -1;
	size_t len = 2 + rng_below(&g->rng, GARBAGE_MAX + 1);
	rng_fill(&g->rng, buf, len);
	send_all(fd, buf, len);  /* the server may close first: that is allowed */
	tcp_hang_up(g, fd);
	return 0;
}

/* Part of a framed query, from nothing to all but its last byte, then hang up. */
static int tcp_partial_message(struct garbage *g)
{
	uint8_t buf[2 + GARBAGE_BUF];
	int fd = tcp_connect(g->opt);
	if (fd < 0)
		return -1;
	size_t len = frame(buf, valid_query(g, buf + 2));
	send_all(fd, buf, rng_below(&g->rng, (uint32_t)len));
	tcp_hang_up(g, fd);
	return 0;
}

/* A whole or partial query, then a reset instead of a close: the server may be
 * writing its answer into a connection that no longer exists. */
static int tcp_reset_midway(struct garbage *g)
{
	uint8_t buf[2 + GARBAGE_BUF];
	int fd = tcp_connect(g->opt);
	if (fd < 0)
		return -1;
	size_t len = frame(buf, valid_query(g, buf + 2));
	send_all(fd, buf, rng_below(&g->rng, 2) ? len : rng_below(&g->rng, (uint32_t)len));
	tcp_reset(fd);
	return 0;
}

/* Broken packets, each correctly framed, then a sound query on the same
 * connection: the framing must survive what is inside the frames. */
static int tcp_framed_garbage(struct garbage *g, unsigned long round)
{
	uint8_t buf[2 + GARBAGE_BUF], query[512];
	int fd = tcp_connect(g->opt);
	if (fd < 0)
		return -1;
	uint16_t query_id = (uint16_t)rng_next(&g->rng);
	for (uint32_t n = rng_below(&g->rng, 6); n > 0; n--) {
		size_t len = make_garbage(g, buf + 2, round * 7 + n);
		if (len >= 2)
			put_u16(buf + 2, (uint16_t)(query_id ^ 0x5a5a));  /* never mistaken for the query */
		if (send_all(fd, buf, frame(buf, len)) < 0)
			goto fail;
	}
	size_t len = build_query(query, sizeof query, query_id, 0, g->opt->name, TYPE_SOA, CLASS_IN);
	const char *why = tcp_expect_answer(fd, query, len);
	if (why) {
		fprintf(stderr, "dnsprobe: garbage: tcp query after framed garbage: %s\n", why);
		goto fail;
	}
	tcp_hang_up(g, fd);
	return 0;
fail:
	close(fd);
	return -1;
}

/* Empty frames (length 0) before a sound query. */
static int tcp_empty_frames(struct garbage *g)
{
	static const uint8_t empty[8] = { 0 };
	uint8_t query[512];
	int fd = tcp_connect(g->opt);
	if (fd < 0)
		return -1;
	size_t len = build_query(query, sizeof query, (uint16_t)rng_next(&g->rng), 0, g->opt->name,
				 TYPE_SOA, CLASS_IN);
	const char *why = NULL;
	if (send_all(fd, empty, 2 * (1 + rng_below(&g->rng, 4))) < 0)
		why = "could not send";
	else
		why = tcp_expect_answer(fd, query, len);
	tcp_hang_up(g, fd);
	if (why)
		fprintf(stderr, "dnsprobe: garbage: tcp query after empty frames: %s\n", why);
	return why ? -1 : 0;
}

/* Connections that promise a message and stall: a length prefix and less than
 * that many bytes.  They are all opened first, so the stall costs one pause. */
static int tcp_stalls(struct garbage *g, unsigned count)
{
	int fds[64];
	unsigned open_count = 0;
	if (count > 64)
		count = 64;
	for (; open_count < count; open_count++) {
		uint8_t buf[2 + GARBAGE_BUF];
		int fd = tcp_connect(g->opt);
		if (fd < 0)
			break;
		fds[open_count] = fd;
		size_t promised = 1 + rng_below(&g->rng, 0xffff);
		size_t len = valid_query(g, buf + 2);
		if (len >= promised)
			len = promised - 1;
		put_u16(buf, (uint16_t)promised);
		send_all(fd, buf, 2 + rng_below(&g->rng, (uint32_t)len + 1));
	}
	pause_ms(STALL_MS);
	for (unsigned i = 0; i < open_count; i++)
		tcp_hang_up(g, fds[i]);
	g->tcp_connections += open_count;
	return open_count == count ? 0 : -1;
}

static int cmd_garbage(const struct options *o)
{
	struct garbage g = { .rng = { o->seed }, .opt = o };
	uint8_t buf[GARBAGE_BUF];
	int fd = udp_open(o);
	if (fd < 0) {
		printf("garbage: FAIL: cannot open a UDP socket: %s\n", strerror(errno));
		return EXIT_FAIL;
	}
	for (unsigned long i = 0; i < o->count; i++) {
		size_t len = make_garbage(&g, buf, i);
		if (udp_send_garbage(&g, fd, buf, len) < 0 || udp_drain(&g, fd) < 0) {
			printf("garbage: FAIL: seed %llu: cannot send packet %lu (%s): %s\n",
			       (unsigned long long)o->seed, i, garbage_kinds[i % GARBAGE_KINDS].what,
			       strerror(errno));
			close(fd);
			return EXIT_FAIL;
		}
		if ((i + 1) % CHECKPOINT_EVERY == 0 || i + 1 == o->count) {
			if (udp_checkpoint(&g, fd) < 0) {
				printf("garbage: FAIL: seed %llu: no answer to a sound query after packet %lu\n",
				       (unsigned long long)o->seed, i);
				close(fd);
				return EXIT_FAIL;
			}
		}
	}
	close(fd);

	/* TCP: one connection per broken packet would be slow; one in twenty is plenty. */
	unsigned long tcp_rounds = o->count / 20 < 10 ? 10 : o->count / 20;
	for (unsigned long i = 0; i < tcp_rounds; i++) {
		int rc;
		const char *what;
		switch (i % 5) {
		case 0: what = "bad length prefix"; rc = tcp_bad_prefix(&g); break;
		case 1: what = "partial message"; rc = tcp_partial_message(&g); break;
		case 2: what = "reset midway"; rc = tcp_reset_midway(&g); break;
		case 3: what = "framed garbage"; rc = tcp_framed_garbage(&g, i); break;
		default: what = "empty frames"; rc = tcp_empty_frames(&g); break;
		}
		if (rc < 0) {
			printf("garbage: FAIL: seed %llu: tcp connection %lu (%s) failed\n",
			       (unsigned long long)o->seed, i, what);
			return EXIT_FAIL;
		}
		g.tcp_connections++;
	}
	if (tcp_stalls(&g, (unsigned)(tcp_rounds / 5)) < 0) {
		printf("garbage: FAIL: seed %llu: could not open the stalled tcp connections\n",
		       (unsigned long long)o->seed);
		return EXIT_FAIL;
	}
	printf("garbage: seed %llu: %lu udp packets (%lu answered), %lu checkpoints answered, "
	       "%lu tcp connections\n", (unsigned long long)o->seed, g.udp_sent, g.udp_replies,
	       g.checkpoints, g.tcp_connections);
	return EXIT_PASS;
}

/* ---- pipeline: many queries in one write, answers in order ---------------------- */

struct pending_query {
	uint8_t wire[512];
	size_t len;
};

static int cmd_pipeline(const struct options *o)
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

/* ---- slowtcp: one query, one byte per segment ------------------------------------ */

#define SLOW_BYTE_PAUSE_MS 20

static int cmd_slowtcp(const struct options *o)
{
	static uint8_t msg[DNS_MESSAGE_MAX];
	uint8_t framed[2 + 512];
	size_t query_len = build_query(framed + 2, sizeof framed - 2, (uint16_t)getpid(), 0, o->name,
				       TYPE_A, CLASS_IN);
	if (query_len == 0) {
		printf("slowtcp: FAIL: '%s' is not a valid name\n", o->name);
		return EXIT_FAIL;
	}
	size_t len = frame(framed, query_len);
	int fd = tcp_connect(o);
	if (fd < 0) {
		printf("slowtcp: FAIL: cannot connect: %s\n", strerror(errno));
		return EXIT_FAIL;
	}
	/* Without Nagle each one-byte send leaves as its own segment, so the server
	 * reads the length prefix and the message in pieces. */
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	for (size_t i = 0; i < len; i++) {
		if (send_all(fd, framed + i, 1) < 0) {
			printf("slowtcp: FAIL: the server closed after %zu of %zu bytes\n", i, len);
			close(fd);
			return EXIT_FAIL;
		}
		pause_ms(SLOW_BYTE_PAUSE_MS);
	}
	size_t answer_len;
	enum io_result r = read_framed(fd, msg, &answer_len, now_seconds() + IO_TIMEOUT_SECONDS);
	close(fd);
	if (r != IO_OK) {
		printf("slowtcp: FAIL: no answer: %s\n", io_result_text(r));
		return EXIT_FAIL;
	}
	struct reply reply;
	const char *why = check_reply(framed + 2, query_len, msg, answer_len, &reply);
	if (why) {
		printf("slowtcp: FAIL: bad answer: %s\n", why);
		return EXIT_FAIL;
	}
	printf("slowtcp: %s, %u answers%s%s\n", rcode_name(reply.rcode), reply.ancount,
	       reply.addresses[0] ? ": " : "", reply.addresses);
	return reply.rcode == 0 ? EXIT_PASS : EXIT_FAIL;
}

/* ---- idle: the server hangs up on a silent client --------------------------------- */

#define IDLE_TOO_EARLY 0.5  /* closing sooner than this is not an idle timeout */

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

static int cmd_idle(const struct options *o)
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

/* ---- holdconns: occupy connections, see which the server refuses -------------------- */

/* A connection closed this soon was refused, not timed out: the shortest idle
 * timeout svcdns takes is 1 s, and half of that keeps the two well apart. */
#define AT_ONCE_SECONDS 0.5

static int cmd_holdconns(const struct options *o)
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

static int cmd_send(const struct options *o)
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

/* ---- command line ------------------------------------------------------------------- */

static const char usage_text[] =
	"usage: dnsprobe COMMAND --server ADDR --port PORT [options]\n"
	"  garbage   --seed N --count K [--name NAME]  broken packets over UDP and TCP\n"
	"  pipeline  --name NAME --count K             K queries in one TCP write\n"
	"  slowtcp   --name NAME                       one query, one byte at a time\n"
	"  idle      --expect-close-within S           the server closes a silent connection\n"
	"  holdconns --count K --hold S [--expect-closed N]  hold K connections open\n"
	"  send      --hex BYTES [--timeout S]         one datagram; prints the rcode or 'no answer'\n";

static int usage(const char *problem)
{
	if (problem)
		fprintf(stderr, "dnsprobe: %s\n", problem);
	fputs(usage_text, stderr);
	return EXIT_USAGE;
}

static int parse_number(const char *text, double min, double max, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(text, &end);
	if (errno || end == text || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* The server address must be numeric: this program never looks a name up. */
static int set_server(struct options *o, const char *text, double port)
{
	struct sockaddr_in *v4 = (struct sockaddr_in *)&o->server;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&o->server;
	memset(&o->server, 0, sizeof o->server);
	if (inet_pton(AF_INET, text, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)port);
		o->server_len = sizeof *v4;
		return 0;
	}
	if (inet_pton(AF_INET6, text, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)port);
		o->server_len = sizeof *v6;
		return 0;
	}
	return -1;
}

int main(int argc, char **argv)
{
	enum { OPT_SERVER = 256, OPT_PORT, OPT_SEED, OPT_COUNT, OPT_NAME, OPT_HOLD, OPT_CLOSE_WITHIN,
	       OPT_EXPECT_CLOSED, OPT_HEX, OPT_TIMEOUT };
	static const struct option long_options[] = {
		{ "server", required_argument, NULL, OPT_SERVER },
		{ "port", required_argument, NULL, OPT_PORT },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "count", required_argument, NULL, OPT_COUNT },
		{ "name", required_argument, NULL, OPT_NAME },
		{ "hold", required_argument, NULL, OPT_HOLD },
		{ "expect-close-within", required_argument, NULL, OPT_CLOSE_WITHIN },
		{ "expect-closed", required_argument, NULL, OPT_EXPECT_CLOSED },
		{ "hex", required_argument, NULL, OPT_HEX },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ NULL, 0, NULL, 0 },
	};
	struct options o = { .name = "svc.internal", .count = 1, .hold = 1, .close_within = 0,
			     .expect_closed = -1, .timeout = 1 };
	const char *server = NULL;
	double port = 0, v;
	if (argc < 2)
		return usage(NULL);
	const char *command = argv[1];
	int opt;
	optind = 2;
	while ((opt = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
		switch (opt) {
		case OPT_SERVER: server = optarg; break;
		case OPT_PORT:
			if (parse_number(optarg, 1, 65535, &port) < 0)
				return usage("--port: not a port number");
			break;
		case OPT_SEED:
			if (parse_number(optarg, 0, 1e15, &v) < 0)
				return usage("--seed: not a number");
			o.seed = (uint64_t)v;
			break;
		case OPT_COUNT:
			if (parse_number(optarg, 1, 65535, &v) < 0)
				return usage("--count: 1 to 65535");
			o.count = (unsigned long)v;
			break;
		case OPT_NAME: o.name = optarg; break;
		case OPT_HOLD:
			if (parse_number(optarg, 0.1, 3600, &o.hold) < 0)
				return usage("--hold: seconds, 0.1 to 3600");
			break;
		case OPT_CLOSE_WITHIN:
			if (parse_number(optarg, IDLE_TOO_EARLY, 3600, &o.close_within) < 0)
				return usage("--expect-close-within: seconds, 0.5 to 3600");
			break;
		case OPT_EXPECT_CLOSED:
			if (parse_number(optarg, 0, 65535, &v) < 0)
				return usage("--expect-closed: a count");
			o.expect_closed = (long)v;
			break;
		case OPT_HEX: o.hex = optarg; break;
		case OPT_TIMEOUT:
			if (parse_number(optarg, 0.01, 60, &o.timeout) < 0)
				return usage("--timeout: seconds, 0.01 to 60");
			break;
		default: return usage(NULL);
		}
	}
	if (optind < argc)
		return usage("unexpected argument");
	if (!server || port == 0)
		return usage("--server and --port are required");
	if (set_server(&o, server, port) < 0)
		return usage("--server: a numeric IPv4 or IPv6 address");

	if (strcmp(command, "garbage") == 0)
		return cmd_garbage(&o);
	if (strcmp(command, "pipeline") == 0)
		return cmd_pipeline(&o);
	if (strcmp(command, "slowtcp") == 0)
		return cmd_slowtcp(&o);
	if (strcmp(command, "idle") == 0)
		return o.close_within > 0 ? cmd_idle(&o) : usage("idle: --expect-close-within is required");
	if (strcmp(command, "holdconns") == 0)
		return cmd_holdconns(&o);
	if (strcmp(command, "send") == 0)
		return o.hex ? cmd_send(&o) : usage("send: --hex is required");
	return usage("unknown command");
}

/* garbage.c -- dnsprobe garbage: broken packets over UDP and TCP that must neither crash nor wedge the server. */
#include "dnsprobe.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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

int cmd_garbage(const struct options *o)
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

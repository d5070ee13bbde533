/* forward.c -- sending queries for names outside our zones to upstream resolvers.
 *
 * A pending query asks the upstreams in configured order, one attempt at a time:
 *   - UDP: a fresh socket connect()ed to the upstream, so the kernel picks a random
 *     source port and drops datagrams from anyone else; a fresh random ID; the
 *     client's own bytes with only the ID replaced (its RD and EDNS size travel).
 *   - A reply counts only when its source, ID, QR bit and question match ours; any
 *     other datagram is counted as a failure and ignored, and the deadline stands,
 *     so garbage cannot keep an attempt alive.
 *   - TC=1 in a matching reply: the same upstream again over TCP, with a new ID and
 *     a new deadline.
 *   - Deadline, socket error or ICMP unreachable: the next upstream; after the
 *     last one the client gets SERVFAIL.
 * The answer goes back with the client's ID and question bytes, RA set and AA
 * clear; for a UDP client it is replaced by a truncated reply (header, question, TC)
 * when it is larger than the client takes, so the client asks again over TCP.
 * Nothing is cached: every query goes upstream. */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <unistd.h>

#include "dns_wire.h"
#include "forward.h"
#include "log.h"

#define FORWARD_PENDING_MAX 4096
#define FORWARD_MESSAGE_MAX 65535
#define FORWARD_READS_PER_WAKEUP 16  /* datagrams read per wakeup before other work runs */

struct forward_query {
	LIST_ENTRY(forward_query) link;     /* in forwarder.pending */
	struct forwarder *fwd;
	struct forward_client client;       /* who gets the answer, and how */
	int upstream;                       /* index in cfg->forward of the current attempt */
	struct listen_addr upstream_addr;   /* its address, copied: a reload may change cfg */
	uint16_t client_id;                 /* the ID the client chose */
	uint16_t client_flags;
	size_t client_limit;                /* the largest answer the client takes */
	int client_has_edns;
	int client_do;                      /* DO, for an OPT of our own (RFC 3225 3) */
	size_t name_end;                    /* offset just past the question name */
	int udp_fd;                         /* the current UDP attempt's socket, or -1 */
	struct event *udp_readable;         /* on udp_fd */
	struct bufferevent *tcp;            /* the current TCP attempt, or NULL */
	struct event *deadline;             /* ends the current attempt */
	size_t query_len;
	uint8_t query[];                    /* the client's query; bytes 0-1 hold our ID */
};

struct forwarder {
	struct event_base *base;
	const struct config *cfg;
	struct dns_metrics *metrics;
	LIST_HEAD(, forward_query) pending; /* every query waiting for upstream, newest first */
	unsigned pending_count;
	unsigned pending_max;               /* FORWARD_PENDING_MAX, less when descriptors are few */
	uint8_t *message;                   /* FORWARD_MESSAGE_MAX bytes: one reply read or built */
};

static void attempt_next(struct forward_query *fq);
static void attempt_tcp(struct forward_query *fq);

static uint8_t ascii_lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

/* Each pending query holds a socket: leave at least half of the descriptors to the
 * listeners and TCP clients, or a flood towards a dead upstream would stop accept(). */
static unsigned pending_limit(void)
{
	struct rlimit files;
	if (getrlimit(RLIMIT_NOFILE, &files) < 0 || files.rlim_cur == RLIM_INFINITY ||
	    files.rlim_cur / 2 >= FORWARD_PENDING_MAX)
		return FORWARD_PENDING_MAX;
	return files.rlim_cur / 2 > 0 ? (unsigned)(files.rlim_cur / 2) : 1;
}

struct forwarder *forwarder_new(struct event_base *base, const struct config *cfg,
				struct dns_metrics *metrics)
{
	struct forwarder *fwd = calloc(1, sizeof *fwd);
	if (!fwd)
		goto fail;
	fwd->base = base;
	fwd->cfg = cfg;
	fwd->metrics = metrics;
	fwd->pending_max = pending_limit();
	fwd->message = malloc(FORWARD_MESSAGE_MAX);
	if (!fwd->message)
		goto fail;
	if (cfg->forward_count > 0)
		log_info("forward: %d upstream(s), %u ms each, at most %u queries pending",
			 cfg->forward_count, cfg->forward_timeout_ms, fwd->pending_max);
	return fwd;
fail:
	log_error("forward: out of memory");
	forwarder_free(fwd);
	return NULL;
}

/* Ends the current attempt: its socket, its TCP connection, its events. */
static void attempt_close(struct forward_query *fq)
{
	if (fq->udp_readable)
		event_free(fq->udp_readable);
	fq->udp_readable = NULL;
	if (fq->udp_fd >= 0)
		close(fq->udp_fd);
	fq->udp_fd = -1;
	if (fq->tcp)
		bufferevent_free(fq->tcp);  /* safe inside its own callbacks: libevent defers it */
	fq->tcp = NULL;
}

static void query_unlink(struct forward_query *fq)
{
	LIST_REMOVE(fq, link);
	fq->fwd->pending_count--;
}

/* Frees a query that is no longer in the pending list. */
static void query_release(struct forward_query *fq)
{
	attempt_close(fq);
	if (fq->deadline)
		event_free(fq->deadline);
	free(fq);
}

static void query_free(struct forward_query *fq)
{
	query_unlink(fq);
	query_release(fq);
}

void forwarder_free(struct forwarder *fwd)
{
	if (!fwd)
		return;
	while (!LIST_EMPTY(&fwd->pending))
		query_free(LIST_FIRST(&fwd->pending));
	free(fwd->message);
	free(fwd);
}

void forwarder_cancel_owner(struct forwarder *fwd, const void *owner)
{
	struct forward_query *fq = LIST_FIRST(&fwd->pending);
	while (fq) {
		struct forward_query *next = LIST_NEXT(fq, link);
		if (fq->client.owner == owner)
			query_free(fq);
		fq = next;
	}
}

/* A reply is ours when it answers our ID and repeats our question: the name in any
 * letter case (upstreams may change it), type and class exactly. */
static int reply_matches(const struct forward_query *fq, const uint8_t *reply, size_t len)
{
	const uint8_t *ours = fq->query;
	if (len < fq->name_end + 4 || wire_read_u16(reply) != wire_read_u16(ours) ||
	    !(wire_read_u16(reply + DNS_OFF_FLAGS) & DNS_FLAG_QR) || wire_read_u16(reply + DNS_OFF_QDCOUNT) != 1)
		return 0;
	for (size_t off = DNS_HEADER_SIZE; off < fq->name_end; off++)
		if (ascii_lower(reply[off]) != ascii_lower(ours[off]))
			return 0;  /* label lengths are below 64: folding never touches them */
	return memcmp(reply + fq->name_end, ours + fq->name_end, 4) == 0;
}

static int same_address(const struct sockaddr_storage *from, socklen_t from_len,
			const struct listen_addr *up)
{
	if (from->ss_family != up->sa.ss_family)
		return 0;
	if (from->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)from;
		const struct sockaddr_in *b = (const struct sockaddr_in *)&up->sa;
		return from_len >= sizeof *a && a->sin_port == b->sin_port &&
		       a->sin_addr.s_addr == b->sin_addr.s_addr;
	}
	if (from->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)from;
		const struct sockaddr_in6 *b = (const struct sockaddr_in6 *)&up->sa;
		return from_len >= sizeof *a && a->sin6_port == b->sin6_port &&
		       memcmp(&a->sin6_addr, &b->sin6_addr, sizeof a->sin6_addr) == 0;
	}
	return 0;
}

/* Puts a fresh random ID into our copy of the query: every attempt gets its own, so
 * a late reply to an earlier attempt can never be taken for the current one. */
static int new_upstream_id(struct forward_query *fq)
{
	uint16_t id;
	if (getrandom(&id, sizeof id, 0) != (ssize_t)sizeof id) {
		log_warn("forward: getrandom: %s", strerror(errno));
		return -1;
	}
	memcpy(fq->query, &id, sizeof id);
	return 0;
}

static int arm_deadline(struct forward_query *fq, uint32_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
	return evtimer_add(fq->deadline, &tv);
}

static void count_failure(struct forward_query *fq, const char *why)
{
	fq->fwd->metrics->forward_failures++;
	log_debug("forward: upstream %s: %s", fq->upstream_addr.text, why);
}

/* Header, our question and, for an EDNS client, an OPT of our own: the SERVFAIL, or
 * the stand-in for an answer larger than the client's UDP size. */
static size_t short_reply(const struct forward_query *fq, uint16_t flags, uint8_t *out)
{
	struct wire_writer w;
	wire_init(&w, out, FORWARD_MESSAGE_MAX);
	wire_put_header(out, fq->client_id, flags, 1, 0, 0, fq->client_has_edns ? 1 : 0);
	w.len = DNS_HEADER_SIZE;
	wire_put_bytes(&w, fq->query + DNS_HEADER_SIZE, fq->name_end + 4 - DNS_HEADER_SIZE);
	if (fq->client_has_edns)
		wire_put_opt(&w, (uint16_t)fq->fwd->cfg->max_udp_payload, 0, fq->client_do,
			     DNS_RCODE(flags) == RCODE_SERVFAIL ? EDE_NO_REACHABLE_AUTHORITY : EDE_NONE);
	return w.len;
}

/* Sends the answer in fwd->message to the client and forgets the query.  The query
 * leaves the pending list before the client's reply function runs, so that function
 * may cancel its owner's other queries without touching this one. */
static void answer_client(struct forward_query *fq, size_t len)
{
	struct forwarder *fwd = fq->fwd;
	uint8_t *answer = fwd->message;
	/* RA: we recursed for the client.  AA off: we are not the authority for a name
	 * outside our zones, whatever upstream is. */
	uint16_t flags = (uint16_t)((wire_read_u16(answer + DNS_OFF_FLAGS) & ~DNS_FLAG_AA) | DNS_FLAG_RA);
	if (len > fq->client_limit) {
		len = short_reply(fq, (uint16_t)(flags | DNS_FLAG_TC), answer);
	} else {
		wire_write_u16(answer, fq->client_id);
		wire_write_u16(answer + DNS_OFF_FLAGS, flags);
		/* The question as the client wrote it, letter case included: upstream may
		 * have changed the case, and the lengths are equal since it matched. */
		memcpy(answer + DNS_HEADER_SIZE, fq->query + DNS_HEADER_SIZE,
		       fq->name_end - DNS_HEADER_SIZE);
	}
	fwd->metrics->responses_by_rcode[DNS_RCODE(wire_read_u16(answer + DNS_OFF_FLAGS))]++;
	if (fq->client.transport == DNS_UDP && (wire_read_u16(answer + DNS_OFF_FLAGS) & DNS_FLAG_TC))
		fwd->metrics->truncated++;
	query_unlink(fq);
	fq->client.reply(&fq->client, answer, len);
	query_release(fq);
}

/* No upstream answered: SERVFAIL, with RA since we did offer recursion. */
static void answer_servfail(struct forward_query *fq)
{
	struct forwarder *fwd = fq->fwd;
	uint16_t flags = (uint16_t)(DNS_FLAG_QR | (fq->client_flags & DNS_FLAGS_FROM_QUERY) | DNS_FLAG_RA |
				    RCODE_SERVFAIL);
	fwd->metrics->forward_servfail++;
	log_debug("forward: no upstream answered; SERVFAIL");
	answer_client(fq, short_reply(fq, flags, fwd->message));
}

static void on_udp_readable(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	struct forward_query *fq = arg;
	uint8_t *reply = fq->fwd->message;
	for (int i = 0; i < FORWARD_READS_PER_WAKEUP; i++) {
		struct sockaddr_storage from;
		socklen_t from_len = sizeof from;
		ssize_t n = recvfrom(fd, reply, FORWARD_MESSAGE_MAX, 0, (struct sockaddr *)&from, &from_len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			/* ECONNREFUSED: an ICMP port unreachable said nobody listens there. */
			count_failure(fq, strerror(errno));
			attempt_next(fq);
			return;
		}
		/* connect() makes the kernel filter sources; checking again costs nothing. */
		if (!same_address(&from, from_len, &fq->upstream_addr)) {
			count_failure(fq, "reply from another address ignored");
			continue;
		}
		if (!reply_matches(fq, reply, (size_t)n)) {
			count_failure(fq, "reply with a wrong ID or question ignored");
			continue;
		}
		if (wire_read_u16(reply + DNS_OFF_FLAGS) & DNS_FLAG_TC) {
			attempt_tcp(fq);
			return;
		}
		answer_client(fq, (size_t)n);
		return;
	}
}

/* Asks the current upstream over UDP.  Returns 0, or -1 when the attempt could not
 * even start (no socket, no route): the caller moves on. */
static int attempt_udp(struct forward_query *fq)
{
	struct forwarder *fwd = fq->fwd;
	const struct listen_addr *up = &fq->upstream_addr;
	const char *failed = "socket";
	fq->upstream_addr = fwd->cfg->forward[fq->upstream];
	if (new_upstream_id(fq) < 0)
		return -1;
	fq->udp_fd = socket(up->sa.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fq->udp_fd < 0)
		goto fail;
	failed = "connect";
	if (connect(fq->udp_fd, (const struct sockaddr *)&up->sa, up->sa_len) < 0)
		goto fail;
	failed = "send";
	if (send(fq->udp_fd, fq->query, fq->query_len, 0) != (ssize_t)fq->query_len)
		goto fail;
	failed = "out of memory";
	fq->udp_readable = event_new(fwd->base, fq->udp_fd, EV_READ | EV_PERSIST, on_udp_readable, fq);
	if (!fq->udp_readable || event_add(fq->udp_readable, NULL) < 0 ||
	    arm_deadline(fq, fwd->cfg->forward_timeout_ms) < 0)
		goto fail;
	return 0;
fail:
	log_debug("forward: upstream %s: udp %s: %s", up->text, failed, strerror(errno));
	attempt_close(fq);
	return -1;
}

static void on_tcp_readable(struct bufferevent *bev, void *arg)
{
	struct forward_query *fq = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint8_t *reply = fq->fwd->message;
	uint8_t prefix[2];
	while (evbuffer_copyout(in, prefix, 2) == 2) {
		size_t len = wire_read_u16(prefix);
		if (evbuffer_get_length(in) < 2 + len)
			return;
		evbuffer_drain(in, 2);
		if (evbuffer_remove(in, reply, len) != (int)len) {
			count_failure(fq, "tcp read failed");
			attempt_next(fq);
			return;
		}
		if (!reply_matches(fq, reply, len)) {
			count_failure(fq, "tcp reply with a wrong ID or question ignored");
			continue;
		}
		answer_client(fq, len);
		return;
	}
}

static void on_tcp_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	struct forward_query *fq = arg;
	if (what & BEV_EVENT_CONNECTED)
		return;
	count_failure(fq, what & BEV_EVENT_EOF ? "tcp connection closed before the answer"
					       : "tcp connection failed");
	attempt_next(fq);
}

/* The upstream's UDP answer was truncated: ask the same upstream again over TCP with
 * a new ID and a fresh deadline; if that cannot start, the next upstream. */
static void attempt_tcp(struct forward_query *fq)
{
	struct forwarder *fwd = fq->fwd;
	const struct listen_addr *up = &fq->upstream_addr;
	uint8_t prefix[2];
	int fd;
	log_debug("forward: upstream %s truncated its answer; asking again over tcp", up->text);
	attempt_close(fq);
	if (new_upstream_id(fq) < 0)
		goto fail;
	fd = socket(up->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	fq->tcp = bufferevent_socket_new(fwd->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!fq->tcp) {
		close(fd);
		goto fail;
	}
	bufferevent_setcb(fq->tcp, on_tcp_readable, NULL, on_tcp_event, fq);
	wire_write_u16(prefix, (uint16_t)fq->query_len);
	/* Written before the connection is up: libevent sends it once connected. */
	if (bufferevent_write(fq->tcp, prefix, 2) < 0 ||
	    bufferevent_write(fq->tcp, fq->query, fq->query_len) < 0 ||
	    bufferevent_enable(fq->tcp, EV_READ) < 0 ||
	    bufferevent_socket_connect(fq->tcp, (const struct sockaddr *)&up->sa, (int)up->sa_len) < 0 ||
	    arm_deadline(fq, fwd->cfg->forward_timeout_ms) < 0)
		goto fail;
	return;
fail:
	count_failure(fq, "cannot start the tcp retry");
	attempt_next(fq);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what;
	struct forward_query *fq = arg;
	count_failure(fq, "no answer in time");
	attempt_next(fq);
}

/* The current attempt failed (and was counted): the next upstream that can be asked,
 * or SERVFAIL after the last. */
static void attempt_next(struct forward_query *fq)
{
	attempt_close(fq);
	while (++fq->upstream < fq->fwd->cfg->forward_count) {
		if (attempt_udp(fq) == 0)
			return;
		count_failure(fq, "cannot send");
	}
	answer_servfail(fq);
}

int forwarder_start(struct forwarder *fwd, const struct forward_client *client,
		    const struct dns_query *q)
{
	if (fwd->cfg->forward_count == 0 || q->packet_len > FORWARD_MESSAGE_MAX)
		return -1;
	if (fwd->pending_count >= fwd->pending_max) {
		log_debug("forward: %u queries pending already; answering locally", fwd->pending_count);
		return -1;
	}
	struct forward_query *fq = calloc(1, sizeof *fq + q->packet_len);
	if (!fq)
		return -1;
	fq->fwd = fwd;
	fq->client = *client;
	fq->udp_fd = -1;
	fq->query_len = q->packet_len;
	memcpy(fq->query, q->packet, q->packet_len);
	/* What the front parsed: the client's ID and flags, where its question ends, and
	 * the answer size it takes (the same rule as our own answers). */
	fq->client_id = q->id;
	fq->client_flags = q->flags;
	fq->name_end = q->question_end - 4;
	fq->client_has_edns = q->has_edns;
	fq->client_do = q->edns_do;
	fq->client_limit = dns_query_size_limit(fwd->cfg, q);
	if (!(fq->deadline = evtimer_new(fwd->base, on_deadline, fq))) {
		query_release(fq);
		return -1;
	}
	LIST_INSERT_HEAD(&fwd->pending, fq, link);
	fwd->pending_count++;
	/* The first attempt starts now; if it cannot, the deadline fires at once and the
	 * failover runs from the loop, never inside the listener that called us. */
	if (attempt_udp(fq) < 0 && arm_deadline(fq, 0) < 0) {
		query_free(fq);
		return -1;
	}
	fwd->metrics->forwarded++;
	return 0;
}

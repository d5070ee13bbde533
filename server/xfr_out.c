/* xfr_out.c -- AXFR and IXFR to secondaries.
 *
 * Every transfer is a run of messages built the same way (struct xfr_msg): records
 * are added until one does not fit in XFR_MESSAGE_MAX, the message is closed (header,
 * TSIG) and handed to a sink, the socket in a child or the connection's output in the
 * loop.  The question goes into the first message only (RFC 5936 2.2). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "netio.h"
#include "serial.h"
#include "xfr_out.h"

struct xfr_child {
	pid_t pid;
	char peer[64];
	char what[64];
};

struct xfr_out {
	const struct config *cfg;
	struct zone_versions *versions;
	const struct zone_set *zones;
	struct dns_metrics *metrics;
	struct event *reaper;
	struct xfr_child children[XFR_CHILDREN_MAX];
	int child_count;
};

/* ---- building messages ---- */

typedef int (*xfr_sink)(void *arg, const uint8_t *msg, size_t len);

struct xfr_msg {
	const struct dns_query *q;
	struct tsig_session tsig;     /* key NULL: unsigned */
	int signed_;
	xfr_sink sink;
	void *sink_arg;
	uint32_t default_ttl;         /* for journal records, which keep none */
	struct wire_writer w;
	uint16_t ancount;
	int first;
	size_t records, bytes, messages;
	uint8_t buf[2 + XFR_MESSAGE_MAX + 512];   /* the length prefix, then the message */
};

static void msg_begin(struct xfr_msg *m)
{
	wire_init(&m->w, m->buf + 2, XFR_MESSAGE_MAX);
	m->w.len = DNS_HEADER_SIZE;
	m->ancount = 0;
	if (m->first) {
		const struct dns_query *q = m->q;
		wire_put_bytes(&m->w, q->packet + DNS_HEADER_SIZE, q->question_end - DNS_HEADER_SIZE);
		wire_learn_name(&m->w, DNS_HEADER_SIZE);
	}
}

static int msg_end(struct xfr_msg *m)
{
	const struct dns_query *q = m->q;
	uint16_t flags = (uint16_t)(DNS_FLAG_QR | DNS_FLAG_AA | (q->flags & DNS_FLAGS_FROM_QUERY));
	wire_put_header(m->buf + 2, q->id, flags, m->first ? 1 : 0, m->ancount, 0, 0);
	size_t len = m->w.len;
	if (m->signed_ &&
	    tsig_sign(&m->tsig, m->buf + 2, &len, sizeof m->buf - 2, 0, (int64_t)time(NULL)) < 0)
		return -1;
	wire_write_u16(m->buf, (uint16_t)len);
	m->messages++;
	m->bytes += len;
	m->first = 0;
	return m->sink(m->sink_arg, m->buf, len + 2);
}

static void put_rr(struct xfr_msg *m, const struct zone_rr *rr)
{
	size_t rdlength = wire_begin_rr(&m->w, rr->owner, rr->type, rr->ttl ? rr->ttl : m->default_ttl);
	wire_put_bytes(&m->w, rr->rdata, rr->rdlen);
	wire_end_rr(&m->w, rdlength);
}

/* Adds a record, closing the message first when it is full (a zone_rr_fn). */
static int msg_add(void *arg, const struct zone_rr *rr)
{
	struct xfr_msg *m = arg;
	struct wire_mark mark = wire_mark(&m->w);
	put_rr(m, rr);
	if (m->w.full) {
		wire_rewind(&m->w, mark);
		if (m->ancount == 0)
			return -1;  /* a record larger than a message: cannot happen below 16 KiB */
		if (msg_end(m) < 0)
			return -1;
		msg_begin(m);
		put_rr(m, rr);
		if (m->w.full)
			return -1;
	}
	m->ancount++;
	m->records++;
	return 0;
}

static void msg_init(struct xfr_msg *m, const struct dns_query *q, const struct tsig_session *tsig,
		     uint32_t default_ttl, xfr_sink sink, void *arg)
{
	m->q = q;
	m->signed_ = tsig && tsig->key;
	if (m->signed_)
		m->tsig = *tsig;
	m->sink = sink;
	m->sink_arg = arg;
	m->default_ttl = default_ttl;
	m->first = 1;
	m->records = m->bytes = m->messages = 0;
	msg_begin(m);
}

/* ---- what a transfer holds ---- */

/* The zone a transfer asks for: the service domain (static NULL) or a static zone. */
struct xfr_zone {
	const struct zone *static_zone;
	uint32_t serial;
};

static uint32_t static_serial(const struct zone *z)
{
	const uint8_t *end = z->soa->rdata + z->soa->rdata_size;
	return wire_read_u32(end - 20);
}

static int find_xfr_zone(struct xfr_out *x, const struct dns_query *q, struct xfr_zone *z)
{
	const struct config *cfg = x->cfg;
	z->static_zone = NULL;
	if (q->qname_len == cfg->domain_len && memcmp(q->qname, cfg->domain, cfg->domain_len) == 0) {
		z->serial = x->versions->reg->serial;
		return 0;
	}
	const struct zone *zone = zones_find_apex(x->zones, q->qname, q->qname_len);
	if (!zone)
		return -1;
	z->static_zone = zone;
	z->serial = static_serial(zone);
	return 0;
}

static int soa_of(struct xfr_out *x, const struct xfr_zone *z, struct xfr_msg *m)
{
	return z->static_zone ? zone_static_soa(z->static_zone, msg_add, m) :
				zone_soa_record(x->cfg, z->serial, msg_add, m);
}

/* SOA, every record, SOA (RFC 5936 2.2). */
static int send_full(struct xfr_out *x, const struct xfr_zone *z, struct xfr_msg *m)
{
	struct zone_source src = x->versions->src;
	if (soa_of(x, z, m) < 0)
		return -1;
	int rc = z->static_zone ? zone_walk_static(z->static_zone, msg_add, m) :
				  zone_walk_service_domain(&src, msg_add, m);
	if (rc < 0 || soa_of(x, z, m) < 0)
		return -1;
	return msg_end(m);
}

static int add_buffer(struct xfr_msg *m, const struct rr_buffer *b)
{
	size_t pos = 0;
	struct zone_rr rr;
	while (rr_buffer_next(b, &pos, &rr))
		if (msg_add(m, &rr) < 0)
			return -1;
	return 0;
}

/* RFC 1995 4: the new SOA, then the old SOA, what went, the new SOA, what came, the
 * new SOA.  Versions in between are condensed into one difference. */
static int send_diff(struct xfr_out *x, uint32_t from, const struct zone_diff *d, struct xfr_msg *m)
{
	uint32_t to = x->versions->reg->serial;
	if (zone_soa_record(x->cfg, to, msg_add, m) < 0 ||
	    zone_soa_record(x->cfg, from, msg_add, m) < 0 || add_buffer(m, &d->removed) < 0 ||
	    zone_soa_record(x->cfg, to, msg_add, m) < 0 || add_buffer(m, &d->added) < 0 ||
	    zone_soa_record(x->cfg, to, msg_add, m) < 0)
		return -1;
	return msg_end(m);
}

/* ---- the two sinks: the connection's output in the loop, the socket in a child ---- */

static int to_evbuffer(void *arg, const uint8_t *msg, size_t len)
{
	return evbuffer_add(arg, msg, len);
}

/* Writes all of len bytes to a non-blocking socket, waiting for room as long as the
 * reader takes something within XFR_STALL_SECONDS. */
static int write_all(int fd, const uint8_t *data, size_t len)
{
	while (len) {
		ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
		if (n > 0) {
			data += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return -1;
		struct pollfd p = { fd, POLLOUT, 0 };
		if (poll(&p, 1, XFR_STALL_SECONDS * 1000) <= 0)
			return -1;
	}
	return 0;
}

static int to_socket(void *arg, const uint8_t *msg, size_t len)
{
	return write_all(*(int *)arg, msg, len);
}

/* ---- children ---- */

static void log_transfer(const char *peer, const char *what, const struct xfr_msg *m, int64_t start_ms,
			 int ok)
{
	log_info("xfr: %s %s: %s, %zu records, %zu bytes in %zu messages, %lld ms", peer, what,
		 ok ? "sent" : "failed", m->records, m->bytes, m->messages,
		 (long long)(monotonic_ms() - start_ms));
}

/* The child: first what the connection had not sent yet, then the transfer. */
static void run_child(struct xfr_out *x, int fd, struct evbuffer *out, const struct xfr_zone *z,
		      struct xfr_msg *m, const char *peer, const char *what)
{
	/* Only the connection and stderr: a slow transfer must not keep our listening
	 * sockets (and their ports) open after the server stopped. */
	if (fd > 3)
		close_range(3, (unsigned)fd - 1, 0);
	close_range((unsigned)fd + 1, ~0u, 0);
	int64_t start = monotonic_ms();
	size_t pending = evbuffer_get_length(out);
	const uint8_t *bytes = evbuffer_pullup(out, -1);
	int ok = (pending == 0 || (bytes && write_all(fd, bytes, pending) == 0)) && send_full(x, z, m) == 0;
	log_transfer(peer, what, m, start, ok);
	shutdown(fd, SHUT_WR);
	_exit(ok ? 0 : 1);
}

static void reap_children(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what;
	struct xfr_out *x = arg;
	for (int i = 0; i < x->child_count;) {
		int status;
		pid_t got = waitpid(x->children[i].pid, &status, WNOHANG);
		if (got == 0 || (got < 0 && errno == EINTR)) {
			i++;
			continue;
		}
		if (got < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
			x->metrics->transfer_failures++;
		if (got > 0 && WIFSIGNALED(status))  /* it could not write its own line */
			log_warn("xfr: %s %s: the transfer's process died of signal %d",
				 x->children[i].peer, x->children[i].what, WTERMSIG(status));
		x->children[i] = x->children[--x->child_count];
	}
}

static enum xfr_outcome fork_full(struct xfr_out *x, int fd, struct evbuffer *out,
				  const struct xfr_zone *z, struct xfr_msg *m, const char *peer,
				  const char *what)
{
	if (x->child_count == XFR_CHILDREN_MAX) {
		log_warn("xfr: %s %s: %d full transfers running already; closing, it retries", peer, what,
			 XFR_CHILDREN_MAX);
		x->metrics->transfer_failures++;
		return XFR_FAILED;
	}
	pid_t pid = fork();
	if (pid < 0) {
		log_warn("xfr: %s %s: fork: %s", peer, what, strerror(errno));
		x->metrics->transfer_failures++;
		return XFR_FAILED;
	}
	if (pid == 0)
		run_child(x, fd, out, z, m, peer, what);  /* never returns */
	struct xfr_child *c = &x->children[x->child_count++];
	c->pid = pid;
	snprintf(c->peer, sizeof c->peer, "%s", peer);
	snprintf(c->what, sizeof c->what, "%s", what);
	return XFR_HANDED_OFF;
}

/* ---- serving ---- */

enum xfr_outcome xfr_out_serve(struct xfr_out *x, const struct sockaddr *peer, int fd,
			       struct evbuffer *out, const struct dns_query *q,
			       const struct tsig_session *tsig)
{
	char peer_text[64], what[64];
	netio_format_peer(peer, peer_text, sizeof peer_text);
	struct xfr_zone z;
	if (find_xfr_zone(x, q, &z) < 0)
		return XFR_FAILED;  /* the front checked the zone: cannot happen */
	if (!z.static_zone)
		zone_versions_commit(x->versions);  /* a transfer shows one version, whole */
	z.serial = z.static_zone ? z.serial : x->versions->reg->serial;
	if (!q->tsig_key)
		tsig = NULL;  /* an unsigned request: unsigned messages */

	static struct xfr_msg m;  /* 17 KiB: not on the stack */
	msg_init(&m, q, tsig, x->cfg->ttl, to_evbuffer, out);
	int64_t start = monotonic_ms();
	if (q->qtype == TYPE_IXFR && q->has_ixfr_serial) {
		snprintf(what, sizeof what, "IXFR %u -> %u", q->ixfr_serial, z.serial);
		x->metrics->transfers_ixfr++;
		if (!serial_before(q->ixfr_serial, z.serial)) {
			/* Up to date (or ahead of us): the SOA alone (RFC 1995 2). */
			if (soa_of(x, &z, &m) < 0 || msg_end(&m) < 0) {
				x->metrics->transfer_failures++;
				return XFR_FAILED;
			}
			log_transfer(peer_text, what, &m, start, 1);
			return XFR_QUEUED;
		}
		struct zone_diff d;
		if (!z.static_zone && zone_journal_diff(&x->versions->journal, q->ixfr_serial, &d) == 0) {
			int small = d.removed.len + d.added.len <= XFR_IXFR_INLINE_MAX;
			int rc = small ? send_diff(x, q->ixfr_serial, &d, &m) : 0;
			zone_diff_free(&d);
			if (small) {
				log_transfer(peer_text, what, &m, start, rc == 0);
				if (rc < 0)
					x->metrics->transfer_failures++;
				return rc == 0 ? XFR_QUEUED : XFR_FAILED;
			}
		}
		snprintf(what, sizeof what, "IXFR %u -> %u (full)", q->ixfr_serial, z.serial);
	} else {
		snprintf(what, sizeof what, "AXFR %u", z.serial);
		x->metrics->transfers_axfr++;
	}
	msg_init(&m, q, tsig, x->cfg->ttl, to_socket, &fd);
	return fork_full(x, fd, out, &z, &m, peer_text, what);
}

struct xfr_out *xfr_out_new(struct event_base *base, const struct config *cfg,
			    struct zone_versions *versions, const struct zone_set *zones,
			    struct dns_metrics *metrics)
{
	struct xfr_out *x = calloc(1, sizeof *x);
	if (!x)
		return NULL;
	x->cfg = cfg;
	x->versions = versions;
	x->zones = zones;
	x->metrics = metrics;
	x->reaper = event_new(base, -1, EV_PERSIST, reap_children, x);
	struct timeval every = { 0, 200 * 1000 };
	if (!x->reaper || event_add(x->reaper, &every) < 0) {
		xfr_out_free(x);
		return NULL;
	}
	return x;
}

void xfr_out_free(struct xfr_out *x)
{
	if (!x)
		return;
	if (x->reaper)
		event_free(x->reaper);
	free(x);
}

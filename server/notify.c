/* notify.c -- NOTIFY to secondaries: one connected UDP socket per target, one serial
 * outstanding per target, retried every 2 s up to 5 times.
 *
 * A NOTIFY carries the new SOA in its answer section (RFC 1996 3.7), so a secondary
 * may skip its SOA query, and is TSIG-signed when the target names a key. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "dns_wire.h"
#include "log.h"
#include "notify.h"
#include "tsig.h"
#include "zone_records.h"

struct notify_peer {
	struct notifier *owner;
	struct notify_target target;   /* a copy: a reload replaces the config's list */
	int fd;
	struct event *readable, *retry;
	uint16_t id;
	uint32_t serial;
	int tries;                     /* messages sent for serial */
	int outstanding;
};

struct notifier {
	struct event_base *base;
	const struct config *cfg;
	struct dns_metrics *metrics;
	struct notify_peer *peers;
	size_t count;
};

static int put_rr(void *arg, const struct zone_rr *rr)
{
	struct wire_writer *w = arg;
	size_t rdlength = wire_begin_rr(w, rr->owner, rr->type, rr->ttl);
	wire_put_bytes(w, rr->rdata, rr->rdlen);
	wire_end_rr(w, rdlength);
	return 0;
}

static void send_notify(struct notify_peer *p)
{
	const struct config *cfg = p->owner->cfg;
	uint8_t msg[1024];
	struct wire_writer w;
	wire_init(&w, msg, sizeof msg);
	w.len = DNS_HEADER_SIZE;
	wire_put_name(&w, cfg->domain);
	wire_put_u16(&w, TYPE_SOA);
	wire_put_u16(&w, CLASS_IN);
	zone_soa_record(cfg, p->serial, put_rr, &w);
	wire_put_header(msg, p->id, (uint16_t)(DNS_OPCODE_NOTIFY << 11 | DNS_FLAG_AA), 1, 1, 0, 0);
	size_t len = w.len;
	if (p->target.key.index >= 0 && (size_t)p->target.key.index < cfg->tsig_key_count) {
		struct tsig_session s;
		tsig_session_start(&s, &cfg->tsig_keys[p->target.key.index]);
		if (tsig_sign(&s, msg, &len, sizeof msg, 0, (int64_t)time(NULL)) < 0) {
			log_warn("notify: %s: cannot sign", p->target.to.text);
			return;
		}
	}
	p->tries++;
	p->owner->metrics->notify_sent++;
	if (send(p->fd, msg, len, 0) < 0)
		log_debug("notify: %s: %s", p->target.to.text, strerror(errno));
	struct timeval tv = { NOTIFY_RETRY_MS / 1000, (NOTIFY_RETRY_MS % 1000) * 1000 };
	evtimer_add(p->retry, &tv);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what;
	struct notify_peer *p = arg;
	if (!p->outstanding)
		return;
	if (p->tries <= NOTIFY_RETRIES) {
		send_notify(p);
		return;
	}
	p->outstanding = 0;
	p->owner->metrics->notify_failures++;
	log_warn("notify: %s never acknowledged serial %u (%d messages); it catches up at its "
		 "next refresh", p->target.to.text, p->serial, p->tries);
}

/* An acknowledgement: a response to our NOTIFY, with its ID (RFC 1996 4.7). */
static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	struct notify_peer *p = arg;
	uint8_t reply[4096];
	ssize_t n;
	while ((n = recv(fd, reply, sizeof reply, 0)) >= 0 || errno == EINTR) {
		if (n < DNS_HEADER_SIZE)
			continue;
		uint16_t flags = wire_read_u16(reply + DNS_OFF_FLAGS);
		if (!p->outstanding || wire_read_u16(reply) != p->id || !(flags & DNS_FLAG_QR) ||
		    DNS_OPCODE(flags) != DNS_OPCODE_NOTIFY)
			continue;
		p->outstanding = 0;
		evtimer_del(p->retry);
		p->owner->metrics->notify_acked++;
		if (DNS_RCODE(flags) != RCODE_NOERROR)
			log_warn("notify: %s answered serial %u with rcode %u", p->target.to.text,
				 p->serial, DNS_RCODE(flags));
		else
			log_debug("notify: %s acknowledged serial %u", p->target.to.text, p->serial);
	}
}

void notifier_on_version(void *arg, uint32_t serial)
{
	struct notifier *n = arg;
	for (size_t i = 0; i < n->count; i++) {
		struct notify_peer *p = &n->peers[i];
		uint16_t id;
		if (getrandom(&id, sizeof id, 0) != (ssize_t)sizeof id)
			id = (uint16_t)(p->id * 31 + 7);
		p->id = id;
		p->serial = serial;
		p->tries = 0;
		p->outstanding = 1;
		send_notify(p);
	}
}

static void close_peers(struct notifier *n)
{
	for (size_t i = 0; i < n->count; i++) {
		struct notify_peer *p = &n->peers[i];
		if (p->readable)
			event_free(p->readable);
		if (p->retry)
			event_free(p->retry);
		if (p->fd >= 0)
			close(p->fd);
	}
	free(n->peers);
	n->peers = NULL;
	n->count = 0;
}

static int open_peer(struct notifier *n, struct notify_peer *p, const struct notify_target *t)
{
	memset(p, 0, sizeof *p);
	p->owner = n;
	p->target = *t;
	p->fd = socket(t->to.sa.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p->fd < 0 || connect(p->fd, (const struct sockaddr *)&t->to.sa, t->to.sa_len) < 0) {
		log_error("notify: %s: %s", t->to.text, strerror(errno));
		return -1;
	}
	p->readable = event_new(n->base, p->fd, EV_READ | EV_PERSIST, on_readable, p);
	p->retry = evtimer_new(n->base, on_retry, p);
	return p->readable && p->retry && event_add(p->readable, NULL) == 0 ? 0 : -1;
}

int notifier_reload(struct notifier *n)
{
	close_peers(n);
	const struct config *cfg = n->cfg;
	if (cfg->notify_count == 0)
		return 0;
	n->peers = calloc(cfg->notify_count, sizeof *n->peers);
	if (!n->peers)
		return -1;
	for (size_t i = 0; i < cfg->notify_count; i++) {
		n->peers[i].fd = -1;
		n->count++;
		if (open_peer(n, &n->peers[i], &cfg->notify[i]) < 0)
			return -1;
	}
	return 0;
}

struct notifier *notifier_new(struct event_base *base, const struct config *cfg,
			      struct dns_metrics *metrics)
{
	struct notifier *n = calloc(1, sizeof *n);
	if (!n)
		return NULL;
	n->base = base;
	n->cfg = cfg;
	n->metrics = metrics;
	if (notifier_reload(n) < 0) {
		notifier_free(n);
		return NULL;
	}
	return n;
}

void notifier_free(struct notifier *n)
{
	if (!n)
		return;
	close_peers(n);
	free(n);
}

/* dns_front.c -- the one front for DNS over UDP and TCP: policy, answer, verdict.
 *
 * Each stage's decision is counted once, where it is made: the query when it is
 * answered, the rcode and TC when an answer is encoded, a forward by the forwarder
 * when it takes the query (its rcode when upstream's answer goes out). */
#include <time.h>

#include "dns_answer.h"
#include "dns_front.h"
#include "dns_wire.h"
#include "log.h"
#include "netio.h"
#include "views.h"

void dns_front_init(struct dns_front *f, struct responder *r, struct dns_guard *g)
{
	f->responder = r;
	f->guard = g;
}

/* Forwarding is recursion on the client's behalf: only when it asked for it (RD), and
 * only for names in none of our zones. */
static int wants_forward(const struct config *cfg, const struct dns_query *q,
			 const struct answer *a)
{
	return a->outside_zones && cfg->forward_count > 0 && (q->flags & DNS_FLAG_RD) && !q->has_tsig;
}

static int is_transfer(const struct dns_query *q)
{
	return (q->qtype == TYPE_AXFR || q->qtype == TYPE_IXFR) && q->qclass == CLASS_IN;
}

/* RFC 8945 5.2: the MAC first; the answer to a failure says which (dns_query_answer). */
static void check_tsig(const struct config *cfg, struct dns_query *q, struct front_result *res)
{
	if (!q->has_tsig)
		return;
	q->tsig_error = (uint16_t)tsig_verify(cfg, q->packet, q->packet_len, &q->tsig,
					      (int64_t)time(NULL), &res->tsig);
	if (q->tsig_error == 0 || q->tsig_error == TSIG_BADTIME)
		q->tsig_key = res->tsig.key;
}

/* An AXFR or IXFR: returns 1 when it is a transfer to run (TCP, allowed), else fills a:
 * REFUSED outside transfer.allow or for a name that is no zone of ours, and for an
 * IXFR over UDP the zone's SOA alone (RFC 1995 2).  AXFR over UDP is refused. */
static int transfer_query(struct dns_front *f, const struct sockaddr *peer,
			  const struct dns_query *q, struct answer *a)
{
	struct responder *r = f->responder;
	dns_query_count(r, q);
	int zone = dns_answer_transfer_zone(r, q, a);
	if (zone && dns_guard_may_transfer(r->cfg, peer, q->tsig_key)) {
		if (q->transport == DNS_TCP)
			return 1;
		if (q->qtype == TYPE_IXFR)
			return 0;
	}
	r->metrics.transfers_refused++;
	/* UDP sources can be spoofed: their refusals are logged at debug, not flooded. */
	enum log_level level = q->transport == DNS_TCP ? LOG_INFO : LOG_DEBUG;
	if (log_enabled(level)) {
		char peer_text[64];
		netio_format_peer(peer, peer_text, sizeof peer_text);
		log_msg(level, "xfr: %s %s: refused (%s)", peer_text, q->qtype == TYPE_AXFR ? "AXFR" : "IXFR",
			zone ? "not in transfer.allow, or unsigned" : "not a zone of ours");
	}
	dns_answer_init(a, RCODE_REFUSED);
	a->ede = EDE_PROHIBITED;
	return 0;
}

/* A verified request gets a signed answer, BADTIME included (RFC 8945 5.2.3). */
static void sign_answer(struct responder *r, const struct dns_query *q, struct front_result *res,
			uint8_t *out, size_t out_cap)
{
	if (!q->tsig_key)
		return;
	size_t cap = dns_query_size_limit(r->cfg, q);
	if (tsig_sign(&res->tsig, out, &res->len, cap < out_cap ? cap : out_cap, q->tsig_error,
		      (int64_t)time(NULL)) < 0)
		log_warn("tsig: cannot sign an answer with key %s", q->tsig_key->name);
}

enum front_verdict dns_front_query(struct dns_front *f, const struct sockaddr *peer,
				   enum dns_transport transport, const uint8_t *packet,
				   size_t len, uint8_t *out, size_t out_cap,
				   struct front_result *res)
{
	struct responder *r = f->responder;
	const struct config *cfg = r->cfg;
	struct dns_query *q = &res->query;
	struct answer a;
	int forward = 0;

	enum query_parse parsed = dns_query_parse(q, packet, len, transport);
	if (parsed == QUERY_DROP) {
		r->metrics.dropped++;
		return res->verdict = FRONT_DROP;
	}
	if (parsed == QUERY_OK) {
		q->view = views_of_source(cfg, peer);  /* the source decides, not the destination */
		check_tsig(cfg, q, res);
		int refused = !dns_guard_may_query(cfg, peer);
		if (!refused && !q->tsig_error && is_transfer(q)) {
			if (transfer_query(f, peer, q, &a))
				return res->verdict = FRONT_TRANSFER;
		} else {
			if (is_transfer(q))
				r->metrics.transfers_refused++;  /* allow-query, or a TSIG failure */
			dns_query_answer(r, q, refused, &a);
			forward = wants_forward(cfg, q, &a);
		}
	} else {
		dns_query_answer_malformed(q, parsed, &a);
	}

	int slip = 0;
	if (transport == DNS_UDP) {
		enum rrl_verdict rrl = dns_guard_udp_answer(f->guard, cfg, peer, r->now_ms);
		if (rrl == RRL_DROP)
			return res->verdict = FRONT_DROP;
		if (rrl == RRL_SLIP) {
			slip = 1;
			if (forward) {
				/* We have no answer of our own to cut down: an empty one. */
				forward = 0;
				a.rcode = RCODE_NOERROR;
				a.ede = EDE_NONE;
				a.outside_zones = 0;
			}
		}
	}
	if (forward)
		return res->verdict = FRONT_FORWARD;
	res->len = dns_query_encode(r, q, &a, slip, out, out_cap);
	if (!a.tsig_error)
		sign_answer(r, q, res, out, out_cap);
	return res->verdict = FRONT_SEND;
}

size_t dns_front_unforwarded(struct dns_front *f, struct front_result *res, uint8_t *out,
			     size_t out_cap)
{
	struct answer a;
	dns_answer_init(&a, RCODE_REFUSED);
	a.ede = EDE_NOT_AUTHORITATIVE;
	res->verdict = FRONT_SEND;
	res->len = dns_query_encode(f->responder, &res->query, &a, 0, out, out_cap);
	return res->len;
}

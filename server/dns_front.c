/* dns_front.c -- the one front for DNS over UDP and TCP: policy, answer, verdict.
 *
 * Each stage's decision is counted once, where it is made: the query when it is
 * answered, the rcode and TC when an answer is encoded, a forward by the forwarder
 * when it takes the query (its rcode when upstream's answer goes out). */
#include "dns_answer.h"
#include "dns_front.h"
#include "dns_wire.h"

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
	return a->outside_zones && cfg->forward_count > 0 && (q->flags & DNS_FLAG_RD);
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
		dns_query_answer(r, q, !dns_guard_may_query(cfg, peer), &a);
		forward = wants_forward(cfg, q, &a);
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
	return res->verdict = FRONT_SEND;
}

size_t dns_front_unforwarded(struct dns_front *f, struct front_result *res, uint8_t *out,
			     size_t out_cap)
{
	struct answer a;
	dns_answer_init(&a, RCODE_REFUSED);
	a.ede = EDE_NOT_AUTHORITATIVE;
	res->verdict = FRONT_SEND;
	return res->len = dns_query_encode(f->responder, &res->query, &a, 0, out, out_cap);
}

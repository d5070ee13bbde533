/* dns_query.c -- one DNS query's stages: parse, answer, encode.
 *
 * The fast path reads the 12-byte header, the question and an OPT record
 * straight from the packet (no ldns objects, no allocation), then hands over to
 * dns_answer.c.  Anything malformed gets FORMERR when the header is readable.
 * The order in which the stages run, and the policy between them, is dns_front.c's. */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "dns_answer.h"
#include "dns_query.h"
#include "dns_wire.h"
#include "log.h"

int responder_init(struct responder *r, const struct config *cfg, const struct registry *reg,
		   const struct zone_set *zones)
{
	memset(r, 0, sizeof *r);
	r->cfg = cfg;
	r->reg = reg;
	r->zones = zones;
	if (getrandom(&r->rng, sizeof r->rng, 0) != sizeof r->rng)
		r->rng = (uint64_t)time(NULL);
	r->rng |= 1;  /* xorshift never leaves zero */
	return 0;
}

uint64_t responder_random(struct responder *r)
{
	r->rng ^= r->rng << 13;
	r->rng ^= r->rng >> 7;
	r->rng ^= r->rng << 17;
	return r->rng;
}

/* The TTL of an instance's records: the configured TTL, never past its lease. */
uint32_t responder_instance_ttl(const struct responder *r, const struct instance *inst)
{
	uint32_t ttl = r->cfg->ttl;
	if (inst->expires_ms) {
		int64_t left = (inst->expires_ms - r->now_ms) / 1000;
		if (left < ttl)
			ttl = left > 0 ? (uint32_t)left : 0;
	}
	return ttl;
}

void responder_free(struct responder *r)
{
	free(r->scratch);
	r->scratch = NULL;
	r->scratch_capacity = 0;
}

/* Walks the additional section for an OPT record (RFC 6891); at most one is allowed. */
static enum query_parse parse_additional(struct dns_query *q, size_t off, uint16_t count)
{
	const uint8_t *p = q->packet;
	for (uint16_t i = 0; i < count; i++) {
		size_t owner = off;
		if (dname_skip(p, q->packet_len, &off) < 0 || off + 10 > q->packet_len)
			return QUERY_FORMERR;
		uint16_t type = wire_read_u16(p + off);
		uint16_t rdlen = wire_read_u16(p + off + 8);
		if (off + 10 + rdlen > q->packet_len)
			return QUERY_FORMERR;
		if (type == TYPE_OPT) {
			if (q->has_edns || p[owner] != 0)
				return QUERY_FORMERR;
			q->has_edns = 1;
			q->edns_udp_size = wire_read_u16(p + off + 2);
			q->edns_version = p[off + 5];
		}
		off += 10 + rdlen;
	}
	return QUERY_OK;
}

enum query_parse dns_query_parse(struct dns_query *q, const uint8_t *p, size_t len,
				 enum dns_transport transport)
{
	q->transport = transport;
	q->packet = p;
	q->packet_len = len;
	q->id = 0;
	q->flags = 0;
	q->question_end = 0;
	q->has_edns = 0;
	if (len < DNS_HEADER_SIZE)
		return QUERY_DROP;
	q->id = wire_read_u16(p);
	q->flags = wire_read_u16(p + 2);
	if (q->flags & DNS_FLAG_QR)
		return QUERY_DROP;  /* a response: answering it could start a loop */
	if (DNS_OPCODE(q->flags) != 0)
		return QUERY_NOTIMP;
	if (wire_read_u16(p + DNS_OFF_QDCOUNT) != 1)
		return QUERY_FORMERR_BARE;
	size_t off = DNS_HEADER_SIZE;
	q->qname_len = dname_read_question(p, len, &off, q->qname);
	if (q->qname_len == 0 || off + 4 > len)
		return QUERY_FORMERR_BARE;
	q->qtype = wire_read_u16(p + off);
	q->qclass = wire_read_u16(p + off + 2);
	q->question_end = off + 4;
	if (wire_read_u16(p + DNS_OFF_ANCOUNT) != 0 || wire_read_u16(p + DNS_OFF_NSCOUNT) != 0)
		return QUERY_FORMERR;
	return parse_additional(q, q->question_end, wire_read_u16(p + DNS_OFF_ARCOUNT));
}

size_t dns_query_size_limit(const struct config *cfg, const struct dns_query *q)
{
	if (q->transport == DNS_TCP)
		return 65535;
	size_t limit = 512;
	if (q->has_edns && q->edns_udp_size > limit)
		limit = q->edns_udp_size;
	return limit < cfg->max_udp_payload ? limit : cfg->max_udp_payload;
}

static int is_meta_type(uint16_t type)
{
	return type == TYPE_OPT || (type >= 128 && type <= 254 && type != TYPE_IXFR && type != TYPE_AXFR);
}

void dns_query_answer_malformed(struct dns_query *q, enum query_parse parsed, struct answer *a)
{
	if (log_enabled(LOG_DEBUG))
		log_debug("dns: malformed query (%s), %zu bytes",
			  parsed == QUERY_NOTIMP ? "NOTIMP" : "FORMERR", q->packet_len);
	dns_answer_init(a, parsed == QUERY_NOTIMP ? RCODE_NOTIMP : RCODE_FORMERR);
	/* Without a readable question the reply is the header alone. */
	a->header_only = parsed != QUERY_FORMERR;
	q->has_edns = 0;  /* an OPT we could not read is not echoed */
}

void dns_query_answer(struct responder *r, const struct dns_query *q, int refused,
		      struct answer *a)
{
	r->metrics.queries[q->transport == DNS_TCP][metrics_qtype(q->qtype)]++;
	dns_answer_init(a, RCODE_NOERROR);
	if (refused)
		a->rcode = RCODE_REFUSED;
	else if (q->has_edns && q->edns_version != 0)
		a->rcode = RCODE_BADVERS;
	else if (is_meta_type(q->qtype))
		a->rcode = RCODE_FORMERR;
	else if (q->qclass != CLASS_IN || q->qtype == TYPE_AXFR || q->qtype == TYPE_IXFR)
		a->rcode = RCODE_REFUSED;
	else
		dns_answer_collect(r, q, a);
}

size_t dns_query_encode(struct responder *r, const struct dns_query *q, struct answer *a,
			int slip, uint8_t *out, size_t out_cap)
{
	if (slip) {
		/* RRL slip: no records at all, so the client can only retry over TCP. */
		memset(a->item_count, 0, sizeof a->item_count);
		a->truncated = 1;
	}
	size_t limit = dns_query_size_limit(r->cfg, q);
	size_t len = dns_answer_encode(r, q, a, out, limit < out_cap ? limit : out_cap);
	if (a->rcode < METRIC_RCODES)
		r->metrics.responses_by_rcode[a->rcode]++;
	if (out[2] & (DNS_FLAG_TC >> 8))
		r->metrics.truncated++;
	return len;
}

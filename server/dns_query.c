/* dns_query.c -- one DNS query from bytes in to bytes out.
 *
 * The fast path reads the 12-byte header, the question and an OPT record
 * straight from the packet (no ldns objects, no allocation), then hands over to
 * dns_answer.c.  Anything malformed gets FORMERR when the header is readable. */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "dns_answer.h"
#include "dns_query.h"
#include "dns_wire.h"
#include "log.h"

enum parse_result { PARSE_OK, PARSE_DROP, PARSE_FORMERR_BARE, PARSE_FORMERR, PARSE_NOTIMP };

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

void responder_free(struct responder *r)
{
	free(r->scratch);
	r->scratch = NULL;
	r->scratch_capacity = 0;
}

static uint16_t get_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Walks the additional section for an OPT record (RFC 6891); at most one is allowed. */
static enum parse_result parse_additional(struct dns_query *q, size_t off, uint16_t count)
{
	const uint8_t *p = q->packet;
	for (uint16_t i = 0; i < count; i++) {
		size_t owner = off;
		if (dname_skip(p, q->packet_len, &off) < 0 || off + 10 > q->packet_len)
			return PARSE_FORMERR;
		uint16_t type = get_u16(p + off);
		uint16_t rdlen = get_u16(p + off + 8);
		if (off + 10 + rdlen > q->packet_len)
			return PARSE_FORMERR;
		if (type == TYPE_OPT) {
			if (q->has_edns || p[owner] != 0)
				return PARSE_FORMERR;
			q->has_edns = 1;
			q->edns_udp_size = get_u16(p + off + 2);
			q->edns_version = p[off + 5];
		}
		off += 10 + rdlen;
	}
	return PARSE_OK;
}

static enum parse_result parse_query(struct dns_query *q, const uint8_t *p, size_t len)
{
	q->packet = p;
	q->packet_len = len;
	q->id = 0;
	q->flags = 0;
	q->question_end = 0;
	q->has_edns = 0;
	if (len < DNS_HEADER_SIZE)
		return PARSE_DROP;
	q->id = get_u16(p);
	q->flags = get_u16(p + 2);
	if (q->flags & 0x8000)
		return PARSE_DROP;  /* a response: answering it could start a loop */
	if ((q->flags >> 11 & 0xf) != 0)
		return PARSE_NOTIMP;
	if (get_u16(p + 4) != 1)
		return PARSE_FORMERR_BARE;
	size_t off = DNS_HEADER_SIZE;
	q->qname_len = dname_read_question(p, len, &off, q->qname);
	if (q->qname_len == 0 || off + 4 > len)
		return PARSE_FORMERR_BARE;
	q->qtype = get_u16(p + off);
	q->qclass = get_u16(p + off + 2);
	q->question_end = off + 4;
	if (get_u16(p + 6) != 0 || get_u16(p + 8) != 0)
		return PARSE_FORMERR;
	return parse_additional(q, q->question_end, get_u16(p + 10));
}

/* The largest answer the client takes: 512 without EDNS, its EDNS size up to our own. */
static size_t answer_limit(const struct responder *r, const struct dns_query *q, size_t out_cap)
{
	size_t limit = 65535;
	if (q->transport == DNS_UDP) {
		limit = 512;
		if (q->has_edns && q->edns_udp_size > limit)
			limit = q->edns_udp_size;
		if (limit > r->cfg->max_udp_payload)
			limit = r->cfg->max_udp_payload;
	}
	return limit < out_cap ? limit : out_cap;
}

/* A reply with the header alone, for queries whose question cannot be read. */
static size_t bare_reply(const struct dns_query *q, uint8_t rcode, uint8_t *out)
{
	memset(out, 0, DNS_HEADER_SIZE);
	memcpy(out, q->packet, 2);
	uint16_t flags = (uint16_t)(0x8000 | (q->flags & 0x7910) | rcode);
	out[2] = (uint8_t)(flags >> 8);
	out[3] = (uint8_t)flags;
	return DNS_HEADER_SIZE;
}

static int is_meta_type(uint16_t type)
{
	return type == TYPE_OPT || (type >= 128 && type <= 254 && type != TYPE_IXFR && type != TYPE_AXFR);
}

static size_t dns_query_answer(struct responder *r, const uint8_t *packet, size_t len,
			       enum dns_transport transport, uint8_t *out, size_t out_cap)
{
	struct dns_query q;
	struct answer a;
	enum parse_result parsed = parse_query(&q, packet, len);
	q.transport = transport;
	r->forward = 0;

	if (parsed != PARSE_OK && log_enabled(LOG_DEBUG))
		log_debug("dns: malformed query (%s), %zu bytes",
			  parsed == PARSE_DROP ? "dropped" : parsed == PARSE_NOTIMP ? "NOTIMP" : "FORMERR", len);
	switch (parsed) {
	case PARSE_DROP:
		return 0;
	case PARSE_NOTIMP:
		return bare_reply(&q, RCODE_NOTIMP, out);
	case PARSE_FORMERR_BARE:
		return bare_reply(&q, RCODE_FORMERR, out);
	case PARSE_FORMERR:
		r->last_rcode = RCODE_FORMERR;
		q.has_edns = 0;
		memset(a.item_count, 0, sizeof a.item_count);
		a.rcode = RCODE_FORMERR;
		a.authoritative = 0;
		return dns_answer_encode(r, &q, &a, out, answer_limit(r, &q, out_cap));
	case PARSE_OK:
		break;
	}
	r->metrics.queries[transport == DNS_TCP][metrics_qtype(q.qtype)]++;

	memset(a.item_count, 0, sizeof a.item_count);
	a.authoritative = 0;
	if (r->refuse_query)
		a.rcode = RCODE_REFUSED;
	else if (q.has_edns && q.edns_version != 0)
		a.rcode = RCODE_BADVERS;
	else if (is_meta_type(q.qtype))
		a.rcode = RCODE_FORMERR;
	else if (q.qclass != CLASS_IN || q.qtype == TYPE_AXFR || q.qtype == TYPE_IXFR)
		a.rcode = RCODE_REFUSED;
	else
		dns_answer_collect(r, &q, &a);
	r->last_rcode = a.rcode;
	return dns_answer_encode(r, &q, &a, out, answer_limit(r, &q, out_cap));
}

size_t dns_answer_truncate(uint8_t *answer, size_t len)
{
	size_t end = DNS_HEADER_SIZE;
	if (get_u16(answer + 4) == 1) {
		if (dname_skip(answer, len, &end) < 0 || end + 4 > len)
			return DNS_HEADER_SIZE;
		end += 4;
	}
	answer[2] |= 0x02;
	memset(answer + 6, 0, 6);
	return end;
}

size_t dns_query_process(struct responder *r, const uint8_t *packet, size_t len,
			 enum dns_transport transport, uint8_t *out, size_t out_cap)
{
	r->last_rcode = 0xff;
	size_t n = dns_query_answer(r, packet, len, transport, out, out_cap);
	if (n == 0) {
		r->metrics.dropped++;
		return 0;
	}
	/* BADVERS lives in the OPT record; the header alone shows only its low bits. */
	unsigned rcode = r->last_rcode != 0xff ? r->last_rcode : (out[3] & 0xfu);
	if (rcode < METRIC_RCODES)
		r->metrics.responses_by_rcode[rcode]++;
	if (out[2] & 0x02)
		r->metrics.truncated++;
	return n;
}

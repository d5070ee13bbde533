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
	free(r->scratch_weights);
	free(r->scratch_pool);
	free(r->scratch_pool_weights);
	free(r->scratch_tree);
	r->scratch = NULL;
	r->scratch_weights = NULL;
	r->scratch_pool = NULL;
	r->scratch_pool_weights = NULL;
	r->scratch_tree = NULL;
	r->scratch_capacity = 0;
}

/* Steps over count records (answer and authority sections); -1 when one runs past the end. */
static int skip_records(const uint8_t *p, size_t len, size_t *off, unsigned count)
{
	for (unsigned i = 0; i < count; i++) {
		if (dname_skip(p, len, off) < 0 || *off + 10 > len)
			return -1;
		size_t end = *off + 10 + wire_read_u16(p + *off + 8);
		if (end > len)
			return -1;
		*off = end;
	}
	return 0;
}

/* RFC 6891 6.1.2: the options, each a code, a length and that many bytes, fill the
 * RDATA exactly. */
static int options_well_formed(const uint8_t *rdata, uint16_t rdlen)
{
	struct wire_reader rd;
	wire_reader_init(&rd, rdata, rdlen);
	while (wire_left(&rd) > 0) {
		wire_get_u16(&rd);
		wire_get_bytes(&rd, wire_get_u16(&rd));
	}
	return !rd.error;
}

static int parse_opt(struct dns_query *q, size_t owner, size_t fields)
{
	const uint8_t *p = q->packet;
	if (q->has_edns || p[owner] != 0 ||
	    !options_well_formed(p + fields + 10, wire_read_u16(p + fields + 8)))
		return -1;
	q->has_edns = 1;
	q->edns_udp_size = wire_read_u16(p + fields + 2);
	q->edns_version = p[fields + 5];
	q->edns_do = (wire_read_u16(p + fields + 6) & EDNS_FLAG_DO) != 0;
	return 0;
}

/* RFC 8945 4.2: class ANY, TTL 0, and an RDATA whose fields fill it exactly. */
static int parse_tsig(struct dns_query *q, size_t owner, size_t fields)
{
	const uint8_t *p = q->packet;
	struct dns_tsig *t = &q->tsig;
	size_t rdata = fields + 10, end = rdata + wire_read_u16(p + fields + 8);
	if (wire_read_u16(p + fields + 2) != CLASS_ANY || wire_read_u32(p + fields + 4) != 0)
		return -1;
	t->offset = owner;
	t->key_len = dname_read(p, end, &owner, t->key);
	t->algorithm_len = dname_read(p, end, &rdata, t->algorithm);
	if (t->key_len == 0 || t->algorithm_len == 0)
		return -1;
	struct wire_reader rd;
	wire_reader_init(&rd, p + rdata, end - rdata);
	uint64_t time_high = wire_get_u16(&rd);
	t->time_signed = time_high << 32 | wire_get_u32(&rd);
	t->fudge = wire_get_u16(&rd);
	t->mac_len = wire_get_u16(&rd);
	t->mac = wire_get_bytes(&rd, t->mac_len);
	t->original_id = wire_get_u16(&rd);
	t->error = wire_get_u16(&rd);
	t->other_len = wire_get_u16(&rd);
	t->other = wire_get_bytes(&rd, t->other_len);
	return rd.error || wire_left(&rd) != 0 ? -1 : 0;
}

/* Walks the additional section for OPT (RFC 6891: at most one) and TSIG (RFC 8945:
 * only as the last record); -1 when either, or any record, is malformed. */
static int parse_additional(struct dns_query *q, size_t off, uint16_t count)
{
	const uint8_t *p = q->packet;
	for (uint16_t i = 0; i < count; i++) {
		size_t owner = off;
		if (dname_skip(p, q->packet_len, &off) < 0 || off + 10 > q->packet_len)
			return -1;
		uint16_t type = wire_read_u16(p + off);
		size_t end = off + 10 + wire_read_u16(p + off + 8);
		if (end > q->packet_len)
			return -1;
		if (type == TYPE_OPT && parse_opt(q, owner, off) < 0)
			return -1;
		if (type == TYPE_TSIG) {
			if (i + 1 != count || parse_tsig(q, owner, off) < 0)
				return -1;
			q->has_tsig = 1;
		}
		off = end;
	}
	return 0;
}

/* Reads the one question; 0, or -1 when it is not there. */
static int parse_question(struct dns_query *q, size_t *off)
{
	q->qname_len = dname_read_question(q->packet, q->packet_len, off, q->qname);
	if (q->qname_len == 0 || *off + 4 > q->packet_len)
		return -1;
	q->qtype = wire_read_u16(q->packet + *off);
	q->qclass = wire_read_u16(q->packet + *off + 2);
	*off += 4;
	q->question_end = *off;
	return 0;
}

/* The SOA an IXFR carries in its authority section: the secondary's serial. */
static int parse_ixfr_soa(struct dns_query *q, size_t *off)
{
	const uint8_t *p = q->packet;
	size_t len = q->packet_len;
	if (dname_skip(p, len, off) < 0 || *off + 10 > len || wire_read_u16(p + *off) != TYPE_SOA)
		return -1;
	size_t rdata = *off + 10, end = rdata + wire_read_u16(p + *off + 8);
	if (end > len || dname_skip(p, end, &rdata) < 0 || dname_skip(p, end, &rdata) < 0 ||
	    rdata + 20 != end)
		return -1;
	q->ixfr_serial = wire_read_u32(p + rdata);
	q->has_ixfr_serial = 1;
	*off = end;
	return 0;
}

/* Steps over questions we do not answer (QDCOUNT other than 1). */
static int skip_questions(const struct dns_query *q, size_t *off, unsigned count)
{
	for (unsigned i = 0; i < count; i++)
		if (dname_skip(q->packet, q->packet_len, off) < 0 || (*off += 4) > q->packet_len)
			return -1;
	return 0;
}

/* Every section is read, even of a query we refuse, so that an OPT is found and
 * echoed in the error answer too (RFC 6891 6.1.1). */
enum query_parse dns_query_parse(struct dns_query *q, const uint8_t *p, size_t len,
				 enum dns_transport transport)
{
	q->transport = transport;
	q->view = UINT32_MAX;  /* VIEW_ALL until the front knows the source (views.h) */
	q->packet = p;
	q->packet_len = len;
	q->id = 0;
	q->flags = 0;
	q->question_end = 0;
	q->has_edns = 0;
	q->edns_do = 0;
	q->has_tsig = 0;
	q->tsig_error = 0;
	q->tsig_key = NULL;
	q->has_ixfr_serial = 0;
	if (len < DNS_HEADER_SIZE)
		return QUERY_DROP;
	q->id = wire_read_u16(p);
	q->flags = wire_read_u16(p + 2);
	if (q->flags & DNS_FLAG_QR)
		return QUERY_DROP;  /* a response: answering it could start a loop */
	uint16_t qdcount = wire_read_u16(p + DNS_OFF_QDCOUNT);
	unsigned other_records = (unsigned)wire_read_u16(p + DNS_OFF_ANCOUNT) +
				 wire_read_u16(p + DNS_OFF_NSCOUNT);
	size_t off = DNS_HEADER_SIZE;
	int readable = (qdcount == 1 ? parse_question(q, &off) : skip_questions(q, &off, qdcount)) == 0;
	if (readable && q->question_end && q->qtype == TYPE_IXFR && other_records == 1 &&
	    wire_read_u16(p + DNS_OFF_NSCOUNT) == 1) {
		readable = parse_ixfr_soa(q, &off) == 0;
		other_records = 0;  /* RFC 1995 3: the one authority record an IXFR has */
	}
	readable = readable && skip_records(p, len, &off, other_records) == 0 &&
		   parse_additional(q, off, wire_read_u16(p + DNS_OFF_ARCOUNT)) == 0;
	if (!readable) {
		q->has_edns = 0;  /* an OPT we could not read is not echoed */
		q->has_tsig = 0;
	}
	if (DNS_OPCODE(q->flags) != 0)
		return QUERY_NOTIMP;
	if (q->question_end == 0)
		return QUERY_FORMERR_BARE;
	return readable && other_records == 0 ? QUERY_OK : QUERY_FORMERR;
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

void dns_query_answer_malformed(const struct dns_query *q, enum query_parse parsed, struct answer *a)
{
	if (log_enabled(LOG_DEBUG))
		log_debug("dns: malformed query (%s), %zu bytes",
			  parsed == QUERY_NOTIMP ? "NOTIMP" : "FORMERR", q->packet_len);
	dns_answer_init(a, parsed == QUERY_NOTIMP ? RCODE_NOTIMP : RCODE_FORMERR);
	/* Without a readable question the reply is the header (and OPT) alone. */
	a->header_only = parsed != QUERY_FORMERR;
	if (parsed == QUERY_NOTIMP && DNS_OPCODE(q->flags) == DNS_OPCODE_NOTIFY) {
		/* We are a primary: a NOTIFY to us is refused, as NSD refuses one (RFC 1996). */
		a->rcode = RCODE_REFUSED;
		a->header_only = q->question_end == 0;
	}
}

void dns_query_count(struct responder *r, const struct dns_query *q)
{
	r->metrics.queries[q->transport == DNS_TCP][metrics_qtype(q->qtype)]++;
}

void dns_query_answer(struct responder *r, const struct dns_query *q, int refused,
		      struct answer *a)
{
	dns_query_count(r, q);
	dns_answer_init(a, RCODE_NOERROR);
	if (refused) {
		a->rcode = RCODE_REFUSED;
		a->ede = EDE_PROHIBITED;
	} else if (q->has_edns && q->edns_version != 0) {
		a->rcode = RCODE_BADVERS;
	} else if (q->has_tsig && q->tsig_error) {
		/* BADKEY and BADSIG go out unsigned (RFC 8945 5.3.2); the front signs BADTIME. */
		a->rcode = RCODE_NOTAUTH;
		if (q->tsig_error != TSIG_BADTIME)
			a->tsig_error = q->tsig_error;
	} else if (q->qclass != CLASS_IN || q->qtype == TYPE_AXFR || q->qtype == TYPE_IXFR) {
		a->rcode = RCODE_REFUSED;
	} else {
		dns_answer_collect(r, q, a);
	}
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

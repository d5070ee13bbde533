/* dns_encode.c -- writing a collected answer within the client's size.
 *
 * Like NSD's encode_answer(): each record is written after a mark; when one does not
 * fit, the writer rewinds to the mark.  Additional data is dropped first; a cut in the
 * answer or authority section sets TC. */
#include <string.h>
#include <sys/socket.h>

#include "dns_answer_internal.h"
#include "tsig.h"
#include "views.h"
#include "weights.h"

const uint8_t *encode_instance_fqdn(const struct responder *r, const struct instance *inst,
				    uint8_t out[DNAME_MAX_WIRE])
{
	if (inst->wire_key_len + r->cfg->domain_len > DNAME_MAX_WIRE)
		return NULL;
	memcpy(out, inst->wire_key, inst->wire_key_len);
	memcpy(out + inst->wire_key_len, r->cfg->domain, r->cfg->domain_len);
	return out;
}

void encode_instance_record(struct responder *r, struct wire_writer *w, const uint8_t *owner,
			    uint16_t type, uint32_t ttl, const struct instance *inst, uint32_t view,
			    uint16_t srv_weight)
{
	size_t rdlen = wire_begin_rr(w, owner, type, ttl);
	uint8_t target[DNAME_MAX_WIRE];
	switch (type) {
	case TYPE_A:
		wire_put_bytes(w, instance_view_addr(inst, view), 4);
		break;
	case TYPE_AAAA:
		wire_put_bytes(w, instance_view_addr(inst, view), 16);
		break;
	case TYPE_TXT:
		if (inst->txt_len)
			wire_put_bytes(w, inst->txt, inst->txt_len);
		else
			wire_put_bytes(w, "", 1);  /* RFC 6763 6.1: one empty string, never no rdata */
		break;
	case TYPE_SRV:
		wire_put_u16(w, inst->priority);
		wire_put_u16(w, srv_weight);
		wire_put_u16(w, inst->port);
		/* RFC 2782: the target is never compressed, but later owners may point into it. */
		if (encode_instance_fqdn(r, inst, target))
			wire_put_name_uncompressed(w, target);
		else
			w->full = 1;
		break;
	}
	wire_end_rr(w, rdlen);
}

int encode_ptr(struct wire_writer *w, const uint8_t *owner, uint32_t ttl, const uint8_t *target,
	       uint16_t *records)
{
	struct wire_mark m = wire_mark(w);
	size_t rdlen = wire_begin_rr(w, owner, TYPE_PTR, ttl);
	wire_put_name(w, target);
	wire_end_rr(w, rdlen);
	if (!encode_record_fits(w, m))
		return -1;
	(*records)++;
	return 0;
}

int encode_record_fits(struct wire_writer *w, struct wire_mark m)
{
	if (!w->full)
		return 1;
	wire_rewind(w, m);
	return 0;
}

/* RFC 2181 5: an address that two instances share goes into an RRset once.  What is
 * compared is the address the view gives each (its own or an addr= one).  Asked only
 * for an instance that shares an address at all (instance.shares_address). */
static int address_written(struct instance *const *written, size_t count,
			   const struct instance *inst, uint32_t view, size_t len)
{
	const uint8_t *addr = instance_view_addr(inst, view);
	for (size_t i = 0; i < count; i++)
		if (memcmp(instance_view_addr(written[i], view), addr, len) == 0)
			return 1;
	return 0;
}

static void swap_candidates(struct answer_item *it, size_t i, size_t j)
{
	struct instance *inst = it->instances[j];
	it->instances[j] = it->instances[i];
	it->instances[i] = inst;
	if (it->weights) {
		uint32_t weight = it->weights[j];
		it->weights[j] = it->weights[i];
		it->weights[i] = weight;
	}
}

/* Writes it->instances[i] as the item's next record, unless it is an address already
 * written (RFC 2181 5).  1: written, 0: a duplicate, -1: it did not fit.  Inline: it
 * runs once a record, from both loops below. */
static inline int put_pick(struct responder *r, struct wire_writer *w, struct answer_item *it,
			   size_t i, uint32_t view, uint16_t *records)
{
	struct instance *pick = it->instances[i];
	if (pick->shares_address && (it->type == TYPE_A || it->type == TYPE_AAAA) &&
	    address_written(it->instances, i, pick, view, it->type == TYPE_A ? 4 : 16))
		return 0;
	uint16_t srv_weight = it->split_weights && it->weights ? (uint16_t)it->weights[i] : pick->weight;
	struct wire_mark m = wire_mark(w);
	encode_instance_record(r, w, it->owner, it->type, it->ttl, pick, view, srv_weight);
	if (!encode_record_fits(w, m))
		return -1;
	it->emitted = i + 1;
	(*records)++;
	return 1;
}

/* The weighted records of an item, each drawn by weight from those left (RFC 2782's
 * selection) through a weight tree over a copy of the candidates in the responder's
 * scratch: O(log n) a record.  Stops at the limit, when a record does not fit (-1), or
 * once the weights left are all 0.  Leaves it->instances a permutation of the
 * candidates: [0, *next) written (or tried), [*next, *left) not drawn, all of weight 0
 * unless the limit came first, [*left, n) duplicates. */
static int put_weighted(struct responder *r, struct wire_writer *w, struct answer_item *it,
			uint32_t view, uint16_t *records, size_t limit, size_t *next, size_t *left)
{
	size_t n = it->instance_count, i = 0, tail = n;
	struct instance **pool = r->scratch_pool;
	uint32_t *pool_weights = r->scratch_pool_weights;
	struct weight_tree tree;
	int rc = 0;
	memcpy(pool, it->instances, n * sizeof *pool);
	memcpy(pool_weights, it->weights, n * sizeof *pool_weights);
	weight_tree_build(&tree, r->scratch_tree, pool_weights, n);
	while (i < limit && tree.total > 0) {
		size_t j = weight_tree_draw(&tree, responder_random(r));
		weight_tree_take(&tree, j, pool_weights[j]);
		it->instances[i] = pool[j];
		it->weights[i] = pool_weights[j];
		pool[j] = NULL;  /* drawn: not among the rest below */
		rc = put_pick(r, w, it, i, view, records);
		if (rc == 0) {   /* a duplicate goes to the end, as in the uniform shuffle */
			it->instances[--tail] = it->instances[i];
			it->weights[tail] = it->weights[i];
			continue;
		}
		i++;
		if (rc < 0)
			break;
	}
	/* The candidates not drawn fill the gap, in their order. */
	for (size_t j = 0, k = i; j < n; j++) {
		if (!pool[j])
			continue;
		it->instances[k] = pool[j];
		it->weights[k++] = pool_weights[j];
	}
	*next = rc < 0 ? i - 1 : i;
	*left = tail;
	return rc < 0 ? -1 : 0;
}

/* A partial Fisher-Yates shuffle: each record written is a fresh random pick, so
 * whatever fits before truncation or the answer limit is a random subset; with
 * weights each pick is drawn by weight (put_weighted), so the order is weighted-random
 * and weight 0 comes last, shuffled.  The instances written end up first, in
 * it->instances[0 .. it->emitted). */
static int put_instances(struct responder *r, struct wire_writer *w, struct answer_item *it,
			 uint32_t view, uint16_t *records)
{
	size_t limit = it->emit_limit ? it->emit_limit : it->instance_count;
	size_t left = it->instance_count;  /* duplicates move past the end of this */
	size_t i = 0;
	if (it->weights && put_weighted(r, w, it, view, records, limit, &i, &left) < 0)
		return -1;
	while (i < limit && i < left) {
		swap_candidates(it, i, i + (size_t)(responder_random(r) % (left - i)));
		int rc = put_pick(r, w, it, i, view, records);
		if (rc < 0)
			return -1;
		if (rc == 0)
			swap_candidates(it, i, --left);
		else
			i++;
	}
	return 0;
}

static int put_item(struct responder *r, struct wire_writer *w, struct answer_item *it,
		    uint32_t view, uint16_t *records)
{
	const struct config *cfg = r->cfg;
	struct wire_mark m;
	switch (it->kind) {
	case ITEM_STATIC: {
		const uint8_t *p = it->rrset->rdata;
		for (uint16_t i = 0; i < it->rrset->count; i++) {
			size_t len = (size_t)p[0] << 8 | p[1];
			m = wire_mark(w);
			size_t rdlen = wire_begin_rr(w, it->owner, it->type, it->ttl);
			wire_put_bytes(w, p + 2, len);
			wire_end_rr(w, rdlen);
			if (!encode_record_fits(w, m))
				return -1;
			(*records)++;
			p += 2 + len;
		}
		return 0;
	}
	case ITEM_INSTANCES:
		return put_instances(r, w, it, view, records);
	case ITEM_PTR:
		for (size_t i = 0; i < it->instance_count; i++) {
			uint8_t target[DNAME_MAX_WIRE];
			if (encode_instance_fqdn(r, it->instances[i], target) &&
			    encode_ptr(w, it->owner, responder_instance_ttl(r, it->instances[i]), target, records) < 0)
				return -1;
		}
		return 0;
	case ITEM_INSTANCE_ADDRS:
		for (size_t i = 0; i < it->srv_item->emitted; i++) {
			const struct instance *inst = it->srv_item->instances[i];
			uint8_t owner[DNAME_MAX_WIRE];
			if (!encode_instance_fqdn(r, inst, owner))
				continue;
			m = wire_mark(w);
			encode_instance_record(r, w, owner, inst->family == AF_INET ? TYPE_A : TYPE_AAAA,
					    responder_instance_ttl(r, inst), inst, view, inst->weight);
			if (!encode_record_fits(w, m))
				return -1;
			(*records)++;
		}
		return 0;
	case ITEM_SOA: {
		m = wire_mark(w);
		size_t rdlen = wire_begin_rr(w, it->owner, TYPE_SOA, it->ttl);
		wire_put_name(w, cfg->ns.name);
		wire_put_name(w, cfg->soa.rname);
		wire_put_u32(w, r->reg->serial);
		wire_put_u32(w, cfg->soa.refresh);
		wire_put_u32(w, cfg->soa.retry);
		wire_put_u32(w, cfg->soa.expire);
		wire_put_u32(w, cfg->soa.minimum);
		wire_end_rr(w, rdlen);
		if (!encode_record_fits(w, m))
			return -1;
		(*records)++;
		return 0;
	}
	case ITEM_NS: {
		m = wire_mark(w);
		size_t rdlen = wire_begin_rr(w, it->owner, TYPE_NS, it->ttl);
		wire_put_name(w, cfg->ns.name);
		wire_end_rr(w, rdlen);
		if (!encode_record_fits(w, m))
			return -1;
		(*records)++;
		return 0;
	}
	case ITEM_DNSSD_TYPES:
	case ITEM_DNSSD_PTR:
	case ITEM_DNSSD_EXTRAS:
	case ITEM_DNSSD_DOMAIN:
		return dnssd_put_item(r, w, it, view, records);
	case ITEM_NS_ADDRS:
		for (int i = 0; i < cfg->ns.addr_count; i++) {
			const struct ns_address *addr = &cfg->ns.addrs[i];
			uint16_t type = addr->family == AF_INET ? TYPE_A : TYPE_AAAA;
			if (it->type && it->type != type)
				continue;
			m = wire_mark(w);
			size_t rdlen = wire_begin_rr(w, it->owner, type, it->ttl);
			wire_put_bytes(w, addr->addr, type == TYPE_A ? 4 : 16);
			wire_end_rr(w, rdlen);
			if (!encode_record_fits(w, m))
				return -1;
			(*records)++;
		}
		return 0;
	}
	return 0;
}

/* The response's flags: QR; opcode, RD and CD copied from the query; AA and TC ours;
 * RA whenever we recurse for clients (forwarders configured), on every response. */
static uint16_t response_flags(const struct responder *r, const struct dns_query *q,
			       const struct answer *a, int truncated)
{
	uint16_t flags = (uint16_t)(DNS_FLAG_QR | (q->flags & DNS_FLAGS_FROM_QUERY) |
				    (a->rcode & DNS_RCODE_MASK));
	if (a->authoritative)
		flags |= DNS_FLAG_AA;
	if (truncated)
		flags |= DNS_FLAG_TC;
	if (r->cfg->forward_count > 0)
		flags |= DNS_FLAG_RA;
	return flags;
}

/* What closes every answer: OPT for an EDNS query, then an error TSIG. */
static size_t trailer_size(const struct dns_query *q, const struct answer *a)
{
	return (q->has_edns ? wire_opt_size(a->ede) : 0) +
	       (a->tsig_error ? wire_tsig_error_size(&q->tsig) :
		q->tsig_key ? tsig_signed_size(q->tsig_key) : 0);
}

static uint16_t put_trailer(struct responder *r, struct wire_writer *w, const struct dns_query *q,
			    const struct answer *a)
{
	uint16_t records = 0;
	if (q->has_edns) {
		wire_put_opt(w, (uint16_t)r->cfg->max_udp_payload, a->rcode, q->edns_do, a->ede);
		records++;
	}
	if (a->tsig_error) {
		wire_put_tsig_error(w, &q->tsig, a->tsig_error);
		records++;
	}
	return records;
}

size_t dns_answer_encode(struct responder *r, const struct dns_query *q, struct answer *a,
			 uint8_t *out, size_t limit)
{
	struct wire_writer w;
	uint16_t counts[SECTION_COUNT] = { 0, 0, 0 };
	int truncated = a->truncated;

	/* Room for the trailer is kept back so that truncation never drops it. */
	wire_init(&w, out, limit - trailer_size(q, a));
	w.len = DNS_HEADER_SIZE;
	if (a->header_only) {
		w.limit = limit;
		uint16_t trailer = put_trailer(r, &w, q, a);
		wire_put_header(out, q->id, response_flags(r, q, a, 0), 0, 0, 0, trailer);
		return w.len;
	}
	wire_put_bytes(&w, q->packet + DNS_HEADER_SIZE, q->question_end - DNS_HEADER_SIZE);
	wire_learn_name(&w, DNS_HEADER_SIZE);

	for (int s = 0; s < SECTION_COUNT && !truncated; s++) {
		for (int i = 0; i < a->item_count[s]; i++) {
			if (put_item(r, &w, &a->items[s][i], a->view, &counts[s]) < 0) {
				/* Additional data is optional: dropping it is not truncation. */
				truncated = s != SECTION_ADDITIONAL;
				break;
			}
		}
	}
	w.limit = limit;
	uint16_t trailer = put_trailer(r, &w, q, a);
	wire_put_header(out, q->id, response_flags(r, q, a, truncated), 1, counts[SECTION_ANSWER],
			counts[SECTION_AUTHORITY], (uint16_t)(counts[SECTION_ADDITIONAL] + trailer));
	return w.len;
}

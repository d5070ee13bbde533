/* dns_answer_internal.h -- the pieces of dns_answer.c and dns_encode.c that dnssd.c
 * builds on (private to those three files). */
#ifndef SVCDNS_DNS_ANSWER_INTERNAL_H
#define SVCDNS_DNS_ANSWER_INTERNAL_H

#include "dns_answer.h"
#include "dns_wire.h"

/* Which instances of a service a name asks for: the client's view, and for
 * TAG.SERVICE.D (or a DNS-SD subtype) the instances that carry the tag. */
struct subset {
	uint32_t view;
	const char *tag;              /* NULL: every instance */
	size_t tag_len;
};

/* dns_answer.c */
struct answer_item *answer_add_item(struct answer *a, enum answer_section s, enum item_kind kind,
				    const uint8_t *owner, uint16_t type, uint32_t ttl);
/* The answerable instances of a service (live, of proto (-1: any), in the subset; health
 * withholds, fail-open) into r->scratch; returns how many, *ttl the lowest TTL. */
size_t answer_candidates(struct responder *r, const struct service *svc, int proto,
			 const struct subset *sub, uint32_t *ttl);
/* Whether the service has a live instance of proto (-1: any) in the subset. */
int answer_service_has_live(const struct responder *r, const struct service *svc, int proto,
			    const struct subset *sub);
/* Adds one instance's record (A/AAAA, TXT, SRV) at owner, from r->scratch[0]; SRV brings
 * its target's address as additional data. */
int answer_one_instance(struct responder *r, struct answer *a, const uint8_t *owner,
			struct instance *inst, uint16_t type);

/* dns_encode.c */
/* INSTANCE.SERVICE.D as a wire name, or NULL when it does not fit. */
const uint8_t *encode_instance_fqdn(const struct responder *r, const struct instance *inst,
				    uint8_t out[DNAME_MAX_WIRE]);
/* One record of an instance at owner: its address as the view has it, its TXT (one empty
 * string when it has none, RFC 6763 6.1), or its SRV with srv_weight. */
void encode_instance_record(struct responder *r, struct wire_writer *w, const uint8_t *owner,
			    uint16_t type, uint32_t ttl, const struct instance *inst, uint32_t view,
			    uint16_t srv_weight);
/* After writing a record: when it did not fit, takes it back and returns 0. */
int encode_record_fits(struct wire_writer *w, struct wire_mark m);
/* One PTR record (counted in *records); 0, or -1 when it did not fit. */
int encode_ptr(struct wire_writer *w, const uint8_t *owner, uint32_t ttl, const uint8_t *target,
	       uint16_t *records);

/* dnssd.c: answers and records of DNS-SD browsing (RFC 6763) */
/* Answers the names of browsing with 2 to 4 labels before the domain: returns 1 when the
 * name exists for this client, 0 when it is none of them (or unseen), -1 when it is not
 * a browsing name at all. */
int dnssd_answer(struct responder *r, struct answer *a, const uint8_t *name, size_t rel_len,
		 uint16_t qtype);
/* Writes an ITEM_DNSSD_* item; 0, or -1 when a record did not fit. */
int dnssd_put_item(struct responder *r, struct wire_writer *w, struct answer_item *it, uint32_t view,
		   uint16_t *records);

#endif

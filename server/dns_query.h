/* dns_query.h -- one DNS query's stages with no socket in sight: parse, answer, encode.
 *
 * dns_front.c drives them in its documented order; nothing here allocates once the
 * responder's scratch space has grown. */
#ifndef SVCDNS_DNS_QUERY_H
#define SVCDNS_DNS_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "dname.h"
#include "dns_wire.h"
#include "metrics.h"
#include "registry.h"
#include "zones.h"

enum dns_transport { DNS_UDP, DNS_TCP };

/* Everything a query is answered from, plus per-thread scratch space. */
struct responder {
	const struct config *cfg;
	const struct registry *reg;
	const struct zone_set *zones;
	int64_t now_ms;               /* monotonic time of the current batch, for leases */
	uint64_t rng;                 /* xorshift state for shuffling */
	struct instance **scratch;    /* the instances of one answer, shuffled in place */
	uint32_t *scratch_weights;    /* their effective weights, when weighted (weights.h) */
	struct instance **scratch_pool; /* a weighted answer's candidates by tree position (dns_encode.c) */
	uint32_t *scratch_pool_weights; /* ... and their weights */
	uint64_t *scratch_tree;       /* the weight tree over them: WEIGHT_TREE_STORAGE(capacity) sums */
	size_t scratch_capacity;      /* of each */
	struct dns_metrics metrics;
};

/* The parsed header, question and EDNS of a query. */
struct dns_query {
	const uint8_t *packet;
	size_t packet_len;
	uint16_t id;
	uint16_t flags;
	uint8_t qname[DNAME_MAX_WIRE];  /* lowercase; the packet keeps the client's case */
	size_t qname_len;
	size_t question_end;            /* offset just past the question */
	uint16_t qtype, qclass;
	int has_edns;                   /* a well-formed OPT: every answer carries ours */
	uint8_t edns_version;
	uint16_t edns_udp_size;
	int edns_do;                    /* DO, copied into the answer (RFC 3225 3) */
	int has_tsig;                   /* a well-formed TSIG, the last additional record */
	struct dns_tsig tsig;
	uint16_t tsig_error;            /* set by the front: 0 verified, else a TSIG error */
	const struct tsig_key *tsig_key;  /* set by the front: the key that verified it */
	int has_ixfr_serial;            /* IXFR: the secondary's SOA in the authority section */
	uint32_t ixfr_serial;
	enum dns_transport transport;
	uint32_t view;                  /* the source's networks (views.h); VIEW_ALL: sees all */
};

/* What parsing made of a packet. */
enum query_parse {
	QUERY_OK,
	QUERY_DROP,           /* too short for a header, or a response (QR=1) */
	QUERY_FORMERR_BARE,   /* no readable question: FORMERR with the header (and OPT) alone */
	QUERY_FORMERR,        /* a readable question, broken elsewhere */
	QUERY_NOTIMP,         /* an opcode other than QUERY */
};

struct answer;
/* Sets up a responder over the given data; returns 0 or -1. */
int responder_init(struct responder *r, const struct config *cfg, const struct registry *reg,
		   const struct zone_set *zones);
void responder_free(struct responder *r);
/* The next number of the responder's xorshift generator (answer shuffling). */
uint64_t responder_random(struct responder *r);
/* The TTL of an instance's records: the configured TTL, never past its lease. */
uint32_t responder_instance_ttl(const struct responder *r, const struct instance *inst);
/* Reads header, question and OPT straight from the packet into q (no copy of the
 * packet: q points into it). */
enum query_parse dns_query_parse(struct dns_query *q, const uint8_t *packet, size_t len,
				 enum dns_transport transport);
/* Counts a query in the metrics by transport and type. */
void dns_query_count(struct responder *r, const struct dns_query *q);
/* Decides the answer to a parsed query, REFUSED when refused (allow-query); counts the
 * query.  a->outside_zones tells the front the name is one to forward. */
void dns_query_answer(struct responder *r, const struct dns_query *q, int refused,
		      struct answer *a);
/* Sets a to the answer a malformed query gets (parse result other than OK and DROP). */
void dns_query_answer_malformed(const struct dns_query *q, enum query_parse parsed, struct answer *a);
/* Encodes a into out within the client's size (and out_cap), counts its rcode and TC,
 * and returns its length.  slip: header and question only, TC set (RRL). */
size_t dns_query_encode(struct responder *r, const struct dns_query *q, struct answer *a,
			int slip, uint8_t *out, size_t out_cap);
/* The largest answer the client takes: 512 without EDNS, its EDNS size up to our own
 * max-udp-payload over UDP; 65535 over TCP. */
size_t dns_query_size_limit(const struct config *cfg, const struct dns_query *q);

#endif

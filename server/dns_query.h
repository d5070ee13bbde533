/* dns_query.h -- one DNS query from bytes in to bytes out, with no socket in sight.
 *
 * The listeners (UDP, TCP), the unit tests and the fuzzers all call
 * dns_query_process(); it never allocates once the scratch space has grown. */
#ifndef SVCDNS_DNS_QUERY_H
#define SVCDNS_DNS_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "dname.h"
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
	size_t scratch_capacity;
	int forward;                  /* the last query is for upstream: it got REFUSED, which
					 the listener sends only when it cannot forward */
	uint8_t last_rcode;           /* full rcode of the last answer (BADVERS is 16) */
	int refuse_query;             /* set by the listener: the client is not in allow-query */
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
	int has_edns;
	uint8_t edns_version;
	uint16_t edns_udp_size;
	enum dns_transport transport;
};

/* Cuts an answer down to header and question with TC set (RRL slip); returns its length. */
size_t dns_answer_truncate(uint8_t *answer, size_t len);
/* Sets up a responder over the given data; returns 0 or -1. */
int responder_init(struct responder *r, const struct config *cfg, const struct registry *reg,
		   const struct zone_set *zones);
void responder_free(struct responder *r);
/* Answers one query into out (out_cap >= 65535 for TCP, >= max UDP payload for UDP).
 * Returns the answer length, or 0 when the packet must be dropped silently. */
size_t dns_query_process(struct responder *r, const uint8_t *packet, size_t len,
			 enum dns_transport transport, uint8_t *out, size_t out_cap);

#endif

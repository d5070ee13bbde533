/* zone_records.h -- the service domain as a zone: exactly the records svcdns answers,
 * each once, with the answer TTL, as transfers send them (AXFR) and the journal
 * records their changes (IXFR).  Per-client shaping (shuffling, answer-limit, lease
 * TTLs) is never part of it. */
#ifndef SVCDNS_ZONE_RECORDS_H
#define SVCDNS_ZONE_RECORDS_H

#include "config.h"
#include "registry.h"
#include "zone_journal.h"
#include "zones.h"

/* Called for each record; a nonzero return stops the walk and is returned. */
typedef int (*zone_rr_fn)(void *arg, const struct zone_rr *rr);

/* What the service domain is made of. */
struct zone_source {
	const struct config *cfg;
	const struct registry *reg;
	const struct zone *static_part;   /* the service domain's zone file, or NULL */
};

/* The records one instance puts into the zone: INSTANCE.SERVICE.D A/AAAA and TXT,
 * SERVICE.D SRV, _SERVICE._PROTO.D SRV, and SERVICE.D A/AAAA unless another instance
 * of the service has the same address (RFC 2181 5: that record is there once). */
int zone_instance_records(const struct zone_source *src, const struct instance *inst,
			  zone_rr_fn fn, void *arg);
/* The service domain's SOA record, at the given serial. */
int zone_soa_record(const struct config *cfg, uint32_t serial, zone_rr_fn fn, void *arg);
/* Every record of the service domain but the SOA: NS, the NS name's addresses, the
 * zone file's records and every instance's. */
int zone_walk_service_domain(const struct zone_source *src, zone_rr_fn fn, void *arg);
/* Every record of a static zone but its SOA. */
int zone_walk_static(const struct zone *z, zone_rr_fn fn, void *arg);
/* Every record of a static zone's SOA RRset (there is one). */
int zone_static_soa(const struct zone *z, zone_rr_fn fn, void *arg);

#endif

/* zone_versions.h -- the service domain's versions: registry changes grouped at most
 * every 100 ms, each version a new SOA serial (serial.c) and an entry of the IXFR
 * journal; whoever must hear of a version (NOTIFY) is told once it exists. */
#ifndef SVCDNS_ZONE_VERSIONS_H
#define SVCDNS_ZONE_VERSIONS_H

#include <event2/event.h>

#include "zone_journal.h"
#include "zone_records.h"

#define ZONE_VERSION_INTERVAL_MS 100
#define ZONE_PENDING_MAX (1 << 20)   /* a version's changes kept for IXFR, in bytes */

typedef void (*zone_version_fn)(void *arg, uint32_t serial);

struct zone_versions {
	struct registry *reg;          /* its serial is the current version's */
	struct zone_source src;
	struct zone_journal journal;
	struct event *commit_timer;
	int64_t last_commit_ms;        /* monotonic */
	zone_version_fn on_version;
	void *on_version_arg;
	uint32_t (*serial_fn)(void *arg); /* etcd mode: the serial of the data; NULL: time-based */
	void *serial_arg;
};

/* Starts at the serial of the current time (or the registry's, if that comes later)
 * and follows the registry's changes from now on; 0 or -1. */
int zone_versions_init(struct zone_versions *v, struct event_base *base, struct registry *reg,
		       const struct zone_source *src, size_t max_versions, size_t max_bytes);
void zone_versions_free(struct zone_versions *v);
/* Names the one function told of every new version's serial. */
void zone_versions_listen(struct zone_versions *v, zone_version_fn fn, void *arg);
/* etcd mode: each version's serial comes from fn (serial-base + revision), the same on
 * every node for the same data. */
void zone_versions_serial_source(struct zone_versions *v, uint32_t (*fn)(void *arg), void *arg);
/* Makes pending changes a version now (a transfer starts: it must see one version). */
void zone_versions_commit(struct zone_versions *v);
/* A reload: new config and zone file, journal limits; the zone changed in ways the
 * journal does not record, so the history restarts with a new version. */
void zone_versions_reload(struct zone_versions *v, const struct zone_source *src,
			  size_t max_versions, size_t max_bytes);

#endif

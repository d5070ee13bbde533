/* zone_journal.h -- the IXFR history of the service domain: versions and what each
 * changed, as records removed and added (RFC 1995), trimmed by count and bytes.
 *
 * Records are kept in one compact form, a zone_rr: owner, type and rdata, no TTL (a
 * transferred record always carries the answer TTL).  The registry's changes collect
 * as pending until a commit makes them a version; changes that cancel out (a
 * re-registration with the same data) make none. */
#ifndef SVCDNS_ZONE_JOURNAL_H
#define SVCDNS_ZONE_JOURNAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

/* One record of the zone, pointing into a journal buffer. */
struct zone_rr {
	const uint8_t *owner;   /* lowercase wire name */
	uint16_t type;
	uint32_t ttl;           /* not kept in the journal: registry records carry the answer TTL */
	const uint8_t *rdata;
	uint16_t rdlen;
};

/* A growable buffer of encoded zone_rrs. */
struct rr_buffer {
	uint8_t *data;
	size_t len, cap;
	size_t count;
};

struct zone_version {
	TAILQ_ENTRY(zone_version) link;
	uint32_t from, to;            /* the serials before and after */
	struct rr_buffer removed, added;
};

struct zone_journal {
	TAILQ_HEAD(zone_version_list, zone_version) versions;  /* oldest first */
	size_t version_count;
	size_t bytes;                 /* of every version's records */
	size_t max_versions, max_bytes;
	struct rr_buffer pending;     /* every change since the last commit, in order */
	uint8_t *pending_added;       /* per pending record: 1 added, 0 removed */
	size_t pending_added_cap;
	size_t max_pending;           /* bytes of pending changes kept; past it, no history */
	int broken;                   /* a change was not kept (too many, or out of memory) */
};

/* The difference between two serials, condensed: each record at most once. */
struct zone_diff {
	struct rr_buffer removed, added;
};

/* An empty journal keeping max_versions versions and max_bytes of their records; one
 * version's changes are kept up to max_pending bytes (0 with max_versions 0: none). */
void zone_journal_init(struct zone_journal *j, size_t max_versions, size_t max_bytes,
		       size_t max_pending);
void zone_journal_free(struct zone_journal *j);
/* Records that a change of the zone removed (added = 0) or added a record. */
void zone_journal_record(struct zone_journal *j, int added, const struct zone_rr *rr);
/* Whether the next change's records are kept (history is wanted and not lost yet). */
int zone_journal_keeps(const struct zone_journal *j);
/* Records that the zone changed without keeping how: the next commit drops the history. */
void zone_journal_lose(struct zone_journal *j);
/* Whether changes wait for a commit. */
int zone_journal_pending(const struct zone_journal *j);
/* Makes the pending changes the version from -> to.  Returns 1 when it changed the zone,
 * 0 when the changes cancelled out (no version).  When a change was not kept (more
 * than max_pending bytes of them, or out of memory) the history is dropped instead,
 * every older serial gets a full transfer, and 1 is returned. */
int zone_journal_commit(struct zone_journal *j, uint32_t from, uint32_t to);
/* A version from -> to that changes no record, only the serial (etcd mode: a revision
 * that touched nothing in the zone), so IXFR from an older serial still works. */
void zone_journal_mark(struct zone_journal *j, uint32_t from, uint32_t to);
/* Drops every version and pending change: older serials get full transfers. */
void zone_journal_reset(struct zone_journal *j);
/* The condensed difference from serial from to the newest version.  Returns 0, or -1
 * when from is not in the journal (or out of memory): a full transfer is due. */
int zone_journal_diff(const struct zone_journal *j, uint32_t from, struct zone_diff *d);
void zone_diff_free(struct zone_diff *d);

/* Appends a record to a buffer; -1 when out of memory. */
int rr_buffer_add(struct rr_buffer *b, const struct zone_rr *rr);
/* Reads the record at *pos and steps past it; 0 at the end. */
int rr_buffer_next(const struct rr_buffer *b, size_t *pos, struct zone_rr *rr);
void rr_buffer_free(struct rr_buffer *b);

#endif

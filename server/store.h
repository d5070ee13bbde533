/* store.h -- the shared registry on etcd (--store etcd://...): what the registrar asks of it.
 *
 * etcd holds what changes (instances, their owner, splits, node membership); the nodes hold who is
 * alive (leases in the owner's memory).  Writes are one txn each and complete only once
 * committed on a majority and seen by this node's watch, so an OK means every later
 * answer from this node has the change.  The cache (the registry) follows etcd through
 * struct store_events; answers never wait for etcd. */
#ifndef SVCDNS_STORE_H
#define SVCDNS_STORE_H

#include <event2/event.h>
#include <stdint.h>

#include "config.h"
#include "store_codec.h"

struct store;

/* How the cache follows etcd (registrar_store.c). */
struct store_events {
	/* An instance record was written at mod_revision. */
	void (*put)(void *arg, const struct store_record *rec, int64_t mod_revision);
	/* An instance's key was deleted. */
	void (*remove)(void *arg, const char *service, const char *instance);
	/* A service's split was written (sp's service is set), or its key deleted. */
	void (*split_put)(void *arg, const struct split *sp);
	void (*split_remove)(void *arg, const char *service);
	/* A full range follows (start-up, compaction): after resync_end(complete 1), whatever
	 * was not put since resync_begin is gone (instances and splits); complete 0: the range failed, keep all. */
	void (*resync_begin)(void *arg);
	void (*resync_end)(void *arg, int complete);
	/* The cache caught up with a newer revision (after the changes of it were told). */
	void (*advanced)(void *arg);
	/* The live nodes changed, or the session came (back): adopt what is orphaned. */
	void (*members)(void *arg);
	void *arg;
};

/* Completion of a write: code 0 (committed, and applied to the cache), 409 (the compare
 * failed: someone else changed it first), or 503 with reason. */
typedef void (*store_done_fn)(void *arg, int code, const char *reason);

/* Connects, authenticates, starts the node's session and the first full sync; the loop
 * must run for any of it to happen.  NULL with err set when the settings are unusable. */
struct store *store_open(struct event_base *base, const struct config *cfg, const struct store_events *ev,
			 char err[CONFIG_ERROR_MAX]);
/* Runs the loop until the first contact ended: 0 (session up, or etcd unreachable: it keeps
 * trying and writes get ERR 503), or -1 after logging a fatal error (wrong password, an
 * untrusted certificate). */
int store_wait_first_contact(struct store *s);
/* Ends every call (their writes complete with 503), revokes nothing: the node's lease
 * runs out by itself and the others adopt its instances. */
void store_free(struct store *s);
/* NULL when writes may go, else why not (session lost for store-timeout or longer, not
 * synced yet). */
const char *store_unavailable(const struct store *s);
/* Whether the first full sync is done (before it the service domain answers SERVFAIL). */
int store_synced(const struct store *s);
/* This node's id. */
const char *store_self(const struct store *s);
/* Whether a node id has a membership record. */
int store_member_live(const struct store *s, const char *node_id);
/* The live node that should adopt an orphaned instance (rendezvous hashing). */
const char *store_adopter(const struct store *s, const char *service, const char *instance);
/* serial-base + the revision the cache has applied, mod 2^32. */
uint32_t store_serial(const struct store *s);
/* Writes an instance record; expect_mod_revision > 0 makes it a compare-and-swap. */
void store_put(struct store *s, const struct store_record *rec, int64_t expect_mod_revision,
	       store_done_fn done, void *arg);
/* Deletes an instance's key; expect_mod_revision > 0 makes it conditional. */
void store_remove(struct store *s, const char *service, const char *instance, int64_t expect_mod_revision,
		  store_done_fn done, void *arg);

/* Writes a service's split, or deletes its key when sp has no shares. */
void store_put_split(struct store *s, const struct split *sp, store_done_fn done, void *arg);

/* Counters for /metrics. */
struct store_metrics {
	uint64_t txns, txn_failures, watch_events, resyncs, watch_restarts;
	int64_t revision;
};
const struct store_metrics *store_get_metrics(const struct store *s);

#endif

/* state.h -- durable registrations: a write-ahead journal with group commit,
 * compacted atomically (temp file, fsync, rename).
 *
 * Every change is appended (write(2)) before it is applied, so a full disk is
 * seen at once and the change refused; state_commit() makes everything appended
 * since the last commit durable with one fsync, after which the server may send
 * the OK replies that waited for it.  Lease ends are stored as wall-clock times
 * so that a restart keeps each lease's remaining time. */
#ifndef SVCDNS_STATE_H
#define SVCDNS_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "registry.h"

#define STATE_ERROR_MAX 512

struct state;

/* What replay hands back, record by record, in journal order. */
struct state_replay_ops {
	/* An instance was put; spec->expires_ms holds the lease end in wall-clock ms. */
	int (*put)(void *arg, const struct instance_spec *spec, const char *key_name);
	/* A lease was renewed to a new wall-clock end. */
	int (*renew)(void *arg, const char *service, const char *instance, int64_t expires_wall_ms);
	/* An instance was deregistered. */
	int (*remove)(void *arg, const char *service, const char *instance);
	void *arg;
	/* A split was set, or cleared (no shares); NULL: splits are skipped. */
	int (*split)(void *arg, const struct split *sp);
};

/* Opens (creating if needed) the state file and replays it through ops. A corrupt or
 * truncated tail is reported with log_warn, cut off, and everything before it kept.
 * Returns NULL with err set when the file cannot be opened or written. */
struct state *state_open(const char *path, const struct state_replay_ops *ops, char err[STATE_ERROR_MAX]);
/* Flushes and closes. */
void state_close(struct state *st);
/* Appends a record; returns 0, or -1 with errno set (ENOSPC, EIO, ...) when it could not
 * be written, in which case the caller must refuse the change. */
int state_append_put(struct state *st, const struct instance_spec *spec, int64_t expires_wall_ms,
		     const char *key_name);
int state_append_renew(struct state *st, const char *service, const char *instance,
		       int64_t expires_wall_ms);
int state_append_remove(struct state *st, const char *service, const char *instance);
int state_append_split(struct state *st, const struct split *sp);
/* Makes every record appended so far durable (one fsync); 0, or -1 with errno. */
int state_commit(struct state *st);
/* True when there are appended records not yet committed. */
int state_dirty(const struct state *st);
/* True when the journal has grown enough that compaction would pay off (and none runs). */
int state_wants_compaction(const struct state *st);
/* Rewrites the file as one put record per live, non-static instance of the registry,
 * and one split record per split not from the config
 * (temp file, fsync, rename, fsync of the directory) and continues appending to it.
 * wall_minus_mono_ms converts the registry's monotonic lease ends to wall-clock time;
 * key_name(arg, owner_key) gives the key name stored with each instance (NULL: none). */
int state_compact(struct state *st, struct registry *reg, int64_t wall_minus_mono_ms,
		  const char *(*key_name)(void *arg, uint16_t owner_key), void *arg);
/* The same, out of the loop's way (Redis's BGREWRITEAOF): a forked child writes the image
 * from its copy-on-write snapshot of reg into the temp file and fsyncs it, while appends
 * and commits go on to the old file (so an OK stays durable) and are kept in memory too.
 * Call between changes; returns 0 (started, or one already running) or -1 with errno. */
int state_compact_start(struct state *st, struct registry *reg, int64_t wall_minus_mono_ms,
			const char *(*key_name)(void *arg, uint16_t owner_key), void *arg);
/* Finishes a background compaction whose child has exited: appends the records kept since
 * the fork to its file, fsyncs, renames it over the state file and fsyncs the directory.
 * Returns 1 when the new file is in place, 0 when none ended (none running, or still
 * running), -1 with errno when it failed (the old file stays, a later one may retry). */
int state_compact_poll(struct state *st);
/* True while a background compaction's child runs. */
int state_compacting(const struct state *st);

#endif

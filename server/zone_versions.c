/* zone_versions.c -- grouping registry changes into versions of the zone.
 *
 * The registry tells us of each instance's records entering or leaving the zone; they
 * collect in the journal as pending.  The first change after a quiet spell arms a
 * timer for 100 ms after the previous version, so a burst of registrations becomes one
 * version and one NOTIFY, and a lone change is out within 100 ms. */
#include <string.h>
#include <sys/time.h>

#include "clock.h"
#include "serial.h"
#include "zone_versions.h"

static int64_t wall_ms(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void new_version(struct zone_versions *v, uint32_t serial)
{
	v->reg->serial = serial;
	if (v->on_version)
		v->on_version(v->on_version_arg, serial);
}

void zone_versions_commit(struct zone_versions *v)
{
	event_del(v->commit_timer);
	int pending = zone_journal_pending(&v->journal);
	uint32_t from = v->reg->serial, to;
	if (v->serial_fn) {
		to = v->serial_fn(v->serial_arg);
		if (!pending && to == from)
			return;
		if (to == from)
			to = from + 1;  /* a change etcd did not make (a reload's static instances) */
	} else {
		if (!pending)
			return;
		to = serial_next(from, wall_ms());
	}
	v->last_commit_ms = monotonic_ms();
	if (pending && zone_journal_commit(&v->journal, from, to) == 1) {
		new_version(v, to);
	} else if (v->serial_fn) {
		/* etcd moved on without changing the zone (a split, a node, a resync): the serial
		 * follows the revision anyway, so every node has the same one for the same data */
		zone_journal_mark(&v->journal, from, to);
		new_version(v, to);
	}
}

static void on_commit_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what;
	zone_versions_commit(arg);
}

struct change_ctx {
	struct zone_versions *v;
	int added;
};

static int record_signed(void *arg, const struct zone_rr *rr)
{
	struct change_ctx *c = arg;
	zone_journal_record(&c->v->journal, c->added, rr);
	return 0;
}

/* inst NULL: the data's source moved on without a change (registry_touch). */
static void on_change(void *arg, const struct instance *inst, int added)
{
	struct zone_versions *v = arg;
	struct change_ctx c = { v, added };
	if (inst && zone_journal_keeps(&v->journal))
		zone_instance_records(&v->src, inst, record_signed, &c);
	else if (inst)
		zone_journal_lose(&v->journal);  /* no history to keep: only "it changed" */
	if (evtimer_pending(v->commit_timer, NULL))
		return;
	int64_t wait = v->last_commit_ms + ZONE_VERSION_INTERVAL_MS - monotonic_ms();
	if (wait < 0)
		wait = 0;
	struct timeval tv = { (time_t)(wait / 1000), (suseconds_t)(wait % 1000) * 1000 };
	evtimer_add(v->commit_timer, &tv);
}

int zone_versions_init(struct zone_versions *v, struct event_base *base, struct registry *reg,
		       const struct zone_source *src, size_t max_versions, size_t max_bytes)
{
	memset(v, 0, sizeof *v);
	v->reg = reg;
	v->src = *src;
	zone_journal_init(&v->journal, max_versions, max_bytes, ZONE_PENDING_MAX);
	v->commit_timer = evtimer_new(base, on_commit_timer, v);
	if (!v->commit_timer)
		return -1;
	/* The clock's serial: above any this zone had before a restart, state file or not. */
	reg->serial = serial_from_time(wall_ms());
	registry_set_change_hook(reg, on_change, v);
	return 0;
}

void zone_versions_free(struct zone_versions *v)
{
	if (v->reg)
		registry_set_change_hook(v->reg, NULL, NULL);
	if (v->commit_timer)
		event_free(v->commit_timer);
	zone_journal_free(&v->journal);
	memset(v, 0, sizeof *v);
}

void zone_versions_serial_source(struct zone_versions *v, uint32_t (*fn)(void *arg), void *arg)
{
	v->serial_fn = fn;
	v->serial_arg = arg;
}

void zone_versions_listen(struct zone_versions *v, zone_version_fn fn, void *arg)
{
	v->on_version = fn;
	v->on_version_arg = arg;
}

void zone_versions_reload(struct zone_versions *v, const struct zone_source *src,
			  size_t max_versions, size_t max_bytes)
{
	event_del(v->commit_timer);
	zone_journal_free(&v->journal);
	zone_journal_init(&v->journal, max_versions, max_bytes, ZONE_PENDING_MAX);
	v->src = *src;
	v->last_commit_ms = monotonic_ms();
	new_version(v, serial_next(v->reg->serial, wall_ms()));
}

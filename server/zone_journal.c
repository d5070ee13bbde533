/* zone_journal.c -- the IXFR history: versions of removed and added records, condensed.
 *
 * Condensing counts each record's changes: +1 for an addition, -1 for a removal.  A
 * record whose count ends at 0 (added, then removed again) is no change at all.  That
 * turns any run of versions, or the pending changes of one, into a single difference
 * in which each record appears once. */
#include <stdlib.h>
#include <string.h>

#include "dname.h"
#include "htable.h"
#include "zone_journal.h"

/* ---- record buffers: [owner length][owner][type][rdlength][rdata] ---- */

int rr_buffer_add(struct rr_buffer *b, const struct zone_rr *rr)
{
	size_t owner_len = dname_length(rr->owner);
	size_t need = 1 + owner_len + 4 + rr->rdlen;
	if (b->len + need > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 4096;
		while (cap < b->len + need)
			cap *= 2;
		uint8_t *grown = realloc(b->data, cap);
		if (!grown)
			return -1;
		b->data = grown;
		b->cap = cap;
	}
	uint8_t *p = b->data + b->len;
	*p++ = (uint8_t)owner_len;
	memcpy(p, rr->owner, owner_len);
	p += owner_len;
	*p++ = (uint8_t)(rr->type >> 8);
	*p++ = (uint8_t)rr->type;
	*p++ = (uint8_t)(rr->rdlen >> 8);
	*p++ = (uint8_t)rr->rdlen;
	memcpy(p, rr->rdata, rr->rdlen);
	b->len += need;
	b->count++;
	return 0;
}

/* The record at *pos as its raw bytes (the condensing key) and fields. */
static int next_raw(const struct rr_buffer *b, size_t *pos, struct zone_rr *rr,
		    const uint8_t **raw, size_t *raw_len)
{
	if (*pos >= b->len)
		return 0;
	const uint8_t *p = b->data + *pos;
	size_t owner_len = p[0];
	rr->owner = p + 1;
	p += 1 + owner_len;
	rr->type = (uint16_t)(p[0] << 8 | p[1]);
	rr->ttl = 0;  /* not kept: the reader gives registry records the answer TTL */
	rr->rdlen = (uint16_t)(p[2] << 8 | p[3]);
	rr->rdata = p + 4;
	*raw = b->data + *pos;
	*raw_len = 1 + owner_len + 4 + rr->rdlen;
	*pos += *raw_len;
	return 1;
}

int rr_buffer_next(const struct rr_buffer *b, size_t *pos, struct zone_rr *rr)
{
	const uint8_t *raw;
	size_t raw_len;
	return next_raw(b, pos, rr, &raw, &raw_len);
}

void rr_buffer_free(struct rr_buffer *b)
{
	free(b->data);
	memset(b, 0, sizeof *b);
}

/* ---- condensing ---- */

struct tally {
	struct hnode node;
	struct zone_rr rr;
	int net;                      /* additions minus removals */
};

struct condenser {
	struct htable table;
	struct tally *tallies;        /* sized for every change fed in: nodes never move */
	size_t count, cap;
};

static int condenser_init(struct condenser *c, size_t changes)
{
	htable_init(&c->table);
	c->count = 0;
	c->cap = changes;
	c->tallies = changes ? malloc(changes * sizeof *c->tallies) : NULL;
	return changes && !c->tallies ? -1 : 0;
}

static void condenser_free(struct condenser *c)
{
	htable_free(&c->table);
	free(c->tallies);
}

static int condense(struct condenser *c, const uint8_t *raw, size_t raw_len,
		    const struct zone_rr *rr, int delta)
{
	struct hnode *n = htable_find(&c->table, raw, raw_len);
	if (n) {
		HNODE_RECORD(n, struct tally, node)->net += delta;
		return 0;
	}
	if (c->count == c->cap)
		return -1;
	struct tally *t = &c->tallies[c->count++];
	t->rr = *rr;
	t->net = delta;
	return htable_insert(&c->table, &t->node, raw, raw_len);
}

/* Feeds a buffer's records in, each counting delta. */
static int condense_buffer(struct condenser *c, const struct rr_buffer *b, int delta)
{
	size_t pos = 0;
	struct zone_rr rr;
	const uint8_t *raw;
	size_t raw_len;
	while (next_raw(b, &pos, &rr, &raw, &raw_len))
		if (condense(c, raw, raw_len, &rr, delta) < 0)
			return -1;
	return 0;
}

/* The net result, in the order records were first seen. */
static int condenser_output(const struct condenser *c, struct zone_diff *d)
{
	for (size_t i = 0; i < c->count; i++) {
		const struct tally *t = &c->tallies[i];
		if (t->net < 0 && rr_buffer_add(&d->removed, &t->rr) < 0)
			return -1;
		if (t->net > 0 && rr_buffer_add(&d->added, &t->rr) < 0)
			return -1;
	}
	return 0;
}

void zone_diff_free(struct zone_diff *d)
{
	rr_buffer_free(&d->removed);
	rr_buffer_free(&d->added);
}

/* ---- the journal ---- */

void zone_journal_init(struct zone_journal *j, size_t max_versions, size_t max_bytes,
		       size_t max_pending)
{
	memset(j, 0, sizeof *j);
	TAILQ_INIT(&j->versions);
	j->max_versions = max_versions;
	j->max_bytes = max_bytes;
	j->max_pending = max_versions ? max_pending : 0;
}

static void version_free(struct zone_version *v)
{
	rr_buffer_free(&v->removed);
	rr_buffer_free(&v->added);
	free(v);
}

static void drop_oldest(struct zone_journal *j)
{
	struct zone_version *v = TAILQ_FIRST(&j->versions);
	TAILQ_REMOVE(&j->versions, v, link);
	j->version_count--;
	j->bytes -= v->removed.len + v->added.len;
	version_free(v);
}

static void clear_pending(struct zone_journal *j)
{
	j->pending.len = 0;
	j->pending.count = 0;
}

void zone_journal_reset(struct zone_journal *j)
{
	while (!TAILQ_EMPTY(&j->versions))
		drop_oldest(j);
	clear_pending(j);
	j->broken = 0;
}

void zone_journal_free(struct zone_journal *j)
{
	zone_journal_reset(j);
	rr_buffer_free(&j->pending);
	free(j->pending_added);
	j->pending_added = NULL;
}

void zone_journal_record(struct zone_journal *j, int added, const struct zone_rr *rr)
{
	if (j->broken)
		return;
	if (j->pending.len + rr->rdlen + 2 * DNAME_MAX_WIRE > j->max_pending) {
		/* A million leases ending at once must not be condensed in one loop turn: a
		 * difference that large goes out as a full transfer anyway. */
		zone_journal_lose(j);
		return;
	}
	if (j->pending.count == j->pending_added_cap) {
		size_t cap = j->pending_added_cap ? j->pending_added_cap * 2 : 256;
		uint8_t *grown = realloc(j->pending_added, cap);
		if (!grown) {
			zone_journal_lose(j);
			return;
		}
		j->pending_added = grown;
		j->pending_added_cap = cap;
	}
	j->pending_added[j->pending.count] = (uint8_t)(added != 0);
	if (rr_buffer_add(&j->pending, rr) < 0)
		zone_journal_lose(j);
}

int zone_journal_keeps(const struct zone_journal *j)
{
	return j->max_pending > 0 && !j->broken;
}

void zone_journal_lose(struct zone_journal *j)
{
	j->broken = 1;
	clear_pending(j);
}

int zone_journal_pending(const struct zone_journal *j)
{
	return j->pending.count > 0 || j->broken;
}

/* The pending changes, condensed into a new version's removed and added records. */
static int condense_pending(const struct zone_journal *j, struct zone_version *v)
{
	struct condenser c;
	if (condenser_init(&c, j->pending.count) < 0)
		return -1;
	size_t pos = 0, i = 0;
	struct zone_rr rr;
	const uint8_t *raw;
	size_t raw_len;
	int rc = 0;
	while (rc == 0 && next_raw(&j->pending, &pos, &rr, &raw, &raw_len))
		rc = condense(&c, raw, raw_len, &rr, j->pending_added[i++] ? 1 : -1);
	struct zone_diff d = { { 0 }, { 0 } };
	if (rc == 0)
		rc = condenser_output(&c, &d);
	condenser_free(&c);
	v->removed = d.removed;
	v->added = d.added;
	return rc;
}

static void append_version(struct zone_journal *j, struct zone_version *v, uint32_t from, uint32_t to)
{
	v->from = from;
	v->to = to;
	TAILQ_INSERT_TAIL(&j->versions, v, link);
	j->version_count++;
	j->bytes += v->removed.len + v->added.len;
	while (j->version_count > j->max_versions || (j->bytes > j->max_bytes && j->version_count > 1))
		drop_oldest(j);
	if (j->bytes > j->max_bytes)
		drop_oldest(j);  /* one version alone larger than the limit is not kept either */
}

int zone_journal_commit(struct zone_journal *j, uint32_t from, uint32_t to)
{
	struct zone_version *v = j->broken ? NULL : calloc(1, sizeof *v);
	if (!v || condense_pending(j, v) < 0) {
		if (v)
			version_free(v);
		zone_journal_reset(j);
		return 1;
	}
	clear_pending(j);
	if (v->removed.count == 0 && v->added.count == 0) {
		version_free(v);
		return 0;
	}
	append_version(j, v, from, to);
	return 1;
}

void zone_journal_mark(struct zone_journal *j, uint32_t from, uint32_t to)
{
	struct zone_version *v = j->broken ? NULL : calloc(1, sizeof *v);
	if (!v) {
		zone_journal_reset(j);
		return;
	}
	append_version(j, v, from, to);
}

int zone_journal_diff(const struct zone_journal *j, uint32_t from, struct zone_diff *d)
{
	memset(d, 0, sizeof *d);
	const struct zone_version *start = NULL, *v;
	size_t changes = 0;
	TAILQ_FOREACH(v, &j->versions, link) {
		if (!start && v->from == from)
			start = v;
		if (start)
			changes += v->removed.count + v->added.count;
	}
	if (!start)
		return -1;
	struct condenser c;
	if (condenser_init(&c, changes) < 0)
		return -1;
	int rc = 0;
	for (v = start; v && rc == 0; v = TAILQ_NEXT(v, link))
		rc = condense_buffer(&c, &v->removed, -1) < 0 || condense_buffer(&c, &v->added, 1) < 0 ? -1 : 0;
	if (rc == 0)
		rc = condenser_output(&c, d);
	condenser_free(&c);
	if (rc < 0)
		zone_diff_free(d);
	return rc;
}

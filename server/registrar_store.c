/* registrar_store.c -- the registrar's etcd mode: writes as etcd txns, the registry as a
 * cache that follows the watch, leases kept by the owner node, adoption of orphans.
 *
 * Every change of the registry comes from etcd (the range or the watch) through the same
 * registry calls as in embedded mode, so zone versions, NOTIFY, health checks and
 * /v1/watch work unchanged.  Only the lease timer is this node's own: it holds the
 * instances this node owns, and nothing else. */
#include <arpa/inet.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "registrar_store.h"
#include "store.h"
#include "views.h"

#define OWNERS_MAX 65535
#define ADOPT_INTERVAL_MS 1000   /* orphans left after a scan are looked at again */
#define ADOPT_BUDGET 2000        /* takeover txns per scan */

struct store_cache {
	struct registrar *r;
	char **owners;               /* node ids by store_owner - 1 */
	size_t owner_count;
	uint16_t self;               /* this node's index in owners */
	json_t *seen;                /* during a resync: "service/instance" of every instance key
				      * seen, and "service" of every split key */
	struct split_set splits;     /* the splits etcd holds; the config's splits: win over them */
	int64_t last_adopt_ms;
	int adopt_wanted;            /* the members changed: scan now */
};

/* A write in flight, and the request waiting for it. */
struct pending_write {
	struct registrar *r;
	struct reg_deferral *deferral;    /* NULL: no reply (expiry, adoption) */
	unsigned granted_ttl;
	char service[DNAME_MAX_LABEL + 1], instance[DNAME_MAX_LABEL + 1];
	enum { W_REGISTER, W_TAKEOVER, W_DEREGISTER, W_EXPIRE, W_ADOPT, W_SPLIT } kind;
	char split_text[SPLIT_TEXT_MAX];  /* W_SPLIT: the shares, for the log; "" cleared */
};

static uint16_t intern_owner(struct store_cache *c, const char *id)
{
	for (size_t i = 0; i < c->owner_count; i++)
		if (strcmp(c->owners[i], id) == 0)
			return (uint16_t)(i + 1);
	if (c->owner_count == OWNERS_MAX)
		return 0;
	char **grown = realloc(c->owners, (c->owner_count + 1) * sizeof *grown);
	char *copy = strdup(id);
	if (!grown || !copy) {
		free(copy);
		if (grown)
			c->owners = grown;
		return 0;
	}
	c->owners = grown;
	c->owners[c->owner_count++] = copy;
	return (uint16_t)c->owner_count;
}

static const char *owner_name(const struct store_cache *c, uint16_t owner)
{
	return owner && owner <= c->owner_count ? c->owners[owner - 1] : "";
}

static int owned_here(const struct registrar *r, const struct instance *inst)
{
	return inst->store_owner && inst->store_owner == r->cache->self;
}

/* ---- the cache follows etcd ------------------------------------------------------------- */

/* instance NULL: the service's split. */
static void mark_seen(struct store_cache *c, const char *service, const char *instance)
{
	char name[2 * DNAME_MAX_LABEL + 2];
	if (!c->seen)
		return;
	snprintf(name, sizeof name, "%s%s%s", service, instance ? "/" : "", instance ? instance : "");
	json_object_set_new(c->seen, name, json_null());
}

static void on_put(void *arg, const struct store_record *rec, int64_t mod_revision)
{
	struct store_cache *c = arg;
	struct registrar *r = c->r;
	registrar_tick(r);  /* from a store callback: the lease starts now */
	struct instance_spec spec = rec->spec;
	struct instance *inst = registry_lookup(r->reg, spec.service, spec.instance);
	mark_seen(c, spec.service, spec.instance);
	if (inst && (inst->is_static || inst->store_revision >= mod_revision))
		return;  /* a static instance of the config wins; an old event changes nothing */
	int key = rec->key[0] ? config_find_key(r->cfg, rec->key) : -1;
	uint16_t owner = intern_owner(c, rec->owner);
	int mine = owner && owner == c->self;
	spec.is_static = false;
	spec.owner_key = (uint16_t)(key + 1);
	/* A write (registration, takeover, adoption) starts the owner's lease afresh; the
	 * other nodes keep no lease: the owner deletes the key when it runs out. */
	spec.expires_ms = mine ? r->now_ms + (int64_t)rec->ttl * 1000 : 0;
	int existed = inst != NULL;
	if (registry_put(r->reg, &spec, &inst) >= REGISTRY_PUT_CONFLICT) {
		log_error("store: out of memory for %s.%s: the cache misses it", spec.instance, spec.service);
		return;
	}
	inst->store_revision = mod_revision;
	inst->store_ttl = rec->ttl;
	inst->store_owner = owner;
	views_place(r->cfg, inst);
	if (mine && lease_add(&r->leases, inst) < 0)
		log_error("store: out of memory for the lease of %s.%s", spec.instance, spec.service);
	if (!mine)
		lease_remove(&r->leases, inst);
	registrar_tell(r, existed ? REG_UPDATED : REG_REGISTERED, inst);
}

static void on_remove(void *arg, const char *service, const char *instance)
{
	struct store_cache *c = arg;
	struct instance *inst = registry_lookup(c->r->reg, service, instance);
	if (!inst || inst->is_static)
		return;
	registrar_tell(c->r, REG_DEREGISTERED, inst);
	registrar_drop(c->r, inst);
}

/* etcd's split of a service is in force unless the config has one for it. */
static void use_split(struct registrar *r, const struct split *from_etcd, const uint8_t *wire_label)
{
	const struct split *cur = split_find(&r->reg->splits, wire_label);
	if (cur && cur->from_config)
		return;
	if (from_etcd && cur && memcmp(cur, from_etcd, sizeof *cur) == 0)
		return;  /* a resync's range brings what we have: no event */
	struct split clear;
	if (!from_etcd) {
		if (!cur)
			return;
		clear = *cur;
		clear.count = 0;
	}
	if (registrar_apply_split(r, from_etcd ? from_etcd : &clear) < 0)
		log_error("store: out of memory for a split: the cache misses it");
}

static void on_split_put(void *arg, const struct split *sp)
{
	struct store_cache *c = arg;
	char service[DNAME_MAX_LABEL + 1];
	mark_seen(c, split_service_name(sp, service), NULL);
	if (split_set_put(&c->splits, sp) < 0) {
		log_error("store: out of memory for the split of %s: the cache misses it", service);
		return;
	}
	use_split(c->r, split_find(&c->splits, sp->wire_label), sp->wire_label);
}

static void on_split_remove(void *arg, const char *service)
{
	struct store_cache *c = arg;
	struct split sp;
	if (split_set_service(&sp, service) < 0)
		return;
	split_set_remove(&c->splits, sp.wire_label);
	use_split(c->r, NULL, sp.wire_label);
}

int store_restore_splits(struct registrar *r)
{
	struct split_set *set = &r->cache->splits;
	for (size_t i = 0; i < set->count; i++)
		if (!split_find(&r->reg->splits, set->items[i].wire_label) &&
		    registrar_apply_split(r, &set->items[i]) < 0)
			return -1;
	return 0;
}

/* After a complete range: the splits etcd no longer has. */
static void sweep_splits(struct store_cache *c)
{
	char service[DNAME_MAX_LABEL + 1];
	for (size_t i = c->splits.count; i-- > 0;) {
		struct split gone = c->splits.items[i];
		if (json_object_get(c->seen, split_service_name(&gone, service)))
			continue;
		split_set_remove(&c->splits, gone.wire_label);
		use_split(c->r, NULL, gone.wire_label);
	}
}

static void on_resync_begin(void *arg)
{
	struct store_cache *c = arg;
	json_decref(c->seen);
	c->seen = json_object();
}

struct sweep {
	struct store_cache *c;
	struct instance **gone;
	size_t count;
};

static void collect_unseen(void *arg, struct instance *inst)
{
	struct sweep *w = arg;
	char name[2 * (DNAME_MAX_LABEL + 1)], key[2 * DNAME_MAX_LABEL + 2];
	if (inst->is_static)
		return;
	instance_text_name(inst, name);
	char *dot = strchr(name, '.');
	*dot = 0;
	snprintf(key, sizeof key, "%s/%s", dot + 1, name);
	if (!json_object_get(w->c->seen, key))
		w->gone[w->count++] = inst;
}

/* After a complete range: what etcd no longer has is gone, as one change. */
static void on_resync_end(void *arg, int complete)
{
	struct store_cache *c = arg;
	struct registrar *r = c->r;
	if (complete && c->seen) {
		struct sweep w = { c, calloc(r->reg->instance_count + 1, sizeof *w.gone), 0 };
		if (w.gone) {
			registry_foreach(r->reg, collect_unseen, &w);
			for (size_t i = 0; i < w.count; i++) {
				registrar_tell(r, REG_DEREGISTERED, w.gone[i]);
				registrar_drop(r, w.gone[i]);
			}
			if (w.count)
				log_info("store: resync removed %zu instance(s) deleted meanwhile", w.count);
			free(w.gone);
		}
		sweep_splits(c);
		r->reg->unsynced = false;
	}
	json_decref(c->seen);
	c->seen = NULL;
}

static void on_advanced(void *arg)
{
	struct store_cache *c = arg;
	registry_touch(c->r->reg);  /* the serial follows the revision, records changed or not */
}

static void on_members(void *arg)
{
	struct store_cache *c = arg;
	c->adopt_wanted = 1;
}

/* ---- writes -------------------------------------------------------------------------------- */

static void reply(struct pending_write *w, int code, const char *reason)
{
	struct reg_result res = { .code = code, .granted_ttl = w->granted_ttl };
	snprintf(res.reason, sizeof res.reason, "%s", reason ? reason : "");
	if (w->deferral)
		w->deferral->done(w->deferral, &res);
}

static void on_written(void *arg, int code, const char *reason)
{
	struct pending_write *w = arg;
	struct registrar *r = w->r;
	struct instance *inst;
	switch (w->kind) {
	case W_REGISTER:
	case W_DEREGISTER:
		if (code == 0)
			log_info("%s %s.%s", w->kind == W_REGISTER ? "registered" : "deregistered", w->instance, w->service);
		reply(w, code, reason);
		break;
	case W_TAKEOVER:
		if (code == 0)
			log_info("took over %s.%s", w->instance, w->service);
		reply(w, code, code == 409 ? "the instance changed meanwhile: retry" : reason);
		break;
	case W_EXPIRE:
		inst = r->store ? registry_lookup(r->reg, w->service, w->instance) : NULL;
		if (code == 0) {
			log_info("expired %s.%s", w->instance, w->service);  /* counted when its lease ended */
		} else if (code == 503 && inst && owned_here(r, inst)) {
			/* etcd is away: the lease stays ended, the delete is tried again */
			inst->expires_ms = r->now_ms + 1000;
			lease_add(&r->leases, inst);
		}
		break;
	case W_ADOPT:
		if (code == 0)
			log_info("adopted %s.%s", w->instance, w->service);
		break;
	case W_SPLIT:
		if (code == 0)
			log_info("split %s: %s", w->service, w->split_text[0] ? w->split_text : "cleared");
		reply(w, code, reason);
		break;
	}
	free(w);
}

static struct pending_write *new_write(struct registrar *r, int kind, const char *service, const char *instance,
				       int deferred, struct reg_result *res)
{
	struct pending_write *w = calloc(1, sizeof *w);
	if (!w) {
		if (res) {
			res->code = 503;
			snprintf(res->reason, sizeof res->reason, "out of memory");
		}
		return NULL;
	}
	w->r = r;
	w->kind = kind;
	w->deferral = deferred ? r->deferral : NULL;
	snprintf(w->service, sizeof w->service, "%s", service);
	snprintf(w->instance, sizeof w->instance, "%s", instance);
	if (res)
		res->code = REG_DEFERRED;
	return w;
}

/* Whether a write may go now; sets res to ERR 503 when not. */
static int writable(struct registrar *r, struct reg_result *res)
{
	const char *why = store_unavailable(r->store);
	if (!why && r->deferral)
		return 1;
	res->code = 503;
	snprintf(res->reason, sizeof res->reason, "store unavailable: %s",
		 why ? why : "this front cannot wait for etcd");
	return 0;
}

static void fill_record(struct registrar *r, const struct instance_spec *spec, unsigned ttl, uint16_t owner_key,
			struct store_record *rec)
{
	memset(rec, 0, sizeof *rec);
	rec->spec = *spec;
	rec->ttl = ttl;
	const char *key = registrar_key_name(r->cfg, owner_key);
	snprintf(rec->key, sizeof rec->key, "%s", key ? key : "");
	snprintf(rec->owner, sizeof rec->owner, "%s", store_self(r->store));
}

void store_register(struct registrar *r, const struct instance_spec *spec, unsigned granted_ttl,
		    int key_index, struct reg_result *res)
{
	if (!writable(r, res))
		return;
	struct store_record rec;
	fill_record(r, spec, granted_ttl, (uint16_t)(key_index + 1), &rec);
	struct pending_write *w = new_write(r, W_REGISTER, spec->service, spec->instance, 1, res);
	if (!w)
		return;
	w->granted_ttl = granted_ttl;
	store_put(r->store, &rec, 0, on_written, w);
}

void store_split(struct registrar *r, const struct split *sp, struct reg_result *res)
{
	char service[DNAME_MAX_LABEL + 1];
	if (!writable(r, res))
		return;
	struct pending_write *w = new_write(r, W_SPLIT, split_service_name(sp, service), "", 1, res);
	if (!w)
		return;
	split_format(sp, w->split_text, sizeof w->split_text);
	store_put_split(r->store, sp, on_written, w);
}

/* A txn that makes this node the owner, if nobody changed the instance since we saw it. */
static void take_over(struct registrar *r, struct instance *inst, unsigned ttl, struct pending_write *w)
{
	struct instance_spec spec;
	struct store_record rec;
	instance_to_spec(inst, &spec);
	fill_record(r, &spec, ttl, inst->owner_key, &rec);
	store_put(r->store, &rec, inst->store_revision, on_written, w);
}

int store_renew(struct registrar *r, struct instance *inst, unsigned granted_ttl, struct reg_result *res)
{
	if (!writable(r, res))
		return 1;
	if (owned_here(r, inst))
		return 0;  /* memory only: etcd never sees a renewal */
	char name[2 * (DNAME_MAX_LABEL + 1)];
	instance_text_name(inst, name);
	char *dot = strchr(name, '.');
	*dot = 0;
	struct pending_write *w = new_write(r, W_TAKEOVER, dot + 1, name, 1, res);
	if (!w)
		return 1;
	w->granted_ttl = granted_ttl;
	take_over(r, inst, granted_ttl, w);
	return 1;
}

void store_deregister(struct registrar *r, struct instance *inst, struct reg_result *res)
{
	if (!writable(r, res))
		return;
	char name[2 * (DNAME_MAX_LABEL + 1)];
	instance_text_name(inst, name);
	char *dot = strchr(name, '.');
	*dot = 0;
	struct pending_write *w = new_write(r, W_DEREGISTER, dot + 1, name, 1, res);
	if (w)
		store_remove(r->store, dot + 1, name, 0, on_written, w);
}

void store_expire(struct registrar *r, struct instance *inst)
{
	lease_remove(&r->leases, inst);
	if (!owned_here(r, inst))
		return;
	char name[2 * (DNAME_MAX_LABEL + 1)];
	instance_text_name(inst, name);
	char *dot = strchr(name, '.');
	*dot = 0;
	if (store_unavailable(r->store)) {
		inst->expires_ms = r->now_ms + 1000;  /* try again once etcd is back */
		lease_add(&r->leases, inst);
		return;
	}
	struct pending_write *w = new_write(r, W_EXPIRE, dot + 1, name, 0, NULL);
	if (w)
		store_remove(r->store, dot + 1, name, inst->store_revision, on_written, w);
}

/* ---- adoption ------------------------------------------------------------------------------ */

struct adopt_scan {
	struct registrar *r;
	struct instance **found;
	size_t count, max;
};

static void collect_orphans(void *arg, struct instance *inst)
{
	struct adopt_scan *a = arg;
	struct store_cache *c = a->r->cache;
	if (inst->is_static || !inst->store_revision || a->count == a->max ||
	    store_member_live(a->r->store, owner_name(c, inst->store_owner)))
		return;
	char name[2 * (DNAME_MAX_LABEL + 1)];
	instance_text_name(inst, name);
	char *dot = strchr(name, '.');
	*dot = 0;
	const char *adopter = store_adopter(a->r->store, dot + 1, name);
	if (adopter && strcmp(adopter, store_self(a->r->store)) == 0)
		a->found[a->count++] = inst;
}

/* Takes over the instances of nodes without a membership record that rendezvous hashing
 * gives to this node; each adopter restarts the lease at its granted ttl. */
static void adopt_orphans(struct registrar *r)
{
	struct adopt_scan a = { r, calloc(ADOPT_BUDGET, sizeof *a.found), 0, ADOPT_BUDGET };
	if (!a.found)
		return;
	registry_foreach(r->reg, collect_orphans, &a);
	for (size_t i = 0; i < a.count; i++) {
		char name[2 * (DNAME_MAX_LABEL + 1)];
		instance_text_name(a.found[i], name);
		char *dot = strchr(name, '.');
		*dot = 0;
		struct pending_write *w = new_write(r, W_ADOPT, dot + 1, name, 0, NULL);
		if (w)
			take_over(r, a.found[i], a.found[i]->store_ttl, w);
	}
	if (a.count)
		log_info("store: adopting %zu instance(s) of nodes that left", a.count);
	free(a.found);
}

void store_maintain(struct registrar *r)
{
	struct store_cache *c = r->cache;
	if (store_unavailable(r->store))
		return;
	if (!c->adopt_wanted && r->now_ms - c->last_adopt_ms < ADOPT_INTERVAL_MS)
		return;
	c->adopt_wanted = 0;
	c->last_adopt_ms = r->now_ms;
	adopt_orphans(r);
}

/* ---- open and close ------------------------------------------------------------------------- */

int registrar_store_open(struct registrar *r, struct event_base *base)
{
	char err[CONFIG_ERROR_MAX];
	struct store_cache *c = calloc(1, sizeof *c);
	if (!c) {
		log_error("out of memory");
		return -1;
	}
	c->r = r;
	r->cache = c;
	c->self = intern_owner(c, r->cfg->store.node_id);
	r->reg->unsynced = true;
	struct store_events ev = { on_put, on_remove, on_split_put, on_split_remove, on_resync_begin, on_resync_end,
				   on_advanced, on_members, c };
	r->store = store_open(base, r->cfg, &ev, err);
	if (!r->store) {
		log_error("store: %s: %s", r->cfg->store.url, err);
		return -1;
	}
	log_info("store: %s, prefix %s, node %s", r->cfg->store.url, r->cfg->store.prefix, r->cfg->store.node_id);
	return store_wait_first_contact(r->store);
}

void registrar_store_close(struct registrar *r)
{
	struct store_cache *c = r->cache;
	store_free(r->store);
	r->store = NULL;
	if (!c)
		return;
	for (size_t i = 0; i < c->owner_count; i++)
		free(c->owners[i]);
	free(c->owners);
	json_decref(c->seen);
	split_set_free(&c->splits);
	free(c);
	r->cache = NULL;
}

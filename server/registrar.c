/* registrar.c -- what registrations mean: leases, quotas, keys, durability. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "log.h"
#include "registrar.h"
#include "clock.h"
#include "registrar_store.h"
#include "views.h"

static int64_t wall_ms(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

void registrar_tick(struct registrar *r)
{
	r->now_ms = monotonic_ms();
	r->wall_minus_mono_ms = wall_ms() - r->now_ms;
}

static void set_error(struct reg_result *res, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_error(struct reg_result *res, int code, const char *fmt, ...)
{
	va_list ap;
	res->code = code;
	va_start(ap, fmt);
	vsnprintf(res->reason, sizeof res->reason, fmt, ap);
	va_end(ap);
}

static unsigned clamp_ttl(const struct config *cfg, unsigned ttl)
{
	if (ttl == 0)
		ttl = cfg->ttl_default;
	if (ttl < cfg->ttl_min)
		ttl = cfg->ttl_min;
	if (ttl > cfg->ttl_max)
		ttl = cfg->ttl_max;
	return ttl;
}

const char *registrar_key_name(const struct config *cfg, uint16_t owner_key)
{
	return owner_key && owner_key <= cfg->key_count ? cfg->keys[owner_key - 1].name : NULL;
}

static const char *journal_key_name(void *arg, uint16_t owner_key)
{
	return registrar_key_name(arg, owner_key);
}

void registrar_set_listener(struct registrar *r, reg_change_fn fn, void *arg)
{
	r->on_change = fn;
	r->on_change_arg = arg;
}

const char *reg_change_name(enum reg_change change)
{
	static const char *const names[] = { "registered", "updated", "renewed", "deregistered", "expired", "health" };
	return names[change];
}

void registrar_tell(struct registrar *r, enum reg_change change, const struct instance *inst)
{
	if (r->on_change)
		r->on_change(r->on_change_arg, change, inst);
}

void registrar_set_split_listener(struct registrar *r,
				  void (*fn)(void *arg, const uint8_t *service_label, const struct split *sp),
				  void *arg)
{
	r->on_split = fn;
	r->on_split_arg = arg;
}

int registrar_apply_split(struct registrar *r, const struct split *sp)
{
	struct split_set *set = &r->reg->splits;
	if (sp->count == 0) {
		if (!split_set_remove(set, sp->wire_label))
			return 0;
	} else if (split_set_put(set, sp) < 0) {
		return -1;
	}
	if (r->on_split)
		r->on_split(r->on_split_arg, sp->wire_label, sp->count ? split_find(set, sp->wire_label) : NULL);
	return 0;
}

/* splits: of the config: the ones it dropped go, its own are put (over a SPLIT's). */
static int sync_config_splits(struct registrar *r, const struct config *cfg)
{
	struct split_set *set = &r->reg->splits;
	for (size_t i = set->count; i-- > 0;) {
		struct split gone = set->items[i];
		int kept = 0;
		for (size_t j = 0; j < cfg->split_count && !kept; j++)
			kept = memcmp(cfg->splits[j].wire_label, gone.wire_label, gone.wire_label[0] + 1u) == 0;
		if (gone.from_config && !kept) {
			gone.count = 0;
			registrar_apply_split(r, &gone);
		}
	}
	for (size_t j = 0; j < cfg->split_count; j++) {
		const struct split *old = split_find(set, cfg->splits[j].wire_label);
		if (old && memcmp(old, &cfg->splits[j], sizeof *old) == 0)
			continue;
		if (registrar_apply_split(r, &cfg->splits[j]) < 0)
			return -1;
	}
	return 0;
}

/* ---- replay ------------------------------------------------------------------- */

void registrar_drop(struct registrar *r, struct instance *inst)
{
	lease_remove(&r->leases, inst);
	registry_delete(r->reg, inst);
}

static int replay_put(void *arg, const struct instance_spec *spec, const char *key_name)
{
	struct registrar *r = arg;
	struct instance *inst = registry_lookup(r->reg, spec->service, spec->instance);
	int64_t expires = spec->expires_ms - r->wall_minus_mono_ms;
	if (inst && inst->is_static)
		return 0;  /* the config now has a static instance of that name: it wins */
	if (expires <= r->now_ms) {
		if (inst)
			registrar_drop(r, inst);
		return 0;
	}
	struct instance_spec copy = *spec;
	copy.expires_ms = expires;
	int key = key_name && *key_name ? config_find_key(r->cfg, key_name) : -1;
	copy.owner_key = (uint16_t)(key + 1);
	if (registry_put(r->reg, &copy, &inst) >= REGISTRY_PUT_CONFLICT)
		return -1;
	views_place(r->cfg, inst);
	return lease_add(&r->leases, inst);
}

static int replay_split(void *arg, const struct split *sp)
{
	struct registrar *r = arg;
	const struct split *old = split_find(&r->reg->splits, sp->wire_label);
	if (old && old->from_config)
		return 0;  /* the config's split of that service wins, as static instances do */
	return registrar_apply_split(r, sp);
}

static int replay_renew(void *arg, const char *service, const char *instance, int64_t expires_wall_ms)
{
	struct registrar *r = arg;
	struct instance *inst = registry_lookup(r->reg, service, instance);
	if (!inst || inst->is_static)
		return 0;
	inst->expires_ms = expires_wall_ms - r->wall_minus_mono_ms;
	if (inst->expires_ms <= r->now_ms)
		registrar_drop(r, inst);
	else
		lease_update(&r->leases, inst);
	return 0;
}

static int replay_remove(void *arg, const char *service, const char *instance)
{
	struct registrar *r = arg;
	struct instance *inst = registry_lookup(r->reg, service, instance);
	if (inst && !inst->is_static)
		registrar_drop(r, inst);
	return 0;
}

int registrar_init(struct registrar *r, struct registry *reg, const struct config *cfg,
		   char err[STATE_ERROR_MAX])
{
	memset(r, 0, sizeof *r);
	r->reg = reg;
	r->cfg = cfg;
	lease_heap_init(&r->leases);
	replay_cache_init(&r->replay);
	rate_limiter_init(&r->rate, cfg->rate_limit, cfg->rate_burst, 65536);
	registrar_tick(r);
	static const char *const refusal_names[REG_REFUSAL_KINDS] = {
		"register: ERR 400", "register: ERR 401", "register: ERR 403", "register: ERR 404",
		"register: ERR 409", "register: ERR 413", "register: ERR 429", "register: ERR 503",
		"register: other refusals",
	};
	for (int i = 0; i < REG_REFUSAL_KINDS; i++)
		log_limit_init(&r->refusal_log[i], refusal_names[i]);
	log_limit_init(&r->journal_log, "state: cannot write the journal");
	r->reply = evbuffer_new();
	r->line_copy = malloc(CONFIG_LINE_LENGTH_MAX + 1);
	if (!r->reply || !r->line_copy) {
		snprintf(err, STATE_ERROR_MAX, "out of memory");
		return -1;
	}
	/* The config's splits go first: a journal's SPLIT of the same service gives way. */
	if (sync_config_splits(r, cfg) < 0) {
		snprintf(err, STATE_ERROR_MAX, "out of memory");
		return -1;
	}
	if (!cfg->state_file[0])
		return 0;
	struct state_replay_ops ops = { replay_put, replay_renew, replay_remove, r, replay_split };
	r->state = state_open(cfg->state_file, &ops, err);
	if (!r->state)
		return -1;
	log_info("state: %s: %zu registration(s) restored", cfg->state_file, r->leases.count);
	return 0;
}

void registrar_free(struct registrar *r)
{
	if (r->state) {
		if (state_commit(r->state) < 0)
			log_error("state: final commit failed: %s", strerror(errno));
		state_close(r->state);
	}
	lease_heap_free(&r->leases);
	replay_cache_free(&r->replay);
	if (r->reply)
		evbuffer_free(r->reply);
	free(r->line_copy);
	rate_limiter_free(&r->rate);
}

/* ---- reload ------------------------------------------------------------------ */

void registrar_configure(struct registrar *r, const struct config *cfg)
{
	r->cfg = cfg;
	r->rate.rate = cfg->rate_limit;
	r->rate.burst = cfg->rate_burst;
	views_place_all(cfg, r->reg);  /* networks: may have changed */
}

struct instance_list {
	struct instance **items;
	size_t count;
};

static void collect_static(void *arg, struct instance *inst)
{
	struct instance_list *list = arg;
	if (inst->is_static)
		list->items[list->count++] = inst;
}

/* Whether cfg still lists the static instance inst. */
static int listed(const struct config *cfg, const struct instance *inst)
{
	char name[2 * (DNAME_MAX_LABEL + 1)];
	instance_text_name(inst, name);
	for (size_t i = 0; i < cfg->service_count; i++) {
		char other[2 * (DNAME_MAX_LABEL + 1)];
		snprintf(other, sizeof other, "%s.%s", cfg->services[i].instance, cfg->services[i].service);
		if (strcmp(name, other) == 0)
			return 1;
	}
	return 0;
}

/* Whether putting spec would leave inst as it is (so watchers need not hear of it). */
static int same_record(const struct instance *inst, const struct instance_spec *spec)
{
	return inst->is_static && inst->family == spec->family &&
	       memcmp(inst->addr, spec->addr, spec->family == AF_INET ? 4 : 16) == 0 && inst->port == spec->port &&
	       inst->priority == spec->priority && inst->weight == spec->weight &&
	       inst->proto == spec->proto && inst->txt_len == spec->txt_len &&
	       (spec->txt_len == 0 || memcmp(inst->txt, spec->txt, spec->txt_len) == 0) &&
	       (inst->check ? memcmp(&inst->check->spec, &spec->check, sizeof spec->check) == 0
			    : spec->check.kind == CHECK_NONE) &&
	       (inst->extras ? memcmp(inst->extras, &spec->extras, offsetof(struct instance_extras, placed)) == 0
			     : !instance_extras_used(&spec->extras));
}

/* Removes the static instances cfg no longer lists, telling the listener first. */
static int remove_unlisted_static(struct registrar *r, const struct config *cfg)
{
	struct instance_list old = { calloc(r->reg->instance_count + 1, sizeof *old.items), 0 };
	if (!old.items)
		return -1;
	registry_foreach(r->reg, collect_static, &old);
	for (size_t i = 0; i < old.count; i++) {
		if (listed(cfg, old.items[i]))
			continue;
		char name[2 * (DNAME_MAX_LABEL + 1)];
		log_info("reload: static instance %s removed", instance_text_name(old.items[i], name));
		registrar_tell(r, REG_DEREGISTERED, old.items[i]);
		registry_delete(r->reg, old.items[i]);
	}
	free(old.items);
	return 0;
}

/* Puts one static instance: it takes over a registered one of the same name, whose
 * lease ends here (a later journal replay gives way to it too). */
static int put_static(struct registrar *r, const struct instance_spec *spec)
{
	struct instance *inst = registry_lookup(r->reg, spec->service, spec->instance);
	enum reg_change change = inst ? REG_UPDATED : REG_REGISTERED;
	int unchanged = inst && same_record(inst, spec);  /* put all the same, told to nobody */
	if (inst && !inst->is_static)
		lease_remove(&r->leases, inst);
	if (registry_put(r->reg, spec, &inst) >= REGISTRY_PUT_CONFLICT)
		return -1;
	views_place(r->cfg, inst);
	if (!unchanged)
		registrar_tell(r, change, inst);
	return 0;
}

int registrar_sync_static(struct registrar *r, const struct config *cfg)
{
	if (remove_unlisted_static(r, cfg) < 0 || sync_config_splits(r, cfg) < 0)
		return -1;
	if (r->cache && store_restore_splits(r) < 0)
		return -1;
	for (size_t i = 0; i < cfg->service_count; i++)
		if (put_static(r, &cfg->services[i]) < 0)
			return -1;
	return 0;
}

/* ---- operations -------------------------------------------------------------- */

static void format_address(const struct instance_spec *spec, char *out, size_t len)
{
	inet_ntop(spec->family, spec->addr, out, (socklen_t)len);
}

/* TAG.SERVICE.D and INSTANCE.SERVICE.D share one name space: a tag may not be the name
 * of an instance of the service, nor an instance's name a tag of another; network=
 * names a network of the config. */
static int check_names(struct registrar *r, const struct instance_spec *spec, struct reg_result *res)
{
	const struct instance_extras *x = &spec->extras;
	for (unsigned i = 0; i < x->tag_count; i++) {
		const struct instance *named = registry_lookup(r->reg, spec->service, x->tags[i]);
		if (strcmp(x->tags[i], spec->instance) == 0 || named) {
			set_error(res, 409, "tag '%s' is the name of instance %s.%s", x->tags[i], x->tags[i],
				  spec->service);
			return -1;
		}
	}
	/* The scan is for services that have tags at all: a REGISTER stays O(1) elsewhere. */
	const struct service *svc = registry_find_service_name(r->reg, spec->service);
	size_t name_len = strlen(spec->instance);
	for (size_t i = 0; svc && svc->tagged_count && i < svc->count; i++) {
		const struct instance *other = svc->instances[i];
		const uint8_t *label = other->wire_key;  /* "\len instance ..." */
		if ((label[0] != name_len || memcmp(label + 1, spec->instance, name_len) != 0) &&
		    instance_has_tag(other, spec->instance, name_len)) {
			set_error(res, 409, "instance name '%s' is a tag of %.*s.%s", spec->instance, label[0],
				  (const char *)label + 1, spec->service);
			return -1;
		}
	}
	for (unsigned i = 0; i < x->network_count; i++) {
		if (config_find_network(r->cfg, x->networks[i]) < 0) {
			set_error(res, 400, "network: '%s' is not a network of the config (networks:)",
				  x->networks[i]);
			return -1;
		}
	}
	return 0;
}

/* Checks what would stop a REGISTER before anything is written. */
static int check_register(struct registrar *r, const struct instance_spec *spec,
			  const struct instance *existing, int key_index, struct reg_result *res)
{
	const struct config *cfg = r->cfg;
	if (key_index >= 0 && !reg_key_allows(&cfg->keys[key_index], spec->service)) {
		set_error(res, 403, "key '%s' may not register service '%s'",
			  cfg->keys[key_index].name, spec->service);
		return -1;
	}
	if (spec->check.kind && !health_host_allowed(&spec->check, spec->family, spec->addr)) {
		/* A registration must not turn the server into a port scanner. */
		set_error(res, 403, "check: HOST must be the instance's own address");
		return -1;
	}
	if (existing && existing->is_static) {
		set_error(res, 409, "%s.%s is a static instance from the config",
			  spec->instance, spec->service);
		return -1;
	}
	if (existing && existing->owner_key && key_index >= 0 && existing->owner_key != key_index + 1) {
		set_error(res, 403, "%s.%s was registered with another key", spec->instance, spec->service);
		return -1;
	}
	if (check_names(r, spec, res) < 0)
		return -1;
	if (existing)
		return 0;
	const struct service *svc = registry_find_service_name(r->reg, spec->service);
	if (svc && svc->count >= cfg->max_instances_per_service) {
		set_error(res, 429, "service '%s' has reached max-instances-per-service (%u)",
			  spec->service, cfg->max_instances_per_service);
		return -1;
	}
	if (r->reg->instance_count >= cfg->max_instances) {
		set_error(res, 429, "max-instances (%u) reached", cfg->max_instances);
		return -1;
	}
	return 0;
}

struct log_limit *registrar_refusal_log(struct registrar *r, int code)
{
	static const int codes[REG_REFUSAL_KINDS - 1] = { 400, 401, 403, 404, 409, 413, 429, 503 };
	for (int i = 0; i < REG_REFUSAL_KINDS - 1; i++)
		if (codes[i] == code)
			return &r->refusal_log[i];
	return &r->refusal_log[REG_REFUSAL_KINDS - 1];
}

static int journal_failed(struct registrar *r, struct reg_result *res)
{
	int saved = errno;
	if (log_limit_allow(&r->journal_log, r->now_ms))
		log_error("state: cannot write the journal: %s; refusing changes", strerror(saved));
	errno = saved;
	set_error(res, 503, "state file not writable (%s): change not made", strerror(errno));
	return -1;
}

void registrar_register(struct registrar *r, struct instance_spec *spec, unsigned ttl,
			int key_index, struct reg_result *res)
{
	memset(res, 0, sizeof *res);
	struct instance *inst = registry_lookup(r->reg, spec->service, spec->instance);
	if (check_register(r, spec, inst, key_index, res) < 0)
		return;
	res->granted_ttl = clamp_ttl(r->cfg, ttl);
	if (r->store) {
		store_register(r, spec, res->granted_ttl, key_index, res);
		return;
	}
	spec->expires_ms = r->now_ms + (int64_t)res->granted_ttl * 1000;
	spec->is_static = false;
	spec->owner_key = (uint16_t)(key_index + 1);
	if (r->state && state_append_put(r->state, spec, spec->expires_ms + r->wall_minus_mono_ms,
					 registrar_key_name(r->cfg, spec->owner_key)) < 0) {
		journal_failed(r, res);
		return;
	}
	int existed = inst != NULL;
	enum registry_put_result put = registry_put(r->reg, spec, &inst);
	if (put >= REGISTRY_PUT_CONFLICT || lease_add(&r->leases, inst) < 0) {
		/* A replacement that ran out of memory has its new lease end already: keep
		 * the timer in order. */
		if (existed && put == REGISTRY_PUT_NOMEM)
			lease_update(&r->leases, inst);
		set_error(res, 503, "out of memory");
		return;
	}
	views_place(r->cfg, inst);
	char addr[INET6_ADDRSTRLEN];
	format_address(spec, addr, sizeof addr);
	log_info("%s %s.%s %s port %u ttl %u", existed ? "updated" : "registered",
		 spec->instance, spec->service, addr, spec->port, res->granted_ttl);
	registrar_tell(r, existed ? REG_UPDATED : REG_REGISTERED, inst);
}

void registrar_split(struct registrar *r, const struct split *sp, int key_index, struct reg_result *res)
{
	const struct config *cfg = r->cfg;
	char service[DNAME_MAX_LABEL + 1], text[SPLIT_TEXT_MAX];
	memset(res, 0, sizeof *res);
	split_service_name(sp, service);
	if (key_index >= 0 && !reg_key_allows(&cfg->keys[key_index], service)) {
		set_error(res, 403, "key '%s' may not change service '%s'", cfg->keys[key_index].name, service);
		return;
	}
	const struct split *old = split_find(&r->reg->splits, sp->wire_label);
	if (old && old->from_config) {
		set_error(res, 409, "the split of %s comes from the config (splits:)", service);
		return;
	}
	if (r->store) {
		store_split(r, sp, res);
		return;
	}
	if (r->state && state_append_split(r->state, sp) < 0) {
		journal_failed(r, res);
		return;
	}
	if (registrar_apply_split(r, sp) < 0) {
		set_error(res, 503, "out of memory");
		return;
	}
	split_format(sp, text, sizeof text);
	log_info("split %s: %s", service, sp->count ? text : "cleared");
}

/* Finds a live, leased instance the key may touch; fills res on failure. */
static struct instance *find_leased(struct registrar *r, const char *service, const char *instance,
				    int key_index, struct reg_result *res)
{
	struct instance *inst = registry_lookup(r->reg, service, instance);
	if (!inst || !instance_live(inst, r->now_ms)) {
		set_error(res, 404, "no lease for %s.%s (unknown or expired)", instance, service);
		return NULL;
	}
	if (inst->is_static) {
		set_error(res, 409, "%s.%s is a static instance from the config", instance, service);
		return NULL;
	}
	if (key_index >= 0 && inst->owner_key && inst->owner_key != key_index + 1) {
		set_error(res, 403, "%s.%s was registered with another key", instance, service);
		return NULL;
	}
	return inst;
}

void registrar_renew(struct registrar *r, const char *service, const char *instance,
		     unsigned ttl, int key_index, struct reg_result *res)
{
	memset(res, 0, sizeof *res);
	struct instance *inst = find_leased(r, service, instance, key_index, res);
	if (!inst)
		return;
	res->granted_ttl = clamp_ttl(r->cfg, ttl);
	if (r->store && store_renew(r, inst, res->granted_ttl, res))
		return;
	int64_t expires = r->now_ms + (int64_t)res->granted_ttl * 1000;
	if (r->state && state_append_renew(r->state, service, instance, expires + r->wall_minus_mono_ms) < 0) {
		journal_failed(r, res);
		return;
	}
	inst->expires_ms = expires;
	lease_update(&r->leases, inst);
	log_debug("renewed %s.%s ttl %u", instance, service, res->granted_ttl);
	registrar_tell(r, REG_RENEWED, inst);
}

void registrar_deregister(struct registrar *r, const char *service, const char *instance,
			  int key_index, struct reg_result *res)
{
	memset(res, 0, sizeof *res);
	struct instance *inst = find_leased(r, service, instance, key_index, res);
	if (!inst)
		return;
	if (r->store) {
		store_deregister(r, inst, res);
		return;
	}
	if (r->state && state_append_remove(r->state, service, instance) < 0) {
		journal_failed(r, res);
		return;
	}
	registrar_tell(r, REG_DEREGISTERED, inst);
	registrar_drop(r, inst);
	log_info("deregistered %s.%s", instance, service);
}

size_t registrar_expire(struct registrar *r, size_t budget)
{
	size_t n = 0;
	struct instance *inst;
	while (n < budget && (inst = lease_first(&r->leases)) && inst->expires_ms <= r->now_ms) {
		char name[2 * (DNAME_MAX_LABEL + 1)];
		if (r->store) {
			store_expire(r, inst);  /* out of the timer; the watch brings the delete */
			n++;
			continue;
		}
		if (log_enabled(LOG_INFO))
			log_info("expired %s", instance_text_name(inst, name));
		registrar_tell(r, REG_EXPIRED, inst);
		/* No journal record: on replay the lease end alone drops it. */
		registrar_drop(r, inst);
		n++;
	}
	r->expired_total += n;
	return n;
}

int64_t registrar_next_expiry_ms(const struct registrar *r)
{
	const struct instance *inst = lease_first(&r->leases);
	if (!inst)
		return -1;
	return inst->expires_ms > r->now_ms ? inst->expires_ms - r->now_ms : 0;
}

int registrar_commit(struct registrar *r)
{
	if (!r->state)
		return 0;
	if (state_dirty(r->state) && state_commit(r->state) < 0) {
		log_error("state: fsync of %s failed: %s", r->cfg->state_file, strerror(errno));
		return -1;
	}
	/* Between changes, after the commit: the child's snapshot holds every change
	 * appended so far, and the state keeps the ones appended after it. */
	if (state_wants_compaction(r->state) &&
	    state_compact_start(r->state, r->reg, r->wall_minus_mono_ms, journal_key_name, (void *)r->cfg) < 0)
		log_error("state: compaction of %s failed: %s; the journal keeps growing",
			  r->cfg->state_file, strerror(errno));
	return 0;
}

void registrar_maintain(struct registrar *r)
{
	for (int i = 0; i < REG_REFUSAL_KINDS; i++)
		log_limit_flush(&r->refusal_log[i], r->now_ms);
	log_limit_flush(&r->journal_log, r->now_ms);
	if (r->store)
		store_maintain(r);
	/* After a failed write the journal refuses every change until a compaction has
	 * rewritten it; no change means no commit, so the attempt must come from here. */
	if (!r->state)
		return;
	state_compact_poll(r->state);   /* a background compaction's child may have ended */
	if (!state_wants_compaction(r->state) || r->now_ms - r->last_compaction_try_ms < 5000)
		return;
	r->last_compaction_try_ms = r->now_ms;
	state_compact_start(r->state, r->reg, r->wall_minus_mono_ms, journal_key_name, (void *)r->cfg);
}

unsigned registrar_remaining(const struct registrar *r, const struct instance *inst)
{
	if (!inst->expires_ms && r->store && !inst->is_static)
		return inst->store_ttl;  /* etcd mode: the owner keeps the lease; this is its length */
	if (!inst->expires_ms || inst->expires_ms <= r->now_ms)
		return 0;
	return (unsigned)((inst->expires_ms - r->now_ms + 999) / 1000);
}

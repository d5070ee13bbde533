/* reload.c -- SIGHUP: read the configuration and zones again and swap them in.
 *
 * Everything new is loaded and checked beside the old; only when all of it is good
 * is it swapped in, between two events of the loop, so no query or registration
 * sees a half-loaded state and a bad file leaves the old one serving. */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "server.h"

static int same_listeners(const struct listen_addr *a, int a_count, const struct listen_addr *b, int b_count)
{
	if (a_count != b_count)
		return 0;
	for (int i = 0; i < a_count; i++)
		if (strcmp(a[i].text, b[i].text) != 0)
			return 0;
	return 1;
}

/* Sockets, the state file and the UDP buffers stay as they were opened; say so when
 * the file changed them. */
static void keep_startup_settings(const struct config *old, struct config *next)
{
	if (!same_listeners(old->dns, old->dns_count, next->dns, next->dns_count) ||
	    !same_listeners(old->reg, old->reg_count, next->reg, next->reg_count) ||
	    !same_listeners(old->http, old->http_count, next->http, next->http_count))
		log_warn("reload: listen addresses change only with a restart; keeping the current ones");
	if (strcmp(old->state_file, next->state_file) != 0)
		log_warn("reload: the state file changes only with a restart; keeping %s",
			 old->state_file[0] ? old->state_file : "none");
	if (old->max_udp_payload != next->max_udp_payload)
		log_warn("reload: max-udp-payload changes only with a restart; keeping %u",
			 (unsigned)old->max_udp_payload);
	memcpy(next->dns, old->dns, sizeof next->dns);
	next->dns_count = old->dns_count;
	memcpy(next->reg, old->reg, sizeof next->reg);
	next->reg_count = old->reg_count;
	memcpy(next->http, old->http, sizeof next->http);
	next->http_count = old->http_count;
	memcpy(next->state_file, old->state_file, sizeof next->state_file);
	next->max_udp_payload = old->max_udp_payload;  /* the UDP answer buffers are sized by it */
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

/* Static instances follow the new file: dropped ones go, new or changed ones are put
 * (a static instance takes over a registered one of the same name). */
static int sync_static_instances(struct server *srv)
{
	const struct config *cfg = srv->cfg;
	struct instance_list old = { calloc(srv->registry.instance_count + 1, sizeof *old.items), 0 };
	if (!old.items)
		return -1;
	registry_foreach(&srv->registry, collect_static, &old);
	for (size_t i = 0; i < old.count; i++) {
		if (!listed(cfg, old.items[i])) {
			char name[2 * (DNAME_MAX_LABEL + 1)];
			log_info("reload: static instance %s removed", instance_text_name(old.items[i], name));
			registry_delete(&srv->registry, old.items[i]);
		}
	}
	free(old.items);
	for (size_t i = 0; i < cfg->service_count; i++) {
		const struct instance_spec *spec = &cfg->services[i];
		struct instance *inst = registry_lookup(&srv->registry, spec->service, spec->instance);
		if (inst && !inst->is_static)
			lease_remove(&srv->registrar.leases, inst);
		if (registry_put(&srv->registry, spec, NULL) >= REGISTRY_PUT_CONFLICT)
			return -1;
	}
	return 0;
}

struct key_remap {
	const struct config *old, *next;
};

/* Keys may be reordered, added or removed: instances keep their owner by name. */
static void remap_owner(void *arg, struct instance *inst)
{
	const struct key_remap *m = arg;
	if (!inst->owner_key || inst->owner_key > m->old->key_count)
		return;
	int index = config_find_key(m->next, m->old->keys[inst->owner_key - 1].name);
	inst->owner_key = (uint16_t)(index + 1);
}

int server_reload(struct server *srv)
{
	char err[CONFIG_ERROR_MAX];
	struct config next;
	struct zone_set zones;
	if (srv->load_config(&next, srv->load_arg, err) < 0) {
		log_error("reload: %s", err);
		config_free(&next);
		return -1;
	}
	keep_startup_settings(srv->cfg, &next);
	if (check_static_names(&next) < 0 || resolve_forwarders(&next) < 0 || load_zones(&zones, &next) < 0) {
		config_free(&next);
		return -1;
	}

	/* The swap: the config is replaced in place, so every pointer to it stays valid. */
	struct config old = *srv->cfg;
	*srv->cfg = next;
	zones_free(&srv->zones);
	srv->zones = zones;
	struct key_remap remap = { &old, srv->cfg };
	registry_foreach(&srv->registry, remap_owner, &remap);
	dns_guard_configure(&srv->guard, srv->cfg);
	srv->registrar.rate.rate = srv->cfg->rate_limit;
	srv->registrar.rate.burst = srv->cfg->rate_burst;
	log_set_level(srv->cfg->log_level);
	int rc = sync_static_instances(srv);
	config_free(&old);
	if (rc < 0) {
		log_error("reload: out of memory while updating static instances");
		return -1;
	}
	log_info("reload: %zu zone file(s) and %zu static instance(s) loaded", srv->zones.zone_count,
		 srv->cfg->service_count);
	return 0;
}

/* reload.c -- SIGHUP: read the configuration and zones again and swap them in.
 *
 * Everything new is loaded and checked beside the old; only when all of it is good
 * is it swapped in, between two events of the loop, so no query or registration
 * sees a half-loaded state and a bad file leaves the old one serving. */
#include <stdlib.h>
#include <string.h>

#include "health.h"
#include "log.h"
#include "notify.h"
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
	if (memcmp(&old->store, &next->store, sizeof next->store) != 0)
		log_warn("reload: the store (store-*, node-id, node-lease) changes only with a restart; keeping it");
	next->store = old->store;  /* the etcd session reads it */
	memcpy(next->dns, old->dns, sizeof next->dns);
	next->dns_count = old->dns_count;
	memcpy(next->reg, old->reg, sizeof next->reg);
	next->reg_count = old->reg_count;
	memcpy(next->http, old->http, sizeof next->http);
	next->http_count = old->http_count;
	memcpy(next->state_file, old->state_file, sizeof next->state_file);
	next->max_udp_payload = old->max_udp_payload;  /* the UDP answer buffers are sized by it */
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
	registrar_configure(&srv->registrar, srv->cfg);
	health_configure(srv->health, srv->cfg);
	log_set_level(srv->cfg->log_level);
	int rc = registrar_sync_static(&srv->registrar, srv->cfg);
	struct zone_source src = server_zone_source(srv);
	size_t versions, bytes;
	server_journal_limits(srv->cfg, &versions, &bytes);
	if (notifier_reload(srv->notifier) < 0)
		log_error("reload: cannot open the NOTIFY sockets; secondaries follow their refresh timer");
	zone_versions_reload(&srv->versions, &src, versions, bytes);
	config_free(&old);
	if (rc < 0) {
		log_error("reload: out of memory while updating static instances");
		return -1;
	}
	log_info("reload: %zu zone file(s) and %zu static instance(s) loaded", srv->zones.zone_count,
		 srv->cfg->service_count);
	return 0;
}

/* zone_records.c -- the records of the service domain, built from config, zone file and
 * registry one at a time, never held all at once. */
#include <string.h>
#include <sys/socket.h>

#include "dns_wire.h"
#include "zone_records.h"

/* A name made of a registry's labels and the domain; 0 when it would be too long. */
static size_t join_name(uint8_t out[DNAME_MAX_WIRE], const uint8_t *labels, size_t len,
			const struct config *cfg)
{
	if (len + cfg->domain_len > DNAME_MAX_WIRE)
		return 0;
	memcpy(out, labels, len);
	memcpy(out + len, cfg->domain, cfg->domain_len);
	return len + cfg->domain_len;
}

/* Whether another instance of the service has this instance's address; with
 * lower_slot_only, one listed before it (the one that writes the shared record). */
static int address_taken(const struct registry *reg, const struct instance *inst,
			 int lower_slot_only)
{
	if (!inst->shares_address)
		return 0;
	for (const struct instance *o = registry_find_address(reg, inst->family, inst->addr); o;
	     o = o->next_same_address)
		if (o != inst && o->service == inst->service && (!lower_slot_only || o->slot < inst->slot))
			return 1;
	return 0;
}

static int emit(zone_rr_fn fn, void *arg, const uint8_t *owner, uint16_t type, uint32_t ttl,
		const uint8_t *rdata, size_t rdlen)
{
	struct zone_rr rr = { owner, type, ttl, rdata, (uint16_t)rdlen };
	return fn(arg, &rr);
}

/* The records of one instance; the service's address record unless skip_address. */
static int instance_records(const struct config *cfg, const struct instance *inst,
			    int skip_address, zone_rr_fn fn, void *arg)
{
	uint8_t fqdn[DNAME_MAX_WIRE], service[DNAME_MAX_WIRE], srv_name[DNAME_MAX_WIRE];
	uint8_t srv[6 + DNAME_MAX_WIRE], proto_labels[2 * (DNAME_MAX_LABEL + 2)];
	const uint8_t *label = inst->service->wire_label;
	size_t fqdn_len = join_name(fqdn, inst->wire_key, inst->wire_key_len, cfg);
	size_t service_len = join_name(service, label, label[0] + 1u, cfg);
	/* _SERVICE._PROTO: the service label with an underscore, then _tcp or _udp. */
	proto_labels[0] = (uint8_t)(label[0] + 1);
	proto_labels[1] = '_';
	memcpy(proto_labels + 2, label + 1, label[0]);
	memcpy(proto_labels + 2 + label[0], inst->proto == PROTO_UDP ? "\4_udp" : "\4_tcp", 5);
	size_t srv_name_len = label[0] < DNAME_MAX_LABEL ?
			      join_name(srv_name, proto_labels, label[0] + 7u, cfg) : 0;
	if (!fqdn_len || !service_len)
		return 0;  /* a name past 255 bytes is never answered either */

	uint16_t addr_type = inst->family == AF_INET ? TYPE_A : TYPE_AAAA;
	size_t addr_len = inst->family == AF_INET ? 4 : 16;
	wire_write_u16(srv, inst->priority);
	wire_write_u16(srv + 2, inst->weight);
	wire_write_u16(srv + 4, inst->port);
	memcpy(srv + 6, fqdn, fqdn_len);
	int rc;
	if ((rc = emit(fn, arg, fqdn, addr_type, cfg->ttl, inst->addr, addr_len)) ||
	    (inst->txt_len && (rc = emit(fn, arg, fqdn, TYPE_TXT, cfg->ttl, inst->txt, inst->txt_len))) ||
	    (rc = emit(fn, arg, service, TYPE_SRV, cfg->ttl, srv, 6 + fqdn_len)) ||
	    (srv_name_len && (rc = emit(fn, arg, srv_name, TYPE_SRV, cfg->ttl, srv, 6 + fqdn_len))))
		return rc;
	if (!skip_address)
		return emit(fn, arg, service, addr_type, cfg->ttl, inst->addr, addr_len);
	return 0;
}

int zone_instance_records(const struct zone_source *src, const struct instance *inst,
			  zone_rr_fn fn, void *arg)
{
	return instance_records(src->cfg, inst, address_taken(src->reg, inst, 0), fn, arg);
}

int zone_soa_record(const struct config *cfg, uint32_t serial, zone_rr_fn fn, void *arg)
{
	uint8_t rdata[2 * DNAME_MAX_WIRE + 20];
	size_t mname = dname_length(cfg->ns.name), rname = dname_length(cfg->soa.rname);
	memcpy(rdata, cfg->ns.name, mname);
	memcpy(rdata + mname, cfg->soa.rname, rname);
	uint8_t *p = rdata + mname + rname;
	const uint32_t fields[5] = { serial, cfg->soa.refresh, cfg->soa.retry, cfg->soa.expire,
				     cfg->soa.minimum };
	for (int i = 0; i < 5; i++)
		wire_write_u32(p + 4 * i, fields[i]);
	return emit(fn, arg, cfg->domain, TYPE_SOA, cfg->soa.ttl, rdata, mname + rname + 20);
}

/* Walks the nodes of a static zone; the apex SOA (and, in the service domain, the
 * apex NS that the config replaces) are left out. */
struct static_walk {
	const struct zone *zone;
	zone_rr_fn fn;
	void *arg;
	int rc;
};

static int rrset_records(const uint8_t *owner, const struct rrset *set, zone_rr_fn fn, void *arg)
{
	const uint8_t *p = set->rdata;
	for (uint16_t i = 0; i < set->count; i++) {
		size_t len = wire_read_u16(p);
		int rc = emit(fn, arg, owner, set->type, set->ttl, p + 2, len);
		if (rc)
			return rc;
		p += 2 + len;
	}
	return 0;
}

static void static_node(struct hnode *node, void *arg)
{
	struct static_walk *w = arg;
	const struct zone_node *n = HNODE_RECORD(node, struct zone_node, node);
	int apex = node->key_len == w->zone->apex_len;
	for (size_t i = 0; i < n->rrset_count && !w->rc; i++) {
		const struct rrset *set = &n->rrsets[i];
		if (apex && (set->type == TYPE_SOA || (w->zone->is_service_domain && set->type == TYPE_NS)))
			continue;
		w->rc = rrset_records(n->name, set, w->fn, w->arg);
	}
}

int zone_walk_static(const struct zone *z, zone_rr_fn fn, void *arg)
{
	struct static_walk w = { z, fn, arg, 0 };
	htable_foreach((struct htable *)&z->nodes, static_node, &w);
	return w.rc;
}

int zone_static_soa(const struct zone *z, zone_rr_fn fn, void *arg)
{
	return z->soa ? rrset_records(z->apex, z->soa, fn, arg) : 0;
}

struct instance_walk {
	const struct zone_source *src;
	zone_rr_fn fn;
	void *arg;
	int rc;
};

static void walk_instance(void *arg, struct instance *inst)
{
	struct instance_walk *w = arg;
	if (!w->rc)
		w->rc = instance_records(w->src->cfg, inst, address_taken(w->src->reg, inst, 1),
					 w->fn, w->arg);
}

int zone_walk_service_domain(const struct zone_source *src, zone_rr_fn fn, void *arg)
{
	const struct config *cfg = src->cfg;
	size_t ns_len = dname_length(cfg->ns.name);
	int rc = emit(fn, arg, cfg->domain, TYPE_NS, cfg->soa.ttl, cfg->ns.name, ns_len);
	for (int i = 0; !rc && i < cfg->ns.addr_count && dname_is_subdomain(cfg->ns.name, cfg->domain); i++) {
		const struct ns_address *a = &cfg->ns.addrs[i];
		rc = emit(fn, arg, cfg->ns.name, a->family == AF_INET ? TYPE_A : TYPE_AAAA, cfg->ttl,
			  a->addr, a->family == AF_INET ? 4 : 16);
	}
	if (!rc && src->static_part)
		rc = zone_walk_static(src->static_part, fn, arg);
	if (rc)
		return rc;
	struct instance_walk w = { src, fn, arg, 0 };
	registry_foreach((struct registry *)src->reg, walk_instance, &w);
	return w.rc;
}

/* dnssd.c -- DNS-SD browsing over unicast DNS (RFC 6763), from the registry.
 *
 *   _services._dns-sd._udp.D  PTR  _SERVICE._PROTO.D for every service type with an
 *                                  answerable instance (9)
 *   _SERVICE._PROTO.D         PTR  INSTANCE._SERVICE._PROTO.D for each of them (4.1)
 *   _TAG._sub._SERVICE._PROTO.D PTR the instances that carry TAG (7.1)
 *   INSTANCE._SERVICE._PROTO.D SRV INSTANCE.SERVICE.D, and TXT: its txt= strings, or one
 *                                  empty string (6.1)
 *   b._dns-sd._udp.D, lb._dns-sd._udp.D  PTR  D (11)
 *
 * A PTR answer carries each instance's SRV, TXT and address as additional records
 * (12.1).  Views and health apply as everywhere: an instance a client does not see is
 * absent, and a service type with nothing it sees is not listed. */
#include <string.h>
#include <sys/socket.h>

#include "dns_answer_internal.h"
#include "views.h"

static int label_is(const uint8_t *label, const char *text)
{
	size_t len = strlen(text);
	return label[0] == len && memcmp(label + 1, text, len) == 0;
}

/* "_tcp" or "_udp": the protocol, else -1. */
static int proto_of(const uint8_t *label)
{
	return label_is(label, "_tcp") ? PROTO_TCP : label_is(label, "_udp") ? PROTO_UDP : -1;
}

/* The service of an "_SERVICE" label, or NULL. */
static const struct service *service_of(const struct responder *r, const uint8_t *label)
{
	uint8_t service_label[DNAME_MAX_LABEL + 1];
	if (label[0] < 2 || label[1] != '_')
		return NULL;
	service_label[0] = (uint8_t)(label[0] - 1);
	memcpy(service_label + 1, label + 2, service_label[0]);
	return registry_find_service(r->reg, service_label);
}

/* _SERVICE._PROTO.D or _TAG._sub._SERVICE._PROTO.D: the instances as PTRs, each one's
 * SRV, TXT and address as additional data.  base is "_SERVICE._PROTO.D". */
static int answer_instance_list(struct responder *r, struct answer *a, const uint8_t *owner,
				const uint8_t *base, int proto, const struct subset *sub, uint16_t qtype)
{
	const struct service *svc = service_of(r, base);
	if (!svc || !answer_service_has_live(r, svc, proto, sub))
		return 0;
	if (qtype != TYPE_PTR && qtype != TYPE_ANY)
		return 1;
	uint32_t ttl = r->cfg->ttl;
	size_t n = answer_candidates(r, svc, proto, sub, &ttl);
	struct answer_item *it = n ? answer_add_item(a, SECTION_ANSWER, ITEM_DNSSD_PTR, owner, TYPE_PTR, ttl) : NULL;
	if (!it)
		return 1;
	it->instances = r->scratch;
	it->instance_count = n;
	it->dnssd_base = base;
	struct answer_item *extra = answer_add_item(a, SECTION_ADDITIONAL, ITEM_DNSSD_EXTRAS, owner, 0, ttl);
	if (extra) {
		extra->srv_item = it;
		extra->dnssd_base = base;
	}
	return 1;
}

/* INSTANCE._SERVICE._PROTO.D: its SRV and TXT. */
static int answer_service_instance(struct responder *r, struct answer *a, const uint8_t *name,
				   const uint8_t *service_label, int proto, uint16_t qtype)
{
	uint8_t key[2 * (DNAME_MAX_LABEL + 1)];
	size_t n = name[0] + 1u;
	if (service_label[0] < 2)
		return 0;
	memcpy(key, name, n);
	key[n] = (uint8_t)(service_label[0] - 1);
	memcpy(key + n + 1, service_label + 2, key[n]);
	struct instance *inst = registry_find_instance(r->reg, key, n + 1 + key[n]);
	if (!inst || inst->proto != proto || !instance_live(inst, r->now_ms) || !instance_visible(inst, a->view))
		return 0;
	if (qtype == TYPE_SRV || qtype == TYPE_ANY)
		answer_one_instance(r, a, name, inst, TYPE_SRV);
	else if (qtype == TYPE_TXT)
		answer_one_instance(r, a, name, inst, TYPE_TXT);
	return 1;
}

int dnssd_answer(struct responder *r, struct answer *a, const uint8_t *name, size_t rel_len,
		 uint16_t qtype)
{
	const uint8_t *l[4];
	size_t count = 0, off = 0;
	while (off < rel_len) {
		if (count == 4)
			return -1;
		l[count++] = name + off;
		off += name[off] + 1u;
	}
	if (count < 2 || l[count - 1][1] != '_' || proto_of(l[count - 1]) < 0)
		return -1;
	int proto = proto_of(l[count - 1]);
	struct subset all = { a->view, NULL, 0 };
	if (count == 2) {
		if (label_is(l[0], "_dns-sd") && proto == PROTO_UDP)
			return 1;  /* an empty non-terminal */
		if (qtype != TYPE_PTR)
			return -1;  /* SRV and the rest: dns_answer.c's _SERVICE._PROTO.D */
		return answer_instance_list(r, a, name, name, proto, &all, qtype);
	}
	if (count == 3 && label_is(l[1], "_dns-sd") && proto == PROTO_UDP) {
		if (label_is(l[0], "_services")) {
			if (qtype == TYPE_PTR || qtype == TYPE_ANY)
				answer_add_item(a, SECTION_ANSWER, ITEM_DNSSD_TYPES, name, TYPE_PTR, r->cfg->ttl);
			return 1;
		}
		if (label_is(l[0], "b") || label_is(l[0], "lb")) {
			if (qtype == TYPE_PTR || qtype == TYPE_ANY)
				answer_add_item(a, SECTION_ANSWER, ITEM_DNSSD_DOMAIN, name, TYPE_PTR, r->cfg->soa.ttl);
			return 1;
		}
		return 0;
	}
	if (l[count - 2][0] < 2 || l[count - 2][1] != '_')
		return -1;
	if (count == 3 && label_is(l[0], "_sub")) {
		const struct service *svc = service_of(r, l[1]);
		return svc && answer_service_has_live(r, svc, proto, &all);  /* an empty non-terminal */
	}
	if (count == 3)
		return answer_service_instance(r, a, name, l[1], proto, qtype);
	if (label_is(l[1], "_sub") && l[0][0] >= 2 && l[0][1] == '_') {
		struct subset tagged = { a->view, (const char *)l[0] + 2, l[0][0] - 1u };
		return answer_instance_list(r, a, name, l[2], proto, &tagged, qtype);
	}
	return -1;
}

/* ---- encoding ---- */

/* INSTANCE._SERVICE._PROTO.D; NULL when it is longer than a name may be. */
static const uint8_t *instance_name(const struct instance *inst, const uint8_t *base,
				    uint8_t out[DNAME_MAX_WIRE])
{
	size_t label = inst->wire_key[0] + 1u, rest = dname_length(base);
	if (label + rest > DNAME_MAX_WIRE)
		return NULL;
	memcpy(out, inst->wire_key, label);
	memcpy(out + label, base, rest);
	return out;
}

/* The extras of one instance: SRV and TXT at its DNS-SD name, its address at its own. */
static int put_extras(struct responder *r, struct wire_writer *w, const struct instance *inst,
		      const uint8_t *base, uint32_t view, uint16_t *records)
{
	uint8_t owner[DNAME_MAX_WIRE], target[DNAME_MAX_WIRE];
	uint32_t ttl = responder_instance_ttl(r, inst);
	if (!instance_name(inst, base, owner) || !encode_instance_fqdn(r, inst, target))
		return 0;
	const struct { const uint8_t *owner; uint16_t type; } records_of[] = {
		{ owner, TYPE_SRV }, { owner, TYPE_TXT }, { target, inst->family == AF_INET ? TYPE_A : TYPE_AAAA },
	};
	for (size_t i = 0; i < sizeof records_of / sizeof records_of[0]; i++) {
		struct wire_mark m = wire_mark(w);
		encode_instance_record(r, w, records_of[i].owner, records_of[i].type, ttl, inst, view, inst->weight);
		if (!encode_record_fits(w, m))
			return -1;
		(*records)++;
	}
	return 0;
}

struct types_walk {
	struct responder *r;
	struct wire_writer *w;
	const struct answer_item *it;
	uint32_t view;
	uint16_t *records;
	int failed;
};

/* One service's types: _SERVICE._tcp.D and _SERVICE._udp.D, where it has instances. */
static void put_service_types(struct hnode *node, void *arg)
{
	struct types_walk *t = arg;
	const struct service *svc = HNODE_RECORD(node, struct service, node);
	const struct config *cfg = t->r->cfg;
	struct subset all = { t->view, NULL, 0 };
	uint8_t name[DNAME_MAX_WIRE];
	size_t label = svc->wire_label[0];
	if (t->failed || label + 1 + 1 + 5 + cfg->domain_len > DNAME_MAX_WIRE)
		return;
	name[0] = (uint8_t)(label + 1);
	name[1] = '_';
	memcpy(name + 2, svc->wire_label + 1, label);
	for (int proto = PROTO_TCP; proto <= PROTO_UDP && !t->failed; proto++) {
		if (!svc->proto_count[proto] || !answer_service_has_live(t->r, svc, proto, &all))
			continue;
		memcpy(name + 2 + label, proto == PROTO_TCP ? "\4_tcp" : "\4_udp", 5);
		memcpy(name + 2 + label + 5, cfg->domain, cfg->domain_len);
		if (encode_ptr(t->w, t->it->owner, t->it->ttl, name, t->records) < 0)
			t->failed = 1;
	}
}

int dnssd_put_item(struct responder *r, struct wire_writer *w, struct answer_item *it, uint32_t view,
		   uint16_t *records)
{
	uint8_t name[DNAME_MAX_WIRE];
	switch (it->kind) {
	case ITEM_DNSSD_TYPES: {
		struct types_walk t = { r, w, it, view, records, 0 };
		htable_foreach((struct htable *)&r->reg->services, put_service_types, &t);
		return t.failed ? -1 : 0;
	}
	case ITEM_DNSSD_PTR:
		for (size_t i = 0; i < it->instance_count; i++) {
			if (!instance_name(it->instances[i], it->dnssd_base, name))
				continue;
			if (encode_ptr(w, it->owner, responder_instance_ttl(r, it->instances[i]), name, records) < 0)
				return -1;
			it->emitted = i + 1;
		}
		return 0;
	case ITEM_DNSSD_EXTRAS:
		for (size_t i = 0; i < it->srv_item->emitted; i++)
			if (put_extras(r, w, it->srv_item->instances[i], it->dnssd_base, view, records) < 0)
				return -1;
		return 0;
	case ITEM_DNSSD_DOMAIN:
		return encode_ptr(w, it->owner, it->ttl, r->cfg->domain, records);
	default:
		return 0;
	}
}

/* registry.c -- the in-memory table: services and their instances. */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "registry.h"

/* All the instances at one address. */
struct address_node {
	struct hnode node;        /* in registry.addresses */
	uint8_t key[17];          /* family byte, then 16 address bytes */
	struct instance *first;
};

void registry_init(struct registry *reg, uint32_t initial_serial)
{
	memset(reg, 0, sizeof *reg);
	htable_init(&reg->services);
	htable_init(&reg->instances);
	htable_init(&reg->addresses);
	reg->serial = initial_serial;
}

static void free_instance(struct hnode *node, void *arg)
{
	(void)arg;
	struct instance *inst = HNODE_RECORD(node, struct instance, node);
	free(inst->txt);
	free(inst);
}

static void free_service(struct hnode *node, void *arg)
{
	(void)arg;
	struct service *svc = HNODE_RECORD(node, struct service, node);
	free(svc->instances);
	free(svc);
}

static void free_address(struct hnode *node, void *arg)
{
	(void)arg;
	free(HNODE_RECORD(node, struct address_node, node));
}

void registry_free(struct registry *reg)
{
	htable_foreach(&reg->instances, free_instance, NULL);
	htable_foreach(&reg->services, free_service, NULL);
	htable_foreach(&reg->addresses, free_address, NULL);
	htable_free(&reg->instances);
	htable_free(&reg->services);
	htable_free(&reg->addresses);
}

static void address_key(int family, const uint8_t *addr, uint8_t key[17])
{
	key[0] = (uint8_t)family;
	memset(key + 1, 0, 16);
	memcpy(key + 1, addr, family == AF_INET ? 4 : 16);
}

static struct address_node *find_address_node(const struct registry *reg, int family, const uint8_t *addr)
{
	uint8_t key[17];
	address_key(family, addr, key);
	struct hnode *n = htable_find(&reg->addresses, key, sizeof key);
	return n ? HNODE_RECORD(n, struct address_node, node) : NULL;
}

struct instance *registry_find_address(const struct registry *reg, int family, const uint8_t *addr)
{
	struct address_node *a = find_address_node(reg, family, addr);
	return a ? a->first : NULL;
}

static int link_address(struct registry *reg, struct instance *inst)
{
	struct address_node *a = find_address_node(reg, inst->family, inst->addr);
	if (!a) {
		a = calloc(1, sizeof *a);
		if (!a)
			return -1;
		address_key(inst->family, inst->addr, a->key);
		if (htable_insert(&reg->addresses, &a->node, a->key, sizeof a->key) < 0) {
			free(a);
			return -1;
		}
	}
	inst->next_same_address = a->first;
	a->first = inst;
	return 0;
}

static void unlink_address(struct registry *reg, struct instance *inst)
{
	struct address_node *a = find_address_node(reg, inst->family, inst->addr);
	if (!a)
		return;
	struct instance **link = &a->first;
	while (*link && *link != inst)
		link = &(*link)->next_same_address;
	if (*link)
		*link = inst->next_same_address;
	inst->next_same_address = NULL;
	if (!a->first) {
		htable_remove(&reg->addresses, &a->node);
		free(a);
	}
}

/* Every change of the table is a new version of the zone. */
static void changed(struct registry *reg)
{
	reg->serial++;
}

static size_t make_label(uint8_t *out, const char *text)
{
	size_t len = strlen(text);
	out[0] = (uint8_t)len;
	memcpy(out + 1, text, len);
	return len + 1;
}

struct service *registry_find_service(const struct registry *reg, const uint8_t *label)
{
	struct hnode *n = htable_find(&reg->services, label, label[0] + 1u);
	return n ? HNODE_RECORD(n, struct service, node) : NULL;
}

struct instance *registry_find_instance(const struct registry *reg, const uint8_t *key,
					size_t key_len)
{
	struct hnode *n = htable_find(&reg->instances, key, key_len);
	return n ? HNODE_RECORD(n, struct instance, node) : NULL;
}

struct instance *registry_lookup(const struct registry *reg, const char *service,
				 const char *instance)
{
	uint8_t key[2 * (DNAME_MAX_LABEL + 1)];
	if (strlen(service) > DNAME_MAX_LABEL || strlen(instance) > DNAME_MAX_LABEL)
		return NULL;
	size_t n = make_label(key, instance);
	n += make_label(key + n, service);
	return registry_find_instance(reg, key, n);
}

char *instance_text_name(const struct instance *inst, char *out)
{
	const uint8_t *k = inst->wire_key;
	memcpy(out, k + 1, k[0]);
	out[k[0]] = '.';
	memcpy(out + k[0] + 1, k + k[0] + 2, k[k[0] + 1]);
	out[k[0] + 1 + k[k[0] + 1]] = 0;
	return out;
}

static struct service *get_service(struct registry *reg, const char *name)
{
	uint8_t label[DNAME_MAX_LABEL + 1];
	make_label(label, name);
	struct service *svc = registry_find_service(reg, label);
	if (svc)
		return svc;
	svc = calloc(1, sizeof *svc + label[0] + 1u);
	if (!svc)
		return NULL;
	make_label(svc->wire_label, name);
	if (htable_insert(&reg->services, &svc->node, svc->wire_label, label[0] + 1u) < 0) {
		free(svc);
		return NULL;
	}
	return svc;
}

static int service_add(struct service *svc, struct instance *inst)
{
	if (svc->count == svc->capacity) {
		size_t cap = svc->capacity ? svc->capacity * 2 : 4;
		struct instance **grown = realloc(svc->instances, cap * sizeof *grown);
		if (!grown)
			return -1;
		svc->instances = grown;
		svc->capacity = cap;
	}
	inst->slot = svc->count;
	svc->instances[svc->count++] = inst;
	return 0;
}

static void count_instance(struct registry *reg, const struct instance *inst, int delta)
{
	struct service *svc = inst->service;
	svc->proto_count[inst->proto] += (unsigned)delta;
	svc->family_count[inst->family == AF_INET6] += (unsigned)delta;
	reg->proto_count[inst->proto] += (unsigned)delta;
	reg->instance_count += (size_t)(long)delta;
}

/* Copies the answer data of a spec into an instance; keeps its identity and links. */
static int assign(struct instance *inst, const struct instance_spec *spec)
{
	uint8_t *txt = NULL;
	if (spec->txt_len) {
		txt = malloc(spec->txt_len);
		if (!txt)
			return -1;
		memcpy(txt, spec->txt, spec->txt_len);
	}
	free(inst->txt);
	inst->txt = txt;
	inst->txt_len = spec->txt_len;
	inst->family = spec->family;
	memcpy(inst->addr, spec->addr, sizeof inst->addr);
	inst->port = spec->port;
	inst->priority = spec->priority;
	inst->weight = spec->weight;
	inst->proto = spec->proto;
	inst->is_static = spec->is_static;
	inst->owner_key = spec->owner_key;
	inst->expires_ms = spec->expires_ms;
	return 0;
}

enum registry_put_result registry_put(struct registry *reg, const struct instance_spec *spec,
				      struct instance **out)
{
	struct instance *inst = registry_lookup(reg, spec->service, spec->instance);
	if (inst) {
		if (inst->is_static && !spec->is_static)
			return REGISTRY_PUT_CONFLICT;
		count_instance(reg, inst, -1);
		unlink_address(reg, inst);
		int rc = assign(inst, spec);
		count_instance(reg, inst, +1);
		if (link_address(reg, inst) < 0 || rc < 0)
			return REGISTRY_PUT_NOMEM;
		changed(reg);
		if (out)
			*out = inst;
		return REGISTRY_PUT_REPLACED;
	}

	struct service *svc = get_service(reg, spec->service);
	if (!svc)
		return REGISTRY_PUT_NOMEM;
	/* The key is the instance's only variable-sized part: allocated to fit, it keeps
	 * an instance near 160 bytes instead of reserving two full labels. */
	inst = calloc(1, sizeof *inst + strlen(spec->instance) + strlen(spec->service) + 2);
	if (!inst)
		goto fail;
	size_t n = make_label(inst->wire_key, spec->instance);
	n += make_label(inst->wire_key + n, spec->service);
	inst->wire_key_len = (uint8_t)n;
	inst->service = svc;
	if (assign(inst, spec) < 0)
		goto fail;
	if (service_add(svc, inst) < 0)
		goto fail;
	if (htable_insert(&reg->instances, &inst->node, inst->wire_key, n) < 0) {
		svc->count--;
		goto fail;
	}
	if (link_address(reg, inst) < 0) {
		htable_remove(&reg->instances, &inst->node);
		svc->count--;
		goto fail;
	}
	count_instance(reg, inst, +1);
	changed(reg);
	if (out)
		*out = inst;
	return REGISTRY_PUT_CREATED;
fail:
	if (inst)
		free(inst->txt);
	free(inst);
	if (svc->count == 0) {
		htable_remove(&reg->services, &svc->node);
		free_service(&svc->node, NULL);
	}
	return REGISTRY_PUT_NOMEM;
}

void instance_to_spec(const struct instance *inst, struct instance_spec *spec)
{
	memset(spec, 0, sizeof *spec);
	const uint8_t *k = inst->wire_key;
	memcpy(spec->instance, k + 1, k[0]);
	memcpy(spec->service, k + k[0] + 2, k[k[0] + 1]);
	spec->family = inst->family;
	memcpy(spec->addr, inst->addr, sizeof spec->addr);
	spec->port = inst->port;
	spec->priority = inst->priority;
	spec->weight = inst->weight;
	spec->proto = inst->proto;
	if (inst->txt_len)
		memcpy(spec->txt, inst->txt, inst->txt_len);
	spec->txt_len = inst->txt_len;
	spec->expires_ms = inst->expires_ms;
	spec->is_static = inst->is_static;
	spec->owner_key = inst->owner_key;
}

static void visit_instance(struct hnode *node, void *arg)
{
	struct registry_visit *v = arg;
	v->fn(v->arg, HNODE_RECORD(node, struct instance, node));
}

void registry_foreach(struct registry *reg, void (*fn)(void *arg, struct instance *inst), void *arg)
{
	struct registry_visit v = { fn, arg };
	htable_foreach(&reg->instances, visit_instance, &v);
}

void registry_delete(struct registry *reg, struct instance *inst)
{
	struct service *svc = inst->service;
	changed(reg);
	count_instance(reg, inst, -1);
	unlink_address(reg, inst);
	htable_remove(&reg->instances, &inst->node);
	/* Move the last instance into the hole: order carries no meaning, answers shuffle. */
	struct instance *last = svc->instances[--svc->count];
	svc->instances[inst->slot] = last;
	last->slot = inst->slot;
	if (svc->count == 0) {
		htable_remove(&reg->services, &svc->node);
		free_service(&svc->node, NULL);
	}
	free_instance(&inst->node, NULL);
}

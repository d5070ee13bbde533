/* registry.c -- the in-memory table: services and their instances. */
#include <ctype.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "registry.h"

/* The address index's key is the family byte followed by the 16 address bytes. */
#define ADDRESS_KEY_LEN 17
_Static_assert(offsetof(struct instance, addr) == offsetof(struct instance, family) + 1,
	       "instance.family and instance.addr form the address key");

void registry_init(struct registry *reg, uint32_t initial_serial)
{
	memset(reg, 0, sizeof *reg);
	htable_init(&reg->services);
	htable_init(&reg->instances);
	htable_init(&reg->addresses);
	htable_init(&reg->extra_addresses);
	pool_init(&reg->pool);
	reg->serial = initial_serial;
}

/* Records are allocated to fit their names (the padding after the last field is not needed). */
static size_t instance_size(size_t wire_key_len)
{
	return offsetof(struct instance, wire_key) + wire_key_len;
}

static size_t service_size(size_t wire_label_len)
{
	return offsetof(struct service, wire_label) + wire_label_len;
}

/* A service's instance array comes from the pool while it is small (most services
 * have a few instances) and from malloc beyond that. */
static int instances_in_pool(size_t capacity)
{
	return capacity * sizeof(struct instance *) <= POOL_RECORD_MAX;
}

static struct instance **instances_alloc(struct registry *reg, size_t capacity)
{
	size_t size = capacity * sizeof(struct instance *);
	return instances_in_pool(capacity) ? pool_alloc(&reg->pool, size) : malloc(size);
}

static void instances_free(struct registry *reg, struct instance **array, size_t capacity)
{
	if (instances_in_pool(capacity))
		pool_free(&reg->pool, array, capacity * sizeof *array);
	else
		free(array);
}

static void free_instance(struct registry *reg, struct instance *inst)
{
	free(inst->txt);
	free(inst->check);
	free(inst->extras);
	pool_free(&reg->pool, inst, instance_size(inst->wire_key_len));
}

static void free_service(struct registry *reg, struct service *svc)
{
	instances_free(reg, svc->instances, svc->capacity);
	pool_free(&reg->pool, svc, service_size(svc->wire_label[0] + 1u));
}

/* Frees what lives outside the pool; the pool goes as a whole. */
static void free_instance_txt(struct hnode *node, void *arg)
{
	(void)arg;
	struct instance *inst = HNODE_RECORD(node, struct instance, node);
	free(inst->txt);
	free(inst->check);
	free(inst->extras);
}

static void free_large_array(struct hnode *node, void *arg)
{
	struct service *svc = HNODE_RECORD(node, struct service, node);
	if (!instances_in_pool(svc->capacity))
		free(svc->instances);
	(void)arg;
}

void registry_free(struct registry *reg)
{
	htable_foreach(&reg->instances, free_instance_txt, NULL);
	htable_foreach(&reg->services, free_large_array, NULL);
	htable_free(&reg->instances);
	htable_free(&reg->services);
	htable_free(&reg->addresses);
	htable_free(&reg->extra_addresses);
	pool_destroy(&reg->pool);
	split_set_free(&reg->splits);
}

/* An instance's extras and the index links of its addr= addresses, which only the
 * registry sees: a spec's extras are copied in and out without them. */
struct extras_record {
	struct instance_extras x;  /* first: inst->extras points here */
	struct extra_address links[INSTANCE_ADDRS_MAX];
};
_Static_assert(sizeof ((struct extra_address *)0)->key == ADDRESS_KEY_LEN, "extra_address.key");

static struct extra_address *extra_links(const struct instance *inst)
{
	return ((struct extras_record *)(void *)inst->extras)->links;
}

static unsigned extra_count(const struct instance *inst)
{
	return inst->extras ? inst->extras->addr_count : 0;
}

struct instance *registry_find_address(const struct registry *reg, int family, const uint8_t *addr)
{
	uint8_t key[ADDRESS_KEY_LEN] = { (uint8_t)family };
	memcpy(key + 1, addr, family == AF_INET ? 4 : 16);
	struct hnode *n = htable_find(&reg->addresses, key, sizeof key);
	return n ? HNODE_RECORD(n, struct instance, address_node) : NULL;
}

static struct extra_address *find_extra(const struct registry *reg, const uint8_t *key)
{
	struct hnode *n = htable_find(&reg->extra_addresses, key, ADDRESS_KEY_LEN);
	return n ? HNODE_RECORD(n, struct extra_address, node) : NULL;
}

const struct extra_address *registry_find_extra_address(const struct registry *reg, int family,
							const uint8_t *addr)
{
	uint8_t key[ADDRESS_KEY_LEN] = { (uint8_t)family };
	memcpy(key + 1, addr, family == AF_INET ? 4 : 16);
	return find_extra(reg, key);
}

/* How many instances the two indexes hold at an address key, counted up to 2 (an
 * instance is there at most once: its addr= copies of one address are linked once). */
static unsigned instances_at(const struct registry *reg, const uint8_t *key)
{
	unsigned n = 0;
	struct hnode *h = htable_find(&reg->addresses, key, ADDRESS_KEY_LEN);
	if (h)
		n += HNODE_RECORD(h, struct instance, address_node)->next_same_address ? 2 : 1;
	struct extra_address *x = find_extra(reg, key);
	if (x)
		n += x->next ? 2 : 1;
	return n;
}

/* Whether any of an instance's addresses is another instance's too. */
static bool shares_any(const struct registry *reg, const struct instance *inst)
{
	if (instances_at(reg, &inst->family) > 1)
		return true;
	for (unsigned i = 0; i < extra_count(inst); i++)
		if (extra_links(inst)[i].linked && instances_at(reg, extra_links(inst)[i].key) > 1)
			return true;
	return false;
}

/* After an instance joined an address: when it is not alone there, it and the firsts
 * of both chains share it (the rest of a longer chain already knew). */
static void mark_shared(const struct registry *reg, struct instance *inst, const uint8_t *key)
{
	if (instances_at(reg, key) < 2)
		return;
	struct hnode *h = htable_find(&reg->addresses, key, ADDRESS_KEY_LEN);
	struct extra_address *x = find_extra(reg, key);
	inst->shares_address = true;
	if (h)
		HNODE_RECORD(h, struct instance, address_node)->shares_address = true;
	if (x)
		x->inst->shares_address = true;
}

/* After an instance left an address: the one left there alone may share no address now. */
static void recheck_shared(const struct registry *reg, const uint8_t *key)
{
	if (instances_at(reg, key) != 1)
		return;
	struct hnode *h = htable_find(&reg->addresses, key, ADDRESS_KEY_LEN);
	struct instance *left = h ? HNODE_RECORD(h, struct instance, address_node) : find_extra(reg, key)->inst;
	left->shares_address = shares_any(reg, left);
}

/* The first instance at an address is in the index; the others hang off it. */
static int link_primary(struct registry *reg, struct instance *inst)
{
	struct instance *first = registry_find_address(reg, inst->family, inst->addr);
	if (first) {
		inst->next_same_address = first->next_same_address;
		first->next_same_address = inst;
		return 0;
	}
	inst->next_same_address = NULL;
	return htable_insert(&reg->addresses, &inst->address_node, &inst->family, ADDRESS_KEY_LEN);
}

static void unlink_primary(struct registry *reg, struct instance *inst)
{
	struct instance *first = registry_find_address(reg, inst->family, inst->addr);
	if (first == inst) {
		struct instance *next = inst->next_same_address;
		if (next)
			htable_replace(&reg->addresses, &inst->address_node, &next->address_node,
				       &next->family);
		else
			htable_remove(&reg->addresses, &inst->address_node);
	} else if (first) {
		struct instance *prev = first;
		while (prev->next_same_address && prev->next_same_address != inst)
			prev = prev->next_same_address;
		if (prev->next_same_address)
			prev->next_same_address = inst->next_same_address;
	}
	inst->next_same_address = NULL;
}

/* Whether addr= address i repeats the instance's own address or an earlier addr=. */
static bool extra_repeats(const struct instance *inst, unsigned i)
{
	const uint8_t *key = extra_links(inst)[i].key;
	if (memcmp(key, &inst->family, ADDRESS_KEY_LEN) == 0)
		return true;
	for (unsigned j = 0; j < i; j++)
		if (memcmp(key, extra_links(inst)[j].key, ADDRESS_KEY_LEN) == 0)
			return true;
	return false;
}

static int link_extra(struct registry *reg, struct extra_address *link)
{
	struct extra_address *first = find_extra(reg, link->key);
	link->linked = true;
	if (first) {
		link->next = first->next;
		first->next = link;
		return 0;
	}
	link->next = NULL;
	if (htable_insert(&reg->extra_addresses, &link->node, link->key, ADDRESS_KEY_LEN) == 0)
		return 0;
	link->linked = false;
	return -1;
}

static void unlink_extra(struct registry *reg, struct extra_address *link)
{
	struct extra_address *first = find_extra(reg, link->key);
	if (first == link) {
		if (link->next)
			htable_replace(&reg->extra_addresses, &link->node, &link->next->node, link->next->key);
		else
			htable_remove(&reg->extra_addresses, &link->node);
	} else if (first) {
		struct extra_address *prev = first;
		while (prev->next && prev->next != link)
			prev = prev->next;
		if (prev->next)
			prev->next = link->next;
	}
	link->next = NULL;
	link->linked = false;
}

/* Puts an instance's own address and its addr= addresses into the indexes. */
static int link_address(struct registry *reg, struct instance *inst)
{
	int rc = link_primary(reg, inst);
	inst->shares_address = false;
	for (unsigned i = 0; i < extra_count(inst); i++) {
		struct extra_address *link = &extra_links(inst)[i];
		memset(link, 0, sizeof *link);
		link->inst = inst;
		link->index = (uint8_t)i;
		link->key[0] = inst->family;
		memcpy(link->key + 1, inst->extras->addrs[i], inst->family == AF_INET ? 4 : 16);
		if (!extra_repeats(inst, i) && link_extra(reg, link) < 0)
			rc = -1;
	}
	mark_shared(reg, inst, &inst->family);
	for (unsigned i = 0; i < extra_count(inst); i++)
		if (extra_links(inst)[i].linked)
			mark_shared(reg, inst, extra_links(inst)[i].key);
	return rc;
}

static void unlink_address(struct registry *reg, struct instance *inst)
{
	unlink_primary(reg, inst);
	recheck_shared(reg, &inst->family);
	for (unsigned i = 0; i < extra_count(inst); i++) {
		struct extra_address *link = &extra_links(inst)[i];
		if (!link->linked)
			continue;
		unlink_extra(reg, link);
		recheck_shared(reg, link->key);
	}
	inst->shares_address = false;
}

void registry_set_change_hook(struct registry *reg,
			      void (*fn)(void *arg, const struct instance *inst, int added), void *arg)
{
	reg->on_change = fn;
	reg->on_change_arg = arg;
}

void registry_touch(struct registry *reg)
{
	if (reg->on_change)
		reg->on_change(reg->on_change_arg, NULL, 0);
}

static void changed(struct registry *reg, const struct instance *inst, int added)
{
	if (reg->on_change)
		reg->on_change(reg->on_change_arg, inst, added);
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

struct service *registry_find_service_name(const struct registry *reg, const char *name)
{
	uint8_t label[DNAME_MAX_LABEL + 1];
	size_t len = strlen(name);
	if (len == 0 || len > DNAME_MAX_LABEL)
		return NULL;
	label[0] = (uint8_t)len;
	for (size_t i = 0; i < len; i++)
		label[1 + i] = (uint8_t)tolower((unsigned char)name[i]);
	return registry_find_service(reg, label);
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
	svc = pool_alloc(&reg->pool, service_size(label[0] + 1u));
	if (!svc)
		return NULL;
	make_label(svc->wire_label, name);
	if (htable_insert(&reg->services, &svc->node, svc->wire_label, label[0] + 1u) < 0) {
		pool_free(&reg->pool, svc, service_size(svc->wire_label[0] + 1u));
		return NULL;
	}
	return svc;
}

static int service_add(struct registry *reg, struct service *svc, struct instance *inst)
{
	if (svc->count == svc->capacity) {
		uint32_t cap = svc->capacity ? svc->capacity * 2 : 2;
		struct instance **grown = instances_alloc(reg, cap);
		if (!grown)
			return -1;
		if (svc->count)
			memcpy(grown, svc->instances, svc->count * sizeof *grown);
		instances_free(reg, svc->instances, svc->capacity);
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
	if (inst->extras && inst->extras->weight_set)
		svc->weight_set_count += (unsigned)delta;
	if (inst->extras && inst->extras->tag_count)
		svc->tagged_count += (unsigned)delta;
	reg->proto_count[inst->proto] += (unsigned)delta;
	reg->instance_count += (size_t)(long)delta;
}

/* Copies a check into an instance.  The same check again keeps its state and last
 * result; a new one starts critical (never seen healthy) until its first probe. */
static int assign_check(struct instance *inst, const struct health_check_spec *spec)
{
	if (spec->kind == CHECK_NONE) {
		free(inst->check);
		inst->check = NULL;
		inst->health = HEALTH_UNCHECKED;
		return 0;
	}
	if (inst->check && memcmp(&inst->check->spec, spec, sizeof *spec) == 0)
		return 0;
	struct instance_check *check = calloc(1, sizeof *check);
	if (!check)
		return -1;
	check->spec = *spec;
	free(inst->check);
	inst->check = check;
	inst->health = HEALTH_CRITICAL;
	return 0;
}

/* Copies tags, further addresses and network names; none frees them.  The networks
 * themselves are placed by views.c, which knows the config. */
static int assign_extras(struct instance *inst, const struct instance_extras *x)
{
	if (!instance_extras_used(x)) {
		free(inst->extras);
		inst->extras = NULL;
		return 0;
	}
	if (!inst->extras && !(inst->extras = malloc(sizeof(struct extras_record))))
		return -1;
	*inst->extras = *x;
	return 0;
}

/* Copies the answer data of a spec into an instance; keeps its identity and links. */
static int assign(struct instance *inst, const struct instance_spec *spec)
{
	uint8_t *txt = NULL;
	if (assign_check(inst, &spec->check) < 0 || assign_extras(inst, &spec->extras) < 0)
		return -1;
	if (spec->txt_len) {
		txt = malloc(spec->txt_len);
		if (!txt)
			return -1;
		memcpy(txt, spec->txt, spec->txt_len);
	}
	free(inst->txt);
	inst->txt = txt;
	inst->txt_len = spec->txt_len;
	inst->family = (uint8_t)spec->family;
	memset(inst->addr, 0, sizeof inst->addr);
	memcpy(inst->addr, spec->addr, spec->family == AF_INET ? 4 : 16);
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
		changed(reg, inst, 0);
		count_instance(reg, inst, -1);
		unlink_address(reg, inst);
		int rc = assign(inst, spec);
		count_instance(reg, inst, +1);
		int linked = link_address(reg, inst);
		changed(reg, inst, 1);
		if (linked < 0 || rc < 0)
			return REGISTRY_PUT_NOMEM;
		if (out)
			*out = inst;
		return REGISTRY_PUT_REPLACED;
	}

	struct service *svc = get_service(reg, spec->service);
	if (!svc)
		return REGISTRY_PUT_NOMEM;
	/* The key is the instance's only variable-sized part: allocated to fit, it keeps
	 * an instance near 160 bytes instead of reserving two full labels. */
	inst = pool_alloc(&reg->pool, instance_size(strlen(spec->instance) + strlen(spec->service) + 2));
	if (!inst)
		goto fail;
	size_t n = make_label(inst->wire_key, spec->instance);
	n += make_label(inst->wire_key + n, spec->service);
	inst->wire_key_len = (uint8_t)n;
	inst->service = svc;
	inst->txt = NULL;
	inst->check = NULL;
	inst->extras = NULL;
	inst->networks = 0;
	inst->health = HEALTH_UNCHECKED;
	if (assign(inst, spec) < 0)
		goto fail;
	if (service_add(reg, svc, inst) < 0)
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
	changed(reg, inst, 1);
	if (out)
		*out = inst;
	return REGISTRY_PUT_CREATED;
fail:
	if (inst)
		free_instance(reg, inst);
	if (svc->count == 0) {
		htable_remove(&reg->services, &svc->node);
		free_service(reg, svc);
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
	if (inst->check)
		spec->check = inst->check->spec;
	if (inst->extras)
		spec->extras = *inst->extras;
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
	changed(reg, inst, 0);
	count_instance(reg, inst, -1);
	unlink_address(reg, inst);
	htable_remove(&reg->instances, &inst->node);
	/* Move the last instance into the hole: order carries no meaning, answers shuffle. */
	struct instance *last = svc->instances[--svc->count];
	svc->instances[inst->slot] = last;
	last->slot = inst->slot;
	if (svc->count == 0) {
		htable_remove(&reg->services, &svc->node);
		free_service(reg, svc);
	}
	free_instance(reg, inst);
}

bool instance_has_tag(const struct instance *inst, const char *tag, size_t len)
{
	const struct instance_extras *x = inst->extras;
	for (unsigned i = 0; x && i < x->tag_count; i++)
		if (strncmp(x->tags[i], tag, len) == 0 && x->tags[i][len] == 0)
			return true;
	return false;
}

bool service_has_tag(const struct service *svc, const char *tag, size_t len)
{
	for (size_t i = 0; i < svc->count; i++)
		if (instance_has_tag(svc->instances[i], tag, len))
			return true;
	return false;
}

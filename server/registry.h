/* registry.h -- the in-memory table: services and their instances.
 *
 * Keys are lowercase DNS labels in wire form, so the responder looks names up
 * straight from the query without copying.  Every change bumps the serial (the
 * zone's SOA serial); who is told about changes is the registrar's business
 * (registrar.h), since only it knows why an instance left. */
#ifndef SVCDNS_REGISTRY_H
#define SVCDNS_REGISTRY_H

#include <stdbool.h>
#include <stdint.h>

#include "dname.h"
#include "health_spec.h"
#include "htable.h"
#include "pool.h"
#include "split.h"

enum instance_proto { PROTO_TCP = 0, PROTO_UDP = 1 };

#define REGISTRY_TXT_MAX 1024  /* bytes of TXT rdata per instance */
#define INSTANCE_TAGS_MAX 8      /* tags= per instance */
#define INSTANCE_ADDRS_MAX 4     /* addr= per instance: its addresses on further networks */
#define INSTANCE_NETWORKS_MAX 4  /* network= names per instance */

/* What views, subsets and weights know of an instance beyond its records (views.h,
 * weights.h).  Instances that use none of it carry no extras at all. */
struct instance_extras {
	uint8_t tag_count, addr_count, network_count;
	bool weight_set;                              /* weight= given: 0 means never first */
	char tags[INSTANCE_TAGS_MAX][DNAME_MAX_LABEL + 1];        /* lowercase LDH labels */
	uint8_t addrs[INSTANCE_ADDRS_MAX][16];        /* addr=, the instance's family */
	char networks[INSTANCE_NETWORKS_MAX][DNAME_MAX_LABEL + 1]; /* network=, lowercase */
	uint32_t placed[1 + INSTANCE_ADDRS_MAX];      /* views.c: networks of addr, then of addrs[] */
};

/* Whether a spec's extras hold anything (else the instance carries none). */
static inline bool instance_extras_used(const struct instance_extras *x)
{
	return x->tag_count || x->addr_count || x->network_count || x->weight_set;
}

/* What a caller puts into the registry. */
struct instance_spec {
	char service[DNAME_MAX_LABEL + 1];   /* lowercase LDH label */
	char instance[DNAME_MAX_LABEL + 1];  /* lowercase LDH label */
	int family;                          /* AF_INET or AF_INET6 */
	uint8_t addr[16];                    /* 4 or 16 bytes, network order */
	uint16_t port, priority, weight;
	enum instance_proto proto;
	struct health_check_spec check;      /* kind CHECK_NONE: no health check */
	struct instance_extras extras;       /* tags=, addr=, network=; all zero: none */
	uint8_t txt[REGISTRY_TXT_MAX];       /* TXT rdata: length-prefixed strings */
	uint16_t txt_len;
	int64_t expires_ms;                  /* lease end (monotonic ms); 0: no lease */
	bool is_static;                      /* from the config: never expires, never replaced */
	uint16_t owner_key;                  /* 1 + index of the key that registered it; 0: none */
};

struct service;
struct instance;

/* One addr= address of an instance in the registry's index of further addresses: what
 * a reverse PTR of that address finds, and what tells answers that two instances give
 * the same address (RFC 2181 5).  The registry keeps these next to the extras. */
struct extra_address {
	struct hnode node;            /* in registry.extra_addresses while first at its address */
	struct extra_address *next;   /* other instances with this addr= address */
	struct instance *inst;
	uint8_t index;                /* into inst->extras->addrs */
	bool linked;                  /* in the index; not when it repeats the instance's own */
	uint8_t key[17];              /* family, then the address zero-padded: the index's key */
};

/* Laid out for size (a million of these is the registry's memory), with the hash
 * node next to the key it points to. */
struct instance {
	struct hnode address_node; /* in registry.addresses while first at its address */
	struct service *service;
	struct instance *next_same_address; /* other instances at this address (PTR) */
	uint8_t *txt;             /* owned; NULL when txt_len is 0 */
	struct instance_check *check; /* owned; NULL without a health check */
	struct instance_extras *extras; /* owned; NULL without tags, addr=, network= or weight= */
	uint32_t networks;        /* views.c: networks of all its addresses (bit i: config network i) */
	int64_t expires_ms;
	int64_t store_revision;   /* etcd mode: the mod_revision of its key; 0: not from etcd */
	uint32_t store_ttl;       /* etcd mode: the granted lease, seconds (an adopter restarts it) */
	uint16_t store_owner;     /* etcd mode: the owner node, interned by registrar_store.c */
	uint32_t slot;            /* index in service->instances */
	uint32_t lease_slot;      /* position in the lease timer, owned by lease.c */
	uint16_t port, priority, weight;
	uint16_t txt_len;
	uint16_t owner_key;       /* 1 + index in config keys of the registering key; 0: none */
	uint8_t proto;            /* enum instance_proto */
	bool is_static;
	bool shares_address;      /* one of its addresses (own or addr=) is another instance's too
				   * (RFC 2181 5 dedup) */
	uint8_t health;           /* enum health_state, set by health.c; answers read it */
	uint8_t family;           /* AF_INET or AF_INET6; with addr, the address index's key */
	uint8_t addr[16];         /* 4 or 16 bytes, network order; the rest zero */
	struct hnode node;        /* in registry.instances, keyed by wire_key */
	uint8_t wire_key_len;
	uint8_t wire_key[];       /* "\len instance \len service", no root: sized to fit */
};

struct service {
	struct instance **instances;
	uint32_t count, capacity;
	unsigned proto_count[2];  /* instances per enum instance_proto */
	unsigned family_count[2]; /* [0] IPv4, [1] IPv6 */
	unsigned weight_set_count; /* instances with weight=: their answers are weighted */
	unsigned tagged_count;    /* instances with tags: only then can a name clash with one */
	bool failing_open;        /* health.c: every checked instance withheld, all answered */
	struct hnode node;        /* in registry.services, keyed by wire_label */
	uint8_t wire_label[];     /* "\len name", sized to fit */
};

struct registry {
	struct htable services;
	struct htable instances;
	struct htable addresses;  /* family + address -> the first instance there, for PTR */
	struct htable extra_addresses; /* family + addr= address -> the first struct extra_address */
	struct split_set splits;  /* split.h: weighted subsets per service */
	struct pool pool;         /* instances, services and small instance arrays */
	size_t instance_count;
	unsigned proto_count[2];  /* live instances per protocol, for _tcp / _udp */
	bool unsynced;            /* etcd mode before the first sync: the service domain is SERVFAIL */
	uint32_t serial;          /* SOA serial, set by the zone's versions (zone_versions.c) */
	/* Told of every instance's records entering (added 1, after it is in) or leaving
	 * (added 0, before it goes) the zone: how transfers learn of changes. */
	void (*on_change)(void *arg, const struct instance *inst, int added);
	void *on_change_arg;
};

/* Whether answers leave an instance out for its health (critical; warning too with
 * only_passing).  Unchecked instances are never left out. */
static inline bool instance_withheld(const struct instance *inst, bool only_passing)
{
	return inst->health == HEALTH_CRITICAL || (only_passing && inst->health == HEALTH_WARNING);
}

/* Whether the instance carries a tag (lowercase label text of len bytes). */
bool instance_has_tag(const struct instance *inst, const char *tag, size_t len);
/* Whether any instance of the service carries the tag. */
bool service_has_tag(const struct service *svc, const char *tag, size_t len);

/* Whether an instance's lease still runs at now_ms; instances without a lease always do. */
static inline bool instance_live(const struct instance *inst, int64_t now_ms)
{
	return inst->expires_ms == 0 || inst->expires_ms > now_ms;
}

enum registry_put_result {
	REGISTRY_PUT_CREATED,
	REGISTRY_PUT_REPLACED,
	REGISTRY_PUT_CONFLICT,   /* a static instance of that name exists */
	REGISTRY_PUT_NOMEM,
};

void registry_init(struct registry *reg, uint32_t initial_serial);
/* Names the one function told of every change of the zone's records (NULL: none). */
void registry_set_change_hook(struct registry *reg,
			      void (*fn)(void *arg, const struct instance *inst, int added), void *arg);
/* Tells the change hook that the data's source moved on without changing a record (etcd
 * mode: a revision of splits or nodes), so the zone's serial can follow it. */
void registry_touch(struct registry *reg);
/* Frees every service and instance. */
void registry_free(struct registry *reg);
/* Creates or replaces an instance; on success *out (when given) points at it. */
enum registry_put_result registry_put(struct registry *reg, const struct instance_spec *spec,
				      struct instance **out);
/* Removes an instance and frees it. */
void registry_delete(struct registry *reg, struct instance *inst);
/* Finds a service by its wire label ("\len name", lowercase). */
struct service *registry_find_service(const struct registry *reg, const uint8_t *label);
/* Finds a service by its text name, compared case-insensitively; NULL for a bad length. */
struct service *registry_find_service_name(const struct registry *reg, const char *name);
/* Finds an instance by its two wire labels ("\len instance \len service", lowercase). */
struct instance *registry_find_instance(const struct registry *reg, const uint8_t *key,
					size_t key_len);
/* Finds an instance by its text names. */
struct instance *registry_lookup(const struct registry *reg, const char *service,
				 const char *instance);
/* The first instance at an address (follow next_same_address), or NULL. */
struct instance *registry_find_address(const struct registry *reg, int family, const uint8_t *addr);
/* The first instance with an addr= address (follow next), or NULL. */
const struct extra_address *registry_find_extra_address(const struct registry *reg, int family,
							const uint8_t *addr);
/* Fills a spec from an instance (the inverse of registry_put). */
void instance_to_spec(const struct instance *inst, struct instance_spec *spec);

struct registry_visit {
	void (*fn)(void *arg, struct instance *inst);
	void *arg;
};
/* Calls fn for every instance; fn must not add or remove instances. */
void registry_foreach(struct registry *reg, void (*fn)(void *arg, struct instance *inst), void *arg);
/* Writes "instance.service" into out (at least 2*64 bytes). */
char *instance_text_name(const struct instance *inst, char *out);

#endif

/* Unit tests for registry.c, htable.c and pool.c: random puts, replacements and deletes checked
 * against a plain model, with few addresses so that instances share them (PTR index), some
 * with an addr= address (the index of further addresses, and who shares an address). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "htable.h"
#include "pool.h"
#include "registry.h"
#include "tap.h"

#define SERVICES 40
#define INSTANCES 200        /* names per service: service 0 gets up to 200 (malloc'd array) */
#define ADDRESSES_MAX 1024

static unsigned addresses = 16;  /* few: instances share them; many: most are alone */

static uint64_t rng;

static unsigned next_random(unsigned below)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % below);
}

/* The model: which (service, instance) names are live, and at which address. */
static int model_addr[SERVICES][INSTANCES];   /* 0: absent, else 1 + address index */
static int model_extra[SERVICES][INSTANCES];  /* 0: no addr=, else 1 + address index */

static void make_spec(struct instance_spec *spec, unsigned s, unsigned i, unsigned a)
{
	memset(spec, 0, sizeof *spec);
	snprintf(spec->service, sizeof spec->service, "svc%u", s);
	snprintf(spec->instance, sizeof spec->instance, "instance-with-a-longer-name-%u", i);
	if (i % 2) {  /* keys of different lengths land in different pool classes */
		spec->instance[12] = 0;
		snprintf(spec->instance + 12, sizeof spec->instance - 12, "%u", i);
	}
	spec->family = a % 4 == 3 ? AF_INET6 : AF_INET;
	spec->addr[0] = 10;
	spec->addr[2] = (uint8_t)(a >> 8);
	spec->addr[3] = (uint8_t)a;
	spec->port = (uint16_t)(1000 + i);
	if (i % 7 == 0) {
		spec->txt_len = 4;
		memcpy(spec->txt, "\003abc", 4);
	}
}

/* Gives a spec the addr= address of index e (of its family), twice when e is odd. */
static void add_extra(struct instance_spec *spec, unsigned e)
{
	struct instance_extras *x = &spec->extras;
	for (unsigned k = 0; k < 1 + e % 2; k++) {
		x->addrs[x->addr_count][0] = 10;
		x->addrs[x->addr_count][2] = (uint8_t)(e >> 8);
		x->addrs[x->addr_count++][3] = (uint8_t)e;
	}
}

static int same_family(unsigned a, unsigned b)
{
	return (a % 4 == 3) == (b % 4 == 3);
}

static unsigned instances_per_service(unsigned s)
{
	return s == 0 ? INSTANCES : 8;
}

/* Every live name is found with its address; every address chain holds exactly the
 * live instances at that address, the chain of addr= addresses those with that addr=
 * (once, and not when it is their own); shares_address is set exactly on the instances
 * with an address that another instance has too. */
static int matches_model(const struct registry *reg)
{
	static size_t per_address[ADDRESSES_MAX], per_extra[ADDRESSES_MAX], at[ADDRESSES_MAX];
	size_t live = 0;
	memset(per_address, 0, sizeof per_address);
	memset(per_extra, 0, sizeof per_extra);
	memset(at, 0, sizeof at);
	for (unsigned s = 0; s < SERVICES; s++)
		for (unsigned i = 0; i < instances_per_service(s); i++) {
			if (model_addr[s][i])
				at[model_addr[s][i] - 1]++;
			if (model_extra[s][i] && model_extra[s][i] != model_addr[s][i])
				at[model_extra[s][i] - 1]++;
		}
	for (unsigned s = 0; s < SERVICES; s++)
		for (unsigned i = 0; i < instances_per_service(s); i++) {
			struct instance_spec spec;
			make_spec(&spec, s, i, model_addr[s][i] ? (unsigned)model_addr[s][i] - 1 : 0);
			struct instance *inst = registry_lookup(reg, spec.service, spec.instance);
			if (!model_addr[s][i]) {
				if (inst)
					return 0;
				continue;
			}
			live++;
			unsigned a = (unsigned)model_addr[s][i] - 1;
			int e = model_extra[s][i] - 1;
			per_address[a]++;
			if (e >= 0 && (unsigned)e != a)
				per_extra[e]++;
			bool shares = at[a] > 1 || (e >= 0 && at[e] > 1);
			if (!inst || inst->family != spec.family || memcmp(inst->addr, spec.addr, 16) != 0 ||
			    inst->port != spec.port || inst->service->instances[inst->slot] != inst ||
			    inst->shares_address != shares)
				return 0;
		}
	if (reg->instance_count != live)
		return 0;
	for (unsigned a = 0; a < addresses; a++) {
		struct instance_spec spec;
		make_spec(&spec, 0, 0, a);
		size_t n = 0, extra = 0;
		for (struct instance *inst = registry_find_address(reg, spec.family, spec.addr); inst;
		     inst = inst->next_same_address) {
			if (inst->family != spec.family || memcmp(inst->addr, spec.addr, 16) != 0)
				return 0;
			n++;
		}
		for (const struct extra_address *x = registry_find_extra_address(reg, spec.family, spec.addr); x;
		     x = x->next) {
			const struct instance_extras *xs = x->inst->extras;
			if (!xs || x->index >= xs->addr_count || x->inst->family != spec.family ||
			    memcmp(xs->addrs[x->index], spec.addr, 16) != 0)
				return 0;
			extra++;
		}
		if (n != per_address[a] || extra != per_extra[a])
			return 0;
	}
	return 1;
}

#define RECORDS 50000

struct record {
	struct hnode node;
	int in_table, visits;
	char key[16];
};

static struct record records[RECORDS];

static int table_matches(const struct htable *t)
{
	size_t live = 0;
	for (int r = 0; r < RECORDS; r++) {
		struct hnode *n = htable_find(t, (const uint8_t *)records[r].key, strlen(records[r].key));
		if (n != (records[r].in_table ? &records[r].node : NULL))
			return 0;
		live += (size_t)records[r].in_table;
	}
	return t->count == live;
}

/* Visits every record; removes those with an odd index as it goes. */
static void visit_and_remove_odd(struct hnode *node, void *arg)
{
	struct record *rec = HNODE_RECORD(node, struct record, node);
	rec->visits++;
	if ((rec - records) % 2) {
		htable_remove(arg, node);
		rec->in_table = 0;
	}
}

static void test_htable(void)
{
	struct htable t;
	htable_init(&t);
	ok(htable_find(&t, (const uint8_t *)"x", 1) == NULL, "an empty table finds nothing");
	int consistent = 1;
	for (int r = 0; r < RECORDS; r++)
		snprintf(records[r].key, sizeof records[r].key, "k%d", r);
	for (int step = 0; step < 400000; step++) {
		struct record *rec = &records[next_random(RECORDS)];
		if (rec->in_table) {
			htable_remove(&t, &rec->node);
			rec->in_table = 0;
		} else if (htable_insert(&t, &rec->node, (const uint8_t *)rec->key, strlen(rec->key)) == 0) {
			rec->in_table = 1;
		}
		if (step % 50000 == 49999)
			consistent &= table_matches(&t);
	}
	ok(consistent, "400,000 random inserts and removes: every find agrees with the model");
	size_t before = t.count;
	htable_foreach(&t, visit_and_remove_odd, &t);
	int once = 1;
	size_t even = 0, visited = 0;
	for (int r = 0; r < RECORDS; r++) {
		once &= records[r].visits <= 1;
		visited += (size_t)records[r].visits;
		if (r % 2 == 0 && records[r].in_table)
			even++;
	}
	ok(once && visited == before, "foreach removing as it goes visits every record exactly once");
	ok(table_matches(&t) && t.count == even, "after it, exactly the records it kept are found");
	htable_free(&t);
}

static void test_pool(void)
{
	struct pool p;
	pool_init(&p);
	ok(pool_alloc(&p, 0) == NULL && pool_alloc(&p, POOL_RECORD_MAX + 1) == NULL,
	   "pool refuses empty and oversized records");
	unsigned char *a = pool_alloc(&p, 40);
	ok(a != NULL && a[0] == 0 && a[39] == 0, "pool gives zeroed records");
	memset(a, 0xff, 40);
	pool_free(&p, a, 40);
	unsigned char *b = pool_alloc(&p, 48);
	ok(b == a && b[0] == 0 && b[47] == 0, "a freed record is reused, zeroed, by the same size class");
	unsigned char *c = pool_alloc(&p, 16);
	ok(c != NULL && (uintptr_t)c % POOL_GRAIN == 0 && (c + 16 <= b || c >= b + 48),
	   "another size class gets other memory, aligned");
	size_t many = 0;
	while (many < 100000 && pool_alloc(&p, POOL_RECORD_MAX))
		many++;
	ok(many == 100000 && p.bytes >= 100000u * POOL_RECORD_MAX, "pool grows by chunks to 50 MB");
	pool_destroy(&p);
}

/* Random puts, replacements and deletes from a seed; returns 1 when the registry
 * matched the model at every check. */
static int churn(struct registry *reg, uint64_t seed, int steps)
{
	int consistent = 1;
	rng = seed;
	for (int step = 0; step < steps; step++) {
		unsigned s = next_random(SERVICES), i = next_random(instances_per_service(s));
		unsigned a = next_random(addresses);
		unsigned e = next_random(addresses);
		struct instance_spec spec;
		make_spec(&spec, s, i, a);
		int with_extra = next_random(3) == 0 && same_family(a, e);
		if (with_extra)
			add_extra(&spec, e);
		if (next_random(3) == 0) {
			struct instance *inst = registry_lookup(reg, spec.service, spec.instance);
			if (inst)
				registry_delete(reg, inst);
			model_addr[s][i] = model_extra[s][i] = 0;
		} else {
			enum registry_put_result rc = registry_put(reg, &spec, NULL);
			if (rc != (model_addr[s][i] ? REGISTRY_PUT_REPLACED : REGISTRY_PUT_CREATED))
				consistent = 0;
			model_addr[s][i] = (int)a + 1;
			model_extra[s][i] = with_extra ? (int)e + 1 : 0;
		}
		if (step % 2000 == 1999)
			consistent &= matches_model(reg);
	}
	return consistent;
}

/* Deletes every instance: services and their arrays go back to the pool too. */
static void empty(struct registry *reg)
{
	for (unsigned s = 0; s < SERVICES; s++)
		for (unsigned i = 0; i < instances_per_service(s); i++) {
			struct instance_spec spec;
			make_spec(&spec, s, i, 0);
			struct instance *inst = registry_lookup(reg, spec.service, spec.instance);
			if (inst)
				registry_delete(reg, inst);
			model_addr[s][i] = model_extra[s][i] = 0;
		}
}

int main(void)
{
	test_pool();
	test_htable();

	struct registry reg;
	registry_init(&reg, 1);
	ok(churn(&reg, 0x9e3779b97f4a7c15ull, 200000),
	   "200,000 random puts, replacements and deletes match the model, PTR chains (own and addr=) and shared addresses included");
	empty(&reg);
	ok(matches_model(&reg) && reg.services.count == 0 && reg.addresses.count == 0 &&
	   reg.extra_addresses.count == 0,
	   "deleting every instance empties the service and both address tables");
	size_t bytes = reg.pool.bytes;
	ok(churn(&reg, 0x9e3779b97f4a7c15ull, 200000) && reg.pool.bytes == bytes,
	   "the same churn again is served from freed records: the pool does not grow");
	empty(&reg);
	addresses = ADDRESSES_MAX;
	ok(churn(&reg, 0x2545f4914f6cdd1dull, 100000),
	   "the same over 1,024 addresses (most instances alone at theirs) matches the model");
	struct service *big = registry_find_service(&reg, (const uint8_t *)"\004svc0");
	ok(big && big->capacity * sizeof *big->instances > POOL_RECORD_MAX,
	   "svc0's instance array has outgrown the pool (malloc'd)");
	/* Freed full, TXT records and a malloc'd array included: ASan and LeakSanitizer
	 * check that registry_free returns all of it. */
	registry_free(&reg);
	return done_testing();
}

/* Unit tests for lease.c: the min-heap of lease ends, up to a million leases. */
#include <stdlib.h>

#include "lease.h"
#include "tap.h"

static uint64_t rng = 88172645463325252ull;

static uint64_t next_random(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Pops every lease in order; returns 1 when they come out sorted and all of them. */
static int drains_in_order(struct lease_heap *h, size_t expected)
{
	int64_t last = INT64_MIN;
	size_t n = 0;
	struct instance *inst;
	while ((inst = lease_first(h))) {
		if (inst->expires_ms < last || inst->lease_slot != 1)
			return 0;
		last = inst->expires_ms;
		lease_remove(h, inst);
		if (inst->lease_slot != 0)
			return 0;
		n++;
	}
	return n == expected;
}

int main(void)
{
	struct lease_heap h;
	lease_heap_init(&h);
	ok(lease_first(&h) == NULL, "empty heap has no first lease");

	struct instance a = { 0 }, b = { 0 }, c = { 0 };
	a.expires_ms = 300;
	b.expires_ms = 100;
	c.expires_ms = 200;
	lease_add(&h, &a);
	lease_add(&h, &b);
	lease_add(&h, &c);
	ok(lease_first(&h) == &b, "earliest lease first");
	b.expires_ms = 400;
	lease_update(&h, &b);
	ok(lease_first(&h) == &c, "renewal moves a lease back");
	lease_remove(&h, &c);
	ok(lease_first(&h) == &a && c.lease_slot == 0, "removal");
	lease_remove(&h, &c);
	is_int((long)h.count, 2, "removing twice is harmless");
	ok(drains_in_order(&h, 2), "drains in order");

	/* A million leases: add, renew a third, remove a tenth, then drain in order. */
	enum { N = 1000000 };
	struct instance *many = calloc(N, sizeof *many);
	for (size_t i = 0; i < N; i++) {
		many[i].expires_ms = (int64_t)(next_random() % 100000000);
		if (lease_add(&h, &many[i]) < 0)
			break;
	}
	is_int((long)h.count, N, "a million leases added");
	for (size_t i = 0; i < N; i += 3) {
		many[i].expires_ms = (int64_t)(next_random() % 100000000);
		lease_update(&h, &many[i]);
	}
	size_t removed = 0;
	for (size_t i = 0; i < N; i += 10, removed++)
		lease_remove(&h, &many[i]);
	is_int((long)h.count, (long)(N - removed), "a tenth removed");
	int slots_ok = 1;
	for (size_t i = 0; i < h.count; i++)
		if (h.items[i]->lease_slot != i + 1)
			slots_ok = 0;
	ok(slots_ok, "every instance knows its heap slot");
	ok(drains_in_order(&h, N - removed), "a million leases drain in order");

	/* A million leases ending in the same millisecond. */
	for (size_t i = 0; i < N; i++) {
		many[i].expires_ms = 5000;
		lease_add(&h, &many[i]);
	}
	ok(drains_in_order(&h, N), "a million equal lease ends drain");
	free(many);
	lease_heap_free(&h);
	return done_testing();
}

/* lease.h -- the lease timer: a binary min-heap of instances by lease end.
 *
 * Add, renew and remove are O(log n); the next expiry is O(1). Each instance
 * remembers its heap position (instance.lease_slot, 1-based; 0 = not in the heap),
 * so renewals and removals never search. */
#ifndef SVCDNS_LEASE_H
#define SVCDNS_LEASE_H

#include <stddef.h>
#include <stdint.h>

#include "registry.h"

struct lease_heap {
	struct instance **items;
	size_t count, capacity;
};

void lease_heap_init(struct lease_heap *h);
void lease_heap_free(struct lease_heap *h);
/* Adds an instance by its expires_ms; returns 0 or -1 when out of memory. */
int lease_add(struct lease_heap *h, struct instance *inst);
/* Moves an instance after its expires_ms changed. */
void lease_update(struct lease_heap *h, struct instance *inst);
/* Takes an instance out (no-op when it is not in). */
void lease_remove(struct lease_heap *h, struct instance *inst);
/* The instance whose lease ends first, or NULL. */
struct instance *lease_first(const struct lease_heap *h);

#endif

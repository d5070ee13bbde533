/* lease.c -- the lease timer: a binary min-heap of instances by lease end. */
#include <stdlib.h>

#include "lease.h"

void lease_heap_init(struct lease_heap *h)
{
	h->items = NULL;
	h->count = h->capacity = 0;
}

void lease_heap_free(struct lease_heap *h)
{
	for (size_t i = 0; i < h->count; i++)
		h->items[i]->lease_slot = 0;
	free(h->items);
	lease_heap_init(h);
}

static void place(struct lease_heap *h, size_t i, struct instance *inst)
{
	h->items[i] = inst;
	inst->lease_slot = (uint32_t)(i + 1);
}

static void sift_up(struct lease_heap *h, size_t i)
{
	struct instance *inst = h->items[i];
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (h->items[parent]->expires_ms <= inst->expires_ms)
			break;
		place(h, i, h->items[parent]);
		i = parent;
	}
	place(h, i, inst);
}

static void sift_down(struct lease_heap *h, size_t i)
{
	struct instance *inst = h->items[i];
	for (;;) {
		size_t child = 2 * i + 1;
		if (child >= h->count)
			break;
		if (child + 1 < h->count && h->items[child + 1]->expires_ms < h->items[child]->expires_ms)
			child++;
		if (inst->expires_ms <= h->items[child]->expires_ms)
			break;
		place(h, i, h->items[child]);
		i = child;
	}
	place(h, i, inst);
}

int lease_add(struct lease_heap *h, struct instance *inst)
{
	if (inst->lease_slot) {
		lease_update(h, inst);
		return 0;
	}
	if (h->count == h->capacity) {
		size_t cap = h->capacity ? h->capacity * 2 : 1024;
		struct instance **grown = realloc(h->items, cap * sizeof *grown);
		if (!grown)
			return -1;
		h->items = grown;
		h->capacity = cap;
	}
	h->items[h->count] = inst;
	sift_up(h, h->count++);
	return 0;
}

void lease_update(struct lease_heap *h, struct instance *inst)
{
	size_t i = inst->lease_slot - 1;
	sift_up(h, i);
	sift_down(h, inst->lease_slot - 1);
}

void lease_remove(struct lease_heap *h, struct instance *inst)
{
	if (!inst->lease_slot)
		return;
	size_t i = inst->lease_slot - 1;
	inst->lease_slot = 0;
	struct instance *last = h->items[--h->count];
	if (i == h->count)
		return;
	place(h, i, last);
	sift_up(h, i);
	sift_down(h, last->lease_slot - 1);
}

struct instance *lease_first(const struct lease_heap *h)
{
	return h->count ? h->items[0] : NULL;
}

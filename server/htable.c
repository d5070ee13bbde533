/* htable.c -- an intrusive hash table keyed by byte strings. */
#include <stdlib.h>
#include <string.h>

#include "htable.h"
#include "pool.h"

/* Large bucket arrays are mapped on huge pages: a lookup in a table of a million
 * names lands on a random bucket, and with small pages it would miss the TLB too. */
static struct hnode **buckets_alloc(size_t count)
{
	size_t size = count * sizeof(struct hnode *);
	return size >= POOL_MAP_MIN ? pool_map(size) : calloc(count, sizeof(struct hnode *));
}

static void buckets_free(struct hnode **buckets, size_t count)
{
	size_t size = count * sizeof *buckets;
	if (size >= POOL_MAP_MIN)
		pool_unmap(buckets, size);
	else
		free(buckets);
}

void htable_init(struct htable *t)
{
	memset(t, 0, sizeof *t);
}

void htable_free(struct htable *t)
{
	buckets_free(t->buckets, t->bucket_count);
	htable_init(t);
}

/* FNV-1a: short keys (DNS labels) dominate, where it is fast and spreads well. */
uint32_t htable_hash(const uint8_t *key, size_t len)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++) {
		h ^= key[i];
		h *= 16777619u;
	}
	return h;
}

struct hnode *htable_find(const struct htable *t, const uint8_t *key, size_t len)
{
	if (t->bucket_count == 0)
		return NULL;
	uint32_t h = htable_hash(key, len);
	for (struct hnode *n = t->buckets[h & (t->bucket_count - 1)]; n; n = n->next)
		if (n->hash == h && n->key_len == len && memcmp(n->key, key, len) == 0)
			return n;
	return NULL;
}

static int grow(struct htable *t)
{
	size_t new_count = t->bucket_count ? t->bucket_count * 2 : 64;
	struct hnode **nb = buckets_alloc(new_count);
	if (!nb)
		return -1;
	for (size_t i = 0; i < t->bucket_count; i++) {
		struct hnode *n = t->buckets[i];
		while (n) {
			struct hnode *next = n->next;
			size_t b = n->hash & (new_count - 1);
			n->next = nb[b];
			nb[b] = n;
			n = next;
		}
	}
	buckets_free(t->buckets, t->bucket_count);
	t->buckets = nb;
	t->bucket_count = new_count;
	return 0;
}

int htable_insert(struct htable *t, struct hnode *node, const uint8_t *key, size_t len)
{
	if (t->count >= t->bucket_count && grow(t) < 0)
		return -1;
	node->key = key;
	node->key_len = (uint32_t)len;
	node->hash = htable_hash(key, len);
	size_t b = node->hash & (t->bucket_count - 1);
	node->next = t->buckets[b];
	t->buckets[b] = node;
	t->count++;
	return 0;
}

void htable_remove(struct htable *t, struct hnode *node)
{
	struct hnode **link = &t->buckets[node->hash & (t->bucket_count - 1)];
	while (*link && *link != node)
		link = &(*link)->next;
	if (*link) {
		*link = node->next;
		t->count--;
	}
}

void htable_replace(struct htable *t, struct hnode *old_node, struct hnode *new_node, const uint8_t *key)
{
	struct hnode **link = &t->buckets[old_node->hash & (t->bucket_count - 1)];
	while (*link && *link != old_node)
		link = &(*link)->next;
	if (!*link)
		return;
	new_node->next = old_node->next;
	new_node->key = key;
	new_node->hash = old_node->hash;
	new_node->key_len = old_node->key_len;
	*link = new_node;
}

void htable_foreach(struct htable *t, void (*fn)(struct hnode *node, void *arg), void *arg)
{
	for (size_t i = 0; i < t->bucket_count; i++) {
		struct hnode *n = t->buckets[i];
		while (n) {
			struct hnode *next = n->next;
			fn(n, arg);
			n = next;
		}
	}
}

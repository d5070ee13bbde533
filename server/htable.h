/* htable.h -- an intrusive hash table keyed by byte strings.
 * Users embed a struct hnode in their records; the table never allocates records. */
#ifndef SVCDNS_HTABLE_H
#define SVCDNS_HTABLE_H

#include <stddef.h>
#include <stdint.h>

struct hnode {
	struct hnode *next;   /* next node in the same bucket */
	const uint8_t *key;   /* points into the record that embeds this node */
	uint32_t key_len;
	uint32_t hash;
};

struct htable {
	struct hnode **buckets;
	size_t bucket_count;  /* a power of two, or 0 before the first insert */
	size_t count;
};

#define HNODE_RECORD(node, type, member) \
	((type *)(void *)((char *)(node) - offsetof(type, member)))

void htable_init(struct htable *t);
/* Frees the bucket array; the records stay the caller's. */
void htable_free(struct htable *t);
uint32_t htable_hash(const uint8_t *key, size_t len);
struct hnode *htable_find(const struct htable *t, const uint8_t *key, size_t len);
/* Inserts a node whose key is not in the table yet; returns -1 when out of memory. */
int htable_insert(struct htable *t, struct hnode *node, const uint8_t *key, size_t len);
void htable_remove(struct htable *t, struct hnode *node);
/* Puts new_node in old_node's place; key (in new_node's record) must equal old_node's key. */
void htable_replace(struct htable *t, struct hnode *old_node, struct hnode *new_node, const uint8_t *key);
/* Calls fn for every node; fn may remove the node it is given. */
void htable_foreach(struct htable *t, void (*fn)(struct hnode *node, void *arg), void *arg);

#endif

/* pool.h -- memory for the registry's records (instances and services).
 *
 * A million instances are a million small records.  From malloc each would carry a
 * chunk header and sit on 4 KiB pages, so a lookup that misses the cache also
 * misses the TLB.  The pool hands out records from large chunks by bumping a
 * pointer, keeps freed records on a free list per 16-byte size class for the next
 * record of that size, and asks for transparent huge pages on its large chunks.
 * Memory goes back to the system only when the pool is destroyed: the registry's
 * size is bounded by its quotas, and freed records are reused. */
#ifndef SVCDNS_POOL_H
#define SVCDNS_POOL_H

#include <stddef.h>

#define POOL_GRAIN 16           /* record sizes are rounded up to a multiple of this */
#define POOL_RECORD_MAX 512     /* the largest record a pool hands out */

struct pool_chunk;

struct pool {
	void *free_lists[POOL_RECORD_MAX / POOL_GRAIN]; /* freed records, by size class */
	unsigned char *next, *end;   /* the unused rest of the newest chunk */
	struct pool_chunk *chunks;   /* every chunk, newest first */
	size_t next_chunk_size;      /* grows from 64 KiB to 2 MiB, so small registries stay small */
	size_t bytes;                /* in chunks */
};

/* Prepares an empty pool; it allocates nothing until the first record. */
void pool_init(struct pool *p);
/* Returns every chunk to the system; records still out become invalid. */
void pool_destroy(struct pool *p);
/* A zeroed record of size bytes (1 .. POOL_RECORD_MAX), or NULL when out of memory. */
void *pool_alloc(struct pool *p, size_t size);
/* Takes back a record from pool_alloc; size must be the size it was allocated with. */
void pool_free(struct pool *p, void *record, size_t size);

/* Zeroed memory straight from the system for large arrays (the hash tables' buckets):
 * size is a power of two of at least POOL_MAP_MIN, backed by huge pages when the kernel allows. */
#define POOL_MAP_MIN (2u << 20)
void *pool_map(size_t size);
/* Returns memory from pool_map. */
void pool_unmap(void *memory, size_t size);

#endif

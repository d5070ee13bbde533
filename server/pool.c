/* pool.c -- memory for the registry's records. */
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "pool.h"

#if defined(__SANITIZE_ADDRESS__)
#define POOL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define POOL_ASAN 1
#endif
#endif

#ifdef POOL_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/lsan_interface.h>
#endif

/* Under AddressSanitizer a record is poisoned while it is not handed out, so a use
 * after pool_free is reported as it would be after free(). */
static void mark_usable(void *addr, size_t size, int usable)
{
#ifdef POOL_ASAN
	if (usable)
		ASAN_UNPOISON_MEMORY_REGION(addr, size);
	else
		ASAN_POISON_MEMORY_REGION(addr, size);
#else
	(void)addr, (void)size, (void)usable;
#endif
}

/* LeakSanitizer looks for pointers to malloc'd blocks (an instance's TXT) in the heap,
 * stacks and globals, not in mappings of our own: it is told about them. */
static void leak_check_watch(void *addr, size_t size, int watch)
{
#ifdef POOL_ASAN
	if (watch)
		__lsan_register_root_region(addr, size);
	else
		__lsan_unregister_root_region(addr, size);
#else
	(void)addr, (void)size, (void)watch;
#endif
}

#define CHUNK_FIRST (64u << 10)
#define CHUNK_HUGE POOL_MAP_MIN /* the x86-64 huge page: chunks this large are aligned to it */

struct pool_chunk {
	struct pool_chunk *next;
	size_t size;            /* of the whole mapping, this header included */
};

struct free_record {
	struct free_record *next;
};

void pool_init(struct pool *p)
{
	memset(p, 0, sizeof *p);
	p->next_chunk_size = CHUNK_FIRST;
}

void pool_destroy(struct pool *p)
{
	struct pool_chunk *c = p->chunks;
	while (c) {
		struct pool_chunk *next = c->next;
		size_t size = c->size;
		mark_usable(c, size, 1);  /* the next mapping at this address starts clean */
		leak_check_watch(c, size, 0);
		munmap(c, size);
		c = next;
	}
	pool_init(p);
}

/* Maps size bytes aligned to size (a power of two): a huge page can back an aligned
 * 2 MiB range only.  Maps twice the size and unmaps the unaligned ends. */
static void *map_aligned(size_t size)
{
	uint8_t *raw = mmap(NULL, 2 * size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED)
		return NULL;
	uintptr_t start = ((uintptr_t)raw + size - 1) & ~(uintptr_t)(size - 1);
	size_t head = start - (uintptr_t)raw;
	if (head)
		munmap(raw, head);
	if (size - head)
		munmap((uint8_t *)start + size, size - head);
	return (void *)start;
}

void *pool_map(size_t size)
{
	void *memory = map_aligned(size);
	if (!memory)
		return NULL;
	/* Only a hint: without it (or with THP off) the memory works on small pages. */
	(void)madvise(memory, size, MADV_HUGEPAGE);
	leak_check_watch(memory, size, 1);
	return memory;
}

void pool_unmap(void *memory, size_t size)
{
	if (!memory)
		return;
	leak_check_watch(memory, size, 0);
	munmap(memory, size);
}

static int add_chunk(struct pool *p)
{
	size_t size = p->next_chunk_size;
	struct pool_chunk *c;
	if (size >= CHUNK_HUGE) {
		c = pool_map(size);
	} else {
		c = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (c == MAP_FAILED)
			c = NULL;
		else
			leak_check_watch(c, size, 1);
	}
	if (!c)
		return -1;
	c->next = p->chunks;
	c->size = size;
	p->chunks = c;
	p->bytes += size;
	p->next = (unsigned char *)c + POOL_GRAIN * ((sizeof *c + POOL_GRAIN - 1) / POOL_GRAIN);
	p->end = (unsigned char *)c + size;
	mark_usable(p->next, (size_t)(p->end - p->next), 0);
	if (size < CHUNK_HUGE)
		p->next_chunk_size = size * 2;
	return 0;
}

static size_t class_size(size_t size)
{
	return (size + POOL_GRAIN - 1) / POOL_GRAIN * POOL_GRAIN;
}

void *pool_alloc(struct pool *p, size_t size)
{
	if (size == 0 || size > POOL_RECORD_MAX)
		return NULL;
	size = class_size(size);
	void **list = &p->free_lists[size / POOL_GRAIN - 1];
	void *record = *list;
	if (record) {
		mark_usable(record, size, 1);
		*list = ((struct free_record *)record)->next;
		((struct free_record *)record)->next = NULL;
	} else {
		/* The rest of a chunk too small for this record is left unused: at most
		 * POOL_RECORD_MAX bytes of a chunk of 64 KiB or more. */
		if ((size_t)(p->end - p->next) < size && add_chunk(p) < 0)
			return NULL;
		record = p->next;
		p->next += size;
		mark_usable(record, size, 1);
	}
	return record;
}

void pool_free(struct pool *p, void *record, size_t size)
{
	if (!record || size == 0 || size > POOL_RECORD_MAX)
		return;  /* not from pool_alloc */
	size = class_size(size);
	/* Cleared here, not in pool_alloc: fresh chunk memory is zero already, and under
	 * ASan the chunks are LeakSanitizer roots, where a stale pointer would hide a leak. */
	memset(record, 0, size);
	void **list = &p->free_lists[size / POOL_GRAIN - 1];
	((struct free_record *)record)->next = *list;
	*list = record;
	mark_usable(record, size, 0);
}

/* ratelimit.c -- per-source token buckets: DNS RRL and the registration protocol.
 *
 * Every bucket comes from one pool; the table never allocates a bucket per source,
 * and never sweeps.  A source seen again moves to the young end of the age list; a
 * new source takes a fresh bucket while the pool lasts, then the oldest one.  The
 * source a flood targets (the victim's network) is asked about all the time and so
 * is never the oldest, however many other sources the flood spoofs. */
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "ratelimit.h"

struct rate_bucket {
	struct hnode node;
	TAILQ_ENTRY(rate_bucket) age;  /* in rate_limiter.by_age */
	uint8_t key[17];               /* family byte + address */
	double tokens;
	int64_t updated_ms;
};

void rate_limiter_init(struct rate_limiter *rl, double rate, double burst, size_t max_sources)
{
	memset(rl, 0, sizeof *rl);
	htable_init(&rl->buckets);
	TAILQ_INIT(&rl->by_age);
	rl->rate = rate;
	rl->burst = burst < 1 ? 1 : burst;
	rl->max_sources = max_sources > 0 ? max_sources : 1;
}

void rate_limiter_free(struct rate_limiter *rl)
{
	htable_free(&rl->buckets);
	free(rl->pool);
	rl->pool = NULL;
}

static void refill(const struct rate_limiter *rl, struct rate_bucket *b, int64_t now_ms)
{
	b->tokens += (double)(now_ms - b->updated_ms) * rl->rate / 1000.0;
	if (b->tokens > rl->burst)
		b->tokens = rl->burst;
	b->updated_ms = now_ms;
}

/* A bucket for a new source: the spare, a fresh one from the pool, or the least
 * recently used one, taken out of the table.  NULL only when the pool cannot be had. */
static struct rate_bucket *take_bucket(struct rate_limiter *rl)
{
	struct rate_bucket *b = rl->spare;
	if (b) {
		rl->spare = NULL;
		return b;
	}
	if (!rl->pool && !(rl->pool = calloc(rl->max_sources, sizeof *rl->pool)))
		return NULL;
	if (rl->pool_used < rl->max_sources)
		return &rl->pool[rl->pool_used++];
	b = TAILQ_FIRST(&rl->by_age);
	TAILQ_REMOVE(&rl->by_age, b, age);
	htable_remove(&rl->buckets, &b->node);
	return b;
}

static struct rate_bucket *new_source(struct rate_limiter *rl, const uint8_t key[17], int64_t now_ms)
{
	struct rate_bucket *b = take_bucket(rl);
	if (!b)
		return NULL;
	memcpy(b->key, key, sizeof b->key);
	b->tokens = rl->burst;
	b->updated_ms = now_ms;
	if (htable_insert(&rl->buckets, &b->node, b->key, sizeof b->key) < 0) {
		rl->spare = b;
		return NULL;
	}
	TAILQ_INSERT_TAIL(&rl->by_age, b, age);
	return b;
}

int rate_limiter_allow(struct rate_limiter *rl, const struct sockaddr *source, int64_t now_ms)
{
	if (rl->rate <= 0)
		return 1;
	uint8_t key[17];
	key[0] = (uint8_t)sockaddr_ip(source, key + 1);
	struct hnode *n = htable_find(&rl->buckets, key, sizeof key);
	struct rate_bucket *b;
	if (n) {
		b = HNODE_RECORD(n, struct rate_bucket, node);
		refill(rl, b, now_ms);
		TAILQ_REMOVE(&rl->by_age, b, age);
		TAILQ_INSERT_TAIL(&rl->by_age, b, age);
	} else if (!(b = new_source(rl, key, now_ms))) {
		return 1;  /* out of memory: never punish a source we cannot track */
	}
	if (b->tokens < 1)
		return 0;
	b->tokens -= 1;
	return 1;
}

/* ratelimit.c -- per-source token buckets for the registration protocol. */
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "ratelimit.h"

struct rate_bucket {
	struct hnode node;
	uint8_t key[17];          /* family byte + address */
	double tokens;
	int64_t updated_ms;
};

void rate_limiter_init(struct rate_limiter *rl, double rate, double burst, size_t max_sources)
{
	htable_init(&rl->buckets);
	rl->rate = rate;
	rl->burst = burst < 1 ? 1 : burst;
	rl->max_sources = max_sources;
}

static void free_bucket(struct hnode *node, void *arg)
{
	(void)arg;
	free(HNODE_RECORD(node, struct rate_bucket, node));
}

void rate_limiter_free(struct rate_limiter *rl)
{
	htable_foreach(&rl->buckets, free_bucket, NULL);
	htable_free(&rl->buckets);
}

static void refill(const struct rate_limiter *rl, struct rate_bucket *b, int64_t now_ms)
{
	b->tokens += (double)(now_ms - b->updated_ms) * rl->rate / 1000.0;
	if (b->tokens > rl->burst)
		b->tokens = rl->burst;
	b->updated_ms = now_ms;
}

struct sweep {
	struct rate_limiter *rl;
	int64_t now_ms;
};

/* A bucket that has refilled completely remembers nothing worth keeping. */
static void sweep_full(struct hnode *node, void *arg)
{
	struct sweep *s = arg;
	struct rate_bucket *b = HNODE_RECORD(node, struct rate_bucket, node);
	refill(s->rl, b, s->now_ms);
	if (b->tokens >= s->rl->burst) {
		htable_remove(&s->rl->buckets, node);
		free(b);
	}
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
	} else {
		if (rl->buckets.count >= rl->max_sources) {
			struct sweep s = { rl, now_ms };
			htable_foreach(&rl->buckets, sweep_full, &s);
			if (rl->buckets.count >= rl->max_sources)
				return 1;  /* too many sources to track: never punish an unknown one */
		}
		b = calloc(1, sizeof *b);
		if (!b)
			return 1;
		memcpy(b->key, key, sizeof key);
		b->tokens = rl->burst;
		b->updated_ms = now_ms;
		if (htable_insert(&rl->buckets, &b->node, b->key, sizeof b->key) < 0) {
			free(b);
			return 1;
		}
	}
	if (b->tokens < 1)
		return 0;
	b->tokens -= 1;
	return 1;
}

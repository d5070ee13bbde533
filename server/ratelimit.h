/* ratelimit.h -- per-source token buckets: DNS RRL and the registration protocol.
 *
 * A fixed pool of buckets, allocated once at first use, with the least recently used
 * one given to a new source when the pool is full: the cost per packet stays the same
 * however many sources a (spoofed) flood brings, and so does memory. */
#ifndef SVCDNS_RATELIMIT_H
#define SVCDNS_RATELIMIT_H

#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include "htable.h"

struct rate_bucket;

struct rate_limiter {
	struct htable buckets;    /* source address -> its bucket */
	double rate;              /* tokens per second; 0 disables the limiter */
	double burst;             /* bucket size */
	size_t max_sources;       /* buckets in the pool */
	struct rate_bucket *pool; /* max_sources buckets; NULL until the first source */
	size_t pool_used;         /* buckets of the pool handed out so far */
	struct rate_bucket *spare; /* a bucket that is in no table (an insert failed) */
	TAILQ_HEAD(, rate_bucket) by_age; /* buckets in the table, least recently used first */
};

/* Sets up an empty limiter of rate tokens per second, burst deep, for max_sources sources. */
void rate_limiter_init(struct rate_limiter *rl, double rate, double burst, size_t max_sources);
/* Frees the pool and the table. */
void rate_limiter_free(struct rate_limiter *rl);
/* Takes one token for the source; returns 1 when allowed, 0 when over the rate. */
int rate_limiter_allow(struct rate_limiter *rl, const struct sockaddr *source, int64_t now_ms);

#endif

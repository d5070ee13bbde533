/* ratelimit.h -- per-source token buckets for the registration protocol. */
#ifndef SVCDNS_RATELIMIT_H
#define SVCDNS_RATELIMIT_H

#include <stdint.h>
#include <sys/socket.h>

#include "htable.h"

struct rate_limiter {
	struct htable buckets;    /* one per source address */
	double rate;              /* tokens per second; 0 disables the limiter */
	double burst;             /* bucket size */
	size_t max_sources;       /* table bound: idle buckets are swept beyond it */
};

void rate_limiter_init(struct rate_limiter *rl, double rate, double burst, size_t max_sources);
void rate_limiter_free(struct rate_limiter *rl);
/* Takes one token for the source; returns 1 when allowed, 0 when over the rate. */
int rate_limiter_allow(struct rate_limiter *rl, const struct sockaddr *source, int64_t now_ms);

#endif

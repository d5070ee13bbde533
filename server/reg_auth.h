/* reg_auth.h -- signed registration requests: HMAC-SHA256 check, clock window, replay cache. */
#ifndef SVCDNS_REG_AUTH_H
#define SVCDNS_REG_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "htable.h"

#define AUTH_WINDOW_S 300   /* a request's ts may be this far from our clock */

struct seen_mac;

/* (key, ts, mac) triples accepted within the window, oldest first for eviction. */
struct replay_cache {
	struct htable seen;
	struct seen_mac *oldest, *newest;
};

void replay_cache_init(struct replay_cache *c);
void replay_cache_free(struct replay_cache *c);

/* Checks the ` key=NAME ts=SECONDS mac=HEX` that must end a request when keys are set.
 * On success returns 0, sets *key_index and *payload_len (the request without those
 * fields) and remembers the MAC; on failure returns -1 with *reason set. */
int reg_auth_verify(struct replay_cache *cache, const struct config *cfg, const char *line,
		    size_t len, int64_t now_s, int *key_index, size_t *payload_len,
		    const char **reason);
/* True when the key may touch the service (its patterns, or no patterns at all). */
int reg_key_allows(const struct reg_key *key, const char *service);

#endif

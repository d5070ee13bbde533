/* reg_auth.c -- signed registration requests: HMAC-SHA256 check, clock window, replay cache. */
#include <fnmatch.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

#include "reg_auth.h"

struct seen_mac {
	struct hnode node;
	struct seen_mac *next;    /* newer entry */
	int64_t ts;
	uint8_t key[2 + 8 + 32];  /* key index, ts, mac */
};

void replay_cache_init(struct replay_cache *c)
{
	htable_init(&c->seen);
	c->oldest = c->newest = NULL;
}

void replay_cache_free(struct replay_cache *c)
{
	while (c->oldest) {
		struct seen_mac *next = c->oldest->next;
		free(c->oldest);
		c->oldest = next;
	}
	htable_free(&c->seen);
	c->newest = NULL;
}

/* Entries whose ts left the window can never be replayed: they would be refused as stale. */
static void forget_old(struct replay_cache *c, int64_t now_s)
{
	while (c->oldest && c->oldest->ts < now_s - 2 * AUTH_WINDOW_S) {
		struct seen_mac *old = c->oldest;
		c->oldest = old->next;
		if (!c->oldest)
			c->newest = NULL;
		htable_remove(&c->seen, &old->node);
		free(old);
	}
}

/* Finds " name=" searching back from end; returns the value start or NULL. */
static const char *field_before(const char *line, const char *end, const char *name,
				const char **field_start)
{
	size_t nlen = strlen(name);
	for (const char *p = end - 1; p >= line; p--) {
		if (*p == ' ') {
			if ((size_t)(end - p - 1) > nlen && memcmp(p + 1, name, nlen) == 0) {
				*field_start = p;
				return p + 1 + nlen;
			}
			return NULL;  /* the field right before must be this one */
		}
	}
	return NULL;
}

static int hex_decode(const char *hex, size_t len, uint8_t *out, size_t out_len)
{
	if (len != 2 * out_len)
		return -1;
	for (size_t i = 0; i < out_len; i++) {
		int v = 0;
		for (int j = 0; j < 2; j++) {
			char ch = hex[2 * i + (size_t)j];
			v <<= 4;
			if (ch >= '0' && ch <= '9')
				v |= ch - '0';
			else if (ch >= 'a' && ch <= 'f')
				v |= ch - 'a' + 10;
			else if (ch >= 'A' && ch <= 'F')
				v |= ch - 'A' + 10;
			else
				return -1;
		}
		out[i] = (uint8_t)v;
	}
	return 0;
}

int reg_auth_verify(struct replay_cache *cache, const struct config *cfg, const char *line,
		    size_t len, int64_t now_s, int *key_index, size_t *payload_len,
		    const char **reason)
{
	const char *end = line + len, *mac_field, *ts_field, *key_field;
	const char *mac = field_before(line, end, "mac=", &mac_field);
	const char *ts = mac ? field_before(line, mac_field, "ts=", &ts_field) : NULL;
	const char *name = ts ? field_before(line, ts_field, "key=", &key_field) : NULL;
	if (!name) {
		*reason = "signature required: end the request with key=NAME ts=SECONDS mac=HEX";
		return -1;
	}
	char key_name[64];
	size_t name_len = (size_t)(ts_field - name);
	if (name_len == 0 || name_len >= sizeof key_name) {
		*reason = "unknown key";
		return -1;
	}
	memcpy(key_name, name, name_len);
	key_name[name_len] = 0;
	int index = config_find_key(cfg, key_name);
	if (index < 0) {
		*reason = "unknown key";
		return -1;
	}
	char *ts_end;
	long long ts_value = strtoll(ts, &ts_end, 10);
	if (ts_end != mac_field || ts == mac_field) {
		*reason = "ts is not a number";
		return -1;
	}
	if (ts_value < now_s - AUTH_WINDOW_S || ts_value > now_s + AUTH_WINDOW_S) {
		*reason = "ts is more than 300 s away from the server's clock";
		return -1;
	}
	uint8_t given[32], expected[32];
	unsigned expected_len = 0;
	const struct reg_key *key = &cfg->keys[index];
	if (hex_decode(mac, (size_t)(end - mac), given, sizeof given) < 0 ||
	    !HMAC(EVP_sha256(), key->secret, (int)key->secret_len, (const unsigned char *)line,
		  (size_t)(mac_field - line), expected, &expected_len) ||
	    CRYPTO_memcmp(given, expected, sizeof given) != 0) {
		*reason = "bad mac";
		return -1;
	}
	forget_old(cache, now_s);
	struct seen_mac *seen = calloc(1, sizeof *seen);
	if (!seen) {
		*reason = "out of memory";
		return -1;
	}
	seen->ts = ts_value;
	seen->key[0] = (uint8_t)(index >> 8);
	seen->key[1] = (uint8_t)index;
	memcpy(seen->key + 2, &ts_value, 8);
	memcpy(seen->key + 10, given, 32);
	if (htable_find(&cache->seen, seen->key, sizeof seen->key)) {
		free(seen);
		*reason = "replayed request (this key, ts and mac were seen before)";
		return -1;
	}
	if (htable_insert(&cache->seen, &seen->node, seen->key, sizeof seen->key) < 0) {
		free(seen);
		*reason = "out of memory";
		return -1;
	}
	if (cache->newest)
		cache->newest->next = seen;
	else
		cache->oldest = seen;
	cache->newest = seen;
	*key_index = index;
	*payload_len = (size_t)(key_field - line);
	return 0;
}

int reg_key_allows(const struct reg_key *key, const char *service)
{
	if (key->pattern_count == 0)
		return 1;
	for (size_t i = 0; i < key->pattern_count; i++)
		if (fnmatch(key->patterns[i], service, 0) == 0)
			return 1;
	return 0;
}

/* config_transfer.c -- the zone transfer keys: tsig-keys and transfer (allow, notify,
 * journal).
 *
 *   tsig-keys: [{name: xfr, algorithm: hmac-sha256, secret: "BASE64"}]
 *   transfer:
 *     allow:   [{from: 10.0.0.0/8, key: xfr}]
 *     notify:  [{to: "10.0.0.53:53", key: xfr}]
 *     journal: {versions: 10000, bytes: 64M}
 *
 * A key named in transfer is looked up once the whole file is read, so tsig-keys may
 * come before or after it. */
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config_yaml.h"

/* ---- tsig-keys ---- */

static const struct {
	const char *name;
	enum tsig_algorithm algorithm;
} algorithms[] = {
	{ "hmac-sha224", TSIG_HMAC_SHA224 },
	{ "hmac-sha256", TSIG_HMAC_SHA256 },
	{ "hmac-sha384", TSIG_HMAC_SHA384 },
	{ "hmac-sha512", TSIG_HMAC_SHA512 },
};

static int tsig_name(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	struct tsig_key *key = t;
	const char *text;
	if (cfg_get_string(y, v, k, &text) < 0)
		return -1;
	size_t len = dname_from_text(text, key->wire);
	if (len == 0 || strlen(text) >= sizeof key->name)
		return cfg_fail(y, v, k, "'%s' is not a domain name (tsig-keygen's key names are)", text);
	snprintf(key->name, sizeof key->name, "%s", text);
	return 0;
}

static int tsig_algorithm(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	const char *text;
	if (cfg_get_string(y, v, k, &text) < 0)
		return -1;
	for (size_t i = 0; i < sizeof algorithms / sizeof algorithms[0]; i++)
		if (strcasecmp(text, algorithms[i].name) == 0) {
			((struct tsig_key *)t)->algorithm = algorithms[i].algorithm;
			return 0;
		}
	if (strncasecmp(text, "hmac-md5", 8) == 0 || strcasecmp(text, "hmac-sha1") == 0)
		return cfg_fail(y, v, k, "'%s' is too weak (RFC 8945 6): use hmac-sha256", text);
	return cfg_fail(y, v, k, "'%s': use hmac-sha224, hmac-sha256, hmac-sha384 or hmac-sha512", text);
}

static int set_tsig_secret(struct yaml_ctx *y, yaml_node_t *v, const char *k, struct tsig_key *key,
			   char *text)
{
	size_t len = strlen(text);
	while (len && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '))
		text[--len] = 0;
	/* EVP_DecodeBlock counts padding as zero bytes: take them off again. */
	int n = -1;
	if (len && len % 4 == 0 && len / 4 * 3 <= sizeof key->secret &&
	    strspn(text, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") == len)
		n = EVP_DecodeBlock(key->secret, (const unsigned char *)text, (int)len);
	if (n > 0)
		n -= (text[len - 1] == '=') + (text[len - 2] == '=');
	if (n <= 0)
		return cfg_fail(y, v, k, "not a base64 secret (as tsig-keygen and keymgr print them)");
	key->secret_len = (size_t)n;
	return 0;
}

static int tsig_secret(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	const char *text;
	char copy[TSIG_SECRET_MAX * 2];
	if (cfg_get_string(y, v, k, &text) < 0)
		return -1;
	snprintf(copy, sizeof copy, "%s", text);
	return set_tsig_secret(y, v, k, t, copy);
}

static int tsig_secret_file(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	char buf[TSIG_SECRET_MAX * 2];
	size_t n;
	if (cfg_read_secret_file(y, v, k, buf, sizeof buf - 1, &n) < 0)
		return -1;
	buf[n] = 0;
	return set_tsig_secret(y, v, k, t, buf);
}

static const struct key_rule tsig_rules[] = {
	{ "name", tsig_name },
	{ "algorithm", tsig_algorithm },
	{ "secret", tsig_secret },
	{ "secret-file", tsig_secret_file },
	{ NULL, NULL },
};

int set_tsig_keys(struct yaml_ctx *y, void *target, const char *key, yaml_node_t *v)
{
	struct config *cfg = target;
	if (v->type != YAML_SEQUENCE_NODE)
		return cfg_fail(y, v, key, "expected a list of keys");
	free(cfg->tsig_keys);
	cfg->tsig_keys = NULL;
	cfg->tsig_key_count = 0;
	size_t index = 0;
	for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
		yaml_node_t *item = yaml_document_get_node(y->doc, *it);
		char where[CFG_KEY_MAX];
		snprintf(where, sizeof where, "%s[%zu]", key, index++);
		struct tsig_key *grown = realloc(cfg->tsig_keys, (cfg->tsig_key_count + 1) * sizeof *grown);
		if (!grown)
			return cfg_fail(y, item, where, "out of memory");
		cfg->tsig_keys = grown;
		struct tsig_key *k = &cfg->tsig_keys[cfg->tsig_key_count++];
		memset(k, 0, sizeof *k);
		k->algorithm = TSIG_HMAC_SHA256;
		if (cfg_apply_mapping(y, item, where, tsig_rules, k) < 0)
			return -1;
		if (!k->name[0])
			return cfg_fail(y, item, where, "missing key 'name'");
		if (!k->secret_len)
			return cfg_fail(y, item, where, "missing key 'secret' or 'secret-file'");
		for (size_t i = 0; i + 1 < cfg->tsig_key_count; i++)
			if (strcmp((char *)cfg->tsig_keys[i].wire, (char *)k->wire) == 0)
				return cfg_fail(y, item, where, "key '%s' is listed twice", k->name);
	}
	return 0;
}

/* ---- transfer ---- */

static int key_ref(struct yaml_ctx *y, yaml_node_t *v, const char *k, struct key_ref *ref)
{
	const char *text;
	if (cfg_get_string(y, v, k, &text) < 0)
		return -1;
	snprintf(ref->name, sizeof ref->name, "%s", text);
	snprintf(ref->where, sizeof ref->where, "%s:%lu: %s", y->path,
		 (unsigned long)v->start_mark.line + 1, k);
	return 0;
}

static int add_from(struct yaml_ctx *y, yaml_node_t *v, const char *k, void *arg)
{
	const char *text;
	struct cidr c;
	if (cfg_get_string(y, v, k, &text) < 0)
		return -1;
	if (cidr_parse(text, &c) < 0)
		return cfg_fail(y, v, k, "'%s' is not an address or CIDR", text);
	if (cidr_has_host_bits(&c)) {
		char net[64];
		cidr_format(&c, net, sizeof net);
		return cfg_fail(y, v, k, "'%s' has host bits set: did you mean %s?", text, net);
	}
	return cidr_list_add(arg, &c) < 0 ? cfg_fail(y, v, k, "out of memory") : 0;
}

static int allow_from(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return cfg_for_each_item(y, v, k, add_from, &((struct transfer_acl *)t)->from);
}
static int allow_key(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return key_ref(y, v, k, &((struct transfer_acl *)t)->key);
}
static const struct key_rule allow_rules[] = {
	{ "from", allow_from },
	{ "key", allow_key },
	{ NULL, NULL },
};

static int notify_to(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	const char *text;
	char err[CONFIG_ERROR_MAX];
	if (cfg_get_string(y, v, k, &text) < 0)
		return -1;
	if (config_parse_upstream(text, &((struct notify_target *)t)->to, err) < 0)
		return cfg_fail(y, v, k, "%s", err);
	return 0;
}
static int notify_key(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return key_ref(y, v, k, &((struct notify_target *)t)->key);
}
static const struct key_rule notify_rules[] = {
	{ "to", notify_to },
	{ "key", notify_key },
	{ NULL, NULL },
};

/* Reads a list of mappings into a growing array of elements of size bytes. */
static int allow_complete(const void *elem)
{
	return ((const struct transfer_acl *)elem)->from.count > 0;
}

static int notify_complete(const void *elem)
{
	return ((const struct notify_target *)elem)->to.sa_len > 0;
}

/* Reads a list of mappings into a growing array of elements of size bytes; each must
 * have its required key (complete() tells). */
static int read_list(struct yaml_ctx *y, yaml_node_t *v, const char *key, const struct key_rule *rules,
		     void **array, size_t *count, size_t size, const char *required,
		     int (*complete)(const void *elem))
{
	if (v->type != YAML_SEQUENCE_NODE)
		return cfg_fail(y, v, key, "expected a list");
	size_t index = 0;
	for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
		yaml_node_t *item = yaml_document_get_node(y->doc, *it);
		char where[CFG_KEY_MAX];
		snprintf(where, sizeof where, "%s[%zu]", key, index++);
		char *grown = realloc(*array, (*count + 1) * size);
		if (!grown)
			return cfg_fail(y, item, where, "out of memory");
		*array = grown;
		char *elem = grown + *count * size;
		memset(elem, 0, size);
		(*count)++;
		if (cfg_apply_mapping(y, item, where, rules, elem) < 0)
			return -1;
		if (!complete(elem))
			return cfg_fail(y, item, where, "missing key '%s'", required);
	}
	return 0;
}

static void free_allow(struct config *cfg)
{
	for (size_t i = 0; i < cfg->transfer_allow_count; i++)
		cidr_list_free(&cfg->transfer_allow[i].from);
	free(cfg->transfer_allow);
	cfg->transfer_allow = NULL;
	cfg->transfer_allow_count = 0;
}

static int transfer_allow(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	struct config *cfg = t;
	free_allow(cfg);
	return read_list(y, v, k, allow_rules, (void **)&cfg->transfer_allow,
			 &cfg->transfer_allow_count, sizeof *cfg->transfer_allow, "from", allow_complete);
}

static int transfer_notify(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	struct config *cfg = t;
	free(cfg->notify);
	cfg->notify = NULL;
	cfg->notify_count = 0;
	return read_list(y, v, k, notify_rules, (void **)&cfg->notify, &cfg->notify_count,
			 sizeof *cfg->notify, "to", notify_complete);
}

static int journal_versions(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return cfg_set_u32(y, k, v, &((struct config *)t)->journal_versions, 1, 1000000);
}

/* A size: bytes, or with K, M or G (powers of 1024). */
static int journal_bytes(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	const char *text;
	if (cfg_get_string(y, v, k, &text) < 0)
		return -1;
	char *end;
	errno = 0;
	unsigned long long n = strtoull(text, &end, 10);
	unsigned shift = *end == 'K' ? 10 : *end == 'M' ? 20 : *end == 'G' ? 30 : 0;
	if (shift)
		end++;
	if (errno || end == text || *end || text[0] == '-' || n == 0 || n > (16ull << 30) >> shift)
		return cfg_fail(y, v, k, "'%s': a size from 1 to 16G (bytes, or with K, M, G)", text);
	((struct config *)t)->journal_bytes = n << shift;
	return 0;
}

static const struct key_rule journal_rules[] = {
	{ "versions", journal_versions },
	{ "bytes", journal_bytes },
	{ NULL, NULL },
};

static int transfer_journal(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return cfg_apply_mapping(y, v, k, journal_rules, t);
}

static const struct key_rule transfer_rules[] = {
	{ "allow", transfer_allow },
	{ "notify", transfer_notify },
	{ "journal", transfer_journal },
	{ NULL, NULL },
};

int set_transfer(struct yaml_ctx *y, void *target, const char *key, yaml_node_t *v)
{
	return cfg_apply_mapping(y, v, key, transfer_rules, target);
}

/* ---- after the whole file ---- */

static int resolve(const struct config *cfg, struct key_ref *ref, char err[CONFIG_ERROR_MAX])
{
	ref->index = -1;
	if (!ref->name[0])
		return 0;
	uint8_t wire[DNAME_MAX_WIRE];
	if (dname_from_text(ref->name, wire))
		for (size_t i = 0; i < cfg->tsig_key_count; i++)
			if (strcmp((char *)cfg->tsig_keys[i].wire, (char *)wire) == 0) {
				ref->index = (int)i;
				return 0;
			}
	snprintf(err, CONFIG_ERROR_MAX, "%s: no key '%s' in tsig-keys", ref->where, ref->name);
	return -1;
}

int config_resolve_transfer_keys(struct config *cfg, char err[CONFIG_ERROR_MAX])
{
	for (size_t i = 0; i < cfg->transfer_allow_count; i++)
		if (resolve(cfg, &cfg->transfer_allow[i].key, err) < 0)
			return -1;
	for (size_t i = 0; i < cfg->notify_count; i++)
		if (resolve(cfg, &cfg->notify[i].key, err) < 0)
			return -1;
	return 0;
}

void config_free_transfer(struct config *cfg)
{
	free(cfg->tsig_keys);
	cfg->tsig_keys = NULL;
	cfg->tsig_key_count = 0;
	free_allow(cfg);
	free(cfg->notify);
	cfg->notify = NULL;
	cfg->notify_count = 0;
}

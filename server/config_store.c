/* config_store.c -- the etcd store's settings: --store / store:, store-tls, store-auth,
 * store-prefix, store-timeout, node-id and node-lease (store.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_yaml.h"

int config_parse_store_url(struct config *cfg, const char *text, char err[CONFIG_ERROR_MAX])
{
	struct store_config *st = &cfg->store;
	const char *rest;
	if (strncmp(text, "etcd://", 7) == 0) {
		st->tls = 0;
		rest = text + 7;
	} else if (strncmp(text, "etcds://", 8) == 0) {
		st->tls = 1;
		rest = text + 8;
	} else {
		snprintf(err, CONFIG_ERROR_MAX, "'%s': use etcd://HOST:PORT[,HOST:PORT]... or etcds://...", text);
		return -1;
	}
	if (strlen(text) >= sizeof st->url) {
		snprintf(err, CONFIG_ERROR_MAX, "too long");
		return -1;
	}
	st->endpoint_count = 0;
	while (*rest) {
		size_t len = strcspn(rest, ",");
		const char *colon = memrchr(rest, ':', len);
		char *end;
		unsigned long port = colon ? strtoul(colon + 1, &end, 10) : 0;
		size_t host_len = colon ? (size_t)(colon - rest) : 0;
		if (!colon || end != rest + len || port == 0 || port > 65535 || host_len == 0 ||
		    host_len >= sizeof st->endpoints[0].host) {
			snprintf(err, CONFIG_ERROR_MAX, "'%.*s': expected HOST:PORT", (int)len, rest);
			return -1;
		}
		if (st->endpoint_count == STORE_MAX_ENDPOINTS) {
			snprintf(err, CONFIG_ERROR_MAX, "at most %d endpoints", STORE_MAX_ENDPOINTS);
			return -1;
		}
		if (rest[0] == '[' && colon[-1] == ']') {  /* [::1]:2379 */
			rest++;
			host_len -= 2;
		}
		memcpy(st->endpoints[st->endpoint_count].host, rest, host_len);
		st->endpoints[st->endpoint_count].host[host_len] = 0;
		st->endpoints[st->endpoint_count++].port = (uint16_t)port;
		rest += len + (rest[len] == ',');
	}
	if (st->endpoint_count == 0) {
		snprintf(err, CONFIG_ERROR_MAX, "'%s': no endpoint", text);
		return -1;
	}
	snprintf(st->url, sizeof st->url, "%s", text);
	st->enabled = 1;
	return 0;
}

int set_store(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	const char *text;
	char reason[CONFIG_ERROR_MAX];
	if (cfg_get_string(y, v, k, &text) < 0)
		return -1;
	if (config_parse_store_url(t, text, reason) < 0)
		return cfg_fail(y, v, k, "%s", reason);
	return 0;
}

static int set_tls_ca(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	struct store_config *st = &((struct config *)t)->store;
	return cfg_set_path(y, k, v, st->tls_ca, sizeof st->tls_ca);
}
static int set_tls_cert(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	struct store_config *st = &((struct config *)t)->store;
	return cfg_set_path(y, k, v, st->tls_cert, sizeof st->tls_cert);
}
static int set_tls_key(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	struct store_config *st = &((struct config *)t)->store;
	return cfg_set_path(y, k, v, st->tls_key, sizeof st->tls_key);
}

static const struct key_rule tls_rules[] = {
	{ "ca", set_tls_ca },
	{ "cert", set_tls_cert },
	{ "key", set_tls_key },
	{ NULL, NULL },
};

int set_store_tls(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return cfg_apply_mapping(y, v, k, tls_rules, t);
}

static int set_auth_user(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	struct store_config *st = &((struct config *)t)->store;
	const char *text;
	if (cfg_get_string(y, v, k, &text) < 0)
		return -1;
	if (!*text || strlen(text) >= sizeof st->auth_user)
		return cfg_fail(y, v, k, "1 to %zu characters", sizeof st->auth_user - 1);
	strcpy(st->auth_user, text);
	return 0;
}

/* The password lives in its own file (mode 600), never in the config; one trailing
 * newline is not part of it. */
static int set_auth_password_file(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	struct store_config *st = &((struct config *)t)->store;
	size_t len;
	if (cfg_read_secret_file(y, v, k, st->auth_password, sizeof st->auth_password - 1, &len) < 0)
		return -1;
	while (len && (st->auth_password[len - 1] == '\n' || st->auth_password[len - 1] == '\r'))
		len--;
	st->auth_password[len] = 0;
	if (len == 0 || strlen(st->auth_password) != len)
		return cfg_fail(y, v, k, "the file holds no password (or a NUL byte)");
	return 0;
}

static const struct key_rule auth_rules[] = {
	{ "user", set_auth_user },
	{ "password-file", set_auth_password_file },
	{ NULL, NULL },
};

int set_store_auth(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	struct store_config *st = &((struct config *)t)->store;
	if (cfg_apply_mapping(y, v, k, auth_rules, t) < 0)
		return -1;
	if (!st->auth_user[0] || !st->auth_password[0])
		return cfg_fail(y, v, k, "needs both user and password-file");
	return 0;
}

int set_store_prefix(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	struct store_config *st = &((struct config *)t)->store;
	const char *text;
	if (cfg_get_string(y, v, k, &text) < 0)
		return -1;
	size_t len = strlen(text);
	if (len < 2 || text[0] != '/' || text[len - 1] != '/' || len >= sizeof st->prefix - 1)
		return cfg_fail(y, v, k, "'%s': a key prefix starting and ending with '/' (like /svcdns/prod/)", text);
	strcpy(st->prefix, text);
	return 0;
}

int set_store_timeout(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	uint32_t s;
	if (cfg_set_u32(y, k, v, &s, 1, 300) < 0)
		return -1;
	((struct config *)t)->store.timeout_ms = s * 1000;
	return 0;
}

int set_node_id(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	struct store_config *st = &((struct config *)t)->store;
	const char *text;
	if (cfg_get_string(y, v, k, &text) < 0)
		return -1;
	size_t len = strlen(text);
	if (len == 0 || len >= sizeof st->node_id || strcspn(text, "/ \t\"\\") != len)
		return cfg_fail(y, v, k, "'%s': 1-%zu characters, no '/', space, quote or backslash", text,
				sizeof st->node_id - 1);
	strcpy(st->node_id, text);
	return 0;
}

int set_node_lease(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return cfg_set_u32(y, k, v, &((struct config *)t)->store.node_lease_s, 2, 3600);
}

void config_store_defaults(struct config *cfg)
{
	cfg->store.timeout_ms = 5000;
	cfg->store.node_lease_s = 10;
}

int config_store_finish(struct config *cfg, char err[CONFIG_ERROR_MAX])
{
	struct store_config *st = &cfg->store;
	if (!st->enabled)
		return 0;
	if (cfg->state_file[0]) {
		snprintf(err, CONFIG_ERROR_MAX, "store: etcd is the durable copy: --store excludes --state (state:)");
		return -1;
	}
	if (!st->tls && (st->tls_ca[0] || st->tls_cert[0])) {
		snprintf(err, CONFIG_ERROR_MAX, "store-tls: needs an etcds:// store");
		return -1;
	}
	if (!st->tls_cert[0] != !st->tls_key[0]) {
		snprintf(err, CONFIG_ERROR_MAX, "store-tls: cert and key go together");
		return -1;
	}
	if (!st->prefix[0]) {
		char domain[DNAME_MAX_TEXT];
		snprintf(domain, sizeof domain, "%s", cfg->domain_text);
		size_t n = strlen(domain);
		if (n && domain[n - 1] == '.')
			domain[n - 1] = 0;
		snprintf(st->prefix, sizeof st->prefix, "/svcdns/%s/", domain);
	}
	if (!st->node_id[0]) {
		char host[64] = "localhost";
		if (gethostname(host, sizeof host) < 0)
			host[0] = 0;
		host[sizeof host - 1] = 0;
		const char *port = cfg->reg_count ? strrchr(cfg->reg[0].text, ':') : NULL;
		snprintf(st->node_id, sizeof st->node_id, "%s%s", host, port ? port : ":8053");
	}
	return 0;
}

/* config_lists.c -- the list-valued config keys: static service instances and signing keys. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config_yaml.h"

/* ---- services: static instances ---------------------------------------- */

static int svc_service(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return cfg_get_label(y, v, k, ((struct instance_spec *)t)->service);
}
static int svc_instance(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return cfg_get_label(y, v, k, ((struct instance_spec *)t)->instance);
}
static int svc_address(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	struct instance_spec *s = t;
	const char *text;
	if (cfg_get_string(y, v, k, &text) < 0)
		return -1;
	if (cfg_parse_ip(text, &s->family, s->addr) < 0)
		return cfg_fail(y, v, k, "'%s' is not an IPv4 or IPv6 address", text);
	return 0;
}
static int svc_u16(struct yaml_ctx *y, yaml_node_t *v, const char *k, uint16_t *field)
{
	unsigned long n;
	if (cfg_get_uint(y, v, k, 0, 65535, &n) < 0)
		return -1;
	*field = (uint16_t)n;
	return 0;
}
static int svc_port(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return svc_u16(y, v, k, &((struct instance_spec *)t)->port);
}
static int svc_priority(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return svc_u16(y, v, k, &((struct instance_spec *)t)->priority);
}
static int svc_weight(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	((struct instance_spec *)t)->extras.weight_set = true;  /* as REGISTER's weight= */
	return svc_u16(y, v, k, &((struct instance_spec *)t)->weight);
}
static int svc_proto(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	const char *text;
	if (cfg_get_string(y, v, k, &text) < 0)
		return -1;
	if (strcmp(text, "tcp") == 0)
		((struct instance_spec *)t)->proto = PROTO_TCP;
	else if (strcmp(text, "udp") == 0)
		((struct instance_spec *)t)->proto = PROTO_UDP;
	else
		return cfg_fail(y, v, k, "'%s': use tcp or udp", text);
	return 0;
}
static int add_txt(struct yaml_ctx *y, yaml_node_t *v, const char *k, void *arg)
{
	struct instance_spec *s = arg;
	const char *text;
	if (cfg_get_string(y, v, k, &text) < 0)
		return -1;
	size_t len = strlen(text);
	if (len > 255)
		return cfg_fail(y, v, k, "a TXT string holds at most 255 bytes");
	if (s->txt_len + len + 1 > REGISTRY_TXT_MAX)
		return cfg_fail(y, v, k, "at most %d bytes of TXT data per instance", REGISTRY_TXT_MAX);
	s->txt[s->txt_len++] = (uint8_t)len;
	memcpy(s->txt + s->txt_len, text, len);
	s->txt_len = (uint16_t)(s->txt_len + len);
	return 0;
}
static int svc_txt(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return cfg_for_each_item(y, v, k, add_txt, t);
}

static const struct key_rule service_rules[] = {
	{ "service", svc_service },
	{ "instance", svc_instance },
	{ "address", svc_address },
	{ "port", svc_port },
	{ "proto", svc_proto },
	{ "priority", svc_priority },
	{ "weight", svc_weight },
	{ "txt", svc_txt },
	{ "check", set_service_check },
	{ "tags", set_service_tags },
	{ "addrs", set_service_addrs },
	{ "network", set_service_network },
	{ NULL, NULL },
};

static int add_service(struct yaml_ctx *y, struct config *cfg, yaml_node_t *item, size_t index)
{
	char where[64];
	snprintf(where, sizeof where, "services[%zu]", index);
	struct instance_spec *grown = realloc(cfg->services, (cfg->service_count + 1) * sizeof *grown);
	if (!grown)
		return cfg_fail(y, item, where, "out of memory");
	cfg->services = grown;
	struct instance_spec *s = &cfg->services[cfg->service_count];
	memset(s, 0, sizeof *s);
	s->is_static = true;
	if (cfg_apply_mapping(y, item, where, service_rules, s) < 0)
		return -1;
	if (!s->service[0])
		return cfg_fail(y, item, where, "missing key 'service'");
	if (!s->instance[0])
		return cfg_fail(y, item, where, "missing key 'instance'");
	if (!s->family)
		return cfg_fail(y, item, where, "missing key 'address'");
	if (s->check.kind && !health_host_allowed(&s->check, s->family, s->addr))
		return cfg_fail(y, item, where, "check: HOST must be the instance's own address");
	for (size_t i = 0; i < cfg->service_count; i++)
		if (!strcmp(cfg->services[i].service, s->service) &&
		    !strcmp(cfg->services[i].instance, s->instance))
			return cfg_fail(y, item, where, "instance %s.%s is listed twice",
				    s->instance, s->service);
	if (cfg_check_service_names(y, cfg, s, item, where) < 0)
		return -1;
	cfg->service_count++;
	return 0;
}

int set_services(struct yaml_ctx *y, void *target, const char *key, yaml_node_t *v)
{
	if (v->type != YAML_SEQUENCE_NODE)
		return cfg_fail(y, v, key, "expected a list of instances");
	size_t index = 0;
	for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++)
		if (add_service(y, target, yaml_document_get_node(y->doc, *it), index++) < 0)
			return -1;
	return 0;
}

/* ---- keys ---------------------------------------------------------------- */

static int key_name(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	struct reg_key *key = t;
	const char *text;
	if (cfg_get_string(y, v, k, &text) < 0)
		return -1;
	size_t len = strlen(text);
	if (len == 0 || len >= sizeof key->name || strpbrk(text, " =\t"))
		return cfg_fail(y, v, k, "'%s': a key name is 1-63 characters without spaces or '='", text);
	strcpy(key->name, text);
	return 0;
}

static int set_secret(struct yaml_ctx *y, yaml_node_t *v, const char *k, struct reg_key *key,
		      const char *secret, size_t len)
{
	while (len && (secret[len - 1] == '\n' || secret[len - 1] == '\r'))
		len--;
	if (len < 16 || len > sizeof key->secret)
		return cfg_fail(y, v, k, "a secret is 16-256 bytes");
	memcpy(key->secret, secret, len);
	key->secret_len = len;
	return 0;
}

static int key_secret(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	const char *text;
	if (cfg_get_string(y, v, k, &text) < 0)
		return -1;
	return set_secret(y, v, k, t, text, strlen(text));
}

/* A secret kept apart from the config must not be readable by others. */
static int key_secret_file(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	char buf[300];
	size_t n;
	if (cfg_read_secret_file(y, v, k, buf, sizeof buf, &n) < 0)
		return -1;
	return set_secret(y, v, k, t, buf, n);
}

static int add_pattern(struct yaml_ctx *y, yaml_node_t *v, const char *k, void *arg)
{
	struct reg_key *key = arg;
	const char *text;
	if (cfg_get_string(y, v, k, &text) < 0)
		return -1;
	char **grown = realloc(key->patterns, (key->pattern_count + 1) * sizeof *grown);
	if (!grown)
		return cfg_fail(y, v, k, "out of memory");
	key->patterns = grown;
	if (!(key->patterns[key->pattern_count] = strdup(text)))
		return cfg_fail(y, v, k, "out of memory");
	key->pattern_count++;
	return 0;
}

static int key_services(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return cfg_for_each_item(y, v, k, add_pattern, t);
}

static const struct key_rule key_rules[] = {
	{ "name", key_name },
	{ "secret", key_secret },
	{ "secret-file", key_secret_file },
	{ "services", key_services },
	{ NULL, NULL },
};

int set_keys(struct yaml_ctx *y, void *target, const char *key, yaml_node_t *v)
{
	struct config *cfg = target;
	if (v->type != YAML_SEQUENCE_NODE)
		return cfg_fail(y, v, key, "expected a list of keys");
	config_free_keys(cfg);
	size_t index = 0;
	for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
		yaml_node_t *item = yaml_document_get_node(y->doc, *it);
		char where[32];
		snprintf(where, sizeof where, "keys[%zu]", index++);
		struct reg_key *grown = realloc(cfg->keys, (cfg->key_count + 1) * sizeof *grown);
		if (!grown)
			return cfg_fail(y, item, where, "out of memory");
		cfg->keys = grown;
		struct reg_key *k = &cfg->keys[cfg->key_count++];
		memset(k, 0, sizeof *k);
		if (cfg_apply_mapping(y, item, where, key_rules, k) < 0)
			return -1;
		if (!k->name[0])
			return cfg_fail(y, item, where, "missing key 'name'");
		if (!k->secret_len)
			return cfg_fail(y, item, where, "missing key 'secret' or 'secret-file'");
		for (size_t i = 0; i + 1 < cfg->key_count; i++)
			if (strcmp(cfg->keys[i].name, k->name) == 0)
				return cfg_fail(y, item, where, "key '%s' is listed twice", k->name);
	}
	return 0;
}

/* config_health.c -- the health: settings and the check: of static services. */
#include <stdio.h>
#include <string.h>

#include "config_yaml.h"

/* ---- health: {max-concurrent, only-passing, fail-open} ---------------------------- */

static int set_max_concurrent(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return cfg_set_u32(y, k, v, &((struct config *)t)->health_max_concurrent, 1, 100000);
}
static int set_only_passing(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return set_bool(y, v, k, &((struct config *)t)->health_only_passing);
}
static int set_fail_open(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return set_bool(y, v, k, &((struct config *)t)->health_fail_open);
}

static const struct key_rule health_rules[] = {
	{ "max-concurrent", set_max_concurrent },
	{ "only-passing", set_only_passing },
	{ "fail-open", set_fail_open },
	{ NULL, NULL },
};

int set_health(struct yaml_ctx *y, void *target, const char *key, yaml_node_t *v)
{
	return cfg_apply_mapping(y, v, key, health_rules, target);
}

/* ---- services[].check: "URL", or {http|tcp|grpc: URL, interval, timeout, fall, rise} ---- */

static int check_url(struct yaml_ctx *y, yaml_node_t *v, const char *key, const char *scheme,
		     struct health_check_spec *spec)
{
	const char *text, *reason;
	char url[HEALTH_URL_MAX + 16];
	if (cfg_get_string(y, v, key, &text) < 0)
		return -1;
	if (spec->kind)
		return cfg_fail(y, v, key, "one check per instance: http, tcp or grpc");
	/* Under a scheme's key the scheme may be left out: {tcp: ":9000"}. */
	if (scheme && !strstr(text, "://") && strcmp(text, "tcp") != 0)
		snprintf(url, sizeof url, "%s://%s", scheme, text);
	else
		snprintf(url, sizeof url, "%s", text);
	struct health_check_spec parsed;
	if (health_parse_url(url, &parsed, &reason) < 0)
		return cfg_fail(y, v, key, "'%s': %s", text, reason + strlen("check: "));
	if (scheme && strcmp(health_kind_name(parsed.kind), scheme) != 0)
		return cfg_fail(y, v, key, "'%s' is not a %s check", text, scheme);
	/* the timing set so far stays */
	parsed.interval_ms = spec->interval_ms;
	parsed.timeout_ms = spec->timeout_ms;
	parsed.fall = spec->fall;
	parsed.rise = spec->rise;
	*spec = parsed;
	return 0;
}

static int chk_http(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return check_url(y, v, k, "http", t);
}
static int chk_tcp(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return check_url(y, v, k, "tcp", t);
}
static int chk_grpc(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return check_url(y, v, k, "grpc", t);
}
static int chk_duration(struct yaml_ctx *y, yaml_node_t *v, const char *k, uint32_t *field)
{
	const char *text;
	if (cfg_get_string(y, v, k, &text) < 0)
		return -1;
	if (health_parse_duration(text, field) < 0 || *field == 0)
		return cfg_fail(y, v, k, "'%s' is not a duration (10s, 500ms)", text);
	return 0;
}
static int chk_interval(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return chk_duration(y, v, k, &((struct health_check_spec *)t)->interval_ms);
}
static int chk_timeout(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return chk_duration(y, v, k, &((struct health_check_spec *)t)->timeout_ms);
}
static int chk_count(struct yaml_ctx *y, yaml_node_t *v, const char *k, uint8_t *field)
{
	unsigned long n;
	if (cfg_get_uint(y, v, k, 1, HEALTH_COUNT_MAX, &n) < 0)
		return -1;
	*field = (uint8_t)n;
	return 0;
}
static int chk_fall(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return chk_count(y, v, k, &((struct health_check_spec *)t)->fall);
}
static int chk_rise(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return chk_count(y, v, k, &((struct health_check_spec *)t)->rise);
}

static const struct key_rule check_rules[] = {
	{ "http", chk_http },
	{ "tcp", chk_tcp },
	{ "grpc", chk_grpc },
	{ "interval", chk_interval },
	{ "timeout", chk_timeout },
	{ "fall", chk_fall },
	{ "rise", chk_rise },
	{ NULL, NULL },
};

int set_service_check(struct yaml_ctx *y, void *target, const char *key, yaml_node_t *v)
{
	struct instance_spec *s = target;
	char reason[128];
	memset(&s->check, 0, sizeof s->check);
	if (v->type == YAML_SCALAR_NODE) {
		if (check_url(y, v, key, NULL, &s->check) < 0)
			return -1;
	} else {
		if (cfg_apply_mapping(y, v, key, check_rules, &s->check) < 0)
			return -1;
		if (!s->check.kind)
			return cfg_fail(y, v, key, "needs one of http, tcp or grpc");
	}
	if (health_spec_finish(&s->check, reason, sizeof reason) < 0)
		return cfg_fail(y, v, key, "%s", reason);
	return 0;
}

/* config_file.c -- the YAML configuration file: its keys, one setter each.
 *
 * The file is loaded as a libyaml document and walked against small key tables;
 * every error names the file, the line and the key. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "config_yaml.h"

static int set_domain(struct yaml_ctx *y, void *target, const char *key, yaml_node_t *v)
{
	const char *text;
	char reason[CONFIG_ERROR_MAX];
	if (cfg_get_string(y, v, key, &text) < 0)
		return -1;
	if (config_set_domain(target, text, reason) < 0)
		return cfg_fail(y, v, key, "'%s': %s", text, reason);
	return 0;
}

struct listen_list {
	struct listen_addr *addrs;
	int *count;
};

static int add_listen(struct yaml_ctx *y, yaml_node_t *v, const char *key, void *arg)
{
	struct listen_list *list = arg;
	const char *text;
	char reason[CONFIG_ERROR_MAX];
	if (cfg_get_string(y, v, key, &text) < 0)
		return -1;
	if (*list->count == CONFIG_MAX_LISTEN)
		return cfg_fail(y, v, key, "at most %d addresses", CONFIG_MAX_LISTEN);
	if (config_parse_listen(text, &list->addrs[*list->count], reason) < 0)
		return cfg_fail(y, v, key, "%s", reason);
	(*list->count)++;
	return 0;
}

static int set_listen_list(struct yaml_ctx *y, yaml_node_t *v, const char *key,
			   struct listen_addr *addrs, int *count, int *is_default)
{
	struct listen_list list = { addrs, count };
	*count = 0;
	*is_default = 0;
	if (cfg_for_each_item(y, v, key, add_listen, &list) < 0)
		return -1;
	if (*count == 0)
		return cfg_fail(y, v, key, "needs at least one ADDR:PORT");
	return 0;
}

static int set_dns(struct yaml_ctx *y, void *target, const char *key, yaml_node_t *v)
{
	struct config *cfg = target;
	return set_listen_list(y, v, key, cfg->dns, &cfg->dns_count, &cfg->dns_is_default);
}

static int set_register(struct yaml_ctx *y, void *target, const char *key, yaml_node_t *v)
{
	struct config *cfg = target;
	return set_listen_list(y, v, key, cfg->reg, &cfg->reg_count, &cfg->reg_is_default);
}

static int set_state(struct yaml_ctx *y, void *target, const char *key, yaml_node_t *v)
{
	struct config *cfg = target;
	return cfg_set_path(y, key, v, cfg->state_file, sizeof cfg->state_file);
}

static int add_cidr(struct yaml_ctx *y, yaml_node_t *v, const char *key, void *arg)
{
	const char *text;
	struct cidr c;
	if (cfg_get_string(y, v, key, &text) < 0)
		return -1;
	if (cidr_parse(text, &c) < 0)
		return cfg_fail(y, v, key, "'%s' is not an address or ADDR/PREFIX", text);
	if (cidr_has_host_bits(&c)) {
		char network[64];
		cidr_format(&c, network, sizeof network);
		return cfg_fail(y, v, key, "'%s' has host bits set: did you mean %s?", text, network);
	}
	if (cidr_list_add(arg, &c) < 0)
		return cfg_fail(y, v, key, "out of memory");
	return 0;
}

int set_cidr_list(struct yaml_ctx *y, yaml_node_t *v, const char *key, struct cidr_list *list)
{
	cidr_list_free(list);
	return cfg_for_each_item(y, v, key, add_cidr, list);
}

static int set_allow_query(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return set_cidr_list(y, v, k, &((struct config *)t)->allow_query);
}
static int set_tcp_per_client(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return cfg_set_u32(y, k, v, &((struct config *)t)->tcp_max_connections_per_client, 1, 1000000);
}
static int set_rrl_rate(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return cfg_set_u32(y, k, v, &((struct config *)t)->rrl_rate, 0, 10000000);
}
static int set_rrl_slip(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return cfg_set_u32(y, k, v, &((struct config *)t)->rrl_slip, 0, 100);
}
static int set_rrl_v4(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return cfg_set_u32(y, k, v, &((struct config *)t)->rrl_ipv4_prefix, 8, 32);
}
static int set_rrl_v6(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return cfg_set_u32(y, k, v, &((struct config *)t)->rrl_ipv6_prefix, 16, 128);
}
static int set_allow_from(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return set_cidr_list(y, v, k, &((struct config *)t)->allow_from);
}
static int set_rate_exempt(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return set_cidr_list(y, v, k, &((struct config *)t)->rate_limit_exempt);
}
static int set_ttl_default(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return cfg_set_u32(y, k, v, &((struct config *)t)->ttl_default, 1, 2147483ul);
}
static int set_ttl_min(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return cfg_set_u32(y, k, v, &((struct config *)t)->ttl_min, 1, 2147483ul);
}
static int set_ttl_max(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return cfg_set_u32(y, k, v, &((struct config *)t)->ttl_max, 1, 2147483ul);
}
static int set_max_per_service(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return cfg_set_u32(y, k, v, &((struct config *)t)->max_instances_per_service, 1, 100000000ul);
}
static int set_max_instances(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return cfg_set_u32(y, k, v, &((struct config *)t)->max_instances, 1, 100000000ul);
}
static int set_max_line(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return cfg_set_u32(y, k, v, &((struct config *)t)->max_line_length, 64, CONFIG_LINE_LENGTH_MAX);
}
static int set_rate_limit(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return cfg_set_u32(y, k, v, &((struct config *)t)->rate_limit, 0, 100000000ul);
}
static int set_rate_burst(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return cfg_set_u32(y, k, v, &((struct config *)t)->rate_burst, 1, 100000000ul);
}

static int add_upstream(struct yaml_ctx *y, yaml_node_t *v, const char *key, void *arg)
{
	struct config *cfg = arg;
	const char *text;
	char reason[CONFIG_ERROR_MAX];
	if (cfg_get_string(y, v, key, &text) < 0)
		return -1;
	if (strcmp(text, "resolv.conf") == 0) {
		cfg->forward_from_resolv_conf = 1;
		return 0;
	}
	if (cfg->forward_count == CONFIG_MAX_FORWARD)
		return cfg_fail(y, v, key, "at most %d upstreams", CONFIG_MAX_FORWARD);
	if (config_parse_upstream(text, &cfg->forward[cfg->forward_count], reason) < 0)
		return cfg_fail(y, v, key, "%s", reason);
	cfg->forward_count++;
	return 0;
}

static int set_forward(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	struct config *cfg = t;
	cfg->forward_count = 0;
	cfg->forward_from_resolv_conf = 0;
	return cfg_for_each_item(y, v, k, add_upstream, cfg);
}
static int set_forward_timeout(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return cfg_set_u32(y, k, v, &((struct config *)t)->forward_timeout_ms, 100, 30000);
}
static int set_http(struct yaml_ctx *y, void *target, const char *key, yaml_node_t *v)
{
	struct config *cfg = target;
	int is_default;
	if (v->type == YAML_SCALAR_NODE && strcmp((const char *)v->data.scalar.value, "off") == 0) {
		cfg->http_count = 0;
		return 0;
	}
	return set_listen_list(y, v, key, cfg->http, &cfg->http_count, &is_default);
}
int set_bool(struct yaml_ctx *y, yaml_node_t *v, const char *key, int *field)
{
	const char *text;
	if (cfg_get_string(y, v, key, &text) < 0)
		return -1;
	if (!strcmp(text, "true") || !strcmp(text, "yes") || !strcmp(text, "on"))
		*field = 1;
	else if (!strcmp(text, "false") || !strcmp(text, "no") || !strcmp(text, "off"))
		*field = 0;
	else
		return cfg_fail(y, v, key, "'%s': use true or false", text);
	return 0;
}
static int set_bare_names(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return set_bool(y, v, k, &((struct config *)t)->bare_names);
}
static int set_log_queries(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return set_bool(y, v, k, &((struct config *)t)->log_queries);
}
static int set_answer_limit(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return cfg_set_u32(y, k, v, &((struct config *)t)->answer_limit, 0, 65535);
}

/* answer-limits: { user-service: 1, db: 2 } */
static int set_answer_limits(struct yaml_ctx *y, void *target, const char *key, yaml_node_t *v)
{
	struct config *cfg = target;
	if (v->type != YAML_MAPPING_NODE)
		return cfg_fail(y, v, key, "expected a mapping of service: limit");
	for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
		yaml_node_t *kn = yaml_document_get_node(y->doc, p->key);
		yaml_node_t *vn = yaml_document_get_node(y->doc, p->value);
		struct answer_limit_override o;
		char item_key[CFG_KEY_MAX];
		if (cfg_get_label(y, kn, key, o.service) < 0)
			return -1;
		cfg_key_path(item_key, key, o.service);
		if (cfg_check_duplicate(y, v, p, item_key) < 0 ||
		    cfg_set_u32(y, item_key, vn, &o.limit, 0, 65535) < 0)
			return -1;
		struct answer_limit_override *grown =
			realloc(cfg->answer_limits, (cfg->answer_limit_count + 1) * sizeof *grown);
		if (!grown)
			return cfg_fail(y, v, key, "out of memory");
		cfg->answer_limits = grown;
		cfg->answer_limits[cfg->answer_limit_count++] = o;
	}
	return 0;
}

/* A zones directory that is written down must exist: a typo never serves nothing. */
static int set_zones(struct yaml_ctx *y, void *target, const char *key, yaml_node_t *v)
{
	struct config *cfg = target;
	char reason[CONFIG_ERROR_MAX];
	if (cfg_set_path(y, key, v, cfg->zones_dir, sizeof cfg->zones_dir) < 0)
		return -1;
	if (config_check_zones_dir(cfg->zones_dir, reason) < 0)
		return cfg_fail(y, v, key, "%s", reason);
	cfg->zones_dir_explicit = 1;
	return 0;
}

static int set_log_level(struct yaml_ctx *y, void *target, const char *key, yaml_node_t *v)
{
	const char *text;
	if (cfg_get_string(y, v, key, &text) < 0)
		return -1;
	if (log_level_parse(text, &((struct config *)target)->log_level) < 0)
		return cfg_fail(y, v, key, "'%s': use debug, info, warn or error", text);
	return 0;
}

static int set_ttl(struct yaml_ctx *y, void *target, const char *key, yaml_node_t *v)
{
	return cfg_set_u32(y, key, v, &((struct config *)target)->ttl, 0, 2147483647ul);
}

static int set_max_udp(struct yaml_ctx *y, void *target, const char *key, yaml_node_t *v)
{
	unsigned long n;
	if (cfg_get_uint(y, v, key, 512, 65535, &n) < 0)
		return -1;
	((struct config *)target)->max_udp_payload = (uint16_t)n;
	return 0;
}

static int set_tcp_idle(struct yaml_ctx *y, void *target, const char *key, yaml_node_t *v)
{
	return cfg_set_u32(y, key, v, &((struct config *)target)->tcp_idle_timeout, 1, 3600);
}

static int set_tcp_max(struct yaml_ctx *y, void *target, const char *key, yaml_node_t *v)
{
	return cfg_set_u32(y, key, v, &((struct config *)target)->tcp_max_connections, 1, 1000000);
}

static int set_soa_ttl(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return cfg_set_u32(y, k, v, &((struct config *)t)->soa.ttl, 0, 2147483647ul);
}
static int set_soa_refresh(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return cfg_set_u32(y, k, v, &((struct config *)t)->soa.refresh, 0, 2147483647ul);
}
static int set_soa_retry(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return cfg_set_u32(y, k, v, &((struct config *)t)->soa.retry, 0, 2147483647ul);
}
static int set_soa_expire(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return cfg_set_u32(y, k, v, &((struct config *)t)->soa.expire, 0, 2147483647ul);
}
static int set_soa_minimum(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return cfg_set_u32(y, k, v, &((struct config *)t)->soa.minimum, 0, 86400);
}
static int set_soa_hostmaster(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return cfg_get_name(y, v, k, ((struct config *)t)->soa.rname);
}

static const struct key_rule soa_rules[] = {
	{ "ttl", set_soa_ttl },
	{ "refresh", set_soa_refresh },
	{ "retry", set_soa_retry },
	{ "expire", set_soa_expire },
	{ "minimum", set_soa_minimum },
	{ "hostmaster", set_soa_hostmaster },
	{ NULL, NULL },
};

static int set_soa(struct yaml_ctx *y, void *target, const char *key, yaml_node_t *v)
{
	return cfg_apply_mapping(y, v, key, soa_rules, target);
}

static int add_ns_address(struct yaml_ctx *y, yaml_node_t *v, const char *key, void *arg)
{
	struct config *cfg = arg;
	const char *text;
	if (cfg_get_string(y, v, key, &text) < 0)
		return -1;
	if (cfg->ns.addr_count == CONFIG_MAX_NS_ADDRS)
		return cfg_fail(y, v, key, "at most %d addresses", CONFIG_MAX_NS_ADDRS);
	struct ns_address *a = &cfg->ns.addrs[cfg->ns.addr_count];
	if (cfg_parse_ip(text, &a->family, a->addr) < 0)
		return cfg_fail(y, v, key, "'%s' is not an IPv4 or IPv6 address", text);
	cfg->ns.addr_count++;
	return 0;
}

static int set_ns_name(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return cfg_get_name(y, v, k, ((struct config *)t)->ns.name);
}

static int set_ns_addresses(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	((struct config *)t)->ns.addr_count = 0;
	return cfg_for_each_item(y, v, k, add_ns_address, t);
}

static const struct key_rule nameserver_rules[] = {
	{ "name", set_ns_name },
	{ "addresses", set_ns_addresses },
	{ NULL, NULL },
};

static int set_nameserver(struct yaml_ctx *y, void *target, const char *key, yaml_node_t *v)
{
	return cfg_apply_mapping(y, v, key, nameserver_rules, target);
}

static const struct key_rule top_rules[] = {
	{ "domain", set_domain },
	{ "dns", set_dns },
	{ "zones", set_zones },
	{ "log-level", set_log_level },
	{ "ttl", set_ttl },
	{ "max-udp-payload", set_max_udp },
	{ "soa", set_soa },
	{ "nameserver", set_nameserver },
	{ "tcp-idle-timeout", set_tcp_idle },
	{ "tcp-max-connections", set_tcp_max },
	{ "services", set_services },
	{ "register", set_register },
	{ "state", set_state },
	{ "lease-ttl", set_ttl_default },
	{ "ttl-min", set_ttl_min },
	{ "ttl-max", set_ttl_max },
	{ "allow-from", set_allow_from },
	{ "keys", set_keys },
	{ "tsig-keys", set_tsig_keys },
	{ "transfer", set_transfer },
	{ "max-instances-per-service", set_max_per_service },
	{ "max-instances", set_max_instances },
	{ "max-line-length", set_max_line },
	{ "rate-limit", set_rate_limit },
	{ "rate-limit-burst", set_rate_burst },
	{ "rate-limit-exempt", set_rate_exempt },
	{ "forward", set_forward },
	{ "forward-timeout", set_forward_timeout },
	{ "http", set_http },
	{ "bare-names", set_bare_names },
	{ "log-queries", set_log_queries },
	{ "answer-limit", set_answer_limit },
	{ "answer-limits", set_answer_limits },
	{ "allow-query", set_allow_query },
	{ "tcp-max-connections-per-client", set_tcp_per_client },
	{ "rrl-rate", set_rrl_rate },
	{ "rrl-slip", set_rrl_slip },
	{ "rrl-ipv4-prefix", set_rrl_v4 },
	{ "rrl-ipv6-prefix", set_rrl_v6 },
	{ "health", set_health },
	{ "store", set_store },
	{ "store-tls", set_store_tls },
	{ "store-auth", set_store_auth },
	{ "store-prefix", set_store_prefix },
	{ "store-timeout", set_store_timeout },
	{ "node-id", set_node_id },
	{ "node-lease", set_node_lease },
	{ "networks", set_networks },
	{ "see-all", set_see_all },
	{ "splits", set_splits },
	{ "dns-sd", set_dns_sd },
	{ NULL, NULL },
};

int config_load_file(struct config *cfg, const char *path, char err[CONFIG_ERROR_MAX])
{
	yaml_parser_t parser;
	yaml_document_t doc;
	int rc = -1;
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, CONFIG_ERROR_MAX, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &doc)) {
		snprintf(err, CONFIG_ERROR_MAX, "%s:%lu: yaml: %s", path,
			 (unsigned long)parser.problem_mark.line + 1,
			 parser.problem ? parser.problem : "syntax error");
		goto out_parser;
	}
	snprintf(cfg->source, sizeof cfg->source, "%s", path);
	struct yaml_ctx y = { .path = path, .doc = &doc, .err = err };
	const char *slash = strrchr(path, '/');
	if (slash)
		snprintf(y.dir, sizeof y.dir, "%.*s", (int)(slash == path ? 1 : slash - path), path);
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	if (!root)
		rc = 0;  /* an empty file keeps every default */
	else
		rc = cfg_apply_mapping(&y, root, "", top_rules, cfg);
	if (rc == 0)
		rc = config_resolve_transfer_keys(cfg, err);
	if (rc == 0 && root)
		rc = config_check_views(&y, root, cfg);
	if (rc == 0 && cfg->ttl_min > cfg->ttl_max) {
		snprintf(err, CONFIG_ERROR_MAX, "%s:1: ttl-min: %u is above ttl-max %u", path,
			 cfg->ttl_min, cfg->ttl_max);
		rc = -1;
	}
	yaml_document_delete(&doc);
out_parser:
	yaml_parser_delete(&parser);
	fclose(f);
	return rc;
}

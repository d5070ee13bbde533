/* config.c -- the server's settings: built-in defaults, YAML file, command line.
 *
 * The YAML file is loaded as a libyaml document and walked against small key
 * tables; every error names the file, the line and the key. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "config.h"

struct yaml_ctx {
	const char *path;
	yaml_document_t *doc;
	char *err;
};

typedef int (*key_setter)(struct yaml_ctx *y, void *target, const char *key, yaml_node_t *value);

struct key_rule {
	const char *name;
	key_setter set;
};

void config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	char err[CONFIG_ERROR_MAX];
	config_set_domain(cfg, "svc.internal", err);
	config_parse_listen("0.0.0.0:53", &cfg->dns[0], err);
	config_parse_listen("[::]:53", &cfg->dns[1], err);
	cfg->dns_count = 2;
	cfg->dns_is_default = 1;
	cfg->ttl = 5;
	cfg->max_udp_payload = 1232;
	strcpy(cfg->zones_dir, "zones");
	cfg->log_level = LOG_INFO;
	cfg->soa.ttl = 5;
	cfg->soa.refresh = 3600;
	cfg->soa.retry = 600;
	cfg->soa.expire = 86400;
	cfg->soa.minimum = 5;
	cfg->tcp_idle_timeout = 10;
	cfg->tcp_max_connections = 512;
	config_parse_listen("0.0.0.0:8053", &cfg->reg[0], err);
	config_parse_listen("[::]:8053", &cfg->reg[1], err);
	cfg->reg_count = 2;
	cfg->reg_is_default = 1;
	cfg->ttl_default = 30;
	cfg->ttl_min = 1;
	cfg->ttl_max = 86400;
	/* Loopback and private ranges (RFC 1918, RFC 4193): where containers live. */
	static const char *const private_ranges[] = {
		"127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7",
	};
	cidr_list_add_texts(&cfg->allow_from, private_ranges, 6);
	static const char *const loopback[] = { "127.0.0.0/8", "::1/128" };
	cidr_list_add_texts(&cfg->rate_limit_exempt, loopback, 2);
	cfg->max_instances_per_service = 100000;
	cfg->max_instances = 2000000;
	cfg->max_line_length = 1024;
	cfg->rate_limit = 1000;
	cfg->rate_burst = 2000;
	cfg->forward_timeout_ms = 1500;
	config_parse_listen("127.0.0.1:8054", &cfg->http[0], err);
	cfg->http_count = 1;
	cfg->bare_names = 1;
}

int config_parse_upstream(const char *text, struct listen_addr *out, char err[CONFIG_ERROR_MAX])
{
	char with_port[80];
	const char *first = strchr(text, ':'), *last = strrchr(text, ':');
	if (text[0] == '[' || (first && first == last))
		return config_parse_listen(text, out, err);
	if (strlen(text) > 64) {
		snprintf(err, CONFIG_ERROR_MAX, "'%s' is not an address", text);
		return -1;
	}
	/* A bare address: IPv6 has colons of its own, so it takes brackets for the port. */
	snprintf(with_port, sizeof with_port, first ? "[%s]:53" : "%s:53", text);
	if (config_parse_listen(with_port, out, err) < 0) {
		snprintf(err, CONFIG_ERROR_MAX, "'%s' is not ADDR, ADDR:PORT or [IPV6]:PORT", text);
		return -1;
	}
	snprintf(out->text, sizeof out->text, "%s", with_port);
	return 0;
}

static int same_endpoint(const struct listen_addr *a, const struct listen_addr *b)
{
	if (a->sa.ss_family != b->sa.ss_family)
		return 0;
	if (a->sa.ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)&a->sa, *y = (const void *)&b->sa;
		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	const struct sockaddr_in6 *x = (const void *)&a->sa, *y = (const void *)&b->sa;
	return x->sin6_port == y->sin6_port && memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
}

int config_forward_from_resolv_conf(struct config *cfg, const char *path, char err[CONFIG_ERROR_MAX])
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, CONFIG_ERROR_MAX, "%s: %s", path, strerror(errno));
		return -1;
	}
	char line[512];
	cfg->forward_count = 0;
	while (fgets(line, sizeof line, f) && cfg->forward_count < CONFIG_MAX_FORWARD) {
		char addr[128];
		if (sscanf(line, " nameserver %127s", addr) != 1)
			continue;
		char *zone = strchr(addr, '%');   /* fe80::1%eth0: the scope is not ours to use */
		if (zone)
			*zone = 0;
		struct listen_addr up;
		char ignored[CONFIG_ERROR_MAX];
		if (config_parse_upstream(addr, &up, ignored) < 0)
			continue;
		int ours = 0;
		for (int i = 0; i < cfg->dns_count; i++)
			ours |= same_endpoint(&up, &cfg->dns[i]);
		if (!ours)
			cfg->forward[cfg->forward_count++] = up;
	}
	fclose(f);
	return cfg->forward_count;
}

uint32_t config_answer_limit(const struct config *cfg, const uint8_t *service_label)
{
	for (size_t i = 0; i < cfg->answer_limit_count; i++) {
		const char *name = cfg->answer_limits[i].service;
		if (strlen(name) == service_label[0] && memcmp(name, service_label + 1, service_label[0]) == 0)
			return cfg->answer_limits[i].limit;
	}
	return cfg->answer_limit;
}

int config_find_key(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->key_count; i++)
		if (strcmp(cfg->keys[i].name, name) == 0)
			return (int)i;
	return -1;
}

static void free_keys(struct config *cfg)
{
	for (size_t i = 0; i < cfg->key_count; i++) {
		for (size_t j = 0; j < cfg->keys[i].pattern_count; j++)
			free(cfg->keys[i].patterns[j]);
		free(cfg->keys[i].patterns);
	}
	free(cfg->keys);
	cfg->keys = NULL;
	cfg->key_count = 0;
}

void config_free(struct config *cfg)
{
	free(cfg->services);
	cfg->services = NULL;
	cfg->service_count = 0;
	free_keys(cfg);
	free(cfg->answer_limits);
	cfg->answer_limits = NULL;
	cfg->answer_limit_count = 0;
	cidr_list_free(&cfg->allow_from);
	cidr_list_free(&cfg->rate_limit_exempt);
}

int config_set_domain(struct config *cfg, const char *text, char err[CONFIG_ERROR_MAX])
{
	uint8_t wire[DNAME_MAX_WIRE];
	size_t len = dname_from_text(text, wire);
	if (len == 0 || !dname_is_ldh(wire)) {
		snprintf(err, CONFIG_ERROR_MAX, "not a valid domain name (LDH labels of 1-63 characters)");
		return -1;
	}
	memcpy(cfg->domain, wire, len);
	cfg->domain_len = len;
	dname_to_text(wire, cfg->domain_text);
	return 0;
}

int config_parse_listen(const char *text, struct listen_addr *out, char err[CONFIG_ERROR_MAX])
{
	char host[64];
	const char *port_text;
	memset(out, 0, sizeof *out);
	if (text[0] == '[') {
		const char *close = strchr(text, ']');
		if (!close || close[1] != ':' || (size_t)(close - text - 1) >= sizeof host) {
			snprintf(err, CONFIG_ERROR_MAX, "'%s': write IPv6 as [ADDR]:PORT", text);
			return -1;
		}
		memcpy(host, text + 1, (size_t)(close - text - 1));
		host[close - text - 1] = 0;
		port_text = close + 2;
	} else {
		const char *colon = strrchr(text, ':');
		if (!colon || strchr(text, ':') != colon || (size_t)(colon - text) >= sizeof host) {
			snprintf(err, CONFIG_ERROR_MAX, "'%s': expected ADDR:PORT or [ADDR]:PORT", text);
			return -1;
		}
		memcpy(host, text, (size_t)(colon - text));
		host[colon - text] = 0;
		port_text = colon + 1;
	}
	char *end;
	errno = 0;
	unsigned long port = strtoul(port_text, &end, 10);
	if (errno || *port_text == 0 || *end || port == 0 || port > 65535) {
		snprintf(err, CONFIG_ERROR_MAX, "'%s': port must be 1-65535", text);
		return -1;
	}
	struct sockaddr_in *v4 = (struct sockaddr_in *)&out->sa;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&out->sa;
	if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)port);
		out->sa_len = sizeof *v4;
	} else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)port);
		out->sa_len = sizeof *v6;
	} else {
		snprintf(err, CONFIG_ERROR_MAX, "'%s': '%s' is not an IP address", text, host);
		return -1;
	}
	snprintf(out->text, sizeof out->text, "%s", text);
	return 0;
}

void config_finish(struct config *cfg)
{
	if (cfg->ns.name[0] == 0) {
		cfg->ns.name[0] = 2;
		memcpy(cfg->ns.name + 1, "ns", 2);
		memcpy(cfg->ns.name + 3, cfg->domain, cfg->domain_len);
	}
	if (cfg->soa.rname[0] == 0) {
		cfg->soa.rname[0] = 10;
		memcpy(cfg->soa.rname + 1, "hostmaster", 10);
		memcpy(cfg->soa.rname + 11, cfg->domain, cfg->domain_len);
	}
}

/* ---- YAML helpers ------------------------------------------------------ */

static int fail(struct yaml_ctx *y, yaml_node_t *node, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(struct yaml_ctx *y, yaml_node_t *node, const char *key, const char *fmt, ...)
{
	char reason[CONFIG_ERROR_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof reason, fmt, ap);
	va_end(ap);
	snprintf(y->err, CONFIG_ERROR_MAX, "%s:%lu: %s: %s", y->path,
		 node ? (unsigned long)node->start_mark.line + 1 : 0ul, key, reason);
	return -1;
}

static const char *scalar(yaml_node_t *node)
{
	return node->type == YAML_SCALAR_NODE ? (const char *)node->data.scalar.value : NULL;
}

static int get_string(struct yaml_ctx *y, yaml_node_t *node, const char *key, const char **out)
{
	*out = scalar(node);
	if (!*out)
		return fail(y, node, key, "expected a single value, not a list or mapping");
	return 0;
}

static int get_uint(struct yaml_ctx *y, yaml_node_t *node, const char *key,
		    unsigned long min, unsigned long max, unsigned long *out)
{
	const char *text;
	if (get_string(y, node, key, &text) < 0)
		return -1;
	char *end;
	errno = 0;
	*out = strtoul(text, &end, 10);
	if (errno || *text == 0 || *text == '-' || *end)
		return fail(y, node, key, "'%s' is not a number", text);
	if (*out < min || *out > max)
		return fail(y, node, key, "%lu is out of range %lu-%lu", *out, min, max);
	return 0;
}

static int set_u32(struct yaml_ctx *y, const char *key, yaml_node_t *value, uint32_t *field,
		   unsigned long min, unsigned long max)
{
	unsigned long v;
	if (get_uint(y, value, key, min, max, &v) < 0)
		return -1;
	*field = (uint32_t)v;
	return 0;
}

static int get_name(struct yaml_ctx *y, yaml_node_t *node, const char *key,
		    uint8_t wire[DNAME_MAX_WIRE])
{
	const char *text;
	if (get_string(y, node, key, &text) < 0)
		return -1;
	if (dname_from_text(text, wire) == 0 || !dname_is_ldh(wire))
		return fail(y, node, key, "'%s' is not a valid domain name", text);
	return 0;
}

static int get_label(struct yaml_ctx *y, yaml_node_t *v, const char *key, char out[DNAME_MAX_LABEL + 1])
{
	const char *text;
	if (get_string(y, v, key, &text) < 0)
		return -1;
	if (!label_is_ldh(text, strlen(text)))
		return fail(y, v, key, "'%s' is not a valid name (letters, digits, inner hyphens; 1-63)", text);
	for (size_t i = 0; text[i]; i++)
		out[i] = (char)(text[i] >= 'A' && text[i] <= 'Z' ? text[i] + 32 : text[i]);
	out[strlen(text)] = 0;
	return 0;
}

static int parse_ip(const char *text, int *family, uint8_t addr[16])
{
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, text, addr) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, text, addr) == 1) {
		*family = AF_INET6;
		return 0;
	}
	return -1;
}

/* Calls fn for a scalar, or for every item of a sequence of scalars. */
static int for_each_item(struct yaml_ctx *y, yaml_node_t *value, const char *key,
			 int (*fn)(struct yaml_ctx *, yaml_node_t *, const char *, void *), void *arg)
{
	if (value->type != YAML_SEQUENCE_NODE)
		return fn(y, value, key, arg);
	for (yaml_node_item_t *it = value->data.sequence.items.start;
	     it < value->data.sequence.items.top; it++)
		if (fn(y, yaml_document_get_node(y->doc, *it), key, arg) < 0)
			return -1;
	return 0;
}

/* Walks a mapping against a key table; unknown keys are errors. */
static int apply_mapping(struct yaml_ctx *y, yaml_node_t *map, const char *where,
			 const struct key_rule *rules, void *target)
{
	if (map->type != YAML_MAPPING_NODE)
		return fail(y, map, where, "expected a mapping of key: value");
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(y->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(y->doc, p->value);
		const char *name = scalar(k);
		if (!name)
			return fail(y, k, where, "keys must be plain words");
		const struct key_rule *rule = rules;
		while (rule->name && strcmp(rule->name, name) != 0)
			rule++;
		if (!rule->name)
			return fail(y, k, name, "unknown key");
		if (rule->set(y, target, name, v) < 0)
			return -1;
	}
	return 0;
}

/* ---- top-level keys ----------------------------------------------------- */

static int set_domain(struct yaml_ctx *y, void *target, const char *key, yaml_node_t *v)
{
	const char *text;
	char reason[CONFIG_ERROR_MAX];
	if (get_string(y, v, key, &text) < 0)
		return -1;
	if (config_set_domain(target, text, reason) < 0)
		return fail(y, v, key, "'%s': %s", text, reason);
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
	if (get_string(y, v, key, &text) < 0)
		return -1;
	if (*list->count == CONFIG_MAX_LISTEN)
		return fail(y, v, key, "at most %d addresses", CONFIG_MAX_LISTEN);
	if (config_parse_listen(text, &list->addrs[*list->count], reason) < 0)
		return fail(y, v, key, "%s", reason);
	(*list->count)++;
	return 0;
}

static int set_listen_list(struct yaml_ctx *y, yaml_node_t *v, const char *key,
			   struct listen_addr *addrs, int *count, int *is_default)
{
	struct listen_list list = { addrs, count };
	*count = 0;
	*is_default = 0;
	if (for_each_item(y, v, key, add_listen, &list) < 0)
		return -1;
	if (*count == 0)
		return fail(y, v, key, "needs at least one ADDR:PORT");
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
	const char *text;
	if (get_string(y, v, key, &text) < 0)
		return -1;
	if (strlen(text) >= sizeof cfg->state_file)
		return fail(y, v, key, "path too long");
	strcpy(cfg->state_file, text);
	return 0;
}

static int add_cidr(struct yaml_ctx *y, yaml_node_t *v, const char *key, void *arg)
{
	const char *text;
	struct cidr c;
	if (get_string(y, v, key, &text) < 0)
		return -1;
	if (cidr_parse(text, &c) < 0)
		return fail(y, v, key, "'%s' is not an address or ADDR/PREFIX", text);
	if (cidr_list_add(arg, &c) < 0)
		return fail(y, v, key, "out of memory");
	return 0;
}

static int set_cidr_list(struct yaml_ctx *y, yaml_node_t *v, const char *key, struct cidr_list *list)
{
	cidr_list_free(list);
	return for_each_item(y, v, key, add_cidr, list);
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
	return set_u32(y, k, v, &((struct config *)t)->ttl_default, 1, 2147483ul);
}
static int set_ttl_min(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return set_u32(y, k, v, &((struct config *)t)->ttl_min, 1, 2147483ul);
}
static int set_ttl_max(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return set_u32(y, k, v, &((struct config *)t)->ttl_max, 1, 2147483ul);
}
static int set_max_per_service(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return set_u32(y, k, v, &((struct config *)t)->max_instances_per_service, 1, 100000000ul);
}
static int set_max_instances(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return set_u32(y, k, v, &((struct config *)t)->max_instances, 1, 100000000ul);
}
static int set_max_line(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return set_u32(y, k, v, &((struct config *)t)->max_line_length, 64, 65536);
}
static int set_rate_limit(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return set_u32(y, k, v, &((struct config *)t)->rate_limit, 0, 100000000ul);
}
static int set_rate_burst(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return set_u32(y, k, v, &((struct config *)t)->rate_burst, 1, 100000000ul);
}

static int add_upstream(struct yaml_ctx *y, yaml_node_t *v, const char *key, void *arg)
{
	struct config *cfg = arg;
	const char *text;
	char reason[CONFIG_ERROR_MAX];
	if (get_string(y, v, key, &text) < 0)
		return -1;
	if (strcmp(text, "resolv.conf") == 0) {
		cfg->forward_from_resolv_conf = 1;
		return 0;
	}
	if (cfg->forward_count == CONFIG_MAX_FORWARD)
		return fail(y, v, key, "at most %d upstreams", CONFIG_MAX_FORWARD);
	if (config_parse_upstream(text, &cfg->forward[cfg->forward_count], reason) < 0)
		return fail(y, v, key, "%s", reason);
	cfg->forward_count++;
	return 0;
}

static int set_forward(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	struct config *cfg = t;
	cfg->forward_count = 0;
	cfg->forward_from_resolv_conf = 0;
	return for_each_item(y, v, k, add_upstream, cfg);
}
static int set_forward_timeout(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return set_u32(y, k, v, &((struct config *)t)->forward_timeout_ms, 100, 30000);
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
static int set_bool(struct yaml_ctx *y, yaml_node_t *v, const char *key, int *field)
{
	const char *text;
	if (get_string(y, v, key, &text) < 0)
		return -1;
	if (!strcmp(text, "true") || !strcmp(text, "yes") || !strcmp(text, "on"))
		*field = 1;
	else if (!strcmp(text, "false") || !strcmp(text, "no") || !strcmp(text, "off"))
		*field = 0;
	else
		return fail(y, v, key, "'%s': use true or false", text);
	return 0;
}
static int set_bare_names(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return set_bool(y, v, k, &((struct config *)t)->bare_names);
}
static int set_answer_limit(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return set_u32(y, k, v, &((struct config *)t)->answer_limit, 0, 65535);
}

/* answer-limits: { user-service: 1, db: 2 } */
static int set_answer_limits(struct yaml_ctx *y, void *target, const char *key, yaml_node_t *v)
{
	struct config *cfg = target;
	if (v->type != YAML_MAPPING_NODE)
		return fail(y, v, key, "expected a mapping of service: limit");
	for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
		yaml_node_t *kn = yaml_document_get_node(y->doc, p->key);
		yaml_node_t *vn = yaml_document_get_node(y->doc, p->value);
		struct answer_limit_override o;
		if (get_label(y, kn, key, o.service) < 0 || set_u32(y, o.service, vn, &o.limit, 0, 65535) < 0)
			return -1;
		struct answer_limit_override *grown =
			realloc(cfg->answer_limits, (cfg->answer_limit_count + 1) * sizeof *grown);
		if (!grown)
			return fail(y, v, key, "out of memory");
		cfg->answer_limits = grown;
		cfg->answer_limits[cfg->answer_limit_count++] = o;
	}
	return 0;
}

/* ---- keys ---------------------------------------------------------------- */

static int key_name(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	struct reg_key *key = t;
	const char *text;
	if (get_string(y, v, k, &text) < 0)
		return -1;
	size_t len = strlen(text);
	if (len == 0 || len >= sizeof key->name || strpbrk(text, " =\t"))
		return fail(y, v, k, "'%s': a key name is 1-63 characters without spaces or '='", text);
	strcpy(key->name, text);
	return 0;
}

static int set_secret(struct yaml_ctx *y, yaml_node_t *v, const char *k, struct reg_key *key,
		      const char *secret, size_t len)
{
	while (len && (secret[len - 1] == '\n' || secret[len - 1] == '\r'))
		len--;
	if (len < 16 || len > sizeof key->secret)
		return fail(y, v, k, "a secret is 16-256 bytes");
	memcpy(key->secret, secret, len);
	key->secret_len = len;
	return 0;
}

static int key_secret(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	const char *text;
	if (get_string(y, v, k, &text) < 0)
		return -1;
	return set_secret(y, v, k, t, text, strlen(text));
}

/* A secret kept apart from the config must not be readable by others. */
static int key_secret_file(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	const char *path;
	char buf[300];
	if (get_string(y, v, k, &path) < 0)
		return -1;
	FILE *f = fopen(path, "r");
	if (!f)
		return fail(y, v, k, "'%s': %s", path, strerror(errno));
	struct stat st;
	if (fstat(fileno(f), &st) < 0 || (st.st_mode & 0077)) {
		fclose(f);
		return fail(y, v, k, "'%s' is readable by group or others: chmod 600 it", path);
	}
	size_t n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	return set_secret(y, v, k, t, buf, n);
}

static int add_pattern(struct yaml_ctx *y, yaml_node_t *v, const char *k, void *arg)
{
	struct reg_key *key = arg;
	const char *text;
	if (get_string(y, v, k, &text) < 0)
		return -1;
	char **grown = realloc(key->patterns, (key->pattern_count + 1) * sizeof *grown);
	if (!grown)
		return fail(y, v, k, "out of memory");
	key->patterns = grown;
	if (!(key->patterns[key->pattern_count] = strdup(text)))
		return fail(y, v, k, "out of memory");
	key->pattern_count++;
	return 0;
}

static int key_services(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return for_each_item(y, v, k, add_pattern, t);
}

static const struct key_rule key_rules[] = {
	{ "name", key_name },
	{ "secret", key_secret },
	{ "secret-file", key_secret_file },
	{ "services", key_services },
	{ NULL, NULL },
};

static int set_keys(struct yaml_ctx *y, void *target, const char *key, yaml_node_t *v)
{
	struct config *cfg = target;
	if (v->type != YAML_SEQUENCE_NODE)
		return fail(y, v, key, "expected a list of keys");
	free_keys(cfg);
	size_t index = 0;
	for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
		yaml_node_t *item = yaml_document_get_node(y->doc, *it);
		char where[32];
		snprintf(where, sizeof where, "keys[%zu]", index++);
		struct reg_key *grown = realloc(cfg->keys, (cfg->key_count + 1) * sizeof *grown);
		if (!grown)
			return fail(y, item, where, "out of memory");
		cfg->keys = grown;
		struct reg_key *k = &cfg->keys[cfg->key_count++];
		memset(k, 0, sizeof *k);
		if (apply_mapping(y, item, where, key_rules, k) < 0)
			return -1;
		if (!k->name[0])
			return fail(y, item, where, "missing key 'name'");
		if (!k->secret_len)
			return fail(y, item, where, "missing key 'secret' or 'secret-file'");
		for (size_t i = 0; i + 1 < cfg->key_count; i++)
			if (strcmp(cfg->keys[i].name, k->name) == 0)
				return fail(y, item, where, "key '%s' is listed twice", k->name);
	}
	return 0;
}

static int set_zones(struct yaml_ctx *y, void *target, const char *key, yaml_node_t *v)
{
	struct config *cfg = target;
	const char *text;
	if (get_string(y, v, key, &text) < 0)
		return -1;
	if (strlen(text) >= sizeof cfg->zones_dir)
		return fail(y, v, key, "path too long");
	strcpy(cfg->zones_dir, text);
	return 0;
}

static int set_log_level(struct yaml_ctx *y, void *target, const char *key, yaml_node_t *v)
{
	const char *text;
	if (get_string(y, v, key, &text) < 0)
		return -1;
	if (log_level_parse(text, &((struct config *)target)->log_level) < 0)
		return fail(y, v, key, "'%s': use debug, info, warn or error", text);
	return 0;
}

static int set_ttl(struct yaml_ctx *y, void *target, const char *key, yaml_node_t *v)
{
	return set_u32(y, key, v, &((struct config *)target)->ttl, 0, 2147483647ul);
}

static int set_max_udp(struct yaml_ctx *y, void *target, const char *key, yaml_node_t *v)
{
	unsigned long n;
	if (get_uint(y, v, key, 512, 65535, &n) < 0)
		return -1;
	((struct config *)target)->max_udp_payload = (uint16_t)n;
	return 0;
}

static int set_tcp_idle(struct yaml_ctx *y, void *target, const char *key, yaml_node_t *v)
{
	return set_u32(y, key, v, &((struct config *)target)->tcp_idle_timeout, 1, 3600);
}

static int set_tcp_max(struct yaml_ctx *y, void *target, const char *key, yaml_node_t *v)
{
	return set_u32(y, key, v, &((struct config *)target)->tcp_max_connections, 1, 1000000);
}

static int set_soa_ttl(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return set_u32(y, k, v, &((struct config *)t)->soa.ttl, 0, 2147483647ul);
}
static int set_soa_refresh(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return set_u32(y, k, v, &((struct config *)t)->soa.refresh, 0, 2147483647ul);
}
static int set_soa_retry(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return set_u32(y, k, v, &((struct config *)t)->soa.retry, 0, 2147483647ul);
}
static int set_soa_expire(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return set_u32(y, k, v, &((struct config *)t)->soa.expire, 0, 2147483647ul);
}
static int set_soa_minimum(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return set_u32(y, k, v, &((struct config *)t)->soa.minimum, 0, 86400);
}
static int set_soa_hostmaster(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return get_name(y, v, k, ((struct config *)t)->soa.rname);
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
	return apply_mapping(y, v, key, soa_rules, target);
}

static int add_ns_address(struct yaml_ctx *y, yaml_node_t *v, const char *key, void *arg)
{
	struct config *cfg = arg;
	const char *text;
	if (get_string(y, v, key, &text) < 0)
		return -1;
	if (cfg->ns.addr_count == CONFIG_MAX_NS_ADDRS)
		return fail(y, v, key, "at most %d addresses", CONFIG_MAX_NS_ADDRS);
	struct ns_address *a = &cfg->ns.addrs[cfg->ns.addr_count];
	if (parse_ip(text, &a->family, a->addr) < 0)
		return fail(y, v, key, "'%s' is not an IPv4 or IPv6 address", text);
	cfg->ns.addr_count++;
	return 0;
}

static int set_ns_name(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return get_name(y, v, k, ((struct config *)t)->ns.name);
}

static int set_ns_addresses(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	((struct config *)t)->ns.addr_count = 0;
	return for_each_item(y, v, k, add_ns_address, t);
}

static const struct key_rule nameserver_rules[] = {
	{ "name", set_ns_name },
	{ "addresses", set_ns_addresses },
	{ NULL, NULL },
};

static int set_nameserver(struct yaml_ctx *y, void *target, const char *key, yaml_node_t *v)
{
	return apply_mapping(y, v, key, nameserver_rules, target);
}

/* ---- services: static instances ---------------------------------------- */

static int svc_service(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return get_label(y, v, k, ((struct instance_spec *)t)->service);
}
static int svc_instance(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return get_label(y, v, k, ((struct instance_spec *)t)->instance);
}
static int svc_address(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	struct instance_spec *s = t;
	const char *text;
	if (get_string(y, v, k, &text) < 0)
		return -1;
	if (parse_ip(text, &s->family, s->addr) < 0)
		return fail(y, v, k, "'%s' is not an IPv4 or IPv6 address", text);
	return 0;
}
static int svc_u16(struct yaml_ctx *y, yaml_node_t *v, const char *k, uint16_t *field)
{
	unsigned long n;
	if (get_uint(y, v, k, 0, 65535, &n) < 0)
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
	return svc_u16(y, v, k, &((struct instance_spec *)t)->weight);
}
static int svc_proto(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	const char *text;
	if (get_string(y, v, k, &text) < 0)
		return -1;
	if (strcmp(text, "tcp") == 0)
		((struct instance_spec *)t)->proto = PROTO_TCP;
	else if (strcmp(text, "udp") == 0)
		((struct instance_spec *)t)->proto = PROTO_UDP;
	else
		return fail(y, v, k, "'%s': use tcp or udp", text);
	return 0;
}
static int add_txt(struct yaml_ctx *y, yaml_node_t *v, const char *k, void *arg)
{
	struct instance_spec *s = arg;
	const char *text;
	if (get_string(y, v, k, &text) < 0)
		return -1;
	size_t len = strlen(text);
	if (len > 255)
		return fail(y, v, k, "a TXT string holds at most 255 bytes");
	if (s->txt_len + len + 1 > REGISTRY_TXT_MAX)
		return fail(y, v, k, "at most %d bytes of TXT data per instance", REGISTRY_TXT_MAX);
	s->txt[s->txt_len++] = (uint8_t)len;
	memcpy(s->txt + s->txt_len, text, len);
	s->txt_len = (uint16_t)(s->txt_len + len);
	return 0;
}
static int svc_txt(struct yaml_ctx *y, void *t, const char *k, yaml_node_t *v)
{
	return for_each_item(y, v, k, add_txt, t);
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
	{ NULL, NULL },
};

static int add_service(struct yaml_ctx *y, struct config *cfg, yaml_node_t *item, size_t index)
{
	char where[64];
	snprintf(where, sizeof where, "services[%zu]", index);
	struct instance_spec *grown = realloc(cfg->services, (cfg->service_count + 1) * sizeof *grown);
	if (!grown)
		return fail(y, item, where, "out of memory");
	cfg->services = grown;
	struct instance_spec *s = &cfg->services[cfg->service_count];
	memset(s, 0, sizeof *s);
	s->is_static = true;
	if (apply_mapping(y, item, where, service_rules, s) < 0)
		return -1;
	if (!s->service[0])
		return fail(y, item, where, "missing key 'service'");
	if (!s->instance[0])
		return fail(y, item, where, "missing key 'instance'");
	if (!s->family)
		return fail(y, item, where, "missing key 'address'");
	for (size_t i = 0; i < cfg->service_count; i++)
		if (!strcmp(cfg->services[i].service, s->service) &&
		    !strcmp(cfg->services[i].instance, s->instance))
			return fail(y, item, where, "instance %s.%s is listed twice",
				    s->instance, s->service);
	cfg->service_count++;
	return 0;
}

static int set_services(struct yaml_ctx *y, void *target, const char *key, yaml_node_t *v)
{
	if (v->type != YAML_SEQUENCE_NODE)
		return fail(y, v, key, "expected a list of instances");
	size_t index = 0;
	for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++)
		if (add_service(y, target, yaml_document_get_node(y->doc, *it), index++) < 0)
			return -1;
	return 0;
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
	{ "answer-limit", set_answer_limit },
	{ "answer-limits", set_answer_limits },
	{ NULL, NULL },
};

int config_load_file(struct config *cfg, const char *path, char err[CONFIG_ERROR_MAX])
{
	yaml_parser_t parser;
	yaml_document_t doc;
	int rc = -1;
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, CONFIG_ERROR_MAX, "%s:0: config: cannot open: %s", path, strerror(errno));
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
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	if (!root)
		rc = 0;  /* an empty file keeps every default */
	else
		rc = apply_mapping(&y, root, "config", top_rules, cfg);
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

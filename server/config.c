/* config.c -- the server's settings: built-in defaults, derived values, lookups.
 *
 * The YAML file is read by config_file.c (scalar keys) and config_lists.c
 * (services and keys); the command line by main.c. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_yaml.h"

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
	cfg->health_max_concurrent = 64;
	cfg->health_fail_open = 1;
	config_store_defaults(cfg);
	cfg->max_udp_payload = 1232;
	strcpy(cfg->zones_dir, "zones");
	cfg->log_level = LOG_INFO;
	cfg->soa.ttl = 5;
	/* Secondaries follow NOTIFY within a second; the timers are the fallback, and expire
	 * keeps them answering through a day of primary outage. */
	cfg->soa.refresh = 60;
	cfg->soa.retry = 10;
	cfg->soa.expire = 86400;
	cfg->journal_versions = 10000;
	cfg->journal_bytes = 64ull << 20;
	cfg->soa.minimum = 5;
	cfg->tcp_idle_timeout = 10;
	cfg->tcp_max_connections = 512;
	cfg->tcp_max_connections_per_client = 64;
	cfg->rrl_rate = 0;
	cfg->rrl_slip = 2;
	cfg->rrl_ipv4_prefix = 24;
	cfg->rrl_ipv6_prefix = 56;
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
	cidr_list_add_texts(&cfg->see_all, loopback, 2);
	cfg->max_instances_per_service = 100000;
	cfg->max_instances = 2000000;
	cfg->max_line_length = 4096;  /* above the longest valid REGISTER (64 fields, 1,024 bytes of TXT) */
	cfg->rate_limit = 1000;
	cfg->rate_burst = 2000;
	cfg->forward_timeout_ms = 1500;
	config_parse_listen("127.0.0.1:8054", &cfg->http[0], err);
	cfg->http_count = 1;
	cfg->bare_names = 1;
}

int config_check_zones_dir(const char *dir, char err[CONFIG_ERROR_MAX])
{
	DIR *d = opendir(dir);
	if (!d) {
		snprintf(err, CONFIG_ERROR_MAX, "'%s': cannot open zones directory: %s", dir, strerror(errno));
		return -1;
	}
	closedir(d);
	return 0;
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

void config_free_keys(struct config *cfg)
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
	config_free_keys(cfg);
	config_free_transfer(cfg);
	free(cfg->answer_limits);
	cfg->answer_limits = NULL;
	cfg->answer_limit_count = 0;
	cidr_list_free(&cfg->allow_from);
	cidr_list_free(&cfg->allow_query);
	cidr_list_free(&cfg->rate_limit_exempt);
	config_free_views(cfg);
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

/* config.h -- the server's settings: built-in defaults, YAML file, command line. */
#ifndef SVCDNS_CONFIG_H
#define SVCDNS_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "acl.h"
#include "dname.h"
#include "log.h"
#include "registry.h"

#define CONFIG_LINE_LENGTH_MAX 65536  /* the largest max-line-length allowed */

#define CONFIG_MAX_LISTEN 16
#define CONFIG_MAX_NS_ADDRS 8
#define CONFIG_MAX_FORWARD 8
#define CONFIG_ERROR_MAX 512

struct listen_addr {
	struct sockaddr_storage sa;
	socklen_t sa_len;
	char text[64];            /* as written: "127.0.0.1:53", "[::1]:5353" */
};

/* A registration key: requests signed with it may touch services matching its patterns. */
struct reg_key {
	char name[64];
	uint8_t secret[256];
	size_t secret_len;
	char **patterns;          /* shell globs of service names; none: every service */
	size_t pattern_count;
};

/* TSIG (RFC 8945) algorithms; md5 and sha1 are refused at load. */
enum tsig_algorithm { TSIG_HMAC_SHA224, TSIG_HMAC_SHA256, TSIG_HMAC_SHA384, TSIG_HMAC_SHA512 };

#define TSIG_SECRET_MAX 256

/* A TSIG key of tsig-keys: transfers and NOTIFY are signed with these. */
struct tsig_key {
	char name[DNAME_MAX_TEXT];        /* as configured, for logs and ACLs */
	uint8_t wire[DNAME_MAX_WIRE];     /* lowercase wire name */
	enum tsig_algorithm algorithm;
	uint8_t secret[TSIG_SECRET_MAX];  /* decoded from base64 */
	size_t secret_len;
};

/* transfer.allow: a source network that may transfer, with the key it must sign with. */
struct key_ref {
	int index;                        /* in tsig_keys, or -1: none */
	char name[DNAME_MAX_TEXT];        /* as written, until the file is read whole */
	char where[160];                  /* "FILE:LINE: transfer.allow[0].key", for errors */
};

struct transfer_acl {
	struct cidr_list from;
	struct key_ref key;               /* -1: unsigned requests allowed */
};

/* transfer.notify: a secondary told of each new version. */
struct notify_target {
	struct listen_addr to;
	struct key_ref key;               /* -1: NOTIFY unsigned */
};

#define STORE_MAX_ENDPOINTS 8

/* store: the shared registry on etcd (store.h); disabled: embedded (memory + state). */
struct store_config {
	int enabled;
	int tls;                          /* etcds:// */
	char url[1024];                   /* as written, for logs */
	struct { char host[256]; uint16_t port; } endpoints[STORE_MAX_ENDPOINTS];
	int endpoint_count;
	char tls_ca[PATH_MAX], tls_cert[PATH_MAX], tls_key[PATH_MAX];  /* store-tls */
	char auth_user[128];              /* store-auth.user; "" : no auth */
	char auth_password[256];          /* read from store-auth.password-file */
	char prefix[512];                 /* store-prefix; "" until config_finish: /svcdns/<domain>/ */
	uint32_t timeout_ms;              /* store-timeout */
	char node_id[128];                /* node-id; "" until config_finish: hostname:register port */
	uint32_t node_lease_s;            /* node-lease */
};

struct ns_address {
	int family;
	uint8_t addr[16];
};

struct config {
	char source[PATH_MAX];            /* the YAML file, or "" for built-in defaults */
	uint8_t domain[DNAME_MAX_WIRE];   /* lowercase wire form */
	size_t domain_len;
	char domain_text[DNAME_MAX_TEXT];
	struct listen_addr dns[CONFIG_MAX_LISTEN];
	int dns_count;
	int dns_is_default;               /* listening on the defaults: a missing IPv6 is fine */
	uint32_t ttl;                     /* answer TTL of service records */
	uint16_t max_udp_payload;         /* largest UDP answer we send (EDNS) */
	char zones_dir[PATH_MAX];
	int zones_dir_explicit;           /* set by the file or --zones: it must exist */
	enum log_level log_level;
	struct {
		uint8_t name[DNAME_MAX_WIRE];        /* NS of the service domain, SOA MNAME */
		struct ns_address addrs[CONFIG_MAX_NS_ADDRS];
		int addr_count;
	} ns;
	struct {
		uint8_t rname[DNAME_MAX_WIRE];       /* the hostmaster's mailbox */
		uint32_t ttl, refresh, retry, expire, minimum;
	} soa;
	uint32_t tcp_idle_timeout;        /* seconds */
	uint32_t tcp_max_connections;
	uint32_t tcp_max_connections_per_client;
	struct cidr_list allow_query;     /* who may query; empty: everyone */
	uint32_t rrl_rate;                /* UDP answers per second per client network; 0: off */
	uint32_t rrl_slip;                /* every n-th limited answer is sent truncated; 0: none */
	uint32_t rrl_ipv4_prefix, rrl_ipv6_prefix;
	struct instance_spec *services;   /* static instances, owned */
	size_t service_count;

	/* registration protocol */
	struct listen_addr reg[CONFIG_MAX_LISTEN];
	int reg_count;
	int reg_is_default;
	char state_file[PATH_MAX];        /* "" : registrations live in memory only */
	uint32_t ttl_default, ttl_min, ttl_max;   /* lease seconds */
	struct cidr_list allow_from;      /* registration sources */
	struct reg_key *keys;             /* owned */
	size_t key_count;

	/* zone transfers (AXFR/IXFR, NOTIFY) */
	struct tsig_key *tsig_keys;       /* owned */
	size_t tsig_key_count;
	struct transfer_acl *transfer_allow;  /* owned; none: nobody may transfer */
	size_t transfer_allow_count;
	struct notify_target *notify;     /* owned */
	size_t notify_count;
	uint32_t journal_versions;        /* IXFR history kept in memory */
	uint64_t journal_bytes;
	uint32_t max_instances_per_service, max_instances;
	uint32_t max_line_length;      /* at most CONFIG_LINE_LENGTH_MAX */
	uint32_t rate_limit, rate_burst;  /* registration requests per second per source */
	struct cidr_list rate_limit_exempt;

	/* container integration */
	struct listen_addr forward[CONFIG_MAX_FORWARD];  /* upstream resolvers, in order */
	int forward_count;
	int forward_from_resolv_conf;     /* take them from /etc/resolv.conf at start */
	uint32_t forward_timeout_ms;      /* per upstream before failing over */
	struct listen_addr http[CONFIG_MAX_LISTEN];
	int http_count;
	int bare_names;                   /* answer single-label names from the service domain */
	int log_queries;                  /* one log line per DNS query (log-queries, --log-queries) */
	uint32_t answer_limit;            /* most A/AAAA records per answer; 0: all */
	struct answer_limit_override {
		char service[DNAME_MAX_LABEL + 1];
		uint32_t limit;
	} *answer_limits;                 /* per-service answer-limit, owned */
	size_t answer_limit_count;

	/* views, subsets and weights (networks:, see-all:, splits: in the file; views.h) */
	struct network {
		char name[DNAME_MAX_LABEL + 1];   /* lowercase LDH label */
		struct cidr_list cidrs;
	} *networks;                      /* owned; none: every client sees everything */
	size_t network_count;             /* at most VIEWS_MAX_NETWORKS */
	struct cidr_list see_all;         /* sources that see every network (default: loopback) */
	struct split *splits;             /* splits:, owned */
	size_t split_count;
	int dns_sd;                       /* answer DNS-SD browsing names (dnssd.c); off by default */

	/* health checks (health: in the file) */
	uint32_t health_max_concurrent;   /* probes in flight at once */
	int health_only_passing;          /* answers leave out warning instances too */
	int health_fail_open;             /* every candidate withheld: answer them all */

	struct store_config store;        /* --store, store-* keys, node-id, node-lease */
};

/* Parses etcd://HOST:PORT[,HOST:PORT]... or etcds://... into cfg->store; 0 or -1 with err. */
int config_parse_store_url(struct config *cfg, const char *text, char err[CONFIG_ERROR_MAX]);

/* Looks up the tsig-keys that transfer.allow and transfer.notify name; 0 or -1 with err. */
int config_resolve_transfer_keys(struct config *cfg, char err[CONFIG_ERROR_MAX]);
/* Fills in the built-in defaults. */
void config_defaults(struct config *cfg);
/* Reads a YAML file over the current settings; on error writes "file:line: key: reason". */
int config_load_file(struct config *cfg, const char *path, char err[CONFIG_ERROR_MAX]);
/* Sets the service domain from text; returns 0 or -1 with a reason in err. */
int config_set_domain(struct config *cfg, const char *text, char err[CONFIG_ERROR_MAX]);
/* Parses an upstream "ADDR", "ADDR:PORT", "[V6]:PORT" or bare IPv6 (port 53). */
int config_parse_upstream(const char *text, struct listen_addr *out, char err[CONFIG_ERROR_MAX]);
/* Replaces the forwarders with the nameservers of a resolv.conf file, skipping our own
 * DNS listen addresses; returns how many were taken, or -1 with err. */
int config_forward_from_resolv_conf(struct config *cfg, const char *path, char err[CONFIG_ERROR_MAX]);
/* The answer limit of a service (its override, else answer-limit); 0: no limit. */
uint32_t config_answer_limit(const struct config *cfg, const uint8_t *service_label);
/* Index of a key by name, or -1. */
int config_find_key(const struct config *cfg, const char *name);
/* Parses "ADDR:PORT" or "[V6]:PORT" into a listen address; returns 0 or -1 with err. */
int config_parse_listen(const char *text, struct listen_addr *out, char err[CONFIG_ERROR_MAX]);
/* Fails with a reason when dir cannot be opened as a directory. */
int config_check_zones_dir(const char *dir, char err[CONFIG_ERROR_MAX]);
/* Derives the settings that depend on others (NS name, hostmaster); call once all are set. */
void config_finish(struct config *cfg);
/* The store's defaults (config_defaults calls it). */
void config_store_defaults(struct config *cfg);
/* Derives the store's prefix and node id and checks what goes together; 0 or -1 with err.
 * Call after config_finish. */
int config_store_finish(struct config *cfg, char err[CONFIG_ERROR_MAX]);
/* The index of a network by name (lowercase), or -1. */
int config_find_network(const struct config *cfg, const char *name);
/* Frees what the config owns. */
void config_free(struct config *cfg);

#endif

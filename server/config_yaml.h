/* config_yaml.h -- walking a libyaml document against key tables (private to config*.c).
 *
 * Every setter gets the node of its value and the full path of its key ("soa.minimum",
 * "services[0].address"); every error is written as "FILE:LINE: KEY: REASON" through
 * cfg_fail(). */
#ifndef SVCDNS_CONFIG_YAML_H
#define SVCDNS_CONFIG_YAML_H

#include <yaml.h>

#include "config.h"

#define CFG_KEY_MAX 160   /* a full key path: "services[12].txt[3]" */

struct yaml_ctx {
	const char *path;
	char dir[PATH_MAX];       /* the file's directory: relative paths resolve against it */
	yaml_document_t *doc;
	char *err;
};

typedef int (*key_setter)(struct yaml_ctx *y, void *target, const char *key, yaml_node_t *value);

struct key_rule {
	const char *name;
	key_setter set;
};

/* Writes "FILE:LINE: KEY: REASON" into the context's error buffer; returns -1. */
int cfg_fail(struct yaml_ctx *y, yaml_node_t *node, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The text of a scalar node, or NULL for a list or mapping. */
const char *cfg_scalar(yaml_node_t *node);
int cfg_get_string(struct yaml_ctx *y, yaml_node_t *node, const char *key, const char **out);
int cfg_get_uint(struct yaml_ctx *y, yaml_node_t *node, const char *key,
	     unsigned long min, unsigned long max, unsigned long *out);
int cfg_set_u32(struct yaml_ctx *y, const char *key, yaml_node_t *value, uint32_t *field,
	    unsigned long min, unsigned long max);
/* A file or directory path into a buffer of size bytes; a relative one is taken
 * relative to the config file's directory. */
int cfg_set_path(struct yaml_ctx *y, const char *key, yaml_node_t *value, char *field, size_t size);
/* Reads at most size bytes of a secret kept in its own file (the value is its path),
 * refusing one that group or others may read; sets *len. */
int cfg_read_secret_file(struct yaml_ctx *y, yaml_node_t *value, const char *key, char *buf,
			 size_t size, size_t *len);
/* A domain name of LDH labels, into lowercase wire form. */
int cfg_get_name(struct yaml_ctx *y, yaml_node_t *node, const char *key, uint8_t wire[DNAME_MAX_WIRE]);
/* One LDH label, lowercased. */
int cfg_get_label(struct yaml_ctx *y, yaml_node_t *v, const char *key, char out[DNAME_MAX_LABEL + 1]);
int cfg_parse_ip(const char *text, int *family, uint8_t addr[16]);
/* Calls fn for a scalar, or for every item of a sequence of scalars. */
int cfg_for_each_item(struct yaml_ctx *y, yaml_node_t *value, const char *key,
		  int (*fn)(struct yaml_ctx *, yaml_node_t *, const char *, void *), void *arg);
/* "prefix.name", or "name" for an empty prefix. */
void cfg_key_path(char out[CFG_KEY_MAX], const char *prefix, const char *name);
/* Fails when the pair's key was already written earlier in the mapping. */
int cfg_check_duplicate(struct yaml_ctx *y, yaml_node_t *map, yaml_node_pair_t *pair, const char *key);
/* Walks a mapping against a key table; unknown and duplicate keys are errors. */
int cfg_apply_mapping(struct yaml_ctx *y, yaml_node_t *map, const char *where,
		  const struct key_rule *rules, void *target);

/* config_lists.c: the list-valued keys */
int set_services(struct yaml_ctx *y, void *target, const char *key, yaml_node_t *v);
int set_keys(struct yaml_ctx *y, void *target, const char *key, yaml_node_t *v);
/* config_transfer.c: tsig-keys and transfer */
int set_tsig_keys(struct yaml_ctx *y, void *target, const char *key, yaml_node_t *v);
int set_transfer(struct yaml_ctx *y, void *target, const char *key, yaml_node_t *v);
void config_free_transfer(struct config *cfg);
/* config_health.c: health and services[].check */
int set_health(struct yaml_ctx *y, void *target, const char *key, yaml_node_t *v);
int set_service_check(struct yaml_ctx *y, void *target, const char *key, yaml_node_t *v);
/* config_store.c: store, store-tls, store-auth, store-prefix, store-timeout, node-id, node-lease */
int set_store(struct yaml_ctx *y, void *target, const char *key, yaml_node_t *v);
int set_store_tls(struct yaml_ctx *y, void *target, const char *key, yaml_node_t *v);
int set_store_auth(struct yaml_ctx *y, void *target, const char *key, yaml_node_t *v);
int set_store_prefix(struct yaml_ctx *y, void *target, const char *key, yaml_node_t *v);
int set_store_timeout(struct yaml_ctx *y, void *target, const char *key, yaml_node_t *v);
int set_node_id(struct yaml_ctx *y, void *target, const char *key, yaml_node_t *v);
int set_node_lease(struct yaml_ctx *y, void *target, const char *key, yaml_node_t *v);
/* config_views.c: networks, see-all, splits and dns-sd */
int set_networks(struct yaml_ctx *y, void *target, const char *key, yaml_node_t *v);
int set_see_all(struct yaml_ctx *y, void *target, const char *key, yaml_node_t *v);
int set_splits(struct yaml_ctx *y, void *target, const char *key, yaml_node_t *v);
int set_dns_sd(struct yaml_ctx *y, void *target, const char *key, yaml_node_t *v);
/* services[].tags, .addrs (after .address), .network: as REGISTER's tags=, addr=, network= */
int set_service_tags(struct yaml_ctx *y, void *target, const char *key, yaml_node_t *v);
int set_service_addrs(struct yaml_ctx *y, void *target, const char *key, yaml_node_t *v);
int set_service_network(struct yaml_ctx *y, void *target, const char *key, yaml_node_t *v);
/* A services[] item s (at node item, key path where) against the instances before it:
 * a tag may not be the name of an instance of its service (its own included), nor its
 * name a tag of another, as REGISTER refuses with ERR 409.  0, or -1 with the error. */
int cfg_check_service_names(struct yaml_ctx *y, const struct config *cfg, const struct instance_spec *s,
			    yaml_node_t *item, const char *where);
/* config_file.c: the cidr list of a key (one item or a sequence), replacing list */
int set_cidr_list(struct yaml_ctx *y, yaml_node_t *v, const char *key, struct cidr_list *list);
/* config_file.c: true/yes/on or false/no/off */
int set_bool(struct yaml_ctx *y, yaml_node_t *v, const char *key, int *field);
/* config.c */
void config_free_keys(struct config *cfg);
/* config_views.c */
void config_free_views(struct config *cfg);
/* Once the file is read whole: every services[].network names a network; 0 or -1 with err. */
int config_check_views(struct yaml_ctx *y, yaml_node_t *root, const struct config *cfg);

#endif

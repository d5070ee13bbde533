/* config_views.c -- the config keys of views and weights: networks, see-all, splits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_yaml.h"
#include "views.h"

static void free_networks(struct config *cfg)
{
	for (size_t i = 0; i < cfg->network_count; i++)
		cidr_list_free(&cfg->networks[i].cidrs);
	free(cfg->networks);
	cfg->networks = NULL;
	cfg->network_count = 0;
}

/* networks: { frontend: [10.201.0.0/24], user-backend: 10.202.0.0/24 } */
int set_networks(struct yaml_ctx *y, void *target, const char *key, yaml_node_t *v)
{
	struct config *cfg = target;
	if (v->type != YAML_MAPPING_NODE)
		return cfg_fail(y, v, key, "expected a mapping of network: [CIDR, ...]");
	free_networks(cfg);
	for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
		yaml_node_t *kn = yaml_document_get_node(y->doc, p->key);
		yaml_node_t *vn = yaml_document_get_node(y->doc, p->value);
		char item_key[CFG_KEY_MAX];
		struct network net = { .cidrs = { NULL, 0 } };
		if (cfg_get_label(y, kn, key, net.name) < 0)
			return -1;
		cfg_key_path(item_key, key, net.name);
		if (cfg_check_duplicate(y, v, p, item_key) < 0)
			return -1;
		if (cfg->network_count == VIEWS_MAX_NETWORKS)
			return cfg_fail(y, kn, key, "at most %d networks", VIEWS_MAX_NETWORKS);
		struct network *grown = realloc(cfg->networks, (cfg->network_count + 1) * sizeof *grown);
		if (!grown)
			return cfg_fail(y, v, key, "out of memory");
		cfg->networks = grown;
		cfg->networks[cfg->network_count++] = net;
		struct network *added = &cfg->networks[cfg->network_count - 1];
		if (set_cidr_list(y, vn, item_key, &added->cidrs) < 0)
			return -1;
		if (added->cidrs.count == 0)
			return cfg_fail(y, vn, item_key, "needs at least one CIDR");
	}
	return 0;
}

int set_dns_sd(struct yaml_ctx *y, void *target, const char *key, yaml_node_t *v)
{
	return set_bool(y, v, key, &((struct config *)target)->dns_sd);
}

int set_see_all(struct yaml_ctx *y, void *target, const char *key, yaml_node_t *v)
{
	return set_cidr_list(y, v, key, &((struct config *)target)->see_all);
}

/* splits: { user-service: "v1=90 v2=10 limit=1" } */
int set_splits(struct yaml_ctx *y, void *target, const char *key, yaml_node_t *v)
{
	struct config *cfg = target;
	if (v->type != YAML_MAPPING_NODE)
		return cfg_fail(y, v, key, "expected a mapping of service: \"TAG=PERCENT ...\"");
	free(cfg->splits);
	cfg->splits = NULL;
	cfg->split_count = 0;
	for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
		yaml_node_t *kn = yaml_document_get_node(y->doc, p->key);
		yaml_node_t *vn = yaml_document_get_node(y->doc, p->value);
		char item_key[CFG_KEY_MAX], service[DNAME_MAX_LABEL + 1], reason[160];
		const char *text;
		struct split sp;
		if (cfg_get_label(y, kn, key, service) < 0)
			return -1;
		cfg_key_path(item_key, key, service);
		if (cfg_check_duplicate(y, v, p, item_key) < 0 || cfg_get_string(y, vn, item_key, &text) < 0)
			return -1;
		if (split_parse_text(text, &sp, reason, sizeof reason) < 0)
			return cfg_fail(y, vn, item_key, "%s", reason);
		split_set_service(&sp, service);
		sp.from_config = true;
		struct split *grown = realloc(cfg->splits, (cfg->split_count + 1) * sizeof *grown);
		if (!grown)
			return cfg_fail(y, v, key, "out of memory");
		cfg->splits = grown;
		cfg->splits[cfg->split_count++] = sp;
	}
	return 0;
}

/* ---- services[].tags, services[].addrs, services[].network ---- */

/* A label list item into names[*count], lowercase and once. */
static int add_name(struct yaml_ctx *y, yaml_node_t *v, const char *key, char (*names)[DNAME_MAX_LABEL + 1],
		    uint8_t *count, unsigned max)
{
	char label[DNAME_MAX_LABEL + 1];
	if (cfg_get_label(y, v, key, label) < 0)
		return -1;
	for (unsigned i = 0; i < *count; i++)
		if (strcmp(names[i], label) == 0)
			return cfg_fail(y, v, key, "'%s' appears twice", label);
	if (*count == max)
		return cfg_fail(y, v, key, "at most %u per instance", max);
	memcpy(names[(*count)++], label, sizeof label);
	return 0;
}

static int add_tag(struct yaml_ctx *y, yaml_node_t *v, const char *key, void *arg)
{
	struct instance_extras *x = &((struct instance_spec *)arg)->extras;
	if (add_name(y, v, key, x->tags, &x->tag_count, INSTANCE_TAGS_MAX) < 0)
		return -1;
	if (strcmp(x->tags[x->tag_count - 1], "limit") == 0)
		return cfg_fail(y, v, key, "'limit' is reserved (a split's limit=)");
	return 0;
}

static int add_network_name(struct yaml_ctx *y, yaml_node_t *v, const char *key, void *arg)
{
	struct instance_extras *x = &((struct instance_spec *)arg)->extras;
	return add_name(y, v, key, x->networks, &x->network_count, INSTANCE_NETWORKS_MAX);
}

static int add_addr(struct yaml_ctx *y, yaml_node_t *v, const char *key, void *arg)
{
	struct instance_spec *spec = arg;
	struct instance_extras *x = &spec->extras;
	const char *text;
	int family;
	if (cfg_get_string(y, v, key, &text) < 0)
		return -1;
	if (x->addr_count == INSTANCE_ADDRS_MAX)
		return cfg_fail(y, v, key, "at most %d per instance", INSTANCE_ADDRS_MAX);
	if (cfg_parse_ip(text, &family, x->addrs[x->addr_count]) < 0)
		return cfg_fail(y, v, key, "'%s' is not an IPv4 or IPv6 address", text);
	if (!spec->family)
		return cfg_fail(y, v, key, "write address before addrs");
	if (family != spec->family)
		return cfg_fail(y, v, key, "'%s' is not of the family of address", text);
	x->addr_count++;
	return 0;
}

int set_service_tags(struct yaml_ctx *y, void *target, const char *key, yaml_node_t *v)
{
	return cfg_for_each_item(y, v, key, add_tag, target);
}

int set_service_addrs(struct yaml_ctx *y, void *target, const char *key, yaml_node_t *v)
{
	return cfg_for_each_item(y, v, key, add_addr, target);
}

int set_service_network(struct yaml_ctx *y, void *target, const char *key, yaml_node_t *v)
{
	return cfg_for_each_item(y, v, key, add_network_name, target);
}

/* The node of key name in a services[] item, and its full key path (index >= 0: of
 * that item of a list value), for an error at the right line. */
static yaml_node_t *service_key_node(struct yaml_ctx *y, yaml_node_t *item, const char *where,
				     const char *name, int index, char key[CFG_KEY_MAX])
{
	cfg_key_path(key, where, name);
	for (yaml_node_pair_t *p = item->data.mapping.pairs.start; p < item->data.mapping.pairs.top; p++) {
		const char *k = cfg_scalar(yaml_document_get_node(y->doc, p->key));
		yaml_node_t *v = yaml_document_get_node(y->doc, p->value);
		if (!k || strcmp(k, name) != 0)
			continue;
		if (index < 0 || v->type != YAML_SEQUENCE_NODE ||
		    index >= v->data.sequence.items.top - v->data.sequence.items.start)
			return v;
		size_t len = strlen(key);
		snprintf(key + len, CFG_KEY_MAX - len, "[%d]", index);
		return yaml_document_get_node(y->doc, v->data.sequence.items.start[index]);
	}
	return item;
}

static bool spec_has_tag(const struct instance_spec *s, const char *tag)
{
	for (unsigned i = 0; i < s->extras.tag_count; i++)
		if (strcmp(s->extras.tags[i], tag) == 0)
			return true;
	return false;
}

int cfg_check_service_names(struct yaml_ctx *y, const struct config *cfg, const struct instance_spec *s,
			    yaml_node_t *item, const char *where)
{
	char key[CFG_KEY_MAX];
	for (unsigned t = 0; t < s->extras.tag_count; t++) {
		const char *tag = s->extras.tags[t];
		bool named = strcmp(tag, s->instance) == 0;
		for (size_t i = 0; i < cfg->service_count && !named; i++)
			named = strcmp(cfg->services[i].service, s->service) == 0 &&
				strcmp(cfg->services[i].instance, tag) == 0;
		if (named)
			return cfg_fail(y, service_key_node(y, item, where, "tags", (int)t, key), key,
					"tag '%s' is the name of instance %s.%s", tag, tag, s->service);
	}
	for (size_t i = 0; i < cfg->service_count; i++) {
		const struct instance_spec *o = &cfg->services[i];
		if (strcmp(o->service, s->service) == 0 && spec_has_tag(o, s->instance))
			return cfg_fail(y, service_key_node(y, item, where, "instance", -1, key), key,
					"instance name '%s' is a tag of %s.%s", s->instance, o->instance, o->service);
	}
	return 0;
}

/* The yaml node of services[i] (one item per static instance), or root. */
static yaml_node_t *service_item(struct yaml_ctx *y, yaml_node_t *root, size_t i)
{
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
		const char *k = cfg_scalar(yaml_document_get_node(y->doc, p->key));
		yaml_node_t *v = yaml_document_get_node(y->doc, p->value);
		if (!k || strcmp(k, "services") != 0 || v->type != YAML_SEQUENCE_NODE)
			continue;
		if ((ptrdiff_t)i < v->data.sequence.items.top - v->data.sequence.items.start) {
			yaml_node_t *item = yaml_document_get_node(y->doc, v->data.sequence.items.start[i]);
			return item && item->type == YAML_MAPPING_NODE ? item : v;
		}
		return v;
	}
	return root;
}

int config_check_views(struct yaml_ctx *y, yaml_node_t *root, const struct config *cfg)
{
	for (size_t i = 0; i < cfg->service_count; i++) {
		const struct instance_extras *x = &cfg->services[i].extras;
		for (unsigned j = 0; j < x->network_count; j++) {
			if (config_find_network(cfg, x->networks[j]) >= 0)
				continue;
			/* networks: may come after services:, so this waits for the whole file */
			char where[32], key[CFG_KEY_MAX];
			snprintf(where, sizeof where, "services[%zu]", i);
			yaml_node_t *item = service_item(y, root, i);
			if (item->type == YAML_MAPPING_NODE && item != root)
				item = service_key_node(y, item, where, "network", -1, key);
			else
				cfg_key_path(key, where, "network");
			return cfg_fail(y, item, key, "'%s' is not a network of networks:", x->networks[j]);
		}
	}
	return 0;
}

void config_free_views(struct config *cfg)
{
	free_networks(cfg);
	cidr_list_free(&cfg->see_all);
	free(cfg->splits);
	cfg->splits = NULL;
	cfg->split_count = 0;
}

int config_find_network(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->network_count; i++)
		if (strcmp(cfg->networks[i].name, name) == 0)
			return (int)i;
	return -1;
}

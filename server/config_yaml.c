/* config_yaml.c -- walking a libyaml document against key tables. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_yaml.h"

int cfg_fail(struct yaml_ctx *y, yaml_node_t *node, const char *key, const char *fmt, ...)
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

const char *cfg_scalar(yaml_node_t *node)
{
	return node->type == YAML_SCALAR_NODE ? (const char *)node->data.scalar.value : NULL;
}

int cfg_get_string(struct yaml_ctx *y, yaml_node_t *node, const char *key, const char **out)
{
	*out = cfg_scalar(node);
	if (!*out)
		return cfg_fail(y, node, key, "expected a single value, not a list or mapping");
	return 0;
}

int cfg_get_uint(struct yaml_ctx *y, yaml_node_t *node, const char *key,
		    unsigned long min, unsigned long max, unsigned long *out)
{
	const char *text;
	if (cfg_get_string(y, node, key, &text) < 0)
		return -1;
	char *end;
	errno = 0;
	*out = strtoul(text, &end, 10);
	if (errno || *text == 0 || *text == '-' || *end)
		return cfg_fail(y, node, key, "'%s' is not a number", text);
	if (*out < min || *out > max)
		return cfg_fail(y, node, key, "%lu is out of range %lu-%lu", *out, min, max);
	return 0;
}

int cfg_set_u32(struct yaml_ctx *y, const char *key, yaml_node_t *value, uint32_t *field,
		   unsigned long min, unsigned long max)
{
	unsigned long v;
	if (cfg_get_uint(y, value, key, min, max, &v) < 0)
		return -1;
	*field = (uint32_t)v;
	return 0;
}

int cfg_set_path(struct yaml_ctx *y, const char *key, yaml_node_t *value, char *field, size_t size)
{
	const char *text;
	if (cfg_get_string(y, value, key, &text) < 0)
		return -1;
	if (strlen(text) >= size)
		return cfg_fail(y, value, key, "path too long");
	strcpy(field, text);
	return 0;
}

int cfg_get_name(struct yaml_ctx *y, yaml_node_t *node, const char *key,
		    uint8_t wire[DNAME_MAX_WIRE])
{
	const char *text;
	if (cfg_get_string(y, node, key, &text) < 0)
		return -1;
	if (dname_from_text(text, wire) == 0 || !dname_is_ldh(wire))
		return cfg_fail(y, node, key, "'%s' is not a valid domain name", text);
	return 0;
}

int cfg_get_label(struct yaml_ctx *y, yaml_node_t *v, const char *key, char out[DNAME_MAX_LABEL + 1])
{
	const char *text;
	if (cfg_get_string(y, v, key, &text) < 0)
		return -1;
	if (!label_is_ldh(text, strlen(text)))
		return cfg_fail(y, v, key, "'%s' is not a valid name (letters, digits, inner hyphens; 1-63)", text);
	for (size_t i = 0; text[i]; i++)
		out[i] = (char)(text[i] >= 'A' && text[i] <= 'Z' ? text[i] + 32 : text[i]);
	out[strlen(text)] = 0;
	return 0;
}

int cfg_parse_ip(const char *text, int *family, uint8_t addr[16])
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
int cfg_for_each_item(struct yaml_ctx *y, yaml_node_t *value, const char *key,
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
int cfg_apply_mapping(struct yaml_ctx *y, yaml_node_t *map, const char *where,
			 const struct key_rule *rules, void *target)
{
	if (map->type != YAML_MAPPING_NODE)
		return cfg_fail(y, map, where, "expected a mapping of key: value");
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(y->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(y->doc, p->value);
		const char *name = cfg_scalar(k);
		if (!name)
			return cfg_fail(y, k, where, "keys must be plain words");
		const struct key_rule *rule = rules;
		while (rule->name && strcmp(rule->name, name) != 0)
			rule++;
		if (!rule->name)
			return cfg_fail(y, k, name, "unknown key");
		if (rule->set(y, target, name, v) < 0)
			return -1;
	}
	return 0;
}

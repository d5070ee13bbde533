/* config_yaml.c -- walking a libyaml document against key tables. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config_yaml.h"

int cfg_fail(struct yaml_ctx *y, yaml_node_t *node, const char *key, const char *fmt, ...)
{
	char reason[CONFIG_ERROR_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof reason, fmt, ap);
	va_end(ap);
	snprintf(y->err, CONFIG_ERROR_MAX, "%s:%lu: %s: %s", y->path,
		 node ? (unsigned long)node->start_mark.line + 1 : 1ul, key, reason);
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
	/* An integer with a sign or too many digits is a number out of range, not a
	 * word: "ttl: -1" and "ttl: 99999999999" say so. */
	const char *digits = text[0] == '-' || text[0] == '+' ? text + 1 : text;
	if (*digits == 0 || strspn(digits, "0123456789") != strlen(digits))
		return cfg_fail(y, node, key, "'%s' is not a number", text);
	errno = 0;
	*out = strtoul(digits, NULL, 10);
	if (text[0] == '-' || errno == ERANGE || *out < min || *out > max)
		return cfg_fail(y, node, key, "%s is out of range (%lu..%lu)", text, min, max);
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
	if (text[0] == 0)
		return cfg_fail(y, value, key, "empty path");
	/* Relative to the config file's directory, not to wherever the server was started. */
	int n = text[0] == '/' || !y->dir[0] ? snprintf(field, size, "%s", text)
					      : snprintf(field, size, "%s/%s", y->dir, text);
	if (n < 0 || (size_t)n >= size)
		return cfg_fail(y, value, key, "path too long");
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

void cfg_key_path(char out[CFG_KEY_MAX], const char *prefix, const char *name)
{
	if (prefix && prefix[0])
		snprintf(out, CFG_KEY_MAX, "%s.%s", prefix, name);
	else
		snprintf(out, CFG_KEY_MAX, "%s", name);
}

/* Calls fn for a scalar, or for every item of a sequence of scalars ("key[i]"). */
int cfg_for_each_item(struct yaml_ctx *y, yaml_node_t *value, const char *key,
			 int (*fn)(struct yaml_ctx *, yaml_node_t *, const char *, void *), void *arg)
{
	if (value->type != YAML_SEQUENCE_NODE)
		return fn(y, value, key, arg);
	size_t index = 0;
	for (yaml_node_item_t *it = value->data.sequence.items.start;
	     it < value->data.sequence.items.top; it++) {
		char item_key[CFG_KEY_MAX];
		snprintf(item_key, sizeof item_key, "%s[%zu]", key, index++);
		if (fn(y, yaml_document_get_node(y->doc, *it), item_key, arg) < 0)
			return -1;
	}
	return 0;
}

/* A key written twice in one mapping is a mistake, never "the last one wins". */
int cfg_check_duplicate(struct yaml_ctx *y, yaml_node_t *map, yaml_node_pair_t *pair, const char *key)
{
	const char *name = cfg_scalar(yaml_document_get_node(y->doc, pair->key));
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < pair; p++) {
		yaml_node_t *earlier = yaml_document_get_node(y->doc, p->key);
		const char *other = cfg_scalar(earlier);
		if (other && name && strcmp(other, name) == 0)
			return cfg_fail(y, yaml_document_get_node(y->doc, pair->key), key,
					"duplicate key (first set at line %lu)",
					(unsigned long)earlier->start_mark.line + 1);
	}
	return 0;
}

/* Walks a mapping against a key table; unknown and duplicate keys are errors. Setters
 * get the full key path ("soa.minimum", "services[0].address") for their messages. */
int cfg_apply_mapping(struct yaml_ctx *y, yaml_node_t *map, const char *where,
			 const struct key_rule *rules, void *target)
{
	if (map->type != YAML_MAPPING_NODE)
		return cfg_fail(y, map, where[0] ? where : "(top level)", "expected a mapping of key: value");
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(y->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(y->doc, p->value);
		const char *name = cfg_scalar(k);
		if (!name)
			return cfg_fail(y, k, where[0] ? where : "(top level)", "keys must be plain words");
		char key[CFG_KEY_MAX];
		cfg_key_path(key, where, name);
		if (cfg_check_duplicate(y, map, p, key) < 0)
			return -1;
		const struct key_rule *rule = rules;
		while (rule->name && strcmp(rule->name, name) != 0)
			rule++;
		if (!rule->name)
			return cfg_fail(y, k, key, "unknown key");
		if (rule->set(y, target, key, v) < 0)
			return -1;
	}
	return 0;
}

int cfg_read_secret_file(struct yaml_ctx *y, yaml_node_t *value, const char *key, char *buf,
			 size_t size, size_t *len)
{
	char path[PATH_MAX];
	if (cfg_set_path(y, key, value, path, sizeof path) < 0)
		return -1;
	FILE *f = fopen(path, "r");
	if (!f)
		return cfg_fail(y, value, key, "'%s': cannot open: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fileno(f), &st) < 0 || (st.st_mode & 0077)) {
		fclose(f);
		return cfg_fail(y, value, key, "'%s' is readable by group or others: chmod 600 it", path);
	}
	*len = fread(buf, 1, size, f);
	fclose(f);
	return 0;
}

/* store_codec.c -- the etcd key layout and the instance record's JSON (etcd mode). */
#include <arpa/inet.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "store_codec.h"

static int add(json_t *obj, const char *name, json_t *value)
{
	return value ? json_object_set_new(obj, name, value) : -1;
}

/* The check as its registration options would write it. */
static json_t *encode_check(const struct health_check_spec *c)
{
	char url[HEALTH_URL_MAX];
	health_format_url(c, url, sizeof url);
	json_t *o = json_object();
	if (!o || add(o, "url", json_string(url)) < 0 || add(o, "interval_ms", json_integer(c->interval_ms)) < 0 ||
	    add(o, "timeout_ms", json_integer(c->timeout_ms)) < 0 || add(o, "fall", json_integer(c->fall)) < 0 ||
	    add(o, "rise", json_integer(c->rise)) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *encode_txt(const struct instance_spec *s)
{
	json_t *list = json_array();
	for (size_t i = 0; list && i < s->txt_len; i += s->txt[i] + 1u)
		if (json_array_append_new(list, json_stringn((const char *)s->txt + i + 1, s->txt[i])) < 0) {
			json_decref(list);
			return NULL;
		}
	return list;
}

/* tags=, addr=, network= and whether weight= was given (views.c places the addresses). */
static json_t *encode_extras(const struct instance_spec *s)
{
	const struct instance_extras *x = &s->extras;
	json_t *o = json_object(), *tags = json_array(), *addrs = json_array(), *networks = json_array();
	int bad = !o || !tags || !addrs || !networks;
	for (unsigned i = 0; !bad && i < x->tag_count; i++)
		bad = json_array_append_new(tags, json_string(x->tags[i])) < 0;
	for (unsigned i = 0; !bad && i < x->addr_count; i++) {
		char text[INET6_ADDRSTRLEN];
		inet_ntop(s->family, x->addrs[i], text, sizeof text);
		bad = json_array_append_new(addrs, json_string(text)) < 0;
	}
	for (unsigned i = 0; !bad && i < x->network_count; i++)
		bad = json_array_append_new(networks, json_string(x->networks[i])) < 0;
	if (bad || add(o, "tags", tags) < 0 || add(o, "addrs", addrs) < 0 || add(o, "networks", networks) < 0 ||
	    add(o, "weight_set", json_boolean(x->weight_set)) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int decode_labels(json_t *list, char (*out)[DNAME_MAX_LABEL + 1], unsigned max, uint8_t *count)
{
	size_t i;
	json_t *item;
	if (!json_is_array(list) || json_array_size(list) > max)
		return -1;
	json_array_foreach(list, i, item) {
		if (!json_is_string(item) || !label_is_ldh(json_string_value(item), json_string_length(item)))
			return -1;
		memcpy(out[i], json_string_value(item), json_string_length(item) + 1);
	}
	*count = (uint8_t)json_array_size(list);
	return 0;
}

static int decode_extras(json_t *o, struct instance_spec *s)
{
	struct instance_extras *x = &s->extras;
	json_t *addrs = json_object_get(o, "addrs"), *item;
	size_t i;
	if (!json_is_object(o) || decode_labels(json_object_get(o, "tags"), x->tags, INSTANCE_TAGS_MAX, &x->tag_count) < 0 ||
	    decode_labels(json_object_get(o, "networks"), x->networks, INSTANCE_NETWORKS_MAX, &x->network_count) < 0 ||
	    !json_is_array(addrs) || json_array_size(addrs) > INSTANCE_ADDRS_MAX ||
	    !json_is_boolean(json_object_get(o, "weight_set")))
		return -1;
	json_array_foreach(addrs, i, item)
		if (!json_is_string(item) || inet_pton(s->family, json_string_value(item), x->addrs[i]) != 1)
			return -1;
	x->addr_count = (uint8_t)json_array_size(addrs);
	x->weight_set = json_is_true(json_object_get(o, "weight_set"));
	return 0;
}

char *store_record_encode(const struct store_record *rec)
{
	const struct instance_spec *s = &rec->spec;
	char addr[INET6_ADDRSTRLEN];
	inet_ntop(s->family, s->addr, addr, sizeof addr);
	json_t *o = json_object();
	char *text = NULL;
	if (!o || add(o, "address", json_string(addr)) < 0 || add(o, "port", json_integer(s->port)) < 0 ||
	    add(o, "proto", json_string(s->proto == PROTO_UDP ? "udp" : "tcp")) < 0 ||
	    add(o, "priority", json_integer(s->priority)) < 0 || add(o, "weight", json_integer(s->weight)) < 0 ||
	    add(o, "txt", encode_txt(s)) < 0 || add(o, "ttl", json_integer(rec->ttl)) < 0 ||
	    add(o, "key", json_string(rec->key)) < 0 || add(o, "owner", json_string(rec->owner)) < 0 ||
	    (s->check.kind != CHECK_NONE && add(o, "check", encode_check(&s->check)) < 0) ||
	    (instance_extras_used(&s->extras) && add(o, "extras", encode_extras(s)) < 0))
		goto out;
	text = json_dumps(o, JSON_COMPACT);
out:
	json_decref(o);
	return text;
}

static int get_uint(json_t *o, const char *name, unsigned long max, unsigned long *out)
{
	json_t *v = json_object_get(o, name);
	if (!json_is_integer(v) || json_integer_value(v) < 0 || (unsigned long)json_integer_value(v) > max)
		return -1;
	*out = (unsigned long)json_integer_value(v);
	return 0;
}

static int get_string(json_t *o, const char *name, char *out, size_t size)
{
	json_t *v = json_object_get(o, name);
	if (!json_is_string(v) || json_string_length(v) >= size)
		return -1;
	memcpy(out, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

static int decode_check(json_t *o, struct health_check_spec *c, const char **reason)
{
	json_t *url = json_object_get(o, "url");
	unsigned long interval, timeout, fall, rise;
	if (!json_is_string(url) || health_parse_url(json_string_value(url), c, reason) < 0 ||
	    get_uint(o, "interval_ms", UINT32_MAX, &interval) < 0 || get_uint(o, "timeout_ms", UINT32_MAX, &timeout) < 0 ||
	    get_uint(o, "fall", HEALTH_COUNT_MAX, &fall) < 0 || get_uint(o, "rise", HEALTH_COUNT_MAX, &rise) < 0) {
		*reason = "bad check";
		return -1;
	}
	c->interval_ms = (uint32_t)interval;
	c->timeout_ms = (uint32_t)timeout;
	c->fall = (uint8_t)fall;
	c->rise = (uint8_t)rise;
	return 0;
}

static int decode_txt(json_t *list, struct instance_spec *s)
{
	size_t i;
	json_t *item;
	if (!json_is_array(list))
		return -1;
	json_array_foreach(list, i, item) {
		size_t len = json_string_length(item);
		if (!json_is_string(item) || len > 255 || s->txt_len + len + 1 > REGISTRY_TXT_MAX)
			return -1;
		s->txt[s->txt_len++] = (uint8_t)len;
		memcpy(s->txt + s->txt_len, json_string_value(item), len);
		s->txt_len = (uint16_t)(s->txt_len + len);
	}
	return 0;
}

int store_record_decode(const char *text, size_t len, struct store_record *rec, const char **reason)
{
	struct instance_spec *s = &rec->spec;
	char addr[INET6_ADDRSTRLEN], proto[8];
	unsigned long port, priority, weight, ttl;
	int rc = -1;
	json_t *o = json_loadb(text, len, 0, NULL);
	*reason = "not a JSON object";
	if (!json_is_object(o))
		goto out;
	*reason = "missing or bad field";
	if (get_string(o, "address", addr, sizeof addr) < 0 || get_uint(o, "port", 65535, &port) < 0 ||
	    get_string(o, "proto", proto, sizeof proto) < 0 || get_uint(o, "priority", 65535, &priority) < 0 ||
	    get_uint(o, "weight", 65535, &weight) < 0 || get_uint(o, "ttl", 2147483, &ttl) < 0 ||
	    get_string(o, "key", rec->key, sizeof rec->key) < 0 ||
	    get_string(o, "owner", rec->owner, sizeof rec->owner) < 0 || decode_txt(json_object_get(o, "txt"), s) < 0)
		goto out;
	if (inet_pton(AF_INET, addr, s->addr) == 1)
		s->family = AF_INET;
	else if (inet_pton(AF_INET6, addr, s->addr) == 1)
		s->family = AF_INET6;
	else
		goto out;
	s->port = (uint16_t)port;
	s->priority = (uint16_t)priority;
	s->weight = (uint16_t)weight;
	s->proto = strcmp(proto, "udp") == 0 ? PROTO_UDP : PROTO_TCP;
	rec->ttl = (unsigned)ttl;
	json_t *check = json_object_get(o, "check");
	if (check && decode_check(check, &s->check, reason) < 0)
		goto out;
	json_t *extras = json_object_get(o, "extras");
	*reason = "bad extras (tags, addrs, networks)";
	if (extras && decode_extras(extras, s) < 0)
		goto out;
	rc = 0;
out:
	json_decref(o);
	return rc;
}

char *store_split_encode(const struct split *sp)
{
	json_t *o = json_object(), *shares = json_object();
	char *text = NULL;
	int bad = !o || add(o, "shares", shares) < 0;
	for (unsigned i = 0; !bad && i < sp->count; i++)
		bad = add(shares, sp->shares[i].tag, json_integer(sp->shares[i].percent)) < 0;
	if (!bad && sp->limit)
		bad = add(o, "limit", json_integer(sp->limit)) < 0;
	if (!bad)
		text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return text;
}

/* The JSON goes back to SPLIT's own text, so etcd's copy passes the checks SPLIT makes. */
int store_split_decode(const char *json, size_t len, struct split *sp, char *reason, size_t size)
{
	char text[SPLIT_TEXT_MAX + 1];
	size_t used = 0;
	const char *tag;
	json_t *o = json_loadb(json, len, 0, NULL), *shares = json_object_get(o, "shares"), *v;
	json_t *limit = json_object_get(o, "limit");
	int rc = -1;
	if (!json_is_object(shares) || json_object_size(shares) == 0 || (limit && !json_is_integer(limit))) {
		snprintf(reason, size, "not {\"shares\": {TAG: PERCENT, ...}, \"limit\": N}");
		goto out;
	}
	text[0] = 0;
	json_object_foreach(shares, tag, v) {
		if (!json_is_integer(v) || used >= sizeof text)
			goto bad;
		used += (size_t)snprintf(text + used, sizeof text - used, "%s%s=%" JSON_INTEGER_FORMAT, used ? " " : "",
					 tag, json_integer_value(v));
	}
	if (limit && json_integer_value(limit) != 0 && used < sizeof text)
		used += (size_t)snprintf(text + used, sizeof text - used, " limit=%" JSON_INTEGER_FORMAT,
					 json_integer_value(limit));
	if (used >= sizeof text)
		goto bad;
	rc = split_parse_text(text, sp, reason, size);
	goto out;
bad:
	snprintf(reason, size, "shares: percents must be integers, the text at most %d bytes", SPLIT_TEXT_MAX);
out:
	json_decref(o);
	return rc;
}

size_t store_split_key(const char *prefix, const char *service, char out[STORE_KEY_MAX])
{
	int n = snprintf(out, STORE_KEY_MAX, "%ss/%s", prefix, service);
	return n < 0 ? 0 : (size_t)n;
}

size_t store_instance_key(const char *prefix, const char *service, const char *instance,
			  char out[STORE_KEY_MAX])
{
	int n = snprintf(out, STORE_KEY_MAX, "%si/%s/%s", prefix, service, instance);
	return n < 0 ? 0 : (size_t)n;
}

int store_parse_instance_key(const char *rest, size_t len, char service[DNAME_MAX_LABEL + 1],
			     char instance[DNAME_MAX_LABEL + 1])
{
	const char *slash = memchr(rest, '/', len);
	if (!slash)
		return -1;
	size_t s = (size_t)(slash - rest), i = len - s - 1;
	if (!label_is_ldh(rest, s) || !label_is_ldh(slash + 1, i))
		return -1;
	memcpy(service, rest, s);
	service[s] = 0;
	memcpy(instance, slash + 1, i);
	instance[i] = 0;
	return 0;
}

void store_range_end(const char *prefix, char out[STORE_KEY_MAX])
{
	size_t n = strlen(prefix);
	memcpy(out, prefix, n + 1);
	if (n)
		out[n - 1]++;  /* prefixes end in '/': '0' follows it */
}

void store_base64(const void *data, size_t len, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, data, (int)len);
}

long store_unbase64(const char *text, uint8_t *out, size_t size)
{
	size_t len = strlen(text);
	if (len % 4 || len / 4 * 3 > size)
		return -1;
	int n = EVP_DecodeBlock(out, (const unsigned char *)text, (int)len);
	if (n < 0)
		return -1;
	if (len && text[len - 1] == '=')
		n--;
	if (len > 1 && text[len - 2] == '=')
		n--;
	return n;
}

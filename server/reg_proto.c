/* reg_proto.c -- the registration protocol's text lines: parse, check, execute, reply. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <netinet/in.h>

#include "log.h"
#include "reg_proto.h"
#include "views.h"
#include "weights.h"

#define MAX_FIELDS 64

struct request {
	char *fields[MAX_FIELDS];     /* NUL-terminated copies in text */
	int count;
	char *text;                   /* the registrar's line_copy: CONFIG_LINE_LENGTH_MAX + 1 bytes */
};

/* Writes an ERR line and returns its code, so that a refusal reads
 * "return reply_error(out, 400, ...);". */
static int reply_error(struct evbuffer *out, int code, const char *reason)
{
	evbuffer_add_printf(out, "ERR %d %s\n", code, reason);
	return code;
}

/* Splits on single spaces; an empty field (two spaces, leading/trailing space) is an error. */
static int split_fields(struct request *req, const char *line, size_t len, const char **reason)
{
	if (len > CONFIG_LINE_LENGTH_MAX) {
		*reason = "line too long";
		return -1;
	}
	memcpy(req->text, line, len);
	req->text[len] = 0;
	req->count = 0;
	char *p = req->text;
	for (;;) {
		char *space = strchr(p, ' ');
		if (space)
			*space = 0;
		if (*p == 0) {
			*reason = "empty field: separate fields with single spaces";
			return -1;
		}
		if (req->count == MAX_FIELDS) {
			*reason = "too many fields";
			return -1;
		}
		req->fields[req->count++] = p;
		if (!space)
			return 0;
		p = space + 1;
	}
}

/* Names are LDH labels, stored lowercase. */
static int parse_label(const char *text, char out[DNAME_MAX_LABEL + 1])
{
	size_t len = strlen(text);
	if (!label_is_ldh(text, len))
		return -1;
	for (size_t i = 0; i <= len; i++)
		out[i] = (char)tolower((unsigned char)text[i]);
	return 0;
}

static int parse_number(const char *text, unsigned long max, unsigned long *out)
{
	if (!isdigit((unsigned char)text[0]) || strlen(text) > 10)
		return -1;
	char *end;
	errno = 0;
	*out = strtoul(text, &end, 10);
	return (*end || errno || *out > max) ? -1 : 0;
}

static int parse_u16(const char *text, uint16_t *out)
{
	unsigned long v;
	if (parse_number(text, 65535, &v) < 0)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

/* check=, interval=, timeout=, fall=, rise=: returns 0 when key is one of them and its
 * value is good, -1 with reason set when it is bad, 1 (reason empty) when key is none. */
static int parse_check_option(const char *key, const char *value, struct instance_spec *spec,
			      char *reason, size_t size)
{
	struct health_check_spec *c = &spec->check;
	unsigned long n;
	reason[0] = 0;
	if (strcmp(key, "check") == 0) {
		const char *why;
		struct health_check_spec parsed;
		if (health_parse_url(value, &parsed, &why) < 0) {
			snprintf(reason, size, "%s", why);
			return -1;
		}
		parsed.interval_ms = c->interval_ms;
		parsed.timeout_ms = c->timeout_ms;
		parsed.fall = c->fall;
		parsed.rise = c->rise;
		*c = parsed;
	} else if (strcmp(key, "interval") == 0 || strcmp(key, "timeout") == 0) {
		uint32_t *field = key[0] == 'i' ? &c->interval_ms : &c->timeout_ms;
		if (health_parse_duration(value, field) < 0 || *field == 0) {
			snprintf(reason, size, "%s: '%.20s' is not a duration (10s, 500ms)", key, value);
			return -1;
		}
	} else if (strcmp(key, "fall") == 0 || strcmp(key, "rise") == 0) {
		if (parse_number(value, HEALTH_COUNT_MAX, &n) < 0 || n == 0) {
			snprintf(reason, size, "%s: '%.20s' is not 1-%d", key, value, HEALTH_COUNT_MAX);
			return -1;
		}
		*(key[0] == 'f' ? &c->fall : &c->rise) = (uint8_t)n;
	} else {
		return 1;
	}
	return 0;
}

/* After the options: timing without a check is an error; defaults fill in the rest. */
static int check_finish(struct instance_spec *spec, char *reason, size_t size)
{
	struct health_check_spec *c = &spec->check;
	if (c->kind == CHECK_NONE) {
		if (c->interval_ms || c->timeout_ms || c->fall || c->rise) {
			snprintf(reason, size, "interval=, timeout=, fall= and rise= need check=");
			return -1;
		}
		return 0;
	}
	return health_spec_finish(c, reason, size);
}

/* Splits a comma list of LDH labels into out (lowercase); returns how many, or -1 with
 * reason set: a bad label, one twice, or more than max. */
static int parse_label_list(const char *key, const char *value, char (*out)[DNAME_MAX_LABEL + 1],
			    unsigned have, unsigned max, char *reason, size_t size)
{
	unsigned n = have;
	for (const char *p = value;; p++) {
		size_t len = strcspn(p, ",");
		char label[DNAME_MAX_LABEL + 1];
		if (len == 0 || len > DNAME_MAX_LABEL || !label_is_ldh(p, len)) {
			snprintf(reason, size, "%s: '%.*s' is not a valid name (letters, digits, inner hyphens; 1-63)",
				 key, (int)(len > 40 ? 40 : len), p);
			return -1;
		}
		for (size_t i = 0; i < len; i++)
			label[i] = (char)tolower((unsigned char)p[i]);
		label[len] = 0;
		for (unsigned i = 0; i < n; i++) {
			if (strcmp(out[i], label) == 0) {
				snprintf(reason, size, "%s: '%s' appears twice", key, label);
				return -1;
			}
		}
		if (n == max) {
			snprintf(reason, size, "%s: at most %u per instance", key, max);
			return -1;
		}
		memcpy(out[n++], label, len + 1);
		p += len;
		if (*p == 0)
			return (int)n;
	}
}

/* tags=, addr=, network=: returns 0 when key is one of them and its value is good, -1
 * with reason set when it is bad, 1 (reason empty) when key is none. */
static int parse_view_option(const char *key, const char *value, struct instance_spec *spec,
			     char *reason, size_t size)
{
	struct instance_extras *x = &spec->extras;
	int n;
	reason[0] = 0;
	if (strcmp(key, "tags") == 0) {
		if ((n = parse_label_list(key, value, x->tags, x->tag_count, INSTANCE_TAGS_MAX, reason, size)) < 0)
			return -1;
		x->tag_count = (uint8_t)n;
		for (unsigned i = 0; i < x->tag_count; i++) {
			if (strcmp(x->tags[i], "limit") == 0) {
				snprintf(reason, size, "tags: 'limit' is reserved (SPLIT's limit=)");
				return -1;
			}
		}
	} else if (strcmp(key, "network") == 0) {
		n = parse_label_list(key, value, x->networks, x->network_count, INSTANCE_NETWORKS_MAX, reason, size);
		if (n < 0)
			return -1;
		x->network_count = (uint8_t)n;
	} else if (strcmp(key, "addr") == 0) {
		uint8_t addr[16] = { 0 };
		if (inet_pton(spec->family, value, addr) != 1) {
			snprintf(reason, size, "addr: '%.40s' is not an %s address like the instance's", value,
				 spec->family == AF_INET ? "IPv4" : "IPv6");
			return -1;
		}
		if (x->addr_count == INSTANCE_ADDRS_MAX) {
			snprintf(reason, size, "addr: at most %d per instance", INSTANCE_ADDRS_MAX);
			return -1;
		}
		memcpy(x->addrs[x->addr_count++], addr, 16);
	} else {
		return 1;
	}
	return 0;
}

/* Parses the key=value options of REGISTER and RENEW; ttl is the only one RENEW takes.
 * Returns 0, or the ERR code it replied with. */
static int parse_options(char **fields, int count, struct instance_spec *spec, unsigned *ttl,
			 struct evbuffer *out)
{
	char reason[160];
	for (int i = 0; i < count; i++) {
		char *eq = strchr(fields[i], '=');
		if (!eq || eq == fields[i]) {
			snprintf(reason, sizeof reason, "option '%.40s': expected key=value", fields[i]);
			goto bad;
		}
		*eq = 0;
		const char *key = fields[i], *value = eq + 1;
		unsigned long n;
		int view;
		if (strcmp(key, "ttl") == 0) {
			/* ttl=0 is refused like any number out of range, as svcdnsctl --ttl 0 is:
			 * leaving ttl= out is how a client asks for the default lease. */
			if (value[0] == 0 || strspn(value, "0123456789") != strlen(value)) {
				snprintf(reason, sizeof reason, "ttl: '%.20s' is not a number of seconds", value);
				goto bad;
			}
			if (parse_number(value, 2147483ul, &n) < 0 || n == 0) {
				snprintf(reason, sizeof reason,
					 "ttl: %.20s is out of range (1..2147483); leave ttl= out for the default lease",
					 value);
				goto bad;
			}
			*ttl = (unsigned)n;
		} else if (!spec) {
			snprintf(reason, sizeof reason, "unknown option '%.40s'", key);
			goto bad;
		} else if (strcmp(key, "proto") == 0) {
			if (strcmp(value, "tcp") == 0)
				spec->proto = PROTO_TCP;
			else if (strcmp(value, "udp") == 0)
				spec->proto = PROTO_UDP;
			else {
				snprintf(reason, sizeof reason, "proto: '%.20s': use tcp or udp", value);
				goto bad;
			}
		} else if (strcmp(key, "priority") == 0 || strcmp(key, "weight") == 0) {
			uint16_t *field = key[0] == 'p' ? &spec->priority : &spec->weight;
			if (parse_u16(value, field) < 0) {
				snprintf(reason, sizeof reason, "%s: '%.20s' is not 0-65535", key, value);
				goto bad;
			}
			if (key[0] == 'w')
				spec->extras.weight_set = true;  /* weight=0: never first while others are above 0 */
		} else if (strcmp(key, "txt") == 0) {
			size_t len = strlen(value);
			if (len > 255 || spec->txt_len + len + 1 > REGISTRY_TXT_MAX) {
				snprintf(reason, sizeof reason, "txt: at most 255 bytes per string and %d in all",
					 REGISTRY_TXT_MAX);
				goto bad;
			}
			spec->txt[spec->txt_len++] = (uint8_t)len;
			memcpy(spec->txt + spec->txt_len, value, len);
			spec->txt_len = (uint16_t)(spec->txt_len + len);
		} else if ((view = parse_view_option(key, value, spec, reason, sizeof reason)) != 1) {
			if (view < 0)
				goto bad;
		} else if (parse_check_option(key, value, spec, reason, sizeof reason) != 0) {
			if (reason[0])
				goto bad;
			snprintf(reason, sizeof reason, "unknown option '%.40s'", key);
			goto bad;
		}
	}
	if (spec && check_finish(spec, reason, sizeof reason) < 0)
		goto bad;
	return 0;
bad:
	return reply_error(out, 400, reason);
}

/* A request whose reply waits for the store (etcd mode). */
struct deferred {
	struct reg_deferral d;        /* first: the registrar calls back through it */
	struct registrar *r;
	int with_ttl;
	struct sockaddr_storage source;
	reg_reply_fn done;
	void *slot;
};

static int reply_result(struct evbuffer *out, const struct reg_result *res, int with_ttl);
static void log_refusal(struct registrar *r, int code, const struct sockaddr *source, struct evbuffer *reply);

static void deferred_done(struct reg_deferral *d, const struct reg_result *res)
{
	struct deferred *p = (struct deferred *)d;
	struct evbuffer *reply = evbuffer_new();
	if (reply) {
		reply_result(reply, res, p->with_ttl);
		if (res->code)
			log_refusal(p->r, res->code, (struct sockaddr *)&p->source, reply);
	}
	metrics_count_registration(&p->r->metrics, res->code);
	p->done(p->slot, reply);
	if (reply)
		evbuffer_free(reply);
	free(p);
}

/* Writes a registrar result and returns its code (0 for OK); a deferred one returns
 * REG_DEFERRED and remembers how its reply is written. */
static int reply_result(struct evbuffer *out, const struct reg_result *res, int with_ttl)
{
	if (res->code == REG_DEFERRED)
		return REG_DEFERRED;
	if (res->code)
		return reply_error(out, res->code, res->reason);
	if (with_ttl)
		evbuffer_add_printf(out, "OK ttl=%u\n", res->granted_ttl);
	else
		evbuffer_add(out, "OK\n", 3);
	return 0;
}

/* Reads SERVICE INSTANCE from fields[1], fields[2]; returns 0 or the ERR code. */
static int parse_names(struct request *req, char service[DNAME_MAX_LABEL + 1],
		       char instance[DNAME_MAX_LABEL + 1], struct evbuffer *out)
{
	if (req->count < 3)
		return reply_error(out, 400, req->count < 2 ? "missing field: service" : "missing field: instance");
	if (parse_label(req->fields[1], service) < 0)
		return reply_error(out, 400, "service: not a valid name (letters, digits, inner hyphens; 1-63)");
	if (parse_label(req->fields[2], instance) < 0)
		return reply_error(out, 400, "instance: not a valid name (letters, digits, inner hyphens; 1-63)");
	return 0;
}

/* Each do_VERB writes its reply and returns its code: 0 for OK, else the ERR code. */
static int do_register(struct registrar *r, struct request *req, int key_index, struct evbuffer *out)
{
	struct instance_spec spec;
	int code;
	memset(&spec, 0, offsetof(struct instance_spec, txt));  /* the check too */
	spec.txt_len = 0;
	spec.expires_ms = 0;
	spec.is_static = false;
	spec.owner_key = 0;
	if ((code = parse_names(req, spec.service, spec.instance, out)) != 0)
		return code;
	if (req->count < 5)
		return reply_error(out, 400, req->count < 4 ? "missing field: address" : "missing field: port");
	if (inet_pton(AF_INET, req->fields[3], spec.addr) == 1)
		spec.family = AF_INET;
	else if (inet_pton(AF_INET6, req->fields[3], spec.addr) == 1)
		spec.family = AF_INET6;
	else
		return reply_error(out, 400, "address: not an IPv4 or IPv6 address");
	if (parse_u16(req->fields[4], &spec.port) < 0)
		return reply_error(out, 400, "port: not a number 0-65535");
	unsigned ttl = 0;
	if ((code = parse_options(req->fields + 5, req->count - 5, &spec, &ttl, out)) != 0)
		return code;
	struct reg_result res;
	registrar_register(r, &spec, ttl, key_index, &res);
	if (r->deferral)
		((struct deferred *)r->deferral)->with_ttl = 1;
	return reply_result(out, &res, 1);
}

static int do_renew(struct registrar *r, struct request *req, int key_index, struct evbuffer *out)
{
	char service[DNAME_MAX_LABEL + 1], instance[DNAME_MAX_LABEL + 1];
	unsigned ttl = 0;
	int code;
	if ((code = parse_names(req, service, instance, out)) != 0 ||
	    (code = parse_options(req->fields + 3, req->count - 3, NULL, &ttl, out)) != 0)
		return code;
	struct reg_result res;
	registrar_renew(r, service, instance, ttl, key_index, &res);
	if (r->deferral)
		((struct deferred *)r->deferral)->with_ttl = 1;
	return reply_result(out, &res, 1);
}

static int do_deregister(struct registrar *r, struct request *req, int key_index, struct evbuffer *out)
{
	char service[DNAME_MAX_LABEL + 1], instance[DNAME_MAX_LABEL + 1];
	int code;
	if ((code = parse_names(req, service, instance, out)) != 0)
		return code;
	if (req->count > 3)
		return reply_error(out, 400, "DEREGISTER takes no options");
	struct reg_result res;
	registrar_deregister(r, service, instance, key_index, &res);
	return reply_result(out, &res, 0);
}

/* SPLIT SERVICE [TAG=PERCENT ...] [limit=N]: no shares clears the split. */
static int do_split(struct registrar *r, struct request *req, int key_index, struct evbuffer *out)
{
	struct split sp;
	char reason[160];
	if (req->count < 2)
		return reply_error(out, 400, "missing field: service");
	memset(&sp, 0, sizeof sp);
	if (split_set_service(&sp, req->fields[1]) < 0)
		return reply_error(out, 400, "service: not a valid name (letters, digits, inner hyphens; 1-63)");
	if (split_parse(req->fields + 2, req->count - 2, &sp, reason, sizeof reason) < 0)
		return reply_error(out, 400, reason);
	struct reg_result res;
	registrar_split(r, &sp, key_index, &res);
	return reply_result(out, &res, 0);
}

/* The check as registered, then health=STATE/RESULT/TIME: the state, the last probe's
 * result and when it came back ("-": none yet). */
static void list_check(const struct instance *inst, struct evbuffer *out)
{
	const struct health_check_spec *c = &inst->check->spec;
	char url[HEALTH_URL_MAX], interval[24], timeout[24], result[32], when[40];
	health_format_url(c, url, sizeof url);
	health_format_duration(c->interval_ms, interval, sizeof interval);
	health_format_duration(c->timeout_ms, timeout, sizeof timeout);
	health_result_text(&inst->check->status, result, sizeof result);
	health_format_time(inst->check->status.at_wall_ms, when, sizeof when);
	evbuffer_add_printf(out, " check=%s interval=%s timeout=%s fall=%u rise=%u health=%s/%s/%s", url,
			    interval, timeout, c->fall, c->rise, health_state_name(inst->health), result, when);
}

/* tags=, addr= and network= as registered, then what they mean here: the networks the
 * instance is on, and its effective weight when its service's answers are weighted. */
static void list_views(const struct registrar *r, const struct instance *inst, const uint32_t *weights,
		       struct evbuffer *out)
{
	const struct instance_extras *x = inst->extras;
	char text[INET6_ADDRSTRLEN + 2 * 32 * (DNAME_MAX_LABEL + 1)];
	for (unsigned i = 0; x && i < x->tag_count; i++)
		evbuffer_add_printf(out, "%s%s", i ? "," : " tags=", x->tags[i]);
	for (unsigned i = 0; x && i < x->addr_count; i++)
		evbuffer_add_printf(out, " addr=%s", inet_ntop(inst->family, x->addrs[i], text, sizeof text));
	for (unsigned i = 0; x && i < x->network_count; i++)
		evbuffer_add_printf(out, "%s%s", i ? "," : " network=", x->networks[i]);
	if (inst->networks) {
		views_format(r->cfg, inst->networks, text, sizeof text);
		evbuffer_add_printf(out, " networks=%s", text);
	}
	if (weights)
		evbuffer_add_printf(out, " effective-weight=%u", weights[inst->slot]);
}

/* One LIST line, in the REGISTER syntax a client could replay. */
static void list_instance(const struct registrar *r, const struct instance *inst, const uint32_t *weights,
			  struct evbuffer *out)
{
	char addr[INET6_ADDRSTRLEN], name[2 * (DNAME_MAX_LABEL + 1)];
	inet_ntop(inst->family, inst->addr, addr, sizeof addr);
	instance_text_name(inst, name);
	char *dot = strchr(name, '.');
	*dot = 0;
	evbuffer_add_printf(out, "%s %s %s %u ttl=%u", dot + 1, name, addr, inst->port,
			    registrar_remaining(r, inst));
	if (inst->proto == PROTO_UDP)
		evbuffer_add_printf(out, " proto=udp");
	if (inst->priority)
		evbuffer_add_printf(out, " priority=%u", inst->priority);
	if (inst->weight || (inst->extras && inst->extras->weight_set))
		evbuffer_add_printf(out, " weight=%u", inst->weight);
	for (size_t i = 0; i < inst->txt_len; i += inst->txt[i] + 1u)
		evbuffer_add_printf(out, " txt=%.*s", inst->txt[i], (const char *)inst->txt + i + 1);
	list_views(r, inst, weights, out);
	if (inst->check)
		list_check(inst, out);
	if (inst->is_static)
		evbuffer_add_printf(out, " static");
	evbuffer_add(out, "\n", 1);
}

/* The live instances of a service the asker sees (views.h: as DNS shows them to it). */
static void list_service(const struct registrar *r, const struct service *svc, uint32_t view,
			 struct evbuffer *out, unsigned *count)
{
	uint32_t *weights = weights_listed(r->reg, svc, r->now_ms, r->cfg->health_only_passing,
					   r->cfg->health_fail_open, view);
	for (size_t i = 0; i < svc->count; i++) {
		if (instance_live(svc->instances[i], r->now_ms) && instance_visible(svc->instances[i], view)) {
			list_instance(r, svc->instances[i], weights, out);
			(*count)++;
		}
	}
	free(weights);
}

struct list_walk {
	const struct registrar *r;
	struct evbuffer *out;
	uint32_t view;
	unsigned count;
};

static void list_each_service(struct hnode *node, void *arg)
{
	struct list_walk *w = arg;
	list_service(w->r, HNODE_RECORD(node, struct service, node), w->view, w->out, &w->count);
}

/* out is reg_proto_execute's scratch: it holds this request's reply only. */
static int do_list(struct registrar *r, struct request *req, const struct sockaddr *source,
		   enum reg_transport transport, struct evbuffer *out)
{
	struct list_walk walk = { r, out, views_of_source(r->cfg, source), 0 };
	if (req->count > 2)
		return reply_error(out, 400, "LIST takes at most one service");
	if (req->count == 2) {
		char service[DNAME_MAX_LABEL + 1];
		if (parse_label(req->fields[1], service) < 0)
			return reply_error(out, 400, "service: not a valid name (letters, digits, inner hyphens; 1-63)");
		const struct service *svc = registry_find_service_name(r->reg, service);
		if (svc)
			list_service(r, svc, walk.view, out, &walk.count);
	} else {
		htable_foreach(&r->reg->services, list_each_service, &walk);
	}
	evbuffer_add_printf(out, "OK %u\n", walk.count);
	if (transport == REG_UDP && evbuffer_get_length(out) > REG_UDP_REPLY_MAX) {
		evbuffer_drain(out, evbuffer_get_length(out));
		return reply_error(out, 413, "LIST reply does not fit in a UDP datagram: use TCP");
	}
	return 0;
}

/* Source, rate and signature checks that come before a request is even parsed. */
/* Returns 0 when the request may go on, else the ERR code it replied with. */
static int admit(struct registrar *r, const char *line, size_t *len, const struct sockaddr *source,
		 int *key_index, struct evbuffer *out)
{
	const struct config *cfg = r->cfg;
	*key_index = -1;
	if (!cidr_list_match(&cfg->allow_from, source))
		return reply_error(out, 403, "registration not allowed from this source (allow-from)");
	if (!cidr_list_match(&cfg->rate_limit_exempt, source) &&
	    !rate_limiter_allow(&r->rate, source, r->now_ms))
		return reply_error(out, 429, "rate limit exceeded for this source: slow down");
	if (cfg->key_count == 0)
		return 0;
	const char *reason;
	if (reg_auth_verify(&r->replay, cfg, line, *len, (r->now_ms + r->wall_minus_mono_ms) / 1000, key_index,
			    len, &reason) < 0)
		return reply_error(out, 401, reason);
	return 0;
}

/* Executes one request, writes its reply to out and returns the reply's code:
 * 0 for OK, else the ERR code. */
static int execute_request(struct registrar *r, const char *line, size_t len,
			   const struct sockaddr *source, enum reg_transport transport,
			   struct evbuffer *out)
{
	struct request req = { .text = r->line_copy };
	const char *reason;
	int key_index, code;
	if (len > r->cfg->max_line_length)
		return reply_error(out, 413, "line too long (max-line-length)");
	if (memchr(line, 0, len))
		return reply_error(out, 400, "NUL byte in request");
	if ((code = admit(r, line, &len, source, &key_index, out)) != 0)
		return code;
	if (len == 0)
		return reply_error(out, 400, "empty request");
	if (split_fields(&req, line, len, &reason) < 0)
		return reply_error(out, 400, reason);
	const char *verb = req.fields[0];
	if (strcasecmp(verb, "REGISTER") == 0)
		return do_register(r, &req, key_index, out);
	if (strcasecmp(verb, "RENEW") == 0)
		return do_renew(r, &req, key_index, out);
	if (strcasecmp(verb, "DEREGISTER") == 0)
		return do_deregister(r, &req, key_index, out);
	if (strcasecmp(verb, "LIST") == 0)
		return do_list(r, &req, source, transport, out);
	if (strcasecmp(verb, "SPLIT") == 0)
		return do_split(r, &req, key_index, out);
	if (strcasecmp(verb, "PING") != 0)
		return reply_error(out, 400, "unknown verb: use REGISTER, RENEW, DEREGISTER, LIST, SPLIT or PING");
	if (req.count != 1)
		return reply_error(out, 400, "PING takes no fields");
	evbuffer_add(out, "OK\n", 3);
	return 0;
}

/* A refused request is logged with its source, so an operator sees who sends what;
 * the request itself is not echoed (it may hold a signature).  The reply is an ERR
 * line, and its first line is what the log shows.  Under a flood only the first few
 * of each code per interval are logged, then a count (log_limit.h). */
static void log_refusal(struct registrar *r, int code, const struct sockaddr *source,
			struct evbuffer *reply)
{
	char addr[INET6_ADDRSTRLEN] = "?";
	size_t len = evbuffer_get_length(reply);
	if (!log_enabled(LOG_INFO) || !log_limit_allow(registrar_refusal_log(r, code), r->now_ms))
		return;
	const char *text = (const char *)evbuffer_pullup(reply, len < 200 ? (ev_ssize_t)len : 200);
	uint8_t ip[16];
	int family = sockaddr_ip(source, ip);
	if (family)
		inet_ntop(family, ip, addr, sizeof addr);
	size_t line = strcspn(text, "\n");
	log_info("register: %s: %.*s", addr, (int)(line < len ? line : len), text);
}

int reg_proto_execute_async(struct registrar *r, const char *line, size_t len,
			    const struct sockaddr *source, enum reg_transport transport,
			    struct evbuffer *out, reg_reply_fn done, void *slot)
{
	/* The reply is built apart so that a refusal can be logged; adding it to out
	 * moves buffer chains, it copies nothing. */
	struct evbuffer *reply = r->reply;
	struct deferred *p = NULL;
	if (r->store && done && (p = calloc(1, sizeof *p))) {
		p->d.done = deferred_done;
		p->r = r;
		p->done = done;
		p->slot = slot;
		memcpy(&p->source, source, source->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
									  : sizeof(struct sockaddr_in));
		r->deferral = &p->d;
	}
	int code = execute_request(r, line, len, source, transport, reply);
	r->deferral = NULL;
	if (code == REG_DEFERRED)
		return 1;  /* p lives on until deferred_done */
	free(p);
	if (code != 0)
		log_refusal(r, code, source, reply);
	metrics_count_registration(&r->metrics, code);
	evbuffer_add_buffer(out, reply);
	return 0;
}

void reg_proto_execute(struct registrar *r, const char *line, size_t len,
		       const struct sockaddr *source, enum reg_transport transport,
		       struct evbuffer *out)
{
	reg_proto_execute_async(r, line, len, source, transport, out, NULL, NULL);
}

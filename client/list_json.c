/* list_json.c -- `svcdnsctl list --json`: LIST's lines in the shape of /v1/services. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "list_json.h"

void list_json_init(struct list_json *lj)
{
	lj->instances = json_array();
	lj->failed = lj->instances == NULL;
}

/* health=STATE/RESULT/TIME and the check, as the HTTP API's "health" object. */
static json_t *health_json(const struct svcdns_instance *inst)
{
	char text[128] = "", *result = NULL, *when = NULL;
	snprintf(text, sizeof text, "%s", inst->health ? inst->health : "");
	if ((result = strchr(text, '/')) != NULL) {
		*result++ = '\0';
		if ((when = strchr(result, '/')) != NULL)
			*when++ = '\0';
	}
	return json_pack("{s:s, s:s, s:o, s:s, s:s, s:s, s:i, s:i}",
			 "state", text, "result", result ? result : "",
			 "checked", when && strcmp(when, "-") != 0 ? json_string(when) : json_null(),
			 "check", inst->check, "interval", inst->interval ? inst->interval : "",
			 "timeout", inst->timeout ? inst->timeout : "", "fall", (int)inst->fall,
			 "rise", (int)inst->rise);
}

/* "a,b" as ["a","b"]. */
static json_t *comma_list_json(const char *text)
{
	json_t *list = json_array();
	for (const char *p = text; list && *p;) {
		size_t len = strcspn(p, ",");
		if (json_array_append_new(list, json_stringn(p, len)) < 0) {
			json_decref(list);
			return NULL;
		}
		p += len + (p[len] == ',');
	}
	return list;
}

/* tags, networks, addrs and effective_weight as the HTTP API adds them: only when set. */
static int add_views(json_t *item, const struct svcdns_instance *inst)
{
	json_t *addrs = NULL;
	if (inst->addrs[0]) {
		addrs = json_array();
		for (int i = 0; addrs && i < SVCDNS_MAX_ADDRS && inst->addrs[i] != NULL; i++)
			if (json_array_append_new(addrs, json_string(inst->addrs[i])) < 0) {
				json_decref(addrs);
				return -1;
			}
	}
	return (inst->tags && json_object_set_new(item, "tags", comma_list_json(inst->tags)) < 0) ||
	       (inst->networks && json_object_set_new(item, "networks", comma_list_json(inst->networks)) < 0) ||
	       (addrs && json_object_set_new(item, "addrs", addrs) < 0) ||
	       (inst->effective_weight &&
		json_object_set_new(item, "effective_weight", json_integer(strtol(inst->effective_weight, NULL, 10))) < 0)
	       ? -1 : 0;
}

void list_json_add(const struct svcdns_instance *inst, void *arg)
{
	struct list_json *lj = arg;
	json_t *txt = json_array();
	for (int i = 0; txt && i < SVCDNS_MAX_TXT && inst->txt[i] != NULL; i++)
		if (json_array_append_new(txt, json_string(inst->txt[i])) < 0)
			lj->failed = 1;
	/* The field order of the HTTP API's instances; "service" is taken out when grouping. */
	json_t *item = txt ? json_pack("{s:s, s:s, s:s, s:i, s:s, s:i, s:i, s:I, s:o, s:b}",
				       "service", inst->service,
				       "name", inst->instance,
				       "address", inst->address,
				       "port", (int)inst->port,
				       "proto", strcmp(inst->proto, "udp") == 0 ? "udp" : "tcp",
				       "priority", (int)inst->priority,
				       "weight", (int)inst->weight,
				       "ttl", (json_int_t)inst->ttl,
				       "txt", txt,
				       "static", inst->is_static) : NULL;
	if (item && ((inst->check && json_object_set_new(item, "health", health_json(inst)) < 0) ||
		     add_views(item, inst) < 0))
		lj->failed = 1;
	if (!item || json_array_append_new(lj->instances, item) < 0)
		lj->failed = 1;
}

static const char *field(json_t *item, const char *name)
{
	return json_string_value(json_object_get(item, name));
}

/* By service, then instance name: the order of /v1/services. */
static int by_service_then_name(const void *a, const void *b)
{
	json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	int c = strcasecmp(field(x, "service"), field(y, "service"));
	return c ? c : strcasecmp(field(x, "name"), field(y, "name"));
}

/* {"name": NAME, "instances": []} */
static json_t *service_json(const char *name)
{
	json_t *svc = json_object();
	if (svc && json_object_set_new(svc, "name", json_string(name)) == 0 &&
	    json_object_set_new(svc, "instances", json_array()) == 0)
		return svc;
	json_decref(svc);
	return NULL;
}

/* Groups the sorted instances into SERVICE objects. */
static json_t *group(json_t **items, size_t count)
{
	json_t *services = json_array();
	json_t *current = NULL;
	const char *current_name = NULL;
	for (size_t i = 0; services && i < count; i++) {
		const char *name = field(items[i], "service");
		if (!current_name || strcasecmp(name, current_name) != 0) {
			current = service_json(name);
			if (!current || json_array_append_new(services, current) < 0)
				goto fail;
			current_name = json_string_value(json_object_get(current, "name"));
		}
		json_t *inst = json_deep_copy(items[i]);
		if (!inst || json_object_del(inst, "service") < 0 ||
		    json_array_append_new(json_object_get(current, "instances"), inst) < 0)
			goto fail;
	}
	return services;
fail:
	json_decref(services);
	return NULL;
}

int list_json_print(struct list_json *lj, const char *service, FILE *out)
{
	int rc = -1;
	size_t count = json_array_size(lj->instances);
	json_t **items = calloc(count ? count : 1, sizeof *items);
	json_t *services = NULL, *doc = NULL;
	if (lj->failed || !items)
		goto out;
	for (size_t i = 0; i < count; i++)
		items[i] = json_array_get(lj->instances, i);
	qsort(items, count, sizeof *items, by_service_then_name);
	if (!(services = group(items, count)))
		goto out;
	if (service) {
		/* One service, as /v1/services/NAME; with no instance, an empty list. */
		doc = json_array_size(services) ? json_incref(json_array_get(services, 0))
						: service_json(service);
	} else {
		doc = json_pack("{s:O}", "services", services);
	}
	if (doc && json_dumpf(doc, out, JSON_COMPACT) == 0 && fputc('\n', out) != EOF)
		rc = 0;
out:
	free(items);
	json_decref(doc);
	json_decref(services);
	list_json_free(lj);
	return rc;
}

void list_json_free(struct list_json *lj)
{
	json_decref(lj->instances);
	lj->instances = NULL;
}

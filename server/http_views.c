/* http_views.c -- the HTTP API's face of views, subsets and weights: an instance's
 * tags, networks and effective weight in /v1/services, GET /v1/splits, and the watch
 * stream's "split" events.  Like LIST, /v1/services shows a client what DNS shows it. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "http_internal.h"
#include "log.h"
#include "views.h"
#include "weights.h"

uint32_t http_request_view(const struct http_api *api, struct evhttp_request *req)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	const struct sockaddr *peer = conn ? evhttp_connection_get_addr(conn) : NULL;
	return peer ? views_of_source(api->ctx.cfg, peer) : VIEW_ALL;
}

static json_t *names_json(const char (*names)[DNAME_MAX_LABEL + 1], unsigned count)
{
	json_t *list = json_array();
	for (unsigned i = 0; list && i < count; i++)
		if (json_array_append_new(list, json_string(names[i])) < 0) {
			json_decref(list);
			return NULL;
		}
	return list;
}

static json_t *networks_json(const struct config *cfg, uint32_t networks)
{
	json_t *list = json_array();
	for (size_t i = 0; list && i < cfg->network_count; i++)
		if ((networks & (1u << i)) && json_array_append_new(list, json_string(cfg->networks[i].name)) < 0) {
			json_decref(list);
			return NULL;
		}
	return list;
}

static json_t *addrs_json(const struct instance *inst)
{
	json_t *list = json_array();
	char text[INET6_ADDRSTRLEN];
	for (unsigned i = 0; list && inst->extras && i < inst->extras->addr_count; i++)
		if (!inet_ntop(inst->family, inst->extras->addrs[i], text, sizeof text) ||
		    json_array_append_new(list, json_string(text)) < 0) {
			json_decref(list);
			return NULL;
		}
	return list;
}

/* Each key only where it says something, so instances that use none of it look as before. */
int http_views_add(const struct http_api *api, json_t *doc, const struct instance *inst,
		   const uint32_t *weights)
{
	const struct instance_extras *x = inst->extras;
	if ((x && x->tag_count && json_object_set_new(doc, "tags", names_json(x->tags, x->tag_count)) < 0) ||
	    (inst->networks && json_object_set_new(doc, "networks", networks_json(api->ctx.cfg, inst->networks)) < 0) ||
	    (x && x->addr_count && json_object_set_new(doc, "addrs", addrs_json(inst)) < 0))
		return -1;
	if (weights && json_object_set_new(doc, "effective_weight", json_integer(weights[inst->slot])) < 0)
		return -1;
	return 0;
}

/* {"service": NAME, "shares": {TAG: PERCENT, ...}, "limit": N, "from": "config"|"api"};
 * sp NULL: a cleared split, no shares. */
static json_t *split_json(const uint8_t *service_label, const struct split *sp)
{
	json_t *shares = json_object();
	for (unsigned i = 0; shares && sp && i < sp->count; i++)
		if (json_object_set_new(shares, sp->shares[i].tag, json_integer(sp->shares[i].percent)) < 0) {
			json_decref(shares);
			return NULL;
		}
	return json_pack("{s:o, s:o, s:i, s:s}", "service", http_label_json(service_label), "shares", shares,
			 "limit", sp ? (int)sp->limit : 0, "from", sp && sp->from_config ? "config" : "api");
}

void http_splits_serve(struct http_api *api, struct evhttp_request *req, const char *rest)
{
	(void)rest;
	const struct split_set *set = &api->ctx.registry->splits;
	json_t *list = json_array();
	for (size_t i = 0; list && i < set->count; i++)
		if (json_array_append_new(list, split_json(set->items[i].wire_label, &set->items[i])) < 0) {
			json_decref(list);
			list = NULL;
		}
	http_send_json(req, HTTP_OK, list ? json_pack("{s:o}", "splits", list) : NULL);
}

void http_api_on_split(void *arg, const uint8_t *service_label, const struct split *sp)
{
	struct http_api *api = arg;
	if (LIST_EMPTY(&api->watchers))
		return;
	json_t *doc = json_pack("{s:s}", "event", "split"), *split = split_json(service_label, sp);
	if (doc && (!split || json_object_update(doc, split) < 0)) {
		json_decref(doc);
		doc = NULL;
	}
	http_watch_broadcast(api, "split", doc);
	json_decref(split);
	json_decref(doc);
}

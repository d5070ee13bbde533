/* http_api.c -- the HTTP API's server: listeners, routing, the registry as JSON, /healthz.
 *
 * One evhttp on the server's event loop serves every --http address, so the handlers
 * read the registry and the counters directly, without locks or copies. /v1/watch is
 * served by http_watch.c and /metrics by http_metrics.c (the endpoints are listed in
 * http_api.h). JSON comes from jansson; the service listing is built and written one
 * service at a time, so a registry of a million instances never sits in memory a second
 * time as one JSON tree. */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http_api.h"
#include "http_internal.h"
#include "log.h"
#include "views.h"
#include "weights.h"
#include "netio.h"
#include "store.h"

#define HTTP_IDLE_TIMEOUT_S 30           /* slow requests and idle keep-alive connections */
#define HTTP_MAX_HEADERS (16 * 1024)
#define HTTP_MAX_BODY 4096               /* no endpoint takes a body */

/* ---- replies ------------------------------------------------------------------ */

static int add_to_evbuffer(const char *text, size_t len, void *arg)
{
	return evbuffer_add(arg, text, len);
}

void http_send_body(struct evhttp_request *req, int code, const char *content_type,
		    struct evbuffer *body)
{
	if (!body || evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
				       content_type) < 0) {
		evhttp_send_error(req, HTTP_SERVUNAVAIL, "out of memory");
		return;
	}
	evhttp_send_reply(req, code, NULL, body);
}

void http_send_json(struct evhttp_request *req, int code, json_t *doc)
{
	struct evbuffer *body = evbuffer_new();
	if (body && (!doc || json_dump_callback(doc, add_to_evbuffer, body, JSON_COMPACT) < 0 ||
		     evbuffer_add(body, "\n", 1) < 0)) {
		evbuffer_free(body);
		body = NULL;
	}
	http_send_body(req, code, "application/json", body);
	if (body)
		evbuffer_free(body);
	json_decref(doc);
}

void http_send_error(struct evhttp_request *req, int code, const char *message)
{
	http_send_json(req, code, json_pack("{s:s}", "error", message));
}

/* ---- JSON of the registry ----------------------------------------------------- */

json_t *http_label_json(const uint8_t *label)
{
	return json_stringn((const char *)label + 1, label[0]);
}

/* TXT strings that are not UTF-8 keep their ASCII; every other byte becomes U+FFFD, so
 * the document stays valid JSON. */
static json_t *replaced_utf8_json(const uint8_t *text, size_t len)
{
	char *copy = malloc(3 * len + 1);
	size_t n = 0;
	json_t *str = NULL;
	if (!copy)
		goto out;
	for (size_t i = 0; i < len; i++) {
		if (text[i] < 0x80) {
			copy[n++] = (char)text[i];
		} else {
			memcpy(copy + n, "\xef\xbf\xbd", 3);
			n += 3;
		}
	}
	str = json_stringn(copy, n);
out:
	free(copy);
	return str;
}

/* TXT rdata (length-prefixed strings) as a list of strings. */
static json_t *txt_json(const struct instance *inst)
{
	json_t *list = json_array();
	for (size_t i = 0; list && i < inst->txt_len; i += 1u + inst->txt[i]) {
		const uint8_t *text = inst->txt + i + 1;
		size_t len = inst->txt[i];
		if (i + 1 + len > inst->txt_len)
			break;  /* cannot happen: the registry checked the rdata */
		json_t *str = json_stringn((const char *)text, len);
		if (!str)
			str = replaced_utf8_json(text, len);
		if (json_array_append_new(list, str) < 0) {
			json_decref(list);
			list = NULL;
		}
	}
	return list;
}

json_t *http_health_json(const struct instance *inst)
{
	const struct health_check_spec *c = &inst->check->spec;
	char url[HEALTH_URL_MAX], result[32], when[40], interval[24], timeout[24];
	health_format_url(c, url, sizeof url);
	health_result_text(&inst->check->status, result, sizeof result);
	health_format_time(inst->check->status.at_wall_ms, when, sizeof when);
	health_format_duration(c->interval_ms, interval, sizeof interval);
	health_format_duration(c->timeout_ms, timeout, sizeof timeout);
	return json_pack("{s:s, s:s, s:o, s:s, s:s, s:s, s:i, s:i}",
			 "state", health_state_name(inst->health),
			 "result", result,
			 "checked", inst->check->status.at_wall_ms ? json_string(when) : json_null(),
			 "check", url, "interval", interval, "timeout", timeout,
			 "fall", (int)c->fall, "rise", (int)c->rise);
}

static json_t *instance_json(const struct http_api *api, const struct instance *inst, const uint32_t *weights)
{
	const struct registrar *r = api->ctx.registrar;
	char address[INET6_ADDRSTRLEN];
	if (!inet_ntop(inst->family, inst->addr, address, sizeof address))
		return NULL;
	json_t *doc = json_pack("{s:o, s:s, s:i, s:s, s:i, s:i, s:I, s:o, s:b}",
			 "name", http_label_json(inst->wire_key),
			 "address", address,
			 "port", (int)inst->port,
			 "proto", inst->proto == PROTO_UDP ? "udp" : "tcp",
			 "priority", (int)inst->priority,
			 "weight", (int)inst->weight,
			 "ttl", (json_int_t)registrar_remaining(r, inst),
			 "txt", txt_json(inst),
			 "static", (int)inst->is_static);
	if (doc && ((inst->check && json_object_set_new(doc, "health", http_health_json(inst)) < 0) ||
		    http_views_add(api, doc, inst, weights) < 0)) {
		json_decref(doc);
		return NULL;
	}
	return doc;
}

/* Orders wire-form labels by their text. */
static int label_cmp(const uint8_t *a, const uint8_t *b)
{
	int c = memcmp(a + 1, b + 1, a[0] < b[0] ? a[0] : b[0]);
	return c ? c : (int)a[0] - (int)b[0];
}

static int instance_cmp(const void *a, const void *b)
{
	return label_cmp((*(struct instance *const *)a)->wire_key,
			 (*(struct instance *const *)b)->wire_key);
}

static int service_cmp(const void *a, const void *b)
{
	return label_cmp((*(struct service *const *)a)->wire_label,
			 (*(struct service *const *)b)->wire_label);
}

/* A service and the live instances the asker sees (views.h), by name. Leases that ended
 * but were not swept yet are left out, as the DNS answers leave them out. */
static json_t *service_json(const struct http_api *api, const struct service *svc, uint32_t view)
{
	const struct registrar *r = api->ctx.registrar;
	json_t *doc = NULL, *list = json_array();
	struct instance **sorted = malloc((svc->count ? svc->count : 1) * sizeof *sorted);
	uint32_t *weights = weights_listed(api->ctx.registry, svc, r->now_ms, api->ctx.cfg->health_only_passing,
					   api->ctx.cfg->health_fail_open, view);
	size_t live = 0;
	if (!list || !sorted)
		goto out;
	for (size_t i = 0; i < svc->count; i++) {
		struct instance *inst = svc->instances[i];
		if (instance_live(inst, r->now_ms) && instance_visible(inst, view))
			sorted[live++] = inst;
	}
	qsort(sorted, live, sizeof *sorted, instance_cmp);
	for (size_t i = 0; i < live; i++)
		if (json_array_append_new(list, instance_json(api, sorted[i], weights)) < 0)
			goto out;
	doc = json_pack("{s:o, s:O}", "name", http_label_json(svc->wire_label), "instances", list);
out:
	json_decref(list);
	free(sorted);
	free(weights);
	return doc;
}

struct service_list {
	struct service **items;
	size_t count;
};

static void collect_service(struct hnode *node, void *arg)
{
	struct service_list *list = arg;
	list->items[list->count++] = HNODE_RECORD(node, struct service, node);
}

/* Whether the asker sees a live instance of the service. */
static int service_visible(const struct registrar *r, const struct service *svc, uint32_t view)
{
	for (size_t i = 0; i < svc->count; i++)
		if (instance_live(svc->instances[i], r->now_ms) && instance_visible(svc->instances[i], view))
			return 1;
	return 0;
}

/* GET /v1/services: {"services":[...]}, one service serialized at a time. */
static void serve_services(struct http_api *api, struct evhttp_request *req, const char *rest)
{
	(void)rest;
	const struct http_context *ctx = &api->ctx;
	struct service_list list = { NULL, 0 };
	struct evbuffer *body = evbuffer_new();
	int ok = 0;
	uint32_t view = http_request_view(api, req);
	size_t shown = 0;
	registrar_tick(ctx->registrar);  /* lease times left as of now, not the last batch */
	list.items = malloc((ctx->registry->services.count + 1) * sizeof *list.items);
	if (!body || !list.items || evbuffer_add(body, "{\"services\":[", 13) < 0)
		goto out;
	htable_foreach(&ctx->registry->services, collect_service, &list);
	qsort(list.items, list.count, sizeof *list.items, service_cmp);
	for (size_t i = 0; i < list.count; i++) {
		if (!service_visible(ctx->registrar, list.items[i], view))
			continue;  /* what a client does not see does not exist for it */
		json_t *doc = service_json(api, list.items[i], view);
		int failed = !doc || (shown++ > 0 && evbuffer_add(body, ",", 1) < 0) ||
			     json_dump_callback(doc, add_to_evbuffer, body, JSON_COMPACT) < 0;
		json_decref(doc);
		if (failed)
			goto out;
	}
	ok = evbuffer_add(body, "]}\n", 3) == 0;
out:
	http_send_body(req, HTTP_OK, "application/json", ok ? body : NULL);
	if (body)
		evbuffer_free(body);
	free(list.items);
}

/* GET /v1/services/NAME: one service, names compared case-insensitively as in DNS. */
static void serve_service(struct http_api *api, struct evhttp_request *req, const char *name)
{
	const struct http_context *ctx = &api->ctx;
	const struct service *svc = registry_find_service_name(ctx->registry, name);
	uint32_t view = http_request_view(api, req);
	registrar_tick(ctx->registrar);
	if (!svc || !service_visible(ctx->registrar, svc, view)) {
		char message[DNAME_MAX_LABEL + 64];
		snprintf(message, sizeof message, "no service named '%.*s'", DNAME_MAX_LABEL, name);
		http_send_error(req, HTTP_NOTFOUND, message);
		return;
	}
	http_send_json(req, HTTP_OK, service_json(api, svc, view));
}

/* ---- routing -------------------------------------------------------------------- */

/* "ok", or in etcd mode "degraded: REASON" while writes cannot reach etcd: still 200,
 * since DNS goes on from the cache (a liveness probe must not restart the node). */
static void serve_health(struct http_api *api, struct evhttp_request *req, const char *rest)
{
	(void)rest;
	struct evbuffer *body = evbuffer_new();
	const struct store *store = api->ctx.registrar->store;
	const char *why = store ? store_unavailable(store) : NULL;
	if (body && why && evbuffer_add_printf(body, "degraded: store unavailable: %s\n", why) < 0) {
		evbuffer_free(body);
		body = NULL;
	} else if (body && !why && evbuffer_add(body, "ok\n", 3) < 0) {
		evbuffer_free(body);
		body = NULL;
	}
	http_send_body(req, HTTP_OK, "text/plain; charset=utf-8", body);
	if (body)
		evbuffer_free(body);
}

struct route {
	const char *path;
	int is_prefix;   /* the rest of the path is the handler's argument */
	void (*serve)(struct http_api *api, struct evhttp_request *req, const char *rest);
};

static const struct route routes[] = {
	{ "/v1/services", 0, serve_services },
	{ "/v1/services/", 1, serve_service },
	{ "/v1/watch", 0, http_watch_serve },
	{ "/v1/splits", 0, http_splits_serve },
	{ "/metrics", 0, http_metrics_serve },
	{ "/healthz", 0, serve_health },
};

/* Every request comes here: find the route by the decoded path, then check the method. */
static void route_request(struct evhttp_request *req, void *arg)
{
	struct http_api *api = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *raw = uri ? evhttp_uri_get_path(uri) : NULL;
	size_t len = 0;
	char *path = raw ? evhttp_uridecode(raw, 0, &len) : NULL;
	if (!path || strlen(path) != len) {
		http_send_error(req, HTTP_BADREQUEST, "bad request path");
		goto out;
	}
	for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
		const struct route *r = &routes[i];
		size_t n = strlen(r->path);
		if (r->is_prefix ? strncmp(path, r->path, n) != 0 : strcmp(path, r->path) != 0)
			continue;
		enum evhttp_cmd_type method = evhttp_request_get_command(req);
		if (method != EVHTTP_REQ_GET && method != EVHTTP_REQ_HEAD) {
			if (evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD") < 0)
				log_debug("http: out of memory for an Allow header");
			http_send_error(req, HTTP_BADMETHOD, "method not allowed: use GET");
			goto out;
		}
		r->serve(api, req, path + n);
		goto out;
	}
	http_send_error(req, HTTP_NOTFOUND, "not found: the API has /v1/services, /v1/services/NAME, "
		   "/v1/splits, /v1/watch, /metrics and /healthz");
out:
	free(path);
}

/* ---- listeners ------------------------------------------------------------------ */

static int listen_on(struct http_api *api, const struct listen_addr *addr)
{
	int fd = listen_socket_open(addr, SOCK_STREAM, "http");
	if (fd < 0)
		return -1;
	struct evconnlistener *listener = evconnlistener_new(api->ctx.base, NULL, NULL,
		LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 128, fd);
	if (!listener) {
		log_error("http: cannot listen on tcp %s: %s", addr->text, strerror(errno));
		close(fd);
		return -1;
	}
	if (!evhttp_bind_listener(api->http, listener)) {
		log_error("http: tcp %s: out of memory", addr->text);
		evconnlistener_free(listener);  /* closes fd */
		return -1;
	}
	log_info("http: listening on tcp %s", addr->text);
	return 0;
}

int http_api_open(const struct http_context *ctx, struct http_api **out)
{
	const struct config *cfg = ctx->cfg;
	struct http_api *api = NULL;
	int rc = -1;
	*out = NULL;
	if (cfg->http_count == 0) {
		log_info("http: off");
		return 0;
	}
	api = calloc(1, sizeof *api);
	if (!api || !(api->line = evbuffer_new()) || !(api->http = evhttp_new(ctx->base))) {
		log_error("http: out of memory");
		goto out;
	}
	api->ctx = *ctx;
	LIST_INIT(&api->watchers);
	evhttp_set_timeout(api->http, HTTP_IDLE_TIMEOUT_S);
	evhttp_set_max_headers_size(api->http, HTTP_MAX_HEADERS);
	evhttp_set_max_body_size(api->http, HTTP_MAX_BODY);
	/* Let every method reach the router, which answers 405 with an Allow header in JSON. */
	evhttp_set_allowed_methods(api->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
				   EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
				   EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	evhttp_set_gencb(api->http, route_request, api);
	for (int i = 0; i < cfg->http_count; i++)
		if (listen_on(api, &cfg->http[i]) < 0)
			goto out;
	*out = api;
	rc = 0;
out:
	if (rc < 0)
		http_api_free(api);
	return rc;
}

void http_api_free(struct http_api *api)
{
	if (!api)
		return;
	/* Freeing the evhttp closes every connection; each watcher's close callback unlinks it. */
	if (api->http)
		evhttp_free(api->http);
	if (api->line)
		evbuffer_free(api->line);
	free(api);
}

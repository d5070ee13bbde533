/* http_internal.h -- what the HTTP API's files share (private to http_*.c).
 *
 * http_api.c is the server (listeners, routing, replies, the registry as JSON);
 * http_watch.c streams changes on /v1/watch; http_metrics.c writes /metrics. */
#ifndef SVCDNS_HTTP_INTERNAL_H
#define SVCDNS_HTTP_INTERNAL_H

#include <event2/http.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "http_api.h"

struct watcher;

struct http_api {
	struct http_context ctx;         /* what it reads: registry, registrar, metrics, the loop */
	struct evhttp *http;
	LIST_HEAD(, watcher) watchers;   /* newest first; http_watch.c keeps the list */
	size_t watcher_count;
	struct evbuffer *line;           /* scratch: one event line on its way to a watcher */
};

/* Sends body with a content type; a NULL body means we ran out of memory building it. */
void http_send_body(struct evhttp_request *req, int code, const char *content_type,
		    struct evbuffer *body);
/* Sends a JSON document (the reference is taken; NULL: out of memory) and a newline. */
void http_send_json(struct evhttp_request *req, int code, json_t *doc);
/* Sends {"error": message} as JSON. */
void http_send_error(struct evhttp_request *req, int code, const char *message);
/* A DNS label in wire form ("\len name") as a JSON string. */
json_t *http_label_json(const uint8_t *label);

/* A checked instance's health: {"state", "result", "checked", "check"}. */
json_t *http_health_json(const struct instance *inst);

/* http_views.c: what views, subsets and weights add to the JSON. */
/* The view of the request's peer (views.h): what its LIST and DNS answers show it. */
uint32_t http_request_view(const struct http_api *api, struct evhttp_request *req);
/* Adds "tags", "addrs", "networks" where the instance has them (and "effective_weight"
 * when weights is given, by slot) to an instance's object; 0, or -1 when out of memory. */
int http_views_add(const struct http_api *api, json_t *doc, const struct instance *inst,
		   const uint32_t *weights);
/* Sends a formatted JSON line to every watcher (http_watch.c). */
void http_watch_broadcast(struct http_api *api, const char *event, json_t *doc);

/* Route handlers: rest is what follows the route's path (empty for exact routes). */
void http_watch_serve(struct http_api *api, struct evhttp_request *req, const char *rest);
void http_metrics_serve(struct http_api *api, struct evhttp_request *req, const char *rest);
void http_splits_serve(struct http_api *api, struct evhttp_request *req, const char *rest);

#endif

/* http_api.h -- the HTTP API: the registry as JSON, a stream of changes, Prometheus
 * metrics and a health check, served by libevent's evhttp on the --http addresses.
 *
 *   GET /v1/services        every service with its instances
 *   GET /v1/services/NAME   one service (404 when unknown)
 *   GET /v1/watch           one JSON line per change, for as long as the client stays
 *                           (?renewals=0 leaves out the renewals)
 *   GET /metrics            Prometheus text format 0.0.4
 *   GET /healthz            "ok" ("degraded: REASON" in etcd mode without etcd)
 */
#ifndef SVCDNS_HTTP_API_H
#define SVCDNS_HTTP_API_H

#include <event2/event.h>

#include "config.h"
#include "metrics.h"
#include "registrar.h"
#include "registry.h"

struct http_api;

/* What the HTTP API reads, filled in by server.c; everything it points to outlives the API. */
struct http_context {
	struct event_base *base;
	const struct config *cfg;            /* the http addresses */
	struct registry *registry;           /* /v1/services, the instance gauges */
	struct registrar *registrar;         /* lease times, registration metrics */
	const struct dns_metrics *dns_metrics; /* the responder's counters, for /metrics */
	const struct health_metrics *health_metrics; /* the health checks' counters */
};

/* Listens on every ctx->cfg->http address. With none (--http off) *out is NULL and
 * nothing listens. Returns 0, or -1 after logging which address failed and what to do. */
int http_api_open(const struct http_context *ctx, struct http_api **out);
/* Ends every watch stream, closes the listeners and frees everything (NULL is fine). */
void http_api_free(struct http_api *api);
/* The registrar's change listener (arg: the struct http_api): sends the change as one
 * JSON line to every watcher. */
void http_api_on_change(void *arg, enum reg_change change, const struct instance *inst);
/* The registrar's split listener (arg: the struct http_api): a "split" event line to every
 * watcher; sp NULL: the service's split was cleared. */
void http_api_on_split(void *arg, const uint8_t *service_label, const struct split *sp);

#endif

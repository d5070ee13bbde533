/* http_watch.c -- GET /v1/watch: every registry change as one JSON line to each watcher.
 *
 * A watch is a reply that never ends by itself. The registrar tells us of each change
 * (http_api_on_change); a watcher that stops reading is disconnected before what it has
 * not taken grows without bound. */
#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include "http_api.h"
#include "http_internal.h"
#include "log.h"

#define WATCH_WRITE_TIMEOUT_S 60         /* a watcher that takes nothing for this long is dropped */
#define WATCH_BACKLOG_MAX (16 * 1024 * 1024) /* unsent bytes at which a watcher is dropped */
#define WATCH_WRITE_MAX (1024 * 1024)    /* per write: a watcher that reads keeps up with bursts */

struct watcher {
	LIST_ENTRY(watcher) link;        /* in http_api.watchers */
	struct http_api *api;
	struct evhttp_request *req;      /* the unfinished streaming reply */
	struct evhttp_connection *conn;
	int renewals;                    /* also send "renewed" events */
};

/* ---- the watcher list ------------------------------------------------------------ */

static void watcher_link(struct http_api *api, struct watcher *w)
{
	LIST_INSERT_HEAD(&api->watchers, w, link);
	api->watcher_count++;
}

static void watcher_unlink(struct watcher *w)
{
	struct http_api *api = w->api;
	LIST_REMOVE(w, link);
	api->watcher_count--;
}

/* The watcher's connection is going away: the client left, a timeout fired, we dropped
 * it, or the server is shutting down. */
static void on_watcher_closed(struct evhttp_connection *conn, void *arg)
{
	(void)conn;
	struct watcher *w = arg;
	struct evhttp_request *req = w->req;
	watcher_unlink(w);
	log_debug("http: watcher left (%zu watching)", w->api->watcher_count);
	free(w);
	/* When the client went away, libevent has detached the unfinished reply from the
	 * connection and left it to us; ending it frees it. Otherwise the connection still
	 * holds it and frees it itself. */
	if (evhttp_request_get_connection(req) == NULL)
		evhttp_send_reply_end(req);
}

/* ---- GET /v1/watch ----------------------------------------------------------------- */

/* ?renewals=0 leaves out the renewals (1, the default, keeps them). Returns 0 or -1. */
static int watch_wants_renewals(struct evhttp_request *req, int *renewals)
{
	const char *query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
	struct evkeyvalq params;
	int rc = 0;
	*renewals = 1;
	if (!query)
		return 0;
	TAILQ_INIT(&params);
	if (evhttp_parse_query_str(query, &params) < 0) {
		evhttp_clear_headers(&params);
		return -1;
	}
	const char *value = evhttp_find_header(&params, "renewals");
	if (value && (strcmp(value, "0") == 0 || strcmp(value, "false") == 0))
		*renewals = 0;
	else if (value && strcmp(value, "1") != 0 && strcmp(value, "true") != 0)
		rc = -1;
	evhttp_clear_headers(&params);
	return rc;
}

/* A watch is silent while nothing changes, so no read timeout; the write timeout stays
 * to drop a client that stopped taking what we send. */
static void watch_set_timeouts(struct bufferevent *bev)
{
	struct timeval write_timeout = { WATCH_WRITE_TIMEOUT_S, 0 };
	if (bufferevent_set_timeouts(bev, NULL, &write_timeout) < 0)
		log_warn("http: cannot clear the read timeout of a watcher; it may be dropped when idle");
	/* libevent writes 16 KiB per turn by default, less than one turn of pipelined
	 * registrations produces: a watcher that reads would still fall behind and be dropped. */
	if (bufferevent_set_max_single_write(bev, WATCH_WRITE_MAX) < 0)
		log_warn("http: cannot raise a watcher's write size; bursts may drop it");
}

/* GET /v1/watch: starts a reply that never ends by itself; each change adds a line. An
 * HTTP/1.0 request gets the lines as they are, a 1.1 request gets them chunked. */
void http_watch_serve(struct http_api *api, struct evhttp_request *req, const char *rest)
{
	(void)rest;
	int renewals;
	if (watch_wants_renewals(req, &renewals) < 0) {
		http_send_error(req, HTTP_BADREQUEST, "renewals: use 0 or 1");
		return;
	}
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	struct watcher *w = calloc(1, sizeof *w);
	if (!w || !conn || evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
					     "application/x-ndjson") < 0) {
		free(w);
		evhttp_send_error(req, HTTP_SERVUNAVAIL, "out of memory");
		return;
	}
	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
		free(w);
		evhttp_send_reply(req, HTTP_OK, NULL, NULL);
		return;
	}
	evhttp_send_reply_start(req, HTTP_OK, NULL);
	watch_set_timeouts(evhttp_connection_get_bufferevent(conn));
	w->api = api;
	w->req = req;
	w->conn = conn;
	w->renewals = renewals;
	watcher_link(api, w);
	evhttp_connection_set_closecb(conn, on_watcher_closed, w);
	log_debug("http: watcher joined (%zu watching)", api->watcher_count);
}

/* ---- change events ------------------------------------------------------------------ */

/* Writes the wall-clock time as RFC 3339 in UTC with milliseconds. */
static void format_time_now(char *out, size_t size)
{
	struct timespec ts;
	struct tm tm;
	if (clock_gettime(CLOCK_REALTIME, &ts) < 0 || !gmtime_r(&ts.tv_sec, &tm)) {
		snprintf(out, size, "1970-01-01T00:00:00.000Z");
		return;
	}
	size_t n = strftime(out, size, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, size - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

static json_t *change_json(const struct registrar *r, enum reg_change change,
			   const struct instance *inst)
{
	char address[INET6_ADDRSTRLEN], when[40];
	const uint8_t *service_label = inst->wire_key + 1 + inst->wire_key[0];
	/* A removed instance has no lease left, whatever its deadline said. */
	unsigned ttl = change == REG_DEREGISTERED || change == REG_EXPIRED ? 0 : registrar_remaining(r, inst);
	if (!inet_ntop(inst->family, inst->addr, address, sizeof address))
		return NULL;
	format_time_now(when, sizeof when);
	json_t *doc = json_pack("{s:s, s:o, s:o, s:s, s:i, s:I, s:s}",
				"event", reg_change_name(change),
				"service", http_label_json(service_label),
				"instance", http_label_json(inst->wire_key),
				"address", address,
				"port", (int)inst->port,
				"ttl", (json_int_t)ttl,
				"time", when);
	/* Every event of a checked instance says its health; a health event is about it. */
	if (doc && inst->check && json_object_set_new(doc, "health", http_health_json(inst)) < 0) {
		json_decref(doc);
		return NULL;
	}
	return doc;
}

/* Closes the connection of a watcher that fell behind; its close callback frees it. */
static void drop_watcher(struct watcher *w, size_t unsent)
{
	log_warn("http: disconnecting a watcher that fell behind (%zu bytes unsent)", unsent);
	evhttp_connection_free(w->conn);
}

/* Sends one event line (text, without its newline) to w, or drops w when it fell behind
 * (which frees it). */
static void watcher_send(struct watcher *w, const char *event, const char *text, size_t len)
{
	struct evbuffer *line = w->api->line;
	size_t unsent = evbuffer_get_length(bufferevent_get_output(
		evhttp_connection_get_bufferevent(w->conn)));
	if (unsent > WATCH_BACKLOG_MAX) {
		drop_watcher(w, unsent);
		return;
	}
	if (evbuffer_add(line, text, len) < 0 || evbuffer_add(line, "\n", 1) < 0) {
		log_warn("http: out of memory: a watcher misses a %s event", event);
		evbuffer_drain(line, evbuffer_get_length(line));
		return;
	}
	evhttp_send_reply_chunk(w->req, line);
	evbuffer_drain(line, evbuffer_get_length(line));  /* empty even when not sent */
}

void http_api_on_change(void *arg, enum reg_change change, const struct instance *inst)
{
	struct http_api *api = arg;
	char *text = NULL;
	json_t *doc = NULL;
	if (LIST_EMPTY(&api->watchers))
		return;  /* the usual case: nobody to tell, nothing to build */
	doc = change_json(api->ctx.registrar, change, inst);
	text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	if (!text) {
		log_warn("http: out of memory: watchers miss a %s event", reg_change_name(change));
		goto out;
	}
	size_t len = strlen(text);
	struct watcher *next;
	for (struct watcher *w = LIST_FIRST(&api->watchers); w; w = next) {
		next = LIST_NEXT(w, link);  /* dropping w frees it */
		if (change == REG_RENEWED && !w->renewals)
			continue;
		watcher_send(w, reg_change_name(change), text, len);
	}
out:
	free(text);
	json_decref(doc);
}

void http_watch_broadcast(struct http_api *api, const char *event, json_t *doc)
{
	char when[40];
	format_time_now(when, sizeof when);
	char *text = doc && json_object_set_new(doc, "time", json_string(when)) == 0 ?
		     json_dumps(doc, JSON_COMPACT) : NULL;
	if (!text) {
		log_warn("http: out of memory: watchers miss a %s event", event);
		return;
	}
	size_t len = strlen(text);
	struct watcher *next;
	for (struct watcher *w = LIST_FIRST(&api->watchers); w; w = next) {
		next = LIST_NEXT(w, link);  /* dropping w frees it */
		watcher_send(w, event, text, len);
	}
	free(text);
}

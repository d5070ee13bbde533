/* http_api.c -- the HTTP API: the registry as JSON, a stream of changes, Prometheus
 * metrics and a health check (the endpoints are listed in http_api.h).
 *
 * One evhttp on the server's event loop serves every --http address, so the handlers
 * read the registry and the counters directly, without locks or copies. JSON comes from
 * jansson; the service listing is built and written one service at a time, so a registry
 * of a million instances never sits in memory a second time as one JSON tree. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>
#include <unistd.h>

#include "http_api.h"
#include "log.h"
#include "server.h"

#define HTTP_IDLE_TIMEOUT_S 30           /* slow requests and idle keep-alive connections */
#define HTTP_MAX_HEADERS (16 * 1024)
#define HTTP_MAX_BODY 4096               /* no endpoint takes a body */
#define WATCH_WRITE_TIMEOUT_S 60         /* a watcher that takes nothing for this long is dropped */
#define WATCH_BACKLOG_MAX (16 * 1024 * 1024) /* unsent bytes at which a watcher is dropped */
#define WATCH_WRITE_MAX (1024 * 1024)    /* per write: a watcher that reads keeps up with bursts */

struct watcher {
	struct watcher *prev, *next;     /* in http_api.watchers */
	struct http_api *api;
	struct evhttp_request *req;      /* the unfinished streaming reply */
	struct evhttp_connection *conn;
	int renewals;                    /* also send "renewed" events */
};

struct http_api {
	struct server *srv;
	struct evhttp *http;
	struct watcher *watchers;        /* newest first */
	size_t watcher_count;
	struct evbuffer *line;           /* scratch: one event line on its way to a watcher */
};

/* ---- replies ------------------------------------------------------------------ */

static int add_to_evbuffer(const char *text, size_t len, void *arg)
{
	return evbuffer_add(arg, text, len);
}

/* Sends body with a content type; a NULL body means we ran out of memory building it. */
static void send_body(struct evhttp_request *req, int code, const char *content_type,
		      struct evbuffer *body)
{
	if (!body || evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
				       content_type) < 0) {
		evhttp_send_error(req, HTTP_SERVUNAVAIL, "out of memory");
		return;
	}
	evhttp_send_reply(req, code, NULL, body);
}

/* Sends a JSON document (the reference is taken; NULL: out of memory) and a newline. */
static void send_json(struct evhttp_request *req, int code, json_t *doc)
{
	struct evbuffer *body = evbuffer_new();
	if (body && (!doc || json_dump_callback(doc, add_to_evbuffer, body, JSON_COMPACT) < 0 ||
		     evbuffer_add(body, "\n", 1) < 0)) {
		evbuffer_free(body);
		body = NULL;
	}
	send_body(req, code, "application/json", body);
	if (body)
		evbuffer_free(body);
	json_decref(doc);
}

static void send_error(struct evhttp_request *req, int code, const char *message)
{
	send_json(req, code, json_pack("{s:s}", "error", message));
}

/* ---- JSON of the registry ----------------------------------------------------- */

/* A DNS label in wire form ("\len name") as a JSON string. */
static json_t *label_json(const uint8_t *label)
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

static json_t *instance_json(const struct registrar *r, const struct instance *inst)
{
	char address[INET6_ADDRSTRLEN];
	if (!inet_ntop(inst->family, inst->addr, address, sizeof address))
		return NULL;
	return json_pack("{s:o, s:s, s:i, s:s, s:i, s:i, s:I, s:o, s:b}",
			 "name", label_json(inst->wire_key),
			 "address", address,
			 "port", (int)inst->port,
			 "proto", inst->proto == PROTO_UDP ? "udp" : "tcp",
			 "priority", (int)inst->priority,
			 "weight", (int)inst->weight,
			 "ttl", (json_int_t)registrar_remaining(r, inst),
			 "txt", txt_json(inst),
			 "static", (int)inst->is_static);
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

/* A service and its live instances, by name. Leases that ended but were not swept yet
 * are left out, as the DNS answers leave them out. */
static json_t *service_json(const struct registrar *r, const struct service *svc)
{
	json_t *doc = NULL, *list = json_array();
	struct instance **sorted = malloc((svc->count ? svc->count : 1) * sizeof *sorted);
	size_t live = 0;
	if (!list || !sorted)
		goto out;
	for (size_t i = 0; i < svc->count; i++) {
		struct instance *inst = svc->instances[i];
		if (inst->expires_ms == 0 || inst->expires_ms > r->now_ms)
			sorted[live++] = inst;
	}
	qsort(sorted, live, sizeof *sorted, instance_cmp);
	for (size_t i = 0; i < live; i++)
		if (json_array_append_new(list, instance_json(r, sorted[i])) < 0)
			goto out;
	doc = json_pack("{s:o, s:O}", "name", label_json(svc->wire_label), "instances", list);
out:
	json_decref(list);
	free(sorted);
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

/* GET /v1/services: {"services":[...]}, one service serialized at a time. */
static void serve_services(struct http_api *api, struct evhttp_request *req, const char *rest)
{
	(void)rest;
	struct server *srv = api->srv;
	struct service_list list = { NULL, 0 };
	struct evbuffer *body = evbuffer_new();
	int ok = 0;
	registrar_tick(&srv->registrar);  /* lease times left as of now, not the last batch */
	list.items = malloc((srv->registry.services.count + 1) * sizeof *list.items);
	if (!body || !list.items || evbuffer_add(body, "{\"services\":[", 13) < 0)
		goto out;
	htable_foreach(&srv->registry.services, collect_service, &list);
	qsort(list.items, list.count, sizeof *list.items, service_cmp);
	for (size_t i = 0; i < list.count; i++) {
		json_t *doc = service_json(&srv->registrar, list.items[i]);
		int failed = !doc || (i > 0 && evbuffer_add(body, ",", 1) < 0) ||
			     json_dump_callback(doc, add_to_evbuffer, body, JSON_COMPACT) < 0;
		json_decref(doc);
		if (failed)
			goto out;
	}
	ok = evbuffer_add(body, "]}\n", 3) == 0;
out:
	send_body(req, HTTP_OK, "application/json", ok ? body : NULL);
	if (body)
		evbuffer_free(body);
	free(list.items);
}

/* GET /v1/services/NAME: one service, names compared case-insensitively as in DNS. */
static void serve_service(struct http_api *api, struct evhttp_request *req, const char *name)
{
	struct server *srv = api->srv;
	uint8_t label[DNAME_MAX_LABEL + 1];
	size_t len = strlen(name);
	const struct service *svc = NULL;
	if (len >= 1 && len <= DNAME_MAX_LABEL) {
		label[0] = (uint8_t)len;
		for (size_t i = 0; i < len; i++)
			label[1 + i] = (uint8_t)tolower((unsigned char)name[i]);
		svc = registry_find_service(&srv->registry, label);
	}
	if (!svc) {
		char message[DNAME_MAX_LABEL + 64];
		snprintf(message, sizeof message, "no service named '%.*s'", DNAME_MAX_LABEL, name);
		send_error(req, HTTP_NOTFOUND, message);
		return;
	}
	registrar_tick(&srv->registrar);
	send_json(req, HTTP_OK, service_json(&srv->registrar, svc));
}

/* ---- /v1/watch ------------------------------------------------------------------ */

static void watcher_unlink(struct watcher *w)
{
	struct http_api *api = w->api;
	if (w->prev)
		w->prev->next = w->next;
	else
		api->watchers = w->next;
	if (w->next)
		w->next->prev = w->prev;
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

/* GET /v1/watch: starts a reply that never ends by itself; each change adds a line. An
 * HTTP/1.0 request gets the lines as they are, a 1.1 request gets them chunked. */
static void serve_watch(struct http_api *api, struct evhttp_request *req, const char *rest)
{
	(void)rest;
	int renewals;
	if (watch_wants_renewals(req, &renewals) < 0) {
		send_error(req, HTTP_BADREQUEST, "renewals: use 0 or 1");
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
	/* A watch is silent while nothing changes, so no read timeout; the write timeout stays
	 * to drop a client that stopped taking what we send. */
	struct bufferevent *bev = evhttp_connection_get_bufferevent(conn);
	struct timeval write_timeout = { WATCH_WRITE_TIMEOUT_S, 0 };
	if (bufferevent_set_timeouts(bev, NULL, &write_timeout) < 0)
		log_warn("http: cannot clear the read timeout of a watcher; it may be dropped when idle");
	/* libevent writes 16 KiB per turn by default, less than one turn of pipelined
	 * registrations produces: a watcher that reads would still fall behind and be dropped. */
	if (bufferevent_set_max_single_write(bev, WATCH_WRITE_MAX) < 0)
		log_warn("http: cannot raise a watcher's write size; bursts may drop it");
	w->api = api;
	w->req = req;
	w->conn = conn;
	w->renewals = renewals;
	w->next = api->watchers;
	if (w->next)
		w->next->prev = w;
	api->watchers = w;
	api->watcher_count++;
	evhttp_connection_set_closecb(conn, on_watcher_closed, w);
	log_debug("http: watcher joined (%zu watching)", api->watcher_count);
}

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
	return json_pack("{s:s, s:o, s:o, s:s, s:i, s:I, s:s}",
			 "event", reg_change_name(change),
			 "service", label_json(service_label),
			 "instance", label_json(inst->wire_key),
			 "address", address,
			 "port", (int)inst->port,
			 "ttl", (json_int_t)ttl,
			 "time", when);
}

/* Closes the connection of a watcher that fell behind; its close callback frees it. */
static void drop_watcher(struct watcher *w, size_t unsent)
{
	log_warn("http: disconnecting a watcher that fell behind (%zu bytes unsent)", unsent);
	evhttp_connection_free(w->conn);
}

void http_api_on_change(void *arg, enum reg_change change, const struct instance *inst)
{
	struct http_api *api = arg;
	char *text = NULL;
	json_t *doc = NULL;
	if (!api->watchers)
		return;  /* the usual case: nobody to tell, nothing to build */
	doc = change_json(&api->srv->registrar, change, inst);
	text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	if (!text) {
		log_warn("http: out of memory: watchers miss a %s event", reg_change_name(change));
		goto out;
	}
	size_t len = strlen(text);
	struct watcher *next;
	for (struct watcher *w = api->watchers; w; w = next) {
		next = w->next;  /* dropping w frees it */
		if (change == REG_RENEWED && !w->renewals)
			continue;
		size_t unsent = evbuffer_get_length(bufferevent_get_output(
			evhttp_connection_get_bufferevent(w->conn)));
		if (unsent > WATCH_BACKLOG_MAX) {
			drop_watcher(w, unsent);
			continue;
		}
		if (evbuffer_add(api->line, text, len) < 0 || evbuffer_add(api->line, "\n", 1) < 0) {
			log_warn("http: out of memory: a watcher misses a %s event", reg_change_name(change));
			evbuffer_drain(api->line, evbuffer_get_length(api->line));
			continue;
		}
		evhttp_send_reply_chunk(w->req, api->line);
		evbuffer_drain(api->line, evbuffer_get_length(api->line));  /* empty even when not sent */
	}
out:
	free(text);
	json_decref(doc);
}

/* ---- /metrics ------------------------------------------------------------------- */

/* Text being built; the first failed write marks it failed and the rest are skipped. */
struct text {
	struct evbuffer *buf;
	int failed;
};

static void text_printf(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void text_printf(struct text *t, const char *fmt, ...)
{
	va_list ap;
	if (t->failed)
		return;
	va_start(ap, fmt);
	if (evbuffer_add_vprintf(t->buf, fmt, ap) < 0)
		t->failed = 1;
	va_end(ap);
}

static void metric_family(struct text *t, const char *name, const char *type, const char *help)
{
	text_printf(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void metric_value(struct text *t, const char *name, const char *type, const char *help,
			 uint64_t value)
{
	metric_family(t, name, type, help);
	text_printf(t, "%s %llu\n", name, (unsigned long long)value);
}

static const char *const qtype_names[MQ_COUNT] = {
	"A", "AAAA", "SRV", "TXT", "SOA", "NS", "PTR", "CNAME", "ANY", "OTHER",
};

static const char *const rcode_names[METRIC_RCODES] = {
	"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET",
	"NXRRSET", "NOTAUTH", "NOTZONE", "DSOTYPENI", NULL, NULL, NULL, NULL,
	"BADVERS", "BADKEY", "BADTIME", "BADMODE", "BADNAME", "BADALG", "BADTRUNC", "BADCOOKIE",
};

#define RCODES_ALWAYS_SHOWN 6  /* NOERROR..REFUSED appear even at 0; the rest once they occur */

static void dns_metrics_text(struct text *t, const struct dns_metrics *m)
{
	static const char *const transports[2] = { "udp", "tcp" };
	metric_family(t, "svcdns_dns_queries_total", "counter", "DNS queries received, by transport and query type.");
	for (int tr = 0; tr < 2; tr++)
		for (int q = 0; q < MQ_COUNT; q++)
			text_printf(t, "svcdns_dns_queries_total{transport=\"%s\",type=\"%s\"} %llu\n",
				    transports[tr], qtype_names[q], (unsigned long long)m->queries[tr][q]);

	metric_family(t, "svcdns_dns_responses_total", "counter", "DNS responses sent, by rcode.");
	for (int rc = 0; rc < METRIC_RCODES; rc++) {
		if (rc >= RCODES_ALWAYS_SHOWN && m->responses_by_rcode[rc] == 0)
			continue;
		if (rcode_names[rc])
			text_printf(t, "svcdns_dns_responses_total{rcode=\"%s\"} %llu\n", rcode_names[rc],
				    (unsigned long long)m->responses_by_rcode[rc]);
		else
			text_printf(t, "svcdns_dns_responses_total{rcode=\"%d\"} %llu\n", rc,
				    (unsigned long long)m->responses_by_rcode[rc]);
	}
	metric_value(t, "svcdns_dns_dropped_total", "counter",
		     "DNS packets dropped without an answer (malformed, or responses).", m->dropped);
	metric_value(t, "svcdns_dns_truncated_total", "counter", "UDP answers sent truncated (TC).",
		     m->truncated);

	/* Buckets are counted one by one; Prometheus wants each to include those below it. */
	metric_family(t, "svcdns_dns_answer_duration_seconds", "histogram",
		      "Time from receiving a query to having its answer ready.");
	uint64_t cumulative = 0;
	for (int b = 0; b < METRIC_LATENCY_BUCKETS; b++) {
		cumulative += m->latency_buckets[b];
		text_printf(t, "svcdns_dns_answer_duration_seconds_bucket{le=\"%g\"} %llu\n",
			    metrics_latency_bounds_us[b] / 1e6, (unsigned long long)cumulative);
	}
	text_printf(t, "svcdns_dns_answer_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
		    (unsigned long long)m->latency_count);
	text_printf(t, "svcdns_dns_answer_duration_seconds_sum %.9g\n", m->latency_sum_seconds);
	text_printf(t, "svcdns_dns_answer_duration_seconds_count %llu\n", (unsigned long long)m->latency_count);

	metric_value(t, "svcdns_forwarded_queries_total", "counter", "Queries sent to an upstream resolver.",
		     m->forwarded);
	metric_value(t, "svcdns_forward_failures_total", "counter",
		     "Upstream attempts that timed out, failed or returned a bad reply.", m->forward_failures);
	metric_value(t, "svcdns_forward_servfail_total", "counter",
		     "Forwarded queries answered SERVFAIL because no upstream answered.", m->forward_servfail);
}

static void registry_metrics_text(struct text *t, const struct server *srv)
{
	const struct registration_metrics *m = &srv->registrar.metrics;
	metric_family(t, "svcdns_registrations_total", "counter",
		      "Registration protocol replies, by result (ok or the ERR code).");
	text_printf(t, "svcdns_registrations_total{result=\"ok\"} %llu\n", (unsigned long long)m->requests_ok);
	for (int i = 0; i < 8; i++)
		text_printf(t, "svcdns_registrations_total{result=\"%d\"} %llu\n", metrics_err_codes[i],
			    (unsigned long long)m->requests_err[i]);
	text_printf(t, "svcdns_registrations_total{result=\"other\"} %llu\n",
		    (unsigned long long)m->requests_err_other);
	/* Leases that ended since the last sweep (at most 100 ms ago) still count here. */
	metric_value(t, "svcdns_instances", "gauge", "Instances in the registry, static ones included.",
		     srv->registry.instance_count);
	metric_value(t, "svcdns_services", "gauge", "Services with at least one instance.",
		     srv->registry.services.count);
	metric_value(t, "svcdns_leases_expired_total", "counter", "Leases that ended without a renewal.",
		     srv->registrar.expired_total);
}

static void serve_metrics(struct http_api *api, struct evhttp_request *req, const char *rest)
{
	(void)rest;
	struct text t = { evbuffer_new(), 0 };
	if (t.buf) {
		dns_metrics_text(&t, &api->srv->responder.metrics);
		registry_metrics_text(&t, api->srv);
		metric_value(&t, "svcdns_http_watchers", "gauge", "Clients streaming /v1/watch.",
			     api->watcher_count);
	}
	send_body(req, HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", t.failed ? NULL : t.buf);
	if (t.buf)
		evbuffer_free(t.buf);
}

/* ---- routing -------------------------------------------------------------------- */

static void serve_health(struct http_api *api, struct evhttp_request *req, const char *rest)
{
	(void)api; (void)rest;
	struct evbuffer *body = evbuffer_new();
	if (body && evbuffer_add(body, "ok\n", 3) < 0) {
		evbuffer_free(body);
		body = NULL;
	}
	send_body(req, HTTP_OK, "text/plain; charset=utf-8", body);
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
	{ "/v1/watch", 0, serve_watch },
	{ "/metrics", 0, serve_metrics },
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
		send_error(req, HTTP_BADREQUEST, "bad request path");
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
			send_error(req, HTTP_BADMETHOD, "method not allowed: use GET");
			goto out;
		}
		r->serve(api, req, path + n);
		goto out;
	}
	send_error(req, HTTP_NOTFOUND, "not found: the API has /v1/services, /v1/services/NAME, "
		   "/v1/watch, /metrics and /healthz");
out:
	free(path);
}

/* ---- listeners ------------------------------------------------------------------ */

static int listen_on(struct http_api *api, const struct listen_addr *addr)
{
	int fd = listen_socket_open(addr, SOCK_STREAM, "http");
	if (fd < 0)
		return -1;
	struct evconnlistener *listener = evconnlistener_new(api->srv->base, NULL, NULL,
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

int http_api_open(struct server *srv, struct http_api **out)
{
	const struct config *cfg = srv->cfg;
	struct http_api *api = NULL;
	int rc = -1;
	*out = NULL;
	if (cfg->http_count == 0) {
		log_info("http: off");
		return 0;
	}
	api = calloc(1, sizeof *api);
	if (!api || !(api->line = evbuffer_new()) || !(api->http = evhttp_new(srv->base))) {
		log_error("http: out of memory");
		goto out;
	}
	api->srv = srv;
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

/* store_http.c -- calls to etcd v3's JSON gateway over HTTP/1.1 (store_etcd.c's transport). */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "clock.h"
#include "log.h"
#include "store_http.h"

#define CONNS_PER_ENDPOINT 8
#define RETRY_PAUSE_MS 200        /* after every endpoint failed once: wait, then go round again */
#define ATTEMPT_MIN_MS 500
#define STREAM_IDLE_S 30          /* an idle watch is restarted (from where it was) */
#define REPLY_MAX (64 << 20)

struct http_conn {
	struct evhttp_connection *evcon;
	struct call *busy;            /* the one request in flight, or NULL */
};

struct endpoint {
	char host[256];
	uint16_t port;
	char text[280];
	struct http_conn conns[CONNS_PER_ENDPOINT];
};

struct call {
	TAILQ_ENTRY(call) link;       /* in h->calls */
	TAILQ_ENTRY(call) wait_link;  /* in h->waiting while on_wait */
	int on_wait;
	struct etcd_http *h;
	char path[64];
	char *body;
	int64_t deadline_ms;
	int first_endpoint, endpoint; /* where this round started, where it is now */
	int is_auth;
	struct http_conn *conn;       /* while in flight */
	struct evhttp_request *req;
	struct event *timer;          /* retry pauses and deferred completions */
	int done_code;                /* a completion waiting for the timer */
	char done_reason[200];
	etcd_reply_fn fn;
	void *arg;
};

struct etcd_stream {
	struct etcd_http *h;
	struct evhttp_connection *evcon;
	struct evhttp_request *req;
	struct evbuffer *partial;     /* bytes of a message not complete yet */
	void (*on_message)(void *arg, json_t *msg);
	void (*on_end)(void *arg, const char *reason);
	void *arg;
	int ended;                    /* cancelled or ended: its callbacks do nothing */
	int in_callback;              /* inside on_stream_chunk: evhttp must not be cancelled now */
	struct etcd_stream *next_dead;
};

struct etcd_http {
	struct event_base *base;
	const struct store_config *cfg;
	struct endpoint endpoints[STORE_MAX_ENDPOINTS];
	int endpoint_count, current;
	SSL_CTX *ssl;
	char token[512];              /* store-auth's token; "" : none yet */
	int authenticating;
	TAILQ_HEAD(, call) calls;     /* every call not completed */
	TAILQ_HEAD(, call) waiting;   /* for a free connection or the token */
	struct evhttp_connection **dead;  /* dropped, freed by the reaper from the loop */
	struct etcd_stream *dead_streams; /* cancelled, freed by the reaper after their connections */
	size_t dead_count, dead_capacity;
	struct event *reaper;
};

static void send_call(struct call *c);
static void complete(struct call *c, json_t *reply, int code, const char *reason);

/* ---- connections ------------------------------------------------------------------ */

static void free_dead(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what;
	struct etcd_http *h = arg;
	for (size_t i = 0; i < h->dead_count; i++)
		evhttp_connection_free(h->dead[i]);  /* frees their requests without callbacks */
	h->dead_count = 0;
	while (h->dead_streams) {
		struct etcd_stream *st = h->dead_streams;
		h->dead_streams = st->next_dead;
		evbuffer_free(st->partial);
		free(st);
	}
}

/* A connection that failed is dropped (freed from the loop, never from its own callback)
 * and a fresh one made next time: a TLS session is never reconnected in place. */
static void drop_evcon(struct etcd_http *h, struct evhttp_connection *evcon)
{
	if (h->dead_count == h->dead_capacity) {
		size_t cap = h->dead_capacity ? h->dead_capacity * 2 : 16;
		struct evhttp_connection **grown = realloc(h->dead, cap * sizeof *grown);
		if (!grown) {
			log_warn("store: out of memory: a connection leaks");
			return;
		}
		h->dead = grown;
		h->dead_capacity = cap;
	}
	h->dead[h->dead_count++] = evcon;
	struct timeval zero = { 0, 0 };
	evtimer_add(h->reaper, &zero);
}

static struct evhttp_connection *new_evcon(struct etcd_http *h, const struct endpoint *e)
{
	if (!h->ssl)
		return evhttp_connection_base_new(h->base, NULL, e->host, e->port);
	SSL *ssl = SSL_new(h->ssl);
	if (!ssl)
		return NULL;
	/* The name or address in store: is what the certificate must be for. */
	struct in6_addr ip;
	if (inet_pton(AF_INET, e->host, &ip) == 1 || inet_pton(AF_INET6, e->host, &ip) == 1) {
		X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), e->host);
	} else {
		SSL_set_tlsext_host_name(ssl, e->host);
		SSL_set1_host(ssl, e->host);
	}
	struct bufferevent *bev = bufferevent_openssl_socket_new(h->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
								 BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (!bev) {
		SSL_free(ssl);
		return NULL;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	struct evhttp_connection *evcon = evhttp_connection_base_bufferevent_new(h->base, NULL, bev, e->host, e->port);
	if (!evcon)
		bufferevent_free(bev);
	return evcon;
}

/* What went wrong on a connection, TLS errors first (they are what an operator must fix). */
static void transport_reason(struct evhttp_connection *evcon, char *out, size_t size)
{
	struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
	unsigned long err = bev ? bufferevent_get_openssl_error(bev) : 0;
	if (err) {
		char text[160];
		ERR_error_string_n(err, text, sizeof text);
		snprintf(out, size, "TLS: %s", text);
		return;
	}
	snprintf(out, size, "unreachable or timed out");
}

/* ---- calls --------------------------------------------------------------------------- */

static void call_free(struct call *c)
{
	struct etcd_http *h = c->h;
	TAILQ_REMOVE(&h->calls, c, link);
	if (c->on_wait)
		TAILQ_REMOVE(&h->waiting, c, wait_link);
	if (c->timer)
		event_free(c->timer);
	free(c->body);
	free(c);
}

static void complete(struct call *c, json_t *reply, int code, const char *reason)
{
	etcd_reply_fn fn = c->fn;
	void *arg = c->arg;
	char why[sizeof c->done_reason];
	snprintf(why, sizeof why, "%s", reason ? reason : "");  /* reason may live in c */
	call_free(c);
	fn(arg, reply, code, reason ? why : NULL);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what;
	struct call *c = arg;
	if (c->done_code)
		complete(c, NULL, c->done_code, c->done_reason);
	else
		send_call(c);
}

static void call_later(struct call *c, int64_t ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	evtimer_add(c->timer, &tv);
}

static void fail_later(struct call *c, int code, const char *reason)
{
	c->done_code = code;
	snprintf(c->done_reason, sizeof c->done_reason, "%s", reason);
	call_later(c, 0);
}

static void wait_for_conn(struct call *c)
{
	if (!c->on_wait) {
		c->on_wait = 1;
		TAILQ_INSERT_TAIL(&c->h->waiting, c, wait_link);
	}
}

static void run_waiting(struct etcd_http *h)
{
	TAILQ_HEAD(, call) list;
	TAILQ_INIT(&list);
	while (!TAILQ_EMPTY(&h->waiting)) {
		struct call *c = TAILQ_FIRST(&h->waiting);
		TAILQ_REMOVE(&h->waiting, c, wait_link);
		c->on_wait = 0;
		TAILQ_INSERT_TAIL(&list, c, wait_link);
	}
	while (!TAILQ_EMPTY(&list)) {
		struct call *c = TAILQ_FIRST(&list);
		TAILQ_REMOVE(&list, c, wait_link);
		send_call(c);
	}
}

static void start_auth(struct etcd_http *h);

/* One attempt failed at c->endpoint: the next endpoint, or a pause after a whole round. */
static void retry(struct call *c, int code, const char *reason)
{
	struct etcd_http *h = c->h;
	int64_t now = monotonic_ms();
	if (h->current == c->endpoint)
		h->current = (h->current + 1) % h->endpoint_count;
	log_debug("store: %s %s: %s", h->endpoints[c->endpoint].text, c->path, reason);
	if (now >= c->deadline_ms) {
		/* a certificate that does not verify is no outage: say so (start-up stops on it) */
		fail_later(c, strncmp(reason, "TLS:", 4) == 0 ? 495 : code, reason);
		return;
	}
	c->endpoint = h->current;
	if (c->endpoint == c->first_endpoint)
		call_later(c, RETRY_PAUSE_MS);
	else
		call_later(c, 0);
	snprintf(c->done_reason, sizeof c->done_reason, "%s", reason);  /* kept for the deadline */
}

static void on_reply(struct evhttp_request *req, void *arg)
{
	struct call *c = arg;
	struct etcd_http *h = c->h;
	struct http_conn *conn = c->conn;
	char reason[200];
	c->conn = NULL;
	c->req = NULL;
	conn->busy = NULL;
	int status = req ? evhttp_request_get_response_code(req) : 0;
	if (status == 0) {
		transport_reason(conn->evcon, reason, sizeof reason);
		drop_evcon(h, conn->evcon);
		conn->evcon = NULL;
		run_waiting(h);
		retry(c, 503, reason);
		return;
	}
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	/* an error's body may be followed by gRPC trailer text: read the first JSON value */
	json_t *reply = len < REPLY_MAX ? json_loadb((const char *)evbuffer_pullup(in, -1), len, JSON_DISABLE_EOF_CHECK, NULL)
					: NULL;
	run_waiting(h);
	if (status == 200 && reply) {
		complete(c, reply, 0, NULL);
		json_decref(reply);
		return;
	}
	/* unary calls: {"error":"...","code":N}; stream endpoints: {"error":{"grpc_code":N,"message":"..."}} */
	json_t *error = json_object_get(reply, "error");
	json_t *grpc = json_is_object(error) ? json_object_get(error, "grpc_code") : json_object_get(reply, "code");
	const char *message = json_string_value(json_is_object(error) ? json_object_get(error, "message") : error);
	int code = json_is_integer(grpc) ? (int)json_integer_value(grpc) : -1;
	if (message) {
		snprintf(reason, sizeof reason, "%s", message);
	} else {
		/* not gRPC's JSON: the gateway's own refusal is plain text */
		const char *text = len ? (const char *)evbuffer_pullup(in, -1) : "";
		size_t n = 0;
		while (n < len && n < 150 && text[n] != '\r' && text[n] != '\n')
			n++;
		snprintf(reason, sizeof reason, "HTTP %d: %.*s", status, (int)n, text);
	}
	json_decref(reply);
	if (code == 14 || status == 503 || status == 502 || code == 4) {  /* unavailable, no leader, deadline */
		retry(c, 503, reason);
	} else if (code == 16 && !c->is_auth && h->cfg->auth_user[0]) {  /* the token expired */
		h->token[0] = 0;
		wait_for_conn(c);
		start_auth(h);
	} else if (code == 3 && c->is_auth) {
		fail_later(c, 401, reason);
	} else {
		fail_later(c, 500, reason);
	}
}

static struct http_conn *free_conn(struct etcd_http *h, struct endpoint *e)
{
	for (int i = 0; i < CONNS_PER_ENDPOINT; i++) {
		struct http_conn *conn = &e->conns[i];
		if (conn->busy)
			continue;
		if (!conn->evcon && !(conn->evcon = new_evcon(h, e)))
			return NULL;
		return conn;
	}
	return NULL;
}

static int add_headers(struct etcd_http *h, struct evhttp_request *req, const struct endpoint *e, int with_token)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	char host[300];
	snprintf(host, sizeof host, "%s:%u", e->host, e->port);
	if (evhttp_add_header(out, "Host", host) < 0 || evhttp_add_header(out, "Content-Type", "application/json") < 0 ||
	    evhttp_add_header(out, "Grpc-Metadata-hasleader", "true") < 0)
		return -1;
	if (with_token && h->token[0] && evhttp_add_header(out, "Authorization", h->token) < 0)
		return -1;
	return 0;
}

static void send_call(struct call *c)
{
	struct etcd_http *h = c->h;
	if (h->cfg->auth_user[0] && !c->is_auth && !h->token[0]) {
		wait_for_conn(c);
		start_auth(h);
		return;
	}
	struct endpoint *e = &h->endpoints[c->endpoint];
	struct http_conn *conn = free_conn(h, e);
	if (!conn) {
		wait_for_conn(c);
		return;
	}
	int64_t left = c->deadline_ms - monotonic_ms();
	int64_t attempt = h->cfg->timeout_ms / 3 > ATTEMPT_MIN_MS ? h->cfg->timeout_ms / 3 : ATTEMPT_MIN_MS;
	if (attempt > left)
		attempt = left > 50 ? left : 50;
	struct timeval tv = { attempt / 1000, (attempt % 1000) * 1000 };
	evhttp_connection_set_timeout_tv(conn->evcon, &tv);
	struct evhttp_request *req = evhttp_request_new(on_reply, c);
	if (!req || add_headers(h, req, e, 1) < 0 ||
	    evbuffer_add(evhttp_request_get_output_buffer(req), c->body, strlen(c->body)) < 0) {
		if (req)
			evhttp_request_free(req);
		fail_later(c, 503, "out of memory");
		return;
	}
	conn->busy = c;
	c->conn = conn;
	c->req = req;
	if (evhttp_make_request(conn->evcon, req, EVHTTP_REQ_POST, c->path) < 0) {
		/* evhttp freed req and said nothing to on_reply */
		conn->busy = NULL;
		c->conn = NULL;
		c->req = NULL;
		retry(c, 503, "cannot send the request");
	}
}

static struct call *new_call(struct etcd_http *h, const char *path, json_t *body, int64_t timeout_ms,
			     etcd_reply_fn fn, void *arg)
{
	struct call *c = calloc(1, sizeof *c);
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (c)
		c->timer = evtimer_new(h->base, on_timer, c);
	if (!c || !text || !c->timer) {
		if (c && c->timer)
			event_free(c->timer);
		free(c);
		free(text);
		log_error("store: out of memory");
		return NULL;
	}
	c->h = h;
	snprintf(c->path, sizeof c->path, "%s", path);
	c->body = text;
	c->deadline_ms = monotonic_ms() + timeout_ms;
	c->first_endpoint = c->endpoint = h->current;
	c->fn = fn;
	c->arg = arg;
	TAILQ_INSERT_TAIL(&h->calls, c, link);
	return c;
}

void etcd_http_call(struct etcd_http *h, const char *path, json_t *body, int64_t timeout_ms,
		    etcd_reply_fn fn, void *arg)
{
	struct call *c = new_call(h, path, body, timeout_ms, fn, arg);
	if (!c) {
		/* no memory for the call itself: the caller hears of it from the loop */
		fn(arg, NULL, 503, "out of memory");
		return;
	}
	call_later(c, 0);
}

/* ---- auth ------------------------------------------------------------------------------ */

static void fail_waiting(struct etcd_http *h, int code, const char *reason)
{
	while (!TAILQ_EMPTY(&h->waiting)) {
		struct call *c = TAILQ_FIRST(&h->waiting);
		TAILQ_REMOVE(&h->waiting, c, wait_link);
		c->on_wait = 0;
		fail_later(c, code, reason);
	}
}

static void on_auth(void *arg, json_t *reply, int code, const char *reason)
{
	struct etcd_http *h = arg;
	h->authenticating = 0;
	const char *token = json_string_value(json_object_get(reply, "token"));
	if (code == 0 && token && strlen(token) < sizeof h->token) {
		strcpy(h->token, token);
		log_debug("store: authenticated as user '%s'", h->cfg->auth_user);
		run_waiting(h);
		return;
	}
	char why[240];
	if (code == 495 || code == 503)  /* TLS or the network: not the user's fault */
		snprintf(why, sizeof why, "%s", reason);
	else
		snprintf(why, sizeof why, "store-auth: user '%s': %s", h->cfg->auth_user,
			 code == 0 ? "no token in the reply" : reason);
	fail_waiting(h, code == 0 ? 500 : code, why);
}

static void start_auth(struct etcd_http *h)
{
	if (h->authenticating)
		return;
	json_t *body = json_pack("{s:s, s:s}", "name", h->cfg->auth_user, "password", h->cfg->auth_password);
	struct call *c = new_call(h, "/v3/auth/authenticate", body, h->cfg->timeout_ms, on_auth, h);
	if (!c) {
		fail_waiting(h, 503, "out of memory");
		return;
	}
	h->authenticating = 1;
	c->is_auth = 1;
	call_later(c, 0);
}

/* ---- streams ------------------------------------------------------------------------------ */

static void stream_end(struct etcd_stream *st, const char *reason)
{
	if (st->ended)
		return;
	st->ended = 1;
	st->on_end(st->arg, reason);
}

static void on_stream_chunk(struct evhttp_request *req, void *arg)
{
	struct etcd_stream *st = arg;
	if (st->ended || evhttp_request_get_response_code(req) != 200)
		return;  /* cancelled; or an error body, which on_stream_done reads */
	evbuffer_add_buffer(st->partial, evhttp_request_get_input_buffer(req));
	st->in_callback = 1;
	for (;;) {
		size_t len;
		char *line = evbuffer_readln(st->partial, &len, EVBUFFER_EOL_LF);
		if (!line)
			break;
		json_t *msg = len ? json_loadb(line, len, 0, NULL) : NULL;
		free(line);
		if (msg) {
			st->on_message(st->arg, msg);
			json_decref(msg);
		}
		if (st->ended)
			break;  /* on_message cancelled it: st stays until the reaper */
	}
	st->in_callback = 0;
}

static void on_stream_done(struct evhttp_request *req, void *arg)
{
	struct etcd_stream *st = arg;
	char reason[200];
	st->req = NULL;
	if (st->ended)
		return;
	if (!req || evhttp_request_get_response_code(req) == 0)
		transport_reason(st->evcon, reason, sizeof reason);
	else if (evhttp_request_get_response_code(req) != 200)
		snprintf(reason, sizeof reason, "HTTP %d", evhttp_request_get_response_code(req));
	else
		snprintf(reason, sizeof reason, "closed by etcd");
	stream_end(st, reason);
}

struct etcd_stream *etcd_http_stream(struct etcd_http *h, const char *path, json_t *body,
				     void (*on_message)(void *arg, json_t *msg),
				     void (*on_end)(void *arg, const char *reason), void *arg)
{
	struct etcd_stream *st = calloc(1, sizeof *st);
	char *text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	const struct endpoint *e = &h->endpoints[h->current];
	if (!st || !text || !(st->partial = evbuffer_new()) || !(st->evcon = new_evcon(h, e)))
		goto fail;
	st->h = h;
	st->on_message = on_message;
	st->on_end = on_end;
	st->arg = arg;
	evhttp_connection_set_timeout(st->evcon, STREAM_IDLE_S);
	st->req = evhttp_request_new(on_stream_done, st);
	if (!st->req)
		goto fail;
	evhttp_request_set_chunked_cb(st->req, on_stream_chunk);
	if (add_headers(h, st->req, e, 1) < 0 ||
	    evbuffer_add(evhttp_request_get_output_buffer(st->req), text, strlen(text)) < 0) {
		evhttp_request_free(st->req);
		goto fail;
	}
	if (evhttp_make_request(st->evcon, st->req, EVHTTP_REQ_POST, path) < 0) {
		st->req = NULL;
		goto fail;
	}
	free(text);
	return st;
fail:
	free(text);
	if (st) {
		if (st->evcon)
			evhttp_connection_free(st->evcon);
		if (st->partial)
			evbuffer_free(st->partial);
		free(st);
	}
	return NULL;
}

void etcd_stream_cancel(struct etcd_stream *st)
{
	if (!st)
		return;
	struct etcd_http *h = st->h;
	st->ended = 1;
	/* Its connection is freed from the loop (which frees the request without a callback);
	 * until then a late callback finds st ended and does nothing. */
	if (st->req && !st->in_callback)
		evhttp_cancel_request(st->req);
	st->req = NULL;
	drop_evcon(h, st->evcon);
	st->next_dead = h->dead_streams;
	h->dead_streams = st;
}

/* ---- the client --------------------------------------------------------------------------- */

static int setup_tls(struct etcd_http *h, char err[CONFIG_ERROR_MAX])
{
	const struct store_config *cfg = h->cfg;
	h->ssl = SSL_CTX_new(TLS_client_method());
	if (!h->ssl) {
		snprintf(err, CONFIG_ERROR_MAX, "store-tls: out of memory");
		return -1;
	}
	SSL_CTX_set_verify(h->ssl, SSL_VERIFY_PEER, NULL);
	if (cfg->tls_ca[0] ? SSL_CTX_load_verify_locations(h->ssl, cfg->tls_ca, NULL) != 1
			   : SSL_CTX_set_default_verify_paths(h->ssl) != 1) {
		snprintf(err, CONFIG_ERROR_MAX, "store-tls.ca: %s: cannot load: %s", cfg->tls_ca,
			 ERR_reason_error_string(ERR_get_error()));
		return -1;
	}
	if (cfg->tls_cert[0] && SSL_CTX_use_certificate_chain_file(h->ssl, cfg->tls_cert) != 1) {
		snprintf(err, CONFIG_ERROR_MAX, "store-tls.cert: %s: cannot load: %s", cfg->tls_cert,
			 ERR_reason_error_string(ERR_get_error()));
		return -1;
	}
	if (cfg->tls_key[0] && (SSL_CTX_use_PrivateKey_file(h->ssl, cfg->tls_key, SSL_FILETYPE_PEM) != 1 ||
				SSL_CTX_check_private_key(h->ssl) != 1)) {
		snprintf(err, CONFIG_ERROR_MAX, "store-tls.key: %s: cannot load or does not match cert: %s",
			 cfg->tls_key, ERR_reason_error_string(ERR_get_error()));
		return -1;
	}
	return 0;
}

struct etcd_http *etcd_http_new(struct event_base *base, const struct store_config *cfg,
				char err[CONFIG_ERROR_MAX])
{
	struct etcd_http *h = calloc(1, sizeof *h);
	if (!h) {
		snprintf(err, CONFIG_ERROR_MAX, "out of memory");
		return NULL;
	}
	h->base = base;
	h->cfg = cfg;
	TAILQ_INIT(&h->calls);
	TAILQ_INIT(&h->waiting);
	for (int i = 0; i < cfg->endpoint_count; i++) {
		struct endpoint *e = &h->endpoints[i];
		snprintf(e->host, sizeof e->host, "%s", cfg->endpoints[i].host);
		e->port = cfg->endpoints[i].port;
		snprintf(e->text, sizeof e->text, "%s:%u", e->host, e->port);
	}
	h->endpoint_count = cfg->endpoint_count;
	if (!(h->reaper = evtimer_new(base, free_dead, h))) {
		snprintf(err, CONFIG_ERROR_MAX, "out of memory");
		etcd_http_free(h);
		return NULL;
	}
	if (cfg->tls && setup_tls(h, err) < 0) {
		etcd_http_free(h);
		return NULL;
	}
	return h;
}

void etcd_http_free(struct etcd_http *h)
{
	if (!h)
		return;
	while (!TAILQ_EMPTY(&h->calls)) {
		struct call *c = TAILQ_FIRST(&h->calls);
		if (c->req)
			evhttp_cancel_request(c->req);
		if (c->conn)
			c->conn->busy = NULL;
		complete(c, NULL, 503, "shutting down");
	}
	for (int i = 0; i < h->endpoint_count; i++)
		for (int j = 0; j < CONNS_PER_ENDPOINT; j++)
			if (h->endpoints[i].conns[j].evcon)
				evhttp_connection_free(h->endpoints[i].conns[j].evcon);
	free_dead(-1, 0, h);
	free(h->dead);
	if (h->reaper)
		event_free(h->reaper);
	if (h->ssl)
		SSL_CTX_free(h->ssl);
	free(h);
}

void etcd_http_token_expired(struct etcd_http *h)
{
	if (!h->cfg->auth_user[0])
		return;
	h->token[0] = 0;
	start_auth(h);
}

int etcd_http_ready(const struct etcd_http *h)
{
	return !h->cfg->auth_user[0] || h->token[0];
}

void etcd_http_rotate(struct etcd_http *h)
{
	h->current = (h->current + 1) % h->endpoint_count;
}

const char *etcd_http_current(const struct etcd_http *h)
{
	return h->endpoints[h->current].text;
}

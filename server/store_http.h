/* store_http.h -- calls to etcd v3's JSON gateway over HTTP/1.1 (store_etcd.c's transport).
 *
 * A few connections to the current endpoint, one request in flight on each; a call that
 * fails (refused, timed out, "no leader") moves to the next endpoint and is retried until
 * its deadline.  Every request says Grpc-Metadata-hasleader: true, so a member without
 * quorum refuses at once.  With store-auth the token is fetched first and again when it
 * expires; with etcds:// every connection is TLS, verified against store-tls.ca. */
#ifndef SVCDNS_STORE_HTTP_H
#define SVCDNS_STORE_HTTP_H

#include <event2/event.h>
#include <jansson.h>
#include <stdint.h>

#include "config.h"

struct etcd_http;
struct etcd_stream;

/* code 0: reply is the JSON body (valid during the call only); 503: unreachable, timed out
 * or no leader (reason says which); 401: authentication refused; 495: the TLS handshake
 * failed; other codes: etcd refused the request (reason: its message). */
typedef void (*etcd_reply_fn)(void *arg, json_t *reply, int code, const char *reason);

struct etcd_http *etcd_http_new(struct event_base *base, const struct store_config *cfg,
				char err[CONFIG_ERROR_MAX]);
/* Completes every call in flight with 503 "shutting down", then frees. */
void etcd_http_free(struct etcd_http *h);
/* POSTs body (taken over) to path; fn is called exactly once, never from inside this call. */
void etcd_http_call(struct etcd_http *h, const char *path, json_t *body, int64_t timeout_ms,
		    etcd_reply_fn fn, void *arg);
/* A streaming POST (the watch) on a connection of its own to the current endpoint: on_message
 * gets each JSON message, on_end once when the stream ends (not after etcd_stream_cancel). */
struct etcd_stream *etcd_http_stream(struct etcd_http *h, const char *path, json_t *body,
				     void (*on_message)(void *arg, json_t *msg),
				     void (*on_end)(void *arg, const char *reason), void *arg);
void etcd_stream_cancel(struct etcd_stream *st);
/* The stream (watch) was refused for an expired token: authenticate again. */
void etcd_http_token_expired(struct etcd_http *h);
/* Whether a stream can start now (no auth, or a token in hand). */
int etcd_http_ready(const struct etcd_http *h);
/* Moves the calls that follow (and the next stream) to the next endpoint. */
void etcd_http_rotate(struct etcd_http *h);
/* "HOST:PORT" of the current endpoint, for logs. */
const char *etcd_http_current(const struct etcd_http *h);

#endif

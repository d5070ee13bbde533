/* docker_api.h -- the Docker Engine API over its unix socket: one GET per connection
 * (HTTP/1.1, "Connection: close") whose JSON body is handed back parsed, and the
 * streaming GET /events, whose JSON objects are handed back one by one as they come.
 * Plain bufferevents on a libevent base: libevent 2.1's evhttp client cannot connect
 * to a unix socket, and the framing (status line, headers, chunks) is small. */
#ifndef SVCDNS_CLIENT_DOCKER_API_H
#define SVCDNS_CLIENT_DOCKER_API_H

#include <event2/event.h>
#include <jansson.h>

struct docker_request;

/* A GET's end: status is the HTTP status and body its parsed JSON (NULL when the body was
 * not JSON), or status is -1 and error says why the request failed. The body is freed
 * after the call returns. */
typedef void (*docker_response_fn)(void *arg, int status, json_t *body, const char *error);
/* One JSON object of a stream (freed after the call returns). */
typedef void (*docker_event_fn)(void *arg, json_t *event);
/* A stream's end (status -1: it failed, error says why; else the HTTP status that refused
 * it, or 200 when the daemon closed a stream it had accepted). */
typedef void (*docker_closed_fn)(void *arg, int status, const char *error);
/* A stream was accepted (status 200, headers read): events flow from now on. */
typedef void (*docker_opened_fn)(void *arg);

/* Starts GET path on a new connection to socket_path; fn is called exactly once, later,
 * from the loop (never from inside this call). Returns NULL (errno set) when the request
 * could not even be started. */
struct docker_request *docker_get(struct event_base *base, const char *socket_path, const char *path,
				  docker_response_fn fn, void *arg);

/* Starts the streaming GET path; opened is called once the daemon accepted it, event for
 * every object, closed exactly once at the end (unless docker_request_cancel() came first). */
struct docker_request *docker_stream(struct event_base *base, const char *socket_path, const char *path,
				     docker_opened_fn opened, docker_event_fn event, docker_closed_fn closed,
				     void *arg);

/* Drops a request without calling its callbacks; NULL is fine. */
void docker_request_cancel(struct docker_request *r);

/* For tests and fuzzing: a request without a connection (a GET's callbacks when
 * streaming is 0, a stream's otherwise), fed with docker_request_feed(). */
struct docker_request *docker_request_detached(int streaming, docker_response_fn response, docker_opened_fn opened,
					      docker_event_fn event, docker_closed_fn closed, void *arg);
/* Feeds bytes as if the engine sent them, then its close when eof is set. Returns 1 when
 * the request ended (its callback ran, it is freed), 0 while it waits for more. */
int docker_request_feed(struct docker_request *r, const void *data, size_t len, int eof);

/* Percent-encodes text for a URL query into out; returns -1 when out is too small. */
int docker_url_encode(const char *text, char *out, size_t out_size);

#endif

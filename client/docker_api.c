/* docker_api.c -- HTTP/1.1 GETs to the Docker Engine API over its unix socket (see
 * docker_api.h). One request per connection: the response is framed by its status line,
 * headers and then either chunks, a Content-Length or the end of the connection. A
 * stream's body is JSON objects separated by newlines; each complete line is parsed
 * and handed on, whatever the chunk boundaries were. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "docker_api.h"

#define LINE_MAX_BYTES 8192               /* a status line, header or chunk-size line */
#define BODY_MAX_BYTES (64u << 20)        /* /containers/json of a big host stays below */
#define EVENT_MAX_BYTES (1u << 20)        /* one event object */
#define RESPONSE_TIMEOUT_S 30             /* a GET that the daemon never finishes */

enum parse_state {
	READ_STATUS,        /* "HTTP/1.1 200 OK" */
	READ_HEADERS,       /* up to the empty line */
	READ_CHUNK_SIZE,    /* hex size line of the next chunk */
	READ_CHUNK_DATA,    /* chunk_left bytes, then CRLF */
	READ_TRAILER,       /* after the 0 chunk: lines up to the empty one */
	READ_LENGTH,        /* content_left bytes */
	READ_TO_CLOSE,      /* no length, not chunked: the body ends with the connection */
};

struct docker_request {
	struct bufferevent *bev;          /* NULL for a detached request (tests, fuzzing) */
	struct evbuffer *detached_in;     /* a detached request's input */
	int streaming;                   /* /events: hand on lines as they come */
	enum parse_state state;
	int status;                      /* the HTTP status, once read */
	int chunked;
	long long content_left;          /* READ_LENGTH: bytes still to come; -1: no length */
	size_t chunk_left;               /* READ_CHUNK_DATA: bytes still to come */
	struct evbuffer *body;           /* the body so far (a stream: its unfinished line) */
	docker_response_fn response;
	docker_opened_fn opened;
	docker_event_fn event;
	docker_closed_fn closed;
	void *arg;
};

static void request_free(struct docker_request *r)
{
	if (r == NULL)
		return;
	if (r->bev)
		bufferevent_free(r->bev);
	if (r->body)
		evbuffer_free(r->body);
	if (r->detached_in)
		evbuffer_free(r->detached_in);
	free(r);
}

void docker_request_cancel(struct docker_request *r)
{
	request_free(r);
}

/* Ends the request with a failure: the one callback it owes, then free. */
static void fail(struct docker_request *r, int status, const char *error)
{
	if (r->streaming)
		r->closed(r->arg, status, error);
	else
		r->response(r->arg, status, NULL, error);
	request_free(r);
}

/* A GET's body is complete: parse it and hand it on. */
static void finish_response(struct docker_request *r)
{
	size_t len = evbuffer_get_length(r->body);
	const char *text = (const char *)evbuffer_pullup(r->body, -1);
	json_error_t error;
	json_t *body = len > 0 ? json_loadb(text, len, 0, &error) : NULL;
	r->response(r->arg, r->status, body, body == NULL ? "the body is not JSON" : NULL);
	json_decref(body);
	request_free(r);
}

/* A stream's body grew: every complete line is one JSON object. Returns -1 after the
 * request failed (and was freed). */
static int drain_events(struct docker_request *r)
{
	for (;;) {
		struct evbuffer_ptr eol = evbuffer_search(r->body, "\n", 1, NULL);
		if (eol.pos < 0) {
			if (evbuffer_get_length(r->body) > EVENT_MAX_BYTES) {
				fail(r, -1, "an event longer than 1 MiB");
				return -1;
			}
			return 0;
		}
		size_t len = (size_t)eol.pos;
		const char *text = (const char *)evbuffer_pullup(r->body, (ssize_t)len);
		json_error_t error;
		json_t *event = len > 0 ? json_loadb(text, len, 0, &error) : NULL;
		evbuffer_drain(r->body, len + 1);
		if (event != NULL && json_is_object(event))
			r->event(r->arg, event);
		json_decref(event);
	}
}

/* Moves up to max body bytes from the connection into r->body. */
static size_t take_body(struct docker_request *r, struct evbuffer *in, size_t max)
{
	size_t have = evbuffer_get_length(in);
	size_t n = have < max ? have : max;
	evbuffer_remove_buffer(in, r->body, n);
	return n;
}

/* Reads one CRLF line; returns NULL when it has not fully arrived. *too_long is set when
 * the line is over the limit (then the request must fail). */
static char *read_line(struct evbuffer *in, int *too_long)
{
	size_t len = 0;
	char *line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF);
	*too_long = line == NULL && evbuffer_get_length(in) > LINE_MAX_BYTES;
	if (line != NULL && len > LINE_MAX_BYTES) {
		free(line);
		*too_long = 1;
		return NULL;
	}
	return line;
}

static int parse_status_line(struct docker_request *r, const char *line)
{
	int major = 0, minor = 0, status = 0;
	if (sscanf(line, "HTTP/%d.%d %d", &major, &minor, &status) != 3 || major != 1 || status < 100 ||
	    status > 599)
		return -1;
	r->status = status;
	return 0;
}

static void parse_header(struct docker_request *r, const char *line)
{
	const char *colon = strchr(line, ':');
	if (colon == NULL)
		return;
	size_t name_len = (size_t)(colon - line);
	const char *value = colon + 1 + strspn(colon + 1, " \t");
	if (name_len == 17 && strncasecmp(line, "Transfer-Encoding", 17) == 0 && strcasestr(value, "chunked"))
		r->chunked = 1;
	else if (name_len == 14 && strncasecmp(line, "Content-Length", 14) == 0)
		r->content_left = strtoll(value, NULL, 10);
}

/* The headers are read: choose how the body is framed. Returns -1 after failing. */
static int start_body(struct docker_request *r)
{
	if (r->streaming) {
		if (r->status != 200) {
			fail(r, r->status, "the daemon refused the stream");
			return -1;
		}
		if (r->bev)
			bufferevent_set_timeouts(r->bev, NULL, NULL);   /* events may be hours apart */
		r->opened(r->arg);
	}
	if (r->chunked)
		r->state = READ_CHUNK_SIZE;
	else if (r->content_left >= 0)
		r->state = READ_LENGTH;
	else
		r->state = READ_TO_CLOSE;
	if (!r->streaming && r->content_left > (long long)BODY_MAX_BYTES) {
		fail(r, -1, "a body larger than 64 MiB");
		return -1;
	}
	return 0;
}

/* Runs the parser over what has arrived. Returns 1 when the request is complete, 0 to wait
 * for more, -1 after it failed (freed). */
static int parse_more(struct docker_request *r, struct evbuffer *in)
{
	char *line = NULL;
	int too_long = 0;

	for (;;) {
		switch (r->state) {
		case READ_STATUS:
		case READ_HEADERS:
		case READ_CHUNK_SIZE:
		case READ_TRAILER:
			line = read_line(in, &too_long);
			if (line == NULL) {
				if (too_long) {
					fail(r, -1, "a response line longer than 8 KiB");
					return -1;
				}
				return 0;
			}
			break;
		case READ_CHUNK_DATA:
			r->chunk_left -= take_body(r, in, r->chunk_left);
			if (r->chunk_left > 0)
				goto body_grew;
			r->state = READ_CHUNK_SIZE;   /* the CRLF after the data reads as an empty size line */
			goto body_grew;
		case READ_LENGTH:
			r->content_left -= (long long)take_body(r, in, (size_t)r->content_left);
			if (r->content_left == 0) {
				if (r->streaming && drain_events(r) < 0)
					return -1;
				return 1;
			}
			goto body_grew;
		case READ_TO_CLOSE:
			take_body(r, in, evbuffer_get_length(in));
			goto body_grew;
		}

		/* A line was read in one of the line states. */
		if (r->state == READ_STATUS) {
			int bad = parse_status_line(r, line) < 0;
			free(line);
			if (bad) {
				fail(r, -1, "not an HTTP/1.x response");
				return -1;
			}
			r->state = READ_HEADERS;
		} else if (r->state == READ_HEADERS) {
			int end = line[0] == '\0';
			if (!end)
				parse_header(r, line);
			free(line);
			if (end && start_body(r) < 0)
				return -1;
		} else if (r->state == READ_CHUNK_SIZE) {
			if (line[0] == '\0') {   /* the CRLF that closes a chunk's data */
				free(line);
				continue;
			}
			char *end = NULL;
			unsigned long long size = strtoull(line, &end, 16);
			int bad = end == line || size > BODY_MAX_BYTES;
			free(line);
			if (bad) {
				fail(r, -1, "a bad chunk size");
				return -1;
			}
			r->chunk_left = (size_t)size;
			r->state = size == 0 ? READ_TRAILER : READ_CHUNK_DATA;
		} else {   /* READ_TRAILER */
			int end = line[0] == '\0';
			free(line);
			if (end)
				return 1;
		}
		continue;
body_grew:
		if (r->streaming) {
			if (drain_events(r) < 0)
				return -1;
		} else if (evbuffer_get_length(r->body) > BODY_MAX_BYTES) {
			fail(r, -1, "a body larger than 64 MiB");
			return -1;
		}
		if (evbuffer_get_length(in) == 0)
			return 0;
	}
}

/* The request is complete: hand on a GET's body; a stream that ends is closed. */
static void complete(struct docker_request *r)
{
	if (r->streaming)
		fail(r, 200, "the daemon ended the stream");
	else
		finish_response(r);
}

/* The engine sent what is in `in`, and closed the connection after it when eof is set.
 * Returns 1 when the request ended (its callback ran and it is freed), 0 to wait. */
static int take_input(struct docker_request *r, struct evbuffer *in, int eof)
{
	int rc = parse_more(r, in);
	if (rc < 0)
		return 1;
	if (rc == 1 || (eof && r->state == READ_TO_CLOSE)) {
		complete(r);
		return 1;
	}
	if (!eof)
		return 0;
	fail(r, -1, r->state == READ_STATUS ? "the daemon closed the connection without answering"
					    : "the daemon closed the connection mid-response");
	return 1;
}

static void on_read(struct bufferevent *bev, void *arg)
{
	take_input(arg, bufferevent_get_input(bev), 0);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct docker_request *r = arg;
	char reason[160];

	if (what & BEV_EVENT_CONNECTED)
		return;
	if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR)) {
		/* Whatever is still buffered is the end of the response. */
		take_input(r, bufferevent_get_input(bev), 1);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT)
		snprintf(reason, sizeof reason, "no response within %d s", RESPONSE_TIMEOUT_S);
	else
		snprintf(reason, sizeof reason, "%s", evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	fail(r, -1, reason);
}

static struct docker_request *start(struct event_base *base, const char *socket_path, const char *path,
				    struct docker_request *r)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timeval timeout = { RESPONSE_TIMEOUT_S, 0 };

	if (strlen(socket_path) >= sizeof sun.sun_path) {
		errno = ENAMETOOLONG;
		goto fail;
	}
	memcpy(sun.sun_path, socket_path, strlen(socket_path) + 1);
	r->content_left = -1;
	r->body = evbuffer_new();
	r->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (r->body == NULL || r->bev == NULL)
		goto fail;
	bufferevent_setcb(r->bev, on_read, NULL, on_event, r);
	bufferevent_set_timeouts(r->bev, &timeout, &timeout);
	/* The API's version is left out of the path: every daemon answers unversioned
	 * paths with its own, and the fields read here exist in all of them. */
	if (evbuffer_add_printf(bufferevent_get_output(r->bev),
				"GET %s HTTP/1.1\r\nHost: docker\r\nUser-Agent: svcdnsctl\r\n"
				"Accept: application/json\r\nConnection: close\r\n\r\n", path) < 0)
		goto fail;
	if (bufferevent_enable(r->bev, EV_READ | EV_WRITE) < 0 ||
	    bufferevent_socket_connect(r->bev, (struct sockaddr *)&sun, (int)sizeof sun) < 0)
		goto fail;
	return r;
fail:
	if (errno == 0)
		errno = ENOMEM;
	int saved = errno;
	request_free(r);
	errno = saved;
	return NULL;
}

struct docker_request *docker_get(struct event_base *base, const char *socket_path, const char *path,
				  docker_response_fn fn, void *arg)
{
	struct docker_request *r = calloc(1, sizeof *r);
	if (r == NULL)
		return NULL;
	r->response = fn;
	r->arg = arg;
	errno = 0;
	return start(base, socket_path, path, r);
}

struct docker_request *docker_stream(struct event_base *base, const char *socket_path, const char *path,
				     docker_opened_fn opened, docker_event_fn event, docker_closed_fn closed,
				     void *arg)
{
	struct docker_request *r = calloc(1, sizeof *r);
	if (r == NULL)
		return NULL;
	r->streaming = 1;
	r->opened = opened;
	r->event = event;
	r->closed = closed;
	r->arg = arg;
	errno = 0;
	return start(base, socket_path, path, r);
}

struct docker_request *docker_request_detached(int streaming, docker_response_fn response, docker_opened_fn opened,
					      docker_event_fn event, docker_closed_fn closed, void *arg)
{
	struct docker_request *r = calloc(1, sizeof *r);
	if (r == NULL)
		return NULL;
	r->streaming = streaming;
	r->response = response;
	r->opened = opened;
	r->event = event;
	r->closed = closed;
	r->arg = arg;
	r->content_left = -1;
	r->body = evbuffer_new();
	r->detached_in = evbuffer_new();
	if (r->body == NULL || r->detached_in == NULL) {
		request_free(r);
		return NULL;
	}
	return r;
}

int docker_request_feed(struct docker_request *r, const void *data, size_t len, int eof)
{
	if (evbuffer_add(r->detached_in, data, len) < 0) {
		fail(r, -1, "out of memory");
		return 1;
	}
	return take_input(r, r->detached_in, eof);
}

int docker_url_encode(const char *text, char *out, size_t out_size)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		int plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
			    *p == '-' || *p == '_' || *p == '.' || *p == '~';
		if (n + (plain ? 1 : 3) >= out_size)
			return -1;
		if (plain) {
			out[n++] = (char)*p;
		} else {
			out[n++] = '%';
			out[n++] = hex[*p >> 4];
			out[n++] = hex[*p & 15];
		}
	}
	out[n] = '\0';
	return 0;
}

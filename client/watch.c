/* watch.c -- `svcdnsctl watch`: follow the server's change stream (GET /v1/watch).
 *
 * The request is HTTP/1.0 on purpose: evhttp then sends the stream as it is and ends it
 * by closing the connection, where HTTP/1.1 would get it in chunks. The body needs no
 * decoding, and each line is copied out the moment it arrives.
 *
 * When the stream ends or the server cannot be reached, watch says so on stderr and
 * connects again after a pause that doubles from 0.5 s to 30 s (reset once a stream was
 * accepted); --once gives up instead, with status 1. */
#include <errno.h>
#include <jansson.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "watch.h"

#define WATCH_DEFAULT_PORT "8054"
#define WATCH_CONNECT_TIMEOUT_S 5
#define WATCH_KEEPALIVE_IDLE_S 60   /* probe a silent server after this long ... */
#define WATCH_KEEPALIVE_COUNT 4     /* ... and give up after this many unanswered probes */
#define WATCH_BACKOFF_FIRST_MS 500  /* the first pause before reconnecting ... */
#define WATCH_BACKOFF_MAX_MS 30000  /* ... doubling up to this */

struct http_target {
	char host[256];   /* name or address, IPv6 without brackets */
	char port[6];
	char label[270];  /* as people write it, for messages and the Host header */
};

static void watch_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void watch_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("svcdnsctl: watch: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* Splits "HOST:PORT", "[V6]:PORT", "HOST" or a bare IPv6 address. Returns 0 or -1. */
static int parse_target(const char *text, struct http_target *t)
{
	const char *host = text, *port = WATCH_DEFAULT_PORT;
	size_t host_len;
	if (text[0] == '[') {
		const char *close_bracket = strchr(text, ']');
		if (!close_bracket || (close_bracket[1] != '\0' && close_bracket[1] != ':'))
			return -1;
		host = text + 1;
		host_len = (size_t)(close_bracket - host);
		if (close_bracket[1] == ':')
			port = close_bracket + 2;
	} else {
		const char *colon = strchr(text, ':');
		/* One colon separates the port; more than one is a bare IPv6 address. */
		if (colon && !strchr(colon + 1, ':')) {
			host_len = (size_t)(colon - text);
			port = colon + 1;
		} else {
			host_len = strlen(text);
		}
	}
	size_t port_len = strlen(port);
	if (host_len == 0 || host_len >= sizeof t->host || port_len == 0 || port_len > 5 ||
	    strspn(port, "0123456789") != port_len || atoi(port) < 1 || atoi(port) > 65535)
		return -1;
	memcpy(t->host, host, host_len);
	t->host[host_len] = '\0';
	memcpy(t->port, port, port_len + 1);
	snprintf(t->label, sizeof t->label, strchr(t->host, ':') ? "[%s]:%s" : "%s:%s", t->host, t->port);
	return 0;
}

/* Connects to the first address of the target that answers; returns the socket or -1. */
static int connect_to(const struct http_target *t)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *addrs = NULL;
	int fd = -1, err = 0;
	int gai = getaddrinfo(t->host, t->port, &hints, &addrs);
	if (gai != 0) {
		watch_error("cannot resolve %s: %s", t->host, gai_strerror(gai));
		return -1;
	}
	for (struct addrinfo *a = addrs; a; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		/* On Linux a send timeout bounds connect() as well. */
		struct timeval timeout = { WATCH_CONNECT_TIMEOUT_S, 0 };
		if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout) == 0 &&
		    connect(fd, a->ai_addr, a->ai_addrlen) == 0)
			break;
		err = errno == EINPROGRESS ? ETIMEDOUT : errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(addrs);
	if (fd < 0) {
		watch_error("cannot connect to %s: %s (is svcdns running with --http %s?)", t->label,
			    strerror(err), t->label);
		return -1;
	}
	/* The stream is silent while nothing changes; keepalive probes notice a server host
	 * that vanished without closing the connection. */
	int on = 1, idle = WATCH_KEEPALIVE_IDLE_S, interval = WATCH_KEEPALIVE_IDLE_S / 4,
	    count = WATCH_KEEPALIVE_COUNT;
	if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count) < 0)
		watch_error("warning: no TCP keepalive (%s): a vanished server goes unnoticed", strerror(errno));
	return fd;
}

static int send_request(int fd, const struct http_target *t)
{
	char request[512];
	int len = snprintf(request, sizeof request,
			   "GET /v1/watch HTTP/1.0\r\nHost: %s\r\nAccept: application/x-ndjson\r\n\r\n",
			   t->label);
	for (int sent = 0; sent < len;) {
		ssize_t n = send(fd, request + sent, (size_t)(len - sent), MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			watch_error("cannot send the request to %s: %s", t->label, strerror(errno));
			return -1;
		}
		sent += (int)n;
	}
	return 0;
}

/* Reads the status line and headers. Returns 0 for a 200 whose body is plain lines, or
 * -1 after saying why not (with the server's error document when it sent one). */
static int read_response_head(FILE *in, const struct http_target *t, char **line, size_t *cap)
{
	int major, minor, status = 0;
	ssize_t n = getline(line, cap, in);
	if (n <= 0 || sscanf(*line, "HTTP/%d.%d %d", &major, &minor, &status) != 3) {
		watch_error("%s did not answer with HTTP (%s)", t->label,
			    n <= 0 ? "connection closed" : "bad status line");
		return -1;
	}
	int chunked = 0;
	while ((n = getline(line, cap, in)) > 0 && strcmp(*line, "\r\n") != 0 && strcmp(*line, "\n") != 0)
		if (strncasecmp(*line, "Transfer-Encoding:", 18) == 0 && strcasestr(*line + 18, "chunked"))
			chunked = 1;
	if (n <= 0) {
		watch_error("%s closed the connection in the middle of the reply headers", t->label);
		return -1;
	}
	if (status != 200) {
		n = getline(line, cap, in);
		if (n > 0 && (*line)[n - 1] == '\n')
			(*line)[n - 1] = '\0';
		watch_error("%s answered HTTP %d%s%s", t->label, status, n > 0 ? ": " : "", n > 0 ? *line : "");
		return -1;
	}
	if (chunked) {
		/* HTTP/1.0 requests never get chunks from svcdns; something else answered. */
		watch_error("%s sent a chunked reply to an HTTP/1.0 request: not an svcdns server?", t->label);
		return -1;
	}
	return 0;
}

/* One change line as people read it: "TIME EVENT INSTANCE.SERVICE ADDRESS:PORT ttl=N",
 * and " health=STATE (RESULT)" for an instance with a health check. */
static int print_human(const char *line, FILE *out)
{
	json_error_t error;
	json_t *event = json_loads(line, 0, &error);
	int rc;
	const char *time_text = json_string_value(json_object_get(event, "time"));
	const char *what = json_string_value(json_object_get(event, "event"));
	const char *service = json_string_value(json_object_get(event, "service"));
	const char *instance = json_string_value(json_object_get(event, "instance"));
	const char *address = json_string_value(json_object_get(event, "address"));
	if (!time_text || !what || !service || !instance) {
		rc = fputs(line, out) == EOF ? -1 : 0;  /* not a change line: as it came */
	} else {
		json_int_t port = json_integer_value(json_object_get(event, "port"));
		json_int_t ttl = json_integer_value(json_object_get(event, "ttl"));
		json_t *health = json_object_get(event, "health");
		const char *state = json_string_value(json_object_get(health, "state"));
		const char *result = json_string_value(json_object_get(health, "result"));
		rc = fprintf(out, strchr(address ? address : "", ':') ? "%s %s %s.%s [%s]:%lld ttl=%lld"
								      : "%s %s %s.%s %s:%lld ttl=%lld",
			     time_text, what, instance, service, address ? address : "-", (long long)port,
			     (long long)ttl) < 0 ? -1 : 0;
		/* A checked instance's events say its health: "health=critical (http-500)". */
		if (rc == 0 && state && fprintf(out, " health=%s (%s)", state, result ? result : "?") < 0)
			rc = -1;
		if (rc == 0 && fputc('\n', out) == EOF)
			rc = -1;
	}
	json_decref(event);
	return rc;
}

enum watch_end { WATCH_ENDED, WATCH_UNREACHABLE, WATCH_FATAL };

/* One connection: request, head, then every line until the stream ends. *streamed is
 * set once the server accepted the request. */
static enum watch_end watch_stream(const struct http_target *target, FILE *out, int json, int *streamed)
{
	FILE *in = NULL;
	char *line = NULL;
	size_t cap = 0;
	enum watch_end end = WATCH_UNREACHABLE;
	int fd = connect_to(target);
	if (fd < 0 || send_request(fd, target) < 0)
		goto out;
	in = fdopen(fd, "r");
	if (!in) {
		watch_error("%s", strerror(errno));
		end = WATCH_FATAL;
		goto out;
	}
	fd = -1;  /* closed with in */
	if (read_response_head(in, target, &line, &cap) < 0) {
		end = WATCH_FATAL;  /* something answered, and it is not an svcdns stream */
		goto out;
	}
	*streamed = 1;
	ssize_t n;
	while ((n = getline(&line, &cap, in)) > 0) {
		int written = json ? (fwrite(line, 1, (size_t)n, out) == (size_t)n ? 0 : -1) : print_human(line, out);
		if (written < 0 || fflush(out) == EOF) {
			watch_error("cannot write: %s", strerror(errno));
			end = WATCH_FATAL;
			goto out;
		}
	}
	if (ferror(in))
		watch_error("reading from %s: %s", target->label, strerror(errno));
	end = WATCH_ENDED;
out:
	free(line);
	if (in)
		fclose(in);
	if (fd >= 0)
		close(fd);
	return end;
}

int svcdnsctl_watch(const char *http_server, FILE *out, const struct watch_options *options)
{
	struct http_target target;
	unsigned backoff_ms = WATCH_BACKOFF_FIRST_MS;
	int was_down = 0;
	if (!http_server || parse_target(http_server, &target) < 0) {
		watch_error("bad HTTP server '%s': use HOST:PORT or [IPv6]:PORT", http_server ? http_server : "");
		return 2;
	}
	for (;;) {
		int streamed = 0;
		if (was_down)
			watch_error("connecting to %s again", target.label);
		enum watch_end end = watch_stream(&target, out, options->json, &streamed);
		if (end == WATCH_FATAL)
			return 1;
		if (options->once) {
			if (end == WATCH_ENDED)
				watch_error("%s ended the stream (the server stopped, or dropped a watcher that fell behind)",
					    target.label);
			return 1;
		}
		if (streamed)
			backoff_ms = WATCH_BACKOFF_FIRST_MS;  /* it worked: the next outage starts afresh */
		watch_error("%s; reconnecting in %u.%u s", end == WATCH_ENDED ? "the stream ended" : "no connection",
			    backoff_ms / 1000, backoff_ms % 1000 / 100);
		was_down = 1;
		struct timespec pause = { backoff_ms / 1000, (long)(backoff_ms % 1000) * 1000000L };
		while (nanosleep(&pause, &pause) < 0 && errno == EINTR)
			;
		backoff_ms = backoff_ms * 2 > WATCH_BACKOFF_MAX_MS ? WATCH_BACKOFF_MAX_MS : backoff_ms * 2;
	}
}

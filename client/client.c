/* client.c -- the client handle and one request's round trip: sign, send, retry, read
 * the reply lines, turn the final OK/ERR line into a status. */
#include <errno.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "client_internal.h"
#include "sign.h"

#define DEFAULT_TIMEOUT_MS 1000
#define DEFAULT_ATTEMPTS 3
#define FAILOVER_PAUSE_FIRST_MS 100  /* between rounds over a server list: 100, 200, ... ms */

/* Parses "A:P,B:P,...": each entry as transport_init() takes it. Returns 0, or -1 with
 * errno EINVAL (an empty or bad entry, too many) or ENOMEM. */
static int open_servers(struct svcdns_client *c, const char *list, int tcp)
{
	const char *entry = list;
	for (;;) {
		size_t len = strcspn(entry, ",");
		char one[TRANSPORT_HOST_MAX + 16];
		if (len == 0 || len >= sizeof one || c->server_count == CLIENT_SERVERS_MAX) {
			errno = EINVAL;
			return -1;
		}
		memcpy(one, entry, len);
		one[len] = '\0';
		if (transport_init(&c->servers[c->server_count], one, tcp) < 0)
			return -1;
		c->server_count++;
		if (entry[len] == '\0')
			return 0;
		entry += len + 1;
	}
}

struct svcdns_client *svcdns_open(const char *server, int tcp)
{
	struct svcdns_client *c = calloc(1, sizeof *c);
	if (c == NULL)
		return NULL;
	if (server == NULL || open_servers(c, server, tcp) < 0) {
		int saved_errno = server == NULL ? EINVAL : errno;
		svcdns_close(c);
		errno = saved_errno;
		return NULL;
	}
	c->wire = &c->servers[0];
	c->timeout_ms = DEFAULT_TIMEOUT_MS;
	c->attempts = DEFAULT_ATTEMPTS;
	return c;
}

void svcdns_close(struct svcdns_client *c)
{
	if (c == NULL)
		return;
	for (unsigned i = 0; i < c->server_count; i++)
		transport_free(&c->servers[i]);
	OPENSSL_cleanse(c->secret, sizeof c->secret);
	free(c);
}

const char *svcdns_current_server(const struct svcdns_client *c)
{
	return c->wire->label;
}

int client_is_word(const char *text, size_t max_len)
{
	size_t len = 0;
	for (; text[len] != '\0'; len++)
		if ((unsigned char)text[len] <= ' ' || text[len] == 0x7f)
			return 0;
	return len > 0 && len <= max_len;
}

int svcdns_set_key(struct svcdns_client *c, const char *name, const char *secret)
{
	if (name == NULL || secret == NULL || !client_is_word(name, sizeof c->key_name - 1))
		return -1;
	size_t secret_len = strlen(secret);
	if (secret_len == 0 || secret_len > sizeof c->secret)
		return -1;
	snprintf(c->key_name, sizeof c->key_name, "%s", name);
	OPENSSL_cleanse(c->secret, sizeof c->secret);
	memcpy(c->secret, secret, secret_len);
	c->secret_len = secret_len;
	c->has_key = 1;
	return 0;
}

void svcdns_set_timeout(struct svcdns_client *c, unsigned timeout_ms, unsigned attempts)
{
	c->timeout_ms = timeout_ms > 0 ? timeout_ms : 1;
	c->attempts = attempts > 0 ? attempts : 1;
}

const char *svcdns_last_error(const struct svcdns_client *c)
{
	return c->error;
}

void client_set_error(struct svcdns_client *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->error, sizeof c->error, fmt, ap);
	va_end(ap);
}

/* The transport's failure becomes the client's; returns -1 for the caller to pass on. */
static int wire_failed(struct svcdns_client *c)
{
	client_set_error(c, "%s", c->wire->error);
	return -1;
}

/* Sleeps until the wall clock has left second ts; returns the new second. */
static time_t wait_for_next_second(time_t ts)
{
	struct timespec now;
	for (;;) {
		clock_gettime(CLOCK_REALTIME, &now);
		if (now.tv_sec > ts)
			return now.tv_sec;
		struct timespec rest = { 0, 1000000000L - now.tv_nsec };
		/* An interrupted or early wake-up just goes round again: the clock decides. */
		(void)nanosleep(&rest, NULL);
	}
}

/* Puts body, signed when there is a key, and its LF into c->request, setting *len. The
 * server refuses a (key, ts, mac) it has seen, and an identical body in the same second
 * has the same MAC, so a retry or a repeated request waits for the next second.
 * Returns 0, or the status to give up with: 413 for a request too long to send. */
static int prepare_line(struct svcdns_client *c, const char *body, size_t *len)
{
	size_t body_len = strlen(body);
	int signed_len;

	if (body_len >= sizeof c->last_signed_body)
		goto too_long;
	if (!c->has_key) {
		memcpy(c->request, body, body_len);
		*len = body_len;
	} else {
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		time_t ts = now.tv_sec;
		/* Replays are remembered per server: another server may take the same line. */
		if (ts == c->last_signed_ts && c->current == c->last_signed_server &&
		    strcmp(body, c->last_signed_body) == 0)
			ts = wait_for_next_second(ts);
		signed_len = sign_request(body, c->key_name, c->secret, c->secret_len, ts, c->request,
					  CLIENT_REQUEST_MAX);
		if (signed_len < 0)
			goto too_long;
		*len = (size_t)signed_len;
		c->last_signed_ts = ts;
		c->last_signed_server = c->current;
		memcpy(c->last_signed_body, body, body_len + 1);
	}
	c->request[(*len)++] = '\n';
	c->request[*len] = '\0';
	return 0;

too_long:
	client_set_error(c, "ERR 413 request longer than %d bytes with its signature (not sent)",
			 CLIENT_REQUEST_MAX - 1);
	return 413;
}

/* A LIST reply ends with "OK <count>" or an ERR line; instance lines begin with a
 * (lowercase) service name, so the exact shapes below cannot be mistaken for one. */
static int is_final_line(const char *line)
{
	if (strcmp(line, "OK") == 0)
		return 1;
	if (strncmp(line, "OK ", 3) == 0)
		return line[3] != '\0' && strspn(line + 3, "0123456789") == strlen(line + 3);
	return strncmp(line, "ERR ", 4) == 0 && strspn(line + 4, "0123456789") == 3 &&
	       (line[7] == ' ' || line[7] == '\0');
}

/* "OK ..." is 0, "ERR <code> <reason>" is code (and the line becomes the last error). */
static int reply_status(struct svcdns_client *c, const char *line)
{
	if (strcmp(line, "OK") == 0 || strncmp(line, "OK ", 3) == 0)
		return 0;
	if (strncmp(line, "ERR ", 4) == 0 && strspn(line + 4, "0123456789") == 3 &&
	    (line[7] == ' ' || line[7] == '\0')) {
		int code = atoi(line + 4);
		if (code >= 100) {
			client_set_error(c, "%s", line);
			return code;
		}
	}
	client_set_error(c, "malformed reply from the server: '%.200s'", line);
	return -1;
}

/* Reads reply lines up to the final one. Returns 1 with *status set, 0 when no (more)
 * reply came within the timeout, -1 on failure; *lines counts lines handed to on_line. */
static int read_reply(struct svcdns_client *c, client_line_fn on_line, void *arg, char *final,
		      size_t final_size, int *status, unsigned *lines)
{
	char *line = NULL;
	for (;;) {
		int got = transport_next_line(c->wire, c->timeout_ms, &line);
		if (got == 0) {
			client_set_error(c, "%s", c->wire->error);
			return 0;
		}
		if (got < 0)
			return wire_failed(c);
		if (on_line == NULL || is_final_line(line)) {
			if (final != NULL && final_size > 0)
				snprintf(final, final_size, "%s", line);
			*status = reply_status(c, line);
			return *status < 0 ? -1 : 1;
		}
		on_line(line, arg);
		(*lines)++;
		c->lines_delivered++;
	}
}

/* UDP: one datagram per attempt, re-signed each time; any reply to any attempt answers
 * the request, since they all carry the same request. */
static int exchange_udp(struct svcdns_client *c, const char *body, client_line_fn on_line, void *arg,
			char *final, size_t final_size, unsigned attempts)
{
	int status = -1;
	unsigned lines = 0;

	if (transport_begin(c->wire, c->timeout_ms) < 0) {
		status = wire_failed(c);
		goto out;
	}
	for (unsigned attempt = 1; attempt <= attempts; attempt++) {
		size_t len = 0;
		int refused = prepare_line(c, body, &len);
		if (refused != 0) {
			status = refused;
			goto out;
		}
		if (transport_send(c->wire, c->request, len, c->timeout_ms) < 0) {
			status = wire_failed(c);
			goto out;
		}
		int got = read_reply(c, on_line, arg, final, final_size, &status, &lines);
		if (got != 0)
			goto out;
		c->unanswered_sends++;
	}
	client_set_error(c, "%s (%u attempt%s)", c->wire->error, attempts, attempts == 1 ? "" : "s");
	status = -1;
out:
	transport_disconnect(c->wire);
	return status;
}

/* TCP: one connection for many requests. When a connection that already carried requests
 * turns out closed before any reply byte (the server's idle timeout raced us), the request
 * goes once more over a new connection. */
static int exchange_tcp(struct svcdns_client *c, const char *body, client_line_fn on_line, void *arg,
			char *final, size_t final_size)
{
	int status = -1;

	for (int pass = 1; pass <= 2; pass++) {
		unsigned lines = 0;
		if (transport_begin(c->wire, c->timeout_ms) < 0)
			return wire_failed(c);
		size_t len = 0;
		int refused = prepare_line(c, body, &len);
		if (refused != 0)
			return refused;
		int got;
		if (transport_send(c->wire, c->request, len, c->timeout_ms) < 0)
			got = wire_failed(c);
		else
			got = read_reply(c, on_line, arg, final, final_size, &status, &lines);
		if (got > 0)
			return status;
		int retry = got < 0 && c->wire->peer_closed && c->wire->requests_on_connection > 1 && lines == 0;
		/* After a timeout or a failure the framing of the connection is unknown. */
		transport_disconnect(c->wire);
		if (!retry)
			break;
	}
	return -1;
}

/* One request to the current server, signed again once after a replay refusal. */
static int exchange_one(struct svcdns_client *c, const char *body, client_line_fn on_line, void *arg,
			char *final, size_t final_size, unsigned udp_attempts)
{
	int status = -1;

	for (int pass = 1; pass <= 2; pass++) {
		if (final != NULL && final_size > 0)
			final[0] = '\0';
		c->error[0] = '\0';
		c->unanswered_sends = 0;
		if (c->wire->tcp)
			status = exchange_tcp(c, body, on_line, arg, final, final_size);
		else
			status = exchange_udp(c, body, on_line, arg, final, final_size, udp_attempts);
		if (status == 0)
			c->error[0] = '\0';   /* an earlier attempt's timeout is no error any more */
		/* Another process with this key may have sent this very request in this very
		 * second (two quick `svcdnsctl renew`s), and the protocol has no nonce: sign it
		 * again in the next second, once. An ERR comes before any LIST line, so nothing
		 * reaches on_line twice. */
		if (status != 401 || !c->has_key || strcasestr(c->error, "replay") == NULL)
			break;
	}
	return status;
}

/* A server that did not answer, refused the connection, or cannot take writes now (ERR
 * 503: its store is unreachable, its journal not writable) passes the request on. */
static int should_fail_over(int status)
{
	return status == -1 || status == 503;
}

/* Sleeps ms milliseconds (through signals: the time, not the wake-up, decides). */
static void back_off(unsigned ms)
{
	int64_t until = monotonic_ms() + ms;
	for (int64_t now = monotonic_ms(); now < until; now = monotonic_ms()) {
		struct timespec rest = { (until - now) / 1000, ((until - now) % 1000) * 1000000L };
		(void)nanosleep(&rest, NULL);
	}
}

/* With one server, a request is what it always was: c->attempts UDP sends. With a list,
 * each server gets one send per round, starting at the one that answered last, so that a
 * dead or hung server costs at most one timeout before the next one is asked; up to
 * c->attempts rounds, with a growing pause between them. A server that answers becomes
 * the current one. A LIST that failed after some of its lines were handed out is not asked
 * again elsewhere: the caller would see those lines twice. */
int client_exchange(struct svcdns_client *c, const char *body, client_line_fn on_line, void *arg,
		    char *final, size_t final_size)
{
	if (c->server_count == 1)
		return exchange_one(c, body, on_line, arg, final, final_size, c->attempts);

	char failures[CLIENT_ERROR_MAX] = "";
	size_t used = 0;
	int status = -1;
	unsigned pause_ms = FAILOVER_PAUSE_FIRST_MS;
	for (unsigned round = 0; round < c->attempts; round++) {
		if (round > 0) {
			back_off(pause_ms);
			pause_ms *= 2;
		}
		for (unsigned i = 0; i < c->server_count; i++) {
			c->lines_delivered = 0;
			status = exchange_one(c, body, on_line, arg, final, final_size, 1);
			if (!should_fail_over(status) || c->lines_delivered > 0)
				return status;
			if (round == c->attempts - 1 && used < sizeof failures)
				used += (size_t)snprintf(failures + used, sizeof failures - used, "%s%s: %s",
							 used ? "; " : "", c->wire->label, c->error);
			c->current = (c->current + 1) % c->server_count;
			c->wire = &c->servers[c->current];
		}
	}
	client_set_error(c, "no server could take the request (%u rounds): %s", c->attempts, failures);
	return status;
}

/* svcdns_request()'s reply: the first line, whichever it is. */
struct first_line {
	char *reply;
	size_t reply_size;
	int copied;
};

static void keep_first_line(char *line, void *arg)
{
	struct first_line *first = arg;
	if (first->copied || first->reply == NULL || first->reply_size == 0)
		return;
	snprintf(first->reply, first->reply_size, "%s", line);
	first->copied = 1;
}

int svcdns_request(struct svcdns_client *c, const char *line, char *reply, unsigned reply_size)
{
	struct first_line first = { reply, reply_size, 0 };
	char final[CLIENT_FINAL_LINE_MAX];

	if (reply != NULL && reply_size > 0)
		reply[0] = '\0';
	if (line == NULL || line[0] == '\0' || strpbrk(line, "\r\n") != NULL) {
		client_set_error(c, "ERR 400 request: one non-empty line without CR or LF (not sent)");
		return 400;
	}
	/* LIST answers with many lines; they are all read so the next reply is framed right. */
	size_t verb_len = strcspn(line, " ");
	int is_list = verb_len == 4 && strncasecmp(line, "LIST", 4) == 0;
	int status = client_exchange(c, line, is_list ? keep_first_line : NULL, &first, final, sizeof final);
	if (status >= 0 && !first.copied && reply != NULL && reply_size > 0)
		snprintf(reply, reply_size, "%s", final);
	return status;
}

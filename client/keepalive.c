/* keepalive.c -- the keepalive loop (see keepalive.h): one request per turn, then a
 * poll() on the stop fd until the next turn is due, so nothing spins and a stop signal
 * ends any wait at once. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "keepalive.h"
#include "transport.h"

#define BACKOFF_FIRST_MS 250
#define BACKOFF_MAX_MS 5000
#define RENEW_MIN_MS 250
#define DEFAULT_LEASE_S 30   /* what the server grants when no ttl is asked for */

enum keepalive_state {
	STATE_STARTING,       /* nothing registered yet */
	STATE_REGISTERED,     /* the last request succeeded */
	STATE_UNREACHABLE,    /* the last request got no reply */
	STATE_REFUSED,        /* the last request got an ERR (code in last_code) */
};

struct keepalive {
	struct svcdns_client *client;
	const struct svcdns_instance *inst;
	keepalive_log_fn log;
	void *log_arg;
	enum keepalive_state state;
	int last_code;             /* the ERR code while STATE_REFUSED */
	int registered;            /* registered once: renew first, register only when forgotten */
	unsigned lease_s;          /* the lease last granted (before any: the one asked for) */
	unsigned backoff_ms;       /* the wait before the next retry while failing */
	char server[TRANSPORT_HOST_MAX + 8]; /* the server the last request went to */
};

static void say(struct keepalive *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(struct keepalive *k, const char *fmt, ...)
{
	char message[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(message, sizeof message, fmt, ap);
	va_end(ap);
	k->log(k->log_arg, message);
}

/* Waits up to wait_ms for stop_fd to become readable. Returns 1 for stop, 0 when the
 * time is up. A poll() that fails for good also means stop: looping on it would spin. */
static int wait_for_stop(int stop_fd, int64_t wait_ms)
{
	return wait_ready(stop_fd, POLLIN, monotonic_ms() + wait_ms) != 0;
}

/* Renewing at a third of the lease leaves two more chances before it runs out. */
static int64_t renew_interval_ms(const struct keepalive *k)
{
	int64_t interval = (int64_t)k->lease_s * 1000 / 3;
	return interval > RENEW_MIN_MS ? interval : RENEW_MIN_MS;
}

/* Retries while failing never wait longer than a renewal would, nor than 5 s. */
static unsigned backoff_cap_ms(const struct keepalive *k)
{
	int64_t cap = renew_interval_ms(k);
	if (cap > BACKOFF_MAX_MS)
		cap = BACKOFF_MAX_MS;
	return cap > BACKOFF_FIRST_MS ? (unsigned)cap : BACKOFF_FIRST_MS;
}

/* Errors of a first registration that only a person can fix: retrying would hide them. */
static int is_permanent(int code)
{
	return code == 400 || code == 401 || code == 403 || code == 409 || code == 413;
}

/* One turn: RENEW once registered, REGISTER before that and when RENEW gets 404 (the
 * server restarted without state, or the lease ran out while it was unreachable);
 * *forgotten tells which. Returns the status of the last request. */
static int refresh(struct keepalive *k, int *forgotten)
{
	unsigned granted = 0;
	int rc;

	*forgotten = 0;
	if (k->registered) {
		rc = svcdns_renew(k->client, k->inst->service, k->inst->instance, k->inst->ttl, &granted);
		if (rc != 404)
			goto out;
		*forgotten = 1;
	}
	rc = svcdns_register(k->client, k->inst, &granted);
	if (rc == 0)
		k->registered = 1;
out:
	if (rc == 0 && granted > 0)
		k->lease_s = granted;
	return rc;
}

/* Moves to the state a request's status means, with one log line when the state changed
 * (and when the server had forgotten us, which is news even though we are fine again). */
static void note_result(struct keepalive *k, int rc, int forgotten)
{
	enum keepalive_state previous = k->state;
	int previous_code = k->last_code;
	const struct svcdns_instance *inst = k->inst;
	const char *server = svcdns_current_server(k->client);

	/* With a server list, the client moved on from one that failed. */
	if (rc >= 0 && k->server[0] != '\0' && strcmp(server, k->server) != 0)
		say(k, "failed over from %s to %s", k->server, server);
	if (rc >= 0)
		snprintf(k->server, sizeof k->server, "%s", server);

	if (rc == 0) {
		k->state = STATE_REGISTERED;
		if (previous == STATE_STARTING)
			say(k, "registered %s/%s at %s port %u: lease %u s, renewing every %lld ms",
			    inst->service, inst->instance, inst->address, (unsigned)inst->port, k->lease_s,
			    (long long)renew_interval_ms(k));
		else if (forgotten)
			say(k, "the server had forgotten %s/%s (restarted without state, or the lease ran out): "
			    "registered it again, lease %u s", inst->service, inst->instance, k->lease_s);
		else if (previous != STATE_REGISTERED)
			say(k, "server reachable again: renewed %s/%s, lease %u s", inst->service, inst->instance,
			    k->lease_s);
		return;
	}
	if (rc < 0) {
		k->state = STATE_UNREACHABLE;
		if (previous != STATE_UNREACHABLE)
			say(k, "server unreachable: %s; retrying with backoff up to %u ms",
			    svcdns_last_error(k->client), backoff_cap_ms(k));
		return;
	}
	k->state = STATE_REFUSED;
	k->last_code = rc;
	if (previous != STATE_REFUSED || previous_code != rc)
		say(k, "server refused %s/%s: %s; retrying with backoff up to %u ms", inst->service, inst->instance,
		    svcdns_last_error(k->client), backoff_cap_ms(k));
}

int keepalive_run(struct svcdns_client *c, const struct svcdns_instance *inst, int stop_fd,
		  keepalive_log_fn log, void *log_arg)
{
	struct keepalive k = {
		.client = c,
		.inst = inst,
		.log = log,
		.log_arg = log_arg,
		.state = STATE_STARTING,
		.lease_s = inst->ttl > 0 ? inst->ttl : DEFAULT_LEASE_S,
		.backoff_ms = BACKOFF_FIRST_MS,
	};
	int64_t wait_ms = 0;

	while (!wait_for_stop(stop_fd, wait_ms)) {
		int forgotten = 0;
		int rc = refresh(&k, &forgotten);
		if (rc > 0 && !k.registered && is_permanent(rc)) {
			say(&k, "cannot register %s/%s: %s", inst->service, inst->instance, svcdns_last_error(c));
			return rc;
		}
		note_result(&k, rc, forgotten);
		if (rc == 0) {
			k.backoff_ms = BACKOFF_FIRST_MS;
			wait_ms = renew_interval_ms(&k);
		} else {
			wait_ms = k.backoff_ms;
			k.backoff_ms = k.backoff_ms * 2 < backoff_cap_ms(&k) ? k.backoff_ms * 2 : backoff_cap_ms(&k);
		}
	}

	if (!k.registered)
		return 0;
	int rc = svcdns_deregister(c, inst->service, inst->instance);
	if (rc == 0 || rc == 404) {
		say(&k, "stopping: deregistered %s/%s", inst->service, inst->instance);
		return 0;
	}
	say(&k, "stopping: could not deregister %s/%s: %s (its lease runs out by itself)", inst->service,
	    inst->instance, svcdns_last_error(c));
	return -1;
}

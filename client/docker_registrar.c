/* docker_registrar.c -- the registrar's loop (see docker_registrar.h).
 *
 * One libevent loop drives everything: the /events stream, the GETs of /info,
 * /containers/json and /containers/ID/json, a tick that renews leases, and a timer that
 * reconnects to the engine with backoff. Requests to svcdns are the client library's
 * blocking exchanges with a short timeout: they are answered within milliseconds on a
 * working network, and while svcdns is unreachable one probe per backoff step is made
 * instead of one per container, so the loop never stalls for long.
 *
 * Reconciliation, at start and after every reconnect to the engine:
 *   1. open /events first, so nothing that happens from now on is missed;
 *   2. GET /info for the engine's ID (the docker-daemon= marker);
 *   3. GET /containers/json: inspect and register every candidate not yet registered,
 *      deregister registrations whose container is no longer listed;
 *   4. LIST svcdns and deregister instances that carry this engine's marker but whose
 *      container is not among ours (stopped while no registrar ran). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "docker_api.h"
#include "docker_registrar.h"

#define TICK_MS 250
#define BACKOFF_FIRST_MS 250
#define BACKOFF_MAX_MS 5000
#define DEFAULT_LEASE_S 30          /* what the server grants when no ttl is asked for */
#define RENEW_MIN_MS 500
#define REFUSED_RETRY_MS 30000      /* an ERR that only a label or config change can fix */
#define BUSY_RETRY_MS 1000          /* ERR 429 (rate) and 503 (state not writable) pass */
#define SVCDNS_TIMEOUT_MS 300
#define SVCDNS_ATTEMPTS 2
#define DAEMON_ID_MAX 128

enum reg_state {
	REG_INSPECTING,     /* GET /containers/ID/json is under way */
	REG_ACTIVE,         /* inspected: registered, or being retried */
};

/* One container this registrar holds. */
struct registration {
	struct registration *next;
	struct registrar *owner;
	enum reg_state state;
	int cancelled;                  /* it stopped while being inspected: drop the answer */
	int reinspecting;               /* active, inspected again: its networks changed */
	int seen;                       /* reconcile: in the engine's list */
	struct docker_request *inspect;
	struct docker_instance di;      /* valid once REG_ACTIVE */
	int registered;                 /* the server has it */
	int refused_code;               /* the last ERR, logged once */
	unsigned lease_s;
	int64_t due_ms;                 /* the next REGISTER or RENEW */
	int64_t active_since_ms;
};

struct registrar {
	struct event_base *base;
	struct svcdns_client *client, *list_client;
	const struct docker_registrar_options *o;
	struct docker_label_options labels;
	char daemon_id[DAEMON_ID_MAX];
	char events_path[1100];
	struct registration *regs;
	struct docker_request *events, *info, *list;
	struct event *tick, *reconnect, *stop;
	int connected;                  /* the events stream is open */
	int docker_down_logged;
	unsigned docker_backoff_ms;
	int64_t list_started_ms;
	int strays_pending;             /* step 4 is still to do */
	int server_down;                /* the last svcdns request got no reply */
	unsigned server_backoff_ms;
	int64_t server_retry_ms;
	char server[128];               /* the svcdns server that answered last (--server A,B) */
};

static void say(struct registrar *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(struct registrar *r, const char *fmt, ...)
{
	char message[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(message, sizeof message, fmt, ap);
	va_end(ap);
	r->o->log(r->o->log_arg, message);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *short_id(const char *id)
{
	static char buf[13];
	snprintf(buf, sizeof buf, "%.12s", id);
	return buf;
}

static struct registration *find(struct registrar *r, const char *id)
{
	for (struct registration *g = r->regs; g; g = g->next)
		if (strcmp(g->di.id, id) == 0)
			return g;
	return NULL;
}

static void unlink_free(struct registrar *r, struct registration *g)
{
	for (struct registration **p = &r->regs; *p; p = &(*p)->next) {
		if (*p == g) {
			*p = g->next;
			break;
		}
	}
	docker_request_cancel(g->inspect);
	free(g);
}

/* ---- svcdns side ---- */

/* Notes a svcdns request's outcome for the whole registrar: unreachable means back off
 * everything, not just this one instance. Returns rc. */
static int note_server(struct registrar *r, struct svcdns_client *c, int rc)
{
	if (rc < 0) {
		if (!r->server_down)
			say(r, "svcdns unreachable: %s; retrying with backoff up to %d ms",
			    svcdns_last_error(c), BACKOFF_MAX_MS);
		r->server_down = 1;
		r->server_retry_ms = now_ms() + r->server_backoff_ms;
		r->server_backoff_ms = r->server_backoff_ms * 2 < BACKOFF_MAX_MS ? r->server_backoff_ms * 2 : BACKOFF_MAX_MS;
		return rc;
	}
	if (r->server_down)
		say(r, "svcdns reachable again");
	r->server_down = 0;
	const char *current = svcdns_current_server(c);
	if (c == r->client && current != NULL && strcmp(current, r->server) != 0) {
		if (r->server[0] != '\0')
			say(r, "failed over from svcdns at %s to %s", r->server, current);
		snprintf(r->server, sizeof r->server, "%s", current);
	}
	r->server_backoff_ms = BACKOFF_FIRST_MS;
	return rc;
}

static int64_t renew_interval_ms(const struct registration *g)
{
	int64_t interval = (int64_t)g->lease_s * 1000 / 3;
	return interval > RENEW_MIN_MS ? interval : RENEW_MIN_MS;
}

/* REGISTER (first time, or the server forgot it) or RENEW; one log line per change. */
static void refresh(struct registrar *r, struct registration *g)
{
	struct svcdns_instance *inst = &g->di.inst;
	unsigned granted = 0;
	int forgotten = 0;
	int rc;

	if (g->registered) {
		rc = note_server(r, r->client, svcdns_renew(r->client, inst->service, inst->instance, inst->ttl, &granted));
		if (rc != 404)
			goto out;
		forgotten = 1;
	}
	rc = note_server(r, r->client, svcdns_register_extra(r->client, inst, g->di.extra, &granted));
	if (rc == 0 && (!g->registered || forgotten))
		say(r, "%s %s/%s at %s port %u (container %s)", forgotten ? "the server had forgotten: registered again"
										  : "registered",
		    inst->service, inst->instance, inst->address, (unsigned)inst->port, short_id(g->di.id));
	if (rc == 0)
		g->registered = 1;
out:
	if (rc == 0) {
		if (granted > 0)
			g->lease_s = granted;
		g->refused_code = 0;
		g->due_ms = now_ms() + renew_interval_ms(g);
	} else if (rc > 0) {
		int retry_ms = rc == 429 || rc == 503 ? BUSY_RETRY_MS : REFUSED_RETRY_MS;
		if (g->refused_code != rc)
			say(r, "svcdns refused %s/%s (container %s): %s; retrying every %d s", inst->service,
			    inst->instance, short_id(g->di.id), svcdns_last_error(r->client), retry_ms / 1000);
		g->refused_code = rc;
		g->registered = 0;
		g->due_ms = now_ms() + retry_ms;
	} else {
		g->due_ms = r->server_retry_ms;
	}
}

/* Deregisters (when the server has it) and forgets the container. */
static void drop(struct registrar *r, struct registration *g, const char *why)
{
	struct svcdns_instance *inst = &g->di.inst;
	if (g->state == REG_INSPECTING) {
		g->cancelled = 1;      /* the inspect answer frees it */
		return;
	}
	if (g->registered && r->server_down && now_ms() < r->server_retry_ms) {
		/* Not one blocking attempt per container while svcdns is known to be down. */
		say(r, "could not deregister %s/%s (container %s %s): svcdns unreachable; its lease runs out by itself",
		    inst->service, inst->instance, short_id(g->di.id), why);
	} else if (g->registered) {
		int rc = note_server(r, r->client, svcdns_deregister(r->client, inst->service, inst->instance));
		if (rc == 0 || rc == 404)
			say(r, "deregistered %s/%s (container %s %s)", inst->service, inst->instance, short_id(g->di.id), why);
		else
			say(r, "could not deregister %s/%s (container %s %s): %s; its lease runs out by itself",
			    inst->service, inst->instance, short_id(g->di.id), why, svcdns_last_error(r->client));
	}
	unlink_free(r, g);
}

/* From an inspection's answer: deregisters what an earlier one registered (a changed
 * container), or forgets a container being inspected for the first time. */
static void forget(struct registrar *r, struct registration *g, const char *why)
{
	if (g->state == REG_ACTIVE)
		drop(r, g, why);
	else
		unlink_free(r, g);
}

/* The TXT value of key in a listed instance, or NULL. */
static const char *txt_value(const struct svcdns_instance *inst, const char *key)
{
	size_t len = strlen(key);
	for (int i = 0; i < SVCDNS_MAX_TXT && inst->txt[i] != NULL; i++)
		if (strncmp(inst->txt[i], key, len) == 0 && inst->txt[i][len] == '=')
			return inst->txt[i] + len + 1;
	return NULL;
}

struct stray {
	char service[64], instance[64], id[DOCKER_ID_MAX + 1];
};

struct stray_list {
	struct registrar *r;
	struct stray *items;
	size_t count, capacity;
	int failed;
};

/* A listed instance is a stray when it carries this engine's marker and its container
 * is not one we hold. An instance marked by another engine is that engine's business. */
static void collect_stray(const struct svcdns_instance *inst, void *arg)
{
	struct stray_list *s = arg;
	const char *id = txt_value(inst, DOCKER_MARKER_KEY);
	const char *daemon = txt_value(inst, DOCKER_DAEMON_KEY);
	if (id == NULL || s->failed || find(s->r, id) != NULL)
		return;
	if (daemon == NULL || s->r->daemon_id[0] == '\0' || strcmp(daemon, s->r->daemon_id) != 0)
		return;
	if (s->count == s->capacity) {
		size_t capacity = s->capacity ? s->capacity * 2 : 16;
		struct stray *items = realloc(s->items, capacity * sizeof *items);
		if (items == NULL) {
			s->failed = 1;
			return;
		}
		s->items = items;
		s->capacity = capacity;
	}
	struct stray *t = &s->items[s->count++];
	snprintf(t->service, sizeof t->service, "%s", inst->service);
	snprintf(t->instance, sizeof t->instance, "%s", inst->instance);
	snprintf(t->id, sizeof t->id, "%s", id);
}

/* Step 4 of reconciliation. Stays pending while svcdns cannot be asked. */
static void sweep_strays(struct registrar *r)
{
	struct stray_list s = { .r = r };
	int rc = note_server(r, r->list_client, svcdns_list(r->list_client, NULL, collect_stray, &s, NULL));
	if (rc < 0 || s.failed) {
		free(s.items);
		return;
	}
	r->strays_pending = 0;
	if (rc > 0) {
		say(r, "cannot list svcdns's instances to find stale ones: %s", svcdns_last_error(r->list_client));
		free(s.items);
		return;
	}
	for (size_t i = 0; i < s.count; i++) {
		rc = note_server(r, r->client, svcdns_deregister(r->client, s.items[i].service, s.items[i].instance));
		if (rc == 0 || rc == 404)
			say(r, "deregistered %s/%s (container %s no longer runs)", s.items[i].service, s.items[i].instance,
			    short_id(s.items[i].id));
	}
	free(s.items);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct registrar *r = arg;
	int64_t now = now_ms();
	(void)fd;
	(void)what;

	if (r->server_down && now < r->server_retry_ms)
		return;
	for (struct registration *g = r->regs, *next; g; g = next) {
		next = g->next;
		if (g->state != REG_ACTIVE || g->due_ms > now)
			continue;
		refresh(r, g);
		if (r->server_down)
			return;       /* one probe per backoff step, not one per container */
	}
	if (r->strays_pending && r->connected)
		sweep_strays(r);
}

/* ---- engine side ---- */

static void connect_events(struct registrar *r);

static void schedule_reconnect(struct registrar *r, const char *why)
{
	struct timeval delay = { r->docker_backoff_ms / 1000, (r->docker_backoff_ms % 1000) * 1000 };
	r->connected = 0;
	if (!r->docker_down_logged)
		say(r, "Docker engine at %s unreachable: %s; retrying with backoff up to %d ms", r->o->socket_path, why,
		    BACKOFF_MAX_MS);
	r->docker_down_logged = 1;
	r->docker_backoff_ms = r->docker_backoff_ms * 2 < BACKOFF_MAX_MS ? r->docker_backoff_ms * 2 : BACKOFF_MAX_MS;
	evtimer_add(r->reconnect, &delay);
}

static void on_inspect(void *arg, int status, json_t *body, const char *error)
{
	struct registration *g = arg;
	struct registrar *r = g->owner;
	char why[256];

	g->inspect = NULL;
	if (g->cancelled) {
		unlink_free(r, g);
		return;
	}
	if (status != 200 || body == NULL) {
		/* 404: gone already. Otherwise the engine went away: reconcile retries. */
		if (status != 404)
			say(r, "cannot inspect container %s: %s", short_id(g->di.id), status < 0 ? error : "HTTP error");
		forget(r, g, "is gone");
		return;
	}
	char id[DOCKER_ID_MAX + 1];
	struct docker_instance before = g->di;
	snprintf(id, sizeof id, "%s", g->di.id);
	if (docker_instance_from_inspect(body, &r->labels, &g->di, why, sizeof why) < 0) {
		if (strcmp(why, "not running") != 0)
			say(r, "not registering container %s: %s", short_id(id), why);
		if (g->reinspecting)
			g->di = before;    /* what to deregister */
		forget(r, g, why);
		return;
	}
	if (g->reinspecting) {
		/* A REGISTER of the same name replaces the instance: its new addresses at once. */
		say(r, "container %s's networks changed: registering %s/%s again", short_id(id), g->di.inst.service,
		    g->di.inst.instance);
		g->reinspecting = 0;
		g->registered = 0;
	}
	g->state = REG_ACTIVE;
	g->active_since_ms = now_ms();
	g->lease_s = g->di.inst.ttl > 0 ? g->di.inst.ttl : DEFAULT_LEASE_S;
	g->due_ms = 0;
	if (!r->server_down || now_ms() >= r->server_retry_ms)
		refresh(r, g);
	else
		g->due_ms = r->server_retry_ms;
}

static int start_inspect(struct registrar *r, struct registration *g)
{
	char path[128];
	snprintf(path, sizeof path, "/containers/%s/json", g->di.id);
	docker_request_cancel(g->inspect);
	g->cancelled = 0;
	g->inspect = docker_get(r->base, r->o->socket_path, path, on_inspect, g);
	if (g->inspect == NULL) {
		say(r, "cannot inspect container %s: %s", short_id(g->di.id), strerror(errno));
		return -1;
	}
	return 0;
}

/* Starts inspecting a container not held yet. */
static void track(struct registrar *r, const char *id)
{
	struct registration *g = find(r, id);
	if (g != NULL) {
		g->seen = 1;
		/* Stopped and started again while the first inspection was under way: the
		 * answer to that one may predate the restart, so ask again. */
		if (g->state == REG_INSPECTING && g->cancelled && start_inspect(r, g) < 0)
			unlink_free(r, g);
		return;
	}
	if (strlen(id) > DOCKER_ID_MAX || strspn(id, "0123456789abcdef") != strlen(id))
		return;
	g = calloc(1, sizeof *g);
	if (g == NULL) {
		say(r, "out of memory for container %s", short_id(id));
		return;
	}
	g->owner = r;
	g->seen = 1;
	snprintf(g->di.id, sizeof g->di.id, "%s", id);
	if (start_inspect(r, g) < 0) {
		free(g);
		return;
	}
	g->next = r->regs;
	r->regs = g;
}

static void on_list(void *arg, int status, json_t *body, const char *error)
{
	struct registrar *r = arg;
	size_t i;
	json_t *c;

	r->list = NULL;
	if (status != 200 || !json_is_array(body)) {
		say(r, "cannot list containers: %s", status < 0 ? error : "HTTP error");
		return;
	}
	for (struct registration *g = r->regs; g; g = g->next)
		g->seen = 0;
	json_array_foreach(body, i, c) {
		const char *id = json_string_value(json_object_get(c, "Id"));
		if (id != NULL && docker_is_candidate(json_object_get(c, "Labels"), r->labels.compose))
			track(r, id);
	}
	/* Held but not listed: stopped while the stream was down. Those that became active
	 * after the list was asked for started later than it, and stay. */
	for (struct registration *g = r->regs, *next; g; g = next) {
		next = g->next;
		if (!g->seen && g->state == REG_ACTIVE && g->active_since_ms < r->list_started_ms)
			drop(r, g, "is gone");
	}
	r->strays_pending = 1;
	say(r, "reconciled with the Docker engine: %zu running containers listed", json_array_size(body));
	if (!r->server_down)
		sweep_strays(r);
}

static void on_info(void *arg, int status, json_t *body, const char *error)
{
	struct registrar *r = arg;
	const char *id = json_string_value(json_object_get(body, "ID"));

	r->info = NULL;
	if (status != 200 || id == NULL)   /* registering goes on; stray sweeps need the ID */
		say(r, "cannot read the engine's ID from /info (%s): instances it marked stay to their leases",
		    status < 0 ? error : "no ID");
	snprintf(r->daemon_id, sizeof r->daemon_id, "%s", id != NULL ? id : "");
	for (char *p = r->daemon_id; *p; p++)   /* a TXT value without spaces */
		if (*p == ' ')
			*p = '-';
	r->list_started_ms = now_ms();
	docker_request_cancel(r->list);
	r->list = docker_get(r->base, r->o->socket_path, "/containers/json", on_list, r);
	if (r->list == NULL)
		say(r, "cannot list containers: %s", strerror(errno));
}

static void on_events_opened(void *arg)
{
	struct registrar *r = arg;
	say(r, "connected to the Docker engine at %s: watching container events", r->o->socket_path);
	r->connected = 1;
	r->docker_down_logged = 0;
	r->docker_backoff_ms = BACKOFF_FIRST_MS;
	docker_request_cancel(r->info);
	r->info = docker_get(r->base, r->o->socket_path, "/info", on_info, r);
	if (r->info == NULL)
		say(r, "cannot read the engine's /info: %s", strerror(errno));
}

/* A kill with a signal that ends the container means it is going: traffic drains while
 * it shuts down. A kill with SIGHUP or SIGUSR1 is not a stop. */
static int is_stopping_signal(const char *signal)
{
	static const char *const stopping[] = { "9", "15", "2", "3", "KILL", "TERM", "INT", "QUIT",
						"SIGKILL", "SIGTERM", "SIGINT", "SIGQUIT" };
	if (signal == NULL)
		return 1;
	for (size_t i = 0; i < sizeof stopping / sizeof stopping[0]; i++)
		if (strcmp(signal, stopping[i]) == 0)
			return 1;
	return 0;
}

/* A held container joined or left a network: inspect it again for its addresses. */
static void on_network_event(struct registrar *r, const char *container_id)
{
	struct registration *g = container_id ? find(r, container_id) : NULL;
	if (g == NULL || g->cancelled)
		return;
	g->reinspecting = g->state == REG_ACTIVE;
	if (start_inspect(r, g) < 0)
		forget(r, g, "cannot be inspected");
}

static void on_event(void *arg, json_t *event)
{
	struct registrar *r = arg;
	json_t *actor = json_object_get(event, "Actor");
	json_t *attributes = json_object_get(actor, "Attributes");
	const char *type = json_string_value(json_object_get(event, "Type"));
	const char *action = json_string_value(json_object_get(event, "Action"));
	const char *id = json_string_value(json_object_get(actor, "ID"));
	struct registration *g;

	if (type != NULL && strcmp(type, "network") == 0 && action != NULL &&
	    (strcmp(action, "connect") == 0 || strcmp(action, "disconnect") == 0)) {
		on_network_event(r, json_string_value(json_object_get(attributes, "container")));
		return;
	}
	if (type == NULL || strcmp(type, "container") != 0 || action == NULL || id == NULL)
		return;
	if (strcmp(action, "start") == 0 || strcmp(action, "unpause") == 0) {
		/* Event attributes are the container's labels. */
		if (docker_is_candidate(attributes, r->labels.compose))
			track(r, id);
		return;
	}
	g = find(r, id);
	if (g == NULL)
		return;
	if (strcmp(action, "kill") == 0) {
		const char *signal = json_string_value(json_object_get(attributes, "signal"));
		if (is_stopping_signal(signal)) {
			char why[64];
			snprintf(why, sizeof why, "got signal %.16s", signal ? signal : "?");
			drop(r, g, why);
		}
	} else if (strcmp(action, "die") == 0 || strcmp(action, "stop") == 0 || strcmp(action, "destroy") == 0 ||
		   strcmp(action, "pause") == 0) {
		drop(r, g, action[0] == 'd' ? (action[1] == 'i' ? "died" : "was removed")
					    : action[0] == 's' ? "stopped" : "was paused");
	} else if (strcmp(action, "rename") == 0) {
		/* The instance name follows the container name. */
		drop(r, g, "was renamed");
		if (docker_is_candidate(attributes, r->labels.compose))
			track(r, id);
	}
}

static void on_events_closed(void *arg, int status, const char *error)
{
	struct registrar *r = arg;
	char why[256];
	r->events = NULL;
	if (status > 0 && status != 200)
		snprintf(why, sizeof why, "/events answered HTTP %d", status);
	else
		snprintf(why, sizeof why, "%s", error);
	if (r->connected) {
		say(r, "lost the Docker engine's event stream: %s; reconnecting", why);
		r->docker_down_logged = 1;
	}
	schedule_reconnect(r, why);
}

static void connect_events(struct registrar *r)
{
	r->events = docker_stream(r->base, r->o->socket_path, r->events_path, on_events_opened, on_event,
				  on_events_closed, r);
	if (r->events == NULL)
		schedule_reconnect(r, strerror(errno));
}

static void on_reconnect(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	connect_events(arg);
}

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
	struct registrar *r = arg;
	(void)fd;
	(void)what;
	event_base_loopbreak(r->base);
}

/* SIGTERM: leases run out by themselves unless told otherwise (see README). */
static void shut_down(struct registrar *r)
{
	size_t held = 0;
	while (r->regs != NULL) {
		struct registration *g = r->regs;
		if (g->state == REG_ACTIVE && g->registered)
			held++;
		if (r->o->deregister_on_exit && g->state == REG_ACTIVE && g->registered)
			drop(r, g, "still runs: --deregister-on-exit");
		else
			unlink_free(r, g);
	}
	if (!r->o->deregister_on_exit)
		say(r, "stopping: %zu registrations left to their leases", held);
	else
		say(r, "stopping: deregistered what was held");
}

int docker_registrar_run(struct svcdns_client *c, struct svcdns_client *list_client,
			 const struct docker_registrar_options *options, int stop_fd)
{
	static const char filters[] = "{\"type\":[\"container\",\"network\"],\"event\":[\"start\",\"die\",\"stop\","
				     "\"kill\",\"destroy\",\"pause\",\"unpause\",\"rename\",\"connect\",\"disconnect\"]}";
	struct registrar r = {
		.client = c,
		.list_client = list_client,
		.o = options,
		.labels = options->labels,
		.docker_backoff_ms = BACKOFF_FIRST_MS,
		.server_backoff_ms = BACKOFF_FIRST_MS,
	};
	struct timeval tick = { 0, TICK_MS * 1000 };
	char encoded[1024];
	int status = -1;

	r.labels.daemon_id = r.daemon_id;
	svcdns_set_timeout(c, SVCDNS_TIMEOUT_MS, SVCDNS_ATTEMPTS);
	svcdns_set_timeout(list_client, SVCDNS_TIMEOUT_MS * 3, SVCDNS_ATTEMPTS);
	if (docker_url_encode(filters, encoded, sizeof encoded) < 0)
		return -1;
	snprintf(r.events_path, sizeof r.events_path, "/events?filters=%s", encoded);
	r.base = event_base_new();
	if (r.base == NULL)
		goto out;
	r.tick = event_new(r.base, -1, EV_PERSIST, on_tick, &r);
	r.reconnect = evtimer_new(r.base, on_reconnect, &r);
	r.stop = event_new(r.base, stop_fd, EV_READ, on_stop, &r);
	if (r.tick == NULL || r.reconnect == NULL || r.stop == NULL || event_add(r.tick, &tick) < 0 ||
	    event_add(r.stop, NULL) < 0)
		goto out;
	connect_events(&r);
	if (event_base_dispatch(r.base) < 0)
		goto out;
	status = 0;
out:
	if (status < 0)
		say(&r, "cannot set up the event loop");
	docker_request_cancel(r.events);
	docker_request_cancel(r.info);
	docker_request_cancel(r.list);
	shut_down(&r);
	if (r.tick)
		event_free(r.tick);
	if (r.reconnect)
		event_free(r.reconnect);
	if (r.stop)
		event_free(r.stop);
	if (r.base)
		event_base_free(r.base);
	return status;
}

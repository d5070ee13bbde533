/* store_etcd.c -- the shared registry on etcd: the node's session (lease and membership
 * record), the paged range and the watch that keep the cache, and the write txns.
 *
 * Everything runs on the server's loop through store_http.c; one timer (TICK_MS) drives
 * keepalives, retries and deadlines. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/time.h>

#include "clock.h"
#include "log.h"
#include "serial.h"
#include "store.h"
#include "store_http.h"

#define TICK_MS 100
#define RANGE_PAGE 1000
#define SESSION_RETRY_MS 1000
#define WATCH_RETRY_MS 100
#define MEMBERS_MAX 1024

/* A write that committed at revision and waits for the watch to bring it to the cache. */
struct waiter {
	TAILQ_ENTRY(waiter) link;
	int64_t revision, deadline_ms;
	store_done_fn done;
	void *arg;
};

/* A write in flight: what its reply completes. */
struct write_op {
	struct store *s;
	int has_compare;
	store_done_fn done;
	void *arg;
};

struct store {
	struct event_base *base;
	const struct config *cfg;
	const struct store_config *sc;
	struct store_events ev;
	struct etcd_http *http;
	char self[STORE_NODE_ID_MAX];
	int64_t lease_id;               /* 0: none */
	int session_up, session_starting;
	int was_up;                     /* the session was up once */
	int64_t down_since_ms;          /* when the session was lost (monotonic) */
	int64_t session_retry_ms;       /* when to start the session again */
	char down_reason[200];
	int first_contact;              /* 0 waiting, 1 done, -1 fatal */
	int synced, syncing;
	int64_t resync_revision;        /* the snapshot a paged range reads */
	int64_t resync_retry_ms;
	int64_t applied;                /* the revision the cache has caught up with */
	uint32_t serial_base;
	struct etcd_stream *watch;
	int64_t watch_retry_ms;         /* 0: no restart due */
	char *members[MEMBERS_MAX];     /* live node ids, sorted */
	size_t member_count;
	char **next_members;            /* being built by a resync */
	size_t next_member_count;
	int64_t keepalive_due_ms;
	int keepalive_inflight;
	struct event *tick;
	TAILQ_HEAD(, waiter) waiters;
	struct store_metrics metrics;
	int closing;
};

static int64_t wall_ms(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static json_t *b64(const char *data, size_t len)
{
	char out[4 * (STORE_KEY_MAX + 64) / 3 + 8];
	if (len > STORE_KEY_MAX + 60) {
		char *big = malloc(4 * (len + 2) / 3 + 1);
		if (!big)
			return NULL;
		store_base64(data, len, big);
		json_t *v = json_string(big);
		free(big);
		return v;
	}
	store_base64(data, len, out);
	return json_string(out);
}

static json_t *b64s(const char *text)
{
	return b64(text, strlen(text));
}

/* An int64 as etcd's JSON writes it: a decimal string. */
static json_t *i64(int64_t v)
{
	char text[24];
	snprintf(text, sizeof text, "%" PRId64, v);
	return json_string(text);
}

static int64_t get_i64(json_t *o, const char *name)
{
	const char *text = json_string_value(json_object_get(o, name));
	return text ? strtoll(text, NULL, 10) : 0;
}

/* Decodes a base64 field into a NUL-terminated malloc'ed buffer; *len its length. */
static char *get_bytes(json_t *o, const char *name, size_t *len)
{
	const char *text = json_string_value(json_object_get(o, name));
	size_t n = text ? strlen(text) : 0;
	char *out = malloc(n / 4 * 3 + 4);
	if (!out)
		return NULL;
	long got = text ? store_unbase64(text, (uint8_t *)out, n / 4 * 3 + 3) : 0;
	if (got < 0) {
		free(out);
		return NULL;
	}
	out[got] = 0;
	*len = (size_t)got;
	return out;
}

/* ---- members ------------------------------------------------------------------------- */

static int member_index(char *const *list, size_t count, const char *id, int *found)
{
	size_t lo = 0, hi = count;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(list[mid], id);
		if (c == 0) {
			*found = 1;
			return (int)mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = 0;
	return (int)lo;
}

static int member_add(char **list, size_t *count, const char *id)
{
	int found, i = member_index(list, *count, id, &found);
	if (found || *count == MEMBERS_MAX)
		return 0;
	char *copy = strdup(id);
	if (!copy)
		return 0;
	memmove(list + i + 1, list + i, (*count - (size_t)i) * sizeof *list);
	list[i] = copy;
	(*count)++;
	return 1;
}

static int member_remove(char **list, size_t *count, const char *id)
{
	int found, i = member_index(list, *count, id, &found);
	if (!found)
		return 0;
	free(list[i]);
	memmove(list + i, list + i + 1, (*count - (size_t)i - 1) * sizeof *list);
	(*count)--;
	return 1;
}

int store_member_live(const struct store *s, const char *node_id)
{
	int found;
	member_index(s->members, s->member_count, node_id, &found);
	return found;
}

static uint64_t fnv1a(uint64_t h, const char *text)
{
	for (; *text; text++)
		h = (h ^ (uint8_t)*text) * 1099511628211ull;
	return (h ^ 0xff) * 1099511628211ull;
}

const char *store_adopter(const struct store *s, const char *service, const char *instance)
{
	const char *best = NULL;
	uint64_t best_score = 0;
	for (size_t i = 0; i < s->member_count; i++) {
		uint64_t h = fnv1a(fnv1a(fnv1a(14695981039346656037ull, s->members[i]), service), instance);
		if (!best || h > best_score) {
			best = s->members[i];
			best_score = h;
		}
	}
	return best;
}

/* ---- applying what etcd says ------------------------------------------------------------ */

/* A split's key "<prefix>s/<service>" (value NULL: deleted). */
static void apply_split_kv(struct store *s, const char *key, size_t key_len, const char *service, size_t service_len,
			   const char *value, size_t value_len)
{
	char name[DNAME_MAX_LABEL + 1], why[160];
	struct split sp;
	memset(&sp, 0, sizeof sp);
	if (service_len > DNAME_MAX_LABEL || !label_is_ldh(service, service_len)) {
		log_warn("store: ignoring key %.*s: not <prefix>s/SERVICE", (int)key_len, key);
		return;
	}
	memcpy(name, service, service_len);
	name[service_len] = 0;
	split_set_service(&sp, name);
	if (!value)
		s->ev.split_remove(s->ev.arg, name);
	else if (store_split_decode(value, value_len, &sp, why, sizeof why) < 0)
		log_warn("store: ignoring %.*s: %s", (int)key_len, key, why);
	else
		s->ev.split_put(s->ev.arg, &sp);
}

/* One key's new value (value NULL: deleted). */
static void apply_kv(struct store *s, const char *key, size_t key_len, const char *value, size_t value_len,
		     int64_t mod_revision, char **members, size_t *member_count)
{
	size_t plen = strlen(s->sc->prefix);
	if (key_len < plen || memcmp(key, s->sc->prefix, plen) != 0)
		return;
	const char *rest = key + plen;
	size_t rest_len = key_len - plen;
	if (rest_len > 2 && memcmp(rest, "i/", 2) == 0) {
		struct store_record rec;
		const char *why;
		memset(&rec, 0, sizeof rec);
		if (store_parse_instance_key(rest + 2, rest_len - 2, rec.spec.service, rec.spec.instance) < 0) {
			log_warn("store: ignoring key %.*s: not <prefix>i/SERVICE/INSTANCE", (int)key_len, key);
			return;
		}
		if (!value) {
			s->ev.remove(s->ev.arg, rec.spec.service, rec.spec.instance);
		} else if (store_record_decode(value, value_len, &rec, &why) < 0) {
			log_warn("store: ignoring %.*s: %s", (int)key_len, key, why);
		} else {
			s->ev.put(s->ev.arg, &rec, mod_revision);
		}
	} else if (rest_len > 2 && memcmp(rest, "s/", 2) == 0) {
		apply_split_kv(s, key, key_len, rest + 2, rest_len - 2, value, value_len);
	} else if (rest_len > 2 && memcmp(rest, "n/", 2) == 0) {
		char id[STORE_NODE_ID_MAX];
		snprintf(id, sizeof id, "%.*s", (int)(rest_len - 2), rest + 2);
		if (value ? member_add(members, member_count, id) : member_remove(members, member_count, id)) {
			log_info("store: node %s %s", id, value ? "joined" : "left");
			if (members == s->members)
				s->ev.members(s->ev.arg);
		}
	} else if (rest_len == 16 && memcmp(rest, "meta/serial-base", 16) == 0 && value) {
		s->serial_base = (uint32_t)strtoul(value, NULL, 10);
	}
}

static void apply_json_kv(struct store *s, json_t *kv, int deleted, char **members, size_t *member_count)
{
	size_t key_len, value_len = 0;
	char *key = get_bytes(kv, "key", &key_len);
	char *value = deleted ? NULL : get_bytes(kv, "value", &value_len);
	if (key && (deleted || value))
		apply_kv(s, key, key_len, value, value_len, get_i64(kv, "mod_revision"), members, member_count);
	free(key);
	free(value);
}

static void finish_waiters(struct store *s, int all)
{
	struct waiter *w, *next;
	int64_t now = monotonic_ms();
	for (w = TAILQ_FIRST(&s->waiters); w; w = next) {
		next = TAILQ_NEXT(w, link);
		int expired = now >= w->deadline_ms;
		if (!all && w->revision > s->applied && !expired)
			continue;
		if (expired && !all && w->revision > s->applied && s->watch) {
			/* Committed, but the watch did not bring it: it may be stuck on a stopped
			 * member.  The OK goes out (etcd has the change) and the watch moves on. */
			log_warn("store: watch on %s is %" PRId64 " revisions behind: restarting it",
				 etcd_http_current(s->http), w->revision - s->applied);
			etcd_stream_cancel(s->watch);
			s->watch = NULL;
			s->metrics.watch_restarts++;
			etcd_http_rotate(s->http);
			s->watch_retry_ms = now;
		}
		TAILQ_REMOVE(&s->waiters, w, link);
		w->done(w->arg, all && s->closing ? 503 : 0, all && s->closing ? "shutting down" : NULL);
		free(w);
	}
}

/* ---- watch --------------------------------------------------------------------------- */

static void start_resync(struct store *s);

static void on_watch_message(void *arg, json_t *msg)
{
	struct store *s = arg;
	json_t *result = json_object_get(msg, "result");
	if (!result) {
		json_t *error = json_object_get(msg, "error");
		log_warn("store: watch: %s", json_string_value(json_object_get(error, "message")) ?: "error");
		if (json_integer_value(json_object_get(error, "grpc_code")) == 16)
			etcd_http_token_expired(s->http);
		return;
	}
	if (json_is_true(json_object_get(result, "canceled"))) {
		int64_t compacted = get_i64(result, "compact_revision");
		etcd_stream_cancel(s->watch);
		s->watch = NULL;
		if (compacted) {
			log_info("store: watch from %" PRId64 " cancelled: etcd compacted to %" PRId64 "; resyncing",
				 s->applied + 1, compacted);
			start_resync(s);
		} else {
			s->watch_retry_ms = monotonic_ms() + WATCH_RETRY_MS;
		}
		return;
	}
	/* The cache is at the last event's revision, not at the header's: a watch's first
	 * message and each page of a catch-up carry etcd's current revision, with the events
	 * up to it still to come.  Resuming from the header's would lose them. */
	json_t *events = json_object_get(result, "events"), *e;
	int64_t last = 0;
	size_t i;
	json_array_foreach(events, i, e) {
		json_t *kv = json_object_get(e, "kv");
		int deleted = json_is_string(json_object_get(e, "type")) &&
			      strcmp(json_string_value(json_object_get(e, "type")), "DELETE") == 0;
		apply_json_kv(s, kv, deleted, s->members, &s->member_count);
		int64_t rev = get_i64(kv, "mod_revision");
		last = rev > last ? rev : last;
		s->metrics.watch_events++;
	}
	if (last > s->applied) {
		s->applied = last;
		s->ev.advanced(s->ev.arg);
	}
	s->metrics.revision = s->applied;
	finish_waiters(s, 0);
}

static void on_watch_end(void *arg, const char *reason)
{
	struct store *s = arg;
	log_info("store: watch on %s ended: %s; resuming from revision %" PRId64, etcd_http_current(s->http),
		 reason, s->applied + 1);
	etcd_stream_cancel(s->watch);
	s->watch = NULL;
	s->metrics.watch_restarts++;
	etcd_http_rotate(s->http);
	s->watch_retry_ms = monotonic_ms() + WATCH_RETRY_MS;
}

static void start_watch(struct store *s)
{
	char end[STORE_KEY_MAX];
	store_range_end(s->sc->prefix, end);
	if (!etcd_http_ready(s->http)) {
		s->watch_retry_ms = monotonic_ms() + WATCH_RETRY_MS;  /* after the token */
		return;
	}
	json_t *body = json_pack("{s:{s:o, s:o, s:o}}", "create_request", "key", b64s(s->sc->prefix),
				 "range_end", b64s(end), "start_revision", i64(s->applied + 1));
	s->watch_retry_ms = 0;
	s->watch = body ? etcd_http_stream(s->http, "/v3/watch", body, on_watch_message, on_watch_end, s) : NULL;
	if (!s->watch)
		s->watch_retry_ms = monotonic_ms() + SESSION_RETRY_MS;
}

/* ---- the paged range ----------------------------------------------------------------- */

static void request_page(struct store *s, const char *from, size_t from_len);

static void free_next_members(struct store *s)
{
	for (size_t i = 0; i < s->next_member_count; i++)
		free(s->next_members[i]);
	free(s->next_members);
	s->next_members = NULL;
	s->next_member_count = 0;
}

static void resync_done(struct store *s)
{
	s->ev.resync_end(s->ev.arg, 1);
	for (size_t i = 0; i < s->member_count; i++)
		free(s->members[i]);
	memcpy(s->members, s->next_members, s->next_member_count * sizeof *s->members);
	s->member_count = s->next_member_count;
	free(s->next_members);
	s->next_members = NULL;
	s->next_member_count = 0;
	if (s->resync_revision > s->applied) {
		s->applied = s->resync_revision;
		s->ev.advanced(s->ev.arg);
	}
	s->metrics.revision = s->applied;
	s->syncing = 0;
	if (!s->synced)
		log_info("store: synced from %s at revision %" PRId64, etcd_http_current(s->http), s->applied);
	s->synced = 1;
	s->metrics.resyncs++;
	start_watch(s);
	s->ev.members(s->ev.arg);
	finish_waiters(s, 0);
}

static void on_page(void *arg, json_t *reply, int code, const char *reason)
{
	struct store *s = arg;
	if (s->closing)
		return;
	if (code != 0) {
		log_warn("store: range of %s failed: %s; retrying", s->sc->prefix, reason);
		s->ev.resync_end(s->ev.arg, 0);  /* nothing removed: the begin is repeated */
		free_next_members(s);
		s->syncing = 0;
		s->resync_retry_ms = monotonic_ms() + SESSION_RETRY_MS;
		return;
	}
	if (!s->resync_revision)
		s->resync_revision = get_i64(json_object_get(reply, "header"), "revision");
	json_t *kvs = json_object_get(reply, "kvs"), *kv;
	size_t i, last_len = 0;
	char *last = NULL;
	json_array_foreach(kvs, i, kv) {
		apply_json_kv(s, kv, 0, s->next_members, &s->next_member_count);
		if (i + 1 == json_array_size(kvs))
			last = get_bytes(kv, "key", &last_len);
	}
	if (json_is_true(json_object_get(reply, "more")) && last) {
		last[last_len] = 0;  /* the next page starts just after the last key */
		request_page(s, last, last_len + 1);
	} else {
		resync_done(s);
	}
	free(last);
}

static void request_page(struct store *s, const char *from, size_t from_len)
{
	char end[STORE_KEY_MAX];
	store_range_end(s->sc->prefix, end);
	json_t *body = json_pack("{s:o, s:o, s:i}", "key", b64(from, from_len), "range_end", b64s(end), "limit", RANGE_PAGE);
	if (body && s->resync_revision)
		json_object_set_new(body, "revision", i64(s->resync_revision));
	etcd_http_call(s->http, "/v3/kv/range", body, s->sc->timeout_ms, on_page, s);
}

static void start_resync(struct store *s)
{
	if (s->syncing)
		return;
	s->syncing = 1;
	s->resync_revision = 0;
	s->resync_retry_ms = 0;
	free_next_members(s);
	s->next_members = calloc(MEMBERS_MAX, sizeof *s->next_members);
	if (!s->next_members) {
		s->syncing = 0;
		s->resync_retry_ms = monotonic_ms() + SESSION_RETRY_MS;
		return;
	}
	s->ev.resync_begin(s->ev.arg);
	request_page(s, s->sc->prefix, strlen(s->sc->prefix));
}

/* ---- the session ---------------------------------------------------------------------- */

static void session_lost(struct store *s, const char *reason)
{
	if (s->session_up || !s->down_reason[0] || strcmp(s->down_reason, reason) != 0)
		log_warn("store: session lost: %s; writes wait up to store-timeout, then get ERR 503; answers come "
			 "from the cache", reason);
	if (s->session_up)
		s->down_since_ms = monotonic_ms();
	s->session_up = 0;
	snprintf(s->down_reason, sizeof s->down_reason, "%s", reason);
}

static void contact_failed(struct store *s, int code, const char *reason)
{
	session_lost(s, reason);
	s->session_starting = 0;
	s->session_retry_ms = monotonic_ms() + SESSION_RETRY_MS;
	if (s->first_contact == 0) {
		if (code == 401 || code == 495 || code == 500) {
			log_error("store: %s: %s", s->sc->url, reason);
			s->first_contact = -1;
		} else {
			s->first_contact = 1;
		}
	}
}

static void on_member_put(void *arg, json_t *reply, int code, const char *reason)
{
	struct store *s = arg;
	(void)reply;
	if (s->closing)
		return;
	if (code != 0) {
		contact_failed(s, code, reason);
		return;
	}
	s->session_starting = 0;
	s->session_up = 1;
	s->was_up = 1;
	s->down_reason[0] = 0;
	s->first_contact = s->first_contact ? s->first_contact : 1;
	s->keepalive_due_ms = monotonic_ms() + s->sc->node_lease_s * 1000 / 3;
	log_info("store: session up on %s as node %s (lease %" PRIx64 ", %us)", etcd_http_current(s->http), s->self,
		 (uint64_t)s->lease_id, s->sc->node_lease_s);
	if (!s->synced)
		start_resync(s);
	else
		s->ev.members(s->ev.arg);
}

static void on_serial_base(void *arg, json_t *reply, int code, const char *reason)
{
	(void)arg; (void)reply; (void)code; (void)reason;  /* the range reads whichever value won */
}

static void put_membership(struct store *s)
{
	char key[STORE_KEY_MAX], value[600], base[16];
	const struct config *cfg = s->cfg;
	snprintf(key, sizeof key, "%sn/%s", s->sc->prefix, s->self);
	snprintf(value, sizeof value, "{\"dns\":\"%s\",\"register\":\"%s\",\"started\":%" PRId64 "}",
		 cfg->dns_count ? cfg->dns[0].text : "", cfg->reg_count ? cfg->reg[0].text : "", wall_ms() / 1000);
	json_t *body = json_pack("{s:o, s:o, s:o}", "key", b64s(key), "value", b64s(value), "lease", i64(s->lease_id));
	etcd_http_call(s->http, "/v3/kv/put", body, s->sc->timeout_ms, on_member_put, s);
	/* serial-base: written once, by whoever comes first */
	snprintf(key, sizeof key, "%smeta/serial-base", s->sc->prefix);
	snprintf(base, sizeof base, "%u", serial_from_time(wall_ms()));
	body = json_pack("{s:[{s:o, s:s}], s:[{s:{s:o, s:o}}]}", "compare", "key", b64s(key), "target", "CREATE",
			 "success", "requestPut", "key", b64s(key), "value", b64s(base));
	etcd_http_call(s->http, "/v3/kv/txn", body, s->sc->timeout_ms, on_serial_base, s);
}

static void on_grant(void *arg, json_t *reply, int code, const char *reason)
{
	struct store *s = arg;
	if (s->closing)
		return;
	if (code != 0 || !(s->lease_id = get_i64(reply, "ID"))) {
		contact_failed(s, code, code ? reason : "lease grant: no ID in the reply");
		return;
	}
	put_membership(s);
}

static void start_session(struct store *s)
{
	s->session_starting = 1;
	s->session_retry_ms = 0;
	json_t *body = json_pack("{s:I}", "TTL", (json_int_t)s->sc->node_lease_s);
	etcd_http_call(s->http, "/v3/lease/grant", body, s->sc->timeout_ms, on_grant, s);
}

static void on_keepalive(void *arg, json_t *reply, int code, const char *reason)
{
	struct store *s = arg;
	if (s->closing)
		return;
	s->keepalive_inflight = 0;
	if (code != 0) {
		session_lost(s, reason);
		s->keepalive_due_ms = monotonic_ms() + TICK_MS * 5;
		return;
	}
	if (get_i64(json_object_get(reply, "result"), "TTL") <= 0) {
		/* etcd let the lease go: the others adopt our instances; we start anew */
		session_lost(s, "node lease expired");
		start_session(s);
		return;
	}
	if (!s->session_up)
		log_info("store: session back on %s", etcd_http_current(s->http));
	s->session_up = 1;
	s->down_reason[0] = 0;
	s->keepalive_due_ms = monotonic_ms() + s->sc->node_lease_s * 1000 / 3;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what;
	struct store *s = arg;
	int64_t now = monotonic_ms();
	if (!s->session_starting && !s->session_up && s->session_retry_ms && now >= s->session_retry_ms)
		start_session(s);
	if (s->lease_id && !s->session_starting && !s->keepalive_inflight && s->keepalive_due_ms &&
	    now >= s->keepalive_due_ms) {
		s->keepalive_inflight = 1;
		int64_t timeout = s->sc->timeout_ms < s->sc->node_lease_s * 1000 / 3 ? s->sc->timeout_ms
										 : s->sc->node_lease_s * 1000 / 3;
		json_t *body = json_pack("{s:o}", "ID", i64(s->lease_id));
		etcd_http_call(s->http, "/v3/lease/keepalive", body, timeout, on_keepalive, s);
	}
	if (!s->syncing && s->resync_retry_ms && now >= s->resync_retry_ms)
		start_resync(s);
	if (s->synced && !s->syncing && !s->watch && s->watch_retry_ms && now >= s->watch_retry_ms)
		start_watch(s);
	finish_waiters(s, 0);
}

/* ---- writes ------------------------------------------------------------------------------ */

/* A delete of a key that was not there: no revision, so no event will come for it. */
static int changed_nothing(json_t *reply)
{
	json_t *first = json_array_get(json_object_get(reply, "responses"), 0);
	json_t *deleted = json_object_get(first, "response_delete_range");
	return deleted && get_i64(deleted, "deleted") == 0;
}

static void on_write(void *arg, json_t *reply, int code, const char *reason)
{
	struct write_op *op = arg;
	struct store *s = op->s;
	store_done_fn done = op->done;
	void *done_arg = op->arg;
	int compared = op->has_compare;
	free(op);
	if (code != 0) {
		s->metrics.txn_failures++;
		char why[240];
		snprintf(why, sizeof why, "store unavailable: %s", reason);
		if (code == 503 && !s->closing) {
			session_lost(s, reason);
			s->keepalive_due_ms = monotonic_ms();  /* find out at once whether etcd is back */
		}
		done(done_arg, 503, why);
		return;
	}
	int64_t rev = get_i64(json_object_get(reply, "header"), "revision");
	if (compared && !json_is_true(json_object_get(reply, "succeeded"))) {
		done(done_arg, 409, "changed meanwhile");
		return;
	}
	if (rev <= s->applied || changed_nothing(reply)) {
		done(done_arg, 0, NULL);
		return;
	}
	struct waiter *wt = calloc(1, sizeof *wt);
	if (!wt) {
		done(done_arg, 0, NULL);
		return;
	}
	wt->revision = rev;
	wt->deadline_ms = monotonic_ms() + s->sc->timeout_ms;
	wt->done = done;
	wt->arg = done_arg;
	TAILQ_INSERT_TAIL(&s->waiters, wt, link);
}

static void txn(struct store *s, const char *key, int64_t expect, json_t *op, store_done_fn done, void *arg)
{
	struct write_op *w = calloc(1, sizeof *w);
	json_t *body = json_pack("{s:[o]}", "success", op);
	if (!w || !body) {
		free(w);
		json_decref(body);
		done(arg, 503, "out of memory");
		return;
	}
	if (expect > 0)
		json_object_set_new(body, "compare", json_pack("[{s:o, s:s, s:o}]", "key", b64s(key), "target", "MOD",
							       "mod_revision", i64(expect)));
	w->s = s;
	w->has_compare = expect > 0;
	w->done = done;
	w->arg = arg;
	s->metrics.txns++;
	etcd_http_call(s->http, "/v3/kv/txn", body, s->sc->timeout_ms, on_write, w);
}

/* A txn that puts a value under key, after expect (> 0) compared with its mod_revision. */
static void put_key(struct store *s, const char *key, char *value, int64_t expect, store_done_fn done, void *arg)
{
	if (!value) {
		done(arg, 503, "out of memory");
		return;
	}
	json_t *op = json_pack("{s:{s:o, s:o}}", "requestPut", "key", b64s(key), "value", b64s(value));
	free(value);
	txn(s, key, expect, op, done, arg);
}

static void delete_key(struct store *s, const char *key, int64_t expect, store_done_fn done, void *arg)
{
	txn(s, key, expect, json_pack("{s:{s:o}}", "requestDeleteRange", "key", b64s(key)), done, arg);
}

void store_put(struct store *s, const struct store_record *rec, int64_t expect_mod_revision,
	       store_done_fn done, void *arg)
{
	char key[STORE_KEY_MAX];
	store_instance_key(s->sc->prefix, rec->spec.service, rec->spec.instance, key);
	put_key(s, key, store_record_encode(rec), expect_mod_revision, done, arg);
}

void store_remove(struct store *s, const char *service, const char *instance, int64_t expect_mod_revision,
		  store_done_fn done, void *arg)
{
	char key[STORE_KEY_MAX];
	store_instance_key(s->sc->prefix, service, instance, key);
	delete_key(s, key, expect_mod_revision, done, arg);
}

void store_put_split(struct store *s, const struct split *sp, store_done_fn done, void *arg)
{
	char key[STORE_KEY_MAX], service[DNAME_MAX_LABEL + 1];
	store_split_key(s->sc->prefix, split_service_name(sp, service), key);
	if (sp->count)
		put_key(s, key, store_split_encode(sp), 0, done, arg);
	else
		delete_key(s, key, 0, done, arg);
}

/* ---- the store ---------------------------------------------------------------------------- */

struct store *store_open(struct event_base *base, const struct config *cfg, const struct store_events *ev,
			 char err[CONFIG_ERROR_MAX])
{
	struct store *s = calloc(1, sizeof *s);
	if (!s) {
		snprintf(err, CONFIG_ERROR_MAX, "out of memory");
		return NULL;
	}
	s->base = base;
	s->cfg = cfg;
	s->sc = &cfg->store;
	s->ev = *ev;
	TAILQ_INIT(&s->waiters);
	snprintf(s->self, sizeof s->self, "%s", cfg->store.node_id);
	snprintf(s->down_reason, sizeof s->down_reason, "not connected yet");
	if (!(s->http = etcd_http_new(base, &cfg->store, err)))
		goto fail;
	s->tick = event_new(base, -1, EV_PERSIST, on_tick, s);
	struct timeval tv = { 0, TICK_MS * 1000 };
	if (!s->tick || event_add(s->tick, &tv) < 0) {
		snprintf(err, CONFIG_ERROR_MAX, "out of memory");
		goto fail;
	}
	start_session(s);
	return s;
fail:
	store_free(s);
	return NULL;
}

int store_wait_first_contact(struct store *s)
{
	while (s->first_contact == 0)
		if (event_base_loop(s->base, EVLOOP_ONCE) < 0)
			return -1;
	if (s->first_contact < 0)
		return -1;
	if (!s->session_up)
		log_warn("store: %s: %s; retrying, and answering SERVFAIL for the service domain until synced",
			 s->sc->url, s->down_reason);
	return 0;
}

void store_free(struct store *s)
{
	if (!s)
		return;
	s->closing = 1;
	etcd_stream_cancel(s->watch);
	etcd_http_free(s->http);
	finish_waiters(s, 1);
	if (s->tick)
		event_free(s->tick);
	free_next_members(s);
	for (size_t i = 0; i < s->member_count; i++)
		free(s->members[i]);
	free(s);
}

/* A session lost for less than store-timeout (an etcd election, a member restarting) still
 * lets writes go: they retry within their own store-timeout, so a client gets a late OK
 * rather than ERR 503 from every node alike.  Lost for longer, this node refuses at once,
 * so its clients move to a node that has etcd. */
const char *store_unavailable(const struct store *s)
{
	if (!s->session_up && (!s->was_up || monotonic_ms() - s->down_since_ms >= s->sc->timeout_ms))
		return s->down_reason;
	if (!s->synced)
		return "not synced with etcd yet";
	return NULL;
}

int store_synced(const struct store *s)
{
	return s->synced;
}

const char *store_self(const struct store *s)
{
	return s->self;
}

uint32_t store_serial(const struct store *s)
{
	return (uint32_t)(s->serial_base + (uint64_t)s->applied);
}

const struct store_metrics *store_get_metrics(const struct store *s)
{
	return &s->metrics;
}

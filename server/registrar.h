/* registrar.h -- what registrations mean: leases, quotas, keys, durability.
 *
 * The protocol front ends (reg_proto.c over UDP/TCP, later HTTP) parse requests and
 * call these operations; the registrar checks them, journals them, applies them to
 * the registry and keeps the lease timer. */
#ifndef SVCDNS_REGISTRAR_H
#define SVCDNS_REGISTRAR_H

#include <event2/buffer.h>
#include <stdint.h>

#include "config.h"
#include "lease.h"
#include "log_limit.h"
#include "metrics.h"
#include "ratelimit.h"
#include "reg_auth.h"
#include "registry.h"
#include "state.h"

/* What happened to an instance, for watchers (the HTTP API's /v1/watch).  REG_HEALTH
 * comes from the health checks (health.h), never from the registrar: its health state
 * changed, which is not a change of the zone. */
enum reg_change { REG_REGISTERED, REG_UPDATED, REG_RENEWED, REG_DEREGISTERED, REG_EXPIRED, REG_HEALTH };

typedef void (*reg_change_fn)(void *arg, enum reg_change change, const struct instance *inst);

/* The kinds of refusal whose log lines are thinned apart: 400, 401, 403, 404, 409, 413,
 * 429, 503 and any other code. */
#define REG_REFUSAL_KINDS 9

/* The outcome of one operation: code 0 is OK, REG_DEFERRED when the reply comes later
 * (etcd mode), else a protocol error code and reason. */
struct reg_result {
	int code;
	char reason[160];
	unsigned granted_ttl;
};
#define REG_DEFERRED (-1)

/* Where a deferred result goes (etcd mode): reg_proto.c points registrar.deferral at one
 * for the request it executes; done is called once, with the final result. */
struct reg_deferral {
	void (*done)(struct reg_deferral *d, const struct reg_result *res);
};

struct store;
struct store_cache;

struct registrar {
	struct registry *reg;
	const struct config *cfg;
	struct lease_heap leases;
	struct state *state;          /* NULL without --state */
	struct replay_cache replay;
	struct rate_limiter rate;
	int64_t now_ms;               /* monotonic, set per batch by registrar_tick() */
	int64_t wall_minus_mono_ms;   /* converts lease ends to wall-clock time for the journal */
	uint64_t expired_total;
	int64_t last_compaction_try_ms;
	struct evbuffer *reply;       /* scratch for one request's reply (reg_proto.c) */
	char *line_copy;              /* scratch for one request's fields, CONFIG_LINE_LENGTH_MAX + 1 bytes */
	struct registration_metrics metrics;
	struct log_limit refusal_log[REG_REFUSAL_KINDS];  /* per ERR code: a flood logs a summary */
	struct log_limit journal_log;                     /* "cannot write the journal" */
	reg_change_fn on_change;      /* told about every change, before a removal frees it */
	void *on_change_arg;
	struct store *store;          /* etcd mode (registrar_store.c); NULL: embedded */
	struct store_cache *cache;    /* etcd mode: how the registry follows etcd */
	struct reg_deferral *deferral;/* the current request's, while reg_proto executes it */
	/* Told of every split set or cleared (by SPLIT, replay or a reload): the service's
	 * wire label, and the split now in force (NULL: none). */
	void (*on_split)(void *arg, const uint8_t *service_label, const struct split *sp);
	void *on_split_arg;
};


/* The limiter of a refusal's log line by its ERR code. */
struct log_limit *registrar_refusal_log(struct registrar *r, int code);

/* Names the one function told about every change. */
void registrar_set_listener(struct registrar *r, reg_change_fn fn, void *arg);
/* Names the one function told about every split set or cleared. */
void registrar_set_split_listener(struct registrar *r,
				  void (*fn)(void *arg, const uint8_t *service_label, const struct split *sp),
				  void *arg);
/* SPLIT: sets the split of sp's service, or clears it when sp has no shares. */
void registrar_split(struct registrar *r, const struct split *sp, int key_index, struct reg_result *res);
/* The name of a change: "registered", "updated", ... */
const char *reg_change_name(enum reg_change change);
/* Sets up the registrar and replays the state file when cfg->state_file is set.
 * Returns 0, or -1 with err filled in. */
int registrar_init(struct registrar *r, struct registry *reg, const struct config *cfg,
		   char err[STATE_ERROR_MAX]);
void registrar_free(struct registrar *r);
/* Reads the clocks once for a batch of requests. */
void registrar_tick(struct registrar *r);
/* REGISTER: creates or replaces spec's instance with a lease of ttl seconds (0: default). */
void registrar_register(struct registrar *r, struct instance_spec *spec, unsigned ttl,
			int key_index, struct reg_result *res);
/* RENEW with ttl seconds (0: default). */
void registrar_renew(struct registrar *r, const char *service, const char *instance,
		     unsigned ttl, int key_index, struct reg_result *res);
/* DEREGISTER. */
void registrar_deregister(struct registrar *r, const char *service, const char *instance,
			  int key_index, struct reg_result *res);
/* Removes at most budget instances whose lease has ended; returns how many. */
size_t registrar_expire(struct registrar *r, size_t budget);
/* Milliseconds until the next lease ends (-1: none). */
int64_t registrar_next_expiry_ms(const struct registrar *r);
/* Makes journaled changes durable (one fsync) and compacts when due; 0 or -1. */
int registrar_commit(struct registrar *r);
/* Periodic upkeep (the expiry timer): retries a compaction the journal asks for, which
 * is how a state file recovers after a failed write (disk full). */
void registrar_maintain(struct registrar *r);
/* A reload: the registrar follows cfg's rate limits (and reads cfg from now on). */
void registrar_configure(struct registrar *r, const struct config *cfg);
/* A reload: static instances follow cfg.  Dropped ones go (REG_DEREGISTERED), new ones
 * come (REG_REGISTERED), changed ones or ones taking over a registered instance of the
 * same name are put (REG_UPDATED); the listener hears each before a removal frees it.
 * Returns 0, or -1 when out of memory. */
int registrar_sync_static(struct registrar *r, const struct config *cfg);
/* etcd mode (registrar_store.c): connects to cfg->store and follows it; 0, or -1 after
 * logging why the start-up must stop. */
int registrar_store_open(struct registrar *r, struct event_base *base);
/* Ends etcd mode: every write in flight completes with ERR 503. */
void registrar_store_close(struct registrar *r);

/* Seconds left of an instance's lease (0 for static instances). */
unsigned registrar_remaining(const struct registrar *r, const struct instance *inst);

#endif

/* health.c -- health checks: schedule probes, apply their results, keep the metrics.
 *
 * One record per checked instance, found by the instance's address in a hash table.
 * Each has a timer: the first probe runs at once, the next ones an interval later with
 * +-10% jitter, so that checks registered together drift apart over the interval.  At
 * most max-concurrent probes are in flight; the others wait in a FIFO.  A probe is a
 * fresh connection every time (health_probe.c). */
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/time.h>
#include <time.h>

#include "clock.h"
#include "health.h"
#include "health_probe.h"
#include "htable.h"
#include "log.h"

struct health_check {
	struct hnode node;             /* in health.checks, keyed by inst_key */
	struct instance *inst_key;     /* the key bytes: the instance's address */
	struct health *h;
	struct instance *inst;
	struct health_check_spec spec; /* as started: a different one restarts the check */
	struct health_counter counter;
	struct event *timer;           /* the next probe */
	struct health_probe *probe;    /* in flight, or NULL */
	TAILQ_ENTRY(health_check) wait; /* in health.waiting while queued */
	bool queued;
	bool probed;                   /* a result came back: the first jitter is done */
};

struct health {
	struct event_base *base;
	struct registry *reg;
	const struct config *cfg;
	struct htable checks;
	TAILQ_HEAD(, health_check) waiting; /* due, waiting for a free probe slot */
	uint32_t in_flight;
	uint64_t rng;                  /* xorshift state for the jitter */
	struct health_metrics metrics;
	health_change_fn on_change;
	void *on_change_arg;
};

static int64_t wall_ms(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static uint32_t next_random(struct health *h)
{
	h->rng ^= h->rng << 13;
	h->rng ^= h->rng >> 7;
	h->rng ^= h->rng << 17;
	return (uint32_t)(h->rng >> 32);
}

static struct health_check *find_check(const struct health *h, const struct instance *inst)
{
	struct hnode *n = htable_find(&h->checks, (const uint8_t *)&inst, sizeof inst);
	return n ? HNODE_RECORD(n, struct health_check, node) : NULL;
}

/* ---- fail-open ------------------------------------------------------------------ */

/* Whether every live instance of the service is withheld by its check (leaving aside one
 * about to go); logged once per change, counted when fail-open answers them all. */
static void update_fail_open(struct health *h, struct service *svc, const struct instance *leaving)
{
	size_t withheld = 0, pending = 0, answered = 0;
	int64_t now = monotonic_ms();
	for (size_t i = 0; i < svc->count; i++) {
		const struct instance *inst = svc->instances[i];
		if (inst == leaving || !instance_live(inst, now))
			continue;
		if (instance_withheld(inst, h->cfg->health_only_passing)) {
			/* One whose first probe has not returned is withheld too, but until one
			 * has failed there is no failure to report. */
			withheld += inst->check && inst->check->status.at_wall_ms;
			pending += !(inst->check && inst->check->status.at_wall_ms);
		} else
			answered++;
	}
	bool all = withheld && !answered;
	withheld += pending;
	if (all == svc->failing_open)
		return;
	svc->failing_open = all;
	int len = svc->wire_label[0];
	const char *name = (const char *)svc->wire_label + 1;
	if (all && h->cfg->health_fail_open) {
		h->metrics.fail_open_activations++;
		log_warn("health: %.*s: all %zu instance(s) fail their checks: answering all of them (fail-open)",
			 len, name, withheld);
	} else if (all) {
		log_warn("health: %.*s: all %zu instance(s) fail their checks: answering none (fail-open: false)",
			 len, name, withheld);
	} else {
		log_info("health: %.*s: an instance passes again: answering only the passing ones", len, name);
	}
}

/* ---- probing --------------------------------------------------------------------- */

static void start_probe(struct health_check *c);

/* Starts waiting probes while slots are free. */
static void pump(struct health *h)
{
	struct health_check *c;
	while (h->in_flight < h->cfg->health_max_concurrent && (c = TAILQ_FIRST(&h->waiting))) {
		TAILQ_REMOVE(&h->waiting, c, wait);
		c->queued = false;
		start_probe(c);
	}
}

static void schedule(struct health_check *c, uint32_t after_ms)
{
	struct timeval tv = { (time_t)(after_ms / 1000), (suseconds_t)(after_ms % 1000) * 1000 };
	evtimer_add(c->timer, &tv);
}

static void set_state(struct health_check *c, enum health_state to, const char *result)
{
	struct health *h = c->h;
	struct instance *inst = c->inst;
	char name[2 * (DNAME_MAX_LABEL + 1)];
	enum health_state from = inst->health;
	h->metrics.instances[from]--;
	h->metrics.instances[to]++;
	inst->health = (uint8_t)to;
	log_info("health: %s %s -> %s (%s)", instance_text_name(inst, name), health_state_name(from),
		 health_state_name(to), result);
	update_fail_open(h, inst->service, NULL);
	if (h->on_change)
		h->on_change(h->on_change_arg, inst);
}

static void observe_latency(struct health_metrics *m, uint32_t latency_us)
{
	double s = latency_us / 1e6;
	int b = 0;
	while (b < METRIC_PROBE_BUCKETS && s > metrics_probe_bounds_s[b])
		b++;
	m->probe_buckets[b]++;
	m->probe_count++;
	m->probe_sum_seconds += s;
}

static void apply_result(struct health_check *c, const struct probe_outcome *o)
{
	struct health *h = c->h;
	struct instance_check *ic = c->inst->check;
	h->metrics.probes[c->spec.kind][o->state]++;
	observe_latency(&h->metrics, o->latency_us);
	ic->status.result = o->result;
	ic->status.http_code = o->http_code;
	ic->status.at_wall_ms = wall_ms();
	if (health_counter_step(&c->counter, (enum health_state)o->state, c->spec.fall, c->spec.rise)) {
		char text[32];
		health_result_text(&ic->status, text, sizeof text);
		set_state(c, (enum health_state)c->counter.state, text);
	}
	/* The next probe an interval after this one started, give or take 10%.  After the
	 * first one, anywhere from half an interval to one and a half: checks registered
	 * together (a deploy, a restart) spread over the whole interval at once instead
	 * of probing in waves. */
	uint32_t interval = c->spec.interval_ms, spread = interval / 5 + 1;
	uint32_t after = interval - interval / 10 + next_random(h) % spread;
	if (!c->probed) {
		c->probed = true;
		after = interval / 2 + next_random(h) % interval;
	}
	uint32_t took = o->latency_us / 1000;
	schedule(c, after > took ? after - took : 0);
}

static void on_probe_done(void *arg, const struct probe_outcome *o)
{
	struct health_check *c = arg;
	c->probe = NULL;
	c->h->in_flight--;
	apply_result(c, o);
	pump(c->h);
}

static void start_probe(struct health_check *c)
{
	struct health *h = c->h;
	const struct instance *inst = c->inst;
	struct probe_target t = { c->spec.kind, inst->family, { 0 }, c->spec.port ? c->spec.port : inst->port,
				  c->spec.timeout_ms, c->spec.path };
	memcpy(t.addr, inst->addr, sizeof t.addr);  /* HOST, when given, is this address */
	struct probe_outcome failed;
	c->probe = health_probe_start(h->base, &t, on_probe_done, c, &failed);
	if (c->probe)
		h->in_flight++;
	else
		apply_result(c, &failed);  /* no socket, or refused at once */
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what;
	struct health_check *c = arg;
	struct health *h = c->h;
	if (c->probe || c->queued)
		return;  /* the last one still runs or waits: never two at once */
	if (h->in_flight < h->cfg->health_max_concurrent) {
		start_probe(c);
		return;
	}
	TAILQ_INSERT_TAIL(&h->waiting, c, wait);
	c->queued = true;
}

/* ---- the checks' life -------------------------------------------------------------- */

static void drop_check(struct health_check *c)
{
	struct health *h = c->h;
	if (c->probe) {
		health_probe_cancel(c->probe);
		h->in_flight--;
	}
	if (c->queued)
		TAILQ_REMOVE(&h->waiting, c, wait);
	if (c->timer)
		event_free(c->timer);
	h->metrics.instances[c->counter.state]--;
	htable_remove(&h->checks, &c->node);
	free(c);
}

/* Starts probing inst; its registry record says critical until the first result. */
static void add_check(struct health *h, struct instance *inst)
{
	struct health_check *c = calloc(1, sizeof *c);
	if (!c || !(c->timer = evtimer_new(h->base, on_timer, c)) ||
	    event_priority_set(c->timer, event_base_get_npriorities(h->base) - 1) < 0) {
		if (c && c->timer)
			event_free(c->timer);
		free(c);
		log_error("health: out of memory: %s stays critical, unprobed", "an instance");
		return;
	}
	c->h = h;
	c->inst = c->inst_key = inst;
	c->spec = inst->check->spec;
	health_counter_init(&c->counter);
	inst->health = HEALTH_CRITICAL;
	if (htable_insert(&h->checks, &c->node, (const uint8_t *)&c->inst_key, sizeof c->inst_key) < 0) {
		event_free(c->timer);
		free(c);
		log_error("health: out of memory: %s stays critical, unprobed", "an instance");
		return;
	}
	h->metrics.instances[HEALTH_CRITICAL]++;
	schedule(c, 0);  /* at once, but not from inside the registrar's call */
}

static void sync_instance(struct health *h, struct instance *inst)
{
	struct health_check *c = find_check(h, inst);
	if (c && inst->check && memcmp(&c->spec, &inst->check->spec, sizeof c->spec) == 0)
		return;  /* the same check: its state goes on */
	if (c)
		drop_check(c);
	if (inst->check)
		add_check(h, inst);
	update_fail_open(h, inst->service, NULL);
	pump(h);
}

void health_on_registry_change(struct health *h, enum reg_change change, const struct instance *cinst)
{
	struct instance *inst = (struct instance *)cinst;  /* ours to mark; the registry owns it */
	struct health_check *c;
	switch (change) {
	case REG_REGISTERED:
	case REG_UPDATED:
		sync_instance(h, inst);
		break;
	case REG_DEREGISTERED:
	case REG_EXPIRED:
		if ((c = find_check(h, inst)) != NULL) {
			drop_check(c);
			update_fail_open(h, inst->service, inst);
			pump(h);
		}
		break;
	case REG_RENEWED:
	case REG_HEALTH:
		break;
	}
}

static void start_existing(void *arg, struct instance *inst)
{
	if (inst->check)
		add_check(arg, inst);
}

struct health *health_new(struct event_base *base, struct registry *reg, const struct config *cfg)
{
	struct health *h = calloc(1, sizeof *h);
	if (!h)
		return NULL;
	h->base = base;
	h->reg = reg;
	h->cfg = cfg;
	htable_init(&h->checks);
	TAILQ_INIT(&h->waiting);
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	h->rng = (uint64_t)ts.tv_nsec * 2654435761u + (uint64_t)ts.tv_sec + 1;
	registry_foreach(reg, start_existing, h);
	return h;
}

static void free_check(struct hnode *node, void *arg)
{
	(void)arg;
	struct health_check *c = HNODE_RECORD(node, struct health_check, node);
	if (c->probe)
		health_probe_cancel(c->probe);
	event_free(c->timer);
	free(c);
}

void health_free(struct health *h)
{
	if (!h)
		return;
	htable_foreach(&h->checks, free_check, NULL);
	htable_free(&h->checks);
	free(h);
}

static void refresh_fail_open(struct hnode *node, void *arg)
{
	update_fail_open(arg, HNODE_RECORD(node, struct service, node), NULL);
}

void health_configure(struct health *h, const struct config *cfg)
{
	h->cfg = cfg;
	/* only-passing may have changed which instances are withheld */
	htable_foreach(&h->reg->services, refresh_fail_open, h);
	pump(h);
}

void health_set_listener(struct health *h, health_change_fn fn, void *arg)
{
	h->on_change = fn;
	h->on_change_arg = arg;
}

const struct health_metrics *health_metrics(const struct health *h)
{
	return &h->metrics;
}

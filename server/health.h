/* health.h -- health checks: probe checked instances and set their health state.
 *
 * The registry keeps each checked instance's check and a health byte (registry.h);
 * this subsystem probes on the event loop and writes that byte and the last result.
 * Answers only read the byte: nothing here is called from the answer path, and a
 * health change is not a change of the zone (secondaries get no health).  Every event
 * of the health checks takes the base's lowest priority, so that a base with several
 * (server.c) serves everything else first. */
#ifndef SVCDNS_HEALTH_H
#define SVCDNS_HEALTH_H

#include <event2/event.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "metrics.h"
#include "registrar.h"
#include "registry.h"

struct health;

/* Told after an instance's health state changed (for /v1/watch). */
typedef void (*health_change_fn)(void *arg, const struct instance *inst);

/* A new subsystem probing on base; checks every instance of reg that has one (static
 * ones, ones restored from the state file).  NULL when out of memory. */
struct health *health_new(struct event_base *base, struct registry *reg, const struct config *cfg);
/* Stops every probe and frees everything (NULL is fine). */
void health_free(struct health *h);
/* A reload: max-concurrent, only-passing and fail-open follow cfg. */
void health_configure(struct health *h, const struct config *cfg);
void health_set_listener(struct health *h, health_change_fn fn, void *arg);
/* The registrar's change, passed on by the server: starts, restarts or stops a check
 * (a removed instance stops being probed at once). */
void health_on_registry_change(struct health *h, enum reg_change change, const struct instance *inst);
const struct health_metrics *health_metrics(const struct health *h);

/* The state machine, apart for the unit tests: a result moves the state once it came
 * `fall` times in a row (towards a worse state) or `rise` times (towards a better one). */
struct health_counter {
	uint8_t state;        /* enum health_state; HEALTH_CRITICAL before any result */
	uint8_t candidate;    /* the state the last results point to */
	uint8_t streak;       /* how many in a row */
};
void health_counter_init(struct health_counter *c);
/* Returns whether the state changed. */
bool health_counter_step(struct health_counter *c, enum health_state result, uint8_t fall, uint8_t rise);

#endif

/* health_probe.h -- one probe: a fresh non-blocking connection, a request, a verdict.
 *
 * Runs on the event loop; the callback is told once, after the probe has let go of its
 * socket and its memory.  Nothing is reused from an earlier probe. */
#ifndef SVCDNS_HEALTH_PROBE_H
#define SVCDNS_HEALTH_PROBE_H

#include <event2/event.h>
#include <stdint.h>

#include "health_spec.h"

struct probe_target {
	uint8_t kind;                 /* enum health_kind */
	int family;                   /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	uint16_t port;
	uint32_t timeout_ms;
	const char *path;             /* HTTP path or gRPC service; copied */
};

struct probe_outcome {
	uint8_t result;               /* enum health_result */
	uint16_t http_code;
	uint8_t state;                /* enum health_state the result stands for */
	uint32_t latency_us;
};

typedef void (*probe_done_fn)(void *arg, const struct probe_outcome *outcome);

struct health_probe;

/* Starts a probe; NULL when it could not even start (no socket: *failed holds why). */
struct health_probe *health_probe_start(struct event_base *base, const struct probe_target *target,
					probe_done_fn done, void *arg, struct probe_outcome *failed);
/* Stops a probe in flight without telling its callback. */
void health_probe_cancel(struct health_probe *p);
/* The state a result stands for: HTTP 2xx, SERVING or an open connection pass, 429 warns. */
enum health_state health_result_state(uint8_t result, uint16_t http_code);

#endif

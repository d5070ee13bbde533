/* notify.h -- NOTIFY (RFC 1996) to the secondaries of transfer.notify: each new version
 * of the service domain is announced to every one, retried until acknowledged. */
#ifndef SVCDNS_NOTIFY_H
#define SVCDNS_NOTIFY_H

#include <event2/event.h>

#include "config.h"
#include "metrics.h"

#define NOTIFY_RETRIES 5          /* after the first message */
#define NOTIFY_RETRY_MS 2000

struct notifier;

/* Sets up a NOTIFY sender for cfg's targets; NULL when out of memory. */
struct notifier *notifier_new(struct event_base *base, const struct config *cfg,
			      struct dns_metrics *metrics);
void notifier_free(struct notifier *n);
/* A reload: the targets follow the (replaced in place) config; 0 or -1. */
int notifier_reload(struct notifier *n);
/* A new version (a zone_version_fn): tells every target of serial, which replaces any
 * serial still waiting for its acknowledgement. */
void notifier_on_version(void *arg, uint32_t serial);

#endif

/* listen_reg.h -- the registration front: UDP and TCP listeners, their connections and
 * the group commit that holds replies until their changes are durable.
 *
 * It needs only the loop, the registrar and the configuration; server.c opens it and
 * gives it one listen address at a time. */
#ifndef SVCDNS_LISTEN_REG_H
#define SVCDNS_LISTEN_REG_H

#include <event2/event.h>

#include "config.h"
#include "registrar.h"

struct reg_front;

/* A front with no listeners yet.  cfg is read per request (max-line-length), so a
 * reload that replaces its contents in place is seen.  NULL when out of memory. */
struct reg_front *reg_front_new(struct event_base *base, struct registrar *registrar,
				const struct config *cfg);
#define REG_FRONT_NO_UDP (-2)
/* Opens UDP and TCP registration listeners on addr.  Returns 0, REG_FRONT_NO_UDP when
 * the UDP socket could not be opened (errno says why), or -1; the error is logged. */
int reg_front_listen(struct reg_front *f, const struct listen_addr *addr);
/* Flushes a commit the last loop turn asked for, closes every connection (dropping
 * held replies) and every listener.  Call before the event base is freed. */
void reg_front_free(struct reg_front *f);

#endif

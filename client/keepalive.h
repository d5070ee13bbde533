/* keepalive.h -- holds one registration for as long as the caller runs: renews at a third
 * of the lease, registers again when the server has forgotten the instance, backs off
 * while the server cannot be reached, and deregisters when told to stop. */
#ifndef SVCDNS_CLIENT_KEEPALIVE_H
#define SVCDNS_CLIENT_KEEPALIVE_H

#include "svcdns/client.h"

/* Receives one line (without LF) per change of state: registered, unreachable, back, ... */
typedef void (*keepalive_log_fn)(void *arg, const char *message);

/* Registers inst and keeps it registered until stop_fd becomes readable (a self-pipe
 * written by a signal handler), then deregisters it. Returns 0 after a clean stop, -1
 * when the final DEREGISTER failed, or the ERR code that refused the very first
 * REGISTER for a reason a retry cannot fix (400, 401, 403, 409, 413). */
int keepalive_run(struct svcdns_client *c, const struct svcdns_instance *inst, int stop_fd,
		  keepalive_log_fn log, void *log_arg);

#endif

/* docker_registrar.h -- `svcdnsctl docker`: registers the running containers of one
 * Docker engine from its events, renews their leases while they run, deregisters them
 * when they stop, and reconciles with both sides at start and after every reconnect. */
#ifndef SVCDNS_CLIENT_DOCKER_REGISTRAR_H
#define SVCDNS_CLIENT_DOCKER_REGISTRAR_H

#include "svcdns/client.h"
#include "docker_labels.h"

/* Receives one line (without LF) per change: registered, deregistered, reconnected... */
typedef void (*docker_log_fn)(void *arg, const char *message);

struct docker_registrar_options {
	const char *socket_path;          /* the engine's unix socket */
	struct docker_label_options labels; /* daemon_id is filled in from /info */
	int deregister_on_exit;           /* SIGTERM: deregister everything instead of leaving the leases */
	docker_log_fn log;
	void *log_arg;
};

/* Runs until stop_fd becomes readable (a self-pipe written by a signal handler). c sends
 * REGISTER, RENEW and DEREGISTER; list_client (TCP, so any size fits) sends LIST.
 * Returns 0 after a clean stop, -1 when the loop could not be set up. */
int docker_registrar_run(struct svcdns_client *c, struct svcdns_client *list_client,
			 const struct docker_registrar_options *options, int stop_fd);

#endif

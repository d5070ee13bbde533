/* server.h -- the daemon's context: configuration, data, responder, listeners, loop. */
#ifndef SVCDNS_SERVER_H
#define SVCDNS_SERVER_H

#include <event2/event.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "dns_front.h"
#include "dns_guard.h"
#include "dns_query.h"
#include "listen_dns.h"
#include "registrar.h"
#include "registry.h"
#include "zone_versions.h"
#include "zones.h"

struct reg_front;
struct forwarder;
struct http_api;
struct xfr_out;
struct notifier;
struct health;

/* Builds a fresh configuration the way start-up did (file and flags); for reloads. */
typedef int (*config_loader)(struct config *cfg, void *arg, char err[CONFIG_ERROR_MAX]);

struct server {
	struct event_base *base;
	struct config *cfg;               /* owned by main; a reload replaces its contents */
	config_loader load_config;
	void *load_arg;
	struct registry registry;
	struct zone_set zones;
	struct zone_versions versions;    /* the service domain's serials and IXFR journal */
	struct responder responder;
	struct dns_guard guard;           /* allow-query, RRL, TCP connections per client */
	struct dns_front front;           /* every DNS message, UDP or TCP, goes through it */
	struct dns_listen_ctx dns;        /* what the DNS listeners are given */
	struct udp_listener *udp[CONFIG_MAX_LISTEN];
	int udp_count;
	struct tcp_listener *tcp[CONFIG_MAX_LISTEN];
	int tcp_count;
	struct event *signals[3];

	struct registrar registrar;
	struct reg_front *reg_front;      /* registration listeners and the group commit (listen_reg.c) */
	struct event *expiry_event;       /* the lease sweep */
	struct forwarder *forwarder;      /* queries for names outside our zones, sent upstream */
	struct http_api *http;            /* the HTTP API; NULL with --http off */
	struct xfr_out *xfr;              /* AXFR and IXFR to secondaries */
	struct notifier *notifier;        /* NOTIFY to them on every new version */
	struct health *health;            /* health checks of the instances that have one */
};

#define SERVER_BAD_CONFIG (-2)
/* Loads zones and static instances and opens every listener.  Returns 0, -1 when the
 * server cannot start, or SERVER_BAD_CONFIG when a zone file or a static name is wrong;
 * on failure the error has been logged and server_free() cleans up. */
int server_init(struct server *srv, struct config *cfg, config_loader load, void *load_arg);
/* Re-reads the configuration and zones (SIGHUP); on any error the old ones keep serving. */
int server_reload(struct server *srv);
/* Runs the event loop until SIGTERM or SIGINT. */
int server_run(struct server *srv);
void server_free(struct server *srv);
/* Start-up steps that a reload repeats (server.c). */
int check_static_names(const struct config *cfg);
int load_zones(struct zone_set *zones, const struct config *cfg);
int resolve_forwarders(struct config *cfg);
/* What the service domain's zone is made of, for transfers. */
struct zone_source server_zone_source(struct server *srv);
/* The IXFR history limits: none kept when nobody may transfer. */
void server_journal_limits(const struct config *cfg, size_t *versions, size_t *bytes);
/* Checks a configuration the way server_init would, without opening sockets, and
 * prints "FILE: configuration OK" and what it would serve on out. */
int server_check_config(struct config *cfg, FILE *out);


#endif

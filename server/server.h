/* server.h -- the daemon's context: configuration, data, responder, listeners, loop. */
#ifndef SVCDNS_SERVER_H
#define SVCDNS_SERVER_H

#include <event2/event.h>
#include <stdint.h>

#include "config.h"
#include "dns_guard.h"
#include "dns_query.h"
#include "registrar.h"
#include "registry.h"
#include "zones.h"

struct udp_listener;
struct tcp_listener;
struct tcp_conn;
struct reg_front;
struct forwarder;
struct http_api;

/* Builds a fresh configuration the way start-up did (file and flags); for reloads. */
typedef int (*config_loader)(struct config *cfg, void *arg, char err[CONFIG_ERROR_MAX]);

struct server {
	struct event_base *base;
	struct config *cfg;               /* owned by main; a reload replaces its contents */
	config_loader load_config;
	void *load_arg;
	struct registry registry;
	struct zone_set zones;
	struct responder responder;
	struct dns_guard guard;           /* allow-query, RRL, TCP connections per client */
	struct udp_listener *udp[CONFIG_MAX_LISTEN];
	int udp_count;
	struct tcp_listener *tcp[CONFIG_MAX_LISTEN];
	int tcp_count;
	unsigned tcp_connections;         /* open DNS-over-TCP connections */
	struct tcp_conn *tcp_conns;       /* all of them, newest first */
	uint8_t *tcp_answer;              /* 2 + 65535 bytes: one TCP answer being built */
	struct event *signals[3];

	struct registrar registrar;
	struct reg_front *reg_front;      /* registration listeners and the group commit (listen_reg.c) */
	struct event *expiry_event;       /* the lease sweep */
	struct forwarder *forwarder;      /* queries for names outside our zones, sent upstream */
	struct http_api *http;            /* the HTTP API; NULL with --http off */
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
/* Checks a configuration the way server_init would, without opening sockets. */
int server_check_config(struct config *cfg);

/* listen_udp.c */
struct udp_listener *udp_listener_open(struct server *srv, const struct listen_addr *addr);
void udp_listener_free(struct udp_listener *l);
/* listen_tcp.c */
struct tcp_listener *tcp_listener_open(struct server *srv, const struct listen_addr *addr);
void tcp_listener_free(struct tcp_listener *l);
/* Closes every open DNS-over-TCP connection. */
void tcp_close_all(struct server *srv);

#endif

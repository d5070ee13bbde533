/* listen_dns.h -- the DNS listeners (UDP and TCP) and the few things they are given.
 *
 * A listener moves bytes: it reads a message, hands it to the front, and sends,
 * drops or forwards as the front says.  It sees the front, the forwarder and the
 * config, never the daemon's context (server.h). */
#ifndef SVCDNS_LISTEN_DNS_H
#define SVCDNS_LISTEN_DNS_H

#include <event2/event.h>

#include "config.h"
#include "dns_front.h"
#include "forward.h"

struct udp_listener;
struct tcp_listener;
struct tcp_conns;
struct xfr_out;

/* What every DNS listener works with; owned by the server, which outlives them all. */
struct dns_listen_ctx {
	struct event_base *base;
	const struct config *cfg;       /* replaced in place on reload: the pointer stays valid */
	struct dns_front *front;
	struct forwarder *forwarder;
	struct dns_guard *guard;        /* TCP connections per client */
	struct tcp_conns *tcp;          /* every DNS-over-TCP connection, across listeners */
	struct xfr_out *xfr;            /* zone transfers, handed a TCP connection each */
};

/* Opens a UDP listener on addr; NULL when it cannot (logged). */
struct udp_listener *udp_listener_open(struct dns_listen_ctx *ctx, const struct listen_addr *addr);
/* Closes a UDP listener (NULL is fine). */
void udp_listener_free(struct udp_listener *l);

/* The set of open DNS-over-TCP connections that tcp-max-connections counts; NULL when
 * out of memory. */
struct tcp_conns *tcp_conns_new(void);
/* Closes every connection in the set and frees it (NULL is fine). */
void tcp_conns_free(struct tcp_conns *set);
/* Opens a TCP listener on addr; NULL when it cannot (logged). */
struct tcp_listener *tcp_listener_open(struct dns_listen_ctx *ctx, const struct listen_addr *addr);
/* Stops accepting on a TCP listener (NULL is fine); its connections stay in the set. */
void tcp_listener_free(struct tcp_listener *l);

#endif

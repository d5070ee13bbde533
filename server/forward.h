/* forward.h -- sending queries for names outside our zones to upstream resolvers.
 *
 * The listeners hand over a query that the front (dns_front.c) said to forward; the
 * forwarder asks the configured upstreams in order, each with a fresh socket, a
 * fresh random ID and its own deadline, and later calls the client's reply
 * function exactly once: with upstream's answer (RA set, the client's ID), or with
 * SERVFAIL when no upstream answered.  A cancelled query gets no call at all. */
#ifndef SVCDNS_FORWARD_H
#define SVCDNS_FORWARD_H

#include <event2/event.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config.h"
#include "dns_query.h"
#include "metrics.h"

struct forwarder;
struct forward_client;

/* Sends one finished answer to the client; len fits the client's transport. */
typedef void (*forward_reply_fn)(const struct forward_client *client, const uint8_t *answer,
				 size_t len);

/* Who asked, and how the answer gets back to them; the listener fills it in and the
 * forwarder keeps a copy until the answer is sent. */
struct forward_client {
	forward_reply_fn reply;
	void *owner;                      /* the UDP listener or TCP connection that answers */
	enum dns_transport transport;     /* UDP answers are held to the client's size */
	struct sockaddr_storage peer;     /* UDP: the client's address */
	socklen_t peer_len;
	union {                           /* UDP: the IP_PKTINFO / IPV6_PKTINFO control message
					     that makes the answer leave from the address the
					     query was sent to */
		struct cmsghdr align;
		char space[CMSG_SPACE(sizeof(struct in6_pktinfo))];
	} source;
	size_t source_len;                /* 0: no control message */
};

/* A forwarder over cfg's upstreams and timeout, counting into metrics; NULL when out
 * of memory (logged). */
struct forwarder *forwarder_new(struct event_base *base, const struct config *cfg,
				struct dns_metrics *metrics);
/* Drops every pending query without answering it (shutdown) and frees the forwarder. */
void forwarder_free(struct forwarder *fwd);
/* Takes over a query the front parsed (q points into the client's bytes, copied here).
 * Returns 0 when the forwarder will answer the client later, -1 when it cannot take
 * the query now (too many pending, out of memory): send the local answer instead. */
int forwarder_start(struct forwarder *fwd, const struct forward_client *client,
		    const struct dns_query *q);
/* Forgets the pending queries of one owner (a TCP connection that closed). */
void forwarder_cancel_owner(struct forwarder *fwd, const void *owner);

#endif

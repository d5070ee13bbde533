/* dns_guard.h -- who may ask, and how much: allow-query, response rate limiting
 * (RRL) for UDP answers per client network, and DNS-over-TCP connections per client. */
#ifndef SVCDNS_DNS_GUARD_H
#define SVCDNS_DNS_GUARD_H

#include <stdint.h>
#include <sys/socket.h>

#include "config.h"
#include "htable.h"
#include "ratelimit.h"

struct dns_guard {
	struct rate_limiter rrl;      /* keyed by client network, not address */
	unsigned slip_counter;        /* every rrl_slip-th limited answer leaves as TC */
	struct htable tcp_clients;    /* client address -> open TCP connections */
};

enum rrl_verdict { RRL_SEND, RRL_SLIP, RRL_DROP };

void dns_guard_init(struct dns_guard *g, const struct config *cfg);
void dns_guard_free(struct dns_guard *g);
/* Applies a reloaded config's rates. */
void dns_guard_configure(struct dns_guard *g, const struct config *cfg);
/* True when allow-query lets this client ask (an empty list allows everyone). */
int dns_guard_may_query(const struct config *cfg, const struct sockaddr *client);
/* Whether transfer.allow lets this client transfer a zone, its request verified with
 * key (NULL: unsigned or not verified). */
int dns_guard_may_transfer(const struct config *cfg, const struct sockaddr *client,
			   const struct tsig_key *key);
/* Whether a UDP answer to this client goes out, goes out truncated (slip), or is dropped. */
enum rrl_verdict dns_guard_udp_answer(struct dns_guard *g, const struct config *cfg,
				      const struct sockaddr *client, int64_t now_ms);
/* Counts a new TCP connection; returns -1 when the client is at its limit. */
int dns_guard_tcp_open(struct dns_guard *g, const struct config *cfg, const struct sockaddr *client);
/* Counts a closed TCP connection. */
void dns_guard_tcp_close(struct dns_guard *g, const struct sockaddr *client);

#endif

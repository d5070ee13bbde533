/* dns_front.h -- the one front for DNS over UDP and TCP: policy, answer, verdict.
 *
 * The listeners only move bytes.  For every message they call dns_front_query(),
 * which runs one documented order, the same on both transports:
 *   1. parse         malformed: FORMERR/NOTIMP, or drop (no header, or QR=1)
 *   2. allow-query   a client outside it gets REFUSED and is never forwarded
 *   3. answer        from the registry and the zones
 *   4. RRL (UDP)     over the rate: drop, or every rrl-slip-th one a TC answer
 *                    with no records, which is never forwarded
 *   5. forward       a name outside our zones, RD set, forwarders configured
 * A TSIG-signed message is verified right after parsing, and its answer signed; an
 * AXFR or IXFR over TCP that transfer.allow lets through is a transfer (xfr_out.c).
 * The verdict says what to do: send these bytes, drop, forward this parsed question,
 * or transfer the zone it asks for. */
#ifndef SVCDNS_DNS_FRONT_H
#define SVCDNS_DNS_FRONT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dns_guard.h"
#include "dns_query.h"
#include "tsig.h"

enum front_verdict { FRONT_SEND, FRONT_DROP, FRONT_FORWARD, FRONT_TRANSFER };

struct dns_front {
	struct responder *responder;  /* the data answers come from, and the DNS metrics */
	struct dns_guard *guard;      /* allow-query and RRL */
};

/* The outcome of one message. */
struct front_result {
	enum front_verdict verdict;
	size_t len;                   /* FRONT_SEND: the answer's length in out */
	struct dns_query query;       /* FRONT_FORWARD, FRONT_TRANSFER: the parsed query */
	struct tsig_session tsig;     /* a verified TSIG's key and MAC, to sign what answers it */
};

/* Sets up a front over a responder and a guard, both owned by the caller. */
void dns_front_init(struct dns_front *f, struct responder *r, struct dns_guard *g);
/* Runs one message from peer through the stages above; an answer to send is written to
 * out (out_cap >= 65535 for TCP, >= max-udp-payload for UDP).  Returns res->verdict. */
enum front_verdict dns_front_query(struct dns_front *f, const struct sockaddr *peer,
				   enum dns_transport transport, const uint8_t *packet,
				   size_t len, uint8_t *out, size_t out_cap,
				   struct front_result *res);
/* The forwarder could not take res's query (too many pending): writes the local answer,
 * REFUSED, into out and returns its length. */
size_t dns_front_unforwarded(struct dns_front *f, struct front_result *res, uint8_t *out,
			     size_t out_cap);

#endif

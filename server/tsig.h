/* tsig.h -- TSIG (RFC 8945): verifying signed requests and signing what answers them.
 *
 * HMAC with OpenSSL over exactly the digest components of RFC 8945 4.3: ldns 1.8.3
 * cannot verify hmac-sha224 or hmac-sha384 (it misspells their names), and a transfer
 * signs hundreds of messages that we build as wire already. */
#ifndef SVCDNS_TSIG_H
#define SVCDNS_TSIG_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "dns_wire.h"

#define TSIG_MAC_MAX 64      /* hmac-sha512 */
#define TSIG_FUDGE 300

/* One signed exchange: the key, and the MAC the next message's digest starts with
 * (the request's, then each signed message's, RFC 8945 5.3.1). */
struct tsig_session {
	const struct tsig_key *key;
	uint8_t mac[TSIG_MAC_MAX];
	size_t mac_len;
	unsigned signed_count;       /* messages signed so far */
};

/* Checks the TSIG of a request (t, parsed from msg) against the configured keys at
 * Unix time now.  Returns 0 and fills s for signing the answer, or the TSIG error:
 * TSIG_BADKEY (unknown key or algorithm), TSIG_BADSIG (wrong MAC), TSIG_BADTIME (the
 * MAC is right but the time is outside the fudge; s is filled, the answer is signed). */
int tsig_verify(const struct config *cfg, const uint8_t *msg, size_t len, const struct dns_tsig *t,
		int64_t now, struct tsig_session *s);
/* Appends a TSIG record to the message msg[0..*len) (its ID is the original ID),
 * signing it as the next message of the session: the first with the request's MAC
 * (or none, for a request of our own), the later ones of a multi-message answer with
 * the previous MAC and the timers only.  error BADTIME adds our time as other data.
 * Returns 0, or -1 when it does not fit in cap or the HMAC fails. */
int tsig_sign(struct tsig_session *s, uint8_t *msg, size_t *len, size_t cap, uint16_t error,
	      int64_t now);
/* The bytes tsig_sign appends for this key at most. */
size_t tsig_signed_size(const struct tsig_key *key);
/* A session for signing a request of our own (NOTIFY) with key. */
void tsig_session_start(struct tsig_session *s, const struct tsig_key *key);
/* The key's algorithm as a lowercase wire name. */
const uint8_t *tsig_algorithm_wire(enum tsig_algorithm a);

#endif

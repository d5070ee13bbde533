/* query_log.h -- log-queries: one line per DNS query, around the front.
 *
 * The listeners call query_log_front() instead of dns_front_query() when the config's
 * log_queries is set: the flag is one branch per query, and nothing here runs when it is
 * off. The line says when (the log's time), who asked, the name and type, what came of
 * it (the rcode, or DROP / FORWARD / TRANSFER), the answer count and the microseconds the front
 * took:
 *   TIME query client=127.0.0.1:40312 udp name=db.svc.internal. type=A rcode=NOERROR answers=2 us=9 */
#ifndef SVCDNS_QUERY_LOG_H
#define SVCDNS_QUERY_LOG_H

#include "dns_front.h"

/* dns_front_query(), timed and logged. */
enum front_verdict query_log_front(struct dns_front *f, const struct sockaddr *peer,
				   enum dns_transport transport, const uint8_t *packet,
				   size_t len, uint8_t *out, size_t out_cap,
				   struct front_result *res);

#endif

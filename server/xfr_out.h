/* xfr_out.h -- zone transfers to secondaries: AXFR (RFC 5936) and IXFR (RFC 1995) over
 * TCP, for the service domain and the static zones, TSIG-signed message by message.
 *
 * A full transfer runs in a forked child: it sends a copy-on-write snapshot of one
 * version at the reader's pace, however slow, while the loop goes on answering and
 * registering.  An incremental one is built from the journal in the loop, small by
 * nature; a difference too large for that is sent as a full transfer instead. */
#ifndef SVCDNS_XFR_OUT_H
#define SVCDNS_XFR_OUT_H

#include <event2/buffer.h>
#include <event2/event.h>
#include <sys/socket.h>

#include "dns_query.h"
#include "tsig.h"
#include "zone_versions.h"

#define XFR_CHILDREN_MAX 8          /* full transfers at once; more are closed */
#define XFR_MESSAGE_MAX 16384       /* bytes of records per message */
#define XFR_IXFR_INLINE_MAX (1 << 20) /* a bigger difference goes out as a full transfer */
#define XFR_STALL_SECONDS 60        /* a reader that takes nothing this long is dropped */

struct xfr_out;

enum xfr_outcome {
	XFR_QUEUED,       /* the answer is in the connection's output */
	XFR_HANDED_OFF,   /* a child sends it on the connection's socket: close our copy */
	XFR_FAILED,       /* nothing could be sent: close the connection */
};

/* Sets up transfers of the service domain (versions) and of *zones (a reload replaces
 * the set in place). */
struct xfr_out *xfr_out_new(struct event_base *base, const struct config *cfg,
			    struct zone_versions *versions, const struct zone_set *zones,
			    struct dns_metrics *metrics);
/* Stops watching the children (they finish on their own) and frees. */
void xfr_out_free(struct xfr_out *x);
/* Serves the AXFR or IXFR q from peer over the TCP socket fd, whose unsent output is
 * out: queued there, or handed to a child that first sends out's bytes. */
enum xfr_outcome xfr_out_serve(struct xfr_out *x, const struct sockaddr *peer, int fd,
			       struct evbuffer *out, const struct dns_query *q,
			       const struct tsig_session *tsig);
#endif

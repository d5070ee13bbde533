/* netio.h -- sockets shared by every listener: opening a bound socket, sending a batch.
 *
 * Listeners (DNS, registration, HTTP) include this instead of server.h: they need a
 * socket and a way to send, not the daemon's context. */
#ifndef SVCDNS_NETIO_H
#define SVCDNS_NETIO_H

#include <sys/socket.h>

#include "config.h"

/* Opens a non-blocking socket of type (SOCK_DGRAM, SOCK_STREAM) bound to addr for "dns",
 * "register" or "http", logging why not and what to do; returns fd or -1. */
int listen_socket_open(const struct listen_addr *addr, int type, const char *what);

/* Sends msgs[0..count) with as few sendmmsg calls as the kernel takes.  The one rule for
 * failures: a datagram the kernel refuses is dropped and the rest still go; with the
 * socket buffer full (EAGAIN) the rest are dropped too, as any lost datagram would be,
 * and the client retries.  Returns how many were dropped (logged at debug, once, as
 * what: "dns udp", "register udp"). */
unsigned udp_send_batch(int fd, struct mmsghdr *msgs, unsigned count, const char *what);

/* Writes a socket address as "ADDR#PORT" (NSD's and Knot's notation) for logs. */
void netio_format_peer(const struct sockaddr *sa, char *out, size_t size);

#endif

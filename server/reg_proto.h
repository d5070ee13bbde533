/* reg_proto.h -- the registration protocol's text lines: parse, check, execute, reply.
 *
 * One request line in, its reply line(s) appended to an evbuffer; no socket in
 * sight, so the listeners, the unit tests and the fuzzers share it. */
#ifndef SVCDNS_REG_PROTO_H
#define SVCDNS_REG_PROTO_H

#include <event2/buffer.h>
#include <stddef.h>
#include <sys/socket.h>

#include "registrar.h"

#define REG_UDP_REPLY_MAX 65507  /* the largest UDP payload over IPv4 */

enum reg_transport { REG_UDP, REG_TCP };

/* Executes one request (without its line ending) from source and appends the reply. */
void reg_proto_execute(struct registrar *r, const char *line, size_t len,
		       const struct sockaddr *source, enum reg_transport transport,
		       struct evbuffer *out);

/* Where a deferred reply goes (etcd mode): called once with the reply's bytes. */
typedef void (*reg_reply_fn)(void *slot, struct evbuffer *reply);

/* As reg_proto_execute, but a change that waits for the store (etcd mode) returns 1 with
 * nothing in out, and later calls done(slot, reply); 0 when the reply is in out. */
int reg_proto_execute_async(struct registrar *r, const char *line, size_t len,
			    const struct sockaddr *source, enum reg_transport transport,
			    struct evbuffer *out, reg_reply_fn done, void *slot);

#endif

/* reg_exec.h -- for unit tests of the registration protocol: one request line through
 * reg_proto_execute(), its reply as a string. */
#ifndef SVCDNS_TEST_REG_EXEC_H
#define SVCDNS_TEST_REG_EXEC_H

#include <event2/buffer.h>
#include <string.h>

#include "reg_proto.h"
#include "registrar.h"

/* Executes line from source over "TCP" and copies its reply, without the final newline,
 * into reply (size bytes); returns reply. */
static inline const char *reg_exec(struct registrar *r, const char *line, const struct sockaddr *source,
				   char *reply, size_t size)
{
	struct evbuffer *out = evbuffer_new();
	registrar_tick(r);
	reg_proto_execute(r, line, strlen(line), source, REG_TCP, out);
	size_t n = evbuffer_remove(out, reply, size - 1);
	evbuffer_free(out);
	reply[n] = 0;
	if (n && reply[n - 1] == '\n')
		reply[n - 1] = 0;
	return reply;
}

/* Whether text begins with prefix. */
static inline int starts_with(const char *text, const char *prefix)
{
	return strncmp(text, prefix, strlen(prefix)) == 0;
}

#endif

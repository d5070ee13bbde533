/* reg_slots.h -- registration replies kept in request order while some of them wait for
 * the store (etcd mode): a TCP connection's replies, or a UDP datagram's. */
#ifndef SVCDNS_REG_SLOTS_H
#define SVCDNS_REG_SLOTS_H

#include <event2/buffer.h>
#include <sys/queue.h>

#include "reg_proto.h"

struct reg_slot;

struct reg_slots {
	TAILQ_HEAD(, reg_slot) list;
	void (*ready)(void *arg);     /* a waiting reply came: take what is complete */
	void *arg;
};

void reg_slots_init(struct reg_slots *q, void (*ready)(void *arg), void *arg);
/* Executes one request line into a new slot at the tail; -1 when out of memory. */
int reg_slots_execute(struct reg_slots *q, struct registrar *r, const char *line, size_t len,
		      const struct sockaddr *source, enum reg_transport transport);
/* Moves the complete replies at the head into out. */
void reg_slots_take(struct reg_slots *q, struct evbuffer *out);
/* Whether any reply is still queued. */
int reg_slots_pending(const struct reg_slots *q);
/* The owner goes: complete replies are dropped, waiting ones freed when they come. */
void reg_slots_orphan(struct reg_slots *q);

#endif

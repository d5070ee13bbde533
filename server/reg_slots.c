/* reg_slots.c -- registration replies kept in request order while some wait for the store. */
#include <stdlib.h>

#include "reg_slots.h"

struct reg_slot {
	TAILQ_ENTRY(reg_slot) link;
	struct reg_slots *queue;      /* NULL once orphaned */
	struct evbuffer *text;
	int waiting;
};

static void slot_free(struct reg_slot *s)
{
	evbuffer_free(s->text);
	free(s);
}

static void slot_done(void *arg, struct evbuffer *reply)
{
	struct reg_slot *s = arg;
	if (!s->queue) {
		slot_free(s);
		return;
	}
	if (reply)
		evbuffer_add_buffer(s->text, reply);
	else
		evbuffer_add_printf(s->text, "ERR 503 out of memory\n");
	s->waiting = 0;
	s->queue->ready(s->queue->arg);
}

void reg_slots_init(struct reg_slots *q, void (*ready)(void *arg), void *arg)
{
	TAILQ_INIT(&q->list);
	q->ready = ready;
	q->arg = arg;
}

int reg_slots_execute(struct reg_slots *q, struct registrar *r, const char *line, size_t len,
		      const struct sockaddr *source, enum reg_transport transport)
{
	struct reg_slot *s = calloc(1, sizeof *s);
	if (!s || !(s->text = evbuffer_new())) {
		free(s);
		return -1;
	}
	s->queue = q;
	s->waiting = 1;
	TAILQ_INSERT_TAIL(&q->list, s, link);
	if (reg_proto_execute_async(r, line, len, source, transport, s->text, slot_done, s) == 0)
		s->waiting = 0;
	return 0;
}

void reg_slots_take(struct reg_slots *q, struct evbuffer *out)
{
	struct reg_slot *s;
	while ((s = TAILQ_FIRST(&q->list)) && !s->waiting) {
		TAILQ_REMOVE(&q->list, s, link);
		evbuffer_add_buffer(out, s->text);
		slot_free(s);
	}
}

int reg_slots_pending(const struct reg_slots *q)
{
	return !TAILQ_EMPTY(&q->list);
}

void reg_slots_orphan(struct reg_slots *q)
{
	struct reg_slot *s;
	while ((s = TAILQ_FIRST(&q->list))) {
		TAILQ_REMOVE(&q->list, s, link);
		if (s->waiting)
			s->queue = NULL;
		else
			slot_free(s);
	}
}

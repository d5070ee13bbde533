/* listen_reg.c -- the registration protocol over UDP and TCP, with group commit.
 *
 * Lines are framed here and executed by reg_proto.c.  UDP datagrams come in with
 * recvmmsg and their replies go out with sendmmsg, a batch at a time.  With a state
 * file, every reply waits (in the UDP listener's queue or the TCP connection's hold)
 * until the group commit has made the changes durable with one fsync for everything
 * the loop turn did; only then do the OKs go out. */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include "listen_reg.h"
#include "log.h"
#include "netio.h"
#include "reg_proto.h"
#include "reg_slots.h"

#define REG_TCP_IDLE_S 300        /* registration clients keep connections for renewals */
#define REG_OUTPUT_HIGH (1 << 20) /* stop reading a client that does not read its replies */
#define REG_UDP_BATCH 32          /* datagrams per recvmmsg and per wakeup; replies per sendmmsg */
#define REG_UDP_DATAGRAM_MAX 65536 /* any UDP payload (at most 65,527 bytes, over IPv6) */
#define REG_UDP_TEXT_SIZE (64 << 10)  /* reply bytes allocated at open: one reply of any size */
#define REG_UDP_TEXT_KEEP (256 << 10) /* a queue grown past this by big LIST replies shrinks back */

/* A reply in a UDP listener's queue, waiting for its batch's sendmmsg or for the commit. */
struct udp_reply {
	struct sockaddr_storage peer;
	socklen_t peer_len;
	size_t offset, size;                 /* its bytes in the listener's text */
};

/* etcd mode: a datagram whose replies wait for the store; sent as one once all came. */
struct udp_wait {
	LIST_ENTRY(udp_wait) link;       /* in the listener's waits */
	struct reg_udp_listener *l;
	struct reg_slots slots;
	struct evbuffer *out;
	struct sockaddr_storage peer;
	socklen_t peer_len;
	int executing;
};

struct reg_udp_listener {
	LIST_HEAD(, udp_wait) waits;     /* etcd mode: datagrams whose replies wait */
	struct reg_front *front;
	int fd;
	struct event *ev;
	struct evbuffer *reply;              /* the replies of the datagram being executed */
	struct udp_reply queue[REG_UDP_BATCH]; /* replies not sent yet, in the order of their requests */
	unsigned queued;
	char *text;                          /* the queued replies' bytes */
	size_t text_used, text_size;
	struct mmsghdr in[REG_UDP_BATCH], out[REG_UDP_BATCH];
	struct iovec in_iov[REG_UDP_BATCH], out_iov[REG_UDP_BATCH];
	struct sockaddr_storage peers[REG_UDP_BATCH];
	/* Room for the largest datagram in every slot: 2 MiB of address space, mapped
	 * untouched; only the pages that datagrams fill become memory. */
	char (*slots)[REG_UDP_DATAGRAM_MAX];
};

struct reg_tcp_listener {
	struct reg_front *front;
	struct evconnlistener *listener;
};

struct reg_conn {
	LIST_ENTRY(reg_conn) link;      /* in front->conns */
	LIST_ENTRY(reg_conn) held_link; /* in front->held while is_held */
	int is_held;                    /* replies wait for the commit */
	struct reg_front *front;
	struct bufferevent *bev;
	struct evbuffer *held;          /* replies waiting for the commit */
	struct sockaddr_storage peer;
	struct reg_slots slots;         /* etcd mode: replies in request order, some waiting */
	int closing;                    /* no more requests: close once the replies are out */
	int peer_done;                  /* the client closed its sending side */
};

struct reg_front {
	struct event_base *base;
	struct registrar *registrar;
	const struct config *cfg;       /* owned by main; a reload replaces its contents */
	struct reg_udp_listener *udp[CONFIG_MAX_LISTEN];
	int udp_count;
	struct reg_tcp_listener *tcp[CONFIG_MAX_LISTEN];
	int tcp_count;
	LIST_HEAD(, reg_conn) conns;    /* open registration connections */
	LIST_HEAD(, reg_conn) held;     /* connections whose replies wait for the commit */
	struct event *commit_event;     /* the group commit, run once per loop turn */
	int commit_pending;             /* commit_event is active */
};

/* ---- group commit ---------------------------------------------------------------- */

static void request_commit(struct reg_front *f)
{
	/* Activated now, it runs after every callback already due in this loop turn. */
	if (!f->commit_pending) {
		f->commit_pending = 1;
		event_active(f->commit_event, EV_TIMEOUT, 1);
	}
}

static void conn_free(struct reg_conn *c);
static void conn_finish(struct reg_conn *c);
static void udp_release_replies(struct reg_udp_listener *l, int deliver);

/* The group commit: fsync once, then release every held reply (an event callback). */
static void commit_now(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what;
	struct reg_front *f = arg;
	f->commit_pending = 0;
	int durable = registrar_commit(f->registrar) == 0;
	for (int i = 0; i < f->udp_count; i++)
		udp_release_replies(f->udp[i], durable);
	while (!LIST_EMPTY(&f->held)) {
		struct reg_conn *c = LIST_FIRST(&f->held);
		LIST_REMOVE(c, held_link);
		c->is_held = 0;
		if (!durable) {
			/* No OK may leave for a change that is not on disk: the client retries. */
			conn_free(c);
			continue;
		}
		evbuffer_add_buffer(bufferevent_get_output(c->bev), c->held);
		if (c->closing && evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
			conn_finish(c);
	}
}

/* ---- UDP --------------------------------------------------------------------------- */

/* The next line of a datagram: its length without LF or CRLF; *consumed with the LF. */
static size_t next_line(const char *data, size_t len, size_t *consumed)
{
	const char *nl = memchr(data, '\n', len);
	size_t line_len = nl ? (size_t)(nl - data) : len;
	*consumed = nl ? line_len + 1 : len;
	if (line_len > 0 && data[line_len - 1] == '\r')
		line_len--;
	return line_len;
}

static void execute_lines(struct registrar *registrar, const char *data, size_t len,
			  const struct sockaddr *peer, enum reg_transport transport, struct evbuffer *out)
{
	while (len > 0) {
		size_t consumed, line_len = next_line(data, len, &consumed);
		reg_proto_execute(registrar, data, line_len, peer, transport, out);
		data += consumed;
		len -= consumed;
	}
}

/* Empties the queue: delivers its replies with sendmmsg, or drops them when the
 * changes they acknowledge did not reach the disk (no OK may leave for those: the
 * clients retry). */
static void udp_release_replies(struct reg_udp_listener *l, int deliver)
{
	if (deliver && l->queued) {
		for (unsigned i = 0; i < l->queued; i++) {
			struct udp_reply *r = &l->queue[i];
			l->out_iov[i] = (struct iovec){ l->text + r->offset, r->size };
			l->out[i].msg_hdr = (struct msghdr){ .msg_name = &r->peer, .msg_namelen = r->peer_len,
							     .msg_iov = &l->out_iov[i], .msg_iovlen = 1 };
		}
		udp_send_batch(l->fd, l->out, l->queued, "register udp");
	}
	l->queued = 0;
	l->text_used = 0;
	if (l->text_size > REG_UDP_TEXT_KEEP) {
		char *text = realloc(l->text, REG_UDP_TEXT_SIZE);
		if (text) {
			l->text = text;
			l->text_size = REG_UDP_TEXT_SIZE;
		}
	}
}

/* Moves the replies in l->reply to the queue, addressed to peer. */
static void queue_reply(struct reg_udp_listener *l, const struct sockaddr_storage *peer, socklen_t peer_len)
{
	size_t size = evbuffer_get_length(l->reply);
	if (size > REG_UDP_REPLY_MAX) {
		evbuffer_drain(l->reply, size);
		evbuffer_add_printf(l->reply, "ERR 413 replies do not fit in one datagram: send fewer lines\n");
		size = evbuffer_get_length(l->reply);
	}
	if (l->text_used + size > l->text_size) {
		/* Only LISTs and datagrams of many lines get big replies: once they are sent,
		 * the text shrinks back. */
		size_t text_size = l->text_size * 2 >= l->text_used + size ? l->text_size * 2 : l->text_used + size;
		char *text = realloc(l->text, text_size);
		if (!text) {
			log_warn("register udp: out of memory: a reply is dropped");
			evbuffer_drain(l->reply, size);
			return;
		}
		l->text = text;
		l->text_size = text_size;
	}
	struct udp_reply *r = &l->queue[l->queued++];
	memcpy(&r->peer, peer, peer_len);
	r->peer_len = peer_len;
	r->offset = l->text_used;
	r->size = size;
	evbuffer_remove(l->reply, l->text + l->text_used, size);
	l->text_used += size;
}

static void udp_wait_free(struct udp_wait *w)
{
	LIST_REMOVE(w, link);
	reg_slots_orphan(&w->slots);
	evbuffer_free(w->out);
	free(w);
}

/* A reply of the datagram came: once all have, they leave as one datagram. */
static void udp_wait_ready(void *arg)
{
	struct udp_wait *w = arg;
	if (w->executing)
		return;
	reg_slots_take(&w->slots, w->out);
	if (reg_slots_pending(&w->slots))
		return;
	size_t len = evbuffer_get_length(w->out);
	if (len > REG_UDP_REPLY_MAX) {
		evbuffer_drain(w->out, len);
		evbuffer_add_printf(w->out, "ERR 413 replies do not fit in one datagram: send fewer lines\n");
		len = evbuffer_get_length(w->out);
	}
	if (len && sendto(w->l->fd, evbuffer_pullup(w->out, -1), len, 0, (struct sockaddr *)&w->peer, w->peer_len) < 0)
		log_debug("register udp: sendto: %s", strerror(errno));
	udp_wait_free(w);
}

/* etcd mode: every line gets a slot; the datagram's reply goes when the last one came. */
static void execute_datagram_waiting(struct reg_udp_listener *l, int i)
{
	struct udp_wait *w = calloc(1, sizeof *w);
	if (!w || !(w->out = evbuffer_new())) {
		free(w);
		log_warn("register udp: out of memory: a datagram is dropped");
		return;
	}
	w->l = l;
	memcpy(&w->peer, &l->peers[i], l->in[i].msg_hdr.msg_namelen);
	w->peer_len = l->in[i].msg_hdr.msg_namelen;
	reg_slots_init(&w->slots, udp_wait_ready, w);
	LIST_INSERT_HEAD(&l->waits, w, link);
	w->executing = 1;
	const char *data = l->slots[i];
	size_t len = l->in[i].msg_len;
	while (len > 0) {
		size_t consumed, line_len = next_line(data, len, &consumed);
		if (reg_slots_execute(&w->slots, l->front->registrar, data, line_len, (struct sockaddr *)&w->peer,
				      REG_UDP) < 0)
			evbuffer_add_printf(w->out, "ERR 503 out of memory\n");
		data += consumed;
		len -= consumed;
	}
	w->executing = 0;
	udp_wait_ready(w);
}

/* Executes a received batch of n datagrams and queues their replies. */
static void execute_batch(struct reg_udp_listener *l, int n)
{
	for (int i = 0; i < n; i++) {
		if (l->front->registrar->store) {
			execute_datagram_waiting(l, i);
			continue;
		}
		execute_lines(l->front->registrar, l->slots[i], l->in[i].msg_len, (struct sockaddr *)&l->peers[i], REG_UDP,
			      l->reply);
		if (evbuffer_get_length(l->reply))
			queue_reply(l, &l->peers[i], l->in[i].msg_hdr.msg_namelen);
	}
}

static void udp_readable(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	struct reg_udp_listener *l = arg;
	struct reg_front *f = l->front;
	registrar_tick(f->registrar);
	/* One batch per loop turn: with a state file its replies wait for the commit at the
	 * end of the turn, and further datagrams wait in the socket until then. */
	unsigned want = REG_UDP_BATCH - l->queued;
	if (want == 0)
		return;
	for (unsigned i = 0; i < want; i++)
		l->in[i].msg_hdr.msg_namelen = sizeof l->peers[i];  /* recvmmsg sets it to the peer's length */
	int n = recvmmsg(fd, l->in, want, MSG_DONTWAIT, NULL);
	if (n <= 0) {
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			log_warn("register udp: recvmmsg: %s", strerror(errno));
		return;
	}
	execute_batch(l, n);
	if (l->queued == 0)
		return;
	if (f->registrar->state)
		request_commit(f);
	else
		udp_release_replies(l, 1);
}

static void reg_udp_free(struct reg_udp_listener *l);

static struct reg_udp_listener *reg_udp_open(struct reg_front *f, const struct listen_addr *addr)
{
	int fd = listen_socket_open(addr, SOCK_DGRAM, "register");
	if (fd < 0)
		return NULL;
	struct reg_udp_listener *l = calloc(1, sizeof *l);
	if (!l)
		goto fail;
	l->front = f;
	l->fd = fd;
	LIST_INIT(&l->waits);
	l->slots = mmap(NULL, REG_UDP_BATCH * sizeof *l->slots, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (l->slots == MAP_FAILED) {
		l->slots = NULL;
		goto fail;
	}
	for (int i = 0; i < REG_UDP_BATCH; i++) {
		l->in_iov[i] = (struct iovec){ l->slots[i], sizeof l->slots[i] };
		l->in[i].msg_hdr = (struct msghdr){ .msg_name = &l->peers[i], .msg_iov = &l->in_iov[i], .msg_iovlen = 1 };
	}
	l->text_size = REG_UDP_TEXT_SIZE;
	l->text = malloc(l->text_size);
	l->reply = evbuffer_new();
	l->ev = event_new(f->base, fd, EV_READ | EV_PERSIST, udp_readable, l);
	if (!l->text || !l->reply || !l->ev || event_add(l->ev, NULL) < 0)
		goto fail;
	log_info("register: listening on udp %s", addr->text);
	return l;
fail:
	log_error("register: udp %s: out of memory", addr->text);
	if (l)
		reg_udp_free(l);  /* closes fd */
	else
		close(fd);
	return NULL;
}

static void reg_udp_free(struct reg_udp_listener *l)
{
	if (!l)
		return;
	while (!LIST_EMPTY(&l->waits))
		udp_wait_free(LIST_FIRST(&l->waits));
	if (l->ev)
		event_free(l->ev);
	if (l->reply)
		evbuffer_free(l->reply);
	close(l->fd);
	free(l->text);
	if (l->slots)
		munmap(l->slots, REG_UDP_BATCH * sizeof *l->slots);
	free(l);
}

/* ---- TCP --------------------------------------------------------------------------- */

static void conn_free(struct reg_conn *c)
{
	if (c->is_held)
		LIST_REMOVE(c, held_link);
	LIST_REMOVE(c, link);
	reg_slots_orphan(&c->slots);
	bufferevent_free(c->bev);
	evbuffer_free(c->held);
	free(c);
}

/* Without a state file replies go straight out; with one they wait for the commit
 * (all of them, so that their order never changes). */
static struct evbuffer *conn_reply_target(struct reg_conn *c)
{
	struct reg_front *f = c->front;
	if (!f->registrar->state)
		return bufferevent_get_output(c->bev);
	if (!c->is_held) {
		c->is_held = 1;
		LIST_INSERT_HEAD(&f->held, c, held_link);
		request_commit(f);
	}
	return c->held;
}

/* All replies are out: close our side, then read (and drop) until the client closes,
 * so that unread input never turns our close into a reset that loses the replies. */
static void conn_finish(struct reg_conn *c)
{
	if (c->peer_done) {
		conn_free(c);
		return;
	}
	if (shutdown(bufferevent_getfd(c->bev), SHUT_WR) < 0) {
		conn_free(c);
		return;
	}
	struct timeval linger = { 2, 0 };
	bufferevent_set_timeouts(c->bev, &linger, NULL);
	bufferevent_enable(c->bev, EV_READ);
}

static void conn_readable(struct bufferevent *bev, void *arg)
{
	struct reg_conn *c = arg;
	struct reg_front *f = c->front;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t max = f->cfg->max_line_length;
	if (c->closing) {
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	registrar_tick(f->registrar);
	while (evbuffer_get_length(bufferevent_get_output(bev)) < REG_OUTPUT_HIGH) {
		struct evbuffer_ptr eol = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF);
		if (eol.pos < 0) {
			if (evbuffer_get_length(in) > max + 1) {
				/* No end in sight: the line cannot be framed, so the connection ends. */
				evbuffer_add_printf(conn_reply_target(c), "ERR 413 line too long (max-line-length)\n");
				evbuffer_drain(in, evbuffer_get_length(in));
				c->closing = 1;
			}
			return;
		}
		size_t len = (size_t)eol.pos;
		const char *line = (const char *)evbuffer_pullup(in, (ev_ssize_t)(len + 1));
		size_t line_len = len > 0 && line[len - 1] == '\r' ? len - 1 : len;
		if (!f->registrar->store)
			reg_proto_execute(f->registrar, line, line_len, (struct sockaddr *)&c->peer, REG_TCP,
					  conn_reply_target(c));
		else if (reg_slots_execute(&c->slots, f->registrar, line, line_len, (struct sockaddr *)&c->peer,
					   REG_TCP) < 0)
			evbuffer_add_printf(bufferevent_get_output(bev), "ERR 503 out of memory\n");
		else
			reg_slots_take(&c->slots, bufferevent_get_output(bev));
		evbuffer_drain(in, len + 1);
	}
	bufferevent_disable(bev, EV_READ);
}

/* etcd mode: a waiting reply came; those complete at the head go out in order. */
static void conn_slots_ready(void *arg)
{
	struct reg_conn *c = arg;
	struct evbuffer *out = bufferevent_get_output(c->bev);
	reg_slots_take(&c->slots, out);
	if (c->closing && !reg_slots_pending(&c->slots) && evbuffer_get_length(out) == 0)
		conn_finish(c);
}

static void conn_writable(struct bufferevent *bev, void *arg)
{
	struct reg_conn *c = arg;
	if (c->closing) {
		if (!c->is_held && !reg_slots_pending(&c->slots))
			conn_finish(c);
		return;
	}
	bufferevent_enable(bev, EV_READ);
	conn_readable(bev, c);
}

static void conn_event(struct bufferevent *bev, short what, void *arg)
{
	struct reg_conn *c = arg;
	if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_WRITING)) {
		c->peer_done = 1;
		if (c->is_held || reg_slots_pending(&c->slots) || evbuffer_get_length(bufferevent_get_output(bev))) {
			c->closing = 1;  /* the client is done sending; its replies still go out */
			return;
		}
	}
	conn_free(c);
}

static void accept_conn(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
			int salen, void *arg)
{
	(void)lev;
	struct reg_tcp_listener *l = arg;
	struct reg_front *f = l->front;
	struct reg_conn *c = calloc(1, sizeof *c);
	if (!c || !(c->held = evbuffer_new()) ||
	    !(c->bev = bufferevent_socket_new(f->base, fd, BEV_OPT_CLOSE_ON_FREE))) {
		if (c)
			evbuffer_free(c->held);
		free(c);
		close(fd);
		return;
	}
	c->front = f;
	reg_slots_init(&c->slots, conn_slots_ready, c);
	memcpy(&c->peer, sa, (size_t)salen < sizeof c->peer ? (size_t)salen : sizeof c->peer);
	LIST_INSERT_HEAD(&f->conns, c, link);
	struct timeval idle = { REG_TCP_IDLE_S, 0 };
	bufferevent_setcb(c->bev, conn_readable, conn_writable, conn_event, c);
	bufferevent_set_timeouts(c->bev, &idle, &idle);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

static struct reg_tcp_listener *reg_tcp_open(struct reg_front *f, const struct listen_addr *addr)
{
	int fd = listen_socket_open(addr, SOCK_STREAM, "register");
	if (fd < 0)
		return NULL;
	struct reg_tcp_listener *l = calloc(1, sizeof *l);
	if (!l || !(l->listener = evconnlistener_new(f->base, accept_conn, l,
						     LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 1024, fd))) {
		log_error("register: tcp %s: cannot listen: %s", addr->text, strerror(errno));
		free(l);
		close(fd);
		return NULL;
	}
	l->front = f;
	log_info("register: listening on tcp %s", addr->text);
	return l;
}

static void reg_tcp_free(struct reg_tcp_listener *l)
{
	if (!l)
		return;
	evconnlistener_free(l->listener);
	free(l);
}

/* ---- the front ----------------------------------------------------------------------- */

struct reg_front *reg_front_new(struct event_base *base, struct registrar *registrar,
				const struct config *cfg)
{
	struct reg_front *f = calloc(1, sizeof *f);
	if (!f)
		return NULL;
	f->base = base;
	f->registrar = registrar;
	f->cfg = cfg;
	LIST_INIT(&f->conns);
	LIST_INIT(&f->held);
	f->commit_event = event_new(base, -1, 0, commit_now, f);
	if (!f->commit_event) {
		free(f);
		return NULL;
	}
	return f;
}

int reg_front_listen(struct reg_front *f, const struct listen_addr *addr)
{
	struct reg_udp_listener *u = reg_udp_open(f, addr);
	if (!u)
		return REG_FRONT_NO_UDP;
	f->udp[f->udp_count++] = u;
	struct reg_tcp_listener *t = reg_tcp_open(f, addr);
	if (!t)
		return -1;
	f->tcp[f->tcp_count++] = t;
	return 0;
}

void reg_front_free(struct reg_front *f)
{
	if (!f)
		return;
	if (f->commit_pending)
		commit_now(-1, 0, f);  /* flush what the last turn acknowledged */
	while (!LIST_EMPTY(&f->conns))
		conn_free(LIST_FIRST(&f->conns));
	for (int i = 0; i < f->udp_count; i++)
		reg_udp_free(f->udp[i]);
	for (int i = 0; i < f->tcp_count; i++)
		reg_tcp_free(f->tcp[i]);
	event_free(f->commit_event);
	free(f);
}

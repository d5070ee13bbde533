/* listen_reg.c -- the registration protocol over UDP and TCP, with group commit.
 *
 * Lines are framed here and executed by reg_proto.c.  With a state file, every
 * reply waits in a per-connection (or per-datagram) hold until the group commit
 * has made the changes durable with one fsync for everything the loop turn did;
 * only then do the OKs go out. */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "reg_proto.h"
#include "server.h"

#define REG_TCP_IDLE_S 300        /* registration clients keep connections for renewals */
#define REG_UDP_BATCH 64          /* datagrams read per wakeup */
#define REG_OUTPUT_HIGH (1 << 20) /* stop reading a client that does not read its replies */

struct reg_udp_listener {
	struct server *srv;
	int fd;
	struct event *ev;
};

struct held_datagram {
	struct held_datagram *next;
	int fd;
	struct sockaddr_storage peer;
	socklen_t peer_len;
	size_t size;
	char data[];
};

struct reg_tcp_listener {
	struct server *srv;
	struct evconnlistener *listener;
};

struct reg_conn {
	struct reg_conn *prev, *next;   /* in srv->reg_conns */
	struct reg_conn *next_held;     /* in srv->held_conns while replies wait for commit */
	int is_held;
	struct server *srv;
	struct bufferevent *bev;
	struct evbuffer *held;          /* replies waiting for the commit */
	struct sockaddr_storage peer;
	int closing;                    /* no more requests: close once the replies are out */
	int peer_done;                  /* the client closed its sending side */
};

/* ---- group commit ---------------------------------------------------------------- */

static void request_commit(struct server *srv)
{
	/* Activated now, it runs after every callback already due in this loop turn. */
	if (!srv->commit_pending) {
		srv->commit_pending = 1;
		event_active(srv->commit_event, EV_TIMEOUT, 1);
	}
}

static void conn_free(struct reg_conn *c);
static void conn_finish(struct reg_conn *c);

void reg_commit_now(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what;
	struct server *srv = arg;
	srv->commit_pending = 0;
	int durable = registrar_commit(&srv->registrar) == 0;
	while (srv->held_datagrams) {
		struct held_datagram *d = srv->held_datagrams;
		srv->held_datagrams = d->next;
		if (durable && sendto(d->fd, d->data, d->size, 0, (struct sockaddr *)&d->peer, d->peer_len) < 0)
			log_debug("register udp: sendto: %s", strerror(errno));
		free(d);
	}
	while (srv->held_conns) {
		struct reg_conn *c = srv->held_conns;
		srv->held_conns = c->next_held;
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

static void execute_lines(struct server *srv, const char *data, size_t len, const struct sockaddr *peer,
			  enum reg_transport transport, struct evbuffer *out)
{
	while (len > 0) {
		const char *nl = memchr(data, '\n', len);
		size_t line_len = nl ? (size_t)(nl - data) : len;
		size_t consumed = nl ? line_len + 1 : len;
		if (line_len > 0 && data[line_len - 1] == '\r')
			line_len--;
		reg_proto_execute(&srv->registrar, data, line_len, peer, transport, out);
		data += consumed;
		len -= consumed;
	}
}

static void send_or_hold(struct server *srv, int fd, const struct sockaddr_storage *peer, socklen_t peer_len,
			 struct evbuffer *reply)
{
	size_t size = evbuffer_get_length(reply);
	if (size > REG_UDP_REPLY_MAX) {
		evbuffer_drain(reply, size);
		evbuffer_add_printf(reply, "ERR 413 replies do not fit in one datagram: send fewer lines\n");
		size = evbuffer_get_length(reply);
	}
	const char *bytes = (const char *)evbuffer_pullup(reply, -1);
	if (!srv->registrar.state) {
		if (sendto(fd, bytes, size, 0, (const struct sockaddr *)peer, peer_len) < 0)
			log_debug("register udp: sendto: %s", strerror(errno));
		return;
	}
	struct held_datagram *d = malloc(sizeof *d + size);
	if (!d)
		return;  /* the client times out and retries */
	d->fd = fd;
	d->peer = *peer;
	d->peer_len = peer_len;
	d->size = size;
	memcpy(d->data, bytes, size);
	d->next = srv->held_datagrams;
	srv->held_datagrams = d;
	request_commit(srv);
}

static void udp_readable(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	struct reg_udp_listener *l = arg;
	struct server *srv = l->srv;
	static char datagram[65536];
	struct evbuffer *reply = evbuffer_new();
	if (!reply)
		return;
	registrar_tick(&srv->registrar);
	for (int i = 0; i < REG_UDP_BATCH; i++) {
		struct sockaddr_storage peer;
		socklen_t peer_len = sizeof peer;
		ssize_t n = recvfrom(fd, datagram, sizeof datagram, MSG_DONTWAIT, (struct sockaddr *)&peer, &peer_len);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_warn("register udp: recvfrom: %s", strerror(errno));
			break;
		}
		execute_lines(srv, datagram, (size_t)n, (struct sockaddr *)&peer, REG_UDP, reply);
		if (evbuffer_get_length(reply))
			send_or_hold(srv, fd, &peer, peer_len, reply);
		evbuffer_drain(reply, evbuffer_get_length(reply));
	}
	evbuffer_free(reply);
}

struct reg_udp_listener *reg_udp_listener_open(struct server *srv, const struct listen_addr *addr)
{
	int fd = listen_socket_open(addr, SOCK_DGRAM, "register");
	if (fd < 0)
		return NULL;
	struct reg_udp_listener *l = calloc(1, sizeof *l);
	if (!l || !(l->ev = event_new(srv->base, fd, EV_READ | EV_PERSIST, udp_readable, l)) ||
	    event_add(l->ev, NULL) < 0) {
		log_error("register: udp %s: out of memory", addr->text);
		if (l && l->ev)
			event_free(l->ev);
		free(l);
		close(fd);
		return NULL;
	}
	l->srv = srv;
	l->fd = fd;
	log_info("register: listening on udp %s", addr->text);
	return l;
}

void reg_udp_listener_free(struct reg_udp_listener *l)
{
	if (!l)
		return;
	event_free(l->ev);
	close(l->fd);
	free(l);
}

/* ---- TCP --------------------------------------------------------------------------- */

static void conn_free(struct reg_conn *c)
{
	struct server *srv = c->srv;
	if (c->is_held) {
		struct reg_conn **link = &srv->held_conns;
		while (*link != c)
			link = &(*link)->next_held;
		*link = c->next_held;
	}
	if (c->prev)
		c->prev->next = c->next;
	else
		srv->reg_conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	bufferevent_free(c->bev);
	evbuffer_free(c->held);
	free(c);
}

void reg_close_all(struct server *srv)
{
	while (srv->reg_conns)
		conn_free(srv->reg_conns);
	while (srv->held_datagrams) {
		struct held_datagram *d = srv->held_datagrams;
		srv->held_datagrams = d->next;
		free(d);
	}
}

/* Without a state file replies go straight out; with one they wait for the commit
 * (all of them, so that their order never changes). */
static struct evbuffer *conn_reply_target(struct reg_conn *c)
{
	struct server *srv = c->srv;
	if (!srv->registrar.state)
		return bufferevent_get_output(c->bev);
	if (!c->is_held) {
		c->is_held = 1;
		c->next_held = srv->held_conns;
		srv->held_conns = c;
		request_commit(srv);
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
	struct server *srv = c->srv;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t max = srv->cfg->max_line_length;
	if (c->closing) {
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	registrar_tick(&srv->registrar);
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
		reg_proto_execute(&srv->registrar, line, line_len, (struct sockaddr *)&c->peer, REG_TCP,
				  conn_reply_target(c));
		evbuffer_drain(in, len + 1);
	}
	bufferevent_disable(bev, EV_READ);
}

static void conn_writable(struct bufferevent *bev, void *arg)
{
	struct reg_conn *c = arg;
	if (c->closing) {
		if (!c->is_held)
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
		if (c->is_held || evbuffer_get_length(bufferevent_get_output(bev))) {
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
	struct server *srv = l->srv;
	struct reg_conn *c = calloc(1, sizeof *c);
	if (!c || !(c->held = evbuffer_new()) ||
	    !(c->bev = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE))) {
		if (c)
			evbuffer_free(c->held);
		free(c);
		close(fd);
		return;
	}
	c->srv = srv;
	memcpy(&c->peer, sa, (size_t)salen < sizeof c->peer ? (size_t)salen : sizeof c->peer);
	c->next = srv->reg_conns;
	if (c->next)
		c->next->prev = c;
	srv->reg_conns = c;
	struct timeval idle = { REG_TCP_IDLE_S, 0 };
	bufferevent_setcb(c->bev, conn_readable, conn_writable, conn_event, c);
	bufferevent_set_timeouts(c->bev, &idle, &idle);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

struct reg_tcp_listener *reg_tcp_listener_open(struct server *srv, const struct listen_addr *addr)
{
	int fd = listen_socket_open(addr, SOCK_STREAM, "register");
	if (fd < 0)
		return NULL;
	struct reg_tcp_listener *l = calloc(1, sizeof *l);
	if (!l || !(l->listener = evconnlistener_new(srv->base, accept_conn, l,
						     LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 1024, fd))) {
		log_error("register: tcp %s: cannot listen: %s", addr->text, strerror(errno));
		free(l);
		close(fd);
		return NULL;
	}
	l->srv = srv;
	log_info("register: listening on tcp %s", addr->text);
	return l;
}

void reg_tcp_listener_free(struct reg_tcp_listener *l)
{
	if (!l)
		return;
	evconnlistener_free(l->listener);
	free(l);
}

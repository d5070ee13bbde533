/* listen_tcp.c -- DNS over TCP: 2-byte length framing, pipelining, idle timeout, limits.
 *
 * libevent's bufferevents do the partial reads and writes; each complete
 * message in the input buffer is answered in order.  A client that stops reading
 * its answers stops being read from (back-pressure) instead of growing memory. */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "forward.h"
#include "log.h"
#include "clock.h"
#include "netio.h"
#include "server.h"

#define TCP_OUTPUT_HIGH (256 * 1024)  /* stop reading queries above this much unsent */

struct tcp_listener {
	struct server *srv;
	struct evconnlistener *listener;
	char text[64];
};

struct tcp_conn {
	struct tcp_conn *prev, *next; /* in server.tcp_conns, to close them all at shutdown */
	struct server *srv;
	struct bufferevent *bev;
	int closing;              /* the client finished sending: close once answers are out */
	int refused;              /* the client is not in allow-query: every answer is REFUSED */
	struct sockaddr_storage peer;
	unsigned forwards_pending; /* queries the forwarder still answers on this connection */
};

static void conn_free(struct tcp_conn *c)
{
	if (c->forwards_pending)
		forwarder_cancel_owner(c->srv->forwarder, c);
	if (c->prev)
		c->prev->next = c->next;
	else
		c->srv->tcp_conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->srv->tcp_connections--;
	dns_guard_tcp_close(&c->srv->guard, (struct sockaddr *)&c->peer);
	bufferevent_free(c->bev);
	free(c);
}

/* Sends a forwarded query's answer.  It may overtake answers to earlier queries
 * (RFC 7766 6.2.1.1); the client matches them by ID. */
static void tcp_forward_reply(const struct forward_client *client, const uint8_t *answer,
			      size_t len)
{
	struct tcp_conn *c = client->owner;
	struct evbuffer *out = bufferevent_get_output(c->bev);
	uint8_t prefix[2] = { (uint8_t)(len >> 8), (uint8_t)len };
	c->forwards_pending--;
	if (evbuffer_add(out, prefix, 2) < 0 || evbuffer_add(out, answer, len) < 0) {
		log_warn("dns tcp: out of memory for an answer; closing the connection");
		c->closing = 1;
	}
}

/* Hands a query for a name outside our zones to the forwarder.  Returns 1 when it took
 * the query (tcp_forward_reply answers later), 0 when the local REFUSED must go out. */
static int tcp_forward(struct tcp_conn *c, const uint8_t *query, size_t len)
{
	struct forward_client client = { .reply = tcp_forward_reply, .owner = c, .transport = DNS_TCP };
	if (forwarder_start(c->srv->forwarder, &client, query, len) < 0)
		return 0;
	c->forwards_pending++;
	return 1;
}

static void answer_messages(struct tcp_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct evbuffer *out = bufferevent_get_output(c->bev);
	struct server *srv = c->srv;
	uint8_t prefix[2];
	while (evbuffer_get_length(out) < TCP_OUTPUT_HIGH &&
	       evbuffer_copyout(in, prefix, 2) == 2) {
		size_t len = (size_t)prefix[0] << 8 | prefix[1];
		if (evbuffer_get_length(in) < 2 + len)
			return;
		const uint8_t *msg = evbuffer_pullup(in, (ev_ssize_t)(2 + len));
		int64_t start_us = monotonic_us();
		srv->responder.now_ms = start_us / 1000;
		srv->responder.refuse_query = c->refused;
		size_t alen = dns_query_process(&srv->responder, msg + 2, len, DNS_TCP,
						srv->tcp_answer + 2, 65535);
		metrics_observe_latency(&srv->responder.metrics, (double)(monotonic_us() - start_us), 1);
		int forwarded = alen > 0 && srv->responder.forward && tcp_forward(c, msg + 2, len);
		evbuffer_drain(in, 2 + len);
		if (alen == 0 || forwarded)
			continue;
		srv->tcp_answer[0] = (uint8_t)(alen >> 8);
		srv->tcp_answer[1] = (uint8_t)alen;
		if (evbuffer_add(out, srv->tcp_answer, alen + 2) < 0) {
			log_warn("dns tcp: out of memory for an answer; closing the connection");
			c->closing = 1;
			return;
		}
	}
	if (evbuffer_get_length(out) >= TCP_OUTPUT_HIGH)
		bufferevent_disable(c->bev, EV_READ);
}

static void conn_readable(struct bufferevent *bev, void *arg)
{
	(void)bev;
	answer_messages(arg);
}

static void conn_writable(struct bufferevent *bev, void *arg)
{
	struct tcp_conn *c = arg;
	if (c->closing) {
		if (c->forwards_pending == 0)
			conn_free(c);
		return;  /* forwarded answers still to come go out before the close */
	}
	/* The output drained: take up the queries that waited for room. */
	answer_messages(c);
	if (!c->closing && evbuffer_get_length(bufferevent_get_output(bev)) < TCP_OUTPUT_HIGH)
		bufferevent_enable(bev, EV_READ);
}

static void conn_event(struct bufferevent *bev, short what, void *arg)
{
	struct tcp_conn *c = arg;
	if ((what & BEV_EVENT_EOF) &&
	    (evbuffer_get_length(bufferevent_get_output(bev)) > 0 || c->forwards_pending)) {
		c->closing = 1;  /* half-close: the answers still go out */
		bufferevent_disable(bev, EV_READ);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT)
		log_debug("dns tcp: idle connection closed");
	conn_free(c);
}

static void accept_conn(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
			int salen, void *arg)
{
	(void)lev;
	struct tcp_listener *l = arg;
	struct server *srv = l->srv;
	if (srv->tcp_connections >= srv->cfg->tcp_max_connections) {
		log_debug("dns tcp: connection limit %u reached; refusing one",
			  srv->cfg->tcp_max_connections);
		close(fd);
		return;
	}
	if (dns_guard_tcp_open(&srv->guard, srv->cfg, sa) < 0) {
		log_debug("dns tcp: a client is at tcp-max-connections-per-client (%u); refusing one",
			  srv->cfg->tcp_max_connections_per_client);
		close(fd);
		return;
	}
	struct tcp_conn *c = calloc(1, sizeof *c);
	if (c)
		c->bev = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!c || !c->bev) {
		dns_guard_tcp_close(&srv->guard, sa);
		close(fd);
		free(c);
		return;
	}
	c->srv = srv;
	memcpy(&c->peer, sa, (size_t)salen < sizeof c->peer ? (size_t)salen : sizeof c->peer);
	c->refused = !dns_guard_may_query(srv->cfg, sa);
	srv->tcp_connections++;
	c->next = srv->tcp_conns;
	if (c->next)
		c->next->prev = c;
	srv->tcp_conns = c;
	struct timeval idle = { (time_t)srv->cfg->tcp_idle_timeout, 0 };
	bufferevent_setcb(c->bev, conn_readable, conn_writable, conn_event, c);
	bufferevent_set_timeouts(c->bev, &idle, &idle);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

struct tcp_listener *tcp_listener_open(struct server *srv, const struct listen_addr *addr)
{
	int fd = listen_socket_open(addr, SOCK_STREAM, "dns");
	if (fd < 0)
		return NULL;
	struct tcp_listener *l = calloc(1, sizeof *l);
	if (!l) {
		close(fd);
		return NULL;
	}
	l->srv = srv;
	snprintf(l->text, sizeof l->text, "%s", addr->text);
	l->listener = evconnlistener_new(srv->base, accept_conn, l,
					 LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 1024, fd);
	if (!l->listener) {
		log_error("dns: tcp %s: cannot listen: %s", addr->text, strerror(errno));
		close(fd);
		free(l);
		return NULL;
	}
	log_info("dns: listening on tcp %s", addr->text);
	return l;
}

void tcp_listener_free(struct tcp_listener *l)
{
	if (!l)
		return;
	evconnlistener_free(l->listener);
	free(l);
}

void tcp_close_all(struct server *srv)
{
	while (srv->tcp_conns)
		conn_free(srv->tcp_conns);
}

/* listen_tcp.c -- DNS over TCP: 2-byte length framing, pipelining, idle timeout, limits.
 *
 * libevent's bufferevents do the partial reads and writes; each complete
 * message in the input buffer goes through the front (dns_front_query), the same
 * policy as UDP, and is answered in order.  A client that stops reading
 * its answers stops being read from (back-pressure) instead of growing memory. */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/queue.h>

#include "clock.h"
#include "dns_wire.h"
#include "listen_dns.h"
#include "log.h"
#include "netio.h"
#include "query_log.h"
#include "xfr_out.h"

#define TCP_OUTPUT_HIGH (256 * 1024)  /* stop reading queries above this much unsent */

struct tcp_listener {
	struct dns_listen_ctx *ctx;
	struct evconnlistener *listener;
	char text[64];
};

struct tcp_conn {
	LIST_ENTRY(tcp_conn) link;    /* in tcp_conns.open, to close them all at shutdown */
	struct dns_listen_ctx *ctx;
	struct bufferevent *bev;
	int closing;              /* the client finished sending: close once answers are out */
	struct sockaddr_storage peer;
	unsigned forwards_pending; /* queries the forwarder still answers on this connection */
};

struct tcp_conns {
	LIST_HEAD(, tcp_conn) open;   /* every connection, newest first */
	unsigned count;               /* what tcp-max-connections limits */
	uint8_t answer[2 + 65535];    /* one answer being built, behind its length prefix */
};

static void conn_free(struct tcp_conn *c)
{
	struct dns_listen_ctx *ctx = c->ctx;
	if (c->forwards_pending)
		forwarder_cancel_owner(ctx->forwarder, c);
	LIST_REMOVE(c, link);
	ctx->tcp->count--;
	dns_guard_tcp_close(ctx->guard, (struct sockaddr *)&c->peer);
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
	uint8_t prefix[2];
	wire_write_u16(prefix, (uint16_t)len);
	c->forwards_pending--;
	if (evbuffer_add(out, prefix, 2) < 0 || evbuffer_add(out, answer, len) < 0) {
		log_warn("dns tcp: out of memory for an answer; closing the connection");
		c->closing = 1;
	}
}

/* Hands a query for a name outside our zones to the forwarder.  Returns 1 when it took
 * the query (tcp_forward_reply answers later), 0 when the local answer must go out. */
static int tcp_forward(struct tcp_conn *c, const struct dns_query *q)
{
	struct forward_client client = { .reply = tcp_forward_reply, .owner = c, .transport = DNS_TCP };
	if (forwarder_start(c->ctx->forwarder, &client, q) < 0)
		return 0;
	c->forwards_pending++;
	return 1;
}

#define TCP_HANDED_OFF ((size_t)-1)   /* the connection is to be freed at once */

/* A zone transfer: its messages are queued in the output, or a child sends them on the
 * socket (the connection is the child's from now on), or it failed and the connection
 * closes: the secondary retries, as it does after any broken transfer. */
static size_t tcp_transfer(struct tcp_conn *c, struct front_result *res)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	switch (xfr_out_serve(c->ctx->xfr, (const struct sockaddr *)&c->peer,
			      bufferevent_getfd(c->bev), out, &res->query, &res->tsig)) {
	case XFR_QUEUED:
		break;
	case XFR_HANDED_OFF:
	case XFR_FAILED:
		return TCP_HANDED_OFF;
	}
	return 0;
}

/* Runs one message through the front.  Returns the answer's length behind the prefix
 * in answer, 0 when nothing goes out now (dropped, forwarded, a transfer queued), or
 * TCP_HANDED_OFF. */
static size_t tcp_answer_one(struct tcp_conn *c, const uint8_t *msg, size_t len, uint8_t *answer)
{
	struct dns_front *front = c->ctx->front;
	struct front_result res;
	switch ((c->ctx->cfg->log_queries ? query_log_front : dns_front_query)(front,
			(const struct sockaddr *)&c->peer, DNS_TCP, msg, len, answer + 2, 65535, &res)) {
	case FRONT_SEND:
		return res.len;
	case FRONT_FORWARD:
		if (tcp_forward(c, &res.query))
			return 0;
		return dns_front_unforwarded(front, &res, answer + 2, 65535);
	case FRONT_TRANSFER:
		return tcp_transfer(c, &res);
	case FRONT_DROP:
		break;
	}
	return 0;
}

static void answer_messages(struct tcp_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct evbuffer *out = bufferevent_get_output(c->bev);
	struct responder *r = c->ctx->front->responder;
	uint8_t *answer = c->ctx->tcp->answer;
	uint8_t prefix[2];
	while (evbuffer_get_length(out) < TCP_OUTPUT_HIGH &&
	       evbuffer_copyout(in, prefix, 2) == 2) {
		size_t len = wire_read_u16(prefix);
		if (evbuffer_get_length(in) < 2 + len)
			return;
		const uint8_t *msg = evbuffer_pullup(in, (ev_ssize_t)(2 + len));
		int64_t start_us = monotonic_us();
		r->now_ms = start_us / 1000;
		size_t alen = tcp_answer_one(c, msg + 2, len, answer);
		metrics_observe_latency(&r->metrics, (double)(monotonic_us() - start_us), 1);
		evbuffer_drain(in, 2 + len);
		if (alen == TCP_HANDED_OFF) {
			conn_free(c);  /* closes our copy of the socket; a child's stays open */
			return;
		}
		if (alen == 0)
			continue;
		wire_write_u16(answer, (uint16_t)alen);
		if (evbuffer_add(out, answer, alen + 2) < 0) {
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
	struct dns_listen_ctx *ctx = l->ctx;
	if (ctx->tcp->count >= ctx->cfg->tcp_max_connections) {
		log_debug("dns tcp: connection limit %u reached; refusing one",
			  ctx->cfg->tcp_max_connections);
		close(fd);
		return;
	}
	if (dns_guard_tcp_open(ctx->guard, ctx->cfg, sa) < 0) {
		log_debug("dns tcp: a client is at tcp-max-connections-per-client (%u); refusing one",
			  ctx->cfg->tcp_max_connections_per_client);
		close(fd);
		return;
	}
	struct tcp_conn *c = calloc(1, sizeof *c);
	if (c)
		c->bev = bufferevent_socket_new(ctx->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!c || !c->bev) {
		dns_guard_tcp_close(ctx->guard, sa);
		close(fd);
		free(c);
		return;
	}
	c->ctx = ctx;
	memcpy(&c->peer, sa, (size_t)salen < sizeof c->peer ? (size_t)salen : sizeof c->peer);
	ctx->tcp->count++;
	LIST_INSERT_HEAD(&ctx->tcp->open, c, link);
	struct timeval idle = { (time_t)ctx->cfg->tcp_idle_timeout, 0 };
	bufferevent_setcb(c->bev, conn_readable, conn_writable, conn_event, c);
	bufferevent_set_timeouts(c->bev, &idle, &idle);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

struct tcp_listener *tcp_listener_open(struct dns_listen_ctx *ctx, const struct listen_addr *addr)
{
	int fd = listen_socket_open(addr, SOCK_STREAM, "dns");
	if (fd < 0)
		return NULL;
	struct tcp_listener *l = calloc(1, sizeof *l);
	if (!l) {
		close(fd);
		return NULL;
	}
	l->ctx = ctx;
	snprintf(l->text, sizeof l->text, "%s", addr->text);
	l->listener = evconnlistener_new(ctx->base, accept_conn, l,
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

struct tcp_conns *tcp_conns_new(void)
{
	struct tcp_conns *set = calloc(1, sizeof *set);
	if (set)
		LIST_INIT(&set->open);
	return set;
}

void tcp_conns_free(struct tcp_conns *set)
{
	if (!set)
		return;
	while (!LIST_EMPTY(&set->open))
		conn_free(LIST_FIRST(&set->open));
	free(set);
}

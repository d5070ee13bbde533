/* health_probe.c -- one probe: a fresh non-blocking connection, a request, a verdict.
 *
 * A small state machine on one socket event: connecting, then writing the request
 * (HTTP, gRPC), then reading until the codec (health_codec.h) knows the answer.  The
 * timeout covers the whole probe, connect included. */
#include <errno.h>
#include <arpa/inet.h>
#include <event2/event_struct.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "health_codec.h"
#include "health_probe.h"

enum probe_phase { PHASE_CONNECT, PHASE_WRITE, PHASE_READ };

struct health_probe {
	struct event ev;              /* the socket, with the time left as its timeout */
	struct event_base *base;
	int fd;
	uint8_t kind;
	uint8_t phase;                /* enum probe_phase */
	uint8_t acked;                /* gRPC: the server's SETTINGS acknowledged */
	int64_t started_us, deadline_us;
	probe_done_fn done;
	void *arg;
	uint8_t out[HEALTH_REQUEST_MAX];
	size_t out_len, out_sent;
	uint8_t in[HEALTH_REPLY_MAX];
	size_t in_len;
};

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

enum health_state health_result_state(uint8_t result, uint16_t http_code)
{
	switch (result) {
	case RESULT_TCP_OPEN:
	case RESULT_SERVING:
		return HEALTH_PASSING;
	case RESULT_HTTP:
		if (http_code >= 200 && http_code < 300)
			return HEALTH_PASSING;
		return http_code == 429 ? HEALTH_WARNING : HEALTH_CRITICAL;
	default:
		return HEALTH_CRITICAL;
	}
}

static void finish(struct health_probe *p, uint8_t result, uint16_t http_code)
{
	struct probe_outcome o = { result, http_code, (uint8_t)health_result_state(result, http_code),
				   (uint32_t)(now_us() - p->started_us) };
	probe_done_fn done = p->done;
	void *arg = p->arg;
	health_probe_cancel(p);
	done(arg, &o);
}


static void on_socket(evutil_socket_t fd, short what, void *arg);

static void wait_for(struct health_probe *p, short what)
{
	int64_t left = p->deadline_us - now_us();
	if (left < 0)
		left = 0;
	struct timeval tv = { (time_t)(left / 1000000), (suseconds_t)(left % 1000000) };
	event_del(&p->ev);
	event_assign(&p->ev, p->base, p->fd, what, on_socket, p);
	event_priority_set(&p->ev, event_base_get_npriorities(p->base) - 1);
	if (event_add(&p->ev, &tv) < 0)
		finish(p, RESULT_CLOSED, 0);
}

/* The request for the probe's kind (TCP sends nothing). */
static void build_request(struct health_probe *p, const struct probe_target *t)
{
	char host[INET6_ADDRSTRLEN + 8], addr[INET6_ADDRSTRLEN];
	inet_ntop(t->family, t->addr, addr, sizeof addr);
	snprintf(host, sizeof host, t->family == AF_INET6 ? "[%s]:%u" : "%s:%u", addr, t->port);
	if (t->kind == CHECK_HTTP)
		p->out_len = http_probe_request((char *)p->out, sizeof p->out, host, t->path);
	else if (t->kind == CHECK_GRPC)
		p->out_len = grpc_probe_request(p->out, sizeof p->out, host, t->path);
}

/* Writes what is left of the request; 1 when all of it is out, 0 to wait, -1 on error. */
static int send_rest(struct health_probe *p)
{
	while (p->out_sent < p->out_len) {
		ssize_t n = send(p->fd, p->out + p->out_sent, p->out_len - p->out_sent, MSG_NOSIGNAL);
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
		p->out_sent += (size_t)n;
	}
	return 1;
}

/* Reads what arrived and asks the codec; returns 1 when the probe has finished. */
static int read_reply(struct health_probe *p)
{
	for (;;) {
		if (p->in_len == sizeof p->in) {
			finish(p, RESULT_BAD_REPLY, 0);
			return 1;
		}
		ssize_t n = recv(p->fd, p->in + p->in_len, sizeof p->in - p->in_len, 0);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return 0;
		if (n <= 0) {
			finish(p, RESULT_CLOSED, 0);
			return 1;
		}
		p->in_len += (size_t)n;
		if (p->kind == CHECK_HTTP) {
			uint16_t code = 0;
			enum codec_verdict v = http_status_parse(p->in, p->in_len, &code);
			if (v != CODEC_MORE) {
				finish(p, v == CODEC_DONE ? RESULT_HTTP : RESULT_BAD_REPLY, code);
				return 1;
			}
		} else {
			struct grpc_reply r;
			enum codec_verdict v = grpc_reply_parse(p->in, p->in_len, &r);
			if (r.peer_settings && !p->acked) {
				p->acked = 1;  /* best effort: a full socket buffer is not ours to wait on */
				(void)!send(p->fd, grpc_settings_ack, sizeof grpc_settings_ack, MSG_NOSIGNAL);
			}
			if (v == CODEC_BAD) {
				finish(p, RESULT_BAD_REPLY, 0);
				return 1;
			}
			if (v == CODEC_DONE) {
				finish(p, r.stream_failed ? RESULT_GRPC_ERROR :
					  r.serving == GRPC_SERVING ? RESULT_SERVING : RESULT_NOT_SERVING, 0);
				return 1;
			}
		}
	}
}

static void on_socket(evutil_socket_t fd, short what, void *arg)
{
	struct health_probe *p = arg;
	(void)fd;
	/* A persistent read event restarts its timeout with every byte: a backend that
	 * trickles its reply is cut at the probe's deadline all the same. */
	if ((what & EV_TIMEOUT) || now_us() >= p->deadline_us) {
		finish(p, RESULT_TIMEOUT, 0);
		return;
	}
	if (p->phase == PHASE_CONNECT) {
		int err = 0;
		socklen_t len = sizeof err;
		if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err) {
			finish(p, RESULT_REFUSED, 0);
			return;
		}
		if (p->kind == CHECK_TCP) {
			finish(p, RESULT_TCP_OPEN, 0);
			return;
		}
		p->phase = PHASE_WRITE;
	}
	if (p->phase == PHASE_WRITE) {
		int rc = send_rest(p);
		if (rc < 0) {
			finish(p, RESULT_CLOSED, 0);
			return;
		}
		if (rc == 0) {
			wait_for(p, EV_WRITE);
			return;
		}
		p->phase = PHASE_READ;
		wait_for(p, EV_READ | EV_PERSIST);
		return;
	}
	read_reply(p);
}

struct health_probe *health_probe_start(struct event_base *base, const struct probe_target *t,
					probe_done_fn done, void *arg, struct probe_outcome *failed)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	memset(&ss, 0, sizeof ss);
	memset(failed, 0, sizeof *failed);
	failed->result = RESULT_REFUSED;
	failed->state = HEALTH_CRITICAL;
	if (t->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(t->port);
		memcpy(&sin->sin_addr, t->addr, 4);
		sslen = sizeof *sin;
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(t->port);
		memcpy(&sin6->sin6_addr, t->addr, 16);
		sslen = sizeof *sin6;
	}
	struct health_probe *p = malloc(sizeof *p);
	if (!p)
		return NULL;
	memset(p, 0, offsetof(struct health_probe, out));
	p->base = base;
	p->kind = t->kind;
	p->done = done;
	p->arg = arg;
	p->started_us = now_us();
	p->deadline_us = p->started_us + (int64_t)t->timeout_ms * 1000;
	p->out_len = p->out_sent = p->in_len = 0;
	build_request(p, t);
	if (t->kind != CHECK_TCP && p->out_len == 0)
		goto fail;
	p->fd = socket(t->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p->fd < 0)
		goto fail;
	if (connect(p->fd, (struct sockaddr *)&ss, sslen) < 0 && errno != EINPROGRESS) {
		close(p->fd);
		goto fail;
	}
	p->phase = PHASE_CONNECT;
	struct timeval tv = { (time_t)(t->timeout_ms / 1000), (suseconds_t)(t->timeout_ms % 1000) * 1000 };
	event_assign(&p->ev, base, p->fd, EV_WRITE, on_socket, p);
	event_priority_set(&p->ev, event_base_get_npriorities(base) - 1);
	if (event_add(&p->ev, &tv) < 0) {
		close(p->fd);
		goto fail;
	}
	return p;
fail:
	free(p);
	return NULL;
}

void health_probe_cancel(struct health_probe *p)
{
	/* Closed with a reset, as HAProxy's checks do: no FIN exchange and no TIME_WAIT on
	 * either side, which at thousands of probes a second is most of their cost. */
	struct linger reset = { 1, 0 };
	event_del(&p->ev);
	setsockopt(p->fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
	close(p->fd);
	free(p);
}

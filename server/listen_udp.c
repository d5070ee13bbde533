/* listen_udp.c -- DNS over UDP: batches of datagrams in with recvmmsg, answers out with sendmmsg.
 *
 * This is the hot path: receive a batch, run each query through the front
 * (dns_front_query) into a preallocated slot, send the batch.  Each reply leaves
 * from the address its query arrived at (IP_PKTINFO), which matters for sockets
 * bound to a wildcard address on a host with several addresses. */
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "listen_dns.h"
#include "log.h"
#include "netio.h"
#include "query_log.h"

#define UDP_BATCH 32
#define UDP_QUERY_MAX 4096   /* bigger datagrams are not queries we answer */

union control_space {
	struct cmsghdr align;
	char space[CMSG_SPACE(sizeof(struct in6_pktinfo))];
};

struct udp_slot {
	struct sockaddr_storage peer;
	union control_space control, reply_control;
	struct iovec query_iov, answer_iov;
	uint8_t query[UDP_QUERY_MAX];
};

struct udp_listener {
	struct dns_listen_ctx *ctx;
	int fd;
	struct event *ev;
	struct mmsghdr in[UDP_BATCH], out[UDP_BATCH];
	struct udp_slot slots[UDP_BATCH];
	uint8_t *answers;            /* UDP_BATCH answers of max_udp_payload bytes */
	size_t answer_size;
};

static void prepare_receive(struct udp_listener *l)
{
	for (int i = 0; i < UDP_BATCH; i++) {
		struct udp_slot *s = &l->slots[i];
		struct msghdr *h = &l->in[i].msg_hdr;
		s->query_iov = (struct iovec){ s->query, sizeof s->query };
		memset(h, 0, sizeof *h);
		h->msg_name = &s->peer;
		h->msg_namelen = sizeof s->peer;
		h->msg_iov = &s->query_iov;
		h->msg_iovlen = 1;
		h->msg_control = &s->control;
		h->msg_controllen = sizeof s->control;
	}
}

/* Makes the reply leave from the address the query was sent to. */
static void set_reply_source(struct msghdr *reply, struct msghdr *query, union control_space *out)
{
	reply->msg_control = NULL;
	reply->msg_controllen = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(query); c; c = CMSG_NXTHDR(query, c)) {
		memset(out, 0, sizeof *out);
		reply->msg_control = out;
		struct cmsghdr *r = &out->align;
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo info;
			memcpy(&info, CMSG_DATA(c), sizeof info);
			info.ipi_spec_dst = info.ipi_addr;
			info.ipi_ifindex = 0;  /* let routing choose the interface */
			r->cmsg_level = IPPROTO_IP;
			r->cmsg_type = IP_PKTINFO;
			r->cmsg_len = CMSG_LEN(sizeof info);
			memcpy(CMSG_DATA(r), &info, sizeof info);
			reply->msg_controllen = CMSG_SPACE(sizeof info);
			return;
		}
		if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
			r->cmsg_level = IPPROTO_IPV6;
			r->cmsg_type = IPV6_PKTINFO;
			r->cmsg_len = CMSG_LEN(sizeof(struct in6_pktinfo));
			memcpy(CMSG_DATA(r), CMSG_DATA(c), sizeof(struct in6_pktinfo));
			reply->msg_controllen = CMSG_SPACE(sizeof(struct in6_pktinfo));
			return;
		}
	}
	reply->msg_control = NULL;
}

/* Sends a forwarded query's answer from the address the query arrived at. */
static void udp_forward_reply(const struct forward_client *client, const uint8_t *answer,
			      size_t len)
{
	const struct udp_listener *l = client->owner;
	struct iovec iov = { (void *)answer, len };
	struct msghdr h = {
		.msg_name = (void *)&client->peer, .msg_namelen = client->peer_len,
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = client->source_len ? (void *)&client->source : NULL,
		.msg_controllen = client->source_len,
	};
	if (sendmsg(l->fd, &h, 0) < 0)
		log_debug("udp sendmsg (forwarded answer): %s", strerror(errno));
}

/* Hands a query for a name outside our zones to the forwarder.  Returns 1 when it took
 * the query (udp_forward_reply answers later), 0 when the local answer must go out. */
static int udp_forward(struct udp_listener *l, struct udp_slot *s, struct msghdr *qh,
		       const struct dns_query *q)
{
	struct forward_client client = { .reply = udp_forward_reply, .owner = l, .transport = DNS_UDP };
	struct msghdr reply = { 0 };
	union control_space control;
	memcpy(&client.peer, &s->peer, qh->msg_namelen);
	client.peer_len = qh->msg_namelen;
	set_reply_source(&reply, qh, &control);
	if (reply.msg_control) {
		memcpy(&client.source, &control, reply.msg_controllen);
		client.source_len = reply.msg_controllen;
	}
	return forwarder_start(l->ctx->forwarder, &client, q) == 0;
}

/* Runs one datagram through the front.  Returns the answer's length in answer, or 0
 * when nothing goes out now (dropped, or forwarded and answered later). */
static size_t udp_answer_one(struct udp_listener *l, int i, uint8_t *answer)
{
	struct dns_front *front = l->ctx->front;
	struct udp_slot *s = &l->slots[i];
	struct msghdr *qh = &l->in[i].msg_hdr;
	struct front_result res;
	/* log-queries: the one branch the query log costs when it is off. */
	switch ((l->ctx->cfg->log_queries ? query_log_front : dns_front_query)(front,
			(const struct sockaddr *)&s->peer, DNS_UDP, s->query, l->in[i].msg_len,
			answer, l->answer_size, &res)) {
	case FRONT_SEND:
		return res.len;
	case FRONT_FORWARD:
		if (udp_forward(l, s, qh, &res.query))
			return 0;
		return dns_front_unforwarded(front, &res, answer, l->answer_size);
	case FRONT_TRANSFER:  /* only over TCP */
	case FRONT_DROP:
		break;
	}
	return 0;
}

static void udp_readable(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	struct udp_listener *l = arg;
	struct responder *r = l->ctx->front->responder;
	/* A bounded number of batches per wakeup keeps TCP and timers served under flood. */
	for (int round = 0; round < 8; round++) {
		prepare_receive(l);
		int n = recvmmsg(fd, l->in, UDP_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0) {
			if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_warn("udp recvmmsg: %s", strerror(errno));
			return;
		}
		int64_t batch_start_us = monotonic_us();
		r->now_ms = batch_start_us / 1000;
		int replies = 0;
		for (int i = 0; i < n; i++) {
			struct msghdr *qh = &l->in[i].msg_hdr;
			if (qh->msg_flags & MSG_TRUNC)
				continue;
			uint8_t *answer = l->answers + (size_t)replies * l->answer_size;
			size_t len = udp_answer_one(l, i, answer);
			if (len == 0)
				continue;
			struct udp_slot *s = &l->slots[i];
			struct msghdr *rh = &l->out[replies].msg_hdr;
			memset(rh, 0, sizeof *rh);
			s->answer_iov = (struct iovec){ answer, len };
			rh->msg_name = &s->peer;
			rh->msg_namelen = qh->msg_namelen;
			rh->msg_iov = &s->answer_iov;
			rh->msg_iovlen = 1;
			set_reply_source(rh, qh, &s->reply_control);
			replies++;
		}
		/* One clock read per batch: its time is shared out evenly among its queries. */
		double per_query_us = (double)(monotonic_us() - batch_start_us) / n;
		metrics_observe_latency(&r->metrics, per_query_us, (unsigned)n);
		udp_send_batch(fd, l->out, (unsigned)replies, "dns udp");
		if (n < UDP_BATCH)
			return;
	}
}

struct udp_listener *udp_listener_open(struct dns_listen_ctx *ctx, const struct listen_addr *addr)
{
	int fd = listen_socket_open(addr, SOCK_DGRAM, "dns");
	if (fd < 0)
		return NULL;
	/* Only a wildcard socket needs to learn each query's destination address; on a
	 * socket bound to one address the kernel already answers from it, and the control
	 * messages would cost every packet. */
	int on = 1;
	if (addr->sa.ss_family == AF_INET &&
	    ((const struct sockaddr_in *)&addr->sa)->sin_addr.s_addr == htonl(INADDR_ANY))
		setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof on);
	else if (addr->sa.ss_family == AF_INET6 &&
		 IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)&addr->sa)->sin6_addr))
		setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof on);
	struct udp_listener *l = calloc(1, sizeof *l);
	if (!l)
		goto fail;
	l->ctx = ctx;
	l->fd = fd;
	l->answer_size = ctx->cfg->max_udp_payload;
	l->answers = malloc(UDP_BATCH * l->answer_size);
	l->ev = event_new(ctx->base, fd, EV_READ | EV_PERSIST, udp_readable, l);
	if (!l->answers || !l->ev || event_add(l->ev, NULL) < 0)
		goto fail;
	log_info("dns: listening on udp %s", addr->text);
	return l;
fail:
	log_error("dns: udp %s: out of memory", addr->text);
	if (l) {
		if (l->ev)
			event_free(l->ev);
		free(l->answers);
		free(l);
	}
	close(fd);
	return NULL;
}

void udp_listener_free(struct udp_listener *l)
{
	if (!l)
		return;
	event_free(l->ev);
	close(l->fd);
	free(l->answers);
	free(l);
}

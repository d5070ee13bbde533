/* dns_guard.c -- who may ask, and how much. */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "dns_guard.h"

struct tcp_client {
	struct hnode node;
	uint8_t key[17];              /* family byte + address */
	unsigned connections;
};

void dns_guard_init(struct dns_guard *g, const struct config *cfg)
{
	memset(g, 0, sizeof *g);
	rate_limiter_init(&g->rrl, cfg->rrl_rate, cfg->rrl_rate, 100000);
	htable_init(&g->tcp_clients);
}

static void free_client(struct hnode *node, void *arg)
{
	(void)arg;
	free(HNODE_RECORD(node, struct tcp_client, node));
}

void dns_guard_free(struct dns_guard *g)
{
	rate_limiter_free(&g->rrl);
	htable_foreach(&g->tcp_clients, free_client, NULL);
	htable_free(&g->tcp_clients);
}

void dns_guard_configure(struct dns_guard *g, const struct config *cfg)
{
	g->rrl.rate = cfg->rrl_rate;
	g->rrl.burst = cfg->rrl_rate < 1 ? 1 : cfg->rrl_rate;
}

int dns_guard_may_query(const struct config *cfg, const struct sockaddr *client)
{
	return cfg->allow_query.count == 0 || cidr_list_match(&cfg->allow_query, client);
}

int dns_guard_may_transfer(const struct config *cfg, const struct sockaddr *client,
			   const struct tsig_key *key)
{
	for (size_t i = 0; i < cfg->transfer_allow_count; i++) {
		const struct transfer_acl *acl = &cfg->transfer_allow[i];
		if (cidr_list_match(&acl->from, client) &&
		    (acl->key.index < 0 || key == &cfg->tsig_keys[acl->key.index]))
			return 1;
	}
	return 0;
}

/* The client's network (/24 and /56 by default): one spoofed victim often sits
 * behind many addresses of one network, and so do NATed clients. */
static void network_of(const struct config *cfg, const struct sockaddr *client,
		       struct sockaddr_storage *out)
{
	uint8_t addr[16];
	int family = sockaddr_ip(client, addr);
	int prefix = family == AF_INET ? (int)cfg->rrl_ipv4_prefix : (int)cfg->rrl_ipv6_prefix;
	for (int bit = prefix; bit < (family == AF_INET ? 32 : 128); bit++)
		addr[bit / 8] &= (uint8_t)~(0x80 >> (bit % 8));
	memset(out, 0, sizeof *out);
	if (family == AF_INET) {
		struct sockaddr_in *v4 = (struct sockaddr_in *)out;
		v4->sin_family = AF_INET;
		memcpy(&v4->sin_addr, addr, 4);
	} else {
		struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)out;
		v6->sin6_family = AF_INET6;
		memcpy(&v6->sin6_addr, addr, 16);
	}
}

enum rrl_verdict dns_guard_udp_answer(struct dns_guard *g, const struct config *cfg,
				      const struct sockaddr *client, int64_t now_ms)
{
	if (cfg->rrl_rate == 0)
		return RRL_SEND;
	struct sockaddr_storage net;
	network_of(cfg, client, &net);
	if (rate_limiter_allow(&g->rrl, (struct sockaddr *)&net, now_ms))
		return RRL_SEND;
	/* Slip: a real client behind a spoofed flood still gets a TC now and then,
	 * retries over TCP (which cannot be spoofed) and is served. */
	if (cfg->rrl_slip && ++g->slip_counter % cfg->rrl_slip == 0)
		return RRL_SLIP;
	return RRL_DROP;
}

static struct tcp_client *find_client(struct dns_guard *g, const struct sockaddr *client, uint8_t key[17])
{
	key[0] = (uint8_t)sockaddr_ip(client, key + 1);
	struct hnode *n = htable_find(&g->tcp_clients, key, 17);
	return n ? HNODE_RECORD(n, struct tcp_client, node) : NULL;
}

int dns_guard_tcp_open(struct dns_guard *g, const struct config *cfg, const struct sockaddr *client)
{
	uint8_t key[17];
	struct tcp_client *c = find_client(g, client, key);
	if (c && c->connections >= cfg->tcp_max_connections_per_client)
		return -1;
	if (!c) {
		c = calloc(1, sizeof *c);
		if (!c)
			return -1;
		memcpy(c->key, key, sizeof key);
		if (htable_insert(&g->tcp_clients, &c->node, c->key, sizeof c->key) < 0) {
			free(c);
			return -1;
		}
	}
	c->connections++;
	return 0;
}

void dns_guard_tcp_close(struct dns_guard *g, const struct sockaddr *client)
{
	uint8_t key[17];
	struct tcp_client *c = find_client(g, client, key);
	if (!c)
		return;
	if (--c->connections == 0) {
		htable_remove(&g->tcp_clients, &c->node);
		free(c);
	}
}

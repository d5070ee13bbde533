/* acl.c -- address lists in CIDR notation: parse and match client sources. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"

int cidr_parse(const char *text, struct cidr *out)
{
	char host[64];
	const char *slash = strchr(text, '/');
	size_t len = slash ? (size_t)(slash - text) : strlen(text);
	if (len == 0 || len >= sizeof host)
		return -1;
	memcpy(host, text, len);
	host[len] = 0;
	memset(out, 0, sizeof *out);
	if (inet_pton(AF_INET, host, out->addr) == 1)
		out->family = AF_INET;
	else if (inet_pton(AF_INET6, host, out->addr) == 1)
		out->family = AF_INET6;
	else
		return -1;
	int max = out->family == AF_INET ? 32 : 128;
	out->prefix = max;
	if (slash) {
		char *end;
		long bits = strtol(slash + 1, &end, 10);
		if (slash[1] == 0 || *end || bits < 0 || bits > max)
			return -1;
		out->prefix = (int)bits;
	}
	return 0;
}

int cidr_list_add(struct cidr_list *list, const struct cidr *c)
{
	struct cidr *grown = realloc(list->items, (list->count + 1) * sizeof *grown);
	if (!grown)
		return -1;
	list->items = grown;
	list->items[list->count++] = *c;
	return 0;
}

int cidr_has_host_bits(const struct cidr *c)
{
	int bytes = c->family == AF_INET ? 4 : 16;
	for (int i = 0; i < bytes; i++) {
		int keep = c->prefix - i * 8;  /* bits of this byte inside the prefix */
		uint8_t mask = keep >= 8 ? 0xff : keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
		if (c->addr[i] & (uint8_t)~mask)
			return 1;
	}
	return 0;
}

void cidr_format(const struct cidr *c, char *out, size_t size)
{
	uint8_t net[16] = { 0 };
	char text[INET6_ADDRSTRLEN];
	int bytes = c->family == AF_INET ? 4 : 16;
	for (int i = 0; i < bytes; i++) {
		int keep = c->prefix - i * 8;
		uint8_t mask = keep >= 8 ? 0xff : keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
		net[i] = c->addr[i] & mask;
	}
	inet_ntop(c->family, net, text, sizeof text);
	snprintf(out, size, "%s/%d", text, c->prefix);
}

int cidr_list_add_texts(struct cidr_list *list, const char *const *texts, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		struct cidr c;
		if (cidr_parse(texts[i], &c) < 0 || cidr_list_add(list, &c) < 0)
			return -1;
	}
	return 0;
}

void cidr_list_free(struct cidr_list *list)
{
	free(list->items);
	list->items = NULL;
	list->count = 0;
}

int sockaddr_ip(const struct sockaddr *sa, uint8_t addr[16])
{
	memset(addr, 0, 16);
	if (sa->sa_family == AF_INET) {
		memcpy(addr, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
		return AF_INET;
	}
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a)) {
			memcpy(addr, a->s6_addr + 12, 4);
			return AF_INET;
		}
		memcpy(addr, a->s6_addr, 16);
		return AF_INET6;
	}
	return 0;
}

static int prefix_matches(const uint8_t *a, const uint8_t *b, int bits)
{
	int bytes = bits / 8, rest = bits % 8;
	if (memcmp(a, b, (size_t)bytes) != 0)
		return 0;
	if (rest == 0)
		return 1;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (a[bytes] & mask) == (b[bytes] & mask);
}

int cidr_list_match(const struct cidr_list *list, const struct sockaddr *sa)
{
	uint8_t addr[16];
	int family = sockaddr_ip(sa, addr);
	return cidr_list_match_ip(list, family, addr);
}

int cidr_list_match_ip(const struct cidr_list *list, int family, const uint8_t *addr)
{
	for (size_t i = 0; i < list->count; i++)
		if (list->items[i].family == family &&
		    prefix_matches(addr, list->items[i].addr, list->items[i].prefix))
			return 1;
	return 0;
}

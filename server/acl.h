/* acl.h -- address lists in CIDR notation: parse and match client sources. */
#ifndef SVCDNS_ACL_H
#define SVCDNS_ACL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct cidr {
	int family;          /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	int prefix;          /* bits */
};

struct cidr_list {
	struct cidr *items;  /* owned */
	size_t count;
};

/* Parses "10.0.0.0/8", "fd00::/8" or a bare address (a host route); returns 0 or -1. */
int cidr_parse(const char *text, struct cidr *out);
/* Appends a parsed entry; returns 0 or -1 when out of memory. */
int cidr_list_add(struct cidr_list *list, const struct cidr *c);
/* True when bits below the prefix are set (10.0.0.1/8): almost always a typo. */
int cidr_has_host_bits(const struct cidr *c);
/* Writes the network the prefix means, host bits cleared: "10.0.0.0/8". */
void cidr_format(const struct cidr *c, char *out, size_t size);
/* Appends every entry of a comma-free list of texts; returns 0 or -1 on a bad entry. */
int cidr_list_add_texts(struct cidr_list *list, const char *const *texts, size_t count);
void cidr_list_free(struct cidr_list *list);
/* True when the address (4 or 16 bytes of family) lies in the list. */
int cidr_list_match_ip(const struct cidr_list *list, int family, const uint8_t *addr);
/* True when the socket address lies in the list (IPv4-mapped IPv6 counts as IPv4). */
int cidr_list_match(const struct cidr_list *list, const struct sockaddr *sa);
/* The address of a socket address, IPv4-mapped IPv6 unwrapped; returns the family. */
int sockaddr_ip(const struct sockaddr *sa, uint8_t addr[16]);

#endif

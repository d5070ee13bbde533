/* zones.h -- static zones: RFC 1035 master files loaded with ldns into lookup tables. */
#ifndef SVCDNS_ZONES_H
#define SVCDNS_ZONES_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "dname.h"
#include "htable.h"

#define ZONES_ERROR_MAX 512

/* The records of one owner and type, rdata pre-encoded as wire bytes. */
struct rrset {
	uint16_t type;
	uint16_t count;
	uint32_t ttl;
	uint8_t *rdata;       /* count times: 16-bit length, then the rdata; owned */
	size_t rdata_size;
};

struct zone_node {
	struct hnode node;    /* in zone.nodes, keyed by name */
	uint8_t *name;        /* lowercase wire; owned; its length is node.key_len */
	struct rrset *rrsets; /* none for an empty non-terminal; owned */
	size_t rrset_count;
};

struct zone {
	struct zone *next;
	uint8_t apex[DNAME_MAX_WIRE];
	size_t apex_len;
	int is_service_domain;    /* merged with the registry; SOA and NS come from config */
	struct htable nodes;
	const struct rrset *soa;  /* NULL for the service domain */
	char file[PATH_MAX];
};

struct zone_set {
	struct zone *first;
	size_t zone_count;
};

/* Loads every *.zone file of dir; a missing dir is an empty set.
 * On error writes "file:line: reason" into err and frees what was loaded. */
int zones_load_dir(struct zone_set *zs, const char *dir, const uint8_t *service_domain,
		   char err[ZONES_ERROR_MAX]);
/* Loads one master file (used by zones_load_dir and the tests). */
int zones_load_file(struct zone_set *zs, const char *path, const uint8_t *service_domain,
		    char err[ZONES_ERROR_MAX]);
void zones_free(struct zone_set *zs);
/* The zone that is the closest encloser of name, or NULL. */
const struct zone *zones_find(const struct zone_set *zs, const uint8_t *name, size_t len);
/* The static zone (not the service domain) whose apex is exactly name, with its SOA:
 * one that can be transferred; NULL otherwise. */
const struct zone *zones_find_apex(const struct zone_set *zs, const uint8_t *name, size_t len);
/* A node by lowercase wire name, or NULL. */
const struct zone_node *zone_find_node(const struct zone *z, const uint8_t *name, size_t len);
/* An RRset of the node by type, or NULL. */
const struct rrset *node_find_rrset(const struct zone_node *n, uint16_t type);

#endif

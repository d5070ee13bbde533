/* dns_answer.h -- the RFC 1034 answer steps, collected as RRsets and encoded once.
 *
 * Like NSD's answer.c: dns_answer_collect() (dns_answer.c) decides what goes into
 * each section (answer, nodata, nxdomain, refused); dns_answer_encode() (dns_encode.c)
 * writes it within the client's size, dropping additional data first and setting TC
 * when the answer itself is cut. */
#ifndef SVCDNS_DNS_ANSWER_H
#define SVCDNS_DNS_ANSWER_H

#include "dns_query.h"

enum answer_section { SECTION_ANSWER, SECTION_AUTHORITY, SECTION_ADDITIONAL, SECTION_COUNT };

enum item_kind {
	ITEM_STATIC,          /* an RRset of a zone file */
	ITEM_INSTANCES,       /* A, AAAA, SRV or TXT of registry instances (shuffled) */
	ITEM_INSTANCE_ADDRS,  /* A/AAAA of the SRV targets that made it into the answer */
	ITEM_SOA,             /* the service domain's SOA, from config and registry serial */
	ITEM_NS,              /* the service domain's NS, from config */
	ITEM_NS_ADDRS,        /* the NS name's addresses, from config */
	ITEM_PTR,             /* reverse names of registry instances at one address */
	ITEM_DNSSD_TYPES,     /* _services._dns-sd._udp.D: a PTR per service type a client sees */
	ITEM_DNSSD_PTR,       /* _SVC._PROTO.D (or a _sub): a PTR per instance */
	ITEM_DNSSD_EXTRAS,    /* SRV, TXT and address of each instance of an ITEM_DNSSD_PTR */
	ITEM_DNSSD_DOMAIN,    /* b._dns-sd._udp.D, lb._dns-sd._udp.D: PTR to the domain */
};

struct answer_item {
	enum item_kind kind;
	const uint8_t *owner;         /* lowercase wire name */
	uint16_t type;
	uint32_t ttl;
	const struct rrset *rrset;    /* ITEM_STATIC */
	struct instance **instances;  /* ITEM_INSTANCES: a slice of the responder's scratch */
	size_t instance_count;
	size_t emit_limit;            /* ITEM_INSTANCES: at most this many records (answer-limit) */
	size_t emitted;               /* ITEM_INSTANCES: records that fit */
	const struct answer_item *srv_item; /* ITEM_INSTANCE_ADDRS, ITEM_DNSSD_EXTRAS */
	const uint8_t *dnssd_base;    /* ITEM_DNSSD_PTR/EXTRAS: "_SVC._PROTO.D", instance names' parent */
	struct instance *single;      /* ITEM_INSTANCES of one instance outside scratch */
	uint32_t *weights;            /* ITEM_INSTANCES: effective weights, drawn by; NULL: uniform */
	int split_weights;            /* SRV records carry weights[] (a split), not weight= */
};

#define ANSWER_MAX_ITEMS 12
#define ANSWER_MAX_CHAIN 8   /* CNAMEs followed within our zones */
#define ANSWER_MAX_TARGETS 8 /* NS, MX and SRV targets given addresses in additional */

struct answer {
	uint8_t rcode;                /* the full rcode: BADVERS (16) goes partly into OPT */
	int authoritative;
	int outside_zones;            /* the name is in none of our zones: one to forward */
	int header_only;              /* no readable question: the reply is the header alone */
	int truncated;                /* set TC whatever fits (RRL slip) */
	int ede;                      /* an Extended DNS Error for the OPT, or EDE_NONE */
	uint16_t tsig_error;          /* nonzero: answer with an unsigned TSIG carrying it */
	struct answer_item items[SECTION_COUNT][ANSWER_MAX_ITEMS];
	int item_count[SECTION_COUNT];
	uint8_t chain_names[ANSWER_MAX_CHAIN][DNAME_MAX_WIRE]; /* CNAME targets, lowercase */
	uint8_t target_names[ANSWER_MAX_TARGETS][DNAME_MAX_WIRE]; /* NS/MX/SRV targets, lowercase */
	int target_count;
	uint32_t view;                /* the client's networks (views.h), from the query */
};

/* An empty answer with this rcode. */
void dns_answer_init(struct answer *a, uint8_t rcode);
/* Decides the answer to a parsed query. */
void dns_answer_collect(struct responder *r, const struct dns_query *q, struct answer *a);
/* Whether q's name is the apex of a zone we transfer (the service domain, a static
 * zone); fills a with its SOA, the answer to an IXFR over UDP (RFC 1995 2). */
int dns_answer_transfer_zone(struct responder *r, const struct dns_query *q, struct answer *a);
/* Writes header, question, the answer's sections and OPT into out within limit bytes. */
size_t dns_answer_encode(struct responder *r, const struct dns_query *q, struct answer *a,
			 uint8_t *out, size_t limit);

#endif

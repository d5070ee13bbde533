/* store_codec.h -- the etcd key layout and the instance record's JSON (etcd mode).
 *
 * Keys under the prefix (default "/svcdns/<domain>/"):
 *   i/<service>/<instance>   one instance: JSON from store_record_encode(), no etcd lease
 *   s/<service>              a service's split: JSON from store_split_encode(), no etcd lease
 *   n/<node-id>              a node's membership record, on the node's one etcd lease
 *   meta/serial-base         decimal, written once by a create-only txn
 * Every field of struct instance_spec goes through the one encoder and decoder here, so a
 * new field is added in two places side by side. */
#ifndef SVCDNS_STORE_CODEC_H
#define SVCDNS_STORE_CODEC_H

#include <jansson.h>
#include <stddef.h>

#include "registry.h"
#include "split.h"

#define STORE_NODE_ID_MAX 128
#define STORE_KEY_MAX (512 + 2 * DNAME_MAX_LABEL)

/* What an instance record holds besides the spec. */
struct store_record {
	struct instance_spec spec;
	unsigned ttl;                       /* the granted lease, seconds */
	char key[64];                       /* the registering key's name; "" none */
	char owner[STORE_NODE_ID_MAX];      /* the node that keeps the lease */
};

/* The record as JSON text (malloc'ed, NUL-terminated), or NULL when out of memory. */
char *store_record_encode(const struct store_record *rec);
/* Parses a record; 0, or -1 with a reason. */
int store_record_decode(const char *json, size_t len, struct store_record *rec, const char **reason);
/* "<prefix>i/<service>/<instance>" into out; its length. */
size_t store_instance_key(const char *prefix, const char *service, const char *instance,
			  char out[STORE_KEY_MAX]);
/* Splits the part after "<prefix>i/" into service and instance; 0 or -1 for a bad key. */
int store_parse_instance_key(const char *rest, size_t len, char service[DNAME_MAX_LABEL + 1],
			     char instance[DNAME_MAX_LABEL + 1]);
/* A split as JSON text, {"shares":{"v1":90,"v2":10},"limit":1} (malloc'ed), or NULL. */
char *store_split_encode(const struct split *sp);
/* Parses a split's JSON into sp, whose service the caller sets, with SPLIT's checks;
 * 0, or -1 with a reason in reason (size bytes). */
int store_split_decode(const char *json, size_t len, struct split *sp, char *reason, size_t size);
/* "<prefix>s/<service>" into out; its length. */
size_t store_split_key(const char *prefix, const char *service, char out[STORE_KEY_MAX]);
/* The end of a prefix range (etcd's range_end: the prefix with its last byte plus one). */
void store_range_end(const char *prefix, char out[STORE_KEY_MAX]);
/* base64 of len bytes into out (at least 4 * (len + 2) / 3 + 1 bytes). */
void store_base64(const void *data, size_t len, char *out);
/* Decodes base64 into out (size bytes); the decoded length, or -1. */
long store_unbase64(const char *text, uint8_t *out, size_t size);

#endif

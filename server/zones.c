/* zones.c -- static zones: RFC 1035 master files loaded with ldns into lookup tables.
 *
 * Loading is off the hot path, so ldns parses each record; what stays in memory
 * is plain wire bytes per RRset, ready to be copied into answers. */
#include <dirent.h>
#include <errno.h>
#include <ldns/ldns.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "zones.h"

struct loaded_rr {
	ldns_rr *rr;
	int line;
};

struct rr_list {
	struct loaded_rr *items;
	size_t count, capacity;
};

static void rr_list_free(struct rr_list *list)
{
	for (size_t i = 0; i < list->count; i++)
		ldns_rr_free(list->items[i].rr);
	free(list->items);
}

static int rr_list_push(struct rr_list *list, ldns_rr *rr, int line)
{
	if (list->count == list->capacity) {
		size_t cap = list->capacity ? list->capacity * 2 : 64;
		struct loaded_rr *grown = realloc(list->items, cap * sizeof *grown);
		if (!grown)
			return -1;
		list->items = grown;
		list->capacity = cap;
	}
	list->items[list->count++] = (struct loaded_rr){ rr, line };
	return 0;
}

static void free_node(struct hnode *hn, void *arg)
{
	(void)arg;
	struct zone_node *n = HNODE_RECORD(hn, struct zone_node, node);
	for (size_t i = 0; i < n->rrset_count; i++)
		free(n->rrsets[i].rdata);
	free(n->rrsets);
	free(n->name);
	free(n);
}

static void zone_free(struct zone *z)
{
	htable_foreach(&z->nodes, free_node, NULL);
	htable_free(&z->nodes);
	free(z);
}

void zones_free(struct zone_set *zs)
{
	struct zone *z = zs->first;
	while (z) {
		struct zone *next = z->next;
		zone_free(z);
		z = next;
	}
	zs->first = NULL;
	zs->zone_count = 0;
}

const struct zone_node *zone_find_node(const struct zone *z, const uint8_t *name, size_t len)
{
	struct hnode *n = htable_find(&z->nodes, name, len);
	return n ? HNODE_RECORD(n, struct zone_node, node) : NULL;
}

const struct rrset *node_find_rrset(const struct zone_node *n, uint16_t type)
{
	for (size_t i = 0; i < n->rrset_count; i++)
		if (n->rrsets[i].type == type)
			return &n->rrsets[i];
	return NULL;
}

const struct zone *zones_find(const struct zone_set *zs, const uint8_t *name, size_t len)
{
	const struct zone *best = NULL;
	for (const struct zone *z = zs->first; z; z = z->next)
		if ((!best || z->apex_len > best->apex_len) &&
		    dname_suffix_offset(name, len, z->apex, z->apex_len) >= 0)
			best = z;
	return best;
}

const struct zone *zones_find_apex(const struct zone_set *zs, const uint8_t *name, size_t len)
{
	const struct zone *z = zones_find(zs, name, len);
	return z && !z->is_service_domain && z->apex_len == len && z->soa ? z : NULL;
}

static struct zone_node *get_node(struct zone *z, const uint8_t *name, size_t len)
{
	struct hnode *hn = htable_find(&z->nodes, name, len);
	if (hn)
		return HNODE_RECORD(hn, struct zone_node, node);
	struct zone_node *n = calloc(1, sizeof *n);
	if (!n || !(n->name = malloc(len)))
		goto fail;
	memcpy(n->name, name, len);
	if (htable_insert(&z->nodes, &n->node, n->name, len) < 0)
		goto fail;
	return n;
fail:
	if (n)
		free(n->name);
	free(n);
	return NULL;
}

static int add_rdata(struct zone_node *n, const ldns_rr *rr)
{
	uint16_t type = (uint16_t)ldns_rr_get_type(rr);
	struct rrset *set = (struct rrset *)node_find_rrset(n, type);
	if (!set) {
		struct rrset *grown = realloc(n->rrsets, (n->rrset_count + 1) * sizeof *grown);
		if (!grown)
			return -1;
		n->rrsets = grown;
		set = &n->rrsets[n->rrset_count++];
		memset(set, 0, sizeof *set);
		set->type = type;
		set->ttl = ldns_rr_ttl(rr);
	}
	/* RFC 2181 5.2: one TTL per RRset; the smallest is the safe one. */
	if (ldns_rr_ttl(rr) < set->ttl)
		set->ttl = ldns_rr_ttl(rr);
	ldns_buffer *buf = ldns_buffer_new(512);
	if (!buf)
		return -1;
	int rc = -1;
	if (ldns_rr_rdata2buffer_wire(buf, rr) != LDNS_STATUS_OK)
		goto out;
	size_t len = ldns_buffer_position(buf);
	uint8_t *grown = realloc(set->rdata, set->rdata_size + 2 + len);
	if (!grown)
		goto out;
	set->rdata = grown;
	set->rdata[set->rdata_size] = (uint8_t)(len >> 8);
	set->rdata[set->rdata_size + 1] = (uint8_t)len;
	memcpy(set->rdata + set->rdata_size + 2, ldns_buffer_begin(buf), len);
	set->rdata_size += 2 + len;
	set->count++;
	rc = 0;
out:
	ldns_buffer_free(buf);
	return rc;
}

/* Every name between an owner and the apex exists, even without records (RFC 4592). */
static int add_empty_non_terminals(struct zone *z, const uint8_t *name, size_t len)
{
	size_t off = name[0] + 1u;
	while (len - off > z->apex_len) {
		if (!get_node(z, name + off, len - off))
			return -1;
		off += name[off] + 1u;
	}
	return 0;
}

static int read_records(FILE *f, const char *path, ldns_rdf *origin, struct rr_list *list,
			char err[ZONES_ERROR_MAX])
{
	uint32_t default_ttl = 3600;
	ldns_rdf *prev = NULL;
	int line = 1, rc = 0;
	while (!feof(f)) {
		ldns_rr *rr = NULL;
		int start_line = line;
		ldns_status st = ldns_rr_new_frm_fp_l(&rr, f, &default_ttl, &origin, &prev, &line);
		if (st == LDNS_STATUS_SYNTAX_EMPTY || st == LDNS_STATUS_SYNTAX_TTL ||
		    st == LDNS_STATUS_SYNTAX_ORIGIN)
			continue;
		if (st != LDNS_STATUS_OK) {
			snprintf(err, ZONES_ERROR_MAX, "%s:%d: %s", path, start_line,
				 st == LDNS_STATUS_SYNTAX_INCLUDE ? "$INCLUDE is not supported"
								  : ldns_get_errorstr_by_id(st));
			rc = -1;
			break;
		}
		if (rr_list_push(list, rr, start_line) < 0) {
			ldns_rr_free(rr);
			snprintf(err, ZONES_ERROR_MAX, "%s: out of memory", path);
			rc = -1;
			break;
		}
	}
	ldns_rdf_deep_free(origin);
	ldns_rdf_deep_free(prev);
	return rc;
}

/* Rejects what we do not serve correctly: out-of-zone data, delegations, wildcards, DNAME. */
static int check_record(const struct zone *z, const ldns_rr *rr, const uint8_t *owner,
			size_t owner_len, const char *where, char err[ZONES_ERROR_MAX])
{
	ldns_rr_type type = ldns_rr_get_type(rr);
	if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN) {
		snprintf(err, ZONES_ERROR_MAX, "%s: only class IN is served", where);
		return -1;
	}
	if (dname_suffix_offset(owner, owner_len, z->apex, z->apex_len) < 0) {
		snprintf(err, ZONES_ERROR_MAX, "%s: owner is outside the zone", where);
		return -1;
	}
	if (owner[0] == 1 && owner[1] == '*') {
		snprintf(err, ZONES_ERROR_MAX, "%s: wildcard records are not supported", where);
		return -1;
	}
	if (type == LDNS_RR_TYPE_NS && owner_len != z->apex_len) {
		snprintf(err, ZONES_ERROR_MAX,
			 "%s: delegations (NS below the apex) are not supported", where);
		return -1;
	}
	if (type == LDNS_RR_TYPE_DNAME) {
		snprintf(err, ZONES_ERROR_MAX, "%s: DNAME is not supported", where);
		return -1;
	}
	if (type == LDNS_RR_TYPE_SOA && owner_len != z->apex_len) {
		snprintf(err, ZONES_ERROR_MAX, "%s: SOA below the apex", where);
		return -1;
	}
	return 0;
}

static int owner_wire(const ldns_rr *rr, uint8_t out[DNAME_MAX_WIRE])
{
	const ldns_rdf *rdf = ldns_rr_owner(rr);
	size_t len = ldns_rdf_size(rdf);
	if (len == 0 || len > DNAME_MAX_WIRE)
		return 0;
	memcpy(out, ldns_rdf_data(rdf), len);
	dname_to_lower(out);
	return (int)len;
}

static int build_zone(struct zone *z, struct rr_list *list, char err[ZONES_ERROR_MAX])
{
	char where[PATH_MAX + 32];
	for (size_t i = 0; i < list->count; i++) {
		const ldns_rr *rr = list->items[i].rr;
		uint8_t owner[DNAME_MAX_WIRE];
		size_t len = (size_t)owner_wire(rr, owner);
		snprintf(where, sizeof where, "%s:%d", z->file, list->items[i].line);
		if (len == 0 || check_record(z, rr, owner, len, where, err) < 0)
			return -1;
		ldns_rr_type type = ldns_rr_get_type(rr);
		if (z->is_service_domain && len == z->apex_len &&
		    (type == LDNS_RR_TYPE_SOA || type == LDNS_RR_TYPE_NS)) {
			log_warn("%s: apex SOA/NS of the service domain come from the config; ignored", where);
			continue;
		}
		struct zone_node *n = get_node(z, owner, len);
		if (!n || add_rdata(n, rr) < 0 || add_empty_non_terminals(z, owner, len) < 0) {
			snprintf(err, ZONES_ERROR_MAX, "%s: out of memory", where);
			return -1;
		}
		if (node_find_rrset(n, LDNS_RR_TYPE_CNAME) &&
		    (n->rrset_count > 1 || node_find_rrset(n, LDNS_RR_TYPE_CNAME)->count > 1)) {
			snprintf(err, ZONES_ERROR_MAX, "%s: a CNAME cannot have other data (RFC 1034 3.6.2)", where);
			return -1;
		}
	}
	if (!get_node(z, z->apex, z->apex_len)) {
		snprintf(err, ZONES_ERROR_MAX, "%s: out of memory", z->file);
		return -1;
	}
	const struct zone_node *apex = zone_find_node(z, z->apex, z->apex_len);
	z->soa = z->is_service_domain ? NULL : node_find_rrset(apex, LDNS_RR_TYPE_SOA);
	return 0;
}

/* The apex is the SOA's owner; a file without SOA may only hold the service domain,
 * named after its file ("svc.internal.zone"). */
static int find_apex(struct zone *z, const struct rr_list *list, const char *origin_text,
		     const uint8_t *service_domain, char err[ZONES_ERROR_MAX])
{
	for (size_t i = 0; i < list->count; i++) {
		if (ldns_rr_get_type(list->items[i].rr) == LDNS_RR_TYPE_SOA) {
			z->apex_len = (size_t)owner_wire(list->items[i].rr, z->apex);
			break;
		}
	}
	if (z->apex_len == 0) {
		z->apex_len = dname_from_text(origin_text, z->apex);
		if (z->apex_len == 0 || memcmp(z->apex, service_domain, z->apex_len) != 0) {
			snprintf(err, ZONES_ERROR_MAX, "%s:1: no SOA record (only the service domain's "
				 "own zone file may leave it out)", z->file);
			return -1;
		}
	}
	z->is_service_domain = memcmp(z->apex, service_domain, z->apex_len) == 0 &&
			       dname_length(service_domain) == z->apex_len;
	return 0;
}

int zones_load_file(struct zone_set *zs, const char *path, const uint8_t *service_domain,
		    char err[ZONES_ERROR_MAX])
{
	struct rr_list list = { 0 };
	struct zone *z = NULL;
	int rc = -1;
	/* The file name without ".zone" is the default origin for relative names. */
	char origin_text[DNAME_MAX_TEXT];
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	snprintf(origin_text, sizeof origin_text, "%.*s", (int)(strlen(base) - (strlen(base) > 5 ? 5 : 0)), base);
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, ZONES_ERROR_MAX, "%s:0: cannot open: %s", path, strerror(errno));
		return -1;
	}
	ldns_rdf *origin = NULL;
	if (ldns_str2rdf_dname(&origin, origin_text) != LDNS_STATUS_OK)
		origin = NULL;
	if (read_records(f, path, origin, &list, err) < 0)
		goto out;
	z = calloc(1, sizeof *z);
	if (!z) {
		snprintf(err, ZONES_ERROR_MAX, "%s: out of memory", path);
		goto out;
	}
	snprintf(z->file, sizeof z->file, "%s", path);
	htable_init(&z->nodes);
	if (find_apex(z, &list, origin_text, service_domain, err) < 0 || build_zone(z, &list, err) < 0)
		goto out;
	for (const struct zone *other = zs->first; other; other = other->next) {
		if (other->apex_len == z->apex_len && !memcmp(other->apex, z->apex, z->apex_len)) {
			snprintf(err, ZONES_ERROR_MAX, "%s:1: zone already loaded from %s", path, other->file);
			goto out;
		}
	}
	z->next = zs->first;
	zs->first = z;
	zs->zone_count++;
	z = NULL;
	rc = 0;
out:
	if (z)
		zone_free(z);
	rr_list_free(&list);
	fclose(f);
	return rc;
}

static int is_zone_file(const struct dirent *d)
{
	size_t len = strlen(d->d_name);
	return d->d_name[0] != '.' && len > 5 && strcmp(d->d_name + len - 5, ".zone") == 0;
}

int zones_load_dir(struct zone_set *zs, const char *dir, const uint8_t *service_domain,
		   char err[ZONES_ERROR_MAX])
{
	struct dirent **names;
	memset(zs, 0, sizeof *zs);
	int n = scandir(dir, &names, is_zone_file, alphasort);
	if (n < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, ZONES_ERROR_MAX, "%s:0: cannot read zones directory: %s", dir, strerror(errno));
		return -1;
	}
	int rc = 0;
	for (int i = 0; i < n; i++) {
		char path[PATH_MAX];
		snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
		if (rc == 0 && zones_load_file(zs, path, service_domain, err) < 0)
			rc = -1;
		free(names[i]);
	}
	free(names);
	if (rc < 0)
		zones_free(zs);
	return rc;
}

/* dns_answer.c -- the RFC 1034 answer steps: what goes into each section, as RRsets.
 *
 * Nothing is written here; dns_encode.c writes the collected answer once. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "dns_answer_internal.h"
#include "views.h"
#include "weights.h"

struct answer_item *answer_add_item(struct answer *a, enum answer_section s, enum item_kind kind,
				    const uint8_t *owner, uint16_t type, uint32_t ttl)
{
	if (a->item_count[s] == ANSWER_MAX_ITEMS)
		return NULL;
	struct answer_item *it = &a->items[s][a->item_count[s]++];
	memset(it, 0, sizeof *it);
	it->kind = kind;
	it->owner = owner;
	it->type = type;
	it->ttl = ttl;
	return it;
}

/* Grows every scratch array of the responder to hold n candidates.  They only grow
 * (doubling), so after the largest service has been answered once, answers allocate
 * nothing. */
static int ensure_scratch(struct responder *r, size_t n)
{
	if (n <= r->scratch_capacity)
		return 0;
	size_t cap = r->scratch_capacity ? r->scratch_capacity : 64;
	while (cap < n)
		cap *= 2;
	struct instance **grown = realloc(r->scratch, cap * sizeof *grown);
	if (!grown)
		return -1;
	r->scratch = grown;
	uint32_t *weights = realloc(r->scratch_weights, cap * sizeof *weights);
	if (!weights)
		return -1;
	r->scratch_weights = weights;
	struct instance **pool = realloc(r->scratch_pool, cap * sizeof *pool);
	if (!pool)
		return -1;
	r->scratch_pool = pool;
	uint32_t *pool_weights = realloc(r->scratch_pool_weights, cap * sizeof *pool_weights);
	if (!pool_weights)
		return -1;
	r->scratch_pool_weights = pool_weights;
	uint64_t *tree = realloc(r->scratch_tree, WEIGHT_TREE_STORAGE(cap) * sizeof *tree);
	if (!tree)
		return -1;
	r->scratch_tree = tree;
	r->scratch_capacity = cap;
	return 0;
}

enum { ANY_FAMILY = 0 };

static bool in_subset(const struct instance *inst, const struct subset *sub)
{
	return (sub->view == VIEW_ALL || instance_visible(inst, sub->view)) &&
	       (!sub->tag || instance_has_tag(inst, sub->tag, sub->tag_len));
}

static bool is_candidate(const struct responder *r, const struct instance *inst, int family, int proto)
{
	return instance_live(inst, r->now_ms) && (!family || inst->family == family) &&
	       (proto < 0 || (int)inst->proto == proto);
}

/* Collects the candidates of a service into r->scratch, leaving out those whose health
 * check withholds them.  Fail-open: when that leaves none, all are answered, since an
 * empty answer is cached and turns one bad check into an outage.  Returns how many. */
static size_t collect_candidates(struct responder *r, const struct service *svc, int family,
				 int proto, const struct subset *sub, uint32_t *ttl)
{
	size_t n = 0, withheld = 0;
	bool only_passing = r->cfg->health_only_passing;
	for (int pass = 0; pass < 2 && n == 0; pass++) {
		for (size_t i = 0; i < svc->count; i++) {
			struct instance *inst = svc->instances[i];
			if (!is_candidate(r, inst, family, proto) || !in_subset(inst, sub))
				continue;
			if (pass == 0 && instance_withheld(inst, only_passing)) {
				withheld++;
				continue;
			}
			uint32_t t = responder_instance_ttl(r, inst);
			if (t < *ttl)
				*ttl = t;
			r->scratch[n++] = inst;
		}
		if (!withheld || !r->cfg->health_fail_open)
			break;
	}
	return n;
}

/* Weights the candidates when the service has a split or weight= sets them apart;
 * services without either keep the uniform shuffle untouched. */
static void weigh_candidates(struct responder *r, struct answer_item *it, const struct service *svc)
{
	const struct split *sp = r->reg->splits.count ? split_find(&r->reg->splits, svc->wire_label) : NULL;
	if (!sp && !svc->weight_set_count)
		return;
	if (weights_effective(sp, it->instances, it->instance_count, r->scratch_weights))
		it->weights = r->scratch_weights;
	it->split_weights = sp != NULL;
	if (sp && sp->limit && (it->type == TYPE_A || it->type == TYPE_AAAA) &&
	    (!it->emit_limit || sp->limit < it->emit_limit))
		it->emit_limit = sp->limit;
}

/* Adds the live instances of a service that match family/proto (and the subset) as
 * one RRset.  Returns how many matched. */
static size_t add_service_rrset(struct responder *r, struct answer *a, const uint8_t *owner,
				const struct service *svc, uint16_t type, int family, int proto,
				const struct subset *sub)
{
	if (ensure_scratch(r, svc->count) < 0)
		return 0;
	uint32_t ttl = r->cfg->ttl;
	size_t n = collect_candidates(r, svc, family, proto, sub, &ttl);
	if (n == 0)
		return 0;
	struct answer_item *it = answer_add_item(a, SECTION_ANSWER, ITEM_INSTANCES, owner, type, ttl);
	if (!it)
		return 0;
	it->instances = r->scratch;
	it->instance_count = n;
	/* glibc sorts addresses by RFC 6724 rule 9, which undoes any shuffle: answering
	 * with a random few is the only spreading that reaches every client. */
	if (type == TYPE_A || type == TYPE_AAAA)
		it->emit_limit = config_answer_limit(r->cfg, svc->wire_label);
	weigh_candidates(r, it, svc);
	if (type == TYPE_SRV) {
		struct answer_item *extra = answer_add_item(a, SECTION_ADDITIONAL, ITEM_INSTANCE_ADDRS,
							    owner, 0, 0);
		if (extra)
			extra->srv_item = it;
	}
	return n;
}

/* A name of the service exists for a client when it has a live instance the client
 * sees (of the subset): what a client does not see does not exist for it. */
int answer_service_has_live(const struct responder *r, const struct service *svc, int proto,
			    const struct subset *sub)
{
	for (size_t i = 0; i < svc->count; i++) {
		const struct instance *inst = svc->instances[i];
		if ((proto < 0 || inst->proto == proto) && instance_live(inst, r->now_ms) && in_subset(inst, sub))
			return 1;
	}
	return 0;
}

size_t answer_candidates(struct responder *r, const struct service *svc, int proto,
			 const struct subset *sub, uint32_t *ttl)
{
	if (ensure_scratch(r, svc->count) < 0)
		return 0;
	return collect_candidates(r, svc, ANY_FAMILY, proto, sub, ttl);
}

static int add_one_instance(struct responder *r, struct answer *a, const uint8_t *owner,
			    struct instance *inst, uint16_t type)
{
	if (ensure_scratch(r, 1) < 0)
		return 0;
	r->scratch[0] = inst;
	struct answer_item *it = answer_add_item(a, SECTION_ANSWER, ITEM_INSTANCES, owner, type,
						 responder_instance_ttl(r, inst));
	if (!it)
		return 0;
	it->instances = r->scratch;
	it->instance_count = 1;
	return 1;
}

int answer_one_instance(struct responder *r, struct answer *a, const uint8_t *owner,
			struct instance *inst, uint16_t type)
{
	if (!add_one_instance(r, a, owner, inst, type))
		return 0;
	struct answer_item *it = &a->items[SECTION_ANSWER][a->item_count[SECTION_ANSWER] - 1];
	it->emitted = 0;
	if (type == TYPE_SRV) {
		struct answer_item *extra = answer_add_item(a, SECTION_ADDITIONAL, ITEM_INSTANCE_ADDRS,
							    owner, 0, 0);
		if (extra)
			extra->srv_item = it;
	}
	return 1;
}

/* The first RRset type present at a service or instance name, for ANY (RFC 8482). */
static uint16_t pick_any_type(const struct service *svc, const struct instance *inst)
{
	if (inst)
		return inst->family == AF_INET ? TYPE_A : TYPE_AAAA;
	return svc->family_count[0] ? TYPE_A : TYPE_AAAA;
}

static int is_proto_label(const uint8_t *label, int *proto)
{
	if (label[0] != 4 || label[1] != '_')
		return 0;
	if (memcmp(label + 2, "tcp", 3) == 0)
		*proto = PROTO_TCP;
	else if (memcmp(label + 2, "udp", 3) == 0)
		*proto = PROTO_UDP;
	else
		return 0;
	return 1;
}

static int family_of(uint16_t type)
{
	return type == TYPE_A ? AF_INET : AF_INET6;
}

/* SERVICE.D and TAG.SERVICE.D: addresses of every instance (of the subset), or their
 * SRV set. */
static int answer_service(struct responder *r, struct answer *a, const uint8_t *owner,
			  const struct service *svc, uint16_t qtype, const struct subset *sub)
{
	if (!answer_service_has_live(r, svc, -1, sub))
		return 0;
	if (qtype == TYPE_ANY)
		qtype = pick_any_type(svc, NULL);
	if (qtype == TYPE_A || qtype == TYPE_AAAA)
		add_service_rrset(r, a, owner, svc, qtype, family_of(qtype), -1, sub);
	else if (qtype == TYPE_SRV)
		add_service_rrset(r, a, owner, svc, TYPE_SRV, ANY_FAMILY, -1, sub);
	return 1;
}

/* INSTANCE.SERVICE.D: its address and TXT. */
static int answer_instance(struct responder *r, struct answer *a, const uint8_t *owner,
			   struct instance *inst, uint16_t qtype)
{
	if (!instance_live(inst, r->now_ms) || !instance_visible(inst, a->view))
		return 0;
	if (qtype == TYPE_ANY)
		qtype = pick_any_type(NULL, inst);
	if ((qtype == TYPE_A || qtype == TYPE_AAAA) && inst->family == family_of(qtype))
		add_one_instance(r, a, owner, inst, qtype);
	else if (qtype == TYPE_TXT && inst->txt_len)
		add_one_instance(r, a, owner, inst, TYPE_TXT);
	return 1;
}

/* _SERVICE._PROTO.D: the RFC 2782 SRV set. */
static int answer_srv_name(struct responder *r, struct answer *a, const uint8_t *owner,
			   const uint8_t *label, int proto, uint16_t qtype)
{
	uint8_t service_label[DNAME_MAX_LABEL + 1];
	service_label[0] = (uint8_t)(label[0] - 1);
	memcpy(service_label + 1, label + 2, service_label[0]);
	const struct service *svc = registry_find_service(r->reg, service_label);
	struct subset all = { a->view, NULL, 0 };
	if (!svc || !svc->proto_count[proto] || !answer_service_has_live(r, svc, -1, &all))
		return 0;
	if (qtype == TYPE_SRV || qtype == TYPE_ANY)
		add_service_rrset(r, a, owner, svc, TYPE_SRV, ANY_FAMILY, proto, &all);
	return 1;
}

static int answer_apex(struct responder *r, struct answer *a, const uint8_t *owner, uint16_t qtype)
{
	const struct config *cfg = r->cfg;
	if (qtype == TYPE_SOA || qtype == TYPE_ANY) {
		answer_add_item(a, SECTION_ANSWER, ITEM_SOA, owner, TYPE_SOA, cfg->soa.ttl);
	} else if (qtype == TYPE_NS) {
		answer_add_item(a, SECTION_ANSWER, ITEM_NS, owner, TYPE_NS, cfg->soa.ttl);
		if (dname_is_subdomain(cfg->ns.name, cfg->domain))
			answer_add_item(a, SECTION_ADDITIONAL, ITEM_NS_ADDRS, cfg->ns.name, 0, cfg->ttl);
	}
	return 1;
}

static int answer_ns_name(struct responder *r, struct answer *a, uint16_t qtype)
{
	const struct config *cfg = r->cfg;
	if (cfg->ns.addr_count == 0)
		return 0;
	if (qtype == TYPE_ANY)  /* one RRset (RFC 8482): that of the first address */
		qtype = cfg->ns.addrs[0].family == AF_INET ? TYPE_A : TYPE_AAAA;
	if (qtype == TYPE_A || qtype == TYPE_AAAA)
		answer_add_item(a, SECTION_ANSWER, ITEM_NS_ADDRS, cfg->ns.name, qtype, cfg->ttl);
	return 1;
}

/* Answers a name of the service domain from the registry; returns 1 when the name exists.
 * rel_len is the length of the labels before the domain. */
static int answer_from_registry(struct responder *r, struct answer *a, const uint8_t *name,
				size_t len, size_t rel_len, uint16_t qtype)
{
	int exists = 0;
	if (rel_len == 0)
		return answer_apex(r, a, name, qtype);
	if (len == dname_length(r->cfg->ns.name) && memcmp(name, r->cfg->ns.name, len) == 0)
		exists = answer_ns_name(r, a, qtype);
	const uint8_t *first = name, *second = name + name[0] + 1;
	size_t second_end = (size_t)(second - name) + (second[0] ? second[0] + 1u : 0);
	int proto, browsing = r->cfg->dns_sd ? dnssd_answer(r, a, name, rel_len, qtype) : -1;
	if (browsing >= 0)
		return browsing;
	if (rel_len == (size_t)(second - name)) {               /* one label */
		if (is_proto_label(first, &proto))
			return r->reg->proto_count[proto] > 0;  /* empty non-terminal _tcp.D */
		const struct service *svc = registry_find_service(r->reg, first);
		struct subset all = { a->view, NULL, 0 };
		if (svc)
			exists |= answer_service(r, a, name, svc, qtype, &all);
	} else if (rel_len == second_end) {                     /* two labels */
		if (first[1] == '_' && is_proto_label(second, &proto))
			return answer_srv_name(r, a, name, first, proto, qtype);
		struct instance *inst = registry_find_instance(r->reg, name, rel_len);
		if (inst) {
			exists |= answer_instance(r, a, name, inst, qtype);
		} else {
			/* TAG.SERVICE.D: tags and instance names of a service never clash (409). */
			const struct service *svc = registry_find_service(r->reg, second);
			struct subset tagged = { a->view, (const char *)first + 1, first[0] };
			if (svc && svc->tagged_count)  /* untagged services keep an O(1) NXDOMAIN */
				exists |= answer_service(r, a, name, svc, qtype, &tagged);
		}
	}
	return exists;
}

static void add_static_rrset(struct answer *a, enum answer_section s, const uint8_t *owner,
			     const struct rrset *set)
{
	struct answer_item *it = answer_add_item(a, s, ITEM_STATIC, owner, set->type, set->ttl);
	if (it)
		it->rrset = set;
}

static uint32_t soa_minimum(const struct rrset *soa)
{
	const uint8_t *end = soa->rdata + soa->rdata_size;
	return (uint32_t)end[-4] << 24 | (uint32_t)end[-3] << 16 | (uint32_t)end[-2] << 8 | end[-1];
}

/* RFC 2308: the SOA in a negative answer carries min(SOA TTL, SOA MINIMUM). */
static void add_negative_soa(struct responder *r, struct answer *a, const struct zone *z,
			     int in_service_domain)
{
	struct answer_item *it;
	if (in_service_domain) {
		uint32_t ttl = r->cfg->soa.ttl < r->cfg->soa.minimum ? r->cfg->soa.ttl : r->cfg->soa.minimum;
		answer_add_item(a, SECTION_AUTHORITY, ITEM_SOA, r->cfg->domain, TYPE_SOA, ttl);
	} else if (z->soa && (it = answer_add_item(a, SECTION_AUTHORITY, ITEM_STATIC, z->apex, TYPE_SOA,
					     z->soa->ttl))) {
		uint32_t min = soa_minimum(z->soa);
		it->rrset = z->soa;
		if (min < it->ttl)
			it->ttl = min;
	}
}

/* Which of our zones holds a name: a static zone, the service domain, or both merged. */
struct zone_match {
	const struct zone *zone;      /* static data, may be NULL */
	int service_domain;
	size_t rel_len;               /* labels before the service domain */
};

static int find_zone(const struct responder *r, const uint8_t *name, size_t len,
		     struct zone_match *m)
{
	const struct config *cfg = r->cfg;
	int off = dname_suffix_offset(name, len, cfg->domain, cfg->domain_len);
	m->zone = zones_find(r->zones, name, len);
	m->service_domain = off >= 0 && (!m->zone || m->zone->apex_len <= cfg->domain_len);
	if (m->service_domain && m->zone && !m->zone->is_service_domain)
		m->zone = NULL;  /* a parent zone's data does not reach into our domain */
	m->rel_len = off >= 0 ? (size_t)off : 0;
	return m->zone || m->service_domain;
}

static int same_name(const uint8_t *a, const uint8_t *b)
{
	size_t len = dname_length(a);
	return len == dname_length(b) && memcmp(a, b, len) == 0;
}

/* Where the target name starts in the rdata of the types that name one (RFC 1035
 * 3.3.9, 3.3.11; RFC 2782), or -1. */
static int target_offset(uint16_t type)
{
	switch (type) {
	case TYPE_NS:
		return 0;
	case TYPE_MX:
		return 2;
	case TYPE_SRV:
		return 6;
	default:
		return -1;
	}
}

/* The A and AAAA we hold for one target: static records, the NS name's configured
 * addresses, or a registered instance. */
static void add_target(struct responder *r, struct answer *a, const uint8_t *name, size_t len)
{
	struct zone_match m;
	if (!find_zone(r, name, len, &m))
		return;
	const struct zone_node *node = m.zone ? zone_find_node(m.zone, name, len) : NULL;
	const uint16_t types[] = { TYPE_A, TYPE_AAAA };
	for (size_t i = 0; node && i < sizeof types / sizeof types[0]; i++) {
		const struct rrset *set = node_find_rrset(node, types[i]);
		struct answer_item *it = set ? answer_add_item(a, SECTION_ADDITIONAL, ITEM_STATIC,
							 node->name, set->type, set->ttl) : NULL;
		if (it)
			it->rrset = set;
	}
	if (!m.service_domain)
		return;
	const struct config *cfg = r->cfg;
	if (same_name(name, cfg->ns.name)) {
		if (cfg->ns.addr_count)
			answer_add_item(a, SECTION_ADDITIONAL, ITEM_NS_ADDRS, cfg->ns.name, 0, cfg->ttl);
		return;
	}
	struct instance *inst = m.rel_len ? registry_find_instance(r->reg, name, m.rel_len) : NULL;
	struct answer_item *it;
	if (inst && instance_live(inst, r->now_ms) && instance_visible(inst, a->view) &&
	    (it = answer_add_item(a, SECTION_ADDITIONAL, ITEM_INSTANCES, name,
			   inst->family == AF_INET ? TYPE_A : TYPE_AAAA,
			   responder_instance_ttl(r, inst)))) {
		it->single = inst;
		it->instances = &it->single;
		it->instance_count = 1;
	}
}

/* Additional section processing (RFC 1035 3.3.9, 3.3.11; RFC 2782): the addresses
 * of the targets of a static NS, MX or SRV RRset, each target once. */
static void add_target_addresses(struct responder *r, struct answer *a, const struct rrset *set)
{
	int skip = target_offset(set->type);
	const uint8_t *p = set->rdata;
	for (uint16_t i = 0; skip >= 0 && i < set->count; i++) {
		size_t rdlen = wire_read_u16(p), off = (size_t)skip;
		const uint8_t *rdata = p + 2;
		p += 2 + rdlen;
		if (a->target_count == ANSWER_MAX_TARGETS)
			return;
		uint8_t *name = a->target_names[a->target_count];
		size_t len = dname_read_question(rdata, rdlen, &off, name);
		int seen = len == 0;
		for (int t = 0; t < a->target_count && !seen; t++)
			seen = same_name(a->target_names[t], name);
		if (seen)
			continue;
		a->target_count++;
		add_target(r, a, name, len);
	}
}

/* Reads an in-addr.arpa or ip6.arpa name into an address; returns the family or 0. */
static int reverse_address(const uint8_t *name, uint8_t addr[16])
{
	static const uint8_t in_addr_arpa[] = "\7in-addr\4arpa";
	static const uint8_t ip6_arpa[] = "\3ip6\4arpa";
	int labels = dname_label_count(name);
	const uint8_t *p = name;
	memset(addr, 0, 16);
	if (labels == 6 && dname_suffix_offset(name, dname_length(name), in_addr_arpa, sizeof in_addr_arpa) >= 0) {
		for (int i = 3; i >= 0; i--, p += *p + 1) {
			int value = 0;
			if (*p < 1 || *p > 3 || (*p > 1 && p[1] == '0'))
				return 0;
			for (int j = 1; j <= *p; j++) {
				if (p[j] < '0' || p[j] > '9')
					return 0;
				value = value * 10 + p[j] - '0';
			}
			if (value > 255)
				return 0;
			addr[i] = (uint8_t)value;
		}
		return AF_INET;
	}
	if (labels == 34 && dname_suffix_offset(name, dname_length(name), ip6_arpa, sizeof ip6_arpa) >= 0) {
		for (int i = 31; i >= 0; i--, p += 2) {
			int nibble = p[0] != 1 ? -1 : (p[1] >= '0' && p[1] <= '9') ? p[1] - '0' :
				     (p[1] >= 'a' && p[1] <= 'f') ? p[1] - 'a' + 10 : -1;
			if (nibble < 0)
				return 0;
			addr[i / 2] |= (uint8_t)(i % 2 ? nibble : nibble << 4);
		}
		return AF_INET6;
	}
	return 0;
}

/* Adds one instance at the reverse name's address to the PTR candidates, when the
 * client sees that address of it; counts the ones its health check withholds. */
static void add_reverse_candidate(struct responder *r, const struct answer *a, struct instance *inst,
				  unsigned address_index, size_t *n, size_t *withheld)
{
	if (!instance_live(inst, r->now_ms) || !instance_sees_address(inst, a->view, address_index) ||
	    ensure_scratch(r, *n + 1) < 0)
		return;
	if (instance_withheld(inst, r->cfg->health_only_passing))
		(*withheld)++;
	else
		r->scratch[(*n)++] = inst;
}

/* PTR for an address of a registered or static instance, its own or an addr= one:
 * INSTANCE.SERVICE.D.  An address the client's view does not give it is unknown. */
static int answer_reverse(struct responder *r, const struct dns_query *q, struct answer *a)
{
	uint8_t addr[16];
	int family = reverse_address(q->qname, addr);
	if (!family)
		return 0;
	size_t n = 0, withheld = 0;
	/* No fail-open here: the candidates are the few instances at one address, and a
	 * reverse lookup of a failing instance is no reason to hand it out. */
	for (struct instance *inst = registry_find_address(r->reg, family, addr); inst;
	     inst = inst->next_same_address)
		add_reverse_candidate(r, a, inst, 0, &n, &withheld);
	for (const struct extra_address *x = registry_find_extra_address(r->reg, family, addr); x; x = x->next)
		add_reverse_candidate(r, a, x->inst, 1u + x->index, &n, &withheld);
	if (n == 0 && !withheld)
		return 0;  /* withheld ones still make the name ours: an empty answer */
	a->authoritative = 1;
	if (n && (q->qtype == TYPE_PTR || q->qtype == TYPE_ANY)) {
		struct answer_item *it = answer_add_item(a, SECTION_ANSWER, ITEM_PTR, q->qname, TYPE_PTR, 0);
		if (it) {
			it->instances = r->scratch;
			it->instance_count = n;
		}
	}
	return 1;
}

/* A single-label name ("user-service.", what glibc asks without a search line) is
 * answered from the service domain (registry and zone file) with the owner name as
 * asked; a CNAME there is handed back in *cname to be followed. There is no zone
 * around it, so a NODATA carries no SOA. */
static int answer_bare_name(struct responder *r, const struct dns_query *q, struct answer *a,
			    const struct rrset **cname)
{
	const struct config *cfg = r->cfg;
	if (!cfg->bare_names || dname_label_count(q->qname) != 1 ||
	    q->qname_len - 1 + cfg->domain_len > DNAME_MAX_WIRE)
		return 0;
	const struct service *svc = registry_find_service(r->reg, q->qname);
	struct subset all = { a->view, NULL, 0 };
	int exists = svc && answer_service(r, a, q->qname, svc, q->qtype, &all);
	/* The service domain's zone file may hold the name too: its records merge in. */
	uint8_t fqdn[DNAME_MAX_WIRE];
	memcpy(fqdn, q->qname, q->qname_len - 1);
	memcpy(fqdn + q->qname_len - 1, cfg->domain, cfg->domain_len);
	size_t len = q->qname_len - 1 + cfg->domain_len;
	const struct zone *z = zones_find(r->zones, fqdn, len);
	const struct zone_node *node = z && z->is_service_domain ? zone_find_node(z, fqdn, len) : NULL;
	if (node) {
		exists = 1;
		const struct rrset *set = q->qtype == TYPE_ANY && node->rrset_count &&
					  !a->item_count[SECTION_ANSWER] ? &node->rrsets[0] :
					  node_find_rrset(node, q->qtype);
		if (set) {
			add_static_rrset(a, SECTION_ANSWER, q->qname, set);
			add_target_addresses(r, a, set);
		} else if (q->qtype != TYPE_CNAME && !a->item_count[SECTION_ANSWER] &&
			   (*cname = node_find_rrset(node, TYPE_CNAME))) {
			add_static_rrset(a, SECTION_ANSWER, q->qname, *cname);  /* the caller follows it */
		}
	}
	if (!exists)
		return 0;
	a->authoritative = 1;
	return 1;
}

/* Copies a CNAME target out of its rdata, lowercased, for the next step of the chain. */
static const uint8_t *cname_target(struct answer *a, int step, const struct rrset *cname)
{
	uint8_t *out = a->chain_names[step];
	size_t len = (size_t)cname->rdata[0] << 8 | cname->rdata[1];
	if (len == 0 || len > DNAME_MAX_WIRE)
		return NULL;
	memcpy(out, cname->rdata + 2, len);
	dname_to_lower(out);
	return out;
}

/* Whether a CNAME target is the query name or an earlier step of the chain. */
static int chain_visited(const struct answer *a, const struct dns_query *q, int step,
			 const uint8_t *name)
{
	if (same_name(name, q->qname))
		return 1;
	for (int i = 0; i < step; i++)
		if (same_name(name, a->chain_names[i]))
			return 1;
	return 0;
}

void dns_answer_init(struct answer *a, uint8_t rcode)
{
	memset(a->item_count, 0, sizeof a->item_count);
	a->rcode = rcode;
	a->authoritative = 0;
	a->outside_zones = 0;
	a->header_only = 0;
	a->truncated = 0;
	a->ede = EDE_NONE;
	a->tsig_error = 0;
	a->target_count = 0;
	a->view = VIEW_ALL;
}

void dns_answer_collect(struct responder *r, const struct dns_query *q, struct answer *a)
{
	dns_answer_init(a, RCODE_NOERROR);
	a->view = q->view;
	const uint8_t *name = q->qname;
	size_t len = q->qname_len;

	for (int step = 0; step < ANSWER_MAX_CHAIN; step++) {
		struct zone_match m;
		const struct rrset *bare_cname = NULL;
		if (!find_zone(r, name, len, &m)) {
			if (step == 0 && (answer_reverse(r, q, a) || answer_bare_name(r, q, a, &bare_cname))) {
				if (!bare_cname || !(name = cname_target(a, step, bare_cname)))
					return;
				len = dname_length(name);
				continue;
			}
			if (step == 0) {
				a->rcode = RCODE_REFUSED;
				a->ede = EDE_NOT_AUTHORITATIVE;
				a->outside_zones = 1;  /* the front may forward it instead */
			}
			return;  /* a CNAME out of our zones ends here; the client follows it */
		}
		if (m.service_domain && r->reg->unsynced) {
			a->rcode = RCODE_SERVFAIL;  /* not NXDOMAIN: we do not know yet (etcd mode) */
			return;
		}
		a->authoritative = 1;
		int answered = a->item_count[SECTION_ANSWER];
		int exists = 0;
		if (m.service_domain)
			exists = answer_from_registry(r, a, name, len, m.rel_len, q->qtype);
		const struct zone_node *node = m.zone ? zone_find_node(m.zone, name, len) : NULL;
		const struct rrset *set = NULL, *cname = NULL;
		if (node) {
			exists = 1;
			if (q->qtype == TYPE_ANY && node->rrset_count && a->item_count[SECTION_ANSWER] == answered)
				set = &node->rrsets[0];
			else
				set = node_find_rrset(node, q->qtype);
			if (!set && q->qtype != TYPE_CNAME)
				cname = node_find_rrset(node, TYPE_CNAME);
		}
		if (set) {
			add_static_rrset(a, SECTION_ANSWER, name, set);
			add_target_addresses(r, a, set);
		}
		if (cname && a->item_count[SECTION_ANSWER] == answered) {
			add_static_rrset(a, SECTION_ANSWER, name, cname);
			name = cname_target(a, step, cname);
			if (!name || chain_visited(a, q, step, name))
				return;  /* a loop: each of its CNAMEs is in the answer once */
			len = dname_length(name);
			continue;
		}
		if (!exists) {
			a->rcode = RCODE_NXDOMAIN;
			add_negative_soa(r, a, m.zone, m.service_domain);
		} else if (a->item_count[SECTION_ANSWER] == answered) {
			add_negative_soa(r, a, m.zone, m.service_domain);  /* NODATA */
		}
		return;
	}
}

int dns_answer_transfer_zone(struct responder *r, const struct dns_query *q, struct answer *a)
{
	const struct config *cfg = r->cfg;
	dns_answer_init(a, RCODE_NOERROR);
	a->authoritative = 1;
	if (q->qname_len == cfg->domain_len && memcmp(q->qname, cfg->domain, q->qname_len) == 0) {
		answer_add_item(a, SECTION_ANSWER, ITEM_SOA, cfg->domain, TYPE_SOA, cfg->soa.ttl);
		return 1;
	}
	const struct zone *z = zones_find_apex(r->zones, q->qname, q->qname_len);
	if (!z)
		return 0;
	add_static_rrset(a, SECTION_ANSWER, z->apex, z->soa);
	return 1;
}

/* Unit tests for dns_front.c / dns_query.c / dns_answer.c: bytes in, bytes out, no sockets. */
#include <arpa/inet.h>
#include <ldns/ldns.h>
#include <stdlib.h>

#include "acl.h"
#include "config.h"
#include "dns_front.h"
#include "dns_guard.h"
#include "dns_query.h"
#include "dns_wire.h"
#include "registry.h"
#include "tap.h"
#include "zones.h"

static struct config cfg;
static struct registry reg;
static struct zone_set zones;
static struct responder responder;
static uint8_t out[65535];
static struct dns_guard guard;
static struct dns_front front;
static struct sockaddr_in client = { .sin_family = AF_INET };
static enum front_verdict last_verdict;
static int ask_recursion;   /* set RD in the queries ask() builds */

/* The front as a listener runs it; a query it would forward gets the local answer,
 * as when the forwarder cannot take it. */
static size_t front_answer(const uint8_t *pkt, size_t len, enum dns_transport t)
{
	struct front_result res;
	last_verdict = dns_front_query(&front, (struct sockaddr *)&client, t, pkt, len, out,
				       t == DNS_TCP ? sizeof out : cfg.max_udp_payload, &res);
	if (last_verdict == FRONT_FORWARD)
		return dns_front_unforwarded(&front, &res, out, sizeof out);
	return last_verdict == FRONT_SEND ? res.len : 0;
}

static void add_instance(const char *svc, const char *inst, const char *addr, int64_t expires_ms)
{
	struct instance_spec s;
	memset(&s, 0, sizeof s);
	strcpy(s.service, svc);
	strcpy(s.instance, inst);
	s.family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	inet_pton(s.family, addr, s.addr);
	s.port = 80;
	s.expires_ms = expires_ms;
	registry_put(&reg, &s, NULL);
}

/* Builds a query with ldns, answers it, parses the answer back with ldns. */
static ldns_pkt *ask(const char *name, ldns_rr_type type, int edns, enum dns_transport t)
{
	ldns_pkt *query = NULL;
	ldns_pkt_query_new_frm_str(&query, name, type, LDNS_RR_CLASS_IN, 0);
	ldns_pkt_set_rd(query, ask_recursion);
	if (edns) {
		ldns_pkt_set_edns_udp_size(query, 1232);
		ldns_pkt_set_edns_do(query, 0);
	}
	uint8_t *wire;
	size_t wire_len;
	ldns_pkt2wire(&wire, query, &wire_len);
	ldns_pkt_free(query);
	size_t len = front_answer(wire, wire_len, t);
	free(wire);
	ldns_pkt *answer = NULL;
	if (len == 0 || ldns_wire2pkt(&answer, out, len) != LDNS_STATUS_OK)
		return NULL;
	return answer;
}

static size_t raw(const uint8_t *pkt, size_t len)
{
	return front_answer(pkt, len, DNS_UDP);
}

static void test_positive(void)
{
	ldns_pkt *p = ask("web.svc.internal.", LDNS_RR_TYPE_A, 1, DNS_UDP);
	ok(p != NULL, "answer parses");
	is_int(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR, "NOERROR");
	ok(ldns_pkt_aa(p), "AA set");
	ok(!ldns_pkt_ra(p), "RA clear");
	is_int((long)ldns_pkt_ancount(p), 2, "two live instances (expired one hidden)");
	is_int((long)ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(p), 0)), 2,
	       "RRset TTL: the configured 5 s, lowered to the shortest remaining lease");
	ok(ldns_pkt_edns(p) && ldns_pkt_edns_udp_size(p) == 1232, "OPT with 1232");
	ldns_pkt_free(p);

	p = ask("w1.web.svc.internal.", LDNS_RR_TYPE_A, 0, DNS_UDP);
	is_int((long)ldns_pkt_ancount(p), 1, "instance A");
	ok(!ldns_pkt_edns(p), "no OPT without EDNS");
	is_int((long)ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(p), 0)), 2, "TTL capped by a 2.5 s lease");
	ldns_pkt_free(p);

	p = ask("w3.web.svc.internal.", LDNS_RR_TYPE_A, 0, DNS_UDP);
	is_int(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN, "an expired lease is gone before the sweep");
	ldns_pkt_free(p);

	p = ask("_web._tcp.svc.internal.", LDNS_RR_TYPE_SRV, 1, DNS_UDP);
	is_int((long)ldns_pkt_ancount(p), 2, "SRV per live instance");
	is_int((long)ldns_pkt_arcount(p), 2, "their addresses in additional (ldns counts OPT apart)");
	ldns_pkt_free(p);
}

/* Health: the answer code reads only each instance's health byte. */
static void test_health(void)
{
	add_instance("hc", "h1", "10.2.0.1", 0);
	add_instance("hc", "h2", "10.2.0.2", 0);
	add_instance("hc", "h3", "10.2.0.3", 0);
	struct instance *h1 = registry_lookup(&reg, "hc", "h1"), *h2 = registry_lookup(&reg, "hc", "h2"),
			*h3 = registry_lookup(&reg, "hc", "h3");
	ldns_pkt *p = ask("hc.svc.internal.", LDNS_RR_TYPE_A, 0, DNS_UDP);
	is_int((long)ldns_pkt_ancount(p), 3, "unchecked instances are all answered");
	ldns_pkt_free(p);
	h1->health = HEALTH_PASSING;
	h2->health = HEALTH_CRITICAL;
	h3->health = HEALTH_WARNING;
	p = ask("hc.svc.internal.", LDNS_RR_TYPE_A, 0, DNS_UDP);
	is_int((long)ldns_pkt_ancount(p), 2, "a critical instance is left out of A");
	ldns_pkt_free(p);
	p = ask("_hc._tcp.svc.internal.", LDNS_RR_TYPE_SRV, 0, DNS_UDP);
	is_int((long)ldns_pkt_ancount(p), 2, "... and out of SRV");
	ldns_pkt_free(p);
	p = ask("2.0.2.10.in-addr.arpa.", LDNS_RR_TYPE_PTR, 0, DNS_UDP);
	is_int((long)ldns_pkt_ancount(p), 0, "... and out of PTR");
	is_int(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR, "... an empty NOERROR");
	ldns_pkt_free(p);
	p = ask("h2.hc.svc.internal.", LDNS_RR_TYPE_A, 0, DNS_UDP);
	is_int((long)ldns_pkt_ancount(p), 1, "INSTANCE.SERVICE still answers");
	ldns_pkt_free(p);
	cfg.health_only_passing = 1;
	p = ask("hc.svc.internal.", LDNS_RR_TYPE_A, 0, DNS_UDP);
	is_int((long)ldns_pkt_ancount(p), 1, "only-passing leaves the warning one out too");
	ldns_pkt_free(p);
	cfg.health_only_passing = 0;
	h1->health = h3->health = HEALTH_CRITICAL;
	p = ask("hc.svc.internal.", LDNS_RR_TYPE_A, 0, DNS_UDP);
	is_int((long)ldns_pkt_ancount(p), 3, "all critical: all answered (fail-open)");
	ldns_pkt_free(p);
	cfg.health_fail_open = 0;
	p = ask("hc.svc.internal.", LDNS_RR_TYPE_A, 0, DNS_UDP);
	is_int((long)ldns_pkt_ancount(p), 0, "fail-open off: no address");
	is_int(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR, "... NODATA");
	is_int((long)ldns_pkt_nscount(p), 1, "... with the SOA");
	ldns_pkt_free(p);
	cfg.health_fail_open = 1;
}

static void test_negative(void)
{
	ldns_pkt *p = ask("only.svc.internal.", LDNS_RR_TYPE_A, 0, DNS_UDP);
	is_int((long)ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(p), 0)), 5, "static instance: TTL 5");
	ldns_pkt_free(p);
	p = ask("web.svc.internal.", LDNS_RR_TYPE_AAAA, 0, DNS_UDP);
	is_int(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR, "NODATA rcode");
	is_int((long)ldns_pkt_ancount(p), 0, "NODATA has no answer");
	is_int((long)ldns_pkt_nscount(p), 1, "NODATA has SOA");
	ldns_pkt_free(p);
	p = ask("nope.svc.internal.", LDNS_RR_TYPE_A, 0, DNS_UDP);
	is_int(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN, "NXDOMAIN");
	ldns_rr *soa = ldns_rr_list_rr(ldns_pkt_authority(p), 0);
	ok(soa && ldns_rr_get_type(soa) == LDNS_RR_TYPE_SOA, "NXDOMAIN carries SOA");
	ldns_pkt_free(p);
	p = ask("example.org.", LDNS_RR_TYPE_A, 0, DNS_UDP);
	is_int(ldns_pkt_get_rcode(p), LDNS_RCODE_REFUSED, "outside: REFUSED");
	ok(!ldns_pkt_aa(p), "REFUSED without AA");
	ldns_pkt_free(p);
}

static void test_truncation(void)
{
	ldns_pkt *p = ask("many.svc.internal.", LDNS_RR_TYPE_A, 0, DNS_UDP);
	ok(ldns_pkt_tc(p), "100 A records over 512 bytes: TC");
	ok(ldns_pkt_ancount(p) > 20 && ldns_pkt_ancount(p) < 100, "partial answer kept");
	ldns_pkt_free(p);
	p = ask("many.svc.internal.", LDNS_RR_TYPE_A, 0, DNS_TCP);
	ok(!ldns_pkt_tc(p), "TCP: no TC");
	is_int((long)ldns_pkt_ancount(p), 100, "TCP: all 100");
	ldns_pkt_free(p);
}

static void test_malformed(void)
{
	uint8_t q[64] = { 0x12, 0x34, 0x01, 0x00, 0, 2, 0, 0, 0, 0, 0, 0 };
	is_int((long)raw(q, 5), 0, "short packet: dropped");
	size_t n = raw(q, 12);
	ok(n == 12 && (out[3] & 0xf) == LDNS_RCODE_FORMERR, "QDCOUNT 2: FORMERR");
	ok(out[0] == 0x12 && out[1] == 0x34 && (out[2] & 0x80), "FORMERR keeps the ID, sets QR");
	q[2] = 0x81;  /* QR set */
	is_int((long)raw(q, 12), 0, "QR=1: dropped");
	q[2] = 0x18;  /* opcode 3 */
	q[5] = 1;
	n = raw(q, 12);
	ok(n == 12 && (out[3] & 0xf) == LDNS_RCODE_NOTIMPL, "unknown opcode: NOTIMP");
	/* A question name running past the end. */
	uint8_t cut[] = { 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 9, 'a', 'b' };
	n = raw(cut, sizeof cut);
	ok(n == 12 && (out[3] & 0xf) == LDNS_RCODE_FORMERR, "truncated question: FORMERR");
	/* Two OPT records. */
	uint8_t two_opt[] = { 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 2, 0, 0, 6, 0, 1,
			      0, 0, 41, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 41, 4, 0, 0, 0, 0, 0, 0, 0 };
	n = raw(two_opt, sizeof two_opt);
	ok(n > 12 && (out[3] & 0xf) == LDNS_RCODE_FORMERR, "two OPT records: FORMERR");
	/* A random flood must never crash or read out of bounds (ASan watches). */
	srand(7);
	uint8_t junk[600];
	int answered = 0, well_formed = 1;
	for (int i = 0; i < 20000; i++) {
		size_t len = (size_t)rand() % sizeof junk;
		for (size_t j = 0; j < len; j++)
			junk[j] = (uint8_t)rand();
		if (len > 3)
			junk[2] &= 0x7f;
		if (len > 5 && (i & 1)) {
			junk[4] = 0;
			junk[5] = 1;
		}
		n = raw(junk, len);
		if (n == 0)
			continue;
		answered++;
		/* A query too short for a header gets no reply; every reply is a response to
		 * its query: a whole header, the query's ID, QR set. */
		if (len < 12 || n < 12 || out[0] != junk[0] || out[1] != junk[1] || !(out[2] & 0x80))
			well_formed = 0;
	}
	ok(answered > 10000 && well_formed,
	   "20000 random packets: every reply is a well-formed response to its query");
}

static int has_flag(size_t len, uint16_t flag)
{
	return len >= DNS_HEADER_SIZE && (wire_read_u16(out + DNS_OFF_FLAGS) & flag);
}

/* The front's order: allow-query, answer, RRL, forward; RA on every response when
 * forwarders are configured. */
static void test_front_policy(void)
{
	ldns_pkt *p = ask("web.svc.internal.", LDNS_RR_TYPE_A, 0, DNS_UDP);
	ok(p && !ldns_pkt_ra(p), "without forwarders: RA clear on our own answer");
	ldns_pkt_free(p);

	cfg.forward_count = 1;  /* the front only looks at the count */
	ask_recursion = 1;
	p = ask("web.svc.internal.", LDNS_RR_TYPE_A, 0, DNS_UDP);
	ok(p && ldns_pkt_ra(p) && ldns_pkt_aa(p), "with forwarders: RA set on our own answer");
	ldns_pkt_free(p);
	p = ask("nothing.svc.internal.", LDNS_RR_TYPE_A, 0, DNS_TCP);
	ok(p && ldns_pkt_ra(p) && ldns_pkt_get_rcode(p) == LDNS_RCODE_NXDOMAIN,
	   "with forwarders: RA set on NXDOMAIN over TCP");
	ldns_pkt_free(p);
	uint8_t bad[12] = { 0x12, 0x34, 0x01, 0, 0, 2 };  /* two questions */
	size_t n = raw(bad, sizeof bad);
	ok(has_flag(n, DNS_FLAG_RA) && DNS_RCODE(wire_read_u16(out + 2)) == RCODE_FORMERR,
	   "with forwarders: RA set on FORMERR");
	p = ask("example.org.", LDNS_RR_TYPE_A, 0, DNS_UDP);
	ok(last_verdict == FRONT_FORWARD, "a name outside our zones is forwarded");
	ok(p && ldns_pkt_ra(p) && ldns_pkt_get_rcode(p) == LDNS_RCODE_REFUSED,
	   "the forwarder cannot take it: REFUSED, RA set");
	ldns_pkt_free(p);

	/* allow-query first: a refused client is never forwarded. */
	const char *elsewhere[] = { "10.9.9.9/32" };
	ok(cidr_list_add_texts(&cfg.allow_query, elsewhere, 1) == 0, "allow-query set to another client");
	p = ask("example.org.", LDNS_RR_TYPE_A, 0, DNS_TCP);
	ok(last_verdict == FRONT_SEND && p && ldns_pkt_get_rcode(p) == LDNS_RCODE_REFUSED,
	   "allow-query: a client outside it gets REFUSED over TCP, not a forward");
	ldns_pkt_free(p);
	p = ask("example.org.", LDNS_RR_TYPE_A, 0, DNS_UDP);
	ok(last_verdict == FRONT_SEND && p && ldns_pkt_get_rcode(p) == LDNS_RCODE_REFUSED,
	   "allow-query: a client outside it gets REFUSED over UDP, not a forward");
	ldns_pkt_free(p);
	cidr_list_free(&cfg.allow_query);

	/* RRL after the answer: over the rate, a slip is a bare TC and never a forward. */
	cfg.rrl_rate = 1;
	cfg.rrl_slip = 1;
	dns_guard_configure(&guard, &cfg);
	int forwards = 0, slips = 0;
	for (int i = 0; i < 20; i++) {
		p = ask("example.org.", LDNS_RR_TYPE_A, 0, DNS_UDP);
		forwards += last_verdict == FRONT_FORWARD;
		slips += last_verdict == FRONT_SEND && p && ldns_pkt_tc(p) && ldns_pkt_ancount(p) == 0 &&
			 ldns_pkt_ra(p);
		ldns_pkt_free(p);
	}
	ok(forwards <= 2 && slips >= 18, "RRL: slipped queries for a forwarded name are not forwarded");
	p = ask("example.org.", LDNS_RR_TYPE_A, 0, DNS_TCP);
	ok(last_verdict == FRONT_FORWARD, "RRL: TCP is not rate limited");
	ldns_pkt_free(p);
	cfg.rrl_rate = 0;
	cfg.rrl_slip = 0;
	dns_guard_configure(&guard, &cfg);
	cfg.forward_count = 0;
	ask_recursion = 0;
}

/* An instance of svc with a tag (NULL: none) and weight= when weight >= 0. */
static struct instance *add_weighted(const char *svc, const char *inst, const char *addr, const char *tag,
				     int weight)
{
	struct instance_spec s;
	struct instance *made = NULL;
	memset(&s, 0, sizeof s);
	strcpy(s.service, svc);
	strcpy(s.instance, inst);
	s.family = AF_INET;
	inet_pton(AF_INET, addr, s.addr);
	s.port = 80;
	if (tag) {
		strcpy(s.extras.tags[0], tag);
		s.extras.tag_count = 1;
	}
	if (weight >= 0) {
		s.weight = (uint16_t)weight;
		s.extras.weight_set = true;
	}
	registry_put(&reg, &s, &made);
	return made;
}

/* A tagged instance of "canary", its weight= when weight >= 0. */
static struct instance *add_tagged(const char *inst, const char *addr, const char *tag, int weight)
{
	return add_weighted("canary", inst, addr, tag, weight);
}

/* The first address of n answers to NAME A, counted by the last octet. */
static void count_firsts(const char *name, int n, unsigned counts[256], unsigned *second_after_11)
{
	memset(counts, 0, 256 * sizeof *counts);
	for (int i = 0; i < n; i++) {
		ldns_pkt *p = ask(name, LDNS_RR_TYPE_A, 1, DNS_UDP);
		ldns_rr_list *an = p ? ldns_pkt_answer(p) : NULL;
		if (an && ldns_rr_list_rr_count(an) > 0) {
			const uint8_t *first = ldns_rdf_data(ldns_rr_rdf(ldns_rr_list_rr(an, 0), 0));
			counts[first[3]]++;
			if (second_after_11 && first[3] == 11 && ldns_rr_list_rr_count(an) > 1 &&
			    ldns_rdf_data(ldns_rr_rdf(ldns_rr_list_rr(an, 1), 0))[3] == 12)
				(*second_after_11)++;
		}
		ldns_pkt_free(p);
	}
}

/* Weighted order through the whole answer path: split, subset, health, weight=0. */
static void test_weights(void)
{
	unsigned counts[256], second = 0;
	struct instance *u3 = add_tagged("u3", "10.3.0.13", "v2", -1);
	add_tagged("u1", "10.3.0.11", "v1", -1);
	add_tagged("u2", "10.3.0.12", "v1", -1);
	count_firsts("canary.svc.internal.", 3000, counts, NULL);
	ok(counts[11] > 800 && counts[12] > 800 && counts[13] > 800, "no split, no weight=: uniform as before");
	struct split sp;
	char reason[160];
	memset(&sp, 0, sizeof sp);
	split_parse_text("v1=90 v2=10", &sp, reason, sizeof reason);
	split_set_service(&sp, "canary");
	split_set_put(&reg.splits, &sp);
	count_firsts("canary.svc.internal.", 3000, counts, &second);
	printf("# 90/10 first: u1 %u u2 %u u3 %u; u2 second after u1: %u of %u\n", counts[11], counts[12],
	       counts[13], second, counts[11]);
	ok(counts[13] > 210 && counts[13] < 390, "split 90/10: u3 first in 10% +- 3 points of 3,000 answers");
	/* After u1 the next is drawn from u2 (45) and u3 (10): u2 second 45/55 = 82% of the time. */
	ok(second > counts[11] * 72 / 100 && second < counts[11] * 92 / 100,
	   "the rest follow in weighted-random order (u2 second after u1 about 82%)");
	ldns_pkt *p = ask("_canary._tcp.svc.internal.", LDNS_RR_TYPE_SRV, 1, DNS_UDP);
	unsigned weights = 0;
	for (size_t i = 0; p && i < ldns_pkt_ancount(p); i++)
		weights += ldns_rdf2native_int16(ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(p), i), 1));
	is_int(weights, 100, "SRV weights 45 + 45 + 10");
	ldns_pkt_free(p);
	u3->health = HEALTH_CRITICAL;
	count_firsts("canary.svc.internal.", 500, counts, NULL);
	is_int(counts[13], 0, "a critical instance is never drawn, split or not");
	p = ask("_canary._tcp.svc.internal.", LDNS_RR_TYPE_SRV, 1, DNS_UDP);
	ok(p && ldns_pkt_ancount(p) == 2 &&
	   ldns_rdf2native_int16(ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(p), 0), 1)) == 50,
	   "v2 with nothing answerable passes its share: SRV 50/50");
	ldns_pkt_free(p);
	p = ask("v2.canary.svc.internal.", LDNS_RR_TYPE_A, 1, DNS_UDP);
	is_int(p ? (long)ldns_pkt_ancount(p) : -1, 1, "v2.canary: fail-open inside the subset answers u3");
	ldns_pkt_free(p);
	u3->health = HEALTH_UNCHECKED;
	sp.limit = 1;
	split_set_put(&reg.splits, &sp);
	p = ask("canary.svc.internal.", LDNS_RR_TYPE_A, 1, DNS_UDP);
	is_int(p ? (long)ldns_pkt_ancount(p) : -1, 1, "limit=1: one address record");
	ldns_pkt_free(p);
	split_set_remove(&reg.splits, sp.wire_label);
	add_tagged("u0", "10.3.0.10", NULL, 0);
	count_firsts("canary.svc.internal.", 1000, counts, NULL);
	is_int(counts[10], 0, "weight=0 never first while others are above 0");
	ok(counts[11] > 200 && counts[12] > 200 && counts[13] > 200, "the others, weight 1, share the first place");
}

/* A weighted answer of many records (the weight tree's path): over TCP every distinct
 * address once, duplicates (RFC 2181 5) dropped, weight 0 after every weighted one. */
static void test_many_weighted(void)
{
	for (int i = 0; i < 150; i++) {
		char name[16], addr[32];
		snprintf(name, sizeof name, "w%d", i);
		snprintf(addr, sizeof addr, "10.7.0.%d", i < 140 ? i / 2 : i);  /* 70 pairs share, 10 alone */
		add_weighted("wide", name, addr, NULL, i >= 145 ? 0 : 1 + i % 3);
	}
	int distinct = 1, zero_last = 1, tries = 50;
	unsigned count = 0;
	for (int t = 0; t < tries; t++) {
		ldns_pkt *p = ask("wide.svc.internal.", LDNS_RR_TYPE_A, 1, DNS_TCP);
		ldns_rr_list *an = p ? ldns_pkt_answer(p) : NULL;
		unsigned seen[256] = { 0 }, n = an ? (unsigned)ldns_rr_list_rr_count(an) : 0;
		int zero_seen = 0;
		count = n;
		for (unsigned i = 0; i < n; i++) {
			uint8_t last = ldns_rdf_data(ldns_rr_rdf(ldns_rr_list_rr(an, i), 0))[3];
			distinct &= ++seen[last] == 1;
			if (last >= 145)
				zero_seen = 1;
			else if (zero_seen)
				zero_last = 0;
		}
		ldns_pkt_free(p);
	}
	is_int(count, 80, "150 weighted instances at 80 addresses: 80 records over TCP");
	ok(distinct, "... each address once (RFC 2181 5), in 50 answers");
	ok(zero_last, "... weight 0 after every weighted record");
}

int main(void)
{
	char err[CONFIG_ERROR_MAX];
	config_defaults(&cfg);
	config_finish(&cfg);
	registry_init(&reg, 1);
	memset(&zones, 0, sizeof zones);
	responder_init(&responder, &cfg, &reg, &zones);
	responder.now_ms = 1000000;
	dns_guard_init(&guard, &cfg);
	dns_front_init(&front, &responder, &guard);
	client.sin_addr.s_addr = htonl(0x7f000001);
	add_instance("web", "w1", "10.0.0.1", 1000000 + 2500);
	add_instance("web", "w2", "10.0.0.2", 0);
	add_instance("web", "w3", "10.0.0.3", 1000000 - 1);
	add_instance("only", "o1", "10.0.0.9", 0);
	for (int i = 0; i < 100; i++) {
		char name[16], addr[32];
		snprintf(name, sizeof name, "m%d", i);
		snprintf(addr, sizeof addr, "10.1.0.%d", i);
		add_instance("many", name, addr, 0);
	}
	(void)err;
	test_positive();
	test_negative();
	test_truncation();
	test_malformed();
	test_front_policy();
	test_health();
	test_weights();
	test_many_weighted();
	dns_guard_free(&guard);
	responder_free(&responder);
	registry_free(&reg);
	config_free(&cfg);
	return done_testing();
}

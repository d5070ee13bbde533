/* fuzz_dns_query.c -- libFuzzer target: one raw packet through the whole query path
 * (parse, look up, encode) over UDP and TCP, against a registry and a static zone. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "dns_front.h"
#include "dns_query.h"
#include "log.h"
#include "registry.h"
#include "views.h"
#include "zones.h"

static struct config cfg;
static struct registry reg;
static struct zone_set zones;
static struct responder responder;
static uint8_t out[65535];
static struct dns_guard guard;
static struct dns_front front;

/* One message through the front as a listener would run it, from a peer: loopback
 * (sees everything) or 10.0.0.9 (on network "a" only: views apply). */
static size_t front_answer(const uint8_t *data, size_t size, enum dns_transport t, size_t cap,
			   uint32_t peer_addr)
{
	struct sockaddr_in peer = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(peer_addr) };
	struct front_result res;
	switch (dns_front_query(&front, (struct sockaddr *)&peer, t, data, size, out, cap, &res)) {
	case FRONT_SEND:
		return res.len;
	case FRONT_FORWARD:
		return dns_front_unforwarded(&front, &res, out, cap);
	case FRONT_TRANSFER:  /* the transfer itself runs in xfr_out.c, with a socket */
	case FRONT_DROP:
		break;
	}
	return 0;
}

static struct instance *add_tagged(const char *svc, const char *inst, const char *addr, int64_t expires,
				   const char *txt, const char *tag, int weight, const char *extra_addr)
{
	struct instance_spec s;
	struct instance *made = NULL;
	memset(&s, 0, sizeof s);
	snprintf(s.service, sizeof s.service, "%s", svc);
	snprintf(s.instance, sizeof s.instance, "%s", inst);
	s.family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	inet_pton(s.family, addr, s.addr);
	s.port = 80;
	s.expires_ms = expires;
	if (txt) {
		s.txt[0] = (uint8_t)strlen(txt);
		memcpy(s.txt + 1, txt, s.txt[0]);
		s.txt_len = (uint16_t)(s.txt[0] + 1);
	}
	if (tag) {
		snprintf(s.extras.tags[0], sizeof s.extras.tags[0], "%s", tag);
		s.extras.tag_count = 1;
	}
	if (weight >= 0) {
		s.weight = (uint16_t)weight;
		s.extras.weight_set = true;
	}
	if (extra_addr && inet_pton(s.family, extra_addr, s.extras.addrs[0]) == 1)
		s.extras.addr_count = 1;
	if (registry_put(&reg, &s, &made) < REGISTRY_PUT_CONFLICT)
		views_place(&cfg, made);
	return made;
}

static void add(const char *svc, const char *inst, const char *addr, int64_t expires, const char *txt)
{
	add_tagged(svc, inst, addr, expires, txt, NULL, -1, NULL);
}

static void setup(void)
{
	char err[512];
	log_set_level(LOG_ERROR);
	config_defaults(&cfg);
	cfg.answer_limit = 0;
	cfg.ns.addr_count = 1;
	cfg.ns.addrs[0].family = AF_INET;
	inet_pton(AF_INET, "127.0.0.1", cfg.ns.addrs[0].addr);
	/* A TSIG key named "key." and transfers for everyone signed with it: the TSIG
	 * verifier and the transfer checks run on every signed input. */
	static struct tsig_key key = { .name = "key", .wire = "\3key", .algorithm = TSIG_HMAC_SHA256,
				       .secret = "0123456789abcdef", .secret_len = 16 };
	static struct transfer_acl acl = { .key = { .index = 0 } };
	struct cidr everyone;
	cidr_parse("0.0.0.0/0", &everyone);
	cidr_list_add(&acl.from, &everyone);
	cfg.tsig_keys = &key;
	cfg.tsig_key_count = 1;
	cfg.transfer_allow = &acl;
	cfg.transfer_allow_count = 1;
	/* Views, subsets, weights and browsing on: network "a" is 10.0.0.0/24. */
	static struct network net = { .name = "a" };
	struct cidr a;
	cidr_parse("10.0.0.0/24", &a);
	cidr_list_add(&net.cidrs, &a);
	cfg.networks = &net;
	cfg.network_count = 1;
	cfg.dns_sd = 1;
	config_finish(&cfg);
	registry_init(&reg, 1);
	add_tagged("canary", "c1", "10.0.0.21", 0, NULL, "v1", -1, "10.2.0.21");
	add_tagged("canary", "c2", "10.2.0.22", 0, "k=v", "v2", 0, NULL);
	add_tagged("canary", "c3", "10.0.0.23", 0, NULL, "v1", 5, NULL);
	struct split sp;
	char reason[160];
	if (split_parse_text("v1=90 v2=10 limit=2", &sp, reason, sizeof reason) == 0 &&
	    split_set_service(&sp, "canary") == 0)
		split_set_put(&reg.splits, &sp);
	add("web", "w1", "10.0.0.1", 0, "a=b");
	add("web", "w2", "fd00::2", 2000, NULL);
	add("web", "w3", "10.0.0.3", 500, NULL);
	add("web", "w4", "10.0.0.3", 0, NULL);  /* an address two instances share */
	for (int i = 0; i < 70; i++) {
		char name[16], addr[32];
		snprintf(name, sizeof name, "b%d", i);
		snprintf(addr, sizeof addr, "10.1.0.%d", i);
		add("big", name, addr, 0, NULL);
	}
	char dir[] = "/tmp/svcdns-fuzz-XXXXXX";
	if (mkdtemp(dir)) {
		char path[600];
		snprintf(path, sizeof path, "%s/example.test.zone", dir);
		FILE *f = fopen(path, "w");
		if (f) {
			fputs("$ORIGIN example.test.\n@ IN SOA ns admin 1 3600 600 86400 60\n@ IN NS ns\n"
			      "ns IN A 192.0.2.1\nwww IN CNAME web\nweb IN A 192.0.2.2\n"
			      "alias IN CNAME web.svc.internal.\nloop IN CNAME loop\nt IN TXT \"x\"\n"
			      "la IN CNAME lb\nlb IN CNAME la\n@ IN MX 10 web\n@ IN MX 20 w1.web.svc.internal.\n"
			      "_x._tcp IN SRV 0 0 80 ns\n", f);
			fclose(f);
		}
		zones_load_dir(&zones, dir, cfg.domain, err);
		unlink(path);
		rmdir(dir);
	}
	responder_init(&responder, &cfg, &reg, &zones);
	dns_guard_init(&guard, &cfg);
	dns_front_init(&front, &responder, &guard);
	responder.now_ms = 1000;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	if (!ready) {
		setup();
		ready = 1;
	}
	const uint32_t peers[] = { 0x7f000001, 0x0a000009 };
	for (size_t i = 0; i < sizeof peers / sizeof peers[0]; i++) {
		size_t n = front_answer(data, size, DNS_UDP, cfg.max_udp_payload, peers[i]);
		if (n > cfg.max_udp_payload)
			abort();  /* never more than the UDP limit */
		n = front_answer(data, size, DNS_TCP, sizeof out, peers[i]);
		if (n > sizeof out)
			abort();
	}
	return 0;
}

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
#include "zones.h"

static struct config cfg;
static struct registry reg;
static struct zone_set zones;
static struct responder responder;
static uint8_t out[65535];
static struct dns_guard guard;
static struct dns_front front;

/* One message through the front as a listener would run it. */
static size_t front_answer(const uint8_t *data, size_t size, enum dns_transport t, size_t cap)
{
	struct sockaddr_in peer = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001) };
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

static void add(const char *svc, const char *inst, const char *addr, int64_t expires, const char *txt)
{
	struct instance_spec s;
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
	registry_put(&reg, &s, NULL);
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
	config_finish(&cfg);
	registry_init(&reg, 1);
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
	size_t n = front_answer(data, size, DNS_UDP, cfg.max_udp_payload);
	if (n > cfg.max_udp_payload)
		abort();  /* never more than the UDP limit */
	n = front_answer(data, size, DNS_TCP, sizeof out);
	if (n > sizeof out)
		abort();
	return 0;
}

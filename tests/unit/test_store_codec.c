/* Unit tests for store_codec.c: the etcd instance record round-trips every field of
 * struct instance_spec, a split round-trips and is checked as SPLIT checks it; keys,
 * ranges and base64 as etcd's JSON gateway wants them. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>

#include "store_codec.h"
#include "tap.h"

static void round_trip_everything(void)
{
	struct store_record in, out;
	const char *why = "";
	memset(&in, 0, sizeof in);
	strcpy(in.spec.service, "user-service");
	strcpy(in.spec.instance, "u1");
	in.spec.family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::7", in.spec.addr);
	in.spec.port = 8080;
	in.spec.priority = 3;
	in.spec.weight = 9;
	in.spec.proto = PROTO_UDP;
	memcpy(in.spec.txt, "\x03" "a=b" "\x00" "\x05" "x\"y\\z", 11);
	in.spec.txt_len = 11;
	ok(health_parse_url("http://:8080/health", &in.spec.check, &why) == 0, "a check URL parses");
	in.spec.check.interval_ms = 2000;
	in.spec.check.timeout_ms = 500;
	in.spec.check.fall = 3;
	in.spec.check.rise = 2;
	in.spec.extras.tag_count = 2;
	strcpy(in.spec.extras.tags[0], "canary");
	strcpy(in.spec.extras.tags[1], "v2");
	in.spec.extras.addr_count = 1;
	inet_pton(AF_INET6, "2001:db8:1::7", in.spec.extras.addrs[0]);
	in.spec.extras.network_count = 1;
	strcpy(in.spec.extras.networks[0], "blue");
	in.spec.extras.weight_set = true;
	in.ttl = 45;
	strcpy(in.key, "deploy");
	strcpy(in.owner, "dns-a:8053");
	char *json = store_record_encode(&in);
	ok(json != NULL, "encodes");
	memset(&out, 0, sizeof out);
	strcpy(out.spec.service, "user-service");
	strcpy(out.spec.instance, "u1");
	is_int(store_record_decode(json, strlen(json), &out, &why), 0, "decodes what it encoded");
	ok(memcmp(&in.spec, &out.spec, sizeof in.spec) == 0, "every field of the spec comes back the same (check, tags, addrs, networks too)");
	is_int(out.ttl, 45, "ttl");
	is_str(out.key, "deploy", "key");
	is_str(out.owner, "dns-a:8053", "owner");
	ok(strstr(json, "\"owner\":\"dns-a:8053\"") != NULL, "the JSON names the owner");
	free(json);
}

static void refusals(void)
{
	struct store_record rec;
	const char *why;
	static const char *const bad[] = {
		"", "[]", "{\"address\":\"10.0.0.1\"}",
		"{\"address\":\"x\",\"port\":1,\"proto\":\"tcp\",\"priority\":0,\"weight\":0,\"txt\":[],\"ttl\":1,\"key\":\"\",\"owner\":\"n\"}",
		"{\"address\":\"10.0.0.1\",\"port\":70000,\"proto\":\"tcp\",\"priority\":0,\"weight\":0,\"txt\":[],\"ttl\":1,\"key\":\"\",\"owner\":\"n\"}",
		"{\"address\":\"10.0.0.1\",\"port\":1,\"proto\":\"tcp\",\"priority\":0,\"weight\":0,\"txt\":[1],\"ttl\":1,\"key\":\"\",\"owner\":\"n\"}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memset(&rec, 0, sizeof rec);
		char desc[64];
		snprintf(desc, sizeof desc, "bad record %zu refused", i);
		ok(store_record_decode(bad[i], strlen(bad[i]), &rec, &why) < 0, desc);
	}
}

static void keys_and_base64(void)
{
	char key[STORE_KEY_MAX], end[STORE_KEY_MAX], b64[64], service[64], instance[64];
	uint8_t raw[64];
	store_instance_key("/svcdns/svc.internal/", "web", "w1", key);
	is_str(key, "/svcdns/svc.internal/i/web/w1", "instance key");
	is_int(store_parse_instance_key("web/w1", 6, service, instance), 0, "parses service/instance");
	is_str(service, "web", "service");
	is_str(instance, "w1", "instance");
	ok(store_parse_instance_key("web", 3, service, instance) < 0, "a key without instance is refused");
	ok(store_parse_instance_key("web/w_1", 7, service, instance) < 0, "a non-LDH instance is refused");
	store_range_end("/svcdns/x/", end);
	is_str(end, "/svcdns/x0", "range end: the prefix's last byte plus one");
	store_base64("ab", 2, b64);
	is_str(b64, "YWI=", "base64");
	is_int(store_unbase64("YWI=", raw, sizeof raw), 2, "unbase64 length without padding");
	ok(memcmp(raw, "ab", 2) == 0, "unbase64 bytes");
	ok(store_unbase64("YWI", raw, sizeof raw) < 0, "bad base64 refused");
}

static void splits(void)
{
	struct split in, out;
	char reason[160], key[STORE_KEY_MAX];
	memset(&in, 0, sizeof in);
	memset(&out, 0, sizeof out);
	ok(split_parse_text("v1=90 v2=10 limit=1", &in, reason, sizeof reason) == 0, "a split parses");
	char *json = store_split_encode(&in);
	is_str(json, "{\"shares\":{\"v1\":90,\"v2\":10},\"limit\":1}", "a split's JSON: shares in order, and limit");
	ok(store_split_decode(json, strlen(json), &out, reason, sizeof reason) == 0, "and decodes");
	ok(memcmp(&in, &out, sizeof in) == 0, "to the same split");
	free(json);
	ok(split_parse_text("a=100", &in, reason, sizeof reason) == 0, "a split without limit");
	json = store_split_encode(&in);
	is_str(json, "{\"shares\":{\"a\":100}}", "has no limit in its JSON");
	free(json);
	static const struct { const char *json, *why; } bad[] = {
		{ "{\"shares\":{\"v1\":90,\"v2\":20}}", "percents sum to 110" },
		{ "{\"shares\":{\"v_1\":100}}", "not a valid name" },
		{ "{\"shares\":{\"v1\":\"100\"}}", "percents must be integers" },
		{ "{\"shares\":{\"v1\":-5,\"v2\":105}}", "not a percent" },
		{ "{\"shares\":{}}", "not {\"shares\"" },
		{ "{\"shares\":{\"v1\":100},\"limit\":\"x\"}", "not {\"shares\"" },
		{ "{\"shares\":{\"v1\":100},\"limit\":70000}", "limit:" },
		{ "[1]", "not {\"shares\"" },
		{ "{\"shares\":{\"v1 v2\":100}}", "expected TAG=PERCENT" },
		{ "{\"shares\":{\"lImit\":100}}", "limit= needs" },   /* no tag "limit", in any case */
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		char desc[400];
		reason[0] = 0;
		int refused = store_split_decode(bad[i].json, strlen(bad[i].json), &out, reason, sizeof reason) < 0;
		snprintf(desc, sizeof desc, "refused: %s (%s)", bad[i].json, reason);
		ok(refused && strstr(reason, bad[i].why), desc);
	}
	const char *no_limit = "{\"shares\":{\"v1\":100},\"limit\":0}";
	ok(store_split_decode(no_limit, strlen(no_limit), &out, reason, sizeof reason) == 0 &&
		   out.limit == 0, "limit 0 is no limit");
	store_split_key("/svcdns/svc.internal/", "web", key);
	is_str(key, "/svcdns/svc.internal/s/web", "split key");
}

int main(void)
{
	round_trip_everything();
	refusals();
	keys_and_base64();
	splits();
	return done_testing();
}

/* Unit tests for config.c: defaults, values, and file:line: key: reason errors. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "config.h"
#include "tap.h"

static char path[] = "/tmp/svcdns-config-XXXXXX";

static int load(struct config *cfg, const char *yaml, char err[CONFIG_ERROR_MAX])
{
	FILE *f = fopen(path, "w");
	fputs(yaml, f);
	fclose(f);
	config_free(cfg);
	config_defaults(cfg);
	err[0] = 0;
	return config_load_file(cfg, path, err);
}

/* True when err ends with the given "line: key: reason" part. */
static int error_is(const char *err, const char *tail)
{
	size_t n = strlen(path);
	return strncmp(err, path, n) == 0 && strcmp(err + n, tail) == 0;
}

int main(void)
{
	char err[CONFIG_ERROR_MAX];
	struct config cfg;
	int fd = mkstemp(path);
	close(fd);

	config_defaults(&cfg);
	config_finish(&cfg);
	is_str(cfg.domain_text, "svc.internal.", "default domain");
	is_int(cfg.ttl, 5, "default TTL 5");
	is_int(cfg.soa.minimum, 5, "default negative TTL 5");
	is_int(cfg.max_udp_payload, 1232, "default UDP payload 1232");
	is_int(cfg.dns_count, 2, "default listens on two addresses");
	is_str(cfg.dns[0].text, "0.0.0.0:53", "IPv4 any, port 53");
	is_str(cfg.dns[1].text, "[::]:53", "IPv6 any, port 53");
	ok(memcmp(cfg.ns.name, "\2ns\3svc\10internal", 17) == 0, "default NS name ns.<domain>");

	is_int(load(&cfg, "domain: Example.Internal\nttl: 30\ndns: \"[::1]:5353\"\n", err), 0, "good file loads");
	is_str(cfg.domain_text, "example.internal.", "domain lowercased");
	is_int(cfg.ttl, 30, "ttl read");
	is_int(cfg.dns_count, 1, "a single dns address replaces the defaults");
	is_str(cfg.dns[0].text, "[::1]:5353", "IPv6 listen address");

	is_int(load(&cfg, "services:\n  - service: DB\n    instance: db-1\n    address: 10.0.0.5\n"
			  "    port: 5432\n    proto: udp\n    txt: [\"a=1\", \"b=2\"]\n", err), 0, "service loads");
	is_int((long)cfg.service_count, 1, "one static instance");
	is_str(cfg.services[0].service, "db", "service name lowercased");
	is_int(cfg.services[0].port, 5432, "port");
	is_int(cfg.services[0].proto, PROTO_UDP, "proto udp");
	is_int(cfg.services[0].txt_len, 8, "two TXT strings as rdata");
	ok(cfg.services[0].is_static, "config instances are static");

	is_int(load(&cfg, "domain: svc.internal\nfoo: 1\n", err), -1, "unknown key refused");
	ok(error_is(err, ":2: foo: unknown key"), "unknown key: file:line: key: reason");
	is_int(load(&cfg, "ttl: 99999999999\n", err), -1, "huge number refused");
	ok(error_is(err, ":1: ttl: 99999999999 is out of range (0..2147483647)"), "range error names the key");
	is_int(load(&cfg, "ttl: -1\n", err), -1, "negative number refused");
	ok(error_is(err, ":1: ttl: -1 is out of range (0..2147483647)"), "a negative number is out of range, not 'not a number'");
	is_int(load(&cfg, "soa:\n  ttl: 5\n  minimum: 99999\n", err), -1, "nested value out of range");
	ok(error_is(err, ":3: soa.minimum: 99999 is out of range (0..86400)"), "nested error names the full key path");
	is_int(load(&cfg, "ttl: 5\ndomain: a.internal\nttl: 6\n", err), -1, "duplicate key refused");
	ok(error_is(err, ":3: ttl: duplicate key (first set at line 1)"), "duplicate key names both lines");
	is_int(load(&cfg, "soa:\n  retry: 5\n  retry: 6\n", err), -1, "duplicate nested key refused");
	ok(error_is(err, ":3: soa.retry: duplicate key (first set at line 2)"), "duplicate nested key: full path");
	is_int(load(&cfg, "allow-query: [127.0.0.0/8, 10.0.0.1/8]\n", err), -1, "CIDR with host bits refused");
	ok(error_is(err, ":1: allow-query[1]: '10.0.0.1/8' has host bits set: did you mean 10.0.0.0/8?"),
	   "host bits: the list item and the network meant");
	is_int(load(&cfg, "allow-from: [\"fd00::1/64\"]\n", err), -1, "IPv6 CIDR with host bits refused");
	ok(error_is(err, ":1: allow-from[0]: 'fd00::1/64' has host bits set: did you mean fd00::/64?"), "IPv6 did you mean");
	is_int(load(&cfg, "allow-from: [10.0.0.1, 10.0.0.0/8, \"::1\"]\n", err), 0, "plain addresses and clean CIDRs load");
	is_int(load(&cfg, "answer-limits: {web: 1, web: 2}\n", err), -1, "duplicate answer-limits service refused");
	ok(error_is(err, ":1: answer-limits.web: duplicate key (first set at line 1)"), "answer-limits duplicate: full path");
	is_int(load(&cfg, "state: data/svcdns.state\n", err), 0, "relative state path loads");
	{
		char want[PATH_MAX];
		snprintf(want, sizeof want, "%s/data/svcdns.state", "/tmp");
		is_str(cfg.state_file, want, "relative path resolves against the config file's directory");
	}
	is_int(load(&cfg, "state: /var/lib/svcdns/state\n", err), 0, "absolute state path loads");
	is_str(cfg.state_file, "/var/lib/svcdns/state", "absolute path kept as written");
	is_int(load(&cfg, "zones: no-such-dir-here\n", err), -1, "missing zones directory refused");
	ok(error_is(err, ":1: zones: '/tmp/no-such-dir-here': cannot open zones directory: No such file or directory"),
	   "missing zones directory: file, line, key, resolved path");
	is_int(load(&cfg, "zones: .\n", err), 0, "an existing zones directory loads");
	is_str(cfg.zones_dir, "/tmp/.", "zones relative to the file");
	config_free(&cfg);
	config_defaults(&cfg);
	is_int(config_load_file(&cfg, "/nonexistent/svcdns.yml", err), -1, "missing file refused");
	is_str(err, "/nonexistent/svcdns.yml: cannot open: No such file or directory", "missing file: FILE: cannot open: reason");
	is_int(load(&cfg, "services:\n  - service: db\n    instance: x\n    address: nope\n", err), -1,
	       "bad address refused");
	ok(error_is(err, ":4: services[0].address: 'nope' is not an IPv4 or IPv6 address"), "bad address message: full key path");
	is_int(load(&cfg, "dns: \"[::1:53\"\n", err), -1, "unclosed IPv6 bracket refused");
	is_int(load(&cfg, "- just\n- a list\n", err), -1, "top level must be a mapping");
	is_int(load(&cfg, "", err), 0, "empty file keeps defaults");

	struct listen_addr la;
	is_int(config_parse_listen("127.0.0.1:0", &la, err), -1, "port 0 refused");
	is_int(config_parse_listen("::1:53", &la, err), -1, "IPv6 without brackets refused");
	is_int(config_parse_listen("[::1]:53", &la, err), 0, "IPv6 with brackets");

	config_free(&cfg);
	unlink(path);
	return done_testing();
}

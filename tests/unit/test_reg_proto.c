/* Unit tests for reg_proto.c and registrar.c: request lines in, reply lines out. */
#include <arpa/inet.h>
#include <event2/buffer.h>
#include <stdlib.h>

#include "config.h"
#include "log.h"
#include "reg_proto.h"
#include "registrar.h"
#include "reg_exec.h"
#include "tap.h"

static struct config cfg;
static struct registry reg;
static struct registrar registrar;
static struct sockaddr_in loopback, outsider;
static char reply[8192];

/* Executes one line and returns its reply without the final newline. */
static const char *run_from(const char *line, const struct sockaddr_in *source)
{
	return reg_exec(&registrar, line, (const struct sockaddr *)source, reply, sizeof reply);
}

static const char *run(const char *line)
{
	return run_from(line, &loopback);
}

/* What the change listener heard: "registered db-1.db;updated w1.web;" and so on. */
static char changes[512];

static void record_change(void *arg, enum reg_change change, const struct instance *inst)
{
	(void)arg;
	char name[2 * (DNAME_MAX_LABEL + 1)];
	size_t used = strlen(changes);
	snprintf(changes + used, sizeof changes - used, "%s %s;", reg_change_name(change),
		 instance_text_name(inst, name));
}

/* A static instance as the config file gives it. */
static void static_spec(struct instance_spec *spec, const char *service, const char *instance,
			const char *addr, uint16_t port)
{
	memset(spec, 0, sizeof *spec);
	snprintf(spec->service, sizeof spec->service, "%s", service);
	snprintf(spec->instance, sizeof spec->instance, "%s", instance);
	spec->family = AF_INET;
	inet_pton(AF_INET, addr, spec->addr);
	spec->port = port;
	spec->is_static = true;
}

/* Syncs the static instances to cfg and returns what the listener heard. */
static const char *sync_static(void)
{
	changes[0] = 0;
	if (registrar_sync_static(&registrar, &cfg) < 0)
		return "failed";
	return changes;
}

int main(void)
{
	char err[512];
	log_set_level(LOG_ERROR);  /* refusals are logged by design; keep the TAP output readable */
	config_defaults(&cfg);
	config_finish(&cfg);
	registry_init(&reg, 1);
	registrar_init(&registrar, &reg, &cfg, err);
	loopback.sin_family = AF_INET;
	inet_pton(AF_INET, "127.0.0.1", &loopback.sin_addr);
	outsider.sin_family = AF_INET;
	inet_pton(AF_INET, "203.0.113.7", &outsider.sin_addr);

	is_str(run("PING"), "OK", "PING");
	is_str(run("ping"), "OK", "verbs are case-insensitive");
	is_str(run("REGISTER web w1 10.0.0.1 80"), "OK ttl=30", "REGISTER with the default ttl");
	struct instance *inst = registry_lookup(&reg, "web", "w1");
	ok(inst && inst->port == 80 && inst->lease_slot, "instance stored with a lease");
	is_str(run("REGISTER web w1 10.0.0.2 81 ttl=5 proto=udp priority=3 weight=4 txt=a=b txt=c"),
	       "OK ttl=5", "REGISTER replaces");
	inst = registry_lookup(&reg, "web", "w1");
	ok(inst && inst->port == 81 && inst->proto == PROTO_UDP && inst->priority == 3 &&
	   inst->weight == 4, "options applied");
	ok(inst && inst->txt_len == 6 && memcmp(inst->txt, "\3a=b\1c", 6) == 0, "txt options as TXT strings");
	is_int((long)reg.instance_count, 1, "replacing does not add");
	is_str(run("LIST web"), "web w1 10.0.0.2 81 ttl=5 proto=udp priority=3 weight=4 txt=a=b txt=c\nOK 1",
	       "LIST prints the REGISTER syntax back");
	is_str(run("RENEW web w1 ttl=100000"), "OK ttl=86400", "ttl clamped to ttl-max");
	ok(starts_with(run("RENEW web w1 ttl=0"), "ERR 400 ttl: 0 is out of range (1..2147483)"), "ttl=0 refused");
	is_str(run("RENEW web w1"), "OK ttl=30", "no ttl= is the default");
	is_str(run("REGISTER web w2 ::1 80"), "OK ttl=30", "IPv6 address");
	is_str(run("DEREGISTER web w2"), "OK", "DEREGISTER");
	ok(starts_with(run("DEREGISTER web w2"), "ERR 404 "), "DEREGISTER twice: 404");
	ok(starts_with(run("RENEW web nope"), "ERR 404 "), "RENEW unknown: 404");

	/* Malformed lines: each names what is wrong, and none touches valid data. */
	ok(starts_with(run(""), "ERR 400 empty request"), "empty line");
	ok(starts_with(run("REGISTER web"), "ERR 400 missing field: instance"), "missing instance");
	ok(starts_with(run("REGISTER web w3 10.0.0.1"), "ERR 400 missing field: port"), "missing port");
	ok(starts_with(run("REGISTER web w3 10.0.0.1 80 ttl=abc"), "ERR 400 ttl:"), "bad ttl");
	ok(starts_with(run("REGISTER web w3 10.0.0.1 80 ttl=99999999999"), "ERR 400 ttl:"), "huge ttl");
	ok(starts_with(run("REGISTER web w3 10.0.0.1 -1"), "ERR 400 port:"), "negative port");
	ok(starts_with(run("REGISTER web w3 1.2.3 80"), "ERR 400 address:"), "short IPv4");
	ok(starts_with(run("REGISTER web w3 10.0.0.1 80 =x"), "ERR 400 option"), "empty option key");
	ok(starts_with(run("REGISTER web w3 10.0.0.1 80 weight=65536"), "ERR 400 weight:"), "weight range");
	ok(starts_with(run("REGISTER we.b w3 10.0.0.1 80"), "ERR 400 service:"), "dot in a name");
	ok(starts_with(run("REGISTER web w3 10.0.0.1 80 "), "ERR 400 empty field"), "trailing space");
	ok(starts_with(run("RENEW web w1 proto=tcp"), "ERR 400 unknown option 'proto'"), "RENEW takes only ttl");
	ok(starts_with(run("DEREGISTER web w1 ttl=3"), "ERR 400 "), "DEREGISTER takes no options");
	ok(starts_with(run("LIST a b"), "ERR 400 "), "LIST takes one service");
	ok(starts_with(run("PING x"), "ERR 400 "), "PING takes nothing");
	char txt[400];
	snprintf(txt, sizeof txt, "REGISTER web w3 10.0.0.1 80 txt=%0256d", 0);
	ok(starts_with(run(txt), "ERR 400 txt:"), "a TXT string over 255 bytes");
	char nul_line[] = "PING\0junk";
	struct evbuffer *out = evbuffer_new();
	reg_proto_execute(&registrar, nul_line, sizeof nul_line - 1, (struct sockaddr *)&loopback, REG_UDP, out);
	ok(evbuffer_get_length(out) > 8 && memcmp(evbuffer_pullup(out, 8), "ERR 400 ", 8) == 0, "NUL byte refused");
	evbuffer_free(out);
	char long_line[5000];  /* above the default max-line-length of 4096 */
	memset(long_line, 'a', sizeof long_line - 1);
	long_line[sizeof long_line - 1] = 0;
	ok(starts_with(run(long_line), "ERR 413 "), "over-long line");
	ok(starts_with(run_from("PING", &outsider), "ERR 403 "), "a public source is refused by allow-from");
	inst = registry_lookup(&reg, "web", "w1");
	ok(inst && inst->port == 81, "bad lines left the valid registration alone");

	/* Expiry: only due leases go, in bounded slices. */
	is_str(run("REGISTER short s1 10.0.1.1 80 ttl=1"), "OK ttl=1", "a 1 s lease");
	registrar.now_ms += 1500;
	is_int((long)registrar_expire(&registrar, 10), 1, "the due lease expires");
	ok(registry_lookup(&reg, "short", "s1") == NULL, "and leaves the registry");
	ok(registry_lookup(&reg, "web", "w1") != NULL, "the others stay");
	for (int i = 0; i < 50; i++) {
		char line[80];
		snprintf(line, sizeof line, "REGISTER bulk b%d 10.0.2.%d 80 ttl=1", i, i);
		run(line);
	}
	registrar.now_ms += 1500;
	is_int((long)registrar_expire(&registrar, 20), 20, "expiry works in slices of the budget");
	is_int((long)registrar_expire(&registrar, 100), 30, "the next slice takes the rest");

	/* Results as values: the metrics count each reply by its code. */
	struct registration_metrics before = registrar.metrics;
	run("PING");
	run("PING x");
	run("RENEW web nope");
	ok(registrar.metrics.requests_ok == before.requests_ok + 1, "an OK is counted as ok");
	ok(registrar.metrics.requests_err[0] == before.requests_err[0] + 1 &&
	   registrar.metrics.requests_err[3] == before.requests_err[3] + 1, "ERR 400 and ERR 404 by their codes");

	/* A reload's static instances: every change is told, a removal before it frees. */
	registrar_set_listener(&registrar, record_change, NULL);
	cfg.services = calloc(2, sizeof *cfg.services);
	static_spec(&cfg.services[0], "db", "db-1", "10.0.0.5", 5432);
	static_spec(&cfg.services[1], "web", "w1", "10.0.0.9", 81);
	cfg.service_count = 2;
	struct instance *leased = registry_lookup(&reg, "web", "w1");
	size_t leases = registrar.leases.count;
	is_str(sync_static(), "registered db-1.db;updated w1.web;", "new static told, takeover told as an update");
	inst = registry_lookup(&reg, "web", "w1");
	ok(inst == leased && inst->is_static && !inst->lease_slot, "the taken-over instance is static, no lease");
	is_int((long)registrar.leases.count, (long)leases - 1, "its lease is gone from the timer");
	is_str(sync_static(), "", "an unchanged file tells nothing");
	cfg.services[0].port = 5433;
	is_str(sync_static(), "updated db-1.db;", "a changed static instance is an update");
	cfg.services[0] = cfg.services[1];  /* db-1 dropped from the file */
	cfg.service_count = 1;
	is_str(sync_static(), "deregistered db-1.db;", "a dropped static instance is deregistered");
	ok(registry_lookup(&reg, "db", "db-1") == NULL, "and leaves the registry");
	cfg.rate_limit = 7;
	cfg.rate_burst = 9;
	registrar_configure(&registrar, &cfg);
	ok(registrar.rate.rate == 7 && registrar.rate.burst == 9, "registrar_configure takes the new rates");
	registrar_set_listener(&registrar, NULL, NULL);

	registrar_free(&registrar);
	registry_free(&reg);
	config_free(&cfg);
	return done_testing();
}

/* server.c -- the daemon's context: load data, open listeners, run the loop, shut down. */
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "health.h"
#include "http_api.h"
#include "forward.h"
#include "listen_reg.h"
#include "log.h"
#include "clock.h"
#include "netio.h"
#include "server.h"
#include "views.h"
#include "notify.h"
#include "xfr_out.h"
#include "store.h"
#include "summary.h"

static void on_stop_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	struct server *srv = arg;
	log_info("received %s: shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	event_base_loopexit(srv->base, NULL);
}

static void on_sighup(evutil_socket_t sig, short what, void *arg)
{
	(void)sig; (void)what;
	log_info("received SIGHUP: reloading the configuration and zones");
	if (server_reload(arg) < 0)
		log_error("reload failed: still serving the previous configuration and zones");
}

static int load_static_instances(struct server *srv)
{
	const struct config *cfg = srv->cfg;
	for (size_t i = 0; i < cfg->service_count; i++) {
		struct instance *inst;
		if (registry_put(&srv->registry, &cfg->services[i], &inst) != REGISTRY_PUT_CREATED) {
			log_error("%s: services[%zu]: cannot add %s.%s", cfg->source, i,
				  cfg->services[i].instance, cfg->services[i].service);
			return -1;
		}
		views_place(cfg, inst);  /* networks: see static instances as they see the rest */
	}
	return 0;
}

/* Names must fit in 255 octets once the domain is appended. */
int check_static_names(const struct config *cfg)
{
	for (size_t i = 0; i < cfg->service_count; i++) {
		const struct instance_spec *s = &cfg->services[i];
		if (strlen(s->instance) + strlen(s->service) + 2 + cfg->domain_len > DNAME_MAX_WIRE) {
			log_error("%s: services[%zu]: %s.%s.%s is longer than 255 octets", cfg->source, i,
				  s->instance, s->service, cfg->domain_text);
			return -1;
		}
	}
	return 0;
}

int resolve_forwarders(struct config *cfg)
{
	char err[CONFIG_ERROR_MAX];
	if (!cfg->forward_from_resolv_conf)
		return 0;
	int n = config_forward_from_resolv_conf(cfg, "/etc/resolv.conf", err);
	if (n < 0) {
		log_error("forward: resolv.conf: %s", err);
		return -1;
	}
	log_info("forward: %d upstream(s) from /etc/resolv.conf", n);
	return 0;
}

int load_zones(struct zone_set *zones, const struct config *cfg)
{
	char err[ZONES_ERROR_MAX];
	if (zones_load_dir(zones, cfg->zones_dir, cfg->domain, err) < 0) {
		log_error("%s", err);
		return -1;
	}
	return 0;
}

static void print_line(void *arg, const char *line)
{
	fprintf(arg, "  %s\n", line);
}

static void log_line(void *arg, const char *line)
{
	(void)arg;
	log_info("%s", line);
}

int server_check_config(struct config *cfg, FILE *out)
{
	struct zone_set zones;
	if (check_static_names(cfg) < 0 || load_zones(&zones, cfg) < 0)
		return -1;
	if (resolve_forwarders(cfg) < 0) {
		zones_free(&zones);
		return -1;
	}
	fprintf(out, "%s: configuration OK; it would serve:\n", cfg->source[0] ? cfg->source : "(defaults)");
	config_summary(cfg, &zones, print_line, out);
	zones_free(&zones);
	return 0;
}

/* A default IPv6 listener may be missing on hosts without IPv6; anything else is fatal. */
static int ipv6_missing(const struct listen_addr *addr, int is_default)
{
	return is_default && addr->sa.ss_family == AF_INET6 &&
	       (errno == EAFNOSUPPORT || errno == EADDRNOTAVAIL);
}

static int open_listeners(struct server *srv)
{
	const struct config *cfg = srv->cfg;
	for (int i = 0; i < cfg->dns_count; i++) {
		const struct listen_addr *addr = &cfg->dns[i];
		struct udp_listener *u = udp_listener_open(&srv->dns, addr);
		if (!u && ipv6_missing(addr, cfg->dns_is_default)) {
			log_warn("dns: no IPv6 on this host; serving IPv4 only");
			continue;
		}
		if (!u)
			return -1;
		srv->udp[srv->udp_count++] = u;
		struct tcp_listener *t = tcp_listener_open(&srv->dns, addr);
		if (!t)
			return -1;
		srv->tcp[srv->tcp_count++] = t;
	}
	for (int i = 0; i < cfg->reg_count; i++) {
		const struct listen_addr *addr = &cfg->reg[i];
		int rc = reg_front_listen(srv->reg_front, addr);
		if (rc == REG_FRONT_NO_UDP && ipv6_missing(addr, cfg->reg_is_default)) {
			log_warn("register: no IPv6 on this host; IPv4 only");
			continue;
		}
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* Expiry works in bounded slices so that a million leases ending in the same second
 * never hold up query answering for long. */
#define EXPIRY_BUDGET 250       /* about 0.1 ms of work below log level info: DNS is served between slices */
#define EXPIRY_INTERVAL_MS 100

static void on_expiry_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what;
	struct server *srv = arg;
	registrar_tick(&srv->registrar);
	registrar_expire(&srv->registrar, EXPIRY_BUDGET);
	registrar_maintain(&srv->registrar);
	int64_t next = registrar_next_expiry_ms(&srv->registrar);
	struct timeval tv = { 0, EXPIRY_INTERVAL_MS * 1000 };
	if (next == 0)
		tv.tv_usec = 0;  /* more are due: come back right after the pending I/O */
	evtimer_add(srv->expiry_event, &tv);
}

/* Three event priorities: everything runs at the default (1) but the health checks,
 * which take the lowest (2, health.c): a DNS packet ready in the same loop turn is
 * answered first, and after 8 probe callbacks the loop looks for new packets again
 * instead of running a whole burst of probes. */
static struct event_base *new_event_base(void)
{
	struct event_config *ec = event_config_new();
	struct event_base *base = NULL;
	if (ec && event_config_set_max_dispatch_interval(ec, NULL, 8, 2) == 0)
		base = event_base_new_with_config(ec);
	if (ec)
		event_config_free(ec);
	if (base && event_base_priority_init(base, 3) < 0) {
		event_base_free(base);
		base = NULL;
	}
	return base;
}

/* Every registration change goes to the health checks (which start or stop probing)
 * and then to the HTTP API's watchers. */
static void on_registrar_change(void *arg, enum reg_change change, const struct instance *inst)
{
	struct server *srv = arg;
	health_on_registry_change(srv->health, change, inst);
	if (srv->http)
		http_api_on_change(srv->http, change, inst);
}

/* A split was set or cleared: a "split" event for the watchers. */
static void on_registrar_split(void *arg, const uint8_t *service_label, const struct split *sp)
{
	struct server *srv = arg;
	if (srv->http)
		http_api_on_split(srv->http, service_label, sp);
}

/* A health state changed: a "health" event for the watchers, and nothing else (it is
 * not a change of the zone: transfers and NOTIFY never hear of it). */
static void on_health_change(void *arg, const struct instance *inst)
{
	struct server *srv = arg;
	if (srv->http)
		http_api_on_change(srv->http, REG_HEALTH, inst);
}

static int add_signal(struct server *srv, int slot, int sig, event_callback_fn fn)
{
	srv->signals[slot] = evsignal_new(srv->base, sig, fn, srv);
	return srv->signals[slot] && event_add(srv->signals[slot], NULL) == 0 ? 0 : -1;
}

struct zone_source server_zone_source(struct server *srv)
{
	const struct zone *z = zones_find(&srv->zones, srv->cfg->domain, srv->cfg->domain_len);
	return (struct zone_source){ srv->cfg, &srv->registry,
				     z && z->is_service_domain ? z : NULL };
}

void server_journal_limits(const struct config *cfg, size_t *versions, size_t *bytes)
{
	int anyone = cfg->transfer_allow_count > 0;
	*versions = anyone ? cfg->journal_versions : 0;
	*bytes = anyone ? (size_t)cfg->journal_bytes : 0;
}

static uint32_t store_zone_serial(void *arg)
{
	struct server *srv = arg;
	return store_serial(srv->registrar.store);
}

int server_init(struct server *srv, struct config *cfg, config_loader load, void *load_arg)
{
	memset(srv, 0, sizeof *srv);
	srv->cfg = cfg;
	srv->load_config = load;
	srv->load_arg = load_arg;
	registry_init(&srv->registry, 0);
	char err[STATE_ERROR_MAX];
	if (check_static_names(cfg) < 0 || load_zones(&srv->zones, cfg) < 0)
		return SERVER_BAD_CONFIG;
	if (load_static_instances(srv) < 0)
		return -1;
	if (resolve_forwarders(cfg) < 0)
		return -1;
	if (registrar_init(&srv->registrar, &srv->registry, cfg, err) < 0) {
		log_error("%s", err);
		return -1;
	}
	responder_init(&srv->responder, cfg, &srv->registry, &srv->zones);
	dns_guard_init(&srv->guard, cfg);
	dns_front_init(&srv->front, &srv->responder, &srv->guard);
	srv->dns.tcp = tcp_conns_new();
	srv->base = new_event_base();
	if (!srv->dns.tcp || !srv->base ||
	    !(srv->reg_front = reg_front_new(srv->base, &srv->registrar, cfg)) ||
	    !(srv->expiry_event = evtimer_new(srv->base, on_expiry_timer, srv))) {
		log_error("out of memory");
		return -1;
	}
	if (!(srv->health = health_new(srv->base, &srv->registry, cfg))) {
		log_error("out of memory");
		return -1;
	}
	srv->forwarder = forwarder_new(srv->base, cfg, &srv->responder.metrics);
	if (!srv->forwarder)
		return -1;
	/* From here on every change of the registry is a change of the zone. */
	struct zone_source src = server_zone_source(srv);
	size_t versions, bytes;
	server_journal_limits(cfg, &versions, &bytes);
	if (zone_versions_init(&srv->versions, srv->base, &srv->registry, &src, versions, bytes) < 0 ||
	    !(srv->xfr = xfr_out_new(srv->base, cfg, &srv->versions, &srv->zones,
				     &srv->responder.metrics))) {
		log_error("out of memory");
		return -1;
	}
	if (!(srv->notifier = notifier_new(srv->base, cfg, &srv->responder.metrics)))
		return -1;
	zone_versions_listen(&srv->versions, notifier_on_version, srv->notifier);
	/* Secondaries that kept an older serial across our restart hear of this one now. */
	notifier_on_version(srv->notifier, srv->registry.serial);
	srv->dns = (struct dns_listen_ctx){ .base = srv->base, .cfg = cfg, .front = &srv->front,
		.forwarder = srv->forwarder, .guard = &srv->guard, .tcp = srv->dns.tcp, .xfr = srv->xfr };
	on_expiry_timer(-1, 0, srv);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGXFSZ, SIG_IGN);  /* a file-size limit must fail the write (ERR 503), not kill us */
	if (add_signal(srv, 0, SIGTERM, on_stop_signal) < 0 ||
	    add_signal(srv, 1, SIGINT, on_stop_signal) < 0 ||
	    add_signal(srv, 2, SIGHUP, on_sighup) < 0) {
		log_error("cannot install signal handlers");
		return -1;
	}
	struct http_context http = { srv->base, cfg, &srv->registry, &srv->registrar,
				     &srv->responder.metrics, health_metrics(srv->health) };
	if (open_listeners(srv) < 0 || http_api_open(&http, &srv->http) < 0)
		return -1;
	registrar_set_listener(&srv->registrar, on_registrar_change, srv);
	registrar_set_split_listener(&srv->registrar, on_registrar_split, srv);
	health_set_listener(srv->health, on_health_change, srv);
	if (cfg->store.enabled) {
		/* Listeners are open: until the first sync DNS answers SERVFAIL and writes ERR 503. */
		if (registrar_store_open(&srv->registrar, srv->base) < 0)
			return -1;
		zone_versions_serial_source(&srv->versions, store_zone_serial, srv);
	}
	config_summary(cfg, &srv->zones, log_line, NULL);
	return 0;
}

int server_run(struct server *srv)
{
	log_info("svcdns serving %s", srv->cfg->domain_text);
	return event_base_dispatch(srv->base) < 0 ? -1 : 0;
}

void server_free(struct server *srv)
{
	reg_front_free(srv->reg_front);  /* before the store: its waiting replies are orphaned */
	srv->reg_front = NULL;
	registrar_store_close(&srv->registrar);
	registrar_set_listener(&srv->registrar, NULL, NULL);
	registrar_set_split_listener(&srv->registrar, NULL, NULL);
	health_free(srv->health);        /* its probes' events live in the base */
	http_api_free(srv->http);
	tcp_conns_free(srv->dns.tcp);
	forwarder_free(srv->forwarder);  /* after the connections that cancel into it */
	xfr_out_free(srv->xfr);
	zone_versions_free(&srv->versions);
	notifier_free(srv->notifier);
	reg_front_free(srv->reg_front);  /* flushes a pending commit, then closes */
	if (srv->expiry_event)
		event_free(srv->expiry_event);
	for (int i = 0; i < srv->udp_count; i++)
		udp_listener_free(srv->udp[i]);
	for (int i = 0; i < srv->tcp_count; i++)
		tcp_listener_free(srv->tcp[i]);
	for (int i = 0; i < 3; i++)
		if (srv->signals[i])
			event_free(srv->signals[i]);
	if (srv->base)
		event_base_free(srv->base);
	responder_free(&srv->responder);
	dns_guard_free(&srv->guard);
	registrar_free(&srv->registrar);
	zones_free(&srv->zones);
	registry_free(&srv->registry);
}

/* http_metrics.c -- GET /metrics: the server's counters in the Prometheus text format 0.0.4.
 *
 * The handler reads the counters where the responder and the registrar keep them; it
 * runs on the same event loop, so no copy or lock is needed. */
#include <event2/buffer.h>
#include <event2/http.h>
#include <stdarg.h>
#include <stdint.h>

#include "http_internal.h"
#include "store.h"

/* Text being built; the first failed write marks it failed and the rest are skipped. */
struct text {
	struct evbuffer *buf;
	int failed;
};

static void text_printf(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void text_printf(struct text *t, const char *fmt, ...)
{
	va_list ap;
	if (t->failed)
		return;
	va_start(ap, fmt);
	if (evbuffer_add_vprintf(t->buf, fmt, ap) < 0)
		t->failed = 1;
	va_end(ap);
}

static void metric_family(struct text *t, const char *name, const char *type, const char *help)
{
	text_printf(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void metric_value(struct text *t, const char *name, const char *type, const char *help,
			 uint64_t value)
{
	metric_family(t, name, type, help);
	text_printf(t, "%s %llu\n", name, (unsigned long long)value);
}

static const char *const qtype_names[MQ_COUNT] = {
	"A", "AAAA", "SRV", "TXT", "SOA", "NS", "PTR", "CNAME", "ANY", "OTHER",
};

static const char *const rcode_names[METRIC_RCODES] = {
	"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET",
	"NXRRSET", "NOTAUTH", "NOTZONE", "DSOTYPENI", NULL, NULL, NULL, NULL,
	"BADVERS", "BADKEY", "BADTIME", "BADMODE", "BADNAME", "BADALG", "BADTRUNC", "BADCOOKIE",
};

#define RCODES_ALWAYS_SHOWN 6  /* NOERROR..REFUSED appear even at 0; the rest once they occur */

static void dns_counts_text(struct text *t, const struct dns_metrics *m)
{
	static const char *const transports[2] = { "udp", "tcp" };
	metric_family(t, "svcdns_dns_queries_total", "counter", "DNS queries received, by transport and query type.");
	for (int tr = 0; tr < 2; tr++)
		for (int q = 0; q < MQ_COUNT; q++)
			text_printf(t, "svcdns_dns_queries_total{transport=\"%s\",type=\"%s\"} %llu\n",
				    transports[tr], qtype_names[q], (unsigned long long)m->queries[tr][q]);

	metric_family(t, "svcdns_dns_responses_total", "counter", "DNS responses sent, by rcode.");
	for (int rc = 0; rc < METRIC_RCODES; rc++) {
		if (rc >= RCODES_ALWAYS_SHOWN && m->responses_by_rcode[rc] == 0)
			continue;
		if (rcode_names[rc])
			text_printf(t, "svcdns_dns_responses_total{rcode=\"%s\"} %llu\n", rcode_names[rc],
				    (unsigned long long)m->responses_by_rcode[rc]);
		else
			text_printf(t, "svcdns_dns_responses_total{rcode=\"%d\"} %llu\n", rc,
				    (unsigned long long)m->responses_by_rcode[rc]);
	}
	metric_value(t, "svcdns_dns_dropped_total", "counter",
		     "DNS packets dropped without an answer (malformed, or responses).", m->dropped);
	metric_value(t, "svcdns_dns_truncated_total", "counter", "UDP answers sent truncated (TC).",
		     m->truncated);
}

/* Buckets are counted one by one; Prometheus wants each to include those below it. */
static void answer_duration_text(struct text *t, const struct dns_metrics *m)
{
	metric_family(t, "svcdns_dns_answer_duration_seconds", "histogram",
		      "Time from receiving a query to having its answer ready.");
	uint64_t cumulative = 0;
	for (int b = 0; b < METRIC_LATENCY_BUCKETS; b++) {
		cumulative += m->latency_buckets[b];
		text_printf(t, "svcdns_dns_answer_duration_seconds_bucket{le=\"%g\"} %llu\n",
			    metrics_latency_bounds_us[b] / 1e6, (unsigned long long)cumulative);
	}
	text_printf(t, "svcdns_dns_answer_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
		    (unsigned long long)m->latency_count);
	text_printf(t, "svcdns_dns_answer_duration_seconds_sum %.9g\n", m->latency_sum_seconds);
	text_printf(t, "svcdns_dns_answer_duration_seconds_count %llu\n", (unsigned long long)m->latency_count);
}

static void forward_metrics_text(struct text *t, const struct dns_metrics *m)
{
	metric_value(t, "svcdns_forwarded_queries_total", "counter", "Queries sent to an upstream resolver.",
		     m->forwarded);
	metric_value(t, "svcdns_forward_failures_total", "counter",
		     "Upstream attempts that timed out, failed or returned a bad reply.", m->forward_failures);
	metric_value(t, "svcdns_forward_servfail_total", "counter",
		     "Forwarded queries answered SERVFAIL because no upstream answered.", m->forward_servfail);
	metric_family(t, "svcdns_transfers_total", "counter",
		      "Zone transfers started, by the type asked (an IXFR may be sent whole).");
	text_printf(t, "svcdns_transfers_total{type=\"AXFR\"} %llu\n", (unsigned long long)m->transfers_axfr);
	text_printf(t, "svcdns_transfers_total{type=\"IXFR\"} %llu\n", (unsigned long long)m->transfers_ixfr);
	metric_value(t, "svcdns_transfers_refused_total", "counter",
		     "AXFR and IXFR requests refused: outside transfer.allow, no zone, or a TSIG failure.",
		     m->transfers_refused);
	metric_value(t, "svcdns_transfer_failures_total", "counter",
		     "Zone transfers that could not be sent whole.", m->transfer_failures);
	metric_value(t, "svcdns_notify_sent_total", "counter",
		     "NOTIFY messages sent to secondaries, retries included.", m->notify_sent);
	metric_value(t, "svcdns_notify_acked_total", "counter",
		     "NOTIFY messages a secondary acknowledged.", m->notify_acked);
	metric_value(t, "svcdns_notify_failures_total", "counter",
		     "Versions a secondary never acknowledged after every retry.", m->notify_failures);
}

static void registry_metrics_text(struct text *t, const struct http_context *ctx)
{
	const struct registration_metrics *m = &ctx->registrar->metrics;
	metric_family(t, "svcdns_registrations_total", "counter",
		      "Registration protocol replies, by result (ok or the ERR code).");
	text_printf(t, "svcdns_registrations_total{result=\"ok\"} %llu\n", (unsigned long long)m->requests_ok);
	for (int i = 0; i < METRIC_REG_ERR_CODES; i++)
		text_printf(t, "svcdns_registrations_total{result=\"%d\"} %llu\n", metrics_err_codes[i],
			    (unsigned long long)m->requests_err[i]);
	text_printf(t, "svcdns_registrations_total{result=\"other\"} %llu\n",
		    (unsigned long long)m->requests_err_other);
	/* Leases that ended since the last sweep (at most 100 ms ago) still count here. */
	metric_value(t, "svcdns_instances", "gauge", "Instances in the registry, static ones included.",
		     ctx->registry->instance_count);
	metric_value(t, "svcdns_services", "gauge", "Services with at least one instance.",
		     ctx->registry->services.count);
	metric_value(t, "svcdns_leases_expired_total", "counter", "Leases that ended without a renewal.",
		     ctx->registrar->expired_total);
}

static void health_metrics_text(struct text *t, const struct health_metrics *m)
{
	static const char *const kinds[METRIC_PROBE_KINDS] = { NULL, "http", "tcp", "grpc" };
	static const char *const states[METRIC_HEALTH_STATES] = { NULL, "passing", "warning", "critical" };
	metric_family(t, "svcdns_health_probes_total", "counter",
		      "Health probes that returned, by kind and by the state their result stands for.");
	for (int k = 1; k < METRIC_PROBE_KINDS; k++)
		for (int s = 1; s < METRIC_HEALTH_STATES; s++)
			text_printf(t, "svcdns_health_probes_total{kind=\"%s\",result=\"%s\"} %llu\n", kinds[k],
				    states[s], (unsigned long long)m->probes[k][s]);
	metric_family(t, "svcdns_health_probe_duration_seconds", "histogram",
		      "Time from starting a health probe to its result.");
	uint64_t cumulative = 0;
	for (int b = 0; b < METRIC_PROBE_BUCKETS; b++) {
		cumulative += m->probe_buckets[b];
		text_printf(t, "svcdns_health_probe_duration_seconds_bucket{le=\"%g\"} %llu\n",
			    metrics_probe_bounds_s[b], (unsigned long long)cumulative);
	}
	text_printf(t, "svcdns_health_probe_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
		    (unsigned long long)m->probe_count);
	text_printf(t, "svcdns_health_probe_duration_seconds_sum %.9g\n", m->probe_sum_seconds);
	text_printf(t, "svcdns_health_probe_duration_seconds_count %llu\n", (unsigned long long)m->probe_count);
	metric_family(t, "svcdns_health_instances", "gauge", "Instances with a health check, by state.");
	for (int s = 1; s < METRIC_HEALTH_STATES; s++)
		text_printf(t, "svcdns_health_instances{state=\"%s\"} %llu\n", states[s],
			    (unsigned long long)m->instances[s]);
	metric_value(t, "svcdns_health_fail_open_total", "counter",
		     "Times every checked instance of a service failed and all were answered (fail-open).",
		     m->fail_open_activations);
}

/* etcd mode only: the session, the cache's revision and the txns. */
static void store_metrics_text(struct text *t, const struct registrar *r)
{
	const struct store_metrics *m = store_get_metrics(r->store);
	metric_value(t, "svcdns_store_up", "gauge",
		     "1 while writes are taken (synced; session up or lost for less than store-timeout).",
		     store_unavailable(r->store) == NULL);
	metric_value(t, "svcdns_store_revision", "gauge",
		     "The revision of the last change under the prefix the cache has applied.", (uint64_t)m->revision);
	metric_value(t, "svcdns_store_owned_instances", "gauge", "Instances whose lease this node keeps.",
		     r->leases.count);
	metric_value(t, "svcdns_store_txns_total", "counter", "Write txns sent to etcd.", m->txns);
	metric_value(t, "svcdns_store_txn_failures_total", "counter",
		     "Write txns that failed (unreachable, no leader, timed out): ERR 503.", m->txn_failures);
	metric_value(t, "svcdns_store_watch_events_total", "counter", "Changes received from the etcd watch.",
		     m->watch_events);
	metric_value(t, "svcdns_store_resyncs_total", "counter",
		     "Full ranges of the prefix (start-up, and after a compaction cancelled the watch).", m->resyncs);
	metric_value(t, "svcdns_store_watch_restarts_total", "counter",
		     "Watches started again (an endpoint failed, or the watch fell behind).", m->watch_restarts);
}

/* GET /metrics: the families in a fixed order, DNS first. */
void http_metrics_serve(struct http_api *api, struct evhttp_request *req, const char *rest)
{
	(void)rest;
	struct text t = { evbuffer_new(), 0 };
	if (t.buf) {
		const struct dns_metrics *dns = api->ctx.dns_metrics;
		dns_counts_text(&t, dns);
		answer_duration_text(&t, dns);
		forward_metrics_text(&t, dns);
		registry_metrics_text(&t, &api->ctx);
		if (api->ctx.health_metrics)
			health_metrics_text(&t, api->ctx.health_metrics);
		if (api->ctx.registrar->store)
			store_metrics_text(&t, api->ctx.registrar);
		metric_value(&t, "svcdns_http_watchers", "gauge", "Clients streaming /v1/watch.",
			     api->watcher_count);
	}
	http_send_body(req, HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", t.failed ? NULL : t.buf);
	if (t.buf)
		evbuffer_free(t.buf);
}

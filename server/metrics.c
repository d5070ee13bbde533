/* metrics.c -- counters the HTTP API exports in Prometheus text format. */
#include "dns_wire.h"
#include "metrics.h"

const double metrics_latency_bounds_us[METRIC_LATENCY_BUCKETS] = {
	5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 100000,
};

const int metrics_err_codes[METRIC_REG_ERR_CODES] = { 400, 401, 403, 404, 409, 413, 429, 503 };

enum metric_qtype metrics_qtype(uint16_t qtype)
{
	switch (qtype) {
	case TYPE_A: return MQ_A;
	case TYPE_AAAA: return MQ_AAAA;
	case TYPE_SRV: return MQ_SRV;
	case TYPE_TXT: return MQ_TXT;
	case TYPE_SOA: return MQ_SOA;
	case TYPE_NS: return MQ_NS;
	case TYPE_PTR: return MQ_PTR;
	case TYPE_CNAME: return MQ_CNAME;
	case TYPE_ANY: return MQ_ANY;
	default: return MQ_OTHER;
	}
}

void metrics_observe_latency(struct dns_metrics *m, double microseconds, unsigned count)
{
	int i = 0;
	while (i < METRIC_LATENCY_BUCKETS && microseconds > metrics_latency_bounds_us[i])
		i++;
	m->latency_buckets[i] += count;
	m->latency_count += count;
	m->latency_sum_seconds += count * microseconds / 1e6;
}

void metrics_count_registration(struct registration_metrics *m, int code)
{
	if (code == 0) {
		m->requests_ok++;
		return;
	}
	for (int i = 0; i < METRIC_REG_ERR_CODES; i++) {
		if (metrics_err_codes[i] == code) {
			m->requests_err[i]++;
			return;
		}
	}
	m->requests_err_other++;
}

const double metrics_probe_bounds_s[METRIC_PROBE_BUCKETS] = {
	0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5,
};

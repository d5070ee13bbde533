/* metrics.h -- counters the HTTP API exports in Prometheus text format.
 *
 * Plain integers bumped on the loop thread; no locks, no allocation.  The query
 * path counts into struct dns_metrics through the responder. */
#ifndef SVCDNS_METRICS_H
#define SVCDNS_METRICS_H

#include <stdint.h>

enum metric_qtype {
	MQ_A, MQ_AAAA, MQ_SRV, MQ_TXT, MQ_SOA, MQ_NS, MQ_PTR, MQ_CNAME, MQ_ANY, MQ_OTHER, MQ_COUNT
};

#define METRIC_RCODES 24          /* 0-23: every rcode we can send, BADVERS (16) included */
#define METRIC_REG_ERR_CODES 8   /* registration error codes counted one by one */
#define METRIC_LATENCY_BUCKETS 12 /* upper bounds in microseconds, see metrics_latency_bounds */

struct dns_metrics {
	uint64_t queries[2][MQ_COUNT];           /* [0] UDP, [1] TCP, by query type */
	uint64_t responses_by_rcode[METRIC_RCODES];
	uint64_t dropped;                        /* malformed beyond answering, or QR=1 */
	uint64_t truncated;                      /* UDP answers sent with TC */
	uint64_t latency_buckets[METRIC_LATENCY_BUCKETS + 1]; /* last one: +Inf */
	uint64_t latency_count;
	double latency_sum_seconds;
	uint64_t forwarded;                      /* queries sent upstream */
	uint64_t forward_failures;               /* upstream timeouts, errors, bad replies */
	uint64_t forward_servfail;               /* queries no upstream answered */
	uint64_t transfers_axfr, transfers_ixfr; /* zone transfers started, by type asked */
	uint64_t transfers_refused;              /* not in transfer.allow, or a TSIG failure */
	uint64_t transfer_failures;              /* a transfer that could not be sent whole */
	uint64_t notify_sent, notify_acked, notify_failures; /* NOTIFY messages; targets given up */
};

struct registration_metrics {
	uint64_t requests_ok;
	uint64_t requests_err[METRIC_REG_ERR_CODES]; /* by metrics_err_codes */
	uint64_t requests_err_other;
};

#define METRIC_PROBE_KINDS 4       /* enum health_kind: [0] unused, http, tcp, grpc */
#define METRIC_HEALTH_STATES 4     /* enum health_state: [0] unchecked (not counted), passing, warning, critical */
#define METRIC_PROBE_BUCKETS 9     /* upper bounds in seconds, see metrics_probe_bounds_s */

struct health_metrics {
	uint64_t probes[METRIC_PROBE_KINDS][METRIC_HEALTH_STATES]; /* by kind and the state of the result */
	uint64_t probe_buckets[METRIC_PROBE_BUCKETS + 1];          /* last one: +Inf */
	uint64_t probe_count;
	double probe_sum_seconds;
	uint64_t instances[METRIC_HEALTH_STATES];  /* checked instances by state (a gauge) */
	uint64_t fail_open_activations;            /* a service whose every checked instance failed */
};

/* Bucket bounds of the probe latency histogram, in seconds. */
extern const double metrics_probe_bounds_s[METRIC_PROBE_BUCKETS];

/* Bucket bounds of the latency histogram, in microseconds. */
extern const double metrics_latency_bounds_us[METRIC_LATENCY_BUCKETS];
/* The error codes counted one by one in registration_metrics.requests_err. */
extern const int metrics_err_codes[METRIC_REG_ERR_CODES];

enum metric_qtype metrics_qtype(uint16_t qtype);
/* Records the processing time of count answers that each took microseconds. */
void metrics_observe_latency(struct dns_metrics *m, double microseconds, unsigned count);
/* Records one registration reply by its code (0 for OK). */
void metrics_count_registration(struct registration_metrics *m, int code);

#endif

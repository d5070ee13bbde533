/* health_spec.h -- what a health check is: its target, timing and last result.
 *
 * The registration protocol, the config file and the HTTP API read and write these;
 * the registry keeps one per checked instance (struct instance_check) and the health
 * subsystem (health.h) fills in its status.  Nothing here probes. */
#ifndef SVCDNS_HEALTH_SPEC_H
#define SVCDNS_HEALTH_SPEC_H

#include <stddef.h>
#include <stdint.h>

enum health_kind { CHECK_NONE = 0, CHECK_HTTP, CHECK_TCP, CHECK_GRPC, CHECK_KINDS };

/* An instance's health as answers see it (struct instance.health). */
enum health_state {
	HEALTH_UNCHECKED = 0,  /* no check: answered as before */
	HEALTH_PASSING,
	HEALTH_WARNING,        /* HTTP 429 */
	HEALTH_CRITICAL,       /* failing, or not probed yet */
	HEALTH_STATES
};

/* What the last probe saw. */
enum health_result {
	RESULT_PENDING = 0,    /* no probe has returned yet */
	RESULT_HTTP,           /* an HTTP status line; the code is in http_code */
	RESULT_TCP_OPEN,       /* the connection opened */
	RESULT_SERVING,        /* gRPC SERVING */
	RESULT_NOT_SERVING,    /* gRPC NOT_SERVING (or UNKNOWN, SERVICE_UNKNOWN) */
	RESULT_GRPC_ERROR,     /* gRPC replied with a non-zero grpc-status, or reset the stream */
	RESULT_REFUSED,        /* connect() failed */
	RESULT_TIMEOUT,        /* no answer within timeout= */
	RESULT_CLOSED,         /* the peer closed or failed before a complete answer */
	RESULT_BAD_REPLY,      /* an answer we cannot read */
	RESULT_KINDS
};

#define HEALTH_PATH_MAX 128          /* HTTP path or gRPC service name, NUL included */
#define HEALTH_INTERVAL_DEFAULT_MS 10000
#define HEALTH_INTERVAL_MIN_MS 1000
#define HEALTH_INTERVAL_MAX_MS 86400000u
#define HEALTH_TIMEOUT_DEFAULT_MS 5000
#define HEALTH_COUNT_MAX 100         /* fall= and rise= */
#define HEALTH_URL_MAX (HEALTH_PATH_MAX + 64)

/* A check as registered; zero it before filling it (it is compared with memcmp). */
struct health_check_spec {
	uint8_t kind;                /* enum health_kind */
	uint8_t fall, rise;          /* consecutive results that change the state; 0: default 1 */
	uint8_t host_family;         /* 0: the instance's own address */
	uint8_t host[16];
	uint16_t port;               /* 0: the instance's port (tcp) */
	uint32_t interval_ms, timeout_ms;  /* 0: the defaults */
	char path[HEALTH_PATH_MAX];  /* http: "/health"; grpc: the service name, may be empty */
};

/* The last result, written by the health subsystem. */
struct health_status {
	uint8_t result;              /* enum health_result */
	uint16_t http_code;
	int64_t at_wall_ms;          /* when it came back; 0: never */
};

/* What the registry keeps of a checked instance. */
struct instance_check {
	struct health_check_spec spec;
	struct health_status status;
};

/* Parses check=URL: http://[HOST]:PORT/PATH, tcp[://HOST:PORT], grpc://[HOST]:PORT[/SERVICE].
 * Returns 0, or -1 with a reason. */
int health_parse_url(const char *text, struct health_check_spec *out, const char **reason);
/* Parses a duration: "10s", "500ms" (a number alone is refused).  0 or -1. */
int health_parse_duration(const char *text, uint32_t *ms);
/* Checks the timing and fills in the defaults: interval >= 1s, timeout <= interval,
 * fall and rise 1..100.  0, or -1 with a reason in out (size bytes). */
int health_spec_finish(struct health_check_spec *spec, char *out, size_t size);
/* Whether the check's HOST, if given, is the instance's address. */
int health_host_allowed(const struct health_check_spec *spec, int family, const uint8_t *addr);
/* Writes the URL back as it would be registered: "http://:8080/health". */
void health_format_url(const struct health_check_spec *spec, char *out, size_t size);
/* Writes a duration the way health_parse_duration reads it: "10s", "1500ms". */
void health_format_duration(uint32_t ms, char *out, size_t size);
/* "passing", "warning", "critical" ("unchecked" for none). */
const char *health_state_name(enum health_state state);
/* The last result as one token: "http-200", "tcp-open", "serving", "timeout", ... */
void health_result_text(const struct health_status *status, char *out, size_t size);
/* "http", "tcp", "grpc". */
const char *health_kind_name(enum health_kind kind);
/* RFC 3339 UTC with milliseconds, or "-" for 0. */
void health_format_time(int64_t wall_ms, char *out, size_t size);

#endif

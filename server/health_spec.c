/* health_spec.c -- what a health check is: parsing and writing its URL, durations, names. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "health_spec.h"

static int parse_port(const char *text, size_t len, uint16_t *out)
{
	unsigned long v = 0;
	if (len == 0 || len > 5)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)text[i]))
			return -1;
		v = v * 10 + (unsigned long)(text[i] - '0');
	}
	if (v == 0 || v > 65535)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

/* "[HOST]:PORT" where HOST is empty, an IPv4 address or a bracketed IPv6 one. */
static int parse_authority(const char *text, size_t len, struct health_check_spec *out,
			   const char **reason)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon;
	size_t host_len;
	if (len && text[0] == '[') {
		const char *close = memchr(text, ']', len);
		if (!close || close + 1 >= text + len || close[1] != ':') {
			*reason = "check: an IPv6 HOST is written [ADDR]:PORT";
			return -1;
		}
		host_len = (size_t)(close - text - 1);
		if (host_len >= sizeof host)
			goto bad_host;
		memcpy(host, text + 1, host_len);
		host[host_len] = 0;
		if (inet_pton(AF_INET6, host, out->host) != 1)
			goto bad_host;
		out->host_family = AF_INET6;
		colon = close + 1;
	} else {
		colon = memrchr(text, ':', len);
		if (!colon) {
			*reason = "check: missing :PORT";
			return -1;
		}
		host_len = (size_t)(colon - text);
		if (host_len >= sizeof host)
			goto bad_host;
		memcpy(host, text, host_len);
		host[host_len] = 0;
		if (host_len) {
			if (inet_pton(AF_INET, host, out->host) != 1)
				goto bad_host;
			out->host_family = AF_INET;
		}
	}
	if (parse_port(colon + 1, (size_t)(text + len - colon - 1), &out->port) < 0) {
		*reason = "check: PORT is not a number 1-65535";
		return -1;
	}
	return 0;
bad_host:
	*reason = "check: HOST must be empty or an IP address (the instance's own)";
	return -1;
}

static int path_ok(const char *path)
{
	for (const char *p = path; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f)
			return 0;
	return 1;
}

int health_parse_url(const char *text, struct health_check_spec *out, const char **reason)
{
	static const struct { const char *prefix; enum health_kind kind; } schemes[] = {
		{ "http://", CHECK_HTTP }, { "grpc://", CHECK_GRPC }, { "tcp://", CHECK_TCP },
	};
	memset(out, 0, sizeof *out);
	if (strcmp(text, "tcp") == 0) {
		out->kind = CHECK_TCP;
		return 0;
	}
	const char *rest = NULL;
	for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++) {
		size_t n = strlen(schemes[i].prefix);
		if (strncmp(text, schemes[i].prefix, n) == 0) {
			out->kind = (uint8_t)schemes[i].kind;
			rest = text + n;
		}
	}
	if (!rest) {
		*reason = "check: use http://[HOST]:PORT/PATH, tcp[://HOST:PORT] or grpc://[HOST]:PORT[/SERVICE]";
		return -1;
	}
	const char *slash = strchr(rest, '/');
	size_t auth_len = slash ? (size_t)(slash - rest) : strlen(rest);
	if (out->kind == CHECK_TCP && slash) {
		*reason = "check: a tcp check has no path";
		return -1;
	}
	if (parse_authority(rest, auth_len, out, reason) < 0)
		return -1;
	const char *path = slash ? slash : "";
	if (out->kind == CHECK_HTTP && !*path)
		path = "/";
	if (out->kind == CHECK_GRPC && *path)
		path++;  /* the service name, without its slash */
	if (strlen(path) >= HEALTH_PATH_MAX || !path_ok(path)) {
		*reason = "check: the path must be printable ASCII without spaces, at most 127 bytes";
		return -1;
	}
	strcpy(out->path, path);
	return 0;
}

int health_parse_duration(const char *text, uint32_t *ms)
{
	char *end;
	if (!isdigit((unsigned char)text[0]) || strlen(text) > 12)
		return -1;
	unsigned long long v = strtoull(text, &end, 10);
	if (strcmp(end, "s") == 0)
		v *= 1000;
	else if (strcmp(end, "ms") != 0)
		return -1;
	if (v > 0xffffffffull)
		return -1;
	*ms = (uint32_t)v;
	return 0;
}

int health_spec_finish(struct health_check_spec *spec, char *out, size_t size)
{
	if (!spec->interval_ms)
		spec->interval_ms = HEALTH_INTERVAL_DEFAULT_MS;
	if (!spec->timeout_ms)
		spec->timeout_ms = HEALTH_TIMEOUT_DEFAULT_MS < spec->interval_ms ? HEALTH_TIMEOUT_DEFAULT_MS
										 : spec->interval_ms;
	if (!spec->fall)
		spec->fall = 1;
	if (!spec->rise)
		spec->rise = 1;
	if (spec->interval_ms < HEALTH_INTERVAL_MIN_MS || spec->interval_ms > HEALTH_INTERVAL_MAX_MS) {
		snprintf(out, size, "interval: at least 1s (and at most 86400s)");
		return -1;
	}
	if (spec->timeout_ms > spec->interval_ms) {
		snprintf(out, size, "timeout: at most the interval");
		return -1;
	}
	if (spec->timeout_ms < 1) {
		snprintf(out, size, "timeout: at least 1ms");
		return -1;
	}
	return 0;
}

int health_host_allowed(const struct health_check_spec *spec, int family, const uint8_t *addr)
{
	if (!spec->host_family)
		return 1;
	return spec->host_family == family && memcmp(spec->host, addr, family == AF_INET ? 4 : 16) == 0;
}

void health_format_url(const struct health_check_spec *spec, char *out, size_t size)
{
	char host[INET6_ADDRSTRLEN + 2] = "";
	if (spec->host_family == AF_INET)
		inet_ntop(AF_INET, spec->host, host, sizeof host);
	else if (spec->host_family == AF_INET6) {
		host[0] = '[';
		inet_ntop(AF_INET6, spec->host, host + 1, sizeof host - 2);
		strcat(host, "]");
	}
	if (spec->kind == CHECK_TCP && !spec->port && !spec->host_family)
		snprintf(out, size, "tcp");
	else if (spec->kind == CHECK_GRPC)
		snprintf(out, size, "grpc://%s:%u%s%s", host, spec->port, spec->path[0] ? "/" : "", spec->path);
	else
		snprintf(out, size, "%s://%s:%u%s", health_kind_name(spec->kind), host, spec->port,
			 spec->kind == CHECK_HTTP ? spec->path : "");
}

void health_format_duration(uint32_t ms, char *out, size_t size)
{
	if (ms % 1000 == 0)
		snprintf(out, size, "%us", ms / 1000);
	else
		snprintf(out, size, "%ums", ms);
}

const char *health_state_name(enum health_state state)
{
	static const char *const names[HEALTH_STATES] = { "unchecked", "passing", "warning", "critical" };
	return state < HEALTH_STATES ? names[state] : "?";
}

const char *health_kind_name(enum health_kind kind)
{
	static const char *const names[CHECK_KINDS] = { "none", "http", "tcp", "grpc" };
	return kind < CHECK_KINDS ? names[kind] : "?";
}

void health_result_text(const struct health_status *status, char *out, size_t size)
{
	static const char *const names[RESULT_KINDS] = {
		"pending", "http", "tcp-open", "serving", "not-serving", "grpc-error", "refused",
		"timeout", "closed", "bad-reply",
	};
	if (status->result == RESULT_HTTP)
		snprintf(out, size, "http-%u", status->http_code);
	else
		snprintf(out, size, "%s", status->result < RESULT_KINDS ? names[status->result] : "?");
}

void health_format_time(int64_t wall_ms, char *out, size_t size)
{
	struct tm tm;
	time_t secs = (time_t)(wall_ms / 1000);
	if (wall_ms <= 0 || !gmtime_r(&secs, &tm)) {
		snprintf(out, size, "-");
		return;
	}
	size_t n = strftime(out, size, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, size - n, ".%03dZ", (int)(wall_ms % 1000));
}

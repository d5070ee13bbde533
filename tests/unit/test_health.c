/* Unit tests for the health checks: the state machine (fall/rise, warning, the first
 * probe), duration and URL parsing, the HTTP status line and the gRPC frame codec. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "health.h"
#include "health_codec.h"
#include "health_probe.h"
#include "health_spec.h"
#include "tap.h"

static void test_state_machine(void)
{
	struct health_counter c;
	health_counter_init(&c);
	is_int(c.state, HEALTH_CRITICAL, "a new check starts critical (never seen healthy)");
	ok(health_counter_step(&c, HEALTH_PASSING, 1, 1), "rise=1: the first pass changes it");
	is_int(c.state, HEALTH_PASSING, "... to passing");
	ok(!health_counter_step(&c, HEALTH_PASSING, 1, 1), "the same result changes nothing");
	ok(health_counter_step(&c, HEALTH_WARNING, 1, 1), "a warning result moves it");
	is_int(c.state, HEALTH_WARNING, "... to warning");
	ok(health_counter_step(&c, HEALTH_CRITICAL, 1, 1), "then critical");

	health_counter_init(&c);
	ok(!health_counter_step(&c, HEALTH_PASSING, 3, 2), "rise=2: one pass is not enough");
	ok(health_counter_step(&c, HEALTH_PASSING, 3, 2), "rise=2: the second pass is");
	ok(!health_counter_step(&c, HEALTH_CRITICAL, 3, 2), "fall=3: failure 1 of 3");
	ok(!health_counter_step(&c, HEALTH_CRITICAL, 3, 2), "fall=3: failure 2 of 3");
	ok(!health_counter_step(&c, HEALTH_PASSING, 3, 2), "a pass in between starts over");
	ok(!health_counter_step(&c, HEALTH_CRITICAL, 3, 2), "failure 1 again");
	ok(!health_counter_step(&c, HEALTH_CRITICAL, 3, 2), "failure 2 again");
	ok(health_counter_step(&c, HEALTH_CRITICAL, 3, 2), "fall=3: the third failure in a row");
	is_int(c.state, HEALTH_CRITICAL, "... critical");
	ok(!health_counter_step(&c, HEALTH_WARNING, 3, 2), "warning after critical is a rise: 1 of 2");
	ok(!health_counter_step(&c, HEALTH_PASSING, 3, 2), "a different better result starts over");
	ok(health_counter_step(&c, HEALTH_PASSING, 3, 2), "two passes in a row");
}

static void test_results(void)
{
	is_int(health_result_state(RESULT_HTTP, 200), HEALTH_PASSING, "HTTP 200 passes");
	is_int(health_result_state(RESULT_HTTP, 204), HEALTH_PASSING, "HTTP 204 passes");
	is_int(health_result_state(RESULT_HTTP, 429), HEALTH_WARNING, "HTTP 429 warns");
	is_int(health_result_state(RESULT_HTTP, 301), HEALTH_CRITICAL, "HTTP 301 is critical");
	is_int(health_result_state(RESULT_HTTP, 500), HEALTH_CRITICAL, "HTTP 500 is critical");
	is_int(health_result_state(RESULT_TCP_OPEN, 0), HEALTH_PASSING, "an open TCP connection passes");
	is_int(health_result_state(RESULT_SERVING, 0), HEALTH_PASSING, "SERVING passes");
	is_int(health_result_state(RESULT_NOT_SERVING, 0), HEALTH_CRITICAL, "NOT_SERVING is critical");
	is_int(health_result_state(RESULT_TIMEOUT, 0), HEALTH_CRITICAL, "a timeout is critical");
	is_int(health_result_state(RESULT_REFUSED, 0), HEALTH_CRITICAL, "a refusal is critical");
}

static void test_parsing(void)
{
	uint32_t ms = 0;
	ok(health_parse_duration("10s", &ms) == 0 && ms == 10000, "10s");
	ok(health_parse_duration("1500ms", &ms) == 0 && ms == 1500, "1500ms");
	ok(health_parse_duration("10", &ms) < 0, "a number without its unit is refused");
	ok(health_parse_duration("1m", &ms) < 0, "minutes are not a unit");
	ok(health_parse_duration("-1s", &ms) < 0, "negative");
	ok(health_parse_duration("99999999999s", &ms) < 0, "too large");

	struct health_check_spec s;
	const char *why;
	char reason[128], url[HEALTH_URL_MAX];
	ok(health_parse_url("http://:8080/health", &s, &why) == 0 && s.kind == CHECK_HTTP && s.port == 8080 &&
	   !s.host_family && strcmp(s.path, "/health") == 0, "http://:8080/health");
	health_format_url(&s, url, sizeof url);
	is_str(url, "http://:8080/health", "... written back as given");
	ok(health_parse_url("http://10.0.0.1:80", &s, &why) == 0 && s.host_family == AF_INET &&
	   strcmp(s.path, "/") == 0, "http with a HOST and no path: /");
	ok(health_parse_url("tcp", &s, &why) == 0 && s.kind == CHECK_TCP && !s.port, "tcp alone");
	ok(health_parse_url("tcp://[::1]:9000", &s, &why) == 0 && s.host_family == AF_INET6 && s.port == 9000,
	   "tcp://[::1]:9000");
	ok(health_parse_url("grpc://:50051/my.Service", &s, &why) == 0 && s.kind == CHECK_GRPC &&
	   strcmp(s.path, "my.Service") == 0, "grpc with a service");
	health_format_url(&s, url, sizeof url);
	is_str(url, "grpc://:50051/my.Service", "... written back");
	ok(health_parse_url("grpc://:50051", &s, &why) == 0 && s.path[0] == 0, "grpc without a service");
	ok(health_parse_url("http://host.example:80/", &s, &why) < 0, "a host name is refused");
	ok(health_parse_url("http://:0/", &s, &why) < 0, "port 0");
	ok(health_parse_url("http:///x", &s, &why) < 0, "no port");
	ok(health_parse_url("ftp://:21", &s, &why) < 0, "an unknown scheme");
	ok(health_parse_url("tcp://:80/x", &s, &why) < 0, "tcp with a path");

	health_parse_url("tcp", &s, &why);
	ok(health_spec_finish(&s, reason, sizeof reason) == 0 && s.interval_ms == 10000 && s.timeout_ms == 5000 &&
	   s.fall == 1 && s.rise == 1, "defaults: 10s, 5s, 1, 1");
	health_parse_url("tcp", &s, &why);
	s.interval_ms = 2000;
	ok(health_spec_finish(&s, reason, sizeof reason) == 0 && s.timeout_ms == 2000,
	   "the default timeout is at most the interval");
	s.interval_ms = 999;
	ok(health_spec_finish(&s, reason, sizeof reason) < 0, "interval below 1s");
	s.interval_ms = 1000;
	s.timeout_ms = 1001;
	ok(health_spec_finish(&s, reason, sizeof reason) < 0, "timeout above the interval");

	uint8_t own[4] = { 10, 0, 0, 1 }, other[4] = { 10, 0, 0, 2 };
	health_parse_url("http://10.0.0.1:80/", &s, &why);
	ok(health_host_allowed(&s, AF_INET, own), "HOST is the instance's own address");
	ok(!health_host_allowed(&s, AF_INET, other), "HOST is another address");
}

static void test_http_codec(void)
{
	uint16_t code = 0;
	char req[HEALTH_REQUEST_MAX];
	size_t n = http_probe_request(req, sizeof req, "10.0.0.1:80", "/health");
	ok(n > 0 && strncmp(req, "GET /health HTTP/1.1\r\nHost: 10.0.0.1:80\r\n", 41) == 0, "the GET request");
	ok(strstr(req, "Connection: close\r\n\r\n") != NULL, "... closes the connection");
	const char *ok200 = "HTTP/1.1 200 OK\r\n";
	is_int(http_status_parse((const uint8_t *)ok200, strlen(ok200), &code), CODEC_DONE, "a status line");
	is_int(code, 200, "... 200");
	is_int(http_status_parse((const uint8_t *)"HTTP/1.0 429\r\n", 14, &code), CODEC_DONE, "no reason phrase");
	is_int(code, 429, "... 429");
	is_int(http_status_parse((const uint8_t *)"HTTP/1.1 20", 11, &code), CODEC_MORE, "a partial line: more");
	is_int(http_status_parse((const uint8_t *)"HTTP/1.1 200", 12, &code), CODEC_MORE, "no end yet: more");
	is_int(http_status_parse((const uint8_t *)"HTTX", 4, &code), CODEC_BAD, "not HTTP");
	is_int(http_status_parse((const uint8_t *)"HTTP/1.1 2x0 ", 13, &code), CODEC_BAD, "a bad code");
	is_int(http_status_parse((const uint8_t *)"HTTP/1.1 099 ", 13, &code), CODEC_BAD, "a code below 100");
}

/* A frame header into p. */
static size_t frame(uint8_t *p, size_t len, uint8_t type, uint8_t flags, uint32_t stream)
{
	p[0] = (uint8_t)(len >> 16); p[1] = (uint8_t)(len >> 8); p[2] = (uint8_t)len;
	p[3] = type; p[4] = flags;
	p[5] = (uint8_t)(stream >> 24); p[6] = (uint8_t)(stream >> 16); p[7] = (uint8_t)(stream >> 8); p[8] = (uint8_t)stream;
	return 9;
}

static void test_grpc_codec(void)
{
	uint8_t req[HEALTH_REQUEST_MAX];
	size_t n = grpc_probe_request(req, sizeof req, "10.0.0.1:50051", "svc");
	ok(n > 24 && memcmp(req, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24) == 0, "the request starts with the preface");
	ok(req[24 + 3] == 4 && req[24 + 4] == 0, "... then SETTINGS");
	ok(req[33 + 3] == 1 && req[33 + 4] == 4 && req[33 + 8] == 1, "... then HEADERS on stream 1, END_HEADERS");
	ok(memmem(req, n, "/grpc.health.v1.Health/Check", 28) != NULL, "... for Health/Check");
	ok(memcmp(req + n - 10, "\x00\x00\x00\x00\x05\x0a\x03svc", 10) == 0, "... and the request message {service}");
	ok(req[n - 19 + 3] == 0 && req[n - 19 + 4] == 1, "... in DATA with END_STREAM");

	uint8_t buf[256];
	struct grpc_reply r;
	size_t len = frame(buf, 0, 4, 0, 0);          /* server SETTINGS */
	is_int(grpc_reply_parse(buf, len, &r), CODEC_MORE, "SETTINGS alone: more");
	ok(r.peer_settings, "... and owed an ACK");
	len += frame(buf + len, 3, 1, 4, 1);          /* HEADERS (content not decoded) */
	memcpy(buf + len, "\x88\x00\x00", 3); len += 3;
	len += frame(buf + len, 7, 0, 0, 1);          /* DATA: message {status: SERVING} */
	memcpy(buf + len, "\x00\x00\x00\x00\x02\x08\x01", 7);
	is_int(grpc_reply_parse(buf, len + 3, &r), CODEC_MORE, "a DATA frame cut short: more");
	len += 7;
	is_int(grpc_reply_parse(buf, len, &r), CODEC_DONE, "a whole message: done");
	is_int(r.serving, GRPC_SERVING, "... SERVING");
	buf[len - 1] = 2;
	grpc_reply_parse(buf, len, &r);
	is_int(r.serving, GRPC_NOT_SERVING, "NOT_SERVING");

	len = frame(buf, 4, 3, 0, 1);                 /* RST_STREAM */
	memset(buf + 9, 0, 4);
	is_int(grpc_reply_parse(buf, len + 4, &r), CODEC_DONE, "RST_STREAM: done");
	ok(r.stream_failed, "... failed");
	len = frame(buf, 1, 1, 5, 1);                 /* trailers only: HEADERS with END_STREAM */
	buf[9] = 0x88;
	is_int(grpc_reply_parse(buf, len + 1, &r), CODEC_DONE, "trailers only: done");
	ok(r.stream_failed && r.serving < 0, "... a gRPC error, no status");
	len = frame(buf, 1, 0, 8, 1);                 /* PADDED with a bad pad length */
	buf[9] = 5;
	is_int(grpc_reply_parse(buf, len + 1, &r), CODEC_BAD, "a pad longer than the frame: bad");
	len = frame(buf, 20000, 0, 0, 1);
	is_int(grpc_reply_parse(buf, len, &r), CODEC_BAD, "a frame over 16384 bytes: bad");
}

int main(void)
{
	test_state_machine();
	test_results();
	test_parsing();
	test_http_codec();
	test_grpc_codec();
	return done_testing();
}

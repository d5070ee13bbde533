/* health_codec.h -- the bytes of the HTTP and gRPC probes: requests built, replies read.
 *
 * Pure functions on buffers (no socket), so that the unit tests and the fuzzers call
 * them directly.  The parsers read what has arrived so far, from its start, every time:
 * a reply that matters fits in one small buffer (HEALTH_REPLY_MAX). */
#ifndef SVCDNS_HEALTH_CODEC_H
#define SVCDNS_HEALTH_CODEC_H

#include <stddef.h>
#include <stdint.h>

#define HEALTH_REPLY_MAX 4096     /* bytes of a reply read before giving up on it */
#define HEALTH_REQUEST_MAX 512

enum codec_verdict { CODEC_MORE = 0, CODEC_DONE = 1, CODEC_BAD = -1 };

/* "GET PATH HTTP/1.1" with Host, Connection: close and a User-Agent; returns its length
 * (0 when it does not fit). */
size_t http_probe_request(char *out, size_t size, const char *host, const char *path);
/* Reads "HTTP/1.x NNN ..." up to its line end: CODEC_DONE with *code, CODEC_MORE, or
 * CODEC_BAD for anything that is not a status line. */
enum codec_verdict http_status_parse(const uint8_t *buf, size_t len, uint16_t *code);

/* grpc.health.v1.HealthCheckResponse.ServingStatus */
enum grpc_serving { GRPC_UNKNOWN = 0, GRPC_SERVING = 1, GRPC_NOT_SERVING = 2, GRPC_SERVICE_UNKNOWN = 3 };

struct grpc_reply {
	int serving;              /* enum grpc_serving of the response message; -1: none yet */
	int stream_failed;        /* RST_STREAM, GOAWAY, or trailers with grpc-status != 0 */
	int peer_settings;        /* the server's SETTINGS arrived (we owe it an ACK) */
	int ended;                /* END_STREAM on our stream */
};

/* The client preface, SETTINGS, and on stream 1 a HEADERS frame for POST
 * /grpc.health.v1.Health/Check and a DATA frame with HealthCheckRequest{service}.
 * Returns its length (0 when it does not fit). */
size_t grpc_probe_request(uint8_t *out, size_t size, const char *authority, const char *service);
/* The 9-byte SETTINGS frame with ACK set. */
extern const uint8_t grpc_settings_ack[9];
/* Reads the server's frames: CODEC_DONE once the answer is known (out->serving set, or
 * out->stream_failed), CODEC_MORE, or CODEC_BAD for a broken frame. */
enum codec_verdict grpc_reply_parse(const uint8_t *buf, size_t len, struct grpc_reply *out);

#endif

/* health_probe_grpc.c -- the gRPC probe's bytes: grpc.health.v1.Health/Check over
 * plaintext HTTP/2 (h2c with prior knowledge, RFC 9113 3.3).
 *
 * No HTTP/2 library: the request is one fixed exchange (preface, SETTINGS, HEADERS,
 * DATA) whose header block uses only literal fields (RFC 7541 6.2.2), so the encoder
 * keeps no dynamic table; the reply is read frame by frame for the one DATA message of
 * stream 1 (HealthCheckResponse{status = 1: varint}), never decoding its headers. */
#include <string.h>

#include "health_codec.h"

enum { FRAME_DATA = 0, FRAME_HEADERS = 1, FRAME_RST_STREAM = 3, FRAME_SETTINGS = 4, FRAME_GOAWAY = 7 };
enum { FLAG_END_STREAM = 0x1, FLAG_ACK = 0x1, FLAG_END_HEADERS = 0x4, FLAG_PADDED = 0x8,
       FLAG_PRIORITY = 0x20 };
#define FRAME_HEADER 9
#define STREAM_ID 1

const uint8_t grpc_settings_ack[9] = { 0, 0, 0, FRAME_SETTINGS, FLAG_ACK, 0, 0, 0, 0 };

static uint8_t *frame_header(uint8_t *p, size_t len, uint8_t type, uint8_t flags, uint32_t stream)
{
	p[0] = (uint8_t)(len >> 16);
	p[1] = (uint8_t)(len >> 8);
	p[2] = (uint8_t)len;
	p[3] = type;
	p[4] = flags;
	p[5] = (uint8_t)(stream >> 24);
	p[6] = (uint8_t)(stream >> 16);
	p[7] = (uint8_t)(stream >> 8);
	p[8] = (uint8_t)stream;
	return p + FRAME_HEADER;
}

/* A string literal without Huffman coding; every one here is shorter than 127 bytes. */
static uint8_t *hpack_string(uint8_t *p, const char *text)
{
	size_t len = strlen(text);
	*p++ = (uint8_t)len;
	memcpy(p, text, len);
	return p + len;
}

size_t grpc_probe_request(uint8_t *out, size_t size, const char *authority, const char *service)
{
	static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
	size_t alen = strlen(authority), slen = strlen(service);
	if (alen > 100 || slen > 126 || size < 24 + 9 + 9 + 200 + 9 + 5 + 2 + slen)
		return 0;
	uint8_t *p = out;
	memcpy(p, preface, sizeof preface - 1);
	p += sizeof preface - 1;
	p = frame_header(p, 0, FRAME_SETTINGS, 0, 0);
	uint8_t *headers = p;
	p += FRAME_HEADER;
	uint8_t *block = p;
	*p++ = 0x83;                                   /* :method: POST (static 3) */
	*p++ = 0x86;                                   /* :scheme: http (static 6) */
	*p++ = 0x04;                                   /* :path (static name 4), literal value */
	p = hpack_string(p, "/grpc.health.v1.Health/Check");
	*p++ = 0x01;                                   /* :authority (static name 1) */
	p = hpack_string(p, authority);
	*p++ = 0x0f;                                   /* content-type (static name 31 = 15 + 16) */
	*p++ = 0x10;
	p = hpack_string(p, "application/grpc");
	*p++ = 0x00;                                   /* te: trailers, a new name */
	p = hpack_string(p, "te");
	p = hpack_string(p, "trailers");
	frame_header(headers, (size_t)(p - block), FRAME_HEADERS, FLAG_END_HEADERS, STREAM_ID);
	size_t message = slen ? 2 + slen : 0;          /* HealthCheckRequest{service = 1} */
	p = frame_header(p, 5 + message, FRAME_DATA, FLAG_END_STREAM, STREAM_ID);
	*p++ = 0;                                      /* not compressed */
	*p++ = 0;
	*p++ = 0;
	*p++ = 0;
	*p++ = (uint8_t)message;
	if (slen) {
		*p++ = 0x0a;                           /* field 1, length-delimited */
		*p++ = (uint8_t)slen;
		memcpy(p, service, slen);
		p += slen;
	}
	return (size_t)(p - out);
}

/* Reads HealthCheckResponse: the status field (1, varint); absent means UNKNOWN (0). */
static int decode_response(const uint8_t *msg, size_t len)
{
	size_t i = 0;
	int status = GRPC_UNKNOWN;
	while (i < len) {
		uint8_t tag = msg[i++];
		uint64_t value = 0;
		int wire = tag & 7;
		if (wire == 0) {                       /* varint */
			for (int shift = 0;; shift += 7) {
				if (i == len || shift > 63)
					return -1;
				uint8_t b = msg[i++];
				value |= (uint64_t)(b & 0x7f) << shift;
				if (!(b & 0x80))
					break;
			}
			if (tag >> 3 == 1)
				status = value <= 3 ? (int)value : GRPC_UNKNOWN;
		} else if (wire == 2) {                /* an unknown length-delimited field */
			if (i == len || msg[i] & 0x80 || msg[i] > len - i - 1)
				return -1;
			i += 1u + msg[i];
		} else {
			return -1;
		}
	}
	return status;
}

enum codec_verdict grpc_reply_parse(const uint8_t *buf, size_t len, struct grpc_reply *out)
{
	uint8_t message[64];                           /* stream 1's DATA bytes, joined */
	size_t message_len = 0;
	memset(out, 0, sizeof *out);
	out->serving = -1;
	for (size_t off = 0; len - off >= FRAME_HEADER;) {
		const uint8_t *h = buf + off;
		size_t flen = (size_t)h[0] << 16 | (size_t)h[1] << 8 | h[2];
		uint8_t type = h[3], flags = h[4];
		uint32_t stream = ((uint32_t)h[5] << 24 | (uint32_t)h[6] << 16 | (uint32_t)h[7] << 8 | h[8]) & 0x7fffffff;
		if (flen > 16384)
			return CODEC_BAD;
		if (len - off - FRAME_HEADER < flen)
			break;                         /* the rest has not arrived */
		const uint8_t *payload = h + FRAME_HEADER;
		off += FRAME_HEADER + flen;
		if (type == FRAME_SETTINGS && stream == 0 && !(flags & FLAG_ACK))
			out->peer_settings = 1;
		if (type == FRAME_GOAWAY || (type == FRAME_RST_STREAM && stream == STREAM_ID))
			out->stream_failed = 1;
		if (stream != STREAM_ID || (type != FRAME_DATA && type != FRAME_HEADERS))
			continue;
		if (flags & FLAG_END_STREAM)
			out->ended = 1;
		if (type != FRAME_DATA)
			continue;
		size_t pad = 0;
		if (flags & FLAG_PADDED) {
			if (flen == 0 || payload[0] >= flen)
				return CODEC_BAD;
			pad = payload[0];
			payload++;
			flen--;
		}
		flen -= pad;
		if (message_len + flen > sizeof message)
			return CODEC_BAD;              /* a health reply is a few bytes */
		memcpy(message + message_len, payload, flen);
		message_len += flen;
	}
	if (message_len >= 5) {
		size_t mlen = (size_t)message[1] << 24 | (size_t)message[2] << 16 | (size_t)message[3] << 8 | message[4];
		if (message[0] != 0 || mlen > sizeof message - 5)
			return CODEC_BAD;              /* compressed, or too long to be ours */
		if (message_len >= 5 + mlen) {
			out->serving = decode_response(message + 5, mlen);
			if (out->serving < 0)
				return CODEC_BAD;
			return CODEC_DONE;
		}
	}
	if (out->ended)
		out->stream_failed = 1;                /* trailers only: a gRPC error status */
	return out->stream_failed ? CODEC_DONE : CODEC_MORE;
}

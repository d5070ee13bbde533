/* state_codec.h -- the state file's bytes: CRC32C, record framing, and the encoding
 * and decoding of headers and instance records, as pure functions on buffers.
 *
 * File format (all integers big-endian):
 *
 *   header, 24 bytes:
 *     8  magic "SVCDNSST"
 *     4  format version, 1
 *     8  image end: where the compacted image stops and the journal begins
 *     4  CRC32C of the 20 bytes above
 *   then records, each:
 *     4  payload length (1 .. STATE_PAYLOAD_MAX)
 *     n  payload: a kind byte, then the kind's fields
 *     4  CRC32C of the length and the payload
 *
 *   PUT    (1): service str8, instance str8, family u8 (4 or 6), address (4 or 16
 *               bytes), port u16, priority u16, weight u16, proto u8 (0 tcp, 1 udp),
 *               txt u16 length + bytes, expires i64 (wall-clock ms, 0: no lease),
 *               key name str8 (empty: none), then for an instance with a health check
 *               only: kind u8 (1 http, 2 tcp, 3 grpc), fall u8, rise u8, host family u8
 *               (0 none, 4, 6), host (16 bytes), port u16, interval u32 (ms),
 *               timeout u32 (ms), path str8 (HTTP path or gRPC service)
 *   RENEW  (2): service str8, instance str8, expires i64 (wall-clock ms)
 *   REMOVE (3): service str8, instance str8
 *   SPLIT  (4): service str8, limit u16, share count u8 (0: the split was cleared), then
 *               per share tag str8, percent u8
 *   PUTX   (5): a PUT of an instance with tags=, addr=, network= or weight=: the PUT's
 *               fields up to the key name, then flags u8 (1 has a check, 2 weight= given),
 *               the check when flag 1, tag count u8 + tags str8, addr count u8 + that
 *               many addresses of the instance's family, network count u8 + names str8.
 *               Plain instances keep writing PUT, so old files and new ones of plain
 *               instances are the same bytes.
 *
 *   str8 is a length byte and that many bytes, no NUL.
 *
 * Nothing here touches a file: state.c owns the file's life (open, replay, append,
 * commit, compaction), as Knot's journal keeps serialization.c apart. */
#ifndef SVCDNS_STATE_CODEC_H
#define SVCDNS_STATE_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "registry.h"

#define STATE_MAGIC "SVCDNSST"
#define STATE_VERSION 1
#define STATE_HEADER_SIZE 24
#define STATE_PAYLOAD_MAX 4096      /* the largest PUTX is 2,439 bytes, the largest PUT 1,601 */
#define STATE_RECORD_MAX (4 + STATE_PAYLOAD_MAX + 4)
#define STATE_KEY_NAME_MAX 255      /* a str8 */

enum state_record_kind {
	STATE_RECORD_PUT = 1, STATE_RECORD_RENEW = 2, STATE_RECORD_REMOVE = 3, STATE_RECORD_SPLIT = 4,
	STATE_RECORD_PUTX = 5,  /* decoded as STATE_RECORD_PUT */
};

/* CRC32C (Castagnoli) tables for slicing-by-8; filled once by state_crc_init. */
struct state_crc {
	uint32_t table[8][256];
};

void state_crc_init(struct state_crc *crc);
uint32_t state_crc32c(const struct state_crc *crc, const uint8_t *p, size_t len);

/* Writes a header saying the image ends at image_end. */
void state_encode_header(const struct state_crc *crc, uint8_t header[STATE_HEADER_SIZE],
			 uint64_t image_end);

enum state_header_check {
	STATE_HEADER_OK, STATE_HEADER_BAD_MAGIC, STATE_HEADER_BAD_CRC, STATE_HEADER_BAD_VERSION,
};
/* Checks a header; on OK sets *image_end, on BAD_VERSION sets *version. */
enum state_header_check state_decode_header(const struct state_crc *crc,
					    const uint8_t header[STATE_HEADER_SIZE],
					    uint64_t *image_end, uint32_t *version);

/* Encodes a PUT record into rec (STATE_RECORD_MAX bytes); returns its size, or 0 when the
 * spec cannot be stored (a caller's bug: the registry never holds such an instance). */
size_t state_encode_put(const struct state_crc *crc, uint8_t *rec, const struct instance_spec *spec,
			int64_t expires_wall_ms, const char *key_name);
/* Encodes a RENEW (with expires) or a REMOVE; returns 0 for names that cannot be stored. */
size_t state_encode_name_record(const struct state_crc *crc, uint8_t *rec, enum state_record_kind kind,
				const char *service, const char *instance, int64_t expires_wall_ms);

/* Encodes a SPLIT (count 0: cleared); returns its size. */
size_t state_encode_split(const struct state_crc *crc, uint8_t *rec, const struct split *sp);

/* The payload length a record's first four bytes announce (not yet checked). */
uint32_t state_record_payload_len(const uint8_t *rec);
/* True when the record at rec (4 + payload_len + 4 bytes readable) has a matching checksum. */
int state_record_crc_ok(const struct state_crc *crc, const uint8_t *rec, size_t payload_len);

/* One decoded payload.  For RENEW and REMOVE only spec.service and spec.instance are set. */
struct state_record {
	enum state_record_kind kind;
	struct instance_spec spec;          /* PUT: spec.expires_ms is the wall-clock lease end */
	char key_name[STATE_KEY_NAME_MAX + 1]; /* PUT: "" when none */
	int64_t expires_wall_ms;            /* RENEW */
	struct split split;                 /* SPLIT */
};

/* Decodes one payload; 0, or -1 when it is malformed.  *kind_name says what it claimed to be. */
int state_decode_record(const uint8_t *payload, size_t len, struct state_record *out,
			const char **kind_name);

#endif

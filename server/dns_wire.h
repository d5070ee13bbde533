/* dns_wire.h -- writing DNS messages: a bounded buffer, name compression, rewind marks. */
#ifndef SVCDNS_DNS_WIRE_H
#define SVCDNS_DNS_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define DNS_HEADER_SIZE 12
#define WIRE_DICT_MAX 64   /* names a message can point back to */

enum {
	TYPE_A = 1, TYPE_NS = 2, TYPE_CNAME = 5, TYPE_SOA = 6, TYPE_PTR = 12, TYPE_MX = 15,
	TYPE_TXT = 16, TYPE_AAAA = 28, TYPE_SRV = 33, TYPE_OPT = 41, TYPE_IXFR = 251,
	TYPE_AXFR = 252, TYPE_ANY = 255,
};
enum { CLASS_IN = 1, CLASS_ANY = 255 };
enum {
	RCODE_NOERROR = 0, RCODE_FORMERR = 1, RCODE_SERVFAIL = 2, RCODE_NXDOMAIN = 3,
	RCODE_NOTIMP = 4, RCODE_REFUSED = 5, RCODE_BADVERS = 16,
};

struct wire_writer {
	uint8_t *buf;
	size_t len;          /* bytes written so far */
	size_t limit;        /* nothing is written past this */
	int full;            /* a write did not fit since the last mark */
	uint16_t dict[WIRE_DICT_MAX]; /* offsets of labels written, for compression */
	int dict_count;
};

/* A point to rewind to when a record does not fit. */
struct wire_mark {
	size_t len;
	int dict_count;
};

void wire_init(struct wire_writer *w, uint8_t *buf, size_t limit);
struct wire_mark wire_mark(const struct wire_writer *w);
void wire_rewind(struct wire_writer *w, struct wire_mark m);
void wire_put_u16(struct wire_writer *w, uint16_t v);
void wire_put_u32(struct wire_writer *w, uint32_t v);
void wire_put_bytes(struct wire_writer *w, const void *data, size_t len);
/* Writes a name, pointing back to an earlier copy of its longest known suffix. */
void wire_put_name(struct wire_writer *w, const uint8_t *name);
/* Writes a name in full but lets later names point into it (RFC 2782 SRV targets). */
void wire_put_name_uncompressed(struct wire_writer *w, const uint8_t *name);
/* Registers the name already at buf[offset] (the question) for compression. */
void wire_learn_name(struct wire_writer *w, size_t offset);
/* Starts a record; returns the offset of its RDLENGTH for wire_end_rr. */
size_t wire_begin_rr(struct wire_writer *w, const uint8_t *owner, uint16_t type, uint32_t ttl);
/* Fills in the RDLENGTH once the rdata is written. */
void wire_end_rr(struct wire_writer *w, size_t rdlength_offset);

#endif

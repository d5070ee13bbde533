/* dns_wire.h -- the one DNS codec: header flags by name, big-endian fields, a bounded
 * reader with an error flag, and a bounded writer with name compression and rewind marks.
 *
 * Every module that touches wire bytes (query parsing, answers, forwarding, the state
 * file's fields) reads and writes through these, as Knot's wire_ctx does. */
#ifndef SVCDNS_DNS_WIRE_H
#define SVCDNS_DNS_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "dname.h"

#define DNS_HEADER_SIZE 12
#define WIRE_DICT_MAX 64   /* names a message can point back to */
#define DNS_OPT_SIZE 11    /* an OPT record with no options */
#define DNS_EDE_SIZE 6     /* an Extended DNS Error option without text (RFC 8914) */

/* Offsets of the header's fields (RFC 1035 4.1.1). */
enum {
	DNS_OFF_ID = 0, DNS_OFF_FLAGS = 2, DNS_OFF_QDCOUNT = 4, DNS_OFF_ANCOUNT = 6,
	DNS_OFF_NSCOUNT = 8, DNS_OFF_ARCOUNT = 10,
};

/* The header's flags word (RFC 1035 4.1.1, RFC 4035 3.2). */
enum {
	DNS_FLAG_QR = 0x8000, DNS_FLAG_AA = 0x0400, DNS_FLAG_TC = 0x0200, DNS_FLAG_RD = 0x0100,
	DNS_FLAG_RA = 0x0080, DNS_FLAG_AD = 0x0020, DNS_FLAG_CD = 0x0010,
	DNS_OPCODE_MASK = 0x7800, DNS_RCODE_MASK = 0x000f,
	/* What a response copies from its query: the opcode, RD and CD. */
	DNS_FLAGS_FROM_QUERY = DNS_OPCODE_MASK | DNS_FLAG_RD | DNS_FLAG_CD,
};
#define DNS_OPCODE(flags) (((flags) & DNS_OPCODE_MASK) >> 11)
enum { DNS_OPCODE_QUERY = 0, DNS_OPCODE_NOTIFY = 4 };
#define DNS_RCODE(flags) ((flags) & DNS_RCODE_MASK)

enum {
	TYPE_A = 1, TYPE_NS = 2, TYPE_CNAME = 5, TYPE_SOA = 6, TYPE_PTR = 12, TYPE_MX = 15,
	TYPE_TXT = 16, TYPE_AAAA = 28, TYPE_SRV = 33, TYPE_OPT = 41, TYPE_TKEY = 249,
	TYPE_TSIG = 250, TYPE_IXFR = 251, TYPE_AXFR = 252, TYPE_ANY = 255,
};
enum { CLASS_IN = 1, CLASS_ANY = 255 };
enum {
	RCODE_NOERROR = 0, RCODE_FORMERR = 1, RCODE_SERVFAIL = 2, RCODE_NXDOMAIN = 3,
	RCODE_NOTIMP = 4, RCODE_REFUSED = 5, RCODE_NOTAUTH = 9, RCODE_BADVERS = 16,
};
/* TSIG errors (RFC 8945 5.2), carried in the TSIG record of a NOTAUTH answer. */
enum { TSIG_BADSIG = 16, TSIG_BADKEY = 17, TSIG_BADTIME = 18 };
/* Extended DNS Error codes we send (RFC 8914 4); EDE_NONE sends no option. */
enum {
	EDE_NONE = -1, EDE_PROHIBITED = 18, EDE_NOT_AUTHORITATIVE = 20,
	EDE_NO_REACHABLE_AUTHORITY = 22,
};
enum { EDNS_OPTION_EDE = 15 };
#define EDNS_FLAG_DO 0x8000   /* in the OPT record's TTL field (RFC 3225) */

/* A query's TSIG record (RFC 8945 4.2): what an answer to it repeats. */
struct dns_tsig {
	uint8_t key[DNAME_MAX_WIRE];       /* the key's name as sent */
	size_t key_len;
	uint8_t algorithm[DNAME_MAX_WIRE]; /* the algorithm's name as sent */
	size_t algorithm_len;
	uint64_t time_signed;     /* 48 bits, seconds since the epoch */
	uint16_t fudge;
	uint16_t original_id;
	uint16_t error;
	const uint8_t *mac;       /* into the packet, while it is being answered */
	uint16_t mac_len;
	const uint8_t *other;
	uint16_t other_len;
	size_t offset;            /* where the TSIG record starts: the MAC covers what is before */
};

/* Big-endian fields at a known-good position (the caller checked the length). */
static inline uint16_t wire_read_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t wire_read_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void wire_write_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void wire_write_u32(uint8_t *p, uint32_t v)
{
	wire_write_u16(p, (uint16_t)(v >> 16));
	wire_write_u16(p + 2, (uint16_t)v);
}

/* A bounded reader: a read past the end sets error, returns zeros and reads nothing
 * further, so a parser checks once at the end instead of at every field. */
struct wire_reader {
	const uint8_t *buf;
	size_t len;          /* bytes in buf */
	size_t pos;          /* the next byte to read */
	int error;           /* a read went past len */
};

void wire_reader_init(struct wire_reader *r, const uint8_t *buf, size_t len);
uint8_t wire_get_u8(struct wire_reader *r);
uint16_t wire_get_u16(struct wire_reader *r);
uint32_t wire_get_u32(struct wire_reader *r);
uint64_t wire_get_u64(struct wire_reader *r);
/* Points at the next len bytes and steps past them; NULL (and error) when they are not there. */
const uint8_t *wire_get_bytes(struct wire_reader *r, size_t len);
/* Bytes not read yet. */
size_t wire_left(const struct wire_reader *r);

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
void wire_put_u64(struct wire_writer *w, uint64_t v);
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
/* Writes an OPT record (RFC 6891 6.1.2): our UDP size, the rcode's upper eight bits,
 * version 0, the DO bit when do_bit is set (RFC 3225 3), and an Extended DNS Error
 * option unless ede is EDE_NONE. */
void wire_put_opt(struct wire_writer *w, uint16_t udp_size, unsigned rcode, int do_bit, int ede);
/* The bytes wire_put_opt writes. */
size_t wire_opt_size(int ede);
/* Writes the unsigned TSIG record of an error answer (RFC 8945 5.3.2): MAC size 0 and
 * the given TSIG error, the rest as the query sent it. */
void wire_put_tsig_error(struct wire_writer *w, const struct dns_tsig *t, uint16_t error);
/* The bytes wire_put_tsig_error writes. */
size_t wire_tsig_error_size(const struct dns_tsig *t);
/* Writes the 12-byte header at buf[0] (the writer's position does not move). */
void wire_put_header(uint8_t *buf, uint16_t id, uint16_t flags, uint16_t qdcount,
		     uint16_t ancount, uint16_t nscount, uint16_t arcount);

#endif

/* dns_wire.c -- the one DNS codec: a bounded reader, a bounded writer with name
 * compression and rewind marks.
 *
 * Every write checks the limit once; when something does not fit, the writer
 * marks itself full and the caller rewinds to the last record boundary. */
#include <ctype.h>
#include <string.h>

#include "dname.h"
#include "dns_wire.h"

void wire_reader_init(struct wire_reader *r, const uint8_t *buf, size_t len)
{
	r->buf = buf;
	r->len = len;
	r->pos = 0;
	r->error = 0;
}

const uint8_t *wire_get_bytes(struct wire_reader *r, size_t len)
{
	if (r->error || len > r->len - r->pos) {
		r->error = 1;
		return NULL;
	}
	const uint8_t *p = r->buf + r->pos;
	r->pos += len;
	return p;
}

uint8_t wire_get_u8(struct wire_reader *r)
{
	const uint8_t *p = wire_get_bytes(r, 1);
	return p ? p[0] : 0;
}

uint16_t wire_get_u16(struct wire_reader *r)
{
	const uint8_t *p = wire_get_bytes(r, 2);
	return p ? wire_read_u16(p) : 0;
}

uint32_t wire_get_u32(struct wire_reader *r)
{
	const uint8_t *p = wire_get_bytes(r, 4);
	return p ? wire_read_u32(p) : 0;
}

uint64_t wire_get_u64(struct wire_reader *r)
{
	uint64_t high = wire_get_u32(r);
	return high << 32 | wire_get_u32(r);
}

size_t wire_left(const struct wire_reader *r)
{
	return r->error ? 0 : r->len - r->pos;
}

void wire_init(struct wire_writer *w, uint8_t *buf, size_t limit)
{
	w->buf = buf;
	w->len = 0;
	w->limit = limit;
	w->full = 0;
	w->dict_count = 0;
}

struct wire_mark wire_mark(const struct wire_writer *w)
{
	return (struct wire_mark){ w->len, w->dict_count };
}

void wire_rewind(struct wire_writer *w, struct wire_mark m)
{
	w->len = m.len;
	w->dict_count = m.dict_count;
	w->full = 0;
}

static int fits(struct wire_writer *w, size_t n)
{
	if (w->full || w->len + n > w->limit) {
		w->full = 1;
		return 0;
	}
	return 1;
}

void wire_put_u16(struct wire_writer *w, uint16_t v)
{
	if (!fits(w, 2))
		return;
	w->buf[w->len++] = (uint8_t)(v >> 8);
	w->buf[w->len++] = (uint8_t)v;
}

void wire_put_u32(struct wire_writer *w, uint32_t v)
{
	wire_put_u16(w, (uint16_t)(v >> 16));
	wire_put_u16(w, (uint16_t)v);
}

void wire_put_u64(struct wire_writer *w, uint64_t v)
{
	wire_put_u32(w, (uint32_t)(v >> 32));
	wire_put_u32(w, (uint32_t)v);
}

void wire_put_bytes(struct wire_writer *w, const void *data, size_t len)
{
	if (!fits(w, len))
		return;
	memcpy(w->buf + w->len, data, len);
	w->len += len;
}

/* Compares the (possibly compressed) name at buf[offset] with a lowercase wire name. */
static int name_at_equals(const uint8_t *buf, size_t offset, const uint8_t *name)
{
	for (int hops = 0; hops < 32;) {
		uint8_t len = buf[offset];
		if ((len & 0xc0) == 0xc0) {
			offset = (size_t)((len & 0x3f) << 8 | buf[offset + 1]);
			hops++;
			continue;
		}
		if (len != *name)
			return 0;
		if (len == 0)
			return 1;
		for (int i = 1; i <= len; i++)
			if (tolower(buf[offset + i]) != name[i])
				return 0;
		offset += len + 1u;
		name += len + 1;
	}
	return 0;
}

static int dict_find(const struct wire_writer *w, const uint8_t *suffix)
{
	for (int i = 0; i < w->dict_count; i++)
		if (name_at_equals(w->buf, w->dict[i], suffix))
			return w->dict[i];
	return -1;
}

static void dict_add(struct wire_writer *w, size_t offset)
{
	if (w->dict_count < WIRE_DICT_MAX && offset < 0x4000)
		w->dict[w->dict_count++] = (uint16_t)offset;
}

/* Writes the labels of name up to (not including) stop, learning each for later names. */
static void put_labels(struct wire_writer *w, const uint8_t *name, const uint8_t *stop)
{
	while (name < stop && *name) {
		size_t start = w->len;
		wire_put_bytes(w, name, *name + 1u);
		if (w->full)
			return;
		dict_add(w, start);
		name += *name + 1;
	}
}

void wire_put_name(struct wire_writer *w, const uint8_t *name)
{
	for (const uint8_t *suffix = name; *suffix; suffix += *suffix + 1) {
		int target = dict_find(w, suffix);
		if (target >= 0) {
			put_labels(w, name, suffix);
			wire_put_u16(w, (uint16_t)(0xc000 | target));
			return;
		}
	}
	wire_put_name_uncompressed(w, name);
}

void wire_put_name_uncompressed(struct wire_writer *w, const uint8_t *name)
{
	put_labels(w, name, name + DNAME_MAX_WIRE);
	wire_put_bytes(w, "", 1);
}

void wire_learn_name(struct wire_writer *w, size_t offset)
{
	while (offset < w->len && w->buf[offset] != 0 && w->buf[offset] <= 63) {
		dict_add(w, offset);
		offset += w->buf[offset] + 1u;
	}
}

size_t wire_begin_rr(struct wire_writer *w, const uint8_t *owner, uint16_t type, uint32_t ttl)
{
	wire_put_name(w, owner);
	wire_put_u16(w, type);
	wire_put_u16(w, CLASS_IN);
	wire_put_u32(w, ttl);
	size_t rdlength_offset = w->len;
	wire_put_u16(w, 0);
	return rdlength_offset;
}

void wire_end_rr(struct wire_writer *w, size_t rdlength_offset)
{
	if (w->full)
		return;
	size_t rdlen = w->len - rdlength_offset - 2;
	w->buf[rdlength_offset] = (uint8_t)(rdlen >> 8);
	w->buf[rdlength_offset + 1] = (uint8_t)rdlen;
}

void wire_put_opt(struct wire_writer *w, uint16_t udp_size, unsigned rcode, int do_bit, int ede)
{
	wire_put_bytes(w, "", 1);      /* the root owner */
	wire_put_u16(w, TYPE_OPT);
	wire_put_u16(w, udp_size);
	/* TTL field: extended rcode, version 0, then the flags with DO on top. */
	wire_put_u32(w, (uint32_t)(rcode >> 4) << 24 | (do_bit ? EDNS_FLAG_DO : 0));
	if (ede == EDE_NONE) {
		wire_put_u16(w, 0);    /* no options */
		return;
	}
	wire_put_u16(w, DNS_EDE_SIZE);
	wire_put_u16(w, EDNS_OPTION_EDE);
	wire_put_u16(w, 2);            /* the info code alone, no extra text */
	wire_put_u16(w, (uint16_t)ede);
}

size_t wire_opt_size(int ede)
{
	return DNS_OPT_SIZE + (ede == EDE_NONE ? 0 : DNS_EDE_SIZE);
}

void wire_put_tsig_error(struct wire_writer *w, const struct dns_tsig *t, uint16_t error)
{
	/* RFC 8945 4.2: neither name is compressed. */
	wire_put_bytes(w, t->key, t->key_len);
	wire_put_u16(w, TYPE_TSIG);
	wire_put_u16(w, CLASS_ANY);
	wire_put_u32(w, 0);
	size_t rdlength_offset = w->len;
	wire_put_u16(w, 0);
	wire_put_bytes(w, t->algorithm, t->algorithm_len);
	wire_put_u16(w, (uint16_t)(t->time_signed >> 32));
	wire_put_u32(w, (uint32_t)t->time_signed);
	wire_put_u16(w, t->fudge);
	wire_put_u16(w, 0);            /* MAC size: an error about the key is never signed */
	wire_put_u16(w, t->original_id);
	wire_put_u16(w, error);
	wire_put_u16(w, 0);            /* no other data */
	wire_end_rr(w, rdlength_offset);
}

size_t wire_tsig_error_size(const struct dns_tsig *t)
{
	return t->key_len + 10 + t->algorithm_len + 16;
}

void wire_put_header(uint8_t *buf, uint16_t id, uint16_t flags, uint16_t qdcount,
		     uint16_t ancount, uint16_t nscount, uint16_t arcount)
{
	wire_write_u16(buf + DNS_OFF_ID, id);
	wire_write_u16(buf + DNS_OFF_FLAGS, flags);
	wire_write_u16(buf + DNS_OFF_QDCOUNT, qdcount);
	wire_write_u16(buf + DNS_OFF_ANCOUNT, ancount);
	wire_write_u16(buf + DNS_OFF_NSCOUNT, nscount);
	wire_write_u16(buf + DNS_OFF_ARCOUNT, arcount);
}

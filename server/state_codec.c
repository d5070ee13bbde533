/* state_codec.c -- the state file's bytes: CRC32C, record framing, and the encoding and
 * decoding of headers and instance records (the format is in state_codec.h). */
#include <string.h>
#include <sys/socket.h>

#include "dns_wire.h"
#include "state_codec.h"

/* ---- CRC32C (Castagnoli), reflected, table-driven ---- */

/* table[0] is the classic byte-at-a-time table; table[k] advances a byte's effect by
 * k more bytes, so the main loop folds in eight bytes per step ("slicing-by-8").
 * Replay spends most of its time here: this is about three times the speed of the
 * byte-at-a-time loop. */
void state_crc_init(struct state_crc *crc)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int bit = 0; bit < 8; bit++)
			c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
		crc->table[0][i] = c;
	}
	for (int k = 1; k < 8; k++)
		for (int i = 0; i < 256; i++)
			crc->table[k][i] = (crc->table[k - 1][i] >> 8) ^
					   crc->table[0][crc->table[k - 1][i] & 0xFF];
}

uint32_t state_crc32c(const struct state_crc *crc, const uint8_t *p, size_t len)
{
	const uint32_t (*table)[256] = crc->table;
	uint32_t c = 0xFFFFFFFFu;
	for (; len >= 8; p += 8, len -= 8) {
		uint32_t low = c ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
				    (uint32_t)p[3] << 24);
		c = table[7][low & 0xFF] ^ table[6][(low >> 8) & 0xFF] ^
		    table[5][(low >> 16) & 0xFF] ^ table[4][low >> 24] ^
		    table[3][p[4]] ^ table[2][p[5]] ^ table[1][p[6]] ^ table[0][p[7]];
	}
	for (; len > 0; p++, len--)
		c = table[0][(c ^ *p) & 0xFF] ^ (c >> 8);
	return c ^ 0xFFFFFFFFu;
}

/* ---- encoding: each helper writes at p and returns the position after it ---- */

static uint8_t *put_u8(uint8_t *p, uint8_t v)
{
	*p = v;
	return p + 1;
}

static uint8_t *put_u16(uint8_t *p, uint16_t v)
{
	wire_write_u16(p, v);
	return p + 2;
}

static uint8_t *put_u64(uint8_t *p, uint64_t v)
{
	wire_write_u32(p, (uint32_t)(v >> 32));
	wire_write_u32(p + 4, (uint32_t)v);
	return p + 8;
}

static uint8_t *put_str8(uint8_t *p, const char *text, size_t len)
{
	*p++ = (uint8_t)len;
	memcpy(p, text, len);
	return p + len;
}

void state_encode_header(const struct state_crc *crc, uint8_t header[STATE_HEADER_SIZE],
			 uint64_t image_end)
{
	memcpy(header, STATE_MAGIC, 8);
	wire_write_u32(header + 8, STATE_VERSION);
	put_u64(header + 12, image_end);
	wire_write_u32(header + 20, state_crc32c(crc, header, 20));
}

enum state_header_check state_decode_header(const struct state_crc *crc,
					    const uint8_t header[STATE_HEADER_SIZE],
					    uint64_t *image_end, uint32_t *version)
{
	struct wire_reader r;
	if (memcmp(header, STATE_MAGIC, 8) != 0)
		return STATE_HEADER_BAD_MAGIC;
	if (state_crc32c(crc, header, 20) != wire_read_u32(header + 20))
		return STATE_HEADER_BAD_CRC;
	wire_reader_init(&r, header + 8, 12);
	*version = wire_get_u32(&r);
	if (*version != STATE_VERSION)
		return STATE_HEADER_BAD_VERSION;
	*image_end = wire_get_u64(&r);
	return STATE_HEADER_OK;
}

/* Writes the length before and the checksum after a payload already at rec + 4;
 * returns the record's whole size. */
static size_t frame_record(const struct state_crc *crc, uint8_t *rec, size_t payload_len)
{
	wire_write_u32(rec, (uint32_t)payload_len);
	wire_write_u32(rec + 4 + payload_len, state_crc32c(crc, rec, 4 + payload_len));
	return 4 + payload_len + 4;
}

static int label_fits(const char *label)
{
	size_t len = strnlen(label, DNAME_MAX_LABEL + 1);
	return len >= 1 && len <= DNAME_MAX_LABEL;
}

static uint8_t *put_u32(uint8_t *p, uint32_t v)
{
	p = put_u16(p, (uint16_t)(v >> 16));
	return put_u16(p, (uint16_t)v);
}

/* The health check of a PUT, after its key name; left out for an instance without one. */
static uint8_t *put_check(uint8_t *p, const struct health_check_spec *c)
{
	p = put_u8(p, c->kind);
	p = put_u8(p, c->fall);
	p = put_u8(p, c->rise);
	p = put_u8(p, c->host_family == AF_INET ? 4 : c->host_family == AF_INET6 ? 6 : 0);
	memcpy(p, c->host, 16);
	p += 16;
	p = put_u16(p, c->port);
	p = put_u32(p, c->interval_ms);
	p = put_u32(p, c->timeout_ms);
	return put_str8(p, c->path, strlen(c->path));
}

/* The PUTX tail: flags, the check, tags, further addresses, network names. */
static uint8_t *put_extras(uint8_t *p, const struct instance_spec *spec, size_t addr_len)
{
	const struct instance_extras *x = &spec->extras;
	p = put_u8(p, (uint8_t)((spec->check.kind != CHECK_NONE ? 1 : 0) | (x->weight_set ? 2 : 0)));
	if (spec->check.kind != CHECK_NONE)
		p = put_check(p, &spec->check);
	p = put_u8(p, x->tag_count);
	for (unsigned i = 0; i < x->tag_count; i++)
		p = put_str8(p, x->tags[i], strlen(x->tags[i]));
	p = put_u8(p, x->addr_count);
	for (unsigned i = 0; i < x->addr_count; i++) {
		memcpy(p, x->addrs[i], addr_len);
		p += addr_len;
	}
	p = put_u8(p, x->network_count);
	for (unsigned i = 0; i < x->network_count; i++)
		p = put_str8(p, x->networks[i], strlen(x->networks[i]));
	return p;
}

size_t state_encode_put(const struct state_crc *crc, uint8_t *rec, const struct instance_spec *spec,
			int64_t expires_wall_ms, const char *key_name)
{
	size_t key_len = key_name ? strlen(key_name) : 0;
	if (!label_fits(spec->service) || !label_fits(spec->instance) || spec->is_static ||
	    (spec->family != AF_INET && spec->family != AF_INET6) ||
	    spec->txt_len > REGISTRY_TXT_MAX || key_len > STATE_KEY_NAME_MAX ||
	    spec->extras.tag_count > INSTANCE_TAGS_MAX || spec->extras.addr_count > INSTANCE_ADDRS_MAX ||
	    spec->extras.network_count > INSTANCE_NETWORKS_MAX ||
	    (spec->proto != PROTO_TCP && spec->proto != PROTO_UDP))
		return 0;
	uint8_t *p = rec + 4;
	p = put_u8(p, STATE_RECORD_PUT);
	p = put_str8(p, spec->service, strlen(spec->service));
	p = put_str8(p, spec->instance, strlen(spec->instance));
	size_t addr_len = spec->family == AF_INET ? 4 : 16;
	p = put_u8(p, spec->family == AF_INET ? 4 : 6);
	memcpy(p, spec->addr, addr_len);
	p += addr_len;
	p = put_u16(p, spec->port);
	p = put_u16(p, spec->priority);
	p = put_u16(p, spec->weight);
	p = put_u8(p, (uint8_t)spec->proto);
	p = put_u16(p, spec->txt_len);
	memcpy(p, spec->txt, spec->txt_len);
	p += spec->txt_len;
	p = put_u64(p, (uint64_t)expires_wall_ms);
	p = put_str8(p, key_name ? key_name : "", key_len);
	if (instance_extras_used(&spec->extras)) {
		rec[4] = STATE_RECORD_PUTX;
		p = put_extras(p, spec, addr_len);
	} else if (spec->check.kind != CHECK_NONE) {
		p = put_check(p, &spec->check);
	}
	return frame_record(crc, rec, (size_t)(p - (rec + 4)));
}

size_t state_encode_split(const struct state_crc *crc, uint8_t *rec, const struct split *sp)
{
	uint8_t *p = rec + 4;
	p = put_u8(p, STATE_RECORD_SPLIT);
	p = put_str8(p, (const char *)sp->wire_label + 1, sp->wire_label[0]);
	p = put_u16(p, sp->limit);
	p = put_u8(p, sp->count);
	for (unsigned i = 0; i < sp->count; i++) {
		p = put_str8(p, sp->shares[i].tag, strlen(sp->shares[i].tag));
		p = put_u8(p, sp->shares[i].percent);
	}
	return frame_record(crc, rec, (size_t)(p - (rec + 4)));
}

size_t state_encode_name_record(const struct state_crc *crc, uint8_t *rec, enum state_record_kind kind,
				const char *service, const char *instance, int64_t expires_wall_ms)
{
	if (!label_fits(service) || !label_fits(instance))
		return 0;
	uint8_t *p = rec + 4;
	p = put_u8(p, (uint8_t)kind);
	p = put_str8(p, service, strlen(service));
	p = put_str8(p, instance, strlen(instance));
	if (kind == STATE_RECORD_RENEW)
		p = put_u64(p, (uint64_t)expires_wall_ms);
	return frame_record(crc, rec, (size_t)(p - (rec + 4)));
}

uint32_t state_record_payload_len(const uint8_t *rec)
{
	return wire_read_u32(rec);
}

int state_record_crc_ok(const struct state_crc *crc, const uint8_t *rec, size_t payload_len)
{
	return state_crc32c(crc, rec, 4 + payload_len) == wire_read_u32(rec + 4 + payload_len);
}

/* ---- decoding ---- */

/* Copies a str8 into out (size out_size, NUL-terminated); a string that is empty when
 * it must not be, too long, or holding a NUL sets the reader's error. */
static void get_str8(struct wire_reader *r, char *out, size_t out_size, size_t min_len)
{
	size_t len = wire_get_u8(r);
	const uint8_t *text = wire_get_bytes(r, len);
	out[0] = 0;
	if (!text || len < min_len || len >= out_size || memchr(text, 0, len)) {
		r->error = 1;
		return;
	}
	memcpy(out, text, len);
	out[len] = 0;
}

static int decode_check(struct wire_reader *r, struct health_check_spec *c)
{
	char reason[128];
	c->kind = wire_get_u8(r);
	c->fall = wire_get_u8(r);
	c->rise = wire_get_u8(r);
	uint8_t family = wire_get_u8(r);
	const uint8_t *host = wire_get_bytes(r, 16);
	if (host)
		memcpy(c->host, host, 16);
	c->host_family = family == 4 ? AF_INET : family == 6 ? AF_INET6 : 0;
	c->port = wire_get_u16(r);
	c->interval_ms = wire_get_u32(r);
	c->timeout_ms = wire_get_u32(r);
	get_str8(r, c->path, sizeof c->path, 0);
	if (r->error || c->kind == CHECK_NONE || c->kind >= CHECK_KINDS || (family != 0 && family != 4 && family != 6) ||
	    c->fall < 1 || c->fall > HEALTH_COUNT_MAX || c->rise < 1 || c->rise > HEALTH_COUNT_MAX)
		return -1;
	return health_spec_finish(c, reason, sizeof reason);
}

/* A count byte of at most max, then that many labels (lowercase LDH). */
static unsigned get_labels(struct wire_reader *r, char (*out)[DNAME_MAX_LABEL + 1], unsigned max)
{
	unsigned n = wire_get_u8(r);
	if (n > max) {
		r->error = 1;
		return 0;
	}
	for (unsigned i = 0; i < n && !r->error; i++) {
		get_str8(r, out[i], DNAME_MAX_LABEL + 1, 1);
		if (!r->error && !label_is_ldh(out[i], strlen(out[i])))
			r->error = 1;
	}
	return n;
}

/* The PUTX tail (put_extras). */
static int decode_extras(struct wire_reader *r, struct instance_spec *spec)
{
	struct instance_extras *x = &spec->extras;
	size_t addr_len = spec->family == AF_INET ? 4 : 16;
	uint8_t flags = wire_get_u8(r);
	if (flags & ~3u)
		return -1;
	x->weight_set = (flags & 2) != 0;
	if ((flags & 1) && decode_check(r, &spec->check) < 0)
		return -1;
	x->tag_count = (uint8_t)get_labels(r, x->tags, INSTANCE_TAGS_MAX);
	x->addr_count = wire_get_u8(r);
	if (x->addr_count > INSTANCE_ADDRS_MAX)
		return -1;
	for (unsigned i = 0; i < x->addr_count; i++) {
		const uint8_t *addr = wire_get_bytes(r, addr_len);
		memset(x->addrs[i], 0, 16);
		if (addr)
			memcpy(x->addrs[i], addr, addr_len);
	}
	x->network_count = (uint8_t)get_labels(r, x->networks, INSTANCE_NETWORKS_MAX);
	return r->error ? -1 : 0;
}

static int decode_split(struct wire_reader *r, struct split *sp)
{
	char service[DNAME_MAX_LABEL + 1];
	memset(sp, 0, sizeof *sp);
	get_str8(r, service, sizeof service, 1);
	sp->limit = wire_get_u16(r);
	sp->count = wire_get_u8(r);
	unsigned sum = 0;
	if (sp->count > SPLIT_TAGS_MAX)
		return -1;
	for (unsigned i = 0; i < sp->count && !r->error; i++) {
		get_str8(r, sp->shares[i].tag, sizeof sp->shares[i].tag, 1);
		sp->shares[i].percent = wire_get_u8(r);
		sum += sp->shares[i].percent;
		if (!r->error && !label_is_ldh(sp->shares[i].tag, strlen(sp->shares[i].tag)))
			return -1;
	}
	if (r->error || (sp->count && sum != 100) || split_set_service(sp, service) < 0)
		return -1;
	return 0;
}

/* Decodes a PUT payload (after its kind byte) into spec and key_name; 0 or -1. */
static int decode_put(struct wire_reader *r, struct instance_spec *spec,
		      char key_name[STATE_KEY_NAME_MAX + 1], int extended)
{
	get_str8(r, spec->service, sizeof spec->service, 1);
	get_str8(r, spec->instance, sizeof spec->instance, 1);
	uint8_t family = wire_get_u8(r);
	if (family != 4 && family != 6)
		return -1;
	spec->family = family == 4 ? AF_INET : AF_INET6;
	size_t addr_len = family == 4 ? 4 : 16;
	const uint8_t *addr = wire_get_bytes(r, addr_len);
	memset(spec->addr, 0, sizeof spec->addr);
	if (addr)
		memcpy(spec->addr, addr, addr_len);
	spec->port = wire_get_u16(r);
	spec->priority = wire_get_u16(r);
	spec->weight = wire_get_u16(r);
	uint8_t proto = wire_get_u8(r);
	if (proto != PROTO_TCP && proto != PROTO_UDP)
		return -1;
	spec->proto = proto;
	spec->txt_len = wire_get_u16(r);
	if (spec->txt_len > REGISTRY_TXT_MAX)
		return -1;
	const uint8_t *txt = wire_get_bytes(r, spec->txt_len);
	if (txt)
		memcpy(spec->txt, txt, spec->txt_len);
	spec->expires_ms = (int64_t)wire_get_u64(r);
	spec->is_static = false;
	spec->owner_key = 0;
	get_str8(r, key_name, STATE_KEY_NAME_MAX + 1, 0);
	memset(&spec->check, 0, sizeof spec->check);
	memset(&spec->extras, 0, sizeof spec->extras);
	if (extended)
		return r->error || decode_extras(r, spec) < 0 ? -1 : 0;
	if (!r->error && wire_left(r) > 0 && decode_check(r, &spec->check) < 0)
		return -1;
	return r->error ? -1 : 0;
}

int state_decode_record(const uint8_t *payload, size_t len, struct state_record *out,
			const char **kind_name)
{
	struct wire_reader r;
	wire_reader_init(&r, payload, len);
	uint8_t kind = wire_get_u8(&r);
	if (kind == STATE_RECORD_PUT || kind == STATE_RECORD_PUTX) {
		*kind_name = kind == STATE_RECORD_PUT ? "PUT" : "PUTX";
		out->kind = STATE_RECORD_PUT;
		if (decode_put(&r, &out->spec, out->key_name, kind == STATE_RECORD_PUTX) < 0 ||
		    wire_left(&r) != 0)
			return -1;
		return 0;
	}
	if (kind == STATE_RECORD_SPLIT) {
		*kind_name = "SPLIT";
		out->kind = STATE_RECORD_SPLIT;
		if (decode_split(&r, &out->split) < 0 || wire_left(&r) != 0)
			return -1;
		return 0;
	}
	if (kind == STATE_RECORD_RENEW || kind == STATE_RECORD_REMOVE) {
		*kind_name = kind == STATE_RECORD_RENEW ? "RENEW" : "REMOVE";
		out->kind = kind;
		get_str8(&r, out->spec.service, sizeof out->spec.service, 1);
		get_str8(&r, out->spec.instance, sizeof out->spec.instance, 1);
		out->expires_wall_ms = kind == STATE_RECORD_RENEW ? (int64_t)wire_get_u64(&r) : 0;
		if (r.error || wire_left(&r) != 0)
			return -1;
		return 0;
	}
	*kind_name = "unknown";
	return -1;
}

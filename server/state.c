/* state.c -- durable registrations: a write-ahead journal with group commit,
 * compacted atomically (temp file, fsync, rename).
 *
 * Design: one pwrite(2) per record, straight into the file at the end of the
 * last whole record, with no user-space buffer.  A full disk or a dead device is
 * therefore seen by the append itself, before the change is applied, and
 * state_commit() is nothing but one fdatasync for everything appended since the
 * last commit.  Writing at an explicit offset (rather than O_APPEND) means a
 * torn append can be cut off exactly where it began.
 *
 * File format (all integers big-endian):
 *
 *   header, 24 bytes:
 *     8  magic "SVCDNSST"
 *     4  format version, 1
 *     8  image end: where the compacted image stops and the journal begins
 *     4  CRC32C of the 20 bytes above
 *   then records, each:
 *     4  payload length (1 .. PAYLOAD_MAX)
 *     n  payload: a kind byte, then the kind's fields
 *     4  CRC32C of the length and the payload
 *
 *   PUT    (1): service str8, instance str8, family u8 (4 or 6), address (4 or 16
 *               bytes), port u16, priority u16, weight u16, proto u8 (0 tcp, 1 udp),
 *               txt u16 length + bytes, expires i64 (wall-clock ms, 0: no lease),
 *               key name str8 (empty: none)
 *   RENEW  (2): service str8, instance str8, expires i64 (wall-clock ms)
 *   REMOVE (3): service str8, instance str8
 *
 *   str8 is a length byte and that many bytes, no NUL.
 *
 * Replay stops at the first record that is cut short or fails its checksum:
 * that is what a crash in the middle of an append, or a damaged disk, leaves.
 * Everything before it is delivered, the rest is cut off with one warning.  A
 * record whose checksum is right but whose contents make no sense was written
 * that way, by a bug or a foreign program; cutting it off would silently throw
 * away what follows it, so state_open refuses the file instead.
 *
 * A failed append (ENOSPC, EFBIG, EIO) is cut off again with ftruncate, so the
 * next append, once there is room, follows the last whole record.  After an
 * fdatasync fails, or a torn append cannot be cut off, nobody knows what is on
 * the disk (the kernel may have dropped the dirty pages it could not write).
 * The state is then "broken": appends and commits fail with the saved errno,
 * state_wants_compaction() says yes, and the next successful compaction, which
 * writes every live instance afresh, clears it.
 *
 * Replay hands the put callback "" as the key name when the record has none.
 * The file is flock()ed, so a second server on the same file fails to start
 * instead of interleaving records; a path through a symbolic link is resolved,
 * so compaction replaces the file and not the link.  Compaction must run
 * between changes, never between an append and the change it records. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "state.h"

#define STATE_MAGIC "SVCDNSST"
#define STATE_VERSION 1
#define HEADER_SIZE 24
#define PAYLOAD_MAX 2048           /* the largest PUT is 1,443 bytes */
#define RECORD_MAX (4 + PAYLOAD_MAX + 4)
#define KEY_NAME_MAX 255           /* a str8 */
#define READ_BUFFER (1 << 20)      /* replay reads the file in pieces this big */
#define IMAGE_BUFFER (1 << 20)     /* compaction writes in pieces this big */
#define COMPACT_MIN_JOURNAL (1 << 20)

enum record_kind { RECORD_PUT = 1, RECORD_RENEW = 2, RECORD_REMOVE = 3 };

struct state {
	int fd;                  /* the state file, flock()ed; appends go to `end` */
	char *path;              /* as given, for messages */
	char *file_path;         /* path with symbolic links resolved: what a rename replaces */
	char *tmp_path;          /* file_path + ".tmp": compaction writes here, then renames */
	char *dir_path;          /* the directory holding file_path, fsynced after a rename */
	off_t end;               /* end of the last whole record: where the next append goes */
	off_t image_end;         /* end of the compacted image; the journal follows it */
	int dirty;               /* records appended since the last fdatasync */
	int broken_errno;        /* nonzero: the disk's contents are unknown, see above */
	uint32_t crc_table[8][256];  /* CRC32C, see crc32c_init */
};

/* ---- CRC32C (Castagnoli), reflected, table-driven ---- */

/* table[0] is the classic byte-at-a-time table; table[k] advances a byte's effect by
 * k more bytes, so the main loop folds in eight bytes per step ("slicing-by-8").
 * Replay spends most of its time here: this is about three times the speed of the
 * byte-at-a-time loop. */
static void crc32c_init(uint32_t table[8][256])
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int bit = 0; bit < 8; bit++)
			c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
		table[0][i] = c;
	}
	for (int k = 1; k < 8; k++)
		for (int i = 0; i < 256; i++)
			table[k][i] = (table[k - 1][i] >> 8) ^ table[0][table[k - 1][i] & 0xFF];
}

static uint32_t crc32c(const uint32_t table[8][256], const uint8_t *p, size_t len)
{
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

/* ---- big-endian encoding ---- */

static uint8_t *put_u8(uint8_t *p, uint8_t v)
{
	*p = v;
	return p + 1;
}

static uint8_t *put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

static uint8_t *put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (24 - 8 * i));
	return p + 4;
}

static uint8_t *put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
	return p + 8;
}

static uint8_t *put_str8(uint8_t *p, const char *text, size_t len)
{
	*p++ = (uint8_t)len;
	memcpy(p, text, len);
	return p + len;
}

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get_u64(const uint8_t *p)
{
	return (uint64_t)get_u32(p) << 32 | get_u32(p + 4);
}

/* Reads a payload field by field; a read past the end sets `bad` and yields zeros,
 * so a decoder checks once at the end instead of after every field. */
struct payload_reader {
	const uint8_t *p, *end;
	int bad;
};

static const uint8_t *take(struct payload_reader *r, size_t n)
{
	if (r->bad || (size_t)(r->end - r->p) < n) {
		r->bad = 1;
		return NULL;
	}
	const uint8_t *at = r->p;
	r->p += n;
	return at;
}

static uint8_t get_u8_field(struct payload_reader *r)
{
	const uint8_t *p = take(r, 1);
	return p ? p[0] : 0;
}

static uint16_t get_u16_field(struct payload_reader *r)
{
	const uint8_t *p = take(r, 2);
	return p ? (uint16_t)(p[0] << 8 | p[1]) : 0;
}

static int64_t get_i64_field(struct payload_reader *r)
{
	const uint8_t *p = take(r, 8);
	return p ? (int64_t)get_u64(p) : 0;
}

/* Copies a str8 into out (size out_size, NUL-terminated); a string that is empty when
 * it must not be, too long, or holding a NUL sets `bad`. */
static void get_str8_field(struct payload_reader *r, char *out, size_t out_size, size_t min_len)
{
	size_t len = get_u8_field(r);
	const uint8_t *text = take(r, len);
	out[0] = 0;
	if (!text || len < min_len || len >= out_size || memchr(text, 0, len)) {
		r->bad = 1;
		return;
	}
	memcpy(out, text, len);
	out[len] = 0;
}

/* ---- records ---- */

/* Writes the length before and the checksum after a payload already at rec + 4;
 * returns the record's whole size. */
static size_t frame_record(const struct state *st, uint8_t *rec, size_t payload_len)
{
	put_u32(rec, (uint32_t)payload_len);
	put_u32(rec + 4 + payload_len, crc32c(st->crc_table, rec, 4 + payload_len));
	return 4 + payload_len + 4;
}

static int label_fits(const char *label)
{
	size_t len = strnlen(label, DNAME_MAX_LABEL + 1);
	return len >= 1 && len <= DNAME_MAX_LABEL;
}

/* Encodes a PUT record into rec (RECORD_MAX bytes); returns its size, or 0 when the
 * spec cannot be stored (a caller's bug: the registry never holds such an instance). */
static size_t encode_put(const struct state *st, uint8_t *rec, const struct instance_spec *spec,
			 int64_t expires_wall_ms, const char *key_name)
{
	size_t key_len = key_name ? strlen(key_name) : 0;
	if (!label_fits(spec->service) || !label_fits(spec->instance) || spec->is_static ||
	    (spec->family != AF_INET && spec->family != AF_INET6) ||
	    spec->txt_len > REGISTRY_TXT_MAX || key_len > KEY_NAME_MAX ||
	    (spec->proto != PROTO_TCP && spec->proto != PROTO_UDP))
		return 0;
	uint8_t *p = rec + 4;
	p = put_u8(p, RECORD_PUT);
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
	return frame_record(st, rec, (size_t)(p - (rec + 4)));
}

/* Encodes a RENEW (with expires) or a REMOVE; returns 0 for names that cannot be stored. */
static size_t encode_name_record(const struct state *st, uint8_t *rec, enum record_kind kind,
				 const char *service, const char *instance, int64_t expires_wall_ms)
{
	if (!label_fits(service) || !label_fits(instance))
		return 0;
	uint8_t *p = rec + 4;
	p = put_u8(p, (uint8_t)kind);
	p = put_str8(p, service, strlen(service));
	p = put_str8(p, instance, strlen(instance));
	if (kind == RECORD_RENEW)
		p = put_u64(p, (uint64_t)expires_wall_ms);
	return frame_record(st, rec, (size_t)(p - (rec + 4)));
}

/* Decodes a PUT payload (after its kind byte) into spec and key_name; 0 or -1. */
static int decode_put(struct payload_reader *r, struct instance_spec *spec,
		      char key_name[KEY_NAME_MAX + 1])
{
	get_str8_field(r, spec->service, sizeof spec->service, 1);
	get_str8_field(r, spec->instance, sizeof spec->instance, 1);
	uint8_t family = get_u8_field(r);
	if (family != 4 && family != 6)
		return -1;
	spec->family = family == 4 ? AF_INET : AF_INET6;
	size_t addr_len = family == 4 ? 4 : 16;
	const uint8_t *addr = take(r, addr_len);
	memset(spec->addr, 0, sizeof spec->addr);
	if (addr)
		memcpy(spec->addr, addr, addr_len);
	spec->port = get_u16_field(r);
	spec->priority = get_u16_field(r);
	spec->weight = get_u16_field(r);
	uint8_t proto = get_u8_field(r);
	if (proto != PROTO_TCP && proto != PROTO_UDP)
		return -1;
	spec->proto = proto;
	spec->txt_len = get_u16_field(r);
	if (spec->txt_len > REGISTRY_TXT_MAX)
		return -1;
	const uint8_t *txt = take(r, spec->txt_len);
	if (txt)
		memcpy(spec->txt, txt, spec->txt_len);
	spec->expires_ms = get_i64_field(r);
	spec->is_static = false;
	spec->owner_key = 0;
	get_str8_field(r, key_name, KEY_NAME_MAX + 1, 0);
	return r->bad ? -1 : 0;
}

/* Decodes one payload and hands it to ops.  Returns 0, -1 when the payload is
 * malformed (*kind_name says what it claimed to be), -2 when a callback refused it. */
static int deliver_record(const uint8_t *payload, size_t len, const struct state_replay_ops *ops,
			  struct instance_spec *spec, const char **kind_name)
{
	struct payload_reader r = { payload, payload + len, 0 };
	char key_name[KEY_NAME_MAX + 1];
	uint8_t kind = get_u8_field(&r);
	int rc;
	if (kind == RECORD_PUT) {
		*kind_name = "PUT";
		if (decode_put(&r, spec, key_name) < 0 || r.p != r.end)
			return -1;
		rc = ops->put(ops->arg, spec, key_name);
	} else if (kind == RECORD_RENEW || kind == RECORD_REMOVE) {
		*kind_name = kind == RECORD_RENEW ? "RENEW" : "REMOVE";
		get_str8_field(&r, spec->service, sizeof spec->service, 1);
		get_str8_field(&r, spec->instance, sizeof spec->instance, 1);
		int64_t expires = kind == RECORD_RENEW ? get_i64_field(&r) : 0;
		if (r.bad || r.p != r.end)
			return -1;
		if (kind == RECORD_RENEW)
			rc = ops->renew(ops->arg, spec->service, spec->instance, expires);
		else
			rc = ops->remove(ops->arg, spec->service, spec->instance);
	} else {
		*kind_name = "unknown";
		return -1;
	}
	return rc < 0 ? -2 : 0;
}

/* ---- file helpers ---- */

static int write_all(int fd, const uint8_t *data, size_t len, off_t offset)
{
	while (len > 0) {
		ssize_t n = pwrite(fd, data, len, offset);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		data += n;
		len -= (size_t)n;
		offset += n;
	}
	return 0;
}

static int fsync_directory(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	int saved = errno;
	if (close(fd) < 0 && rc == 0)
		return -1;
	errno = saved;
	return rc;
}

/* Takes the file for this process alone: two servers appending to one journal
 * would interleave records.  The lock also fails when the path was renamed over
 * (by another server's compaction) between our open and our flock. */
static int lock_file(int fd, const char *path)
{
	struct stat held, named;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		return -1;
	if (fstat(fd, &held) < 0 || stat(path, &named) < 0)
		return -1;
	if (held.st_dev != named.st_dev || held.st_ino != named.st_ino) {
		errno = EWOULDBLOCK;
		return -1;
	}
	return 0;
}

static void write_header(const struct state *st, uint8_t header[HEADER_SIZE], off_t image_end)
{
	memcpy(header, STATE_MAGIC, 8);
	put_u32(header + 8, STATE_VERSION);
	put_u64(header + 12, (uint64_t)image_end);
	put_u32(header + 20, crc32c(st->crc_table, header, 20));
}

/* ---- compaction ---- */

/* Writes the image into the temp file; registry_foreach cannot stop early, so the
 * first failure is kept in `error` and later instances are skipped. */
struct image_writer {
	const struct state *st;
	int fd;
	uint8_t *buf;
	size_t len;              /* bytes waiting in buf */
	off_t written;           /* bytes already in the file, header included */
	size_t count;            /* instances written */
	int error;               /* errno of the first failure, 0 while all is well */
	const char *step;        /* the call that failed */
	int64_t wall_minus_mono_ms;
	const char *(*key_name)(void *arg, uint16_t owner_key);
	void *key_arg;
};

static void flush_image(struct image_writer *w)
{
	if (w->error || w->len == 0)
		return;
	if (write_all(w->fd, w->buf, w->len, w->written) < 0) {
		w->error = errno;
		w->step = "write";
		return;
	}
	w->written += (off_t)w->len;
	w->len = 0;
}

static void write_instance(void *arg, struct instance *inst)
{
	struct image_writer *w = arg;
	if (w->error || inst->is_static)
		return;
	struct instance_spec spec;
	instance_to_spec(inst, &spec);
	/* 0 means "no lease" in both clocks. */
	int64_t expires_wall = spec.expires_ms ? spec.expires_ms + w->wall_minus_mono_ms : 0;
	const char *key = w->key_name && inst->owner_key ? w->key_name(w->key_arg, inst->owner_key) : NULL;
	if (IMAGE_BUFFER - w->len < RECORD_MAX)
		flush_image(w);
	if (w->error)
		return;
	size_t n = encode_put(w->st, w->buf + w->len, &spec, expires_wall, key);
	if (n == 0) {
		w->error = EINVAL;
		w->step = "encode";
		return;
	}
	w->len += n;
	w->count++;
}

/* Writes a new file (header, then one PUT per journaled instance of reg, or none when
 * reg is NULL) to tmp_path, makes it durable, renames it over file_path and switches
 * appends to it.  Returns 0, or -1 with errno and w->step naming the call that failed. */
static int install_image(struct state *st, struct registry *reg, struct image_writer *w)
{
	int rc = -1;
	int old_fd = st->fd;
	uint8_t header[HEADER_SIZE];
	w->st = st;
	w->fd = -1;
	w->written = HEADER_SIZE;
	/* A leftover of a crash goes; O_EXCL and O_NOFOLLOW then make sure we write to a
	 * file of our own, never through a link someone put there. */
	if (unlink(st->tmp_path) < 0 && errno != ENOENT) {
		w->step = "unlink of an old temp file";
		goto out;
	}
	w->fd = open(st->tmp_path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (w->fd < 0) {
		w->step = "open";
		goto out;
	}
	if (flock(w->fd, LOCK_EX | LOCK_NB) < 0) {
		w->step = "flock";
		goto out;
	}
	w->buf = malloc(IMAGE_BUFFER);
	if (!w->buf) {
		w->step = "malloc";
		goto out;
	}
	if (reg)
		registry_foreach(reg, write_instance, w);
	flush_image(w);
	if (w->error) {
		errno = w->error;
		goto out;
	}
	write_header(st, header, w->written);
	if (write_all(w->fd, header, sizeof header, 0) < 0) {
		w->step = "write";
		goto out;
	}
	if (fdatasync(w->fd) < 0) {
		w->step = "fdatasync";
		goto out;
	}
	if (rename(st->tmp_path, st->file_path) < 0) {
		w->step = "rename";
		goto out;
	}
	/* From here the old file is unlinked: appends must go to the new one whatever happens. */
	st->fd = w->fd;
	w->fd = -1;
	st->end = st->image_end = w->written;
	st->dirty = 0;
	st->broken_errno = 0;
	if (old_fd >= 0 && close(old_fd) < 0)
		log_warn("state %s: close of the replaced file: %s", st->path, strerror(errno));
	if (fsync_directory(st->dir_path) < 0) {
		/* The rename may not survive a crash, and appends to the new file with it. */
		st->broken_errno = errno;
		w->step = "fsync of the directory";
		goto out;
	}
	rc = 0;
out:
	if (rc < 0 && w->fd >= 0) {
		/* Best effort: the failure being reported matters more than this cleanup. */
		int saved = errno;
		unlink(st->tmp_path);
		close(w->fd);
		errno = saved;
	}
	free(w->buf);
	return rc;
}

int state_compact(struct state *st, struct registry *reg, int64_t wall_minus_mono_ms,
		  const char *(*key_name)(void *arg, uint16_t owner_key), void *arg)
{
	struct image_writer w = { 0 };
	w.wall_minus_mono_ms = wall_minus_mono_ms;
	w.key_name = key_name;
	w.key_arg = arg;
	off_t before = st->end;
	if (install_image(st, reg, &w) < 0) {
		int saved = errno;
		log_error("state %s: compaction failed: %s: %s", st->path, w.step, strerror(saved));
		errno = saved;
		return -1;
	}
	log_info("state %s: compacted %lld bytes into %lld (%zu instances)", st->path,
		 (long long)before, (long long)st->end, w.count);
	return 0;
}

/* ---- opening and replay ---- */

/* Reads the file in large pieces; a record never straddles the end of the buffer
 * when it is looked at, because `want` first moves the unread rest to the front. */
struct file_reader {
	int fd;
	uint8_t *buf;            /* READ_BUFFER bytes */
	size_t len;              /* bytes in buf */
	size_t pos;              /* next unread byte in buf */
	off_t buf_offset;        /* file offset of buf[0] */
	int at_eof;
};

/* Makes `need` (at most RECORD_MAX) bytes readable at pos; 1 when they are, 0 when the
 * file ends first, -1 on a read error. */
static int reader_want(struct file_reader *r, size_t need)
{
	while (r->len - r->pos < need) {
		if (r->at_eof)
			return 0;
		if (r->pos > 0) {
			memmove(r->buf, r->buf + r->pos, r->len - r->pos);
			r->buf_offset += (off_t)r->pos;
			r->len -= r->pos;
			r->pos = 0;
		}
		ssize_t n = pread(r->fd, r->buf + r->len, READ_BUFFER - r->len, r->buf_offset + (off_t)r->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			r->at_eof = 1;
		r->len += (size_t)n;
	}
	return 1;
}

enum read_result { READ_RECORD, READ_END, READ_DAMAGED, READ_ERROR };

/* Finds the next whole record with a matching checksum; on READ_DAMAGED *why says
 * what was wrong with the bytes at the current offset. */
static enum read_result read_record(const struct state *st, struct file_reader *r,
				    const uint8_t **payload, size_t *payload_len, const char **why)
{
	int have = reader_want(r, 4);
	if (have < 0)
		return READ_ERROR;
	if (have == 0) {
		*why = "cut short";
		return r->pos == r->len ? READ_END : READ_DAMAGED;
	}
	const uint8_t *rec = r->buf + r->pos;
	uint32_t len = get_u32(rec);
	if (len == 0 || len > PAYLOAD_MAX) {
		*why = "impossible length";
		return READ_DAMAGED;
	}
	have = reader_want(r, 4 + len + 4);
	if (have < 0)
		return READ_ERROR;
	if (have == 0) {
		*why = "cut short";
		return READ_DAMAGED;
	}
	rec = r->buf + r->pos;
	if (crc32c(st->crc_table, rec, 4 + len) != get_u32(rec + 4 + len)) {
		*why = "checksum mismatch";
		return READ_DAMAGED;
	}
	*payload = rec + 4;
	*payload_len = len;
	r->pos += 4 + len + 4;
	return READ_RECORD;
}

/* Checks the header; fills err and returns -1 when the file is not ours. */
static int check_header(struct state *st, off_t size, char err[STATE_ERROR_MAX])
{
	uint8_t header[HEADER_SIZE];
	if (size < HEADER_SIZE) {
		snprintf(err, STATE_ERROR_MAX, "%s: not an svcdns state file (%lld bytes, shorter than the header)",
			 st->path, (long long)size);
		return -1;
	}
	ssize_t n = pread(st->fd, header, sizeof header, 0);
	if (n != (ssize_t)sizeof header) {
		snprintf(err, STATE_ERROR_MAX, "%s: read: %s", st->path, n < 0 ? strerror(errno) : "short read");
		return -1;
	}
	if (memcmp(header, STATE_MAGIC, 8) != 0) {
		snprintf(err, STATE_ERROR_MAX, "%s: not an svcdns state file (bad magic); refusing to touch it",
			 st->path);
		return -1;
	}
	if (crc32c(st->crc_table, header, 20) != get_u32(header + 20)) {
		snprintf(err, STATE_ERROR_MAX, "%s: not an svcdns state file (header checksum mismatch)", st->path);
		return -1;
	}
	if (get_u32(header + 8) != STATE_VERSION) {
		snprintf(err, STATE_ERROR_MAX, "%s: not an svcdns state file this server reads "
			 "(format version %u, expected %u)", st->path, get_u32(header + 8), STATE_VERSION);
		return -1;
	}
	uint64_t image_end = get_u64(header + 12);
	/* Only a compaction heuristic; a damaged image can make it point past the end. */
	st->image_end = image_end < HEADER_SIZE || image_end > (uint64_t)size ? HEADER_SIZE : (off_t)image_end;
	return 0;
}

/* Replays every record after the header, then cuts off a damaged tail. */
static int replay(struct state *st, const struct state_replay_ops *ops, char err[STATE_ERROR_MAX])
{
	int rc = -1;
	struct file_reader r = { .fd = st->fd, .buf_offset = HEADER_SIZE };
	struct instance_spec *spec = calloc(1, sizeof *spec);
	r.buf = malloc(READ_BUFFER);
	if (!spec || !r.buf) {
		snprintf(err, STATE_ERROR_MAX, "%s: out of memory", st->path);
		goto out;
	}
	size_t kept = 0;
	const char *why = NULL;
	enum read_result res;
	for (;;) {
		const uint8_t *payload;
		size_t len;
		const char *kind_name = "";
		off_t at = r.buf_offset + (off_t)r.pos;
		res = read_record(st, &r, &payload, &len, &why);
		if (res != READ_RECORD)
			break;
		int delivered = deliver_record(payload, len, ops, spec, &kind_name);
		if (delivered == -1) {
			snprintf(err, STATE_ERROR_MAX, "%s: byte %lld: malformed %s record with a valid "
				 "checksum (written by another program?); refusing to touch the file",
				 st->path, (long long)at, kind_name);
			goto out;
		}
		if (delivered == -2) {
			snprintf(err, STATE_ERROR_MAX, "%s: byte %lld: the %s record was refused",
				 st->path, (long long)at, kind_name);
			goto out;
		}
		kept++;
	}
	if (res == READ_ERROR) {
		snprintf(err, STATE_ERROR_MAX, "%s: read: %s", st->path, strerror(errno));
		goto out;
	}
	st->end = r.buf_offset + (off_t)r.pos;
	if (st->image_end > st->end)
		st->image_end = st->end;
	if (res == READ_DAMAGED) {
		off_t size = r.buf_offset + (off_t)r.len;
		log_warn("state %s: record at byte %lld %s: kept %zu records before it, cutting off "
			 "the last %lld bytes", st->path, (long long)st->end, why, kept,
			 (long long)(size - st->end));
		/* Cut now and make the cut durable, so new appends follow the last good record. */
		if (ftruncate(st->fd, st->end) < 0 || fdatasync(st->fd) < 0) {
			snprintf(err, STATE_ERROR_MAX, "%s: cutting off the damaged tail: %s",
				 st->path, strerror(errno));
			goto out;
		}
	}
	rc = 0;
out:
	free(r.buf);
	free(spec);
	return rc;
}

static void free_state(struct state *st)
{
	if (st->fd >= 0 && close(st->fd) < 0)
		log_warn("state %s: close: %s", st->path, strerror(errno));
	free(st->path);
	free(st->file_path);
	free(st->tmp_path);
	free(st->dir_path);
	free(st);
}

/* Derives the temp file and the directory from the resolved path: through a symbolic
 * link, the rename must replace the file it points to, not the link. */
static int set_paths(struct state *st)
{
	st->file_path = realpath(st->path, NULL);
	if (!st->file_path)
		return -1;
	const char *slash = strrchr(st->file_path, '/');  /* realpath gives an absolute path */
	size_t len = strlen(st->file_path);
	st->dir_path = slash == st->file_path ? strdup("/") : strndup(st->file_path, (size_t)(slash - st->file_path));
	st->tmp_path = malloc(len + sizeof ".tmp");
	if (!st->dir_path || !st->tmp_path)
		return -1;
	memcpy(st->tmp_path, st->file_path, len);
	memcpy(st->tmp_path + len, ".tmp", sizeof ".tmp");
	return 0;
}

struct state *state_open(const char *path, const struct state_replay_ops *ops, char err[STATE_ERROR_MAX])
{
	struct stat info;
	struct state *st = calloc(1, sizeof *st);
	if (!st) {
		snprintf(err, STATE_ERROR_MAX, "%s: out of memory", path);
		return NULL;
	}
	st->fd = -1;
	crc32c_init(st->crc_table);
	st->path = strdup(path);
	if (!st->path) {
		snprintf(err, STATE_ERROR_MAX, "%s: out of memory", path);
		goto fail;
	}
	st->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (st->fd < 0) {
		snprintf(err, STATE_ERROR_MAX, "%s: open: %s", path, strerror(errno));
		goto fail;
	}
	if (lock_file(st->fd, path) < 0) {
		if (errno == EWOULDBLOCK)
			snprintf(err, STATE_ERROR_MAX, "%s: in use by another svcdns process", path);
		else
			snprintf(err, STATE_ERROR_MAX, "%s: lock: %s", path, strerror(errno));
		goto fail;
	}
	if (fstat(st->fd, &info) < 0) {
		snprintf(err, STATE_ERROR_MAX, "%s: stat: %s", path, strerror(errno));
		goto fail;
	}
	/* A device or a FIFO would look empty, and the rename below would replace it. */
	if (!S_ISREG(info.st_mode)) {
		snprintf(err, STATE_ERROR_MAX, "%s: not a regular file", path);
		goto fail;
	}
	if (set_paths(st) < 0) {
		snprintf(err, STATE_ERROR_MAX, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (info.st_size == 0) {
		/* New (or empty): write the header the same atomic way compaction does, so a
		 * crash can never leave a half-written header that we would then refuse. */
		struct image_writer w = { 0 };
		if (install_image(st, NULL, &w) < 0) {
			snprintf(err, STATE_ERROR_MAX, "%s: creating: %s: %s", path, w.step, strerror(errno));
			goto fail;
		}
		return st;
	}
	if (check_header(st, info.st_size, err) < 0 || replay(st, ops, err) < 0)
		goto fail;
	return st;
fail:
	free_state(st);
	return NULL;
}

void state_close(struct state *st)
{
	if (!st)
		return;
	if (st->dirty && !st->broken_errno && fdatasync(st->fd) < 0)
		log_error("state %s: fdatasync on close: %s", st->path, strerror(errno));
	free_state(st);
}

/* ---- appends and commits ---- */

static int append_record(struct state *st, const uint8_t *rec, size_t len)
{
	if (st->broken_errno) {
		errno = st->broken_errno;
		return -1;
	}
	if (len == 0) {
		errno = EINVAL;
		return -1;
	}
	if (write_all(st->fd, rec, len, st->end) < 0) {
		int saved = errno;
		/* A torn record would hide every later one from replay: cut it off. */
		if (ftruncate(st->fd, st->end) < 0) {
			log_error("state %s: cannot cut off a failed append (%s): refusing changes "
				  "until a compaction rewrites the file", st->path, strerror(errno));
			st->broken_errno = saved;
		}
		errno = saved;
		return -1;
	}
	st->end += (off_t)len;
	st->dirty = 1;
	return 0;
}

int state_append_put(struct state *st, const struct instance_spec *spec, int64_t expires_wall_ms,
		     const char *key_name)
{
	uint8_t rec[RECORD_MAX];
	return append_record(st, rec, encode_put(st, rec, spec, expires_wall_ms, key_name));
}

int state_append_renew(struct state *st, const char *service, const char *instance,
		       int64_t expires_wall_ms)
{
	uint8_t rec[RECORD_MAX];
	return append_record(st, rec, encode_name_record(st, rec, RECORD_RENEW, service, instance,
							 expires_wall_ms));
}

int state_append_remove(struct state *st, const char *service, const char *instance)
{
	uint8_t rec[RECORD_MAX];
	return append_record(st, rec, encode_name_record(st, rec, RECORD_REMOVE, service, instance, 0));
}

/* A failed commit leaves the state clean as well as broken: the changes it covered
 * are refused by the caller, a retry cannot make them durable, and a caller that
 * commits only while dirty goes on to the compaction that repairs the file. */
int state_commit(struct state *st)
{
	if (st->broken_errno) {
		st->dirty = 0;
		errno = st->broken_errno;
		return -1;
	}
	if (!st->dirty)
		return 0;
	if (fdatasync(st->fd) < 0) {
		/* Linux may have dropped the pages it could not write, so a second fdatasync
		 * could succeed without them: trust nothing until a compaction. */
		int saved = errno;
		st->broken_errno = saved;
		st->dirty = 0;
		log_error("state %s: fdatasync: %s: refusing changes until a compaction rewrites "
			  "the file", st->path, strerror(saved));
		errno = saved;
		return -1;
	}
	st->dirty = 0;
	return 0;
}

int state_dirty(const struct state *st)
{
	return st->dirty;
}

/* Compaction rewrites the whole image, so it pays off once the journal behind the
 * image has grown past twice the image (each compacted byte then retires at least two
 * journal bytes, and replay reads at most three times the live data); the 1 MiB floor
 * keeps a small registry from being rewritten over and over.  A broken state always
 * wants one: compaction is how it recovers. */
int state_wants_compaction(const struct state *st)
{
	off_t journal = st->end - st->image_end;
	if (st->broken_errno)
		return 1;
	return journal > COMPACT_MIN_JOURNAL && journal > 2 * st->image_end;
}

/* Unit tests for state.c: round trips through close and reopen, damaged tails, bad
 * headers, compaction and failed writes, all on real files in a temp directory. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "registry.h"
#include "state.h"
#include "tap.h"

static char dir[] = "/tmp/svcdns-state-XXXXXX";
static char path[256];      /* dir/state: the state file under test */
static char tmp_path[256];  /* dir/state.tmp: must never be left behind */
static char log_path[256];  /* dir/log: stderr while a state is opened */

/* Key names by owner_key, as the server maps them; 0 is "no key". */
static const char *const key_names[] = { "", "alpha", "beta" };

/* ---- what a replay delivered ---- */

struct replayed {
	struct registry reg;   /* the live set the records describe */
	size_t puts, renews, removes;
	char trace[256];       /* the first records, "P web/a R web/a D web/c " */
	size_t refuse_at;      /* refuse the record with this number (from 1); 0: none */
};

static int refuse_now(struct replayed *r)
{
	return r->refuse_at && r->puts + r->renews + r->removes == r->refuse_at;
}

static void trace(struct replayed *r, char kind, const char *service, const char *instance)
{
	size_t used = strlen(r->trace);
	snprintf(r->trace + used, sizeof r->trace - used, "%c %s/%s ", kind, service, instance);
}

static int replay_put(void *arg, const struct instance_spec *spec, const char *key_name)
{
	struct replayed *r = arg;
	struct instance_spec copy = *spec;
	r->puts++;
	trace(r, 'P', spec->service, spec->instance);
	copy.owner_key = 0;
	for (uint16_t i = 1; i < sizeof key_names / sizeof key_names[0]; i++)
		if (strcmp(key_name, key_names[i]) == 0)
			copy.owner_key = i;
	if (refuse_now(r) || (key_name[0] && copy.owner_key == 0))
		return -1;
	enum registry_put_result res = registry_put(&r->reg, &copy, NULL);
	return res == REGISTRY_PUT_CREATED || res == REGISTRY_PUT_REPLACED ? 0 : -1;
}

static int replay_renew(void *arg, const char *service, const char *instance, int64_t expires_wall_ms)
{
	struct replayed *r = arg;
	r->renews++;
	trace(r, 'R', service, instance);
	struct instance *inst = registry_lookup(&r->reg, service, instance);
	if (refuse_now(r) || !inst)
		return -1;
	inst->expires_ms = expires_wall_ms;
	return 0;
}

static int replay_remove(void *arg, const char *service, const char *instance)
{
	struct replayed *r = arg;
	r->removes++;
	trace(r, 'D', service, instance);
	struct instance *inst = registry_lookup(&r->reg, service, instance);
	if (refuse_now(r))
		return -1;
	if (inst)
		registry_delete(&r->reg, inst);
	return 0;
}

static void replayed_reset(struct replayed *r)
{
	registry_free(&r->reg);
	memset(r, 0, sizeof *r);
	registry_init(&r->reg, 1);
}

static struct state *reopen(struct replayed *r, char err[STATE_ERROR_MAX])
{
	struct state_replay_ops ops = { replay_put, replay_renew, replay_remove, r, NULL };
	size_t refuse_at = r->refuse_at;
	replayed_reset(r);
	r->refuse_at = refuse_at;
	err[0] = 0;
	return state_open(path, &ops, err);
}

/* Sends stderr (the logger) to a file until end_log_capture, so a test can read
 * what was logged; returns the saved stderr. */
static int begin_log_capture(void)
{
	int saved = dup(2);
	int fd = open(log_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (saved < 0 || fd < 0 || dup2(fd, 2) < 0) {
		perror("redirecting stderr");
		exit(2);
	}
	close(fd);
	return saved;
}

static void end_log_capture(int saved, char *log, size_t log_size)
{
	dup2(saved, 2);
	close(saved);
	int fd = open(log_path, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, log, log_size - 1);
	log[n > 0 ? n : 0] = 0;
	if (fd >= 0)
		close(fd);
}

static struct state *reopen_logged(struct replayed *r, char err[STATE_ERROR_MAX], char *log, size_t log_size)
{
	int saved = begin_log_capture();
	struct state *st = reopen(r, err);
	end_log_capture(saved, log, log_size);
	return st;
}

static const char *key_name_of(void *arg, uint16_t owner_key)
{
	(void)arg;
	return owner_key < sizeof key_names / sizeof key_names[0] && owner_key ? key_names[owner_key] : NULL;
}

/* ---- building journals and comparing live sets ---- */

static struct instance_spec make_spec(const char *service, int n)
{
	struct instance_spec s;
	memset(&s, 0, sizeof s);
	snprintf(s.service, sizeof s.service, "%s", service);
	snprintf(s.instance, sizeof s.instance, "i%d", n);
	s.family = n % 2 ? AF_INET6 : AF_INET;
	s.addr[0] = 10;
	s.addr[1] = (uint8_t)(n >> 16);
	s.addr[2] = (uint8_t)(n >> 8);
	s.addr[3] = (uint8_t)n;
	if (s.family == AF_INET6)
		s.addr[15] = 0x99;
	s.port = (uint16_t)(1000 + n % 50000);
	s.priority = (uint16_t)(n % 7);
	s.weight = (uint16_t)(n % 11);
	s.proto = n % 3 ? PROTO_TCP : PROTO_UDP;
	s.txt_len = (uint16_t)(1 + snprintf((char *)s.txt + 1, sizeof s.txt - 1, "n=%d", n));
	s.txt[0] = (uint8_t)(s.txt_len - 1);
	s.expires_ms = 1700000000000 + n;
	s.owner_key = (uint16_t)(n % 3);
	return s;
}

/* Appends a put and applies it to the model, as the server would. */
static int put_both(struct state *st, struct registry *model, const struct instance_spec *spec, int64_t wall_minus_mono)
{
	int rc = state_append_put(st, spec, spec->expires_ms + wall_minus_mono, key_names[spec->owner_key]);
	registry_put(model, spec, NULL);
	return rc;
}

struct comparison {
	const struct registry *got;
	int64_t wall_minus_mono;  /* added to the model's lease ends */
	size_t wanted, mismatched;
};

static void compare_instance(void *arg, struct instance *inst)
{
	struct comparison *c = arg;
	struct instance_spec want, got;
	if (inst->is_static)
		return;
	c->wanted++;
	instance_to_spec(inst, &want);
	if (want.expires_ms)
		want.expires_ms += c->wall_minus_mono;
	struct instance *found = registry_lookup(c->got, want.service, want.instance);
	if (!found) {
		c->mismatched++;
		return;
	}
	instance_to_spec(found, &got);
	if (memcmp(&want, &got, sizeof want) != 0)
		c->mismatched++;
}

/* True when got holds exactly the non-static instances of want, field by field. */
static int same_live_set(const struct registry *got, struct registry *want, int64_t wall_minus_mono)
{
	struct comparison c = { got, wall_minus_mono, 0, 0 };
	registry_foreach(want, compare_instance, &c);
	if (c.mismatched || c.wanted != got->instance_count)
		printf("#   %zu of %zu differ; replayed %zu\n", c.mismatched, c.wanted, got->instance_count);
	return c.mismatched == 0 && c.wanted == got->instance_count;
}

/* ---- files ---- */

static long file_size(const char *name)
{
	struct stat info;
	return stat(name, &info) < 0 ? -1 : (long)info.st_size;
}

static uint8_t *read_whole(const char *name, size_t *len)
{
	FILE *f = fopen(name, "rb");
	uint8_t *data = malloc(64 << 20);
	*len = f && data ? fread(data, 1, 64 << 20, f) : 0;
	if (f)
		fclose(f);
	return data;
}

static void write_whole(const char *name, const uint8_t *data, size_t len)
{
	FILE *f = fopen(name, "wb");
	if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		perror(name);
		exit(2);
	}
}

static void fresh_file(void)
{
	unlink(path);
	unlink(tmp_path);
}

static int count_lines(const char *text)
{
	int n = 0;
	for (; *text; text++)
		n += *text == '\n';
	return n;
}

/* CRC32C bit by bit: an independent check of the table-driven one in state_codec.c. */
static uint32_t slow_crc32c(const uint8_t *data, size_t len)
{
	uint32_t c = 0xFFFFFFFFu;
	for (size_t i = 0; i < len; i++) {
		c ^= data[i];
		for (int bit = 0; bit < 8; bit++)
			c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
	}
	return c ^ 0xFFFFFFFFu;
}

/* Frames a payload as state_codec.c does, so a test can write records state.c never would. */
static size_t frame(uint8_t *rec, const uint8_t *payload, size_t len)
{
	rec[0] = (uint8_t)(len >> 24);
	rec[1] = (uint8_t)(len >> 16);
	rec[2] = (uint8_t)(len >> 8);
	rec[3] = (uint8_t)len;
	memcpy(rec + 4, payload, len);
	uint32_t crc = slow_crc32c(rec, 4 + len);
	for (int i = 0; i < 4; i++)
		rec[4 + len + i] = (uint8_t)(crc >> (24 - 8 * i));
	return 4 + len + 4;
}

/* ---- tests ---- */

static void test_format(struct replayed *r)
{
	static const uint8_t header[] = {
		0x53, 0x56, 0x43, 0x44, 0x4e, 0x53, 0x53, 0x54, 0x00, 0x00, 0x00, 0x01,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x18, 0x75, 0xac, 0xd0, 0x2f,
	};
	static const uint8_t remove_web_a[] = {
		0x00, 0x00, 0x00, 0x07, 0x03, 0x03, 0x77, 0x65, 0x62, 0x01, 0x61, 0xe4, 0x39, 0xcc, 0xe1,
	};
	char err[STATE_ERROR_MAX];
	size_t len;
	fresh_file();
	struct state *st = reopen(r, err);
	ok(st != NULL, "a missing file is created");
	uint8_t *data = read_whole(path, &len);
	ok(len == sizeof header && memcmp(data, header, len) == 0, "a new file is the 24-byte header, byte for byte");
	free(data);
	is_int(state_dirty(st), 0, "a new file is not dirty");
	is_int(state_append_remove(st, "web", "a"), 0, "append REMOVE");
	is_int(state_dirty(st), 1, "an append makes it dirty");
	data = read_whole(path, &len);
	ok(len == sizeof header + sizeof remove_web_a && memcmp(data + sizeof header, remove_web_a, sizeof remove_web_a) == 0,
	   "the REMOVE is on disk at once, byte for byte (length, kind, str8 names, CRC32C)");
	free(data);
	is_int(state_commit(st), 0, "commit");
	is_int(state_dirty(st), 0, "a commit makes it clean");
	state_close(st);
	ok(file_size(tmp_path) < 0, "no temp file is left behind");

	/* An empty file (touch) holds nothing to lose and is taken as new. */
	write_whole(path, (const uint8_t *)"", 0);
	st = reopen(r, err);
	ok(st != NULL, "an empty file opens");
	is_int(file_size(path), sizeof header, "and gets a header");
	state_close(st);
}

static void test_round_trip(struct replayed *r)
{
	char err[STATE_ERROR_MAX];
	struct instance_spec a, b, c;
	fresh_file();
	struct state *st = reopen(r, err);
	memset(&a, 0, sizeof a);
	strcpy(a.service, "web");
	strcpy(a.instance, "a");
	a.family = AF_INET6;
	memcpy(a.addr, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
	a.port = 8080;
	a.priority = 1;
	a.weight = 2;
	a.proto = PROTO_UDP;
	memcpy(a.txt, "\3a=1\3b=2", 8);
	a.txt_len = 8;
	b = make_spec("db", 5);
	b.family = AF_INET;
	b.addr[15] = 0;
	memset(b.txt, 0, sizeof b.txt);
	b.txt_len = 0;
	b.expires_ms = 0;
	c = make_spec("web", 7);
	is_int(state_append_put(st, &a, 1700000000123, "alpha"), 0, "put web/a");
	is_int(state_append_put(st, &b, 0, NULL), 0, "put db/i5 with no lease and no key");
	is_int(state_append_renew(st, "web", "a", 1700000999999), 0, "renew web/a");
	is_int(state_append_put(st, &c, c.expires_ms, "beta"), 0, "put web/i7");
	is_int(state_append_remove(st, "web", "i7"), 0, "remove web/i7");
	is_int(state_commit(st), 0, "commit");
	state_close(st);

	st = reopen(r, err);
	ok(st != NULL, "reopens");
	is_str(r->trace, "P web/a P db/i5 R web/a P web/i7 D web/i7 ", "records come back in order");
	struct instance *got = registry_lookup(&r->reg, "web", "a");
	struct instance_spec spec;
	ok(got != NULL, "web/a is back");
	if (got) {
		instance_to_spec(got, &spec);
		is_int(spec.family, AF_INET6, "family");
		ok(memcmp(spec.addr, a.addr, 16) == 0, "IPv6 address");
		is_int(spec.port, 8080, "port");
		is_int(spec.priority, 1, "priority");
		is_int(spec.weight, 2, "weight");
		is_int(spec.proto, PROTO_UDP, "proto");
		ok(spec.txt_len == 8 && memcmp(spec.txt, a.txt, 8) == 0, "TXT bytes");
		ok(spec.expires_ms == 1700000999999, "lease end is the renewed wall-clock time");
		is_int(spec.owner_key, 1, "key name 'alpha'");
	}
	got = registry_lookup(&r->reg, "db", "i5");
	ok(got != NULL, "db/i5 is back");
	if (got) {
		instance_to_spec(got, &spec);
		b.owner_key = 0;
		ok(memcmp(&spec, &b, sizeof spec) == 0, "db/i5 has every field, no lease, no key");
	}
	ok(registry_lookup(&r->reg, "web", "i7") == NULL, "the removed instance stays removed");
	is_int(state_dirty(st), 0, "a replayed file is clean");

	/* What can never be stored is refused before anything is written. */
	long before = file_size(path);
	struct instance_spec bad = a;
	memset(bad.service, 'x', DNAME_MAX_LABEL + 1);
	errno = 0;
	ok(state_append_put(st, &bad, 1, NULL) == -1 && errno == EINVAL, "an over-long service name is EINVAL");
	bad = a;
	bad.is_static = true;
	ok(state_append_put(st, &bad, 1, NULL) == -1 && errno == EINVAL, "a static instance is never journaled");
	ok(state_append_renew(st, "", "a", 1) == -1 && errno == EINVAL, "an empty service name is EINVAL");
	is_int(file_size(path), before, "nothing was written for them");
	state_close(st);
}

static void test_many_records(struct replayed *r)
{
	enum { PUTS = 100000 };
	char err[STATE_ERROR_MAX];
	struct registry model;
	char service[16];
	int failures = 0;
	registry_init(&model, 1);
	fresh_file();
	struct state *st = reopen(r, err);
	for (int i = 0; i < PUTS; i++) {
		snprintf(service, sizeof service, "svc%d", i % 100);
		struct instance_spec s = make_spec(service, i);
		failures += put_both(st, &model, &s, 0) != 0;
	}
	for (int i = 0; i < PUTS; i += 10) {
		snprintf(service, sizeof service, "svc%d", i % 100);
		char instance[16];
		snprintf(instance, sizeof instance, "i%d", i);
		failures += state_append_remove(st, service, instance) != 0;
		registry_delete(&model, registry_lookup(&model, service, instance));
		snprintf(service, sizeof service, "svc%d", (i + 1) % 100);
		snprintf(instance, sizeof instance, "i%d", i + 1);
		failures += state_append_renew(st, service, instance, 1800000000000 + i) != 0;
		registry_lookup(&model, service, instance)->expires_ms = 1800000000000 + i;
	}
	is_int(failures, 0, "100,000 puts, 10,000 removes and 10,000 renews appended");
	is_int(state_commit(st), 0, "one commit for all of them");
	state_close(st);
	st = reopen(r, err);
	ok(st != NULL, "reopens");
	ok(r->puts == PUTS && r->renews == PUTS / 10 && r->removes == PUTS / 10, "every record replayed once");
	is_int((long)r->reg.instance_count, PUTS - PUTS / 10, "90,000 live instances");
	ok(same_live_set(&r->reg, &model, 0), "the live set matches, field by field");
	state_close(st);
	registry_free(&model);
}

/* Writes puts i0..i(count-1) to a fresh file; starts[i] is where record i begins and
 * starts[count] where the file ends. */
static void write_puts(struct replayed *r, int count, long *starts)
{
	char err[STATE_ERROR_MAX];
	fresh_file();
	struct state *st = reopen(r, err);
	for (int i = 0; i < count; i++) {
		struct instance_spec s = make_spec("web", i);
		starts[i] = file_size(path);
		state_append_put(st, &s, s.expires_ms, key_names[s.owner_key]);
	}
	starts[count] = file_size(path);
	state_commit(st);
	state_close(st);
}

/* Opens a damaged file and checks that exactly `kept` records survive, that the tail
 * was cut at `cut` with one warning, and that appends then continue cleanly. */
static void check_cut(struct replayed *r, size_t kept, long cut, const char *reason, const char *what)
{
	char err[STATE_ERROR_MAX], log[4096], want[64], desc[160];
	struct state *st = reopen_logged(r, err, log, sizeof log);
	snprintf(desc, sizeof desc, "%s: opens", what);
	if (!ok(st != NULL, desc)) {
		printf("#   %s\n", err);
		return;
	}
	snprintf(desc, sizeof desc, "%s: keeps the %zu records before the damage", what, kept);
	is_int((long)r->puts, (long)kept, desc);
	snprintf(desc, sizeof desc, "%s: the damaged tail is cut off", what);
	is_int(file_size(path), cut, desc);
	snprintf(want, sizeof want, "byte %ld ", cut);
	snprintf(desc, sizeof desc, "%s: one warning naming the file, the offset, the count and '%s'",
		 what, reason);
	char kept_text[32];
	snprintf(kept_text, sizeof kept_text, "kept %zu records", kept);
	if (!ok(count_lines(log) == 1 && strstr(log, " warn ") && strstr(log, path) && strstr(log, want) &&
		strstr(log, kept_text) && strstr(log, reason), desc))
		printf("#   log: %s", log);

	state_append_renew(st, "web", "i0", 1900000000000);
	state_commit(st);
	state_close(st);
	st = reopen_logged(r, err, log, sizeof log);
	snprintf(desc, sizeof desc, "%s: an append after the cut replays, with no warning", what);
	ok(st && r->puts == kept && r->renews == 1 && log[0] == 0, desc);
	state_close(st);
}

static void test_truncated_tail(struct replayed *r)
{
	long starts[6];
	size_t len;
	write_puts(r, 5, starts);
	uint8_t *orig = read_whole(path, &len);
	long last = starts[4], last_len = starts[5] - starts[4];
	const long cuts[] = { last + 1, last + 3, last + 4, last + 5, last + last_len / 2, starts[5] - 4, starts[5] - 1 };
	for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
		char what[64];
		write_whole(path, orig, (size_t)cuts[i]);
		snprintf(what, sizeof what, "cut %ld bytes into the last record", cuts[i] - last);
		check_cut(r, 4, last, "cut short", what);
	}
	free(orig);
}

static void test_flipped_byte(struct replayed *r)
{
	long starts[11];
	size_t len;
	write_puts(r, 10, starts);
	uint8_t *orig = read_whole(path, &len);
	const struct { long at; const char *reason, *what; } flips[] = {
		{ starts[5] + 12, "checksum mismatch", "a flipped byte in the payload of record 5" },
		{ starts[5] + 1, "impossible length", "a flipped high byte in the length of record 5" },
		{ starts[5] + 3, "checksum mismatch", "a flipped low byte in the length of record 5" },
		{ starts[6] - 1, "checksum mismatch", "a flipped byte in the checksum of record 5" },
	};
	for (size_t i = 0; i < sizeof flips / sizeof flips[0]; i++) {
		orig[flips[i].at] ^= 0x01;
		write_whole(path, orig, len);
		orig[flips[i].at] ^= 0x01;
		check_cut(r, 5, starts[5], flips[i].reason, flips[i].what);
	}
	free(orig);
}

/* Opens a file that must be refused and checks it was left exactly as it was. */
static void check_refused(struct replayed *r, const uint8_t *data, size_t len, const char *err_part,
			  const char *what)
{
	char err[STATE_ERROR_MAX], desc[160];
	size_t after_len;
	write_whole(path, data, len);
	struct state *st = reopen(r, err);
	snprintf(desc, sizeof desc, "%s: refused", what);
	ok(st == NULL, desc);
	state_close(st);
	snprintf(desc, sizeof desc, "%s: the error names the file and says why", what);
	if (!ok(strncmp(err, path, strlen(path)) == 0 && strstr(err, err_part), desc))
		printf("#   err: %s\n", err);
	uint8_t *after = read_whole(path, &after_len);
	snprintf(desc, sizeof desc, "%s: the file is untouched", what);
	ok(after_len == len && memcmp(after, data, len) == 0, desc);
	free(after);
}

static void test_refused_files(struct replayed *r)
{
	const char *text = "this is not a state file, it is a shopping list\n";
	check_refused(r, (const uint8_t *)text, strlen(text), ": not an svcdns state file", "a text file");
	check_refused(r, (const uint8_t *)"SVCDNS", 6, ": not an svcdns state file", "a file shorter than a header");

	uint8_t header[24] = "SVCDNSST\0\0\0\2\0\0\0\0\0\0\0\x18";
	uint32_t crc = slow_crc32c(header, 20);
	for (int i = 0; i < 4; i++)
		header[20 + i] = (uint8_t)(crc >> (24 - 8 * i));
	check_refused(r, header, sizeof header, "format version 2", "a file of a future version");

	/* Records with a valid checksum whose contents make no sense were written that way:
	 * refuse rather than cut off everything after them. */
	long starts[3];
	size_t len;
	char want[64];
	write_puts(r, 2, starts);
	uint8_t *good = read_whole(path, &len);
	uint8_t *data = malloc(len + 64);
	memcpy(data, good, len);
	size_t n = frame(data + len, (const uint8_t *)"\x09\x03web\x01x", 7);
	snprintf(want, sizeof want, "byte %ld: malformed unknown record", starts[2]);
	check_refused(r, data, len + n, want, "a record of an unknown kind");
	n = frame(data + len, (const uint8_t *)"\x02\x00\x01x\0\0\0\0\0\0\0\1", 12);
	check_refused(r, data, len + n, "malformed RENEW", "a RENEW with an empty service name");
	n = frame(data + len, (const uint8_t *)"\x03\x03web\x01x!", 8);
	check_refused(r, data, len + n, "malformed REMOVE", "a REMOVE with bytes left over");
	free(data);

	/* A callback that refuses a record stops the replay and fails the open. */
	write_whole(path, good, len);
	r->refuse_at = 2;
	snprintf(want, sizeof want, "byte %ld: the PUT record was refused", starts[1]);
	check_refused(r, good, len, want, "a record the server refuses");
	is_int((long)r->puts, 2, "replay stopped at the refused record");
	r->refuse_at = 0;
	free(good);
}

static void test_compaction(struct replayed *r)
{
	enum { COUNT = 1000, RENEWALS = 50 };
	const int64_t wall_minus_mono = 1600000000000;
	char err[STATE_ERROR_MAX], name[16];
	struct registry model;
	int failures = 0;
	registry_init(&model, 1);
	fresh_file();
	struct state *st = reopen(r, err);

	struct instance_spec fixed = make_spec("dns", 0);
	fixed.is_static = true;
	fixed.expires_ms = 0;
	registry_put(&model, &fixed, NULL);
	for (int i = 0; i < COUNT; i++) {
		struct instance_spec s = make_spec(i % 2 ? "web" : "db", i);
		s.expires_ms = 100000 + i;  /* monotonic in the model */
		if (i % 5 == 1) {
			memset(s.txt, 0, sizeof s.txt);  /* some instances have no TXT at all */
			s.txt_len = 0;
		}
		failures += put_both(st, &model, &s, wall_minus_mono) != 0;
	}
	is_int(state_wants_compaction(st), 0, "a small journal does not want compaction");
	for (int round = 1; round <= RENEWALS; round++) {
		for (int i = 0; i < COUNT; i++) {
			snprintf(name, sizeof name, "i%d", i);
			struct instance *inst = registry_lookup(&model, i % 2 ? "web" : "db", name);
			inst->expires_ms = 100000 + i + round * 1000;
			failures += state_append_renew(st, i % 2 ? "web" : "db", name,
						       inst->expires_ms + wall_minus_mono) != 0;
		}
	}
	for (int i = 0; i < COUNT; i += 2) {
		snprintf(name, sizeof name, "i%d", i);
		failures += state_append_remove(st, "db", name) != 0;
		registry_delete(&model, registry_lookup(&model, "db", name));
	}
	is_int(failures, 0, "1,000 puts, 50,000 renews and 500 removes appended");
	is_int(state_wants_compaction(st), 1, "a journal over 1 MiB and twice the live set wants compaction");
	is_int(state_dirty(st), 1, "dirty before compaction");

	long before = file_size(path);
	struct stat old_inode, new_inode;
	stat(path, &old_inode);
	is_int(state_compact(st, &model, wall_minus_mono, key_name_of, NULL), 0, "compaction succeeds");
	long after = file_size(path);
	stat(path, &new_inode);
	ok(after > 0 && after < before / 10, "the compacted file is much smaller");
	ok(old_inode.st_ino != new_inode.st_ino, "it is a new file renamed over the old one");
	ok(file_size(tmp_path) < 0, "no temp file is left behind");
	is_int(state_dirty(st), 0, "compaction made everything durable");
	is_int(state_wants_compaction(st), 0, "and compaction is no longer wanted");

	struct instance_spec extra = make_spec("web", 5000);
	is_int(put_both(st, &model, &extra, wall_minus_mono), 0, "appends continue after compaction");
	ok(file_size(path) > after, "into the new file, which grows");
	state_commit(st);
	state_close(st);

	st = reopen(r, err);
	ok(st != NULL, "the compacted file reopens");
	is_int((long)r->puts, COUNT / 2 + 1, "one PUT per live instance, plus the later append");
	ok(r->renews == 0 && r->removes == 0, "no renews or removes survive compaction");
	ok(same_live_set(&r->reg, &model, wall_minus_mono), "same live set, leases in wall-clock time, key names kept");
	ok(registry_lookup(&r->reg, "dns", "i0") == NULL, "static instances are not written");
	state_close(st);
	registry_free(&model);
}

enum { RULE_INSTANCES = 25000 };

/* Renews every instance, round after round, until the journal behind the image is
 * more than `limit` bytes; returns the journal size. */
static long grow_journal(struct state *st, long image, long limit, int *round)
{
	char service[16], instance[16];
	while (file_size(path) - image <= limit) {
		++*round;
		for (int i = 0; i < RULE_INSTANCES; i++) {
			snprintf(service, sizeof service, "svc%d", i % 10);
			snprintf(instance, sizeof instance, "i%d", i);
			state_append_renew(st, service, instance, 1900000000000 + *round);
		}
	}
	return file_size(path) - image;
}

/* The rule: compact when the journal is over 1 MiB and over twice the image, where
 * the image size is remembered in the header across restarts. */
static void test_compaction_rule(struct replayed *r)
{
	char err[STATE_ERROR_MAX], service[16];
	int round = 0;
	fresh_file();
	struct state *st = reopen(r, err);
	for (int i = 0; i < RULE_INSTANCES; i++) {
		snprintf(service, sizeof service, "svc%d", i % 10);
		struct instance_spec s = make_spec(service, i);
		state_append_put(st, &s, s.expires_ms, NULL);
	}
	state_close(st);
	st = reopen(r, err);
	is_int(state_compact(st, &r->reg, 0, key_name_of, NULL), 0, "compact 25,000 instances");
	long image = file_size(path);
	ok(image > 1024 * 1024, "into an image over 1 MiB");

	long journal = grow_journal(st, image, 1024 * 1024, &round);
	ok(journal < 2 * image, "a journal over 1 MiB but under twice the image...");
	is_int(state_wants_compaction(st), 0, "...does not want compaction");
	state_close(st);
	st = reopen(r, err);
	is_int(state_wants_compaction(st), 0, "nor after a restart: the image size is in the header");
	grow_journal(st, image, 2 * image, &round);
	is_int(state_wants_compaction(st), 1, "over twice the image, it does");
	state_close(st);
}

/* A regular file that stops growing (RLIMIT_FSIZE): the append is torn part way,
 * fails, and the torn bytes are cut off so later appends follow the last good record. */
static void test_file_size_limit(struct replayed *r)
{
	char err[STATE_ERROR_MAX], log[4096];
	struct rlimit old_limit, limit;
	fresh_file();
	struct state *st = reopen(r, err);
	struct instance_spec a = make_spec("web", 1), b = make_spec("web", 2);
	state_append_put(st, &a, a.expires_ms, NULL);
	state_commit(st);
	long size = file_size(path);

	signal(SIGXFSZ, SIG_IGN);
	getrlimit(RLIMIT_FSIZE, &old_limit);
	limit = old_limit;
	limit.rlim_cur = (rlim_t)size + 10;
	if (setrlimit(RLIMIT_FSIZE, &limit) < 0)
		perror("setrlimit");
	errno = 0;
	int rc = state_append_put(st, &b, b.expires_ms, NULL);
	int saved = errno;
	setrlimit(RLIMIT_FSIZE, &old_limit);
	is_int(rc, -1, "an append past the file size limit fails");
	is_int(saved, EFBIG, "with errno EFBIG");
	is_int(file_size(path), size, "the torn part of the record is cut off");
	is_int(state_dirty(st), 0, "a failed append does not make the state dirty");

	is_int(state_append_put(st, &b, b.expires_ms, NULL), 0, "the next append succeeds once there is room");
	is_int(state_commit(st), 0, "and commits");
	state_close(st);
	st = reopen_logged(r, err, log, sizeof log);
	ok(st && r->puts == 2 && log[0] == 0, "both records replay, with no damage reported");
	state_close(st);
}

/* A device that fails every write (/dev/full put behind the state's descriptor): the
 * torn append cannot be cut off, so the state refuses everything until compaction. */
static void test_dead_device(struct replayed *r)
{
	char err[STATE_ERROR_MAX], link[300], name[64], log[4096];
	struct registry model;
	registry_init(&model, 1);
	fresh_file();
	struct state *st = reopen(r, err);
	struct instance_spec a = make_spec("web", 1), b = make_spec("web", 2), c = make_spec("web", 3);
	struct instance_spec lost = make_spec("web", 4);
	put_both(st, &model, &a, 0);
	state_commit(st);
	put_both(st, &model, &b, 0);  /* appended, not yet committed */

	int state_fd = -1;
	for (int fd = 3; fd < 1024 && state_fd < 0; fd++) {
		snprintf(name, sizeof name, "/proc/self/fd/%d", fd);
		ssize_t n = readlink(name, link, sizeof link - 1);
		if (n > 0) {
			link[n] = 0;
			if (strcmp(link, path) == 0)
				state_fd = fd;
		}
	}
	int full = open("/dev/full", O_WRONLY);
	ok(state_fd >= 0 && full >= 0 && dup2(full, state_fd) == state_fd, "/dev/full is behind the state");
	close(full);

	int saved = begin_log_capture();
	errno = 0;
	int rc = state_append_put(st, &lost, lost.expires_ms, NULL);
	int append_errno = errno;
	int next_rc = state_append_renew(st, "web", "i1", 1);
	int commit_rc = state_commit(st);
	end_log_capture(saved, log, sizeof log);
	is_int(rc, -1, "an append to a full device fails");
	is_int(append_errno, ENOSPC, "with errno ENOSPC");
	is_int(next_rc, -1, "so does the next: the torn record could not be cut off");
	is_int(commit_rc, -1, "commit fails too");
	is_int(state_dirty(st), 0, "and leaves nothing for a retry: the next step is compaction");
	if (!ok(count_lines(log) == 1 && strstr(log, " error ") && strstr(log, path) &&
		strstr(log, "until a compaction"), "one error line says the state refuses changes until compaction"))
		printf("#   log: %s", log);
	is_int(state_wants_compaction(st), 1, "a broken state wants compaction");
	is_int(state_compact(st, &model, 0, key_name_of, NULL), 0, "compaction writes a new file");
	is_int(put_both(st, &model, &c, 0), 0, "appends work again");
	is_int(state_commit(st), 0, "and commit");
	state_close(st);
	st = reopen(r, err);
	ok(st && same_live_set(&r->reg, &model, 0), "the state holds what the registry held, plus the later append");
	state_close(st);
	registry_free(&model);
}

/* Things that are not a state file, and links on the way to one. */
static void test_paths(struct replayed *r)
{
	char err[STATE_ERROR_MAX], fifo[300], link_path[300], victim[300];
	struct state_replay_ops ops = { replay_put, replay_renew, replay_remove, r, NULL };
	snprintf(fifo, sizeof fifo, "%s/fifo", dir);
	mkfifo(fifo, 0600);
	struct state *st = state_open(fifo, &ops, err);
	ok(st == NULL && strstr(err, "not a regular file"), "a FIFO is refused, not replaced");
	state_close(st);
	struct stat info;
	ok(stat(fifo, &info) == 0 && S_ISFIFO(info.st_mode), "and stays a FIFO");
	unlink(fifo);

	/* Through a symbolic link, compaction must replace the file, not the link. */
	snprintf(link_path, sizeof link_path, "%s/link", dir);
	fresh_file();
	symlink(path, link_path);
	replayed_reset(r);
	st = state_open(link_path, &ops, err);
	ok(st != NULL, "opens through a symbolic link");
	if (st) {
		struct instance_spec s = make_spec("web", 1);
		state_append_put(st, &s, s.expires_ms, NULL);
		registry_put(&r->reg, &s, NULL);
		is_int(state_compact(st, &r->reg, 0, key_name_of, NULL), 0, "compacts through it");
		state_close(st);
	}
	ok(lstat(link_path, &info) == 0 && S_ISLNK(info.st_mode), "the link is still a link");
	ok(file_size(path) > 24, "and the file it points to holds the image");
	unlink(link_path);

	/* A temp file left behind, even a link planted there, is replaced, never written through. */
	snprintf(victim, sizeof victim, "%s/victim", dir);
	write_whole(victim, (const uint8_t *)"precious", 8);
	symlink(victim, tmp_path);
	st = reopen(r, err);
	is_int(r->reg.instance_count, 1, "the compacted file replays");
	is_int(state_compact(st, &r->reg, 0, key_name_of, NULL), 0, "compaction with a link at the temp path");
	state_close(st);
	is_int(file_size(victim), 8, "leaves the file behind the link alone");
	ok(lstat(tmp_path, &info) < 0, "and the link is gone");
	unlink(victim);
}

static void test_lock(struct replayed *r)
{
	char err[STATE_ERROR_MAX];
	struct replayed other = { 0 };
	registry_init(&other.reg, 1);
	fresh_file();
	struct state *st = reopen(r, err);
	struct state *second = reopen(&other, err);
	ok(st && second == NULL, "a second open of the same file is refused");
	ok(strstr(err, "in use") != NULL, "because the file is in use");
	state_close(second);
	state_close(st);
	second = reopen(&other, err);
	ok(second != NULL, "after the first closes, it opens");
	state_close(second);
	registry_free(&other.reg);
}

/* Waits (up to 10 s) for a background compaction to end; returns what the last poll said. */
static int finish_background(struct state *st)
{
	int rc = 0;
	for (int i = 0; i < 10000 && state_compacting(st); i++) {
		rc = state_compact_poll(st);
		if (rc != 0)
			break;
		usleep(1000);
	}
	return rc;
}

/* Compaction in a child: the child writes its snapshot, the parent goes on appending
 * and committing to the old file, and the new file gets the changes since the fork. */
static void test_background_compaction(struct replayed *r)
{
	enum { COUNT = 2000 };
	const int64_t wall_minus_mono = 1600000000000;
	char err[STATE_ERROR_MAX];
	struct registry model;
	int failures = 0;
	registry_init(&model, 1);
	fresh_file();
	struct state *st = reopen(r, err);
	for (int i = 0; i < COUNT; i++) {
		struct instance_spec s = make_spec(i % 2 ? "web" : "db", i);
		s.expires_ms = 100000 + i;
		failures += put_both(st, &model, &s, wall_minus_mono) != 0;
	}
	for (int i = 0; i < COUNT; i++) {
		char name[16];
		snprintf(name, sizeof name, "i%d", i);
		registry_lookup(&model, i % 2 ? "web" : "db", name)->expires_ms = 200000 + i;
		failures += state_append_renew(st, i % 2 ? "web" : "db", name, 200000 + i + wall_minus_mono) != 0;
	}
	is_int(failures, 0, "2,000 puts and 2,000 renews appended");
	is_int(state_commit(st), 0, "and committed");
	is_int(state_compact_poll(st), 0, "no background compaction to finish yet");

	long before = file_size(path);
	struct stat old_inode, new_inode;
	stat(path, &old_inode);
	is_int(state_compact_start(st, &model, wall_minus_mono, key_name_of, NULL), 0, "a child starts the compaction");
	is_int(state_compacting(st), 1, "it runs");
	is_int(state_wants_compaction(st), 0, "and no second one is wanted meanwhile");
	is_int(state_compact_start(st, &model, wall_minus_mono, key_name_of, NULL), 0, "starting again is harmless");

	/* Changes after the fork: the child's snapshot has none of them. */
	struct instance_spec late = make_spec("web", 9001);
	is_int(put_both(st, &model, &late, wall_minus_mono), 0, "a put while the child runs");
	is_int(state_append_remove(st, "db", "i0"), 0, "a remove while the child runs");
	registry_delete(&model, registry_lookup(&model, "db", "i0"));
	struct instance *renewed = registry_lookup(&model, "web", "i1");
	renewed->expires_ms = 777777;
	is_int(state_append_renew(st, "web", "i1", 777777 + wall_minus_mono), 0, "a renew while the child runs");
	is_int(state_commit(st), 0, "committed to the old file while the child runs");
	stat(path, &new_inode);
	ok(old_inode.st_ino == new_inode.st_ino, "the old file is still the state file");

	is_int(finish_background(st), 1, "the compaction finishes");
	is_int(state_compacting(st), 0, "and no child is left");
	stat(path, &new_inode);
	ok(old_inode.st_ino != new_inode.st_ino, "a new file is renamed over the old one");
	ok(file_size(path) < before, "smaller than the old one");
	ok(file_size(tmp_path) < 0, "no temp file is left behind");
	is_int(state_dirty(st), 0, "everything in it is durable");
	struct instance_spec after = make_spec("db", 9002);
	is_int(put_both(st, &model, &after, wall_minus_mono), 0, "appends go on into the new file");
	is_int(state_commit(st), 0, "and commit");
	state_close(st);

	st = reopen(r, err);
	ok(st != NULL, "the new file reopens");
	is_int((long)r->puts, COUNT + 2, "the image's puts, then the one since the fork and the one after");
	ok(r->renews == 1 && r->removes == 1, "the renew and the remove since the fork come after the image");
	ok(same_live_set(&r->reg, &model, wall_minus_mono), "same live set as the parent's registry");

	/* A close while a child runs abandons it: the old file stays whole. */
	stat(path, &old_inode);
	is_int(state_compact_start(st, &r->reg, 0, key_name_of, NULL), 0, "another child starts");
	state_close(st);
	stat(path, &new_inode);
	ok(old_inode.st_ino == new_inode.st_ino && file_size(tmp_path) < 0,
	   "closing ends it: the old file stays, no temp file is left");
	st = reopen(r, err);
	ok(st != NULL && same_live_set(&r->reg, &model, wall_minus_mono), "and it replays as before");

	/* A synchronous compaction while a child runs replaces the child's work. */
	is_int(state_compact_start(st, &r->reg, 0, key_name_of, NULL), 0, "a child starts");
	is_int(state_compact(st, &r->reg, 0, key_name_of, NULL), 0, "a compaction in the loop meanwhile");
	is_int(state_compacting(st), 0, "ends the child");
	ok(file_size(tmp_path) < 0, "and leaves no temp file");
	state_close(st);
	registry_free(&model);
}

int main(void)
{
	struct replayed r = { 0 };
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 2;
	}
	snprintf(path, sizeof path, "%s/state", dir);
	snprintf(tmp_path, sizeof tmp_path, "%s/state.tmp", dir);
	snprintf(log_path, sizeof log_path, "%s/log", dir);
	log_set_level(LOG_WARN);
	registry_init(&r.reg, 1);

	test_format(&r);
	test_round_trip(&r);
	test_many_records(&r);
	test_truncated_tail(&r);
	test_flipped_byte(&r);
	test_refused_files(&r);
	test_compaction(&r);
	test_compaction_rule(&r);
	test_background_compaction(&r);
	test_file_size_limit(&r);
	test_dead_device(&r);
	test_paths(&r);
	test_lock(&r);

	registry_free(&r.reg);
	unlink(path);
	unlink(tmp_path);
	unlink(log_path);
	rmdir(dir);
	return done_testing();
}

/* Unit tests for serial.c (RFC 1982, the time scheme) and zone_journal.c (versions,
 * trimming by count and bytes, condensing). */
#include "serial.h"
#include "tap.h"
#include "zone_journal.h"

static const uint8_t OWNER_A[] = "\1a\3svc\10internal";
static const uint8_t OWNER_B[] = "\1b\3svc\10internal";

static struct zone_rr rr_a(const uint8_t *owner, uint8_t last_octet)
{
	static uint8_t addrs[256][4];
	addrs[last_octet][0] = 10;
	addrs[last_octet][3] = last_octet;
	return (struct zone_rr){ owner, 1, 0, addrs[last_octet], 4 };
}

static void change(struct zone_journal *j, int added, const uint8_t *owner, uint8_t octet)
{
	struct zone_rr rr = rr_a(owner, octet);
	zone_journal_record(j, added, &rr);
}

/* "-a.10 +b.11": the diff's records, removals first, by owner's first label and octet. */
static const char *diff_text(const struct zone_diff *d, char *out)
{
	const struct rr_buffer *parts[2] = { &d->removed, &d->added };
	out[0] = 0;
	for (int i = 0; i < 2; i++) {
		size_t pos = 0;
		struct zone_rr rr;
		while (rr_buffer_next(parts[i], &pos, &rr))
			sprintf(out + strlen(out), "%s%c%c.%u", out[0] ? " " : "", i ? '+' : '-',
				rr.owner[1], rr.rdata[3]);
	}
	return out;
}

static void test_serials(void)
{
	ok(serial_before(1, 2), "1 before 2");
	ok(!serial_before(2, 1), "2 not before 1");
	ok(!serial_before(7, 7), "a serial is not before itself");
	ok(serial_before(0xfffffff0u, 5), "wrap: 2^32-16 before 5 (RFC 1982)");
	ok(!serial_before(5, 0xfffffff0u), "wrap: 5 not before 2^32-16");
	ok(serial_before(0, 0x7fffffffu), "2^31-1 ahead is after");
	ok(!serial_before(0, 0x80000000u) && !serial_before(0x80000000u, 0), "2^31 apart: unordered");
	is_int(serial_from_time(1796298275123), (long)(17962982751ull % 4294967296ull), "tenths of a second, mod 2^32");
	is_int(serial_next(100, 50 * 100), 101, "a clock behind the serial: previous + 1");
	is_int(serial_next(100, 500 * 100), 500, "a clock ahead: the time's serial");
	is_int(serial_next(0xffffffffu, 0), 0, "previous + 1 wraps to 0");
	ok(serial_before(0xffffffffu, serial_next(0xffffffffu, 0)), "... and still comes after");
}

static void test_condensing(void)
{
	struct zone_journal j;
	struct zone_diff d;
	char text[512];
	zone_journal_init(&j, 100, 1 << 20, 1 << 20);
	change(&j, 1, OWNER_A, 1);
	change(&j, 0, OWNER_A, 1);
	ok(zone_journal_pending(&j), "changes are pending before a commit");
	is_int(zone_journal_commit(&j, 10, 11), 0, "an add and its removal cancel out: no version");
	is_int(zone_journal_diff(&j, 10, &d), -1, "... so serial 10 is not in the journal");

	change(&j, 1, OWNER_A, 1);
	is_int(zone_journal_commit(&j, 10, 11), 1, "version 10 -> 11: +a.1");
	change(&j, 0, OWNER_A, 1);     /* replace a.1 by a.2 */
	change(&j, 1, OWNER_A, 2);
	change(&j, 1, OWNER_B, 3);
	is_int(zone_journal_commit(&j, 11, 12), 1, "version 11 -> 12: -a.1 +a.2 +b.3");
	change(&j, 0, OWNER_B, 3);
	is_int(zone_journal_commit(&j, 12, 13), 1, "version 12 -> 13: -b.3");

	is_int(zone_journal_diff(&j, 12, &d), 0, "diff from 12");
	size_t pos = 0;
	struct zone_rr read = { .ttl = 12345 };
	ok(rr_buffer_next(&d.removed, &pos, &read) && read.ttl == 0,
	   "a journal record has no TTL of its own (the transfer gives it the answer TTL)");
	is_str(diff_text(&d, text), "-b.3", "from 12: the one removal");
	zone_diff_free(&d);
	is_int(zone_journal_diff(&j, 11, &d), 0, "diff from 11");
	is_str(diff_text(&d, text), "-a.1 +a.2", "from 11: b.3 came and went, so only the replacement is left");
	zone_diff_free(&d);
	is_int(zone_journal_diff(&j, 10, &d), 0, "diff from 10");
	is_str(diff_text(&d, text), "+a.2", "from 10: a.1 added then removed is nothing; a.2 added");
	zone_diff_free(&d);
	is_int(zone_journal_diff(&j, 9, &d), -1, "a serial never in the journal: full transfer");

	zone_journal_mark(&j, 13, 20);   /* etcd moved from revision 13 to 20 without a change */
	is_int(zone_journal_diff(&j, 13, &d), 0, "a version that changes no record: diff from 13");
	is_str(diff_text(&d, text), "", "from 13: nothing but the serial");
	zone_diff_free(&d);
	is_int(zone_journal_diff(&j, 12, &d), 0, "and the versions before it still diff");
	is_str(diff_text(&d, text), "-b.3", "from 12 through the empty one: the one removal");
	zone_diff_free(&d);
	zone_journal_free(&j);
}

static void test_trimming(void)
{
	struct zone_journal j;
	struct zone_diff d;
	zone_journal_init(&j, 3, 1 << 20, 1 << 20);
	for (uint32_t s = 1; s <= 5; s++) {
		change(&j, 1, OWNER_A, (uint8_t)s);
		zone_journal_commit(&j, s, s + 1);
	}
	is_int((long)j.version_count, 3, "versions: 5 committed, the newest 3 kept");
	is_int(zone_journal_diff(&j, 2, &d), -1, "the oldest trimmed version's serial is gone");
	is_int(zone_journal_diff(&j, 3, &d), 0, "the oldest kept version's serial is there");
	is_int((long)d.added.count, 3, "... with the three additions since");
	zone_diff_free(&d);
	zone_journal_free(&j);

	/* One A record takes 1 + 16 + 4 + 4 = 25 bytes. */
	zone_journal_init(&j, 100, 60, 1 << 20);
	for (uint32_t s = 1; s <= 4; s++) {
		change(&j, 1, OWNER_A, (uint8_t)s);
		zone_journal_commit(&j, s, s + 1);
	}
	is_int((long)j.version_count, 2, "bytes: 4 versions of 25 bytes under a 60-byte limit: 2 kept");
	ok(j.bytes <= 60, "the journal stays within its bytes");
	change(&j, 1, OWNER_A, 10);
	change(&j, 1, OWNER_A, 11);
	change(&j, 1, OWNER_A, 12);
	zone_journal_commit(&j, 5, 6);
	is_int((long)j.version_count, 0, "a version larger than the limit by itself is not kept");
	is_int(zone_journal_diff(&j, 5, &d), -1, "... so its serial gets a full transfer");
	zone_journal_free(&j);
}

static void test_pending_limit(void)
{
	struct zone_journal j;
	struct zone_diff d;
	zone_journal_init(&j, 100, 1 << 20, 1000);
	change(&j, 1, OWNER_A, 1);
	is_int(zone_journal_commit(&j, 1, 2), 1, "a small version is kept");
	for (int i = 0; i < 100; i++)
		change(&j, 1, OWNER_B, (uint8_t)i);
	is_int((long)j.pending.count, 0, "changes past max_pending are not kept");
	is_int(zone_journal_commit(&j, 2, 3), 1, "... and still make a version");
	is_int(zone_journal_diff(&j, 1, &d), -1, "... whose history is gone: full transfers from before it");
	change(&j, 1, OWNER_A, 9);
	zone_journal_commit(&j, 3, 4);
	is_int(zone_journal_diff(&j, 3, &d), 0, "the history starts again at the next version");
	zone_diff_free(&d);
	zone_journal_free(&j);

	zone_journal_init(&j, 0, 1 << 20, 1 << 20);
	change(&j, 1, OWNER_A, 1);
	is_int((long)j.pending.count, 0, "no versions kept: no change is recorded at all");
	is_int(zone_journal_commit(&j, 1, 2), 1, "... yet each commit is a new version");
	zone_journal_free(&j);
}

int main(void)
{
	test_pending_limit();
	test_serials();
	test_condensing();
	test_trimming();
	return done_testing();
}

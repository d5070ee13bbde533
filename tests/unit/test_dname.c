/* Unit tests for dname.c: name validation, parsing, comparison. */
#include "dname.h"
#include "tap.h"

int main(void)
{
	uint8_t wire[DNAME_MAX_WIRE];
	char text[DNAME_MAX_TEXT];

	ok(label_is_ldh("db", 2), "short LDH label");
	ok(label_is_ldh("user-service", 12), "inner hyphen");
	ok(label_is_ldh("a1", 2) && label_is_ldh("9x", 2), "digits anywhere");
	ok(!label_is_ldh("-db", 3), "leading hyphen refused");
	ok(!label_is_ldh("db-", 3), "trailing hyphen refused");
	ok(!label_is_ldh("db_1", 4), "underscore refused");
	ok(!label_is_ldh("", 0), "empty label refused");
	char long_label[65];
	memset(long_label, 'a', 64);
	long_label[64] = 0;
	ok(label_is_ldh(long_label, 63), "63 characters allowed");
	ok(!label_is_ldh(long_label, 64), "64 characters refused");

	size_t len = dname_from_text("Svc.Internal", wire);
	is_int((long)len, 14, "wire length of svc.internal");
	ok(memcmp(wire, "\3svc\10internal", 14) == 0, "parsed lowercase wire form");
	is_int((long)dname_from_text("svc.internal.", wire), 14, "trailing dot accepted");
	is_int((long)dname_from_text(".", wire), 1, "root");
	is_int((long)dname_from_text("a..b", wire), 0, "empty label refused");
	is_int((long)dname_from_text("a b.c", wire), 0, "space refused");
	dname_from_text("db-1.db.svc.internal", wire);
	is_str(dname_to_text(wire, text), "db-1.db.svc.internal.", "printed back");
	is_int(dname_label_count(wire), 4, "label count");
	ok(dname_is_ldh(wire), "all labels LDH");
	dname_from_text("_db._tcp.svc.internal", wire);
	ok(!dname_is_ldh(wire), "underscore names are not LDH");

	uint8_t parent[DNAME_MAX_WIRE], name[DNAME_MAX_WIRE];
	size_t plen = dname_from_text("svc.internal", parent);
	size_t nlen = dname_from_text("db.svc.internal", name);
	is_int(dname_suffix_offset(name, nlen, parent, plen), 3, "suffix offset at a label boundary");
	nlen = dname_from_text("xsvc.internal", name);
	is_int(dname_suffix_offset(name, nlen, parent, plen), -1, "no match inside a label");
	ok(dname_is_subdomain(parent, parent), "a name is a subdomain of itself");

	/* A question name in a packet: lowercased, bounded, no pointers. */
	const uint8_t pkt[] = "\2Db\3SVC\10internal\0";
	size_t off = 0;
	is_int((long)dname_read_question(pkt, sizeof pkt - 1, &off, wire), 17, "question name read");
	ok(memcmp(wire, "\2db\3svc\10internal", 17) == 0, "question name lowercased");
	const uint8_t ptr[] = "\xc0\x0c";
	off = 0;
	is_int((long)dname_read_question(ptr, 2, &off, wire), 0, "compression pointer in question refused");
	const uint8_t cut[] = "\5ab";
	off = 0;
	is_int((long)dname_read_question(cut, 3, &off, wire), 0, "label past the end refused");
	const uint8_t loop[] = "\1a\xc0\x00";
	off = 0;
	ok(dname_skip(loop, 4, &off) == 0 && off == 4, "skip stops at a pointer without following it");

	/* dname_read: pointers followed backwards only, case kept, *off past the pointer. */
	const uint8_t msg[] = "\3Key\0\1x\xc0\x00";
	off = 5;
	is_int((long)dname_read(msg, 9, &off, wire), 7, "compressed name read whole");
	ok(memcmp(wire, "\1x\3Key", 7) == 0 && off == 9, "letter case kept, offset past the pointer");
	off = 2;
	is_int((long)dname_read(loop, 4, &off, wire), 0, "a pointer to itself refused");
	const uint8_t forward[] = "\xc0\x02\1a\0";
	off = 0;
	is_int((long)dname_read(forward, 5, &off, wire), 0, "a pointer forwards refused");
	const uint8_t chain[] = "\1a\0\xc0\x00\xc0\x03";
	off = 5;
	is_int((long)dname_read(chain, 7, &off, wire), 3, "a chain of backward pointers followed");
	ok(off == 7, "... and the offset is past the first pointer");
	return done_testing();
}

#!/usr/bin/env bash
# Static zones from zones/*.zone: any record type as written, CNAMEs followed within our
# zones, the service domain's own zone merged with the registry, load errors with file:line.
. "$(dirname "$0")/../lib.sh"

Z=$WORK/zones
mkdir -p "$Z"
cat >"$Z/example.com.zone" <<'ZONE'
$ORIGIN example.com.
$TTL 300
@       IN SOA ns1.example.com. admin.example.com. 42 3600 600 86400 60
@       IN NS  ns1
@       IN MX  10 mail
ns1     IN A   192.0.2.1
mail    IN A   192.0.2.25
mail    IN AAAA 2001:db8::25
www     IN CNAME web
web     IN A   192.0.2.10
alias   IN CNAME db.svc.internal.
away    IN CNAME elsewhere.example.org.
loop1   IN CNAME loop2
loop2   IN CNAME loop1
a.b.c   IN TXT "deep"
_ldap._tcp IN SRV 0 0 389 ldap
ldap    IN A 192.0.2.30
ZONE
cat >"$Z/svc.internal.zone" <<'ZONE'
$ORIGIN svc.internal.
$TTL 60
legacy  IN A   10.1.1.1
db      IN TXT "static note"
ZONE
cat >"$WORK/svcdns.yml" <<'YML'
services:
  - { service: db, instance: db-1, address: 10.0.0.5, port: 5432 }
YML

start_server --config "$WORK/svcdns.yml" --zones "$Z" || exit 1

is "$(qs web.example.com A)" "192.0.2.10" "static A"
is "$(qs example.com MX)" "10 mail.example.com." "static MX served as written"
is "$(qs mail.example.com AAAA)" "2001:db8::25" "static AAAA"
is "$(qs _ldap._tcp.example.com SRV)" "0 0 389 ldap.example.com." "static SRV"
like "$(q www.example.com A)" $'www.example.com.[[:space:]]+300[[:space:]]+IN[[:space:]]+CNAME[[:space:]]+web.example.com.\nweb.example.com.[[:space:]]+300[[:space:]]+IN[[:space:]]+A[[:space:]]+192.0.2.10' "CNAME followed within the zone"
out=$(q alias.example.com A)
like "$out" "alias.example.com.[[:space:]]+300[[:space:]]+IN[[:space:]]+CNAME[[:space:]]+db.svc.internal." "CNAME into the service domain"
like "$out" "db.svc.internal.[[:space:]]+5[[:space:]]+IN[[:space:]]+A[[:space:]]+10.0.0.5" "... followed to the registered instance"
out=$(q away.example.com A)
like "$out" "status: NOERROR" "CNAME out of our zones: NOERROR"
like "$out" "ANSWER: 1," "CNAME out of our zones: the CNAME alone"
out=$(q loop1.example.com A)
like "$out" "status: NOERROR" "a CNAME loop ends (bounded chain)"
is "$(qs www.example.com CNAME)" "web.example.com." "CNAME query returns the CNAME itself"
out=$(q nosuch.example.com A)
like "$out" "status: NXDOMAIN" "static zone NXDOMAIN"
like "$out" "example.com.[[:space:]]+60[[:space:]]+IN[[:space:]]+SOA[[:space:]]+ns1.example.com." "NXDOMAIN carries the zone's SOA, TTL min(SOA TTL, minimum)"
out=$(q web.example.com AAAA)
like "$out" "status: NOERROR" "static NODATA rcode"
like "$out" "ANSWER: 0, AUTHORITY: 1" "static NODATA with SOA"
out=$(q b.c.example.com A)
like "$out" "status: NOERROR" "static empty non-terminal: NOERROR"
like "$(q +norec example.com SOA)" "flags: qr aa;" "static zone answers are authoritative"

# The service domain's own zone file merges with the registry.
is "$(qs legacy.svc.internal A)" "10.1.1.1" "static record inside the service domain"
is "$(qs db.svc.internal A)" "10.0.0.5" "registered service beside static records"
is "$(qs db.svc.internal TXT)" '"static note"' "static TXT on a service name merges with its A"
like "$(qs svc.internal SOA)" "^ns.svc.internal. hostmaster.svc.internal." "service domain SOA still comes from config"
stop_server

# Load errors stop start-up with file:line: reason.
bad=$WORK/bad; mkdir -p "$bad"
expect_load_error() {  # description, zone file text, expected message regex
	rm -f "$bad"/*.zone
	printf '%s\n' "$2" >"$bad/example.net.zone"
	local out rc
	out=$("$SVCDNS_BIN" --dns 127.0.0.1:1 --zones "$bad" --check-config 2>&1); rc=$?
	is "$rc" "2" "$1: exit status 2"
	like "$out" "$3" "$1: message names file and line"
}
SOA='@ IN SOA ns.example.net. admin.example.net. 1 3600 600 86400 60'
expect_load_error "syntax error" "$(printf '$ORIGIN example.net.\n%s\nwww IN A 300.1.2.3\n' "$SOA")" "example.net.zone:3: "
expect_load_error "wildcard" "$(printf '$ORIGIN example.net.\n%s\n*.x IN A 1.2.3.4\n' "$SOA")" "example.net.zone:3: wildcard records are not supported"
expect_load_error "delegation" "$(printf '$ORIGIN example.net.\n%s\nsub IN NS ns.other.\n' "$SOA")" "example.net.zone:3: delegations"
expect_load_error "missing SOA" "$(printf '$ORIGIN example.net.\nwww IN A 1.2.3.4\n')" "example.net.zone:1: no SOA"
expect_load_error "CNAME and other data" "$(printf '$ORIGIN example.net.\n%s\nw IN CNAME x\nw IN A 1.2.3.4\n' "$SOA")" "example.net.zone:4: a CNAME cannot have other data"
expect_load_error "out of zone" "$(printf '$ORIGIN example.net.\n%s\nwww.example.org. IN A 1.2.3.4\n' "$SOA")" "example.net.zone:3: owner is outside the zone"
out=$("$SVCDNS_BIN" --dns 127.0.0.1:1 --zones "$bad" 2>&1); rc=$?
is "$rc" "2" "a bad zone stops start-up with status 2"
like "$out" "example.net.zone:3:" "start-up error names the zone file and line"

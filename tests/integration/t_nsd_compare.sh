#!/usr/bin/env bash
# t_nsd_compare.sh -- svcdns against NSD on the same data (issue 17): a static zone with
# glue, MX, SRV, TXT, CNAME chains and loops, empty non-terminals, several records per
# RRset and mixed-case names, plus the service domain's zone file and static instances
# (NSD gets their records as plain zone data).  tests/tools/dns_compare.py sends both
# servers the same ~1,300 seeded queries (every name with 15 query types, 0x20 case,
# with and without EDNS and DO, UDP and TCP, and hand-made specials: flags, broken
# OPTs, other opcodes and classes, meta types, zone transfers, TSIG, truncation) and
# compares rcode, flags, the question, the answer set, the SOA in authority, the
# additional addresses of NS/MX/SRV targets, OPT and DO.  The README's documented
# design differences are the only exceptions (DESIGN_DIFFERENCES in the tool, one
# comment each); any other difference fails the test, printed with the query and both
# replies (COMPARE_SHOW=N: full replies for N mismatches of each kind, -1 for all).
. "$(dirname "$0")/../lib.sh"

PY=/usr/bin/python3
COMPARE=$TESTS_DIR/tools/dns_compare.py
if ! command -v nsd >/dev/null || ! $PY -c 'import dns.zone' 2>/dev/null; then
	ok 1 "nsd and python3-dnspython are installed (scripts/install-deps test)"
	exit 1
fi

# ---- the data -----------------------------------------------------------------------
Z=$WORK/zones
mkdir -p "$Z" "$WORK/nsd"
s250() { printf "$1%.0s" $(seq 1 250); }
cat >"$Z/zf.internal.zone" <<ZONE
\$ORIGIN zf.internal.
\$TTL 300
@          IN SOA   ns1.zf.internal. hostmaster.zf.internal. 2024010101 3600 600 86400 60
@          IN NS    ns1
@          IN NS    NS2.zf.internal.
@          IN MX    10 mail
@          IN MX    20 Mail2
@          IN TXT   "v=spf1 -all"
ns1        IN A     192.0.2.1
ns1        IN AAAA  2001:db8::1
ns2        IN A     192.0.2.2
mail       IN A     192.0.2.25
mail       IN AAAA  2001:db8::25
mail2      IN A     192.0.2.26
www        IN CNAME web
web        IN A     192.0.2.10
web        IN A     192.0.2.11
web        IN A     192.0.2.12
web        IN AAAA  2001:db8::10
chain1     IN CNAME chain2
chain2     IN CNAME WWW
apexalias  IN CNAME @
away       IN CNAME elsewhere.example.org.
dangling   IN CNAME nothere
tosvc      IN CNAME legacy.svc.internal.
cself      IN CNAME cself
loop1      IN CNAME loop2
loop2      IN CNAME loop1
a.b.c      IN TXT   "deep"
_ldap._tcp IN SRV   0 0 389 ldap
_ldap._tcp IN SRV   10 5 636 ldap2
ldap       IN A     192.0.2.30
ldap2      IN AAAA  2001:db8::30
MiXeD.CaSe IN A     192.0.2.40
txt        IN TXT   "one" "two"
txt        IN TXT   "three"
ptr        IN PTR   web.zf.internal.
mxout      IN MX    10 mail.example.org.
priv       IN TYPE65280 \# 3 abcdef
big        IN TXT   "$(s250 1)"
big        IN TXT   "$(s250 2)"
big        IN TXT   "$(s250 3)"
big        IN TXT   "$(s250 4)"
big        IN TXT   "$(s250 5)"
big        IN TXT   "$(s250 6)"
ZONE
# The service domain's own file: svcdns takes its SOA and NS from the config.
cat >"$Z/svc.internal.zone" <<'ZONE'
$ORIGIN svc.internal.
$TTL 60
legacy     IN A     10.1.1.1
legacy     IN A     10.1.1.2
db         IN TXT   "static note"
_http._tcp IN SRV   0 0 80 legacy
dbalias    IN CNAME db
tozf       IN CNAME web.zf.internal.
Mixed-Case IN TXT   "in the service domain"
ZONE
cat >"$WORK/svcdns.yml" <<'YML'
nameserver: { name: ns.svc.internal, addresses: [127.0.0.1, "::1"] }
services:
  - { service: db, instance: db-1, address: 10.0.0.5, port: 5432, txt: ["role=primary"] }
  - { service: db, instance: db-2, address: 10.0.0.6, port: 5432, priority: 1, weight: 5 }
  - { service: dns, instance: ns-a, address: "fd00::53", port: 53, proto: udp }
  - { service: dup, instance: d1, address: 10.0.3.1, port: 80 }
  - { service: dup, instance: d2, address: 10.0.3.1, port: 81 }
YML

# info, not debug: the malformed specials would fill the log tail printed on failure.
start_server --config "$WORK/svcdns.yml" --zones "$Z" --log-level info || exit 1

# NSD's copy of the service domain: the config's SOA (serial and timers as svcdns
# answers them), NS and NS addresses, then the instances above as the records svcdns answers
# for them (TTL 5: `ttl`), then svcdns's own zone file.
soa_numbers=$(qs svc.internal SOA | awk '{print $3, $4, $5, $6, $7}')
{
	cat <<ZONE
\$ORIGIN svc.internal.
@          5 IN SOA  ns.svc.internal. hostmaster.svc.internal. $soa_numbers
@          5 IN NS   ns.svc.internal.
ns         5 IN A    127.0.0.1
ns         5 IN AAAA ::1
db         5 IN A    10.0.0.5
db         5 IN A    10.0.0.6
db         5 IN SRV  0 0 5432 db-1.db.svc.internal.
db         5 IN SRV  1 5 5432 db-2.db.svc.internal.
_db._tcp   5 IN SRV  0 0 5432 db-1.db.svc.internal.
_db._tcp   5 IN SRV  1 5 5432 db-2.db.svc.internal.
db-1.db    5 IN A    10.0.0.5
db-1.db    5 IN TXT  "role=primary"
db-2.db    5 IN A    10.0.0.6
dns        5 IN AAAA fd00::53
dns        5 IN SRV  0 0 53 ns-a.dns.svc.internal.
_dns._udp  5 IN SRV  0 0 53 ns-a.dns.svc.internal.
ns-a.dns   5 IN AAAA fd00::53
dup        5 IN A    10.0.3.1
dup        5 IN SRV  0 0 80 d1.dup.svc.internal.
dup        5 IN SRV  0 0 81 d2.dup.svc.internal.
_dup._tcp  5 IN SRV  0 0 80 d1.dup.svc.internal.
_dup._tcp  5 IN SRV  0 0 81 d2.dup.svc.internal.
d1.dup     5 IN A    10.0.3.1
d2.dup     5 IN A    10.0.3.1
ZONE
	grep -v '^\$ORIGIN' "$Z/svc.internal.zone"
} >"$WORK/nsd/svc.internal.zone"

# ---- NSD, configured as scripts/bench does (private files, RRL off), on its own port --
NSDPORT=$(free_port)
cat >"$WORK/nsd/nsd.conf" <<EOF
server:
    ip-address: 127.0.0.1@$NSDPORT
    do-ip6: no
    server-count: 1
    username: ""
    chroot: ""
    database: ""
    zonesdir: "$WORK/nsd"
    zonelistfile: "$WORK/nsd/zone.list"
    xfrdfile: "$WORK/nsd/xfrd.state"
    xfrdir: "$WORK/nsd"
    pidfile: "$WORK/nsd/nsd.pid"
    logfile: "$WORK/nsd/nsd.log"
    verbosity: 1
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
    # No CH TXT id.server/version.bind answers: svcdns refuses class CH.
    hide-version: yes
    hide-identity: yes
    # minimal-responses stays off: with it NSD leaves out the addresses of MX and SRV
    # targets.  The NS RRset it then adds to positive answers is not compared.
remote-control:
    control-enable: no
zone:
    name: zf.internal
    zonefile: "$Z/zf.internal.zone"
    # AXFR allowed, so that svcdns's REFUSED is compared with a real transfer.
    provide-xfr: 127.0.0.1 NOKEY
zone:
    name: svc.internal
    zonefile: "$WORK/nsd/svc.internal.zone"
EOF
nsd -d -c "$WORK/nsd/nsd.conf" >"$WORK/nsd/stderr.log" 2>&1 &
NSD_PID=$!
on_exit "kill -TERM $NSD_PID; for _ in \$(seq 1 100); do kill -0 $NSD_PID || break; sleep 0.05; done; kill -KILL $NSD_PID; wait $NSD_PID"
nsd_answers() {
	kill -0 "$NSD_PID" 2>/dev/null &&
	dig @127.0.0.1 -p "$NSDPORT" +time=1 +tries=1 +norec zf.internal SOA | grep -q 'status: NOERROR' &&
	dig @127.0.0.1 -p "$NSDPORT" +tcp +time=1 +tries=1 +norec svc.internal SOA | grep -q 'status: NOERROR'
}
if ! wait_for 15 nsd_answers; then
	ok 1 "NSD answers on port $NSDPORT"
	cat "$WORK/nsd/stderr.log" "$WORK/nsd/nsd.log" 2>/dev/null | tail -n 20 | sed 's/^/#   /'
	exit 1
fi
ok 0 "NSD answers on port $NSDPORT"

compare() {  # compare SVCDNS-PORT OUTPUT: the tool against NSD
	$PY "$COMPARE" compare --svcdns "127.0.0.1:$1" --nsd "127.0.0.1:$NSDPORT" --domain svc.internal. \
		--zone "$Z/zf.internal.zone" --zone "$WORK/nsd/svc.internal.zone" --seed "${COMPARE_SEED:-17}" \
		--show "${COMPARE_SHOW:-2}" >"$2" 2>&1
}

# The control: NSD against itself agrees on every query, so every difference below is
# svcdns's (and the replies do not vary from one query to the next).
compare "$NSDPORT" "$WORK/control.out"; rc=$?
ok "$rc" "control: NSD compared with itself agrees on every query"
[ "$rc" -eq 0 ] || tail -n 20 "$WORK/control.out" | sed 's/^/# /'

compare "$PORT" "$WORK/compare.out"; rc=$?
sed 's/^/# /' "$WORK/compare.out"
ok "$rc" "svcdns answers as NSD does, but for the documented design differences ($(sed -n 's/^summary:.*, \([0-9]*\) mismatches$/\1/p' "$WORK/compare.out") mismatches)"
check "svcdns is still up after the comparison" server_answers

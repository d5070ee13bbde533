#!/usr/bin/env bash
# Answer semantics of the authoritative responder, checked with dig and kdig against
# the real server: AA, question echo, NXDOMAIN vs NODATA, REFUSED, EDNS, TC, TCP.
. "$(dirname "$0")/../lib.sh"

mkdir -p "$WORK/zones"
{
	echo "domain: svc.internal"
	echo "ttl: 5"
	echo "nameserver: { name: ns.svc.internal, addresses: [127.0.0.1] }"
	echo "services:"
	echo "  - { service: db, instance: db-1, address: 10.0.0.5, port: 5432, txt: [\"role=primary\", \"v=1\"] }"
	echo "  - { service: db, instance: db-2, address: 10.0.0.6, port: 5432, priority: 1, weight: 5 }"
	echo "  - { service: v4only, instance: a, address: 10.0.1.1, port: 80 }"
	echo "  - { service: dns, instance: d1, address: 10.0.2.1, port: 53, proto: udp }"
	echo "  - { service: web6, instance: w1, address: 'fd00::1', port: 443 }"
	for i in $(seq 1 60); do
		echo "  - { service: big, instance: b$i, address: 10.9.0.$i, port: 8000 }"
	done
} >"$WORK/svcdns.yml"

start_server --config "$WORK/svcdns.yml" --zones "$WORK/zones" || exit 1

# --- service names ---------------------------------------------------------
got=$(qs db.svc.internal A | sort | tr '\n' ' ')
is "$got" "10.0.0.5 10.0.0.6 " "SERVICE.D A lists every instance"
out=$(q db.svc.internal A)
like "$out" "flags: qr aa;" "AA set, RA not set, RD not copied when not asked"
out=$(q +rec db.svc.internal A)
like "$out" "flags: qr aa rd;" "RD copied from the query"
like "$(q db.svc.internal A)" "db.svc.internal.[[:space:]]+5[[:space:]]+IN[[:space:]]+A" "answer TTL is the configured 5 s"

got=$(qs _db._tcp.svc.internal SRV | sort | tr '\n' ' ')
is "$got" "0 0 5432 db-1.db.svc.internal. 1 5 5432 db-2.db.svc.internal. " "_SERVICE._tcp.D SRV in RFC 2782 form"
got=$(qs db.svc.internal SRV | sort | tr '\n' ' ')
is "$got" "0 0 5432 db-1.db.svc.internal. 1 5 5432 db-2.db.svc.internal. " "SERVICE.D SRV"
out=$(q db.svc.internal SRV)
like "$out" "ADDITIONAL: 3" "SRV answer carries the targets' addresses (+ OPT)"
like "$out" "db-1.db.svc.internal.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+A[[:space:]]+10.0.0.5" "additional A of an SRV target"
is "$(qs _dns._udp.svc.internal SRV)" "0 0 53 d1.dns.svc.internal." "_SERVICE._udp.D holds only udp instances"
is "$(rcode _dns._tcp.svc.internal SRV)" "NXDOMAIN" "_SERVICE._tcp.D of a udp-only service does not exist"

is "$(qs db-1.db.svc.internal A)" "10.0.0.5" "INSTANCE.SERVICE.D A"
is "$(qs db-1.db.svc.internal TXT)" '"role=primary" "v=1"' "INSTANCE.SERVICE.D TXT strings"
is "$(qs w1.web6.svc.internal AAAA)" "fd00::1" "INSTANCE.SERVICE.D AAAA"
is "$(qs web6.svc.internal AAAA)" "fd00::1" "SERVICE.D AAAA"

# --- apex ------------------------------------------------------------------
is "$(qs svc.internal NS)" "ns.svc.internal." "apex NS from config"
like "$(qs svc.internal SOA)" "^ns.svc.internal. hostmaster.svc.internal. [0-9]+ 60 10 86400 5$" "apex SOA: refresh 60, retry 10, expire 86400, negative TTL 5"
is "$(qs ns.svc.internal A)" "127.0.0.1" "the NS name has its configured address"

# --- negative answers: NODATA vs NXDOMAIN ------------------------------------
out=$(q v4only.svc.internal AAAA)
like "$out" "status: NOERROR" "AAAA of an IPv4-only service: NOERROR"
like "$out" "ANSWER: 0, AUTHORITY: 1" "NODATA: empty answer, SOA in authority"
like "$out" "svc.internal.[[:space:]]+5[[:space:]]+IN[[:space:]]+SOA" "NODATA SOA carries the 5 s negative TTL"
out=$(q nosuch.svc.internal A)
like "$out" "status: NXDOMAIN" "unknown service: NXDOMAIN"
like "$out" "AUTHORITY: 1" "NXDOMAIN has the SOA in authority"
is "$(rcode nosuch.db.svc.internal A)" "NXDOMAIN" "unknown instance: NXDOMAIN"
is "$(rcode a.b.c.svc.internal A)" "NXDOMAIN" "deep unknown name: NXDOMAIN"
out=$(q _tcp.svc.internal A)
like "$out" "status: NOERROR" "empty non-terminal _tcp.D: NOERROR"
like "$out" "ANSWER: 0, AUTHORITY: 1" "empty non-terminal: NODATA with SOA"
is "$(rcode db-1.db.svc.internal TXT)" "NOERROR" "TXT of an instance"
is "$(rcode db-2.db.svc.internal TXT)" "NOERROR" "TXT of an instance without TXT: NODATA, not NXDOMAIN"

# --- outside our zones ---------------------------------------------------------
out=$(q example.org A)
like "$out" "status: REFUSED" "a name outside our zones: REFUSED"
like "$out" "flags: qr;" "REFUSED is not authoritative"
is "$(rcode db.svc.internal A -c CH)" "REFUSED" "class CH: REFUSED"
like "$(kdig @127.0.0.1 -p "$PORT" svc.internal AXFR 2>&1)" "replied with error 'REFUSED'" "AXFR: REFUSED (no zone transfers)"

# --- question echo and case ------------------------------------------------------
out=$(q DB.sVc.InTeRnAl A)
like "$out" ";DB.sVc.InTeRnAl.[[:space:]]+IN[[:space:]]+A" "question echoed with its letter case (0x20)"
like "$out" $'\nDB.sVc.InTeRnAl.[[:space:]]+5[[:space:]]+IN[[:space:]]+A' "answer owner keeps the query's case"
is "$(qs DB-1.DB.SVC.INTERNAL A)" "10.0.0.5" "names compare case-insensitively"

# --- EDNS --------------------------------------------------------------------------
like "$(q db.svc.internal A)" "EDNS: version: 0, flags:; udp: 1232" "OPT advertises our UDP size 1232"
out=$(q +noedns db.svc.internal A)
check "no OPT in the answer to a query without OPT" bash -c '! grep -q "OPT PSEUDOSECTION" <<<"$1"' _ "$out"
out=$(q +edns=1 +noednsneg db.svc.internal A)
like "$out" "status: BADVERS" "EDNS version 1: BADVERS"
like "$out" "EDNS: version: 0" "BADVERS answer advertises version 0"

# --- truncation and TCP --------------------------------------------------------------
out=$(q +noedns +ignore big.svc.internal A)
like "$out" "flags: qr aa tc;" "60 addresses over UDP without EDNS: TC set"
n=$(grep -cE '^big.svc.internal.[[:space:]].*IN[[:space:]]+A' <<<"$out")
check "truncated answer keeps as many addresses as fit ($n, within 512 bytes)" test "$n" -ge 20 -a "$n" -lt 60
size=$(sed -n 's/.*MSG SIZE  rcvd: \([0-9]*\).*/\1/p' <<<"$out")
check "truncated answer fits in 512 bytes ($size)" test "$size" -le 512
out2=$(q +noedns +ignore big.svc.internal A)
first1=$(grep -m1 -oE '10\.9\.0\.[0-9]+' <<<"$out"); set1=$(grep -oE '10\.9\.0\.[0-9]+' <<<"$out" | sort | tr '\n' ' ')
set2=$(grep -oE '10\.9\.0\.[0-9]+' <<<"$out2" | sort | tr '\n' ' ')
for _ in 1 2 3 4 5; do [ "$set1" != "$set2" ] && break; set2=$(qs +noedns +ignore big.svc.internal A | sort | tr '\n' ' '); done
check "truncated answers hold a random subset" test "$set1" != "$set2"
out=$(q +tcp big.svc.internal A)
is "$(grep -cE '^big.svc.internal.[[:space:]].*IN[[:space:]]+A' <<<"$out")" "60" "the same query over TCP returns all 60"
check "TCP answer is not truncated" bash -c '! grep -q "flags:.* tc" <<<"$1"' _ "$out"
out=$(q +ignore big.svc.internal SRV)
like "$out" "flags: qr aa tc;" "60 SRV over EDNS 1232: TC set"
like "$out" "ADDITIONAL: 1"$'\n' "truncated SRV answer drops the additional section first (OPT only)"
size=$(sed -n 's/.*MSG SIZE  rcvd: \([0-9]*\).*/\1/p' <<<"$out")
check "truncated EDNS answer fits in 1232 bytes ($size)" test "$size" -le 1232 -a "$size" -gt 512
out=$(q +bufsize=4096 +ignore big.svc.internal A)
check "client size above ours is capped at 1232 (60 A fit, no TC)" bash -c '! grep -q "flags:.* tc" <<<"$1"' _ "$out"

# --- shuffling ----------------------------------------------------------------------
orders=""
for _ in $(seq 1 20); do orders+="$(qs db.svc.internal A | head -1) "; done
like "$orders" "10.0.0.5" "shuffled order: 10.0.0.5 comes first sometimes"
like "$orders" "10.0.0.6" "shuffled order: 10.0.0.6 comes first sometimes"

# --- kdig ------------------------------------------------------------------------------
out=$(kdig @127.0.0.1 -p "$PORT" +tcp +norec db-1.db.svc.internal A)
like "$out" "10.0.0.5" "kdig over TCP"
like "$out" "status: NOERROR" "kdig status NOERROR"
out=$(kdig @127.0.0.1 -p "$PORT" +norec +notcp nosuch.svc.internal AAAA)
like "$out" "status: NXDOMAIN" "kdig NXDOMAIN over UDP"

# --- SOA serial follows the table; server still alive -----------------------------------
check "server still running" kill -0 "$SERVER_PID"

# --- a wildcard listener answers from the address each query was sent to --------------
stop_server
WILD=$(free_port)
"$SVCDNS_BIN" --dns "0.0.0.0:$WILD" --register "127.0.0.1:$(free_port)" --http off \
	--config "$WORK/svcdns.yml" --zones "$WORK/zones" >>"$SERVER_LOG" 2>&1 &
SERVER_PID=$!
PORT=$WILD
wait_for 10 server_answers
out=$(dig @127.0.0.2 -p "$WILD" +time=2 +tries=1 +norec db-1.db.svc.internal A 2>&1)
like "$out" "status: NOERROR" "wildcard listener answers a query sent to 127.0.0.2"
check "the reply comes from 127.0.0.2, the address asked" bash -c '! grep -q "unexpected source" <<<"$1"' _ "$out"
like "$out" "SERVER: 127.0.0.2#$WILD" "dig accepted the reply from 127.0.0.2"

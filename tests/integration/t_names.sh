#!/usr/bin/env bash
# Container-facing names: bare single-label names, answer-limit, reverse (PTR) lookups.
. "$(dirname "$0")/../lib.sh"

cat >"$WORK/svcdns.yml" <<'YML'
answer-limit: 2
answer-limits: { user-service: 1, db: 0 }
services:
  - { service: user-service, instance: u1, address: 10.0.0.1, port: 80 }
  - { service: user-service, instance: u2, address: 10.0.0.2, port: 80 }
  - { service: user-service, instance: u3, address: 10.0.0.3, port: 80 }
  - { service: web, instance: w1, address: 10.0.1.1, port: 80 }
  - { service: web, instance: w2, address: 10.0.1.2, port: 80 }
  - { service: web, instance: w3, address: 10.0.1.3, port: 80 }
  - { service: db, instance: d1, address: 10.0.2.1, port: 5432 }
  - { service: db, instance: d2, address: 10.0.2.2, port: 5432 }
  - { service: db, instance: d3, address: 10.0.2.3, port: 5432 }
  - { service: db, instance: d6, address: "fd00::6", port: 5432 }
  - { service: shared, instance: s1, address: 10.0.2.1, port: 9000 }
YML
start_server --config "$WORK/svcdns.yml" --zones "$WORK/none" || exit 1

# --- bare names --------------------------------------------------------------------
out=$(q user-service A)
like "$out" "status: NOERROR" "bare name user-service. answered"
like "$out" $'\nuser-service.[[:space:]]+5[[:space:]]+IN[[:space:]]+A[[:space:]]+10.0.0.[123]' "owner name as asked"
is "$(qs DB A | sort | tr '\n' ' ')" "10.0.2.1 10.0.2.2 10.0.2.3 " "bare names compare case-insensitively"
out=$(q user-service AAAA)
like "$out" "status: NOERROR" "bare name of an IPv4-only service: NODATA"
like "$out" "ANSWER: 0, AUTHORITY: 0" "bare-name NODATA carries no SOA (no zone around it)"
is "$(qs db AAAA)" "fd00::6" "bare name AAAA"
is "$(rcode nosuch-service A)" "REFUSED" "an unknown bare name is outside our zones"
is "$(rcode com A)" "REFUSED" "a TLD is not a service"
cat >"$WORK/nobare.yml" <<'YML'
bare-names: false
services:
  - { service: user-service, instance: u1, address: 10.0.0.1, port: 80 }
YML
out=$("$SVCDNS_BIN" --config "$WORK/nobare.yml" --check-config 2>&1)
like "$out" "configuration OK" "bare-names: false is a valid key"

# --- answer-limit --------------------------------------------------------------------
seen=""
for i in $(seq 1 40); do
	got=$(qs user-service.svc.internal A)
	n=$(wc -l <<<"$got")
	[ "$n" -ne 1 ] && { ok 1 "answer-limit 1 gives one address (got $n)"; break; }
	seen+="$got"$'\n'
done
is "$(sort -u <<<"$seen" | grep -c .)" "3" "answer-limit 1: 40 answers reach all three instances"
is "$(qs web.svc.internal A | wc -l)" "2" "global answer-limit 2"
is "$(qs db.svc.internal A | wc -l)" "3" "a per-service limit of 0 means all"
is "$(qs _web._tcp.svc.internal SRV | wc -l)" "3" "SRV answers are not limited"

# --- reverse lookups ------------------------------------------------------------------------
is "$(qs -x 10.0.0.2 PTR)" "u2.user-service.svc.internal." "PTR of a static instance"
is "$(qs -x 10.0.2.1 PTR | sort | tr '\n' ' ')" "d1.db.svc.internal. s1.shared.svc.internal. " "two instances at one address: two PTRs"
is "$(qs -x fd00::6 PTR)" "d6.db.svc.internal." "PTR under ip6.arpa"
like "$(q -x 10.0.0.2 PTR)" "flags: qr aa" "PTR answers are authoritative"
is "$(rcode -x 10.99.99.99 PTR)" "REFUSED" "an unknown address is an outside name (REFUSED without forwarders)"
is "$(rcode 2.0.0.10.in-addr.arpa.extra PTR)" "REFUSED" "not a reverse name"
is "$(reg 'REGISTER api a1 10.0.5.5 8080')" "OK ttl=30" "register an instance"
is "$(qs -x 10.0.5.5 PTR)" "a1.api.svc.internal." "PTR of a registered instance"
is "$(reg 'REGISTER api a1 10.0.5.6 8080')" "OK ttl=30" "move it to another address"
is "$(rcode -x 10.0.5.5 PTR)" "REFUSED" "the old address has no PTR any more"
is "$(qs -x 10.0.5.6 PTR)" "a1.api.svc.internal." "the new address has it"
is "$(reg 'DEREGISTER api a1')" "OK" "deregister"
is "$(rcode -x 10.0.5.6 PTR)" "REFUSED" "PTR gone with the instance"

# --- bare names and the service domain's zone file ----------------------------------------
stop_server
mkdir -p "$WORK/zones"
cat >"$WORK/zones/svc.internal.zone" <<'EOF_ZONE'
$TTL 60
db       TXT   "static note"
legacy   A     10.9.9.9
alias    CNAME db
EOF_ZONE
start_server --config "$WORK/svcdns.yml" --zones "$WORK/zones" || exit 1
is "$(qs db TXT)" '"static note"' "bare name: a zone-file record of the service domain merges in"
is "$(qs db A | sort | tr '\n' ' ')" "10.0.2.1 10.0.2.2 10.0.2.3 " "... beside the registry's addresses"
is "$(qs legacy A)" "10.9.9.9" "bare name of a name only the zone file holds"
out=$(q alias A)
like "$out" "alias\.[[:space:]]+60[[:space:]]+IN[[:space:]]+CNAME[[:space:]]+db\.svc\.internal\." "bare name with a CNAME: the CNAME, owner as asked"
like "$out" "db\.svc\.internal\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+A[[:space:]]+10\.0\.2\." "... followed into the registry"
stop_server

#!/usr/bin/env bash
# t_views_netns.sh -- per-network views, tagged subsets, weighted canary answers and DNS-SD
# browsing, as the container scenario has them, with real clients in network namespaces.
#
# Topology (every address lives inside this test's own namespaces, never on the host):
#   SV   svcdns, on two bridges: frontend 10.201.0.0/24 (.2) and user-backend 10.202.0.0/24 (.2)
#   ORD  order-service, 10.201.0.5 on frontend: RFC 6724 rule 9 ties u1 .11, u2 .12, u3 .13
#        (a common prefix of 28 bits with each), so glibc keeps the answer's order
#   PIN  a frontend client at 10.201.0.9, which rule 9 pins to u1 (.11: 30 common bits)
#   TOOL a backend tool, 10.202.0.5, with a route to frontend through svcdns's backend address
#   U3   user-service u3, 10.201.0.13, running a tiny HTTP responder on :8080
# u1 (v1) is registered on both networks (addr=), u2 (v1) and u3 (v2) on frontend, user-db
# on user-backend.  Each client namespace has its own resolv.conf naming svcdns, so dig,
# getent and curl ask svcdns and nothing else (the namespaces have no other route).
. "$(dirname "$0")/../lib.sh"

CTL=$(dirname "$SVCDNS_BIN")/svcdnsctl
PY=/usr/bin/python3
SUFFIX=$$
SV=svv-sv-$SUFFIX ORD=svv-ord-$SUFFIX PIN=svv-pin-$SUFFIX TOOL=svv-tool-$SUFFIX U3=svv-u3-$SUFFIX
ALL_NS="$SV $ORD $PIN $TOOL $U3"
FRONT_DNS=10.201.0.2 BACK_DNS=10.202.0.2
HTTP_PID="" WATCH_PID=""
exec 3>&1     # lib.sh discards on_exit output; teardown reports on fd 3

ns_gone() { [ ! -e "/run/netns/$1" ]; }

teardown() {
	[ -n "$HTTP_PID" ] && kill "$HTTP_PID" 2>/dev/null && wait "$HTTP_PID" 2>/dev/null
	[ -n "$WATCH_PID" ] && kill "$WATCH_PID" 2>/dev/null
	[ -n "$SERVER_PID" ] && stop_server >&3 2>&1
	local ns pids
	for ns in $ALL_NS; do
		pids=$(ip netns pids "$ns" 2>/dev/null)
		[ -n "$pids" ] && { echo "# killing leftover processes in $ns: $pids" >&3; kill -KILL $pids 2>/dev/null; }
	done
	for ns in $ALL_NS; do
		ip netns del "$ns" 2>/dev/null
		rm -rf "/etc/netns/$ns"
	done
	for ns in $ALL_NS; do ns_gone "$ns" || echo "not ok - namespace $ns left behind" >&3; done
}
on_exit teardown

if ! ip netns add "$SV" 2>"$WORK/netns.err"; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "ok 1 - # SKIP cannot create a network namespace (not root): $(head -1 "$WORK/netns.err")"
		exit 0
	fi
	ok 1 "ip netns add $SV"; exit 1
fi

# host NS ADDR BRIDGE RESOLVER PEER: a namespace with its own /etc/netns files naming
# RESOLVER, joined to BRIDGE (in SV) by a veth pair, ADDR/24 on its end, PEER the end in SV
# (short: interface names have at most 15 characters).
host() {
	local ns=$1 addr=$2 bridge=$3 resolver=$4 peer=$5 etc=/etc/netns/$1
	ip netns add "$ns" || return 1
	mkdir -p "$etc" &&
	printf 'nameserver %s\nsearch svc.internal\noptions timeout:1 attempts:2 ndots:1\n' "$resolver" >"$etc/resolv.conf" &&
	printf 'hosts: files dns\n' >"$etc/nsswitch.conf" &&
	printf '127.0.0.1\tlocalhost\n' >"$etc/hosts" &&
	ip -n "$ns" link set lo up &&
	ip -n "$ns" link add eth0 type veth peer name "$peer" netns "$SV" &&
	ip -n "$ns" addr add "$addr/24" dev eth0 &&
	ip -n "$ns" link set eth0 up &&
	ip -n "$SV" link set "$peer" master "$bridge" &&
	ip -n "$SV" link set "$peer" up
}

setup() {
	ip -n "$SV" link set lo up &&
	ip -n "$SV" link add br-front type bridge && ip -n "$SV" addr add "$FRONT_DNS/24" dev br-front &&
	ip -n "$SV" link add br-back type bridge && ip -n "$SV" addr add "$BACK_DNS/24" dev br-back &&
	ip -n "$SV" link set br-front up && ip -n "$SV" link set br-back up &&
	host "$ORD" 10.201.0.5 br-front "$FRONT_DNS" p-ord &&
	host "$PIN" 10.201.0.9 br-front "$FRONT_DNS" p-pin &&
	host "$U3" 10.201.0.13 br-front "$FRONT_DNS" p-u3 &&
	host "$TOOL" 10.202.0.5 br-back "$BACK_DNS" p-tool &&
	ip -n "$TOOL" route add 10.201.0.0/24 via "$BACK_DNS"
}
check "namespaces: svcdns on bridges frontend and user-backend, order-service, a .9 client, a backend tool, u3" setup

cat >"$WORK/svcdns.yml" <<EOF
domain: svc.internal
dns-sd: true
networks:
  frontend: [10.201.0.0/24]
  user-backend: [10.202.0.0/24]
services:
  - { service: static-db, instance: s1, address: 10.202.0.31, port: 5432 }
  - { service: static-web, instance: w1, address: 192.0.2.60, port: 80, tags: [blue], network: frontend }
EOF
REGPORT=8053
ip netns exec "$SV" "$SVCDNS_BIN" --dns 0.0.0.0:53 --register "127.0.0.1:$REGPORT" --http "0.0.0.0:8054" \
	--config "$WORK/svcdns.yml" --zones "$WORK/none" --state "$WORK/state" --log-level debug >>"$SERVER_LOG" 2>&1 &
SERVER_PID=$!

sv_answers() { kill -0 "$SERVER_PID" && ip netns exec "$SV" dig @127.0.0.1 +time=1 +tries=1 +tcp svc.internal SOA | grep -q NOERROR; }
if ! wait_for 15 sv_answers; then ok 1 "svcdns answers inside $SV"; exit 1; fi
ok 0 "svcdns answers inside $SV"

ctl() { ip netns exec "$SV" "$CTL" --server "127.0.0.1:$REGPORT" --tcp "$@"; }
sv_reg() { printf '%s\n' "$1" | ip netns exec "$SV" $PY "$TESTS_DIR/tools/reg_send.py" tcp 127.0.0.1 "$REGPORT"; }
# dig_from NS ARGS...: dig inside a client namespace, at its resolver unless @ is given.
dig_from() { local ns=$1; shift; ip netns exec "$ns" dig +time=2 +tries=2 +norec "$@"; }
short_from() { dig_from "$@" +short | grep -v '^;' | sort | paste -sd' ' -; }
status_from() { dig_from "$@" | sed -n 's/.*status: \([A-Z]*\).*/\1/p' | head -1; }

register() {
	ctl register user-service u1 10.201.0.11 8080 --ttl 600 --tag v1 --addr 10.202.0.11 >/dev/null &&
	ctl register user-service u2 10.201.0.12 8080 --ttl 600 --tag v1 >/dev/null &&
	ctl register user-service u3 10.201.0.13 8080 --ttl 600 --tag v2 >/dev/null &&
	ctl register user-db db1 10.202.0.21 5432 --ttl 600 >/dev/null &&
	ctl register order-service o1 10.201.0.5 8080 --ttl 600 >/dev/null &&
	ctl register legacy l1 192.0.2.50 80 --ttl 600 --network user-backend >/dev/null
}
check "svcdnsctl registers u1 (--tag v1 --addr), u2, u3 (--tag v2), user-db, order-service, legacy (--network)" register

# ---------------------------------------------------------------- views
is "$(status_from "$ORD" user-db.svc.internal A)" NXDOMAIN "order-service: dig user-db.svc.internal is NXDOMAIN"
is "$(status_from "$ORD" user-db.svc.internal SRV)" NXDOMAIN "order-service: user-db SRV is NXDOMAIN too"
ip netns exec "$ORD" getent hosts user-db >/dev/null; is "$?" 2 "order-service: getent hosts user-db fails (not found)"
is "$(short_from "$TOOL" user-db.svc.internal A)" 10.202.0.21 "tool: dig user-db.svc.internal gives 10.202.0.21"
is "$(ip netns exec "$TOOL" getent hosts user-db | awk '{ print $1 }')" 10.202.0.21 "tool: getent hosts user-db resolves"
is "$(short_from "$ORD" user-service.svc.internal A)" "10.201.0.11 10.201.0.12 10.201.0.13" \
	"order-service: user-service gives the three frontend addresses"
is "$(short_from "$TOOL" user-service.svc.internal A)" 10.202.0.11 "tool: user-service gives only u1's backend address"
is "$(short_from "$TOOL" @"$FRONT_DNS" user-service.svc.internal A)" 10.202.0.11 \
	"tool asking svcdns's frontend address by a route: still only u1's backend address (the source decides)"
is "$(status_from "$TOOL" @"$FRONT_DNS" u2.user-service.svc.internal A)" NXDOMAIN "tool: u2 (frontend only) does not exist"
is "$(ip netns exec "$SV" dig @127.0.0.1 +short user-service.svc.internal A | sort | paste -sd' ' -)" \
	"10.201.0.11 10.201.0.12 10.201.0.13" "loopback sees everything (u1 by its own address)"
is "$(ip netns exec "$SV" dig @127.0.0.1 +short user-db.svc.internal A)" 10.202.0.21 "loopback sees user-db"
is "$(status_from "$ORD" static-db.svc.internal A) $(short_from "$TOOL" static-db.svc.internal A)" "NXDOMAIN 10.202.0.31" \
	"a static instance of the config is placed on its network too"
is "$(short_from "$ORD" blue.static-web.svc.internal A) $(status_from "$TOOL" static-web.svc.internal A)" "192.0.2.60 NXDOMAIN" \
	"services[] with tags: and network: in the config: blue.static-web from frontend only"
is "$(short_from "$TOOL" legacy.svc.internal A)" 192.0.2.50 "network=user-backend places an outside address: the tool sees it"
is "$(status_from "$ORD" legacy.svc.internal A)" NXDOMAIN "order-service does not see legacy"
is "$(dig_from "$ORD" -x 10.202.0.21 | sed -n 's/.*status: \([A-Z]*\).*/\1/p')" \
	"$(dig_from "$ORD" -x 10.202.0.99 | sed -n 's/.*status: \([A-Z]*\).*/\1/p')" \
	"order-service: user-db's reverse name is answered as an unknown address's"
like "$(dig_from "$TOOL" -x 10.202.0.21 +short)" "db1.user-db.svc.internal" "tool: user-db's reverse name"
# An addr= address has a reverse name too, under the same view: a client gets the reverse
# name of an address only when its view gives it that address.  reverse_from NS ADDR
# prints the status and the names answered.
reverse_from() { echo "$(dig_from "$1" -x "$2" | sed -n 's/.*status: \([A-Z]*\).*/\1/p') $(dig_from "$1" -x "$2" +short | grep -v '^;' | sort | paste -sd' ' -)"; }
is "$(reverse_from "$TOOL" 10.202.0.11)" "NOERROR u1.user-service.svc.internal." "tool: u1's addr= address 10.202.0.11 reverses to u1"
is "$(ip netns exec "$SV" dig @127.0.0.1 +short -x 10.202.0.11)" "u1.user-service.svc.internal." "loopback: u1's addr= address reverses to u1"
is "$(reverse_from "$ORD" 10.201.0.11)" "NOERROR u1.user-service.svc.internal." "order-service: u1's own address reverses to u1"
is "$(reverse_from "$ORD" 10.202.0.11)" "$(reverse_from "$ORD" 10.202.0.99)" \
	"order-service: u1's backend address (not on its network) is answered as an unknown address's"
is "$(reverse_from "$TOOL" 10.201.0.11)" "$(reverse_from "$TOOL" 10.201.0.99)" \
	"tool: u1's frontend address, which its view never gives it, is answered as an unknown address's"
# RFC 2181 5 across addr=: u5's own address is u1's backend one, u6 has it as addr= too.
ctl register user-service u5 10.202.0.11 8080 --ttl 600 >/dev/null &&
	ctl register user-service u6 10.201.0.16 8080 --ttl 600 --addr 10.202.0.11 >/dev/null
is "$(short_from "$TOOL" user-service.svc.internal A)" 10.202.0.11 \
	"tool: u1 (addr=), u5 (own) and u6 (addr=) at 10.202.0.11 give one record"
is "$(short_from "$ORD" user-service.svc.internal A)" "10.201.0.11 10.201.0.12 10.201.0.13 10.201.0.16" \
	"order-service: u6 by its own frontend address, no u5"
is "$(reverse_from "$TOOL" 10.202.0.11)" \
	"NOERROR u1.user-service.svc.internal. u5.user-service.svc.internal. u6.user-service.svc.internal." \
	"tool: 10.202.0.11 reverses to u1, u5 and u6"
ctl deregister user-service u5 >/dev/null && ctl deregister user-service u6 >/dev/null
is "$(reverse_from "$TOOL" 10.202.0.11)" "NOERROR u1.user-service.svc.internal." "after u5 and u6 leave: u1 alone again"
api_services() { ip netns exec "$1" curl -s --max-time 5 "http://$2:8054/v1/services" |
	$PY -c 'import json, sys; print(" ".join(sorted(s["name"] for s in json.load(sys.stdin)["services"])))'; }
is "$(api_services "$ORD" "$FRONT_DNS")" "order-service static-web user-service" "/v1/services from order-service: no user-db, no legacy"
is "$(api_services "$TOOL" "$BACK_DNS")" "legacy static-db user-db user-service" "/v1/services from the tool: user-db, legacy, user-service"
like "$(ip netns exec "$TOOL" curl -s --max-time 5 "http://$BACK_DNS:8054/v1/services/user-service")" \
	'"name":"u1".*"tags":\["v1"\],"networks":\["frontend","user-backend"\],"addrs":\["10.202.0.11"\]' \
	"/v1/services/user-service shows u1's tags, networks and addrs"
is "$(ip netns exec "$ORD" curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://$FRONT_DNS:8054/v1/services/user-db")" 404 \
	"/v1/services/user-db from order-service: 404"
list=$(sv_reg LIST)
like "$list" "u1 10.201.0.11 8080 .*tags=v1 addr=10.202.0.11 networks=frontend,user-backend" "LIST shows u1's tags, addr= and networks"

# ---------------------------------------------------------------- subsets
is "$(short_from "$ORD" v2.user-service.svc.internal A)" 10.201.0.13 "v2.user-service gives u3"
is "$(short_from "$ORD" v1.user-service.svc.internal A)" "10.201.0.11 10.201.0.12" "v1.user-service gives u1 and u2"
is "$(status_from "$ORD" v9.user-service.svc.internal A)" NXDOMAIN "a tag nobody carries: NXDOMAIN"
is "$(status_from "$TOOL" v2.user-service.svc.internal A)" NXDOMAIN "tool: v2 (u3, frontend only) does not exist"
mkdir -p "$WORK/www" && echo "hello from u3" >"$WORK/www/index.html"
ip netns exec "$U3" $PY -m http.server 8080 --bind 10.201.0.13 --directory "$WORK/www" >"$WORK/http.log" 2>&1 &
HTTP_PID=$!
u3_up() { ip netns exec "$U3" curl -s --max-time 1 http://10.201.0.13:8080/ | grep -q u3; }
wait_for 10 u3_up
is "$(ip netns exec "$ORD" curl -s --max-time 5 http://v2.user-service.svc.internal:8080/)" "hello from u3" \
	"curl http://v2.user-service.svc.internal:8080/ from order-service reaches u3"
like "$(sv_reg 'REGISTER user-service u4 10.201.0.14 8080 tags=u1')" "^ERR 409 tag 'u1' is the name of instance" \
	"a tag that is an instance's name: ERR 409"
like "$(sv_reg 'REGISTER user-service v1 10.201.0.14 8080')" "^ERR 409 instance name 'v1' is a tag of" \
	"an instance named like a tag: ERR 409"
like "$(sv_reg 'REGISTER static-web blue 192.0.2.61 80')" "^ERR 409 instance name 'blue' is a tag of w1.static-web" \
	"an instance named like a static instance's tag (config services:): ERR 409"
like "$(sv_reg 'REGISTER static-web w2 192.0.2.61 80 tags=w1')" "^ERR 409 tag 'w1' is the name of instance w1.static-web" \
	"a tag that is a static instance's name: ERR 409"

# ---------------------------------------------------------------- browsing (RFC 6763)
types_from() { dig_from "$1" +short PTR _services._dns-sd._udp.svc.internal | sort | paste -sd' ' -; }
is "$(types_from "$ORD")" "_order-service._tcp.svc.internal. _static-web._tcp.svc.internal. _user-service._tcp.svc.internal." \
	"order-service browses _user-service._tcp and _order-service._tcp (no _user-db._tcp)"
like "$(types_from "$TOOL")" "_user-db._tcp.svc.internal." "the tool browses _user-db._tcp"
# walk NS: what a DNS-SD client does: types -> instances (PTR) -> SRV/TXT -> A; prints
# "INSTANCE ADDRESS:PORT" for every instance reached.
walk() {
	local ns=$1 type inst srv target port
	for type in $(dig_from "$ns" +short PTR _services._dns-sd._udp.svc.internal | grep -v '^;'); do
		for inst in $(dig_from "$ns" +short PTR "$type" | grep -v '^;'); do
			srv=$(dig_from "$ns" +short SRV "$inst" | grep -v '^;' | head -1)
			port=$(awk '{ print $3 }' <<<"$srv"); target=$(awk '{ print $4 }' <<<"$srv")
			dig_from "$ns" +short TXT "$inst" | grep -q . || continue   # TXT is required (6.1)
			echo "${inst%%.*} $(dig_from "$ns" +short A "$target" | grep -v '^;' | head -1):$port"
		done
	done | sort | paste -sd' ' -
}
is "$(walk "$ORD")" "o1 10.201.0.5:8080 u1 10.201.0.11:8080 u2 10.201.0.12:8080 u3 10.201.0.13:8080 w1 192.0.2.60:80" \
	"order-service walks PTR -> SRV/TXT -> A to every instance it may reach"
is "$(walk "$TOOL")" "db1 10.202.0.21:5432 l1 192.0.2.50:80 s1 10.202.0.31:5432 u1 10.202.0.11:8080" \
	"the tool walks to user-db, legacy, static-db and u1 (by its backend address)"
is "$(dig_from "$ORD" +short TXT o1._order-service._tcp.svc.internal)" '""' "order-service (no txt=) shows one empty TXT string"
ptr=$(dig_from "$ORD" PTR _user-service._tcp.svc.internal +noall +additional | tr -s ' \t' ' ')
like "$ptr" "u3._user-service._tcp.svc.internal. [0-9]+ IN SRV 0 0 8080 u3.user-service.svc.internal." "the PTR answer carries SRV as additional records"
like "$ptr" "u3._user-service._tcp.svc.internal. [0-9]+ IN TXT \"\"" "... and TXT"
like "$ptr" "u3.user-service.svc.internal. [0-9]+ IN A 10.201.0.13" "... and A"
is "$(dig_from "$ORD" +short PTR _v2._sub._user-service._tcp.svc.internal)" "u3._user-service._tcp.svc.internal." \
	"subtype _v2._sub._user-service._tcp gives u3"
is "$(dig_from "$ORD" +short PTR b._dns-sd._udp.svc.internal) $(dig_from "$ORD" +short PTR lb._dns-sd._udp.svc.internal)" \
	"svc.internal. svc.internal." "b._dns-sd._udp and lb._dns-sd._udp point to the domain"
is "$(status_from "$ORD" PTR _user-db._tcp.svc.internal)" NXDOMAIN "order-service: _user-db._tcp does not exist"

# ---------------------------------------------------------------- weights
is "$(ctl split user-service v1=90 v2=10)" OK "svcdnsctl split user-service v1=90 v2=10"
is "$(dig_from "$ORD" +short user-service.svc.internal SRV | awk '{ print $2, $4 }' | sort -k2 | paste -sd' ' -)" \
	"45 u1.user-service.svc.internal. 45 u2.user-service.svc.internal. 10 u3.user-service.svc.internal." \
	"SRV weights are 45/45/10"
like "$(sv_reg 'LIST user-service')" "u3 .* effective-weight=10" "LIST shows u3's effective weight 10"
no_ttl() { grep ' u1 ' | sed 's/ ttl=[0-9]*//'; }
is "$(ctl list user-service | no_ttl)" "$(sv_reg 'LIST user-service' | no_ttl)" \
	"svcdnsctl list prints u1's line as LIST does (tags, addr=, networks, effective weight; ttl aside)"
nottl() { $PY -c 'import json, sys
d = json.load(sys.stdin)
for i in d["instances"]: i.pop("ttl")
print(json.dumps(d, sort_keys=True))'; }
is "$(ctl list user-service --json | nottl)" "$(ip netns exec "$SV" curl -s --max-time 5 http://127.0.0.1:8054/v1/services/user-service | nottl)" \
	"svcdnsctl list --json matches GET /v1/services/user-service (ttl aside)"
is "$(ip netns exec "$SV" curl -s --max-time 5 http://127.0.0.1:8054/v1/splits)" \
	'{"splits":[{"service":"user-service","shares":{"v1":90,"v2":10},"limit":0,"from":"api"}]}' "/v1/splits lists the split"
like "$(ip netns exec "$ORD" curl -s --max-time 5 "http://$FRONT_DNS:8054/v1/services/user-service")" '"name":"u3".*"effective_weight":10' \
	"/v1/services shows u3's effective weight"

# firsts NS N NAME: the first address of N answers over one TCP connection, counted per address
# as "ADDR=COUNT ..." (sorted); each answer holds ANSWERS records.
firsts_dig() {
	local ns=$1 n=$2 name=$3 per=$4
	for _ in $(seq "$n"); do echo "$name A"; done >"$WORK/batch"
	ip netns exec "$ns" dig @"$FRONT_DNS" +tcp +keepopen +time=5 +tries=1 +noall +answer -f "$WORK/batch" |
		awk -v per="$per" '$4 == "A" { if (i++ % per == 0) print $5 }' | sort | uniq -c | awk '{ printf "%s=%s\n", $2, $1 }'
}
firsts_getent() {
	local ns=$1 n=$2 name=$3
	for _ in $(seq "$n"); do ip netns exec "$ns" getent ahostsv4 "$name" | awk 'NR == 1 { print $1 }'; done |
		sort | uniq -c | awk '{ printf "%s=%s\n", $2, $1 }'
}
# verdict COUNTS EXPECTED_WEIGHTS(u1,u2,u3): "n=N u3=PCT chi=X pass|fail": chi-square of the
# first-record counts of u1, u2, u3 against the weights, at p = 0.001 for 2 degrees of freedom.
verdict() {
	$PY - "$1" "$2" <<'PY'
import sys
counts = dict(line.split("=") for line in sys.argv[1].split())
weights = [float(w) for w in sys.argv[2].split(",")]
addrs = ["10.201.0.11", "10.201.0.12", "10.201.0.13"]
seen = [int(counts.get(a, 0)) for a in addrs]
n = sum(int(v) for v in counts.values())
expected = [n * w / sum(weights) for w in weights]
chi = sum((s - e) ** 2 / e for s, e in zip(seen, expected))
CRITICAL = 13.816  # chi-square, 2 degrees of freedom, p = 0.001
print("n=%d u3=%.1f chi=%.2f %s" % (n, 100.0 * seen[2] / max(n, 1), chi, "pass" if chi < CRITICAL else "fail"))
PY
}
u3_within() { awk -v v="$1" -v want="$2" -v slack="$3" 'BEGIN { split(v, f, "[ =]"); d = f[4] - want; exit !(d <= slack && -d <= slack) }'; }

v=$(verdict "$(firsts_dig "$ORD" 1000 user-service.svc.internal 3)" 45,45,10)
echo "# 90/10, 1,000 dig answers over TCP: $v"
like "$v" "^n=1000 " "1,000 dig answers from order-service over TCP"
check "u3 first in 10% +- 3 points of them ($v)" u3_within "$v" 10 3
like "$v" " pass$" "first records pass a per-instance chi-square against 45/45/10 at p = 0.001"
v=$(verdict "$(firsts_getent "$ORD" 300 user-service.svc.internal)" 45,45,10)
echo "# 90/10, 300 glibc lookups from order-service: $v"
like "$v" "^n=300 .* pass$" "300 glibc lookups from order-service agree (chi-square at p = 0.001)"
check "glibc puts u3 first in 10% +- 6 points ($v)" u3_within "$v" 10 6

ip netns exec "$SV" curl -sN --max-time 10 http://127.0.0.1:8054/v1/watch >"$WORK/watch" 2>/dev/null &
WATCH_PID=$!
watching() { grep -q 'watcher joined' "$SERVER_LOG"; }
check "a watcher joined" wait_for 5 watching
is "$(ctl split user-service v1=50 v2=50)" OK "split v1=50 v2=50"
split_event() { grep -q '"event":"split","service":"user-service","shares":{"v1":50,"v2":50}' "$WORK/watch"; }
check "/v1/watch streams the split event" wait_for 5 split_event
kill "$WATCH_PID" 2>/dev/null; wait "$WATCH_PID" 2>/dev/null
v=$(verdict "$(firsts_dig "$ORD" 1000 user-service.svc.internal 3)" 45,45,10)
echo "# 50/50 against 45/45/10: $v"
like "$v" " fail$" "v1=50 v2=50 fails the 90/10 chi-square"
check "v1=50 v2=50 puts u3 first outside 10% +- 3 points" eval '! u3_within "$v" 10 3'
v=$(verdict "$(firsts_dig "$ORD" 1000 user-service.svc.internal 3)" 25,25,50)
echo "# 50/50 against 25/25/50: $v"
like "$v" " pass$" "v1=50 v2=50 passes its own chi-square (25/25/50)"
check "and puts u3 first in 50% +- 5 points" u3_within "$v" 50 5

is "$(ctl split user-service v1=90 v2=10)" OK "split v1=90 v2=10 again"
pinned=$(firsts_getent "$PIN" 100 user-service.svc.internal)
like "$pinned" "^10.201.0.11=(9[5-9]|100)$" "the .9 client: rule 9 pins glibc to u1 (.11) without a limit ($pinned)"
is "$(ctl split user-service v1=90 v2=10 --limit 1)" OK "split v1=90 v2=10 --limit 1"
is "$(dig_from "$PIN" +short user-service.svc.internal A | wc -l)" 1 "limit=1: one address record per answer"
v=$(verdict "$(firsts_getent "$PIN" 300 user-service.svc.internal)" 45,45,10)
echo "# 90/10 limit=1, 300 glibc lookups from .9: $v"
like "$v" "^n=300 .* pass$" "the .9 client gets 90/10 once limit=1 is set (chi-square at p = 0.001)"
check "u3 first in 10% +- 6 points for the .9 client ($v)" u3_within "$v" 10 6

like "$(sv_reg 'SPLIT user-service v1=90 v2=20')" "^ERR 400 percents sum to 110" "SPLIT summing to 110: ERR 400"

# ---------------------------------------------------------------- restart with --state
stop_server
ip netns exec "$SV" "$SVCDNS_BIN" --dns 0.0.0.0:53 --register "127.0.0.1:$REGPORT" --http "0.0.0.0:8054" \
	--config "$WORK/svcdns.yml" --zones "$WORK/none" --state "$WORK/state" --log-level debug >>"$SERVER_LOG" 2>&1 &
SERVER_PID=$!
if ! wait_for 15 sv_answers; then ok 1 "svcdns answers again after a restart"; exit 1; fi
ok 0 "svcdns answers again after a restart"
is "$(dig_from "$ORD" +short user-service.svc.internal SRV | awk '{ print $2, $4 }' | sort -k2 | paste -sd' ' -)" \
	"45 u1.user-service.svc.internal. 45 u2.user-service.svc.internal. 10 u3.user-service.svc.internal." \
	"the split and the tags survive a restart with --state (SRV 45/45/10)"
is "$(dig_from "$PIN" +short user-service.svc.internal A | wc -l)" 1 "limit=1 survives the restart"
is "$(short_from "$TOOL" user-service.svc.internal A)" 10.202.0.11 "u1's addr= survives the restart"

is "$(ctl split user-service)" OK "svcdnsctl split user-service clears the split"
is "$(dig_from "$ORD" +short user-service.svc.internal SRV | awk '{ print $2 }' | sort -u)" 0 \
	"cleared: SRV weights are the registered ones again (0)"

# ---------------------------------------------------------------- reload (SIGHUP)
# frontend now also covers 192.0.2.0/24: legacy's own address lies in a CIDR, so its
# network=user-backend no longer applies and it moves to frontend.
sed -i 's|frontend: \[10.201.0.0/24\]|frontend: [10.201.0.0/24, 192.0.2.0/24]|' "$WORK/svcdns.yml"
kill -HUP "$SERVER_PID"
moved() { [ "$(short_from "$ORD" legacy.svc.internal A)" = 192.0.2.50 ]; }
check "after a reload that changes networks:, order-service sees legacy" wait_for 10 moved
is "$(status_from "$TOOL" legacy.svc.internal A)" NXDOMAIN "... and the tool no longer does"
check "svcdns still running" kill -0 "$SERVER_PID"

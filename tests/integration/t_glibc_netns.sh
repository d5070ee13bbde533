#!/usr/bin/env bash
# t_glibc_netns.sh -- glibc's own stub resolver (getent: getaddrinfo / gethostbyname2) against
# the real svcdns. glibc only talks to port 53, so the test makes a private network namespace
# with a veth pair (both ends inside it, 198.18.213.0/24 benchmark range), runs svcdns inside
# it on 198.18.213.1:53, and gives the namespace its own resolv.conf / nsswitch.conf / hosts
# under /etc/netns/NS (otherwise glibc may ask a host-side resolver daemon, and getaddrinfo
# with AI_ADDRCONFIG needs a non-loopback address: hence the veth). The namespace has no route anywhere
# else, so every answer glibc sees comes from svcdns.
# Needs root (ip netns add); skips with a TAP SKIP line only when the namespace cannot be made
# by a non-root user.
. "$(dirname "$0")/../lib.sh"

NS=svcdns-glibc-$$
NS_ETC=/etc/netns/$NS
SRV_ADDR=198.18.213.1     # svcdns listens here (veth end A)
PEER_ADDR=198.18.213.2    # veth end B: a second non-loopback address for AI_ADDRCONFIG
NS_CREATED=0
exec 3>&1                 # lib.sh discards on_exit output; teardown reports TAP lines on fd 3

nsx() { ip netns exec "$NS" "$@"; }

ns_gone() {
	[ ! -e "/run/netns/$NS" ] && ! ip netns list | awk -v n="$NS" '$1 == n { f = 1 } END { exit !f }'
}

# teardown_ns: processes first (by PID), then the namespace, then its /etc/netns directory.
teardown_ns() {
	if [ -n "$SERVER_PID" ]; then
		stop_server >&3 2>&1       # kills SERVER_PID and reports its exit status
	fi
	local pids
	pids=$(ip netns pids "$NS" 2>/dev/null)   # stragglers (a hung getent): all started here
	if [ -n "$pids" ]; then
		echo "# killing leftover processes in $NS: $pids" >&3
		kill -KILL $pids 2>/dev/null
	fi
	ip netns del "$NS" 2>/dev/null
	rm -rf "$NS_ETC"
	if [ "$NS_CREATED" = 1 ]; then
		check "namespace $NS deleted" ns_gone >&3 2>&1
		check "$NS_ETC removed" test ! -e "$NS_ETC" >&3 2>&1
	fi
}
on_exit teardown_ns

# ---------------------------------------------------------------- namespace
if ! ip netns add "$NS" 2>"$WORK/netns.err"; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "ok 1 - # SKIP cannot create a network namespace (not root): $(head -1 "$WORK/netns.err")"
		exit 0
	fi
	ok 1 "ip netns add $NS (as root)"
	sed 's/^/#   /' "$WORK/netns.err"
	exit 1
fi
NS_CREATED=1
ok 0 "created network namespace $NS"

check "$NS_ETC and a veth pair with $SRV_ADDR and $PEER_ADDR up inside $NS" netns_host "$NS" \
	"$SRV_ADDR" "$PEER_ADDR" "$(printf 'nameserver %s\nsearch svc.internal\noptions timeout:1 attempts:2 ndots:1\n' "$SRV_ADDR")"
check "namespace sees its own resolv.conf" eval 'nsx grep -qx "nameserver $SRV_ADDR" /etc/resolv.conf'
check "namespace has no default route (answers can only come from svcdns)" eval '[ -z "$(ip -n "$NS" route show default)" ]'

# ---------------------------------------------------------------- server
mkdir -p "$WORK/zones"   # empty: only the static instances below
cat >"$WORK/svcdns.yml" <<EOF
services:
  - service: db
    instance: db-1
    address: 10.0.0.5
    port: 5432
  - service: web
    instance: web-1
    address: 10.0.0.11
    port: 8080
  - service: web
    instance: web-2
    address: 10.0.0.12
    port: 8080
EOF

# Started directly (not in a function or subshell) so that $! is the process that becomes svcdns:
# `ip netns exec` enters the namespace and execs the command in place.
ip netns exec "$NS" "$SVCDNS_BIN" --dns "$SRV_ADDR:53" --config "$WORK/svcdns.yml" \
	--zones "$WORK/zones" --log-level debug >>"$SERVER_LOG" 2>&1 &
SERVER_PID=$!

ns_server_answers() {
	kill -0 "$SERVER_PID" 2>/dev/null || return 1
	nsx dig @"$SRV_ADDR" -p 53 +time=1 +tries=1 +norec svc.internal SOA | grep -q 'status: NOERROR' &&
	nsx dig @"$SRV_ADDR" -p 53 +tcp +time=1 +tries=1 +norec svc.internal SOA | grep -q 'status: NOERROR'
}
if ! wait_for 15 ns_server_answers; then
	ok 1 "svcdns answers SOA on $SRV_ADDR:53 (UDP and TCP) inside $NS"
	tail -n 20 "$SERVER_LOG" | sed 's/^/#   /'
	exit 1
fi
ok 0 "svcdns answers SOA on $SRV_ADDR:53 (UDP and TCP) inside $NS"
if [ "${SVCDNS_FLAVOUR:-}" = valgrind ]; then   # make valgrind: SVCDNS_BIN execs valgrind on the release build
	like "$(tr '\0' ' ' <"/proc/$SERVER_PID/cmdline")" "valgrind.* $ROOT_DIR/build/release/svcdns " "recorded PID $SERVER_PID is valgrind running svcdns"
else
	is "$(readlink "/proc/$SERVER_PID/exe")" "$(readlink -f "$SVCDNS_BIN")" "recorded PID $SERVER_PID is svcdns itself"
fi
is "$(ip netns identify "$SERVER_PID")" "$NS" "svcdns runs inside $NS"

# addrs: the distinct addresses (first column) of getent ahosts* output, sorted, space-separated.
addrs() { awk 'NF { print $1 }' | sort -u | paste -sd' ' -; }
# canon: the canonical name getent ahosts prints on its first line.
canon() { awk 'NR == 1 { print $3 }'; }

# ---------------------------------------------------------------- glibc lookups
out=$(nsx getent ahosts db.svc.internal); rc=$?
is "$rc" 0 "getent ahosts db.svc.internal succeeds"
is "$(addrs <<<"$out")" "10.0.0.5" "getent ahosts db.svc.internal returns exactly the static instance 10.0.0.5"
is "$(canon <<<"$out")" "db.svc.internal" "canonical name is db.svc.internal"

out=$(nsx getent ahosts db); rc=$?
is "$rc" 0 "getent ahosts db (short name) succeeds through the search line"
is "$(addrs <<<"$out")" "10.0.0.5" "getent ahosts db returns 10.0.0.5"
is "$(canon <<<"$out")" "db.svc.internal" "short name db was completed to db.svc.internal"

out=$(nsx getent hosts db.svc.internal); rc=$?
is "$rc" 0 "getent hosts db.svc.internal (gethostbyname2) succeeds"
is "$(awk '{ print $1 }' <<<"$out")" "10.0.0.5" "getent hosts db.svc.internal returns 10.0.0.5"

t0=$(date +%s%N)
out=$(nsx getent hosts nosuch.svc.internal); rc=$?
elapsed_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
is "$rc" 2 "getent hosts nosuch.svc.internal fails with exit 2 (not found)"
is "$out" "" "getent hosts nosuch.svc.internal prints nothing"
# Exit 2 also covers a dead server; the answers below show it was a real NXDOMAIN.
# With timeout:1 attempts:2 an unanswered lookup takes >= 8 s (two families x two names x 2 s).
ok "$([ "$elapsed_ms" -lt 3000 ]; echo $?)" "nosuch.svc.internal was answered, not timed out (${elapsed_ms} ms)"
like "$(nsx dig @"$SRV_ADDR" -p 53 +time=2 +tries=1 +norec nosuch.svc.internal A)" \
	'status: NXDOMAIN' "svcdns itself answers NXDOMAIN for nosuch.svc.internal"
out=$(nsx getent ahosts nosuch); rc=$?
is "$rc" 2 "getent ahosts nosuch (short name) fails with exit 2"

out=$(nsx getent ahostsv4 web.svc.internal); rc=$?
is "$rc" 0 "getent ahostsv4 web.svc.internal succeeds"
is "$(addrs <<<"$out")" "10.0.0.11 10.0.0.12" "getent ahostsv4 web.svc.internal returns both instances"
out=$(nsx getent ahostsv4 web); rc=$?
is "$(addrs <<<"$out")" "10.0.0.11 10.0.0.12" "getent ahostsv4 web (short name) returns both instances"

out=$(nsx getent ahostsv4 db.svc.internal); rc=$?
is "$(addrs <<<"$out")" "10.0.0.5" "getent ahostsv4 db.svc.internal still returns 10.0.0.5 after the misses"
check "svcdns still running after the glibc lookups" kill -0 "$SERVER_PID"

# ---------------------------------------------------------------- shutdown
stop_server   # SIGTERM, wait, "server exited cleanly" + sanitizer check; clears SERVER_PID
# teardown_ns (exit trap) deletes the namespace and /etc/netns/$NS and checks both are gone.

# tests/lib.sh -- shared helpers for the integration scripts (source it).
# Each script starts the real bin/svcdns on loopback ports, asserts with real
# clients, prints TAP lines, and cleans up whatever it started on exit.

set -u
TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT_DIR=$(dirname "$TESTS_DIR")
SVCDNS_BIN=${SVCDNS_BIN:-$ROOT_DIR/build/release/svcdns}
SVCDNS_TOOLS=${SVCDNS_TOOLS:-$ROOT_DIR/build/release/tools}
WORK=$(mktemp -d /tmp/svcdns-test.XXXXXX)
mkdir "$WORK/none"  # an empty zones directory: `--zones "$WORK/none"` serves no zone file
TEST_NUM=0
TEST_FAILED=0
CLEANUP=()          # commands run on exit, last registered first
SERVER_PID=""
SERVER_LOG=$WORK/server.log

ok() {  # ok CONDITION-EXIT-STATUS DESCRIPTION: use as `check desc cmd...` instead where possible
	TEST_NUM=$((TEST_NUM + 1))
	if [ "$1" -eq 0 ]; then echo "ok $TEST_NUM - $2"; else echo "not ok $TEST_NUM - $2"; TEST_FAILED=1; fi
}

# check DESCRIPTION COMMAND...: passes when the command exits 0.
check() {
	local desc=$1; shift
	if "$@"; then ok 0 "$desc"; else ok 1 "$desc"; fi
}

# is GOT WANT DESCRIPTION
is() {
	if [ "$1" == "$2" ]; then ok 0 "$3"; else ok 1 "$3"; echo "#   got:  '$1'"; echo "#   want: '$2'"; fi
}

# like GOT REGEX DESCRIPTION
like() {
	if [[ $1 =~ $2 ]]; then ok 0 "$3"; else ok 1 "$3"; echo "#   got:  '$1'"; echo "#   want match: '$2'"; fi
}

on_exit() { CLEANUP+=("$*"); }

_cleanup() {
	local rc=$?
	local i
	for ((i = ${#CLEANUP[@]} - 1; i >= 0; i--)); do eval "${CLEANUP[$i]}" >/dev/null 2>&1 || true; done
	stop_server
	if [ "$TEST_FAILED" -ne 0 ] && [ -s "$SERVER_LOG" ]; then
		echo "# server log (last 30 lines):"; tail -n 30 "$SERVER_LOG" | sed 's/^/#   /'
	fi
	rm -rf "$WORK"
	[ "$TEST_FAILED" -ne 0 ] && exit 1
	exit $rc
}
trap _cleanup EXIT

# free_port: a port no socket uses, below the kernel's range for client ports
# (32768-60999): a client port in TIME_WAIT could not be bound by the server.
free_port() {
	local p
	for _ in $(seq 1 100); do
		p=$((10000 + RANDOM % 22000))
		if ! ss -Htuan "sport = :$p" | grep -q .; then
			echo "$p"; return 0
		fi
	done
	return 1
}

# wait_for DEADLINE-SECONDS COMMAND...: polls until the command succeeds.
wait_for() {
	local deadline=$(( $(date +%s%N) / 1000000 + $1 * 1000 )); shift
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		[ $(( $(date +%s%N) / 1000000 )) -ge "$deadline" ] && return 1
		sleep 0.05
	done
}

# start_server ARGS...: runs svcdns with DNS on 127.0.0.1:$PORT, registration on
# 127.0.0.1:$REGPORT and the HTTP API on 127.0.0.1:$HTTPPORT (never the shared default
# 8054) plus the given extra flags, and waits until it answers SOA over UDP and TCP.
# Sets PORT, REGPORT, HTTPPORT and SERVER_PID.
start_server() {
	PORT=${PORT:-$(free_port)}
	REGPORT=${REGPORT:-$(free_port)}
	HTTPPORT=${HTTPPORT:-$(free_port)}
	"$SVCDNS_BIN" --dns "127.0.0.1:$PORT" --register "127.0.0.1:$REGPORT" --http "127.0.0.1:$HTTPPORT" --log-level debug "$@" >>"$SERVER_LOG" 2>&1 &
	SERVER_PID=$!
	if ! wait_for "${SVCDNS_START_TIMEOUT:-10}" server_answers; then   # make valgrind raises it
		echo "# svcdns did not come up on port $PORT"; tail -n 20 "$SERVER_LOG" | sed 's/^/#   /'
		return 1
	fi
}

server_answers() {
	kill -0 "$SERVER_PID" 2>/dev/null || return 1
	dig @127.0.0.1 -p "$PORT" +time=1 +tries=1 +norec "${DOMAIN:-svc.internal}" SOA | grep -q 'status: NOERROR' &&
	dig @127.0.0.1 -p "$PORT" +tcp +time=1 +tries=1 +norec "${DOMAIN:-svc.internal}" SOA | grep -q 'status: NOERROR'
}

# stop_server: SIGTERM, wait, and fail the test when the server did not exit cleanly
# (a sanitizer report makes the exit status non-zero).
stop_server() {
	[ -n "$SERVER_PID" ] || return 0
	local pid=$SERVER_PID rc
	SERVER_PID=""
	kill -TERM "$pid" 2>/dev/null
	for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null; rc=$?
	ok "$rc" "server exited cleanly (status $rc)"
	if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$SERVER_LOG"; then
		ok 1 "no sanitizer reports"; grep -E -A5 'Sanitizer|runtime error' "$SERVER_LOG" | head -40 | sed 's/^/#   /'
	fi
}

# reg_tcp / reg_udp: send stdin's registration lines to the test server, print the replies.
reg_tcp() { /usr/bin/python3 "$TESTS_DIR/tools/reg_send.py" tcp 127.0.0.1 "$REGPORT" "$@"; }
reg_udp() { /usr/bin/python3 "$TESTS_DIR/tools/reg_send.py" udp 127.0.0.1 "$REGPORT" "$@"; }
# reg LINE: one request over TCP, its reply.
reg() { printf '%s\n' "$1" | reg_tcp; }

# q ARGS...: dig against the test server with short timeouts, no recursion.
q() { dig @127.0.0.1 -p "$PORT" +time=2 +tries=1 +norec "$@"; }
# short answers without the ';;' noise dig prints on errors.
qs() { q +short "$@" | grep -v '^;' ; }
# rcode of a query: NOERROR, NXDOMAIN, ...
rcode() { q "$@" | sed -n 's/.*status: \([A-Z]*\).*/\1/p' | head -1; }

# netns_host NS ADDR_A ADDR_B RESOLV_CONF_TEXT: makes the network namespace NS (created by
# the caller) a host: its own /etc/netns/NS (resolv.conf as given, nsswitch "files dns" and
# a minimal hosts file, so glibc never asks a host-side daemon) and a veth pair with both
# ends inside it, ADDR_A/24 and ADDR_B/24 (AI_ADDRCONFIG needs a non-loopback address).
netns_host() {
	local ns=$1 a=$2 b=$3 resolv=$4 etc=/etc/netns/$1
	mkdir -p "$etc" &&
	printf '%s\n' "$resolv" >"$etc/resolv.conf" &&
	printf 'hosts: files dns\n' >"$etc/nsswitch.conf" &&
	printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$etc/hosts" &&
	ip -n "$ns" link set lo up &&
	ip -n "$ns" link add vA type veth peer name vB &&
	ip -n "$ns" addr add "$a/24" dev vA &&
	ip -n "$ns" addr add "$b/24" dev vB &&
	ip -n "$ns" link set vA up && ip -n "$ns" link set vB up
}

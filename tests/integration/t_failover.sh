#!/usr/bin/env bash
# Client failover over a server list (svcdnsctl --server A,B, SVCDNS_SERVER, libsvcdns):
# a server that is dead, hung (SIGSTOP) or answers ERR 503 passes the request to the next
# one; --keepalive sticks to the server that answers and moves on when it fails; a bad
# list is a usage error, and when no server can take a request the error names each one.
. "$(dirname "$0")/../lib.sh"

CTL=$(dirname "$SVCDNS_BIN")/svcdnsctl
if [ ! -x "$CTL" ]; then
	ok 1 "$CTL is built"
	exit 1
fi
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# on NODE_DNS_PORT NAME: the A records that node gives.
on() { dig @127.0.0.1 -p "$1" +time=1 +tries=1 +norec +short "$2" A | grep -v '^;'; }
# has NODE_DNS_PORT NAME ADDRESS / lacks NODE_DNS_PORT NAME: for wait_for.
has() { [ "$(on "$1" "$2")" = "$3" ]; }
lacks() { [ -z "$(on "$1" "$2")" ]; }
has_soa() { dig @127.0.0.1 -p "$1" +time=1 +tries=1 +norec svc.internal SOA | grep -q 'status: NOERROR'; }

# Node A is the lib's server; node B is a second, independent svcdns started here.
start_server --zones "$WORK/none" || exit 1
A_PID=$SERVER_PID A_DNS=$PORT A_REG=$REGPORT
B_DNS=$(free_port) B_REG=$(free_port) B_HTTP=$(free_port)
start_b() {
	"$SVCDNS_BIN" --dns "127.0.0.1:$B_DNS" --register "127.0.0.1:$B_REG" --http "127.0.0.1:$B_HTTP" \
		--zones "$WORK/none" >>"$WORK/b.log" 2>&1 &
	B_PID=$!
	wait_for 10 has_soa "$B_DNS"
}
start_b || { ok 1 "node B came up"; exit 1; }
on_exit 'kill -CONT $A_PID $B_PID; kill -KILL $B_PID'

LIST="127.0.0.1:$A_REG,127.0.0.1:$B_REG"

# --- both up: the first server takes the request ------------------------------------------
"$CTL" --server "$LIST" register web w1 10.1.0.1 80 --ttl 60 >/dev/null
is "$(on "$A_DNS" w1.web.svc.internal)" "10.1.0.1" "both up: the first server of the list took it"
is "$(on "$B_DNS" w1.web.svc.internal)" "" "and the second did not see it"
SVCDNS_SERVER="$LIST" "$CTL" register web w2 10.1.0.2 80 --ttl 60 >/dev/null
is "$(on "$A_DNS" w2.web.svc.internal)" "10.1.0.2" "SVCDNS_SERVER takes the same list"

# --- a hung first server (SIGSTOP): one timeout, then the next ------------------------------
kill -STOP "$A_PID"
t0=$(now_ms)
out=$("$CTL" --server "$LIST" register web w3 10.1.0.3 80 --ttl 60 2>&1); rc=$?
dt=$(($(now_ms) - t0))
echo "# hung first server: the request was answered by the second after $dt ms"
is "$rc" "0" "a hung first server: the request succeeds at the second ($out)"
is "$(on "$B_DNS" w3.web.svc.internal)" "10.1.0.3" "the second server has it"
check "it moved on within 2 s ($dt ms)" test "$dt" -lt 2000
kill -CONT "$A_PID"

# --- a dead first server: refused at once -------------------------------------------------
kill -KILL "$A_PID"; wait "$A_PID" 2>/dev/null; SERVER_PID=""
t0=$(now_ms)
out=$("$CTL" --server "$LIST" --tcp register web w4 10.1.0.4 80 --ttl 60 2>&1); rc=$?
dt=$(($(now_ms) - t0))
echo "# dead first server over TCP: answered by the second after $dt ms"
is "$rc" "0" "a dead first server (TCP): the request succeeds at the second ($out)"
is "$(on "$B_DNS" w4.web.svc.internal)" "10.1.0.4" "the second server has it"
lines=$("$CTL" --server "$LIST" list web | grep -c '^web ')
is "$lines" "2" "LIST goes to the second server too"

# --- ERR 503 from the first server (its state file cannot grow) passes the request on -----
A_DNS=$(free_port) A_REG=$(free_port)
(ulimit -f 1; exec "$SVCDNS_BIN" --dns "127.0.0.1:$A_DNS" --register "127.0.0.1:$A_REG" --http "127.0.0.1:$(free_port)" \
	--zones "$WORK/none" --state "$WORK/small.db" >>"$WORK/small.log" 2>&1) &
A_PID=$!
check "a server whose state file may not pass 1 KiB came up" wait_for 10 has_soa "$A_DNS"
for i in $(seq 1 60); do echo "REGISTER full f$i 10.9.0.1 80 ttl=60"; done | \
	/usr/bin/python3 "$TESTS_DIR/tools/reg_send.py" tcp 127.0.0.1 "$A_REG" >"$WORK/full.out"
check "the first server refuses writes with ERR 503 once its file is full" grep -q '^ERR 503' "$WORK/full.out"
LIST="127.0.0.1:$A_REG,127.0.0.1:$B_REG"
out=$("$CTL" --server "$LIST" register web w5 10.1.0.5 80 --ttl 60 2>&1); rc=$?
is "$rc" "0" "ERR 503 at the first server: the second takes the request ($out)"
is "$(on "$B_DNS" w5.web.svc.internal)" "10.1.0.5" "the second server has it"
out=$("$CTL" --server "127.0.0.1:$A_REG" register web w6 10.1.0.6 80 --ttl 60 2>&1); rc=$?
is "$rc" "1" "with the first server alone, ERR 503 is the answer (status 1)"
like "$out" "ERR 503" "and it is printed"
kill -TERM "$A_PID"; wait "$A_PID"; rc=$?
is "$rc" "0" "the full server exited cleanly"

# --- --keepalive sticks to the server that answers, and moves on within 2 s ---------------
PORT="" REGPORT="" HTTPPORT=""
start_server --zones "$WORK/none" || exit 1
A_PID=$SERVER_PID A_DNS=$PORT A_REG=$REGPORT
LIST="127.0.0.1:$A_REG,127.0.0.1:$B_REG"
"$CTL" --server "$LIST" register api k1 10.2.0.1 80 --ttl 3 --keepalive >"$WORK/keepalive.log" 2>&1 &
KA_PID=$!
on_exit "kill -KILL $KA_PID"
check "keepalive registered at the first server" wait_for 5 has "$A_DNS" k1.api.svc.internal 10.2.0.1
kill -KILL "$A_PID"; wait "$A_PID" 2>/dev/null; SERVER_PID=""
t0=$(now_ms)
if wait_for 6 has "$B_DNS" k1.api.svc.internal 10.2.0.1; then
	dt=$(($(now_ms) - t0))
	echo "# keepalive: the instance was at the second server $dt ms after the first died (renewals every 1 s)"
	check "keepalive failed over within a renewal interval plus 2 s ($dt ms)" test "$dt" -lt 3000
else
	ok 1 "keepalive registered the instance at the second server after the first died"
fi
check "and logged the failover" wait_for 3 grep -q "failed over from 127.0.0.1:$A_REG to 127.0.0.1:$B_REG" "$WORK/keepalive.log"
# The first server is back (empty): the keepalive stays with the one that works.
PORT=$A_DNS REGPORT=$A_REG HTTPPORT=""
start_server --zones "$WORK/none" || exit 1
# Its lease is 3 s: still there 4 s later means the renewals go on at the second server.
end=$(($(now_ms) + 4000)) misses=0
while [ "$(now_ms)" -lt "$end" ]; do
	[ "$(on "$B_DNS" k1.api.svc.internal)" = 10.2.0.1 ] || misses=$((misses + 1))
	sleep 0.2
done
is "$misses" "0" "keepalive goes on renewing at the second server (4 s, lease 3 s)"
is "$(on "$A_DNS" k1.api.svc.internal)" "" "and does not move back to the first"
kill -TERM "$KA_PID"; wait "$KA_PID"; rc=$?
is "$rc" "0" "keepalive stopped cleanly"
check "its DEREGISTER went to the server it used" wait_for 3 lacks "$B_DNS" k1.api.svc.internal

# --- bad lists and no server at all -----------------------------------------------------
"$CTL" --server "127.0.0.1:$A_REG,,127.0.0.1:$B_REG" ping >/dev/null 2>&1; rc=$?
is "$rc" "2" "an empty entry in the list is a usage error"
many=$(printf '127.0.0.1:%d,' $(seq 20001 20017)); many=${many%,}
"$CTL" --server "$many" ping >/dev/null 2>&1; rc=$?
is "$rc" "2" "17 servers are a usage error (at most 16)"
D1=$(free_port) D2=$(free_port)
out=$("$CTL" --server "127.0.0.1:$D1,127.0.0.1:$D2" ping 2>&1); rc=$?
is "$rc" "1" "no server answers: status 1"
like "$out" "127.0.0.1:$D1: .*127.0.0.1:$D2: " "the error names each server and what went wrong"

kill -TERM "$B_PID"; wait "$B_PID"; rc=$?
is "$rc" "0" "node B exited cleanly"
check "no sanitizer report from node B or the full server" \
	bash -c "! grep -qE 'Sanitizer|runtime error:' '$WORK/b.log' '$WORK/small.log'"

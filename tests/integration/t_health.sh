#!/usr/bin/env bash
# Health checks against real backends on loopback: HTTP servers whose /health status the
# test sets, a TCP listener, a gRPC health server (Debian's python3-grpcio).  A failing
# instance leaves A, SRV and PTR and comes back; 429 is warning (dropped with
# only-passing); all failing answers all (fail-open, counted) or NODATA with fail-open:
# false; fall=/rise=; a hanging probe cut at timeout=; ERR 403 for a foreign HOST; a
# passing check never keeps a lease alive; health events on /v1/watch and svcdnsctl
# watch; a health change is no zone change (the serial stays); static services' check:.
. "$(dirname "$0")/../lib.sh"

PY=/usr/bin/python3
BACKEND=$TESTS_DIR/tools/health_server.py
HP=$(free_port)      # every backend listens on this port, each on its own 127.0.0.x
SVCDNSCTL=$(dirname "$SVCDNS_BIN")/svcdnsctl

# backend KIND ADDR [STATUS]: starts a backend; its status file is $WORK/st.ADDR.
backend() {
	local kind=$1 addr=$2 pid
	echo "${3:-200}" >"$WORK/st.$addr"
	"$PY" "$BACKEND" "$kind" "$addr" "$HP" "$WORK/st.$addr" >"$WORK/backend.$addr" 2>&1 &
	pid=$!
	on_exit "kill $pid"
	eval "PID_${addr//./_}=$pid"
	wait_for 10 grep -q ready "$WORK/backend.$addr"
}
set_status() { echo "$2" >"$WORK/st.$1"; }

write_config() {  # only-passing fail-open
	cat >"$WORK/svcdns.yml" <<YML
health: { max-concurrent: 8, only-passing: $1, fail-open: $2 }
services:
  - service: fixed
    instance: s1
    address: 127.0.0.30
    port: $HP
    check: { tcp: "tcp", interval: 1s, timeout: 500ms }
YML
}
# reload: SIGHUP, and wait until the server says it reloaded.
reload() {
	local n
	n=$(grep -c 'reload: .* loaded' "$SERVER_LOG")
	kill -HUP "$SERVER_PID"
	wait_for 5 test "$(grep -c 'reload: .* loaded' "$SERVER_LOG")" -gt "$n"
}

for a in 127.0.0.11 127.0.0.12 127.0.0.13; do backend http $a; done
backend grpc 127.0.0.14 SERVING
backend tcp 127.0.0.15
write_config false true
start_server --config "$WORK/svcdns.yml" --zones "$WORK/none" || exit 1
API="http://127.0.0.1:$HTTPPORT"
metric() { curl -s --max-time 5 "$API/metrics" | awk -v series="$1" '$1 == series { print $2 }'; }

# state INSTANCE [SERVICE]: its health state from LIST ("" when not listed).
state() { reg "LIST ${2:-web}" | awk -v i="$1" '$2 == i { for (f = 5; f <= NF; f++) if ($f ~ /^health=/) { sub(/^health=/, "", $f); split($f, p, "/"); print p[1] } }'; }
result() { reg "LIST ${2:-web}" | awk -v i="$1" '$2 == i { for (f = 5; f <= NF; f++) if ($f ~ /^health=/) { split($f, p, "/"); print p[2] } }'; }
state_is() { [ "$(state "$1" "${3:-web}")" = "$2" ]; }
addrs() { qs "${1:-web}.svc.internal" A | sort | tr '\n' ' '; }
srv_targets() { qs "${1:-web}.svc.internal" SRV | awk '{ print $4 }' | sort | tr '\n' ' '; }
ptr() { qs -x "$1"; }
addrs_are() { [ "$(addrs "${2:-web}")" = "$1" ]; }

watch_file=$WORK/watch.out
curl -sN "$API/v1/watch?renewals=0" >"$watch_file" 2>/dev/null &
watch_pid=$!; on_exit "kill $watch_pid"
"$SVCDNSCTL" --http "127.0.0.1:$HTTPPORT" watch >"$WORK/ctlwatch.out" 2>&1 &
ctl_pid=$!; on_exit "kill $ctl_pid"
wait_for 5 test "$(metric svcdns_http_watchers)" = 2

# --- registration: options, refusals --------------------------------------------------------
for i in 1 2 3; do
	is "$(reg "REGISTER web u$i 127.0.0.1$i $HP ttl=120 check=http://:$HP/health interval=1s")" "OK ttl=120" "register u$i with an HTTP check"
done
like "$(reg "REGISTER web bad 127.0.0.19 $HP check=http://127.0.0.11:$HP/health")" '^ERR 403 ' "a check aimed at another address: ERR 403"
like "$(reg "REGISTER web bad 127.0.0.19 $HP interval=2s")" '^ERR 400 .*need check=' "interval= without check=: ERR 400"
like "$(reg "REGISTER web bad 127.0.0.19 $HP check=tcp interval=500ms")" '^ERR 400 interval: at least 1s' "interval below 1s: ERR 400"
like "$(reg "REGISTER web bad 127.0.0.19 $HP check=tcp interval=2s timeout=3s")" '^ERR 400 timeout: at most the interval' "timeout above the interval: ERR 400"
like "$(reg "REGISTER web bad 127.0.0.19 $HP check=tcp interval=2")" '^ERR 400 interval: ' "a duration without its unit: ERR 400"
like "$(reg "REGISTER web bad 127.0.0.19 $HP check=ftp://:21/")" '^ERR 400 check: ' "an unknown scheme: ERR 400"
like "$(reg "REGISTER web bad 127.0.0.19 $HP check=tcp fall=0")" '^ERR 400 fall: ' "fall=0: ERR 400"

check "all three pass" wait_for 5 addrs_are "127.0.0.11 127.0.0.12 127.0.0.13 "
serial0=$(qs svc.internal SOA | awk '{ print $3 }')
like "$(reg 'LIST web' | grep '^web u1 ')" "check=http://:$HP/health interval=1s timeout=1s fall=1 rise=1 health=passing/http-200/20[0-9-]+T" "LIST shows the check and health=STATE/RESULT/TIME"

# --- HTTP: 500 leaves A, SRV and PTR within 3 s; 200 brings it back -----------------------------
set_status 127.0.0.12 500
t0=$(date +%s%N)
check "u2 answering 500 leaves the A answer" wait_for 3 addrs_are "127.0.0.11 127.0.0.13 "
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
ok $([ "$ms" -le 3000 ] && echo 0 || echo 1) "... within 3 s (${ms} ms)"
is "$(srv_targets)" "u1.web.svc.internal. u3.web.svc.internal. " "... and the SRV answer"
is "$(ptr 127.0.0.12)" "" "... and PTR by its address"
is "$(qs u2.web.svc.internal A)" "127.0.0.12" "INSTANCE.SERVICE.D still answers"
is "$(result u2)" "http-500" "LIST: the last result is http-500"
is "$(state u2)" "critical" "LIST: critical"
like "$(curl -s "$API/v1/services/web")" '"name":"u2"[^}]*"health":\{"state":"critical","result":"http-500","checked":"20' "/v1/services: health with the last result and its time"
is "$(qs svc.internal SOA | awk '{ print $3 }')" "$serial0" "a health change is no zone change: the serial stays"
check "one log line for the change" grep -q "health: u2.web passing -> critical (http-500)" "$SERVER_LOG"
check "/v1/watch streams the health event" wait_for 3 grep -q '"event":"health".*"instance":"u2".*"state":"critical"' "$watch_file"
check "svcdnsctl watch prints it" wait_for 3 grep -q 'health u2.web 127.0.0.12:[0-9]* ttl=[0-9]* health=critical (http-500)' "$WORK/ctlwatch.out"
set_status 127.0.0.12 200
check "200 brings it back" wait_for 3 addrs_are "127.0.0.11 127.0.0.12 127.0.0.13 "
is "$(ptr 127.0.0.12)" "u2.web.svc.internal." "... PTR too"

# --- 429: warning, kept; only-passing drops it -------------------------------------------------
set_status 127.0.0.13 429
check "429 is warning" wait_for 3 state_is u3 warning
is "$(addrs)" "127.0.0.11 127.0.0.12 127.0.0.13 " "a warning instance is still answered"
write_config true true; reload
check "with only-passing it is dropped" wait_for 3 addrs_are "127.0.0.11 127.0.0.12 "
write_config false true; reload
set_status 127.0.0.13 200

# --- all failing: fail-open answers all, counted; fail-open: false gives NODATA ------------------
opens=$(metric svcdns_health_fail_open_total)
for a in 127.0.0.11 127.0.0.12 127.0.0.13; do set_status $a 500; done
all_critical() { state_is u1 critical && state_is u2 critical && state_is u3 critical; }
check "all three at 500 are critical" wait_for 4 all_critical
is "$(addrs)" "127.0.0.11 127.0.0.12 127.0.0.13 " "all critical: all are answered (fail-open)"
is "$(srv_targets)" "u1.web.svc.internal. u2.web.svc.internal. u3.web.svc.internal. " "... SRV too"
check "fail-open is counted" test "$(metric svcdns_health_fail_open_total)" -gt "$opens"
check "fail-open is logged" grep -q "health: web: all 3 instance(s) fail their checks: answering all of them (fail-open)" "$SERVER_LOG"
write_config false false; reload
is "$(rcode web.svc.internal A)" "NOERROR" "fail-open: false: NOERROR"
is "$(q web.svc.internal A | grep -c 'IN[[:space:]]*A[[:space:]]*127')" "0" "... with no address (NODATA)"
like "$(q web.svc.internal A | sed -n '/AUTHORITY SECTION/,$p')" 'SOA' "... and the SOA"
write_config false true; reload
for a in 127.0.0.11 127.0.0.12 127.0.0.13; do set_status $a 200; done
check "all pass again" wait_for 4 addrs_are "127.0.0.11 127.0.0.12 127.0.0.13 "

# --- fall=3 and rise=2 -------------------------------------------------------------------------
is "$(reg "REGISTER web u1 127.0.0.11 $HP ttl=120 check=http://:$HP/health interval=1s fall=3 rise=2")" "OK ttl=120" "u1 again with fall=3 rise=2"
check "u1 passes (two successes)" wait_for 5 state_is u1 passing
set_status 127.0.0.11 500
wait_for 3 sh -c "[ \"\$(reg_result=1; printf 'LIST web\n' | $PY $TESTS_DIR/tools/reg_send.py tcp 127.0.0.1 $REGPORT | grep '^web u1 ' | grep -o 'health=[a-z]*/[a-z0-9-]*')\" = health=passing/http-500 ]"
ok $? "fall=3: one failure leaves it passing"
t0=$(date +%s%N)
check "fall=3: critical after three" wait_for 5 state_is u1 critical
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
ok $([ "$ms" -ge 1400 ] && echo 0 || echo 1) "... two more failures later (${ms} ms)"
set_status 127.0.0.11 200
wait_for 3 sh -c "printf 'LIST web\n' | $PY $TESTS_DIR/tools/reg_send.py tcp 127.0.0.1 $REGPORT | grep '^web u1 ' | grep -q 'health=critical/http-200'"
ok $? "rise=2: one success leaves it critical"
check "rise=2: passing after the second" wait_for 3 state_is u1 passing

# --- a hanging probe is cut at timeout= --------------------------------------------------------
is "$(reg "REGISTER web u3 127.0.0.13 $HP ttl=120 check=http://:$HP/health interval=2s timeout=300ms")" "OK ttl=120" "u3 with timeout=300ms"
check "u3 passes" wait_for 4 state_is u3 passing
set_status 127.0.0.13 hang
check "a hanging probe is cut: timeout, critical" wait_for 4 sh -c "printf 'LIST web\n' | $PY $TESTS_DIR/tools/reg_send.py tcp 127.0.0.1 $REGPORT | grep '^web u3 ' | grep -q 'health=critical/timeout'"
set_status 127.0.0.13 200

# --- TCP: closing the listener makes the check critical ----------------------------------------
is "$(reg "REGISTER db d1 127.0.0.15 $HP ttl=120 check=tcp interval=1s")" "OK ttl=120" "register d1 with a TCP check"
check "d1 passes (the connection opens)" wait_for 3 state_is d1 passing db
kill "$PID_127_0_0_15"; wait "$PID_127_0_0_15" 2>/dev/null
check "closing its listener makes it critical" wait_for 3 state_is d1 critical db
is "$(result d1 db)" "refused" "... refused"

# --- gRPC: SERVING and NOT_SERVING move it in and out ------------------------------------------
is "$(reg "REGISTER api g1 127.0.0.14 $HP ttl=120 check=grpc://:$HP interval=1s")" "OK ttl=120" "register g1 with a gRPC check"
is "$(reg "REGISTER api g2 127.0.0.16 $HP ttl=120")" "OK ttl=120" "g2 without a check"
check "SERVING: g1 passes" wait_for 4 state_is g1 passing api
check "... and is answered" wait_for 2 addrs_are "127.0.0.14 127.0.0.16 " api
set_status 127.0.0.14 NOT_SERVING
check "NOT_SERVING: g1 leaves the answers" wait_for 3 addrs_are "127.0.0.16 " api
is "$(result g1 api)" "not-serving" "... not-serving"
set_status 127.0.0.14 SERVING
check "SERVING again: g1 is back" wait_for 3 addrs_are "127.0.0.14 127.0.0.16 " api

# --- static services: check: in the config -----------------------------------------------------
check "a static instance's check is probed (nothing listens: critical)" wait_for 3 sh -c "printf 'LIST fixed\n' | $PY $TESTS_DIR/tools/reg_send.py tcp 127.0.0.1 $REGPORT | grep -q 'check=tcp interval=1s timeout=500ms fall=1 rise=1 health=critical/refused/20'"

# --- boundaries: the lease decides existence; a gone instance is no longer probed ---------------
is "$(reg "REGISTER short s1 127.0.0.11 $HP ttl=2 check=http://:$HP/health interval=1s")" "OK ttl=2" "a 2 s lease with a passing check"
check "it passes" wait_for 3 state_is s1 passing short
check "a passing check never keeps an unrenewed lease alive" wait_for 5 sh -c "[ -z \"\$(dig @127.0.0.1 -p $PORT +short short.svc.internal A | grep -v '^;')\" ]"
# LIST leaves out an ended lease at once; the sweep that removes it (and its check) logs it.
check "... it expires, and is no longer checked" wait_for 3 grep -q "expired s1.short" "$SERVER_LOG"
# checked: instances with a check, whatever their state (states change meanwhile; the sum does not)
checked() { curl -s --max-time 5 "$API/metrics" | awk '/^svcdns_health_instances/ { n += $2 } END { print n }'; }
before=$(checked)
is "$(reg 'DEREGISTER web u2')" "OK" "deregister u2"
is "$(checked)" "$((before - 1))" "a deregistered instance stops being checked at once"

# --- without check=, answers are as before -----------------------------------------------------
is "$(reg "REGISTER plain p1 127.0.0.40 9")" "OK ttl=30" "an instance without a check"
is "$(addrs plain)" "127.0.0.40 " "is answered at once, as always"
like "$("$SVCDNSCTL" --server "127.0.0.1:$REGPORT" register ctl c1 127.0.0.12 $HP --check "http://:$HP/health" --interval 2s --timeout 1s --fall 2 --rise 1)" "^OK ttl=" "svcdnsctl register --check --interval --timeout --fall --rise"
like "$("$SVCDNSCTL" --server "127.0.0.1:$REGPORT" --tcp list ctl)" "^ctl c1 127.0.0.12 $HP ttl=[0-9]+ check=http://:$HP/health interval=2s timeout=1s fall=2 rise=1 health=" "svcdnsctl list shows the check and health"
"$SVCDNSCTL" --server "127.0.0.1:$REGPORT" register ctl c2 127.0.0.12 $HP --interval 2s >/dev/null 2>&1
is "$?" "1" "svcdnsctl: --interval without --check is refused"

# --- a check survives a restart with --state; its health starts over (critical, probed) ----------
stop_server
start_server --config "$WORK/svcdns.yml" --zones "$WORK/none" --state "$WORK/state" || exit 1
is "$(reg "REGISTER keep k1 127.0.0.11 $HP ttl=120 check=http://:$HP/health interval=1s fall=2")" "OK ttl=120" "a check registered with --state"
stop_server
start_server --config "$WORK/svcdns.yml" --zones "$WORK/none" --state "$WORK/state" || exit 1
like "$(reg 'LIST keep')" "^keep k1 127.0.0.11 $HP ttl=[0-9]+ check=http://:$HP/health interval=1s timeout=1s fall=2 rise=1 health=" "after a restart the check is back"
check "... and probed again" wait_for 3 state_is k1 passing keep

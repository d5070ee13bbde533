#!/usr/bin/env bash
# Operator logs and signals: log-queries / --log-queries write one line per query (off by
# default: none), a flood of refused registrations is summarised (the first ones in
# full, then one line per interval with a count) while /metrics counts every one, and
# --pid-file holds the server's PID while it runs.
. "$(dirname "$0")/../lib.sh"

printf 'ttl: 5\nservices:\n  - { service: db, instance: db-1, address: 10.0.0.5, port: 5432 }\n' >"$WORK/svcdns.yml"
metric() { curl -s --max-time 5 "http://127.0.0.1:$HTTPPORT/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }

# --- off by default: not one query line ---------------------------------------------------
start_server --config "$WORK/svcdns.yml" --zones "$WORK/none" --pid-file "$WORK/svcdns.pid" || exit 1
is "$(cat "$WORK/svcdns.pid")" "$SERVER_PID" "--pid-file holds the server's PID"
is "$(qs db.svc.internal A)" "10.0.0.5" "answers"
is "$(grep -c ' query client=' "$SERVER_LOG")" "0" "log-queries off (the default): no query line"

# --- a flood of refusals: first lines in full, then a count; metrics count all ------------
for i in $(seq 1 1000); do echo "FROB $i"; done | reg_tcp >"$WORK/flood.out"
is "$(grep -c '^ERR 400' "$WORK/flood.out")" "1000" "1000 bad lines, 1000 ERR 400 replies"
is "$(metric 'svcdns_registrations_total{result="400"}')" "1000" "/metrics counts every refusal"
full=$(grep -c 'register: 127.0.0.1: ERR 400' "$SERVER_LOG")
is "$full" "10" "only the first 10 refusals of the interval are logged in full"
check "then one summary line with the count of the rest" \
	wait_for 15 grep -q 'register: ERR 400: 990 more in the last 1[0-9] s, not logged one by one' "$SERVER_LOG"
stop_server
check "--pid-file removed at a clean exit" test ! -e "$WORK/svcdns.pid"

# --- --log-queries: one line per query ----------------------------------------------------
start_server --config "$WORK/svcdns.yml" --zones "$WORK/none" --log-queries || exit 1
grep -q 'query log: on' "$SERVER_LOG"; ok $? "the start log says the query log is on"
before=$(grep -c ' query client=' "$SERVER_LOG")   # start_server's own SOA probes
q db.svc.internal A >/dev/null
q +tcp nosuch.svc.internal AAAA >/dev/null
q example.com A >/dev/null
lines() { [ "$(grep -c ' query client=' "$SERVER_LOG")" -ge "$1" ]; }
check "three queries, three more lines" wait_for 5 lines $((before + 3))
like "$(grep 'name=db.svc.internal.' "$SERVER_LOG")" "Z query client=127\\.0\\.0\\.1:[0-9]+ udp name=db\\.svc\\.internal\\. type=A rcode=NOERROR answers=1 us=[0-9]+$" \
	"a line: time, client, transport, name, type, rcode, answer count, microseconds"
like "$(grep 'name=nosuch' "$SERVER_LOG")" "tcp name=nosuch\\.svc\\.internal\\. type=AAAA rcode=NXDOMAIN answers=0 us=" "a TCP query's line, NXDOMAIN"
like "$(grep 'name=example.com' "$SERVER_LOG")" "type=A rcode=REFUSED answers=0" "a name outside our zones: REFUSED"
stop_server

# --- log-queries: true in the config file --------------------------------------------------
printf 'log-queries: true\n' >>"$WORK/svcdns.yml"
: >"$SERVER_LOG"
start_server --config "$WORK/svcdns.yml" --zones "$WORK/none" --log-level error || exit 1
q db.svc.internal SRV >/dev/null
check "log-queries: true logs queries, whatever --log-level says" wait_for 5 grep -q 'name=db.svc.internal. type=SRV rcode=NOERROR answers=1' "$SERVER_LOG"
stop_server

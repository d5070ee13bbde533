#!/usr/bin/env bash
# t_tcp.sh -- DNS over TCP: pipelined queries answered in order, a query that
# arrives one byte at a time, the idle timeout, and the connection limit.
. "$(dirname "$0")/../lib.sh"

PROBE=$SVCDNS_TOOLS/dnsprobe
NAME=alpha.web.svc.internal
mkdir -p "$WORK/zones"   # no static zones: only the service domain


# write_config IDLE-SECONDS MAX-CONNECTIONS: one static instance to ask for.
write_config() {
	cat >"$WORK/svcdns.yml" <<-EOF
	tcp-idle-timeout: $1
	tcp-max-connections: $2
	services:
	  - service: web
	    instance: alpha
	    address: 10.1.2.3
	    port: 8080
	    proto: tcp
	EOF
}

probe() { "$PROBE" "$1" --server 127.0.0.1 --port "$PORT" "${@:2}"; }
tcp_answers() { [ "$(q +tcp +short "$NAME" A | grep -v '^;')" == "10.1.2.3" ]; }

# ---- pipelining, partial reads, idle timeout (idle 1 s, at most 4 connections) ----
write_config 1 4
start_server --config "$WORK/svcdns.yml" --zones "$WORK/zones" || exit 1

is "$(probe pipeline --name "$NAME" --count 50)" "pipeline: 50 answers in order" \
	"50 pipelined queries in one write: every answer once, in order"
# 1000 queries (about 35 kB) arrive over many reads and split inside messages.
is "$(probe pipeline --name "$NAME" --count 1000)" "pipeline: 1000 answers in order" \
	"1000 pipelined queries: every answer once, in order"
is "$(probe slowtcp --name "$NAME")" "slowtcp: NOERROR, 1 answers: 10.1.2.3" \
	"a query sent one byte per segment is answered"

out=$(probe idle --expect-close-within 2.5)
like "$out" '^idle: closed by the server after [0-9.]+ s$' \
	"an idle connection is closed after tcp-idle-timeout (1 s): between 0.5 s and 2.5 s"
echo "# $out"

# Idle connections at the limit are closed by the timeout too, and give their slots back.
is "$(probe holdconns --count 4 --hold 3 | tail -n 1)" \
	"holdconns: 4 opened, 0 closed at once, 4 closed later" \
	"4 silent connections at the limit are accepted, then closed by the idle timeout"
check "TCP answers after the idle connections were closed" wait_for 5 tcp_answers

# The same port again: a second free_port pick is one more chance to collide with
# some client's ephemeral port (SO_REUSEADDR lets the server bind past TIME_WAIT).
stop_server

# ---- the connection limit (4), with an idle timeout that stays out of the way ----
write_config 30 4
start_server --config "$WORK/svcdns.yml" --zones "$WORK/zones" || exit 1

probe holdconns --count 4 --hold 4 >"$WORK/hold.out" &
HOLD_PID=$!
on_exit "kill $HOLD_PID"
check "4 connections are open" wait_for 5 grep -q 'connected' "$WORK/hold.out"

is "$(probe holdconns --count 1 --hold 1 | tail -n 1)" \
	"holdconns: 1 opened, 1 closed at once, 0 closed later" \
	"a 5th connection beyond tcp-max-connections is closed at once"
is "$(qs "$NAME" A)" "10.1.2.3" "UDP still answers while TCP is at its limit"

wait "$HOLD_PID"; hold_rc=$?
is "$hold_rc" "0" "the holder exited normally"
is "$(tail -n 1 "$WORK/hold.out")" "holdconns: 4 opened, 0 closed at once, 0 closed later" \
	"the 4 connections within the limit stayed open for the whole hold"

check "TCP answers again once the holders went away" wait_for 5 tcp_answers
# Refused connections must not have used up slots: the full limit is free again.
is "$(probe holdconns --count 4 --hold 1 | tail -n 1)" \
	"holdconns: 4 opened, 0 closed at once, 0 closed later" \
	"all 4 slots are free again after the refusals"

is "$(kdig @127.0.0.1 -p "$PORT" +tcp +short +timeout=2 +retry=0 "$NAME" A 2>&1)" "10.1.2.3" \
	"kdig +tcp still gets the answer"

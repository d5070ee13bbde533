#!/usr/bin/env bash
# Durable state: an OK survives kill -9; leases keep their remaining time; a truncated
# journal still loads; a full disk refuses changes with ERR 503 and loses nothing.
. "$(dirname "$0")/../lib.sh"

STATE=$WORK/state.db
start_server --state "$STATE" --zones "$WORK/none" || exit 1
is "$(reg 'REGISTER user-service u1 10.0.0.11 8080 ttl=120 txt=v=1')" "OK ttl=120" "REGISTER with --state"
is "$(reg 'REGISTER user-service u2 10.0.0.12 8080 ttl=120')" "OK ttl=120" "second REGISTER"
is "$(reg 'DEREGISTER user-service u2')" "OK" "DEREGISTER with --state"
is "$(reg 'REGISTER order-service o1 10.0.1.1 9090 ttl=4')" "OK ttl=4" "a short lease"
is "$(reg 'RENEW user-service u1 ttl=100')" "OK ttl=100" "RENEW with --state"
# kill -9 right after the last OK: no chance to flush anything at exit.
kill -KILL "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null; SERVER_PID=""
start_server --state "$STATE" --zones "$WORK/none" || exit 1
is "$(qs u1.user-service.svc.internal A)" "10.0.0.11" "registration survives kill -9"
is "$(qs u1.user-service.svc.internal TXT)" '"v=1"' "with its TXT"
is "$(rcode u2.user-service.svc.internal A)" "NXDOMAIN" "deregistration survives kill -9"
like "$(reg 'LIST user-service')" "u1 10.0.0.11 8080 ttl=(9[0-9]|100) txt=v=1" "renewed lease kept its remaining time, not a fresh default"
wait_for 8 bash -c "[ \"\$(dig @127.0.0.1 -p $PORT +short o1.order-service.svc.internal A | grep -v '^;')\" = '' ]"
is "$(rcode o1.order-service.svc.internal A)" "NXDOMAIN" "a lease that ran out across the restart expires"

# A burst of pipelined registrations, killed half-way: every OK must come back.
for i in $(seq 1 3000); do echo "REGISTER burst b$i 10.8.$((i / 250)).$((i % 250)) 80 ttl=300"; done >"$WORK/burst.in"
/usr/bin/python3 "$TESTS_DIR/tools/reg_send.py" tcp 127.0.0.1 "$REGPORT" <"$WORK/burst.in" >"$WORK/burst.out" 2>&1 &
sender=$!
wait_for 10 bash -c "[ \$(grep -c '^OK' $WORK/burst.out) -ge 200 ]"
kill -KILL "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null; SERVER_PID=""
wait "$sender" 2>/dev/null
acked=$(grep -c '^OK ttl=300' "$WORK/burst.out")
check "some registrations were acknowledged before the kill ($acked)" test "$acked" -ge 200
start_server --state "$STATE" --zones "$WORK/none" || exit 1
printf 'LIST burst\n' | reg_tcp >"$WORK/burst.list"
restored=$(grep -c '^burst b' "$WORK/burst.list")
check "every acknowledged registration is back after kill -9 ($restored >= $acked)" test "$restored" -ge "$acked"
missing=0
for i in $(seq 1 "$acked"); do grep -q "^burst b$i " "$WORK/burst.list" || missing=$((missing + 1)); done
is "$missing" "0" "the first $acked (acknowledged in order) are all there"
stop_server

# A truncated journal: the cut record is dropped with a warning, everything before kept.
size=$(stat -c %s "$STATE")
truncate -s $((size - 7)) "$STATE"
: >"$SERVER_LOG"
start_server --state "$STATE" --zones "$WORK/none" || exit 1
check "truncated tail reported with its offset" grep -qE "warn .*state .*: record at byte [0-9]+ cut short: kept [0-9]+ records" "$SERVER_LOG"
is "$(qs u1.user-service.svc.internal A)" "10.0.0.11" "records before the cut are kept"
is "$(reg 'REGISTER after cut 10.0.9.9 1 ttl=300')" "OK ttl=300" "the journal takes appends after the cut"
stop_server
start_server --state "$STATE" --zones "$WORK/none" || exit 1
is "$(qs cut.after.svc.internal A)" "10.0.9.9" "an append after the cut survives a restart"
stop_server

# Not a state file: refused, never overwritten.
echo "hello" >"$WORK/notstate"
out=$("$SVCDNS_BIN" --dns 127.0.0.1:1 --register 127.0.0.1:1 --state "$WORK/notstate" --zones "$WORK/none" 2>&1); rc=$?
check "a foreign file as --state stops start-up (status $rc)" test "$rc" -ne 0
like "$out" "not an svcdns state file" "and says why"
is "$(cat "$WORK/notstate")" "hello" "the foreign file is untouched"

# A full disk: changes are refused with 503 (never acknowledged and then lost), queries go on.
TINY=$WORK/tiny
mkdir -p "$TINY"
if mount -t tmpfs -o size=64k tmpfs "$TINY"; then
	on_exit "umount $TINY"
	start_server --state "$TINY/state.db" --zones "$WORK/none" || exit 1
	for i in $(seq 1 2000); do echo "REGISTER full f$i 10.9.$((i / 250)).$((i % 250)) 80 ttl=300 txt=pad=$(printf '%0100d' 0)"; done | reg_tcp >"$WORK/full.out"
	ok_count=$(grep -c '^OK' "$WORK/full.out")
	check "the disk filled up: ERR 503 returned" grep -q '^ERR 503 state file not writable' "$WORK/full.out"
	check "some registrations fitted before ($ok_count)" test "$ok_count" -gt 10
	is "$(printf 'LIST full\n' | reg_tcp | tail -1)" "OK $ok_count" "exactly the acknowledged registrations are live"
	is "$(rcode full.svc.internal A)" "NOERROR" "queries are still answered"
	# Room again: the journal is rewritten and changes are accepted again.
	mount -o remount,size=4m "$TINY"
	check "registrations are accepted again once there is room" \
		wait_for 12 bash -c "printf 'REGISTER again a1 10.9.9.1 80 ttl=300\n' | /usr/bin/python3 $TESTS_DIR/tools/reg_send.py tcp 127.0.0.1 $REGPORT | grep -q '^OK'"
	stop_server
	start_server --state "$TINY/state.db" --zones "$WORK/none" || exit 1
	is "$(printf 'LIST full\n' | reg_tcp | tail -1)" "OK $ok_count" "after a restart: every acknowledged registration, nothing else"
	is "$(qs a1.again.svc.internal A)" "10.9.9.1" "and the one accepted after the recovery"
	stop_server
else
	ok 1 "cannot mount a small tmpfs to fill up"
fi

#!/usr/bin/env bash
# check_secondaries.sh -- the secondary configs of examples/secondaries/ and the
# helpers of tests/secondaries.sh, checked against a Knot DNS primary instead of svcdns.
#
# When t_xfr_secondaries.sh fails, run this: if it passes, NSD, Knot, their configs
# and the test's transfer parsing work with a primary that is known to be right, and the
# fault is svcdns's. It starts a Knot DNS primary of svc.internal on loopback with the
# same TSIG key (transfers and dynamic updates signed with it, NOTIFY to both
# secondaries), changes the zone with knsupdate, and asserts what the real test asserts
# of svcdns where a Knot primary does the same; and it reads a signed NOTIFY of dig's
# with tests/tools/notify_sink.py. (Not the primary's: Knot 3.2 sends NOTIFY over TCP
# and holds the zone's events until a silent target times out.)
# Knot delays its own NOTIFY about a second after an update, so each change is followed
# by `knotc zone-notify` to time the secondaries alone. Prints TAP; about 15 s.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/secondaries.sh"

PORT=$(free_port)
PRIMARY_NAME="Knot primary"
add_secondary nsd nsd "$PORT" || exit 1
add_secondary knot knot "$PORT" || exit 1
SECONDARIES=(nsd knot)
SINK_PORT=$(free_port)
"$TESTS_DIR/tools/notify_sink.py" "$SINK_PORT" "$WORK/sink.log" &
on_exit "kill $!"

# ---- the Knot DNS primary -----------------------------------------------------------
P=$WORK/primary
mkdir -p "$P/run" "$P/db"
cat >"$P/svc.internal.zone" <<'ZONE'
$ORIGIN svc.internal.
$TTL 5
@  IN SOA ns hostmaster 1000 3600 10 86400 5
@  IN NS  ns
ns IN A   10.0.0.53
ZONE
cat >"$P/knot.conf" <<CONF
server:
    listen: 127.0.0.1@$PORT
    rundir: "$P/run"
log:
  - target: stderr
    any: info
database:
    storage: "$P/db"
key:
  - id: xfr
    algorithm: hmac-sha256
    secret: $XFR_SECRET
remote:
  - id: nsd
    address: 127.0.0.1@${SEC_PORT[nsd]}
    key: xfr
  - id: knot
    address: 127.0.0.1@${SEC_PORT[knot]}
    key: xfr
acl:
  - id: xfr
    address: 127.0.0.1/32
    key: xfr
    action: [transfer, update]
zone:
  - domain: svc.internal
    file: "$P/svc.internal.zone"
    storage: "$P"
    zonefile-sync: -1
    journal-content: changes
    serial-policy: increment
    notify: [nsd, knot]
    acl: xfr
CONF
knotd -c "$P/knot.conf" >>"$P/log" 2>&1 &
PRIMARY_PID=$!
on_exit 'kill -TERM $PRIMARY_PID; wait $PRIMARY_PID'
wait_for 10 has_serial "$PORT" 1000 || { ok 1 "the Knot primary did not start"; tail "$P/log"; exit 1; }
# change LINE...: a signed dynamic update of the primary, then an immediate NOTIFY.
change() {
	{ echo "server 127.0.0.1 $PORT"; echo "zone $ZONE."; printf 'update %s\n' "$@"; echo send; } |
		knsupdate -y "$XFR_KEY" || ok 1 "knsupdate $*"
	knotc -c "$P/knot.conf" zone-notify "$ZONE" >/dev/null
}
has_a() { [ "$(answer_set "$3" "$1" A | tr '\n' ' ')" = "$2 " ]; }
no_name() { dig @127.0.0.1 -p "$2" +norec +time=1 +tries=1 "$1" A | grep -q 'status: NXDOMAIN'; }

# ---- first load, changes ------------------------------------------------------------
start_secondary nsd
start_secondary knot
check "NSD loads the zone at serial 1000" wait_for 15 has_serial "${SEC_PORT[nsd]}" 1000
check "Knot loads the zone at serial 1000" wait_for 15 has_serial "${SEC_PORT[knot]}" 1000
now_ms; t0=$NOW
change "add u1.user-service.$ZONE. 5 A 10.0.0.11" "add user-service.$ZONE. 5 A 10.0.0.11"
follow "add u1" "$t0" has_a "u1.user-service.$ZONE" 10.0.0.11
now_ms; t0=$NOW
change "add u2.user-service.$ZONE. 5 A 10.0.0.12" "add user-service.$ZONE. 5 A 10.0.0.12"
follow "add u2" "$t0" has_a "user-service.$ZONE" "10.0.0.11 10.0.0.12"
now_ms; t0=$NOW
change "delete u1.user-service.$ZONE. A" "delete user-service.$ZONE. A 10.0.0.11"
follow "delete u1" "$t0" no_name "u1.user-service.$ZONE"
is "$(serial_at "${SEC_PORT[nsd]}"):$(serial_at "${SEC_PORT[knot]}")" "1003:1003" "both at the primary's serial 1003"

# ---- transfers as the test reads them ------------------------------------------------
for tool in dig kdig; do
	xfr "$tool" $ZONE IXFR=1002 >"$WORK/ixfr" || ok 1 "IXFR=1002 ($tool)"
	is "$(first_soa "$WORK/ixfr" 1):$(first_soa "$WORK/ixfr" 2)" "SOA 1003:SOA 1002" "IXFR=1002 ($tool): new SOA, old SOA"
	is "$(ixfr_diff "$WORK/ixfr")" "$(printf '%s\n' "-u1.user-service.$ZONE. A 10.0.0.11" "-user-service.$ZONE. A 10.0.0.11")" \
		"IXFR=1002 ($tool): exactly the deletion"
	xfr "$tool" $ZONE IXFR=1000 >"$WORK/ixfr"
	is "$(ixfr_diff "$WORK/ixfr")" "+u2.user-service.$ZONE. A 10.0.0.12"$'\n'"+user-service.$ZONE. A 10.0.0.12" \
		"IXFR=1000 ($tool): three versions condensed to their net change"
	is "$(xfr "$tool" $ZONE IXFR=1003 | awk '{print $3, $6}')" "SOA 1003" "IXFR=current ($tool): one SOA"
	xfr "$tool" $ZONE AXFR >"$WORK/axfr"
	check "AXFR ($tool): SOA first and last" bash -c "head -1 $WORK/axfr | grep -q ' SOA ' && tail -1 $WORK/axfr | grep -q ' SOA '"
done
refusal "AXFR without a key"
refusal "AXFR with a wrong secret" -y "hmac-sha256:xfr:$(openssl rand -base64 32)"
refusal "AXFR from 127.0.0.2, outside the ACL" -b 127.0.0.2 -y "$XFR_KEY"

# ---- a secondary started late takes the next NOTIFY, not its own timer ---------------
stop_secondary knot
knot_log_lines=$(wc -l <"$WORK/knot/log")
change "add late.$ZONE. 5 A 10.0.2.1"
start_secondary knot
sleep 2
is "$(serial_at "${SEC_PORT[knot]}")" "1003" "Knot restarted with an hour of refresh left: still at 1003 after 2 s"
now_ms; t0=$NOW
knotc -c "$P/knot.conf" zone-notify "$ZONE" >/dev/null
SECONDARIES=(knot)
follow "Knot takes a NOTIFY after its start" "$t0" has_a "late.$ZONE" 10.0.2.1
late_log=$(tail -n +$((knot_log_lines + 1)) "$WORK/knot/log")
like "$(grep -m1 -E 'notify, incoming|refresh, remote' <<<"$late_log")" "notify, incoming" \
	"Knot's first refresh after its start follows a NOTIFY"
like "$(grep -m1 'zone loaded' <<<"$late_log")" "loaded from journal, serial 1003" "Knot started from its journal"

# ---- the sink reads signed NOTIFYs over UDP and TCP ----------------------------------
wait_for 5 grep -q '^ready$' "$WORK/sink.log" || ok 1 "notify_sink.py did not start"
for transport in udp tcp; do
	if [ $transport = udp ]; then flag=+notcp; else flag=+tcp; fi
	dig @127.0.0.1 -p "$SINK_PORT" $flag +opcode=notify +norec +time=1 +tries=1 -y "$XFR_KEY" $ZONE SOA >/dev/null 2>&1
	check "notify_sink.py reads a signed NOTIFY over $transport" \
		wait_for 2 grep -qE "^ms=[0-9]+ opcode=4 qname=svc.internal. serial=- tsig=xfr. $transport$" "$WORK/sink.log"
done
if [ "$TEST_FAILED" -ne 0 ]; then secondary_logs; echo "# sink:"; sed "s/^/#   /" "$WORK/sink.log"; echo "# primary log:"; tail -n 20 "$P/log" | sed 's/^/#   /'; fi

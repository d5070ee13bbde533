#!/usr/bin/env bash
# slow-test
# t_xfr_secondaries.sh -- zone transfers to real secondaries (issue 11): a real NSD and
# a real Knot DNS, run from the configs in examples/secondaries/ (the README's), copy
# svc.internal from svcdns by AXFR and IXFR with TSIG and follow every change within a
# second of it through NOTIFY: register, replace, deregister, lease expiry, restarts
# with and without --state. IXFR answers are diffs holding exactly the change; stale
# serials get the whole zone; unsigned, badly signed and outside transfers are refused;
# a secondary started late still gets the change from NOTIFY retries.
#
# Each change is made a second after both secondaries settled, and timed on its own (see
# settle in tests/secondaries.sh for why). About 25 s: a second between changes, lease
# expiry, NOTIFY retries 2 s apart, four server starts.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/secondaries.sh"

CTL=$(dirname "$SVCDNS_BIN")/svcdnsctl
ctl() { "$CTL" --server "127.0.0.1:$REGPORT" "$@" >/dev/null; }
D=svc.internal

# metric NAME: a counter of svcdns from /metrics (0 when absent).
metric() {
	local v
	v=$(curl -s --max-time 2 "http://127.0.0.1:$HTTPPORT/metrics" | awk -v n="$1" '$1 == n {print $2}')
	echo "${v:-0}"
}

# cur_serial: svcdns's serial now.
cur_serial() { serial_at "$PORT"; }
# wait_new_serial OLD: until svcdns has a serial other than OLD (a version is made at
# most 100 ms after a change); prints it.
wait_new_serial() {
	wait_for 3 bash -c "s=\$(dig @127.0.0.1 -p $PORT +short +norec $D SOA | awk '{print \$3}'); [ -n \"\$s\" ] && [ \"\$s\" != '$1' ]"
	cur_serial
}

# axfr_style FILE SERIAL: a transfer in FILE is a whole zone (RFC 1995 4: an IXFR answered
# AXFR-style): SERIAL's SOA first and last, and no old SOA second.
axfr_style() {
	[ "$(awk 'NR == 2 {print $3}' "$1")" != SOA ] &&
		head -1 "$1" | grep -q " SOA .* $2 " && tail -1 "$1" | grep -q " SOA .* $2 "
}

# ---- the checks a change is followed by (each takes the server's port last) ---------
has_a() { [ "$(answer_set "$3" "$1" A | tr '\n' ' ')" = "$2 " ]; }     # has_a NAME "ADDR ..." PORT
no_name() { dig @127.0.0.1 -p "$2" +norec +time=1 +tries=1 "$1" A | grep -q 'status: NXDOMAIN'; }
srv_port() {   # srv_port NAME TARGET WANTPORT GONEPORT PORT: TARGET's SRV has WANTPORT, not GONEPORT
	local s; s=$(answer_set "$5" "$1" SRV)
	grep -q " $3 $2\\.\$" <<<"$s" && ! grep -q " $4 $2\\.\$" <<<"$s"
}

# ---- svcdns's config and zones ------------------------------------------------------
PORT=$(free_port) REGPORT=$(free_port) HTTPPORT=$(free_port)
add_secondary nsd nsd "$PORT" || exit 1
add_secondary knot knot "$PORT" || exit 1
SECONDARIES=(nsd knot)
SINK_PORT=$(free_port)

ZONES=$WORK/zones
mkdir -p "$ZONES"
cat >"$ZONES/svc.internal.zone" <<'ZONE'
$ORIGIN svc.internal.
$TTL 300
legacy  IN A     10.0.9.1
www     IN CNAME legacy
ZONE
cat >"$ZONES/example.internal.zone" <<'ZONE'
$ORIGIN example.internal.
$TTL 300
@    IN SOA ns1 admin 7 3600 600 86400 60
@    IN NS  ns1
ns1  IN A   192.0.2.1
www  IN A   192.0.2.80
ZONE
STATIC=$'services:\n  - {service: static-svc, instance: s1, address: 10.0.8.1, port: 80}'
svcdns_conf "$PORT" "${SEC_PORT[nsd]}" "${SEC_PORT[knot]}" >"$WORK/svcdns.yml"
printf '%s\n' "$STATIC" >>"$WORK/svcdns.yml"
# The second run: a journal of two versions, a refresh far longer than the test (only
# NOTIFY can tell a secondary of a change), and a NOTIFY target that never answers.
svcdns_conf "$PORT" "${SEC_PORT[nsd]}" "${SEC_PORT[knot]}" "$SINK_PORT" |
	sed 's/versions: 10000/versions: 2/' >"$WORK/svcdns-2.yml"
printf '%s\nsoa: {refresh: 3600}\n' "$STATIC" >>"$WORK/svcdns-2.yml"
STATE=$WORK/state.db

# ==== first load =====================================================================
start_server --config "$WORK/svcdns.yml" --zones "$ZONES" --state "$STATE" || exit 1
start_secondary nsd
start_secondary knot
S=$(cur_serial)
now_ms; now100=$(( (NOW / 100) % 4294967296 ))
check "serial $S is the Unix time in 100 ms units ($now100), give or take a minute" \
	bash -c "d=\$(( ($now100 - $S + 4294967296) % 4294967296 )); [ \$d -le 600 ] || [ \$d -ge 4294967246 ]"
like "$(dig @127.0.0.1 -p "$PORT" +short $D SOA)" " $S 60 10 86400 [0-9]+$" "SOA timers: refresh 60, retry 10, expire 86400"
check "NSD loads the zone by AXFR at serial $S" wait_for 15 has_serial "${SEC_PORT[nsd]}" "$S"
check "Knot loads the zone by AXFR at serial $S" wait_for 15 has_serial "${SEC_PORT[knot]}" "$S"
check "AXFRs counted ($(metric 'svcdns_transfers_total{type="AXFR"}') >= 2)" \
	test "$(metric 'svcdns_transfers_total{type="AXFR"}')" -ge 2
for name in nsd knot; do
	p=${SEC_PORT[$name]}
	is "$(answer_set "$p" s1.static-svc.$D A)" "10.0.8.1" "$name: a static instance"
	is "$(answer_set "$p" legacy.$D A)" "10.0.9.1" "$name: a zone-file record of the service domain"
	is "$(answer_set "$p" ns.$D A)" "10.0.0.53" "$name: the NS name's address"
done

AXFR=$WORK/axfr.1
xfr dig $D AXFR >"$AXFR"
check "AXFR: signed, verified, starts and ends with the SOA" \
	bash -c "head -1 $AXFR | grep -q ' SOA ' && tail -1 $AXFR | grep -q ' SOA ' && [ \$(wc -l <$AXFR) -gt 2 ]"
is "$(awk '$2 != 5 && $1 !~ /^(legacy|www)\./' "$AXFR" | head -3)" "" \
	"AXFR: every record but the zone file's carries the answer TTL, 5 s"
for want in "$D. NS ns.$D." "ns.$D. A 10.0.0.53" "static-svc.$D. A 10.0.8.1" \
	"static-svc.$D. SRV 0 0 80 s1.static-svc.$D." "_static-svc._tcp.$D. SRV 0 0 80 s1.static-svc.$D." \
	"s1.static-svc.$D. A 10.0.8.1" "legacy.$D. A 10.0.9.1" "www.$D. CNAME legacy.$D."; do
	check "AXFR holds: $want" grep -qxF "$want" <(records <"$AXFR")
done
out=$(xfr kdig example.internal AXFR)
like "$out" "^example.internal. [0-9]+ SOA .*www.example.internal. 300 A 192.0.2.80.*SOA" "AXFR of a static zone (kdig)"

# ==== changes reach both secondaries within a second ================================
S0=$(cur_serial)
settle
now_ms; t0=$NOW
ctl register user-service u1 10.0.0.11 8080
follow "register u1" "$t0" has_a "u1.user-service.$D" 10.0.0.11
S1=$(wait_new_serial "$S0")
check "NSD's serial is svcdns's ($S1)" wait_for 2 has_serial "${SEC_PORT[nsd]}" "$S1"
check "Knot's serial is svcdns's ($S1)" wait_for 2 has_serial "${SEC_PORT[knot]}" "$S1"
check "the serial grew ($S0 -> $S1)" serial_newer "$S1" "$S0"

# IXFR from the previous serial: a diff holding the registration and nothing else.
xfr dig $D IXFR="$S0" >"$WORK/ixfr.1" || ok 1 "IXFR=$S0 (dig) failed"
is "$(first_soa "$WORK/ixfr.1" 1)" "SOA $S1" "IXFR=$S0: the first record is the new SOA"
is "$(first_soa "$WORK/ixfr.1" 2)" "SOA $S0" "IXFR=$S0: the second record is the old SOA"
is "$(ixfr_diff "$WORK/ixfr.1")" "$(printf '%s\n' "+_user-service._tcp.$D. SRV 0 0 8080 u1.user-service.$D." \
	"+u1.user-service.$D. A 10.0.0.11" "+user-service.$D. A 10.0.0.11" \
	"+user-service.$D. SRV 0 0 8080 u1.user-service.$D." | sort)" "IXFR=$S0: exactly u1's records added"
is "$(awk '$3 != "SOA" && $2 != 5' "$WORK/ixfr.1")" "" "IXFR: records carry the answer TTL"
# From the current serial: that SOA alone.
is "$(xfr dig $D IXFR="$S1" | awk '{print $3 ":" $6}')" "SOA:$S1" "IXFR=current: one SOA"
is "$(xfr kdig $D IXFR="$S1" | awk '{print $3 ":" $6}')" "SOA:$S1" "IXFR=current (kdig): one SOA"
# Over UDP: the current SOA alone, whatever the serial asked from.
out=$(dig @127.0.0.1 -p "$PORT" +notcp +norec +time=2 +tries=1 -y "$XFR_KEY" +noall +answer $D IXFR="$S0")
is "$(grep -v '^;' <<<"$out" | awk '{print $1, $4, $7}')" "$D. SOA $S1" "IXFR over UDP: the current SOA alone"
# From a serial no journal holds (a day old): the whole zone, AXFR-style.
old=$(( (S1 - 864000 + 4294967296) % 4294967296 ))
for tool in dig kdig; do
	xfr "$tool" $D IXFR="$old" >"$WORK/ixfr.old" || ok 1 "IXFR=$old ($tool) failed"
	xfr dig $D AXFR >"$WORK/axfr.2"
	check "IXFR=$old ($tool): AXFR-style (the SOA first and last, not second)" axfr_style "$WORK/ixfr.old" "$S1"
	is "$(records <"$WORK/ixfr.old" | grep -v ' SOA ' | sort)" "$(records <"$WORK/axfr.2" | grep -v ' SOA ' | sort)" \
		"IXFR=$old ($tool): the whole zone, as AXFR sends it"
done
check "IXFRs counted" test "$(metric 'svcdns_transfers_total{type="IXFR"}')" -ge 1

# Two more instances sharing one address.
settle
now_ms; t0=$NOW
ctl register user-service u2 10.0.0.12 8080
ctl register user-service u3 10.0.0.12 8082
follow "register u2, u3" "$t0" has_a "user-service.$D" "10.0.0.11 10.0.0.12"
for name in nsd knot; do
	is "$(answer_set "${SEC_PORT[$name]}" user-service.$D A | tr '\n' ' ')" \
		"$(answer_set "$PORT" user-service.$D A | tr '\n' ' ')" "$name answers user-service.$D A like svcdns"
done
is "$(xfr dig $D AXFR | records | grep -c "^user-service.$D. A 10.0.0.12$")" "1" "AXFR: a shared address once"

# Replace: u1 on a new port.
S0=$(cur_serial)
settle
now_ms; t0=$NOW
ctl register user-service u1 10.0.0.11 8081
follow "replace u1 (port 8080 -> 8081)" "$t0" srv_port "_user-service._tcp.$D" "u1.user-service.$D" 8081 8080
S1=$(wait_new_serial "$S0")
xfr kdig $D IXFR="$S0" >"$WORK/ixfr.2" || ok 1 "IXFR=$S0 (kdig) failed"
is "$(first_soa "$WORK/ixfr.2" 2)" "SOA $S0" "IXFR=$S0 (kdig): the second record is the old SOA"
is "$(ixfr_diff "$WORK/ixfr.2")" "$(printf '%s\n' \
	"-_user-service._tcp.$D. SRV 0 0 8080 u1.user-service.$D." "-user-service.$D. SRV 0 0 8080 u1.user-service.$D." \
	"+_user-service._tcp.$D. SRV 0 0 8081 u1.user-service.$D." "+user-service.$D. SRV 0 0 8081 u1.user-service.$D." |
	sort)" "IXFR=$S0 (kdig): exactly u1's SRV records replaced"

# Deregister u3: its records go; the address it shares with u2 stays.
S0=$(cur_serial)
settle
now_ms; t0=$NOW
ctl deregister user-service u3
follow "deregister u3" "$t0" no_name "u3.user-service.$D"
S1=$(wait_new_serial "$S0")
xfr dig $D IXFR="$S0" >"$WORK/ixfr.3" || ok 1 "IXFR=$S0 failed"
is "$(ixfr_diff "$WORK/ixfr.3")" "$(printf '%s\n' "-_user-service._tcp.$D. SRV 0 0 8082 u3.user-service.$D." \
	"-u3.user-service.$D. A 10.0.0.12" "-user-service.$D. SRV 0 0 8082 u3.user-service.$D." | sort)" \
	"IXFR=$S0: exactly u3's records removed, the shared address kept"
for name in nsd knot; do
	is "$(answer_set "${SEC_PORT[$name]}" user-service.$D A | tr '\n' ' ')" "10.0.0.11 10.0.0.12 " \
		"$name: user-service keeps u2's address"
done

# Lease expiry: counted from the end of the lease.
settle
now_ms; t0=$NOW
ctl register expiring e1 10.0.0.21 9000 --ttl 2 --txt k=v
e1=$(xfr dig $D AXFR | grep "^e1.expiring.$D. ")
is "$(awk '{print $2}' <<<"$e1" | sort -u)" "5" "a lease of 2 s: the zone's records still carry the answer TTL"
follow "lease of e1 ends (delay from the lease's end)" $((t0 + 2000)) no_name "e1.expiring.$D"

# ==== refusals ======================================================================
# counted_refusal NAME ARGS...: refusal, and both of its transfers (dig's, kdig's) counted.
counted_refusal() {
	local before after
	before=$(metric svcdns_transfers_refused_total)
	refusal "$@"
	after=$(metric svcdns_transfers_refused_total)
	is "$((after - before))" "2" "$1: both counted in transfers_refused_total"
}
counted_refusal "AXFR without a key"
counted_refusal "AXFR with a wrong secret" -y "hmac-sha256:xfr:$(openssl rand -base64 32)"
counted_refusal "AXFR signed with a key svcdns does not hold" -y "hmac-sha256:other:$(openssl rand -base64 32)"
counted_refusal "AXFR from 127.0.0.2, outside allow" -b 127.0.0.2 -y "$XFR_KEY"
out=$(kdig @127.0.0.1 -p "$PORT" +tcp -b 127.0.0.2 -y "$XFR_KEY" $D AXFR 2>&1)
like "$out" "error 'REFUSED'" "from outside allow with the right key: REFUSED"
out=$(kdig @127.0.0.1 -p "$PORT" +tcp $D AXFR 2>&1)
like "$out" "error 'REFUSED'" "from inside allow without a key: REFUSED"
sent=$(metric svcdns_notify_sent_total) acked=$(metric svcdns_notify_acked_total)
check "NOTIFYs sent ($sent) and acknowledged ($acked) for the changes" test "$acked" -ge 6 -a "$sent" -ge "$acked"

# ==== restarts ======================================================================
# restart_kill9 ARGS...: kill -9 svcdns, start it again on the same ports with ARGS.
restart_kill9() {
	kill -KILL "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null; SERVER_PID=""
	start_server "$@" || exit 1
}
for how in "with --state" "without --state"; do
	before=$(cur_serial)
	if [ "$how" = "with --state" ]; then
		restart_kill9 --config "$WORK/svcdns.yml" --zones "$ZONES" --state "$STATE"
		is "$(answer_set "$PORT" u1.user-service.$D A)" "10.0.0.11" "kill -9, restart $how: registrations kept"
	else
		restart_kill9 --config "$WORK/svcdns.yml" --zones "$ZONES"
	fi
	after=$(cur_serial)
	check "kill -9, restart $how: the serial rose ($before -> $after)" serial_newer "$after" "$before"
	settle
	now_ms; t0=$NOW
	ctl register restart r1 10.0.0.31 80
	if [ "$how" = "with --state" ]; then
		follow "the first change after a restart $how" "$t0" has_a "r1.restart.$D" 10.0.0.31
	else
		# The registrations died with the server: the secondaries must lose them too.
		gone_with() { has_a "r1.restart.$D" 10.0.0.31 "$1" && no_name "u1.user-service.$D" "$1"; }
		follow "the first change after a restart $how (and u1, lost, gone)" "$t0" gone_with
	fi
	now=$(cur_serial)
	check "both secondaries at svcdns's serial $now" \
		wait_for 2 bash -c "[ \"\$(dig @127.0.0.1 -p ${SEC_PORT[nsd]} +short $D SOA | awk '{print \$3}')\" = $now ] &&
			[ \"\$(dig @127.0.0.1 -p ${SEC_PORT[knot]} +short $D SOA | awk '{print \$3}')\" = $now ]"
done
stop_server

# ==== a journal of two versions; NOTIFY retries ====================================
"$TESTS_DIR/tools/notify_sink.py" "$SINK_PORT" "$WORK/sink.log" 2>>"$WORK/sink.err" &
on_exit "kill $!"
wait_for 5 grep -q '^ready$' "$WORK/sink.log" || { ok 1 "notify sink did not start"; exit 1; }
start_server --config "$WORK/svcdns-2.yml" --zones "$ZONES" || exit 1
serials=("$(cur_serial)")
for i in 1 2 3 4 5; do
	ctl register journal j$i 10.0.1.$i 80
	serials+=("$(wait_new_serial "${serials[-1]}")")
done
last=${serials[5]}
check "five changes, five versions (${serials[*]})" test "$(printf '%s\n' "${serials[@]}" | sort -u | wc -l)" -eq 6
xfr dig $D IXFR="${serials[0]}" >"$WORK/ixfr.j0"
xfr dig $D AXFR >"$WORK/axfr.j"
check "journal of 2 versions: IXFR from 5 versions back is AXFR-style" axfr_style "$WORK/ixfr.j0" "$last"
is "$(records <"$WORK/ixfr.j0" | grep -v ' SOA ' | sort)" "$(records <"$WORK/axfr.j" | grep -v ' SOA ' | sort)" \
	"... and the whole zone"
xfr dig $D IXFR="${serials[4]}" >"$WORK/ixfr.j4"
is "$(ixfr_diff "$WORK/ixfr.j4" | grep -c '^+j5\.journal\.')" "1" \
	"... while IXFR from the version before is still a diff (j5 added)"
check "both secondaries follow the new server ($last)" \
	wait_for 3 bash -c "[ \"\$(dig @127.0.0.1 -p ${SEC_PORT[nsd]} +short $D SOA | awk '{print \$3}')\" = $last ] &&
		[ \"\$(dig @127.0.0.1 -p ${SEC_PORT[knot]} +short $D SOA | awk '{print \$3}')\" = $last ]"

# Knot, stopped, misses a change; started 3 s later, with a refresh of an hour in its
# timers, it can only learn of the change from a NOTIFY retry.
stop_secondary knot
knot_log_lines=$(wc -l <"$WORK/knot/log")
settle
now_ms; t0=$NOW
ctl register late l1 10.0.2.1 80
S1=$(wait_new_serial "$last")
check "NSD follows at once while Knot is down" wait_for 1 has_serial "${SEC_PORT[nsd]}" "$S1"
while now_ms; [ $((NOW - t0)) -lt 3000 ]; do sleep 0.05; done
start_secondary knot
now_ms; started=$NOW
if wait_for 6 has_serial "${SEC_PORT[knot]}" "$S1"; then
	now_ms
	echo "# Knot started $((started - t0)) ms after the change, at $S1 $((NOW - started)) ms later ($((NOW - t0)) ms after the change)"
	check "Knot started late gets $S1 from the next NOTIFY retry (<= 2500 ms after its start)" \
		test $((NOW - started)) -le 2500
else
	ok 1 "Knot started late gets $S1 from a NOTIFY retry"
fi
late_log=$(tail -n +$((knot_log_lines + 1)) "$WORK/knot/log")
like "$late_log" "notify, incoming, remote 127.0.0.1@[0-9]+" "... Knot logs svcdns's NOTIFY"
like "$(grep -m1 -E 'notify, incoming|refresh, remote' <<<"$late_log")" "notify, incoming" \
	"... and it refreshed only after that NOTIFY, not on its own at start"

# The sink never answers: the NOTIFY for S1 goes 6 times (5 retries), 2 s apart, signed.
# sink_notifies: the sink's NOTIFYs since T0 as "MS-AFTER-T0 opcode= qname= serial=
# tsig=", leaving out those that name another serial (the last ones of the version
# before may still go out in the first few ms).
sink_notifies() {
	awk -v t="$t0" -v s="serial=$S1" '$1 ~ /^ms=/ { split($1, a, "=")
		if (a[2] >= t && ($4 == s || $4 == "serial=-")) print a[2] - t, $2, $3, $4, $5 }' "$WORK/sink.log"
}
six_notifies() { [ "$(sink_notifies | wc -l)" -ge 6 ]; }
wait_for 15 six_notifies
sleep 2.5   # a seventh would come 2 s after the sixth
notifies=$(sink_notifies)
awk '{ $1 = "# sink: +" $1 " ms:"; print }' <<<"$notifies"
is "$(grep -c . <<<"$notifies")" "6" "an unanswered NOTIFY is sent 6 times (1 + 5 retries)"
is "$(awk '{print $2, $3, $5}' <<<"$notifies" | sort -u)" "opcode=4 qname=$D. tsig=xfr." \
	"... each a NOTIFY for $D signed with xfr"
check "... 2 s apart (1.5 to 2.5 s)" \
	awk 'NR > 1 { d = $1 - prev; if (d < 1500 || d > 2500) bad = 1 } { prev = $1 } END { exit bad }' <<<"$notifies"
check "NOTIFY failures counted ($(metric svcdns_notify_failures_total))" test "$(metric svcdns_notify_failures_total)" -ge 1

if [ "$TEST_FAILED" -ne 0 ]; then secondary_logs; fi
stop_server

#!/usr/bin/env bash
# svcdnsctl against the real server: register over UDP and TCP and see A, SRV and TXT in
# DNS; list, renew, deregister; exit statuses 0/1/2; signed requests; and --keepalive
# holding a 2 s lease, deregistering on SIGTERM, expiring after SIGKILL, and registering
# again after the server restarted without state.
. "$(dirname "$0")/../lib.sh"

CTL=$(dirname "$SVCDNS_BIN")/svcdnsctl    # the same flavour (release or asan) as the server
if [ ! -x "$CTL" ]; then
	ok 1 "$CTL is built"
	exit 1
fi

cat >"$WORK/svcdns.yml" <<'YML'
ttl: 5
YML
start_server --config "$WORK/svcdns.yml" --zones "$WORK/none" || exit 1

# ctl ARGS...: svcdnsctl against the test server. Keepalives run "$CTL" directly instead,
# so that $! is svcdnsctl itself and signals reach it, not a subshell.
ctl() { "$CTL" --server "127.0.0.1:$REGPORT" "$@"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# answers NAME ADDRESS: dig gives exactly that A record.
answers() { [ "$(qs "$1" A)" = "$2" ]; }
gone() { [ "$(rcode "$1" A)" = "NXDOMAIN" ]; }
# always_answers SECONDS NAME ADDRESS: probes dig every 100 ms for SECONDS and prints
# "PROBES MISSES".
always_answers() {
	local end=$(($(now_ms) + $1 * 1000)) probes=0 misses=0
	while [ "$(now_ms)" -lt "$end" ]; do
		probes=$((probes + 1))
		answers "$2" "$3" || misses=$((misses + 1))
		sleep 0.1
	done
	echo "$probes $misses"
}
# status_of COMMAND...: the exit status alone (output dropped).
status_of() { "$@" >/dev/null 2>&1; echo $?; }

# --- register over UDP and TCP; DNS sees A, SRV, TXT ---------------------------------
out=$(ctl ping); rc=$?
is "$rc:$out" "0:OK" "ping over UDP: exit 0, prints OK"
is "$(ctl --tcp ping)" "OK" "ping over TCP"
is "$(SVCDNS_SERVER=127.0.0.1:$REGPORT "$CTL" ping)" "OK" "SVCDNS_SERVER is the default server"

out=$(ctl register web web-1 10.0.0.1 8080 --ttl 60 --priority 1 --weight 5 --txt version=2 --txt zone=a); rc=$?
is "$rc:$out" "0:OK ttl=60" "register over UDP: exit 0, prints the granted ttl"
out=$(ctl --tcp register web web-2 10.0.0.2 8081); rc=$?
is "$rc:$out" "0:OK ttl=30" "register over TCP: exit 0, server default ttl 30"
is "$(ctl register web6 w6 fd00::6 443 --tcp)" "OK ttl=30" "global flags after the command, IPv6 address"
is "$(ctl register dns d1 10.0.0.53 53 --proto udp)" "OK ttl=30" "register --proto udp"

is "$(qs web.svc.internal A | sort | tr '\n' ' ')" "10.0.0.1 10.0.0.2 " "A of the service lists both instances"
is "$(qs web-1.web.svc.internal A)" "10.0.0.1" "A of the UDP-registered instance"
is "$(qs web-2.web.svc.internal A)" "10.0.0.2" "A of the TCP-registered instance"
is "$(qs w6.web6.svc.internal AAAA)" "fd00::6" "AAAA of an IPv6 instance"
is "$(qs _web._tcp.svc.internal SRV | sort | tr '\n' ' ')" \
	"0 0 8081 web-2.web.svc.internal. 1 5 8080 web-1.web.svc.internal. " "SRV with --priority and --weight"
is "$(qs web-1.web.svc.internal TXT)" '"version=2" "zone=a"' "TXT strings from --txt, in order"
is "$(qs _dns._udp.svc.internal SRV)" "0 0 53 d1.dns.svc.internal." "--proto udp lands under _udp"

# --- list ----------------------------------------------------------------------------
out=$(ctl list web); rc=$?
is "$rc" "0" "list: exit 0"
is "$(wc -l <<<"$out")" "2" "list web: one line per instance, no OK line"
like "$out" "(^|"$'\n'")web web-1 10.0.0.1 8080 ttl=(60|[1-5][0-9]) priority=1 weight=5 txt=version=2 txt=zone=a($|"$'\n'")" \
	"list prints the instance line with every option"
like "$out" "(^|"$'\n'")web web-2 10.0.0.2 8081 ttl=(30|[12][0-9])($|"$'\n'")" "list prints a plain instance line"
out=$(ctl --tcp list)
is "$(wc -l <<<"$out")" "4" "list over TCP, all services"
like "$out" "dns d1 10.0.0.53 53 ttl=[0-9]+ proto=udp" "list shows proto=udp"
out=$(ctl list nosuch); rc=$?
is "$rc:$out" "0:" "list of an unknown service: nothing, exit 0"

# --- renew, deregister -------------------------------------------------------------------
is "$(ctl renew web web-2 --ttl 100)" "OK ttl=100" "renew --ttl grants the ttl"
like "$(ctl --tcp list web)" "web web-2 10.0.0.2 8081 ttl=(100|[5-9][0-9])( |$)" "renewed lease visible in list"
is "$(ctl renew web web-2)" "OK ttl=30" "renew without --ttl: the server's default"
out=$(ctl deregister web web-1); rc=$?
is "$rc:$out" "0:OK" "deregister over UDP: exit 0"
is "$(rcode web-1.web.svc.internal A)" "NXDOMAIN" "deregistered instance: NXDOMAIN at once"
is "$(qs web.svc.internal A)" "10.0.0.2" "the other instance stays"
is "$(ctl --tcp deregister web web-2)" "OK" "deregister over TCP"
is "$(rcode web-2.web.svc.internal A)" "NXDOMAIN" "second deregistered instance: NXDOMAIN"
is "$(qs web.svc.internal A | wc -l)" "0" "the service has no addresses left"

# --- exit statuses ---------------------------------------------------------------------------
err=$(ctl deregister web web-1 2>&1 >/dev/null); rc=$?
is "$rc" "1" "ERR reply: exit 1"
like "$err" "^ERR 404 " "the ERR line goes to stderr as the server sent it"
err=$(ctl --tcp renew web nope 2>&1 >/dev/null); rc=$?
is "$rc" "1" "RENEW of an unknown instance over TCP: exit 1"
like "$err" "^ERR 404 " "RENEW unknown: ERR 404 on stderr"
err=$(ctl register bad_name x 10.0.0.1 80 2>&1 >/dev/null); rc=$?
like "$rc:$err" "^1:ERR 400 service: " "the server's ERR 400 names the field, exit 1"
DEAD=$(free_port)
err=$("$CTL" --server "127.0.0.1:$DEAD" ping 2>&1 >/dev/null); rc=$?
like "$rc:$err" "^1:svcdnsctl: .*127.0.0.1:$DEAD.*refused" "no server (UDP): exit 1 and why"
err=$("$CTL" --server "127.0.0.1:$DEAD" --tcp ping 2>&1 >/dev/null); rc=$?
like "$rc:$err" "^1:svcdnsctl: .*127.0.0.1:$DEAD.*refused" "no server (TCP): exit 1 and why"

is "$(status_of ctl)" "2" "no command: exit 2"
is "$(status_of ctl frobnicate)" "2" "unknown command: exit 2"
is "$(status_of ctl register web w 10.0.0.1)" "2" "register without PORT: exit 2"
is "$(status_of ctl register web w 10.0.0.1 80x)" "2" "bad port: exit 2"
is "$(status_of ctl register web w 10.0.0.1 70000)" "2" "port out of range: exit 2"
is "$(status_of ctl register web w 10.0.0.1 80 --ttl abc)" "2" "bad --ttl: exit 2"
is "$(status_of ctl register web w 10.0.0.1 80 --proto sctp)" "2" "bad --proto: exit 2"
is "$(status_of ctl register web w 10.0.0.1 80 --txt 'a b')" "2" "--txt with a space: exit 2"
is "$(status_of ctl deregister web w --ttl 5)" "2" "an option the command does not take: exit 2"
is "$(status_of ctl ping --frob)" "2" "unknown option: exit 2"
is "$(status_of ctl ping extra)" "2" "extra operand: exit 2"
is "$(status_of "$CTL" --server '[::1' ping)" "2" "bad --server: exit 2"
is "$(status_of ctl --key nocolon ping)" "2" "--key without NAME:SECRET: exit 2"
is "$(status_of ctl --key-file "$WORK/no-such-file" ping)" "2" "missing key file: exit 2"
err=$(ctl register web w 10.0.0.1 2>&1); rc=$?
like "$rc:$err" "^2:svcdnsctl: register takes SERVICE INSTANCE ADDRESS PORT" "usage error says what is wrong"
is "$(rcode w.web.svc.internal A)" "NXDOMAIN" "usage errors send nothing"
out=$(ctl --help); rc=$?
like "$rc:$out" "^0:usage: svcdnsctl " "--help: usage on stdout, exit 0"
out=$("$CTL" --version); rc=$?
like "$rc:$out" "^0:svcdnsctl [0-9]+\.[0-9]+" "--version: exit 0"

# --- keepalive: a 2 s lease kept for more than 3 TTLs, deregistered on SIGTERM ----------
"$CTL" --server "127.0.0.1:$REGPORT" register ka k1 10.0.9.1 9000 --ttl 2 --keepalive >"$WORK/ka1.out" 2>"$WORK/ka1.err" &
KA1=$!
on_exit "kill -KILL $KA1"
check "keepalive registers" wait_for 3 answers k1.ka.svc.internal 10.0.9.1
read -r probes misses <<<"$(always_answers 7 k1.ka.svc.internal 10.0.9.1)"
is "$misses" "0" "keepalive --ttl 2: every dig over 7 s answers ($probes probes)"
check "keepalive still running" kill -0 "$KA1"
like "$(cat "$WORK/ka1.err")" "^svcdnsctl: registered ka/k1 at 10.0.9.1 port 9000: lease 2 s" "keepalive logs its registration"
is "$(wc -l <"$WORK/ka1.err")" "1" "renewals log nothing (one line per state change)"
kill -TERM "$KA1"
wait "$KA1"; rc=$?
is "$rc" "0" "keepalive exits 0 on SIGTERM"
is "$(rcode k1.ka.svc.internal A)" "NXDOMAIN" "SIGTERM deregisters: the name is gone at once"
like "$(tail -1 "$WORK/ka1.err")" "stopping: deregistered ka/k1" "keepalive logs the deregistration"
is "$(cat "$WORK/ka1.out")" "" "keepalive prints nothing on stdout"

# --- keepalive killed with SIGKILL: the lease runs out by itself -------------------------
"$CTL" --server "127.0.0.1:$REGPORT" register kb k2 10.0.9.2 9000 --ttl 2 --keepalive 2>"$WORK/ka2.err" &
KA2=$!
on_exit "kill -KILL $KA2"
check "second keepalive registers" wait_for 3 answers k2.kb.svc.internal 10.0.9.2
kill -KILL "$KA2"
wait "$KA2" 2>/dev/null
killed=$(now_ms)
check "right after SIGKILL the lease still holds" answers k2.kb.svc.internal 10.0.9.2
wait_for 5 gone k2.kb.svc.internal
gone_ms=$(($(now_ms) - killed))
check "gone within ttl + 1.5 s of SIGKILL ($gone_ms ms <= 3500)" test "$gone_ms" -le 3500

# --- keepalive over TCP across a server restart without state --------------------------------
"$CTL" --server "127.0.0.1:$REGPORT" --tcp register kc k3 10.0.9.3 9000 --ttl 2 --keepalive 2>"$WORK/ka3.err" &
KA3=$!
on_exit "kill -KILL $KA3"
check "TCP keepalive registers" wait_for 3 answers k3.kc.svc.internal 10.0.9.3
stop_server
check "keepalive notices the server is gone" wait_for 5 grep -q "server unreachable" "$WORK/ka3.err"
sleep 1.5   # the server stays down for a few backoff retries, which must not log
start_server --config "$WORK/svcdns.yml" --zones "$WORK/none" || exit 1
check "keepalive registers again on the new server" wait_for 5 answers k3.kc.svc.internal 10.0.9.3
# "forgotten" means RENEW got 404: the new server really started without the instance.
like "$(cat "$WORK/ka3.err")" "the server had forgotten kc/k3 .*registered it again" "RENEW got 404 on the new server: registered again"
is "$(grep -c "server unreachable" "$WORK/ka3.err")" "1" "one 'unreachable' line for many retries"
is "$(wc -l <"$WORK/ka3.err")" "3" "three state changes, three lines"
read -r probes misses <<<"$(always_answers 3 k3.kc.svc.internal 10.0.9.3)"
is "$misses" "0" "kept alive on the new server ($probes probes)"
kill -TERM "$KA3"
wait "$KA3"; rc=$?
is "$rc" "0" "TCP keepalive exits 0 on SIGTERM"
is "$(rcode k3.kc.svc.internal A)" "NXDOMAIN" "and deregistered"
stop_server

# --- signed requests -------------------------------------------------------------------------
SECRET='s3cret:with-colon-0123'
cat >"$WORK/keyed.yml" <<YML
ttl: 5
keys:
  - name: deploy
    secret: "$SECRET"
YML
printf 'deploy:%s\n' "$SECRET" >"$WORK/deploy.key"
unset PORT REGPORT
start_server --config "$WORK/keyed.yml" --zones "$WORK/none" || exit 1

err=$(ctl ping 2>&1 >/dev/null); rc=$?
like "$rc:$err" "^1:ERR 401 " "unsigned request to a keyed server: ERR 401, exit 1"
is "$(ctl --key "deploy:$SECRET" register auth a1 10.0.8.1 80)" "OK ttl=30" "--key signs (a secret may contain ':')"
is "$(qs a1.auth.svc.internal A)" "10.0.8.1" "signed registration served"
is "$(SVCDNS_KEY="deploy:$SECRET" ctl renew auth a1)" "OK ttl=30" "SVCDNS_KEY signs"
like "$(ctl --key-file "$WORK/deploy.key" --tcp list auth)" "^auth a1 10.0.8.1 80 " "--key-file signs (over TCP)"
err=$(ctl --key "deploy:wrong-secret-0123456" ping 2>&1 >/dev/null); rc=$?
like "$rc:$err" "^1:ERR 401 " "wrong secret: ERR 401, exit 1"
# The same signed line twice in one second is a replay to the server; a second svcdnsctl
# run right after the first re-signs in the next second instead of failing.
rc1=$(status_of ctl --key "deploy:$SECRET" renew auth a1)
rc2=$(status_of ctl --key "deploy:$SECRET" renew auth a1)
rc3=$(status_of ctl --key "deploy:$SECRET" renew auth a1)
is "$rc1:$rc2:$rc3" "0:0:0" "identical signed renews run back to back all pass"

replays_before=$(grep -c 'replayed request' "$SERVER_LOG")
"$CTL" --server "127.0.0.1:$REGPORT" --key-file "$WORK/deploy.key" register kd k4 10.0.9.4 9000 --ttl 2 --keepalive 2>"$WORK/ka4.err" &
KA4=$!
on_exit "kill -KILL $KA4"
check "signed keepalive registers" wait_for 3 answers k4.kd.svc.internal 10.0.9.4
read -r probes misses <<<"$(always_answers 5 k4.kd.svc.internal 10.0.9.4)"
is "$misses" "0" "signed keepalive --ttl 2 holds the lease without replays ($probes probes)"
is "$(grep -c ERR "$WORK/ka4.err")" "0" "no request of the signed keepalive was refused"
kill -TERM "$KA4"
wait "$KA4"; rc=$?
is "$rc" "0" "signed keepalive exits 0 on SIGTERM"
is "$(rcode k4.kd.svc.internal A)" "NXDOMAIN" "signed deregistration on SIGTERM"
is "$(grep -c 'replayed request' "$SERVER_LOG")" "$replays_before" "the server saw no replayed request from the keepalive"

#!/usr/bin/env bash
# t_scenario.sh -- the docker-compose example's topology (examples/compose/docker-compose.yml) with
# network namespaces instead of containers, end to end with real clients.
#
# Topology (all of it private to this run; the host's own networking is never touched):
#   NSP-net        a Linux bridge br0; every other namespace has a veth (eth0) into it
#   NSP-dns        svcdns at 10.213.42.53: DNS on :53, registration on :8053, HTTP on :8054,
#                  answer-limits {user-service: 1}, forward: the upstream below
#   NSP-upstream   a second svcdns at 10.213.42.54:53 serving the static zone example.test
#   NSP-user-1..3  user-service instances at .11-.13, each with python's http.server on :8080,
#                  registered with a health check of its /health (interval 1 s)
#   NSP-order-1..2 order-service at .21-.22 (order-2 with `search svc.internal`, order-1 without)
#   NSP-payment-1  payment-service at .31
# Every "container" registers itself from inside its namespace with
# `svcdnsctl register ... --ttl 3 --keepalive` and has /etc/netns/NS/resolv.conf naming only
# svcdns. The assertions run from inside order-1 with glibc (getent) and curl.
# Needs root (ip netns add); skips with a TAP SKIP line only when not root.
# The namespaces share the host's hostname (no UTS namespace). Like a container's, it must
# have no dot: without a search line glibc would otherwise search the hostname's domain first.
. "$(dirname "$0")/../lib.sh"

CTL=$(dirname "$SVCDNS_BIN")/svcdnsctl
PY=/usr/bin/python3
TTL=3                          # lease of every registration (keepalive renews every TTL/3)
NSP=svcdns-sc$$                # per-run prefix of every namespace name
NET_NS=$NSP-net
SUBNET=10.213.42
DNS_ADDR=$SUBNET.53
UP_ADDR=$SUBNET.54
WWW_ADDR=$SUBNET.80            # www.example.test in the upstream zone
CONTAINERS=(user-1 user-2 user-3 order-1 order-2 payment-1)
declare -A ADDR=([dns]=$DNS_ADDR [upstream]=$UP_ADDR
	[user-1]=$SUBNET.11 [user-2]=$SUBNET.12 [user-3]=$SUBNET.13
	[order-1]=$SUBNET.21 [order-2]=$SUBNET.22 [payment-1]=$SUBNET.31)
declare -A SERVICE=([user-1]=user-service [user-2]=user-service [user-3]=user-service
	[order-1]=order-service [order-2]=order-service [payment-1]=payment-service)
declare -A PORT_OF=([user-service]=8080 [order-service]=8081 [payment-service]=8082)
declare -A KEEPALIVE=()        # container -> PID of its svcdnsctl --keepalive
declare -A HTTPD=()            # user-N -> PID of its http.server
UP_PID=""
PIDS=()                        # every background process this test started
NAMESPACES=()                  # every namespace this test created
exec 3>&1                      # lib.sh discards on_exit output; teardown reports on fd 3

# inns SHORT-NAME CMD...: a foreground command inside a namespace (never backgrounded).
inns() { local n=$1; shift; ip netns exec "$NSP-$n" "$@"; }
# spawn SHORT-NAME LOG CMD...: a background process inside a namespace. `ip netns exec`
# is backgrounded directly (not a function or subshell), so $! becomes the command itself.
spawn() {
	local n=$1 log=$2; shift 2
	ip netns exec "$NSP-$n" "$@" >>"$log" 2>&1 &
	LAST_PID=$!
	PIDS+=("$LAST_PID")
}
alive() { kill -0 "$1" 2>/dev/null; }
dead() { ! kill -0 "$1" 2>/dev/null; }
# ours PID: PID is still a child of this shell (pid_max is 32768 here: a PID that exited
# and was reaped may soon belong to someone else, who must never get our signals).
ours() { [ "$(ps -o ppid= -p "$1" 2>/dev/null | tr -d ' ')" = "$$" ]; }
kill_ours() { local sig=$1 pid; shift; for pid; do ours "$pid" && kill "-$sig" "$pid"; done; }
# reap PID SECONDS: waits up to SECONDS for PID to exit, then collects its exit status
# (255 when it is still running: never blocks).
reap() {
	wait_for "$2" dead "$1" || return 255
	wait "$1" 2>/dev/null
}

# ---------------------------------------------------------------- teardown
ours_left() {  # prints whatever of this run still exists: namespaces, /etc/netns dirs, processes
	ip netns list 2>/dev/null | awk -v p="$NSP-" 'index($1, p) == 1 { print "namespace " $1 }'
	ls -d /etc/netns/"$NSP"-* 2>/dev/null | sed 's/^/dir /'
	local pid
	for pid in "${PIDS[@]+"${PIDS[@]}"}"; do ours "$pid" && echo "process $pid"; done
	comm -13 <(echo "$ROOT_LINKS") <(root_links) | grep -E '^(v-.*|br0)$' | sed 's/^/root-namespace link /'
}
root_links() { ip -br link | awk '{ sub(/@.*/, "", $1); print $1 }' | sort; }
ROOT_LINKS=$(root_links)
teardown() {
	local pid ns pids
	[ -n "$SERVER_PID" ] && stop_server >&3 2>&1          # SIGTERM, exit status, sanitizers
	{ for pid in "${PIDS[@]+"${PIDS[@]}"}"; do kill_ours KILL "$pid" && wait "$pid"; done; } 2>/dev/null
	for ns in "${NAMESPACES[@]+"${NAMESPACES[@]}"}"; do  # stragglers (a hung getent or curl)
		pids=$(ip netns pids "$ns" 2>/dev/null)
		[ -n "$pids" ] && { echo "# killing leftover processes in $ns: $pids" >&3; kill -KILL $pids 2>/dev/null; }
	done
	for ((i = ${#NAMESPACES[@]} - 1; i >= 0; i--)); do
		ip netns del "${NAMESPACES[$i]}" 2>/dev/null       # takes its veth ends (and br0) along
		rm -rf "/etc/netns/${NAMESPACES[$i]}"
	done
	if [ ${#NAMESPACES[@]} -gt 0 ]; then
		local left
		left=$(ours_left)
		is "$left" "" "teardown: no namespace, /etc/netns directory, process or root-namespace link of this run is left" >&3
	fi
}
on_exit teardown

# ---------------------------------------------------------------- namespaces and bridge
if [ "$(id -u)" -ne 0 ]; then
	echo "ok 1 - # SKIP needs root to create network namespaces"
	exit 0
fi
case $(hostname) in *.*) echo "# note: hostname $(hostname) has a domain: glibc searches it before bare names" ;; esac
for f in "$SVCDNS_BIN" "$CTL"; do
	[ -x "$f" ] || { ok 1 "$f exists"; exit 1; }
done

mkns() {  # mkns SHORT-NAME: a namespace with lo up and eth0 (ADDR/24) on the bridge
	local n=$1 ns=$NSP-$1
	ip netns add "$ns" || return 1
	NAMESPACES+=("$ns")
	ip -n "$ns" link set lo up &&
	ip -n "$ns" link add eth0 type veth peer name "v-$n" netns "$NET_NS" &&
	ip -n "$NET_NS" link set "v-$n" master br0 &&
	ip -n "$NET_NS" link set "v-$n" up &&
	ip -n "$ns" addr add "${ADDR[$n]}/24" dev eth0 &&
	ip -n "$ns" link set eth0 up
}
# resolver files of a container: svcdns only, optionally a search line (see TESTING-NOTES.md)
netns_etc() {  # netns_etc SHORT-NAME [SEARCH]
	local d=/etc/netns/$NSP-$1
	mkdir -p "$d" &&
	{ printf 'nameserver %s\n' "$DNS_ADDR"; [ -n "${2:-}" ] && printf 'search %s\n' "$2"
	  printf 'options timeout:1 attempts:2\n'; } >"$d/resolv.conf" &&
	printf 'hosts: files dns\n' >"$d/nsswitch.conf" &&
	printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$d/hosts"
}

setup_net() {
	ip netns add "$NET_NS" || return 1
	NAMESPACES+=("$NET_NS")
	ip -n "$NET_NS" link add br0 type bridge &&
	ip -n "$NET_NS" link set br0 up || return 1
	local n
	for n in dns upstream "${CONTAINERS[@]}"; do mkns "$n" || return 1; done
	for n in "${CONTAINERS[@]}"; do
		if [ "$n" = order-2 ]; then netns_etc "$n" svc.internal; else netns_etc "$n"; fi || return 1
	done
}
if ! setup_net 2>"$WORK/setup.err"; then
	ok 1 "bridge and namespaces set up"; sed 's/^/#   /' "$WORK/setup.err"; exit 1
fi
ok 0 "bridge br0 in $NET_NS and ${#CONTAINERS[@]}+2 namespaces with a veth each"
check "order-1's resolv.conf names only svcdns, no search line" \
	eval '[ "$(inns order-1 grep -E "^(nameserver|search|domain)" /etc/resolv.conf)" = "nameserver $DNS_ADDR" ]'
check "order-2's resolv.conf has search svc.internal" inns order-2 grep -qx 'search svc.internal' /etc/resolv.conf
check "namespaces have no default route (every answer comes from our servers)" \
	eval '[ -z "$(inns order-1 ip route show default)$(inns dns ip route show default)" ]'

# ---------------------------------------------------------------- upstream DNS
mkdir -p "$WORK/upstream-zones" "$WORK/zones"
cat >"$WORK/upstream-zones/example.test.zone" <<ZONE
\$ORIGIN example.test.
\$TTL 300
@    IN SOA ns1 admin 1 3600 600 86400 60
@    IN NS  ns1
ns1  IN A   $UP_ADDR
www  IN A   $WWW_ADDR
ZONE
spawn upstream "$WORK/upstream.log" "$SVCDNS_BIN" --dns "$UP_ADDR:53" --register 127.0.0.1:8053 \
	--http off --zones "$WORK/upstream-zones"
UP_PID=$LAST_PID
up_answers() { alive "$UP_PID" && inns order-1 dig @"$UP_ADDR" +time=1 +tries=1 +norec example.test SOA | grep -q 'status: NOERROR'; }
if ! wait_for 15 up_answers; then
	ok 1 "upstream svcdns answers for example.test on $UP_ADDR:53"; sed 's/^/#   /' "$WORK/upstream.log"; exit 1
fi
ok 0 "upstream svcdns answers for example.test on $UP_ADDR:53"

# ---------------------------------------------------------------- svcdns
cat >"$WORK/svcdns.yml" <<YML
# as examples/compose/svcdns.yml, with addresses of this run and our own upstream
domain: svc.internal
dns: ["$DNS_ADDR:53"]
register: ["$DNS_ADDR:8053"]
http: ["$DNS_ADDR:8054"]
nameserver: { name: ns.svc.internal, addresses: [$DNS_ADDR] }
forward: ["$UP_ADDR"]
answer-limits: { user-service: 1 }
YML
spawn dns "$SERVER_LOG" "$SVCDNS_BIN" --config "$WORK/svcdns.yml" --zones "$WORK/zones" --log-level debug
SERVER_PID=$LAST_PID
svcdns_answers() {
	alive "$SERVER_PID" &&
	inns order-1 dig @"$DNS_ADDR" +time=1 +tries=1 +norec svc.internal SOA | grep -q 'status: NOERROR' &&
	inns order-1 dig @"$DNS_ADDR" +tcp +time=1 +tries=1 +norec svc.internal SOA | grep -q 'status: NOERROR'
}
if ! wait_for 15 svcdns_answers; then
	ok 1 "svcdns answers SOA on $DNS_ADDR:53 (UDP and TCP) from order-1"
	tail -n 20 "$SERVER_LOG" | sed 's/^/#   /'; exit 1
fi
ok 0 "svcdns answers SOA on $DNS_ADDR:53 (UDP and TCP) from order-1"
if [ "${SVCDNS_FLAVOUR:-}" = valgrind ]; then   # make valgrind: SVCDNS_BIN execs valgrind on the release build
	like "$(tr '\0' ' ' <"/proc/$SERVER_PID/cmdline")" "valgrind.* $ROOT_DIR/build/release/svcdns " "recorded PID $SERVER_PID is valgrind running svcdns"
else
	is "$(readlink "/proc/$SERVER_PID/exe")" "$(readlink -f "$SVCDNS_BIN")" "recorded PID $SERVER_PID is svcdns itself"
fi
is "$(ip netns identify "$SERVER_PID")" "$NSP-dns" "svcdns runs in its own namespace"

# ---------------------------------------------------------------- containers
for n in user-1 user-2 user-3; do
	mkdir -p "$WORK/www-$n"
	printf '%s\n' "$n" >"$WORK/www-$n/index.html"
	printf 'ok\n' >"$WORK/www-$n/health"      # GET /health: 200 while it exists, 404 (critical) once removed
	spawn "$n" "$WORK/http-$n.log" "$PY" -m http.server 8080 --bind "${ADDR[$n]}" --directory "$WORK/www-$n"
	HTTPD[$n]=$LAST_PID
done
for n in "${CONTAINERS[@]}"; do
	svc=${SERVICE[$n]}
	check_opts=()
	[ "$svc" = user-service ] && check_opts=(--check "http://:8080/health" --interval 1s)
	spawn "$n" "$WORK/keepalive-$n.log" "$CTL" --server "$DNS_ADDR:8053" \
		register "$svc" "$n" "${ADDR[$n]}" "${PORT_OF[$svc]}" --ttl "$TTL" "${check_opts[@]}" --keepalive
	KEEPALIVE[$n]=$LAST_PID
done

http_up() { [ "$(inns order-1 curl -fsS --max-time 2 "http://${ADDR[$1]}:8080/")" = "$1" ]; }
for n in user-1 user-2 user-3; do
	wait_for 15 http_up "$n"; rc=$?
	ok "$rc" "$n: http.server answers on ${ADDR[$n]}:8080 with its name"
	[ "$rc" -eq 0 ] || sed 's/^/#   /' "$WORK/http-$n.log"
done
registered() {  # registered INSTANCE: INSTANCE.SERVICE.svc.internal has its address
	[ "$(inns order-1 dig @"$DNS_ADDR" +time=1 +tries=1 +norec +short "$1.${SERVICE[$1]}.svc.internal" A)" = "${ADDR[$1]}" ]
}
for n in "${CONTAINERS[@]}"; do
	wait_for 10 registered "$n"; rc=$?
	ok "$rc" "$n registered itself as ${SERVICE[$n]} ${ADDR[$n]}"
	[ "$rc" -eq 0 ] || sed 's/^/#   /' "$WORK/keepalive-$n.log"
done
each_in_own_ns() {
	local n
	for n in "${CONTAINERS[@]}"; do [ "$(ip netns identify "${KEEPALIVE[$n]}")" = "$NSP-$n" ] || return 1; done
}
check "every keepalive runs inside its own container's namespace" each_in_own_ns
list=$(inns order-1 "$CTL" --server "$DNS_ADDR:8053" list 2>&1)
is "$(grep -c . <<<"$list")" "6" "svcdnsctl list from order-1 shows the 6 instances"
echo "$list" | sed 's/^/#   /'
# No traffic goes to an instance never seen healthy: the lookups below wait for the checks.
health_of() {  # health_of INSTANCE: its state in svcdnsctl list
	inns order-1 "$CTL" --server "$DNS_ADDR:8053" list user-service 2>/dev/null |
		awk -v i="$1" '$2 == i { for (f = 5; f <= NF; f++) if ($f ~ /^health=/) { split(substr($f, 8), p, "/"); print p[1] } }'
}
health_is() { [ "$(health_of "$1")" = "$2" ]; }
check "user-1..3 pass their health checks" eval 'wait_for 5 health_is user-1 passing && wait_for 5 health_is user-2 passing && wait_for 5 health_is user-3 passing'

# ---------------------------------------------------------------- glibc lookups
addrs() { awk 'NF { print $1 }' | sort -u | paste -sd' ' -; }
USERS_ALL="${ADDR[user-1]} ${ADDR[user-2]} ${ADDR[user-3]}"

# lookups FROM NAME N: N runs of `getent ahosts NAME` inside FROM (one `ip netns exec` for
# all: it costs more than getent itself). Sets SEEN (sorted distinct addresses of all runs)
# and BAD (runs that failed or did not give exactly one address).
lookups() {
	local out a
	out=$(inns "$1" sh -c 'i=0; while [ $i -lt "$2" ]; do getent ahosts "$1"; echo "status $?"; i=$((i + 1)); done' \
		sh "$2" "$3")
	SEEN=$(awk '$1 != "status" { print $1 }' <<<"$out" | sort -uV | paste -sd' ' -)
	# one record per run: the lines up to its "status" line
	BAD=$(awk '$1 == "status" { if ($2 != 0 || n != 1) { if (++bad <= 3) printf "# run: status %s, %d addresses\n", $2, n > "/dev/stderr" }
	                           delete a; n = 0; next }
	           !($1 in a) { a[$1] = 1; n++ }
	           END { print bad + 0 }' <<<"$out")
}
lookups order-1 user-service 30
is "$SEEN" "$USERS_ALL" "30 runs of getent ahosts user-service (bare, no search line) yield all three instances"
is "$BAD" 0 "... each lookup gives exactly one address (answer-limits {user-service: 1})"
lookups order-1 user-service.svc.internal 30
is "$SEEN" "$USERS_ALL" "30 runs of getent ahosts user-service.svc.internal yield all three"
is "$BAD" 0 "... one address per lookup"
out=$(inns order-2 getent ahosts user-service)
like "$(awk 'NR == 1 { print $1 " " $3 }' <<<"$out")" "^$SUBNET\\.1[123] user-service\\.svc\\.internal$" \
	"order-2 (search svc.internal): getent ahosts user-service completes to user-service.svc.internal"
out=$(inns order-1 getent ahosts order-service)
is "$(addrs <<<"$out" | tr ' ' '\n' | sort -V | paste -sd' ' -)" "${ADDR[order-1]} ${ADDR[order-2]}" \
	"getent ahosts order-service (no answer limit) gives both order-service instances at once"
out=$(inns order-1 getent ahosts payment-service)
is "$(addrs <<<"$out")" "${ADDR[payment-1]}" "getent ahosts payment-service gives payment-1"

# ---------------------------------------------------------------- reverse lookups (PTR)
for n in user-1 user-2 user-3 payment-1; do
	out=$(inns order-1 getent hosts "${ADDR[$n]}")
	is "$(awk '{ print $1 " " $2 }' <<<"$out")" "${ADDR[$n]} $n.${SERVICE[$n]}.svc.internal" \
		"getent hosts ${ADDR[$n]} gives $n.${SERVICE[$n]}.svc.internal back (PTR)"
done

# ---------------------------------------------------------------- forwarding
is "$(inns order-1 dig @"$UP_ADDR" +time=2 +tries=1 +norec +short www.example.test A | grep -v '^;')" "$WWW_ADDR" \
	"the upstream itself serves www.example.test $WWW_ADDR"
out=$(inns order-1 getent hosts www.example.test); rc=$?
is "$rc/$(awk '{ print $1 " " $2 }' <<<"$out")" "0/$WWW_ADDR www.example.test" \
	"getent hosts www.example.test from order-1 resolves through svcdns forwarding to the upstream"
like "$(inns order-1 dig @"$DNS_ADDR" +time=2 +tries=1 www.example.test A)" ";; flags: qr rd ra;" \
	"svcdns's forwarded answer carries RA, not AA"

# ---------------------------------------------------------------- HTTP by bare name
# requests FROM N: N requests to http://user-service:8080/ from one python3 (urllib) inside
# FROM, each on a new connection after a new lookup (glibc keeps no cache; a curl process per
# request costs ~150 ms on a busy machine). Sets OK_N (answers naming an instance), WHO (sorted
# distinct instances that answered) and DIST (answers per instance).
requests() {
	local out
	out=$(inns "$1" "$PY" -c '
import sys, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
for i in range(int(sys.argv[1])):
    try:
        print(opener.open("http://user-service:8080/", timeout=5).read().decode().strip())
    except Exception as e:
        print("request %d failed: %s" % (i, e))
' "$2" 2>&1)
	OK_N=$(grep -cxE 'user-[0-9]+' <<<"$out")
	WHO=$(grep -xE 'user-[0-9]+' <<<"$out" | sort -u | paste -sd' ' -)
	DIST=$(grep -xE 'user-[0-9]+' <<<"$out" | sort | uniq -c | awk '{ print $2 "=" $1 }' | paste -sd' ' -)
	grep -vxE 'user-[0-9]+' <<<"$out" | head -5 | sed 's/^/# /'
}
out=$(inns order-1 curl -fsS --noproxy '*' --max-time 5 http://user-service:8080/ 2>&1)
like "$out" '^user-[123]$' "curl http://user-service:8080/ from order-1 (the compose example's call) reaches a user-service instance"
requests order-1 30
is "$OK_N" 30 "30 requests from order-1 to http://user-service:8080/ (python urllib) all succeed"
is "$WHO" "user-1 user-2 user-3" "... and reach all three instances ($DIST)"
served_order1() {
	local n
	for n in user-1 user-2 user-3; do
		grep -q "^${ADDR[order-1]} .*\"GET / HTTP/1.1\" 200" "$WORK/http-$n.log" || return 1
	done
}
check "... each instance's http.server logged GET / from order-1's address ${ADDR[order-1]}" served_order1

# ---------------------------------------------------------------- a failing health check
# user-2's /health starts failing (404: critical): once svcdns withholds it, order-1's
# calls through glibc (answer-limit 1) never reach it; once it passes again, they do.
rm "$WORK/www-user-2/health"
check "user-2's /health failing: svcdns withholds it within 3 s" wait_for 3 health_is user-2 critical
requests order-1 30
is "$OK_N" 30 "30 requests from order-1 while user-2 fails its check all succeed"
is "$WHO" "user-1 user-3" "... and never reach user-2 ($DIST)"
printf 'ok\n' >"$WORK/www-user-2/health"
check "user-2 passes again" wait_for 3 health_is user-2 passing
requests order-1 30
is "$WHO" "user-1 user-2 user-3" "... and order-1's requests reach it again ($DIST)"

# ---------------------------------------------------------------- a container dies
# SIGKILL user-3's keepalive and HTTP server: no deregistration, its lease runs out.
{ kill_ours KILL "${KEEPALIVE[user-3]}" "${HTTPD[user-3]}"; t_kill=$(date +%s%N)
  reap "${KEEPALIVE[user-3]}" 5; reap "${HTTPD[user-3]}" 5; } 2>/dev/null    # no "Killed" job notices
check "right after SIGKILL user-3 is still registered (its lease has not run out)" registered user-3
gone() {  # gone INSTANCE: INSTANCE.SERVICE.svc.internal is NXDOMAIN
	inns order-1 dig @"$DNS_ADDR" +time=1 +tries=1 +norec "$1.${SERVICE[$1]}.svc.internal" A | grep -q 'status: NXDOMAIN'
}
wait_for $((TTL + 2)) gone user-3; rc=$?
ms=$(( ($(date +%s%N) - t_kill) / 1000000 ))
ok "$rc" "user-3 leaves the answers within ttl+2 s of its SIGKILL (${ms} ms)"
# Answers drop the instance at the lease's end; the expiry sweep that logs it runs every
# 100 ms (later under valgrind): poll the log for a moment.
check "... because its lease expired (server log), not by a deregistration" eval '
	wait_for 2 grep -q "expired user-3.user-service" "$SERVER_LOG" && ! grep -q "deregistered user-3.user-service" "$SERVER_LOG"'
srv=$(inns order-1 dig @"$DNS_ADDR" +time=2 +tries=1 +norec +short user-service.svc.internal SRV | grep -v '^;' | awk '{ print $4 }' | sort | paste -sd' ' -)
is "$srv" "user-1.user-service.svc.internal. user-2.user-service.svc.internal." "SRV of user-service lists user-1 and user-2 only"
USERS_LEFT="${ADDR[user-1]} ${ADDR[user-2]}"
lookups order-1 user-service 30
is "$SEEN" "$USERS_LEFT" "30 lookups of user-service give user-1 and user-2, never user-3's ${ADDR[user-3]}"
is "$BAD" 0 "... one address each, no failure"
requests order-1 30
is "$OK_N" 30 "30 requests after user-3 died all succeed"
is "$WHO" "user-1 user-2" "... on the two instances left ($DIST)"

# ---------------------------------------------------------------- a container stops
# SIGTERM to payment-1's keepalive: it deregisters at once, long before its lease would end.
check "payment-service resolves before the stop" registered payment-1
kill_ours TERM "${KEEPALIVE[payment-1]}"
t_term=$(date +%s%N)
wait_for 2 gone payment-1; rc=$?
ms=$(( ($(date +%s%N) - t_term) / 1000000 ))
ok "$rc" "SIGTERM to payment-1's keepalive: payment-1 gone after ${ms} ms"
reap "${KEEPALIVE[payment-1]}" 5; rc=$?
is "$rc" 0 "... the keepalive exits with status 0"
check "... deregistered (server log), not expired" eval '
	grep -q "deregistered payment-1.payment-service" "$SERVER_LOG" && ! grep -q "expired payment-1" "$SERVER_LOG"'
# log_ms REGEX: the time (ms since the epoch) of the last server log line matching REGEX
log_ms() { date -d "$(grep -E "$1" "$SERVER_LOG" | tail -1 | cut -d' ' -f1)" +%s%3N 2>/dev/null; }
renewed_ms=$(log_ms ' (registered|updated|renewed) payment-1\.payment-service ')
dereg_ms=$(log_ms ' deregistered payment-1\.payment-service$')
check "... $(( ${dereg_ms:-0} - ${renewed_ms:-0} )) ms after its last renewal, before the $TTL s lease would have run out" \
	test -n "$renewed_ms" -a -n "$dereg_ms" -a $(( ${dereg_ms:-0} - ${renewed_ms:-0} )) -lt $((TTL * 1000))
inns order-1 getent ahosts payment-service >/dev/null; rc=$?
is "$rc" 2 "getent ahosts payment-service now fails (not found)"

# ---------------------------------------------------------------- orderly shutdown
for n in user-1 user-2 order-1 order-2; do kill_ours TERM "${KEEPALIVE[$n]}"; done
for n in user-1 user-2 order-1 order-2; do
	reap "${KEEPALIVE[$n]}" 5; rc=$?
	is "$rc" 0 "$n's keepalive exits 0 on SIGTERM"
done
list=$(inns order-1 "$CTL" --server "$DNS_ADDR:8053" list 2>&1); rc=$?
is "$rc/$list" "0/" "no instance left registered after every keepalive stopped"
check "svcdns still running" alive "$SERVER_PID"
stop_server     # SIGTERM, "server exited cleanly", sanitizer check; clears SERVER_PID
kill_ours TERM "$UP_PID"
reap "$UP_PID" 10; rc=$?
is "$rc" 0 "upstream svcdns exited cleanly"
if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$WORK/upstream.log"; then
	ok 1 "upstream svcdns: no sanitizer reports"
fi
# teardown (exit trap) deletes the namespaces and /etc/netns dirs and checks nothing is left.

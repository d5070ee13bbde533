#!/usr/bin/env bash
# t_scenario.sh -- the docker-compose example's topology (examples/compose/docker-compose.yml,
# examples/compose/svcdns.yml) with network namespaces instead of containers, end to end with
# real clients: per-network views, the 90/10 user-service canary, DNS-SD browsing, keepalives,
# a crash and a clean stop, forwarding.
#
# Topology (all of it private to this run; the host's own networking is never touched). The
# bridges live in NSP-net; each "container" has a veth (eth0, eth1, ...) into every bridge of
# its networks, as compose attaches a container to each of its networks:
#   control        10.231.0.0/24  svcdns (.53), the upstream (.54); see-all, as the example's
#   frontend       10.231.1.0/24  svcdns (.53), user-1..3 (.11-.13), order-1..2 (.21-.22)
#   user-backend   10.231.2.0/24  svcdns (.53), user-1..3 (.11-.13), db-1 (user-db, .21)
#   order-backend  10.231.3.0/24  svcdns (.53), order-1..2 (.21-.22), payment-1 (.31)
# svcdns: networks: for the three app networks, splits: {user-service: "v1=90 v2=10 limit=1"},
# dns-sd: true, forward: the upstream (a second svcdns serving example.test). user-1, user-2
# (--tag v1) and user-3 (--tag v2) run python's http.server on :8080 with a health check of
# /health; db-1 one on :5432. Every container registers itself from inside its namespace with
# `svcdnsctl register ... --ttl 3 --keepalive`, at its address on its first network by name
# and its others as --addr (as the example's registrar does), and has a resolv.conf naming
# svcdns's address on the network its compose `dns:` names: user-service and user-db ask on
# user-backend, order-service on frontend, payment-service on order-backend. That address
# decides the view. "Operator" checks ask from the svcdns namespace's loopback (see-all).
# Needs root (ip netns add); skips with a TAP SKIP line only when not root.
# The namespaces share the host's hostname (no UTS namespace). Like a container's, it must
# have no dot: without a search line glibc would otherwise search the hostname's domain first.
. "$(dirname "$0")/../lib.sh"

CTL=$(dirname "$SVCDNS_BIN")/svcdnsctl
PY=/usr/bin/python3
TTL=3                          # lease of every registration (keepalive renews every TTL/3)
NSP=svcdns-sc$$                # per-run prefix of every namespace name
NET_NS=$NSP-net                # holds the bridges (their names need no suffix: the namespace has it)
declare -A SUB=([control]=10.231.0 [frontend]=10.231.1 [user-backend]=10.231.2 [order-backend]=10.231.3)
declare -A BR=([control]=br-ctl [frontend]=br-front [user-backend]=br-user [order-backend]=br-order)
UP_ADDR=10.231.0.54
WWW_ADDR=10.231.0.80           # www.example.test in the upstream zone
CONTAINERS=(user-1 user-2 user-3 db-1 order-1 order-2 payment-1)
# ON: NETWORK=HOST of each namespace's interfaces, eth0 first; a container registers its
# first address and the others as --addr.
declare -A ON=([dns]="control=53 frontend=53 user-backend=53 order-backend=53" [upstream]="control=54"
	[user-1]="frontend=11 user-backend=11" [user-2]="frontend=12 user-backend=12"
	[user-3]="frontend=13 user-backend=13" [db-1]="user-backend=21"
	[order-1]="frontend=21 order-backend=21" [order-2]="frontend=22 order-backend=22"
	[payment-1]="order-backend=31")
declare -A DNS_NET=([user-1]=user-backend [user-2]=user-backend [user-3]=user-backend [db-1]=user-backend
	[order-1]=frontend [order-2]=frontend [payment-1]=order-backend)     # compose's dns:
declare -A SERVICE=([user-1]=user-service [user-2]=user-service [user-3]=user-service [db-1]=user-db
	[order-1]=order-service [order-2]=order-service [payment-1]=payment-service)
declare -A TAG=([user-1]=v1 [user-2]=v1 [user-3]=v2)
declare -A PORT_OF=([user-service]=8080 [user-db]=5432 [order-service]=8081 [payment-service]=8082)
declare -A KEEPALIVE=()        # container -> PID of its svcdnsctl --keepalive
declare -A HTTPD=()            # user-N, db-1 -> PID of its http.server
UP_PID=""
PIDS=()                        # every background process this test started
NAMESPACES=()                  # every namespace this test created
exec 3>&1                      # lib.sh discards on_exit output; teardown reports on fd 3

# addr_on NAME NETWORK: NAME's address on NETWORK (empty when it is not on it)
addr_on() { local e; for e in ${ON[$1]}; do [ "${e%%=*}" = "$2" ] && echo "${SUB[$2]}.${e#*=}"; done; }
first_addr() { local e=${ON[$1]%% *}; echo "${SUB[${e%%=*}]}.${e#*=}"; }
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
	comm -13 <(echo "$ROOT_LINKS") <(root_links) | grep -E '^(v-.*|br-.*)$' | sed 's/^/root-namespace link /'
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
		ip netns del "${NAMESPACES[$i]}" 2>/dev/null       # takes its veth ends (and the bridges) along
		rm -rf "/etc/netns/${NAMESPACES[$i]}"
	done
	if [ ${#NAMESPACES[@]} -gt 0 ]; then
		local left
		left=$(ours_left)
		is "$left" "" "teardown: no namespace, /etc/netns directory, process or root-namespace link of this run is left" >&3
	fi
}
on_exit teardown

# ---------------------------------------------------------------- namespaces and bridges
if [ "$(id -u)" -ne 0 ]; then
	echo "ok 1 - # SKIP needs root to create network namespaces"
	exit 0
fi
case $(hostname) in *.*) echo "# note: hostname $(hostname) has a domain: glibc searches it before bare names" ;; esac
for f in "$SVCDNS_BIN" "$CTL"; do
	[ -x "$f" ] || { ok 1 "$f exists"; exit 1; }
done

mkns() {  # mkns SHORT-NAME: a namespace with lo up and eth0, eth1, ... on the bridges of ON[NAME]
	local n=$1 ns=$NSP-$1 e net k=0
	ip netns add "$ns" || return 1
	NAMESPACES+=("$ns")
	ip -n "$ns" link set lo up || return 1
	for e in ${ON[$n]}; do
		net=${e%%=*}
		ip -n "$ns" link add "eth$k" type veth peer name "v-$n-$k" netns "$NET_NS" &&
		ip -n "$NET_NS" link set "v-$n-$k" master "${BR[$net]}" &&
		ip -n "$NET_NS" link set "v-$n-$k" up &&
		ip -n "$ns" addr add "${SUB[$net]}.${e#*=}/24" dev "eth$k" &&
		ip -n "$ns" link set "eth$k" up || return 1
		k=$((k + 1))
	done
}
# resolver files of a container: svcdns only, optionally a search line (see TESTING-NOTES.md)
netns_etc() {  # netns_etc SHORT-NAME [SEARCH]
	local d=/etc/netns/$NSP-$1
	mkdir -p "$d" &&
	{ printf 'nameserver %s\n' "$(addr_on dns "${DNS_NET[$1]}")"; [ -n "${2:-}" ] && printf 'search %s\n' "$2"
	  printf 'options timeout:1 attempts:2\n'; } >"$d/resolv.conf" &&
	printf 'hosts: files dns\n' >"$d/nsswitch.conf" &&
	printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$d/hosts"
}

setup_net() {
	ip netns add "$NET_NS" || return 1
	NAMESPACES+=("$NET_NS")
	local n br
	for br in "${BR[@]}"; do
		ip -n "$NET_NS" link add "$br" type bridge && ip -n "$NET_NS" link set "$br" up || return 1
	done
	for n in dns upstream "${CONTAINERS[@]}"; do mkns "$n" || return 1; done
	for n in "${CONTAINERS[@]}"; do
		if [ "$n" = order-2 ]; then netns_etc "$n" svc.internal; else netns_etc "$n"; fi || return 1
	done
}
if ! setup_net 2>"$WORK/setup.err"; then
	ok 1 "bridges and namespaces set up"; sed 's/^/#   /' "$WORK/setup.err"; exit 1
fi
ok 0 "4 bridges in $NET_NS and ${#CONTAINERS[@]}+2 namespaces with a veth per network"
check "order-1's resolv.conf names only svcdns's frontend address, no search line" \
	eval '[ "$(inns order-1 grep -E "^(nameserver|search|domain)" /etc/resolv.conf)" = "nameserver $(addr_on dns frontend)" ]'
check "user-1's resolv.conf names svcdns's user-backend address" \
	eval '[ "$(inns user-1 grep -E "^(nameserver|search|domain)" /etc/resolv.conf)" = "nameserver $(addr_on dns user-backend)" ]'
check "order-2's resolv.conf has search svc.internal" inns order-2 grep -qx 'search svc.internal' /etc/resolv.conf
check "namespaces have no default route (every answer comes from our servers)" \
	eval '[ -z "$(inns order-1 ip route show default)$(inns dns ip route show default)" ]'
check "the networks are isolated: order-1 has no route to user-backend, payment-1 none to frontend" \
	eval '! inns order-1 ip route get "$(addr_on db-1 user-backend)" && ! inns payment-1 ip route get "$(addr_on user-1 frontend)"' 2>/dev/null

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
up_answers() { alive "$UP_PID" && inns dns dig @"$UP_ADDR" +time=1 +tries=1 +norec example.test SOA | grep -q 'status: NOERROR'; }
if ! wait_for 15 up_answers; then
	ok 1 "upstream svcdns answers for example.test on $UP_ADDR:53"; sed 's/^/#   /' "$WORK/upstream.log"; exit 1
fi
ok 0 "upstream svcdns answers for example.test on $UP_ADDR:53 (control network)"

# ---------------------------------------------------------------- svcdns
cat >"$WORK/svcdns.yml" <<YML
# as examples/compose/svcdns.yml, with the subnets of this run and our own upstream
domain: svc.internal
dns: ["0.0.0.0:53"]
register: ["0.0.0.0:8053"]
http: ["0.0.0.0:8054"]
nameserver: { name: ns.svc.internal, addresses: [$(addr_on dns control)] }
forward: ["$UP_ADDR"]
networks:
  frontend: [${SUB[frontend]}.0/24]
  user-backend: [${SUB[user-backend]}.0/24]
  order-backend: [${SUB[order-backend]}.0/24]
see-all: [127.0.0.0/8, "::1/128", ${SUB[control]}.0/24]
splits:
  user-service: "v1=90 v2=10 limit=1"
dns-sd: true
YML
spawn dns "$SERVER_LOG" "$SVCDNS_BIN" --config "$WORK/svcdns.yml" --zones "$WORK/zones" --log-level debug
SERVER_PID=$LAST_PID
soa_from() {  # soa_from NAME: svcdns answers SOA over UDP and TCP at NAME's resolver
	local at
	at=$(addr_on dns "${DNS_NET[$1]}")
	inns "$1" dig @"$at" +time=1 +tries=1 +norec svc.internal SOA | grep -q 'status: NOERROR' &&
	inns "$1" dig @"$at" +tcp +time=1 +tries=1 +norec svc.internal SOA | grep -q 'status: NOERROR'
}
svcdns_answers() { alive "$SERVER_PID" && soa_from order-1; }
if ! wait_for 15 svcdns_answers; then
	ok 1 "svcdns answers SOA on $(addr_on dns frontend):53 (UDP and TCP) from order-1"
	tail -n 20 "$SERVER_LOG" | sed 's/^/#   /'; exit 1
fi
ok 0 "svcdns answers SOA on $(addr_on dns frontend):53 (UDP and TCP) from order-1"
check "... and on user-backend from user-1, on order-backend from payment-1" eval 'soa_from user-1 && soa_from payment-1'
if [ "${SVCDNS_FLAVOUR:-}" = valgrind ]; then   # make valgrind: SVCDNS_BIN execs valgrind on the release build
	like "$(tr '\0' ' ' <"/proc/$SERVER_PID/cmdline")" "valgrind.* $ROOT_DIR/build/release/svcdns " "recorded PID $SERVER_PID is valgrind running svcdns"
else
	is "$(readlink "/proc/$SERVER_PID/exe")" "$(readlink -f "$SVCDNS_BIN")" "recorded PID $SERVER_PID is svcdns itself"
fi
is "$(ip netns identify "$SERVER_PID")" "$NSP-dns" "svcdns runs in its own namespace"

# ---------------------------------------------------------------- containers
for n in user-1 user-2 user-3 db-1; do
	mkdir -p "$WORK/www-$n"
	printf '%s\n' "$n" >"$WORK/www-$n/index.html"
	printf 'ok\n' >"$WORK/www-$n/health"      # GET /health: 200 while it exists, 404 (critical) once removed
	spawn "$n" "$WORK/http-$n.log" "$PY" -m http.server "${PORT_OF[${SERVICE[$n]}]}" --bind 0.0.0.0 --directory "$WORK/www-$n"
	HTTPD[$n]=$LAST_PID
done
for n in "${CONTAINERS[@]}"; do
	svc=${SERVICE[$n]}
	opts=()
	for e in ${ON[$n]#* }; do [ "$e" != "${ON[$n]}" ] && opts+=(--addr "${SUB[${e%%=*}]}.${e#*=}"); done
	[ -n "${TAG[$n]:-}" ] && opts+=(--tag "${TAG[$n]}")
	[ "$svc" = user-service ] && opts+=(--check "http://:8080/health" --interval 1s)
	spawn "$n" "$WORK/keepalive-$n.log" "$CTL" --server "$(addr_on dns "${DNS_NET[$n]}"):8053" \
		register "$svc" "$n" "$(first_addr "$n")" "${PORT_OF[$svc]}" --ttl "$TTL" "${opts[@]}" --keepalive
	KEEPALIVE[$n]=$LAST_PID
done

http_up() {  # http_up NAME FROM: NAME's http.server answers FROM with NAME
	local at
	at=$(addr_on "$1" "${DNS_NET[$2]}")
	[ "$(inns "$2" curl -fsS --max-time 2 "http://$at:${PORT_OF[${SERVICE[$1]}]}/")" = "$1" ]
}
for n in user-1 user-2 user-3 db-1; do
	from=order-1; [ "$n" = db-1 ] && from=user-1
	wait_for 15 http_up "$n" "$from"; rc=$?
	ok "$rc" "$n: http.server answers $from on :${PORT_OF[${SERVICE[$n]}]} with its name"
	[ "$rc" -eq 0 ] || sed 's/^/#   /' "$WORK/http-$n.log"
done
# operator lookups ask from svcdns's own loopback: see-all, each instance by its own address
adig() { inns dns dig @127.0.0.1 +time=1 +tries=1 +norec "$@"; }
actl() { inns dns "$CTL" --server 127.0.0.1:8053 "$@"; }
registered() {  # registered INSTANCE: INSTANCE.SERVICE.svc.internal has its first address
	[ "$(adig +short "$1.${SERVICE[$1]}.svc.internal" A)" = "$(first_addr "$1")" ]
}
for n in "${CONTAINERS[@]}"; do
	wait_for 10 registered "$n"; rc=$?
	ok "$rc" "$n registered itself as ${SERVICE[$n]} $(first_addr "$n")${TAG[$n]:+ tag ${TAG[$n]}}"
	[ "$rc" -eq 0 ] || sed 's/^/#   /' "$WORK/keepalive-$n.log"
done
each_in_own_ns() {
	local n
	for n in "${CONTAINERS[@]}"; do [ "$(ip netns identify "${KEEPALIVE[$n]}")" = "$NSP-$n" ] || return 1; done
}
check "every keepalive runs inside its own container's namespace" each_in_own_ns
list=$(actl list 2>&1)
is "$(awk '{ print $2 }' <<<"$list" | sort | paste -sd' ' -)" "db-1 order-1 order-2 payment-1 user-1 user-2 user-3" \
	"svcdnsctl list from the see-all loopback shows all 7 instances"
echo "$list" | sed 's/^/#   /'
like "$list" "user-1 $(first_addr user-1) 8080 .*tags=v1 addr=$(addr_on user-1 user-backend) networks=frontend,user-backend" \
	"... user-1 with its tag, its user-backend address as addr= and both networks"
list=$(inns order-1 "$CTL" --server "$(addr_on dns frontend):8053" list 2>&1)
is "$(awk '{ print $2 }' <<<"$list" | sort | paste -sd' ' -)" "order-1 order-2 user-1 user-2 user-3" \
	"svcdnsctl list from order-1 (frontend) shows only frontend's 5: no db-1, no payment-1"
# No traffic goes to an instance never seen healthy: the lookups below wait for the checks.
health_of() {  # health_of INSTANCE: its state in svcdnsctl list
	actl list user-service 2>/dev/null |
		awk -v i="$1" '$2 == i { for (f = 5; f <= NF; f++) if ($f ~ /^health=/) { split(substr($f, 8), p, "/"); print p[1] } }'
}
health_is() { [ "$(health_of "$1")" = "$2" ]; }
check "user-1..3 pass their health checks" eval 'wait_for 5 health_is user-1 passing && wait_for 5 health_is user-2 passing && wait_for 5 health_is user-3 passing'

# ---------------------------------------------------------------- views
# dig_in NAME ARGS...: dig inside a container, at its resolver (resolv.conf)
dig_in() { local n=$1; shift; inns "$n" dig +time=2 +tries=1 +norec "$@"; }
short_in() { dig_in "$@" +short | grep -v '^;' | sort -V | paste -sd' ' -; }
status_in() { dig_in "$@" | sed -n 's/.*status: \([A-Z]*\).*/\1/p' | head -1; }
addrs() { awk 'NF { print $1 }' | sort -uV | paste -sd' ' -; }
is "$(status_in order-1 user-db.svc.internal A)" NXDOMAIN "order-1 (frontend): dig user-db.svc.internal is NXDOMAIN"
inns order-1 getent hosts user-db.svc.internal >/dev/null; is "$?" 2 "order-1: getent hosts user-db.svc.internal fails (not found)"
is "$(inns user-1 getent hosts user-db.svc.internal | addrs)" "$(first_addr db-1)" \
	"user-1 (user-backend): getent hosts user-db.svc.internal gives db-1's $(first_addr db-1)"
is "$(inns user-1 curl -fsS --max-time 5 http://user-db.svc.internal:5432/ 2>&1)" db-1 \
	"user-1: curl http://user-db.svc.internal:5432/ reaches db-1"
is "$(short_in order-1 user-2.user-service.svc.internal A) $(short_in user-1 user-2.user-service.svc.internal A)" \
	"$(addr_on user-2 frontend) $(addr_on user-2 user-backend)" \
	"user-2 is answered by its address on the asker's network: frontend to order-1, user-backend to user-1"
is "$(status_in order-1 payment-service.svc.internal A)" NXDOMAIN \
	"order-1 is seen as frontend (its resolver's network): payment-service is NXDOMAIN to it, as in the example"
is "$(inns payment-1 getent ahosts order-service.svc.internal | addrs)" "$(addr_on order-1 order-backend) $(addr_on order-2 order-backend)" \
	"payment-1 (order-backend): order-service gives both order-backend addresses"
is "$(inns order-1 getent ahosts order-service.svc.internal | addrs)" "$(addr_on order-1 frontend) $(addr_on order-2 frontend)" \
	"order-1: order-service (no split) gives both frontend addresses at once"
is "$(status_in payment-1 user-service.svc.internal A)" NXDOMAIN "payment-1: user-service (not on order-backend) is NXDOMAIN"

# ---------------------------------------------------------------- the canary
srv_of() {  # srv_of NAME: "WEIGHT INSTANCE ..." of user-service's SRV, asked from NAME
	dig_in "$1" +short user-service.svc.internal SRV | grep -v '^;' |
		awk '{ sub(/\.user-service\.svc\.internal\.$/, "", $4); print $2, $4 }' | sort -k2 | paste -sd' ' -
}
is "$(srv_of order-1)" "45 user-1 45 user-2 10 user-3" "SRV of user-service from order-1: weights 45/45/10 (splits: v1=90 v2=10)"
is "$(srv_of user-1)" "45 user-1 45 user-2 10 user-3" "... the same from user-1 (user-backend)"
is "$(short_in order-1 v2.user-service.svc.internal A)" "$(addr_on user-3 frontend)" "v2.user-service.svc.internal is user-3 alone"
is "$(inns order-1 curl -fsS --max-time 5 http://v2.user-service.svc.internal:8080/ 2>&1)" user-3 \
	"curl http://v2.user-service.svc.internal:8080/ from order-1 reaches the canary"
like "$(inns dns curl -s --max-time 5 http://127.0.0.1:8054/v1/splits)" \
	'"service":"user-service","shares":\{"v1":90,"v2":10\},"limit":1,"from":"config"' "/v1/splits lists the config's split"
# (the same shares: should SPLIT be wrongly accepted, it changes nothing the checks below see)
like "$(actl split user-service v1=90 v2=10 --limit 1 2>&1)" "409" "svcdnsctl split cannot replace a split of the config (409)"

# lookups FROM NAME N: N runs of `getent ahosts NAME` inside FROM (one `ip netns exec` for
# all: it costs more than getent itself). Sets SEEN (sorted distinct addresses of all runs),
# FIRSTS (ADDR=COUNT of the first address of each run) and BAD (runs that failed or did not
# give exactly one address).
lookups() {
	local out
	out=$(inns "$1" sh -c 'i=0; while [ $i -lt "$2" ]; do getent ahosts "$1"; echo "status $?"; i=$((i + 1)); done' \
		sh "$2" "$3")
	SEEN=$(awk '$1 != "status" { print $1 }' <<<"$out" | sort -uV | paste -sd' ' -)
	FIRSTS=$(awk '$1 == "status" { first = 1; next } first { print $1; first = 0 }' \
		<(echo "status 0"; cat <<<"$out") | sort -V | uniq -c | awk '{ print $2 "=" $1 }' | paste -sd' ' -)
	# one record per run: the lines up to its "status" line
	BAD=$(awk '$1 == "status" { if ($2 != 0 || n != 1) { if (++bad <= 3) printf "# run: status %s, %d addresses\n", $2, n > "/dev/stderr" }
	                           delete a; n = 0; next }
	           !($1 in a) { a[$1] = 1; n++ }
	           END { print bad + 0 }' <<<"$out")
}
# count_of ADDR: ADDR's count in FIRSTS
count_of() { awk -v a="$1" '{ for (i = 1; i <= NF; i++) { split($i, p, "="); if (p[1] == a) n = p[2] } } END { print n + 0 }' <<<"$FIRSTS"; }
# in_range N LOW HIGH
in_range() { [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]; }
USERS_FRONT="$(addr_on user-1 frontend) $(addr_on user-2 frontend) $(addr_on user-3 frontend)"
# 200 draws of 10%: 20 expected, sd 4.2; 6..34 is p < 0.001 either side. Without the split
# (a uniform draw) the canary would get about 67.
lookups order-1 user-service.svc.internal 200
echo "# 200 glibc lookups of user-service.svc.internal from order-1: $FIRSTS"
is "$SEEN" "$USERS_FRONT" "200 runs of getent ahosts user-service.svc.internal from order-1 yield the three frontend addresses"
is "$BAD" 0 "... each lookup gives exactly one address (limit=1)"
v2=$(count_of "$(addr_on user-3 frontend)")
check "... the canary user-3 first in $v2 of 200 (10%: 6..34)" in_range "$v2" 6 34
lookups user-1 user-service.svc.internal 100
is "$SEEN" "$(addr_on user-1 user-backend) $(addr_on user-2 user-backend) $(addr_on user-3 user-backend)" \
	"100 lookups from user-1 yield the user-backend addresses"
lookups order-1 user-service 20
# within SET WORDS: every one of WORDS (at least one) is in SET
within() { local w; [ -n "$2" ] || return 1; for w in $2; do [[ " $1 " == *" $w "* ]] || return 1; done; }
check "bare user-service from order-1 (no search line): one frontend address per lookup ($SEEN)" \
	eval '[ "$BAD" = 0 ] && within "$USERS_FRONT" "$SEEN"'
out=$(inns order-2 getent ahosts user-service)
like "$(awk 'NR == 1 { print $1 " " $3 }' <<<"$out")" "^${SUB[frontend]//./\\.}\\.1[123] user-service\\.svc\\.internal$" \
	"order-2 (search svc.internal): getent ahosts user-service completes to user-service.svc.internal"

# ---------------------------------------------------------------- DNS-SD browsing
types_in() { dig_in "$1" +short PTR _services._dns-sd._udp.svc.internal | grep -v '^;' | sort | paste -sd' ' -; }
is "$(types_in order-1)" "_order-service._tcp.svc.internal. _user-service._tcp.svc.internal." \
	"browsing from order-1 (frontend): order-service and user-service"
is "$(types_in user-1)" "_user-db._tcp.svc.internal. _user-service._tcp.svc.internal." \
	"browsing from user-1 (user-backend): user-db and user-service"
is "$(types_in payment-1)" "_order-service._tcp.svc.internal. _payment-service._tcp.svc.internal." \
	"browsing from payment-1 (order-backend): order-service and payment-service"
is "$(short_in order-1 PTR _user-service._tcp.svc.internal)" \
	"user-1._user-service._tcp.svc.internal. user-2._user-service._tcp.svc.internal. user-3._user-service._tcp.svc.internal." \
	"PTR _user-service._tcp from order-1 lists the three instances"

# ---------------------------------------------------------------- reverse lookups (PTR)
for n in user-1 user-2 user-3; do
	a=$(addr_on "$n" frontend)
	is "$(inns order-1 getent hosts "$a" | awk '{ print $1 " " $2 }')" "$a $n.user-service.svc.internal" \
		"getent hosts $a from order-1 gives $n.user-service.svc.internal back (PTR)"
done
a=$(first_addr db-1)
is "$(inns user-1 getent hosts "$a" | awk '{ print $1 " " $2 }')" "$a db-1.user-db.svc.internal" \
	"getent hosts $a from user-1 gives db-1.user-db.svc.internal"
inns order-1 getent hosts "$a" >/dev/null; is "$?" 2 "... and nothing from order-1, which does not see db-1"

# ---------------------------------------------------------------- forwarding
is "$(inns dns dig @"$UP_ADDR" +time=2 +tries=1 +norec +short www.example.test A | grep -v '^;')" "$WWW_ADDR" \
	"the upstream itself serves www.example.test $WWW_ADDR"
out=$(inns order-1 getent hosts www.example.test); rc=$?
is "$rc/$(awk '{ print $1 " " $2 }' <<<"$out")" "0/$WWW_ADDR www.example.test" \
	"getent hosts www.example.test from order-1 resolves through svcdns forwarding to the upstream"
like "$(dig_in user-1 +rec www.example.test A)" ";; flags: qr rd ra;" \
	"... from user-1 (an internal network) too; the forwarded answer carries RA, not AA"

# ---------------------------------------------------------------- HTTP: the example's call
# requests FROM N: N requests to http://user-service.svc.internal:8080/ (order-service's call
# in the compose file) from one python3 (urllib) inside FROM, each on a new connection after
# a new lookup (glibc keeps no cache; a curl process per request costs ~150 ms on a busy
# machine). Sets OK_N (answers naming an instance), WHO (sorted distinct instances that
# answered) and DIST (answers per instance).
requests() {
	local out
	out=$(inns "$1" "$PY" -c '
import sys, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
for i in range(int(sys.argv[1])):
    try:
        print(opener.open("http://user-service.svc.internal:8080/", timeout=5).read().decode().strip())
    except Exception as e:
        print("request %d failed: %s" % (i, e))
' "$2" 2>&1)
	OK_N=$(grep -cxE 'user-[0-9]+' <<<"$out")
	WHO=$(grep -xE 'user-[0-9]+' <<<"$out" | sort -u | paste -sd' ' -)
	DIST=$(grep -xE 'user-[0-9]+' <<<"$out" | sort | uniq -c | awk '{ print $2 "=" $1 }' | paste -sd' ' -)
	grep -vxE 'user-[0-9]+' <<<"$out" | head -5 | sed 's/^/# /'
}
requests order-1 200
is "$OK_N" 200 "200 requests from order-1 to http://user-service.svc.internal:8080/ all succeed"
is "$WHO" "user-1 user-2 user-3" "... and reach all three instances ($DIST)"
v2=$(grep -o 'user-3=[0-9]*' <<<"$DIST" | cut -d= -f2)
check "... the canary answers ${v2:-0} of 200 (10%: 6..34)" in_range "${v2:-0}" 6 34
served_order1() {
	local n
	for n in user-1 user-2 user-3; do
		grep -q "^$(addr_on order-1 frontend) .*\"GET / HTTP/1.1\" 200" "$WORK/http-$n.log" || return 1
	done
}
check "... each instance's http.server logged GET / from order-1's frontend address" served_order1

# ---------------------------------------------------------------- a failing health check
# user-2's /health starts failing (404: critical): svcdns withholds it, v1's share goes to
# user-1 alone, and order-1's calls never reach user-2; once it passes again, they do.
rm "$WORK/www-user-2/health"
check "user-2's /health failing: svcdns withholds it within 3 s" wait_for 3 health_is user-2 critical
is "$(srv_of order-1)" "90 user-1 10 user-3" "SRV while user-2 is withheld: user-1 carries v1's 90"
requests order-1 100
is "$OK_N" 100 "100 requests from order-1 while user-2 fails its check all succeed"
check "... and never reach user-2 ($DIST)" eval '[[ " $WHO " != *" user-2 "* ]]'
printf 'ok\n' >"$WORK/www-user-2/health"
check "user-2 passes again" wait_for 3 health_is user-2 passing
requests order-1 100
check "... and order-1's requests reach it again ($DIST)" eval '[[ " $WHO " == *" user-2 "* ]]'

# ---------------------------------------------------------------- the canary crashes
# SIGKILL user-3's keepalive and HTTP server: no deregistration, its lease runs out; v2's
# share then passes on to v1.
{ kill_ours KILL "${KEEPALIVE[user-3]}" "${HTTPD[user-3]}"; t_kill=$(date +%s%N)
  reap "${KEEPALIVE[user-3]}" 5; reap "${HTTPD[user-3]}" 5; } 2>/dev/null    # no "Killed" job notices
check "right after SIGKILL user-3 is still registered (its lease has not run out)" eval 'actl list user-service | grep -q " user-3 "'
gone() {  # gone INSTANCE: INSTANCE.SERVICE.svc.internal is NXDOMAIN, even to see-all
	adig "$1.${SERVICE[$1]}.svc.internal" A | grep -q 'status: NXDOMAIN'
}
wait_for $((TTL + 2)) gone user-3; rc=$?
ms=$(( ($(date +%s%N) - t_kill) / 1000000 ))
ok "$rc" "user-3 leaves the answers within ttl+2 s of its SIGKILL (${ms} ms)"
# Answers drop the instance at the lease's end; the expiry sweep that logs it runs every
# 100 ms (later under valgrind): poll the log for a moment.
check "... because its lease expired (server log), not by a deregistration" eval '
	wait_for 2 grep -q "expired user-3.user-service" "$SERVER_LOG" && ! grep -q "deregistered user-3.user-service" "$SERVER_LOG"'
is "$(srv_of order-1)" "50 user-1 50 user-2" "SRV of user-service: v2's share passed on, 50/50 over user-1 and user-2"
is "$(status_in order-1 v2.user-service.svc.internal A)" NXDOMAIN "v2.user-service.svc.internal is NXDOMAIN"
lookups order-1 user-service.svc.internal 30
is "$SEEN" "$(addr_on user-1 frontend) $(addr_on user-2 frontend)" "30 lookups of user-service give user-1 and user-2, never user-3"
is "$BAD" 0 "... one address each, no failure"
requests order-1 30
is "$OK_N" 30 "30 requests after user-3 died all succeed"
is "$WHO" "user-1 user-2" "... on the two instances left ($DIST)"

# ---------------------------------------------------------------- a container stops
# SIGTERM to payment-1's keepalive: it deregisters at once, long before its lease would end.
check "payment-service resolves for payment-1 before the stop" \
	eval '[ "$(short_in payment-1 payment-service.svc.internal A)" = "$(first_addr payment-1)" ]'
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
inns payment-1 getent ahosts payment-service.svc.internal >/dev/null; rc=$?
is "$rc" 2 "getent ahosts payment-service.svc.internal from payment-1 now fails (not found)"
is "$(types_in payment-1)" "_order-service._tcp.svc.internal." "... and browsing from payment-1 no longer lists it"

# ---------------------------------------------------------------- orderly shutdown
LEFT=(user-1 user-2 db-1 order-1 order-2)
for n in "${LEFT[@]}"; do kill_ours TERM "${KEEPALIVE[$n]}"; done
for n in "${LEFT[@]}"; do
	reap "${KEEPALIVE[$n]}" 5; rc=$?
	is "$rc" 0 "$n's keepalive exits 0 on SIGTERM"
done
list=$(actl list 2>&1); rc=$?
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

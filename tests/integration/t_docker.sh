#!/usr/bin/env bash
# t_docker.sh -- examples/compose/docker-compose.yml on a real dockerd, and the registrar
# (svcdnsctl docker) against it: registration from Docker's events, deregistration within
# 1 s of a stop, leases left to run out when the registrar is killed, reconciliation after
# a restart of the registrar and of dockerd, scaling, Docker's DNS chain (127.0.0.11 ->
# svcdns) from inside the containers, and the example's views (frontend, user-backend,
# order-backend), its 90/10 user-service canary and DNS-SD browsing, seen from inside.
#
# The test starts its own dockerd inside a network namespace it creates (NS below), so
# that Docker's bridges and iptables rules stay in there; its data-root, exec-root,
# pidfile and socket live under build/. The host's iptables, ip6tables and ip_forward
# are compared before and after. Images are made offline: a debootstrap base
# (scripts/docker-base-image, cached under build/docker/) and the binaries of the flavour
# under test copied in by Dockerfile.prebuilt; no registry, no network.
# Needs root, docker.io, docker-compose and debootstrap (scripts/install-deps test); when
# Docker cannot start, the test fails and says why. The first run takes 1.5-2.5 min
# (the debootstrap, 45-80 s, is cached for later runs), later runs about 55 s.
# slow-test
# alone-test
. "$(dirname "$0")/../lib.sh"

CTL=$(dirname "$SVCDNS_BIN")/svcdnsctl
NS=svcdns-dk$$
RUN=$ROOT_DIR/build/docker-run.$$              # data-root, exec-root, pidfile, socket
SOCK=$RUN/sock
CACHE=$ROOT_DIR/build/docker/base-$(sha1sum "$ROOT_DIR/scripts/docker-base-image" | cut -c1-12).tar
CGROUP=svcdns-test-$$                          # dockerd's --cgroup-parent, removed at the end
# Where it shows on the host: under the cgroup2 hierarchy, in a hybrid or a pure v2 layout.
CGROUP_DIRS="/sys/fs/cgroup/unified/$CGROUP /sys/fs/cgroup/$CGROUP"
DNS=172.28.0.53                                # svcdns on the control network (see-all)
PROJECT=svdk
TTL=6                                          # the registrar's --ttl (SVCDNS_TTL)
COMPOSE_FILE=$ROOT_DIR/examples/compose/docker-compose.yml
DOCKERD_PID=""
REG_PID=""
TORN_DOWN=""

dk() { DOCKER_HOST=unix://$SOCK /usr/bin/docker "$@"; }
compose() {
	DOCKER_HOST=unix://$SOCK DOCKER_SOCKET=$SOCK SVCDNS_IMAGE=svcdns-test APP_IMAGE=svcdns-test-base \
		SVCDNS_TTL=$TTL docker-compose -p "$PROJECT" -f "$COMPOSE_FILE" "$@"
}
ms() { echo $(( $(date +%s%N) / 1000000 )); }
# dig from the test's namespace (the Docker host's view): svcdns directly.
dns() { ip netns exec "$NS" dig @"$DNS" +time=1 +tries=1 +short "$@" 2>/dev/null | grep -v '^;'; }
srv_count() { dns _user-service._tcp.svc.internal SRV | grep -c .; }
srv_is() { [ "$(srv_count)" -eq "$1" ]; }
in_container() { local c=$1; shift; dk exec "$c" "$@"; }
host_files() { find /etc/docker /run/docker /run/containerd 2>/dev/null | sort; }
firewall() {
	iptables-save 2>&1 | grep -v '^#'
	ip6tables-save 2>&1 | grep -v '^#'
	echo "ip_forward=$(cat /proc/sys/net/ipv4/ip_forward)"
}
resolv_is_dockers() { dk exec "$1" cat /etc/resolv.conf | grep -q '^nameserver 127\.0\.0\.11$'; }
logs_have() { dk logs "$1" 2>&1 | grep -qE "$2"; }
no_dockerd_left() { ! pgrep -f -- "--exec-root $RUN/x" >/dev/null; }
no_mount_left() { ! grep -qsF "$RUN" /proc/[0-9]*/mountinfo; }
fail_now() { ok 1 "$1"; [ -n "${2:-}" ] && tail -n 25 "$2" | sed 's/^/#   /'; exit 1; }

start_dockerd() {
	# The mounts stay inside the mount namespace of `ip netns exec`. cgroup2: without it
	# dockerd stops with "Devices cgroup isn't mounted". tmpfs on /etc/docker and /run:
	# dockerd writes its key.json to /etc/docker (and would read a daemon.json there), it
	# and containerd make /run/docker and /run/containerd. --bridge none: no docker0.
	ip netns exec "$NS" sh -c "mount -t cgroup2 none /sys/fs/cgroup && mount -t tmpfs tmpfs /etc/docker &&
		mount -t tmpfs tmpfs /run && exec dockerd \
		--data-root '$RUN/data' --exec-root '$RUN/x' --pidfile '$RUN/pid' -H 'unix://$SOCK' \
		--bridge none --cgroup-parent '/$CGROUP' --shutdown-timeout 2 --log-level warn" \
		>>"$WORK/dockerd.log" 2>&1 &
	DOCKERD_PID=$!
	local deadline=$(( $(ms) + 60000 ))
	until dk version >/dev/null 2>&1; do
		kill -0 "$DOCKERD_PID" 2>/dev/null || { wait "$DOCKERD_PID"; DOCKERD_PID=""; return 1; }
		[ "$(ms)" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}

stop_dockerd() {
	[ -n "$DOCKERD_PID" ] || return 0
	kill -TERM "$DOCKERD_PID" 2>/dev/null
	for _ in $(seq 1 400); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.05; done
	kill -KILL "$DOCKERD_PID" 2>/dev/null
	wait "$DOCKERD_PID" 2>/dev/null
	DOCKERD_PID=""
}

# Everything this run made, in order: containers, the registrar, dockerd, whatever is left
# in the namespace (containerd, shims), the namespace, its /etc/netns, the cgroup, the data.
teardown() {
	[ -n "$TORN_DOWN" ] && return 0
	TORN_DOWN=1
	if [ -n "$DOCKERD_PID" ] && kill -0 "$DOCKERD_PID" 2>/dev/null; then
		compose down -v --timeout 1 >>"$WORK/compose.log" 2>&1
	fi
	[ -n "$REG_PID" ] && { kill -TERM "$REG_PID"; wait "$REG_PID"; } 2>/dev/null
	REG_PID=""
	stop_dockerd
	local pids
	pids=$(ip netns pids "$NS" 2>/dev/null)
	[ -n "$pids" ] && kill -KILL $pids 2>/dev/null && sleep 0.5
	ip netns del "$NS" 2>/dev/null
	rm -rf "/etc/netns/$NS"
	local dir
	for dir in $CGROUP_DIRS; do
		[ -d "$dir" ] && find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	rm -rf "$RUN"
}
on_exit teardown

# ---- Docker in a namespace of ours ----
for tool in dockerd docker-compose debootstrap iptables-save ip6tables-save; do
	command -v "$tool" >/dev/null ||
		fail_now "$tool is installed (scripts/install-deps test installs docker.io, docker-compose, debootstrap)"
done
[ -x /usr/bin/docker ] || fail_now "/usr/bin/docker (docker.io's CLI) is installed"
[ "$(id -u)" -eq 0 ] || fail_now "runs as root (it starts dockerd in a network namespace)"
firewall >"$WORK/firewall.before"
host_files >"$WORK/files.before"
t_start=$(ms)

mkdir -p "$RUN" "/etc/netns/$NS"
# dockerd reads resolv.conf for the upstream of containers without dns: svcdns, not the host's.
printf 'nameserver %s\n' "$DNS" >"/etc/netns/$NS/resolv.conf"
printf 'hosts: files dns\n' >"/etc/netns/$NS/nsswitch.conf"
printf '127.0.0.1\tlocalhost\n' >"/etc/netns/$NS/hosts"
ip netns add "$NS" && ip -n "$NS" link set lo up || fail_now "network namespace $NS created"
start_dockerd || fail_now "dockerd started in namespace $NS (its log follows)" "$WORK/dockerd.log"
ok 0 "dockerd runs in namespace $NS with its data under build/"

# ---- images, offline ----
t_images=$(ms)
if [ ! -s "$CACHE" ]; then
	echo "# building the debootstrap base image into $CACHE (once)"
fi
DOCKER_HOST=unix://$SOCK DOCKER=/usr/bin/docker "$ROOT_DIR/scripts/docker-base-image" --cache "$CACHE" svcdns-test-base \
	>"$WORK/base.log" 2>&1 || fail_now "base image imported from debootstrap (scripts/docker-base-image)" "$WORK/base.log"
# Bases cached by earlier versions of scripts/docker-base-image are of no more use.
find "$(dirname "$CACHE")" -maxdepth 1 -name 'base-*.tar' ! -name "$(basename "$CACHE")" -delete
mkdir -p "$WORK/ctx/build/release"
cp "$ROOT_DIR/Dockerfile.prebuilt" "$WORK/ctx/Dockerfile"
# The flavour's binaries (ASan's too: the base has its runtime); a wrapper script, as
# make valgrind's, is replaced by the release binary it wraps.
for bin in "$SVCDNS_BIN" "$CTL"; do
	[ "$(head -c4 "$bin" | od -An -c | tr -d ' ')" = '177ELF' ] || bin=$ROOT_DIR/build/release/$(basename "$bin")
	cp "$bin" "$WORK/ctx/build/release/" || fail_now "binary $bin copied into the image's build context"
done
dk build --build-arg BASE=svcdns-test-base -t svcdns-test "$WORK/ctx" >"$WORK/build.log" 2>&1 ||
	fail_now "svcdns image built FROM the imported base (Dockerfile.prebuilt)" "$WORK/build.log"
ok 0 "images built offline in $(( ($(ms) - t_images) / 1000 )) s"

# ---- the compose example ----
t_up=$(ms)
compose up -d --no-build >"$WORK/compose.log" 2>&1 || fail_now "docker-compose up of examples/compose" "$WORK/compose.log"
wait_for 30 srv_is 3
is "$(srv_count)" 3 "three user-service instances (v1 x2, v2) in SRV after compose up ($(( ($(ms) - t_up) / 1000 )) s)"
C=${PROJECT}_order-service_1
UC=${PROJECT}_user-service-v1_1
U3=${PROJECT}_user-service-v1_2
V2=${PROJECT}_user-service-v2_1
REGC=${PROJECT}_registrar_1
wait_for 5 sh -c "[ \$(ip netns exec $NS dig @$DNS +short _order-service._tcp.svc.internal SRV | grep -c .) -eq 2 ]"
is "$(dns _order-service._tcp.svc.internal SRV | grep -c .)" 2 "two order-service instances"
like "$(dns _user-service._tcp.svc.internal SRV | sort | head -1)" "^0 10 8080 ${PROJECT}-user-service-v2-1\.user-service\.svc\.internal\.$" \
	"SRV carries the exposed port and the container's name as the instance"
is "$(dns _user-service._tcp.svc.internal SRV | awk '{print $2}' | sort -n | tr '\n' ' ')" "10 45 45 " \
	"the split v1=90 v2=10 gives SRV weights 45/45/10"
like "$(dns TXT "${PROJECT}-user-service-v1-1.user-service.svc.internal")" 'version=1.*docker-id=[0-9a-f]{64}' \
	"TXT has svcdns.txt.version and the docker-id= marker"
wait_for 10 sh -c "ip netns exec $NS dig @$DNS +short payment-service.svc.internal | grep -q ."
check "payment-service, health-checked by svcdns, answers" sh -c "ip netns exec $NS dig @$DNS +short payment-service.svc.internal | grep -q ."
is "$(dns svcdns.svc.internal; dns registrar.svc.internal)" "" "svcdns.enable=false keeps svcdns and the registrar out"

# Inside a container: resolv.conf is Docker's, svcdns is its upstream.
check "a container's resolv.conf names Docker's DNS 127.0.0.11" resolv_is_dockers "$C"
is "$(in_container "$C" dig +short +time=2 +tries=1 _user-service._tcp.svc.internal SRV | grep -c .)" 3 \
	"in a container, SRV through 127.0.0.11 comes from svcdns"
is "$(in_container "$C" dig +short +time=2 +tries=1 user-service | grep -c .)" 3 \
	"the bare compose name is answered by Docker itself: all three addresses"
ip_on() { dk inspect -f "{{(index .NetworkSettings.Networks \"${PROJECT}_$2\").IPAddress}}" "$1"; }
V2_FRONT=$(ip_on "$V2" frontend)
spread=$(in_container "$C" sh -c 'for i in $(seq 30); do dig +short +time=2 +tries=1 user-service.svc.internal | tr "\n" " "; echo; done')
is "$(grep -cvE '^[0-9.]+ $' <<<"$spread")" 0 "30 lookups of user-service.svc.internal: one address each (the split's limit=1)"
is "$(grep -vc "^172\.28\.1\." <<<"$spread")" 0 "order-service (frontend) is answered frontend addresses only"
is "$(grep -v "^$V2_FRONT " <<<"$spread" | sort -u | grep -c .)" 2 "and both v1 replicas were answered"
check "order-service reaches user-service.svc.internal over HTTP" \
	in_container "$C" curl -fsS --max-time 3 -o /dev/null http://user-service.svc.internal:8080/

# ---- views: what each container's network lets it see ----
cdig() { local c=$1; shift; in_container "$c" dig +time=2 +tries=1 "$@"; }
like "$(cdig "$C" user-db.svc.internal)" 'status: NXDOMAIN' "from order-service (frontend), user-db.svc.internal is NXDOMAIN"
like "$(cdig "$UC" +short user-db.svc.internal)" '^172\.28\.2\.[0-9]+$' "from user-service (user-backend), user-db.svc.internal resolves"
like "$(cdig "$UC" +short user-service.svc.internal)" '^172\.28\.2\.[0-9]+$' "and user-service is answered at a user-backend address"
is "$(cdig "$UC" +short v2.user-service.svc.internal)" "$(ip_on "$V2" user-backend)" "v2 at its user-backend address (its addr=)"
like "$(cdig "$C" payment-service.svc.internal)" 'status: NXDOMAIN' \
	"order-service's view is frontend's, so payment-service.svc.internal (order-backend) is NXDOMAIN to it"
like "$(cdig "$C" +short payment-service)" '^172\.28\.3\.[0-9]+$' "while Docker answers the bare name payment-service on order-backend"

# docker network connect / disconnect: the registrar registers the new addresses at once.
PAY=${PROJECT}_payment-service_1
UDB=${PROJECT}_user-db_1
pay_from_db() { cdig "$UDB" +short payment-service.svc.internal | grep -v '^;'; }
pay_rcode_from_db() { cdig "$UDB" payment-service.svc.internal | sed -n 's/.*status: \([A-Z]*\).*/\1/p'; }
is "$(pay_rcode_from_db)" NXDOMAIN "from user-db (user-backend), payment-service (order-backend) is NXDOMAIN"
dk network connect "${PROJECT}_user-backend" "$PAY" || ok 1 "docker network connect user-backend payment-service"
pay_is() { [ "$(pay_from_db)" = "$1" ]; }
check "after docker network connect user-backend, user-db gets payment-service's new user-backend address" \
	wait_for 5 pay_is "$(ip_on "$PAY" user-backend)"
dk network disconnect "${PROJECT}_user-backend" "$PAY" || ok 1 "docker network disconnect user-backend payment-service"
pay_gone() { [ "$(pay_rcode_from_db)" = NXDOMAIN ]; }
check "after docker network disconnect, it is NXDOMAIN to user-db again" wait_for 5 pay_gone
is "$(dns payment-service.svc.internal)" "$(ip_on "$PAY" order-backend)" "and still registered at its order-backend address"
check "the registrar logged the change" logs_have "$REGC" "networks changed: registering payment-service/"

# ---- the canary ----
is "$(cdig "$C" +short v2.user-service.svc.internal)" "$V2_FRONT" "v2.user-service.svc.internal is the v2 container, at its frontend address"
is "$(cdig "$C" +short _user-service._tcp.svc.internal SRV | awk '{print $2}' | sort -n | tr '\n' ' ')" "10 45 45 " \
	"order-service sees the SRV weights 45/45/10 too"
# 400 lookups in one dig; v2 has p = 0.1: 18..64 fails by chance with p < 1e-4 (binomial
# tails), and a uniform draw (1/3: 133 expected) or a 20% share fails almost surely.
N=400
firsts=$(in_container "$C" sh -c "dig +short +time=2 +tries=1 \$(yes user-service.svc.internal | head -n $N)" | grep -v '^;')
v2_first=$(grep -cx "$V2_FRONT" <<<"$firsts")
is "$(grep -c . <<<"$firsts")" "$N" "$N lookups from order-service got $N answers"
check "v2 answered $v2_first times of $N (expected 40, 18..64 allowed)" [ "$v2_first" -ge 18 -a "$v2_first" -le 64 ]

# ---- DNS-SD browsing, by view ----
# Asked of svcdns directly, at the address dns: names (the same source, so the same view):
# Docker's embedded DNS (20.10) drops a PTR query for a name that is not a reverse name.
types() { cdig "$1" @"$2" +short PTR _services._dns-sd._udp.svc.internal | sort | tr '\n' ' '; }
is "$(types "$C" 172.28.1.53)" "_order-service._tcp.svc.internal. _user-service._tcp.svc.internal. " \
	"DNS-SD from order-service lists the frontend's service types"
is "$(types "$UC" 172.28.2.53)" "_user-db._tcp.svc.internal. _user-service._tcp.svc.internal. " \
	"and from user-service the user-backend's, user-db among them"
echo "# the same PTR through 127.0.0.11: $(cdig "$C" +short PTR _services._dns-sd._udp.svc.internal | tr '\n' ' ')"
echo "# dockerd: $(grep -m1 -o 'invalid PTR query[^"]*' "$WORK/dockerd.log")"

# ---- stop and start one replica ----
t0=$(ms)
dk stop -t 1 "$U3" >/dev/null &
stopper=$!
wait_for 3 srv_is 2
gone=$(( $(ms) - t0 ))
wait "$stopper"
is "$(srv_count)" 2 "docker stop: the replica left SRV after $gone ms"
check "docker stop: within 1 s" [ "$gone" -le 1000 ]
dk start "$U3" >/dev/null
t0=$(ms)
wait_for 3 srv_is 3
back=$(( $(ms) - t0 ))
check "docker start: the replica is back in SRV within 1 s ($back ms)" [ "$back" -le 1000 ]

# ---- pause and rename ----
dk pause "$U3" >/dev/null
wait_for 1 srv_is 2
is "$(srv_count)" 2 "docker pause: out of SRV within 1 s"
dk unpause "$U3" >/dev/null
wait_for 1 srv_is 3
is "$(srv_count)" 3 "docker unpause: back within 1 s"
dk rename "${PROJECT}_order-service_2" "${PROJECT}_order-renamed"
wait_for 2 sh -c "ip netns exec $NS dig @$DNS +short _order-service._tcp.svc.internal SRV | grep -q ' ${PROJECT}-order-renamed\.'"
like "$(dns _order-service._tcp.svc.internal SRV | sort | tr '\n' ' ')" "${PROJECT}-order-renamed\.order-service.* ${PROJECT}-order-service-1\.order-service" \
	"docker rename: the instance follows the container's new name"
is "$(dns _order-service._tcp.svc.internal SRV | grep -c .)" 2 "and the old name is gone"

# ---- scaling ----
compose up -d --no-build --no-recreate --scale user-service-v1=4 >>"$WORK/compose.log" 2>&1
wait_for 20 srv_is 5
is "$(srv_count)" 5 "scaled to 5: two more instances"

# ---- the registrar killed: leases stay, then reconcile ----
# An instance outside Docker in the same service: the registrar's reconcile leaves it alone.
ip netns exec "$NS" "$CTL" --server "$DNS:8053" register user-service outside-1 172.28.255.1 8080 --ttl 300 >/dev/null
wait_for 2 srv_is 6
is "$(srv_count)" 6 "an instance registered from outside Docker joins the same SRV"
U5=${PROJECT}_user-service-v1_4
dk kill -s KILL "$REGC" >/dev/null
dk stop -t 1 "$U5" >/dev/null
is "$(srv_count)" 6 "registrar killed, a replica stopped meanwhile: its lease still holds it"
dk start "$REGC" >/dev/null
wait_for 5 srv_is 5
is "$(srv_count)" 5 "the restarted registrar reconciled: the replica stopped while none ran is gone"
check "the instance from outside Docker is still there" sh -c "ip netns exec $NS dig @$DNS +short outside-1.user-service.svc.internal | grep -qx 172.28.255.1"
ip netns exec "$NS" "$CTL" --server "$DNS:8053" deregister user-service outside-1 >/dev/null
check "and said so in one log line" logs_have "$REGC" \
	"deregistered user-service/${PROJECT}-user-service-v1-4 \(container [0-9a-f]+ no longer runs\)"

dk kill -s KILL "$REGC" >/dev/null
t0=$(ms)
is "$(srv_count)" 4 "registrar killed again: nothing deregistered"
wait_for $((TTL + 5)) srv_is 0
expired=$(( $(ms) - t0 ))
is "$(srv_count)" 0 "without renewals the leases ran out ($expired ms, lease $TTL s)"
dk start "$REGC" >/dev/null
wait_for 5 srv_is 4
is "$(srv_count)" 4 "the registrar started again: all four registered"

# ---- svcdns restarted without its state: the registrar registers again ----
SVC=${PROJECT}_svcdns_1
dk stop -t 1 "$SVC" >/dev/null
dk run --rm --network none -v "${PROJECT}_svcdns-state:/state" svcdns-test-base sh -c 'rm -rf /state/*' ||
	ok 1 "svcdns's state volume emptied"
dk start "$SVC" >/dev/null
wait_for 10 srv_is 4
is "$(srv_count)" 4 "svcdns restarted with no state: the registrar registered all four again"
check "it logged that the server had forgotten them" logs_have "$REGC" "the server had forgotten: registered again user-service/"

# ---- dockerd restarted under a registrar that runs outside Docker ----
dk stop -t 1 "$REGC" >/dev/null
# The first server of the list has nothing listening: every request passes on to svcdns.
ip netns exec "$NS" "$CTL" --server "$DNS:9,$DNS:8053" docker --docker-socket "$SOCK" --compose --ttl "$TTL" \
	>"$WORK/registrar.log" 2>&1 &
REG_PID=$!
wait_for 5 grep -q 'reconciled' "$WORK/registrar.log"
is "$(grep -c '^svcdnsctl: registered user-service/' "$WORK/registrar.log")" 4 "a registrar outside Docker took over the four replicas"
stop_dockerd
wait_for 5 grep -q 'lost the Docker engine' "$WORK/registrar.log"
check "dockerd stopped: the registrar noticed" grep -q 'lost the Docker engine' "$WORK/registrar.log"
start_dockerd || fail_now "dockerd started again" "$WORK/dockerd.log"
wait_for 30 srv_is 4
is "$(srv_count)" 4 "dockerd restarted: restart policies brought the replicas back, the registrar reconnected"
is "$(grep -c 'connected to the Docker engine' "$WORK/registrar.log")" 2 "connected twice: at start and after the restart"
sleep $((TTL + 1))      # longer than a lease: only renewals keep them
is "$(srv_count)" 4 "renewed after the reconnect, also across svcdns's own restart"

kill -TERM "$REG_PID"
wait "$REG_PID"; rc=$?
REG_PID=""
is "$rc" 0 "SIGTERM: the registrar exits 0"
check "and leaves the registrations to their leases" srv_is 4
ip netns exec "$NS" "$CTL" --server "$DNS:8053" docker --docker-socket "$SOCK" --compose --ttl "$TTL" \
	--deregister-on-exit >"$WORK/registrar2.log" 2>&1 &
REG_PID=$!
wait_for 5 grep -q 'reconciled' "$WORK/registrar2.log"
kill -TERM "$REG_PID"
wait "$REG_PID"
REG_PID=""
is "$(srv_count)" 0 "--deregister-on-exit: SIGTERM deregisters what it held"
dk logs "${PROJECT}_svcdns_1" >"$WORK/svcdns-container.log" 2>&1
dk logs "$REGC" >"$WORK/registrar-container.log" 2>&1
if grep -qE 'Sanitizer|runtime error' "$WORK"/registrar*.log "$WORK/svcdns-container.log"; then
	ok 1 "no sanitizer reports from the registrar"; grep -hE -A5 'Sanitizer|runtime error' "$WORK"/registrar*.log "$WORK/svcdns-container.log" | head -30 | sed 's/^/#   /'
fi

# ---- cleanup, and what it left ----
teardown
check "no dockerd of this run is left" no_dockerd_left
check "no process of the namespace is left, the namespace is gone" sh -c "! ip netns list | grep -qw '$NS'"
check "no mount of this run is left in any namespace" no_mount_left
nothing_left() {
	local dir
	[ ! -e "$RUN" ] || return 1
	for dir in $CGROUP_DIRS; do [ ! -e "$dir" ] || return 1; done
}
check "the data directory and the cgroup are removed" nothing_left
host_files >"$WORK/files.after"
is "$(diff "$WORK/files.before" "$WORK/files.after")" "" "no file of Docker's left in /etc/docker, /run/docker, /run/containerd"
firewall >"$WORK/firewall.after"
if diff "$WORK/firewall.before" "$WORK/firewall.after" >"$WORK/firewall.diff"; then
	ok 0 "the host's iptables, ip6tables and ip_forward are unchanged"
else
	ok 1 "the host's iptables, ip6tables and ip_forward are unchanged"; sed 's/^/#   /' "$WORK/firewall.diff"
fi
echo "# whole run $(( ($(ms) - t_start) / 1000 )) s"
if [ "$TEST_FAILED" -ne 0 ]; then
	for f in registrar.log compose.log dockerd.log; do
		[ -s "$WORK/$f" ] && { echo "# $f:"; tail -n 20 "$WORK/$f" | sed 's/^/#   /'; }
	done
fi

# tests/etcd.sh -- a 3-member etcd cluster on loopback and svcdns nodes on it, for the
# etcd-mode tests (source after lib.sh).  Every process started here is stopped by PID on
# exit.  Needs Debian's etcd-server and etcd-client (scripts/install-deps test).

ETCD_PID=() ETCD_CPORT=() ETCD_PPORT=()
NODE_PID=() NODE_DNS=() NODE_REG=() NODE_HTTP=() NODE_ARGS=()
ETCD_SCHEME=${ETCD_SCHEME:-http}

# etcd_start_cluster [EXTRA ETCD FLAGS...]: three members, healthy within 20 s.
etcd_start_cluster() {
	local i cluster=""
	for i in 1 2 3; do ETCD_CPORT[$i]=$(free_port); ETCD_PPORT[$i]=$(free_port); done
	for i in 1 2 3; do cluster+="${cluster:+,}e$i=http://127.0.0.1:${ETCD_PPORT[$i]}"; done
	for i in 1 2 3; do etcd_start_member "$i" "$cluster" new "$@"; done
	ETCD_ENDPOINTS=""
	for i in 1 2 3; do ETCD_ENDPOINTS+="${ETCD_ENDPOINTS:+,}127.0.0.1:${ETCD_CPORT[$i]}"; done
	wait_for 20 etcd_healthy
}

# etcd_start_member I CLUSTER STATE [FLAGS...]: (re)starts member I on its data dir.
etcd_start_member() {
	local i=$1 cluster=$2 state=$3; shift 3
	etcd --name "e$i" --data-dir "$WORK/etcd$i" \
		--listen-client-urls "$ETCD_SCHEME://127.0.0.1:${ETCD_CPORT[$i]}" \
		--advertise-client-urls "$ETCD_SCHEME://127.0.0.1:${ETCD_CPORT[$i]}" \
		--listen-peer-urls "http://127.0.0.1:${ETCD_PPORT[$i]}" \
		--initial-advertise-peer-urls "http://127.0.0.1:${ETCD_PPORT[$i]}" \
		--initial-cluster "$cluster" --initial-cluster-state "$state" \
		--initial-cluster-token "svcdns-test-$$" "$@" >>"$WORK/etcd$i.log" 2>&1 &
	ETCD_PID[$i]=$!
	on_exit "kill -KILL ${ETCD_PID[$i]} 2>/dev/null; kill -CONT ${ETCD_PID[$i]} 2>/dev/null"
}

etcdctl_() { ETCDCTL_API=3 etcdctl --endpoints "$ETCD_ENDPOINTS" --command-timeout=3s ${ETCDCTL_EXTRA:-} "$@"; }
etcd_healthy() { etcdctl_ endpoint health >/dev/null 2>&1; }
etcd_revision() { etcdctl_ get --write-out=json /svcdns-test-none | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["header"]["revision"])'; }
# The index (1-3) of the current leader.
etcd_leader() {
	local i
	for i in 1 2 3; do
		ETCDCTL_API=3 etcdctl --endpoints "127.0.0.1:${ETCD_CPORT[$i]}" ${ETCDCTL_EXTRA:-} endpoint status --write-out=json 2>/dev/null |
			/usr/bin/python3 -c 'import json,sys; s=json.load(sys.stdin)[0]["Status"]; sys.exit(0 if s["leader"]==s["header"]["member_id"] else 1)' && { echo "$i"; return 0; }
	done
	return 1
}

# node_start N [FLAGS...]: svcdns node N (node-id nN) on the cluster.
node_start() {
	local n=$1; shift
	NODE_DNS[$n]=${NODE_DNS[$n]:-$(free_port)}
	NODE_REG[$n]=${NODE_REG[$n]:-$(free_port)}
	NODE_HTTP[$n]=${NODE_HTTP[$n]:-$(free_port)}
	cat >"$WORK/node$n.yml" <<-YML
	node-id: n$n
	node-lease: ${NODE_LEASE:-3}
	store-timeout: ${STORE_TIMEOUT:-2}
	${NODE_YAML:-}
	YML
	"$SVCDNS_BIN" --config "$WORK/node$n.yml" --dns "127.0.0.1:${NODE_DNS[$n]}" --register "127.0.0.1:${NODE_REG[$n]}" \
		--http "127.0.0.1:${NODE_HTTP[$n]}" --zones "$WORK/none" --store "${ETCD_URL:-etcd://$ETCD_ENDPOINTS}" \
		--log-level debug "$@" >>"$WORK/node$n.log" 2>&1 &
	NODE_PID[$n]=$!
	on_exit "kill -KILL ${NODE_PID[$n]} 2>/dev/null; kill -CONT ${NODE_PID[$n]} 2>/dev/null"
}

# node_synced N: the node answers NOERROR for the apex SOA (SERVFAIL until its first sync).
node_synced() { dig @127.0.0.1 -p "${NODE_DNS[$1]}" +time=1 +tries=1 +norec svc.internal SOA | grep -q 'status: NOERROR'; }
# nq N ARGS...: dig at node N; nqs: its short answers.
nq() { local n=$1; shift; dig @127.0.0.1 -p "${NODE_DNS[$n]}" +time=1 +tries=1 +norec "$@"; }
nqs() { nq "$@" +short | grep -v '^;'; }
nrcode() { nq "$@" | sed -n 's/.*status: \([A-Z]*\).*/\1/p' | head -1; }
nserial() { nqs "$1" svc.internal SOA | awk '{print $3}'; }
# nreg N LINE: one registration request to node N over TCP.
nreg() { printf '%s\n' "$2" | /usr/bin/python3 "$TESTS_DIR/tools/reg_send.py" tcp 127.0.0.1 "${NODE_REG[$1]}"; }
# node_stop N: SIGTERM; fails the test unless it exits 0 (sanitizers report through it).
node_stop() {
	local n=$1 pid=${NODE_PID[$1]} rc
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null; rc=$?
	NODE_PID[$n]=""
	ok "$rc" "node $n exited cleanly (status $rc)"
	if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$WORK/node$n.log"; then
		ok 1 "node $n: no sanitizer reports"; grep -E -A8 'Sanitizer|runtime error' "$WORK/node$n.log" | head -40 | sed 's/^/#   /'
	fi
}
# ms: the monotonic-ish wall clock in milliseconds.
ms() { echo $(( $(date +%s%N) / 1000000 )); }
# node_logs: the tail of every node's log, on failure.
node_logs() {
	local n
	for n in "${!NODE_PID[@]}"; do echo "# node $n log:"; tail -n 25 "$WORK/node$n.log" | sed 's/^/#   /'; done
}

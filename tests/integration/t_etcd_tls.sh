#!/usr/bin/env bash
# etcd mode over TLS with auth (etcds://, store-tls, store-auth): certificates made here
# with openssl, a 3-member etcd that requires client certificates and has auth enabled.
# The right credentials work (and survive the token's expiry); a wrong CA, a missing
# client certificate and a wrong password each stop the start-up with a clear message.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/etcd.sh"

command -v etcd >/dev/null || { ok 1 "etcd is installed (scripts/install-deps test)"; exit 1; }
trap 'rc=$?; [ "$TEST_FAILED" -ne 0 ] && node_logs; (exit $rc); _cleanup' EXIT

# --- certificates: a CA, a server certificate for 127.0.0.1, a client certificate -------------
P=$WORK/pki
mkdir -p "$P"
mkcert() {  # mkcert NAME SUBJECT EXTENSIONS CA
	openssl req -new -newkey rsa:2048 -nodes -keyout "$P/$1.key" -subj "$2" -out "$P/$1.csr" 2>/dev/null &&
	printf '%s\n' "$3" >"$P/$1.ext" &&
	openssl x509 -req -in "$P/$1.csr" -CA "$P/$4.crt" -CAkey "$P/$4.key" -CAcreateserial -days 2 \
		-extfile "$P/$1.ext" -out "$P/$1.crt" 2>/dev/null
}
for ca in ca other-ca; do
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$P/$ca.key" -subj "/CN=svcdns test $ca" -days 2 -out "$P/$ca.crt" 2>/dev/null
done
mkcert server "/CN=etcd" "subjectAltName=IP:127.0.0.1
extendedKeyUsage=serverAuth,clientAuth" ca
# No CommonName: with auth enabled etcd 3.4's JSON gateway refuses a client certificate
# that has one (it would be taken for the user name).
mkcert client "/O=svcdns" "extendedKeyUsage=clientAuth" ca
check "the test's certificates are made" test -s "$P/server.crt" -a -s "$P/client.crt"
chmod 600 "$P"/*.key

ETCD_SCHEME=https
etcd_start_cluster --cert-file "$P/server.crt" --key-file "$P/server.key" --client-cert-auth \
	--trusted-ca-file "$P/ca.crt" --auth-token simple --auth-token-ttl 2
ETCDCTL_EXTRA="--cacert $P/ca.crt --cert $P/client.crt --key $P/client.key"
check "a TLS etcd with client certificates is healthy" etcd_healthy

# --- auth: root, and a user svcdns that may read and write /svcdns/ only ------------------------
etcdctl_ user add root:rootpw >/dev/null && etcdctl_ user grant-role root root >/dev/null &&
etcdctl_ role add svcdns >/dev/null && etcdctl_ role grant-permission svcdns --prefix=true readwrite /svcdns/ >/dev/null &&
etcdctl_ user add svcdns:s3cret >/dev/null && etcdctl_ user grant-role svcdns svcdns >/dev/null &&
etcdctl_ auth enable >/dev/null
ok $? "auth is enabled with a user for svcdns"
printf 's3cret\n' >"$WORK/pw"; printf 'wrong\n' >"$WORK/badpw"; chmod 600 "$WORK/pw" "$WORK/badpw"

tls_yaml() {  # tls_yaml CA PASSWORD-FILE [client cert: yes/no]
	printf 'store-tls:\n  ca: %s\n' "$1"
	[ "${3:-yes}" = yes ] && printf '  cert: %s\n  key: %s\n' "$P/client.crt" "$P/client.key"
	printf 'store-auth:\n  user: svcdns\n  password-file: %s\n' "$2"
}
ETCD_URL="etcds://$ETCD_ENDPOINTS"
NODE_YAML=$(tls_yaml "$P/ca.crt" "$WORK/pw") node_start 1
NODE_YAML=$(tls_yaml "$P/ca.crt" "$WORK/pw") node_start 2
check "node 1 syncs over TLS with auth" wait_for 10 node_synced 1
check "node 2 too" wait_for 10 node_synced 2
is "$(nreg 1 'REGISTER web t1 10.0.5.1 80 ttl=60')" "OK ttl=60" "REGISTER through node 1"
check "node 2 answers it" wait_for 2 bash -c "[ \"\$(dig @127.0.0.1 -p ${NODE_DNS[2]} +short t1.web.svc.internal A)\" = 10.0.5.1 ]"
ROOT="--user root:rootpw"
is "$(ETCDCTL_EXTRA="$ETCDCTL_EXTRA $ROOT" etcdctl_ get --print-value-only /svcdns/svc.internal/i/web/t1 | sed -n 's/.*"owner":"\([^"]*\)".*/\1/p')" "n1" "written to etcd as the svcdns user"
sleep 3   # the tokens (--auth-token-ttl 2) expire; the next write must authenticate again
is "$(nreg 2 'REGISTER web t2 10.0.5.2 80 ttl=60')" "OK ttl=60" "after the token expired a write authenticates again"
check "node 1's watch follows after its token expired" wait_for 5 bash -c "[ \"\$(dig @127.0.0.1 -p ${NODE_DNS[1]} +short t2.web.svc.internal A)\" = 10.0.5.2 ]"
auths=$(grep -c "authenticated as user 'svcdns'" "$WORK/node2.log")
check "node 2 authenticated again when its token expired ($auths times in all)" test "$auths" -ge 2
node_stop 1; node_stop 2

# --- what must stop the start-up --------------------------------------------------------------
fails() {  # fails N DESCRIPTION REGEX: node N exits non-zero within 15 s, its log matching REGEX
	local n=$1 desc=$2 re=$3 rc
	for _ in $(seq 1 300); do kill -0 "${NODE_PID[$n]}" 2>/dev/null || break; sleep 0.05; done
	if kill -0 "${NODE_PID[$n]}" 2>/dev/null; then ok 1 "$desc: still running"; return; fi
	wait "${NODE_PID[$n]}"; rc=$?; NODE_PID[$n]=""
	check "$desc: start-up stops (status $rc)" test "$rc" -ne 0
	like "$(grep -m1 'error store:' "$WORK/node$n.log")" "$re" "$desc: the log says why"
}
NODE_YAML=$(tls_yaml "$P/other-ca.crt" "$WORK/pw") node_start 3
fails 3 "an untrusted certificate (wrong CA)" "TLS: .*certificate verify failed"
NODE_YAML=$(tls_yaml "$P/ca.crt" "$WORK/pw" no) node_start 4
fails 4 "no client certificate" "TLS: .*(certificate required|handshake failure|alert)"
NODE_YAML=$(tls_yaml "$P/ca.crt" "$WORK/badpw") node_start 5
fails 5 "a wrong password" "store-auth: user 'svcdns': .*(authentication failed|invalid user ID or password)"

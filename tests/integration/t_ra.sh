#!/usr/bin/env bash
# t_ra.sh -- the RA flag. With upstreams (`forward:`) svcdns offers recursion, so EVERY
# answer carries RA=1: authoritative answers, NXDOMAIN in the service domain, PTR of a
# registered address, FORMERR and REFUSED errors and forwarded answers, over UDP and TCP.
# Without upstreams every one of them has RA=0. Then glibc-minded tools (bind9 nslookup,
# host), which skip a nameserver that answers without RA ("recursion not available") and
# ask the next one, must take svcdns's answers in a namespace whose resolv.conf lists
# svcdns first and a second, REFUSED-answering server after it.
#
# Upstreams are tests/tools/fake_upstream.py (mode answer: A 192.0.2.99) on loopback or on
# an address inside this test's own namespace; nothing leaves the machine.
. "$(dirname "$0")/../lib.sh"

PY=/usr/bin/python3
TOOLS=$TESTS_DIR/tools

# ---- server config ------------------------------------------------------------------
mkdir -p "$WORK/zones"
cat >"$WORK/base.yml" <<'YML'
services:
  - { service: user-service, instance: user-1, address: 10.0.0.11, port: 8080 }
YML

start_fake() {  # start_fake MODE PORT LOG [ADDR]: waits until it logs "ready"; sets FAKE_PID
	"$PY" "$TOOLS/fake_upstream.py" "$@" 2>>"$WORK/fake-errors.log" &
	FAKE_PID=$!
	on_exit "kill -KILL $FAKE_PID; wait $FAKE_PID"
	wait_for 10 grep -q '^ready$' "$3" || { echo "# fake upstream $1 did not start"; cat "$WORK/fake-errors.log"; exit 1; }
}

# ra_of: "1" when the dig output's flags line has ra, "0" when it has not, "none" without one.
ra_of() {
	local line
	line=$(grep -m1 '^;; flags:' <<<"$1") || { echo none; return; }
	line=${line#;; flags:}; line=${line%%;*}
	[[ " $line " == *" ra "* ]] && echo 1 || echo 0
}
status_of() { sed -n 's/.*status: \([A-Z]*\).*/\1/p' <<<"$1" | head -1; }

# raw_flags TRANSPORT HEXPACKET: sends the packet, prints "RCODE-NUMBER RA-BIT" of the reply.
raw_flags() {
	"$PY" - "$1" "$PORT" "$2" <<'PYEOF'
import socket, struct, sys
transport, port, pkt = sys.argv[1], int(sys.argv[2]), bytes.fromhex(sys.argv[3])
if transport == "udp":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
    s.sendto(pkt, ("127.0.0.1", port)); data = s.recv(4096)
else:
    s = socket.create_connection(("127.0.0.1", port), timeout=2)
    s.sendall(struct.pack("!H", len(pkt)) + pkt)
    buf = b""
    while len(buf) < 2 or len(buf) < 2 + struct.unpack("!H", buf[:2])[0]:
        chunk = s.recv(4096)
        if not chunk: break
        buf += chunk
    data = buf[2:]
flags = struct.unpack("!H", data[2:4])[0]
print(flags & 0xF, 1 if flags & 0x0080 else 0)
PYEOF
}
# A query with RD and QDCOUNT=2 (two copies of the question user-service.svc.internal A): FORMERR.
Q1=$(printf '\x0cuser-service\x03svc\x08internal\x00\x00\x01\x00\x01' | od -An -tx1 | tr -d ' \n')
FORMERR_PKT=123401000002000000000000${Q1}${Q1}

# check_all WANT-RA LABEL: the five kinds of answer over UDP and TCP all have RA=WANT-RA.
check_all() {
	local want=$1 label=$2 t out tflag
	for t in udp tcp; do
		tflag=; [ "$t" = tcp ] && tflag=+tcp
		out=$(dig @127.0.0.1 -p "$PORT" +time=2 +tries=1 $tflag user-service.svc.internal A)
		is "$(status_of "$out")/$(grep -c '10\.0\.0\.11' <<<"$out")/ra=$(ra_of "$out")" "NOERROR/1/ra=$want" \
			"$label: authoritative A of a registered name over $t: RA=$want"
		out=$(dig @127.0.0.1 -p "$PORT" +time=2 +tries=1 $tflag nosuch.svc.internal A)
		is "$(status_of "$out")/ra=$(ra_of "$out")" "NXDOMAIN/ra=$want" "$label: NXDOMAIN in svc.internal over $t: RA=$want"
		out=$(dig @127.0.0.1 -p "$PORT" +time=2 +tries=1 $tflag -x 10.0.0.11)
		is "$(status_of "$out")/$(grep -c 'PTR.*user-1\.user-service\.svc\.internal\.' <<<"$out")/ra=$(ra_of "$out")" "NOERROR/1/ra=$want" \
			"$label: PTR of a registered address over $t: RA=$want"
		# REFUSED: class CH is never ours.
		out=$(dig @127.0.0.1 -p "$PORT" +time=2 +tries=1 $tflag user-service.svc.internal A -c CH)
		is "$(status_of "$out")/ra=$(ra_of "$out")" "REFUSED/ra=$want" "$label: REFUSED (class CH) over $t: RA=$want"
		is "$(raw_flags "$t" "$FORMERR_PKT")" "1 $want" "$label: FORMERR (QDCOUNT=2) over $t: RA=$want"
	done
}

# ---- (a) with forwarders --------------------------------------------------------------
UP_PORT=$(free_port)
start_fake answer "$UP_PORT" "$WORK/up.log"
cp "$WORK/base.yml" "$WORK/fwd.yml"
printf 'forward: ["127.0.0.1:%s"]\nforward-timeout: 1000\n' "$UP_PORT" >>"$WORK/fwd.yml"
start_server --config "$WORK/fwd.yml" --zones "$WORK/zones" || exit 1
check_all 1 "with forward"
for t in udp tcp; do
	tflag=; [ "$t" = tcp ] && tflag=+tcp
	out=$(dig @127.0.0.1 -p "$PORT" +time=2 +tries=1 $tflag www.example.test A)
	is "$(status_of "$out")/$(grep -c '192\.0\.2\.99' <<<"$out")/ra=$(ra_of "$out")" "NOERROR/1/ra=1" \
		"with forward: forwarded answer over $t: RA=1"
	# Without RD an outside name is REFUSED even with forwarders: still RA=1 (we do offer it).
	out=$(dig @127.0.0.1 -p "$PORT" +time=2 +tries=1 +norec $tflag www.example.test A)
	is "$(status_of "$out")/ra=$(ra_of "$out")" "REFUSED/ra=1" "with forward: REFUSED outside name without RD over $t: RA=1"
done
stop_server
PORT=

# ---- (b) without forwarders -------------------------------------------------------------
start_server --config "$WORK/base.yml" --zones "$WORK/zones" || exit 1
check_all 0 "no forward"
for t in udp tcp; do
	tflag=; [ "$t" = tcp ] && tflag=+tcp
	out=$(dig @127.0.0.1 -p "$PORT" +time=2 +tries=1 $tflag www.example.test A)
	is "$(status_of "$out")/ra=$(ra_of "$out")" "REFUSED/ra=0" "no forward: outside name REFUSED over $t: RA=0"
done
stop_server
PORT=

# ---- (c) nslookup and host in a namespace ---------------------------------------------------
NS=svcdns-ra-$$
NS_ETC=/etc/netns/$NS
SRV_ADDR=198.18.214.1      # svcdns, first nameserver (veth end A)
SECOND_ADDR=198.18.214.2   # the second nameserver, answering REFUSED (veth end B); the upstream too
NS_PIDS=()
exec 3>&1
teardown_ns() {
	local p
	[ -n "$SERVER_PID" ] && stop_server >&3 2>&1
	for p in "${NS_PIDS[@]+"${NS_PIDS[@]}"}"; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	p=$(ip netns pids "$NS" 2>/dev/null)
	[ -n "$p" ] && { echo "# killing leftover processes in $NS: $p" >&3; kill -KILL $p; }
	ip netns del "$NS" 2>/dev/null
	rm -rf "$NS_ETC"
}
command -v nslookup >/dev/null && command -v host >/dev/null ||
	{ ok 1 "nslookup and host installed (bind9-dnsutils: scripts/install-deps test)"; exit 1; }
if ! ip netns add "$NS" 2>"$WORK/netns.err"; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "ok $((TEST_NUM + 1)) - # SKIP (c): cannot create a network namespace (not root)"; exit 0
	fi
	ok 1 "ip netns add $NS"; sed 's/^/#   /' "$WORK/netns.err"; exit 1
fi
on_exit teardown_ns
check "$NS_ETC and a veth pair with $SRV_ADDR and $SECOND_ADDR inside $NS" netns_host "$NS" \
	"$SRV_ADDR" "$SECOND_ADDR" "$(printf 'nameserver %s\nnameserver %s\nsearch svc.internal\noptions timeout:1 attempts:1 ndots:1\n' "$SRV_ADDR" "$SECOND_ADDR")"
check "namespace has no default route (no query can leave it)" eval '[ -z "$(ip -n "$NS" route show default)" ]'
check "namespace sees its own resolv.conf with svcdns first" eval \
	'[ "$(ip netns exec "$NS" awk "/^nameserver/ {print \$2}" /etc/resolv.conf | paste -sd" " -)" = "$SRV_ADDR $SECOND_ADDR" ]'

# Started with `ip netns exec` directly, so that $! is the process itself.
ip netns exec "$NS" "$PY" "$TOOLS/fake_upstream.py" refused 53 "$WORK/second.log" "$SECOND_ADDR" 2>>"$WORK/fake-errors.log" &
NS_PIDS+=($!)
ip netns exec "$NS" "$PY" "$TOOLS/fake_upstream.py" answer 5300 "$WORK/nsup.log" "$SECOND_ADDR" 2>>"$WORK/fake-errors.log" &
NS_PIDS+=($!)
wait_for 10 grep -q '^ready$' "$WORK/second.log" && wait_for 10 grep -q '^ready$' "$WORK/nsup.log" ||
	{ ok 1 "fake servers started in $NS"; cat "$WORK/fake-errors.log"; exit 1; }
cp "$WORK/base.yml" "$WORK/ns.yml"
printf 'forward: ["%s:5300"]\nforward-timeout: 1000\n' "$SECOND_ADDR" >>"$WORK/ns.yml"
ip netns exec "$NS" "$SVCDNS_BIN" --dns "$SRV_ADDR:53" --register "$SRV_ADDR:8053" --http off \
	--config "$WORK/ns.yml" --zones "$WORK/zones" --log-level debug >>"$SERVER_LOG" 2>&1 &
SERVER_PID=$!
ns_answers() {
	kill -0 "$SERVER_PID" 2>/dev/null &&
	ip netns exec "$NS" dig @"$SRV_ADDR" +time=1 +tries=1 +norec svc.internal SOA | grep -q 'status: NOERROR'
}
wait_for 15 ns_answers || { ok 1 "svcdns answers on $SRV_ADDR:53 in $NS"; exit 1; }
ok 0 "svcdns answers on $SRV_ADDR:53 in $NS"
is "$(ip netns identify "$SERVER_PID")" "$NS" "svcdns runs inside $NS"

nsrun() { timeout 15 ip netns exec "$NS" "$@" 2>&1; }
# no_norec OUTPUT LABEL: no "recursion not available" and no answer from the second server.
no_norec() {
	if grep -qi 'recursion not available' <<<"$1"; then ok 1 "$2: no 'recursion not available'"; sed 's/^/#   /' <<<"$1"
	else ok 0 "$2: no 'recursion not available'"; fi
	if grep -qE "REFUSED|$SECOND_ADDR" <<<"$1"; then ok 1 "$2: nothing from the second server"; sed 's/^/#   /' <<<"$1"
	else ok 0 "$2: nothing from the second server"; fi
}

out=$(nsrun nslookup user-service)
like "$out" "Server:[[:space:]]+$SRV_ADDR" "nslookup user-service: asked svcdns"
like "$out" "Name:[[:space:]]+user-service\.svc\.internal"$'\n'"Address: 10\.0\.0\.11" "nslookup user-service: svcdns's address 10.0.0.11"
no_norec "$out" "nslookup user-service"
out=$(nsrun nslookup 10.0.0.11)
like "$out" "11\.0\.0\.10\.in-addr\.arpa[[:space:]]+name = user-1\.user-service\.svc\.internal" "nslookup 10.0.0.11: svcdns's PTR"
no_norec "$out" "nslookup 10.0.0.11"
out=$(nsrun nslookup www.example.test)
like "$out" "Address: 192\.0\.2\.99" "nslookup www.example.test: the forwarded answer"
no_norec "$out" "nslookup www.example.test"

out=$(nsrun host user-service)
like "$out" "user-service\.svc\.internal has address 10\.0\.0\.11" "host user-service: svcdns's address"
no_norec "$out" "host user-service"
out=$(nsrun host 10.0.0.11)
like "$out" "11\.0\.0\.10\.in-addr\.arpa domain name pointer user-1\.user-service\.svc\.internal\." "host 10.0.0.11: svcdns's PTR"
no_norec "$out" "host 10.0.0.11"
out=$(nsrun host www.example.test)
like "$out" "www\.example\.test has address 192\.0\.2\.99" "host www.example.test: the forwarded answer"
no_norec "$out" "host www.example.test"

is "$(grep -c 'query' "$WORK/second.log")" 0 "the second nameserver was never asked"
check "forwarded names reached the namespace's upstream" grep -q 'query www\.example\.test\.' "$WORK/nsup.log"

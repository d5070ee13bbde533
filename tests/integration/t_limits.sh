#!/usr/bin/env bash
# Abuse limits: allow-query, response rate limiting with slip, DNS-over-TCP connections
# per client, ANY answered minimally. Each limit is hit, then well-behaved clients go on.
. "$(dirname "$0")/../lib.sh"

cat >"$WORK/svcdns.yml" <<'YML'
allow-query: ["127.0.0.1/32", "127.0.0.3/32", "::1"]
rrl-rate: 20
rrl-slip: 2
tcp-max-connections-per-client: 3
tcp-idle-timeout: 30
services:
  - { service: db, instance: db-1, address: 10.0.0.5, port: 5432, txt: ["a=b"] }
  - { service: db, instance: db-2, address: "fd00::5", port: 5432 }
YML
start_server --config "$WORK/svcdns.yml" --zones "$WORK/none" || exit 1
is "$(qs db-1.db.svc.internal A)" "10.0.0.5" "allowed client is answered"

# allow-query: a source outside the list gets REFUSED, over UDP and TCP.
out=$(dig @127.0.0.1 -p "$PORT" -b 127.0.0.2 +time=2 +tries=1 +norec db.svc.internal A)
like "$out" "status: REFUSED" "a client outside allow-query: REFUSED over UDP"
like "$out" "EDE: 18 \(Prohibited\)" "... with Extended DNS Error 18 (RFC 8914)"
out=$(dig @127.0.0.1 -p "$PORT" -b 127.0.0.2 +tcp +time=2 +tries=1 +norec db.svc.internal A)
like "$out" "status: REFUSED" "a client outside allow-query: REFUSED over TCP"
is "$(qs db-1.db.svc.internal A)" "10.0.0.5" "the allowed client still gets answers"

# ANY: one RRset (RFC 8482), never the whole node.
out=$(q db-1.db.svc.internal ANY)
like "$out" "ANSWER: 1," "ANY answered with one RRset"
like "$out" "IN[[:space:]]+A[[:space:]]+10.0.0.5" "ANY: the address"

# RRL: a flood from one network is limited; slip sends every 2nd limited answer as TC.
/usr/bin/python3 - "$PORT" >"$WORK/rrl.out" <<'PY'
import socket, struct, sys, time
port = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.5)
q = lambda i: struct.pack('>HHHHHH', i, 0, 1, 0, 0, 0) + b'\x02db\x03svc\x08internal\x00' + struct.pack('>HH', 1, 1)
for i in range(200):
    s.sendto(q(i), ('127.0.0.1', port))
full = tc = 0
try:
    while True:
        data, _ = s.recvfrom(2048)
        flags, an = struct.unpack('>H', data[2:4])[0], struct.unpack('>H', data[6:8])[0]
        if flags & 0x0200 and an == 0:
            tc += 1
        else:
            full += 1
except socket.timeout:
    pass
print(full, tc)
PY
read -r full tc <"$WORK/rrl.out"
check "RRL: a burst of 200 gets at most ~the rate in full answers ($full)" test "$full" -ge 10 -a "$full" -le 60
check "RRL: slip answers some with TC instead of silence ($tc)" test "$tc" -ge 30
check "RRL: the rest is dropped ($((200 - full - tc)) dropped)" test $((full + tc)) -lt 200
out=$(q +tcp db-1.db.svc.internal A)
like "$out" "status: NOERROR" "a rate-limited client is served over TCP"
check "after the burst the UDP rate refills" wait_for 5 bash -c "dig @127.0.0.1 -p $PORT +time=1 +tries=1 +short db-1.db.svc.internal A | grep -qx 10.0.0.5"

# TCP connections per client: the 4th from one address is closed at once; others go on.
"$SVCDNS_TOOLS/dnsprobe" holdconns --server 127.0.0.1 --port "$PORT" --count 4 --hold 3 >"$WORK/hold.out" 2>&1 &
holder=$!
on_exit "kill $holder"
wait_for 5 grep -q "connected" "$WORK/hold.out"
out=$(dig @127.0.0.1 -p "$PORT" -b 127.0.0.3 +tcp +time=2 +tries=1 +norec db-1.db.svc.internal A)
like "$out" "status: NOERROR" "meanwhile another client is served over TCP"
wait "$holder"
like "$(cat "$WORK/hold.out")" "4 opened, 1 closed at once" "tcp-max-connections-per-client 3: the 4th is refused"
out=$(q +tcp db-1.db.svc.internal A)
like "$out" "status: NOERROR" "TCP is served again once the holder left"

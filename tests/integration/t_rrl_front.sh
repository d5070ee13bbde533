#!/usr/bin/env bash
# t_rrl_front.sh -- one front door for every query: response rate limiting and allow-query
# apply to forwarded names exactly as to our own. A burst of 200 UDP queries from one
# client network gets at most about rate+burst full answers and the rest slipped (TC=1,
# no answer records) or dropped, for a name of ours and for a forwarded name alike; a
# slipped forwarded query was never sent upstream (the fake upstream counts what reaches
# it). A client outside allow-query gets REFUSED for a forwarded name over UDP and over
# TCP (every message of a pipelined connection), and upstream never sees it.
#
# Each burst comes from its own /24 on loopback (RRL counts by /24 by default), so one
# burst's bucket never affects the next.
. "$(dirname "$0")/../lib.sh"

PY=/usr/bin/python3
TOOLS=$TESTS_DIR/tools
RATE=5
MAXFULL=$((RATE * 3))   # rate+burst (burst = rate) plus what refills while a burst is answered

UP_PORT=$(free_port)
UP_LOG=$WORK/up.log
"$PY" "$TOOLS/fake_upstream.py" answer "$UP_PORT" "$UP_LOG" 2>>"$WORK/fake-errors.log" &
UP_PID=$!
on_exit "kill -KILL $UP_PID; wait $UP_PID"
wait_for 10 grep -q '^ready$' "$UP_LOG" || { echo "# fake upstream did not start"; cat "$WORK/fake-errors.log"; exit 1; }
upcount() { grep -c "query $1" "$UP_LOG"; }

mkdir -p "$WORK/zones"
cat >"$WORK/svcdns.yml" <<YML
allow-query: ["127.0.0.1/32", "127.0.1.0/24", "127.0.2.0/24", "127.0.4.0/24"]
rrl-rate: $RATE
rrl-slip: 1
forward: ["127.0.0.1:$UP_PORT"]
forward-timeout: 1000
services:
  - { service: user-service, instance: user-1, address: 10.0.0.11, port: 8080 }
YML
start_server --config "$WORK/svcdns.yml" --zones "$WORK/zones" || exit 1

# ---- allow-query: a forwarded name from a client outside the list -------------------------
DENIED=127.0.3.1
out=$(dig @127.0.0.1 -p "$PORT" -b "$DENIED" +time=2 +tries=1 denied-udp.example.test A)
like "$out" "status: REFUSED" "client outside allow-query: forwarded name REFUSED over UDP"
out=$(dig @127.0.0.1 -p "$PORT" -b "$DENIED" +tcp +time=2 +tries=1 denied-tcp.example.test A)
like "$out" "status: REFUSED" "client outside allow-query: forwarded name REFUSED over TCP"
# Three queries pipelined on one connection: each message meets the same policy.
out=$("$PY" - "$PORT" "$DENIED" <<'PYEOF'
import socket, struct, sys
port, src = int(sys.argv[1]), sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind((src, 0)); s.settimeout(3); s.connect(("127.0.0.1", port))
def q(i, name):
    m = struct.pack("!HHHHHH", i, 0x0100, 1, 0, 0, 0)
    for l in name.split("."):
        m += bytes([len(l)]) + l.encode()
    m += b"\x00" + struct.pack("!HH", 1, 1)
    return struct.pack("!H", len(m)) + m
s.sendall(b"".join(q(i, "denied-pipe%d.example.test" % i) for i in range(3)))
buf = b""; rcodes = []
try:
    while len(rcodes) < 3:
        chunk = s.recv(4096)
        if not chunk: break
        buf += chunk
        while len(buf) >= 2 and len(buf) >= 2 + struct.unpack("!H", buf[:2])[0]:
            n = struct.unpack("!H", buf[:2])[0]; msg = buf[2:2 + n]; buf = buf[2 + n:]
            rcodes.append(str(struct.unpack("!H", msg[2:4])[0] & 0xF))
except socket.timeout:
    pass
print(" ".join(rcodes))
PYEOF
)
is "$out" "5 5 5" "client outside allow-query: 3 pipelined TCP queries for forwarded names all REFUSED"
out=$(dig @127.0.0.1 -p "$PORT" +time=2 +tries=1 +short www.example.test A | grep -v '^;')
is "$out" "192.0.2.99" "an allowed client's forwarded query is answered"
check "upstream saw the allowed client's query" grep -q 'query www\.example\.test\.' "$UP_LOG"
is "$(upcount denied)" 0 "upstream never saw a query of the refused client"

# burst SOURCE NAME: 200 UDP queries (RD=1) from one socket bound to SOURCE, sent at once,
# then replies collected until all came or 1.5 s pass without one (3 s at most).
# Prints "FULL SLIPPED OTHER": full answers (an answer record, no TC), TC=1 with no answer
# records, anything else.
burst() {
	"$PY" - "$PORT" "$1" "$2" <<'PYEOF'
import socket, struct, sys, time
port, src, name = int(sys.argv[1]), sys.argv[2], sys.argv[3]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
s.bind((src, 0))
qn = b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\x00"
for i in range(200):
    s.sendto(struct.pack("!HHHHHH", i, 0x0100, 1, 0, 0, 0) + qn + struct.pack("!HH", 1, 1), ("127.0.0.1", port))
full = slipped = other = 0
seen = set()
end = time.monotonic() + 3.0
while len(seen) < 200 and time.monotonic() < end:
    s.settimeout(1.5)
    try:
        data = s.recv(4096)
    except socket.timeout:
        break
    qid, flags, qd, an = struct.unpack("!HHHH", data[:8])
    if qid in seen:
        continue
    seen.add(qid)
    if flags & 0x0200 and an == 0:
        slipped += 1
    elif an > 0 and not flags & 0x0200 and flags & 0xF == 0:
        full += 1
    else:
        other += 1
print(full, slipped, other)
PYEOF
}

# ---- a name of ours -----------------------------------------------------------------------
read -r full slipped other < <(burst 127.0.1.1 user-service.svc.internal)
echo "# own name: $full full, $slipped slipped (TC), $other other, $((200 - full - slipped - other)) unanswered"
check "own name: at most ~rate+burst full answers of 200 ($full <= $MAXFULL)" test "$full" -ge 1 -a "$full" -le "$MAXFULL"
check "own name: the rest slipped with TC=1 and no answers ($slipped, slip 1)" test "$slipped" -ge $((200 - MAXFULL - 10))
is "$other" 0 "own name: no other kind of reply"

# ---- a forwarded name ---------------------------------------------------------------------
before=$(upcount burst.example.test)
read -r full slipped other < <(burst 127.0.2.1 burst.example.test)
sent=$(( $(upcount burst.example.test) - before ))
echo "# forwarded name: $full full, $slipped slipped (TC), $other other, $((200 - full - slipped - other)) unanswered; upstream got $sent"
check "forwarded name: at most ~rate+burst full answers of 200 ($full <= $MAXFULL)" test "$full" -ge 1 -a "$full" -le "$MAXFULL"
check "forwarded name: the rest slipped with TC=1 and no answers ($slipped, slip 1)" test "$slipped" -ge $((200 - MAXFULL - 10))
is "$other" 0 "forwarded name: no other kind of reply"
check "forwarded name: slipped queries were not forwarded (upstream got $sent, full answers $full)" test "$sent" -le "$full" -a "$sent" -le "$MAXFULL"

# A rate-limited client network is still served over TCP, forwarded names too.
out=$(dig @127.0.0.1 -p "$PORT" -b 127.0.2.1 +tcp +time=2 +tries=1 burst.example.test A)
like "$out" "192\.0\.2\.99" "the rate-limited client gets the forwarded answer over TCP"
# An untouched client network still gets full UDP answers for both.
out=$(dig @127.0.0.1 -p "$PORT" -b 127.0.4.1 +time=2 +tries=1 user-service.svc.internal A)
like "$out" "10\.0\.0\.11" "another client network: own name answered over UDP"
out=$(dig @127.0.0.1 -p "$PORT" -b 127.0.4.1 +time=2 +tries=1 other.example.test A)
like "$out" "192\.0\.2\.99" "another client network: forwarded name answered over UDP"

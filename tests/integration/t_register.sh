#!/usr/bin/env bash
# The registration protocol over real sockets: register over UDP and TCP and see it in
# DNS; replace, renew, deregister; lease expiry; every ERR code; bad lines harm nothing.
. "$(dirname "$0")/../lib.sh"

cat >"$WORK/svcdns.yml" <<'YML'
ttl: 5
services:
  - { service: db, instance: db-1, address: 10.0.0.5, port: 5432 }
YML
start_server --config "$WORK/svcdns.yml" --zones "$WORK/none" || exit 1

is "$(reg PING)" "OK" "PING over TCP"
is "$(printf 'PING\n' | reg_udp)" "OK" "PING over UDP"

# --- register over UDP and TCP, then DNS sees it at once --------------------------
is "$(printf 'REGISTER user-service u1 10.0.0.11 8080 ttl=60 txt=version=2 txt=zone=a\n' | reg_udp)" "OK ttl=60" "REGISTER over UDP"
is "$(reg 'REGISTER user-service u2 fd00::12 8080 priority=1 weight=10')" "OK ttl=30" "REGISTER over TCP, default ttl 30"
is "$(qs user-service.svc.internal A)" "10.0.0.11" "A at once"
is "$(qs user-service.svc.internal AAAA)" "fd00::12" "AAAA at once"
is "$(qs _user-service._tcp.svc.internal SRV | sort | tr '\n' ' ')" "0 0 8080 u1.user-service.svc.internal. 1 10 8080 u2.user-service.svc.internal. " "SRV at once"
is "$(qs u1.user-service.svc.internal TXT)" '"version=2" "zone=a"' "TXT from txt= options"
is "$(reg 'REGISTER dns-svc d1 10.0.3.1 53 proto=udp')" "OK ttl=30" "REGISTER proto=udp"
is "$(qs _dns-svc._udp.svc.internal SRV)" "0 0 53 d1.dns-svc.svc.internal." "udp instance under _udp"
is "$(reg 'register Mixed-Case M1 10.0.3.2 1')" "OK ttl=30" "verbs and names are case-insensitive"
is "$(qs m1.mixed-case.svc.internal A)" "10.0.3.2" "names stored lowercase"

# --- pipelining: several lines on one connection, replies in order -----------------
out=$(printf 'PING\nREGISTER pipe p1 10.0.4.1 1\nBOGUS\nREGISTER pipe p2 10.0.4.2 1\r\nLIST pipe\nPING\n' | reg_tcp)
is "$(sed -n 1p <<<"$out")|$(sed -n 2p <<<"$out")|$(sed -n 3p <<<"$out" | cut -c1-7)|$(sed -n 4p <<<"$out")" "OK|OK ttl=30|ERR 400|OK ttl=30" "pipelined replies in order, CRLF accepted"
is "$(tail -1 <<<"$out")" "OK" "last pipelined reply"
like "$out" "OK 2" "LIST inside the pipeline counts 2"
out=$(printf 'PING\nREGISTER udp-multi a 10.0.5.1 1\nREGISTER udp-multi b 10.0.5.2 1' | reg_udp)
is "$(tr '\n' '|' <<<"$out")" "OK|OK ttl=30|OK ttl=30|" "one datagram, several lines, one reply datagram"

# --- replace, renew, deregister ------------------------------------------------------
is "$(reg 'REGISTER user-service u1 10.0.0.99 8081 ttl=60')" "OK ttl=60" "REGISTER again replaces"
is "$(qs u1.user-service.svc.internal A)" "10.0.0.99" "replaced address served"
is "$(qs u1.user-service.svc.internal TXT | wc -l)" "0" "replaced instance lost its old TXT"
is "$(reg 'RENEW user-service u1 ttl=100')" "OK ttl=100" "RENEW grants the ttl"
like "$(reg 'LIST user-service')" "user-service u1 10.0.0.99 8081 ttl=(99|100)" "LIST shows the remaining lease"
is "$(reg 'RENEW user-service u1 ttl=999999')" "OK ttl=86400" "ttl clamped to ttl-max"
like "$(reg 'RENEW user-service u1 ttl=0')" "^ERR 400 ttl: 0 is out of range \\(1\\.\\.2147483\\); leave ttl= out for the default lease$" "ttl=0 refused with ERR 400, as svcdnsctl --ttl 0 is"
like "$(reg 'RENEW user-service u1 ttl=9999999')" "^ERR 400 ttl: 9999999 is out of range" "ttl=9999999: out of range, not 'not a number'"
is "$(reg 'RENEW user-service u1')" "OK ttl=30" "no ttl= means the default lease"
is "$(reg 'DEREGISTER user-service u1')" "OK" "DEREGISTER"
is "$(qs user-service.svc.internal A | wc -l)" "0" "deregistered address gone from A"
is "$(rcode u1.user-service.svc.internal A)" "NXDOMAIN" "deregistered instance name: NXDOMAIN"
is "$(reg 'DEREGISTER user-service u1')" "ERR 404 no lease for u1.user-service (unknown or expired)" "DEREGISTER twice: 404"
like "$(reg 'RENEW user-service nope')" "^ERR 404 " "RENEW unknown: 404"
like "$(reg 'LIST')" "db db-1 10.0.0.5 5432 ttl=0 static" "LIST shows static instances"

# --- expiry within a second of the lease --------------------------------------------
is "$(reg 'REGISTER short s1 10.0.6.1 80 ttl=2')" "OK ttl=2" "register a 2 s lease"
start=$(date +%s%N)
check "answered while the lease runs" test "$(qs short.svc.internal A)" = "10.0.6.1"
like "$(q short.svc.internal A)" "short.svc.internal.[[:space:]]+[12][[:space:]]" "answer TTL never exceeds the remaining lease"
wait_for 6 bash -c "[ \"\$(dig @127.0.0.1 -p $PORT +time=1 +tries=1 +short short.svc.internal A | grep -v '^;')\" = '' ]"
gone_ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "gone after the lease ($gone_ms ms >= 1900)" test "$gone_ms" -ge 1900
check "gone within a second of expiry ($gone_ms ms <= 3000)" test "$gone_ms" -le 3000
wait_for 3 grep -q "expired s1.short" "$SERVER_LOG"
check "expiry logged" grep -q "expired s1.short" "$SERVER_LOG"
like "$(reg 'RENEW short s1')" "^ERR 404 " "RENEW after expiry: 404"

# --- errors: every code, and nothing else is harmed ----------------------------------
like "$(reg 'REGISTER')" "^ERR 400 missing field: service" "400 names the missing field"
like "$(reg 'REGISTER a b 10.0.0.1')" "^ERR 400 missing field: port" "400 missing port"
like "$(reg 'REGISTER a b 10.0.0.300 80')" "^ERR 400 address: " "400 bad address"
like "$(reg 'REGISTER a_b c 10.0.0.1 80')" "^ERR 400 service: " "400 bad service name"
like "$(reg 'REGISTER a -c 10.0.0.1 80')" "^ERR 400 instance: " "400 bad instance name"
like "$(reg 'REGISTER a b 10.0.0.1 70000')" "^ERR 400 port: " "400 port out of range"
like "$(reg 'REGISTER a b 10.0.0.1 80 ttl=-1')" "^ERR 400 ttl: " "400 bad ttl"
like "$(reg 'REGISTER a b 10.0.0.1 80 color=red')" "^ERR 400 unknown option 'color'" "400 unknown option"
like "$(reg 'REGISTER a b 10.0.0.1 80 proto=sctp')" "^ERR 400 proto: " "400 bad proto"
like "$(reg 'REGISTER  a b 10.0.0.1 80')" "^ERR 400 empty field" "400 double space"
like "$(reg 'FROB')" "^ERR 400 unknown verb" "400 unknown verb"
like "$(printf 'PING\x01\xff\xfe junk\n' | reg_tcp)" "^ERR 400 " "400 binary junk"
like "$(reg 'REGISTER db db-1 10.9.9.9 80')" "^ERR 409 " "409 conflicts with a static instance"
like "$(reg 'RENEW db db-1')" "^ERR 409 " "409 renewing a static instance"
long=$(printf 'REGISTER big b 10.0.0.1 80 txt=%0900d' 0)x$(printf '%04000d' 0)
like "$(printf '%s\nPING\n' "$long" | reg_tcp)" $'^ERR 413 line too long[^\n]*\nOK$' "413 over-long line, next line still served"
# Without a line end in sight the server answers and closes; the client keeps its side
# open, so only the server's close can end the read.
unterminated() {
	/usr/bin/python3 - "$REGPORT" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"A" * 6000)
got = b""
try:
    while True:
        chunk = s.recv(65536)
        if not chunk:
            print(got.decode(errors="replace").strip() + " | closed")
            break
        got += chunk
except socket.timeout:
    print(got.decode(errors="replace").strip() + " | still open")
except ConnectionResetError:
    print(got.decode(errors="replace").strip() + " | closed")
PY
}
like "$(unterminated)" "^ERR 413 [^|]* \\| closed$" "413 unterminated over-long line closes the connection"
like "$(printf 'LIST\n' | reg_udp)" "OK" "LIST over UDP fits"
# The documented 1,024 bytes of TXT fit the default line limit: four long strings, and
# the longest valid line (64 fields: every option at its longest, 55 TXT strings).
txt255=$(printf 'k%.0s' $(seq 1 255)); txt253=$(printf 'k%.0s' $(seq 1 253))
is "$(reg "REGISTER txt-full t1 10.0.0.1 80 txt=$txt255 txt=$txt255 txt=$txt255 txt=$txt253")" "OK ttl=30" "1,024 bytes of TXT in 4 strings fit the default line limit"
label63=$(printf 'a%.0s' $(seq 1 63)); txt17=$(printf 'k%.0s' $(seq 1 17))
many=$(for _ in $(seq 1 55); do printf ' txt=%s' "$txt17"; done)   # 55 x 18 = 990 bytes of TXT
is "$(reg "REGISTER $label63 $label63 fd00:1234:5678:9abc:def0:1234:5678:9abc 65535 ttl=2147483 proto=udp priority=65535 weight=65535$many")" "OK ttl=86400" "the longest valid REGISTER fits the default line limit"
like "$(reg "REGISTER txt-full t3 10.0.0.1 80 txt=$txt255 txt=$txt255 txt=$txt255 txt=$txt255 txt=x")" "^ERR 400 txt: " "over 1,024 bytes of TXT: ERR 400 (the TXT limit), not 413"
pad=$(printf 'x%.0s' $(seq 1 60))
for i in $(seq 1 1200); do echo "REGISTER many-udp i$i 10.7.$((i / 250)).$((i % 250)) 80 txt=pad=$pad"; done | reg_tcp >"$WORK/many.out"
is "$(grep -c '^OK ttl=30' "$WORK/many.out")" "1200" "1200 pipelined REGISTERs from loopback all accepted"
like "$(printf 'LIST many-udp\n' | reg_udp)" "^ERR 413 LIST reply does not fit in a UDP datagram" "413 LIST too large for UDP"
is "$(printf 'LIST many-udp\n' | reg_tcp | tail -1)" "OK 1200" "the same LIST over TCP"
check "server log names refused requests with their source" grep -q "register: 127.0.0.1: ERR 409" "$SERVER_LOG"

# Everything valid from before is still there.
is "$(qs db.svc.internal A)" "10.0.0.5" "static instance intact after bad input"
is "$(qs u2.user-service.svc.internal AAAA)" "fd00::12" "registered instance intact after bad input"
stop_server

# --- 403 allow-from, 429 rate and quota ------------------------------------------------
cat >"$WORK/strict.yml" <<'YML'
allow-from: ["10.0.0.0/8"]
YML
unset PORT REGPORT; start_server --config "$WORK/strict.yml" --zones "$WORK/none" || exit 1
like "$(reg PING)" "^ERR 403 registration not allowed from this source" "403 from a source outside allow-from"
stop_server
cat >"$WORK/rate.yml" <<'YML'
rate-limit: 5
rate-limit-burst: 5
rate-limit-exempt: []
YML
unset PORT REGPORT; start_server --config "$WORK/rate.yml" --zones "$WORK/none" || exit 1
out=$(for i in 1 2 3 4 5 6 7; do echo PING; done | reg_tcp)
is "$(grep -c '^OK' <<<"$out")" "5" "rate limit: the burst of 5 passes"
like "$out" "ERR 429 rate limit exceeded" "429 beyond the per-source rate"
check "the source gets service again once its bucket refills" \
	wait_for 3 bash -c "[ \"\$(printf 'PING\n' | /usr/bin/python3 $TESTS_DIR/tools/reg_send.py tcp 127.0.0.1 $REGPORT)\" = OK ]"
stop_server

cat >"$WORK/quota.yml" <<'YML'
max-instances-per-service: 3
max-instances: 4
YML
unset PORT REGPORT; start_server --config "$WORK/quota.yml" --zones "$WORK/none" || exit 1
out=$(printf 'REGISTER q a 10.0.0.1 1\nREGISTER q b 10.0.0.2 1\nREGISTER q c 10.0.0.3 1\nREGISTER q d 10.0.0.4 1\n' | reg_tcp)
like "$out" "ERR 429 service 'q' has reached max-instances-per-service \\(3\\)" "429 instances per service"
is "$(reg 'REGISTER q a 10.0.0.9 1')" "OK ttl=30" "replacing an instance is not held back by the quota"
out=$(printf 'REGISTER r a 10.0.0.5 1\nREGISTER r b 10.0.0.6 1\n' | reg_tcp)
like "$out" "ERR 429 max-instances \\(4\\) reached" "429 instances in total"
is "$(qs q.svc.internal A | sort | tr '\n' ' ')" "10.0.0.2 10.0.0.3 10.0.0.9 " "quota refusals kept the valid instances"
stop_server

# --- UDP bursts: every datagram answered, to its own sender, in order -------------------
# The listener reads and answers datagrams in batches (recvmmsg/sendmmsg); with --state
# the replies wait for the group commit.  burst.py prints one line per check.
cat >"$WORK/burst.py" <<'PY'
import select, socket, sys, time

port = int(sys.argv[1])
dest = ("127.0.0.1", port)

def collect(socks, deadline):
    """First reply per socket (index -> text) until all came or the deadline passed."""
    got = {}
    while len(got) < len(socks) and time.time() < deadline:
        ready, _, _ = select.select([s for i, s in enumerate(socks) if i not in got], [], [], 0.2)
        for s in ready:
            got[socks.index(s)] = s.recv(70000).decode()
    return got

def new_socket():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    return s

# 100 senders, one datagram each, sent before any reply is read.
socks = [new_socket() for _ in range(100)]
for i, s in enumerate(socks):
    s.sendto(("REGISTER burst b%d 10.9.0.%d 80 ttl=%d\n" % (i, i + 1, 1000 + i)).encode(), dest)
got = collect(socks, time.time() + 5)
right = sum(1 for i in range(100) if got.get(i) == "OK ttl=%d\n" % (1000 + i))
print("senders %d/100" % right)

# One sender, 100 datagrams in a row: the replies come back in the order sent.
s = new_socket()
s.settimeout(5)
for i in range(100):
    s.sendto(("RENEW burst b%d ttl=%d" % (i, 2000 + i)).encode(), dest)
replies = []
try:
    while len(replies) < 100:
        replies.append(s.recv(70000).decode())
except socket.timeout:
    pass
print("in order %s" % (replies == ["OK ttl=%d\n" % (2000 + i) for i in range(100)]))

# Long datagrams (many lines, about 2 KB each), 20 sent at once: each is answered in
# full on its first sending (they fit the socket buffer together; no resend needed).
def long_request(k):
    return "".join("RENEW burst b%d ttl=%d\n" % (i, 3000 + 100 * k + i) for i in range(100))
def long_reply(k):
    return "".join("OK ttl=%d\n" % (3000 + 100 * k + i) for i in range(100))
socks = [new_socket() for _ in range(20)]
for k, s in enumerate(socks):
    s.sendto(long_request(k).encode(), dest)
got = collect(socks, time.time() + 5)
print("long %d/20" % sum(1 for k in range(20) if got.get(k) == long_reply(k)))
PY
for state in no yes; do
	unset PORT REGPORT
	if [ "$state" = yes ]; then
		start_server --zones "$WORK/none" --state "$WORK/burst.state" || exit 1
	else
		start_server --zones "$WORK/none" || exit 1
	fi
	out=$(/usr/bin/python3 "$WORK/burst.py" "$REGPORT")
	is "$(sed -n 1p <<<"$out")" "senders 100/100" "state $state: a burst from 100 senders, each answered with its own reply"
	is "$(sed -n 2p <<<"$out")" "in order True" "state $state: 100 datagrams from one sender answered in order"
	is "$(sed -n 3p <<<"$out")" "long 20/20" "state $state: long datagrams of 100 lines, 20 at once, all answered in full"
	is "$(reg 'LIST burst' | tail -1)" "OK 100" "state $state: the burst registered 100 instances"
	stop_server
done

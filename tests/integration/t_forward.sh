#!/usr/bin/env bash
# t_forward.sh -- forwarding: names outside our zones go upstream when --forward is set
# and the query asks for recursion; answers come back with RA over UDP and TCP; bad
# replies are ignored, a dead or hung upstream fails over within its timeout, TC from
# upstream is retried over TCP, and local names never wait for upstream.
#
# The upstreams all live on 127.0.0.1 and belong to this test: a second svcdns serving
# example.test from a zone file, and tests/tools/fake_upstream.py in its bad modes.
. "$(dirname "$0")/../lib.sh"

PY=/usr/bin/python3
TOOLS=$TESTS_DIR/tools
TIMEOUT_MS=600   # forward-timeout of the server under test
# An answer that took this long waited for a deadline (libevent may fire a timer a few
# ms before dig's clock says it is due); anything much faster did not.
WAITED=$((TIMEOUT_MS * 3 / 4))

# A port below the kernel's ephemeral range (32768-60999) that no socket uses in any
# state (as in t_tcp.sh): free_port looks at listening sockets only, and this test's own
# clients and upstream connections take ephemeral ports, so a port in that range may be
# in use by a connection when the server binds it.
quiet_port() {
	local p
	for _ in $(seq 1 50); do
		p=$((20000 + RANDOM % 12000))
		ss -Htuan "sport = :$p" | grep -q . || { echo "$p"; return 0; }
	done
	return 1
}
PORT=$(quiet_port) REGPORT=$(quiet_port) HTTPPORT=$(quiet_port)

# ---- the upstream: svcdns serving example.test --------------------------------------
UPZ=$WORK/upstream-zones
mkdir -p "$UPZ" "$WORK/zones"
s200=$(printf 'x%.0s' $(seq 1 200))
cat >"$UPZ/example.test.zone" <<ZONE
\$ORIGIN example.test.
\$TTL 300
@    IN SOA ns1 admin 1 3600 600 86400 60
@    IN NS  ns1
ns1  IN A   192.0.2.1
www  IN A   192.0.2.80
big  IN TXT "a$s200" "b$s200" "c$s200" "d$s200"
ZONE
# Its UDP answers stop at 512 bytes whatever the client's EDNS size, so that big's
# ~870-byte TXT always comes back truncated over UDP and whole only over TCP.
cat >"$WORK/upstream.yml" <<YML
max-udp-payload: 512
YML
UP_PORT=$(quiet_port)
UP_REG=$(quiet_port)
"$SVCDNS_BIN" --dns "127.0.0.1:$UP_PORT" --register "127.0.0.1:$UP_REG" --http off \
	--zones "$UPZ" --config "$WORK/upstream.yml" >>"$WORK/upstream.log" 2>&1 &
UP_PID=$!
on_exit '[ -z "$UP_PID" ] || kill -KILL "$UP_PID"'
upstream_answers() { dig @127.0.0.1 -p "$UP_PORT" +time=1 +tries=1 +norec example.test SOA | grep -q 'status: NOERROR'; }
wait_for 10 upstream_answers || { echo "# upstream svcdns did not come up"; cat "$WORK/upstream.log"; exit 1; }
UP=127.0.0.1:$UP_PORT

# ---- fake upstreams -----------------------------------------------------------------
# start_fake MODE: starts fake_upstream.py on a fresh port, waits until it listens, and
# sets FAKE (its address) and FAKE_LOG.
start_fake() {
	local port
	port=$(quiet_port)
	FAKE_LOG=$WORK/fake-$1.log
	"$PY" "$TOOLS/fake_upstream.py" "$1" "$port" "$FAKE_LOG" 2>>"$WORK/fake-errors.log" &
	on_exit "kill -KILL $!; wait $!"
	FAKE=127.0.0.1:$port
	wait_for 10 grep -q '^ready$' "$FAKE_LOG" || { echo "# fake upstream $1 did not start"; exit 1; }
}

# The server under test: no zones but the service domain, one static instance to show
# that local names answer, and a short forward timeout.
cat >"$WORK/svcdns.yml" <<YML
forward-timeout: $TIMEOUT_MS
services:
  - { service: web, instance: web-1, address: 10.0.0.7 }
YML
serve() { start_server --config "$WORK/svcdns.yml" --zones "$WORK/zones" "$@" || exit 1; }

# timed COMMAND...: runs a dig, leaving its output in OUT and the time from its query
# to the answer in ELAPSED (ms, dig's "Query time": without the start-up of dig itself,
# which grows a lot when many run at once on a small machine).
timed() {
	OUT=$("$@" 2>&1)
	ELAPSED=$(sed -n 's/^;; Query time: \([0-9]*\) msec$/\1/p' <<<"$OUT")
	ELAPSED=${ELAPSED:-999999}
}
# fq ARGS...: a query that asks for recursion, with time enough for two timeouts.
fq() { q +rec +time=5 "$@"; }
answer_of() { sed -n 's/^[^;].*[[:space:]]IN[[:space:]]A[[:space:]]\+\([0-9.]*\)$/\1/p' <<<"$1"; }
flags_of() { sed -n 's/^;; flags: \([a-z ]*\);.*/\1/p' <<<"$1"; }
status_of() { sed -n 's/.*status: \([A-Z]*\).*/\1/p' <<<"$1" | head -1; }
# metric NAME: a counter of the server under test, from its HTTP API.
metric() { curl -s --max-time 2 "http://127.0.0.1:$HTTPPORT/metrics" | sed -n "s/^$1 //p"; }

# ---- without forwarders: REFUSED ----------------------------------------------------
serve
out=$(fq www.example.test A)
is "$(status_of "$out")" "REFUSED" "no --forward: an outside name is REFUSED even with RD"
is "$(flags_of "$out")" "qr rd" "no --forward: no RA"
stop_server

# ---- forwarding to a working upstream -----------------------------------------------
serve --forward "$UP"
out=$(fq www.example.test A)
is "$(status_of "$out")" "NOERROR" "udp: forwarded answer is NOERROR"
is "$(flags_of "$out")" "qr rd ra" "udp: RA set, AA cleared (we are not the authority)"
is "$(answer_of "$out")" "192.0.2.80" "udp: upstream's A record"
out=$(fq +tcp www.example.test A)
is "$(status_of "$out")" "NOERROR" "tcp: forwarded answer is NOERROR"
is "$(flags_of "$out")" "qr rd ra" "tcp: RA set"
is "$(answer_of "$out")" "192.0.2.80" "tcp: upstream's A record"
out=$(fq WwW.ExAmPlE.tEsT A)
like "$out" $'QUESTION SECTION:\n;WwW.ExAmPlE.tEsT.' "the question comes back as the client wrote it"
out=$(fq nosuch.example.test A)
is "$(status_of "$out")" "NXDOMAIN" "NXDOMAIN from upstream passes through"
like "$out" "example.test.[[:space:]]+60[[:space:]]+IN[[:space:]]+SOA" "... with upstream's SOA"
is "$(flags_of "$out")" "qr rd ra" "NXDOMAIN: RA set"
out=$(q +norec www.example.test A)
is "$(status_of "$out")" "REFUSED" "RD=0: still REFUSED with forwarders"
is "$(flags_of "$out")" "qr ra" "RD=0: RA set all the same (we recurse for clients that ask)"
is "$(qs +rec web.svc.internal A)" "10.0.0.7" "local names are answered locally"
like "$(flags_of "$(fq web.svc.internal A)")" "^qr aa rd ra$" "local answers keep AA and carry RA with forwarders"

# TC from upstream: over UDP the upstream never sends more than 512 bytes, so a whole
# ~870-byte TXT can only have come over the TCP retry.  dig +ignore does not retry TC
# itself: what it prints is exactly what our UDP reply held.
out=$(fq +ignore +bufsize=1232 big.example.test TXT)
is "$(flags_of "$out")" "qr rd ra" "upstream TC retried over TCP: the client gets no TC"
like "$out" "ANSWER: 1," "... and the whole answer"
like "$out" "big.example.test.[[:space:]]+300[[:space:]]+IN[[:space:]]+TXT[[:space:]]+\"axxx.*\"dxxx" "... all four strings of the TXT"
like "$out" "MSG SIZE  rcvd: (8[0-9][0-9]|9[0-9][0-9])$" "... in one UDP reply larger than 512 bytes"
# The same answer is too big for a client without EDNS: TC, header and question only.
out=$(fq +ignore +noedns big.example.test TXT)
is "$(flags_of "$out")" "qr tc rd ra" "answer larger than 512 for a client without EDNS: TC"
like "$out" "ANSWER: 0, AUTHORITY: 0, ADDITIONAL: 0" "... with no records"
# ... and that client's own retry over TCP, which goes to upstream over TCP again.
out=$(fq +noedns big.example.test TXT)
like "$out" "ANSWER: 1," "the client's TCP retry gets the whole TXT"
like "$out" "\\(TCP\\)" "... over TCP"

# Pipelined TCP: every query answered on the one connection, local and forwarded.
out=$("$PY" "$TOOLS/tcp_pipeline.py" "$PORT" www.example.test nosuch.example.test web.svc.internal)
like "$out" "www.example.test NOERROR qr rd ra" "pipelined tcp: forwarded answer"
like "$out" "nosuch.example.test NXDOMAIN qr rd ra" "pipelined tcp: forwarded NXDOMAIN"
like "$out" "web.svc.internal NOERROR qr aa rd" "pipelined tcp: local answer"
# A client that shuts down its sending side still gets the forwarded answer.
out=$("$PY" "$TOOLS/tcp_pipeline.py" "$PORT" --half-close web.svc.internal www.example.test)
like "$out" "www.example.test NOERROR qr rd ra" "tcp half-close: the forwarded answer still comes"
stop_server

# ---- a dead upstream (ICMP port unreachable) fails over at once ---------------------
DEAD=127.0.0.1:$(quiet_port)
serve --forward "$DEAD" --forward "$UP"
timed fq www.example.test A
is "$(answer_of "$OUT")" "192.0.2.80" "dead first upstream: the second answers"
check "dead first upstream: failover without waiting for the timeout (${ELAPSED} ms < $TIMEOUT_MS)" \
	test "$ELAPSED" -lt "$TIMEOUT_MS"
stop_server

# ---- a hung upstream fails over after its timeout -----------------------------------
start_fake silent
SILENT=$FAKE SILENT_LOG=$FAKE_LOG
serve --forward "$SILENT" --forward "$UP"
timed fq www.example.test A
is "$(answer_of "$OUT")" "192.0.2.80" "silent first upstream: the second answers"
check "silent first upstream: it was asked first" grep -q '^udp query www.example.test.$' "$SILENT_LOG"
check "silent first upstream: failover after the timeout ($WAITED <= ${ELAPSED} ms < $((2 * TIMEOUT_MS)))" \
	test "$ELAPSED" -ge "$WAITED" -a "$ELAPSED" -lt $((2 * TIMEOUT_MS))
stop_server

# ---- garbage from upstream is ignored, and does not stretch the timeout -------------
# The fake keeps sending a bad reply every 150 ms for 3 s: a deadline that restarted
# on every datagram would never expire while it does.
start_fake garbage
serve --forward "$FAKE" --forward "$UP"
timed fq www.example.test A
is "$(answer_of "$OUT")" "192.0.2.80" "garbage from the first upstream refused; the second answers"
check "garbage was sent" grep -q '^sent garbage$' "$FAKE_LOG"
check "garbage ends nothing early and stretches nothing ($WAITED <= ${ELAPSED} ms < $((2 * TIMEOUT_MS)))" \
	test "$ELAPSED" -ge "$WAITED" -a "$ELAPSED" -lt $((2 * TIMEOUT_MS))
is "$(metric svcdns_forwarded_queries_total)" "1" "metrics: one query forwarded"
failures=$(metric svcdns_forward_failures_total)
check "metrics: six junk replies and the timeout counted as failures (got $failures >= 7)" \
	test "${failures:-0}" -ge 7
is "$(metric 'svcdns_dns_responses_total{rcode="REFUSED"}')" "0" \
	"metrics: the REFUSED the forwarded query got locally is not counted as sent"
stop_server

# ---- a wrong ID first, then the right reply: the right one is taken -----------------
start_fake wrongid
serve --forward "$FAKE" --forward "$UP"
timed fq www.example.test A
is "$(answer_of "$OUT")" "192.0.2.77" "wrong ID ignored, the matching reply that follows is taken"
check "... without waiting for the timeout (${ELAPSED} ms < $TIMEOUT_MS)" test "$ELAPSED" -lt "$TIMEOUT_MS"
like "$OUT" $'QUESTION SECTION:\n;www.example.test.' "... with the client's question, not upstream's upper case"
stop_server

# ---- the right reply from the wrong source port is never taken ----------------------
start_fake othersource
serve --forward "$FAKE" --forward "$UP"
timed fq www.example.test A
check "the other-port reply was sent" grep -q '^sent from another port$' "$FAKE_LOG"
is "$(answer_of "$OUT")" "192.0.2.80" "a reply from another source port is ignored; the second upstream answers"
stop_server

# ---- TC from upstream: the same upstream again over TCP -----------------------------
start_fake truncate
serve --forward "$FAKE"
timed fq www.example.test A
is "$(answer_of "$OUT")" "192.0.2.88" "TC over UDP: the answer from the upstream's TCP side"
is "$(flags_of "$OUT")" "qr rd ra" "... sent to the UDP client without TC"
check "upstream saw the UDP query, then the TCP retry" \
	grep -qzP 'udp query www.example.test.\n(.*\n)*tcp query www.example.test.\n' "$FAKE_LOG"
stop_server

# ---- every upstream down: SERVFAIL with RA ------------------------------------------
serve --forward "$SILENT" --forward "$DEAD"
timed fq www.example.test A
is "$(status_of "$OUT")" "SERVFAIL" "no upstream answers: SERVFAIL"
is "$(flags_of "$OUT")" "qr rd ra" "SERVFAIL carries RA"
like "$OUT" "EDE: 22 \(No Reachable Authority\)" "SERVFAIL carries Extended DNS Error 22 (RFC 8914)"
check "SERVFAIL after the silent upstream's timeout ($WAITED <= ${ELAPSED} ms < $((2 * TIMEOUT_MS)))" \
	test "$ELAPSED" -ge "$WAITED" -a "$ELAPSED" -lt $((2 * TIMEOUT_MS))
is "$(metric svcdns_forward_servfail_total)" "1" "metrics: one forwarded query ended in SERVFAIL"
is "$(metric 'svcdns_dns_responses_total{rcode="SERVFAIL"}')" "1" "metrics: ... and was sent as SERVFAIL"
stop_server

# ---- local names never wait for a hung upstream -------------------------------------
serve --forward "$SILENT"
pids=()
for i in $(seq 1 20); do
	fq "hang$i.example.test" A >"$WORK/hang$i.out" 2>&1 &
	pids+=($!)
done
hung_seen() { [ "$(grep -c '^udp query hang' "$SILENT_LOG")" -ge 20 ]; }
check "20 queries wait on the hung upstream" wait_for 5 hung_seen
timed q +rec web.svc.internal A
is "$(answer_of "$OUT")" "10.0.0.7" "a local name answers while they wait"
check "... at once (${ELAPSED} ms < $((TIMEOUT_MS / 2)))" test "$ELAPSED" -lt $((TIMEOUT_MS / 2))
timed q +tcp +rec web.svc.internal A
is "$(answer_of "$OUT")" "10.0.0.7" "... over TCP too (${ELAPSED} ms)"
wait "${pids[@]}"
is "$(cat "$WORK"/hang*.out | grep -c 'status: SERVFAIL')" "20" "the 20 waiting queries end in SERVFAIL"
for f in "$WORK"/hang*.out; do   # a miss names itself, for the next time it happens
	grep -q 'status: SERVFAIL' "$f" || { echo "# $(basename "$f") has no SERVFAIL:"; sed 's/^/#   /' "$f"; }
done
# On one TCP connection, a local answer overtakes the forwarded one (RFC 7766).
out=$("$PY" "$TOOLS/tcp_pipeline.py" "$PORT" hang-tcp.example.test web.svc.internal)
is "$out" $'web.svc.internal NOERROR qr aa rd ra\nhang-tcp.example.test SERVFAIL qr rd ra' \
	"pipelined tcp: the local answer comes first, the forwarded SERVFAIL later"
# A client that resets its connection with forwards pending: they are cancelled, so
# nothing is written to the freed connection when their timeouts pass (ASan would see).
"$PY" "$TOOLS/tcp_pipeline.py" "$PORT" --reset gone1.example.test gone2.example.test
check "the reset connection's queries reached upstream" \
	wait_for 5 grep -q '^udp query gone2.example.test.$' "$SILENT_LOG"
is "$(status_of "$(fq after-reset.example.test A)")" "SERVFAIL" \
	"a later query's timeout passes (and with it theirs)"
is "$(qs +rec web.svc.internal A)" "10.0.0.7" "still serving after the reset connection's timeouts"
stop_server

# ---- forwards pending at shutdown ---------------------------------------------------
# A timeout far longer than the test keeps them pending; the server must drop them
# without a crash or a leak (stop_server checks the exit status and sanitizers).
sed -i "s/^forward-timeout: .*/forward-timeout: 20000/" "$WORK/svcdns.yml"
serve --forward "$SILENT"
fq +time=30 pending-udp.example.test A >/dev/null 2>&1 &
pending_udp=$!
on_exit "kill $pending_udp; wait $pending_udp"
"$PY" "$TOOLS/tcp_pipeline.py" "$PORT" pending-tcp.example.test >/dev/null 2>&1 &
pending_tcp=$!
on_exit "kill $pending_tcp; wait $pending_tcp"
check "a UDP query is pending" wait_for 5 grep -q '^udp query pending-udp.example.test.$' "$SILENT_LOG"
check "a TCP query is pending" wait_for 5 grep -q '^udp query pending-tcp.example.test.$' "$SILENT_LOG"
stop_server
kill "$pending_udp" "$pending_tcp" 2>/dev/null
wait "$pending_udp" "$pending_tcp" 2>/dev/null

# ---- the upstream svcdns shuts down cleanly too -------------------------------------
kill -TERM "$UP_PID"
wait "$UP_PID"
is "$?" "0" "upstream svcdns exited cleanly"
UP_PID=""
if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$WORK/upstream.log"; then
	ok 1 "upstream svcdns: no sanitizer reports"
fi

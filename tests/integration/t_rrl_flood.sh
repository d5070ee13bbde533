#!/usr/bin/env bash
# t_rrl_flood.sh -- response rate limiting under a spoofed flood from more client
# addresses than the RRL table holds (100000 entries, server/dns_guard.c).
# alone-test: it measures CPU time per packet, which other tests running beside it would skew
#
# tests/tools/udpflood sends one A query from each of 210,000 distinct spoofed sources in
# 127.1.0.0-127.4.52.255 (every 127.x.y.z is local) through a raw socket; with
# rrl-ipv4-prefix: 32 each source is its own RRL entry. rrl-rate: 1 keeps an entry live
# (not yet refilled) for 1 s: a table that dropped only refilled entries would have to
# search in vain for room at every new source. After 50,000 sources measured below the
# limit (whose entries are then left to refill), 160,000 more run at FLOOD_PPS (200,000/s,
# about two thirds of what the server reads below the limit here) without a pause, so that
# the last 50,000 arrive while the table is full of live entries: the state a real spoofed
# flood keeps the table in. The checks:
#  (a) a well-behaved client on its own address (127.0.0.2, one query every 1.25 s: within
#      rrl-rate 1) gets full UDP answers during and after the flood;
#  (b) VmRSS grows by less than RSS_BOUND_MIB over the baseline after 210k sources;
#  (c) server CPU (utime+stime, /proc/PID/stat) per processed packet while 50,000 new
#      sources arrive past the table's limit is within RATIO_MAX of the cost for 50,000
#      new sources below it (same run; packets counted by dns_queries_total).
# The server is single-threaded; all traffic stays on loopback. Needs root (raw socket).
. "$(dirname "$0")/../lib.sh"

PY=/usr/bin/python3
FLOOD=$SVCDNS_TOOLS/udpflood
PPS=${FLOOD_PPS:-200000}
RSS_BOUND_MIB=32
RATIO_MAX=3
GOOD=127.0.0.2

case "${SVCDNS_FLAVOUR:-release}" in
release) ;;
*)	# CPU per packet and a 200,000/s flood mean nothing under ASan or valgrind.
	echo "ok 1 - # SKIP a timing test: release build only (flavour ${SVCDNS_FLAVOUR})"; exit 0 ;;
esac
if [ "$(id -u)" -ne 0 ]; then
	echo "ok 1 - # SKIP needs root for a raw socket (spoofed sources)"; exit 0
fi
[ -x "$FLOOD" ] || { ok 1 "udpflood built ($FLOOD)"; exit 1; }
mkdir -p "$WORK/zones"
cat >"$WORK/svcdns.yml" <<'YML'
rrl-rate: 1
rrl-slip: 2
rrl-ipv4-prefix: 32
services:
  - { service: user-service, instance: user-1, address: 10.0.0.11, port: 8080 }
YML
start_server --config "$WORK/svcdns.yml" --zones "$WORK/zones" || exit 1

processed() {  # UDP queries the server has read so far
	curl -s -m 5 "http://127.0.0.1:$HTTPPORT/metrics" |
		awk '/^svcdns_dns_queries_total\{transport="udp"/ { s += $2 } END { print s + 0 }'
}
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$SERVER_PID/stat"; }  # utime+stime
cpu_ns() { awk '{ print $1 }' "/proc/$SERVER_PID/schedstat"; }
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$SERVER_PID/status"; }
TICK_NS=$((1000000000 / $(getconf CLK_TCK)))

# settle: waits until /metrics stops moving (0.5 s without change, at most 30 s).
settle() {
	local last=-1 now deadline=$(( $(date +%s) + 30 ))
	while now=$(processed); [ "$now" != "$last" ] && [ "$(date +%s)" -lt "$deadline" ]; do
		last=$now; sleep 0.5
	done
}

# The well-behaved client: one query every 1.25 s from $GOOD, 1 s to answer; one line per
# query "EPOCH-SECONDS full|tc|other|lost" until $WORK/stop-good exists.
"$PY" - "$PORT" "$GOOD" "$WORK/stop-good" >"$WORK/good.log" <<'PYEOF' &
import os, socket, struct, sys, time
port, src, stop = int(sys.argv[1]), sys.argv[2], sys.argv[3]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((src, 0))
qn = b"\x0cuser-service\x03svc\x08internal\x00\x00\x01\x00\x01"
i = 0
while not os.path.exists(stop):
    i += 1
    t = time.time()
    s.sendto(struct.pack("!HHHHHH", i, 0, 1, 0, 0, 0) + qn, ("127.0.0.1", port))
    verdict = "lost"
    end = t + 1.0
    while time.time() < end:
        s.settimeout(max(0.01, end - time.time()))
        try:
            data = s.recv(2048)
        except socket.timeout:
            break
        qid, flags, qd, an = struct.unpack("!HHHH", data[:8])
        if qid != i:
            continue
        if flags & 0x0200:
            verdict = "tc"
        elif an >= 1 and data.find(bytes([10, 0, 0, 11])) > 0:
            verdict = "full"
        else:
            verdict = "other"
        break
    print("%.3f %s" % (t, verdict), flush=True)
    time.sleep(max(0, t + 1.25 - time.time()))
PYEOF
GOOD_PID=$!
on_exit "kill -KILL $GOOD_PID; wait $GOOD_PID"
check "the well-behaved client is answered before the flood" wait_for 5 grep -q ' full$' "$WORK/good.log"
is "$(readlink "/proc/$SERVER_PID/exe")" "$(readlink -f "$SVCDNS_BIN")" "measuring svcdns itself (PID $SERVER_PID)"

rss0=$(rss_kib)
# Packets the server read in a phase = sent - dropped by its socket (/proc/net/udp "drops"
# of 127.0.0.1:PORT), once its receive queue is empty. Read from the kernel, not from the
# server: /metrics is served by the same thread the flood keeps busy.
PORTHEX=$(printf '%04X' "$PORT")
sock_stat() {  # "RX-QUEUE-BYTES DROPS"
	local rxq drops
	read -r rxq drops < <(awk -v a="0100007F:$PORTHEX" '$2 == a { split($5, q, ":"); print q[2], $NF }' /proc/net/udp)
	echo "$((16#$rxq)) $drops"
}
drained() { [ "$(sock_stat | cut -d' ' -f1)" = 0 ]; }
snap() { echo "$(cpu_ticks) $(cpu_ns) $(sock_stat | cut -d' ' -f2)"; }
flood() { "$FLOOD" "$PORT" "$1" "$2" "$PPS" user-service.svc.internal | sed 's/^/# udpflood: /'; }
m_start=$(processed)
flood_start=$(date +%s.%N)
# Below the limit: 50,000 new sources, the table grows from 0 to 50,000.
read -r t0 n0 d0 < <(snap)
flood 0 50000
wait_for 30 drained
read -r t1 n1 d1 < <(snap)
# Their entries refill (and become sweepable) 1 s after their query: wait that out, so the
# fill below meets a table that holds only live entries once it is full.
sleep 1.2
# Past the limit: 110,000 more sources without a pause (0.55 s at 200,000/s, all live when
# the table fills), then at once 50,000 new sources measured against a full table.
fill_start=$(date +%s.%N)
flood 50000 110000
read -r t2 n2 d2 < <(snap)
b_start=$(date +%s.%N)
flood 160000 50000
wait_for 60 drained
read -r t3 n3 d3 < <(snap)
flood_end=$(date +%s.%N)
settle
m_total=$(( $(processed) - m_start ))
a_read=$((50000 - (d1 - d0))) a_ticks=$((t1 - t0)) a_ns=$((n1 - n0))
f_read=$((110000 - (d2 - d1)))
b_read=$((50000 - (d3 - d2))) b_ticks=$((t3 - t2)) b_ns=$((n3 - n2))
echo "# the server read $m_total queries in all (dns_queries_total); socket drops say $((a_read + f_read + b_read)) flood packets"
echo "# the last phase began $(awk -v s="$fill_start" -v b="$b_start" 'BEGIN { printf "%.2f", b - s }') s after the fill's first source (entries live 1 s)"
rss1=$(rss_kib)

per() { echo $(( $1 / ($2 > 0 ? $2 : 1) )); }   # ns per packet
a_per=$(per $((a_ticks * TICK_NS)) "$a_read") b_per=$(per $((b_ticks * TICK_NS)) "$b_read")
echo "# below the limit: $a_read packets read, utime+stime $a_ticks ticks = $a_per ns/packet (schedstat $(per "$a_ns" "$a_read") ns/packet)"
echo "# filling:         $f_read packets read"
echo "# past the limit:  $b_read packets read, utime+stime $b_ticks ticks = $b_per ns/packet (schedstat $(per "$b_ns" "$b_read") ns/packet)"
echo "# VmRSS: $rss0 KiB before, $rss1 KiB after $((a_read + f_read + b_read)) sources (+$(( (rss1 - rss0) / 1024 )) MiB)"
check "the server read most of the flood below the limit ($a_read of 50000), so the phases mean what they say" test "$a_read" -ge 40000
check "the table reached its limit: $((a_read + f_read)) sources read before the last phase (>= 100000)" test $((a_read + f_read)) -ge 100000
check "(b) VmRSS grew by less than $RSS_BOUND_MIB MiB over the baseline ($(( (rss1 - rss0) / 1024 )) MiB)" \
	test $((rss1 - rss0)) -lt $((RSS_BOUND_MIB * 1024))
ratio=$(awk -v a="$a_per" -v b="$b_per" 'BEGIN { printf "%.2f", (a > 0 ? b / a : 999) }')
echo "# cost ratio past/below the limit: $ratio (schedstat: $(awk -v a="$a_ns" -v ar="$a_read" -v b="$b_ns" -v br="$b_read" 'BEGIN { printf "%.2f", (b / (br ? br : 1)) / (a / (ar ? ar : 1)) }'))"
check "(c) CPU per packet past the table's limit within ${RATIO_MAX}x of below it (ratio $ratio)" \
	awk -v r="$ratio" -v m="$RATIO_MAX" 'BEGIN { exit !(r <= m) }'

# (a) The well-behaved client: every query it sent during the flood got a full answer,
# and so do the next two after it.
after_lines() { awk -v t="$flood_end" '$1 > t' "$WORK/good.log" | wc -l; }
wait_for 10 test "$(after_lines)" -ge 2
touch "$WORK/stop-good"
during=$(awk -v s="$flood_start" -v e="$flood_end" '$1 >= s && $1 <= e' "$WORK/good.log")
after=$(awk -v t="$flood_end" '$1 > t' "$WORK/good.log" | head -2)
echo "# well-behaved client during the flood: $(awk '{ print $2 }' <<<"$during" | sort | uniq -c | paste -sd' ' -)"
check "(a) the well-behaved client asked during the flood" test -n "$during"
is "$(awk '$2 != "full"' <<<"$during" | wc -l)" 0 "(a) the well-behaved client got full answers to every query during the flood"
is "$(awk '{ print $2 }' <<<"$after" | paste -sd' ' -)" "full full" "(a) the well-behaved client gets full answers after the flood"

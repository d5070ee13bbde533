#!/usr/bin/env bash
# t_malformed.sh -- broken packets.  After a few thousand of them over UDP and TCP
# the server is alive, answers correctly, has not grown, and for hand-made ones
# answers exactly as RFC 1035/6891 ask: FORMERR when the header is readable,
# NOTIMP for opcodes it does not do, nothing at all for responses and fragments.
. "$(dirname "$0")/../lib.sh"

PROBE=$SVCDNS_TOOLS/dnsprobe
SEED=20261129          # a failure names its seed; rerun dnsprobe garbage with it to replay
mkdir -p "$WORK/zones"

cat >"$WORK/svcdns.yml" <<'EOF'
services:
  - service: web
    instance: alpha
    address: 10.1.2.3
    port: 8080
    proto: tcp
    txt: ["path=/"]
  - service: web
    instance: beta
    address: "2001:db8::5"
    port: 8081
    proto: udp
EOF
start_server --config "$WORK/svcdns.yml" --zones "$WORK/zones" || exit 1

probe() { "$PROBE" "$1" --server 127.0.0.1 --port "$PORT" "${@:2}"; }
rss_kb() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB$/\1/p' "/proc/$SERVER_PID/status"; }

# A short run first, so buffers the server allocates once on first use count
# before the baseline rather than as growth.
probe garbage --seed 1 --count 500 --name alpha.web.svc.internal >/dev/null
rss_before=$(rss_kb)

out=$(probe garbage --seed "$SEED" --count 4000 --name alpha.web.svc.internal); rc=$?
is "$rc" "0" "4000 broken UDP packets, 240 broken TCP connections: every checkpoint query answered"
echo "# $out"
rss_after=$(rss_kb)
check "the server process is alive after the garbage" kill -0 "$SERVER_PID"

# ASan keeps freed memory in quarantine (up to 256 MB) instead of reusing it, so
# every TCP connection's buffers add to RSS there; its leak check at exit (see
# stop_server) covers that flavour.  The plain build must stay flat.
rss_limit=4096
[ "${SVCDNS_FLAVOUR:-release}" == "asan" ] && rss_limit=16384
growth=$(( ${rss_after:-999999} - ${rss_before:-0} ))
echo "# VmRSS ${rss_before} kB before, ${rss_after} kB after: grew ${growth} kB (limit ${rss_limit} kB)"
check "RSS grew by less than $((rss_limit / 1024)) MB over the garbage run" [ "$growth" -lt "$rss_limit" ]

# ---- correct answers after the garbage ----
is "$(qs alpha.web.svc.internal A)" "10.1.2.3" "UDP: the static instance's A record"
is "$(qs beta.web.svc.internal AAAA)" "2001:db8::5" "UDP: the static instance's AAAA record"
is "$(qs alpha.web.svc.internal TXT)" '"path=/"' "UDP: the static instance's TXT record"
is "$(qs _web._tcp.svc.internal SRV)" "0 0 8080 alpha.web.svc.internal." "UDP: the SRV set of _web._tcp"
is "$(qs +tcp alpha.web.svc.internal A)" "10.1.2.3" "TCP: the static instance's A record"
is "$(qs +tcp _web._udp.svc.internal SRV)" "0 0 8081 beta.web.svc.internal." "TCP: the SRV set of _web._udp"

# ---- hand-made packets ----
# Header fields are ID FLAGS QDCOUNT ANCOUNT NSCOUNT ARCOUNT; the question is
# svc.internal SOA IN.
QUESTION="03 737663 08 696e7465726e616c 00 0006 0001"
OPT="00 0029 04d0 00 00 0000 0000"        # EDNS0, 1232-byte UDP payload
send() { probe send --hex "$1"; }

is "$(send "1234 0000 0001 0000 0000 0000 $QUESTION")" "send: rcode NOERROR" \
	"control: the hand-made question itself is answered (NOERROR)"
is "$(send "1234 0000 0002 0000 0000 0000 $QUESTION $QUESTION")" "send: rcode FORMERR" \
	"QDCOUNT=2 gets FORMERR"
is "$(send "1234 0000 0000 0000 0000 0000")" "send: rcode FORMERR" \
	"QDCOUNT=0 gets FORMERR"
is "$(send "1234 0000 0001 0001 0000 0000 $QUESTION")" "send: rcode FORMERR" \
	"ANCOUNT=1 in a query gets FORMERR"
is "$(send "1234 0000 0001 0000 0001 0000 $QUESTION")" "send: rcode FORMERR" \
	"NSCOUNT=1 in a query gets FORMERR"
is "$(send "1234 0000 0001 0000 0000 0000 c00c 0001 0001")" "send: rcode FORMERR" \
	"a question name that points at itself gets FORMERR"
is "$(send "1234 0000 0001 0000 0000 0000 40 $(printf '61%.0s' $(seq 64)) 00 0001 0001")" \
	"send: rcode FORMERR" "a 64-byte label gets FORMERR"
is "$(send "1234 0000 0001 0000 0000 0002 $QUESTION $OPT $OPT")" "send: rcode FORMERR" \
	"two OPT records get FORMERR"
is "$(send "1234 0000 0001 0000 0000 0001 $QUESTION 00 0029 04d0 00")" "send: rcode FORMERR" \
	"a truncated OPT record gets FORMERR"
is "$(send "1234 1800 0001 0000 0000 0000 $QUESTION")" "send: rcode NOTIMP" \
	"opcode 3 (unassigned) gets NOTIMP"
is "$(send "1234 7800 0001 0000 0000 0000 $QUESTION")" "send: rcode NOTIMP" \
	"opcode 15 (unassigned) gets NOTIMP"
is "$(send "1234 8000 0001 0000 0000 0000 $QUESTION")" "send: no answer" \
	"a QR=1 packet (a response) gets no answer"
is "$(send "1234 8400 0001 0001 0000 0000 $QUESTION c00c 0006 0001 00000e10 0000")" "send: no answer" \
	"a QR=1 packet with records gets no answer"
is "$(send "1234000000")" "send: no answer" "a 5-byte packet gets no answer"
is "$(send "")" "send: no answer" "an empty datagram gets no answer"
# The silences above mean something only if the server is still there to answer.
is "$(send "4321 0000 0001 0000 0000 0000 $QUESTION")" "send: rcode NOERROR" \
	"control: the server still answers after the hand-made packets"
check "the server process is alive at the end" kill -0 "$SERVER_PID"

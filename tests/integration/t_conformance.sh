#!/usr/bin/env bash
# t_conformance.sh -- the places where svcdns once differed from both NSD and Knot DNS
# (issue 17), each against the running server: DO copied (RFC 3225), MAILA, MAILB and
# unassigned types answered like any type we hold no data of, addresses of NS, MX and
# SRV targets in the additional section (RFC 1035, RFC 2782), CNAME loops answered
# once, duplicate addresses suppressed (RFC 2181 5), malformed OPT and TSIG refused
# with FORMERR, an unknown TSIG key answered NOTAUTH/BADKEY (RFC 8945), ANY at the NS
# name, OPT on every error answer to an EDNS query (RFC 6891 6.1.1), and Extended DNS
# Errors (RFC 8914).
. "$(dirname "$0")/../lib.sh"

PROBE=$SVCDNS_TOOLS/dnsprobe
mkdir -p "$WORK/zones"

cat >"$WORK/svcdns.yml" <<'EOF'
nameserver:
  name: ns1.svc.internal
  addresses: ["127.0.0.1", "::1"]
services:
  - service: web
    instance: alpha
    address: 10.1.2.3
    port: 8080
EOF
cat >"$WORK/zones/zf.internal.zone" <<'EOF'
$TTL 300
@            SOA   ns1 hostmaster 1 3600 600 86400 60
@            NS    ns1
@            NS    ns2.other.example.
@            MX    10 mail
@            MX    20 mail
ns1          A     192.0.2.1
ns1          AAAA  2001:db8::1
mail         A     192.0.2.25
_http._tcp   SRV   0 0 80 www
www          A     192.0.2.80
www          AAAA  2001:db8::80
cself        CNAME cself
la           CNAME lb
lb           CNAME la
EOF
cat >"$WORK/zones/svc.internal.zone" <<'EOF'
$TTL 60
static-host  A     10.9.0.1
static-host  AAAA  2001:db8:9::1
_ldap._tcp   SRV   0 0 389 static-host
_reg._tcp    SRV   0 0 8080 alpha.web
mx           MX    10 static-host
EOF
start_server --config "$WORK/svcdns.yml" --zones "$WORK/zones" || exit 1

# section NAME OUTPUT: the records of one section of a dig answer, one per line, TTLs dropped.
section() {
	sed -n "/^;; $1 SECTION:/,/^\$/p" <<<"$2" | grep -v '^;;' | grep . |
		awk '{ $2 = ""; print }' | tr -s ' ' | sort
}
count_of() { sed -n "s/.*$1: \([0-9]*\).*/\1/p" <<<"$2" | head -1; }
status_of() { sed -n 's/.*status: \([A-Z]*\).*/\1/p' <<<"$1" | head -1; }
send() { "$PROBE" send --server 127.0.0.1 --port "$PORT" --describe --hex "$1"; }

QUESTION="03 737663 08 696e7465726e616c 00 0006 0001"   # svc.internal SOA IN
OPT="00 0029 04d0 00 00 0000 0000"                       # EDNS0, 1232 bytes
OPT_DO="00 0029 04d0 00 00 8000 0000"                    # ... with DO

# ---- 1. DO is copied into the answer's OPT (RFC 3225 3) ---------------------------------
like "$(q svc.internal SOA +dnssec)" "EDNS: version: 0, flags: do;" "DO set: the answer's OPT has DO (service domain)"
like "$(q zf.internal SOA +dnssec)" "EDNS: version: 0, flags: do;" "DO set: the answer's OPT has DO (static zone)"
like "$(q nope.svc.internal A +dnssec)" "flags: do;" "DO set: an NXDOMAIN's OPT has DO"
like "$(q svc.internal SOA)" "EDNS: version: 0, flags:;" "DO clear: the answer's OPT has no DO"
like "$(send "1234 0000 0000 0000 0000 0001 $OPT_DO")" "do=1" "DO is copied into a FORMERR too"

# ---- 2. MAILA, MAILB and unassigned types: no data, not FORMERR ------------------------
out=$(q x.svc.internal MAILA)
is "$(status_of "$out")" "NXDOMAIN" "MAILA at a name that does not exist: NXDOMAIN"
like "$(section AUTHORITY "$out")" "^svc.internal. IN SOA" "... with the SOA"
out=$(q alpha.web.svc.internal MAILB)
is "$(status_of "$out")" "NOERROR" "MAILB at an instance: NOERROR"
is "$(count_of ANSWER "$out")" "0" "... with no records"
like "$(section AUTHORITY "$out")" "^svc.internal. IN SOA" "... and the SOA (NODATA)"
for t in TYPE128 TYPE200 TYPE248; do
	out=$(q zf.internal "$t")
	is "$(status_of "$out")/$(count_of ANSWER "$out")" "NOERROR/0" "$t at a static apex: NOERROR, no records"
	like "$(section AUTHORITY "$out")" "^zf.internal. IN SOA" "... and the zone's SOA"
done
is "$(rcode outside.example MAILA)" "REFUSED" "MAILA outside our zones: REFUSED, as any type"
is "$(rcode outside.example TYPE200)" "REFUSED" "an unassigned type outside our zones: REFUSED"
for t in TYPE41 TYPE249 TYPE250; do
	out=$(q svc.internal "$t")
	is "$(status_of "$out")/$(count_of ANSWER "$out")" "NOERROR/0" "$t (OPT, TKEY, TSIG) as a question: no data, as NSD and Knot answer"
done
is "$(rcode outside.example TYPE250)" "REFUSED" "TSIG as a question outside our zones: REFUSED"

# ---- 3. additional section: the addresses of NS, MX and SRV targets -------------------
out=$(q zf.internal NS)
is "$(section ADDITIONAL "$out")" "ns1.zf.internal. IN A 192.0.2.1
ns1.zf.internal. IN AAAA 2001:db8::1" "NS in a static zone: A and AAAA of the in-zone target, none for the other"
out=$(q zf.internal MX)
is "$(section ADDITIONAL "$out")" "mail.zf.internal. IN A 192.0.2.25" \
	"MX in a static zone: the target's A, once for two MX records naming it"
out=$(q _http._tcp.zf.internal SRV)
is "$(section ADDITIONAL "$out")" "www.zf.internal. IN A 192.0.2.80
www.zf.internal. IN AAAA 2001:db8::80" "SRV in a static zone: the target's A and AAAA"
out=$(q _ldap._tcp.svc.internal SRV)
is "$(section ADDITIONAL "$out")" "static-host.svc.internal. IN A 10.9.0.1
static-host.svc.internal. IN AAAA 2001:db8:9::1" "zone-file SRV in the service domain: the static target's A and AAAA"
out=$(q _reg._tcp.svc.internal SRV)
is "$(section ADDITIONAL "$out")" "alpha.web.svc.internal. IN A 10.1.2.3" \
	"zone-file SRV in the service domain naming a registered instance: its address"
out=$(q mx.svc.internal MX)
is "$(section ADDITIONAL "$out")" "static-host.svc.internal. IN A 10.9.0.1
static-host.svc.internal. IN AAAA 2001:db8:9::1" "zone-file MX in the service domain: the target's A and AAAA"
out=$(q svc.internal NS)
is "$(section ADDITIONAL "$out")" "ns1.svc.internal. IN A 127.0.0.1
ns1.svc.internal. IN AAAA ::1" "the service domain's NS: the configured addresses"

# ---- 4. CNAME loops: each CNAME once --------------------------------------------------
out=$(q cself.zf.internal A)
is "$(section ANSWER "$out")" "cself.zf.internal. IN CNAME cself.zf.internal." "a one-step loop: the one CNAME"
out=$(q la.zf.internal A)
is "$(section ANSWER "$out")" "la.zf.internal. IN CNAME lb.zf.internal.
lb.zf.internal. IN CNAME la.zf.internal." "a two-step loop: each CNAME once"

# ---- 5. duplicate addresses in one RRset (RFC 2181 5) --------------------------------
is "$(printf 'REGISTER dup one 10.7.0.1 80 ttl=60\nREGISTER dup two 10.7.0.1 81 ttl=60\nREGISTER dup three 10.7.0.2 80 ttl=60\n' | reg_tcp | grep -c '^OK')" \
	"3" "three instances registered, two of them on one address"
for i in 1 2 3 4 5; do qs dup.svc.internal A; done | sort | uniq -c | awk '{print $1}' | sort -u >"$WORK/dup.counts"
is "$(qs dup.svc.internal A | sort | tr '\n' ' ')" "10.7.0.1 10.7.0.2 " "A: the shared address once"
is "$(cat "$WORK/dup.counts")" "5" "... in every one of five shuffled answers"
is "$(qs dup.svc.internal SRV | wc -l)" "3" "SRV keeps all three instances: their ports differ"
reg "DEREGISTER dup two" >/dev/null
reg "DEREGISTER dup three" >/dev/null
is "$(qs dup.svc.internal A)" "10.7.0.1" "after the others leave, the address is answered once"
printf 'REGISTER dup two 10.7.0.1 81 ttl=60\n' | reg_tcp >/dev/null
is "$(qs dup.svc.internal A)" "10.7.0.1" "and once again when a second instance returns to it"

# ---- 6. a malformed OPT: FORMERR -----------------------------------------------------
out=$(send "1234 0000 0001 0000 0000 0001 $QUESTION 00 0029 04d0 00 00 0000 0004 000a 0008")
like "$out" "rcode FORMERR" "an OPT option longer than the OPT's RDATA: FORMERR"
like "$out" "opt=no" "... without an OPT (there is none we could read)"
like "$(send "1234 0000 0001 0000 0000 0001 $QUESTION 00 0029 04d0 00 00 0000 0006 000a 0001 aabb")" \
	"rcode FORMERR" "an OPT with bytes left after its last option: FORMERR"
like "$(send "1234 0000 0001 0000 0000 0001 $QUESTION 00 0029 04d0 00 00 0000 000c 000a 0008 0102030405060708")" \
	"rcode NOERROR" "control: a well-formed option (a client cookie) is answered"

# ---- 7. TSIG -----------------------------------------------------------------------------
out=$(q svc.internal SOA -y hmac-sha256:nokey:c2VjcmV0c2VjcmV0c2VjcmV0 2>&1)
is "$(status_of "$out")" "NOTAUTH" "TSIG with an unknown key: NOTAUTH (RFC 8945 5.2.2)"
like "$out" "nokey\.[[:space:]]+0[[:space:]]+ANY[[:space:]]+TSIG[[:space:]]+hmac-sha256\. [0-9]+ 300 0 [0-9]+ BADKEY 0" \
	"... with an unsigned TSIG (MAC size 0) carrying BADKEY"
like "$(kdig @127.0.0.1 -p "$PORT" +notcp svc.internal SOA -y hmac-sha256:nokey:c2VjcmV0c2VjcmV0c2VjcmV0 2>&1)" \
	"status: BADKEY" "kdig: BADKEY, its name for NOTAUTH with a BADKEY TSIG"
is "$(q outside.example A -y hmac-sha256:nokey:c2VjcmV0c2VjcmV0c2VjcmV0 2>&1 | sed -n 's/.*status: \([A-Z]*\).*/\1/p')" \
	"NOTAUTH" "TSIG for a name outside our zones: NOTAUTH too, never forwarded or REFUSED unchecked"
# key., hmac-sha256., time 1600000000, fudge 300, a 32-byte MAC, original ID 1234.
TSIG="03 6b6579 00 00fa 00ff 00000000 003d 0b 686d61632d736861323536 00 0000 5f5e1000 012c 0020 $(printf '00%.0s' $(seq 32)) 1234 0000 0000"
out=$(send "1234 0000 0001 0000 0000 0001 $QUESTION $TSIG")
like "$out" "rcode NOTAUTH" "a raw TSIG query with an unknown key: NOTAUTH"
like "$out" "tsig-error=17 mac-size=0" "... BADKEY in an unsigned TSIG"
like "$(send "1234 0000 0001 0000 0000 0002 $QUESTION $TSIG $OPT")" "rcode FORMERR" \
	"TSIG before the last additional record: FORMERR"
TSIG_SHORT="03 6b6579 00 00fa 00ff 00000000 003b 0b 686d61632d736861323536 00 0000 5f5e1000 012c 0020 $(printf '00%.0s' $(seq 32)) 1234 0000"
like "$(send "1234 0000 0001 0000 0000 0001 $QUESTION $TSIG_SHORT")" "rcode FORMERR" \
	"a TSIG whose RDATA ends before its last field: FORMERR"

# ---- 8. ANY at the NS name --------------------------------------------------------------
out=$(q ns1.svc.internal ANY)
is "$(section ANSWER "$out")" "ns1.svc.internal. IN A 127.0.0.1" \
	"ANY at the NS name: one RRset (RFC 8482), its A record as NSD and Knot answer"

# ---- 9. every error answer to an EDNS query carries OPT (RFC 6891 6.1.1) ----------------
out=$(send "1234 0000 0000 0000 0000 0001 $OPT")
like "$out" "rcode FORMERR" "QDCOUNT 0 with an OPT: FORMERR"
like "$out" "qd=0 an=0 ns=0 ar=1 opt=yes" "... with the header and our OPT"
like "$(send "1234 0000 0002 0000 0000 0001 $QUESTION $QUESTION $OPT")" "ar=1 opt=yes" "QDCOUNT 2 with an OPT: FORMERR with OPT"
like "$(send "1234 0000 0001 0001 0000 0001 $QUESTION 00 0001 0001 00000000 0004 01020304 $OPT")" \
	"rcode FORMERR.*ar=1 opt=yes" "ANCOUNT 1 with an OPT: FORMERR with OPT"
like "$(send "1234 1000 0001 0000 0000 0001 $QUESTION $OPT")" "rcode NOTIMP.*ar=1 opt=yes" \
	"opcode 2 with an OPT: NOTIMP with OPT"
like "$(send "1234 0000 0000 0000 0000 0000")" "rcode FORMERR.*ar=0 opt=no" "QDCOUNT 0 without OPT: FORMERR without OPT"

# ---- Extended DNS Errors (RFC 8914) ------------------------------------------------------
like "$(q outside.example A)" "EDE: 20 \(Not Authoritative\)" "REFUSED outside our zones (no forwarding): EDE 20"
like "$(send "1234 0000 0001 0000 0000 0001 07 6578616d706c65 00 0001 0001 $OPT")" "ede=20" \
	"... the option's code read from the wire"
like "$(send "1234 0000 0001 0000 0000 0000 07 6578616d706c65 00 0001 0001")" "rcode REFUSED.*opt=no" \
	"no EDNS in the query: no OPT and so no EDE"

check "the server is alive after all of it" kill -0 "$SERVER_PID"
stop_server

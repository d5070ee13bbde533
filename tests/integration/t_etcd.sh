#!/usr/bin/env bash
# etcd mode (--store etcd://...): three svcdns nodes share one registry on a real 3-member
# etcd.  Before its first sync a node answers SERVFAIL and refuses writes; a registration
# through one node is answered by all within 1 s under one serial; renewals at the owner
# never reach etcd; RENEW elsewhere takes the instance over; the owner expires it for all;
# a SPLIT through one node shapes every node's answers, and survives a node's restart.
# Then the failures: kill -9 of the etcd leader under 100 requests/s, kill -9 of a node
# (keepalive failover and adoption), quorum loss, and compaction while a node is stopped.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/etcd.sh"

command -v etcd >/dev/null || { ok 1 "etcd is installed (scripts/install-deps test)"; exit 1; }
CTL=$(dirname "$SVCDNS_BIN")/svcdnsctl
trap 'rc=$?; [ "$TEST_FAILED" -ne 0 ] && node_logs; (exit $rc); _cleanup' EXIT

# has N NAME ADDR / lacks N NAME: what node N answers, for wait_for.
has() { [ "$(nqs "$1" "$2" A)" = "$3" ]; }
lacks() { [ "$(nrcode "$1" "$2" A)" = NXDOMAIN ]; }
all_have() { has 1 "$1" "$2" && has 2 "$1" "$2" && has 3 "$1" "$2"; }
all_lack() { lacks 1 "$1" && lacks 2 "$1" && lacks 3 "$1"; }
owner() { etcdctl_ get --print-value-only "/svcdns/svc.internal/i/$1" | sed -n 's/.*"owner":"\([^"]*\)".*/\1/p'; }
owner_is() { [ "$(owner "$1")" = "$2" ]; }
same_serial() { local a; a=$(nserial 1); [ -n "$a" ] && [ "$a" = "$(nserial 2)" ] && [ "$a" = "$(nserial 3)" ]; }
ms_since() { echo $(( $(ms) - $1 )); }
# write_ok N LINE: the write got OK.  Right after an election or a member's death a node's
# first write may get ERR 503 (its connection was to the member that went): poll with it.
write_ok() { [[ $(nreg "$1" "$2") == OK* ]]; }

# --- before the first sync ------------------------------------------------------------------
for i in 1 2 3; do ETCD_CPORT[$i]=$(free_port); ETCD_PPORT[$i]=$(free_port); done
ETCD_ENDPOINTS="127.0.0.1:${ETCD_CPORT[1]},127.0.0.1:${ETCD_CPORT[2]},127.0.0.1:${ETCD_CPORT[3]}"
node_start 1
answers_something() { [ -n "$(nrcode 1 svc.internal SOA)" ]; }
wait_for 10 answers_something
is "$(nrcode 1 w1.web.svc.internal A)" "SERVFAIL" "before its first sync a node answers SERVFAIL, not NXDOMAIN"
like "$(nreg 1 'REGISTER web w1 10.0.0.1 80')" "^ERR 503 store unavailable: " "and refuses writes with ERR 503"
like "$(curl -s "http://127.0.0.1:${NODE_HTTP[1]}/healthz")" "^degraded: store unavailable" "/healthz says degraded"

cluster=""
for i in 1 2 3; do cluster+="${cluster:+,}e$i=http://127.0.0.1:${ETCD_PPORT[$i]}"; done
for i in 1 2 3; do etcd_start_member "$i" "$cluster" new; done
check "a 3-member etcd cluster is healthy" wait_for 20 etcd_healthy
check "node 1 syncs once etcd is there" wait_for 10 node_synced 1
node_start 2; node_start 3
check "nodes 2 and 3 sync" wait_for 10 bash -c "$(declare -f node_synced nq); NODE_DNS=(${NODE_DNS[*]@Q}); NODE_DNS=([1]=${NODE_DNS[1]} [2]=${NODE_DNS[2]} [3]=${NODE_DNS[3]}); node_synced 2 && node_synced 3"
is "$(curl -s "http://127.0.0.1:${NODE_HTTP[1]}/healthz")" "ok" "/healthz ok once synced"

# --- propagation ------------------------------------------------------------------------------
t0=$(ms)
is "$(nreg 1 'REGISTER web w1 10.0.0.1 80 ttl=60 txt=v=1 priority=3')" "OK ttl=60" "REGISTER through node 1: OK once etcd committed it"
is "$(nqs 1 w1.web.svc.internal A)" "10.0.0.1" "node 1 answers it as soon as it said OK"
wait_for 5 all_have w1.web.svc.internal 10.0.0.1
delay=$(ms_since "$t0")
echo "# propagation: registered through node 1, answered by all three nodes after $delay ms"
check "all nodes answer it within 1 s ($delay ms)" test "$delay" -lt 1000
is "$(nqs 3 w1.web.svc.internal TXT)" '"v=1"' "with its TXT on node 3"
check "under one SOA serial on every node" wait_for 3 same_serial
rev=$(etcd_revision)
base=$(etcdctl_ get --print-value-only /svcdns/svc.internal/meta/serial-base)
is "$(nserial 2)" "$(( (base + rev) % 4294967296 ))" "the serial is serial-base + the etcd revision"
is "$(owner web/w1)" "n1" "etcd records node 1 as the owner"
like "$(etcdctl_ get --print-value-only /svcdns/svc.internal/i/web/w1)" '"address":"10.0.0.1","port":80,"proto":"tcp","priority":3' "the instance record is the documented JSON"
is "$(etcdctl_ get --write-out=fields /svcdns/svc.internal/i/web/w1 | sed -n 's/^"Lease" : //p')" "0" "the instance key has no etcd lease"
like "$(nreg 3 'LIST web')" "^web w1 10.0.0.1 80 ttl=60 priority=3 txt=v=1" "LIST through node 3"

# Every field travels: tags= through node 1 answer as TAG.SERVICE on node 3.
is "$(nreg 1 'REGISTER web tg 10.0.0.9 80 ttl=60 tags=canary')" "OK ttl=60" "REGISTER with tags= through node 1"
check "node 3 answers the tag's name" wait_for 2 has 3 canary.web.svc.internal 10.0.0.9

# --- splits ------------------------------------------------------------------------------------
# cs: c1, c2 (v1) and c3 (v2), registered through node 2 with long leases.
weights() { nqs "$1" cs.svc.internal SRV | awk '{ print $2, $4 }' | sort -k2 | paste -sd' ' -; }
W9010="45 c1.cs.svc.internal. 45 c2.cs.svc.internal. 10 c3.cs.svc.internal."
W0="0 c1.cs.svc.internal. 0 c2.cs.svc.internal. 0 c3.cs.svc.internal."   # weight= unset
weights_are() { [ "$(weights "$1")" = "$2" ]; }
all_weights() { weights_are 1 "$1" && weights_are 2 "$1" && weights_are 3 "$1"; }
for i in 1 2 3; do
	nreg 2 "REGISTER cs c$i 10.0.5.$i 80 ttl=300 tags=v$(( i < 3 ? 1 : 2 ))" >/dev/null
done
check "cs: three instances, SRV weights 0/0/0 (unset) on every node" wait_for 3 all_weights "$W0"
curl -sN "http://127.0.0.1:${NODE_HTTP[3]}/v1/watch" >"$WORK/watch3" 2>/dev/null &
WATCH_PID=$!
on_exit "kill $WATCH_PID 2>/dev/null"
watching() { grep -q . "$WORK/watch3"; }
wait_for 3 watching
t0=$(ms)
is "$(nreg 2 'SPLIT cs v1=90 v2=10')" "OK" "SPLIT cs v1=90 v2=10 through node 2: OK once etcd committed it"
is "$(weights 2)" "$W9010" "node 2 answers SRV weights 45/45/10 as soon as it said OK"
wait_for 3 all_weights "$W9010"
delay=$(ms_since "$t0")
echo "# split propagation: set through node 2, every node answered 45/45/10 after $delay ms"
check "nodes 1 and 3 answer 45/45/10 within 1 s ($delay ms)" test "$delay" -lt 1000
is "$(etcdctl_ get --print-value-only /svcdns/svc.internal/s/cs)" '{"shares":{"v1":90,"v2":10}}' "etcd holds the split at <prefix>s/cs, as documented JSON"
is "$(etcdctl_ get --write-out=fields /svcdns/svc.internal/s/cs | sed -n 's/^"Lease" : //p')" "0" "the split's key has no etcd lease"
is "$(curl -s "http://127.0.0.1:${NODE_HTTP[1]}/v1/splits")" '{"splits":[{"service":"cs","shares":{"v1":90,"v2":10},"limit":0,"from":"api"}]}' "/v1/splits on node 1 lists it"
split_event() { grep -q '"event":"split","service":"cs","shares":{"v1":90,"v2":10}' "$WORK/watch3"; }
check "node 3's /v1/watch streams the split event" wait_for 2 split_event
like "$(nreg 3 'LIST cs')" "c3 .* effective-weight=10" "LIST through node 3 shows c3's effective weight 10"
is "$(nreg 1 'SPLIT cs v1=90 v2=20')" "ERR 400 percents sum to 110, not 100" "a bad split is refused as in embedded mode"
t0=$(ms)
is "$(nreg 3 'SPLIT cs')" "OK" "SPLIT cs alone through node 3 clears it"
check "every node answers 0/0/0 again" wait_for 3 all_weights "$W0"
echo "# split clear: every node back to 0/0/0 after $(ms_since "$t0") ms"
is "$(etcdctl_ get /svcdns/svc.internal/s/cs)" "" "and the key is gone from etcd"
clear_event() { grep -q '"event":"split","service":"cs","shares":{},"limit":0' "$WORK/watch3"; }
check "node 3's /v1/watch streams the clear" wait_for 2 clear_event
kill "$WATCH_PID" 2>/dev/null
t0=$(ms)
is "$(nreg 2 'SPLIT cs')" "OK" "clearing a split that is not there: OK"
check "at once, without waiting for a watch event that never comes ($(ms_since "$t0") ms)" test "$(ms_since "$t0")" -lt 1000
is "$(nreg 1 'SPLIT cs v1=90 v2=10 limit=1')" "OK" "SPLIT cs v1=90 v2=10 limit=1 through node 1 (kept for the restart below)"
check "every node answers 45/45/10" wait_for 3 all_weights "$W9010"
is "$(nqs 3 cs.svc.internal A | wc -l)" "1" "and node 3 answers one address (limit=1)"

# Renewals at the owner touch memory only: etcd's revision does not move.
for i in $(seq 1 20); do echo "REGISTER batch b$i 10.0.1.$i 80 ttl=60"; done | /usr/bin/python3 "$TESTS_DIR/tools/reg_send.py" tcp 127.0.0.1 "${NODE_REG[1]}" >"$WORK/batch.out"
is "$(grep -c '^OK ttl=60' "$WORK/batch.out")" "20" "20 registrations through node 1"
rev=$(etcd_revision)
for round in 1 2 3; do
	for i in $(seq 1 20); do echo "RENEW batch b$i"; done | /usr/bin/python3 "$TESTS_DIR/tools/reg_send.py" tcp 127.0.0.1 "${NODE_REG[1]}"
done >"$WORK/renew.out"
is "$(grep -c '^OK ttl=' "$WORK/renew.out")" "60" "3 rounds of renewals of the 20 at their owner"
is "$(etcd_revision)" "$rev" "etcd's revision did not move: renewals never reach etcd"

# RENEW at another node takes the instance over (a client that failed over).
is "$(nreg 2 'RENEW web w1 ttl=60')" "OK ttl=60" "RENEW through node 2"
is "$(owner web/w1)" "n2" "took the instance over: node 2 owns it in etcd"
is "$(nreg 3 'DEREGISTER web w1')" "OK" "DEREGISTER through node 3"
is "$(nrcode 3 w1.web.svc.internal A)" "NXDOMAIN" "gone on node 3 as soon as it said OK"
check "and on every node" wait_for 2 all_lack w1.web.svc.internal
is "$(etcdctl_ get /svcdns/svc.internal/i/web/w1)" "" "and in etcd"

# Expiry is the owner's, seen everywhere.
is "$(nreg 2 'REGISTER web short 10.0.0.2 80 ttl=2')" "OK ttl=2" "a 2 s lease through node 2"
wait_for 2 all_have short.web.svc.internal 10.0.0.2
t0=$(ms)
check "its owner expires it and every node stops answering it" wait_for 6 all_lack short.web.svc.internal
echo "# expiry: gone from every node $(ms_since "$t0") ms after all answered it (lease 2 s)"
check "node 2 logged the expiry" grep -q "expired short.web" "$WORK/node2.log"

# --- losing a node -----------------------------------------------------------------------------
# ka is kept by a keepalive client that lists nodes 1 and 2; o1..o4 have no client after node 1 dies.
"$CTL" --server "127.0.0.1:${NODE_REG[1]},127.0.0.1:${NODE_REG[2]}" register web ka 10.0.2.1 80 --ttl 3 --keepalive >"$WORK/ka.log" 2>&1 &
KA_PID=$!
on_exit "kill -TERM $KA_PID"
for i in 1 2 3 4; do nreg 1 "REGISTER web o$i 10.0.2.$((i + 1)) 80 ttl=6" >/dev/null; done
check "the keepalive registered through node 1" wait_for 5 owner_is web/ka n1
wait_for 3 all_have o4.web.svc.internal 10.0.2.5
kill -KILL "${NODE_PID[1]}"; wait "${NODE_PID[1]}" 2>/dev/null; NODE_PID[1]=""
t0=$(ms)
check "the keepalive's instance is owned by node 2 within 2 s of kill -9 of node 1" wait_for 2 owner_is web/ka n2
echo "# takeover: the keepalive's instance owned by node 2 $(ms_since "$t0") ms after kill -9 of node 1"
adopted() { local o; for i in 1 2 3 4; do o=$(owner "web/o$i"); [ "$o" = n2 ] || [ "$o" = n3 ] || return 1; done; }
check "the orphans are adopted once node 1's membership lapses" wait_for 8 adopted
t_adopt=$(ms_since "$t0")
echo "# adoption: o1..o4 owned by nodes 2/3 $t_adopt ms after the kill (node-lease 3 s): $(for i in 1 2 3 4; do printf '%s ' "$(owner web/o$i)"; done)"
is "$(nqs 2 o1.web.svc.internal A)$(nqs 3 o1.web.svc.internal A)" "10.0.2.210.0.2.2" "and answered all along by the nodes left"
check "the adopters expire them one ttl later (6 s)" wait_for 9 bash -c "$(declare -f lacks nrcode nq); NODE_DNS=([2]=${NODE_DNS[2]} [3]=${NODE_DNS[3]}); for i in 1 2 3 4; do lacks 2 o\$i.web.svc.internal && lacks 3 o\$i.web.svc.internal || exit 1; done"
echo "# orphans gone $(ms_since "$t0") ms after the kill"
is "$(nqs 3 ka.web.svc.internal A)" "10.0.2.1" "the keepalive's instance lives on"
node_start 1
check "node 1 comes back and syncs" wait_for 10 node_synced 1
check "and answers the keepalive's instance" wait_for 2 has 1 ka.web.svc.internal 10.0.2.1
is "$(weights 1)" "$W9010" "the split is back on node 1 after its kill -9 and restart (SRV 45/45/10)"
is "$(nqs 1 cs.svc.internal A | wc -l)" "1" "with its limit=1"

# --- losing the etcd leader under 100 requests/s -----------------------------------------------
leader=$(etcd_leader)
check "found the etcd leader (e$leader)" test -n "$leader"
/usr/bin/python3 "$TESTS_DIR/tools/reg_load.py" 127.0.0.1 "${NODE_REG[2]}" 100 8 l "$WORK/load.ok" >"$WORK/load.out" &
LOAD_PID=$!
sleep 2   # the load runs 8 s; the kill comes in its third second
kill -KILL "${ETCD_PID[$leader]}"
t0=$(ms)
wait "$LOAD_PID"
cat "$WORK/load.out" | sed 's/^/# load: /'
like "$(head -1 "$WORK/load.out")" "^sent 800 answered 800 " "every request got an answer through the leader's death"
oks=$(wc -l <"$WORK/load.ok")
check "most got OK ($oks of 800; writes wait out the election up to store-timeout)" test "$oks" -ge 600
check "registrations succeed after the election" grep -qx "l799" "$WORK/load.ok"
listed() { printf 'LIST load\n' | /usr/bin/python3 "$TESTS_DIR/tools/reg_send.py" tcp 127.0.0.1 "${NODE_REG[$1]}" | sed -n 's/^load \([^ ]*\) .*/\1/p' | sort; }
sort "$WORK/load.ok" >"$WORK/load.sorted"
for n in 1 2 3; do
	missing=$(listed "$n" | comm -23 "$WORK/load.sorted" - | wc -l)
	is "$missing" "0" "every OK of the load is on node $n"
done
etcd_start_member "$leader" "$cluster" existing
check "the killed member rejoins" wait_for 20 etcd_healthy

# --- losing the quorum -----------------------------------------------------------------------------
check "a write through node 2 once the member is back" wait_for 10 write_ok 2 'REGISTER web q1 10.0.3.1 80 ttl=300'
check "answered by every node" wait_for 2 all_have q1.web.svc.internal 10.0.3.1
others=(); for i in 1 2 3; do [ "$i" != "$leader" ] && others+=("$i"); done
kill -STOP "${ETCD_PID[${others[0]}]}" "${ETCD_PID[${others[1]}]}"
t0=$(ms)
reply=$(nreg 3 'REGISTER web q2 10.0.3.2 80 ttl=300')
elapsed=$(ms_since "$t0")
like "$reply" "^ERR 503 store unavailable: " "without quorum a write gets ERR 503"
check "within store-timeout (2 s) plus a margin ($elapsed ms)" test "$elapsed" -lt 3000
echo "# quorum loss: REGISTER answered ERR 503 after $elapsed ms (store-timeout 2 s)"
like "$(nreg 2 'SPLIT cs v1=50 v2=50')" "^ERR 503 store unavailable: " "and so does a SPLIT"
is "$(weights 2)" "$W9010" "which changed nothing"
is "$(nqs 1 q1.web.svc.internal A)$(nqs 3 q1.web.svc.internal A)" "10.0.3.110.0.3.1" "cached answers go on"
renew_503() { [[ $(nreg 1 'RENEW web ka') == "ERR 503 store unavailable: "* ]]; }
check "once the session is lost, RENEW gets ERR 503 too (clients move on)" wait_for 5 renew_503
like "$(curl -s "http://127.0.0.1:${NODE_HTTP[1]}/healthz")" "^degraded: store unavailable: " "/healthz says degraded with the reason"
kill -CONT "${ETCD_PID[${others[0]}]}" "${ETCD_PID[${others[1]}]}"
t0=$(ms)
q3_ok() { [ "$(nreg 3 'REGISTER web q3 10.0.3.3 80 ttl=300')" = "OK ttl=300" ]; }
check "when the quorum is back, writes work again" wait_for 15 q3_ok
echo "# quorum back: writes OK again after $(ms_since "$t0") ms"
check "and node 1 takes renewals again" wait_for 10 bash -c "[ \"\$(printf 'RENEW web q3\n' | /usr/bin/python3 $TESTS_DIR/tools/reg_send.py tcp 127.0.0.1 ${NODE_REG[1]})\" = 'OK ttl=30' ]"

# --- compaction while a node is stopped --------------------------------------------------------------
# Node 3 is restarted on one etcd member only.  While node 3 is stopped that member dies,
# the others change and compact, and the member comes back: node 3's watch then resumes
# from a revision etcd no longer has, and must range again.
node_stop 3
leader=$(etcd_leader)
m=1; [ "$leader" = 1 ] && m=2   # a member that is not the leader: the others keep quorum and leader
NODE_DNS[3]=$(free_port); NODE_REG[3]=$(free_port); NODE_HTTP[3]=$(free_port)
ETCD_URL="etcd://127.0.0.1:${ETCD_CPORT[$m]}" node_start 3
check "node 3 syncs from member e$m alone" wait_for 10 node_synced 3
check "a registration through node 2" wait_for 10 write_ok 2 'REGISTER web c1 10.0.4.1 80 ttl=300'
check "node 3 follows changes" wait_for 2 has 3 c1.web.svc.internal 10.0.4.1
kill -STOP "${NODE_PID[3]}"
kill -KILL "${ETCD_PID[$m]}"; wait "${ETCD_PID[$m]}" 2>/dev/null
c1_gone() { [ -z "$(etcdctl_ get /svcdns/svc.internal/i/web/c1)" ]; }
# A retry after an OK whose reply was lost gets ERR 404: done too, if etcd has no key.
dereg_c1() { local r; r=$(nreg 2 'DEREGISTER web c1'); [ "$r" = OK ] || { [[ $r == "ERR 404"* ]] && c1_gone; }; }
check "a deletion node 3 misses" wait_for 10 dereg_c1
check "gone from etcd" c1_gone
check "and a registration" wait_for 10 write_ok 2 'REGISTER web c2 10.0.4.2 80 ttl=300'
check "a split's clear it misses" wait_for 10 write_ok 2 'SPLIT cs'
check "and a new split" wait_for 10 write_ok 2 'SPLIT web canary=100'
rev=$(etcd_revision)
check "etcd compacts to revision $rev" etcdctl_ compaction --physical "$rev"
etcd_start_member "$m" "$cluster" existing
wait_for 20 etcd_healthy
kill -CONT "${NODE_PID[3]}"
t0=$(ms)
check "after SIGCONT node 3 resyncs: the change it missed is there" wait_for 10 has 3 c2.web.svc.internal 10.0.4.2
echo "# compaction: node 3 caught up $(ms_since "$t0") ms after SIGCONT"
is "$(nrcode 3 c1.web.svc.internal A)" "NXDOMAIN" "and the deletion it missed too"
is "$(weights 3)" "$W0" "and the split's clear"
is "$(curl -s "http://127.0.0.1:${NODE_HTTP[3]}/v1/splits")" '{"splits":[{"service":"web","shares":{"canary":100},"limit":0,"from":"api"}]}' "and the new split"
check "node 3 logged the resync" grep -q "compacted to" "$WORK/node3.log"
listed_all() { printf 'LIST\n' | /usr/bin/python3 "$TESTS_DIR/tools/reg_send.py" tcp 127.0.0.1 "${NODE_REG[$1]}" | cut -d' ' -f1-4 | sort; }
is "$(listed_all 3 | md5sum)" "$(listed_all 2 | md5sum)" "node 3 lists the same instances as node 2"
check "and has the same serial" wait_for 3 same_serial

kill -TERM "$KA_PID"; wait "$KA_PID" 2>/dev/null
for n in 1 2 3; do node_stop "$n"; done

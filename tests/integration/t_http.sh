#!/usr/bin/env bash
# The HTTP API over real sockets: /healthz; /v1/services and /v1/services/NAME as JSON;
# 404 and 405; /metrics families and counters that move with queries, registrations,
# errors and expiry; /v1/watch streaming registered, renewed, deregistered and expired
# in order (chunked for HTTP/1.1, plain for HTTP/1.0); watchers leaving harmlessly; a
# busy HTTP port as a start-up error; --http off opening no HTTP port.
. "$(dirname "$0")/../lib.sh"

cat >"$WORK/svcdns.yml" <<'YML'
services:
  - { service: db, instance: db-1, address: 10.0.0.5, port: 5432, txt: ["role=primary"] }
YML
start_server --config "$WORK/svcdns.yml" --zones "$WORK/none" || exit 1
API="http://127.0.0.1:$HTTPPORT"

# get PATH: the body of a GET (curl exits non-zero on connection failures only).
get() { curl -s --max-time 5 "$API$1"; }
# status METHOD PATH: the HTTP status code alone.
status() { curl -s --max-time 5 -o /dev/null -w '%{http_code}' -X "$1" "$API$2"; }
# json EXPR: evaluates a Python expression over the JSON document d read from stdin.
json() { /usr/bin/python3 -c "import json, sys; d = json.load(sys.stdin); print($1)"; }
# json_true EXPR: succeeds when the expression over d is true.
json_true() { /usr/bin/python3 -c "import json, sys; d = json.load(sys.stdin); sys.exit(0 if ($1) else 1)"; }
# metric SERIES: the value of one series of /metrics, e.g. 'svcdns_services' or
# 'svcdns_registrations_total{result="ok"}'; empty when it is missing.
metric() { get /metrics | awk -v series="$1" '$1 == series { print $2 }'; }
# metric_above SERIES VALUE: the series is above VALUE (for wait_for).
metric_above() { local v; v=$(metric "$1"); [ -n "$v" ] && awk -v a="$v" -v b="$2" 'BEGIN { exit !(a > b) }'; }
metric_is() { [ "$(metric "$1")" = "$2" ]; }

# --- health, routing, methods ---------------------------------------------------------
is "$(get /healthz)" "ok" "/healthz says ok"
is "$(status GET /healthz)" "200" "/healthz is 200"
is "$(status GET /nowhere)" "404" "unknown path: 404"
like "$(get /nowhere)" '"error":' "404 body is a JSON error"
is "$(status POST /v1/services)" "405" "POST: 405"
is "$(status DELETE /metrics)" "405" "DELETE: 405"
like "$(curl -s -i -X PUT "$API/healthz" | tr -d '\r')" $'\nAllow: GET, HEAD' "405 names the allowed methods"
is "$(status HEAD /v1/services)" "200" "HEAD is allowed"

# --- /v1/services ------------------------------------------------------------------------
is "$(reg 'REGISTER web w1 10.0.1.1 8080 ttl=60 txt=version=2 txt=zone=a')" "OK ttl=60" "register w1"
is "$(reg 'REGISTER web w2 fd00::2 8443 proto=udp priority=3 weight=7 ttl=100')" "OK ttl=100" "register w2"
doc=$(get /v1/services)
is "$(json '[s["name"] for s in d["services"]]' <<<"$doc")" "['db', 'web']" "every service, sorted by name"
is "$(json '[i["name"] for s in d["services"] if s["name"] == "web" for i in s["instances"]]' <<<"$doc")" \
	"['w1', 'w2']" "web's instances, sorted by name"
w1='[i for s in d["services"] for i in s["instances"] if i["name"] == "w1"][0]'
is "$(json "sorted($w1.keys())" <<<"$doc")" \
	"['address', 'name', 'port', 'priority', 'proto', 'static', 'ttl', 'txt', 'weight']" "instance fields"
is "$(json "($w1['address'], $w1['port'], $w1['proto'], $w1['txt'], $w1['static'])" <<<"$doc")" \
	"('10.0.1.1', 8080, 'tcp', ['version=2', 'zone=a'], False)" "w1 as registered, txt as a list"
check "w1 ttl is the remaining lease (31..60)" json_true "30 < $w1['ttl'] <= 60" <<<"$doc"
w2='[i for i in d["instances"] if i["name"] == "w2"][0]'
doc=$(get /v1/services/web)
is "$(json "{k: v for k, v in $w2.items() if k != 'ttl'}" <<<"$doc")" \
	"{'name': 'w2', 'address': 'fd00::2', 'port': 8443, 'proto': 'udp', 'priority': 3, 'weight': 7, 'txt': [], 'static': False}" \
	"w2: IPv6, udp, priority and weight"
check "w2 ttl is its own lease (61..100)" json_true "60 < $w2['ttl'] <= 100" <<<"$doc"
is "$(get /v1/services/db | json '(d["name"], d["instances"][0]["static"], d["instances"][0]["ttl"], d["instances"][0]["txt"])')" \
	"('db', True, 0, ['role=primary'])" "static instance: static, ttl 0"
is "$(get /v1/services/WEB | json 'len(d["instances"])')" "2" "service names are case-insensitive"
is "$(status GET /v1/services/nope)" "404" "unknown service: 404"
is "$(get /v1/services/nope | json 'd["error"]')" "no service named 'nope'" "404 says which service"
is "$(status GET /v1/services/a%2Fb)" "404" "encoded slash in a name: 404"
is "$(reg 'DEREGISTER web w2')" "OK" "deregister w2"
is "$(get /v1/services/web | json '[i["name"] for i in d["instances"]]')" "['w1']" "deregistered instance gone from JSON"

# --- /metrics ---------------------------------------------------------------------------
m=$(get /metrics)
is "$(curl -s -o /dev/null -w '%{content_type}' "$API/metrics")" "text/plain; version=0.0.4; charset=utf-8" \
	"Prometheus 0.0.4 content type"
for family in svcdns_dns_queries_total:counter svcdns_dns_responses_total:counter \
	      svcdns_dns_dropped_total:counter svcdns_dns_truncated_total:counter \
	      svcdns_dns_answer_duration_seconds:histogram svcdns_forwarded_queries_total:counter \
	      svcdns_forward_failures_total:counter svcdns_forward_servfail_total:counter \
	      svcdns_registrations_total:counter svcdns_instances:gauge svcdns_services:gauge \
	      svcdns_leases_expired_total:counter svcdns_http_watchers:gauge; do
	name=${family%:*} type=${family#*:}
	check "$name has HELP and TYPE $type" grep -q "^# TYPE $name $type\$" <<<"$m"
	check "$name HELP" grep -q "^# HELP $name " <<<"$m"
done
is "$(metric svcdns_services)" "2" "services gauge: db and web"
is "$(metric svcdns_instances)" "2" "instances gauge: db-1 and w1"

a_udp='svcdns_dns_queries_total{transport="udp",type="A"}'
srv_tcp='svcdns_dns_queries_total{transport="tcp",type="SRV"}'
before_a=$(metric "$a_udp") before_srv=$(metric "$srv_tcp") before_count=$(metric svcdns_dns_answer_duration_seconds_count)
before_nx=$(metric 'svcdns_dns_responses_total{rcode="NXDOMAIN"}')
is "$(qs web.svc.internal A)" "10.0.1.1" "dig A"
q web.svc.internal A >/dev/null
q +tcp _web._tcp.svc.internal SRV >/dev/null
q nothing-here.svc.internal A >/dev/null
is "$(metric "$a_udp")" "$((before_a + 3))" "UDP A queries counted (+3)"
is "$(metric "$srv_tcp")" "$((before_srv + 1))" "TCP SRV query counted (+1)"
is "$(metric 'svcdns_dns_responses_total{rcode="NXDOMAIN"}')" "$((before_nx + 1))" "NXDOMAIN response counted"
is "$(metric svcdns_dns_answer_duration_seconds_count)" "$((before_count + 4))" "latency histogram observed every answer"
is "$(metric 'svcdns_dns_answer_duration_seconds_bucket{le="+Inf"}')" "$(metric svcdns_dns_answer_duration_seconds_count)" \
	"+Inf bucket equals the count"
check "histogram buckets are cumulative" /usr/bin/python3 -c '
import sys
values = [float(l.split()[-1]) for l in sys.stdin if l.startswith("svcdns_dns_answer_duration_seconds_bucket")]
sys.exit(0 if len(values) == 13 and values == sorted(values) else 1)' <<<"$(get /metrics)"
check "latency sum is positive" metric_above svcdns_dns_answer_duration_seconds_sum 0
check "bucket bounds are in seconds" grep -q 'svcdns_dns_answer_duration_seconds_bucket{le="0.001"}' <<<"$(get /metrics)"

ok_series='svcdns_registrations_total{result="ok"}' e400='svcdns_registrations_total{result="400"}'
before_ok=$(metric "$ok_series") before_400=$(metric "$e400") before_404=$(metric 'svcdns_registrations_total{result="404"}')
reg 'REGISTER web w3 10.0.1.3 80' >/dev/null
like "$(reg 'REGISTER web w4 10.0.1.300 80')" "^ERR 400 " "a bad address is ERR 400"
like "$(reg 'RENEW web nobody')" "^ERR 404 " "renewing nobody is ERR 404"
is "$(metric "$ok_series")" "$((before_ok + 1))" "registrations_total{result=\"ok\"} rises"
is "$(metric "$e400")" "$((before_400 + 1))" "ERR 400 counted under result=\"400\""
is "$(metric 'svcdns_registrations_total{result="404"}')" "$((before_404 + 1))" "ERR 404 counted under result=\"404\""

before_expired=$(metric svcdns_leases_expired_total)
is "$(reg 'REGISTER brief b1 10.0.2.1 80 ttl=1')" "OK ttl=1" "register a 1 s lease"
is "$(metric svcdns_services)" "3" "services gauge counts the new service"
check "leases_expired_total rises after the lease ends" wait_for 5 metric_above svcdns_leases_expired_total "$before_expired"
check "services gauge drops back" wait_for 3 metric_is svcdns_services 2
is "$(status GET /v1/services/brief)" "404" "expired service gone from the API"

# --- /v1/watch ----------------------------------------------------------------------------
# watch_start FILE [QUERY]: streams /v1/watch into FILE in the background; sets WATCH_PID.
watch_start() {
	curl -sN --raw ${3:-} "$API/v1/watch${2:-}" >"$1" 2>/dev/null &
	WATCH_PID=$!
	on_exit "kill $WATCH_PID"
}
watchers=$(metric svcdns_http_watchers)
watch_start "$WORK/all.out"; all_pid=$WATCH_PID
watch_start "$WORK/quiet.out" "?renewals=0"; quiet_pid=$WATCH_PID
watch_start "$WORK/v10.out" "" "--http1.0 -i"; v10_pid=$WATCH_PID
check "three watchers connected" wait_for 5 metric_is svcdns_http_watchers $((watchers + 3))

is "$(reg 'REGISTER stream s1 10.0.3.1 9000 ttl=60')" "OK ttl=60" "watched: register"
is "$(reg 'RENEW stream s1 ttl=90')" "OK ttl=90" "watched: renew"
is "$(reg 'REGISTER stream s1 10.0.3.2 9001 ttl=60')" "OK ttl=60" "watched: update"
is "$(reg 'DEREGISTER stream s1')" "OK" "watched: deregister"
is "$(reg 'REGISTER stream s2 10.0.3.3 9002 ttl=1')" "OK ttl=1" "watched: a 1 s lease"
check "expired event streamed" wait_for 5 grep -q '"event":"expired"' "$WORK/all.out"
check "quiet watcher saw the expiry too" wait_for 5 grep -q '"event":"expired"' "$WORK/quiet.out"
check "HTTP/1.0 watcher saw the expiry too" wait_for 5 grep -q '"event":"expired"' "$WORK/v10.out"

# events FILE: "event instance" per JSON line of a stream (other lines skipped).
events() {
	/usr/bin/python3 -c '
import json, sys
for line in open(sys.argv[1]):
    if line.startswith("{"):
        e = json.loads(line)
        print(e["event"], e["instance"], end=", ")' "$1"
}
is "$(events "$WORK/all.out")" \
	"registered s1, renewed s1, updated s1, deregistered s1, registered s2, expired s2, " \
	"events in order, renewals included"
is "$(events "$WORK/quiet.out")" \
	"registered s1, updated s1, deregistered s1, registered s2, expired s2, " "?renewals=0 leaves out renewals"
first=$(grep -m1 '^{' "$WORK/all.out")
is "$(json 'sorted(d.keys())' <<<"$first")" "['address', 'event', 'instance', 'port', 'service', 'time', 'ttl']" \
	"event fields"
is "$(json '(d["service"], d["address"], d["port"], d["ttl"])' <<<"$first")" "('stream', '10.0.3.1', 9000, 60)" \
	"registered event carries the instance and its lease"
like "$(json 'd["time"]' <<<"$first")" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z$' "time is RFC 3339"
is "$(grep '"event":"expired"' "$WORK/all.out" | json '(d["instance"], d["ttl"])')" "('s2', 0)" "expired event: ttl 0"
# --raw keeps the transfer coding: HTTP/1.1 lines come in chunks, HTTP/1.0 lines as they are.
chunked() { grep -qiE $'^transfer-encoding: *chunked|^[0-9a-f]+\r$' "$1"; }
not_chunked() { ! chunked "$1"; }
check "HTTP/1.1 stream is chunked" chunked "$WORK/all.out"
like "$(tr -d '\r' <"$WORK/v10.out" | head -1)" "^HTTP/1.0 200" "HTTP/1.0 watch: 200"
check "HTTP/1.0 stream is not chunked" not_chunked "$WORK/v10.out"
like "$(tr -d '\r' <"$WORK/v10.out")" $'\n\n\\{"event":"registered"' "HTTP/1.0 body starts with the first event line"

# A watcher that goes away is forgotten; the rest keep streaming, the server keeps serving.
kill "$quiet_pid"; wait "$quiet_pid" 2>/dev/null
check "a departed watcher is dropped" wait_for 5 metric_is svcdns_http_watchers $((watchers + 2))
is "$(reg 'REGISTER stream s3 10.0.3.4 9003')" "OK ttl=30" "register after a watcher left"
check "remaining watchers still stream" wait_for 5 grep -q '"instance":"s3"' "$WORK/all.out"
is "$(get /healthz)" "ok" "server fine after a watcher left"

# svcdnsctl watch --json --once (client/watch.c; t_ctl_json.sh has the rest).
CTL=$(dirname "$SVCDNS_BIN")/svcdnsctl
"$CTL" --http "127.0.0.1:$HTTPPORT" watch --json --once >"$WORK/ctl.out" 2>"$WORK/ctl.err" &
ctl_pid=$!
on_exit "kill $ctl_pid"
check "svcdnsctl watch connected" wait_for 5 metric_is svcdns_http_watchers $((watchers + 3))
reg 'REGISTER stream s4 10.0.3.5 9004' >/dev/null
check "svcdnsctl watch prints the event line" wait_for 5 grep -q '^{"event":"registered","service":"stream","instance":"s4"' "$WORK/ctl.out"
check "svcdnsctl watch prints bare JSON lines" bash -c "! grep -qv '^{' '$WORK/ctl.out'"

# Shutting down with watchers connected ends their streams and frees everything
# (stop_server checks the exit status and the sanitizer reports).
stop_server
check "HTTP/1.0 watcher saw the stream end" wait_for 5 bash -c "! kill -0 $v10_pid 2>/dev/null"
check "HTTP/1.1 watcher saw the stream end" wait_for 5 bash -c "! kill -0 $all_pid 2>/dev/null"
if [ -n "${ctl_pid:-}" ]; then
	wait "$ctl_pid"; is "$?" "1" "svcdnsctl watch --once exits 1 when the server ends the stream"
fi

# --- start-up errors and --http off ------------------------------------------------------
# start_direct ARGS...: runs svcdns with exactly these flags (start_server adds --http),
# registration on $DIRECT_REGPORT, trying fresh ports up to three times: tests running
# alongside may take a free port first.
start_direct() {
	for _ in 1 2 3; do
		PORT=$(free_port) DIRECT_REGPORT=$(free_port)
		"$SVCDNS_BIN" --dns "127.0.0.1:$PORT" --register "127.0.0.1:$DIRECT_REGPORT" --zones "$WORK/none" \
			--log-level debug "$@" >>"$SERVER_LOG" 2>&1 &
		SERVER_PID=$!
		wait_for 10 server_answers && return 0
		wait "$SERVER_PID"
	done
	SERVER_PID=""
	return 1
}

busy=$(free_port)
/usr/bin/python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1); print("ready", flush=True); time.sleep(60)' \
	"$busy" >"$WORK/holder.out" &
holder=$!
on_exit "kill $holder"
wait_for 5 grep -q ready "$WORK/holder.out"
out=$("$SVCDNS_BIN" --dns "127.0.0.1:$(free_port)" --register "127.0.0.1:$(free_port)" --http "127.0.0.1:$busy" \
	--zones "$WORK/none" 2>&1); rc=$?
check "busy HTTP port: start-up fails (status $rc)" test "$rc" -ne 0
like "$out" "http: cannot bind tcp 127.0.0.1:$busy: Address already in use .*--http ADDR:PORT" \
	"the error names the address and what to do"
kill "$holder"

cfg_port=$(free_port)
printf 'http: "127.0.0.1:%s"\n' "$cfg_port" >"$WORK/http.yml"
check "http config key: server starts" start_direct --config "$WORK/http.yml"
is "$(curl -s --max-time 5 "http://127.0.0.1:$cfg_port/healthz")" "ok" "http config key: the API listens there"
stop_server

printf 'http: off\n' >"$WORK/off.yml"
check "http: off in the config: server starts" start_direct --config "$WORK/off.yml"
is "$(ss -Hltnp | grep -c "pid=$SERVER_PID,")" "2" "http: off: only the DNS and registration TCP ports listen"
stop_server

# --- a watcher that stops reading --------------------------------------------------------
# It is disconnected once 16 MiB wait for it: 120,000 renewals of long names are about
# 28 MB of events, more than that plus the socket buffers. A ?renewals=0 watcher is spared
# and still gets the next change.
storm_port=$(free_port)
check "server for the renewal storm starts" start_direct --http "127.0.0.1:$storm_port"
curl -sN "http://127.0.0.1:$storm_port/v1/watch?renewals=0" >"$WORK/storm_quiet.out" 2>/dev/null &
on_exit "kill $!"
API="http://127.0.0.1:$storm_port"
check "quiet watcher connected" wait_for 5 metric_is svcdns_http_watchers 1
cat >"$WORK/storm.py" <<'PY'
import socket, sys, threading
http, reg = int(sys.argv[1]), int(sys.argv[2])
service, instance = "s" * 63, "i" * 63
watcher = socket.socket()
watcher.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
watcher.connect(("127.0.0.1", http))
watcher.sendall(b"GET /v1/watch HTTP/1.0\r\n\r\n")
watcher.recv(1)  # the stream has started; from now on this watcher reads nothing
r = socket.create_connection(("127.0.0.1", reg))
replies = []
def read_replies():  # concurrently, so neither side waits on a full buffer
    n = 0
    while True:
        data = r.recv(65536)
        if not data:
            break
        n += data.count(b"\n")
    replies.append(n)
reader = threading.Thread(target=read_replies)
reader.start()
renew = ("RENEW %s %s ttl=600\n" % (service, instance)).encode()
r.sendall(("REGISTER %s %s 10.0.4.1 80 ttl=600\n" % (service, instance)).encode() + renew * 120000 +
          b"REGISTER after a1 10.0.4.2 80\n")
r.shutdown(socket.SHUT_WR)
reader.join()
print("replies", replies[0])
watcher.settimeout(10)
try:
    while watcher.recv(65536):
        pass
    print("watcher closed")
except socket.timeout:
    print("watcher still open")
PY
/usr/bin/python3 "$WORK/storm.py" "$storm_port" "$DIRECT_REGPORT" >"$WORK/storm.out" 2>&1
like "$(cat "$WORK/storm.out")" $'^replies 120002\nwatcher closed' "the watcher that stopped reading is disconnected"
check "the drop is logged" grep -q "disconnecting a watcher that fell behind" "$SERVER_LOG"
check "watchers gauge back to 1" wait_for 5 metric_is svcdns_http_watchers 1
check "the ?renewals=0 watcher still streams" wait_for 5 grep -q '"instance":"a1"' "$WORK/storm_quiet.out"
no_renewals() { ! grep -q '"event":"renewed"' "$1"; }
check "and got no renewals" no_renewals "$WORK/storm_quiet.out"
is "$(get /healthz)" "ok" "server fine after the storm"
stop_server

: >"$SERVER_LOG"  # the earlier "http: off" config run logged the same words
check "--http off: server starts" start_direct --http off
like "$(cat "$SERVER_LOG")" "http: off" "--http off is logged"
listeners=$(ss -Hltnp | grep -c "pid=$SERVER_PID,")
is "$listeners" "2" "--http off: only the DNS and registration TCP ports listen"
stop_server

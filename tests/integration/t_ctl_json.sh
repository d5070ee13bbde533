#!/usr/bin/env bash
# svcdnsctl's operator side: list falls back to TCP on ERR 413, list --json in the shape
# of GET /v1/services, watch --json and its readable default, watch reconnecting with
# backoff when the server restarts (and saying so), --once giving up with status 1, -h,
# and --txt requiring KEY=VALUE.
. "$(dirname "$0")/../lib.sh"

CTL=$(dirname "$SVCDNS_BIN")/svcdnsctl
printf 'ttl: 5\nservices:\n  - { service: db, instance: db-1, address: 10.0.0.5, port: 5432, txt: ["role=primary"] }\n' >"$WORK/svcdns.yml"
start_server --config "$WORK/svcdns.yml" --zones "$WORK/none" || exit 1
ctl() { "$CTL" --server "127.0.0.1:$REGPORT" "$@"; }
status_of() { "$@" >/dev/null 2>&1; echo $?; }

# --- usage ------------------------------------------------------------------------------
like "$("$CTL" -h)" "^usage: svcdnsctl" "-h prints the usage"
is "$(status_of "$CTL" -h)" "0" "-h: exit 0"
is "$(status_of ctl register w w1 10.0.0.1 80 --txt noequals)" "2" "--txt without '=': exit 2"
like "$(ctl register w w1 10.0.0.1 80 --txt noequals 2>&1)" "--txt 'noequals' must be KEY=VALUE" "--txt without '=' says KEY=VALUE"
is "$(status_of ctl register w w1 10.0.0.1 80 --txt =v)" "2" "--txt with an empty key: exit 2"
is "$(ctl register w w1 10.0.0.1 80 --txt a=)" "OK ttl=30" "--txt with an empty value is fine"
is "$(status_of ctl ping --json)" "2" "--json is not an option of ping"
is "$(status_of ctl list --once)" "2" "--once is not an option of list"

# --- list falls back to TCP when UDP says 413 -------------------------------------------
pad=$(printf 'x%.0s' $(seq 1 60))
for i in $(seq 1 1200); do echo "REGISTER big i$i 10.7.$((i / 250)).$((i % 250)) 80 txt=pad=$pad"; done | reg_tcp >"$WORK/big.out"
is "$(grep -c '^OK' "$WORK/big.out")" "1200" "1200 instances registered"
like "$(printf 'LIST big\n' | reg_udp)" "^ERR 413" "LIST big over UDP alone is refused with 413"
out=$(ctl list big); rc=$?
is "$rc" "0" "svcdnsctl list big (UDP by default): exit 0"
is "$(wc -l <<<"$out")" "1200" "svcdnsctl list big: every instance, retried over TCP"

# --- list --json: the shape of /v1/services ----------------------------------------------
ctl deregister w w1 >/dev/null
ctl register web w2 fd00::2 8081 --ttl 60 --proto udp --priority 1 --weight 5 --txt version=2 --txt zone=a >/dev/null
ctl register web w1 10.0.1.1 8080 --ttl 60 >/dev/null
compare() {  # the two JSON documents are equal once ttl (seconds left) is set aside
	/usr/bin/python3 - "$1" "$2" <<'PY'
import json, sys
def norm(doc):
    for svc in doc.get("services", [doc]):
        for inst in svc["instances"]:
            inst["ttl"] = "*"
    return doc
a, b = (norm(json.load(open(x))) for x in sys.argv[1:3])
if a != b:
    print("# list --json: %s" % json.dumps(a)[:400]); print("# /v1/services: %s" % json.dumps(b)[:400]); sys.exit(1)
PY
}
curl_json() { curl -s --max-time 5 "http://127.0.0.1:$HTTPPORT$1"; }
ctl deregister big i1 >/dev/null   # keeps big large: the JSON comes over TCP after a 413
ctl list --json >"$WORK/list.json"; curl_json /v1/services >"$WORK/http.json"
check "list --json equals GET /v1/services (all services, sorted)" compare "$WORK/list.json" "$WORK/http.json"
ctl list web --json >"$WORK/list.json"; curl_json /v1/services/web >"$WORK/http.json"
check "list web --json equals GET /v1/services/web" compare "$WORK/list.json" "$WORK/http.json"
like "$(ctl list web --json)" '^\{"name":"web","instances":\[\{"name":"w1","address":"10.0.1.1","port":8080,"proto":"tcp","priority":0,"weight":0,"ttl":[0-9]+,"txt":\[\],"static":false\},\{"name":"w2",' \
	"list web --json: the fields of the HTTP API, in its order"
is "$(ctl list nosuch --json)" '{"name":"nosuch","instances":[]}' "list --json of an unknown service: no instances"

# --- watch: readable lines, --json, reconnecting ------------------------------------------
"$CTL" --http "127.0.0.1:$HTTPPORT" watch >"$WORK/watch.out" 2>"$WORK/watch.err" &
watch_pid=$!
on_exit "kill $watch_pid"
"$CTL" --http "127.0.0.1:$HTTPPORT" watch --json --once >"$WORK/once.out" 2>"$WORK/once.err" &
once_pid=$!
on_exit "kill $once_pid"
watchers_are() { [ "$(curl_json /metrics | sed -n 's/^svcdns_http_watchers \([0-9]*\)$/\1/p')" = "$1" ]; }
check "both watchers connected" wait_for 5 watchers_are 2
ctl register stream s1 10.0.3.1 9001 --ttl 40 >/dev/null
check "watch prints a readable line" wait_for 5 grep -qE '^[0-9T:.-]+Z registered s1\.stream 10\.0\.3\.1:9001 ttl=40$' "$WORK/watch.out"
check "watch --json prints the stream's JSON line" wait_for 5 grep -q '^{"event":"registered","service":"stream","instance":"s1","address":"10.0.3.1","port":9001,"ttl":40,' "$WORK/once.out"

stop_server
check "watch --once exits when the stream ends" wait_for 5 bash -c "! kill -0 $once_pid 2>/dev/null"
wait "$once_pid"; is "$?" "1" "watch --once: exit 1 when the stream ends"
like "$(cat "$WORK/once.err")" "svcdnsctl: watch: 127.0.0.1:$HTTPPORT ended the stream" "watch --once says the stream ended"
check "watch says it reconnects" wait_for 5 grep -q "svcdnsctl: watch: the stream ended; reconnecting in 0.5 s" "$WORK/watch.err"
check "watch keeps running while the server is down" kill -0 "$watch_pid"
check "backoff grows while the server stays down" wait_for 10 grep -q "no connection; reconnecting in 2.0 s" "$WORK/watch.err"
start_server --config "$WORK/svcdns.yml" --zones "$WORK/none" || exit 1
check "watch connected again" wait_for 10 watchers_are 1
ctl register stream s2 10.0.3.2 9002 --ttl 41 >/dev/null
check "watch streams from the restarted server" wait_for 5 grep -qE ' registered s2\.stream 10\.0\.3\.2:9002 ttl=41$' "$WORK/watch.out"
check "watch said it connected again" grep -q "connecting to 127.0.0.1:$HTTPPORT again" "$WORK/watch.err"
kill "$watch_pid"; wait "$watch_pid" 2>/dev/null

"$CTL" --http "127.0.0.1:1" watch --once >/dev/null 2>"$WORK/none.err"; rc=$?
is "$rc" "1" "watch --once with nothing listening: exit 1"
like "$(cat "$WORK/none.err")" "cannot connect to 127.0.0.1:1" "watch --once says why"
stop_server

#!/usr/bin/env bash
# The README's first run, as written: `make try`'s flags (unprivileged, loopback, ports
# 5353/8053/8054, the example config) start from any working directory, and the README's
# commands give the answers its comments promise. `make run ARGS=` passes flags through.
# No file in the repository refers to a path outside it.
. "$(dirname "$0")/../lib.sh"
cd "$ROOT_DIR" || exit 1
CTL=$(dirname "$SVCDNS_BIN")/svcdnsctl

try_flags=$(make -s --no-print-directory -pn try 2>/dev/null | sed -n 's/^TRY_FLAGS := //p' | tr -s ' \t' ' ')
is "$try_flags" "--config zones/svcdns.example.yml --dns 127.0.0.1:5353 --register 127.0.0.1:8053 --http 127.0.0.1:8054" \
	"make try: the example config on 127.0.0.1 ports 5353/8053/8054"
like "$(make -s --no-print-directory -n run ARGS='--dns 127.0.0.1:5399' 2>/dev/null | tail -1)" "^bin/svcdns --dns 127\\.0\\.0\\.1:5399$" \
	"make run ARGS=... passes the flags through"
like "$(make -s --no-print-directory -n try ARGS='--log-queries' 2>/dev/null | tail -1)" "--http 127\\.0\\.0\\.1:8054 --log-queries$" \
	"make try ARGS=... adds flags"

busy=$(ss -Htuan '( sport = :5353 or sport = :8053 or sport = :8054 )' | head -3)
if [ -n "$busy" ]; then
	ok 1 "ports 5353/8053/8054 are free for make try's flags"; echo "# in use: $busy"; exit 1
fi
# shellcheck disable=SC2086
PORT=5353 REGPORT=8053 HTTPPORT=8054
"$SVCDNS_BIN" $try_flags >>"$SERVER_LOG" 2>&1 &
SERVER_PID=$!
check "make try's flags start the server" wait_for 10 server_answers

# The README's commands, copied.
is "$(dig @127.0.0.1 -p 5353 db.svc.internal +short)" "10.0.0.5" "README: dig db.svc.internal"
is "$(dig @127.0.0.1 -p 5353 db.svc.internal AAAA +short)" "fd00::6" "README: dig db.svc.internal AAAA"
like "$(dig @127.0.0.1 -p 5353 _db._tcp.svc.internal SRV +short | sort | head -1)" "^0 0 5432 db-1\\.db\\.svc\\.internal\\.$" "README: SRV"
is "$("$CTL" register user-service u1 10.0.0.11 8080 --ttl 5)" "OK ttl=5" "README: svcdnsctl register"
is "$(dig @127.0.0.1 -p 5353 user-service.svc.internal +short)" "10.0.0.11" "README: dig user-service, at once"
like "$(curl -s --max-time 5 http://127.0.0.1:8054/v1/services)" '"name":"user-service"' "README: the HTTP API on 8054"
like "$("$CTL" list user-service)" "^user-service u1 10\\.0\\.0\\.11 8080 ttl=[1-5]$" "README: svcdnsctl list"
stop_server

# The example config works from any directory (its paths are relative to itself).
out=$(cd / && "$SVCDNS_BIN" --config "$ROOT_DIR/zones/svcdns.example.yml" --check-config 2>&1); rc=$?
is "$rc" "0" "the example config checks from another directory"

# Nothing in the tree points outside it (no /work/..., /home/..., /Users/...).
outside=$(git -C "$ROOT_DIR" grep -nE '(^|[^A-Za-z0-9_])/(work|home|Users)/' -- . ':!tests/integration/t_first_run.sh' 2>/dev/null | head -5)
is "$outside" "" "no file refers to a path outside the repository"

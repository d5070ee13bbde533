#!/usr/bin/env bash
# SIGHUP reloads the config and zones without dropping queries or registrations;
# a bad config or zone is refused and the old one keeps serving.
. "$(dirname "$0")/../lib.sh"

Z=$WORK/zones
mkdir -p "$Z"
write_zone() {  # the A record of www.example.test
	cat >"$Z/example.test.zone" <<ZONE
\$ORIGIN example.test.
@   IN SOA ns.example.test. admin.example.test. $2 3600 600 86400 60
www IN A $1
ZONE
}
write_zone 192.0.2.1 1
cat >"$WORK/svcdns.yml" <<'YML'
ttl: 5
services:
  - { service: db, instance: db-1, address: 10.0.0.5, port: 5432 }
  - { service: old, instance: o1, address: 10.0.0.9, port: 1 }
YML
start_server --config "$WORK/svcdns.yml" --zones "$Z" || exit 1
is "$(reg 'REGISTER api a1 10.0.7.1 80 ttl=300')" "OK ttl=300" "a registration before the reloads"
is "$(qs www.example.test A)" "192.0.2.1" "zone before reload"

# A /v1/watch stream hears of the static instances a reload removes and adds.
watchers_are() { [ "$(curl -s --max-time 5 "http://127.0.0.1:$HTTPPORT/metrics" |
	awk '$1 == "svcdns_http_watchers" { print $2 }')" = "$1" ]; }
curl -sN "http://127.0.0.1:$HTTPPORT/v1/watch" >"$WORK/watch.out" 2>/dev/null &
watch_pid=$!
check "watcher connected" wait_for 5 watchers_are 1

# Queries keep being answered through several reloads.
(
	fails=0
	for i in $(seq 1 300); do
		out=$(dig @127.0.0.1 -p "$PORT" +time=1 +tries=1 +short db.svc.internal A 2>&1)
		[ "$out" = "10.0.0.5" ] || fails=$((fails + 1))
	done
	echo "$fails" >"$WORK/fails"
) &
querier=$!

write_zone 192.0.2.2 2
cat >"$WORK/svcdns.yml" <<'YML'
ttl: 7
services:
  - { service: db, instance: db-1, address: 10.0.0.5, port: 5432 }
  - { service: new, instance: n1, address: 10.0.0.10, port: 1 }
YML
kill -HUP "$SERVER_PID"
check "reload logged" wait_for 5 grep -q "reload: 1 zone file(s) and 2 static instance(s) loaded" "$SERVER_LOG"
is "$(qs www.example.test A)" "192.0.2.2" "changed zone served after SIGHUP"
is "$(qs n1.new.svc.internal A)" "10.0.0.10" "new static instance served"
is "$(rcode o1.old.svc.internal A)" "NXDOMAIN" "removed static instance gone"
like "$(q db.svc.internal A)" "db.svc.internal.[[:space:]]+7[[:space:]]" "new answer TTL applies"
is "$(qs a1.api.svc.internal A)" "10.0.7.1" "registrations survive a reload"
check "watcher saw the removed static instance deregistered" wait_for 5 \
	grep -q '"event":"deregistered","service":"old","instance":"o1"' "$WORK/watch.out"
check "watcher saw the new static instance registered" wait_for 5 \
	grep -q '"event":"registered","service":"new","instance":"n1"' "$WORK/watch.out"
check "an unchanged static instance is not announced" bash -c "! grep -q '\"instance\":\"db-1\"' '$WORK/watch.out'"
kill "$watch_pid" 2>/dev/null; wait "$watch_pid" 2>/dev/null

# A broken config is refused with its error; the old one keeps serving.
printf 'ttl: 5\nbogus-key: 1\n' >"$WORK/svcdns.yml"
kill -HUP "$SERVER_PID"
check "bad config refused with file:line: key" wait_for 5 grep -q "reload: .*svcdns.yml:2: bogus-key: unknown key" "$SERVER_LOG"
check "and the old one is kept" grep -q "reload failed: still serving the previous configuration" "$SERVER_LOG"
is "$(qs n1.new.svc.internal A)" "10.0.0.10" "old config still serving"

# A broken zone likewise.
cat >"$WORK/svcdns.yml" <<'YML'
ttl: 7
services:
  - { service: db, instance: db-1, address: 10.0.0.5, port: 5432 }
YML
printf '$ORIGIN example.test.\n@ IN SOA ns admin 3 3600 600 86400 60\nwww IN A 999.1.1.1\n' >"$Z/example.test.zone"
n_before=$(grep -c "reload failed" "$SERVER_LOG")
kill -HUP "$SERVER_PID"
check "bad zone refused" wait_for 5 bash -c "[ \$(grep -c 'reload failed' $SERVER_LOG) -gt $n_before ]"
check "with file:line" grep -q "example.test.zone:3:" "$SERVER_LOG"
is "$(qs www.example.test A)" "192.0.2.2" "old zone still serving"
is "$(qs n1.new.svc.internal A)" "10.0.0.10" "and the old static instances too (all or nothing)"

wait "$querier"
is "$(cat "$WORK/fails")" "0" "no query failed during three reloads"
check "server still running" kill -0 "$SERVER_PID"

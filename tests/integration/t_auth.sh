#!/usr/bin/env bash
# Signed registration requests: HMAC-SHA256 accepted, wrong MAC, stale ts and replay
# refused (401); key service patterns and ownership (403); secret files.
. "$(dirname "$0")/../lib.sh"

SECRET=s3cret-s3cret-s3cret
OTHER=another-secret-value-1
printf '%s\n' "$OTHER" >"$WORK/ops.key"
chmod 600 "$WORK/ops.key"
cat >"$WORK/svcdns.yml" <<YML
keys:
  - name: deploy
    secret: "$SECRET"
    services: ["user-*"]
  - name: ops
    secret-file: $WORK/ops.key
YML
start_server --config "$WORK/svcdns.yml" --zones "$WORK/none" || exit 1

# sign SECRET KEYNAME TS REQUEST: the request with key=, ts= and mac= appended.
sign() {
	local payload="$4 key=$2 ts=$3"
	local mac
	mac=$(printf '%s' "$payload" | openssl dgst -sha256 -hmac "$1" | awk '{print $NF}')
	printf '%s mac=%s' "$payload" "$mac"
}
now=$(date +%s)

line=$(sign "$SECRET" deploy "$now" "REGISTER user-service u1 10.0.0.11 8080")
is "$(reg "$line")" "OK ttl=30" "correctly signed REGISTER accepted"
is "$(qs user-service.svc.internal A)" "10.0.0.11" "signed registration served"
like "$(reg "$line")" "^ERR 401 replayed request" "the same signed line again: 401 replay"
like "$(reg 'REGISTER user-service u2 10.0.0.12 8080')" "^ERR 401 signature required" "unsigned request: 401"
bad=$(sign "wrong-secret-wrong-secret" deploy "$now" "REGISTER user-service u2 10.0.0.12 8080")
like "$(reg "$bad")" "^ERR 401 bad mac" "wrong secret: 401"
tampered=$(sign "$SECRET" deploy "$now" "REGISTER user-service u2 10.0.0.12 8080" | sed 's/10.0.0.12/10.0.0.66/')
like "$(reg "$tampered")" "^ERR 401 bad mac" "tampered request: 401"
stale=$(sign "$SECRET" deploy "$((now - 400))" "REGISTER user-service u2 10.0.0.12 8080")
like "$(reg "$stale")" "^ERR 401 ts is more than 300 s away" "ts 400 s old: 401"
future=$(sign "$SECRET" deploy "$((now + 400))" "REGISTER user-service u2 10.0.0.12 8080")
like "$(reg "$future")" "^ERR 401 ts is more than 300 s away" "ts 400 s ahead: 401"
unknown=$(sign "$SECRET" nobody "$now" "PING")
like "$(reg "$unknown")" "^ERR 401 unknown key" "unknown key name: 401"
is "$(printf '%s\n' "$(sign "$SECRET" deploy "$now" "PING")" | reg_udp)" "OK" "signed PING over UDP"

# Key limits: service patterns and ownership.
like "$(reg "$(sign "$SECRET" deploy "$now" "REGISTER billing b1 10.0.1.1 80")")" "^ERR 403 key 'deploy' may not register service 'billing'" "key pattern user-*: 403 for billing"
is "$(reg "$(sign "$OTHER" ops "$now" "REGISTER billing b1 10.0.1.1 80")")" "OK ttl=30" "key without patterns (secret-file) registers billing"
like "$(reg "$(sign "$OTHER" ops "$now" "DEREGISTER user-service u1")")" "^ERR 403 u1.user-service was registered with another key" "another key may not deregister"
like "$(reg "$(sign "$OTHER" ops "$((now + 1))" "RENEW user-service u1")")" "^ERR 403 " "another key may not renew"
is "$(reg "$(sign "$SECRET" deploy "$((now + 1))" "RENEW user-service u1 ttl=60")")" "OK ttl=60" "the owning key renews"
is "$(reg "$(sign "$SECRET" deploy "$((now + 2))" "DEREGISTER user-service u1")")" "OK" "the owning key deregisters"
is "$(rcode u1.user-service.svc.internal A)" "NXDOMAIN" "deregistered by its key"
stop_server

# A secret file readable by others is refused at start.
chmod 644 "$WORK/ops.key"
out=$("$SVCDNS_BIN" --config "$WORK/svcdns.yml" --check-config 2>&1); rc=$?
is "$rc" "2" "world-readable secret file: exit 2"
like "$out" "svcdns.yml:[0-9]+: keys\\[[0-9]\\]\\.secret-file: .* is readable by group or others" "world-readable secret file: file:line: key: reason"

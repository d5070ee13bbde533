#!/usr/bin/env bash
# Config splits: (no --state needed) shape answers from the start; SPLIT may not change a
# service whose split the config sets (ERR 409) but may change any other; a reload that
# changes or drops a config split takes effect at once; SPLIT obeys keys as REGISTER does.
. "$(dirname "$0")/../lib.sh"

SECRET=split-secret-split-secret
cat >"$WORK/svcdns.yml" <<YML
splits:
  web: "v1=90 v2=10"
keys:
  - name: deploy
    secret: "$SECRET"
    services: ["web", "api"]
YML
start_server --config "$WORK/svcdns.yml" --zones "$WORK/none" || exit 1

# sign KEYNAME REQUEST: the request signed with key= ts= mac= (see t_auth.sh).
sign() {
	local payload
	payload="$2 key=$1 ts=$(date +%s)"
	printf '%s mac=%s' "$payload" "$(printf '%s' "$payload" | openssl dgst -sha256 -hmac "$SECRET" | awk '{print $NF}')"
}
sreg() { reg "$(sign deploy "$1")"; }
weights() { qs "$1.svc.internal" SRV | awk '{ print $2, $4 }' | sort -k2 | paste -sd' ' -; }
splits() { curl -s --max-time 5 "http://127.0.0.1:$HTTPPORT/v1/splits"; }

for i in 1 2 3; do
	is "$(sreg "REGISTER web w$i 10.0.8.$i 80 ttl=300 tags=v$(( i < 3 ? 1 : 2 ))")" "OK ttl=300" "web w$i registered"
	is "$(sreg "REGISTER api a$i 10.0.9.$i 80 ttl=300 tags=v$(( i < 3 ? 1 : 2 ))")" "OK ttl=300" "api a$i registered"
done
is "$(weights web)" "45 w1.web.svc.internal. 45 w2.web.svc.internal. 10 w3.web.svc.internal." \
	"the config's split applies without --state: SRV weights 45/45/10"
is "$(splits)" '{"splits":[{"service":"web","shares":{"v1":90,"v2":10},"limit":0,"from":"config"}]}' \
	"/v1/splits lists it as from the config"

# Precedence: the config's split cannot be changed or cleared through SPLIT.
is "$(sreg 'SPLIT web v1=50 v2=50')" "ERR 409 the split of web comes from the config (splits:)" \
	"SPLIT of a service the config splits: ERR 409"
is "$(sreg 'SPLIT web')" "ERR 409 the split of web comes from the config (splits:)" "and clearing it: ERR 409"
is "$(weights web)" "45 w1.web.svc.internal. 45 w2.web.svc.internal. 10 w3.web.svc.internal." "which changed nothing"
is "$(sreg 'SPLIT api v1=50 v2=50')" "OK" "SPLIT of another service: OK"
is "$(weights api)" "25 a1.api.svc.internal. 25 a2.api.svc.internal. 50 a3.api.svc.internal." "api: SRV weights 25/25/50"

# Keys, as for REGISTER: unsigned 401, a key for other services 403.
like "$(reg 'SPLIT api v1=90 v2=10')" "^ERR 401 signature required" "unsigned SPLIT: ERR 401"
like "$(sreg 'SPLIT db v1=100')" "^ERR 403 key 'deploy' may not change service 'db'" "SPLIT outside the key's services: ERR 403"
is "$(weights api)" "25 a1.api.svc.internal. 25 a2.api.svc.internal. 50 a3.api.svc.internal." "neither changed api's split"

# Reloads: a changed config split replaces it; a dropped one goes, and SPLIT may then set it.
sed -i 's/"v1=90 v2=10"/"v1=50 v2=50"/' "$WORK/svcdns.yml"
kill -HUP "$SERVER_PID"
web_is() { [ "$(weights web)" = "$1" ]; }
check "after SIGHUP the changed config split applies (25/25/50)" \
	wait_for 5 web_is "25 w1.web.svc.internal. 25 w2.web.svc.internal. 50 w3.web.svc.internal."
sed -i '/^splits:/,/^  web:/d' "$WORK/svcdns.yml"
kill -HUP "$SERVER_PID"
check "after SIGHUP without the split, web's weights are the registered ones (0)" \
	wait_for 5 web_is "0 w1.web.svc.internal. 0 w2.web.svc.internal. 0 w3.web.svc.internal."
is "$(splits)" '{"splits":[{"service":"api","shares":{"v1":50,"v2":50},"limit":0,"from":"api"}]}' \
	"/v1/splits: only api's, which the reloads kept"
is "$(sreg 'SPLIT web v1=90 v2=10')" "OK" "SPLIT of web is allowed once the config no longer splits it"
is "$(weights web)" "45 w1.web.svc.internal. 45 w2.web.svc.internal. 10 w3.web.svc.internal." "and applies"
stop_server

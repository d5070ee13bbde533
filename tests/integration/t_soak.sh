#!/usr/bin/env bash
# A 30-second soak (scripts/soak) of this flavour's server: dnsperf asking names whose
# answers never change, registration churn checked against a model, the registry equal
# to the model at the end, RSS and file descriptors flat, a clean exit. Each of the
# soak's checks becomes one TAP line; SOAK_SECONDS changes the length.
# slow-test: skipped by `make quick` (SVCDNS_QUICK=1); `make test` runs it.
. "$(dirname "$0")/../lib.sh"

out=$("$ROOT_DIR/scripts/soak" --seconds "${SOAK_SECONDS:-30}" --bin "$SVCDNS_BIN" \
	--dns-port "$(free_port)" --reg-port "$(free_port)" --http-port "$(free_port)" 2>&1)
rc=$?
checks=0
while IFS= read -r line; do
	case "$line" in
	"PASS "*) ok 0 "${line#PASS }"; checks=$((checks + 1)) ;;
	"FAIL "*) ok 1 "${line#FAIL }"; checks=$((checks + 1)) ;;
	esac
done <<<"$out"
check "the soak ran all its checks ($checks)" test "$checks" -ge 14
is "$rc" "0" "scripts/soak exit status"
if [ "$TEST_FAILED" -ne 0 ]; then
	grep -vE '^(PASS|FAIL) ' <<<"$out" | tail -n 40 | sed 's/^/# /'
fi

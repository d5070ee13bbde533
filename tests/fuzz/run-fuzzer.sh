#!/usr/bin/env bash
# run-fuzzer.sh FUZZER short RUNS | FUZZER long SECONDS
# short: a fixed number of executions over the seed corpus (make test; prints TAP).
# long:  fuzz for SECONDS, growing the corpus (make fuzz); a crash is saved to
#        tests/fuzz/crashes/ and should be added to the corpus once fixed.
set -u
fuzzer=$1 mode=$2 amount=$3
name=$(basename "$fuzzer"); target=${name#fuzz_}
root=$(cd "$(dirname "$0")" && pwd)
corpus=$root/corpus/$target
mkdir -p "$corpus" "$root/crashes"
scratch=$(mktemp -d /tmp/svcdns-fuzz.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
if [ "$mode" = short ]; then
	"$fuzzer" -runs="$amount" -seed=1 -timeout=10 -rss_limit_mb=4096 -artifact_prefix="$scratch/" \
		"$scratch" "$corpus" >"$scratch/log" 2>&1
	rc=$?
	if [ $rc -eq 0 ]; then
		echo "ok 1 - $name: $amount runs over $(ls "$corpus" | wc -l) seeds, no report"
	else
		echo "not ok 1 - $name: exit $rc"
		grep -E 'ERROR|SUMMARY|runtime error|#0|#1|#2|#3' "$scratch/log" | head -20 | sed 's/^/#   /'
		ls "$scratch"/crash-* "$scratch"/leak-* "$scratch"/timeout-* 2>/dev/null | sed 's/^/#   input: /'
	fi
	exit $rc
fi
"$fuzzer" -max_total_time="$amount" -timeout=10 -rss_limit_mb=4096 \
	-artifact_prefix="$root/crashes/$target-" "$corpus"

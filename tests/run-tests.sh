#!/usr/bin/env bash
# Runs every test against one or more build flavours (build/release, build/asan).
# Unit tests and integration scripts print TAP lines ("ok N - ...", "not ok N - ...");
# this counts them and ends with "N passed, M failed".
set -u
cd "$(dirname "$0")/.."
[ $# -gt 0 ] || set -- build/release
only=${TESTS:-}   # TESTS=t_basic to run matching scripts only
quick=${SVCDNS_QUICK:-}   # SVCDNS_QUICK=1 (make quick): skip scripts marked "# slow-test" and the fuzz targets
jobs=${TEST_JOBS:-1}      # integration scripts run at once; those marked "# alone-test" always run alone

passed=0 failed=0
failures=()
report_one() {  # flavour, label, output, exit status, seconds
	local flavour=$1 label=$2 out=$3 rc=$4 secs=$5 ok nok
	ok=$(grep -cE '^ok ' <<<"$out")
	nok=$(grep -cE '^not ok ' <<<"$out")
	if [ "$rc" -ne 0 ] && [ "$nok" -eq 0 ]; then
		nok=1
		out+=$'\n'"not ok - $label exited with status $rc"
	fi
	passed=$((passed + ok)); failed=$((failed + nok))
	if [ "$nok" -gt 0 ]; then
		failures+=("[$flavour] $label")
		echo "--- [$flavour] $label: $ok passed, $nok failed ($secs)"
		# The failed checks and their "#   got/want" lines first: a test may dump long logs
		# after them.
		awk '/^not ok / { keep = 1; print; next } keep && /^#   / { print; next } { keep = 0 }' <<<"$out" |
			sed 's/^/    /'
		grep -vE '^(not )?ok ' <<<"$out" | tail -n 40 | sed 's/^/    /'
	else
		echo "--- [$flavour] $label: $ok passed ($secs)"
	fi
}

elapsed() {  # start in ns -> "S.s s"
	local d=$(( ($(date +%s%N) - $1) / 100000000 ))
	echo "$((d / 10)).$((d % 10)) s"
}

run_one() {  # flavour, label, command...
	local flavour=$1 label=$2; shift 2
	local out rc t0
	t0=$(date +%s%N)
	out=$("$@" 2>&1); rc=$?
	report_one "$flavour" "$label" "$out" "$rc" "$(elapsed "$t0")"
}

# Runs scripts TEST_JOBS at a time, each into its own files, then reports them in order.
run_scripts_parallel() {  # flavour, scripts...
	local flavour=$1; shift
	local dir i=0 script
	dir=$(mktemp -d /tmp/svcdns-tests.XXXXXX)
	for script in "$@"; do
		while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
		( t0=$(date +%s%N); bash "$script" >"$dir/$i.out" 2>&1; echo $? >"$dir/$i.rc"
		  elapsed "$t0" >"$dir/$i.time" ) &
		i=$((i + 1))
	done
	wait
	i=0
	for script in "$@"; do
		report_one "$flavour" "$(basename "$script")" "$(cat "$dir/$i.out")" "$(cat "$dir/$i.rc")" "$(cat "$dir/$i.time")"
		i=$((i + 1))
	done
	rm -rf "$dir"
}

for flavour in "$@"; do
	export SVCDNS_BIN=$PWD/$flavour/svcdns SVCDNS_TOOLS=$PWD/$flavour/tools SVCDNS_FLAVOUR=$(basename "$flavour")
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=86
	export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=87
	for unit in "$flavour"/tests/test_*; do
		[ -x "$unit" ] || continue
		[ -n "$only" ] && [[ $(basename "$unit") != *$only* ]] && continue
		run_one "$(basename "$flavour")" "$(basename "$unit")" "$unit"
	done
	together=() alone=()
	for script in tests/integration/t_*.sh; do
		[ -n "$only" ] && [[ $(basename "$script") != *$only* ]] && continue
		if [ -n "$quick" ] && grep -q '^# slow-test' "$script"; then
			echo "--- [$(basename "$flavour")] $(basename "$script"): skipped (slow; SVCDNS_QUICK)"
			continue
		fi
		if [ "$jobs" -gt 1 ] && grep -q '^# alone-test' "$script"; then
			alone+=("$script")
		elif [ "$jobs" -gt 1 ]; then
			together+=("$script")
		else
			run_one "$(basename "$flavour")" "$(basename "$script")" bash "$script"
		fi
	done
	[ ${#together[@]} -gt 0 ] && run_scripts_parallel "$(basename "$flavour")" "${together[@]}"
	for script in "${alone[@]+"${alone[@]}"}"; do
		run_one "$(basename "$flavour")" "$(basename "$script")" bash "$script"
	done
done

# Every fuzz target, a fixed number of executions over its seed corpus.
for fuzzer in build/fuzz/fuzz_*; do
	[ -x "$fuzzer" ] && [ -z "$quick" ] || continue
	[ -n "$only" ] && [[ $(basename "$fuzzer") != *$only* ]] && continue
	run_one fuzz "$(basename "$fuzzer")" tests/fuzz/run-fuzzer.sh "$fuzzer" short "${FUZZ_RUNS:-3000}"
done

echo
for f in "${failures[@]+"${failures[@]}"}"; do echo "FAILED: $f"; done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

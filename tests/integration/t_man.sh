#!/usr/bin/env bash
# The man pages svcdns(8), svcdnsctl(1), svcdns.yml(5): clean under `mandoc -Tlint`
# (warnings included), and complete: every flag of `svcdns --help` and `svcdnsctl --help`
# and every config key of the README's table is in its page.
. "$(dirname "$0")/../lib.sh"
cd "$ROOT_DIR" || exit 1
CTL=$(dirname "$SVCDNS_BIN")/svcdnsctl
for page in man/svcdns.8 man/svcdnsctl.1 man/svcdns.yml.5; do
	out=$(mandoc -Tlint -Wwarning "$page" 2>&1); rc=$?
	is "$rc:$out" "0:" "mandoc -Tlint $page: clean"
done
broken=$WORK/broken.1
printf '.Dd December 3, 2026\n.Dt BROKEN 1\n.Os\n.Sh NAME\n.Nm broken\n.Bl -tag\n.It x\n' >"$broken"
check "mandoc -Tlint fails on a broken page" bash -c "! mandoc -Tlint -Wwarning '$broken' >/dev/null 2>&1"

text() { mandoc -Tascii "$1" | col -b; }
missing=""
for flag in $("$SVCDNS_BIN" --help | grep -oE -- '--[a-z-]+' | sort -u); do
	text man/svcdns.8 | grep -qF -- "$flag" || missing+=" $flag"
done
is "$missing" "" "svcdns(8) names every flag of svcdns --help"
missing=""
for flag in $("$CTL" --help | grep -oE -- '(^| )--[a-z-]+' | tr -d ' ' | sort -u); do
	text man/svcdnsctl.1 | grep -qF -- "$flag" || missing+=" $flag"
done
is "$missing" "" "svcdnsctl(1) names every flag of svcdnsctl --help"
missing=""
keys=$(sed -n '/^| key | type | default | meaning |/,/^$/p' README.md | sed -n 's/^| `\([^`]*\)`.*/\1/p')
for key in $keys; do
	text man/svcdns.yml.5 | grep -qF -- "$key" || missing+=" $key"
done
check "the README lists config keys" test -n "$keys"
is "$missing" "" "svcdns.yml(5) names every config key of the README"

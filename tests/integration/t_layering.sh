#!/usr/bin/env bash
# Layering, from the compiler's own dependency output: the .d files -MMD writes for this
# flavour's server objects ($FLAVOUR/obj/server/*.d; `cc -MM` where one is missing) and
# `cc -MM` on every server/*.h. Both list every header a file pulls in, directly or
# through other headers.
#  (a) no file under server/ pulls in server.h except server.c, main.c and reload.c;
#  (b) no include cycle among server/*.h (two headers that each pull in the other).
. "$(dirname "$0")/../lib.sh"
cd "$ROOT_DIR" || exit 1

# Files that still pull in server.h, and cycles (each as its headers, sorted, joined by
# "+"). Each shrinks to nothing as the seams land: a file here is reported as known, not
# as a failure, and a file here that no longer breaks the rule fails until it is removed.
SERVER_H_ALLOWED=""
CYCLES_ALLOWED=""

SERVER_H_OWNERS="server.c main.c reload.c"
FLAVOUR_DIR=$(dirname "$SVCDNS_BIN")
PKGS="ldns libevent yaml-0.1 libcrypto jansson"
# shellcheck disable=SC2207,SC2086
MM=(cc -MM -Iinclude -Iserver -Iclient -D_GNU_SOURCE $(pkg-config --cflags $PKGS 2>/dev/null))

# deps FILE: the headers FILE pulls in (one a line, as the compiler names them), from its
# .d file when the flavour has a current one, else from `cc -MM`.
deps() {
	local f=$1 d out
	d=$FLAVOUR_DIR/obj/${f%.c}.d
	if [[ $f == *.c && -s $d && ! $d -ot $f ]]; then
		out=$(cat "$d")
	else
		out=$("${MM[@]}" "$f") || return 1
	fi
	# The first rule only (-MP adds empty rules after it); drop the target and FILE itself.
	sed -e ':a' -e '/\\$/{N;s/\\\n/ /;ba' -e '}' <<<"$out" | head -n 1 |
		cut -d: -f2- | tr -s ' \t' '\n' | grep -v -x -e '' -e "$f"
	return 0
}

in_list() { [[ " $2 " == *" $1 "* ]]; }

# --- (a) server.h --------------------------------------------------------------------
declare -A HDEPS
pulls=()
nfiles=0
for f in server/*.c server/*.h; do
	b=$(basename "$f")
	if ! list=$(deps "$f"); then ok 1 "dependencies of $f"; continue; fi
	nfiles=$((nfiles + 1))
	[[ $f == *.h ]] && HDEPS[$f]=$list
	if [ "$b" != server.h ] && grep -qx 'server/server.h' <<<"$list"; then
		pulls+=("$b")
		if in_list "$b" "$SERVER_H_OWNERS"; then
			ok 0 "$b includes server.h (one of its owners)"
		elif in_list "$b" "$SERVER_H_ALLOWED"; then
			ok 0 "$b includes server.h # known: SERVER_H_ALLOWED, shrinks as the seams land"
		else
			ok 1 "$b includes server.h: only $SERVER_H_OWNERS may"
			echo "#   $f pulls in: $(tr '\n' ' ' <<<"$list")"
		fi
	fi
done
like "$nfiles" '^[1-9][0-9]*$' "dependency output read for $nfiles files under server/"
check "server.c's dependency output names server.h (the check can see it)" in_list server.c "${pulls[*]-}"
for b in $SERVER_H_ALLOWED; do
	if ! in_list "$b" "${pulls[*]-}"; then
		ok 1 "$b no longer includes server.h: remove it from SERVER_H_ALLOWED in $0"
	fi
done

# --- (b) cycles among server/*.h ------------------------------------------------------
# A includes B directly or not when B is in A's list; a cycle is two headers each in the
# other's list. One line per cycle: its headers, sorted, joined by "+".
cycles=$(
	for a in "${!HDEPS[@]}"; do
		comp=$(for b in $(grep '^server/.*\.h$' <<<"${HDEPS[$a]}"); do
			[ "$b" != "$a" ] && grep -qx "$a" <<<"${HDEPS[$b]-}" && basename "$b"
		done)
		[ -n "$comp" ] && { basename "$a"; echo "$comp"; } | sort -u | paste -sd+
	done | sort -u
)
is "${#HDEPS[@]}" "$(ls server/*.h | wc -l)" "cc -MM read every server/*.h"
for c in $cycles; do
	if in_list "$c" "$CYCLES_ALLOWED"; then
		ok 0 "include cycle $c # known: CYCLES_ALLOWED, shrinks as the seams land"
	else
		ok 1 "include cycle among server/*.h: $c"
	fi
done
for c in $CYCLES_ALLOWED; do
	in_list "$c" "$cycles" || ok 1 "cycle $c is gone: remove it from CYCLES_ALLOWED in $0"
done
[ -z "$cycles" ] && ok 0 "no include cycle among server/*.h"
true

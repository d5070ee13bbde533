# tests/secondaries.sh -- real NSD and Knot DNS secondaries of svc.internal for the
# transfer tests (source it after lib.sh).
#
# Each secondary runs from examples/secondaries/nsd.conf or knot.conf, the files the
# README documents, rewritten by sed for a loopback port, a private directory and this
# run's TSIG secret and nothing else; svcdns's config comes from
# examples/secondaries/svcdns.yml the same way. Every process is started in the
# foreground of a background job, recorded by PID and stopped by that PID.

EXAMPLES=$ROOT_DIR/examples/secondaries
XFR_SECRET=${XFR_SECRET:-$(openssl rand -base64 32)}
XFR_KEY=hmac-sha256:xfr:$XFR_SECRET
ZONE=svc.internal
declare -A SEC_PORT=() SEC_PID=() SEC_KIND=() SEC_DIR=()
SECONDARIES=()    # names of the secondaries that follow every change

# now_ms: sets NOW to the wall clock in milliseconds, without a fork.
now_ms() { local t=${EPOCHREALTIME//[.,]/}; NOW=$((t / 1000)); }

# sed_example FILE SED-ARGS...: FILE from examples/secondaries, rewritten.
sed_example() {
	local file=$1; shift
	sed "$@" -e "s|PASTE-THE-BASE64-SECRET-HERE|$XFR_SECRET|" "$EXAMPLES/$file"
}

# svcdns_conf PRIMARY_PORT NOTIFY-PORT... > FILE: examples/secondaries/svcdns.yml with
# svcdns on 127.0.0.1:PRIMARY_PORT, transfers allowed from 127.0.0.1/32 only (so that
# 127.0.0.2 is outside), and NOTIFY to the first two ports in place of NSD and Knot;
# further ports are added as notify targets after them.
svcdns_conf() {
	local primary=$1 nsd=$2 knot=$3 extra="" p
	shift 3
	for p in "$@"; do extra+="\\n    - {to: \"127.0.0.1:$p\", key: xfr}"; done
	sed_example svcdns.yml \
		-e "s|\"10.0.0.53:53\"|\"127.0.0.1:$primary\"|" \
		-e "s|from: 10.0.1.0/24|from: 127.0.0.1/32|" \
		-e "s|\"10.0.1.10:53\"|\"127.0.0.1:$nsd\"|" \
		-e "s|\"10.0.1.11:53\", key: xfr}\\(.*\\)|\"127.0.0.1:$knot\", key: xfr}\\1$extra|"
}

# nsd_conf DIR PORT PRIMARY_PORT > FILE
nsd_conf() {
	sed_example nsd.conf \
		-e "s|ip-address: 10.0.1.10 |ip-address: 127.0.0.1@$2 |" \
		-e 's|username: nsd |username: "" |' \
		-e "s|/var/lib/nsd|$1|g" -e "s|/run/nsd|$1|g" \
		-e "s|10.0.0.53@53 |127.0.0.1@$3 |" \
		-e "s|allow-notify: 10.0.0.53 |allow-notify: 127.0.0.1 |"
}

# knot_conf DIR PORT PRIMARY_PORT > FILE
knot_conf() {
	sed_example knot.conf \
		-e "s|listen: 10.0.1.11@53 |listen: 127.0.0.1@$2 |" \
		-e '/user: knot:knot /d' \
		-e 's|target: syslog|target: stderr|' \
		-e "s|/run/knot|$1/run|g" -e "s|/var/lib/knot|$1/db|g" \
		-e "s|address: 10.0.0.53@53|address: 127.0.0.1@$3|" \
		-e "s|address: 10.0.0.53$|address: 127.0.0.1|"
}

# add_secondary KIND NAME PRIMARY_PORT: writes NAME's config (KIND nsd or knot) in
# $WORK/NAME on a fresh port, checks it with the server's own checker, and records
# it; start_secondary starts it.
add_secondary() {
	local kind=$1 name=$2 primary=$3 dir=$WORK/$2 port
	port=$(free_port) || return 1
	mkdir -p "$dir/run" "$dir/db"
	SEC_KIND[$name]=$kind SEC_PORT[$name]=$port SEC_DIR[$name]=$dir
	case $kind in
	nsd)
		nsd_conf "$dir" "$port" "$primary" >"$dir/nsd.conf"
		nsd-checkconf "$dir/nsd.conf" >"$dir/checkconf.log" 2>&1 ;;
	knot)
		knot_conf "$dir" "$port" "$primary" >"$dir/knot.conf"
		knotc -c "$dir/knot.conf" conf-check >"$dir/checkconf.log" 2>&1 ;;
	esac || { echo "# $name: $kind config refused:"; sed 's/^/#   /' "$dir/checkconf.log"; return 1; }
	if grep -nE '10\.0\.|PASTE|/var/lib|/run/(nsd|knot)' "$dir/$kind.conf" | grep -v '^[0-9]*: *#' >"$dir/leftover"; then
		echo "# $name: the example's addresses or paths survived the rewrite:"; sed 's/^/#   /' "$dir/leftover"
		return 1
	fi
}

# start_secondary NAME: starts it in the foreground of a background job (its log in
# $WORK/NAME/log), so that its PID is the server's own.
start_secondary() {
	local name=$1 dir=${SEC_DIR[$1]}
	case ${SEC_KIND[$name]} in
	nsd)  nsd -d -V 2 -c "$dir/nsd.conf" >>"$dir/log" 2>&1 & ;;
	knot) rm -f "$dir/run/knot.pid"   # a stale pidfile after kill -9 stops knotd
	      knotd -c "$dir/knot.conf" >>"$dir/log" 2>&1 & ;;
	esac
	SEC_PID[$name]=$!
	on_exit "stop_secondary $name"
}

# stop_secondary NAME: SIGTERM, up to 5 s to exit, then SIGKILL.
stop_secondary() {
	local pid=${SEC_PID[$1]:-}
	[ -n "$pid" ] || return 0
	SEC_PID[$1]=""
	kill -TERM "$pid" 2>/dev/null
	for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

# serial_at PORT: the SOA serial of svc.internal at 127.0.0.1:PORT, empty if none.
serial_at() {
	dig @127.0.0.1 -p "$1" +norec +time=1 +tries=1 +short "$ZONE" SOA 2>/dev/null | grep -v '^;' | awk 'NR == 1 {print $3}'
}

# has_serial PORT SERIAL
has_serial() { [ "$(serial_at "$1")" = "$2" ]; }

# serial_newer A B: true when serial A is newer than B in RFC 1982 arithmetic.
serial_newer() {
	local d=$(( ($1 - $2 + 4294967296) % 4294967296 ))
	[ "$d" -gt 0 ] && [ "$d" -lt 2147483648 ]
}

# answer_set PORT NAME TYPE: the sorted rdata of an answer, one per line.
answer_set() {
	dig @127.0.0.1 -p "$1" +norec +time=1 +tries=1 +short "$2" "$3" 2>/dev/null | grep -v '^;' | sort
}

# follow DESCRIPTION T0 CHECK ARGS...: polls the primary ($PORT) and every secondary
# with `CHECK ARGS... PORT` until it passes on each, for up to 3 s after T0 (ms, taken
# before the change was sent). Prints each one's delay as a TAP comment and asserts
# that every secondary passed within 1000 ms. The primary's own delay is reported, not
# asserted.
FOLLOW_LIMIT_MS=${FOLLOW_LIMIT_MS:-1000}
PRIMARY_NAME=${PRIMARY_NAME:-svcdns}
follow() {
	local desc=$1 t0=$2 name all=("$PRIMARY_NAME" "${SECONDARIES[@]}") report="" slow=""
	shift 2
	local -A at=()
	local -A port=(["$PRIMARY_NAME"]=$PORT)
	for name in "${SECONDARIES[@]}"; do port[$name]=${SEC_PORT[$name]}; done
	while :; do
		for name in "${all[@]}"; do
			[ -n "${at[$name]:-}" ] && continue
			if "$@" "${port[$name]}" >/dev/null 2>&1; then now_ms; at[$name]=$((NOW - t0)); fi
		done
		[ ${#at[@]} -eq ${#all[@]} ] && break
		now_ms; [ $((NOW - t0)) -ge 3000 ] && break
	done
	for name in "${all[@]}"; do
		report+=" $name ${at[$name]:-(not after 3000)} ms,"
		[ "$name" = "$PRIMARY_NAME" ] && continue
		if [ -z "${at[$name]:-}" ] || [ "${at[$name]}" -gt "$FOLLOW_LIMIT_MS" ]; then slow+=" $name"; fi
	done
	echo "# $desc:${report%,}"
	if [ -z "$slow" ]; then ok 0 "$desc: on every secondary within $FOLLOW_LIMIT_MS ms"
	else ok 1 "$desc: on every secondary within $FOLLOW_LIMIT_MS ms (too slow:$slow)"; fi
}

# settle: waits until every secondary holds the primary's serial, then a second more, so
# that the next change is timed on its own. Knot DNS 3.2 now and then takes up to a
# second more for a NOTIFY that comes within a second of its last transfer (seen here
# with svcdns and with a Knot primary: 200-950 ms at gaps of 0.1-0.7 s, after its first
# load and after a primary's restart; never after a quiet second). That is Knot's delay,
# not the primary's.
settle() {
	local name serial
	serial=$(serial_at "$PORT")
	for name in "${SECONDARIES[@]}"; do wait_for 3 has_serial "${SEC_PORT[$name]}" "$serial"; done
	sleep 1.1
}

# secondary_logs: the tail of every secondary's log, as TAP comments (after a failure).
secondary_logs() {
	local name
	for name in "${!SEC_DIR[@]}"; do
		[ -s "${SEC_DIR[$name]}/log" ] || continue
		echo "# $name log (last 15 lines):"; tail -n 15 "${SEC_DIR[$name]}/log" | sed 's/^/#   /'
	done
}

# ---- transfers from the primary at 127.0.0.1:$PORT -----------------------------------
# xfr TOOL ARGS...: a signed transfer with dig or kdig over TCP, its records one per line
# as "NAME TTL TYPE RDATA" (class dropped, blanks squeezed), in the order sent. Fails
# when the tool says anything else (an error, a signature it could not verify): with
# +noall +answer a good transfer prints records only.
xfr() {
	local tool=$1 out opts; shift
	case $tool in
	dig)  opts=(+time=3 +tries=1) ;;
	kdig) opts=(+timeout=3 +retry=0) ;;
	esac
	out=$("$tool" @127.0.0.1 -p "$PORT" +tcp "${opts[@]}" +noall +answer -y "$XFR_KEY" "$@" 2>&1) &&
		! grep -q '^;' <<<"$out" || { echo "# $tool $*: failed:"; sed 's/^/#   /' <<<"$out"; return 1; } >&2
	awk '$3 == "IN" { $3 = ""; print }' <<<"$out" | tr -s ' \t' ' '
}
# records: "NAME TYPE RDATA" without the TTL (stdin: xfr's output).
records() { awk '{ $2 = ""; print }' | tr -s ' '; }
# first_soa FILE N: "TYPE SERIAL" of record N of a transfer (SERIAL is meant for a SOA).
first_soa() { awk -v n="$2" 'NR == n {print $3, $6}' "$1"; }

# ixfr_diff FILE: the net change of an IXFR answer in FILE (xfr output) as "-RECORD" and
# "+RECORD" lines, sorted: the sequences of RFC 1995 applied in order, so a condensed
# answer and one sequence per version give the same lines.
ixfr_diff() {
	records <"$1" | awk 'NR <= 2 { next }              # the new SOA, then the old one
		$2 == "SOA" { adding = !adding; next }
		{ key = $0
		  if (adding) { if (key in del) delete del[key]; else add[key] = 1 }
		  else        { if (key in add) delete add[key]; else del[key] = 1 } }
		END { for (k in del) print "-" k; for (k in add) print "+" k }' | sort
}

# refusal NAME ARGS...: dig and kdig with ARGS (key, source) get no zone and an error.
refusal() {
	local desc=$1 out; shift
	out=$(dig @127.0.0.1 -p "$PORT" +tcp +time=3 +tries=1 "$@" $ZONE AXFR 2>&1)
	ok "$(grep -cE "[[:space:]]SOA[[:space:]]" <<<"$out")" "$desc (dig): no record of the zone"
	like "$out" "Transfer failed|REFUSED|NOTAUTH|BADKEY|BADSIG" "$desc (dig): the transfer failed"
	out=$(kdig @127.0.0.1 -p "$PORT" +tcp +timeout=3 +retry=0 "$@" $ZONE AXFR 2>&1)
	like "$out" "error '(REFUSED|NOTAUTH|BADKEY|BADSIG)'" "$desc (kdig): REFUSED, or NOTAUTH with BADKEY/BADSIG"
}

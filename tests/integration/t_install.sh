#!/usr/bin/env bash
# make install PREFIX=/usr/local DESTDIR=...: binaries, libsvcdns.a, the header, man pages,
# bash completion, /etc/svcdns/svcdns.yml (kept on a second install) and the systemd unit
# with its required settings; `systemd-analyze verify` on the unit; and the installed
# binary run as the unit runs it: the unit's user (svcdns when the host has it, else
# nobody in its place; t_deb.sh runs as svcdns itself), only CAP_NET_BIND_SERVICE, port
# 53, in a network namespace of its own. Without the capability it cannot bind port 53.
. "$(dirname "$0")/../lib.sh"
case "${SVCDNS_FLAVOUR:-release}" in
release) ;;
*) echo "ok 1 - # SKIP installs the release build only (flavour ${SVCDNS_FLAVOUR})"; exit 0 ;;
esac
cd "$ROOT_DIR" || exit 1
R=$WORK/root
out=$(make -s --no-print-directory install DESTDIR="$R" PREFIX=/usr/local 2>&1); rc=$?
is "$rc" "0" "make install DESTDIR=... PREFIX=/usr/local"
[ "$rc" -eq 0 ] || { echo "$out" | tail -5 | sed 's/^/# /'; exit 1; }
for f in usr/local/bin/svcdns usr/local/bin/svcdnsctl usr/local/lib/libsvcdns.a \
	usr/local/include/svcdns/client.h usr/local/share/man/man8/svcdns.8 \
	usr/local/share/man/man1/svcdnsctl.1 usr/local/share/man/man5/svcdns.yml.5 \
	usr/local/share/bash-completion/completions/svcdnsctl etc/svcdns/svcdns.yml \
	etc/systemd/system/svcdns.service; do
	check "installed: /$f" test -s "$R/$f"
done
check "installed: /etc/svcdns/zones/" test -d "$R/etc/svcdns/zones"
check "svcdns is executable" test -x "$R/usr/local/bin/svcdns"
echo "# edited" >>"$R/etc/svcdns/svcdns.yml"
make -s --no-print-directory install DESTDIR="$R" PREFIX=/usr/local >/dev/null 2>&1
check "a second install keeps an edited /etc/svcdns/svcdns.yml" grep -q '^# edited' "$R/etc/svcdns/svcdns.yml"
check "the installed config is valid" "$R/usr/local/bin/svcdns" --config "$R/etc/svcdns/svcdns.yml" --check-config

UNIT=$R/etc/systemd/system/svcdns.service
for want in 'User=svcdns' 'AmbientCapabilities=CAP_NET_BIND_SERVICE' 'ExecReload=/bin/kill -HUP $MAINPID' \
	'StateDirectory=svcdns' 'ProtectSystem=strict' 'NoNewPrivileges=yes' \
	'ExecStart=/usr/local/bin/svcdns --config /etc/svcdns/svcdns.yml --state /var/lib/svcdns/svcdns.state --pid-file /run/svcdns/svcdns.pid'; do
	check "unit: $want" grep -qxF -- "$want" "$UNIT"
done
# systemd-analyze checks the unit against the binaries it names: point them into DESTDIR.
sed "s|/usr/local/bin/|$R/usr/local/bin/|g" "$UNIT" >"$WORK/svcdns.service"
out=$(systemd-analyze verify --man=no "$WORK/svcdns.service" 2>&1); rc=$?
is "$rc:$out" "0:" "systemd-analyze verify: no complaint"
sed 's|^ExecReload=.*|ExecReload=/bin/kil -HUP $MAINPID|' "$WORK/svcdns.service" >"$WORK/broken.service"
check "systemd-analyze verify catches a broken unit" bash -c "! systemd-analyze verify --man=no '$WORK/broken.service' >/dev/null 2>&1"

# Run as the unit does: its user, its one capability, its command line, port 53.
user=$(sed -n 's/^User=//p' "$UNIT")
getent passwd "$user" >/dev/null || user=nobody
chmod 755 "$WORK"   # the unit's user reads the installed tree under it
mkdir -p "$WORK/state" && chown "$user" "$WORK/state"
cat >"$WORK/inner.sh" <<SH
ip link set lo up
run() { exec setpriv --reuid="$user" --regid="\$(id -g "$user")" --clear-groups --no-new-privs \\
	--inh-caps=-all\$1 --ambient-caps=-all\$1 --bounding-set=-all\$1 \\
	"$R/usr/local/bin/svcdns" --config "$R/etc/svcdns/svcdns.yml" --state "$WORK/state/svcdns.state" \\
	--pid-file "$WORK/state/svcdns.pid" ; }
(run "") >"$WORK/nocap.log" 2>&1; echo "nocap=\$?"
run ",+net_bind_service" >"$WORK/cap.log" 2>&1 &
pid=\$!   # run execs: \$! is svcdns itself
for _ in \$(seq 1 100); do
	dig @127.0.0.1 -p 53 +time=1 +tries=1 svc.internal SOA 2>/dev/null | grep -q 'status: NOERROR' && break
	sleep 0.1
done
echo "soa=\$(dig @127.0.0.1 -p 53 +time=1 +tries=1 +short svc.internal SOA | grep -vc '^;')"
echo "uid=\$(awk '/^Uid:/ { print \$2 }' /proc/\$pid/status) want=\$(id -u "$user")"
echo "capeff=\$(awk '/^CapEff:/ { print \$2 }' /proc/\$pid/status)"
echo "pidfile=\$(cat "$WORK/state/svcdns.pid")=\$pid"
kill -HUP \$pid; sleep 0.3
echo "alive_after_hup=\$(kill -0 \$pid && echo yes)"
kill -TERM \$pid; wait \$pid; echo "exit=\$?"
SH
res=$(unshare --net bash "$WORK/inner.sh" 2>&1)
is "$(sed -n 's/^nocap=//p' <<<"$res")" "1" "as $user without the capability: cannot bind port 53 (exit 1)"
check "  ... and says why" grep -q "cannot bind udp 0.0.0.0:53: Permission denied" "$WORK/nocap.log"
is "$(sed -n 's/^soa=//p' <<<"$res")" "1" "as $user with CAP_NET_BIND_SERVICE: serves port 53"
like "$(sed -n 's/^uid=//p' <<<"$res")" "^([0-9]+) want=\\1$" "the server runs as $user"
is "$(sed -n 's/^capeff=//p' <<<"$res")" "0000000000000400" "its only capability is CAP_NET_BIND_SERVICE"
like "$(sed -n 's/^pidfile=//p' <<<"$res")" "^([0-9]+)=\\1$" "--pid-file holds its PID"
is "$(sed -n 's/^alive_after_hup=//p' <<<"$res")" "yes" "ExecReload's SIGHUP reloads, the server stays"
is "$(sed -n 's/^exit=//p' <<<"$res")" "0" "SIGTERM: clean exit"
check "the reload was logged" grep -q "received SIGHUP" "$WORK/cap.log"
check "the state file was written by the unit's user" test -e "$WORK/state/svcdns.state"

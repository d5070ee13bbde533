#!/usr/bin/env bash
# slow-test
# make deb, then the package in a throwaway Debian 12 (debootstrap minbase chroot, cached
# as a tarball under build/t_deb/ so later runs take seconds): dpkg -i creates the system
# user svcdns and enables the unit; the installed binary serves port 53 as svcdns with
# only CAP_NET_BIND_SERVICE (in a network namespace of the test's) against the package's
# own config; dpkg --purge removes every file, the link enabling the unit, and the user.
. "$(dirname "$0")/../lib.sh"
case "${SVCDNS_FLAVOUR:-release}" in
release) ;;
*) echo "ok 1 - # SKIP packages the release build only (flavour ${SVCDNS_FLAVOUR})"; exit 0 ;;
esac
cd "$ROOT_DIR" || exit 1
deb=$(make -s --no-print-directory deb 2>&1 | tail -1)
check "make deb builds build/svcdns_VERSION_amd64.deb" test -s "$deb"
like "$deb" "^build/svcdns_[0-9]+\\.[0-9]+\\.[0-9]+_amd64\\.deb$" "the package's file name"
info=$(dpkg-deb -f "$deb" Package Version Architecture)
like "$info" "Package: svcdns" "control: Package svcdns"

CACHE=$ROOT_DIR/build/t_deb
TARBALL=$CACHE/bookworm-minbase.tar
# The chroot holds what the package says it needs (and the unit's helpers), nothing more:
# a library missing from Depends makes the installed binary fail below.
DEPS=$(dpkg-deb -f "$deb" Depends | tr -d ' '),init-system-helpers
MIRROR=$(sed -n 's/^URIs: *\(http[^ ]*debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
MIRROR=${MIRROR:-http://deb.debian.org/debian}
if [ ! -s "$TARBALL" ] || [ "$(cat "$CACHE/includes" 2>/dev/null)" != "$DEPS" ]; then
	mkdir -p "$CACHE"
	rm -rf "$CACHE/root"
	if debootstrap --variant=minbase --include="$DEPS" bookworm "$CACHE/root" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 &&
	   tar -C "$CACHE/root" -cf "$TARBALL.tmp" . && mv "$TARBALL.tmp" "$TARBALL"; then
		echo "$DEPS" >"$CACHE/includes"
	fi
	rm -rf "$CACHE/root"
fi
check "a Debian 12 chroot (debootstrap, cached in build/t_deb/)" test -s "$TARBALL"
[ -s "$TARBALL" ] || { tail -5 "$CACHE/debootstrap.log" | sed 's/^/# /'; exit 1; }
C=$WORK/chroot
mkdir -p "$C" && tar -C "$C" -xf "$TARBALL"
on_exit "rm -rf '$C'"
cp "$deb" "$C/tmp/svcdns.deb"
in_chroot() { chroot "$C" "$@"; }

out=$(in_chroot dpkg -i /tmp/svcdns.deb 2>&1); rc=$?
is "$rc" "0" "dpkg -i svcdns.deb"
[ "$rc" -eq 0 ] || { echo "$out" | tail -5 | sed 's/^/# /'; exit 1; }
like "$(in_chroot getent passwd svcdns)" "^svcdns:x:[0-9]+:[0-9]+:.*:/var/lib/svcdns:/usr/sbin/nologin$" "the package created the system user svcdns"
check "the unit is enabled (multi-user.target.wants)" test -L "$C/etc/systemd/system/multi-user.target.wants/svcdns.service"
for f in /usr/bin/svcdns /usr/bin/svcdnsctl /usr/lib/libsvcdns.a /usr/include/svcdns/client.h \
	/usr/share/man/man8/svcdns.8 /etc/svcdns/svcdns.yml /lib/systemd/system/svcdns.service; do
	check "installed: $f" test -s "$C$f"
done
check "the unit runs /usr/bin/svcdns" grep -q '^ExecStart=/usr/bin/svcdns ' "$C/lib/systemd/system/svcdns.service"
like "$(in_chroot /usr/bin/svcdns --version)" "^svcdns [0-9]" "the installed binary runs in Debian 12"

# Run it there as the unit does: svcdns, CAP_NET_BIND_SERVICE alone, the package's config.
mkdir -p "$C/var/lib/svcdns" && in_chroot chown svcdns:svcdns /var/lib/svcdns
cat >"$WORK/inner.sh" <<SH
ip link set lo up
chroot "$C" setpriv --reuid=svcdns --regid=svcdns --clear-groups --no-new-privs \\
	--inh-caps=-all,+net_bind_service --ambient-caps=-all,+net_bind_service --bounding-set=-all,+net_bind_service \\
	/usr/bin/svcdns --config /etc/svcdns/svcdns.yml --state /var/lib/svcdns/svcdns.state >"$WORK/chroot.log" 2>&1 &
pid=\$!
for _ in \$(seq 1 100); do
	dig @127.0.0.1 +time=1 +tries=1 svc.internal SOA 2>/dev/null | grep -q 'status: NOERROR' && break
	sleep 0.1
done
echo "reg=\$(chroot "$C" svcdnsctl register web w1 10.1.2.3 80 2>&1)"
echo "a=\$(dig @127.0.0.1 +time=1 +tries=1 +short web.svc.internal A | grep -v '^;')"
echo "user=\$(ps -o user= -p \$pid)"
kill -TERM \$pid; wait \$pid; echo "exit=\$?"
SH
res=$(unshare --net bash "$WORK/inner.sh" 2>&1)
is "$(sed -n 's/^reg=//p' <<<"$res")" "OK ttl=30" "the installed svcdnsctl registers with the installed server"
is "$(sed -n 's/^a=//p' <<<"$res")" "10.1.2.3" "it answers on port 53"
like "$(sed -n 's/^user=//p' <<<"$res")" "^(svcdns|[0-9]+)$" "it runs as svcdns"
is "$(sed -n 's/^exit=//p' <<<"$res")" "0" "clean exit on SIGTERM"
check "its state file belongs to svcdns" test -n "$(find "$C/var/lib/svcdns/svcdns.state" -user "$(in_chroot id -u svcdns)" 2>/dev/null)"

out=$(in_chroot dpkg --purge svcdns 2>&1); rc=$?
is "$rc" "0" "dpkg --purge svcdns"
left=""
for f in /usr/bin/svcdns /usr/bin/svcdnsctl /usr/lib/libsvcdns.a /etc/svcdns /var/lib/svcdns \
	/lib/systemd/system/svcdns.service /etc/systemd/system/multi-user.target.wants/svcdns.service; do
	[ -e "$C$f" ] || [ -L "$C$f" ] && left+=" $f"
done
is "$left" "" "purge leaves no file behind"
check "purge removed the user" bash -c "! chroot '$C' getent passwd svcdns >/dev/null"
is "$(in_chroot dpkg-query -W -f='${Status}' svcdns 2>&1 | grep -c 'install ok')" "0" "dpkg knows it no more"

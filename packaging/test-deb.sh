#!/usr/bin/env bash
# Installs the Debian package into a clean Debian (a debootstrap tree) and
# starts the server from it the way the unit would: as user qiao, with
# /etc/qiao/qiao.toml. Run as root (chroot). Not part of CI: it downloads a
# Debian base system (about 150 MB) on first use.
#
#   cargo install cargo-deb && cargo deb -p qiao --strip
#   packaging/test-deb.sh target/debian/qiao_*.deb [/tmp/deb-root]
set -euo pipefail
deb="$(realpath "$1")"
root="${2:-/tmp/deb-root}"
port=18181

if [ ! -x "$root/usr/bin/apt-get" ]; then
    debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian
fi
cp /etc/resolv.conf "$root/etc/resolv.conf"
mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"
trap 'umount "$root/proc" 2>/dev/null || true' EXIT

cp "$deb" "$root/tmp/qiao.deb"
chroot "$root" apt-get install -y -qq /tmp/qiao.deb
chroot "$root" dpkg -s qiao | grep -q '^Status: install ok installed'
chroot "$root" getent passwd qiao >/dev/null
test -f "$root/lib/systemd/system/qiao.service" || test -f "$root/usr/lib/systemd/system/qiao.service"
test -f "$root/etc/qiao/qiao.toml"

# Start it as the unit would (no systemd inside a chroot), check it serves,
# then stop it with SIGTERM and expect a clean exit.
chroot "$root" su qiao -s /bin/sh -c \
    "cd /var/lib/qiao && QIAO_LISTEN=127.0.0.1:$port exec /usr/bin/qiao serve --config /etc/qiao/qiao.toml" \
    >"$root/tmp/qiao.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do
    if curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then break; fi
    sleep 0.1
done
curl -fsS "http://127.0.0.1:$port/readyz"
echo
test -f "$root/var/lib/qiao/qiao.db"
pkill -TERM -x qiao
wait "$server"
echo "the package installs on a clean Debian, starts as user qiao, serves, and stops on SIGTERM"

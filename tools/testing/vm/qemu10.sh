#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# QEMU 10 next to Debian 12's QEMU 7.2.  7.2 predates VFIO migration v2 and
# the iommufd backend; Debian's bookworm-backports carries QEMU 10 built for
# Debian 12.  Installing it would replace 7.2, which Debian 12 users run and
# our e2e must keep covering, so unpack the packages into a private prefix
# instead, with a private apt sources file and lists directory (the
# system's apt configuration is not touched).  The binary runs with
# bookworm's own libraries.
#
#   qemu10.sh [--print]
#
# Idempotent: does nothing once the prefix holds a QEMU whose --version
# says 10.  Prints the path of qemu-system-x86_64; give it its firmware
# with -L <prefix>/usr/share/qemu -L /usr/share/seabios (the prefix is the
# binary's path without /usr/bin/qemu-system-x86_64), and its own modules
# (display back ends such as egl-headless and dbus) with
# QEMU_MODULE_DIR=<prefix>/usr/lib/x86_64-linux-gnu/qemu: it would otherwise
# look only in Debian's directory, where 7.2's modules refuse to load.
# --print only prints the path and fails if it is not there yet (for the
# VM, whose root is read-only).

set -euo pipefail

prefix=${MDEV_QEMU10_PREFIX:-/var/cache/mdev/qemu10}
bin=$prefix/usr/bin/qemu-system-x86_64
# Packages: the emulator, its shared modules and data, and the OpenGL and
# D-Bus display modules (mbochs' dma-buf plane).  Everything else they link
# against is in bookworm (checked below with ldd).
pkgs=(qemu-system-x86 qemu-system-common qemu-system-data qemu-system-modules-opengl)
mirror=${MDEV_DEBIAN_MIRROR:-http://deb.debian.org/debian}

is_ten() {
	[ -x "$bin" ] &&
		"$bin" -L "$prefix/usr/share/qemu" --version 2>/dev/null |
		grep -q '^QEMU emulator version 10\.'
}

if [ "${1:-}" = --print ]; then
	# A module that needs a library this machine lacks only fails when used:
# say which, without failing (the emulator itself does not need them).
for m in "$prefix"/usr/lib/x86_64-linux-gnu/qemu/*.so; do
	if ldd "$m" | grep -q 'not found'; then
		echo "qemu10: note: module $(basename "$m") lacks:" \
			"$(ldd "$m" | awk '/not found/ { printf "%s ", $1 }')" >&2
	fi
done
is_ten || { echo "qemu10: no QEMU 10 in $prefix (run $0)" >&2; exit 1; }
	echo "$bin"
	exit 0
fi

if is_ten; then
	echo "$bin"
	exit 0
fi

echo "qemu10: fetching QEMU 10 from bookworm-backports into $prefix" >&2
work=$prefix.work
rm -rf "$work"
mkdir -p "$work/lists/partial" "$work/archives/partial"
cat >"$work/sources.list" <<EOF
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror bookworm-backports main
EOF
apt_private=(-o "Dir::Etc::sourcelist=$work/sources.list" -o Dir::Etc::sourceparts=-
	     -o "Dir::State::Lists=$work/lists" -o "Dir::Cache::archives=$work/archives"
	     -o APT::Get::List-Cleanup=0 -o APT::Sandbox::User=root)
apt-get -q "${apt_private[@]}" update >&2
# apt-get download writes into the current directory.
(cd "$work" && apt-get -q "${apt_private[@]}" -t bookworm-backports download "${pkgs[@]}" >&2)

rm -rf "$prefix.new"
mkdir -p "$prefix.new"
for p in "${pkgs[@]}"; do
	deb=$(ls "$work/${p}"_*.deb)
	dpkg -x "$deb" "$prefix.new"
done
# Replace the prefix only once the new one is whole.
rm -rf "$prefix"
mv "$prefix.new" "$prefix"
rm -rf "$work"

# A library bookworm lacks would show here rather than as a cryptic
# failure in a VM suite.
if ldd "$bin" | grep -q 'not found'; then
	ldd "$bin" | grep 'not found' >&2
	echo "qemu10: $bin needs libraries Debian 12 lacks" >&2
	exit 1
fi
# A module that needs a library this machine lacks only fails when used:
# say which, without failing (the emulator itself does not need them).
for m in "$prefix"/usr/lib/x86_64-linux-gnu/qemu/*.so; do
	if ldd "$m" | grep -q 'not found'; then
		echo "qemu10: note: module $(basename "$m") lacks:" \
			"$(ldd "$m" | awk '/not found/ { printf "%s ", $1 }')" >&2
	fi
done
is_ten || { echo "qemu10: $bin --version does not say 10:" >&2
	    "$bin" -L "$prefix/usr/share/qemu" --version >&2 || true; exit 1; }
echo "$bin"

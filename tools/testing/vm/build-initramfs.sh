#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the rig's initramfs: busybox-static plus tools/testing/vm/initramfs-init
# as /init and, for the stock kernel, Debian's 9p modules and their
# dependencies (decompressed, in load order), because Debian builds 9p as
# modules.  The debug kernel has 9p built in and needs no modules.
#
# Usage: build-initramfs.sh stock <release> | debug
#
# Cached in ${MDEV_CACHE:-/var/cache/mdev}/initramfs/; rebuilt only when an
# input (this script, the init script, busybox, the modules) is newer than
# the cached image.  Prints the image's path on stdout.

set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cachedir=${MDEV_CACHE:-/var/cache/mdev}/initramfs
kind=${1:-}
busybox=$(command -v busybox || true)

die() { echo "build-initramfs: ERROR: $*" >&2; exit 1; }

[ -n "$busybox" ] || die "busybox not found (install busybox-static: scripts/install-deps.sh)"
file -L "$busybox" 2>/dev/null | grep -q 'statically linked' ||
	die "$busybox is not static (install busybox-static)"

# Modules the stock kernel needs to mount 9p over virtio.
want_mods="9pnet_virtio 9p"

case $kind in
stock)
	release=${2:?usage: $0 stock <release>}
	moddir=/lib/modules/$release
	[ -f "$moddir/modules.dep" ] || die "$moddir/modules.dep missing"
	out=$cachedir/initramfs-stock-$release.cpio.gz
	;;
debug)
	out=$cachedir/initramfs-debug.cpio.gz
	;;
*)
	die "usage: $0 stock <release> | debug"
	;;
esac

# Resolve module paths in load order (dependencies first) from modules.dep.
mods=()
if [ "$kind" = stock ]; then
	declare -A seen=()
	add_mod() {	# add_mod <path relative to moddir>
		local rel=$1 line dep deps
		[ -n "${seen[$rel]:-}" ] && return 0
		seen[$rel]=1
		line=$(grep -m1 "^$rel:" "$moddir/modules.dep") || die "$rel not in modules.dep"
		deps=${line#*:}
		# modules.dep lists the deepest dependency last.
		for dep in $(echo $deps | tr ' ' '\n' | tac); do
			add_mod "$dep"
		done
		mods+=("$moddir/$rel")
	}
	for m in $want_mods; do
		rel=$(grep -E -m1 "(^|/)$m\.ko(\.[a-z]+)?:" "$moddir/modules.dep" | cut -d: -f1) ||
			die "module $m not found in $moddir/modules.dep"
		add_mod "$rel"
	done
fi

# Up to date?
inputs=("$0" "$here/initramfs-init" "$busybox" "${mods[@]}")
if [ -s "$out" ]; then
	stale=0
	for f in "${inputs[@]}"; do
		[ "$f" -nt "$out" ] && stale=1
	done
	if [ "$stale" = 0 ]; then
		echo "$out"
		exit 0
	fi
fi

mkdir -p "$cachedir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root
mkdir -p "$root"/{bin,dev,proc,sys,newroot,modules,host}
cp "$busybox" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
install -m 0755 "$here/initramfs-init" "$root/init"

i=0
for m in "${mods[@]}"; do
	i=$((i + 1))
	name=$(printf '%02d-%s' "$i" "$(basename "${m%%.ko*}").ko")
	case $m in
	*.ko.xz)  xz -dc "$m" >"$root/modules/$name" ;;
	*.ko.zst) zstd -qdc "$m" >"$root/modules/$name" ;;
	*.ko.gz)  gzip -dc "$m" >"$root/modules/$name" ;;
	*.ko)     cp "$m" "$root/modules/$name" ;;
	*) die "unknown module format: $m" ;;
	esac
done

# /dev/console for the kernel's initial console (init re-opens it from
# devtmpfs anyway, so not being allowed to mknod is harmless).
mknod -m 0600 "$root/dev/console" c 5 1 2>/dev/null || true
(cd "$root" && find . -print0 | LC_ALL=C sort -z |
	cpio --null -o -H newc --quiet --reproducible) >"$tmp/img.cpio"
gzip -9n <"$tmp/img.cpio" >"$tmp/img.cpio.gz"
mv "$tmp/img.cpio.gz" "$out"
echo "build-initramfs: built $out (${#mods[@]} modules)" >&2
echo "$out"

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the initramfs of the nested guest of 40-mtty-e2e.sh: busybox-static
# and mtty-guest-init as /init, nothing else (Debian's kernel has 8250_pci,
# the serial core and ACPI PCI hotplug built in).
#
# Usage: build-guest-initramfs.sh <cache dir>
#
# Cached in <cache dir> under a name that hashes its inputs, so it is built
# once per change of the init script or of busybox.  Prints its path.

set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cachedir=${1:?usage: $0 <cache dir>}
init=$here/mtty-guest-init
busybox=$(command -v busybox || true)

die() { echo "build-guest-initramfs: ERROR: $*" >&2; exit 1; }

[ -n "$busybox" ] || die "busybox not found (install busybox-static)"
file -L "$busybox" | grep -q 'statically linked' || die "$busybox is not static"
command -v cpio >/dev/null || die "cpio not found"

key=$(cat "$init" "$busybox" "$0" | sha256sum | cut -c1-16)
out=$cachedir/mtty-guest-$key.cpio.gz
if [ -s "$out" ]; then
	echo "$out"
	exit 0
fi

mkdir -p "$cachedir"
stage=$(mktemp -d "$cachedir/stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,dev,proc,sys}
cp "$busybox" "$stage/bin/busybox"
cp "$init" "$stage/init"
chmod 0755 "$stage/init" "$stage/bin/busybox"

(cd "$stage" && find . -print0 | sort -z |
	cpio --null -o -H newc --owner=0:0 --quiet) | gzip -9 >"$out.tmp"
mv "$out.tmp" "$out"
echo "$out"

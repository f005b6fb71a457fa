#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the initramfs of the nested guest of 40-mtty-e2e.sh: busybox-static
# and mtty-guest-init as /init (Debian's kernel has 8250_pci, the serial
# core and ACPI PCI hotplug built in), and optionally kernel modules for
# the guest kernel, e.g. mdpy-fb.ko.
#
# Usage: build-guest-initramfs.sh <cache dir> [<release> <module.ko>...]
#
# Each module comes with the modules of <release> (/lib/modules/<release>)
# it depends on, found with modinfo and modprobe --show-depends, all
# decompressed into /lib/modules/ of the initramfs; /lib/modules/load-order
# names them in the order to insmod them, dependencies first.
#
# Cached in <cache dir> under a name that hashes its inputs, so it is built
# once per change of the init script, of busybox or of a module.  Prints
# its path.

set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cachedir=${1:?usage: $0 <cache dir> [<release> <module.ko>...]}
release=${2:-}
modules=("${@:3}")
init=$here/mtty-guest-init
busybox=$(command -v busybox || true)

die() { echo "build-guest-initramfs: ERROR: $*" >&2; exit 1; }

[ -n "$busybox" ] || die "busybox not found (install busybox-static)"
file -L "$busybox" | grep -q 'statically linked' || die "$busybox is not static"
command -v cpio >/dev/null || die "cpio not found"

# The files to load in the guest, in order: each module's dependencies
# (as modprobe of <release> would load them), then the module itself.
load=()
add_load() {
	local f

	for f in "${load[@]}"; do
		[ "$f" = "$1" ] && return
	done
	load+=("$1")
}
for ko in "${modules[@]}"; do
	[ -n "$release" ] || die "modules given without a kernel release"
	[ -f "$ko" ] || die "$ko not found"
	vermagic=$(modinfo -F vermagic "$ko")
	[ "${vermagic%% *}" = "$release" ] ||
		die "$ko is built for '${vermagic%% *}', not $release"
	for dep in $(modinfo -F depends "$ko" | tr , ' '); do
		deps=$(modprobe -S "$release" --show-depends "$dep") ||
			die "$dep (needed by $ko) not found for $release"
		while read -r how path _; do
			[ "$how" = insmod ] && add_load "$path"
		done <<<"$deps"
	done
	add_load "$(realpath "$ko")"
done

key=$( (cat "$init" "$busybox" "$0"; printf '%s\n' "$release" "${load[@]}";
	cat "${load[@]}" /dev/null) | sha256sum | cut -c1-16)
out=$cachedir/mtty-guest-$key.cpio
if [ -s "$out" ]; then
	echo "$out"
	exit 0
fi

# Staged in /tmp (a tmpfs in the rig's VM), not in <cache dir>, which is
# on 9p there: on the debug kernel its many small writes took 20 s.
mkdir -p "$cachedir"
stage=$(mktemp -d "${TMPDIR:-/tmp}/mtty-guest.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,dev,proc,sys}
cp "$busybox" "$stage/bin/busybox"
# Its applets as links made here: `busybox --install` in the nested guest
# took 20 s, a syscall at a time under TCG in TCG.  All by one process: an
# ln per applet took a minute and a half in the debug kernel's VM.
"$busybox" --list | perl -e '
	my $dir = shift;
	while (my $applet = <STDIN>) {
		chomp $applet;
		next if -e "$dir/$applet";
		symlink("busybox", "$dir/$applet") or die "$dir/$applet: $!\n";
	}' "$stage/bin"
cp "$init" "$stage/init"
chmod 0755 "$stage/init" "$stage/bin/busybox"
if [ ${#load[@]} -gt 0 ]; then
	mkdir -p "$stage/lib/modules"
	for f in "${load[@]}"; do
		name=$(basename "$f")
		case $f in
		*.ko.xz) name=${name%.xz}; xz -dc "$f" >"$stage/lib/modules/$name" ;;
		*.ko.zst) name=${name%.zst}; zstd -qdc "$f" >"$stage/lib/modules/$name" ;;
		*.ko.gz) name=${name%.gz}; gzip -dc "$f" >"$stage/lib/modules/$name" ;;
		*) cp "$f" "$stage/lib/modules/$name" ;;
		esac
		echo "$name" >>"$stage/lib/modules/load-order"
	done
fi

# Not compressed: unpacking it is one less job for the nested guest, whose
# every instruction is emulated twice, and QEMU loads 2 MiB in no time.
(cd "$stage" && find . -print0 | sort -z |
	cpio --null -o -H newc --owner=0:0 --quiet) >"$out.tmp"
mv "$out.tmp" "$out"
echo "$out"

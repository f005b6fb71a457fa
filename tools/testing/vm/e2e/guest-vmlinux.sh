#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The uncompressed kernel (vmlinux, an ELF file) inside a bzImage, for the
# nested guest of 40-mtty-e2e.sh to boot through its PVH entry point
# (QEMU's -kernel takes such an ELF file when it has the PVH note; Debian's
# kernel is built with CONFIG_PVH).  Booted as a bzImage, the guest spent
# about a minute unpacking itself under TCG in TCG on the debug kernel;
# unpacked here it costs a few seconds, once per run.
#
# Usage: guest-vmlinux.sh <bzImage> <out dir>
#
# Writes <out dir>/vmlinux-<release of the bzImage's file name> unless it
# is there already, and prints its path.  Fails if the payload is in a
# format it does not know or is not an ELF file.

set -euo pipefail

bzimage=${1:?usage: $0 <bzImage> <out dir>}
outdir=${2:?usage: $0 <bzImage> <out dir>}

die() { echo "guest-vmlinux: ERROR: $*" >&2; exit 1; }

# Little-endian unsigned integer of $2 bytes at offset $1 of the bzImage
le() {
	od -An -tu"$2" -j "$1" -N "$2" --endian=little "$bzimage" | tr -d ' '
}

out=$outdir/vmlinux-${bzimage##*/vmlinuz-}
if [ -s "$out" ]; then
	echo "$out"
	exit 0
fi
[ -r "$bzimage" ] || die "$bzimage missing or unreadable"
[ "$(od -An -c -j 514 -N 4 "$bzimage" | tr -d ' ')" = HdrS ] ||
	die "$bzimage is not a bzImage"

# The boot protocol's header: the protected-mode code starts after the
# setup sectors; the compressed payload is at payload_offset in it.
setup_sects=$(le 497 1)
[ "$setup_sects" != 0 ] || setup_sects=4
start=$(((setup_sects + 1) * 512 + $(le 584 4)))
length=$(le 588 4)

# Kbuild appends the unpacked size (4 bytes) to a zstd or xz payload,
# which their tools would take for a broken second frame.
case $(od -An -tx1 -j "$start" -N 4 "$bzimage" | tr -d ' ') in
28b52ffd) unpack=(zstd -dcq); length=$((length - 4)) ;;
fd377a58) unpack=(xz -dcq); length=$((length - 4)) ;;
1f8b*)    unpack=(gzip -dc) ;;
*)        die "$bzimage: payload in an unknown format" ;;
esac

mkdir -p "$outdir"
dd if="$bzimage" iflag=skip_bytes,count_bytes skip="$start" count="$length" \
	bs=1M status=none | "${unpack[@]}" >"$out.tmp" ||
	die "unpacking $bzimage failed"
[ "$(od -An -c -N 4 "$out.tmp" | tr -d ' ')" = 177ELF ] ||
	die "$bzimage: the payload is not an ELF file"
mv "$out.tmp" "$out"
echo "$out"

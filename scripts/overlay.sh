#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Overlay our mdev subsystem onto a Linux 6.12 source tree:
#
#   drivers/vfio/mdev/   <- Kbuild, Kconfig, .kunitconfig, *.c, *.h at our top
#   include/linux/mdev.h <- include/linux/mdev.h
#   samples/vfio-mdev/   <- samples/vfio-mdev/*
#   samples/Kconfig      <- SAMPLE_VFIO_MDEV_MTTY also selects VFIO_MDEV_DEVICE
#                           (only when our Kconfig defines that symbol)
#
# Files are compared by content and only rewritten when they differ, so
# unchanged files keep their mtimes and an incremental kernel build only
# recompiles what really changed.  Source files in the overlaid directories
# that we do not ship are removed; build products are left alone.
#
# A piece is overlaid only once it exists in our tree, so the script works
# (and leaves upstream's files in place) while the tree is still being filled.
#
# Usage: scripts/overlay.sh <kernel-source-dir> [<our-tree>]

set -euo pipefail

usage() { echo "usage: $0 <kernel-source-dir> [<our-tree>]" >&2; exit 2; }
[ $# -ge 1 ] && [ $# -le 2 ] || usage

ksrc=$(cd "$1" && pwd)
ours=$(cd "${2:-$(dirname "$0")/..}" && pwd)

[ -f "$ksrc/drivers/vfio/Kconfig" ] && [ -f "$ksrc/samples/Kconfig" ] ||
	{ echo "overlay: $ksrc does not look like a Linux source tree" >&2; exit 1; }

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

changed=0

# Out-of-tree build products never travel into the kernel tree.
products=(--exclude='*.o' --exclude='*.ko' --exclude='*.mod' --exclude='*.mod.c'
	--exclude='.*.cmd' --exclude='*.cmd' --exclude='.*.d' --exclude='modules.order'
	--exclude='Module.symvers' --exclude='*.a' --exclude='.tmp_*')

# sync_dir <staged-dir> <dest-dir>: make the source files of dest equal to
# staged, deleting source files we do not ship but keeping build products.
sync_dir() {
	local out
	out=$(rsync -rc --delete --itemize-changes \
		--filter='P *.mod.c' --filter='P *.o' --filter='P *.ko' \
		--filter='P .*' --filter='P *.mod' --filter='P modules.order' \
		--filter='P Module.symvers' --filter='P *.a' --filter='P *.s' \
		--filter='P *.lds' --filter='P *.symvers' \
		--filter='P mdev-trace-*' \
		"$1/" "$2/")
	if [ -n "$out" ]; then
		echo "$out" | sed "s|^|overlay: ${2#$ksrc/}: |"
		changed=1
	fi
}

# install_file <src> <dest>: copy only if the content differs.
install_file() {
	if ! cmp -s "$1" "$2"; then
		cp "$1" "$2"
		echo "overlay: updated ${2#$ksrc/}"
		changed=1
	fi
}

# drivers/vfio/mdev: only once our Kbuild and Kconfig exist.
if [ -f "$ours/Kbuild" ] && [ -f "$ours/Kconfig" ]; then
	d=$stage/mdev
	mkdir -p "$d"
	cp "$ours/Kbuild" "$ours/Kconfig" "$d/"
	[ -f "$ours/.kunitconfig" ] && cp "$ours/.kunitconfig" "$d/"
	shopt -s nullglob
	for f in "$ours"/*.c "$ours"/*.h; do
		case $f in *.mod.c) continue ;; esac	# out-of-tree build product
		cp "$f" "$d/"
	done
	# Any tests/ directory beside the code (e.g. tests/*_kunit.c).
	[ -d "$ours/tests" ] && rsync -r "${products[@]}" "$ours/tests/" "$d/tests/"
	shopt -u nullglob
	sync_dir "$d" "$ksrc/drivers/vfio/mdev"
fi

# include/linux/mdev.h
if [ -f "$ours/include/linux/mdev.h" ]; then
	install_file "$ours/include/linux/mdev.h" "$ksrc/include/linux/mdev.h"
fi

# samples/vfio-mdev: only once our Makefile exists there.
if [ -f "$ours/samples/vfio-mdev/Makefile" ]; then
	d=$stage/samples
	mkdir -p "$d"
	# Sources only: never carry out-of-tree build products into the tree.
	rsync -r "${products[@]}" "$ours/samples/vfio-mdev/" "$d/"
	# While our tree is being filled in, keep the kernel's copy of a
	# sample source we do not have yet, so the tree still builds.
	for f in mtty.c mdpy.c mdpy-fb.c mdpy-defs.h mbochs.c; do
		if [ ! -e "$d/$f" ] && [ -e "$ksrc/samples/vfio-mdev/$f" ]; then
			echo "overlay: samples/vfio-mdev/$f: not in our tree yet, keeping the kernel's"
			cp -p "$ksrc/samples/vfio-mdev/$f" "$d/$f"
		fi
	done
	sync_dir "$d" "$ksrc/samples/vfio-mdev"
fi

# samples/Kconfig: mtty uses the generic vfio_mdev driver in our design.
if [ -f "$ours/Kconfig" ] && grep -q '^config VFIO_MDEV_DEVICE$' "$ours/Kconfig"; then
	awk '
		/^config / { in_mtty = ($2 == "SAMPLE_VFIO_MDEV_MTTY") }
		in_mtty && /^[ \t]*select VFIO_MDEV_DEVICE$/ { next }
		{ print }
		in_mtty && /^[ \t]*select VFIO_MDEV$/ { print "\tselect VFIO_MDEV_DEVICE" }
	' "$ksrc/samples/Kconfig" >"$stage/samples.Kconfig"
	grep -q 'select VFIO_MDEV_DEVICE' "$stage/samples.Kconfig" ||
		{ echo "overlay: could not patch samples/Kconfig" >&2; exit 1; }
	install_file "$stage/samples.Kconfig" "$ksrc/samples/Kconfig"
fi

[ "$changed" = 1 ] || echo "overlay: $ksrc is up to date"
exit 0

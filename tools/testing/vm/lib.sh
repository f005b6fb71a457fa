#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Helpers for the guest-side test suites (tools/testing/vm/suites/*.sh).
# Source it; the runner exports MDEV_VM_KERNEL (stock|debug), MDEV_MODDIR
# (where our mdev.ko and vfio_mdev.ko are), MDEV_SAMPLEDIR (the samples'
# .ko files) and MDEV_SCRATCH (a writable directory).

: "${MDEV_MODDIR:?not set: run this inside the test VM}"
: "${MDEV_SAMPLEDIR:=$MDEV_MODDIR/samples/vfio-mdev}"
# This directory: the rig's helper programs are beside this file
mdev_rig_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# Path of one of our modules, by module name.
mdev_ko() {
	case "$1" in
	mdev | vfio_mdev | mdev_kunit) echo "$MDEV_MODDIR/$1.ko" ;;
	*) echo "$MDEV_SAMPLEDIR/${1//_/-}.ko" ;;
	esac
}

mdev_loaded() {
	grep -q "^$1 " /proc/modules
}

# Load our modules by path, never the running kernel's copies: Debian
# ships its own mdev.ko, and modprobe would pick that one.  Dependencies
# that belong to the kernel (vfio, vfio_iommu_type1) come from modprobe.
mdev_load() {
	local m
	modprobe -q vfio 2>/dev/null || true
	modprobe -q vfio_iommu_type1 2>/dev/null || true
	for m in "$@"; do
		case "$m" in
		vfio_mdev | mtty) mdev_load mdev ;;
		mdpy | mbochs) mdev_load mdev ;;
		esac
		[ "$m" = mtty ] && mdev_load vfio_mdev
		mdev_loaded "$m" && continue
		insmod "$(mdev_ko "$m")" || return
	done
	mdev_check_ours
}

# Fail unless the live mdev.ko is the one we built, by GNU build ID
# (Debian's modules have no srcversion, so that would compare nothing).
mdev_check_ours() {
	local live want
	mdev_loaded mdev || return 0
	live=$(od -An -tx1 -v /sys/module/mdev/notes/.note.gnu.build-id \
		2>/dev/null | tr -d ' \n' | tail -c 40)
	want=$(readelf -n "$(mdev_ko mdev)" 2>/dev/null |
		awk '/Build ID:/ { print $3; exit }')
	if [ -z "$want" ] || [ "$live" != "$want" ]; then
		echo "# live mdev.ko (build ID '$live') is not ours ('$want')" >&2
		return 1
	fi
}

# Unload modules in the order given (dependents first), if loaded.
mdev_unload() {
	local m
	for m in "$@"; do
		mdev_loaded "$m" && rmmod "$m"
	done
	return 0
}

mdev_unload_all() {
	mdev_unload mtty mdpy mbochs mdev_kunit vfio_mdev mdev
}

mdev_uuid() {
	cat /proc/sys/kernel/random/uuid
}

# mdev_check_bands <ppm> <width> <height>: the four horizontal bands the
# display guests draw (ppm-check.py says how they are checked)
mdev_check_bands() {
	"$mdev_rig_dir/ppm-check.py" bands "$@"
}

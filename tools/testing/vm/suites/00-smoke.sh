#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Smoke test: our mdev.ko (never the kernel's own copy) loads, registers
# the mdev bus and unloads; so does vfio_mdev.ko when it is built.

here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/ktap.sh"
. "$here/lib.sh"

ktap_plan 8

mdev_unload_all

# The kernel's side of the dependencies comes from modprobe.
ktap_test "modprobe_vfio" modprobe vfio
ktap_test "modprobe_vfio_iommu_type1" modprobe vfio_iommu_type1

if [ -f "$(mdev_ko mdev)" ]; then
	ktap_test "insmod_mdev" insmod "$(mdev_ko mdev)"
else
	ktap_fail "insmod_mdev" "$(mdev_ko mdev) not built"
fi

# Identify the live module by its GNU build ID (Debian's modules have no
# srcversion): the note in sysfs must match the one in our mdev.ko.
note=/sys/module/mdev/notes/.note.gnu.build-id
live=$(od -An -tx1 -v "$note" 2>/dev/null | tr -d ' \n' | tail -c 40)
want=$(readelf -n "$(mdev_ko mdev)" 2>/dev/null | awk '/Build ID:/ { print $3; exit }')
if [ -n "$live" ] && [ "$live" = "$want" ]; then
	ktap_ok "mdev_is_ours"
else
	ktap_fail "mdev_is_ours" "live build ID '$live', ours '$want' ($(mdev_ko mdev))"
fi

ktap_test "bus_registered" test -d /sys/bus/mdev

if [ -f "$(mdev_ko vfio_mdev)" ]; then
	ktap_test "insmod_vfio_mdev" insmod "$(mdev_ko vfio_mdev)"
	ktap_test "rmmod_vfio_mdev" rmmod vfio_mdev
else
	ktap_skip "insmod_vfio_mdev" "vfio_mdev.ko not built"
	ktap_skip "rmmod_vfio_mdev" "vfio_mdev.ko not built"
fi

rmmod mdev 2>/dev/null
if [ ! -e /sys/module/mdev ] && [ ! -e /sys/bus/mdev ]; then
	ktap_ok "rmmod_mdev"
else
	ktap_fail "rmmod_mdev" "mdev still loaded or /sys/bus/mdev still there"
fi

mdev_unload_all
ktap_finish

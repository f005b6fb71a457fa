#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The in-kernel KUnit suite of the mdev core.  Loading mdev_kunit.ko runs
# its tests; their KTAP comes out in the kernel log.  Here it is flattened:
# every KUnit test case becomes one top-level result "suite.case", and the
# kernel's own KTAP follows as diagnostics.
#
# Skips where mdev_kunit.ko was not built or the kernel has no KUnit
# (Debian's stock kernel).

here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/ktap.sh"
. "$here/lib.sh"

ko=$(mdev_ko mdev_kunit)
[ -f "$ko" ] || ktap_skip_all "mdev_kunit.ko not built"
if [ ! -d /sys/kernel/debug/kunit ] && ! modprobe -q kunit 2>/dev/null; then
	ktap_skip_all "this kernel has no KUnit"
fi

mdev_unload_all
modprobe -q vfio 2>/dev/null
marker="mdev-rig: kunit start $$.$RANDOM"
echo "$marker" >/dev/kmsg

loadout=
if ! loadout=$(insmod "$(mdev_ko mdev)" 2>&1) ||
   ! loadout=$(insmod "$ko" 2>&1); then
	ktap_plan 1
	ktap_fail "load_mdev_kunit" "$loadout"
	mdev_unload_all
	ktap_finish
fi

# The kernel's KTAP since our marker, without timestamps.
log=$(dmesg -t | awk -v m="$marker" 'index($0, m) { on = 1; next } on')

results=$(printf '%s\n' "$log" | ktap_kunit_cases)

n=$(printf '%s' "$results" | grep -c . || true)
if [ "$n" = 0 ]; then
	ktap_plan 1
	ktap_fail "kunit_results" "no KUnit results in the kernel log"
else
	ktap_plan "$n"
	ktap_results <<<"$results"
fi
printf '%s\n' "$log" | sed 's/^/# | /'

mdev_unload mdev_kunit mdev
ktap_finish

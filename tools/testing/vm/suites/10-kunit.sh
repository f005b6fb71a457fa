#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The in-kernel KUnit suite of the mdev core.  Loading mdev_kunit.ko runs
# its tests; their KTAP comes out in the kernel log.  Here it is flattened:
# every KUnit test case becomes one top-level result "suite.case", and the
# kernel's own KTAP follows as diagnostics.  The kernel's KTAP is also
# saved as $MDEV_SCRATCH/ktap/10-kunit.kernel.ktap and fed to the kernel
# tree's own parser, `kunit.py parse`, which must accept it and find every
# test passed (result "kunit_py_parse"): the part of kunit.py's run that
# host suite 50-kunit-tool no longer repeats with a kernel of its own.
#
# Skips on a kernel without KUnit (Debian's stock kernel).  On the debug
# kernel, which is built with KUnit and our suite, a missing mdev_kunit.ko
# or KUnit is a failure.

here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/ktap.sh"
. "$here/lib.sh"

ko=$(mdev_ko mdev_kunit)
if [ "${MDEV_VM_KERNEL:-}" = debug ]; then
	if [ ! -f "$ko" ]; then
		ktap_plan 1
		ktap_fail "mdev_kunit_built" "$ko missing on the debug kernel (CONFIG_MDEV_KUNIT_TEST=m)"
		ktap_finish
	fi
elif [ ! -d /sys/kernel/debug/kunit ] && ! modprobe -q kunit 2>/dev/null; then
	ktap_skip_all "this kernel has no KUnit"
elif [ ! -f "$ko" ]; then
	ktap_skip_all "mdev_kunit.ko not built"
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

# kunit.py of the tree the debug kernel was built from (the host's root is
# shared read-only, so it runs here unchanged).
kunit_py=${MDEV_MODDIR%/drivers/vfio/mdev}/tools/testing/kunit/kunit.py
kernel_ktap=${MDEV_SCRATCH:-/tmp}/ktap/10-kunit.kernel.ktap
mkdir -p "${kernel_ktap%/*}"
printf '%s\n' "$log" >"$kernel_ktap"

n=$(printf '%s' "$results" | grep -c . || true)
if [ "$n" = 0 ]; then
	ktap_plan 1
	ktap_fail "kunit_results" "no KUnit results in the kernel log"
else
	if [ "${MDEV_VM_KERNEL:-}" = debug ]; then
		ktap_plan $((n + 1))
	else
		ktap_plan "$n"
	fi
	ktap_results <<<"$results"
	if [ "${MDEV_VM_KERNEL:-}" = debug ]; then
		# Its verdict, and its count: every test it ran passed or was
		# skipped, none failed, crashed or was unparsable ("errors"),
		# and it ran at least our cases (it counts each parameter of a
		# parameterized case as a test of its own).
		re='Testing complete\. Ran ([0-9]+) tests: passed: ([0-9]+)(, skipped: ([0-9]+))?$'
		if parsed=$(PYTHONDONTWRITEBYTECODE=1 python3 "$kunit_py" parse \
				"$kernel_ktap" 2>&1) &&
		   [[ $(grep -E "$re" <<<"$parsed" | tail -n1) =~ $re ]] &&
		   [ "${BASH_REMATCH[1]}" -ge "$n" ] &&
		   [ $((BASH_REMATCH[2] + ${BASH_REMATCH[4]:-0})) = "${BASH_REMATCH[1]}" ]; then
			ktap_diag "kunit.py: ${BASH_REMATCH[0]}"
			ktap_ok "kunit_py_parse"
		else
			printf '%s\n' "$parsed" | tail -n 30 | sed 's/^/# kunit.py: /'
			ktap_fail "kunit_py_parse" "kunit.py parse did not pass all $n cases"
		fi
	fi
fi
printf '%s\n' "$log" | sed 's/^/# | /'

mdev_unload mdev_kunit mdev
ktap_finish

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The sysfs management interface (create, remove, the type files, their
# permissions) over every sample parent: mtty (classic, served by
# vfio_mdev.ko), mdpy and mbochs (their own mdev drivers).  Loads the
# samples that are built, runs the mdev_sysfs_test kselftest -- each of its
# results is one result here, named "sysfs.<fixture>.<variant>.<test>"; a
# sample that is not built shows up as that sample's tests skipped -- and
# unloads everything, which must leave no mdev module behind.
#
# Environment: MDEV_SYSFS_TEST_ARGS, extra arguments for the kselftest
# (e.g. "-f mdev_sysfs" or "-v mtty" to run a part of it).

here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/ktap.sh"
. "$here/lib.sh"

repo=$(cd "$here/../../.." && pwd)
test_bin=$repo/tools/testing/selftests/mdev/mdev_sysfs_test
samples="mtty mdpy mbochs"

echo "KTAP version 1"
ktap_diag "kernel: ${MDEV_VM_KERNEL:-?} $(uname -r)"

# run_kselftest <prefix> <binary> <args...>: re-number the binary's KTAP
# results into ours, keep everything else as diagnostics.  A binary that
# stops short of its plan, or fails without naming a failed test, is one
# more failure named <prefix>.
run_kselftest() {
	local prefix=$1 bin=$2 line plan='' seen=0 failed=0 status='' re
	shift 2
	re='^(not )?ok [0-9]+ ([^#]*[^# ]) *(# *(.*))?$'
	while IFS= read -r line; do
		if [[ $line =~ ^kselftest-status\ ([0-9]+)$ ]]; then
			status=${BASH_REMATCH[1]}
		elif [[ $line =~ $re ]]; then
			local name=$prefix.${BASH_REMATCH[2]} why=${BASH_REMATCH[4]}

			seen=$((seen + 1))
			if [[ ${why^^} == SKIP* ]]; then
				why=${why:4}
				ktap_skip "$name" "${why# }"
			elif [ -n "${BASH_REMATCH[1]}" ]; then
				failed=$((failed + 1))
				ktap_fail "$name"
			else
				ktap_ok "$name"
			fi
		else
			[[ $line =~ ^1\.\.([0-9]+) ]] && plan=${BASH_REMATCH[1]}
			echo "# $line"
		fi
	done < <("$bin" "$@" 2>&1 </dev/null; echo "kselftest-status $?")

	if [ -z "$plan" ] || [ "$seen" -lt "$plan" ]; then
		ktap_fail "$prefix" "$seen of ${plan:-?} results, exit status $status"
	elif [ "$status" != 0 ] && [ "$failed" = 0 ]; then
		ktap_fail "$prefix" "exit status $status with no failed test"
	fi
}

mdev_unload_all

loaded=0
for s in $samples; do
	if [ ! -f "$(mdev_ko "$s")" ]; then
		ktap_skip "load_$s" "$(mdev_ko "$s") not built"
	elif ktap_test "load_$s" mdev_load "$s"; then
		loaded=$((loaded + 1))
	fi
done

if [ ! -x "$test_bin" ]; then
	ktap_fail "sysfs" "$test_bin missing: make -C tools/testing/selftests/mdev"
elif [ "$loaded" = 0 ]; then
	ktap_skip "sysfs" "no sample parent loaded"
else
	# shellcheck disable=SC2086 # split the extra arguments
	run_kselftest sysfs "$test_bin" ${MDEV_SYSFS_TEST_ARGS:-}
fi

# The tests removed what they created: nothing may hold the modules.
left=$(ls /sys/bus/mdev/devices 2>/dev/null | wc -l)
if [ "$left" != 0 ]; then
	ktap_fail "no_devices_left" "$left devices left on the mdev bus"
	for d in /sys/bus/mdev/devices/*/remove; do
		echo 1 >"$d"
	done
else
	ktap_ok "no_devices_left"
fi

mdev_unload_all
if mdev_loaded mdev || mdev_loaded vfio_mdev; then
	ktap_fail "unload" "$(grep -E '^(mdev|vfio_mdev|mtty|mdpy|mbochs) ' /proc/modules)"
else
	ktap_ok "unload"
fi

echo "1..$KTAP_N"
ktap_finish

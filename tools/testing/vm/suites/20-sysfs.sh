#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The sysfs management interface (create, remove, the type files, their
# permissions) over every sample parent: mtty (classic, served by
# vfio_mdev.ko), mdpy and mbochs (their own mdev drivers).  Loads the
# samples that are built and runs the mdev_sysfs_test kselftest: each of
# its results is one result here, named "sysfs.<fixture>.<variant>.<test>",
# and a sample that is not built shows up as its tests skipped.  Then
# unloads each sample while it has a device of every type (one of them
# unbound from its driver) and a writer keeps creating more, which must
# remove them all with the parent, checks the parents'
# MDEV_STATE=registered/unregistered uevents, and unloads the core.
#
# Environment: MDEV_SYSFS_TEST_ARGS, extra arguments for the kselftest
# (e.g. "-f mdev_sysfs" or "-t exhaust" to run a part of it).

here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/ktap.sh"
. "$here/lib.sh"

repo=$(cd "$here/../../.." && pwd)
test_bin=$repo/tools/testing/selftests/mdev/mdev_sysfs_test
samples="mtty mdpy mbochs"

echo "KTAP version 1"
ktap_diag "kernel: ${MDEV_VM_KERNEL:-?} $(uname -r)"

mdev_unload_all

# The kernel's uevents from here on, for the parents' MDEV_STATE.
uevents=$(mktemp /tmp/20-sysfs-uevents.XXXXXX)
udevadm monitor --kernel --property >"$uevents" 2>/dev/null &
monitor=$!
sleep 1

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
	ktap_kselftest sysfs "$test_bin" ${MDEV_SYSFS_TEST_ARGS:-}
fi

# The tests removed what they created: nothing may hold the modules.
left=$(find /sys/bus/mdev/devices -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
if [ "$left" != 0 ]; then
	ktap_fail "no_devices_left" "$left devices left on the mdev bus"
	for d in /sys/bus/mdev/devices/*/remove; do
		echo 1 >"$d"
	done
else
	ktap_ok "no_devices_left"
fi

# creator <type>: create and remove devices through one open create file
# until the type goes away (then writes fail with ENODEV) or killed.
# Says how many it created and how the last write failed.
creator() {
	local u n=0 err
	exec 7>"$1/create" || return
	while u=$(mdev_uuid) && err=$(echo "$u" 2>&1 >&7); do
		n=$((n + 1))
		echo 1 >"/sys/bus/mdev/devices/$u/remove"
	done 2>/dev/null
	echo "# creator: $n devices, then: ${err##*: }"
}

# Unloading a vendor driver unregisters its parent, which removes its
# devices: create one of every type first, and keep creating meanwhile.
for s in $samples; do
	mdev_loaded "$s" || continue
	parent=/sys/class/mdev_bus/$s
	uuids=()
	for t in "$parent"/mdev_supported_types/*; do
		[ "$(cat "$t/available_instances")" -gt 0 ] || continue
		u=$(mdev_uuid)
		echo "$u" >"$t/create" && uuids+=("$u")
	done
	# One of them unbound from its driver, as root may do
	if [ "${#uuids[@]}" -gt 1 ]; then
		drv=$(readlink "/sys/bus/mdev/devices/${uuids[0]}/driver")
		echo "${uuids[0]}" >"/sys/bus/mdev/drivers/${drv##*/}/unbind"
	fi
	types=("$parent"/mdev_supported_types/*)
	last=${types[-1]}
	creator "$last" &
	busy=$!
	sleep 1
	ktap_diag "$s: ${#uuids[@]} devices and a creator on ${last##*/} before rmmod"
	rmmod "$s"
	rc=$?
	sleep 0.5
	if kill "$busy" 2>/dev/null; then
		ktap_diag "$s: the creator was still running (no ENODEV)"
	fi
	wait "$busy" 2>/dev/null
	if [ "$rc" != 0 ]; then
		ktap_fail "rmmod_${s}_with_devices" "rmmod $s failed"
	elif [ -e "$parent" ]; then
		ktap_fail "rmmod_${s}_with_devices" "$parent still there"
	else
		left=0
		for u in "${uuids[@]}"; do
			[ -e "/sys/bus/mdev/devices/$u" ] && left=$((left + 1))
		done
		if [ "$left" = 0 ] && [ "${#uuids[@]}" -gt 0 ]; then
			ktap_ok "rmmod_${s}_with_devices"
		else
			ktap_fail "rmmod_${s}_with_devices" \
				"$left of ${#uuids[@]} devices left"
		fi
	fi
done

# has_uevent <parent> <state>: a change uevent of the parent with
# MDEV_STATE=<state> was seen.
has_uevent() {
	awk -v dev="/$1" -v state="MDEV_STATE=$2" '
		BEGIN { RS = "" }
		{
			ok = 0; path = 0
			n = split($0, l, "\n")
			for (i = 1; i <= n; i++) {
				if (l[i] == state) ok = 1
				if (l[i] ~ /^DEVPATH=/ &&
				    substr(l[i], length(l[i]) - length(dev) + 1) == dev)
					path = 1
			}
			if (ok && path) found = 1
		}
		END { exit !found }' "$uevents"
}

sleep 1
kill "$monitor" 2>/dev/null
wait "$monitor" 2>/dev/null
for s in $samples; do
	[ -f "$(mdev_ko "$s")" ] || continue
	for state in registered unregistered; do
		if has_uevent "$s" "$state"; then
			ktap_ok "uevent_${s}_$state"
		elif [ ! -s "$uevents" ]; then
			ktap_skip "uevent_${s}_$state" "udevadm monitor saw no uevent"
		else
			ktap_fail "uevent_${s}_$state" "no MDEV_STATE=$state for $s"
		fi
	done
done
rm -f "$uevents"

mdev_unload_all
if mdev_loaded mdev || mdev_loaded vfio_mdev; then
	ktap_fail "unload" "$(grep -E '^(mdev|vfio_mdev|mtty|mdpy|mbochs) ' /proc/modules)"
else
	ktap_ok "unload"
fi

echo "1..$KTAP_N"
ktap_finish

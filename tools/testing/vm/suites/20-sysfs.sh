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
# remove them all with the parent and stop the writer with ENODEV; checks
# the uevents of all this as udev saw them: the parents'
# MDEV_STATE=registered/unregistered and the add and remove of a device of
# each sample, from the kernel and after udevd's rules; and unloads the
# core.  The suite runs its own systemd-udevd (the VM starts none; it keeps
# its database in /run/udev, /run being a tmpfs) and stops it at the end.
#
# Environment: MDEV_SYSFS_TEST_ARGS, extra arguments for the kselftest
# (e.g. "-f mdev_sysfs" or "-t exhaust" to run a part of it).

here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/ktap.sh"
. "$here/lib.sh"

repo=$(cd "$here/../../.." && pwd)
test_bin=$repo/tools/testing/selftests/mdev/mdev_sysfs_test
samples="mtty mdpy mbochs"
declare -A watched

echo "KTAP version 1"
ktap_diag "kernel: ${MDEV_VM_KERNEL:-?} $(uname -r)"

mdev_unload_all

# udevd and a monitor of the uevents from here on, before any parent
# registers.  An udevd already running (not the rig's) is left alone.
uevents=$(mktemp /tmp/20-sysfs-uevents.XXXXXX)
udevd=0 monitor=
start_udev() {
	local i
	if ! udevadm control --ping 2>/dev/null; then
		mkdir -p /run/udev || return
		/lib/systemd/systemd-udevd --daemon || return
		udevd=1
		udevadm control --ping -t 30 || return
	fi
	udevadm monitor --kernel --udev --property >"$uevents" 2>&1 &
	monitor=$!
	# The monitor prints its banner once it listens.
	for i in $(seq 50); do
		grep -q '^UDEV - ' "$uevents" && return 0
		kill -0 "$monitor" 2>/dev/null || break
		sleep 0.2
	done
	sed 's/^/# monitor: /' "$uevents"
	return 1
}
stop_udev() {
	udevadm settle -t 30 || ktap_diag "udevadm settle timed out"
	[ -n "$monitor" ] && kill "$monitor" 2>/dev/null
	wait "$monitor" 2>/dev/null
	[ "$udevd" = 1 ] && udevadm control --exit
}
# Not through ktap_test: the daemon's and the monitor's state is ours.
if start_udev; then
	ktap_ok "start_udev"
else
	ktap_fail "start_udev" "systemd-udevd or udevadm monitor did not start"
fi

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
	echo "creator: $n devices, then: ${err##*: }"
}
creator_out=$(mktemp /tmp/20-sysfs-creator.XXXXXX)

# Unloading a vendor driver unregisters its parent, which removes its
# devices: create one of every type first, and keep creating meanwhile.
for s in $samples; do
	mdev_loaded "$s" || continue
	parent=/sys/class/mdev_bus/$s
	uuids=() failed=()
	for t in "$parent"/mdev_supported_types/*; do
		[ "$(cat "$t/available_instances")" -gt 0 ] || continue
		u=$(mdev_uuid)
		if echo "$u" 2>/dev/null >"$t/create"; then
			uuids+=("$u")
		else
			failed+=("${t##*/}")
		fi
	done
	if [ "${#failed[@]}" = 0 ] && [ "${#uuids[@]}" -gt 0 ]; then
		ktap_ok "fill_$s"
	else
		ktap_fail "fill_$s" "${#uuids[@]} created, create failed on: ${failed[*]:-(no type with an instance left)}"
	fi
	# The device whose add and remove uevents are checked.
	[ "${#uuids[@]}" -gt 0 ] && watched[$s]=${uuids[-1]}
	# One of them unbound from its driver, as root may do
	if [ "${#uuids[@]}" -gt 1 ]; then
		drv=$(readlink "/sys/bus/mdev/devices/${uuids[0]}/driver")
		echo "${uuids[0]}" >"/sys/bus/mdev/drivers/${drv##*/}/unbind"
	fi
	types=("$parent"/mdev_supported_types/*)
	last=${types[-1]}
	creator "$last" >"$creator_out" &
	busy=$!
	sleep 1
	ktap_diag "$s: ${#uuids[@]} devices and a creator on ${last##*/} before rmmod"
	rmmod "$s"
	rc=$?
	# The creator's next write must fail with ENODEV and end it.
	for i in $(seq 50); do
		kill -0 "$busy" 2>/dev/null || break
		sleep 0.1
	done
	if kill "$busy" 2>/dev/null; then
		wait "$busy" 2>/dev/null
		ktap_fail "creator_${s}_enodev" "still running 5 s after rmmod $s"
	else
		wait "$busy" 2>/dev/null
		ktap_diag "$s: $(cat "$creator_out")"
		if grep -q 'then: No such device$' "$creator_out"; then
			ktap_ok "creator_${s}_enodev"
		else
			ktap_fail "creator_${s}_enodev" "its last write did not fail with ENODEV"
		fi
	fi
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

# has_uevent <source> <devpath-end> <property>...: a uevent from <source>
# (KERNEL or UDEV) of a device whose DEVPATH ends in /<devpath-end> with
# every given property (NAME=value) was seen.  Events are blank-line
# separated blocks: "KERNEL[time] action devpath (subsystem)", properties.
has_uevent() {
	awk -v src="$1" -v dev="/$2" -v want="${*:3}" '
		BEGIN { RS = ""; nw = split(want, w, " ") }
		index($0, src) == 1 {
			n = split($0, l, "\n")
			delete have
			for (i = 2; i <= n; i++)
				have[l[i]] = 1
			ok = 0
			for (p in have)
				if (p ~ /^DEVPATH=/ &&
				    substr(p, length(p) - length(dev) + 1) == dev)
					ok = 1
			for (i = 1; i <= nw; i++)
				if (!(w[i] in have))
					ok = 0
			if (ok) found = 1
		}
		END { exit !found }' "$uevents"
}

# check_uevent <name> <devpath-end> <property>...: one result, the event
# from the kernel and from udevd after its rules.
check_uevent() {
	local name=$1 src missing=()
	shift
	for src in KERNEL UDEV; do
		has_uevent "$src" "$@" || missing+=("$src")
	done
	if [ "${#missing[@]}" = 0 ]; then
		ktap_ok "$name"
	else
		ktap_fail "$name" "no ${missing[*]} uevent of /$1 with ${*:2}"
	fi
}

stop_udev
for s in $samples; do
	[ -f "$(mdev_ko "$s")" ] || continue
	for state in registered unregistered; do
		check_uevent "uevent_${s}_$state" "$s" ACTION=change "MDEV_STATE=$state"
	done
	if [ -z "${watched[$s]:-}" ]; then
		ktap_fail "uevent_${s}_device" "no device of $s was created"
		continue
	fi
	for action in add remove; do
		check_uevent "uevent_${s}_device_$action" "${watched[$s]}" \
			"ACTION=$action" SUBSYSTEM=mdev
	done
done
rm -f "$uevents" "$creator_out"

mdev_unload_all
if mdev_loaded mdev || mdev_loaded vfio_mdev; then
	ktap_fail "unload" "$(grep -E '^(mdev|vfio_mdev|mtty|mdpy|mbochs) ' /proc/modules)"
else
	ktap_ok "unload"
fi

echo "1..$KTAP_N"
ktap_finish

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# mtty through the VFIO uAPI, with no QEMU: the mtty_uapi kselftest (info
# ioctls, configuration space, bounds, the UART registers, INTx, MSI,
# reset, the request interrupt on removal) and the mtty_migration kselftest
# (migration v2: one dual-port device saved and resumed into another, its
# UARTs read back; QEMU 7.2 predates v2).  Each result of a kselftest is
# one result here ("uapi.<fixture>.<variant>.<test>", "mig.<fixture>.<test>");
# the rest of their output is kept as diagnostics.  At the end no device
# may be left and mtty must unload.

here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/ktap.sh"
. "$here/lib.sh"

repo=$(cd "$here/../../.." && pwd)
progs=$repo/tools/testing/selftests/mdev

[ -f "$(mdev_ko mtty)" ] || ktap_skip_all "mtty.ko not built"

echo "KTAP version 1"

# run_prog <prefix> <program>: one result here per result of the program.
run_prog() {
	local prefix=$1 prog=$progs/$2 line plan='' seen=0 failed=0 rc='' re
	local name directive

	if [ ! -x "$prog" ]; then
		ktap_fail "$2" "$prog missing: make -C tools/testing/selftests/mdev"
		return
	fi
	re='^(not )?ok [0-9]+ ([^#]*[^# ]) *(# *(.*))?$'
	while IFS= read -r line; do
		if [[ $line =~ ^prog-exit\ ([0-9]+)$ ]]; then
			rc=${BASH_REMATCH[1]}
		elif [[ $line =~ $re ]]; then
			seen=$((seen + 1))
			name="$prefix.${BASH_REMATCH[2]}"
			directive=${BASH_REMATCH[4]}
			if [[ ${directive^^} == SKIP* ]]; then
				directive=${directive#[Ss][Kk][Ii][Pp]}
				ktap_skip "$name" "${directive# }"
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
	done < <("$prog" 2>&1 </dev/null; echo "prog-exit $?")

	if [ -z "$plan" ] || [ "$seen" -lt "$plan" ]; then
		ktap_fail "$2" "reported $seen of ${plan:-?} results (exit status $rc)"
	elif [ "$rc" != 0 ] && [ "$failed" = 0 ]; then
		ktap_fail "$2" "exit status $rc"
	fi
}

mdev_unload_all
ktap_test "load_mtty" mdev_load mtty

run_prog uapi mtty_uapi
run_prog mig mtty_migration

left=$(ls /sys/bus/mdev/devices 2>/dev/null | tr '\n' ' ')
if [ -z "$left" ] && mdev_unload mtty; then
	ktap_ok "unload_mtty"
else
	ktap_fail "unload_mtty" "devices left: ${left:-none}; mtty busy?"
fi
echo "1..$KTAP_N"

ktap_finish

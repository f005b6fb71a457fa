#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# mdev-timeout: 1500
#
# Hardening.  On the debug kernel (KASAN, lockdep, kmemleak, fault
# injection) the mdev_fault_test kselftest fails every allocation of
# creating a device, opening it through VFIO and loading a vendor module
# in turn (fail-nth sweeps over mtty, mdpy and mbochs).  On both kernels
# the mdev_race_test kselftest then creates, removes, opens, reads and
# closes devices of mtty and mdpy from several threads while the vendor
# modules are unloaded and reloaded: races need no debug option to show
# (a hang, an errno, a device left over), and the stock kernel is the one
# users run.  Each result of a kselftest is one result here
# ("fault.<fixture>.<variant>.<test>", "stress.race.<test>"), the rest
# of their output diagnostics, among them how many fault points each path
# had and how many operations the race did.  At the end no device may be
# left and every module must unload, so that the rig's kmemleak scan after
# the suites sees everything freed; and the kernel log must be whole for
# the rig's scan (see check_kernel_log).  About 5 minutes under TCG on the
# debug kernel, the race's time on the stock one.
#
# The fault sweeps are skipped on the stock kernel (no fail-nth) and fail
# on a debug kernel without it.  Environment: MDEV_RACE_SECONDS (default
# 20 s on the debug kernel, 10 s on the stock one), MDEV_RACE_THREADS
# (default 4), MDEV_FAULT_MAX_POINTS, MDEV_FAULT_LOADER (see
# mdev_fault_test.c).

here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/ktap.sh"
. "$here/lib.sh"

repo=$(cd "$here/../../.." && pwd)
progs=$repo/tools/testing/selftests/mdev
samples=(mtty mdpy mbochs)

for s in "${samples[@]}"; do
	[ -f "$(mdev_ko "$s")" ] || ktap_skip_all "$s.ko not built"
done
export MDEV_SAMPLEDIR
# The stock VM's time is precious: half the race there.
[ "${MDEV_VM_KERNEL:-}" = debug ] || export MDEV_RACE_SECONDS=${MDEV_RACE_SECONDS:-10}

echo "KTAP version 1"
ktap_diag "kernel: $MDEV_VM_KERNEL $(uname -r)"

# run_prog <prefix> <program> [args]: one result here per result of the
# program, and how long it took.
run_prog() {
	local start=$SECONDS prefix=$1 prog=$2

	shift 2
	ktap_kselftest "$prefix" "$progs/$prog" "$@"
	ktap_diag "$prog: $((SECONDS - start)) s"
}

# The debug kernel releases every kobject 1-4 s late
# (CONFIG_DEBUG_KOBJECT_RELEASE), and a module unload waits for its
# kobject's release.  The parent_register sweep loads and unloads a sample
# at each of its fault points, about 180 for mtty and 200 each for mdpy and
# mbochs, some 8 s a point: all of them would take over an hour.  make
# check sweeps every 8th point of mtty's, whose registration goes through
# vfio_mdev's classic path and the whole core, with a thread creating
# devices meanwhile; MDEV_FAULT_ALL=1 sweeps every point of all three.
fault_args=()
if [ "${MDEV_FAULT_ALL:-}" != 1 ]; then
	export MDEV_FAULT_STRIDE=${MDEV_FAULT_STRIDE:-8}
	for t in create.mtty create.mdpy create.mbochs open.mtty_group \
		 open.mtty_cdev open.mdpy_group open.mdpy_cdev \
		 parent_register.mtty; do
		fault_args+=(-r "$t.sweep")
	done
fi

mdev_unload_all
ktap_test "load_samples" mdev_load "${samples[@]}"

if [ "${MDEV_VM_KERNEL:-}" != debug ]; then
	ktap_skip "fault" "debug kernel only (fault injection, KASAN, kmemleak)"
elif [ -e /proc/thread-self/fail-nth ]; then
	run_prog fault mdev_fault_test "${fault_args[@]}"
else
	ktap_fail "fault" "no /proc/thread-self/fail-nth on the debug kernel (CONFIG_FAULT_INJECTION)"
fi

run_prog stress mdev_race_test

left=$(ls /sys/bus/mdev/devices 2>/dev/null | tr '\n' ' ')
if [ -z "$left" ] && mdev_unload "${samples[@]}" vfio_mdev mdev; then
	ktap_ok "cleanup"
else
	ktap_fail "cleanup" "devices left: ${left:-none}; a module busy?"
fi

# The rig scans the kernel log saved at the end of the run (the VM boots
# with log_buf_len=16M) and skips what lies between the fault sweeps'
# expected-report markers.  That holds only if the buffer never wrapped
# around (its first record is still the boot banner, "Linux version") and
# every bracket was closed: a sweep that died inside one would hide every
# report after it.  A bracket left open fails here, and is closed (with
# its pid) so the rest of the run is scanned again.
check_kernel_log() {
	local log first bad
	log=$(dmesg -t) || { ktap_fail "kernel_log" "dmesg failed"; return; }
	first=$(head -n1 <<<"$log")
	bad=$(awk '
		match($0, /mdev-rig: expected-report-(begin|end)( pid=[0-9]+)?/) {
			m = substr($0, RSTART, RLENGTH)
			pid = ""
			if (match(m, /pid=[0-9]+/))
				pid = substr(m, RSTART + 4, RLENGTH - 4)
			if (m ~ /-begin/) {
				if (pid in open)
					print "begin twice: " $0
				open[pid] = $0
			} else if (pid in open) {
				delete open[pid]
			} else {
				print "end without begin: " $0
			}
		}
		END { for (p in open) print "open pid=" p ": " open[p] }
	' <<<"$log")
	if [[ $first != "Linux version "* ]]; then
		ktap_fail "kernel_log" "the log wrapped: it starts with '$first', not the boot banner"
	elif [ -n "$bad" ]; then
		printf '%s\n' "$bad" | sed 's/^/# /'
		ktap_fail "kernel_log" "unbalanced expected-report brackets"
	else
		ktap_ok "kernel_log"
	fi
	sed -n 's/^open pid=\([0-9]*\): .*/\1/p' <<<"$bad" | while read -r pid; do
		echo "mdev-rig: expected-report-end${pid:+ pid=$pid}" >/dev/kmsg
	done
}
check_kernel_log
echo "1..$KTAP_N"

ktap_finish

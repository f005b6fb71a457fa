#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Hardening, on the debug kernel only (KASAN, lockdep, kmemleak, fault
# injection): the mdev_fault_test kselftest fails every allocation of
# creating a device, opening it through VFIO and loading a vendor module
# in turn (fail-nth sweeps over mtty, mdpy and mbochs); the mdev_race_test
# kselftest then creates, removes, opens, reads and closes devices of mtty
# and mdpy from several threads while the vendor modules are unloaded and
# reloaded.  Each result of a kselftest is one result here
# ("fault.<fixture>.<variant>.<test>", "stress.race.<test>"), the rest
# of their output diagnostics, among them how many fault points each path
# had and how many operations the race did.  At the end no device may be
# left and every module must unload, so that the rig's kmemleak scan after
# the suites sees everything freed; and the kernel log must stay readable
# for the rig (see check_log_start).  About 5 minutes under TCG.
#
# The fault sweeps are skipped on a kernel without fail-nth.  Environment:
# MDEV_RACE_SECONDS, MDEV_RACE_THREADS (default 20 s, 4 threads),
# MDEV_FAULT_MAX_POINTS, MDEV_FAULT_LOADER (see mdev_fault_test.c).

here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/ktap.sh"
. "$here/lib.sh"

repo=$(cd "$here/../../.." && pwd)
progs=$repo/tools/testing/selftests/mdev
samples=(mtty mdpy mbochs)

[ "${MDEV_VM_KERNEL:-}" = debug ] ||
	ktap_skip_all "debug kernel only (fault injection, KASAN, kmemleak)"
for s in "${samples[@]}"; do
	[ -f "$(mdev_ko "$s")" ] || ktap_skip_all "$s.ko not built"
done
export MDEV_SAMPLEDIR

echo "KTAP version 1"
ktap_diag "kernel: $MDEV_VM_KERNEL $(uname -r)"

# run_prog <prefix> <program>: one result here per result of the program,
# and how long it took.
run_prog() {
	local start=$SECONDS

	ktap_kselftest "$1" "$progs/$2"
	ktap_diag "$2: $((SECONDS - start)) s"
}

mdev_unload_all
ktap_test "load_samples" mdev_load "${samples[@]}"

if [ -e /proc/thread-self/fail-nth ]; then
	run_prog fault mdev_fault_test
else
	ktap_skip "fault" "no /proc/thread-self/fail-nth (CONFIG_FAULT_INJECTION)"
fi
# The sweeps bracket themselves with the rig's expected-report markers;
# close the bracket should one of them have died inside it.
echo "mdev-rig: expected-report-end" >/dev/kmsg

run_prog stress mdev_race_test

left=$(ls /sys/bus/mdev/devices 2>/dev/null | tr '\n' ' ')
if [ -z "$left" ] && mdev_unload "${samples[@]}" vfio_mdev mdev; then
	ktap_ok "cleanup"
else
	ktap_fail "cleanup" "devices left: ${left:-none}; a module busy?"
fi

# The rig reads the kernel log from its buffer at the end of the run (128
# KiB on the debug kernel) and skips what lies between expected-report
# markers.  The fault sweeps log a lot: once the buffer has wrapped around
# into one of their brackets, it starts inside it, and the stack dumps
# the sweep tolerated before the bracket's end marker would read as
# reports.  The sweeps checked every line inside their brackets
# themselves, so then check the rest as the rig does and clear the log.
# Only the end of our own run is lost, which the sweeps and this check
# have read: the buffer no longer holds anything older.
check_log_start() {
	local re log first offset reports
	re=$(sed -n "s/^report_re='\(.*\)'$/\1/p" "$here/run-vm.sh")
	[ -n "$re" ] || { ktap_fail "kernel_log" "no report_re in run-vm.sh"; return; }
	log=$(dmesg)
	first=$(grep -o -m1 'mdev-rig: expected-report-\(begin\|end\)' <<<"$log" || true)
	[ -n "$first" ] || { ktap_ok "kernel_log"; return; }
	# Bytes before the first marker: a margin for what is still to come
	offset=$(grep -b -m1 'mdev-rig: expected-report-\(begin\|end\)' <<<"$log" | cut -d: -f1)
	if [ "$first" != "mdev-rig: expected-report-end" ] && [ "$offset" -ge 16384 ]; then
		ktap_ok "kernel_log"
		return
	fi
	reports=$(awk -v re="$re" -v skip="$([ "$first" = "mdev-rig: expected-report-end" ] && echo 1 || echo 0)" '
		/mdev-rig: expected-report-begin/ { skip = 1; next }
		/mdev-rig: expected-report-end/   { skip = 0; next }
		!skip && $0 ~ re { print }
	' <<<"$log")
	if [ -n "$reports" ]; then
		ktap_fail "kernel_log" "kernel reports outside the sweeps' brackets:"
		printf '%s\n' "$reports" | head -n 20 | sed 's/^/#   /'
		return
	fi
	dmesg -C
	echo "mdev-rig: 60-hardening cleared the kernel log, which began inside or just before a bracket of mdev_fault_test: checked" >/dev/kmsg
	ktap_diag "kernel log cleared after checking it: it began inside or just before a bracket of the sweeps"
	ktap_ok "kernel_log"
}
check_log_start
echo "1..$KTAP_N"

ktap_finish

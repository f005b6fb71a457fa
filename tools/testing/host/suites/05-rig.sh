#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The rig's own verdict, on synthetic inputs: no VM, a few seconds.
#
#   count.*    check.sh's counter (tools/testing/vm/verdict.sh) on a KTAP
#              file and an exit status: "passed failed skipped" as wanted
#   suite.*    a suite that is not executable or left no output
#   select.*   MDEV_SUITES selecting nothing (check.sh --no-run, whose
#              last line must still be "N passed, N failed, N skipped")
#   vm.*       the verdict on a VM run from run-vm.sh's files: killed,
#              ended early by a suite timeout, clean
#   scan.*     the report scanner (tools/testing/vm/scan-reports.sh) on a
#              synthetic kernel log (raw /dev/kmsg records), console log
#              and kmemleak files: the known VFIO WARN and allocation dumps
#              of mdev_fault_test inside its bracket and from its task pass
#              and are counted; a WARN from another task, another WARN, a
#              WARN outside the brackets, unbalanced or malformed markers,
#              a wrapped or incomplete log, no kmemleak scan on the debug
#              kernel fail
#
# Each case that must fail has a twin that must pass, so that neither
# verdict is constant.

set -uo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
vm=$here/vm
. "$vm/ktap.sh"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "KTAP version 1"

# ---- the counter ----------------------------------------------------------

# why: the failures verdict.sh recorded, on stderr
why() {
	[ ${#failures[@]} = 0 ] || printf '%s\n' "${failures[@]}" >&2
}

# judge <result> <got> <want> <what was got>: ok when they agree, else
# the verdict's reasons ($tmp/why) and the difference.
judge() {
	if [ "$2" = "$3" ]; then
		ktap_ok "$1"
	else
		sed 's/^/# /' "$tmp/why"
		ktap_fail "$1" "$4 '$2', want '$3'"
	fi
}

# expect_count <name> <exit status> <want "p f s"> <ktap lines...>
expect_count() {
	local name=$1 rc=$2 want=$3 got
	shift 3
	printf '%s\n' "$@" >"$tmp/$name.ktap"
	got=$({ . "$vm/verdict.sh"; count_suite "t" "$tmp/$name.ktap" "$rc"
		echo "$passed $failed $skipped"; why; } 2>"$tmp/why")
	judge "count.$name" "$got" "$want" "counted (passed failed skipped)"
}

expect_count clean 0 "2 0 0" "KTAP version 1" "1..2" "ok 1 a" "ok 2 b"
expect_count trailing_plan 0 "2 0 0" "KTAP version 1" "ok 1 a" "# diag" "ok 2 b" "1..2"
expect_count skip_all 0 "0 0 1" "KTAP version 1" "1..0 # SKIP not here"
expect_count skip 0 "1 0 1" "1..2" "ok 1 a" "ok 2 b # SKIP why"
expect_count failure_then_skip 1 "0 1 1" "1..2" "not ok 1 a" "ok 2 b # SKIP why"
expect_count not_ok_skip 0 "0 1 0" "1..1" "not ok 1 a # SKIP why"
expect_count missing_plan 0 "2 1 0" "KTAP version 1" "ok 1 a" "ok 2 b"
expect_count short_plan 0 "2 1 0" "1..3" "ok 1 a" "ok 2 b"
expect_count short_trailing_plan 0 "1 1 0" "ok 1 a" "1..2"
expect_count long_trailing_plan 0 "2 1 0" "ok 1 a" "ok 2 b" "1..1"
expect_count plan_between_results 0 "2 1 0" "ok 1 a" "1..2" "ok 2 b"
expect_count two_plans 0 "1 1 0" "1..1" "ok 1 a" "1..1"
expect_count crashed 139 "2 1 0" "1..2" "ok 1 a" "ok 2 b"
expect_count crashed_before_plan 1 "1 1 0" "KTAP version 1" "ok 1 a"
expect_count no_output 0 "0 1 0"
expect_count suite_timeout 124 "1 1 0" "1..5" "ok 1 a" "# stacks" "not ok 2 suite_timeout"

# The final line and exit status of verdict.sh run on its own.
printf '%s\n' "1..2" "ok 1 a" "ok 2 b # SKIP x" >"$tmp/alone.ktap"
printf '%s\n' "1..2" "ok 1 a" "not ok 2 b # SKIP x" >"$tmp/alone-bad.ktap"
if [ "$("$vm/verdict.sh" "$tmp/alone.ktap" 0 | tail -n1)" = "1 passed, 0 failed, 1 skipped" ] &&
   "$vm/verdict.sh" "$tmp/alone.ktap" 0 >/dev/null &&
   ! "$vm/verdict.sh" "$tmp/alone-bad.ktap" 0 >/dev/null; then
	ktap_ok "count.verdict_sh"
else
	ktap_fail "count.verdict_sh" "verdict.sh: wrong final line or exit status"
fi

# The timed-out suite is named so.
if (. "$vm/verdict.sh"; count_suite "x/20-y" "$tmp/suite_timeout.ktap" 124
    printf '%s\n' "${failures[@]}") | grep -q -F 'x/20-y: exited with status 124 (suite timeout)'; then
	ktap_ok "count.suite_timeout_named"
else
	ktap_fail "count.suite_timeout_named" "no '(suite timeout)' failure"
fi

# ---- suites ---------------------------------------------------------------

# suite_case <name> <want failed> <mode> <with ktap: 0|1>
suite_case() {
	local name=$1 want=$2 dir=$tmp/suites-$1 got
	mkdir -p "$dir/ktap"
	printf '#!/bin/bash\necho 1..0\n' >"$dir/00-x.sh"
	chmod "$3" "$dir/00-x.sh"
	if [ "$4" = 1 ]; then
		printf '%s\n' "1..1" "ok 1 a" >"$dir/ktap/00-x.ktap"
		echo 0 >"$dir/ktap/00-x.rc"
	fi
	got=$({ . "$vm/verdict.sh"; suite_verdict "k/00-x" "$dir/00-x.sh" "$dir/ktap" >/dev/null
		echo "$failed"; why; } 2>"$tmp/why")
	judge "suite.$name" "$got" "$want" "failures"
}
suite_case executable 0 0755 1
suite_case not_executable 1 0644 1
suite_case did_not_run 1 0755 0

# ---- selection ------------------------------------------------------------

# select_case <name> <want exit status> <MDEV_SUITES> <kernels...>: check.sh
# --no-run on an empty output directory.
select_case() {
	local name=$1 want=$2 sel=$3 out rc
	shift 3
	out=$(MDEV_CHECK_OUT=$tmp/check-$name MDEV_SUITES=$sel "$vm/check.sh" --no-run "$@" 2>&1)
	rc=$?
	if [ "$rc" = "$want" ] && [[ $(tail -n1 <<<"$out") =~ ^[0-9]+\ passed,\ [0-9]+\ failed,\ [0-9]+\ skipped$ ]]; then
		ktap_ok "select.$name"
	else
		sed 's/^/# /' <<<"$out" | tail -n 8
		ktap_fail "select.$name" "check.sh exit status $rc, want $want"
	fi
}
select_case nomatch 1 "nomatch" stock
select_case nomatch_of_several 1 "nomatch 05-rig-nomatch" host debug stock
select_case blank 1 " " host
mkdir -p "$tmp/check-ok/host/ktap"
printf '%s\n' "1..1" "ok 1 a" >"$tmp/check-ok/host/ktap/05-rig.ktap"
echo 0 >"$tmp/check-ok/host/ktap/05-rig.rc"
select_case ok 0 "05-rig" host
# one pattern of two matching nothing
mkdir -p "$tmp/check-typo/host/ktap"
cp "$tmp/check-ok/host/ktap/05-rig."* "$tmp/check-typo/host/ktap/"
select_case typo 1 "05-rig 05-rgi" host

# ---- VM runs --------------------------------------------------------------

# vm_case <name> <want failed> <result line or ""> <vm.rc or ""> [abort]
vm_case() {
	local name=$1 want=$2 out=$tmp/vm-$2-$1 got
	mkdir -p "$out/.rig"
	[ -z "$3" ] || echo "$3" >"$out/result"
	[ -z "$4" ] || echo "$4" >"$out/vm.rc"
	[ -z "${5:-}" ] || echo "$5" >"$out/.rig/abort"
	: >"$out/reports.txt"
	got=$({ . "$vm/verdict.sh"; vm_verdict "stock VM" "$out"
		echo "$failed"; why; } 2>"$tmp/why")
	judge "vm.$name" "$got" "$want" "failures"
}
vm_case clean 0 "status=0 reports=0 timeout=0 known_warns=0 alloc_dumps=0" 0
vm_case killed 1 "" ""
vm_case no_status 1 "status=none reports=0 timeout=0" 125
vm_case timeout 1 "status=none reports=0 timeout=1" 124
vm_case suite_timeout 1 "status=124 reports=0 timeout=0" 124 "suite 20-sysfs timed out after 900s"
vm_case report 1 "status=0 reports=1 timeout=0" 1

# ---- the report scanner ---------------------------------------------------

# A synthetic run: newrig, then records (rec <caller> <text>).
newrig() {
	rig=$(mktemp -d "$tmp/rig.XXXXXX")
	seq=0
	kernel=debug
	console=/dev/null
	: >"$rig/kmsg.txt"
	echo "scanned twice at the end of the run" >"$rig/kmemleak-scanned"
	rec T0 "Linux version 6.12.57-mdev-debug (synthetic) #1 SMP PREEMPT_DYNAMIC"
	rec T0 "Command line: console=ttyS0 log_buf_len=16M"
	rec T1 "mdev-rig: command start"
}
rec() {
	printf '4,%d,%d,-%s;%s\n' "$seq" $((1000000 + seq * 1000)) "${1:+,caller=$1}" "$2" >>"$rig/kmsg.txt"
	seq=$((seq + 1))
}
bracket_begin() { rec "T$1" "mdev-rig: expected-report-begin pid=$1 (mdev_fault_test)"; }
bracket_end() { rec "T$1" "mdev-rig: expected-report-end pid=$1"; }
# warn <task> <pid in the line> [file:line function]
warn() {
	local t=$1
	rec "$t" "------------[ cut here ]------------"
	rec "$t" "WARNING: CPU: 1 PID: $2 at ${3:-drivers/vfio/group.c:538 vfio_group_release}+0x9b/0xc0 [vfio]"
	rec "$t" "Modules linked in: mtty vfio_mdev mdev vfio_iommu_type1 vfio"
	rec "$t" "CPU: 1 UID: 0 PID: $2 Comm: mdev_fault_test Not tainted 6.12.57-mdev-debug #1"
	rec "$t" "RIP: 0010:vfio_group_release+0x9b/0xc0 [vfio]"
	rec "$t" "Call Trace:"
	rec "$t" " <TASK>"
	rec "$t" " device_release+0x5e/0x100"
	rec "$t" " </TASK>"
	rec "$t" "---[ end trace 0000000000000000 ]---"
}
alloc_dump() {
	rec "T$1" "mdev_fault_test: vmalloc error: size 4096, vm_struct allocation failed, mode:0xcc0(GFP_KERNEL), nodemask=(null),cpuset=/,mems_allowed=0"
	rec "T$1" "CPU: 0 UID: 0 PID: $1 Comm: mdev_fault_test Not tainted 6.12.57-mdev-debug #1"
	rec "T$1" "Call Trace:"
	rec "T$1" " <TASK>"
	rec "T$1" " dump_stack_lvl+0x5d/0x80"
	rec "T$1" " </TASK>"
}

# expect_scan <name> <want exit status> [want counts]
expect_scan() {
	local rc
	"$vm/scan-reports.sh" --kernel "$kernel" --counts "$rig/counts" "$rig" "$console" >"$rig/out" 2>&1
	rc=$?
	if [ "$rc" = "$2" ] && { [ -z "${3:-}" ] || [ "$(cat "$rig/counts")" = "$3" ]; }; then
		ktap_ok "scan.$1"
	else
		sed 's/^/# /' "$rig/out" | head -n 10
		ktap_diag "counts: $(cat "$rig/counts" 2>/dev/null)"
		ktap_fail "scan.$1" "scan-reports.sh exit status $rc, want $2${3:+ with $3}"
	fi
}

newrig
rec T1 "hello"
expect_scan clean 0 "known_warns=0 alloc_dumps=0"

newrig
bracket_begin 321
warn T321 321
alloc_dump 321
rec T77 "an ordinary line from another task"
warn T321 321
bracket_end 321
expect_scan bracket_known_splats 0 "known_warns=2 alloc_dumps=1"
# The same, with the console showing some of it (it is judged once, in
# the kernel log) and an ordinary console line.
awk -F';' '/vfio_group_release\+|cut here|Call Trace:/ {
	split($1, h, ","); printf "[%5d.%06d][%6s] %s\n", h[3] / 1000000, h[3] % 1000000, substr(h[5], 8), $2 }' \
	"$rig/kmsg.txt" >"$rig/console.log"
echo "ok 1 fault.create" >>"$rig/console.log"
console=$rig/console.log
expect_scan bracket_known_splats_console 0 "known_warns=2 alloc_dumps=1"

newrig
bracket_begin 321
warn T400 400
bracket_end 321
expect_scan bracket_known_warn_kworker 0 "known_warns=1 alloc_dumps=0"

# ... the known WARNING only, and only under its own PID
newrig
bracket_begin 321
warn T400 401
bracket_end 321
expect_scan bracket_warn_other_task_pid 1

newrig
bracket_begin 321
alloc_dump 400
bracket_end 321
expect_scan bracket_alloc_other_task 1

newrig
bracket_begin 321
warn T400 400 "drivers/vfio/mdev/mdev_core.c:100 mdev_device_remove"
bracket_end 321
expect_scan bracket_unknown_warn_other_task 1

# A late known WARNING after the bracket closed is a report
newrig
bracket_begin 321
bracket_end 321
warn T400 400
expect_scan known_warn_after_bracket 1

newrig
bracket_begin 321
warn T321 321 "drivers/vfio/group.c:539 vfio_group_release"
bracket_end 321
expect_scan bracket_warn_other_line 1

newrig
bracket_begin 321
warn T321 321 "drivers/vfio/mdev/mdev_core.c:100 mdev_device_remove"
bracket_end 321
expect_scan bracket_unknown_warn 1

newrig
bracket_begin 321
rec T321 "BUG: KASAN: slab-use-after-free in mdev_remove+0x10/0x20 [mdev]"
bracket_end 321
expect_scan bracket_kasan 1

newrig
bracket_begin 321
alloc_dump 321
rec T321 "Call Trace:"
bracket_end 321
expect_scan bracket_second_trace 1

newrig
bracket_begin 321
rec "" "mdev-rig: expected-report-begin pid=5 (mdev_fault_test)"
warn "" 321
bracket_end 321
rec "" "mdev-rig: expected-report-end pid=5"
expect_scan bracket_no_caller 1

newrig
warn T321 321
expect_scan warn_outside 1

newrig
bracket_begin 321
bracket_end 321
warn T321 321
expect_scan warn_after_bracket 1

newrig
bracket_begin 321
warn T321 321
expect_scan begin_without_end 1

newrig
bracket_end 321
expect_scan end_without_begin 1

newrig
rec T321 "mdev-rig: expected-report-begin (mdev_fault_test)"
rec T321 "mdev-rig: expected-report-end"
expect_scan marker_without_pid 1

newrig
rec T99 "mdev-rig: expected-report-begin pid=321 (mdev_fault_test)"
warn T321 321
bracket_end 321
expect_scan marker_from_other_task 1

newrig
rm "$rig/kmemleak-scanned"
expect_scan no_kmemleak_scan_debug 1
kernel=stock
expect_scan no_kmemleak_scan_stock 0

newrig
printf '%s\n' "unreferenced object 0xffff888101234500 (size 64):" >"$rig/kmemleak.txt"
expect_scan kmemleak_leak 1

newrig
sed -i '1d' "$rig/kmsg.txt"
expect_scan wrapped_log 1

newrig
seq=$((seq + 5))
rec T1 "after a gap"
expect_scan log_gap 1

newrig
echo "dd: error reading '/dev/kmsg': Broken pipe" >"$rig/kmsg.err"
expect_scan log_epipe 1
echo "dd: error reading '/dev/kmsg': Resource temporarily unavailable" >"$rig/kmsg.err"
expect_scan log_eagain 0

newrig
rm "$rig/kmsg.txt"
expect_scan no_log 1

newrig
echo "[   99.000000] Oops: general protection fault, probably for non-canonical address" >"$rig/console.log"
console=$rig/console.log
expect_scan console_oops 1

echo "1..$KTAP_N"
ktap_finish

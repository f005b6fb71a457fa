#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Find the kernel reports of a VM run (run-vm.sh calls it after every run;
# tools/testing/host/suites/05-rig.sh feeds it synthetic runs):
#
#   scan-reports.sh [--kernel stock|debug] [--counts FILE] <rig dir> [console log]
#
# prints one line per report found and exits 1 if there is any.  A kernel
# report is a line matching run-vm.sh's report_re (KASAN, UBSAN, lockdep,
# WARN, BUG, oops, hung task, kmemleak ...); the rig's own faults are
# reported as lines beginning with "mdev-rig: ".  Read from <rig dir>:
#
#   kmsg.txt          the kernel log as raw /dev/kmsg records
#                     ("prio,seq,usec,flags[,caller=T<pid>];text"), saved by
#                     guest-init.sh at the end.  It must begin with the boot
#                     (record 0, "Linux version") and have no gaps: a log
#                     that wrapped or lost records fails the run.
#   kmsg.err          what saving it printed: anything but the end of the
#                     records (EAGAIN) is a fault, e.g. EPIPE (overwritten)
#   kmemleak.txt      kmemleak's report, every line scanned
#   kmemleak-scanned  written by guest-init.sh after a complete kmemleak
#                     scan; required with --kernel debug
#   abort             why the guest ended the run early (a suite timeout)
#
# The console log is scanned too, except for the kernel lines it shares
# with kmsg.txt (same time stamp and text), which are judged there.
#
# Expected reports.  mdev_fault_test fails allocations on purpose, and
# some of the kernel's paths report that by design.  It brackets each sweep
# with the kernel log lines
#   mdev-rig: expected-report-begin pid=<pid> (mdev_fault_test)
#   mdev-rig: expected-report-end pid=<pid>
# written by task <pid>.  Inside a bracket, and only from the task <pid>
# (the records' caller=T<pid>, CONFIG_PRINTK_CALLER), exactly these are
# tolerated and counted:
#   - the VFIO core's WARN on a failed allocation, at the line of Debian's
#     6.12 source: "WARNING: CPU: <n> PID: <pid> at
#     drivers/vfio/group.c:538 vfio_group_release+..." with its "cut here"
#     and its one "Call Trace:" up to its "---[ end trace";
#   - an allocation-failure dump, "<comm>: vmalloc error: " or "<comm>:
#     page allocation failure: ", with the one "Call Trace:" of its
#     dump_stack().
# While a bracket is open, the known WARNING is also tolerated from any
# other task, alone: with CONFIG_DEBUG_KOBJECT_RELEASE the VFIO group's
# release, which issues it, runs seconds late from a kworker.
# Any other report inside a bracket is a report, as is any report from
# another task, or from a log without caller information.  A marker that
# is not exactly one of the two lines above, a begin without its end, an
# end without its begin, or a marker written by another task than <pid>
# is a fault of the rig.  --counts FILE receives
# "known_warns=<n> alloc_dumps=<n>".

set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
kernel=
counts=
while [ $# -gt 0 ]; do
	case $1 in
	--kernel) kernel=${2:?}; shift 2 ;;
	--counts) counts=${2:?}; shift 2 ;;
	*) break ;;
	esac
done
[ $# -ge 1 ] && [ $# -le 2 ] ||
	{ echo "usage: $0 [--kernel stock|debug] [--counts FILE] <rig dir> [console log]" >&2; exit 2; }
rig=$1
console=${2:-/dev/null}

report_re=$(sed -n "s/^report_re='\(.*\)'$/\1/p" "$here/run-vm.sh")
[ -n "$report_re" ] || { echo "mdev-rig: no report_re in $here/run-vm.sh"; exit 1; }
export report_re

# drivers/vfio/group.c of Debian's linux-source-6.12: WARN_ON(group->iommu_group)
known_file_line='drivers/vfio/group\.c:538'
known_func='vfio_group_release'

out=$(mktemp)
cnt=$(mktemp)
trap 'rm -f "$out" "$cnt" "$cnt.all"' EXIT
kmsg=$rig/kmsg.txt
[ -f "$kmsg" ] || kmsg=/dev/null

# One awk over the kernel log, then the console.
KNOWN_RE="^WARNING: CPU: [0-9]+ PID: %s at $known_file_line $known_func\\+0x[0-9a-f]+/0x[0-9a-f]+( \\[vfio\\])?\$" \
awk -v kmsgfile="$kmsg" -v counts="$cnt" '
function hexval(h,   i, v) {
	v = 0
	for (i = 1; i <= 2; i++)
		v = v * 16 + index("0123456789abcdef", substr(h, i, 1)) - 1
	return v
}
# /dev/kmsg escapes "\", control and non-ASCII bytes as \xNN
function unescape(s,   o) {
	o = ""
	while (match(s, /\\x[0-9a-f][0-9a-f]/)) {
		o = o substr(s, 1, RSTART - 1) sprintf("%c", hexval(substr(s, RSTART + 2, 2)))
		s = substr(s, RSTART + RLENGTH)
	}
	return o s
}
function stamp(usec) {
	return sprintf("%d.%06d", int(usec / 1000000), usec % 1000000)
}
function rig(msg) { rigmsgs[++nrig] = "mdev-rig: " msg }
function report(line) { print line }
function open_brackets(   p, s) {
	s = ""
	for (p in opened) s = s (s == "" ? "" : ",") p
	return s
}
# judge one kernel log record: text, caller ("T<pid>", "C<cpu>" or "")
function judge(text, caller, shown,   pid, tpid, isrep, st) {
	if (text ~ /mdev-rig: expected-report-/) {
		if (text ~ /^mdev-rig: expected-report-begin pid=[0-9]+ \(mdev_fault_test\)$/) {
			pid = text
			sub(/^mdev-rig: expected-report-begin pid=/, "", pid)
			sub(/ .*/, "", pid)
			if (caller != "" && caller != "T" pid)
				rig("kernel log: \"" text "\" written by " caller ", not by task " pid)
			else if (pid in opened)
				rig("kernel log: a second \"" text "\" before its end")
			else {
				opened[pid] = 1
				nopen++
				state[pid] = ""
			}
		} else if (text ~ /^mdev-rig: expected-report-end pid=[0-9]+$/) {
			pid = text
			sub(/^mdev-rig: expected-report-end pid=/, "", pid)
			if (caller != "" && caller != "T" pid)
				rig("kernel log: \"" text "\" written by " caller ", not by task " pid)
			else if (!(pid in opened))
				rig("kernel log: \"" text "\" without its begin")
			else {
				if (state[pid] == "cut")
					report(shown " (a cut here of task " pid " without its WARNING)")
				else if (state[pid] == "warn")
					report(shown " (the known WARNING of task " pid " without its end of trace)")
				delete opened[pid]
				nopen--
			}
		} else
			rig("kernel log: a malformed expected-report marker: \"" text "\"")
		return
	}

	isrep = (text ~ ENVIRON["report_re"])
	if (!nopen) {
		if (isrep)
			report(shown)
		return
	}
	tpid = (caller ~ /^T[0-9]+$/) ? substr(caller, 2) : ""
	if (!(tpid in opened)) {
		# Another task: the known WARNING only (a release the sweep
		# caused may run late, from a kworker), nothing else.
		if (tpid != "" && splat(text, tpid, shown, 0))
			return
		if (isrep)
			report(shown " (inside the expected-report bracket of pid " open_brackets() \
			       ", from " (caller == "" ? "an unknown task: no caller in the log" : caller) ")")
		return
	}

	# From the task of an open bracket: only its known splats.
	if (splat(text, tpid, shown, 1))
		return
	if (isrep)
		report(shown " (inside the expected-report bracket of pid " tpid ", not a known splat)")
}

# Whether the record of task tpid is part of a known splat: the known
# WARNING, and with alloc also an allocation-failure dump.
function splat(text, tpid, shown, alloc_ok,   st) {
	st = state[tpid]
	if (st == "cut") {
		state[tpid] = st = ""
		if (text ~ sprintf(ENVIRON["KNOWN_RE"], tpid)) {
			known++
			state[tpid] = "warn"
			traces[tpid] = 0
			return 1
		}
		report(cutline[tpid] " (not followed by the known WARNING)")
	}
	if (text == "------------[ cut here ]------------") {
		state[tpid] = "cut"
		cutline[tpid] = shown
		return 1
	}
	if (st == "warn" && text ~ /^---\[ end trace [0-9a-f]+ \]---$/) {
		state[tpid] = ""
		return 1
	}
	if (alloc_ok && text ~ /^[^:]+: (vmalloc error: |page allocation failure: )/) {
		alloc++
		state[tpid] = "alloc"
		traces[tpid] = 0
		return 1
	}
	if ((st == "warn" || st == "alloc") && text == "Call Trace:" && !traces[tpid]++)
		return 1
	return 0
}

FILENAME == kmsgfile {
	if ($0 ~ /^ /)		# a record'"'"'s dictionary (SUBSYSTEM=...)
		next
	semi = index($0, ";")
	if (!semi) {
		rig("kernel log: not a /dev/kmsg record: " $0)
		next
	}
	nf = split(substr($0, 1, semi - 1), h, ",")
	text = unescape(substr($0, semi + 1))
	caller = ""
	for (i = 5; i <= nf; i++)
		if (h[i] ~ /^caller=/)
			caller = substr(h[i], 8)
	seq = h[2] + 0
	if (!nrec++) {
		if (seq != 0 || text !~ /^Linux version /)
			rig("kernel log: does not begin with the boot (first record " seq ": \"" \
			    substr(text, 1, 60) "\"): it wrapped or was cut, reports may be lost")
	} else if (seq != lastseq + 1)
		rig("kernel log: records " lastseq + 1 " to " seq - 1 " are missing")
	lastseq = seq
	t = stamp(h[3])
	seen[t " " text] = 1
	judge(text, caller, sprintf("[%12s]%s %s", t, caller == "" ? "" : sprintf("[%6s]", caller), text))
	next
}

# The console: a kernel line "[  sec.usec][  T123] text" already judged
# with the kernel log is skipped; everything else is scanned as it is.
{
	line = $0
	sub(/\r+$/, "", line)
	if (match(line, /^\[ *[0-9]+\.[0-9][0-9][0-9][0-9][0-9][0-9]\]/)) {
		t = substr(line, 2, RLENGTH - 2)
		sub(/^ */, "", t)
		rest = substr(line, RLENGTH + 1)
		if (match(rest, /^\[ *[TC][0-9]+\]/))
			rest = substr(rest, RLENGTH + 1)
		sub(/^ /, "", rest)
		if ((t " " rest) in seen)
			next
	}
	if (line ~ ENVIRON["report_re"])
		report(line)
}

END {
	for (p in opened)
		rig("kernel log: \"mdev-rig: expected-report-begin pid=" p "\" without its end")
	for (i = 1; i <= nrig; i++)
		print rigmsgs[i]
	printf "known_warns=%d alloc_dumps=%d\n", known, alloc >counts
}
' "$kmsg" "$console" >"$out"

# The kernel reports, then the rig's faults.
{
	grep -v '^mdev-rig: ' "$out"
	[ ! -s "$rig/kmemleak.txt" ] || awk '$0 ~ ENVIRON["report_re"]' "$rig/kmemleak.txt"
	grep '^mdev-rig: ' "$out"
	[ -f "$rig/kmsg.txt" ] ||
		echo "mdev-rig: no kernel log saved ($rig/kmsg.txt): the guest died or was killed"
	if [ -s "$rig/kmsg.err" ] && grep -v -q 'Resource temporarily unavailable' "$rig/kmsg.err"; then
		echo "mdev-rig: saving the kernel log failed: $(grep -v 'Resource temporarily unavailable' "$rig/kmsg.err" | head -n1)"
	fi
	if [ "$kernel" = debug ] && [ ! -f "$rig/kmemleak-scanned" ]; then
		echo "mdev-rig: no kmemleak scan on the debug kernel$([ -s "$rig/abort" ] && echo " (the run was ended early)")"
	fi
} >"$cnt.all"
[ -z "$counts" ] || cp "$cnt" "$counts"
cat "$cnt.all"
if [ -s "$cnt.all" ]; then
	rm -f "$cnt.all"
	exit 1
fi
rm -f "$cnt.all"
exit 0

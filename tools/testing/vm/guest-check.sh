#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of `make check`: run every suite tools/testing/vm/suites/
# NN-name.sh in order.  Each suite prints KTAP on stdout (a suite may skip
# itself with "1..0 # SKIP reason", e.g. after checking $MDEV_VM_KERNEL);
# its stdout is saved as $MDEV_SCRATCH/ktap/NN-name.ktap and its exit
# status as $MDEV_SCRATCH/ktap/NN-name.rc for the host (check.sh) to
# collect.  A suite file that is not executable is recorded as a failure.
#
# MDEV_SUITES="00-smoke 10-kunit" runs only those suites (names or globs);
# selecting none is an error.
#
# Time limit: each suite gets MDEV_SUITE_TIMEOUT seconds (default 900), or
# what a line "# mdev-timeout: <seconds>" in its first 40 lines asks for.
# A suite still running then is a failure, and so is the rest of the run:
# its tasks' kernel stacks (/proc/<pid>/stack) are added to its KTAP as
# diagnostics, followed by a "not ok" result and exit status 124, the
# kernel logs every blocked task (sysrq w), the suite's tasks are killed
# and no further suite runs: the VM ends at once (the reason is left in
# $MDEV_RIG_DIR/abort) instead of waiting on a task that no signal can
# end.  The suite's output goes to a file, not a pipe, for the same reason.

set -u

here=$(cd "$(dirname "$0")" && pwd)
out=${MDEV_SCRATCH:?run this in the test VM (run-vm.sh)}/ktap
mkdir -p "$out"
# shellcheck source=tools/testing/vm/verdict.sh
. "$here/verdict.sh"

# suite_timeout <suite file>
suite_timeout() {
	local t
	t=$(sed -n '1,40s/^# mdev-timeout: \([0-9][0-9]*\)[[:space:]]*$/\1/p' "$1" | head -n1)
	echo "${t:-${MDEV_SUITE_TIMEOUT:-900}}"
}

# suite_tasks <pid>: the suite's process <pid>, its descendants and
# whatever else is left in its session.
suite_tasks() {
	local root=$1 p stat rest ppid sid
	declare -A parent in_tree=(["$root"]=1)
	local -a all=()
	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		read -r stat 2>/dev/null <"/proc/$p/stat" || continue
		rest=${stat##*) }
		# shellcheck disable=SC2086 # fields
		set -- $rest
		ppid=$2 sid=$4
		parent[$p]=$ppid
		all+=("$p")
		[ "$sid" = "$root" ] && in_tree[$p]=1
	done
	local changed=1
	while [ "$changed" = 1 ]; do
		changed=0
		for p in "${all[@]}"; do
			if [ -z "${in_tree[$p]:-}" ] && [ -n "${in_tree[${parent[$p]}]:-}" ]; then
				in_tree[$p]=1
				changed=1
			fi
		done
	done
	printf '%s\n' "${!in_tree[@]}" | sort -n
}

# dump_tasks <pid>: the kernel stacks of the suite's tasks, as diagnostics.
dump_tasks() {
	local p state
	for p in $(suite_tasks "$1"); do
		[ -d "/proc/$p" ] || continue
		state=$(sed -n 's/^State:[[:space:]]*//p' "/proc/$p/status" 2>/dev/null)
		echo "# task $p ($(cat "/proc/$p/comm" 2>/dev/null)) state $state: $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | cut -c1-120)"
		sed 's/^/#   /' "/proc/$p/stack" 2>/dev/null
	done
}

n=0
for s in "$here"/suites/[0-9]*.sh; do
	[ -e "$s" ] || continue
	name=$(basename "$s" .sh)
	selected "$name" || continue
	n=$((n + 1))
	ktap=$out/$name.ktap
	if [ ! -x "$s" ]; then
		echo "# $name: not executable: a failure" >&2
		printf 'KTAP version 1\n1..1\nnot ok 1 %s_executable\n' "$name" >"$ktap"
		echo 126 >"$out/$name.rc"
		continue
	fi
	limit=$(suite_timeout "$s")
	echo "mdev-rig: suite $name start" >/dev/kmsg
	echo "# ---- $MDEV_VM_KERNEL: $name (time limit ${limit}s) ----"
	start=$SECONDS
	: >"$ktap"
	# Its own session, so that whatever it leaves behind can be found.
	setsid -w "$s" </dev/null >>"$ktap" &
	spid=$!
	tail -n +1 -s 0.5 -f --pid="$spid" "$ktap" &
	tpid=$!
	# Poll: the suite may end before any wait could start.
	while kill -0 "$spid" 2>/dev/null && [ $((SECONDS - start)) -lt "$limit" ]; do
		sleep 1
	done
	if ! kill -0 "$spid" 2>/dev/null; then
		wait "$spid"
		rc=$?
		wait "$tpid"
		echo "$rc" >"$out/$name.rc"
		echo "# ---- $name: exit status $rc, $((SECONDS - start))s ----"
		echo "mdev-rig: suite $name end, status $rc" >/dev/kmsg
		continue
	fi

	# Timed out.
	echo "mdev-rig: suite $name still running after ${limit}s: suite timeout" >/dev/kmsg
	kill "$tpid" 2>/dev/null
	results=$(grep -c -E '^(not )?ok ' "$ktap")
	{
		echo "# mdev-rig: suite timeout: still running after ${limit}s; the kernel stacks of its tasks:"
		dump_tasks "$spid"
		echo "# mdev-rig: every blocked task's stack is in the kernel log (sysrq w); the VM ends here"
		echo "not ok $((results + 1)) suite_timeout"
	} >"$out/$name.timeout"
	echo w >/proc/sysrq-trigger 2>/dev/null ||
		echo "# (no /proc/sysrq-trigger: no blocked-task dump)" >>"$out/$name.timeout"
	for p in $(suite_tasks "$spid"); do
		kill -KILL "$p" 2>/dev/null
	done
	cat "$out/$name.timeout" >>"$ktap"
	cat "$out/$name.timeout"
	rm -f "$out/$name.timeout"
	echo 124 >"$out/$name.rc"
	echo "# ---- $name: exit status 124 (suite timeout after ${limit}s) ----"
	echo "suite $name timed out after ${limit}s" >"${MDEV_RIG_DIR:-$MDEV_SCRATCH}/abort"
	exit 124
done
if [ "$n" = 0 ]; then
	echo "# MDEV_SUITES='${MDEV_SUITES:-}' selects no suite in $here/suites" >&2
	exit 1
fi
exit 0

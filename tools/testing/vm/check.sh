#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host side of `make check`: the host suites (tools/testing/host/suites/:
# builds that need no VM, such as in-tree users of our header, the patch
# series, DKMS), then one VM boot per kernel (debug, then stock), each
# running tools/testing/vm/guest-check.sh, which runs every suite in
# tools/testing/vm/suites/.  Prints each suite's KTAP and ends with exactly
# one line "N passed, N failed, N skipped".
#
#   check.sh [--no-run] [host] [debug] [stock]
#
# --no-run only summarizes the results of the previous run.
#
# Counting: every top-level "ok"/"not ok" line of a suite is one test; one
# with a "# SKIP" directive, or a "1..0" plan, is a skip.  A suite that
# exits non-zero without reporting a failure, that reports fewer results
# than its plan, or that never ran counts as one failure; a kernel report,
# a crash or a timeout of a VM counts as one failure named after the VM.
#
# Results stay in ${MDEV_CHECK_OUT:-<repo>/.check}/<kernel>/ (console log,
# kernel log, ktap/).  Exit status: 0 only if nothing failed.

set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
outroot=${MDEV_CHECK_OUT:-$repo/.check}
run=1
if [ "${1:-}" = --no-run ]; then
	run=0
	shift
fi
kernels=("$@")
[ ${#kernels[@]} -gt 0 ] || kernels=(host debug stock)
hostsuites=$repo/tools/testing/host/suites

# selected <suite-name>: whether MDEV_SUITES (names or globs) includes it.
selected() {
	local pat
	[ -z "${MDEV_SUITES:-}" ] && return 0
	for pat in $MDEV_SUITES; do
		# shellcheck disable=SC2053 # globs wanted
		[[ $1 == $pat ]] && return 0
	done
	return 1
}

# run_host_suites <out>: like guest-check.sh, on this machine.
run_host_suites() {
	local out=$1 s name start rc
	mkdir -p "$out/ktap"
	for s in "$hostsuites"/[0-9]*.sh; do
		[ -x "$s" ] || continue
		name=$(basename "$s" .sh)
		selected "$name" || continue
		echo "# ---- host: $name ----"
		start=$SECONDS
		# A failing suite must not end this script (set -e, pipefail).
		rc=0
		MDEV_HOST_OUT=$out timeout -k 10 "${MDEV_HOST_SUITE_TIMEOUT:-2400}" "$s" </dev/null |
			tee "$out/ktap/$name.ktap" || rc=${PIPESTATUS[0]}
		echo "$rc" >"$out/ktap/$name.rc"
		echo "# ---- $name: exit status $rc, $((SECONDS - start))s ----"
	done
}

passed=0 failed=0 skipped=0
failures=()

# count_suite <kernel> <name> <ktap> <rc>
count_suite() {
	local k=$1 name=$2 ktap=$3 rc=$4
	local p=0 f=0 s=0 plan='' line
	while IFS= read -r line; do
		line=${line%$'\r'}
		case $line in
		"ok "*|"not ok "*)
			if [[ ${line,,} =~ \#[[:space:]]*skip ]]; then
				s=$((s + 1))
			elif [[ $line == "ok "* ]]; then
				p=$((p + 1))
			else
				f=$((f + 1))
				failures+=("$k/$name: $line")
			fi
			;;
		1..*)
			[ -n "$plan" ] || plan=${line#1..}; plan=${plan%% *}
			;;
		esac
	done <"$ktap"
	if [ "$plan" = 0 ] && [ $((p + f + s)) = 0 ]; then
		s=1
	elif [ -n "$plan" ] && [[ $plan =~ ^[0-9]+$ ]] && [ $((p + f + s)) -lt "$plan" ]; then
		failures+=("$k/$name: only $((p + f + s)) of $plan results")
		f=$((f + 1))
	elif [ -z "$plan" ] && [ $((p + f + s)) = 0 ]; then
		f=$((f + 1))
		failures+=("$k/$name: no KTAP output")
	fi
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		f=1
		failures+=("$k/$name: exited with status $rc$([ "$rc" = 124 ] && echo ' (suite timeout)')")
	fi
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
}

for k in "${kernels[@]}"; do
	case $k in host|debug|stock) ;; *) echo "check: unknown kernel '$k'" >&2; exit 2 ;; esac
	[ "$run" = 1 ] || continue
	out=$outroot/$k
	rm -rf "$out"
	mkdir -p "$out"
	if [ "$k" = host ]; then
		echo "==== host: building what needs no VM ===="
		run_host_suites "$out"
		continue
	fi
	echo "==== $k kernel: running the suites in a VM ===="
	vmrc=0
	"$here/run-vm.sh" --kernel "$k" --scratch "$out" --timeout "${MDEV_VM_TIMEOUT:-3600}" \
		-- tools/testing/vm/guest-check.sh || vmrc=$?
	echo "$vmrc" >"$out/vm.rc"
done

echo
echo "==== results ===="
for k in "${kernels[@]}"; do
	out=$outroot/$k
	suitedir=$here/suites
	[ "$k" = host ] && suitedir=$hostsuites
	for s in "$suitedir"/[0-9]*.sh; do
		[ -x "$s" ] || continue
		name=$(basename "$s" .sh)
		selected "$name" || continue
		echo "# $k: $name"
		if [ ! -f "$out/ktap/$name.ktap" ]; then
			echo "# (did not run)"
			failed=$((failed + 1))
			failures+=("$k/$name: did not run")
			continue
		fi
		cat "$out/ktap/$name.ktap"
		count_suite "$k" "$name" "$out/ktap/$name.ktap" "$(cat "$out/ktap/$name.rc" 2>/dev/null || echo 255)"
	done
	[ "$k" = host ] && continue
	res=$(cat "$out/result" 2>/dev/null || echo "status=none reports=0 timeout=0")
	vmrc=$(cat "$out/vm.rc" 2>/dev/null || echo 255)
	why=
	case $res in
	*timeout=1*) why="timed out" ;;
	*status=none*) why="crashed or died without an exit status" ;;
	*reports=[1-9]*) why="kernel report: $(head -n1 "$out/reports.txt" 2>/dev/null | sed 's/^\[ *[0-9.]*\] //')" ;;
	esac
	if [ -z "$why" ] && [ "$vmrc" != 0 ]; then
		why="run-vm.sh exited with status $vmrc"
	fi
	if [ -n "$why" ]; then
		failed=$((failed + 1))
		failures+=("$k VM: $why (logs: $out/console.log $out/.rig/dmesg.txt)")
	fi
done

if [ ${#failures[@]} -gt 0 ]; then
	echo
	echo "# failures:"
	printf '#   %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]

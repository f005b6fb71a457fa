#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The rig's verdict: how check.sh counts the KTAP of each suite and judges
# each VM run.  Sourced by check.sh and by the rig's own tests
# (tools/testing/host/suites/05-rig.sh); run on its own it counts one
# suite's output:
#
#   verdict.sh <ktap file> <exit status>
#
# prints the failures and "N passed, N failed, N skipped", and exits 0 only
# if nothing failed.
#
# Counting: every top-level "ok"/"not ok" line is one test.  Only an "ok"
# with a "# SKIP" directive is a skip; a "not ok" is a failure whatever its
# directive says.  A "1..0" plan with no results is one skip.  A suite
# counts one more failure when it
#   - has results but no plan, or more than one plan, or a plan between
#     results (the plan goes before the first result or after the last:
#     20/30/41/45/50/60 print theirs last, so a suite that dies before it
#     has no plan);
#   - reports a different number of results than its plan;
#   - printed nothing;
#   - exits non-zero without a failed result;
#   - was killed at its time limit (exit status 124: "(suite timeout)";
#     then its plan is not checked, the guest added a "not ok" for it);
#   - is not executable, or left no output (did not run).
# A VM run counts one failure, named after the VM, when it timed out, died
# without an exit status, was ended early (a suite timeout), found a kernel
# report or a fault of the rig in the kernel log (tools/testing/vm/
# scan-reports.sh), or otherwise exited non-zero.  MDEV_SUITES must select
# at least one suite, and each of its patterns must match one.
#
# Functions (they add to passed, failed, skipped and failures[]):
#   selected <name>                    MDEV_SUITES (names or globs) selects it
#   count_selected <suite dir>         print how many suites it selects there
#   unmatched_patterns <suite dir>...  print each pattern that selects nothing
#   count_suite <label> <ktap> <rc>    count one suite's results
#   suite_verdict <label> <suite file> <ktap dir> [why]
#                                      print and count a suite's saved KTAP
#                                      ([why]: why it may not have run)
#   vm_verdict <label> <out dir>       judge a VM run from run-vm.sh's files
#   verdict_fail <what>                one failure
#   verdict_summary                    the failures and the final line;
#                                      returns 0 only if nothing failed

passed=0 failed=0 skipped=0
failures=()

verdict_fail() {
	failed=$((failed + 1))
	failures+=("$1")
}

selected() {
	local - pat
	set -f		# the patterns are globs for names, not for files here
	[ -z "${MDEV_SUITES:-}" ] && return 0
	for pat in $MDEV_SUITES; do
		# shellcheck disable=SC2053 # globs wanted
		[[ $1 == $pat ]] && return 0
	done
	return 1
}

count_selected() {
	local s n=0
	for s in "$1"/[0-9]*.sh; do
		[ -e "$s" ] || continue
		selected "$(basename "$s" .sh)" && n=$((n + 1))
	done
	echo "$n"
}

unmatched_patterns() {
	local - pat d s hit
	set -f
	for pat in ${MDEV_SUITES:-}; do
		hit=0
		for d in "$@"; do
			set +f
			for s in "$d"/[0-9]*.sh; do
				# shellcheck disable=SC2053 # globs wanted
				[[ $(basename "$s" .sh) == $pat ]] && hit=1
			done
			set -f
		done
		[ "$hit" = 1 ] || echo "$pat"
	done
}

count_suite() {
	local label=$1 ktap=$2 rc=$3
	local p=0 f=0 s=0 r line plan='' plans=0 before=0 after=0

	while IFS= read -r line; do
		line=${line%$'\r'}
		case $line in
		"ok "*|"not ok "*)
			[ "$plans" = 0 ] || after=$((after + 1))
			if [[ ${line,,} =~ ^ok\ [^#]*#[[:space:]]*skip([^[:alnum:]]|$) ]]; then
				s=$((s + 1))
			elif [[ $line == "ok "* ]]; then
				p=$((p + 1))
			else
				f=$((f + 1))
				failures+=("$label: $line")
			fi
			;;
		1..*)
			plans=$((plans + 1))
			plan=${line#1..}
			plan=${plan%%[!0-9]*}
			before=$((p + f + s))
			;;
		esac
	done <"$ktap"
	r=$((p + f + s))

	if [ "$rc" = 124 ]; then
		# Killed at its time limit: the plan cannot hold.
		failures+=("$label: exited with status 124 (suite timeout)")
		[ "$f" -gt 0 ] || f=1
	elif [ "$plans" = 0 ] && [ "$r" = 0 ]; then
		f=$((f + 1))
		failures+=("$label: no KTAP output")
	elif [ "$plans" = 0 ]; then
		f=$((f + 1))
		failures+=("$label: no plan (1..N) after $r results: it died before the end?")
	elif [ "$plans" -gt 1 ]; then
		f=$((f + 1))
		failures+=("$label: $plans plans")
	elif [ -z "$plan" ]; then
		f=$((f + 1))
		failures+=("$label: a plan without a number")
	elif [ "$before" -gt 0 ] && [ "$after" -gt 0 ]; then
		f=$((f + 1))
		failures+=("$label: the plan is between results ($before before it, $after after)")
	elif [ "$plan" != "$r" ]; then
		f=$((f + 1))
		failures+=("$label: $r results, but the plan says 1..$plan")
	elif [ "$plan" = 0 ]; then
		s=1
	fi
	if [ "$rc" != 0 ] && [ "$rc" != 124 ] && [ "$f" = 0 ]; then
		f=1
		failures+=("$label: exited with status $rc and no failed result")
	fi
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
}

suite_verdict() {
	local label=$1 s=$2 dir=$3 why=${4:-} name

	name=$(basename "$s" .sh)
	if [ ! -x "$s" ]; then
		echo "# (not executable: $s)"
		verdict_fail "$label: not executable ($s)"
		return
	fi
	if [ ! -f "$dir/$name.ktap" ]; then
		echo "# (did not run${why:+: $why})"
		verdict_fail "$label: did not run${why:+ ($why)}"
		return
	fi
	cat "$dir/$name.ktap"
	count_suite "$label" "$dir/$name.ktap" "$(cat "$dir/$name.rc" 2>/dev/null || echo 255)"
}

# The first report line worth naming: not a "Call Trace:" or "cut here".
report_headline() {
	local h
	h=$(grep -v -E 'Call Trace:|cut here' "$1" | head -n1)
	[ -n "$h" ] || h=$(head -n1 "$1")
	printf '%s\n' "$h" | sed -E 's/^\[ *[0-9.]+\](\[ *[TC][0-9]+\])? ?//'
}

vm_verdict() {
	local label=$1 out=$2 res vmrc h r why=()

	res=$(cat "$out/result" 2>/dev/null || echo "status=none reports=0 timeout=0")
	vmrc=$(cat "$out/vm.rc" 2>/dev/null || echo 255)
	case " $res " in *" timeout=1 "*) why+=("timed out") ;; esac
	[ -s "$out/.rig/abort" ] && why+=("ended early: $(head -n1 "$out/.rig/abort")")
	case " $res " in *" status=none "*) why+=("crashed or died without an exit status") ;; esac
	case " $res " in
	*" reports=0 "*) ;;
	*)
		h=$(report_headline "$out/reports.txt" 2>/dev/null)
		case $h in
		"mdev-rig: "*) why+=("${h#mdev-rig: }") ;;
		*) why+=("kernel report: ${h:-(see the console log)}") ;;
		esac
		;;
	esac
	[ ${#why[@]} -gt 0 ] || [ "$vmrc" = 0 ] || why+=("run-vm.sh exited with status $vmrc")
	[ ${#why[@]} -gt 0 ] || return 0
	h=${why[0]}
	for r in "${why[@]:1}"; do
		h+="; $r"
	done
	verdict_fail "$label: $h (logs: $out/console.log $out/.rig/dmesg.txt)"
}

verdict_summary() {
	if [ ${#failures[@]} -gt 0 ]; then
		echo
		echo "# failures:"
		printf '#   %s\n' "${failures[@]}"
	fi
	echo "$passed passed, $failed failed, $skipped skipped"
	[ "$failed" = 0 ]
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -u
	[ $# = 2 ] || { echo "usage: $0 <ktap file> <exit status>" >&2; exit 2; }
	count_suite "$(basename "$1" .ktap)" "$1" "$2"
	verdict_summary
fi

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# KTAP output helpers for the suites in tools/testing/vm/suites/.  Source it:
#
#   . "$(dirname "$0")/../ktap.sh"
#   ktap_plan 3                 # "KTAP version 1" + "1..3"
#   ktap_ok name                # ok 1 name
#   ktap_fail name [reason]     # not ok 2 name
#   ktap_skip name reason       # ok 3 name # SKIP reason
#   ktap_test name cmd args...  # ok/not ok by the command's status
#   ktap_skip_all reason        # "1..0 # SKIP reason", exits 0
#   ktap_diag text              # "# text"
#   ktap_finish                 # exit 1 if anything failed, else 0
#   ktap_kunit_cases <log       # KUnit's KTAP -> "ok|not ok suite.case" lines
#   ktap_results <<<"$lines"    # report such lines as results here
#   ktap_kselftest [--as name] prefix binary [args...]
#                               # run a kselftest binary: each of its
#                               # results is one here, "prefix.test"
#
# The runner counts the top-level ok/not ok lines; keep diagnostics on
# "# " lines (or stderr) so they are never mistaken for results.

KTAP_N=0
KTAP_FAILED=0

ktap_plan() {
	echo "KTAP version 1"
	echo "1..$1"
}

ktap_skip_all() {
	echo "KTAP version 1"
	echo "1..0 # SKIP $*"
	exit 0
}

ktap_diag() {
	echo "# $*"
}

ktap_ok() {
	KTAP_N=$((KTAP_N + 1))
	echo "ok $KTAP_N $1"
}

ktap_fail() {
	KTAP_N=$((KTAP_N + 1))
	KTAP_FAILED=$((KTAP_FAILED + 1))
	[ $# -gt 1 ] && echo "# $1: ${*:2}"
	echo "not ok $KTAP_N $1"
}

ktap_skip() {
	KTAP_N=$((KTAP_N + 1))
	echo "ok $KTAP_N $1 # SKIP ${*:2}"
}

ktap_test() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		ktap_ok "$name"
	else
		[ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/# /'
		ktap_fail "$name" "command failed: $*"
	fi
}

# KUnit prints each suite as a subtest (four spaces in) of its own KTAP;
# its cases are the results wanted here.  Console timestamps and callers
# (CONFIG_PRINTK_CALLER: "[  T123]") are dropped.
ktap_kunit_cases() {
	sed -E 's/^\[ *[0-9]+\.[0-9]+\](\[ *[TC][0-9]+\])? ?//; s/^\[ *[TC][0-9]+\] ?//' | awk '
		/^    # Subtest: / { suite = $3 }
		/^    (not )?ok [0-9]+ / {
			line = substr($0, 5)
			neg = (line ~ /^not ok/)
			sub(/^(not )?ok [0-9]+ /, "", line)
			print (neg ? "not ok" : "ok") " " suite "." line
		}'
}

ktap_results() {
	local r
	while IFS= read -r r; do
		[ -n "$r" ] || continue
		KTAP_N=$((KTAP_N + 1))
		case $r in
		"not ok "*) KTAP_FAILED=$((KTAP_FAILED + 1)); echo "not ok $KTAP_N ${r#not ok }" ;;
		*) echo "ok $KTAP_N ${r#ok }" ;;
		esac
	done
}

# ktap_kselftest [--as <name>] <prefix> <binary> [args...]: run a kselftest
# binary (stdin /dev/null, stderr merged) and re-number each of its KTAP
# results into ours as "<prefix>.<test>"; everything else it prints is kept
# as diagnostics.  A binary that is missing, stops short of its plan, or
# exits non-zero without naming a failed test is one more failure, named
# <name> (default: <prefix>).  Returns 0 only if nothing failed.
ktap_kselftest() {
	local what='' prefix bin line plan='' seen=0 failed=0 rc='' re name why
	if [ "$1" = --as ]; then
		what=$2
		shift 2
	fi
	prefix=$1 bin=$2
	what=${what:-$prefix}
	shift 2
	if [ ! -x "$bin" ]; then
		ktap_fail "$what" "$bin missing: make -C tools/testing/selftests/mdev"
		return 1
	fi
	re='^(not )?ok [0-9]+ ([^#]*[^# ]) *(# *(.*))?$'
	while IFS= read -r line; do
		if [[ $line =~ ^ktap-kselftest-exit\ ([0-9]+)$ ]]; then
			rc=${BASH_REMATCH[1]}
		elif [[ $line =~ $re ]]; then
			seen=$((seen + 1))
			name=$prefix.${BASH_REMATCH[2]}
			why=${BASH_REMATCH[4]}
			if [[ ${why^^} == SKIP* ]]; then
				why=${why:4}
				ktap_skip "$name" "${why# }"
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
	done < <("$bin" "$@" 2>&1 </dev/null; echo "ktap-kselftest-exit $?")

	if [ -z "$plan" ] || [ "$seen" -lt "$plan" ]; then
		ktap_fail "$what" "${bin##*/} reported $seen of ${plan:-?} results (exit status $rc)"
	elif [ "$rc" != 0 ] && [ "$failed" = 0 ]; then
		ktap_fail "$what" "${bin##*/} exited with status $rc and no failed test"
	else
		[ "$failed" = 0 ]
		return
	fi
	return 1
}

ktap_finish() {
	[ "$KTAP_FAILED" = 0 ]
	exit
}

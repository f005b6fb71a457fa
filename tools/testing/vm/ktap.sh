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
# its cases are the results wanted here.  Console timestamps are dropped.
ktap_kunit_cases() {
	sed -E 's/^\[ *[0-9]+\.[0-9]+\] ?//' | awk '
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

ktap_finish() {
	[ "$KTAP_FAILED" = 0 ]
	exit
}

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of `make check`: run every executable suite
# tools/testing/vm/suites/NN-name.sh in order.  Each suite prints KTAP on
# stdout (a suite may skip itself with "1..0 # SKIP reason", e.g. after
# checking $MDEV_VM_KERNEL); its stdout is saved as
# $MDEV_SCRATCH/ktap/NN-name.ktap and its exit status as
# $MDEV_SCRATCH/ktap/NN-name.rc for the host (check.sh) to collect.
#
# MDEV_SUITES="00-smoke 10-kunit" runs only those suites (names or globs).
# MDEV_SUITE_TIMEOUT (seconds, default 900) bounds each suite.

set -u

here=$(cd "$(dirname "$0")" && pwd)
out=${MDEV_SCRATCH:?run this in the test VM (run-vm.sh)}/ktap
mkdir -p "$out"

selected() {
	local pat
	[ -z "${MDEV_SUITES:-}" ] && return 0
	for pat in $MDEV_SUITES; do
		# shellcheck disable=SC2053
		[[ $1 == $pat ]] && return 0
	done
	return 1
}

for s in "$here"/suites/[0-9]*.sh; do
	[ -e "$s" ] || continue
	name=$(basename "$s" .sh)
	selected "$name" || continue
	if [ ! -x "$s" ]; then
		echo "# $name: not executable, skipped" >&2
		continue
	fi
	echo "mdev-rig: suite $name start" >/dev/kmsg
	echo "# ---- $MDEV_VM_KERNEL: $name ----"
	start=$SECONDS
	timeout -k 10 "${MDEV_SUITE_TIMEOUT:-900}" "$s" </dev/null | tee "$out/$name.ktap"
	rc=${PIPESTATUS[0]}
	echo "$rc" >"$out/$name.rc"
	echo "# ---- $name: exit status $rc, $((SECONDS - start))s ----"
	echo "mdev-rig: suite $name end, status $rc" >/dev/kmsg
done
exit 0

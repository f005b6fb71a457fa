#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host side of `make check`: the host suites (tools/testing/host/suites/:
# builds that need no VM, such as in-tree users of our header, the patch
# series, DKMS), and one VM boot per kernel (debug and stock: the debug VM
# in the background meanwhile, see run_vm), each running
# tools/testing/vm/guest-check.sh, which runs every suite in
# tools/testing/vm/suites/.  Prints each suite's KTAP and ends with exactly
# one line "N passed, N failed, N skipped".
#
#   check.sh [--no-run] [host] [debug] [stock]
#
# --no-run only summarizes the results of the previous run.
#
# How the results are counted and a VM run is judged: verdict.sh.  A
# kernel with no selected suite is not booted; MDEV_SUITES selecting no
# suite at all, or with a pattern that selects none, is a failure.
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

# shellcheck source=tools/testing/vm/verdict.sh
. "$here/verdict.sh"

# suitedir <kernel>
suitedir() {
	if [ "$1" = host ]; then echo "$hostsuites"; else echo "$here/suites"; fi
}

# run_host_suites <out>: like guest-check.sh, on this machine.
run_host_suites() {
	local out=$1 s name start rc
	mkdir -p "$out/ktap"
	for s in "$hostsuites"/[0-9]*.sh; do
		[ -x "$s" ] || continue		# counted as a failure below
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

# run_vm <kernel> <out>: one VM boot running every selected suite.
run_vm() {
	local k=$1 out=$2 vmrc=0

	"$here/run-vm.sh" --kernel "$k" --scratch "$out" --timeout "${MDEV_VM_TIMEOUT:-3600}" \
		-- tools/testing/vm/guest-check.sh || vmrc=$?
	echo "$vmrc" >"$out/vm.rc"
}

# The debug VM, the longest part, starts first and runs beside the rest: a
# TCG VM keeps one core busy, and the host suites' builds and the stock VM
# use the other (MDEV_CHECK_SERIAL=1: one after the other, in the order
# the kernels are listed).  Its console goes to
# <out>/run.log and is shown once the others are done.
bgpid='' bgout=''
order=("${kernels[@]}")
if [ -z "${MDEV_CHECK_SERIAL:-}" ] && [ ${#kernels[@]} -gt 1 ]; then
	# Start the debug VM first, whatever the order given.
	order=()
	for k in "${kernels[@]}"; do [ "$k" = debug ] && order=(debug "${order[@]}") || order+=("$k"); done
fi
# A background job ignores SIGINT: end it (run-vm.sh then ends its QEMU)
# when this script ends early.
stop_bg() {
	[ -n "$bgpid" ] || return 0
	pkill -TERM -P "$bgpid" 2>/dev/null || true
	kill "$bgpid" 2>/dev/null || true
}
trap stop_bg EXIT
trap 'exit 130' INT TERM
for k in "${order[@]}"; do
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
	if [ "$(count_selected "$here/suites")" = 0 ]; then
		echo "==== $k kernel: no suite selected, no VM ===="
		continue
	fi
	if [ "$k" = debug ] && [ -z "${MDEV_CHECK_SERIAL:-}" ] && [ ${#kernels[@]} -gt 1 ]; then
		echo "==== $k kernel: running the suites in a VM, in the background ($out/run.log) ===="
		run_vm "$k" "$out" >"$out/run.log" 2>&1 &
		bgpid=$! bgout=$out
		continue
	fi
	echo "==== $k kernel: running the suites in a VM ===="
	run_vm "$k" "$out"
done
if [ -n "$bgpid" ]; then
	echo "==== debug kernel: waiting for its VM ===="
	wait "$bgpid" || true
	bgpid=
	cat "$bgout/run.log"
fi

echo
echo "==== results ===="
dirs=()
nsel=0
for k in "${kernels[@]}"; do
	out=$outroot/$k
	dir=$(suitedir "$k")
	dirs+=("$dir")
	n=$(count_selected "$dir")
	nsel=$((nsel + n))
	[ "$n" -gt 0 ] || continue
	notrun=
	[ ! -s "$out/.rig/abort" ] || notrun="the VM was ended early: $(head -n1 "$out/.rig/abort")"
	for s in "$dir"/[0-9]*.sh; do
		[ -e "$s" ] || continue
		name=$(basename "$s" .sh)
		selected "$name" || continue
		echo "# $k: $name"
		suite_verdict "$k/$name" "$s" "$out/ktap" "$notrun"
	done
	[ "$k" = host ] || vm_verdict "$k VM" "$out"
done
[ "$nsel" -gt 0 ] ||
	verdict_fail "MDEV_SUITES='${MDEV_SUITES:-}' selects no suite (of: ${kernels[*]})"
while IFS= read -r pat; do
	verdict_fail "MDEV_SUITES: '$pat' matches no suite (of: ${kernels[*]})"
done < <([ "$nsel" = 0 ] || unmatched_patterns "${dirs[@]}")

verdict_summary

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of a check of the benchmark (build it first: make -C
# tools/testing/mdev/bench): does removing a device cost more when many
# exist, and does the order of removal matter?  For each core, core-only
# mode, three times: create N devices, remove them shuffled, newest first,
# then oldest first.  Prints the median us/op of each block, c<k> for the
# create block ending at k thousand devices, r<k> for the remove block
# starting at k thousand.  Run it in the rig:
#
#   tools/testing/vm/run-vm.sh --kernel stock -- \
#	tools/testing/mdev/bench/remove-order.sh

set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=$here/build
load=$build/mdev_bench_load
N=${MDEV_BENCH_N:-10000}
BLOCK=${MDEV_BENCH_BLOCK:-1000}
type_dir=/sys/class/mdev_bus/mdev_bench/mdev_supported_types/mdev_bench-bench
tmp=$(mktemp -d)

blocks() { awk -v b="$BLOCK" -v p="$1" '{ printf "%s%d:%s ", p, $2 / b, $4 }'; echo; }

modprobe vfio
for core in upstream ours; do
	if [ "$core" = upstream ]; then
		modprobe mdev
	else
		insmod "${MDEV_MODDIR:?run inside the rig VM}/mdev.ko"
	fi
	insmod "$build/$core/mdev_bench.ko" mode=core
	for order in shuffled newest-first oldest-first; do
		echo "== $core, remove $order"
		"$load" create "$type_dir" "$N" "$BLOCK" "$tmp/uuids" | blocks c
		case $order in
		shuffled)     seed=7 ;;
		newest-first) tac "$tmp/uuids" >"$tmp/u"; mv "$tmp/u" "$tmp/uuids"; seed=0 ;;
		oldest-first) seed=0 ;;
		esac
		"$load" remove "$tmp/uuids" "$BLOCK" "$seed" | blocks r
	done
	rmmod mdev_bench mdev
done
rm -rf "$tmp"

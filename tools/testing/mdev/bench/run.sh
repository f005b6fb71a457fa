#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host side of the mdev core benchmark: builds our modules and the
# benchmark, boots Debian's stock 6.12 kernel once under QEMU to run
# guest.sh (Debian's mdev.ko against ours, side by side), then prints the
# table and plots us/op against the number of devices.
#
#   run.sh [options]
#
#   --n N          devices created and removed per run (default 10000)
#   --block B      block of the per-op figures (default 1000)
#   --trace        also trace where create and remove spend their time
#                  (function_graph, untimed, at 0 and at N devices)
#   --out DIR      where raw.txt, table.txt, console.log and bench.png go
#                  (default: results/ beside this script)
#   --timeout S    VM time limit in seconds (default 1800)
#   --no-build     use the modules and programs already built
#   --no-build-top build the benchmark only, not our modules at the top
#                  (what `make bench` passes, having built them)
#
# Variables: KREL (the stock kernel release), MDEV_BENCH_OPEN,
# MDEV_BENCH_PREAD, MDEV_BENCH_TRACE_OPS (see guest.sh).

set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../../.." && pwd)
out=$here/results
timeout=1800
build=1
build_top=1
export MDEV_BENCH_N=10000 MDEV_BENCH_BLOCK=1000 MDEV_BENCH_TRACE=0

usage() { sed -n '/^#   run.sh/,/^# Variables/p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }

while [ $# -gt 0 ]; do
	case $1 in
	--n)        MDEV_BENCH_N=${2:?}; shift 2 ;;
	--block)    MDEV_BENCH_BLOCK=${2:?}; shift 2 ;;
	--trace)    MDEV_BENCH_TRACE=1; shift ;;
	--out)      out=${2:?}; shift 2 ;;
	--timeout)  timeout=${2:?}; shift 2 ;;
	--no-build) build=0; shift ;;
	--no-build-top) build_top=0; shift ;;
	-h|--help)  usage ;;
	*)          echo "run.sh: unknown option $1" >&2; usage ;;
	esac
done

if [ "$build" = 1 ]; then
	[ "$build_top" = 0 ] || make -s -C "$top" modules
	make -s -C "$here"
fi
if [ -n "${KREL:-}" ]; then
	export MDEV_KREL=$KREL
fi

mkdir -p "$out"
out=$(cd "$out" && pwd)
scratch=$(mktemp -d "${TMPDIR:-/tmp}/mdev-bench.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

# The guest stops at sync points for host-sync to note the CPU time of
# QEMU's TCG thread (see mdev_bench_load.c): the host is shared, and only
# that clock ignores the time the VM waits for a CPU.
mkdir -m 0777 "$scratch/sync"
rc=0
"$top/tools/testing/vm/run-vm.sh" --kernel stock --timeout "$timeout" \
	--scratch "$scratch" -- tools/testing/mdev/bench/guest.sh &
vm=$!
qemu=
for _ in $(seq 3000); do
	qemu=$(pgrep -f -- "id=scratch,path=$scratch," || true)
	[ -n "$qemu" ] && break
	kill -0 "$vm" 2>/dev/null || break
	sleep 0.1
done
sync=
if [ -n "$qemu" ]; then
	"$here/build/mdev_bench_load" host-sync "$scratch/sync" "$qemu" \
		"$scratch/cpu.log" &
	sync=$!
else
	echo "run.sh: QEMU not found: no host CPU figures" >&2
fi
wait "$vm" || rc=$?
[ -z "$sync" ] || wait "$sync" || true

cp "$scratch/console.log" "$out/console.log" 2>/dev/null || true
if [ ! -s "$scratch/bench/raw.txt" ]; then
	echo "run.sh: no figures came back (VM status $rc)" >&2
	exit $(( rc ? rc : 1 ))
fi
cp "$scratch/bench/raw.txt" "$out/raw.txt"
# Host CPU time between sync points, per operation:
#   <core> <mode> cpu-create|cpu-remove <N> <us/op>  (N as for create/remove)
#   <core> <mode> cpu-open <us per open + close> / cpu-pread <ns/op>
#   rig sync cpu-sync <us per sync point>
if [ -s "$scratch/cpu.log" ]; then
	cp "$scratch/cpu.log" "$out/cpu.log"
	awk '
	{ ns = $1; k = $2 " " $3; op = $4; x = $5 }
	op == "create" {
		if (x > 0)
			printf "%s cpu-create %d %.1f\n", k, x, (ns - cns[k]) / 1e3 / (x - cn[k])
		cn[k] = x; cns[k] = ns
	}
	op == "remove" {
		if (rn[k] > 0)
			printf "%s cpu-remove %d %.1f\n", k, rn[k], (ns - rns[k]) / 1e3 / (rn[k] - x)
		rn[k] = x; rns[k] = ns
	}
	(op == "open" || op == "pread") && x == "begin" { bns[k, op] = ns }
	op == "open" && x == "end" { printf "%s cpu-open %.1f\n", k, (ns - bns[k, op]) / 1e3 / $6 }
	op == "pread" && x == "end" { printf "%s cpu-pread %.0f\n", k, (ns - bns[k, op]) / $6 }
	op == "sync" && x == "begin" { sbeg = ns }
	op == "sync" && x == "end" { printf "%s cpu-sync %.1f\n", k, (ns - sbeg) / 1e3 / $6 }
	' "$out/cpu.log" >>"$out/raw.txt"
fi
"$here/report.sh" "$out/raw.txt" >"$out/table.txt"

"$here/plot.sh" "$out/raw.txt" "$out/bench.png"

cat "$out/table.txt"
echo
echo "run.sh: results in $out (raw.txt, table.txt, bench.png, console.log)"
exit "$rc"

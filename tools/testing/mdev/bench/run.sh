#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host side of the mdev core benchmark: builds our modules and the
# benchmark, boots Debian's stock 6.12 kernel once under QEMU to run
# guest.sh (Debian's mdev.ko against ours, side by side, each lifecycle
# repeated in an A B B A order), then prints the table (report.sh) and
# plots us/op against the number of devices (plot.sh).
#
#   run.sh [options]
#
#   --n N          devices created and removed per lifecycle (default 10000)
#   --block B      block of the per-op figures (default 1000)
#   --reps R       lifecycles per core and mode (default 3)
#   --rounds R     rounds of VFIO access per core (default 4)
#   --scale N      devices of the core-only scale run (default 100000;
#                  0: none)
#   --trace        instead of measuring, trace where create, remove and
#                  VFIO open and close spend their time (function_graph,
#                  untimed, a boot of its own); default --out: results/trace
#   --rev REV      measure the committed tree REV (e.g. HEAD), not the
#                  working tree: build a copy of it under $TMPDIR and run
#                  that copy's run.sh (the copy is kept, and reused)
#   --build-only   build (with --rev: the copy), do not run
#   --out DIR      where raw.txt, table.txt, console.log and bench.png go
#                  (default: results/ beside this script)
#   --timeout S    VM time limit in seconds (default 2700)
#   --no-build     use the modules and programs already built
#   --no-build-top build the benchmark only, not our modules at the top
#                  (what `make bench` passes, having built them)
#
# Variables: KREL (the stock kernel release), MDEV_BENCH_OPEN,
# MDEV_BENCH_PREAD, MDEV_BENCH_TRACE_OPS (see guest.sh), MDEV_BENCH_COMMIT
# (what raw.txt says was measured; --rev sets it).

set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../../.." && pwd)
out=
timeout=2700
build=1
build_top=1
build_only=0
rev=
args=("$@")
export MDEV_BENCH_N=10000 MDEV_BENCH_BLOCK=1000 MDEV_BENCH_TRACE=0
export MDEV_BENCH_REPS=3 MDEV_BENCH_ROUNDS=4 MDEV_BENCH_SCALE_N=100000

usage() { sed -n '/^#   run.sh/,/^# Variables/p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }

while [ $# -gt 0 ]; do
	case $1 in
	--n)        MDEV_BENCH_N=${2:?}; shift 2 ;;
	--block)    MDEV_BENCH_BLOCK=${2:?}; shift 2 ;;
	--reps)     MDEV_BENCH_REPS=${2:?}; shift 2 ;;
	--rounds)   MDEV_BENCH_ROUNDS=${2:?}; shift 2 ;;
	--scale)    MDEV_BENCH_SCALE_N=${2:?}; shift 2 ;;
	--trace)    MDEV_BENCH_TRACE=1; shift ;;
	--rev)      rev=${2:?}; shift 2 ;;
	--build-only) build_only=1; shift ;;
	--out)      out=${2:?}; shift 2 ;;
	--timeout)  timeout=${2:?}; shift 2 ;;
	--no-build) build=0; shift ;;
	--no-build-top) build_top=0; shift ;;
	-h|--help)  usage ;;
	*)          echo "run.sh: unknown option $1" >&2; usage ;;
	esac
done
if [ -z "$out" ]; then
	out=$here/results
	[ "$MDEV_BENCH_TRACE" = 0 ] || out=$here/results/trace
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)

# --rev: a copy of the commit, built once, whose run.sh does the rest
# (with the same options, but for --rev, and writing to our --out)
if [ -n "$rev" ]; then
	commit=$(git -C "$top" rev-parse --verify "$rev^{commit}")
	copy=${TMPDIR:-/tmp}/mdev-bench-${commit:0:12}
	if [ ! -f "$copy/.built" ]; then
		rm -rf "$copy"
		mkdir -p "$copy"
		git -C "$top" archive "$commit" | tar -x -C "$copy"
		cp "$top/.krel" "$copy/" 2>/dev/null || true
		make -s -C "$copy" modules
		make -s -C "$copy/tools/testing/mdev/bench"
		touch "$copy/.built"
	fi
	[ "$build_only" = 0 ] || exit 0
	pass=()
	set -- "${args[@]}"
	while [ $# -gt 0 ]; do
		case $1 in
		--rev|--out) shift 2 ;;
		--no-build|--no-build-top|--build-only) shift ;;
		*) pass+=("$1"); shift ;;
		esac
	done
	MDEV_BENCH_COMMIT="$commit ($(git -C "$top" log -1 --format=%s "$commit"))" \
		exec "$copy/tools/testing/mdev/bench/run.sh" --no-build --out "$out" \
		${pass[@]+"${pass[@]}"}
fi

if [ "$build" = 1 ]; then
	[ "$build_top" = 0 ] || make -s -C "$top" modules
	make -s -C "$here"
fi
[ "$build_only" = 0 ] || exit 0
if [ -n "${KREL:-}" ]; then
	export MDEV_KREL=$KREL
fi
# What was measured: the commit, and whether our sources differed from it
if [ -z "${MDEV_BENCH_COMMIT:-}" ]; then
	MDEV_BENCH_COMMIT="working tree of $(git -C "$top" describe --always --dirty 2>/dev/null || echo '?')"
	dirty=$(git -C "$top" status --porcelain -- '*.c' '*.h' 2>/dev/null | tr '\n' ' ')
	[ -z "$dirty" ] || MDEV_BENCH_COMMIT+=", changed: $dirty"
fi

scratch=$(mktemp -d "${TMPDIR:-/tmp}/mdev-bench.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

# The guest stops at sync points for host-sync to note the CPU time of
# QEMU's TCG thread (see mdev_bench_load.c): the host is shared, and only
# that clock ignores the time the VM waits for a CPU.
mkdir -m 0777 "$scratch/sync"
rc=0
start=$(date +%s)
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
{
	echo "# measured: $MDEV_BENCH_COMMIT"
	echo "# run: $(date -u -d "@$start" '+%Y-%m-%d %H:%M') UTC, $(( $(date +%s) - start )) s; host load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
	cat "$scratch/bench/raw.txt"
} >"$out/raw.txt"
# Host CPU time between sync points, per operation:
#   <core> <mode> <rep> cpu-create|cpu-remove <N> <us/op>  (N as for
#        create/remove)
#   <core> <mode> <rep> cpu-open <us per open + close> / cpu-pread <ns/op>
#   rig sync 0 cpu-sync <us per sync point>
if [ -s "$scratch/cpu.log" ]; then
	cp "$scratch/cpu.log" "$out/cpu.log"
	awk '
	{ ns = $1; k = $2 " " $3 " " $4; op = $5; x = $6 }
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
	op == "open" && x == "end" { printf "%s cpu-open %.1f\n", k, (ns - bns[k, op]) / 1e3 / $7 }
	op == "pread" && x == "end" { printf "%s cpu-pread %.0f\n", k, (ns - bns[k, op]) / $7 }
	op == "sync" && x == "begin" { sbeg = ns }
	op == "sync" && x == "end" { printf "%s cpu-sync %.1f\n", k, (ns - sbeg) / 1e3 / $7 }
	' "$out/cpu.log" >>"$out/raw.txt"
fi
"$here/report.sh" "$out/raw.txt" >"$out/table.txt"
[ "$MDEV_BENCH_TRACE" = 1 ] || "$here/plot.sh" "$out/raw.txt" "$out/bench.png"

cat "$out/table.txt"
echo
echo "run.sh: results in $out (raw.txt, table.txt, bench.png, console.log)"
exit "$rc"

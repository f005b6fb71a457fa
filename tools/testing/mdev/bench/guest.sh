#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of the mdev core benchmark; run.sh boots the stock kernel and
# runs this inside.  Compares, in this one boot, the kernel's own mdev.ko
# (Debian's, loaded by modprobe) with ours (loaded by path), each driven by
# a copy of mdev_bench.ko built against the matching linux/mdev.h.
#
# Two kinds of run.  The measured run (the default) takes no trace: after
# a warm-up of both cores, each lifecycle (create N devices in blocks,
# measure memory, remove them in blocks) runs REPS times per core and mode,
# and VFIO access (open and close, pread) ROUNDS times per core, always in
# an A B B A order (ours, upstream, upstream, ours, ours, upstream ...), so
# that neither core always goes first and a slow spell of the shared host
# falls on both alike.  Then the scale run, core only: ours creates
# SCALE_N devices and removes them, then upstream creates for as long as
# ours took to create its SCALE_N and removes what it made.  The traced
# run (MDEV_BENCH_TRACE=1) takes no timings: function_graph of create and
# remove at 0 and at N devices and of VFIO open and close, for both cores,
# as a separate boot (tracing rewrites kernel text, which TCG must then
# translate again, and would inflate whatever is timed after it).
#
# Writes raw figures, one a line, to $MDEV_BENCH_OUT/raw.txt, each after
# "<core> <mode> <rep>" (mode: core, vfio, classic or scale; rep: 1, 2 ...):
#   create <devices after the block> <mean> <median> <max> (us)
#   remove <devices before the block> <mean> <median> <max>
#        <mean of the write alone> (us)
#   mem <devices> <slab object bytes> <Slab+Percpu bytes>
#        <MemFree drop bytes>   (per device)
#   open <mean> <median> (us)
#   close <mean> <median> <median device fd> <median group fd>
#        <median container fd> (us)
#   pread <median> <first> <mean> (ns/op over batches of 1000)
#   trace-create@<N>|trace-remove@<N>|trace-open <depth> <call path>
#        <calls> <total us> <self us> <median us> <median self us>
#        (the traced run only; see trace_run)
# and, in a guest-only run, prints the table of report.sh at the end.
#
# Environment: MDEV_BENCH_N (devices, default 10000), MDEV_BENCH_BLOCK
# (default 1000), MDEV_BENCH_REPS (lifecycles per core and mode, default
# 3), MDEV_BENCH_SCALE_N (default 100000; 0: no scale run),
# MDEV_BENCH_OPEN (open iterations, default 200), MDEV_BENCH_PREAD
# (preads, default 100000, timed in batches of 1000), MDEV_BENCH_ROUNDS
# (rounds of VFIO access per core, default 4), MDEV_BENCH_TRACE (1: the
# traced run instead), MDEV_BENCH_TRACE_OPS (operations traced, default
# 100; also the untimed operations that warm up each timed run),
# MDEV_BENCH_OUT (default $MDEV_SCRATCH/bench).  When run.sh made
# $MDEV_SCRATCH/sync, the timed commands stop at sync points for run.sh to
# read the VM's host CPU time (see mdev_bench_load.c), and run.sh prints the
# table; else this script prints it (guest clock only).

set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=$here/build
load=$build/mdev_bench_load
N=${MDEV_BENCH_N:-10000}
BLOCK=${MDEV_BENCH_BLOCK:-1000}
OPEN_ITERS=${MDEV_BENCH_OPEN:-200}
PREAD_CALLS=${MDEV_BENCH_PREAD:-100000}
PREAD_BATCH=1000
ACCESS_ROUNDS=${MDEV_BENCH_ROUNDS:-4}
REPS=${MDEV_BENCH_REPS:-3}
SCALE_N=${MDEV_BENCH_SCALE_N:-100000}
TRACE=${MDEV_BENCH_TRACE:-0}
TRACE_OPS=${MDEV_BENCH_TRACE_OPS:-100}
SEED=20241122
out=${MDEV_BENCH_OUT:-${MDEV_SCRATCH:-/scratch}/bench}
raw=$out/raw.txt
tmp=$(mktemp -d)
type_dir=/sys/class/mdev_bus/mdev_bench/mdev_supported_types/mdev_bench-bench
tracefs=/sys/kernel/tracing
our_mdev=${MDEV_MODDIR:?run inside the rig VM}/mdev.ko
our_vfio_mdev=$MDEV_MODDIR/vfio_mdev.ko

mkdir -p "$out"
: >"$raw"
sync_dir=${MDEV_SCRATCH:-/scratch}/sync
if [ -d "$sync_dir" ]; then
	export MDEV_BENCH_SYNC=$sync_dir
else
	unset MDEV_BENCH_SYNC
fi

# The load generator, for the timed runs of <core> <mode> <rep>, and untimed
untimed() { MDEV_BENCH_SYNC='' "$load" "$@"; }
timed() {
	local core=$1 mode=$2 rep=$3
	shift 3
	MDEV_BENCH_TAG="$core $mode $rep" "$load" "$@" | tag "$core $mode $rep"
}

log() { echo "# $(cut -d' ' -f1 /proc/uptime)s: $*" >&2; }

loaded() { grep -q "^$1 " /proc/modules; }

# Make <core> the live mdev.ko: Debian's through modprobe, or ours by path.
# Ours has no srcversion (no MODULE_VERSION) but, built out of tree, taints
# the kernel with O; Debian's carries a srcversion and no O.
is_core() {
	local taint srcv
	loaded mdev || return 1
	taint=$(cat /sys/module/mdev/taint)
	srcv=$(cat /sys/module/mdev/srcversion 2>/dev/null || true)
	case $1 in
	upstream) [ "$srcv" = "$(modinfo -F srcversion mdev)" ] && [[ $taint != *O* ]] ;;
	ours) [ "$srcv" = "$(modinfo -F srcversion "$our_mdev")" ] && [[ $taint == *O* ]] ;;
	esac
}

use_core() {
	loaded mdev_bench && rmmod mdev_bench
	loaded vfio_mdev && rmmod vfio_mdev
	is_core "$1" && return 0
	loaded mdev && rmmod mdev
	case $1 in
	upstream) modprobe mdev ;;
	ours) insmod "$our_mdev" ;;
	esac
	is_core "$1" || { echo "the live mdev.ko is not $1's" >&2; return 1; }
}

# Load the benchmark driver of <core>/<mode> (core, vfio, classic; scale
# is core).
load_bench() {
	case $2 in
	core|scale)
		insmod "$build/$1/mdev_bench.ko" mode=core
		;;
	classic)
		insmod "$our_vfio_mdev"
		insmod "$build/classic/mdev_bench.ko"
		;;
	*)
		insmod "$build/$1/mdev_bench.ko" mode="$2"
		;;
	esac
	[ -d "$type_dir" ] || { echo "no $type_dir" >&2; return 1; }
}

unload_bench() {
	rmmod mdev_bench
	loaded vfio_mdev && rmmod vfio_mdev
	return 0
}

ndevices() { find /sys/bus/mdev/devices -mindepth 1 -maxdepth 1 | wc -l; }

# Kernel memory now: "<slab object bytes> <Slab+Percpu bytes> <MemFree bytes>"
meminfo() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
	local objs
	objs=$(awk 'NR > 2 { b += $2 * $4 } END { printf "%.0f", b }' /proc/slabinfo)
	awk -v objs="$objs" '
		/^Slab:/ { s = $2 } /^Percpu:/ { p = $2 } /^MemFree:/ { f = $2 }
		END { printf "%.0f %.0f %.0f\n", objs, (s + p) * 1024, f * 1024 }
	' /proc/meminfo
}

tag() { sed -u "s/^/$1 /" | tee -a "$raw"; }

# What function_graph records: the core, VFIO and the benchmark driver
# whole, and the driver-core and sysfs steps they call.  A short list keeps
# the tracer cheap to switch on under TCG.
trace_funcs=(
	:mod:mdev :mod:vfio :mod:vfio_mdev :mod:mdev_bench :mod:vfio_iommu_type1
	device_initialize dev_set_name device_add device_del put_device
	device_release device_driver_attach device_release_driver
	bus_add_device bus_remove_device bus_probe_device bus_notify
	device_add_attrs device_remove_attrs device_create_file
	device_remove_file_self kobject_add kobject_del kobject_uevent_env
	dpm_sysfs_add dpm_sysfs_remove device_pm_add device_pm_remove
	sysfs_create_link sysfs_remove_link driver_sysfs_add
	driver_sysfs_remove really_probe devtmpfs_create_node
	devtmpfs_delete_node iommu_group_alloc iommu_group_add_device
	iommu_group_remove_device iommu_group_put
)

# Trace the traced functions while a command runs.  Appends, for every
# call path seen, "<core> <mode> <what> <depth> <path> <calls> <total us>
# <self us> <median us> <median self us>": the path is the chain of traced
# callers joined by ";", self the time not spent in a traced callee, and
# the medians are per call, which a descheduled VM does not skew.
trace_run() {
	local core=$1 mode=$2 what=$3 f
	shift 3
	echo 0 >$tracefs/tracing_on
	echo nop >$tracefs/current_tracer
	echo >$tracefs/trace
	echo >$tracefs/set_ftrace_filter
	for f in "${trace_funcs[@]}"; do
		echo "$f" >>$tracefs/set_ftrace_filter 2>/dev/null || true
	done
	echo 0 >$tracefs/options/funcgraph-irqs
	echo 16384 >$tracefs/buffer_size_kb
	echo function_graph >$tracefs/current_tracer
	echo 1 >$tracefs/tracing_on
	"$@" >/dev/null
	echo 0 >$tracefs/tracing_on
	awk -v pre="$core $mode 0 $what" '
	function name_of(b) { sub(/\(.*/, "", b); sub(/ \[.*$/, "", b); return b }
	function record(p, dur, self) {
		if (!(p in calls))
			paths[++np] = p
		calls[p]++; total[p] += dur; own[p] += self
		durs[p, calls[p]] = dur; selfs[p, calls[p]] = self
	}
	function median(a, p, n,    i, j, v, t) {
		for (i = 1; i <= n; i++)
			v[i] = a[p, i]
		for (i = 2; i <= n; i++)
			for (j = i; j > 1 && v[j - 1] > v[j]; j--) {
				t = v[j]; v[j] = v[j - 1]; v[j - 1] = t
			}
		return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
	}
	# "CPU) [+!#*@$] DURATION us | <2 spaces a level>name() {|name();|}"
	index($0, "|") {
		i = index($0, "|")
		n = split(substr($0, 1, i - 1), f, " ")
		body = substr($0, i + 1)
		sub(/^ +/, "", body)
		if (body ~ /\{ *$/) {
			name = name_of(body)
			sp++
			path[sp] = sp > 1 ? path[sp - 1] ";" name : name
			kids[sp] = 0
			next
		}
		if (f[n] != "us")
			next
		dur = f[n - 1]
		if (body ~ /^}/) {
			if (!sp)
				next
			record(path[sp], dur, dur - kids[sp])
			sp--
		} else {
			name = name_of(body)
			record(sp ? path[sp] ";" name : name, dur, dur)
		}
		if (sp)
			kids[sp] += dur
	}
	END {
		for (i = 1; i <= np; i++) {
			p = paths[i]
			printf "%s %d %s %d %.1f %.1f %.1f %.1f\n", pre,
				split(p, parts, ";"), p, calls[p], total[p], own[p],
				median(durs, p, calls[p]), median(selfs, p, calls[p])
		}
	}
	' $tracefs/trace | LC_ALL=C sort -k6,6 >>"$raw"
	echo nop >$tracefs/current_tracer
	echo >$tracefs/set_ftrace_filter
}

# Create and remove TRACE_OPS devices, untimed.  Under TCG the first run
# of kernel code pays for its translation: without this, the first block
# timed after loading a module would carry that cost.
warm_up() {
	untimed create "$type_dir" "$TRACE_OPS" "$TRACE_OPS" "$tmp/warm" >/dev/null
	untimed remove "$tmp/warm" "$TRACE_OPS" "$SEED" >/dev/null
}

# Where create and remove spend their time, with few and with N devices,
# and VFIO open and close (vfio mode); nothing of it timed.
trace_core() {
	local core=$1 mode=$2 uuid
	log "$core/$mode: function_graph of $TRACE_OPS creates and removes at 0 and $N devices"
	use_core "$core"
	load_bench "$core" "$mode"
	warm_up
	trace_run "$core" "$mode" trace-create@0 \
		untimed create "$type_dir" "$TRACE_OPS" "$TRACE_OPS" "$tmp/traced"
	trace_run "$core" "$mode" trace-remove@0 \
		untimed remove "$tmp/traced" "$TRACE_OPS" "$SEED"
	untimed create "$type_dir" "$N" "$N" "$tmp/uuids" >/dev/null
	trace_run "$core" "$mode" "trace-create@$N" \
		untimed create "$type_dir" "$TRACE_OPS" "$TRACE_OPS" "$tmp/traced"
	trace_run "$core" "$mode" "trace-remove@$N" \
		untimed remove "$tmp/traced" "$TRACE_OPS" "$SEED"
	untimed remove "$tmp/uuids" "$N" "$SEED" >/dev/null
	if [ "$mode" != core ]; then
		untimed create "$type_dir" 1 1 "$tmp/one" >/dev/null
		uuid=$(cat "$tmp/one")
		untimed open "$uuid" 10 >/dev/null
		trace_run "$core" "$mode" trace-open untimed open "$uuid" "$TRACE_OPS"
		echo 1 >"/sys/bus/mdev/devices/$uuid/remove"
	fi
	unload_bench
}

# Create N devices in blocks, measure memory, remove them in blocks.
# With a time limit (scale mode), stop creating at the first block after
# that many ms; prints the guest us the creates took.
lifecycle() {
	local core=$1 mode=$2 rep=$3 n=$4 limit=${5:-} before after made
	log "$core/$mode #$rep: $n creates and removes in blocks of $BLOCK${limit:+, creating for at most ${limit} ms}"
	use_core "$core"
	load_bench "$core" "$mode"
	warm_up
	before=$(meminfo)
	timed "$core" "$mode" "$rep" create "$type_dir" "$n" "$BLOCK" "$tmp/uuids" \
		$limit >"$tmp/created"
	after=$(meminfo)
	made=$(wc -l <"$tmp/uuids")
	echo "$before $after" | awk -v n="$made" -v pre="$core $mode $rep mem $made" '
		{ printf "%s %.0f %.0f %.0f\n", pre, ($4 - $1) / n, ($5 - $2) / n,
			($3 - $6) / n }' >>"$raw"
	timed "$core" "$mode" "$rep" remove "$tmp/uuids" "$BLOCK" "$SEED" >/dev/null
	[ "$(ndevices)" = 0 ] || { echo "devices left after removal" >&2; return 1; }
	unload_bench
	# the us spent creating: the sum of block means times block sizes
	awk '$4 == "create" { t += $6 * ($5 - prev); prev = $5 }
		END { printf "%.0f\n", t }' \
		"$tmp/created"
}

# Open one device through VFIO and read its register.
vfio_access() {
	local core=$1 mode=$2 rep=$3 uuid
	log "$core/$mode #$rep: VFIO open x$OPEN_ITERS, pread x$PREAD_CALLS"
	use_core "$core"
	load_bench "$core" "$mode"
	warm_up
	untimed create "$type_dir" 1 1 "$tmp/one" >/dev/null
	uuid=$(cat "$tmp/one")
	untimed open "$uuid" 10 >/dev/null
	timed "$core" "$mode" "$rep" open "$uuid" "$OPEN_ITERS" >/dev/null
	timed "$core" "$mode" "$rep" pread "$uuid" "$PREAD_CALLS" "$PREAD_BATCH" >/dev/null
	echo 1 >"/sys/bus/mdev/devices/$uuid/remove"
	unload_bench
}

# The order of the k-th pair of turns (from 1) of two contestants:
# A B, B A, A B ..., i.e. A B B A A B
abba() { if [ $(($1 % 2)) = 1 ]; then echo "$2 $3"; else echo "$3 $2"; fi; }

modprobe vfio
modprobe vfio_iommu_type1
log "benchmark: N=$N block=$BLOCK reps=$REPS scale=$SCALE_N trace=$TRACE on $(uname -r), $(nproc) CPUs"
{
	echo "# kernel $(uname -r); N=$N block=$BLOCK reps=$REPS scale=$SCALE_N open=$OPEN_ITERS pread=$PREAD_CALLS in batches of $PREAD_BATCH rounds=$ACCESS_ROUNDS"
	echo "# upstream mdev.ko: $(modinfo -n mdev) srcversion $(modinfo -F srcversion mdev)"
	echo "# our mdev.ko: $our_mdev sha256 $(sha256sum <"$our_mdev" | cut -c1-16)"
} >>"$raw"

if [ "$TRACE" = 1 ]; then
	for mode in core vfio; do
		for core in $(abba 1 ours upstream); do
			trace_core "$core" "$mode"
		done
	done
else
	# Warm-up: one small untimed lifecycle and access of each core and
	# mode, so that no timed run is the first to execute any of it.
	for mode in core vfio; do
		for core in ours upstream; do
			use_core "$core"
			load_bench "$core" "$mode"
			warm_up
			unload_bench
		done
	done

	# A turn is one lifecycle, the first of each mode ours
	for mode in core vfio; do
		for rep in $(seq "$REPS"); do
			for core in $(abba "$rep" ours upstream); do
				lifecycle "$core" "$mode" "$rep" "$N" >/dev/null
			done
		done
	done
	for rep in $(seq "$ACCESS_ROUNDS"); do
		for who in $(abba "$rep" ours/vfio upstream/vfio) ours/classic; do
			vfio_access "${who%/*}" "${who#*/}" "$rep"
		done
	done

	# Scale, core only: upstream gets the time ours took to create
	if [ "$SCALE_N" -gt 0 ]; then
		spent=$(lifecycle ours scale 1 "$SCALE_N")
		limit=$(( (spent + 999) / 1000 ))
		echo "# scale: ours created $SCALE_N in ${spent} us (guest clock); upstream creates for ${limit} ms" >>"$raw"
		lifecycle upstream scale 1 "$SCALE_N" "$limit" >/dev/null
	fi
	[ -z "${MDEV_BENCH_SYNC:-}" ] || MDEV_BENCH_TAG="rig sync 0" "$load" sync-cost 20
fi
loaded mdev && rmmod mdev
log "done"

[ -n "${MDEV_BENCH_SYNC:-}" ] || "$here/report.sh" "$raw" | tee "$out/table.txt"
rm -rf "$tmp"

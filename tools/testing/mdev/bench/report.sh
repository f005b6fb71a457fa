#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Print the table of an mdev core benchmark run from its raw figures
# (guest.sh writes them; run.sh adds the host CPU figures, cpu-*), with
# each target stated as met or missed.
#
#   report.sh RAW_FILE
#
# Every ratio is ours / upstream: below 1 ours is faster (or smaller).
#
# Two clocks.  "cpu": the CPU time the VM's TCG thread used on the host per
# operation (mean over the block), immune to the VM losing the host CPU to
# other work; the targets are judged on it when the run has it.  "wall":
# the guest's clock_gettime() around each operation, median of the block;
# it also counts time the guest sat idle waiting (an RCU grace period, a
# wakeup), but an operation during which QEMU was descheduled takes tens of
# ms, so only the median is shown (raw.txt keeps means and maxima).

set -euo pipefail

raw=${1:?usage: report.sh RAW_FILE}

awk '
function r(o, u) { return u > 0 && o != "" ? sprintf("%.2f", o / u) : "-" }
function verdict(ok) { return ok ? "MET" : "MISSED" }
function val(core, mode, what, x) { return fig[core " " mode " " what " " x] }

/^#/ { hdr = hdr $0 "\n"; next }
$3 == "create" || $3 == "remove" || $3 == "cpu-create" || $3 == "cpu-remove" {
	# wall: the median ($6); cpu: the mean ($5)
	fig[$1 " " $2 " " $3 " " $4] = $3 ~ /^cpu-/ ? $5 : $6
	wall_mean[$1 " " $2 " " $3 " " $4] = $5
	if (!($3 " " $4 in seen)) { seen[$3 " " $4] = 1; ns[$3, ++nn[$3]] = $4 }
	if ($3 ~ /^cpu-/) have_cpu = 1
	next
}
$3 == "mem" { mem[$1 " " $2] = $5 " " $6 " " $7; memn = $4; next }
# VFIO access comes in rounds: keep every round, report the median
function add(what, k, v) { vals[what, k, ++nv[what, k]] = v }
function med(what, k,    n, i, j, t, v) {
	n = nv[what, k]
	if (!n)
		return ""
	for (i = 1; i <= n; i++)
		v[i] = vals[what, k, i]
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && v[j - 1] > v[j]; j--) {
			t = v[j]; v[j] = v[j - 1]; v[j - 1] = t
		}
	return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
$3 == "open" { add("open", $1 " " $2, $5); next }	# the median
$3 == "close" { add("close", $1 " " $2, $4); next }
$3 == "pread" { add("pread", $1 " " $2, $4); next }	# the median batch
$3 == "cpu-open" { add("cpu-open", $1 " " $2, $4); next }
$3 == "cpu-pread" { add("cpu-pread", $1 " " $2, $4); next }
$3 == "cpu-sync" { sync_us = $4; next }

# Print the create or remove table of one clock (prefix "" or "cpu-")
function table(what, pre, title,    n, i, j, x, uc, oc, uv, ov) {
	print title
	printf "%7s | %-26s | %-26s\n", "N", "core only (probe: none)", "with VFIO (emulated IOMMU)"
	printf "%7s | %8s %8s %8s | %8s %8s %8s\n", "", "upstream", "ours", "ratio", "upstream", "ours", "ratio"
	n = nn[pre what]
	for (i = 1; i <= n; i++) {
		# remove blocks come largest N first: print in increasing N
		j = what == "remove" ? n + 1 - i : i
		x = ns[pre what, j]
		uc = val("upstream", "core", pre what, x); oc = val("ours", "core", pre what, x)
		uv = val("upstream", "vfio", pre what, x); ov = val("ours", "vfio", pre what, x)
		printf "%7d | %8.1f %8.1f %8s | %8.1f %8.1f %8s\n", x, uc, oc, r(oc, uc), uv, ov, r(ov, uv)
	}
	print ""
}

# Seconds for every create and remove of <core>/<mode> on one clock
function total(core, mode, pre,    t, op, what, n, i, x, prev) {
	t = 0
	for (op = 1; op <= 2; op++) {
		what = op == 1 ? "create" : "remove"
		n = nn[pre what]
		for (i = 1; i <= n; i++) {
			x = ns[pre what, i]
			if (what == "create")
				prev = i > 1 ? ns[pre what, i - 1] : 0
			else
				prev = i < n ? ns[pre what, i + 1] : 0
			t += val(core, mode, pre what, x) * (x - prev)
		}
	}
	return t / 1e6
}

# The targets, judged on one clock
function targets(pre, name,    c, core, first, last, cf, cl, rf, rl, sp, worst, wat, op, what, i, x, q) {
	printf "targets, on the %s clock\n", name
	first = ns[pre "create", 1]; last = ns[pre "create", nn[pre "create"]]
	for (c = 1; c <= 2; c++) {
		core = c == 1 ? "ours" : "upstream"
		cf = val(core, "core", pre "create", first); cl = val(core, "core", pre "create", last)
		rf = val(core, "core", pre "remove", first); rl = val(core, "core", pre "remove", last)
		if (core == "ours") {
			printf "  core only, create at N=%d vs N=%d: %.2fx (<= 1.5x)   %s\n", last, first, cl / cf, verdict(cl <= 1.5 * cf)
			printf "  core only, remove at N=%d vs N=%d: %.2fx (<= 1.5x)   %s\n", last, first, rl / rf, verdict(rl <= 1.5 * rf)
		} else {
			printf "    (upstream: create %.2fx, remove %.2fx)\n", cl / cf, rl / rf
		}
	}
	sp = total("upstream", "core", pre) / total("ours", "core", pre)
	printf "  core only, all creates + removes: ours %.2fx as fast as upstream (>= 2x)   %s\n", sp, verdict(sp >= 2)
	worst = 0
	for (op = 1; op <= 2; op++) {
		what = op == 1 ? "create" : "remove"
		for (i = 1; i <= nn[pre what]; i++) {
			x = ns[pre what, i]
			q = val("ours", "vfio", pre what, x) / val("upstream", "vfio", pre what, x)
			if (q > worst) { worst = q; wat = what " at N=" x }
		}
	}
	printf "  with VFIO, no slower than upstream at any N: worst ratio %.2f (%s)   %s\n", worst, wat, verdict(worst <= 1)
	if (pre == "cpu-")
		q = cpu_pread["ours classic"] / cpu_pread["ours vfio"]
	else
		q = pread_ns["ours classic"] / pread_ns["ours vfio"]
	printf "  pread through vfio_mdev vs direct: %.3fx (<= 1.05x)   %s\n", q, verdict(q <= 1.05)
}

END {
	split("upstream vfio|ours vfio|ours classic", who, "|")
	for (i = 1; i <= 3; i++) {
		open_us[who[i]] = med("open", who[i]); close_us[who[i]] = med("close", who[i])
		pread_ns[who[i]] = med("pread", who[i]); cpu_open[who[i]] = med("cpu-open", who[i])
		cpu_pread[who[i]] = med("cpu-pread", who[i])
		rounds = nv["pread", who[i]]
	}
	printf "%s", hdr
	print "ratio = ours / upstream (below 1: ours is faster or smaller)"
	print ""
	if (sync_us != "")
		printf "cpu figures include the sync point that ends each block: %.0f us, i.e. %.1f us/op\n\n", sync_us, sync_us / ns["cpu-create", 1]
	if (have_cpu) {
		table("create", "cpu-", "create, cpu: host CPU us/op of the VM (mean of each block), N = devices after the block")
		table("remove", "cpu-", "remove, cpu: host CPU us/op of the VM (mean of each block), N = devices before the block")
	}
	table("create", "", "create, wall: guest us/op (median of each block; pwrite of a UUID to create)")
	table("remove", "", "remove, wall: guest us/op (median of each block; open+write+close of remove)")

	print "total time of all creates + removes, s"
	printf "%-16s %8s %8s %8s   %8s %8s %8s\n", "", "upstream", "ours", "ratio", "upstream", "ours", "ratio"
	printf "%-16s %-26s   %-26s\n", "", "core only", "with VFIO"
	for (k = 1; k <= 2; k++) {
		pre = k == 1 ? "cpu-" : ""
		if (pre == "cpu-" && !have_cpu)
			continue
		uc = total("upstream", "core", pre); oc = total("ours", "core", pre)
		uv = total("upstream", "vfio", pre); ov = total("ours", "vfio", pre)
		printf "%-16s %8.2f %8.2f %8s   %8.2f %8.2f %8s\n", pre == "" ? "wall (medians)" : "cpu", uc, oc, r(oc, uc), uv, ov, r(ov, uv)
	}
	print ""

	printf "VFIO access to one device (group API: container + group + device fd),\nmedian of %d rounds\n", rounds
	printf "%-44s %8s %8s %8s %8s\n", "", "upstream", "ours", "ratio", "classic"
	printf "%-44s %8.1f %8.1f %8s %8.1f\n", "open, wall us (median)",
		open_us["upstream vfio"], open_us["ours vfio"],
		r(open_us["ours vfio"], open_us["upstream vfio"]), open_us["ours classic"]
	printf "%-44s %8.1f %8.1f %8s %8.1f\n", "close of the three fds, wall us (mean)",
		close_us["upstream vfio"], close_us["ours vfio"],
		r(close_us["ours vfio"], close_us["upstream vfio"]), close_us["ours classic"]
	if (have_cpu)
		printf "%-44s %8.1f %8.1f %8s %8.1f\n", "open + close, cpu us (mean)",
			cpu_open["upstream vfio"], cpu_open["ours vfio"],
			r(cpu_open["ours vfio"], cpu_open["upstream vfio"]), cpu_open["ours classic"]
	printf "%-44s %8d %8d %8s %8d\n", "pread 4 bytes, wall ns/op (median batch)",
		pread_ns["upstream vfio"], pread_ns["ours vfio"],
		r(pread_ns["ours vfio"], pread_ns["upstream vfio"]), pread_ns["ours classic"]
	if (have_cpu)
		printf "%-44s %8d %8d %8s %8d\n", "pread 4 bytes, cpu ns/op (mean)",
			cpu_pread["upstream vfio"], cpu_pread["ours vfio"],
			r(cpu_pread["ours vfio"], cpu_pread["upstream vfio"]), cpu_pread["ours classic"]
	print "(upstream, ours: the driver owns its vfio_device, on Debian'\''s or our"
	print " mdev.ko; classic: the same region through our vfio_mdev.ko, which"
	print " forwards to mdev_parent_ops.read)"
	print ""

	printf "kernel memory per device, bytes (with %d devices)\n", memn
	printf "%-28s | %-26s | %-26s\n", "", "core only", "with VFIO"
	printf "%-28s | %8s %8s %8s | %8s %8s %8s\n", "", "upstream", "ours", "ratio", "upstream", "ours", "ratio"
	split("slab objects (slabinfo)|Slab + Percpu (meminfo)|MemFree drop (everything)", lbl, "|")
	split(mem["upstream core"], muc, " "); split(mem["ours core"], moc, " ")
	split(mem["upstream vfio"], muv, " "); split(mem["ours vfio"], mov, " ")
	for (f = 1; f <= 3; f++)
		printf "%-28s | %8d %8d %8s | %8d %8d %8s\n", lbl[f], muc[f], moc[f], r(moc[f], muc[f]),
			muv[f], mov[f], r(mov[f], muv[f])
	print ""

	if (have_cpu)
		targets("cpu-", "cpu")
	targets("", "wall")
	printf "  memory per device <= upstream (slab objects): core only %d vs %d, with VFIO %d vs %d   %s\n",
		moc[1], muc[1], mov[1], muv[1], verdict(moc[1] <= muc[1] && mov[1] <= muv[1])
	printf "  memory per device <= upstream (Slab+Percpu): core only %d vs %d, with VFIO %d vs %d   %s\n",
		moc[2], muc[2], mov[2], muv[2], verdict(moc[2] <= muc[2] && mov[2] <= muv[2])
}
' "$raw"

# Where the time went, when the run traced it (MDEV_BENCH_TRACE=1)
if grep -q ' trace-' "$raw"; then
	echo
	echo "function_graph, untimed runs (tracing inflates every figure): wall us per"
	echo "operation in each traced call path, as the median call times the calls"
	echo "per operation, total and self (outside traced callees), and the mean;"
	echo "at 0 and at N devices; paths under 3 us/op left out"
	awk '
	$3 ~ /^trace-/ {
		key = $1 " " $2 " " $3
		n = split($5, parts, ";")
		if (parts[n] == "create_store" || parts[n] == "remove_store")
			ops[key] += $6
		line[key, ++cnt[key]] = $0
		if (!(key in seen)) { seen[key] = 1; keys[++nk] = key }
	}
	END {
		for (i = 1; i <= nk; i++) {
			key = keys[i]
			if (!ops[key])
				continue
			printf "%s (%d ops)%*s %8s %8s %8s\n", key, ops[key], 46 - length(key), "", "median", "self", "mean"
			for (j = 1; j <= cnt[key]; j++) {
				split(line[key, j], f, " ")
				n = split(f[5], parts, ";")
				per = f[6] / ops[key]
				if (f[9] * per < 3)
					continue
				printf "  %-60s %8.1f %8.1f %8.1f\n",
					sprintf("%*s%s x%.2g", 2 * (n - 1), "", parts[n], per),
					f[9] * per, f[10] * per, f[7] / ops[key]
			}
		}
	}' "$raw"
fi

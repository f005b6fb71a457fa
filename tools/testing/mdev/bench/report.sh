#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Print the table of an mdev core benchmark run from its raw figures
# (guest.sh writes them; run.sh adds the host CPU figures, cpu-*), with
# each target stated as met or missed.
#
#   report.sh RAW_FILE
#
# Every figure is the median of the repetitions (lifecycles, rounds of VFIO
# access) with their minimum and maximum in brackets.  A ratio is ours /
# upstream (below 1 ours is faster or smaller), and is given only where the
# two ranges do not overlap; otherwise the cell says "noise": the run does
# not tell the two apart.
#
# Two clocks.  "cpu": the CPU time the VM's TCG thread used on the host per
# operation (mean over the block), immune to the VM losing the host CPU to
# other work.  "wall": the guest's clock_gettime() around each operation,
# median of the block; it also counts time the guest sat idle waiting (an
# RCU grace period, a wakeup) but not work deferred to other threads.  The
# targets are judged on ONE clock, named in the targets' heading: cpu when
# the run has it, else wall.  A target is MET when the whole range of the
# repetitions is on the right side of its threshold, MISSED when it is all
# on the wrong side, and "WITHIN NOISE" when the range straddles it.
#
# A traced run (run.sh --trace) has no timed figures: this prints its
# function_graph breakdown alone.

set -euo pipefail

raw=${1:?usage: report.sh RAW_FILE}

if ! grep -q ' trace-' "$raw"; then
awk '
function fmt(v) { return v >= 100 ? sprintf("%.0f", v) : sprintf("%.1f", v) }
# "median (min-max)" of the values of set s
function cell(s) { return s in cnt ? sprintf("%s (%s-%s)", fmt(med(s)), fmt(lo[s]), fmt(hi[s])) : "-" }
function put(s, v) {
	vals[s, ++cnt[s]] = v
	if (cnt[s] == 1 || v < lo[s]) lo[s] = v
	if (cnt[s] == 1 || v > hi[s]) hi[s] = v
}
function med(s,    n, i, j, t, v) {
	n = cnt[s]
	for (i = 1; i <= n; i++)
		v[i] = vals[s, i]
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && v[j - 1] > v[j]; j--) {
			t = v[j]; v[j] = v[j - 1]; v[j - 1] = t
		}
	return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
# ours / upstream of the medians where the ranges of sets o and u do not
# overlap, else "noise"
function ratio(o, u) {
	if (!(o in cnt) || !(u in cnt) || med(u) <= 0)
		return "-"
	if (hi[o] < lo[u] || lo[o] > hi[u])
		return sprintf("%.2f", med(o) / med(u))
	return "noise"
}
# Verdict on "ours / upstream <= t" from the ranges of sets o and u
function verdict(o, u, t) {
	if (hi[o] <= t * lo[u]) return "MET"
	if (lo[o] > t * hi[u]) return "MISSED"
	return "WITHIN NOISE"
}
function rng(o, u) { return sprintf("%.2f (%.2f-%.2f)", med(o) / med(u), lo[o] / hi[u], hi[o] / lo[u]) }

/^#/ { hdr = hdr $0 "\n"; next }
{ core = $1; mode = $2; rep = $3; what = $4; k = core " " mode }
what == "create" || what == "remove" || what == "cpu-create" || what == "cpu-remove" {
	# wall: the median of the block ($7); cpu: the mean ($6)
	v = what ~ /^cpu-/ ? $6 : $7
	clk = what ~ /^cpu-/ ? "cpu" : "wall"
	op = what; sub(/^cpu-/, "", op)
	if (what ~ /^cpu-/) have_cpu = 1
	if (mode == "scale") {
		# the block of 10,000 it belongs to: N after (create) or
		# before (remove) the block of BLOCK
		b = int(($5 + 9999) / 10000) * 10000
		put(clk " " k " " op " " b, v)
		sum[clk " " k " " op " " b] += v; nsub[clk " " k " " op " " b]++
		if (b > sbmax[k]) sbmax[k] = b
		next
	}
	fig[clk, k, rep, op, $5] = v
	reps[k] = rep > reps[k] ? rep : reps[k]
	if (!((clk, op, $5) in seen)) { seen[clk, op, $5] = 1; ns[clk, op, ++nn[clk, op]] = $5 }
	put(clk " " k " " op " " $5, v)
	next
}
what == "mem" {
	for (f = 1; f <= 3; f++)
		put("mem " f " " k, $(5 + f))
	memn[k] = $5
	next
}
what == "open" { put("open " k, $6); next }
what == "close" {
	put("close " k, $6); put("close-mean " k, $5)
	put("close-dev " k, $7); put("close-group " k, $8); put("close-cont " k, $9)
	next
}
what == "pread" { put("pread " k, $5); next }
what == "cpu-open" { put("cpu-open " k, $5); next }
what == "cpu-pread" { put("cpu-pread " k, $5); next }
what == "cpu-sync" { sync_us = $5; next }

# The seconds of every create and remove of one lifecycle
function totals(clk, k,    r, op, what, n, i, x, prev, t) {
	for (r = 1; r <= reps[k]; r++) {
		t = 0
		for (op = 1; op <= 2; op++) {
			what = op == 1 ? "create" : "remove"
			n = nn[clk, what]
			for (i = 1; i <= n; i++) {
				x = ns[clk, what, i]
				if (what == "create")
					prev = i > 1 ? ns[clk, what, i - 1] : 0
				else
					prev = i < n ? ns[clk, what, i + 1] : 0
				t += fig[clk, k, r, what, x] * (x - prev)
			}
		}
		put("total " clk " " k, t / 1e6)
	}
}

function lifecycle_table(clk, mode,    n, i, j, x, o, u, orr, urr) {
	printf "%s, %s: us/op, median (min-max) of %d lifecycles; N = devices after a create block, before a remove block\n",
		mode == "core" ? "core only (probe does nothing)" : "with VFIO (probe registers an emulated-IOMMU vfio_device)",
		clk == "cpu" ? "cpu (host CPU of the VM, mean of each block)" : "wall (guest clock, median of each block)",
		reps["ours " mode]
	printf "%6s | %-17s %-17s %6s | %-17s %-17s %6s\n", "N", "create: upstream", "ours", "ratio", "remove: upstream", "ours", "ratio"
	n = nn[clk, "create"]
	for (i = 1; i <= n; i++) {
		x = ns[clk, "create", i]
		printf "%6d", x
		for (j = 1; j <= 2; j++) {
			op = j == 1 ? "create" : "remove"
			u = clk " upstream " mode " " op " " x; o = clk " ours " mode " " op " " x
			printf " | %-17s %-17s %6s", cell(u), cell(o), ratio(o, u)
		}
		printf "\n"
	}
	print ""
}

function scale_table(clk,    b, k, c, op, s) {
	printf "scale, core only, %s: us/op per block of 10,000 devices: mean of the block, and median (min-max) of its\n", clk
	printf "blocks of %d; N = devices after a create block, before a remove block\n", block
	printf "%6s | %-26s | %-26s | %-26s | %-26s\n", "N", "create: ours", "remove: ours", "create: upstream", "remove: upstream"
	for (b = 10000; b <= sbmax["ours scale"] || b <= sbmax["upstream scale"]; b += 10000) {
		printf "%6d", b
		for (c = 1; c <= 2; c++)
			for (op = 1; op <= 2; op++) {
				s = clk " " (c == 1 ? "ours" : "upstream") " scale " (op == 1 ? "create" : "remove") " " b
				printf " | %-26s", s in cnt ? sprintf("%s: %s", fmt(sum[s] / nsub[s]), cell(s)) : "-"
			}
		printf "\n"
	}
	print ""
}

# "ours / upstream <= t", judged per block of the lifecycles: MISSED if
# any block misses beyond noise, MET if every block meets it beyond noise
function per_block(clk, mode, t,    j, i, op, x, o, u, v, bad, noisy, worst, wat, q) {
	worst = 0
	for (j = 1; j <= 2; j++) {
		op = j == 1 ? "create" : "remove"
		for (i = 1; i <= nn[clk, op]; i++) {
			x = ns[clk, op, i]
			o = clk " ours " mode " " op " " x; u = clk " upstream " mode " " op " " x
			v = verdict(o, u, t)
			if (v == "MISSED") bad = bad " " op "@" x
			if (v == "WITHIN NOISE") noisy = noisy " " op "@" x
			q = med(o) / med(u)
			if (q > worst) { worst = q; wat = op " at N=" x }
		}
	}
	printf "  with VFIO, no slower than upstream at any N (ours/upstream <= 1 in every block): worst median ratio %.2f (%s)\n", worst, wat
	if (bad != "")
		printf "      slower beyond noise:%s\n", bad
	if (noisy != "")
		printf "      within noise:%s\n", noisy
	printf "      %s\n", bad != "" ? "MISSED" : noisy != "" ? "WITHIN NOISE" : "MET"
}

END {
	block = ns["wall", "create", 1]
	printf "%s", hdr
	print "figures: median (min-max) of the repetitions; ratio = ours / upstream of the medians, given"
	print "only where the ranges do not overlap (\"noise\": they do); below 1 ours is faster or smaller"
	print ""
	if (sync_us != "")
		printf "cpu figures include the sync point that ends each block: %.0f us, i.e. %.1f us/op\n\n", sync_us, sync_us / block
	clocks = have_cpu ? "cpu wall" : "wall"
	nc = split(clocks, clks, " ")
	for (c = 1; c <= nc; c++)
		for (m = 1; m <= 2; m++)
			lifecycle_table(clks[c], m == 1 ? "core" : "vfio")

	print "total seconds of all creates + removes of one lifecycle"
	printf "%-6s | %-21s %-21s %6s | %-21s %-21s %6s\n", "clock", "core only: upstream", "ours", "ratio", "with VFIO: upstream", "ours", "ratio"
	for (c = 1; c <= nc; c++) {
		printf "%-6s", clks[c]
		for (m = 1; m <= 2; m++) {
			mode = m == 1 ? "core" : "vfio"
			totals(clks[c], "upstream " mode); totals(clks[c], "ours " mode)
			u = "total " clks[c] " upstream " mode; o = "total " clks[c] " ours " mode
			printf " | %-21s %-21s %6s", cell(u), cell(o), ratio(o, u)
		}
		printf "\n"
	}
	print ""

	printf "VFIO access to one device (group API: container + group + device fd), median (min-max) of %d rounds\n", cnt["open ours vfio"]
	printf "%-40s %-20s %-20s %6s %-20s\n", "", "upstream", "ours", "ratio", "classic"
	split("open|close|close-mean|close-dev|close-group|close-cont|cpu-open|pread|cpu-pread", rows, "|")
	split("open, wall us (median of 200)|close of the three fds, wall us (median)|close of the three fds, wall us (mean)|  close device fd, wall us (median)|  close group fd, wall us (median)|  close container fd, wall us (median)|open + close, cpu us (mean)|pread 4 bytes, wall ns/op (median batch)|pread 4 bytes, cpu ns/op (mean)", lbl, "|")
	for (i = 1; i <= 9; i++) {
		if (rows[i] ~ /^cpu-/ && !have_cpu)
			continue
		u = rows[i] " upstream vfio"; o = rows[i] " ours vfio"
		printf "%-40s %-20s %-20s %6s %-20s\n", lbl[i], cell(u), cell(o), ratio(o, u), cell(rows[i] " ours classic")
	}
	print "(upstream, ours: the driver owns its vfio_device, on Debian'\''s or our mdev.ko;"
	print " classic: the same region through our vfio_mdev.ko, which forwards to"
	print " mdev_parent_ops.read)"
	print ""

	printf "kernel memory per device, bytes, with %d devices, median (min-max) of the lifecycles\n", memn["ours core"]
	printf "%-28s | %-20s %-20s %6s | %-20s %-20s %6s\n", "", "core only: upstream", "ours", "ratio", "with VFIO: upstream", "ours", "ratio"
	split("slab objects (slabinfo)|Slab + Percpu (meminfo)|MemFree drop (everything)", mlbl, "|")
	for (f = 1; f <= 3; f++) {
		printf "%-28s", mlbl[f]
		for (m = 1; m <= 2; m++) {
			mode = m == 1 ? "core" : "vfio"
			u = "mem " f " upstream " mode; o = "mem " f " ours " mode
			printf " | %-20s %-20s %6s", cell(u), cell(o), ratio(o, u)
		}
		printf "\n"
	}
	print ""

	if ("ours scale" in sbmax) {
		for (c = 1; c <= nc; c++)
			scale_table(clks[c])
		printf "scale, memory per device (core only), bytes: ours with %d devices: slab objects %s, Slab+Percpu %s, MemFree drop %s;\n",
			memn["ours scale"], cell("mem 1 ours scale"), cell("mem 2 ours scale"), cell("mem 3 ours scale")
		printf "upstream with %d devices: %s, %s, %s\n\n", memn["upstream scale"],
			cell("mem 1 upstream scale"), cell("mem 2 upstream scale"), cell("mem 3 upstream scale")
	}

	j = clks[1]
	printf "targets, judged on the %s clock%s\n", j, j == "cpu" ? " (host CPU time of the VM; the wall figures above are not judged)" : " (this run has no cpu figures)"
	print "(ratio: of the medians, then (lowest-highest) the ranges allow; MET/MISSED only where the whole range is on one side)"
	if ("ours scale" in sbmax) {
		for (op = 1; op <= 2; op++) {
			what = op == 1 ? "create" : "remove"
			f = j " ours scale " what " 10000"; l = j " ours scale " what " " sbmax["ours scale"]
			printf "  scale, core only, ours %s: block of N=%d vs N=10000 <= 1.5x: %s   %s\n",
				what, sbmax["ours scale"], rng(l, f), verdict(l, f, 1.5)
			f = j " upstream scale " what " 10000"; l = j " upstream scale " what " " sbmax["upstream scale"]
			if (sbmax["upstream scale"] > 10000)
				printf "      (upstream, which reached N=%d in the same time: N=%d vs N=10000 %s)\n",
					memn["upstream scale"], sbmax["upstream scale"], rng(l, f)
		}
	}
	u = "total " j " upstream core"; o = "total " j " ours core"
	printf "  core only, all creates + removes, ours at least 2x as fast (ours/upstream <= 0.5): %s   %s\n", rng(o, u), verdict(o, u, 0.5)
	per_block(j, "vfio", 1)
	u = (j == "cpu" ? "cpu-pread" : "pread") " ours vfio"; o = (j == "cpu" ? "cpu-pread" : "pread") " ours classic"
	printf "  pread through vfio_mdev (classic) vs direct (ours), <= 1.05x: %s   %s\n", rng(o, u), verdict(o, u, 1.05)
	for (f = 1; f <= 2; f++)
		for (m = 1; m <= 2; m++) {
			mode = m == 1 ? "core" : "vfio"
			u = "mem " f " upstream " mode; o = "mem " f " ours " mode
			printf "  memory per device <= upstream, %s, %s: %s   %s\n", mlbl[f],
				mode == "core" ? "core only" : "with VFIO", rng(o, u), verdict(o, u, 1)
		}
}
' "$raw"
exit 0
fi

# The traced run: where the time went
echo "function_graph, untimed runs (tracing inflates every figure): wall us per"
echo "operation in each traced call path, as the median call times the calls"
echo "per operation, total and self (outside traced callees), and the mean;"
echo "paths under 3 us/op left out"
awk '
$4 ~ /^trace-/ {
	key = $1 " " $2 " " $4
	n = split($6, parts, ";")
	if (parts[n] == "create_store" || parts[n] == "remove_store" ||
	    ($6 == "vfio_fops_open"))
		ops[key] += $7
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
			n = split(f[6], parts, ";")
			per = f[7] / ops[key]
			if (f[10] * per < 3)
				continue
			printf "  %-60s %8.1f %8.1f %8.1f\n",
				sprintf("%*s%s x%.2g", 2 * (n - 1), "", parts[n], per),
				f[10] * per, f[11] * per, f[8] / ops[key]
		}
	}
}' "$raw"

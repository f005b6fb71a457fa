#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Plot us/op against the number of devices from the raw figures of an mdev
# core benchmark run (run.sh calls it):
#
#   plot.sh RAW_FILE PNG_FILE
#
# Top row: the lifecycles (core only, with VFIO), create and remove of both
# cores, the median of the repetitions with bars from their minimum to
# their maximum.  Bottom row: the scale run (core only), every block of
# both cores: ours to its 100,000 devices, upstream as far as it got in the
# same time.  Each row on the host CPU clock when the run has it (the one
# report.sh judges on), and the scale run on the guest's clock too.  Needs
# gnuplot (Debian's gnuplot-nox will do).

set -euo pipefail

raw=${1:?usage: plot.sh RAW_FILE PNG_FILE}
png=${2:?usage: plot.sh RAW_FILE PNG_FILE}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

pre=
grep -q ' cpu-create ' "$raw" && pre=cpu-
block=$(awk '$4 == "create" { print $5; exit }' "$raw")
reps=$(awk '$4 == "create" && $3 > r { r = $3 } END { print r + 0 }' "$raw")

# cpu: the mean of the block ($6); wall: its median ($7)
for core in upstream ours; do
	for op in create remove; do
		for mode in core vfio; do
			awk -v c="$core" -v m="$mode" -v o="$pre$op" '
			$1 == c && $2 == m && $4 == o {
				v = o ~ /^cpu-/ ? $6 : $7
				n[$5]++; s[$5] = s[$5] " " v
			}
			END {
				for (x in n) {
					k = split(substr(s[x], 2), a, " ")
					for (i = 2; i <= k; i++)
						for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
							t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
						}
					m = k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
					print x, m, a[1], a[k]
				}
			}' "$raw" | sort -n >"$tmp/$core-$mode-$op.dat"
		done
		for clock in $pre wall; do
			p=${clock%wall}
			awk -v c="$core" -v o="$p$op" '
			$1 == c && $2 == "scale" && $4 == o { print $5, o ~ /^cpu-/ ? $6 : $7 }
			' "$raw" | sort -n >"$tmp/scale-$clock-$core-$op.dat"
		done
	done
done

clock_label() {
	if [ "$1" = cpu- ]; then
		echo "host CPU us/op (mean of the block)"
	else
		echo "guest us/op (median of the block)"
	fi
}

{
	echo "set terminal pngcairo size 1400,900 font ',10' noenhanced"
	echo "set output '$png'"
	echo "set multiplot layout 2,2 title 'mdev create/remove cost against the number of devices: Debian 6.12 mdev.ko (upstream) vs ours; Debian 6.12 kernel under QEMU TCG; blocks of $block'"
	echo "set grid"
	echo "set key top left"
	echo "set yrange [0:*]"
	echo "set xlabel 'devices N (for remove: before the block)'"
	echo "set ylabel '$(clock_label "${pre:-wall}")'"
	for mode in core vfio; do
		if [ "$mode" = core ]; then
			t="core only (probe does nothing)"
		else
			t="with VFIO (probe registers an emulated-IOMMU vfio_device)"
		fi
		echo "set title '$t: median of $reps lifecycles, bars min-max'"
		echo "plot '$tmp/upstream-$mode-create.dat' with yerrorlines lw 2 lc 1 title 'create, upstream', \\"
		echo "     '$tmp/ours-$mode-create.dat' with yerrorlines lw 2 lc 2 title 'create, ours', \\"
		echo "     '$tmp/upstream-$mode-remove.dat' with yerrorlines lw 2 lc 1 dt 2 title 'remove, upstream', \\"
		echo "     '$tmp/ours-$mode-remove.dat' with yerrorlines lw 2 lc 2 dt 2 title 'remove, ours'"
	done
	for clock in $pre wall; do
		echo "set ylabel '$(clock_label "$clock")'"
		echo "set title 'scale, core only: ours to its last device, upstream as far as it got in the time ours took to create'"
		echo "plot '$tmp/scale-$clock-upstream-create.dat' with lines lw 2 lc 1 title 'create, upstream', \\"
		echo "     '$tmp/scale-$clock-ours-create.dat' with lines lw 2 lc 2 title 'create, ours', \\"
		echo "     '$tmp/scale-$clock-upstream-remove.dat' with lines lw 2 lc 1 dt 2 title 'remove, upstream', \\"
		echo "     '$tmp/scale-$clock-ours-remove.dat' with lines lw 2 lc 2 dt 2 title 'remove, ours'"
	done
	[ -n "$pre" ] || echo "set multiplot next"
	echo "unset multiplot"
} | gnuplot

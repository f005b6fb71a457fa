#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Plot us/op against the number of devices from the raw figures of an mdev
# core benchmark run (run.sh calls it):
#
#   plot.sh RAW_FILE PNG_FILE
#
# One column per mode (core only, with VFIO), create and remove of both
# cores in each panel; the top row on the host CPU clock when the run has
# it, the bottom row on the guest's clock (median of each block).  Needs
# gnuplot (Debian's gnuplot-nox will do).

set -euo pipefail

raw=${1:?usage: plot.sh RAW_FILE PNG_FILE}
png=${2:?usage: plot.sh RAW_FILE PNG_FILE}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

clocks=
grep -q ' cpu-create ' "$raw" && clocks=cpu-
clocks="$clocks wall"
block=$(awk '$3 == "create" { print $4; exit }' "$raw")

for clock in $clocks; do
	pre=${clock%wall}
	for core in upstream ours; do
		for mode in core vfio; do
			for op in create remove; do
				# cpu: the mean ($5); wall: the median ($6)
				awk -v c="$core" -v m="$mode" -v o="$pre$op" '
				$1 == c && $2 == m && $3 == o {
					print $4, o ~ /^cpu-/ ? $5 : $6
				}' "$raw" | sort -n >"$tmp/$clock-$core-$mode-$op.dat"
			done
		done
	done
done

rows=$(echo $clocks | wc -w)
{
	echo "set terminal pngcairo size 1200,$((rows * 420 + 40)) font ',10' noenhanced"
	echo "set output '$png'"
	echo "set multiplot layout $rows,2 title 'mdev create/remove cost against the number of devices: Debian 6.12 mdev.ko (upstream) vs ours; Debian 6.12 kernel under QEMU TCG; blocks of $block'"
	echo "set xlabel 'devices N (for remove: before the block)'"
	echo "set grid"
	echo "set key top left"
	echo "set yrange [0:*]"
	for clock in $clocks; do
		if [ "$clock" = cpu- ]; then
			echo "set ylabel 'host CPU us/op (mean of the block)'"
		else
			echo "set ylabel 'guest us/op (median of the block)'"
		fi
		for mode in core vfio; do
			if [ "$mode" = core ]; then
				echo "set title 'core only (probe does nothing)'"
			else
				echo "set title 'with VFIO (probe registers an emulated-IOMMU vfio_device)'"
			fi
			echo "plot '$tmp/$clock-upstream-$mode-create.dat' with linespoints lw 2 lc 1 title 'create, upstream', \\"
			echo "     '$tmp/$clock-ours-$mode-create.dat' with linespoints lw 2 lc 2 title 'create, ours', \\"
			echo "     '$tmp/$clock-upstream-$mode-remove.dat' with linespoints lw 2 lc 1 dt 2 title 'remove, upstream', \\"
			echo "     '$tmp/$clock-ours-$mode-remove.dat' with linespoints lw 2 lc 2 dt 2 title 'remove, ours'"
		done
	done
	echo "unset multiplot"
} | gnuplot

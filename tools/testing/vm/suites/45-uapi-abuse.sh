#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Abuse of the VFIO device uAPI on every type of every sample driver: the
# vfio_abuse_test kselftest (bad argsz with a non-zero tail, unknown flags,
# out-of-range indexes, bad SET_IRQS ranges and eventfds, reads, writes and
# mappings across and beyond every region's end, bad dma-buf IDs), one
# fixture variant per type of mtty, mdpy and mbochs.  Each result of the
# kselftest is one result here ("abuse.vfio_abuse.<variant>.<test>"); the
# rest of its output is kept as diagnostics, among them how many cases each
# variant ran.  At the end no device may be left and every sample must
# unload.  Runs on both kernels, in well under two minutes on the debug one.

here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/ktap.sh"
. "$here/lib.sh"

repo=$(cd "$here/../../.." && pwd)
progs=$repo/tools/testing/selftests/mdev
samples=(mtty mdpy mbochs)

for s in "${samples[@]}"; do
	[ -f "$(mdev_ko "$s")" ] || ktap_skip_all "$s.ko not built"
done

echo "KTAP version 1"

mdev_unload_all
ktap_test "load_samples" mdev_load "${samples[@]}"

start=$SECONDS
ktap_kselftest abuse "$progs/vfio_abuse_test"
ktap_diag "vfio_abuse_test took $((SECONDS - start)) s"

left=$(ls /sys/bus/mdev/devices 2>/dev/null | tr '\n' ' ')
if [ -z "$left" ]; then
	ktap_ok "no_device_left"
else
	ktap_fail "no_device_left" "devices left: $left"
fi
mdev_unload_all
busy=
for m in "${samples[@]}" vfio_mdev mdev; do
	mdev_loaded "$m" && busy+="$m "
done
if [ -z "$busy" ]; then
	ktap_ok "unload_samples"
else
	ktap_fail "unload_samples" "still loaded: $busy"
fi
echo "1..$KTAP_N"

ktap_finish

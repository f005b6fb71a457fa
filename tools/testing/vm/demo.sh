#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make demo`: a narrated walk through the life of a mediated device, run
# inside the stock VM (run-vm.sh).  Uses the mtty sample: parent
# /sys/devices/virtual/mtty/mtty, types mtty-1 and mtty-2.  `make demo`
# builds everything first, so a piece that is missing here, or a step that
# cannot run (a skipped test, a nested guest that did not boot), is a
# failure: the demo then ends with "Demo FAILED" and a non-zero status,
# never with "Demo finished".

set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

parent=/sys/devices/virtual/mtty/mtty
type=mtty-2
uuid=$(mdev_uuid)
rc=0

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
fail() { echo "FAILED: $*"; rc=1; }
# The end, whatever happened: one line a reader cannot miss.
finish() {
	if [ "$rc" = 0 ]; then
		step "Demo finished"
	else
		step "Demo FAILED (see the FAILED lines above)"
	fi
	exit "$rc"
}

step "Load the VFIO core from the running kernel, then OUR mdev modules by path"
run modprobe vfio || fail "modprobe vfio"
run modprobe vfio_iommu_type1 || fail "modprobe vfio_iommu_type1"
for m in mdev vfio_mdev mtty; do
	ko=$(mdev_ko "$m")
	if [ -f "$ko" ]; then
		run insmod "$ko" || fail "insmod $ko"
	else
		fail "$ko not built (run: make)"
	fi
done
run grep -E '^(mdev|vfio_mdev|mtty|vfio|vfio_iommu_type1) ' /proc/modules

step "The mdev bus and the parents that registered with it"
run ls /sys/bus/mdev /sys/class/mdev_bus 2>&1

if [ ! -d "$parent/mdev_supported_types" ]; then
	step "No mtty parent ($parent)"
	fail "the mtty sample did not load, nothing to show"
	mdev_unload_all
	finish
fi

step "The types the mtty parent offers, as mdevctl sees them"
run mdevctl types
for t in "$parent"/mdev_supported_types/*; do
	printf '%s: name=%s available_instances=%s device_api=%s\n' "${t##*/}" \
		"$(cat "$t/name" 2>/dev/null)" "$(cat "$t/available_instances")" \
		"$(cat "$t/device_api")"
done

step "Create a device by writing a UUID into the type's create file"
tdir=$parent/mdev_supported_types/$type
run sh -c "echo $uuid > $tdir/create" || fail "create"
run mdevctl list
echo "available_instances now: $(cat "$tdir/available_instances")"

step "The new device in sysfs"
dev=/sys/bus/mdev/devices/$uuid
run ls -l "$dev/" || fail "no $dev"
echo "mdev_type -> $(readlink "$dev/mdev_type" 2>/dev/null)"
echo "driver    -> $(readlink "$dev/driver" 2>/dev/null)"

step "Its VFIO group: what QEMU opens (-device vfio-pci,sysfsdev=$dev)"
if group=$(readlink "$dev/iommu_group" 2>/dev/null); then
	group=${group##*/}
	echo "iommu_group: $group"
	run ls -l /dev/vfio/ || true
	[ -e "/dev/vfio/$group" ] || fail "/dev/vfio/$group missing"
else
	fail "no iommu_group (is vfio_mdev bound?)"
fi

step "Remove it again"
run sh -c "echo 1 > $dev/remove" || fail "remove"
run mdevctl list
[ ! -e "$dev" ] || fail "$dev still exists"
echo "available_instances now: $(cat "$tdir/available_instances")"

step "Use mtty devices through VFIO as QEMU does: container, group, device fd"
echo "(mtty_uapi creates its own devices, reads the PCI IDs 4348:3253 from"
echo " config space and sends bytes through the UART's loopback)"
uapi=$MDEV_REPO/tools/testing/selftests/mdev/mtty_uapi
if [ -x "$uapi" ]; then
	# The harness exits 4 (KSFT_SKIP) when it skipped: a failure here too.
	run "$uapi" -t config_space -t uart_fifo || fail "mtty_uapi (exit status $?)"
else
	fail "$uapi not built (run: make selftests)"
fi

step "Give devices to a nested guest: QEMU -device vfio-pci,sysfsdev=/sys/bus/mdev/devices/<uuid>"
echo "(the end-to-end suite: a dual-port mtty card and an mdpy display go to a"
echo " small guest under TCG; its 8250_pci driver binds the card and echoes bytes"
echo " through both ports, its mdpy-fb driver draws colour bands that QEMU's"
echo " screendump must show; then the host removes the card while the guest runs"
echo " and QEMU unplugs it.  This takes a few minutes.)"
e2e=$here/suites/40-mtty-e2e.sh
if [ -f "$(mdev_ko mtty)" ]; then
	printf '$ %s\n' "$e2e"
	e2e_out=$MDEV_SCRATCH/demo-e2e.ktap
	"$e2e" >"$e2e_out" 2>&1
	e2e_rc=$?
	grep -E '^(ok|not ok) |^1\.\.0|^# guest: MTTY-E2E ' "$e2e_out" | sed 's/^# //'
	# The suite skips itself ("1..0 # SKIP") or single steps ("ok N x #
	# SKIP") when something it needs is missing: the demo did not show
	# what it promised, so that is a failure as much as a "not ok" is.
	[ "$e2e_rc" = 0 ] || fail "the nested guest (suite exit status $e2e_rc)"
	if grep -qiE '^(ok|not ok) .*# *skip|^1\.\.0' "$e2e_out"; then
		fail "the nested guest: steps were skipped"
	fi
	grep -q '^ok ' "$e2e_out" || fail "the nested guest: no step passed"
	grep -q '^not ok ' "$e2e_out" && fail "the nested guest: steps failed"
	shot=$MDEV_SCRATCH/mtty-e2e-mdpy.ppm
	if [ -f "$shot" ] && python3 "$here/ppm2png.py" "$shot" "${shot%.ppm}.png"; then
		echo "The guest's screen, as QEMU showed it: mtty-e2e-mdpy.png in the"
		echo "scratch directory run-vm printed at the start (on the host)."
	fi
else
	fail "$(mdev_ko mtty) not built (run: make)"
fi

step "Unload"
mdev_unload_all
run grep -cE '^(mdev|vfio_mdev|mtty) ' /proc/modules || true

finish

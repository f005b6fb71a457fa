#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The classic path as a VFIO user sees it: vfio_mdev.ko with the
# mdev_classic_test vendor driver, driven by the vfio_mdev_client kselftest
# through a type1 container and, where the kernel has /dev/iommu, through
# iommufd and the device cdev.  Each result of the client is one result of
# this suite ("client.<fixture>.<variant>.<test>"); its other output is
# kept as diagnostics.  Then the vendor module is unloaded while a device
# is open (refused) and after (its devices go), and, when mtty is built,
# an mtty device is opened like QEMU would and its PCI ID checked.
#
# Environment: MDEV_CLASSIC_TEST_KO overrides the path of the vendor
# driver (default: $MDEV_MODDIR/tests/mdev_classic_test.ko).

here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/ktap.sh"
. "$here/lib.sh"

repo=$(cd "$here/../../.." && pwd)
client=$repo/tools/testing/selftests/mdev/vfio_mdev_client
test_ko=${MDEV_CLASSIC_TEST_KO:-$MDEV_MODDIR/tests/mdev_classic_test.ko}
marker="mdev-rig: 30-vfio-client $$"

echo "KTAP version 1"

mdev_unload mdev_classic_test
mdev_unload_all
echo "$marker" >/dev/kmsg

ktap_test "load_vfio_mdev" mdev_load vfio_mdev

if [ ! -x "$client" ]; then
	ktap_fail "client_built" "$client missing: make -C tools/testing/selftests/mdev"
elif [ ! -f "$test_ko" ]; then
	ktap_skip "load_mdev_classic_test" "$test_ko not built (CONFIG_MDEV_CLASSIC_TEST=m)"
else
	ktap_test "load_mdev_classic_test" insmod "$test_ko"
fi

if mdev_loaded mdev_classic_test; then
	ktap_diag "kernel $MDEV_VM_KERNEL: /dev/iommu $([ -e /dev/iommu ] && echo present || echo missing)"
	ktap_kselftest client "$client" -T rmmod_while_open -F external

	# The parent without a request callback said why its removal waited.
	if dmesg | sed -n "\|$marker|,\$p" |
	   grep -q "removal waits until user space closes the device"; then
		ktap_ok "notice_without_request"
	else
		ktap_fail "notice_without_request" "no notice in the kernel log"
	fi

	MDEV_CLASSIC_RMMOD=1 ktap_kselftest --as client_rmmod client "$client" -r full.type1.rmmod_while_open
	if mdev_loaded mdev_classic_test; then
		ktap_fail "vendor_unloaded" "mdev_classic_test is still loaded"
		rmmod mdev_classic_test
	else
		ktap_ok "vendor_unloaded"
	fi
fi

# An mtty device, opened as QEMU would.
mtty_type=/sys/class/mdev_bus/mtty/mdev_supported_types/mtty-2
if [ ! -x "$client" ]; then
	:
elif [ ! -f "$(mdev_ko mtty)" ]; then
	ktap_skip "mtty_create" "mtty.ko not built"
elif ! mdev_load mtty || [ ! -d "$mtty_type" ]; then
	ktap_fail "mtty_create" "mtty did not load or has no type mtty-2"
else
	uuid=$(mdev_uuid)
	if ktap_test "mtty_create" sh -c "echo $uuid >$mtty_type/create"; then
		MDEV_UUID=$uuid MDEV_EXPECT_PCI_ID=4348:3253 \
			ktap_kselftest --as client_mtty client "$client" -f external
		ktap_test "mtty_remove" sh -c "echo 1 >/sys/bus/mdev/devices/$uuid/remove"
	fi
fi

mdev_unload mdev_classic_test
mdev_unload_all
if mdev_loaded vfio_mdev || mdev_loaded mdev; then
	ktap_fail "unload" "vfio_mdev or mdev still loaded"
else
	ktap_ok "unload"
fi

echo "1..$KTAP_N"
ktap_finish

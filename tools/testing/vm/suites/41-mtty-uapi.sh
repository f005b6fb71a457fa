#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# mtty through the VFIO uAPI, with no QEMU: the mtty_uapi kselftest (info
# ioctls, configuration space, bounds, the UART registers, INTx, MSI,
# reset, the request interrupt on removal) and the mtty_migration kselftest
# (migration v2: one dual-port device saved and resumed into another, its
# UARTs read back; QEMU 7.2 predates v2).  Each result of a kselftest is
# one result here ("uapi.<fixture>.<variant>.<test>", "mig.<fixture>.<test>");
# the rest of their output is kept as diagnostics.  At the end no device
# may be left and mtty must unload.

here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/ktap.sh"
. "$here/lib.sh"

repo=$(cd "$here/../../.." && pwd)
progs=$repo/tools/testing/selftests/mdev

[ -f "$(mdev_ko mtty)" ] || ktap_skip_all "mtty.ko not built"

echo "KTAP version 1"

mdev_unload_all
ktap_test "load_mtty" mdev_load mtty

ktap_kselftest uapi "$progs/mtty_uapi"
ktap_kselftest mig "$progs/mtty_migration"

left=$(ls /sys/bus/mdev/devices 2>/dev/null | tr '\n' ' ')
if [ -z "$left" ] && mdev_unload mtty; then
	ktap_ok "unload_mtty"
else
	ktap_fail "unload_mtty" "devices left: ${left:-none}; mtty busy?"
fi
echo "1..$KTAP_N"

ktap_finish

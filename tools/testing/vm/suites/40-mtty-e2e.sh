#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# End to end: a dual-port mtty device passed through to a nested guest.
#
# Creates the device through sysfs, boots ONE nested QEMU (TCG) with
# `-device vfio-pci,sysfsdev=...`, Debian's kernel and a busybox initramfs
# (e2e/mtty-guest-init, built here and cached under $MDEV_SCRATCH), and
# asserts what the guest reports: it found 4348:3253, 8250_pci ("serial")
# bound it, both ports echo a message back through their loopback plug and
# the card's interrupt count rose.  Then, while the guest runs, the device
# is removed on this side: the request interrupt must make QEMU unplug it
# from the guest (ACPI hotplug of the PCIe root port it sits behind), the
# guest must see it go, and the removal must complete within a bound.
#
# The machine is q35 rather than pc: pc's ACPI _PRT builds the interrupt
# routing in an AML loop that, on a loaded host under TCG in TCG, overruns
# ACPICA's 30 s loop timeout and leaves the card without interrupts; q35's
# routing table is static.
#
# The nested boot takes minutes under TCG in TCG; on the debug kernel the
# suite is skipped unless MDEV_E2E_DEBUG=1.  All waits together stay within
# the rig's 900 s per suite.  Tunables: MDEV_E2E_TIMEOUT (seconds for the
# guest to get ready, default 600), MDEV_E2E_REMOVE_TIMEOUT (seconds for the
# removal, default 90), MDEV_E2E_KERNEL (guest kernel).

here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/ktap.sh"
. "$here/lib.sh"

boot_timeout=${MDEV_E2E_TIMEOUT:-600}
remove_timeout=${MDEV_E2E_REMOVE_TIMEOUT:-90}
types=/sys/class/mdev_bus/mtty/mdev_supported_types

if [ "$MDEV_VM_KERNEL" = debug ] && [ -z "${MDEV_E2E_DEBUG:-}" ]; then
	ktap_skip_all "a nested boot on the debug kernel is too slow (MDEV_E2E_DEBUG=1 forces it)"
fi
command -v qemu-system-x86_64 >/dev/null ||
	ktap_skip_all "qemu-system-x86_64 missing"
guest_kernel=${MDEV_E2E_KERNEL:-$(ls /boot/vmlinuz-6.12.*-amd64 2>/dev/null | sort -V | tail -n 1)}
[ -r "$guest_kernel" ] || ktap_skip_all "no Debian 6.12 kernel for the guest in /boot"
[ -f "$(mdev_ko mtty)" ] || ktap_skip_all "mtty.ko not built"

work=$MDEV_SCRATCH/mtty-e2e
mkdir -p "$work"
glog=$work/guest.log
qerr=$work/qemu.stderr
: >"$glog"
: >"$qerr"

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# The value of key $2 on the guest's "MTTY-E2E $1 ..." line
guest_val() {
	grep -a "^MTTY-E2E $1" "$glog" | tail -n 1 | tr -d '\r' |
		sed -n "s/.*[ ]$2=\([^ ]*\).*/\1/p"
}

# Wait until the guest log has a line matching $1, QEMU exits or $2 s pass.
wait_guest() {
	local until=$(($(date +%s) + $2))

	while [ "$(date +%s)" -lt "$until" ]; do
		grep -aq "$1" "$glog" && return 0
		kill -0 "$qpid" 2>/dev/null || { grep -aq "$1" "$glog"; return; }
		sleep 1
	done
	return 1
}

ktap_plan 15

mdev_unload_all
ktap_test "load_mtty" mdev_load mtty

uuid=$(mdev_uuid)
sysdev=/sys/bus/mdev/devices/$uuid
if echo "$uuid" >"$types/mtty-2/create" 2>/dev/null && [ -d "$sysdev" ]; then
	ktap_ok "create_dual_port"
else
	ktap_fail "create_dual_port" "could not create mtty-2 device $uuid"
	for i in $(seq 3 15); do ktap_skip "step_$i" "no device"; done
	ktap_finish
fi

if ! initrd=$("$here/e2e/build-guest-initramfs.sh" "$work/cache"); then
	ktap_fail "guest_initramfs" "build-guest-initramfs.sh failed"
	echo 1 >"$sysdev/remove"
	for i in $(seq 4 15); do ktap_skip "step_$i" "no initramfs"; done
	ktap_finish
fi
ktap_ok "guest_initramfs"
ktap_diag "guest kernel $guest_kernel, initramfs $initrd"

# No CMPXCHG16B in the guest: QEMU's TCG running inside TCG corrupts the
# flags or registers around it (the guest's SLUB fast path double-faults
# early in boot); without it the kernel takes SLUB's locked path.
t_start=$(now)
qemu-system-x86_64 -M q35 -accel tcg -cpu max,-cx16 -m 256M -smp 1 \
	-nodefaults -no-user-config -display none -monitor none -no-reboot \
	-bios qboot.rom -serial "file:$glog" \
	-kernel "$guest_kernel" -initrd "$initrd" \
	-append "console=ttyS0 quiet panic=-1" \
	-device pcie-root-port,id=rp1,chassis=1,slot=1 \
	-device "vfio-pci,sysfsdev=$sysdev,bus=rp1" \
	</dev/null >/dev/null 2>"$qerr" &
qpid=$!
# Never leave the nested guest behind, whatever stops this script.
trap 'kill "$qpid" 2>/dev/null' EXIT

ready=0
wait_guest "^MTTY-E2E ready-for-unplug\|^MTTY-E2E done" "$boot_timeout" && ready=1
t_ready=$(now)
ktap_diag "nested guest: up and tested in $(secs "$t_start" "$t_ready") s"
sed -n 's/\r//; /^MTTY-E2E/s/^/guest: /p' "$glog" | while IFS= read -r l; do ktap_diag "$l"; done

if grep -aq "^MTTY-E2E init" "$glog"; then
	ktap_ok "guest_booted"
else
	ktap_fail "guest_booted" "no init line (ready=$ready)"
	[ -s "$qerr" ] && sed 's/^/# qemu: /' "$qerr"
fi

pci=$(sed -n 's/\r//; s/^MTTY-E2E pci=//p' "$glog" | tail -n 1)
if [ -n "$pci" ] && [ "$pci" != none ]; then
	ktap_ok "guest_found_4348_3253"
else
	ktap_fail "guest_found_4348_3253" "guest saw pci=${pci:-nothing}"
fi

drv=$(sed -n 's/\r//; s/^MTTY-E2E driver=//p' "$glog" | tail -n 1)
if [ "$drv" = serial ]; then
	ktap_ok "guest_8250_pci_bound"
else
	ktap_fail "guest_8250_pci_bound" "driver '${drv:-none}', want serial"
fi

ttys=$(guest_val "irq=" ttys | tr , ' ')
read -ra tty_list <<<"$ttys"
if [ ${#tty_list[@]} = 2 ]; then
	ktap_ok "guest_two_ports"
else
	ktap_fail "guest_two_ports" "ports '$ttys'"
fi

# One result per port: the bytes came back, and interrupts carried them.
for port in 0 1; do
	tty=${tty_list[$port]:-}
	res=$( [ -n "$tty" ] && guest_val "loopback $tty" result)
	if [ -n "$tty" ] && [ "$res" = ok ]; then
		ktap_ok "port${port}_loopback"
	else
		ktap_fail "port${port}_loopback" "${tty:-no tty}: result '${res:-none}'"
	fi
	before=$(guest_val "irq $tty" before)
	after=$(guest_val "irq $tty" after)
	if [ -n "$tty" ] && [ -n "$before" ] && [ -n "$after" ] &&
	   [ "$after" -gt "$before" ]; then
		ktap_ok "port${port}_interrupts"
	else
		ktap_fail "port${port}_interrupts" "count '${before:-?}' -> '${after:-?}'"
	fi
done

# Hot unplug: remove the device here while the guest holds it.
removed=0
if [ "$ready" = 1 ] && kill -0 "$qpid" 2>/dev/null; then
	t_rm=$(now)
	(
		rc=0
		echo 1 >"$sysdev/remove" || rc=1
		echo "$rc" >"$work/remove.rc"
	) 2>"$work/remove.err" &
	rmpid=$!
	until=$(($(date +%s) + remove_timeout))
	while kill -0 "$rmpid" 2>/dev/null && [ "$(date +%s)" -lt "$until" ]; do
		sleep 0.5
	done
	if kill -0 "$rmpid" 2>/dev/null; then
		ktap_fail "host_remove_bounded" "remove still blocked after ${remove_timeout}s"
	elif [ "$(cat "$work/remove.rc")" = 0 ] && [ ! -e "$sysdev" ]; then
		removed=1
		ktap_ok "host_remove_bounded"
	else
		ktap_fail "host_remove_bounded" "remove failed: $(cat "$work/remove.err")"
	fi
	ktap_diag "host remove took $(secs "$t_rm" "$(now)") s"
else
	ktap_fail "host_remove_bounded" "guest never got ready"
fi

# The guest reports the unplug, then powers off.
wait_guest "^MTTY-E2E done" 120
if [ "$(guest_val unplug result)" = seen ] &&
   [ "$(guest_val unplug ports_left)" = 0 ]; then
	ktap_ok "guest_saw_unplug"
else
	ktap_fail "guest_saw_unplug" "guest says unplug result '$(guest_val unplug result)', ports left '$(guest_val unplug ports_left)'"
fi
sed -n 's/\r//; /^MTTY-E2E unplug\|^MTTY-E2E-LOG\|^MTTY-E2E done/s/^/guest: /p' "$glog" |
	while IFS= read -r l; do ktap_diag "$l"; done

until=$(($(date +%s) + 30))
while kill -0 "$qpid" 2>/dev/null && [ "$(date +%s)" -lt "$until" ]; do
	sleep 1
done
if kill -0 "$qpid" 2>/dev/null; then
	kill "$qpid"
	ktap_fail "guest_powered_off" "QEMU still running: killed"
else
	wait "$qpid"
	rc=$?
	if [ "$rc" = 0 ]; then
		ktap_ok "guest_powered_off"
	else
		ktap_fail "guest_powered_off" "QEMU exit status $rc"
	fi
fi
[ -s "$qerr" ] && sed 's/^/# qemu: /' "$qerr"
ktap_diag "nested run: $(secs "$t_start" "$(now)") s in all"

# With QEMU gone a blocked removal finishes; then the pool is whole again.
[ -n "${rmpid:-}" ] && wait "$rmpid" 2>/dev/null
[ "$removed" = 1 ] || [ ! -e "$sysdev" ] || echo 1 >"$sysdev/remove"
if [ ! -e "$sysdev" ] && [ "$(cat "$types/mtty-2/available_instances")" = 12 ] &&
   mdev_unload mtty; then
	ktap_ok "cleanup"
else
	ktap_fail "cleanup" "device left or mtty busy"
fi

ktap_finish

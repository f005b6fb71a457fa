#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# mdev-timeout: 900
#
# End to end: a dual-port mtty device, and an mdpy display, passed through
# to a nested guest.
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
# The same guest also gets an mdpy-vga device (640x480) as QEMU's display
# (display=on: QEMU asks VFIO_DEVICE_QUERY_GFX_PLANE and maps the region
# the answer names).  The guest loads mdpy-fb.ko, built here for Debian's
# kernel, and draws four horizontal bands into its framebuffer (red, green,
# blue, white from the top); a QMP screendump of the nested QEMU must show
# them.  The picture is kept as $MDEV_SCRATCH/mtty-e2e-mdpy.ppm.  Without
# mdpy.ko or mdpy-fb.ko those three results are skipped, the rest stands.
#
# The machine is q35 rather than pc: pc's ACPI _PRT builds the interrupt
# routing in an AML loop that, on a loaded host under TCG in TCG, overruns
# ACPICA's 30 s loop timeout and leaves the card without interrupts; q35's
# routing table is static.
#
# A dma-buf display (mbochs) cannot be shown this way: QEMU wants OpenGL
# for it ("vfio-display-dmabuf: opengl not available" with -display none).
# 52-mbochs-qemu-display shows it through QEMU 10's -display dbus,gl=on.
#
# It runs on both kernels (on the debug one when asked, see below): there,
# QEMU's open, BAR accesses, interrupts, display queries and the hot unplug
# go through our code under KASAN, lockdep and kmemleak.  The nested boot takes minutes under TCG in
# TCG, so the guest is kept lean: its kernel is booted unpacked, through
# its PVH entry (e2e/guest-vmlinux.sh; unpacking a bzImage took the guest
# a minute on the debug kernel), with a command line that spares it work
# it does not need here (no Spectre/Meltdown mitigations, no crypto self
# tests), from an uncompressed initramfs with busybox's links made in
# advance, and its init forks as little as it can.  Measured on two cores
# shared with other VMs: 3.7 minutes on the stock kernel; on the debug one
# 8.7 minutes, 2 of them the initramfs build since made cheap, so about 7.
#
# All waits together stay within the suite's time limit (the
# mdev-timeout line above, read by guest-check.sh).  Tunables:
# MDEV_E2E_TIMEOUT (seconds for the guest to get ready, default 600),
# MDEV_E2E_REMOVE_TIMEOUT (seconds for the removal, default 90),
# MDEV_E2E_KERNEL (guest kernel, a bzImage).

here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/ktap.sh"
. "$here/lib.sh"

boot_timeout=${MDEV_E2E_TIMEOUT:-600}
remove_timeout=${MDEV_E2E_REMOVE_TIMEOUT:-90}
types=/sys/class/mdev_bus/mtty/mdev_supported_types
mdpy_type=/sys/class/mdev_bus/mdpy/mdev_supported_types/mdpy-vga
total=18

# The debug kernel releases every kobject 1-4 s late
# (CONFIG_DEBUG_KOBJECT_RELEASE), which with KASAN made the nested boot
# overrun the suite's limit when the machine was shared: on that kernel the
# suite runs only when asked (MDEV_E2E_DEBUG=1, `make check-e2e-debug`), to
# keep `make check` within its time budget.  Its QEMU paths stay covered on
# the debug kernel by 30-vfio-client, 41-mtty-uapi and 45-uapi-abuse.
if [ "${MDEV_VM_KERNEL:-}" = debug ] && [ "${MDEV_E2E_DEBUG:-}" != 1 ]; then
	ktap_skip_all "debug kernel: only with MDEV_E2E_DEBUG=1 (make check-e2e-debug)"
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
# QMP's socket cannot be on /scratch (9p)
qmpdir=$(mktemp -d /tmp/mtty-e2e.XXXXXX)
qmp=$qmpdir/qmp.sock
trap 'rm -rf "$qmpdir"' EXIT
shot=$MDEV_SCRATCH/mtty-e2e-mdpy.ppm
: >"$glog"
: >"$qerr"
rm -f "$shot"
guest_release=${guest_kernel##*/vmlinuz-}

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

# Skip the results not reached, up to the plan, and stop
skip_rest() {
	while [ "$KTAP_N" -lt "$total" ]; do
		ktap_skip "step_$((KTAP_N + 1))" "$1"
	done
	ktap_finish
}

# The nested QEMU's screen, by QMP, into $1
screendump() {
	"$here/qmp.py" --wait 60 "$qmp" screendump "{\"filename\": \"$1\"}" >/dev/null
}


ktap_plan "$total"

mdev_unload_all
ktap_test "load_mtty" mdev_load mtty

uuid=$(mdev_uuid)
sysdev=/sys/bus/mdev/devices/$uuid
if echo "$uuid" >"$types/mtty-2/create" 2>/dev/null && [ -d "$sysdev" ]; then
	ktap_ok "create_dual_port"
else
	ktap_fail "create_dual_port" "could not create mtty-2 device $uuid"
	skip_rest "no device"
fi

# The display: an mdpy-vga device, and mdpy-fb.ko for the guest's kernel.
# That is Debian's kernel on both kernels of the rig: its mdpy-fb.ko is the
# one `make all` built out of tree (on the debug kernel, the samples dir
# holds the debug kernel's copy).
mdpy_dev=
mdpy_fb=${MDEV_REPO:?}/samples/vfio-mdev/mdpy-fb.ko
mdpy_why=
if [ ! -f "$(mdev_ko mdpy)" ] || [ ! -f "$mdpy_fb" ]; then
	mdpy_why="mdpy.ko or mdpy-fb.ko not built"
elif [ "$(modinfo -F vermagic "$mdpy_fb" | cut -d' ' -f1)" != "$guest_release" ]; then
	mdpy_why="mdpy-fb.ko is not built for the guest's $guest_release"
fi
if [ -n "$mdpy_why" ]; then
	ktap_skip "create_mdpy_vga" "$mdpy_why"
else
	u=$(mdev_uuid)
	if mdev_load mdpy && echo "$u" >"$mdpy_type/create" &&
	   [ -d "/sys/bus/mdev/devices/$u" ]; then
		mdpy_dev=/sys/bus/mdev/devices/$u
		ktap_ok "create_mdpy_vga"
	else
		mdpy_why="no mdpy device"
		ktap_fail "create_mdpy_vga" "could not create mdpy-vga device $u"
	fi
fi

t_initrd=$(now)
if [ -n "$mdpy_dev" ]; then
	initrd=$("$here/e2e/build-guest-initramfs.sh" "$work/cache" \
		"$guest_release" "$mdpy_fb")
else
	initrd=$("$here/e2e/build-guest-initramfs.sh" "$work/cache")
fi || {
	ktap_fail "guest_initramfs" "build-guest-initramfs.sh failed"
	echo 1 >"$sysdev/remove"
	[ -n "$mdpy_dev" ] && echo 1 >"$mdpy_dev/remove"
	skip_rest "no initramfs"
}
ktap_ok "guest_initramfs"
ktap_diag "guest kernel $guest_kernel, initramfs $initrd ($(secs "$t_initrd" "$(now)") s)"
display=()
[ -n "$mdpy_dev" ] &&
	display=(-device "vfio-pci,sysfsdev=$mdpy_dev,display=on,bus=pcie.0")

# No CMPXCHG16B in the guest: QEMU's TCG running inside TCG corrupts the
# flags or registers around it (the guest's SLUB fast path double-faults
# early in boot); without it the kernel takes SLUB's locked path.
# -display none keeps the console of a display=on device, which is all a
# QMP screendump needs.  fbcon=map:1 (there is no fb1) keeps fbcon off the
# guest's mdpy framebuffer, where it would clear the screen and blink its
# cursor.
t_vmlinux=$(now)
if ! vmlinux=$("$here/e2e/guest-vmlinux.sh" "$guest_kernel" "$qmpdir"); then
	ktap_fail "guest_booted" "cannot unpack $guest_kernel"
	echo 1 >"$sysdev/remove"
	[ -n "$mdpy_dev" ] && echo 1 >"$mdpy_dev/remove"
	skip_rest "no guest kernel"
fi
ktap_diag "guest kernel unpacked in $(secs "$t_vmlinux" "$(now)") s"

# mitigations=off, cryptomgr.notests: see the top; no_timer_check: the
# IO-APIC timer check fails at random under TCG.
t_start=$(now)
qemu-system-x86_64 -M q35 -accel tcg -cpu max,-cx16 -m 256M -smp 1 \
	-nodefaults -no-user-config -display none -monitor none -no-reboot \
	-qmp "unix:$qmp,server=on,wait=off" \
	-bios qboot.rom -serial "file:$glog" \
	-kernel "$vmlinux" -initrd "$initrd" \
	-append "console=ttyS0 quiet panic=-1 fbcon=map:1 mitigations=off cryptomgr.notests no_timer_check" \
	-device pcie-root-port,id=rp1,chassis=1,slot=1 \
	-device "vfio-pci,sysfsdev=$sysdev,bus=rp1" \
	"${display[@]}" \
	</dev/null >/dev/null 2>"$qerr" &
qpid=$!
# Never leave the nested guest behind, whatever stops this script.
trap 'kill "$qpid" 2>/dev/null; rm -rf "$qmpdir"' EXIT

# Where the time goes: QEMU's start and the kernel's loading (the host's
# wait for /init less the guest's uptime there), the guest kernel's boot
# (its uptime at /init), the display part, the serial part.
ready=0
wait_guest "^MTTY-E2E init" "$boot_timeout"
t_init=$(now)
left=$((boot_timeout - ${t_init%.*} + ${t_start%.*}))
[ "$left" -gt 0 ] || left=1
wait_guest "^MTTY-E2E ready-for-unplug\|^MTTY-E2E done" "$left" && ready=1
t_ready=$(now)
up_init=$(guest_val init uptime)
ktap_diag "nested guest: up and tested in $(secs "$t_start" "$t_ready") s:" \
	"QEMU start to /init $(secs "$t_start" "$t_init") s" \
	"(guest kernel boot ${up_init:-?} s)," \
	"display part to $(guest_val mdpy-done uptime) s," \
	"serial part to $(guest_val ready-for-unplug uptime) s of guest uptime"
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

# The display: mdpy-fb bound in the guest, and QEMU shows what it drew
if [ -z "$mdpy_dev" ]; then
	ktap_skip "mdpy_fb_bound" "$mdpy_why"
	ktap_skip "screendump_pattern" "$mdpy_why"
else
	drv=$(guest_val "mdpy pci=" driver)
	fb=$(guest_val "mdpy pci=" fb)
	if [ "$drv" = mdpy-fb ] && [ -n "$fb" ] && [ "$fb" != none ]; then
		ktap_ok "mdpy_fb_bound"
	else
		ktap_fail "mdpy_fb_bound" "driver '${drv:-none}', framebuffer '${fb:-none}'"
	fi

	pattern=$(guest_val "mdpy pattern=" pattern)
	mode=$(guest_val "mdpy pattern=" mode)
	t_shot=$(now)
	if [ "$pattern" != drawn ]; then
		ktap_fail "screendump_pattern" "guest says pattern '${pattern:-none}'"
	elif ! kill -0 "$qpid" 2>/dev/null; then
		ktap_fail "screendump_pattern" "QEMU is gone"
	elif ! out=$(screendump "$shot" 2>&1); then
		printf '%s\n' "$out" | sed 's/^/# /'
		ktap_fail "screendump_pattern" "QMP screendump failed"
	elif out=$(mdev_check_bands "$shot" "${mode%x*}" "${mode#*x}" 2>&1); then
		ktap_diag "screendump: $out"
		ktap_ok "screendump_pattern"
	else
		printf '%s\n' "$out" | sed 's/^/# /'
		ktap_fail "screendump_pattern" "the screen does not show the bands"
	fi
	ktap_diag "screendump and check took $(secs "$t_shot" "$(now)") s; kept in $shot"
fi

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

# With QEMU gone a blocked removal finishes; then the pools are whole again.
[ -n "${rmpid:-}" ] && wait "$rmpid" 2>/dev/null
[ "$removed" = 1 ] || [ ! -e "$sysdev" ] || echo 1 >"$sysdev/remove"
mdpy_left=
if [ -n "$mdpy_dev" ]; then
	echo 1 >"$mdpy_dev/remove"
	{ [ ! -e "$mdpy_dev" ] && [ "$(cat "$mdpy_type/available_instances")" = 4 ] &&
	  mdev_unload mdpy; } || mdpy_left=1
fi
if [ ! -e "$sysdev" ] && [ "$(cat "$types/mtty-2/available_instances")" = 12 ] &&
   mdev_unload mtty && [ -z "$mdpy_left" ]; then
	ktap_ok "cleanup"
else
	ktap_fail "cleanup" "device left, or mtty or mdpy busy"
fi

ktap_finish

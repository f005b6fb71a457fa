#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# mdev-timeout: 300
#
# mbochs' dma-buf plane shown by QEMU 10 (tools/testing/vm/qemu10.sh), as
# a user's display would show it.
#
# A dma-buf plane needs QEMU's OpenGL displays: -display none refuses the
# device ("vfio-display-dmabuf: opengl not available").  Here they get a
# DRM render node from the vgem module and Mesa's software renderer
# (LIBGL_ALWAYS_SOFTWARE, GBM_ALWAYS_SOFTWARE).  The guest is
# e2e/mbochs-guest.c, built here: booted through its PVH entry it
# programs the device's dispi registers for 800x600 XRGB8888 and draws
# four horizontal bands, red, green, blue and white from the top, in a
# few seconds under TCG in TCG (a Linux guest with the bochs DRM driver
# would take minutes).  QEMU then asks VFIO_DEVICE_QUERY_GFX_PLANE,
# VFIO_DEVICE_GET_GFX_DMABUF and hands the dma-buf to its display:
#
# - -display dbus,gl=on: QEMU passes the dma-buf to its D-Bus display
#   clients (ScanoutDMABUF with the plane's size, stride and fourcc);
#   dbus-display-shot.py is such a client, on a private dbus-daemon, and
#   writes what it maps as a picture, which must show the bands.  QMP's
#   screendump has no surface to save there, and says so.
# - -display egl-headless: QEMU imports the dma-buf into Mesa and reads
#   it back for QMP's screendump.  With Mesa 22.3 (Debian 12) and vgem it
#   crashes as soon as the plane appears; the result is then a skip that
#   quotes QEMU, and would be a pass the day that path works.
#
# The firmware is QEMU's default SeaBIOS: with qboot.rom and egl-headless
# the guest never started (QEMU 7.2 halted in qboot).  Each QEMU runs for
# seconds; the suite took 54 s in the stock VM.
#
# The picture is kept as $MDEV_SCRATCH/52-mbochs-dbus.ppm.  Tunable:
# MDEV_MBOCHS_DISPLAY_TIMEOUT (seconds for the guest to draw, default 90).

here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/ktap.sh"
. "$here/lib.sh"

draw_timeout=${MDEV_MBOCHS_DISPLAY_TIMEOUT:-90}
type_dir=/sys/class/mdev_bus/mbochs/mdev_supported_types/mbochs-small
total=6

# The debug kernel's VM is the critical path of make check, and the
# display code under test here is QEMU's and Mesa's, not more of ours.
[ "${MDEV_VM_KERNEL:-}" = stock ] || [ -n "${MDEV_MBOCHS_DISPLAY_DEBUG:-}" ] ||
	ktap_skip_all "stock kernel only (MDEV_MBOCHS_DISPLAY_DEBUG=1 to run it)"
[ -f "$(mdev_ko mbochs)" ] || ktap_skip_all "mbochs.ko not built"
modprobe vgem 2>/dev/null || ktap_skip_all "no vgem module for a DRM render node"
qemu=$("$here/qemu10.sh" --print 2>/dev/null) ||
	ktap_skip_all "no QEMU 10 (tools/testing/vm/qemu10.sh)"
prefix=${qemu%/usr/bin/qemu-system-x86_64}
/usr/bin/python3 -c 'import gi' 2>/dev/null ||
	ktap_skip_all "Debian's python3 with python3-gi missing"
command -v dbus-daemon >/dev/null || ktap_skip_all "dbus-daemon missing"

work=$(mktemp -d /tmp/52-mbochs.XXXXXX)
qpid=
dbus_pid=
cleanup_tmp() {
	[ -n "$qpid" ] && kill -9 "$qpid" 2>/dev/null
	[ -n "$dbus_pid" ] && kill "$dbus_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup_tmp EXIT

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

ktap_plan "$total"
t_suite=$(now)

# The guest, for QEMU's -kernel (PVH entry at 1 MiB)
guest=$MDEV_SCRATCH/mbochs-guest.elf
if gcc -m32 -ffreestanding -fno-pic -fno-stack-protector \
	-fno-asynchronous-unwind-tables -nostdlib -static -O2 -Wall -Werror \
	-Wl,-Ttext-segment=0x100000 -Wl,--build-id=none -Wl,-z,noexecstack \
	-o "$guest" "$here/e2e/mbochs-guest.c" 2>"$work/cc.err"; then
	ktap_ok "guest_built"
else
	sed 's/^/# /' "$work/cc.err"
	ktap_fail "guest_built"
fi

mdev_unload_all
render=
for r in /dev/dri/renderD*; do
	[ -c "$r" ] && render=$r && break
done
uuid=$(mdev_uuid)
dev=/sys/bus/mdev/devices/$uuid
if [ -n "$render" ] && mdev_load mbochs && echo "$uuid" >"$type_dir/create"; then
	ktap_ok "vgem_and_mbochs_device"
else
	ktap_fail "vgem_and_mbochs_device" "render node '${render:-none}', or no mbochs-small device"
	while [ "$KTAP_N" -lt "$total" ]; do ktap_skip "step_$((KTAP_N + 1))" "no device"; done
	ktap_finish
fi

# start_qemu <name> <display>: QEMU 10 with the device as its display and
# the guest; $qpid, and <name>.{serial,err} in $work
start_qemu() {
	: >"$work/$1.serial"
	LIBGL_ALWAYS_SOFTWARE=1 GBM_ALWAYS_SOFTWARE=1 \
	QEMU_MODULE_DIR=$prefix/usr/lib/x86_64-linux-gnu/qemu \
	"$qemu" -L "$prefix/usr/share/qemu" -L /usr/share/seabios \
		-M pc -accel tcg -m 64M -nodefaults -no-user-config -monitor none \
		-qmp "unix:$work/$1.qmp,server=on,wait=off" \
		-kernel "$guest" -serial "file:$work/$1.serial" \
		-device "vfio-pci,sysfsdev=$dev,display=on" -display "$2" \
		</dev/null >/dev/null 2>"$work/$1.err" &
	qpid=$!
}

# wait_drawn <name>: until the guest reports, or QEMU ends, or the time is up
wait_drawn() {
	local until=$(($(date +%s) + draw_timeout))

	while [ "$(date +%s)" -lt "$until" ]; do
		grep -q "^MBOCHS-GUEST \(drawn\|fail\)" "$work/$1.serial" && return 0
		kill -0 "$qpid" 2>/dev/null || return 1
		sleep 0.5
	done
	return 1
}

# stop_qemu: ask QEMU to quit by QMP's socket, else kill it; its status
stop_qemu() {
	local rc

	kill "$qpid" 2>/dev/null
	timeout 20 tail --pid="$qpid" -f /dev/null || kill -9 "$qpid" 2>/dev/null
	wait "$qpid"
	rc=$?
	qpid=
	return "$rc"
}


# diag_file <prefix> <file>: a file's lines as diagnostics, a line that
# repeats once with its count (QEMU's "Failed to call update: The
# connection is closed" for each frame after the client has left)
diag_file() {
	local l
	awk '{ if (!n[$0]++) o[++k] = $0 }
	     END { for (i = 1; i <= k; i++)
			print o[i] (n[o[i]] > 1 ? " (" n[o[i]] " times)" : "") }' "$2" |
		while IFS= read -r l; do ktap_diag "$1$l"; done
}

# D-Bus: a private bus for QEMU and the client
shot=$MDEV_SCRATCH/52-mbochs-dbus.ppm
rm -f "$shot"
t0=$(now)
dbus_pid=$(dbus-daemon --session --address="unix:path=$work/bus" --fork --print-pid=1)
start_qemu dbus "dbus,gl=on,rendernode=$render,addr=unix:path=$work/bus"
if wait_drawn dbus && grep -q "^MBOCHS-GUEST drawn mode=800x600 readback=00ff0000,0000ff00,000000ff,00ffffff" "$work/dbus.serial"; then
	ktap_ok "guest_drew"
else
	ktap_fail "guest_drew"
fi
diag_file "guest: " "$work/dbus.serial"
if ! kill -0 "$qpid" 2>/dev/null; then
	ktap_fail "dbus_dmabuf_plane" "QEMU is gone"
elif ! out=$(timeout 60 "$here/dbus-display-shot.py" --timeout 30 \
	     "unix:path=$work/bus" "$shot" 2>&1); then
	printf '%s\n' "$out" | sed 's/^/# /'
	ktap_fail "dbus_dmabuf_plane" "no picture from QEMU's D-Bus display"
elif bands=$(mdev_check_bands "$shot" 800 600 2>&1); then
	ktap_diag "dbus client: $out"
	ktap_diag "dbus client's picture: $bands"
	ktap_ok "dbus_dmabuf_plane"
else
	ktap_diag "dbus client: $out"
	printf '%s\n' "$bands" | sed 's/^/# /'
	ktap_fail "dbus_dmabuf_plane" "the picture does not show the bands"
fi
# What QMP's screendump makes of it, for the record
ktap_diag "QMP screendump with -display dbus: $("$here/qmp.py" --wait 5 "$work/dbus.qmp" \
	screendump "{\"filename\": \"$work/dbus-qmp.ppm\"}" 2>&1 >/dev/null || true)"
stop_qemu
diag_file "qemu (dbus): " "$work/dbus.err"
kill "$dbus_pid" 2>/dev/null
dbus_pid=
ktap_diag "dbus path: $(secs "$t0" "$(now)") s"

# egl-headless: QMP's screendump reads the plane back through Mesa
t0=$(now)
start_qemu egl "egl-headless,rendernode=$render"
wait_drawn egl
sleep 2
if kill -0 "$qpid" 2>/dev/null; then
	eshot=$MDEV_SCRATCH/52-mbochs-egl.ppm
	if ! out=$("$here/qmp.py" --wait 5 "$work/egl.qmp" \
		   screendump "{\"filename\": \"$eshot\"}" 2>&1 >/dev/null); then
		ktap_fail "egl_headless_dmabuf_plane" "screendump: $out"
	elif out=$(mdev_check_bands "$eshot" 800 600 2>&1); then
		ktap_diag "egl-headless screendump: $out"
		ktap_ok "egl_headless_dmabuf_plane"
	else
		printf '%s\n' "$out" | sed 's/^/# /'
		ktap_fail "egl_headless_dmabuf_plane" "the screendump does not show the bands"
	fi
	stop_qemu
	diag_file "qemu (egl-headless): " "$work/egl.err"
else
	wait "$qpid"
	rc=$?
	qpid=
	diag_file "guest: " "$work/egl.serial"
	diag_file "qemu (egl-headless): " "$work/egl.err"
	if [ "$rc" -gt 128 ]; then
		ktap_skip "egl_headless_dmabuf_plane" "QEMU died of signal $((rc - 128)) when the plane appeared (Mesa's software renderer on vgem)"
	else
		ktap_fail "egl_headless_dmabuf_plane" "QEMU exited with status $rc"
	fi
fi
ktap_diag "egl-headless path: $(secs "$t0" "$(now)") s"

echo 1 >"$dev/remove"
if [ ! -e "$dev" ] && [ "$(cat "$type_dir/available_instances")" = 64 ] &&
   mdev_unload mbochs; then
	ktap_ok "cleanup"
else
	ktap_fail "cleanup" "device left or mbochs busy"
fi
modprobe -r vgem 2>/dev/null
ktap_diag "suite: $(secs "$t_suite" "$(now)") s"
ktap_finish

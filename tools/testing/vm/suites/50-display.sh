#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The display samples on the modern path: mdpy (a region display) and mbochs
# (a dma-buf display), each its own mdev_driver registering its own
# vfio_device, as a Linux 6.12 vendor driver does.
#
# Loads both, checks their parents and types in sysfs, creates a device of
# every type from the shell, runs the display_test kselftest with those
# devices live (each of its results is one result here, named
# "display_test.<fixture>.<variant>.<test>"), removes the devices and checks
# that every type's available_instances is back.  Then starts QEMU with an
# mdpy device as its display (-device vfio-pci,...,display=on, no guest) and
# checks a QMP screendump against mdpy's power-on picture, reloads mdpy with
# another count parameter and checks that the core enforces it, loads and
# unloads the guest driver mdpy-fb, and unloads everything.

here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/ktap.sh"
. "$here/lib.sh"

repo=$(cd "$here/../../.." && pwd)
test_bin=$repo/tools/testing/selftests/mdev/display_test
bus=/sys/class/mdev_bus
types_mdpy="vga xga hd"
types_mbochs="small medium large"

echo "KTAP version 1"

type_dir() {	# type_dir <parent> <type>
	echo "$bus/$1/mdev_supported_types/$1-$2"
}

avail() {	# avail <parent> <type>
	cat "$(type_dir "$1" "$2")/available_instances" 2>/dev/null
}

# snapshot: every type's available_instances, "parent-type=n ..."
snapshot() {
	local p t out=
	for p in mdpy mbochs; do
		local types=types_$p
		for t in ${!types}; do
			out+="$p-$t=$(avail "$p" "$t") "
		done
	done
	echo "$out"
}

# check_types <parent> <types...>: the parent and each type's files
check_types() {
	local p=$1 t d
	shift
	[ -d "$bus/$p/mdev_supported_types" ] || { echo "no $bus/$p"; return 1; }
	for t in "$@"; do
		d=$(type_dir "$p" "$t")
		[ "$(cat "$d/device_api")" = vfio-pci ] || { echo "$d/device_api"; return 1; }
		[ "$(cat "$d/name")" = "$p-$t" ] || { echo "$d/name"; return 1; }
		grep -q '^virtual display, ' "$d/description" || { echo "$d/description"; return 1; }
		[ -d "$d/devices" ] || { echo "$d/devices"; return 1; }
	done
}

# check_device <uuid> <parent> <type> <vendor file> <expected>
check_device() {
	local dev=/sys/bus/mdev/devices/$1
	[ -d "$dev" ] || { echo "$dev missing"; return 1; }
	[ "$(basename "$(readlink "$dev/mdev_type")")" = "$2-$3" ] ||
		{ echo "$dev/mdev_type"; return 1; }
	[ -e "$dev/iommu_group" ] || { echo "$dev/iommu_group missing"; return 1; }
	[ -e "$(type_dir "$2" "$3")/devices/$1" ] || { echo "not in devices/"; return 1; }
	[ "$(cat "$dev/vendor/$4")" = "$5" ] ||
		{ echo "$dev/vendor/$4: $(cat "$dev/vendor/$4")"; return 1; }
}

if [ ! -f "$(mdev_ko mdpy)" ] || [ ! -f "$(mdev_ko mbochs)" ]; then
	echo "1..0 # SKIP mdpy.ko or mbochs.ko not built ($MDEV_SAMPLEDIR)"
	exit 0
fi

mdev_unload_all
echo "mdev-rig: 50-display $$" >/dev/kmsg

ktap_test "load" mdev_load mdpy mbochs
if ! mdev_loaded mdpy || ! mdev_loaded mbochs; then
	ktap_fail "loaded" "mdpy or mbochs did not load"
	echo "1..$KTAP_N"
	ktap_finish
fi

ktap_test "mdpy_types" check_types mdpy $types_mdpy
ktap_test "mbochs_types" check_types mbochs $types_mbochs

# Defaults: mdpy count=4 across its types, mbochs mem=256 shared by 4/16/64 MB
initial=$(snapshot)
ktap_diag "available_instances: $initial"
want="mdpy-vga=4 mdpy-xga=4 mdpy-hd=4 mbochs-small=64 mbochs-medium=16 mbochs-large=4 "
if [ "$initial" = "$want" ]; then
	ktap_ok "initial_instances"
else
	ktap_fail "initial_instances" "want $want"
fi

# One device of every type, from the shell, as a user would
declare -A uuids
created=0
for p in mdpy mbochs; do
	types=types_$p
	for t in ${!types}; do
		u=$(mdev_uuid)
		if echo "$u" >"$(type_dir "$p" "$t")/create"; then
			uuids[$p-$t]=$u
			created=$((created + 1))
		fi
	done
done
if [ "$created" = 6 ]; then
	ktap_ok "create_one_of_each"
else
	ktap_fail "create_one_of_each" "created $created of 6"
fi

ok=1
for t in vga:640x480 xga:1024x768 hd:1920x1080; do
	u=${uuids[mdpy-${t%%:*}]}
	[ -n "$u" ] && check_device "$u" mdpy "${t%%:*}" resolution "${t#*:}" ||
		{ ok=; ktap_diag "mdpy-${t%%:*} device not as expected"; }
done
for t in small:4 medium:16 large:64; do
	u=${uuids[mbochs-${t%%:*}]}
	[ -n "$u" ] && check_device "$u" mbochs "${t%%:*}" memory "${t#*:} MB" ||
		{ ok=; ktap_diag "mbochs-${t%%:*} device not as expected"; }
done
[ -n "$ok" ] && ktap_ok "device_sysfs" || ktap_fail "device_sysfs"

# mdpy: 4 - 3 live; mbochs: 256 - 84 MB left
live=$(snapshot)
want="mdpy-vga=1 mdpy-xga=1 mdpy-hd=1 mbochs-small=43 mbochs-medium=10 mbochs-large=2 "
if [ "$live" = "$want" ]; then
	ktap_ok "instances_while_live"
else
	ktap_fail "instances_while_live" "have $live, want $want"
fi

if [ -x "$test_bin" ]; then
	ktap_kselftest display_test "$test_bin"
else
	ktap_fail "display_test" "$test_bin missing: make -C tools/testing/selftests/mdev"
fi

removed=0
for k in "${!uuids[@]}"; do
	echo 1 >"/sys/bus/mdev/devices/${uuids[$k]}/remove" && removed=$((removed + 1))
done
if [ "$removed" = "$created" ] && [ -z "$(ls /sys/bus/mdev/devices)" ]; then
	ktap_ok "remove_all"
else
	ktap_fail "remove_all" "removed $removed of $created; left: $(ls /sys/bus/mdev/devices)"
fi

after=$(snapshot)
if [ "$after" = "$initial" ]; then
	ktap_ok "instances_restored"
else
	ktap_fail "instances_restored" "have $after, want $initial"
fi

# QEMU's region display (-device vfio-pci,display=on) on an mdpy device:
# QEMU queries the plane, maps the display region, and a QMP screendump
# must show mdpy's power-on picture, a gray ramp from black at the top.
# No guest runs (-S); the dma-buf display of mbochs would need OpenGL.
qemu_screendump() {	# qemu_screendump <sysfs device> <ppm file>
	local dir qpid rc=0
	dir=$(mktemp -d /tmp/50-display.XXXXXX)
	qemu-system-x86_64 -M pc -accel tcg -m 64M -S -nodefaults -no-user-config \
		-display none -qmp "unix:$dir/qmp.sock,server=on,wait=off" \
		-device "vfio-pci,sysfsdev=$1,display=on" </dev/null >/dev/null &
	qpid=$!
	"$here/qmp.py" --wait 60 "$dir/qmp.sock" \
		screendump "{\"filename\": \"$2\"}" quit >/dev/null || rc=$?
	if ! timeout 60 tail --pid="$qpid" -f /dev/null; then
		kill -9 "$qpid" 2>/dev/null
		rc=1
	fi
	wait "$qpid" 2>/dev/null
	rm -rf "$dir"
	return "$rc"
}

check_ramp() {	# check_ramp <ppm file> <width> <height>
	"$here/ppm-check.py" ramp "$@"
}

if ! command -v qemu-system-x86_64 >/dev/null || ! command -v python3 >/dev/null; then
	ktap_skip "qemu_region_display" "qemu-system-x86_64 or python3 missing"
else
	u=$(mdev_uuid)
	shot=$MDEV_SCRATCH/50-display-mdpy.ppm
	rm -f "$shot"
	if ! echo "$u" >"$(type_dir mdpy xga)/create"; then
		ktap_fail "qemu_region_display" "cannot create an mdpy-xga device"
	else
		if out=$(qemu_screendump "/sys/bus/mdev/devices/$u" "$shot" 2>&1) &&
		   out=$(check_ramp "$shot" 1024 768 2>&1); then
			ktap_ok "qemu_region_display"
		else
			printf '%s\n' "$out" | sed 's/^/# /'
			ktap_fail "qemu_region_display" "QEMU did not show the framebuffer"
		fi
		echo 1 >"/sys/bus/mdev/devices/$u/remove"
	fi
fi

# The count parameter is the core's max_instances
rmmod mdpy && insmod "$(mdev_ko mdpy)" count=2
if [ "$(cat /sys/module/mdpy/parameters/count 2>/dev/null)" = 2 ] &&
   [ "$(avail mdpy vga)" = 2 ] && [ "$(avail mdpy hd)" = 2 ]; then
	ktap_ok "mdpy_count_param"
	[ -x "$test_bin" ] && ktap_kselftest display_test_count2 "$test_bin" -t mdpy_instances
else
	ktap_fail "mdpy_count_param" "count $(cat /sys/module/mdpy/parameters/count 2>/dev/null), available $(avail mdpy vga)"
fi

rmmod mdpy && insmod "$(mdev_ko mdpy)" count=0
u=$(mdev_uuid)
if [ "$(avail mdpy xga)" = 0 ] && ! echo "$u" >"$(type_dir mdpy xga)/create" 2>/dev/null; then
	ktap_ok "mdpy_count_zero"
else
	ktap_fail "mdpy_count_zero" "available $(avail mdpy xga)"
	echo 1 >"/sys/bus/mdev/devices/$u/remove" 2>/dev/null
fi

# The guest driver has no device to bind here; it must load and unload
if [ -f "$(mdev_ko mdpy-fb)" ]; then
	ktap_test "mdpy_fb_load" insmod "$(mdev_ko mdpy-fb)"
	ktap_test "mdpy_fb_unload" rmmod mdpy_fb
else
	ktap_skip "mdpy_fb_load" "mdpy-fb.ko not built"
fi

mdev_unload mdpy mbochs
mdev_unload_all
if mdev_loaded mdpy || mdev_loaded mbochs || mdev_loaded mdev ||
   [ -e "$bus/mdpy" ] || [ -e "$bus/mbochs" ]; then
	ktap_fail "unload" "modules or parents left behind"
else
	ktap_ok "unload"
fi

echo "1..$KTAP_N"
ktap_finish

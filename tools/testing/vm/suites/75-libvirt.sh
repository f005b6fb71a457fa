#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# mdev-timeout: 900
#
# libvirt and mdevctl manage our devices, as OpenStack, oVirt, virt-manager
# and KubeVirt have them do: Debian 12's libvirt 9.0 (libvirtd), mdevctl
# 1.2 and udev, started here (libvirt/lib.sh: writable /etc and /var in
# tmpfs overlays, an mdevctl.d of our own, never the host's), drive the
# mtty parent through virsh:
#
# - nodedev-list --cap mdev_types names it, nodedev-dumpxml shows its
#   types as sysfs does (names, device API, available instances);
# - nodedev-create makes a device that sysfs, mdevctl and libvirt see and
#   that takes its instances from the pool; nodedev-destroy removes it;
# - nodedev-define + nodedev-start + nodedev-autostart: a persistent
#   definition; a simulated reboot (udevd stopped, mtty unloaded and
#   loaded again, udevd started, `udevadm trigger`) brings the autostart
#   device back with its UUID, made by mdevctl's own udev rule, while a
#   defined device without autostart stays down; so does the parent's
#   re-registration under a running udevd, through the rule for its
#   MDEV_STATE=registered uevent (libvirt/lib.sh logs each run of
#   mdevctl with the uevent that caused it);
# - a domain (virsh define + start: TCG, Debian's QEMU and kernel, a
#   busybox initramfs, libvirt/guest-init) with the autostart device as
#   <hostdev type='mdev' model='vfio-pci'>: the guest's 8250_pci binds
#   the card and both ports' loopback works; virsh detach-device unplugs
#   it from the running guest and attach-device plugs it back (loopback
#   again); nodedev-destroy of the device while the guest holds it ends
#   within a bound, refused or unplugged, and libvirt's, sysfs's and the
#   guest's views agree on which; `mdevctl stop`, which asks no one, has
#   the kernel's request make QEMU unplug it, and libvirt follows;
# - bad input: a UUID that exists, a type that does not, a full parent:
#   virsh reports an error and nothing is left in sysfs or mdevctl's
#   definitions.
#
# The virsh commands and what they print are kept as diagnostics, the
# guest's console in $MDEV_SCRATCH/libvirt/, with libvirtd's log and the
# domain's QEMU log.  Stock kernel only, unless MDEV_LIBVIRT_DEBUG=1.
# Tunables: MDEV_LIBVIRT_TIMEOUT (seconds for the guest to get ready,
# default 420), MDEV_E2E_KERNEL (the guest's kernel).

here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/ktap.sh"
. "$here/lib.sh"
. "$here/libvirt/lib.sh"

boot_timeout=${MDEV_LIBVIRT_TIMEOUT:-420}
types=/sys/class/mdev_bus/mtty/mdev_supported_types
total=30

# The debug VM is make check's critical path; this suite would add minutes
# to it for little the stock run does not already cover (the domain part
# is 40-mtty-e2e's path, which runs there).
[ "${MDEV_VM_KERNEL:-}" = stock ] || [ -n "${MDEV_LIBVIRT_DEBUG:-}" ] ||
	ktap_skip_all "stock kernel only (MDEV_LIBVIRT_DEBUG=1: here too)"
for c in virsh libvirtd mdevctl qemu-system-x86_64 /lib/systemd/systemd-udevd; do
	command -v "$c" >/dev/null ||
		ktap_skip_all "$c missing (tools/testing/vm/deps.sh installs it)"
done
guest_kernel=${MDEV_E2E_KERNEL:-$(ls /boot/vmlinuz-6.12.*-amd64 2>/dev/null | sort -V | tail -n 1)}
[ -r "$guest_kernel" ] || ktap_skip_all "no Debian 6.12 kernel for the guest in /boot"
[ -f "$(mdev_ko mtty)" ] || ktap_skip_all "mtty.ko not built"

work=$MDEV_SCRATCH/libvirt
rm -rf "$work"
mkdir -p "$work"
# The guest's files and console on a tmpfs: QEMU reads and writes them
tmp=$(mktemp -d /tmp/75-libvirt.XXXXXX)
glog=$tmp/guest.log
dom=mdev-libvirt
qpid=

cleanup() {
	lv_virsh destroy "$dom" >/dev/null 2>&1
	lv_virsh undefine "$dom" >/dev/null 2>&1
	[ -s "$glog" ] && cp "$glog" "$work/"
	lv_teardown
	rm -rf "$tmp"
}
trap cleanup EXIT

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# v <args>: virsh, its command and output kept as diagnostics (and in
# $out); its status returned
v() {
	local rc

	out=$(lv_virsh "$@" 2>&1)
	rc=$?
	ktap_diag "\$ virsh $* (status $rc)"
	[ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/#   /'
	return $rc
}

# poll <seconds> <command...>: until the command succeeds
poll() {
	local until=$(($(date +%s) + $1))

	shift
	until "$@"; do
		[ "$(date +%s)" -lt "$until" ] || return 1
		sleep 0.5
	done
}

# XML of an mdev with parent $1, type $2, uuid $3
mdev_xml() {
	cat <<-EOF
	<device>
	  <parent>$1</parent>
	  <capability type='mdev'>
	    <type id='$2'/>
	    <uuid>$3</uuid>
	  </capability>
	</device>
	EOF
}

# libvirt's name of the mdev with UUID $1 ("" if it has none)
nodedev_of() {
	lv_virsh nodedev-list --cap mdev --all 2>/dev/null | grep "^mdev_${1//-/_}" | head -n 1
}

# The mdevs in sysfs, and mdevctl's definitions, one line each
sysfs_devs() { ls /sys/bus/mdev/devices 2>/dev/null; }
definitions() { (cd /etc/mdevctl.d && find . -path ./scripts.d -prune -o -type f -print | sort); }

# avail_xml <type>: availableInstances of <type> in the parent's dumpxml
avail_xml() {
	lv_virsh nodedev-dumpxml "$parent" 2>/dev/null |
		awk -v t="$1" '/<type id=/ { cur = ($0 ~ "id=.(" t ").") }
			cur && /availableInstances/ { gsub(/[^0-9]/, ""); print; exit }'
}
avail_sysfs() { cat "$types/$1/available_instances"; }

# mdevctl's runs (libvirt/lib.sh logs them): how many, those after the first $1
calls() { wc -l <"$LV_CALLS" 2>/dev/null || echo 0; }
calls_since() { tail -n +$(($1 + 1)) "$LV_CALLS" 2>/dev/null; }

dev_is() { [ -d "/sys/bus/mdev/devices/$1" ]; }
dev_gone() { [ ! -e "/sys/bus/mdev/devices/$1" ]; }

ktap_plan "$total"

# --- the daemons
mdev_unload_all
ktap_test "load_mtty" mdev_load mtty
t=$(now)
if lv_setup "$work" >"$work/setup.log" 2>&1; then
	ktap_diag "udevd and libvirtd up in $(secs "$t" "$(now)") s ($(virsh --version), $(mdevctl --version))"
	ktap_ok "libvirtd_started"
else
	sed 's/^/# /' "$work/setup.log"
	ktap_fail "libvirtd_started" "lv_setup failed"
	while [ "$KTAP_N" -lt "$total" ]; do ktap_skip "step_$((KTAP_N + 1))" "no libvirtd"; done
	ktap_finish
fi

# --- the parent and its types
v nodedev-list --cap mdev_types
parent=$(printf '%s\n' "$out" | head -n 1)
if [ "$(printf '%s\n' "$out" | grep -c .)" = 1 ] && v nodedev-dumpxml "$parent" &&
   grep -q "<path>$(readlink -f /sys/class/mdev_bus/mtty)</path>" <<<"$out"; then
	ktap_ok "nodedev_list_mdev_types"
else
	ktap_fail "nodedev_list_mdev_types" "want one parent, mtty's: '$parent'"
fi

# Every type of sysfs, as libvirt shows it, and no other
types_match() {
	local xml=$1 t n bad=0 want got

	want=$(ls "$types" | sort | tr '\n' ' ')
	got=$(sed -n "s/.*<type id='\([^']*\)'>.*/\1/p" <<<"$xml" | sort | tr '\n' ' ')
	[ "$want" = "$got" ] || { echo "types: sysfs '$want', libvirt '$got'"; bad=1; }
	for t in $want; do
		n=$(awk -v t="$t" '/<type id=/ { cur = ($0 ~ "id=.(" t ").") }
			cur && /<name>/ { sub(/.*<name>/, ""); sub(/<\/name>.*/, ""); print; exit }' <<<"$xml")
		[ "$n" = "$(cat "$types/$t/name")" ] || { echo "$t: name '$n'"; bad=1; }
		n=$(awk -v t="$t" '/<type id=/ { cur = ($0 ~ "id=.(" t ").") }
			cur && /deviceAPI/ { sub(/.*<deviceAPI>/, ""); sub(/<.*/, ""); print; exit }' <<<"$xml")
		[ "$n" = "$(cat "$types/$t/device_api")" ] || { echo "$t: deviceAPI '$n'"; bad=1; }
		n=$(awk -v t="$t" '/<type id=/ { cur = ($0 ~ "id=.(" t ").") }
			cur && /availableInstances/ { gsub(/[^0-9]/, ""); print; exit }' <<<"$xml")
		[ "$n" = "$(avail_sysfs "$t")" ] || { echo "$t: availableInstances '$n', sysfs $(avail_sysfs "$t")"; bad=1; }
	done
	return $bad
}
if why=$(types_match "$out"); then
	ktap_ok "dumpxml_types_match_sysfs"
else
	ktap_fail "dumpxml_types_match_sysfs" "$why"
fi
a1=$(avail_sysfs mtty-1) a2=$(avail_sysfs mtty-2)

# --- nodedev-create, nodedev-destroy
u1=$(mdev_uuid)
mdev_xml "$parent" mtty-2 "$u1" >"$tmp/u1.xml"
ktap_diag "$(tr -d '\n' <"$tmp/u1.xml" | tr -s ' ')"
if v nodedev-create "$tmp/u1.xml" && dev_is "$u1" &&
   [ "$(basename "$(readlink "/sys/bus/mdev/devices/$u1/mdev_type")")" = mtty-2 ]; then
	ktap_ok "nodedev_create"
else
	ktap_fail "nodedev_create" "no mtty-2 device $u1 in sysfs"
fi
ml=$(mdevctl list 2>&1)
ktap_diag "\$ mdevctl list"
printf '%s\n' "$ml" | sed 's/^/#   /'
if grep -q "^$u1 mtty mtty-2" <<<"$ml"; then
	ktap_ok "mdevctl_lists_created"
else
	ktap_fail "mdevctl_lists_created" "mdevctl list has no '$u1 mtty mtty-2'"
fi
# libvirt learns of the device from udev: give the event its time
poll 20 test -n "$(nodedev_of "$u1")"
n1=$(nodedev_of "$u1")
# One mtty-2 device takes two of the card's ports: one mtty-2 instance,
# two mtty-1 instances, in sysfs and in what libvirt shows
if [ -n "$n1" ] && v nodedev-dumpxml "$n1" && grep -q "<uuid>$u1</uuid>" <<<"$out" &&
   grep -q "<type id='mtty-2'/>" <<<"$out" &&
   [ "$(avail_xml mtty-2)" = $((a2 - 1)) ] && [ "$(avail_sysfs mtty-2)" = $((a2 - 1)) ] &&
   [ "$(avail_xml mtty-1)" = $((a1 - 2)) ] && [ "$(avail_sysfs mtty-1)" = $((a1 - 2)) ]; then
	ktap_ok "nodedev_shows_created"
else
	ktap_fail "nodedev_shows_created" "name '$n1'; available mtty-1 $(avail_xml mtty-1)/$(avail_sysfs mtty-1), mtty-2 $(avail_xml mtty-2)/$(avail_sysfs mtty-2) (libvirt/sysfs), want $((a1 - 2)), $((a2 - 1))"
fi
gone_everywhere() {
	dev_gone "$1" && ! grep -q "^$1" <<<"$(mdevctl list 2>/dev/null)" &&
		[ -z "$(nodedev_of "$1")" ]
}
if v nodedev-destroy "$n1" && poll 20 gone_everywhere "$u1" &&
   [ "$(avail_xml mtty-2)" = "$a2" ] && [ "$(avail_xml mtty-1)" = "$a1" ]; then
	ktap_ok "nodedev_destroy"
else
	ktap_fail "nodedev_destroy" "device in sysfs: $(dev_is "$u1" && echo yes || echo no), in libvirt: '$(nodedev_of "$u1")', available $(avail_xml mtty-1) $(avail_xml mtty-2)"
fi

# --- persistent definitions: define, start, autostart
u2=$(mdev_uuid)	# autostart: the domain's device, later
u3=$(mdev_uuid)	# defined and started, no autostart
mdev_xml "$parent" mtty-2 "$u2" >"$tmp/u2.xml"
mdev_xml "$parent" mtty-1 "$u3" >"$tmp/u3.xml"
if v nodedev-define "$tmp/u2.xml" && v nodedev-define "$tmp/u3.xml" &&
   [ -f "/etc/mdevctl.d/mtty/$u2" ] && [ -f "/etc/mdevctl.d/mtty/$u3" ] &&
   dev_gone "$u2" && dev_gone "$u3"; then
	ktap_ok "nodedev_define"
else
	ktap_fail "nodedev_define" "definitions: $(definitions | tr '\n' ' ')"
fi
poll 20 test -n "$(nodedev_of "$u2")" && poll 20 test -n "$(nodedev_of "$u3")"
n2=$(nodedev_of "$u2") n3=$(nodedev_of "$u3")
if [ -n "$n2" ] && [ -n "$n3" ] && v nodedev-start "$n2" && v nodedev-start "$n3" &&
   dev_is "$u2" && dev_is "$u3"; then
	ktap_ok "nodedev_start"
else
	ktap_fail "nodedev_start" "names '$n2' '$n3'; in sysfs: $(sysfs_devs | tr '\n' ' ')"
fi
v nodedev-autostart "$n2"
ml=$(mdevctl list --defined 2>&1)
ktap_diag "\$ mdevctl list --defined"
printf '%s\n' "$ml" | sed 's/^/#   /'
ktap_diag "/etc/mdevctl.d/mtty/$u2: $(tr -d '\n' <"/etc/mdevctl.d/mtty/$u2" | tr -s ' ')"
if grep -q "^$u2 mtty mtty-2 auto" <<<"$ml" && grep -q "^$u3 mtty mtty-1 manual" <<<"$ml" &&
   v nodedev-info "$n2" && grep -q '^Autostart: *yes' <<<"$out"; then
	ktap_ok "nodedev_autostart"
else
	ktap_fail "nodedev_autostart" "want $u2 auto, $u3 manual"
fi

# --- a simulated reboot: udevd stops, the devices go with the parent,
# the parent comes back before udevd does (as at boot, the module loaded
# early), then udevd's coldplug (udevadm trigger: an add uevent for the
# parent) runs mdevctl's rule, which starts the autostart device.
udevadm settle -t 30
udevadm control --exit
LV_UDEVD=0
mdev_unload mtty
if dev_gone "$u2" && dev_gone "$u3" && [ -z "$(sysfs_devs)" ] &&
   mdev_load mtty && sleep 2 && [ -z "$(sysfs_devs)" ]; then
	ktap_diag "mtty loaded again, udevd down: in sysfs: '$(sysfs_devs)'; definitions:" $(definitions)
	ktap_ok "reboot_devices_down"
else
	ktap_fail "reboot_devices_down" "in sysfs before udev ran: $(sysfs_devs | tr '\n' ' ')"
fi
ncalls=$(calls)
t=$(now)
/lib/systemd/systemd-udevd --daemon >>"$work/setup.log" 2>&1 && LV_UDEVD=1
udevadm control --ping -t 30
udevadm trigger --action=add
udevadm settle -t 120
ktap_diag "udevd, coldplug and settle: $(secs "$t" "$(now)") s; in sysfs: $(sysfs_devs | tr '\n' ' ')"
new=$(calls_since "$ncalls")
ktap_diag "mdevctl run since udevd started (uptime, the uevent, the command):"
printf '%s\n' "$new" | sed 's/^/#   /'
if dev_is "$u2" &&
   [ "$(basename "$(readlink "/sys/bus/mdev/devices/$u2/mdev_type")")" = mtty-2 ] &&
   grep -q "ACTION=add MDEV_STATE= mdevctl start-parent-mdevs mtty$" <<<"$new"; then
	ktap_diag "\$ mdevctl list"
	mdevctl list 2>&1 | sed 's/^/#   /'
	ktap_ok "autostart_after_reboot"
else
	ktap_fail "autostart_after_reboot" "no $u2 after the coldplug, or not by the rule for an add uevent"
fi
if dev_gone "$u3" && [ "$(sysfs_devs)" = "$u2" ]; then
	ktap_ok "manual_stays_down"
else
	ktap_fail "manual_stays_down" "in sysfs: $(sysfs_devs | tr '\n' ' ')"
fi
# libvirt, which ran all along, sees it active again
dev_active() { lv_virsh nodedev-info "$1" 2>/dev/null | grep -q '^Active: *yes'; }
if poll 20 dev_active "$n2" && v nodedev-info "$n2"; then
	ktap_ok "libvirt_sees_autostarted"
else
	v nodedev-info "$n2"
	ktap_fail "libvirt_sees_autostarted" "$n2 not active in libvirt"
fi

# The parent re-registers while udevd runs: its MDEV_STATE=registered
# change uevent alone must bring the device back (mdevctl's first rule)
ncalls=$(calls)
mdev_unload mtty
mdev_load mtty
# (the device add uevent, before it, runs the other rule as well)
by_change() {
	calls_since "$ncalls" |
		grep -q "ACTION=change MDEV_STATE=registered mdevctl start-parent-mdevs mtty$"
}
ok=0
poll 30 dev_is "$u2" && poll 30 by_change && dev_gone "$u3" && ok=1
ktap_diag "mdevctl run since mtty was reloaded:"
calls_since "$ncalls" | sed 's/^/#   /'
if [ "$ok" = 1 ]; then
	ktap_ok "autostart_on_reregister"
else
	ktap_fail "autostart_on_reregister" "no MDEV_STATE=registered run of the rule, or in sysfs: $(sysfs_devs | tr '\n' ' ')"
fi
poll 20 dev_active "$n2"

# --- a domain with the autostart device
guest_release=${guest_kernel##*/vmlinuz-}
t=$(now)
if vmlinux=$("$here/e2e/guest-vmlinux.sh" "$guest_kernel" "$tmp") &&
   base=$("$here/e2e/build-guest-initramfs.sh" "$work/cache") &&
   stage=$(mktemp -d "$tmp/init.XXXXXX") && cp "$here/libvirt/guest-init" "$stage/init" &&
   chmod 0755 "$stage/init" &&
   (cd "$stage" && echo init | cpio -o -H newc --owner=0:0 --quiet) >"$tmp/init.cpio" &&
   cat "$base" "$tmp/init.cpio" >"$tmp/initrd.cpio"; then
	ktap_diag "guest: $guest_release, initramfs $base with libvirt/guest-init ($(secs "$t" "$(now)") s)"
	ktap_ok "guest_initramfs"
else
	ktap_fail "guest_initramfs" "vmlinux or initramfs missing"
fi

hostdev="<hostdev mode='subsystem' type='mdev' model='vfio-pci'><source><address uuid='$u2'/></source></hostdev>"
echo "$hostdev" >"$tmp/hostdev.xml"
: >"$glog"
# q35 (see 40-mtty-e2e.sh), PVH boot of the unpacked kernel with qboot,
# no CMPXCHG16B (TCG in TCG), spare PCIe root ports for the plug back.
cat >"$tmp/domain.xml" <<EOF
<domain type='qemu'>
  <name>$dom</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    <loader readonly='yes' type='rom'>/usr/share/qemu/qboot.rom</loader>
    <kernel>$vmlinux</kernel>
    <initrd>$tmp/initrd.cpio</initrd>
    <cmdline>console=ttyS0 quiet panic=-1 mitigations=off cryptomgr.notests no_timer_check</cmdline>
  </os>
  <features><acpi/><apic/></features>
  <cpu mode='maximum' check='none'>
    <feature policy='disable' name='cx16'/>
  </cpu>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>$(command -v qemu-system-x86_64)</emulator>
    <controller type='usb' model='none'/>
    <controller type='pci' model='pcie-root'/>
    <controller type='pci' model='pcie-root-port'/>
    <controller type='pci' model='pcie-root-port'/>
    <controller type='pci' model='pcie-root-port'/>
    <serial type='file'>
      <source path='$glog'/>
      <target port='0'/>
    </serial>
    $hostdev
    <memballoon model='none'/>
  </devices>
</domain>
EOF
if v define "$tmp/domain.xml"; then
	ktap_ok "domain_define"
else
	ktap_fail "domain_define"
fi
t_start=$(now)
if v start "$dom"; then
	ktap_ok "domain_start"
else
	ktap_fail "domain_start"
	tail -n 20 "/var/log/libvirt/qemu/$dom.log" 2>/dev/null | sed 's/^/# qemu log: /'
fi
qpid=$(cat "/run/libvirt/qemu/$dom.pid" 2>/dev/null)
ktap_diag "QEMU pid ${qpid:-?}: $(tr '\0' ' ' <"/proc/$qpid/cmdline" 2>/dev/null | grep -o -- '-device [^ ]*vfio-pci[^ ]*')"

# guest_val <line> <key>: the value of <key> on the guest's last
# "LIBVIRT-GUEST <line>..." line
guest_val() {
	grep -a "^LIBVIRT-GUEST $1" "$glog" | tail -n 1 | tr -d '\r' |
		sed -n "s/.*[ ]$2=\([^ ]*\).*/\1/p"
}
# wait_guest <pattern> <seconds>: the guest printed it, or QEMU is gone
wait_guest() {
	local until=$(($(date +%s) + $2))

	while [ "$(date +%s)" -lt "$until" ]; do
		grep -aq "$1" "$glog" && return 0
		lv_virsh domstate "$dom" 2>/dev/null | grep -q running ||
			{ grep -aq "$1" "$glog"; return; }
		sleep 1
	done
	return 1
}
show_guest() {
	sed -n 's/\r//; /^LIBVIRT-GUEST/p' "$glog" | sed -n "$1,\$p" |
		while IFS= read -r l; do ktap_diag "guest: $l"; done
}
# phase_ok <n>: the card, 8250_pci on it, every port's loopback
phase_ok() {
	local ttys t

	[ "$(guest_val "card phase=$1" driver)" = serial ] || return 1
	ttys=$(guest_val "card phase=$1" ttys | tr , ' ')
	[ "$(wc -w <<<"$ttys")" = 2 ] || return 1
	for t in $ttys; do
		[ "$(guest_val "loopback phase=$1 tty=$t" result)" = ok ] || return 1
	done
}
hostdev_in_domain() { lv_virsh dumpxml "$dom" 2>/dev/null | grep -q "uuid='$u2'"; }

wait_guest "^LIBVIRT-GUEST ready phase=1" "$boot_timeout"
ktap_diag "guest up and tested in $(secs "$t_start" "$(now)") s"
show_guest 1
if phase_ok 1; then
	ktap_ok "guest_8250_loopback"
else
	ktap_fail "guest_8250_loopback" "the guest's card, driver or loopback (phase 1)"
	tail -n 20 "/var/log/libvirt/qemu/$dom.log" 2>/dev/null | sed 's/^/# qemu log: /'
fi

# detach-device: libvirt asks QEMU to unplug, the guest lets go
seen=$(grep -ac '^LIBVIRT-GUEST' "$glog")
t=$(now)
if grep -aq "^LIBVIRT-GUEST ready phase=1" "$glog" &&
   v detach-device "$dom" "$tmp/hostdev.xml" && poll 120 test -z "$(hostdev_in_domain && echo y)" &&
   wait_guest "^LIBVIRT-GUEST unplug phase=1" 60 &&
   [ "$(guest_val "unplug phase=1" result)" = seen ] && dev_is "$u2"; then
	ktap_diag "detached in $(secs "$t" "$(now)") s"
	ktap_ok "detach_device"
else
	ktap_fail "detach_device" "in the domain: $(hostdev_in_domain && echo yes || echo no), guest: $(guest_val "unplug phase=1" result)"
fi
show_guest $((seen + 1))

# attach-device: back into the running guest, which binds and tests it
seen=$(grep -ac '^LIBVIRT-GUEST' "$glog")
t=$(now)
if grep -aq "^LIBVIRT-GUEST unplug phase=1 result=seen" "$glog" &&
   v attach-device "$dom" "$tmp/hostdev.xml" && hostdev_in_domain &&
   wait_guest "^LIBVIRT-GUEST ready phase=2" 180 && phase_ok 2; then
	ktap_diag "attached and tested in $(secs "$t" "$(now)") s"
	ktap_ok "attach_device"
else
	ktap_fail "attach_device" "in the domain: $(hostdev_in_domain && echo yes || echo no), guest phase 2: $(guest_val "card phase=2" driver)"
fi
show_guest $((seen + 1))

# nodedev-destroy while the guest holds the device: refused, or the
# device unplugged from the guest and removed; within a bound either way
seen=$(grep -ac '^LIBVIRT-GUEST' "$glog")
t=$(now)
if grep -aq "^LIBVIRT-GUEST ready phase=2" "$glog"; then
	ktap_diag "\$ virsh nodedev-destroy $n2 (while $dom holds it)"
	out=$(timeout 180 virsh -q nodedev-destroy "$n2" 2>&1)
	rc=$?
	ktap_diag "  status $rc after $(secs "$t" "$(now)") s"
	[ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/#   /'
	if [ "$rc" = 124 ]; then
		ktap_fail "destroy_held" "nodedev-destroy still running after 180 s"
	elif [ "$rc" = 0 ] && poll 60 dev_gone "$u2" &&
	     poll 60 test -z "$(hostdev_in_domain && echo y)" &&
	     wait_guest "^LIBVIRT-GUEST unplug phase=2" 60 &&
	     [ "$(guest_val "unplug phase=2" result)" = seen ]; then
		ktap_diag "destroyed: unplugged from the guest and removed"
		ktap_ok "destroy_held"
	elif [ "$rc" != 0 ] && dev_is "$u2" && hostdev_in_domain &&
	     ! grep -aq "^LIBVIRT-GUEST unplug phase=2" "$glog"; then
		ktap_diag "refused: the device stays with the guest"
		ktap_ok "destroy_held"
	else
		ktap_fail "destroy_held" "status $rc; in sysfs: $(dev_is "$u2" && echo yes || echo no), in the domain: $(hostdev_in_domain && echo yes || echo no), guest: $(guest_val "unplug phase=2" result)"
	fi
else
	ktap_fail "destroy_held" "the guest never got the device back"
fi
show_guest $((seen + 1))

# mdevctl asks no one: its stop of the held device is the kernel's remove,
# whose request to QEMU (VFIO's request interrupt) has QEMU unplug it from
# the guest; libvirt follows QEMU's DEVICE_DELETED event.
seen=$(grep -ac '^LIBVIRT-GUEST' "$glog")
dev_inactive() { ! dev_active "$1"; }
if ! grep -aq "^LIBVIRT-GUEST ready phase=2" "$glog"; then
	# A guest that cannot answer would hold the removal until the
	# domain is destroyed
	ktap_fail "mdevctl_stop_held" "the guest never got the device back"
elif dev_is "$u2" && hostdev_in_domain; then
	t=$(now)
	ktap_diag "\$ mdevctl stop -u $u2 (while $dom holds it)"
	out=$(timeout 180 mdevctl stop -u "$u2" 2>&1)
	rc=$?
	ktap_diag "  status $rc after $(secs "$t" "$(now)") s"
	[ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/#   /'
	if [ "$rc" = 124 ]; then
		ktap_fail "mdevctl_stop_held" "mdevctl stop still running after 180 s"
	elif [ "$rc" = 0 ] && dev_gone "$u2" &&
	     poll 60 test -z "$(hostdev_in_domain && echo y)" &&
	     wait_guest "^LIBVIRT-GUEST unplug phase=2" 60 &&
	     [ "$(guest_val "unplug phase=2" result)" = seen ] &&
	     poll 20 dev_inactive "$n2"; then
		ktap_diag "removed in $(secs "$t" "$(now)") s, unplugged from the guest"
		ktap_ok "mdevctl_stop_held"
	else
		ktap_fail "mdevctl_stop_held" "status $rc; in sysfs: $(dev_is "$u2" && echo yes || echo no), in the domain: $(hostdev_in_domain && echo yes || echo no), guest: $(guest_val "unplug phase=2" result)"
	fi
else
	ktap_skip "mdevctl_stop_held" "nodedev-destroy took the device from the guest already"
fi
show_guest $((seen + 1))
wait_guest "^LIBVIRT-GUEST done" 30
ktap_diag "domain run: $(secs "$t_start" "$(now)") s"

# The guest powers off (on_poweroff: destroy) or is destroyed, and goes
poll 30 test "$(lv_virsh domstate "$dom" 2>/dev/null)" = "shut off" ||
	v destroy "$dom"
if v undefine "$dom" && [ -z "$(lv_virsh list --all --name 2>/dev/null)" ] &&
   { [ -z "$qpid" ] || ! kill -0 "$qpid" 2>/dev/null; }; then
	ktap_ok "domain_gone"
else
	ktap_fail "domain_gone" "domain or QEMU left"
fi
# The device, if the domain had it refused, then its definitions
[ -n "$(sysfs_devs)" ] && v nodedev-destroy "$n2"
v nodedev-undefine "$n2"
v nodedev-undefine "$n3"
if poll 20 test -z "$(sysfs_devs)$(definitions)"; then
	ktap_ok "nodedev_undefine"
else
	ktap_fail "nodedev_undefine" "left: $(sysfs_devs) $(definitions)"
fi

# --- bad input: an error from virsh, nothing left behind
# bad <name> <xml file> <sysfs devices expected after>
bad() {
	local before_defs

	before_defs=$(definitions)
	if v nodedev-create "$2"; then
		ktap_fail "$1" "nodedev-create succeeded"
	elif ! grep -q '^error:' <<<"$out"; then
		ktap_fail "$1" "no error reported"
	elif [ "$(sysfs_devs | sort)" != "$(sort <<<"$3")" ] || [ "$(definitions)" != "$before_defs" ]; then
		ktap_fail "$1" "left behind: sysfs '$(sysfs_devs | tr '\n' ' ')', definitions '$(definitions | tr '\n' ' ')'"
	else
		ktap_ok "$1"
	fi
}
u4=$(mdev_uuid)
mdev_xml "$parent" mtty-1 "$u4" >"$tmp/u4.xml"
v nodedev-create "$tmp/u4.xml"
poll 20 test -n "$(nodedev_of "$u4")"
bad "bad_existing_uuid" "$tmp/u4.xml" "$u4"
mdev_xml "$parent" mtty-9 "$(mdev_uuid)" >"$tmp/u5.xml"
bad "bad_unknown_type" "$tmp/u5.xml" "$u4"
# Fill the card through sysfs (22 ports left: 11 dual-port devices)
fill=$u4
while [ "$(avail_sysfs mtty-2)" -gt 0 ]; do
	u=$(mdev_uuid)
	echo "$u" >"$types/mtty-2/create" || break
	fill+=$'\n'"$u"
done
mdev_xml "$parent" mtty-2 "$(mdev_uuid)" >"$tmp/u6.xml"
ktap_diag "parent full: available mtty-1 $(avail_sysfs mtty-1), mtty-2 $(avail_sysfs mtty-2), libvirt $(avail_xml mtty-2)"
bad "bad_full_parent" "$tmp/u6.xml" "$fill"
for u in $(sysfs_devs); do
	echo 1 >"/sys/bus/mdev/devices/$u/remove"
done

# --- all gone: devices, definitions, the daemons, the module
cleanup
trap - EXIT
if [ -z "$(sysfs_devs)" ] && [ "$(avail_sysfs mtty-2)" = "$a2" ] &&
   ! mount | grep -q mdev-libvirt && mdev_unload mtty; then
	ktap_ok "cleanup"
else
	ktap_fail "cleanup" "left: $(sysfs_devs | tr '\n' ' '); $(mount | grep -c mdev-libvirt) mounts"
fi

ktap_finish

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A private udev, mdevctl and libvirt inside the rig's VM, for
# suites/75-libvirt.sh.  Source it (after ../lib.sh); then
#
#   lv_setup <dir>     writable /etc, /var and /usr/sbin (overlays with
#                      tmpfs upper dirs: the VM's root is the host's,
#                      read-only over 9p), an empty /etc/mdevctl.d of our
#                      own, systemd-udevd with a coldplug, libvirtd
#   lv_teardown        stops what lv_setup started and unmounts it all
#   lv_virsh args...   virsh on qemu:///system
#
# Nothing of the host's is used but its programs and read-only files:
# mdevctl's definitions, libvirt's state and logs all live in the tmpfs
# upper dirs and are gone with the VM.  libvirtd's log, the domain's QEMU
# log and $LV_CALLS (every run of mdevctl, with the uevent that caused
# it, if any) are copied to <dir> by lv_teardown.
#
# No systemd runs in the VM, so each daemon is started by hand, the way
# its unit would: systemd-udevd --daemon, then libvirtd --daemon (the
# monolithic daemon: Debian 12's libvirt-daemon has no split daemons).
# virtlogd is not needed: qemu.conf has QEMU's stdio go to a plain file.

LV_BASE=/run/mdev-libvirt
LV_MOUNTS=()
LV_UDEVD=0
LV_DIR=
LV_CALLS=$LV_BASE/mdevctl-calls
export LIBVIRT_DEFAULT_URI=qemu:///system

lv_virsh() {
	virsh -q -c qemu:///system "$@"
}

# lv_overlay <dir>: make <dir> writable, changes kept in a tmpfs
lv_overlay() {
	local d=$1 name=${1//\//_}

	mkdir -p "$LV_BASE/$name/upper" "$LV_BASE/$name/work" || return
	mount -t overlay "overlay$name" -o \
		"lowerdir=$d,upperdir=$LV_BASE/$name/upper,workdir=$LV_BASE/$name/work" \
		"$d" || return
	LV_MOUNTS=("$d" "${LV_MOUNTS[@]}")
}

lv_write_config() {
	mkdir -p /etc/libvirt /var/log/libvirt/qemu /var/lib/libvirt /var/cache/libvirt
	# Local clients only, no polkit (no D-Bus in the VM); warnings and
	# errors logged, for the record.
	cat >/etc/libvirt/libvirtd.conf <<-EOF
	auth_unix_ro = "none"
	auth_unix_rw = "none"
	log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
	EOF
	# QEMU as root, with no private /dev or cgroups (none are mounted in
	# the VM), no relabelling of the files it is given (the kernel is
	# on the read-only 9p root) and its stdio in a file (no virtlogd).
	cat >/etc/libvirt/qemu.conf <<-EOF
	user = "root"
	group = "root"
	dynamic_ownership = 0
	remember_owner = 0
	security_driver = "none"
	namespaces = [ ]
	cgroup_controllers = [ ]
	stdio_handler = "file"
	EOF
}

# lv_setup <dir>
lv_setup() {
	local d i

	LV_DIR=$1
	mkdir -p "$LV_DIR" "$LV_BASE" || return
	mount -t tmpfs -o mode=0755 mdev-libvirt "$LV_BASE" || return
	LV_MOUNTS=("$LV_BASE")
	for d in /etc /var /usr/sbin; do
		lv_overlay "$d" || { echo "cannot overlay $d" >&2; return 1; }
	done
	# mdevctl's definitions: ours alone, not the host's (whose /etc the
	# overlay shows).
	mount -t tmpfs -o mode=0755 mdevctl.d /etc/mdevctl.d || return
	LV_MOUNTS=(/etc/mdevctl.d "${LV_MOUNTS[@]}")
	mkdir -p /etc/mdevctl.d/scripts.d/callouts /etc/mdevctl.d/scripts.d/notifiers
	# Debian's mdevctl 1.2.0-3 installs /usr/bin/mdevctl but its udev rule
	# (60-mdevctl.rules) runs /usr/sbin/mdevctl, as upstream's rule does.
	# /usr/sbin/mdevctl here runs /usr/bin/mdevctl, so that the rule
	# works as shipped, unchanged, and first logs each call to
	# $LV_CALLS with the uevent it came from (RUN programs get the
	# event's properties): which rule started a device, and what libvirt
	# asked of mdevctl (it finds /usr/sbin first in $PATH too).
	if [ ! -e /usr/sbin/mdevctl ]; then
		cat >/usr/sbin/mdevctl <<-EOF
		#!/bin/sh
		echo "\$(cut -d' ' -f1 /proc/uptime) ACTION=\${ACTION:-} MDEV_STATE=\${MDEV_STATE:-} mdevctl \$*" >>$LV_CALLS
		exec /usr/bin/mdevctl "\$@"
		EOF
		chmod 0755 /usr/sbin/mdevctl || return
	fi
	lv_write_config
	# Debian's libvirt looks its default QEMU user up before it reads
	# qemu.conf; libvirt-daemon-system's postinst (not installed) would
	# create it.
	getent passwd libvirt-qemu >/dev/null ||
		useradd -r -U -d /var/lib/libvirt -s /usr/sbin/nologin libvirt-qemu ||
		return

	if ! udevadm control --ping 2>/dev/null; then
		mkdir -p /run/udev
		/lib/systemd/systemd-udevd --daemon || return
		LV_UDEVD=1
		udevadm control --ping -t 30 || return
	fi
	udevadm trigger --action=add || return
	udevadm settle -t 120 || echo "udevadm settle timed out" >&2

	libvirtd --daemon || return
	for i in $(seq 120); do
		lv_virsh version >/dev/null 2>&1 && return 0
		sleep 0.5
	done
	echo "libvirtd does not answer" >&2
	return 1
}

lv_teardown() {
	local p m i

	if [ -s /run/libvirtd.pid ]; then
		p=$(cat /run/libvirtd.pid)
		kill "$p" 2>/dev/null
		for i in $(seq 60); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.5
		done
		kill -0 "$p" 2>/dev/null && kill -KILL "$p"
	fi
	if [ "$LV_UDEVD" = 1 ]; then
		udevadm settle -t 30
		udevadm control --exit
		LV_UDEVD=0
	fi
	if [ -n "$LV_DIR" ]; then
		cp /var/log/libvirt/libvirtd.log "$LV_DIR/" 2>/dev/null
		cp -r /var/log/libvirt/qemu "$LV_DIR/" 2>/dev/null
		cp "$LV_CALLS" "$LV_DIR/" 2>/dev/null
	fi
	for m in "${LV_MOUNTS[@]}"; do
		umount "$m" 2>/dev/null || umount -l "$m"
	done
	LV_MOUNTS=()
}

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Stage 2 of the rig's guest, PID 1 in the new root (the host's root over
# 9p, read-only).  run-vm.sh copies it to <scratch>/.rig/ with:
#   env   variables for the command (MDEV_*), sourced here
#   cmd   the command, a bash script run in the repo directory
# and reads back:
#   status       the command's exit status
#   dmesg.txt    the kernel log at the end of the run
#   kmemleak.txt kmemleak's report (debug kernel)
#
# The mounts are done by the initramfs (initramfs-init).  Never exits: it
# powers the VM off (an exiting PID 1 would panic).

set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TERM=${TERM:-dumb} LANG=C.UTF-8
rig=/scratch/.rig

# shellcheck source=/dev/null
. "$rig/env"

poweroff() {
	sync
	busybox poweroff -f
	sleep 10
	busybox reboot -f
}

read -r uptime _ </proc/uptime
read -r krel </proc/sys/kernel/osrelease
echo "mdev-rig: $krel booted in ${uptime}s; running the command in $MDEV_REPO"
echo "mdev-rig: command start" >/dev/kmsg

cd "$MDEV_REPO" || { echo 127 >"$rig/status"; poweroff; }
bash "$rig/cmd" </dev/null
status=$?
cd /
echo "mdev-rig: command end, status $status" >/dev/kmsg
echo "$status" >"$rig/status"

# kmemleak needs two scans, some seconds apart, to report an object.
if [ -w /sys/kernel/debug/kmemleak ]; then
	echo "mdev-rig: kmemleak scan at $(cut -d" " -f1 /proc/uptime)s"
	echo scan >/sys/kernel/debug/kmemleak
	sleep 5
	echo scan >/sys/kernel/debug/kmemleak
	cat /sys/kernel/debug/kmemleak >"$rig/kmemleak.txt"
	if [ -s "$rig/kmemleak.txt" ]; then
		echo "mdev-rig: kmemleak report:"
		cat "$rig/kmemleak.txt"
	else
		echo "mdev-rig: kmemleak: no leaks"
	fi
fi

dmesg >"$rig/dmesg.txt"
echo "mdev-rig: command exited with status $status"
echo "done" >"$rig/done"
poweroff

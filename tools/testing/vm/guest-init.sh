#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Stage 2 of the rig's guest, PID 1 in the new root (the host's root over
# 9p, read-only).  run-vm.sh copies it to <scratch>/.rig/ with:
#   env   variables for the command (MDEV_*), sourced here
#   cmd   the command, a bash script run in the repo directory
# and reads back:
#   status            the command's exit status
#   kmsg.txt          the kernel log at the end of the run: the raw
#                     /dev/kmsg records, with their sequence numbers and
#                     callers (kmsg.err: what reading them printed)
#   kmemleak.txt      kmemleak's report (debug kernel)
#   kmemleak-scanned  written once kmemleak has scanned twice and its report
#                     was read; on the debug kernel a run without it fails
# The command may write abort (the reason it ended the run early, e.g. a
# suite timeout): then there is no kmemleak scan.
#
# The mounts are done by the initramfs (initramfs-init).  Never exits: it
# powers the VM off (an exiting PID 1 would panic).

set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TERM=${TERM:-dumb} LANG=C.UTF-8
rig=/scratch/.rig

# shellcheck source=/dev/null
. "$rig/env"

# A task blocked in a driver can hold a device lock that a clean power off
# (device_shutdown()) waits for: then restart at once, without shutting
# devices down (sysrq b; QEMU runs with -no-reboot, so that ends the VM).
poweroff() {
	sync
	busybox poweroff -f &
	sleep 10 2>/dev/null	# (the root may be gone before it runs)
	echo "mdev-rig: power off stuck; emergency restart"
	echo b >/proc/sysrq-trigger
	sleep 5
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

# kmemleak needs two scans, some seconds apart, to report an object.  On
# the debug kernel a scan that cannot be made fails the run (no
# kmemleak-scanned): a leak must not pass because debugfs was missing.
kl=/sys/kernel/debug/kmemleak
if [ -s "$rig/abort" ]; then
	echo "mdev-rig: no kmemleak scan: the run was ended early ($(head -n1 "$rig/abort"))"
elif [ "$MDEV_VM_KERNEL" = debug ] || [ -e "$kl" ]; then
	echo "mdev-rig: kmemleak scan at $(cut -d" " -f1 /proc/uptime)s"
	if echo scan >"$kl" && sleep 5 && echo scan >"$kl" &&
	   cat "$kl" >"$rig/kmemleak.txt"; then
		echo "scanned twice at the end of the run" >"$rig/kmemleak-scanned"
		if [ -s "$rig/kmemleak.txt" ]; then
			echo "mdev-rig: kmemleak report:"
			cat "$rig/kmemleak.txt"
		else
			echo "mdev-rig: kmemleak: no leaks"
		fi
	else
		echo "mdev-rig: kmemleak: cannot scan ($kl: debugfs not mounted, or kmemleak off?)"
	fi
fi

# The whole kernel log, record by record from its first (dd reads one
# record per read(2) and stops at the end, with EAGAIN), through a tmpfs:
# one 9p write per record would take minutes.
dd if=/dev/kmsg iflag=nonblock bs=64k of=/tmp/kmsg.txt status=none 2>"$rig/kmsg.err"
cp /tmp/kmsg.txt "$rig/kmsg.txt"
echo "mdev-rig: command exited with status $status"
echo "done" >"$rig/done"
poweroff

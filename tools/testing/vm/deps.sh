#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Cheap dependency check for the top-level Makefile: runs
# scripts/install-deps.sh only when something the build or the rig needs is
# missing, and records the stock kernel release it chose in .krel.
# Prints that release.

set -euo pipefail

top=$(cd "$(dirname "$0")/../../.." && pwd)
stamp=$top/.krel

ok() {
	local rel c st
	[ -s "$stamp" ] && [ "$stamp" -nt "$top/scripts/install-deps.sh" ] || return 1
	rel=$(cat "$stamp")
	[ -f "/lib/modules/$rel/build/Makefile" ] && [ -f "/lib/modules/$rel/modules.dep" ] &&
		[ -r "/boot/vmlinuz-$rel" ] && [ -f /usr/src/linux-source-6.12.tar.xz ] || return 1
	for c in gcc make bc bison flex cpio rsync xz depmod qemu-system-x86_64 busybox mdevctl \
		 sparse dkms s390x-linux-gnu-gcc virsh libvirtd sphinx-build dot; do
		command -v "$c" >/dev/null || return 1
	done
	st=$(dpkg-query -W -f='${Status}\n' linux-source-6.12 busybox-static \
		qemu-system-x86 libelf-dev libssl-dev udev \
		libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients \
		python3-sphinx python3-yaml 2>/dev/null) || return 1
	grep -vq 'install ok installed' <<<"$st" && return 1
	return 0
}

if ! ok; then
	echo "deps: first run or something missing: running scripts/install-deps.sh" >&2
	rel=$("$top/scripts/install-deps.sh" | tail -n1)
	[ -n "$rel" ] && [ -f "/lib/modules/$rel/build/Makefile" ] ||
		{ echo "deps: install-deps.sh did not give a usable kernel release ($rel)" >&2; exit 1; }
	echo "$rel" >"$stamp"
fi
# QEMU 10 beside Debian's 7.2, for the suites that need migration v2 and
# iommufd: qemu10.sh is a no-op once its prefix holds it.
"$top/tools/testing/vm/qemu10.sh" >/dev/null
cat "$stamp"

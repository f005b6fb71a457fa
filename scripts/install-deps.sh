#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install every Debian package the build and test rig needs.  The 6.12
# kernel packages are resolved at run time to the newest ABI that apt offers
# with both an unsigned image and matching headers; nothing is pinned.
#
# Prints the chosen kernel release on stdout (last line) so callers can
# record it.  Safe to run repeatedly: it only installs what is missing.

set -euo pipefail

[ "$(id -u)" = 0 ] || { echo "install-deps: must run as root" >&2; exit 1; }

export DEBIAN_FRONTEND=noninteractive

tools=(
	build-essential bc bison flex cpio kmod xz-utils rsync
	libelf-dev libssl-dev dwarves sparse python3
	qemu-system-x86 busybox-static mdevctl
	gcc-s390x-linux-gnu gnuplot-nox dkms udev
	libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients
	# make htmldocs (35-htmldocs): Documentation/sphinx/requirements.txt
	# (Sphinx, alabaster, pyyaml) and dot(1), without which kfigure warns
	python3-sphinx python3-yaml graphviz
)

need_update=1
apt_update() {
	if [ "$need_update" = 1 ]; then
		echo "install-deps: apt-get update" >&2
		apt-get update -qq >&2
		need_update=0
	fi
}

# Newest 6.12 ABI (e.g. 6.12.117+deb12) with both an unsigned image and headers.
newest_abi() {
	apt-cache search --names-only '^linux-image-6\.12\.[0-9]+.*-amd64-unsigned$' |
		awk '{print $1}' | grep -v -e '-cloud-' -e '-rt-' |
		sed -e 's/^linux-image-//' -e 's/-amd64-unsigned$//' | sort -V -r |
		while read -r abi; do
			if apt-cache show "linux-headers-$abi-amd64" >/dev/null 2>&1; then
				echo "$abi"
				break
			fi
		done
}

abi=$(newest_abi || true)
if [ -z "$abi" ]; then
	apt_update
	abi=$(newest_abi)
fi
[ -n "$abi" ] || { echo "install-deps: no 6.12 kernel in apt" >&2; exit 1; }

pkgs=("${tools[@]}" linux-source-6.12 "linux-headers-$abi-amd64"
      "linux-image-$abi-amd64-unsigned")

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
	apt_update
	echo "install-deps: installing ${missing[*]}" >&2
	# The image package's postinst would try to build an initramfs and
	# update a boot loader: this machine never boots it, QEMU does.
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

echo "$abi-amd64"

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The in-tree users of <linux/mdev.h> compile unchanged against ours, in a
# linux-source-6.12 tree with our subsystem overlaid:
#
#   x86_64  i915 GVT-g: gvt/kvmgt.o, gvt/vgpu.o, gvt/dmabuf.o (the objects
#           that use the mdev API; CONFIG_DRM_I915_GVT_KVMGT=m)
#   s390    vfio_ccw.o and vfio_ap.o (every object of both modules), and
#           our own drivers/vfio/mdev/, cross-compiled with Debian's
#           gcc-s390x-linux-gnu: a 64-bit big-endian build of the core
#
# Each architecture has its own O= directory under
# ${MDEV_CACHE:-/var/cache/mdev}/intree, configured from its defconfig plus
# the options below and prepared once; later runs rebuild only what our
# overlay changed.  W=1 is not used: these are upstream's files, held to
# upstream's flags.

set -uo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
. "$here/vm/ktap.sh"
. "$here/host/lib.sh"

jobs=${JOBS:-$(nproc)}
log=$(mktemp)
trap 'rm -f "$log"' EXIT

command -v s390x-linux-gnu-gcc >/dev/null ||
	ktap_skip_all "s390x-linux-gnu-gcc missing (scripts/install-deps.sh)"

echo "KTAP version 1"
echo "1..11"
kbuild_lock

src=$(intree_src 2>"$log") || {
	sed 's/^/# /' "$log"
	ktap_fail "overlay" "could not prepare the overlaid source tree"
	ktap_finish
}
cd "$src" || exit 1

# The header the users compile against must be ours, not upstream's.
if cmp -s "$src/include/linux/mdev.h" "$MDEV_HOST_REPO/include/linux/mdev.h"; then
	ktap_ok "our_header_in_tree"
else
	ktap_fail "our_header_in_tree" "$src/include/linux/mdev.h is not ours"
fi

# kmake <odir> <make args...>: quiet on success, the tail of the log on failure.
kmake() {
	local odir=$1
	shift
	if make -s -j"$jobs" O="$odir" "$@" >"$log" 2>&1; then
		return 0
	fi
	grep -E -B2 -A6 'error|\*\*\*' "$log" | head -n 40 | sed 's/^/# /'
	return 1
}

# configure <odir> <arch-args...> -- <CONFIG_X=v...>: defconfig plus the
# options, each checked in the final .config.
configure() {
	local odir=$1 opt missing=
	shift
	local args=()
	while [ "$1" != -- ]; do args+=("$1"); shift; done
	shift
	if [ ! -f "$odir/.config" ]; then
		kmake "$odir" "${args[@]}" defconfig || return 1
		printf '%s\n' "$@" >>"$odir/.config"
		kmake "$odir" "${args[@]}" olddefconfig || return 1
	fi
	for opt in "$@"; do
		grep -qx "$opt" "$odir/.config" || missing+=" $opt"
	done
	[ -z "$missing" ] || { echo "# not set after olddefconfig:$missing"; return 1; }
}

# build_arch <name> <odir> <objects> <arch-args...> -- <options...>
build_arch() {
	local name=$1 odir=$2 objs=$3 obj
	shift 3
	local args=()
	while [ "$1" != -- ]; do args+=("$1"); shift; done

	if ! configure "$odir" "${args[@]}" "$@"; then
		ktap_fail "$name.config"
		for obj in prepare $objs; do ktap_skip "$name.$obj" "no config"; done
		return
	fi
	ktap_ok "$name.config"
	if ! kmake "$odir" "${args[@]}" modules_prepare; then
		ktap_fail "$name.prepare"
		for obj in $objs; do ktap_skip "$name.$obj" "not prepared"; done
		return
	fi
	ktap_ok "$name.prepare"
	for obj in $objs; do
		ktap_test_kmake "$name.$obj" "$odir" "${args[@]}" "$obj"
	done
}

ktap_test_kmake() {
	local name=$1
	shift
	if kmake "$@"; then
		ktap_ok "$name"
	else
		ktap_fail "$name"
	fi
}

ver=$(cat "$src/.mdev-version")
x86=(ARCH=x86_64 -- CONFIG_VIRTUALIZATION=y CONFIG_KVM=m CONFIG_KVM_INTEL=m
     CONFIG_VFIO=m CONFIG_VFIO_MDEV=m CONFIG_DRM_I915=m
     CONFIG_DRM_I915_GVT=y CONFIG_DRM_I915_GVT_KVMGT=m)
s390=(ARCH=s390 CROSS_COMPILE=s390x-linux-gnu- -- CONFIG_VFIO=m
      CONFIG_VFIO_MDEV=m CONFIG_VFIO_MDEV_DEVICE=m CONFIG_VFIO_CCW=m
      CONFIG_VFIO_AP=m)

echo "# x86_64: i915 GVT-g"
odir=$(intree_odir x86_64 "$ver ${x86[*]}")
build_arch x86_64 "$odir" \
	"drivers/gpu/drm/i915/gvt/kvmgt.o drivers/gpu/drm/i915/gvt/vgpu.o drivers/gpu/drm/i915/gvt/dmabuf.o" \
	"${x86[@]}"

echo "# s390: vfio_ccw, vfio_ap and our core, cross-compiled"
odir=$(intree_odir s390 "$ver ${s390[*]}")
build_arch s390 "$odir" \
	"drivers/s390/cio/vfio_ccw.o drivers/s390/crypto/vfio_ap.o" \
	"${s390[@]}"
# Our core on s390: the vfio_mdev directory as a whole (mdev.o, vfio_mdev.o).
if [ -f "$odir/include/generated/autoconf.h" ]; then
	ktap_test_kmake "s390.drivers/vfio/mdev/" "$odir" "${s390[@]:0:2}" drivers/vfio/mdev/
else
	ktap_skip "s390.drivers/vfio/mdev/" "not prepared"
fi

ktap_finish

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Our mdev.ko as a binary drop-in for Debian's (stock kernel only): with our
# core loaded, Debian's own kvmgt.ko (i915 GVT-g; loaded with its i915, kvm
# and vfio dependencies from Debian's module tree) loads with modprobe,
# which checks the symbol CRCs of our exports against those it was built
# with, registers its mdev driver intel_vgpu_mdev on our bus (no GPU is
# needed for that), and unloads; our mdev.ko unloads after it.
#
# Then the same as a user installing our DKMS package gets it: `dkms
# install` into a copy of the module tree, bind-mounted over
# /lib/modules/$(uname -r) in a mount namespace of our own (the host's tree
# is the VM's, read-only, and the rest of the run must not see the copy),
# and a plain `modprobe kvmgt` that must pick our mdev.ko from updates/.

here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/ktap.sh"
. "$here/lib.sh"

[ "$MDEV_VM_KERNEL" = stock ] || ktap_skip_all "Debian's modules are the stock kernel's"
krel=$(uname -r)
kvmgt=$(ls /lib/modules/"$krel"/kernel/drivers/gpu/drm/i915/kvmgt.ko* 2>/dev/null | head -n1)
[ -n "$kvmgt" ] || ktap_skip_all "no kvmgt.ko in /lib/modules/$krel"

drv=/sys/bus/mdev/drivers/intel_vgpu_mdev

ktap_plan 12

mdev_unload_all

# The kernel log of a modprobe, for the CRC mismatch it would explain.
kmsg_since() {
	dmesg | tail -n +"$(($1 + 1))" | grep -iE 'kvmgt|mdev|disagrees|symbol' | sed 's/^/# dmesg: /'
}

# Everything modprobe kvmgt loaded, dependents first; mdev stays.
unload_kvmgt_deps() {
	modprobe -r -q i915 kvm irqbypass 2>/dev/null
	return 0
}

# --- Our mdev.ko by path, then Debian's kvmgt.ko -------------------------

ktap_test "load our mdev" mdev_load mdev
n=$(dmesg | wc -l)
if out=$(modprobe kvmgt 2>&1); then
	ktap_ok "modprobe kvmgt"
	kmsg_since "$n"
else
	printf '%s\n' "$out" | sed 's/^/# /'
	kmsg_since "$n"
	ktap_fail "modprobe kvmgt"
fi
if [ -d "$drv" ]; then
	ktap_diag "$(ls -d "$drv"), module $(readlink -f "$drv/module" 2>/dev/null)"
	ktap_ok "kvmgt's driver on our bus"
else
	ktap_fail "kvmgt's driver on our bus" "no $drv"
fi
ktap_test "the live mdev.ko is ours" mdev_check_ours
ktap_test "rmmod kvmgt" rmmod kvmgt
if [ ! -e "$drv" ]; then
	ktap_ok "kvmgt's driver gone"
else
	ktap_fail "kvmgt's driver gone" "$drv still there"
fi
ktap_test "rmmod our mdev after kvmgt" rmmod mdev
unload_kvmgt_deps

# --- dkms install into a copy of the module tree, then modprobe ---------

dkms_part() {
	local tmp=$1 name version src
	name=$(sed -n 's/^PACKAGE_NAME="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$MDEV_REPO/dkms.conf")
	version=$(sed -n 's/^PACKAGE_VERSION="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$MDEV_REPO/dkms.conf")
	local opts=(--dkmstree "$tmp/dkms" --sourcetree "$tmp/src")

	# Only this namespace sees the copy; the host's tree stays as it was.
	if ! { mount --make-rprivate / &&
	       cp -a "/lib/modules/$krel" "$tmp/modules" &&
	       mount --bind "$tmp/modules" "/lib/modules/$krel"; }; then
		echo "# cannot set up a copy of /lib/modules/$krel"
		return 1
	fi

	# The source as `dkms add .` would copy it, without build products
	src=$tmp/src/$name-$version
	mkdir -p "$src" "$tmp/dkms"
	(cd "$MDEV_REPO" && git -c safe.directory='*' ls-files -z --cached --others \
		--exclude-standard | while IFS= read -r -d '' f; do
		[ -e "$f" ] && cp --parents "$f" "$src"
	done)
	# Signing keys of our own, or dkms would create /var/lib/dkms/mok.key
	export mok_signing_key=$tmp/mok.key mok_certificate=$tmp/mok.pub

	dkms add -m "$name" -v "$version" "${opts[@]}" >"$tmp/dkms.log" 2>&1 &&
	dkms install -m "$name" -v "$version" -k "$krel" "${opts[@]}" \
		>>"$tmp/dkms.log" 2>&1
	echo "dkms_install=$?"
	echo "modinfo_mdev=$(modinfo -n mdev 2>&1)"
	local n
	n=$(dmesg | wc -l)
	modprobe kvmgt >"$tmp/modprobe.log" 2>&1
	echo "modprobe_kvmgt=$?"
	kmsg_since "$n"
	echo "driver=$([ -d "$drv" ] && echo yes || echo no)"
	echo "mdev_taint=$(cat /sys/module/mdev/taint 2>/dev/null)"
	echo "mdev_holders=$(ls /sys/module/mdev/holders 2>/dev/null | tr '\n' ' ')"
	rmmod kvmgt
	echo "rmmod_kvmgt=$?"
	rmmod mdev
	echo "rmmod_mdev=$?"
	unload_kvmgt_deps
	tail -n 20 "$tmp/dkms.log" | sed 's/^/# dkms: /'
	sed 's/^/# modprobe: /' "$tmp/modprobe.log"
	return 0
}

tree_state() {
	ls -la --time-style=full-iso "/lib/modules/$krel" "/lib/modules/$krel/updates" 2>&1
}
before=$(tree_state)
tmp=$(mktemp -d /tmp/mdev-dkms.XXXXXX)
export -f dkms_part kmsg_since unload_kvmgt_deps
export krel drv MDEV_REPO
start=$SECONDS
res=$(unshare --mount bash -c 'dkms_part "$1"' _ "$tmp" 2>&1)
ktap_diag "dkms part took $((SECONDS - start))s"
printf '%s\n' "$res" | grep '^#'
val() { printf '%s\n' "$res" | sed -n "s/^$1=//p"; }

if [ "$(val dkms_install)" = 0 ]; then
	ktap_ok "dkms install into a copy of /lib/modules/$krel"
else
	ktap_fail "dkms install into a copy of /lib/modules/$krel" "status '$(val dkms_install)'"
fi
# Ours, from updates/, and out of tree (Debian's is neither)
if [[ $(val modinfo_mdev) == */updates/* ]] && [[ $(val mdev_taint) == *O* ]]; then
	ktap_diag "modprobe resolves mdev to $(val modinfo_mdev)"
	ktap_ok "modprobe kvmgt loads our mdev.ko from updates/"
else
	ktap_fail "modprobe kvmgt loads our mdev.ko from updates/" \
		"mdev is $(val modinfo_mdev), taint '$(val mdev_taint)'"
fi
if [ "$(val modprobe_kvmgt)" = 0 ] && [ "$(val driver)" = yes ]; then
	ktap_ok "dkms: modprobe kvmgt, its driver on our bus"
else
	ktap_fail "dkms: modprobe kvmgt, its driver on our bus" \
		"status '$(val modprobe_kvmgt)', driver '$(val driver)'"
fi
if [ "$(val rmmod_kvmgt)" = 0 ] && [ "$(val rmmod_mdev)" = 0 ]; then
	ktap_ok "dkms: kvmgt and then our mdev unload"
else
	ktap_fail "dkms: kvmgt and then our mdev unload" \
		"rmmod kvmgt '$(val rmmod_kvmgt)', rmmod mdev '$(val rmmod_mdev)'"
fi
if [ "$(tree_state)" = "$before" ]; then
	ktap_ok "the real module tree untouched"
else
	diff <(echo "$before") <(tree_state) | sed 's/^/# /'
	ktap_fail "the real module tree untouched"
fi
rm -rf "$tmp"

mdev_unload_all
ktap_finish

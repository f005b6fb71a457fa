#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Our .kunitconfig, the way kernel developers use it: the tree's own
#
#   tools/testing/kunit/kunit.py config --kunitconfig=drivers/vfio/mdev \
#           --arch=x86_64 --build_dir=<cache>
#
# in the overlaid linux-source-6.12 tree (our .kunitconfig is
# drivers/vfio/mdev/.kunitconfig there): kunit.py reads it, merges it into
# its x86_64 QEMU configuration, runs olddefconfig and verifies that every
# option stuck (a missing dependency fails here).  Then every option of
# .kunitconfig must be set in the debug kernel's .config too, so that the
# KUnit suite 10-kunit runs in the debug VM is the one .kunitconfig asks
# for (a tristate asked as y may be m there: 10-kunit loads the module).
#
# Trade-off: `kunit.py run` also built a second kernel of its own and ran
# the suite in it (472 s of a cold make check) -- the same suite, the same
# tests, that the debug VM runs under KASAN, lockdep and kmemleak.  What
# kunit.py checked beyond that is kept: the configuration step here, and
# its parser, which 10-kunit feeds the kernel's KTAP (`kunit.py parse`,
# result kunit_py_parse).  What is lost: the suite built in (=y) and run
# at boot in kunit.py's minimal configuration; the debug kernel has it as
# a module, as it has the core, which the other suites unload and reload.
# `kunit.py run` stays the way to run it so, by hand.

set -uo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
. "$here/vm/ktap.sh"
. "$here/host/lib.sh"

echo "KTAP version 1"
echo "1..3"

kunitconfig=$MDEV_HOST_REPO/.kunitconfig
src=$(intree_src 2>/dev/null) || { ktap_fail "overlay"; ktap_finish; }
ktap_ok "overlay"
ver=$(cat "$src/.mdev-version")
bdir=$(intree_odir kunit-config "$ver")
out=$(mktemp)
trap 'rm -f "$out"' EXIT

kbuild_lock
cd "$src" || exit 1
# Without a .config kunit.py generates and validates one on every run.
rm -f "$bdir/.config"
if python3 tools/testing/kunit/kunit.py config --kunitconfig=drivers/vfio/mdev \
	--arch=x86_64 --build_dir="$bdir" >"$out" 2>&1; then
	ktap_ok "kunit.py_config"
else
	sed 's/^/# /' "$out" | tail -n 20
	ktap_fail "kunit.py_config" "kunit.py rejects drivers/vfio/mdev/.kunitconfig"
fi

# Every option of .kunitconfig in the debug kernel's .config.
if ! debug_kdir; then
	ktap_fail "debug_config" "no debug kernel built (make debug-kernel)"
	ktap_finish
fi
missing=()
while IFS= read -r line; do
	case $line in
	CONFIG_*=y) grep -Eqx "${line%=y}=(y|m)" "$DEBUG_KDIR/.config" ;;
	CONFIG_*=*) grep -qxF "$line" "$DEBUG_KDIR/.config" ;;
	"# CONFIG_"*" is not set")
		sym=${line#\# }
		sym=${sym%% *}
		! grep -q "^$sym=" "$DEBUG_KDIR/.config" ;;
	*) continue ;;
	esac || missing+=("$line")
done <"$kunitconfig"
if [ "${#missing[@]}" = 0 ]; then
	ktap_ok "debug_config"
else
	ktap_fail "debug_config" "not in the debug kernel's .config: ${missing[*]}"
fi
ktap_finish

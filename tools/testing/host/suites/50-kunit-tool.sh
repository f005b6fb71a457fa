#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The KUnit suite the way kernel developers run it: the tree's own
#
#   tools/testing/kunit/kunit.py run --kunitconfig=drivers/vfio/mdev \
#           --arch=x86_64 --build_dir=<cache>
#
# in the overlaid linux-source-6.12 tree (our .kunitconfig is
# drivers/vfio/mdev/.kunitconfig there), under QEMU with TCG.  kunit.py
# builds its own small kernel (incrementally after the first run) and
# parses the results; each test case is one result here, and kunit.py's
# own verdict is one more.

set -uo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
. "$here/vm/ktap.sh"
. "$here/host/lib.sh"

command -v qemu-system-x86_64 >/dev/null ||
	ktap_skip_all "qemu-system-x86_64 missing (scripts/install-deps.sh)"

echo "KTAP version 1"

src=$(intree_src 2>/dev/null) || { ktap_fail "overlay"; echo "1..$KTAP_N"; ktap_finish; }
ver=$(cat "$src/.mdev-version")
bdir=$(intree_odir kunit "$ver")
out=$(mktemp)
trap 'rm -f "$out"' EXIT

kbuild_lock
cd "$src" || exit 1
rc=0
python3 tools/testing/kunit/kunit.py run --kunitconfig=drivers/vfio/mdev \
	--arch=x86_64 --build_dir="$bdir" --jobs="${JOBS:-$(nproc)}" \
	--timeout=600 >"$out" 2>&1 || rc=$?

# kunit.py keeps the kernel's raw output in test.log.
results=$(ktap_kunit_cases <"$bdir/test.log" 2>/dev/null)
ktap_results <<<"$results"
if [ "$rc" = 0 ] && [ -n "$results" ]; then
	ktap_ok "kunit.py"
else
	sed 's/^/# /' "$out" | tail -n 40
	ktap_fail "kunit.py" "exit status $rc"
fi
grep -E 'Testing complete|Elapsed time' "$out" | sed 's/^/# /'
echo "1..$KTAP_N"
ktap_finish

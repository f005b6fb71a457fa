#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Our modules built out of tree against Debian's 6.12 headers with W=1 and
# sparse on every file (C=2), in a copy of the sources so the regular build
# is not disturbed.  One result per C file we compile: it fails on any
# compiler or sparse warning located in our own files (warnings inside the
# kernel's headers are upstream's).

set -uo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
. "$here/vm/ktap.sh"
repo=$(cd "$here/../.." && pwd)
work=${MDEV_CACHE:-/var/cache/mdev}/warnings
rel=${KREL:-$(cat "$repo/.krel" 2>/dev/null)}
kdir=/lib/modules/$rel/build

command -v sparse >/dev/null || ktap_skip_all "sparse missing (scripts/install-deps.sh)"
[ -f "$kdir/Makefile" ] || ktap_skip_all "no kernel headers for '$rel'"

cd "$repo" || exit 1
# The C files of our kernel modules (the Kbuild tree: top, tests/, samples/).
mapfile -t cfiles < <(git ls-files '*.c' | grep -v '^tools/')

mkdir -p "$work/src"
git ls-files -z | rsync -c --from0 --files-from=- "$repo/" "$work/src/"
# Every file is compiled (and checked) again on each run.
find "$work/src" -name '*.o' -delete

log=$work/build.log
config=(CONFIG_VFIO_MDEV=m CONFIG_VFIO_MDEV_DEVICE=m CONFIG_MDEV_CLASSIC_TEST=m
	CONFIG_SAMPLE_VFIO_MDEV_MTTY=m CONFIG_SAMPLE_VFIO_MDEV_MDPY=m
	CONFIG_SAMPLE_VFIO_MDEV_MDPY_FB=m CONFIG_SAMPLE_VFIO_MDEV_MBOCHS=m)

echo "KTAP version 1"
echo "1..$((${#cfiles[@]} + 1))"

if make -C "$kdir" M="$work/src" NOSTDINC_FLAGS="-I$work/src/include" \
	W=1 C=2 "${config[@]}" -j"${JOBS:-$(nproc)}" modules >"$log" 2>&1; then
	ktap_ok "build"
else
	grep -E -B2 -A4 'error|\*\*\*' "$log" | head -n 30 | sed 's/^/# /'
	ktap_fail "build" "see $log"
fi

for f in "${cfiles[@]}"; do
	if [ "$f" = mdev_kunit.c ]; then
		ktap_skip "W=1+sparse:$f" "Debian's kernel has no KUnit"
		continue
	fi
	if [ ! -f "$work/src/${f%.c}.o" ]; then
		ktap_fail "W=1+sparse:$f" "not compiled"
		continue
	fi
	# Warnings are reported with the path make was given: absolute here.
	out=$(grep -E "^($work/src/)?$f:[0-9]+(:[0-9]+)?: (warning|error)" "$log")
	if [ -z "$out" ]; then
		ktap_ok "W=1+sparse:$f"
	else
		printf '%s\n' "$out" | sed "s|$work/src/||; s/^/# /"
		ktap_fail "W=1+sparse:$f"
	fi
done

ktap_finish

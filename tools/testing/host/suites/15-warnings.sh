#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Every file of our kernel code compiled with W=1 and sparse (C=2), out of
# tree in copies of the sources so the regular build is not disturbed:
#
#   stock  every module, against Debian's 6.12 headers
#   debug  every module the debug kernel's configuration selects, against
#          its tree (`make debug-kernel`): mdev_kunit.c among them, which
#          only builds there (CONFIG_KUNIT; Debian's kernel has none), and
#          the rest once more under KASAN, lockdep and debug objects
#
# One result per file of ours, C files and headers alike (include/linux/
# mdev.h, mdev_private.h, mdev_trace.h, samples' headers): it fails on any
# compiler or sparse message (warning or error) located in that file, in
# either build.  A message in a file of ours that is not in that list (a
# generated file) fails "other_files"; a modpost warning fails the build's
# result.  Messages inside the kernel's own headers are upstream's.  The
# debug build is skipped only when no debug kernel was built at all.

set -uo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
. "$here/vm/ktap.sh"
. "$here/host/lib.sh"
repo=$(cd "$here/../.." && pwd)
work=${MDEV_CACHE:-/var/cache/mdev}/warnings
rel=${KREL:-$(cat "$repo/.krel" 2>/dev/null)}
kdir=/lib/modules/$rel/build
jobs=${JOBS:-$(nproc)}

command -v sparse >/dev/null || ktap_skip_all "sparse missing (scripts/install-deps.sh)"
[ -f "$kdir/Makefile" ] || ktap_skip_all "no kernel headers for '$rel'"

cd "$repo" || exit 1
# Our kernel files (the Kbuild tree: top, include/, tests/, samples/).
mapfile -t files < <(git ls-files '*.c' '*.h' | grep -v '^tools/')

echo "KTAP version 1"
echo "1..$((${#files[@]} + 3))"
kbuild_lock

# build <name> <kdir> <make variables...>: W=1 C=2 modules of a fresh copy
# of the sources in $work/<name>/src, log in $work/<name>/build.log.
build() {
	local name=$1 k=$2 src=$work/$1/src log=$work/$1/build.log
	shift 2
	mkdir -p "$src"
	git ls-files -z | rsync -c --from0 --files-from=- "$repo/" "$src/"
	# Every file is compiled (and checked) again on each run.
	find "$src" \( -name '*.o' -o -name '*.ko' \) -delete
	if make -C "$k" M="$src" NOSTDINC_FLAGS="-I$src/include" \
		W=1 C=2 "$@" -j"$jobs" modules >"$log" 2>&1 &&
	   ! grep -q 'WARNING: modpost' "$log"; then
		ktap_ok "build_$name"
	else
		grep -E -B2 -A4 'error|\*\*\*|WARNING: modpost' "$log" | head -n 30 | sed 's/^/# /'
		ktap_fail "build_$name" "see $log"
	fi
}

build stock "$kdir" CONFIG_VFIO_MDEV=m CONFIG_VFIO_MDEV_DEVICE=m \
	CONFIG_MDEV_CLASSIC_TEST=m CONFIG_SAMPLE_VFIO_MDEV_MTTY=m \
	CONFIG_SAMPLE_VFIO_MDEV_MDPY=m CONFIG_SAMPLE_VFIO_MDEV_MDPY_FB=m \
	CONFIG_SAMPLE_VFIO_MDEV_MBOCHS=m
debug=0
if debug_kdir; then
	build debug "$DEBUG_KDIR" CONFIG_VFIO_MDEV=m CONFIG_MDEV_KUNIT_TEST=m
	debug=1
else
	ktap_skip "build_debug" "no debug kernel built (make debug-kernel)"
fi

# Messages, with the path as make printed it (absolute for our copies):
# "<copy>/<file>:<line>[:<col>]: warning|error: ...", from gcc and sparse.
logs=("$work/stock/build.log")
[ "$debug" = 1 ] && logs+=("$work/debug/build.log")
msgs=$(cat "${logs[@]}" |
	grep -E "^$work/(stock|debug)/src/[^:]+:[0-9]+(:[0-9]+)?: (warning|error)" |
	sed -E "s|^$work/(stock\|debug)/src/|\\1: |" | sort -u)
# What each file was compiled in.
objs() {
	local f=$1 b
	case $f in *.h) echo header; return ;; esac
	for b in stock debug; do
		[ -f "$work/$b/src/${f%.c}.o" ] && printf '%s ' "$b"
	done
	echo
}

for f in "${files[@]}"; do
	where=$(objs "$f")
	if [ -z "${where// /}" ]; then
		if [ "$f" = mdev_kunit.c ] && [ "$debug" = 0 ]; then
			ktap_skip "W=1+sparse:$f" "no debug kernel (Debian's has no KUnit)"
		else
			ktap_fail "W=1+sparse:$f" "not compiled"
		fi
		continue
	fi
	out=$(grep -E "^(stock|debug): ${f//./\\.}:" <<<"$msgs")
	if [ -z "$out" ]; then
		ktap_ok "W=1+sparse:$f"
	else
		printf '%s\n' "$out" | sed 's/^/# /'
		ktap_fail "W=1+sparse:$f"
	fi
done

# Messages located in a file of ours that the list above does not name.
other=$(printf '%s\n' "$msgs" | grep . | while IFS= read -r m; do
	f=${m#*: }
	f=${f%%:*}
	printf '%s\n' "${files[@]}" | grep -qxF "$f" || printf '%s\n' "$m"
done)
if [ -z "$other" ]; then
	ktap_ok "other_files"
else
	printf '%s\n' "$other" | head -n 20 | sed 's/^/# /'
	ktap_fail "other_files"
fi

ktap_finish

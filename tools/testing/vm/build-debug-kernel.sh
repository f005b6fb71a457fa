#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the mdev debug kernel: linux-source-6.12 with our subsystem overlaid
# in tree (scripts/overlay.sh) and the debug options of debug.config
# (KASAN, lockdep, kmemleak, debug objects, KUnit, fault injection ...)
# and our own options of mdev.config, on top of allnoconfig plus the small
# guest base of base.config.
#
# The tree lives in a cache outside the checkout:
#   ${MDEV_CACHE:-/var/cache/mdev}/debug/linux      source + objects
#   ${MDEV_CACHE:-/var/cache/mdev}/debug/modroot    modules_install output
#   ${MDEV_CACHE:-/var/cache/mdev}/debug/release    `make kernelrelease`
#   ${MDEV_CACHE:-/var/cache/mdev}/debug/stamp      cache key
#
# The cache key is the linux-source-6.12 package version plus the sha256 of
# base.config and debug.config; when it changes the tree is wiped and rebuilt from scratch.
# mdev.config is not part of the key: it only concerns our own directories.
# Otherwise the overlay is refreshed and make rebuilds incrementally.
#
# Prints the path of the bzImage as the last line on stdout.

set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
cache=${MDEV_CACHE:-/var/cache/mdev}/debug
tarball=/usr/src/linux-source-6.12.tar.xz
basefrag=$here/base.config
fragment=$here/debug.config
ourfrag=$here/mdev.config
jobs=${JOBS:-$(nproc)}

log() { printf '[%s] build-debug-kernel: %s\n' "$(date +%T)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ -f "$tarball" ] || die "$tarball missing (run scripts/install-deps.sh)"
pkgver=$(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null) ||
	die "linux-source-6.12 is not installed (run scripts/install-deps.sh)"

key="linux-source-6.12=$pkgver config=$(cat "$basefrag" "$fragment" | sha256sum | cut -d' ' -f1)"
src=$cache/linux
start=$(date +%s)

mkdir -p "$cache"
# Two locks: .lock is held shared by every running debug VM (run-vm.sh)
# and exclusively here; .build is taken first so that no new VM starts
# while this build waits for the running ones (no writer starvation).
exec 7>"$cache/.build"
flock -n 7 || { log "waiting for another build to finish"; flock 7; }
exec 9>"$cache/.lock"
flock -n 9 || { log "waiting for running debug VMs to finish"; flock 9; }
start=$(date +%s)	# time the build, not the wait

if [ ! -f "$cache/stamp" ] || [ "$(cat "$cache/stamp")" != "$key" ] ||
   [ ! -f "$src/Makefile" ]; then
	log "cold build ($key)"
	rm -rf "$src" "$cache/modroot" "$cache/stamp" "$cache/release" "$cache/linux.tmp"
	mkdir -p "$cache/linux.tmp"
	log "extracting $tarball"
	tar -xf "$tarball" -C "$cache/linux.tmp" --strip-components=1
	mv "$cache/linux.tmp" "$src"
	# The key describes the tree's inputs: a failed build resumes
	# incrementally instead of starting over.
	echo "$key" >"$cache/stamp"
	cold=1
else
	log "incremental build ($key)"
	cold=0
fi

"$top/scripts/overlay.sh" "$src" "$top" >&2

# Configuration: allnoconfig + fragments, then olddefconfig.  Redone every time
# (it is cheap) so changes to our Kconfig are picked up; kbuild only rebuilds
# what depends on symbols that really changed.
cd "$src"
cp -p .config .config.prev 2>/dev/null || true
make allnoconfig >"$cache/config.log" 2>&1 ||
	{ cat "$cache/config.log" >&2; die "make allnoconfig failed"; }
KCONFIG_CONFIG=.config scripts/kconfig/merge_config.sh -m -Q \
	.config "$basefrag" "$fragment" "$ourfrag" >>"$cache/config.log" 2>&1 ||
	{ cat "$cache/config.log" >&2; die "merge_config.sh failed"; }
make olddefconfig >>"$cache/config.log" 2>&1 ||
	{ cat "$cache/config.log" >&2; die "make olddefconfig failed"; }
# Keep the old mtime when nothing changed: avoids a syncconfig pass.
if [ -f .config.prev ] && cmp -s .config .config.prev; then
	mv .config.prev .config
else
	rm -f .config.prev
fi

# Verify that every line of the fragments made it into .config.  In
# debug.config a symbol no Kconfig in the tree defines is an error; in
# mdev.config it is only noted (our Kconfig may not define it yet).
defined=$(mktemp)
trap 'rm -f "$defined"' EXIT
find . -name 'Kconfig*' -not -path './tools/*' -print0 |
	xargs -0 sed -n 's/^[[:space:]]*\(menu\)\{0,1\}config[[:space:]]\{1,\}\([A-Za-z0-9_]*\).*/\2/p' |
	sort -u >"$defined"
bad=0
verify() {	# verify <fragment> <strict: 1 = undefined symbols are errors>
	local line sym want have
	while IFS= read -r line; do
		case $line in
		CONFIG_*=*)
			sym=${line%%=*}; sym=${sym#CONFIG_}; want=$line ;;
		"# CONFIG_"*" is not set")
			sym=${line#\# CONFIG_}; sym=${sym%% *}; want="" ;;
		*) continue ;;
		esac
		if ! grep -qx "$sym" "$defined"; then
			if [ "$2" = 1 ]; then
				log "CONFIG_$sym: no such symbol in this tree"; bad=1
			else
				log "note: CONFIG_$sym is not defined by our Kconfig (yet)"
			fi
			continue
		fi
		have=$(grep -E "^(CONFIG_$sym=|# CONFIG_$sym is not set)" .config || true)
		if [ -z "$want" ]; then
			case $have in ""|"# CONFIG_$sym is not set") continue ;; esac
		else
			[ "$have" = "$want" ] && continue
		fi
		log "CONFIG_$sym: wanted '${want:-not set}', got '${have:-not set}' (${1##*/})"
		bad=1
	done <"$1"
}
verify "$basefrag" 1
verify "$fragment" 1
verify "$ourfrag" 0
[ "$bad" = 0 ] || die "config options did not stick (see above; check their dependencies)"
log "config verified: every option of debug.config and mdev.config is set"

log "building with make -j$jobs (log: $cache/build.log)"

# Progress: one line every 30 s with the last object built.  The ticker
# must not inherit the lock descriptors: its last sleep would hold the
# locks for up to 30 s after the build.
( while sleep 30; do
	last=$(grep -E '^  (CC|LD|AR|AS|GEN|BTF|MODPOST|OBJCOPY|BUILD)' "$cache/build.log" 2>/dev/null | tail -n1)
	log "$(( $(date +%s) - start ))s: ${last:-...}"
  done ) 7>&- 9>&- &
ticker=$!
trap 'kill "$ticker" 2>/dev/null || true; rm -f "$defined"' EXIT

if ! make -j"$jobs" bzImage modules >"$cache/build.log" 2>&1; then
	kill "$ticker" 2>/dev/null || true
	grep -E -B3 -A3 '(error|warning):|\*\*\*' "$cache/build.log" | head -n 60 >&2 || true
	die "kernel build failed (full log: $cache/build.log)"
fi
kill "$ticker" 2>/dev/null || true
wait "$ticker" 2>/dev/null || true
grep -E 'warning:' "$cache/build.log" | grep -E 'drivers/vfio/mdev|samples/vfio-mdev|include/linux/mdev.h' >&2 || true

# Only now: before the first build has synced the configuration, the
# release does not have CONFIG_LOCALVERSION yet.  Read the build's own
# record rather than run `make kernelrelease`, whose output a calling make
# can garnish with "Entering directory" lines.
release=$(cat include/config/kernel.release)
[ -n "$release" ] || die "no kernel release in include/config/kernel.release"
log "installing the modules of $release into $cache/modroot"
rm -rf "$cache/modroot/lib/modules/$release"
make -s INSTALL_MOD_PATH="$cache/modroot" INSTALL_MOD_STRIP=1 modules_install \
	>>"$cache/build.log" 2>&1 || die "modules_install failed (log: $cache/build.log)"

echo "$release" >"$cache/release"
log "done in $(( $(date +%s) - start ))s ($([ $cold = 1 ] && echo cold || echo incremental)): $src/arch/x86/boot/bzImage"
echo "$src/arch/x86/boot/bzImage"

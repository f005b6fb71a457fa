#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Helpers for the host suites (tools/testing/host/suites/).  Source it after
# tools/testing/vm/ktap.sh.
#
#   intree_src              print the path of a linux-source-6.12 tree with our
#                           subsystem overlaid (scripts/overlay.sh), kept in
#                           ${MDEV_CACHE:-/var/cache/mdev}/intree/linux and
#                           extracted again only when the package changes;
#                           it is built only with O= output directories
#   intree_odir NAME KEY    print ${MDEV_CACHE}/intree/NAME, emptied first
#                           when KEY differs from the one it was made with
#   kbuild_lock             serialize kernel builds on one machine: hold
#                           ${MDEV_KBUILD_LOCK:-/tmp/kbuild.lock} (fd 8) for
#                           the rest of the suite, unless already held
#                           ("none" disables it)
#   debug_kdir              set DEBUG_KDIR to the debug kernel's built tree
#                           (${MDEV_CACHE}/debug/linux, `make debug-kernel`)
#                           and hold its lock shared (fd 6) for the rest of
#                           the suite, as a debug VM does, so that no rebuild
#                           changes it meanwhile; fails when it was never
#                           built.  Not in $(...): the lock is the shell's.

MDEV_HOST_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
MDEV_HOST_CACHE=${MDEV_CACHE:-/var/cache/mdev}/intree

intree_src() {
	local src=$MDEV_HOST_CACHE/linux ver
	ver=$(dpkg-query -W -f='${Version}' linux-source-6.12) || return 1
	mkdir -p "$MDEV_HOST_CACHE"
	if [ "$(cat "$src/.mdev-version" 2>/dev/null)" != "$ver" ]; then
		echo "# extracting linux-source-6.12 $ver into $src" >&2
		rm -rf "$src" "$src.tmp"
		mkdir -p "$src.tmp"
		tar -xf /usr/src/linux-source-6.12.tar.xz -C "$src.tmp" \
			--strip-components=1 || return 1
		echo "$ver" >"$src.tmp/.mdev-version"
		mv "$src.tmp" "$src"
	fi
	"$MDEV_HOST_REPO/scripts/overlay.sh" "$src" "$MDEV_HOST_REPO" >&2 || return 1
	echo "$src"
}

intree_odir() {
	local dir=$MDEV_HOST_CACHE/$1 key=$2
	if [ "$(cat "$dir/.mdev-key" 2>/dev/null)" != "$key" ]; then
		rm -rf "$dir"
		mkdir -p "$dir"
		echo "$key" >"$dir/.mdev-key"
	fi
	echo "$dir"
}

# kbuild_lock: hold /tmp/kbuild.lock on fd 8 unless we run under it already.
kbuild_lock() {
	local lock=${MDEV_KBUILD_LOCK:-/tmp/kbuild.lock} fd
	[ "$lock" = none ] && return 0
	for fd in /proc/$$/fd/*; do
		[ "$(readlink "$fd" 2>/dev/null)" = "$lock" ] && return 0
	done
	exec 8>>"$lock"
	if ! flock -n 8; then
		ktap_diag "waiting for $lock (another kernel build)"
		until flock -w 10 8; do :; done		# signals get through
	fi
}

# debug_kdir: the debug kernel's tree, locked against rebuilds (see
# build-debug-kernel.sh: .build announces a build, .lock is held shared by
# its readers and exclusively by the build).
debug_kdir() {
	local cache=${MDEV_CACHE:-/var/cache/mdev}/debug
	[ -f "$cache/release" ] && [ -f "$cache/linux/Module.symvers" ] || return 1
	exec 5<>"$cache/.build" 6<>"$cache/.lock"
	flock -s 5 && flock -s 6 || return 1
	flock -u 5
	exec 5>&-
	# A build may have started and failed while we waited.
	[ -f "$cache/release" ] || return 1
	DEBUG_KDIR=$cache/linux
}

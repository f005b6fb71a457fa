#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# DKMS: what a Debian user with the stock 6.12 kernel gets from our
# dkms.conf.  `dkms add` and `dkms build` (never install) against the
# installed headers of the stock release, in a private dkms tree and source
# tree under a temporary directory, with a private module signing key, so
# that /var/lib/dkms, /usr/src and /lib/modules stay as they were (checked
# at the end).  Results: add, build, one per module dkms.conf must produce
# (built for the release, and for mdev.ko ours rather than Debian's),
# dkms status, and the host left untouched.
#
# The build runs under /tmp/kbuild.lock (MDEV_KBUILD_LOCK; "none" to not
# lock), unless this runs under that lock already (`flock
# /tmp/kbuild.lock make check`: the lock file is an inherited descriptor).

set -uo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
. "$here/vm/ktap.sh"
. "$here/host/lib.sh"
repo=$(cd "$here/../.." && pwd)

modules=(mdev vfio_mdev mtty mdpy mdpy-fb mbochs)

krel=${KREL:-$(cat "$repo/.krel" 2>/dev/null || true)}
if [ -z "$krel" ]; then
	krel=$(find /lib/modules -mindepth 1 -maxdepth 1 -name '6.12.*' -printf '%f\n' |
		sort -V | tail -n1)
fi
[ -n "$krel" ] || ktap_skip_all "no 6.12 kernel in /lib/modules"
kdir=/lib/modules/$krel/build
[ -f "$kdir/Makefile" ] || ktap_skip_all "no headers for $krel in $kdir"
command -v dkms >/dev/null || ktap_skip_all "dkms is not installed (scripts/install-deps.sh)"
[ "$(id -u)" = 0 ] || ktap_skip_all "dkms needs root"
[ -f "$repo/dkms.conf" ] || ktap_skip_all "no dkms.conf"

name=$(sed -n 's/^PACKAGE_NAME="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$repo/dkms.conf")
version=$(sed -n 's/^PACKAGE_VERSION="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$repo/dkms.conf")
[ -n "$name" ] && [ -n "$version" ] || ktap_skip_all "dkms.conf: no PACKAGE_NAME or PACKAGE_VERSION"

tmp=$(mktemp -d /tmp/mdev-dkms.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
dkmsopts=(--dkmstree "$tmp/dkms" --sourcetree "$tmp/src")
# Signing keys of our own, or dkms creates /var/lib/dkms/mok.key.
export mok_signing_key=$tmp/mok.key mok_certificate=$tmp/mok.pub

# What the host has before, to compare at the end; and a time stamp,
# after which nothing in the release's module tree may change.
host_state() {
	ls -la --time-style=full-iso /var/lib/dkms /usr/src "/lib/modules/$krel" \
		"/lib/modules/$krel/updates" 2>&1
}
touch "$tmp/start"
before=$(host_state)

ktap_plan $((4 + ${#modules[@]}))
ktap_diag "dkms $name/$version for $krel in $tmp"

# The source as `dkms add .` would copy it, without build products or .git
# (tracked files and new ones .gitignore does not exclude).
src=$tmp/src/$name-$version
mkdir -p "$tmp/dkms"
mkdir -p "$src"
(cd "$repo" && git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
	[ -e "$f" ] && cp --parents "$f" "$src"
done)

ktap_test "dkms add" dkms add -m "$name" -v "$version" "${dkmsopts[@]}"

kbuild_lock
start=$SECONDS
if out=$(dkms build -m "$name" -v "$version" -k "$krel" -j "${JOBS:-$(nproc)}" \
		"${dkmsopts[@]}" 2>&1); then
	ktap_diag "dkms build took $((SECONDS - start))s"
	ktap_ok "dkms build -k $krel"
else
	printf '%s\n' "$out" | sed 's/^/# /'
	log=$(ls "$tmp"/dkms/"$name"/"$version"/build/make.log 2>/dev/null)
	[ -n "$log" ] && grep -E 'error|warning' "$log" | head -n 40 | sed 's/^/# make.log: /'
	ktap_fail "dkms build -k $krel"
fi
exec 8>&- 2>/dev/null

moddir=$tmp/dkms/$name/$version/$krel/$(uname -m)/module
debian_mdev=$(ls /lib/modules/"$krel"/kernel/drivers/vfio/mdev/mdev.ko* 2>/dev/null | head -n1)
for m in "${modules[@]}"; do
	ko=$(ls "$moddir/$m.ko"* 2>/dev/null | head -n1)
	if [ -z "$ko" ]; then
		ktap_fail "module $m" "not in $moddir"
		continue
	fi
	vermagic=$(modinfo -F vermagic "$ko" 2>/dev/null)
	if [ "${vermagic%% *}" != "$krel" ]; then
		ktap_fail "module $m" "vermagic '$vermagic', not for $krel"
	elif [ "$m" = mdev ] && [ -n "$debian_mdev" ] &&
	     [ "$(modinfo -F srcversion "$ko")" = "$(modinfo -F srcversion "$debian_mdev")" ]; then
		ktap_fail "module $m" "it is Debian's mdev.ko (same srcversion)"
	else
		ktap_diag "$m: $(basename "$ko"), $(stat -c %s "$ko") bytes"
		ktap_ok "module $m"
	fi
done

status=$(dkms status "${dkmsopts[@]}" 2>/dev/null)
printf '%s\n' "$status" | sed 's/^/# dkms status: /'
if [[ $status == *"$name/$version, $krel, $(uname -m): built"* ]]; then
	ktap_ok "dkms status says built"
else
	ktap_fail "dkms status says built"
fi

after=$(host_state)
changed=$(find "/lib/modules/$krel" -path "/lib/modules/$krel/build" -prune -o \
	-newer "$tmp/start" -print 2>/dev/null)
if [ "$before" = "$after" ] && [ -z "$changed" ]; then
	ktap_ok "host dkms and module trees untouched"
else
	diff <(echo "$before") <(echo "$after") | sed 's/^/# /'
	[ -n "$changed" ] && printf '%s\n' "$changed" | sed 's/^/# changed: /'
	ktap_fail "host dkms and module trees untouched"
fi

ktap_finish

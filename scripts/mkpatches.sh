#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Turn this tree into a `git format-patch` series against the pristine
# Linux 6.12 source (make ksrc), the way it would be posted upstream:
#
#   0000-cover-letter.patch
#   1  vfio/mdev: rewrite the mediated device core     core + header
#   2  vfio/mdev: add vfio_mdev ...                     generic bus driver
#   3  vfio/mdev: add a KUnit suite ...                 mdev_kunit.c
#   4  vfio/mdev: mtty: ...                             one patch per sample
#   5  vfio/mdev: mdpy: ...                             (mdpy with mdpy-fb)
#   6  vfio/mdev: mbochs: ...
#   7  vfio/mdev: document ...                          Documentation/
#   8  vfio/mdev: add kselftests ...                    selftests + test driver
#
# Paths follow scripts/overlay.sh: our top-level sources go to
# drivers/vfio/mdev/ (Kbuild as its Makefile, tests/ beside them),
# include/linux/mdev.h, samples/vfio-mdev/, plus its samples/Kconfig edit
# (mtty selects VFIO_MDEV_DEVICE).  Documentation/ and
# tools/testing/selftests/mdev/ keep their paths.  Beyond the overlay:
#
# - Kconfig and the Makefile grow with the series: each patch adds the
#   symbols and objects of what it adds, so every step builds;
# - the out-of-tree block of our Kbuild files (ifneq KBUILD_EXTMOD) is
#   dead in a kernel tree and is left out;
# - the docs patch replaces Documentation/ABI/testing/sysfs-bus-vfio-mdev
#   by our sysfs-bus-mdev, which describes the same files;
# - MAINTAINERS gains F: lines for the new files outside the existing
#   "VFIO MEDIATED DEVICE DRIVERS" patterns, and the kselftests patch
#   adds mdev to the kselftest TARGETS.
#
# Samples' README.rst is upstream's and stays.  The series is built from
# the tracked files of the working tree (uncommitted changes included) in
# a throw-away git repository whose base commit holds only the pristine
# files the series touches; the patches apply with `git apply` or
# `patch -p1` to the full pristine tree.  Author, Signed-off-by and date
# come from the checkout (user.name/user.email, HEAD's commit date), so
# the same tree always gives the same series.
#
# Usage: scripts/mkpatches.sh [<output-dir>]     (default: <repo>/patches)
#
# Environment: MDEV_CACHE (default /var/cache/mdev), KSRC (default
# $MDEV_CACHE/ref/linux-source-6.12), MDEV_PATCHES_WORK (the work repo,
# default $MDEV_CACHE/patches-work).

set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${MDEV_CACHE:-/var/cache/mdev}
ksrc=${KSRC:-$cache/ref/linux-source-6.12}
work=${MDEV_PATCHES_WORK:-$cache/patches-work}
out=${1:-$repo/patches}

die() { echo "mkpatches: $*" >&2; exit 1; }

[ $# -le 1 ] || { echo "usage: $0 [<output-dir>]" >&2; exit 2; }
[ -f "$ksrc/MAINTAINERS" ] && [ -f "$ksrc/drivers/vfio/mdev/Kconfig" ] ||
	die "no pristine 6.12 source in $ksrc (run make ksrc)"
kver=$(cat "$ksrc/.mdev-version" 2>/dev/null || echo unknown)

# Git in the work repo: no user or system configuration (format.signOff,
# diff.renames ... would change the output), a fixed identity and date.
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
name=$(git -C "$repo" config user.name 2>/dev/null || true)
email=$(git -C "$repo" config user.email 2>/dev/null || true)
[ -n "$name" ] || name=$(git -C "$repo" log -1 --format=%an)
[ -n "$email" ] || email=$(git -C "$repo" log -1 --format=%ae)
export GIT_AUTHOR_NAME=$name GIT_AUTHOR_EMAIL=$email
export GIT_COMMITTER_NAME=$name GIT_COMMITTER_EMAIL=$email
date=$(git -C "$repo" log -1 --format=%cI)
export GIT_AUTHOR_DATE=$date GIT_COMMITTER_DATE=$date
signoff="Signed-off-by: $name <$email>"

mkdir -p "$cache"
exec 9>"$work.lock"
flock 9
rm -rf "$work"
mkdir -p "$work"
cd "$work"
git init -q -b mdev
git config core.autocrlf false

# ---- what goes where -------------------------------------------------

# Patch numbers (before the cover letter) of each piece.
P_CORE=1 P_VFIO=2 P_KUNIT=3 P_MTTY=4 P_MDPY=5 P_MBOCHS=6 P_DOCS=7 P_KSFT=8
NPATCH=8

# Kconfig symbols of drivers/vfio/mdev/Kconfig, by patch.
sym_patch() {
	case $1 in
	VFIO_MDEV) echo $P_CORE ;;
	VFIO_MDEV_DEVICE) echo $P_VFIO ;;
	MDEV_KUNIT_TEST) echo $P_KUNIT ;;
	MDEV_CLASSIC_TEST) echo $P_KSFT ;;
	*) die "Kconfig symbol $1: which patch adds it? (edit sym_patch)" ;;
	esac
}

mapfile -t tracked < <(git -C "$repo" ls-files)

# files[n]: "<our path>=<in-tree path>" pairs copied verbatim by patch n.
declare -A files
add() { files[$1]+="$2=$3"$'\n'; }

for f in "${tracked[@]}"; do
	[ -e "$repo/$f" ] || continue		# deleted in the working tree
	case $f in
	Kbuild|Kconfig|samples/vfio-mdev/Makefile)
		;;				# generated per patch, below
	.kunitconfig)
		add $P_KUNIT "$f" drivers/vfio/mdev/.kunitconfig ;;
	vfio_mdev.c)
		add $P_VFIO "$f" "drivers/vfio/mdev/$f" ;;
	include/linux/mdev.h)
		add $P_CORE "$f" "$f" ;;
	tests/*_kunit.c)
		add $P_KUNIT "$f" "drivers/vfio/mdev/$f" ;;
	tests/*)
		add $P_KSFT "$f" "drivers/vfio/mdev/$f" ;;
	samples/vfio-mdev/mtty.c)
		add $P_MTTY "$f" "$f" ;;
	samples/vfio-mdev/mdpy.c|samples/vfio-mdev/mdpy-fb.c|samples/vfio-mdev/mdpy-defs.h)
		add $P_MDPY "$f" "$f" ;;
	samples/vfio-mdev/mbochs.c)
		add $P_MBOCHS "$f" "$f" ;;
	Documentation/*)
		add $P_DOCS "$f" "$f" ;;
	tools/testing/selftests/mdev/*)
		add $P_KSFT "$f" "$f" ;;
	include/*|samples/*|tools/testing/selftests/*)
		die "$f: which patch? (edit mkpatches.sh)" ;;
	*/*)	;;				# our build and test rig
	*_kunit.c)
		add $P_KUNIT "$f" "drivers/vfio/mdev/$f" ;;
	*.c|*.h)
		add $P_CORE "$f" "drivers/vfio/mdev/$f" ;;
	*)	;;				# README, Makefile, dkms.conf ...
	esac
done

# Every in-tree path the series writes, and the pristine files it edits.
touched=(drivers/vfio/mdev/Kconfig drivers/vfio/mdev/Makefile
	samples/vfio-mdev/Makefile samples/Kconfig MAINTAINERS
	tools/testing/selftests/Makefile
	Documentation/ABI/testing/sysfs-bus-vfio-mdev)
for n in "${!files[@]}"; do
	while IFS='=' read -r _ dst; do
		[ -n "$dst" ] && touched+=("$dst")
	done <<<"${files[$n]}"
done

# ---- generators ------------------------------------------------------

# strip_extmod <file>: drop `ifneq ($(KBUILD_EXTMOD),)` ... `endif` and
# the comment lines right above it, then squeeze blank lines.
strip_extmod() {
	awk '
		function flush() { if (nc) for (i = 1; i <= nc; i++) print c[i]; nc = 0 }
		skip {
			if ($0 ~ /^if/) depth++
			else if ($0 ~ /^endif/ && --depth == 0) skip = 0
			next
		}
		/^ifneq \(\$\(KBUILD_EXTMOD\),\)/ { nc = 0; skip = 1; depth = 1; next }
		/^#/ { c[++nc] = $0; next }
		{ flush(); print }
		END { flush() }
	' "$1" | cat -s | sed -e :a -e '/^\n*$/{$d;N;ba' -e '}'
}

# allowed_syms <n>: the Kconfig symbols of our Kconfig that patches 1..n add.
allowed_syms() {
	local s
	for s in $(sed -n 's/^config \([A-Z0-9_]*\).*/\1/p' "$repo/Kconfig"); do
		[ "$(sym_patch "$s")" -le "$1" ] && printf '%s ' "$s"
	done
}

# gen_kconfig <n>: our Kconfig with only the entries of patches 1..n.
gen_kconfig() {
	awk -v keep=" $(allowed_syms "$1")" '
		/^(menu)?config / { on = index(keep, " " $2 " ") > 0 }
		on || !seen { print }
		/^(menu)?config / { seen = 1 }
	' "$repo/Kconfig" | cat -s | sed -e :a -e '/^\n*$/{$d;N;ba' -e '}'
}

# gen_makefile <n>: our Kbuild, in tree, with only the objects of 1..n.
gen_makefile() {
	strip_extmod "$repo/Kbuild" |
	awk -v keep=" $(allowed_syms "$1")" '
		match($0, /^obj-\$\(CONFIG_[A-Z0-9_]+\)/) {
			s = substr($0, 14, RLENGTH - 14)
			if (!index(keep, " " s " ")) next
		}
		{ print }
	' | cat -s
}

# samples_kconfig: what scripts/overlay.sh does to samples/Kconfig, the
# classic mtty selecting the generic vfio_mdev driver.
samples_kconfig() {
	awk '
		/^config / { in_mtty = ($2 == "SAMPLE_VFIO_MDEV_MTTY") }
		in_mtty && /^[ \t]*select VFIO_MDEV_DEVICE$/ { next }
		{ print }
		in_mtty && /^[ \t]*select VFIO_MDEV$/ { print "\tselect VFIO_MDEV_DEVICE" }
	' "$1"
}

# maintainers_add <pattern>: an F: line in the mdev entry, kept sorted.
maintainers_add() {
	LC_ALL=C awk -v new="F:	$1" '
		/^VFIO MEDIATED DEVICE DRIVERS$/ { in_e = 1 }
		in_e && /^F:/ && !done && $0 >= new {
			if ($0 != new) print new
			done = 1
		}
		in_e && !/^F:/ && seen_f && !done { print new; done = 1 }
		in_e && /^F:/ { seen_f = 1 }
		in_e && /^$/ { in_e = 0 }
		{ print }
	' MAINTAINERS >MAINTAINERS.new
	cmp -s MAINTAINERS MAINTAINERS.new && die "MAINTAINERS: no mdev entry to add $1 to"
	mv MAINTAINERS.new MAINTAINERS
}

# ---- the base: pristine copies of what the series touches ------------

for p in "${touched[@]}"; do
	if [ -f "$ksrc/$p" ]; then
		mkdir -p "$(dirname "$p")"
		cp "$ksrc/$p" "$p"
	fi
done
git add -A
git commit -q -m "Linux 6.12 ($kver), the files the mdev series touches"
base=$(git rev-parse HEAD)

# ---- the patches -----------------------------------------------------

# stage <n>: the tree of patch n, on top of the one of patch n-1.
stage() {
	local n=$1 src dst
	while IFS='=' read -r src dst; do
		[ -n "$src" ] || continue
		mkdir -p "$(dirname "$dst")"
		cp "$repo/$src" "$dst"
	done <<<"${files[$n]:-}"
	gen_kconfig "$n" >drivers/vfio/mdev/Kconfig
	gen_makefile "$n" >drivers/vfio/mdev/Makefile
	case $n in
	"$P_MTTY")
		# Upstream's unless ours says more than its blank lines.
		strip_extmod "$repo/samples/vfio-mdev/Makefile" >samples/vfio-mdev/Makefile.new
		if diff -qB samples/vfio-mdev/Makefile.new samples/vfio-mdev/Makefile >/dev/null; then
			rm samples/vfio-mdev/Makefile.new
		else
			mv samples/vfio-mdev/Makefile.new samples/vfio-mdev/Makefile
		fi
		samples_kconfig samples/Kconfig >samples/Kconfig.new
		mv samples/Kconfig.new samples/Kconfig
		;;
	"$P_DOCS")
		if [ -f Documentation/ABI/testing/sysfs-bus-mdev ]; then
			git rm -q --ignore-unmatch Documentation/ABI/testing/sysfs-bus-vfio-mdev
			maintainers_add Documentation/ABI/testing/sysfs-bus-mdev
		fi
		# Figures of the driver-api page (a guest's screen through mdpy).
		for f in Documentation/driver-api/vfio-mdev*; do
			[ -e "$f" ] && maintainers_add "$f"
		done
		;;
	"$P_KSFT")
		LC_ALL=C awk '
			!done && /^TARGETS \+= / && $3 > "mdev" { print "TARGETS += mdev"; done = 1 }
			/^TARGETS \+= mdev$/ { done = 1 }
			{ print }
		' tools/testing/selftests/Makefile >tools/testing/selftests/Makefile.new
		mv tools/testing/selftests/Makefile.new tools/testing/selftests/Makefile
		maintainers_add tools/testing/selftests/mdev/
		;;
	esac
}

# msg <n>: the commit message of patch n.
msg() {
	case $1 in
	"$P_CORE") cat <<'EOF'
vfio/mdev: rewrite the mediated device core

The mdev core finds a duplicate UUID by walking one list of every
device in the system, so each create costs more the more devices
exist, and it only serves vendor drivers that bring a VFIO driver of
their own.

Replace it with a core written from scratch around the same bus, the
same sysfs interface under /sys/class/mdev_bus/<parent>/ and
/sys/bus/mdev/devices/<uuid>/, the same uevents and the same vendor
API:

- the UUIDs in use live in a hash table, so a create costs the same
  however many devices exist;
- the life of parents and devices is visible through tracepoints
  (events/mdev/: parent register and unregister, create, remove,
  release, bind, unbind);
- the core knows one kind of parent, as before; what it keeps beyond
  the vendor structures (the hash table entry, the count of live
  devices) lives in structures of its own.

include/linux/mdev.h stays source compatible with 6.12: i915 GVT-g,
vfio_ccw, vfio_ap and the samples build unchanged against it.  It stays
binary compatible too: struct mdev_device, mdev_type, mdev_parent and
mdev_driver and the four exported functions are 6.12's, member for
member, so the symbol CRCs are the same and modules built against a
6.12 kernel's mdev.ko load on this core.
EOF
	;;
	"$P_VFIO") cat <<'EOF'
vfio/mdev: add vfio_mdev, a VFIO driver for classic parents

A vendor driver whose device is nothing more than regions to read,
write and map, a few ioctls and DMA through the emulated IOMMU still
has to write a whole VFIO driver today.

Add vfio_mdev.ko for parents registered with vfio_mdev_register_parent()
and a struct mdev_parent_ops.  It registers an mdev driver built from
each set of callbacks (named after the vendor's module) and the parent
with it, so that the core sees an ordinary parent; the driver wraps
each device in a vfio_device with an emulated IOMMU,
keeps the vendor module loaded while a device is open, and forwards
open, close, read, write, ioctl, mmap, request, dma_unmap and VFIO
migration (v2) to the parent's callbacks, answering a missing optional
callback the way VFIO answers a missing operation.  Helpers to pin
pages, to copy to and from guest memory and to zap user mappings spare
the vendor the vfio_device it does not own.
EOF
	;;
	"$P_KUNIT") cat <<'EOF'
vfio/mdev: add a KUnit suite for the core

The core's rules (what create and remove accept, how instances are
counted, what happens to devices when their parent goes away, when a
device is really released) are best pinned down from inside the
kernel, on any architecture and without user space.

Add mdev_kunit.c: fake parents, registered through the public API as
KUnit devices, driven the way user space drives them, through their
sysfs files on a private kernel mount of sysfs, so that the suite also
runs built in before user space has mounted one.  A probe on the
mdev_release tracepoint tells when a device is gone.  The .kunitconfig
lets kunit.py run it:

  ./tools/testing/kunit/kunit.py run --kunitconfig=drivers/vfio/mdev
EOF
	;;
	"$P_MTTY") cat <<'EOF'
vfio/mdev: mtty: rewrite the sample as a classic parent

mtty is the sample people copy, and the one device the whole stack can
be tested with end to end: a guest's own 8250_pci driver binds it.
That only works as far as its UARTs behave like real ones.

Rewrite it as a classic parent served by vfio_mdev: one or two 16550A
UARTs behind I/O BARs with a loopback plug, FIFO trigger levels and the
character timeout, IIR and LSR semantics as the 8250 driver expects,
INTx as an automasked level and MSI, a request callback so that
removing a device in use asks user space to release it, and VFIO
migration (v2) of the UART state.  SAMPLE_VFIO_MDEV_MTTY now selects
VFIO_MDEV_DEVICE.
EOF
	;;
	"$P_MDPY") cat <<'EOF'
vfio/mdev: mdpy: rewrite the region display sample and its guest driver

mdpy shows how a vendor driver written for 6.12 (its own mdev_driver
and vfio_device) offers a VFIO display of the region kind, and mdpy-fb
is the guest's driver for it.

Rewrite both: mdpy is a PCI function with a fixed-mode framebuffer in
BAR0, the mode in a vendor capability of its configuration space,
VFIO_DEVICE_QUERY_GFX_PLANE naming the region user space maps to scan
it out, and the "count" module parameter enforced by the core across
all types through max_instances.  mdpy-fb reads the mode back and
checks it before it maps the framebuffer.
EOF
	;;
	"$P_MBOCHS") cat <<'EOF'
vfio/mdev: mbochs: rewrite the dma-buf display sample

mbochs is the sample of a VFIO display of the dma-buf kind, and of
types whose available instances depend on each other.

Rewrite it: a device close enough to QEMU's secondary-vga for the
guest's bochs DRM driver to bind (video memory in BAR0, the dispi
registers and an EDID window in BAR2), VFIO_DEVICE_QUERY_GFX_PLANE and
VFIO_DEVICE_GET_GFX_DMABUF for the framebuffer the guest programmed,
an EDID region, and video memory taken page by page from a pool shared
by all devices, with get_available reporting what the pool has left.
A dma-buf holds its plane and the device, so the device's state
outlives its removal until the last dma-buf is closed.
EOF
	;;
	"$P_DOCS") cat <<'EOF'
vfio/mdev: document the framework and its sysfs ABI

Describe the rewritten framework for the people who use it: the
management interface and its uevents, the two kinds of parent (an
mdev driver of its own or classic callbacks served by vfio_mdev) and
when to choose which, the vendor API from its kernel-doc, and the
samples.

Documentation/ABI/testing/sysfs-bus-mdev describes every sysfs file,
what each accepts and the errors it returns; it replaces
sysfs-bus-vfio-mdev, which described the same files, so that each
appears once in the ABI.
EOF
	;;
	"$P_KSFT") cat <<'EOF'
vfio/mdev: add kselftests and a test vendor driver

The framework is only useful through what user space sees, so test it
from there, the way QEMU, libvirt and mdevctl use it:

- mdev_sysfs_test: create and remove over every sample parent, every
  refused input with its errno, nothing left behind, privilege,
  uevents and races;
- vfio_mdev_client: a VFIO client through a type1 container or
  iommufd, checking that vfio_mdev forwards every operation and what
  it does for missing callbacks, and that removing an open device
  waits for user space;
- mtty_uapi, mtty_migration: mtty's VFIO uAPI and its migration;
- display_test: the display samples, planes, dma-bufs and their
  instance accounting;
- vfio_abuse_test: every sample type through malformed VFIO ioctls,
  reads, writes and mmaps, each refused with its errno and leaving a
  working device;
- mdev_fault_test: with failslab and fail-nth, each allocation of
  create, open and parent registration failed in turn: an error,
  nothing leaked, and the next create works;
- mdev_race_test: threads creating, removing, opening and reading
  devices while a vendor module is unloaded and reloaded.

mdev_util.h holds what the VFIO tests share; mdev_harness.h wraps
kselftest_harness.h so that a SKIP() after a failed check still fails.

vfio_mdev_client drives drivers/vfio/mdev/tests/mdev_classic_test.c,
a vendor driver built only for testing that counts every call that
reaches its two parents, one with every callback and one with the
required ones only (MDEV_CLASSIC_TEST).
EOF
	;;
	esac
	printf '\n%s\n' "$signoff"
}

# The kselftests patch names each test program; say when one is new.
for f in "${tracked[@]}"; do
	case $f in
	tools/testing/selftests/mdev/*.c)
		t=$(basename "$f" .c)
		# Not grep -q: under pipefail, msg's SIGPIPE would count.
		msg $P_KSFT | grep -w "$t" >/dev/null ||
			echo "mkpatches: warning: the kselftests patch does not describe $t" >&2
		;;
	esac
done

for n in $(seq 1 $NPATCH); do
	stage "$n"
	git add -A
	git diff --cached --quiet && die "patch $n changes nothing"
	msg "$n" | git commit -q -F -
done

# The cover letter comes from the branch description: its first
# paragraph is the subject, the rest the blurb above shortlog and diffstat.
ours=$(git -C "$repo" log -1 --format='%h %s' 2>/dev/null || echo unknown)
git config branch.mdev.description "$(cat <<EOF
vfio/mdev: a rewritten mediated device framework

This series replaces the VFIO mediated device (mdev) framework with one
written from scratch, keeping what user space and vendor drivers rely
on: the mdev bus, the sysfs interface that creates and removes devices
(/sys/class/mdev_bus/<parent>/mdev_supported_types/<type>/create,
/sys/bus/mdev/devices/<uuid>/remove, ...), the uevents, and an
include/linux/mdev.h source compatible with 6.12, so that i915 GVT-g,
vfio_ccw and vfio_ap build unchanged.

What it adds:

- a create whose cost does not grow with the number of devices, and
  tracepoints for the life of parents and devices (patch 1);
- vfio_mdev, a generic VFIO driver for vendor drivers that describe
  their devices with classic callbacks, struct mdev_parent_ops, instead
  of writing a VFIO driver (patch 2);
- a KUnit suite of the core (patch 3);
- rewritten samples, each in its own patch: mtty as a classic parent
  whose UARTs a guest's 8250_pci driver binds, with request and VFIO
  migration; mdpy with mdpy-fb; mbochs with dma-bufs and a shared
  video memory pool (patches 4-6);
- documentation of the framework and its sysfs ABI (patch 7);
- kselftests of the sysfs and VFIO interfaces as QEMU, libvirt and
  mdevctl use them, with a vendor driver for testing vfio_mdev
  (patch 8).

Every patch builds on its own (drivers/vfio/mdev/ and
samples/vfio-mdev/ with VFIO, the samples and the tests as modules)
and passes checkpatch --strict.  The whole series runs, under KASAN,
lockdep and kmemleak, the KUnit suite, the kselftests and an end to
end test in which a nested guest's 8250_pci driver uses an mtty
device passed through with vfio-pci.

Based on Linux 6.12 (Debian linux-source-6.12 $kver), generated from
mdev tree commit $ours.
EOF
)"

mkdir -p "$out"
rm -f "$out"/[0-9][0-9][0-9][0-9]-*.patch
git format-patch -q --no-renames --cover-letter --cover-from-description=subject \
	--no-signature --subject-prefix=PATCH -o "$out" "$base"..HEAD
grep -q '\*\*\* SUBJECT HERE \*\*\*\|\*\*\* BLURB HERE \*\*\*' "$out"/0000-cover-letter.patch &&
	die "the cover letter still has its placeholders"
ls "$out"/[0-9][0-9][0-9][0-9]-*.patch

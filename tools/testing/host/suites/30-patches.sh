#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The patch series (scripts/mkpatches.sh) as a maintainer would receive it,
# against the pristine 6.12 source of `make ksrc`:
#
# - it is generated, and its cover letter is filled in;
# - checkpatch.pl --strict passes on every patch (one result each).  "does
#   MAINTAINERS need updating?" is accepted for a patch whose added files
#   all fall under the F: patterns of the mdev entry;
# - the series applies with `git apply` to the pristine files;
# - bisectability: in a clean copy of the pristine tree (hard links,
#   which `patch` replaces rather than writes through), after each patch
#   applied with `git apply`, allnoconfig + the fragment below, then
#   `make drivers/vfio/mdev/ samples/vfio-mdev/` must succeed without a
#   warning and build every module the two Makefiles enable (one result
#   each).  The builds are incremental along the series, so a warning
#   fails the patch that brought it, not the ones after.
#
# The output directory of those builds is prepared once (`make prepare`)
# and cached in $MDEV_CACHE/patches-bisect, keyed by the linux-source-6.12
# version, the fragment and the compiler; each run then only recompiles
# our two directories, from scratch once and incrementally along the
# series.  The builds run under /tmp/kbuild.lock (MDEV_KBUILD_LOCK;
# "none" to not lock), unless this already runs under that lock (`flock
# /tmp/kbuild.lock make check`: the lock file is an inherited descriptor).
#
# The series is kept in $MDEV_HOST_OUT/patches when check.sh runs this.

set -uo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
. "$here/vm/ktap.sh"
. "$here/host/lib.sh"
repo=$(cd "$here/../.." && pwd)
cache=${MDEV_CACHE:-/var/cache/mdev}
ksrc=$cache/ref/linux-source-6.12
jobs=${JOBS:-$(nproc)}

[ -x "$ksrc/scripts/checkpatch.pl" ] || ktap_skip_all "no $ksrc (make ksrc)"
kver=$(cat "$ksrc/.mdev-version" 2>/dev/null || echo unknown)

# Our symbols on top of allnoconfig: VFIO, the core (selected), vfio_mdev,
# the KUnit suite and the test driver as modules, every sample, and
# tracing so that the tracepoints are really built.
fragment='CONFIG_64BIT=y
CONFIG_MODULES=y
CONFIG_PCI=y
CONFIG_FTRACE=y
CONFIG_ENABLE_DEFAULT_TRACERS=y
CONFIG_KUNIT=y
CONFIG_FB=y
CONFIG_VFIO=m
CONFIG_VFIO_MDEV_DEVICE=m
CONFIG_MDEV_KUNIT_TEST=m
CONFIG_MDEV_CLASSIC_TEST=m
CONFIG_SAMPLES=y
CONFIG_SAMPLE_VFIO_MDEV_MTTY=m
CONFIG_SAMPLE_VFIO_MDEV_MDPY=m
CONFIG_SAMPLE_VFIO_MDEV_MDPY_FB=m
CONFIG_SAMPLE_VFIO_MDEV_MBOCHS=m'
# Ours: absent from the config until the patch that adds them.
ours_syms=" VFIO_MDEV_DEVICE MDEV_KUNIT_TEST MDEV_CLASSIC_TEST "
dirs=(drivers/vfio/mdev samples/vfio-mdev)

tmp=$(mktemp -d /tmp/mdev-patches.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
series=${MDEV_HOST_OUT:+$MDEV_HOST_OUT/patches}
series=${series:-$tmp/patches}

echo "KTAP version 1"
start=$SECONDS
if ! out=$("$repo/scripts/mkpatches.sh" "$series" 2>&1); then
	echo "1..1"
	printf '%s\n' "$out" | sed 's/^/# /'
	ktap_fail "mkpatches"
	ktap_finish
fi
patches=()
for p in "$series"/[0-9][0-9][0-9][0-9]-*.patch; do
	[[ $p == */0000-* ]] || patches+=("$p")
done
n=${#patches[@]}
echo "1..$((3 + 2 * n))"
ktap_diag "$n patches in $series"
ktap_ok "mkpatches"

# The cover letter: no template left, a blurb, the shortlog and diffstat.
cover=$series/0000-cover-letter.patch
if [ ! -f "$cover" ]; then
	ktap_fail "cover letter" "missing"
elif grep -q '\*\*\* .* HERE \*\*\*' "$cover"; then
	ktap_fail "cover letter" "still has the *** SUBJECT/BLURB HERE *** template"
elif ! grep -q "^Subject: \[PATCH 0/$n\] vfio/mdev: " "$cover" ||
     ! grep -q ' files changed, ' "$cover" ||
     [ "$(sed -n '/^$/,/ (.*):$/p' "$cover" | grep -c '[a-z]')" -lt 5 ]; then
	ktap_fail "cover letter" "no subject, blurb or diffstat"
else
	ktap_diag "$(grep '^Subject:' "$cover")"
	ktap_ok "cover letter"
fi

# The F: patterns of the mdev entry once the series is applied.
mapfile -t fpats < <({
	awk '/^VFIO MEDIATED DEVICE DRIVERS$/ { e = 1 } e && /^$/ { exit }
	     e && /^F:/ { print $2 }' "$ksrc/MAINTAINERS"
	cat "${patches[@]}" | sed -n 's/^+F:[[:space:]]*//p'
} | sort -u)

# covered <path>: whether an F: pattern of the mdev entry matches it.
covered() {
	local pat
	for pat in "${fpats[@]}"; do
		case $pat in
		*/) [[ $1 == "$pat"* ]] && return 0 ;;
		*) # shellcheck disable=SC2053 # globs wanted
		   [[ $1 == $pat ]] && return 0 ;;
		esac
	done
	return 1
}

for p in "${patches[@]}"; do
	name=$(basename "$p" .patch)
	out=$("$ksrc/scripts/checkpatch.pl" --strict --no-tree --quiet --terse \
		--show-types --ignore FILE_PATH_CHANGES "$p" 2>&1 |
		grep -v '^total: 0 errors, 0 warnings, 0 checks, ')
	# Added files: under the mdev entry of MAINTAINERS?
	uncovered=
	while read -r f; do
		covered "$f" || uncovered+=" $f"
	done < <(awk '/^diff --git / { f = substr($4, 3) }
		      /^new file mode/ { print f }' "$p")
	if [ -n "$uncovered" ]; then
		out+=${out:+$'\n'}"added outside the F: patterns of MAINTAINERS' mdev entry:$uncovered"
	fi
	if [ -z "$out" ]; then
		ktap_ok "checkpatch --strict $name"
	else
		printf '%s\n' "$out" | sed 's/^/# /'
		ktap_fail "checkpatch --strict $name"
	fi
done
ktap_diag "generation and checkpatch: $((SECONDS - start))s"

# Every file the series touches, for a small tree of the pristine ones.
mapfile -t touched < <(sed -n 's|^diff --git a/\([^ ]*\) b/.*|\1|p' "${patches[@]}" | sort -u)
small=$tmp/small
mkdir -p "$small"
for f in "${touched[@]}"; do
	[ -f "$ksrc/$f" ] && (cd "$ksrc" && cp --parents "$f" "$small")
done
if out=$(cd "$small" && for p in "${patches[@]}"; do
		git apply --whitespace=error-all "$p" || { echo "in $(basename "$p")"; exit 1; }
	done 2>&1); then
	ktap_ok "git apply of the series to the pristine files"
else
	printf '%s\n' "$out" | sed 's/^/# /'
	ktap_fail "git apply of the series to the pristine files"
fi

# ---- bisectability --------------------------------------------------------

# bisect_fail <reason> [<first>]: the build results from patch index
# <first> (default 0) on fail, and the suite ends.
bisect_fail() {
	local i
	for ((i = ${2:-0}; i < n; i++)); do
		ktap_fail "builds after $(basename "${patches[i]}" .patch)" "$1"
	done
	ktap_finish
}

bc=$cache/patches-bisect
src=$bc/src
obj=$bc/obj
mkdir -p "$bc"
# One run at a time on the cache.
exec 7>"$bc.lock"
if ! flock -n 7; then
	ktap_diag "waiting for another run of this suite ($bc.lock)"
	until flock -w 10 7; do :; done
fi

printf '%s\n' "$fragment" >"$tmp/fragment.config"
key="linux-source-6.12=$kver fragment=$(sha256sum <"$tmp/fragment.config" | cut -c1-16)"
key+=" cc=$(gcc -dumpfullversion 2>/dev/null)"
cold=0
if [ "$(cat "$bc/stamp" 2>/dev/null)" != "$key" ] || [ ! -f "$obj/Makefile" ]; then
	cold=1
	rm -rf "$obj" "$bc/stamp"
fi

# A clean tree: hard links to the pristine source, so it costs nothing
# and keeps the pristine mtimes the cached objects were built against.
bstart=$SECONDS
if [ -e "$src" ]; then
	mv "$src" "$bc/old.$$"
	rm -rf "$bc/old.$$" &
fi
cp -al "$ksrc" "$src" || bisect_fail "cp -al $ksrc failed"
wait

kmake() { make -C "$src" O="$obj" -j"$jobs" "$@"; }

# config: allnoconfig plus the fragment, checked against the fragment.
config() {
	local sym val have
	kmake KCONFIG_ALLCONFIG="$tmp/fragment.config" allnoconfig >"$tmp/config.log" 2>&1 ||
		{ cat "$tmp/config.log"; return 1; }
	while IFS='=' read -r sym val; do
		sym=${sym#CONFIG_}
		if [[ $ours_syms == *" $sym "* ]] &&
		   ! grep -q "^config $sym\$" "$src/drivers/vfio/mdev/Kconfig"; then
			continue
		fi
		have=$(grep "^CONFIG_$sym=" "$obj/.config" | cut -d= -f2)
		[ "$have" = "$val" ] || echo "CONFIG_$sym=${have:-n}, wanted $val"
	done <"$tmp/fragment.config"
	grep -q '^CONFIG_VFIO_MDEV=m$' "$obj/.config" || echo "CONFIG_VFIO_MDEV is not m"
}

wstart=$SECONDS
kbuild_lock
wait_s=$((SECONDS - wstart))
[ "$wait_s" -gt 1 ] && ktap_diag "waited ${wait_s}s for the kbuild lock"
bstart=$((bstart + wait_s))	# time the builds, not the wait
mkdir -p "$obj"
if ! out=$(config); then
	printf '%s\n' "$out" | tail -n 20 | sed 's/^/# /'
	bisect_fail "allnoconfig failed"
fi
[ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/# pristine: /'
if [ "$cold" = 1 ]; then
	ktap_diag "preparing $obj (cold: $key)"
	if ! kmake prepare >"$tmp/prepare.log" 2>&1; then
		tail -n 30 "$tmp/prepare.log" | sed 's/^/# /'
		bisect_fail "make prepare failed"
	fi
	echo "$key" >"$bc/stamp"
	ktap_diag "make prepare: $((SECONDS - bstart))s"
fi
# Objects of the last run were built from the sources at its end, which
# can be newer than the pristine files at the start of this one.
for d in "${dirs[@]}"; do
	rm -rf "${obj:?}/$d"
done

# modules_enabled: <dir>/<name> for every obj-$(CONFIG_X) += name.o (or
# name/) line of our two Makefiles whose symbol is m.
modules_enabled() {
	local d
	for d in "${dirs[@]}"; do
		sed -n 's/^obj-\$(CONFIG_\([A-Z0-9_]*\))[[:space:]]*+=[[:space:]]*\(.*\)$/\1 \2/p' \
			"$src/$d/Makefile" |
		while read -r sym objs; do
			grep -q "^CONFIG_$sym=m$" "$obj/.config" || continue
			for o in $objs; do
				case $o in *.o) echo "$d/${o%.o}" ;; esac
			done
		done
	done
}

for ((i = 0; i < n; i++)); do
	p=${patches[i]}
	name=$(basename "$p" .patch)
	pstart=$SECONDS
	# git apply, not patch(1): the series carries a binary figure.  It
	# writes new files, so the hard links to the pristine tree are safe;
	# the ceiling keeps it from taking any enclosing repository for its own.
	if ! out=$(cd "$src" && GIT_CEILING_DIRECTORIES=${src%/*} git apply "$p" 2>&1); then
		printf '%s\n' "$out" | sed 's/^/# /'
		ktap_fail "builds after $name" "git apply failed"
		bisect_fail "an earlier patch did not apply" $((i + 1))
	fi
	if ! out=$(config) || [ -n "$out" ]; then
		printf '%s\n' "$out" | tail -n 20 | sed 's/^/# /'
		ktap_fail "builds after $name" "config"
		continue
	fi
	kmake "${dirs[@]/%//}" >"$tmp/build.log" 2>&1
	rc=$?
	warnings=$(grep -E '(warning|error):' "$tmp/build.log")
	missing=
	for m in $(modules_enabled); do
		[ -f "$obj/$m.mod" ] || missing+=" $m"
	done
	built=$(modules_enabled | sed 's|.*/||' | tr '\n' ' ')
	ktap_diag "$name: ${built:-nothing} ($((SECONDS - pstart))s)"
	if [ "$rc" = 0 ] && [ -z "$warnings" ] && [ -z "$missing" ]; then
		ktap_ok "builds after $name"
	else
		{ [ -n "$warnings" ] && echo "$warnings" || tail -n 20 "$tmp/build.log"; } |
			head -n 40 | sed 's/^/# /'
		why="make exited with $rc"
		[ -n "$warnings" ] && why+=", warnings"
		[ -n "$missing" ] && why+=", not built:$missing"
		ktap_fail "builds after $name" "$why"
	fi
done
ktap_diag "bisect builds: $((SECONDS - bstart))s$([ "$cold" = 1 ] && echo ' (cold)')"

ktap_finish

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Our documentation through the kernel's own `make htmldocs` (Sphinx from
# Debian, the tree's Documentation/conf.py and extensions: kernel-doc,
# kfigure, automarkup, kernel_abi ...), on a copy of the pristine 6.12
# source of `make ksrc` with our files in place:
#
# - every page of our Documentation/driver-api/ renders (one result each)
#   with no warning or error from Sphinx or from kernel-doc about the page
#   or any file its kernel-doc directives read (include/linux/mdev.h and
#   drivers/vfio/mdev/*.c, put there by scripts/overlay.sh);
# - our Documentation/ABI/testing/ files render through the kernel's own
#   admin-guide/abi-testing.rst (the kernel_abi extension, get_abi.pl)
#   with no warning or error, and `get_abi.pl validate` of all the
#   kernel's ABI files with ours finds no What: of ours defined twice
#   (one result each);
# - nothing else prints a warning or an error.
#
# Why not SPHINXDIRS=driver-api on the whole tree: that is 314 pages with
# 631 kernel-doc directives; on this 2-core machine it had not finished
# after 240 s (timed out), and had printed 182 warning lines by then, none
# about our files (v4l2 labels that live outside driver-api, kernel-doc of
# dpll.h, tty.h ...).  Ours alone take a few seconds.  So the
# copy is pruned: Documentation/driver-api/ holds only our pages and an
# index.rst listing them, Documentation/admin-guide/ only the kernel's
# abi-testing.rst and an index.rst, Documentation/ABI/testing/ only our
# ABI files (get_abi.pl reads a directory, and renders all of it).  The
# pages keep their real paths (driver-api/vfio-mediated-device), so
# relative figures and autosectionlabel names are those of a full build;
# `make SPHINXDIRS="driver-api admin-guide" htmldocs` then builds just
# them, each a Sphinx project of its own as the Makefile does.  A warning
# about a link to a page outside that subset would be an artefact of the
# pruning; our pages have none (automarkup leaves unresolved names alone).
#
# The copy lives in $MDEV_CACHE/htmldocs: hard links to the pristine tree
# (cp -al, as 30-patches), except the paths scripts/overlay.sh writes,
# which are made real copies first so that it never writes through a
# link into the pristine tree.  It is made again when linux-source-6.12 or
# Sphinx changes.  Sphinx runs with -E (no saved environment), so every
# run reads our pages again and reports their warnings, even unchanged.

set -uo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
. "$here/vm/ktap.sh"
repo=$(cd "$here/../.." && pwd)
cache=${MDEV_CACHE:-/var/cache/mdev}
ksrc=$cache/ref/linux-source-6.12
hd=$cache/htmldocs
src=$hd/src
obj=$hd/obj
jobs=${JOBS:-$(nproc)}

[ -f "$ksrc/Documentation/conf.py" ] || ktap_skip_all "no $ksrc (make ksrc)"

shopt -s nullglob
pages=()
for f in "$repo"/Documentation/driver-api/*.rst; do
	pages+=("$(basename "$f" .rst)")
done
abis=()
for f in "$repo"/Documentation/ABI/testing/*; do
	abis+=("$(basename "$f")")
done
shopt -u nullglob

echo "KTAP version 1"
echo "1..$((${#pages[@]} + ${#abis[@]} + 1))"

# fail_all <reason>: every result fails, and the suite ends.
fail_all() {
	local p
	for p in "${pages[@]}"; do
		ktap_fail "htmldocs driver-api/$p" "$1"
	done
	for p in "${abis[@]}"; do
		ktap_fail "htmldocs ABI/testing/$p" "$1"
	done
	ktap_fail "htmldocs: no other warning" "$1"
	ktap_finish
}

command -v sphinx-build >/dev/null ||
	fail_all "no sphinx-build (tools/testing/vm/deps.sh installs python3-sphinx)"
sphinx=$(sphinx-build --version 2>&1)
kver=$(cat "$ksrc/.mdev-version" 2>/dev/null || echo unknown)
ktap_diag "$sphinx, linux-source-6.12 $kver"

tmp=$(mktemp -d /tmp/mdev-htmldocs.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

mkdir -p "$hd"
# One run at a time on the copy.
exec 7>"$hd.lock"
if ! flock -n 7; then
	ktap_diag "waiting for another run of this suite ($hd.lock)"
	until flock -w 10 7; do :; done
fi

start=$SECONDS
# Paths scripts/overlay.sh may write: never hard links to the pristine tree.
owned=(drivers/vfio/mdev include/linux/mdev.h samples/vfio-mdev samples/Kconfig)

# unlink_owned: make every file under the owned paths a real copy.
unlink_owned() {
	local f
	(cd "$src" && find "${owned[@]}" -type f -links +1 -print0 2>/dev/null) |
	while IFS= read -r -d '' f; do
		cp -p "$src/$f" "$src/$f.mdev-tmp" && mv -f "$src/$f.mdev-tmp" "$src/$f" || return 1
	done
}

key="linux-source-6.12=$kver $sphinx"
if [ "$(cat "$hd/stamp" 2>/dev/null)" != "$key" ] || [ ! -f "$src/Makefile" ]; then
	ktap_diag "making $src (cold: $key)"
	rm -rf "$src" "$obj" "$hd/stamp"
	cp -al "$ksrc" "$src" || fail_all "cp -al $ksrc failed"
	# The pruned subset (see the header).  New directories and files:
	# nothing here writes to a linked file.
	rm -rf "$src/Documentation/driver-api" "$src/Documentation/admin-guide" \
		"$src/Documentation/ABI/testing"
	mkdir -p "$src/Documentation/driver-api" "$src/Documentation/admin-guide" \
		"$src/Documentation/ABI/testing"
	cp "$ksrc/Documentation/admin-guide/abi-testing.rst" "$src/Documentation/admin-guide/"
	printf '%s\n' '.. SPDX-License-Identifier: GPL-2.0' '' \
		'ABI of the mediated device framework' \
		'====================================' '' \
		'.. toctree::' '   :maxdepth: 1' '' '   abi-testing' \
		>"$src/Documentation/admin-guide/index.rst"
	echo "$key" >"$hd/stamp"
fi
unlink_owned || fail_all "could not unlink the overlaid paths from $ksrc"
if ! out=$("$repo/scripts/overlay.sh" "$src" "$repo" 2>&1); then
	printf '%s\n' "$out" | sed 's/^/# /'
	fail_all "scripts/overlay.sh failed"
fi

# sync_docs <ours> <theirs>: make directory theirs hold exactly the files
# of ours (copies, never links), and its generated index.rst.
sync_docs() {
	rsync -rc --delete --exclude=/index.rst "$1/" "$2/"
}
if ! sync_docs "$repo/Documentation/driver-api" "$src/Documentation/driver-api" ||
   ! sync_docs "$repo/Documentation/ABI/testing" "$src/Documentation/ABI/testing"; then
	fail_all "could not copy our Documentation/ into $src"
fi
{
	printf '%s\n' '.. SPDX-License-Identifier: GPL-2.0' '' \
		'Mediated device driver API' '==========================' '' \
		'.. toctree::' '   :maxdepth: 1' ''
	printf '   %s\n' "${pages[@]}"
} >"$tmp/index.rst"
cmp -s "$tmp/index.rst" "$src/Documentation/driver-api/index.rst" ||
	cp "$tmp/index.rst" "$src/Documentation/driver-api/index.rst"
ktap_diag "tree: $((SECONDS - start))s"

# The build.  -E: read every page again (see the header); -q as the
# Makefile's default, which SPHINXOPTS on the command line replaces.
bstart=$SECONDS
make -C "$src" O="$obj" -j"$jobs" SPHINXDIRS="driver-api admin-guide" \
	SPHINXOPTS="-q -E" htmldocs >"$tmp/build.log" 2>&1
rc=$?
ktap_diag "make htmldocs: $((SECONDS - bstart))s, exit status $rc"
out=$obj/Documentation/output

# The pruned ABI/testing cannot show a What: that another ABI file of the
# kernel defines too: the kernel's own check for that (get_abi.pl validate,
# what CONFIG_WARN_ABI_ERRORS runs) reads every ABI file, ours in place of
# sysfs-bus-vfio-mdev as the patch series does (scripts/mkpatches.sh),
# in a copy of the pristine directory.
mkdir -p "$tmp/Documentation"
cp -r "$ksrc/Documentation/ABI" "$tmp/Documentation/ABI"	# 4 MB; /tmp may be another fs
[ -f "$repo/Documentation/ABI/testing/sysfs-bus-mdev" ] &&
	rm -f "$tmp/Documentation/ABI/testing/sysfs-bus-vfio-mdev"
for a in "${abis[@]}"; do
	rm -f "$tmp/Documentation/ABI/testing/$a"
	cp "$repo/Documentation/ABI/testing/$a" "$tmp/Documentation/ABI/testing/"
done
(cd "$tmp" && "$src/scripts/get_abi.pl" validate --dir Documentation/ABI) >>"$tmp/build.log" 2>&1 ||
	{ echo "error: get_abi.pl validate exited with $?" >>"$tmp/build.log"; }

# Every line that reports a problem: Sphinx's "WARNING:", "ERROR:",
# "CRITICAL:", "SEVERE:", kernel-doc's and get_abi.pl's "warning:",
# "error:", and Python's tracebacks.
grep -inE 'warning|error|critical|severe|traceback|exception' "$tmp/build.log" \
	>"$tmp/problems" || true
cp "$tmp/problems" "$tmp/rest"

# report <name> <html> <missing> <pattern>...: the result of one page: its
# HTML exists, nothing it should show is missing (a list, from the caller),
# and no problem line matches one of the patterns (which are then no
# longer "other").
report() {
	local name=$1 html=$2 missing=$3 pat hits=
	shift 3
	for pat in "$@"; do
		hits+=$(grep -F -- "$pat" "$tmp/problems")$'\n'
		grep -vF -- "$pat" "$tmp/rest" >"$tmp/rest.new"
		mv "$tmp/rest.new" "$tmp/rest"
	done
	hits=$(printf '%s' "$hits" | sort -u | sed '/^$/d')
	if [ -n "$hits" ]; then
		printf '%s\n' "$hits" | cut -d: -f2- | awk '!seen[$0]++' | head -n 40 |
			sed 's/^/# /'
		ktap_fail "$name" "warnings or errors"
	elif [ ! -s "$html" ]; then
		ktap_fail "$name" "no ${html#"$out"/} (make exited with $rc)"
	elif [ -n "$missing" ]; then
		ktap_fail "$name" "${html#"$out"/} lacks$missing"
	else
		ktap_ok "$name"
	fi
}

# html_has <html> <text>: whether the HTML shows text (escaped as Sphinx does).
html_has() {
	grep -qF -- "$(printf '%s' "$2" | sed 's/&/\&amp;/g; s/</\&lt;/g; s/>/\&gt;/g')" "$1"
}

# The files the kernel-doc directives of a page read (srctree-relative).
kdoc_files() {
	sed -n 's/^\.\. kernel-doc::[[:space:]]*\([^[:space:]]*\).*/\1/p' "$1" | sort -u
}

for p in "${pages[@]}"; do
	rst=$src/Documentation/driver-api/$p.rst
	html=$out/driver-api/$p.html
	mapfile -t kd < <(kdoc_files "$rst")
	[ ${#kd[@]} -gt 0 ] && ktap_diag "$p: kernel-doc from ${kd[*]}"
	# Every symbol an :export: directive stands for is documented there:
	# kernel-doc says nothing about an exported function without a comment.
	missing=
	while read -r f; do
		while read -r sym; do
			grep -q "id=\"c\.$sym\"" "$html" 2>/dev/null || missing+=" $sym()"
		done < <(sed -n 's/^EXPORT_SYMBOL[A-Z_]*(\([A-Za-z0-9_]*\).*/\1/p' "$src/$f")
	done < <(sed -n '/^\.\. kernel-doc::/{N;s/^\.\. kernel-doc::[[:space:]]*\([^[:space:]]*\)\n[[:space:]]*:export:.*/\1/p}' "$rst")
	# Sphinx names the page "driver-api/<page>:<line>" in the warnings of
	# what a directive produced, "driver-api/<page>.rst:<line>" otherwise.
	report "htmldocs driver-api/$p" "$html" "$missing" "driver-api/$p" "${kd[@]}"
done
for a in "${abis[@]}"; do
	html=$out/admin-guide/abi-testing.html
	# get_abi.pl names the file, and renders every What: of it.
	missing=
	[ -s "$html" ] && ! html_has "$html" "File testing/$a" && missing+=" the file"
	while read -r what; do
		[ -s "$html" ] && ! html_has "$html" "$what" && missing+=" $what"
	done < <(sed -n 's/^What:[[:space:]]*//p' "$repo/Documentation/ABI/testing/$a")
	report "htmldocs ABI/testing/$a" "$html" "$missing" "ABI/testing/$a"
done

if [ -s "$tmp/rest" ] || [ "$rc" != 0 ]; then
	if [ -s "$tmp/rest" ]; then
		cut -d: -f2- "$tmp/rest" | awk '!seen[$0]++' | head -n 40 | sed 's/^/# /'
	else
		tail -n 20 "$tmp/build.log" | sed 's/^/# /'
	fi
	ktap_fail "htmldocs: no other warning" "make exited with $rc, other problems above"
else
	ktap_ok "htmldocs: no other warning"
fi
ktap_diag "html in $out; total $((SECONDS - start))s"

ktap_finish

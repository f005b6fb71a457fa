#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make mutants`: prove that the checks can fail.  Each line of ./list is a
# small deliberate bug (a patch to one of our files) and the suites that
# must catch it.  For each mutant this applies the patch to a copy of the
# committed tree (HEAD), builds it (`make modules selftests`), runs the
# named suites there (tools/testing/vm/check.sh <kernel> with MDEV_SUITES)
# and prints one line:
#
#   killed   <name>  by <failing tests>
#   SURVIVED <name>
#
# and at the end "N killed, N survived".  First the unmutated copy runs the
# union of the selected mutants' suites: it must pass, or no kill means
# anything.  A patch that does not apply, a copy that does not build, or a
# kill that does not include what the list's last column names is an error,
# never a kill.
#
#   run.sh [name...]        only the mutants named (default: all)
#
# Environment: KREL or MDEV_KREL (the stock release; default .krel),
# MUTANTS_DIR (scratch, default ${TMPDIR:-/tmp}/mdev-mutants; each run
# starts it afresh and leaves the results in results/<name>/ and
# results/<name>.log), MDEV_CPU_LOCK (a lock file held from each build
# through its VM run, where several users share the CPUs; unset: none).
# Each mutant's suites run with the time limit the list gives them
# (MDEV_SUITE_TIMEOUT): a mutant may hang a suite, which must cost
# minutes, not the rig's hour.
#
# The copy lives at one path for the whole run ($MUTANTS_DIR/tree) and is
# restored from the built baseline before each mutant, so Kbuild rebuilds
# only the patched file.  Only the stock kernel: the debug kernel builds
# our modules in tree from the main checkout, not from the copy.
#
# Exit status: 0 if every mutant was killed, 1 if one survived, 2 on an
# error.

set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
work=${MUTANTS_DIR:-${TMPDIR:-/tmp}/mdev-mutants}
tree=$work/tree
pristine=$work/pristine
results=$work/results

msg() { echo "mutants: $*" >&2; }
die() { msg "ERROR: $*"; exit 2; }

# lock, unlock: hold $MDEV_CPU_LOCK (if set) on fd 9, from a build
# through its VM run: one wait per mutant, not two
lock() {
	[ -n "${MDEV_CPU_LOCK:-}" ] || return 0
	exec 9>>"$MDEV_CPU_LOCK" || die "cannot open $MDEV_CPU_LOCK"
	flock 9
}
unlock() {
	[ -n "${MDEV_CPU_LOCK:-}" ] || return 0
	flock -u 9
	exec 9>&-
}

# ---- the list ----
names=()
declare -A patch_of kernel_of suites_of limit_of expect_of
while read -r name patch kernel suites limit expect; do
	case $name in '' | '#'*) continue ;; esac
	[ -n "$expect" ] || die "list: line of '$name' wants 6 columns"
	[[ $limit =~ ^[1-9][0-9]*$ ]] || die "list: $name: time limit '$limit' is not seconds"
	[ -z "${patch_of[$name]:-}" ] || die "list: '$name' twice"
	[ -f "$here/$patch" ] || die "list: $name: no $here/$patch"
	[ "$(grep -c '^+++ ' "$here/$patch")" = 1 ] ||
		die "list: $name: $patch must change exactly one file"
	[ "$kernel" = stock ] ||
		die "list: $name: kernel '$kernel': only stock (the debug kernel does not build from the copy)"
	names+=("$name")
	patch_of[$name]=$patch
	kernel_of[$name]=$kernel
	suites_of[$name]=$suites
	limit_of[$name]=$limit
	expect_of[$name]=$expect
done <"$here/list"

selected=()
if [ $# -gt 0 ]; then
	for name in "$@"; do
		[ -n "${patch_of[$name]:-}" ] || die "no mutant '$name' in $here/list"
		selected+=("$name")
	done
else
	selected=("${names[@]}")
fi
[ ${#selected[@]} -gt 0 ] || die "no mutant selected"

# The union of their suites, for the baseline, with the longest limit
declare -A seen
base_suites=
base_limit=0
for name in "${selected[@]}"; do
	[ "${limit_of[$name]}" -le "$base_limit" ] || base_limit=${limit_of[$name]}
	for s in ${suites_of[$name]//,/ }; do
		[ -n "${seen[$s]:-}" ] && continue
		seen[$s]=1
		base_suites+="${base_suites:+ }$s"
	done
done

rel=${MDEV_KREL:-${KREL:-$(cat "$repo/.krel" 2>/dev/null)}}
if [ -z "$rel" ] || [ ! -r "/boot/vmlinuz-$rel" ]; then
	die "stock kernel '$rel' is not installed (KREL=...; or run make deps)"
fi
export KREL=$rel MDEV_KREL=$rel

# build <log>: make the copy's modules and kselftests
build() {
	make -C "$tree" -j"$(nproc)" KREL="$rel" modules selftests >"$1" 2>&1
}

# check <kernel> <out> <suites> <limit>: the copy's check.sh, each suite
# limited to <limit> s; results in <out>, log in <out>.log; returns its
# status
check() {
	local kernel=$1 out=$2 suites=${3//,/ } limit=$4

	MDEV_SUITES=$suites MDEV_CHECK_OUT=$out MDEV_SUITE_TIMEOUT=$limit \
	MDEV_VM_TIMEOUT=$((limit * $(wc -w <<<"$suites") + 300)) \
		"$tree/tools/testing/vm/check.sh" "$kernel" >"$out.log" 2>&1 </dev/null
}

# failures <log>: check.sh's failure lines, a test by its name
failures() {
	sed -n '/^# failures:$/,/^[0-9]* passed, /p' "$1" | sed -n 's/^#   //p' |
		sed -E 's/^[^ :]+: not ok [0-9]+ ([^#]*[^ #]).*$/\1/'
}

# summary <lines>: the first few, on one line
summary() {
	local n
	n=$(grep -c . <<<"$1")
	if [ "$n" -gt 6 ]; then
		printf '%s, (+%d more)' "$(head -n 6 <<<"$1" | paste -sd, - | sed 's/,/, /g')" $((n - 6))
	else
		paste -sd, - <<<"$1" | sed 's/,/, /g'
	fi
}

# ---- the copy and its baseline ----
msg "${#selected[@]} mutants; kernel $rel; scratch $work"
rm -rf "$work"
mkdir -p "$tree" "$results" || die "cannot create $work"
commit=$(git -C "$repo" rev-parse --short HEAD) || die "$repo is not a git checkout"
git -C "$repo" archive HEAD | tar -x -C "$tree" || die "git archive HEAD failed"
# deps.sh wants the release recorded, newer than install-deps.sh
echo "$rel" >"$tree/.krel"

msg "baseline: building HEAD ($commit)"
lock
start=$SECONDS
build "$results/baseline.build.log" ||
	die "HEAD does not build: $results/baseline.build.log"
cp -a "$tree" "$pristine" || die "cannot copy $tree"
msg "baseline: built in $((SECONDS - start)) s; running $base_suites"
start=$SECONDS
if ! check stock "$results/baseline" "$base_suites" "$base_limit"; then
	tail -n 30 "$results/baseline.log" >&2
	die "the unmutated tree fails its suites ($results/baseline.log): no mutant would mean anything"
fi
unlock
msg "baseline: $(tail -n 1 "$results/baseline.log") in $((SECONDS - start)) s"

killed=0 survived=0 errors=0
for name in "${selected[@]}"; do
	out=$results/$name
	start=$SECONDS
	rm -rf "$tree"
	cp -a "$pristine" "$tree" || die "cannot restore $tree"
	if ! patch -p1 -d "$tree" --batch --forward --fuzz=0 --no-backup-if-mismatch \
		<"$here/${patch_of[$name]}" >"$out.patch.log" 2>&1; then
		echo "ERROR    $name  patch ${patch_of[$name]} does not apply to HEAD ($out.patch.log)"
		errors=$((errors + 1))
		continue
	fi
	lock
	if ! build "$out.build.log"; then
		unlock
		echo "ERROR    $name  does not build ($out.build.log)"
		errors=$((errors + 1))
		continue
	fi
	# Kbuild rebuilt what the patch touched: some module must differ
	changed=$(cd "$tree" && find . -name '*.ko' | while read -r ko; do
		cmp -s "$ko" "$pristine/$ko" || echo "${ko#./}"
	done | paste -sd' ' -)
	if [ -z "$changed" ]; then
		unlock
		echo "ERROR    $name  the build changed no module ($out.build.log)"
		errors=$((errors + 1))
		continue
	fi
	msg "$name: ${patch_of[$name]} -> $changed; running ${suites_of[$name]}"
	check "${kernel_of[$name]}" "$out" "${suites_of[$name]}" "${limit_of[$name]}"
	rc=$?
	unlock
	if [ "$rc" = 0 ]; then
		echo "SURVIVED $name  (${suites_of[$name]}: $(tail -n 1 "$out.log"))"
		survived=$((survived + 1))
		continue
	fi
	fails=$(failures "$out.log")
	if [ -z "$fails" ]; then
		echo "ERROR    $name  check.sh failed without naming a failure ($out.log)"
		errors=$((errors + 1))
	elif grep -Eq -- "${expect_of[$name]}" <<<"$fails"; then
		# What the list expected first, then the rest
		fails=$(grep -E -- "${expect_of[$name]}" <<<"$fails"
			grep -vE -- "${expect_of[$name]}" <<<"$fails")
		echo "killed   $name  by $(summary "$fails")  [$((SECONDS - start)) s]"
		killed=$((killed + 1))
	else
		echo "ERROR    $name  failed, but not in '${expect_of[$name]}': $(summary "$fails") ($out.log)"
		errors=$((errors + 1))
	fi
done

line="$killed killed, $survived survived"
[ "$errors" = 0 ] || line+=", $errors errors"
echo "$line"
[ "$errors" = 0 ] || exit 2
[ "$survived" = 0 ] || exit 1
exit 0

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Style, with the kernel's own tools from the pristine 6.12 source:
# scripts/checkpatch.pl --strict on every C source and header we ship, and
# scripts/kernel-doc -Wall on every one that carries kernel-doc.  One result
# per file and tool; a warning fails the result and is printed.

set -uo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
. "$here/vm/ktap.sh"
repo=$(cd "$here/../.." && pwd)
ksrc=${MDEV_CACHE:-/var/cache/mdev}/ref/linux-source-6.12

[ -x "$ksrc/scripts/checkpatch.pl" ] || ktap_skip_all "no $ksrc (make ksrc)"

cd "$repo" || exit 1
mapfile -t files < <(git ls-files '*.c' '*.h' | grep -v '^tools/')
mapfile -t selftests < <(git ls-files 'tools/*.c' 'tools/*.h')

echo "KTAP version 1"
echo "1..$(( ${#files[@]} + ${#selftests[@]} + $(grep -l '^/\*\*' "${files[@]}" | wc -l) ))"

# checkpatch <file> [extra options]
checkpatch() {
	local f=$1 out
	shift
	if out=$("$ksrc/scripts/checkpatch.pl" --strict --no-tree --quiet --terse \
		--show-types "$@" -f "$f" 2>&1); then
		ktap_ok "checkpatch:$f"
	else
		printf '%s\n' "$out" | sed 's/^/# /'
		ktap_fail "checkpatch:$f"
	fi
}

for f in "${files[@]}"; do
	checkpatch "$f"
done
# Userspace tools (kselftests, the benchmark) are held to checkpatch's
# default level, as the kernel's own selftests are, not to --strict; and
# their case tables are X-macros, which checkpatch reads as ordinary
# macros with complex bodies; the bad-input table writes spaces before
# newlines on purpose.
for f in "${selftests[@]}"; do
	checkpatch "$f" --no-strict --ignore=COMPLEX_MACRO,MULTISTATEMENT_MACRO_USE_DO_WHILE,TRAILING_SEMICOLON,MACRO_ARG_UNUSED,MACRO_WITH_FLOW_CONTROL,STRING_FRAGMENTS,EMBEDDED_FUNCTION_NAME,QUOTED_WHITESPACE_BEFORE_NEWLINE
done

for f in "${files[@]}"; do
	grep -q '^/\*\*' "$f" || continue
	out=$("$ksrc/scripts/kernel-doc" -Wall -none "$f" 2>&1)
	if [ -z "$out" ]; then
		ktap_ok "kernel-doc:$f"
	else
		printf '%s\n' "$out" | sed 's/^/# /'
		ktap_fail "kernel-doc:$f"
	fi
done

ktap_finish

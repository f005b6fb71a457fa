#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Style, with the kernel's own tools from the pristine 6.12 source:
# scripts/checkpatch.pl --strict on every C source and header we ship (the
# kselftests included: they go upstream in the series), and
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
mapfile -t selftests < <(git ls-files 'tools/testing/selftests/*.c' \
	'tools/testing/selftests/*.h')
mapfile -t tools < <(git ls-files 'tools/*.c' 'tools/*.h' |
	grep -v '^tools/testing/selftests/')

echo "KTAP version 1"
echo "1..$(( ${#files[@]} + ${#selftests[@]} + ${#tools[@]} + $(grep -l '^/\*\*' "${files[@]}" | wc -l) ))"

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

# The kselftests are a patch of the series like the kernel code, and held
# to the same --strict.
for f in "${files[@]}" "${selftests[@]}"; do
	checkpatch "$f"
done
# The other userspace tools (the benchmark) stay ours: checkpatch's default
# level, and a usage() that names itself in its message.
for f in "${tools[@]}"; do
	checkpatch "$f" --no-strict --ignore=EMBEDDED_FUNCTION_NAME
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

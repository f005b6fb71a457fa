#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Binary compatibility with the distribution's mdev.ko: the four functions
# Linux 6.12's mdev.ko exports must carry, in our Module.symvers (written by
# `make modules` at the top of the tree), the symbol CRCs, export kind and
# namespace that the Debian headers' Module.symvers gives them.  Modules
# built against Debian's mdev.ko (i915's kvmgt.ko) check those CRCs when
# they load (CONFIG_MODVERSIONS) and refuse ours if one differs
# ("disagrees about version of symbol").  One result per symbol.

set -uo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
. "$here/vm/ktap.sh"
repo=$(cd "$here/../.." && pwd)

syms=(mdev_register_parent mdev_unregister_parent mdev_register_driver
      mdev_unregister_driver)

krel=${KREL:-$(cat "$repo/.krel" 2>/dev/null || true)}
[ -n "$krel" ] || ktap_skip_all "no stock release in .krel (make deps)"
theirs=/lib/modules/$krel/build/Module.symvers
[ -f "$theirs" ] || ktap_skip_all "no $theirs (linux-headers-$krel)"
ours=$repo/Module.symvers

ktap_plan ${#syms[@]}
ktap_diag "ours: $ours; Debian's: $theirs"

# "<crc> <export kind> <namespace>" of symbol $1 in Module.symvers $2
symvers_entry() {
	awk -F '\t' -v s="$1" '$2 == s { print $1, $4, $5; exit }' "$2" 2>/dev/null
}

for s in "${syms[@]}"; do
	t=$(symvers_entry "$s" "$theirs")
	o=$(symvers_entry "$s" "$ours")
	if [ -z "$t" ]; then
		ktap_fail "crc $s" "not in $theirs"
	elif [ -z "$o" ]; then
		ktap_fail "crc $s" "not in $ours (make modules)"
	elif [ "$o" != "$t" ]; then
		ktap_fail "crc $s" "ours '$o', Debian's '$t'"
	else
		ktap_diag "$s: $o"
		ktap_ok "crc $s"
	fi
done

ktap_finish

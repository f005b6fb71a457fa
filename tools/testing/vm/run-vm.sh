#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot a kernel under QEMU (TCG) with the host's root shared read-only over
# virtio-9p, run ONE command in the repository directory and return its exit
# status.  The run fails, whatever the command said, on any kernel report
# (KASAN, UBSAN, lockdep, WARN, BUG, oops, hung task, kmemleak leak ...) in
# the console log or in the kernel log the guest saves at the end.
#
#   run-vm.sh [options] [--] command [args...]
#
#   --kernel stock|debug  stock: Debian's /boot/vmlinuz-<rel> with our modules
#                         built out of tree (default); debug: the kernel of
#                         build-debug-kernel.sh with our modules in tree
#   --timeout SECONDS     kill the VM after this long (default 900)
#   --log FILE            console log (default <scratch>/console.log)
#   --scratch DIR         host directory shared writable as /scratch
#                         (default: a new mktemp -d directory per run)
#   --mem SIZE            guest memory (default 4G)
#   --smp N               guest CPUs (default 2)
#   --append CMDLINE      extra kernel command line
#   --verbose             show all kernel messages on the console (no quiet)
#
# A single argument is run as a bash command line (`run-vm.sh 'a && b'`);
# several are run as one command with arguments.
#
# In the guest: bash runs the command in the same directory as on the host,
# with MDEV_VM_KERNEL=stock|debug, MDEV_SCRATCH=/scratch, MDEV_MODDIR (our
# mdev.ko and vfio_mdev.ko), MDEV_SAMPLEDIR (the samples' .ko), MDEV_REPO,
# MDEV_KREL.  Host variables named MDEV_* are passed through.
#
# The reports are found by scan-reports.sh, which also fails the run on a
# kernel log that wrapped or lost records, on a debug run without a
# complete kmemleak scan, and on anything but the known splats of
# mdev_fault_test inside its expected-report brackets (see there).
#
# Exit status: the command's; 1 for a kernel report after a successful
# command; 124 on timeout; 125 if the guest died without reporting a status.
# <scratch>/result records "status=<n> reports=<n> timeout=<0|1>
# known_warns=<n> alloc_dumps=<n>" (the last two: the expected reports
# tolerated), <scratch>/reports.txt the report lines found,
# <scratch>/.rig/dmesg.txt the kernel log as text ([time][caller] text).

set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
cache=${MDEV_CACHE:-/var/cache/mdev}

kernel=stock
timeout=900
log=
scratch=
mem=4G
smp=2
append=
quiet=quiet

usage() { sed -n '/^#   run-vm.sh/,/^# <scratch>/p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
msg() { echo "run-vm: $*" >&2; }
die() { msg "ERROR: $*"; exit 2; }

while [ $# -gt 0 ]; do
	case $1 in
	--kernel)  kernel=${2:?}; shift 2 ;;
	--timeout) timeout=${2:?}; shift 2 ;;
	--log)     log=${2:?}; shift 2 ;;
	--scratch) scratch=${2:?}; shift 2 ;;
	--mem)     mem=${2:?}; shift 2 ;;
	--smp)     smp=${2:?}; shift 2 ;;
	--append)  append=${2:?}; shift 2 ;;
	--verbose) quiet=; shift ;;
	-h|--help) usage ;;
	--)        shift; break ;;
	-*)        die "unknown option $1 (see --help)" ;;
	*)         break ;;
	esac
done
[ $# -gt 0 ] || die "no command given (see --help)"
case $timeout in ''|*[!0-9]*) die "--timeout wants seconds" ;; esac

command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing (scripts/install-deps.sh)"

# Kernel image, release, module directories.
case $kernel in
stock)
	krel=${MDEV_KREL:-}
	if [ -z "$krel" ]; then
		# The newest installed Debian 6.12 kernel with modules.
		for img in $(ls /boot/vmlinuz-6.12.*-amd64 2>/dev/null | sort -V -r); do
			r=${img#/boot/vmlinuz-}
			if [ -f "/lib/modules/$r/modules.dep" ]; then krel=$r; break; fi
		done
	fi
	[ -n "$krel" ] || die "no Debian 6.12 kernel installed (scripts/install-deps.sh)"
	image=/boot/vmlinuz-$krel
	[ -r "$image" ] || die "$image missing or unreadable"
	moddir=$repo
	sampledir=$repo/samples/vfio-mdev
	debugmods=
	;;
debug)
	# Hold the cache's lock shared for the whole run: a rebuild (which
	# takes it exclusively) must not swap the kernel or its modules
	# under a running VM, and a VM must not boot a half-built kernel.
	# A build announces itself on .build first, so wait there too.
	mkdir -p "$cache/debug"
	exec 7<>"$cache/debug/.build" 8<>"$cache/debug/.lock"
	if ! flock -s -n 7; then
		msg "the debug kernel is being rebuilt; waiting for that to finish"
		flock -s 7
	fi
	flock -s 8
	flock -u 7
	exec 7>&-
	src=$cache/debug/linux
	image=$src/arch/x86/boot/bzImage
	[ -f "$image" ] && [ -f "$cache/debug/release" ] ||
		die "no debug kernel in $cache/debug (run: make debug-kernel)"
	krel=$(cat "$cache/debug/release")
	moddir=$src/drivers/vfio/mdev
	sampledir=$src/samples/vfio-mdev
	debugmods=$cache/debug/modroot/lib/modules/$krel
	[ -d "$debugmods" ] || die "$debugmods missing (run: make debug-kernel)"
	;;
*)
	die "--kernel wants stock or debug"
	;;
esac

initrd=$("$here/build-initramfs.sh" "$kernel" "$krel")

# Per-run scratch directory, shared writable as /scratch.
if [ -z "$scratch" ]; then
	scratch=$(mktemp -d "${TMPDIR:-/tmp}/mdev-vm.XXXXXX")
else
	mkdir -p "$scratch"
fi
scratch=$(cd "$scratch" && pwd)
rig=$scratch/.rig
rm -rf "$rig"
mkdir -p "$rig"
chmod 0777 "$scratch"
log=${log:-$scratch/console.log}
mkdir -p "$(dirname "$log")"
: >"$log"

cp "$here/guest-init.sh" "$rig/guest-init.sh"
{
	# Host MDEV_* variables first, so that ours win.
	while IFS= read -r v; do
		printf 'export %s=%q\n' "$v" "${!v}"
	done < <(compgen -v | grep '^MDEV_' || true)
	printf 'export %s=%q\n' \
		MDEV_VM_KERNEL "$kernel" \
		MDEV_SCRATCH /scratch \
		MDEV_REPO "$repo" \
		MDEV_MODDIR "$moddir" \
		MDEV_SAMPLEDIR "$sampledir" \
		MDEV_KREL "$krel" \
		MDEV_DEBUG_MODULES "$debugmods" \
		MDEV_RIG_DIR /scratch/.rig
} >"$rig/env"
{
	echo "cd $(printf %q "$repo") || exit 127"
	if [ $# -eq 1 ]; then
		printf '%s\n' "$1"
	else
		printf 'exec'
		printf ' %q' "$@"
		printf '\n'
	fi
} >"$rig/cmd"

# no_timer_check: under TCG the IO-APIC timer check fails at random.
# log_buf_len: the fault-injection sweeps log expected allocation-failure
# dumps; the saved kernel log must still hold a whole run.
cmdline="console=ttyS0 panic=-1 no_timer_check log_buf_len=16M $quiet"
[ -z "$debugmods" ] || cmdline+=" mdev_rig_modules=$debugmods"
cmdline+=" mdev_rig_repo=$repo"
cmdline+=" $append"

qemu=(qemu-system-x86_64
	-machine q35 -accel "tcg,thread=${MDEV_TCG_THREAD:-single}"
	-cpu max,la57=off -smp "$smp" -m "$mem"
	-nographic -no-reboot -nodefaults -display none -monitor none -bios qboot.rom
	-chardev "file,id=con,path=$log" -serial chardev:con
	-kernel "$image" -initrd "$initrd" -append "$cmdline"
	-fsdev "local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap"
	-device "virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot"
	-fsdev "local,id=scratch,path=$scratch,security_model=none,multidevs=remap"
	-device "virtio-9p-pci,fsdev=scratch,mount_tag=scratch"
	-fsdev "local,id=repo,path=$repo,security_model=none,readonly=on,multidevs=remap"
	-device "virtio-9p-pci,fsdev=repo,mount_tag=repo"
	-nic none)

qpid=
tailpid=
cleanup() {
	if [ -n "$qpid" ] && kill -0 "$qpid" 2>/dev/null; then
		kill "$qpid" 2>/dev/null || true
		sleep 1
		kill -9 "$qpid" 2>/dev/null || true
	fi
	if [ -n "$tailpid" ]; then kill "$tailpid" 2>/dev/null || true; fi
}
trap cleanup EXIT
trap 'msg "interrupted"; exit 130' INT TERM

msg "kernel $kernel ($krel), timeout ${timeout}s"
msg "scratch: $scratch"
msg "console log: $log"
start=$(date +%s)
"${qemu[@]}" </dev/null &
qpid=$!
tail -n +1 -s 0.2 -F --pid="$qpid" "$log" 2>/dev/null &
tailpid=$!

timed_out=0
while kill -0 "$qpid" 2>/dev/null; do
	if [ $(( $(date +%s) - start )) -ge "$timeout" ]; then
		timed_out=1
		msg "TIMEOUT after ${timeout}s: killing QEMU (pid $qpid)"
		kill "$qpid" 2>/dev/null || true
		sleep 2
		kill -9 "$qpid" 2>/dev/null || true
		break
	fi
	sleep 0.5
done
qrc=0
wait "$qpid" || qrc=$?
qpid=
# tail prints the rest of the log and exits now that QEMU is gone.
wait "$tailpid" 2>/dev/null || true
tailpid=
elapsed=$(( $(date +%s) - start ))
[ "$qrc" = 0 ] || [ "$timed_out" = 1 ] || msg "QEMU exited with status $qrc"

# Kernel reports.  scan-reports.sh reads this definition.
report_re='BUG: |UBSAN:|WARNING:|-+\[ cut here \]-+|(^|[^[:alnum:]])Oops[: ]|kernel BUG|general protection fault|INFO: task .* blocked for more than|rcu: INFO:|detected stalls on CPU|unreferenced object 0x|Call Trace:|Kernel panic|possible recursive locking|possible circular locking|inconsistent lock state|lock held when returning|suspicious RCU usage|ODEBUG:'
reports=$("$here/scan-reports.sh" --kernel "$kernel" --counts "$rig/expected" "$rig" "$log" || true)
nreports=0
[ -z "$reports" ] || nreports=$(printf '%s\n' "$reports" | wc -l)
expected=$(cat "$rig/expected" 2>/dev/null)
# The kernel log for people, as the console shows it.
[ ! -f "$rig/kmsg.txt" ] || awk '
	/^ / { next }
	{
		semi = index($0, ";")
		n = split(substr($0, 1, semi - 1), h, ",")
		c = ""
		for (i = 5; i <= n; i++)
			if (h[i] ~ /^caller=/)
				c = sprintf("[%6s]", substr(h[i], 8))
		printf "[%5d.%06d]%s %s\n", int(h[3] / 1000000), h[3] % 1000000, c, substr($0, semi + 1)
	}' "$rig/kmsg.txt" >"$rig/dmesg.txt"

status=
[ -f "$rig/status" ] && status=$(cat "$rig/status")
echo "status=${status:-none} reports=$nreports timeout=$timed_out $expected" >"$scratch/result"
printf '%s' "$reports${reports:+$'\n'}" >"$scratch/reports.txt"

rc=0
if [ "$timed_out" = 1 ]; then
	msg "FAIL: timed out after ${timeout}s (console log: $log)"
	rc=124
elif [ -z "$status" ]; then
	msg "FAIL: the guest died without reporting an exit status (console log: $log)"
	rc=125
else
	rc=$status
fi
if [ "$nreports" -gt 0 ]; then
	# Name the report by its headline, not by a "Call Trace:" line.
	headline=$(printf '%s\n' "$reports" | grep -v -E 'Call Trace:|cut here' | head -n1)
	[ -n "$headline" ] || headline=$(printf '%s\n' "$reports" | head -n1)
	headline=$(printf '%s\n' "$headline" | sed -E 's/^\[ *[0-9.]+\](\[ *[TC][0-9]+\])? ?//')
	case $headline in
	"mdev-rig: "*) msg "FAIL: in the $kernel VM: ${headline#mdev-rig: }" ;;
	*) msg "FAIL: KERNEL REPORT in $kernel kernel: $headline" ;;
	esac
	printf '%s\n' "$reports" | head -n 20 | sed 's/^/run-vm:   | /' >&2
	[ "$nreports" -le 20 ] || msg "      ... $((nreports - 20)) more in $scratch/reports.txt"
	msg "      full kernel log: $rig/dmesg.txt, console log: $log"
	[ -s "$rig/kmemleak.txt" ] && msg "      kmemleak report: $rig/kmemleak.txt"
	[ "$rc" != 0 ] || rc=1
fi
[ -n "$status" ] && msg "command exited with status $status"
case $expected in
*=[1-9]*) msg "expected reports tolerated in mdev_fault_test's brackets: $expected" ;;
esac
msg "$kernel VM finished in ${elapsed}s, exit status $rc"
exit "$rc"

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# mdev-timeout: 2700
#
# QEMU 10 (tools/testing/vm/qemu10.sh) migrating a running guest with its
# mtty device, the way users do it, then restarting its QEMU with SIGKILL.
# One nested guest (e2e/mig-guest-init) keeps a serial session going on a
# single-port mtty card the whole time: numbered messages written and read
# back through the loopback plug by its 8250 driver, with interrupts, each
# checked byte for byte.
#
# 1. Live migration: two mtty-1 devices; the source QEMU runs the guest
#    with the first, a destination QEMU waits with the second and
#    `-incoming tcp:127.0.0.1:...`; `migrate` over TCP while the session
#    runs.  Then: the migration completed (query-migrate's status and
#    downtime are printed), the guest runs on the destination and its
#    session goes on through the switch with no message lost, damaged or
#    duplicated, the UART's LCR, IER, scratch and divisor read the same
#    before and after, and the source's device, once its QEMU quits, is
#    closed and removable at once.
# 2. A migration to a destination of another type (an mtty-2 device) must
#    fail, and the guest go on running on its source.
# 3. Restarts: the guest's state is saved to a file once, its session
#    paused (a state saved with an interrupt in flight came back with the
#    INTx line stuck: "irq 21: nobody cared"); then 20 times a QEMU resumes
#    it from that file with the same mdev, the guest unbinds its 8250
#    driver from the card and binds it again, talks through it (a few
#    interrupts per message, not a storm), and the QEMU is killed with
#    SIGKILL in the middle of that.  The next
#    QEMU opens the device at once ("already in use" would fail it).  The
#    device's open count (mtty's module reference count: vfio_mdev holds
#    one per open device), the eventfds of each QEMU and of the whole VM,
#    the VM's /proc/interrupts and available_instances must come back to
#    where they were.
#
# Dirty tracking: QEMU 10 migrates a VFIO device only if it tracks the
# pages it dirties, unless forced with enable-migration=on.  mtty offers
# DMA dirty logging that honestly finds nothing, but the VFIO core can
# only report dirty pages with CONFIG_IOMMUFD_DRIVER, which Debian's 6.12
# lacks (it has no IOMMUFD at all); there vfio_mdev does not offer the
# feature (every report would fail, and with it the migration).  So on
# such a kernel this suite checks that QEMU refuses the migration with its
# own message, then migrates with enable-migration=on (QEMU then relies on
# the type1 container's tracking).  On a kernel built with our Kconfig,
# such as the debug kernel, VFIO_MDEV_DEVICE selects IOMMUFD_DRIVER, and
# the suite migrates without the option (there a kernel that cannot report
# is a failure).
#
# Backend: where the kernel has iommufd and the VFIO device cdev (always on
# the debug kernel, which must have them), both QEMUs open the device
# through them (-object iommufd and the device's iommufd= property), and
# the suite checks that they did; elsewhere through the type1 container.  MDEV_MIG_BACKEND=container
# forces the container.
#
# Time in the stock VM: the guest boots in about 210 s, the migrations
# take about 200 s, each restart 50-70 s (QEMU loading the saved state
# and the guest's rebind, under TCG in TCG): with 20 restarts about 27
# minutes (1406 s measured), too long for `make check`'s stock VM: the
# suite runs only when asked, MDEV_MIGRATION=1, which `make
# check-migration` sets (on both kernels, side by side); MDEV_MIG_RESTARTS=2
# makes it about 9.  The debug kernel restarts 3 times by default.
#
# Tunables: MDEV_MIG_RESTARTS (default 20, debug kernel 3), MDEV_MIG_BACKEND
# (iommufd or container; default iommufd where the kernel has it),
# MDEV_E2E_KERNEL (guest kernel).

here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/ktap.sh"
. "$here/lib.sh"

[ "${MDEV_MIGRATION:-}" = 1 ] ||
	ktap_skip_all "27 minutes: only with MDEV_MIGRATION=1 (make check-migration)"

if [ "${MDEV_VM_KERNEL:-}" = debug ]; then
	restarts=${MDEV_MIG_RESTARTS:-3}
	boot_timeout=900
else
	restarts=${MDEV_MIG_RESTARTS:-20}
	boot_timeout=600
fi
types=/sys/class/mdev_bus/mtty/mdev_supported_types
total=18

guest_kernel=${MDEV_E2E_KERNEL:-$(ls /boot/vmlinuz-6.12.*-amd64 2>/dev/null | sort -V | tail -n 1)}
[ -r "$guest_kernel" ] || ktap_skip_all "no Debian 6.12 kernel for the guest in /boot"
[ -f "$(mdev_ko mtty)" ] || ktap_skip_all "mtty.ko not built"
qemu=$("$here/qemu10.sh" --print) || ktap_skip_all "no QEMU 10 (run tools/testing/vm/qemu10.sh)"
prefix=${qemu%/usr/bin/qemu-system-x86_64}
qmp_py=$here/qmp.py

work=$MDEV_SCRATCH/mig-e2e
mkdir -p "$work"
# Sockets, FIFOs and the saved state cannot be on /scratch (9p)
run=$(mktemp -d /tmp/mig-e2e.XXXXXX)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill -9 "$p" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$run"
}
trap cleanup EXIT

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# Skip the results not reached, up to the plan, and stop
skip_rest() {
	while [ "$KTAP_N" -lt "$total" ]; do
		ktap_skip "step_$((KTAP_N + 1))" "$1"
	done
	ktap_finish
}

qmp() { "$qmp_py" "$@"; }

# The JSON value of key $2 in the JSON text $1 (a number, a string's text)
jval() {
	python3 -c 'import json, sys
v = json.loads(sys.argv[1])
for k in sys.argv[2].split("."):
    v = v.get(k, {}) if isinstance(v, dict) else {}
print("" if v == {} else v)' "$1" "$2"
}

# start_qemu <name> <mdev uuid> [args...]: a QEMU 10 with the guest and the
# device; its console is the FIFO pair $run/<name>.{in,out}, copied into
# $work/<name>.log; its QMP socket $run/<name>.qmp.  Sets QPID.
start_qemu() {
	local name=$1 uuid=$2

	shift 2
	rm -f "$run/$name.in" "$run/$name.out"
	mkfifo "$run/$name.in" "$run/$name.out"
	: >"$work/$name.log"
	cat "$run/$name.out" >>"$work/$name.log" &
	pids+=($!)
	# See 40-mtty-e2e.sh for -cpu max,-cx16, qboot and the command line.
	"$qemu" -L "$prefix/usr/share/qemu" -L /usr/share/seabios \
		-M q35 -accel tcg -cpu max,-cx16 -m 256M -smp 1 \
		-nodefaults -no-user-config -display none -monitor none \
		-no-reboot -qmp "unix:$run/$name.qmp,server=on,wait=off" \
		-chardev "pipe,id=con,path=$run/$name" -serial chardev:con \
		-bios qboot.rom -kernel "$vmlinux" -initrd "$initrd" \
		-append "console=ttyS0 quiet panic=-1 mitigations=off cryptomgr.notests no_timer_check" \
		-device pcie-root-port,id=rp1,chassis=1,slot=1 \
		${iommufd_obj:+-object "$iommufd_obj"} \
		-device "vfio-pci,sysfsdev=/sys/bus/mdev/devices/$uuid,bus=rp1$iommufd_opt$mig_opt" \
		"$@" </dev/null >/dev/null 2>"$work/$name.stderr" &
	QPID=$!
	pids+=("$QPID")
}

# to_guest <name> <command>: a line on that QEMU's console
to_guest() {
	timeout 10 sh -c 'echo "$2" >"$1"' - "$run/$1.in" "$2"
}

# The last "MIG chunk" sequence number in a log, 0 if none
last_seq() {
	local n

	n=$(grep -a '^MIG chunk seq=' "$1" 2>/dev/null | tail -n 1 |
		sed -n 's/^MIG chunk seq=\([0-9][0-9]*\) .*/\1/p')
	echo "${n:-0}"
}

# wait_log <log> <regex> <seconds> [pid]: until a line matches; fails on
# timeout or when the QEMU <pid> is gone
wait_log() {
	local until=$(($(date +%s) + $3))

	while [ "$(date +%s)" -lt "$until" ]; do
		grep -aq "$2" "$1" && return 0
		[ -n "${4:-}" ] && ! kill -0 "$4" 2>/dev/null && { grep -aq "$2" "$1"; return; }
		sleep 0.5
	done
	return 1
}

# wait_seq <log> <n> <seconds> [pid]: until a chunk numbered >= n
wait_seq() {
	local until=$(($(date +%s) + $3))

	while [ "$(date +%s)" -lt "$until" ]; do
		[ "$(last_seq "$1")" -ge "$2" ] && return 0
		[ -n "${4:-}" ] && ! kill -0 "$4" 2>/dev/null && return 1
		sleep 0.5
	done
	return 1
}

# wait_migrated <qmp socket> <seconds>: query-migrate once it is over
wait_migrated() {
	local until=$(($(date +%s) + $2)) out

	while [ "$(date +%s)" -lt "$until" ]; do
		out=$(qmp "$1" query-migrate 2>&1) || { echo "$out"; return 1; }
		case $(jval "$out" status) in
		completed | failed | cancelled) echo "$out"; return 0 ;;
		esac
		sleep 0.5
	done
	echo "$out"
	return 1
}

# Guest lines of the logs as diagnostics: the first and last chunks, and
# every line that is not a chunk
show_guest() {
	local log=$1 tag=$2

	tr -d '\r' <"$log" | grep -a '^MIG' |
		awk -v t="$tag" '/^MIG chunk/ { last = $0; if (!n++) print t ": " $0; next }
			{ if (last != "") print t ": " last; last = ""; print t ": " $0 }
			END { if (last != "") print t ": " last }' |
		while IFS= read -r l; do ktap_diag "$l"; done
}

# Messages and bytes of the whole session: the logs in order, so that a
# line cut by the switch is whole again.  Prints "<first> <last> <gaps>
# <bad> <sent> <got>": <gaps> counts sequence numbers missing or repeated,
# <bad> the guest's count of messages that did not come back exactly
session_sums() {
	cat "$@" | tr -d '\r' | grep -a '^MIG \(chunk\|bad\)' | awk '
		/^MIG bad/ { next }
		{
			for (i = 3; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
			s = v["seq"] + 0
			if (n++ && s != prev + 1) gaps++
			if (n == 1) first = s
			prev = s; bad = v["bad"]; sent = v["sent"]; got = v["got"]
		}
		END { printf "%d %d %d %d %d %d\n", first, prev, gaps + 0, bad, sent, got }'
}

# chunk_irq <log> <seq>: the interrupt count on that message's line
chunk_irq() {
	tr -d '\r' <"$1" | grep -a "^MIG chunk seq=$2 " | tail -n 1 | sed 's/.*irq=//'
}

# The "MIG regs" values of a log, last line: "lcr=.. ier=.. scr=.. dll=.. dlm=.."
regs_of() {
	tr -d '\r' <"$1" | grep -a '^MIG regs' | tail -n 1 | sed 's/^MIG regs seq=[0-9]* //'
}

# What a leak would change: mtty's module references (one per open
# device), the VM's eventfds and interrupt lines, the free instances
leak_state() {
	local fds

	fds=$(find /proc/[0-9]*/fd -lname 'anon_inode:\[eventfd\]' 2>/dev/null | wc -l)
	echo "mtty_refs=$(cat /sys/module/mtty/refcnt) eventfds=$fds" \
	     "irq_lines=$(wc -l </proc/interrupts)" \
	     "avail1=$(cat "$types/mtty-1/available_instances")" \
	     "avail2=$(cat "$types/mtty-2/available_instances")"
}

ktap_plan "$total"
ip link set lo up

mdev_unload_all
ktap_test "load_mtty" mdev_load mtty

devs=()
for t in mtty-1 mtty-1 mtty-2; do
	u=$(mdev_uuid)
	echo "$u" >"$types/$t/create" 2>/dev/null && devs+=("$u")
done
if [ ${#devs[@]} = 3 ]; then
	ktap_ok "create_devices"
else
	ktap_fail "create_devices" "created ${#devs[@]} of 3"
	skip_rest "no devices"
fi
src_dev=${devs[0]} dst_dev=${devs[1]} other_dev=${devs[2]}
ktap_diag "source mtty-1 $src_dev, destination mtty-1 $dst_dev, other mtty-2 $other_dev; $("$qemu" --version | head -n 1)"

# The guest: Debian's kernel unpacked, the e2e initramfs with our /init
# appended (the kernel unpacks concatenated archives in order, and a later
# file replaces an earlier one).
vmlinux=$("$here/e2e/guest-vmlinux.sh" "$guest_kernel" "$run") &&
base=$("$here/e2e/build-guest-initramfs.sh" "$work/cache") || {
	ktap_fail "guest_image" "cannot unpack the kernel or build the initramfs"
	skip_rest "no guest"
}
mkdir -p "$run/stage"
cp "$here/e2e/mig-guest-init" "$run/stage/init"
chmod 0755 "$run/stage/init"
initrd=$run/initrd.cpio
{ cat "$base"; (cd "$run/stage" && echo init | cpio -o -H newc --owner=0:0 --quiet); } >"$initrd"
ktap_ok "guest_image"

# Dirty tracking, see the top: QEMU's refusal first, where it must refuse
mig_opt=
reports=no
grep -q ' iova_bitmap_for_each$' /proc/kallsyms && reports=yes
if [ "$reports" = no ] && [ "${MDEV_VM_KERNEL:-}" = debug ]; then
	# Built with our Kconfig, where VFIO_MDEV_DEVICE selects IOMMUFD_DRIVER
	ktap_fail "refused_without_dirty_tracking" "the debug kernel cannot report dirty pages (no iova_bitmap): IOMMUFD_DRIVER is not selected"
	mig_opt=,enable-migration=on
elif [ "$reports" = yes ]; then
	ktap_diag "the kernel reports dirty pages: migrating without enable-migration=on"
	ktap_skip "refused_without_dirty_tracking" "the kernel can report dirty pages"
else
	# A QEMU without a guest is enough for the refusal
	"$qemu" -L "$prefix/usr/share/qemu" -L /usr/share/seabios -M q35 -accel tcg \
		-m 64M -nodefaults -display none -monitor none -S \
		-qmp "unix:$run/probe.qmp,server=on,wait=off" \
		-device "vfio-pci,sysfsdev=/sys/bus/mdev/devices/$other_dev" \
		</dev/null >/dev/null 2>"$work/probe.stderr" &
	ppid=$!
	pids+=("$ppid")
	out=$(qmp "$run/probe.qmp" migrate '{"uri": "tcp:127.0.0.1:4499"}' 2>&1)
	qmp "$run/probe.qmp" quit >/dev/null 2>&1
	wait "$ppid" 2>/dev/null
	ktap_diag "without enable-migration=on, QEMU said: $out"
	if grep -q "doesn't support device and IOMMU dirty tracking" <<<"$out"; then
		ktap_ok "refused_without_dirty_tracking"
	else
		ktap_fail "refused_without_dirty_tracking" "migrate was not refused for dirty tracking"
	fi
	mig_opt=,enable-migration=on
	ktap_diag "the kernel cannot report dirty pages (no CONFIG_IOMMUFD_DRIVER): migrating with enable-migration=on"
fi

# The backend, see the top
# (the debug kernel has iommufd and the cdev: no fallback to the container)
backend=${MDEV_MIG_BACKEND:-}
if [ -z "$backend" ] && [ "${MDEV_VM_KERNEL:-}" = debug ]; then
	backend=iommufd
elif [ -z "$backend" ]; then
	if [ -c /dev/iommu ] && ls -d /sys/bus/mdev/devices/"$src_dev"/vfio-dev/vfio* >/dev/null 2>&1; then
		backend=iommufd
	else
		backend=container
	fi
fi
iommufd_obj= iommufd_opt=
if [ "$backend" = iommufd ]; then
	iommufd_obj=iommufd,id=iommufd0
	iommufd_opt=,iommufd=iommufd0
fi
ktap_diag "QEMU opens the devices through the $backend backend"

# The VFIO files a QEMU holds open, by name, sorted and counted
vfio_fds() {
	find "/proc/$1/fd" -type l -printf '%l\n' 2>/dev/null |
		sed -n 's|^\(/dev/iommu\)$|\1|p; s|^\(/dev/vfio/devices\)/vfio[0-9]*$|\1/vfioN|p; s|^\(/dev/vfio/vfio\)$|\1|p; s|^/dev/vfio/[0-9]*$|/dev/vfio/GROUP|p' |
		LC_ALL=C sort | uniq -c | awk '{ printf "%s%s x%s", n++ ? ", " : "", $2, $1 } END { print "" }'
}

# The source, booted; it migrates once its session runs
t_boot=$(now)
start_qemu src "$src_dev"
src_pid=$QPID
if wait_seq "$work/src.log" 5 "$boot_timeout" "$src_pid"; then
	ktap_ok "source_guest_session"
else
	ktap_fail "source_guest_session" "no session on the source after ${boot_timeout}s"
	show_guest "$work/src.log" src
	sed 's/^/# qemu src: /' "$work/src.stderr"
	skip_rest "no guest"
fi
ktap_diag "source guest booted and talking in $(secs "$t_boot" "$(now)") s"

# The session above ran on the device opened through the chosen backend:
# iommufd is /dev/iommu and the device's cdev, with no container or group
src_fds=$(vfio_fds "$src_pid")
ktap_diag "source QEMU's VFIO files: $src_fds"
case $backend in
iommufd) want='/dev/iommu x1, /dev/vfio/devices/vfioN x1' ;;
*)       want='/dev/vfio/GROUP x1, /dev/vfio/vfio x1' ;;
esac
if [ "$src_fds" = "$want" ]; then
	ktap_ok "source_uses_$backend"
else
	ktap_fail "source_uses_$backend" "expected '$want'"
fi

to_guest src regs
wait_log "$work/src.log" '^MIG regs' 180 "$src_pid"
regs_before=$(regs_of "$work/src.log")

start_qemu dst "$dst_dev" -incoming tcp:127.0.0.1:4444
dst_pid=$QPID
qmp "$run/dst.qmp" query-status >/dev/null

t_mig=$(now)
seq_start=$(last_seq "$work/src.log")
src_state0=$(leak_state)
out=$(qmp "$run/src.qmp" migrate '{"uri": "tcp:127.0.0.1:4444"}' 2>&1)
res=$(wait_migrated "$run/src.qmp" 300)
seq_end=$(last_seq "$work/src.log")
status=$(jval "$res" status)
ktap_diag "src QMP migrate: ${out:-ok}; query-migrate: status=$status" \
	"total-time=$(jval "$res" total-time)ms downtime=$(jval "$res" downtime)ms" \
	"setup-time=$(jval "$res" setup-time)ms" \
	"ram.transferred=$(jval "$res" ram.transferred) ram.total=$(jval "$res" ram.total)" \
	"error=$(jval "$res" error-desc)"
ktap_diag "messages: before migrate up to seq $seq_start, during up to seq $seq_end (source's last), in $(secs "$t_mig" "$(now)") s"
if [ "$status" = completed ]; then
	ktap_ok "migration_completed"
else
	ktap_fail "migration_completed" "status '$status'"
fi

src_run=$(jval "$(qmp "$run/src.qmp" query-status 2>&1)" status)
dst_run=$(jval "$(qmp "$run/dst.qmp" query-status 2>&1)" status)
ktap_diag "after the switch: source QEMU $src_run, destination QEMU $dst_run"

# The session goes on at the destination
if [ "$dst_run" = running ] && wait_seq "$work/dst.log" $((seq_end + 5)) 120 "$dst_pid"; then
	ktap_ok "session_continues_on_destination"
else
	ktap_fail "session_continues_on_destination" "destination $dst_run, last message $(last_seq "$work/dst.log")"
fi
to_guest dst regs
wait_log "$work/dst.log" '^MIG regs' 180 "$dst_pid"
regs_after=$(regs_of "$work/dst.log")
ktap_diag "UART registers before: $regs_before"
ktap_diag "UART registers after:  $regs_after"
if [ -n "$regs_before" ] && [ "$regs_before" = "$regs_after" ] &&
   [[ $regs_after == *"scr=a5 dll=0c dlm=00" ]]; then
	ktap_ok "registers_same_after"
else
	ktap_fail "registers_same_after" "'$regs_before' became '$regs_after'"
fi

read -r first last gaps bad sent got < <(session_sums "$work/src.log" "$work/dst.log")
ktap_diag "session so far: messages $first..$last, $gaps out of order or repeated, $bad damaged, bytes sent $sent, received $got"
if [ "$first" = 1 ] && [ "$gaps" = 0 ] && [ "$bad" = 0 ] && [ "$sent" = "$got" ] &&
   [ "$last" -gt "$seq_end" ]; then
	ktap_ok "no_byte_lost_or_duplicated"
else
	ktap_fail "no_byte_lost_or_duplicated" "first $first last $last gaps $gaps bad $bad sent $sent got $got"
fi
irq_src=$(tr -d '\r' <"$work/src.log" | grep -a '^MIG chunk' | sed -n '1s/.*irq=//p')
irq_dst=$(tr -d '\r' <"$work/dst.log" | grep -a '^MIG chunk' | tail -n 1 | sed 's/.*irq=//')
ktap_diag "guest's interrupt count of the card: $irq_src at the first message, $irq_dst at the last"

# The source quits; its device is closed and goes at once
qmp "$run/src.qmp" quit >/dev/null 2>&1
wait "$src_pid" 2>/dev/null
t_rm=$(now)
if timeout 10 sh -c 'echo 1 >"$1"' - "/sys/bus/mdev/devices/$src_dev/remove" &&
   [ ! -e "/sys/bus/mdev/devices/$src_dev" ]; then
	ktap_ok "source_device_removable"
else
	ktap_fail "source_device_removable" "remove failed or blocked"
fi
ktap_diag "source device removed in $(secs "$t_rm" "$(now)") s after its QEMU quit; $src_state0 during the migration, $(leak_state) now"
show_guest "$work/src.log" "guest (src)"
sed 's/^/# qemu src: /' "$work/src.stderr"

# 2. To an mtty-2: must fail, the guest stays on its source
start_qemu other "$other_dev" -incoming tcp:127.0.0.1:4445
other_pid=$QPID
qmp "$run/other.qmp" query-status >/dev/null
seq_x=$(last_seq "$work/dst.log")
out=$(qmp "$run/dst.qmp" migrate '{"uri": "tcp:127.0.0.1:4445"}' 2>&1)
res=$(wait_migrated "$run/dst.qmp" 300)
status=$(jval "$res" status)
dst_run=$(jval "$(qmp "$run/dst.qmp" query-status 2>&1)" status)
ktap_diag "to mtty-2: QMP migrate: ${out:-ok}; query-migrate: status=$status error=$(jval "$res" error-desc); the source QEMU is $dst_run"
if [ "$status" = failed ] && [ "$dst_run" = running ] &&
   wait_seq "$work/dst.log" $((seq_x + 5)) 120 "$dst_pid"; then
	ktap_ok "cross_type_fails_source_runs"
else
	ktap_fail "cross_type_fails_source_runs" "status '$status', source '$dst_run', last message $(last_seq "$work/dst.log") (was $seq_x)"
fi
sleep 2
kill -0 "$other_pid" 2>/dev/null && qmp "$run/other.qmp" quit >/dev/null 2>&1
wait "$other_pid" 2>/dev/null
sed 's/^/# qemu mtty-2 destination: /' "$work/other.stderr"
if timeout 10 sh -c 'echo 1 >"$1"' - "/sys/bus/mdev/devices/$other_dev/remove"; then
	ktap_ok "cross_type_device_removable"
else
	ktap_fail "cross_type_device_removable" "remove failed or blocked"
fi

# 3. Restarts.  The guest's state, saved once, is where each QEMU starts:
# saved with the session paused, so that no interrupt is in flight in it.
to_guest dst pause
wait_log "$work/dst.log" '^MIG stopped' 180 "$dst_pid"
stopped=$(tr -d '\r' <"$work/dst.log" | grep -a '^MIG stopped' | tail -n 1)
ktap_diag "guest: ${stopped:-no stopped line}"
read -r first last gaps bad sent got < <(session_sums "$work/src.log" "$work/dst.log")
out=$(qmp "$run/dst.qmp" migrate "{\"uri\": \"file:$run/saved\"}" 2>&1)
res=$(wait_migrated "$run/dst.qmp" 300)
ktap_diag "guest state saved: $(jval "$res" status), $(du -m "$run/saved" 2>/dev/null | cut -f1) MiB ${out}"
kill -9 "$dst_pid"
wait "$dst_pid" 2>/dev/null
show_guest "$work/dst.log" "guest (dst)"
sed 's/^/# qemu dst: /' "$work/dst.stderr"

base_state=$(leak_state)
ktap_diag "before the restarts: $base_state"
# The paused session's last message: the resumed guests go on from there
s0=$(sed -n 's/^MIG stopped seq=\([0-9]*\) .*/\1/p' <<<"$stopped")
fail=
[[ $stopped == *" extra=0" ]] ||
	fail="before the restarts: the session did not end cleanly: '$stopped'"
evs=()
t_restarts=$(now)
for i in $(seq 1 "$restarts"); do
	[ -z "$fail" ] || break
	t_i=$(now)
	name=r$i
	start_qemu "$name" "$dst_dev" -incoming "file:$run/saved"
	pid=$QPID
	st=
	for _ in $(seq 120); do
		st=$(jval "$(qmp "$run/$name.qmp" query-status 2>/dev/null)" status)
		[ "$st" = running ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.5
	done
	if [ "$st" != running ]; then
		fail="restart $i: QEMU is '$st': $(tr '\n' ' ' <"$work/$name.stderr")"
	else
		to_guest "$name" rebind
		wait_log "$work/$name.log" '^MIG rebind result=ok' 120 "$pid" ||
			fail="restart $i: the guest's driver did not bind: $(tr -d '\r' <"$work/$name.log" | grep -a '^MIG rebind')"
	fi
	# Two messages through the freshly bound driver, and the kill comes
	# while the session goes on
	if [ -z "$fail" ]; then
		wait_seq "$work/$name.log" $((s0 + 3)) 60 "$pid" ||
			fail="restart $i: no session after the rebind"
		irq0=$(chunk_irq "$work/$name.log" $((s0 + 1)))
		irq1=$(chunk_irq "$work/$name.log" $((s0 + 3)))
		# A few interrupts per message, not a storm and not none
		[ -n "$fail" ] || [ $((irq1 - irq0)) -ge 2 ] && [ $((irq1 - irq0)) -le 40 ] ||
			fail="restart $i: ${irq0:-?} -> ${irq1:-?} interrupts over two messages after the rebind"
	fi
	evs+=("$(find "/proc/$pid/fd" -lname 'anon_inode:\[eventfd\]' 2>/dev/null | wc -l)")
	kill -9 "$pid"
	wait "$pid" 2>/dev/null
	grep -aq 'nobody cared' "$work/$name.log" &&
		ktap_diag "restart $i: the restored guest saw an interrupt storm: $(tr -d '\r' <"$work/$name.log" | grep -a 'nobody cared\|Disabling IRQ' | tr '\n' ' ')"
	[ -z "$fail" ] || break
	read -r _ _ _ rbad rsent rgot < <(session_sums "$work/$name.log")
	if [ "$rbad" != "$bad" ]; then
		fail="restart $i: damaged messages ($rbad, before the restarts $bad)"
		break
	fi
	ktap_diag "restart $i: $(tr -d '\r' <"$work/$name.log" | grep -a '^MIG rebind' | tail -n 1 | cut -c5-)," \
		"last message $(last_seq "$work/$name.log") sent=$rsent got=$rgot," \
		"QEMU's eventfds ${evs[-1]}, $(secs "$t_i" "$(now)") s; after SIGKILL: $(leak_state)"
done
if [ -z "$fail" ]; then
	ktap_ok "restarts_${restarts}_rebind"
else
	ktap_fail "restarts_${restarts}_rebind" "$fail"
	for f in "$work"/r*.stderr; do
		[ -s "$f" ] && sed "s|^|# qemu $(basename "$f" .stderr): |" "$f"
	done
fi
ktap_diag "$restarts restarts in $(secs "$t_restarts" "$(now)") s"

end_state=$(leak_state)
ktap_diag "after the restarts: $end_state"
if [ "$end_state" = "$base_state" ]; then
	ktap_ok "restarts_nothing_leaked"
else
	ktap_fail "restarts_nothing_leaked" "'$base_state' became '$end_state'"
fi
if [ ${#evs[@]} -gt 0 ] && [ "$(printf '%s\n' "${evs[@]}" | sort -u | wc -l)" = 1 ]; then
	ktap_ok "restarts_same_eventfds"
else
	ktap_fail "restarts_same_eventfds" "per QEMU: ${evs[*]}"
fi
if timeout 10 sh -c 'echo 1 >"$1"' - "/sys/bus/mdev/devices/$dst_dev/remove"; then
	ktap_ok "restarted_device_removable"
else
	ktap_fail "restarted_device_removable" "remove failed or blocked"
fi

if [ -z "$(ls /sys/bus/mdev/devices)" ] &&
   [ "$(cat "$types/mtty-1/available_instances")" = 24 ] && mdev_unload mtty; then
	ktap_ok "cleanup"
else
	ktap_fail "cleanup" "device left, or mtty busy"
fi
ktap_finish

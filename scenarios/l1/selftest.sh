#!/bin/bash
# Self test of the nested L1 lane, run on the host:  scenarios/l1/selftest.sh
#
# Boots L1 three times through tools/l1-run and checks:
#   io       stdout/stderr reach the caller separately and byte-exact, the exit
#            code is exact, the work dir and --rw dirs are writable shares,
#            --env reaches the command
#   inside   (this script re-run inside L1 with --inside) the trixie kernel,
#            a real KVM guest run, kvm tracepoints, bpftool, and which BPF
#            attach kinds load, attach and fire (probecheck)
#   vfio     q35 + intel-iommu + edu boots with intel_iommu=on, the edu
#            device is in an IOMMU group, and vfio-pci can bind it
# Ends with "N passed, N failed"; exit 0 only if nothing failed.
set -uo pipefail
# shellcheck disable=SC2016  # the single-quoted scripts expand inside L1

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
L1RUN=$ROOT/tools/l1-run
CACHE=${L1_CACHE_DIR:-$ROOT/scenarios/cache}/l1
PASS=0 FAIL=0

ok() { echo "ok   $*"; PASS=$((PASS + 1)); }
bad() { echo "FAIL $*"; FAIL=$((FAIL + 1)); }
check() {	# check NAME COMMAND...: pass if COMMAND succeeds
	local name=$1
	shift
	if "$@" >/tmp/l1-selftest.$$.out 2>&1; then
		ok "$name"
	else
		bad "$name: $(tr '\n' ' ' </tmp/l1-selftest.$$.out | cut -c1-300)"
	fi
	rm -f /tmp/l1-selftest.$$.out
}
summary() {
	echo "$PASS passed, $FAIL failed"
	((FAIL == 0))
}

# --- inside L1 -----------------------------------------------------------------

inside() {
	local want
	want=$(basename "$L1_KERNEL_BASE")
	want=${want#kernel-}
	check "uname -r is the cached trixie kernel ($want)" test "$(uname -r)" = "$want"
	check "/dev/kvm is a char device" test -c /dev/kvm
	check "kvmcheck runs a KVM guest with an irqchip" "$CACHE"/kvmcheck
	check "kvm tracepoints exist" test -d /sys/kernel/tracing/events/kvm/kvm_msi_set_irq
	check "vfio modules loaded" test -d /sys/module/vfio_pci -a -d /sys/module/vfio_iommu_type1
	check "BTF present" test -s /sys/kernel/btf/vmlinux
	check "bpftool prog list" bpftool prog list
	check "bpftool sees L1's kernel config" \
		sh -c 'bpftool feature probe kernel | grep -q "CONFIG_KPROBE_EVENTS is set to y"'
	# the text interface first: it says whether kprobes exist at all
	check "kprobe_events accepts eventfd_signal_mask" sh -c '
		echo "p:l1selftest eventfd_signal_mask" >>/sys/kernel/tracing/kprobe_events &&
		echo "-:l1selftest" >>/sys/kernel/tracing/kprobe_events'
	local out
	out=$("$CACHE"/probecheck "$CACHE"/probecheck.bpf.o 2>&1)
	local rc=$?
	echo "$out" | sed 's/^/     /'
	if ((rc == 0)); then
		ok "probecheck: tracepoint, kprobe, fentry load, attach and fire"
	else
		bad "probecheck (exit $rc)"
	fi
	summary
}

# --- on the host -----------------------------------------------------------------

io_test() {
	local tmp rw rc
	tmp=$(mktemp -d) rw=$(mktemp -d /tmp/l1-selftest-rw.XXXXXX)
	# CR, LF, NUL, and no trailing newline: nothing may be converted
	(cd "$tmp" && "$L1RUN" --quiet --rw "$rw" --env 'L1_T=a b'"'"'c' -- bash -c '
		printf "out\r\nline2\0end"; printf "err\r\n" >&2
		echo "$L1_T" >work.txt; echo rw >"$1/rw.txt"; exit 42' _ "$rw" \
		>"$tmp"/stdout 2>"$tmp"/stderr)
	rc=$?
	check "io: exit code 42 passes through" test "$rc" = 42
	check "io: stdout byte-exact" cmp "$tmp"/stdout <(printf 'out\r\nline2\0end')
	check "io: stderr byte-exact and separate" cmp "$tmp"/stderr <(printf 'err\r\n')
	check "io: work dir written, --env value intact" cmp "$tmp"/work.txt <(printf "a b'c\n")
	check "io: --rw /tmp dir written" cmp "$rw"/rw.txt <(echo rw)
	rm -rf "$tmp" "$rw"
}

vfio_test() {
	# what the nested vfio lane will run: edu (1234:11e8) behind an emulated
	# VT-d with interrupt remapping, bound to vfio-pci
	local out rc
	out=$("$L1RUN" --quiet --append "intel_iommu=on" \
		--extra-qemu-args '-device intel-iommu,intremap=on,caching-mode=on -device edu' -- sh -c '
		d=$(grep -l 0x11e8 /sys/bus/pci/devices/*/device | head -n1) || exit 3
		d=$(dirname "$d"); bdf=$(basename "$d")
		echo "edu at $bdf, iommu group $(basename "$(readlink "$d/iommu_group")")"
		echo vfio-pci >"$d/driver_override" && echo "$bdf" >/sys/bus/pci/drivers_probe
		echo "driver: $(basename "$(readlink "$d/driver")")"
		ls /dev/vfio' 2>&1)
	rc=$?
	echo "$out" | sed 's/^/     /'
	check "vfio: edu behind intel-iommu bound to vfio-pci" \
		sh -c 'test "$1" = 0 && echo "$2" | grep -q "driver: vfio-pci" && echo "$2" | grep -q "iommu group [0-9]"' \
		_ "$rc" "$out"
}

if [[ ${1:-} == --inside ]]; then
	[[ ${L1_RUN:-} == 1 ]] || { echo "--inside runs in L1 only (through tools/l1-run)" >&2; exit 2; }
	inside
	exit
fi

io_test
echo "inside L1:"
"$L1RUN" --quiet -- "$HERE"/selftest.sh --inside >/tmp/l1-selftest-inside.$$ 2>&1
rc=$?
sed 's/^/  /' /tmp/l1-selftest-inside.$$
rm -f /tmp/l1-selftest-inside.$$
check "inside L1: all checks (l1-run exit $rc)" test "$rc" = 0
vfio_test
summary

#!/bin/bash
# Runs the live tests (root, BPF, KVM) of the build dir $1.
#   tests/run-live.sh BUILD                 live_host, live_kvm, live_qemu, live_accuracy
#   tests/run-live.sh BUILD TEST [ARGS...]  just this KVM test (e.g. live_accuracy)
#
# live_host needs root and BPF only: it runs on this kernel as it is.
# The KVM tests need /dev/kvm too. Where this kernel has none (a PVM guest,
# a container), they run inside the nested L1 guest (tools/l1-run: Debian
# trixie's kernel under QEMU TCG, where KVM works), and say so. Nothing is
# skipped silently: a lane that cannot run prints why and fails.
set -uo pipefail
BUILD=${1:-build}
shift || true
cd "$(dirname "$0")/.."
export CPRV_BUILD=$BUILD
rc=0

if [[ $(id -u) != 0 ]]; then
	echo "live: the live tests need root (BPF, KVM); run: sudo make check" >&2
	exit 1
fi

# A QEMU guest needs hardware virtualization besides /dev/kvm: a paravirtual
# KVM (PVM) makes VMs and irqfds for the rig, but cannot run QEMU's guests
# (cpr-verify's own lane choice, cli_host_lane, says the same).
host_runs_guests() {
	[[ -c /dev/kvm ]] && grep -qwE 'vmx|svm' /proc/cpuinfo
}

run_kvm_test() {
	local test=$1 st why
	shift
	if [[ $test == live_qemu ]] && [[ -c /dev/kvm ]] && ! host_runs_guests; then
		why="this kernel's KVM has no vmx/svm (paravirtual), it runs no QEMU guest"
	elif [[ -c /dev/kvm ]]; then
		echo "== $test: on this kernel, /dev/kvm present"
		"$BUILD/tests/$test" "$@"
		return
	else
		why="this kernel has no /dev/kvm"
	fi
	echo "== $test: $why; running it in the nested L1 guest (tools/l1-run)"
	# 6G: the 100-cycle run's ground truth (a million fires, built with
	# json-c) under ASan outgrew the default 2G and was OOM-killed
	tools/l1-run --timeout 4800 --mem 6G --env CPRV_BUILD="$BUILD" -- "$BUILD/tests/$test" "$@"
	st=$?
	if ((st >= 120 && st <= 124)); then
		echo "live: the L1 guest could not run $test (l1-run exit $st, see above)" >&2
	fi
	return $st
}

if (($# == 0)); then
	echo "== live_host: BPF on this kernel ($(uname -r))"
	"$BUILD/tests/live_host" || rc=1
	run_kvm_test live_kvm || rc=1
	# the QEMU lane: the reference 11.1 and trixie's 10.0 (cached after the
	# first set-up; the host fetches them, L1 runs them)
	if scenarios/qemu/setup.sh; then
		run_kvm_test live_qemu || rc=1
	else
		echo "live: scenarios/qemu/setup.sh failed: the QEMU lane cannot run" >&2
		rc=1
	fi
	run_kvm_test live_accuracy || rc=1
else
	run_kvm_test "$@" || rc=1
fi
exit $rc

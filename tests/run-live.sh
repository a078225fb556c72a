#!/bin/bash
# Runs the live tests (root, BPF, KVM) from the build dir given as $1.
#
# live_host needs root and BPF only: it runs on this kernel as it is.
# live_kvm needs /dev/kvm too. Where this kernel has none (a PVM guest, a
# container), it runs inside the nested L1 guest (tools/l1-run: Debian
# trixie's kernel under QEMU TCG, where KVM works), and says so. Nothing is
# skipped silently: a lane that cannot run prints why and fails.
set -uo pipefail
BUILD=${1:-build}
cd "$(dirname "$0")/.."
export CPRV_BUILD=$BUILD
rc=0

if [[ $(id -u) != 0 ]]; then
	echo "live: the live tests need root (BPF, KVM); run: sudo make check" >&2
	exit 1
fi

echo "== live_host: BPF on this kernel ($(uname -r))"
"$BUILD/tests/live_host" || rc=1

if [[ -c /dev/kvm ]]; then
	echo "== live_kvm: on this kernel, /dev/kvm present"
	"$BUILD/tests/live_kvm" || rc=1
else
	echo "== live_kvm: this kernel has no /dev/kvm; running it in the nested L1 guest (tools/l1-run)"
	tools/l1-run --timeout 2400 --env CPRV_BUILD="$BUILD" -- "$BUILD/tests/live_kvm"
	st=$?
	if ((st >= 120 && st <= 124)); then
		echo "live: the L1 guest could not run live_kvm (l1-run exit $st, see above)" >&2
	fi
	((st == 0)) || rc=1
fi
exit $rc

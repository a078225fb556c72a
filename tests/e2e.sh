#!/bin/bash
# The nested vfio lane end to end (make e2e): a real vfio-pci device (QEMU's
# edu in the L1 guest, behind an IOMMU) passed to an L2 QEMU whose guest
# raises MSIs through it while cpr-verify live-updates that QEMU.
#   1. run nested-vfio: 3 cpr-transfer cycles of the reference QEMU 11.1;
#      must pass (0 lost, 0 duplicates, the guest's own count agreeing).
#   2. gate 10.0 (no vfio CPR) against 11.1 on nested-vfio-gate: must fail,
#      naming why.
# Exits 0 only if both hold. Outputs in BUILD/e2e/.
set -uo pipefail
BUILD=${1:-build}
cd "$(dirname "$0")/.."
OUT=$BUILD/e2e
rm -rf "$OUT" && mkdir -p "$OUT"
rc=0
start=$SECONDS

scenarios/qemu/setup.sh || { echo "e2e: scenarios/qemu/setup.sh failed" >&2; exit 1; }

echo "== e2e: nested-vfio (3 cpr-transfer cycles, vfio-pci edu, MSIs throughout)"
"$BUILD/cpr-verify" run nested-vfio -o "$OUT/run"
st=$?
if ((st != 0)); then
	echo "e2e: FAIL: the nested vfio run did not pass (exit $st; see $OUT/run/report.txt)" >&2
	rc=1
fi

# the plan inside L1: function probes as fentry, irqfd_wakeup's dead fentry
# caught by the canary and replaced by its kprobe
plan=$(tr -d ' \n' <"$OUT/run/report.json" 2>/dev/null)
for want in '"vfio_msihandler":{"stage":"S0","attach":"fentry"' \
	'"eventfd_signal_mask":{"stage":"S1","attach":"fentry"' \
	'"kvm_arch_set_irq_inatomic":{"stage":"S3","attach":"fentry"' \
	'"irqfd_wakeup":{"stage":"S2","attach":"kprobe","target":"irqfd_wakeup","canary":"live"' \
	'{"attach":"fentry","why":"attachedbutneverfiredinthecanary(deadprobe)"}'; do
	if [[ $plan != *"$want"* ]]; then
		echo "e2e: FAIL: the plan in L1 lacks $want" >&2
		rc=1
	fi
done
echo "e2e: the run, stage by stage (events in the trace):"
"$BUILD/cpr-verify" dump "$OUT/run/trace.cprv" 2>/dev/null | awk '{print $2}' | sort | uniq -c |
	sort -rn | grep -E 'vfio_irq|vfio_msihandler|eventfd_signal|irqfd_wakeup|set_irq_inatomic|kvm_msi_set_irq|apic_accept|apic_deliver|kvm_irqfd|vfio_set_irqs|uprobe' |
	sed 's/^/  /'
grep -E "own count|^cpr #" "$OUT/run/report.txt" | sed 's/^/  /'

echo "== e2e: gate 10.0 (candidate) vs 11.1 (reference) with vfio"
"$BUILD/cpr-verify" gate --candidate 10.0 --reference 11.1 nested-vfio-gate -o "$OUT/gate" \
	--blackout-tolerance 500,2000
st=$?
if ((st != 1)); then
	echo "e2e: FAIL: the gate should fail 10.0 (exit 1), got exit $st" >&2
	rc=1
elif ! grep -q '"status":"fail"' <(tr -d ' \n' <"$OUT/gate/gate.json"); then
	echo "e2e: FAIL: gate.json has no failed check" >&2
	rc=1
fi
echo "e2e: $([[ $rc == 0 ]] && echo PASS || echo FAIL) in $((SECONDS - start)) s"
exit $rc

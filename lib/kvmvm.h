/* A scratch KVM VM on real /dev/kvm: in-kernel irqchip, one vCPU with its
 * LAPIC enabled (never run), MSI routes, irqfds, LAPIC IRR access. Used by
 * the rig's mini-VMM and by the canary. */
#ifndef CPRV_KVMVM_H
#define CPRV_KVMVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cprv_vm {
	int kvm, vm, vcpu;
};

struct cprv_msi_route {
	uint32_t gsi;
	uint64_t address;
	uint32_t data;
};

bool cprv_kvm_available(char *err, size_t errlen);
/* 0, or -1 with "step: reason" in err; the fds are closed on failure. */
int cprv_vm_create(struct cprv_vm *vm, char *err, size_t errlen);
int cprv_vm_set_routes(struct cprv_vm *vm, const struct cprv_msi_route *r, uint32_t n,
		       char *err, size_t errlen);
int cprv_vm_irqfd(struct cprv_vm *vm, int efd, uint32_t gsi, bool deassign);
int cprv_vm_read_irr(struct cprv_vm *vm, uint32_t irr[8]);
/* OR irr into the vCPU's IRR (KVM_GET_LAPIC + KVM_SET_LAPIC). */
int cprv_vm_merge_irr(struct cprv_vm *vm, const uint32_t irr[8]);
/*
 * The guest's LAPIC service: KVM_GET_LAPIC, hand back the IRR in irr, clear
 * every set bit and KVM_SET_LAPIC (skipped when nothing is pending).
 */
int cprv_vm_service_irr(struct cprv_vm *vm, uint32_t irr[8]);
/* KVM_SIGNAL_MSI: an MSI injected by hand. Returns the ioctl's result. */
int cprv_vm_signal_msi(struct cprv_vm *vm, uint64_t address, uint32_t data);
int cprv_vm_set_cloexec(struct cprv_vm *vm, bool on);
void cprv_vm_close(struct cprv_vm *vm);

#endif

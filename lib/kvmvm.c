/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A scratch VM for the rig's mini-VMM and the canary: an in-kernel irqchip
 * and one vCPU whose LAPIC is software-enabled, so MSIs are accepted into
 * its IRR. The vCPU never runs: IRR bits stay set, which the rig's
 * --self-check reads.
 */
#include "kvmvm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/kvm.h>

#define APIC_SPIV        0xf0
#define APIC_SPIV_ENABLE 0x100
#define APIC_IRR         0x200

bool cprv_kvm_available(char *err, size_t errlen)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		snprintf(err, errlen, "cannot open /dev/kvm: %s", strerror(errno));
		return false;
	}
	close(fd);
	return true;
}

static int lapic_enable(int vcpu)
{
	struct kvm_lapic_state st;
	uint32_t spiv;

	if (ioctl(vcpu, KVM_GET_LAPIC, &st) < 0)
		return -1;
	memcpy(&spiv, &st.regs[APIC_SPIV], sizeof(spiv));
	spiv |= APIC_SPIV_ENABLE;
	memcpy(&st.regs[APIC_SPIV], &spiv, sizeof(spiv));
	return ioctl(vcpu, KVM_SET_LAPIC, &st);
}

int cprv_vm_create(struct cprv_vm *vm, char *err, size_t errlen)
{
	const char *step;

	vm->kvm = vm->vm = vm->vcpu = -1;
	step = "open /dev/kvm";
	vm->kvm = open("/dev/kvm", O_RDWR);
	if (vm->kvm < 0)
		goto fail;
	step = "KVM_CREATE_VM";
	vm->vm = ioctl(vm->kvm, KVM_CREATE_VM, 0);
	if (vm->vm < 0)
		goto fail;
	step = "KVM_CREATE_IRQCHIP";
	if (ioctl(vm->vm, KVM_CREATE_IRQCHIP, 0) < 0)
		goto fail;
	step = "KVM_CREATE_VCPU";
	vm->vcpu = ioctl(vm->vm, KVM_CREATE_VCPU, 0);
	if (vm->vcpu < 0)
		goto fail;
	step = "KVM_GET_LAPIC/KVM_SET_LAPIC (software enable)";
	if (lapic_enable(vm->vcpu) < 0)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "%s: %s", step, strerror(errno));
	cprv_vm_close(vm);
	return -1;
}

int cprv_vm_set_routes(struct cprv_vm *vm, const struct cprv_msi_route *r, uint32_t n,
		      char *err, size_t errlen)
{
	struct kvm_irq_routing *rt;
	int ret;

	rt = calloc(1, sizeof(*rt) + n * sizeof(rt->entries[0]));
	if (!rt) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	rt->nr = n;
	for (uint32_t i = 0; i < n; i++) {
		rt->entries[i].gsi = r[i].gsi;
		rt->entries[i].type = KVM_IRQ_ROUTING_MSI;
		rt->entries[i].u.msi.address_lo = (uint32_t)r[i].address;
		rt->entries[i].u.msi.address_hi = (uint32_t)(r[i].address >> 32);
		rt->entries[i].u.msi.data = r[i].data;
	}
	ret = ioctl(vm->vm, KVM_SET_GSI_ROUTING, rt);
	free(rt);
	if (ret < 0)
		snprintf(err, errlen, "KVM_SET_GSI_ROUTING (%u MSI routes): %s", n, strerror(errno));
	return ret < 0 ? -1 : 0;
}

int cprv_vm_irqfd(struct cprv_vm *vm, int efd, uint32_t gsi, bool deassign)
{
	struct kvm_irqfd req = {
		.fd = (uint32_t)efd,
		.gsi = gsi,
		.flags = deassign ? KVM_IRQFD_FLAG_DEASSIGN : 0,
	};

	return ioctl(vm->vm, KVM_IRQFD, &req) < 0 ? -1 : 0;
}

int cprv_vm_read_irr(struct cprv_vm *vm, uint32_t irr[8])
{
	struct kvm_lapic_state st;

	if (ioctl(vm->vcpu, KVM_GET_LAPIC, &st) < 0)
		return -1;
	/* IRR is eight 32-bit registers, 16 bytes apart. */
	for (int i = 0; i < 8; i++)
		memcpy(&irr[i], &st.regs[APIC_IRR + 0x10 * i], sizeof(irr[i]));
	return 0;
}

int cprv_vm_merge_irr(struct cprv_vm *vm, const uint32_t irr[8])
{
	struct kvm_lapic_state st;

	if (ioctl(vm->vcpu, KVM_GET_LAPIC, &st) < 0)
		return -1;
	for (int i = 0; i < 8; i++) {
		uint32_t r;

		memcpy(&r, &st.regs[APIC_IRR + 0x10 * i], sizeof(r));
		r |= irr[i];
		memcpy(&st.regs[APIC_IRR + 0x10 * i], &r, sizeof(r));
	}
	return ioctl(vm->vcpu, KVM_SET_LAPIC, &st) < 0 ? -1 : 0;
}

int cprv_vm_service_irr(struct cprv_vm *vm, uint32_t irr[8])
{
	struct kvm_lapic_state st;
	uint32_t any = 0, zero = 0;

	if (ioctl(vm->vcpu, KVM_GET_LAPIC, &st) < 0)
		return -1;
	for (int i = 0; i < 8; i++) {
		memcpy(&irr[i], &st.regs[APIC_IRR + 0x10 * i], sizeof(irr[i]));
		memcpy(&st.regs[APIC_IRR + 0x10 * i], &zero, sizeof(zero));
		any |= irr[i];
	}
	if (!any)
		return 0;
	return ioctl(vm->vcpu, KVM_SET_LAPIC, &st) < 0 ? -1 : 0;
}

int cprv_vm_signal_msi(struct cprv_vm *vm, uint64_t address, uint32_t data)
{
	struct kvm_msi msi = {
		.address_lo = (uint32_t)address,
		.address_hi = (uint32_t)(address >> 32),
		.data = data,
	};

	return ioctl(vm->vm, KVM_SIGNAL_MSI, &msi);
}

static int set_cloexec(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFD);

	if (fl < 0)
		return -1;
	return fcntl(fd, F_SETFD, on ? fl | FD_CLOEXEC : fl & ~FD_CLOEXEC);
}

int cprv_vm_set_cloexec(struct cprv_vm *vm, bool on)
{
	if (set_cloexec(vm->kvm, on) || set_cloexec(vm->vm, on) || set_cloexec(vm->vcpu, on))
		return -1;
	return 0;
}

void cprv_vm_close(struct cprv_vm *vm)
{
	if (vm->vcpu >= 0)
		close(vm->vcpu);
	if (vm->vm >= 0)
		close(vm->vm);
	if (vm->kvm >= 0)
		close(vm->kvm);
	vm->kvm = vm->vm = vm->vcpu = -1;
}

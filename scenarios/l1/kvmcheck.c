/* kvmcheck: prove /dev/kvm can run a guest, not just open.
 *
 * Used by scenarios/l1/selftest.sh inside the L1 guest, where KVM is nested
 * (kvm_amd on TCG's emulated SVM). Opening /dev/kvm and KVM_CREATE_VM succeed
 * even when the vCPU can never enter the guest, so this runs 4 bytes of real
 * mode code (al=42; out 0x10; out 0x11) and checks both exits. An in-kernel
 * irqchip makes hlt block inside KVM, so the end is signalled by port 0x11.
 * Exit 0: guest ran; 1: a KVM step failed (message on stderr). */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

static int fail(const char *what)
{
	fprintf(stderr, "kvmcheck: %s: %s\n", what, strerror(errno));
	return 1;
}

int main(void)
{
	/* mov al,42; out 0x10,al; out 0x11,al; hlt */
	static const uint8_t code[] = { 0xb0, 42, 0xe6, 0x10, 0xe6, 0x11, 0xf4 };
	const size_t mem_size = 0x1000;

	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return fail("open /dev/kvm");
	int api = ioctl(kvm, KVM_GET_API_VERSION, 0);
	if (api != KVM_API_VERSION) {
		fprintf(stderr, "kvmcheck: KVM API version %d, want %d\n", api, KVM_API_VERSION);
		return 1;
	}
	int vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return fail("KVM_CREATE_VM");
	/* the irqfd/MSI paths cpr-verify traces need an in-kernel irqchip */
	if (ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0)
		return fail("KVM_CREATE_IRQCHIP");

	uint8_t *mem = mmap(NULL, mem_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return fail("mmap guest memory");
	memcpy(mem, code, sizeof(code));
	struct kvm_userspace_memory_region region = {
		.slot = 0, .guest_phys_addr = 0x1000, .memory_size = mem_size,
		.userspace_addr = (uint64_t)(uintptr_t)mem,
	};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return fail("KVM_SET_USER_MEMORY_REGION");

	int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		return fail("KVM_CREATE_VCPU");
	int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size < (int)sizeof(struct kvm_run))
		return fail("KVM_GET_VCPU_MMAP_SIZE");
	struct kvm_run *run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		return fail("mmap kvm_run");

	struct kvm_sregs sregs;
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
		return fail("KVM_GET_SREGS");
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
		return fail("KVM_SET_SREGS");
	struct kvm_regs regs = { .rip = 0x1000, .rflags = 0x2 };
	if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		return fail("KVM_SET_REGS");

	int saw_first = 0;
	for (int i = 0; i < 16; i++) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0)
			return fail("KVM_RUN");
		if (run->exit_reason != KVM_EXIT_IO) {
			fprintf(stderr, "kvmcheck: unexpected exit reason %u (hw reason 0x%llx)\n",
				run->exit_reason,
				(unsigned long long)run->fail_entry.hardware_entry_failure_reason);
			return 1;
		}
		uint8_t v = *((uint8_t *)run + run->io.data_offset);
		if (v != 42 || (run->io.port != 0x10 && run->io.port != 0x11)) {
			fprintf(stderr, "kvmcheck: unexpected out 0x%x <- %u\n", run->io.port, v);
			return 1;
		}
		if (run->io.port == 0x10) {
			saw_first = 1;
			continue;
		}
		if (!saw_first) {
			fprintf(stderr, "kvmcheck: out 0x11 before out 0x10\n");
			return 1;
		}
		printf("kvmcheck: guest ran (2 port writes seen) with an in-kernel irqchip\n");
		return 0;
	}
	fprintf(stderr, "kvmcheck: guest did not finish\n");
	return 1;
}

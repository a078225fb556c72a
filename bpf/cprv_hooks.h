/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Hook identities, shared by the BPF programs (which count their hits per
 * hook) and the probe plan (lib/plan_table.c, which says how each hook can
 * be attached). The list is an X-macro so the ids, names and the plan table
 * cannot drift apart (tests/test_plan.c fails if a hook lacks a row).
 *
 * X(ID, "name", "stage")
 */
#ifndef CPRV_HOOKS_H
#define CPRV_HOOKS_H

#define CPRV_HOOK_LIST(X)                                   \
	X(VFIO_IRQ,          "irq_handler(vfio)",         "S0")  \
	X(VFIO_MSIHANDLER,   "vfio_msihandler",           "S0")  \
	X(VFIO_SET_SIGNAL,   "vfio_msi_set_vector_signal","plumbing") \
	X(EVENTFD_SIGNAL,    "eventfd_signal_mask",       "S1")  \
	X(IRQFD_WAKEUP,      "irqfd_wakeup",              "S2")  \
	X(IRQFD_INJECT,      "irqfd_inject",              "S3")  \
	X(SET_IRQ_INATOMIC,  "kvm_arch_set_irq_inatomic", "S3")  \
	X(KVM_SET_MSI,       "kvm_set_msi",               "S3")  \
	X(KVM_MSI_SET_IRQ,   "kvm:kvm_msi_set_irq",       "S3")  \
	X(KVM_SET_IRQ,       "kvm:kvm_set_irq",           "S3")  \
	X(APIC_ACCEPT,       "kvm:kvm_apic_accept_irq",   "S4")  \
	X(PI_IRTE_UPDATE,    "kvm:kvm_pi_irte_update",    "posted") \
	X(SYS_IOCTL,         "ioctl(KVM,VFIO)",           "plumbing") \
	X(SYS_EVENTFD,       "eventfd2",                  "plumbing") \
	X(SYS_WRITE,         "write(eventfd)",            "S0'") \
	X(SYS_READ,          "read(eventfd)",             "S2")  \
	X(SYS_CLOSE,         "close",                     "plumbing") \
	X(SYS_SENDMSG,       "sendmsg(SCM_RIGHTS)",       "plumbing") \
	X(SYS_RECVMSG,       "recvmsg(SCM_RIGHTS)",       "plumbing") \
	X(PROC_EXEC,         "sched:sched_process_exec",  "process") \
	X(PROC_FORK,         "sched:sched_process_fork",  "process") \
	X(PROC_EXIT,         "sched:sched_process_exit",  "process")

#define CPRV_HOOK_ENUM(id, name, stage) CPRV_HOOK_##id,
enum { CPRV_HOOK_LIST(CPRV_HOOK_ENUM) CPRV_HOOK_MAX };
#undef CPRV_HOOK_ENUM

/* Slots of the per-CPU statistics array after the per-hook hit counters. */
#define CPRV_STAT_DROPS   (CPRV_HOOK_MAX + 0)  /* ring buffer full */
#define CPRV_STAT_EVENTS  (CPRV_HOOK_MAX + 1)  /* records submitted */
#define CPRV_STAT_FAULTS  (CPRV_HOOK_MAX + 2)  /* failed kernel/user reads */
#define CPRV_STAT_MAX     (CPRV_HOOK_MAX + 3)

/* ioctl numbers (x86-64), repeated here because BPF code cannot include
 * the uapi headers next to vmlinux.h; lib/probes.c checks them against
 * <linux/kvm.h> and <linux/vfio.h> at compile time. */
#define CPRV_KVM_CREATE_VM          0xAE01u
#define CPRV_KVM_IRQFD              0x4020AE76u
#define CPRV_KVM_SET_GSI_ROUTING    0x4008AE6Au
#define CPRV_KVM_SIGNAL_MSI         0x4020AEA5u
#define CPRV_KVM_GET_LAPIC          0x8400AE8Eu
#define CPRV_KVM_SET_LAPIC          0x4400AE8Fu
#define CPRV_VFIO_DEVICE_SET_IRQS   0x3B6Eu

#define CPRV_MAX_ROUTES      64   /* MSI routes read per KVM_SET_GSI_ROUTING */
#define CPRV_MAX_SCM_FDS     16   /* fds read per SCM_RIGHTS message */
#define CPRV_MAX_VFIO_FDS    16   /* trigger fds read per VFIO_DEVICE_SET_IRQS */

#endif

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
	X(APIC_DELIVER,      "kvm:kvm_inj_virq",          "S4'") \
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
	X(PROC_EXIT,         "sched:sched_process_exit",  "process") \
	X(USER_FN,           "uprobe(QEMU CPR functions)", "QEMU")

#define CPRV_HOOK_ENUM(id, name, stage) CPRV_HOOK_##id,
enum { CPRV_HOOK_LIST(CPRV_HOOK_ENUM) CPRV_HOOK_MAX };
#undef CPRV_HOOK_ENUM

/*
 * User-space functions the USER_FN hook attaches a uprobe to, in whichever
 * binaries run (QEMU, and cpr-verify's own driver marks). The id travels in
 * the BPF cookie and lands in CPRV_EV_UPROBE a0, so the analysis knows what
 * each hit means. Symbols missing from a binary degrade the plan, never
 * fail it.
 *
 * The ids are in every trace (CPRV_EV_UPROBE a0): append new functions at
 * the end, never reorder.
 *
 * X(ID, "symbol", args) where args says how BPF reads the first arguments:
 *   CPRV_UFN_ARGS_INT  a1..a3 = arguments 1..3 as integers
 *   CPRV_UFN_ARGS_STR0 a1,a2 = 16 bytes of the string at argument 1,
 *                      a3 = argument 2 (low 32 bits) | argument 3 << 32
 */
#define CPRV_UFN_ARGS_INT  0
#define CPRV_UFN_ARGS_STR0 1

#define CPRV_UFN_LIST(X)                                            \
	X(CPR_STATE_SAVE,   "cpr_state_save",                    INT)  \
	X(CPR_STATE_LOAD,   "cpr_state_load",                    INT)  \
	X(CPR_SAVE_FD,      "cpr_save_fd",                       STR0) \
	X(CPR_FIND_FD,      "cpr_find_fd",                       STR0) \
	X(CPR_DELETE_FD,    "cpr_delete_fd",                     STR0) \
	X(CPR_TRANSFER_OUT, "cpr_transfer_output",               INT)  \
	X(CPR_TRANSFER_IN,  "cpr_transfer_input",                INT)  \
	X(CPR_EXEC_OUT,     "cpr_exec_output",                   INT)  \
	X(VFIO_SAVE_VECTOR, "vfio_cpr_save_vector_fd",           INT)  \
	X(ADD_IRQFD,        "kvm_irqchip_add_irqfd_notifier_gsi",    INT) \
	X(REMOVE_IRQFD,     "kvm_irqchip_remove_irqfd_notifier_gsi", INT) \
	X(MSIX_NOTIFY,      "msix_notify",                       INT)  \
	X(MSI_NOTIFY,       "msi_notify",                        INT)  \
	X(SEND_MSI,         "kvm_irqchip_send_msi",              INT)  \
	X(VM_STOP_FORCE,    "vm_stop_force_state",               INT)  \
	X(VM_START,         "vm_start",                          INT)  \
	X(DRIVE_MARK,       "cprv_drive_mark",                   INT)  \
	X(SELFTEST,         "cprv_uprobe_selftest",              INT)  \
	X(CPR_EXEC_IN,      "cpr_exec_input",                    INT)  \
	X(VFIO_LOAD_VECTOR, "vfio_cpr_load_vector_fd",           INT)  \
	X(VFIO_LOAD_DEVICE, "vfio_cpr_load_device",              INT)

#define CPRV_UFN_ENUM(id, sym, args) CPRV_UFN_##id,
enum { CPRV_UFN_LIST(CPRV_UFN_ENUM) CPRV_UFN_MAX };
#undef CPRV_UFN_ENUM

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

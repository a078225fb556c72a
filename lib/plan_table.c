/* The one table of hooks and their attach variants, best first. The probe
 * plan, the canary and the visibility the analysis gets are all derived
 * from it; nothing else lists hooks or programs. */
#include <string.h>
#include "plan.h"

#define V(k, t, ...) { .kind = CPRV_ATTACH_##k, .target = t, .progs = { __VA_ARGS__ } }

const struct cprv_hook_def cprv_hook_table[CPRV_HOOK_MAX] = {
	[CPRV_HOOK_VFIO_IRQ] = {
		.role = "device MSI reaches the host: vfio-* hard irq handler",
		.canary = CPRV_CANARY_VFIO,
		.events = { CPRV_EV_VFIO_IRQ, CPRV_EV_IRQ_NAME },
		.variants = {
			V(TP_BTF, "irq_handler_entry", "tpb_vfio_irq_entry", "tpb_vfio_irq_exit"),
			V(TRACEPOINT, "irq/irq_handler_entry", "tp_vfio_irq_entry", "tp_vfio_irq_exit"),
		},
	},
	[CPRV_HOOK_VFIO_MSIHANDLER] = {
		.role = "vfio signals the trigger eventfd (names the ctx)",
		.canary = CPRV_CANARY_VFIO,
		.events = { CPRV_EV_VFIO_MSIHANDLER },
		.variants = {
			V(FENTRY, "vfio_msihandler", "fe_vfio_msihandler"),
			V(KPROBE, "vfio_msihandler", "kp_vfio_msihandler"),
		},
	},
	[CPRV_HOOK_VFIO_SET_SIGNAL] = {
		.role = "vfio trigger armed or torn down (conformance R1)",
		.canary = CPRV_CANARY_VFIO,
		.events = { CPRV_EV_VFIO_SET_SIGNAL },
		.variants = {
			V(FENTRY, "vfio_msi_set_vector_signal", "fe_vfio_set_signal"),
			V(KPROBE, "vfio_msi_set_vector_signal", "kp_vfio_set_signal"),
		},
	},
	[CPRV_HOOK_EVENTFD_SIGNAL] = {
		.role = "kernel producers signal an eventfd (S1 fires)",
		.canary = CPRV_CANARY_KVM,
		.events = { CPRV_EV_EVENTFD_SIGNAL },
		.variants = {
			V(FENTRY, "eventfd_signal_mask", "fe_eventfd_signal"),
			V(KPROBE, "eventfd_signal_mask", "kp_eventfd_signal"),
		},
	},
	[CPRV_HOOK_IRQFD_WAKEUP] = {
		.role = "KVM irqfd consumes the signal (names ctx, VM and gsi)",
		.canary = CPRV_CANARY_KVM,
		.events = { CPRV_EV_IRQFD_WAKEUP },
		.variants = {
			V(FENTRY, "irqfd_wakeup", "fe_irqfd_wakeup"),
			V(KPROBE, "irqfd_wakeup", "kp_irqfd_wakeup"),
		},
	},
	[CPRV_HOOK_IRQFD_INJECT] = {
		.role = "workqueue injection, incl. the replay on irqfd assign",
		.canary = CPRV_CANARY_KVM,
		.events = { CPRV_EV_IRQFD_INJECT },
		.variants = {
			V(FENTRY, "irqfd_inject", "fe_irqfd_inject"),
			V(KPROBE, "irqfd_inject", "kp_irqfd_inject"),
		},
	},
	[CPRV_HOOK_SET_IRQ_INATOMIC] = {
		.role = "irqfd fast-path injection (names VM and gsi)",
		.canary = CPRV_CANARY_KVM,
		.events = { CPRV_EV_SET_IRQ_INATOMIC },
		.variants = {
			V(FENTRY, "kvm_arch_set_irq_inatomic", "fe_set_irq_inatomic"),
			V(KPROBE, "kvm_arch_set_irq_inatomic", "kp_set_irq_inatomic"),
		},
	},
	[CPRV_HOOK_KVM_SET_MSI] = {
		.role = "slow-path and KVM_SIGNAL_MSI injection (names VM and gsi)",
		.canary = CPRV_CANARY_KVM,
		.events = { CPRV_EV_KVM_SET_MSI },
		.variants = {
			V(FENTRY, "kvm_set_msi", "fe_kvm_set_msi"),
			V(KPROBE, "kvm_set_msi", "kp_kvm_set_msi"),
		},
	},
	[CPRV_HOOK_KVM_MSI_SET_IRQ] = {
		.role = "KVM computes an MSI: every injection path passes here (S3)",
		.canary = CPRV_CANARY_KVM,
		.events = { CPRV_EV_KVM_MSI_SET_IRQ },
		.variants = {
			V(TP_BTF, "kvm_msi_set_irq", "tpb_kvm_msi_set_irq"),
			V(TRACEPOINT, "kvm/kvm_msi_set_irq", "tp_kvm_msi_set_irq"),
		},
	},
	[CPRV_HOOK_KVM_SET_IRQ] = {
		.role = "names the gsi of workqueue injections and replays",
		.canary = CPRV_CANARY_KVM,
		.events = { CPRV_EV_KVM_SET_IRQ },
		.variants = {
			V(TP_BTF, "kvm_set_irq", "tpb_kvm_set_irq"),
			V(TRACEPOINT, "kvm/kvm_set_irq", "tp_kvm_set_irq"),
		},
	},
	[CPRV_HOOK_APIC_ACCEPT] = {
		.role = "the guest LAPIC accepts the vector (S4)",
		.canary = CPRV_CANARY_KVM,
		.events = { CPRV_EV_APIC_ACCEPT },
		.variants = {
			V(TP_BTF, "kvm_apic_accept_irq", "tpb_apic_accept"),
			V(TRACEPOINT, "kvm/kvm_apic_accept_irq", "tp_apic_accept"),
		},
	},
	[CPRV_HOOK_APIC_DELIVER] = {
		.role = "the guest takes the vector: servicing seen in a real VM's LAPIC",
		.canary = CPRV_CANARY_VCPU,
		.events = { CPRV_EV_APIC_DELIVER },
		.variants = {
			V(TP_BTF, "kvm_inj_virq", "tpb_inj_virq"),
			V(TRACEPOINT, "kvm/kvm_inj_virq", "tp_inj_virq"),
		},
	},
	[CPRV_HOOK_PI_IRTE_UPDATE] = {
		.role = "posted-interrupt mode changes: when the host path is bypassed",
		.canary = CPRV_CANARY_OFF_PATH,
		.events = { CPRV_EV_PI_IRTE_UPDATE },
		.variants = {
			V(TRACEPOINT, "kvm/kvm_pi_irte_update", "tp_pi_irte_update"),
		},
	},
	[CPRV_HOOK_SYS_IOCTL] = {
		.role = "KVM/VFIO plumbing: VMs, routes, irqfds, LAPIC, SET_IRQS",
		.canary = CPRV_CANARY_KVM,
		.events = { CPRV_EV_KVM_CREATE_VM, CPRV_EV_KVM_IRQFD, CPRV_EV_KVM_ROUTE,
			    CPRV_EV_KVM_ROUTING, CPRV_EV_KVM_SIGNAL_MSI, CPRV_EV_KVM_GET_LAPIC,
			    CPRV_EV_KVM_SET_LAPIC, CPRV_EV_VFIO_SET_IRQS, CPRV_EV_VFIO_TRIGGER },
		.variants = {
			V(SYSCALL, "syscalls/sys_enter_ioctl", "sc_ioctl_enter", "sc_ioctl_exit"),
		},
	},
	[CPRV_HOOK_SYS_EVENTFD] = {
		.role = "eventfd creation: a new identity for a ctx address",
		.canary = CPRV_CANARY_PROCESS,
		.events = { CPRV_EV_EVENTFD_CREATE },
		.variants = {
			V(SYSCALL, "syscalls/sys_enter_eventfd2", "sc_eventfd_enter", "sc_eventfd_exit"),
		},
	},
	[CPRV_HOOK_SYS_WRITE] = {
		.role = "user-space producers signal an eventfd (S0' fires)",
		.canary = CPRV_CANARY_PROCESS,
		.events = { CPRV_EV_EVENTFD_WRITE },
		.variants = {
			V(SYSCALL_BTF, "raw_syscalls/sys_enter", "tpb_write_enter"),
			V(SYSCALL, "syscalls/sys_enter_write", "sc_write_enter"),
		},
	},
	[CPRV_HOOK_SYS_READ] = {
		.role = "user space drains an eventfd (consumer without irqfd)",
		.canary = CPRV_CANARY_PROCESS,
		.events = { CPRV_EV_EVENTFD_READ },
		.variants = {
			V(SYSCALL, "syscalls/sys_enter_read", "sc_read_enter", "sc_read_exit"),
		},
	},
	[CPRV_HOOK_SYS_CLOSE] = {
		.role = "eventfd, VM and vfio fds closed (old QEMU drops its KVM fds)",
		.canary = CPRV_CANARY_PROCESS,
		.events = { CPRV_EV_CLOSE },
		.variants = {
			V(SYSCALL, "syscalls/sys_enter_close", "sc_close_enter"),
		},
	},
	[CPRV_HOOK_SYS_SENDMSG] = {
		.role = "fds handed over with SCM_RIGHTS (cpr-transfer)",
		.canary = CPRV_CANARY_PROCESS,
		.events = { CPRV_EV_FD_SEND },
		.variants = {
			V(SYSCALL, "syscalls/sys_enter_sendmsg", "sc_sendmsg_enter"),
		},
	},
	[CPRV_HOOK_SYS_RECVMSG] = {
		.role = "fds received: the new QEMU joins the recording",
		.canary = CPRV_CANARY_PROCESS,
		.events = { CPRV_EV_FD_RECV },
		.variants = {
			V(SYSCALL, "syscalls/sys_enter_recvmsg", "sc_recvmsg_enter", "sc_recvmsg_exit"),
		},
	},
	[CPRV_HOOK_PROC_EXEC] = {
		.role = "exec of a traced process (cpr-exec)",
		.canary = CPRV_CANARY_PROCESS,
		.events = { CPRV_EV_EXEC },
		.variants = {
			V(TP_BTF, "sched_process_exec", "tpb_exec"),
			V(TRACEPOINT, "sched/sched_process_exec", "tp_exec"),
		},
	},
	[CPRV_HOOK_PROC_FORK] = {
		.role = "children of traced processes join the recording",
		.canary = CPRV_CANARY_PROCESS,
		.events = { CPRV_EV_FORK },
		.variants = {
			V(TP_BTF, "sched_process_fork", "tpb_fork"),
			V(TRACEPOINT, "sched/sched_process_fork", "tp_fork"),
		},
	},
	[CPRV_HOOK_USER_FN] = {
		.role = "QEMU's CPR steps and interrupt calls (uprobes, per binary)",
		.canary = CPRV_CANARY_PROCESS,
		.events = { CPRV_EV_UPROBE },
		.variants = {
			V(UPROBE, "cprv_uprobe_selftest", "up_fn"),
		},
	},
	[CPRV_HOOK_PROC_EXIT] = {
		.role = "traced process exits (a QEMU dying mid-CPR)",
		.canary = CPRV_CANARY_PROCESS,
		.events = { CPRV_EV_EXIT },
		.variants = {
			V(TP_BTF, "sched_process_exit", "tpb_exit"),
			V(TRACEPOINT, "sched/sched_process_exit", "tp_exit"),
		},
	},
};

/* names and stages come from the X-macro so they cannot drift */
#define CPRV_HOOK_NAME(id, name, stage) [CPRV_HOOK_##id] = name,
static const char *const hook_names[CPRV_HOOK_MAX] = { CPRV_HOOK_LIST(CPRV_HOOK_NAME) };
#define CPRV_HOOK_STAGE(id, name, stage) [CPRV_HOOK_##id] = stage,
static const char *const hook_stages[CPRV_HOOK_MAX] = { CPRV_HOOK_LIST(CPRV_HOOK_STAGE) };

const char *cprv_hook_name(int hook)
{
	return hook >= 0 && hook < CPRV_HOOK_MAX ? hook_names[hook] : "?";
}

const char *cprv_hook_stage(int hook)
{
	return hook >= 0 && hook < CPRV_HOOK_MAX ? hook_stages[hook] : "?";
}

#define CPRV_UFN_SYM(id, sym, args) [CPRV_UFN_##id] = sym,
static const char *const ufn_syms[CPRV_UFN_MAX] = { CPRV_UFN_LIST(CPRV_UFN_SYM) };
#define CPRV_UFN_ARGS(id, sym, args) [CPRV_UFN_##id] = CPRV_UFN_ARGS_##args,
static const int ufn_args[CPRV_UFN_MAX] = { CPRV_UFN_LIST(CPRV_UFN_ARGS) };

const char *cprv_ufn_symbol(int ufn)
{
	return ufn >= 0 && ufn < CPRV_UFN_MAX ? ufn_syms[ufn] : "?";
}

int cprv_ufn_args(int ufn)
{
	return ufn >= 0 && ufn < CPRV_UFN_MAX ? ufn_args[ufn] : CPRV_UFN_ARGS_INT;
}

int cprv_ufn_by_symbol(const char *sym)
{
	for (int i = 0; i < CPRV_UFN_MAX; i++)
		if (!strcmp(ufn_syms[i], sym))
			return i;
	return -1;
}

const char *const cprv_infra_progs[] = { "up_runs_tick", NULL };

/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The one event record, shared by the BPF programs, the recorder, the trace
 * file and the analysis. It is also the on-disk record (trace.h stores it
 * little-endian, field by field), so every field is fixed width and nothing
 * here may be a long, a pointer type or an enum.
 *
 * Kernel pointers (eventfd ctx, struct kvm, struct file) are identities: an
 * eventfd keeps one ctx across exec, SCM_RIGHTS and processes, which is what
 * lets the analysis follow one vector through a live update.
 */
#ifndef CPRV_EVENT_H
#define CPRV_EVENT_H

#ifdef __VMLINUX_H__
/* BPF side: vmlinux.h provides __u64 and friends. */
#else
#include <linux/types.h>
#endif

#define CPRV_EVENT_SIZE 64

struct cprv_event {
	__u64 ts;     /* CLOCK_MONOTONIC ns (bpf_ktime_get_ns) */
	__u16 type;   /* CPRV_EV_* */
	__u16 flags;  /* per type: context kind, vcpu id, object kind */
	__u32 cpu;
	__u32 pid;    /* tgid */
	__u32 tid;
	__u64 obj;    /* primary identity: eventfd ctx, struct kvm, file */
	__u64 a[4];   /* per-type arguments, see below */
};

/*
 * Event types. Stage numbers follow DESIGN section 2.
 * "ctx" is a struct eventfd_ctx address, "kvm" a struct kvm address.
 */
/* S0: the device fires */
#define CPRV_EV_VFIO_IRQ          1  /* irq:irq_handler_entry, vfio-* name: a0=irq */
#define CPRV_EV_VFIO_MSIHANDLER   2  /* obj=trigger ctx, a0=irq */
/* S0': a user-space producer signals an eventfd */
#define CPRV_EV_EVENTFD_WRITE     3  /* obj=ctx a0=value a1=count before a2=fd */
/* a0 of EVENTFD_WRITE when the value was not read (only --full-detail
 * reads it: a read of user memory is ~165 ns a write here, a quarter of
 * what the full plan costs an MSI). A write of ~0 is refused (-EINVAL),
 * so no real write carries it. */
#define CPRV_WRITE_VALUE_UNREAD   (~0ull)
/* S1: the kernel signals the eventfd (vfio, AIO, vhost...; write() does not
 * go through eventfd_signal, so S0' and S1 never count one fire twice) */
#define CPRV_EV_EVENTFD_SIGNAL    4  /* obj=ctx a0=count before a1=mask */
/* S2: a consumer takes the signal */
#define CPRV_EV_IRQFD_WAKEUP      5  /* obj=ctx a0=kvm a1=gsi a2=poll flags */
#define CPRV_EV_EVENTFD_READ      6  /* obj=ctx a0=value read a1=ret a2=fd */
/* S3: KVM injects */
#define CPRV_EV_IRQFD_INJECT      7  /* obj=ctx a0=kvm a1=gsi */
#define CPRV_EV_SET_IRQ_INATOMIC  8  /* obj=kvm a0=gsi a1=address a2=data */
#define CPRV_EV_KVM_SET_MSI       9  /* obj=kvm a0=gsi a1=address a2=data a3=level */
#define CPRV_EV_KVM_MSI_SET_IRQ  10  /* tag (see below) a0=address a1=data */
#define CPRV_EV_KVM_SET_IRQ      11  /* a0=gsi a1=level a2=irq_source_id */
/* S4: the guest LAPIC accepts */
#define CPRV_EV_APIC_ACCEPT      12  /* tag a0=apicid a1=dm|tm<<16 a2=tag aux a3=vector */
/* S4': KVM hands the vector to the running guest (IRR -> the vCPU): every
 * accept of that vector before it is in the guest's hands */
#define CPRV_EV_APIC_DELIVER     14  /* a0=vector a1=soft|reinjected<<1; pid/tid: the vCPU's */
/* posted interrupts: S1-S4 bypass the host path */
#define CPRV_EV_PI_IRTE_UPDATE   13  /* a0=host_irq a1=vcpu a2=gsi a3=gvec|set<<32 */

/* plumbing (syscalls; obj resolved from the fd in the kernel) */
#define CPRV_EV_KVM_CREATE_VM    20  /* obj=kvm a0=fd a1=type a2=ret */
#define CPRV_EV_KVM_IRQFD        21  /* obj=ctx a0=kvm a1=gsi a2=flags a3=ret; ts: assign at
                                     * ioctl entry (KVM polls for a pending count
                                     * inside it), deassign at exit */
#define CPRV_EV_KVM_ROUTE        22  /* one MSI entry: obj=kvm a0=gsi a1=address a2=data a3=index */
#define CPRV_EV_KVM_ROUTING      23  /* the whole call: obj=kvm a0=nr a1=ret */
#define CPRV_EV_KVM_SIGNAL_MSI   24  /* obj=kvm a0=address a1=data a2=ret */
#define CPRV_EV_KVM_GET_LAPIC    25  /* obj=kvm flags=vcpu id a[0..3]=IRR bits 0..255 */
#define CPRV_EV_KVM_SET_LAPIC    26  /* as GET_LAPIC */
#define CPRV_EV_VFIO_SET_IRQS    27  /* obj=device file a0=index a1=start a2=count a3=flags|ret<<32 */
#define CPRV_EV_VFIO_TRIGGER     28  /* one fd of SET_IRQS data: obj=ctx (0: fd -1) a0=vector a1=index a2=device file */
#define CPRV_EV_VFIO_SET_SIGNAL  29  /* vfio_msi_set_vector_signal: obj=vdev a0=vector a1=fd a2=msix */
#define CPRV_EV_EVENTFD_CREATE   30  /* obj=ctx a0=fd a1=initval a2=flags */
#define CPRV_EV_CLOSE            31  /* obj=private a0=fd; flags=object kind */
#define CPRV_EV_FD_SEND          32  /* SCM_RIGHTS out: obj=private a0=fd; flags=object kind */
#define CPRV_EV_FD_RECV          33  /* SCM_RIGHTS in: obj=private a0=fd; flags=object kind */
#define CPRV_EV_EXEC             34  /* a0=old pid a1,a2=comm (16 bytes) */
#define CPRV_EV_FORK             35  /* a0=child tgid; flags CPRV_FORK_MAYBE_THREAD */
#define CPRV_EV_EXIT             36  /* a0=exit code */
#define CPRV_EV_IRQ_NAME         38  /* a0=irq a1..a3=handler name, 24 bytes, NUL padded */
#define CPRV_EV_UPROBE           40  /* a0=function id (plan), a1..a3=first arguments */
/*
 * A run: the same MSI, many times (lib/run.h). In steady state every MSI
 * on a vector makes the same events with the same fields but for their
 * times, so the BPF side keeps the first as a template and each later one
 * as its time deltas. Never judged as such: every reader expands it back
 * into exactly the events it stands for.
 *   ts = the first event's, flags = events per MSI (nev, 1..CPRV_RUN_MAX_EV),
 *   cpu/pid/tid = the template's, a0 = MSIs, a1 = delta bytes,
 *   a2 = 64-byte blocks that follow in a trace file (templates + deltas).
 * After it: nev template events, then for each MSI after the first a u32
 * delta of its first event from the previous MSI's first, and a u16 delta
 * of each further event from its own first (little-endian, packed).
 */
#define CPRV_EV_RUN              48
#define CPRV_RUN_MAX_EV           8
#define CPRV_RUN_DELTA_BYTES   3072

/* written by user space, never by BPF */
#define CPRV_EV_MARK             50  /* a0=CPRV_MARK_* a1,a2=argument */
#define CPRV_EV_MAX              64

/* CPRV_EV_FORK from the classic tracepoint: a0 may be a new thread's tid */
#define CPRV_FORK_MAYBE_THREAD 1

/* Object kinds, from the anon-inode name of the file behind an fd. */
#define CPRV_OBJ_UNKNOWN     0
#define CPRV_OBJ_EVENTFD     1
#define CPRV_OBJ_KVM_VM      2
#define CPRV_OBJ_KVM_VCPU    3
#define CPRV_OBJ_VFIO_DEVICE 4
#define CPRV_OBJ_MEMFD       5
#define CPRV_OBJ_KVM_DEV     6  /* /dev/kvm itself */

/*
 * Context tags on CPRV_EV_KVM_MSI_SET_IRQ and CPRV_EV_APIC_ACCEPT: the
 * tracepoints carry no kvm pointer, so the BPF side says what was running
 * on this task (or CPU, in hard irq) when KVM injected. flags = kind,
 * obj = object, a2 = aux.
 */
#define CPRV_CTX_NONE          0  /* nothing known */
#define CPRV_CTX_EVENTFD_WRITE 1  /* inside write() to eventfd obj (irqfd fast path) */
#define CPRV_CTX_HARDIRQ       2  /* inside a vfio hard irq handler, aux=irq */
#define CPRV_CTX_KVM_SET_IRQ   3  /* after kvm_set_irq(level 1) in this task, aux=gsi (irqfd_inject) */
#define CPRV_CTX_SIGNAL_MSI    4  /* inside KVM_SIGNAL_MSI on VM obj */
#define CPRV_CTX_IRQFD         5  /* irqfd_wakeup/irqfd_inject seen: obj=ctx aux=kvm */

/* CPRV_EV_MARK kinds (a0) */
#define CPRV_MARK_RECORD_START 1
#define CPRV_MARK_RECORD_STOP  2
#define CPRV_MARK_CPR_BEGIN    3  /* a1=cycle */
#define CPRV_MARK_CPR_END      4  /* a1=cycle */
#define CPRV_MARK_PHASE        5  /* a1=phase id, a2=pid */

/*
 * The QEMU driver's marks reach the trace through a uprobe on its own
 * cprv_drive_mark(what, pid, ts) (CPRV_UFN_DRIVE_MARK): exact in time and
 * order with everything else. what = kind | phase << 8 | cycle << 16 |
 * flags << 32; ts = when the driver saw it happen (a QMP event), 0: now.
 */
#define CPRV_DRIVE_WHAT(kind, phase, cycle, flags) \
	((__u64)(kind) | (__u64)(phase) << 8 | (__u64)(cycle) << 16 | (__u64)(flags) << 32)
#define CPRV_DRIVE_KIND(w)  ((unsigned)((w) & 0xff))
#define CPRV_DRIVE_PHASE(w) ((unsigned)(((w) >> 8) & 0xff))
#define CPRV_DRIVE_CYCLE(w) ((unsigned)(((w) >> 16) & 0xffff))
#define CPRV_DRIVE_FLAGS(w) ((unsigned)((w) >> 32))
#define CPRV_DRIVE_F_FAILED 1u  /* on CPR_END: the cycle failed */

/* KVM_IRQFD flags as in linux/kvm.h, repeated so the BPF side needs no uapi */
#define CPRV_KVM_IRQFD_FLAG_DEASSIGN 1u

#endif

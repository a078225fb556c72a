// SPDX-License-Identifier: GPL-2.0
/* Probes for probecheck.c: one program per attach kind the project relies on.
 * Each counts its hits in hits[]; probecheck triggers the getppid ones and
 * reports which kinds attach and fire inside L1. No vmlinux.h: the programs
 * read nothing from their context, so they need no kernel types. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "probecheck.h"
__u64 hits[H_MAX];

#define COUNT(i) __sync_fetch_and_add(&hits[i], 1)

SEC("tracepoint/syscalls/sys_enter_getppid")
int tp_getppid(void *ctx) { COUNT(H_TP); return 0; }

SEC("kprobe/__x64_sys_getppid")
int kp_getppid(void *ctx) { COUNT(H_KPROBE); return 0; }

/* Debian's BTF has no __x64_sys_* wrappers, only the __do_sys_* bodies */
SEC("fentry/__do_sys_getppid")
int fe_getppid(void *ctx) { COUNT(H_FENTRY); return 0; }

/* the MSI path's S1 stage (DESIGN.md section 2): attach only, no trigger */
SEC("kprobe/eventfd_signal_mask")
int kp_eventfd(void *ctx) { COUNT(H_KP_EVENTFD); return 0; }

SEC("fentry/eventfd_signal_mask")
int fe_eventfd(void *ctx) { COUNT(H_FENTRY_EVENTFD); return 0; }

SEC("tracepoint/kvm/kvm_msi_set_irq")
int tp_kvm_msi(void *ctx) { COUNT(H_TP_KVM); return 0; }

char LICENSE[] SEC("license") = "GPL";

/* Shared by probecheck.bpf.c and probecheck.c: the slot in hits[] of each
 * program, by program name, so the count never depends on section order. */
#ifndef PROBECHECK_H
#define PROBECHECK_H

enum { H_TP, H_KPROBE, H_FENTRY, H_KP_EVENTFD, H_FENTRY_EVENTFD, H_TP_KVM, H_MAX };

#define PROBECHECK_NAMES                                                       \
	{ [H_TP] = "tp_getppid", [H_KPROBE] = "kp_getppid", [H_FENTRY] = "fe_getppid", \
	  [H_KP_EVENTFD] = "kp_eventfd", [H_FENTRY_EVENTFD] = "fe_eventfd",     \
	  [H_TP_KVM] = "tp_kvm_msi" }

#endif

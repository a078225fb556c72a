/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * cprv-rig: a vfio-like device and a mini-VMM on real kernel objects
 * (eventfds, a KVM VM with irqchip, MSI routes, irqfds) that performs a CPR
 * the way the reference QEMU does, and writes the ground truth.
 *
 * Processes: the launcher forks the device and the old VMM; the new VMM is
 * either a fresh exec of this binary (transfer: the operator starts the new
 * QEMU with -incoming) or the old VMM's own exec (exec mode). They share a
 * control page (a memfd, inherited across fork and exec) holding the
 * configuration, the CPR phase under a process-shared robust mutex, and
 * the handshake flags.
 */
#ifndef CPRV_RIG_H
#define CPRV_RIG_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "kvmvm.h"
#include <sys/types.h>

#include "groundtruth.h"
#include "scenario.h"

#define RIG_MAX_VEC    CPRV_SCENARIO_MAX_VECTORS
#define RIG_MAX_PHASES (3 * CPRV_SCENARIO_MAX_CYCLES + 4)
#define RIG_DEV_NAME   "rig0"
#define RIG_MSI_ADDR   0xfee00000ull /* dest APIC 0, physical */
#define RIG_MSI_DATA0  0x40          /* data = 0x40 | vector: fixed, edge; MSI's
					* multiple messages need the base aligned */

/* Environment: the control page's fd, and (exec mode) the state memfd. */
#define RIG_ENV_CTL_FD     "CPRV_RIG_CTL_FD"
#define RIG_ENV_EXEC_STATE "CPRV_CPR_EXEC_STATE"

/* Exit codes (documented in --help). */
#define RIG_EXIT_OK        0
#define RIG_EXIT_FAIL      1 /* a process died, timed out, or a syscall failed */
#define RIG_EXIT_SELFCHECK 2 /* --self-check: the new VM's IRR lacks a vector */
#define RIG_EXIT_USAGE     3
#define RIG_EXIT_NOKVM     4

/* Every wait has a deadline; TCG-nested KVM is slow, so they are generous. */
#define RIG_TIMEOUT_MS 30000


/* One fire, as the device records it. */
struct rig_fire {
	uint64_t ts;
	uint32_t gen;
	uint16_t vector;
	uint8_t phase;
	uint8_t cycle;
};

/*
 * Per CPR cycle, under mu: the facts the expected figures are computed from.
 * "n_*" are fire counts at that moment: fires and these steps all happen
 * under mu, so fire index < n_x means the fire came before step x.
 */
struct rig_cycle {
	uint64_t n_detach;   /* irqfds deassigned from the old VM */
	uint64_t n_attach;   /* irqfds assigned in the new VM (or re-assigned: failed CPR) */
	uint64_t n_reattach; /* old-vm-kept: the old VMM's re-assign */
	/* Old VM at its detach: fires before its last service of each vector. */
	uint64_t svc[RIG_MAX_VEC];
	uint64_t pending_attach;   /* vectors whose counter was non-zero at the attach */
	uint64_t pending_reattach; /* ... at the old VMM's re-assign (old-vm-kept) */
	uint32_t failed;           /* the incoming VMM died before attaching */
	uint32_t reattached;       /* the old VMM re-assigned its irqfds */
};

/*
 * One window of the guest's mask schedule, under mu. The schedule's progress
 * is guest state (it lives in guest RAM, so it crosses the CPR by itself);
 * the device model's mask bits and PBA are the VMM's, carried in rig_state.
 */
#define RIG_MASK_DUE      0
#define RIG_MASK_MASKED   1
#define RIG_MASK_UNMASKED 2
struct rig_mask {
	uint32_t state;
	uint32_t injected;           /* the unmask sent the held MSI by hand */
	uint64_t n_mask, n_unmask;   /* fire counts at the deassign / re-assign */
	uint64_t ts_mask, ts_unmask;
	uint64_t held;               /* counter values the VMMs read() meanwhile */
};

struct rig_ctl {
	uint32_t magic;
	pthread_mutex_t mu; /* process-shared, robust */

	/* configuration, written once by the launcher */
	struct cprv_scenario scn;
	bool self_check;
	int32_t launcher_pid;
	uint64_t t0; /* launcher start: log times are relative to it */
	char sock_dir[128];

	/* under mu: the truth */
	uint32_t phase; /* CPRV_GT_PHASE_* */
	uint32_t cycle; /* cycle of the current or last CPR */
	uint32_t nphases;
	struct cprv_gt_phase phases[RIG_MAX_PHASES];

	/* handshakes, atomic */
	uint32_t vmm_ready;   /* old VMM: VM built, triggers handed out */
	uint32_t listening;   /* transfer: incoming VMM for this cycle listens */
	uint32_t cpr_request; /* launcher: start CPR of this cycle */
	uint32_t cycle_done;  /* new VMM: this cycle's new side is live */
	uint32_t dev_firing;
	uint32_t dev_stop;
	uint32_t vmm_stop;
	uint64_t nfires; /* under mu: written with each fire */
	uint64_t log_cap;
	uint32_t cpr_failed; /* incoming VMM of this cycle died before attaching */
	struct rig_cycle cyc[CPRV_SCENARIO_MAX_CYCLES + 1];
	/* Fresh VM's fires-before-service baseline: the detach of the cycle that made it. */
	uint64_t serviced[RIG_MAX_VEC]; /* under mu: the guests' own count */
	uint64_t dropped[RIG_MAX_VEC];  /* device: fires dropped while disarmed */
	uint64_t t_first_fire;

	struct cprv_msi_route routes[RIG_MAX_VEC]; /* as the first VMM set them */
	struct rig_mask masks[CPRV_SCENARIO_MAX_MASKS];
	uint64_t pba_dropped;  /* unmasks that cleared a set PBA bit without the MSI */

	/*
	 * --self-check: IRR (256 bits) of the first VM before its detach, of the
	 * last new VM before the saved IRR is restored into it, and at the end.
	 */
	uint32_t irr_old[8], irr_fresh[8], irr_new[8];
	uint32_t irr_old_valid, irr_fresh_valid, irr_new_valid;
	uint32_t irr_restored; /* vectors pending in the last restored IRR */

	char error[256];
};

/* ctl.c */
struct rig_ctl *rig_ctl_create(int *fd);
struct rig_ctl *rig_ctl_attach(void); /* from RIG_ENV_CTL_FD */
int rig_lock(struct rig_ctl *c);
void rig_unlock(struct rig_ctl *c);
/* Under the lock: set phase and log a phase event (name may be NULL). */
void rig_set_phase(struct rig_ctl *c, uint32_t cycle, uint32_t phase, const char *event);
void rig_add_event(struct rig_ctl *c, uint32_t cycle, const char *event);
uint64_t rig_now(void);
void rig_sleep_until(uint64_t ts);
void rig_sleep_ms(uint32_t ms);
__attribute__((format(printf, 3, 4)))
void rig_log(const struct rig_ctl *c, const char *role, const char *fmt, ...);
/* Log, store the message in the control page, exit RIG_EXIT_FAIL. */
__attribute__((format(printf, 3, 4), noreturn))
void rig_die(struct rig_ctl *c, const char *role, const char *fmt, ...);
/* Wait for *flag >= value; 0, or -1 on timeout or when the launcher is gone. */
int rig_wait_flag(struct rig_ctl *c, const uint32_t *flag, uint32_t value, uint32_t timeout_ms);
void cprv_rig_phase(uint32_t cycle, uint32_t phase);

#define RIG_LOAD(p)     __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define RIG_STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)


/* fdpass.c: messages with fds over SOCK_SEQPACKET (SCM_RIGHTS) */
int rig_send_fds(int sock, const void *buf, size_t len, const int *fds, int nfds);
/* Returns the message length, 0 on EOF, -1 on error (errno; EAGAIN on timeout). */
ssize_t rig_recv_fds(int sock, void *buf, size_t len, int *fds, int *nfds,
		     int maxfds, int timeout_ms);
int rig_set_cloexec(int fd, bool on);

/* Device <-> VMM messages (our VFIO_DEVICE_SET_IRQS analogue). */
#define RIG_MSG_TRIGGERS 1 /* + nvec eventfds */
#define RIG_MSG_ACK      2
#define RIG_MSG_DISARM   3 /* fault trigger-teardown: close the triggers */
struct rig_dev_msg {
	uint32_t type;
	uint32_t gen;
	uint32_t n;
};

/* state.c: what a VMM hands to its successor; fds travel by name */
struct rig_state_fd {
	char name[32];
	uint32_t id;
	int32_t fd; /* exec: the fd number; transfer: index in SCM_RIGHTS */
};
struct rig_state {
	uint32_t cycle; /* the CPR cycle carrying this state */
	uint32_t gen;   /* device trigger generation */
	uint32_t nvec;
	struct cprv_msi_route routes[RIG_MAX_VEC];
	uint32_t irr[8]; /* old vCPU's LAPIC IRR: accepted, not yet serviced */
	uint32_t msi;    /* enum cprv_msi_kind */
	uint64_t masked; /* MSI-X vector control mask bits, one per vector */
	uint64_t pba;    /* MSI-X pending bit array */
	uint32_t nfds;
	struct rig_state_fd fds[RIG_MAX_VEC + 1];
};
#define RIG_STATE_MAX (128 + RIG_MAX_VEC * 16 + (RIG_MAX_VEC + 1) * 40)
int rig_state_add_fd(struct rig_state *s, const char *name, uint32_t id, int fd);
int rig_state_find_fd(const struct rig_state *s, const char *name, uint32_t id);
size_t rig_state_encode(const struct rig_state *s, uint8_t *buf, size_t cap);
int rig_state_decode(const uint8_t *buf, size_t len, struct rig_state *s,
		     char *err, size_t errlen);

/*
 * guest.c: the VMM's guest thread. Every service period it takes the vCPU's
 * IRR bits as handled interrupts and clears them (KVM_GET_LAPIC +
 * KVM_SET_LAPIC), under mu, so no fire's injection can slip between the two.
 */
struct rig_guest {
	struct rig_ctl *c;
	struct cprv_vm *vm;
	const struct cprv_msi_route *routes; /* the VM's routes, to name vectors */
	uint32_t nvec;
	const char *role;
	bool running;              /* under mu: false while paused for CPR */
	uint64_t svc[RIG_MAX_VEC]; /* under mu: fires before the last service of vector i */
	uint64_t nserviced;        /* this guest's own total */
	uint64_t t_last;           /* atomic: time of the last service */
	uint32_t stop;             /* atomic */
	bool started;
	pthread_t th;
	/* The guest writes an MSI-X vector control word: its VMM traps it, under mu. */
	void (*set_mask)(void *vmm, uint32_t window, bool masked);
	void *vmm;
};
void rig_guest_start(struct rig_guest *g);
/* Under mu: one service now (also the guest's last, after the device stops). */
void rig_guest_service_locked(struct rig_guest *g);
void rig_guest_stop(struct rig_guest *g);
/* Under mu: the mask schedule's unmasks, then masks, that are due now. */
void rig_guest_masks_locked(struct rig_guest *g);

/* device.c, vmm.c, launcher.c */
int rig_device_main(struct rig_ctl *c, int sock, struct rig_fire *log);
int rig_vmm_first_main(struct rig_ctl *c, int dev_sock);
int rig_vmm_incoming_main(uint32_t cycle);
int rig_vmm_exec_resume_main(void);
int rig_launch(const struct cprv_scenario *s, bool self_check, const char *gt_path);

#endif

/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Analysis: rebuilds vectors, fires, injections, coverage and CPR cycles
 * from a stream of events (DESIGN section 3). Events are fed one at a time
 * in timestamp order; memory grows with vectors, bindings and uncovered
 * fires, never with trace length.
 *
 * Usage: cprv_analysis_new(), cprv_analysis_feed() per event,
 * cprv_analysis_finish() once, then read the results through the accessors.
 */
#ifndef CPRV_ANALYSIS_H
#define CPRV_ANALYSIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cprv_event.h"
#include "cprv_hooks.h"

#define CPRV_SETTLE_DEFAULT_NS (200ull * 1000 * 1000)
#define CPRV_REASON_LEN 96
#define CPRV_HIST_BUCKETS 64

/*
 * Filled by the recorder from the probe plan and the canary: live[type] is
 * true only if the probe for that event type attached AND was seen firing.
 */
struct cprv_visibility {
	bool live[CPRV_EV_MAX];
	char reason[CPRV_EV_MAX][CPRV_REASON_LEN]; /* why not live */
	uint64_t dropped;                          /* ring buffer drops */
};

/* live = true clears the reason; reason may be NULL. */
void cprv_visibility_set(struct cprv_visibility *v, unsigned type, bool live,
			 const char *reason);

/* An eventfd address in one life: life = eventfd_create events of that
 * address before (0: created before the recording). */
struct cprv_path_ctx {
	uint64_t obj;
	uint32_t life;
};

struct cprv_analysis_opts {
	uint64_t settle_ns;    /* 0: CPRV_SETTLE_DEFAULT_NS */
	unsigned max_chains;   /* evidence chains kept per kind; 0: 100 */
	unsigned max_pending;  /* uncovered fires kept exactly per ctx; 0: 65536 */
	/*
	 * The eventfds on the MSI path (ever bound to a KVM irqfd, or signalled
	 * by vfio's MSI handler), each in one of its lives (a freed eventfd's
	 * address is handed to the next one created: a VMM's own notifier may
	 * get a dead trigger's address), sorted, from a first pass over the
	 * trace. When set,
	 * writes, signals and reads of any other eventfd (a VMM's own event
	 * notifiers) are not fires: they are counted in off_path_events. NULL:
	 * every eventfd is judged (a stream, no first pass possible).
	 */
	const struct cprv_path_ctx *path_ctxs;
	size_t n_path_ctxs;
	struct cprv_visibility vis;
};

struct cprv_totals {
	uint64_t events, out_of_order;
	uint64_t first_ts, last_ts;
	uint64_t fires;            /* write_fires + kernel_fires */
	uint64_t write_fires;      /* eventfd write(): one write, one fire */
	uint64_t kernel_fires;     /* from the best visible kernel source */
	uint16_t kernel_fire_src;  /* CPRV_EV_EVENTFD_SIGNAL, _VFIO_MSIHANDLER or 0 */
	uint64_t vfio_irqs;        /* irq_handler_entry on vfio: evidence only */
	uint64_t merged_signals;   /* eventfd_signal inside a write(): not a 2nd fire */
	uint64_t injections;       /* attributed to a ctx */
	uint64_t delivered;        /* fires covered by an injection */
	uint64_t coalesced;        /* covered fires beyond the first per injection */
	uint64_t duplicates;
	uint64_t replay_races;     /* KVM's assign replay after a new signal covered all: legal */
	uint64_t attempts;         /* kvm_msi_set_irq never accepted by a LAPIC */
	uint64_t unattributed;     /* may belong to a traced vector, not pinned */
	uint64_t foreign;          /* route matches no traced vector */
	uint64_t other_vm_wq;      /* workqueue injections no vector of ours asked for */
	uint64_t ambiguous;        /* attributed by tie-break */
	uint64_t ambiguous_material; /* ... where the choice could change a count */
	uint64_t stray_accepts;    /* LAPIC accepts with no MSI (timer, IPI, ...) */
	uint64_t lost;
	uint64_t in_flight;        /* uncovered at stop, less than settle ago */
	uint64_t posted_updates;   /* kvm_pi_irte_update seen */
	uint64_t off_path_events;  /* eventfd traffic off the MSI path (opts.path_ctxs) */
	uint64_t overflow_fires;   /* uncovered fires beyond max_pending per ctx */
	uint64_t held;             /* fires taken out of a counter by a user-space read() */
	uint64_t held_delivered;   /* ... then injected by KVM_SIGNAL_MSI */
	uint64_t held_lost;        /* of lost: held and never injected */
	uint64_t lapic_lost;       /* of lost: covered by injections that died in a VM's LAPIC */
	uint64_t lapic_carried;    /* covered fires pending at teardown, re-injected into the successor */
	uint64_t vms_torn_down;
	uint64_t uprobe_hits[CPRV_UFN_MAX]; /* per user-space function (CPRV_UFN_*) */
	bool lapic_checked;        /* some VM's LAPIC servicing (GET+SET) was seen */
};

/* One logical vector: a gsi (across VMs), or a ctx never bound to a gsi. */
struct cprv_vector {
	bool has_gsi;
	uint32_t gsi;
	bool has_route;
	uint64_t address, data;
	bool route_changed;        /* a VM routed this gsi differently */
	uint64_t *ctxs;            /* every eventfd ctx seen on it */
	size_t n_ctxs;
	uint64_t fires, injections, delivered, coalesced, lost, duplicates;
	uint64_t replay_races;
	uint64_t in_flight, ambiguous;
	uint64_t max_delay_ns, max_gap_ns;
	uint64_t delay_hist_log2[CPRV_HIST_BUCKETS]; /* bucket i: [2^i, 2^(i+1)) ns; 0 also holds 0 */
};

struct cprv_cycle_vec {
	uint32_t gsi;
	uint64_t old_ctx, new_ctx;
	uint64_t detach_ns, attach_ns; /* attach_ns valid if attached */
	bool attached;
	uint64_t fires;                /* fires on this gsi while detached */
	bool has_old_route, has_new_route;
	uint64_t old_addr, old_data;   /* the route of gsi in the old VM at detach */
	uint64_t new_addr, new_data;   /* ... in the VM it was re-attached to */
	uint64_t fires_before;         /* fires in the trace before its detach */
	bool masked;                   /* read by user space while detached: a masked
					* MSI-X vector, not dark; it does not bound
					* the blackout */
};

/*
 * The steps of one QEMU live update, in the order the reference takes them
 * (DESIGN section 1). Seen from QMP events (marks written by the driver) and
 * from uprobes on QEMU's CPR functions; a step nobody saw stays 0.
 */
enum cprv_phase {
	CPRV_PHASE_SETUP = 0,   /* migrate issued / MIGRATION setup / cpr_state_save */
	CPRV_PHASE_FDS_SAVED,   /* the old QEMU's last cpr_save_fd before it stops */
	CPRV_PHASE_OLD_STOPPED, /* old VM stopped (QMP STOP) */
	CPRV_PHASE_FDS_FOUND,   /* the new QEMU's first cpr_find_fd / cpr_state_load */
	CPRV_PHASE_NEW_VM,      /* the new QEMU's KVM_CREATE_VM */
	CPRV_PHASE_REATTACHED,  /* the new QEMU's last route/irqfd set-up before it runs */
	CPRV_PHASE_RUNNING,     /* new VM running (QMP RESUME / migration completed) */
	CPRV_PHASES
};
const char *cprv_phase_name(unsigned p); /* "setup", "fds_saved", ... */
struct cprv_analysis;
/* The cycle a QEMU driver numbered `number` (1-based), or NULL. */
const struct cprv_cycle *cprv_analysis_driven_cycle(const struct cprv_analysis *a, uint32_t number);
#define CPRV_PHASE_SRC_NONE   0
#define CPRV_PHASE_SRC_QMP    1  /* the driver's mark from a QMP event */
#define CPRV_PHASE_SRC_UPROBE 2  /* a uprobe on QEMU's own function */
#define CPRV_PHASE_SRC_KERNEL 3  /* a syscall or kernel event (KVM_CREATE_VM, SCM_RIGHTS ...) */
const char *cprv_phase_src_name(unsigned src); /* "qmp", "uprobe", "kernel", "-" */

struct cprv_cycle {
	uint64_t start_ns, end_ns, blackout_ns;
	uint64_t phase_ns[CPRV_PHASES];  /* when each step was first seen; 0: not seen */
	uint32_t phase_pid[CPRV_PHASES];
	uint8_t phase_src[CPRV_PHASES];  /* CPRV_PHASE_SRC_*: what saw it */
	bool driven;             /* a QEMU driver's cycle (CPR_BEGIN/CPR_END marks) */
	bool driver_failed;      /* ... that the driver says failed */
	uint32_t number;         /* the driver's cycle number (1-based), 0 if none */
	uint32_t old_pid;        /* the QEMU that started the update */
	uint64_t exec_ns;        /* cpr-exec: the old QEMU's exec */
	uint64_t vm_blackout_ns; /* old VM stopped -> new VM running (0: not both seen) */
	bool vecs_back;          /* driven: every dark vector re-attached ... */
	uint64_t vec_start_ns, vec_end_ns, vec_blackout_fires; /* ... and its dark window */
	uint64_t old_vm, new_vm;
	bool complete;   /* every detached gsi re-attached in the new VM */
	bool from_mark;  /* started by CPRV_MARK_CPR_BEGIN */
	bool failed;     /* re-attached in the old VM itself: the new VMM never took over */
	bool all_detached;       /* the old VM was left with no irqfd at some point */
	bool activity;           /* a process came, went or passed fds inside it */
	bool old_vm_gone;        /* the old VM's last holder let go */
	uint64_t old_vm_gone_ns;
	uint64_t blackout_fires;
	uint64_t lost;   /* lost fires that fired inside this cycle */
	struct cprv_cycle_vec *vecs;
	size_t n_vecs, cap_vecs;
};

enum cprv_chain_kind {
	CPRV_CHAIN_LOST,
	CPRV_CHAIN_DUPLICATE,
	CPRV_CHAIN_UNATTRIBUTED,
	CPRV_CHAIN_AMBIGUOUS,
	CPRV_CHAIN_REPLAY_RACE,
	CPRV_CHAIN_KINDS
};

/* The evidence behind one lost fire, one suspect injection or one replay race. */
struct cprv_chain {
	uint64_t ts;
	uint32_t pid;
	uint64_t ctx;       /* 0 if none */
	bool has_gsi;
	uint32_t gsi;
	char **lines;
	size_t n_lines;
};

/* Conformance rules R1-R6 (DESIGN section 3, issue 3 spec). */
#define CPRV_RULES 6
#define CPRV_RULE_WHY_LEN 256
#define CPRV_RULE_MAX_EVIDENCE 8

enum cprv_rule_state {
	CPRV_RULE_NOT_CHECKABLE,
	CPRV_RULE_HELD,
	CPRV_RULE_BROKEN,
};

struct cprv_rule {
	enum cprv_rule_state state;
	char why[CPRV_RULE_WHY_LEN];
	uint64_t breaks;             /* how many violations (evidence keeps the first few) */
	struct cprv_chain evidence[CPRV_RULE_MAX_EVIDENCE];
	size_t n_evidence;
};

struct cprv_analysis;

struct cprv_analysis *cprv_analysis_new(const struct cprv_analysis_opts *opts);
void cprv_analysis_free(struct cprv_analysis *a);
/* 0, -EINVAL after finish, -ENOMEM. */
int cprv_analysis_feed(struct cprv_analysis *a, const struct cprv_event *ev);
/* Event types that name an eventfd on the MSI path: the first pass that
 * builds opts.path_ctxs collects their obj. */
bool cprv_analysis_names_path_ctx(const struct cprv_event *ev);

/* Ring buffer drops are known only at the trace's end: set them late. */
void cprv_analysis_set_dropped(struct cprv_analysis *a, uint64_t dropped);
/* Judges uncovered fires and orders vectors; call once, after the last feed. */
int cprv_analysis_finish(struct cprv_analysis *a);

const struct cprv_analysis_opts *cprv_analysis_opts(const struct cprv_analysis *a);
const struct cprv_totals *cprv_analysis_totals(const struct cprv_analysis *a);
/* Vectors in report order: by gsi, then ctx-only vectors. After finish. */
size_t cprv_analysis_n_vectors(const struct cprv_analysis *a);
const struct cprv_vector *cprv_analysis_vector(const struct cprv_analysis *a, size_t i);
size_t cprv_analysis_n_cycles(const struct cprv_analysis *a);
const struct cprv_cycle *cprv_analysis_cycle(const struct cprv_analysis *a, size_t i);
/* Chains kept (at most max_chains); totals tell how many there were. */
size_t cprv_analysis_n_chains(const struct cprv_analysis *a, enum cprv_chain_kind k);
const struct cprv_chain *cprv_analysis_chain(const struct cprv_analysis *a,
					     enum cprv_chain_kind k, size_t i);
/* Rule n (1..CPRV_RULES), after finish; NULL otherwise. */
const struct cprv_rule *cprv_analysis_rule(const struct cprv_analysis *a, unsigned n);
const char *cprv_rule_state_name(enum cprv_rule_state s); /* "held", "broken", "not_checkable" */
const char *cprv_rule_title(unsigned n);
/* Bit n-1 set for each broken rule n. */
unsigned cprv_analysis_rules_broken(const struct cprv_analysis *a);
/* Last comm seen for pid (exec/fork), or NULL. */
const char *cprv_analysis_comm(const struct cprv_analysis *a, uint32_t pid);

#endif

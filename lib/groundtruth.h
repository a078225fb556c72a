/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Ground truth: what the rig actually did, so a verdict can be checked
 * against it. The rig writes it (cprv_gt_write), `cpr-verify report
 * --ground-truth` reads it (cprv_gt_load).
 *
 *   {"format":"cprv-ground-truth","version":1,"mode":"transfer",
 *    "fault":"none","vectors":4,"cycles":1,
 *    "vector_info":[{"vector":0,"gsi":0,"address":4276092928,"data":64},..],
 *    "phases":[{"cycle":1,"name":"detach","ts":NS},..],
 *    "fires":{"total":N,"per_vector":[..],
 *             "by_phase":{"before":N,"blackout":N,"after":N}},
 *    "expected":{"lost":N,"lost_per_vector":[..],"duplicates":0,
 *                "lost_unobservable":N,"lost_unobservable_per_vector":[..],
 *                "duplicates_per_vector":[..],"rules_broken":["R1",..],
 *                "min_gap_ms":N},
 *    "guest":{"service_period_us":N,"serviced_per_vector":[..]},
 *    "cycle_info":[{"cycle":1,"failed":false},..],
 *    "msi":"msix",
 *    "mask_windows":[{"vector":1,"mask_ts":NS,"unmask_ts":NS,"held":N,
 *                     "injected":true},..],
 *    "fire_log":[[ts,vector,phase,generation,lost,held],..]}
 *
 * Version 2 added lost_unobservable*, duplicates_per_vector, rules_broken,
 * min_gap_ms, guest and cycle_info (all required in a v2 file); version 1
 * files still read, with those zero or empty. Version 3 added msi,
 * expected.held, held_per_vector, held_delivered, mask_windows and the
 * sixth fire_log column, held: the fire was taken out of the eventfd
 * counter by a VMM's read() while its MSI-X vector was masked (into the
 * PBA); it is delivered when the unmask sends it by hand (KVM_SIGNAL_MSI,
 * "injected"), else lost (fault pba-dropped). Fires the rig's device dropped
 * (fault trigger-teardown) never reached an eventfd: they are not in
 * fire_log or fires, only in lost_unobservable.
 *
 * Timestamps are CLOCK_MONOTONIC ns, the clock bpf_ktime_get_ns reads, so
 * they line up with a trace of the same run. A fire's phase is one of
 * CPRV_GT_PHASE_*; the rig samples it under the same lock that the phase
 * changes and the KVM ioctls take, so the label is exact.
 */
#ifndef CPRV_GROUNDTRUTH_H
#define CPRV_GROUNDTRUTH_H

#include <stddef.h>
#include <stdint.h>

#define CPRV_GT_FORMAT  "cprv-ground-truth"
#define CPRV_GT_VERSION 3

/* Conformance rules R1..R6 (rules_broken), as bits 1 << (n - 1). */
#define CPRV_GT_RULE(n) (1u << ((n) - 1))
#define CPRV_GT_NRULES  6

/*
 * Rig phases. Also the second argument of the rig's uprobe target
 * cprv_rig_phase(cycle, phase).
 */
#define CPRV_GT_PHASE_RUNNING_OLD 1 /* irqfds attached to the first VM */
#define CPRV_GT_PHASE_DETACHED    2 /* irqfds detached: the CPR blackout */
#define CPRV_GT_PHASE_RUNNING_NEW 3 /* the device's triggers reach the new VM */
#define CPRV_GT_PHASE_DONE        4 /* device stopped */

/* Phase event names in "phases". */
#define CPRV_GT_EV_DETACH "detach" /* KVM_IRQFD deassign on the old VM */
#define CPRV_GT_EV_ATTACH "attach" /* KVM_IRQFD assign on the new VM */
#define CPRV_GT_EV_SWITCH "switch" /* device took new triggers (fault new-eventfd) */
#define CPRV_GT_EV_START  "start"  /* first fire (cycle 0) */
#define CPRV_GT_EV_STOP   "stop"   /* device stopped (last cycle) */
#define CPRV_GT_EV_REATTACH "reattach" /* failed CPR: old VMM re-assigns in the same VM */
#define CPRV_GT_EV_RESUME "resume" /* failed CPR: old VMM carries on without re-assigning */
#define CPRV_GT_EV_OLD_REATTACH "old-reattach" /* old-vm-kept: old VMM re-assigns after handover */
#define CPRV_GT_EV_VM_RUN "vm-run" /* late-attach: the new VM runs before its irqfds */

struct cprv_gt_vector {
	uint32_t vector;
	uint32_t gsi;
	uint64_t address;
	uint32_t data;
	uint64_t fires;
	uint64_t lost; /* expected lost */
	uint64_t lost_unobservable;
	uint64_t duplicates;
	uint64_t serviced; /* the rig's guest took this vector's interrupt so often */
	uint64_t held;     /* v3: fires read into the PBA while masked */
};

/* v3: one guest mask/unmask of an MSI-X vector. */
struct cprv_gt_mask {
	uint32_t vector;
	uint64_t mask_ts, unmask_ts; /* KVM_IRQFD deassign / re-assign */
	uint64_t held;               /* fires read into the PBA meanwhile */
	uint32_t injected;           /* 1: the unmask sent the held MSI by hand */
};

struct cprv_gt_cycle {
	uint32_t cycle;
	uint32_t failed; /* the new VMM died before taking over */
};

struct cprv_gt_phase {
	uint32_t cycle;
	char name[16];
	uint64_t ts;
};

struct cprv_gt_fire {
	uint64_t ts;
	uint32_t vector;
	uint32_t phase;      /* CPRV_GT_PHASE_* */
	uint32_t generation; /* trigger generation: 0, +1 per trigger switch */
	uint32_t lost;       /* 1: expected lost */
	uint32_t held;       /* v3: 1: read into the PBA while masked */
};

struct cprv_ground_truth {
	char mode[16];   /* "transfer", "exec" */
	char fault[32];  /* "none", "new-eventfd" */
	uint32_t nvectors;
	uint32_t cycles;
	struct cprv_gt_vector *vec; /* nvectors */
	struct cprv_gt_phase *phases;
	size_t nphases;
	uint64_t total, before, blackout, after;
	uint64_t lost, duplicates;
	/* v2 */
	uint32_t version;            /* as read; the writer always writes CPRV_GT_VERSION */
	uint64_t lost_unobservable;  /* sum of vec[].lost_unobservable */
	uint32_t rules_broken;       /* CPRV_GT_RULE bits */
	uint64_t min_gap_ms;         /* the longest no-delivery gap is at least this */
	uint32_t service_period_us;
	struct cprv_gt_cycle *cycle_info;
	size_t ncycle_info;
	/* v3 */
	char msi[8];                 /* "msix", "msi" (v1, v2: "msix") */
	uint64_t held;               /* sum of vec[].held */
	uint64_t held_delivered;     /* held and not lost */
	struct cprv_gt_mask *masks;
	size_t nmasks;
	struct cprv_gt_fire *log; /* optional (see CPRV_GT_LOAD_FIRE_LOG) */
	size_t nlog;
};

/* Load flags. */
#define CPRV_GT_LOAD_FIRE_LOG 1u /* keep the fire log (it may be large) */

/*
 * Read a ground-truth file; the fire log is checked against the totals but
 * not kept. Returns 0, or -1 with "path: what is wrong" in err.
 * On success free with cprv_gt_free.
 */
int cprv_gt_load(const char *path, struct cprv_ground_truth *gt,
		 char *err, size_t errlen);
int cprv_gt_load_ex(const char *path, unsigned flags,
		    struct cprv_ground_truth *gt, char *err, size_t errlen);
int cprv_gt_parse(const char *text, const char *origin, unsigned flags,
		  struct cprv_ground_truth *gt, char *err, size_t errlen);

/*
 * Recompute per-vector fires, expected lost and held, and the totals
 * (held_delivered too), from the fire log, and duplicates and
 * lost_unobservable from vec[] (which the rig sets per vector). The rig fills vec[], phases and log, then calls this.
 */
void cprv_gt_tally(struct cprv_ground_truth *gt);

int cprv_gt_write(const char *path, const struct cprv_ground_truth *gt,
		  char *err, size_t errlen);

/* First phase event with this cycle and name, or NULL. */
const struct cprv_gt_phase *cprv_gt_phase_find(const struct cprv_ground_truth *gt,
					       uint32_t cycle, const char *name);

const char *cprv_gt_phase_name(uint32_t phase); /* "before", "blackout", ... */

void cprv_gt_free(struct cprv_ground_truth *gt);

#endif

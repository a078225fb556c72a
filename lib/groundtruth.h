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
 *    "expected":{"lost":N,"lost_per_vector":[..],"duplicates":0},
 *    "fire_log":[[ts,vector,phase,generation,lost],..]}
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
#define CPRV_GT_VERSION 1

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

struct cprv_gt_vector {
	uint32_t vector;
	uint32_t gsi;
	uint64_t address;
	uint32_t data;
	uint64_t fires;
	uint64_t lost; /* expected lost */
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
 * Recompute per-vector fires and expected lost, and the totals, from the
 * fire log. The rig fills vec[] (routes), phases and log, then calls this.
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

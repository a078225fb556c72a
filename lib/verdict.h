/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The verdict on one analysed trace (DESIGN section 3): pass, fail or
 * unjudged, with the reasons, the caveats (stages that were blind), and an
 * optional comparison against the ground truth a rig wrote.
 */
#ifndef CPRV_VERDICT_H
#define CPRV_VERDICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "analysis.h"

enum cprv_result {
	CPRV_RESULT_PASS,
	CPRV_RESULT_FAIL,
	CPRV_RESULT_UNJUDGED,
};

/*
 * What the scenario really did (from the rig's ground truth file, see
 * groundtruth.h). Vectors in gsi order.
 */
struct cprv_gt_expect {
	uint64_t fires;
	const uint64_t *vector_fires;  /* n_vectors entries, or NULL */
	size_t n_vectors;
	uint64_t lost;
	const uint64_t *vector_lost;   /* n_vectors entries, or NULL */
	uint64_t duplicates;
	/* ground truth v2 (all optional) */
	const uint64_t *vector_duplicates; /* n_vectors entries, or NULL */
	bool has_rules;
	unsigned rules_broken;         /* bit n-1: rule Rn broken */
	uint64_t lost_unobservable;    /* fires the host could not see: never reported lost */
	bool has_min_gap;
	uint64_t min_gap_ms;           /* the reported max gap must be at least this */
};

enum cprv_gt_kind {
	CPRV_GT_EQUAL,                 /* reported == expected */
	CPRV_GT_AT_LEAST,              /* reported >= expected */
	CPRV_GT_RULES,                 /* rule bitmasks, equal */
};

struct cprv_gt_figure {
	char name[32];                 /* "fires", "fires[gsi 2]", "lost", ... */
	uint64_t expected, reported;
	enum cprv_gt_kind kind;
	bool match;
};

/* "R1,R4" for a rule bitmask, "none" for 0. */
void cprv_rules_mask_str(unsigned mask, char *buf, size_t len);

struct cprv_verdict {
	enum cprv_result result;
	char **reasons;
	size_t n_reasons;
	char **caveats;
	size_t n_caveats;
	bool has_gt, gt_match;
	struct cprv_gt_figure *gt;
	size_t n_gt;
};

/* a must be finished; gt may be NULL. 0 or -ENOMEM. */
int cprv_verdict_judge(struct cprv_verdict *v, const struct cprv_analysis *a,
		       const struct cprv_gt_expect *gt);
/* CPRV_VERDICT_NO_DEVICE: the workload has no MSI source (a QEMU lane
 * without a device); no fires is then no reason to stay unjudged. */
#define CPRV_VERDICT_NO_DEVICE 1u
int cprv_verdict_judge_ex(struct cprv_verdict *v, const struct cprv_analysis *a,
			  const struct cprv_gt_expect *gt, unsigned flags);

struct cprv_drive;
/*
 * Add what a QEMU driver saw (lib/drive.h): a failed cycle or a guest
 * heartbeat that stopped fails the verdict; a driver that could not do its
 * job, or a cycle the trace does not show, makes a pass unjudged. Also
 * says when phases were seen only through QMP. 0 or -ENOMEM.
 */
int cprv_verdict_drive(struct cprv_verdict *v, const struct cprv_analysis *a,
		       const struct cprv_drive *d);
void cprv_verdict_free(struct cprv_verdict *v);
/* 0 pass, 1 fail, 2 unjudged (DESIGN section 6) */
int cprv_verdict_exit_code(const struct cprv_verdict *v);
const char *cprv_result_name(enum cprv_result r); /* "pass", "fail", "unjudged" */

#endif

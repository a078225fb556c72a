/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The gate (DESIGN section 3): a candidate QEMU's run of a scenario judged
 * against the reference's run of the same scenario. Lost must be 0;
 * duplicates, delivery gaps and the CPR blackout no worse than the
 * reference's within tolerances; every rule the reference holds held; the
 * reference's CPR phases all seen, in the same order. One check per line
 * of that, each pass, fail or unjudged, for JSON and JUnit XML.
 */
#ifndef CPRV_GATE_H
#define CPRV_GATE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "analysis.h"
#include "verdict.h"

struct cprv_drive;
struct json_object;

struct cprv_gate_side {
	const char *label;              /* "candidate", "reference" */
	const char *qemu;               /* what ran */
	const struct cprv_analysis *a;
	const struct cprv_verdict *v;
	const struct cprv_drive *d;     /* may be NULL */
	struct json_object *report;     /* the run's report JSON, for pages; may be NULL */
};

struct cprv_gate_tol {
	uint64_t dup_extra;             /* duplicates allowed beyond the reference's */
	uint64_t gap_ms;                /* max gap: reference * (1 + gap_pct/100) + gap_ms */
	uint32_t gap_pct;
	uint64_t blackout_ms;           /* median VM blackout: same form */
	uint32_t blackout_pct;
};
/* The defaults: 0 extra duplicates, gaps and blackout +100% + 50 ms
 * (timing under nested TCG varies by 2x from run to run). */
void cprv_gate_tol_defaults(struct cprv_gate_tol *t);

/* skipped: neither run could check it (no device, say); never a pass in
 * disguise, never a failure either. */
enum cprv_gate_status {
	CPRV_GATE_PASS = 0, CPRV_GATE_FAIL = 1, CPRV_GATE_UNJUDGED = 2, CPRV_GATE_SKIPPED = 3,
};

#define CPRV_GATE_MAX_CHECKS 24
struct cprv_gate_check {
	char name[48];                  /* "lost", "duplicates", "rule R3", "phases", ... */
	enum cprv_gate_status status;
	char candidate[96], reference[96]; /* the figures compared */
	char detail[400];               /* why, in words */
};

struct cprv_gate {
	struct cprv_gate_check checks[CPRV_GATE_MAX_CHECKS];
	size_t n;
	enum cprv_gate_status result;   /* fail if any fails, else unjudged if any is */
};

void cprv_gate_compare(struct cprv_gate *g, const struct cprv_gate_side *cand,
		       const struct cprv_gate_side *ref, const struct cprv_gate_tol *tol);
const char *cprv_gate_status_name(enum cprv_gate_status s); /* "pass", "fail", "unjudged", "skipped" */
/* 0 pass, 1 fail, 2 unjudged */
int cprv_gate_exit_code(const struct cprv_gate *g);
void cprv_gate_text(FILE *f, const struct cprv_gate *g, const struct cprv_gate_side *cand,
		    const struct cprv_gate_side *ref);
struct json_object *cprv_gate_json(const struct cprv_gate *g, const struct cprv_gate_side *cand,
				   const struct cprv_gate_side *ref, const struct cprv_gate_tol *tol);
/* JUnit XML: one <testcase> per check, failures with their detail. */
int cprv_gate_junit(FILE *f, const struct cprv_gate *g, const char *suite);

#endif

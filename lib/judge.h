/* From a trace file to a verdict: header -> plan -> visibility, events ->
 * reorder window -> analysis, END stats -> drops, optional ground truth.
 * Shared by `report` and `run`; no libbpf. */
#ifndef CPRV_JUDGE_H
#define CPRV_JUDGE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct json_object;
struct cprv_judgement;

struct cprv_judge_opts {
	const char *trace;        /* trace file */
	const char *ground_truth; /* rig ground truth, or NULL */
	const char *drive_result; /* the QEMU driver's outcome (lib/drive.h), or NULL */
	bool no_device_ok;        /* the workload has no MSI source: no fires is no blocker */
	bool msi_path_only;       /* judge only eventfds bound to an irqfd or armed by vfio
				   * (a real VMM's own event notifiers are not MSIs) */
	uint64_t settle_ns;       /* 0: the analysis default */
	unsigned max_chains;      /* 0: the analysis default */
};

/* Why judging could not even start. */
enum cprv_judge_error {
	CPRV_JUDGE_OK = 0,
	CPRV_JUDGE_BAD_INPUT,  /* not a trace, bad header, bad ground truth */
	CPRV_JUDGE_INTERNAL,   /* memory, I/O */
};

struct cprv_judgement *cprv_judge(const struct cprv_judge_opts *o, enum cprv_judge_error *e,
				  char *err, size_t errlen);
void cprv_judgement_free(struct cprv_judgement *j);

/* 0 pass, 1 fail, 2 unjudged */
int cprv_judgement_exit_code(const struct cprv_judgement *j);
const char *cprv_judgement_result(const struct cprv_judgement *j);
void cprv_judgement_text(const struct cprv_judgement *j, FILE *f, bool verbose);
/* The report JSON with `plan`, `trace` (file, status, events, drops) and the
 * header's scenario added; caller owns it. */
struct json_object *cprv_judgement_json(const struct cprv_judgement *j);

/* What a judgement rests on, for reports that need more than text/JSON. */
struct cprv_analysis;
struct cprv_verdict;
struct cprv_drive;
struct cprv_plan;
const struct cprv_analysis *cprv_judgement_analysis(const struct cprv_judgement *j);
const struct cprv_verdict *cprv_judgement_verdict(const struct cprv_judgement *j);
const struct cprv_drive *cprv_judgement_drive(const struct cprv_judgement *j); /* NULL: none */
const struct cprv_plan *cprv_judgement_plan(const struct cprv_judgement *j);
struct json_object *cprv_judgement_meta(const struct cprv_judgement *j); /* trace header */

#endif

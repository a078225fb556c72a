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

#endif

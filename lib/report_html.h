/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The lost-interrupt report as one self-contained HTML file (issue 6): no
 * network, no external assets, no script needed. The verdict in one line
 * first, then the evidence: per-vector timeline (inline SVG, CPR phases
 * shaded, a zoomed strip per CPR cycle), gap histograms, the blackout per
 * cycle, every lost or duplicate MSI with its chain, the conformance rules,
 * and what the probes could see.
 *
 * Input is the report JSON (cprv_judgement_json(), or cprv_report_json()
 * plus "plan"/"trace"), so the page and report.json never disagree; the
 * timeline re-reads the trace with memory bounded by vectors x columns.
 */
#ifndef CPRV_REPORT_HTML_H
#define CPRV_REPORT_HTML_H

#include <stddef.h>
#include <stdio.h>

struct json_object;

struct cprv_html_run {
	struct json_object *report;  /* the report JSON; not modified */
	/* trace to draw the timeline from; NULL: the report's trace.file;
	 * "": no timeline (said so on the page) */
	const char *trace;
	const char *label;           /* "candidate", "reference", or NULL */
};

struct cprv_html_opts {
	const char *title;     /* NULL: "cpr-verify report" */
	unsigned columns;      /* timeline bins across the full run; 0: 600 */
	unsigned zoom_columns; /* bins across one cycle's zoom; 0: 400 */
	unsigned max_zoom;     /* cycles drawn zoomed (those with losses first); 0: 6 */
	unsigned max_rows;     /* lost/duplicate rows shown per table; 0: every kept chain */
};

/* 0, or -1 on an output error (errno) or a report that is not an object. */
int cprv_report_html(FILE *out, const struct cprv_html_run *run,
		     const struct cprv_html_opts *o);

struct cprv_judgement;
/*
 * The report of a judged trace (cprv_judgement_json, timeline from its
 * trace file) written to path; a failed write leaves no partial file.
 * 0, or -1 with errno set.
 */
int cprv_report_html_file(const char *path, const struct cprv_judgement *j,
			  const struct cprv_html_opts *o);

/* One gate check as the gate decided it. */
enum cprv_html_check_status {
	CPRV_HTML_CHECK_PASS = 0,
	CPRV_HTML_CHECK_FAIL = 1,
	CPRV_HTML_CHECK_UNJUDGED = 2,
	CPRV_HTML_CHECK_SKIPPED = 3, /* neither run could check it: no pass, no failure */
};

struct cprv_html_check {
	const char *name;      /* "lost", "duplicates vs reference", "R3", ... */
	int status;            /* enum cprv_html_check_status */
	const char *detail;    /* one line, or NULL */
};

/*
 * The gate page: the gate's verdict (fail if a check failed, else could not
 * judge if one was unjudged, else pass), its checks, then candidate and
 * reference side by side with every difference highlighted.
 */
int cprv_report_html_gate(FILE *out, const struct cprv_html_run *cand,
			  const struct cprv_html_run *ref, const struct cprv_html_check *checks,
			  size_t n, const struct cprv_html_opts *o);

#endif

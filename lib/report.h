/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Reports of an analysed trace and its verdict: terminal text and JSON. */
#ifndef CPRV_REPORT_H
#define CPRV_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "analysis.h"
#include "verdict.h"

struct json_object;

struct cprv_report_opts {
	bool verbose;          /* text: every kept chain, not just the first few */
	unsigned max_chains;   /* text: chains shown per kind (0: 5); json: kept (0: all kept) */
};

/* 12004 -> "12,004" (thousands separated); b holds 32 bytes. */
const char *cprv_report_num(char b[32], uint64_t x);

/* The verdict in words, one line, no newline. */
void cprv_report_headline(char *buf, size_t len, const struct cprv_analysis *a,
			  const struct cprv_verdict *v);
int cprv_report_text(FILE *f, const struct cprv_analysis *a, const struct cprv_verdict *v,
		     const struct cprv_report_opts *o);

/*
 * The report as a json-c object the caller owns (json_object_put): add the
 * plan or trace metadata with json_object_object_add, then print it with
 * cprv_report_json_write. NULL on allocation failure.
 */
struct json_object *cprv_report_json(const struct cprv_analysis *a,
				     const struct cprv_verdict *v,
				     const struct cprv_report_opts *o);
int cprv_report_json_write(FILE *f, struct json_object *root, bool pretty);

struct cprv_drive;
/* A QEMU run (lib/drive.h): each update with its phases (from the trace's
 * driven cycle) and its blackout; the guest's heartbeat. */
void cprv_report_drive_text(FILE *f, const struct cprv_analysis *a, const struct cprv_drive *d);
struct json_object *cprv_report_drive_json(const struct cprv_analysis *a,
					   const struct cprv_drive *d);
/* {"setup":{"ts_ns","offset_ns","pid","source"}|null, ...} of a driven cycle. */
struct json_object *cprv_report_phases_json(const struct cprv_cycle *cy);


#endif

/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Exports of a trace for other tools. Chrome trace-event JSON (the "JSON
 * Trace Event Format" Perfetto UI and chrome://tracing open): one track per
 * MSI vector (fires, injections, lost and duplicate marks), one per CPR
 * (cycles and blackouts as complete events, QEMU's CPR steps), and one per
 * recorded thread for the plumbing (irqfds, routes, VMs, fds, processes).
 * Times are microseconds with the nanoseconds as decimals.
 */
#ifndef CPRV_EXPORT_H
#define CPRV_EXPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct json_object;

/* Synthetic pids for the tracks that are not processes: above any Linux pid. */
#define CPRV_EXPORT_PID_VECTORS 1000000000
#define CPRV_EXPORT_PID_CPR     1000000001

struct cprv_export_stats {
	uint64_t events;        /* trace events read */
	uint64_t written;       /* trace-event records written */
	bool input_error;       /* the failure was the trace, not the output */
};

/*
 * Streams trace as Chrome trace-event JSON to out: memory does not grow with
 * the trace. report (the report JSON of the same trace, e.g.
 * cprv_judgement_json()) names the vector tracks and adds the CPR cycles and
 * lost/duplicate marks; NULL exports the raw events on their threads only.
 * 0, or -1 with a message in err (st->input_error tells whose fault).
 */
int cprv_export_chrome(FILE *out, const char *trace, struct json_object *report,
		       struct cprv_export_stats *st, char *err, size_t errlen);

#endif

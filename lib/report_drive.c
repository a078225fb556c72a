// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The QEMU part of a report: per update, what the driver saw (outcome,
 * heartbeat) next to what the trace saw (phases, blackouts). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <json-c/json.h>

#include "drive.h"
#include "plan.h"
#include "report.h"

static double ms(uint64_t ns)
{
	return ns / 1e6;
}

static void phases_text(FILE *f, const struct cprv_cycle *cy)
{
	uint64_t t0 = cy->start_ns;

	for (unsigned p = 0; p < CPRV_PHASES; p++) {
		if (!cy->phase_ns[p]) {
			fprintf(f, "      %-15s not seen\n", cprv_phase_name(p));
			continue;
		}
		fprintf(f, "      %-15s %+9.2f ms  pid %-7u (%s)\n", cprv_phase_name(p),
			((double)cy->phase_ns[p] - (double)t0) / 1e6, cy->phase_pid[p],
			cprv_phase_src_name(cy->phase_src[p]));
	}
}

void cprv_report_drive_text(FILE *f, const struct cprv_analysis *a, const struct cprv_drive *d)
{
	const char *mode = !strcmp(d->mode, "exec") ? "cpr-exec" : "cpr-transfer";

	fprintf(f, "\nQEMU %s (%s): %zu of %u %s updates; guest heartbeat %" PRIu64 " -> %" PRIu64
		" ticks\n", d->qemu_version, d->qemu, d->n_cycles, d->cycles_planned, mode,
		d->heartbeat_start, d->heartbeat_end);
	if (d->error[0])
		fprintf(f, "  driver: %s\n", d->error);
	if (d->has_guest_counts) {
		const struct cprv_totals *t = cprv_analysis_totals(a);

		fprintf(f, "  the guest's own count: %" PRIu64 " MSIs raised, %" PRIu64 " received, %"
			PRIu64 " lost, %" PRIu64 " spurious, %" PRIu64 " throttled; the trace: %" PRIu64
			" fires, %" PRIu64 " injections, %" PRIu64 " lost\n", d->guest_raised,
			d->guest_received, d->guest_lost, d->guest_spurious, d->guest_throttled,
			t->fires, t->injections, t->lost);
	}
	for (size_t i = 0; i < d->n_cycles; i++) {
		const struct cprv_drive_cycle *c = &d->cycles[i];
		const struct cprv_cycle *cy = cprv_analysis_driven_cycle(a, c->cycle);

		fprintf(f, "  %s #%u: %s; pid %d -> %d; heartbeat %" PRIu64 " -> %" PRIu64
			"; old QEMU %s", mode, c->cycle, c->ok ? "ok" : "FAILED", c->old_pid,
			c->new_pid, c->hb_before, c->hb_after, c->old_qemu);
		if (cy && cy->vm_blackout_ns)
			fprintf(f, "; VM blackout %.2f ms", ms(cy->vm_blackout_ns));
		else if (c->stop_ns && c->running_ns > c->stop_ns)
			fprintf(f, "; VM blackout %.2f ms (QMP)", ms(c->running_ns - c->stop_ns));
		fprintf(f, "; update took %.1f ms\n", ms(c->end_ns - c->begin_ns));
		if (!c->ok)
			fprintf(f, "    why: %s\n", c->why);
		if (cy)
			phases_text(f, cy);
		else
			fprintf(f, "      (not in the trace)\n");
	}
}

static struct json_object *u64(uint64_t v)
{
	return json_object_new_uint64(v);
}

struct json_object *cprv_report_phases_json(const struct cprv_cycle *cy)
{
	struct json_object *o = json_object_new_object();

	for (unsigned p = 0; p < CPRV_PHASES; p++) {
		struct json_object *ph;

		if (!cy->phase_ns[p]) {
			json_object_object_add(o, cprv_phase_name(p), NULL);
			continue;
		}
		ph = json_object_new_object();
		json_object_object_add(ph, "ts_ns", u64(cy->phase_ns[p]));
		json_object_object_add(ph, "offset_ns",
				       json_object_new_int64((int64_t)(cy->phase_ns[p] - cy->start_ns)));
		json_object_object_add(ph, "pid", json_object_new_int((int)cy->phase_pid[p]));
		json_object_object_add(ph, "source",
				       json_object_new_string(cprv_phase_src_name(cy->phase_src[p])));
		json_object_object_add(o, cprv_phase_name(p), ph);
	}
	return o;
}

struct json_object *cprv_report_drive_json(const struct cprv_analysis *a, const struct cprv_drive *d)
{
	struct json_object *o = json_object_new_object(), *arr = json_object_new_array();
	const struct cprv_totals *t = cprv_analysis_totals(a);
	struct json_object *hits = json_object_new_object();

	json_object_object_add(o, "qemu", json_object_new_string(d->qemu));
	json_object_object_add(o, "version", json_object_new_string(d->qemu_version));
	json_object_object_add(o, "mode", json_object_new_string(d->mode));
	json_object_object_add(o, "cycles_planned", json_object_new_int(d->cycles_planned));
	json_object_object_add(o, "error", json_object_new_string(d->error));
	json_object_object_add(o, "heartbeat_start", u64(d->heartbeat_start));
	json_object_object_add(o, "heartbeat_end", u64(d->heartbeat_end));
	if (d->has_guest_counts) {
		struct json_object *g = json_object_new_object();

		json_object_object_add(g, "raised", u64(d->guest_raised));
		json_object_object_add(g, "received", u64(d->guest_received));
		json_object_object_add(g, "lost", u64(d->guest_lost));
		json_object_object_add(g, "spurious", u64(d->guest_spurious));
		json_object_object_add(g, "throttled", u64(d->guest_throttled));
		json_object_object_add(o, "guest_msis", g);
	}
	for (size_t i = 0; i < d->n_cycles; i++) {
		const struct cprv_drive_cycle *c = &d->cycles[i];
		const struct cprv_cycle *cy = cprv_analysis_driven_cycle(a, c->cycle);
		struct json_object *co = json_object_new_object();

		json_object_object_add(co, "cycle", json_object_new_int(c->cycle));
		json_object_object_add(co, "ok", json_object_new_boolean(c->ok));
		json_object_object_add(co, "why", json_object_new_string(c->why));
		json_object_object_add(co, "old_pid", json_object_new_int(c->old_pid));
		json_object_object_add(co, "new_pid", json_object_new_int(c->new_pid));
		json_object_object_add(co, "old_qemu", json_object_new_string(c->old_qemu));
		json_object_object_add(co, "hb_before", u64(c->hb_before));
		json_object_object_add(co, "hb_after", u64(c->hb_after));
		json_object_object_add(co, "duration_ns", u64(c->end_ns - c->begin_ns));
		json_object_object_add(co, "qmp_blackout_ns",
				       u64(c->stop_ns && c->running_ns > c->stop_ns ?
					   c->running_ns - c->stop_ns : 0));
		json_object_object_add(co, "in_trace", json_object_new_boolean(cy != NULL));
		if (cy) {
			json_object_object_add(co, "vm_blackout_ns", u64(cy->vm_blackout_ns));
			json_object_object_add(co, "phases", cprv_report_phases_json(cy));
		}
		json_object_array_add(arr, co);
	}
	json_object_object_add(o, "cycles", arr);
	for (int f = 0; f < CPRV_UFN_MAX; f++)
		if (t->uprobe_hits[f])
			json_object_object_add(hits, cprv_ufn_symbol(f), u64(t->uprobe_hits[f]));
	json_object_object_add(o, "uprobe_hits", hits);
	return o;
}

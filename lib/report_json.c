// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * JSON report. Kernel pointers are hex strings (they do not fit an int64);
 * counts and nanoseconds are numbers.
 */
#include <inttypes.h>
#include <stdio.h>

#include <json-c/json.h>

#include "report.h"

static struct json_object *hex(uint64_t x)
{
	char b[24];

	snprintf(b, sizeof(b), "0x%" PRIx64, x);
	return json_object_new_string(b);
}

static struct json_object *u64(uint64_t x)
{
	return json_object_new_uint64(x);
}

static void put(struct json_object *o, const char *k, struct json_object *v)
{
	json_object_object_add(o, k, v);
}

static struct json_object *strings(char *const *s, size_t n)
{
	struct json_object *arr = json_object_new_array();

	for (size_t i = 0; arr && i < n; i++)
		json_object_array_add(arr, json_object_new_string(s[i]));
	return arr;
}

static struct json_object *vector(const struct cprv_vector *v)
{
	struct json_object *o = json_object_new_object(), *ctxs, *hist;

	if (!o)
		return NULL;
	put(o, "gsi", v->has_gsi ? u64(v->gsi) : NULL);
	ctxs = json_object_new_array();
	for (size_t i = 0; i < v->n_ctxs; i++)
		json_object_array_add(ctxs, hex(v->ctxs[i]));
	put(o, "ctxs", ctxs);
	put(o, "address", v->has_route ? u64(v->address) : NULL);
	put(o, "data", v->has_route ? u64(v->data) : NULL);
	put(o, "route_changed", json_object_new_boolean(v->route_changed));
	put(o, "fires", u64(v->fires));
	put(o, "injections", u64(v->injections));
	put(o, "delivered", u64(v->delivered));
	put(o, "coalesced", u64(v->coalesced));
	put(o, "lost", u64(v->lost));
	put(o, "duplicates", u64(v->duplicates));
	put(o, "replay_races", u64(v->replay_races));
	put(o, "in_flight", u64(v->in_flight));
	put(o, "ambiguous", u64(v->ambiguous));
	put(o, "max_delay_ns", u64(v->max_delay_ns));
	put(o, "max_gap_ns", u64(v->max_gap_ns));
	hist = json_object_new_array();
	for (int i = 0; i < CPRV_HIST_BUCKETS; i++)
		json_object_array_add(hist, u64(v->delay_hist_log2[i]));
	put(o, "delay_hist_log2", hist);
	return o;
}

static struct json_object *cpr(const struct cprv_analysis *a)
{
	struct json_object *o = json_object_new_object(), *cycles = json_object_new_array();
	uint64_t max = 0;

	for (size_t i = 0; i < cprv_analysis_n_cycles(a); i++) {
		const struct cprv_cycle *cy = cprv_analysis_cycle(a, i);
		struct json_object *c = json_object_new_object(), *vecs = json_object_new_array();

		put(c, "start_ns", u64(cy->start_ns));
		put(c, "end_ns", u64(cy->end_ns));
		put(c, "blackout_ns", u64(cy->blackout_ns));
		put(c, "old_vm", hex(cy->old_vm));
		put(c, "new_vm", hex(cy->new_vm));
		put(c, "complete", json_object_new_boolean(cy->complete));
		put(c, "failed", json_object_new_boolean(cy->failed));
		put(c, "old_vm_dropped_ns", cy->old_vm_gone ? u64(cy->old_vm_gone_ns) : NULL);
		put(c, "blackout_fires", u64(cy->blackout_fires));
		put(c, "lost", u64(cy->lost));
		for (size_t j = 0; j < cy->n_vecs; j++) {
			const struct cprv_cycle_vec *cv = &cy->vecs[j];
			struct json_object *x = json_object_new_object();
			put(x, "gsi", u64(cv->gsi));
			put(x, "old_ctx", hex(cv->old_ctx));
			put(x, "new_ctx", cv->attached ? hex(cv->new_ctx) : NULL);
			put(x, "detach_ns", u64(cv->detach_ns));
			put(x, "attach_ns", cv->attached ? u64(cv->attach_ns) : NULL);
			put(x, "fires", u64(cv->fires));
			json_object_array_add(vecs, x);
		}
		put(c, "vectors", vecs);
		if (cy->driven) {
			put(c, "qemu_cycle", u64(cy->number));
			put(c, "driver_failed", json_object_new_boolean(cy->driver_failed));
			put(c, "vm_blackout_ns", u64(cy->vm_blackout_ns));
			put(c, "phases", cprv_report_phases_json(cy));
		}
		json_object_array_add(cycles, c);
		if (cy->blackout_ns > max)
			max = cy->blackout_ns;
	}
	put(o, "cycles", cycles);
	put(o, "blackout_ns", u64(max));
	return o;
}

static void chains(struct json_object *root, const char *key, const char *total_key,
		   const struct cprv_analysis *a, enum cprv_chain_kind k, uint64_t total,
		   unsigned cap)
{
	struct json_object *arr = json_object_new_array();
	size_t n = cprv_analysis_n_chains(a, k);

	if (cap && n > cap)
		n = cap;
	for (size_t i = 0; i < n; i++) {
		const struct cprv_chain *c = cprv_analysis_chain(a, k, i);
		struct json_object *o = json_object_new_object();
		put(o, "ts", u64(c->ts));
		put(o, "pid", u64(c->pid));
		put(o, "ctx", c->ctx ? hex(c->ctx) : NULL);
		put(o, "gsi", c->has_gsi ? u64(c->gsi) : NULL);
		put(o, "chain", strings(c->lines, c->n_lines));
		json_object_array_add(arr, o);
	}
	put(root, key, arr);
	put(root, total_key, u64(total));
}

static struct json_object *rules(const struct cprv_analysis *a)
{
	struct json_object *o = json_object_new_object();
	char key[8];

	for (unsigned n = 1; n <= CPRV_RULES; n++) {
		const struct cprv_rule *r = cprv_analysis_rule(a, n);
		struct json_object *x = json_object_new_object(), *ev = json_object_new_array();

		if (!r)
			continue;
		put(x, "state", json_object_new_string(cprv_rule_state_name(r->state)));
		put(x, "title", json_object_new_string(cprv_rule_title(n)));
		put(x, "why", json_object_new_string(r->why));
		put(x, "violations", u64(r->breaks));
		for (size_t i = 0; i < r->n_evidence; i++) {
			const struct cprv_chain *c = &r->evidence[i];
			struct json_object *e = json_object_new_object();
			put(e, "ts", u64(c->ts));
			put(e, "pid", c->pid ? u64(c->pid) : NULL);
			put(e, "ctx", c->ctx ? hex(c->ctx) : NULL);
			put(e, "chain", strings(c->lines, c->n_lines));
			json_object_array_add(ev, e);
		}
		put(x, "evidence", ev);
		snprintf(key, sizeof(key), "R%u", n);
		put(o, key, x);
	}
	return o;
}

static struct json_object *figure_value(const struct cprv_gt_figure *g, uint64_t x)
{
	char b[64];

	if (g->kind != CPRV_GT_RULES)
		return u64(x);
	cprv_rules_mask_str((unsigned)x, b, sizeof(b));
	return json_object_new_string(b);
}

static struct json_object *ground_truth(const struct cprv_verdict *v)
{
	struct json_object *o = json_object_new_object(), *figs = json_object_new_object();

	put(o, "match", json_object_new_boolean(v->gt_match));
	for (size_t i = 0; i < v->n_gt; i++) {
		struct json_object *f = json_object_new_object();
		put(f, "expected", figure_value(&v->gt[i], v->gt[i].expected));
		put(f, "reported", figure_value(&v->gt[i], v->gt[i].reported));
		if (v->gt[i].kind == CPRV_GT_AT_LEAST)
			put(f, "at_least", json_object_new_boolean(true));
		put(f, "match", json_object_new_boolean(v->gt[i].match));
		put(figs, v->gt[i].name, f);
	}
	put(o, "figures", figs);
	return o;
}

struct json_object *cprv_report_json(const struct cprv_analysis *a,
				     const struct cprv_verdict *v,
				     const struct cprv_report_opts *o)
{
	const struct cprv_totals *t = cprv_analysis_totals(a);
	unsigned cap = o ? o->max_chains : 0;
	struct json_object *root = json_object_new_object(), *vecs;

	if (!root)
		return NULL;
	put(root, "verdict", json_object_new_string(cprv_result_name(v->result)));
	put(root, "exit_code", json_object_new_int(cprv_verdict_exit_code(v)));
	put(root, "reasons", strings(v->reasons, v->n_reasons));
	put(root, "caveats", strings(v->caveats, v->n_caveats));
	put(root, "fires", u64(t->fires));
	put(root, "write_fires", u64(t->write_fires));
	put(root, "kernel_fires", u64(t->kernel_fires));
	put(root, "injections", u64(t->injections));
	put(root, "delivered", u64(t->delivered));
	put(root, "coalesced", u64(t->coalesced));
	put(root, "lost", u64(t->lost));
	put(root, "duplicates", u64(t->duplicates));
	put(root, "replay_races", u64(t->replay_races));
	put(root, "attempts", u64(t->attempts));
	put(root, "unattributed", u64(t->unattributed));
	put(root, "ambiguous", u64(t->ambiguous));
	put(root, "foreign", u64(t->foreign));
	put(root, "off_path_events", u64(t->off_path_events));
	put(root, "in_flight", u64(t->in_flight));
	put(root, "dropped", u64(cprv_analysis_opts(a)->vis.dropped));
	put(root, "settle_ns", u64(cprv_analysis_opts(a)->settle_ns));
	put(root, "events", u64(t->events));
	vecs = json_object_new_array();
	for (size_t i = 0; i < cprv_analysis_n_vectors(a); i++)
		json_object_array_add(vecs, vector(cprv_analysis_vector(a, i)));
	put(root, "vectors", vecs);
	put(root, "cpr", cpr(a));
	put(root, "rules", rules(a));
	put(root, "held", u64(t->held));
	put(root, "held_lost", u64(t->held_lost));
	put(root, "lapic_lost", u64(t->lapic_lost));
	put(root, "lapic_carried", u64(t->lapic_carried));
	chains(root, "lost_events", "lost_events_total", a, CPRV_CHAIN_LOST, t->lost, cap);
	chains(root, "duplicate_events", "duplicate_events_total", a, CPRV_CHAIN_DUPLICATE,
	       t->duplicates, cap);
	chains(root, "replay_race_events", "replay_race_events_total", a, CPRV_CHAIN_REPLAY_RACE,
	       t->replay_races, cap);
	chains(root, "unattributed_events", "unattributed_events_total", a,
	       CPRV_CHAIN_UNATTRIBUTED, t->unattributed, cap);
	chains(root, "ambiguous_events", "ambiguous_events_total", a, CPRV_CHAIN_AMBIGUOUS,
	       t->ambiguous, cap);
	if (v->has_gt)
		put(root, "ground_truth", ground_truth(v));
	return root;
}

int cprv_report_json_write(FILE *f, struct json_object *root, bool pretty)
{
	int flags = JSON_C_TO_STRING_NOSLASHESCAPE |
		    (pretty ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED :
			      JSON_C_TO_STRING_PLAIN);
	const char *s = json_object_to_json_string_ext(root, flags);

	if (!s || fputs(s, f) == EOF || fputc('\n', f) == EOF)
		return -1;
	return 0;
}

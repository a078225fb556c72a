// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Terminal report: the verdict in one line, then the evidence behind it. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "report.h"

const char *cprv_report_num(char b[32], uint64_t x)
{
	char t[32];
	int n = snprintf(t, sizeof(t), "%" PRIu64, x), j = 0;

	for (int i = 0; i < n; i++) {
		if (i && (n - i) % 3 == 0)
			b[j++] = ',';
		b[j++] = t[i];
	}
	b[j] = '\0';
	return b;
}

static const char *num(char *b, uint64_t x)
{
	return cprv_report_num(b, x);
}

static const char *dur(char *b, size_t len, uint64_t ns)
{
	if (ns >= 1000000000ull)
		snprintf(b, len, "%.2f s", (double)ns / 1e9);
	else if (ns >= 1000000)
		snprintf(b, len, "%.1f ms", (double)ns / 1e6);
	else if (ns >= 1000)
		snprintf(b, len, "%.1f us", (double)ns / 1e3);
	else
		snprintf(b, len, "%" PRIu64 " ns", ns);
	return b;
}

static uint64_t max_blackout(const struct cprv_analysis *a)
{
	uint64_t m = 0;

	for (size_t i = 0; i < cprv_analysis_n_cycles(a); i++)
		if (cprv_analysis_cycle(a, i)->blackout_ns > m)
			m = cprv_analysis_cycle(a, i)->blackout_ns;
	return m;
}

void cprv_report_headline(char *buf, size_t len, const struct cprv_analysis *a,
			  const struct cprv_verdict *v)
{
	const struct cprv_totals *t = cprv_analysis_totals(a);
	size_t nv = cprv_analysis_n_vectors(a), lost_vecs = 0, off;
	char f[32], l[32], d[32], c[32], bo[32];

	for (size_t i = 0; i < nv; i++)
		lost_vecs += cprv_analysis_vector(a, i)->lost > 0;
	num(f, t->fires);
	num(l, t->lost);
	num(d, t->duplicates);
	num(c, t->coalesced);
	switch (v->result) {
	case CPRV_RESULT_PASS:
		if (!t->fires && !nv)
			/* only a workload declared without a device passes so */
			off = snprintf(buf, len, "PASS: %zu CPR cycles completed, no device MSIs in "
				       "this scenario (the MSI path was not exercised)",
				       cprv_analysis_n_cycles(a));
		else
			off = snprintf(buf, len, "PASS: %s MSIs on %zu vectors, 0 lost, 0 duplicates, "
				       "%s coalesced", f, nv, c);
		break;
	case CPRV_RESULT_FAIL:
		if (t->lost) {
			off = snprintf(buf, len, "FAIL: %s of %s MSIs lost on %zu of %zu vectors", l, f,
				       lost_vecs, nv);
			const char *sep = " during cpr #";
			for (size_t i = 0; i < cprv_analysis_n_cycles(a) && off < len; i++) {
				if (!cprv_analysis_cycle(a, i)->lost)
					continue;
				off += snprintf(buf + off, len - off, "%s%zu", sep, i + 1);
				sep = ", #";
			}
			if (off < len)
				off += snprintf(buf + off, len - off, ", %s duplicates, %s coalesced", d, c);
		} else if (t->duplicates) {
			off = snprintf(buf, len, "FAIL: %s duplicate injections on %s MSIs on %zu vectors, 0 lost, %s coalesced",
				       d, f, nv, c);
		} else {
			off = snprintf(buf, len, "FAIL: %s: %s MSIs on %zu vectors, 0 lost, 0 duplicates",
				       v->n_reasons ? v->reasons[0] : "failed", f, nv);
		}
		break;
	default:
		off = snprintf(buf, len, "UNJUDGED: %s; %s MSIs seen on %zu vectors, %s lost, %s duplicates",
			       v->n_reasons ? v->reasons[0] : "could not judge", f, nv, l, d);
		break;
	}
	if (off < len && cprv_analysis_n_cycles(a) && max_blackout(a))
		snprintf(buf + off, len - off, "; blackout %s",
			 dur(bo, sizeof(bo), max_blackout(a)));
}

static void vectors(FILE *f, const struct cprv_analysis *a)
{
	char b[8][32];

	fprintf(f, "\n%-6s %-20s %10s %10s %9s %8s %6s %10s %10s\n", "gsi", "ctx(s)", "fires",
		"injections", "coalesced", "lost", "dups", "max delay", "max gap");
	for (size_t i = 0; i < cprv_analysis_n_vectors(a); i++) {
		const struct cprv_vector *v = cprv_analysis_vector(a, i);
		char gsi[16], ctx[24];

		if (v->has_gsi)
			snprintf(gsi, sizeof(gsi), "%u", v->gsi);
		else
			snprintf(gsi, sizeof(gsi), "-");
		for (size_t j = 0; j < (v->n_ctxs ? v->n_ctxs : 1); j++) {
			if (v->n_ctxs)
				snprintf(ctx, sizeof(ctx), "0x%" PRIx64, v->ctxs[j]);
			else
				snprintf(ctx, sizeof(ctx), "-");
			if (j) {
				fprintf(f, "%-6s %-20s\n", "", ctx);
				continue;
			}
			fprintf(f, "%-6s %-20s %10s %10s %9s %8s %6s %10s %10s%s\n", gsi, ctx,
				num(b[0], v->fires), num(b[1], v->injections), num(b[2], v->coalesced),
				num(b[3], v->lost), num(b[4], v->duplicates),
				dur(b[5], 32, v->max_delay_ns), dur(b[6], 32, v->max_gap_ns),
				v->route_changed ? "  route changed" : "");
		}
	}
}

static void cycles(FILE *f, const struct cprv_analysis *a)
{
	char b[32], n[32], l[32];

	for (size_t i = 0; i < cprv_analysis_n_cycles(a); i++) {
		const struct cprv_cycle *cy = cprv_analysis_cycle(a, i);

		fprintf(f, "\ncpr #%zu: VM 0x%" PRIx64 " -> VM 0x%" PRIx64 ", blackout %s%s%s, %s fires during it, %s lost\n",
			i + 1, cy->old_vm, cy->new_vm, dur(b, sizeof(b), cy->blackout_ns),
			cy->complete ? "" : " (incomplete)",
			cy->failed ? " (failed: re-attached in the old VM)" : "", num(n, cy->blackout_fires),
			num(l, cy->lost));
		for (size_t j = 0; j < cy->n_vecs; j++) {
			const struct cprv_cycle_vec *v = &cy->vecs[j];
			double det = (double)(v->detach_ns - cy->start_ns) / 1e6;
			if (v->attached)
				fprintf(f, "  gsi %u: detached +%.3f ms, attached +%.3f ms, ctx 0x%" PRIx64 " -> 0x%" PRIx64 "%s, %" PRIu64 " fires\n",
					v->gsi, det, (double)(v->attach_ns - cy->start_ns) / 1e6,
					v->old_ctx, v->new_ctx,
					v->old_ctx == v->new_ctx ? "" : " (new eventfd)", v->fires);
			else
				fprintf(f, "  gsi %u: detached +%.3f ms, never attached in the new VM, %" PRIu64 " fires\n",
					v->gsi, det, v->fires);
		}
	}
}

static void rules(FILE *f, const struct cprv_analysis *a, const struct cprv_report_opts *o)
{
	size_t show = o && o->verbose ? CPRV_RULE_MAX_EVIDENCE : 2;

	if (!cprv_analysis_rule(a, 1))
		return;
	fprintf(f, "\nrules:\n");
	for (unsigned n = 1; n <= CPRV_RULES; n++) {
		const struct cprv_rule *r = cprv_analysis_rule(a, n);
		fprintf(f, "  R%u %-13s %s: %s\n", n, r->state == CPRV_RULE_BROKEN ? "BROKEN" :
			cprv_rule_state_name(r->state), cprv_rule_title(n), r->why);
		if (n == 4 && r->state == CPRV_RULE_BROKEN) {
			fprintf(f, "      - the lost chains below are its evidence\n");
			continue;
		}
		for (size_t i = 0; i < r->n_evidence && i < show; i++)
			for (size_t j = 0; j < r->evidence[i].n_lines; j++)
				fprintf(f, "      %s %s\n", j ? " " : "-", r->evidence[i].lines[j]);
	}
}

static void chains(FILE *f, const struct cprv_analysis *a, enum cprv_chain_kind k,
		   const char *title, uint64_t total, const struct cprv_report_opts *o)
{
	size_t n = cprv_analysis_n_chains(a, k);
	size_t show = o && o->verbose ? n : (o && o->max_chains ? o->max_chains : 5);

	if (!total)
		return;
	if (show > n)
		show = n;
	fprintf(f, "\n%s (%" PRIu64 ", showing %zu):\n", title, total, show);
	for (size_t i = 0; i < show; i++) {
		const struct cprv_chain *c = cprv_analysis_chain(a, k, i);
		if (c->has_gsi)
			fprintf(f, "  #%zu gsi %u ctx 0x%" PRIx64 " pid %u\n", i + 1, c->gsi, c->ctx, c->pid);
		else
			fprintf(f, "  #%zu ctx 0x%" PRIx64 " pid %u\n", i + 1, c->ctx, c->pid);
		for (size_t j = 0; j < c->n_lines; j++)
			fprintf(f, "      %s\n", c->lines[j]);
	}
}

int cprv_report_text(FILE *f, const struct cprv_analysis *a, const struct cprv_verdict *v,
		     const struct cprv_report_opts *o)
{
	const struct cprv_totals *t = cprv_analysis_totals(a);
	char line[512], b[4][32];

	cprv_report_headline(line, sizeof(line), a, v);
	fprintf(f, "%s\n", line);
	for (size_t i = 0; i < v->n_reasons; i++)
		fprintf(f, "  reason: %s\n", v->reasons[i]);
	fprintf(f, "  %s injections, %s attempts, %s unattributed, %s in flight at stop\n",
		num(b[0], t->injections), num(b[1], t->attempts), num(b[2], t->unattributed),
		num(b[3], t->in_flight));
	if (t->replay_races)
		fprintf(f, "  %s replay races: KVM's irqfd-assign replay re-injected after a new signal had covered every fire (legal, not duplicates)\n",
			num(b[0], t->replay_races));
	vectors(f, a);
	cycles(f, a);
	rules(f, a, o);
	if (v->n_caveats)
		fprintf(f, "\ncaveats:\n");
	for (size_t i = 0; i < v->n_caveats; i++)
		fprintf(f, "  - %s\n", v->caveats[i]);
	if (v->has_gt) {
		fprintf(f, "\nground truth: %s\n", v->gt_match ? "agrees" :
			"DISAGREES: the verdict does not match what the scenario did");
		for (size_t i = 0; i < v->n_gt; i++) {
			const struct cprv_gt_figure *g = &v->gt[i];
			char e[64], r[64];
			if (g->kind == CPRV_GT_RULES) {
				cprv_rules_mask_str((unsigned)g->expected, e, sizeof(e));
				cprv_rules_mask_str((unsigned)g->reported, r, sizeof(r));
			} else {
				snprintf(e, sizeof(e), "%s%" PRIu64, g->kind == CPRV_GT_AT_LEAST ? ">= " : "",
					 g->expected);
				snprintf(r, sizeof(r), "%" PRIu64, g->reported);
			}
			fprintf(f, "  %-20s expected %s, reported %s%s\n", g->name, e, r,
				g->match ? "" : "   <-- MISMATCH");
		}
	}
	chains(f, a, CPRV_CHAIN_LOST, "lost", t->lost, o);
	chains(f, a, CPRV_CHAIN_DUPLICATE, "duplicates", t->duplicates, o);
	chains(f, a, CPRV_CHAIN_REPLAY_RACE, "replay races (KVM's assign replay after a new signal)",
	       t->replay_races, o);
	chains(f, a, CPRV_CHAIN_UNATTRIBUTED, "unattributed injections", t->unattributed, o);
	chains(f, a, CPRV_CHAIN_AMBIGUOUS, "ambiguous injections", t->ambiguous, o);
	return ferror(f) ? -1 : 0;
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The gate's checks (gate.h). Each says what it compared and why it ended
 * as it did, so a failed CI job names its cause in the JUnit report. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drive.h"
#include "gate.h"

void cprv_gate_tol_defaults(struct cprv_gate_tol *t)
{
	memset(t, 0, sizeof(*t));
	t->gap_ms = 50;
	t->gap_pct = 100;
	t->blackout_ms = 50;
	t->blackout_pct = 100;
}

const char *cprv_gate_status_name(enum cprv_gate_status s)
{
	static const char *const n[] = { "pass", "fail", "unjudged", "skipped" };

	return (unsigned)s < 4 ? n[s] : "?";
}

__attribute__((format(printf, 4, 5)))
static struct cprv_gate_check *check(struct cprv_gate *g, const char *name,
				     enum cprv_gate_status st, const char *fmt, ...)
{
	struct cprv_gate_check *c;
	va_list ap;

	if (g->n >= CPRV_GATE_MAX_CHECKS)
		return NULL;
	c = &g->checks[g->n++];
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->status = st;
	va_start(ap, fmt);
	vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
	va_end(ap);
	return c;
}

static void figures(struct cprv_gate_check *c, const char *cand, const char *ref)
{
	if (!c)
		return;
	snprintf(c->candidate, sizeof(c->candidate), "%s", cand);
	snprintf(c->reference, sizeof(c->reference), "%s", ref);
}

static const char *first_reason(const struct cprv_verdict *v)
{
	return v->n_reasons ? v->reasons[0] : "no reason given";
}

static void verdicts(struct cprv_gate *g, const struct cprv_gate_side *c,
		     const struct cprv_gate_side *r)
{
	struct cprv_gate_check *k;

	k = r->v->result == CPRV_RESULT_PASS ?
		check(g, "reference verdict", CPRV_GATE_PASS, "the reference (%s) passes", r->qemu) :
		check(g, "reference verdict", CPRV_GATE_UNJUDGED,
		      "the reference (%s) does not pass (%s: %s): the candidate cannot be judged "
		      "against it", r->qemu, cprv_result_name(r->v->result), first_reason(r->v));
	figures(k, cprv_result_name(c->v->result), cprv_result_name(r->v->result));
	if (c->v->result == CPRV_RESULT_PASS)
		k = check(g, "candidate verdict", CPRV_GATE_PASS, "the candidate (%s) passes",
			  c->qemu);
	else
		k = check(g, "candidate verdict",
			  c->v->result == CPRV_RESULT_FAIL ? CPRV_GATE_FAIL : CPRV_GATE_UNJUDGED,
			  "the candidate (%s) %s: %s", c->qemu,
			  c->v->result == CPRV_RESULT_FAIL ? "fails" : "could not be judged",
			  first_reason(c->v));
	figures(k, cprv_result_name(c->v->result), cprv_result_name(r->v->result));
}

static void updates(struct cprv_gate *g, const struct cprv_gate_side *c,
		    const struct cprv_gate_side *r)
{
	const struct cprv_drive *cd = c->d, *rd = r->d;
	struct cprv_gate_check *k;
	char cf[96], rf[96];
	size_t cok = 0, rok = 0;

	if (!cd || !rd) {
		check(g, "updates", CPRV_GATE_SKIPPED, "no QEMU driver outcome in %s",
		      !cd ? "the candidate's run" : "the reference's run");
		return;
	}
	for (size_t i = 0; i < cd->n_cycles; i++)
		cok += cd->cycles[i].ok;
	for (size_t i = 0; i < rd->n_cycles; i++)
		rok += rd->cycles[i].ok;
	snprintf(cf, sizeof(cf), "%zu of %u ok", cok, cd->cycles_planned);
	snprintf(rf, sizeof(rf), "%zu of %u ok", rok, rd->cycles_planned);
	if (cok == cd->cycles_planned && !cd->error[0]) {
		k = check(g, "updates", CPRV_GATE_PASS, "every %s update completed with the "
			  "guest running on", cd->mode);
	} else {
		const struct cprv_drive_cycle *bad = NULL;

		for (size_t i = 0; i < cd->n_cycles && !bad; i++)
			if (!cd->cycles[i].ok)
				bad = &cd->cycles[i];
		if (bad)
			k = check(g, "updates", CPRV_GATE_FAIL, "%s update #%u failed: %s",
				  cd->mode, bad->cycle, bad->why);
		else if (rok == rd->cycles_planned && !rd->error[0])
			/* the reference runs this scenario: a build that cannot is worse */
			k = check(g, "updates", CPRV_GATE_FAIL, "the candidate could not run the "
				  "scenario the reference runs: %s", cd->error[0] ? cd->error :
				  "it stopped early");
		else
			k = check(g, "updates", CPRV_GATE_UNJUDGED, "the candidate's driver "
				  "stopped early: %s", cd->error[0] ? cd->error : "unknown reason");
	}
	figures(k, cf, rf);
}

static void counts(struct cprv_gate *g, const struct cprv_gate_side *c,
		   const struct cprv_gate_side *r, const struct cprv_gate_tol *tol)
{
	const struct cprv_totals *ct = cprv_analysis_totals(c->a), *rt = cprv_analysis_totals(r->a);
	struct cprv_gate_check *k;
	char cf[96], rf[96];

	snprintf(cf, sizeof(cf), "%llu of %llu", (unsigned long long)ct->lost,
		 (unsigned long long)ct->fires);
	snprintf(rf, sizeof(rf), "%llu of %llu", (unsigned long long)rt->lost,
		 (unsigned long long)rt->fires);
	if (!ct->fires && !rt->fires)
		k = check(g, "lost", CPRV_GATE_SKIPPED, "no device MSIs in either run");
	else
		k = ct->lost ? check(g, "lost", CPRV_GATE_FAIL, "%llu MSIs lost (must be 0)",
				     (unsigned long long)ct->lost) :
			       check(g, "lost", CPRV_GATE_PASS, "no MSI lost");
	figures(k, cf, rf);
	snprintf(cf, sizeof(cf), "%llu", (unsigned long long)ct->duplicates);
	snprintf(rf, sizeof(rf), "%llu", (unsigned long long)rt->duplicates);
	if (!ct->fires && !rt->fires)
		k = check(g, "duplicates", CPRV_GATE_SKIPPED, "no device MSIs in either run");
	else if (ct->duplicates > rt->duplicates + tol->dup_extra)
		k = check(g, "duplicates", CPRV_GATE_FAIL, "%llu duplicates, the reference has "
			  "%llu (+%llu allowed)", (unsigned long long)ct->duplicates,
			  (unsigned long long)rt->duplicates, (unsigned long long)tol->dup_extra);
	else
		k = check(g, "duplicates", CPRV_GATE_PASS, "no more duplicates than the reference");
	figures(k, cf, rf);
}

static uint64_t max_gap(const struct cprv_analysis *a)
{
	uint64_t m = 0;

	for (size_t i = 0; i < cprv_analysis_n_vectors(a); i++)
		if (cprv_analysis_vector(a, i)->max_gap_ns > m)
			m = cprv_analysis_vector(a, i)->max_gap_ns;
	return m;
}

static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return a < b ? -1 : a > b;
}

/* Median blackout over completed cycles (the VM's for driven ones). */
static bool median_blackout(const struct cprv_analysis *a, uint64_t *out)
{
	uint64_t v[CPRV_GATE_MAX_CHECKS * 8];
	size_t n = 0;

	for (size_t i = 0; i < cprv_analysis_n_cycles(a) && n < sizeof(v) / sizeof(v[0]); i++) {
		const struct cprv_cycle *cy = cprv_analysis_cycle(a, i);

		if (cy->complete && cy->blackout_ns)
			v[n++] = cy->blackout_ns;
	}
	if (!n)
		return false;
	qsort(v, n, sizeof(v[0]), cmp_u64);
	*out = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	return true;
}

static uint64_t allowed(uint64_t ref, uint32_t pct, uint64_t ms)
{
	return ref + ref * pct / 100 + ms * 1000000ull;
}

static void timing(struct cprv_gate *g, const struct cprv_gate_side *c,
		   const struct cprv_gate_side *r, const struct cprv_gate_tol *tol)
{
	uint64_t cg = max_gap(c->a), rg = max_gap(r->a), cb = 0, rb = 0, lim;
	bool hc, hr;
	struct cprv_gate_check *k;
	char cf[96], rf[96];

	snprintf(cf, sizeof(cf), "%.2f ms", cg / 1e6);
	snprintf(rf, sizeof(rf), "%.2f ms", rg / 1e6);
	lim = allowed(rg, tol->gap_pct, tol->gap_ms);
	if (!cprv_analysis_n_vectors(c->a) && !cprv_analysis_n_vectors(r->a))
		k = check(g, "max gap", CPRV_GATE_SKIPPED, "no device vectors in either run");
	else if (cg > lim)
		k = check(g, "max gap", CPRV_GATE_FAIL, "worst delivery gap %.2f ms exceeds "
			  "%.2f ms (reference %.2f ms +%u%% +%llu ms)", cg / 1e6, lim / 1e6, rg / 1e6,
			  tol->gap_pct, (unsigned long long)tol->gap_ms);
	else
		k = check(g, "max gap", CPRV_GATE_PASS, "within %.2f ms", lim / 1e6);
	figures(k, cf, rf);

	hc = median_blackout(c->a, &cb);
	hr = median_blackout(r->a, &rb);
	snprintf(cf, sizeof(cf), hc ? "%.2f ms" : "none", cb / 1e6);
	snprintf(rf, sizeof(rf), hr ? "%.2f ms" : "none", rb / 1e6);
	lim = allowed(rb, tol->blackout_pct, tol->blackout_ms);
	if (!hr)
		k = check(g, "blackout", CPRV_GATE_SKIPPED, "the reference measured no blackout");
	else if (!hc)
		k = check(g, "blackout", CPRV_GATE_FAIL, "the candidate completed no update "
			  "whose blackout could be measured");
	else if (cb > lim)
		k = check(g, "blackout", CPRV_GATE_FAIL, "median blackout %.2f ms exceeds "
			  "%.2f ms (reference %.2f ms +%u%% +%llu ms)", cb / 1e6, lim / 1e6, rb / 1e6,
			  tol->blackout_pct, (unsigned long long)tol->blackout_ms);
	else
		k = check(g, "blackout", CPRV_GATE_PASS, "median blackout within %.2f ms",
			  lim / 1e6);
	figures(k, cf, rf);
}

static void rules(struct cprv_gate *g, const struct cprv_gate_side *c,
		  const struct cprv_gate_side *r)
{
	for (unsigned n = 1; n <= CPRV_RULES; n++) {
		const struct cprv_rule *cr = cprv_analysis_rule(c->a, n), *rr = cprv_analysis_rule(r->a, n);
		enum cprv_rule_state cs = cr ? cr->state : CPRV_RULE_NOT_CHECKABLE;
		enum cprv_rule_state rs = rr ? rr->state : CPRV_RULE_NOT_CHECKABLE;
		struct cprv_gate_check *k;
		char name[48];

		snprintf(name, sizeof(name), "rule R%u", n);
		if (cs == CPRV_RULE_BROKEN)
			k = check(g, name, CPRV_GATE_FAIL, "%s broken: %s", cprv_rule_title(n),
				  cr->why);
		else if (cs == CPRV_RULE_HELD)
			k = check(g, name, CPRV_GATE_PASS, "%s held", cprv_rule_title(n));
		else if (rs == CPRV_RULE_HELD)
			k = check(g, name, CPRV_GATE_UNJUDGED, "%s not checkable in the candidate "
				  "run (%s), held in the reference's", cprv_rule_title(n),
				  cr ? cr->why : "no analysis");
		else
			k = check(g, name, CPRV_GATE_SKIPPED, "%s not checkable in either run: %s",
				  cprv_rule_title(n), cr ? cr->why : "no analysis");
		figures(k, cprv_rule_state_name(cs), cprv_rule_state_name(rs));
	}
}

/* The phases a cycle saw, in time order, as "setup,fds_saved,...". */
static void phase_seq(const struct cprv_cycle *cy, char *buf, size_t len, unsigned *order, unsigned *n)
{
	size_t off = 0;

	*n = 0;
	for (unsigned p = 0; p < CPRV_PHASES; p++)
		if (cy->phase_ns[p])
			order[(*n)++] = p;
	for (unsigned i = 1; i < *n; i++)
		for (unsigned j = i; j > 0 && cy->phase_ns[order[j]] < cy->phase_ns[order[j - 1]]; j--) {
			unsigned t = order[j];

			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	buf[0] = 0;
	for (unsigned i = 0; i < *n && off < len; i++)
		off += snprintf(buf + off, len - off, "%s%s", i ? "," : "", cprv_phase_name(order[i]));
}

static const struct cprv_cycle *nth_driven(const struct cprv_analysis *a, size_t k)
{
	for (size_t i = 0; i < cprv_analysis_n_cycles(a); i++) {
		const struct cprv_cycle *cy = cprv_analysis_cycle(a, i);

		if (cy->driven && !k--)
			return cy;
	}
	return NULL;
}

static void phases(struct cprv_gate *g, const struct cprv_gate_side *c,
		   const struct cprv_gate_side *r)
{
	const struct cprv_cycle *rc = nth_driven(r->a, 0);
	struct cprv_gate_check *k = NULL;
	char cs[96] = "", rs[96] = "";

	if (!rc) {
		check(g, "phases", CPRV_GATE_SKIPPED, "the reference run shows no QEMU update");
		return;
	}
	for (size_t i = 0; (rc = nth_driven(r->a, i)); i++) {
		const struct cprv_cycle *cc = nth_driven(c->a, i);
		unsigned ro[CPRV_PHASES], co[CPRV_PHASES], rn, cn;

		phase_seq(rc, rs, sizeof(rs), ro, &rn);
		if (!cc) {
			k = check(g, "phases", CPRV_GATE_FAIL, "update #%zu: the reference goes "
				  "through %s; the candidate's run never got there", i + 1, rs);
			break;
		}
		phase_seq(cc, cs, sizeof(cs), co, &cn);
		for (unsigned j = 0, m = 0; j < rn; j++) {
			while (m < cn && co[m] != ro[j])
				m++;
			if (m == cn) {
				k = check(g, "phases", CPRV_GATE_FAIL, "update #%zu: phase %s (seen by "
					  "the reference, in order %s) %s in the candidate (%s)", i + 1,
					  cprv_phase_name(ro[j]), rs,
					  cc->phase_ns[ro[j]] ? "out of order" : "never seen", cs);
				break;
			}
		}
		if (k)
			break;
	}
	if (!k)
		k = check(g, "phases", CPRV_GATE_PASS, "every update went through the "
			  "reference's phases in its order (%s)", rs);
	figures(k, cs, rs);
}

void cprv_gate_compare(struct cprv_gate *g, const struct cprv_gate_side *cand,
		       const struct cprv_gate_side *ref, const struct cprv_gate_tol *tol)
{
	bool fail = false, unj = false;

	memset(g, 0, sizeof(*g));
	verdicts(g, cand, ref);
	updates(g, cand, ref);
	counts(g, cand, ref, tol);
	timing(g, cand, ref, tol);
	rules(g, cand, ref);
	phases(g, cand, ref);
	for (size_t i = 0; i < g->n; i++) {
		fail |= g->checks[i].status == CPRV_GATE_FAIL;
		unj |= g->checks[i].status == CPRV_GATE_UNJUDGED;
	}
	g->result = fail ? CPRV_GATE_FAIL : unj ? CPRV_GATE_UNJUDGED : CPRV_GATE_PASS;
}

int cprv_gate_exit_code(const struct cprv_gate *g)
{
	return g->result == CPRV_GATE_PASS ? 0 : g->result == CPRV_GATE_FAIL ? 1 : 2;
}

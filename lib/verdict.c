// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Verdict rules. What was seen is firm: a lost fire or a duplicate fails
 * the trace even when other stages were blind. A pass needs every stage the
 * counts rest on to be live, nothing dropped and nothing left to guess; the
 * blind stages it did not need are still listed as caveats, never as clean.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drive.h"
#include "verdict.h"

static int add(char ***v, size_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int add(char ***v, size_t *n, const char *fmt, ...)
{
	va_list ap;
	char *s, **nv;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -ENOMEM;
	nv = realloc(*v, (*n + 1) * sizeof(*nv));
	if (!nv) {
		free(s);
		return -ENOMEM;
	}
	*v = nv;
	nv[(*n)++] = s;
	return 0;
}

#define REASON(...) do { if (add(&v->reasons, &v->n_reasons, __VA_ARGS__)) return -ENOMEM; } while (0)
#define CAVEAT(...) do { if (add(&v->caveats, &v->n_caveats, __VA_ARGS__)) return -ENOMEM; } while (0)

/* Stages whose blindness changes what a verdict can claim. */
static const struct {
	unsigned type;
	const char *what;
} stages[] = {
	{ CPRV_EV_VFIO_MSIHANDLER, "S0 device fires (vfio_msihandler) not visible" },
	{ CPRV_EV_EVENTFD_WRITE, "S0' user-space eventfd writes not visible" },
	{ CPRV_EV_EVENTFD_SIGNAL, "S1 eventfd_signal not visible" },
	{ CPRV_EV_IRQFD_WAKEUP, "S2 consumer (irqfd_wakeup) not visible: coalescing inferred from the tag" },
	{ CPRV_EV_KVM_MSI_SET_IRQ, "S3 injection (kvm_msi_set_irq) not visible" },
	{ CPRV_EV_APIC_ACCEPT, "S4 LAPIC accept (kvm_apic_accept_irq) not visible: every kvm_msi_set_irq counted as an injection, so refused fast-path attempts would count as duplicates" },
	{ CPRV_EV_KVM_IRQFD, "irqfd assign/deassign not visible: no CPR cycles, replays attributed by route only" },
	{ CPRV_EV_KVM_ROUTE, "MSI routes not visible: attribution not narrowed by route" },
};

static int stage_caveats(struct cprv_verdict *v, const struct cprv_analysis *a)
{
	const struct cprv_visibility *vis = &cprv_analysis_opts(a)->vis;
	const struct cprv_totals *t = cprv_analysis_totals(a);

	for (size_t i = 0; i < sizeof(stages) / sizeof(stages[0]); i++) {
		unsigned ty = stages[i].type;
		if (vis->live[ty])
			continue;
		if (vis->reason[ty][0])
			CAVEAT("%s (%s)", stages[i].what, vis->reason[ty]);
		else
			CAVEAT("%s", stages[i].what);
	}
	if (t->kernel_fire_src == CPRV_EV_VFIO_MSIHANDLER)
		CAVEAT("kernel fires counted at vfio_msihandler: other kernel producers of eventfd_signal not counted");
	else if (!t->kernel_fire_src)
		CAVEAT("kernel-side fires (device MSIs) not counted: only user-space writes seen");
	if (t->posted_updates)
		CAVEAT("posted interrupts in use (%llu IRTE updates): MSIs delivered while posted bypass the host path and are not observable on host",
		       (unsigned long long)t->posted_updates);
	if (t->foreign)
		CAVEAT("%llu injections route to no traced vector (other devices): ignored",
		       (unsigned long long)t->foreign);
	if (t->other_vm_wq)
		CAVEAT("%llu workqueue injections (kvm_set_irq, which names no VM) on gsis we follow, with no replay armed and no fire waiting: taken for another VM's (a function probe on irqfd_inject would name the VM)",
		       (unsigned long long)t->other_vm_wq);
	if (t->ambiguous > t->ambiguous_material)
		CAVEAT("%llu injections had several candidate eventfds, none with fires waiting: counted as duplicates of the newest",
		       (unsigned long long)(t->ambiguous - t->ambiguous_material));
	if (t->replay_races)
		CAVEAT("%llu spurious re-injections by KVM's irqfd-assign replay racing a new signal (legal for edge MSIs; the gate compares them with the reference)",
		       (unsigned long long)t->replay_races);
	if (t->overflow_fires)
		CAVEAT("%llu fires beyond the per-eventfd cap of waiting fires: their delays are approximate",
		       (unsigned long long)t->overflow_fires);
	if (cprv_analysis_n_cycles(a) && !(vis->live[CPRV_EV_KVM_GET_LAPIC] && vis->live[CPRV_EV_KVM_SET_LAPIC]))
		CAVEAT("interrupts accepted into an old VM's LAPIC and not serviced before its teardown: not checkable (KVM_GET_LAPIC/KVM_SET_LAPIC not visible)");
	else if (cprv_analysis_n_cycles(a) && !t->lapic_checked)
		CAVEAT("interrupts accepted into an old VM's LAPIC and not serviced before its teardown: not checkable (no LAPIC servicing seen: a real guest services its LAPIC inside the vCPU)");
	for (unsigned n = 1; n <= CPRV_RULES; n++) {
		const struct cprv_rule *r = cprv_analysis_rule(a, n);
		if (r && r->state == CPRV_RULE_NOT_CHECKABLE)
			CAVEAT("R%u (%s) not checkable: %s", n, cprv_rule_title(n), r->why);
	}
	for (size_t i = 0; i < cprv_analysis_n_cycles(a); i++)
		if (!cprv_analysis_cycle(a, i)->complete)
			CAVEAT("cpr #%zu did not complete in the trace: its end is the last re-attach seen", i + 1);
	return 0;
}

/* Conditions that keep a trace from passing; on a fail they become caveats. */
static int blockers(struct cprv_verdict *v, const struct cprv_analysis *a, bool as_reason,
		    unsigned flags)
{
	const struct cprv_visibility *vis = &cprv_analysis_opts(a)->vis;
	const struct cprv_totals *t = cprv_analysis_totals(a);
	char ***list = as_reason ? &v->reasons : &v->caveats;
	size_t *n = as_reason ? &v->n_reasons : &v->n_caveats;
	const char *pre = as_reason ? "" : "also unjudgeable: ";

	if (!vis->live[CPRV_EV_EVENTFD_WRITE] && !vis->live[CPRV_EV_EVENTFD_SIGNAL] &&
	    !vis->live[CPRV_EV_VFIO_MSIHANDLER] &&
	    add(list, n, "%sfire stage not visible (no eventfd write, eventfd_signal or vfio_msihandler probe live)", pre))
		return -ENOMEM;
	if (!vis->live[CPRV_EV_KVM_MSI_SET_IRQ] &&
	    add(list, n, "%sinjection stage not visible (kvm_msi_set_irq%s%s)", pre,
		vis->reason[CPRV_EV_KVM_MSI_SET_IRQ][0] ? ": " : "",
		vis->reason[CPRV_EV_KVM_MSI_SET_IRQ]))
		return -ENOMEM;
	if (vis->dropped && add(list, n, "%s%llu events dropped by the ring buffer", pre,
				(unsigned long long)vis->dropped))
		return -ENOMEM;
	if (t->out_of_order && add(list, n, "%s%llu events out of timestamp order", pre,
				   (unsigned long long)t->out_of_order))
		return -ENOMEM;
	if (t->unattributed && add(list, n, "%s%llu injections could not be attributed to an eventfd", pre,
				   (unsigned long long)t->unattributed))
		return -ENOMEM;
	if (t->ambiguous_material &&
	    add(list, n, "%s%llu injections ambiguous between eventfds with fires waiting", pre,
		(unsigned long long)t->ambiguous_material))
		return -ENOMEM;
	if (t->in_flight && add(list, n, "%s%llu fires in flight at stop (less than settle before the end), not judged", pre,
				(unsigned long long)t->in_flight))
		return -ENOMEM;
	if (!t->fires && !(flags & CPRV_VERDICT_NO_DEVICE) && add(list, n, "%sno fires seen", pre))
		return -ENOMEM;
	return 0;
}

void cprv_rules_mask_str(unsigned mask, char *buf, size_t len)
{
	size_t off = 0;

	if (len)
		buf[0] = '\0';
	for (unsigned n = 1; n <= CPRV_RULES && off < len; n++)
		if (mask & 1u << (n - 1))
			off += (size_t)snprintf(buf + off, len - off, "%sR%u", off ? "," : "", n);
	if (!off && len)
		snprintf(buf, len, "none");
}

static int figure_kind(struct cprv_verdict *v, const char *name, uint64_t exp, uint64_t rep,
		       enum cprv_gt_kind kind);

static int figure(struct cprv_verdict *v, const char *name, uint64_t exp, uint64_t rep)
{
	return figure_kind(v, name, exp, rep, CPRV_GT_EQUAL);
}

static int figure_kind(struct cprv_verdict *v, const char *name, uint64_t exp, uint64_t rep,
		       enum cprv_gt_kind kind)
{
	struct cprv_gt_figure *g = realloc(v->gt, (v->n_gt + 1) * sizeof(*g));

	if (!g)
		return -ENOMEM;
	v->gt = g;
	g = &v->gt[v->n_gt++];
	snprintf(g->name, sizeof(g->name), "%s", name);
	g->expected = exp;
	g->reported = rep;
	g->kind = kind;
	g->match = kind == CPRV_GT_AT_LEAST ? rep >= exp : exp == rep;
	if (!g->match)
		v->gt_match = false;
	return 0;
}

static int compare_gt(struct cprv_verdict *v, const struct cprv_analysis *a,
		      const struct cprv_gt_expect *gt)
{
	const struct cprv_totals *t = cprv_analysis_totals(a);
	const struct cprv_vector *vec[1024];
	size_t nv = 0;
	char name[32];

	v->has_gt = true;
	v->gt_match = true;
	for (size_t i = 0; i < cprv_analysis_n_vectors(a) && nv < 1024; i++)
		if (cprv_analysis_vector(a, i)->has_gsi)
			vec[nv++] = cprv_analysis_vector(a, i);
	if (figure(v, "fires", gt->fires, t->fires))
		return -ENOMEM;
	if ((gt->vector_fires || gt->vector_lost) && figure(v, "vectors", gt->n_vectors, nv))
		return -ENOMEM;
	for (size_t i = 0; gt->vector_fires && i < gt->n_vectors; i++) {
		snprintf(name, sizeof(name), "fires[%zu]", i);
		if (i < nv)
			snprintf(name, sizeof(name), "fires[gsi %u]", vec[i]->gsi);
		if (figure(v, name, gt->vector_fires[i], i < nv ? vec[i]->fires : 0))
			return -ENOMEM;
	}
	if (figure(v, "lost", gt->lost, t->lost))
		return -ENOMEM;
	for (size_t i = 0; gt->vector_lost && i < gt->n_vectors; i++) {
		snprintf(name, sizeof(name), "lost[%zu]", i);
		if (i < nv)
			snprintf(name, sizeof(name), "lost[gsi %u]", vec[i]->gsi);
		if (figure(v, name, gt->vector_lost[i], i < nv ? vec[i]->lost : 0))
			return -ENOMEM;
	}
	if (figure(v, "duplicates", gt->duplicates, t->duplicates))
		return -ENOMEM;
	for (size_t i = 0; gt->vector_duplicates && i < gt->n_vectors; i++) {
		snprintf(name, sizeof(name), "duplicates[%zu]", i);
		if (i < nv)
			snprintf(name, sizeof(name), "duplicates[gsi %u]", vec[i]->gsi);
		if (figure(v, name, gt->vector_duplicates[i], i < nv ? vec[i]->duplicates : 0))
			return -ENOMEM;
	}
	unsigned broken = cprv_analysis_rules_broken(a);
	if (gt->has_rules && figure_kind(v, "rules_broken", gt->rules_broken, broken, CPRV_GT_RULES))
		return -ENOMEM;
	/* what the host cannot see must fail through a rule, never count as lost */
	if (gt->lost_unobservable &&
	    figure_kind(v, "unobservable->rule", 1, broken ? 1 : 0, CPRV_GT_EQUAL))
		return -ENOMEM;
	if (gt->has_min_gap) {
		uint64_t gap = 0;
		for (size_t i = 0; i < nv; i++)
			if (vec[i]->max_gap_ns > gap)
				gap = vec[i]->max_gap_ns;
		if (figure_kind(v, "max_gap_ms", gt->min_gap_ms, gap / 1000000, CPRV_GT_AT_LEAST))
			return -ENOMEM;
	}
	return 0;
}

int cprv_verdict_judge(struct cprv_verdict *v, const struct cprv_analysis *a,
		       const struct cprv_gt_expect *gt)
{
	return cprv_verdict_judge_ex(v, a, gt, 0);
}

int cprv_verdict_judge_ex(struct cprv_verdict *v, const struct cprv_analysis *a,
			  const struct cprv_gt_expect *gt, unsigned flags)
{
	const struct cprv_totals *t = cprv_analysis_totals(a);
	int err;

	memset(v, 0, sizeof(*v));
	if (t->lost)
		REASON("%llu of %llu fires lost", (unsigned long long)t->lost,
		       (unsigned long long)t->fires);
	if (t->duplicates)
		REASON("%llu duplicate injections", (unsigned long long)t->duplicates);
	for (unsigned n = 1; n <= CPRV_RULES; n++) {
		const struct cprv_rule *r = cprv_analysis_rule(a, n);
		if (r && r->state == CPRV_RULE_BROKEN)
			REASON("R%u broken (%s): %s", n, cprv_rule_title(n), r->why);
	}
	if (gt) {
		if (compare_gt(v, a, gt))
			return -ENOMEM;
		if (!v->gt_match)
			REASON("disagrees with ground truth");
	}
	if (v->n_reasons) {
		v->result = CPRV_RESULT_FAIL;
		err = blockers(v, a, false, flags);
	} else {
		err = blockers(v, a, true, flags);
		v->result = v->n_reasons ? CPRV_RESULT_UNJUDGED : CPRV_RESULT_PASS;
	}
	return err ? err : stage_caveats(v, a);
}

static int drive_cycle(struct cprv_verdict *v, const struct cprv_analysis *a,
		       const struct cprv_drive *d, const struct cprv_drive_cycle *c, bool *blind)
{
	const struct cprv_cycle *cy = cprv_analysis_driven_cycle(a, c->cycle);
	const char *mode = !strcmp(d->mode, "exec") ? "cpr-exec" : "cpr-transfer";

	if (!c->ok)
		REASON("%s #%u failed: %s (old QEMU: %s)", mode, c->cycle, c->why,
		       c->old_qemu[0] ? c->old_qemu : "?");
	else if (c->hb_after <= c->hb_before)
		REASON("%s #%u: the guest's heartbeat did not go on (%llu -> %llu ticks)", mode,
		       c->cycle, (unsigned long long)c->hb_before, (unsigned long long)c->hb_after);
	if (!cy) {
		*blind = true;
		CAVEAT("%s #%u is not in the trace (the driver's marks were not recorded): its "
		       "phases and blackout come from the driver alone", mode, c->cycle);
		return 0;
	}
	for (unsigned p = 0; p < CPRV_PHASES && c->ok; p++)
		if (!cy->phase_ns[p])
			CAVEAT("%s #%u: phase %s not seen", mode, c->cycle, cprv_phase_name(p));
	return 0;
}

static uint64_t diff(uint64_t x, uint64_t y)
{
	return x > y ? x - y : y - x;
}

/*
 * The guest's own count, held against the trace. A raise the guest saw
 * unanswered (its `lost`) fails the verdict outright. Its raised and
 * received counts must agree with the trace's fires and deliveries within
 * what can be in flight at the read (2) or 1%: a guest counts MMIO writes
 * and handler runs, and a virtual CPU that re-delivers an event (seen under
 * nested SVM: more kvm_inj_virq than accepts) shifts them a little. Within
 * that, the difference is a caveat with both numbers; beyond it, a failure.
 */
static bool near(uint64_t host, uint64_t guest)
{
	uint64_t slack = guest / 100 > 2 ? guest / 100 : 2;

	return diff(host, guest) <= slack;
}

static int guest_disagrees(struct cprv_verdict *v, const struct cprv_analysis *a,
			   const struct cprv_drive *d)
{
	const struct cprv_totals *t = cprv_analysis_totals(a);

	if (d->guest_lost)
		REASON("the guest counted %llu of its %llu MSIs as never arrived",
		       (unsigned long long)d->guest_lost, (unsigned long long)d->guest_raised);
	if (!near(t->fires, d->guest_raised))
		REASON("the trace saw %llu device MSIs, the guest raised %llu",
		       (unsigned long long)t->fires, (unsigned long long)d->guest_raised);
	else if (diff(t->fires, d->guest_raised) > 2)
		CAVEAT("the trace saw %llu device MSIs, the guest counted %llu raises (within 1%%)",
		       (unsigned long long)t->fires, (unsigned long long)d->guest_raised);
	if (!near(t->delivered, d->guest_received))
		REASON("the trace delivered %llu MSIs, the guest received %llu",
		       (unsigned long long)t->delivered, (unsigned long long)d->guest_received);
	else if (diff(t->delivered, d->guest_received) > 2)
		CAVEAT("the trace delivered %llu MSIs, the guest counted %llu (within 1%%)",
		       (unsigned long long)t->delivered, (unsigned long long)d->guest_received);
	if (d->guest_spurious)
		CAVEAT("the guest took %llu interrupts on its MSI vector with nothing raised "
		       "(edu status 0); the host saw %llu duplicate injections",
		       (unsigned long long)d->guest_spurious, (unsigned long long)t->duplicates);
	return 0;
}

int cprv_verdict_drive(struct cprv_verdict *v, const struct cprv_analysis *a,
		       const struct cprv_drive *d)
{
	size_t before = v->n_reasons;
	bool blind = false;

	if (d->error[0] && !d->n_cycles) {
		REASON("the QEMU driver could not do its job: %s", d->error);
		if (v->result == CPRV_RESULT_PASS)
			v->result = CPRV_RESULT_UNJUDGED;
		return 0;
	}
	for (size_t i = 0; i < d->n_cycles; i++)
		if (drive_cycle(v, a, d, &d->cycles[i], &blind))
			return -ENOMEM;
	if (d->n_cycles == d->cycles_planned && d->n_cycles &&
	    d->cycles[d->n_cycles - 1].ok && d->heartbeat_end &&
	    d->heartbeat_end <= d->cycles[d->n_cycles - 1].hb_after)
		REASON("the guest's heartbeat stopped after the last update (%llu -> %llu ticks)",
		       (unsigned long long)d->cycles[d->n_cycles - 1].hb_after,
		       (unsigned long long)d->heartbeat_end);
	if (d->has_guest_counts && guest_disagrees(v, a, d))
		return -ENOMEM;
	if (v->n_reasons > before) {
		v->result = CPRV_RESULT_FAIL;
		return 0;
	}
	if (d->error[0]) {
		REASON("the QEMU driver stopped early: %s", d->error);
		if (v->result == CPRV_RESULT_PASS)
			v->result = CPRV_RESULT_UNJUDGED;
	} else if (d->n_cycles < d->cycles_planned) {
		REASON("only %zu of %u updates ran", d->n_cycles, d->cycles_planned);
		if (v->result == CPRV_RESULT_PASS)
			v->result = CPRV_RESULT_UNJUDGED;
	}
	if (!d->device)
		CAVEAT("no device in this scenario: the MSI path (vfio -> eventfd -> irqfd -> LAPIC) "
		       "was not exercised; the verdict covers the updates, their phases and the "
		       "guest's heartbeat");
	(void)blind;
	return 0;
}

void cprv_verdict_free(struct cprv_verdict *v)
{
	for (size_t i = 0; i < v->n_reasons; i++)
		free(v->reasons[i]);
	for (size_t i = 0; i < v->n_caveats; i++)
		free(v->caveats[i]);
	free(v->reasons);
	free(v->caveats);
	free(v->gt);
	memset(v, 0, sizeof(*v));
}

int cprv_verdict_exit_code(const struct cprv_verdict *v)
{
	switch (v->result) {
	case CPRV_RESULT_PASS: return 0;
	case CPRV_RESULT_FAIL: return 1;
	default: return 2;
	}
}

const char *cprv_result_name(enum cprv_result r)
{
	switch (r) {
	case CPRV_RESULT_PASS: return "pass";
	case CPRV_RESULT_FAIL: return "fail";
	default: return "unjudged";
	}
}

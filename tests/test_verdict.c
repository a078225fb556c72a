// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Verdict rules: what fails, what cannot be judged, what a pass must admit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "evseq.h"
#include "verdict.h"

enum scen { PRESERVED, NEW_EVENTFDS, IN_FLIGHT, AMBIGUOUS, DUPLICATE, EMPTY, REPLAY_RACE,
	    REPLAY_RACE_AND_DUPLICATE };

static void build(struct evseq *s, enum scen which)
{
	struct evseq_cpr p = { .nvec = 4, .steady = 10, .blackout = { 3, 2, 1, 0 } };

	evseq_init(s);
	if (which == EMPTY) {
		evseq_vm_create(s, evseq_kvm_addr(0));
		evseq_stop(s, 500 * EVSEQ_MS);
		return;
	}
	if (which == REPLAY_RACE || which == REPLAY_RACE_AND_DUPLICATE) {
		evseq_assign_replay(s, 2, 1);
		if (which == REPLAY_RACE_AND_DUPLICATE) {
			evseq_task(s, 2, EVSEQ_KWORKER_TID);
			evseq_irqfd_inject(s, evseq_ctx_addr(0, 0), evseq_kvm_addr(1), 0);
		}
		evseq_stop(s, 500 * EVSEQ_MS);
		return;
	}
	if (which == AMBIGUOUS) {
		uint64_t c = evseq_ctx_addr(0, 0), d = evseq_ctx_addr(1, 0);
		for (unsigned g = 0; g < 2; g++) {
			evseq_vm_create(s, evseq_kvm_addr(g));
			evseq_route(s, evseq_kvm_addr(g), 0);
			evseq_assign(s, g ? d : c, evseq_kvm_addr(g), 0);
		}
		evseq_write(s, c);
		evseq_write(s, d);
		evseq_replay(s, 0);
		evseq_replay(s, 0);
		evseq_stop(s, 500 * EVSEQ_MS);
		return;
	}
	p.new_eventfds = which == NEW_EVENTFDS;
	evseq_cpr_start(s, &p);
	evseq_cpr_cycle(s, &p);
	if (which == DUPLICATE) {
		evseq_task(s, 2, 2);
		evseq_replay(s, 3);
	}
	if (which == IN_FLIGHT)
		evseq_write(s, p.ctx[1]);
	evseq_stop(s, which == IN_FLIGHT ? 20 * EVSEQ_MS : 500 * EVSEQ_MS);
}

static struct cprv_analysis_opts live(void)
{
	struct cprv_analysis_opts o = { 0 };

	evseq_vis_all(&o.vis);
	return o;
}

static void judge(enum scen which, const struct cprv_analysis_opts *o,
		  const struct cprv_gt_expect *gt, struct cprv_verdict *v)
{
	struct evseq s;

	build(&s, which);
	struct cprv_analysis *a = evseq_analyse(&s, o);
	assert_non_null(a);
	assert_int_equal(cprv_verdict_judge(v, a, gt), 0);
	cprv_analysis_free(a);
	evseq_free(&s);
}

static int has(char *const *list, size_t n, const char *needle)
{
	for (size_t i = 0; i < n; i++)
		if (strstr(list[i], needle))
			return 1;
	return 0;
}

static void test_pass(void **state)
{
	struct cprv_analysis_opts o = live();
	struct cprv_verdict v;

	judge(PRESERVED, &o, NULL, &v);
	assert_int_equal(v.result, CPRV_RESULT_PASS);
	assert_int_equal(cprv_verdict_exit_code(&v), 0);
	assert_string_equal(cprv_result_name(v.result), "pass");
	assert_int_equal(v.n_reasons, 0);
	assert_false(v.has_gt);
	/* all stages live: no stage caveat, only what is never analysed */
	assert_false(has(v.caveats, v.n_caveats, "not visible"));
	assert_true(has(v.caveats, v.n_caveats, "LAPIC and not serviced before its teardown: not checkable (no LAPIC servicing seen"));
	cprv_verdict_free(&v);
}

static void test_pass_lists_blind_stages(void **state)
{
	struct cprv_analysis_opts o = live();
	struct cprv_verdict v;

	cprv_visibility_set(&o.vis, CPRV_EV_IRQFD_WAKEUP, false, "no kprobes");
	cprv_visibility_set(&o.vis, CPRV_EV_EVENTFD_SIGNAL, false, "fentry refused");
	cprv_visibility_set(&o.vis, CPRV_EV_VFIO_MSIHANDLER, false, NULL);
	judge(PRESERVED, &o, NULL, &v);
	assert_int_equal(v.result, CPRV_RESULT_PASS);
	assert_true(has(v.caveats, v.n_caveats,
			"S2 consumer (irqfd_wakeup) not visible: coalescing inferred from the tag (no kprobes)"));
	assert_true(has(v.caveats, v.n_caveats, "S1 eventfd_signal not visible (fentry refused)"));
	assert_true(has(v.caveats, v.n_caveats, "kernel-side fires (device MSIs) not counted"));
	cprv_verdict_free(&v);
}

static void test_fire_stage_blind_unjudged(void **state)
{
	struct cprv_analysis_opts o = live();
	struct cprv_verdict v;

	o.vis.live[CPRV_EV_EVENTFD_WRITE] = false;
	o.vis.live[CPRV_EV_EVENTFD_SIGNAL] = false;
	o.vis.live[CPRV_EV_VFIO_MSIHANDLER] = false;
	judge(PRESERVED, &o, NULL, &v);
	assert_int_equal(v.result, CPRV_RESULT_UNJUDGED);
	assert_int_equal(cprv_verdict_exit_code(&v), 2);
	assert_string_equal(cprv_result_name(v.result), "unjudged");
	assert_true(has(v.reasons, v.n_reasons, "fire stage not visible"));
	cprv_verdict_free(&v);
}

static void test_inject_stage_blind_unjudged(void **state)
{
	struct cprv_analysis_opts o = live();
	struct cprv_verdict v;

	cprv_visibility_set(&o.vis, CPRV_EV_KVM_MSI_SET_IRQ, false, "tracepoint missing");
	judge(PRESERVED, &o, NULL, &v);
	assert_int_equal(v.result, CPRV_RESULT_UNJUDGED);
	assert_true(has(v.reasons, v.n_reasons,
			"injection stage not visible (kvm_msi_set_irq: tracepoint missing)"));
	cprv_verdict_free(&v);
}

static void test_drops_unjudged(void **state)
{
	struct cprv_analysis_opts o = live();
	struct cprv_verdict v;

	o.vis.dropped = 17;
	judge(PRESERVED, &o, NULL, &v);
	assert_int_equal(v.result, CPRV_RESULT_UNJUDGED);
	assert_true(has(v.reasons, v.n_reasons, "17 events dropped"));
	cprv_verdict_free(&v);
}

/* Drops come from the trace's END chunk, after the events: set late. */
static void test_drops_set_late(void **state)
{
	struct cprv_analysis_opts o = live();
	struct cprv_verdict v;
	struct evseq s;

	build(&s, PRESERVED);
	struct cprv_analysis *a = evseq_analyse(&s, &o);
	assert_non_null(a);
	cprv_analysis_set_dropped(a, 2);
	assert_int_equal(cprv_verdict_judge(&v, a, NULL), 0);
	assert_int_equal(v.result, CPRV_RESULT_UNJUDGED);
	assert_true(has(v.reasons, v.n_reasons, "2 events dropped"));
	cprv_verdict_free(&v);
	cprv_analysis_free(a);
	evseq_free(&s);
}

/* What was seen is firm: lost fails even with the accept stage blind. */
static void test_lost_blind_accept_fails(void **state)
{
	struct cprv_analysis_opts o = live();
	struct cprv_verdict v;

	o.vis.live[CPRV_EV_APIC_ACCEPT] = false;
	o.vis.dropped = 3;
	judge(NEW_EVENTFDS, &o, NULL, &v);
	assert_int_equal(v.result, CPRV_RESULT_FAIL);
	assert_int_equal(cprv_verdict_exit_code(&v), 1);
	assert_true(has(v.reasons, v.n_reasons, "6 of 86 fires lost"));
	assert_true(has(v.caveats, v.n_caveats, "S4 LAPIC accept (kvm_apic_accept_irq) not visible"));
	assert_true(has(v.caveats, v.n_caveats, "also unjudgeable: 3 events dropped"));
	cprv_verdict_free(&v);
}

static void test_duplicate_fails(void **state)
{
	struct cprv_analysis_opts o = live();
	struct cprv_verdict v;

	judge(DUPLICATE, &o, NULL, &v);
	assert_int_equal(v.result, CPRV_RESULT_FAIL);
	assert_true(has(v.reasons, v.n_reasons, "1 duplicate injections"));
	cprv_verdict_free(&v);
}

static void test_in_flight_unjudged(void **state)
{
	struct cprv_analysis_opts o = live();
	struct cprv_verdict v;

	judge(IN_FLIGHT, &o, NULL, &v);
	assert_int_equal(v.result, CPRV_RESULT_UNJUDGED);
	assert_true(has(v.reasons, v.n_reasons, "1 fires in flight at stop"));
	cprv_verdict_free(&v);
}

static void test_ambiguous_unjudged(void **state)
{
	struct cprv_analysis_opts o = live();
	struct cprv_verdict v;

	judge(AMBIGUOUS, &o, NULL, &v);
	assert_int_equal(v.result, CPRV_RESULT_UNJUDGED);
	assert_true(has(v.reasons, v.n_reasons, "1 injections ambiguous"));
	cprv_verdict_free(&v);
}

static void test_no_fires_unjudged(void **state)
{
	struct cprv_analysis_opts o = live();
	struct cprv_verdict v;

	judge(EMPTY, &o, NULL, &v);
	assert_int_equal(v.result, CPRV_RESULT_UNJUDGED);
	assert_true(has(v.reasons, v.n_reasons, "no fires seen"));
	cprv_verdict_free(&v);
}

static void test_ground_truth_match(void **state)
{
	struct cprv_analysis_opts o = live();
	struct cprv_verdict v;
	const uint64_t fires[4] = { 23, 22, 21, 20 }, lost[4] = { 0, 0, 0, 0 };
	struct cprv_gt_expect gt = { .fires = 86, .vector_fires = fires, .n_vectors = 4,
					.vector_lost = lost };

	judge(PRESERVED, &o, &gt, &v);
	assert_int_equal(v.result, CPRV_RESULT_PASS);
	assert_true(v.has_gt);
	assert_true(v.gt_match);
	/* fires, vectors, 4 x fires[gsi], lost, 4 x lost[gsi], duplicates */
	assert_int_equal(v.n_gt, 12);
	assert_string_equal(v.gt[2].name, "fires[gsi 0]");
	assert_int_equal(v.gt[2].reported, 23);
	cprv_verdict_free(&v);
}

/* Ground truth v2: rules, per-vector duplicates, unobservable loss, min gap. */
static void test_ground_truth_v2(void **state)
{
	struct cprv_analysis_opts o = live();
	struct cprv_verdict v;
	const uint64_t fires[4] = { 23, 22, 21, 20 }, zero[4] = { 0 };
	struct cprv_gt_expect gt = { .fires = 86, .vector_fires = fires, .n_vectors = 4,
				     .vector_lost = zero, .vector_duplicates = zero,
				     .has_rules = true, .rules_broken = 0,
				     .has_min_gap = true, .min_gap_ms = 2 };
	char b[32];

	judge(PRESERVED, &o, &gt, &v);
	assert_int_equal(v.result, CPRV_RESULT_PASS);
	assert_true(v.gt_match);
	assert_string_equal(v.gt[v.n_gt - 2].name, "rules_broken");
	assert_int_equal(v.gt[v.n_gt - 1].kind, CPRV_GT_AT_LEAST);
	assert_true(v.gt[v.n_gt - 1].reported >= 2);
	cprv_verdict_free(&v);

	/* a rule the truth says broke but the analysis held: mismatch */
	gt.rules_broken = 1u << 0;
	judge(PRESERVED, &o, &gt, &v);
	assert_int_equal(v.result, CPRV_RESULT_FAIL);
	assert_false(v.gt_match);
	cprv_verdict_free(&v);

	/* unobservable loss with no broken rule: the verdict must not agree */
	gt.rules_broken = 0;
	gt.lost_unobservable = 3;
	judge(PRESERVED, &o, &gt, &v);
	assert_false(v.gt_match);
	assert_true(has(v.reasons, v.n_reasons, "disagrees with ground truth"));
	cprv_verdict_free(&v);

	/* a gap the run never had */
	gt.lost_unobservable = 0;
	gt.min_gap_ms = 1000;
	judge(PRESERVED, &o, &gt, &v);
	assert_false(v.gt_match);
	cprv_verdict_free(&v);

	/* new-eventfd: R1 not seen here (no fd passing in the sequence), R2 and R4 broken */
	const uint64_t lost[4] = { 3, 2, 1, 0 };
	struct cprv_gt_expect gt2 = { .fires = 86, .vector_fires = fires, .n_vectors = 4,
				      .lost = 6, .vector_lost = lost, .has_rules = true,
				      .rules_broken = (1u << 1) | (1u << 3) };
	judge(NEW_EVENTFDS, &o, &gt2, &v);
	assert_int_equal(v.result, CPRV_RESULT_FAIL);
	assert_true(v.gt_match);
	assert_true(has(v.reasons, v.n_reasons, "R2 broken"));
	cprv_rules_mask_str(gt2.rules_broken, b, sizeof(b));
	assert_string_equal(b, "R2,R4");
	cprv_verdict_free(&v);
}

static void test_ground_truth_mismatch_fails(void **state)
{
	struct cprv_analysis_opts o = live();
	struct cprv_verdict v;
	const uint64_t fires[4] = { 23, 22, 21, 20 }, lost[4] = { 3, 2, 1, 0 };
	/* the rig says 7 were lost on gsi 3; the trace shows 6 */
	const uint64_t lost_bad[4] = { 3, 2, 1, 1 };
	struct cprv_gt_expect gt = { .fires = 86, .vector_fires = fires, .n_vectors = 4,
					.lost = 6, .vector_lost = lost };

	judge(NEW_EVENTFDS, &o, &gt, &v);
	assert_int_equal(v.result, CPRV_RESULT_FAIL);
	assert_true(v.gt_match);
	assert_false(has(v.reasons, v.n_reasons, "ground truth"));
	cprv_verdict_free(&v);

	gt.vector_lost = lost_bad;
	gt.lost = 7;
	judge(NEW_EVENTFDS, &o, &gt, &v);
	assert_false(v.gt_match);
	assert_true(has(v.reasons, v.n_reasons, "disagrees with ground truth"));
	for (size_t i = 0; i < v.n_gt; i++) {
		if (!strcmp(v.gt[i].name, "lost[gsi 3]") || !strcmp(v.gt[i].name, "lost"))
			assert_false(v.gt[i].match);
		else
			assert_true(v.gt[i].match);
	}
	cprv_verdict_free(&v);

	/* a clean trace that the rig says lost one: fail, not pass */
	struct cprv_gt_expect gt2 = { .fires = 86, .lost = 1 };
	judge(PRESERVED, &o, &gt2, &v);
	assert_int_equal(v.result, CPRV_RESULT_FAIL);
	assert_true(has(v.reasons, v.n_reasons, "disagrees with ground truth"));
	cprv_verdict_free(&v);
}

#define RACE_CAVEAT "1 spurious re-injections by KVM's irqfd-assign replay racing a new signal (legal for edge MSIs; the gate compares them with the reference)"

/* KVM's replay racing a new signal is KVM's doing: a pass, with a caveat. */
static void test_replay_race_passes(void **state)
{
	struct cprv_analysis_opts o = live();
	struct cprv_verdict v;
	struct cprv_gt_expect gt = { .fires = 4 };

	judge(REPLAY_RACE, &o, &gt, &v);
	assert_int_equal(v.result, CPRV_RESULT_PASS);
	assert_int_equal(v.n_reasons, 0);
	assert_true(has(v.caveats, v.n_caveats, RACE_CAVEAT));
	/* the rig expects no duplicates, and none are reported */
	assert_true(v.gt_match);
	cprv_verdict_free(&v);

	judge(PRESERVED, &o, NULL, &v);
	assert_false(has(v.caveats, v.n_caveats, "irqfd-assign replay"));
	cprv_verdict_free(&v);
}

static void test_replay_race_duplicate_still_fails(void **state)
{
	struct cprv_analysis_opts o = live();
	struct cprv_verdict v;

	judge(REPLAY_RACE_AND_DUPLICATE, &o, NULL, &v);
	assert_int_equal(v.result, CPRV_RESULT_FAIL);
	assert_true(has(v.reasons, v.n_reasons, "1 duplicate injections"));
	assert_true(has(v.caveats, v.n_caveats, RACE_CAVEAT));
	cprv_verdict_free(&v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pass),
		cmocka_unit_test(test_pass_lists_blind_stages),
		cmocka_unit_test(test_fire_stage_blind_unjudged),
		cmocka_unit_test(test_inject_stage_blind_unjudged),
		cmocka_unit_test(test_drops_unjudged),
		cmocka_unit_test(test_drops_set_late),
		cmocka_unit_test(test_lost_blind_accept_fails),
		cmocka_unit_test(test_duplicate_fails),
		cmocka_unit_test(test_in_flight_unjudged),
		cmocka_unit_test(test_ambiguous_unjudged),
		cmocka_unit_test(test_no_fires_unjudged),
		cmocka_unit_test(test_ground_truth_match),
		cmocka_unit_test(test_ground_truth_v2),
		cmocka_unit_test(test_ground_truth_mismatch_fails),
		cmocka_unit_test(test_replay_race_passes),
		cmocka_unit_test(test_replay_race_duplicate_still_fails),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

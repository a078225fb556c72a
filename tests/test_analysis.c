// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The analysis on hand-built event sequences: these tests are its spec. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "analysis.h"
#include "evseq.h"

static struct cprv_analysis_opts all_live(void)
{
	struct cprv_analysis_opts o = { 0 };

	evseq_vis_all(&o.vis);
	return o;
}

static struct cprv_analysis *run(const struct evseq *s)
{
	struct cprv_analysis_opts o = all_live();
	struct cprv_analysis *a = evseq_analyse(s, &o);

	assert_non_null(a);
	return a;
}

/* Does any line of any kept chain of kind k contain needle? */
static int chain_has(const struct cprv_analysis *a, enum cprv_chain_kind k, const char *needle)
{
	for (size_t i = 0; i < cprv_analysis_n_chains(a, k); i++) {
		const struct cprv_chain *c = cprv_analysis_chain(a, k, i);
		for (size_t j = 0; j < c->n_lines; j++)
			if (strstr(c->lines[j], needle))
				return 1;
	}
	return 0;
}

static void base_cpr(struct evseq *s, struct evseq_cpr *p, int new_eventfds)
{
	memset(p, 0, sizeof(*p));
	p->nvec = 4;
	p->steady = 10;
	p->blackout[0] = 3;
	p->blackout[1] = 2;
	p->blackout[2] = 1;
	p->blackout[3] = 0;
	p->new_eventfds = new_eventfds;
	evseq_init(s);
	evseq_cpr_start(s, p);
	evseq_cpr_cycle(s, p);
}

static void test_cpr_preserved(void **state)
{
	struct evseq s;
	struct evseq_cpr p;

	base_cpr(&s, &p, 0);
	evseq_stop(&s, 500 * EVSEQ_MS);
	struct cprv_analysis *a = run(&s);
	const struct cprv_totals *t = cprv_analysis_totals(a);

	/* 4 vectors x 10 writes, before and after; 3+2+1 during the blackout */
	assert_int_equal(t->fires, 86);
	assert_int_equal(t->write_fires, 86);
	/* 80 fast-path injections + one replay per vector that had fires */
	assert_int_equal(t->injections, 83);
	assert_int_equal(t->delivered, 86);
	assert_int_equal(t->coalesced, (3 - 1) + (2 - 1) + (1 - 1));
	assert_int_equal(t->lost, 0);
	assert_int_equal(t->duplicates, 0);
	assert_int_equal(t->attempts, 0);
	assert_int_equal(t->unattributed, 0);
	assert_int_equal(t->ambiguous, 0);
	assert_int_equal(t->in_flight, 0);

	assert_int_equal(cprv_analysis_n_vectors(a), 4);
	const unsigned fires[4] = { 23, 22, 21, 20 }, inj[4] = { 21, 21, 21, 20 };
	for (uint32_t g = 0; g < 4; g++) {
		const struct cprv_vector *v = cprv_analysis_vector(a, g);
		assert_true(v->has_gsi);
		assert_int_equal(v->gsi, g);
		assert_int_equal(v->n_ctxs, 1);
		assert_int_equal(v->ctxs[0], evseq_ctx_addr(0, g));
		assert_true(v->has_route);
		assert_int_equal(v->address, EVSEQ_MSI_ADDR);
		assert_int_equal(v->data, evseq_data(g));
		assert_int_equal(v->fires, fires[g]);
		assert_int_equal(v->injections, inj[g]);
		assert_int_equal(v->lost, 0);
		uint64_t h = 0;
		for (int b = 0; b < CPRV_HIST_BUCKETS; b++)
			h += v->delay_hist_log2[b];
		assert_int_equal(h, v->delivered);
	}
	/* gsi 0's first blackout write waited for the replay: > 2 ms */
	assert_true(cprv_analysis_vector(a, 0)->max_delay_ns > 2 * EVSEQ_MS);
	assert_true(cprv_analysis_vector(a, 3)->max_delay_ns < 10 * EVSEQ_US);
	/* no delivery across the blackout: the gap spans it, and starts no later than the delay */
	for (uint32_t g = 0; g < 4; g++)
		assert_true(cprv_analysis_vector(a, g)->max_gap_ns > p.attach_ts - p.detach_ts);
	assert_true(cprv_analysis_vector(a, 0)->max_gap_ns >= cprv_analysis_vector(a, 0)->max_delay_ns);

	assert_int_equal(cprv_analysis_n_cycles(a), 1);
	const struct cprv_cycle *cy = cprv_analysis_cycle(a, 0);
	assert_true(cy->complete);
	assert_int_equal(cy->start_ns, p.detach_ts);
	assert_int_equal(cy->end_ns, p.attach_ts);
	assert_int_equal(cy->blackout_ns, p.attach_ts - p.detach_ts);
	assert_int_equal(cy->old_vm, evseq_kvm_addr(0));
	assert_int_equal(cy->new_vm, evseq_kvm_addr(1));
	assert_int_equal(cy->blackout_fires, 6);
	assert_int_equal(cy->n_vecs, 4);
	for (uint32_t g = 0; g < 4; g++) {
		assert_int_equal(cy->vecs[g].gsi, g);
		assert_true(cy->vecs[g].attached);
		assert_int_equal(cy->vecs[g].old_ctx, cy->vecs[g].new_ctx);
		assert_int_equal(cy->vecs[g].fires, p.blackout[g]);
	}
	cprv_analysis_free(a);
	evseq_free(&s);
}

static void test_cpr_new_eventfds_lost(void **state)
{
	struct evseq s;
	struct evseq_cpr p;

	base_cpr(&s, &p, 1);
	evseq_stop(&s, 500 * EVSEQ_MS);
	struct cprv_analysis *a = run(&s);
	const struct cprv_totals *t = cprv_analysis_totals(a);

	assert_int_equal(t->fires, 86);
	assert_int_equal(t->injections, 80);
	assert_int_equal(t->lost, 6);
	assert_int_equal(t->duplicates, 0);
	assert_int_equal(t->coalesced, 0);
	assert_int_equal(t->delivered, 80);
	assert_int_equal(cprv_analysis_n_vectors(a), 4);
	for (uint32_t g = 0; g < 4; g++) {
		const struct cprv_vector *v = cprv_analysis_vector(a, g);
		assert_int_equal(v->gsi, g);
		assert_int_equal(v->lost, p.blackout[g]);
		/* old and new eventfd are one logical vector */
		assert_int_equal(v->n_ctxs, 2);
	}
	assert_int_equal(cprv_analysis_n_chains(a, CPRV_CHAIN_LOST), 6);
	const struct cprv_chain *c = cprv_analysis_chain(a, CPRV_CHAIN_LOST, 0);
	assert_int_equal(c->pid, 200);
	assert_true(c->has_gsi);
	assert_true(chain_has(a, CPRV_CHAIN_LOST, "rig-device"));
	assert_true(chain_has(a, CPRV_CHAIN_LOST, "deassigned at"));
	assert_true(chain_has(a, CPRV_CHAIN_LOST, "ctx never re-attached"));
	char want[96];
	snprintf(want, sizeof(want), "attached ctx 0x%llx on gsi 0",
		 (unsigned long long)evseq_ctx_addr(1, 0));
	assert_true(chain_has(a, CPRV_CHAIN_LOST, want));
	assert_true(chain_has(a, CPRV_CHAIN_LOST, "during cpr #1"));

	const struct cprv_cycle *cy = cprv_analysis_cycle(a, 0);
	assert_int_equal(cy->lost, 6);
	assert_int_equal(cy->vecs[0].new_ctx, evseq_ctx_addr(1, 0));
	assert_int_equal(cy->vecs[0].old_ctx, evseq_ctx_addr(0, 0));
	cprv_analysis_free(a);
	evseq_free(&s);
}

static void test_duplicate_replay(void **state)
{
	struct evseq s;
	struct evseq_cpr p;

	base_cpr(&s, &p, 0);
	/* a second replay of gsi 3: nothing waits there */
	evseq_task(&s, 2, 2);
	evseq_replay(&s, 3);
	evseq_stop(&s, 500 * EVSEQ_MS);
	struct cprv_analysis *a = run(&s);
	const struct cprv_totals *t = cprv_analysis_totals(a);

	assert_int_equal(t->duplicates, 1);
	assert_int_equal(t->injections, 84);
	assert_int_equal(t->lost, 0);
	assert_int_equal(cprv_analysis_vector(a, 3)->duplicates, 1);
	assert_int_equal(cprv_analysis_vector(a, 0)->duplicates, 0);
	assert_int_equal(cprv_analysis_n_chains(a, CPRV_CHAIN_DUPLICATE), 1);
	const struct cprv_chain *c = cprv_analysis_chain(a, CPRV_CHAIN_DUPLICATE, 0);
	assert_int_equal(c->ctx, evseq_ctx_addr(0, 3));
	assert_int_equal(c->gsi, 3);
	assert_true(chain_has(a, CPRV_CHAIN_DUPLICATE, "kvm_msi_set_irq at"));
	assert_true(chain_has(a, CPRV_CHAIN_DUPLICATE, "kvm_apic_accept_irq at"));
	assert_true(chain_has(a, CPRV_CHAIN_DUPLICATE, "context: kvm_set_irq"));
	assert_true(chain_has(a, CPRV_CHAIN_DUPLICATE, "already covered by the injection"));
	cprv_analysis_free(a);
	evseq_free(&s);
}

/*
 * KVM's replay on assign injects the pending count but leaves it in the
 * eventfd: the next write sees count+1 and injects once. One injection
 * for one new fire: not a duplicate.
 */
static void test_replay_leaves_count(void **state)
{
	struct evseq s;
	uint64_t ctx = evseq_ctx_addr(0, 0), kvm_a = evseq_kvm_addr(0), kvm_b = evseq_kvm_addr(1);

	evseq_init(&s);
	evseq_vm_create(&s, kvm_a);
	evseq_route(&s, kvm_a, 0);
	evseq_eventfd(&s, ctx);
	evseq_assign(&s, ctx, kvm_a, 0);
	evseq_write_fast(&s, ctx, 0);
	evseq_deassign(&s, ctx, kvm_a, 0);
	evseq_add(&s, CPRV_EV_EVENTFD_WRITE, 0, ctx, 1, 0, 7, 0);
	evseq_add(&s, CPRV_EV_EVENTFD_WRITE, 0, ctx, 1, 1, 7, 0);
	evseq_vm_create(&s, kvm_b);
	evseq_route(&s, kvm_b, 0);
	evseq_assign(&s, ctx, kvm_b, 0);
	evseq_replay(&s, 0);
	/* count before = 2: the replay left it there */
	evseq_add(&s, CPRV_EV_EVENTFD_WRITE, 0, ctx, 1, 2, 7, 0);
	evseq_msi(&s, CPRV_CTX_EVENTFD_WRITE, ctx, 0, 0, 1);
	evseq_stop(&s, 500 * EVSEQ_MS);
	struct cprv_analysis *a = run(&s);
	const struct cprv_totals *t = cprv_analysis_totals(a);

	assert_int_equal(t->fires, 4);
	assert_int_equal(t->injections, 3);
	assert_int_equal(t->coalesced, 1);
	assert_int_equal(t->duplicates, 0);
	assert_int_equal(t->lost, 0);
	assert_int_equal(t->delivered, 4);
	cprv_analysis_free(a);
	evseq_free(&s);
}

static void setup_one(struct evseq *s, uint64_t ctx, uint64_t kvm, uint32_t gsi)
{
	evseq_vm_create(s, kvm);
	evseq_route(s, kvm, gsi);
	evseq_eventfd(s, ctx);
	evseq_assign(s, ctx, kvm, gsi);
}

/* The fast path refused, the workqueue retried: one injection, one attempt. */
static void test_attempt_not_injection(void **state)
{
	struct evseq s;
	uint64_t ctx = evseq_ctx_addr(0, 1), kvm = evseq_kvm_addr(0);

	evseq_init(&s);
	setup_one(&s, ctx, kvm, 1);
	evseq_task(&s, 200, 201);
	evseq_write(&s, ctx);
	evseq_msi(&s, CPRV_CTX_EVENTFD_WRITE, ctx, 0, 1, 0);
	evseq_task(&s, 2, 2);
	evseq_replay(&s, 1);
	/* a last refused attempt still open at the end counts too */
	evseq_task(&s, 200, 201);
	evseq_write_fast(&s, ctx, 1);
	evseq_msi(&s, CPRV_CTX_EVENTFD_WRITE, ctx, 0, 1, 0);
	evseq_stop(&s, 500 * EVSEQ_MS);
	struct cprv_analysis *a = run(&s);
	const struct cprv_totals *t = cprv_analysis_totals(a);

	assert_int_equal(t->fires, 2);
	assert_int_equal(t->injections, 2);
	assert_int_equal(t->attempts, 2);
	assert_int_equal(t->duplicates, 0);
	assert_int_equal(t->lost, 0);
	cprv_analysis_free(a);
	evseq_free(&s);
}

/* The same kworker injection long after any assign of ours: another VM's
 * (the tracepoints name no VM), counted apart and never a duplicate. */
static void test_other_vm_workqueue(void **state)
{
	struct evseq s;
	struct evseq_cpr p;

	base_cpr(&s, &p, 0);
	evseq_advance(&s, 200 * EVSEQ_MS);
	evseq_task(&s, 2, 2);
	evseq_replay(&s, 3);
	evseq_stop(&s, 500 * EVSEQ_MS);
	struct cprv_analysis *a = run(&s);
	const struct cprv_totals *t = cprv_analysis_totals(a);

	assert_int_equal(t->duplicates, 0);
	assert_int_equal(t->other_vm_wq, 1);
	assert_int_equal(t->injections, 83);
	assert_int_equal(t->lost, 0);
	cprv_analysis_free(a);
	evseq_free(&s);
}

/* Without the accept stage the refused attempt is an injection: here a duplicate. */
static void test_attempt_blind_accept(void **state)
{
	struct evseq s;
	uint64_t ctx = evseq_ctx_addr(0, 1), kvm = evseq_kvm_addr(0);
	struct cprv_analysis_opts o = all_live();

	o.vis.live[CPRV_EV_APIC_ACCEPT] = false;
	evseq_init(&s);
	setup_one(&s, ctx, kvm, 1);
	evseq_task(&s, 200, 201);
	evseq_write(&s, ctx);
	evseq_msi(&s, CPRV_CTX_EVENTFD_WRITE, ctx, 0, 1, 0);
	evseq_task(&s, 2, 2);
	evseq_replay(&s, 1);
	evseq_stop(&s, 500 * EVSEQ_MS);
	struct cprv_analysis *a = evseq_analyse(&s, &o);
	const struct cprv_totals *t = cprv_analysis_totals(a);

	assert_int_equal(t->injections, 2);
	assert_int_equal(t->attempts, 0);
	assert_int_equal(t->duplicates, 1);
	assert_true(chain_has(a, CPRV_CHAIN_DUPLICATE, "LAPIC accept not visible"));
	cprv_analysis_free(a);
	evseq_free(&s);
}

/* Old VM kept with ctx C on gsi 0, new VM with ctx D on gsi 0, same route. */
static void two_vms_same_gsi(struct evseq *s, uint64_t c, uint64_t d)
{
	evseq_init(s);
	setup_one(s, c, evseq_kvm_addr(0), 0);
	setup_one(s, d, evseq_kvm_addr(1), 0);
}

static void test_ambiguous_replay(void **state)
{
	struct evseq s;
	uint64_t c = evseq_ctx_addr(0, 0), d = evseq_ctx_addr(1, 0);

	two_vms_same_gsi(&s, c, d);
	evseq_task(&s, 200, 201);
	evseq_write(&s, c);
	evseq_msi(&s, CPRV_CTX_EVENTFD_WRITE, c, 0, 0, 0);
	evseq_write(&s, d);
	evseq_msi(&s, CPRV_CTX_EVENTFD_WRITE, d, 0, 0, 0);
	evseq_task(&s, 2, 2);
	evseq_replay(&s, 0); /* both have a fire waiting: a guess */
	evseq_replay(&s, 0); /* only c has: certain */
	evseq_stop(&s, 500 * EVSEQ_MS);
	struct cprv_analysis *a = run(&s);
	const struct cprv_totals *t = cprv_analysis_totals(a);

	assert_int_equal(t->injections, 2);
	assert_int_equal(t->attempts, 2);
	assert_int_equal(t->ambiguous, 1);
	assert_int_equal(t->ambiguous_material, 1);
	assert_int_equal(t->duplicates, 0);
	assert_int_equal(t->lost, 0);
	assert_int_equal(cprv_analysis_n_chains(a, CPRV_CHAIN_AMBIGUOUS), 1);
	const struct cprv_chain *ch = cprv_analysis_chain(a, CPRV_CHAIN_AMBIGUOUS, 0);
	assert_int_equal(ch->ctx, d); /* newest assign */
	char want[64];
	snprintf(want, sizeof(want), "candidate: ctx 0x%llx", (unsigned long long)c);
	assert_true(chain_has(a, CPRV_CHAIN_AMBIGUOUS, want));
	snprintf(want, sizeof(want), "candidate: ctx 0x%llx", (unsigned long long)d);
	assert_true(chain_has(a, CPRV_CHAIN_AMBIGUOUS, want));
	cprv_analysis_free(a);
	evseq_free(&s);
}

/* Neither candidate had a fire waiting: a duplicate whichever it was. */
static void test_ambiguous_nothing_waiting(void **state)
{
	struct evseq s;

	two_vms_same_gsi(&s, evseq_ctx_addr(0, 0), evseq_ctx_addr(1, 0));
	evseq_task(&s, 2, 2);
	evseq_replay(&s, 0);
	evseq_stop(&s, 500 * EVSEQ_MS);
	struct cprv_analysis *a = run(&s);
	const struct cprv_totals *t = cprv_analysis_totals(a);

	assert_int_equal(t->ambiguous, 1);
	assert_int_equal(t->ambiguous_material, 0);
	assert_int_equal(t->duplicates, 1);
	cprv_analysis_free(a);
	evseq_free(&s);
}

/* One device MSI seen at three stages counts once, from the best stage. */
static void device_msi(struct evseq *s, uint64_t ctx, uint64_t irq)
{
	evseq_add(s, CPRV_EV_VFIO_IRQ, 0, 0, irq, 0, 0, 0);
	evseq_add(s, CPRV_EV_VFIO_MSIHANDLER, 0, ctx, irq, 0, 0, 0);
	evseq_add(s, CPRV_EV_EVENTFD_SIGNAL, 0, ctx, 0, 1, 0, 0);
	evseq_msi(s, CPRV_CTX_HARDIRQ, 0, irq, 2, 1);
}

static void test_kernel_fire_source(void **state)
{
	struct evseq s;
	uint64_t ctx = evseq_ctx_addr(0, 2);

	evseq_init(&s);
	setup_one(&s, ctx, evseq_kvm_addr(0), 2);
	evseq_task(&s, 0, 0);
	device_msi(&s, ctx, 45);
	device_msi(&s, ctx, 45);
	evseq_stop(&s, 500 * EVSEQ_MS);

	struct cprv_analysis_opts o = all_live();
	for (int pass = 0; pass < 3; pass++) {
		if (pass == 1)
			o.vis.live[CPRV_EV_EVENTFD_SIGNAL] = false;
		if (pass == 2)
			o.vis.live[CPRV_EV_VFIO_MSIHANDLER] = false;
		struct cprv_analysis *a = evseq_analyse(&s, &o);
		const struct cprv_totals *t = cprv_analysis_totals(a);
		static const uint16_t src[3] = { CPRV_EV_EVENTFD_SIGNAL, CPRV_EV_VFIO_MSIHANDLER, 0 };

		assert_int_equal(t->kernel_fire_src, src[pass]);
		assert_int_equal(t->vfio_irqs, 2);
		assert_int_equal(t->fires, pass == 2 ? 0 : 2);
		assert_int_equal(t->injections, 2);
		assert_int_equal(t->duplicates, pass == 2 ? 2 : 0);
		cprv_analysis_free(a);
	}
	evseq_free(&s);
}

/* Should the signal probe also see write()'s own signal, it is one fire. */
static void test_write_signal_merged(void **state)
{
	struct evseq s;
	uint64_t ctx = evseq_ctx_addr(0, 0);

	evseq_init(&s);
	setup_one(&s, ctx, evseq_kvm_addr(0), 0);
	evseq_task(&s, 200, 201);
	evseq_write(&s, ctx);
	evseq_add(&s, CPRV_EV_EVENTFD_SIGNAL, 0, ctx, 0, 1, 0, 0);
	evseq_msi(&s, CPRV_CTX_EVENTFD_WRITE, ctx, 0, 0, 1);
	evseq_stop(&s, 500 * EVSEQ_MS);
	struct cprv_analysis *a = run(&s);
	const struct cprv_totals *t = cprv_analysis_totals(a);

	assert_int_equal(t->fires, 1);
	assert_int_equal(t->merged_signals, 1);
	assert_int_equal(t->duplicates, 0);
	cprv_analysis_free(a);
	evseq_free(&s);
}

static void test_signal_msi_and_route(void **state)
{
	struct evseq s;
	uint64_t c0 = evseq_ctx_addr(0, 0), c1 = evseq_ctx_addr(0, 1), kvm = evseq_kvm_addr(0);

	evseq_init(&s);
	setup_one(&s, c0, kvm, 0);
	evseq_route(&s, kvm, 1);
	evseq_eventfd(&s, c1);
	evseq_assign(&s, c1, kvm, 1);
	evseq_task(&s, 200, 201);
	evseq_write(&s, c0);
	evseq_write(&s, c1);
	evseq_task(&s, 1000, 1001);
	evseq_msi(&s, CPRV_CTX_SIGNAL_MSI, kvm, 0, 1, 1); /* route of gsi 1 in kvm */
	evseq_msi(&s, CPRV_CTX_NONE, 0, 0, 0, 1);         /* unique route: gsi 0 */
	evseq_msi(&s, CPRV_CTX_NONE, 0, 0, 9, 1);         /* no traced route */
	evseq_stop(&s, 500 * EVSEQ_MS);
	struct cprv_analysis *a = run(&s);
	const struct cprv_totals *t = cprv_analysis_totals(a);

	assert_int_equal(t->injections, 2);
	assert_int_equal(t->delivered, 2);
	assert_int_equal(t->foreign, 1);
	assert_int_equal(t->unattributed, 0);
	assert_int_equal(t->lost, 0);
	assert_int_equal(t->duplicates, 0);
	cprv_analysis_free(a);
	evseq_free(&s);
}

/* Two bound vectors share a route and no tag says which: unattributed. */
static void test_unattributed(void **state)
{
	struct evseq s;

	two_vms_same_gsi(&s, evseq_ctx_addr(0, 0), evseq_ctx_addr(1, 0));
	evseq_task(&s, 1000, 1001);
	evseq_msi(&s, CPRV_CTX_NONE, 0, 0, 0, 1);
	evseq_stop(&s, 500 * EVSEQ_MS);
	struct cprv_analysis *a = run(&s);
	const struct cprv_totals *t = cprv_analysis_totals(a);

	assert_int_equal(t->unattributed, 1);
	assert_int_equal(t->injections, 0);
	assert_int_equal(cprv_analysis_n_chains(a, CPRV_CHAIN_UNATTRIBUTED), 1);
	assert_true(chain_has(a, CPRV_CHAIN_UNATTRIBUTED, "no eventfd ctx found: 2 bound vectors"));
	cprv_analysis_free(a);
	evseq_free(&s);
}

static void test_two_cycles(void **state)
{
	struct evseq s;
	struct evseq_cpr p;

	base_cpr(&s, &p, 0);
	uint64_t d1 = p.detach_ts, a1 = p.attach_ts;
	evseq_advance(&s, 50 * EVSEQ_MS);
	p.blackout[3] = 5;
	evseq_cpr_cycle(&s, &p);
	evseq_stop(&s, 500 * EVSEQ_MS);
	struct cprv_analysis *a = run(&s);
	const struct cprv_totals *t = cprv_analysis_totals(a);

	assert_int_equal(cprv_analysis_n_cycles(a), 2);
	const struct cprv_cycle *c1 = cprv_analysis_cycle(a, 0), *c2 = cprv_analysis_cycle(a, 1);
	assert_int_equal(c1->blackout_ns, a1 - d1);
	assert_int_equal(c2->blackout_ns, p.attach_ts - p.detach_ts);
	assert_int_equal(c2->old_vm, evseq_kvm_addr(1));
	assert_int_equal(c2->new_vm, evseq_kvm_addr(2));
	assert_int_equal(c1->blackout_fires, 6);
	assert_int_equal(c2->blackout_fires, 11);
	assert_int_equal(t->fires, 86 + 11 + 40);
	assert_int_equal(t->coalesced, 3 + 3 + 4);
	assert_int_equal(t->lost, 0);
	assert_int_equal(t->duplicates, 0);
	cprv_analysis_free(a);
	evseq_free(&s);
}

static void test_in_flight_then_lost(void **state)
{
	struct evseq s;
	uint64_t ctx = evseq_ctx_addr(0, 0), kvm = evseq_kvm_addr(0);

	for (int late = 0; late < 2; late++) {
		evseq_init(&s);
		setup_one(&s, ctx, kvm, 0);
		evseq_task(&s, 200, 201);
		evseq_write_fast(&s, ctx, 0);
		evseq_write(&s, ctx);
		evseq_write(&s, ctx);
		evseq_stop(&s, late ? 300 * EVSEQ_MS : 10 * EVSEQ_MS);
		struct cprv_analysis *a = run(&s);
		const struct cprv_totals *t = cprv_analysis_totals(a);

		assert_int_equal(t->fires, 3);
		assert_int_equal(t->in_flight, late ? 0 : 2);
		assert_int_equal(t->lost, late ? 2 : 0);
		assert_int_equal(cprv_analysis_vector(a, 0)->in_flight, late ? 0 : 2);
		if (late)
			assert_true(chain_has(a, CPRV_CHAIN_LOST, "bound to gsi 0"));
		cprv_analysis_free(a);
		evseq_free(&s);
	}
}

/* A ctx that fired before its irqfd existed joins its gsi's vector. */
static void test_fire_before_bind(void **state)
{
	struct evseq s;
	uint64_t ctx = evseq_ctx_addr(0, 5), kvm = evseq_kvm_addr(0);

	evseq_init(&s);
	evseq_eventfd(&s, ctx);
	evseq_task(&s, 200, 201);
	evseq_write(&s, ctx);
	evseq_vm_create(&s, kvm);
	evseq_route(&s, kvm, 5);
	evseq_assign(&s, ctx, kvm, 5);
	evseq_task(&s, 2, 2);
	evseq_replay(&s, 5);
	evseq_stop(&s, 500 * EVSEQ_MS);
	struct cprv_analysis *a = run(&s);

	assert_int_equal(cprv_analysis_n_vectors(a), 1);
	const struct cprv_vector *v = cprv_analysis_vector(a, 0);
	assert_true(v->has_gsi);
	assert_int_equal(v->gsi, 5);
	assert_int_equal(v->fires, 1);
	assert_int_equal(v->injections, 1);
	assert_int_equal(v->n_ctxs, 1);
	assert_int_equal(cprv_analysis_totals(a)->lost, 0);
	assert_int_equal(cprv_analysis_n_cycles(a), 0);
	cprv_analysis_free(a);
	evseq_free(&s);
}

/* A new eventfd at a freed one's address: the old fires can never land. */
static void test_address_reuse(void **state)
{
	struct evseq s;
	uint64_t ctx = evseq_ctx_addr(0, 0), kvm = evseq_kvm_addr(0);

	evseq_init(&s);
	setup_one(&s, ctx, kvm, 0);
	evseq_deassign(&s, ctx, kvm, 0);
	evseq_task(&s, 200, 201);
	evseq_write(&s, ctx);
	evseq_eventfd(&s, ctx);
	evseq_assign(&s, ctx, kvm, 0);
	evseq_write_fast(&s, ctx, 0);
	evseq_stop(&s, 500 * EVSEQ_MS);
	struct cprv_analysis *a = run(&s);
	const struct cprv_totals *t = cprv_analysis_totals(a);

	assert_int_equal(t->fires, 2);
	assert_int_equal(t->lost, 1);
	assert_int_equal(t->injections, 1);
	assert_int_equal(t->duplicates, 0);
	assert_true(chain_has(a, CPRV_CHAIN_LOST, "eventfd freed"));
	cprv_analysis_free(a);
	evseq_free(&s);
}

/* Past max_pending, waiting fires are a counted run: memory stays bounded. */
static void test_pending_cap(void **state)
{
	struct evseq s;
	uint64_t ctx = evseq_ctx_addr(0, 0), kvm = evseq_kvm_addr(0);
	struct cprv_analysis_opts o = all_live();

	o.max_pending = 4;
	evseq_init(&s);
	setup_one(&s, ctx, kvm, 0);
	evseq_task(&s, 200, 201);
	for (int i = 0; i < 10; i++)
		evseq_write(&s, ctx);
	evseq_task(&s, 2, 2);
	evseq_replay(&s, 0);
	evseq_stop(&s, 500 * EVSEQ_MS);
	struct cprv_analysis *a = evseq_analyse(&s, &o);
	const struct cprv_totals *t = cprv_analysis_totals(a);

	assert_int_equal(t->fires, 10);
	assert_int_equal(t->delivered, 10);
	assert_int_equal(t->coalesced, 9);
	assert_int_equal(t->overflow_fires, 6);
	assert_int_equal(cprv_analysis_vector(a, 0)->max_delay_ns, 13 * EVSEQ_US);
	cprv_analysis_free(a);
	evseq_free(&s);
}

/* Deassign then re-assign in the same VM (mask, failed CPR): no cycle. */
static void test_reattach_same_vm_no_cycle(void **state)
{
	struct evseq s;
	uint64_t ctx = evseq_ctx_addr(0, 0), kvm = evseq_kvm_addr(0);

	evseq_init(&s);
	setup_one(&s, ctx, kvm, 0);
	evseq_deassign(&s, ctx, kvm, 0);
	evseq_assign(&s, ctx, kvm, 0);
	evseq_stop(&s, 500 * EVSEQ_MS);
	struct cprv_analysis *a = run(&s);

	assert_int_equal(cprv_analysis_n_cycles(a), 0);
	cprv_analysis_free(a);
	evseq_free(&s);
}

/* A CPR_BEGIN mark starts the cycle before the first deassign. */
static void test_mark_starts_cycle(void **state)
{
	struct evseq s;
	struct evseq_cpr p = { .nvec = 1, .steady = 1, .blackout = { 1 } };

	evseq_init(&s);
	evseq_cpr_start(&s, &p);
	uint64_t begin = evseq_mark(&s, CPRV_MARK_CPR_BEGIN, 1);
	evseq_advance(&s, 5 * EVSEQ_MS);
	evseq_cpr_cycle(&s, &p);
	evseq_stop(&s, 500 * EVSEQ_MS);
	struct cprv_analysis *a = run(&s);

	assert_int_equal(cprv_analysis_n_cycles(a), 1);
	const struct cprv_cycle *cy = cprv_analysis_cycle(a, 0);
	assert_true(cy->from_mark);
	assert_int_equal(cy->start_ns, begin);
	assert_int_equal(cy->blackout_ns, p.attach_ts - begin);
	assert_int_equal(cy->old_vm, evseq_kvm_addr(0));
	assert_string_equal(cprv_analysis_comm(a, 200), "rig-device");
	assert_string_equal(cprv_analysis_comm(a, 1100), "qemu-new");
	cprv_analysis_free(a);
	evseq_free(&s);
}

/*
 * KVM_IRQFD assign saw a count and scheduled its replay; a new write's fast
 * path covered every fire before the kworker ran; the replay then injected
 * with nothing to cover. KVM's doing: a replay race, not a duplicate.
 */
static void test_replay_race(void **state)
{
	struct evseq s;

	evseq_init(&s);
	evseq_assign_replay(&s, 2, 1);
	evseq_stop(&s, 500 * EVSEQ_MS);
	struct cprv_analysis *a = run(&s);
	const struct cprv_totals *t = cprv_analysis_totals(a);

	assert_int_equal(t->fires, 4);
	assert_int_equal(t->injections, 3);
	assert_int_equal(t->delivered, 4);
	assert_int_equal(t->coalesced, 2);
	assert_int_equal(t->lost, 0);
	assert_int_equal(t->duplicates, 0);
	assert_int_equal(t->replay_races, 1);
	assert_int_equal(cprv_analysis_vector(a, 0)->replay_races, 1);
	assert_int_equal(cprv_analysis_vector(a, 0)->duplicates, 0);
	assert_int_equal(cprv_analysis_n_chains(a, CPRV_CHAIN_DUPLICATE), 0);
	assert_int_equal(cprv_analysis_n_chains(a, CPRV_CHAIN_REPLAY_RACE), 1);
	const struct cprv_chain *c = cprv_analysis_chain(a, CPRV_CHAIN_REPLAY_RACE, 0);
	assert_int_equal(c->ctx, evseq_ctx_addr(0, 0));
	assert_true(c->has_gsi);
	assert_int_equal(c->gsi, 0);
	assert_int_equal(c->pid, 2);
	assert_true(chain_has(a, CPRV_CHAIN_REPLAY_RACE, "KVM_IRQFD assign of ctx 0xffff888001000000 to gsi 0 of VM 0xffffc90000b00000"));
	assert_true(chain_has(a, CPRV_CHAIN_REPLAY_RACE, "with 2 fires waiting"));
	assert_true(chain_has(a, CPRV_CHAIN_REPLAY_RACE, "fast-path injection at"));
	assert_true(chain_has(a, CPRV_CHAIN_REPLAY_RACE, "(tid 201 pid 200 ?, context irqfd)"));
	assert_true(chain_has(a, CPRV_CHAIN_REPLAY_RACE, "covered 3 fires"));
	assert_true(chain_has(a, CPRV_CHAIN_REPLAY_RACE, "tid 10 pid 2"));
	assert_true(chain_has(a, CPRV_CHAIN_REPLAY_RACE, "irqfd_inject on ctx 0xffff888001000000"));
	assert_true(chain_has(a, CPRV_CHAIN_REPLAY_RACE, "found nothing to cover"));
	cprv_analysis_free(a);
	evseq_free(&s);
}

/* The same race seen without the irqfd probes: write-tagged fast path, kvm_set_irq replay. */
static void test_replay_race_tracepoints_only(void **state)
{
	struct evseq s;
	uint64_t ctx = evseq_ctx_addr(0, 2), k0 = evseq_kvm_addr(0), k1 = evseq_kvm_addr(1);

	evseq_init(&s);
	setup_one(&s, ctx, k0, 2);
	evseq_task(&s, 200, 201);
	evseq_write_fast(&s, ctx, 2);
	evseq_deassign(&s, ctx, k0, 2);
	evseq_write(&s, ctx);
	evseq_vm_create(&s, k1);
	evseq_route(&s, k1, 2);
	evseq_assign(&s, ctx, k1, 2);
	evseq_write_fast(&s, ctx, 2);
	evseq_task(&s, 2, 10);
	evseq_replay(&s, 2);
	evseq_stop(&s, 500 * EVSEQ_MS);
	struct cprv_analysis *a = run(&s);
	const struct cprv_totals *t = cprv_analysis_totals(a);

	assert_int_equal(t->duplicates, 0);
	assert_int_equal(t->replay_races, 1);
	assert_int_equal(t->delivered, 3);
	assert_true(chain_has(a, CPRV_CHAIN_REPLAY_RACE, "with 1 fires waiting"));
	assert_true(chain_has(a, CPRV_CHAIN_REPLAY_RACE, "context eventfd_write) covered 2 fires"));
	assert_true(chain_has(a, CPRV_CHAIN_REPLAY_RACE, "context: kvm_set_irq"));
	cprv_analysis_free(a);
	evseq_free(&s);
}

/* The usual order: the kworker replay covers the waiting fires, the write its own. */
static void test_replay_normal_order(void **state)
{
	struct evseq s;

	evseq_init(&s);
	evseq_assign_replay(&s, 2, 0);
	evseq_stop(&s, 500 * EVSEQ_MS);
	struct cprv_analysis *a = run(&s);
	const struct cprv_totals *t = cprv_analysis_totals(a);

	assert_int_equal(t->fires, 4);
	assert_int_equal(t->injections, 3);
	assert_int_equal(t->delivered, 4);
	assert_int_equal(t->coalesced, 1);
	assert_int_equal(t->duplicates, 0);
	assert_int_equal(t->replay_races, 0);
	assert_int_equal(cprv_analysis_n_chains(a, CPRV_CHAIN_REPLAY_RACE), 0);
	cprv_analysis_free(a);
	evseq_free(&s);
}

/* One assign, one replay: a second kworker injection is a duplicate. */
static void test_replay_second_kworker_duplicate(void **state)
{
	for (int fast_first = 0; fast_first < 2; fast_first++) {
		struct evseq s;

		evseq_init(&s);
		evseq_assign_replay(&s, 2, fast_first);
		evseq_task(&s, 2, EVSEQ_KWORKER_TID);
		evseq_irqfd_inject(&s, evseq_ctx_addr(0, 0), evseq_kvm_addr(1), 0);
		evseq_stop(&s, 500 * EVSEQ_MS);
		struct cprv_analysis *a = run(&s);
		const struct cprv_totals *t = cprv_analysis_totals(a);

		assert_int_equal(t->duplicates, 1);
		assert_int_equal(t->replay_races, fast_first ? 1 : 0);
		assert_int_equal(cprv_analysis_vector(a, 0)->duplicates, 1);
		assert_true(chain_has(a, CPRV_CHAIN_DUPLICATE, "irqfd_inject on ctx"));
		cprv_analysis_free(a);
		evseq_free(&s);
	}
}

/* Nothing waited at the assign: KVM scheduled no replay, so this is a duplicate. */
static void test_replay_unarmed_duplicate(void **state)
{
	struct evseq s;

	evseq_init(&s);
	evseq_assign_replay(&s, 0, 1);
	evseq_stop(&s, 500 * EVSEQ_MS);
	struct cprv_analysis *a = run(&s);
	const struct cprv_totals *t = cprv_analysis_totals(a);

	assert_int_equal(t->fires, 2);
	assert_int_equal(t->duplicates, 1);
	assert_int_equal(t->replay_races, 0);
	assert_int_equal(cprv_analysis_n_chains(a, CPRV_CHAIN_REPLAY_RACE), 0);
	cprv_analysis_free(a);
	evseq_free(&s);
}

/*
 * A VMM re-injecting by hand (KVM_SIGNAL_MSI) with nothing waiting is a
 * duplicate, after KVM's replay; and if its hand injection covered the
 * waiting fires first, KVM's replay after it is one too (a double replay,
 * not a new signal racing).
 */
static void test_replay_signal_msi_duplicate(void **state)
{
	uint64_t ctx = evseq_ctx_addr(0, 0), k1 = evseq_kvm_addr(1);

	for (int hand_first = 0; hand_first < 2; hand_first++) {
		struct evseq s;

		evseq_init(&s);
		if (hand_first) {
			evseq_assign_replay(&s, 2, 1);
			/* drop the tail: write + kworker, then replace with hand + kworker */
			while (s.ev[s.n - 1].type != CPRV_EV_KVM_IRQFD)
				s.n--;
			evseq_task(&s, 1100, 1100);
			evseq_msi(&s, CPRV_CTX_SIGNAL_MSI, k1, 0, 0, 1);
			evseq_task(&s, 2, EVSEQ_KWORKER_TID);
			evseq_irqfd_inject(&s, ctx, k1, 0);
		} else {
			evseq_assign_replay(&s, 2, 0);
			evseq_task(&s, 1100, 1100);
			evseq_msi(&s, CPRV_CTX_SIGNAL_MSI, k1, 0, 0, 1);
		}
		evseq_stop(&s, 500 * EVSEQ_MS);
		struct cprv_analysis *a = run(&s);
		const struct cprv_totals *t = cprv_analysis_totals(a);

		assert_int_equal(t->duplicates, 1);
		assert_int_equal(t->replay_races, 0);
		assert_int_equal(t->lost, 0);
		assert_true(chain_has(a, CPRV_CHAIN_DUPLICATE,
				      hand_first ? "irqfd_inject on ctx" : "context: signal_msi"));
		cprv_analysis_free(a);
		evseq_free(&s);
	}
}

/*
 * Without irqfd_wakeup/irqfd_inject events the irqfd tag alone is
 * ambiguous: the writer's task is the fast path, any other the kworker.
 */
static void test_replay_irqfd_tag_by_tid(void **state)
{
	uint64_t ctx = evseq_ctx_addr(0, 0), k1 = evseq_kvm_addr(1);

	for (int same_tid = 0; same_tid < 2; same_tid++) {
		struct evseq s;

		evseq_init(&s);
		evseq_assign_replay(&s, 2, 1);
		while (s.ev[s.n - 1].type != CPRV_EV_KVM_IRQFD)
			s.n--;
		evseq_task(&s, EVSEQ_WRITER_TID - 1, EVSEQ_WRITER_TID);
		evseq_write(&s, ctx);
		evseq_msi(&s, CPRV_CTX_IRQFD, ctx, k1, 0, 1);
		evseq_task(&s, same_tid ? EVSEQ_WRITER_TID - 1 : 2,
			   same_tid ? EVSEQ_WRITER_TID : EVSEQ_KWORKER_TID);
		evseq_msi(&s, CPRV_CTX_IRQFD, ctx, k1, 0, 1);
		evseq_stop(&s, 500 * EVSEQ_MS);
		struct cprv_analysis *a = run(&s);
		const struct cprv_totals *t = cprv_analysis_totals(a);

		assert_int_equal(t->replay_races, same_tid ? 0 : 1);
		assert_int_equal(t->duplicates, same_tid ? 1 : 0);
		cprv_analysis_free(a);
		evseq_free(&s);
	}
}

/* ---- issue 3: held fires, LAPIC, rules ---- */

static enum cprv_rule_state rule(const struct cprv_analysis *a, unsigned n)
{
	return cprv_analysis_rule(a, n)->state;
}

static int rule_has(const struct cprv_analysis *a, unsigned n, const char *needle)
{
	const struct cprv_rule *r = cprv_analysis_rule(a, n);

	if (strstr(r->why, needle))
		return 1;
	for (size_t i = 0; i < r->n_evidence; i++)
		for (size_t j = 0; j < r->evidence[i].n_lines; j++)
			if (strstr(r->evidence[i].lines[j], needle))
				return 1;
	return 0;
}

/* One-cycle CPR with a hook between the new VM's creation and its attach. */
static void cpr_one(struct evseq *s, struct evseq_cpr *p, unsigned b0, unsigned b1)
{
	memset(p, 0, sizeof(*p));
	p->nvec = 2;
	p->steady = 5;
	p->blackout[0] = b0;
	p->blackout[1] = b1;
	evseq_init(s);
	evseq_cpr_start(s, p);
}

/* drain-before-attach: the new VMM read()s the preserved eventfd first. */
static void test_drain_before_attach(void **state)
{
	struct evseq s;
	struct evseq_cpr p;
	uint64_t k0, k1 = evseq_kvm_addr(1);

	cpr_one(&s, &p, 3, 2);
	k0 = p.kvm;
	evseq_task(&s, 1000, 1000);
	evseq_deassign(&s, p.ctx[0], k0, 0);
	evseq_deassign(&s, p.ctx[1], k0, 1);
	evseq_task(&s, 200, 201);
	for (int i = 0; i < 3; i++)
		evseq_write(&s, p.ctx[0]);
	for (int i = 0; i < 2; i++)
		evseq_write(&s, p.ctx[1]);
	evseq_task(&s, 1100, 1100);
	evseq_vm_create(&s, k1);
	evseq_route(&s, k1, 0);
	evseq_route(&s, k1, 1);
	evseq_read(&s, p.ctx[0], 3); /* the fault: the pending count vanishes */
	evseq_assign(&s, p.ctx[0], k1, 0);
	evseq_assign(&s, p.ctx[1], k1, 1);
	evseq_task(&s, 1000, 1000);
	evseq_close(&s, CPRV_OBJ_KVM_VM, k0);
	evseq_task(&s, 2, 2);
	evseq_replay(&s, 1); /* KVM replays gsi 1 only: gsi 0's counter was empty */
	evseq_task(&s, 200, 201);
	evseq_write_fast(&s, p.ctx[0], 0);
	evseq_write_fast(&s, p.ctx[1], 1);
	evseq_stop(&s, 500 * EVSEQ_MS);
	struct cprv_analysis *a = run(&s);
	const struct cprv_totals *t = cprv_analysis_totals(a);

	assert_int_equal(t->held, 3);
	assert_int_equal(t->lost, 3);
	assert_int_equal(t->held_lost, 3);
	assert_int_equal(cprv_analysis_vector(a, 0)->lost, 3);
	assert_int_equal(cprv_analysis_vector(a, 1)->lost, 0);
	assert_int_equal(t->duplicates, 0);
	assert_true(chain_has(a, CPRV_CHAIN_LOST, "held by pid 1100"));
	assert_int_equal(rule(a, 4), CPRV_RULE_BROKEN);
	assert_int_equal(cprv_analysis_rules_broken(a), 1u << 3);
	cprv_analysis_free(a);
	evseq_free(&s);
}

/*
 * MSI-X masking: the irqfd is deassigned, QEMU reads the eventfd into its
 * PBA, and at unmask re-assigns and sends the MSI by hand. Nothing lost;
 * a later irqfd injection cannot cover held fires. pba-dropped: no
 * SIGNAL_MSI at unmask, and the held fires are lost.
 */
static void test_msix_mask_path(void **state)
{
	for (int dropped = 0; dropped < 2; dropped++) {
		struct evseq s;
		uint64_t ctx = evseq_ctx_addr(0, 0), kvm = evseq_kvm_addr(0);

		evseq_init(&s);
		setup_one(&s, ctx, kvm, 0);
		evseq_task(&s, 200, 201);
		evseq_write_fast(&s, ctx, 0);
		evseq_task(&s, 1000, 1001);
		evseq_deassign(&s, ctx, kvm, 0); /* guest masks */
		evseq_task(&s, 200, 201);
		evseq_write(&s, ctx);
		evseq_write(&s, ctx);
		evseq_task(&s, 1000, 1001);
		evseq_read(&s, ctx, 2);          /* into the PBA */
		evseq_task(&s, 200, 201);
		evseq_write(&s, ctx);
		evseq_task(&s, 1000, 1001);
		evseq_read(&s, ctx, 1);
		evseq_assign(&s, ctx, kvm, 0);   /* guest unmasks */
		if (!dropped)
			evseq_signal_msi(&s, kvm, 0);
		evseq_task(&s, 200, 201);
		evseq_write_fast(&s, ctx, 0);
		evseq_stop(&s, 500 * EVSEQ_MS);
		struct cprv_analysis *a = run(&s);
		const struct cprv_totals *t = cprv_analysis_totals(a);

		assert_int_equal(t->fires, 5);
		assert_int_equal(t->held, 3);
		assert_int_equal(t->lost, dropped ? 3 : 0);
		assert_int_equal(t->held_delivered, dropped ? 0 : 3);
		assert_int_equal(t->duplicates, 0);
		assert_int_equal(t->unattributed, 0);
		assert_int_equal(cprv_analysis_n_cycles(a), 0); /* a mask is not a CPR */
		assert_int_equal(rule(a, 4), dropped ? CPRV_RULE_BROKEN : CPRV_RULE_NOT_CHECKABLE);
		cprv_analysis_free(a);
		evseq_free(&s);
	}
}

/*
 * A masked MSI-X vector across the CPR: gsi 1 is masked 100 ms before the
 * update and unmasked 200 ms after it. Its mask window is not blackout:
 * the cycle spans gsi 0's detach to its re-attach only, and the held fires
 * are delivered by the hand injection at unmask.
 */
static void test_mask_straddling_cpr_is_not_blackout(void **state)
{
	struct evseq s;
	struct evseq_cpr p;
	uint64_t k0, k1 = evseq_kvm_addr(1), t_detach, t_attach;

	cpr_one(&s, &p, 0, 0);
	k0 = p.kvm;
	evseq_task(&s, 1000, 1000);
	evseq_deassign(&s, p.ctx[1], k0, 1);     /* guest masks gsi 1 */
	evseq_task(&s, 200, 201);
	evseq_write(&s, p.ctx[1]);
	evseq_task(&s, 1000, 1001);
	evseq_read(&s, p.ctx[1], 1);             /* into the PBA */
	evseq_advance(&s, 100 * EVSEQ_MS);
	evseq_task(&s, 1000, 1000);
	t_detach = evseq_deassign(&s, p.ctx[0], k0, 0); /* the CPR */
	evseq_task(&s, 200, 201);
	evseq_write(&s, p.ctx[0]);
	evseq_write(&s, p.ctx[1]);
	evseq_advance(&s, 10 * EVSEQ_MS);
	evseq_task(&s, 1100, 1100);
	evseq_vm_create(&s, k1);
	evseq_route(&s, k1, 0);
	evseq_route(&s, k1, 1);
	t_attach = evseq_assign(&s, p.ctx[0], k1, 0);
	evseq_task(&s, 10, 10);
	evseq_replay(&s, 0);
	evseq_task(&s, 1100, 1100);
	evseq_read(&s, p.ctx[1], 1);             /* the new VMM polls the masked vector */
	evseq_task(&s, 1000, 1000);
	evseq_exit(&s);                          /* the old QEMU goes */
	evseq_advance(&s, 200 * EVSEQ_MS);
	evseq_task(&s, 1100, 1100);
	evseq_assign(&s, p.ctx[1], k1, 1);       /* guest unmasks */
	evseq_signal_msi(&s, k1, 1);
	evseq_stop(&s, 500 * EVSEQ_MS);
	struct cprv_analysis *a = run(&s);
	const struct cprv_totals *t = cprv_analysis_totals(a);

	assert_int_equal(cprv_analysis_n_cycles(a), 1);
	assert_int_equal(cprv_analysis_cycle(a, 0)->start_ns, t_detach);
	assert_int_equal(cprv_analysis_cycle(a, 0)->end_ns, t_attach);
	assert_true(cprv_analysis_cycle(a, 0)->blackout_ns < 20 * EVSEQ_MS);
	assert_int_equal(cprv_analysis_cycle(a, 0)->blackout_fires, 2);
	assert_int_equal(t->lost, 0);
	assert_int_equal(t->duplicates, 0);
	assert_int_equal(t->held_delivered, 2);
	cprv_analysis_free(a);
	evseq_free(&s);
}

/* double-replay: a hand injection of every pending vector, then KVM's replay. */
static void test_double_replay(void **state)
{
	struct evseq s;
	struct evseq_cpr p;

	cpr_one(&s, &p, 2, 1);
	p.blackout[0] = 2;
	p.blackout[1] = 1;
	uint64_t k0 = p.kvm, k1 = evseq_kvm_addr(1);
	evseq_task(&s, 1000, 1000);
	evseq_deassign(&s, p.ctx[0], k0, 0);
	evseq_deassign(&s, p.ctx[1], k0, 1);
	evseq_task(&s, 200, 201);
	evseq_write(&s, p.ctx[0]);
	evseq_write(&s, p.ctx[0]);
	evseq_write(&s, p.ctx[1]);
	evseq_task(&s, 1000, 1000);
	evseq_exec(&s, "qemu-new");
	evseq_vm_create(&s, k1);
	evseq_route(&s, k1, 0);
	evseq_route(&s, k1, 1);
	evseq_signal_msi(&s, k1, 0);
	evseq_signal_msi(&s, k1, 1);
	evseq_assign(&s, p.ctx[0], k1, 0);
	evseq_assign(&s, p.ctx[1], k1, 1);
	evseq_task(&s, 2, 2);
	evseq_replay(&s, 0);
	evseq_replay(&s, 1);
	evseq_task(&s, 200, 201);
	evseq_write_fast(&s, p.ctx[0], 0);
	evseq_stop(&s, 500 * EVSEQ_MS);
	struct cprv_analysis *a = run(&s);
	const struct cprv_totals *t = cprv_analysis_totals(a);

	assert_int_equal(t->lost, 0);
	assert_int_equal(t->duplicates, 2);
	assert_int_equal(cprv_analysis_vector(a, 0)->duplicates, 1);
	assert_int_equal(cprv_analysis_vector(a, 1)->duplicates, 1);
	assert_int_equal(t->replay_races, 0);
	assert_int_equal(rule(a, 4), CPRV_RULE_HELD);
	assert_int_equal(rule(a, 6), CPRV_RULE_HELD); /* exec dropped the old VM */
	cprv_analysis_free(a);
	evseq_free(&s);
}

/*
 * LAPIC: the guest thread services vector 0x20 in VM 0; injections after
 * its last service are pending when the old QEMU closes the VM. Without a
 * carry-over they are lost; with KVM_SET_LAPIC on the new VM (bit set)
 * they are delivered.
 */
static void lapic_case(int carry, int via_msi, int thread_fork)
{
	struct evseq s;
	struct evseq_cpr p;
	const unsigned v0[] = { 0x20 }, both[] = { 0x20, 0x21 };

	cpr_one(&s, &p, 0, 0);
	uint64_t k0 = p.kvm, k1 = evseq_kvm_addr(1);
	evseq_task(&s, 1000, 1002);
	evseq_service(&s, k0, both, 2); /* serviced what came before */
	evseq_task(&s, 200, 201);
	evseq_write_fast(&s, p.ctx[0], 0);
	evseq_write_fast(&s, p.ctx[0], 0); /* pending: 2 fires, 2 injections */
	evseq_task(&s, 1000, 1000);
	/* the guest thread, as the classic fork tracepoint reports it: it
	 * must not become a holder that keeps VM 0 alive */
	if (thread_fork)
		evseq_add(&s, CPRV_EV_FORK, CPRV_FORK_MAYBE_THREAD, 0, 1003, 0, 0, 0);
	evseq_deassign(&s, p.ctx[0], k0, 0);
	evseq_deassign(&s, p.ctx[1], k0, 1);
	evseq_lapic(&s, CPRV_EV_KVM_GET_LAPIC, k0, v0, 1);
	evseq_task(&s, 1100, 1100);
	evseq_vm_create(&s, k1);
	evseq_route(&s, k1, 0);
	evseq_route(&s, k1, 1);
	if (carry && !via_msi)
		evseq_lapic(&s, CPRV_EV_KVM_SET_LAPIC, k1, v0, 1);
	evseq_assign(&s, p.ctx[0], k1, 0);
	evseq_assign(&s, p.ctx[1], k1, 1);
	evseq_task(&s, 1000, 1000);
	evseq_exit(&s);                  /* the old QEMU goes: VM 0 with it */
	if (carry && via_msi) {
		evseq_task(&s, 1100, 1100);
		evseq_signal_msi(&s, k1, 0); /* nothing to cover: a duplicate, but it carries */
	}
	evseq_task(&s, 1100, 1102);
	evseq_service(&s, k1, v0, carry ? 1 : 0);
	evseq_stop(&s, 500 * EVSEQ_MS);
	struct cprv_analysis *a = run(&s);
	const struct cprv_totals *t = cprv_analysis_totals(a);

	assert_true(t->lapic_checked);
	assert_int_equal(t->lost, carry ? 0 : 2);
	assert_int_equal(t->lapic_lost, carry ? 0 : 2);
	assert_int_equal(t->lapic_carried, carry ? 2 : 0);
	assert_int_equal(cprv_analysis_vector(a, 0)->lost, carry ? 0 : 2);
	assert_int_equal(cprv_analysis_vector(a, 0)->delivered, carry ? 7 : 5);
	assert_int_equal(cprv_analysis_cycle(a, 0)->lost, carry ? 0 : 2);
	assert_true(cprv_analysis_cycle(a, 0)->old_vm_gone);
	if (!carry) {
		assert_true(chain_has(a, CPRV_CHAIN_LOST, "covered by 2 injections of vector 32 accepted into VM 0xffffc90000a00000's LAPIC"));
		assert_true(chain_has(a, CPRV_CHAIN_LOST, "pid 1000 (qemu-old), exited"));
		assert_true(chain_has(a, CPRV_CHAIN_LOST, "LAPIC-lost: vector 32 never re-injected"));
		assert_true(rule_has(a, 4, "2 in a dead VM's LAPIC"));
	}
	assert_int_equal(rule(a, 4), carry ? CPRV_RULE_HELD : CPRV_RULE_BROKEN);
	if (carry)
		assert_true(rule_has(a, 4, "LAPIC IRR carried"));
	cprv_analysis_free(a);
	evseq_free(&s);
}

/*
 * cpr-exec where the kernel hands the new VM the old one's freed struct
 * kvm: the old VM dies in the exec, the new one has the same address. It
 * must still count as another VM: a cycle that succeeded, and what the old
 * LAPIC held carried (SET_LAPIC) or lost, never lost for the reuse alone.
 */
static void lapic_reused_address_case(int carry)
{
	struct evseq s;
	struct evseq_cpr p;
	const unsigned v0[] = { 0x20 }, both[] = { 0x20, 0x21 };

	cpr_one(&s, &p, 0, 0);
	uint64_t k = p.kvm;
	evseq_task(&s, 1000, 1002);
	evseq_service(&s, k, both, 2);
	evseq_task(&s, 200, 201);
	evseq_write_fast(&s, p.ctx[0], 0);
	evseq_write_fast(&s, p.ctx[0], 0);
	evseq_task(&s, 1000, 1000);
	evseq_deassign(&s, p.ctx[0], k, 0);
	evseq_deassign(&s, p.ctx[1], k, 1);
	evseq_lapic(&s, CPRV_EV_KVM_GET_LAPIC, k, v0, 1);
	evseq_exec(&s, "qemu-new");      /* the old VM dies here ... */
	evseq_vm_create(&s, k);          /* ... and its address is reused */
	evseq_route(&s, k, 0);
	evseq_route(&s, k, 1);
	if (carry)
		evseq_lapic(&s, CPRV_EV_KVM_SET_LAPIC, k, v0, 1);
	evseq_assign(&s, p.ctx[0], k, 0);
	evseq_assign(&s, p.ctx[1], k, 1);
	evseq_task(&s, 1000, 1002);
	evseq_service(&s, k, v0, carry ? 1 : 0);
	evseq_stop(&s, 500 * EVSEQ_MS);
	struct cprv_analysis *a = run(&s);
	const struct cprv_totals *t = cprv_analysis_totals(a);
	const struct cprv_cycle *cy = cprv_analysis_cycle(a, 0);

	assert_non_null(cy);
	assert_false(cy->failed);
	assert_int_equal(cy->new_vm, k);
	assert_true(cy->old_vm != k);
	assert_int_equal(cy->old_vm & 0xffffffffffffull, k & 0xffffffffffffull);
	assert_int_equal(t->lapic_lost, carry ? 0 : 2);
	assert_int_equal(t->lapic_carried, carry ? 2 : 0);
	assert_int_equal(t->lost, carry ? 0 : 2);
	if (!carry)
		assert_true(chain_has(a, CPRV_CHAIN_LOST, "exec'd (KVM fds are CLOEXEC)"));
	cprv_analysis_free(a);
	evseq_free(&s);
}

static void test_lapic_reused_vm_address(void **state)
{
	lapic_reused_address_case(1);
	lapic_reused_address_case(0);
}

static void test_lapic_lost(void **state)
{
	lapic_case(0, 0, 0);
	lapic_case(0, 0, 1);
}

static void test_lapic_carried(void **state)
{
	lapic_case(1, 0, 0);
	lapic_case(1, 1, 0);
	lapic_case(1, 0, 1);
}

/* Without LAPIC servicing in view nothing is claimed, and R4 says so. */
static void test_lapic_not_checkable(void **state)
{
	struct evseq s;
	struct evseq_cpr p;

	base_cpr(&s, &p, 0);
	evseq_stop(&s, 500 * EVSEQ_MS);
	struct cprv_analysis *a = run(&s);

	assert_false(cprv_analysis_totals(a)->lapic_checked);
	for (unsigned n = 1; n <= CPRV_RULES; n++)
		assert_int_equal(rule(a, n), CPRV_RULE_HELD);
	assert_true(rule_has(a, 4, "LAPIC IRR carry-over not checkable"));
	assert_int_equal(cprv_analysis_rules_broken(a), 0);
	cprv_analysis_free(a);

	/* no cycle: every rule not checkable */
	evseq_free(&s);
	evseq_init(&s);
	setup_one(&s, evseq_ctx_addr(0, 0), evseq_kvm_addr(0), 0);
	evseq_task(&s, 200, 201);
	evseq_write_fast(&s, evseq_ctx_addr(0, 0), 0);
	evseq_stop(&s, 500 * EVSEQ_MS);
	a = run(&s);
	for (unsigned n = 1; n <= CPRV_RULES; n++) {
		assert_int_equal(rule(a, n), CPRV_RULE_NOT_CHECKABLE);
		assert_true(rule_has(a, n, "no CPR cycle"));
	}
	cprv_analysis_free(a);
	evseq_free(&s);
}

/* new-eventfd: R1 (the device takes new fds) and R2 broken. */
static void test_rules_new_eventfd(void **state)
{
	struct evseq s;
	struct evseq_cpr p;

	base_cpr(&s, &p, 1);
	/* the device receives the new triggers just after the attach */
	evseq_task(&s, 200, 200);
	evseq_fd_recv(&s, CPRV_OBJ_EVENTFD, p.ctx[0]);
	evseq_stop(&s, 500 * EVSEQ_MS);
	struct cprv_analysis *a = run(&s);

	assert_int_equal(rule(a, 1), CPRV_RULE_BROKEN);
	assert_true(rule_has(a, 1, "received trigger eventfd ctx 0xffff888001010000"));
	assert_int_equal(rule(a, 2), CPRV_RULE_BROKEN);
	assert_int_equal(cprv_analysis_rule(a, 2)->breaks, 4);
	assert_true(rule_has(a, 2, "attached ctx 0xffff888001010000 to gsi 0"));
	assert_int_equal(rule(a, 3), CPRV_RULE_NOT_CHECKABLE); /* no old eventfd came back */
	assert_int_equal(rule(a, 4), CPRV_RULE_BROKEN);
	assert_int_equal(rule(a, 5), CPRV_RULE_HELD);
	assert_int_equal(rule(a, 6), CPRV_RULE_HELD);
	cprv_analysis_free(a);
	evseq_free(&s);
}

/* trigger-teardown: the device closes its trigger during the blackout. */
static void test_rules_trigger_teardown(void **state)
{
	struct evseq s;
	struct evseq_cpr p;

	memset(&p, 0, sizeof(p));
	p.nvec = 1;
	p.steady = 3;
	evseq_init(&s);
	evseq_cpr_start(&s, &p);
	evseq_task(&s, 1000, 1000);
	evseq_deassign(&s, p.ctx[0], p.kvm, 0);
	evseq_task(&s, 200, 201);
	evseq_close(&s, CPRV_OBJ_EVENTFD, p.ctx[0]);
	p.blackout[0] = 0;
	/* the rest of the cycle, re-attaching the same eventfd */
	evseq_task(&s, 1100, 1100);
	evseq_vm_create(&s, evseq_kvm_addr(1));
	evseq_route(&s, evseq_kvm_addr(1), 0);
	evseq_assign(&s, p.ctx[0], evseq_kvm_addr(1), 0);
	evseq_task(&s, 1000, 1000);
	evseq_close(&s, CPRV_OBJ_KVM_VM, p.kvm);
	evseq_stop(&s, 500 * EVSEQ_MS);
	struct cprv_analysis *a = run(&s);

	assert_int_equal(cprv_analysis_totals(a)->lost, 0);
	assert_int_equal(rule(a, 1), CPRV_RULE_BROKEN);
	assert_true(rule_has(a, 1, "closed that trigger eventfd"));
	assert_true(rule_has(a, 1, "host probes cannot see them"));
	assert_int_equal(cprv_analysis_rules_broken(a), 1u);
	cprv_analysis_free(a);
	evseq_free(&s);
}

/* A device shutting down closes its triggers: not a teardown, even inside a
 * window that never closes (a failed CPR without re-attach). */
static void test_rules_device_shutdown_is_not_teardown(void **state)
{
	struct evseq s;
	struct evseq_cpr p;

	memset(&p, 0, sizeof(p));
	p.nvec = 1;
	p.steady = 3;
	evseq_init(&s);
	evseq_cpr_start(&s, &p);
	evseq_task(&s, 1000, 1000);
	evseq_deassign(&s, p.ctx[0], p.kvm, 0);
	evseq_task(&s, 200, 201);
	evseq_close(&s, CPRV_OBJ_EVENTFD, p.ctx[0]);
	evseq_exit(&s);
	evseq_stop(&s, 500 * EVSEQ_MS);
	struct cprv_analysis *a = run(&s);

	assert_int_not_equal(rule(a, 1), CPRV_RULE_BROKEN);
	assert_int_equal(cprv_analysis_rule(a, 1)->breaks, 0);
	cprv_analysis_free(a);
	evseq_free(&s);
}

/* route-changed and swapped-vectors: R3 (and R2 for the swap). */
static void test_rules_routes(void **state)
{
	for (int swap = 0; swap < 2; swap++) {
		struct evseq s;
		struct evseq_cpr p;

		cpr_one(&s, &p, 0, 0);
		uint64_t k0 = p.kvm, k1 = evseq_kvm_addr(1);
		evseq_task(&s, 1000, 1000);
		evseq_deassign(&s, p.ctx[0], k0, 0);
		evseq_deassign(&s, p.ctx[1], k0, 1);
		evseq_task(&s, 1100, 1100);
		evseq_vm_create(&s, k1);
		if (swap) {
			evseq_route(&s, k1, 0);
			evseq_route(&s, k1, 1);
		} else {
			evseq_add(&s, CPRV_EV_KVM_ROUTE, 0, k1, 0, EVSEQ_MSI_ADDR, 0x60, 0);
			evseq_route(&s, k1, 1);
		}
		evseq_assign(&s, p.ctx[swap ? 1 : 0], k1, 0);
		evseq_assign(&s, p.ctx[swap ? 0 : 1], k1, 1);
		evseq_task(&s, 1000, 1000);
		evseq_close(&s, CPRV_OBJ_KVM_VM, k0);
		evseq_stop(&s, 500 * EVSEQ_MS);
		struct cprv_analysis *a = run(&s);

		assert_int_equal(rule(a, 3), CPRV_RULE_BROKEN);
		assert_int_equal(cprv_analysis_rule(a, 3)->breaks, swap ? 2 : 1);
		assert_true(rule_has(a, 3, swap ? "data 0x21" : "data 0x60"));
		assert_int_equal(cprv_analysis_rules_broken(a), swap ? 0x6u : 0x4u);
		cprv_analysis_free(a);
		evseq_free(&s);
	}
}

/* old-vm-kept: the old QEMU keeps its irqfds: every fire is injected twice. */
static void test_rules_old_vm_kept(void **state)
{
	struct evseq s;
	struct evseq_cpr p;

	cpr_one(&s, &p, 0, 0);
	uint64_t k0 = p.kvm, k1 = evseq_kvm_addr(1);
	evseq_task(&s, 1100, 1100);
	evseq_vm_create(&s, k1);
	evseq_route(&s, k1, 0);
	evseq_route(&s, k1, 1);
	evseq_assign(&s, p.ctx[0], k1, 0);
	evseq_assign(&s, p.ctx[1], k1, 1);
	evseq_task(&s, 200, 201);
	for (int i = 0; i < 3; i++) {
		evseq_write_fast(&s, p.ctx[0], 0);
		evseq_msi(&s, CPRV_CTX_EVENTFD_WRITE, p.ctx[0], 0, 0, 1);
	}
	evseq_stop(&s, 1000 * EVSEQ_MS); /* past R6's 750 ms grace */
	(void)k0;
	struct cprv_analysis *a = run(&s);

	assert_int_equal(cprv_analysis_totals(a)->duplicates, 3);
	assert_int_equal(cprv_analysis_n_cycles(a), 1);
	assert_int_equal(rule(a, 5), CPRV_RULE_BROKEN);
	assert_int_equal(cprv_analysis_rule(a, 5)->breaks, 2);
	assert_true(rule_has(a, 5, "two irqfds inject every fire"));
	assert_int_equal(rule(a, 6), CPRV_RULE_BROKEN);
	assert_true(rule_has(a, 6, "pid 1000 (qemu-old) still holds VM 0xffffc90000a00000"));
	assert_int_equal(cprv_analysis_rules_broken(a), (1u << 4) | (1u << 5));
	cprv_analysis_free(a);
	evseq_free(&s);
}

/*
 * Failed CPR: everything detached, the new VMM dies, the old one re-attaches
 * in the same VM: a cycle with failed = true (and R6 does not apply).
 * Without the re-attach every fire after the detach is lost.
 */
static void test_failed_cpr(void **state)
{
	for (int reattach = 0; reattach < 2; reattach++) {
		struct evseq s;
		struct evseq_cpr p;

		cpr_one(&s, &p, 0, 0);
		uint64_t k0 = p.kvm;
		evseq_task(&s, 1000, 1000);
		evseq_deassign(&s, p.ctx[0], k0, 0);
		evseq_deassign(&s, p.ctx[1], k0, 1);
		evseq_task(&s, 200, 201);
		evseq_write(&s, p.ctx[0]);
		evseq_write(&s, p.ctx[1]);
		evseq_task(&s, 1100, 1100);
		evseq_exit(&s); /* the new VMM died */
		evseq_task(&s, 1000, 1000);
		if (reattach) {
			evseq_assign(&s, p.ctx[0], k0, 0);
			evseq_assign(&s, p.ctx[1], k0, 1);
			evseq_task(&s, 2, 2);
			evseq_replay(&s, 0);
			evseq_replay(&s, 1);
		}
		evseq_stop(&s, 500 * EVSEQ_MS);
		struct cprv_analysis *a = run(&s);

		assert_int_equal(cprv_analysis_n_cycles(a), 1);
		const struct cprv_cycle *cy = cprv_analysis_cycle(a, 0);
		assert_int_equal(cy->failed, reattach);
		assert_int_equal(cy->complete, reattach);
		assert_int_equal(cprv_analysis_totals(a)->lost, reattach ? 0 : 2);
		assert_int_equal(cprv_analysis_totals(a)->duplicates, 0);
		assert_int_equal(cprv_analysis_rules_broken(a), reattach ? 0 : 1u << 3);
		if (reattach) {
			assert_int_equal(rule(a, 2), CPRV_RULE_HELD);
			assert_int_equal(rule(a, 3), CPRV_RULE_HELD);
			assert_int_equal(rule(a, 6), CPRV_RULE_NOT_CHECKABLE);
		}
		cprv_analysis_free(a);
		evseq_free(&s);
	}
}

/* An irqfd plus a user-space reader taking fires: two consumers (R5). */
static void test_rules_reader_and_irqfd(void **state)
{
	struct evseq s;
	struct evseq_cpr p;

	base_cpr(&s, &p, 0);
	evseq_task(&s, 1100, 1100);
	evseq_read(&s, p.ctx[2], 1);
	evseq_read(&s, p.ctx[2], 0); /* EAGAIN takes nothing */
	evseq_stop(&s, 500 * EVSEQ_MS);
	struct cprv_analysis *a = run(&s);

	assert_int_equal(rule(a, 5), CPRV_RULE_BROKEN);
	assert_int_equal(cprv_analysis_rule(a, 5)->breaks, 1);
	assert_true(rule_has(a, 5, "while an irqfd consumed it too: gsi 2"));
	cprv_analysis_free(a);
	evseq_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cpr_preserved),
		cmocka_unit_test(test_cpr_new_eventfds_lost),
		cmocka_unit_test(test_duplicate_replay),
		cmocka_unit_test(test_other_vm_workqueue),
		cmocka_unit_test(test_replay_leaves_count),
		cmocka_unit_test(test_attempt_not_injection),
		cmocka_unit_test(test_attempt_blind_accept),
		cmocka_unit_test(test_ambiguous_replay),
		cmocka_unit_test(test_ambiguous_nothing_waiting),
		cmocka_unit_test(test_kernel_fire_source),
		cmocka_unit_test(test_write_signal_merged),
		cmocka_unit_test(test_signal_msi_and_route),
		cmocka_unit_test(test_unattributed),
		cmocka_unit_test(test_two_cycles),
		cmocka_unit_test(test_in_flight_then_lost),
		cmocka_unit_test(test_fire_before_bind),
		cmocka_unit_test(test_address_reuse),
		cmocka_unit_test(test_pending_cap),
		cmocka_unit_test(test_reattach_same_vm_no_cycle),
		cmocka_unit_test(test_mark_starts_cycle),
		cmocka_unit_test(test_replay_race),
		cmocka_unit_test(test_replay_race_tracepoints_only),
		cmocka_unit_test(test_replay_normal_order),
		cmocka_unit_test(test_replay_second_kworker_duplicate),
		cmocka_unit_test(test_replay_unarmed_duplicate),
		cmocka_unit_test(test_replay_signal_msi_duplicate),
		cmocka_unit_test(test_replay_irqfd_tag_by_tid),
		cmocka_unit_test(test_drain_before_attach),
		cmocka_unit_test(test_msix_mask_path),
		cmocka_unit_test(test_mask_straddling_cpr_is_not_blackout),
		cmocka_unit_test(test_double_replay),
		cmocka_unit_test(test_lapic_lost),
		cmocka_unit_test(test_lapic_carried),
		cmocka_unit_test(test_lapic_reused_vm_address),
		cmocka_unit_test(test_lapic_not_checkable),
		cmocka_unit_test(test_rules_new_eventfd),
		cmocka_unit_test(test_rules_trigger_teardown),
		cmocka_unit_test(test_rules_device_shutdown_is_not_teardown),
		cmocka_unit_test(test_rules_routes),
		cmocka_unit_test(test_rules_old_vm_kept),
		cmocka_unit_test(test_failed_cpr),
		cmocka_unit_test(test_rules_reader_and_irqfd),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

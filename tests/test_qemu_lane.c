// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The QEMU lane's library side: CPR phases from driver marks, uprobes and
 * plumbing; the driver's outcome file; the verdict it feeds; the gate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "drive.h"
#include "evseq.h"
#include "gate.h"
#include "plan.h"
#include "verdict.h"

#define OLD_PID 100
#define NEW_PID 200
#define DRIVER 50

static void drive_mark(struct evseq *s, unsigned kind, unsigned phase, unsigned cycle,
		       unsigned flags, uint32_t pid)
{
	evseq_task(s, DRIVER, DRIVER);
	evseq_add(s, CPRV_EV_UPROBE, 0, 0, CPRV_UFN_DRIVE_MARK,
		  CPRV_DRIVE_WHAT(kind, phase, cycle, flags), pid, 0);
}

static void qemu_fn(struct evseq *s, uint32_t pid, int ufn)
{
	evseq_task(s, pid, pid);
	evseq_add(s, CPRV_EV_UPROBE, 0, 0, ufn, 0, 0, 0);
}

/*
 * One cpr-transfer as QEMU 11.1 does it (the order measured in L1): the new
 * QEMU waits in cpr_state_load, the old one saves state and sends fds, the
 * new one creates its VM, finds the fds, sets routes, the old VM stops,
 * the new one starts. skip_find: a build that never finds its fds.
 */
static void one_transfer(struct evseq *s, unsigned cycle, uint32_t old, uint32_t nw,
			 uint64_t old_kvm, uint64_t new_kvm, bool skip_find, bool fail)
{
	drive_mark(s, CPRV_MARK_CPR_BEGIN, 0, cycle, 0, old);
	evseq_advance(s, 5 * EVSEQ_MS);
	qemu_fn(s, nw, CPRV_UFN_CPR_STATE_LOAD);
	qemu_fn(s, nw, CPRV_UFN_CPR_FIND_FD); /* before setup: start-up, not the update */
	evseq_advance(s, 5 * EVSEQ_MS);
	qemu_fn(s, old, CPRV_UFN_CPR_STATE_SAVE);
	evseq_add(s, CPRV_EV_FD_SEND, CPRV_OBJ_MEMFD, 0x1234, 7, 0, 0, 0);
	if (fail) {
		evseq_advance(s, 10 * EVSEQ_MS);
		drive_mark(s, CPRV_MARK_CPR_END, 0, cycle, CPRV_DRIVE_F_FAILED, old);
		return;
	}
	evseq_task(s, nw, nw);
	evseq_vm_create(s, new_kvm);
	evseq_advance(s, 2 * EVSEQ_MS);
	if (!skip_find)
		qemu_fn(s, nw, CPRV_UFN_CPR_FIND_FD);
	evseq_task(s, nw, nw);
	evseq_add(s, CPRV_EV_KVM_ROUTING, 0, new_kvm, 24, 0, 0, 0);
	evseq_advance(s, 20 * EVSEQ_MS);
	qemu_fn(s, old, CPRV_UFN_VM_STOP_FORCE);
	evseq_advance(s, 30 * EVSEQ_MS);
	qemu_fn(s, nw, CPRV_UFN_VM_START);
	drive_mark(s, CPRV_MARK_PHASE, CPRV_PHASE_RUNNING, cycle, 0, nw);
	evseq_advance(s, 1 * EVSEQ_MS);
	evseq_task(s, old, old);
	evseq_close(s, CPRV_OBJ_KVM_VM, old_kvm);
	evseq_exit(s);
	drive_mark(s, CPRV_MARK_CPR_END, 0, cycle, 0, nw);
	evseq_advance(s, 100 * EVSEQ_MS);
}

static struct cprv_analysis *analyse(struct evseq *s)
{
	struct cprv_analysis_opts o = { 0 };
	struct cprv_analysis *a;

	for (unsigned t = 0; t < CPRV_EV_MAX; t++)
		cprv_visibility_set(&o.vis, t, true, NULL);
	a = cprv_analysis_new(&o);
	assert_non_null(a);
	for (size_t i = 0; i < s->n; i++)
		assert_int_equal(cprv_analysis_feed(a, &s->ev[i]), 0);
	assert_int_equal(cprv_analysis_finish(a), 0);
	return a;
}

/* cycles transfers from pid 100, 101, ...; skip_find / fail on cycle `bad` */
static struct cprv_analysis *qemu_run(unsigned cycles, unsigned bad, bool skip_find, bool fail)
{
	struct evseq s;
	struct cprv_analysis *a;

	evseq_init(&s);
	evseq_task(&s, OLD_PID, OLD_PID);
	evseq_vm_create(&s, evseq_kvm_addr(0));
	evseq_advance(&s, 50 * EVSEQ_MS);
	for (unsigned c = 1; c <= cycles; c++) {
		one_transfer(&s, c, OLD_PID + c - 1, OLD_PID + c, evseq_kvm_addr(c - 1),
			     evseq_kvm_addr(c), skip_find && c == bad, fail && c == bad);
		if (fail && c == bad)
			break;
	}
	evseq_stop(&s, 1000 * EVSEQ_MS);
	a = analyse(&s);
	evseq_free(&s);
	return a;
}

static void phases_in_order(void **state)
{
	struct cprv_analysis *a = qemu_run(2, 0, false, false);
	const struct cprv_cycle *cy;

	assert_int_equal(cprv_analysis_n_cycles(a), 2);
	for (size_t i = 0; i < 2; i++) {
		cy = cprv_analysis_cycle(a, i);
		assert_true(cy->driven);
		assert_int_equal(cy->number, i + 1);
		assert_true(cy->complete);
		assert_int_equal(cy->old_pid, OLD_PID + i);
		for (unsigned p = 0; p < CPRV_PHASES; p++)
			if (!cy->phase_ns[p])
				fail_msg("cycle %zu: phase %s not seen", i + 1, cprv_phase_name(p));
		/* the start-up cpr_find_fd (before setup) is not "fds found" */
		assert_true(cy->phase_ns[CPRV_PHASE_FDS_FOUND] > cy->phase_ns[CPRV_PHASE_SETUP]);
		assert_int_equal(cy->phase_src[CPRV_PHASE_OLD_STOPPED], CPRV_PHASE_SRC_UPROBE);
		assert_int_equal(cy->phase_src[CPRV_PHASE_NEW_VM], CPRV_PHASE_SRC_KERNEL);
		assert_int_equal(cy->phase_pid[CPRV_PHASE_NEW_VM], OLD_PID + i + 1);
		/* stop -> start: 30 ms, plus the one event tick between */
		assert_true(cy->vm_blackout_ns >= 30 * EVSEQ_MS && cy->vm_blackout_ns < 31 * EVSEQ_MS);
		assert_int_equal(cy->blackout_ns, cy->vm_blackout_ns);
		assert_int_equal(cy->old_vm, evseq_kvm_addr(i));
		assert_int_equal(cy->new_vm, evseq_kvm_addr(i + 1));
	}
	assert_int_equal(cprv_analysis_totals(a)->uprobe_hits[CPRV_UFN_DRIVE_MARK], 6);
	assert_int_equal(cprv_analysis_rule(a, 6)->state, CPRV_RULE_HELD);
	/* no device: vector rules cannot hold on anything */
	assert_int_equal(cprv_analysis_rule(a, 1)->state, CPRV_RULE_NOT_CHECKABLE);
	assert_int_equal(cprv_analysis_rule(a, 4)->state, CPRV_RULE_NOT_CHECKABLE);
	cprv_analysis_free(a);
}

static void failed_cycle_closes_incomplete(void **state)
{
	struct cprv_analysis *a = qemu_run(2, 1, false, true);
	const struct cprv_cycle *cy;

	assert_int_equal(cprv_analysis_n_cycles(a), 1);
	cy = cprv_analysis_cycle(a, 0);
	assert_true(cy->driver_failed);
	assert_false(cy->complete);
	assert_int_equal(cy->phase_ns[CPRV_PHASE_RUNNING], 0);
	assert_int_equal(cy->vm_blackout_ns, 0);
	cprv_analysis_free(a);
}

static void fill_drive(struct cprv_drive *d, unsigned n, unsigned bad)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->qemu, sizeof(d->qemu), "/q/qemu-11.1");
	snprintf(d->qemu_version, sizeof(d->qemu_version), "11.1.3");
	snprintf(d->mode, sizeof(d->mode), "transfer");
	d->cycles_planned = n;
	d->heartbeat_start = 100;
	for (unsigned i = 0; i < n; i++) {
		struct cprv_drive_cycle *c = &d->cycles[d->n_cycles++];

		c->cycle = i + 1;
		c->ok = i + 1 != bad;
		c->old_pid = OLD_PID + i;
		c->new_pid = OLD_PID + i + 1;
		c->hb_before = 1000 * (i + 1);
		c->hb_after = c->ok ? c->hb_before + 50 : 0;
		snprintf(c->old_qemu, sizeof(c->old_qemu), c->ok ? "quit" : "running");
		if (!c->ok) {
			snprintf(c->why, sizeof(c->why), "the migration failed: Failed to connect");
			break;
		}
	}
	d->heartbeat_end = bad ? 0 : 1000 * (n + 1);
}

static void drive_file_round_trip_and_bad_input(void **state)
{
	char path[] = "/tmp/cprv-drive-XXXXXX", err[256];
	struct cprv_drive d, back;
	int fd = mkstemp(path);
	FILE *f;

	assert_true(fd >= 0);
	close(fd);
	fill_drive(&d, 3, 2);
	assert_int_equal(cprv_drive_save(path, &d, err, sizeof(err)), 0);
	assert_int_equal(cprv_drive_load(path, &back, err, sizeof(err)), 0);
	assert_int_equal(back.n_cycles, 2);
	assert_string_equal(back.qemu_version, "11.1.3");
	assert_false(back.cycles[1].ok);
	assert_string_equal(back.cycles[1].why, d.cycles[1].why);
	assert_int_equal(back.cycles[0].hb_after, 1050);
	/* malformed: each gets a message naming the file and the field */
	f = fopen(path, "w");
	fputs("{\"format\":\"cprv-qemu-run\",\"version\":1,\"qemu\":3}", f);
	fclose(f);
	assert_int_equal(cprv_drive_load(path, &back, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "field 'qemu' missing or not a string"));
	f = fopen(path, "w");
	fputs("{\"format\":\"cprv-trace\"", f);
	fclose(f);
	assert_int_equal(cprv_drive_load(path, &back, err, sizeof(err)), -1);
	assert_non_null(strstr(err, path));
	unlink(path);
}

static void verdict_from_the_driver(void **state)
{
	struct cprv_analysis *a = qemu_run(3, 0, false, false), *af = qemu_run(3, 2, false, true);
	struct cprv_verdict v;
	struct cprv_drive d;

	fill_drive(&d, 3, 0);
	assert_int_equal(cprv_verdict_judge_ex(&v, a, NULL, CPRV_VERDICT_NO_DEVICE), 0);
	assert_int_equal(cprv_verdict_drive(&v, a, &d), 0);
	assert_int_equal(v.result, CPRV_RESULT_PASS);
	cprv_verdict_free(&v);
	/* without the no-device flag, no fires means no verdict */
	assert_int_equal(cprv_verdict_judge_ex(&v, a, NULL, 0), 0);
	assert_int_equal(v.result, CPRV_RESULT_UNJUDGED);
	cprv_verdict_free(&v);
	/* a heartbeat that stopped fails */
	d.cycles[1].hb_after = d.cycles[1].hb_before;
	assert_int_equal(cprv_verdict_judge_ex(&v, a, NULL, CPRV_VERDICT_NO_DEVICE), 0);
	assert_int_equal(cprv_verdict_drive(&v, a, &d), 0);
	assert_int_equal(v.result, CPRV_RESULT_FAIL);
	assert_non_null(strstr(v.reasons[0], "heartbeat did not go on"));
	cprv_verdict_free(&v);
	/* a failed update fails and says why and what became of the old QEMU */
	fill_drive(&d, 3, 2);
	assert_int_equal(cprv_verdict_judge_ex(&v, af, NULL, CPRV_VERDICT_NO_DEVICE), 0);
	assert_int_equal(cprv_verdict_drive(&v, af, &d), 0);
	assert_int_equal(v.result, CPRV_RESULT_FAIL);
	assert_non_null(strstr(v.reasons[0], "cpr-transfer #2 failed: the migration failed"));
	assert_non_null(strstr(v.reasons[0], "old QEMU: running"));
	cprv_verdict_free(&v);
	/* a driver that could not start QEMU: not a pass, not a fail */
	memset(&d, 0, sizeof(d));
	d.cycles_planned = 3;
	snprintf(d.error, sizeof(d.error), "starting QEMU: no such file");
	assert_int_equal(cprv_verdict_judge_ex(&v, a, NULL, CPRV_VERDICT_NO_DEVICE), 0);
	assert_int_equal(cprv_verdict_drive(&v, a, &d), 0);
	assert_int_equal(v.result, CPRV_RESULT_UNJUDGED);
	cprv_verdict_free(&v);
	cprv_analysis_free(a);
	cprv_analysis_free(af);
}

static const struct cprv_gate_check *gcheck(const struct cprv_gate *g, const char *name)
{
	for (size_t i = 0; i < g->n; i++)
		if (!strcmp(g->checks[i].name, name))
			return &g->checks[i];
	fail_msg("no gate check %s", name);
	return NULL;
}

static void gate_compares(void **state)
{
	struct cprv_analysis *ra = qemu_run(2, 0, false, false), *ca = qemu_run(2, 0, false, false);
	struct cprv_analysis *skip = qemu_run(2, 2, true, false), *fail = qemu_run(2, 1, false, true);
	struct cprv_drive rd, cd, fd;
	struct cprv_verdict rv, cv, sv, fv;
	struct cprv_gate_tol tol;
	struct cprv_gate g;
	struct cprv_gate_side r = { "reference", "11.1", ra, &rv, &rd, NULL };
	struct cprv_gate_side c = { "candidate", "11.1", ca, &cv, &cd, NULL };
	char path[] = "/tmp/cprv-junit-XXXXXX", buf[8192] = "";
	int fdn;
	FILE *f;

	cprv_gate_tol_defaults(&tol);
	fill_drive(&rd, 2, 0);
	fill_drive(&cd, 2, 0);
	fill_drive(&fd, 2, 1);
	cprv_verdict_judge_ex(&rv, ra, NULL, CPRV_VERDICT_NO_DEVICE);
	cprv_verdict_drive(&rv, ra, &rd);
	cprv_verdict_judge_ex(&cv, ca, NULL, CPRV_VERDICT_NO_DEVICE);
	cprv_verdict_drive(&cv, ca, &cd);
	cprv_gate_compare(&g, &c, &r, &tol);
	assert_int_equal(g.result, CPRV_GATE_PASS);
	assert_int_equal(cprv_gate_exit_code(&g), 0);
	assert_int_equal(gcheck(&g, "phases")->status, CPRV_GATE_PASS);
	assert_int_equal(gcheck(&g, "lost")->status, CPRV_GATE_SKIPPED);
	assert_int_equal(gcheck(&g, "rule R6")->status, CPRV_GATE_PASS);

	/* a build that never finds its fds: the phase is missing */
	cprv_verdict_judge_ex(&sv, skip, NULL, CPRV_VERDICT_NO_DEVICE);
	c.a = skip;
	c.v = &sv;
	cprv_gate_compare(&g, &c, &r, &tol);
	assert_int_equal(g.result, CPRV_GATE_FAIL);
	assert_int_equal(gcheck(&g, "phases")->status, CPRV_GATE_FAIL);
	assert_non_null(strstr(gcheck(&g, "phases")->detail, "update #2: phase fds_found"));

	/* a failed update: named in "updates" */
	cprv_verdict_judge_ex(&fv, fail, NULL, CPRV_VERDICT_NO_DEVICE);
	cprv_verdict_drive(&fv, fail, &fd);
	c.a = fail;
	c.v = &fv;
	c.d = &fd;
	cprv_gate_compare(&g, &c, &r, &tol);
	assert_int_equal(cprv_gate_exit_code(&g), 1);
	assert_int_equal(gcheck(&g, "updates")->status, CPRV_GATE_FAIL);
	assert_non_null(strstr(gcheck(&g, "updates")->detail, "the migration failed"));
	assert_int_equal(gcheck(&g, "blackout")->status, CPRV_GATE_FAIL);

	/* a build that cannot even run the scenario the reference runs: fails */
	memset(&fd, 0, sizeof(fd));
	fd.cycles_planned = 2;
	snprintf(fd.mode, sizeof(fd.mode), "transfer");
	snprintf(fd.error, sizeof(fd.error), "the guest did not come up");
	c.d = &fd;
	cprv_gate_compare(&g, &c, &r, &tol);
	assert_int_equal(gcheck(&g, "updates")->status, CPRV_GATE_FAIL);
	assert_non_null(strstr(gcheck(&g, "updates")->detail, "could not run the scenario"));

	/* a reference that does not pass: the gate cannot judge */
	cprv_gate_compare(&g, &r, &c, &tol);
	assert_int_equal(gcheck(&g, "reference verdict")->status, CPRV_GATE_UNJUDGED);

	/* JUnit: one test case per check, failures as <failure>, escaped */
	cprv_gate_compare(&g, &c, &r, &tol);
	fdn = mkstemp(path);
	assert_true(fdn >= 0);
	f = fdopen(fdn, "w+");
	assert_int_equal(cprv_gate_junit(f, &g, "gate <&>"), 0);
	rewind(f);
	assert_true(fread(buf, 1, sizeof(buf) - 1, f) > 0);
	fclose(f);
	unlink(path);
	assert_non_null(strstr(buf, "name=\"gate &lt;&amp;&gt;\""));
	assert_non_null(strstr(buf, "<failure message=\""));
	assert_non_null(strstr(buf, "<skipped message=\""));
	{
		char want[64];

		snprintf(want, sizeof(want), "tests=\"%zu\"", g.n);
		assert_non_null(strstr(buf, want));
	}
	cprv_verdict_free(&rv);
	cprv_verdict_free(&cv);
	cprv_verdict_free(&sv);
	cprv_verdict_free(&fv);
	cprv_analysis_free(ra);
	cprv_analysis_free(ca);
	cprv_analysis_free(skip);
	cprv_analysis_free(fail);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(phases_in_order),
		cmocka_unit_test(failed_cycle_closes_incomplete),
		cmocka_unit_test(drive_file_round_trip_and_bad_input),
		cmocka_unit_test(verdict_from_the_driver),
		cmocka_unit_test(gate_compares),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

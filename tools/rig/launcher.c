/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The launcher: forks the device and the first VMM, triggers each CPR on
 * schedule (starting the incoming VMM first in transfer mode, as an operator
 * starts the new QEMU with -incoming), stops the device, and writes the
 * ground truth. It watches every child: any unplanned death or a missed
 * deadline ends the run with a message and RIG_EXIT_FAIL.
 */
#include "rig.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define ROLE "launcher"
#define MAX_CHILDREN (2 + CPRV_SCENARIO_MAX_CYCLES)

struct child {
	pid_t pid;
	char role[16];
	bool may_exit; /* an exit with status 0 is planned */
	/* the old VMM of this cycle (transfer): it quits on its own once the
	 * new one runs, which may be before the launcher sees the cycle done */
	uint32_t quits_after_cycle;
	bool gone;
};

struct launch {
	struct rig_ctl *c;
	struct rig_fire *log;
	size_t log_bytes;
	struct child ch[MAX_CHILDREN];
	int nch;
	struct child *vmm; /* the live VMM */
	struct child *kept; /* old-vm-kept: the old VMM that stays */
	struct child *dev;
};

static void cleanup(struct launch *l)
{
	char path[256];

	for (uint32_t k = 1; k <= l->c->scn.cycles; k++) {
		snprintf(path, sizeof(path), "%s/cpr-%u.sock", l->c->sock_dir, k);
		unlink(path);
	}
	rmdir(l->c->sock_dir);
}

__attribute__((format(printf, 2, 3), noreturn))
static void fail(struct launch *l, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rig_log(l->c, ROLE, "error: %s", msg);
	if (l->c->error[0])
		rig_log(l->c, ROLE, "first error reported by a child: %s", l->c->error);
	/* Only our own children, by pid. */
	for (int i = 0; i < l->nch; i++)
		if (!l->ch[i].gone) {
			kill(l->ch[i].pid, SIGKILL);
			waitpid(l->ch[i].pid, NULL, 0);
		}
	cleanup(l);
	fprintf(stderr, "cprv-rig: run FAILED: %s\n", msg);
	exit(RIG_EXIT_FAIL);
}

static struct child *add_child(struct launch *l, pid_t pid, const char *role)
{
	struct child *ch = &l->ch[l->nch++];

	ch->pid = pid;
	snprintf(ch->role, sizeof(ch->role), "%s", role);
	return ch;
}

/* The cycle this VMM hands over in is done and did not fail: its exit is
 * the planned end of an old VMM. */
static bool quit_planned(const struct rig_ctl *c, uint32_t cycle)
{
	return cycle && RIG_LOAD(&c->cycle_done) >= cycle && !c->cyc[cycle].failed;
}

static void reap(struct launch *l)
{
	int st;
	pid_t pid;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		struct child *ch = NULL;

		for (int i = 0; i < l->nch; i++)
			if (l->ch[i].pid == pid)
				ch = &l->ch[i];
		if (!ch)
			continue;
		ch->gone = true;
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0 &&
		    (ch->may_exit || quit_planned(l->c, ch->quits_after_cycle)))
			continue;
		if (WIFSIGNALED(st))
			fail(l, "%s (pid %d) was killed by signal %d (%s)", ch->role, pid,
			     WTERMSIG(st), strsignal(WTERMSIG(st)));
		fail(l, "%s (pid %d) exited with status %d%s", ch->role, pid, WEXITSTATUS(st),
		     ch->may_exit ? "" : " before its time");
	}
}

/* Sleep until t, watching the children. */
static void idle_until(struct launch *l, uint64_t t)
{
	while (rig_now() < t) {
		uint64_t next = rig_now() + 1000000ull;

		reap(l);
		rig_sleep_until(next < t ? next : t);
	}
	reap(l);
}

static void await(struct launch *l, const uint32_t *flag, uint32_t value, uint32_t timeout_ms,
		  const char *what)
{
	uint64_t deadline = rig_now() + (uint64_t)timeout_ms * 1000000ull;

	while (RIG_LOAD(flag) < value) {
		if (rig_now() > deadline)
			fail(l, "timed out after %u ms waiting for %s", timeout_ms, what);
		idle_until(l, rig_now() + 1000000ull);
	}
}

static void await_exit(struct launch *l, struct child *ch, uint32_t timeout_ms)
{
	uint64_t deadline = rig_now() + (uint64_t)timeout_ms * 1000000ull;

	ch->may_exit = true;
	while (!ch->gone) {
		if (rig_now() > deadline)
			fail(l, "timed out after %u ms waiting for %s (pid %d) to exit", timeout_ms,
			     ch->role, ch->pid);
		idle_until(l, rig_now() + 1000000ull);
	}
}

static struct child *spawn_incoming(struct launch *l, uint32_t cycle)
{
	char num[16];
	pid_t pid;

	snprintf(num, sizeof(num), "%u", cycle);
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		fail(l, "fork: %s", strerror(errno));
	if (pid == 0) {
		execl("/proc/self/exe", "cprv-rig", "incoming", "--cycle", num, (char *)NULL);
		fprintf(stderr, "cprv-rig: exec /proc/self/exe incoming: %s\n", strerror(errno));
		_exit(RIG_EXIT_FAIL);
	}
	struct child *ch = add_child(l, pid, "vmm-new");

	/* --fail-cpr: this one is meant to die before it attaches. */
	ch->may_exit = l->c->scn.fail_cpr && cycle == 1;
	return ch;
}

/* next: the incoming VMM (transfer), started ahead so the CPR starts on time. */
static void run_cycle(struct launch *l, uint32_t k, struct child *next)
{
	struct rig_ctl *c = l->c;
	char what[64];

	if (next) {
		snprintf(what, sizeof(what), "the incoming VMM of cycle %u to listen", k);
		await(l, &c->listening, k, RIG_TIMEOUT_MS, what);
	}
	rig_log(c, ROLE, "cycle %u: CPR (%s) requested at %llu fires", k,
		cprv_mode_name(c->scn.mode), (unsigned long long)RIG_LOAD(&c->nfires));
	if (next && c->scn.fault != CPRV_FAULT_OLD_VM_KEPT)
		l->vmm->quits_after_cycle = k;
	RIG_STORE(&c->cpr_request, k);
	snprintf(what, sizeof(what), "cycle %u to complete", k);
	await(l, &c->cycle_done, k, c->scn.blackout_ms + c->scn.late_ms + RIG_TIMEOUT_MS, what);
	if (c->cyc[k].failed) {
		/* The old VMM carries on; the incoming one is gone (transfer) or never was. */
		if (next)
			await_exit(l, next, RIG_TIMEOUT_MS);
	} else if (next && c->scn.fault == CPRV_FAULT_OLD_VM_KEPT) {
		l->kept = l->vmm;
		l->vmm = next;
	} else if (next) {
		/* The old QEMU quits once the new one runs. */
		await_exit(l, l->vmm, RIG_TIMEOUT_MS);
		l->vmm = next;
	}
	rig_log(c, ROLE, "cycle %u: complete at %llu fires", k,
		(unsigned long long)RIG_LOAD(&c->nfires));
}

static uint32_t irr_missing(const uint32_t irr[8], const struct rig_ctl *c)
{
	uint32_t missing = 0;

	for (uint32_t v = 0; v < c->scn.vectors; v++) {
		uint32_t vec = c->routes[v].data & 0xff;

		if (!(irr[vec / 32] & (1u << (vec % 32))))
			missing++;
	}
	return missing;
}

static int self_check(struct launch *l)
{
	struct rig_ctl *c = l->c;
	uint32_t m_old = irr_missing(c->irr_old, c), m_new = irr_missing(c->irr_new, c);

	uint32_t fresh = 0;

	if (!c->irr_old_valid || !c->irr_new_valid || !c->irr_fresh_valid) {
		rig_log(c, ROLE, "self-check: LAPIC IRR was not read (old %u, fresh %u, final %u)",
			c->irr_old_valid, c->irr_fresh_valid, c->irr_new_valid);
		return RIG_EXIT_SELFCHECK;
	}
	for (int i = 0; i < 8; i++)
		fresh |= c->irr_fresh[i];
	if (fresh) {
		rig_log(c, ROLE, "self-check: the new VM's IRR was not empty before the restore");
		return RIG_EXIT_SELFCHECK;
	}
	rig_log(c, ROLE, "self-check: IRR bits set for %u/%u vectors in the old VM before detach; "
		"new VM empty before the restore; %u/%u set in the final VM",
		c->scn.vectors - m_old, c->scn.vectors, c->scn.vectors - m_new, c->scn.vectors);
	return m_old || m_new ? RIG_EXIT_SELFCHECK : RIG_EXIT_OK;
}

/*
 * Is fire i (the log's order is the order of fires under the lock) lost?
 * Each answer follows from which side of a stamped VMM step it fell on.
 */
static uint32_t fire_lost(const struct rig_ctl *c, uint64_t i, const struct rig_fire *f)
{
	const struct rig_cycle *k;

	switch (c->scn.fault) {
	case CPRV_FAULT_NEW_EVENTFD:
		/* Into the detached eventfds, which nobody attaches again. */
		return f->phase == CPRV_GT_PHASE_DETACHED;
	case CPRV_FAULT_DRAIN_BEFORE_ATTACH:
		/* In the counter at the drain: read away and held, never injected. */
		return f->phase == CPRV_GT_PHASE_DETACHED;
	case CPRV_FAULT_FAILED_CPR_NO_REATTACH:
		return f->phase == CPRV_GT_PHASE_DETACHED && c->cyc[f->cycle].failed;
	case CPRV_FAULT_NO_LAPIC_RECOVERY:
		/*
		 * Injected into the old VM after its guest's last service of the
		 * vector, so pending in its IRR when it died; nobody re-injects it.
		 * The fire belongs to the first CPR whose detach comes after it.
		 */
		for (uint32_t q = 1; q <= c->scn.cycles; q++) {
			k = &c->cyc[q];
			if (i < k->n_detach)
				return !k->failed && i >= k->svc[f->vector];
		}
		return 0;
	default:
		return 0;
	}
}

/*
 * Was fire i read into the PBA? Every fire of a vector between its mask
 * and its unmask (both stamped under the lock) was: the VMM polls the
 * eventfd while masked and reads it once more before the re-assign.
 */
static bool fire_held(const struct rig_ctl *c, uint64_t i, const struct rig_fire *f)
{
	for (uint32_t w = 0; w < c->scn.nmask; w++) {
		const struct rig_mask *m = &c->masks[w];

		if (c->scn.mask[w].vector == f->vector && m->state == RIG_MASK_UNMASKED &&
		    i >= m->n_mask && i < m->n_unmask)
			return true;
	}
	return false;
}

/*
 * The mask windows, and a check that the fires the log puts in each equal
 * what the VMMs actually read() out of the counter meanwhile.
 */
static void mask_truth(struct launch *l, struct cprv_ground_truth *gt)
{
	const struct rig_ctl *c = l->c;

	for (uint32_t w = 0; w < c->scn.nmask; w++) {
		const struct rig_mask *m = &c->masks[w];
		uint32_t vec = c->scn.mask[w].vector;
		uint64_t held = 0;

		if (m->state != RIG_MASK_UNMASKED) {
			rig_log(c, ROLE, "warning: mask window %u (vector %u at %u ms) %s", w, vec,
				c->scn.mask[w].at_ms, m->state == RIG_MASK_DUE ?
				"never started: the guest was not running" : "never ended");
			continue;
		}
		for (size_t i = 0; i < gt->nlog; i++)
			held += gt->log[i].held && gt->log[i].vector == vec &&
				i >= m->n_mask && i < m->n_unmask;
		if (held != m->held)
			fail(l, "mask window %u (vector %u): %llu fires fell in it, the VMMs read %llu "
			     "out of the eventfd", w, vec, (unsigned long long)held,
			     (unsigned long long)m->held);
		gt->masks[gt->nmasks++] = (struct cprv_gt_mask){
			.vector = vec, .mask_ts = m->ts_mask, .unmask_ts = m->ts_unmask,
			.held = held, .injected = m->injected,
		};
	}
}

/* Duplicates, unobservable losses, broken rules, gaps: everything but per-fire loss. */
static void expect_more(const struct rig_ctl *c, struct cprv_ground_truth *gt)
{
	static const uint32_t rules[CPRV_FAULT_COUNT] = {
		[CPRV_FAULT_NEW_EVENTFD] = CPRV_GT_RULE(1) | CPRV_GT_RULE(2),
		[CPRV_FAULT_ROUTE_CHANGED] = CPRV_GT_RULE(3),
		/* R5 only where KVM let the old VM re-assign (below) */
		[CPRV_FAULT_OLD_VM_KEPT] = CPRV_GT_RULE(6),
		[CPRV_FAULT_SWAPPED_VECTORS] = CPRV_GT_RULE(2) | CPRV_GT_RULE(3),
		[CPRV_FAULT_TRIGGER_TEARDOWN] = CPRV_GT_RULE(1),
	};

	/* R4 (pending state carried) is broken exactly when a fire the probes
	 * can see was lost: through the eventfd counter, the LAPIC or the PBA,
	 * whichever fault dropped it. */
	gt->rules_broken = rules[c->scn.fault] | (gt->lost ? CPRV_GT_RULE(4) : 0);
	gt->service_period_us = c->scn.service_period_us;
	if (c->scn.fault == CPRV_FAULT_LATE_ATTACH)
		gt->min_gap_ms = c->scn.late_ms;
	gt->ncycle_info = c->scn.cycles;
	for (uint32_t q = 1; q <= c->scn.cycles; q++) {
		const struct rig_cycle *k = &c->cyc[q];

		gt->cycle_info[q - 1] = (struct cprv_gt_cycle){ .cycle = q, .failed = k->failed };
		for (uint32_t v = 0; v < gt->nvectors; v++) {
			/*
			 * double-replay: KVM's replay covered the pending count; the
			 * KVM_SIGNAL_MSI after it has nothing left. old-vm-kept: the old
			 * VMM's re-assign replays a counter whose fires the new VM has
			 * already been given.
			 */
			if (c->scn.fault == CPRV_FAULT_DOUBLE_REPLAY && (k->pending_attach >> v & 1))
				gt->vec[v].duplicates++;
			if (c->scn.fault == CPRV_FAULT_OLD_VM_KEPT && k->reattached &&
			    (k->pending_reattach >> v & 1))
				gt->vec[v].duplicates++;
		}
		/* two irqfds on one eventfd: kernels from 6.16 on refuse the
		 * second (EBUSY), and then each eventfd keeps one consumer */
		if (c->scn.fault == CPRV_FAULT_OLD_VM_KEPT && k->reattached)
			gt->rules_broken |= CPRV_GT_RULE(5);
	}
	for (uint32_t v = 0; v < gt->nvectors; v++) {
		gt->vec[v].lost_unobservable = c->dropped[v];
		gt->vec[v].serviced = c->serviced[v];
	}
}

static void write_truth(struct launch *l, const char *path)
{
	struct rig_ctl *c = l->c;
	struct cprv_ground_truth gt = { 0 };
	uint64_t n = RIG_LOAD(&c->nfires);
	char err[512];

	snprintf(gt.mode, sizeof(gt.mode), "%s", cprv_mode_name(c->scn.mode));
	snprintf(gt.fault, sizeof(gt.fault), "%s", cprv_fault_name(c->scn.fault));
	gt.nvectors = c->scn.vectors;
	gt.cycles = c->scn.cycles;
	gt.vec = calloc(gt.nvectors, sizeof(*gt.vec));
	gt.phases = calloc(c->nphases + 1, sizeof(*gt.phases));
	gt.log = calloc(n ? n : 1, sizeof(*gt.log));
	gt.cycle_info = calloc(c->scn.cycles, sizeof(*gt.cycle_info));
	gt.masks = calloc(c->scn.nmask + 1, sizeof(*gt.masks));
	snprintf(gt.msi, sizeof(gt.msi), "%s", cprv_msi_name(c->scn.msi));
	if (!gt.vec || !gt.phases || !gt.log || !gt.cycle_info || !gt.masks)
		fail(l, "out of memory for the ground truth");
	for (uint32_t v = 0; v < gt.nvectors; v++)
		gt.vec[v] = (struct cprv_gt_vector){ .vector = v, .gsi = c->routes[v].gsi,
						     .address = c->routes[v].address,
						     .data = c->routes[v].data };
	gt.phases[0] = (struct cprv_gt_phase){ .cycle = 0, .name = CPRV_GT_EV_START,
					       .ts = c->t_first_fire };
	memcpy(gt.phases + 1, c->phases, c->nphases * sizeof(*gt.phases));
	gt.nphases = c->nphases + 1;
	for (uint64_t i = 0; i < n; i++) {
		const struct rig_fire *f = &l->log[i];
		bool held = fire_held(c, i, f);

		/* pba-dropped: the pending bit was cleared, the held fires never sent. */
		gt.log[i] = (struct cprv_gt_fire){
			.ts = f->ts, .vector = f->vector, .phase = f->phase, .generation = f->gen,
			.lost = fire_lost(c, i, f) ||
				(held && c->scn.fault == CPRV_FAULT_PBA_DROPPED),
			.held = held,
		};
	}
	gt.nlog = n;
	mask_truth(l, &gt);
	cprv_gt_tally(&gt);
	expect_more(c, &gt);
	gt.nlog = n;
	cprv_gt_tally(&gt);

	fprintf(stderr, "cprv-rig: %-6s %10s %10s %10s %10s %10s\n", "vector", "fires", "before",
		"blackout", "after", "exp.lost");
	for (uint32_t v = 0; v < gt.nvectors; v++) {
		uint64_t ph[CPRV_GT_PHASE_DONE + 1] = { 0 };

		for (uint64_t i = 0; i < n; i++)
			if (gt.log[i].vector == v && gt.log[i].phase <= CPRV_GT_PHASE_DONE)
				ph[gt.log[i].phase]++;
		fprintf(stderr, "cprv-rig: %-6u %10llu %10llu %10llu %10llu %10llu\n", v,
			(unsigned long long)gt.vec[v].fires,
			(unsigned long long)ph[CPRV_GT_PHASE_RUNNING_OLD],
			(unsigned long long)ph[CPRV_GT_PHASE_DETACHED],
			(unsigned long long)ph[CPRV_GT_PHASE_RUNNING_NEW],
			(unsigned long long)gt.vec[v].lost);
		if (!ph[CPRV_GT_PHASE_DETACHED])
			rig_log(c, ROLE, "warning: vector %u had no fire during the blackout", v);
	}
	fprintf(stderr, "cprv-rig: %-6s %10llu %10llu %10llu %10llu %10llu\n", "total",
		(unsigned long long)gt.total, (unsigned long long)gt.before,
		(unsigned long long)gt.blackout, (unsigned long long)gt.after,
		(unsigned long long)gt.lost);
	fprintf(stderr, "cprv-rig: expected: %llu lost, %llu lost unobservable, %llu duplicates, "
		"rules broken 0x%x, min gap %llu ms; %s: %llu held in the PBA, %llu of them "
		"delivered by hand; guest serviced", (unsigned long long)gt.lost,
		(unsigned long long)gt.lost_unobservable, (unsigned long long)gt.duplicates,
		gt.rules_broken, (unsigned long long)gt.min_gap_ms, gt.msi,
		(unsigned long long)gt.held, (unsigned long long)gt.held_delivered);
	for (uint32_t v = 0; v < gt.nvectors; v++)
		fprintf(stderr, " %llu", (unsigned long long)gt.vec[v].serviced);
	fprintf(stderr, "\n");
	if (path) {
		if (cprv_gt_write(path, &gt, err, sizeof(err)))
			fail(l, "%s", err);
		rig_log(c, ROLE, "ground truth written to %s", path);
	}
	cprv_gt_free(&gt);
}

int rig_launch(const struct cprv_scenario *s, bool check, const char *gt_path)
{
	struct launch l = { 0 };
	struct rig_ctl *c;
	char num[16], tmpl[] = "/tmp/cprv-rig.XXXXXX";
	uint64_t t_start, t_stop, interval_ns;
	int ctl_fd, sp[2], ret = RIG_EXIT_OK;
	pid_t pid;

	c = rig_ctl_create(&ctl_fd);
	if (!c) {
		fprintf(stderr, "cprv-rig: control page: %s\n", strerror(errno));
		return RIG_EXIT_FAIL;
	}
	l.c = c;
	c->scn = *s;
	c->self_check = check;
	c->launcher_pid = getpid();
	c->t0 = rig_now();
	c->phase = CPRV_GT_PHASE_RUNNING_OLD;
	cprv_rig_phase(0, CPRV_GT_PHASE_RUNNING_OLD);
	if (!mkdtemp(tmpl)) {
		fprintf(stderr, "cprv-rig: mkdtemp: %s\n", strerror(errno));
		return RIG_EXIT_FAIL;
	}
	snprintf(c->sock_dir, sizeof(c->sock_dir), "%s", tmpl);
	snprintf(num, sizeof(num), "%d", ctl_fd);
	setenv(RIG_ENV_CTL_FD, num, 1);

	/* Room for the planned fires plus a minute of delays (untouched pages cost nothing). */
	c->log_cap = (uint64_t)s->rate_hz * (s->duration_ms + 60000ull) / 1000ull + 1024;
	l.log_bytes = c->log_cap * sizeof(struct rig_fire);
	l.log = mmap(NULL, l.log_bytes, PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (l.log == MAP_FAILED) {
		fprintf(stderr, "cprv-rig: fire log (%zu bytes): %s\n", l.log_bytes, strerror(errno));
		return RIG_EXIT_FAIL;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
		fprintf(stderr, "cprv-rig: socketpair: %s\n", strerror(errno));
		return RIG_EXIT_FAIL;
	}
	rig_log(c, ROLE, "%s: mode %s, fault %s, %u %s vectors (%u mask windows) at %u MSI/s, "
		"%u ms, CPR at %u ms, blackout %u ms, %u cycle(s)", s->name, cprv_mode_name(s->mode),
		cprv_fault_name(s->fault), s->vectors, cprv_msi_name(s->msi), s->nmask, s->rate_hz, s->duration_ms, s->cpr_at_ms,
		s->blackout_ms, s->cycles);

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		fail(&l, "fork: %s", strerror(errno));
	if (pid == 0) {
		close(sp[0]);
		_exit(rig_device_main(c, sp[1], l.log));
	}
	l.dev = add_child(&l, pid, "device");
	pid = fork();
	if (pid < 0)
		fail(&l, "fork: %s", strerror(errno));
	if (pid == 0) {
		close(sp[1]);
		_exit(rig_vmm_first_main(c, sp[0]));
	}
	l.vmm = add_child(&l, pid, "vmm-old");
	close(sp[0]);
	close(sp[1]);
	rig_log(c, ROLE, "device pid %d, old VMM pid %d", l.dev->pid, l.vmm->pid);

	await(&l, &c->dev_firing, 1, RIG_TIMEOUT_MS, "the device to start firing");
	t_start = c->t_first_fire;
	/* Several cycles share the time after the first CPR evenly. */
	interval_ns = (uint64_t)(s->duration_ms - s->cpr_at_ms) * 1000000ull / s->cycles;
	if (interval_ns < (uint64_t)(s->blackout_ms + s->late_ms + 50) * 1000000ull)
		interval_ns = (uint64_t)(s->blackout_ms + s->late_ms + 50) * 1000000ull;
	for (uint32_t k = 1; k <= s->cycles; k++) {
		struct child *next = NULL;

		/* Like an operator starting the new QEMU with -incoming before 'migrate'. */
		if (s->mode == CPRV_MODE_TRANSFER)
			next = spawn_incoming(&l, k);
		idle_until(&l, t_start + (uint64_t)s->cpr_at_ms * 1000000ull + (k - 1) * interval_ns);
		run_cycle(&l, k, next);
	}
	/* The post-CPR period: the planned end, and never less than 100 ms after the last CPR. */
	t_stop = t_start + (uint64_t)s->duration_ms * 1000000ull;
	if (t_stop < rig_now() + 100000000ull)
		t_stop = rig_now() + 100000000ull;
	idle_until(&l, t_stop);
	RIG_STORE(&c->dev_stop, 1);
	await_exit(&l, l.dev, RIG_TIMEOUT_MS);
	if (rig_lock(c))
		fail(&l, "control lock owner died");
	rig_set_phase(c, s->cycles, CPRV_GT_PHASE_DONE, CPRV_GT_EV_STOP);
	rig_unlock(c);
	if (l.kept)
		l.kept->may_exit = true;
	RIG_STORE(&c->vmm_stop, 1);
	await_exit(&l, l.vmm, RIG_TIMEOUT_MS);
	if (l.kept)
		await_exit(&l, l.kept, RIG_TIMEOUT_MS);
	rig_log(c, ROLE, "all processes done: %llu fires in %.3f s",
		(unsigned long long)c->nfires, (double)(rig_now() - t_start) / 1e9);
	write_truth(&l, gt_path);
	if (check)
		ret = self_check(&l);
	cleanup(&l);
	rig_log(c, ROLE, "run %s in %.3f s", ret ? "FAILED the self-check" : "complete",
		(double)(rig_now() - c->t0) / 1e9);
	munmap(l.log, l.log_bytes);
	return ret;
}

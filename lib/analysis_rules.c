// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Conformance with the reference CPR (DESIGN section 1), rule by rule:
 *   R1 the device trigger is not torn down or re-pointed in a CPR window
 *   R2 the eventfd attached to a gsi after CPR is the one attached before
 *   R3 the route an eventfd's gsi has after CPR is the one it had before
 *   R4 pending state is carried: nothing lost (counter, held, LAPIC)
 *   R5 one consumer per eventfd: not two VMs' irqfds, not irqfd + read()
 *   R6 the old VM's fds are dropped by the cycle's end + a grace (750 ms)
 * Each is held, broken (with the events that broke it) or not checkable
 * (and why). Violations seen while events stream (R1, R5) are noted then;
 * the rest are judged at finish from cycles, routes and VM holders.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis_internal.h"
#include "event.h"

static const char *const titles[CPRV_RULES] = {
	"device trigger never torn down or re-pointed during CPR",
	"the eventfd attached after CPR is the one the device signals",
	"each vector's MSI route unchanged across CPR",
	"pending interrupts carried (eventfd counter, held/PBA, LAPIC IRR)",
	"exactly one consumer per eventfd once the new VM runs",
	"the old VM's fds dropped after CPR",
};

const char *cprv_rule_title(unsigned n)
{
	return n >= 1 && n <= CPRV_RULES ? titles[n - 1] : "?";
}

const char *cprv_rule_state_name(enum cprv_rule_state s)
{
	switch (s) {
	case CPRV_RULE_HELD: return "held";
	case CPRV_RULE_BROKEN: return "broken";
	default: return "not_checkable";
	}
}

const struct cprv_rule *cprv_analysis_rule(const struct cprv_analysis *a, unsigned n)
{
	return a->finished && n >= 1 && n <= CPRV_RULES ? &a->rules.r[n - 1] : NULL;
}

unsigned cprv_analysis_rules_broken(const struct cprv_analysis *a)
{
	unsigned m = 0;

	for (unsigned i = 0; a->finished && i < CPRV_RULES; i++)
		if (a->rules.r[i].state == CPRV_RULE_BROKEN)
			m |= 1u << i;
	return m;
}

void an_rules_free(struct cprv_analysis *a)
{
	for (unsigned i = 0; i < CPRV_RULES; i++) {
		struct cprv_rule *r = &a->rules.r[i];
		for (size_t j = 0; j < r->n_evidence; j++) {
			for (size_t k = 0; k < r->evidence[j].n_lines; k++)
				free(r->evidence[j].lines[k]);
			free(r->evidence[j].lines);
		}
	}
}

void an_rules_cycle_opened(struct cprv_analysis *a)
{
	for (unsigned i = 0; i < CPRV_RULES; i++) {
		a->rules.open_breaks[i] = 0;
		a->rules.open_evidence[i] = a->rules.r[i].n_evidence;
	}
}

void an_rules_cycle_dropped(struct cprv_analysis *a)
{
	for (unsigned i = 0; i < CPRV_RULES; i++) {
		struct cprv_rule *r = &a->rules.r[i];

		r->breaks -= a->rules.open_breaks[i];
		while (r->n_evidence > a->rules.open_evidence[i]) {
			struct cprv_chain *c = &r->evidence[--r->n_evidence];

			for (size_t k = 0; k < c->n_lines; k++)
				free(c->lines[k]);
			free(c->lines);
		}
		a->rules.open_breaks[i] = 0;
	}
	/* trigger closes waiting to be judged in that window */
	while (a->rules.n_closes && a->rules.closes[a->rules.n_closes - 1].cycle > a->n_cycles)
		a->rules.n_closes--;
}

/* Counts a violation of rule n; the chain to fill, or NULL past the cap. */
static struct cprv_chain *violation(struct cprv_analysis *a, unsigned n, uint64_t ts,
				    uint32_t pid, uint64_t ctx)
{
	struct cprv_rule *r = &a->rules.r[n - 1];
	struct cprv_chain *c;

	r->breaks++;
	if (a->open_cycle >= 0)
		a->rules.open_breaks[n - 1]++;
	if (r->n_evidence >= CPRV_RULE_MAX_EVIDENCE)
		return NULL;
	c = &r->evidence[r->n_evidence++];
	memset(c, 0, sizeof(*c));
	c->ts = ts;
	c->pid = pid;
	c->ctx = ctx;
	return c;
}

static void set(struct cprv_rule *r, enum cprv_rule_state s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set(struct cprv_rule *r, enum cprv_rule_state s, const char *fmt, ...)
{
	va_list ap;

	r->state = s;
	va_start(ap, fmt);
	vsnprintf(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
}

static bool is_producer(const struct cprv_analysis *a, uint32_t pid)
{
	for (size_t i = 0; i < a->n_ctx; i++) {
		const struct an_ctx *c = a->ctx_list[i];
		if (c->write_pid == pid && c->lv && c->lv->pub.has_gsi)
			return true;
	}
	return false;
}

/* The CPR window an event falls in (1-based cycle), or 0. */
static size_t in_window(const struct cprv_analysis *a, uint64_t ts, uint64_t after_end)
{
	if (a->open_cycle >= 0)
		return (size_t)a->open_cycle + 1;
	if (a->n_cycles) {
		const struct cprv_cycle *cy = &a->cycles[a->n_cycles - 1];
		if (ts >= cy->start_ns && ts <= cy->end_ns + after_end)
			return a->n_cycles;
	}
	return 0;
}

static int r1_commit_close(struct cprv_analysis *a, const struct an_close *cl)
{
	struct cprv_chain *c = violation(a, 1, cl->ts, cl->pid, cl->ctx);
	int err;

	err = an_chain_add(c, "the device (pid %u %s, the writer of ctx 0x%llx) closed that trigger eventfd at t=%.6f s, inside cpr #%zu",
			   cl->pid, an_comm(a, cl->pid), (unsigned long long)cl->ctx,
			   an_rel(a, cl->ts), cl->cycle);
	if (!err)
		err = an_chain_add(c, "fires the device would have sent while its trigger was torn down reach no eventfd: host probes cannot see them, so their loss is not counted");
	return err;
}

/* Commits (pid's closes, or all with pid 0) as violations, or drops them. */
static int r1_settle_closes(struct cprv_analysis *a, uint32_t pid, bool commit)
{
	struct an_rules *ru = &a->rules;
	size_t keep = 0;
	int err = 0;

	for (size_t i = 0; i < ru->n_closes; i++) {
		if (pid && ru->closes[i].pid != pid) {
			ru->closes[keep++] = ru->closes[i];
			continue;
		}
		if (commit && !err)
			err = r1_commit_close(a, &ru->closes[i]);
	}
	ru->n_closes = keep;
	return err;
}

static int r1_event(struct cprv_analysis *a, const struct cprv_event *ev)
{
	struct cprv_chain *c;
	size_t cy;
	int err = 0;

	switch (ev->type) {
	case CPRV_EV_VFIO_SET_IRQS:
	case CPRV_EV_VFIO_TRIGGER:
		if (!(cy = in_window(a, ev->ts, 0)))
			return 0;
		c = violation(a, 1, ev->ts, ev->pid, ev->type == CPRV_EV_VFIO_TRIGGER ? ev->obj : 0);
		if (ev->type == CPRV_EV_VFIO_SET_IRQS)
			err = an_chain_add(c, "VFIO_DEVICE_SET_IRQS on device 0x%llx (index %llu start %llu count %llu) at t=%.6f s by pid %u (%s), inside cpr #%zu",
					   (unsigned long long)ev->obj, (unsigned long long)ev->a[0],
					   (unsigned long long)ev->a[1], (unsigned long long)ev->a[2],
					   an_rel(a, ev->ts), ev->pid, an_comm(a, ev->pid), cy);
		else
			err = an_chain_add(c, "vfio trigger of vector %llu set to ctx 0x%llx at t=%.6f s by pid %u (%s), inside cpr #%zu",
					   (unsigned long long)ev->a[0], (unsigned long long)ev->obj,
					   an_rel(a, ev->ts), ev->pid, an_comm(a, ev->pid), cy);
		return err;
	case CPRV_EV_CLOSE: {
		const struct an_ctx *x = an_ctx_get(a, ev->obj, false);

		struct an_rules *ru = &a->rules;
		struct an_close cl = { ev->ts, ev->obj, ev->pid, 0 };

		if (ev->flags != CPRV_OBJ_EVENTFD || !x || x->write_pid != ev->pid || !x->lv ||
		    !(cy = in_window(a, ev->ts, 0)))
			return 0;
		cl.cycle = cy;
		if (ru->n_closes == sizeof(ru->closes) / sizeof(ru->closes[0]))
			return r1_commit_close(a, &cl);
		ru->closes[ru->n_closes++] = cl;
		return 0;
	}
	case CPRV_EV_EXIT:
		/* a device shutting down closes its triggers: not a teardown */
		return r1_settle_closes(a, ev->pid, false);
	case CPRV_EV_FD_RECV:
		if (ev->flags == CPRV_OBJ_EVENTFD && (err = r1_settle_closes(a, ev->pid, true)))
			return err;
		/* a re-armed device may take the new fds just after the attach */
		if (ev->flags != CPRV_OBJ_EVENTFD || !is_producer(a, ev->pid) ||
		    !(cy = in_window(a, ev->ts, a->o.settle_ns)))
			return 0;
		c = violation(a, 1, ev->ts, ev->pid, ev->obj);
		return an_chain_add(c, "the device (pid %u %s) received trigger eventfd ctx 0x%llx over SCM_RIGHTS at t=%.6f s, during cpr #%zu: its trigger was re-pointed",
				    ev->pid, an_comm(a, ev->pid), (unsigned long long)ev->obj,
				    an_rel(a, ev->ts), cy);
	}
	return 0;
}

static int r5_read(struct cprv_analysis *a, const struct cprv_event *ev)
{
	const struct an_binding *b = NULL;
	struct cprv_chain *c;
	int err;

	if ((int64_t)ev->a[1] <= 0)
		return 0;
	for (size_t i = 0; i < a->n_binds && !b; i++)
		if (a->binds[i].active && a->binds[i].ctx == ev->obj)
			b = &a->binds[i];
	if (!b)
		return 0;
	c = violation(a, 5, ev->ts, ev->pid, ev->obj);
	err = an_chain_add(c, "pid %u (%s) read %llu from ctx 0x%llx at t=%.6f s",
			   ev->pid, an_comm(a, ev->pid), (unsigned long long)ev->a[0],
			   (unsigned long long)ev->obj, an_rel(a, ev->ts));
	if (!err)
		err = an_chain_add(c, "while an irqfd consumed it too: gsi %u of VM 0x%llx, assigned at t=%.6f s by pid %u (%s)",
				   b->gsi, (unsigned long long)b->kvm, an_rel(a, b->assign_ts),
				   b->pid, an_comm(a, b->pid));
	return err;
}

int an_rules_event(struct cprv_analysis *a, const struct cprv_event *ev)
{
	if (ev->type == CPRV_EV_EVENTFD_READ)
		return r5_read(a, ev);
	return r1_event(a, ev);
}

int an_rules_overlap(struct cprv_analysis *a, const struct an_binding *old,
		     const struct an_binding *nb)
{
	struct cprv_chain *c = violation(a, 5, nb->assign_ts, nb->pid, nb->ctx);
	int err;

	err = an_chain_add(c, "ctx 0x%llx attached to gsi %u of VM 0x%llx at t=%.6f s by pid %u (%s)",
			   (unsigned long long)nb->ctx, nb->gsi, (unsigned long long)nb->kvm,
			   an_rel(a, nb->assign_ts), nb->pid, an_comm(a, nb->pid));
	if (!err)
		err = an_chain_add(c, "while still attached to gsi %u of VM 0x%llx (since t=%.6f s, pid %u %s): two irqfds inject every fire",
				   old->gsi, (unsigned long long)old->kvm, an_rel(a, old->assign_ts),
				   old->pid, an_comm(a, old->pid));
	return err;
}

/* ---- finish ---- */

/* A workload without a device (a QEMU lane guest with none): rules about
 * vectors have nothing to hold on. */
static bool no_msis(const struct cprv_analysis *a)
{
	return !a->t.fires && !a->t.injections;
}

static int r1_finish(struct cprv_analysis *a)
{
	struct cprv_rule *r = &a->rules.r[0];
	const bool *live = a->o.vis.live;

	/* closes by devices still alive at the end: their triggers stayed down */
	if (r1_settle_closes(a, 0, true))
		return -ENOMEM;

	if (r->breaks)
		set(r, CPRV_RULE_BROKEN, "%llu trigger teardowns or re-points inside CPR windows",
		    (unsigned long long)r->breaks);
	else if (!a->n_cycles)
		set(r, CPRV_RULE_NOT_CHECKABLE, "no CPR cycle in the trace");
	else if (no_msis(a))
		set(r, CPRV_RULE_NOT_CHECKABLE, "no device MSIs in the trace");
	else if (!live[CPRV_EV_VFIO_SET_IRQS] && !(live[CPRV_EV_CLOSE] && live[CPRV_EV_FD_RECV]))
		set(r, CPRV_RULE_NOT_CHECKABLE, "trigger changes not visible (no VFIO_DEVICE_SET_IRQS, close or SCM_RIGHTS probe live)");
	else
		set(r, CPRV_RULE_HELD, "no trigger teardown or re-point seen in %zu CPR windows",
		    a->n_cycles);
	return 0;
}

static int r2_finish(struct cprv_analysis *a)
{
	struct cprv_rule *r = &a->rules.r[1];
	size_t checked = 0;
	int err = 0;

	for (size_t i = 0; !err && i < a->n_cycles; i++) {
		const struct cprv_cycle *cy = &a->cycles[i];
		for (size_t j = 0; !err && j < cy->n_vecs; j++) {
			const struct cprv_cycle_vec *v = &cy->vecs[j];
			if (!v->attached)
				continue;
			checked++;
			if (v->new_ctx == v->old_ctx)
				continue;
			struct cprv_chain *c = violation(a, 2, v->attach_ns, 0, v->new_ctx);
			err = an_chain_add(c, "cpr #%zu: gsi %u had ctx 0x%llx in VM 0x%llx (detached at t=%.6f s)",
					   i + 1, v->gsi, (unsigned long long)v->old_ctx,
					   (unsigned long long)cy->old_vm, an_rel(a, v->detach_ns));
			if (!err)
				err = an_chain_add(c, "VM 0x%llx attached ctx 0x%llx to gsi %u at t=%.6f s instead",
						   (unsigned long long)(cy->new_vm ? cy->new_vm : cy->old_vm),
						   (unsigned long long)v->new_ctx, v->gsi,
						   an_rel(a, v->attach_ns));
		}
	}
	if (r->breaks)
		set(r, CPRV_RULE_BROKEN, "%llu gsis re-attached with another eventfd than the device's",
		    (unsigned long long)r->breaks);
	else if (!a->n_cycles)
		set(r, CPRV_RULE_NOT_CHECKABLE, "no CPR cycle in the trace");
	else if (!checked)
		set(r, CPRV_RULE_NOT_CHECKABLE, "no gsi re-attached after CPR");
	else
		set(r, CPRV_RULE_HELD, "%zu gsis re-attached with their own eventfd", checked);
	return err;
}

static int r3_finish(struct cprv_analysis *a)
{
	struct cprv_rule *r = &a->rules.r[2];
	size_t checked = 0, unknown = 0;
	int err = 0;

	for (size_t i = 0; !err && i < a->n_cycles; i++) {
		const struct cprv_cycle *cy = &a->cycles[i];
		uint64_t nvm = cy->failed ? cy->old_vm : cy->new_vm;
		for (size_t j = 0; !err && j < cy->n_vecs; j++) {
			const struct cprv_cycle_vec *v = &cy->vecs[j], *w = NULL;
			for (size_t k = 0; k < cy->n_vecs; k++)
				if (cy->vecs[k].attached && cy->vecs[k].new_ctx == v->old_ctx)
					w = &cy->vecs[k];
			if (!w)
				continue; /* never re-attached: R2 and R4 speak */
			uint64_t na = w->new_addr, nd = w->new_data;
			bool has = w->has_new_route;
			if (!has) {
				const struct an_route *rt = an_vm_route(a, nvm, w->gsi);
				has = rt != NULL;
				na = rt ? rt->addr : 0;
				nd = rt ? rt->data : 0;
			}
			if (!v->has_old_route || !has) {
				unknown++;
				continue;
			}
			checked++;
			if (na == v->old_addr && nd == v->old_data)
				continue;
			struct cprv_chain *c = violation(a, 3, w->attach_ns, 0, v->old_ctx);
			err = an_chain_add(c, "cpr #%zu: ctx 0x%llx was on gsi %u of VM 0x%llx, routed to address 0x%llx data 0x%llx",
					   i + 1, (unsigned long long)v->old_ctx, v->gsi,
					   (unsigned long long)cy->old_vm, (unsigned long long)v->old_addr,
					   (unsigned long long)v->old_data);
			if (!err)
				err = an_chain_add(c, "after CPR it is on gsi %u of VM 0x%llx (attached at t=%.6f s), routed to address 0x%llx data 0x%llx",
						   w->gsi, (unsigned long long)nvm, an_rel(a, w->attach_ns),
						   (unsigned long long)na, (unsigned long long)nd);
		}
	}
	if (r->breaks)
		set(r, CPRV_RULE_BROKEN, "%llu eventfds reach another MSI address/data after CPR",
		    (unsigned long long)r->breaks);
	else if (!a->n_cycles)
		set(r, CPRV_RULE_NOT_CHECKABLE, "no CPR cycle in the trace");
	else if (!checked)
		set(r, CPRV_RULE_NOT_CHECKABLE, "%s", unknown ? "MSI routes not seen (KVM_SET_GSI_ROUTING not visible)" :
		    "no eventfd re-attached after CPR");
	else
		set(r, CPRV_RULE_HELD, "%zu eventfds keep their MSI address/data", checked);
	return err;
}

/* Why the LAPIC part of R4 could not be judged, or NULL if it was. */
static const char *lapic_blind(const struct cprv_analysis *a, char *buf, size_t len)
{
	if (!an_lapic_visible(a)) {
		snprintf(buf, len, "KVM_GET_LAPIC/KVM_SET_LAPIC not visible");
		return buf;
	}
	for (size_t i = 0; i < a->n_cycles; i++) {
		const struct cprv_cycle *cy = &a->cycles[i];
		const struct an_vm *vm = an_map_get(&a->vms, cy->old_vm);
		if (cy->failed || (vm && vm->serviced))
			continue;
		snprintf(buf, len, "no LAPIC servicing seen on VM 0x%llx (a real guest services its LAPIC inside the vCPU)",
			 (unsigned long long)cy->old_vm);
		return buf;
	}
	return NULL;
}

static int r4_finish(struct cprv_analysis *a)
{
	struct cprv_rule *r = &a->rules.r[3];
	const struct cprv_totals *t = &a->t;
	char buf[160];
	const char *blind = lapic_blind(a, buf, sizeof(buf));
	int err = 0;

	if (t->lost) {
		/* the lost chains are the evidence: copy the first few */
		const struct an_chainlist *l = &a->chains[CPRV_CHAIN_LOST];
		for (size_t i = 0; !err && i < l->n && i < 3; i++) {
			struct cprv_chain *c = violation(a, 4, l->v[i].ts, l->v[i].pid, l->v[i].ctx);
			if (!c)
				break;
			c->has_gsi = l->v[i].has_gsi;
			c->gsi = l->v[i].gsi;
			for (size_t j = 0; !err && j < l->v[i].n_lines; j++)
				err = an_chain_add(c, "%s", l->v[i].lines[j]);
		}
		r->breaks = t->lost;
		set(r, CPRV_RULE_BROKEN, "%llu fires lost: %llu in a dead VM's LAPIC, %llu held by a reader and never injected, the rest left in an eventfd counter",
		    (unsigned long long)t->lost, (unsigned long long)t->lapic_lost,
		    (unsigned long long)t->held_lost);
	} else if (!a->n_cycles) {
		set(r, CPRV_RULE_NOT_CHECKABLE, "no CPR cycle in the trace");
	} else if (no_msis(a)) {
		set(r, CPRV_RULE_NOT_CHECKABLE, "no device MSIs in the trace");
	} else {
		set(r, CPRV_RULE_HELD, "no fire lost across %zu CPR cycles (counter%s)%s%s",
		    a->n_cycles, t->held ? ", held fires" : "",
		    blind ? "; LAPIC IRR carry-over not checkable: " : "; LAPIC IRR carried",
		    blind ? blind : "");
	}
	return err;
}

/* How long after a cycle the old VMM may take to let go of its VM: an exit
 * is not instant (measured: 250 ms for the rig under ASan and TCG), while a
 * VMM that keeps its VM keeps it for good. */
#define R6_GRACE_NS (750ull * 1000 * 1000)

static int r6_finish(struct cprv_analysis *a)
{
	struct cprv_rule *r = &a->rules.r[5];
	const bool *live = a->o.vis.live;
	size_t checked = 0;
	const char *nc = NULL;
	char ncbuf[160];
	int err = 0;

	if (!live[CPRV_EV_KVM_CREATE_VM] || !live[CPRV_EV_CLOSE] || !live[CPRV_EV_EXIT] ||
	    !live[CPRV_EV_EXEC])
		nc = "VM creation, close, exit or exec not visible";
	for (size_t i = 0; !nc && !err && i < a->n_cycles; i++) {
		const struct cprv_cycle *cy = &a->cycles[i];
		const struct an_vm *vm = an_map_get(&a->vms, cy->old_vm);
		uint64_t deadline = cy->end_ns + (a->o.settle_ns > R6_GRACE_NS ? a->o.settle_ns : R6_GRACE_NS);

		if (!cy->complete || cy->failed)
			continue; /* a failed CPR keeps its VM: that is the point */
		if (!vm || !vm->held_ever) {
			snprintf(ncbuf, sizeof(ncbuf), "who holds VM 0x%llx is not known (its creation was not seen)",
				 (unsigned long long)cy->old_vm);
			nc = ncbuf;
			break;
		}
		if (vm->gone && vm->gone_ts <= deadline) {
			checked++;
			continue;
		}
		if (!vm->gone && a->t.last_ts < deadline) {
			snprintf(ncbuf, sizeof(ncbuf), "the trace ends less than the grace after cpr #%zu", i + 1);
			nc = ncbuf;
			break;
		}
		checked++;
		struct cprv_chain *c = violation(a, 6, deadline, 0, 0);
		err = an_chain_add(c, "cpr #%zu ended at t=%.6f s (VM 0x%llx -> VM 0x%llx); grace %.1f ms",
				   i + 1, an_rel(a, cy->end_ns), (unsigned long long)cy->old_vm,
				   (unsigned long long)cy->new_vm, (double)(deadline - cy->end_ns) / 1e6);
		if (!err && vm->gone)
			err = an_chain_add(c, "the old VM was dropped only at t=%.6f s (pid %u %s), %.1f ms after the cycle's end",
					   an_rel(a, vm->gone_ts), vm->gone_pid, an_comm(a, vm->gone_pid),
					   (double)(vm->gone_ts - cy->end_ns) / 1e6);
		for (size_t h = 0; !err && !vm->gone && h < vm->n_holders; h++)
			err = an_chain_add(c, "pid %u (%s) still holds VM 0x%llx at the end of the trace (t=%.6f s)",
					   vm->holders[h].pid, an_comm(a, vm->holders[h].pid),
					   (unsigned long long)vm->kvm, an_rel(a, a->t.last_ts));
	}
	if (r->breaks)
		set(r, CPRV_RULE_BROKEN, "%llu old VMs still held after their CPR ended",
		    (unsigned long long)r->breaks);
	else if (!a->n_cycles)
		set(r, CPRV_RULE_NOT_CHECKABLE, "no CPR cycle in the trace");
	else if (nc)
		set(r, CPRV_RULE_NOT_CHECKABLE, "%s", nc);
	else if (!checked)
		set(r, CPRV_RULE_NOT_CHECKABLE, "no completed CPR handed over to a new VM");
	else
		set(r, CPRV_RULE_HELD, "%zu old VMs dropped within settle of their CPR's end", checked);
	return err;
}

static void r5_finish(struct cprv_analysis *a)
{
	struct cprv_rule *r = &a->rules.r[4];

	if (r->breaks)
		set(r, CPRV_RULE_BROKEN, "%llu times an eventfd had two consumers",
		    (unsigned long long)r->breaks);
	else if (!a->n_cycles)
		set(r, CPRV_RULE_NOT_CHECKABLE, "no CPR cycle in the trace");
	else if (no_msis(a))
		set(r, CPRV_RULE_NOT_CHECKABLE, "no device MSIs in the trace");
	else if (!a->o.vis.live[CPRV_EV_KVM_IRQFD])
		set(r, CPRV_RULE_NOT_CHECKABLE, "irqfd assign/deassign not visible");
	else
		set(r, CPRV_RULE_HELD, "one consumer per eventfd throughout");
}

int an_rules_finish(struct cprv_analysis *a)
{
	if (r1_finish(a) || r2_finish(a) || r3_finish(a) || r4_finish(a))
		return -ENOMEM;
	r5_finish(a);
	return r6_finish(a);
}

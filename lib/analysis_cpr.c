// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * CPR cycles: the period in which irqfd bindings move from one VM to
 * another. It opens at the first deassign of a bound vector of VM A (or at
 * a CPR_BEGIN mark) and closes at the last re-assign of those gsis in a VM
 * B != A. A gsi re-attached in A itself is a failed CPR if A was left with
 * no irqfd at all while a process came, went or passed fds (the new VMM
 * died, the old one carries on); otherwise it is a mask/unmask, not
 * moving, and a cycle left with nothing moving is dropped.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "analysis_internal.h"

static struct cprv_cycle *open_cycle(struct cprv_analysis *a)
{
	return a->open_cycle >= 0 ? &a->cycles[a->open_cycle] : NULL;
}

static struct cprv_cycle *cycle_new(struct cprv_analysis *a, uint64_t ts,
				    uint64_t old_vm, bool from_mark)
{
	struct cprv_cycle *cy;

	/* fires carry a 16-bit cycle index */
	if (a->n_cycles >= UINT16_MAX ||
	    an_grow(&a->cycles, &a->cap_cycles, a->n_cycles + 1, sizeof(*a->cycles)))
		return NULL;
	cy = &a->cycles[a->n_cycles];
	memset(cy, 0, sizeof(*cy));
	cy->start_ns = ts;
	cy->old_vm = old_vm;
	cy->from_mark = from_mark;
	a->open_cycle = (long)a->n_cycles++;
	an_rules_cycle_opened(a);
	return cy;
}

static struct cprv_cycle_vec *cvec_find(struct cprv_cycle *cy, uint32_t gsi)
{
	for (size_t i = 0; i < cy->n_vecs; i++)
		if (cy->vecs[i].gsi == gsi)
			return &cy->vecs[i];
	return NULL;
}

static void cycle_close(struct cprv_analysis *a, struct cprv_cycle *cy, uint64_t end)
{
	cy->end_ns = end;
	cy->blackout_ns = end - cy->start_ns;
	cy->complete = true;
	a->open_cycle = -1;
	an_phase_close(cy);
}

/* The cycle ends when every vector that went dark is attached again; it
 * spans from the first of their detaches to the last of their attaches.
 * Masked vectors come back whenever the guest unmasks them. */
static void maybe_close(struct cprv_analysis *a, struct cprv_cycle *cy)
{
	uint64_t start = UINT64_MAX, end = 0, before = UINT64_MAX;
	size_t dark = 0;

	for (size_t i = 0; i < cy->n_vecs; i++) {
		const struct cprv_cycle_vec *v = &cy->vecs[i];

		if (v->masked && !v->attached)
			continue;
		if (!v->attached)
			return;
		dark++;
		start = v->detach_ns < start ? v->detach_ns : start;
		end = v->attach_ns > end ? v->attach_ns : end;
		before = v->fires_before < before ? v->fires_before : before;
	}
	if (!dark || (!cy->new_vm && !cy->failed))
		return;
	if (cy->driven) {
		/* a driver's cycle lasts to its CPR_END mark (phases come after
		 * the irqfds); the vectors' dark window is its blackout */
		cy->vec_start_ns = start;
		cy->vec_end_ns = end;
		cy->vec_blackout_fires = a->t.fires - before;
		cy->vecs_back = true;
		return;
	}
	if (!cy->from_mark) {
		cy->start_ns = start;
		cy->blackout_fires = a->t.fires - before;
	}
	cycle_close(a, cy, end);
}

int an_cpr_deassign(struct cprv_analysis *a, const struct an_binding *b, uint64_t ts)
{
	struct cprv_cycle *cy = open_cycle(a);

	if (!cy) {
		cy = cycle_new(a, ts, b->kvm, false);
		if (!cy)
			return -ENOMEM;
	} else if (!cy->old_vm) {
		cy->old_vm = b->kvm;
	} else if (cy->old_vm != b->kvm) {
		return 0; /* the new VM letting go: not this cycle's business */
	}
	if (!an_vm_bound(a, b->kvm))
		cy->all_detached = true;
	if (cvec_find(cy, b->gsi))
		return 0;
	if (an_grow(&cy->vecs, &cy->cap_vecs, cy->n_vecs + 1, sizeof(*cy->vecs)))
		return -ENOMEM;
	const struct an_route *rt = an_vm_route(a, b->kvm, b->gsi);
	cy->vecs[cy->n_vecs++] = (struct cprv_cycle_vec){
		.gsi = b->gsi, .old_ctx = b->ctx, .detach_ns = ts, .fires_before = a->t.fires,
		.has_old_route = rt != NULL, .old_addr = rt ? rt->addr : 0,
		.old_data = rt ? rt->data : 0,
	};
	return 0;
}

int an_cpr_assign(struct cprv_analysis *a, const struct an_binding *b, uint64_t ts)
{
	struct cprv_cycle *cy = open_cycle(a);
	struct cprv_cycle_vec *v = cy ? cvec_find(cy, b->gsi) : NULL;

	if (!v)
		return 0;
	if (b->kvm == cy->old_vm && !(cy->all_detached && cy->activity)) {
		if (v->attached)
			return 0;
		*v = cy->vecs[--cy->n_vecs];
		if (!cy->n_vecs && !cy->from_mark && !cy->new_vm) {
			free(cy->vecs);
			a->n_cycles--;
			a->open_cycle = -1;
			an_rules_cycle_dropped(a);
		}
		return 0;
	}
	if (v->attached)
		return 0;
	if (b->kvm == cy->old_vm)
		cy->failed = true;
	v->attached = true;
	v->attach_ns = ts;
	v->new_ctx = b->ctx;
	const struct an_route *rt = an_vm_route(a, b->kvm, b->gsi);
	v->has_new_route = rt != NULL;
	v->new_addr = rt ? rt->addr : 0;
	v->new_data = rt ? rt->data : 0;
	if (!cy->new_vm)
		cy->new_vm = b->kvm;
	maybe_close(a, cy);
	return 0;
}

/* A user-space read of a detached vector's eventfd: the VMM consumes it
 * itself (a masked MSI-X vector, QEMU polling into its PBA), so the vector
 * is not dark, and its mask window must not stretch the CPR blackout. */
void an_cpr_read(struct cprv_analysis *a, uint64_t ctx)
{
	struct cprv_cycle *cy = open_cycle(a);

	if (!cy)
		return;
	for (size_t i = 0; i < cy->n_vecs; i++)
		if (cy->vecs[i].old_ctx == ctx && !cy->vecs[i].attached)
			cy->vecs[i].masked = true;
	maybe_close(a, cy);
}

int an_cpr_mark(struct cprv_analysis *a, const struct cprv_event *ev)
{
	struct cprv_cycle *cy = open_cycle(a);

	if (ev->a[0] == CPRV_MARK_CPR_BEGIN && !cy) {
		if (!cycle_new(a, ev->ts, 0, true))
			return -ENOMEM;
	} else if (ev->a[0] == CPRV_MARK_CPR_END && cy && cy->vecs_back && !cy->driver_failed) {
		/* a driver's cycle: its vectors came back earlier */
		cy->blackout_fires = cy->vec_blackout_fires;
		cycle_close(a, cy, cy->vec_end_ns);
		cy->start_ns = cy->vec_start_ns;
		cy->blackout_ns = cy->vec_end_ns - cy->vec_start_ns;
		cy->end_ns = ev->ts > cy->vec_end_ns ? ev->ts : cy->vec_end_ns;
	} else if (ev->a[0] == CPRV_MARK_CPR_END && cy && (!cy->n_vecs || cy->driver_failed)) {
		/* nothing was detached (or the update failed): the marks alone
		 * bound the cycle */
		cycle_close(a, cy, ev->ts);
		cy->complete = !cy->driver_failed;
	}
	return 0;
}

void an_cpr_fire(struct cprv_analysis *a, const struct an_lvec *lv, struct an_fire *f)
{
	struct cprv_cycle *cy = open_cycle(a);
	struct cprv_cycle_vec *v;

	if (!cy)
		return;
	/* only while some vector is dark: a mask window alone is no blackout */
	for (size_t i = 0; i < cy->n_vecs; i++)
		if (!cy->vecs[i].masked && !cy->vecs[i].attached)
			goto dark;
	return;
dark:
	cy->blackout_fires++;
	f->cycle = (uint16_t)(a->open_cycle + 1);
	v = lv->pub.has_gsi ? cvec_find(cy, lv->pub.gsi) : NULL;
	if (v && !v->attached)
		v->fires++;
}

void an_cpr_drop_unmoved(struct cprv_analysis *a)
{
	struct cprv_cycle *cy = open_cycle(a);

	if (!cy || cy->from_mark || cy->new_vm || a->open_cycle != (long)a->n_cycles - 1)
		return;
	free(cy->vecs);
	a->n_cycles--;
	a->open_cycle = -1;
	an_rules_cycle_dropped(a);
}

void an_cpr_activity(struct cprv_analysis *a)
{
	struct cprv_cycle *cy = open_cycle(a);

	if (cy)
		cy->activity = true;
}

void an_cpr_finish(struct cprv_analysis *a)
{
	struct cprv_cycle *cy = open_cycle(a);
	uint64_t end = 0;

	if (!cy)
		return;
	/* where a driver marks its updates, an irqfd shuffle that never moved
	 * to another VM is no update */
	if (a->t.uprobe_hits[CPRV_UFN_DRIVE_MARK] && !cy->driven) {
		an_cpr_drop_unmoved(a);
		if (open_cycle(a) != cy)
			return;
	}
	for (size_t i = 0; i < cy->n_vecs; i++)
		if (cy->vecs[i].attached && cy->vecs[i].attach_ns > end)
			end = cy->vecs[i].attach_ns;
	if (!end)
		end = a->t.last_ts;
	cycle_close(a, cy, end);
	cy->complete = false;
}

/*
 * The new VM took an eventfd the old VM still has an irqfd on: a handover
 * without a detach (the old VMM kept its irqfds). It is a cycle all the
 * same, one that starts and ends at the attach; R5 judges the overlap.
 */
int an_cpr_overlap(struct cprv_analysis *a, const struct an_binding *old,
		   const struct an_binding *nb)
{
	struct cprv_cycle *cy = open_cycle(a);
	struct cprv_cycle_vec *v;

	if (cy && cy->old_vm && cy->old_vm != old->kvm)
		return 0;
	if (!cy && a->n_cycles) {
		cy = &a->cycles[a->n_cycles - 1];
		if (cy->old_vm != old->kvm || cy->new_vm != nb->kvm)
			cy = NULL;
	}
	if (!cy && !(cy = cycle_new(a, nb->assign_ts, old->kvm, false)))
		return -ENOMEM;
	cy->old_vm = old->kvm;
	v = cvec_find(cy, nb->gsi);
	if (!v) {
		if (an_grow(&cy->vecs, &cy->cap_vecs, cy->n_vecs + 1, sizeof(*cy->vecs)))
			return -ENOMEM;
		const struct an_route *rt = an_vm_route(a, old->kvm, old->gsi);
		v = &cy->vecs[cy->n_vecs++];
		*v = (struct cprv_cycle_vec){
			.gsi = nb->gsi, .old_ctx = old->ctx, .detach_ns = nb->assign_ts,
			.has_old_route = rt != NULL, .old_addr = rt ? rt->addr : 0,
			.old_data = rt ? rt->data : 0,
		};
	}
	if (a->open_cycle < 0) {
		/* reopened: it ends at its last attach */
		a->open_cycle = cy - a->cycles;
	}
	return an_cpr_assign(a, nb, nb->assign_ts);
}

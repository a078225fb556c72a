// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Analysis core: event dispatch, the object model (eventfd ctxs, VMs and
 * their MSI routes, irqfd bindings, logical vectors, processes), fires and
 * the final judgement of uncovered fires. Injections live in
 * analysis_inject.c (KVM's assign-replay race in analysis_replay.c), CPR
 * cycles in analysis_cpr.c, evidence chains in analysis_chain.c, logical
 * vectors in analysis_vector.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis_internal.h"
#include "event.h"

void cprv_visibility_set(struct cprv_visibility *v, unsigned type, bool live,
			 const char *reason)
{
	if (type >= CPRV_EV_MAX)
		return;
	v->live[type] = live;
	v->reason[type][0] = '\0';
	if (!live && reason)
		snprintf(v->reason[type], sizeof(v->reason[type]), "%s", reason);
}

struct cprv_analysis *cprv_analysis_new(const struct cprv_analysis_opts *opts)
{
	struct cprv_analysis *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	if (opts)
		a->o = *opts;
	if (!a->o.settle_ns)
		a->o.settle_ns = CPRV_SETTLE_DEFAULT_NS;
	if (!a->o.max_chains)
		a->o.max_chains = 100;
	if (!a->o.max_pending)
		a->o.max_pending = 65536;
	a->open_cycle = -1;
	a->binds_gen = 1;       /* (a new ctx's vm_gen 0 has no answer yet) */
	/*
	 * vfio_msihandler calls eventfd_signal, so one device MSI may show at
	 * both: count kernel fires at the best visible stage only.
	 */
	if (a->o.vis.live[CPRV_EV_EVENTFD_SIGNAL])
		a->t.kernel_fire_src = CPRV_EV_EVENTFD_SIGNAL;
	else if (a->o.vis.live[CPRV_EV_VFIO_MSIHANDLER])
		a->t.kernel_fire_src = CPRV_EV_VFIO_MSIHANDLER;
	return a;
}

void cprv_analysis_free(struct cprv_analysis *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->n_ctx; i++) {
		free(a->ctx_list[i]->fires);
		free(a->ctx_list[i]->held);
		free(a->ctx_list[i]);
	}
	for (size_t i = 0; i < a->n_lv; i++)
		an_lvec_free(a->lvs[i]);
	for (size_t i = 0; i < a->n_vm; i++) {
		free(a->vm_list[i]->routes);
		free(a->vm_list[i]->holders);
		free(a->vm_list[i]->pend);
		free(a->vm_list[i]);
	}
	for (size_t i = 0; i < a->tasks.cap; i++)
		free(a->tasks.vals[i]);
	for (size_t i = 0; i < a->procs.cap; i++)
		free(a->procs.vals[i]);
	for (size_t i = 0; i < a->n_cycles; i++)
		free(a->cycles[i].vecs);
	an_chain_free_all(a);
	an_rules_free(a);
	an_map_free(&a->ctxs);
	an_map_free(&a->vms);
	an_map_free(&a->tasks);
	an_map_free(&a->procs);
	an_map_free(&a->irqs);
	an_map_free(&a->gsi_lv);
	free(a->ctx_list);
	free(a->lvs);
	free(a->binds);
	free(a->vm_list);
	free(a->cycles);
	free(a->order);
	free(a);
}

/* ---- eventfd ctxs ---- */

struct an_ctx *an_ctx_get(struct cprv_analysis *a, uint64_t addr, bool create)
{
	struct an_ctx *c = an_map_get(&a->ctxs, addr);

	if (c || !create)
		return c;
	if (an_grow(&a->ctx_list, &a->cap_ctx, a->n_ctx + 1, sizeof(*a->ctx_list)))
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->addr = addr;
	if (an_map_put(&a->ctxs, addr, c)) {
		free(c);
		return NULL;
	}
	a->ctx_list[a->n_ctx++] = c;
	return c;
}

bool cprv_analysis_names_path_ctx(const struct cprv_event *ev)
{
	/* not VFIO_TRIGGER alone: a VMM arms vfio with eventfds it signals and
	 * drains itself (INTx, error and request notifiers) */
	return ev->obj && (ev->type == CPRV_EV_KVM_IRQFD || ev->type == CPRV_EV_VFIO_MSIHANDLER ||
			   ev->type == CPRV_EV_IRQFD_WAKEUP);
}

static bool off_path(const struct cprv_analysis *a, const struct cprv_event *ev)
{
	size_t lo = 0, hi = a->o.n_path_ctxs;
	const struct an_ctx *c;
	uint32_t life;

	if (!a->o.path_ctxs || (ev->type != CPRV_EV_EVENTFD_WRITE &&
				ev->type != CPRV_EV_EVENTFD_SIGNAL && ev->type != CPRV_EV_EVENTFD_READ))
		return false;
	c = an_map_get(&a->ctxs, ev->obj);
	life = c ? c->lives : 0;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const struct cprv_path_ctx *p = &a->o.path_ctxs[mid];

		if (p->obj == ev->obj && p->life == life)
			return false;
		if (p->obj < ev->obj || (p->obj == ev->obj && p->life < life))
			lo = mid + 1;
		else
			hi = mid;
	}
	return true;
}

/* One run of fires (kept ones, then an overflow run) judged lost or in flight. */
static int judge_run(struct cprv_analysis *a, struct an_ctx *c, const struct an_fire *fires,
		     size_t n_fires, uint64_t ovf_n, uint64_t ovf_first,
		     const struct an_fire *ovf_fire, uint64_t end_ts, bool freed, bool held,
		     const struct an_vm *dead, uint64_t dead_since)
{
	struct an_lvec *lv = c->lv;

	for (size_t i = 0; i < n_fires + (ovf_n ? 1 : 0); i++) {
		bool ovf = i == n_fires;
		const struct an_fire *f = ovf ? ovf_fire : &fires[i];
		uint64_t n = ovf ? ovf_n : 1;
		/* an overflow run counts as lost if any of it could be */
		uint64_t first = ovf ? ovf_first : f->ts;

		/* fired after its irqfd had gone for good: lost however recent */
		bool orphan = dead && first >= dead_since;

		if (freed || orphan || end_ts - first >= a->o.settle_ns) {
			a->t.lost += n;
			lv->pub.lost += n;
			if (held)
				a->t.held_lost += n;
			if (f->cycle)
				a->cycles[f->cycle - 1].lost += n;
			if (an_chain_lost(a, c, f, freed ? 0 : end_ts, held, ovf ? n : 0,
					  orphan ? dead : NULL))
				return -ENOMEM;
		} else {
			a->t.in_flight += n;
			lv->pub.in_flight += n;
		}
	}
	return 0;
}

/*
 * At the end: the VM that last took c's signals, if it is gone and no
 * irqfd took c since; *since = when that irqfd ended. Fires after that
 * have no one left to inject them, however recent: lost, not in flight.
 * (A fire while the irqfd was still there, just before the VM was shut
 * down at the end of a run, stays in flight.)
 */
static const struct an_vm *dead_consumer(const struct cprv_analysis *a, const struct an_ctx *c,
					 uint64_t *since)
{
	const struct an_binding *b = an_binding_last(a, c->addr);
	const struct an_vm *vm;

	for (size_t i = 0; i < a->n_binds; i++)
		if (a->binds[i].active && a->binds[i].ctx == c->addr)
			return NULL;
	if (!b || !(vm = an_map_get(&a->vms, b->kvm)) || !vm->gone)
		return NULL;
	*since = b->deassign_ts;
	return vm;
}

/* Every uncovered or held fire of c is now lost or in flight; end_ts decides. */
static int judge_uncovered(struct cprv_analysis *a, struct an_ctx *c,
			   uint64_t end_ts, bool freed)
{
	uint64_t since = 0;
	const struct an_vm *dead = freed || !a->finished ? NULL : dead_consumer(a, c, &since);

	if (judge_run(a, c, c->fires, c->n_fires, c->ovf_n, c->ovf_first, &c->ovf_fire,
		      end_ts, freed, false, dead, since) ||
	    judge_run(a, c, c->held, c->n_held, c->held_ovf_n, c->held_ovf_first,
		      &c->held_ovf_fire, end_ts, freed, true, dead, since))
		return -ENOMEM;
	c->n_fires = 0;
	c->ovf_n = 0;
	c->n_held = 0;
	c->held_ovf_n = 0;
	return 0;
}

static int on_fire(struct cprv_analysis *a, const struct cprv_event *ev, uint64_t irq)
{
	struct an_ctx *c = an_ctx_get(a, ev->obj, true);
	struct an_lvec *lv = c ? an_ctx_lvec(a, c) : NULL;
	struct an_fire f = { .ts = ev->ts, .irq = irq, .pid = ev->pid, .src = ev->type };

	if (!lv)
		return -ENOMEM;
	an_cpr_fire(a, lv, &f);
	a->t.fires++;
	if (ev->type == CPRV_EV_EVENTFD_WRITE) {
		a->t.write_fires++;
		c->has_write = true;
		c->write_tid = ev->tid;
		c->write_pid = ev->pid;
	} else
		a->t.kernel_fires++;
	lv->pub.fires++;
	if (!lv->pending++)
		lv->first_pending_ts = ev->ts;
	if (c->n_fires < a->o.max_pending) {
		if (an_grow(&c->fires, &c->cap_fires, c->n_fires + 1, sizeof(*c->fires)))
			return -ENOMEM;
		c->fires[c->n_fires++] = f;
		return 0;
	}
	/* past the cap only the run's ends are kept: bounded by design */
	if (!c->ovf_n++)
		c->ovf_first = ev->ts;
	c->ovf_last = ev->ts;
	c->ovf_fire = f;
	a->t.overflow_fires++;
	return 0;
}

/* ---- VMs, routes, bindings ---- */

struct an_vm *an_vm_run_by(const struct cprv_analysis *a, uint32_t pid)
{
	struct an_vm *best = NULL;

	for (size_t i = 0; i < a->n_vm; i++) {
		struct an_vm *vm = a->vm_list[i];

		if (vm->pid == pid && !vm->gone && (!best || vm->created_ts >= best->created_ts))
			best = vm;
	}
	return best;
}

/* A new VM under kvm in the map (replacing whatever was there) and the list. */
static struct an_vm *vm_new(struct cprv_analysis *a, uint64_t kvm)
{
	struct an_vm *vm;

	if (an_grow(&a->vm_list, &a->cap_vm, a->n_vm + 1, sizeof(*a->vm_list)))
		return NULL;
	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return NULL;
	vm->kvm = kvm;
	if (an_map_put(&a->vms, kvm, vm)) {
		free(vm);
		return NULL;
	}
	a->vm_list[a->n_vm++] = vm;
	return vm;
}

struct an_vm *an_vm_get(struct cprv_analysis *a, uint64_t kvm, bool create)
{
	struct an_vm *vm = an_map_get(&a->vms, kvm);

	if (vm || !create)
		return vm;
	return vm_new(a, kvm);
}

const struct an_route *an_vm_route(const struct cprv_analysis *a, uint64_t kvm, uint32_t gsi)
{
	const struct an_vm *vm = an_map_get(&a->vms, kvm);

	for (size_t i = 0; vm && i < vm->n_routes; i++)
		if (vm->routes[i].gsi == gsi)
			return &vm->routes[i];
	return NULL;
}

bool an_route_traced(const struct cprv_analysis *a, uint64_t addr, uint64_t data)
{
	bool any = false;

	for (size_t i = 0; i < a->n_vm; i++) {
		const struct an_vm *vm = a->vm_list[i];

		for (size_t j = 0; j < vm->n_routes; j++) {
			any = true;
			if (vm->routes[j].addr == addr && vm->routes[j].data == data &&
			    an_map_get(&a->gsi_lv, vm->routes[j].gsi))
				return true;
		}
	}
	/* with no route seen at all nothing can be ruled out */
	return !any;
}

struct an_binding *an_binding_active(struct cprv_analysis *a, uint64_t kvm, uint32_t gsi)
{
	for (size_t i = 0; i < a->n_binds; i++)
		if (a->binds[i].active && a->binds[i].kvm == kvm && a->binds[i].gsi == gsi)
			return &a->binds[i];
	return NULL;
}

const struct an_binding *an_binding_last(const struct cprv_analysis *a, uint64_t ctx)
{
	const struct an_binding *best = NULL;

	for (size_t i = 0; i < a->n_binds; i++)
		if (!a->binds[i].active && a->binds[i].ctx == ctx &&
		    (!best || a->binds[i].deassign_ts >= best->deassign_ts))
			best = &a->binds[i];
	return best;
}

/* Ends binding i; keeps only the newest ended binding per ctx. */
static void binding_end(struct cprv_analysis *a, size_t i, uint64_t ts)
{
	uint64_t ctx = a->binds[i].ctx;

	a->binds_gen++;
	a->binds[i].active = false;
	a->binds[i].deassign_ts = ts;
	for (size_t j = 0; j < a->n_binds;) {
		if (j != i && !a->binds[j].active && a->binds[j].ctx == ctx) {
			a->binds[j] = a->binds[--a->n_binds];
			if (i == a->n_binds)
				i = j;
			continue;
		}
		j++;
	}
}

bool an_vm_bound(const struct cprv_analysis *a, uint64_t kvm)
{
	for (size_t i = 0; i < a->n_binds; i++)
		if (a->binds[i].active && a->binds[i].kvm == kvm)
			return true;
	return false;
}

void an_vm_end_bindings(struct cprv_analysis *a, uint64_t kvm, uint64_t ts)
{
	for (size_t i = 0; i < a->n_binds; i++)
		if (a->binds[i].active && a->binds[i].kvm == kvm)
			binding_end(a, i, ts);
}

static int on_irqfd(struct cprv_analysis *a, const struct cprv_event *ev)
{
	uint64_t ctx = ev->obj, kvm = ev->a[0];
	uint32_t gsi = (uint32_t)ev->a[1];

	if (ev->a[3] != 0)
		return 0; /* refused by KVM: nothing changed */
	if (ev->a[2] & CPRV_KVM_IRQFD_FLAG_DEASSIGN) {
		for (size_t i = 0; i < a->n_binds; i++) {
			struct an_binding *b = &a->binds[i];

			if (!b->active || b->kvm != kvm || b->gsi != gsi || (ctx && b->ctx != ctx))
				continue;
			struct an_binding copy = *b;
			binding_end(a, i, ev->ts);
			return an_cpr_deassign(a, &copy, ev->ts);
		}
		return 0;
	}
	struct an_ctx *c = an_ctx_get(a, ctx, true);
	struct an_lvec *glv = an_lvec_for_gsi(a, gsi);

	if (!c || !glv)
		return -ENOMEM;
	if (!c->lv) {
		c->lv = glv;
	} else if (!c->lv->pub.has_gsi) {
		if (an_lvec_merge(glv, c->lv))
			return -ENOMEM;
		c->lv = glv;
	}
	/* a ctx re-bound to another gsi stays on its first vector */
	if (c->lv == glv) {
		if (an_lvec_add_ctx(glv, ctx))
			return -ENOMEM;
		an_lvec_set_route(glv, an_vm_route(a, kvm, gsi));
	}
	if (an_grow(&a->binds, &a->cap_binds, a->n_binds + 1, sizeof(*a->binds)))
		return -ENOMEM;
	struct an_binding nb = { .ctx = ctx, .kvm = kvm, .gsi = gsi, .pid = ev->pid,
				 .assign_ts = ev->ts, .active = true };
	/* one eventfd, two VMs' irqfds: two consumers (R5) */
	struct an_binding overlap = { 0 };
	for (size_t i = 0; i < a->n_binds; i++)
		if (a->binds[i].active && a->binds[i].ctx == ctx && a->binds[i].kvm != kvm) {
			overlap = a->binds[i];
			if (an_rules_overlap(a, &a->binds[i], &nb))
				return -ENOMEM;
		}
	struct an_binding *b = &a->binds[a->n_binds++];
	*b = nb;
	a->binds_gen++;
	if (overlap.active) {
		an_replay_assign(c, b);
		return an_cpr_overlap(a, &overlap, b);
	}
	if (!an_vm_get(a, kvm, true))
		return -ENOMEM;
	an_replay_assign(c, b);
	return an_cpr_assign(a, b, ev->ts);
}

static int on_route(struct cprv_analysis *a, const struct cprv_event *ev)
{
	struct an_vm *vm = an_vm_get(a, ev->obj, true);
	uint32_t gsi = (uint32_t)ev->a[0];
	struct an_route *r = NULL;

	if (!vm)
		return -ENOMEM;
	/* upsert: KVM replaces the table per call, but a gsi keeps its entry */
	for (size_t i = 0; i < vm->n_routes; i++)
		if (vm->routes[i].gsi == gsi)
			r = &vm->routes[i];
	if (!r) {
		if (an_grow(&vm->routes, &vm->cap_routes, vm->n_routes + 1, sizeof(*vm->routes)))
			return -ENOMEM;
		r = &vm->routes[vm->n_routes++];
		r->gsi = gsi;
	}
	r->addr = ev->a[1];
	r->data = ev->a[2];
	if (an_binding_active(a, ev->obj, gsi)) {
		struct an_lvec *lv = an_lvec_for_gsi(a, gsi);
		if (!lv)
			return -ENOMEM;
		an_lvec_set_route(lv, r);
	}
	return 0;
}

/*
 * A new VM at the address of one seen before: the kernel freed the old
 * struct kvm and reused its memory (a cpr-exec does this readily, the old
 * VM dying in the exec just before the new one is made). The old VM lives
 * on in the analysis under an identity no kernel address can have (the
 * address's low 48 bits, a generation above them), so what it had pending
 * and the CPR cycle that replaced it still tell it from the new one.
 */
static int vm_retire(struct cprv_analysis *a, struct an_vm *old, uint64_t ts)
{
	uint64_t raw = old->kvm, id = (raw & 0xffffffffffffull) | (uint64_t)++a->vm_gen << 48;

	an_vm_end_bindings(a, raw, ts);
	if (!old->gone) {
		old->gone = true;
		old->gone_ts = ts;
		old->gone_how = CPRV_EV_KVM_CREATE_VM;
	}
	if (an_map_put(&a->vms, id, old))
		return -ENOMEM;
	old->kvm = id;
	for (size_t i = 0; i < a->n_binds; i++)
		if (a->binds[i].kvm == raw)
			a->binds[i].kvm = id;
	a->binds_gen++;
	for (size_t i = 0; i < a->n_cycles; i++) {
		if (a->cycles[i].old_vm == raw)
			a->cycles[i].old_vm = id;
		if (a->cycles[i].new_vm == raw)
			a->cycles[i].new_vm = id;
	}
	return vm_new(a, raw) ? 0 : -ENOMEM;
}

static int on_create_vm(struct cprv_analysis *a, const struct cprv_event *ev)
{
	struct an_vm *vm;

	if (!ev->obj)
		return 0;
	vm = an_vm_get(a, ev->obj, false);
	if (vm && vm_retire(a, vm, ev->ts))
		return -ENOMEM;
	vm = an_vm_get(a, ev->obj, true);
	if (!vm)
		return -ENOMEM;
	vm->created_ts = ev->ts;
	vm->pid = ev->pid;
	return 0;
}

static int on_eventfd_create(struct cprv_analysis *a, const struct cprv_event *ev)
{
	struct an_ctx *c = an_ctx_get(a, ev->obj, false);

	if (c && (c->n_fires || c->ovf_n || c->lv)) {
		/* the old eventfd was freed: nothing can cover its fires now */
		if (c->lv && judge_uncovered(a, c, ev->ts, true))
			return -ENOMEM;
		for (size_t i = 0; i < a->n_binds; i++)
			if (a->binds[i].active && a->binds[i].ctx == ev->obj)
				binding_end(a, i, ev->ts);
		c->gen++;
		c->lv = NULL;
		c->has_cover = false;
		c->has_read = false;
		c->has_write = false;
		c->write_pid = 0;
		memset(&c->replay, 0, sizeof(c->replay));
	}
	if (!c)
		c = an_ctx_get(a, ev->obj, true);
	if (!c)
		return -ENOMEM;
	c->lives++;
	c->created = true;
	c->created_ts = ev->ts;
	c->created_pid = ev->pid;
	return 0;
}

/* ---- processes ---- */

static struct an_proc *proc_get(struct cprv_analysis *a, uint32_t pid)
{
	struct an_proc *p = an_map_get(&a->procs, pid);

	if (p)
		return p;
	p = calloc(1, sizeof(*p));
	if (!p || an_map_put(&a->procs, pid, p)) {
		free(p);
		return NULL;
	}
	return p;
}

static int on_exec(struct cprv_analysis *a, const struct cprv_event *ev)
{
	struct an_proc *p = proc_get(a, ev->pid);

	if (!p)
		return -ENOMEM;
	cprv_event_comm(ev, p->comm);
	return 0;
}

static int on_fork(struct cprv_analysis *a, const struct cprv_event *ev)
{
	struct an_proc *parent = an_map_get(&a->procs, ev->pid);
	struct an_proc *child;

	if (!parent)
		return 0;
	child = proc_get(a, (uint32_t)ev->a[0]);
	if (!child)
		return -ENOMEM;
	memcpy(child->comm, parent->comm, sizeof(child->comm));
	return 0;
}

const char *cprv_analysis_comm(const struct cprv_analysis *a, uint32_t pid)
{
	const struct an_proc *p = an_map_get(&a->procs, pid);

	return p ? p->comm : NULL;
}

/* ---- dispatch ---- */

static bool kernel_fire(struct cprv_analysis *a, const struct cprv_event *ev)
{
	struct an_task *t;

	if (ev->type != a->t.kernel_fire_src)
		return false;
	if (ev->type != CPRV_EV_EVENTFD_SIGNAL)
		return true;
	/* if the probe also sees write()'s own signal, it is the same fire */
	t = an_map_get(&a->tasks, ev->tid);
	if (t && t->last_type == CPRV_EV_EVENTFD_WRITE && t->last_obj == ev->obj) {
		a->t.merged_signals++;
		return false;
	}
	return true;
}

int cprv_analysis_feed(struct cprv_analysis *a, const struct cprv_event *ev)
{
	int err = 0;

	if (a->finished)
		return -EINVAL;
	if (!a->started) {
		a->started = true;
		a->t.first_ts = ev->ts;
	}
	a->t.events++;
	if (ev->ts < a->t.last_ts)
		a->t.out_of_order++;
	else
		a->t.last_ts = ev->ts;
	if (off_path(a, ev)) {
		a->t.off_path_events++;
		return 0;
	}

	switch (ev->type) {
	case CPRV_EV_VFIO_IRQ:
		a->t.vfio_irqs++;
		break;
	case CPRV_EV_VFIO_MSIHANDLER: {
		struct an_ctx *c = an_ctx_get(a, ev->obj, true);
		if (!c || an_map_put(&a->irqs, ev->a[0], c))
			return -ENOMEM;
		if (kernel_fire(a, ev))
			err = on_fire(a, ev, ev->a[0]);
		break;
	}
	case CPRV_EV_EVENTFD_WRITE:
		err = on_fire(a, ev, 0);
		break;
	case CPRV_EV_EVENTFD_SIGNAL:
		if (kernel_fire(a, ev))
			err = on_fire(a, ev, 0);
		break;
	case CPRV_EV_EVENTFD_READ:
	case CPRV_EV_IRQFD_WAKEUP:
	case CPRV_EV_IRQFD_INJECT:
	case CPRV_EV_SET_IRQ_INATOMIC:
	case CPRV_EV_KVM_SET_MSI:
	case CPRV_EV_KVM_MSI_SET_IRQ:
	case CPRV_EV_APIC_ACCEPT:
		err = an_inject_event(a, ev);
		break;
	case CPRV_EV_PI_IRTE_UPDATE:
		a->t.posted_updates++;
		break;
	case CPRV_EV_KVM_CREATE_VM:
		err = on_create_vm(a, ev);
		if (!err)
			err = an_lapic_event(a, ev);
		an_cpr_activity(a);
		break;
	case CPRV_EV_KVM_GET_LAPIC:
	case CPRV_EV_KVM_SET_LAPIC:
	case CPRV_EV_APIC_DELIVER:
		err = an_lapic_event(a, ev);
		break;
	case CPRV_EV_CLOSE:
	case CPRV_EV_FD_RECV:
	case CPRV_EV_EXIT:
		err = an_rules_event(a, ev);
		if (!err)
			err = an_lapic_event(a, ev);
		if (ev->type != CPRV_EV_CLOSE)
			an_cpr_activity(a);
		break;
	case CPRV_EV_FD_SEND:
		an_cpr_activity(a);
		break;
	case CPRV_EV_VFIO_SET_IRQS:
	case CPRV_EV_VFIO_TRIGGER:
		err = an_rules_event(a, ev);
		break;
	case CPRV_EV_KVM_IRQFD:
		err = on_irqfd(a, ev);
		break;
	case CPRV_EV_KVM_ROUTE:
		err = on_route(a, ev);
		break;
	case CPRV_EV_EVENTFD_CREATE:
		err = on_eventfd_create(a, ev);
		break;
	case CPRV_EV_EXEC:
		err = on_exec(a, ev);
		if (!err)
			err = an_lapic_event(a, ev);
		an_cpr_activity(a);
		break;
	case CPRV_EV_FORK:
		err = on_fork(a, ev);
		if (!err)
			err = an_lapic_event(a, ev);
		if (ev->a[0] != ev->pid)
			an_cpr_activity(a);
		break;
	case CPRV_EV_MARK:
		err = an_cpr_mark(a, ev);
		break;
	case CPRV_EV_UPROBE:
		break; /* an_phase_event below */
	default:
		break;
	}
	if (!err && an_phase_wants(a, ev))
		err = an_phase_event(a, ev);
	if (err)
		return err;
	/* the write/signal merge needs each task's previous event */
	struct an_task *t = an_map_get(&a->tasks, ev->tid);
	if (t) {
		t->last_type = ev->type;
		t->last_obj = ev->obj;
	} else if (ev->type == CPRV_EV_EVENTFD_WRITE) {
		t = calloc(1, sizeof(*t));
		if (!t || an_map_put(&a->tasks, ev->tid, t)) {
			free(t);
			return -ENOMEM;
		}
		t->tid = ev->tid;
		t->pid = ev->pid;
		t->last_type = ev->type;
		t->last_obj = ev->obj;
	}
	return 0;
}

/* ---- finish and accessors ---- */

static int order_cmp(const void *x, const void *y)
{
	const struct an_lvec *a = *(struct an_lvec *const *)x, *b = *(struct an_lvec *const *)y;

	if (a->pub.has_gsi != b->pub.has_gsi)
		return a->pub.has_gsi ? -1 : 1;
	if (a->pub.has_gsi && a->pub.gsi != b->pub.gsi)
		return a->pub.gsi < b->pub.gsi ? -1 : 1;
	return a->order < b->order ? -1 : a->order > b->order;
}

int cprv_analysis_finish(struct cprv_analysis *a)
{
	uint64_t end = a->t.last_ts;

	if (a->finished)
		return -EINVAL;
	a->finished = true;
	if (an_inject_finish(a) || an_lapic_finish(a))
		return -ENOMEM;
	for (size_t i = 0; i < a->n_ctx; i++) {
		struct an_ctx *c = a->ctx_list[i];
		if (c->lv && judge_uncovered(a, c, end, false))
			return -ENOMEM;
	}
	an_cpr_finish(a);
	if (an_rules_finish(a))
		return -ENOMEM;
	a->order = calloc(a->n_lv ? a->n_lv : 1, sizeof(*a->order));
	if (!a->order)
		return -ENOMEM;
	for (size_t i = 0; i < a->n_lv; i++) {
		struct an_lvec *lv = a->lvs[i];
		if (lv->dead)
			continue;
		/* a vector still waiting at stop: its open interval counts */
		if (lv->pending) {
			uint64_t from = lv->has_delivery ? lv->last_delivery : lv->first_pending_ts;
			if (end - from > lv->pub.max_gap_ns)
				lv->pub.max_gap_ns = end - from;
		}
		a->order[a->n_order++] = lv;
	}
	qsort(a->order, a->n_order, sizeof(*a->order), order_cmp);
	return 0;
}

void cprv_analysis_set_dropped(struct cprv_analysis *a, uint64_t dropped)
{
	a->o.vis.dropped = dropped;
}

const struct cprv_analysis_opts *cprv_analysis_opts(const struct cprv_analysis *a)
{
	return &a->o;
}

const struct cprv_totals *cprv_analysis_totals(const struct cprv_analysis *a)
{
	return &a->t;
}

size_t cprv_analysis_n_vectors(const struct cprv_analysis *a)
{
	return a->n_order;
}

const struct cprv_vector *cprv_analysis_vector(const struct cprv_analysis *a, size_t i)
{
	return i < a->n_order ? &a->order[i]->pub : NULL;
}

size_t cprv_analysis_n_cycles(const struct cprv_analysis *a)
{
	return a->n_cycles;
}

const struct cprv_cycle *cprv_analysis_cycle(const struct cprv_analysis *a, size_t i)
{
	return i < a->n_cycles ? &a->cycles[i] : NULL;
}

size_t cprv_analysis_n_chains(const struct cprv_analysis *a, enum cprv_chain_kind k)
{
	return k < CPRV_CHAIN_KINDS ? a->chains[k].n : 0;
}

const struct cprv_chain *cprv_analysis_chain(const struct cprv_analysis *a,
					     enum cprv_chain_kind k, size_t i)
{
	return k < CPRV_CHAIN_KINDS && i < a->chains[k].n ? &a->chains[k].v[i] : NULL;
}

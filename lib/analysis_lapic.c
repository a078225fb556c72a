// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * What dies with a VM: interrupts its LAPIC accepted that its guest never
 * serviced. Servicing is seen only where a guest thread reads and rewrites
 * the IRR with KVM_GET_LAPIC / KVM_SET_LAPIC (the rig); a SET that clears
 * bits the preceding GET had set services those vectors. Injections
 * accepted for a vector after its last service are pending in the VM; when
 * the VM's last holder lets go (close, exit, exec: KVM fds are CLOEXEC)
 * they die, unless the vector was re-injected into another VM (a SET with
 * its IRR bit set, or a KVM_SIGNAL_MSI of it). The fires they covered are
 * then lost. A real guest services inside the vCPU: there KVM handing the
 * vector to the guest (kvm_inj_virq, in a vCPU thread of the VMM that runs
 * the VM) services every accept of it so far. A VM whose servicing was
 * never seen either way is not judged: the verdict says so.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "analysis_internal.h"
#include "event.h"

#define NVEC 256

bool an_lapic_visible(const struct cprv_analysis *a)
{
	return a->o.vis.live[CPRV_EV_KVM_GET_LAPIC] && a->o.vis.live[CPRV_EV_KVM_SET_LAPIC];
}

static bool irr_bit(const uint64_t irr[4], unsigned v)
{
	return irr[v / 64] >> (v % 64) & 1;
}

static struct an_holder *holder(struct an_vm *vm, uint32_t pid, bool create)
{
	for (size_t i = 0; i < vm->n_holders; i++)
		if (vm->holders[i].pid == pid)
			return &vm->holders[i];
	if (!create || an_grow(&vm->holders, &vm->cap_holders, vm->n_holders + 1,
			       sizeof(*vm->holders)))
		return NULL;
	vm->held_ever = true;
	vm->holders[vm->n_holders] = (struct an_holder){ .pid = pid };
	return &vm->holders[vm->n_holders++];
}

static void teardown(struct cprv_analysis *a, struct an_vm *vm, const struct cprv_event *ev)
{
	vm->gone = true;
	vm->gone_ts = ev->ts;
	vm->gone_pid = ev->pid;
	vm->gone_how = ev->type;
	a->t.vms_torn_down++;
	/* KVM releases a dying VM's irqfds with it */
	an_vm_end_bindings(a, vm->kvm, ev->ts);
	for (size_t i = 0; i < a->n_cycles; i++) {
		struct cprv_cycle *cy = &a->cycles[i];
		if (cy->old_vm == vm->kvm && !cy->old_vm_gone) {
			cy->old_vm_gone = true;
			cy->old_vm_gone_ns = ev->ts;
		}
	}
}

static void release(struct cprv_analysis *a, struct an_vm *vm, size_t i,
		    const struct cprv_event *ev)
{
	vm->holders[i] = vm->holders[--vm->n_holders];
	if (!vm->n_holders && !vm->gone)
		teardown(a, vm, ev);
}

/* A process let go of everything (exit; exec drops the CLOEXEC KVM fds). */
static void drop_pid(struct cprv_analysis *a, uint32_t pid, const struct cprv_event *ev)
{
	for (size_t v = 0; v < a->n_vm; v++) {
		struct an_vm *vm = a->vm_list[v];
		for (size_t i = 0; i < vm->n_holders; i++)
			if (vm->holders[i].pid == pid) {
				release(a, vm, i, ev);
				break;
			}
	}
}

static int on_fd(struct cprv_analysis *a, const struct cprv_event *ev, int delta)
{
	struct an_vm *vm;
	struct an_holder *h;

	if (ev->flags != CPRV_OBJ_KVM_VM && ev->flags != CPRV_OBJ_KVM_VCPU)
		return 0;
	vm = an_vm_get(a, ev->obj, delta > 0);
	if (!vm)
		return delta > 0 ? -ENOMEM : 0;
	h = holder(vm, ev->pid, delta > 0);
	if (!h)
		return delta > 0 ? -ENOMEM : 0;
	if (ev->flags == CPRV_OBJ_KVM_VM)
		h->vm_fds += delta;
	else if (delta > 0 || h->vcpu_fds > 0)
		h->vcpu_fds += delta; /* vCPU fds from KVM_CREATE_VCPU are not seen */
	if (delta < 0 && h->vm_fds <= 0 && h->vcpu_fds <= 0)
		release(a, vm, (size_t)(h - vm->holders), ev);
	return 0;
}

static int on_fork(struct cprv_analysis *a, const struct cprv_event *ev)
{
	uint32_t child = (uint32_t)ev->a[0];

	/* A thread shares its process's fds and is no holder of its own; a
	 * fork seen only by the classic tracepoint may be one, and a thread
	 * counted as a holder would keep every VM alive forever. So only a
	 * certain fork inherits VM fds (a real child process that silently
	 * keeps them is then missed: R6 may be held where it is not). */
	if (child == ev->pid || (ev->flags & CPRV_FORK_MAYBE_THREAD))
		return 0;
	for (size_t v = 0; v < a->n_vm; v++) {
		struct an_vm *vm = a->vm_list[v];
		struct an_holder *p = holder(vm, ev->pid, false), *c;
		if (!p || vm->gone)
			continue;
		struct an_holder copy = *p;
		c = holder(vm, child, true);
		if (!c)
			return -ENOMEM;
		c->vm_fds = copy.vm_fds;
		c->vcpu_fds = copy.vcpu_fds;
	}
	return 0;
}

/* The fires pending in vm for vector v are now lost: chain and counts. */
static int lose(struct cprv_analysis *a, struct an_vm *vm, unsigned v)
{
	struct an_lapic_pend *p = &vm->pend[v];
	struct cprv_chain *ch;
	uint64_t n = p->n_fires;
	int err;

	if (!n || !p->lv)
		return 0;
	a->t.lost += n;
	a->t.lapic_lost += n;
	a->t.delivered -= n;
	p->lv->pub.lost += n;
	p->lv->pub.delivered -= n;
	for (size_t i = a->n_cycles; i-- > 0;)
		if (a->cycles[i].old_vm == vm->kvm) {
			a->cycles[i].lost += n;
			break;
		}
	ch = an_chain_new(a, CPRV_CHAIN_LOST, p->first_fire_ts, p->first_fire_pid, p->ctx, p->lv);
	err = an_chain_add(ch, "%llu fires on ctx 0x%llx, the first at t=%.6f s (pid %u %s), covered by %llu injections of vector %u accepted into VM 0x%llx's LAPIC from t=%.6f s to t=%.6f s",
			   (unsigned long long)n, (unsigned long long)p->ctx,
			   an_rel(a, p->first_fire_ts), p->first_fire_pid, an_comm(a, p->first_fire_pid),
			   (unsigned long long)p->n_inj, v, (unsigned long long)vm->kvm,
			   an_rel(a, p->first_inj_ts), an_rel(a, p->last_inj_ts));
	if (!err && vm->last_service_ts[v])
		err = an_chain_add(ch, "the guest last serviced vector %u in VM 0x%llx at t=%.6f s (KVM_SET_LAPIC cleared its IRR bit, or KVM handed it to the vCPU)",
				   v, (unsigned long long)vm->kvm, an_rel(a, vm->last_service_ts[v]));
	else if (!err)
		err = an_chain_add(ch, "the guest never serviced vector %u in VM 0x%llx", v,
				   (unsigned long long)vm->kvm);
	if (!err)
		err = an_chain_add(ch, "VM 0x%llx torn down at t=%.6f s: its last holder, pid %u (%s), %s",
				   (unsigned long long)vm->kvm, an_rel(a, vm->gone_ts), vm->gone_pid,
				   an_comm(a, vm->gone_pid),
				   vm->gone_how == CPRV_EV_KVM_CREATE_VM ? "let go unseen (a new VM took its address)" :
				   vm->gone_how == CPRV_EV_CLOSE ? "closed its VM fd" :
				   vm->gone_how == CPRV_EV_EXEC ? "exec'd (KVM fds are CLOEXEC)" : "exited");
	if (!err)
		err = an_chain_add(ch, "LAPIC-lost: vector %u never re-injected into another VM (no KVM_SET_LAPIC with IRR bit %u set, no KVM_SIGNAL_MSI of it)",
				   v, v);
	memset(p, 0, sizeof(*p));
	return err;
}

/* Vector v reached another VM than x: what x had pending for it is delivered. */
static void carry(struct cprv_analysis *a, uint64_t into, unsigned v)
{
	for (size_t i = 0; i < a->n_vm; i++) {
		struct an_vm *x = a->vm_list[i];
		if (x->kvm == into || !x->pend || !x->pend[v].n_fires)
			continue;
		a->t.lapic_carried += x->pend[v].n_fires;
		memset(&x->pend[v], 0, sizeof(x->pend[v]));
	}
}

static int on_lapic(struct cprv_analysis *a, const struct cprv_event *ev)
{
	struct an_vm *vm = an_vm_get(a, ev->obj, true);
	const uint64_t irr[4] = { ev->a[0], ev->a[1], ev->a[2], ev->a[3] };

	if (!vm)
		return -ENOMEM;
	if (ev->type == CPRV_EV_KVM_GET_LAPIC) {
		vm->has_get = true;
		memcpy(vm->irr_get, irr, sizeof(vm->irr_get));
		return 0;
	}
	for (unsigned v = 0; v < NVEC; v++) {
		if (irr_bit(irr, v)) {
			carry(a, vm->kvm, v);
			continue;
		}
		if (!vm->has_get || !irr_bit(vm->irr_get, v))
			continue;
		/* the guest took v: what was accepted for it is serviced */
		vm->last_service_ts[v] = ev->ts;
		if (vm->pend)
			memset(&vm->pend[v], 0, sizeof(vm->pend[v]));
	}
	if (vm->has_get) {
		vm->serviced = true;
		a->t.lapic_checked = true;
	}
	vm->has_get = false;
	return 0;
}

static int on_deliver(struct cprv_analysis *a, const struct cprv_event *ev)
{
	struct an_vm *vm = an_vm_run_by(a, ev->pid);
	unsigned v = ev->a[0] & 0xff;

	if (!vm)
		return 0;
	/* events come in time order: all that is pending was accepted before */
	vm->last_service_ts[v] = ev->ts;
	if (vm->pend)
		memset(&vm->pend[v], 0, sizeof(vm->pend[v]));
	vm->serviced = true;
	a->t.lapic_checked = true;
	return 0;
}

int an_lapic_injection(struct cprv_analysis *a, uint64_t kvm, const struct an_inj *in,
		       struct an_ctx *c, uint64_t n, const struct an_fire *f)
{
	struct an_vm *vm;
	struct an_lapic_pend *p;
	unsigned v = in->vector & 0xff;

	if (!an_lapic_visible(a) || !kvm)
		return 0;
	if (in->tag == CPRV_CTX_SIGNAL_MSI)
		carry(a, kvm, v);
	if (!n || (a->o.vis.live[CPRV_EV_APIC_ACCEPT] && !in->accepted))
		return 0;
	vm = an_vm_get(a, kvm, true);
	if (!vm)
		return -ENOMEM;
	if (!vm->pend && !(vm->pend = calloc(NVEC, sizeof(*vm->pend))))
		return -ENOMEM;
	p = &vm->pend[v];
	if (!p->n_inj) {
		p->lv = c->lv;
		p->ctx = c->addr;
		p->first_inj_ts = in->ts;
		p->first_fire_ts = f->ts;
		p->first_fire_pid = f->pid;
		p->cycle = f->cycle;
	}
	p->n_inj++;
	p->n_fires += n;
	p->last_inj_ts = in->ts;
	return 0;
}

int an_lapic_event(struct cprv_analysis *a, const struct cprv_event *ev)
{
	switch (ev->type) {
	case CPRV_EV_KVM_CREATE_VM: {
		struct an_vm *vm;
		struct an_holder *h;

		if (!ev->obj)
			return 0;
		/* fresh: a VM at a reused address was retired (analysis.c) */
		vm = an_vm_get(a, ev->obj, true);
		if (!vm)
			return -ENOMEM;
		h = holder(vm, ev->pid, true);
		if (!h)
			return -ENOMEM;
		h->vm_fds = 1;
		return 0;
	}
	case CPRV_EV_KVM_GET_LAPIC:
	case CPRV_EV_KVM_SET_LAPIC:
		return on_lapic(a, ev);
	case CPRV_EV_APIC_DELIVER:
		return on_deliver(a, ev);
	case CPRV_EV_FD_RECV:
		return on_fd(a, ev, 1);
	case CPRV_EV_CLOSE:
		return on_fd(a, ev, -1);
	case CPRV_EV_EXIT:
		drop_pid(a, ev->pid, ev);
		return 0;
	case CPRV_EV_EXEC:
		drop_pid(a, ev->pid, ev);
		if (ev->a[0] && ev->a[0] != ev->pid)
			drop_pid(a, (uint32_t)ev->a[0], ev);
		return 0;
	case CPRV_EV_FORK:
		return on_fork(a, ev);
	}
	return 0;
}

/* Only a VM a live update replaced dies with interrupts in it: the last
 * VM of a run is shut down on purpose, and nothing follows it. */
static bool replaced_by_cpr(const struct cprv_analysis *a, uint64_t kvm)
{
	for (size_t i = 0; i < a->n_cycles; i++)
		if (a->cycles[i].old_vm == kvm && a->cycles[i].new_vm && a->cycles[i].new_vm != kvm)
			return true;
	return false;
}

int an_lapic_finish(struct cprv_analysis *a)
{
	if (!an_lapic_visible(a))
		return 0;
	for (size_t i = 0; i < a->n_vm; i++) {
		struct an_vm *vm = a->vm_list[i];
		if (!vm->gone || !vm->serviced || !vm->pend || !replaced_by_cpr(a, vm->kvm))
			continue;
		for (unsigned v = 0; v < NVEC; v++)
			if (lose(a, vm, v))
				return -ENOMEM;
	}
	return 0;
}

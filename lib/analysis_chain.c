// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Evidence chains: the lines of text that say why a fire counts as lost or
 * an injection as a duplicate, unattributed or ambiguous. At most
 * max_chains are kept per kind; the totals count them all.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis_internal.h"
#include "event.h"

double an_rel(const struct cprv_analysis *a, uint64_t ts)
{
	return ts >= a->t.first_ts ? (double)(ts - a->t.first_ts) / 1e9 :
				     -(double)(a->t.first_ts - ts) / 1e9;
}

const char *an_comm(const struct cprv_analysis *a, uint32_t pid)
{
	const char *c = cprv_analysis_comm(a, pid);

	return c && *c ? c : "?";
}

struct cprv_chain *an_chain_new(struct cprv_analysis *a, enum cprv_chain_kind k,
				uint64_t ts, uint32_t pid, uint64_t ctx,
				const struct an_lvec *lv)
{
	struct an_chainlist *l = &a->chains[k];
	struct cprv_chain *c;

	if (l->n >= a->o.max_chains ||
	    an_grow(&l->v, &l->cap, l->n + 1, sizeof(*l->v)))
		return NULL; /* out of memory only costs the evidence, not the count */
	c = &l->v[l->n++];
	memset(c, 0, sizeof(*c));
	c->ts = ts;
	c->pid = pid;
	c->ctx = ctx;
	if (lv && lv->pub.has_gsi) {
		c->has_gsi = true;
		c->gsi = lv->pub.gsi;
	}
	return c;
}

int an_chain_add(struct cprv_chain *c, const char *fmt, ...)
{
	va_list ap;
	char *s, **v;
	int n;

	if (!c)
		return 0;
	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	v = realloc(c->lines, (c->n_lines + 1) * sizeof(*v));
	if (!v) {
		free(s);
		return -ENOMEM;
	}
	c->lines = v;
	c->lines[c->n_lines++] = s;
	return 0;
}

void an_chain_free_all(struct cprv_analysis *a)
{
	for (int k = 0; k < CPRV_CHAIN_KINDS; k++) {
		for (size_t i = 0; i < a->chains[k].n; i++) {
			struct cprv_chain *c = &a->chains[k].v[i];
			for (size_t j = 0; j < c->n_lines; j++)
				free(c->lines[j]);
			free(c->lines);
		}
		free(a->chains[k].v);
	}
}

int an_chain_injection(struct cprv_analysis *a, struct cprv_chain *c,
		       const struct an_inj *in)
{
	int err;

	if (!c)
		return 0;
	err = an_chain_add(c, "kvm_msi_set_irq at t=%.6f s: address 0x%llx data 0x%llx (vector %u), tid %u pid %u (%s)",
			   an_rel(a, in->msi_ts), (unsigned long long)in->addr,
			   (unsigned long long)in->data, (unsigned)(in->data & 0xff),
			   in->tid, in->pid, an_comm(a, in->pid));
	if (err)
		return err;
	if (in->accepted)
		err = an_chain_add(c, "kvm_apic_accept_irq at t=%.6f s: apic %u vector %u",
				   an_rel(a, in->accept_ts), in->apicid, in->vector);
	else if (!a->o.vis.live[CPRV_EV_APIC_ACCEPT])
		err = an_chain_add(c, "LAPIC accept not visible: counted as delivered");
	if (!err)
		err = an_chain_add(c, "context: %s, obj 0x%llx, aux %llu", cprv_ctx_kind_name(in->tag),
				   (unsigned long long)in->tag_obj, (unsigned long long)in->tag_aux);
	if (!err && in->ev_kvm_gsi)
		err = an_chain_add(c, "kvm_set_msi probe: VM 0x%llx gsi %u",
				   (unsigned long long)in->ev_kvm, in->ev_gsi);
	if (!err && in->ev_ctx)
		err = an_chain_add(c, "%s on ctx 0x%llx", cprv_event_type_name(in->ev_ctx_src),
				   (unsigned long long)in->ev_ctx);
	return err;
}

/* What the ctx's irqfd bindings looked like at the fire and after it. */
static int chain_bindings(struct cprv_analysis *a, struct cprv_chain *ch,
			  const struct an_ctx *c, const struct an_fire *f)
{
	const struct an_binding *ended = an_binding_last(a, c->addr);
	bool bound_at_fire = false, later = false;
	int err = 0;

	for (size_t i = 0; !err && i < a->n_binds; i++) {
		const struct an_binding *b = &a->binds[i];
		if (!b->active || b->ctx != c->addr)
			continue;
		if (b->assign_ts <= f->ts) {
			bound_at_fire = true;
			err = an_chain_add(ch, "at the fire: ctx bound to gsi %u of VM 0x%llx since t=%.6f s, yet no injection followed",
					   b->gsi, (unsigned long long)b->kvm, an_rel(a, b->assign_ts));
		} else {
			later = true;
			err = an_chain_add(ch, "ctx re-attached to gsi %u of VM 0x%llx at t=%.6f s, but no injection covered the fire",
					   b->gsi, (unsigned long long)b->kvm, an_rel(a, b->assign_ts));
		}
	}
	if (err)
		return err;
	if (ended && ended->deassign_ts <= f->ts && !bound_at_fire)
		err = an_chain_add(ch, "at the fire: irqfd on gsi %u of VM 0x%llx deassigned at t=%.6f s",
				   ended->gsi, (unsigned long long)ended->kvm,
				   an_rel(a, ended->deassign_ts));
	else if (ended && ended->assign_ts <= f->ts && !bound_at_fire)
		err = an_chain_add(ch, "at the fire: ctx bound to gsi %u of VM 0x%llx, deassigned later at t=%.6f s",
				   ended->gsi, (unsigned long long)ended->kvm,
				   an_rel(a, ended->deassign_ts));
	else if (!ended && !bound_at_fire && !later)
		err = an_chain_add(ch, "ctx never bound to a KVM irqfd");
	if (!err && !later && !bound_at_fire && ended)
		err = an_chain_add(ch, "ctx never re-attached");
	/* who took over the gsi: a new eventfd instead of the preserved one */
	uint32_t gsi = ended ? ended->gsi : (c->lv && c->lv->pub.has_gsi ? c->lv->pub.gsi : 0);
	bool have_gsi = ended || (c->lv && c->lv->pub.has_gsi);
	for (size_t i = 0; !err && have_gsi && i < a->n_binds; i++) {
		const struct an_binding *b = &a->binds[i];
		if (b->active && b->gsi == gsi && b->ctx != c->addr)
			err = an_chain_add(ch, "VM 0x%llx attached ctx 0x%llx on gsi %u at t=%.6f s",
					   (unsigned long long)b->kvm, (unsigned long long)b->ctx,
					   gsi, an_rel(a, b->assign_ts));
	}
	return err;
}

int an_chain_lost(struct cprv_analysis *a, const struct an_ctx *c,
		  const struct an_fire *f, uint64_t end_ts, bool held, uint64_t ovf_n,
		  const struct an_vm *dead)
{
	struct cprv_chain *ch = an_chain_new(a, CPRV_CHAIN_LOST, f->ts, f->pid, c->addr, c->lv);
	int err;

	if (!ch)
		return 0;
	if (f->src == CPRV_EV_VFIO_MSIHANDLER)
		err = an_chain_add(ch, "fire: vfio_msihandler irq %llu on ctx 0x%llx at t=%.6f s (pid %u %s)",
				   (unsigned long long)f->irq, (unsigned long long)c->addr,
				   an_rel(a, f->ts), f->pid, an_comm(a, f->pid));
	else
		err = an_chain_add(ch, "fire: %s on ctx 0x%llx at t=%.6f s by pid %u (%s)",
				   cprv_event_type_name(f->src), (unsigned long long)c->addr,
				   an_rel(a, f->ts), f->pid, an_comm(a, f->pid));
	if (!err && ovf_n)
		err = an_chain_add(ch, "one of %llu fires past the per-ctx cap, the last at t=%.6f s",
				   (unsigned long long)ovf_n, an_rel(a, f->ts));
	if (!err)
		err = chain_bindings(a, ch, c, f);
	if (!err && f->cycle) {
		const struct cprv_cycle *cy = &a->cycles[f->cycle - 1];
		err = an_chain_add(ch, "fired during cpr #%u (VM 0x%llx -> VM 0x%llx, detach at t=%.6f s)",
				   f->cycle, (unsigned long long)cy->old_vm,
				   (unsigned long long)cy->new_vm, an_rel(a, cy->start_ns));
	}
	if (!err && held)
		err = an_chain_add(ch, "held by pid %u (%s): its read() at t=%.6f s took the fire out of the eventfd counter; no KVM_SIGNAL_MSI of the vector's route followed, and no irqfd can see it any more",
				   c->held_pid, an_comm(a, c->held_pid), an_rel(a, c->held_ts));
	else if (!err && c->has_read && c->read_ts >= f->ts)
		err = an_chain_add(ch, "counter drained by read() of %llu in pid %u (%s) at t=%.6f s",
				   (unsigned long long)c->read_val, c->read_pid,
				   an_comm(a, c->read_pid), an_rel(a, c->read_ts));
	if (!err && c->has_cover)
		err = an_chain_add(ch, "last injection on this ctx: t=%.6f s (%s)",
				   an_rel(a, c->cover.ts), cprv_ctx_kind_name(c->cover.tag));
	if (!err && !end_ts)
		err = an_chain_add(ch, "eventfd freed: its address was reused by a new eventfd");
	else if (!err && dead)
		err = an_chain_add(ch, "no injection covered it: no irqfd took the eventfd after VM 0x%llx, torn down at t=%.6f s; nothing could inject it any more",
				   (unsigned long long)dead->kvm, an_rel(a, dead->gone_ts));
	else if (!err)
		err = an_chain_add(ch, "no injection covered it; the trace ran %.1f ms past it (settle %.1f ms)",
				   (double)(end_ts - f->ts) / 1e6, (double)a->o.settle_ns / 1e6);
	return err;
}

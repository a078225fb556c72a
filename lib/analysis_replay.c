// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * KVM's irqfd-assign replay racing a new signal. On KVM_IRQFD assign,
 * kvm_irqfd_assign polls the eventfd and, if it has a count, schedules
 * irqfd_inject in a kworker; that replay injects without reading the
 * counter. If the device signals again before the kworker runs,
 * irqfd_wakeup drains the counter and injects on the fast path, covering
 * every fire, and the replay then injects once more with nothing left: the
 * guest gets one spurious edge MSI of KVM's making. The signature is kept
 * strict so that every other injection with nothing to cover (a VMM
 * re-injecting by hand, a second replay) stays a duplicate.
 */
#include <errno.h>

#include "analysis_internal.h"
#include "event.h"

void an_replay_assign(struct an_ctx *c, const struct an_binding *b)
{
	/* KVM polls at assign: our uncovered fires stand for the count it saw */
	c->replay = (struct an_replay){
		.armed = c->n_fires + c->ovf_n > 0,
		.assign_ts = b->assign_ts, .kvm = b->kvm, .gsi = b->gsi, .pid = b->pid,
		.pending = c->n_fires + c->ovf_n,
	};
}

static bool gsi_bound_to(const struct cprv_analysis *a, uint64_t ctx, uint32_t gsi)
{
	for (size_t i = 0; i < a->n_binds; i++)
		if (a->binds[i].active && a->binds[i].ctx == ctx && a->binds[i].gsi == gsi)
			return true;
	return false;
}

bool an_replay_workqueue(const struct cprv_analysis *a, const struct an_ctx *c,
			 const struct an_inj *in)
{
	switch (in->tag) {
	case CPRV_CTX_KVM_SET_IRQ:
		/* kvm_set_irq(level 1) is irqfd_inject's; the fast path skips it */
		return gsi_bound_to(a, c->addr, (uint32_t)in->tag_aux);
	case CPRV_CTX_IRQFD:
		/* the same tag comes from irqfd_wakeup (fast path) and irqfd_inject */
		if (in->ev_ctx == c->addr && in->ev_ctx_src == CPRV_EV_IRQFD_INJECT)
			return true;
		if (in->ev_ctx == c->addr && in->ev_ctx_src == CPRV_EV_IRQFD_WAKEUP)
			return false;
		/* no function event: the fast path runs in the writer's task */
		return !in->ev_ctx && !(c->has_write && c->write_tid == in->tid);
	default:
		return false;
	}
}

/* An injection inside a signal of c: irqfd_wakeup, in a write or a hard irq. */
static bool fast_path(const struct an_inj *in, bool wq)
{
	return in->tag == CPRV_CTX_EVENTFD_WRITE || in->tag == CPRV_CTX_HARDIRQ ||
	       (in->tag == CPRV_CTX_IRQFD && !wq);
}

static int chain_race(struct cprv_analysis *a, struct an_ctx *c, const struct an_inj *in)
{
	const struct an_replay *r = &c->replay;
	struct cprv_chain *ch = an_chain_new(a, CPRV_CHAIN_REPLAY_RACE, in->ts, in->pid,
					     c->addr, c->lv);
	int err;

	err = an_chain_add(ch, "KVM_IRQFD assign of ctx 0x%llx to gsi %u of VM 0x%llx at t=%.6f s (pid %u %s) with %llu fires waiting: KVM scheduled its replay (irqfd_inject)",
			   (unsigned long long)c->addr, r->gsi, (unsigned long long)r->kvm,
			   an_rel(a, r->assign_ts), r->pid, an_comm(a, r->pid),
			   (unsigned long long)r->pending);
	if (!err)
		err = an_chain_add(ch, "a new signal got there first: its fast-path injection at t=%.6f s (tid %u pid %u %s, context %s) covered %llu fires, the last at t=%.6f s (pid %u %s)",
				   an_rel(a, r->cover.ts), r->cover.tid, r->cover.pid,
				   an_comm(a, r->cover.pid), cprv_ctx_kind_name(r->cover.tag),
				   (unsigned long long)r->cover_n, an_rel(a, r->cover_last_fire_ts),
				   r->cover_last_fire_pid, an_comm(a, r->cover_last_fire_pid));
	if (!err)
		err = an_chain_injection(a, ch, in);
	if (!err)
		err = an_chain_add(ch, "the replay, first workqueue injection since the assign, found nothing to cover: KVM re-injected (legal for an edge MSI, not the VMM's doing)");
	return err;
}

int an_replay_injection(struct cprv_analysis *a, struct an_ctx *c, const struct an_inj *in,
			uint64_t k, bool *race)
{
	struct an_replay *r = &c->replay;
	bool wq = an_replay_workqueue(a, c, in);
	bool armed = r->armed;

	*race = false;
	if (!armed)
		return 0;
	if (wq)
		r->armed = false; /* the replay ran (or merged into this work item) */
	if (k) {
		if (!wq && !r->covered) {
			r->covered = true;
			r->cover_fast = fast_path(in, wq);
			r->cover = *in;
			r->cover_n = k;
			const struct an_fire *last = c->ovf_n ? &c->ovf_fire :
							      &c->fires[c->n_fires - 1];
			r->cover_last_fire_ts = last->ts;
			r->cover_last_fire_pid = last->pid;
		}
		return 0;
	}
	if (!wq || !r->covered || !r->cover_fast)
		return 0;
	*race = true;
	a->t.replay_races++;
	c->lv->pub.replay_races++;
	return chain_race(a, c, in);
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Injections: pairs kvm_msi_set_irq with its LAPIC accept, names the eventfd
 * ctx behind it (the tracepoint has no kvm pointer: the BPF side's context
 * tag, function-probe evidence and the MSI routes do), then lets it cover
 * that ctx's uncovered fires or counts it as a duplicate (or, for KVM's
 * assign replay racing a new signal, as a replay race: analysis_replay.c).
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "analysis_internal.h"
#include "event.h"

#define MAX_CAND 16

struct an_cand {
	struct an_ctx *c;
	uint64_t kvm;
	uint32_t gsi;
	uint64_t assign_ts;
};

struct an_attr {
	struct an_ctx *ctx;
	const char *how;
	bool user;              /* user space injected (KVM_SIGNAL_MSI): may cover held fires */
	bool ambiguous, material;
	bool other_vm;          /* a workqueue injection none of ours can explain */
	size_t n_cand;
	struct an_cand cand[MAX_CAND]; /* last: read only below n_cand, never cleared */
};

static struct an_task *task_get(struct cprv_analysis *a, const struct cprv_event *ev)
{
	struct an_task *t = an_map_get(&a->tasks, ev->tid);

	if (t)
		return t;
	t = calloc(1, sizeof(*t));
	if (!t || an_map_put(&a->tasks, ev->tid, t)) {
		free(t);
		return NULL;
	}
	t->tid = ev->tid;
	t->pid = ev->pid;
	return t;
}

static uint64_t uncovered(const struct an_ctx *c)
{
	return c->n_fires + c->ovf_n;
}

static uint64_t held_n(const struct an_ctx *c)
{
	return c->n_held + c->held_ovf_n;
}

/* What an injection could cover: the counter, and for user space what it holds. */
static uint64_t waiting(const struct an_ctx *c, bool user)
{
	return uncovered(c) + (user ? held_n(c) : 0);
}

/* One candidate per ctx; the newest binding speaks for it. */
static void cand_add(struct an_attr *r, const struct an_binding *b, struct an_ctx *c)
{
	for (size_t i = 0; i < r->n_cand; i++) {
		if (r->cand[i].c == c) {
			if (b->assign_ts > r->cand[i].assign_ts)
				r->cand[i] = (struct an_cand){ c, b->kvm, b->gsi, b->assign_ts };
			return;
		}
	}
	if (r->n_cand < MAX_CAND)
		r->cand[r->n_cand++] = (struct an_cand){ c, b->kvm, b->gsi, b->assign_ts };
}

static bool route_is(const struct cprv_analysis *a, uint64_t kvm, uint32_t gsi,
		     uint64_t addr, uint64_t data)
{
	const struct an_route *rt = an_vm_route(a, kvm, gsi);

	return rt && rt->addr == addr && rt->data == data;
}

/*
 * Active bindings that match: gsi (or any when !use_gsi), kvm (or any when
 * 0), route (when want_route). Returns the number found.
 */
static size_t collect(struct cprv_analysis *a, struct an_attr *r, bool use_gsi,
		      uint32_t gsi, uint64_t kvm, bool want_route, uint64_t addr,
		      uint64_t data)
{
	r->n_cand = 0;
	for (size_t i = 0; i < a->n_binds; i++) {
		const struct an_binding *b = &a->binds[i];

		if (!b->active || (use_gsi && b->gsi != gsi) || (kvm && b->kvm != kvm))
			continue;
		if (want_route && !route_is(a, b->kvm, b->gsi, addr, data))
			continue;
		struct an_ctx *c = an_ctx_get(a, b->ctx, true);
		if (c)
			cand_add(r, b, c);
	}
	return r->n_cand;
}

/*
 * Several ctxs could have produced this injection: the one with fires
 * waiting wins; past that it is a guess (newest assign), and it says so.
 */
static void choose(struct an_attr *r)
{
	size_t with = 0, pick = 0;
	bool u = r->user;

	if (!r->n_cand)
		return;
	if (r->n_cand == 1) {
		r->ctx = r->cand[0].c;
		return;
	}
	for (size_t i = 0; i < r->n_cand; i++)
		if (waiting(r->cand[i].c, u))
			with++, pick = i;
	if (with == 1) {
		r->ctx = r->cand[pick].c;
		return;
	}
	bool only_with = with > 0;
	long best = -1;
	for (size_t i = 0; i < r->n_cand; i++) {
		if (only_with && !waiting(r->cand[i].c, u))
			continue;
		if (best < 0 || r->cand[i].assign_ts > r->cand[best].assign_ts)
			best = (long)i;
	}
	r->ctx = r->cand[best].c;
	r->ambiguous = true;
	/* if no candidate had fires waiting, any choice is a duplicate */
	r->material = only_with;
}

/*
 * Unbound ctxs with fires waiting whose gsi routes (addr, data) in VM kvm:
 * a VMM that read a masked vector's eventfd sends its MSI by hand.
 */
static void collect_held(struct cprv_analysis *a, struct an_attr *r, uint64_t kvm,
			 uint64_t addr, uint64_t data)
{
	for (size_t i = 0; i < a->n_ctx; i++) {
		struct an_ctx *c = a->ctx_list[i];
		struct an_binding fake;

		if (!waiting(c, true) || !c->lv || !c->lv->pub.has_gsi ||
		    !route_is(a, kvm, c->lv->pub.gsi, addr, data))
			continue;
		fake = (struct an_binding){ .ctx = c->addr, .kvm = kvm, .gsi = c->lv->pub.gsi,
					    .assign_ts = c->held_ts };
		cand_add(r, &fake, c);
	}
}

#define WQ_AFTER_ASSIGN_NS (50ull * 1000 * 1000)

static void by_kvm_set_irq(struct cprv_analysis *a, const struct an_inj *in, struct an_attr *r)
{
	uint32_t gsi = (uint32_t)in->tag_aux;
	uint64_t kvm = in->ev_kvm_gsi && in->ev_gsi == gsi ? in->ev_kvm : 0;

	r->how = "kvm_set_irq (irqfd_inject workqueue or replay on assign)";
	/* narrow by VM then route, but never to nothing: our tables may lag */
	if (!(kvm && collect(a, r, true, gsi, kvm, true, in->addr, in->data)) &&
	    !(kvm && collect(a, r, true, gsi, kvm, false, 0, 0)) &&
	    !collect(a, r, true, gsi, 0, true, in->addr, in->data))
		collect(a, r, true, gsi, 0, false, 0, 0);
	/*
	 * The tracepoints name no VM, and every VM has its gsi 0, 1, ... with
	 * the same MSI address and often the same vectors. Ours go through
	 * the workqueue when an assign found fires waiting (KVM's replay, a
	 * kworker within a ms or so of the assign): with no VM named, a
	 * candidate with no replay armed, no fire waiting and no assign in
	 * the last WQ_AFTER_ASSIGN_NS did not ask for this one. If none did,
	 * it is another VM's.
	 */
	if (!kvm && r->n_cand) {
		size_t k = 0;

		for (size_t i = 0; i < r->n_cand; i++)
			if (r->cand[i].c->replay.armed || waiting(r->cand[i].c, false) ||
			    in->ts - r->cand[i].assign_ts < WQ_AFTER_ASSIGN_NS)
				r->cand[k++] = r->cand[i];
		if (!k) {
			r->other_vm = true;
			r->n_cand = 0;
			return;
		}
		r->n_cand = k;
	}
	choose(r);
}

static void attribute(struct cprv_analysis *a, const struct an_inj *in, struct an_attr *r)
{
	memset(r, 0, offsetof(struct an_attr, cand));
	switch (in->tag) {
	case CPRV_CTX_EVENTFD_WRITE:
	case CPRV_CTX_IRQFD:
		if (in->tag_obj) {
			r->ctx = an_ctx_get(a, in->tag_obj, true);
			r->how = in->tag == CPRV_CTX_IRQFD ? "irqfd_wakeup/irqfd_inject" :
				 "irqfd fast path inside write()";
		}
		break;
	case CPRV_CTX_KVM_SET_IRQ:
		by_kvm_set_irq(a, in, r);
		if (r->other_vm)
			return;
		break;
	case CPRV_CTX_SIGNAL_MSI:
		r->how = "KVM_SIGNAL_MSI";
		r->user = true;
		collect(a, r, false, 0, in->tag_obj, true, in->addr, in->data);
		collect_held(a, r, in->tag_obj, in->addr, in->data);
		choose(r);
		break;
	case CPRV_CTX_HARDIRQ:
		r->ctx = an_map_get(&a->irqs, in->tag_aux);
		r->how = "vfio hard irq";
		break;
	}
	if (r->ctx || r->n_cand)
		return;
	if (in->ev_ctx) {
		r->ctx = an_ctx_get(a, in->ev_ctx, true);
		r->user = in->ev_ctx_src == CPRV_EV_EVENTFD_READ;
		r->how = r->user ? "read() of the eventfd then KVM_SIGNAL_MSI" : "irqfd function probe";
		return;
	}
	if (in->ev_kvm_gsi) {
		struct an_binding *b = an_binding_active(a, in->ev_kvm, in->ev_gsi);
		if (b) {
			r->ctx = an_ctx_get(a, b->ctx, true);
			r->how = "kvm_set_msi/kvm_arch_set_irq_inatomic probe";
			return;
		}
	}
	/* last resort: a route only one bound vector has */
	if (collect(a, r, false, 0, 0, true, in->addr, in->data) == 1) {
		r->ctx = r->cand[0].c;
		r->how = "unique MSI route";
	}
}

static int note_ambiguous(struct cprv_analysis *a, const struct an_inj *in,
			  const struct an_attr *r)
{
	struct cprv_chain *ch = an_chain_new(a, CPRV_CHAIN_AMBIGUOUS, in->ts, in->pid,
					     r->ctx->addr, r->ctx->lv);
	int err = an_chain_injection(a, ch, in);

	for (size_t i = 0; !err && i < r->n_cand; i++)
		err = an_chain_add(ch, "candidate: ctx 0x%llx on gsi %u of VM 0x%llx, assigned at t=%.6f s, %llu fires waiting",
				   (unsigned long long)r->cand[i].c->addr, r->cand[i].gsi,
				   (unsigned long long)r->cand[i].kvm, an_rel(a, r->cand[i].assign_ts),
				   (unsigned long long)uncovered(r->cand[i].c));
	if (!err)
		err = an_chain_add(ch, "attributed to ctx 0x%llx (newest assign)%s",
				   (unsigned long long)r->ctx->addr,
				   r->material ? "" : "; no candidate had fires waiting");
	return err;
}

static int note_unattributed(struct cprv_analysis *a, const struct an_inj *in,
			     const struct an_attr *r)
{
	bool material = an_route_traced(a, in->addr, in->data);

	if (!material) {
		a->t.foreign++;
		return 0;
	}
	a->t.unattributed++;
	struct cprv_chain *ch = an_chain_new(a, CPRV_CHAIN_UNATTRIBUTED, in->ts, in->pid, 0, NULL);
	int err = an_chain_injection(a, ch, in);
	if (!err)
		err = an_chain_add(ch, "no eventfd ctx found: %zu bound vectors route 0x%llx/0x%llx",
				   r->n_cand, (unsigned long long)in->addr,
				   (unsigned long long)in->data);
	return err;
}

static int duplicate(struct cprv_analysis *a, struct an_ctx *c, const struct an_inj *in,
		     const struct an_attr *r)
{
	struct cprv_chain *ch;
	int err;

	a->t.duplicates++;
	c->lv->pub.duplicates++;
	ch = an_chain_new(a, CPRV_CHAIN_DUPLICATE, in->ts, in->pid, c->addr, c->lv);
	err = an_chain_injection(a, ch, in);
	if (!err)
		err = an_chain_add(ch, "attributed to ctx 0x%llx by %s", (unsigned long long)c->addr,
				   r->how ? r->how : "?");
	if (!err && c->has_cover)
		err = an_chain_add(ch, "no fire waiting: the last fire (t=%.6f s, pid %u %s) was already covered by the injection at t=%.6f s (tid %u, %s)",
				   an_rel(a, c->cover_last_fire_ts), c->cover_last_fire_pid,
				   an_comm(a, c->cover_last_fire_pid), an_rel(a, c->cover.ts),
				   c->cover.tid, cprv_ctx_kind_name(c->cover.tag));
	else if (!err)
		err = an_chain_add(ch, "no fire waiting: ctx 0x%llx had no fire before this injection",
				   (unsigned long long)c->addr);
	return err;
}

/* Delays of a run of covered fires; tracks the earliest and latest fire. */
static void cover_run(struct an_lvec *lv, const struct an_inj *in, const struct an_fire *fires,
		      size_t n, uint64_t ovf_n, uint64_t ovf_first, const struct an_fire *ovf,
		      const struct an_fire **first, const struct an_fire **last)
{
	for (size_t i = 0; i < n; i++) {
		an_hist_add(&lv->pub, in->ts > fires[i].ts ? in->ts - fires[i].ts : 0);
		if (!*first || fires[i].ts < (*first)->ts)
			*first = &fires[i];
		if (!*last || fires[i].ts >= (*last)->ts)
			*last = &fires[i];
	}
	for (uint64_t i = 0; i < ovf_n; i++)
		an_hist_add(&lv->pub, in->ts > ovf->ts ? in->ts - ovf->ts : 0);
	if (ovf_n && in->ts > ovf_first && in->ts - ovf_first > lv->pub.max_delay_ns)
		lv->pub.max_delay_ns = in->ts - ovf_first;
	if (ovf_n && (!*last || ovf->ts >= (*last)->ts))
		*last = ovf;
	if (ovf_n && !*first)
		*first = ovf;
}

/* The VM an injection went into, as well as the evidence says; 0 unknown. */
static uint64_t inj_vm(struct cprv_analysis *a, const struct an_inj *in, const struct an_attr *r)
{
	const struct an_binding *best = NULL;
	struct an_ctx *c = r->ctx;

	if (in->tag == CPRV_CTX_SIGNAL_MSI)
		return in->tag_obj;
	if (in->ev_kvm_gsi)
		return in->ev_kvm;
	if (in->tag == CPRV_CTX_IRQFD && in->tag_aux)
		return in->tag_aux;
	for (size_t i = 0; i < r->n_cand; i++)
		if (r->cand[i].c == r->ctx)
			return r->cand[i].kvm;
	/* every MSI of a vector asks again: the scan only when the
	 * bindings changed since */
	if (c->vm_gen == a->binds_gen)
		return c->vm_kvm;
	for (size_t i = 0; i < a->n_binds; i++)
		if (a->binds[i].active && a->binds[i].ctx == c->addr &&
		    (!best || a->binds[i].assign_ts > best->assign_ts))
			best = &a->binds[i];
	c->vm_gen = a->binds_gen;
	c->vm_kvm = best ? best->kvm : 0;
	return c->vm_kvm;
}

static int injection(struct cprv_analysis *a, struct an_inj *in)
{
	struct an_attr r;
	struct an_lvec *lv;
	int err = 0;

	attribute(a, in, &r);
	if (r.other_vm) {
		a->t.other_vm_wq++;
		return 0;
	}
	if (!r.ctx)
		return note_unattributed(a, in, &r);
	lv = an_ctx_lvec(a, r.ctx);
	if (!lv)
		return -ENOMEM;
	a->t.injections++;
	lv->pub.injections++;
	if (r.ambiguous) {
		a->t.ambiguous++;
		lv->pub.ambiguous++;
		if (r.material)
			a->t.ambiguous_material++;
		err = note_ambiguous(a, in, &r);
		if (err)
			return err;
	}
	struct an_ctx *c = r.ctx;
	uint64_t kc = uncovered(c), kh = r.user ? held_n(c) : 0, k = kc + kh;
	bool race;
	/* the replay race is about the kernel counter only */
	err = an_replay_injection(a, c, in, kc, &race);
	if (err || race)
		return err;
	if (!k) {
		err = duplicate(a, c, in, &r);
		return err ? err : an_lapic_injection(a, inj_vm(a, in, &r), in, c, 0, NULL);
	}

	const struct an_fire *first = NULL, *last = NULL;
	cover_run(lv, in, c->fires, c->n_fires, c->ovf_n, c->ovf_first,
		  c->ovf_n ? &c->ovf_fire : NULL, &first, &last);
	if (kh) {
		cover_run(lv, in, c->held, c->n_held, c->held_ovf_n, c->held_ovf_first,
			  c->held_ovf_n ? &c->held_ovf_fire : NULL, &first, &last);
		a->t.held_delivered += kh;
	}
	a->t.delivered += k;
	a->t.coalesced += k - 1;
	lv->pub.delivered += k;
	lv->pub.coalesced += k - 1;
	if (lv->pending) {
		uint64_t from = lv->has_delivery ? lv->last_delivery : lv->first_pending_ts;
		if (in->ts > from && in->ts - from > lv->pub.max_gap_ns)
			lv->pub.max_gap_ns = in->ts - from;
	}
	lv->pending = 0;
	lv->has_delivery = true;
	lv->last_delivery = in->ts;

	c->has_cover = true;
	c->cover = *in;
	c->cover_last_fire_ts = last->ts;
	c->cover_last_fire_pid = last->pid;
	struct an_fire f0 = *first;
	c->n_fires = 0;
	c->ovf_n = 0;
	if (kh) {
		c->n_held = 0;
		c->held_ovf_n = 0;
	}
	return an_lapic_injection(a, inj_vm(a, in, &r), in, c, k, &f0);
}

/*
 * read() reset the kernel counter: its uncovered fires now live in the
 * reader (QEMU's PBA for a masked MSI-X vector); no irqfd replay can see them.
 */
static int hold(struct cprv_analysis *a, struct an_ctx *c, const struct cprv_event *ev)
{
	uint64_t n = uncovered(c);

	if (!n)
		return 0;
	a->t.held += n;
	c->held_pid = ev->pid;
	c->held_ts = ev->ts;
	for (size_t i = 0; i < c->n_fires; i++) {
		if (c->n_held < a->o.max_pending) {
			if (an_grow(&c->held, &c->cap_held, c->n_held + 1, sizeof(*c->held)))
				return -ENOMEM;
			c->held[c->n_held++] = c->fires[i];
			continue;
		}
		if (!c->held_ovf_n++)
			c->held_ovf_first = c->fires[i].ts;
		c->held_ovf_fire = c->fires[i];
	}
	if (c->ovf_n) {
		if (!c->held_ovf_n)
			c->held_ovf_first = c->ovf_first;
		c->held_ovf_n += c->ovf_n;
		c->held_ovf_fire = c->ovf_fire;
	}
	c->n_fires = 0;
	c->ovf_n = 0;
	/* KVM's assign replay saw no count: nothing of it is left to race */
	c->replay.armed = false;
	return 0;
}

static void take_evidence(struct an_task *t, struct an_inj *in)
{
	in->ev_kvm_gsi = t->ev_kvm_gsi;
	in->ev_kvm = t->ev_kvm;
	in->ev_gsi = t->ev_gsi;
	in->ev_ctx = t->ev_ctx;
	in->ev_ctx_src = t->ev_ctx_src;
	t->ev_kvm_gsi = false;
	t->ev_ctx = 0;
}

int an_inject_event(struct cprv_analysis *a, const struct cprv_event *ev)
{
	bool accept_live = a->o.vis.live[CPRV_EV_APIC_ACCEPT];
	struct an_task *t = task_get(a, ev);

	if (!t)
		return -ENOMEM;
	switch (ev->type) {
	case CPRV_EV_SET_IRQ_INATOMIC:
	case CPRV_EV_KVM_SET_MSI:
		t->ev_kvm_gsi = true;
		t->ev_kvm = ev->obj;
		t->ev_gsi = (uint32_t)ev->a[0];
		return 0;
	case CPRV_EV_IRQFD_WAKEUP:
	case CPRV_EV_IRQFD_INJECT:
		t->ev_ctx = ev->obj;
		t->ev_ctx_src = ev->type;
		return 0;
	case CPRV_EV_EVENTFD_READ: {
		/* a user-space consumer drained the counter: chains say so */
		if ((int64_t)ev->a[1] <= 0 || !ev->a[0])
			return 0;
		struct an_ctx *c = an_ctx_get(a, ev->obj, true);
		if (!c)
			return -ENOMEM;
		c->has_read = true;
		c->read_ts = ev->ts;
		c->read_val = ev->a[0];
		c->read_pid = ev->pid;
		t->ev_ctx = ev->obj;
		t->ev_ctx_src = ev->type;
		if (hold(a, c, ev))
			return -ENOMEM;
		an_cpr_read(a, ev->obj);
		return an_rules_event(a, ev);
	}
	case CPRV_EV_KVM_MSI_SET_IRQ: {
		if (t->pending && !t->accepted)
			a->t.attempts++;
		struct an_inj in = {
			.ts = ev->ts, .msi_ts = ev->ts, .addr = ev->a[0], .data = ev->a[1],
			.tag = ev->flags, .tag_obj = ev->obj, .tag_aux = ev->a[2],
			.pid = ev->pid, .tid = ev->tid, .vector = (uint32_t)(ev->a[1] & 0xff),
		};
		take_evidence(t, &in);
		if (!accept_live) {
			t->pending = false;
			return injection(a, &in);
		}
		t->pending = true;
		t->accepted = false;
		t->msi = in;
		return 0;
	}
	case CPRV_EV_APIC_ACCEPT:
		if (!accept_live)
			return 0;
		/* the MSI's vector is its data's low byte: anything else is a timer or IPI */
		if (!t->pending || (t->msi.data & 0xff) != (ev->a[3] & 0xff)) {
			a->t.stray_accepts++;
			return 0;
		}
		if (t->accepted)
			return 0; /* multicast: one MSI, several LAPICs */
		t->accepted = true;
		t->msi.accepted = true;
		t->msi.ts = t->msi.accept_ts = ev->ts;
		t->msi.apicid = (uint32_t)ev->a[0];
		/* the accept carries the same tag (kind, obj, aux in a2) */
		if (t->msi.tag == CPRV_CTX_NONE && ev->flags != CPRV_CTX_NONE) {
			t->msi.tag = ev->flags;
			t->msi.tag_obj = ev->obj;
			t->msi.tag_aux = ev->a[2];
		}
		return injection(a, &t->msi);
	}
	return 0;
}

int an_inject_finish(struct cprv_analysis *a)
{
	for (size_t i = 0; i < a->tasks.cap; i++) {
		struct an_task *t = a->tasks.vals[i];
		if (t && t->pending && !t->accepted)
			a->t.attempts++;
		if (t)
			t->pending = false;
	}
	return 0;
}

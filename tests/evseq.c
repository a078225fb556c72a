// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <stdlib.h>
#include <string.h>

#include "evseq.h"

#define WRITER_PID 200
#define KWORKER_PID 2

void evseq_init(struct evseq *s)
{
	memset(s, 0, sizeof(*s));
	s->now = 1000 * EVSEQ_MS; /* traces never start at 0 */
	s->pid = s->tid = 1;
}

void evseq_free(struct evseq *s)
{
	free(s->ev);
	memset(s, 0, sizeof(*s));
}

void evseq_task(struct evseq *s, uint32_t pid, uint32_t tid)
{
	s->pid = pid;
	s->tid = tid;
}

void evseq_advance(struct evseq *s, uint64_t ns)
{
	s->now += ns;
}

uint64_t evseq_add(struct evseq *s, uint16_t type, uint16_t flags, uint64_t obj,
		   uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 64;
		s->ev = realloc(s->ev, s->cap * sizeof(*s->ev));
		if (!s->ev)
			abort();
	}
	struct cprv_event *e = &s->ev[s->n++];
	memset(e, 0, sizeof(*e));
	e->ts = s->now;
	e->type = type;
	e->flags = flags;
	e->pid = s->pid;
	e->tid = s->tid;
	e->obj = obj;
	e->a[0] = a0;
	e->a[1] = a1;
	e->a[2] = a2;
	e->a[3] = a3;
	s->now += EVSEQ_US;
	return e->ts;
}

uint64_t evseq_exec(struct evseq *s, const char *comm)
{
	uint64_t w[2] = { 0, 0 };

	for (size_t i = 0; i < 16 && comm[i]; i++)
		w[i / 8] |= (uint64_t)(unsigned char)comm[i] << (8 * (i % 8));
	return evseq_add(s, CPRV_EV_EXEC, 0, 0, s->pid, w[0], w[1], 0);
}

uint64_t evseq_vm_create(struct evseq *s, uint64_t kvm)
{
	return evseq_add(s, CPRV_EV_KVM_CREATE_VM, 0, kvm, 10, 0, 10, 0);
}

uint64_t evseq_route(struct evseq *s, uint64_t kvm, uint32_t gsi)
{
	return evseq_add(s, CPRV_EV_KVM_ROUTE, 0, kvm, gsi, EVSEQ_MSI_ADDR, evseq_data(gsi), gsi);
}

uint64_t evseq_eventfd(struct evseq *s, uint64_t ctx)
{
	return evseq_add(s, CPRV_EV_EVENTFD_CREATE, 0, ctx, 20, 0, 0, 0);
}

uint64_t evseq_assign(struct evseq *s, uint64_t ctx, uint64_t kvm, uint32_t gsi)
{
	return evseq_add(s, CPRV_EV_KVM_IRQFD, 0, ctx, kvm, gsi, 0, 0);
}

uint64_t evseq_deassign(struct evseq *s, uint64_t ctx, uint64_t kvm, uint32_t gsi)
{
	return evseq_add(s, CPRV_EV_KVM_IRQFD, 0, ctx, kvm, gsi, CPRV_KVM_IRQFD_FLAG_DEASSIGN, 0);
}

uint64_t evseq_write(struct evseq *s, uint64_t ctx)
{
	return evseq_add(s, CPRV_EV_EVENTFD_WRITE, 0, ctx, 1, 0, 7, 0);
}

uint64_t evseq_msi(struct evseq *s, uint16_t tag, uint64_t obj, uint64_t aux,
		   uint32_t gsi, int accept)
{
	uint64_t ts = evseq_add(s, CPRV_EV_KVM_MSI_SET_IRQ, tag, obj, EVSEQ_MSI_ADDR,
				evseq_data(gsi), aux, 0);
	if (accept)
		ts = evseq_add(s, CPRV_EV_APIC_ACCEPT, tag, obj, 0, 0, 0, evseq_data(gsi));
	return ts;
}

uint64_t evseq_write_fast(struct evseq *s, uint64_t ctx, uint32_t gsi)
{
	uint64_t ts = evseq_write(s, ctx);

	evseq_msi(s, CPRV_CTX_EVENTFD_WRITE, ctx, 0, gsi, 1);
	return ts;
}

uint64_t evseq_replay(struct evseq *s, uint32_t gsi)
{
	evseq_add(s, CPRV_EV_KVM_SET_IRQ, 0, 0, gsi, 1, 0, 0);
	evseq_add(s, CPRV_EV_KVM_SET_IRQ, 0, 0, gsi, 0, 0, 0);
	return evseq_msi(s, CPRV_CTX_KVM_SET_IRQ, 0, gsi, gsi, 1);
}

uint64_t evseq_mark(struct evseq *s, uint64_t kind, uint64_t arg)
{
	return evseq_add(s, CPRV_EV_MARK, 0, 0, kind, arg, 0, 0);
}

uint64_t evseq_write_wakeup(struct evseq *s, uint64_t ctx, uint64_t kvm, uint32_t gsi)
{
	uint64_t ts = evseq_write(s, ctx);

	evseq_add(s, CPRV_EV_IRQFD_WAKEUP, 0, ctx, kvm, gsi, 1, 0);
	evseq_add(s, CPRV_EV_SET_IRQ_INATOMIC, 0, kvm, gsi, EVSEQ_MSI_ADDR, evseq_data(gsi), 0);
	evseq_msi(s, CPRV_CTX_IRQFD, ctx, kvm, gsi, 1);
	return ts;
}

uint64_t evseq_irqfd_inject(struct evseq *s, uint64_t ctx, uint64_t kvm, uint32_t gsi)
{
	uint64_t ts;

	evseq_add(s, CPRV_EV_IRQFD_INJECT, 0, ctx, kvm, gsi, 0, 0);
	evseq_add(s, CPRV_EV_KVM_SET_IRQ, 0, 0, gsi, 1, 0, 0);
	evseq_add(s, CPRV_EV_KVM_SET_MSI, 0, kvm, gsi, EVSEQ_MSI_ADDR, evseq_data(gsi), 1);
	ts = evseq_msi(s, CPRV_CTX_IRQFD, ctx, kvm, gsi, 1);
	evseq_add(s, CPRV_EV_KVM_SET_IRQ, 0, 0, gsi, 0, 0, 0);
	return ts;
}

uint64_t evseq_read(struct evseq *s, uint64_t ctx, uint64_t value)
{
	return evseq_add(s, CPRV_EV_EVENTFD_READ, 0, ctx, value, value ? 8 : (uint64_t)-11, 30, 0);
}

uint64_t evseq_signal_msi(struct evseq *s, uint64_t kvm, uint32_t gsi)
{
	uint64_t ts = evseq_msi(s, CPRV_CTX_SIGNAL_MSI, kvm, 0, gsi, 1);

	evseq_add(s, CPRV_EV_KVM_SIGNAL_MSI, 0, kvm, EVSEQ_MSI_ADDR, evseq_data(gsi), 1, 0);
	return ts;
}

uint64_t evseq_lapic(struct evseq *s, uint16_t type, uint64_t kvm, const unsigned *vecs, size_t n)
{
	uint64_t irr[4] = { 0 };

	for (size_t i = 0; i < n; i++)
		irr[(vecs[i] & 0xff) / 64] |= 1ull << (vecs[i] % 64);
	return evseq_add(s, type, 0, kvm, irr[0], irr[1], irr[2], irr[3]);
}

void evseq_service(struct evseq *s, uint64_t kvm, const unsigned *vecs, size_t n)
{
	evseq_lapic(s, CPRV_EV_KVM_GET_LAPIC, kvm, vecs, n);
	evseq_lapic(s, CPRV_EV_KVM_SET_LAPIC, kvm, NULL, 0);
}

uint64_t evseq_close(struct evseq *s, uint16_t kind, uint64_t obj)
{
	return evseq_add(s, CPRV_EV_CLOSE, kind, obj, 11, 0, 0, 0);
}

uint64_t evseq_fd_recv(struct evseq *s, uint16_t kind, uint64_t obj)
{
	return evseq_add(s, CPRV_EV_FD_RECV, kind, obj, 12, 0, 0, 0);
}

uint64_t evseq_exit(struct evseq *s)
{
	return evseq_add(s, CPRV_EV_EXIT, 0, 0, 0, 0, 0, 0);
}

void evseq_assign_replay(struct evseq *s, unsigned pending, int fast_first)
{
	uint64_t ctx = evseq_ctx_addr(0, 0), k0 = evseq_kvm_addr(0), k1 = evseq_kvm_addr(1);

	evseq_task(s, 1000, 1000);
	evseq_vm_create(s, k0);
	evseq_route(s, k0, 0);
	evseq_eventfd(s, ctx);
	evseq_assign(s, ctx, k0, 0);
	evseq_task(s, EVSEQ_WRITER_TID - 1, EVSEQ_WRITER_TID);
	evseq_write_wakeup(s, ctx, k0, 0);
	evseq_task(s, 1000, 1000);
	evseq_deassign(s, ctx, k0, 0);
	evseq_task(s, EVSEQ_WRITER_TID - 1, EVSEQ_WRITER_TID);
	for (unsigned i = 0; i < pending; i++)
		evseq_write(s, ctx);
	evseq_task(s, 1100, 1100);
	evseq_vm_create(s, k1);
	evseq_route(s, k1, 0);
	evseq_task(s, 1000, 1000);
	evseq_close(s, CPRV_OBJ_KVM_VM, k0);
	evseq_task(s, 1100, 1100);
	evseq_assign(s, ctx, k1, 0);
	evseq_advance(s, 100 * EVSEQ_US);
	if (!fast_first) {
		evseq_task(s, KWORKER_PID, EVSEQ_KWORKER_TID);
		evseq_irqfd_inject(s, ctx, k1, 0);
	}
	evseq_task(s, EVSEQ_WRITER_TID - 1, EVSEQ_WRITER_TID);
	evseq_write_wakeup(s, ctx, k1, 0);
	if (fast_first) {
		evseq_task(s, KWORKER_PID, EVSEQ_KWORKER_TID);
		evseq_irqfd_inject(s, ctx, k1, 0);
	}
}

void evseq_vis_all(struct cprv_visibility *v)
{
	memset(v, 0, sizeof(*v));
	for (unsigned i = 0; i < CPRV_EV_MAX; i++)
		v->live[i] = true;
}

struct cprv_analysis *evseq_analyse(const struct evseq *s, const struct cprv_analysis_opts *o)
{
	struct cprv_analysis *a = cprv_analysis_new(o);

	if (!a)
		return NULL;
	for (size_t i = 0; i < s->n; i++) {
		if (cprv_analysis_feed(a, &s->ev[i])) {
			cprv_analysis_free(a);
			return NULL;
		}
	}
	if (cprv_analysis_finish(a)) {
		cprv_analysis_free(a);
		return NULL;
	}
	return a;
}

/* Kernel-looking addresses, so hex formatting of high bits is exercised. */
uint64_t evseq_ctx_addr(unsigned gen, uint32_t gsi)
{
	return 0xffff888001000000ull + gen * 0x10000ull + gsi * 0x100ull;
}

uint64_t evseq_kvm_addr(unsigned gen)
{
	return 0xffffc90000a00000ull + gen * 0x100000ull;
}

static void qemu_vm(struct evseq *s, struct evseq_cpr *p, int new_ctxs)
{
	evseq_task(s, 1000 + 100 * p->gen, 1000 + 100 * p->gen);
	evseq_exec(s, p->gen ? "qemu-new" : "qemu-old");
	p->kvm = evseq_kvm_addr(p->gen);
	evseq_vm_create(s, p->kvm);
	for (uint32_t g = 0; g < p->nvec; g++)
		evseq_route(s, p->kvm, g);
	for (uint32_t g = 0; new_ctxs && g < p->nvec; g++) {
		p->ctx[g] = evseq_ctx_addr(p->gen, g);
		evseq_eventfd(s, p->ctx[g]);
	}
	for (uint32_t g = 0; g < p->nvec; g++)
		p->attach_ts = evseq_assign(s, p->ctx[g], p->kvm, g);
	p->gen++;
}

void evseq_steady(struct evseq *s, struct evseq_cpr *p)
{
	evseq_task(s, WRITER_PID, WRITER_PID + 1);
	for (unsigned r = 0; r < p->steady; r++) {
		for (uint32_t g = 0; g < p->nvec; g++)
			evseq_write_fast(s, p->ctx[g], g);
		evseq_advance(s, EVSEQ_MS);
	}
}

void evseq_cpr_start(struct evseq *s, struct evseq_cpr *p)
{
	evseq_task(s, WRITER_PID, WRITER_PID);
	evseq_exec(s, "rig-device");
	qemu_vm(s, p, 1);
	evseq_steady(s, p);
}

void evseq_cpr_cycle(struct evseq *s, struct evseq_cpr *p)
{
	uint64_t old_kvm = p->kvm;

	evseq_task(s, 1000 + 100 * (p->gen - 1), 1000 + 100 * (p->gen - 1));
	for (uint32_t g = 0; g < p->nvec; g++) {
		uint64_t ts = evseq_deassign(s, p->ctx[g], old_kvm, g);
		if (!g)
			p->detach_ts = ts;
	}
	evseq_task(s, WRITER_PID, WRITER_PID + 1);
	for (unsigned r = 0;; r++) {
		int any = 0;
		for (uint32_t g = 0; g < p->nvec; g++) {
			if (p->blackout[g] > r) {
				evseq_write(s, p->ctx[g]);
				any = 1;
			}
		}
		if (!any)
			break;
		evseq_advance(s, EVSEQ_MS);
	}
	qemu_vm(s, p, p->new_eventfds);
	evseq_advance(s, 150 * EVSEQ_US);
	evseq_task(s, KWORKER_PID, KWORKER_PID);
	for (uint32_t g = 0; !p->no_replay && !p->new_eventfds && g < p->nvec; g++)
		if (p->blackout[g])
			evseq_replay(s, g);
	/* the old QEMU drops its VM once the new one runs */
	if (!p->keep_old_vm) {
		evseq_task(s, 1000 + 100 * (p->gen - 2), 1000 + 100 * (p->gen - 2));
		evseq_close(s, CPRV_OBJ_KVM_VM, old_kvm);
	}
	evseq_advance(s, EVSEQ_MS);
	evseq_steady(s, p);
}

void evseq_stop(struct evseq *s, uint64_t tail_ns)
{
	evseq_advance(s, tail_ns);
	evseq_task(s, 1, 1);
	evseq_mark(s, CPRV_MARK_RECORD_STOP, 0);
}

/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Builder for hand-made event sequences: the unit tests' way to write a
 * scenario (VMs, routes, irqfds, writes, replays, CPR) as the BPF side
 * would have recorded it. Every event gets the current time, then the
 * clock moves on by one microsecond.
 */
#ifndef CPRV_TESTS_EVSEQ_H
#define CPRV_TESTS_EVSEQ_H

#include <stddef.h>
#include <stdint.h>

#include "analysis.h"

#define EVSEQ_US 1000ull
#define EVSEQ_MS 1000000ull
#define EVSEQ_MSI_ADDR 0xfee00000ull

struct evseq {
	struct cprv_event *ev;
	size_t n, cap;
	uint64_t now;
	uint32_t pid, tid;   /* the task events are recorded in */
};

void evseq_init(struct evseq *s);
void evseq_free(struct evseq *s);
void evseq_task(struct evseq *s, uint32_t pid, uint32_t tid);
void evseq_advance(struct evseq *s, uint64_t ns);
/* Appends one event at the current time; returns its timestamp. */
uint64_t evseq_add(struct evseq *s, uint16_t type, uint16_t flags, uint64_t obj,
		   uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3);

/* The route the helpers give gsi g: fixed address, vector 0x20 + g. */
static inline uint64_t evseq_data(uint32_t gsi) { return 0x20 + gsi; }

uint64_t evseq_exec(struct evseq *s, const char *comm);
uint64_t evseq_vm_create(struct evseq *s, uint64_t kvm);
uint64_t evseq_route(struct evseq *s, uint64_t kvm, uint32_t gsi);
uint64_t evseq_eventfd(struct evseq *s, uint64_t ctx);
uint64_t evseq_assign(struct evseq *s, uint64_t ctx, uint64_t kvm, uint32_t gsi);
uint64_t evseq_deassign(struct evseq *s, uint64_t ctx, uint64_t kvm, uint32_t gsi);
/* write() to ctx, nothing else (irqfd detached) */
uint64_t evseq_write(struct evseq *s, uint64_t ctx);
/* write() injected synchronously by the irqfd fast path: msi + accept */
uint64_t evseq_write_fast(struct evseq *s, uint64_t ctx, uint32_t gsi);
/* kvm_msi_set_irq with the given tag, then (if accept) the LAPIC accept */
uint64_t evseq_msi(struct evseq *s, uint16_t tag, uint64_t obj, uint64_t aux,
		   uint32_t gsi, int accept);
/* kworker irqfd_inject: kvm_set_irq level 1/0, msi tagged KVM_SET_IRQ, accept */
uint64_t evseq_replay(struct evseq *s, uint32_t gsi);
uint64_t evseq_mark(struct evseq *s, uint64_t kind, uint64_t arg);
/* write() whose irqfd_wakeup injects on the fast path, with the S2 probes */
uint64_t evseq_write_wakeup(struct evseq *s, uint64_t ctx, uint64_t kvm, uint32_t gsi);
/* kworker irqfd_inject seen by its function probe: msi tagged CPRV_CTX_IRQFD */
uint64_t evseq_irqfd_inject(struct evseq *s, uint64_t ctx, uint64_t kvm, uint32_t gsi);

/* read() of an eventfd by a user-space consumer, returning value */
uint64_t evseq_read(struct evseq *s, uint64_t ctx, uint64_t value);
/* KVM_SIGNAL_MSI of gsi's route into kvm, accepted by the LAPIC */
uint64_t evseq_signal_msi(struct evseq *s, uint64_t kvm, uint32_t gsi);
/* KVM_GET_LAPIC / KVM_SET_LAPIC (type) on kvm's vCPU 0 with an IRR of vector bits */
uint64_t evseq_lapic(struct evseq *s, uint16_t type, uint64_t kvm, const unsigned *vecs, size_t n);
/* The guest thread services every set IRR bit: GET with them, SET with none. */
void evseq_service(struct evseq *s, uint64_t kvm, const unsigned *vecs, size_t n);
uint64_t evseq_close(struct evseq *s, uint16_t kind, uint64_t obj);
uint64_t evseq_fd_recv(struct evseq *s, uint16_t kind, uint64_t obj);
uint64_t evseq_exit(struct evseq *s);

/*
 * KVM's irqfd-assign replay: ctx evseq_ctx_addr(0, 0) on gsi 0 moves from
 * VM 0 to VM 1 with `pending` writes in between (by EVSEQ_WRITER_TID);
 * then the kworker replay (EVSEQ_KWORKER_TID, irqfd_inject) and one new
 * write on the fast path, the write first when fast_first (the race).
 */
#define EVSEQ_WRITER_TID 201
#define EVSEQ_KWORKER_TID 10
void evseq_assign_replay(struct evseq *s, unsigned pending, int fast_first);

/*
 * A rig-like CPR scenario: a device process writes eventfds bound as
 * irqfds (gsi 0..nvec-1) to the VM of one QEMU; each cycle detaches them
 * all, writes blackout[g] times per gsi, creates the next VM, routes and
 * re-attaches (the same eventfds, or new ones), replays each gsi that had
 * fires waiting (unless no_replay), then writes `steady` rounds again.
 */
#define EVSEQ_MAXVEC 8
struct evseq_cpr {
	unsigned nvec, steady;
	unsigned blackout[EVSEQ_MAXVEC];
	int new_eventfds, no_replay;
	int keep_old_vm;                 /* the old QEMU does not close its VM */
	/* state and outputs */
	unsigned gen;                    /* VMs created so far */
	uint64_t kvm;                    /* the current VM */
	uint64_t ctx[EVSEQ_MAXVEC];      /* the eventfds bound now */
	uint64_t detach_ts, attach_ts;   /* of the last cycle */
};
uint64_t evseq_ctx_addr(unsigned gen, uint32_t gsi);
uint64_t evseq_kvm_addr(unsigned gen);
void evseq_cpr_start(struct evseq *s, struct evseq_cpr *p);
void evseq_steady(struct evseq *s, struct evseq_cpr *p);
void evseq_cpr_cycle(struct evseq *s, struct evseq_cpr *p);
/* tail_ns later, the recorder's stop mark */
void evseq_stop(struct evseq *s, uint64_t tail_ns);

/* Every probe live, no drops. */
void evseq_vis_all(struct cprv_visibility *v);
/* Feeds the whole sequence and finishes; NULL on error. */
struct cprv_analysis *evseq_analyse(const struct evseq *s, const struct cprv_analysis_opts *o);

#endif

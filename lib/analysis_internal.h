/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Private to lib/analysis*.c: the state behind struct cprv_analysis. */
#ifndef CPRV_ANALYSIS_INTERNAL_H
#define CPRV_ANALYSIS_INTERNAL_H

#include "analysis.h"

/* u64 -> pointer, open addressing; a NULL value marks an empty slot. */
struct an_map {
	uint64_t *keys;
	void **vals;
	size_t cap, n;
	/* the last key found: an MSI's events ask for the same task and
	 * eventfd one after another (written by an_map_get on a const map:
	 * a cache, never the map's contents) */
	uint64_t hit_key;
	void *hit_val;
};

/* an_map_get's search, past the last hit */
void *an_map_lookup(const struct an_map *m, uint64_t key);

/* (inline: every event asks a few times, most often for the last hit) */
static inline void *an_map_get(const struct an_map *m, uint64_t key)
{
	if (m->hit_val && m->hit_key == key)
		return m->hit_val;
	return an_map_lookup(m, key);
}
int an_map_put(struct an_map *m, uint64_t key, void *val);
void an_map_free(struct an_map *m);

/* an_grow's growing, once need > *cap */
int an_grow_to(void *pp, size_t *cap, size_t need, size_t elem);

/* Grows *p (elements of size elem) so that it holds at least need.
 * (inline: every fire appends, and almost never needs more room) */
static inline int an_grow(void *pp, size_t *cap, size_t need, size_t elem)
{
	return need <= *cap ? 0 : an_grow_to(pp, cap, need, elem);
}

struct an_fire {
	uint64_t ts;
	uint64_t irq;     /* vfio_msihandler fires */
	uint32_t pid;
	uint16_t src;     /* CPRV_EV_* that fired */
	uint16_t cycle;   /* 1-based index of the open CPR cycle, 0 none */
};

/* One kvm_msi_set_irq, its accept and what the task was doing. */
struct an_inj {
	uint64_t ts;            /* delivery: accept ts, else msi ts */
	uint64_t msi_ts, accept_ts;
	bool accepted;
	uint64_t addr, data;
	uint16_t tag;
	uint64_t tag_obj, tag_aux;
	uint32_t pid, tid, apicid, vector;
	bool ev_kvm_gsi;        /* a function probe named kvm + gsi */
	uint64_t ev_kvm;
	uint32_t ev_gsi;
	uint64_t ev_ctx;        /* irqfd_inject/wakeup or read() named a ctx */
	uint16_t ev_ctx_src;
};

struct an_lvec;

/*
 * KVM_IRQFD assign schedules a replay (irqfd_inject, in a kworker) if the
 * eventfd had a count. The replay reads no counter, so a new signal whose
 * fast path covers everything before the kworker runs leaves the replay
 * nothing to cover: KVM's own extra interrupt, not a VMM fault.
 */
struct an_replay {
	bool armed;                   /* assigned with fires waiting, no workqueue injection yet */
	uint64_t assign_ts, kvm, pending;
	uint32_t gsi, pid;
	bool covered;                 /* the first injection after the assign that covered */
	bool cover_fast;              /* ... came from the irqfd fast path */
	struct an_inj cover;
	uint64_t cover_n, cover_last_fire_ts;
	uint32_t cover_last_fire_pid;
};

struct an_ctx {
	uint64_t addr;
	uint32_t gen;                 /* bumped when the address is reused */
	uint32_t lives;               /* eventfd_create events of this address */
	struct an_lvec *lv;
	struct an_fire *fires;        /* uncovered, in order */
	size_t n_fires, cap_fires;
	uint64_t ovf_n, ovf_first, ovf_last; /* uncovered beyond max_pending */
	struct an_fire ovf_fire;      /* the last overflowed fire */
	bool has_cover;               /* the last injection that covered fires */
	struct an_inj cover;
	uint64_t cover_last_fire_ts;
	uint32_t cover_last_fire_pid;
	bool has_read;                /* last read() by a user-space consumer */
	uint64_t read_ts, read_val;
	uint32_t read_pid;
	bool created;
	uint64_t created_ts;
	uint32_t created_pid;
	bool has_write;               /* tid of the last write() fire: the fast path's task */
	uint32_t write_tid, write_pid; /* write_pid: the producer (device) */
	/*
	 * Fires a user-space read() took out of the kernel counter: only a
	 * user-space injection (KVM_SIGNAL_MSI) can cover them now.
	 */
	struct an_fire *held;
	size_t n_held, cap_held;
	uint64_t held_ovf_n, held_ovf_first;
	struct an_fire held_ovf_fire;
	uint32_t held_pid;            /* the last reader that took fires */
	uint64_t held_ts;
	struct an_replay replay;
	/* the VM of its newest active irqfd (0: none), found while the
	 * bindings were at generation vm_gen */
	uint64_t vm_gen, vm_kvm;
};

struct an_lvec {
	struct cprv_vector pub;
	size_t cap_ctxs;
	size_t order;          /* creation order, for ctx-only vectors */
	bool dead;             /* merged into a gsi vector */
	bool has_delivery;
	uint64_t last_delivery;
	uint64_t pending;      /* fires since the last delivery */
	uint64_t first_pending_ts;
};

struct an_route {
	uint32_t gsi;
	uint64_t addr, data;
};

/*
 * Injections accepted into a VM's LAPIC for one vector since the guest
 * last serviced it: what dies with the VM unless carried over.
 */
struct an_lapic_pend {
	uint64_t n_fires, n_inj;
	struct an_lvec *lv;
	uint64_t ctx;
	uint64_t first_inj_ts, last_inj_ts, first_fire_ts;
	uint32_t first_fire_pid;
	uint16_t cycle;               /* of the first fire */
};

/* A process holding a VM's fds: the VM lives until the last one lets go. */
struct an_holder {
	uint32_t pid;
	int vm_fds, vcpu_fds;         /* vcpu_fds: only those received */
};

struct an_vm {
	uint64_t kvm;
	struct an_route *routes;
	size_t n_routes, cap_routes;
	uint64_t created_ts;
	uint32_t pid;
	struct an_holder *holders;
	size_t n_holders, cap_holders;
	bool held_ever;               /* a holder was ever seen: teardown is observable */
	bool gone;
	uint64_t gone_ts;
	uint32_t gone_pid;
	uint16_t gone_how;            /* CPRV_EV_CLOSE, _EXIT or _EXEC */
	/* LAPIC: the last KVM_GET_LAPIC, servicing seen, pending per vector */
	bool has_get, serviced;
	uint64_t irr_get[4];
	uint64_t last_service_ts[256];
	struct an_lapic_pend *pend;   /* 256 entries, allocated on first injection */
};

/* An irqfd: active ones, plus the last ended one per ctx (for chains). */
struct an_binding {
	uint64_t ctx, kvm;
	uint32_t gsi, pid;
	uint64_t assign_ts, deassign_ts;
	bool active;
};

struct an_task {
	uint32_t tid, pid;
	bool pending, accepted;   /* an msi waiting for its accept */
	struct an_inj msi;
	bool ev_kvm_gsi;
	uint64_t ev_kvm;
	uint32_t ev_gsi;
	uint64_t ev_ctx;
	uint16_t ev_ctx_src;
	uint16_t last_type;       /* last event of this task */
	uint64_t last_obj;
};

struct an_proc {
	char comm[17];
};

struct an_rules {
	struct cprv_rule r[CPRV_RULES];
	/* producers: processes that write a bound eventfd (the device) */
	uint32_t producers[16];
	size_t n_producers;
	bool activity;                /* a process appeared, died or passed fds in the open cycle */
	/* trigger closes by a device inside a CPR window: a teardown only if
	 * the device lives on (re-armed, or still there at the end), not when
	 * it is simply shutting down */
	struct an_close {
		uint64_t ts, ctx;
		uint32_t pid;
		size_t cycle;
	} closes[64];
	size_t n_closes;
	/* what the open cycle added, undone if it turns out to be no CPR */
	uint64_t open_breaks[CPRV_RULES];
	size_t open_evidence[CPRV_RULES];  /* evidence count when it opened */
};

struct an_chainlist {
	struct cprv_chain *v;
	size_t n, cap;
};

struct cprv_analysis {
	struct cprv_analysis_opts o;
	bool finished, started;
	struct cprv_totals t;
	struct an_map ctxs, vms, tasks, procs, irqs, gsi_lv;
	struct an_ctx **ctx_list;
	size_t n_ctx, cap_ctx;
	struct an_lvec **lvs;
	size_t n_lv, cap_lv;
	struct an_binding *binds;
	size_t n_binds, cap_binds;
	uint64_t binds_gen;       /* bumped when a binding starts, ends or is renamed */
	struct an_vm **vm_list;
	size_t n_vm, cap_vm;
	uint32_t vm_gen;          /* VMs retired because their address was reused */
	struct cprv_cycle *cycles;
	size_t n_cycles, cap_cycles;
	long open_cycle;          /* index, -1 if none */
	struct an_chainlist chains[CPRV_CHAIN_KINDS];
	struct an_rules rules;
	struct an_lvec **order;   /* report order, after finish */
	size_t n_order;
};

/* analysis.c */
struct an_ctx *an_ctx_get(struct cprv_analysis *a, uint64_t addr, bool create);
/* The VM a VMM process runs: the last one it created that is still there. */
struct an_vm *an_vm_run_by(const struct cprv_analysis *a, uint32_t pid);
const struct an_route *an_vm_route(const struct cprv_analysis *a, uint64_t kvm, uint32_t gsi);
struct an_binding *an_binding_active(struct cprv_analysis *a, uint64_t kvm, uint32_t gsi);
const struct an_binding *an_binding_last(const struct cprv_analysis *a, uint64_t ctx);
bool an_route_traced(const struct cprv_analysis *a, uint64_t addr, uint64_t data);

struct an_vm *an_vm_get(struct cprv_analysis *a, uint64_t kvm, bool create);
/* Has the VM any active irqfd? */
bool an_vm_bound(const struct cprv_analysis *a, uint64_t kvm);
/* Ends every active irqfd of a VM (torn down, or its address reused). */
void an_vm_end_bindings(struct cprv_analysis *a, uint64_t kvm, uint64_t ts);

/* analysis_vector.c */
struct an_lvec *an_lvec_new(struct cprv_analysis *a);
void an_lvec_free(struct an_lvec *lv);
int an_lvec_add_ctx(struct an_lvec *lv, uint64_t ctx);
void an_lvec_set_route(struct an_lvec *lv, const struct an_route *r);
/* A ctx that fired before it was bound joins its gsi's vector. */
int an_lvec_merge(struct an_lvec *dst, struct an_lvec *src);
struct an_lvec *an_lvec_for_gsi(struct cprv_analysis *a, uint32_t gsi);
/* The ctx's vector; a ctx-only one if it was never bound. */
struct an_lvec *an_ctx_lvec(struct cprv_analysis *a, struct an_ctx *c);
void an_hist_add(struct cprv_vector *v, uint64_t delay);

/* analysis_inject.c */
int an_inject_event(struct cprv_analysis *a, const struct cprv_event *ev);
int an_inject_finish(struct cprv_analysis *a);

/* analysis_replay.c */
void an_replay_assign(struct an_ctx *c, const struct an_binding *b);
/* Did in come from the irqfd_inject workqueue (replay or wakeup fallback)? */
bool an_replay_workqueue(const struct cprv_analysis *a, const struct an_ctx *c,
			 const struct an_inj *in);
/*
 * Called for every injection attributed to c before it covers anything;
 * k = fires it is about to cover. Returns true if it is KVM's replay racing
 * a new signal (counted and chained here), false for the caller to judge.
 */
int an_replay_injection(struct cprv_analysis *a, struct an_ctx *c, const struct an_inj *in,
			uint64_t k, bool *race);

/* analysis_lapic.c: VM holders and teardown, LAPIC servicing and carry-over */
int an_lapic_event(struct cprv_analysis *a, const struct cprv_event *ev);
/* An injection into VM kvm (0: unknown) covered n fires of c, the first f. */
int an_lapic_injection(struct cprv_analysis *a, uint64_t kvm, const struct an_inj *in,
		       struct an_ctx *c, uint64_t n, const struct an_fire *f);
int an_lapic_finish(struct cprv_analysis *a);
/* Is a LAPIC's fate checkable at all (the ioctls visible)? */
bool an_lapic_visible(const struct cprv_analysis *a);

/* analysis_rules.c: conformance R1-R6 */
int an_rules_event(struct cprv_analysis *a, const struct cprv_event *ev);
/* A ctx got an irqfd in kvm while already bound elsewhere (R5). */
int an_rules_overlap(struct cprv_analysis *a, const struct an_binding *old,
		     const struct an_binding *nb);
int an_rules_finish(struct cprv_analysis *a);
void an_rules_free(struct cprv_analysis *a);

/* analysis_cpr.c */
int an_cpr_deassign(struct cprv_analysis *a, const struct an_binding *b, uint64_t ts);
int an_cpr_assign(struct cprv_analysis *a, const struct an_binding *b, uint64_t ts);
int an_cpr_mark(struct cprv_analysis *a, const struct cprv_event *ev);
/* An open cycle that never moved to another VM (a VMM re-wiring its own
 * irqfds, e.g. INTx to MSI) is no CPR: forget it. */
void an_cpr_drop_unmoved(struct cprv_analysis *a);
/* analysis_rules.c: a cycle opened (remember where the rules stood) or was
 * dropped (forget the violations it collected) */
void an_rules_cycle_opened(struct cprv_analysis *a);
void an_rules_cycle_dropped(struct cprv_analysis *a);
/* QEMU's CPR steps (analysis_phase.c): uprobes, driver marks, plumbing. */
int an_phase_event(struct cprv_analysis *a, const struct cprv_event *ev);

/* The cycle the driver opened and is still open, or NULL. */
static inline struct cprv_cycle *an_open_driven(const struct cprv_analysis *a)
{
	struct cprv_cycle *cy = a->open_cycle >= 0 ? &a->cycles[a->open_cycle] : NULL;

	return cy && cy->driven ? cy : NULL;
}

/* Whether an_phase_event has anything to do with ev (inline: it is asked
 * for every event, and outside a driven cycle only uprobes matter). */
static inline bool an_phase_wants(const struct cprv_analysis *a, const struct cprv_event *ev)
{
	return ev->type == CPRV_EV_UPROBE || an_open_driven(a);
}
void an_phase_close(struct cprv_cycle *cy);
void an_cpr_read(struct cprv_analysis *a, uint64_t ctx);
void an_cpr_fire(struct cprv_analysis *a, const struct an_lvec *lv, struct an_fire *f);
void an_cpr_finish(struct cprv_analysis *a);
int an_cpr_overlap(struct cprv_analysis *a, const struct an_binding *old,
		   const struct an_binding *nb);
/* Something that only a CPR does (a process came, went or passed fds). */
void an_cpr_activity(struct cprv_analysis *a);

/* analysis_chain.c */
struct cprv_chain *an_chain_new(struct cprv_analysis *a, enum cprv_chain_kind k,
				uint64_t ts, uint32_t pid, uint64_t ctx,
				const struct an_lvec *lv);
int an_chain_add(struct cprv_chain *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void an_chain_free_all(struct cprv_analysis *a);
/* seconds since the first event, for chain lines */
double an_rel(const struct cprv_analysis *a, uint64_t ts);
const char *an_comm(const struct cprv_analysis *a, uint32_t pid);
int an_chain_injection(struct cprv_analysis *a, struct cprv_chain *c,
		       const struct an_inj *in);
/* held: a fire a read() took; ovf_n: the fire stands for an overflow run */
int an_chain_lost(struct cprv_analysis *a, const struct an_ctx *c,
		  const struct an_fire *f, uint64_t end_ts, bool held, uint64_t ovf_n,
		  const struct an_vm *dead);

#endif

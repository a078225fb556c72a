// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Every probe of the MSI path, in every attach variant, in one object. The
 * probe plan (lib/plan*.c) switches off the variants it does not use before
 * load (bpf_program__set_autoload), so variants cost nothing unless chosen.
 *
 * Naming: <kind>_<hook>, kind in fe (fentry), kp (kprobe), tpb (BTF
 * tracepoint), tp (classic tracepoint), sc (syscall tracepoint). The plan
 * table names these programs; keep both in step.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "cprv_event.h"
#include "cprv_hooks.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set by the recorder before load. */
const volatile __u64 wakeup_bytes = 256 * 1024; /* batch wake-ups */
const volatile __u64 tag_fresh_ns = 100 * 1000; /* per-CPU tags older than this are stale */
/* Runs (lib/run.h): on only where the recorder can flush idle ones (its
 * uprobe'd tick), so nothing waits in a CPU's run unseen. */
const volatile bool compact = false;
const volatile __u64 run_max_age_ns = 4 * 1000 * 1000;  /* a run closes after this */
const volatile __u64 run_idle_ns = 2 * 1000 * 1000;     /* the tick flushes runs idle this long */
const volatile __u32 nr_cpus = 1;
/* Read what each eventfd write() writes (CPRV_WRITE_VALUE_UNREAD). */
const volatile bool read_write_value = false;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 * 1024 * 1024);
} events SEC(".maps");

/* tgids whose plumbing and writes we record; grown by fork and SCM_RIGHTS */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u8);
} tracked SEC(".maps");

/* kernel objects (eventfd ctx, kvm) that tracked processes use; a process
 * that receives one over SCM_RIGHTS joins the recording */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, __u8);
} known SEC(".maps");

/* Objects a recorded process sent over SCM_RIGHTS, and when: the process
 * that receives one joins the recording. Consumed by that receipt, so an
 * address the kernel reuses later for an outsider's object joins no one. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u64);
} sent SEC(".maps");

#define SENT_FRESH_NS (10ull * 1000 * 1000 * 1000)

struct tag {
	__u64 obj;
	__u64 aux;
	__u64 ts;
	__u16 kind;
};

/* per-task context: inside write(eventfd), KVM_SIGNAL_MSI, after kvm_set_irq */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct tag);
} task_tag SEC(".maps");

/* per-CPU context: a vfio hard irq, an irqfd wake-up, the last injection */
struct cpu_state {
	struct tag hardirq;  /* kind != 0 while inside a vfio handler */
	struct tag irqfd;    /* last irqfd_wakeup, consumed by the injection */
	struct tag inject;   /* last kvm_msi_set_irq tag, for the accept */
	__u32 inject_tid;
	__u32 inject_kept;   /* ... and whether it was recorded (not another VM's) */
	__u32 write_tid;     /* inside write() to an eventfd: tid, fd and ... */
	__u32 write_fd;
	struct tag write;    /* ... the tag its injections get */
	/* is_tracked's cache, one word so a nested program never tears it:
	 * tgid | tracked << 32 | (tracked_gen & 0x7fffffff) << 33 */
	__u64 trk;
};

/* The eventfd file_operations, learnt from the first file named
 * "[eventfd]": later files are told by one pointer, not their name. */
__u64 eventfd_fops;

/* Bumped on every change of `tracked` (here and by the recorder): each CPU
 * caches the answer for the last tgid it asked about until it moves, so
 * the MSI path does no hash lookup in the steady state. */
__u64 tracked_gen = 1;
/* Entries in task_tag: none (the steady state of irqfd MSIs), no lookup. */
__s64 task_tags;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cpu_state);
} cpu_state SEC(".maps");

/*
 * Per CPU: the MSI being assembled (the stash: every event one write(),
 * one vfio hard irq or one kvm_msi_set_irq+accept makes on this CPU), and
 * the run it joins when it is shaped like the run's template. Taken with
 * lock 0 -> 1 by the CPU itself and 0 -> 2 by the tick flushing from
 * another CPU; a CPU that finds it taken emits its events in full.
 */
#define ST_BY_WRITE 1
#define ST_BY_MSI   2
#define ST_BY_IRQ   3
#define KEY_HARDIRQ (1ull << 32)

/* One run: an MSI shape (template) and the deltas of its repeats. */
struct run_slot {
	__u32 n;          /* MSIs in the run; 0: none */
	__u32 nev;        /* events per MSI */
	__u32 dbytes;
	__u32 pad;
	__u64 first_ts;   /* the run's first event */
	__u64 prev_ts;    /* first event of its last MSI */
	/* what a flush outputs, contiguous: the header, nev templates and
	 * right after them the deltas */
	struct cprv_event hdr;
	__u8 buf[CPRV_RUN_MAX_EV * sizeof(struct cprv_event) + CPRV_RUN_DELTA_BYTES];
};

/* The MSI being assembled; a struct, so a global function sees its size. */
struct run_stash {
	struct cprv_event ev[CPRV_RUN_MAX_EV];
};

/* Runs open at once per CPU: vectors interleave (a device fires 0, 1, 2,
 * 3, 0, ...), each keeps its own run; a new shape evicts the oldest. */
#define RUN_SLOTS 4

struct run_state {
	__u64 lock;       /* 64 bits: the BPF atomics clang 14 has */
	__u64 touched;    /* last change, for the idle flush */
	__u64 st_key;     /* stash owner: tid, or KEY_HARDIRQ | irq */
	__u32 st_n;
	__u8 st_open, st_by, st_pad[2];
	struct run_stash st;
	struct run_slot slot[RUN_SLOTS];
};

static __always_inline struct cprv_event *tmpl(struct run_slot *r, __u32 k)
{
	return (struct cprv_event *)&r->buf[(k & (CPRV_RUN_MAX_EV - 1)) * sizeof(struct cprv_event)];
}

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct run_state);
} runs SEC(".maps");

/* arguments saved at syscall entry for the exit */
struct pending {
	__u64 obj;
	__u64 obj2;
	__u64 uptr;
	__u64 a[4];
	__u32 cmd;
	__u32 fd;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct pending);
} pending SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CPRV_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u8);
} irq_named SEC(".maps");

/* ---------------------------------------------------------------- helpers */

static __always_inline void bump(__u32 slot)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &slot);

	if (v)
		(*v)++;
}

static __always_inline struct cpu_state *cpu(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&cpu_state, &zero);
}

/* Helper calls are the MSI path's dearest instructions here (each call's
 * return goes through the SRSO return thunk: ~10 ns, ~30 the first in a
 * program, make bench): its programs ask for pid_tgid once and pass it. */
static __always_inline int is_tracked_pt(__u64 pt)
{
	__u32 tgid = pt >> 32;
	__u64 gen = *(volatile __u64 *)&tracked_gen & 0x7fffffff;
	struct cpu_state *c = cpu();
	int yes;

	if (c && (__u32)c->trk == tgid && c->trk >> 33 == gen)
		return (c->trk >> 32) & 1;
	yes = bpf_map_lookup_elem(&tracked, &tgid) != NULL;
	if (c)
		c->trk = tgid | (__u64)yes << 32 | gen << 33;
	return yes;
}

static __always_inline int is_tracked(void)
{
	return is_tracked_pt(bpf_get_current_pid_tgid());
}

static __always_inline void tracked_changed(void)
{
	__sync_fetch_and_add(&tracked_gen, 1);
}

/* task_tag through these three only, so task_tags stays its size. */
static __always_inline void tag_set(__u32 tid, struct tag *t)
{
	if (!bpf_map_update_elem(&task_tag, &tid, t, BPF_NOEXIST))
		__sync_fetch_and_add(&task_tags, 1);
	else
		bpf_map_update_elem(&task_tag, &tid, t, BPF_EXIST);
}

static __always_inline void tag_del(__u32 tid)
{
	if (!bpf_map_delete_elem(&task_tag, &tid))
		__sync_fetch_and_add(&task_tags, -1);
}

static __always_inline struct tag *tag_get(__u32 tid)
{
	if (*(volatile __s64 *)&task_tags <= 0)
		return NULL;
	return bpf_map_lookup_elem(&task_tag, &tid);
}

static __always_inline int is_known(__u64 obj)
{
	return obj && bpf_map_lookup_elem(&known, &obj) != NULL;
}

static __always_inline void remember(__u64 obj, __u8 kind)
{
	if (obj)
		bpf_map_update_elem(&known, &obj, &kind, BPF_ANY);
}

static __always_inline void track_current(void)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u8 one = 1;

	bpf_map_update_elem(&tracked, &tgid, &one, BPF_ANY);
	tracked_changed();
}

static __always_inline __u64 wake_flags(void)
{
	/* Wake the reader only when a batch is waiting; it also polls on a
	 * timer, so a quiet trickle is not held back for long. */
	return bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes ?
		BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

static __always_inline struct cprv_event *ev_new(__u16 type)
{
	struct cprv_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	__u64 pt;

	if (!e) {
		bump(CPRV_STAT_DROPS);
		return NULL;
	}
	pt = bpf_get_current_pid_tgid();
	e->ts = bpf_ktime_get_ns();
	e->type = type;
	e->flags = 0;
	e->cpu = bpf_get_smp_processor_id();
	e->pid = pt >> 32;
	e->tid = (__u32)pt;
	e->obj = 0;
	e->a[0] = e->a[1] = e->a[2] = e->a[3] = 0;
	return e;
}

static __always_inline void ev_send(struct cprv_event *e)
{
	bpf_ringbuf_submit(e, wake_flags());
	bump(CPRV_STAT_EVENTS);
}

/* One whole event straight into the ring buffer. */
static __always_inline void direct(const struct cprv_event *e)
{
	if (bpf_ringbuf_output(&events, (void *)e, sizeof(*e), wake_flags()))
		bump(CPRV_STAT_DROPS);
	else
		bump(CPRV_STAT_EVENTS);
}

static __always_inline struct run_state *run_cpu(void)
{
	__u32 zero = 0;

	return compact ? bpf_map_lookup_elem(&runs, &zero) : NULL;
}

static __always_inline bool run_take(struct run_state *r, __u64 who)
{
	return __sync_val_compare_and_swap(&r->lock, 0, who) == 0;
}

static __always_inline void run_give(struct run_state *r)
{
	__sync_lock_test_and_set(&r->lock, 0);
}

/* The stash's events in full, in order (lock held). Global, like the two
 * below: the verifier checks each once, not at every call site. */
__noinline int stash_spill(struct run_state *r)
{
	if (!r)
		return 0;
	for (__u32 k = 0; k < CPRV_RUN_MAX_EV; k++) {
		if (k >= r->st_n)
			break;
		direct(&r->st.ev[k]);
	}
	r->st_open = 0;
	r->st_n = 0;
	return 0;
}

/* Out with a run (lock held): a run of one MSI as its plain events. */
__noinline int run_flush(struct run_slot *r)
{
	__u32 n, nev;
	__u64 size;

	if (!r)
		return 0;
	n = r->n;
	nev = r->nev;
	r->n = 0;
	if (!n || nev > CPRV_RUN_MAX_EV)
		return 0;
	if (n == 1) {
		for (__u32 k = 0; k < CPRV_RUN_MAX_EV; k++) {
			if (k >= nev)
				break;
			direct(tmpl(r, k));
		}
		return 0;
	}
	r->hdr.ts = r->first_ts;
	r->hdr.type = CPRV_EV_RUN;
	r->hdr.flags = nev;
	r->hdr.cpu = tmpl(r, 0)->cpu;
	r->hdr.pid = tmpl(r, 0)->pid;
	r->hdr.tid = tmpl(r, 0)->tid;
	r->hdr.obj = 0;
	r->hdr.a[0] = n;
	r->hdr.a[1] = r->dbytes;
	r->hdr.a[2] = 0;
	r->hdr.a[3] = 0;
	size = (1 + nev) * sizeof(struct cprv_event) + r->dbytes;
	/* the verifier must see the bound on the very register passed on */
	asm volatile("" : "+r"(size));
	if (size > sizeof(r->hdr) + sizeof(r->buf))
		return 0;
	{
		__u32 slot = bpf_ringbuf_output(&events, &r->hdr, size, wake_flags()) ?
			CPRV_STAT_DROPS : CPRV_STAT_EVENTS;
		__u64 *v = bpf_map_lookup_elem(&stats, &slot);

		if (v)
			*v += (__u64)n * nev; /* the events it stands for */
	}
	return 0;
}

/* Delta byte off, little-endian, right after the run's nev templates. */
static __always_inline void put16(struct run_slot *r, __u32 off, __u64 v)
{
	__u64 i = (__u64)r->nev * sizeof(struct cprv_event) + off;

	asm volatile("" : "+r"(i)); /* bound the register that indexes */
	if (i > sizeof(r->buf) - 2)
		return;
	r->buf[i] = v & 0xff;
	r->buf[i + 1] = (v >> 8) & 0xff;
}

/*
 * The stash (st, n events) is run r's MSI again, but for its times: then
 * it joins r as deltas, and 1. Else 0. Lock held.
 */
__noinline int run_append(struct run_slot *r, struct run_stash *st, __u32 n)
{
	__u64 t0, dfirst;
	__u32 off;

	if (!r || !st || !r->n || n != r->nev || n > CPRV_RUN_MAX_EV ||
	    r->dbytes + 4 + 2 * (n - 1) > CPRV_RUN_DELTA_BYTES)
		return 0;
	t0 = st->ev[0].ts;
	dfirst = t0 - r->prev_ts;
	if (t0 < r->prev_ts || dfirst >= (1ull << 32) || t0 - r->first_ts > run_max_age_ns)
		return 0;
	for (__u32 k = 0; k < CPRV_RUN_MAX_EV; k++) {
		__u64 *a, *b;

		if (k >= n)
			break;
		if (k && (st->ev[k].ts < t0 || st->ev[k].ts - t0 >= 65536))
			return 0;
		a = (__u64 *)&st->ev[k];
		b = (__u64 *)tmpl(r, k);
		/* words 1..7: type, flags, cpu, pid, tid, obj, a[] (word 0 is ts) */
		if (a[1] != b[1] || a[2] != b[2] || a[3] != b[3] || a[4] != b[4] ||
		    a[5] != b[5] || a[6] != b[6] || a[7] != b[7])
			return 0;
	}
	off = r->dbytes;
	put16(r, off, dfirst);
	put16(r, off + 2, dfirst >> 16);
	off += 4;
	for (__u32 k = 1; k < CPRV_RUN_MAX_EV; k++) {
		if (k >= n)
			break;
		put16(r, off, st->ev[k].ts - t0);
		off += 2;
	}
	r->dbytes = off;
	r->n++;
	r->prev_ts = t0;
	return 1;
}

/* r starts over with the stash as its template (lock held). */
__noinline int run_start(struct run_slot *r, struct run_stash *st, __u32 n)
{
	if (!r || !st || !n || n > CPRV_RUN_MAX_EV)
		return 0;
	run_flush(r);
	for (__u32 k = 0; k < CPRV_RUN_MAX_EV; k++) {
		if (k >= n)
			break;
		*tmpl(r, k) = st->ev[k];
	}
	r->nev = n;
	r->n = 1;
	r->dbytes = 0;
	r->first_ts = r->prev_ts = st->ev[0].ts;
	return 0;
}

/* The stash is one whole MSI: into its shape's run, or it evicts the
 * oldest run and starts one (lock held). */
static __always_inline void stash_commit(struct run_state *r)
{
	__u32 n = r->st_n, victim = 0;
	__u64 oldest = ~0ull;

	r->st_open = 0;
	r->st_n = 0;
	if (!n || n > CPRV_RUN_MAX_EV)
		return;
	for (__u32 j = 0; j < RUN_SLOTS; j++) {
		if (run_append(&r->slot[j], &r->st, n))
			return;
		if (!r->slot[j].n)
			oldest = 0, victim = j;
		else if (r->slot[j].prev_ts < oldest)
			oldest = r->slot[j].prev_ts, victim = j;
	}
	run_start(&r->slot[victim & (RUN_SLOTS - 1)], &r->st, n);
}

/* Every run of the CPU out (lock held). */
static __always_inline void runs_flush(struct run_state *r)
{
	for (__u32 j = 0; j < RUN_SLOTS; j++)
		run_flush(&r->slot[j]);
}

static __always_inline bool runs_open(struct run_state *r)
{
	for (__u32 j = 0; j < RUN_SLOTS; j++)
		if (r->slot[j].n)
			return true;
	return false;
}

static __always_inline __u64 ctx_key_pt(struct cpu_state *c, __u64 pt)
{
	if (c && c->hardirq.kind)
		return KEY_HARDIRQ | c->hardirq.aux;
	return (__u32)pt;
}

static __always_inline __u64 ctx_key(void)
{
	return ctx_key_pt(cpu(), bpf_get_current_pid_tgid());
}

/*
 * The MSI path's programs take this CPU's runs once for all they emit
 * (hold/release) and work on them with the *_in calls; r NULL (runs off,
 * or the tick or a program this one interrupted has them) sends whole
 * events.
 */
static __always_inline struct run_state *hold(void)
{
	struct run_state *r = run_cpu();

	return r && run_take(r, 1) ? r : NULL;
}

static __always_inline void release(struct run_state *r)
{
	if (r)
		run_give(r);
}

/* The stash is a whole MSI: into its run (held). */
static __always_inline void stash_whole(struct run_state *r)
{
	/* the MSI's start: idle is about minutes of quiet, not ns */
	if (r->st_n)
		r->touched = r->st.ev[0].ts;
	stash_commit(r);
}

/* A new MSI starts in context key. An open stash of another context is
 * unfinished and goes out whole; a write's own (no injection closed it:
 * its eventfd had no irqfd) was whole when its thread's next MSI began. */
static __always_inline void open_in(struct run_state *r, __u64 key, __u8 by, __u64 now)
{
	if (!r)
		return;
	if (r->st_open) {
		if (r->st_by == ST_BY_WRITE && r->st_key == key)
			stash_whole(r);
		else
			stash_spill(r);
	}
	r->st_open = 1;
	r->st_by = by;
	r->st_n = 0;
	r->st_key = key;
	r->touched = now;
}

/* The MSI that one of `by_mask` (1 << ST_BY_*) opened in context key is whole. */
static __always_inline void close_in(struct run_state *r, __u64 key, __u32 by_mask)
{
	if (r && r->st_open && r->st_key == key && ((1u << r->st_by) & by_mask))
		stash_whole(r);
}

/* An event: into context key's open stash, or whole. */
static __always_inline void out_in(struct run_state *r, __u64 key, struct cprv_event *e)
{
	if (r && r->st_open && r->st_key == key) {
		__u32 n = r->st_n;

		if (n < CPRV_RUN_MAX_EV) {
			r->st.ev[n & (CPRV_RUN_MAX_EV - 1)] = *e;
			r->st_n = n + 1;
			return;
		}
		/* more than an MSI makes: this one is not steady state */
		stash_spill(r);
	}
	direct(e);
}

static __always_inline void stash_open(__u8 by, __u64 now)
{
	struct run_state *r = hold();

	open_in(r, ctx_key(), by, now);
	release(r);
}

static __always_inline void stash_close(__u8 by)
{
	struct run_state *r = run_cpu();
	__u64 key = ctx_key();

	if (!r || !r->st_open || r->st_key != key || !run_take(r, 1))
		return;
	close_in(r, key, 1u << by);
	run_give(r);
}

/* Every event off the MSI path's hot programs goes out here. */
static __always_inline void out(struct cprv_event *e)
{
	struct run_state *r = run_cpu();
	__u64 key = ctx_key();

	if (r && r->st_open && r->st_key == key && run_take(r, 1)) {
		out_in(r, key, e);
		run_give(r);
		return;
	}
	direct(e);
}

static __always_inline void ev_fill(struct cprv_event *e, __u64 pt, __u64 ts, __u16 type,
				    __u16 flags, __u64 obj, __u64 a0, __u64 a1, __u64 a2, __u64 a3)
{
	e->ts = ts;
	e->type = type;
	e->flags = flags;
	e->cpu = bpf_get_smp_processor_id();
	e->pid = pt >> 32;
	e->tid = (__u32)pt;
	e->obj = obj;
	e->a[0] = a0;
	e->a[1] = a1;
	e->a[2] = a2;
	e->a[3] = a3;
}

/* The clock costs ~40 ns a read here, ~80 as a program's first helper
 * call (bpf_stats): the MSI path's programs read it once and stamp with
 * it (emit_at). */
static __always_inline void emit_at(__u64 ts, __u16 type, __u16 flags, __u64 obj, __u64 a0,
				    __u64 a1, __u64 a2, __u64 a3)
{
	struct cprv_event e;

	ev_fill(&e, bpf_get_current_pid_tgid(), ts, type, flags, obj, a0, a1, a2, a3);
	out(&e);
}

static __always_inline void emit(__u16 type, __u16 flags, __u64 obj, __u64 a0,
				 __u64 a1, __u64 a2, __u64 a3)
{
	emit_at(bpf_ktime_get_ns(), type, flags, obj, a0, a1, a2, a3);
}

/* A kernel address read as a number, made loadable: plain loads, not a
 * checked-read helper call each (~35 ns apiece on the write path). */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;
#define KCAST(type, p) ((type *)bpf_rdonly_cast((const void *)(p), bpf_core_type_id_kernel(type)))

/* Eight bytes at kernel address p as a number: a struct's 64-bit member
 * laid over them (0 if p does not map). */
static __always_inline __u64 kload8(__u64 p)
{
	return KCAST(struct kiocb, p - bpf_core_field_offset(struct kiocb, ki_pos))->ki_pos;
}

/* The file behind fd: plain loads through the task's BTF pointers, and
 * the array slot read as the struct file * member of a struct laid over
 * it (bpf_probe_read_kernel is ~55 ns a call here, a load next to
 * nothing; a bad address reads 0 either way). */
static __always_inline struct file *task_fd_file(struct task_struct *t, int fd)
{
	struct files_struct *fs = t->files;
	struct file **arr;
	struct fdtable *fdt;

	if (!fs)
		return NULL;
	fdt = fs->fdt;
	if (!fdt || fd < 0 || (unsigned int)fd >= fdt->max_fds)
		return NULL;
	arr = fdt->fd;
	return KCAST(struct kiocb, (__u64)&arr[fd] - bpf_core_field_offset(struct kiocb, ki_filp))
		->ki_filp;
}

static __always_inline struct file *fd_file(int fd)
{
	return task_fd_file(bpf_get_current_task_btf(), fd);
}

/* bpf_get_current_pid_tgid() of task t, by loads: t is at hand already. */
static __always_inline __u64 task_pt(struct task_struct *t)
{
	return (__u64)(__u32)t->tgid << 32 | (__u32)t->pid;
}

/* The anon-inode name says what an fd is, on every kernel, without needing
 * the addresses of eventfd_fops and friends (kallsyms lacks data symbols). */
static __always_inline __u16 file_kind(struct file *f)
{
	const unsigned char *name;
	char b[16] = {};

	if (!f)
		return CPRV_OBJ_UNKNOWN;
	name = BPF_CORE_READ(f, f_path.dentry, d_name.name);
	if (bpf_probe_read_kernel(b, sizeof(b), name))
		return CPRV_OBJ_UNKNOWN;
	if (b[0] == '[' && b[1] == 'e' && b[2] == 'v' && b[3] == 'e' && b[4] == 'n' &&
	    b[5] == 't' && b[6] == 'f' && b[7] == 'd' && b[8] == ']')
		return CPRV_OBJ_EVENTFD;
	if (b[0] == 'k' && b[1] == 'v' && b[2] == 'm' && b[3] == '-' && b[4] == 'v') {
		if (b[5] == 'm' && b[6] == 0)
			return CPRV_OBJ_KVM_VM;
		if (b[5] == 'c' && b[6] == 'p' && b[7] == 'u')
			return CPRV_OBJ_KVM_VCPU;
	}
	if (b[0] == '[' && b[1] == 'v' && b[2] == 'f' && b[3] == 'i' && b[4] == 'o' &&
	    b[5] == '-' && b[6] == 'd')
		return CPRV_OBJ_VFIO_DEVICE;
	if (b[0] == 'm' && b[1] == 'e' && b[2] == 'm' && b[3] == 'f' && b[4] == 'd' &&
	    b[5] == ':')
		return CPRV_OBJ_MEMFD;
	if (b[0] == 'k' && b[1] == 'v' && b[2] == 'm' && b[3] == 0)
		return CPRV_OBJ_KVM_DEV;
	return CPRV_OBJ_UNKNOWN;
}

/* Is f an eventfd? One read once eventfd_fops is known. */
static __always_inline bool is_eventfd(struct file *f)
{
	__u64 fops = (__u64)KCAST(struct file, f)->f_op;

	if (eventfd_fops)
		return fops == eventfd_fops;
	if (file_kind(f) != CPRV_OBJ_EVENTFD)
		return false;
	eventfd_fops = fops;
	return true;
}

static __always_inline __u64 file_priv(struct file *f)
{
	return f ? (__u64)KCAST(struct file, f)->private_data : 0;
}

/* VM identity of a VM or vCPU file */
static __always_inline __u64 file_kvm(struct file *f, __u16 kind)
{
	__u64 p = file_priv(f);

	if (kind == CPRV_OBJ_KVM_VCPU)
		return (__u64)BPF_CORE_READ((struct kvm_vcpu *)p, kvm);
	return kind == CPRV_OBJ_KVM_VM ? p : 0;
}

static __always_inline __u64 eventfd_count(__u64 ctx)
{
	return ctx ? KCAST(struct eventfd_ctx, ctx)->count : 0;
}

/* ------------------------------------------------------- S0: vfio fires */

static __always_inline int on_irq_entry(int irq, const char *name)
{
	struct cpu_state *c;
	char b[24] = {};
	__u32 key = irq;
	__u8 one = 1;

	/* every hard irq of the host comes here: its name's first bytes
	 * "vfio-" in one load (little-endian) */
	if ((kload8((__u64)name) & 0xffffffffffull) != 0x2d6f696676ull)
		return 0;
	bump(CPRV_HOOK_VFIO_IRQ);
	c = cpu();
	if (c) {
		c->hardirq.kind = CPRV_CTX_HARDIRQ;
		c->hardirq.aux = irq;
		c->hardirq.obj = 0;
		c->hardirq.ts = bpf_ktime_get_ns();
		stash_open(ST_BY_IRQ, c->hardirq.ts);
	}
	if (!bpf_map_lookup_elem(&irq_named, &key)) {
		bpf_map_update_elem(&irq_named, &key, &one, BPF_ANY);
		bpf_probe_read_kernel_str(b, sizeof(b), name);
		emit(CPRV_EV_IRQ_NAME, 0, 0, irq, *(__u64 *)&b[0], *(__u64 *)&b[8],
		     *(__u64 *)&b[16]);
	}
	emit(CPRV_EV_VFIO_IRQ, 0, 0, irq, 0, 0, 0);
	return 0;
}

static __always_inline int on_irq_exit(int irq)
{
	struct cpu_state *c = cpu();

	if (c && c->hardirq.kind && c->hardirq.aux == (__u64)irq) {
		stash_close(ST_BY_IRQ);
		c->hardirq.kind = 0;
	}
	return 0;
}

SEC("tp_btf/irq_handler_entry")
int BPF_PROG(tpb_vfio_irq_entry, int irq, struct irqaction *action)
{
	return on_irq_entry(irq, action->name);
}

SEC("tp_btf/irq_handler_exit")
int BPF_PROG(tpb_vfio_irq_exit, int irq, struct irqaction *action, int ret)
{
	return on_irq_exit(irq);
}

SEC("tracepoint/irq/irq_handler_entry")
int tp_vfio_irq_entry(struct trace_event_raw_irq_handler_entry *ctx)
{
	__u32 off = ctx->__data_loc_name & 0xffff;

	return on_irq_entry(ctx->irq, (const char *)ctx + off);
}

SEC("tracepoint/irq/irq_handler_exit")
int tp_vfio_irq_exit(struct trace_event_raw_irq_handler_exit *ctx)
{
	return on_irq_exit(ctx->irq);
}

static __always_inline int on_msihandler(int irq, __u64 trigger)
{
	struct cpu_state *c = cpu();

	bump(CPRV_HOOK_VFIO_MSIHANDLER);
	if (c && c->hardirq.kind)
		c->hardirq.obj = trigger;
	remember(trigger, CPRV_OBJ_EVENTFD);
	emit(CPRV_EV_VFIO_MSIHANDLER, 0, trigger, irq, 0, 0, 0);
	return 0;
}

SEC("fentry/vfio_msihandler")
int BPF_PROG(fe_vfio_msihandler, int irq, void *arg)
{
	return on_msihandler(irq, (__u64)arg);
}

SEC("kprobe/vfio_msihandler")
int BPF_KPROBE(kp_vfio_msihandler, int irq, void *arg)
{
	return on_msihandler(irq, (__u64)arg);
}

static __always_inline int on_set_signal(void *vdev, unsigned int vector, int fd, bool msix)
{
	if (!is_tracked())
		return 0;
	bump(CPRV_HOOK_VFIO_SET_SIGNAL);
	emit(CPRV_EV_VFIO_SET_SIGNAL, 0, (__u64)vdev, vector, (__u64)(__s64)fd, msix, 0);
	return 0;
}

SEC("fentry/vfio_msi_set_vector_signal")
int BPF_PROG(fe_vfio_set_signal, void *vdev, unsigned int vector, int fd, bool msix)
{
	return on_set_signal(vdev, vector, fd, msix);
}

SEC("kprobe/vfio_msi_set_vector_signal")
int BPF_KPROBE(kp_vfio_set_signal, void *vdev, unsigned int vector, int fd, bool msix)
{
	return on_set_signal(vdev, vector, fd, msix);
}

/* --------------------------------------------------- S1: eventfd signal */

static __always_inline int on_eventfd_signal(__u64 ctx, __u64 mask)
{
	struct cpu_state *c = cpu();

	/* eventfd_signal runs for io_uring, vhost, ... too: keep only the
	 * eventfds we follow, or any signalled from a vfio handler. */
	if (!is_known(ctx) && !(c && c->hardirq.kind))
		return 0;
	bump(CPRV_HOOK_EVENTFD_SIGNAL);
	emit(CPRV_EV_EVENTFD_SIGNAL, 0, ctx, eventfd_count(ctx), mask, 0, 0);
	return 0;
}

SEC("fentry/eventfd_signal_mask")
int BPF_PROG(fe_eventfd_signal, struct eventfd_ctx *efd, __u64 mask)
{
	return on_eventfd_signal((__u64)efd, mask);
}

SEC("kprobe/eventfd_signal_mask")
int BPF_KPROBE(kp_eventfd_signal, struct eventfd_ctx *efd, __u64 mask)
{
	return on_eventfd_signal((__u64)efd, mask);
}

/* ------------------------------------------------------- S2/S3: irqfd */

/* (BPF_CORE_READ, not KCAST: where KVM is a module its types are in the
 * module's BTF too, and a type id taken from vmlinux is ambiguous) */
static __always_inline struct kvm_kernel_irqfd *irqfd_of_wait(void *wait)
{
	return (void *)wait - bpf_core_field_offset(struct kvm_kernel_irqfd, wait);
}

static __always_inline struct kvm_kernel_irqfd *irqfd_of_work(void *work)
{
	return (void *)work - bpf_core_field_offset(struct kvm_kernel_irqfd, inject);
}

static __always_inline int on_irqfd_wakeup(void *wait, __u64 key)
{
	struct kvm_kernel_irqfd *irqfd = irqfd_of_wait(wait);
	__u64 ctx = (__u64)BPF_CORE_READ(irqfd, eventfd);
	__u64 kvm = (__u64)BPF_CORE_READ(irqfd, kvm);
	struct cpu_state *c = cpu();

	bump(CPRV_HOOK_IRQFD_WAKEUP);
	if (c) {
		c->irqfd.kind = CPRV_CTX_IRQFD;
		c->irqfd.obj = ctx;
		c->irqfd.aux = kvm;
		c->irqfd.ts = bpf_ktime_get_ns();
	}
	emit(CPRV_EV_IRQFD_WAKEUP, 0, ctx, kvm, BPF_CORE_READ(irqfd, gsi), key & 0xffff, 0);
	return 0;
}

SEC("fentry/irqfd_wakeup")
int BPF_PROG(fe_irqfd_wakeup, void *wait, unsigned int mode, int sync, void *key)
{
	return on_irqfd_wakeup(wait, (__u64)key);
}

SEC("kprobe/irqfd_wakeup")
int BPF_KPROBE(kp_irqfd_wakeup, void *wait, unsigned int mode, int sync, void *key)
{
	return on_irqfd_wakeup(wait, (__u64)key);
}

static __always_inline int on_irqfd_inject(void *work)
{
	struct kvm_kernel_irqfd *irqfd = irqfd_of_work(work);
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct tag t = {};

	bump(CPRV_HOOK_IRQFD_INJECT);
	t.kind = CPRV_CTX_IRQFD;
	t.obj = (__u64)BPF_CORE_READ(irqfd, eventfd);
	t.aux = (__u64)BPF_CORE_READ(irqfd, kvm);
	t.ts = bpf_ktime_get_ns();
	tag_set(tid, &t);
	emit(CPRV_EV_IRQFD_INJECT, 0, t.obj, t.aux, BPF_CORE_READ(irqfd, gsi), 0, 0);
	return 0;
}

SEC("fentry/irqfd_inject")
int BPF_PROG(fe_irqfd_inject, void *work)
{
	return on_irqfd_inject(work);
}

SEC("kprobe/irqfd_inject")
int BPF_KPROBE(kp_irqfd_inject, void *work)
{
	return on_irqfd_inject(work);
}

#define KVM_IRQ_ROUTING_MSI 2

static __always_inline int on_route_fn(__u16 type, __u32 hook,
				       struct kvm_kernel_irq_routing_entry *e,
				       __u64 kvm, int level)
{
	__u64 addr;

	if (BPF_CORE_READ(e, type) != KVM_IRQ_ROUTING_MSI)
		return 0;
	bump(hook);
	addr = ((__u64)BPF_CORE_READ(e, msi.address_hi) << 32) | BPF_CORE_READ(e, msi.address_lo);
	emit(type, 0, kvm, BPF_CORE_READ(e, gsi), addr, BPF_CORE_READ(e, msi.data), level);
	return 0;
}

SEC("fentry/kvm_arch_set_irq_inatomic")
int BPF_PROG(fe_set_irq_inatomic, struct kvm_kernel_irq_routing_entry *e, struct kvm *kvm,
	     int src, int level)
{
	return on_route_fn(CPRV_EV_SET_IRQ_INATOMIC, CPRV_HOOK_SET_IRQ_INATOMIC, e, (__u64)kvm, level);
}

SEC("kprobe/kvm_arch_set_irq_inatomic")
int BPF_KPROBE(kp_set_irq_inatomic, struct kvm_kernel_irq_routing_entry *e, struct kvm *kvm,
	       int src, int level)
{
	return on_route_fn(CPRV_EV_SET_IRQ_INATOMIC, CPRV_HOOK_SET_IRQ_INATOMIC, e, (__u64)kvm, level);
}

SEC("fentry/kvm_set_msi")
int BPF_PROG(fe_kvm_set_msi, struct kvm_kernel_irq_routing_entry *e, struct kvm *kvm,
	     int src, int level)
{
	return on_route_fn(CPRV_EV_KVM_SET_MSI, CPRV_HOOK_KVM_SET_MSI, e, (__u64)kvm, level);
}

SEC("kprobe/kvm_set_msi")
int BPF_KPROBE(kp_kvm_set_msi, struct kvm_kernel_irq_routing_entry *e, struct kvm *kvm,
	       int src, int level)
{
	return on_route_fn(CPRV_EV_KVM_SET_MSI, CPRV_HOOK_KVM_SET_MSI, e, (__u64)kvm, level);
}

/* ------------------------------------------- S3/S4: the KVM tracepoints */

/* What was running when KVM computed this MSI: the tracepoint itself names
 * no VM, so the tag is what lets the analysis attribute it. */
#define NR_WRITE_X86_64 1

/* Where a task's user registers sit from its kernel stack: the same for
 * every task of this boot, so bpf_task_pt_regs (a helper call) is asked
 * once and the rest is plain loads. */
__s64 regs_off;

/* Is this task inside write(fd)? The write tag outlives its write (no
 * exit hook: one syscall tracepoint is all an MSI pays), so an injection
 * takes it only from inside that very write, as its registers say. */
static __always_inline bool in_write(struct task_struct *t, __u32 fd)
{
	__u64 stack = (__u64)t->stack;
	__s64 off = *(volatile __s64 *)&regs_off;
	struct pt_regs *regs;

	if (!off) {
		regs = (struct pt_regs *)bpf_task_pt_regs(t);
		/* pointer minus pointer: the one arithmetic on pointers the
		 * verifier lets root turn into a number (not pointer minus
		 * number, 6.12) */
		regs_off = (__u64)regs - (__u64)KCAST(struct pt_regs, stack);
	} else {
		regs = KCAST(struct pt_regs, stack + off);
	}
	return regs->orig_ax == NR_WRITE_X86_64 && (__u32)regs->di == fd;
}

static __always_inline void current_tag(struct cpu_state *c, struct tag *out, __u64 now,
					struct task_struct *task, __u32 tid)
{
	struct tag *t;

	out->kind = CPRV_CTX_NONE;
	if (c && c->irqfd.kind && now - c->irqfd.ts < tag_fresh_ns) {
		*out = c->irqfd;
		c->irqfd.kind = 0;
		return;
	}
	if (c && c->hardirq.kind) {
		*out = c->hardirq;
		return;
	}
	if (c && c->write.kind && c->write_tid == tid && now - c->write.ts < 10 * 1000 * 1000 &&
	    in_write(task, c->write_fd)) {
		*out = c->write;
		return;
	}
	t = tag_get(tid);
	if (t) {
		*out = *t;
		/* workqueue tags are good for the one injection they started */
		if (t->kind == CPRV_CTX_KVM_SET_IRQ || t->kind == CPRV_CTX_IRQFD)
			tag_del(tid);
	}
}

static __always_inline int on_msi_set_irq(__u64 address, __u64 data)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct cpu_state *c = cpu();
	__u64 now = bpf_ktime_get_ns(), pt = task_pt(task), key;
	struct run_state *r;
	struct cprv_event e;
	struct tag t = {};
	bool kept;

	bump(CPRV_HOOK_KVM_MSI_SET_IRQ);
	current_tag(c, &t, now, task, (__u32)pt);
	/* Other VMs on this host: an injection nothing recorded started (no
	 * recorded write or ioctl, no vfio irq, no kworker replay) in a
	 * process outside the recording is theirs, and MSI addresses and
	 * vectors repeat across VMs. Its accept follows it out (on_accept). */
	kept = t.kind != CPRV_CTX_NONE || is_tracked_pt(pt);
	if (c) {
		c->inject = t;
		c->inject.ts = now;
		c->inject_tid = (__u32)pt;
		c->inject_kept = kept;
	}
	if (!kept)
		return 0;
	key = ctx_key_pt(c, pt);
	r = hold();
	/* KVM_SIGNAL_MSI, a workqueue replay: the MSI starts here */
	if (r && !(r->st_open && r->st_key == key))
		open_in(r, key, ST_BY_MSI, now);
	ev_fill(&e, pt, now, CPRV_EV_KVM_MSI_SET_IRQ, t.kind, t.obj, address, data, t.aux, 0);
	out_in(r, key, &e);
	release(r);
	return 0;
}

SEC("tp_btf/kvm_msi_set_irq")
int BPF_PROG(tpb_kvm_msi_set_irq, __u64 address, __u64 data)
{
	return on_msi_set_irq(address, data);
}

SEC("tracepoint/kvm/kvm_msi_set_irq")
int tp_kvm_msi_set_irq(struct trace_event_raw_kvm_msi_set_irq *ctx)
{
	return on_msi_set_irq(ctx->address, ctx->data);
}

static __always_inline int on_set_irq(unsigned int gsi, int level, int src)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct tag *old, t = {};

	bump(CPRV_HOOK_KVM_SET_IRQ);
	if (level == 1) {
		old = tag_get(tid);
		/* an irqfd_inject tag names more (the ctx): keep it */
		if (!old || old->kind == CPRV_CTX_KVM_SET_IRQ ||
		    bpf_ktime_get_ns() - old->ts > tag_fresh_ns) {
			t.kind = CPRV_CTX_KVM_SET_IRQ;
			t.aux = gsi;
			t.ts = bpf_ktime_get_ns();
			tag_set(tid, &t);
		}
	}
	emit(CPRV_EV_KVM_SET_IRQ, 0, 0, gsi, (__u64)(__s64)level, (__u64)(__s64)src, 0);
	return 0;
}

SEC("tp_btf/kvm_set_irq")
int BPF_PROG(tpb_kvm_set_irq, unsigned int gsi, int level, int src)
{
	return on_set_irq(gsi, level, src);
}

SEC("tracepoint/kvm/kvm_set_irq")
int tp_kvm_set_irq(struct trace_event_raw_kvm_set_irq *ctx)
{
	return on_set_irq(ctx->gsi, ctx->level, ctx->irq_source_id);
}

static __always_inline int on_accept(__u32 apicid, __u16 dm, __u16 tm, __u8 vec)
{
	struct cpu_state *c = cpu();
	__u64 pt = bpf_get_current_pid_tgid(), now = bpf_ktime_get_ns(), key;
	struct run_state *r;
	struct cprv_event e;
	struct tag t = {};

	bump(CPRV_HOOK_APIC_ACCEPT);
	if (c && c->inject_tid == (__u32)pt) {
		/* the accept of the MSI this context just computed: it goes
		 * where that MSI went, however long KVM took in between (TCG) */
		if (!c->inject_kept)
			return 0;
		if (now - c->inject.ts < tag_fresh_ns)
			t = c->inject;
	} else if (!is_tracked_pt(pt)) {
		return 0; /* no MSI of ours before it: a timer, an IPI, another VM's */
	}
	key = ctx_key_pt(c, pt);
	r = hold();
	ev_fill(&e, pt, now, CPRV_EV_APIC_ACCEPT, t.kind, t.obj, apicid,
		dm | ((__u64)tm << 16), t.aux, vec);
	out_in(r, key, &e);
	/* a write's or a KVM_SIGNAL_MSI's MSI ends at its accept */
	close_in(r, key, 1u << ST_BY_MSI | 1u << ST_BY_WRITE);
	release(r);
	return 0;
}

SEC("tp_btf/kvm_apic_accept_irq")
int BPF_PROG(tpb_apic_accept, __u32 apicid, __u16 dm, __u16 tm, __u8 vec)
{
	return on_accept(apicid, dm, tm, vec);
}

SEC("tracepoint/kvm/kvm_apic_accept_irq")
int tp_apic_accept(struct trace_event_raw_kvm_apic_accept_irq *ctx)
{
	return on_accept(ctx->apicid, ctx->dm, ctx->tm, ctx->vec);
}

/* Only tracked VMMs' vCPU threads: the guest takes the vector. The soft and
 * reinjected arguments came later; the vector is first everywhere. */
static __always_inline int on_deliver(__u32 vector, __u64 flags)
{
	if (!is_tracked())
		return 0;
	bump(CPRV_HOOK_APIC_DELIVER);
	emit(CPRV_EV_APIC_DELIVER, 0, 0, vector, flags, 0, 0);
	return 0;
}

SEC("tp_btf/kvm_inj_virq")
int BPF_PROG(tpb_inj_virq, unsigned int vector)
{
	return on_deliver(vector, 0);
}

SEC("tracepoint/kvm/kvm_inj_virq")
int tp_inj_virq(struct trace_event_raw_kvm_inj_virq *ctx)
{
	return on_deliver(BPF_CORE_READ(ctx, vector), 0);
}

/* The prototype of this tracepoint changed across kernels (vcpu id vs
 * vcpu pointer, pi_desc_addr gone): only the CO-RE'd classic form is safe. */
SEC("tracepoint/kvm/kvm_pi_irte_update")
int tp_pi_irte_update(struct trace_event_raw_kvm_pi_irte_update *ctx)
{
	bump(CPRV_HOOK_PI_IRTE_UPDATE);
	emit(CPRV_EV_PI_IRTE_UPDATE, 0, 0, BPF_CORE_READ(ctx, host_irq),
	     (__u64)(__s64)BPF_CORE_READ(ctx, vcpu_id), BPF_CORE_READ(ctx, gsi),
	     BPF_CORE_READ(ctx, gvec) | ((__u64)BPF_CORE_READ(ctx, set) << 32));
	return 0;
}

/* ------------------------------------------------ plumbing: syscalls */

struct kvm_irqfd_u {
	__u32 fd, gsi, flags, resamplefd;
};

struct kvm_msi_u {
	__u32 address_lo, address_hi, data, flags, devid;
};

struct kvm_route_u {
	__u32 gsi, type, flags, pad;
	__u32 address_lo, address_hi, data, devid;
	__u32 rest[4];
};

struct vfio_irq_set_u {
	__u32 argsz, flags, index, start, count;
};

#define VFIO_IRQ_SET_DATA_EVENTFD (1u << 2)

static __always_inline void lapic_irr(__u64 uptr, __u64 out[4])
{
	/* IRR: 8 x 32-bit registers at 0x200, 16 bytes apart */
	for (int i = 0; i < 8; i++) {
		__u32 w = 0;

		bpf_probe_read_user(&w, sizeof(w), (void *)(uptr + 0x200 + i * 0x10));
		out[i / 2] |= (__u64)w << ((i % 2) * 32);
	}
}

static __always_inline void save(struct pending *p)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	bpf_map_update_elem(&pending, &tid, p, BPF_ANY);
}

static __always_inline struct pending *take(void)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	return bpf_map_lookup_elem(&pending, &tid);
}

static __always_inline void drop_pending(void)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	bpf_map_delete_elem(&pending, &tid);
}

static __always_inline void emit_routes(__u64 kvm, __u64 uptr, __u32 nr)
{
	struct kvm_route_u r;

	for (__u32 i = 0; i < CPRV_MAX_ROUTES; i++) {
		if (i >= nr)
			break;
		if (bpf_probe_read_user(&r, sizeof(r), (void *)(uptr + 8 + i * 48))) {
			bump(CPRV_STAT_FAULTS);
			break;
		}
		if (r.type != KVM_IRQ_ROUTING_MSI)
			continue;
		emit(CPRV_EV_KVM_ROUTE, 0, kvm, r.gsi,
		     ((__u64)r.address_hi << 32) | r.address_lo, r.data, i);
	}
}

static __always_inline void emit_vfio_triggers(__u64 dev, __u64 uptr, struct vfio_irq_set_u *s)
{
	for (__u32 i = 0; i < CPRV_MAX_VFIO_FDS; i++) {
		__s32 fd = -1;
		__u64 ctx = 0;

		if (i >= s->count)
			break;
		if (bpf_probe_read_user(&fd, sizeof(fd), (void *)(uptr + 20 + i * 4)))
			break;
		if (fd >= 0) {
			ctx = file_priv(fd_file(fd));
			remember(ctx, CPRV_OBJ_EVENTFD);
		}
		emit(CPRV_EV_VFIO_TRIGGER, 0, ctx, s->start + i, s->index, dev, (__u64)(__s64)fd);
	}
}

SEC("tracepoint/syscalls/sys_enter_ioctl")
int sc_ioctl_enter(struct trace_event_raw_sys_enter *ctx)
{
	__u32 cmd = (__u32)ctx->args[1];
	int fd = (int)ctx->args[0];
	__u64 uptr = ctx->args[2];
	struct pending p = {};
	struct file *f;
	__u16 kind;

	if (cmd != CPRV_KVM_CREATE_VM && cmd != CPRV_KVM_IRQFD &&
	    cmd != CPRV_KVM_SET_GSI_ROUTING && cmd != CPRV_KVM_SIGNAL_MSI &&
	    cmd != CPRV_KVM_GET_LAPIC && cmd != CPRV_KVM_SET_LAPIC &&
	    cmd != CPRV_VFIO_DEVICE_SET_IRQS)
		return 0;
	if (!is_tracked())
		return 0;
	bump(CPRV_HOOK_SYS_IOCTL);
	f = fd_file(fd);
	kind = file_kind(f);
	p.cmd = cmd;
	p.fd = fd;
	p.uptr = uptr;
	p.obj = file_kvm(f, kind);

	switch (cmd) {
	case CPRV_KVM_CREATE_VM:
		p.a[0] = uptr; /* the VM type */
		break;
	case CPRV_KVM_IRQFD: {
		struct kvm_irqfd_u u = {};

		bpf_probe_read_user(&u, sizeof(u), (void *)uptr);
		p.obj2 = file_priv(fd_file(u.fd));
		p.a[0] = u.gsi;
		p.a[1] = u.flags;
		p.a[2] = u.fd;
		p.a[3] = bpf_ktime_get_ns();
		break;
	}
	case CPRV_KVM_SET_GSI_ROUTING: {
		__u32 nr = 0;

		bpf_probe_read_user(&nr, sizeof(nr), (void *)uptr);
		p.a[0] = nr;
		emit_routes(p.obj, uptr, nr);
		break;
	}
	case CPRV_KVM_SIGNAL_MSI: {
		struct kvm_msi_u m = {};
		__u32 tid = (__u32)bpf_get_current_pid_tgid();
		struct tag t = {};

		bpf_probe_read_user(&m, sizeof(m), (void *)uptr);
		p.a[0] = ((__u64)m.address_hi << 32) | m.address_lo;
		p.a[1] = m.data;
		t.kind = CPRV_CTX_SIGNAL_MSI;
		t.obj = p.obj;
		t.ts = bpf_ktime_get_ns();
		tag_set(tid, &t);
		break;
	}
	case CPRV_KVM_GET_LAPIC:
		p.a[0] = BPF_CORE_READ((struct kvm_vcpu *)file_priv(f), vcpu_id);
		break;
	case CPRV_KVM_SET_LAPIC: {
		__u64 irr[4] = {};

		lapic_irr(uptr, irr);
		emit(CPRV_EV_KVM_SET_LAPIC, BPF_CORE_READ((struct kvm_vcpu *)file_priv(f), vcpu_id),
		     p.obj, irr[0], irr[1], irr[2], irr[3]);
		return 0;
	}
	case CPRV_VFIO_DEVICE_SET_IRQS: {
		struct vfio_irq_set_u s = {};

		if (kind != CPRV_OBJ_VFIO_DEVICE)
			return 0;
		p.obj = (__u64)f;
		bpf_probe_read_user(&s, sizeof(s), (void *)uptr);
		p.a[0] = s.index;
		p.a[1] = s.start;
		p.a[2] = s.count;
		p.a[3] = s.flags;
		if (s.flags & VFIO_IRQ_SET_DATA_EVENTFD)
			emit_vfio_triggers(p.obj, uptr, &s);
		break;
	}
	}
	save(&p);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_ioctl")
int sc_ioctl_exit(struct trace_event_raw_sys_exit *ctx)
{
	struct pending *p = take();
	__s64 ret = ctx->ret;
	__u32 tid;

	if (!p)
		return 0;
	switch (p->cmd) {
	case CPRV_KVM_CREATE_VM: {
		__u64 kvm = ret >= 0 ? file_priv(fd_file(ret)) : 0;

		remember(kvm, CPRV_OBJ_KVM_VM);
		emit(CPRV_EV_KVM_CREATE_VM, 0, kvm, ret >= 0 ? ret : 0, p->a[0], ret, 0);
		break;
	}
	case CPRV_KVM_IRQFD: {
		struct cprv_event *e = ev_new(CPRV_EV_KVM_IRQFD);

		remember(p->obj2, CPRV_OBJ_EVENTFD);
		if (!e)
			break;
		/* An assign polls the eventfd for a pending count and hooks the
		 * irqfd up inside the ioctl, so it takes effect at entry; a
		 * deassign only once it returns. */
		if (!(p->a[1] & CPRV_KVM_IRQFD_FLAG_DEASSIGN))
			e->ts = p->a[3];
		e->obj = p->obj2;
		e->a[0] = p->obj;
		e->a[1] = p->a[0];
		e->a[2] = p->a[1];
		e->a[3] = ret;
		ev_send(e);
		break;
	}
	case CPRV_KVM_SET_GSI_ROUTING:
		emit(CPRV_EV_KVM_ROUTING, 0, p->obj, p->a[0], ret, 0, 0);
		break;
	case CPRV_KVM_SIGNAL_MSI:
		tid = (__u32)bpf_get_current_pid_tgid();
		tag_del(tid);
		emit(CPRV_EV_KVM_SIGNAL_MSI, 0, p->obj, p->a[0], p->a[1], ret, 0);
		break;
	case CPRV_KVM_GET_LAPIC: {
		__u64 irr[4] = {};

		if (ret == 0)
			lapic_irr(p->uptr, irr);
		emit(CPRV_EV_KVM_GET_LAPIC, p->a[0], p->obj, irr[0], irr[1], irr[2], irr[3]);
		break;
	}
	case CPRV_VFIO_DEVICE_SET_IRQS:
		emit(CPRV_EV_VFIO_SET_IRQS, 0, p->obj, p->a[0], p->a[1], p->a[2],
		     (p->a[3] & 0xffffffff) | ((__u64)ret << 32));
		break;
	}
	drop_pending();
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_eventfd2")
int sc_eventfd_enter(struct trace_event_raw_sys_enter *ctx)
{
	struct pending p = {};

	if (!is_tracked())
		return 0;
	p.cmd = 1;
	p.a[0] = ctx->args[0];
	p.a[1] = ctx->args[1];
	save(&p);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_eventfd2")
int sc_eventfd_exit(struct trace_event_raw_sys_exit *ctx)
{
	struct pending *p = take();
	__u64 efd;

	if (!p)
		return 0;
	bump(CPRV_HOOK_SYS_EVENTFD);
	efd = ctx->ret >= 0 ? file_priv(fd_file(ctx->ret)) : 0;
	remember(efd, CPRV_OBJ_EVENTFD);
	emit(CPRV_EV_EVENTFD_CREATE, 0, efd, ctx->ret, p->a[0], p->a[1], 0);
	drop_pending();
	return 0;
}

/* An eventfd write is a fire (S0'). With an irqfd attached the injection
 * runs inside this very write, so this CPU carries the ctx as the tag of
 * whatever this task injects from inside it (in_write). No exit hook: the
 * MSI it opens closes at its accept, or when its thread's next opens. */
static __always_inline int on_write_enter(struct task_struct *task, int fd, __u64 ubuf)
{
	__u64 efd, val = CPRV_WRITE_VALUE_UNREAD, now, pt = task_pt(task), key;
	struct run_state *r;
	struct cpu_state *c;
	struct cprv_event e;
	struct file *f;

	/* Only recorded processes: an eventfd address is no identity across
	 * its lifetime, and a process outside the recording writing to a
	 * reused one would pass for a fire on a vector we follow. */
	if (!is_tracked_pt(pt))
		return 0;
	f = task_fd_file(task, fd);
	if (!f || !is_eventfd(f))
		return 0;
	efd = file_priv(f);
	bump(CPRV_HOOK_SYS_WRITE);
	if (read_write_value)
		bpf_probe_read_user(&val, sizeof(val), (void *)ubuf);
	/* per CPU, not per task in a hash: the injections run inside this
	 * very write, on this CPU (a write that migrates gets CTX_NONE) */
	now = bpf_ktime_get_ns();
	c = cpu();
	if (c) {
		c->write.kind = CPRV_CTX_EVENTFD_WRITE;
		c->write.obj = efd;
		c->write.aux = 0;
		c->write.ts = now;
		c->write_tid = (__u32)pt;
		c->write_fd = fd;
	}
	key = ctx_key_pt(c, pt);
	r = hold();
	open_in(r, key, ST_BY_WRITE, now);
	ev_fill(&e, pt, now, CPRV_EV_EVENTFD_WRITE, 0, efd, val, eventfd_count(efd), fd, 0);
	out_in(r, key, &e);
	release(r);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_write")
int sc_write_enter(struct trace_event_raw_sys_enter *ctx)
{
	return on_write_enter(bpf_get_current_task_btf(), (int)ctx->args[0], ctx->args[1]);
}

/* Every syscall of every task comes here: the first compare sends all but
 * write() away. 32-bit tasks' numbers mean other calls (write is 4 there;
 * sys_enter_write ignores them too). */
#define TS_COMPAT_X86 0x0002

SEC("tp_btf/sys_enter")
int BPF_PROG(tpb_write_enter, struct pt_regs *regs, long id)
{
	struct task_struct *task;

	if (id != NR_WRITE_X86_64)
		return 0;
	task = bpf_get_current_task_btf();
	if (task->thread_info.status & TS_COMPAT_X86)
		return 0;
	return on_write_enter(task, (int)regs->di, regs->si);
}

SEC("tracepoint/syscalls/sys_enter_read")
int sc_read_enter(struct trace_event_raw_sys_enter *ctx)
{
	int fd = (int)ctx->args[0];
	struct pending p = {};
	struct file *f;
	__u64 efd;

	if (!is_tracked()) /* as for write() */
		return 0;
	f = fd_file(fd);
	if (!f || !is_eventfd(f))
		return 0;
	efd = file_priv(f);
	p.cmd = 2;
	p.fd = fd;
	p.obj = efd;
	p.uptr = ctx->args[1];
	save(&p);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_read")
int sc_read_exit(struct trace_event_raw_sys_exit *ctx)
{
	long ret = ctx->ret;
	struct pending *p;
	__u64 val = 0;

	/* keep clang from re-deriving ctx+16 later: the verifier rejects
	 * loads through a modified ctx pointer */
	asm volatile("" : "+r"(ret));
	p = take();
	if (!p || p->cmd != 2)
		return 0;
	bump(CPRV_HOOK_SYS_READ);
	if (ret == 8)
		bpf_probe_read_user(&val, sizeof(val), (void *)p->uptr);
	emit(CPRV_EV_EVENTFD_READ, 0, p->obj, val, ret, p->fd, 0);
	drop_pending();
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_close")
int sc_close_enter(struct trace_event_raw_sys_enter *ctx)
{
	int fd = (int)ctx->args[0];
	struct file *f;
	__u16 kind;

	if (!is_tracked())
		return 0;
	f = fd_file(fd);
	kind = file_kind(f);
	if (kind == CPRV_OBJ_UNKNOWN || kind == CPRV_OBJ_KVM_DEV)
		return 0;
	bump(CPRV_HOOK_SYS_CLOSE);
	emit(CPRV_EV_CLOSE, kind, kind == CPRV_OBJ_KVM_VCPU ? file_kvm(f, kind) : file_priv(f),
	     fd, 0, 0, 0);
	return 0;
}

/* SCM_RIGHTS: the first control message of a msghdr, read from user space */
struct user_msghdr_u {
	void *name;
	int namelen;
	void *iov;
	__u64 iovlen;
	void *control;
	__u64 controllen;
	unsigned int flags;
};

struct cmsghdr_u {
	__u64 len;
	int level;
	int type;
};

#define SOL_SOCKET_U 1
#define SCM_RIGHTS_U 1

static __always_inline void scm_fds(__u64 umsg, __u16 type, int join)
{
	struct user_msghdr_u m = {};
	struct cmsghdr_u c = {};
	__u32 n;

	if (bpf_probe_read_user(&m, sizeof(m), (void *)umsg) || !m.control ||
	    m.controllen < sizeof(c))
		return;
	if (bpf_probe_read_user(&c, sizeof(c), m.control) || c.level != SOL_SOCKET_U ||
	    c.type != SCM_RIGHTS_U || c.len < sizeof(c))
		return;
	n = (c.len - sizeof(c)) / 4;
	for (__u32 i = 0; i < CPRV_MAX_SCM_FDS; i++) {
		int fd = -1;
		struct file *f;
		__u64 obj;
		__u16 kind;

		if (i >= n)
			break;
		if (bpf_probe_read_user(&fd, sizeof(fd), m.control + sizeof(c) + i * 4))
			break;
		f = fd_file(fd);
		kind = file_kind(f);
		obj = kind == CPRV_OBJ_KVM_VCPU ? file_kvm(f, kind) : file_priv(f);
		if (join) {
			/* a process handed one of our objects joins the recording:
			 * this is how the new QEMU is followed without being named */
			__u64 *ts = obj ? bpf_map_lookup_elem(&sent, &obj) : NULL;
			bool fresh = ts && bpf_ktime_get_ns() - *ts < SENT_FRESH_NS;

			if (ts)
				bpf_map_delete_elem(&sent, &obj);
			if (!is_tracked() && !fresh)
				continue;
			track_current();
		} else if (obj) {
			__u64 now = bpf_ktime_get_ns();

			bpf_map_update_elem(&sent, &obj, &now, BPF_ANY);
		}
		remember(obj, kind);
		emit(type, kind, obj, fd, 0, 0, 0);
	}
}

SEC("tracepoint/syscalls/sys_enter_sendmsg")
int sc_sendmsg_enter(struct trace_event_raw_sys_enter *ctx)
{
	if (!is_tracked())
		return 0;
	bump(CPRV_HOOK_SYS_SENDMSG);
	scm_fds(ctx->args[1], CPRV_EV_FD_SEND, 0);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_recvmsg")
int sc_recvmsg_enter(struct trace_event_raw_sys_enter *ctx)
{
	struct pending p = {};

	p.cmd = 3;
	p.uptr = ctx->args[1];
	save(&p);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_recvmsg")
int sc_recvmsg_exit(struct trace_event_raw_sys_exit *ctx)
{
	struct pending *p = take();

	if (!p || p->cmd != 3)
		return 0;
	if (ctx->ret >= 0) {
		bump(CPRV_HOOK_SYS_RECVMSG);
		scm_fds(p->uptr, CPRV_EV_FD_RECV, 1);
	}
	drop_pending();
	return 0;
}

/* ------------------------------------------------------------ processes */

static __always_inline void emit_comm(__u16 type, __u16 flags, __u64 a0)
{
	char comm[16] = {};

	bpf_get_current_comm(comm, sizeof(comm));
	emit(type, flags, 0, a0, *(__u64 *)&comm[0], *(__u64 *)&comm[8], 0);
}

static __always_inline int on_exec(__u32 old_pid)
{
	if (!is_tracked())
		return 0;
	bump(CPRV_HOOK_PROC_EXEC);
	emit_comm(CPRV_EV_EXEC, 0, old_pid);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(tpb_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	return on_exec(old_pid);
}

SEC("tracepoint/sched/sched_process_exec")
int tp_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	return on_exec(ctx->old_pid);
}

/* maybe_thread: the classic tracepoint names the child's tid, not its tgid,
 * so a new thread looks like a new process; the event says so
 * (CPRV_FORK_MAYBE_THREAD) and the map gets a harmless stray tid. */
static __always_inline int on_fork(__u32 child, __u16 maybe_thread)
{
	__u8 one = 1;

	if (!is_tracked())
		return 0;
	bump(CPRV_HOOK_PROC_FORK);
	if (child == bpf_get_current_pid_tgid() >> 32)
		return 0; /* a thread */
	bpf_map_update_elem(&tracked, &child, &one, BPF_ANY);
	tracked_changed();
	emit_comm(CPRV_EV_FORK, maybe_thread, child);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(tpb_fork, struct task_struct *parent, struct task_struct *child)
{
	return on_fork(BPF_CORE_READ(child, tgid), 0);
}

SEC("tracepoint/sched/sched_process_fork")
int tp_fork(struct trace_event_raw_sched_process_fork *ctx)
{
	return on_fork(ctx->child_pid, CPRV_FORK_MAYBE_THREAD);
}

static __always_inline int on_exit(void)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	__u64 pt = bpf_get_current_pid_tgid();
	__u32 tgid = pt >> 32;

	tag_del((__u32)pt);
	bpf_map_delete_elem(&pending, (__u32 *)&pt);
	if ((__u32)pt != tgid || !is_tracked())
		return 0;
	bump(CPRV_HOOK_PROC_EXIT);
	emit_comm(CPRV_EV_EXIT, 0, BPF_CORE_READ(t, exit_code));
	bpf_map_delete_elem(&tracked, &tgid);
	tracked_changed();
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(tpb_exit)
{
	return on_exit();
}

SEC("tracepoint/sched/sched_process_exit")
int tp_exit(void *ctx)
{
	return on_exit();
}

/* ------------------------------------------------------------ uprobes */

/* One program, attached once per (binary, function) with the function id
 * and its argument layout in the cookie: id | args << 16. */
SEC("uprobe")
int BPF_KPROBE(up_fn, __u64 arg1, __u64 arg2, __u64 arg3)
{
	__u64 cookie = bpf_get_attach_cookie(ctx);
	struct cprv_event *e;

	if (!is_tracked())
		return 0;
	bump(CPRV_HOOK_USER_FN);
	e = ev_new(CPRV_EV_UPROBE);
	if (!e)
		return 0;
	e->a[0] = cookie & 0xffff;
	if ((cookie >> 16) == CPRV_UFN_ARGS_STR0) {
		char name[16] = {};

		if (arg1 && bpf_probe_read_user_str(name, sizeof(name), (void *)arg1) < 0)
			bump(CPRV_STAT_FAULTS);
		__builtin_memcpy(&e->a[1], name, 16);
		e->a[3] = (__u32)arg2 | arg3 << 32;
	} else {
		e->a[1] = arg1;
		e->a[2] = arg2;
		e->a[3] = arg3;
	}
	ev_send(e);
	return 0;
}

/* ------------------------------------------------------------ runs: tick */

struct tick_ctx {
	__u64 now;
	__u64 force;
};

static long tick_cpu(__u32 i, struct tick_ctx *t)
{
	__u32 zero = 0;
	struct run_state *r;

	if (i >= nr_cpus)
		return 1;
	r = bpf_map_lookup_percpu_elem(&runs, &zero, i);
	if (!r || (!r->st_open && !runs_open(r)))
		return 0;
	if (!t->force && t->now - r->touched < run_idle_ns)
		return 0;
	if (!run_take(r, 2))
		return 0; /* its CPU is at it: it will close the run itself */
	if (r->st_open)
		stash_spill(r);
	runs_flush(r);
	run_give(r);
	return 0;
}

/*
 * The recorder calls cprv_runs_tick(force) on every poll (lib/probes.c):
 * runs and stashes idle for run_idle_ns go out, all of them with force.
 * So no MSI waits in a quiet CPU's run longer than a poll period.
 */
SEC("uprobe")
int BPF_KPROBE(up_runs_tick, __u64 force)
{
	struct tick_ctx t = { .now = bpf_ktime_get_ns(), .force = force };

	if (compact)
		bpf_loop(1024, tick_cpu, &t, 0);
	return 0;
}

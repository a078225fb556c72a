/*
 * The reorder window as a few sorted FIFOs ("lanes") and a heap. What is
 * released is the smallest (ts, arrival sequence) of all held events, as a
 * single heap would release, whichever of them holds it.
 *
 *  - A lane is sorted by (ts, sequence). The top lane, the one with the
 *    newest tail, takes every event not older than its newest: input in
 *    order is a copy in and a copy out, no sifting.
 *  - An event at most SCAN places older than the top's newest (the ring
 *    buffer's inversions between CPUs) is inserted there.
 *  - Else it is appended to the other lane with the newest tail not newer
 *    than it (the patience-sorting rule): an expanded run, sorted in itself
 *    and late as a whole, fills a lane of its own, and k interleaved
 *    sorted streams cost a k-way merge. Failing that it is inserted near
 *    the newest of the lane whose tail is the closest, or starts a lane.
 *  - When all lanes are taken it goes to a binary min-heap of 24-byte keys
 *    (ts, sequence, pool slot) over an event pool: only keys are sifted,
 *    never the 64-byte events. A lane of a few stragglers is moved to the
 *    heap to make room for a new lane.
 *
 * Releasing takes from the current source (a lane or the heap) while its
 * oldest is older than the oldest of all the others, kept as a threshold;
 * only then are the sources compared again. In order, the source is the
 * top and the threshold infinite; merging streams, the source changes
 * when the next stream's turn comes, not at every event.
 *
 * Lanes are chains of blocks from one pool. All memory is allocated up
 * front, so push cannot fail, but only what is used gets touched: an
 * in-order trace touches about window * 72 bytes and little else.
 *
 * A run (lib/run.h) in timestamp order is a sorted stream already: it is
 * held as it came, template and deltas, in a run lane (a FIFO of runs, the
 * same patience rule), one more kind of source, and expanded only as its
 * events leave. While its events are "pushed" (counted in) one by one, those
 * not in yet are hidden from every release, so what leaves is what pushing
 * them one by one would have released.
 */
#include <stdlib.h>
#include <string.h>
#include "reorder.h"
#include "run.h"
#include "trace.h"

#define DEFAULT_WINDOW 262144
#define NLANE 8
#define MIN_BLOCK 64      /* events per block of a lane: > SCAN + 1, 1 << 6 */
#define MAX_BLOCK 1024
#define SCAN 16           /* how far back an insertion may go */
#define EVICT 4           /* a lane this short may be moved to the heap */
#define ALIGN 64
#define HEAP NLANE        /* the current source is the heap */
#define NONE UINT32_MAX
#define NRUN 8            /* run lanes */
#define RL0 (HEAP + 1)    /* the current source is run lane cur - RL0 */

struct lane {
	uint64_t head_ts, head_seq, tail_ts;
	uint32_t hb, hi;    /* head block, index of the oldest in it */
	uint32_t tb, ti;    /* tail block, index past the newest in it */
	uint32_t pb;        /* the block before tb, if tb != hb */
	uint32_t len;
};

struct hkey {
	uint64_t ts, seq;
	uint32_t idx;
};

/* A held run: where it stands, over its own copy of templates and deltas. */
struct rslot {
	struct cprv_run_cur cur;
	uint64_t seq0;              /* its first event's sequence */
	uint32_t next;              /* the next run of its lane, NONE */
	void *mem;                  /* the copy: nev templates, then the deltas */
};

struct rlane {
	uint32_t hs, ts;            /* head and tail run, while active */
	uint64_t tail_ts;           /* the tail run's last event */
	uint64_t head_ts, head_seq; /* the next event out (of run hs) */
	int on;                     /* active: in ract */
};

struct cprv_reorder {
	size_t window, n;            /* n: events held, lanes + heap */
	/* lanes */
	struct lane lane[NLANE];
	uint32_t act[NLANE];         /* the active lanes */
	uint32_t nact, top;          /* top: the one with the newest tail */
	/* the lane insert last appended to (NLANE: none): a late run comes
	 * as a row of events, each the next of the one before */
	uint32_t last;
	/* unless dirty: cur (a lane or HEAP) holds the oldest event while
	 * that is older than thr, the oldest held anywhere else */
	uint32_t cur;
	uint64_t thr_ts, thr_seq;
	int dirty;
	/* blocks: event i of block b at [b << bshift | i]; there are enough
	 * for every lane, so bused never passes their number */
	struct cprv_event *bev;
	uint64_t *bseq;
	uint32_t *bnext, *bfree;
	uint32_t bsize, bshift, bused, nbfree;
	/* the heap: keys, and the events they point to in pool */
	struct hkey *heap;
	size_t hn;
	struct cprv_event *pool;
	uint32_t *pfree;
	uint32_t pused, npfree;
	/* run lanes and the runs they hold */
	struct rlane rl[NRUN];
	uint32_t ract[NRUN], nract;
	struct rslot *slot;
	uint32_t *sfree;
	uint32_t nslot, sused, nsfree;
	/* a run's events from this sequence on are not pushed yet */
	uint64_t hid_seq;
	uint64_t seq, last_ts, late;
};

static void *alloc_aligned(size_t n, size_t size)
{
	size_t bytes;

	if (size && n > (SIZE_MAX - ALIGN) / size)
		return NULL;
	bytes = (n * size + ALIGN - 1) / ALIGN * ALIGN;
	return aligned_alloc(ALIGN, bytes ? bytes : ALIGN);
}

struct cprv_reorder *cprv_reorder_new(size_t window)
{
	struct cprv_reorder *r;
	size_t nblk;
	uint32_t bsize = MIN_BLOCK, bshift = 6;

	if (!window)
		window = DEFAULT_WINDOW;
	/* pool, block and lane indices are 32-bit */
	if (window > UINT32_MAX / 2)
		return NULL;
	while (bsize < window && bsize < MAX_BLOCK) {
		bsize <<= 1;
		bshift++;
	}
	/* a lane of m events spans at most m / bsize + 2 blocks */
	nblk = (window + bsize - 1) / bsize + 2 * NLANE + 1;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->window = window;
	r->bsize = bsize;
	r->bshift = bshift;
	r->dirty = 1;
	r->last = NLANE;
	r->hid_seq = UINT64_MAX;
	/* a held run has an event in the window: window + 1 at most (the
	 * one being pushed); calloc: only the slots used get touched */
	r->nslot = (uint32_t)window + 1;
	r->slot = calloc(r->nslot, sizeof(*r->slot));
	r->sfree = calloc(r->nslot, sizeof(*r->sfree));
	r->bev = alloc_aligned(nblk * bsize, sizeof(*r->bev));
	r->bseq = alloc_aligned(nblk * bsize, sizeof(*r->bseq));
	r->bnext = alloc_aligned(nblk, sizeof(*r->bnext));
	r->bfree = alloc_aligned(nblk, sizeof(*r->bfree));
	r->heap = alloc_aligned(window, sizeof(*r->heap));
	r->pool = alloc_aligned(window, sizeof(*r->pool));
	r->pfree = alloc_aligned(window, sizeof(*r->pfree));
	if (!r->bev || !r->bseq || !r->bnext || !r->bfree || !r->heap || !r->pool || !r->pfree ||
	    !r->slot || !r->sfree) {
		cprv_reorder_free(r);
		return NULL;
	}
	return r;
}

void cprv_reorder_free(struct cprv_reorder *r)
{
	if (r) {
		for (uint32_t j = 0; j < r->nract; j++)
			for (uint32_t i = r->rl[r->ract[j]].hs; i != NONE; i = r->slot[i].next)
				free(r->slot[i].mem);
		free(r->bev);
		free(r->bseq);
		free(r->bnext);
		free(r->bfree);
		free(r->heap);
		free(r->pool);
		free(r->pfree);
		free(r->slot);
		free(r->sfree);
		free(r);
	}
}

static inline int key_less(uint64_t ats, uint64_t aseq, uint64_t bts, uint64_t bseq)
{
	return ats < bts || (ats == bts && aseq < bseq);
}

/* ---- which source holds the oldest ---- */

/* (ts, seq) is now held by src */
static inline void offer(struct cprv_reorder *r, uint64_t ts, uint64_t seq, uint32_t src)
{
	if (src != r->cur && key_less(ts, seq, r->thr_ts, r->thr_seq)) {
		r->thr_ts = ts;
		r->thr_seq = seq;
	}
}

typedef unsigned __int128 key128;

static inline key128 key(uint64_t ts, uint64_t seq)
{
	return (key128)ts << 64 | seq;
}

/* The oldest of all: cur; the next oldest elsewhere: thr. */
static void recompute(struct cprv_reorder *r)
{
	/* (128-bit keys compare without branches: which is older is
	 * anybody's guess when merging streams) */
	key128 k1 = ~(key128)0, k2 = ~(key128)0;    /* none: later than any */
	uint32_t src = NONE;

	for (uint32_t j = 0; j < r->nact; j++) {
		uint32_t c = r->act[j];
		key128 k = key(r->lane[c].head_ts, r->lane[c].head_seq);
		int lt1 = k < k1;

		k2 = lt1 ? k1 : (k < k2 ? k : k2);
		src = lt1 ? c : src;
		k1 = lt1 ? k : k1;
	}
	for (uint32_t j = 0; j < r->nract; j++) {
		uint32_t c = r->ract[j];
		const struct rlane *l = &r->rl[c];
		/* (a head not pushed yet is not there) */
		key128 k = l->head_seq >= r->hid_seq ? ~(key128)0 : key(l->head_ts, l->head_seq);
		int lt1 = k < k1;

		k2 = lt1 ? k1 : (k < k2 ? k : k2);
		src = lt1 ? RL0 + c : src;
		k1 = lt1 ? k : k1;
	}
	if (r->hn) {
		key128 k = key(r->heap[0].ts, r->heap[0].seq);
		int lt1 = k < k1;

		k2 = lt1 ? k1 : (k < k2 ? k : k2);
		src = lt1 ? HEAP : src;
	}
	r->cur = src;
	r->thr_ts = (uint64_t)(k2 >> 64);
	r->thr_seq = (uint64_t)k2;
	r->dirty = src == NONE;     /* (nothing to take: ask again) */
}

/* ---- the heap ---- */

static void heap_push(struct cprv_reorder *r, const struct cprv_event *ev, uint64_t seq)
{
	struct hkey *h = r->heap;
	uint32_t idx = r->npfree ? r->pfree[--r->npfree] : r->pused++;
	size_t i = r->hn++;

	r->pool[idx] = *ev;
	while (i) {
		size_t p = (i - 1) / 2;

		if (!key_less(ev->ts, seq, h[p].ts, h[p].seq))
			break;
		h[i] = h[p];
		i = p;
	}
	h[i] = (struct hkey){ .ts = ev->ts, .seq = seq, .idx = idx };
	offer(r, ev->ts, seq, HEAP);
}

static void heap_pop(struct cprv_reorder *r, struct cprv_event *out)
{
	struct hkey *h = r->heap, last;
	size_t i = 0, n;

	*out = r->pool[h[0].idx];
	r->pfree[r->npfree++] = h[0].idx;
	n = --r->hn;
	if (!n)
		return;
	last = h[n];
	/* Floyd: the hole goes down to a leaf by the smaller child, then last
	 * (from the bottom, so likely large) climbs back: fewer compares */
	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= n)
			break;
		if (c + 1 < n && key_less(h[c + 1].ts, h[c + 1].seq, h[c].ts, h[c].seq))
			c++;
		h[i] = h[c];
		i = c;
	}
	while (i) {
		size_t p = (i - 1) / 2;

		if (!key_less(last.ts, last.seq, h[p].ts, h[p].seq))
			break;
		h[i] = h[p];
		i = p;
	}
	h[i] = last;
	/* the next pop's event, fetched while the caller works */
	__builtin_prefetch(&r->pool[h[0].idx]);
}

/* ---- lanes ---- */

static inline size_t at(const struct cprv_reorder *r, uint32_t b, uint32_t i)
{
	return (size_t)b << r->bshift | i;
}

/* The store index of the event d places older than lane l's newest. */
static inline size_t from_tail(const struct cprv_reorder *r, const struct lane *l, uint32_t d)
{
	return d < l->ti ? at(r, l->tb, l->ti - 1 - d) : at(r, l->pb, r->bsize - 1 - (d - l->ti));
}

static __attribute__((noinline)) void lane_grow(struct cprv_reorder *r, struct lane *l)
{
	uint32_t b = r->nbfree ? r->bfree[--r->nbfree] : r->bused++;

	r->bnext[l->tb] = b;
	l->pb = l->tb;
	l->tb = b;
	l->ti = 0;
}

static inline void lane_append(struct cprv_reorder *r, struct lane *l,
			       const struct cprv_event *ev, uint64_t seq)
{
	size_t k;

	if (l->ti == r->bsize)
		lane_grow(r, l);
	k = at(r, l->tb, l->ti++);
	r->bev[k] = *ev;
	r->bseq[k] = seq;
	l->tail_ts = ev->ts;
	l->len++;
}

static void lane_start(struct cprv_reorder *r, const struct cprv_event *ev, uint64_t seq)
{
	uint32_t id = 0;
	struct lane *l;

	while (r->lane[id].len)
		id++;
	l = &r->lane[id];
	l->hb = l->tb = r->nbfree ? r->bfree[--r->nbfree] : r->bused++;
	l->hi = l->ti = 0;
	l->head_ts = ev->ts;
	l->head_seq = seq;
	lane_append(r, l, ev, seq);
	r->act[r->nact++] = id;
	if (r->nact == 1 || ev->ts >= r->lane[r->top].tail_ts)
		r->top = id;
	offer(r, ev->ts, seq, id);
}

/* Lane id's head block is used up, or the lane is empty. */
static __attribute__((noinline)) void lane_shrink(struct cprv_reorder *r, uint32_t id)
{
	struct lane *l = &r->lane[id];
	uint32_t b = l->hb;

	r->bfree[r->nbfree++] = b;
	if (l->len) {
		l->hb = r->bnext[b];
		l->hi = 0;
		return;
	}
	for (uint32_t j = 0; j < r->nact; j++)
		if (r->act[j] == id) {
			r->act[j] = r->act[--r->nact];
			break;
		}
	if (id == r->cur)
		r->dirty = 1;
	/* (the top has the newest tail, so it empties last: a guard) */
	if (id == r->top && r->nact) {
		r->top = r->act[0];
		for (uint32_t j = 1; j < r->nact; j++)
			if (r->lane[r->act[j]].tail_ts > r->lane[r->top].tail_ts)
				r->top = r->act[j];
	}
}

/* Takes lane id's oldest; the lane goes inactive when empty. */
static inline void lane_pop(struct cprv_reorder *r, uint32_t id, struct cprv_event *out)
{
	struct lane *l = &r->lane[id];
	size_t k = at(r, l->hb, l->hi++);

	*out = r->bev[k];
	if (!--l->len || l->hi == r->bsize) {
		lane_shrink(r, id);
		if (!l->len)
			return;
	}
	k = at(r, l->hb, l->hi);
	l->head_ts = r->bev[k].ts;
	l->head_seq = r->bseq[k];
}

/*
 * Inserts ev into lane id, whose newest is newer, at most SCAN places
 * back. 0 if it does not fit there.
 */
static int lane_insert(struct cprv_reorder *r, uint32_t id, const struct cprv_event *ev,
		       uint64_t seq)
{
	struct lane *l = &r->lane[id];
	uint32_t d = 1, e;
	size_t to;

	/* d: how many are newer than ev (the newest is); if the one SCAN
	 * places back is not, d ends at SCAN at most */
	if (l->len > SCAN && r->bev[from_tail(r, l, SCAN)].ts > ev->ts)
		return 0;
	while (d < l->len && r->bev[from_tail(r, l, d)].ts > ev->ts)
		d++;
	if (l->ti == r->bsize)
		lane_grow(r, l);
	l->ti++;
	l->len++;
	/* (from_tail now counts from the new, empty slot) */
	for (e = 0; e < d; e++) {
		size_t from = from_tail(r, l, e + 1);

		to = from_tail(r, l, e);
		r->bev[to] = r->bev[from];
		r->bseq[to] = r->bseq[from];
	}
	to = from_tail(r, l, d);
	r->bev[to] = *ev;
	r->bseq[to] = seq;
	if (d == l->len - 1) {
		l->head_ts = ev->ts;
		l->head_seq = seq;
		offer(r, ev->ts, seq, id);
	}
	return 1;
}

/* Moves a lane of a few stragglers to the heap; 0 if none is that short. */
static int lane_evict(struct cprv_reorder *r)
{
	uint32_t id = NONE;
	struct cprv_event ev;

	for (uint32_t j = 0; j < r->nact; j++) {
		uint32_t c = r->act[j];

		if (c != r->top && r->lane[c].len <= EVICT &&
		    (id == NONE || r->lane[c].len < r->lane[id].len))
			id = c;
	}
	if (id == NONE)
		return 0;
	/* (the same keys, held elsewhere: thr stands; if the lane was cur,
	 * emptying it made cur dirty) */
	while (r->lane[id].len) {
		uint64_t seq = r->lane[id].head_seq;

		lane_pop(r, id, &ev);
		heap_push(r, &ev, seq);
	}
	return 1;
}

/* ---- the window ---- */

static inline void count_late(struct cprv_reorder *r, const struct cprv_event *out)
{
	if (out->ts < r->last_ts)
		r->late++;
	else
		r->last_ts = out->ts;
}

/* Whether cur holds the oldest event: it may be taken with no comparing. */
static inline int cur_is_oldest(const struct cprv_reorder *r)
{
	if (r->dirty)
		return 0;
	if (r->cur == HEAP)
		return r->hn && key_less(r->heap[0].ts, r->heap[0].seq, r->thr_ts, r->thr_seq);
	if (r->cur >= RL0) {
		const struct rlane *l = &r->rl[r->cur - RL0];

		return l->head_seq < r->hid_seq &&
		       key_less(l->head_ts, l->head_seq, r->thr_ts, r->thr_seq);
	}
	return key_less(r->lane[r->cur].head_ts, r->lane[r->cur].head_seq, r->thr_ts, r->thr_seq);
}

/* ---- run lanes ---- */

/* Run lane id's head run is out: the next one, or the lane goes inactive. */
static __attribute__((noinline)) void rl_next_run(struct cprv_reorder *r, uint32_t id)
{
	struct rlane *l = &r->rl[id];
	struct rslot *s = &r->slot[l->hs];

	free(s->mem);
	r->sfree[r->nsfree++] = l->hs;
	l->hs = s->next;
	if (l->hs != NONE) {
		s = &r->slot[l->hs];
		cprv_run_cur_ts(&s->cur, &l->head_ts);
		l->head_seq = s->seq0;
		return;
	}
	l->on = 0;
	for (uint32_t j = 0; j < r->nract; j++)
		if (r->ract[j] == id) {
			r->ract[j] = r->ract[--r->nract];
			break;
		}
	if (RL0 + id == r->cur)
		r->dirty = 1;
}

/* Takes run lane id's oldest. */
static inline void rl_pop(struct cprv_reorder *r, uint32_t id, struct cprv_event *out)
{
	struct rlane *l = &r->rl[id];
	struct rslot *s = &r->slot[l->hs];

	cprv_run_cur_take(&s->cur, l->head_ts, out);
	if (cprv_run_cur_ts(&s->cur, &l->head_ts))
		l->head_seq++;
	else
		rl_next_run(r, id);
}

/*
 * The run lane a sorted run from ts first on may join: the active one with
 * the newest tail not newer than first (the patience rule), else an idle
 * one; NONE if every lane is taken and none fits.
 */
static uint32_t rl_pick(const struct cprv_reorder *r, uint64_t first)
{
	uint32_t best = NONE;

	for (uint32_t j = 0; j < r->nract; j++) {
		uint32_t c = r->ract[j];

		if (r->rl[c].tail_ts <= first && (best == NONE || r->rl[c].tail_ts > r->rl[best].tail_ts))
			best = c;
	}
	if (best != NONE || r->nract == NRUN)
		return best;
	for (uint32_t c = 0; c < NRUN; c++)
		if (!r->rl[c].on)
			return c;
	return NONE;
}

static __attribute__((noinline)) void release(struct cprv_reorder *r, struct cprv_event *out)
{
	if (!cur_is_oldest(r))
		recompute(r);
	if (r->cur == HEAP)
		heap_pop(r, out);
	else if (r->cur >= RL0)
		rl_pop(r, r->cur - RL0, out);
	else
		lane_pop(r, r->cur, out);
	r->n--;
	count_late(r, out);
}

static __attribute__((noinline)) void insert(struct cprv_reorder *r,
					      const struct cprv_event *ev, uint64_t seq)
{
	uint32_t best = NONE, near = NONE;
	struct lane *top;
	int far;

	if (!r->nact) {
		lane_start(r, ev, seq);
		return;
	}
	top = &r->lane[r->top];
	far = top->len > SCAN && r->bev[from_tail(r, top, SCAN)].ts > ev->ts;
	/* too late for the top: the row insert last took goes on (any lane
	 * whose newest is not newer stays sorted) */
	if (far && r->last < NLANE && r->last != r->top && r->lane[r->last].len &&
	    r->lane[r->last].tail_ts <= ev->ts) {
		lane_append(r, &r->lane[r->last], ev, seq);
		return;
	}
	if (!far && lane_insert(r, r->top, ev, seq))
		return;
	for (uint32_t j = 0; j < r->nact; j++) {
		uint32_t c = r->act[j];
		uint64_t t = r->lane[c].tail_ts;

		if (c == r->top)
			continue;
		if (t <= ev->ts) {
			if (best == NONE || t > r->lane[best].tail_ts)
				best = c;
		} else if (near == NONE || t < r->lane[near].tail_ts) {
			near = c;
		}
	}
	if (best != NONE) {
		lane_append(r, &r->lane[best], ev, seq);
		r->last = best;
	} else if (near != NONE && lane_insert(r, near, ev, seq)) {
		;
	} else if (r->nact < NLANE || lane_evict(r)) {
		lane_start(r, ev, seq);
		r->last = r->act[r->nact - 1];
	} else {
		heap_push(r, ev, seq);
	}
}

int cprv_reorder_push(struct cprv_reorder *r, const struct cprv_event *ev, struct cprv_event *out)
{
	struct lane *top;
	int popped = 0;

	if (r->n == r->window) {
		if (r->cur < NLANE && cur_is_oldest(r)) {
			lane_pop(r, r->cur, out);
			r->n--;
			count_late(r, out);
		} else {
			release(r, out);
		}
		popped = 1;
	}
	top = &r->lane[r->top];
	if (r->nact && ev->ts >= top->tail_ts)
		lane_append(r, top, ev, r->seq);
	else
		insert(r, ev, r->seq);
	r->seq++;
	r->n++;
	return popped;
}

/* A run that is not held as it is: its events pushed one by one. */
static int push_each(struct cprv_reorder *r, const struct cprv_run_iter *it,
		     cprv_reorder_emit_fn emit, void *arg)
{
	struct cprv_run_cur x = it->cur;
	struct cprv_event ev, out;
	int err = 0;

	while (cprv_run_cur_next(&x, &ev))
		if (cprv_reorder_push(r, &ev, &out) && !err)
			err = emit(arg, &out);
	return err;
}

int cprv_reorder_push_run(struct cprv_reorder *r, const struct cprv_run_iter *it,
			  cprv_reorder_emit_fn emit, void *arg)
{
	uint64_t last, m = cprv_run_events(it), seq0 = r->seq;
	size_t tbytes = it->cur.nev * sizeof(struct cprv_event);
	uint32_t id, idx;
	struct rlane *l;
	struct rslot *s;
	struct cprv_event out;
	uint8_t *mem;
	int err = 0;

	/* (out of slots or memory it is still exact, only slower) */
	if ((!r->nsfree && r->sused == r->nslot) || !cprv_run_sorted(&it->cur, &last) ||
	    (id = rl_pick(r, it->tmpl[0].ts)) == NONE ||
	    !(mem = malloc(tbytes + cprv_run_delta_bytes(&it->cur))))
		return push_each(r, it, emit, arg);
	idx = r->nsfree ? r->sfree[--r->nsfree] : r->sused++;
	s = &r->slot[idx];
	memcpy(mem, it->tmpl, tbytes);
	memcpy(mem + tbytes, it->cur.d, cprv_run_delta_bytes(&it->cur));
	s->mem = mem;
	s->cur = it->cur;
	s->cur.tmpl = (const struct cprv_event *)mem;
	s->cur.d = mem + tbytes;
	s->seq0 = seq0;
	s->next = NONE;
	l = &r->rl[id];
	if (l->on) {
		r->slot[l->ts].next = idx;
	} else {
		l->hs = idx;
		cprv_run_cur_ts(&s->cur, &l->head_ts);
		l->head_seq = seq0;
		l->on = 1;
		r->ract[r->nract++] = id;
	}
	l->ts = idx;
	l->tail_ts = last;
	/* in one by one: a release sees only those in so far */
	r->hid_seq = seq0;
	for (uint64_t j = 0; j < m; j++) {
		if (r->n == r->window) {
			/* a run lane holding the oldest gives one event after
			 * another (merging runs, the common case): inline */
			if (r->cur >= RL0 && cur_is_oldest(r)) {
				rl_pop(r, r->cur - RL0, &out);
				r->n--;
				count_late(r, &out);
			} else {
				release(r, &out);
			}
			if (!err)
				err = emit(arg, &out);
		}
		r->hid_seq++;
		r->n++;
		if (l->head_seq == r->hid_seq - 1)
			offer(r, l->head_ts, l->head_seq, RL0 + id);
	}
	r->hid_seq = UINT64_MAX;
	r->seq = seq0 + m;
	return err;
}

int cprv_reorder_read(struct cprv_reorder *r, struct cprv_trace_reader *rd,
		      cprv_reorder_emit_fn emit, void *arg, int *emit_err)
{
	const struct cprv_run_iter *run;
	struct cprv_event ev, out;
	int rc;

	*emit_err = 0;
	while ((rc = cprv_trace_next_run(rd, &ev, &run)) > 0) {
		if (run)
			*emit_err = cprv_reorder_push_run(r, run, emit, arg);
		else if (cprv_reorder_push(r, &ev, &out))
			*emit_err = emit(arg, &out);
		if (*emit_err)
			return rc;
	}
	while (!*emit_err && cprv_reorder_pop(r, &out))
		*emit_err = emit(arg, &out);
	return rc;
}

int cprv_reorder_pop(struct cprv_reorder *r, struct cprv_event *out)
{
	if (!r->n)
		return 0;
	release(r, out);
	return 1;
}

uint64_t cprv_reorder_late(const struct cprv_reorder *r)
{
	return r->late;
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * reorder_bench: throughput of the reorder window (lib/reorder.c) on
 * synthetic arrival orders, against the binary heap of 72-byte slots it
 * replaced (kept below as "old" for the comparison), checking that both
 * release the same events in the same order.
 *
 *   reorder_bench [-n EVENTS] [-w WINDOW] [-p PATTERN] [-r REPEAT] [-m IMPL]
 *
 * EVENTS defaults to 20M, WINDOW to 0 (the library's default; the old heap
 * then gets 65536, its own default), IMPL is new, old or both (default),
 * PATTERN one of:
 *   sorted  timestamps in arrival order (ties included)
 *   bpf     what a ring buffer shared by 4 CPUs delivers: an event every
 *           ~330 ns, each reserved 0..~1 us after its clock read, 1 in 2000
 *           preempted for 5..50 us in between
 *   runs    bpf, and 1 event in 16 comes in runs of 256 arriving 10..20 ms
 *           late (expanded compressed runs)
 *   random  every event displaced by up to WINDOW/2 places (the heap's case)
 *   reverse blocks of WINDOW/2 events in decreasing timestamp order
 *   all     each of the above (default)
 *   trace:FILE  the first 1M events of a trace in file order (runs
 *           expanded where the reader expands them)
 *
 * A block of 1M events is generated (and sorted into arrival order) before
 * timing, then pushed N/1M times with its timestamps shifted, so the timed
 * loop is the reorder window and a 64-byte copy. Prints events/s from the
 * process CPU time (robust on a busy machine) and from the wall clock, the
 * best of REPEAT rounds (default 3) that interleave the implementations,
 * and the window's own ns per event: minus the loop alone (impl "none").
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "reorder.h"
#include "trace.h"

#define BLOCK (1u << 20)

/* ---- the implementation before: a binary heap of (event, seq) slots ---- */

struct old_slot {
	struct cprv_event ev;
	uint64_t seq;
};

struct old_reorder {
	struct old_slot *heap;
	size_t n, cap;
	uint64_t seq, last_ts, late;
};

static struct old_reorder *old_new(size_t window)
{
	struct old_reorder *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->cap = window ? window : 65536;
	r->heap = malloc(r->cap * sizeof(*r->heap));
	if (!r->heap) {
		free(r);
		return NULL;
	}
	return r;
}

static void old_free(struct old_reorder *r)
{
	if (r) {
		free(r->heap);
		free(r);
	}
}

static int old_less(const struct old_slot *a, const struct old_slot *b)
{
	return a->ev.ts < b->ev.ts || (a->ev.ts == b->ev.ts && a->seq < b->seq);
}

static void old_swap(struct old_slot *a, struct old_slot *b)
{
	struct old_slot t = *a;

	*a = *b;
	*b = t;
}

static void old_pop_min(struct old_reorder *r, struct cprv_event *out)
{
	size_t i = 0;

	*out = r->heap[0].ev;
	if (out->ts < r->last_ts)
		r->late++;
	else
		r->last_ts = out->ts;
	r->heap[0] = r->heap[--r->n];
	for (;;) {
		size_t l = 2 * i + 1, m = i;

		if (l < r->n && old_less(&r->heap[l], &r->heap[m]))
			m = l;
		if (l + 1 < r->n && old_less(&r->heap[l + 1], &r->heap[m]))
			m = l + 1;
		if (m == i)
			break;
		old_swap(&r->heap[i], &r->heap[m]);
		i = m;
	}
}

static int old_push(struct old_reorder *r, const struct cprv_event *ev, struct cprv_event *out)
{
	int popped = 0;
	size_t i;

	if (r->n == r->cap) {
		old_pop_min(r, out);
		popped = 1;
	}
	i = r->n++;
	r->heap[i].ev = *ev;
	r->heap[i].seq = r->seq++;
	while (i && old_less(&r->heap[i], &r->heap[(i - 1) / 2])) {
		old_swap(&r->heap[i], &r->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	return popped;
}

static int old_pop(struct old_reorder *r, struct cprv_event *out)
{
	if (!r->n)
		return 0;
	old_pop_min(r, out);
	return 1;
}

/* ---- input ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	uint64_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

static uint64_t rnd_below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

struct arrival {
	uint64_t at;   /* when it reaches the ring buffer */
	uint32_t i;    /* its index in timestamp order */
};

static int cmp_arrival(const void *x, const void *y)
{
	const struct arrival *a = x, *b = y;

	if (a->at != b->at)
		return a->at < b->at ? -1 : 1;
	return a->i < b->i ? -1 : a->i > b->i;
}

/* The first BLOCK events of a trace, in file order (fewer: repeated). */
static struct cprv_event *trace_block(const char *path, uint64_t *span)
{
	struct cprv_event *ev = calloc(BLOCK, sizeof(*ev));
	char err[256];
	struct cprv_trace_reader *r = cprv_trace_reader_open(path, err, sizeof(err));
	uint64_t lo = UINT64_MAX, hi = 0;
	uint32_t n = 0;

	if (!ev || !r) {
		fprintf(stderr, "%s\n", r ? "out of memory" : err);
		exit(1);
	}
	while (n < BLOCK && cprv_trace_next(r, &ev[n]) > 0) {
		lo = ev[n].ts < lo ? ev[n].ts : lo;
		hi = ev[n].ts > hi ? ev[n].ts : hi;
		n++;
	}
	cprv_trace_reader_close(r);
	if (!n) {
		fprintf(stderr, "%s: no events\n", path);
		exit(1);
	}
	for (uint32_t i = 0; i < BLOCK; i++) {
		if (i >= n) {
			ev[i] = ev[i % n];
			ev[i].ts += (uint64_t)(i / n) * (hi - lo + 1);
		}
	}
	*span = ((uint64_t)(BLOCK + n - 1) / n) * (hi - lo + 1) + 1;
	return ev;
}

/*
 * One block in arrival order; *span is how far its timestamps reach, so
 * the next repetition can start after it.
 */
static struct cprv_event *make_block(const char *pattern, size_t window, uint64_t *span)
{
	struct cprv_event *ev = calloc(BLOCK, sizeof(*ev));
	struct arrival *ar = malloc(BLOCK * sizeof(*ar));
	uint64_t ts = 0;
	size_t half = window / 2 ? window / 2 : 1;

	if (!ev || !ar) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	for (uint32_t i = 0; i < BLOCK; i++) {
		uint64_t at;

		/* ~330 ns apart, sometimes the same ns (ties) */
		ts += rnd_below(8) ? 200 + rnd_below(260) : 0;
		if (!strcmp(pattern, "sorted")) {
			at = i;
		} else if (!strcmp(pattern, "random")) {
			at = (uint64_t)i * 4 + rnd_below(4 * half);
		} else if (!strcmp(pattern, "reverse")) {
			at = (uint64_t)(i / half) * half + (half - 1 - i % half);
		} else if (!strcmp(pattern, "vruns")) {
			/* 4 vectors in runs of 1024, each run out when its last is */
			static uint64_t fill[4];
			static uint32_t run[4][1024];
			uint32_t v = (uint32_t)rnd_below(5);

			ar[i].at = ts + rnd_below(1000);
			if (v--) {
				run[v][fill[v]++] = i;
				if (fill[v] == 1024 || i + 4 * 1024 >= BLOCK) {
					for (uint64_t k = 0; k < fill[v]; k++)
						ar[run[v][k]].at = ts + 1000;
					fill[v] = 0;
				}
			}
			at = ar[i].at;
		} else {
			at = ts + rnd_below(1000);
			if (!rnd_below(2000))
				at += 5000 + rnd_below(45000);
			if (!strcmp(pattern, "runs") && (i / 256) % 16 == 15) {
				static uint64_t delay;

				if (i % 256 == 0)
					delay = 10000000 + rnd_below(10000000);
				at = ts + delay;
			}
		}
		ar[i].at = at;
		ar[i].i = i;
		ev[i].ts = ts;
		ev[i].type = (uint16_t)(i & 31);
		ev[i].cpu = i & 3;
		ev[i].a[0] = i;
	}
	qsort(ar, BLOCK, sizeof(*ar), cmp_arrival);
	/* reuse ar's order: the block's events by arrival */
	{
		struct cprv_event *byarr = malloc(BLOCK * sizeof(*byarr));

		if (!byarr) {
			fprintf(stderr, "out of memory\n");
			exit(1);
		}
		for (uint32_t k = 0; k < BLOCK; k++)
			byarr[k] = ev[ar[k].i];
		free(ev);
		ev = byarr;
	}
	free(ar);
	*span = ts + 100000000; /* past every late arrival of this block */
	return ev;
}

/* ---- timing ---- */

static double now(clockid_t c)
{
	struct timespec t;

	clock_gettime(c, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

struct result {
	double cpu, wall;
	uint64_t out, hash, late;
};

static void fold(struct result *res, const struct cprv_event *o)
{
	res->hash = (res->hash ^ o->ts ^ (o->a[0] << 40)) * 0x100000001b3ull;
	res->out++;
}

enum impl { NEW, OLD, NONE };
static const char *const impl_name[] = { "new", "old", "none" };

/* NONE: the loop without a window (input copy, output hash): its cost */
static struct result run(enum impl m, const struct cprv_event *blk, uint64_t span, uint64_t n,
			 size_t window)
{
	struct result res = { 0 };
	struct cprv_reorder *r = NULL;
	struct old_reorder *o = NULL;
	struct cprv_event ev, out;
	double c0, w0;

	if (m == OLD)
		o = old_new(window);
	else if (m == NEW)
		r = cprv_reorder_new(window);
	if ((m == OLD && !o) || (m == NEW && !r)) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	c0 = now(CLOCK_PROCESS_CPUTIME_ID);
	w0 = now(CLOCK_MONOTONIC);
	for (uint64_t k = 0, base = 0; k < n; base += span) {
		for (uint32_t i = 0; i < BLOCK && k < n; i++, k++) {
			ev = blk[i];
			ev.ts += base;
			switch (m) {
			case NEW:
				if (cprv_reorder_push(r, &ev, &out))
					fold(&res, &out);
				break;
			case OLD:
				if (old_push(o, &ev, &out))
					fold(&res, &out);
				break;
			default:
				fold(&res, &ev);
			}
		}
	}
	while (m == NEW ? cprv_reorder_pop(r, &out) : m == OLD ? old_pop(o, &out) : 0)
		fold(&res, &out);
	res.cpu = now(CLOCK_PROCESS_CPUTIME_ID) - c0;
	res.wall = now(CLOCK_MONOTONIC) - w0;
	if (m == OLD) {
		res.late = o->late;
		old_free(o);
	} else if (m == NEW) {
		res.late = cprv_reorder_late(r);
		cprv_reorder_free(r);
	}
	return res;
}

static int bench(const char *pattern, uint64_t n, size_t window, int repeat, const char *impl)
{
	uint64_t span;
	struct cprv_event *blk = strncmp(pattern, "trace:", 6)
				 ? make_block(pattern, window ? window : 65536, &span)
				 : trace_block(pattern + 6, &span);
	struct result best[3] = { { 0 } };
	int bad = 0;

	/* rounds interleave the implementations: a busy spell hits all alike */
	for (int k = 0; k < repeat; k++)
		for (int m = 0; m < 3; m++) {
			struct result res;

			if (m != NONE && strcmp(impl, "both") && strcmp(impl, impl_name[m]))
				continue;
			res = run((enum impl)m, blk, span, n, window);
			if (!k || res.cpu < best[m].cpu)
				best[m] = res;
		}
	for (int m = 0; m < 3; m++) {
		if (m != NONE && strcmp(impl, "both") && strcmp(impl, impl_name[m]))
			continue;
		if (m == NONE) {
			printf("%-8s %-4s %21.2f M events/s CPU (the loop alone)\n", pattern,
			       impl_name[m], (double)n / best[m].cpu / 1e6);
			continue;
		}
		printf("%-8s %-4s window %-7zu %6.2f M events/s CPU, %6.2f M wall, %5.1f ns/event"
		       " over the loop; late %" PRIu64 ", hash %016" PRIx64 "\n", pattern,
		       impl_name[m], window ? window : (size_t)(m == OLD ? 65536 : 262144),
		       (double)n / best[m].cpu / 1e6, (double)n / best[m].wall / 1e6,
		       (best[m].cpu - best[NONE].cpu) / (double)n * 1e9, best[m].late,
		       best[m].hash);
		if (best[m].out != n) {
			fprintf(stderr, "%s: released %" PRIu64 " of %" PRIu64 " events\n",
				impl_name[m], best[m].out, n);
			bad = 1;
		}
	}
	/* only comparable with the same window */
	if (!strcmp(impl, "both") && window &&
	    (best[NEW].hash != best[OLD].hash || best[NEW].late != best[OLD].late)) {
		fprintf(stderr, "%s: new and old release different sequences\n", pattern);
		bad = 1;
	}
	free(blk);
	return bad;
}

int main(int argc, char **argv)
{
	static const char *const all[] = { "sorted", "bpf", "runs", "vruns", "random", "reverse" };
	const char *pattern = "all", *impl = "both";
	uint64_t n = 20000000;
	size_t window = 0;
	int repeat = 3, opt, bad = 0;

	while ((opt = getopt(argc, argv, "n:w:p:r:m:h")) != -1) {
		switch (opt) {
		case 'n': n = strtoull(optarg, NULL, 0); break;
		case 'w': window = strtoull(optarg, NULL, 0); break;
		case 'p': pattern = optarg; break;
		case 'r': repeat = atoi(optarg) > 0 ? atoi(optarg) : 1; break;
		case 'm': impl = optarg; break;
		default:
			fprintf(stderr, "usage: %s [-n EVENTS] [-w WINDOW] [-p sorted|bpf|runs|vruns|random|reverse|all|trace:FILE]"
				" [-r REPEAT] [-m new|old|both]\n", argv[0]);
			return 2;
		}
	}
	if (!strncmp(pattern, "trace:", 6))
		return bench(pattern, n, window, repeat, impl);
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (!strcmp(pattern, "all") || !strcmp(pattern, all[i]))
			bad |= bench(all[i], n, window, repeat, impl);
	return bad;
}

/* The reorder window: timestamp order restored, ties stable, lateness counted. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "reorder.h"
#include "run.h"

static void restores_order_within_window(void **state)
{
	struct cprv_reorder *r = cprv_reorder_new(16);
	struct cprv_event ev = { 0 }, out;
	uint64_t last = 0, n = 0;

	/* jitter of up to 8 positions, inside the window of 16 */
	for (int i = 0; i < 10000; i++) {
		ev.ts = 1000 + i * 10 + ((i * 7919) % 8) * 10;
		ev.a[0] = i;
		if (cprv_reorder_push(r, &ev, &out)) {
			assert_true(out.ts >= last);
			last = out.ts;
			n++;
		}
	}
	while (cprv_reorder_pop(r, &out)) {
		assert_true(out.ts >= last);
		last = out.ts;
		n++;
	}
	assert_int_equal(n, 10000);
	assert_int_equal(cprv_reorder_late(r), 0);
	cprv_reorder_free(r);
}

static void ties_keep_arrival_order(void **state)
{
	struct cprv_reorder *r = cprv_reorder_new(4);
	struct cprv_event ev = { .ts = 5 }, out;
	uint64_t expect = 0;

	for (int i = 0; i < 10; i++) {
		ev.a[0] = i;
		if (cprv_reorder_push(r, &ev, &out))
			assert_int_equal(out.a[0], expect++);
	}
	while (cprv_reorder_pop(r, &out))
		assert_int_equal(out.a[0], expect++);
	assert_int_equal(expect, 10);
	cprv_reorder_free(r);
}

static void counts_events_later_than_the_window(void **state)
{
	struct cprv_reorder *r = cprv_reorder_new(2);
	struct cprv_event ev = { 0 }, out;
	uint64_t ts[] = { 10, 20, 30, 40, 1 }; /* 1 arrives after 10 and 20 left */

	for (int i = 0; i < 5; i++) {
		ev.ts = ts[i];
		cprv_reorder_push(r, &ev, &out);
	}
	while (cprv_reorder_pop(r, &out))
		;
	assert_int_equal(cprv_reorder_late(r), 1);
	cprv_reorder_free(r);
}

/*
 * The reference: the window's definition, literally. Held events in an
 * array sorted by (ts, arrival); a push with `window` held first releases
 * the smallest; an event released older than one released before is late.
 */
struct ref_item {
	uint64_t ts, seq;
};

struct ref {
	struct ref_item *buf, *v;  /* v: the held ones, within buf */
	size_t n, window;
	uint64_t seq, last_ts, late;
};

static int ref_item_less(const struct ref_item *a, const struct ref_item *b)
{
	return a->ts < b->ts || (a->ts == b->ts && a->seq < b->seq);
}

static void ref_init(struct ref *f, size_t window)
{
	memset(f, 0, sizeof(*f));
	f->window = window;
	f->buf = f->v = malloc(2 * window * sizeof(*f->v));
	assert_non_null(f->buf);
}

/* Pops the smallest into *seq; 0 if empty. */
static int ref_pop(struct ref *f, uint64_t *seq)
{
	if (!f->n)
		return 0;
	*seq = f->v[0].seq;
	if (f->v[0].ts < f->last_ts)
		f->late++;
	else
		f->last_ts = f->v[0].ts;
	f->v++;
	f->n--;
	return 1;
}

static int ref_push(struct ref *f, uint64_t ts, uint64_t *seq)
{
	struct ref_item it = { ts, f->seq++ };
	size_t lo = 0, hi;
	int popped = 0;

	if (f->n == f->window)
		popped = ref_pop(f, seq);
	if (f->v + f->n == f->buf + 2 * f->window) {
		memmove(f->buf, f->v, f->n * sizeof(*f->v));
		f->v = f->buf;
	}
	hi = f->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (ref_item_less(&f->v[mid], &it))
			lo = mid + 1;
		else
			hi = mid;
	}
	memmove(f->v + lo + 1, f->v + lo, (f->n - lo) * sizeof(*f->v));
	f->v[lo] = it;
	f->n++;
	return popped;
}

/* ---- inputs: timestamps in arrival order ---- */

static uint64_t rng = 88172645463325252ull;

static uint64_t rnd(uint64_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return n ? rng % n : 0;
}

struct arrival {
	uint64_t key, ts;
};

static int cmp_arrival(const void *x, const void *y)
{
	const struct arrival *a = x, *b = y;

	return a->key < b->key ? -1 : a->key > b->key;
}

/*
 * n timestamps, non-decreasing in steps of 0..step-1 (0: ties), each
 * arriving up to d-1 places after its place in timestamp order: no event
 * is passed by one d or more places newer.
 */
static uint64_t *jittered(size_t n, uint64_t step, size_t d)
{
	struct arrival *a = malloc(n * sizeof(*a));
	uint64_t *ts = malloc(n * sizeof(*ts)), t = 1000;

	assert_non_null(a);
	assert_non_null(ts);
	for (size_t i = 0; i < n; i++) {
		t += rnd(step);
		/* key unique: place * n + i keeps qsort's tie order irrelevant */
		a[i].key = (i + rnd(d)) * n + i;
		a[i].ts = t;
	}
	qsort(a, n, sizeof(*a), cmp_arrival);
	for (size_t i = 0; i < n; i++)
		ts[i] = a[i].ts;
	free(a);
	return ts;
}

/* k sorted streams (CPUs, expanded runs) interleaved at random. */
static uint64_t *interleaved(size_t n, unsigned k, uint64_t step, uint64_t spread)
{
	uint64_t *ts = malloc(n * sizeof(*ts)), *t = calloc(k, sizeof(*t));

	assert_non_null(ts);
	assert_non_null(t);
	for (unsigned s = 0; s < k; s++)
		t[s] = 1000 + rnd(spread);
	for (size_t i = 0; i < n; i++) {
		unsigned s = (unsigned)rnd(k);

		t[s] += rnd(step);
		ts[i] = t[s];
	}
	free(t);
	return ts;
}

/* blocks of b timestamps, each block in decreasing order */
static uint64_t *reversed(size_t n, size_t b)
{
	uint64_t *ts = malloc(n * sizeof(*ts));

	assert_non_null(ts);
	for (size_t i = 0; i < n; i++)
		ts[i] = 1000 + (i / b) * b + (b - 1 - i % b);
	return ts;
}

/* a live stream with 1 event in `every` held back `lag` places (stragglers) */
static uint64_t *stragglers(size_t n, size_t every, size_t lag)
{
	struct arrival *a = malloc(n * sizeof(*a));
	uint64_t *ts = malloc(n * sizeof(*ts));

	assert_non_null(a);
	assert_non_null(ts);
	for (size_t i = 0; i < n; i++) {
		a[i].key = (i + (rnd(every) ? 0 : lag)) * n + i;
		a[i].ts = 1000 + i * 3;
	}
	qsort(a, n, sizeof(*a), cmp_arrival);
	for (size_t i = 0; i < n; i++)
		ts[i] = a[i].ts;
	free(a);
	return ts;
}

/* runs: sorted chunks of `len`, every other one arriving `lag` chunks late */
static uint64_t *late_runs(size_t n, size_t len, size_t lag)
{
	struct arrival *a = malloc(n * sizeof(*a));
	uint64_t *ts = malloc(n * sizeof(*ts));

	assert_non_null(a);
	assert_non_null(ts);
	for (size_t i = 0; i < n; i++) {
		size_t c = i / len;

		a[i].key = ((c % 2 ? c + lag : c) * len + i % len) * n + i;
		a[i].ts = 1000 + i;
	}
	qsort(a, n, sizeof(*a), cmp_arrival);
	for (size_t i = 0; i < n; i++)
		ts[i] = a[i].ts;
	free(a);
	return ts;
}

static int cmp_item(const void *x, const void *y)
{
	const struct ref_item *a = x, *b = y;

	return ref_item_less(a, b) ? -1 : ref_item_less(b, a);
}

/*
 * Feeds ts[0..n) through a window of `window` (0: the default, given as
 * ref_window to the reference) and checks every push's result and every
 * released event against the reference; when nothing was late, also
 * against a plain sort by (ts, arrival). Returns the late count.
 */
static uint64_t check_window(const uint64_t *ts, size_t n, size_t window, size_t ref_window)
{
	struct cprv_reorder *r = cprv_reorder_new(window);
	struct ref f;
	struct ref_item *sorted = malloc(n * sizeof(*sorted));
	uint64_t *got = malloc(n * sizeof(*got)), seq = 0;
	struct cprv_event ev = { 0 }, out;
	size_t k = 0;

	assert_non_null(r);
	assert_non_null(sorted);
	assert_non_null(got);
	ref_init(&f, ref_window);
	for (size_t i = 0; i < n; i++) {
		int a, b;

		ev.ts = ts[i];
		ev.a[0] = i;
		ev.a[3] = ~(uint64_t)i;      /* the whole event travels */
		ev.cpu = (uint32_t)(i & 7);
		a = cprv_reorder_push(r, &ev, &out);
		b = ref_push(&f, ts[i], &seq);
		assert_int_equal(a, b);
		if (a) {
			assert_int_equal(out.a[0], seq);
			assert_int_equal(out.ts, ts[seq]);
			assert_int_equal(out.a[3], ~seq);
			assert_int_equal(out.cpu, seq & 7);
			got[k++] = out.a[0];
		}
	}
	while (cprv_reorder_pop(r, &out)) {
		assert_true(ref_pop(&f, &seq));
		assert_int_equal(out.a[0], seq);
		assert_int_equal(out.ts, ts[seq]);
		got[k++] = out.a[0];
	}
	assert_false(ref_pop(&f, &seq));
	assert_false(cprv_reorder_pop(r, &out));
	assert_int_equal(k, n);
	assert_int_equal(cprv_reorder_late(r), f.late);
	if (!f.late) {
		for (size_t i = 0; i < n; i++)
			sorted[i] = (struct ref_item){ ts[i], i };
		qsort(sorted, n, sizeof(*sorted), cmp_item);
		for (size_t i = 0; i < n; i++)
			assert_int_equal(got[i], sorted[i].seq);
	}
	cprv_reorder_free(r);
	free(f.buf);
	free(sorted);
	free(got);
	return f.late;
}

static uint64_t check(const uint64_t *ts, size_t n, size_t window)
{
	return check_window(ts, n, window, window);
}

static const size_t windows[] = { 1, 2, 3, 5, 16, 17, 64, 1000, 1024, 1025, 3000 };
#define NWIN (sizeof(windows) / sizeof(windows[0]))

/* Displaced less than the window: sorted, nothing late, at every size. */
static void jitter_inside_the_window_sorts(void **state)
{
	for (size_t w = 0; w < NWIN; w++) {
		size_t n = 4 * windows[w] + 5000;
		/* steps of 0..2: a third of neighbours tie */
		uint64_t *ts = jittered(n, 3, windows[w]);

		assert_int_equal(check(ts, n, windows[w]), 0);
		free(ts);
	}
}

/* Displaced more than the window: some late, released as the window says. */
static void jitter_past_the_window_is_late(void **state)
{
	for (size_t w = 0; w < NWIN; w++) {
		size_t n = 4 * windows[w] + 5000;
		uint64_t *ts = jittered(n, 5, 4 * windows[w] + 4);

		assert_true(check(ts, n, windows[w]) > 0);
		free(ts);
	}
}

/* Sorted input, with and without ties, comes out as it went in. */
static void sorted_input(void **state)
{
	for (size_t w = 0; w < NWIN; w++) {
		size_t n = 3 * windows[w] + 3000;
		uint64_t *ts = jittered(n, 2, 1);

		assert_int_equal(check(ts, n, windows[w]), 0);
		for (size_t i = 0; i < n; i++)
			ts[i] = 42;   /* all tied */
		assert_int_equal(check(ts, n, windows[w]), 0);
		free(ts);
	}
}

/* Reversed blocks no longer than the window come out sorted. */
static void reversed_within_the_window(void **state)
{
	for (size_t w = 0; w < NWIN; w++) {
		size_t n = 5 * windows[w] + 1000;
		uint64_t *ts = reversed(n, windows[w]);

		assert_int_equal(check(ts, n, windows[w]), 0);
		free(ts);
		/* one longer than the window: the block's last is late */
		ts = reversed(n, windows[w] + 1);
		assert_true(check(ts, n, windows[w]) > 0);
		free(ts);
	}
}

/* A few to many sorted streams interleaved (more streams than lanes). */
static void interleaved_streams(void **state)
{
	static const unsigned ks[] = { 1, 2, 3, 8, 9, 20, 100 };

	for (size_t w = 0; w < NWIN; w++)
		for (size_t s = 0; s < sizeof(ks) / sizeof(ks[0]); s++) {
			size_t n = 3 * windows[w] + 3000;
			uint64_t *ts = interleaved(n, ks[s], 4, 50 * ks[s]);

			check(ts, n, windows[w]);
			free(ts);
		}
}

/* Stragglers (preempted between clock and ring buffer) and late runs. */
static void stragglers_and_late_runs(void **state)
{
	for (size_t w = 0; w < NWIN; w++) {
		size_t n = 4 * windows[w] + 6000;
		size_t lag = windows[w] > 2 ? windows[w] - 2 : 0;
		uint64_t *ts = stragglers(n, 50, lag);

		assert_int_equal(check(ts, n, windows[w]), 0);
		free(ts);
		/* (late past the window once the ones in flight are counted too) */
		ts = stragglers(n, 50, 2 * windows[w] + 100);
		assert_true(check(ts, n, windows[w]) > 0);
		free(ts);
		/* runs of 100 arriving a run late: inside the window from 200 on */
		ts = late_runs(n, 100, 1);
		if (windows[w] >= 200)
			assert_int_equal(check(ts, n, windows[w]), 0);
		else
			assert_true(check(ts, n, windows[w]) > 0);
		free(ts);
		/* runs of 700, 3 runs late: lane blocks chained and spilled */
		ts = late_runs(n, 700, 3);
		check(ts, n, windows[w]);
		free(ts);
	}
}

/* Anything at all: random timestamps, arbitrary lateness. */
static void random_timestamps(void **state)
{
	for (size_t w = 0; w < NWIN; w++) {
		size_t n = 2 * windows[w] + 3000;
		uint64_t *ts = malloc(n * sizeof(*ts));

		assert_non_null(ts);
		for (size_t i = 0; i < n; i++)
			ts[i] = rnd(n / 4 + 1);   /* many ties */
		check(ts, n, windows[w]);
		free(ts);
	}
}

/* A default window holds 262144 events before releasing the first. */
static void default_window(void **state)
{
	size_t n = 262144 + 50000;
	uint64_t *ts = jittered(n, 100, 20000);

	assert_int_equal(check_window(ts, n, 0, 262144), 0);
	free(ts);
}

/* Emptied and filled again: lateness counts against the last released. */
static void refill_after_draining(void **state)
{
	struct cprv_reorder *r = cprv_reorder_new(8);
	struct cprv_event ev = { 0 }, out;
	uint64_t expect[] = { 10, 20, 30, 40, 5, 50, 60 }, k = 0;

	for (int round = 0; round < 2; round++) {
		static const uint64_t in[2][4] = { { 30, 10, 40, 20 }, { 60, 5, 50, 0 } };

		for (int i = 0; i < (round ? 3 : 4); i++) {
			ev.ts = in[round][i];
			assert_int_equal(cprv_reorder_push(r, &ev, &out), 0);
		}
		while (cprv_reorder_pop(r, &out))
			assert_int_equal(out.ts, expect[k++]);
	}
	assert_int_equal(k, 7);
	assert_int_equal(cprv_reorder_late(r), 1); /* 5, after 40 */
	cprv_reorder_free(r);
}

/* ---- whole runs (cprv_reorder_push_run) ---- */

struct released {
	struct cprv_event *ev;
	size_t n;
};

static int collect(void *arg, const struct cprv_event *out)
{
	struct released *g = arg;

	g->ev[g->n++] = *out;
	return 0;
}

/*
 * nstreams tasks each raising MSIs of nev events (every field the same but
 * the times), a batch of 1..maxrun MSIs at a time, late as a whole against
 * the other streams, as the BPF side's runs come out. unsorted: one MSI in
 * 7 has its events out of order, one batch in 5 starts before the previous
 * one ended. A batch of 2 or more goes in as a run, one MSI as its events.
 * What leaves, and when (after which arrival), must be what the reference
 * releases with every event pushed on its own; returns the late count.
 */
static uint64_t check_runs(size_t window, unsigned nstreams, unsigned nev, unsigned maxrun,
			   int unsorted, size_t nmsi)
{
	size_t cap = nmsi * nev;
	uint64_t *ts = malloc(cap * sizeof(*ts)), *t = calloc(nstreams, sizeof(*t));
	uint64_t *obj = malloc(cap * sizeof(*obj)), *type = malloc(cap * sizeof(*type));
	size_t *ref_at = malloc(cap * sizeof(*ref_at)), *got_at = malloc(cap * sizeof(*got_at));
	uint64_t *ref_seq = malloc(cap * sizeof(*ref_seq));
	struct released g = { .ev = malloc(cap * sizeof(*g.ev)) };
	struct cprv_reorder *r = cprv_reorder_new(window);
	struct cprv_run_builder *b = malloc(sizeof(*b));
	uint8_t *enc = malloc(CPRV_RUN_MAX_ENCODED);
	struct cprv_event msi[CPRV_RUN_MAX_EV], out;
	struct cprv_run_iter it;
	struct ref f;
	size_t done = 0, nin = 0, nref = 0;
	uint64_t seq, late;
	char why[128];

	assert_true(ts && t && obj && type && ref_at && got_at && ref_seq && g.ev && r && b && enc);
	ref_init(&f, window);
	for (unsigned s = 0; s < nstreams; s++)
		t[s] = 1000 + rnd(100);
	while (done < nmsi) {
		unsigned s = (unsigned)rnd(nstreams), k = 1 + (unsigned)rnd(maxrun);
		size_t i0 = nin, before = g.n;

		if (k > nmsi - done)
			k = (unsigned)(nmsi - done);
		if (unsorted && !rnd(5) && t[s] > 1500)
			t[s] -= 300;
		for (unsigned i = 0; i < k; i++) {
			memset(msi, 0, sizeof(msi));
			t[s] += 1 + rnd(400);
			for (unsigned e = 0; e < nev; e++) {
				msi[e].ts = t[s] + (e ? 50 * e + rnd(40) : 0);
				if (unsorted && e > 1 && !rnd(7))
					msi[e].ts = t[s] + 1;
				msi[e].type = (uint16_t)(1 + e);
				msi[e].obj = s;
				msi[e].tid = s;
			}
			if (!i)
				cprv_run_start(b, msi, nev);
			else
				assert_true(cprv_run_add(b, msi, nev));
			for (unsigned e = 0; e < nev; e++) {
				ts[nin] = msi[e].ts;
				obj[nin] = s;
				type[nin++] = 1 + e;
			}
		}
		/* the reference: one push per event, noting after which arrival
		 * each release came */
		for (size_t i = i0; i < nin; i++)
			if (ref_push(&f, ts[i], &seq)) {
				ref_at[nref] = i0;
				ref_seq[nref++] = seq;
			}
		if (k == 1) {
			for (unsigned e = 0; e < nev; e++)
				if (cprv_reorder_push(r, &b->tmpl[e], &out))
					g.ev[g.n++] = out;
		} else {
			size_t len = cprv_run_finish(b, enc);

			assert_true(len > 0);
			assert_true(cprv_run_open(enc, len, &it, why, sizeof(why)) > 0);
			assert_int_equal(cprv_reorder_push_run(r, &it, collect, &g), 0);
		}
		for (size_t j = before; j < g.n; j++)
			got_at[j] = i0;
		done += k;
	}
	while (ref_pop(&f, &seq)) {
		ref_at[nref] = nin;
		ref_seq[nref++] = seq;
	}
	while (cprv_reorder_pop(r, &out)) {
		got_at[g.n] = nin;
		g.ev[g.n++] = out;
	}
	assert_int_equal(g.n, nin);
	assert_int_equal(nref, nin);
	for (size_t j = 0; j < nin; j++) {
		assert_int_equal(got_at[j], ref_at[j]);
		assert_int_equal(g.ev[j].ts, ts[ref_seq[j]]);
		assert_int_equal(g.ev[j].obj, obj[ref_seq[j]]);
		assert_int_equal(g.ev[j].type, type[ref_seq[j]]);
		assert_int_equal(g.ev[j].tid, obj[ref_seq[j]]);
	}
	late = cprv_reorder_late(r);
	assert_int_equal(late, f.late);
	cprv_reorder_free(r);
	free(f.buf);
	free(ts);
	free(t);
	free(obj);
	free(type);
	free(ref_at);
	free(got_at);
	free(ref_seq);
	free(g.ev);
	free(b);
	free(enc);
	return late;
}

/*
 * Whole runs leave exactly as their events pushed one by one would have:
 * sorted ones held as they came, unsorted ones expanded, at every window
 * (runs longer than it, held runs past the slots), with more streams than
 * run lanes, and mixed with single MSIs pushed as events.
 */
static void runs_leave_as_their_events_would(void **state)
{
	static const unsigned streams[] = { 1, 3, 9, 20 };
	uint64_t late = 0;

	for (size_t w = 0; w < NWIN; w++)
		for (size_t s = 0; s < sizeof(streams) / sizeof(streams[0]); s++)
			for (unsigned nev = 1; nev <= 3; nev++)
				for (int unsorted = 0; unsorted < 2; unsorted++)
					late += check_runs(windows[w], streams[s], nev,
							   nev == 2 ? 40 : 300, unsorted,
							   3 * windows[w] / nev + 2000);
	/* (the small windows let some of it through late: that path too) */
	assert_true(late > 0);
}

/* Runs in a window of the default size (262144), the shape `record` writes at
 * line rate: 4 vectors, 3 events per MSI, up to 384 MSIs per run. */
static void runs_in_the_default_window(void **state)
{
	assert_int_equal(check_runs(262144, 4, 3, 384, 0, 100000), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(restores_order_within_window),
		cmocka_unit_test(ties_keep_arrival_order),
		cmocka_unit_test(counts_events_later_than_the_window),
		cmocka_unit_test(jitter_inside_the_window_sorts),
		cmocka_unit_test(jitter_past_the_window_is_late),
		cmocka_unit_test(sorted_input),
		cmocka_unit_test(reversed_within_the_window),
		cmocka_unit_test(interleaved_streams),
		cmocka_unit_test(stragglers_and_late_runs),
		cmocka_unit_test(random_timestamps),
		cmocka_unit_test(default_window),
		cmocka_unit_test(refill_after_draining),
		cmocka_unit_test(runs_leave_as_their_events_would),
		cmocka_unit_test(runs_in_the_default_window),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The timeline's data: one more pass over the trace, binning fires and
 * injections per vector into a fixed number of columns. Memory is vectors x
 * columns, whatever the trace length: the full-run strip starts with 1 us
 * bins and doubles their width (merging pairs) whenever the trace outgrows
 * them; each zoomed strip has a fixed window around one CPR cycle.
 *
 * Fires and injections are matched to vectors the cheap way (eventfd ctx,
 * guest vector of the route, the injection's context tag): good enough to
 * draw; every count on the page comes from the analysis, not from here.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "reorder.h"
#include "report_html_internal.h"
#include "trace.h"

#define FULL_FIRST_WIDTH 1000ull /* ns */

static int strip_alloc(struct h_strip *s, size_t nvec, unsigned ncols)
{
	size_t n = nvec * ncols + 1;

	s->ncols = ncols;
	s->fires = calloc(n, sizeof(uint32_t));
	s->hfires = calloc(n, sizeof(uint32_t));
	s->inj = calloc(n, sizeof(uint32_t));
	s->coal = calloc(n, sizeof(uint32_t));
	return s->fires && s->hfires && s->inj && s->coal ? 0 : -ENOMEM;
}

static void strip_free(struct h_strip *s)
{
	free(s->fires);
	free(s->hfires);
	free(s->inj);
	free(s->coal);
}

/* Twice as wide bins: each new bin holds a pair of old ones. */
static void strip_halve(struct h_strip *s, size_t nvec)
{
	uint32_t *arr[] = { s->fires, s->hfires, s->inj, s->coal };

	for (size_t k = 0; k < 4; k++)
		for (size_t v = 0; v < nvec; v++) {
			uint32_t *row = arr[k] + v * s->ncols;

			for (unsigned i = 0; i < s->ncols / 2; i++)
				row[i] = row[2 * i] + row[2 * i + 1];
			memset(row + s->ncols / 2, 0, (s->ncols - s->ncols / 2) * sizeof(uint32_t));
		}
	s->width *= 2;
	s->used = (s->used + 1) / 2;
}

static long strip_bin(struct h_strip *s, size_t nvec, uint64_t ts)
{
	uint64_t i;

	if (s->grow) {
		if (!s->width) {
			s->t0 = ts;
			s->width = FULL_FIRST_WIDTH;
		}
		if (ts < s->t0)
			ts = s->t0;
		while ((ts - s->t0) / s->width >= s->ncols)
			strip_halve(s, nvec);
	} else if (ts < s->lo || ts >= s->hi) {
		return -1;
	}
	i = (ts - s->t0) / s->width;
	if (i >= s->ncols)
		return -1;
	if (i + 1 > s->used)
		s->used = (unsigned)i + 1;
	return (long)i;
}

enum { K_FIRE, K_HFIRE, K_INJ };

static void count(struct h_timeline *t, int kind, size_t v, uint64_t ts, uint32_t coal)
{
	for (size_t z = 0; z <= t->nzoom; z++) {
		struct h_strip *s = z ? &t->zoom[z - 1] : &t->full;
		long b = strip_bin(s, t->nvec, ts);
		size_t at = v * s->ncols + (size_t)b;

		if (b < 0)
			continue;
		if (kind == K_FIRE)
			s->fires[at]++;
		else if (kind == K_HFIRE)
			s->hfires[at]++;
		else {
			s->inj[at]++;
			s->coal[at] += coal;
		}
	}
}

static unsigned log2_bucket(uint64_t ns)
{
	unsigned b = 0;

	while (ns > 1 && b < H_HIST - 1) {
		ns >>= 1;
		b++;
	}
	return b;
}

static void feed(struct h_timeline *t, const struct cprv_event *e)
{
	long v;
	uint32_t coal = 0;

	if (!t->events++) {
		t->first_ts = e->ts;
		strip_bin(&t->full, t->nvec, e->ts); /* the strip starts with the trace */
	}
	t->last_ts = e->ts > t->last_ts ? e->ts : t->last_ts;
	switch (e->type) {
	case CPRV_EV_EVENTFD_WRITE:
	case CPRV_EV_EVENTFD_SIGNAL:
		if ((v = h_vecmap_fire(&t->map, e)) < 0)
			return;
		t->signals += e->type == CPRV_EV_EVENTFD_SIGNAL;
		t->pending[v]++;
		t->drawn_fires++;
		count(t, K_FIRE, (size_t)v, e->ts, 0);
		return;
	case CPRV_EV_VFIO_MSIHANDLER:
		if ((v = h_vecmap_fire(&t->map, e)) < 0)
			return;
		t->pending[v] += !t->signals; /* eventfd_signal counts it when seen */
		count(t, K_HFIRE, (size_t)v, e->ts, 0);
		return;
	case CPRV_EV_APIC_ACCEPT:
		if ((v = h_vecmap_inj(&t->map, e)) < 0)
			return;
		if (t->pending[v] > 1)
			coal = t->pending[v] - 1;
		t->pending[v] = 0;
		if (t->last_inj[v] && e->ts >= t->last_inj[v])
			t->gap_hist[v][log2_bucket(e->ts - t->last_inj[v])]++;
		t->last_inj[v] = e->ts;
		t->drawn_inj++;
		count(t, K_INJ, (size_t)v, e->ts, coal);
		return;
	}
}

static int cmp_zoom(const void *a, const void *b)
{
	return ((const struct h_strip *)a)->cycle - ((const struct h_strip *)b)->cycle;
}

/* Cycles that lost MSIs first, then the others in order; window = the
 * cycle and its phases, plus a third of its span either side. */
static int zooms(struct h_timeline *t, struct json_object *r, const struct cprv_html_opts *o)
{
	struct json_object *cys = hj(hj(r, "cpr"), "cycles");
	unsigned max = o && o->max_zoom ? o->max_zoom : 6;
	unsigned cols = o && o->zoom_columns ? o->zoom_columns : 400;
	size_t n = hj_len(cys);

	t->zoom = calloc(max + 1, sizeof(*t->zoom));
	if (!t->zoom)
		return -ENOMEM;
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < n && t->nzoom < max; i++) {
			struct json_object *cy = hj_at(cys, i);
			struct h_strip *s = &t->zoom[t->nzoom];
			uint64_t lo = hj_u64(cy, "start_ns"), hi = hj_u64(cy, "end_ns"), ns[16], m;
			const char *names[16];
			size_t np = h_cycle_phases(r, i, names, ns, 16);

			if ((pass == 0) != (hj_u64(cy, "lost") > 0))
				continue;
			for (size_t p = 0; p < np; p++) {
				lo = ns[p] < lo ? ns[p] : lo;
				hi = ns[p] > hi ? ns[p] : hi;
			}
			hi = hi > lo ? hi : lo + 1000;
			m = (hi - lo) / 3 > 200000 ? (hi - lo) / 3 : 200000;
			s->lo = lo > m ? lo - m : 0;
			s->hi = hi + m;
			s->t0 = s->lo;
			s->width = (s->hi - s->lo + cols - 1) / cols;
			s->cycle = (int)i;
			if (strip_alloc(s, t->nvec, cols))
				return -ENOMEM;
			s->used = cols;
			t->nzoom++;
		}
	qsort(t->zoom, t->nzoom, sizeof(*t->zoom), cmp_zoom);
	return 0;
}

static int alloc_all(struct h_timeline *t, struct json_object *r, const struct cprv_html_opts *o)
{
	if (h_vecmap_build(&t->map, r))
		return -ENOMEM;
	t->nvec = t->map.nvec;
	t->label = t->map.label;
	t->gap_hist = calloc(t->nvec + 1, sizeof(*t->gap_hist));
	t->last_inj = calloc(t->nvec + 1, sizeof(*t->last_inj));
	t->pending = calloc(t->nvec + 1, sizeof(*t->pending));
	if (!t->gap_hist || !t->last_inj || !t->pending)
		return -ENOMEM;
	t->full.grow = true;
	t->full.cycle = -1;
	if (strip_alloc(&t->full, t->nvec, o && o->columns ? o->columns : 600))
		return -ENOMEM;
	return zooms(t, r, o);
}

/* Without an eventfd_signal probe, vfio_msihandler is the kernel fire. */
static void settle_hfires(struct h_timeline *t)
{
	for (size_t z = 0; !t->signals && z <= t->nzoom; z++) {
		struct h_strip *s = z ? &t->zoom[z - 1] : &t->full;

		for (size_t i = 0; i < t->nvec * s->ncols; i++) {
			s->fires[i] += s->hfires[i];
			t->drawn_fires += s == &t->full ? s->hfires[i] : 0;
		}
	}
}

static int feed_one(void *t, const struct cprv_event *ev)
{
	feed(t, ev);
	return 0;
}

static int read_trace(struct h_timeline *t, const char *path)
{
	struct cprv_reorder *ro = cprv_reorder_new(0);
	struct cprv_trace_reader *rd;
	char err[256];
	int rc, feed_err;

	if (!ro)
		return -ENOMEM;
	rd = cprv_trace_reader_open(path, err, sizeof(err));
	if (!rd) {
		snprintf(t->note, sizeof(t->note), "timeline not drawn: %s", err);
		cprv_reorder_free(ro);
		return 0;
	}
	rc = cprv_reorder_read(ro, rd, feed_one, t, &feed_err);
	if (rc < 0)
		snprintf(t->note, sizeof(t->note), "timeline cut short: reading %s: %s", path,
			 strerror(-rc));
	else if (cprv_trace_status(rd) != CPRV_TRACE_COMPLETE)
		snprintf(t->note, sizeof(t->note), "timeline drawn up to the trace's damage: %s",
			 cprv_trace_status_msg(rd));
	t->ok = true;
	cprv_trace_reader_close(rd);
	cprv_reorder_free(ro);
	return 0;
}

int h_timeline_build(struct h_timeline *t, struct json_object *r, const char *trace,
		     const struct cprv_html_opts *o)
{
	int rc;

	memset(t, 0, sizeof(*t));
	if (!trace)
		trace = hj_str(hj(r, "trace"), "file");
	rc = alloc_all(t, r, o);
	if (rc)
		return rc;
	if (!*trace) {
		snprintf(t->note, sizeof(t->note), "timeline not drawn: no trace file given");
		return 0;
	}
	rc = read_trace(t, trace);
	if (rc)
		return rc;
	settle_hfires(t);
	if (t->events)
		strip_bin(&t->full, t->nvec, t->last_ts); /* the strip spans the whole trace */
	t->full.lo = t->first_ts;
	t->full.hi = t->last_ts + 1;
	return 0;
}

void h_timeline_free(struct h_timeline *t)
{
	strip_free(&t->full);
	for (size_t i = 0; i < t->nzoom; i++)
		strip_free(&t->zoom[i]);
	free(t->zoom);
	free(t->gap_hist);
	free(t->last_inj);
	free(t->pending);
	h_vecmap_free(&t->map);
	memset(t, 0, sizeof(*t));
}

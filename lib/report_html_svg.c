// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Inline SVG: the timeline strips, the gap histograms and the blackout per
 * cycle. Bars are one <path> per vector and series (not a <rect> per bin)
 * so a strip costs kilobytes; lost and duplicate marks carry a <title>, the
 * browser's own tooltip, so nothing needs a script.
 */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include <json-c/json.h>

#include "report_html_internal.h"

#define W 1160.0
#define L 96.0      /* vector labels */
#define R 12.0
#define PW (W - L - R)
#define TOP 30.0    /* phase labels */
#define RH 40.0     /* one vector's row */
#define BOT 28.0    /* time axis */

struct frame {
	uint64_t lo, span;  /* ns drawn */
	uint64_t origin;    /* time axis zero */
	double colw;
};

static double xof(const struct frame *fr, uint64_t ts)
{
	double x = (double)((int64_t)(ts - fr->lo)) / (double)fr->span;

	x = x < 0 ? 0 : x > 1 ? 1 : x;
	return L + x * PW;
}

/* Signed, short: "-1.2 ms", "350 us", "2.50 s". */
static void tick_label(char *b, size_t len, int64_t ns)
{
	char d[32];

	if (!ns) {
		snprintf(b, len, "0");
		return;
	}
	h_dur(d, sizeof(d), (uint64_t)(ns < 0 ? -ns : ns));
	snprintf(b, len, "%s%s", ns < 0 ? "\xe2\x88\x92" : "", d);
}

static uint64_t nice_step(uint64_t span)
{
	uint64_t step = 1;

	while (step * 10 <= span / 8 + 1)
		step *= 10;
	if (step * 5 <= span / 6)
		return step * 5;
	if (step * 2 <= span / 6)
		return step * 2;
	return step;
}

static void axis(FILE *f, const struct frame *fr, double y)
{
	uint64_t step = nice_step(fr->span), hi = fr->lo + fr->span;
	int64_t first = ((int64_t)(fr->lo - fr->origin) / (int64_t)step) * (int64_t)step;
	char b[40];

	fprintf(f, "<path class=\"ax\" d=\"M%.1f %.1fH%.1f\"/>\n", L, y, L + PW);
	for (int64_t rel = first; (uint64_t)((int64_t)fr->origin + rel) <= hi; rel += (int64_t)step) {
		uint64_t ts = (uint64_t)((int64_t)fr->origin + rel);

		if (ts < fr->lo)
			continue;
		tick_label(b, sizeof(b), rel);
		if (xof(fr, ts) > L + PW - 20)
			break; /* its label would be cut at the edge */
		fprintf(f, "<path class=\"ax\" d=\"M%.1f %.1fv4\"/><text class=\"tk\" x=\"%.1f\" y=\"%.1f\" "
			"text-anchor=\"middle\">", xof(fr, ts), y, xof(fr, ts), y + 15);
		h_esc(f, b);
		fputs("</text>\n", f);
	}
}

static int phase_class(const char *n)
{
	if (strstr(n, "setup"))
		return 0;
	if (strstr(n, "stop"))
		return 1;
	if (strstr(n, "run"))
		return 2;
	return 3;
}

static void band(FILE *f, const struct frame *fr, const char *cls, uint64_t a, uint64_t b,
		 double h, const char *title)
{
	if (b <= a || b <= fr->lo || a >= fr->lo + fr->span)
		return;
	fprintf(f, "<rect class=\"%s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"><title>",
		cls, xof(fr, a), TOP, xof(fr, b) - xof(fr, a) < 1 ? 1 : xof(fr, b) - xof(fr, a), h);
	h_esc(f, title);
	fputs("</title></rect>\n", f);
}

static void vline(FILE *f, const struct frame *fr, const char *cls, uint64_t ts, double h,
		  const char *label, bool text)
{
	double x;

	if (ts < fr->lo || ts >= fr->lo + fr->span)
		return;
	x = xof(fr, ts);
	fprintf(f, "<path class=\"%s\" d=\"M%.1f %.1fV%.1f\"><title>", cls, x, TOP - 4, TOP + h);
	h_esc(f, label);
	fputs("</title></path>\n", f);
	if (text) {
		fprintf(f, "<text class=\"pl\" x=\"%.1f\" y=\"%.1f\">", x + 2, TOP - 6);
		h_esc(f, label);
		fputs("</text>\n", f);
	}
}

/* Setup, blackout and guest-paused windows, and a line per phase seen. */
static void phases(FILE *f, const struct frame *fr, struct json_object *r, double h, bool zoom)
{
	struct json_object *cys = hj(hj(r, "cpr"), "cycles");
	char t[200], d[32];

	for (size_t i = 0; i < hj_len(cys); i++) {
		struct json_object *cy = hj_at(cys, i);
		uint64_t start = hj_u64(cy, "start_ns"), end = hj_u64(cy, "end_ns"), ns[16];
		uint64_t stop = 0, run = 0, setup = 0;
		const char *nm[16];
		size_t np = h_cycle_phases(r, i, nm, ns, 16);

		for (size_t p = 0; p < np; p++) {
			int c = phase_class(nm[p]);
			setup = c == 0 && !setup ? ns[p] : setup;
			stop = c == 1 && !stop ? ns[p] : stop;
			run = c == 2 && !run ? ns[p] : run;
		}
		snprintf(t, sizeof(t), "cpr #%zu setup", i + 1);
		if (setup)
			band(f, fr, "ph-setup", setup, stop ? stop : start, h, t);
		snprintf(t, sizeof(t), "cpr #%zu: guest paused (old VM stopped -> new VM running)", i + 1);
		if (stop && run)
			band(f, fr, "ph-pause", stop, run, h, t);
		snprintf(t, sizeof(t), "cpr #%zu blackout %s: irqfds detached -> re-attached", i + 1,
			 h_dur(d, sizeof(d), hj_u64(cy, "blackout_ns")));
		band(f, fr, "ph-bo", start, end, h, t);
		snprintf(t, sizeof(t), "#%zu", i + 1);
		if (!zoom)
			vline(f, fr, "ph-line", start, h, t, hj_len(cys) <= 20);
		for (size_t p = 0; zoom && p < np; p++)
			vline(f, fr, "ph-line", ns[p], h, nm[p], true);
		if (zoom && hj_has(cy, "old_vm_dropped_ns"))
			vline(f, fr, "ph-gone", hj_u64(cy, "old_vm_dropped_ns"), h, "old VM dropped", true);
	}
}

static uint32_t strip_max(const struct h_timeline *t, const struct h_strip *s)
{
	uint32_t m = 1;

	for (size_t i = 0; i < t->nvec * s->ncols; i++) {
		m = s->fires[i] > m ? s->fires[i] : m;
		m = s->inj[i] > m ? s->inj[i] : m;
	}
	return m;
}

/* One series of one vector as vertical strokes from the row's middle. */
static void bars(FILE *f, const struct h_strip *s, const uint32_t *row, double ymid, int dir,
		 double colw, double scale, const char *cls)
{
	bool any = false;

	for (unsigned i = 0; i < s->used && i < s->ncols; i++) {
		double h;

		if (!row[i])
			continue;
		h = scale ? scale * log1p(row[i]) : 4; /* 0: a fixed tick */
		h = h < 1.5 ? 1.5 : h;
		if (!any)
			fprintf(f, "<path class=\"%s\" stroke-width=\"%.2f\" d=\"", cls, colw);
		any = true;
		fprintf(f, "M%.1f %.1fv%.1f", L + (i + 0.5) * colw, ymid, dir * h);
	}
	if (any)
		fputs("\"/>\n", f);
}

static void marks(FILE *f, const struct frame *fr, const struct h_timeline *t,
		  struct json_object *r, const char *key, const char *what, const char *cls)
{
	struct json_object *arr = hj(r, key);
	char b[400], d[32];

	for (size_t i = 0; i < hj_len(arr); i++) {
		struct json_object *c = hj_at(arr, i);
		long v = h_vecmap_chain(&t->map, c);
		uint64_t ts = hj_u64(c, "ts");
		double x, y;

		if (v < 0 || ts < fr->lo || ts >= fr->lo + fr->span)
			continue;
		x = xof(fr, ts);
		y = TOP + v * RH + (cls[0] == 'l' ? 3 : RH - 3);
		tick_label(d, sizeof(d), (int64_t)(ts - fr->origin));
		snprintf(b, sizeof(b), "%s #%zu on %s at %s (pid %" PRIu64 ")", what, i + 1,
			 t->label[v], d, hj_u64(c, "pid"));
		if (cls[0] == 'l')
			fprintf(f, "<path class=\"%s\" d=\"M%.1f %.1fl-4 -3h8zM%.1f %.1fV%.1f\"><title>",
				cls, x, y + 4, x, y + 4, y + RH - 6);
		else
			fprintf(f, "<path class=\"%s\" d=\"M%.1f %.1fl4 -4l-4 -4l-4 4z\"><title>", cls, x, y);
		h_esc(f, b);
		fputs("</title></path>\n", f);
	}
}

static void rows(FILE *f, const struct h_timeline *t, const struct h_strip *s, double colw)
{
	double scale = (RH / 2 - 3) / log1p(strip_max(t, s));

	for (size_t v = 0; v < t->nvec; v++) {
		double y = TOP + v * RH, ymid = y + RH / 2;

		fprintf(f, "<rect class=\"%s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>\n",
			v % 2 ? "r1" : "r0", L, y, PW, RH);
		fprintf(f, "<text class=\"vl\" x=\"%.1f\" y=\"%.1f\">", L - 6, ymid + 4);
		h_esc(f, t->label[v]);
		fputs("</text>\n", f);
		bars(f, s, s->fires + v * s->ncols, ymid, -1, colw, scale, "b-fire");
		bars(f, s, s->inj + v * s->ncols, ymid, 1, colw, scale, "b-inj");
		bars(f, s, s->coal + v * s->ncols, y + 2, 1, colw, 0, "b-coal");
		fprintf(f, "<path class=\"mid\" d=\"M%.1f %.1fH%.1f\"/>\n", L, ymid, L + PW);
	}
}

void h_svg_strip(FILE *f, const struct h_timeline *t, const struct h_strip *s,
		 struct json_object *r)
{
	struct json_object *cy = s->cycle >= 0 ? hj_at(hj(hj(r, "cpr"), "cycles"), (size_t)s->cycle) : NULL;
	struct frame fr = { .lo = s->grow ? s->t0 : s->lo };
	unsigned cols = s->grow ? (s->used ? s->used : 1) : s->ncols;
	double h = t->nvec * RH;

	fr.span = s->grow ? (uint64_t)cols * s->width : s->hi - s->lo;
	fr.span = fr.span ? fr.span : 1;
	fr.origin = cy ? hj_u64(cy, "start_ns") : t->first_ts;
	fr.colw = PW / cols;
	fprintf(f, "<svg class=\"tl\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %.0f %.0f\" "
		"width=\"%.0f\" height=\"%.0f\" role=\"img\">\n", W, TOP + h + BOT, W, TOP + h + BOT);
	rows(f, t, s, fr.colw);
	phases(f, &fr, r, h, cy != NULL);
	marks(f, &fr, t, r, "lost_events", "lost MSI", "lost");
	marks(f, &fr, t, r, "duplicate_events", "duplicate MSI", "dup");
	axis(f, &fr, TOP + h);
	fputs("</svg>\n", f);
}

void h_svg_legend(FILE *f)
{
	static const char *const items[][2] = {
		{ "k-fire", "fires (up)" }, { "k-inj", "injections (down)" },
		{ "k-coal", "coalesced groups" }, { "k-lost", "lost MSI" }, { "k-dup", "duplicate MSI" },
		{ "k-bo", "CPR blackout (irqfds detached)" }, { "k-setup", "CPR setup" },
		{ "k-pause", "guest paused (old VM stopped \xe2\x86\x92 new VM running)" },
		{ "k-line", "CPR step" },
	};

	fputs("<p class=\"legend\">", f);
	for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++)
		fprintf(f, "<span><i class=\"%s\"></i>%s</span> ", items[i][0], items[i][1]);
	fputs("</p>\n", f);
}

/* ---- histograms ---- */

#define HW 372.0
#define HH 170.0
#define HL 44.0
#define HB 34.0

static void hist_bars(FILE *f, const uint64_t *h, unsigned b0, unsigned nb, double lmax,
		      double off, double gw, const char *cls, const char *what)
{
	char lo[32], hi[32];

	for (unsigned i = 0; h && i < nb; i++) {
		double bh;

		if (!h[b0 + i])
			continue;
		bh = (HH - HB - 10) * log10(1.0 + (double)h[b0 + i]) / lmax;
		fprintf(f, "<rect class=\"%s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"><title>",
			cls, HL + i * gw + off, HH - HB - bh, gw * 0.42, bh);
		h_escf(f, "%s %s to %s: %" PRIu64, what, h_dur(lo, sizeof(lo), 1ull << (b0 + i)),
		       h_dur(hi, sizeof(hi), 1ull << (b0 + i + 1)), h[b0 + i]);
		fputs("</title></rect>\n", f);
	}
}

/* Axis labels of log2 buckets: "262us", "4.2ms". */
static const char *short_dur(char *b, size_t len, uint64_t ns)
{
	static const char *const unit[] = { "ns", "\xc2\xb5s", "ms", "s" };
	double x = (double)ns;
	int u = 0;

	while (x >= 1000 && u < 3) {
		x /= 1000;
		u++;
	}
	snprintf(b, len, x < 10 && u ? "%.1f%s" : "%.0f%s", x, unit[u]);
	return b;
}

void h_svg_hist(FILE *f, const char *title, const uint64_t *delay, const uint64_t *gap)
{
	unsigned b0 = H_HIST, b1 = 0, nb;
	uint64_t max = 1;
	double gw, lmax;
	char b[32];

	for (unsigned i = 0; i < H_HIST; i++) {
		uint64_t g = gap ? gap[i] : 0, c = delay[i] > g ? delay[i] : g;

		if (!c)
			continue;
		b0 = i < b0 ? i : b0;
		b1 = i;
		max = c > max ? c : max;
	}
	fputs("<figure class=\"hist\"><figcaption>", f);
	h_esc(f, title);
	fputs("</figcaption>\n", f);
	if (b0 == H_HIST) {
		fputs("<p class=\"muted\">no deliveries</p></figure>\n", f);
		return;
	}
	b1 = b1 < b0 + 7 ? b0 + 7 : b1;
	b1 = b1 >= H_HIST - 1 ? H_HIST - 2 : b1;
	nb = b1 - b0 + 1;
	gw = (HW - HL - 6) / nb;
	lmax = log10(1.0 + (double)max);
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" "
		"height=\"%.0f\" role=\"img\">\n", HW, HH, HW, HH);
	for (uint64_t p = 1; p <= max; p *= 10) {
		double y = HH - HB - (HH - HB - 10) * log10(1.0 + (double)p) / lmax;
		fprintf(f, "<path class=\"grid\" d=\"M%.1f %.1fH%.1f\"/><text class=\"tk\" x=\"%.1f\" "
			"y=\"%.1f\" text-anchor=\"end\">%s</text>\n", HL, y, HW - 4, HL - 4, y + 4,
			h_num(b, p));
	}
	hist_bars(f, delay, b0, nb, lmax, gw * 0.06, gw, "h-delay", "delay");
	hist_bars(f, gap, b0, nb, lmax, gw * 0.52, gw, "h-gap", "gap");
	for (unsigned i = 0, skip = (unsigned)(44 / gw) + 1; i < nb; i += skip) {
		fprintf(f, "<text class=\"tk\" x=\"%.1f\" y=\"%.1f\">", HL + i * gw, HH - HB + 14);
		h_esc(f, short_dur(b, sizeof(b), 1ull << (b0 + i)));
		fputs("</text>\n", f);
	}
	fprintf(f, "<path class=\"ax\" d=\"M%.1f %.1fH%.1f\"/></svg></figure>\n", HL, HH - HB, HW - 4);
}

/* ---- blackout per cycle ---- */

void h_svg_blackouts(FILE *f, struct json_object *r)
{
	struct json_object *cys = hj(hj(r, "cpr"), "cycles");
	size_t n = hj_len(cys);
	uint64_t max = hj_u64(hj(r, "cpr"), "blackout_ns");
	double w, slot, ph = 140;
	char b[32], t[200];

	if (!n)
		return;
	max = max ? max : 1;
	w = 60 + n * 44.0 > W ? W : 60 + n * 44.0;
	slot = (w - 60) / n;
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" "
		"height=\"%.0f\" role=\"img\">\n", w, ph + 40, w, ph + 40);
	fprintf(f, "<text class=\"tk\" x=\"4\" y=\"16\">%s</text>\n", h_dur(b, sizeof(b), max));
	for (size_t i = 0; i < n; i++) {
		struct json_object *cy = hj_at(cys, i);
		uint64_t bo = hj_u64(cy, "blackout_ns");
		double bh = (ph - 20) * (double)bo / (double)max, x = 56 + i * slot;

		bh = bh < 1 ? 1 : bh;
		snprintf(t, sizeof(t), "cpr #%zu: blackout %s, %" PRIu64 " fires during it, %" PRIu64 " lost",
			 i + 1, h_dur(b, sizeof(b), bo), hj_u64(cy, "blackout_fires"), hj_u64(cy, "lost"));
		fprintf(f, "<rect class=\"%s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"><title>",
			hj_u64(cy, "lost") ? "bo-lost" : "bo", x, ph - bh, slot * 0.7, bh);
		h_esc(f, t);
		fputs("</title></rect>\n", f);
		if (slot >= 40)
			fprintf(f, "<text class=\"tk\" x=\"%.1f\" y=\"%.1f\">%s</text>\n", x, ph - bh - 4,
				h_dur(b, sizeof(b), bo));
		if (slot >= 18 || i % 10 == 0)
			fprintf(f, "<text class=\"tk\" x=\"%.1f\" y=\"%.1f\">#%zu</text>\n", x, ph + 16, i + 1);
	}
	fprintf(f, "<path class=\"ax\" d=\"M56 %.1fH%.1f\"/></svg>\n", ph, w - 4);
}

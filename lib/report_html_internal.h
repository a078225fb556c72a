/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Private to lib/report_html*.c. The HTML report is drawn from the report
 * JSON (the same object report.json holds, so the page never says something
 * the JSON does not) plus one bounded re-read of the trace for the timeline:
 * the analysis is streaming and keeps no per-event data.
 */
#ifndef CPRV_REPORT_HTML_INTERNAL_H
#define CPRV_REPORT_HTML_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "report_html.h"

struct json_object;

/* ---- report_html_util.c: JSON access that tolerates missing keys ---- */
struct json_object *hj(struct json_object *o, const char *key);
/* Numbers, or "0x..." strings (kernel pointers); 0 if missing or null. */
uint64_t hj_u64(struct json_object *o, const char *key);
uint64_t hj_val(struct json_object *v);
bool hj_has(struct json_object *o, const char *key); /* present and not null */
const char *hj_str(struct json_object *o, const char *key); /* "" if missing */
size_t hj_len(struct json_object *arr);                     /* 0 if not an array */
struct json_object *hj_at(struct json_object *arr, size_t i);

/* ---- escaping and formatting ---- */
/* Text and attribute values: & < > " ' escaped, control bytes and invalid
 * UTF-8 replaced, so no input can break out of the markup. */
void h_esc(FILE *f, const char *s);
/* printf, then h_esc the result. */
void h_escf(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *h_num(char b[32], uint64_t x);                 /* "12,004" */
const char *h_dur(char *b, size_t len, uint64_t ns);       /* "41.0 ms" */
const char *h_hex(char b[24], uint64_t x);                 /* "0x..." */

/* Cycle i's QEMU CPR steps seen, in time order; returns how many. From
 * the cycle's "phases" ({"name": ns | {"ts_ns"}} or [{"name", "ns"}]),
 * else from the QEMU driver's update nearest to it ("qemu" "cycles"
 * "phases"); a step not seen (0, null) is left out. */
size_t h_cycle_phases(struct json_object *r, size_t i, const char **name, uint64_t *ns,
		      size_t max);

/* ---- the one-line verdict ---- */
void h_headline(char *buf, size_t len, struct json_object *r);
const char *h_result_class(struct json_object *r);         /* "pass", "fail", "unjudged" */
/* Why the verdict is only partial (blind stages, drops, cut-short trace);
 * count of reasons written into out (NUL-separated lines), 0: complete. */
size_t h_partial_reasons(struct json_object *r, char *out, size_t len);

/* ---- report_html_vecmap.c: which vector a raw event belongs to ---- */
/* Cheap on purpose (eventfd ctx, the route's guest vector, the injection's
 * context tag): enough to draw and export; counts come from the analysis. */
struct h_vecmap {
	size_t nvec;
	char (*label)[48];       /* per vector: "gsi 3" / "ctx 0x..." */
	uint64_t *ctx_key;       /* sorted */
	size_t *ctx_vec, nctx;
	long gvec[256];          /* guest vector -> vector, -1 none, -2 shared */
	uint64_t *gsi;           /* per vector, UINT64_MAX: none */
};

int h_vecmap_build(struct h_vecmap *m, struct json_object *r);
void h_vecmap_free(struct h_vecmap *m);
long h_vecmap_ctx(const struct h_vecmap *m, uint64_t ctx);
long h_vecmap_gsi(const struct h_vecmap *m, uint64_t gsi);
struct cprv_event;
/* An APIC accept's vector, or -1. */
long h_vecmap_inj(const struct h_vecmap *m, const struct cprv_event *e);
/* A fire's vector (eventfd write/signal, vfio_msihandler), or -1. */
long h_vecmap_fire(const struct h_vecmap *m, const struct cprv_event *e);
/* A chain's vector (its gsi, else its ctx), or -1. */
long h_vecmap_chain(const struct h_vecmap *m, struct json_object *chain);

/* ---- report_html_timeline.c: the trace re-read, bounded ---- */
#define H_HIST 64

struct h_strip {
	uint64_t t0, width;      /* first bin start, bin width (ns) */
	uint64_t lo, hi;         /* the window drawn (zoom); full strip: first..last event */
	unsigned ncols, used;    /* bins allocated, bins holding data */
	bool grow;               /* full strip: bins double in width as the trace goes on */
	int cycle;               /* zoom: the cycle index, -1 for the full strip */
	uint32_t *fires, *hfires, *inj, *coal; /* [vector * ncols + bin] */
};

struct h_timeline {
	size_t nvec;
	char (*label)[48];       /* = map.label */
	struct h_strip full;
	struct h_strip *zoom;
	size_t nzoom;
	uint64_t (*gap_hist)[H_HIST];  /* per vector: gaps between deliveries, log2 ns */
	uint64_t *last_inj;
	uint32_t *pending;       /* fires since the last injection, per vector */
	uint64_t events, first_ts, last_ts;
	uint64_t drawn_fires, drawn_inj, signals;
	bool ok;                 /* the trace was read (fully or up to its damage) */
	char note[256];          /* why there is no timeline, or what was cut */
	struct h_vecmap map;
};

int h_timeline_build(struct h_timeline *t, struct json_object *r, const char *trace,
		     const struct cprv_html_opts *o);
void h_timeline_free(struct h_timeline *t);

/* ---- report_html_svg.c ---- */
void h_svg_strip(FILE *f, const struct h_timeline *t, const struct h_strip *s,
		 struct json_object *r);
void h_svg_legend(FILE *f);
void h_svg_hist(FILE *f, const char *title, const uint64_t *delay, const uint64_t *gap);
void h_svg_blackouts(FILE *f, struct json_object *r);

/* ---- report_html_sections.c: the parts of one run's page ---- */
void h_css(FILE *f);
void h_page_open(FILE *f, const char *title);
void h_page_close(FILE *f);
void h_verdict_box(FILE *f, struct json_object *r, const char *id);
void h_banner(FILE *f, struct json_object *r);
void h_counts(FILE *f, struct json_object *r, const char *id);
void h_chains(FILE *f, struct json_object *r, const struct h_timeline *t, const char *key,
	      const char *total_key, const char *title, const char *id, unsigned max_rows);
void h_rules(FILE *f, struct json_object *r, const char *id);
void h_vectors(FILE *f, struct json_object *r);
void h_cycles(FILE *f, struct json_object *r);
void h_probes(FILE *f, struct json_object *r);
void h_ground_truth(FILE *f, struct json_object *r);
void h_timeline_section(FILE *f, const struct h_timeline *t, struct json_object *r);
void h_hist_section(FILE *f, const struct h_timeline *t, struct json_object *r);

/* ---- report_html.c: shared with the gate page ---- */
void h_subtitle(FILE *f, struct json_object *r);
/* Verdict, banner, counts, (timeline), lost/duplicate tables, rules; ids
 * prefixed with pre. */
void h_essentials(FILE *f, struct json_object *r, const struct h_timeline *t,
		  const char *pre, unsigned max_rows, bool timeline);
/* (Timeline), vectors, histograms, cycles, probes, ground truth. */
void h_run_details(FILE *f, struct json_object *r, const struct h_timeline *t, const char *what,
		   bool timeline);

#endif

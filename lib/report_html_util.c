// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* HTML report helpers: tolerant JSON access, escaping, numbers, and the
 * verdict in one line a person understands. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "report.h"
#include "report_html_internal.h"

struct json_object *hj(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	return o && json_object_is_type(o, json_type_object) &&
	       json_object_object_get_ex(o, key, &v) ? v : NULL;
}

uint64_t hj_val(struct json_object *v)
{
	const char *s;

	if (!v)
		return 0;
	if (json_object_is_type(v, json_type_string)) {
		s = json_object_get_string(v);
		return strtoull(s, NULL, 0);
	}
	if (json_object_is_type(v, json_type_int))
		return json_object_get_uint64(v);
	if (json_object_is_type(v, json_type_double))
		return (uint64_t)json_object_get_double(v);
	if (json_object_is_type(v, json_type_boolean))
		return json_object_get_boolean(v);
	return 0;
}

uint64_t hj_u64(struct json_object *o, const char *key)
{
	return hj_val(hj(o, key));
}

bool hj_has(struct json_object *o, const char *key)
{
	return hj(o, key) != NULL;
}

const char *hj_str(struct json_object *o, const char *key)
{
	struct json_object *v = hj(o, key);

	return v ? json_object_get_string(v) : "";
}

size_t hj_len(struct json_object *arr)
{
	return arr && json_object_is_type(arr, json_type_array) ? json_object_array_length(arr) : 0;
}

struct json_object *hj_at(struct json_object *arr, size_t i)
{
	return i < hj_len(arr) ? json_object_array_get_idx(arr, i) : NULL;
}

/* Length of the valid UTF-8 sequence at s, 0 if invalid. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

void h_esc(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");

	while (*p) {
		size_t n = utf8_len(p);

		switch (*p) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		case '\n': case '\t': fputc(*p, f); break;
		default:
			if (!n || *p < 0x20 || *p == 0x7f) {
				fputs("\xef\xbf\xbd", f); /* U+FFFD */
				n = 1;
			} else {
				fwrite(p, 1, n, f);
			}
			p += n;
			continue;
		}
		p++;
	}
}

void h_escf(FILE *f, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	h_esc(f, buf);
}

const char *h_num(char b[32], uint64_t x)
{
	return cprv_report_num(b, x);
}

const char *h_dur(char *b, size_t len, uint64_t ns)
{
	if (ns >= 1000000000ull)
		snprintf(b, len, "%.2f s", (double)ns / 1e9);
	else if (ns >= 1000000)
		snprintf(b, len, "%.1f ms", (double)ns / 1e6);
	else if (ns >= 1000)
		snprintf(b, len, "%.1f \xc2\xb5s", (double)ns / 1e3);
	else
		snprintf(b, len, "%" PRIu64 " ns", ns);
	return b;
}

const char *h_hex(char b[24], uint64_t x)
{
	snprintf(b, 24, "0x%" PRIx64, x);
	return b;
}

static void phase_add(const char **name, uint64_t *ns, size_t *n, size_t max,
		      const char *k, struct json_object *v)
{
	uint64_t t = !json_object_is_type(v, json_type_object) ? hj_val(v) :
		     hj_has(v, "ts_ns") ? hj_u64(v, "ts_ns") : hj_u64(v, "ns");
	size_t i = *n;

	if (!t || !k || !*k || *n >= max)
		return;
	/* insertion keeps them in time order */
	while (i && ns[i - 1] > t) {
		ns[i] = ns[i - 1];
		name[i] = name[i - 1];
		i--;
	}
	ns[i] = t;
	name[i] = k;
	(*n)++;
}

static size_t phases_of(struct json_object *ph, const char **name, uint64_t *ns, size_t max)
{
	size_t n = 0;

	if (ph && json_object_is_type(ph, json_type_object)) {
		json_object_object_foreach(ph, k, v)
			phase_add(name, ns, &n, max, k, v);
	}
	for (size_t i = 0; i < hj_len(ph); i++)
		phase_add(name, ns, &n, max, hj_str(hj_at(ph, i), "name"), hj_at(ph, i));
	return n;
}

/* A QEMU run reports its phases per driven update ("qemu" "cycles"): the
 * one whose first step is nearest this cycle's start (within 10 s). */
static struct json_object *driven_phases(struct json_object *r, uint64_t start)
{
	struct json_object *qc = hj(hj(r, "qemu"), "cycles"), *best = NULL;
	uint64_t best_d = 10000000000ull, ns[16];
	const char *nm[16];

	for (size_t i = 0; i < hj_len(qc); i++) {
		struct json_object *ph = hj(hj_at(qc, i), "phases");
		uint64_t d;

		if (!phases_of(ph, nm, ns, 16))
			continue;
		d = ns[0] > start ? ns[0] - start : start - ns[0];
		if (d < best_d) {
			best_d = d;
			best = ph;
		}
	}
	return best;
}

size_t h_cycle_phases(struct json_object *r, size_t i, const char **name, uint64_t *ns,
		      size_t max)
{
	struct json_object *cy = hj_at(hj(hj(r, "cpr"), "cycles"), i);
	size_t n = phases_of(hj(cy, "phases"), name, ns, max);

	return n ? n : phases_of(driven_phases(r, hj_u64(cy, "start_ns")), name, ns, max);
}

const char *h_result_class(struct json_object *r)
{
	const char *v = hj_str(r, "verdict");

	return !strcmp(v, "pass") || !strcmp(v, "fail") ? v : "unjudged";
}

static uint64_t max_of(struct json_object *arr, const char *key)
{
	uint64_t m = 0;

	for (size_t i = 0; i < hj_len(arr); i++)
		if (hj_u64(hj_at(arr, i), key) > m)
			m = hj_u64(hj_at(arr, i), key);
	return m;
}

/* "gsi 1, gsi 3" for the vectors with a non-zero key, at most a few. */
static size_t vectors_with(char *b, size_t len, struct json_object *r, const char *key)
{
	struct json_object *vs = hj(r, "vectors");
	size_t n = 0, off = 0;

	b[0] = 0;
	for (size_t i = 0; i < hj_len(vs); i++) {
		struct json_object *v = hj_at(vs, i);

		if (!hj_u64(v, key))
			continue;
		if (n++ < 4 && off < len) {
			if (hj_has(v, "gsi"))
				off += snprintf(b + off, len - off, "%sgsi %" PRIu64, n > 1 ? ", " : "",
						hj_u64(v, "gsi"));
			else
				off += snprintf(b + off, len - off, "%sctx %s", n > 1 ? ", " : "",
						json_object_get_string(hj_at(hj(v, "ctxs"), 0)));
		}
	}
	if (n > 4 && off < len)
		snprintf(b + off, len - off, " and %zu more", n - 4);
	return n;
}

/* " during cpr-transfer #2, #3" for the cycles that lost MSIs. */
static void lossy_cycles(char *b, size_t len, struct json_object *r)
{
	struct json_object *cy = hj(hj(r, "cpr"), "cycles");
	const char *mode = hj_str(hj(r, "scenario"), "mode");
	size_t off = 0, n = 0;

	b[0] = 0;
	for (size_t i = 0; i < hj_len(cy) && off < len; i++) {
		if (!hj_u64(hj_at(cy, i), "lost"))
			continue;
		if (!n++)
			off += snprintf(b + off, len - off, " during %s%s #%zu", *mode ? "cpr-" : "CPR",
					mode, i + 1);
		else
			off += snprintf(b + off, len - off, ", #%zu", i + 1);
	}
}

void h_headline(char *buf, size_t len, struct json_object *r)
{
	const char *cls = h_result_class(r);
	uint64_t fires = hj_u64(r, "fires"), lost = hj_u64(r, "lost"), dups = hj_u64(r, "duplicates");
	uint64_t gap = max_of(hj(r, "vectors"), "max_gap_ns");
	uint64_t bo = hj_u64(hj(r, "cpr"), "blackout_ns");
	size_t ncy = hj_len(hj(hj(r, "cpr"), "cycles")), nv = hj_len(hj(r, "vectors")), off;
	char f[32], l[32], d[32], c[32], g[32], b[32], lv[160], dv[160], cyc[160];
	const char *why = hj_len(hj(r, "reasons")) ? json_object_get_string(hj_at(hj(r, "reasons"), 0)) : NULL;

	h_num(f, fires);
	h_num(l, lost);
	h_num(d, dups);
	h_num(c, hj_u64(r, "coalesced"));
	vectors_with(lv, sizeof(lv), r, "lost");
	vectors_with(dv, sizeof(dv), r, "duplicates");
	lossy_cycles(cyc, sizeof(cyc), r);
	if (!strcmp(cls, "pass") && !fires && !nv) /* a workload declared without a device */
		off = snprintf(buf, len, "PASS: %zu CPR cycles completed, no device MSIs in this "
			       "scenario (the MSI path was not exercised)", ncy);
	else if (!strcmp(cls, "pass"))
		off = snprintf(buf, len, "PASS: %s MSIs on %zu vectors, 0 lost, 0 duplicates (%s coalesced)",
			       f, nv, c);
	else if (!strcmp(cls, "fail") && lost)
		off = snprintf(buf, len, "FAIL: %s of %s MSIs lost on %s%s; %s duplicates%s%s", l, f, lv,
			       cyc, d, dups ? " on " : "", dups ? dv : "");
	else if (!strcmp(cls, "fail") && dups)
		off = snprintf(buf, len, "FAIL: %s duplicate MSIs on %s (of %s MSIs); 0 lost", d, dv, f);
	else if (!strcmp(cls, "fail"))
		off = snprintf(buf, len, "FAIL: %s; %s MSIs, 0 lost, 0 duplicates", why ? why : "failed", f);
	else
		off = snprintf(buf, len, "COULD NOT JUDGE: %s; %s MSIs seen, %s lost, %s duplicates",
			       why ? why : "the trace cannot back a verdict", f, l, d);
	if (off < len && nv)
		off += snprintf(buf + off, len - off, "; worst gap %s", h_dur(g, sizeof(g), gap));
	if (off < len && ncy && bo)
		snprintf(buf + off, len - off, "; blackout %s%s", h_dur(b, sizeof(b), bo),
			 ncy > 1 ? " (worst cycle)" : "");
}

static size_t add_line(char *out, size_t len, size_t *off, const char *s)
{
	if (*off + strlen(s) + 1 >= len)
		return 0;
	memcpy(out + *off, s, strlen(s) + 1);
	*off += strlen(s) + 1;
	return 1;
}

size_t h_partial_reasons(struct json_object *r, char *out, size_t len)
{
	struct json_object *cav = hj(r, "caveats"), *why = hj(r, "reasons");
	size_t n = 0, off = 0;

	/* drops, a cut-short trace and blind stages already are reasons (when
	 * they keep a pass from being judged) or caveats (on a fail) */
	if (!strcmp(h_result_class(r), "unjudged"))
		for (size_t i = 0; i < hj_len(why); i++)
			n += add_line(out, len, &off, json_object_get_string(hj_at(why, i)));
	for (size_t i = 0; i < hj_len(cav); i++)
		n += add_line(out, len, &off, json_object_get_string(hj_at(cav, i)));
	return n;
}

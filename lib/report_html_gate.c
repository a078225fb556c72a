// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The gate page: the gate's checks, then candidate and reference side by
 * side. A figure that differs is highlighted; one where the candidate does
 * worse (more lost, more duplicates, a longer gap, a rule it breaks that the
 * reference holds) is highlighted as worse.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <json-c/json.h>

#include "report_html_internal.h"

enum better { NEUTRAL, LOWER }; /* which way is better for a figure */

static const char *cell_class(uint64_t c, uint64_t r, enum better b)
{
	if (c == r)
		return "n";
	return b == LOWER && c > r ? "n worse" : "n diff";
}

static void row_u64(FILE *f, const char *what, uint64_t c, uint64_t r, enum better b, bool dur)
{
	char x[32], y[32];

	if (dur) {
		h_dur(x, sizeof(x), c);
		h_dur(y, sizeof(y), r);
	} else {
		h_num(x, c);
		h_num(y, r);
	}
	/* durations differ when a reader can see it: 3.0 ms vs 3.0 ms does not */
	if (!strcmp(x, y))
		c = r;
	fputs("<tr><th>", f);
	h_esc(f, what);
	fprintf(f, "</th><td class=\"%s\">%s</td><td class=\"n\">%s</td></tr>\n", cell_class(c, r, b),
		x, y);
}

static void row_str(FILE *f, const char *what, const char *c, const char *r, bool worse)
{
	fputs("<tr><th>", f);
	h_esc(f, what);
	fprintf(f, "</th><td class=\"%s\">", strcmp(c, r) ? (worse ? "worse" : "diff") : "");
	h_esc(f, c);
	fputs("</td><td>", f);
	h_esc(f, r);
	fputs("</td></tr>\n", f);
}

static uint64_t vmax(struct json_object *r, const char *key)
{
	struct json_object *vs = hj(r, "vectors");
	uint64_t m = 0;

	for (size_t i = 0; i < hj_len(vs); i++)
		m = hj_u64(hj_at(vs, i), key) > m ? hj_u64(hj_at(vs, i), key) : m;
	return m;
}

static struct json_object *vec_by_gsi(struct json_object *r, uint64_t gsi)
{
	struct json_object *vs = hj(r, "vectors");

	for (size_t i = 0; i < hj_len(vs); i++)
		if (hj_has(hj_at(vs, i), "gsi") && hj_u64(hj_at(vs, i), "gsi") == gsi)
			return hj_at(vs, i);
	return NULL;
}

static void per_vector(FILE *f, struct json_object *c, struct json_object *r)
{
	struct json_object *vs = hj(c, "vectors");
	char what[64];

	for (size_t i = 0; i < hj_len(vs); i++) {
		struct json_object *v = hj_at(vs, i), *w;
		uint64_t gsi = hj_u64(v, "gsi");

		if (!hj_has(v, "gsi"))
			continue;
		w = vec_by_gsi(r, gsi);
		snprintf(what, sizeof(what), "gsi %" PRIu64 " lost", gsi);
		row_u64(f, what, hj_u64(v, "lost"), hj_u64(w, "lost"), LOWER, false);
		snprintf(what, sizeof(what), "gsi %" PRIu64 " duplicates", gsi);
		row_u64(f, what, hj_u64(v, "duplicates"), hj_u64(w, "duplicates"), LOWER, false);
		snprintf(what, sizeof(what), "gsi %" PRIu64 " max gap", gsi);
		row_u64(f, what, hj_u64(v, "max_gap_ns"), hj_u64(w, "max_gap_ns"), LOWER, true);
	}
}

static void compare(FILE *f, struct json_object *c, struct json_object *r)
{
	static const char *const counts[][2] = {
		{ "fires", "" }, { "injections", "" }, { "coalesced", "" }, { "lost", "L" },
		{ "duplicates", "L" }, { "replay_races", "L" }, { "unattributed", "L" },
		{ "in_flight", "L" }, { "dropped", "L" },
	};
	char key[8], what[80];

	fputs("<table class=\"compare\" id=\"compare\"><tr><th>figure</th><th>candidate</th>"
	      "<th>reference</th></tr>\n", f);
	row_str(f, "verdict", hj_str(c, "verdict"), hj_str(r, "verdict"),
		strcmp(hj_str(c, "verdict"), "pass") != 0);
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
		row_u64(f, counts[i][0], hj_u64(c, counts[i][0]), hj_u64(r, counts[i][0]),
			*counts[i][1] ? LOWER : NEUTRAL, false);
	row_u64(f, "CPR cycles", hj_len(hj(hj(c, "cpr"), "cycles")), hj_len(hj(hj(r, "cpr"), "cycles")),
		NEUTRAL, false);
	row_u64(f, "worst blackout", hj_u64(hj(c, "cpr"), "blackout_ns"),
		hj_u64(hj(r, "cpr"), "blackout_ns"), LOWER, true);
	row_u64(f, "worst gap", vmax(c, "max_gap_ns"), vmax(r, "max_gap_ns"), LOWER, true);
	row_u64(f, "worst delay", vmax(c, "max_delay_ns"), vmax(r, "max_delay_ns"), LOWER, true);
	for (unsigned n = 1; n <= 6; n++) {
		const char *sc, *sr;

		snprintf(key, sizeof(key), "R%u", n);
		sc = hj_str(hj(hj(c, "rules"), key), "state");
		sr = hj_str(hj(hj(r, "rules"), key), "state");
		snprintf(what, sizeof(what), "%s %s", key, hj_str(hj(hj(c, "rules"), key), "title"));
		row_str(f, what, !strcmp(sc, "not_checkable") ? "not checkable" : sc,
			!strcmp(sr, "not_checkable") ? "not checkable" : sr, !strcmp(sc, "broken"));
	}
	per_vector(f, c, r);
	fputs("</table>\n", f);
}

static const char *check_words(int s)
{
	return s == CPRV_HTML_CHECK_PASS ? "pass" : s == CPRV_HTML_CHECK_FAIL ? "FAIL" :
	       s == CPRV_HTML_CHECK_SKIPPED ? "not checkable in either run" : "could not judge";
}

static int gate_result(const struct cprv_html_check *checks, size_t n, size_t *failed)
{
	int res = CPRV_HTML_CHECK_PASS;

	*failed = 0;
	for (size_t i = 0; i < n; i++) {
		*failed += checks[i].status == CPRV_HTML_CHECK_FAIL;
		if (checks[i].status == CPRV_HTML_CHECK_UNJUDGED && res == CPRV_HTML_CHECK_PASS)
			res = CPRV_HTML_CHECK_UNJUDGED;
	}
	return *failed ? CPRV_HTML_CHECK_FAIL : res;
}

static void checks_table(FILE *f, const struct cprv_html_check *checks, size_t n)
{
	size_t failed;
	int res = gate_result(checks, n, &failed);
	static const char *const cls[] = { "pass", "fail", "unjudged" };

	fprintf(f, "<div class=\"verdict %s\" id=\"gate-verdict\">GATE %s: ", cls[res],
		res == CPRV_HTML_CHECK_PASS ? "PASS" : res == CPRV_HTML_CHECK_FAIL ? "FAIL" : "COULD NOT JUDGE");
	if (failed)
		fprintf(f, "%zu of %zu checks failed:", failed, n);
	else if (res == CPRV_HTML_CHECK_PASS)
		fprintf(f, "all %zu checks passed", n);
	else
		fprintf(f, "no check failed, but not every check could be judged");
	for (size_t i = 0, k = 0; i < n; i++)
		if (checks[i].status == CPRV_HTML_CHECK_FAIL) {
			fputs(k++ ? ", " : " ", f);
			h_esc(f, checks[i].name);
		}
	fputs("</div>\n<table class=\"checks\" id=\"checks\"><tr><th>check</th><th>result</th><th>detail</th></tr>\n", f);
	for (size_t i = 0; i < n; i++) {
		int s = checks[i].status;

		fprintf(f, "<tr%s><td>", s == CPRV_HTML_CHECK_FAIL ? " class=\"bad\"" : "");
		h_esc(f, checks[i].name);
		fprintf(f, "</td><td class=\"%s\">%s</td><td>", s == CPRV_HTML_CHECK_PASS ? "ok" :
			s == CPRV_HTML_CHECK_FAIL ? "bad" : "nc", check_words(s));
		h_esc(f, checks[i].detail ? checks[i].detail : "");
		fputs("</td></tr>\n", f);
	}
	fputs("</table>\n", f);
}

static void side(FILE *f, const struct cprv_html_run *run, const struct h_timeline *t,
		 const char *name, const char *pre, unsigned max_rows)
{
	fprintf(f, "<div id=\"%sside\"><h2>%s</h2>\n", pre, name);
	h_subtitle(f, run->report);
	h_essentials(f, run->report, t, pre, max_rows, false);
	fputs("</div>\n", f);
}

int cprv_report_html_gate(FILE *out, const struct cprv_html_run *cand,
			  const struct cprv_html_run *ref, const struct cprv_html_check *checks,
			  size_t n, const struct cprv_html_opts *o)
{
	const char *title = o && o->title ? o->title : "cpr-verify gate";
	unsigned rows = o ? o->max_rows : 0;
	struct h_timeline tc, tr;
	int rc = 0;

	if (!cand || !ref || !json_object_is_type(cand->report, json_type_object) ||
	    !json_object_is_type(ref->report, json_type_object)) {
		errno = EINVAL;
		return -1;
	}
	if (h_timeline_build(&tc, cand->report, cand->trace, o) |
	    h_timeline_build(&tr, ref->report, ref->trace, o)) {
		errno = ENOMEM;
		rc = -1;
		goto out;
	}
	h_page_open(out, title);
	fputs("<h1>", out);
	h_esc(out, title);
	fputs(": candidate vs reference</h1>\n", out);
	checks_table(out, checks, n);
	fputs("<h2>Side by side</h2>\n<p class=\"muted\">Yellow: differs from the reference. "
	      "Red: the candidate does worse.</p>\n", out);
	compare(out, cand->report, ref->report);
	fputs("<div class=\"grid2\">\n", out);
	side(out, cand, &tc, cand->label ? cand->label : "candidate", "cand-", rows);
	side(out, ref, &tr, ref->label ? ref->label : "reference", "ref-", rows);
	fputs("</div>\n", out);
	h_run_details(out, cand->report, &tc, " (candidate)", true);
	h_run_details(out, ref->report, &tr, " (reference)", true);
	h_page_close(out);
	rc = fflush(out) || ferror(out) ? -1 : 0;
out:
	h_timeline_free(&tc);
	h_timeline_free(&tr);
	return rc;
}

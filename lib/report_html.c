// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The HTML report of one run: verdict first, then the evidence. */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include <string.h>

#include <json-c/json.h>

#include "judge.h"
#include "report_html_internal.h"

void h_subtitle(FILE *f, struct json_object *r)
{
	struct json_object *s = hj(r, "scenario"), *tr = hj(r, "trace");

	fputs("<p class=\"muted\">", f);
	if (s) {
		fputs("Scenario ", f);
		h_esc(f, hj_str(s, "name"));
		if (*hj_str(s, "mode")) {
			fputs(", cpr-", f);
			h_esc(f, hj_str(s, "mode"));
		}
		if (*hj_str(s, "fault") && strcmp(hj_str(s, "fault"), "none")) {
			fputs(", fault ", f);
			h_esc(f, hj_str(s, "fault"));
		}
		fputs(". ", f);
	}
	if (tr) {
		fputs("Trace <code>", f);
		h_esc(f, hj_str(tr, "file"));
		fputs("</code>, kernel ", f);
		h_esc(f, hj_str(tr, "kernel"));
		fputs(", cpr-verify ", f);
		h_esc(f, hj_str(tr, "tool_version"));
		fputs(".", f);
	}
	fputs("</p>\n", f);
}

/* What a person needs first: verdict, why it may be partial, the counts,
 * (the timeline, at a glance), every lost and duplicate MSI, the rules. */
void h_essentials(FILE *f, struct json_object *r, const struct h_timeline *t,
		 const char *pre, unsigned max_rows, bool timeline)
{
	char id[64];

	snprintf(id, sizeof(id), "%sverdict", pre);
	h_verdict_box(f, r, id);
	h_banner(f, r);
	snprintf(id, sizeof(id), "%scounts", pre);
	h_counts(f, r, id);
	if (timeline) {
		fputs("<h2>Timeline</h2>\n", f);
		h_timeline_section(f, t, r);
		fputs("<h2>Evidence</h2>\n", f);
	}
	snprintf(id, sizeof(id), "%slost", pre);
	h_chains(f, r, t, "lost_events", "lost_events_total", "Lost MSIs", id, max_rows);
	snprintf(id, sizeof(id), "%sdups", pre);
	h_chains(f, r, t, "duplicate_events", "duplicate_events_total", "Duplicate MSIs", id, max_rows);
	if (hj_u64(r, "replay_race_events_total")) {
		snprintf(id, sizeof(id), "%sraces", pre);
		h_chains(f, r, t, "replay_race_events", "replay_race_events_total",
			 "Replay races (KVM's irqfd-assign replay after a new signal: legal)", id, max_rows);
	}
	if (hj_u64(r, "unattributed_events_total")) {
		snprintf(id, sizeof(id), "%sunattributed", pre);
		h_chains(f, r, t, "unattributed_events", "unattributed_events_total",
			 "Unattributed injections", id, max_rows);
	}
	fputs("<h3>Conformance rules</h3>\n", f);
	snprintf(id, sizeof(id), "%srules", pre);
	h_rules(f, r, id);
}

void h_run_details(FILE *f, struct json_object *r, const struct h_timeline *t, const char *what,
		   bool timeline)
{
	if (timeline) {
		fprintf(f, "<h2>Timeline%s</h2>\n", what);
		h_timeline_section(f, t, r);
	}
	fprintf(f, "<h2>Vectors%s</h2>\n", what);
	h_vectors(f, r);
	fprintf(f, "<h2>Delivery gaps%s</h2>\n", what);
	h_hist_section(f, t, r);
	fprintf(f, "<h2>CPR cycles and blackout%s</h2>\n", what);
	h_cycles(f, r);
	fprintf(f, "<h2>What the probes could see%s</h2>\n", what);
	h_probes(f, r);
	h_ground_truth(f, r);
}

int cprv_report_html(FILE *out, const struct cprv_html_run *run, const struct cprv_html_opts *o)
{
	const char *title = o && o->title ? o->title : "cpr-verify report";
	struct json_object *r = run ? run->report : NULL;
	struct h_timeline t;

	if (!r || !json_object_is_type(r, json_type_object)) {
		errno = EINVAL;
		return -1;
	}
	if (h_timeline_build(&t, r, run->trace, o)) {
		h_timeline_free(&t);
		errno = ENOMEM;
		return -1;
	}
	h_page_open(out, title);
	fputs("<h1>", out);
	h_esc(out, title);
	if (run->label) {
		fputs(": ", out);
		h_esc(out, run->label);
	}
	fputs("</h1>\n", out);
	h_subtitle(out, r);
	h_essentials(out, r, &t, "", o ? o->max_rows : 0, true);
	h_run_details(out, r, &t, "", false);
	h_page_close(out);
	h_timeline_free(&t);
	return fflush(out) || ferror(out) ? -1 : 0;
}

int cprv_report_html_file(const char *path, const struct cprv_judgement *j,
			  const struct cprv_html_opts *o)
{
	struct json_object *r = cprv_judgement_json(j);
	struct cprv_html_run run = { .report = r };
	char tmp[4096];
	FILE *f;
	int rc, e;

	if (!r) {
		errno = ENOMEM;
		return -1;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f) {
		json_object_put(r);
		return -1;
	}
	rc = cprv_report_html(f, &run, o);
	e = errno;
	if (fclose(f))
		rc = -1, e = errno;
	if (!rc && rename(tmp, path))
		rc = -1, e = errno;
	if (rc)
		unlink(tmp);
	json_object_put(r);
	errno = e;
	return rc;
}

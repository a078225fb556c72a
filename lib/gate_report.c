// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The gate's result for a person (text), for tools (JSON) and for CI
 * systems (JUnit XML: one test case per check). */
#include <stdio.h>
#include <string.h>
#include <json-c/json.h>

#include "drive.h"
#include "gate.h"
#include "report.h"

void cprv_gate_text(FILE *f, const struct cprv_gate *g, const struct cprv_gate_side *cand,
		    const struct cprv_gate_side *ref)
{
	char line[512];

	fprintf(f, "GATE %s: candidate %s vs reference %s\n",
		g->result == CPRV_GATE_PASS ? "PASS" : g->result == CPRV_GATE_FAIL ? "FAIL" :
		"UNJUDGED", cand->qemu, ref->qemu);
	cprv_report_headline(line, sizeof(line), cand->a, cand->v);
	fprintf(f, "  candidate: %s\n", line);
	cprv_report_headline(line, sizeof(line), ref->a, ref->v);
	fprintf(f, "  reference: %s\n\n", line);
	fprintf(f, "  %-18s %-9s %-24s %-24s %s\n", "check", "result", "candidate", "reference",
		"detail");
	for (size_t i = 0; i < g->n; i++) {
		const struct cprv_gate_check *c = &g->checks[i];

		fprintf(f, "  %-18s %-9s %-24s %-24s %s\n", c->name, cprv_gate_status_name(c->status),
			c->candidate, c->reference, c->detail);
	}
}

static struct json_object *side_json(const struct cprv_gate_side *s)
{
	struct json_object *o = json_object_new_object();
	const struct cprv_totals *t = cprv_analysis_totals(s->a);
	char line[512];

	cprv_report_headline(line, sizeof(line), s->a, s->v);
	json_object_object_add(o, "qemu", json_object_new_string(s->qemu));
	json_object_object_add(o, "version",
			       json_object_new_string(s->d ? s->d->qemu_version : ""));
	json_object_object_add(o, "verdict", json_object_new_string(cprv_result_name(s->v->result)));
	json_object_object_add(o, "headline", json_object_new_string(line));
	json_object_object_add(o, "fires", json_object_new_uint64(t->fires));
	json_object_object_add(o, "lost", json_object_new_uint64(t->lost));
	json_object_object_add(o, "duplicates", json_object_new_uint64(t->duplicates));
	if (s->d)
		json_object_object_add(o, "qemu_run", cprv_report_drive_json(s->a, s->d));
	return o;
}

struct json_object *cprv_gate_json(const struct cprv_gate *g, const struct cprv_gate_side *cand,
				   const struct cprv_gate_side *ref, const struct cprv_gate_tol *tol)
{
	struct json_object *o = json_object_new_object(), *arr = json_object_new_array();
	struct json_object *to = json_object_new_object();

	json_object_object_add(o, "result", json_object_new_string(cprv_gate_status_name(g->result)));
	json_object_object_add(o, "candidate", side_json(cand));
	json_object_object_add(o, "reference", side_json(ref));
	for (size_t i = 0; i < g->n; i++) {
		const struct cprv_gate_check *c = &g->checks[i];
		struct json_object *co = json_object_new_object();

		json_object_object_add(co, "name", json_object_new_string(c->name));
		json_object_object_add(co, "status", json_object_new_string(cprv_gate_status_name(c->status)));
		json_object_object_add(co, "candidate", json_object_new_string(c->candidate));
		json_object_object_add(co, "reference", json_object_new_string(c->reference));
		json_object_object_add(co, "detail", json_object_new_string(c->detail));
		json_object_array_add(arr, co);
	}
	json_object_object_add(o, "checks", arr);
	json_object_object_add(to, "duplicates_extra", json_object_new_uint64(tol->dup_extra));
	json_object_object_add(to, "gap_pct", json_object_new_int(tol->gap_pct));
	json_object_object_add(to, "gap_ms", json_object_new_uint64(tol->gap_ms));
	json_object_object_add(to, "blackout_pct", json_object_new_int(tol->blackout_pct));
	json_object_object_add(to, "blackout_ms", json_object_new_uint64(tol->blackout_ms));
	json_object_object_add(o, "tolerances", to);
	return o;
}

static void xml_escaped(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&apos;", f); break;
		default:
			/* XML 1.0 forbids most control characters */
			if ((unsigned char)*s >= 0x20 || *s == '\n' || *s == '\t')
				fputc(*s, f);
		}
	}
}

int cprv_gate_junit(FILE *f, const struct cprv_gate *g, const char *suite)
{
	size_t fails = 0, errors = 0, skipped = 0;

	for (size_t i = 0; i < g->n; i++) {
		fails += g->checks[i].status == CPRV_GATE_FAIL;
		errors += g->checks[i].status == CPRV_GATE_UNJUDGED;
		skipped += g->checks[i].status == CPRV_GATE_SKIPPED;
	}
	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n  <testsuite name=\"", f);
	xml_escaped(f, suite);
	fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\">\n", g->n, fails,
		errors, skipped);
	for (size_t i = 0; i < g->n; i++) {
		const struct cprv_gate_check *c = &g->checks[i];

		fputs("    <testcase classname=\"cpr-verify.gate\" name=\"", f);
		xml_escaped(f, c->name);
		fputs("\">", f);
		if (c->status != CPRV_GATE_PASS) {
			const char *tag = c->status == CPRV_GATE_FAIL ? "failure" :
					  c->status == CPRV_GATE_UNJUDGED ? "error" : "skipped";

			fprintf(f, "\n      <%s message=\"", tag);
			xml_escaped(f, c->detail);
			fprintf(f, "\">candidate: ");
			xml_escaped(f, c->candidate);
			fputs("; reference: ", f);
			xml_escaped(f, c->reference);
			fprintf(f, "</%s>\n    ", tag);
		}
		fputs("<system-out>", f);
		xml_escaped(f, c->detail);
		fputs("</system-out></testcase>\n", f);
	}
	fputs("  </testsuite>\n</testsuites>\n", f);
	return ferror(f) ? -1 : 0;
}

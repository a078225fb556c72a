// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The HTML report and the Chrome trace export, end to end: evseq scenarios
 * are written as real trace files (header with a probe plan, END chunk),
 * judged by cprv_judge like `report` does, and rendered; the page is read
 * as text, the export parsed back with json-c.
 *
 *   test_report_html                  the cmocka tests
 *   test_report_html --write DIR      clean/faulty/partial/gate pages and the
 *                                     strings each must show, for
 *                                     tests/html-chromium.sh
 *   test_report_html --big N DIR      an N-event trace: report and export
 *                                     size and time
 */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "evseq.h"
#include "export.h"
#include "judge.h"
#include "plan.h"
#include "report_html.h"
#include "report_html_internal.h"
#include "trace.h"

static char dir[256];

static const char *tpath(const char *name)
{
	static char p[4][512];
	static int k;

	k = (k + 1) % 4;
	snprintf(p[k], sizeof(p[k]), "%s/%s", dir, name);
	return p[k];
}

/* Every hook attached and proven live, but `blind` (-1: none). */
static struct json_object *plan_json(int blind)
{
	struct cprv_plan p;

	cprv_plan_init(&p);
	for (int h = 0; h < CPRV_HOOK_MAX; h++) {
		p.hooks[h].chosen = h == blind ? -1 : 0;
		p.hooks[h].canary = h == blind ? CPRV_CANARY_UNTESTED : CPRV_CANARY_LIVE;
	}
	p.canary_ran = true;
	snprintf(p.canary_summary, sizeof(p.canary_summary), "unit: every probe live");
	return cprv_plan_to_json(&p);
}

static void write_trace(const char *path, const struct evseq *s, const char *name,
			const char *fault, int blind)
{
	struct json_object *m = json_object_new_object(), *scn = json_object_new_object();
	struct cprv_trace_writer *w;
	char err[256];

	json_object_object_add(scn, "name", json_object_new_string(name));
	json_object_object_add(scn, "mode", json_object_new_string("transfer"));
	json_object_object_add(scn, "fault", json_object_new_string(fault));
	json_object_object_add(m, "tool_version", json_object_new_string("unit"));
	json_object_object_add(m, "kernel", json_object_new_string("unit-test"));
	json_object_object_add(m, "plan", plan_json(blind));
	json_object_object_add(m, "scenario", scn);
	w = cprv_trace_writer_open(path, json_object_to_json_string(m), NULL, err, sizeof(err));
	if (!w)
		fail_msg("%s", err);
	assert_int_equal(cprv_trace_write_events(w, s->ev, s->n), 0);
	assert_int_equal(cprv_trace_writer_close(w, "{\"drops\":0}"), 0);
	json_object_put(m);
}

/* What `report` does: the judgement's JSON. */
static struct json_object *judge_json(const char *path)
{
	struct cprv_judge_opts jo = { .trace = path };
	enum cprv_judge_error e;
	struct json_object *r;
	struct cprv_judgement *j;
	char err[512];

	j = cprv_judge(&jo, &e, err, sizeof(err));
	if (!j)
		fail_msg("judge %s: %s", path, err);
	r = cprv_judgement_json(j);
	cprv_judgement_free(j);
	assert_non_null(r);
	return r;
}

/* 4 vectors, one cpr-transfer, blackout fires 3/2/1/0 replayed by KVM. */
static void scn_clean(struct evseq *s, unsigned steady)
{
	struct evseq_cpr p = { .nvec = 4, .steady = steady, .blackout = { 3, 2, 1, 0 } };

	evseq_init(s);
	evseq_cpr_start(s, &p);
	evseq_cpr_cycle(s, &p);
	evseq_stop(s, 500 * EVSEQ_MS);
}

/* The new VMM re-arms fresh eventfds (the blackout's fires on gsi 0-2 are
 * lost), and two stray replays duplicate on gsi 1 and gsi 3. */
static void scn_faulty(struct evseq *s, unsigned b0)
{
	struct evseq_cpr p = { .nvec = 4, .steady = 10, .blackout = { b0, 2, 1, 0 },
			       .new_eventfds = 1 };

	evseq_init(s);
	evseq_cpr_start(s, &p);
	evseq_cpr_cycle(s, &p);
	evseq_task(s, 2, 2);
	evseq_replay(s, 3);
	evseq_advance(s, EVSEQ_MS);
	evseq_replay(s, 1);
	evseq_steady(s, &p);
	evseq_stop(s, 500 * EVSEQ_MS);
}

static struct json_object *make(const char *file, int kind, int blind)
{
	struct evseq s;

	if (kind)
		scn_faulty(&s, kind == 2 ? 30 : 3);
	else
		scn_clean(&s, 10);
	write_trace(tpath(file), &s, kind ? "unit-faulty" : "unit-clean", kind ? "new-eventfd" : "none",
		    blind);
	evseq_free(&s);
	return judge_json(tpath(file));
}

/*
 * A vfio trigger's eventfd freed and its address handed to the next QEMU's
 * own event notifier (the allocator reuses it: seen in the nested vfio
 * e2e, 2026-12-07). The notifier's writes are off the MSI path, not fires
 * lost: the first pass tells an address's lives apart by its creates.
 */
static void test_reused_trigger_address_is_off_path(void **state)
{
	struct cprv_judge_opts jo = { .trace = tpath("reuse.cprv"), .msi_path_only = true };
	uint64_t ctx = evseq_ctx_addr(0, 0), kvm = evseq_kvm_addr(0);
	struct cprv_judgement *j;
	enum cprv_judge_error e;
	struct json_object *r;
	struct evseq s;
	char err[512];

	evseq_init(&s);
	evseq_vm_create(&s, kvm);
	evseq_route(&s, kvm, 0);
	evseq_eventfd(&s, ctx);
	evseq_assign(&s, ctx, kvm, 0);
	for (int i = 0; i < 5; i++)
		evseq_write_fast(&s, ctx, 0);
	evseq_deassign(&s, ctx, kvm, 0);
	evseq_close(&s, CPRV_OBJ_EVENTFD, ctx);
	evseq_advance(&s, 5 * EVSEQ_MS);
	evseq_task(&s, 300, 307);
	evseq_eventfd(&s, ctx);
	for (int i = 0; i < 7; i++)
		evseq_write(&s, ctx);
	evseq_stop(&s, 500 * EVSEQ_MS);
	write_trace(jo.trace, &s, "unit-reuse", "none", 0);
	evseq_free(&s);
	j = cprv_judge(&jo, &e, err, sizeof(err));
	if (!j)
		fail_msg("judge: %s", err);
	r = cprv_judgement_json(j);
	cprv_judgement_free(j);
	assert_non_null(r);
	assert_int_equal(hj_u64(r, "fires"), 5);
	assert_int_equal(hj_u64(r, "lost"), 0);
	json_object_put(r);
}

static char *render(struct json_object *r, const char *trace)
{
	struct cprv_html_run run = { .report = r, .trace = trace };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(cprv_report_html(f, &run, NULL), 0);
	fclose(f);
	return buf;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static char *escaped(const char *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	h_esc(f, s);
	fclose(f);
	return buf;
}

static void assert_has(const char *html, const char *needle)
{
	if (!strstr(html, needle))
		fail_msg("the page lacks: %s", needle);
}

/* Self-contained: nothing that loads from anywhere, no script needed. */
static void assert_offline(const char *html)
{
	assert_int_equal(count(html, "<script"), 0);
	assert_int_equal(count(html, "src="), 0);
	assert_int_equal(count(html, "href="), 0);
	assert_int_equal(count(html, "url("), 0);
	assert_int_equal(count(html, "http"), count(html, "http://www.w3.org/2000/svg") +
						  count(html, "http-equiv"));
	assert_has(html, "default-src 'none'");
	assert_true(!strncmp(html, "<!DOCTYPE html>", 15));
	assert_has(html, "</html>\n");
}

static void test_clean_page(void **state)
{
	struct json_object *r = make("clean.cprv", 0, -1);
	char *html = render(r, NULL);

	assert_string_equal(json_object_get_string(hj(r, "verdict")), "pass");
	assert_offline(html);
	assert_has(html, "<div class=\"verdict pass\" id=\"verdict\">PASS: 86 MSIs on 4 vectors, 0 lost, "
			 "0 duplicates (3 coalesced); worst gap");
	assert_has(html, "data-k=\"fires\">86<");
	assert_has(html, "data-k=\"lost\">0<");
	assert_has(html, "data-k=\"duplicates\">0<");
	assert_has(html, "<h3 id=\"lost\">Lost MSIs: 0</h3>");
	/* one timeline row per vector in the full strip and the cycle's zoom */
	assert_int_equal(count(html, "<text class=\"vl\""), 8);
	assert_int_equal(count(html, "class=\"b-fire\""), 8);
	assert_has(html, "CPR #1 zoomed");
	assert_int_equal(count(html, "<rect class=\"ph-bo\""), 2);
	assert_int_equal(count(html, "class=\"lost\""), 0);
	assert_int_equal(count(html, "<figure class=\"hist\">"), 5);
	assert_has(html, "unit: every probe live");
	free(html);
	json_object_put(r);
}

static void test_faulty_page(void **state)
{
	struct json_object *r = make("faulty.cprv", 1, -1), *lost = hj(r, "lost_events");
	char *html = render(r, NULL);

	assert_int_equal(hj_u64(r, "lost"), 6);
	assert_int_equal(hj_u64(r, "duplicates"), 2);
	assert_offline(html);
	assert_has(html, "<div class=\"verdict fail\" id=\"verdict\">FAIL: 6 of ");
	assert_has(html, " MSIs lost on gsi 0, gsi 1, gsi 2 during cpr-transfer #1; 2 duplicates on gsi 1, gsi 3; worst gap");
	assert_has(html, "<div class=\"c bad\"><span>lost</span> <b data-k=\"lost\">6</b></div>");
	assert_has(html, "<h3 id=\"lost\">Lost MSIs: 6</h3>");
	assert_has(html, "<h3 id=\"dups\">Duplicate MSIs: 2</h3>");
	assert_int_equal(count(html, "<tr class=\"ev\">"), 8);
	/* each lost MSI: its row and every line of its chain */
	assert_int_equal(hj_len(lost), 6);
	for (size_t i = 0; i < hj_len(lost); i++) {
		struct json_object *c = hj_at(lost, i), *lines = hj(c, "chain");
		char row[64];

		snprintf(row, sizeof(row), "<td>gsi %llu</td>", (unsigned long long)hj_u64(c, "gsi"));
		assert_has(html, row);
		assert_true(hj_len(lines) > 0);
		for (size_t k = 0; k < hj_len(lines); k++) {
			char *e = escaped(json_object_get_string(hj_at(lines, k)));
			assert_has(html, e);
			free(e);
		}
	}
	/* marks: every lost MSI in the full strip and in the zoom */
	assert_int_equal(count(html, "<path class=\"lost\""), 12);
	assert_int_equal(count(html, "<path class=\"dup\""), 2); /* after the zoomed cycle */
	assert_has(html, "<td>R2</td>");
	assert_has(html, "<td class=\"bad\">BROKEN</td>");
	assert_has(html, "Scenario unit-faulty, cpr-transfer, fault new-eventfd.");
	free(html);
	json_object_put(r);
}

/* Past the first ten, lost MSIs fold away (<details>: no script needed). */
static void test_many_lost(void **state)
{
	struct json_object *r = make("many.cprv", 2, -1);
	char *html = render(r, NULL);

	assert_int_equal(hj_u64(r, "lost"), 33);
	assert_has(html, "<h3 id=\"lost\">Lost MSIs: 33</h3>");
	assert_has(html, "<details><summary>the other 23</summary>");
	assert_int_equal(count(html, "<tr class=\"ev\">"), 33 + 2);
	assert_int_equal(count(html, "<th>chain of evidence"), 3);
	free(html);
	json_object_put(r);
}

/* Any string from the trace or the report can hold markup: none gets out. */
static void test_escaping(void **state)
{
	struct json_object *r = make("esc.cprv", 1, -1), *scn = json_object_new_object();
	struct json_object *c0 = hj_at(hj(r, "lost_events"), 0), *lines = hj(c0, "chain");
	char *html;

	json_object_object_add(scn, "name", json_object_new_string("<script>alert(1)</script>"));
	json_object_object_add(scn, "mode", json_object_new_string("x\" onload=\"y"));
	json_object_object_add(r, "scenario", scn);
	json_object_array_add(lines, json_object_new_string("a<b>&c \xff\x01 '"));
	html = render(r, NULL);
	assert_offline(html);
	assert_has(html, "&lt;script&gt;alert(1)&lt;/script&gt;");
	assert_has(html, "x&quot; onload=&quot;y");
	assert_has(html, "a&lt;b&gt;&amp;c \xef\xbf\xbd\xef\xbf\xbd &#39;");
	assert_int_equal(count(html, "\xff"), 0);
	free(html);
	json_object_put(r);
}

/* The injection stage blind: no verdict, and the page says so first. */
static void test_partial_banner(void **state)
{
	struct json_object *r = make("blind.cprv", 0, CPRV_HOOK_KVM_MSI_SET_IRQ);
	char *html = render(r, NULL);

	assert_string_equal(json_object_get_string(hj(r, "verdict")), "unjudged");
	assert_has(html, "<div class=\"verdict unjudged\" id=\"verdict\">COULD NOT JUDGE: injection stage not visible");
	assert_has(html, "<div class=\"banner strong partial\"><b>Could not judge");
	assert_has(html, "<li>injection stage not visible");
	assert_true(strstr(html, "banner strong") < strstr(html, "id=\"counts\""));
	free(html);
	json_object_put(r);

	/* a clean run with caveats is partial too, but judged */
	r = make("clean2.cprv", 0, -1);
	html = render(r, NULL);
	if (hj_len(hj(r, "caveats")))
		assert_has(html, "<div class=\"banner partial\"><b>Partial verdict");
	free(html);
	json_object_put(r);
}

static void test_no_trace(void **state)
{
	struct json_object *r = make("nt.cprv", 1, -1);
	char *html = render(r, ""), *html2;

	assert_has(html, "timeline not drawn: no trace file given");
	assert_has(html, "FAIL: 6 of ");
	assert_int_equal(count(html, "class=\"tl\""), 0);
	html2 = render(r, tpath("does-not-exist.cprv"));
	assert_has(html2, "timeline not drawn: ");
	free(html);
	free(html2);
	json_object_put(r);
}

static size_t named(struct json_object *evs, const char *name, const char *ph)
{
	size_t n = 0;

	for (size_t i = 0; i < hj_len(evs); i++)
		n += !strcmp(hj_str(hj_at(evs, i), "name"), name) &&
		     !strcmp(hj_str(hj_at(evs, i), "ph"), ph);
	return n;
}

static struct json_object *step(uint64_t ts)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "ts_ns", json_object_new_uint64(ts));
	json_object_object_add(o, "source", json_object_new_string("qmp"));
	return o;
}

/* QEMU's CPR steps, as a QEMU run reports them ("qemu" "cycles" "phases",
 * lib/report_drive.c), shade and label the zoom and go to the export. */
static void test_phases(void **state)
{
	struct json_object *r = make("ph.cprv", 0, -1), *q = json_object_new_object();
	struct json_object *cy = hj_at(hj(hj(r, "cpr"), "cycles"), 0), *ph = json_object_new_object();
	struct json_object *qc = json_object_new_array(), *c0 = json_object_new_object(), *back;
	uint64_t start = hj_u64(cy, "start_ns"), end = hj_u64(cy, "end_ns");
	char *html, *buf = NULL, err[256];
	size_t len = 0;
	FILE *f;

	json_object_object_add(ph, "setup", step(start - 2 * EVSEQ_MS));
	json_object_object_add(ph, "old_vm_stopped", step(start + 10 * EVSEQ_US));
	json_object_object_add(ph, "running", step(end + 50 * EVSEQ_US));
	json_object_object_add(ph, "fds_found", NULL); /* not seen */
	json_object_object_add(c0, "phases", ph);
	json_object_array_add(qc, c0);
	json_object_object_add(q, "cycles", qc);
	json_object_object_add(r, "qemu", q);
	html = render(r, NULL);
	assert_int_equal(count(html, "<rect class=\"ph-setup\""), 2);
	assert_int_equal(count(html, "<rect class=\"ph-pause\""), 2);
	assert_has(html, ">old_vm_stopped</text>");
	assert_has(html, ">running</text>");
	assert_int_equal(count(html, ">fds_found</text>"), 0);
	assert_has(html, "setup \xe2\x88\x92" "2.0 ms, old_vm_stopped +10.0 \xc2\xb5s");
	free(html);
	f = open_memstream(&buf, &len);
	assert_int_equal(cprv_export_chrome(f, tpath("ph.cprv"), r, NULL, err, sizeof(err)), 0);
	fclose(f);
	back = json_tokener_parse(buf);
	assert_non_null(back);
	assert_int_equal(named(hj(back, "traceEvents"), "setup", "X"), 1);
	assert_int_equal(named(hj(back, "traceEvents"), "running", "i"), 1);
	json_object_put(back);
	free(buf);
	json_object_put(r);
}

static char *render_gate(struct json_object *c, struct json_object *r)
{
	const struct cprv_html_check checks[] = {
		{ "no lost MSIs", CPRV_HTML_CHECK_FAIL, "6 lost" },
		{ "duplicates no worse than the reference", CPRV_HTML_CHECK_FAIL, "2 > 0" },
		{ "blackout within 20% of the reference", CPRV_HTML_CHECK_PASS, NULL },
		{ "every rule held", CPRV_HTML_CHECK_FAIL, "R2, R4 <broken>" },
	};
	struct cprv_html_run cand = { .report = c }, ref = { .report = r };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_int_equal(cprv_report_html_gate(f, &cand, &ref, checks, 4, NULL), 0);
	fclose(f);
	return buf;
}

static void test_gate_page(void **state)
{
	struct json_object *c = make("g-cand.cprv", 1, -1), *r = make("g-ref.cprv", 0, -1);
	char *html = render_gate(c, r);

	assert_offline(html);
	assert_has(html, "<div class=\"verdict fail\" id=\"gate-verdict\">GATE FAIL: 3 of 4 checks failed: "
			 "no lost MSIs, duplicates no worse than the reference, every rule held</div>");
	assert_has(html, "R2, R4 &lt;broken&gt;");
	assert_has(html, "<tr><th>lost</th><td class=\"n worse\">6</td><td class=\"n\">0</td></tr>");
	assert_has(html, "<tr><th>duplicates</th><td class=\"n worse\">2</td><td class=\"n\">0</td></tr>");
	assert_has(html, "<tr><th>verdict</th><td class=\"worse\">fail</td><td>pass</td></tr>");
	assert_has(html, "<tr><th>gsi 3 duplicates</th><td class=\"n worse\">1</td>");
	assert_has(html, "id=\"cand-verdict\">FAIL: 6 of ");
	assert_has(html, "id=\"ref-verdict\">PASS: 86 MSIs");
	assert_has(html, "<h3 id=\"cand-lost\">Lost MSIs: 6</h3>");
	assert_has(html, "<h3 id=\"ref-lost\">Lost MSIs: 0</h3>");
	assert_has(html, "<h2>Timeline (candidate)</h2>");
	assert_has(html, "<h2>Timeline (reference)</h2>");
	free(html);
	/* the same run on both sides: nothing highlighted */
	html = render_gate(r, r);
	assert_int_equal(count(html, "class=\"n worse\""), 0);
	assert_int_equal(count(html, "class=\"n diff\""), 0);
	free(html);
	json_object_put(c);
	json_object_put(r);
}


static void test_chrome_export(void **state)
{
	struct json_object *r = make("ex.cprv", 1, -1), *back, *evs;
	struct cprv_export_stats st;
	char *buf = NULL, err[256];
	size_t len = 0, vec_names = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_int_equal(cprv_export_chrome(f, tpath("ex.cprv"), r, &st, err, sizeof(err)), 0);
	fclose(f);
	back = json_tokener_parse(buf);
	assert_non_null(back);
	evs = hj(back, "traceEvents");
	assert_true(hj_len(evs) > 100);
	assert_int_equal(hj_len(evs), st.written);
	assert_string_equal(hj_str(back, "displayTimeUnit"), "ns");
	/* every fire is a write here; every injection an accepted MSI */
	assert_int_equal(named(evs, "fire", "i"), hj_u64(r, "fires"));
	assert_int_equal(named(evs, "inject", "i"), hj_u64(r, "injections"));
	assert_int_equal(named(evs, "LOST MSI", "i"), 6);
	assert_int_equal(named(evs, "DUPLICATE MSI", "i"), 2);
	assert_int_equal(named(evs, "cpr #1 blackout", "X"), 1);
	for (size_t i = 0; i < hj_len(evs); i++) {
		struct json_object *e = hj_at(evs, i);

		if (!strcmp(hj_str(e, "name"), "thread_name") &&
		    hj_u64(e, "pid") == CPRV_EXPORT_PID_VECTORS)
			vec_names += !strncmp(hj_str(hj(e, "args"), "name"), "gsi ", 4);
		if (!strcmp(hj_str(e, "ph"), "X")) /* fractional microseconds */
			assert_true(json_object_is_type(hj(e, "ts"), json_type_double));
	}
	assert_int_equal(vec_names, 4);
	json_object_put(back);
	free(buf);

	/* raw: no report, every event on its own thread */
	buf = NULL;
	f = open_memstream(&buf, &len);
	assert_int_equal(cprv_export_chrome(f, tpath("ex.cprv"), NULL, &st, err, sizeof(err)), 0);
	fclose(f);
	back = json_tokener_parse(buf);
	assert_non_null(back);
	assert_int_equal(hj_len(hj(back, "traceEvents")), st.written);
	assert_int_equal(named(hj(back, "traceEvents"), "fire", "i"), 0);
	json_object_put(back);
	free(buf);
	/* not a trace: an input error */
	f = fopen("/dev/null", "w");
	assert_int_equal(cprv_export_chrome(f, "/etc/hostname", NULL, &st, err, sizeof(err)), -1);
	assert_true(st.input_error);
	fclose(f);
	json_object_put(r);
}

/* Timeline memory and page size follow vectors x columns, not events. */
static size_t page_size(unsigned steady, const char *file)
{
	struct json_object *r;
	struct evseq s;
	size_t n;
	char *html;

	scn_clean(&s, steady);
	write_trace(tpath(file), &s, "size", "none", -1);
	evseq_free(&s);
	r = judge_json(tpath(file));
	html = render(r, NULL);
	n = strlen(html);
	free(html);
	json_object_put(r);
	return n;
}

static void test_size_bounded(void **state)
{
	size_t small = page_size(500, "s1.cprv"), big = page_size(20000, "s2.cprv");

	print_message("page: %zu bytes for ~6k events, %zu bytes for ~240k events\n", small, big);
	assert_true(big < 600 * 1024);
	assert_true(big < small * 2);
}

static int setup_dir(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/cprv-html-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- tools for tests/html-chromium.sh and the size/time measurement ---- */

/* The strings a page must show, as text (tags become spaces, blanks
 * collapse): the verdict line, the counts, every line of each lost and
 * duplicate MSI's chain. */
static void expect_text(FILE *f, const char *s)
{
	bool sp = false;

	for (; *s; s++) {
		if (*s == ' ' || *s == '\t' || *s == '\n') {
			sp = true;
			continue;
		}
		if (sp)
			fputc(' ', f);
		sp = false;
		fputc(*s, f);
	}
	fputc('\n', f);
}

static void expect_chains(FILE *f, struct json_object *arr)
{
	for (size_t i = 0; i < hj_len(arr); i++) {
		struct json_object *lines = hj(hj_at(arr, i), "chain");

		for (size_t k = 0; k < hj_len(lines); k++)
			expect_text(f, json_object_get_string(hj_at(lines, k)));
	}
}

static int write_expect(const char *name, struct json_object *r, const char *verdict_line)
{
	FILE *f = fopen(tpath(name), "w");
	char b[64], line[1024];

	if (!f)
		return -1;
	h_headline(line, sizeof(line), r);
	expect_text(f, verdict_line ? verdict_line : line);
	snprintf(b, sizeof(b), "MSIs fired %s", h_num(line, hj_u64(r, "fires")));
	expect_text(f, b);
	snprintf(b, sizeof(b), "lost %s", h_num(line, hj_u64(r, "lost")));
	expect_text(f, b);
	snprintf(b, sizeof(b), "duplicates %s", h_num(line, hj_u64(r, "duplicates")));
	expect_text(f, b);
	expect_chains(f, hj(r, "lost_events"));
	expect_chains(f, hj(r, "duplicate_events"));
	return fclose(f);
}

static int write_page(const char *name, struct json_object *r)
{
	struct cprv_html_run run = { .report = r };
	FILE *f = fopen(tpath(name), "w");
	int rc;

	if (!f)
		return -1;
	rc = cprv_report_html(f, &run, NULL);
	return fclose(f) || rc;
}

static int write_pages(void)
{
	struct json_object *c = make("clean.cprv", 0, -1), *x = make("faulty.cprv", 1, -1);
	struct json_object *p = make("partial.cprv", 0, CPRV_HOOK_KVM_MSI_SET_IRQ);
	char *gate = render_gate(x, c);
	FILE *f = fopen(tpath("gate.html"), "w");
	int rc = !f || fputs(gate, f) == EOF || fclose(f);

	rc |= write_page("clean.html", c) | write_expect("clean.expect", c, NULL);
	rc |= write_page("faulty.html", x) | write_expect("faulty.expect", x, NULL);
	rc |= write_page("partial.html", p) | write_expect("partial.expect", p, NULL);
	rc |= write_expect("gate.expect", x,
			   "GATE FAIL: 3 of 4 checks failed: no lost MSIs, duplicates no worse than "
			   "the reference, every rule held");
	free(gate);
	json_object_put(c);
	json_object_put(x);
	json_object_put(p);
	return rc ? 1 : 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long fsize(const char *path)
{
	struct stat st;

	return stat(path, &st) ? -1 : (long)st.st_size;
}

/* N events: 4 vectors under steady load, 10 cpr-transfers spread over it. */
static int big(unsigned long n)
{
	struct evseq_cpr p = { .nvec = 4, .steady = (unsigned)(n / 12 / 11), .blackout = { 30, 20, 10, 5 } };
	struct cprv_export_stats st;
	struct json_object *r;
	struct evseq s;
	double t0, t1, t2, t3;
	char err[256];
	FILE *f;

	evseq_init(&s);
	evseq_cpr_start(&s, &p);
	for (int i = 0; i < 10; i++)
		evseq_cpr_cycle(&s, &p);
	evseq_stop(&s, 500 * EVSEQ_MS);
	write_trace(tpath("big.cprv"), &s, "big", "none", -1);
	printf("trace: %zu events, %ld bytes\n", s.n, fsize(tpath("big.cprv")));
	evseq_free(&s);
	t0 = now_s();
	r = judge_json(tpath("big.cprv"));
	t1 = now_s();
	if (write_page("big.html", r))
		return 1;
	t2 = now_s();
	f = fopen(tpath("big.json"), "w");
	if (!f || cprv_export_chrome(f, tpath("big.cprv"), r, &st, err, sizeof(err)) || fclose(f))
		return 1;
	t3 = now_s();
	printf("judge: %.2f s; html: %ld bytes in %.2f s (timeline re-read included); "
	       "chrome trace: %ld bytes, %llu records in %.2f s\n", t1 - t0,
	       fsize(tpath("big.html")), t2 - t1, fsize(tpath("big.json")),
	       (unsigned long long)st.written, t3 - t2);
	json_object_put(r);
	return 0;
}

static int tools_main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--write")) {
		snprintf(dir, sizeof(dir), "%s", argv[2]);
		return write_pages();
	}
	if (argc == 4 && !strcmp(argv[1], "--big")) {
		snprintf(dir, sizeof(dir), "%s", argv[3]);
		return big(strtoul(argv[2], NULL, 10));
	}
	fprintf(stderr, "usage: %s [--write DIR | --big N DIR]\n", argv[0]);
	return 3;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean_page),
		cmocka_unit_test(test_faulty_page),
		cmocka_unit_test(test_many_lost),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_partial_banner),
		cmocka_unit_test(test_no_trace),
		cmocka_unit_test(test_phases),
		cmocka_unit_test(test_gate_page),
		cmocka_unit_test(test_chrome_export),
		cmocka_unit_test(test_size_bounded),
		cmocka_unit_test(test_reused_trigger_address_is_off_path),
	};

	if (argc > 1)
		return tools_main(argc, argv);
	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}

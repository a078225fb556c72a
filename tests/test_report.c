// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Reports: the JSON is parsed back with json-c; the text is read as text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "evseq.h"
#include "report.h"

struct run {
	struct evseq s;
	struct evseq_cpr p;
	struct cprv_analysis *a;
	struct cprv_verdict v;
};

static void run(struct run *r, int new_eventfds, unsigned steady,
		const struct cprv_gt_expect *gt)
{
	struct cprv_analysis_opts o = { 0 };

	memset(r, 0, sizeof(*r));
	r->p = (struct evseq_cpr){ .nvec = 4, .steady = steady, .blackout = { 3, 2, 1, 0 },
				   .new_eventfds = new_eventfds };
	evseq_vis_all(&o.vis);
	evseq_init(&r->s);
	evseq_cpr_start(&r->s, &r->p);
	evseq_cpr_cycle(&r->s, &r->p);
	evseq_stop(&r->s, 500 * EVSEQ_MS);
	r->a = evseq_analyse(&r->s, &o);
	assert_non_null(r->a);
	assert_int_equal(cprv_verdict_judge(&r->v, r->a, gt), 0);
}

/* KVM's assign replay racing a new write (see evseq_assign_replay). */
static void run_race(struct run *r)
{
	struct cprv_analysis_opts o = { 0 };

	memset(r, 0, sizeof(*r));
	evseq_vis_all(&o.vis);
	evseq_init(&r->s);
	evseq_assign_replay(&r->s, 2, 1);
	evseq_stop(&r->s, 500 * EVSEQ_MS);
	r->a = evseq_analyse(&r->s, &o);
	assert_non_null(r->a);
	assert_int_equal(cprv_verdict_judge(&r->v, r->a, NULL), 0);
}

static void done(struct run *r)
{
	cprv_verdict_free(&r->v);
	cprv_analysis_free(r->a);
	evseq_free(&r->s);
}

/* Print the report, parse it back: what a consumer of the file sees. */
static struct json_object *roundtrip(struct run *r, const struct cprv_report_opts *o,
				     const char *extra_key)
{
	struct json_object *root = cprv_report_json(r->a, &r->v, o);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(root);
	if (extra_key)
		json_object_object_add(root, extra_key, json_object_new_string("from the caller"));
	assert_non_null(f);
	assert_int_equal(cprv_report_json_write(f, root, true), 0);
	fclose(f);
	json_object_put(root);
	struct json_object *back = json_tokener_parse(buf);
	free(buf);
	assert_non_null(back);
	return back;
}

static struct json_object *get(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v))
		fail_msg("JSON key '%s' missing", key);
	return v;
}

static uint64_t num(struct json_object *o, const char *key)
{
	return json_object_get_uint64(get(o, key));
}

static const char *str(struct json_object *o, const char *key)
{
	return json_object_get_string(get(o, key));
}

static void test_json_pass(void **state)
{
	struct run r;
	char hex[32];

	run(&r, 0, 10, NULL);
	struct json_object *j = roundtrip(&r, NULL, "plan");

	assert_string_equal(str(j, "verdict"), "pass");
	assert_string_equal(str(j, "plan"), "from the caller");
	assert_int_equal(json_object_array_length(get(j, "reasons")), 0);
	assert_true(json_object_is_type(get(j, "caveats"), json_type_array));
	assert_int_equal(num(j, "fires"), 86);
	assert_int_equal(num(j, "injections"), 83);
	assert_int_equal(num(j, "coalesced"), 3);
	assert_int_equal(num(j, "lost"), 0);
	assert_int_equal(num(j, "duplicates"), 0);
	assert_int_equal(num(j, "attempts"), 0);
	assert_int_equal(num(j, "unattributed"), 0);
	assert_int_equal(num(j, "in_flight"), 0);
	assert_false(json_object_object_get_ex(j, "ground_truth", NULL));

	struct json_object *vecs = get(j, "vectors");
	assert_int_equal(json_object_array_length(vecs), 4);
	struct json_object *v0 = json_object_array_get_idx(vecs, 0);
	assert_int_equal(num(v0, "gsi"), 0);
	snprintf(hex, sizeof(hex), "0x%llx", (unsigned long long)evseq_ctx_addr(0, 0));
	assert_int_equal(json_object_array_length(get(v0, "ctxs")), 1);
	assert_string_equal(json_object_get_string(json_object_array_get_idx(get(v0, "ctxs"), 0)), hex);
	assert_int_equal(num(v0, "address"), EVSEQ_MSI_ADDR);
	assert_int_equal(num(v0, "data"), 0x20);
	assert_int_equal(num(v0, "fires"), 23);
	assert_int_equal(num(v0, "injections"), 21);
	assert_int_equal(num(v0, "coalesced"), 2);
	assert_int_equal(num(v0, "lost"), 0);
	assert_int_equal(num(v0, "duplicates"), 0);
	assert_true(num(v0, "max_delay_ns") > 2 * EVSEQ_MS);
	assert_true(num(v0, "max_gap_ns") >= num(v0, "max_delay_ns"));
	struct json_object *hist = get(v0, "delay_hist_log2");
	assert_int_equal(json_object_array_length(hist), 64);
	uint64_t sum = 0;
	for (size_t i = 0; i < 64; i++)
		sum += json_object_get_uint64(json_object_array_get_idx(hist, i));
	assert_int_equal(sum, 23);

	struct json_object *cpr = get(j, "cpr");
	struct json_object *cycles = get(cpr, "cycles");
	assert_int_equal(json_object_array_length(cycles), 1);
	struct json_object *c0 = json_object_array_get_idx(cycles, 0);
	assert_int_equal(num(c0, "start_ns"), r.p.detach_ts);
	assert_int_equal(num(c0, "end_ns"), r.p.attach_ts);
	assert_int_equal(num(c0, "blackout_ns"), r.p.attach_ts - r.p.detach_ts);
	assert_int_equal(num(c0, "blackout_fires"), 6);
	snprintf(hex, sizeof(hex), "0x%llx", (unsigned long long)evseq_kvm_addr(0));
	assert_string_equal(str(c0, "old_vm"), hex);
	snprintf(hex, sizeof(hex), "0x%llx", (unsigned long long)evseq_kvm_addr(1));
	assert_string_equal(str(c0, "new_vm"), hex);
	assert_int_equal(num(cpr, "blackout_ns"), r.p.attach_ts - r.p.detach_ts);
	assert_int_equal(json_object_array_length(get(j, "lost_events")), 0);
	assert_int_equal(num(j, "lost_events_total"), 0);
	assert_int_equal(json_object_array_length(get(j, "duplicate_events")), 0);
	assert_int_equal(num(j, "replay_races"), 0);
	assert_int_equal(num(v0, "replay_races"), 0);
	assert_int_equal(json_object_array_length(get(j, "replay_race_events")), 0);
	json_object_put(j);
	done(&r);
}

static void test_json_lost_capped_with_truth(void **state)
{
	struct run r;
	struct cprv_report_opts o = { .max_chains = 2 };
	struct cprv_gt_expect gt = { .fires = 86, .lost = 5 };
	char hex[32];

	run(&r, 1, 10, &gt);
	struct json_object *j = roundtrip(&r, &o, NULL);

	assert_string_equal(str(j, "verdict"), "fail");
	assert_int_equal(num(j, "lost"), 6);
	assert_int_equal(num(j, "lost_events_total"), 6);
	struct json_object *lost = get(j, "lost_events");
	assert_int_equal(json_object_array_length(lost), 2);
	struct json_object *e = json_object_array_get_idx(lost, 0);
	assert_int_equal(num(e, "pid"), 200);
	assert_int_equal(num(e, "gsi"), 0);
	assert_true(num(e, "ts") >= r.p.detach_ts);
	snprintf(hex, sizeof(hex), "0x%llx", (unsigned long long)evseq_ctx_addr(0, 0));
	assert_string_equal(str(e, "ctx"), hex);
	struct json_object *chain = get(e, "chain");
	assert_true(json_object_array_length(chain) >= 3);
	assert_non_null(strstr(json_object_get_string(json_object_array_get_idx(chain, 0)), "fire:"));

	struct json_object *g = get(j, "ground_truth");
	assert_false(json_object_get_boolean(get(g, "match")));
	struct json_object *figs = get(g, "figures");
	struct json_object *fl = get(figs, "lost");
	assert_int_equal(num(fl, "expected"), 5);
	assert_int_equal(num(fl, "reported"), 6);
	assert_false(json_object_get_boolean(get(fl, "match")));
	assert_true(json_object_get_boolean(get(get(figs, "fires"), "match")));
	struct json_object *reasons = get(j, "reasons");
	int found = 0;
	for (size_t i = 0; i < json_object_array_length(reasons); i++)
		found |= !strcmp(json_object_get_string(json_object_array_get_idx(reasons, i)),
				 "disagrees with ground truth");
	assert_true(found);
	json_object_put(j);
	done(&r);
}

static char *text(struct run *r, const struct cprv_report_opts *o)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(cprv_report_text(f, r->a, &r->v, o), 0);
	fclose(f);
	return buf;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void test_text_pass(void **state)
{
	struct run r;
	char want[128];

	run(&r, 0, 300, NULL);
	char *t = text(&r, NULL);
	snprintf(want, sizeof(want),
		 "PASS: 2,406 MSIs on 4 vectors, 0 lost, 0 duplicates, 3 coalesced; blackout %.1f ms\n",
		 (double)(r.p.attach_ts - r.p.detach_ts) / 1e6);
	assert_true(!strncmp(t, want, strlen(want)));
	assert_non_null(strstr(t, "cpr #1: VM 0xffffc90000a00000 -> VM 0xffffc90000b00000"));
	assert_non_null(strstr(t, "0xffff888001000300"));
	assert_non_null(strstr(t, "caveats:"));
	free(t);
	done(&r);
}

static void test_text_fail_chains(void **state)
{
	struct run r;

	run(&r, 1, 10, NULL);
	char *t = text(&r, NULL);
	assert_true(!strncmp(t, "FAIL: 6 of 86 MSIs lost on 3 of 4 vectors during cpr #1, 0 duplicates",
			     strlen("FAIL: 6 of 86 MSIs lost on 3 of 4 vectors during cpr #1, 0 duplicates")));
	assert_non_null(strstr(t, "lost (6, showing 5):"));
	assert_int_equal(count(t, "ctx never re-attached"), 5);
	assert_non_null(strstr(t, "(new eventfd)"));
	free(t);

	struct cprv_report_opts verbose = { .verbose = true };
	t = text(&r, &verbose);
	assert_non_null(strstr(t, "lost (6, showing 6):"));
	assert_int_equal(count(t, "ctx never re-attached"), 6);
	free(t);
	done(&r);
}

static void test_json_replay_race(void **state)
{
	struct run r;
	char hex[32];

	run_race(&r);
	struct json_object *j = roundtrip(&r, NULL, NULL);

	assert_string_equal(str(j, "verdict"), "pass");
	assert_int_equal(num(j, "duplicates"), 0);
	assert_int_equal(num(j, "replay_races"), 1);
	assert_int_equal(num(j, "replay_race_events_total"), 1);
	struct json_object *v0 = json_object_array_get_idx(get(j, "vectors"), 0);
	assert_int_equal(num(v0, "replay_races"), 1);
	assert_int_equal(num(v0, "duplicates"), 0);
	struct json_object *ev = get(j, "replay_race_events");
	assert_int_equal(json_object_array_length(ev), 1);
	struct json_object *e = json_object_array_get_idx(ev, 0);
	snprintf(hex, sizeof(hex), "0x%llx", (unsigned long long)evseq_ctx_addr(0, 0));
	assert_string_equal(str(e, "ctx"), hex);
	assert_int_equal(num(e, "gsi"), 0);
	assert_int_equal(num(e, "pid"), 2);
	struct json_object *chain = get(e, "chain");
	assert_true(json_object_array_length(chain) >= 4);
	assert_non_null(strstr(json_object_get_string(json_object_array_get_idx(chain, 0)),
			       "KVM_IRQFD assign"));
	json_object_put(j);
	done(&r);
}

static void test_text_replay_race(void **state)
{
	struct run r;

	run_race(&r);
	char *t = text(&r, NULL);
	assert_true(!strncmp(t, "PASS: 4 MSIs on 1 vectors, 0 lost, 0 duplicates", 47));
	assert_non_null(strstr(t, "  1 replay races: KVM's irqfd-assign replay re-injected"));
	assert_non_null(strstr(t, "replay races (KVM's assign replay after a new signal) (1, showing 1):"));
	assert_non_null(strstr(t, "spurious re-injections by KVM's irqfd-assign replay"));
	assert_null(strstr(t, "\nduplicates ("));
	free(t);
	done(&r);

	run(&r, 0, 10, NULL);
	t = text(&r, NULL);
	assert_null(strstr(t, "replay race"));
	free(t);
	done(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_pass),
		cmocka_unit_test(test_json_lost_capped_with_truth),
		cmocka_unit_test(test_text_pass),
		cmocka_unit_test(test_text_fail_chains),
		cmocka_unit_test(test_json_replay_race),
		cmocka_unit_test(test_text_replay_race),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

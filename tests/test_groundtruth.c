/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Ground truth: tally, write/read round trip, malformed files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "groundtruth.h"

#define T0 1000000000ull

/*
 * A small run of the fault new-eventfd: 3 vectors, 4 fires before, 5 in the
 * blackout (lost), 3 after on new triggers (generation 1).
 */
static void make_gt(struct cprv_ground_truth *gt)
{
	static const uint32_t phases[] = { 1, 1, 1, 1, 2, 2, 2, 2, 2, 3, 3, 3 };
	size_t n = sizeof(phases) / sizeof(phases[0]);

	memset(gt, 0, sizeof(*gt));
	snprintf(gt->mode, sizeof(gt->mode), "transfer");
	snprintf(gt->fault, sizeof(gt->fault), "new-eventfd");
	gt->nvectors = 3;
	gt->cycles = 1;
	gt->vec = calloc(3, sizeof(*gt->vec));
	for (uint32_t v = 0; v < 3; v++)
		gt->vec[v] = (struct cprv_gt_vector){ .vector = v, .gsi = v,
						      .address = 0xfee00000ull, .data = 0x40 + v };
	gt->phases = calloc(3, sizeof(*gt->phases));
	gt->phases[0] = (struct cprv_gt_phase){ 1, CPRV_GT_EV_DETACH, T0 + 3500 };
	gt->phases[1] = (struct cprv_gt_phase){ 1, CPRV_GT_EV_ATTACH, T0 + 6000 };
	gt->phases[2] = (struct cprv_gt_phase){ 1, CPRV_GT_EV_SWITCH, T0 + 8500 };
	gt->nphases = 3;
	gt->log = calloc(n, sizeof(*gt->log));
	for (size_t i = 0; i < n; i++)
		gt->log[i] = (struct cprv_gt_fire){
			.ts = T0 + 1000 * i, .vector = (uint32_t)(i % 3), .phase = phases[i],
			.generation = phases[i] == 3, .lost = phases[i] == 2,
		};
	gt->nlog = n;
	cprv_gt_tally(gt);
}

static void test_tally(void **state)
{
	struct cprv_ground_truth gt;

	make_gt(&gt);
	assert_int_equal(gt.total, 12);
	assert_int_equal(gt.before, 4);
	assert_int_equal(gt.blackout, 5);
	assert_int_equal(gt.after, 3);
	assert_int_equal(gt.lost, 5);
	/* vector = i % 3: blackout fires are i = 4..8 -> vectors 1,2,0,1,2 */
	assert_int_equal(gt.vec[0].fires, 4);
	assert_int_equal(gt.vec[1].fires, 4);
	assert_int_equal(gt.vec[2].fires, 4);
	assert_int_equal(gt.vec[0].lost, 1);
	assert_int_equal(gt.vec[1].lost, 2);
	assert_int_equal(gt.vec[2].lost, 2);
	cprv_gt_free(&gt);
}

/* Field by field: the structs have padding that calloc and assignment may not agree on. */
static void assert_logs_equal(const struct cprv_gt_fire *a, const struct cprv_gt_fire *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(a[i].ts, b[i].ts);
		assert_int_equal(a[i].vector, b[i].vector);
		assert_int_equal(a[i].phase, b[i].phase);
		assert_int_equal(a[i].generation, b[i].generation);
		assert_int_equal(a[i].lost, b[i].lost);
		assert_int_equal(a[i].held, b[i].held);
	}
}

static char *tmpfile_path(void)
{
	char *p = strdup("/tmp/cprv-test-gt.XXXXXX");
	int fd = mkstemp(p);

	assert_true(fd >= 0);
	close(fd);
	return p;
}

static void test_round_trip(void **state)
{
	struct cprv_ground_truth gt, back;
	char *path = tmpfile_path(), err[512];

	make_gt(&gt);
	/* v2 fields */
	gt.vec[1].duplicates = 2;
	gt.vec[2].lost_unobservable = 7;
	gt.vec[0].serviced = 9;
	gt.rules_broken = CPRV_GT_RULE(1) | CPRV_GT_RULE(6);
	gt.min_gap_ms = 300;
	gt.service_period_us = 1000;
	gt.cycle_info = calloc(1, sizeof(*gt.cycle_info));
	gt.cycle_info[0] = (struct cprv_gt_cycle){ .cycle = 1, .failed = 1 };
	gt.ncycle_info = 1;
	cprv_gt_tally(&gt);
	assert_int_equal(gt.duplicates, 2);
	assert_int_equal(gt.lost_unobservable, 7);
	assert_int_equal(cprv_gt_write(path, &gt, err, sizeof(err)), 0);

	assert_int_equal(cprv_gt_load_ex(path, CPRV_GT_LOAD_FIRE_LOG, &back, err, sizeof(err)), 0);
	assert_string_equal(back.mode, "transfer");
	assert_string_equal(back.fault, "new-eventfd");
	assert_int_equal(back.nvectors, 3);
	assert_int_equal(back.cycles, 1);
	assert_int_equal(back.total, 12);
	assert_int_equal(back.before, 4);
	assert_int_equal(back.blackout, 5);
	assert_int_equal(back.after, 3);
	assert_int_equal(back.lost, 5);
	assert_int_equal(back.duplicates, 2);
	assert_int_equal(back.version, CPRV_GT_VERSION);
	assert_int_equal(back.lost_unobservable, 7);
	assert_int_equal(back.vec[1].duplicates, 2);
	assert_int_equal(back.vec[2].lost_unobservable, 7);
	assert_int_equal(back.vec[0].serviced, 9);
	assert_int_equal(back.rules_broken, CPRV_GT_RULE(1) | CPRV_GT_RULE(6));
	assert_int_equal(back.min_gap_ms, 300);
	assert_int_equal(back.service_period_us, 1000);
	assert_int_equal(back.ncycle_info, 1);
	assert_int_equal(back.cycle_info[0].failed, 1);
	for (uint32_t v = 0; v < 3; v++) {
		assert_int_equal(back.vec[v].vector, v);
		assert_int_equal(back.vec[v].gsi, v);
		assert_int_equal(back.vec[v].address, 0xfee00000ull);
		assert_int_equal(back.vec[v].data, 0x40 + v);
		assert_int_equal(back.vec[v].fires, gt.vec[v].fires);
		assert_int_equal(back.vec[v].lost, gt.vec[v].lost);
	}
	assert_int_equal(back.nphases, 3);
	assert_int_equal(cprv_gt_phase_find(&back, 1, "attach")->ts, T0 + 6000);
	assert_int_equal(cprv_gt_phase_find(&back, 1, "switch")->ts, T0 + 8500);
	assert_null(cprv_gt_phase_find(&back, 2, "attach"));
	assert_int_equal(back.nlog, 12);
	assert_logs_equal(back.log, gt.log, 12);
	cprv_gt_free(&back);

	/* Without the flag the log is checked but not kept. */
	assert_int_equal(cprv_gt_load(path, &back, err, sizeof(err)), 0);
	assert_null(back.log);
	assert_int_equal(back.nlog, 0);
	assert_int_equal(back.vec[1].lost, 2);
	cprv_gt_free(&back);

	cprv_gt_free(&gt);
	unlink(path);
	free(path);
}

/* Serialize a good file, let mutate() break it, parse the result. */
static void expect_error(void (*mutate)(struct json_object *), const char *want)
{
	struct cprv_ground_truth gt, back;
	char *path = tmpfile_path(), err[512] = "";
	struct json_object *root;

	make_gt(&gt);
	assert_int_equal(cprv_gt_write(path, &gt, err, sizeof(err)), 0);
	root = json_object_from_file(path);
	assert_non_null(root);
	mutate(root);
	assert_int_equal(cprv_gt_parse(json_object_to_json_string(root), "gt.json", 0, &back,
				       err, sizeof(err)), -1);
	if (strcmp(err, want) != 0)
		fail_msg("got  %s\nwant %s", err, want);
	/* A failed load leaves nothing to free. */
	assert_null(back.vec);
	json_object_put(root);
	cprv_gt_free(&gt);
	unlink(path);
	free(path);
}

static struct json_object *at(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	json_object_object_get_ex(o, key, &v);
	return v;
}

static void m_format(struct json_object *r) { json_object_object_add(r, "format", json_object_new_string("cprv-trace")); }
static void m_version(struct json_object *r) { json_object_object_add(r, "version", json_object_new_int(4)); }
static void m_rule(struct json_object *r)
{
	json_object_array_add(at(at(r, "expected"), "rules_broken"), json_object_new_string("R7"));
}
static void m_dup_sum(struct json_object *r)
{
	json_object_object_add(at(r, "expected"), "duplicates", json_object_new_int(1));
}
static void m_no_guest(struct json_object *r) { json_object_object_del(r, "guest"); }
static void m_cycle_info(struct json_object *r) { json_object_array_del_idx(at(r, "cycle_info"), 0, 1); }
static void m_failed_int(struct json_object *r)
{
	json_object_object_add(json_object_array_get_idx(at(r, "cycle_info"), 0), "failed",
			       json_object_new_int(1));
}
static void m_no_mode(struct json_object *r) { json_object_object_del(r, "mode"); }
static void m_vectors_str(struct json_object *r) { json_object_object_add(r, "vectors", json_object_new_string("3")); }
static void m_vinfo_short(struct json_object *r) { json_object_array_del_idx(at(r, "vector_info"), 2, 1); }
static void m_total(struct json_object *r) { json_object_object_add(at(r, "fires"), "total", json_object_new_int(13)); }
static void m_by_phase(struct json_object *r)
{
	json_object_object_add(at(at(r, "fires"), "by_phase"), "after", json_object_new_int(4));
}
static void m_negative(struct json_object *r)
{
	json_object_array_put_idx(at(at(r, "fires"), "per_vector"), 0, json_object_new_int(-4));
}
static void m_lost_sum(struct json_object *r)
{
	json_object_object_add(at(r, "expected"), "lost", json_object_new_int(4));
}
static void m_log_vector(struct json_object *r)
{
	json_object_array_put_idx(json_object_array_get_idx(at(r, "fire_log"), 0), 1,
				  json_object_new_int(7));
}
static void m_log_disagree(struct json_object *r)
{
	/* Move fire 0 from vector 0 to vector 1: counts stay consistent overall. */
	json_object_array_put_idx(json_object_array_get_idx(at(r, "fire_log"), 0), 1,
				  json_object_new_int(1));
}
static void m_log_short(struct json_object *r) { json_object_array_del_idx(at(r, "fire_log"), 11, 1); }
static void m_log_entry(struct json_object *r)
{
	json_object_array_put_idx(at(r, "fire_log"), 3, json_object_new_string("x"));
}
static void m_phase_name(struct json_object *r)
{
	json_object_object_add(json_object_array_get_idx(at(r, "phases"), 1), "name",
			       json_object_new_int(1));
}

/* v3 */
static void m_log_5col(struct json_object *r)
{
	json_object_array_del_idx(json_object_array_get_idx(at(r, "fire_log"), 0), 5, 1);
}
static void m_log_held(struct json_object *r)
{
	json_object_array_put_idx(json_object_array_get_idx(at(r, "fire_log"), 0), 5,
				  json_object_new_int(1));
}
static void m_no_msi(struct json_object *r) { json_object_object_del(r, "msi"); }
static void m_msi_bad(struct json_object *r) { json_object_object_add(r, "msi", json_object_new_string("msi-x")); }
static void m_held_sum(struct json_object *r)
{
	json_object_object_add(at(r, "expected"), "held", json_object_new_int(2));
}
static void m_no_masks(struct json_object *r) { json_object_object_del(r, "mask_windows"); }
static struct json_object *a_window(uint64_t mask_ts, uint64_t unmask_ts, int held)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "vector", json_object_new_int(0));
	json_object_object_add(o, "mask_ts", json_object_new_int64((int64_t)mask_ts));
	json_object_object_add(o, "unmask_ts", json_object_new_int64((int64_t)unmask_ts));
	json_object_object_add(o, "held", json_object_new_int(held));
	json_object_object_add(o, "injected", json_object_new_boolean(0));
	return o;
}
static void m_mask_held(struct json_object *r)
{
	json_object_array_add(at(r, "mask_windows"), a_window(T0, T0 + 5, 1));
}
static void m_mask_order(struct json_object *r)
{
	json_object_array_add(at(r, "mask_windows"), a_window(T0 + 5, T0, 0));
}

static void test_malformed(void **state)
{
	expect_error(m_format, "gt.json: format is 'cprv-trace', expected 'cprv-ground-truth'");
	expect_error(m_version, "gt.json: version 4 is not supported (this build reads versions 1 to 3)");
	expect_error(m_rule, "gt.json: expected.rules_broken[0] must be \"R1\" to \"R6\"");
	expect_error(m_dup_sum, "gt.json: expected.duplicates_per_vector adds up to 0, "
		     "expected.duplicates is 1");
	expect_error(m_no_guest, "gt.json: missing field 'guest'");
	expect_error(m_cycle_info, "gt.json: 'cycle_info' has 0 entries, 'cycles' is 1");
	expect_error(m_failed_int, "gt.json: field 'failed' must be true or false");
	expect_error(m_no_mode, "gt.json: missing field 'mode'");
	expect_error(m_vectors_str, "gt.json: field 'vectors' must be an integer");
	expect_error(m_vinfo_short, "gt.json: 'vector_info' has 2 entries, 'vectors' is 3");
	expect_error(m_total, "gt.json: fires.per_vector adds up to 12, fires.total is 13");
	expect_error(m_by_phase, "gt.json: fires.by_phase adds up to 13, fires.total is 12");
	expect_error(m_negative, "gt.json: per_vector[0] must be a non-negative integer");
	expect_error(m_lost_sum, "gt.json: expected.lost_per_vector adds up to 5, expected.lost is 4");
	expect_error(m_log_vector,
		     "gt.json: fire_log[0]: vector, phase, generation, lost or held out of range");
	expect_error(m_log_disagree, "gt.json: fire_log disagrees with the totals on vector 0 "
		     "(log: 3 fires 1 lost 0 held; totals: 4 fires 1 lost 0 held)");
	expect_error(m_log_short, "gt.json: fire_log has 11 entries, fires.total is 12");
	expect_error(m_log_entry, "gt.json: fire_log[3] must be [ts,vector,phase,generation,lost,held]");
	expect_error(m_log_5col, "gt.json: fire_log[0] must be [ts,vector,phase,generation,lost,held]");
	expect_error(m_log_held, "gt.json: fire_log disagrees with the totals on vector 0 "
		     "(log: 4 fires 1 lost 1 held; totals: 4 fires 1 lost 0 held)");
	expect_error(m_no_msi, "gt.json: missing field 'msi'");
	expect_error(m_msi_bad, "gt.json: field 'msi' is 'msi-x', must be msix or msi");
	expect_error(m_held_sum, "gt.json: expected.held_per_vector adds up to 0, expected.held is 2");
	expect_error(m_no_masks, "gt.json: missing field 'mask_windows'");
	expect_error(m_mask_held, "gt.json: mask_windows hold 1 fires (0 delivered), expected.held "
		     "is 0 (0 delivered)");
	expect_error(m_mask_order, "gt.json: mask_windows[0]: vector out of range or unmask "
		     "before mask");
	expect_error(m_phase_name, "gt.json: field 'name' must be a string");
}

/* Make a v3 file a v2 one: no msi, held or mask windows, 5 log columns. */
static void strip_v3(struct json_object *root)
{
	struct json_object *log = at(root, "fire_log");

	json_object_object_del(root, "msi");
	json_object_object_del(root, "mask_windows");
	json_object_object_del(at(root, "expected"), "held");
	json_object_object_del(at(root, "expected"), "held_per_vector");
	json_object_object_del(at(root, "expected"), "held_delivered");
	for (size_t i = 0; i < json_object_array_length(log); i++)
		json_object_array_del_idx(json_object_array_get_idx(log, i), 5, 1);
}

/* A version 2 file (issue 3 before MSI-X masking) still reads: msix, nothing held. */
static void test_v2_readable(void **state)
{
	struct cprv_ground_truth gt, back;
	char *path = tmpfile_path(), err[512] = "";
	struct json_object *root;

	make_gt(&gt);
	assert_int_equal(cprv_gt_write(path, &gt, err, sizeof(err)), 0);
	root = json_object_from_file(path);
	json_object_object_add(root, "version", json_object_new_int(2));
	strip_v3(root);
	assert_int_equal(cprv_gt_parse(json_object_to_json_string(root), "gt.json",
				       CPRV_GT_LOAD_FIRE_LOG, &back, err, sizeof(err)), 0);
	assert_int_equal(back.version, 2);
	assert_string_equal(back.msi, "msix");
	assert_int_equal(back.held, 0);
	assert_int_equal(back.nmasks, 0);
	assert_int_equal(back.lost, 5);
	assert_int_equal(back.nlog, 12);
	cprv_gt_free(&back);
	/* The same file as version 3 lacks the msi field. */
	json_object_object_add(root, "version", json_object_new_int(3));
	assert_int_equal(cprv_gt_parse(json_object_to_json_string(root), "gt.json", 0, &back,
				       err, sizeof(err)), -1);
	assert_string_equal(err, "gt.json: missing field 'msi'");
	json_object_put(root);
	cprv_gt_free(&gt);
	unlink(path);
	free(path);
}

/*
 * v3: a pba-dropped-like run on vector 1: of its fires, two were held in a
 * mask window that dropped its PBA bit (lost), one in a window that sent it
 * by hand (delivered).
 */
static void test_held(void **state)
{
	struct cprv_ground_truth gt, back;
	char *path = tmpfile_path(), err[512] = "";

	make_gt(&gt);
	snprintf(gt.msi, sizeof(gt.msi), "msix");
	/* vector 1's fires are i = 1, 4, 7, 10 */
	gt.log[1].held = 1;
	gt.log[4].held = 1;
	gt.log[4].lost = 1; /* also a blackout fire: already lost */
	gt.log[10].held = 1;
	gt.log[10].lost = 1;
	gt.masks = calloc(2, sizeof(*gt.masks));
	gt.masks[0] = (struct cprv_gt_mask){ .vector = 1, .mask_ts = T0 + 500,
					     .unmask_ts = T0 + 1500, .held = 1, .injected = 1 };
	gt.masks[1] = (struct cprv_gt_mask){ .vector = 1, .mask_ts = T0 + 3900,
					     .unmask_ts = T0 + 11000, .held = 2, .injected = 0 };
	gt.nmasks = 2;
	cprv_gt_tally(&gt);
	assert_int_equal(gt.held, 3);
	assert_int_equal(gt.vec[1].held, 3);
	assert_int_equal(gt.vec[0].held, 0);
	assert_int_equal(gt.held_delivered, 1);
	assert_int_equal(gt.lost, 6);
	assert_int_equal(cprv_gt_write(path, &gt, err, sizeof(err)), 0);
	assert_int_equal(cprv_gt_load_ex(path, CPRV_GT_LOAD_FIRE_LOG, &back, err, sizeof(err)), 0);
	assert_string_equal(back.msi, "msix");
	assert_int_equal(back.held, 3);
	assert_int_equal(back.held_delivered, 1);
	assert_int_equal(back.vec[1].held, 3);
	assert_int_equal(back.nmasks, 2);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(back.masks[i].vector, gt.masks[i].vector);
		assert_int_equal(back.masks[i].mask_ts, gt.masks[i].mask_ts);
		assert_int_equal(back.masks[i].unmask_ts, gt.masks[i].unmask_ts);
		assert_int_equal(back.masks[i].held, gt.masks[i].held);
		assert_int_equal(back.masks[i].injected, gt.masks[i].injected);
	}
	assert_logs_equal(back.log, gt.log, 12);
	cprv_gt_free(&back);
	cprv_gt_free(&gt);
	unlink(path);
	free(path);
}

/* A version 1 file (issue 2's rig) still reads: the v2 fields are zero. */
static void test_v1_readable(void **state)
{
	static const char *const v2_only[] = { "duplicates_per_vector", "lost_unobservable",
		"lost_unobservable_per_vector", "rules_broken", "min_gap_ms" };
	struct cprv_ground_truth gt, back;
	char *path = tmpfile_path(), err[512] = "";
	struct json_object *root;

	make_gt(&gt);
	assert_int_equal(cprv_gt_write(path, &gt, err, sizeof(err)), 0);
	root = json_object_from_file(path);
	json_object_object_add(root, "version", json_object_new_int(1));
	json_object_object_del(root, "guest");
	json_object_object_del(root, "cycle_info");
	strip_v3(root);
	for (size_t i = 0; i < sizeof(v2_only) / sizeof(v2_only[0]); i++)
		json_object_object_del(at(root, "expected"), v2_only[i]);
	assert_int_equal(cprv_gt_parse(json_object_to_json_string(root), "gt.json", 0, &back,
				       err, sizeof(err)), 0);
	assert_int_equal(back.version, 1);
	assert_int_equal(back.lost, 5);
	assert_int_equal(back.rules_broken, 0);
	assert_int_equal(back.ncycle_info, 0);
	cprv_gt_free(&back);
	/* The same file as version 2 lacks required fields. */
	json_object_object_add(root, "version", json_object_new_int(2));
	assert_int_equal(cprv_gt_parse(json_object_to_json_string(root), "gt.json", 0, &back,
				       err, sizeof(err)), -1);
	assert_string_equal(err, "gt.json: missing field 'duplicates_per_vector'");
	json_object_put(root);
	cprv_gt_free(&gt);
	unlink(path);
	free(path);
}

static void test_not_json(void **state)
{
	struct cprv_ground_truth gt;
	char *path = tmpfile_path(), err[512];
	FILE *f = fopen(path, "w");

	fputs("{\"format\": \"cprv-ground-truth\",", f);
	fclose(f);
	assert_int_equal(cprv_gt_load(path, &gt, err, sizeof(err)), -1);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "not valid JSON"));
	unlink(path);
	assert_int_equal(cprv_gt_load(path, &gt, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cannot open: No such file or directory"));
	assert_int_equal(cprv_gt_parse("[]", "gt.json", 0, &gt, err, sizeof(err)), -1);
	assert_string_equal(err, "gt.json: top level must be a JSON object");
	free(path);
}

static void test_no_log(void **state)
{
	struct cprv_ground_truth gt, back;
	char *path = tmpfile_path(), err[512];
	struct json_object *root;

	/* The log is optional: the summary alone is a valid ground truth. */
	make_gt(&gt);
	assert_int_equal(cprv_gt_write(path, &gt, err, sizeof(err)), 0);
	root = json_object_from_file(path);
	json_object_object_del(root, "fire_log");
	assert_int_equal(cprv_gt_parse(json_object_to_json_string(root), "gt.json",
				       CPRV_GT_LOAD_FIRE_LOG, &back, err, sizeof(err)), 0);
	assert_int_equal(back.total, 12);
	assert_int_equal(back.lost, 5);
	assert_null(back.log);
	cprv_gt_free(&back);
	json_object_put(root);
	cprv_gt_free(&gt);
	unlink(path);
	free(path);
}

static void test_phase_names(void **state)
{
	assert_string_equal(cprv_gt_phase_name(CPRV_GT_PHASE_RUNNING_OLD), "before");
	assert_string_equal(cprv_gt_phase_name(CPRV_GT_PHASE_DETACHED), "blackout");
	assert_string_equal(cprv_gt_phase_name(CPRV_GT_PHASE_RUNNING_NEW), "after");
	assert_string_equal(cprv_gt_phase_name(99), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tally),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_not_json),
		cmocka_unit_test(test_v1_readable),
		cmocka_unit_test(test_v2_readable),
		cmocka_unit_test(test_held),
		cmocka_unit_test(test_no_log),
		cmocka_unit_test(test_phase_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

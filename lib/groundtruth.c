/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Ground-truth files: write, read, check for consistency. */
#include "groundtruth.h"

#include <errno.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

static const char *const phase_names[] = {
	[0] = "unknown",
	[CPRV_GT_PHASE_RUNNING_OLD] = "before",
	[CPRV_GT_PHASE_DETACHED] = "blackout",
	[CPRV_GT_PHASE_RUNNING_NEW] = "after",
	[CPRV_GT_PHASE_DONE] = "done",
};

const char *cprv_gt_phase_name(uint32_t phase)
{
	return phase <= CPRV_GT_PHASE_DONE ? phase_names[phase] : "unknown";
}

void cprv_gt_free(struct cprv_ground_truth *gt)
{
	free(gt->vec);
	free(gt->phases);
	free(gt->log);
	free(gt->cycle_info);
	free(gt->masks);
	memset(gt, 0, sizeof(*gt));
}

const struct cprv_gt_phase *cprv_gt_phase_find(const struct cprv_ground_truth *gt,
					       uint32_t cycle, const char *name)
{
	for (size_t i = 0; i < gt->nphases; i++)
		if (gt->phases[i].cycle == cycle && strcmp(gt->phases[i].name, name) == 0)
			return &gt->phases[i];
	return NULL;
}

void cprv_gt_tally(struct cprv_ground_truth *gt)
{
	gt->total = gt->before = gt->blackout = gt->after = gt->lost = 0;
	gt->duplicates = gt->lost_unobservable = gt->held = gt->held_delivered = 0;
	for (uint32_t v = 0; v < gt->nvectors; v++) {
		gt->vec[v].fires = gt->vec[v].lost = gt->vec[v].held = 0;
		/* Not from the log: the rig sets these per vector. */
		gt->duplicates += gt->vec[v].duplicates;
		gt->lost_unobservable += gt->vec[v].lost_unobservable;
	}
	for (size_t i = 0; i < gt->nlog; i++) {
		const struct cprv_gt_fire *f = &gt->log[i];

		gt->total++;
		if (f->phase == CPRV_GT_PHASE_RUNNING_OLD)
			gt->before++;
		else if (f->phase == CPRV_GT_PHASE_DETACHED)
			gt->blackout++;
		else
			gt->after++;
		if (f->vector < gt->nvectors) {
			gt->vec[f->vector].fires++;
			gt->vec[f->vector].lost += f->lost != 0;
			gt->vec[f->vector].held += f->held != 0;
		}
		gt->lost += f->lost != 0;
		gt->held += f->held != 0;
		gt->held_delivered += f->held && !f->lost;
	}
}

/* ---- writer ---- */

static struct json_object *u64(uint64_t v)
{
	return json_object_new_uint64(v);
}

static struct json_object *build(const struct cprv_ground_truth *gt)
{
	struct json_object *root = json_object_new_object();
	struct json_object *vi = json_object_new_array();
	struct json_object *ph = json_object_new_array();
	struct json_object *fires = json_object_new_object();
	struct json_object *pv = json_object_new_array();
	struct json_object *bp = json_object_new_object();
	struct json_object *exp = json_object_new_object();
	struct json_object *lpv = json_object_new_array();
	struct json_object *log = json_object_new_array_ext((int)gt->nlog);
	struct json_object *upv = json_object_new_array();
	struct json_object *dpv = json_object_new_array();
	struct json_object *spv = json_object_new_array();
	struct json_object *rules = json_object_new_array();
	struct json_object *guest = json_object_new_object();
	struct json_object *cyc = json_object_new_array();
	struct json_object *hpv = json_object_new_array();
	struct json_object *masks = json_object_new_array();

	json_object_object_add(root, "format", json_object_new_string(CPRV_GT_FORMAT));
	json_object_object_add(root, "version", json_object_new_int(CPRV_GT_VERSION));
	json_object_object_add(root, "mode", json_object_new_string(gt->mode));
	json_object_object_add(root, "fault", json_object_new_string(gt->fault));
	json_object_object_add(root, "vectors", u64(gt->nvectors));
	json_object_object_add(root, "cycles", u64(gt->cycles));
	for (uint32_t v = 0; v < gt->nvectors; v++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "vector", u64(gt->vec[v].vector));
		json_object_object_add(o, "gsi", u64(gt->vec[v].gsi));
		json_object_object_add(o, "address", u64(gt->vec[v].address));
		json_object_object_add(o, "data", u64(gt->vec[v].data));
		json_object_array_add(vi, o);
		json_object_array_add(pv, u64(gt->vec[v].fires));
		json_object_array_add(lpv, u64(gt->vec[v].lost));
		json_object_array_add(upv, u64(gt->vec[v].lost_unobservable));
		json_object_array_add(dpv, u64(gt->vec[v].duplicates));
		json_object_array_add(spv, u64(gt->vec[v].serviced));
		json_object_array_add(hpv, u64(gt->vec[v].held));
	}
	json_object_object_add(root, "vector_info", vi);
	for (size_t i = 0; i < gt->nphases; i++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "cycle", u64(gt->phases[i].cycle));
		json_object_object_add(o, "name", json_object_new_string(gt->phases[i].name));
		json_object_object_add(o, "ts", u64(gt->phases[i].ts));
		json_object_array_add(ph, o);
	}
	json_object_object_add(root, "phases", ph);
	json_object_object_add(fires, "total", u64(gt->total));
	json_object_object_add(fires, "per_vector", pv);
	json_object_object_add(bp, "before", u64(gt->before));
	json_object_object_add(bp, "blackout", u64(gt->blackout));
	json_object_object_add(bp, "after", u64(gt->after));
	json_object_object_add(fires, "by_phase", bp);
	json_object_object_add(root, "fires", fires);
	json_object_object_add(exp, "lost", u64(gt->lost));
	json_object_object_add(exp, "lost_per_vector", lpv);
	json_object_object_add(exp, "duplicates", u64(gt->duplicates));
	json_object_object_add(exp, "duplicates_per_vector", dpv);
	json_object_object_add(exp, "lost_unobservable", u64(gt->lost_unobservable));
	json_object_object_add(exp, "lost_unobservable_per_vector", upv);
	for (int r = 1; r <= CPRV_GT_NRULES; r++)
		if (gt->rules_broken & CPRV_GT_RULE(r)) {
			char name[4];

			snprintf(name, sizeof(name), "R%d", r);
			json_object_array_add(rules, json_object_new_string(name));
		}
	json_object_object_add(exp, "rules_broken", rules);
	json_object_object_add(exp, "min_gap_ms", u64(gt->min_gap_ms));
	json_object_object_add(exp, "held", u64(gt->held));
	json_object_object_add(exp, "held_per_vector", hpv);
	json_object_object_add(exp, "held_delivered", u64(gt->held_delivered));
	json_object_object_add(root, "expected", exp);
	json_object_object_add(guest, "service_period_us", u64(gt->service_period_us));
	json_object_object_add(guest, "serviced_per_vector", spv);
	json_object_object_add(root, "guest", guest);
	/* One entry per cycle, whatever the caller filled in. */
	for (uint32_t i = 0; i < gt->cycles; i++) {
		struct json_object *o = json_object_new_object();
		bool failed = i < gt->ncycle_info && gt->cycle_info[i].failed;

		json_object_object_add(o, "cycle", u64(i + 1));
		json_object_object_add(o, "failed", json_object_new_boolean(failed));
		json_object_array_add(cyc, o);
	}
	json_object_object_add(root, "cycle_info", cyc);
	json_object_object_add(root, "msi", json_object_new_string(gt->msi[0] ? gt->msi : "msix"));
	for (size_t i = 0; i < gt->nmasks; i++) {
		const struct cprv_gt_mask *m = &gt->masks[i];
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "vector", u64(m->vector));
		json_object_object_add(o, "mask_ts", u64(m->mask_ts));
		json_object_object_add(o, "unmask_ts", u64(m->unmask_ts));
		json_object_object_add(o, "held", u64(m->held));
		json_object_object_add(o, "injected", json_object_new_boolean(m->injected));
		json_object_array_add(masks, o);
	}
	json_object_object_add(root, "mask_windows", masks);
	for (size_t i = 0; i < gt->nlog; i++) {
		const struct cprv_gt_fire *f = &gt->log[i];
		struct json_object *e = json_object_new_array_ext(6);

		json_object_array_add(e, u64(f->ts));
		json_object_array_add(e, u64(f->vector));
		json_object_array_add(e, u64(f->phase));
		json_object_array_add(e, u64(f->generation));
		json_object_array_add(e, u64(f->lost));
		json_object_array_add(e, u64(f->held));
		json_object_array_add(log, e);
	}
	json_object_object_add(root, "fire_log", log);
	return root;
}

int cprv_gt_write(const char *path, const struct cprv_ground_truth *gt,
		  char *err, size_t errlen)
{
	struct json_object *root = build(gt);
	char tmp[4096];
	int ret;

	/* Write beside and rename, so a reader never sees half a file. */
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	ret = json_object_to_file_ext(tmp, root, JSON_C_TO_STRING_PLAIN |
				      JSON_C_TO_STRING_NOSLASHESCAPE);
	json_object_put(root);
	if (ret < 0) {
		snprintf(err, errlen, "%s: cannot write: %s", tmp, json_util_get_last_err());
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) < 0) {
		snprintf(err, errlen, "%s: cannot rename from %s: %s", path, tmp, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* ---- reader ---- */

struct rd {
	const char *origin;
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 2, 3)))
static int bad(struct rd *r, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (r->err && r->errlen)
		snprintf(r->err, r->errlen, "%s: %s", r->origin, msg);
	return -1;
}

static int want(struct rd *r, struct json_object *obj, const char *key,
		json_type type, struct json_object **out)
{
	if (!json_object_object_get_ex(obj, key, out))
		return bad(r, "missing field '%s'", key);
	if (!json_object_is_type(*out, type))
		return bad(r, "field '%s' must be %s", key,
			   type == json_type_int ? "an integer" :
			   type == json_type_string ? "a string" :
			   type == json_type_array ? "an array" :
			   type == json_type_boolean ? "true or false" : "an object");
	return 0;
}

static int num(struct rd *r, struct json_object *v, const char *what, uint64_t *out)
{
	if (!json_object_is_type(v, json_type_int))
		return bad(r, "%s must be a non-negative integer", what);
	/* Values above INT64_MAX read back as INT64_MAX, so < 0 means negative. */
	if (json_object_get_int64(v) < 0)
		return bad(r, "%s must be a non-negative integer", what);
	*out = json_object_get_uint64(v);
	return 0;
}

static int want_num(struct rd *r, struct json_object *obj, const char *key, uint64_t *out)
{
	struct json_object *v;

	if (want(r, obj, key, json_type_int, &v))
		return -1;
	return num(r, v, key, out);
}

static int want_u32(struct rd *r, struct json_object *obj, const char *key, uint32_t *out)
{
	uint64_t v;

	if (want_num(r, obj, key, &v))
		return -1;
	if (v > UINT32_MAX)
		return bad(r, "field '%s' is out of range", key);
	*out = (uint32_t)v;
	return 0;
}

static int want_str(struct rd *r, struct json_object *obj, const char *key,
		    char *buf, size_t len)
{
	struct json_object *v;

	if (want(r, obj, key, json_type_string, &v))
		return -1;
	if (json_object_get_string_len(v) >= (int)len)
		return bad(r, "field '%s' is too long", key);
	snprintf(buf, len, "%s", json_object_get_string(v));
	return 0;
}

/* An array of exactly n integers, into the struct field at off of each vector. */
static int vec_array(struct rd *r, struct json_object *obj, const char *key,
		     struct cprv_ground_truth *gt, size_t off, uint64_t *sum)
{
	struct json_object *a;
	char what[64];
	uint64_t v;

	if (want(r, obj, key, json_type_array, &a))
		return -1;
	if (json_object_array_length(a) != gt->nvectors)
		return bad(r, "field '%s' has %zu entries, 'vectors' is %u", key,
			   json_object_array_length(a), gt->nvectors);
	*sum = 0;
	for (uint32_t i = 0; i < gt->nvectors; i++) {
		snprintf(what, sizeof(what), "%s[%u]", key, i);
		if (num(r, json_object_array_get_idx(a, i), what, &v))
			return -1;
		memcpy((char *)&gt->vec[i] + off, &v, sizeof(v));
		*sum += v;
	}
	return 0;
}

static int read_vector_info(struct rd *r, struct json_object *root,
			    struct cprv_ground_truth *gt)
{
	struct json_object *a;

	if (want(r, root, "vector_info", json_type_array, &a))
		return -1;
	if (json_object_array_length(a) != gt->nvectors)
		return bad(r, "'vector_info' has %zu entries, 'vectors' is %u",
			   json_object_array_length(a), gt->nvectors);
	for (uint32_t i = 0; i < gt->nvectors; i++) {
		struct json_object *o = json_object_array_get_idx(a, i);
		struct cprv_gt_vector *v = &gt->vec[i];

		if (!json_object_is_type(o, json_type_object))
			return bad(r, "vector_info[%u] must be an object", i);
		if (want_u32(r, o, "vector", &v->vector) || want_u32(r, o, "gsi", &v->gsi) ||
		    want_num(r, o, "address", &v->address) || want_u32(r, o, "data", &v->data))
			return -1;
		if (v->vector != i)
			return bad(r, "vector_info[%u] says vector %u", i, v->vector);
	}
	return 0;
}

static int read_phases(struct rd *r, struct json_object *root,
		       struct cprv_ground_truth *gt)
{
	struct json_object *a;
	size_t n;

	if (want(r, root, "phases", json_type_array, &a))
		return -1;
	n = json_object_array_length(a);
	gt->phases = calloc(n ? n : 1, sizeof(*gt->phases));
	if (!gt->phases)
		return bad(r, "out of memory");
	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json_object_array_get_idx(a, i);
		struct cprv_gt_phase *p = &gt->phases[i];

		if (!json_object_is_type(o, json_type_object))
			return bad(r, "phases[%zu] must be an object", i);
		if (want_u32(r, o, "cycle", &p->cycle) ||
		    want_str(r, o, "name", p->name, sizeof(p->name)) ||
		    want_num(r, o, "ts", &p->ts))
			return -1;
		gt->nphases++;
	}
	return 0;
}

static int read_rules(struct rd *r, struct json_object *exp, struct cprv_ground_truth *gt)
{
	struct json_object *a;

	if (want(r, exp, "rules_broken", json_type_array, &a))
		return -1;
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		struct json_object *e = json_object_array_get_idx(a, i);
		const char *n = json_object_get_string(e);

		if (!json_object_is_type(e, json_type_string) || strlen(n) != 2 || n[0] != 'R' ||
		    n[1] < '1' || n[1] > '0' + CPRV_GT_NRULES)
			return bad(r, "expected.rules_broken[%zu] must be \"R1\" to \"R%d\"", i,
				   CPRV_GT_NRULES);
		gt->rules_broken |= CPRV_GT_RULE(n[1] - '0');
	}
	return 0;
}

static int read_cycle_info(struct rd *r, struct json_object *root, struct cprv_ground_truth *gt)
{
	struct json_object *a;
	size_t n;

	if (want(r, root, "cycle_info", json_type_array, &a))
		return -1;
	n = json_object_array_length(a);
	if (n != gt->cycles)
		return bad(r, "'cycle_info' has %zu entries, 'cycles' is %u", n, gt->cycles);
	gt->cycle_info = calloc(n ? n : 1, sizeof(*gt->cycle_info));
	if (!gt->cycle_info)
		return bad(r, "out of memory");
	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json_object_array_get_idx(a, i), *f;
		struct cprv_gt_cycle *ci = &gt->cycle_info[i];

		if (!json_object_is_type(o, json_type_object))
			return bad(r, "cycle_info[%zu] must be an object", i);
		if (want_u32(r, o, "cycle", &ci->cycle) ||
		    want(r, o, "failed", json_type_boolean, &f))
			return -1;
		if (ci->cycle != i + 1)
			return bad(r, "cycle_info[%zu] says cycle %u", i, ci->cycle);
		ci->failed = json_object_get_boolean(f) ? 1 : 0;
		gt->ncycle_info++;
	}
	return 0;
}

/* The fields version 2 added; all required there. */
static int read_v2(struct rd *r, struct json_object *root, struct json_object *exp,
		   struct cprv_ground_truth *gt)
{
	struct json_object *guest;
	uint64_t sum;

	if (vec_array(r, exp, "duplicates_per_vector", gt,
		      offsetof(struct cprv_gt_vector, duplicates), &sum))
		return -1;
	if (sum != gt->duplicates)
		return bad(r, "expected.duplicates_per_vector adds up to %llu, "
			   "expected.duplicates is %llu", (unsigned long long)sum,
			   (unsigned long long)gt->duplicates);
	if (want_num(r, exp, "lost_unobservable", &gt->lost_unobservable) ||
	    vec_array(r, exp, "lost_unobservable_per_vector", gt,
		      offsetof(struct cprv_gt_vector, lost_unobservable), &sum))
		return -1;
	if (sum != gt->lost_unobservable)
		return bad(r, "expected.lost_unobservable_per_vector adds up to %llu, "
			   "expected.lost_unobservable is %llu", (unsigned long long)sum,
			   (unsigned long long)gt->lost_unobservable);
	if (read_rules(r, exp, gt) || want_num(r, exp, "min_gap_ms", &gt->min_gap_ms))
		return -1;
	if (want(r, root, "guest", json_type_object, &guest) ||
	    want_u32(r, guest, "service_period_us", &gt->service_period_us) ||
	    vec_array(r, guest, "serviced_per_vector", gt,
		      offsetof(struct cprv_gt_vector, serviced), &sum))
		return -1;
	return read_cycle_info(r, root, gt);
}

/* The fields version 3 added: MSI kind, held fires, mask windows. */
static int read_v3(struct rd *r, struct json_object *root, struct json_object *exp,
		   struct cprv_ground_truth *gt)
{
	struct json_object *a;
	uint64_t sum, delivered;
	size_t n;

	if (want_str(r, root, "msi", gt->msi, sizeof(gt->msi)))
		return -1;
	if (strcmp(gt->msi, "msix") && strcmp(gt->msi, "msi"))
		return bad(r, "field 'msi' is '%s', must be msix or msi", gt->msi);
	if (want_num(r, exp, "held", &gt->held) ||
	    vec_array(r, exp, "held_per_vector", gt, offsetof(struct cprv_gt_vector, held), &sum) ||
	    want_num(r, exp, "held_delivered", &gt->held_delivered))
		return -1;
	if (sum != gt->held)
		return bad(r, "expected.held_per_vector adds up to %llu, expected.held is %llu",
			   (unsigned long long)sum, (unsigned long long)gt->held);
	if (gt->held_delivered > gt->held)
		return bad(r, "expected.held_delivered (%llu) exceeds expected.held (%llu)",
			   (unsigned long long)gt->held_delivered, (unsigned long long)gt->held);
	if (want(r, root, "mask_windows", json_type_array, &a))
		return -1;
	n = json_object_array_length(a);
	gt->masks = calloc(n ? n : 1, sizeof(*gt->masks));
	if (!gt->masks)
		return bad(r, "out of memory");
	sum = delivered = 0;
	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json_object_array_get_idx(a, i), *inj;
		struct cprv_gt_mask *m = &gt->masks[i];

		if (!json_object_is_type(o, json_type_object))
			return bad(r, "mask_windows[%zu] must be an object", i);
		if (want_u32(r, o, "vector", &m->vector) || want_num(r, o, "mask_ts", &m->mask_ts) ||
		    want_num(r, o, "unmask_ts", &m->unmask_ts) || want_num(r, o, "held", &m->held) ||
		    want(r, o, "injected", json_type_boolean, &inj))
			return -1;
		if (m->vector >= gt->nvectors || m->unmask_ts < m->mask_ts)
			return bad(r, "mask_windows[%zu]: vector out of range or unmask before mask", i);
		m->injected = json_object_get_boolean(inj) ? 1 : 0;
		sum += m->held;
		delivered += m->injected ? m->held : 0;
		gt->nmasks++;
	}
	if (sum != gt->held || delivered != gt->held_delivered)
		return bad(r, "mask_windows hold %llu fires (%llu delivered), expected.held is %llu "
			   "(%llu delivered)", (unsigned long long)sum, (unsigned long long)delivered,
			   (unsigned long long)gt->held, (unsigned long long)gt->held_delivered);
	return 0;
}

static int read_fires(struct rd *r, struct json_object *root,
		      struct cprv_ground_truth *gt)
{
	struct json_object *fires, *bp, *exp;
	uint64_t sum;

	if (want(r, root, "fires", json_type_object, &fires) ||
	    want_num(r, fires, "total", &gt->total) ||
	    vec_array(r, fires, "per_vector", gt, offsetof(struct cprv_gt_vector, fires), &sum))
		return -1;
	if (sum != gt->total)
		return bad(r, "fires.per_vector adds up to %llu, fires.total is %llu",
			   (unsigned long long)sum, (unsigned long long)gt->total);
	if (want(r, fires, "by_phase", json_type_object, &bp) ||
	    want_num(r, bp, "before", &gt->before) ||
	    want_num(r, bp, "blackout", &gt->blackout) ||
	    want_num(r, bp, "after", &gt->after))
		return -1;
	if (gt->before + gt->blackout + gt->after != gt->total)
		return bad(r, "fires.by_phase adds up to %llu, fires.total is %llu",
			   (unsigned long long)(gt->before + gt->blackout + gt->after),
			   (unsigned long long)gt->total);
	if (want(r, root, "expected", json_type_object, &exp) ||
	    want_num(r, exp, "lost", &gt->lost) ||
	    vec_array(r, exp, "lost_per_vector", gt, offsetof(struct cprv_gt_vector, lost), &sum) ||
	    want_num(r, exp, "duplicates", &gt->duplicates))
		return -1;
	if (sum != gt->lost)
		return bad(r, "expected.lost_per_vector adds up to %llu, expected.lost is %llu",
			   (unsigned long long)sum, (unsigned long long)gt->lost);
	/* Before v3 the rig only had MSI-X, never masked. */
	snprintf(gt->msi, sizeof(gt->msi), "msix");
	if (gt->version < 2)
		return 0;
	if (read_v2(r, root, exp, gt))
		return -1;
	return gt->version >= 3 ? read_v3(r, root, exp, gt) : 0;
}

/*
 * The log is checked against the totals even when not kept: a file whose
 * summary disagrees with its own log must not be trusted as ground truth.
 */
static int read_log(struct rd *r, struct json_object *root, unsigned flags,
		    struct cprv_ground_truth *gt)
{
	struct json_object *a;
	uint64_t *fires = NULL, *lost = NULL, *held = NULL, nlost = 0;
	/* v3 added the held column. */
	int cols = gt->version >= 3 ? 6 : 5;
	size_t n;
	int ret = -1;

	if (!json_object_object_get_ex(root, "fire_log", &a))
		return 0;
	if (!json_object_is_type(a, json_type_array))
		return bad(r, "field 'fire_log' must be an array");
	n = json_object_array_length(a);
	if (n != gt->total)
		return bad(r, "fire_log has %zu entries, fires.total is %llu", n,
			   (unsigned long long)gt->total);
	fires = calloc(gt->nvectors, sizeof(*fires));
	lost = calloc(gt->nvectors, sizeof(*lost));
	held = calloc(gt->nvectors, sizeof(*held));
	if (flags & CPRV_GT_LOAD_FIRE_LOG)
		gt->log = calloc(n ? n : 1, sizeof(*gt->log));
	if (!fires || !lost || !held || ((flags & CPRV_GT_LOAD_FIRE_LOG) && !gt->log)) {
		bad(r, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(a, i);
		uint64_t f[6] = { 0 };
		char what[64];

		if (!json_object_is_type(e, json_type_array) ||
		    json_object_array_length(e) != (size_t)cols) {
			bad(r, "fire_log[%zu] must be [ts,vector,phase,generation,lost%s]", i,
			    cols == 6 ? ",held" : "");
			goto out;
		}
		for (int k = 0; k < cols; k++) {
			snprintf(what, sizeof(what), "fire_log[%zu][%d]", i, k);
			if (num(r, json_object_array_get_idx(e, (size_t)k), what, &f[k]))
				goto out;
		}
		if (f[1] >= gt->nvectors || f[2] < CPRV_GT_PHASE_RUNNING_OLD ||
		    f[2] > CPRV_GT_PHASE_DONE || f[3] > UINT32_MAX || f[4] > 1 || f[5] > 1) {
			bad(r, "fire_log[%zu]: vector, phase, generation, lost or held out of range", i);
			goto out;
		}
		fires[f[1]]++;
		lost[f[1]] += f[4];
		held[f[1]] += f[5];
		nlost += f[4];
		if (gt->log) {
			gt->log[i] = (struct cprv_gt_fire){
				.ts = f[0], .vector = (uint32_t)f[1], .phase = (uint32_t)f[2],
				.generation = (uint32_t)f[3], .lost = (uint32_t)f[4],
				.held = (uint32_t)f[5],
			};
			gt->nlog++;
		}
	}
	for (uint32_t v = 0; v < gt->nvectors; v++)
		if (fires[v] != gt->vec[v].fires || lost[v] != gt->vec[v].lost ||
		    held[v] != gt->vec[v].held) {
			bad(r, "fire_log disagrees with the totals on vector %u "
			    "(log: %llu fires %llu lost %llu held; totals: %llu fires %llu lost "
			    "%llu held)", v, (unsigned long long)fires[v], (unsigned long long)lost[v],
			    (unsigned long long)held[v], (unsigned long long)gt->vec[v].fires,
			    (unsigned long long)gt->vec[v].lost, (unsigned long long)gt->vec[v].held);
			goto out;
		}
	ret = 0;
out:
	free(fires);
	free(lost);
	free(held);
	return ret;
}

static int from_json(struct rd *r, struct json_object *root, unsigned flags,
		     struct cprv_ground_truth *gt)
{
	char format[64];
	uint32_t version;

	if (!json_object_is_type(root, json_type_object))
		return bad(r, "top level must be a JSON object");
	if (want_str(r, root, "format", format, sizeof(format)))
		return -1;
	if (strcmp(format, CPRV_GT_FORMAT) != 0)
		return bad(r, "format is '%s', expected '%s'", format, CPRV_GT_FORMAT);
	if (want_u32(r, root, "version", &version))
		return -1;
	if (version < 1 || version > CPRV_GT_VERSION)
		return bad(r, "version %u is not supported (this build reads versions 1 to %d)",
			   version, CPRV_GT_VERSION);
	gt->version = version;
	if (want_str(r, root, "mode", gt->mode, sizeof(gt->mode)) ||
	    want_str(r, root, "fault", gt->fault, sizeof(gt->fault)) ||
	    want_u32(r, root, "vectors", &gt->nvectors) ||
	    want_u32(r, root, "cycles", &gt->cycles))
		return -1;
	if (gt->nvectors == 0 || gt->nvectors > 4096)
		return bad(r, "field 'vectors' is %u, must be 1 to 4096", gt->nvectors);
	gt->vec = calloc(gt->nvectors, sizeof(*gt->vec));
	if (!gt->vec)
		return bad(r, "out of memory");
	if (read_vector_info(r, root, gt) || read_phases(r, root, gt) ||
	    read_fires(r, root, gt) || read_log(r, root, flags, gt))
		return -1;
	return 0;
}

int cprv_gt_parse(const char *text, const char *origin, unsigned flags,
		  struct cprv_ground_truth *gt, char *err, size_t errlen)
{
	struct rd r = { origin, err, errlen };
	enum json_tokener_error jerr;
	struct json_object *root;
	int ret;

	memset(gt, 0, sizeof(*gt));
	root = json_tokener_parse_verbose(text, &jerr);
	if (!root)
		return bad(&r, "JSON syntax error: %s", json_tokener_error_desc(jerr));
	ret = from_json(&r, root, flags, gt);
	json_object_put(root);
	if (ret)
		cprv_gt_free(gt);
	return ret;
}

int cprv_gt_load_ex(const char *path, unsigned flags,
		    struct cprv_ground_truth *gt, char *err, size_t errlen)
{
	struct rd r = { path, err, errlen };
	struct json_object *root;
	FILE *f;
	int ret;

	memset(gt, 0, sizeof(*gt));
	/* Open first: json-c's own message for a missing file is vague. */
	f = fopen(path, "r");
	if (!f)
		return bad(&r, "cannot open: %s", strerror(errno));
	fclose(f);
	root = json_object_from_file(path);
	if (!root)
		return bad(&r, "not valid JSON: %s", json_util_get_last_err());
	ret = from_json(&r, root, flags, gt);
	json_object_put(root);
	if (ret)
		cprv_gt_free(gt);
	return ret;
}

int cprv_gt_load(const char *path, struct cprv_ground_truth *gt,
		 char *err, size_t errlen)
{
	return cprv_gt_load_ex(path, 0, gt, err, errlen);
}

/* Trace file -> verdict. What the recording could not see comes from the
 * header (plan and canary) and the END chunk (drops); a trace without an
 * END chunk (crash, kill) is judged on what it holds, but can then not
 * pass: drops after its last chunk are unknown. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <json-c/json.h>
#include "analysis.h"
#include "drive.h"
#include "groundtruth.h"
#include "judge.h"
#include "plan.h"
#include "reorder.h"
#include "report.h"
#include "trace.h"
#include "verdict.h"

struct cprv_judgement {
	struct cprv_analysis *a;
	struct cprv_verdict v;
	struct cprv_plan plan;
	struct json_object *meta;    /* trace header */
	struct json_object *end;     /* END stats, or NULL */
	char trace[512];
	enum cprv_trace_status status;
	char status_msg[256];
	uint64_t events, late;
	struct cprv_drive *drive;    /* the QEMU driver's outcome, or NULL */
	struct cprv_path_ctx *path;  /* eventfds on the MSI path (first pass) */
	char proven[CPRV_HOOK_MAX][200]; /* hooks proven live by the recording itself */
	size_t n_proven;
};

static struct json_object *get(struct json_object *o, const char *k)
{
	struct json_object *v = NULL;

	return o && json_object_object_get_ex(o, k, &v) ? v : NULL;
}

static int add_str(char ***arr, size_t *n, const char *s)
{
	char **a = realloc(*arr, (*n + 1) * sizeof(char *));

	if (!a)
		return -ENOMEM;
	*arr = a;
	a[*n] = strdup(s);
	if (!a[*n])
		return -ENOMEM;
	(*n)++;
	return 0;
}

/* A verdict the trace itself cannot back (cut short, out of order) is at
 * best unjudged; a fail stays a fail: what was seen is firm. */
static void downgrade(struct cprv_verdict *v, const char *why)
{
	if (v->result == CPRV_RESULT_PASS)
		v->result = CPRV_RESULT_UNJUDGED;
	add_str(v->result == CPRV_RESULT_FAIL ? &v->caveats : &v->reasons,
		v->result == CPRV_RESULT_FAIL ? &v->n_caveats : &v->n_reasons, why);
}

/*
 * Ground truth v2's `expected` additions, read straight from the file so a
 * v1 file (none of them) and a reader that does not know them yet both work.
 * TODO: take them from struct cprv_ground_truth once groundtruth.h has them.
 */
struct gt_v2 {
	uint64_t *dups;
	bool has_rules, has_gap;
	unsigned rules;
	uint64_t unobservable, min_gap_ms;
};

static int gt_v2_load(const char *path, uint32_t nvec, struct gt_v2 *g, char *err, size_t errlen)
{
	struct json_object *root = json_object_from_file(path), *exp, *x;
	int rc = 0;

	memset(g, 0, sizeof(*g));
	if (!root)
		return 0; /* cprv_gt_load already judged the file */
	exp = get(root, "expected");
	if ((x = get(exp, "duplicates_per_vector")) && json_object_is_type(x, json_type_array)) {
		if (json_object_array_length(x) != nvec) {
			snprintf(err, errlen, "%s: expected.duplicates_per_vector has %zu entries, not %u",
				 path, json_object_array_length(x), nvec);
			rc = -1;
			goto out;
		}
		g->dups = calloc(nvec + 1, sizeof(uint64_t));
		if (!g->dups) {
			rc = -1;
			goto out;
		}
		for (uint32_t i = 0; i < nvec; i++)
			g->dups[i] = json_object_get_int64(json_object_array_get_idx(x, i));
	}
	if ((x = get(exp, "rules_broken")) && json_object_is_type(x, json_type_array)) {
		g->has_rules = true;
		for (size_t i = 0; i < json_object_array_length(x); i++) {
			const char *r = json_object_get_string(json_object_array_get_idx(x, i));
			unsigned n = 0;
			if (!r || sscanf(r, "R%u", &n) != 1 || n < 1 || n > CPRV_RULES) {
				snprintf(err, errlen, "%s: expected.rules_broken: bad rule %s", path,
					 r ? r : "(null)");
				rc = -1;
				goto out;
			}
			g->rules |= 1u << (n - 1);
		}
	}
	if ((x = get(exp, "lost_unobservable")))
		g->unobservable = json_object_get_int64(x);
	if ((x = get(exp, "min_gap_ms")) && !json_object_is_type(x, json_type_null)) {
		g->has_gap = true;
		g->min_gap_ms = json_object_get_int64(x);
	}
out:
	json_object_put(root);
	return rc;
}

static int load_plan(struct cprv_judgement *j, struct cprv_analysis_opts *ao, char *err,
		     size_t errlen)
{
	char perr[256];

	if (cprv_plan_from_json(get(j->meta, "plan"), &j->plan, perr, sizeof(perr))) {
		snprintf(err, errlen, "%s: trace header: %s", j->trace, perr);
		return -1;
	}
	cprv_plan_visibility(&j->plan, &ao->vis);
	return 0;
}

/*
 * Hooks the canary cannot fire (a vfio device's interrupt, a running
 * guest's vCPU) are proven live by the recording itself when their events
 * are in it: a probe that fired is not blind. Each is named in the
 * verdict's caveats.
 */
static void prove_by_recording(struct cprv_judgement *j, struct cprv_visibility *vis,
			       const uint64_t *per_type)
{
	for (int h = 0; h < CPRV_HOOK_MAX; h++) {
		const struct cprv_hook_def *d = &cprv_hook_table[h];
		struct cprv_hook_state *hs = &j->plan.hooks[h];
		uint64_t seen = 0;

		if (hs->chosen < 0 || hs->canary != CPRV_CANARY_UNPROVEN)
			continue;
		for (int i = 0; i < CPRV_HOOK_EVENTS && d->events[i]; i++)
			seen += per_type[d->events[i]];
		if (!seen)
			continue;
		for (int i = 0; i < CPRV_HOOK_EVENTS && d->events[i]; i++)
			cprv_visibility_set(vis, d->events[i], true, NULL);
		snprintf(j->proven[j->n_proven++], sizeof(j->proven[0]),
			 "%s: the canary cannot fire it (%s); live in this recording (%llu events)",
			 cprv_hook_name(h), hs->canary_note[0] ? hs->canary_note : "off its path",
			 (unsigned long long)seen);
	}
}

/* A QEMU run keeps its driver's outcome next to the trace. */
static int drive_path_next_to(const char *trace, char *buf, size_t len)
{
	const char *slash = strrchr(trace, '/');
	int n = slash ? (int)(slash - trace) : 1;

	snprintf(buf, len, "%.*s/qemu-run.json", n, slash ? trace : ".");
	return access(buf, R_OK);
}

/* An eventfd_create, or an event naming an eventfd on the MSI path. */
struct path_rec {
	uint64_t obj, ts, seq;
	bool create;
};

static int cmp_rec(const void *x, const void *y)
{
	const struct path_rec *a = x, *b = y;

	if (a->obj != b->obj)
		return a->obj < b->obj ? -1 : 1;
	if (a->ts != b->ts)
		return a->ts < b->ts ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/*
 * First pass: the eventfds on the MSI path (bound to an irqfd, armed as a
 * vfio trigger), each in the life it was (an address counts its
 * eventfd_creates, as the analysis does in time order: a freed trigger's
 * address goes to the next eventfd created, a VMM's own notifier as
 * likely as not). A VMM's own event notifiers are written and read all
 * the time and are no device's MSIs. Sorted and unique; NULL if none.
 */
static struct cprv_path_ctx *path_ctxs(const char *trace, size_t *n, uint64_t *per_type)
{
	struct cprv_trace_reader *r = cprv_trace_reader_open(trace, NULL, 0);
	struct path_rec *v = NULL;
	struct cprv_path_ctx *out = NULL;
	size_t cap = 0, nrec = 0, k = 0, named = 0;
	struct cprv_event ev;
	uint64_t mult;
	uint32_t life = 0;

	*n = 0;
	if (!r)
		return NULL;
	/* runs as their templates: the same counts and ctxs, not expanded */
	while (cprv_trace_next_mult(r, &ev, &mult) > 0) {
		bool create = ev.type == CPRV_EV_EVENTFD_CREATE && ev.obj;

		if (ev.type < CPRV_EV_MAX)
			per_type[ev.type] += mult;
		if (!create && !cprv_analysis_names_path_ctx(&ev))
			continue;
		if (nrec == cap) {
			struct path_rec *nv = realloc(v, (cap = cap ? cap * 2 : 64) * sizeof(*v));

			if (!nv)
				break;
			v = nv;
		}
		v[nrec] = (struct path_rec){ .obj = ev.obj, .ts = ev.ts, .seq = nrec, .create = create };
		nrec++;
		named += !create;
	}
	cprv_trace_reader_close(r);
	if (named)
		out = malloc(named * sizeof(*out));
	if (!out) {
		free(v);
		return NULL;
	}
	qsort(v, nrec, sizeof(*v), cmp_rec);
	for (size_t i = 0; i < nrec; i++) {
		if (!i || v[i].obj != v[i - 1].obj)
			life = 0;
		if (v[i].create) {
			life++;
			continue;
		}
		if (!k || out[k - 1].obj != v[i].obj || out[k - 1].life != life)
			out[k++] = (struct cprv_path_ctx){ .obj = v[i].obj, .life = life };
	}
	free(v);
	*n = k;
	return out;
}

static int feed(void *a, const struct cprv_event *ev)
{
	return cprv_analysis_feed(a, ev);
}

struct cprv_judgement *cprv_judge(const struct cprv_judge_opts *o, enum cprv_judge_error *e,
				  char *err, size_t errlen)
{
	struct cprv_judgement *j = calloc(1, sizeof(*j));
	struct cprv_analysis_opts ao = { .settle_ns = o->settle_ns, .max_chains = o->max_chains };
	struct cprv_ground_truth gt = { 0 };
	struct cprv_gt_expect exp = { 0 };
	struct gt_v2 v2 = { 0 };
	uint64_t *vfires = NULL, *vlost = NULL;
	struct cprv_trace_reader *r = NULL;
	struct cprv_reorder *ro = NULL;
	bool have_gt = false, no_device = o->no_device_ok;
	uint64_t per_type[CPRV_EV_MAX] = { 0 };
	size_t n_path = 0;
	const char *kind, *drive = o->drive_result;
	char drive_auto[600];
	int rc, feed_err;

	*e = CPRV_JUDGE_INTERNAL;
	if (!j) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(j->trace, sizeof(j->trace), "%s", o->trace);
	r = cprv_trace_reader_open(o->trace, err, errlen);
	if (!r) {
		*e = errno == ENOMEM ? CPRV_JUDGE_INTERNAL : CPRV_JUDGE_BAD_INPUT;
		goto fail;
	}
	j->meta = json_tokener_parse(cprv_trace_meta(r));
	if (!j->meta) {
		snprintf(err, errlen, "%s: the trace header is not JSON", o->trace);
		*e = CPRV_JUDGE_BAD_INPUT;
		goto fail;
	}
	if (load_plan(j, &ao, err, errlen)) {
		*e = CPRV_JUDGE_BAD_INPUT;
		goto fail;
	}
	if (o->ground_truth) {
		if (cprv_gt_load(o->ground_truth, &gt, err, errlen)) {
			*e = CPRV_JUDGE_BAD_INPUT;
			goto fail;
		}
		have_gt = true;
		if (gt_v2_load(o->ground_truth, gt.nvectors, &v2, err, errlen)) {
			*e = CPRV_JUDGE_BAD_INPUT;
			goto fail;
		}
	}
	kind = json_object_get_string(get(get(j->meta, "scenario"), "kind"));
	if (kind && !strcmp(kind, "qemu")) {
		const char *ga = json_object_get_string(get(get(j->meta, "scenario"), "guest_args"));
		const char *vd = json_object_get_string(get(get(j->meta, "scenario"), "vfio_device"));

		no_device = (!ga || !strstr(ga, "edu")) && (!vd || !*vd);
		if (!o->drive_result && !drive_path_next_to(o->trace, drive_auto, sizeof(drive_auto)))
			drive = drive_auto;
	}
	if (drive) {
		j->drive = calloc(1, sizeof(*j->drive));
		if (!j->drive) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		if (cprv_drive_load(drive, j->drive, err, errlen)) {
			*e = CPRV_JUDGE_BAD_INPUT;
			goto fail;
		}
	}
	/* the rig's eventfds are all its device's; anything else (a real VMM)
	 * has event notifiers of its own that are no MSIs */
	j->path = path_ctxs(o->trace, &n_path, per_type);
	prove_by_recording(j, &ao.vis, per_type);
	if (o->msi_path_only || !kind || strcmp(kind, "rig")) {
		static const struct cprv_path_ctx none[1];

		/* nothing on the path: every eventfd is off it */
		ao.n_path_ctxs = n_path;
		ao.path_ctxs = j->path ? j->path : none;
	}
	j->a = cprv_analysis_new(&ao);
	ro = cprv_reorder_new(0);
	if (!j->a || !ro) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	rc = cprv_reorder_read(ro, r, feed, j->a, &feed_err);
	j->events = cprv_trace_events_read(r);
	if (feed_err) {
		snprintf(err, errlen, "out of memory while analysing");
		goto fail;
	}
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", o->trace, strerror(-rc));
		goto fail;
	}
	j->late = cprv_reorder_late(ro);
	j->status = cprv_trace_status(r);
	snprintf(j->status_msg, sizeof(j->status_msg), "%s", cprv_trace_status_msg(r));
	if (cprv_trace_end(r))
		j->end = json_tokener_parse(cprv_trace_end(r));
	/* drops are known only from the END chunk */
	ao.vis.dropped = j->end ? json_object_get_int64(get(j->end, "drops")) : 0;
	cprv_analysis_set_dropped(j->a, ao.vis.dropped);
	if (cprv_analysis_finish(j->a)) {
		snprintf(err, errlen, "out of memory while analysing");
		goto fail;
	}
	if (have_gt) {
		vfires = calloc(gt.nvectors + 1, sizeof(uint64_t));
		vlost = calloc(gt.nvectors + 1, sizeof(uint64_t));
		if (!vfires || !vlost)
			goto fail;
		for (uint32_t i = 0; i < gt.nvectors; i++) {
			vfires[i] = gt.vec[i].fires;
			vlost[i] = gt.vec[i].lost;
		}
		exp.fires = gt.total;
		exp.vector_fires = vfires;
		exp.n_vectors = gt.nvectors;
		exp.lost = gt.lost;
		exp.vector_lost = vlost;
		exp.duplicates = gt.duplicates;
		exp.vector_duplicates = v2.dups;
		exp.has_rules = v2.has_rules;
		exp.rules_broken = v2.rules;
		exp.lost_unobservable = v2.unobservable;
		exp.has_min_gap = v2.has_gap;
		exp.min_gap_ms = v2.min_gap_ms;
	}
	if (cprv_verdict_judge_ex(&j->v, j->a, have_gt ? &exp : NULL,
				  no_device ? CPRV_VERDICT_NO_DEVICE : 0) ||
	    (j->drive && cprv_verdict_drive(&j->v, j->a, j->drive))) {
		snprintf(err, errlen, "out of memory while judging");
		goto fail;
	}
	for (size_t i = 0; i < j->n_proven; i++)
		add_str(&j->v.caveats, &j->v.n_caveats, j->proven[i]);
	if (j->status != CPRV_TRACE_COMPLETE) {
		char why[400];

		snprintf(why, sizeof(why), "trace %s (%s): events after its last chunk and drops are unknown",
			 cprv_trace_status_name(j->status), j->status_msg);
		downgrade(&j->v, why);
	}
	if (j->late) {
		char why[160];

		snprintf(why, sizeof(why), "%llu events arrived later than the reorder window",
			 (unsigned long long)j->late);
		downgrade(&j->v, why);
	}
	*e = CPRV_JUDGE_OK;
fail:
	free(vfires);
	free(vlost);
	free(v2.dups);
	if (have_gt)
		cprv_gt_free(&gt);
	cprv_reorder_free(ro);
	cprv_trace_reader_close(r);
	if (*e != CPRV_JUDGE_OK) {
		cprv_judgement_free(j);
		j = NULL;
	}
	return j;
}

void cprv_judgement_free(struct cprv_judgement *j)
{
	if (!j)
		return;
	if (j->a) {
		cprv_verdict_free(&j->v);
		cprv_analysis_free(j->a);
	}
	json_object_put(j->meta);
	json_object_put(j->end);
	free(j->drive);
	free(j->path);
	free(j);
}

const struct cprv_analysis *cprv_judgement_analysis(const struct cprv_judgement *j)
{
	return j->a;
}

const struct cprv_verdict *cprv_judgement_verdict(const struct cprv_judgement *j)
{
	return &j->v;
}

const struct cprv_drive *cprv_judgement_drive(const struct cprv_judgement *j)
{
	return j->drive;
}

const struct cprv_plan *cprv_judgement_plan(const struct cprv_judgement *j)
{
	return &j->plan;
}

struct json_object *cprv_judgement_meta(const struct cprv_judgement *j)
{
	return j->meta;
}

int cprv_judgement_exit_code(const struct cprv_judgement *j)
{
	return cprv_verdict_exit_code(&j->v);
}

const char *cprv_judgement_result(const struct cprv_judgement *j)
{
	return cprv_result_name(j->v.result);
}

void cprv_judgement_text(const struct cprv_judgement *j, FILE *f, bool verbose)
{
	struct cprv_report_opts ro = { .verbose = verbose };
	struct json_object *scn = get(j->meta, "scenario");

	cprv_report_text(f, j->a, &j->v, &ro);
	if (j->drive)
		cprv_report_drive_text(f, j->a, j->drive);
	fprintf(f, "\ntrace: %s, %llu events, %s%s%s; kernel %s",
		j->trace, (unsigned long long)j->events, cprv_trace_status_name(j->status),
		j->status_msg[0] ? ": " : "", j->status_msg,
		json_object_get_string(get(j->meta, "kernel")));
	if (scn)
		fprintf(f, "; scenario %s", json_object_get_string(get(scn, "name")));
	fprintf(f, "\nprobes: %s\n", j->plan.canary_ran ? j->plan.canary_summary : "canary did not run");
	if (verbose)
		cprv_plan_print(&j->plan, f, false);
}

struct json_object *cprv_judgement_json(const struct cprv_judgement *j)
{
	struct cprv_report_opts ro = { 0 };
	struct json_object *r = cprv_report_json(j->a, &j->v, &ro), *t, *plan = json_object_new_object();

	if (!r)
		return NULL;
	/* plan: hook -> attach kind or "unavailable", plus the full detail */
	for (int h = 0; h < CPRV_HOOK_MAX; h++)
		json_object_object_add(plan, cprv_hook_name(h),
				       json_object_new_string(cprv_attach_kind_name(cprv_plan_kind(&j->plan, h))));
	json_object_object_add(r, "plan", plan);
	json_object_object_add(r, "plan_detail", json_object_get(get(j->meta, "plan")));
	t = json_object_new_object();
	json_object_object_add(t, "file", json_object_new_string(j->trace));
	json_object_object_add(t, "status", json_object_new_string(cprv_trace_status_name(j->status)));
	json_object_object_add(t, "events", json_object_new_int64(j->events));
	json_object_object_add(t, "late_events", json_object_new_int64(j->late));
	json_object_object_add(t, "drops", j->end ? json_object_get(get(j->end, "drops")) : NULL);
	json_object_object_add(t, "kernel", json_object_get(get(j->meta, "kernel")));
	json_object_object_add(t, "tool_version", json_object_get(get(j->meta, "tool_version")));
	json_object_object_add(t, "end", json_object_get(j->end));
	json_object_object_add(r, "trace", t);
	if (get(j->meta, "scenario"))
		json_object_object_add(r, "scenario", json_object_get(get(j->meta, "scenario")));
	if (j->drive)
		json_object_object_add(r, "qemu", cprv_report_drive_json(j->a, j->drive));
	return r;
}

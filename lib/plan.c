/* Plan state, its JSON form (trace header, `probe --json`) and the
 * visibility it grants the analysis. No libbpf here: reports and tests read
 * plans back from trace headers without loading anything. */
#include <string.h>
#include "plan.h"

static const char *const kind_names[] = {
	[CPRV_ATTACH_NONE] = "unavailable", [CPRV_ATTACH_FENTRY] = "fentry",
	[CPRV_ATTACH_KPROBE] = "kprobe",    [CPRV_ATTACH_TP_BTF] = "tp_btf",
	[CPRV_ATTACH_TRACEPOINT] = "tracepoint", [CPRV_ATTACH_SYSCALL] = "syscall",
	[CPRV_ATTACH_UPROBE] = "uprobe", [CPRV_ATTACH_SYSCALL_BTF] = "syscall_btf",
};

const char *cprv_attach_kind_name(enum cprv_attach_kind k)
{
	return (unsigned)k < sizeof(kind_names) / sizeof(kind_names[0]) ? kind_names[k] : "?";
}

bool cprv_attach_kind_denied(enum cprv_attach_kind k, unsigned deny_mask)
{
	if (k == CPRV_ATTACH_SYSCALL_BTF &&
	    (deny_mask & (1u << CPRV_ATTACH_TP_BTF | 1u << CPRV_ATTACH_SYSCALL)))
		return true;
	return deny_mask & (1u << k);
}

static const char *const canary_names[] = {
	[CPRV_CANARY_UNTESTED] = "untested", [CPRV_CANARY_LIVE] = "live",
	[CPRV_CANARY_DEAD] = "dead", [CPRV_CANARY_UNPROVEN] = "unproven",
};

const char *cprv_canary_state_name(enum cprv_canary_state s)
{
	return (unsigned)s < 4 ? canary_names[s] : "?";
}

void cprv_plan_init(struct cprv_plan *plan)
{
	memset(plan, 0, sizeof(*plan));
	for (int h = 0; h < CPRV_HOOK_MAX; h++)
		plan->hooks[h].chosen = -1;
}

enum cprv_attach_kind cprv_plan_kind(const struct cprv_plan *plan, int hook)
{
	int c = plan->hooks[hook].chosen;

	return c < 0 ? CPRV_ATTACH_NONE : cprv_hook_table[hook].variants[c].kind;
}

void cprv_plan_visibility(const struct cprv_plan *plan, struct cprv_visibility *vis)
{
	char why[CPRV_REASON_LEN];

	memset(vis, 0, sizeof(*vis));
	for (int t = 0; t < CPRV_EV_MAX; t++)
		cprv_visibility_set(vis, t, false, "no probe emits it");
	for (int h = 0; h < CPRV_HOOK_MAX; h++) {
		const struct cprv_hook_state *hs = &plan->hooks[h];
		const struct cprv_hook_def *d = &cprv_hook_table[h];

		if (hs->chosen < 0)
			snprintf(why, sizeof(why), "%s: no attach variant works here", cprv_hook_name(h));
		else if (hs->canary == CPRV_CANARY_DEAD)
			snprintf(why, sizeof(why), "%s: attached as %s but never fired in the canary",
				 cprv_hook_name(h), cprv_attach_kind_name(d->variants[hs->chosen].kind));
		else
			snprintf(why, sizeof(why), "%s: not proven live (%s)", cprv_hook_name(h),
				 hs->canary_note[0] ? hs->canary_note : "canary did not run");
		for (int i = 0; i < CPRV_HOOK_EVENTS && d->events[i]; i++)
			cprv_visibility_set(vis, d->events[i],
					    hs->chosen >= 0 && hs->canary == CPRV_CANARY_LIVE, why);
	}
}

static struct json_object *ufns_to_json(const struct cprv_plan *plan)
{
	struct json_object *o = json_object_new_object();
	struct json_object *bins = json_object_new_array(), *fns = json_object_new_object();

	for (unsigned i = 0; i < plan->n_binaries; i++)
		json_object_array_add(bins, json_object_new_string(plan->binaries[i]));
	for (int f = 0; f < CPRV_UFN_MAX; f++) {
		const struct cprv_ufn_state *u = &plan->ufns[f];
		struct json_object *fo;

		if (!u->attached && !u->why[0])
			continue;
		fo = json_object_new_object();
		json_object_object_add(fo, "attached", json_object_new_int(u->attached));
		if (u->why[0])
			json_object_object_add(fo, "why", json_object_new_string(u->why));
		json_object_object_add(fns, cprv_ufn_symbol(f), fo);
	}
	json_object_object_add(o, "binaries", bins);
	json_object_object_add(o, "functions", fns);
	return o;
}

static void ufns_from_json(struct json_object *o, struct cprv_plan *plan)
{
	struct json_object *bins, *fns, *v;

	if (json_object_object_get_ex(o, "binaries", &bins) &&
	    json_object_is_type(bins, json_type_array))
		for (size_t i = 0; i < json_object_array_length(bins) &&
		     plan->n_binaries < CPRV_MAX_BINARIES; i++)
			snprintf(plan->binaries[plan->n_binaries++], sizeof(plan->binaries[0]), "%s",
				 json_object_get_string(json_object_array_get_idx(bins, i)));
	if (!json_object_object_get_ex(o, "functions", &fns) ||
	    !json_object_is_type(fns, json_type_object))
		return;
	json_object_object_foreach(fns, sym, fo) {
		int f = cprv_ufn_by_symbol(sym);

		if (f < 0)
			continue;
		if (json_object_object_get_ex(fo, "attached", &v))
			plan->ufns[f].attached = json_object_get_int(v);
		if (json_object_object_get_ex(fo, "why", &v))
			snprintf(plan->ufns[f].why, sizeof(plan->ufns[f].why), "%s",
				 json_object_get_string(v));
	}
}

struct json_object *cprv_plan_to_json(const struct cprv_plan *plan)
{
	struct json_object *o = json_object_new_object();
	struct json_object *hooks = json_object_new_object();

	for (int h = 0; h < CPRV_HOOK_MAX; h++) {
		const struct cprv_hook_state *hs = &plan->hooks[h];
		const struct cprv_hook_def *d = &cprv_hook_table[h];
		struct json_object *ho = json_object_new_object();
		struct json_object *rej = json_object_new_array();

		json_object_object_add(ho, "stage", json_object_new_string(cprv_hook_stage(h)));
		json_object_object_add(ho, "attach",
				       json_object_new_string(cprv_attach_kind_name(cprv_plan_kind(plan, h))));
		json_object_object_add(ho, "target", hs->chosen < 0 ? NULL :
				       json_object_new_string(d->variants[hs->chosen].target));
		json_object_object_add(ho, "canary",
				       json_object_new_string(cprv_canary_state_name(hs->canary)));
		if (hs->canary_note[0])
			json_object_object_add(ho, "canary_note", json_object_new_string(hs->canary_note));
		json_object_object_add(ho, "canary_hits", json_object_new_int64(hs->canary_hits));
		for (int v = 0; v < CPRV_MAX_VARIANTS && d->variants[v].kind; v++) {
			struct json_object *r;

			if (!hs->why[v][0])
				continue;
			r = json_object_new_object();
			json_object_object_add(r, "attach",
					       json_object_new_string(cprv_attach_kind_name(d->variants[v].kind)));
			json_object_object_add(r, "why", json_object_new_string(hs->why[v]));
			json_object_array_add(rej, r);
		}
		json_object_object_add(ho, "rejected", rej);
		json_object_object_add(hooks, cprv_hook_name(h), ho);
	}
	json_object_object_add(o, "hooks", hooks);
	json_object_object_add(o, "uprobes", ufns_to_json(plan));
	json_object_object_add(o, "canary_ran", json_object_new_boolean(plan->canary_ran));
	json_object_object_add(o, "canary", json_object_new_string(plan->canary_summary));
	return o;
}

int cprv_attach_kind_from_name(const char *s)
{
	for (unsigned k = 0; k < sizeof(kind_names) / sizeof(kind_names[0]); k++)
		if (kind_names[k] && !strcmp(s, kind_names[k]))
			return k;
	return -1;
}

static int canary_from_name(const char *s)
{
	for (int k = 0; k < 4; k++)
		if (!strcmp(s, canary_names[k]))
			return k;
	return -1;
}

int cprv_plan_from_json(struct json_object *obj, struct cprv_plan *plan, char *err, size_t errlen)
{
	struct json_object *hooks, *v;

	cprv_plan_init(plan);
	if (!obj || !json_object_object_get_ex(obj, "hooks", &hooks) ||
	    !json_object_is_type(hooks, json_type_object)) {
		snprintf(err, errlen, "probe plan: missing 'hooks' object");
		return -1;
	}
	if (json_object_object_get_ex(obj, "uprobes", &v))
		ufns_from_json(v, plan);
	if (json_object_object_get_ex(obj, "canary_ran", &v))
		plan->canary_ran = json_object_get_boolean(v);
	if (json_object_object_get_ex(obj, "canary", &v))
		snprintf(plan->canary_summary, sizeof(plan->canary_summary), "%s",
			 json_object_get_string(v));
	for (int h = 0; h < CPRV_HOOK_MAX; h++) {
		struct cprv_hook_state *hs = &plan->hooks[h];
		const struct cprv_hook_def *d = &cprv_hook_table[h];
		struct json_object *ho, *a, *c;
		int kind, cs;

		/* a hook this version knows but the trace lacks stays unavailable */
		if (!json_object_object_get_ex(hooks, cprv_hook_name(h), &ho))
			continue;
		if (!json_object_object_get_ex(ho, "attach", &a) ||
		    (kind = cprv_attach_kind_from_name(json_object_get_string(a))) < 0) {
			snprintf(err, errlen, "probe plan: hook '%s' has no valid 'attach'", cprv_hook_name(h));
			return -1;
		}
		for (int i = 0; i < CPRV_MAX_VARIANTS && kind; i++)
			if (d->variants[i].kind == (enum cprv_attach_kind)kind)
				hs->chosen = i;
		if (json_object_object_get_ex(ho, "canary", &c) &&
		    (cs = canary_from_name(json_object_get_string(c))) >= 0)
			hs->canary = cs;
		if (json_object_object_get_ex(ho, "canary_note", &c))
			snprintf(hs->canary_note, sizeof(hs->canary_note), "%s", json_object_get_string(c));
		if (json_object_object_get_ex(ho, "canary_hits", &c))
			hs->canary_hits = json_object_get_int64(c);
	}
	return 0;
}

void cprv_plan_print(const struct cprv_plan *plan, FILE *out, bool verbose)
{
	fprintf(out, "%-28s %-9s %-11s %-9s %s\n", "hook", "stage", "attach", "canary", "note");
	for (int h = 0; h < CPRV_HOOK_MAX; h++) {
		const struct cprv_hook_state *hs = &plan->hooks[h];
		const struct cprv_hook_def *d = &cprv_hook_table[h];
		const char *note = hs->canary_note;
		char firstwhy[200] = "";

		for (int v = 0; v < CPRV_MAX_VARIANTS && d->variants[v].kind; v++) {
			if (hs->why[v][0] && (hs->chosen < 0 || v < hs->chosen)) {
				snprintf(firstwhy, sizeof(firstwhy), "%s: %s",
					 cprv_attach_kind_name(d->variants[v].kind), hs->why[v]);
				break;
			}
		}
		if (hs->chosen < 0 || (!note[0] && verbose))
			note = firstwhy;
		fprintf(out, "%-28s %-9s %-11s %-9s %s\n", cprv_hook_name(h), cprv_hook_stage(h),
			cprv_attach_kind_name(cprv_plan_kind(plan, h)),
			hs->chosen < 0 ? "-" : cprv_canary_state_name(hs->canary), note);
		if (verbose) {
			for (int v = 0; v < CPRV_MAX_VARIANTS && d->variants[v].kind; v++)
				if (hs->why[v][0])
					fprintf(out, "%28s rejected %s %s: %s\n", "",
						cprv_attach_kind_name(d->variants[v].kind), d->variants[v].target,
						hs->why[v]);
		}
	}
	for (unsigned i = 0; i < plan->n_binaries; i++)
		fprintf(out, "uprobes in %s\n", plan->binaries[i]);
	for (int f = 0; f < CPRV_UFN_MAX && plan->n_binaries; f++)
		if (verbose || !plan->ufns[f].attached)
			fprintf(out, "  %-38s %s\n", cprv_ufn_symbol(f),
				plan->ufns[f].attached ? "attached" :
				plan->ufns[f].why[0] ? plan->ufns[f].why : "not tried");
	fprintf(out, "canary: %s\n", plan->canary_ran ? plan->canary_summary : "did not run");
}

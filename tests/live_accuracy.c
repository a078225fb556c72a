/* The accuracy matrix (`make accuracy`, and part of the live tests): every
 * fault of the rig in both CPR modes, MSI and MSI-X, plus clean runs, each
 * recorded under the probes; the verdict must equal what the rig knows
 * happened: lost, duplicates, broken conformance rules. Every case runs
 * twice: recorded compact (runs, lib/run.h) and with --full-detail, so the
 * verdict is shown exact both ways (issue 7). Prints a table and
 * "N passed, N failed". Needs root and /dev/kvm (run-live.sh uses L1).
 * Usage: live_accuracy [--quick] [FAULT... | cycles] */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>
#include "liveutil.h"

struct acase {
	const char *fault;
	const char *mode;   /* transfer | exec */
	const char *extra;  /* more scenario keys, JSON members, or "" */
	const char *label;
	bool msix_only;
	bool msi;           /* run with plain MSI */
	bool full;          /* record with --full-detail (no runs) */
};

/* Sizes chosen for CI: short runs, enough fires in every blackout. */
#define BASE "\"format\":\"cprv-scenario\",\"version\":1,\"kind\":\"rig\"," \
	     "\"vectors\":4,\"rate_hz\":20000,\"duration_ms\":900,\"cpr_at_ms\":300," \
	     "\"blackout_ms\":40,\"settle_ms\":200"

/* fault, the modes it runs in, extra scenario keys, a label; every row
 * also runs with plain MSI unless it needs MSI-X masking (msix_only) */
static const struct acase matrix[] = {
	{ "none", "both", "", NULL, false, false, false },
	{ "none", "both", "\"fail_cpr\":true", "failed-cpr", false, false, false },
	{ "none", "both", "\"cycles\":3,\"duration_ms\":1500", "3-cycles", false, false, false },
	{ "new-eventfd", "both", "", NULL, false, false, false },
	{ "drain-before-attach", "both", "", NULL, false, false, false },
	{ "trigger-teardown", "both", "", NULL, false, false, false },
	{ "no-lapic-recovery", "both", "", NULL, false, false, false },
	{ "no-lapic-recovery", "exec", "\"cycles\":3,\"duration_ms\":1500", "3-cycles", false, false, false },
	{ "double-replay", "both", "", NULL, false, false, false },
	{ "route-changed", "both", "", NULL, false, false, false },
	{ "late-attach", "both", "\"duration_ms\":1500", NULL, false, false, false },
	{ "swapped-vectors", "both", "", NULL, false, false, false },
	/* long enough after the CPR that the kept VM outlives R6's grace */
	{ "old-vm-kept", "transfer", "\"duration_ms\":2000", NULL, false, false, false },
	{ "failed-cpr-no-reattach", "both", "\"fail_cpr\":true", NULL, false, false, false },
	/* MSI-X: vector 1 masked across the CPR (held in the PBA) */
	{ "none", "both", "\"mask\":[{\"vector\":1,\"at_ms\":200,\"for_ms\":300}]", "msix-mask", true, false, false },
	{ "pba-dropped", "both", "\"mask\":[{\"vector\":1,\"at_ms\":200,\"for_ms\":300}]", "msix-mask", true, false, false },
};

struct row {
	char label[64];
	long long exp_lost, got_lost, exp_dup, got_dup;
	char exp_rules[32], got_rules[32];
	char verdict[12];
	double secs;
	bool ok;
	char why[160];
};

static char cprv[256], plan[600], workdir[512];

static void rules_of(struct json_object *arr, char *out, size_t len)
{
	out[0] = 0;
	for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
		const char *r = json_object_get_string(json_object_array_get_idx(arr, i));

		snprintf(out + strlen(out), len - strlen(out), "%s%s", i ? "," : "", r);
	}
	if (!out[0])
		snprintf(out, len, "-");
}

static void broken_rules(struct json_object *report, char *out, size_t len)
{
	struct json_object *rules = NULL;

	out[0] = 0;
	if (json_object_object_get_ex(report, "rules", &rules)) {
		json_object_object_foreach(rules, name, r) {
			struct json_object *st = NULL;

			if (json_object_object_get_ex(r, "state", &st) &&
			    !strcmp(json_object_get_string(st), "broken"))
				snprintf(out + strlen(out), len - strlen(out), "%s%s", out[0] ? "," : "", name);
		}
	}
	if (!out[0])
		snprintf(out, len, "-");
}

static int64_t jint(struct json_object *o, const char *k, int64_t dflt)
{
	struct json_object *v;

	return json_object_object_get_ex(o, k, &v) ? json_object_get_int64(v) : dflt;
}

static void run_case(const struct acase *c, struct row *row)
{
	char dir[600], scn[700], gtp[700], label[64];
	char *argv[] = { cprv, "run", scn, "--lane", "host", "--json", "-o", dir, "--plan", plan,
			 c->full ? "--full-detail" : NULL, NULL };
	struct json_object *rep, *gt, *exp;
	struct cmd_result r;
	time_t t0 = time(NULL);
	FILE *f;

	snprintf(label, sizeof(label), "%s %s %s%s%s%s", c->fault, c->mode, c->msi ? "msi" : "msix",
		 c->label ? " " : "", c->label ? c->label : "", c->full ? " full" : "");
	snprintf(row->label, sizeof(row->label), "%s", label);
	snprintf(dir, sizeof(dir), "%s/%s-%s-%s%s%s%s", workdir, c->fault, c->mode,
		 c->msi ? "msi" : "msix", c->label ? "-" : "", c->label ? c->label : "",
		 c->full ? "-full" : "");
	mkdir(dir, 0755);
	snprintf(scn, sizeof(scn), "%s/scenario.json", dir);
	snprintf(gtp, sizeof(gtp), "%s/ground-truth.json", dir);
	f = fopen(scn, "w");
	fprintf(f, "{" BASE ",\"name\":\"acc-%s-%s\",\"mode\":\"%s\",\"fault\":\"%s\","
		"\"msi\":\"%s\"%s%s}\n", c->fault, c->mode, c->mode, c->fault,
		c->msi ? "msi" : "msix", c->extra[0] ? "," : "", c->extra);
	fclose(f);

	if (live_run(argv, 900, &r)) {
		snprintf(row->why, sizeof(row->why), "could not start cpr-verify");
		return;
	}
	row->secs = difftime(time(NULL), t0);
	rep = json_tokener_parse(r.out);
	gt = json_object_from_file(gtp);
	if (!rep || !gt) {
		char errp[700];

		/* the whole of cpr-verify's stderr (the rig's included) beside
		 * the case's files: the row has room for its name only */
		snprintf(errp, sizeof(errp), "%s/stderr.txt", dir);
		f = fopen(errp, "w");
		if (f) {
			fputs(r.err ? r.err : "", f);
			fclose(f);
		}
		snprintf(row->why, sizeof(row->why), "exit %d, %s; stderr in %.100s", r.status,
			 rep ? "no ground truth" : "no JSON report", errp);
		live_result_free(&r);
		json_object_put(rep);
		json_object_put(gt);
		return;
	}
	json_object_object_get_ex(gt, "expected", &exp);
	row->exp_lost = jint(exp, "lost", -1);
	row->exp_dup = jint(exp, "duplicates", -1);
	row->got_lost = jint(rep, "lost", -1);
	row->got_dup = jint(rep, "duplicates", -1);
	{
		struct json_object *rb = NULL;

		json_object_object_get_ex(exp, "rules_broken", &rb);
		rules_of(rb, row->exp_rules, sizeof(row->exp_rules));
	}
	broken_rules(rep, row->got_rules, sizeof(row->got_rules));
	{
		struct json_object *v = NULL;

		json_object_object_get_ex(rep, "verdict", &v);
		snprintf(row->verdict, sizeof(row->verdict), "%s", v ? json_object_get_string(v) : "?");
	}
	row->ok = row->exp_lost == row->got_lost && row->exp_dup == row->got_dup &&
		  !strcmp(row->exp_rules, row->got_rules) &&
		  !strcmp(row->verdict, row->exp_lost || row->exp_dup || strcmp(row->exp_rules, "-") ?
			  "fail" : "pass");
	if (!row->ok)
		snprintf(row->why, sizeof(row->why), "see %s", dir);
	json_object_put(rep);
	json_object_put(gt);
	live_result_free(&r);
}

/* Arguments other than --quick name the faults to run ("cycles": the long
 * clean run); none: all. */
static bool wanted(int argc, char **argv, const char *name)
{
	bool any = false;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quick"))
			continue;
		any = true;
		if (!strcmp(argv[i], name))
			return true;
	}
	return !any;
}

int main(int argc, char **argv)
{
	static struct acase cases[256];
	static struct row rows[256];
	char *probe[] = { cprv, "probe", "--json", NULL };
	const char *modes[] = { "transfer", "exec" };
	struct cmd_result r;
	int n = 0, passed = 0, failed = 0;
	bool quick = argc > 1 && !strcmp(argv[1], "--quick");
	FILE *f;

	if (access("/dev/kvm", R_OK | W_OK)) {
		fprintf(stderr, "accuracy: needs /dev/kvm (run it through tests/run-live.sh or tools/l1-run)\n");
		printf("0 passed, 1 failed\n");
		return 1;
	}
	live_path(cprv, sizeof(cprv), "cpr-verify");
	live_tmpdir(workdir, sizeof(workdir), "accuracy");
	snprintf(plan, sizeof(plan), "%s/plan.json", workdir);
	if (live_run(probe, 600, &r) || r.status) {
		fprintf(stderr, "accuracy: probe failed: %s\n", r.err);
		printf("0 passed, 1 failed\n");
		return 1;
	}
	f = fopen(plan, "w");
	fputs(r.out, f);
	fclose(f);
	live_result_free(&r);

	for (size_t i = 0; i < sizeof(matrix) / sizeof(matrix[0]); i++) {
		const struct acase *m = &matrix[i];

		if (!wanted(argc, argv, m->fault))
			continue;
		for (int msi = 0; msi < (m->msix_only ? 1 : 2); msi++)
			for (int k = 0; k < 2; k++)
				for (int full = 0; full < 2; full++)
					if (!strcmp(m->mode, "both") || !strcmp(m->mode, modes[k]))
						cases[n++] = (struct acase){ m->fault, modes[k], m->extra,
									     m->label, m->msix_only, msi,
									     full };
	}
	if (!quick && wanted(argc, argv, "cycles"))
		cases[n++] = (struct acase){ "none", "transfer",
					     "\"cycles\":100,\"duration_ms\":40000,\"cpr_at_ms\":200,"
					     "\"blackout_ms\":10", "100-cycles", false, false, false };

	printf("%-40s %9s %9s %6s %6s %-12s %-12s %-8s %5s %s\n", "case", "exp lost", "lost",
	       "exp dup", "dup", "exp rules", "rules", "verdict", "secs", "");
	for (int i = 0; i < n; i++) {
		struct row *w = &rows[i];

		run_case(&cases[i], w);
		printf("%-40s %9lld %9lld %6lld %6lld %-12s %-12s %-8s %5.0f %s %s\n", w->label,
		       w->exp_lost, w->got_lost, w->exp_dup, w->got_dup, w->exp_rules, w->got_rules,
		       w->verdict, w->secs, w->ok ? "ok" : "MISMATCH", w->why);
		fflush(stdout);
		w->ok ? passed++ : failed++;
	}
	printf("accuracy: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}

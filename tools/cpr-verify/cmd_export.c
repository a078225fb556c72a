/* cpr-verify export: a trace in another tool's format (Chrome trace-event
 * JSON for Perfetto UI). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <json-c/json.h>
#include "cli.h"
#include "export.h"
#include "judge.h"

static const char help[] =
"usage: cpr-verify export FILE --chrome-trace OUT.json [--raw]\n"
"\n"
"Writes the trace as Chrome trace-event JSON, which Perfetto UI\n"
"(ui.perfetto.dev, \"Open trace file\") and chrome://tracing open: one track\n"
"per MSI vector (fires, injections, lost and duplicate MSIs with their\n"
"chains), one for the CPR (cycles and blackouts as spans, QEMU's CPR steps)\n"
"and one per recorded thread for the KVM/VFIO plumbing. Times are in\n"
"microseconds with nanosecond decimals. The file is streamed: memory stays\n"
"flat for any trace length.\n"
"\n"
"  --chrome-trace OUT.json  where to write it ('-': stdout)\n"
"  --raw                    skip the analysis: every event on its own\n"
"                           thread, no vector tracks, cycles or lost marks\n"
"\n"
"exit: 0 written, 3 usage, 4 not a trace / damaged header, 6 I/O error.\n";

static int write_out(struct cli *c, const char *trace, const char *out,
		     struct json_object *report)
{
	struct cprv_export_stats st;
	char err[512], tmp[4096];
	bool to_stdout = !strcmp(out, "-");
	FILE *f = stdout;
	int rc;

	snprintf(tmp, sizeof(tmp), "%s.tmp", out);
	if (!to_stdout && !(f = fopen(tmp, "w"))) {
		cli_err(c, "%s: %s", tmp, strerror(errno));
		return CPRV_EXIT_TOOL;
	}
	rc = cprv_export_chrome(f, trace, report, &st, err, sizeof(err));
	if (!to_stdout && fclose(f) && !rc) {
		snprintf(err, sizeof(err), "writing %s: %s", tmp, strerror(errno));
		rc = -1;
	}
	if (!rc && !to_stdout && rename(tmp, out)) {
		snprintf(err, sizeof(err), "renaming %s: %s", tmp, strerror(errno));
		rc = -1;
	}
	if (rc) {
		if (!to_stdout)
			unlink(tmp);
		cli_err(c, "%s", err);
		return st.input_error ? CPRV_EXIT_INPUT : CPRV_EXIT_TOOL;
	}
	if (!to_stdout)
		cli_info(c, "%s: %llu events as %llu trace-event records", out,
			 (unsigned long long)st.events, (unsigned long long)st.written);
	return CPRV_EXIT_PASS;
}

int cmd_export(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "chrome-trace", required_argument, NULL, 'c' }, { "raw", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' }, { 0 } };
	struct cprv_judge_opts jo = { 0 };
	struct json_object *report = NULL;
	struct cprv_judgement *j;
	enum cprv_judge_error e;
	const char *out = NULL;
	bool raw = false;
	char err[512];
	int o, rc;

	optind = 1;
	while ((o = getopt_long(argc, argv, "c:rh", opts, NULL)) != -1) {
		switch (o) {
		case 'c': out = optarg; break;
		case 'r': raw = true; break;
		case 'h': fputs(help, stdout); return CPRV_EXIT_PASS;
		default: fputs(help, stderr); return CPRV_EXIT_USAGE;
		}
	}
	if (optind != argc - 1 || !out) {
		cli_err(c, "export: give one trace FILE and --chrome-trace OUT.json");
		return CPRV_EXIT_USAGE;
	}
	jo.trace = argv[optind];
	if (!raw) {
		/* the analysis names the vectors and finds the cycles and losses */
		j = cprv_judge(&jo, &e, err, sizeof(err));
		if (!j) {
			cli_err(c, "%s", err);
			return e == CPRV_JUDGE_BAD_INPUT ? CPRV_EXIT_INPUT : CPRV_EXIT_TOOL;
		}
		report = cprv_judgement_json(j);
		cprv_judgement_free(j);
	}
	rc = write_out(c, jo.trace, out, report);
	json_object_put(report);
	return rc;
}

/* cpr-verify report: the verdict on a recorded trace. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "cli.h"
#include "judge.h"
#include "report_html.h"

static const char help[] =
"usage: cpr-verify report FILE [--json] [--html OUT.html] [--ground-truth GT.json]\n"
"                         [--settle-ms N] [-v]\n"
"\n"
"Rebuilds every vector's MSI flow from a trace (fire -> eventfd -> irqfd ->\n"
"injection -> LAPIC accept), judges it (DESIGN section 3) and prints:\n"
"  delivered   fires covered by an injection\n"
"  coalesced   fires covered by an injection that also covered an earlier\n"
"              fire (edge MSIs and eventfd counters merge: legal)\n"
"  lost        fires no injection covered within the settle window\n"
"  duplicates  injections with no uncovered fire on their vector\n"
"  gaps        fire-to-injection delay, longest delivery gap, CPR blackout\n"
"Every lost or duplicate MSI is listed with the chain of events behind it.\n"
"A stage the probes could not see is named, never reported clean.\n"
"\n"
"  --json                 the report as JSON (verdict, counts, vectors, cpr, plan)\n"
"  --html OUT.html        also write the report as one self-contained HTML page\n"
"                         (verdict, timeline per vector, gap histograms, every\n"
"                         lost/duplicate MSI with its chain; opens offline)\n"
"  --ground-truth FILE    compare with what the rig really did; a mismatch fails\n"
"  --settle-ms N          how long after a fire an injection may still cover it\n"
"                         before the end of the trace (default 200)\n"
"  -v                     every evidence chain, not just the first few\n"
"\n"
"exit: 0 pass, 1 fail, 2 could not judge, 3 usage, 4 malformed trace or\n"
"ground truth.\n";

int cmd_report(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' }, { "ground-truth", required_argument, NULL, 'g' },
		{ "settle-ms", required_argument, NULL, 's' }, { "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' }, { "html", required_argument, NULL, 'H' }, { 0 } };
	struct cprv_judge_opts jo = { 0 };
	struct cprv_judgement *j;
	enum cprv_judge_error e;
	const char *html = NULL;
	char err[512];
	int o, rc;

	optind = 1;
	while ((o = getopt_long(argc, argv, "jg:s:vh", opts, NULL)) != -1) {
		switch (o) {
		case 'H': html = optarg; break;
		case 'j': c->json = true; break;
		case 'g': jo.ground_truth = optarg; break;
		case 's': {
			char *end;
			long ms = strtol(optarg, &end, 10);

			if (*end || ms <= 0) {
				cli_err(c, "--settle-ms: '%s' is not a positive number", optarg);
				return CPRV_EXIT_USAGE;
			}
			jo.settle_ns = (uint64_t)ms * 1000000ull;
			break;
		}
		case 'v': c->verbose = true; break;
		case 'h': fputs(help, stdout); return CPRV_EXIT_PASS;
		default: fputs(help, stderr); return CPRV_EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		cli_err(c, "report: give exactly one trace FILE");
		return CPRV_EXIT_USAGE;
	}
	jo.trace = argv[optind];
	j = cprv_judge(&jo, &e, err, sizeof(err));
	if (!j) {
		cli_err(c, "%s", err);
		return e == CPRV_JUDGE_BAD_INPUT ? CPRV_EXIT_INPUT : CPRV_EXIT_TOOL;
	}
	cli_print_judgement(c, j);
	rc = cprv_judgement_exit_code(j);
	if (html && cprv_report_html_file(html, j, NULL)) {
		cli_err(c, "writing %s: %s", html, strerror(errno));
		rc = CPRV_EXIT_TOOL;
	}
	cprv_judgement_free(j);
	return rc;
}

/* cpr-verify dump: the recorded events, one per line or as JSON lines. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "cli.h"
#include "event.h"
#include "trace.h"

static const char help[] =
"usage: cpr-verify dump FILE [--json] [--header] [--limit N]\n"
"\n"
"Prints the events of a trace, one per line, times in seconds from the\n"
"first event. A trace cut short or damaged prints what it holds and says\n"
"where and why it stopped (on stderr).\n"
"\n"
"  --json       one JSON object per line (JSON lines), lossless\n"
"  --header     print the trace header (tool, kernel, plan, canary) first\n"
"  --limit N    stop after N events\n"
"\n"
"exit: 0 read to the end, 4 not a trace / damaged (what was readable is\n"
"printed), 3 usage.\n";

int cmd_dump(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' }, { "header", no_argument, NULL, 'H' },
		{ "limit", required_argument, NULL, 'n' }, { "help", no_argument, NULL, 'h' },
		{ 0 } };
	bool header = false;
	unsigned long long limit = ~0ull, n = 0;
	struct cprv_trace_reader *r;
	struct cprv_event ev;
	uint64_t base = 0;
	char err[256], line[512];
	int o, rc;

	optind = 1;
	while ((o = getopt_long(argc, argv, "jHn:h", opts, NULL)) != -1) {
		switch (o) {
		case 'j': c->json = true; break;
		case 'H': header = true; break;
		case 'n': limit = strtoull(optarg, NULL, 10); break;
		case 'h': fputs(help, stdout); return CPRV_EXIT_PASS;
		default: fputs(help, stderr); return CPRV_EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		cli_err(c, "dump: give exactly one trace FILE");
		return CPRV_EXIT_USAGE;
	}
	r = cprv_trace_reader_open(argv[optind], err, sizeof(err));
	if (!r) {
		cli_err(c, "%s", err);
		return CPRV_EXIT_INPUT;
	}
	if (header)
		printf("%s\n", cprv_trace_meta(r));
	while (n < limit && (rc = cprv_trace_next(r, &ev)) > 0) {
		if (!base)
			base = ev.ts;
		if (c->json) {
			struct json_object *j = cprv_event_to_json(&ev);

			puts(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
			json_object_put(j);
		} else {
			cprv_event_format(&ev, base, line, sizeof(line));
			puts(line);
		}
		n++;
	}
	if (n < limit && rc < 0) {
		cli_err(c, "reading %s: %s", argv[optind], strerror(-rc));
		cprv_trace_reader_close(r);
		return CPRV_EXIT_INPUT;
	}
	rc = CPRV_EXIT_PASS;
	if (n < limit && cprv_trace_status(r) != CPRV_TRACE_COMPLETE) {
		cli_err(c, "%s: %s: %s", argv[optind], cprv_trace_status_name(cprv_trace_status(r)),
			cprv_trace_status_msg(r));
		rc = cprv_trace_status(r) == CPRV_TRACE_CORRUPT ? CPRV_EXIT_INPUT : CPRV_EXIT_PASS;
	}
	cprv_trace_reader_close(r);
	return rc;
}

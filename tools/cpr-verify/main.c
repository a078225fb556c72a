/* cpr-verify: proves whether a QEMU live update loses or duplicates MSIs. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "cli.h"

static const char usage[] =
"usage: cpr-verify [-v] COMMAND [ARGS]\n"
"\n"
"Records what happens to device MSIs (vfio -> eventfd -> KVM irqfd -> guest\n"
"LAPIC) while QEMU is live-updated (CPR), and says whether any were lost or\n"
"duplicated, with the events that prove it.\n"
"\n"
"commands:\n"
"  probe [--json] [-v]          which probe this kernel takes for each hook, and\n"
"                               whether a canary VM proved it live\n"
"  record -o FILE (-p PID... | -- COMMAND ARGS...)\n"
"                               record until COMMAND exits or SIGINT\n"
"  dump FILE [--json]           the recorded events, readable\n"
"  report FILE [--json] [--html OUT.html] [--ground-truth GT.json]\n"
"                               the verdict: delivered, coalesced, lost, duplicate\n"
"                               MSIs per vector, delivery gaps, the CPR blackout\n"
"  export FILE --chrome-trace OUT.json\n"
"                               the trace as Chrome trace-event JSON (Perfetto UI)\n"
"  run [SCENARIO] [--mode transfer|exec] [--fault NAME] [--json] [-o DIR]\n"
"                               record a scenario and report on it; without\n"
"                               SCENARIO: the rig, one cpr-transfer under load\n"
"  gate --candidate QEMU --reference QEMU [SCENARIO]\n"
"                               run a qemu scenario on both builds and fail if\n"
"                               the candidate does worse (CI gate; JSON, JUnit)\n"
"\n"
"Each command takes --help.\n"
"\n"
"exit codes:\n"
"  0  pass (or the command succeeded)\n"
"  1  fail: lost or duplicate MSIs, or the verdict disagrees with ground truth\n"
"  2  could not judge: a stage the verdict needs was not visible, events were\n"
"     dropped, or nothing was recorded\n"
"  3  usage error\n"
"  4  malformed input (trace, scenario, ground truth)\n"
"  5  missing privileges or kernel features (root, BTF, tracefs)\n"
"  6  internal or I/O error, or the workload could not be started\n";

struct cmd {
	const char *name;
	int (*fn)(struct cli *c, int argc, char **argv);
};

static const struct cmd cmds[] = {
	{ "probe", cmd_probe },	  { "record", cmd_record }, { "dump", cmd_dump },
	{ "report", cmd_report }, { "run", cmd_run },
	{ "export", cmd_export },
	{ "gate", cmd_gate },
	/* internal: the workload `run` records for a qemu scenario */
	{ "drive-qemu", cmd_drive },
};

static void vmsg(const struct cli *c, const char *kind, const char *fmt, va_list ap)
{
	char buf[1024];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (c && c->json && !strcmp(kind, "error")) {
		/* JSON mode keeps stdout parseable: errors are an object there */
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "error", json_object_new_string(buf));
		puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
	}
	fprintf(stderr, "cpr-verify: %s%s%s\n", strcmp(kind, "info") ? kind : "",
		strcmp(kind, "info") ? ": " : "", buf);
}

void cli_err(const struct cli *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(c, "error", fmt, ap);
	va_end(ap);
}

void cli_info(const struct cli *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(c, "info", fmt, ap);
	va_end(ap);
}

int main(int argc, char **argv)
{
	struct cli c = { .prog = "cpr-verify" };
	int i = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose")) {
			c.verbose = true;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(usage, stdout);
			return CPRV_EXIT_PASS;
		} else if (!strcmp(argv[i], "--version")) {
			printf("cpr-verify %s\n", CPRV_VERSION);
			return CPRV_EXIT_PASS;
		} else {
			fprintf(stderr, "cpr-verify: unknown option '%s'\n\n%s", argv[i], usage);
			return CPRV_EXIT_USAGE;
		}
	}
	if (i >= argc) {
		fputs(usage, stderr);
		return CPRV_EXIT_USAGE;
	}
	for (size_t k = 0; k < sizeof(cmds) / sizeof(cmds[0]); k++)
		if (!strcmp(argv[i], cmds[k].name))
			return cmds[k].fn(&c, argc - i, argv + i);
	fprintf(stderr, "cpr-verify: unknown command '%s'\n\n%s", argv[i], usage);
	return CPRV_EXIT_USAGE;
}

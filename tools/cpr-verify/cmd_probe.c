/* cpr-verify probe: the plan table and the canary result. */
#include <getopt.h>
#include <string.h>
#include <json-c/json.h>
#include "cli.h"

static const char help[] =
"usage: cpr-verify probe [--json] [-v] [--deny KINDS]\n"
"\n"
"Tries every attach variant of every hook on the MSI path (fentry, kprobe,\n"
"BTF tracepoint, tracepoint, syscall tracepoint, and for write() the raw\n"
"sys_enter tracepoint by BTF), keeps the best one that\n"
"loads and attaches, then proves each live with a canary: a scratch KVM VM\n"
"with an irqchip, an MSI route and an irqfd, signalled for real.\n"
"\n"
"  --json         print the plan as JSON\n"
"  -v             also print why each rejected variant was rejected\n"
"  --deny KINDS   never use these attach kinds (comma list: fentry,kprobe,\n"
"                 tp_btf,tracepoint,syscall,syscall_btf), e.g. to test a\n"
"                 fallback; syscall_btf (sys_enter by BTF) is both a BTF\n"
"                 tracepoint and a syscall hook: tp_btf and syscall deny it too\n"
"\n"
"canary states: live (fired), dead (attached and exercised but never fired:\n"
"the stage is blind), unproven (the canary could not exercise it here, e.g.\n"
"no /dev/kvm or no vfio device).\n"
"\n"
"exit: 0 when fires (S0'/S1) and injections (S3) are proven live, 2 when a\n"
"recording here could not be judged, 5 without root/BTF/tracefs.\n";

static bool verdict_possible(const struct cprv_plan *plan)
{
	struct cprv_visibility vis;

	cprv_plan_visibility(plan, &vis);
	return (vis.live[CPRV_EV_EVENTFD_WRITE] || vis.live[CPRV_EV_EVENTFD_SIGNAL]) &&
	       vis.live[CPRV_EV_KVM_MSI_SET_IRQ];
}

int cmd_probe(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' }, { "deny", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' }, { "verbose", no_argument, NULL, 'v' },
		{ 0 } };
	struct cprv_probe_opts po = { 0 };
	struct cprv_plan plan;
	struct cprv_probes *p;
	int o, rc;

	optind = 1;
	while ((o = getopt_long(argc, argv, "jd:hv", opts, NULL)) != -1) {
		switch (o) {
		case 'j': c->json = true; break;
		case 'v': c->verbose = true; break;
		case 'd':
			if (cli_parse_deny(optarg, &po.deny_kinds)) {
				cli_err(c, "--deny: unknown attach kind in '%s'", optarg);
				return CPRV_EXIT_USAGE;
			}
			break;
		case 'h': fputs(help, stdout); return CPRV_EXIT_PASS;
		default: fputs(help, stderr); return CPRV_EXIT_USAGE;
		}
	}
	po.verbose = c->verbose && !c->json;
	cprv_plan_init(&plan);
	p = cli_probes_start(c, &plan, &po, NULL, &rc);
	if (!p)
		return rc;
	cprv_probes_free(p);
	if (c->json) {
		struct json_object *j = cprv_plan_to_json(&plan);

		json_object_object_add(j, "verdict_possible", json_object_new_boolean(verdict_possible(&plan)));
		puts(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY));
		json_object_put(j);
	} else {
		cprv_plan_print(&plan, stdout, c->verbose);
		printf("%s\n", verdict_possible(&plan) ?
		       "verdicts possible: fires and injections are proven live" :
		       "verdicts NOT possible here: fires or injections are not proven live");
	}
	return verdict_possible(&plan) ? CPRV_EXIT_PASS : CPRV_EXIT_UNJUDGED;
}

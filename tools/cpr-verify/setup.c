/* The probe set-up shared by probe, record and run. */
#include <errno.h>
#include <string.h>
#include "canary.h"
#include "cli.h"

int cli_parse_deny(const char *list, unsigned *mask)
{
	char buf[128], *save = NULL, *tok;

	snprintf(buf, sizeof(buf), "%s", list);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int k;

		for (k = CPRV_ATTACH_FENTRY; k <= CPRV_ATTACH_SYSCALL; k++)
			if (!strcmp(tok, cprv_attach_kind_name(k)))
				break;
		if (k > CPRV_ATTACH_SYSCALL)
			return -1;
		*mask |= 1u << k;
	}
	return 0;
}

struct cprv_probes *cli_probes_start(const struct cli *c, struct cprv_plan *plan,
				     const struct cprv_probe_opts *opts, int *exit_code)
{
	struct cprv_probes *p;
	char err[512];
	int rc;

	rc = cprv_probes_env_check(err, sizeof(err));
	if (rc) {
		cli_err(c, "%s", err);
		*exit_code = CPRV_EXIT_ENV;
		return NULL;
	}
	cli_info(c, "resolving the probe plan (trying each attach variant)...");
	rc = cprv_plan_resolve(plan, opts, err, sizeof(err));
	if (rc) {
		cli_err(c, "%s", err);
		*exit_code = CPRV_EXIT_ENV;
		return NULL;
	}
	p = cprv_probes_load(plan, opts, err, sizeof(err));
	if (!p) {
		cli_err(c, "%s", err);
		*exit_code = CPRV_EXIT_TOOL;
		return NULL;
	}
	cli_info(c, "running the canary (scratch VM, MSI route, irqfd)...");
	if (cprv_canary_run(p, plan, err, sizeof(err))) {
		cli_err(c, "%s", err);
		cprv_probes_free(p);
		*exit_code = CPRV_EXIT_TOOL;
		return NULL;
	}
	/* re-pick variants the canary caught dead, when a next one exists */
	for (int round = 0; round < 2; round++) {
		bool changed = false;

		for (int h = 0; h < CPRV_HOOK_MAX; h++) {
			struct cprv_hook_state *hs = &plan->hooks[h];

			if (hs->canary != CPRV_CANARY_DEAD || hs->chosen < 0 ||
			    hs->chosen + 1 >= CPRV_MAX_VARIANTS ||
			    !cprv_hook_table[h].variants[hs->chosen + 1].kind)
				continue;
			snprintf(hs->why[hs->chosen], sizeof(hs->why[0]),
				 "attached but never fired in the canary (dead probe)");
			plan->deny_kinds |= 0; /* only this hook moves on */
			hs->chosen++;
			changed = true;
		}
		if (!changed)
			break;
		cli_info(c, "switching dead probes to their next variant and re-running the canary");
		cprv_probes_free(p);
		p = cprv_probes_load(plan, opts, err, sizeof(err));
		if (!p || cprv_canary_run(p, plan, err, sizeof(err))) {
			cli_err(c, "%s", err);
			cprv_probes_free(p);
			*exit_code = CPRV_EXIT_TOOL;
			return NULL;
		}
	}
	cli_info(c, "canary: %s", plan->canary_summary);
	*exit_code = 0;
	return p;
}

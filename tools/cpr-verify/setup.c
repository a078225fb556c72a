/* The probe set-up shared by probe, record and run. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/utsname.h>
#include "judge.h"
#include "record.h"
#include "canary.h"
#include "cli.h"
#include "scenario.h"

int cli_parse_deny(const char *list, unsigned *mask)
{
	char buf[128], *save = NULL, *tok;

	snprintf(buf, sizeof(buf), "%s", list);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int k = cprv_attach_kind_from_name(tok);

		if (k <= CPRV_ATTACH_NONE)
			return -1;
		*mask |= 1u << k;
	}
	return 0;
}

/* A plan saved by `probe --json` (or a trace header): the variants are
 * taken as they are, the canary still proves them here. */
static int load_plan_file(const struct cli *c, const char *path, struct cprv_plan *plan)
{
	struct json_object *j = json_object_from_file(path), *pj = j;
	char err[256];
	int rc;

	if (!j) {
		cli_err(c, "--plan %s: %s", path, json_util_get_last_err());
		return -1;
	}
	struct json_object *inner;

	if (json_object_object_get_ex(j, "plan", &inner)) /* a trace header */
		pj = inner;
	rc = cprv_plan_from_json(pj, plan, err, sizeof(err));
	if (rc)
		cli_err(c, "--plan %s: %s", path, err);
	for (int h = 0; h < CPRV_HOOK_MAX; h++) {
		plan->hooks[h].canary = CPRV_CANARY_UNTESTED;
		plan->hooks[h].canary_note[0] = 0;
	}
	plan->canary_ran = false;
	json_object_put(j);
	return rc;
}

struct cprv_probes *cli_probes_start(const struct cli *c, struct cprv_plan *plan,
				     const struct cprv_probe_opts *opts, const char *plan_file,
				     int *exit_code)
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
	if (plan_file) {
		if (load_plan_file(c, plan_file, plan)) {
			*exit_code = CPRV_EXIT_INPUT;
			return NULL;
		}
		cli_info(c, "probe plan from %s", plan_file);
	} else {
		cli_info(c, "resolving the probe plan (trying each attach variant)...");
		rc = cprv_plan_resolve(plan, opts, err, sizeof(err));
		if (rc) {
			cli_err(c, "%s", err);
			*exit_code = CPRV_EXIT_ENV;
			return NULL;
		}
	}
	p = cprv_probes_load(plan, opts, err, sizeof(err));
	if (!p) {
		cli_err(c, "%s%s", err, plan_file ? " (a --plan from another kernel? run `cpr-verify probe --json` here)" : "");
		*exit_code = plan_file ? CPRV_EXIT_ENV : CPRV_EXIT_TOOL;
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

char *cli_trace_meta(const struct cprv_plan *plan, struct json_object *extra)
{
	struct json_object *o = json_object_new_object();
	struct utsname u;
	char *s;

	uname(&u);
	json_object_object_add(o, "format", json_object_new_string("cprv-trace"));
	json_object_object_add(o, "tool", json_object_new_string("cpr-verify"));
	json_object_object_add(o, "tool_version", json_object_new_string(CPRV_VERSION));
	json_object_object_add(o, "kernel", json_object_new_string(u.release));
	json_object_object_add(o, "machine", json_object_new_string(u.machine));
	json_object_object_add(o, "clock", json_object_new_string("CLOCK_MONOTONIC"));
	json_object_object_add(o, "start_ns", json_object_new_int64(cprv_now_ns()));
	json_object_object_add(o, "start_unix", json_object_new_int64(time(NULL)));
	json_object_object_add(o, "plan", cprv_plan_to_json(plan));
	if (extra) {
		json_object_object_foreach(extra, k, v)
			json_object_object_add(o, k, json_object_get(v));
	}
	s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return s;
}

static volatile sig_atomic_t *stop_flag;

static void on_stop_signal(int sig)
{
	if (stop_flag)
		*stop_flag = sig;
}

void cli_catch_stop(volatile sig_atomic_t *flag)
{
	struct sigaction sa = { .sa_handler = on_stop_signal };

	stop_flag = flag;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

int cli_record(const struct cli *c, struct cprv_probes *p, const struct cprv_plan *plan,
	       struct cprv_record_opts *ro, struct json_object *extra,
	       struct cprv_record_result *res)
{
	static volatile sig_atomic_t stop;
	struct json_object *ex = extra ? json_object_get(extra) : json_object_new_object();
	char err[512], *meta;
	int rc;

	/* runs or every event whole (lib/run.h): readers expand runs either way */
	json_object_object_add(ex, "recording",
			       json_object_new_string(cprv_probes_compact(p) ? "compact" : "full"));
	meta = cli_trace_meta(plan, ex);
	json_object_put(ex);

	ro->meta_json = meta;
	ro->stop = &stop;
	cli_catch_stop(&stop);
	rc = cprv_record(p, ro, res, err, sizeof(err));
	cprv_probes_free(p);
	free(meta);
	if (rc) {
		cli_err(c, "%s", err);
		return CPRV_EXIT_TOOL;
	}
	cli_info(c, "%s: %llu events, %llu dropped, %llu bytes (%.2f bytes/event), %.2f s; stopped: %s",
		 ro->path, (unsigned long long)res->events, (unsigned long long)res->drops,
		 (unsigned long long)res->bytes, res->events ? (double)res->bytes / res->events : 0.0,
		 res->duration_ns / 1e9, res->stop_reason);
	return 0;
}

void cli_print_judgement(const struct cli *c, const struct cprv_judgement *j)
{
	if (c->json) {
		struct json_object *r = cprv_judgement_json(j);

		puts(json_object_to_json_string_ext(r, JSON_C_TO_STRING_PRETTY));
		json_object_put(r);
	} else {
		cprv_judgement_text(j, stdout, c->verbose);
	}
}

/* Hardware virtualization: KVM on vmx/svm runs any guest. A paravirtual
 * KVM (PVM, kvm_pvm) also gives /dev/kvm, VMs, irqchips and irqfds, but
 * runs only guests built for it: QEMU's 32-bit boot of the test guest
 * stops at its first iret with an emulation failure (measured). */
static bool cpu_has_hw_virt(void)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[8192];
	bool yes = false;

	if (!f)
		return false;
	while (!yes && fgets(line, sizeof(line), f))
		if (!strncmp(line, "flags", 5))
			yes = strstr(line, " vmx") || strstr(line, " svm");
	fclose(f);
	return yes;
}

bool cli_host_lane(const struct cprv_scenario *s, char *why, size_t len)
{
	if (access("/dev/kvm", R_OK | W_OK)) {
		snprintf(why, len, "this kernel has no usable /dev/kvm (%s)", strerror(errno));
		return false;
	}
	if (s->kind != CPRV_KIND_QEMU)
		return true; /* the rig's vCPUs never run */
	if (s->qemu.vfio_device[0]) {
		snprintf(why, len, "the scenario's vfio device (%s) is the L1 guest's", s->qemu.vfio_device);
		return false;
	}
	if (!cpu_has_hw_virt()) {
		snprintf(why, len, "this host's KVM has no hardware virtualization (no vmx/svm%s): it cannot run a QEMU guest",
			 access("/sys/module/kvm_pvm", F_OK) ? "" : "; it is PVM");
		return false;
	}
	return true;
}

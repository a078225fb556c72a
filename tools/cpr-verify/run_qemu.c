/* `run` for a qemu scenario: probes (kernel hooks plus uprobes on QEMU's
 * CPR functions and on the driver's marks), then the driver (drive-qemu)
 * recorded as the workload, then the verdict from the trace and the
 * driver's outcome. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <json-c/json.h>

#include "cli.h"
#include "judge.h"
#include "record.h"
#include "run.h"
#include "vfio_bind.h"

static bool is_elf(const char *path)
{
	unsigned char m[4] = { 0 };
	FILE *f = fopen(path, "rb");
	bool elf;

	if (!f)
		return false;
	elf = fread(m, 1, 4, f) == 4 && m[0] == 0x7f && m[1] == 'E' && m[2] == 'L' && m[3] == 'F';
	fclose(f);
	return elf;
}

/* A wrapper script names its binary on a "# cprv-qemu-elf: PATH" line;
 * a relative PATH is relative to the script's directory. */
static int script_elf(const char *script, char *elf, size_t len)
{
	char dir[PATH_MAX];
	char line[1024];
	FILE *f = fopen(script, "r");
	int rc = -1;

	if (!f)
		return -1;
	while (rc && fgets(line, sizeof(line), f)) {
		char *p = strstr(line, "# cprv-qemu-elf:");

		if (!p)
			continue;
		p += strlen("# cprv-qemu-elf:");
		p += strspn(p, " \t");
		p[strcspn(p, "\r\n")] = 0;
		snprintf(dir, sizeof(dir), "%s", script);
		if (*p != '/' && strrchr(dir, '/'))
			snprintf(elf, len, "%.*s/%s", (int)(strrchr(dir, '/') - dir), dir, p);
		else
			snprintf(elf, len, "%s", p);
		rc = 0;
	}
	fclose(f);
	return rc;
}

int qemu_resolve(const char *home, const char *spec, char *wrapper, size_t wlen, char *elf,
		 size_t elen, char *err, size_t errlen)
{
	char path[PATH_MAX];

	if (strchr(spec, '/')) {
		snprintf(path, sizeof(path), "%s", spec);
	} else {
		snprintf(path, sizeof(path), "%s/scenarios/cache/qemu/bin/qemu-%s", home, spec);
		if (access(path, X_OK)) {
			snprintf(err, errlen, "QEMU build '%s' is not set up (no %s): run "
				 "scenarios/qemu/setup.sh, or give a path", spec, path);
			return -1;
		}
	}
	if (!realpath(path, wrapper)) {
		snprintf(err, errlen, "QEMU %s: %s", path, strerror(errno));
		return -1;
	}
	(void)wlen;
	if (access(wrapper, X_OK)) {
		snprintf(err, errlen, "QEMU %s is not executable", wrapper);
		return -1;
	}
	if (is_elf(wrapper)) {
		snprintf(elf, elen, "%s", wrapper);
		return 0;
	}
	if (script_elf(wrapper, elf, elen) || !is_elf(elf)) {
		snprintf(err, errlen, "%s is a script without a '# cprv-qemu-elf: PATH' line naming "
			 "the QEMU binary (uprobes attach to the binary): give the binary itself",
			 wrapper);
		return -1;
	}
	return 0;
}

/* "QEMU emulator version 11.1.0 (Debian ...)" -> 11, 1. */
static int qemu_version(const char *wrapper, int *maj, int *min, char *err, size_t errlen)
{
	char cmd[PATH_MAX + 32], line[256] = "";
	FILE *p;
	int st;

	snprintf(cmd, sizeof(cmd), "'%s' --version 2>&1", wrapper);
	p = popen(cmd, "r");
	if (!p || !fgets(line, sizeof(line), p)) {
		snprintf(err, errlen, "%s --version: no answer", wrapper);
		if (p)
			pclose(p);
		return -1;
	}
	while (fgetc(p) != EOF)
		;
	st = pclose(p);
	if (!WIFEXITED(st) || WEXITSTATUS(st) ||
	    sscanf(line, "QEMU emulator version %d.%d", maj, min) != 2) {
		line[strcspn(line, "\n")] = 0;
		snprintf(err, errlen, "%s --version: not QEMU? (%.120s)", wrapper, line);
		return -1;
	}
	return 0;
}

static struct json_object *scenario_json(const char *scn_path, const struct cprv_scenario *s,
					 const char *wrapper, const char *elf, int maj, int min)
{
	struct json_object *sj = json_object_new_object();
	char v[32];

	snprintf(v, sizeof(v), "%d.%d", maj, min);
	json_object_object_add(sj, "file", json_object_new_string(scn_path));
	json_object_object_add(sj, "name", json_object_new_string(s->name));
	json_object_object_add(sj, "kind", json_object_new_string(cprv_kind_name(s->kind)));
	json_object_object_add(sj, "mode", json_object_new_string(cprv_mode_name(s->mode)));
	json_object_object_add(sj, "cycles", json_object_new_int(s->cycles));
	json_object_object_add(sj, "qemu", json_object_new_string(wrapper));
	json_object_object_add(sj, "qemu_binary", json_object_new_string(elf));
	json_object_object_add(sj, "qemu_version", json_object_new_string(v));
	json_object_object_add(sj, "guest_args", json_object_new_string(s->qemu.guest_args));
	json_object_object_add(sj, "vfio_device", json_object_new_string(s->qemu.vfio_device));
	json_object_object_add(sj, "firmware", json_object_new_string(s->qemu.firmware));
	return sj;
}

int run_qemu(struct cli *c, const struct run_args *ra, const char *home, const char *scn_path,
	     const struct cprv_scenario *s)
{
	char wrapper[PATH_MAX], elf[PATH_MAX], self[PATH_MAX], bindir[PATH_MAX], guest[PATH_MAX + 32];
	char dir[PATH_MAX], trace[PATH_MAX + 16], result[PATH_MAX + 24], err[512], bdf[32] = "";
	struct cprv_probe_opts po = { .verbose = c->verbose && !c->json,
				      .full_detail = ra->full_detail };
	struct cprv_record_opts ro = { .progress = !c->json };
	struct cprv_record_result res;
	struct cprv_judge_opts jo = { 0 };
	struct cprv_judgement *j;
	enum cprv_judge_error je;
	struct cprv_probes *p;
	struct cprv_plan plan;
	struct json_object *extra;
	char *argv[24];
	int n = 0, rc, maj = 0, min = 0;
	ssize_t k;

	if (access("/dev/kvm", R_OK | W_OK) && !getenv("CPRV_QEMU_ACCEL")) {
		cli_err(c, "--lane host: /dev/kvm is not usable here (%s); use --lane nested",
			strerror(errno));
		return CPRV_EXIT_ENV;
	}
	if (ra->deny && cli_parse_deny(ra->deny, &po.deny_kinds)) {
		cli_err(c, "--deny: unknown attach kind in '%s'", ra->deny);
		return CPRV_EXIT_USAGE;
	}
	if (qemu_resolve(home, ra->qemu ? ra->qemu : s->qemu.qemu, wrapper, sizeof(wrapper), elf,
			 sizeof(elf), err, sizeof(err)) ||
	    qemu_version(wrapper, &maj, &min, err, sizeof(err))) {
		cli_err(c, "%s", err);
		return CPRV_EXIT_ENV;
	}
	if (s->qemu.vfio_device[0]) {
		unsigned ven = 0, dev = 0;

		cprv_scenario_vfio_ids(s->qemu.vfio_device, &ven, &dev);
		if (vfio_bind(ven, dev, bdf, sizeof(bdf), err, sizeof(err))) {
			cli_err(c, "vfio_device %s: %s", s->qemu.vfio_device, err);
			return CPRV_EXIT_ENV;
		}
		cli_info(c, "%04x:%04x at %s is bound to vfio-pci for QEMU", ven, dev, bdf);
	}
	exe_dir(bindir, sizeof(bindir));
	snprintf(guest, sizeof(guest), "%s/cprv-guest.elf", bindir);
	if (access(guest, R_OK)) {
		cli_err(c, "the guest %s is missing: run make", guest);
		return CPRV_EXIT_ENV;
	}
	k = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (k < 0)
		return CPRV_EXIT_TOOL;
	self[k] = 0;
	rc = run_out_dir(c, ra->out, dir, sizeof(dir));
	if (rc)
		return rc;
	snprintf(trace, sizeof(trace), "%s/trace.cprv", dir);
	snprintf(result, sizeof(result), "%s/qemu-run.json", dir);
	unlink(result);

	cprv_plan_init(&plan);
	p = cli_probes_start(c, &plan, &po, ra->plan, &rc);
	if (!p)
		return rc;
	rc = cprv_probes_attach_binary(p, &plan, elf, err, sizeof(err));
	if (rc < 0)
		cli_info(c, "no uprobes on QEMU: %s; its CPR steps come from QMP alone", err);
	else
		cli_info(c, "uprobes on QEMU %d.%d: %d of its CPR and interrupt functions found "
			    "(`cpr-verify report -v` lists the missing)", maj, min, rc);
	/* the driver's marks: without them the phases rest on QMP timing only */
	if (cprv_probes_attach_binary(p, &plan, self, err, sizeof(err)) < 0)
		cli_info(c, "no uprobe on the driver's marks: %s", err);
	argv[n++] = self;
	argv[n++] = "drive-qemu";
	argv[n++] = "--scenario";
	argv[n++] = (char *)scn_path;
	argv[n++] = "--qemu";
	argv[n++] = wrapper;
	argv[n++] = "--guest";
	argv[n++] = guest;
	argv[n++] = "--dir";
	argv[n++] = dir;
	argv[n++] = "--result";
	argv[n++] = result;
	argv[n++] = "--mode";
	argv[n++] = (char *)cprv_mode_name(s->mode);
	if (maj >= 10)
		argv[n++] = "--aux-ram-share";
	if (bdf[0]) {
		argv[n++] = "--vfio";
		argv[n++] = bdf;
	}
	argv[n] = NULL;

	extra = json_object_new_object();
	json_object_object_add(extra, "scenario", scenario_json(scn_path, s, wrapper, elf, maj, min));
	ro.path = trace;
	ro.argv = argv;
	ro.drain_ms = 300;
	cli_info(c, "running %s (QEMU %d.%d, %u %s cycle%s) under the probes", s->name, maj, min,
		 s->cycles, s->mode == CPRV_MODE_EXEC ? "cpr-exec" : "cpr-transfer",
		 s->cycles == 1 ? "" : "s");
	rc = cli_record(c, p, &plan, &ro, extra, &res);
	json_object_put(extra);
	if (rc)
		return rc;
	jo.trace = trace;
	jo.drive_result = access(result, R_OK) == 0 ? result : NULL;
	jo.no_device_ok = !strstr(s->qemu.guest_args, "edu") && !s->qemu.vfio_device[0];
	jo.msi_path_only = true;
	jo.settle_ns = (uint64_t)s->settle_ms * 1000000ull;
	if (!jo.drive_result)
		cli_err(c, "the QEMU driver left no outcome (%s): judged on the trace alone",
			res.child_exited ? "it failed" : res.stop_reason);
	j = cprv_judge(&jo, &je, err, sizeof(err));
	if (!j) {
		cli_err(c, "%s", err);
		return je == CPRV_JUDGE_BAD_INPUT ? CPRV_EXIT_INPUT : CPRV_EXIT_TOOL;
	}
	cli_print_judgement(c, j);
	rc = cprv_judgement_exit_code(j);
	if (ra->out) {
		write_reports(c, j, dir);
		cli_info(c, "kept in %s: trace.cprv, qemu-run.json, report.txt, report.json, "
			    "serial-*.log, qemu-*.log", dir);
	}
	cprv_judgement_free(j);
	if (!ra->out)
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return rc;
}

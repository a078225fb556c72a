/* cpr-verify run: record a scenario's workload and judge it. Where this
 * kernel has no /dev/kvm, the whole run moves into the nested L1 guest. */

#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <json-c/json.h>
#include "cli.h"
#include "judge.h"
#include "report_html.h"
#include "record.h"
#include "scenario.h"
#include "run.h"

static const char help[] =
"usage: cpr-verify run [SCENARIO] [options]\n"
"\n"
"Runs a scenario's workload under the probes and judges the recording.\n"
"Without SCENARIO: scenarios/rig-default.json, the rig (a synthetic\n"
"vfio-like device and a mini-VMM on real KVM objects) doing one\n"
"cpr-transfer of 4 MSI vectors under load. SCENARIO is a file or a name\n"
"from scenarios/ (rig-default, rig-exec, rig-new-eventfd, rig-msix-mask,\n"
"rig-pba-dropped, rig-msi; qemu-transfer, qemu-exec, qemu-kill: real QEMU\n"
"live-updated over QMP, set up by scenarios/qemu/setup.sh; nested-vfio: the\n"
"same with a vfio-pci device whose guest raises MSIs, in the nested lane).\n"
"\n"
"  --mode transfer|exec   override the scenario's CPR mode\n"
"  --fault NAME           inject a fault the rig knows (listed below)\n"
"  --json                 print the report as JSON\n"
"  -o, --output DIR       keep the trace, the ground truth and the reports\n"
"                         (trace.cprv, ground-truth.json, report.txt, report.json)\n"
"  --lane auto|host|nested  host: this kernel; nested: inside an L1 guest under\n"
"                         QEMU TCG (tools/l1-run); auto (default): host if\n"
"                         /dev/kvm works and, for a QEMU scenario, the CPU has\n"
"                         vmx/svm (a paravirtual KVM such as PVM runs no QEMU\n"
"                         guest) and no vfio_device is asked for; else nested\n"
"  --deny KINDS           never use these attach kinds (see `probe --help`)\n"
"  --full-detail          record every event whole, no runs (see `record --help`)\n"
"  --plan FILE            take the attach variants from a saved `probe --json`\n"
"  --qemu QEMU            qemu scenarios: a build set up by scenarios/qemu/setup.sh\n"
"                         (11.1, 10.0) or a path to a QEMU binary or wrapper\n"
"  -v                     every evidence chain\n"
"\n"
"The verdict is compared with the rig's ground truth: a count that differs\n"
"fails the run, so a pass means the tool saw exactly what happened.\n"
"exit: 0 pass, 1 fail, 2 could not judge, 3 usage, 4 bad scenario,\n"
"5 no root/BTF/KVM, 6 the workload or the tool failed.\n";

/* The project tree the binary runs from: build/ or build/san/ below it. */
int find_home(char *home, size_t len)
{
	char exe[PATH_MAX], probe[PATH_MAX + 64];
	const char *env = getenv("CPRV_HOME");
	ssize_t n;

	if (env) {
		snprintf(home, len, "%s", env);
		return 0;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		return -1;
	exe[n] = 0;
	for (int up = 0; up < 3; up++) {
		char *d = dirname(exe);

		snprintf(probe, sizeof(probe), "%s/scenarios/rig-default.json", d);
		if (access(probe, R_OK) == 0) {
			snprintf(home, len, "%s", d);
			return 0;
		}
		memmove(exe, d, strlen(d) + 1);
	}
	return -1;
}

void exe_dir(char *dir, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	exe[n > 0 ? n : 0] = 0;
	snprintf(dir, len, "%s", dirname(exe));
}

static int resolve_scenario(const char *home, const char *arg, char *path, size_t len)
{
	if (!arg)
		arg = "rig-default";
	if (strchr(arg, '/') || access(arg, R_OK) == 0)
		snprintf(path, len, "%s", arg);
	else
		snprintf(path, len, "%s/scenarios/%s%s", home, arg,
			 strstr(arg, ".json") ? "" : ".json");
	return access(path, R_OK);
}

int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	return remove(p);
}

/* Re-runs this very command inside L1 with --lane host. */
int run_out_dir(struct cli *c, const char *out, char *dir, size_t len)
{
	if (!out) {
		snprintf(dir, len, "/tmp/cprv-run-XXXXXX");
		if (!mkdtemp(dir)) {
			cli_err(c, "mkdtemp: %s", strerror(errno));
			return CPRV_EXIT_TOOL;
		}
		return 0;
	}
	snprintf(dir, len, "%s", out);
	if (mkdir(dir, 0755) && errno != EEXIST) {
		cli_err(c, "-o %s: %s", dir, strerror(errno));
		return CPRV_EXIT_USAGE;
	}
	return 0;
}

int stage_scenario(const char *scn, const char *outdir, char *out, size_t len)
{
	char buf[65536];
	FILE *in, *o;
	size_t n;

	/* L1 sees the host's / read-only but has its own /tmp: a copy in the
	 * shared output directory is visible either way */
	snprintf(out, len, "%s/scenario.json", outdir);
	in = fopen(scn, "r");
	if (!in)
		return -1;
	o = fopen(out, "w");
	if (!o) {
		fclose(in);
		return -1;
	}
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		fwrite(buf, 1, n, o);
	fclose(in);
	return fclose(o) ? -1 : 0;
}

int l1_lane_args(const struct cprv_scenario *s, char **argv, int n)
{
	/* an IOMMU (interrupt remapping, caching mode for vfio) and the edu
	 * device for L1 to hand to its L2 QEMU */
	if (s->kind == CPRV_KIND_QEMU && !strcmp(s->qemu.vfio_device, "edu")) {
		argv[n++] = "--append";
		argv[n++] = "intel_iommu=on";
		argv[n++] = "--extra-qemu-args";
		/* behind a root port, as real devices are: the kernel can reset it
		 * (secondary bus reset), which QEMU needs to leave it alone in CPR */
		argv[n++] = "-device intel-iommu,intremap=on,caching-mode=on "
			    "-device pcie-root-port,id=cprv-rp,chassis=1 -device edu,bus=cprv-rp";
	}
	if (s->kind == CPRV_KIND_QEMU) {
		argv[n++] = "--mem";
		argv[n++] = "4G";
	}
	return n;
}

static int run_nested(struct cli *c, const struct run_args *ra, const char *home,
		      const char *scn_path, const struct cprv_scenario *s)
{
	char outdir[PATH_MAX], self[PATH_MAX], l1[PATH_MAX + 32], scn_abs[PATH_MAX];
	char *argv[40];
	int n = 0, rc, st;
	bool temp = !ra->out;
	pid_t pid;

	snprintf(l1, sizeof(l1), "%s/tools/l1-run", home);
	if (access(l1, X_OK)) {
		cli_err(c, "this kernel has no /dev/kvm and %s is missing: cannot run the rig", l1);
		return CPRV_EXIT_ENV;
	}
	if (temp) {
		snprintf(outdir, sizeof(outdir), "/tmp/cprv-run-XXXXXX");
		if (!mkdtemp(outdir)) {
			cli_err(c, "mkdtemp: %s", strerror(errno));
			return CPRV_EXIT_TOOL;
		}
	} else {
		mkdir(ra->out, 0755);
		if (!realpath(ra->out, outdir)) {
			cli_err(c, "-o %s: %s", ra->out, strerror(errno));
			return CPRV_EXIT_USAGE;
		}
	}
	if (stage_scenario(scn_path, outdir, scn_abs, sizeof(scn_abs))) {
		cli_err(c, "%s: %s", scn_path, strerror(errno));
		return CPRV_EXIT_INPUT;
	}
	{
		ssize_t k = readlink("/proc/self/exe", self, sizeof(self) - 1);

		if (k < 0)
			return CPRV_EXIT_TOOL;
		self[k] = 0;
	}
	/* not --quiet: its first use fetches and builds the L1 kernel, which
	 * should say so, and its closing line gives the boot time */
	argv[n++] = l1;
	argv[n++] = "--rw";
	argv[n++] = outdir;
	n = l1_lane_args(s, argv, n);
	argv[n++] = "--";
	argv[n++] = self;
	if (ra->verbose)
		argv[n++] = "-v";
	argv[n++] = "run";
	argv[n++] = scn_abs;
	argv[n++] = "--lane";
	argv[n++] = "host";
	argv[n++] = "-o";
	argv[n++] = outdir;
	if (ra->mode) {
		argv[n++] = "--mode";
		argv[n++] = (char *)ra->mode;
	}
	if (ra->fault) {
		argv[n++] = "--fault";
		argv[n++] = (char *)ra->fault;
	}
	if (ra->deny) {
		argv[n++] = "--deny";
		argv[n++] = (char *)ra->deny;
	}
	if (ra->plan) {
		argv[n++] = "--plan";
		argv[n++] = (char *)ra->plan;
	}
	if (ra->full_detail)
		argv[n++] = "--full-detail";
	if (ra->qemu) {
		argv[n++] = "--qemu";
		argv[n++] = (char *)ra->qemu;
	}
	if (ra->json)
		argv[n++] = "--json";
	argv[n] = NULL;
	pid = fork();
	if (pid == 0) {
		execv(l1, argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid) {
		cli_err(c, "starting %s: %s", l1, strerror(errno));
		return CPRV_EXIT_TOOL;
	}
	rc = WIFEXITED(st) ? WEXITSTATUS(st) : CPRV_EXIT_TOOL;
	if (rc >= 120 && rc <= 124) {
		cli_err(c, "the L1 guest could not run the scenario (l1-run exit %d%s)", rc,
			rc == 124 ? ": timeout" : rc == 121 ? ": L1 set-up failed" :
			rc == 122 ? ": L1 did not boot" : "");
		rc = CPRV_EXIT_ENV;
	}
	if (temp)
		nftw(outdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	else
		cli_info(c, "kept in %s", outdir);
	return rc;
}

int write_reports(struct cli *c, const struct cprv_judgement *j, const char *dir)
{
	char p[PATH_MAX];
	struct json_object *r;
	FILE *f;

	snprintf(p, sizeof(p), "%s/report.txt", dir);
	f = fopen(p, "w");
	if (!f)
		goto fail;
	cprv_judgement_text(j, f, true);
	fclose(f);
	snprintf(p, sizeof(p), "%s/report.json", dir);
	f = fopen(p, "w");
	if (!f)
		goto fail;
	r = cprv_judgement_json(j);
	fputs(json_object_to_json_string_ext(r, JSON_C_TO_STRING_PRETTY), f);
	fputc('\n', f);
	json_object_put(r);
	fclose(f);
	snprintf(p, sizeof(p), "%s/report.html", dir);
	if (cprv_report_html_file(p, j, NULL))
		goto fail;
	return 0;
fail:
	cli_err(c, "writing %s: %s", p, strerror(errno));
	return -1;
}

static int run_host(struct cli *c, const struct run_args *ra, const char *scn_path,
		    const struct cprv_scenario *s)
{
	char dir[PATH_MAX], trace[PATH_MAX + 16], gt[PATH_MAX + 24], rig[PATH_MAX + 16];
	char bindir[PATH_MAX], err[512];
	struct cprv_probe_opts po = { .verbose = c->verbose && !c->json,
				      .full_detail = ra->full_detail };
	struct cprv_record_opts ro = { .progress = !c->json };
	struct cprv_record_result res;
	struct cprv_judge_opts jo = { 0 };
	struct cprv_judgement *j;
	enum cprv_judge_error je;
	struct cprv_probes *p;
	struct cprv_plan plan;
	struct json_object *extra, *sj;
	char *argv[16];
	int n = 0, rc;
	bool temp = !ra->out;

	if (access("/dev/kvm", R_OK | W_OK)) {
		cli_err(c, "--lane host: /dev/kvm is not usable here (%s); use --lane nested",
			strerror(errno));
		return CPRV_EXIT_ENV;
	}
	if (ra->deny && cli_parse_deny(ra->deny, &po.deny_kinds)) {
		cli_err(c, "--deny: unknown attach kind in '%s'", ra->deny);
		return CPRV_EXIT_USAGE;
	}
	rc = run_out_dir(c, ra->out, dir, sizeof(dir));
	if (rc)
		return rc;
	snprintf(trace, sizeof(trace), "%s/trace.cprv", dir);
	snprintf(gt, sizeof(gt), "%s/ground-truth.json", dir);
	exe_dir(bindir, sizeof(bindir));
	snprintf(rig, sizeof(rig), "%s/cprv-rig", bindir);
	argv[n++] = rig;
	argv[n++] = "run";
	argv[n++] = "--scenario";
	argv[n++] = (char *)scn_path;
	argv[n++] = "--mode";
	argv[n++] = (char *)cprv_mode_name(s->mode);
	argv[n++] = "--fault";
	argv[n++] = (char *)cprv_fault_name(s->fault);
	argv[n++] = "--ground-truth";
	argv[n++] = gt;
	argv[n] = NULL;

	cprv_plan_init(&plan);
	p = cli_probes_start(c, &plan, &po, ra->plan, &rc);
	if (!p)
		return rc;
	extra = json_object_new_object();
	sj = json_object_new_object();
	json_object_object_add(sj, "file", json_object_new_string(scn_path));
	json_object_object_add(sj, "name", json_object_new_string(s->name));
	json_object_object_add(sj, "kind", json_object_new_string(cprv_kind_name(s->kind)));
	json_object_object_add(sj, "mode", json_object_new_string(cprv_mode_name(s->mode)));
	json_object_object_add(sj, "fault", json_object_new_string(cprv_fault_name(s->fault)));
	json_object_object_add(sj, "vectors", json_object_new_int(s->vectors));
	json_object_object_add(sj, "rate_hz", json_object_new_int(s->rate_hz));
	json_object_object_add(sj, "cycles", json_object_new_int(s->cycles));
	json_object_object_add(extra, "scenario", sj);
	ro.path = trace;
	ro.argv = argv;
	cli_info(c, "running %s (%s, %s, fault %s) under the probes", s->name,
		 cprv_mode_name(s->mode), cprv_kind_name(s->kind), cprv_fault_name(s->fault));
	rc = cli_record(c, p, &plan, &ro, extra, &res);
	json_object_put(extra);
	if (rc)
		return rc;
	if (!res.child_exited || !WIFEXITED(res.child_status) || WEXITSTATUS(res.child_status)) {
		cli_err(c, "the rig did not complete (%s); its ground truth is missing or partial, "
			   "the recording is judged alone", res.child_exited ? "it failed" : res.stop_reason);
		jo.ground_truth = access(gt, R_OK) == 0 ? gt : NULL;
	} else {
		jo.ground_truth = gt;
	}
	jo.trace = trace;
	jo.settle_ns = (uint64_t)s->settle_ms * 1000000ull;
	j = cprv_judge(&jo, &je, err, sizeof(err));
	if (!j) {
		cli_err(c, "%s", err);
		return je == CPRV_JUDGE_BAD_INPUT ? CPRV_EXIT_INPUT : CPRV_EXIT_TOOL;
	}
	cli_print_judgement(c, j);
	rc = cprv_judgement_exit_code(j);
	if (!res.child_exited || !WIFEXITED(res.child_status) || WEXITSTATUS(res.child_status))
		rc = rc == CPRV_EXIT_FAIL ? rc : CPRV_EXIT_TOOL;
	if (!temp)
		write_reports(c, j, dir);
	cprv_judgement_free(j);
	if (temp)
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return rc;
}

int cmd_run(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mode", required_argument, NULL, 'm' }, { "fault", required_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'j' },       { "output", required_argument, NULL, 'o' },
		{ "lane", required_argument, NULL, 'l' }, { "deny", required_argument, NULL, 'd' },
		{ "verbose", no_argument, NULL, 'v' },    { "help", no_argument, NULL, 'h' },
		{ "plan", required_argument, NULL, 'P' }, { "qemu", required_argument, NULL, 'Q' },
		{ "full-detail", no_argument, NULL, 'F' },
		{ 0 } };
	struct run_args ra = { .lane = "auto", .verbose = c->verbose };
	char home[PATH_MAX], scn[PATH_MAX + 64], err[512], why[256];
	struct cprv_scenario s;
	int o;

	optind = 1;
	while ((o = getopt_long(argc, argv, "m:f:jo:l:d:vh", opts, NULL)) != -1) {
		switch (o) {
		case 'm': ra.mode = optarg; break;
		case 'f': ra.fault = optarg; break;
		case 'j': ra.json = c->json = true; break;
		case 'o': ra.out = optarg; break;
		case 'l': ra.lane = optarg; break;
		case 'F': ra.full_detail = true; break;
		case 'd': ra.deny = optarg; break;
		case 'P': ra.plan = optarg; break;
		case 'Q': ra.qemu = optarg; break;
		case 'v': ra.verbose = c->verbose = true; break;
		case 'h':
			fputs(help, stdout);
			printf("\nfaults: %s\n", cprv_fault_list());
			return CPRV_EXIT_PASS;
		default: fputs(help, stderr); return CPRV_EXIT_USAGE;
		}
	}
	if (optind < argc - 1) {
		cli_err(c, "run: at most one SCENARIO");
		return CPRV_EXIT_USAGE;
	}
	ra.scenario = optind < argc ? argv[optind] : NULL;
	if (strcmp(ra.lane, "auto") && strcmp(ra.lane, "host") && strcmp(ra.lane, "nested")) {
		cli_err(c, "--lane must be auto, host or nested, not '%s'", ra.lane);
		return CPRV_EXIT_USAGE;
	}
	if (find_home(home, sizeof(home))) {
		cli_err(c, "cannot find the scenarios/ directory next to this binary; set CPRV_HOME");
		return CPRV_EXIT_ENV;
	}
	if (resolve_scenario(home, ra.scenario, scn, sizeof(scn))) {
		cli_err(c, "no scenario '%s' (looked for %s)", ra.scenario ? ra.scenario : "rig-default", scn);
		return CPRV_EXIT_USAGE;
	}
	if (cprv_scenario_load(scn, &s, err, sizeof(err))) {
		cli_err(c, "%s", err);
		return CPRV_EXIT_INPUT;
	}
	if (ra.mode) {
		int m = cprv_mode_parse(ra.mode);

		if (m < 0) {
			cli_err(c, "--mode must be transfer or exec, not '%s'", ra.mode);
			return CPRV_EXIT_USAGE;
		}
		s.mode = m;
	}
	if (ra.fault && s.kind == CPRV_KIND_QEMU) {
		cli_err(c, "--fault applies to rig scenarios; a qemu scenario's fault is "
			   "kill_new_cycle in the scenario");
		return CPRV_EXIT_USAGE;
	}
	if (ra.qemu && s.kind != CPRV_KIND_QEMU) {
		cli_err(c, "--qemu applies to qemu scenarios (qemu-transfer, qemu-exec), not %s",
			s.name);
		return CPRV_EXIT_USAGE;
	}
	if (ra.fault) {
		int f = cprv_fault_parse(ra.fault);

		if (f < 0) {
			cli_err(c, "--fault: unknown fault '%s' (known: %s)", ra.fault, cprv_fault_list());
			return CPRV_EXIT_USAGE;
		}
		s.fault = f;
	}
	if (cprv_scenario_validate(&s, scn, err, sizeof(err))) {
		cli_err(c, "%s", err);
		return CPRV_EXIT_INPUT;
	}
	if (!strcmp(ra.lane, "nested"))
		return run_nested(c, &ra, home, scn, &s);
	if (!strcmp(ra.lane, "auto") && !cli_host_lane(&s, why, sizeof(why))) {
		cli_info(c, "%s: running in the nested L1 guest (QEMU TCG, Debian trixie kernel; "
			    "tools/l1-run)", why);
		return run_nested(c, &ra, home, scn, &s);
	}
	if (s.kind == CPRV_KIND_QEMU)
		return run_qemu(c, &ra, home, scn, &s);
	return run_host(c, &ra, scn, &s);
}

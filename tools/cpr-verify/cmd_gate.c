/* cpr-verify gate: the CI gate. Runs a qemu scenario with the reference
 * QEMU and with the candidate (each a full `run`: probes, driver, verdict),
 * then compares the two (lib/gate.h) and writes JSON and JUnit XML. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <json-c/json.h>

#include "cli.h"
#include "drive.h"
#include "gate.h"
#include "judge.h"
#include "report_html.h"
#include "run.h"

static const char help[] =
"usage: cpr-verify gate --candidate QEMU --reference QEMU [SCENARIO] [options]\n"
"\n"
"Runs the qemu SCENARIO (default qemu-transfer) once with the reference\n"
"QEMU and once with the candidate, each recorded and judged as `run` does,\n"
"and fails if the candidate does worse: any MSI lost, more duplicates than\n"
"the reference, longer gaps or blackout beyond the tolerances, a conformance\n"
"rule broken, a CPR phase of the reference missing or out of order, or an\n"
"update that failed. QEMU is a build set up by scenarios/qemu/setup.sh\n"
"(11.1, 10.0) or a path to a QEMU binary.\n"
"\n"
"  -o, --output DIR        keep both runs (DIR/reference, DIR/candidate) and\n"
"                          gate.json, gate.junit.xml, gate.html (default: a\n"
"                          temporary dir)\n"
"  --junit FILE            also write the JUnit XML here\n"
"  --json                  print the gate's JSON instead of text\n"
"  --dup-extra N           duplicates allowed beyond the reference's (0)\n"
"  --gap-tolerance P,MS    worst gap may exceed the reference's by P%% + MS ms (100,50)\n"
"  --blackout-tolerance P,MS  the same for the median CPR blackout (100,50)\n"
"  --lane auto|host|nested where the runs happen (see `run --help`)\n"
"\n"
"Each check is pass, fail, unjudged (could not be decided: a blind stage, a\n"
"reference that does not pass itself) or skipped (neither run could check it,\n"
"e.g. MSI counts in a scenario without a device).\n"
"exit: 0 pass, 1 the candidate fails, 2 could not judge, 3 usage,\n"
"4 bad scenario, 5 no root/KVM/QEMU build, 6 tool error.\n";

struct gate_args {
	const char *cand, *ref, *scenario, *out, *junit, *lane;
	bool json, verbose;
	struct cprv_gate_tol tol;
};

static int parse_tol(const char *s, uint32_t *pct, uint64_t *ms)
{
	unsigned p;
	unsigned long long m;
	char extra;

	if (sscanf(s, "%u,%llu%c", &p, &m, &extra) != 2)
		return -1;
	*pct = p;
	*ms = m;
	return 0;
}

/* One side: `cpr-verify run SCENARIO --qemu Q -o DIR/side --lane host`,
 * its report on DIR/side/run.out. Returns run's exit code. */
static int run_side(struct cli *c, const char *self, const char *scn, const char *qemu,
		    const char *dir, bool verbose)
{
	char out[PATH_MAX + 16];
	char *argv[16];
	int n = 0, st, fd;
	pid_t pid;

	mkdir(dir, 0755);
	snprintf(out, sizeof(out), "%s/run.out", dir);
	argv[n++] = (char *)self;
	if (verbose)
		argv[n++] = "-v";
	argv[n++] = "run";
	argv[n++] = (char *)scn;
	argv[n++] = "--qemu";
	argv[n++] = (char *)qemu;
	argv[n++] = "-o";
	argv[n++] = (char *)dir;
	argv[n++] = "--lane";
	argv[n++] = "host";
	argv[n] = NULL;
	pid = fork();
	if (pid == 0) {
		fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd >= 0)
			dup2(fd, 1);
		execv(self, argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid) {
		cli_err(c, "gate: cannot run %s: %s", self, strerror(errno));
		return CPRV_EXIT_TOOL;
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : CPRV_EXIT_TOOL;
}

static struct cprv_judgement *judge_side(struct cli *c, const char *dir,
					 const struct cprv_scenario *s)
{
	char trace[PATH_MAX + 16], result[PATH_MAX + 24], err[512];
	struct cprv_judge_opts jo = { 0 };
	enum cprv_judge_error je;
	struct cprv_judgement *j;

	snprintf(trace, sizeof(trace), "%s/trace.cprv", dir);
	snprintf(result, sizeof(result), "%s/qemu-run.json", dir);
	if (access(trace, R_OK)) {
		cli_err(c, "gate: %s: no trace was recorded (see %s/run.out)", dir, dir);
		return NULL;
	}
	jo.trace = trace;
	jo.drive_result = access(result, R_OK) == 0 ? result : NULL;
	jo.no_device_ok = !strstr(s->qemu.guest_args, "edu") && !s->qemu.vfio_device[0];
	jo.msi_path_only = true;
	jo.settle_ns = (uint64_t)s->settle_ms * 1000000ull;
	j = cprv_judge(&jo, &je, err, sizeof(err));
	if (!j)
		cli_err(c, "gate: %s", err);
	return j;
}

static void side_of(struct cprv_gate_side *sd, const char *label, const char *qemu,
		    const struct cprv_judgement *j)
{
	sd->report = cprv_judgement_json(j);
	sd->label = label;
	sd->qemu = qemu;
	sd->a = cprv_judgement_analysis(j);
	sd->v = cprv_judgement_verdict(j);
	sd->d = cprv_judgement_drive(j);
}

/* gate.html: the gate's checks, then both runs side by side. */
static int write_html(struct cli *c, const char *dir, const struct cprv_gate *g,
		      const struct cprv_gate_side *cs, const struct cprv_gate_side *rs)
{
	struct cprv_html_check hc[CPRV_GATE_MAX_CHECKS];
	struct cprv_html_run cr = { .report = cs->report, .label = "candidate" };
	struct cprv_html_run rr = { .report = rs->report, .label = "reference" };
	struct cprv_html_opts ho = { .title = "cpr-verify gate" };
	char p[PATH_MAX + 32];
	FILE *f;
	int rc;

	/* the enums agree value for value (gate.h, report_html.h) */
	for (size_t i = 0; i < g->n; i++)
		hc[i] = (struct cprv_html_check){ g->checks[i].name, (int)g->checks[i].status,
						  g->checks[i].detail };
	snprintf(p, sizeof(p), "%s/gate.html", dir);
	f = fopen(p, "w");
	if (!f) {
		cli_err(c, "writing %s: %s", p, strerror(errno));
		return -1;
	}
	rc = cprv_report_html_gate(f, &cr, &rr, hc, g->n, &ho);
	if (fclose(f) || rc) {
		cli_err(c, "writing %s: %s", p, strerror(errno));
		return -1;
	}
	return 0;
}

static int write_outputs(struct cli *c, const struct gate_args *ga, const char *dir,
			 const struct cprv_gate *g, const struct cprv_gate_side *cs,
			 const struct cprv_gate_side *rs)
{
	struct json_object *o = cprv_gate_json(g, cs, rs, &ga->tol);
	char p[PATH_MAX + 32];
	const char *junit[2] = { p, ga->junit };
	int rc = 0;

	snprintf(p, sizeof(p), "%s/gate.json", dir);
	if (json_object_to_file_ext(p, o, JSON_C_TO_STRING_PRETTY)) {
		cli_err(c, "writing %s: %s", p, strerror(errno));
		rc = -1;
	}
	if (ga->json)
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
	json_object_put(o);
	if (write_html(c, dir, g, cs, rs))
		rc = -1;
	snprintf(p, sizeof(p), "%s/gate.junit.xml", dir);
	for (int i = 0; i < 2; i++) {
		FILE *f;

		if (!junit[i])
			continue;
		f = fopen(junit[i], "w");
		if (!f || cprv_gate_junit(f, g, "cpr-verify gate")) {
			cli_err(c, "writing %s: %s", junit[i], strerror(errno));
			rc = -1;
		}
		if (f)
			fclose(f);
	}
	return rc;
}

/* Both runs here, then the comparison. */
static int gate_host(struct cli *c, const struct gate_args *ga, const char *scn,
		     const struct cprv_scenario *s)
{
	char self[PATH_MAX], dir[PATH_MAX], rdir[PATH_MAX + 16], cdir[PATH_MAX + 16];
	struct cprv_judgement *rj = NULL, *cj = NULL;
	struct cprv_gate_side cs, rs;
	struct cprv_gate g;
	int rrc, crc, rc;
	ssize_t k = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (k < 0)
		return CPRV_EXIT_TOOL;
	self[k] = 0;
	if (ga->out) {
		snprintf(dir, sizeof(dir), "%s", ga->out);
		if (mkdir(dir, 0755) && errno != EEXIST) {
			cli_err(c, "-o %s: %s", dir, strerror(errno));
			return CPRV_EXIT_USAGE;
		}
	} else {
		snprintf(dir, sizeof(dir), "/tmp/cprv-gate-XXXXXX");
		if (!mkdtemp(dir)) {
			cli_err(c, "mkdtemp: %s", strerror(errno));
			return CPRV_EXIT_TOOL;
		}
	}
	snprintf(rdir, sizeof(rdir), "%s/reference", dir);
	snprintf(cdir, sizeof(cdir), "%s/candidate", dir);
	cli_info(c, "gate: %s with the reference %s", s->name, ga->ref);
	rrc = run_side(c, self, scn, ga->ref, rdir, ga->verbose);
	cli_info(c, "gate: reference run exit %d; now the candidate %s", rrc, ga->cand);
	crc = run_side(c, self, scn, ga->cand, cdir, ga->verbose);
	cli_info(c, "gate: candidate run exit %d", crc);
	if (rrc >= CPRV_EXIT_USAGE && rrc != CPRV_EXIT_TOOL) {
		cli_err(c, "gate: the reference run could not start (exit %d, see %s/run.out)", rrc,
			rdir);
		return rrc;
	}
	rj = judge_side(c, rdir, s);
	cj = judge_side(c, cdir, s);
	if (!rj || !cj) {
		cprv_judgement_free(rj);
		cprv_judgement_free(cj);
		return !cj && crc == CPRV_EXIT_ENV ? CPRV_EXIT_ENV : CPRV_EXIT_UNJUDGED;
	}
	side_of(&rs, "reference", ga->ref, rj);
	side_of(&cs, "candidate", ga->cand, cj);
	cprv_gate_compare(&g, &cs, &rs, &ga->tol);
	if (!ga->json)
		cprv_gate_text(stdout, &g, &cs, &rs);
	rc = cprv_gate_exit_code(&g);
	if (write_outputs(c, ga, dir, &g, &cs, &rs) && !rc)
		rc = CPRV_EXIT_TOOL;
	cli_info(c, "gate: %s; kept in %s (reference/, candidate/, gate.json, gate.junit.xml, gate.html)",
		 cprv_gate_status_name(g.result), dir);
	json_object_put(rs.report);
	json_object_put(cs.report);
	cprv_judgement_free(rj);
	cprv_judgement_free(cj);
	return rc;
}

/* No /dev/kvm here: the whole gate moves into the nested L1 guest. */
static int gate_nested(struct cli *c, const struct gate_args *ga, const char *home,
		       const char *scn, const struct cprv_scenario *s)
{
	char l1[PATH_MAX + 32], self[PATH_MAX], outdir[PATH_MAX], tol[3][48], staged[PATH_MAX + 16];
	char *av[64];
	int n = 0, st;
	pid_t pid;
	ssize_t k = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (k < 0)
		return CPRV_EXIT_TOOL;
	self[k] = 0;
	snprintf(l1, sizeof(l1), "%s/tools/l1-run", home);
	if (!ga->out) {
		snprintf(outdir, sizeof(outdir), "/tmp/cprv-gate-XXXXXX");
		if (!mkdtemp(outdir))
			return CPRV_EXIT_TOOL;
	} else {
		mkdir(ga->out, 0755);
		if (!realpath(ga->out, outdir)) {
			cli_err(c, "-o %s: %s", ga->out, strerror(errno));
			return CPRV_EXIT_USAGE;
		}
	}
	if (stage_scenario(scn, outdir, staged, sizeof(staged))) {
		cli_err(c, "%s: %s", scn, strerror(errno));
		return CPRV_EXIT_INPUT;
	}
	scn = staged;
	av[n++] = l1;
	av[n++] = "--rw";
	av[n++] = outdir;
	n = l1_lane_args(s, av, n);
	av[n++] = "--";
	av[n++] = self;
	av[n++] = "gate";
	av[n++] = "--lane";
	av[n++] = "host";
	av[n++] = "-o";
	av[n++] = outdir;
	av[n++] = (char *)scn;
	av[n++] = "--candidate";
	av[n++] = (char *)ga->cand;
	av[n++] = "--reference";
	av[n++] = (char *)ga->ref;
	if (ga->junit) {
		av[n++] = "--junit";
		av[n++] = (char *)ga->junit;
	}
	if (ga->json)
		av[n++] = "--json";
	if (ga->verbose)
		av[n++] = "-v";
	snprintf(tol[0], sizeof(tol[0]), "%u,%llu", ga->tol.gap_pct, (unsigned long long)ga->tol.gap_ms);
	snprintf(tol[1], sizeof(tol[1]), "%u,%llu", ga->tol.blackout_pct,
		 (unsigned long long)ga->tol.blackout_ms);
	snprintf(tol[2], sizeof(tol[2]), "%llu", (unsigned long long)ga->tol.dup_extra);
	av[n++] = "--gap-tolerance";
	av[n++] = tol[0];
	av[n++] = "--blackout-tolerance";
	av[n++] = tol[1];
	av[n++] = "--dup-extra";
	av[n++] = tol[2];
	av[n] = NULL;
	pid = fork();
	if (pid == 0) {
		execv(l1, av);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return CPRV_EXIT_TOOL;
	st = WIFEXITED(st) ? WEXITSTATUS(st) : CPRV_EXIT_TOOL;
	if (st >= 120 && st <= 124) {
		cli_err(c, "the L1 guest could not run the gate (l1-run exit %d)", st);
		return CPRV_EXIT_ENV;
	}
	return st;
}

int cmd_gate(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "candidate", required_argument, NULL, 'c' }, { "reference", required_argument, NULL, 'r' },
		{ "output", required_argument, NULL, 'o' },    { "junit", required_argument, NULL, 'J' },
		{ "json", no_argument, NULL, 'j' },            { "lane", required_argument, NULL, 'l' },
		{ "dup-extra", required_argument, NULL, 'D' }, { "gap-tolerance", required_argument, NULL, 'G' },
		{ "blackout-tolerance", required_argument, NULL, 'B' },
		{ "verbose", no_argument, NULL, 'v' },         { "help", no_argument, NULL, 'h' },
		{ 0 } };
	struct gate_args ga = { .lane = "auto", .verbose = c->verbose };
	char home[PATH_MAX], scn[PATH_MAX + 64], abs[PATH_MAX], err[512], why[256];
	struct cprv_scenario s;
	int o;

	cprv_gate_tol_defaults(&ga.tol);
	optind = 1;
	while ((o = getopt_long(argc, argv, "o:jvh", opts, NULL)) != -1) {
		switch (o) {
		case 'c': ga.cand = optarg; break;
		case 'r': ga.ref = optarg; break;
		case 'o': ga.out = optarg; break;
		case 'J': ga.junit = optarg; break;
		case 'j': ga.json = c->json = true; break;
		case 'l': ga.lane = optarg; break;
		case 'v': ga.verbose = c->verbose = true; break;
		case 'D': ga.tol.dup_extra = strtoull(optarg, NULL, 10); break;
		case 'G':
			if (parse_tol(optarg, &ga.tol.gap_pct, &ga.tol.gap_ms)) {
				cli_err(c, "--gap-tolerance takes PERCENT,MS (e.g. 100,50)");
				return CPRV_EXIT_USAGE;
			}
			break;
		case 'B':
			if (parse_tol(optarg, &ga.tol.blackout_pct, &ga.tol.blackout_ms)) {
				cli_err(c, "--blackout-tolerance takes PERCENT,MS (e.g. 100,50)");
				return CPRV_EXIT_USAGE;
			}
			break;
		case 'h': fputs(help, stdout); return CPRV_EXIT_PASS;
		default: fputs(help, stderr); return CPRV_EXIT_USAGE;
		}
	}
	if (!ga.cand || !ga.ref) {
		cli_err(c, "gate needs --candidate QEMU and --reference QEMU (see gate --help)");
		return CPRV_EXIT_USAGE;
	}
	if (optind < argc - 1) {
		cli_err(c, "gate: at most one SCENARIO");
		return CPRV_EXIT_USAGE;
	}
	ga.scenario = optind < argc ? argv[optind] : NULL;
	if (strcmp(ga.lane, "auto") && strcmp(ga.lane, "host") && strcmp(ga.lane, "nested")) {
		cli_err(c, "--lane must be auto, host or nested, not '%s'", ga.lane);
		return CPRV_EXIT_USAGE;
	}
	if (find_home(home, sizeof(home))) {
		cli_err(c, "cannot find the scenarios/ directory next to this binary; set CPRV_HOME");
		return CPRV_EXIT_ENV;
	}
	if (ga.scenario && (strchr(ga.scenario, '/') || access(ga.scenario, R_OK) == 0))
		snprintf(scn, sizeof(scn), "%s", ga.scenario);
	else
		snprintf(scn, sizeof(scn), "%s/scenarios/%s.json", home,
			 ga.scenario ? ga.scenario : "qemu-transfer");
	if (cprv_scenario_load(scn, &s, err, sizeof(err))) {
		cli_err(c, "%s", err);
		return CPRV_EXIT_INPUT;
	}
	if (s.kind != CPRV_KIND_QEMU) {
		cli_err(c, "gate compares QEMU builds: %s is a %s scenario, not qemu", scn,
			cprv_kind_name(s.kind));
		return CPRV_EXIT_USAGE;
	}
	if (!realpath(scn, abs)) {
		cli_err(c, "%s: %s", scn, strerror(errno));
		return CPRV_EXIT_INPUT;
	}
	if (!strcmp(ga.lane, "nested"))
		return gate_nested(c, &ga, home, abs, &s);
	if (!strcmp(ga.lane, "auto") && !cli_host_lane(&s, why, sizeof(why))) {
		cli_info(c, "%s: the gate runs in the nested L1 guest (tools/l1-run)", why);
		return gate_nested(c, &ga, home, abs, &s);
	}
	return gate_host(c, &ga, abs, &s);
}

/* What the cpr-verify subcommands share: exit codes, messages that speak
 * JSON in JSON mode, and the probe set-up every recording command needs. */
#ifndef CPRV_CLI_H
#define CPRV_CLI_H

#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <json-c/json.h>
#include "plan.h"
#include "probes.h"

/* Exit codes: documented in --help and README.md. */
#define CPRV_EXIT_PASS     0 /* verdict pass (or a command that succeeded) */
#define CPRV_EXIT_FAIL     1 /* verdict fail: lost or duplicate MSIs, or disagreement with ground truth */
#define CPRV_EXIT_UNJUDGED 2 /* could not judge: blind stage, drops, nothing recorded */
#define CPRV_EXIT_USAGE    3 /* bad command line */
#define CPRV_EXIT_INPUT    4 /* malformed trace, scenario or ground truth */
#define CPRV_EXIT_ENV      5 /* missing privileges or kernel features */
#define CPRV_EXIT_TOOL     6 /* internal or I/O error, workload could not start */

struct cli {
	bool json;
	bool verbose;
	const char *prog;
};

void cli_err(const struct cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cli_info(const struct cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Resolves the plan (or takes it from plan_file, a saved `probe --json`),
 * loads the probes and runs the canary; prints progress to stderr. Returns the probes, or NULL with *exit_code set. */
struct cprv_probes *cli_probes_start(const struct cli *c, struct cprv_plan *plan,
				     const struct cprv_probe_opts *opts, const char *plan_file,
				     int *exit_code);
/* Parses "fentry,kprobe" into a deny mask. */
int cli_parse_deny(const char *list, unsigned *mask);
struct cprv_scenario;
/* Can this kernel run scenario s itself (else the nested L1 lane)? why says
 * why not. The rig needs /dev/kvm; a QEMU guest needs hardware
 * virtualization too; a vfio_device scenario needs L1's device. */
bool cli_host_lane(const struct cprv_scenario *s, char *why, size_t len);

/* The trace header: tool, kernel, clock, plan and the caller's extras
 * (scenario, command, pids). Caller frees. */
char *cli_trace_meta(const struct cprv_plan *plan, struct json_object *extra);
/* SIGINT/SIGTERM set *flag to the signal number. */
void cli_catch_stop(volatile sig_atomic_t *flag);

struct cprv_record_opts;
struct cprv_record_result;
struct cprv_judgement;
/* Records with the trace header built from plan + extra, stopping on
 * SIGINT/SIGTERM; frees the probes; prints the summary. 0 or an exit code. */
int cli_record(const struct cli *c, struct cprv_probes *p, const struct cprv_plan *plan,
	       struct cprv_record_opts *ro, struct json_object *extra,
	       struct cprv_record_result *res);
/* The verdict as text or JSON (--json) on stdout. */
void cli_print_judgement(const struct cli *c, const struct cprv_judgement *j);

int cmd_probe(struct cli *c, int argc, char **argv);
int cmd_record(struct cli *c, int argc, char **argv);
int cmd_dump(struct cli *c, int argc, char **argv);
int cmd_report(struct cli *c, int argc, char **argv);
int cmd_run(struct cli *c, int argc, char **argv);
int cmd_export(struct cli *c, int argc, char **argv);
int cmd_gate(struct cli *c, int argc, char **argv);
int cmd_drive(struct cli *c, int argc, char **argv);

#endif

/* What `run` and `gate` share: the run's options, where the project tree
 * is, and the report files a run leaves in its output directory. */
#ifndef CPRV_RUN_H
#define CPRV_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <ftw.h>
#include "cli.h"
#include "scenario.h"

struct run_args {
	const char *scenario, *mode, *fault, *out, *lane, *deny, *plan, *qemu;
	bool json, verbose, full_detail;
};

struct cprv_judgement;

int find_home(char *home, size_t len);
void exe_dir(char *dir, size_t len);
int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f);
/* report.txt and report.json (and whatever else a report has) into dir */
int write_reports(struct cli *c, const struct cprv_judgement *j, const char *dir);

/* The run's output dir: out (created if missing), or a fresh temporary
 * one when out is NULL. 0, or an exit code after saying why. */
int run_out_dir(struct cli *c, const char *out, char *dir, size_t len);
/* Copies scenario scn into outdir (shared with L1) as scenario.json; its
 * path in out. 0 or -1 (errno). */
int stage_scenario(const char *scn, const char *outdir, char *out, size_t len);
/* tools/l1-run options a scenario needs in L1 (devices, memory); returns
 * the new argc. */
int l1_lane_args(const struct cprv_scenario *s, char **argv, int n);

/* A qemu scenario on this host (run_qemu.c). */
int run_qemu(struct cli *c, const struct run_args *ra, const char *home, const char *scn_path,
	     const struct cprv_scenario *s);
/* "11.1" -> the wrapper setup.sh made and the ELF binary behind it; a path
 * -> itself (an ELF) or, for a wrapper script, the ELF named on its
 * "# cprv-qemu-elf: PATH" line. 0 or -1 with a message. */
int qemu_resolve(const char *home, const char *spec, char *wrapper, size_t wlen, char *elf,
		 size_t elen, char *err, size_t errlen);

#endif

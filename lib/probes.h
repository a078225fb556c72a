/* The attach engine: resolves the probe plan on this kernel by trying each
 * variant for real, loads the chosen programs, and gives the recorder the
 * ring buffer, the per-CPU statistics and the set of traced processes. */
#ifndef CPRV_PROBES_H
#define CPRV_PROBES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "plan.h"

struct cprv_probes;

struct cprv_probe_opts {
	size_t ringbuf_bytes;  /* power of two; 0: 16 MiB */
	uint64_t wakeup_bytes; /* batch size that wakes the reader; 0: 256 KiB */
	unsigned deny_kinds;   /* bit (1 << cprv_attach_kind): never use these */
	bool full_detail;      /* no runs: every event whole (lib/run.h) */
	bool verbose;          /* pass libbpf's messages through to stderr */
};

/* Checks root, mounts tracefs/debugfs if needed. Returns 0 or -errno with
 * a message a person can act on. */
int cprv_probes_env_check(char *err, size_t errlen);

/* Fills plan->hooks[].chosen and .why[] by trying the variants. Returns 0,
 * or -errno if nothing could be loaded at all. */
int cprv_plan_resolve(struct cprv_plan *plan, const struct cprv_probe_opts *opts, char *err,
		      size_t errlen);

struct cprv_probes *cprv_probes_load(const struct cprv_plan *plan,
				     const struct cprv_probe_opts *opts, char *err, size_t errlen);
void cprv_probes_free(struct cprv_probes *p);

/*
 * Attach the USER_FN uprobe to every function of CPRV_UFN_LIST that binary
 * has (resolved from its symbols now; a missing one is noted in
 * plan->ufns[].why, never an error). Returns how many attached, or -errno
 * with a message if uprobes are unavailable or the binary unreadable.
 * The same binary twice is attached once.
 */
int cprv_probes_attach_binary(struct cprv_probes *p, struct cprv_plan *plan, const char *binary,
			      char *err, size_t errlen);
/* Exported so the USER_FN hook can prove itself on the running binary. */
void cprv_uprobe_selftest(void);

int cprv_probes_track(struct cprv_probes *p, pid_t tgid);
/* How many traced processes (given, forked, or joined over SCM_RIGHTS)
 * are still alive. */
int cprv_probes_tracked_alive(struct cprv_probes *p);
/* Forget every traced process and known object (after the canary). */
void cprv_probes_forget_all(struct cprv_probes *p);

/* Per-hook hit counters and drops, summed over CPUs; out has CPRV_STAT_MAX slots. */
int cprv_probes_stats(struct cprv_probes *p, uint64_t *out);

typedef int (*cprv_event_fn)(void *arg, const struct cprv_event *ev);
/* Delivers pending events to fn; waits up to timeout_ms for a wake-up.
 * Returns the number of events or -errno. */
int cprv_probes_poll(struct cprv_probes *p, int timeout_ms, cprv_event_fn fn, void *arg);
/* Flushes every run and delivers whatever is in the ring now, without waiting. */
int cprv_probes_drain(struct cprv_probes *p, cprv_event_fn fn, void *arg);

/*
 * Runs (lib/run.h): unless a sink is set, poll and drain expand them into
 * their events for fn. A sink takes each run whole, in its file encoding
 * (len bytes, a multiple of 64), so the recorder stores it compact.
 */
typedef int (*cprv_run_fn)(void *arg, const uint8_t *enc, size_t len);
void cprv_probes_run_sink(struct cprv_probes *p, cprv_run_fn fn, void *arg);
/* Does the BPF side send runs (not --full-detail, and uprobes work)? */
bool cprv_probes_compact(const struct cprv_probes *p);
/* Ring buffer records that were neither an event nor a well-formed run. */
uint64_t cprv_probes_bad_runs(const struct cprv_probes *p);
/* The runs' tick: the BPF side flushes idle runs (all with force) on it. */
void cprv_runs_tick(uint64_t force);

#endif

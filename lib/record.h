/* The recorder: ring buffer -> trace file, for a command it starts or for
 * processes already running, until they are gone or it is told to stop. */
#ifndef CPRV_RECORD_H
#define CPRV_RECORD_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "cprv_hooks.h"

struct cprv_probes;

struct cprv_record_opts {
	const char *path;       /* trace file to write */
	const char *meta_json;  /* trace header */
	const pid_t *pids;      /* record these (and what they hand fds to) ... */
	int npids;
	char *const *argv;      /* ... or start this command and record it */
	bool progress;          /* a status line on stderr every second */
	int drain_ms;           /* keep reading this long after the stop; 0: 200 */
	/* set asynchronously (SIGINT, SIGTERM) to stop; may be NULL */
	volatile sig_atomic_t *stop;
};

struct cprv_record_result {
	uint64_t events;        /* events written */
	uint64_t drops;         /* events the ring buffer had no room for */
	uint64_t bytes;         /* trace file size */
	uint64_t duration_ns;
	uint64_t hits[CPRV_STAT_MAX];
	int child_status;       /* wait status of the command, if any */
	bool child_exited;
	char stop_reason[64];   /* "command exited", "SIGINT", "processes gone" */
};

/* Returns 0 when a readable trace was written (even after SIGINT), or -1
 * with err set (the trace then holds what was recorded before the error). */
int cprv_record(struct cprv_probes *p, const struct cprv_record_opts *o,
		struct cprv_record_result *res, char *err, size_t errlen);

/* CLOCK_MONOTONIC now, in ns: the clock of every event. */
uint64_t cprv_now_ns(void);

#endif

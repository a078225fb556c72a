/* One QEMU process the driver owns: start it with the scenario's
 * arguments, talk QMP to it, read the guest's heartbeat, end it. Every wait
 * is bounded; a QEMU that dies is reaped and reported, never left behind. */
#ifndef CPRV_QEMU_PROC_H
#define CPRV_QEMU_PROC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "scenario.h"

struct cprv_qmp;

/* What every QEMU of a run shares. */
struct qemu_setup {
	const char *wrapper;   /* the QEMU to run (binary or setup.sh's wrapper) */
	const char *guest;     /* cprv-guest.elf */
	const char *dir;       /* serial and QEMU logs (may be any file system) */
	const char *run_dir;   /* sockets and state files: a local file system (9p and
				* other network file systems refuse UNIX sockets) */
	const struct cprv_scenario *s;
	bool aux_ram_share;    /* -machine aux-ram-share=on (QEMU >= 10.0) */
	const char *vfio_bdf;  /* -device vfio-pci,host=BDF, or NULL */
};

/* The guest's own counters (tools/guest/guest_abi.h). */
struct guest_counts {
	uint64_t ticks, raised, received, spurious, throttled, lost;
};

struct qemu_proc {
	pid_t pid;             /* 0: none; the pid survives cpr-exec */
	int gen;               /* incarnation: 0 the first, +1 per cycle */
	struct cprv_qmp *qmp;
	char qmp_path[256];
	bool exited;
	int status;            /* wait status once exited */
};

enum qemu_incoming { QEMU_IN_NONE, QEMU_IN_TRANSFER, QEMU_IN_EXEC };

/* argv for incarnation gen (NULL-terminated, strings in *store, free both
 * with qemu_argv_free). */
char **qemu_argv(const struct qemu_setup *qs, int gen, enum qemu_incoming in);
void qemu_argv_free(char **argv);
/* Unix socket paths of incarnation gen's channels. */
void qemu_path(const struct qemu_setup *qs, const char *what, int gen, char *buf, size_t len);

/* Fork+exec argv; QEMU's stdout/stderr go to DIR/qemu-<gen>.log. */
int qemu_start(struct qemu_proc *qp, const struct qemu_setup *qs, int gen,
	       enum qemu_incoming in, char *err, size_t errlen);
int qemu_connect(struct qemu_proc *qp, const struct qemu_setup *qs, int timeout_ms,
		 char *err, size_t errlen);
/* true while the process has not exited (reaps it if it has). */
bool qemu_alive(struct qemu_proc *qp);
/* Waits up to timeout_ms for the process to exit; SIGKILLs it after. */
void qemu_end(struct qemu_proc *qp, int timeout_ms);
/* "exit 1", "signal 9", "running". */
const char *qemu_how(const struct qemu_proc *qp, char *buf, size_t len);

/* query-status: "running", "paused", ... (buf) or -1 with err. */
int qemu_status(struct qemu_proc *qp, int timeout_ms, char *buf, size_t len, char *err,
		size_t errlen);
/* Polls query-status until "running" or timeout. */
int qemu_wait_running(struct qemu_proc *qp, int timeout_ms, char *err, size_t errlen);
/* The guest's timer ticks (tools/guest/guest_abi.h) read over QMP. */
int qemu_heartbeat(struct qemu_proc *qp, int timeout_ms, uint64_t *ticks, char *err,
		   size_t errlen);
/* Every counter of the guest's heartbeat block; all 0 before it booted. */
int qemu_guest_counts(struct qemu_proc *qp, int timeout_ms, struct guest_counts *gc, char *err,
		      size_t errlen);
/* Polls the heartbeat until it exceeds `above` or timeout; *ticks gets the last read. */
int qemu_heartbeat_above(struct qemu_proc *qp, uint64_t above, int timeout_ms, uint64_t *ticks,
			 char *err, size_t errlen);

/* The last line QEMU incarnation gen wrote to its log (why it died). */
int qemu_last_words(const struct qemu_setup *qs, int gen, char *buf, size_t len);

uint64_t qemu_now_ns(void);

#endif

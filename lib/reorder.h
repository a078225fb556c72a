/* Puts events back in timestamp order. The BPF ring buffer is filled by
 * every CPU at once, so records arrive in reservation order, which can
 * differ from timestamp order by the time between reading the clock and
 * reserving (ns to us, more under preemption). A bounded window fixes that
 * with memory independent of the trace length. */
#ifndef CPRV_REORDER_H
#define CPRV_REORDER_H

#include <stddef.h>
#include <stdint.h>
#include "cprv_event.h"

struct cprv_reorder;

/*
 * window: events held back before the oldest is released (0: 262144; that
 * allocates 42 MiB, of which an in-order trace touches 18). NULL if out of
 * memory or window >= 2^31.
 */
struct cprv_reorder *cprv_reorder_new(size_t window);
void cprv_reorder_free(struct cprv_reorder *r);

/* Adds ev; if the window is full, pops the oldest into *out and returns 1,
 * else 0. Ties keep arrival order. */
int cprv_reorder_push(struct cprv_reorder *r, const struct cprv_event *ev, struct cprv_event *out);
struct cprv_run_iter;

/* Takes a released event; nonzero stops the emitting (returned by the push). */
typedef int (*cprv_reorder_emit_fn)(void *arg, const struct cprv_event *ev);

/*
 * Adds a whole run (freshly opened, lib/run.h), exactly as if its events
 * had been pushed one by one: each event those pushes would have released
 * goes to emit, in order. A run in timestamp order is held as it is and
 * expanded only as its events leave; one that is not (or when too many
 * runs are held) is pushed event by event. Returns 0, or the first nonzero
 * emit return, after which nothing more is emitted and r is only good for
 * freeing.
 */
int cprv_reorder_push_run(struct cprv_reorder *r, const struct cprv_run_iter *it,
			  cprv_reorder_emit_fn emit, void *arg);
struct cprv_trace_reader;

/*
 * Reads every event of rd through r into emit, in timestamp order: runs
 * whole (cprv_reorder_push_run), then what the window still holds once
 * the reader stops. Returns the reader's last result (0 at the end or on
 * damage, -errno on an I/O or memory error); *emit_err = emit's first
 * nonzero return, which stops it at once (0 if none).
 */
int cprv_reorder_read(struct cprv_reorder *r, struct cprv_trace_reader *rd,
		      cprv_reorder_emit_fn emit, void *arg, int *emit_err);

/* After the last push: pops the oldest remaining, 1, or 0 when empty. */
int cprv_reorder_pop(struct cprv_reorder *r, struct cprv_event *out);
/* Events released earlier than an event already released (window too small). */
uint64_t cprv_reorder_late(const struct cprv_reorder *r);

#endif

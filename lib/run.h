/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Runs: many MSIs of one shape, recorded as one template and time deltas
 * (CPRV_EV_RUN in cprv_event.h says what the BPF side puts in one).
 *
 * In a trace file a run is whole 64-byte blocks: the CPRV_EV_RUN record
 * (encoded like any event; a2 = the blocks that follow), nev encoded
 * template events, then the delta bytes, zero-padded to a block. The
 * analysis never sees a run: it gets the events it stands for, the same,
 * field for field, as a recording without runs would have held. Readers
 * expand it at once, or (report) the reorder window holds it whole and
 * expands it as its events leave (cprv_reorder_push_run).
 */
#ifndef CPRV_LIB_RUN_H
#define CPRV_LIB_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cprv_event.h"
#include "event.h"

/* Most bytes a run takes in a file: header, templates, deltas, padding. */
#define CPRV_RUN_MAX_ENCODED \
	((1 + CPRV_RUN_MAX_EV) * CPRV_EVENT_SIZE + CPRV_RUN_DELTA_BYTES + CPRV_EVENT_SIZE)

/* An expansion under way, over templates and deltas held elsewhere. */
struct cprv_run_cur {
	const struct cprv_event *tmpl;
	const uint8_t *d;   /* deltas */
	uint64_t n;         /* MSIs */
	uint64_t i;         /* MSI being returned */
	uint64_t first;     /* ts of MSI i's first event */
	uint32_t nev;       /* events per MSI */
	uint32_t k;         /* its next event */
	uint32_t off;       /* into d */
};

/* A run being read: its templates decoded, cur over them and the deltas.
 * (cur points into the iterator and its source: copy cur, not the whole.) */
struct cprv_run_iter {
	struct cprv_event tmpl[CPRV_RUN_MAX_EV];
	struct cprv_run_cur cur;
};

/*
 * The file encoding of a run the BPF side sent (size bytes at blob, its
 * host layout). Returns the encoded length (a multiple of 64), or 0 if the
 * blob is not a well-formed run. out holds CPRV_RUN_MAX_ENCODED bytes.
 */
size_t cprv_run_encode(const void *blob, size_t size, uint8_t *out);

/* The events an encoded run stands for (its MSIs times events per MSI). */
uint64_t cprv_run_encoded_events(const uint8_t *enc);

/*
 * Starts expanding the encoded run at enc (avail bytes there). Returns the
 * blocks it takes (header included), or 0 with why set if it is damaged.
 * The iterator points into enc: keep enc alive while iterating.
 */
size_t cprv_run_open(const uint8_t *enc, size_t avail, struct cprv_run_iter *it, char *why,
		     size_t whylen);

/* The next event's time, without taking it: false when all are out.
 * (Inline, like cprv_run_cur_next: a reader calls them for every event.) */
static inline bool cprv_run_cur_ts(const struct cprv_run_cur *c, uint64_t *ts)
{
	if (c->i >= c->n)
		return false;
	if (!c->i)
		*ts = c->tmpl[c->k].ts;
	else if (!c->k)
		*ts = c->first + cprv_get_le32(c->d + c->off);
	else
		*ts = c->first + cprv_get_le16(c->d + c->off);
	return true;
}

/* Takes the next event, whose time cprv_run_cur_ts said was ts. */
static inline void cprv_run_cur_take(struct cprv_run_cur *c, uint64_t ts, struct cprv_event *ev)
{
	*ev = c->tmpl[c->k];
	ev->ts = ts;
	if (c->i) {
		if (!c->k)
			c->first = ts;
		c->off += c->k ? 2 : 4;
	}
	if (++c->k == c->nev) {
		c->k = 0;
		c->i++;
	}
}

/* Next event of the run: true with *ev filled, false when all are out. */
static inline bool cprv_run_cur_next(struct cprv_run_cur *c, struct cprv_event *ev)
{
	uint64_t ts;

	if (!cprv_run_cur_ts(c, &ts))
		return false;
	cprv_run_cur_take(c, ts, ev);
	return true;
}

static inline bool cprv_run_next(struct cprv_run_iter *it, struct cprv_event *ev)
{
	return cprv_run_cur_next(&it->cur, ev);
}

/* Delta bytes per MSI after the first: its first event's u32, a u16 for
 * each other. */
static inline size_t cprv_run_delta_stride(uint32_t nev)
{
	return 4 + 2 * (size_t)(nev - 1);
}

/* Bytes of deltas the run has. */
static inline size_t cprv_run_delta_bytes(const struct cprv_run_cur *c)
{
	return (size_t)(c->n - 1) * cprv_run_delta_stride(c->nev);
}

/*
 * Whether the events of a freshly opened run come out in timestamp order
 * (ties allowed), as one task's MSIs do; *last_ts = its last event's ts.
 * A reorder window may then hold the run as one sorted stream.
 */
bool cprv_run_sorted(const struct cprv_run_cur *it, uint64_t *last_ts);

/*
 * Building runs in user space, by the BPF side's rules: an MSI (its nev
 * events) joins a run if every field but the times equals the template's,
 * its first event is at most 2^32-1 ns after the previous MSI's, its other
 * events at most 65535 ns after its first, and the deltas fit. The
 * synthetic traces of `make bench` and the tests write runs with it.
 */
struct cprv_run_builder {
	struct cprv_event tmpl[CPRV_RUN_MAX_EV];
	uint32_t nev, dbytes;
	uint64_t n, prev;
	uint8_t d[CPRV_RUN_DELTA_BYTES];
};

/* Starts b over with msi as its template. */
void cprv_run_start(struct cprv_run_builder *b, const struct cprv_event *msi, uint32_t nev);
/* Adds msi to b if it is b's MSI again: true; false if it does not join. */
bool cprv_run_add(struct cprv_run_builder *b, const struct cprv_event *msi, uint32_t nev);
/* b's file encoding into out (CPRV_RUN_MAX_ENCODED bytes): its length, or
 * 0 when b holds a single MSI (its template events are then written as
 * they are, as the BPF side does). */
size_t cprv_run_finish(const struct cprv_run_builder *b, uint8_t *out);

/* Events the run stands for. */
static inline uint64_t cprv_run_events(const struct cprv_run_iter *it)
{
	return it->cur.n * it->cur.nev;
}

#endif

/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The trace file: what `record` writes and everything else reads.
 *
 * Format, version 2 (version 1 is read too). All integers little-endian,
 * no padding.
 *
 *   File header (24 bytes + meta):
 *     0  char[8] magic       "CPRVTRC\0"
 *     8  u32     version     1
 *    12  u32     record_size 64 (CPRV_EVENT_SIZE)
 *    16  u32     meta_len    at most CPRV_TRACE_MAX_META
 *    20  u32     meta_crc    zlib crc32 of the meta bytes
 *    24  u8[meta_len]        UTF-8 JSON chosen by the caller: tool version,
 *                            kernel release, probe plan, canary, scenario, clock
 *
 *   Then chunks, each (40-byte header + payload):
 *     0  u32 magic     0x314b4843 ("CHK1" in file order)
 *     4  u32 kind      1 EVENTS, 2 META (a JSON note added while recording),
 *                      3 END (JSON stats: drops, per-hook counts, stop reason)
 *     8  u32 raw_len   payload size before compression, at most
 *                      CPRV_TRACE_MAX_RAW; EVENTS: count * record_size
 *    12  u32 comp_len  payload size in the file
 *    16  u32 count     64-byte blocks in an EVENTS chunk, 0 otherwise
 *    20  u32 crc       zlib crc32 of the comp_len payload bytes
 *    24  u64 first_ts  EVENTS: ts of the first and last record (version 2:
 *                      a run's blocks after its own record do not count);
 *    32  u64 last_ts   META/END: both the ts of the last event written before
 *                      the chunk (0 if none), so the reader can check them
 *    40  u8[comp_len]  zlib stream (compress2) of the raw payload: records
 *                      encoded by cprv_event_encode (lib/event.h), or the
 *                      JSON text (no NUL). Version 2 adds runs (lib/run.h):
 *                      a CPRV_EV_RUN record and the blocks it names, never
 *                      split across chunks; readers expand them into the
 *                      events they stand for. Times within a version 2
 *                      chunk need not be in order.
 *
 * A complete file ends with exactly one END chunk. Each chunk is written
 * with one write loop, and the writer cuts a failed chunk off again, so a
 * file whose writer died still reads up to its last whole chunk.
 */
#ifndef CPRV_LIB_TRACE_H
#define CPRV_LIB_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "cprv_event.h"

#define CPRV_TRACE_MAGIC        "CPRVTRC\0"
#define CPRV_TRACE_VERSION      2
#define CPRV_TRACE_HDR_SIZE     24
#define CPRV_TRACE_CHUNK_MAGIC  0x314b4843u
#define CPRV_TRACE_CHUNK_HDR    40
#define CPRV_TRACE_MAX_META     (16u << 20)
#define CPRV_TRACE_MAX_RAW      (64u << 20)

enum {
	CPRV_CHUNK_EVENTS = 1,
	CPRV_CHUNK_META = 2,
	CPRV_CHUNK_END = 3,
};

/* ---- writing ---- */

struct cprv_trace_opts {
	uint32_t chunk_records; /* records per EVENTS chunk; 0: 4096 */
	int zlevel;             /* zlib level 1..9; 0: 1 (fast, ~same ratio here) */
};

struct cprv_trace_wstats {
	uint64_t events;   /* events in whole chunks on disk */
	uint64_t pending;  /* events buffered, not yet in a chunk */
	uint64_t bytes;    /* file size: header and whole chunks */
	uint64_t raw_bytes;/* uncompressed payload bytes on disk */
	uint32_t chunks;
};

struct cprv_trace_writer;

/*
 * Create (or truncate) path and write the header. meta_json is stored
 * as is (NULL: "{}"). opts may be NULL. On failure returns NULL with errno
 * set and a message in err.
 */
struct cprv_trace_writer *cprv_trace_writer_open(const char *path,
						 const char *meta_json,
						 const struct cprv_trace_opts *opts,
						 char *err, size_t errlen);

/*
 * Buffer n events, writing each chunk as it fills. Returns 0 or -errno.
 * After a failure the writer is stuck: every later call returns the same
 * error, the events of the failed chunk are lost, and the file is left
 * ending at its last whole chunk (a reader sees TRUNCATED).
 */
int cprv_trace_write_events(struct cprv_trace_writer *w,
			    const struct cprv_event *ev, size_t n);

/*
 * Buffer one run in its file encoding (cprv_run_encode; len a multiple of
 * 64). Returns 0 or -errno, like write_events.
 */
int cprv_trace_write_run(struct cprv_trace_writer *w, const uint8_t *enc, size_t len);

struct cprv_run_builder;
/* b's run (lib/run.h), or its one MSI's events, then b is empty again. */
int cprv_trace_write_builder(struct cprv_trace_writer *w, struct cprv_run_builder *b);

/* A META chunk. Buffered events are written first, to keep the order. */
int cprv_trace_write_note(struct cprv_trace_writer *w, const char *json);

/*
 * Write buffered events as a (short) chunk now. Call it periodically and
 * on SIGINT, from normal context: it allocates, it is not signal safe.
 */
int cprv_trace_flush(struct cprv_trace_writer *w);

void cprv_trace_writer_stats(const struct cprv_trace_writer *w,
			     struct cprv_trace_wstats *st);

/* Last error text ("" if none), e.g. "write chunk: No space left on device". */
const char *cprv_trace_writer_error(const struct cprv_trace_writer *w);

/*
 * Write the buffered events and the END chunk (end_json NULL: "{}"), close
 * and free. Returns 0 or -errno; w is freed either way.
 */
int cprv_trace_writer_close(struct cprv_trace_writer *w, const char *end_json);

/* Close and free without an END chunk: the file reads as TRUNCATED. */
void cprv_trace_writer_abandon(struct cprv_trace_writer *w);

/* ---- reading ---- */

enum cprv_trace_status {
	CPRV_TRACE_READING = 0, /* not at the end yet */
	CPRV_TRACE_COMPLETE,    /* END chunk read */
	CPRV_TRACE_TRUNCATED,   /* file ends mid-chunk or without END */
	CPRV_TRACE_CORRUPT,     /* a chunk failed a check; stopped there */
};

struct cprv_trace_note {
	uint64_t ts;            /* chunk's last_ts: last event before the note */
	uint64_t after_events;  /* events returned before this note */
	const char *json;       /* NUL-terminated */
};

struct cprv_trace_reader;
struct cprv_run_iter;

/*
 * Open and validate the header. NULL with errno and err set on: no such
 * file, "not a cpr-verify trace", an unsupported version or record size,
 * or a corrupt header (meta CRC mismatch, meta cut short).
 */
struct cprv_trace_reader *cprv_trace_reader_open(const char *path,
						 char *err, size_t errlen);
void cprv_trace_reader_close(struct cprv_trace_reader *r);

const char *cprv_trace_meta(const struct cprv_trace_reader *r);

/*
 * Next event: 1 with *ev filled, 0 at the end, -errno on an I/O or memory
 * error. Damage is not an error: iteration ends cleanly (0) after the
 * events of the last good chunk, and cprv_trace_status says why. Holds one
 * chunk in memory at a time.
 */
int cprv_trace_next(struct cprv_trace_reader *r, struct cprv_event *ev);

/*
 * Like cprv_trace_next, but a run comes out as its template events, each
 * once with *mult = the MSIs it stands for (1 for a plain event): counts
 * and identities without expanding every MSI. Do not mix with
 * cprv_trace_next on one reader.
 */
int cprv_trace_next_mult(struct cprv_trace_reader *r, struct cprv_event *ev, uint64_t *mult);

/*
 * Like cprv_trace_next, but a run comes out whole: 1 with *run pointing at
 * an iterator over it (the reader's own, valid until the next call; its
 * events count as read) and *ev untouched, or 1 with *run NULL and *ev a
 * plain event. For a consumer that can take a run as one sorted stream
 * (cprv_reorder_push_run). Do not mix with the other two on one reader.
 */
int cprv_trace_next_run(struct cprv_trace_reader *r, struct cprv_event *ev,
			const struct cprv_run_iter **run);

/* META notes and END JSON read so far (all of them once next returned 0). */
const struct cprv_trace_note *cprv_trace_notes(const struct cprv_trace_reader *r,
					       size_t *n);
const char *cprv_trace_end(const struct cprv_trace_reader *r); /* NULL if none */

enum cprv_trace_status cprv_trace_status(const struct cprv_trace_reader *r);
const char *cprv_trace_status_name(enum cprv_trace_status st);
/*
 * Why reading stopped, for humans, e.g. "recording cut short after 8192
 * events at offset 40123" or "bad chunk at offset 40123: CRC mismatch";
 * "" while READING or when COMPLETE.
 */
const char *cprv_trace_status_msg(const struct cprv_trace_reader *r);
/* File offset of the chunk that stopped reading (0 when COMPLETE). */
uint64_t cprv_trace_damage_offset(const struct cprv_trace_reader *r);
uint64_t cprv_trace_events_read(const struct cprv_trace_reader *r);
uint32_t cprv_trace_chunks_read(const struct cprv_trace_reader *r);

#endif

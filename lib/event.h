/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The event record in user space: its 64-byte on-disk encoding, names for
 * its types and kinds, and renderings (one text line, one JSON object).
 *
 * On-disk record layout (all little-endian, no padding, CPRV_EVENT_SIZE):
 *
 *   off size field          off size field
 *     0   8  ts              24   8  obj
 *     8   2  type            32   8  a[0]
 *    10   2  flags           40   8  a[1]
 *    12   4  cpu             48   8  a[2]
 *    16   4  pid             56   8  a[3]
 *    20   4  tid
 *
 * The encoding is written field by field, so it does not depend on the
 * host's byte order or on how a compiler lays out struct cprv_event.
 */
#ifndef CPRV_LIB_EVENT_H
#define CPRV_LIB_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "cprv_event.h"

struct json_object;

void cprv_event_encode(const struct cprv_event *ev, uint8_t out[CPRV_EVENT_SIZE]);
void cprv_event_decode(const uint8_t in[CPRV_EVENT_SIZE], struct cprv_event *ev);

/* Little-endian helpers, shared with the trace file code. */
static inline void cprv_put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void cprv_put_le32(uint8_t *p, uint32_t v)
{
	cprv_put_le16(p, (uint16_t)v);
	cprv_put_le16(p + 2, (uint16_t)(v >> 16));
}

static inline void cprv_put_le64(uint8_t *p, uint64_t v)
{
	cprv_put_le32(p, (uint32_t)v);
	cprv_put_le32(p + 4, (uint32_t)(v >> 32));
}

static inline uint16_t cprv_get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (uint16_t)p[1] << 8);
}

static inline uint32_t cprv_get_le32(const uint8_t *p)
{
	return cprv_get_le16(p) | (uint32_t)cprv_get_le16(p + 2) << 16;
}

static inline uint64_t cprv_get_le64(const uint8_t *p)
{
	return cprv_get_le32(p) | (uint64_t)cprv_get_le32(p + 4) << 32;
}

/* Names. Unknown values give "unknown", never NULL. */
const char *cprv_event_type_name(uint16_t type);
/* Inverse of cprv_event_type_name; -1 if no type has that name. */
int cprv_event_type_from_name(const char *name);
/*
 * Stage label of a type (DESIGN section 2): "S0", "S0'", "S1", "S2", "S3",
 * "S4", "posted", "plumbing", "process", "mark"; "unknown" otherwise.
 */
const char *cprv_event_stage(uint16_t type);
const char *cprv_obj_kind_name(uint32_t kind);   /* CPRV_OBJ_* */
const char *cprv_ctx_kind_name(uint32_t kind);   /* CPRV_CTX_* */
const char *cprv_mark_kind_name(uint64_t kind);  /* CPRV_MARK_* */

/*
 * Strings packed into argument words: byte i of the string is byte i % 8
 * (little-endian) of word i / 8, NUL padded. EXEC carries the comm in
 * a[1..2] (16 bytes), IRQ_NAME the handler name in a[1..3] (24 bytes).
 *
 * unpack copies at most 8 * nwords bytes and always NUL-terminates: out
 * must hold 8 * nwords + 1 bytes. pack stores at most 8 * nwords bytes of s
 * and zero-fills the rest; it returns the number of bytes stored.
 */
void cprv_unpack_str(const __u64 *words, unsigned nwords, char *out);
size_t cprv_pack_str(__u64 *words, unsigned nwords, const char *s);

#define CPRV_COMM_LEN     16
#define CPRV_IRQ_NAME_LEN 24
void cprv_event_comm(const struct cprv_event *ev, char out[CPRV_COMM_LEN + 1]);
void cprv_event_set_comm(struct cprv_event *ev, const char *comm);
void cprv_event_irq_name(const struct cprv_event *ev, char out[CPRV_IRQ_NAME_LEN + 1]);
void cprv_event_set_irq_name(struct cprv_event *ev, const char *name);

/*
 * One human-readable line (no newline):
 *   "<ts> <type> pid=P tid=T cpu=C <named arguments>"
 * ts is printed in seconds relative to base_ts (which may make it negative);
 * base_ts 0 prints the absolute timestamp. Non-printable bytes in packed
 * strings are escaped (\xNN). Returns what snprintf returns: the length the
 * full line needs, so a result >= len means buf holds a truncated line.
 */
int cprv_event_format(const struct cprv_event *ev, uint64_t base_ts,
		      char *buf, size_t len);

/*
 * The same, as a JSON object with named fields, the stage and the raw
 * record (so dump --json is lossless). Kernel addresses are "0x..." strings
 * because they do not fit a JSON int64. Caller owns the result
 * (json_object_put); NULL on allocation failure.
 */
struct json_object *cprv_event_to_json(const struct cprv_event *ev);

#endif

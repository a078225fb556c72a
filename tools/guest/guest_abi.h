/*
 * The cprv-guest heartbeat ABI: what the host may read from the guest's RAM.
 *
 * The guest keeps one struct cprv_guest_hb at guest-physical address
 * CPRV_GUEST_HB_ADDR and updates it on every timer tick and every MSI, so a
 * host can tell "the guest kept running across the live update" (ticks keep
 * growing) and "every MSI it raised arrived" (edu_received == edu_raised,
 * edu_lost == 0) without parsing serial output.
 *
 * Reading it from the host (both verified by tests/guest-smoke.sh):
 *   QMP human-monitor-command "xp /4xg 0x7000"  -> magic|abi, ticks, raised, received
 *   QMP pmemsave {"val":0x7000,"size":128,"filename":...}  -> the whole struct
 *
 * Every u64 is written with one atomic 8-byte store (lock cmpxchg8b), each
 * field by exactly one writer (noted below), so a reader never sees a torn
 * counter. Fields are little-endian. Included by the 32-bit guest and by
 * 64-bit host tools: only fixed-width types, layout pinned by the asserts.
 */
#ifndef CPRV_GUEST_ABI_H
#define CPRV_GUEST_ABI_H

#include <stdint.h>

#define CPRV_GUEST_HB_ADDR      0x7000u
#define CPRV_GUEST_MAGIC        0x56525043u  /* "CPRV" as little-endian bytes */
#define CPRV_GUEST_ABI_VERSION  1u

/* flags */
#define CPRV_GUEST_F_EDU_WANTED  (1u << 0)   /* `edu` on the command line */
#define CPRV_GUEST_F_EDU_READY   (1u << 1)   /* edu found, MSI programmed */
#define CPRV_GUEST_F_EDU_ERROR   (1u << 2)   /* wanted but absent or unusable */
#define CPRV_GUEST_F_RUNNING     (1u << 3)   /* boot done, main loop running */
#define CPRV_GUEST_F_FATAL       (1u << 4)   /* CPU exception: guest halted */

struct cprv_guest_hb {
	uint32_t magic;          /* 0x00 CPRV_GUEST_MAGIC, written last at boot */
	uint32_t abi_version;    /* 0x04 CPRV_GUEST_ABI_VERSION */
	uint64_t ticks;          /* 0x08 LAPIC timer interrupts (timer handler) */
	uint64_t edu_raised;     /* 0x10 raises that must each produce one MSI (main loop) */
	uint64_t edu_received;   /* 0x18 MSIs that found edu's irq status set (MSI handler) */
	uint64_t edu_spurious;   /* 0x20 MSIs that found irq status 0 (MSI handler) */
	uint64_t edu_throttled;  /* 0x28 raises owed to `rate` but dropped: the previous
	                          *      MSI was not acked in time (timer handler) */
	uint64_t edu_lost;       /* 0x30 raises whose MSI never came within
	                          *      CPRV_GUEST_LOST_TICKS ticks (main loop) */
	uint64_t other_irqs;     /* 0x38 interrupts on unexpected vectors (any handler) */
	uint32_t flags;          /* 0x40 CPRV_GUEST_F_* */
	uint32_t tick_hz;        /* 0x44 nominal timer rate (1000) */
	uint32_t lapic_per_ms;   /* 0x48 LAPIC timer counts per ms (divide 16), PIT-calibrated */
	uint32_t ticks_in_200ms; /* 0x4c ticks counted over a 200 ms PIT window at boot */
	uint32_t edu_bdf;        /* 0x50 bus<<8 | dev<<3 | fn, 0xffffffff if none */
	uint32_t edu_vector;     /* 0x54 MSI vector */
	uint32_t edu_rate;       /* 0x58 requested MSIs per second */
	uint32_t apic_id;        /* 0x5c LAPIC id of the (only) CPU = MSI destination */
	uint64_t reserved[4];    /* 0x60 zero; grow here, bump the ABI version */
};                               /* 0x80 bytes */

/* A raise still unanswered after this many ticks counts as lost. */
#define CPRV_GUEST_LOST_TICKS   100u

_Static_assert(sizeof(struct cprv_guest_hb) == 0x80, "heartbeat ABI size");
_Static_assert(__builtin_offsetof(struct cprv_guest_hb, ticks) == 0x08, "ticks offset");
_Static_assert(__builtin_offsetof(struct cprv_guest_hb, edu_received) == 0x18, "received offset");
_Static_assert(__builtin_offsetof(struct cprv_guest_hb, flags) == 0x40, "flags offset");

#endif

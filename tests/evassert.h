/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* What the tests that write and read events back share. */
#ifndef CPRV_TESTS_EVASSERT_H
#define CPRV_TESTS_EVASSERT_H

#include <stdint.h>

#include "cprv_event.h"

/* xorshift64: deterministic, so failures reproduce; each test keeps its seed. */
static inline uint64_t xorshift64(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Every field of a equals b's (fails the running cmocka test if not). */
void assert_event_equal(const struct cprv_event *a, const struct cprv_event *b);

#endif

/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* cmocka assertion shared by the tests that read events back. */
#ifndef CPRV_TESTS_EVASSERT_H
#define CPRV_TESTS_EVASSERT_H

#include "cprv_event.h"

/* Every field of a equals b's (fails the running cmocka test if not). */
void assert_event_equal(const struct cprv_event *a, const struct cprv_event *b);

#endif

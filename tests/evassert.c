// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "evassert.h"

void assert_event_equal(const struct cprv_event *a, const struct cprv_event *b)
{
	assert_int_equal(a->ts, b->ts);
	assert_int_equal(a->type, b->type);
	assert_int_equal(a->flags, b->flags);
	assert_int_equal(a->cpu, b->cpu);
	assert_int_equal(a->pid, b->pid);
	assert_int_equal(a->tid, b->tid);
	assert_int_equal(a->obj, b->obj);
	for (int j = 0; j < 4; j++)
		assert_int_equal(a->a[j], b->a[j]);
}

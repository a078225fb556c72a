/* The reorder window: timestamp order restored, ties stable, lateness counted. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include "reorder.h"

static void restores_order_within_window(void **state)
{
	struct cprv_reorder *r = cprv_reorder_new(16);
	struct cprv_event ev = { 0 }, out;
	uint64_t last = 0, n = 0;

	/* jitter of up to 8 positions, inside the window of 16 */
	for (int i = 0; i < 10000; i++) {
		ev.ts = 1000 + i * 10 + ((i * 7919) % 8) * 10;
		ev.a[0] = i;
		if (cprv_reorder_push(r, &ev, &out)) {
			assert_true(out.ts >= last);
			last = out.ts;
			n++;
		}
	}
	while (cprv_reorder_pop(r, &out)) {
		assert_true(out.ts >= last);
		last = out.ts;
		n++;
	}
	assert_int_equal(n, 10000);
	assert_int_equal(cprv_reorder_late(r), 0);
	cprv_reorder_free(r);
}

static void ties_keep_arrival_order(void **state)
{
	struct cprv_reorder *r = cprv_reorder_new(4);
	struct cprv_event ev = { .ts = 5 }, out;
	uint64_t expect = 0;

	for (int i = 0; i < 10; i++) {
		ev.a[0] = i;
		if (cprv_reorder_push(r, &ev, &out))
			assert_int_equal(out.a[0], expect++);
	}
	while (cprv_reorder_pop(r, &out))
		assert_int_equal(out.a[0], expect++);
	assert_int_equal(expect, 10);
	cprv_reorder_free(r);
}

static void counts_events_later_than_the_window(void **state)
{
	struct cprv_reorder *r = cprv_reorder_new(2);
	struct cprv_event ev = { 0 }, out;
	uint64_t ts[] = { 10, 20, 30, 40, 1 }; /* 1 arrives after 10 and 20 left */

	for (int i = 0; i < 5; i++) {
		ev.ts = ts[i];
		cprv_reorder_push(r, &ev, &out);
	}
	while (cprv_reorder_pop(r, &out))
		;
	assert_int_equal(cprv_reorder_late(r), 1);
	cprv_reorder_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(restores_order_within_window),
		cmocka_unit_test(ties_keep_arrival_order),
		cmocka_unit_test(counts_events_later_than_the_window),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

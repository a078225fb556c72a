// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Runs (lib/run.h): whatever goes into a run comes out of it, field for
 * field, through the file encoding, the BPF side's layout and the trace
 * reader; what does not fit a run is refused; damaged runs are caught.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "event.h"
#include "evassert.h"
#include "run.h"
#include "trace.h"

static uint64_t seed = 88172645463325252ull;

static uint64_t rnd(void)
{
	return xorshift64(&seed);
}

/* One MSI of nev events in the writer's task, its times jittered. */
static void make_msi(struct cprv_event *e, uint32_t nev, uint64_t t0, uint64_t ctx)
{
	for (uint32_t k = 0; k < nev; k++) {
		memset(&e[k], 0, sizeof(e[k]));
		e[k].ts = t0 + (k ? 50 * k + rnd() % 8000 : 0);
		e[k].type = (uint16_t)(k == 0 ? CPRV_EV_EVENTFD_WRITE : k == nev - 1 ?
				       CPRV_EV_APIC_ACCEPT : CPRV_EV_KVM_MSI_SET_IRQ);
		e[k].flags = k ? CPRV_CTX_EVENTFD_WRITE : 0;
		e[k].cpu = 1;
		e[k].pid = 200;
		e[k].tid = 201;
		e[k].obj = ctx;
		e[k].a[0] = 0xfee00000ull + k;
		e[k].a[3] = 0x40 + k;
	}
}


/* n MSIs of nev events into one run; expanded, they are the same events. */
static void round_trip(uint32_t nev, uint64_t n)
{
	struct cprv_event *in = calloc(n * nev, sizeof(*in)), ev;
	struct cprv_run_builder b;
	struct cprv_run_iter it;
	uint8_t *enc = malloc(CPRV_RUN_MAX_ENCODED);
	uint64_t t = 1000000000ull, i = 0;
	size_t len, blocks;
	char why[128];

	assert_non_null(in);
	assert_non_null(enc);
	for (uint64_t m = 0; m < n; m++) {
		make_msi(&in[m * nev], nev, t, 0xffff888001000000ull);
		t += 1 + rnd() % 3000000; /* up to 3 ms apart */
		if (!m)
			cprv_run_start(&b, in, nev);
		else
			assert_true(cprv_run_add(&b, &in[m * nev], nev));
	}
	len = cprv_run_finish(&b, enc);
	if (n == 1) {
		assert_int_equal(len, 0); /* a lone MSI stays as its events */
		goto out;
	}
	assert_int_equal(len % CPRV_EVENT_SIZE, 0);
	blocks = cprv_run_open(enc, len, &it, why, sizeof(why));
	assert_int_equal(blocks * CPRV_EVENT_SIZE, len);
	assert_int_equal(cprv_run_events(&it), n * nev);
	assert_int_equal(cprv_run_encoded_events(enc), n * nev);
	while (cprv_run_next(&it, &ev))
		assert_event_equal(&ev, &in[i++]);
	assert_int_equal(i, n * nev);
out:
	free(in);
	free(enc);
}

static void test_round_trip(void **state)
{
	for (uint32_t nev = 1; nev <= CPRV_RUN_MAX_EV; nev++) {
		round_trip(nev, 1);
		round_trip(nev, 2);
		round_trip(nev, 37);
		/* as many as the delta bytes hold */
		round_trip(nev, 1 + CPRV_RUN_DELTA_BYTES / (4 + 2 * (nev - 1)));
	}
}

/* The builder refuses what the BPF side would not put in a run. */
static void test_refusals(void **state)
{
	struct cprv_event m0[3], m[3];
	struct cprv_run_builder b;
	uint64_t t = 5000000000ull;

	make_msi(m0, 3, t, 0x1000);
	cprv_run_start(&b, m0, 3);
	make_msi(m, 3, t + 1000, 0x2000); /* another eventfd */
	assert_false(cprv_run_add(&b, m, 3));
	make_msi(m, 3, t + 1000, 0x1000);
	m[1].a[1] = 7; /* another field */
	assert_false(cprv_run_add(&b, m, 3));
	make_msi(m, 3, t + 1000, 0x1000);
	m[2].ts = m[0].ts + 70000; /* a sub-delta over 16 bits */
	assert_false(cprv_run_add(&b, m, 3));
	make_msi(m, 3, t + (1ull << 32), 0x1000); /* over 32 bits after the last */
	assert_false(cprv_run_add(&b, m, 3));
	make_msi(m, 3, t - 1, 0x1000); /* back in time */
	assert_false(cprv_run_add(&b, m, 3));
	make_msi(m, 2, t + 1000, 0x1000); /* another shape */
	assert_false(cprv_run_add(&b, m, 2));
	make_msi(m, 3, t + 1000, 0x1000);
	assert_true(cprv_run_add(&b, m, 3));
	assert_int_equal(b.n, 2);
}

/* The BPF side's layout (host structs, deltas after nev templates)
 * encodes to what the builder writes. */
static void test_bpf_layout(void **state)
{
	struct cprv_event msi[4][3], blob[1 + 3 + 64];
	struct cprv_run_builder b;
	uint8_t a[CPRV_RUN_MAX_ENCODED], c[CPRV_RUN_MAX_ENCODED];
	size_t la, lc;

	for (int m = 0; m < 4; m++) {
		make_msi(msi[m], 3, 7000000000ull + m * 1000000ull, 0x3000);
		if (!m)
			cprv_run_start(&b, msi[0], 3);
		else
			assert_true(cprv_run_add(&b, msi[m], 3));
	}
	memset(blob, 0, sizeof(blob));
	blob[0] = (struct cprv_event){ .ts = msi[0][0].ts, .type = CPRV_EV_RUN, .flags = 3,
				       .cpu = 1, .pid = 200, .tid = 201 };
	blob[0].a[0] = 4;
	blob[0].a[1] = b.dbytes;
	memcpy(&blob[1], msi[0], sizeof(msi[0]));
	memcpy(&blob[4], b.d, b.dbytes);
	la = cprv_run_encode(blob, (1 + 3) * sizeof(struct cprv_event) + b.dbytes, a);
	lc = cprv_run_finish(&b, c);
	assert_true(la > 0);
	assert_int_equal(la, lc);
	assert_memory_equal(a, c, la);
	/* a size that does not fit its header is no run */
	assert_int_equal(cprv_run_encode(blob, 4 * sizeof(struct cprv_event) + b.dbytes + 1, a), 0);
	blob[0].a[0] = 5;
	assert_int_equal(cprv_run_encode(blob, 4 * sizeof(struct cprv_event) + b.dbytes, a), 0);
}

static void test_malformed(void **state)
{
	struct cprv_event m[3];
	struct cprv_run_builder b;
	struct cprv_run_iter it;
	uint8_t enc[CPRV_RUN_MAX_ENCODED];
	char why[128];
	size_t len;

	make_msi(m, 3, 1000, 0x1000);
	cprv_run_start(&b, m, 3);
	make_msi(m, 3, 2000, 0x1000);
	assert_true(cprv_run_add(&b, m, 3));
	len = cprv_run_finish(&b, enc);
	assert_true(cprv_run_open(enc, len, &it, why, sizeof(why)) > 0);
	/* cut short */
	assert_int_equal(cprv_run_open(enc, len - CPRV_EVENT_SIZE, &it, why, sizeof(why)), 0);
	assert_non_null(strstr(why, "does not fit"));
	/* events per MSI out of range */
	cprv_put_le16(enc + 10, CPRV_RUN_MAX_EV + 1);
	assert_int_equal(cprv_run_open(enc, len, &it, why, sizeof(why)), 0);
	assert_non_null(strstr(why, "malformed run"));
	cprv_put_le16(enc + 10, 3);
	/* delta bytes that do not match the MSIs */
	cprv_put_le64(enc + 40, 9);
	assert_int_equal(cprv_run_open(enc, len, &it, why, sizeof(why)), 0);
}

/* Runs and whole events in one trace read back as the very sequence. */
static void test_trace_with_runs(void **state)
{
	char path[] = "/tmp/cprv-test-run.XXXXXX";
	const uint64_t nmsi = 5000;
	struct cprv_event *all = calloc(nmsi * 3 + 100, sizeof(*all)), ev;
	struct cprv_trace_opts o = { .chunk_records = 64, .zlevel = 1 };
	struct cprv_run_builder b = { 0 };
	struct cprv_trace_writer *w;
	struct cprv_trace_reader *r;
	uint64_t n = 0, t = 1000000000ull, got = 0;
	char err[256];
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	close(fd);
	assert_non_null(all);
	w = cprv_trace_writer_open(path, "{}", &o, err, sizeof(err));
	assert_non_null(w);
	for (uint64_t m = 0; m < nmsi; m++) {
		struct cprv_event msi[3];

		make_msi(msi, 3, t, 0x4000);
		t += 1000 + rnd() % 5000;
		if (m % 700 == 699) {
			/* a plain event between runs: the run before it first */
			assert_int_equal(cprv_trace_write_builder(w, &b), 0);
			memset(&ev, 0, sizeof(ev));
			ev.ts = t - 500;
			ev.type = CPRV_EV_CLOSE;
			ev.pid = 9;
			assert_int_equal(cprv_trace_write_events(w, &ev, 1), 0);
			all[n++] = ev;
		}
		if (!b.n || !cprv_run_add(&b, msi, 3)) {
			assert_int_equal(cprv_trace_write_builder(w, &b), 0);
			cprv_run_start(&b, msi, 3);
		}
		memcpy(&all[n], msi, sizeof(msi));
		n += 3;
	}
	assert_int_equal(cprv_trace_write_builder(w, &b), 0);
	assert_int_equal(cprv_trace_writer_close(w, "{}"), 0);
	r = cprv_trace_reader_open(path, err, sizeof(err));
	assert_non_null(r);
	while (cprv_trace_next(r, &ev) > 0) {
		assert_true(got < n);
		assert_event_equal(&ev, &all[got]);
		got++;
	}
	assert_int_equal(got, n);
	assert_int_equal(cprv_trace_status(r), CPRV_TRACE_COMPLETE);
	assert_int_equal(cprv_trace_events_read(r), n);
	cprv_trace_reader_close(r);
	/* templates with their multiplicity: the same counts, per type too */
	{
		uint64_t mult, sum = 0, closes = 0, writes = 0, records = 0;

		r = cprv_trace_reader_open(path, err, sizeof(err));
		assert_non_null(r);
		while (cprv_trace_next_mult(r, &ev, &mult) > 0) {
			sum += mult;
			records++;
			closes += ev.type == CPRV_EV_CLOSE ? mult : 0;
			writes += ev.type == CPRV_EV_EVENTFD_WRITE ? mult : 0;
		}
		assert_int_equal(sum, n);
		assert_int_equal(closes, nmsi / 700);
		assert_int_equal(writes, nmsi);
		assert_true(records < n / 10); /* runs did not expand */
		assert_int_equal(cprv_trace_events_read(r), n);
		cprv_trace_reader_close(r);
	}
	unlink(path);
	free(all);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_bpf_layout),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_trace_with_runs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

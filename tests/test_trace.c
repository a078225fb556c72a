/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Trace file: round trips, damage at every offset, hostile input, write
 * errors, and the size a realistic recording takes.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "event.h"
#include "evassert.h"
#include "trace.h"

static char tmpdir[64];

static const char *tpath(const char *name)
{
	static char buf[4][256];
	static int k;

	k = (k + 1) % 4;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", tmpdir, name);
	return buf[k];
}

static int setup_dir(void **state)
{
	strcpy(tmpdir, "/tmp/cprv-test-trace.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_dir(void **state)
{
	DIR *d = opendir(tmpdir);
	struct dirent *de;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			unlink(tpath(de->d_name));
	closedir(d);
	return rmdir(tmpdir);
}

/* Deterministic, so failures reproduce. */
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	return xorshift64(&rng);
}

/*
 * What the rig records per MSI: the user-space write, KVM's MSI and the
 * LAPIC accept, in the writer's task; 4 vectors, one writer thread each,
 * ~50 us apart.
 */
static size_t rig_events(struct cprv_event *ev, size_t nmsi, uint64_t ts)
{
	static const uint64_t ctx[4] = {
		0xffff888104a3c000ull, 0xffff888104a3c600ull,
		0xffff888104a3d200ull, 0xffff888104a3e800ull,
	};
	size_t n = 0;

	for (size_t i = 0; i < nmsi; i++) {
		unsigned v = i % 4;
		struct cprv_event base = {
			.pid = 4242, .tid = 4243 + v, .cpu = v % 2, .obj = ctx[v],
		};

		ts += 50000 + rnd() % 2048;
		ev[n] = base;
		ev[n].ts = ts;
		ev[n].type = CPRV_EV_EVENTFD_WRITE;
		ev[n].a[0] = 1;
		ev[n].a[1] = 0;
		ev[n].a[2] = 10 + v;
		n++;
		ev[n] = base;
		ev[n].ts = ts + 1800 + rnd() % 256;
		ev[n].type = CPRV_EV_KVM_MSI_SET_IRQ;
		ev[n].flags = CPRV_CTX_EVENTFD_WRITE;
		ev[n].a[0] = 0xfee00000;
		ev[n].a[1] = 0x4020 + v;
		n++;
		ev[n] = base;
		ev[n].ts = ev[n - 1].ts + 900 + rnd() % 256;
		ev[n].type = CPRV_EV_APIC_ACCEPT;
		ev[n].flags = CPRV_CTX_EVENTFD_WRITE;
		ev[n].a[3] = 0x20 + v;
		n++;
	}
	return n;
}

/* Rig events with every field scrambled now and then. */
static void mixed_events(struct cprv_event *ev, size_t n)
{
	size_t k = rig_events(ev, n / 3, 1000000000ull);

	for (; k < n; k++) {
		ev[k] = ev[k - 1];
		ev[k].ts += 100;
	}
	for (size_t i = 0; i < n; i += 7) {
		ev[i].type = (uint16_t)rnd();
		ev[i].flags = (uint16_t)rnd();
		ev[i].cpu = (uint32_t)rnd();
		ev[i].pid = (uint32_t)rnd();
		ev[i].tid = (uint32_t)rnd();
		ev[i].obj = rnd();
		for (int j = 0; j < 4; j++)
			ev[i].a[j] = rnd();
	}
}


static uint8_t *slurp(const char *path, size_t *len)
{
	struct stat sb;
	uint8_t *buf;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &sb), 0);
	buf = malloc(sb.st_size + 1);
	assert_non_null(buf);
	assert_int_equal(read(fd, buf, sb.st_size), sb.st_size);
	close(fd);
	*len = sb.st_size;
	return buf;
}

static void spit(const char *path, const uint8_t *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

/*
 * Read a whole file; every event returned must be the next original.
 * Returns the number of events read, or -1 if open failed.
 */
static long read_all(const char *path, const struct cprv_event *orig, size_t norig,
		     struct cprv_trace_reader **out)
{
	char err[256] = "";
	struct cprv_trace_reader *r = cprv_trace_reader_open(path, err, sizeof(err));
	struct cprv_event ev;
	long n = 0;
	int ret;

	if (!r) {
		assert_true(err[0] != '\0');
		return -1;
	}
	while ((ret = cprv_trace_next(r, &ev)) == 1) {
		assert_true((size_t)n < norig);
		assert_event_equal(&ev, &orig[n]);
		n++;
	}
	assert_int_equal(ret, 0);
	assert_int_not_equal(cprv_trace_status(r), CPRV_TRACE_READING);
	assert_int_equal(cprv_trace_events_read(r), n);
	/* the end is sticky */
	assert_int_equal(cprv_trace_next(r, &ev), 0);
	if (out)
		*out = r;
	else
		cprv_trace_reader_close(r);
	return n;
}

/* The test's own walk over chunk headers: offsets, kinds, event counts. */
struct chunk_info {
	size_t off, end;
	uint32_t kind, count;
	uint64_t events_before;
};

static size_t walk_chunks(const uint8_t *buf, size_t len, struct chunk_info *ci, size_t max)
{
	size_t off = CPRV_TRACE_HDR_SIZE + cprv_get_le32(buf + 16), n = 0;
	uint64_t events = 0;

	while (off + CPRV_TRACE_CHUNK_HDR <= len && n < max) {
		ci[n].off = off;
		ci[n].kind = cprv_get_le32(buf + off + 4);
		ci[n].count = cprv_get_le32(buf + off + 16);
		ci[n].end = off + CPRV_TRACE_CHUNK_HDR + cprv_get_le32(buf + off + 12);
		ci[n].events_before = events;
		events += ci[n].count;
		off = ci[n].end;
		n++;
	}
	assert_int_equal(off, len);
	return n;
}

static const char *META = "{\"tool\":\"cpr-verify 0.1.0\",\"kernel\":\"6.18\"}";

/* 350 events in chunks of 100 with a note before the last one. */
static uint8_t *small_trace(const char *path, struct cprv_event *ev, size_t *len)
{
	struct cprv_trace_opts o = { .chunk_records = 100 };
	char err[256];
	struct cprv_trace_writer *w;

	mixed_events(ev, 350);
	w = cprv_trace_writer_open(path, META, &o, err, sizeof(err));
	assert_non_null(w);
	assert_int_equal(cprv_trace_write_events(w, ev, 300), 0);
	assert_int_equal(cprv_trace_write_note(w, "{\"comm\":\"qemu\"}"), 0);
	assert_int_equal(cprv_trace_write_events(w, ev + 300, 50), 0);
	assert_int_equal(cprv_trace_writer_close(w, "{\"drops\":0}"), 0);
	return slurp(path, len);
}

static void test_roundtrip(void **state)
{
	enum { N = 12345 };
	struct cprv_event *ev = calloc(N, sizeof(*ev));
	struct cprv_trace_opts o = { .chunk_records = 1000 };
	struct cprv_trace_wstats st;
	struct cprv_trace_writer *w;
	struct cprv_trace_reader *r;
	const struct cprv_trace_note *notes;
	const char *path = tpath("roundtrip.cprv");
	char err[256];
	size_t i = 0, nnotes, flen;
	uint8_t *file;

	mixed_events(ev, N);
	w = cprv_trace_writer_open(path, META, &o, err, sizeof(err));
	assert_non_null(w);
	/* odd batch sizes across chunk boundaries */
	while (i < N) {
		size_t b = 1 + rnd() % 700;

		if (b > N - i)
			b = N - i;
		if (i < 5000 && i + b > 5000)
			b = 5000 - i;
		assert_int_equal(cprv_trace_write_events(w, ev + i, b), 0);
		i += b;
		if (i == 5000)
			assert_int_equal(cprv_trace_write_note(w, "{\"pid\":4242,\"comm\":\"qemu\"}"), 0);
		if (i >= 7777 && i - b < 7777)
			assert_int_equal(cprv_trace_flush(w), 0);
	}
	assert_int_equal(cprv_trace_write_note(w, "{\"last\":true}"), 0);
	cprv_trace_writer_stats(w, &st);
	assert_int_equal(st.events, N);
	assert_int_equal(st.pending, 0);
	assert_true(st.chunks >= 14);
	assert_int_equal(cprv_trace_writer_close(w, "{\"drops\":0,\"stop\":\"signal\"}"), 0);

	file = slurp(path, &flen);
	assert_memory_equal(file, "CPRVTRC\0\2\0\0\0\x40\0\0\0", 16);
	{
		struct chunk_info ci[64];
		size_t nc = walk_chunks(file, flen, ci, 64);

		/* the writer's stats match the file; END comes last */
		assert_int_equal(nc, st.chunks + 1);
		assert_int_equal(ci[nc - 1].off, st.bytes);
		assert_int_equal(ci[nc - 1].kind, CPRV_CHUNK_END);
	}
	free(file);

	assert_int_equal(read_all(path, ev, N, &r), N);
	assert_int_equal(cprv_trace_status(r), CPRV_TRACE_COMPLETE);
	assert_string_equal(cprv_trace_status_msg(r), "");
	assert_string_equal(cprv_trace_meta(r), META);
	assert_string_equal(cprv_trace_end(r), "{\"drops\":0,\"stop\":\"signal\"}");
	notes = cprv_trace_notes(r, &nnotes);
	assert_int_equal(nnotes, 2);
	assert_string_equal(notes[0].json, "{\"pid\":4242,\"comm\":\"qemu\"}");
	assert_int_equal(notes[0].after_events, 5000);
	assert_int_equal(notes[0].ts, ev[4999].ts);
	assert_string_equal(notes[1].json, "{\"last\":true}");
	assert_int_equal(notes[1].after_events, N);
	assert_int_equal(cprv_trace_chunks_read(r), st.chunks + 1);
	cprv_trace_reader_close(r);
	free(ev);
}

static void test_empty(void **state)
{
	const char *path = tpath("empty.cprv");
	struct cprv_trace_writer *w;
	struct cprv_trace_reader *r;
	struct cprv_event ev;
	size_t n;
	char err[256];

	/* closed properly, no events: complete */
	w = cprv_trace_writer_open(path, NULL, NULL, err, sizeof(err));
	assert_non_null(w);
	assert_int_equal(cprv_trace_flush(w), 0); /* nothing to flush: no chunk */
	assert_int_equal(cprv_trace_writer_close(w, NULL), 0);
	assert_int_equal(read_all(path, NULL, 0, &r), 0);
	assert_int_equal(cprv_trace_status(r), CPRV_TRACE_COMPLETE);
	assert_string_equal(cprv_trace_meta(r), "{}");
	assert_string_equal(cprv_trace_end(r), "{}");
	assert_int_equal(cprv_trace_chunks_read(r), 1);
	cprv_trace_notes(r, &n);
	assert_int_equal(n, 0);
	cprv_trace_reader_close(r);

	/* header only: the recorder died before anything */
	w = cprv_trace_writer_open(path, META, NULL, err, sizeof(err));
	assert_non_null(w);
	cprv_trace_writer_abandon(w);
	r = cprv_trace_reader_open(path, err, sizeof(err));
	assert_non_null(r);
	assert_int_equal(cprv_trace_next(r, &ev), 0);
	assert_int_equal(cprv_trace_status(r), CPRV_TRACE_TRUNCATED);
	assert_null(cprv_trace_end(r));
	assert_non_null(strstr(cprv_trace_status_msg(r), "cut short after 0 events"));
	assert_int_equal(cprv_trace_damage_offset(r), CPRV_TRACE_HDR_SIZE + strlen(META));
	cprv_trace_reader_close(r);
}

static void test_truncated_everywhere(void **state)
{
	struct cprv_event ev[350];
	struct chunk_info ci[16];
	const char *path = tpath("full.cprv"), *cut = tpath("cut.cprv");
	size_t len, nchunks, hdr_end = CPRV_TRACE_HDR_SIZE + strlen(META);
	uint8_t *file = small_trace(path, ev, &len);

	nchunks = walk_chunks(file, len, ci, 16);
	assert_int_equal(nchunks, 6); /* 3 x 100, note, 50, END */
	assert_int_equal(ci[3].kind, CPRV_CHUNK_META);
	assert_int_equal(ci[5].kind, CPRV_CHUNK_END);

	for (size_t at = 0; at <= len; at++) {
		struct cprv_trace_reader *r;
		uint64_t want = 0;
		size_t whole = hdr_end;
		char err[256] = "";
		long got;

		spit(cut, file, at);
		if (at < hdr_end) {
			r = cprv_trace_reader_open(cut, err, sizeof(err));
			assert_null(r);
			assert_non_null(strstr(err, at < 8 ? "not a cpr-verify trace"
						       : "corrupt header"));
			continue;
		}
		for (size_t k = 0; k < nchunks; k++)
			if (ci[k].end <= at) {
				want += ci[k].count;
				whole = ci[k].end;
			}
		got = read_all(cut, ev, 350, &r);
		assert_int_equal(got, want);
		if (at == len) {
			assert_int_equal(cprv_trace_status(r), CPRV_TRACE_COMPLETE);
		} else {
			char expect[128];
			size_t n;

			assert_int_equal(cprv_trace_status(r), CPRV_TRACE_TRUNCATED);
			assert_int_equal(cprv_trace_damage_offset(r), whole);
			snprintf(expect, sizeof(expect), "cut short after %lu events at offset %zu",
				 (unsigned long)want, whole);
			assert_non_null(strstr(cprv_trace_status_msg(r), expect));
			assert_null(cprv_trace_end(r));
			cprv_trace_notes(r, &n);
			assert_int_equal(n, at >= ci[3].end);
		}
		cprv_trace_reader_close(r);
	}
	free(file);
}

/* Damage one byte; expect CORRUPT at chunk k with the chunks before intact. */
static void expect_corrupt(const uint8_t *file, size_t len, const struct chunk_info *ci,
			   size_t k, size_t at, const struct cprv_event *ev)
{
	const char *path = tpath("flip.cprv");
	uint8_t *copy = malloc(len);
	struct cprv_trace_reader *r;
	char expect[64];

	memcpy(copy, file, len);
	copy[at] ^= 0x10;
	spit(path, copy, len);
	assert_int_equal(read_all(path, ev, 350, &r), ci[k].events_before);
	assert_int_equal(cprv_trace_status(r), CPRV_TRACE_CORRUPT);
	assert_int_equal(cprv_trace_damage_offset(r), ci[k].off);
	snprintf(expect, sizeof(expect), "bad chunk at offset %zu: ", ci[k].off);
	assert_non_null(strstr(cprv_trace_status_msg(r), expect));
	cprv_trace_reader_close(r);
	free(copy);
}

static void test_corrupt_chunk(void **state)
{
	struct cprv_event ev[350];
	struct chunk_info ci[16];
	size_t len, nchunks;
	uint8_t *file = small_trace(tpath("c.cprv"), ev, &len);

	nchunks = walk_chunks(file, len, ci, 16);
	for (size_t k = 0; k < nchunks; k++) {
		size_t payload = ci[k].off + CPRV_TRACE_CHUNK_HDR;

		/* payload: first, middle, last byte */
		expect_corrupt(file, len, ci, k, payload, ev);
		expect_corrupt(file, len, ci, k, (payload + ci[k].end) / 2, ev);
		expect_corrupt(file, len, ci, k, ci[k].end - 1, ev);
		/* header: magic, kind, raw_len, count, crc, first_ts, last_ts */
		static const size_t fields[] = { 0, 4, 8, 16, 20, 24, 32 };
		for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
			expect_corrupt(file, len, ci, k, ci[k].off + fields[f], ev);
		}
	}
	free(file);
}

static void patch_and_open(const uint8_t *file, size_t len, size_t at,
			   const void *bytes, size_t n, int want_errno, const char *want)
{
	const char *path = tpath("hdr.cprv");
	uint8_t *copy = malloc(len);
	char err[256] = "";

	memcpy(copy, file, len);
	memcpy(copy + at, bytes, n);
	spit(path, copy, len);
	errno = 0;
	assert_null(cprv_trace_reader_open(path, err, sizeof(err)));
	assert_int_equal(errno, want_errno);
	if (!strstr(err, want))
		fail_msg("error \"%s\" lacks \"%s\"", err, want);
	assert_non_null(strstr(err, path)); /* says which file */
	free(copy);
}

static void test_bad_header(void **state)
{
	struct cprv_event ev[350];
	size_t len;
	uint8_t *file = small_trace(tpath("h.cprv"), ev, &len);
	char err[256] = "";

	patch_and_open(file, len, 0, "CPRVTRX", 7, EINVAL, "not a cpr-verify trace");
	patch_and_open(file, len, 8, "\3", 1, ENOTSUP, "unsupported trace version 3");
	patch_and_open(file, len, 8, "\0", 1, ENOTSUP, "unsupported trace version 0");
	patch_and_open(file, len, 12, "\x20", 1, ENOTSUP, "unsupported record size 32");
	patch_and_open(file, len, 24 + 3, "X", 1, EBADMSG, "corrupt header: metadata CRC mismatch");
	patch_and_open(file, len, 20, "\0\0\0\0", 4, EBADMSG, "corrupt header");
	patch_and_open(file, len, 16, "\xff\xff\xff\x7f", 4, EBADMSG, "over the");
	/* a plausible meta_len past the end of a short file */
	spit(tpath("short.cprv"), file, CPRV_TRACE_HDR_SIZE + 5);
	assert_null(cprv_trace_reader_open(tpath("short.cprv"), err, sizeof(err)));
	assert_non_null(strstr(err, "metadata cut short"));
	spit(tpath("zero.cprv"), file, 0);
	assert_null(cprv_trace_reader_open(tpath("zero.cprv"), err, sizeof(err)));
	assert_non_null(strstr(err, "not a cpr-verify trace"));
	errno = 0;
	assert_null(cprv_trace_reader_open(tpath("missing.cprv"), err, sizeof(err)));
	assert_int_equal(errno, ENOENT);
	assert_non_null(strstr(err, "No such file"));
	free(file);
}

static void test_dev_full(void **state)
{
	char err[256] = "";

	errno = 0;
	assert_null(cprv_trace_writer_open("/dev/full", META, NULL, err, sizeof(err)));
	assert_int_equal(errno, ENOSPC);
	assert_non_null(strstr(err, "/dev/full"));
	assert_non_null(strstr(err, "No space left on device"));

	errno = 0;
	assert_null(cprv_trace_writer_open(tpath("nodir/x.cprv"), META, NULL, err, sizeof(err)));
	assert_int_equal(errno, ENOENT);
}

/*
 * A write that fails half way through a chunk (file size limit: EFBIG, the
 * same path as ENOSPC) leaves the file ending at the last whole chunk.
 */
static void test_write_error_midway(void **state)
{
	struct cprv_event ev[400];
	struct cprv_trace_opts o = { .chunk_records = 100 };
	const char *path = tpath("efbig.cprv");
	struct cprv_trace_wstats st;
	struct cprv_trace_writer *w;
	struct cprv_trace_reader *r;
	struct rlimit old, lim;
	struct sigaction sa = { .sa_handler = SIG_IGN }, osa;
	struct stat sb;
	char err[256];
	int ret;

	mixed_events(ev, 400);
	w = cprv_trace_writer_open(path, META, &o, err, sizeof(err));
	assert_non_null(w);
	assert_int_equal(cprv_trace_write_events(w, ev, 200), 0);
	cprv_trace_writer_stats(w, &st);
	assert_int_equal(st.chunks, 2);

	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = st.bytes + 100; /* the next chunk gets 100 bytes in */
	assert_int_equal(sigaction(SIGXFSZ, &sa, &osa), 0);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	ret = cprv_trace_write_events(w, ev + 200, 100);
	/* stuck: same error again, no more writes */
	int ret2 = cprv_trace_write_events(w, ev + 300, 100);
	int ret3 = cprv_trace_write_note(w, "{}");
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_int_equal(sigaction(SIGXFSZ, &osa, NULL), 0);

	assert_int_equal(ret, -EFBIG);
	assert_int_equal(ret2, -EFBIG);
	assert_int_equal(ret3, -EFBIG);
	assert_non_null(strstr(cprv_trace_writer_error(w), "File too large"));
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_size, st.bytes); /* half chunk cut off */
	assert_int_equal(cprv_trace_writer_close(w, "{}"), -EFBIG);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_size, st.bytes);

	assert_int_equal(read_all(path, ev, 400, &r), 200);
	assert_int_equal(cprv_trace_status(r), CPRV_TRACE_TRUNCATED);
	cprv_trace_reader_close(r);
}

/*
 * Random damage must never crash, over-read (ASan) or return an event that
 * was not written; damage after chunk k never costs the chunks before it.
 */
static void test_fuzz(void **state)
{
	struct cprv_event ev[350];
	struct chunk_info ci[16];
	const char *path = tpath("fuzz.cprv");
	size_t len, nchunks;
	uint8_t *file = small_trace(tpath("fuzz-orig.cprv"), ev, &len), *copy = malloc(len);
	int opened = 0, complete = 0;

	nchunks = walk_chunks(file, len, ci, 16);
	for (int iter = 0; iter < 1000; iter++) {
		size_t first = len, newlen = len;
		int kind = rnd() % 4;

		memcpy(copy, file, len);
		if (kind == 0) {          /* a few random bytes anywhere */
			for (int i = 1 + rnd() % 4; i; i--) {
				size_t at = rnd() % len;

				copy[at] = (uint8_t)rnd();
				first = at < first ? at : first;
			}
		} else if (kind == 1) {   /* a random u32 in a chunk header */
			size_t k = rnd() % nchunks, at = ci[k].off + 4 * (rnd() % 10);
			uint32_t v = rnd() % 2 ? (uint32_t)rnd() : (uint32_t)(rnd() % 4096);

			cprv_put_le32(copy + at, v);
			first = at;
		} else if (kind == 2) {   /* a run of garbage */
			size_t at = rnd() % len, n = 1 + rnd() % 200;

			for (size_t i = at; i < at + n && i < len; i++)
				copy[i] = (uint8_t)rnd();
			first = at;
		} else {                  /* garbage and a cut */
			size_t at = rnd() % len;

			copy[at] ^= 0xff;
			newlen = at + rnd() % (len - at);
			first = at < newlen ? at : newlen;
		}
		spit(path, copy, newlen);

		struct cprv_trace_reader *r;
		long got = read_all(path, ev, 350, &r);

		if (got < 0) {
			/* only header damage may stop the open */
			assert_true(first < CPRV_TRACE_HDR_SIZE + strlen(META));
			continue;
		}
		opened++;
		if (cprv_trace_status(r) == CPRV_TRACE_COMPLETE)
			complete++;
		for (size_t k = 0; k < nchunks; k++)
			if (ci[k].end <= first)
				assert_true((uint64_t)got >= ci[k].events_before + ci[k].count);
		cprv_trace_reader_close(r);
	}
	print_message("fuzz: 1000 damaged files, %d opened, %d still complete\n",
		      opened, complete);
	assert_true(opened > 500);
	free(copy);
	free(file);
}

/* Bytes per event for a rig-like recording: the number the design quotes. */
static void test_size_realistic(void **state)
{
	enum { NMSI = 100000 };
	struct cprv_event *ev = calloc(3 * NMSI, sizeof(*ev));
	size_t n = rig_events(ev, NMSI, 5000000000ull);
	static const int levels[] = { 1, 6 };

	for (size_t l = 0; l < sizeof(levels) / sizeof(levels[0]); l++) {
		struct cprv_trace_opts o = { .zlevel = levels[l] };
		struct cprv_trace_wstats st;
		struct cprv_trace_writer *w;
		struct cprv_trace_reader *r;
		char err[256];
		struct stat sb;
		double bpe;

		w = cprv_trace_writer_open(tpath("rig.cprv"), META, &o, err, sizeof(err));
		assert_non_null(w);
		assert_int_equal(cprv_trace_write_events(w, ev, n), 0);
		cprv_trace_writer_stats(w, &st);
		assert_int_equal(cprv_trace_writer_close(w, "{}"), 0);
		assert_int_equal(stat(tpath("rig.cprv"), &sb), 0);
		bpe = (double)(sb.st_size - CPRV_TRACE_HDR_SIZE - strlen(META)) / n;
		print_message("rig-like trace, zlevel %d: %zu events (3 per MSI, 4 vectors, "
			      "~50 us apart), %u chunks, %lld bytes, %.2f bytes/event\n",
			      levels[l], n, st.chunks, (long long)sb.st_size, bpe);
		/* a regression guard, far above what zlib achieves here */
		assert_true(bpe < 16.0);
		assert_int_equal(read_all(tpath("rig.cprv"), ev, n, &r), n);
		assert_int_equal(cprv_trace_status(r), CPRV_TRACE_COMPLETE);
		cprv_trace_reader_close(r);
	}
	free(ev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_truncated_everywhere),
		cmocka_unit_test(test_corrupt_chunk),
		cmocka_unit_test(test_bad_header),
		cmocka_unit_test(test_dev_full),
		cmocka_unit_test(test_write_error_midway),
		cmocka_unit_test(test_fuzz),
		cmocka_unit_test(test_size_realistic),
	};
	return cmocka_run_group_tests(tests, setup_dir, remove_dir);
}

/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Trace file writer and reader; the format is described in trace.h.
 *
 * The reader trusts nothing in the file: every length is checked against
 * a fixed limit and against the file size before anything is allocated or
 * read, so a damaged or hostile file costs at most one bounded chunk.
 */
#include "trace.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "event.h"
#include "run.h"

#define DEFAULT_CHUNK_RECORDS 4096
#define DEFAULT_ZLEVEL        1
/* All notes together; they are small, so this only stops hostile files. */
#define MAX_NOTES_BYTES       (64u << 20)

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads up to len bytes at off; returns bytes read (short at EOF) or -errno. */
static ssize_t read_at(int fd, void *buf, size_t len, uint64_t off)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = pread(fd, (uint8_t *)buf + got, len - got,
				  (off_t)(off + got));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* ---- writer ---- */

struct cprv_trace_writer {
	int fd;
	int zlevel;
	uint32_t chunk_records;
	uint8_t *raw;        /* pending records, encoded */
	uint32_t pending;    /* 64-byte blocks in raw: events, runs */
	uint64_t first_ts, last_ts; /* of the pending records */
	uint64_t prev_ts;    /* last event handed to us: stamps notes */
	uint8_t *out;        /* chunk header + compressed payload */
	size_t out_cap;
	struct cprv_trace_wstats st;
	int err;             /* sticky -errno */
	char errmsg[160];
};

static int writer_fail(struct cprv_trace_writer *w, int err, const char *what)
{
	w->err = err;
	snprintf(w->errmsg, sizeof(w->errmsg), "%s: %s", what, strerror(-err));
	return err;
}

static int emit_chunk(struct cprv_trace_writer *w, uint32_t kind,
		      const uint8_t *raw, size_t raw_len, uint32_t count,
		      uint64_t first_ts, uint64_t last_ts)
{
	size_t need = CPRV_TRACE_CHUNK_HDR + compressBound((uLong)raw_len);
	uLongf clen;
	uint8_t *h;
	int ret;

	if (w->err)
		return w->err;
	if (need > w->out_cap) {
		uint8_t *p = realloc(w->out, need);

		if (!p)
			return -ENOMEM; /* nothing written: not sticky */
		w->out = p;
		w->out_cap = need;
	}
	clen = (uLongf)(need - CPRV_TRACE_CHUNK_HDR);
	ret = compress2(w->out + CPRV_TRACE_CHUNK_HDR, &clen, raw, (uLong)raw_len,
			w->zlevel);
	if (ret != Z_OK)
		return ret == Z_MEM_ERROR ? -ENOMEM : -EINVAL;

	h = w->out;
	cprv_put_le32(h + 0, CPRV_TRACE_CHUNK_MAGIC);
	cprv_put_le32(h + 4, kind);
	cprv_put_le32(h + 8, (uint32_t)raw_len);
	cprv_put_le32(h + 12, (uint32_t)clen);
	cprv_put_le32(h + 16, count);
	cprv_put_le32(h + 20, (uint32_t)crc32(0, h + CPRV_TRACE_CHUNK_HDR, (uInt)clen));
	cprv_put_le64(h + 24, first_ts);
	cprv_put_le64(h + 32, last_ts);

	ret = write_all(w->fd, h, CPRV_TRACE_CHUNK_HDR + clen);
	if (ret) {
		/*
		 * Cut off whatever part of the chunk made it, so the file
		 * ends on a whole chunk. Fails on pipes and devices, where
		 * there is nothing to cut.
		 */
		if (ftruncate(w->fd, (off_t)w->st.bytes) == 0)
			lseek(w->fd, (off_t)w->st.bytes, SEEK_SET);
		return writer_fail(w, ret, "write chunk");
	}
	w->st.bytes += CPRV_TRACE_CHUNK_HDR + clen;
	w->st.raw_bytes += raw_len;
	w->st.chunks++;
	w->st.events += count;
	return 0;
}

static int flush_events(struct cprv_trace_writer *w)
{
	uint32_t n = w->pending;
	int ret;

	if (w->err)
		return w->err;
	if (!n)
		return 0;
	ret = emit_chunk(w, CPRV_CHUNK_EVENTS, w->raw, (size_t)n * CPRV_EVENT_SIZE,
			 n, w->first_ts, w->last_ts);
	/* A failed write loses the chunk; an allocation failure keeps it. */
	if (ret == 0 || w->err)
		w->pending = 0;
	return ret;
}

struct cprv_trace_writer *cprv_trace_writer_open(const char *path,
						 const char *meta_json,
						 const struct cprv_trace_opts *opts,
						 char *err, size_t errlen)
{
	struct cprv_trace_writer *w;
	size_t meta_len;
	uint8_t *hdr;
	int ret;

	if (!meta_json)
		meta_json = "{}";
	meta_len = strlen(meta_json);
	if (meta_len > CPRV_TRACE_MAX_META) {
		set_err(err, errlen, "%s: metadata of %zu bytes over the %u limit",
			path, meta_len, CPRV_TRACE_MAX_META);
		errno = EINVAL;
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		goto oom;
	w->fd = -1;
	w->chunk_records = opts && opts->chunk_records ? opts->chunk_records
						       : DEFAULT_CHUNK_RECORDS;
	if (w->chunk_records > CPRV_TRACE_MAX_RAW / CPRV_EVENT_SIZE)
		w->chunk_records = CPRV_TRACE_MAX_RAW / CPRV_EVENT_SIZE;
	w->zlevel = opts && opts->zlevel >= 1 && opts->zlevel <= 9 ? opts->zlevel
								   : DEFAULT_ZLEVEL;
	/* room for a run past a chunk's last event */
	w->raw = malloc((size_t)w->chunk_records * CPRV_EVENT_SIZE + CPRV_RUN_MAX_ENCODED);
	hdr = malloc(CPRV_TRACE_HDR_SIZE + meta_len);
	if (!w->raw || !hdr) {
		free(hdr);
		cprv_trace_writer_abandon(w);
		goto oom;
	}

	w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (w->fd < 0) {
		ret = errno;
		set_err(err, errlen, "%s: %s", path, strerror(ret));
		free(hdr);
		w->fd = -1;
		cprv_trace_writer_abandon(w);
		errno = ret;
		return NULL;
	}

	memcpy(hdr, CPRV_TRACE_MAGIC, 8);
	cprv_put_le32(hdr + 8, CPRV_TRACE_VERSION);
	cprv_put_le32(hdr + 12, CPRV_EVENT_SIZE);
	cprv_put_le32(hdr + 16, (uint32_t)meta_len);
	cprv_put_le32(hdr + 20, (uint32_t)crc32(0, (const Bytef *)meta_json,
						 (uInt)meta_len));
	memcpy(hdr + CPRV_TRACE_HDR_SIZE, meta_json, meta_len);
	ret = write_all(w->fd, hdr, CPRV_TRACE_HDR_SIZE + meta_len);
	free(hdr);
	if (ret) {
		set_err(err, errlen, "%s: write header: %s", path, strerror(-ret));
		cprv_trace_writer_abandon(w);
		errno = -ret;
		return NULL;
	}
	w->st.bytes = CPRV_TRACE_HDR_SIZE + meta_len;
	return w;
oom:
	set_err(err, errlen, "%s: out of memory", path);
	errno = ENOMEM;
	return NULL;
}

int cprv_trace_write_events(struct cprv_trace_writer *w,
			    const struct cprv_event *ev, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		/* Full after a failed allocation last time: try again first. */
		if (w->pending == w->chunk_records || w->err) {
			int ret = flush_events(w);

			if (ret)
				return ret;
		}
		if (!w->pending)
			w->first_ts = ev[i].ts;
		w->last_ts = w->prev_ts = ev[i].ts;
		cprv_event_encode(&ev[i], w->raw + (size_t)w->pending * CPRV_EVENT_SIZE);
		w->pending++;
	}
	if (w->pending == w->chunk_records)
		return flush_events(w);
	return w->err;
}

int cprv_trace_write_run(struct cprv_trace_writer *w, const uint8_t *enc, size_t len)
{
	uint32_t blocks = (uint32_t)(len / CPRV_EVENT_SIZE);
	uint64_t ts;

	if (len % CPRV_EVENT_SIZE || !blocks || len > CPRV_RUN_MAX_ENCODED)
		return -EINVAL;
	/* a run never straddles two chunks */
	if (w->pending + blocks > w->chunk_records || w->err) {
		int ret = flush_events(w);

		if (ret)
			return ret;
	}
	ts = cprv_get_le64(enc);
	if (!w->pending)
		w->first_ts = ts;
	w->last_ts = w->prev_ts = ts;
	memcpy(w->raw + (size_t)w->pending * CPRV_EVENT_SIZE, enc, len);
	w->pending += blocks;
	if (w->pending >= w->chunk_records)
		return flush_events(w);
	return w->err;
}

int cprv_trace_write_builder(struct cprv_trace_writer *w, struct cprv_run_builder *b)
{
	uint8_t enc[CPRV_RUN_MAX_ENCODED];
	size_t len;
	int ret = 0;

	if (!b->n)
		return w->err;
	len = cprv_run_finish(b, enc);
	ret = len ? cprv_trace_write_run(w, enc, len) : cprv_trace_write_events(w, b->tmpl, b->nev);
	b->n = 0;
	return ret;
}

int cprv_trace_write_note(struct cprv_trace_writer *w, const char *json)
{
	size_t len = strlen(json);
	int ret = flush_events(w);

	if (ret)
		return ret;
	if (len > CPRV_TRACE_MAX_RAW)
		return -E2BIG;
	return emit_chunk(w, CPRV_CHUNK_META, (const uint8_t *)json, len, 0,
			  w->prev_ts, w->prev_ts);
}

int cprv_trace_flush(struct cprv_trace_writer *w)
{
	return flush_events(w);
}

void cprv_trace_writer_stats(const struct cprv_trace_writer *w,
			     struct cprv_trace_wstats *st)
{
	*st = w->st;
	st->pending = w->pending;
}

const char *cprv_trace_writer_error(const struct cprv_trace_writer *w)
{
	return w->errmsg;
}

int cprv_trace_writer_close(struct cprv_trace_writer *w, const char *end_json)
{
	int ret;

	if (!end_json)
		end_json = "{}";
	ret = flush_events(w);
	if (!ret) {
		size_t len = strlen(end_json);

		ret = len > CPRV_TRACE_MAX_RAW ? -E2BIG :
			emit_chunk(w, CPRV_CHUNK_END, (const uint8_t *)end_json,
				   len, 0, w->prev_ts, w->prev_ts);
	}
	if (w->fd >= 0 && close(w->fd) && !ret)
		ret = -errno;
	w->fd = -1;
	cprv_trace_writer_abandon(w);
	return ret;
}

void cprv_trace_writer_abandon(struct cprv_trace_writer *w)
{
	if (!w)
		return;
	if (w->fd >= 0)
		close(w->fd);
	free(w->raw);
	free(w->out);
	free(w);
}

/* ---- reader ---- */

struct cprv_trace_reader {
	int fd;
	char *meta;
	uint64_t off;          /* next chunk */
	uint8_t *comp;
	size_t comp_cap;
	uint8_t *raw;          /* the current chunk, inflated */
	size_t raw_cap;
	uint32_t n, idx;       /* blocks in raw, next one */
	uint32_t version;
	bool in_run;           /* expanding a run (version 2) */
	uint32_t run_k;        /* next template, for next_mult */
	struct cprv_run_iter run;
	struct cprv_trace_note *notes;
	size_t nnotes, notes_cap, notes_bytes;
	char *end;
	enum cprv_trace_status status;
	char msg[192];
	uint64_t damage_off;
	uint64_t events;
	uint64_t last_ts;      /* of the last event in earlier chunks */
	uint32_t chunks;
};

struct cprv_trace_reader *cprv_trace_reader_open(const char *path,
						 char *err, size_t errlen)
{
	struct cprv_trace_reader *r = calloc(1, sizeof(*r));
	uint8_t hdr[CPRV_TRACE_HDR_SIZE];
	uint32_t version, recsize, meta_len, meta_crc;
	ssize_t got;
	int e;

	if (!r) {
		set_err(err, errlen, "%s: out of memory", path);
		errno = ENOMEM;
		return NULL;
	}
	r->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0) {
		e = errno;
		set_err(err, errlen, "%s: %s", path, strerror(e));
		goto fail;
	}
	got = read_at(r->fd, hdr, sizeof(hdr), 0);
	if (got < 0) {
		e = (int)-got;
		set_err(err, errlen, "%s: %s", path, strerror(e));
		goto fail;
	}
	if (got < 8 || memcmp(hdr, CPRV_TRACE_MAGIC, 8)) {
		set_err(err, errlen, "%s: not a cpr-verify trace", path);
		e = EINVAL;
		goto fail;
	}
	if (got < (ssize_t)sizeof(hdr)) {
		set_err(err, errlen, "%s: corrupt header: file ends inside it", path);
		e = EBADMSG;
		goto fail;
	}
	version = cprv_get_le32(hdr + 8);
	recsize = cprv_get_le32(hdr + 12);
	meta_len = cprv_get_le32(hdr + 16);
	meta_crc = cprv_get_le32(hdr + 20);
	if (version < 1 || version > CPRV_TRACE_VERSION) {
		set_err(err, errlen, "%s: unsupported trace version %" PRIu32
			" (this build reads version %d)", path, version,
			CPRV_TRACE_VERSION);
		e = ENOTSUP;
		goto fail;
	}
	if (recsize != CPRV_EVENT_SIZE) {
		set_err(err, errlen, "%s: unsupported record size %" PRIu32
			" (this build reads %d)", path, recsize, CPRV_EVENT_SIZE);
		e = ENOTSUP;
		goto fail;
	}
	if (meta_len > CPRV_TRACE_MAX_META) {
		set_err(err, errlen, "%s: corrupt header: metadata length %" PRIu32
			" over the %u limit", path, meta_len, CPRV_TRACE_MAX_META);
		e = EBADMSG;
		goto fail;
	}
	r->meta = malloc((size_t)meta_len + 1);
	if (!r->meta) {
		set_err(err, errlen, "%s: out of memory", path);
		e = ENOMEM;
		goto fail;
	}
	got = read_at(r->fd, r->meta, meta_len, CPRV_TRACE_HDR_SIZE);
	if (got < 0) {
		e = (int)-got;
		set_err(err, errlen, "%s: %s", path, strerror(e));
		goto fail;
	}
	if (got < (ssize_t)meta_len) {
		set_err(err, errlen, "%s: corrupt header: metadata cut short "
			"(%zd of %" PRIu32 " bytes)", path, got, meta_len);
		e = EBADMSG;
		goto fail;
	}
	r->meta[meta_len] = '\0';
	if ((uint32_t)crc32(0, (const Bytef *)r->meta, meta_len) != meta_crc) {
		set_err(err, errlen, "%s: corrupt header: metadata CRC mismatch", path);
		e = EBADMSG;
		goto fail;
	}
	r->off = CPRV_TRACE_HDR_SIZE + (uint64_t)meta_len;
	r->version = version;
	return r;
fail:
	cprv_trace_reader_close(r);
	errno = e;
	return NULL;
}

void cprv_trace_reader_close(struct cprv_trace_reader *r)
{
	if (!r)
		return;
	if (r->fd >= 0)
		close(r->fd);
	for (size_t i = 0; i < r->nnotes; i++)
		free((char *)r->notes[i].json);
	free(r->notes);
	free(r->meta);
	free(r->comp);
	free(r->raw);
	free(r->end);
	free(r);
}

const char *cprv_trace_meta(const struct cprv_trace_reader *r)
{
	return r->meta;
}

static int stop(struct cprv_trace_reader *r, enum cprv_trace_status st,
		const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* End iteration at the chunk at r->off; returns 0 so callers can return it. */
static int stop(struct cprv_trace_reader *r, enum cprv_trace_status st,
		const char *fmt, ...)
{
	char why[128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	r->status = st;
	r->damage_off = r->off;
	if (st == CPRV_TRACE_TRUNCATED)
		snprintf(r->msg, sizeof(r->msg), "recording cut short after %" PRIu64
			 " events at offset %" PRIu64 " (%s)", r->events, r->off, why);
	else
		snprintf(r->msg, sizeof(r->msg), "bad chunk at offset %" PRIu64
			 ": %s (after %" PRIu64 " events)", r->off, why, r->events);
	return 0;
}

static int grow(uint8_t **buf, size_t *cap, size_t need)
{
	uint8_t *p;

	if (need <= *cap)
		return 0;
	p = realloc(*buf, need);
	if (!p)
		return -ENOMEM;
	*buf = p;
	*cap = need;
	return 0;
}

static int add_note(struct cprv_trace_reader *r, uint64_t ts, size_t len)
{
	char *s;

	if (len > MAX_NOTES_BYTES - r->notes_bytes)
		return stop(r, CPRV_TRACE_CORRUPT, "notes over the %u byte limit",
			    MAX_NOTES_BYTES);
	if (r->nnotes == r->notes_cap) {
		size_t cap = r->notes_cap ? 2 * r->notes_cap : 8;
		struct cprv_trace_note *p = realloc(r->notes, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		r->notes = p;
		r->notes_cap = cap;
	}
	s = malloc(len + 1);
	if (!s)
		return -ENOMEM;
	memcpy(s, r->raw, len);
	s[len] = '\0';
	r->notes[r->nnotes++] = (struct cprv_trace_note){
		.ts = ts, .after_events = r->events, .json = s };
	r->notes_bytes += len;
	return 0;
}

/*
 * uncompress2 without zlib's adler32 of the output: the chunk's CRC32 has
 * already vouched for every compressed byte, and the adler32 was a quarter
 * of `report`'s CPU on whole-event traces.
 */
static int inflate_chunk(uint8_t *dst, uLong dst_len, const uint8_t *src, uLong src_len,
			 uLongf *dlen, uLong *slen)
{
	z_stream zs = { .next_in = (Bytef *)src, .avail_in = (uInt)src_len,
			.next_out = dst, .avail_out = (uInt)dst_len };
	int ret = inflateInit(&zs);

	if (ret != Z_OK)
		return ret;
	inflateValidate(&zs, 0);
	ret = inflate(&zs, Z_FINISH);
	*dlen = zs.total_out;
	*slen = zs.total_in;
	inflateEnd(&zs);
	if (ret == Z_STREAM_END)
		return Z_OK;
	return ret == Z_OK || ret == Z_BUF_ERROR ? Z_DATA_ERROR : ret;
}

/*
 * Read the chunk at r->off. Afterwards either r->n > 0 (events to return),
 * or the status is final, or a META chunk was consumed (call again).
 * Returns 0, or -errno for I/O and memory errors (retryable).
 */
static int load_chunk(struct cprv_trace_reader *r)
{
	uint8_t h[CPRV_TRACE_CHUNK_HDR];
	uint32_t magic, kind, raw_len, comp_len, count, crc;
	uint64_t first_ts, last_ts;
	uLongf dlen;
	uLong slen;
	struct stat sb;
	ssize_t got;
	int ret;

	got = read_at(r->fd, h, sizeof(h), r->off);
	if (got < 0)
		return (int)got;
	if (got == 0)
		return stop(r, CPRV_TRACE_TRUNCATED, "no END chunk");
	if (got < (ssize_t)sizeof(h))
		return stop(r, CPRV_TRACE_TRUNCATED, "file ends inside a chunk header");

	magic = cprv_get_le32(h + 0);
	kind = cprv_get_le32(h + 4);
	raw_len = cprv_get_le32(h + 8);
	comp_len = cprv_get_le32(h + 12);
	count = cprv_get_le32(h + 16);
	crc = cprv_get_le32(h + 20);
	first_ts = cprv_get_le64(h + 24);
	last_ts = cprv_get_le64(h + 32);

	if (magic != CPRV_TRACE_CHUNK_MAGIC)
		return stop(r, CPRV_TRACE_CORRUPT, "bad chunk magic 0x%08" PRIx32, magic);
	if (kind < CPRV_CHUNK_EVENTS || kind > CPRV_CHUNK_END)
		return stop(r, CPRV_TRACE_CORRUPT, "unknown chunk kind %" PRIu32, kind);
	if (raw_len > CPRV_TRACE_MAX_RAW)
		return stop(r, CPRV_TRACE_CORRUPT, "raw length %" PRIu32
			    " over the %u limit", raw_len, CPRV_TRACE_MAX_RAW);
	if (comp_len > compressBound(raw_len))
		return stop(r, CPRV_TRACE_CORRUPT, "compressed length %" PRIu32
			    " impossible for raw length %" PRIu32, comp_len, raw_len);
	if (kind == CPRV_CHUNK_EVENTS ? (uint64_t)count * CPRV_EVENT_SIZE != raw_len
				      : count != 0)
		return stop(r, CPRV_TRACE_CORRUPT, "record count %" PRIu32
			    " does not fit raw length %" PRIu32, count, raw_len);
	/* version 2: runs hold MSIs older than events beside them */
	if (kind == CPRV_CHUNK_EVENTS && r->version < 2 && first_ts > last_ts)
		return stop(r, CPRV_TRACE_CORRUPT, "first_ts after last_ts");
	/* Notes are stamped with the last event before them: check it too. */
	if (kind != CPRV_CHUNK_EVENTS && (first_ts != r->last_ts || last_ts != r->last_ts))
		return stop(r, CPRV_TRACE_CORRUPT, "timestamps disagree with the events before");

	/* Check the size before allocating: a bogus length must not cost memory. */
	if (fstat(r->fd, &sb))
		return -errno;
	if ((uint64_t)sb.st_size < r->off + sizeof(h) + comp_len)
		return stop(r, CPRV_TRACE_TRUNCATED, "file ends inside a chunk");
	ret = grow(&r->comp, &r->comp_cap, comp_len ? comp_len : 1);
	if (!ret)
		ret = grow(&r->raw, &r->raw_cap, (size_t)raw_len + 1);
	if (ret)
		return ret;
	got = read_at(r->fd, r->comp, comp_len, r->off + sizeof(h));
	if (got < 0)
		return (int)got;
	if (got < comp_len)
		return stop(r, CPRV_TRACE_TRUNCATED, "file ends inside a chunk");
	if ((uint32_t)crc32(0, r->comp, comp_len) != crc)
		return stop(r, CPRV_TRACE_CORRUPT, "CRC mismatch");

	ret = inflate_chunk(r->raw, raw_len, r->comp, comp_len, &dlen, &slen);
	if (ret == Z_MEM_ERROR)
		return -ENOMEM;
	if (ret != Z_OK)
		return stop(r, CPRV_TRACE_CORRUPT, "inflate failed: %s", zError(ret));
	if (dlen != raw_len || slen != comp_len)
		return stop(r, CPRV_TRACE_CORRUPT, "payload does not match its lengths");

	if (kind == CPRV_CHUNK_EVENTS && count) {
		uint64_t last = 0;
		uint32_t i = 0;

		/* The CRC covers the payload only; tie the header to it: its
		 * times are the first and the last record's (a run's blocks
		 * after its own record hold no times). */
		while (i < count) {
			const uint8_t *rec = r->raw + (size_t)i * CPRV_EVENT_SIZE;
			uint64_t blocks = 0;

			last = cprv_get_le64(rec);
			if (r->version >= 2 && cprv_get_le16(rec + 8) == CPRV_EV_RUN)
				blocks = cprv_get_le64(rec + 48);
			if (blocks > count - i - 1)
				return stop(r, CPRV_TRACE_CORRUPT, "a run runs past its chunk");
			i += 1 + (uint32_t)blocks;
		}
		if (cprv_get_le64(r->raw) != first_ts || last != last_ts)
			return stop(r, CPRV_TRACE_CORRUPT,
				    "header timestamps disagree with the records");
	} else if (kind == CPRV_CHUNK_META) {
		ret = add_note(r, last_ts, raw_len);
		if (ret || r->status != CPRV_TRACE_READING)
			return ret;
	} else if (kind == CPRV_CHUNK_END) {
		r->end = malloc((size_t)raw_len + 1);
		if (!r->end)
			return -ENOMEM;
		memcpy(r->end, r->raw, raw_len);
		r->end[raw_len] = '\0';
	}

	r->off += sizeof(h) + comp_len;
	r->chunks++;
	if (kind == CPRV_CHUNK_EVENTS) {
		r->n = count;
		r->idx = 0;
		if (count)
			r->last_ts = last_ts;
	} else if (kind == CPRV_CHUNK_END) {
		r->status = CPRV_TRACE_COMPLETE;
	}
	return 0;
}

/* whole: runs come out as r->run, unexpanded (next_run) */
static int next(struct cprv_trace_reader *r, struct cprv_event *ev, uint64_t *mult, bool whole)
{
	int ret;

	for (;;) {
		if (r->in_run && whole) {
			r->in_run = false;
			r->events += cprv_run_events(&r->run);
			return 2;
		} else if (r->in_run && mult) {
			/* each template once, standing for the run's every MSI */
			if (r->run_k < r->run.cur.nev) {
				*ev = r->run.tmpl[r->run_k++];
				*mult = r->run.cur.n;
				r->events += r->run.cur.n;
				return 1;
			}
			r->in_run = false;
		} else if (r->in_run) {
			if (cprv_run_next(&r->run, ev)) {
				r->events++;
				return 1;
			}
			r->in_run = false;
		}
		if (r->idx < r->n) {
			const uint8_t *rec = r->raw + (size_t)r->idx * CPRV_EVENT_SIZE;
			char why[128];
			size_t blocks;

			if (r->version >= 2 && cprv_get_le16(rec + 8) == CPRV_EV_RUN) {
				blocks = cprv_run_open(rec, (size_t)(r->n - r->idx) * CPRV_EVENT_SIZE,
						       &r->run, why, sizeof(why));
				if (!blocks) {
					/* the chunk's events so far were returned: stop here */
					r->n = r->idx = 0;
					return stop(r, CPRV_TRACE_CORRUPT, "%s", why);
				}
				r->idx += (uint32_t)blocks;
				r->in_run = true;
				r->run_k = 0;
				continue;
			}
			cprv_event_decode(rec, ev);
			r->idx++;
			r->events++;
			if (mult)
				*mult = 1;
			return 1;
		}
		if (r->status != CPRV_TRACE_READING)
			return 0;
		r->n = r->idx = 0;
		ret = load_chunk(r);
		if (ret < 0)
			return ret;
	}
}

int cprv_trace_next(struct cprv_trace_reader *r, struct cprv_event *ev)
{
	return next(r, ev, NULL, false);
}

int cprv_trace_next_mult(struct cprv_trace_reader *r, struct cprv_event *ev, uint64_t *mult)
{
	return next(r, ev, mult, false);
}

int cprv_trace_next_run(struct cprv_trace_reader *r, struct cprv_event *ev,
			const struct cprv_run_iter **run)
{
	int ret = next(r, ev, NULL, true);

	*run = ret == 2 ? &r->run : NULL;
	return ret == 2 ? 1 : ret;
}

const struct cprv_trace_note *cprv_trace_notes(const struct cprv_trace_reader *r,
					       size_t *n)
{
	*n = r->nnotes;
	return r->notes;
}

const char *cprv_trace_end(const struct cprv_trace_reader *r)
{
	return r->end;
}

enum cprv_trace_status cprv_trace_status(const struct cprv_trace_reader *r)
{
	return r->status;
}

const char *cprv_trace_status_name(enum cprv_trace_status st)
{
	switch (st) {
	case CPRV_TRACE_READING: return "reading";
	case CPRV_TRACE_COMPLETE: return "complete";
	case CPRV_TRACE_TRUNCATED: return "truncated";
	case CPRV_TRACE_CORRUPT: return "corrupt";
	}
	return "unknown";
}

const char *cprv_trace_status_msg(const struct cprv_trace_reader *r)
{
	return r->msg;
}

uint64_t cprv_trace_damage_offset(const struct cprv_trace_reader *r)
{
	return r->damage_off;
}

uint64_t cprv_trace_events_read(const struct cprv_trace_reader *r)
{
	return r->events;
}

uint32_t cprv_trace_chunks_read(const struct cprv_trace_reader *r)
{
	return r->chunks;
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Runs: encoding the BPF side's, and expanding them back (lib/run.h). */
#include <stdio.h>
#include <string.h>

#include "event.h"
#include "run.h"

/* The file encoding of header h (a2 filled in here), nev templates and
 * dbytes of little-endian deltas; its length. */
static size_t encode(uint8_t *out, struct cprv_event h, const struct cprv_event *tmpl,
		     uint32_t nev, const uint8_t *d, size_t dbytes)
{
	size_t pad = (CPRV_EVENT_SIZE - dbytes % CPRV_EVENT_SIZE) % CPRV_EVENT_SIZE;
	size_t blocks = nev + (dbytes + pad) / CPRV_EVENT_SIZE;

	h.a[2] = blocks;
	cprv_event_encode(&h, out);
	for (uint32_t k = 0; k < nev; k++)
		cprv_event_encode(&tmpl[k], out + (1 + k) * CPRV_EVENT_SIZE);
	memcpy(out + (1 + nev) * CPRV_EVENT_SIZE, d, dbytes);
	memset(out + (1 + nev) * CPRV_EVENT_SIZE + dbytes, 0, pad);
	return (1 + blocks) * CPRV_EVENT_SIZE;
}

size_t cprv_run_encode(const void *blob, size_t size, uint8_t *out)
{
	const struct cprv_event *hdr = blob, *tmpl = hdr + 1;
	uint32_t nev;
	size_t dbytes;

	if (size < 2 * sizeof(*hdr) || hdr->type != CPRV_EV_RUN)
		return 0;
	nev = hdr->flags;
	dbytes = hdr->a[1];
	if (nev < 1 || nev > CPRV_RUN_MAX_EV || dbytes > CPRV_RUN_DELTA_BYTES || hdr->a[0] < 2 ||
	    dbytes != (hdr->a[0] - 1) * cprv_run_delta_stride(nev) ||
	    size != (1 + nev) * sizeof(*hdr) + dbytes)
		return 0;
	/* the BPF side wrote the deltas little-endian, byte by byte */
	return encode(out, *hdr, tmpl, nev, (const uint8_t *)(tmpl + nev), dbytes);
}

uint64_t cprv_run_encoded_events(const uint8_t *enc)
{
	return cprv_get_le64(enc + 32) * cprv_get_le16(enc + 10); /* a0 MSIs x flags nev */
}

size_t cprv_run_open(const uint8_t *enc, size_t avail, struct cprv_run_iter *it, char *why,
		     size_t whylen)
{
	struct cprv_event h;
	uint64_t n, dbytes, blocks, need;

	if (avail < CPRV_EVENT_SIZE) {
		snprintf(why, whylen, "run cut short");
		return 0;
	}
	cprv_event_decode(enc, &h);
	n = h.a[0];
	dbytes = h.a[1];
	blocks = h.a[2];
	if (h.type != CPRV_EV_RUN || h.flags < 1 || h.flags > CPRV_RUN_MAX_EV || n < 2 ||
	    dbytes > CPRV_RUN_DELTA_BYTES || dbytes != (n - 1) * cprv_run_delta_stride(h.flags)) {
		snprintf(why, whylen, "malformed run (%u events per MSI, %llu MSIs, %llu delta bytes)",
			 h.flags, (unsigned long long)n, (unsigned long long)dbytes);
		return 0;
	}
	need = h.flags + (dbytes + CPRV_EVENT_SIZE - 1) / CPRV_EVENT_SIZE;
	if (blocks != need || (1 + blocks) * CPRV_EVENT_SIZE > avail) {
		snprintf(why, whylen, "run of %llu blocks does not fit its %zu bytes",
			 (unsigned long long)blocks, avail);
		return 0;
	}
	memset(it, 0, sizeof(*it));
	for (uint32_t k = 0; k < h.flags; k++)
		cprv_event_decode(enc + (1 + k) * CPRV_EVENT_SIZE, &it->tmpl[k]);
	it->cur.tmpl = it->tmpl;
	it->cur.nev = h.flags;
	it->cur.n = n;
	it->cur.d = enc + (1 + h.flags) * CPRV_EVENT_SIZE;
	it->cur.first = it->tmpl[0].ts;
	return 1 + blocks;
}

/* (its own walk of the deltas, not the cursor's: per MSI, not per event,
 * and it runs over every run report reads) */
bool cprv_run_sorted(const struct cprv_run_cur *it, uint64_t *last_ts)
{
	uint64_t last = it->tmpl[0].ts, first = last;
	uint32_t off = 0;

	for (uint32_t k = 1; k < it->nev; k++) {
		if (it->tmpl[k].ts < last)
			return false;
		last = it->tmpl[k].ts;
	}
	for (uint64_t i = 1; i < it->n; i++) {
		uint64_t prev = 0;

		first += cprv_get_le32(it->d + off);
		off += 4;
		if (first < last)
			return false;
		for (uint32_t k = 1; k < it->nev; k++, off += 2) {
			uint64_t o = cprv_get_le16(it->d + off);

			if (o < prev)
				return false;
			prev = o;
		}
		last = first + prev;
	}
	*last_ts = last;
	return true;
}

void cprv_run_start(struct cprv_run_builder *b, const struct cprv_event *msi, uint32_t nev)
{
	memcpy(b->tmpl, msi, nev * sizeof(*msi));
	b->nev = nev;
	b->n = 1;
	b->dbytes = 0;
	b->prev = msi[0].ts;
}

static bool same_but_ts(const struct cprv_event *a, const struct cprv_event *b)
{
	return a->type == b->type && a->flags == b->flags && a->cpu == b->cpu &&
	       a->pid == b->pid && a->tid == b->tid && a->obj == b->obj &&
	       !memcmp(a->a, b->a, sizeof(a->a));
}

bool cprv_run_add(struct cprv_run_builder *b, const struct cprv_event *msi, uint32_t nev)
{
	uint64_t t0 = msi[0].ts;

	if (!b->n || nev != b->nev || t0 < b->prev || t0 - b->prev > UINT32_MAX ||
	    b->dbytes + cprv_run_delta_stride(nev) > CPRV_RUN_DELTA_BYTES)
		return false;
	for (uint32_t k = 0; k < nev; k++)
		if (!same_but_ts(&msi[k], &b->tmpl[k]) ||
		    (k && (msi[k].ts < t0 || msi[k].ts - t0 > UINT16_MAX)))
			return false;
	cprv_put_le32(b->d + b->dbytes, (uint32_t)(t0 - b->prev));
	b->dbytes += 4;
	for (uint32_t k = 1; k < nev; k++, b->dbytes += 2)
		cprv_put_le16(b->d + b->dbytes, (uint16_t)(msi[k].ts - t0));
	b->prev = t0;
	b->n++;
	return true;
}

size_t cprv_run_finish(const struct cprv_run_builder *b, uint8_t *out)
{
	struct cprv_event h = { .ts = b->tmpl[0].ts, .type = CPRV_EV_RUN, .flags = (uint16_t)b->nev,
				.cpu = b->tmpl[0].cpu, .pid = b->tmpl[0].pid, .tid = b->tmpl[0].tid };

	if (b->n < 2)
		return 0;
	h.a[0] = b->n;
	h.a[1] = b->dbytes;
	return encode(out, h, b->tmpl, b->nev, b->d, b->dbytes);
}

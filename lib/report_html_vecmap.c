// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Raw event -> the report's vector, for the timeline and the Chrome export.
 * Built from the report's vectors (their eventfd ctxs, gsi and route), so a
 * lookup is a binary search, whatever the trace length.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cprv_event.h"
#include "report_html_internal.h"

static int cmp_pair(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void label(struct h_vecmap *m, size_t i, struct json_object *v)
{
	if (hj_has(v, "gsi"))
		snprintf(m->label[i], sizeof(m->label[i]), "gsi %llu",
			 (unsigned long long)hj_u64(v, "gsi"));
	else
		snprintf(m->label[i], sizeof(m->label[i]), "ctx %s",
			 json_object_get_string(hj_at(hj(v, "ctxs"), 0)));
}

int h_vecmap_build(struct h_vecmap *m, struct json_object *r)
{
	struct json_object *vs = hj(r, "vectors");
	uint64_t (*pairs)[2];
	size_t n = 0;

	memset(m, 0, sizeof(*m));
	m->nvec = hj_len(vs);
	for (size_t i = 0; i < m->nvec; i++)
		n += hj_len(hj(hj_at(vs, i), "ctxs"));
	for (int g = 0; g < 256; g++)
		m->gvec[g] = -1;
	m->ctx_key = calloc(n + 1, sizeof(*m->ctx_key));
	m->ctx_vec = calloc(n + 1, sizeof(*m->ctx_vec));
	m->label = calloc(m->nvec + 1, sizeof(*m->label));
	m->gsi = calloc(m->nvec + 1, sizeof(*m->gsi));
	pairs = calloc(n + 1, sizeof(*pairs)); /* (ctx, vector), sorted together */
	if (!m->ctx_key || !m->ctx_vec || !m->label || !m->gsi || !pairs) {
		free(pairs);
		return -ENOMEM;
	}
	for (size_t i = 0; i < m->nvec; i++) {
		struct json_object *v = hj_at(vs, i), *ctxs = hj(v, "ctxs");

		for (size_t j = 0; j < hj_len(ctxs); j++) {
			pairs[m->nctx][0] = hj_val(hj_at(ctxs, j));
			pairs[m->nctx++][1] = i;
		}
		if (hj_has(v, "data")) {
			unsigned g = hj_u64(v, "data") & 0xff;
			m->gvec[g] = m->gvec[g] == -1 ? (long)i : -2;
		}
		m->gsi[i] = hj_has(v, "gsi") ? hj_u64(v, "gsi") : UINT64_MAX;
		label(m, i, v);
	}
	qsort(pairs, m->nctx, sizeof(*pairs), cmp_pair);
	for (size_t i = 0; i < m->nctx; i++) {
		m->ctx_key[i] = pairs[i][0];
		m->ctx_vec[i] = pairs[i][1];
	}
	free(pairs);
	return 0;
}

void h_vecmap_free(struct h_vecmap *m)
{
	free(m->ctx_key);
	free(m->ctx_vec);
	free(m->label);
	free(m->gsi);
	memset(m, 0, sizeof(*m));
}

long h_vecmap_ctx(const struct h_vecmap *m, uint64_t ctx)
{
	size_t lo = 0, hi = m->nctx;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (m->ctx_key[mid] == ctx)
			return (long)m->ctx_vec[mid];
		if (m->ctx_key[mid] < ctx)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

long h_vecmap_gsi(const struct h_vecmap *m, uint64_t gsi)
{
	for (size_t i = 0; i < m->nvec; i++)
		if (m->gsi[i] == gsi)
			return (long)i;
	return -1;
}

/* Its guest vector if that is one vector's alone, else what its context
 * tag names. */
long h_vecmap_inj(const struct h_vecmap *m, const struct cprv_event *e)
{
	long v;

	if (e->type != CPRV_EV_APIC_ACCEPT)
		return -1;
	v = m->gvec[e->a[3] & 0xff];
	if (v >= 0)
		return v;
	if (e->flags == CPRV_CTX_EVENTFD_WRITE || e->flags == CPRV_CTX_IRQFD)
		return h_vecmap_ctx(m, e->obj);
	if (e->flags == CPRV_CTX_KVM_SET_IRQ)
		return h_vecmap_gsi(m, e->a[2]);
	return -1;
}

long h_vecmap_fire(const struct h_vecmap *m, const struct cprv_event *e)
{
	if (e->type != CPRV_EV_EVENTFD_WRITE && e->type != CPRV_EV_EVENTFD_SIGNAL &&
	    e->type != CPRV_EV_VFIO_MSIHANDLER)
		return -1;
	return h_vecmap_ctx(m, e->obj);
}

long h_vecmap_chain(const struct h_vecmap *m, struct json_object *chain)
{
	if (hj_has(chain, "gsi"))
		return h_vecmap_gsi(m, hj_u64(chain, "gsi"));
	if (hj_has(chain, "ctx"))
		return h_vecmap_ctx(m, hj_u64(chain, "ctx"));
	return -1;
}

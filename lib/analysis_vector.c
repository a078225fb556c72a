// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Logical vectors: a gsi across VMs (the old VM's ctx and the new VM's ctx
 * on gsi g are one vector to report), or a ctx never bound to a gsi.
 */
#include <errno.h>
#include <stdlib.h>

#include "analysis_internal.h"

#define MAX(a, b) ((a) > (b) ? (a) : (b))

struct an_lvec *an_lvec_new(struct cprv_analysis *a)
{
	struct an_lvec *lv;

	if (an_grow(&a->lvs, &a->cap_lv, a->n_lv + 1, sizeof(*a->lvs)))
		return NULL;
	lv = calloc(1, sizeof(*lv));
	if (!lv)
		return NULL;
	lv->order = a->n_lv;
	a->lvs[a->n_lv++] = lv;
	return lv;
}

void an_lvec_free(struct an_lvec *lv)
{
	if (!lv)
		return;
	free(lv->pub.ctxs);
	free(lv);
}

int an_lvec_add_ctx(struct an_lvec *lv, uint64_t ctx)
{
	for (size_t i = 0; i < lv->pub.n_ctxs; i++)
		if (lv->pub.ctxs[i] == ctx)
			return 0;
	if (an_grow(&lv->pub.ctxs, &lv->cap_ctxs, lv->pub.n_ctxs + 1, sizeof(uint64_t)))
		return -ENOMEM;
	lv->pub.ctxs[lv->pub.n_ctxs++] = ctx;
	return 0;
}

void an_lvec_set_route(struct an_lvec *lv, const struct an_route *r)
{
	if (!r)
		return;
	if (lv->pub.has_route && (lv->pub.address != r->addr || lv->pub.data != r->data))
		lv->pub.route_changed = true;
	lv->pub.has_route = true;
	lv->pub.address = r->addr;
	lv->pub.data = r->data;
}

int an_lvec_merge(struct an_lvec *dst, struct an_lvec *src)
{
	struct cprv_vector *d = &dst->pub, *s = &src->pub;

	for (size_t i = 0; i < s->n_ctxs; i++)
		if (an_lvec_add_ctx(dst, s->ctxs[i]))
			return -ENOMEM;
	d->fires += s->fires;
	d->injections += s->injections;
	d->delivered += s->delivered;
	d->coalesced += s->coalesced;
	d->lost += s->lost;
	d->duplicates += s->duplicates;
	d->in_flight += s->in_flight;
	d->ambiguous += s->ambiguous;
	d->max_delay_ns = MAX(d->max_delay_ns, s->max_delay_ns);
	d->max_gap_ns = MAX(d->max_gap_ns, s->max_gap_ns);
	for (int i = 0; i < CPRV_HIST_BUCKETS; i++)
		d->delay_hist_log2[i] += s->delay_hist_log2[i];
	if (src->pending && (!dst->pending || src->first_pending_ts < dst->first_pending_ts))
		dst->first_pending_ts = src->first_pending_ts;
	dst->pending += src->pending;
	if (src->has_delivery) {
		dst->last_delivery = dst->has_delivery ?
			MAX(dst->last_delivery, src->last_delivery) : src->last_delivery;
		dst->has_delivery = true;
	}
	src->dead = true;
	return 0;
}

struct an_lvec *an_lvec_for_gsi(struct cprv_analysis *a, uint32_t gsi)
{
	struct an_lvec *lv = an_map_get(&a->gsi_lv, gsi);

	if (lv)
		return lv;
	lv = an_lvec_new(a);
	if (!lv)
		return NULL;
	lv->pub.has_gsi = true;
	lv->pub.gsi = gsi;
	if (an_map_put(&a->gsi_lv, gsi, lv))
		return NULL;
	return lv;
}

struct an_lvec *an_ctx_lvec(struct cprv_analysis *a, struct an_ctx *c)
{
	if (c->lv)
		return c->lv;
	c->lv = an_lvec_new(a);
	if (!c->lv || an_lvec_add_ctx(c->lv, c->addr))
		return NULL;
	return c->lv;
}

/* bucket i holds [2^i, 2^(i+1)) ns; 0 and 1 share bucket 0 */
void an_hist_add(struct cprv_vector *v, uint64_t delay)
{
	int b = delay ? 63 - __builtin_clzll(delay) : 0;

	v->delay_hist_log2[b]++;
	if (delay > v->max_delay_ns)
		v->max_delay_ns = delay;
}

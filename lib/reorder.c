/* A binary min-heap keyed on (ts, arrival sequence). */
#include <stdlib.h>
#include "reorder.h"

struct slot {
	struct cprv_event ev;
	uint64_t seq;
};

struct cprv_reorder {
	struct slot *heap;
	size_t n, cap;
	uint64_t seq, last_ts, late;
};

struct cprv_reorder *cprv_reorder_new(size_t window)
{
	struct cprv_reorder *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->cap = window ? window : 65536;
	r->heap = malloc(r->cap * sizeof(*r->heap));
	if (!r->heap) {
		free(r);
		return NULL;
	}
	return r;
}

void cprv_reorder_free(struct cprv_reorder *r)
{
	if (r) {
		free(r->heap);
		free(r);
	}
}

static int less(const struct slot *a, const struct slot *b)
{
	return a->ev.ts < b->ev.ts || (a->ev.ts == b->ev.ts && a->seq < b->seq);
}

static void swap(struct slot *a, struct slot *b)
{
	struct slot t = *a;

	*a = *b;
	*b = t;
}

static void pop_min(struct cprv_reorder *r, struct cprv_event *out)
{
	size_t i = 0;

	*out = r->heap[0].ev;
	if (out->ts < r->last_ts)
		r->late++;
	else
		r->last_ts = out->ts;
	r->heap[0] = r->heap[--r->n];
	for (;;) {
		size_t l = 2 * i + 1, m = i;

		if (l < r->n && less(&r->heap[l], &r->heap[m]))
			m = l;
		if (l + 1 < r->n && less(&r->heap[l + 1], &r->heap[m]))
			m = l + 1;
		if (m == i)
			break;
		swap(&r->heap[i], &r->heap[m]);
		i = m;
	}
}

int cprv_reorder_push(struct cprv_reorder *r, const struct cprv_event *ev, struct cprv_event *out)
{
	int popped = 0;
	size_t i;

	if (r->n == r->cap) {
		pop_min(r, out);
		popped = 1;
	}
	i = r->n++;
	r->heap[i].ev = *ev;
	r->heap[i].seq = r->seq++;
	while (i && less(&r->heap[i], &r->heap[(i - 1) / 2])) {
		swap(&r->heap[i], &r->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	return popped;
}

int cprv_reorder_pop(struct cprv_reorder *r, struct cprv_event *out)
{
	if (!r->n)
		return 0;
	pop_min(r, out);
	return 1;
}

uint64_t cprv_reorder_late(const struct cprv_reorder *r)
{
	return r->late;
}

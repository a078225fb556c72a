// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Small containers for the analysis: a u64-keyed hash map and array growth. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "analysis_internal.h"

static size_t slot_of(uint64_t key, size_t cap)
{
	/* splitmix64 finalizer: kernel pointers share their low and high bits */
	key ^= key >> 30;
	key *= 0xbf58476d1ce4e5b9ull;
	key ^= key >> 27;
	key *= 0x94d049bb133111ebull;
	key ^= key >> 31;
	return key & (cap - 1);
}

void *an_map_lookup(const struct an_map *m, uint64_t key)
{
	struct an_map *w = (struct an_map *)m; /* the hit cache only */

	if (!m->cap)
		return NULL;
	for (size_t i = slot_of(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
		if (!m->vals[i])
			return NULL;
		if (m->keys[i] == key) {
			w->hit_key = key;
			w->hit_val = m->vals[i];
			return m->vals[i];
		}
	}
}

static int map_rehash(struct an_map *m, size_t cap)
{
	struct an_map n = { .cap = cap };

	n.keys = calloc(cap, sizeof(*n.keys));
	n.vals = calloc(cap, sizeof(*n.vals));
	if (!n.keys || !n.vals) {
		free(n.keys);
		free(n.vals);
		return -ENOMEM;
	}
	for (size_t i = 0; i < m->cap; i++) {
		if (!m->vals[i])
			continue;
		size_t j = slot_of(m->keys[i], cap);
		while (n.vals[j])
			j = (j + 1) & (cap - 1);
		n.keys[j] = m->keys[i];
		n.vals[j] = m->vals[i];
		n.n++;
	}
	free(m->keys);
	free(m->vals);
	*m = n;
	return 0;
}

int an_map_put(struct an_map *m, uint64_t key, void *val)
{
	if (!val)
		return -EINVAL;
	if ((m->n + 1) * 2 > m->cap) {
		int err = map_rehash(m, m->cap ? m->cap * 2 : 16);
		if (err)
			return err;
	}
	size_t i = slot_of(key, m->cap);
	while (m->vals[i] && m->keys[i] != key)
		i = (i + 1) & (m->cap - 1);
	if (!m->vals[i])
		m->n++;
	m->keys[i] = key;
	m->vals[i] = val;
	if (m->hit_key == key)
		m->hit_val = val;
	return 0;
}

void an_map_free(struct an_map *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}

int an_grow_to(void *pp, size_t *cap, size_t need, size_t elem)
{
	void **p = pp;
	size_t n = *cap ? *cap : 4;
	while (n < need)
		n *= 2;
	void *q = realloc(*p, n * elem);
	if (!q)
		return -ENOMEM;
	memset((char *)q + *cap * elem, 0, (n - *cap) * elem);
	*p = q;
	*cap = n;
	return 0;
}

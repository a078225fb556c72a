/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The CPR state a VMM hands to its successor, like QEMU's cpr state: the
 * vector table and the preserved fds by name. Fixed-width little-endian
 * with a magic and a version, because it crosses an exec (and, in a real
 * update, a binary upgrade).
 */
#include "rig.h"

#include <stdio.h>
#include <string.h>

#define STATE_MAGIC   "CPRVRIGS"
#define STATE_VERSION 2 /* 2: MSI kind, mask bits, PBA */

struct cur {
	uint8_t *p;
	const uint8_t *q;
	size_t off, cap;
	bool bad;
};

static void put(struct cur *c, uint64_t v, int bytes)
{
	if (c->off + (size_t)bytes > c->cap) {
		c->bad = true;
		return;
	}
	for (int i = 0; i < bytes; i++)
		c->p[c->off++] = (uint8_t)(v >> (8 * i));
}

static uint64_t get(struct cur *c, int bytes)
{
	uint64_t v = 0;

	if (c->off + (size_t)bytes > c->cap) {
		c->bad = true;
		return 0;
	}
	for (int i = 0; i < bytes; i++)
		v |= (uint64_t)c->q[c->off++] << (8 * i);
	return v;
}

static void put_bytes(struct cur *c, const void *b, size_t n)
{
	if (c->off + n > c->cap) {
		c->bad = true;
		return;
	}
	memcpy(c->p + c->off, b, n);
	c->off += n;
}

static void get_bytes(struct cur *c, void *b, size_t n)
{
	if (c->off + n > c->cap) {
		c->bad = true;
		return;
	}
	memcpy(b, c->q + c->off, n);
	c->off += n;
}

int rig_state_add_fd(struct rig_state *s, const char *name, uint32_t id, int fd)
{
	struct rig_state_fd *f;

	if (s->nfds >= RIG_MAX_VEC + 1)
		return -1;
	f = &s->fds[s->nfds++];
	memset(f->name, 0, sizeof(f->name));
	snprintf(f->name, sizeof(f->name), "%s", name);
	f->id = id;
	f->fd = fd;
	return 0;
}

int rig_state_find_fd(const struct rig_state *s, const char *name, uint32_t id)
{
	for (uint32_t i = 0; i < s->nfds; i++)
		if (s->fds[i].id == id && strcmp(s->fds[i].name, name) == 0)
			return s->fds[i].fd;
	return -1;
}

size_t rig_state_encode(const struct rig_state *s, uint8_t *buf, size_t cap)
{
	struct cur c = { .p = buf, .cap = cap };

	put_bytes(&c, STATE_MAGIC, 8);
	put(&c, STATE_VERSION, 4);
	put(&c, s->cycle, 4);
	put(&c, s->gen, 4);
	put(&c, s->nvec, 4);
	put(&c, s->nfds, 4);
	for (uint32_t i = 0; i < s->nvec; i++) {
		put(&c, s->routes[i].gsi, 4);
		put(&c, s->routes[i].address, 8);
		put(&c, s->routes[i].data, 4);
	}
	for (int i = 0; i < 8; i++)
		put(&c, s->irr[i], 4);
	put(&c, s->msi, 4);
	put(&c, s->masked, 8);
	put(&c, s->pba, 8);
	for (uint32_t i = 0; i < s->nfds; i++) {
		put_bytes(&c, s->fds[i].name, sizeof(s->fds[i].name));
		put(&c, s->fds[i].id, 4);
		put(&c, (uint32_t)s->fds[i].fd, 4);
	}
	return c.bad ? 0 : c.off;
}

int rig_state_decode(const uint8_t *buf, size_t len, struct rig_state *s,
		     char *err, size_t errlen)
{
	struct cur c = { .q = buf, .cap = len };
	char magic[8];
	uint32_t version;

	memset(s, 0, sizeof(*s));
	get_bytes(&c, magic, 8);
	version = (uint32_t)get(&c, 4);
	if (c.bad || memcmp(magic, STATE_MAGIC, 8) != 0) {
		snprintf(err, errlen, "CPR state: bad magic (not cprv-rig state)");
		return -1;
	}
	if (version != STATE_VERSION) {
		snprintf(err, errlen, "CPR state: version %u, this build reads %d",
			 version, STATE_VERSION);
		return -1;
	}
	s->cycle = (uint32_t)get(&c, 4);
	s->gen = (uint32_t)get(&c, 4);
	s->nvec = (uint32_t)get(&c, 4);
	s->nfds = (uint32_t)get(&c, 4);
	if (s->nvec > RIG_MAX_VEC || s->nfds > RIG_MAX_VEC + 1) {
		snprintf(err, errlen, "CPR state: %u vectors, %u fds: too many", s->nvec, s->nfds);
		return -1;
	}
	for (uint32_t i = 0; i < s->nvec; i++) {
		s->routes[i].gsi = (uint32_t)get(&c, 4);
		s->routes[i].address = get(&c, 8);
		s->routes[i].data = (uint32_t)get(&c, 4);
	}
	for (int i = 0; i < 8; i++)
		s->irr[i] = (uint32_t)get(&c, 4);
	s->msi = (uint32_t)get(&c, 4);
	s->masked = get(&c, 8);
	s->pba = get(&c, 8);
	for (uint32_t i = 0; i < s->nfds; i++) {
		get_bytes(&c, s->fds[i].name, sizeof(s->fds[i].name));
		s->fds[i].name[sizeof(s->fds[i].name) - 1] = '\0';
		s->fds[i].id = (uint32_t)get(&c, 4);
		s->fds[i].fd = (int32_t)(uint32_t)get(&c, 4);
	}
	if (c.bad) {
		snprintf(err, errlen, "CPR state: truncated (%zu bytes)", len);
		return -1;
	}
	return 0;
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The QEMU driver's outcome file, to and from JSON (format in drive.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <json-c/json.h>

#include "drive.h"

static void add_u64(struct json_object *o, const char *k, uint64_t v)
{
	json_object_object_add(o, k, json_object_new_uint64(v));
}

static struct json_object *cycle_json(const struct cprv_drive_cycle *c)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "cycle", json_object_new_int(c->cycle));
	json_object_object_add(o, "ok", json_object_new_boolean(c->ok));
	json_object_object_add(o, "why", json_object_new_string(c->why));
	json_object_object_add(o, "old_pid", json_object_new_int(c->old_pid));
	json_object_object_add(o, "new_pid", json_object_new_int(c->new_pid));
	add_u64(o, "hb_before", c->hb_before);
	add_u64(o, "hb_after", c->hb_after);
	add_u64(o, "begin_ns", c->begin_ns);
	add_u64(o, "end_ns", c->end_ns);
	add_u64(o, "stop_ns", c->stop_ns);
	add_u64(o, "running_ns", c->running_ns);
	json_object_object_add(o, "old_qemu", json_object_new_string(c->old_qemu));
	return o;
}

int cprv_drive_save(const char *path, const struct cprv_drive *d, char *err, size_t errlen)
{
	struct json_object *o = json_object_new_object(), *cy = json_object_new_array();
	int rc;

	json_object_object_add(o, "format", json_object_new_string(CPRV_DRIVE_FORMAT));
	json_object_object_add(o, "version", json_object_new_int(CPRV_DRIVE_VERSION));
	json_object_object_add(o, "qemu", json_object_new_string(d->qemu));
	json_object_object_add(o, "qemu_version", json_object_new_string(d->qemu_version));
	json_object_object_add(o, "mode", json_object_new_string(d->mode));
	json_object_object_add(o, "cycles_planned", json_object_new_int(d->cycles_planned));
	json_object_object_add(o, "device", json_object_new_boolean(d->device));
	json_object_object_add(o, "error", json_object_new_string(d->error));
	add_u64(o, "heartbeat_start", d->heartbeat_start);
	add_u64(o, "heartbeat_end", d->heartbeat_end);
	if (d->has_guest_counts) {
		struct json_object *g = json_object_new_object();

		add_u64(g, "raised", d->guest_raised);
		add_u64(g, "received", d->guest_received);
		add_u64(g, "lost", d->guest_lost);
		add_u64(g, "spurious", d->guest_spurious);
		add_u64(g, "throttled", d->guest_throttled);
		json_object_object_add(o, "guest_msis", g);
	}
	for (size_t i = 0; i < d->n_cycles; i++)
		json_object_array_add(cy, cycle_json(&d->cycles[i]));
	json_object_object_add(o, "cycles", cy);
	rc = json_object_to_file_ext(path, o, JSON_C_TO_STRING_PRETTY);
	json_object_put(o);
	if (rc) {
		snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

struct rd {
	const char *path;
	char *err;
	size_t errlen;
	int bad;
};

static struct json_object *field(struct rd *r, struct json_object *o, const char *k,
				 json_type t, const char *what)
{
	struct json_object *v;

	if (r->bad)
		return NULL;
	if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, t)) {
		snprintf(r->err, r->errlen, "%s: field '%s' missing or not %s", r->path, k, what);
		r->bad = 1;
		return NULL;
	}
	return v;
}

static uint64_t get_u64(struct rd *r, struct json_object *o, const char *k)
{
	struct json_object *v = field(r, o, k, json_type_int, "an integer");

	return v ? json_object_get_uint64(v) : 0;
}

static void get_str(struct rd *r, struct json_object *o, const char *k, char *dst, size_t cap)
{
	struct json_object *v = field(r, o, k, json_type_string, "a string");

	if (v)
		snprintf(dst, cap, "%s", json_object_get_string(v));
}

static bool get_bool(struct rd *r, struct json_object *o, const char *k)
{
	struct json_object *v = field(r, o, k, json_type_boolean, "true or false");

	return v && json_object_get_boolean(v);
}

static void load_cycle(struct rd *r, struct json_object *o, struct cprv_drive_cycle *c)
{
	if (!json_object_is_type(o, json_type_object)) {
		snprintf(r->err, r->errlen, "%s: cycles[] must hold objects", r->path);
		r->bad = 1;
		return;
	}
	c->cycle = (uint32_t)get_u64(r, o, "cycle");
	c->ok = get_bool(r, o, "ok");
	get_str(r, o, "why", c->why, sizeof(c->why));
	c->old_pid = (int32_t)get_u64(r, o, "old_pid");
	c->new_pid = (int32_t)get_u64(r, o, "new_pid");
	c->hb_before = get_u64(r, o, "hb_before");
	c->hb_after = get_u64(r, o, "hb_after");
	c->begin_ns = get_u64(r, o, "begin_ns");
	c->end_ns = get_u64(r, o, "end_ns");
	c->stop_ns = get_u64(r, o, "stop_ns");
	c->running_ns = get_u64(r, o, "running_ns");
	get_str(r, o, "old_qemu", c->old_qemu, sizeof(c->old_qemu));
}

int cprv_drive_load(const char *path, struct cprv_drive *d, char *err, size_t errlen)
{
	struct json_object *o = json_object_from_file(path), *cy;
	struct rd r = { path, err, errlen, 0 };
	char fmt[32] = "";

	memset(d, 0, sizeof(*d));
	if (!o) {
		snprintf(err, errlen, "%s: not readable JSON (%s)", path, json_util_get_last_err());
		return -1;
	}
	get_str(&r, o, "format", fmt, sizeof(fmt));
	if (!r.bad && strcmp(fmt, CPRV_DRIVE_FORMAT)) {
		snprintf(err, errlen, "%s: format is '%s', expected '%s'", path, fmt, CPRV_DRIVE_FORMAT);
		r.bad = 1;
	}
	if (!r.bad && get_u64(&r, o, "version") != CPRV_DRIVE_VERSION && !r.bad) {
		snprintf(err, errlen, "%s: version not supported (this build reads %d)", path,
			 CPRV_DRIVE_VERSION);
		r.bad = 1;
	}
	get_str(&r, o, "qemu", d->qemu, sizeof(d->qemu));
	get_str(&r, o, "qemu_version", d->qemu_version, sizeof(d->qemu_version));
	get_str(&r, o, "mode", d->mode, sizeof(d->mode));
	d->cycles_planned = (uint32_t)get_u64(&r, o, "cycles_planned");
	d->device = get_bool(&r, o, "device");
	get_str(&r, o, "error", d->error, sizeof(d->error));
	d->heartbeat_start = get_u64(&r, o, "heartbeat_start");
	d->heartbeat_end = get_u64(&r, o, "heartbeat_end");
	{
		struct json_object *g;

		if (!r.bad && json_object_object_get_ex(o, "guest_msis", &g)) {
			d->has_guest_counts = true;
			d->guest_raised = get_u64(&r, g, "raised");
			d->guest_received = get_u64(&r, g, "received");
			d->guest_lost = get_u64(&r, g, "lost");
			d->guest_spurious = get_u64(&r, g, "spurious");
			d->guest_throttled = get_u64(&r, g, "throttled");
		}
	}
	cy = field(&r, o, "cycles", json_type_array, "an array");
	if (cy && json_object_array_length(cy) > CPRV_DRIVE_MAX_CYCLES) {
		snprintf(err, errlen, "%s: more than %d cycles", path, CPRV_DRIVE_MAX_CYCLES);
		r.bad = 1;
	}
	for (size_t i = 0; cy && !r.bad && i < json_object_array_length(cy); i++)
		load_cycle(&r, json_object_array_get_idx(cy, i), &d->cycles[d->n_cycles++]);
	json_object_put(o);
	return r.bad ? -1 : 0;
}

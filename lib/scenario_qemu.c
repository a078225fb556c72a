// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The keys of a kind "qemu" scenario: which QEMU build, what the guest
 * does, how long each wait may take, and the one fault a driver can
 * inject into real QEMU (killing the incoming QEMU mid-cycle).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <json-c/json.h>

#include "scenario.h"

void cprv_scenario_qemu_defaults(struct cprv_qemu_scn *q)
{
	memset(q, 0, sizeof(*q));
	snprintf(q->qemu, sizeof(q->qemu), "11.1");
	q->mem_mb = 128;
	q->run_ms = 1000;
	q->timeout_ms = 60000;
	snprintf(q->firmware, sizeof(q->firmware), "qboot");
}

static int bad(char *err, size_t errlen, const char *origin, const char *key, const char *what)
{
	snprintf(err, errlen, "%s: field '%s' must be %s", origin, key, what);
	return -1;
}

static int str_into(struct json_object *v, char *dst, size_t cap, const char *key,
		    const char *origin, char *err, size_t errlen)
{
	const char *s;

	if (!json_object_is_type(v, json_type_string))
		return bad(err, errlen, origin, key, "a string");
	s = json_object_get_string(v);
	if (strlen(s) >= cap) {
		snprintf(err, errlen, "%s: field '%s' is longer than %zu characters", origin, key,
			 cap - 1);
		return -1;
	}
	snprintf(dst, cap, "%s", s);
	return 0;
}

static int u32_into(struct json_object *v, uint32_t *dst, int64_t lo, int64_t hi,
		    const char *key, const char *origin, char *err, size_t errlen)
{
	int64_t x;
	char what[64];

	snprintf(what, sizeof(what), "an integer from %lld to %lld", (long long)lo, (long long)hi);
	if (!json_object_is_type(v, json_type_int))
		return bad(err, errlen, origin, key, what);
	errno = 0;
	x = json_object_get_int64(v);
	if (errno || x < lo || x > hi)
		return bad(err, errlen, origin, key, what);
	*dst = (uint32_t)x;
	return 0;
}

static int args_into(struct json_object *v, struct cprv_qemu_scn *q, const char *origin,
		     char *err, size_t errlen)
{
	size_t n;

	if (!json_object_is_type(v, json_type_array))
		return bad(err, errlen, origin, "qemu_args", "an array of strings");
	n = json_object_array_length(v);
	if (n > CPRV_SCENARIO_MAX_QEMU_ARGS) {
		snprintf(err, errlen, "%s: field 'qemu_args' has %zu entries, at most %d allowed",
			 origin, n, CPRV_SCENARIO_MAX_QEMU_ARGS);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (str_into(json_object_array_get_idx(v, i), q->args[i], sizeof(q->args[i]),
			     "qemu_args[]", origin, err, errlen))
			return -1;
	q->n_args = (uint32_t)n;
	return 0;
}

int cprv_scenario_qemu_field(const char *key, struct json_object *val, struct cprv_scenario *s,
			     const char *origin, char *err, size_t errlen)
{
	struct cprv_qemu_scn *q = &s->qemu;
	int rc;

	if (!strcmp(key, "qemu"))
		rc = str_into(val, q->qemu, sizeof(q->qemu), key, origin, err, errlen);
	else if (!strcmp(key, "guest_args"))
		rc = str_into(val, q->guest_args, sizeof(q->guest_args), key, origin, err, errlen);
	else if (!strcmp(key, "mem_mb"))
		rc = u32_into(val, &q->mem_mb, 16, 65536, key, origin, err, errlen);
	else if (!strcmp(key, "run_ms"))
		rc = u32_into(val, &q->run_ms, 0, CPRV_SCENARIO_MAX_MS, key, origin, err, errlen);
	else if (!strcmp(key, "timeout_ms"))
		rc = u32_into(val, &q->timeout_ms, 100, CPRV_SCENARIO_MAX_MS, key, origin, err, errlen);
	else if (!strcmp(key, "kill_new_cycle"))
		rc = u32_into(val, &q->kill_new_cycle, 0, CPRV_SCENARIO_MAX_CYCLES, key, origin, err,
			      errlen);
	else if (!strcmp(key, "qemu_args"))
		rc = args_into(val, q, origin, err, errlen);
	else if (!strcmp(key, "vfio_device"))
		rc = str_into(val, q->vfio_device, sizeof(q->vfio_device), key, origin, err, errlen);
	else if (!strcmp(key, "firmware"))
		rc = str_into(val, q->firmware, sizeof(q->firmware), key, origin, err, errlen);
	else
		return 0;
	return rc ? -1 : 1;
}

int cprv_scenario_vfio_ids(const char *spec, unsigned *vendor, unsigned *device)
{
	char extra;

	if (!strcmp(spec, "edu")) {
		*vendor = 0x1234;
		*device = 0x11e8;
		return 0;
	}
	return sscanf(spec, "%4x:%4x%c", vendor, device, &extra) == 2 ? 0 : -1;
}

int cprv_scenario_qemu_validate(const struct cprv_scenario *s, const char *origin,
				char *err, size_t errlen)
{
	if (s->cycles < 1 || s->cycles > CPRV_SCENARIO_MAX_CYCLES) {
		snprintf(err, errlen, "%s: cycles must be 1 to %d", origin, CPRV_SCENARIO_MAX_CYCLES);
		return -1;
	}
	if (!s->qemu.qemu[0]) {
		snprintf(err, errlen, "%s: field 'qemu' must name a build (\"11.1\") or a path", origin);
		return -1;
	}
	if (s->qemu.vfio_device[0]) {
		unsigned v, d;

		if (cprv_scenario_vfio_ids(s->qemu.vfio_device, &v, &d)) {
			snprintf(err, errlen, "%s: vfio_device '%s' must be \"edu\" or VENDOR:DEVICE in hex",
				 origin, s->qemu.vfio_device);
			return -1;
		}
	}
	if (s->qemu.kill_new_cycle > s->cycles) {
		snprintf(err, errlen, "%s: kill_new_cycle (%u) is after the last cycle (%u)", origin,
			 s->qemu.kill_new_cycle, s->cycles);
		return -1;
	}
	return 0;
}

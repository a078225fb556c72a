/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Scenario files: parse, default, validate. */
#include "scenario.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

static const char *const mode_names[] = {
	[CPRV_MODE_TRANSFER] = "transfer",
	[CPRV_MODE_EXEC] = "exec",
};
static const char *const fault_names[] = {
	[CPRV_FAULT_NONE] = "none",
	[CPRV_FAULT_NEW_EVENTFD] = "new-eventfd",
	[CPRV_FAULT_DRAIN_BEFORE_ATTACH] = "drain-before-attach",
	[CPRV_FAULT_NO_LAPIC_RECOVERY] = "no-lapic-recovery",
	[CPRV_FAULT_DOUBLE_REPLAY] = "double-replay",
	[CPRV_FAULT_ROUTE_CHANGED] = "route-changed",
	[CPRV_FAULT_LATE_ATTACH] = "late-attach",
	[CPRV_FAULT_OLD_VM_KEPT] = "old-vm-kept",
	[CPRV_FAULT_SWAPPED_VECTORS] = "swapped-vectors",
	[CPRV_FAULT_TRIGGER_TEARDOWN] = "trigger-teardown",
	[CPRV_FAULT_FAILED_CPR_NO_REATTACH] = "failed-cpr-no-reattach",
	[CPRV_FAULT_PBA_DROPPED] = "pba-dropped",
};
static const char *const msi_names[] = {
	[CPRV_MSI_MSIX] = "msix",
	[CPRV_MSI_MSI] = "msi",
};
static const char *const kind_names[] = { [CPRV_KIND_RIG] = "rig", [CPRV_KIND_QEMU] = "qemu" };
static const char *const expect_names[] = {
	[CPRV_EXPECT_PASS] = "pass",
	[CPRV_EXPECT_FAIL] = "fail",
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static int lookup(const char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (names[i] && strcmp(names[i], name) == 0)
			return (int)i;
	return -1;
}

static const char *name_of(const char *const *names, size_t n, unsigned v)
{
	return v < n && names[v] ? names[v] : "?";
}

const char *cprv_mode_name(enum cprv_cpr_mode m) { return name_of(mode_names, NELEM(mode_names), m); }
const char *cprv_fault_name(enum cprv_fault f) { return name_of(fault_names, NELEM(fault_names), f); }
const char *cprv_kind_name(enum cprv_scn_kind k) { return name_of(kind_names, NELEM(kind_names), k); }
const char *cprv_expect_name(enum cprv_verdict_expect v) { return name_of(expect_names, NELEM(expect_names), v); }
const char *cprv_msi_name(enum cprv_msi_kind m) { return name_of(msi_names, NELEM(msi_names), m); }
int cprv_msi_parse(const char *name) { return lookup(msi_names, NELEM(msi_names), name); }
int cprv_mode_parse(const char *name) { return lookup(mode_names, NELEM(mode_names), name); }
int cprv_fault_parse(const char *name) { return lookup(fault_names, NELEM(fault_names), name); }

const char *cprv_fault_list(void)
{
	/* Built from the table, so a new fault never goes missing from --help. */
	static char list[512];

	if (!list[0])
		for (size_t i = 0; i < NELEM(fault_names); i++)
			snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
				 i ? ", " : "", fault_names[i]);
	return list;
}

void cprv_scenario_defaults(struct cprv_scenario *s)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "rig-default");
	s->kind = CPRV_KIND_RIG;
	s->mode = CPRV_MODE_TRANSFER;
	s->vectors = 4;
	s->rate_hz = 20000;
	s->duration_ms = 1500;
	s->cpr_at_ms = 500;
	s->blackout_ms = 50;
	s->cycles = 1;
	s->fault = CPRV_FAULT_NONE;
	s->settle_ms = 200;
	s->service_period_us = 1000;
	s->late_ms = 300;
	s->fail_cpr = 0;
	s->msi = CPRV_MSI_MSIX;
	s->nmask = 0;
	s->expect_verdict = CPRV_EXPECT_PASS;
	cprv_scenario_qemu_defaults(&s->qemu);
}

__attribute__((format(printf, 4, 5)))
static int fail(char *err, size_t errlen, const char *origin, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (err && errlen)
		snprintf(err, errlen, "%s: %s", origin, msg);
	return -1;
}

/*
 * json-c's int accessors silently convert doubles and strings; a scenario
 * that says 1.5 or "20000" is a mistake worth reporting, so check the type.
 */
static int get_u32(struct json_object *v, const char *key, uint32_t min,
		   uint32_t max, uint32_t *out, const char *origin, char *err,
		   size_t errlen)
{
	const char *what = min > 0 ? "a positive integer" : "a non-negative integer";
	int64_t x;

	if (!json_object_is_type(v, json_type_int))
		return fail(err, errlen, origin, "field '%s' must be %s", key, what);
	errno = 0;
	x = json_object_get_int64(v);
	if (errno || x < (int64_t)min)
		return fail(err, errlen, origin, "field '%s' must be %s", key, what);
	if (x > (int64_t)max)
		return fail(err, errlen, origin, "field '%s' is %lld, at most %u allowed",
			    key, (long long)x, max);
	*out = (uint32_t)x;
	return 0;
}

static int get_str(struct json_object *v, const char *key, const char **out,
		   const char *origin, char *err, size_t errlen)
{
	if (!json_object_is_type(v, json_type_string))
		return fail(err, errlen, origin, "field '%s' must be a string", key);
	*out = json_object_get_string(v);
	return 0;
}

static int parse_expect(struct json_object *obj, struct cprv_scenario *s,
			const char *origin, char *err, size_t errlen)
{
	const char *str = "";
	int v;

	if (!json_object_is_type(obj, json_type_object))
		return fail(err, errlen, origin, "field 'expect' must be an object");
	json_object_object_foreach(obj, key, val) {
		if (strcmp(key, "verdict") != 0)
			return fail(err, errlen, origin, "unknown key 'expect.%s'", key);
		if (get_str(val, "expect.verdict", &str, origin, err, errlen))
			return -1;
		v = lookup(expect_names, NELEM(expect_names), str);
		if (v < 0)
			return fail(err, errlen, origin,
				    "field 'expect.verdict' is '%s', must be one of: pass, fail", str);
		s->expect_verdict = (enum cprv_verdict_expect)v;
	}
	return 0;
}

static int parse_mask(struct json_object *arr, struct cprv_scenario *s,
		      const char *origin, char *err, size_t errlen)
{
	size_t n;

	if (!json_object_is_type(arr, json_type_array))
		return fail(err, errlen, origin, "field 'mask' must be an array of "
			    "{\"vector\":N,\"at_ms\":N,\"for_ms\":N}");
	n = json_object_array_length(arr);
	if (n > CPRV_SCENARIO_MAX_MASKS)
		return fail(err, errlen, origin, "field 'mask' has %zu windows, at most %d allowed",
			    n, CPRV_SCENARIO_MAX_MASKS);
	s->nmask = 0;
	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json_object_array_get_idx(arr, i);
		struct cprv_mask_window *w = &s->mask[i];
		unsigned have = 0;
		char key[48];

		if (!json_object_is_type(o, json_type_object))
			return fail(err, errlen, origin, "mask[%zu] must be an object", i);
		json_object_object_foreach(o, k, val) {
			uint32_t *dst = NULL, min = 0;
			unsigned bit = 0;

			if (!strcmp(k, "vector"))
				dst = &w->vector, bit = 1;
			else if (!strcmp(k, "at_ms"))
				dst = &w->at_ms, bit = 2;
			else if (!strcmp(k, "for_ms"))
				dst = &w->for_ms, bit = 4, min = 1;
			else
				return fail(err, errlen, origin, "unknown key 'mask[%zu].%s'", i, k);
			snprintf(key, sizeof(key), "mask[%zu].%s", i, k);
			if (get_u32(val, key, min, CPRV_SCENARIO_MAX_MS, dst, origin, err, errlen))
				return -1;
			have |= bit;
		}
		if (have != 7)
			return fail(err, errlen, origin, "mask[%zu] needs vector, at_ms and for_ms", i);
		s->nmask++;
	}
	return 0;
}

struct u32_field {
	const char *key;
	size_t off;
	uint32_t min, max;
};

#define U32F(f, lo, hi) { #f, offsetof(struct cprv_scenario, f), lo, hi }
static const struct u32_field u32_fields[] = {
	U32F(vectors, 1, CPRV_SCENARIO_MAX_VECTORS),
	U32F(rate_hz, 1, CPRV_SCENARIO_MAX_RATE),
	U32F(duration_ms, 1, CPRV_SCENARIO_MAX_MS),
	U32F(cpr_at_ms, 0, CPRV_SCENARIO_MAX_MS),
	U32F(blackout_ms, 0, CPRV_SCENARIO_MAX_MS),
	U32F(cycles, 1, CPRV_SCENARIO_MAX_CYCLES),
	U32F(settle_ms, 0, CPRV_SCENARIO_MAX_MS),
	U32F(service_period_us, 0, 1000000),
	U32F(late_ms, 0, CPRV_SCENARIO_MAX_MS),
};

#define SEEN_RIG_KEY  8u
#define SEEN_QEMU_KEY 16u

static bool is_common_key(const char *key)
{
	static const char *const common[] = { "format", "version", "kind", "name", "mode",
					      "cycles", "settle_ms", "expect" };

	for (size_t i = 0; i < NELEM(common); i++)
		if (!strcmp(key, common[i]))
			return true;
	return false;
}

static int parse_field(const char *key, struct json_object *val,
		       struct cprv_scenario *s, unsigned *seen,
		       const char *origin, char *err, size_t errlen)
{
	const char *str = "";
	uint32_t u;
	int v;

	v = cprv_scenario_qemu_field(key, val, s, origin, err, errlen);
	if (v) {
		*seen |= SEEN_QEMU_KEY;
		return v < 0 ? -1 : 0;
	}
	if (!is_common_key(key))
		*seen |= SEEN_RIG_KEY;
	for (size_t i = 0; i < NELEM(u32_fields); i++) {
		const struct u32_field *f = &u32_fields[i];

		if (strcmp(key, f->key) != 0)
			continue;
		if (get_u32(val, key, f->min, f->max, &u, origin, err, errlen))
			return -1;
		memcpy((char *)s + f->off, &u, sizeof(u));
		return 0;
	}
	if (strcmp(key, "format") == 0) {
		if (get_str(val, key, &str, origin, err, errlen))
			return -1;
		if (strcmp(str, CPRV_SCENARIO_FORMAT) != 0)
			return fail(err, errlen, origin, "field 'format' is '%s', expected '%s'",
				    str, CPRV_SCENARIO_FORMAT);
		*seen |= 1;
	} else if (strcmp(key, "version") == 0) {
		if (get_u32(val, key, 1, UINT32_MAX, &u, origin, err, errlen))
			return -1;
		if (u != CPRV_SCENARIO_VERSION)
			return fail(err, errlen, origin,
				    "version %u is not supported (this build reads version %d)",
				    u, CPRV_SCENARIO_VERSION);
		*seen |= 2;
	} else if (strcmp(key, "kind") == 0) {
		if (get_str(val, key, &str, origin, err, errlen))
			return -1;
		v = lookup(kind_names, NELEM(kind_names), str);
		if (v < 0)
			return fail(err, errlen, origin,
				    "field 'kind' is '%s', must be one of: rig, qemu", str);
		s->kind = (enum cprv_scn_kind)v;
		*seen |= 4;
	} else if (strcmp(key, "name") == 0) {
		if (get_str(val, key, &str, origin, err, errlen))
			return -1;
		if (!*str || strlen(str) >= sizeof(s->name))
			return fail(err, errlen, origin, "field 'name' must be 1 to %zu characters",
				    sizeof(s->name) - 1);
		snprintf(s->name, sizeof(s->name), "%s", str);
	} else if (strcmp(key, "mode") == 0) {
		if (get_str(val, key, &str, origin, err, errlen))
			return -1;
		v = cprv_mode_parse(str);
		if (v < 0)
			return fail(err, errlen, origin,
				    "field 'mode' is '%s', must be one of: transfer, exec", str);
		s->mode = (enum cprv_cpr_mode)v;
	} else if (strcmp(key, "fault") == 0) {
		if (get_str(val, key, &str, origin, err, errlen))
			return -1;
		v = cprv_fault_parse(str);
		if (v < 0)
			return fail(err, errlen, origin, "field 'fault' is '%s', must be one of: %s",
				    str, cprv_fault_list());
		s->fault = (enum cprv_fault)v;
	} else if (strcmp(key, "fail_cpr") == 0) {
		if (!json_object_is_type(val, json_type_boolean))
			return fail(err, errlen, origin, "field 'fail_cpr' must be true or false");
		s->fail_cpr = json_object_get_boolean(val) ? 1 : 0;
	} else if (strcmp(key, "msi") == 0) {
		if (get_str(val, key, &str, origin, err, errlen))
			return -1;
		v = cprv_msi_parse(str);
		if (v < 0)
			return fail(err, errlen, origin,
				    "field 'msi' is '%s', must be one of: msix, msi", str);
		s->msi = (enum cprv_msi_kind)v;
	} else if (strcmp(key, "mask") == 0) {
		return parse_mask(val, s, origin, err, errlen);
	} else if (strcmp(key, "expect") == 0) {
		return parse_expect(val, s, origin, err, errlen);
	} else {
		return fail(err, errlen, origin, "unknown key '%s'", key);
	}
	return 0;
}

/* The interrupt capability and the guest's mask schedule. */
static int validate_msi(const struct cprv_scenario *s, const char *origin,
			char *err, size_t errlen)
{
	if ((unsigned)s->msi > CPRV_MSI_MSI)
		return fail(err, errlen, origin, "msi %u is unknown", (unsigned)s->msi);
	if (s->nmask > CPRV_SCENARIO_MAX_MASKS)
		return fail(err, errlen, origin, "at most %d mask windows", CPRV_SCENARIO_MAX_MASKS);
	if (s->msi == CPRV_MSI_MSI) {
		/* Multiple Message Enable: 1, 2, 4 .. 32 messages, data base | vector. */
		if (s->vectors > CPRV_SCENARIO_MAX_MSI_VEC || (s->vectors & (s->vectors - 1)))
			return fail(err, errlen, origin, "msi 'msi' needs vectors a power of two "
				    "up to %d (multiple message enable), not %u",
				    CPRV_SCENARIO_MAX_MSI_VEC, s->vectors);
		if (s->nmask)
			return fail(err, errlen, origin, "field 'mask' needs msi 'msix': plain MSI "
				    "has no per-vector mask bits");
		if (s->fault == CPRV_FAULT_PBA_DROPPED)
			return fail(err, errlen, origin, "fault pba-dropped needs msi 'msix': plain "
				    "MSI has no pending bit array");
	}
	if (s->fault == CPRV_FAULT_PBA_DROPPED && !s->nmask)
		return fail(err, errlen, origin, "fault pba-dropped needs a 'mask' window: only a "
			    "masked vector's fires reach the PBA");
	/* Other faults' ground truth assumes every vector attached at the CPR. */
	if (s->nmask && s->fault != CPRV_FAULT_NONE && s->fault != CPRV_FAULT_PBA_DROPPED)
		return fail(err, errlen, origin, "field 'mask' combines only with fault none or "
			    "pba-dropped, not %s", cprv_fault_name(s->fault));
	if (s->nmask && s->fail_cpr)
		return fail(err, errlen, origin, "field 'mask' does not combine with fail_cpr");
	if (s->nmask && !s->service_period_us)
		return fail(err, errlen, origin, "field 'mask' needs service_period_us > 0: "
			    "the guest that masks never runs");
	for (uint32_t i = 0; i < s->nmask; i++) {
		const struct cprv_mask_window *w = &s->mask[i];

		if (w->vector >= s->vectors)
			return fail(err, errlen, origin, "mask[%u].vector is %u, the device has %u "
				    "vectors", i, w->vector, s->vectors);
		if (!w->for_ms)
			return fail(err, errlen, origin, "mask[%u].for_ms must be positive", i);
		/* The unmask must fall due while the device fires, with room to run. */
		if ((uint64_t)w->at_ms + w->for_ms + 100 > s->duration_ms)
			return fail(err, errlen, origin, "mask[%u] ends at %llu ms: it must end at "
				    "least 100 ms before duration_ms (%u)", i,
				    (unsigned long long)w->at_ms + w->for_ms, s->duration_ms);
		for (uint32_t j = 0; j < i; j++) {
			const struct cprv_mask_window *o = &s->mask[j];

			if (o->vector == w->vector && w->at_ms < o->at_ms + o->for_ms &&
			    o->at_ms < w->at_ms + w->for_ms)
				return fail(err, errlen, origin, "mask[%u] and mask[%u] overlap on "
					    "vector %u", j, i, w->vector);
		}
	}
	return 0;
}

int cprv_scenario_validate(const struct cprv_scenario *s, const char *origin,
			   char *err, size_t errlen)
{
	if (s->kind == CPRV_KIND_QEMU)
		return cprv_scenario_qemu_validate(s, origin, err, errlen);
	if (s->cpr_at_ms >= s->duration_ms)
		return fail(err, errlen, origin,
			    "cpr_at_ms (%u) must be less than duration_ms (%u)",
			    s->cpr_at_ms, s->duration_ms);
	if (s->vectors < 1 || s->vectors > CPRV_SCENARIO_MAX_VECTORS)
		return fail(err, errlen, origin, "vectors must be 1 to %d",
			    CPRV_SCENARIO_MAX_VECTORS);
	if (s->rate_hz < s->vectors)
		return fail(err, errlen, origin,
			    "rate_hz (%u) is below one fire per second per vector (%u vectors)",
			    s->rate_hz, s->vectors);
	if (s->cycles < 1 || s->cycles > CPRV_SCENARIO_MAX_CYCLES)
		return fail(err, errlen, origin, "cycles must be 1 to %d",
			    CPRV_SCENARIO_MAX_CYCLES);
	if ((unsigned)s->fault >= CPRV_FAULT_COUNT)
		return fail(err, errlen, origin, "fault %u is unknown", (unsigned)s->fault);
	if (s->fault == CPRV_FAULT_SWAPPED_VECTORS && s->vectors < 2)
		return fail(err, errlen, origin, "fault swapped-vectors needs at least 2 vectors");
	/* data 0x60 must not be another vector's own route. */
	if (s->fault == CPRV_FAULT_ROUTE_CHANGED && s->vectors > 32)
		return fail(err, errlen, origin, "fault route-changed needs at most 32 vectors");
	if (s->fault == CPRV_FAULT_FAILED_CPR_NO_REATTACH && !s->fail_cpr)
		return fail(err, errlen, origin,
			    "fault failed-cpr-no-reattach needs fail_cpr (--fail-cpr)");
	/* A later cycle would re-attach (or detach) what these leave behind. */
	if ((s->fault == CPRV_FAULT_OLD_VM_KEPT || s->fault == CPRV_FAULT_FAILED_CPR_NO_REATTACH) &&
	    s->cycles != 1)
		return fail(err, errlen, origin, "fault %s needs cycles 1", cprv_fault_name(s->fault));
	/* exec drops the old VM's fds by itself: nothing is left to keep. */
	if (s->fault == CPRV_FAULT_OLD_VM_KEPT && s->mode != CPRV_MODE_TRANSFER)
		return fail(err, errlen, origin, "fault old-vm-kept needs mode transfer");
	if (s->fail_cpr && s->fault != CPRV_FAULT_NONE &&
	    s->fault != CPRV_FAULT_FAILED_CPR_NO_REATTACH)
		return fail(err, errlen, origin, "fail_cpr combines only with fault none or "
			    "failed-cpr-no-reattach, not %s", cprv_fault_name(s->fault));
	if (validate_msi(s, origin, err, errlen))
		return -1;
	if (s->fault == CPRV_FAULT_LATE_ATTACH && s->late_ms + 100 > s->duration_ms - s->cpr_at_ms)
		return fail(err, errlen, origin, "late_ms (%u) needs duration_ms - cpr_at_ms "
			    "(%u) of at least late_ms + 100", s->late_ms,
			    s->duration_ms - s->cpr_at_ms);
	return 0;
}

/* 1-based line of byte offset off, for syntax errors. */
static unsigned line_of(const char *text, size_t off)
{
	unsigned line = 1;

	for (size_t i = 0; i < off && text[i]; i++)
		line += text[i] == '\n';
	return line;
}

int cprv_scenario_parse(const char *text, const char *origin,
			struct cprv_scenario *s, char *err, size_t errlen)
{
	struct json_tokener *tok;
	struct json_object *root;
	enum json_tokener_error jerr;
	size_t len = strlen(text), end;
	unsigned seen = 0;
	int ret = 0;

	cprv_scenario_defaults(s);
	tok = json_tokener_new();
	if (!tok)
		return fail(err, errlen, origin, "out of memory");
	root = json_tokener_parse_ex(tok, text, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (!root || jerr != json_tokener_success) {
		json_object_put(root);
		if (jerr == json_tokener_continue)
			return fail(err, errlen, origin, "JSON ends too early (truncated file?)");
		return fail(err, errlen, origin, "line %u: JSON syntax error: %s",
			    line_of(text, end), json_tokener_error_desc(jerr));
	}
	for (; end < len; end++)
		if (!strchr(" \t\r\n", text[end])) {
			json_object_put(root);
			return fail(err, errlen, origin, "line %u: text after the JSON object",
				    line_of(text, end));
		}
	if (!json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		return fail(err, errlen, origin, "top level must be a JSON object");
	}
	json_object_object_foreach(root, key, val) {
		ret = parse_field(key, val, s, &seen, origin, err, errlen);
		if (ret)
			break;
	}
	json_object_put(root);
	if (ret)
		return ret;
	if (!(seen & 1))
		return fail(err, errlen, origin, "missing field 'format' (\"%s\")", CPRV_SCENARIO_FORMAT);
	if (!(seen & 2))
		return fail(err, errlen, origin, "missing field 'version'");
	if (!(seen & 4))
		return fail(err, errlen, origin, "missing field 'kind'");
	if (s->kind == CPRV_KIND_QEMU && (seen & SEEN_RIG_KEY))
		return fail(err, errlen, origin, "a qemu scenario takes only name, mode, cycles, "
			    "settle_ms, expect, qemu, guest_args, mem_mb, run_ms, timeout_ms, "
			    "kill_new_cycle, qemu_args, vfio_device, firmware (a rig key is present)");
	if (s->kind == CPRV_KIND_RIG && (seen & SEEN_QEMU_KEY))
		return fail(err, errlen, origin, "qemu keys (qemu, guest_args, ...) need kind 'qemu'");
	return cprv_scenario_validate(s, origin, err, errlen);
}

int cprv_scenario_load(const char *path, struct cprv_scenario *s,
		       char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t cap = 0, len = 0, n;
	int ret;

	if (!f)
		return fail(err, errlen, path, "cannot open: %s", strerror(errno));
	do {
		if (cap - len < 4096) {
			char *nb;

			if (cap >= (1u << 20)) {
				free(buf);
				fclose(f);
				return fail(err, errlen, path, "larger than 1 MiB, not a scenario");
			}
			cap = cap ? cap * 2 : 8192;
			nb = realloc(buf, cap + 1);
			if (!nb) {
				free(buf);
				fclose(f);
				return fail(err, errlen, path, "out of memory");
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	if (ferror(f)) {
		free(buf);
		fclose(f);
		return fail(err, errlen, path, "read error");
	}
	fclose(f);
	buf[len] = '\0';
	if (strlen(buf) != len) {
		free(buf);
		return fail(err, errlen, path, "contains a NUL byte, not a JSON scenario");
	}
	ret = cprv_scenario_parse(buf, path, s, err, errlen);
	free(buf);
	return ret;
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Trace -> Chrome trace-event JSON, streamed: each record is printed as it
 * is read, so a million-event trace needs no more memory than a small one
 * (json-c objects are only used for the report, which is small).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "event.h"
#include "export.h"
#include "report_html_internal.h"
#include "trace.h"

#define TID_CYCLES 1
#define TID_PHASES 2
#define TID_MARKS  3

struct ex {
	FILE *f;
	uint64_t n;
	bool have_map;
	struct h_vecmap map;
	uint32_t *pids;         /* open addressing, 0 = empty */
	size_t cap, npids;
};

/* JSON string body: quotes, backslashes and every byte outside printable
 * ASCII escaped, so any comm or chain line keeps the file valid JSON. */
static void jstr(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

static void us(FILE *f, uint64_t ns)
{
	fprintf(f, "%" PRIu64 ".%03u", ns / 1000, (unsigned)(ns % 1000));
}

static void rec(struct ex *x, const char *name, const char *ph, uint64_t ts, uint32_t pid,
		uint32_t tid)
{
	fputs(x->n++ ? ",\n{\"name\":" : "\n{\"name\":", x->f);
	jstr(x->f, name);
	fprintf(x->f, ",\"ph\":\"%s\",", ph);
	if (*ph == 'i')
		fputs("\"s\":\"t\",", x->f);
	if (*ph != 'M') {
		fputs("\"ts\":", x->f);
		us(x->f, ts);
		fputc(',', x->f);
	}
	fprintf(x->f, "\"pid\":%" PRIu32 ",\"tid\":%" PRIu32, pid, tid);
}

static void meta(struct ex *x, const char *what, uint32_t pid, uint32_t tid, const char *name)
{
	rec(x, what, "M", 0, pid, tid);
	fputs(",\"args\":{\"name\":", x->f);
	jstr(x->f, name);
	fputs("}}", x->f);
}

static void sort_index(struct ex *x, uint32_t pid, int idx)
{
	rec(x, "process_sort_index", "M", 0, pid, 0);
	fprintf(x->f, ",\"args\":{\"sort_index\":%d}}", idx);
}

/* First sight of a pid: name its process track. */
static int see_pid(struct ex *x, uint32_t pid)
{
	size_t i;
	char name[32];

	if (x->npids * 2 >= x->cap) {
		struct ex old = *x;

		x->cap = x->cap ? x->cap * 2 : 256;
		x->pids = calloc(x->cap, sizeof(*x->pids));
		if (!x->pids)
			return -ENOMEM;
		x->npids = 0;
		for (size_t k = 0; k < old.cap; k++)
			if (old.pids[k]) {
				for (i = old.pids[k] % x->cap; x->pids[i]; i = (i + 1) % x->cap)
					;
				x->pids[i] = old.pids[k];
				x->npids++;
			}
		free(old.pids);
	}
	for (i = (pid + 1) % x->cap; x->pids[i]; i = (i + 1) % x->cap)
		if (x->pids[i] == pid + 1)
			return 0;
	x->pids[i] = pid + 1; /* pid 0 (the idle task, hard irqs) is a pid too */
	x->npids++;
	snprintf(name, sizeof(name), "pid %" PRIu32, pid);
	meta(x, "process_name", pid, 0, name);
	return 0;
}

static void chain_args(FILE *f, struct json_object *c)
{
	struct json_object *lines = hj(c, "chain");

	fputs(",\"args\":{\"chain\":[", f);
	for (size_t i = 0; i < hj_len(lines); i++) {
		fputs(i ? "," : "", f);
		jstr(f, json_object_get_string(hj_at(lines, i)));
	}
	fputs("]}}", f);
}

static void marks(struct ex *x, struct json_object *r, const char *key, const char *name)
{
	struct json_object *arr = hj(r, key);

	for (size_t i = 0; i < hj_len(arr); i++) {
		struct json_object *c = hj_at(arr, i);
		long v = h_vecmap_chain(&x->map, c);

		rec(x, name, "i", hj_u64(c, "ts"), v >= 0 ? CPRV_EXPORT_PID_VECTORS : CPRV_EXPORT_PID_CPR,
		    v >= 0 ? (uint32_t)v + 1 : TID_MARKS);
		chain_args(x->f, c);
	}
}

static void cycle(struct ex *x, struct json_object *r, size_t i)
{
	struct json_object *cy = hj_at(hj(hj(r, "cpr"), "cycles"), i);
	uint64_t start = hj_u64(cy, "start_ns"), end = hj_u64(cy, "end_ns"), ns[16];
	const char *nm[16];
	size_t np = h_cycle_phases(r, i, nm, ns, 16);
	char name[48];

	snprintf(name, sizeof(name), "cpr #%zu blackout", i + 1);
	rec(x, name, "X", start, CPRV_EXPORT_PID_CPR, TID_CYCLES);
	fputs(",\"dur\":", x->f);
	us(x->f, end > start ? end - start : 0);
	fprintf(x->f, ",\"args\":{\"blackout_ns\":%" PRIu64 ",\"fires_during\":%" PRIu64
		",\"lost\":%" PRIu64 ",\"old_vm\":", hj_u64(cy, "blackout_ns"),
		hj_u64(cy, "blackout_fires"), hj_u64(cy, "lost"));
	jstr(x->f, hj_str(cy, "old_vm"));
	fputs(",\"new_vm\":", x->f);
	jstr(x->f, hj_str(cy, "new_vm"));
	fputs("}}", x->f);
	for (size_t p = 0; p < np; p++) {
		rec(x, nm[p], p + 1 < np ? "X" : "i", ns[p], CPRV_EXPORT_PID_CPR, TID_PHASES);
		if (p + 1 < np) {
			fputs(",\"dur\":", x->f);
			us(x->f, ns[p + 1] - ns[p]);
		}
		fputc('}', x->f);
	}
	if (hj_has(cy, "old_vm_dropped_ns")) {
		rec(x, "old VM dropped", "i", hj_u64(cy, "old_vm_dropped_ns"), CPRV_EXPORT_PID_CPR,
		    TID_PHASES);
		fputc('}', x->f);
	}
}

/* Track names, then what only the analysis knows: cycles, lost, duplicates. */
static void from_report(struct ex *x, struct json_object *r)
{
	struct json_object *cys = hj(hj(r, "cpr"), "cycles");

	meta(x, "process_name", CPRV_EXPORT_PID_VECTORS, 0, "MSI vectors");
	sort_index(x, CPRV_EXPORT_PID_VECTORS, -2);
	meta(x, "process_name", CPRV_EXPORT_PID_CPR, 0, "CPR");
	sort_index(x, CPRV_EXPORT_PID_CPR, -1);
	meta(x, "thread_name", CPRV_EXPORT_PID_CPR, TID_CYCLES, "cycles (irqfds detached -> re-attached)");
	meta(x, "thread_name", CPRV_EXPORT_PID_CPR, TID_PHASES, "QEMU CPR steps");
	meta(x, "thread_name", CPRV_EXPORT_PID_CPR, TID_MARKS, "marks");
	for (size_t v = 0; v < x->map.nvec; v++)
		meta(x, "thread_name", CPRV_EXPORT_PID_VECTORS, (uint32_t)v + 1, x->map.label[v]);
	for (size_t i = 0; i < hj_len(cys); i++)
		cycle(x, r, i);
	marks(x, r, "lost_events", "LOST MSI");
	marks(x, r, "duplicate_events", "DUPLICATE MSI");
}

static int event(struct ex *x, const struct cprv_event *e)
{
	long v = -1;
	char line[512], comm[CPRV_COMM_LEN + 1];

	if (x->have_map)
		v = e->type == CPRV_EV_APIC_ACCEPT ? h_vecmap_inj(&x->map, e) : h_vecmap_fire(&x->map, e);
	if (v >= 0) {
		rec(x, e->type == CPRV_EV_APIC_ACCEPT ? "inject" : "fire", "i", e->ts,
		    CPRV_EXPORT_PID_VECTORS, (uint32_t)v + 1);
		fprintf(x->f, ",\"args\":{\"pid\":%" PRIu32 ",\"src\":\"%s\"}}", e->pid,
			cprv_event_type_name(e->type));
		return 0;
	}
	if (e->type == CPRV_EV_MARK) {
		rec(x, cprv_mark_kind_name(e->a[0]), "i", e->ts, CPRV_EXPORT_PID_CPR, TID_MARKS);
	} else {
		if (see_pid(x, e->pid))
			return -ENOMEM;
		rec(x, cprv_event_type_name(e->type), "i", e->ts, e->pid, e->tid);
	}
	cprv_event_format(e, 0, line, sizeof(line));
	fputs(",\"args\":{\"detail\":", x->f);
	jstr(x->f, line);
	fputs("}}", x->f);
	if (e->type == CPRV_EV_EXEC) {
		cprv_event_comm(e, comm);
		meta(x, "process_name", e->pid, 0, comm);
	}
	return 0;
}

static int stream(struct ex *x, struct cprv_trace_reader *rd, struct cprv_export_stats *st,
		  char *err, size_t errlen)
{
	struct cprv_event ev;
	int rc;

	while ((rc = cprv_trace_next(rd, &ev)) > 0) {
		st->events++;
		if (event(x, &ev)) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	if (rc < 0) {
		snprintf(err, errlen, "reading the trace: %s", strerror(-rc));
		st->input_error = true;
		return -1;
	}
	return 0;
}

int cprv_export_chrome(FILE *out, const char *trace, struct json_object *report,
		       struct cprv_export_stats *st, char *err, size_t errlen)
{
	struct cprv_export_stats dummy;
	struct ex x = { .f = out };
	struct cprv_trace_reader *rd;
	int rc = -1;

	st = st ? st : &dummy;
	memset(st, 0, sizeof(*st));
	rd = cprv_trace_reader_open(trace, err, errlen);
	if (!rd) {
		st->input_error = true;
		return -1;
	}
	if (report && h_vecmap_build(&x.map, report)) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	x.have_map = report != NULL;
	fputs("{\"traceEvents\":[", out);
	if (report)
		from_report(&x, report);
	if (stream(&x, rd, st, err, errlen))
		goto out;
	fputs("\n],\"displayTimeUnit\":\"ns\",\"otherData\":{\"source\":\"cpr-verify\",\"trace\":", out);
	jstr(out, trace);
	fprintf(out, ",\"events\":%" PRIu64 ",\"status\":\"%s\"}}\n", st->events,
		cprv_trace_status_name(cprv_trace_status(rd)));
	st->written = x.n;
	rc = 0;
	if (fflush(out) || ferror(out)) {
		snprintf(err, errlen, "writing: %s", strerror(errno ? errno : EIO));
		rc = -1;
	}
out:
	h_vecmap_free(&x.map);
	free(x.pids);
	cprv_trace_reader_close(rd);
	return rc;
}

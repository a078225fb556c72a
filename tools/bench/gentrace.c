// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * gentrace: a synthetic rig-like trace of N events for timing `cpr-verify
 * report`, written streaming (a small buffer, never the whole trace in
 * memory), so N can be 100M on a small machine.
 *
 *   gentrace -o FILE [-n EVENTS] [-v VECTORS] [-c CPRS]
 *
 * What it holds, as the recorder would write it from the rig: a device
 * process and a QEMU; the VM, its MSI routes, one eventfd + irqfd per
 * vector; then per MSI an eventfd write, kvm_msi_set_irq tagged
 * CPRV_CTX_EVENTFD_WRITE and the LAPIC accept, round robin over the
 * vectors, one MSI per microsecond. CPRS cpr-transfers (default 1) are
 * spread evenly: detach, a few blackout writes, the new QEMU's VM, routes
 * and irqfds on the same eventfds, KVM's replay from a kworker, the old
 * VM closed. The header carries a probe plan with every hook live and
 * scenario kind "rig", so `report` judges it like a recording: PASS.
 * The steady state's MSIs go into runs per vector, as `record` writes
 * them (lib/run.h); -F writes every event whole, as --full-detail does.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "event.h"
#include "plan.h"
#include "run.h"
#include "trace.h"

#define MAX_VEC 64
#define BUF_EVENTS 8192
#define MSI_ADDR 0xfee00000ull
#define DEV_PID 200
#define KWORKER_PID 2
#define BLACKOUT_WRITES 3

struct gen {
	struct cprv_trace_writer *w;
	struct cprv_event buf[BUF_EVENTS];
	size_t nbuf;
	uint64_t now, written;
	uint32_t pid, tid;
	int err;
	unsigned nvec, gen_nr;     /* VMs created so far */
	uint64_t kvm, ctx[MAX_VEC];
	bool full;                 /* no runs */
	struct cprv_run_builder run[MAX_VEC];
};

static void flush(struct gen *g)
{
	if (g->nbuf && !g->err)
		g->err = cprv_trace_write_events(g->w, g->buf, g->nbuf);
	g->nbuf = 0;
}

static void fill(struct gen *g, struct cprv_event *e, uint16_t type, uint16_t flags,
		 uint64_t obj, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t dt)
{
	memset(e, 0, sizeof(*e));
	e->ts = g->now;
	e->type = type;
	e->flags = flags;
	e->cpu = g->tid & 1;
	e->pid = g->pid;
	e->tid = g->tid;
	e->obj = obj;
	e->a[0] = a0;
	e->a[1] = a1;
	e->a[2] = a2;
	e->a[3] = a3;
	g->now += dt;
	g->written++;
}

static void add(struct gen *g, uint16_t type, uint16_t flags, uint64_t obj, uint64_t a0,
		uint64_t a1, uint64_t a2, uint64_t a3, uint64_t dt)
{
	fill(g, &g->buf[g->nbuf++], type, flags, obj, a0, a1, a2, a3, dt);
	if (g->nbuf == BUF_EVENTS)
		flush(g);
}

/* Vector v's run out: as a run, or a lone MSI as its events. */
static void run_out(struct gen *g, unsigned v)
{
	flush(g);
	if (!g->err)
		g->err = cprv_trace_write_builder(g->w, &g->run[v]);
	g->run[v].n = 0;
}

static void runs_out(struct gen *g)
{
	for (unsigned v = 0; v < g->nvec; v++)
		run_out(g, v);
}

static void task(struct gen *g, uint32_t pid, uint32_t tid)
{
	g->pid = pid;
	g->tid = tid;
}

static uint64_t vector_of(unsigned v) { return 0x20 + v; }
static uint64_t ctx_addr(unsigned v) { return 0xffff888001000000ull + v * 0x100ull; }
static uint64_t kvm_addr(unsigned n) { return 0xffffc90000a00000ull + n * 0x100000ull; }
static uint32_t qemu_pid(unsigned n) { return 1000 + 100 * n; }

/* One QEMU: exec, VM, routes, irqfds (eventfds created by the first). */
static void qemu_up(struct gen *g)
{
	struct cprv_event ex = { 0 };
	char comm[16];

	task(g, qemu_pid(g->gen_nr), qemu_pid(g->gen_nr));
	snprintf(comm, sizeof(comm), "qemu-%u", g->gen_nr);
	cprv_event_set_comm(&ex, comm);
	add(g, CPRV_EV_EXEC, 0, 0, g->pid, ex.a[1], ex.a[2], 0, 1000);
	g->kvm = kvm_addr(g->gen_nr);
	add(g, CPRV_EV_KVM_CREATE_VM, 0, g->kvm, 10, 0, 10, 0, 1000);
	for (unsigned v = 0; v < g->nvec; v++)
		add(g, CPRV_EV_KVM_ROUTE, 0, g->kvm, v, MSI_ADDR, vector_of(v), v, 1000);
	for (unsigned v = 0; !g->gen_nr && v < g->nvec; v++) {
		g->ctx[v] = ctx_addr(v);
		add(g, CPRV_EV_EVENTFD_CREATE, 0, g->ctx[v], 20 + v, 0, 0, 0, 1000);
	}
	for (unsigned v = 0; v < g->nvec; v++)
		add(g, CPRV_EV_KVM_IRQFD, 0, g->ctx[v], g->kvm, v, 0, 0, 1000);
	g->gen_nr++;
}

/* One write on the irqfd fast path: the MSI and its accept in the writer. */
static void msi(struct gen *g, unsigned v)
{
	struct cprv_event e[3];

	fill(g, &e[0], CPRV_EV_EVENTFD_WRITE, 0, g->ctx[v], 1, 0, 20 + v, 0, 200);
	fill(g, &e[1], CPRV_EV_KVM_MSI_SET_IRQ, CPRV_CTX_EVENTFD_WRITE, g->ctx[v], MSI_ADDR,
	     vector_of(v), 0, 0, 100);
	fill(g, &e[2], CPRV_EV_APIC_ACCEPT, CPRV_CTX_EVENTFD_WRITE, g->ctx[v], 0, 0, 0,
	     vector_of(v), 700);
	if (g->full) {
		for (int k = 0; k < 3; k++) {
			g->buf[g->nbuf++] = e[k];
			if (g->nbuf == BUF_EVENTS)
				flush(g);
		}
		return;
	}
	/* at most 4 ms a run, as the BPF side closes them */
	if (g->run[v].n && e[0].ts - g->run[v].tmpl[0].ts > 4000000)
		run_out(g, v);
	if (!cprv_run_add(&g->run[v], e, 3)) {
		run_out(g, v);
		cprv_run_start(&g->run[v], e, 3);
	}
}

static void cpr(struct gen *g)
{
	uint64_t old = g->kvm;
	uint32_t old_pid = qemu_pid(g->gen_nr - 1);

	runs_out(g);
	task(g, old_pid, old_pid);
	for (unsigned v = 0; v < g->nvec; v++)
		add(g, CPRV_EV_KVM_IRQFD, 0, g->ctx[v], old, v, CPRV_KVM_IRQFD_FLAG_DEASSIGN, 0, 1000);
	task(g, DEV_PID, DEV_PID + 1);
	for (unsigned i = 0; i < BLACKOUT_WRITES; i++)
		for (unsigned v = 0; v < g->nvec; v++)
			add(g, CPRV_EV_EVENTFD_WRITE, 0, g->ctx[v], 1, 0, 20 + v, 0, 100000);
	qemu_up(g);
	g->now += 150000;
	task(g, KWORKER_PID, KWORKER_PID);
	for (unsigned v = 0; v < g->nvec; v++) {
		add(g, CPRV_EV_KVM_SET_IRQ, 0, 0, v, 1, 0, 0, 1000);
		add(g, CPRV_EV_KVM_SET_IRQ, 0, 0, v, 0, 0, 0, 1000);
		add(g, CPRV_EV_KVM_MSI_SET_IRQ, CPRV_CTX_KVM_SET_IRQ, 0, MSI_ADDR, vector_of(v), v, 0, 1000);
		add(g, CPRV_EV_APIC_ACCEPT, CPRV_CTX_KVM_SET_IRQ, 0, 0, 0, 0, vector_of(v), 1000);
	}
	task(g, old_pid, old_pid);
	add(g, CPRV_EV_CLOSE, CPRV_OBJ_KVM_VM, old, 11, 0, 0, 0, 1000000);
}

static char *meta_json(unsigned nvec, uint64_t n, unsigned cprs)
{
	struct json_object *m = json_object_new_object(), *scn = json_object_new_object();
	struct cprv_plan p;
	char *s;

	cprv_plan_init(&p);
	for (int h = 0; h < CPRV_HOOK_MAX; h++) {
		p.hooks[h].chosen = 0;
		p.hooks[h].canary = CPRV_CANARY_LIVE;
	}
	p.canary_ran = true;
	snprintf(p.canary_summary, sizeof(p.canary_summary), "gentrace: synthetic, every probe live");
	json_object_object_add(scn, "name", json_object_new_string("bench-synthetic"));
	json_object_object_add(scn, "kind", json_object_new_string("rig"));
	json_object_object_add(scn, "mode", json_object_new_string("transfer"));
	json_object_object_add(scn, "fault", json_object_new_string("none"));
	json_object_object_add(scn, "vectors", json_object_new_int((int)nvec));
	json_object_object_add(scn, "cycles", json_object_new_int((int)cprs));
	json_object_object_add(scn, "events_requested", json_object_new_int64((int64_t)n));
	json_object_object_add(m, "format", json_object_new_string("cprv-trace"));
	json_object_object_add(m, "tool", json_object_new_string("gentrace"));
	json_object_object_add(m, "tool_version", json_object_new_string(CPRV_VERSION));
	json_object_object_add(m, "kernel", json_object_new_string("synthetic"));
	json_object_object_add(m, "clock", json_object_new_string("CLOCK_MONOTONIC"));
	json_object_object_add(m, "plan", cprv_plan_to_json(&p));
	json_object_object_add(m, "scenario", scn);
	s = strdup(json_object_to_json_string_ext(m, JSON_C_TO_STRING_PLAIN));
	json_object_put(m);
	return s;
}

static const char usage[] =
	"usage: gentrace -o FILE [-n EVENTS] [-v VECTORS] [-c CPRS] [-F]\n"
	"  -n EVENTS   about this many events (default 10000000)\n"
	"  -v VECTORS  MSI vectors (1..64, default 4)\n"
	"  -c CPRS     cpr-transfers spread over the trace (default 1)\n"
	"  -F          every event whole (as record --full-detail), no runs\n";

int main(int argc, char **argv)
{
	const struct cprv_trace_opts topts = { .zlevel = 0 }; /* the default, as the recorder writes */
	struct gen *g = calloc(1, sizeof(*g));
	const char *path = NULL;
	uint64_t n = 10000000, msis, per_cycle;
	unsigned cprs = 1, nvec = 4, v = 0;
	char err[256], end[128], *meta;
	int o;
	bool full = false;

	while ((o = getopt(argc, argv, "o:n:v:c:Fh")) != -1) {
		switch (o) {
		case 'o': path = optarg; break;
		case 'n': n = strtoull(optarg, NULL, 10); break;
		case 'v': nvec = (unsigned)atoi(optarg); break;
		case 'c': cprs = (unsigned)atoi(optarg); break;
		case 'F': full = true; break;
		case 'h': fputs(usage, stdout); free(g); return 0;
		default: fputs(usage, stderr); free(g); return 3;
		}
	}
	if (!g || !path || optind < argc || nvec < 1 || nvec > MAX_VEC || n < 1000 || cprs > 1000) {
		fputs(usage, stderr);
		free(g);
		return 3;
	}
	meta = meta_json(nvec, n, cprs);
	g->w = cprv_trace_writer_open(path, meta, &topts, err, sizeof(err));
	free(meta);
	if (!g->w) {
		fprintf(stderr, "gentrace: %s\n", err);
		free(g);
		return 6;
	}
	g->nvec = nvec;
	g->full = full;
	g->now = 1000000000ull; /* traces never start at 0 */
	task(g, DEV_PID, DEV_PID);
	{
		struct cprv_event ex = { 0 };

		cprv_event_set_comm(&ex, "rig-device");
		add(g, CPRV_EV_EXEC, 0, 0, DEV_PID, ex.a[1], ex.a[2], 0, 1000);
	}
	qemu_up(g);
	msis = n / 3;
	per_cycle = msis / (cprs + 1);
	for (uint64_t i = 0; i < msis && !g->err; i++) {
		if (cprs && i && i % per_cycle == 0 && i / per_cycle <= cprs)
			cpr(g);
		task(g, DEV_PID, DEV_PID + 1);
		msi(g, v);
		v = (v + 1) % nvec;
	}
	runs_out(g);
	g->now += 500000000ull;
	task(g, 1, 1);
	add(g, CPRV_EV_MARK, 0, 0, CPRV_MARK_RECORD_STOP, 0, 0, 0, 0);
	flush(g);
	if (g->err) {
		fprintf(stderr, "gentrace: writing %s: %s\n", path, cprv_trace_writer_error(g->w));
		cprv_trace_writer_abandon(g->w);
		free(g);
		return 6;
	}
	snprintf(end, sizeof(end), "{\"stop_reason\":\"gentrace\",\"events\":%llu,\"drops\":0}",
		 (unsigned long long)g->written);
	if (cprv_trace_writer_close(g->w, end)) {
		fprintf(stderr, "gentrace: closing %s failed\n", path);
		free(g);
		return 6;
	}
	printf("events=%llu vectors=%u cprs=%u\n", (unsigned long long)g->written, nvec, cprs);
	free(g);
	return 0;
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The steps of a QEMU live update (enum cprv_phase), from three sources
 * that see them differently: the driver's marks (QMP events, as QEMU
 * reports them), uprobes on QEMU's own CPR functions (exact, in QEMU's
 * threads), and the kernel plumbing (KVM_CREATE_VM, SCM_RIGHTS, exec,
 * irqfds). Each step keeps the first sighting, except "fds saved" and
 * "re-attached", which are the last of their kind before the new VM runs.
 * The VM blackout is old VM stopped -> new VM running.
 */
#include <string.h>

#include "analysis_internal.h"

static const char *const phase_names[CPRV_PHASES] = {
	[CPRV_PHASE_SETUP] = "setup",
	[CPRV_PHASE_FDS_SAVED] = "fds_saved",
	[CPRV_PHASE_OLD_STOPPED] = "old_vm_stopped",
	[CPRV_PHASE_FDS_FOUND] = "fds_found",
	[CPRV_PHASE_NEW_VM] = "new_vm_created",
	[CPRV_PHASE_REATTACHED] = "reattached",
	[CPRV_PHASE_RUNNING] = "running",
};

const char *cprv_phase_name(unsigned p)
{
	return p < CPRV_PHASES ? phase_names[p] : "?";
}

const char *cprv_phase_src_name(unsigned src)
{
	static const char *const n[] = { "-", "qmp", "uprobe", "kernel" };

	return src < 4 ? n[src] : "?";
}

static void set_first(struct cprv_cycle *cy, unsigned p, uint64_t ts, uint32_t pid, uint8_t src)
{
	if (cy->phase_ns[p] && cy->phase_ns[p] <= ts)
		return;
	cy->phase_ns[p] = ts;
	cy->phase_pid[p] = pid;
	cy->phase_src[p] = src;
}

static void set_last(struct cprv_cycle *cy, unsigned p, uint64_t ts, uint32_t pid, uint8_t src)
{
	if (cy->phase_ns[CPRV_PHASE_RUNNING] && ts > cy->phase_ns[CPRV_PHASE_RUNNING])
		return; /* after the new VM runs: not part of the update */
	if (cy->phase_ns[p] >= ts)
		return;
	cy->phase_ns[p] = ts;
	cy->phase_pid[p] = pid;
	cy->phase_src[p] = src;
}

/* The incoming side: another process (transfer) or the old one after its
 * exec (cpr-exec). */
static bool incoming(const struct cprv_cycle *cy, const struct cprv_event *ev)
{
	return ev->pid != cy->old_pid || (cy->exec_ns && ev->ts >= cy->exec_ns);
}

static int driver_mark(struct cprv_analysis *a, const struct cprv_event *ev)
{
	uint64_t what = ev->a[1];
	uint64_t ts = ev->a[3] ? ev->a[3] : ev->ts;
	unsigned kind = CPRV_DRIVE_KIND(what), phase = CPRV_DRIVE_PHASE(what);
	struct cprv_event m = { .ts = ts, .type = CPRV_EV_MARK, .pid = ev->pid, .tid = ev->tid };
	struct cprv_cycle *cy = an_open_driven(a);
	int err;

	m.a[0] = kind;
	m.a[1] = CPRV_DRIVE_CYCLE(what);
	m.a[2] = ev->a[2];
	if (kind == CPRV_MARK_PHASE) {
		if (cy && phase < CPRV_PHASES)
			set_first(cy, phase, ts, (uint32_t)ev->a[2], CPRV_PHASE_SRC_QMP);
		return 0;
	}
	if (kind == CPRV_MARK_CPR_END && cy && (CPRV_DRIVE_FLAGS(what) & CPRV_DRIVE_F_FAILED))
		cy->driver_failed = true;
	if (kind == CPRV_MARK_CPR_BEGIN)
		an_cpr_drop_unmoved(a);
	err = an_cpr_mark(a, &m);
	if (err)
		return err;
	if (kind == CPRV_MARK_CPR_BEGIN && a->open_cycle >= 0) {
		cy = &a->cycles[a->open_cycle];
		cy->driven = true;
		cy->number = CPRV_DRIVE_CYCLE(what);
		cy->old_pid = (uint32_t)ev->a[2];
		if (!cy->old_vm) {
			const struct an_vm *vm = an_vm_run_by(a, cy->old_pid);

			cy->old_vm = vm ? vm->kvm : 0;
		}
	}
	return 0;
}

static void qemu_function(struct cprv_cycle *cy, const struct cprv_event *ev)
{
	bool in = incoming(cy, ev);

	switch (ev->a[0]) {
	case CPRV_UFN_CPR_STATE_SAVE:
		if (!in) {
			set_first(cy, CPRV_PHASE_SETUP, ev->ts, ev->pid, CPRV_PHASE_SRC_UPROBE);
			set_last(cy, CPRV_PHASE_FDS_SAVED, ev->ts, ev->pid, CPRV_PHASE_SRC_UPROBE);
		}
		break;
	case CPRV_UFN_VM_STOP_FORCE:
		if (!in)
			set_first(cy, CPRV_PHASE_OLD_STOPPED, ev->ts, ev->pid, CPRV_PHASE_SRC_UPROBE);
		break;
	case CPRV_UFN_CPR_FIND_FD:
		/* cpr-transfer's new QEMU enters cpr_state_load at start-up and
		 * waits there; it finds fds once the old one has sent them */
		if (in && cy->phase_ns[CPRV_PHASE_SETUP] && ev->ts >= cy->phase_ns[CPRV_PHASE_SETUP])
			set_first(cy, CPRV_PHASE_FDS_FOUND, ev->ts, ev->pid, CPRV_PHASE_SRC_UPROBE);
		break;
	case CPRV_UFN_ADD_IRQFD:
		if (in)
			set_last(cy, CPRV_PHASE_REATTACHED, ev->ts, ev->pid, CPRV_PHASE_SRC_UPROBE);
		break;
	case CPRV_UFN_VM_START:
		if (in && cy->phase_ns[CPRV_PHASE_FDS_FOUND])
			set_first(cy, CPRV_PHASE_RUNNING, ev->ts, ev->pid, CPRV_PHASE_SRC_UPROBE);
		break;
	default:
		break;
	}
}

int an_phase_event(struct cprv_analysis *a, const struct cprv_event *ev)
{
	struct cprv_cycle *cy;

	if (ev->type == CPRV_EV_UPROBE) {
		if (ev->a[0] < CPRV_UFN_MAX)
			a->t.uprobe_hits[ev->a[0]]++;
		if (ev->a[0] == CPRV_UFN_DRIVE_MARK)
			return driver_mark(a, ev);
	}
	cy = an_open_driven(a);
	if (!cy)
		return 0;
	switch (ev->type) {
	case CPRV_EV_UPROBE:
		qemu_function(cy, ev);
		break;
	case CPRV_EV_FD_SEND:
		if (!incoming(cy, ev))
			set_last(cy, CPRV_PHASE_FDS_SAVED, ev->ts, ev->pid, CPRV_PHASE_SRC_KERNEL);
		break;
	case CPRV_EV_EXEC:
		if (ev->pid == cy->old_pid && !cy->exec_ns) {
			cy->exec_ns = ev->ts;
			set_last(cy, CPRV_PHASE_FDS_SAVED, ev->ts, ev->pid, CPRV_PHASE_SRC_KERNEL);
		}
		break;
	case CPRV_EV_KVM_CREATE_VM:
		if (incoming(cy, ev) && !cy->phase_ns[CPRV_PHASE_NEW_VM]) {
			set_first(cy, CPRV_PHASE_NEW_VM, ev->ts, ev->pid, CPRV_PHASE_SRC_KERNEL);
			if (!cy->new_vm)
				cy->new_vm = ev->obj;
		}
		break;
	case CPRV_EV_KVM_IRQFD:
	case CPRV_EV_KVM_ROUTING:
		if (incoming(cy, ev) && cy->phase_ns[CPRV_PHASE_NEW_VM])
			set_last(cy, CPRV_PHASE_REATTACHED, ev->ts, ev->pid, CPRV_PHASE_SRC_KERNEL);
		break;
	default:
		break;
	}
	return 0;
}

void an_phase_close(struct cprv_cycle *cy)
{
	uint64_t stop = cy->phase_ns[CPRV_PHASE_OLD_STOPPED], run = cy->phase_ns[CPRV_PHASE_RUNNING];

	if (!cy->driven)
		return;
	cy->vm_blackout_ns = stop && run > stop ? run - stop : 0;
	/* a cycle without device vectors has no irqfd blackout: the VM's is it */
	if (!cy->n_vecs)
		cy->blackout_ns = cy->vm_blackout_ns;
}

const struct cprv_cycle *cprv_analysis_driven_cycle(const struct cprv_analysis *a, uint32_t number)
{
	for (size_t i = 0; i < a->n_cycles; i++)
		if (a->cycles[i].driven && a->cycles[i].number == number)
			return &a->cycles[i];
	return NULL;
}

/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The mini-VMM, following the reference QEMU (hw/vfio/cpr.c and friends):
 * - first VMM: build the VM, route vector i as MSI on gsi i, attach an irqfd
 *   per vector, hand the eventfds to the device;
 * - at CPR start (MIG_EVENT_PRECOPY_SETUP): KVM_IRQFD deassign on every
 *   vector, so the blackout's fires pile up in the eventfd counters;
 * - hand over the state and the eventfds by name ("<dev>_interrupt" + vector),
 *   over the cpr socket (transfer) or across exec (exec);
 * - the new VMM builds a new VM, re-adds the routes and assigns irqfds on
 *   the SAME eventfds, and KVM replays each pending count once;
 * - the old LAPIC's IRR (accepted, never serviced: our vCPU never runs) is
 *   saved and restored into the new vCPU, as "preserve pending interrupts";
 * - the old VMM drops its KVM fds.
 * A guest thread (guest.c) services the vCPU's LAPIC and is paused from the
 * detach until the new VM runs. It also masks and unmasks MSI-X vectors on
 * the scenario's schedule; the VMM handles a mask as QEMU does with KVM
 * irqfds (msix_handle_mask_update -> vector release/use): deassign the
 * vector's irqfd and poll its eventfd itself, a fire read() while masked
 * sets the PBA bit; at unmask re-assign the irqfd and, if the PBA bit is
 * set, send the MSI by hand (KVM_SIGNAL_MSI) and clear it. Mask bits and
 * PBA are CPR state: a vector masked across the CPR stays detached in the
 * new VM until the guest unmasks it. Each --fault breaks one step on purpose;
 * every step that the expected figures depend on is taken under the control
 * lock and stamped with the fire count (struct rig_cycle).
 */
#include "rig.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

struct vmm {
	struct rig_ctl *c;
	uint32_t irr[8]; /* saved at CPR: the old vCPU's pending interrupts */
	const char *role;
	struct cprv_vm vm;
	uint32_t nvec;
	struct cprv_msi_route routes[RIG_MAX_VEC];
	int efd[RIG_MAX_VEC];
	int dev_sock;
	uint32_t gen;   /* device trigger generation */
	uint32_t cycle; /* cycles this VMM's lineage has completed */
	uint32_t gsi_of[RIG_MAX_VEC]; /* vector i's eventfd is attached to this gsi */
	struct rig_guest guest;
	uint64_t masked; /* MSI-X mask bit per vector: its irqfd is deassigned */
	uint64_t pba;    /* MSI-X pending bits: a fire was read while masked */
	bool kept;      /* old-vm-kept: stays after the handover, never migrates again */
};

static bool fault(const struct vmm *v, enum cprv_fault f)
{
	return v->c->scn.fault == f;
}

static bool masked(const struct vmm *v, uint32_t i)
{
	return v->masked >> i & 1;
}

static void vmm_set_mask(void *arg, uint32_t window, bool on);

static void guest_init(struct vmm *v, uint64_t baseline)
{
	v->guest = (struct rig_guest){ .c = v->c, .vm = &v->vm, .routes = v->routes,
				       .nvec = v->nvec, .role = v->role };
	if (v->c->scn.msi == CPRV_MSI_MSIX && v->c->scn.nmask) {
		v->guest.set_mask = vmm_set_mask;
		v->guest.vmm = v;
	}
	for (uint32_t i = 0; i < v->nvec; i++)
		v->guest.svc[i] = baseline;
}

static void lock_or_die(struct vmm *v)
{
	if (rig_lock(v->c))
		rig_die(v->c, v->role, "control lock owner died");
}

/* Vectors whose eventfd counter is non-zero (poll does not consume it). */
static uint64_t pending_mask(struct vmm *v)
{
	uint64_t m = 0;

	for (uint32_t i = 0; i < v->nvec; i++) {
		struct pollfd p = { .fd = v->efd[i], .events = POLLIN };

		/* A masked vector's counter is the VMM's to read, not KVM's to replay. */
		if (masked(v, i))
			continue;
		if (poll(&p, 1, 0) == 1 && (p.revents & POLLIN))
			m |= 1ull << i;
	}
	return m;
}

static uint32_t lapic_of_gsi(const struct vmm *v, uint32_t gsi)
{
	for (uint32_t i = 0; i < v->nvec; i++)
		if (v->routes[i].gsi == gsi)
			return v->routes[i].data & 0xff;
	return 0;
}

static bool irr_has(const uint32_t irr[8], uint32_t vec)
{
	return irr[vec / 32] & (1u << (vec % 32));
}

/*
 * Under the lock: assign every irqfd and wait until KVM's replay of each
 * pending counter (a kworker, after the ioctl returns) is in the IRR, so
 * that no later guest service can race with it. The bit must be clear
 * before, or the replay could not be told apart: a running guest is
 * serviced first.
 */
static void attach_replay_locked(struct vmm *v, uint64_t pending)
{
	uint64_t deadline = rig_now() + RIG_TIMEOUT_MS * 1000000ull;
	uint32_t irr[8];
	bool clash = false;

	if (cprv_vm_read_irr(&v->vm, irr))
		rig_die(v->c, v->role, "KVM_GET_LAPIC: %s", strerror(errno));
	for (uint32_t i = 0; i < v->nvec; i++)
		if ((pending >> i & 1) && irr_has(irr, lapic_of_gsi(v, v->gsi_of[i])))
			clash = true;
	if (clash) {
		if (!v->guest.running)
			rig_die(v->c, v->role, "a pending vector's IRR bit is already set before "
				"the attach: its replay could not be seen");
		rig_guest_service_locked(&v->guest);
	}
	for (uint32_t i = 0; i < v->nvec; i++)
		if (!masked(v, i) && cprv_vm_irqfd(&v->vm, v->efd[i], v->gsi_of[i], false))
			rig_die(v->c, v->role, "KVM_IRQFD assign vector %u gsi %u: %s", i,
				v->gsi_of[i], strerror(errno));
	for (;;) {
		bool all = true;

		if (cprv_vm_read_irr(&v->vm, irr))
			rig_die(v->c, v->role, "KVM_GET_LAPIC: %s", strerror(errno));
		for (uint32_t i = 0; i < v->nvec; i++)
			if ((pending >> i & 1) && !irr_has(irr, lapic_of_gsi(v, v->gsi_of[i])))
				all = false;
		if (all)
			return;
		if (rig_now() > deadline)
			rig_die(v->c, v->role, "KVM's replay on irqfd assign never reached the IRR");
		rig_sleep_until(rig_now() + 50000ull);
	}
}

/* Under the lock: the window vector i is masked in, or die. */
static struct rig_mask *open_window(struct vmm *v, uint32_t i)
{
	for (uint32_t w = 0; w < v->c->scn.nmask; w++)
		if (v->c->scn.mask[w].vector == i && v->c->masks[w].state == RIG_MASK_MASKED)
			return &v->c->masks[w];
	rig_die(v->c, v->role, "vector %u is masked outside any mask window", i);
}

/*
 * Under the lock: a masked vector's fires, read() out of the counter into
 * the PBA (QEMU's handler of the eventfd while the irqfd is released).
 */
static void watch_locked(struct vmm *v, uint32_t i)
{
	struct pollfd p = { .fd = v->efd[i], .events = POLLIN };
	uint64_t val;

	if (poll(&p, 1, 0) != 1 || !(p.revents & POLLIN))
		return;
	if (read(v->efd[i], &val, sizeof(val)) != sizeof(val))
		rig_die(v->c, v->role, "read masked vector %u's eventfd: %s", i, strerror(errno));
	open_window(v, i)->held += val;
	v->pba |= 1ull << i;
}

static void watch_masked(struct vmm *v)
{
	if (!v->masked)
		return;
	lock_or_die(v);
	for (uint32_t i = 0; i < v->nvec; i++)
		if (masked(v, i))
			watch_locked(v, i);
	rig_unlock(v->c);
}

/* The route KVM uses for vector i's gsi: where a hand-sent MSI must go. */
static const struct cprv_msi_route *route_of(const struct vmm *v, uint32_t i)
{
	for (uint32_t j = 0; j < v->nvec; j++)
		if (v->routes[j].gsi == v->gsi_of[i])
			return &v->routes[j];
	return &v->routes[i];
}

/*
 * Under the lock (the guest thread's trap): mask or unmask the vector of a
 * schedule window. The unmask reads the counter one last time first, so the
 * re-assign has nothing to replay and every fire of the window is in the
 * PBA; then re-assign, and send the pending MSI by hand. The fault
 * pba-dropped clears the pending bit without sending it.
 */
static void vmm_set_mask(void *arg, uint32_t w, bool on)
{
	struct vmm *v = arg;
	struct rig_ctl *c = v->c;
	struct rig_mask *m = &c->masks[w];
	uint32_t i = c->scn.mask[w].vector;
	uint64_t bit = 1ull << i;

	if (on) {
		if (masked(v, i))
			rig_die(c, v->role, "mask window %u: vector %u is already masked", w, i);
		if (cprv_vm_irqfd(&v->vm, v->efd[i], v->gsi_of[i], true))
			rig_die(c, v->role, "mask: KVM_IRQFD deassign vector %u: %s", i, strerror(errno));
		v->masked |= bit;
		m->state = RIG_MASK_MASKED;
		m->n_mask = c->nfires;
		m->ts_mask = rig_now();
		rig_log(c, v->role, "guest masked vector %u (irqfd released, eventfd polled)", i);
		return;
	}
	watch_locked(v, i);
	if (cprv_vm_irqfd(&v->vm, v->efd[i], v->gsi_of[i], false))
		rig_die(c, v->role, "unmask: KVM_IRQFD assign vector %u: %s", i, strerror(errno));
	v->masked &= ~bit;
	if (v->pba & bit) {
		if (c->scn.fault == CPRV_FAULT_PBA_DROPPED) {
			c->pba_dropped++;
		} else {
			const struct cprv_msi_route *r = route_of(v, i);

			if (cprv_vm_signal_msi(&v->vm, r->address, r->data) < 0)
				rig_die(c, v->role, "unmask: KVM_SIGNAL_MSI vector %u: %s", i,
					strerror(errno));
			m->injected = 1;
		}
		v->pba &= ~bit;
	}
	m->state = RIG_MASK_UNMASKED;
	m->n_unmask = c->nfires;
	m->ts_unmask = rig_now();
	rig_log(c, v->role, "guest unmasked vector %u: %llu fires held in the PBA, %s", i,
		(unsigned long long)m->held, m->injected ? "sent by hand (KVM_SIGNAL_MSI)" :
		!m->held ? "nothing pending" : "FAULT pba-dropped: pending bit cleared, not sent");
}

#define FD_IRQ "_interrupt"
#define FD_DEV "_device"

static void fd_name(char *buf, size_t len, const char *suffix)
{
	snprintf(buf, len, "%s%s", RIG_DEV_NAME, suffix);
}

static void build_vm(struct vmm *v)
{
	char err[256];

	if (cprv_vm_create(&v->vm, err, sizeof(err)) ||
	    cprv_vm_set_routes(&v->vm, v->routes, v->nvec, err, sizeof(err)))
		rig_die(v->c, v->role, "%s", err);
}

static void new_eventfds(struct vmm *v)
{
	/* No EFD_CLOEXEC: in exec mode these must survive the exec. */
	for (uint32_t i = 0; i < v->nvec; i++) {
		v->efd[i] = eventfd(0, 0);
		if (v->efd[i] < 0)
			rig_die(v->c, v->role, "eventfd: %s", strerror(errno));
	}
}

static void attach_all(struct vmm *v)
{
	for (uint32_t i = 0; i < v->nvec; i++)
		if (!masked(v, i) && cprv_vm_irqfd(&v->vm, v->efd[i], v->gsi_of[i], false))
			rig_die(v->c, v->role, "KVM_IRQFD assign vector %u gsi %u: %s", i,
				v->gsi_of[i], strerror(errno));
}

/* Hand triggers to the device and wait until it uses them. */
static void send_triggers(struct vmm *v)
{
	struct rig_dev_msg m = { .type = RIG_MSG_TRIGGERS, .gen = v->gen, .n = v->nvec };
	int fds[RIG_MAX_VEC + 1], nfds;
	ssize_t n;

	if (rig_send_fds(v->dev_sock, &m, sizeof(m), v->efd, (int)v->nvec))
		rig_die(v->c, v->role, "sending triggers to the device: %s", strerror(errno));
	n = rig_recv_fds(v->dev_sock, &m, sizeof(m), fds, &nfds, RIG_MAX_VEC + 1, RIG_TIMEOUT_MS);
	if (n != sizeof(m) || m.type != RIG_MSG_ACK || m.gen != v->gen)
		rig_die(v->c, v->role, "device did not acknowledge triggers generation %u: %s",
			v->gen, n < 0 ? (errno == EAGAIN ? "timed out" : strerror(errno)) : "bad reply");
}

static void read_irr(struct vmm *v, uint32_t *irr, uint32_t *valid)
{
	if (!v->c->self_check)
		return;
	if (cprv_vm_read_irr(&v->vm, irr))
		rig_die(v->c, v->role, "KVM_GET_LAPIC: %s", strerror(errno));
	RIG_STORE(valid, 1);
}

static void state_of(struct vmm *v, uint32_t cycle, struct rig_state *s, bool by_number)
{
	char name[32];

	memset(s, 0, sizeof(*s));
	s->cycle = cycle;
	s->gen = v->gen;
	s->nvec = v->nvec;
	memcpy(s->routes, v->routes, sizeof(s->routes));
	memcpy(s->irr, v->irr, sizeof(s->irr));
	s->msi = v->c->scn.msi;
	s->masked = v->masked;
	s->pba = v->pba;
	fd_name(name, sizeof(name), FD_IRQ);
	for (uint32_t i = 0; i < v->nvec; i++)
		rig_state_add_fd(s, name, i, by_number ? v->efd[i] : (int)i);
	fd_name(name, sizeof(name), FD_DEV);
	rig_state_add_fd(s, name, 0, by_number ? v->dev_sock : (int)v->nvec);
}

static void cpr_socket_path(const struct rig_ctl *c, uint32_t cycle, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/cpr-%u.sock", c->sock_dir, cycle);
}

static void send_transfer(struct vmm *v, uint32_t cycle)
{
	uint8_t buf[RIG_STATE_MAX];
	int fds[RIG_MAX_VEC + 1];
	struct sockaddr_un sa;
	struct rig_state s;
	uint64_t deadline = rig_now() + RIG_TIMEOUT_MS * 1000000ull;
	size_t len;
	int sock;

	state_of(v, cycle, &s, false);
	len = rig_state_encode(&s, buf, sizeof(buf));
	memcpy(fds, v->efd, sizeof(int) * v->nvec);
	fds[v->nvec] = v->dev_sock;
	cpr_socket_path(v->c, cycle, &sa);
	sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (sock < 0)
		rig_die(v->c, v->role, "socket: %s", strerror(errno));
	while (connect(sock, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (rig_now() > deadline)
			rig_die(v->c, v->role, "connect %s: %s", sa.sun_path, strerror(errno));
		rig_sleep_ms(1);
	}
	if (!len || rig_send_fds(sock, buf, len, fds, (int)v->nvec + 1))
		rig_die(v->c, v->role, "sending CPR state to %s: %s", sa.sun_path, strerror(errno));
	rig_log(v->c, v->role, "cycle %u: sent state and %u fds over %s", cycle, v->nvec + 1,
		sa.sun_path);
	close(sock);
}

static void exec_new(struct vmm *v, uint32_t cycle)
{
	uint8_t buf[RIG_STATE_MAX];
	struct rig_state s;
	char num[16];
	size_t len;
	int mfd;

	state_of(v, cycle, &s, true);
	len = rig_state_encode(&s, buf, sizeof(buf));
	mfd = memfd_create("cprv-rig-cpr-state", 0);
	if (mfd < 0 || !len || write(mfd, buf, len) != (ssize_t)len)
		rig_die(v->c, v->role, "writing CPR state memfd: %s", strerror(errno));
	/* Preserved fds cross the exec; the old VM must not. */
	for (uint32_t i = 0; i < v->nvec; i++)
		if (rig_set_cloexec(v->efd[i], false))
			rig_die(v->c, v->role, "clear FD_CLOEXEC: %s", strerror(errno));
	if (rig_set_cloexec(v->dev_sock, false) || rig_set_cloexec(mfd, false) ||
	    cprv_vm_set_cloexec(&v->vm, true))
		rig_die(v->c, v->role, "fcntl FD_CLOEXEC: %s", strerror(errno));
	snprintf(num, sizeof(num), "%d", mfd);
	setenv(RIG_ENV_EXEC_STATE, num, 1);
	rig_log(v->c, v->role, "cycle %u: exec with state memfd %d", cycle, mfd);
	fflush(NULL);
	execl("/proc/self/exe", "cprv-rig", "exec-resume", (char *)NULL);
	rig_die(v->c, v->role, "execve /proc/self/exe: %s", strerror(errno));
}

/* Ask the device to let go of its triggers (fault trigger-teardown). */
static void disarm_device(struct vmm *v)
{
	struct rig_dev_msg m = { .type = RIG_MSG_DISARM, .gen = v->gen };
	int fds[RIG_MAX_VEC + 1], nfds;
	ssize_t n;

	if (rig_send_fds(v->dev_sock, &m, sizeof(m), NULL, 0))
		rig_die(v->c, v->role, "disarming the device: %s", strerror(errno));
	n = rig_recv_fds(v->dev_sock, &m, sizeof(m), fds, &nfds, RIG_MAX_VEC + 1, RIG_TIMEOUT_MS);
	if (n != sizeof(m) || m.type != RIG_MSG_ACK)
		rig_die(v->c, v->role, "device did not acknowledge the disarm");
}

/*
 * The CPR failed (the new VMM died before attaching): the reference
 * resumes the guest and re-assigns its irqfds in the same VM, where KVM
 * replays what piled up; the fault failed-cpr-no-reattach carries on
 * without them.
 */
static void recover(struct vmm *v, uint32_t cycle)
{
	struct rig_ctl *c = v->c;
	struct rig_cycle *k = &c->cyc[cycle];

	lock_or_die(v);
	k->failed = 1;
	v->guest.running = true;
	if (!fault(v, CPRV_FAULT_FAILED_CPR_NO_REATTACH)) {
		k->pending_attach = pending_mask(v);
		attach_replay_locked(v, k->pending_attach);
		k->n_attach = c->nfires;
		k->reattached = 1;
		rig_set_phase(c, cycle, CPRV_GT_PHASE_RUNNING_OLD, CPRV_GT_EV_REATTACH);
	} else {
		rig_add_event(c, cycle, CPRV_GT_EV_RESUME);
	}
	rig_unlock(c);
	rig_guest_start(&v->guest);
	rig_log(c, v->role, "cycle %u: CPR FAILED; %s", cycle, k->reattached ?
		"irqfds re-assigned in the same VM, carrying on" :
		"FAULT failed-cpr-no-reattach: carrying on without irqfds");
	v->cycle = cycle;
	RIG_STORE(&c->cycle_done, cycle);
}

/* Exec mode's failed CPR: the exec itself fails, the old image carries on. */
static void exec_fails(struct vmm *v, uint32_t cycle)
{
	for (uint32_t i = 0; i < v->nvec; i++)
		rig_set_cloexec(v->efd[i], true);
	rig_log(v->c, v->role, "cycle %u: --fail-cpr: exec of a missing binary", cycle);
	execl("/nonexistent/cprv-rig-fail-cpr", "cprv-rig", "exec-resume", (char *)NULL);
	rig_log(v->c, v->role, "cycle %u: exec failed as planned: %s", cycle, strerror(errno));
	unsetenv(RIG_ENV_EXEC_STATE);
	rig_guest_start(&v->guest);
	RIG_STORE(&v->c->cpr_failed, cycle);
	recover(v, cycle);
}

/*
 * Split brain (fault old-vm-kept): after the handover the old VMM resumes
 * its guest and re-assigns its irqfds, as if its CPR had failed, and keeps
 * its VM until the end of the run.
 */
static void keep_old_vm(struct vmm *v, uint32_t cycle)
{
	struct rig_ctl *c = v->c;
	struct rig_cycle *k = &c->cyc[cycle];
	int e = 0;

	lock_or_die(v);
	v->guest.running = true;
	rig_guest_service_locked(&v->guest);
	k->pending_reattach = pending_mask(v);
	for (uint32_t i = 0; i < v->nvec && !e; i++)
		if (!masked(v, i) && cprv_vm_irqfd(&v->vm, v->efd[i], v->gsi_of[i], false))
			e = errno;
	if (!e) {
		uint64_t deadline = rig_now() + RIG_TIMEOUT_MS * 1000000ull;
		uint32_t irr[8];
		bool all = false;

		/* The re-assign replays into the old VM, whose guest we just serviced. */
		while (!all) {
			all = true;
			if (cprv_vm_read_irr(&v->vm, irr))
				rig_die(c, v->role, "KVM_GET_LAPIC: %s", strerror(errno));
			for (uint32_t i = 0; i < v->nvec; i++)
				if ((k->pending_reattach >> i & 1) &&
				    !irr_has(irr, lapic_of_gsi(v, v->gsi_of[i])))
					all = false;
			if (!all && rig_now() > deadline)
				rig_die(c, v->role, "KVM's replay on the old VM never reached the IRR");
			if (!all)
				rig_sleep_until(rig_now() + 50000ull);
		}
		k->reattached = 1;
	}
	k->n_reattach = c->nfires;
	rig_add_event(c, cycle, CPRV_GT_EV_OLD_REATTACH);
	rig_unlock(c);
	v->kept = true;
	rig_log(c, v->role, "cycle %u: FAULT old-vm-kept: %s; keeping the old VM", cycle,
		e ? "re-assign refused" : "irqfds re-assigned in the old VM");
	if (e)
		rig_log(c, v->role, "KVM_IRQFD re-assign: %s (this kernel allows one irqfd "
			"per eventfd)", strerror(e));
}

/* CPR of this VMM, as the old side. Returns only if it stays (failed CPR, old-vm-kept). */
static void outgoing(struct vmm *v, uint32_t cycle)
{
	struct rig_ctl *c = v->c;
	struct rig_cycle *k = &c->cyc[cycle];
	bool fail = c->scn.fail_cpr && cycle == 1;

	read_irr(v, c->irr_old, &c->irr_old_valid);
	/*
	 * Detach half a service period after the guest's last service: both
	 * run off 1 ms timers and would otherwise tend to coincide, leaving
	 * the IRR empty at the pause more often than a real guest would.
	 */
	if (v->guest.started)
		rig_sleep_until(RIG_LOAD(&v->guest.t_last) +
				(uint64_t)c->scn.service_period_us * 500ull);
	lock_or_die(v);
	/* A masked vector has no irqfd; the VMM stops polling it (serve is not running). */
	for (uint32_t i = 0; i < v->nvec; i++)
		if (!masked(v, i) && cprv_vm_irqfd(&v->vm, v->efd[i], v->gsi_of[i], true)) {
			int e = errno;

			rig_unlock(c);
			rig_die(c, v->role, "KVM_IRQFD deassign vector %u: %s", i, strerror(e));
		}
	/* The guest pauses with the detach: what its IRR holds now is pending. */
	v->guest.running = false;
	k->n_detach = c->nfires;
	memcpy(k->svc, v->guest.svc, sizeof(k->svc));
	rig_set_phase(c, cycle, CPRV_GT_PHASE_DETACHED, CPRV_GT_EV_DETACH);
	rig_unlock(c);
	rig_log(c, v->role, "cycle %u: irqfds detached, blackout %u ms (%llu fires so far)",
		cycle, c->scn.blackout_ms, (unsigned long long)RIG_LOAD(&c->nfires));
	if (fault(v, CPRV_FAULT_TRIGGER_TEARDOWN))
		disarm_device(v);
	rig_sleep_ms(c->scn.blackout_ms);
	/*
	 * Interrupts the old LAPIC accepted but its guest never serviced would
	 * die with the old VM; the reference saves and restores them
	 * ("vfio/pci: preserve pending interrupts"). Nothing reaches the old
	 * VM after the detach, so this is its final IRR.
	 */
	memset(v->irr, 0, sizeof(v->irr));
	if (!fault(v, CPRV_FAULT_NO_LAPIC_RECOVERY) && cprv_vm_read_irr(&v->vm, v->irr))
		rig_die(c, v->role, "KVM_GET_LAPIC: %s", strerror(errno));
	if (c->scn.mode == CPRV_MODE_EXEC) {
		rig_guest_stop(&v->guest); /* exec takes every thread */
		if (fail) {
			exec_fails(v, cycle);
			return;
		}
		exec_new(v, cycle);
	}
	send_transfer(v, cycle);
	{
		uint64_t deadline = rig_now() + RIG_TIMEOUT_MS * 1000000ull;

		/* The new VMM goes live, or (--fail-cpr) dies first. */
		while (RIG_LOAD(&c->cycle_done) < cycle && RIG_LOAD(&c->cpr_failed) < cycle) {
			if (rig_now() > deadline)
				rig_die(c, v->role, "cycle %u: new VMM never went live", cycle);
			if (getppid() != c->launcher_pid)
				rig_die(c, v->role, "launcher is gone");
			rig_sleep_ms(1);
		}
		fail = RIG_LOAD(&c->cpr_failed) >= cycle;
	}
	if (fail) {
		recover(v, cycle);
		return;
	}
	if (fault(v, CPRV_FAULT_OLD_VM_KEPT)) {
		keep_old_vm(v, cycle);
		return;
	}
	/* Holding the old VM would keep irq bypass busy (-EBUSY) on real hosts. */
	rig_guest_stop(&v->guest);
	cprv_vm_close(&v->vm);
	for (uint32_t i = 0; i < v->nvec; i++)
		close(v->efd[i]);
	close(v->dev_sock);
	rig_log(c, v->role, "cycle %u: old VM closed (guest serviced %llu interrupts), exiting",
		cycle, (unsigned long long)v->guest.nserviced);
	exit(RIG_EXIT_OK);
}

/* Run until the launcher asks for a CPR or a stop. */
static int serve(struct vmm *v)
{
	struct rig_ctl *c = v->c;

	for (;;) {
		if (RIG_LOAD(&c->vmm_stop)) {
			/*
			 * The device is stopped: the guest unmasks what it still
			 * masks, and a last service leaves nothing pending.
			 */
			lock_or_die(v);
			for (uint32_t w = 0; w < c->scn.nmask; w++)
				if (c->masks[w].state == RIG_MASK_MASKED && v->guest.set_mask)
					vmm_set_mask(v, w, false);
			if (v->guest.running)
				rig_guest_service_locked(&v->guest);
			v->guest.running = false;
			rig_unlock(c);
			rig_guest_stop(&v->guest);
			read_irr(v, c->irr_new, &c->irr_new_valid);
			cprv_vm_close(&v->vm);
			for (uint32_t i = 0; i < v->nvec; i++)
				close(v->efd[i]);
			close(v->dev_sock);
			rig_log(c, v->role, "stopped (guest serviced %llu interrupts)",
				(unsigned long long)v->guest.nserviced);
			return RIG_EXIT_OK;
		}
		watch_masked(v);
		if (!v->kept && RIG_LOAD(&c->cpr_request) > v->cycle)
			outgoing(v, v->cycle + 1);
		if (getppid() != c->launcher_pid)
			rig_die(c, v->role, "launcher is gone");
		rig_sleep_ms(1);
	}
}

int rig_vmm_first_main(struct rig_ctl *c, int dev_sock)
{
	struct vmm v = { .c = c, .role = "vmm-old", .nvec = c->scn.vectors, .dev_sock = dev_sock };

	for (uint32_t i = 0; i < v.nvec; i++) {
		v.routes[i] = (struct cprv_msi_route){ .gsi = i, .address = RIG_MSI_ADDR,
						  .data = RIG_MSI_DATA0 | i };
		v.gsi_of[i] = i;
	}
	memcpy(c->routes, v.routes, sizeof(v.routes));
	build_vm(&v);
	guest_init(&v, 0);
	v.guest.running = true;
	new_eventfds(&v);
	attach_all(&v);
	send_triggers(&v);
	rig_guest_start(&v.guest);
	rig_log(c, v.role, "VM up: %u MSI routes, irqfds attached, triggers handed to the device",
		v.nvec);
	RIG_STORE(&c->vmm_ready, 1);
	return serve(&v);
}

/* Restore the old vCPU's pending interrupts ("preserve pending interrupts"). */
static void restore_irr_locked(struct vmm *v, const struct rig_state *s)
{
	struct rig_ctl *c = v->c;

	if (fault(v, CPRV_FAULT_NO_LAPIC_RECOVERY)) {
		rig_log(c, v->role, "cycle %u: FAULT no-lapic-recovery: the old IRR is not restored",
			s->cycle);
		return;
	}
	if (cprv_vm_merge_irr(&v->vm, s->irr))
		rig_die(c, v->role, "restoring the LAPIC IRR (KVM_SET_LAPIC): %s", strerror(errno));
	c->irr_restored = 0;
	for (int i = 0; i < 8; i++)
		c->irr_restored += (uint32_t)__builtin_popcount(s->irr[i]);
	rig_log(c, v->role, "cycle %u: %u pending interrupts restored into the new LAPIC IRR",
		s->cycle, c->irr_restored);
}

/* The new side of CPR cycle s->cycle, from the state and fds received. */
static int incoming(struct rig_ctl *c, const char *role, const struct rig_state *s)
{
	struct vmm v = { .c = c, .role = role, .nvec = s->nvec, .gen = s->gen,
			 .cycle = s->cycle };
	struct rig_cycle *k = &c->cyc[s->cycle];
	char name[32];
	int preserved[RIG_MAX_VEC];

	if (s->nvec != c->scn.vectors)
		rig_die(c, role, "CPR state has %u vectors, the run has %u", s->nvec, c->scn.vectors);
	if (s->msi != c->scn.msi)
		rig_die(c, role, "CPR state is for %s, the run uses %s",
			cprv_msi_name((enum cprv_msi_kind)s->msi), cprv_msi_name(c->scn.msi));
	memcpy(v.routes, s->routes, sizeof(v.routes));
	for (uint32_t i = 0; i < v.nvec; i++)
		v.gsi_of[i] = v.routes[i].gsi;
	/* Still masked: its irqfd waits for the unmask; its PBA bit is carried. */
	v.masked = s->masked;
	v.pba = s->pba;
	if (v.masked)
		rig_log(c, role, "cycle %u: vectors 0x%llx masked (PBA 0x%llx): not attached "
			"until unmasked", s->cycle, (unsigned long long)v.masked,
			(unsigned long long)v.pba);
	if (fault(&v, CPRV_FAULT_ROUTE_CHANGED))
		v.routes[0].data = RIG_MSI_DATA0 + 0x20;
	if (fault(&v, CPRV_FAULT_SWAPPED_VECTORS)) {
		v.gsi_of[0] = v.routes[1].gsi;
		v.gsi_of[1] = v.routes[0].gsi;
	}
	fd_name(name, sizeof(name), FD_IRQ);
	for (uint32_t i = 0; i < v.nvec; i++) {
		preserved[i] = rig_state_find_fd(s, name, i);
		if (preserved[i] < 0)
			rig_die(c, role, "CPR state lacks fd %s%u", name, i);
	}
	fd_name(name, sizeof(name), FD_DEV);
	v.dev_sock = rig_state_find_fd(s, name, 0);
	if (v.dev_sock < 0)
		rig_die(c, role, "CPR state lacks fd %s", name);
	build_vm(&v);
	if (c->scn.fail_cpr && s->cycle == 1) {
		/* Dies before it attaches anything: the old VMM must carry on. */
		rig_log(c, role, "cycle %u: --fail-cpr: the incoming VMM dies before attaching",
			s->cycle);
		RIG_STORE(&c->cpr_failed, s->cycle);
		exit(RIG_EXIT_OK);
	}
	guest_init(&v, k->n_detach);
	read_irr(&v, c->irr_fresh, &c->irr_fresh_valid);
	if (fault(&v, CPRV_FAULT_NEW_EVENTFD)) {
		/* The bug: ignore what cpr_find_fd would return, make fresh ones. */
		for (uint32_t i = 0; i < v.nvec; i++)
			close(preserved[i]);
		new_eventfds(&v);
		lock_or_die(&v);
		attach_all(&v);
		k->n_attach = c->nfires;
		rig_add_event(c, s->cycle, CPRV_GT_EV_ATTACH);
		restore_irr_locked(&v, s);
		v.guest.running = true;
		rig_unlock(c);
		rig_log(c, role, "cycle %u: FAULT new-eventfd: irqfds on fresh eventfds, "
			"re-arming the device", s->cycle);
		v.gen++;
		send_triggers(&v);
	} else {
		memcpy(v.efd, preserved, sizeof(preserved));
		if (fault(&v, CPRV_FAULT_LATE_ATTACH)) {
			lock_or_die(&v);
			restore_irr_locked(&v, s);
			v.guest.running = true;
			rig_add_event(c, s->cycle, CPRV_GT_EV_VM_RUN);
			rig_unlock(c);
			rig_guest_start(&v.guest);
			rig_log(c, role, "cycle %u: FAULT late-attach: new VM runs, irqfds in %u ms",
				s->cycle, c->scn.late_ms);
			rig_sleep_ms(c->scn.late_ms);
		}
		lock_or_die(&v);
		if (fault(&v, CPRV_FAULT_DRAIN_BEFORE_ATTACH)) {
			/* The bug: a test-and-clear of each preserved counter before KVM sees it. */
			uint64_t p = pending_mask(&v), val;

			for (uint32_t i = 0; i < v.nvec; i++)
				if ((p >> i & 1) && read(v.efd[i], &val, sizeof(val)) != sizeof(val))
					rig_die(c, role, "read vector %u's eventfd: %s", i, strerror(errno));
		}
		k->pending_attach = pending_mask(&v);
		attach_replay_locked(&v, k->pending_attach); /* KVM replays each pending count */
		if (fault(&v, CPRV_FAULT_DOUBLE_REPLAY))
			for (uint32_t i = 0; i < v.nvec; i++) {
				uint32_t g = v.gsi_of[i], j;

				if (!(k->pending_attach >> i & 1))
					continue;
				for (j = 0; j < v.nvec && v.routes[j].gsi != g; j++)
					;
				if (cprv_vm_signal_msi(&v.vm, v.routes[j].address, v.routes[j].data) < 0)
					rig_die(c, role, "KVM_SIGNAL_MSI vector %u: %s", i, strerror(errno));
			}
		k->n_attach = c->nfires;
		rig_set_phase(c, s->cycle, CPRV_GT_PHASE_RUNNING_NEW, CPRV_GT_EV_ATTACH);
		if (!v.guest.running)
			restore_irr_locked(&v, s);
		v.guest.running = true;
		rig_unlock(c);
		rig_log(c, role, "cycle %u: new VM up, irqfds re-attached on the preserved eventfds%s",
			s->cycle, fault(&v, CPRV_FAULT_DOUBLE_REPLAY) ?
			" (FAULT double-replay: pending vectors also signalled by hand)" : "");
		if (fault(&v, CPRV_FAULT_TRIGGER_TEARDOWN)) {
			v.gen++;
			send_triggers(&v); /* re-arm with the same eventfds */
		}
	}
	rig_guest_start(&v.guest);
	RIG_STORE(&c->cycle_done, s->cycle);
	return serve(&v);
}

int rig_vmm_incoming_main(uint32_t cycle)
{
	struct rig_ctl *c = rig_ctl_attach();
	const char *role = "vmm-new";
	uint8_t buf[RIG_STATE_MAX];
	int fds[RIG_MAX_VEC + 1], nfds, ls, cs;
	struct pollfd pfd = { .events = POLLIN };
	struct sockaddr_un sa;
	struct rig_state s;
	char err[256];
	ssize_t n;

	if (!c)
		return RIG_EXIT_USAGE;
	cpr_socket_path(c, cycle, &sa);
	ls = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(ls, 1) < 0)
		rig_die(c, role, "listen on %s: %s", sa.sun_path, strerror(errno));
	rig_log(c, role, "cycle %u: listening on %s", cycle, sa.sun_path);
	RIG_STORE(&c->listening, cycle);
	pfd.fd = ls;
	if (poll(&pfd, 1, RIG_TIMEOUT_MS) != 1)
		rig_die(c, role, "cycle %u: no connection from the old VMM", cycle);
	cs = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
	if (cs < 0)
		rig_die(c, role, "accept: %s", strerror(errno));
	n = rig_recv_fds(cs, buf, sizeof(buf), fds, &nfds, RIG_MAX_VEC + 1, RIG_TIMEOUT_MS);
	if (n <= 0)
		rig_die(c, role, "receiving CPR state: %s", n == 0 ? "connection closed" :
			errno == EAGAIN ? "timed out" : strerror(errno));
	if (rig_state_decode(buf, (size_t)n, &s, err, sizeof(err)))
		rig_die(c, role, "%s", err);
	/* Indexes into the SCM_RIGHTS array -> our fd numbers. */
	for (uint32_t i = 0; i < s.nfds; i++) {
		if (s.fds[i].fd < 0 || s.fds[i].fd >= nfds)
			rig_die(c, role, "CPR state names fd index %d, %d fds received",
				s.fds[i].fd, nfds);
		s.fds[i].fd = fds[s.fds[i].fd];
	}
	close(cs);
	close(ls);
	unlink(sa.sun_path);
	if (s.cycle != cycle)
		rig_die(c, role, "CPR state is for cycle %u, expected %u", s.cycle, cycle);
	return incoming(c, role, &s);
}

int rig_vmm_exec_resume_main(void)
{
	struct rig_ctl *c = rig_ctl_attach();
	const char *role = "vmm-new";
	const char *env = getenv(RIG_ENV_EXEC_STATE);
	uint8_t buf[RIG_STATE_MAX];
	struct rig_state s;
	char err[256];
	ssize_t n;
	int mfd;

	if (!c)
		return RIG_EXIT_USAGE;
	if (!env)
		rig_die(c, role, "%s is not set", RIG_ENV_EXEC_STATE);
	mfd = atoi(env);
	n = pread(mfd, buf, sizeof(buf), 0);
	if (n <= 0)
		rig_die(c, role, "reading CPR state from fd %d: %s", mfd,
			n == 0 ? "empty" : strerror(errno));
	close(mfd);
	unsetenv(RIG_ENV_EXEC_STATE);
	if (rig_state_decode(buf, (size_t)n, &s, err, sizeof(err)))
		rig_die(c, role, "%s", err);
	rig_log(c, role, "cycle %u: exec'd, state from memfd %d", s.cycle, mfd);
	return incoming(c, role, &s);
}

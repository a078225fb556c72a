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
 * The fault new-eventfd breaks the middle step on purpose.
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
};

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
		if (cprv_vm_irqfd(&v->vm, v->efd[i], v->routes[i].gsi, false))
			rig_die(v->c, v->role, "KVM_IRQFD assign vector %u gsi %u: %s", i,
				v->routes[i].gsi, strerror(errno));
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

/* CPR of this VMM, as the old side. Does not return. */
static void outgoing(struct vmm *v, uint32_t cycle)
{
	struct rig_ctl *c = v->c;

	read_irr(v, c->irr_old, &c->irr_old_valid);
	if (rig_lock(c))
		rig_die(c, v->role, "control lock owner died");
	for (uint32_t i = 0; i < v->nvec; i++)
		if (cprv_vm_irqfd(&v->vm, v->efd[i], v->routes[i].gsi, true)) {
			int e = errno;

			rig_unlock(c);
			rig_die(c, v->role, "KVM_IRQFD deassign vector %u: %s", i, strerror(e));
		}
	rig_set_phase(c, cycle, CPRV_GT_PHASE_DETACHED, CPRV_GT_EV_DETACH);
	rig_unlock(c);
	rig_log(c, v->role, "cycle %u: irqfds detached, blackout %u ms (%llu fires so far)",
		cycle, c->scn.blackout_ms, (unsigned long long)RIG_LOAD(&c->nfires));
	rig_sleep_ms(c->scn.blackout_ms);
	/*
	 * Interrupts the old LAPIC accepted but its guest never serviced would
	 * die with the old VM; the reference saves and restores them
	 * ("vfio/pci: preserve pending interrupts"). Nothing reaches the old
	 * VM after the detach, so this is its final IRR.
	 */
	if (cprv_vm_read_irr(&v->vm, v->irr))
		rig_die(c, v->role, "KVM_GET_LAPIC: %s", strerror(errno));
	if (c->scn.mode == CPRV_MODE_EXEC)
		exec_new(v, cycle);
	send_transfer(v, cycle);
	if (rig_wait_flag(c, &c->cycle_done, cycle, RIG_TIMEOUT_MS))
		rig_die(c, v->role, "cycle %u: new VMM never went live: %s", cycle, strerror(errno));
	/* Holding the old VM would keep irq bypass busy (-EBUSY) on real hosts. */
	cprv_vm_close(&v->vm);
	for (uint32_t i = 0; i < v->nvec; i++)
		close(v->efd[i]);
	close(v->dev_sock);
	rig_log(c, v->role, "cycle %u: old VM closed, exiting", cycle);
	exit(RIG_EXIT_OK);
}

/* Run until the launcher asks for a CPR or a stop. */
static int serve(struct vmm *v)
{
	struct rig_ctl *c = v->c;

	for (;;) {
		if (RIG_LOAD(&c->vmm_stop)) {
			read_irr(v, c->irr_new, &c->irr_new_valid);
			cprv_vm_close(&v->vm);
			for (uint32_t i = 0; i < v->nvec; i++)
				close(v->efd[i]);
			close(v->dev_sock);
			rig_log(c, v->role, "stopped");
			return RIG_EXIT_OK;
		}
		if (RIG_LOAD(&c->cpr_request) > v->cycle)
			outgoing(v, v->cycle + 1);
		if (getppid() != c->launcher_pid)
			rig_die(c, v->role, "launcher is gone");
		rig_sleep_ms(1);
	}
}

int rig_vmm_first_main(struct rig_ctl *c, int dev_sock)
{
	struct vmm v = { .c = c, .role = "vmm-old", .nvec = c->scn.vectors, .dev_sock = dev_sock };

	for (uint32_t i = 0; i < v.nvec; i++)
		v.routes[i] = (struct cprv_msi_route){ .gsi = i, .address = RIG_MSI_ADDR,
						  .data = RIG_MSI_DATA0 + i };
	memcpy(c->routes, v.routes, sizeof(v.routes));
	build_vm(&v);
	new_eventfds(&v);
	attach_all(&v);
	send_triggers(&v);
	rig_log(c, v.role, "VM up: %u MSI routes, irqfds attached, triggers handed to the device",
		v.nvec);
	RIG_STORE(&c->vmm_ready, 1);
	return serve(&v);
}

/* The new side of CPR cycle s->cycle, from the state and fds received. */
static int incoming(struct rig_ctl *c, const char *role, const struct rig_state *s)
{
	struct vmm v = { .c = c, .role = role, .nvec = s->nvec, .gen = s->gen,
			 .cycle = s->cycle };
	char name[32];
	int preserved[RIG_MAX_VEC];

	if (s->nvec != c->scn.vectors)
		rig_die(c, role, "CPR state has %u vectors, the run has %u", s->nvec, c->scn.vectors);
	memcpy(v.routes, s->routes, sizeof(v.routes));
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
	/* Before any irqfd: the saved IRR goes in first, as QEMU loads the APIC. */
	read_irr(&v, c->irr_fresh, &c->irr_fresh_valid);
	if (cprv_vm_merge_irr(&v.vm, s->irr))
		rig_die(c, role, "restoring the LAPIC IRR (KVM_SET_LAPIC): %s", strerror(errno));
	c->irr_restored = 0;
	for (int i = 0; i < 8; i++)
		c->irr_restored += (uint32_t)__builtin_popcount(s->irr[i]);
	rig_log(c, role, "cycle %u: new VM, %u pending interrupts restored into its LAPIC IRR",
		s->cycle, c->irr_restored);
	if (c->scn.fault == CPRV_FAULT_NEW_EVENTFD) {
		/* The bug: ignore what cpr_find_fd would return, make fresh ones. */
		for (uint32_t i = 0; i < v.nvec; i++)
			close(preserved[i]);
		new_eventfds(&v);
		if (rig_lock(c))
			rig_die(c, role, "control lock owner died");
		attach_all(&v);
		rig_add_event(c, s->cycle, CPRV_GT_EV_ATTACH);
		rig_unlock(c);
		rig_log(c, role, "cycle %u: FAULT new-eventfd: irqfds on fresh eventfds, "
			"re-arming the device", s->cycle);
		v.gen++;
		send_triggers(&v);
	} else {
		memcpy(v.efd, preserved, sizeof(preserved));
		if (rig_lock(c))
			rig_die(c, role, "control lock owner died");
		attach_all(&v); /* KVM replays each pending count here */
		rig_set_phase(c, s->cycle, CPRV_GT_PHASE_RUNNING_NEW, CPRV_GT_EV_ATTACH);
		rig_unlock(c);
		rig_log(c, role, "cycle %u: new VM up, irqfds re-attached on the preserved eventfds",
			s->cycle);
	}
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

/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The device: a process of its own, because a real device keeps raising
 * MSIs while QEMU is replaced. Each fire is write(eventfd, 1), as
 * vfio_msihandler's eventfd_signal. Its triggers arrive over a socket with
 * SCM_RIGHTS (our VFIO_DEVICE_SET_IRQS), and may be replaced later.
 *
 * Every fire reads the phase and writes the eventfd under the control-page
 * lock, the lock the VMMs hold around KVM_IRQFD; so a fire's phase label
 * says exactly which side of a detach or attach it fell on.
 */
#include "rig.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#define ROLE "device"
#define BATCH 64 /* fires between looks at the socket */

struct dev {
	struct rig_ctl *c;
	int sock;
	uint32_t nvec;
	int fd[RIG_MAX_VEC];
	uint32_t gen;
	struct rig_fire *log;
	uint64_t n;     /* fires written (the log) */
	uint64_t sched; /* fires due by the schedule, written or dropped */
};

/* Take new triggers; the fault new-eventfd is the only sender after startup. */
static void take_triggers(struct dev *d, const struct rig_dev_msg *m, const int *fds,
			  int nfds, bool first)
{
	struct rig_ctl *c = d->c;
	struct rig_dev_msg ack = { .type = RIG_MSG_ACK, .gen = m->gen };
	int old[RIG_MAX_VEC];
	uint32_t cycle = 0;
	bool switched = false;

	if (m->type != RIG_MSG_TRIGGERS || m->n != d->nvec || (uint32_t)nfds != d->nvec)
		rig_die(c, ROLE, "bad trigger message: type %u, %u vectors, %d fds (want %u)",
			m->type, m->n, nfds, d->nvec);
	memcpy(old, d->fd, sizeof(old));
	if (rig_lock(c))
		rig_die(c, ROLE, "control lock owner died");
	memcpy(d->fd, fds, sizeof(int) * d->nvec);
	d->gen = m->gen;
	/* Fires sent to the detached eventfds end here: the blackout ends for us. */
	if (!first && c->phase == CPRV_GT_PHASE_DETACHED) {
		cycle = c->cycle;
		rig_set_phase(c, cycle, CPRV_GT_PHASE_RUNNING_NEW, CPRV_GT_EV_SWITCH);
		switched = true;
	}
	rig_unlock(c);
	if (!first)
		for (uint32_t v = 0; v < d->nvec; v++)
			if (old[v] >= 0)
				close(old[v]);
	if (switched)
		rig_log(c, ROLE, "cycle %u: switched to new triggers (generation %u) after %llu fires",
			cycle, d->gen, (unsigned long long)d->n);
	else
		rig_log(c, ROLE, "took %u triggers, generation %u", d->nvec, d->gen);
	if (rig_send_fds(d->sock, &ack, sizeof(ack), NULL, 0))
		rig_die(c, ROLE, "ack to VMM: %s", strerror(errno));
}

/*
 * VFIO_DEVICE_SET_IRQS with no triggers, in the middle of a CPR: the device
 * lets go of its eventfds; what it would fire meanwhile goes nowhere.
 */
static void disarm(struct dev *d, const struct rig_dev_msg *m, int nfds)
{
	struct rig_dev_msg ack = { .type = RIG_MSG_ACK, .gen = m->gen };
	int old[RIG_MAX_VEC];

	if (nfds)
		rig_die(d->c, ROLE, "disarm message carries %d fds", nfds);
	if (rig_lock(d->c))
		rig_die(d->c, ROLE, "control lock owner died");
	memcpy(old, d->fd, sizeof(old));
	for (uint32_t v = 0; v < d->nvec; v++)
		d->fd[v] = -1;
	rig_unlock(d->c);
	for (uint32_t v = 0; v < d->nvec; v++)
		if (old[v] >= 0)
			close(old[v]);
	rig_log(d->c, ROLE, "triggers disarmed after %llu fires: fires are dropped until re-armed",
		(unsigned long long)d->n);
	if (rig_send_fds(d->sock, &ack, sizeof(ack), NULL, 0))
		rig_die(d->c, ROLE, "ack to VMM: %s", strerror(errno));
}

static void poll_socket(struct dev *d, int timeout_ms, bool first)
{
	struct rig_dev_msg m;
	int fds[RIG_MAX_VEC + 1], nfds;
	ssize_t n = rig_recv_fds(d->sock, &m, sizeof(m), fds, &nfds, RIG_MAX_VEC + 1, timeout_ms);

	if (n < 0 && errno == EAGAIN && !first)
		return;
	if (n < 0)
		rig_die(d->c, ROLE, "waiting for triggers: %s",
			errno == EAGAIN ? "timed out" : strerror(errno));
	/*
	 * EOF: every VMM end is closed. Between an exec and the new image the
	 * end stays open, so this means the VMM is gone; the launcher decides.
	 */
	if (n == 0) {
		if (first)
			rig_die(d->c, ROLE, "VMM closed the device socket before sending triggers");
		return;
	}
	if ((size_t)n != sizeof(m))
		rig_die(d->c, ROLE, "short message from VMM (%zd bytes)", n);
	if (m.type == RIG_MSG_DISARM && !first)
		disarm(d, &m, nfds);
	else
		take_triggers(d, &m, fds, nfds, first);
}

static void fire(struct dev *d, uint32_t v)
{
	static const uint64_t one = 1;
	struct rig_ctl *c = d->c;
	struct rig_fire *f = &d->log[d->n];
	uint32_t phase, cycle;
	uint64_t ts;
	ssize_t w;

	d->sched++;
	if (d->fd[v] < 0) {
		/* Disarmed: the fire never reaches an eventfd, so no probe sees it. */
		c->dropped[v]++;
		return;
	}
	if (rig_lock(c))
		rig_die(c, ROLE, "control lock owner died");
	phase = c->phase;
	cycle = c->cycle;
	ts = rig_now();
	w = write(d->fd[v], &one, sizeof(one));
	if (w == sizeof(one)) {
		d->n++;
		/* Under the lock: VMM steps stamp themselves with it. */
		RIG_STORE(&c->nfires, d->n);
	}
	rig_unlock(c);
	if (w != sizeof(one))
		rig_die(c, ROLE, "write to vector %u's eventfd: %s", v, strerror(errno));
	*f = (struct rig_fire){ .ts = ts, .gen = d->gen, .vector = (uint16_t)v,
				.phase = (uint8_t)phase, .cycle = (uint8_t)cycle };
}

int rig_device_main(struct rig_ctl *c, int sock, struct rig_fire *log)
{
	struct dev d = { .c = c, .sock = sock, .nvec = c->scn.vectors, .log = log };
	uint64_t t_start, period_ns = 1000000000ull / c->scn.rate_hz, next_report;
	bool stopped = false;

	poll_socket(&d, RIG_TIMEOUT_MS, true);
	t_start = rig_now();
	next_report = t_start + 250000000ull;
	RIG_STORE(&c->t_first_fire, t_start);
	RIG_STORE(&c->dev_firing, 1);
	rig_log(c, ROLE, "firing %u vectors at %u MSI/s aggregate", d.nvec, c->scn.rate_hz);
	while (!stopped) {
		uint64_t now = rig_now();
		/* Fires due so far: catch up in bursts if the scheduler was late. */
		uint64_t due = (uint64_t)((unsigned __int128)(now - t_start) * c->scn.rate_hz / 1000000000ull);
		uint32_t batch = 0;

		while (d.sched < due && batch < BATCH) {
			if (d.n >= c->log_cap)
				rig_die(c, ROLE, "fire log full (%llu fires): run longer than planned",
					(unsigned long long)d.n);
			fire(&d, (uint32_t)(d.sched % d.nvec));
			batch++;
		}
		poll_socket(&d, 0, false);
		if (RIG_LOAD(&c->dev_stop))
			stopped = true;
		else if (getppid() != c->launcher_pid)
			rig_die(c, ROLE, "launcher is gone");
		if (now >= next_report) {
			rig_log(c, ROLE, "%llu fires", (unsigned long long)d.n);
			next_report += 250000000ull;
		}
		if (d.sched >= due)
			rig_sleep_until(t_start + (d.sched + 1) * period_ns);
	}
	rig_log(c, ROLE, "stopped after %llu fires (%.0f MSI/s achieved)", (unsigned long long)d.n,
		(double)d.n * 1e9 / (double)(rig_now() - t_start));
	for (uint32_t v = 0; v < d.nvec; v++)
		if (d.fd[v] >= 0)
			close(d.fd[v]);
	close(sock);
	return RIG_EXIT_OK;
}

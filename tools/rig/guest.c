/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The guest: our vCPU never runs, so this thread plays the guest's
 * interrupt handler. It services the LAPIC at the scenario's period and is
 * paused by its VMM for the CPR (as a paused guest would be), which is what
 * lets interrupts sit in an old VM's IRR at its teardown.
 */
#include "rig.h"

#include <errno.h>
#include <string.h>

/* The rig vector a LAPIC vector stands for: by this VM's routes, else the first VM's. */
static int rig_vector_of(const struct rig_guest *g, uint32_t lapic)
{
	for (uint32_t i = 0; i < g->nvec; i++)
		if ((g->routes[i].data & 0xff) == lapic)
			return (int)i;
	for (uint32_t i = 0; i < g->nvec; i++)
		if ((g->c->routes[i].data & 0xff) == lapic)
			return (int)i;
	return -1;
}

void rig_guest_service_locked(struct rig_guest *g)
{
	struct rig_ctl *c = g->c;
	uint32_t irr[8];

	if (cprv_vm_service_irr(g->vm, irr))
		rig_die(c, g->role, "guest LAPIC service (KVM_GET/SET_LAPIC): %s", strerror(errno));
	RIG_STORE(&g->t_last, rig_now());
	for (uint32_t w = 0; w < 8; w++)
		for (uint32_t b = 0; b < 32; b++) {
			int v;

			if (!(irr[w] & (1u << b)))
				continue;
			v = rig_vector_of(g, w * 32 + b);
			g->nserviced++;
			if (v < 0)
				continue;
			c->serviced[v]++;
			g->svc[v] = c->nfires;
		}
}

/*
 * Unmasks before masks, so that a window starting as another of the same
 * vector ends finds the vector unmasked. A paused guest writes nothing:
 * whatever fell due meanwhile happens at its first tick in the new VM.
 */
void rig_guest_masks_locked(struct rig_guest *g)
{
	struct rig_ctl *c = g->c;
	uint64_t t0 = RIG_LOAD(&c->t_first_fire), now = rig_now();

	if (!g->set_mask || !t0)
		return;
	for (uint32_t w = 0; w < c->scn.nmask; w++) {
		const struct cprv_mask_window *m = &c->scn.mask[w];

		if (c->masks[w].state == RIG_MASK_MASKED &&
		    now >= t0 + ((uint64_t)m->at_ms + m->for_ms) * 1000000ull)
			g->set_mask(g->vmm, w, false);
	}
	for (uint32_t w = 0; w < c->scn.nmask; w++)
		if (c->masks[w].state == RIG_MASK_DUE &&
		    now >= t0 + (uint64_t)c->scn.mask[w].at_ms * 1000000ull)
			g->set_mask(g->vmm, w, true);
}

static void *guest_main(void *arg)
{
	struct rig_guest *g = arg;
	struct rig_ctl *c = g->c;
	uint64_t next = rig_now();

	while (!RIG_LOAD(&g->stop)) {
		next += (uint64_t)c->scn.service_period_us * 1000ull;
		rig_sleep_until(next);
		if (rig_lock(c))
			rig_die(c, g->role, "control lock owner died");
		if (g->running && !RIG_LOAD(&g->stop)) {
			rig_guest_service_locked(g);
			rig_guest_masks_locked(g);
		}
		rig_unlock(c);
	}
	return NULL;
}

void rig_guest_start(struct rig_guest *g)
{
	int e;

	/* service_period_us 0: a guest that never takes its interrupts. */
	if (!g->c->scn.service_period_us || g->started)
		return;
	RIG_STORE(&g->stop, 0);
	e = pthread_create(&g->th, NULL, guest_main, g);
	if (e)
		rig_die(g->c, g->role, "guest thread: %s", strerror(e));
	g->started = true;
}

void rig_guest_stop(struct rig_guest *g)
{
	if (!g->started)
		return;
	RIG_STORE(&g->stop, 1);
	pthread_join(g->th, NULL);
	g->started = false;
}

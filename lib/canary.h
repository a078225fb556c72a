/* Proves the loaded probes live with a scratch KVM VM, an MSI route and an
 * irqfd (and plain process/fd activity), and writes the result per hook
 * into the plan. */
#ifndef CPRV_CANARY_H
#define CPRV_CANARY_H

#include <stddef.h>
#include "plan.h"

struct cprv_probes;

/* Returns 0 when the canary ran (whatever it found), -1 if it could not
 * run at all. Clears the traced-process and known-object maps before and
 * after, so nothing of the canary leaks into a recording. */
int cprv_canary_run(struct cprv_probes *p, struct cprv_plan *plan, char *err, size_t errlen);

#endif

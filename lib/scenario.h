/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Declarative scenarios (scenarios/NAME.json): which VMM, which CPR mode, how
 * many vectors at what rate, which fault, and what verdict to expect.
 *
 *   {"format":"cprv-scenario","version":1,"name":"rig-default","kind":"rig",
 *    "mode":"transfer","vectors":4,"rate_hz":20000,"duration_ms":1500,
 *    "cpr_at_ms":500,"blackout_ms":50,"cycles":1,"fault":"none",
 *    "settle_ms":200,"service_period_us":1000,"late_ms":300,"fail_cpr":false,
 *    "msi":"msix","mask":[{"vector":1,"at_ms":250,"for_ms":200}],
 *    "expect":{"verdict":"pass"}}
 *
 * format, version and kind are required; every other key has a default
 * (cprv_scenario_defaults). Unknown keys are errors, so a typo never turns
 * into a silently defaulted field.
 */
#ifndef CPRV_SCENARIO_H
#define CPRV_SCENARIO_H

#include <stddef.h>
#include <stdint.h>

struct json_object;

#define CPRV_SCENARIO_FORMAT  "cprv-scenario"
#define CPRV_SCENARIO_VERSION 1

/* data = 0x40 + vector must stay a valid APIC vector; 64 is plenty. */
#define CPRV_SCENARIO_MAX_VECTORS 64
#define CPRV_SCENARIO_MAX_CYCLES  100
#define CPRV_SCENARIO_MAX_RATE    10000000u
#define CPRV_SCENARIO_MAX_MS      3600000u

enum cprv_scn_kind { CPRV_KIND_RIG = 0, CPRV_KIND_QEMU };

enum cprv_cpr_mode { CPRV_MODE_TRANSFER = 0, CPRV_MODE_EXEC };

/* Faults the rig can inject; each mirrors a real bug (DESIGN section 4). */
enum cprv_fault {
	CPRV_FAULT_NONE = 0,
	CPRV_FAULT_NEW_EVENTFD, /* new VMM attaches fresh eventfds, not the preserved ones */
	CPRV_FAULT_DRAIN_BEFORE_ATTACH, /* new VMM read()s the preserved counters first */
	CPRV_FAULT_NO_LAPIC_RECOVERY,   /* the old LAPIC's pending IRR is not carried */
	CPRV_FAULT_DOUBLE_REPLAY,       /* KVM_SIGNAL_MSI by hand and KVM's replay too */
	CPRV_FAULT_ROUTE_CHANGED,       /* vector 0's gsi routes to data 0x60 after CPR */
	CPRV_FAULT_LATE_ATTACH,         /* irqfds attached late_ms after the new VM runs */
	CPRV_FAULT_OLD_VM_KEPT,         /* old VMM re-attaches and keeps its VM: two consumers */
	CPRV_FAULT_SWAPPED_VECTORS,     /* vector 0's eventfd on gsi 1 and 1's on gsi 0 */
	CPRV_FAULT_TRIGGER_TEARDOWN,    /* device trigger disarmed during the blackout */
	CPRV_FAULT_FAILED_CPR_NO_REATTACH, /* failed CPR; the old VMM does not re-attach */
	CPRV_FAULT_PBA_DROPPED,         /* MSI-X unmask clears the PBA bit without sending the MSI */
	CPRV_FAULT_COUNT
};

enum cprv_verdict_expect { CPRV_EXPECT_PASS = 0, CPRV_EXPECT_FAIL };

/*
 * The device's interrupt capability. MSI-X: a table with a mask bit per
 * vector and a pending bit array; plain MSI: 1 to 32 vectors (a power of
 * two, "multiple message enable") with contiguous data base | vector and no
 * per-vector mask.
 */
enum cprv_msi_kind { CPRV_MSI_MSIX = 0, CPRV_MSI_MSI };

#define CPRV_SCENARIO_MAX_MASKS   16
#define CPRV_SCENARIO_MAX_MSI_VEC 32

/*
 * The guest masks `vector` at_ms after the first fire and unmasks it for_ms
 * later. A paused guest (CPR) does neither: what falls due during the pause
 * happens when the new VM runs, so a window may straddle a CPR.
 */
struct cprv_mask_window {
	uint32_t vector;
	uint32_t at_ms;
	uint32_t for_ms;
};

/*
 * kind "qemu": real QEMU live-updated over QMP, running the project's own
 * guest (tools/guest). Keys: qemu, guest_args, mem_mb, run_ms, timeout_ms,
 * kill_new_cycle, qemu_args, vfio_device, firmware; plus the common name, mode, cycles,
 * settle_ms, expect. The rig's keys are errors in a qemu scenario and the
 * other way round.
 */
#define CPRV_SCENARIO_MAX_QEMU_ARGS 32
struct cprv_qemu_scn {
	char qemu[256];          /* a build set up by scenarios/qemu/setup.sh ("11.1") or a path */
	char guest_args[128];    /* the guest's command line ("" heartbeat; "edu rate=1000") */
	uint32_t mem_mb;
	uint32_t run_ms;         /* the guest runs this long before each cycle and after the last */
	uint32_t timeout_ms;     /* bound on every wait for QEMU */
	uint32_t kill_new_cycle; /* fault: SIGKILL the incoming QEMU during this cycle (0: never) */
	uint32_t n_args;
	char args[CPRV_SCENARIO_MAX_QEMU_ARGS][128]; /* extra QEMU arguments */
	/*
	 * A PCI device passed through with vfio-pci: "edu" (QEMU's edu,
	 * 1234:11e8) or "VVVV:DDDD". It is bound to vfio-pci and given to QEMU
	 * as -device vfio-pci,host=BDF; the nested lane gives L1 an IOMMU and
	 * an edu device for it.
	 */
	char vfio_device[16];
	/*
	 * What QEMU boots the guest with: "qboot" (default: QEMU's qboot.rom,
	 * straight to 32-bit mode and the Multiboot kernel), "seabios" (QEMU's
	 * own default) or any other -bios argument. SeaBIOS's many real/protected
	 * mode switches wedge a nested-SVM guest (the L1 lane) now and then: the
	 * CPU ends up executing data and never reaches the kernel.
	 */
	char firmware[128];
};

struct cprv_scenario {
	char name[64];
	enum cprv_scn_kind kind;
	enum cprv_cpr_mode mode;
	uint32_t vectors;
	uint32_t rate_hz;     /* aggregate over all vectors */
	uint32_t duration_ms; /* whole firing period */
	uint32_t cpr_at_ms;   /* first CPR, from the first fire */
	uint32_t blackout_ms; /* irqfds detached -> state sent */
	uint32_t cycles;
	enum cprv_fault fault;
	uint32_t settle_ms;   /* after the last CPR, before judging */
	uint32_t service_period_us; /* guest LAPIC servicing period; 0: never services */
	uint32_t late_ms;     /* fault late-attach: attach this long after the new VM runs */
	uint32_t fail_cpr;    /* 1: the first CPR fails (the incoming VMM dies before attaching) */
	enum cprv_msi_kind msi;
	uint32_t nmask;
	struct cprv_mask_window mask[CPRV_SCENARIO_MAX_MASKS];
	enum cprv_verdict_expect expect_verdict;
	struct cprv_qemu_scn qemu; /* kind qemu */
};

/* vendor and device ids of a vfio_device spec; -1 if malformed. */
int cprv_scenario_vfio_ids(const char *spec, unsigned *vendor, unsigned *device);

/* kind qemu keys (lib/scenario_qemu.c): 1 if key is one, 0 if not, -1 on
 * a bad value (err set). */
int cprv_scenario_qemu_field(const char *key, struct json_object *val, struct cprv_scenario *s,
			     const char *origin, char *err, size_t errlen);
void cprv_scenario_qemu_defaults(struct cprv_qemu_scn *q);
int cprv_scenario_qemu_validate(const struct cprv_scenario *s, const char *origin,
				char *err, size_t errlen);

/* The defaults an absent optional key takes (the rig-default scenario). */
void cprv_scenario_defaults(struct cprv_scenario *s);

/*
 * Parse scenario text. origin names the source in messages ("x.json").
 * Returns 0, or -1 with "origin: what is wrong" in err.
 */
int cprv_scenario_parse(const char *text, const char *origin,
			struct cprv_scenario *s, char *err, size_t errlen);
int cprv_scenario_load(const char *path, struct cprv_scenario *s,
		       char *err, size_t errlen);

/* Cross-field checks; run again after command-line overrides. */
int cprv_scenario_validate(const struct cprv_scenario *s, const char *origin,
			   char *err, size_t errlen);

const char *cprv_mode_name(enum cprv_cpr_mode m);
const char *cprv_fault_name(enum cprv_fault f);
const char *cprv_kind_name(enum cprv_scn_kind k);
const char *cprv_expect_name(enum cprv_verdict_expect v);
const char *cprv_msi_name(enum cprv_msi_kind m); /* "msix", "msi" */
int cprv_msi_parse(const char *name);
/* Name -> value; -1 if unknown. */
int cprv_mode_parse(const char *name);
int cprv_fault_parse(const char *name);
/* "none, new-eventfd, ...": for messages and --help. */
const char *cprv_fault_list(void);

#endif

/* The probe plan: for every hook of the MSI path, which attach variant this
 * kernel takes, why the others were rejected, and whether the canary saw
 * the chosen one fire. One table (plan_table.c) drives all of it. */
#ifndef CPRV_PLAN_H
#define CPRV_PLAN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <json-c/json.h>
#include "cprv_event.h"
#include "cprv_hooks.h"
#include "analysis.h"

enum cprv_attach_kind {
	CPRV_ATTACH_NONE = 0,
	CPRV_ATTACH_FENTRY,
	CPRV_ATTACH_KPROBE,
	CPRV_ATTACH_TP_BTF,
	CPRV_ATTACH_TRACEPOINT,
	/* the raw sys_enter tracepoint by BTF, the program picking its one
	 * syscall: half the cost per call of a syscall tracepoint, which goes
	 * through perf's buffer first; every other syscall pays a compare.
	 * (The order is the order of preference.) */
	CPRV_ATTACH_SYSCALL_BTF,
	CPRV_ATTACH_SYSCALL,
	CPRV_ATTACH_UPROBE,
	CPRV_ATTACH_KIND_MAX,
};

#define CPRV_MAX_VARIANTS 3
#define CPRV_MAX_PROGS    3
#define CPRV_HOOK_EVENTS  10

struct cprv_variant {
	enum cprv_attach_kind kind;
	/* function name, or "category/event" for tracepoints */
	const char *target;
	/* BPF programs (names in bpf/cprv.bpf.c) that make up the variant */
	const char *progs[CPRV_MAX_PROGS];
};

/* Where the canary can prove a hook live. */
enum cprv_canary_path {
	CPRV_CANARY_KVM,      /* the scratch VM exercises it */
	CPRV_CANARY_PROCESS,  /* fork/exec/sockets, no KVM needed */
	CPRV_CANARY_VFIO,     /* needs a vfio device: not provable by the canary */
	CPRV_CANARY_OFF_PATH, /* e.g. posted interrupts: never on the canary path */
	CPRV_CANARY_VCPU,     /* needs a running guest: proven by the recording itself */
};

struct cprv_hook_def {
	const char *role;     /* one line: why the verdict needs it */
	enum cprv_canary_path canary;
	uint16_t events[CPRV_HOOK_EVENTS]; /* event types it emits, 0-ended */
	struct cprv_variant variants[CPRV_MAX_VARIANTS]; /* best first */
};

extern const struct cprv_hook_def cprv_hook_table[CPRV_HOOK_MAX];
/* Programs outside the hook table: the recorder's own machinery (the
 * runs' tick), loaded by lib/probes.c when it needs them. NULL-ended. */
extern const char *const cprv_infra_progs[];

const char *cprv_attach_kind_name(enum cprv_attach_kind k);
/* The kind named s ("unavailable" is CPRV_ATTACH_NONE), or -1. */
int cprv_attach_kind_from_name(const char *s);
/* Is kind k ruled out by a deny mask (1 << kind per denied name)?
 * syscall_btf is both a BTF tracepoint and a syscall hook: "tp_btf" and
 * "syscall" deny it too. */
bool cprv_attach_kind_denied(enum cprv_attach_kind k, unsigned deny_mask);
const char *cprv_ufn_symbol(int ufn);
int cprv_ufn_args(int ufn); /* CPRV_UFN_ARGS_* */
int cprv_ufn_by_symbol(const char *sym); /* -1 if unknown */
const char *cprv_hook_name(int hook);
const char *cprv_hook_stage(int hook);

enum cprv_canary_state {
	CPRV_CANARY_UNTESTED = 0,
	CPRV_CANARY_LIVE,     /* attached and seen firing */
	CPRV_CANARY_DEAD,     /* attached, exercised, never fired */
	CPRV_CANARY_UNPROVEN, /* attached, but the canary could not exercise it */
};

struct cprv_hook_state {
	int chosen; /* index into variants, -1: unavailable */
	char why[CPRV_MAX_VARIANTS][160]; /* rejection reason per variant */
	enum cprv_canary_state canary;
	char canary_note[120];
	uint64_t canary_hits;
};

/* User-space functions (CPRV_UFN_LIST): found in how many of the binaries
 * the uprobes were attached to. */
#define CPRV_MAX_BINARIES 4
struct cprv_ufn_state {
	uint32_t attached;  /* binaries it is attached in */
	char why[120];      /* why not, in the last binary that lacked it */
};

struct cprv_plan {
	struct cprv_hook_state hooks[CPRV_HOOK_MAX];
	struct cprv_ufn_state ufns[CPRV_UFN_MAX];
	char binaries[CPRV_MAX_BINARIES][256]; /* user-space binaries probed */
	unsigned n_binaries;
	bool canary_ran;
	char canary_summary[200];
	/* kinds the user forbade (--no-fentry ... ), bit per cprv_attach_kind */
	unsigned deny_kinds;
};

void cprv_plan_init(struct cprv_plan *plan);
enum cprv_attach_kind cprv_plan_kind(const struct cprv_plan *plan, int hook);
/* Visibility per event type for the analysis: only a probe that attached
 * AND fired in the canary grants it; a stage nobody could see is never
 * called clean. */
void cprv_plan_visibility(const struct cprv_plan *plan, struct cprv_visibility *vis);
const char *cprv_canary_state_name(enum cprv_canary_state s);

/* JSON (for the trace header, `probe --json` and reports) and back. */
struct json_object *cprv_plan_to_json(const struct cprv_plan *plan);
int cprv_plan_from_json(struct json_object *obj, struct cprv_plan *plan, char *err, size_t errlen);
/* A table for a terminal. */
void cprv_plan_print(const struct cprv_plan *plan, FILE *out, bool verbose);

#endif

/* The hook table is complete and names real programs; plans survive the
 * trip through a trace header; visibility never grants a blind stage. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <bpf/libbpf.h>
#include "event.h"
#include "plan.h"
#include "cprv.skel.h"

static void every_hook_has_a_row_with_real_programs(void **state)
{
	struct cprv *skel = cprv__open(); /* opening needs no privileges */

	assert_non_null(skel);
	for (int h = 0; h < CPRV_HOOK_MAX; h++) {
		const struct cprv_hook_def *d = &cprv_hook_table[h];

		assert_non_null(d->role);
		assert_int_not_equal(d->variants[0].kind, CPRV_ATTACH_NONE);
		assert_int_not_equal(d->events[0], 0);
		for (int v = 0; v < CPRV_MAX_VARIANTS && d->variants[v].kind; v++) {
			assert_non_null(d->variants[v].target);
			assert_non_null(d->variants[v].progs[0]);
			for (int i = 0; i < CPRV_MAX_PROGS && d->variants[v].progs[i]; i++) {
				if (!bpf_object__find_program_by_name(skel->obj, d->variants[v].progs[i]))
					fail_msg("hook %s names missing program %s", cprv_hook_name(h),
						 d->variants[v].progs[i]);
			}
			/* best first: fentry before kprobe before tracepoints */
			if (v > 0)
				assert_true(d->variants[v].kind > d->variants[v - 1].kind);
		}
	}
	cprv__destroy(skel);
}

static void every_program_belongs_to_a_hook(void **state)
{
	struct cprv *skel = cprv__open();
	struct bpf_program *prog;

	assert_non_null(skel);
	bpf_object__for_each_program(prog, skel->obj) {
		const char *name = bpf_program__name(prog);
		bool found = false;

		for (int h = 0; h < CPRV_HOOK_MAX && !found; h++)
			for (int v = 0; v < CPRV_MAX_VARIANTS; v++)
				for (int i = 0; i < CPRV_MAX_PROGS; i++) {
					const char *p = cprv_hook_table[h].variants[v].progs[i];

					found |= p && !strcmp(p, name);
				}
		for (int i = 0; cprv_infra_progs[i] && !found; i++)
			found = !strcmp(cprv_infra_progs[i], name);
		if (!found)
			fail_msg("program %s is in no plan row: it could never load", name);
	}
	cprv__destroy(skel);
}

/* Every event type the BPF side emits belongs to a hook, so its visibility
 * follows that hook's canary (a type in no row would always look blind). */
static void every_event_type_belongs_to_a_hook(void **state)
{
	for (int t = 1; t < CPRV_EV_MAX; t++) {
		bool found = false;

		if (!strcmp(cprv_event_type_name(t), "unknown") || t == CPRV_EV_MARK ||
		    t == CPRV_EV_UPROBE)
			continue;
		for (int h = 0; h < CPRV_HOOK_MAX && !found; h++)
			for (int i = 0; i < CPRV_HOOK_EVENTS; i++)
				found |= cprv_hook_table[h].events[i] == t;
		if (!found)
			fail_msg("event type %s is in no hook's row", cprv_event_type_name(t));
	}
}

static void plan_json_round_trip(void **state)
{
	struct cprv_plan a, b;
	struct json_object *j, *orig;
	char err[128];

	cprv_plan_init(&a);
	a.hooks[CPRV_HOOK_KVM_MSI_SET_IRQ].chosen = 1;
	a.hooks[CPRV_HOOK_KVM_MSI_SET_IRQ].canary = CPRV_CANARY_LIVE;
	a.hooks[CPRV_HOOK_KVM_MSI_SET_IRQ].canary_hits = 7;
	a.hooks[CPRV_HOOK_IRQFD_WAKEUP].chosen = 0;
	a.hooks[CPRV_HOOK_SYS_WRITE].chosen = 0;    /* syscall_btf */
	a.hooks[CPRV_HOOK_IRQFD_WAKEUP].canary = CPRV_CANARY_DEAD;
	snprintf(a.hooks[CPRV_HOOK_IRQFD_WAKEUP].canary_note, 100, "never fired");
	snprintf(a.hooks[CPRV_HOOK_VFIO_MSIHANDLER].why[1], 160, "no kprobes");
	a.canary_ran = true;
	snprintf(a.canary_summary, sizeof(a.canary_summary), "1 live");
	orig = cprv_plan_to_json(&a);
	j = json_tokener_parse(json_object_to_json_string(orig));
	json_object_put(orig);
	assert_int_equal(cprv_plan_from_json(j, &b, err, sizeof(err)), 0);
	assert_int_equal(b.hooks[CPRV_HOOK_KVM_MSI_SET_IRQ].chosen, 1);
	assert_int_equal(b.hooks[CPRV_HOOK_KVM_MSI_SET_IRQ].canary, CPRV_CANARY_LIVE);
	assert_int_equal(b.hooks[CPRV_HOOK_KVM_MSI_SET_IRQ].canary_hits, 7);
	assert_int_equal(b.hooks[CPRV_HOOK_IRQFD_WAKEUP].canary, CPRV_CANARY_DEAD);
	assert_string_equal(b.hooks[CPRV_HOOK_IRQFD_WAKEUP].canary_note, "never fired");
	assert_int_equal(b.hooks[CPRV_HOOK_VFIO_IRQ].chosen, -1);
	assert_int_equal(cprv_plan_kind(&b, CPRV_HOOK_SYS_WRITE), CPRV_ATTACH_SYSCALL_BTF);
	assert_true(b.canary_ran);
	json_object_put(j);
}

/* sys_enter by BTF is a BTF tracepoint and a syscall hook: denying either
 * kind rules it out, so --deny syscall still records no syscall at all
 * and --deny tp_btf still falls back to plain tracepoints */
static void syscall_btf_is_denied_by_either_family(void **state)
{
	unsigned m = 0;

	assert_string_equal(cprv_attach_kind_name(CPRV_ATTACH_SYSCALL_BTF), "syscall_btf");
	assert_false(cprv_attach_kind_denied(CPRV_ATTACH_SYSCALL_BTF, m));
	m = 1u << CPRV_ATTACH_FENTRY | 1u << CPRV_ATTACH_TRACEPOINT;
	assert_false(cprv_attach_kind_denied(CPRV_ATTACH_SYSCALL_BTF, m));
	assert_true(cprv_attach_kind_denied(CPRV_ATTACH_FENTRY, m));
	assert_true(cprv_attach_kind_denied(CPRV_ATTACH_SYSCALL_BTF, 1u << CPRV_ATTACH_TP_BTF));
	assert_true(cprv_attach_kind_denied(CPRV_ATTACH_SYSCALL_BTF, 1u << CPRV_ATTACH_SYSCALL));
	assert_true(cprv_attach_kind_denied(CPRV_ATTACH_SYSCALL_BTF, 1u << CPRV_ATTACH_SYSCALL_BTF));
	/* and not the other way round */
	assert_false(cprv_attach_kind_denied(CPRV_ATTACH_SYSCALL, 1u << CPRV_ATTACH_SYSCALL_BTF));
	assert_false(cprv_attach_kind_denied(CPRV_ATTACH_TP_BTF, 1u << CPRV_ATTACH_SYSCALL_BTF));
	/* the write's table row: the BTF variant first, the syscall tracepoint behind it */
	assert_int_equal(cprv_hook_table[CPRV_HOOK_SYS_WRITE].variants[0].kind, CPRV_ATTACH_SYSCALL_BTF);
	assert_int_equal(cprv_hook_table[CPRV_HOOK_SYS_WRITE].variants[1].kind, CPRV_ATTACH_SYSCALL);
}

static void malformed_plan_is_rejected(void **state)
{
	struct cprv_plan b;
	char err[128];
	struct json_object *j = json_tokener_parse("{\"hooks\":{\"kvm:kvm_msi_set_irq\":{\"attach\":\"warp\"}}}");

	assert_int_equal(cprv_plan_from_json(j, &b, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "kvm:kvm_msi_set_irq"));
	json_object_put(j);
	assert_int_equal(cprv_plan_from_json(NULL, &b, err, sizeof(err)), -1);
}

static void only_live_probes_grant_visibility(void **state)
{
	struct cprv_plan p;
	struct cprv_visibility v;

	cprv_plan_init(&p);
	p.hooks[CPRV_HOOK_KVM_MSI_SET_IRQ].chosen = 0;
	p.hooks[CPRV_HOOK_KVM_MSI_SET_IRQ].canary = CPRV_CANARY_LIVE;
	p.hooks[CPRV_HOOK_IRQFD_WAKEUP].chosen = 0;
	p.hooks[CPRV_HOOK_IRQFD_WAKEUP].canary = CPRV_CANARY_DEAD;
	p.hooks[CPRV_HOOK_APIC_ACCEPT].chosen = 0;
	p.hooks[CPRV_HOOK_APIC_ACCEPT].canary = CPRV_CANARY_UNPROVEN;
	cprv_plan_visibility(&p, &v);
	assert_true(v.live[CPRV_EV_KVM_MSI_SET_IRQ]);
	assert_false(v.live[CPRV_EV_IRQFD_WAKEUP]);
	assert_non_null(strstr(v.reason[CPRV_EV_IRQFD_WAKEUP], "never fired"));
	assert_false(v.live[CPRV_EV_APIC_ACCEPT]);
	assert_false(v.live[CPRV_EV_EVENTFD_WRITE]);
	assert_non_null(strstr(v.reason[CPRV_EV_EVENTFD_WRITE], "no attach variant"));
}

/* uprobe function ids are written into traces: they must never move */
static void test_ufn_ids_stable(void **state)
{
	assert_int_equal(CPRV_UFN_CPR_STATE_SAVE, 0);
	assert_int_equal(CPRV_UFN_CPR_FIND_FD, 3);
	assert_int_equal(CPRV_UFN_VM_STOP_FORCE, 14);
	assert_int_equal(CPRV_UFN_VM_START, 15);
	assert_int_equal(CPRV_UFN_DRIVE_MARK, 16);
	assert_int_equal(CPRV_UFN_SELFTEST, 17);
	assert_string_equal(cprv_ufn_symbol(CPRV_UFN_DRIVE_MARK), "cprv_drive_mark");
	assert_int_equal(cprv_ufn_by_symbol("cpr_find_fd"), CPRV_UFN_CPR_FIND_FD);
	assert_int_equal(cprv_ufn_by_symbol("no_such_function"), -1);
	assert_int_equal(cprv_ufn_args(CPRV_UFN_CPR_SAVE_FD), CPRV_UFN_ARGS_STR0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ufn_ids_stable),
		cmocka_unit_test(every_hook_has_a_row_with_real_programs),
		cmocka_unit_test(every_program_belongs_to_a_hook),
		cmocka_unit_test(every_event_type_belongs_to_a_hook),
		cmocka_unit_test(plan_json_round_trip),
		cmocka_unit_test(malformed_plan_is_rejected),
		cmocka_unit_test(syscall_btf_is_denied_by_either_family),
		cmocka_unit_test(only_live_probes_grant_visibility),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

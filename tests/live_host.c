/* Live tests on this very kernel, whatever it lacks: BPF must load, the
 * probes that can attach must be proven, and a stage the kernel cannot
 * show must never be reported clean. Needs root; no /dev/kvm needed. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <cmocka.h>
#include "liveutil.h"

static char cprv[256], self[256];

static struct json_object *hook(struct json_object *plan, const char *name)
{
	struct json_object *h = NULL;

	if (!json_object_object_get_ex(live_get(plan, "hooks"), name, &h))
		fail_msg("plan has no hook %s", name);
	return h;
}

static void probe_proves_what_it_can_and_says_what_it_cannot(void **state)
{
	char *argv[] = { cprv, "probe", "--json", NULL };
	bool kvm = access("/dev/kvm", R_OK | W_OK) == 0;
	struct cmd_result r;
	struct json_object *j;

	assert_int_equal(live_run(argv, 300, &r), 0);
	j = live_json(&r);
	/* syscall and sched tracepoints work on every kernel this targets */
	assert_string_equal(live_str(hook(j, "write(eventfd)"), "canary"), "live");
	assert_string_equal(live_str(hook(j, "eventfd2"), "canary"), "live");
	assert_string_equal(live_str(hook(j, "recvmsg(SCM_RIGHTS)"), "canary"), "live");
	assert_string_equal(live_str(hook(j, "sched:sched_process_exec"), "canary"), "live");
	if (kvm) {
		assert_string_equal(live_str(hook(j, "kvm:kvm_msi_set_irq"), "canary"), "live");
		assert_int_equal(r.status, 0);
	} else {
		/* attached maybe, but not proven: never treated as seeing */
		assert_string_not_equal(live_str(hook(j, "kvm:kvm_msi_set_irq"), "canary"), "live");
		assert_false(json_object_get_boolean(live_get(j, "verdict_possible")));
		assert_int_equal(r.status, 2);
	}
	/* every rejected variant says why */
	json_object_object_foreach(live_get(j, "hooks"), name, h) {
		struct json_object *rej = live_get(h, "rejected");

		for (size_t i = 0; i < json_object_array_length(rej); i++)
			if (!*live_str(json_object_array_get_idx(rej, i), "why"))
				fail_msg("%s: a rejected variant without a reason", name);
	}
	printf("      kernel %s: %s\n", kvm ? "with /dev/kvm" : "without /dev/kvm", live_str(j, "canary"));
	json_object_put(j);
	live_result_free(&r);
}

/* A user-space producer writing an eventfd nobody consumes: every write is
 * recorded, none is a device MSI (the eventfd is on no irqfd: off the MSI
 * path), and the verdict is "could not judge", never a pass and never a
 * claim of loss. */
static void blind_injection_stage_gives_unjudged_not_lost(void **state)
{
	char dir[512], trace[600];
	char *rec[] = { cprv, "record", "-q", "-o", trace, "--", self, "--writer", "1000", NULL };
	char *rep[] = { cprv, "report", "--json", "--deny-not-a-flag", NULL };
	char *rep2[] = { cprv, "report", "--json", trace, NULL };
	bool kvm = access("/dev/kvm", R_OK | W_OK) == 0;
	struct cmd_result r;
	struct json_object *j;

	live_tmpdir(dir, sizeof(dir), "blind");
	snprintf(trace, sizeof(trace), "%s/w.cprv", dir);
	assert_int_equal(live_run(rec, 300, &r), 0);
	if (r.status) {
		live_dump(&r);
		fail_msg("record: exit %d (its output above)", r.status);
	}
	live_result_free(&r);

	assert_int_equal(live_run(rep, 60, &r), 0);
	assert_int_equal(r.status, 3); /* usage error has its own code */
	live_result_free(&r);

	assert_int_equal(live_run(rep2, 300, &r), 0);
	j = live_json(&r);
	assert_int_equal(live_int(j, "fires"), 0);
	assert_true(live_int(j, "off_path_events") >= 1000);
	assert_int_equal(live_int(j, "injections"), 0);
	assert_int_equal(live_int(j, "lost"), 0);
	if (!kvm) {
		assert_string_equal(live_str(j, "verdict"), "unjudged");
		assert_int_equal(r.status, 2);
	} else {
		/* injection stage visible: nobody consumed them, so they are lost
		 * or in flight, never a pass */
		assert_string_not_equal(live_str(j, "verdict"), "pass");
	}
	json_object_put(j);
	live_result_free(&r);
}

static void malformed_trace_is_a_clear_input_error(void **state)
{
	char dir[512], bad[600];
	char *rep[] = { cprv, "report", bad, NULL };
	struct cmd_result r;
	FILE *f;

	live_tmpdir(dir, sizeof(dir), "bad");
	snprintf(bad, sizeof(bad), "%s/not-a-trace", dir);
	f = fopen(bad, "w");
	fputs("hello, this is not a trace\n", f);
	fclose(f);
	assert_int_equal(live_run(rep, 60, &r), 0);
	assert_int_equal(r.status, 4);
	assert_non_null(strstr(r.err, "not a cpr-verify trace"));
	live_result_free(&r);
}

/* A saved plan skips the trial loads but not the canary; a file that is
 * not a plan is an input error, named. */
static void saved_plan_is_reused_and_checked(void **state)
{
	char dir[512], plan[600], bad[600], trace[600];
	char *probe[] = { cprv, "probe", "--json", NULL };
	char *rec[] = { cprv, "record", "-q", "--plan", plan, "-o", trace, "--", self, "--writer",
			"10", NULL };
	char *recbad[] = { cprv, "record", "-q", "--plan", bad, "-o", trace, "--", self, NULL };
	struct cmd_result r;
	FILE *f;

	live_tmpdir(dir, sizeof(dir), "plan");
	snprintf(plan, sizeof(plan), "%s/plan.json", dir);
	snprintf(bad, sizeof(bad), "%s/bad.json", dir);
	snprintf(trace, sizeof(trace), "%s/t.cprv", dir);
	assert_int_equal(live_run(probe, 300, &r), 0);
	f = fopen(plan, "w");
	fputs(r.out, f);
	fclose(f);
	live_result_free(&r);
	assert_int_equal(live_run(rec, 300, &r), 0);
	if (r.status) {
		live_dump(&r);
		fail_msg("record --plan: exit %d (its output above)", r.status);
	}
	assert_non_null(strstr(r.err, "probe plan from"));
	assert_non_null(strstr(r.err, "canary:"));
	assert_null(strstr(r.err, "resolving the probe plan"));
	live_result_free(&r);
	f = fopen(bad, "w");
	fputs("{\"hooks\": 3}", f);
	fclose(f);
	assert_int_equal(live_run(recbad, 60, &r), 0);
	assert_int_equal(r.status, 4);
	assert_non_null(strstr(r.err, bad));
	live_result_free(&r);
}

static int writer(int n)
{
	int fd = eventfd(0, 0);
	uint64_t one = 1;

	for (int i = 0; i < n; i++)
		if (write(fd, &one, 8) != 8)
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(probe_proves_what_it_can_and_says_what_it_cannot),
		cmocka_unit_test(blind_injection_stage_gives_unjudged_not_lost),
		cmocka_unit_test(malformed_trace_is_a_clear_input_error),
		cmocka_unit_test(saved_plan_is_reused_and_checked),
	};

	if (argc == 3 && !strcmp(argv[1], "--writer"))
		return writer(atoi(argv[2]));
	live_path(cprv, sizeof(cprv), "cpr-verify");
	if (readlink("/proc/self/exe", self, sizeof(self) - 1) < 0)
		return 1;
	if (geteuid()) {
		fprintf(stderr, "live_host: needs root (BPF)\n");
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Live tests of the QEMU lane: real QEMU (the reference 11.1 and trixie's
 * 10.0, set up by scenarios/qemu/setup.sh) with -accel kvm, live-updated
 * over QMP by `cpr-verify run` and compared by `cpr-verify gate`. Needs
 * root and /dev/kvm (tests/run-live.sh runs it inside the nested L1 guest
 * where the host has none). */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include "liveutil.h"

static char cprv[256];

static int setup(void **state)
{
	const char *wr[] = { "scenarios/cache/qemu/bin/qemu-11.1", "scenarios/cache/qemu/bin/qemu-10.0" };

	live_path(cprv, sizeof(cprv), "cpr-verify");
	if (access("/dev/kvm", R_OK | W_OK)) {
		fprintf(stderr, "live_qemu: /dev/kvm is not usable here (%s): run via "
				"tests/run-live.sh, which uses the nested L1 guest\n", strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < 2; i++)
		if (access(wr[i], X_OK)) {
			fprintf(stderr, "live_qemu: %s is missing: run scenarios/qemu/setup.sh "
					"(make check does)\n", wr[i]);
			return -1;
		}
	return 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char *const phases[] = { "setup", "fds_saved", "old_vm_stopped", "fds_found",
				      "new_vm_created", "reattached", "running" };

/*
 * Under SeaBIOS the QEMU guest of this nested lane now and then stayed in
 * its firmware (a few CI runs in ten, 2026-12-07): SeaBIOS wedged on a
 * mode switch under nested SVM (tools/guest/README.md), and the driver ended
 * the run "the guest did not come up". cpr-verify now boots qboot, which
 * did not wedge in 30 boots; should a boot still hang, that is the lane
 * booting a guest, not what these tests check: such a run is made once
 * more, and says so; a second one fails the test.
 */
static bool guest_stuck(const struct cmd_result *r, int attempt, const char *what)
{
	static const char stuck[] = "the guest did not come up: the guest's heartbeat stayed at 0 ";

	if (attempt || !r->err || !strstr(r->err, stuck))
		return false;
	printf("      %s: the guest did not come up (its heartbeat stayed 0); running it once "
	       "more\n", what);
	return true;
}

/* A qemu scenario run: exit 0, pass, every cycle ok with its heartbeat
 * going on, every phase seen, a VM blackout measured. */
static void run_passes(const char *scenario, const char *mode_word)
{
	char dir[256];
	char *argv[] = { cprv, "run", (char *)scenario, "--lane", "host", "--json", "-o", dir, NULL };
	struct cmd_result r;
	struct json_object *j, *cycles;
	double t0 = now_s();

	for (int attempt = 0;; attempt++) {
		live_tmpdir(dir, sizeof(dir), scenario);
		assert_int_equal(live_run(argv, 900, &r), 0);
		j = live_json(&r);
		if (!r.status || !guest_stuck(&r, attempt, scenario))
			break;
		json_object_put(j);
		live_result_free(&r);
	}
	if (r.status) {
		live_dump(&r);
		fail_msg("%s: exit %d (its output above)", scenario, r.status);
	}
	assert_string_equal(live_str(j, "verdict"), "pass");
	assert_string_equal(live_str(j, "qemu.mode"), mode_word);
	cycles = live_get(j, "qemu.cycles");
	assert_int_equal(json_object_array_length(cycles), 3);
	for (size_t i = 0; i < 3; i++) {
		struct json_object *c = json_object_array_get_idx(cycles, i);

		assert_true(json_object_get_boolean(live_get(c, "ok")));
		assert_true(live_int(c, "hb_after") > live_int(c, "hb_before"));
		assert_true(json_object_get_boolean(live_get(c, "in_trace")));
		assert_true(live_int(c, "vm_blackout_ns") > 0);
		for (size_t p = 0; p < sizeof(phases) / sizeof(phases[0]); p++)
			if (!live_get(live_get(c, "phases"), phases[p]) ||
			    !json_object_is_type(live_get(live_get(c, "phases"), phases[p]),
						 json_type_object))
				fail_msg("%s cycle %zu: phase %s not seen", scenario, i + 1, phases[p]);
		printf("      %s #%zu: VM blackout %.2f ms, heartbeat %lld -> %lld\n", scenario, i + 1,
		       live_int(c, "vm_blackout_ns") / 1e6, (long long)live_int(c, "hb_before"),
		       (long long)live_int(c, "hb_after"));
	}
	assert_true(live_int(j, "qemu.heartbeat_end") >
		    live_int(json_object_array_get_idx(cycles, 2), "hb_after"));
	/* the old QEMU of every update let go of its VM */
	assert_string_equal(live_str(j, "rules.R6.state"), "held");
	printf("      %s: %.1f s\n", scenario, now_s() - t0);
	json_object_put(j);
	live_result_free(&r);
}

static void three_transfers(void **state)
{
	run_passes("qemu-transfer", "transfer");
}

static void three_execs(void **state)
{
	run_passes("qemu-exec", "exec");
}

/* The incoming QEMU killed mid-cycle: a failed verdict, quickly, that says
 * what became of the old QEMU. */
static void killed_new_qemu_fails(void **state)
{
	char dir[256];
	char *argv[] = { cprv, "run", "qemu-kill", "--lane", "host", "--json", "-o", dir, NULL };
	struct cmd_result r;
	struct json_object *j, *c;
	double t0 = now_s();

	live_tmpdir(dir, sizeof(dir), "qemu-kill");
	assert_int_equal(live_run(argv, 600, &r), 0);
	j = live_json(&r);
	assert_int_equal(r.status, 1);
	assert_string_equal(live_str(j, "verdict"), "fail");
	c = json_object_array_get_idx(live_get(j, "qemu.cycles"), 0);
	assert_non_null(c);
	assert_false(json_object_get_boolean(live_get(c, "ok")));
	if (!strstr(live_str(c, "why"), "migration") || !strstr(live_str(c, "why"), "signal 9"))
		fail_msg("why does not name the failed migration and the killed QEMU: %s",
			 live_str(c, "why"));
	/* the reference resumes the old VM when the new QEMU is gone */
	assert_string_equal(live_str(c, "old_qemu"), "running");
	printf("      killed: %s; old QEMU %s; verdict in %.1f s\n", live_str(c, "why"),
	       live_str(c, "old_qemu"), now_s() - t0);
	json_object_put(j);
	live_result_free(&r);
}

/* A one-cycle scenario for the gate tests: two runs each, kept short. */
static void write_scenario(const char *path, const char *mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fprintf(f, "{\"format\":\"cprv-scenario\",\"version\":1,\"name\":\"gate-%s\",\"kind\":\"qemu\","
		   "\"mode\":\"%s\",\"cycles\":1,\"run_ms\":500,\"timeout_ms\":60000}\n", mode, mode);
	fclose(f);
}

static struct json_object *gate(const char *cand, const char *ref, const char *mode, int want,
				char *dir, size_t dlen)
{
	char scn[300];
	/* blackout under nested TCG varies several-fold from run to run */
	char *argv[] = { cprv, "gate", "--candidate", (char *)cand, "--reference", (char *)ref,
			 "--lane", "host", "--json", "--blackout-tolerance", "500,2000", "-o", dir,
			 scn, NULL };
	struct cmd_result r;
	struct json_object *j;

	for (int attempt = 0;; attempt++) {
		live_tmpdir(dir, dlen, "gate");
		snprintf(scn, sizeof(scn), "%s/scenario.json", dir);
		write_scenario(scn, mode);
		assert_int_equal(live_run(argv, 1200, &r), 0);
		j = live_json(&r);
		if (r.status == want || !guest_stuck(&r, attempt, "gate"))
			break;
		json_object_put(j);
		live_result_free(&r);
	}
	if (r.status != want) {
		live_dump(&r);
		fail_msg("gate %s vs %s (%s): exit %d, want %d (its output above)", cand, ref, mode,
			 r.status, want);
	}
	live_result_free(&r);
	return j;
}

static struct json_object *check(struct json_object *g, const char *name)
{
	struct json_object *arr = live_get(g, "checks");

	for (size_t i = 0; i < json_object_array_length(arr); i++)
		if (!strcmp(live_str(json_object_array_get_idx(arr, i), "name"), name))
			return json_object_array_get_idx(arr, i);
	fail_msg("gate has no check '%s'", name);
	return NULL;
}

static void gate_passes_reference_against_itself(void **state)
{
	char dir[256], p[300];
	struct json_object *g = gate("11.1", "11.1", "transfer", 0, dir, sizeof(dir));
	char *xml;
	FILE *f;
	long n;

	assert_string_equal(live_str(g, "result"), "pass");
	assert_string_equal(live_str(check(g, "updates"), "status"), "pass");
	assert_string_equal(live_str(check(g, "phases"), "status"), "pass");
	assert_string_equal(live_str(check(g, "rule R6"), "status"), "pass");
	/* no device: MSI checks are skipped, never passed */
	assert_string_equal(live_str(check(g, "lost"), "status"), "skipped");
	snprintf(p, sizeof(p), "%s/gate.junit.xml", dir);
	f = fopen(p, "r");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	xml = calloc(1, n + 1);
	assert_int_equal(fread(xml, 1, n, f), (size_t)n);
	fclose(f);
	assert_non_null(strstr(xml, "failures=\"0\""));
	assert_non_null(strstr(xml, "<testcase classname=\"cpr-verify.gate\" name=\"phases\">"));
	free(xml);
	snprintf(p, sizeof(p), "%s/gate.html", dir);
	assert_int_equal(access(p, R_OK), 0);
	json_object_put(g);
}

/* trixie's QEMU 10.0 has no cpr-exec: the gate fails and says so. */
static void gate_fails_a_build_without_cpr_exec(void **state)
{
	char dir[256];
	struct json_object *g = gate("10.0", "11.1", "exec", 1, dir, sizeof(dir));
	const char *d;

	assert_string_equal(live_str(g, "result"), "fail");
	assert_string_equal(live_str(check(g, "reference verdict"), "status"), "pass");
	assert_string_equal(live_str(check(g, "updates"), "status"), "fail");
	d = live_str(check(g, "updates"), "detail");
	if (!strstr(d, "QEMU 10.0") || !strstr(d, "cpr-exec"))
		fail_msg("the failure does not name the build and the mode: %s", d);
	printf("      10.0: %s\n", d);
	json_object_put(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(three_transfers),
		cmocka_unit_test(three_execs),
		cmocka_unit_test(killed_new_qemu_fails),
		cmocka_unit_test(gate_passes_reference_against_itself),
		cmocka_unit_test(gate_fails_a_build_without_cpr_exec),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}

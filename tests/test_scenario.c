/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Scenario parser: good files, defaults, every kind of bad field. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "scenario.h"

#define HEAD "\"format\":\"cprv-scenario\",\"version\":1,\"kind\":\"rig\""

/* The repository root, from this file's path (make compiles from the root). */
static void repo_path(char *buf, size_t len, const char *rel)
{
	const char *me = __FILE__, *slash = strstr(me, "tests/test_scenario.c");

	snprintf(buf, len, "%.*s%s", slash ? (int)(slash - me) : 0, me, rel);
}

static void test_full(void **state)
{
	static const char text[] =
		"{\"format\":\"cprv-scenario\",\"version\":1,\"name\":\"x\",\"kind\":\"rig\",\n"
		" \"mode\":\"exec\",\"vectors\":8,\"rate_hz\":1000,\"duration_ms\":3000,\n"
		" \"cpr_at_ms\":700,\"blackout_ms\":0,\"cycles\":3,\"fault\":\"new-eventfd\",\n"
		" \"settle_ms\":50,\"expect\":{\"verdict\":\"fail\"}}\n";
	struct cprv_scenario s;
	char err[256] = "";

	assert_int_equal(cprv_scenario_parse(text, "t.json", &s, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_string_equal(s.name, "x");
	assert_int_equal(s.kind, CPRV_KIND_RIG);
	assert_int_equal(s.mode, CPRV_MODE_EXEC);
	assert_int_equal(s.vectors, 8);
	assert_int_equal(s.rate_hz, 1000);
	assert_int_equal(s.duration_ms, 3000);
	assert_int_equal(s.cpr_at_ms, 700);
	assert_int_equal(s.blackout_ms, 0);
	assert_int_equal(s.cycles, 3);
	assert_int_equal(s.fault, CPRV_FAULT_NEW_EVENTFD);
	assert_int_equal(s.settle_ms, 50);
	assert_int_equal(s.expect_verdict, CPRV_EXPECT_FAIL);
}

static void test_v2_keys(void **state)
{
	static const char text[] =
		"{" HEAD ",\"fault\":\"failed-cpr-no-reattach\",\"fail_cpr\":true,"
		"\"service_period_us\":0,\"late_ms\":20}";
	struct cprv_scenario s, d;
	char err[256] = "";

	assert_int_equal(cprv_scenario_parse(text, "t.json", &s, err, sizeof(err)), 0);
	assert_int_equal(s.fault, CPRV_FAULT_FAILED_CPR_NO_REATTACH);
	assert_int_equal(s.fail_cpr, 1);
	assert_int_equal(s.service_period_us, 0);
	assert_int_equal(s.late_ms, 20);
	cprv_scenario_defaults(&d);
	assert_int_equal(d.service_period_us, 1000);
	assert_int_equal(d.late_ms, 300);
	assert_int_equal(d.fail_cpr, 0);
	/* Every fault name parses back to itself. */
	for (int f = 0; f < CPRV_FAULT_COUNT; f++)
		assert_int_equal(cprv_fault_parse(cprv_fault_name((enum cprv_fault)f)), f);
}

/* Issue 3: the interrupt capability and the guest's mask schedule. */
static void test_msi_keys(void **state)
{
	static const char text[] =
		"{" HEAD ",\"msi\":\"msix\",\"fault\":\"pba-dropped\",\"cpr_at_ms\":500,"
		"\"mask\":[{\"vector\":1,\"at_ms\":300,\"for_ms\":400},"
		"{\"for_ms\":50,\"vector\":3,\"at_ms\":0},"
		"{\"vector\":1,\"at_ms\":700,\"for_ms\":100}]}";
	static const char plain[] = "{" HEAD ",\"msi\":\"msi\",\"vectors\":32}";
	struct cprv_scenario s, d;
	char err[256] = "";

	cprv_scenario_defaults(&d);
	assert_int_equal(d.msi, CPRV_MSI_MSIX);
	assert_int_equal(d.nmask, 0);
	assert_int_equal(cprv_scenario_parse(text, "t.json", &s, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(s.msi, CPRV_MSI_MSIX);
	assert_int_equal(s.fault, CPRV_FAULT_PBA_DROPPED);
	assert_int_equal(s.nmask, 3);
	assert_int_equal(s.mask[0].vector, 1);
	assert_int_equal(s.mask[0].at_ms, 300);
	assert_int_equal(s.mask[0].for_ms, 400);
	assert_int_equal(s.mask[1].vector, 3);
	assert_int_equal(s.mask[1].at_ms, 0);
	assert_int_equal(s.mask[1].for_ms, 50);
	/* Back to back on one vector: the second starts as the first ends. */
	assert_int_equal(s.mask[2].at_ms, 700);
	assert_int_equal(cprv_scenario_parse(plain, "t.json", &s, err, sizeof(err)), 0);
	assert_int_equal(s.msi, CPRV_MSI_MSI);
	assert_int_equal(s.vectors, 32);
	assert_int_equal(s.nmask, 0);
	assert_int_equal(cprv_msi_parse("msi"), CPRV_MSI_MSI);
	assert_int_equal(cprv_msi_parse("msix"), CPRV_MSI_MSIX);
	assert_int_equal(cprv_msi_parse("MSI-X"), -1);
	assert_string_equal(cprv_msi_name(CPRV_MSI_MSI), "msi");
	assert_string_equal(cprv_fault_name(CPRV_FAULT_PBA_DROPPED), "pba-dropped");
}

#define MASK1 "\"mask\":[{\"vector\":1,\"at_ms\":300,\"for_ms\":400}]"

static const struct { const char *text, *want; } msi_bad[] = {
	{ "{" HEAD ",\"msi\":\"msi-x\"}", "t.json: field 'msi' is 'msi-x', must be one of: msix, msi" },
	{ "{" HEAD ",\"msi\":1}", "t.json: field 'msi' must be a string" },
	{ "{" HEAD ",\"msi\":\"msi\"," MASK1 "}",
	  "t.json: field 'mask' needs msi 'msix': plain MSI has no per-vector mask bits" },
	{ "{" HEAD ",\"msi\":\"msi\",\"vectors\":6}",
	  "t.json: msi 'msi' needs vectors a power of two up to 32 (multiple message enable), not 6" },
	{ "{" HEAD ",\"msi\":\"msi\",\"vectors\":64}",
	  "t.json: msi 'msi' needs vectors a power of two up to 32 (multiple message enable), not 64" },
	{ "{" HEAD ",\"msi\":\"msi\",\"fault\":\"pba-dropped\"}",
	  "t.json: fault pba-dropped needs msi 'msix': plain MSI has no pending bit array" },
	{ "{" HEAD ",\"fault\":\"pba-dropped\"}",
	  "t.json: fault pba-dropped needs a 'mask' window: only a masked vector's fires reach the PBA" },
	{ "{" HEAD ",\"fault\":\"drain-before-attach\"," MASK1 "}",
	  "t.json: field 'mask' combines only with fault none or pba-dropped, not drain-before-attach" },
	{ "{" HEAD ",\"fail_cpr\":true," MASK1 "}", "t.json: field 'mask' does not combine with fail_cpr" },
	{ "{" HEAD ",\"service_period_us\":0," MASK1 "}",
	  "t.json: field 'mask' needs service_period_us > 0: the guest that masks never runs" },
	{ "{" HEAD ",\"mask\":{}}",
	  "t.json: field 'mask' must be an array of {\"vector\":N,\"at_ms\":N,\"for_ms\":N}" },
	{ "{" HEAD ",\"mask\":[1]}", "t.json: mask[0] must be an object" },
	{ "{" HEAD ",\"mask\":[{\"vector\":1,\"at_ms\":3}]}",
	  "t.json: mask[0] needs vector, at_ms and for_ms" },
	{ "{" HEAD ",\"mask\":[{\"vector\":1,\"at_ms\":3,\"for_ms\":0}]}",
	  "t.json: field 'mask[0].for_ms' must be a positive integer" },
	{ "{" HEAD ",\"mask\":[{\"vector\":1,\"at_ms\":3,\"for_ms\":5,\"unmask\":1}]}",
	  "t.json: unknown key 'mask[0].unmask'" },
	{ "{" HEAD ",\"mask\":[{\"vector\":\"1\",\"at_ms\":3,\"for_ms\":5}]}",
	  "t.json: field 'mask[0].vector' must be a non-negative integer" },
	{ "{" HEAD ",\"mask\":[{\"vector\":4,\"at_ms\":3,\"for_ms\":5}]}",
	  "t.json: mask[0].vector is 4, the device has 4 vectors" },
	{ "{" HEAD ",\"mask\":[{\"vector\":0,\"at_ms\":1000,\"for_ms\":401}]}",
	  "t.json: mask[0] ends at 1401 ms: it must end at least 100 ms before duration_ms (1500)" },
	{ "{" HEAD ",\"mask\":[{\"vector\":2,\"at_ms\":100,\"for_ms\":200},"
	  "{\"vector\":1,\"at_ms\":100,\"for_ms\":200},{\"vector\":2,\"at_ms\":299,\"for_ms\":5}]}",
	  "t.json: mask[0] and mask[2] overlap on vector 2" },
};

static void test_msi_bad(void **state)
{
	char many[2048];
	struct cprv_scenario s;
	char err[256];

	for (size_t i = 0; i < sizeof(msi_bad) / sizeof(msi_bad[0]); i++) {
		err[0] = '\0';
		if (cprv_scenario_parse(msi_bad[i].text, "t.json", &s, err, sizeof(err)) != -1)
			fail_msg("accepted: %s", msi_bad[i].text);
		if (strcmp(err, msi_bad[i].want) != 0)
			fail_msg("for %s\n  got  %s\n  want %s", msi_bad[i].text, err, msi_bad[i].want);
	}
	/* One window more than the table holds. */
	snprintf(many, sizeof(many), "{" HEAD ",\"mask\":[");
	for (int i = 0; i <= CPRV_SCENARIO_MAX_MASKS; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many),
			 "%s{\"vector\":0,\"at_ms\":%d,\"for_ms\":1}", i ? "," : "", i * 10);
	snprintf(many + strlen(many), sizeof(many) - strlen(many), "]}");
	assert_int_equal(cprv_scenario_parse(many, "t.json", &s, err, sizeof(err)), -1);
	assert_string_equal(err, "t.json: field 'mask' has 17 windows, at most 16 allowed");
	/* Validation runs again after command-line overrides (cprv-rig --msi msi). */
	assert_int_equal(cprv_scenario_parse("{" HEAD "," MASK1 "}", "t.json", &s, err,
					     sizeof(err)), 0);
	s.msi = CPRV_MSI_MSI;
	assert_int_equal(cprv_scenario_validate(&s, "options", err, sizeof(err)), -1);
	assert_string_equal(err, "options: field 'mask' needs msi 'msix': plain MSI has no "
			    "per-vector mask bits");
}

static void test_defaults(void **state)
{
	struct cprv_scenario s, d;
	char err[256];

	/* Fill with junk first: parse must not depend on the caller's struct. */
	memset(&s, 0xa5, sizeof(s));
	assert_int_equal(cprv_scenario_parse("{" HEAD "}", "t.json", &s, err, sizeof(err)), 0);
	cprv_scenario_defaults(&d);
	assert_memory_equal(&s, &d, sizeof(s));
	assert_int_equal(d.vectors, 4);
	assert_int_equal(d.rate_hz, 20000);
	assert_int_equal(d.duration_ms, 1500);
	assert_int_equal(d.cpr_at_ms, 500);
	assert_int_equal(d.blackout_ms, 50);
	assert_int_equal(d.cycles, 1);
	assert_int_equal(d.settle_ms, 200);
	assert_int_equal(d.mode, CPRV_MODE_TRANSFER);
	assert_int_equal(d.fault, CPRV_FAULT_NONE);
	assert_int_equal(d.expect_verdict, CPRV_EXPECT_PASS);
}

struct bad_case {
	const char *text;
	const char *want; /* the whole message */
};

static const struct bad_case bad_cases[] = {
	{ "{" HEAD ",\"rate_hz\":0}", "t.json: field 'rate_hz' must be a positive integer" },
	{ "{" HEAD ",\"rate_hz\":-5}", "t.json: field 'rate_hz' must be a positive integer" },
	{ "{" HEAD ",\"rate_hz\":\"20000\"}", "t.json: field 'rate_hz' must be a positive integer" },
	{ "{" HEAD ",\"rate_hz\":1.5}", "t.json: field 'rate_hz' must be a positive integer" },
	{ "{" HEAD ",\"rate_hz\":null}", "t.json: field 'rate_hz' must be a positive integer" },
	{ "{" HEAD ",\"vectors\":65}", "t.json: field 'vectors' is 65, at most 64 allowed" },
	{ "{" HEAD ",\"vectors\":true}", "t.json: field 'vectors' must be a positive integer" },
	{ "{" HEAD ",\"cycles\":0}", "t.json: field 'cycles' must be a positive integer" },
	{ "{" HEAD ",\"blackout_ms\":-1}", "t.json: field 'blackout_ms' must be a non-negative integer" },
	{ "{" HEAD ",\"settle_ms\":[1]}", "t.json: field 'settle_ms' must be a non-negative integer" },
	{ "{" HEAD ",\"mode\":\"reboot\"}",
	  "t.json: field 'mode' is 'reboot', must be one of: transfer, exec" },
	{ "{" HEAD ",\"mode\":1}", "t.json: field 'mode' must be a string" },
	{ "{" HEAD ",\"fault\":\"drained\"}",
	  "t.json: field 'fault' is 'drained', must be one of: none, new-eventfd, "
	  "drain-before-attach, no-lapic-recovery, double-replay, route-changed, late-attach, "
	  "old-vm-kept, swapped-vectors, trigger-teardown, failed-cpr-no-reattach, "
	  "pba-dropped" },
	{ "{" HEAD ",\"name\":\"\"}", "t.json: field 'name' must be 1 to 63 characters" },
	{ "{" HEAD ",\"expect\":\"pass\"}", "t.json: field 'expect' must be an object" },
	{ "{" HEAD ",\"expect\":{\"verdict\":\"maybe\"}}",
	  "t.json: field 'expect.verdict' is 'maybe', must be one of: pass, fail" },
	{ "{" HEAD ",\"expect\":{\"lost\":0}}", "t.json: unknown key 'expect.lost'" },
	{ "{" HEAD ",\"rate\":100}", "t.json: unknown key 'rate'" },
	{ "{" HEAD ",\"fail_cpr\":1}", "t.json: field 'fail_cpr' must be true or false" },
	{ "{" HEAD ",\"service_period_us\":-1}",
	  "t.json: field 'service_period_us' must be a non-negative integer" },
	{ "{" HEAD ",\"service_period_us\":2000000}",
	  "t.json: field 'service_period_us' is 2000000, at most 1000000 allowed" },
	{ "{" HEAD ",\"fault\":\"swapped-vectors\",\"vectors\":1}",
	  "t.json: fault swapped-vectors needs at least 2 vectors" },
	{ "{" HEAD ",\"fault\":\"route-changed\",\"vectors\":33,\"rate_hz\":1000}",
	  "t.json: fault route-changed needs at most 32 vectors" },
	{ "{" HEAD ",\"fault\":\"failed-cpr-no-reattach\"}",
	  "t.json: fault failed-cpr-no-reattach needs fail_cpr (--fail-cpr)" },
	{ "{" HEAD ",\"fault\":\"double-replay\",\"fail_cpr\":true}",
	  "t.json: fail_cpr combines only with fault none or failed-cpr-no-reattach, not double-replay" },
	{ "{" HEAD ",\"fault\":\"old-vm-kept\",\"cycles\":2}",
	  "t.json: fault old-vm-kept needs cycles 1" },
	{ "{" HEAD ",\"fault\":\"old-vm-kept\",\"mode\":\"exec\"}",
	  "t.json: fault old-vm-kept needs mode transfer" },
	{ "{" HEAD ",\"fault\":\"late-attach\",\"late_ms\":950}",
	  "t.json: late_ms (950) needs duration_ms - cpr_at_ms (1000) of at least late_ms + 100" },
	{ "{" HEAD ",\"cpr_at_ms\":1500}",
	  "t.json: cpr_at_ms (1500) must be less than duration_ms (1500)" },
	{ "{" HEAD ",\"vectors\":8,\"rate_hz\":7}",
	  "t.json: rate_hz (7) is below one fire per second per vector (8 vectors)" },
	{ "{\"format\":\"cprv-trace\",\"version\":1,\"kind\":\"rig\"}",
	  "t.json: field 'format' is 'cprv-trace', expected 'cprv-scenario'" },
	{ "{\"format\":\"cprv-scenario\",\"version\":2,\"kind\":\"rig\"}",
	  "t.json: version 2 is not supported (this build reads version 1)" },
	{ "{\"format\":\"cprv-scenario\",\"version\":1,\"kind\":\"vm\"}",
	  "t.json: field 'kind' is 'vm', must be one of: rig, qemu" },
	{ "{\"format\":\"cprv-scenario\",\"version\":1,\"kind\":\"qemu\",\"vectors\":4}",
	  "t.json: a qemu scenario takes only name, mode, cycles, settle_ms, expect, qemu, "
	  "guest_args, mem_mb, run_ms, timeout_ms, kill_new_cycle, qemu_args, vfio_device, firmware "
	  "(a rig key is present)" },
	{ "{\"format\":\"cprv-scenario\",\"version\":1,\"kind\":\"qemu\",\"vfio_device\":\"nic\"}",
	  "t.json: vfio_device 'nic' must be \"edu\" or VENDOR:DEVICE in hex" },
	{ "{" HEAD ",\"qemu\":\"11.1\"}", "t.json: qemu keys (qemu, guest_args, ...) need kind 'qemu'" },
	{ "{\"format\":\"cprv-scenario\",\"version\":1,\"kind\":\"qemu\",\"cycles\":2,"
	  "\"kill_new_cycle\":3}", "t.json: kill_new_cycle (3) is after the last cycle (2)" },
	{ "{\"format\":\"cprv-scenario\",\"version\":1,\"kind\":\"qemu\",\"mem_mb\":8}",
	  "t.json: field 'mem_mb' must be an integer from 16 to 65536" },
	{ "{\"format\":\"cprv-scenario\",\"version\":1,\"kind\":\"qemu\",\"qemu_args\":[1]}",
	  "t.json: field 'qemu_args[]' must be a string" },
	{ "{\"version\":1,\"kind\":\"rig\"}",
	  "t.json: missing field 'format' (\"cprv-scenario\")" },
	{ "{\"format\":\"cprv-scenario\",\"kind\":\"rig\"}", "t.json: missing field 'version'" },
	{ "{\"format\":\"cprv-scenario\",\"version\":1}", "t.json: missing field 'kind'" },
	{ "[1,2]", "t.json: top level must be a JSON object" },
	{ "{" HEAD "} {}", "t.json: line 1: text after the JSON object" },
	{ "{" HEAD ",\n\"vectors\": 4,", "t.json: JSON ends too early (truncated file?)" },
	{ "", "t.json: JSON ends too early (truncated file?)" },
};

static void test_qemu_kind(void **state)
{
	struct cprv_scenario s;
	char err[256] = "";

	assert_int_equal(cprv_scenario_parse(
		"{\"format\":\"cprv-scenario\",\"version\":1,\"kind\":\"qemu\",\"name\":\"q\","
		"\"mode\":\"exec\",\"cycles\":3,\"qemu\":\"10.0\",\"guest_args\":\"edu rate=500\","
		"\"mem_mb\":256,\"run_ms\":20,\"timeout_ms\":9000,\"kill_new_cycle\":2,"
		"\"qemu_args\":[\"-device\",\"vfio-pci,host=0000:00:03.0\"]}",
		"q.json", &s, err, sizeof(err)), 0);
	assert_int_equal(s.kind, CPRV_KIND_QEMU);
	assert_int_equal(s.mode, CPRV_MODE_EXEC);
	assert_int_equal(s.cycles, 3);
	assert_string_equal(s.qemu.qemu, "10.0");
	assert_string_equal(s.qemu.guest_args, "edu rate=500");
	assert_int_equal(s.qemu.mem_mb, 256);
	assert_int_equal(s.qemu.run_ms, 20);
	assert_int_equal(s.qemu.timeout_ms, 9000);
	assert_int_equal(s.qemu.kill_new_cycle, 2);
	assert_int_equal(s.qemu.n_args, 2);
	assert_string_equal(s.qemu.args[1], "vfio-pci,host=0000:00:03.0");
	/* defaults */
	assert_int_equal(cprv_scenario_parse(
		"{\"format\":\"cprv-scenario\",\"version\":1,\"kind\":\"qemu\"}", "d.json", &s, err,
		sizeof(err)), 0);
	assert_string_equal(s.qemu.qemu, "11.1");
	assert_int_equal(s.qemu.mem_mb, 128);
	assert_int_equal(s.qemu.kill_new_cycle, 0);
	assert_int_equal(s.qemu.n_args, 0);
	assert_string_equal(s.qemu.firmware, "qboot");
	assert_int_equal(cprv_scenario_parse(
		"{\"format\":\"cprv-scenario\",\"version\":1,\"kind\":\"qemu\","
		"\"firmware\":\"seabios\"}", "f.json", &s, err, sizeof(err)), 0);
	assert_string_equal(s.qemu.firmware, "seabios");
	assert_int_equal(cprv_scenario_parse(
		"{\"format\":\"cprv-scenario\",\"version\":1,\"kind\":\"qemu\","
		"\"firmware\":3}", "f.json", &s, err, sizeof(err)), -1);
	assert_string_equal(err, "f.json: field 'firmware' must be a string");
}

static void test_bad_fields(void **state)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		struct cprv_scenario s;
		char err[256] = "";

		if (cprv_scenario_parse(bad_cases[i].text, "t.json", &s, err, sizeof(err)) != -1)
			fail_msg("accepted: %s", bad_cases[i].text);
		if (strcmp(err, bad_cases[i].want) != 0)
			fail_msg("for %s\n  got  %s\n  want %s", bad_cases[i].text, err,
				 bad_cases[i].want);
	}
}

static void test_syntax_error_line(void **state)
{
	static const char text[] = "{\n" HEAD ",\n  \"vectors\": 4\n  \"rate_hz\": 10\n}\n";
	struct cprv_scenario s;
	char err[256];

	assert_int_equal(cprv_scenario_parse(text, "x.json", &s, err, sizeof(err)), -1);
	/* The missing comma is noticed on line 4. */
	assert_non_null(strstr(err, "x.json: line 4: JSON syntax error"));
}

static void test_load_errors(void **state)
{
	char path[] = "/tmp/cprv-test-scenario.XXXXXX";
	struct cprv_scenario s;
	char err[512], want[600];
	int fd;

	assert_int_equal(cprv_scenario_load("/nonexistent/x.json", &s, err, sizeof(err)), -1);
	assert_string_equal(err, "/nonexistent/x.json: cannot open: No such file or directory");

	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "{" HEAD ",\"rate_hz\":0}", strlen("{" HEAD ",\"rate_hz\":0}")),
			 (ssize_t)strlen("{" HEAD ",\"rate_hz\":0}"));
	close(fd);
	assert_int_equal(cprv_scenario_load(path, &s, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: field 'rate_hz' must be a positive integer", path);
	assert_string_equal(err, want);

	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "{\0}", 3), 3);
	close(fd);
	assert_int_equal(cprv_scenario_load(path, &s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "NUL byte"));
	unlink(path);
}

static void test_repo_scenarios(void **state)
{
	static const struct {
		const char *file, *name;
		enum cprv_cpr_mode mode;
		enum cprv_fault fault;
		enum cprv_verdict_expect verdict;
	} files[] = {
		{ "scenarios/rig-default.json", "rig-default", CPRV_MODE_TRANSFER,
		  CPRV_FAULT_NONE, CPRV_EXPECT_PASS },
		{ "scenarios/rig-exec.json", "rig-exec", CPRV_MODE_EXEC, CPRV_FAULT_NONE,
		  CPRV_EXPECT_PASS },
		{ "scenarios/rig-new-eventfd.json", "rig-new-eventfd", CPRV_MODE_TRANSFER,
		  CPRV_FAULT_NEW_EVENTFD, CPRV_EXPECT_FAIL },
		{ "scenarios/rig-msix-mask.json", "rig-msix-mask", CPRV_MODE_TRANSFER,
		  CPRV_FAULT_NONE, CPRV_EXPECT_PASS },
		{ "scenarios/rig-pba-dropped.json", "rig-pba-dropped", CPRV_MODE_TRANSFER,
		  CPRV_FAULT_PBA_DROPPED, CPRV_EXPECT_FAIL },
	};

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct cprv_scenario s;
		char path[1024], err[512];

		repo_path(path, sizeof(path), files[i].file);
		if (cprv_scenario_load(path, &s, err, sizeof(err)))
			fail_msg("%s", err);
		assert_string_equal(s.name, files[i].name);
		assert_int_equal(s.mode, files[i].mode);
		assert_int_equal(s.fault, files[i].fault);
		assert_int_equal(s.expect_verdict, files[i].verdict);
		assert_int_equal(s.vectors, 4);
		assert_int_equal(s.rate_hz, 20000);
		assert_int_equal(s.blackout_ms, 50);
		assert_int_equal(s.msi, CPRV_MSI_MSIX);
		if (strstr(files[i].file, "msix-mask") || strstr(files[i].file, "pba-dropped")) {
			/* Vector 1's window straddles the CPR: masked before, unmasked after. */
			assert_int_equal(s.nmask, 2);
			assert_int_equal(s.mask[1].vector, 1);
			assert_true(s.mask[1].at_ms < s.cpr_at_ms);
			assert_true(s.mask[1].at_ms + s.mask[1].for_ms > s.cpr_at_ms + s.blackout_ms);
		} else {
			assert_int_equal(s.nmask, 0);
		}
	}
	{
		struct cprv_scenario s;
		char path[1024], err[512];

		repo_path(path, sizeof(path), "scenarios/rig-msi.json");
		if (cprv_scenario_load(path, &s, err, sizeof(err)))
			fail_msg("%s", err);
		assert_int_equal(s.msi, CPRV_MSI_MSI);
		assert_int_equal(s.vectors, 8);
		assert_int_equal(s.nmask, 0);
	}
}

static void test_names(void **state)
{
	assert_int_equal(cprv_mode_parse(cprv_mode_name(CPRV_MODE_EXEC)), CPRV_MODE_EXEC);
	assert_int_equal(cprv_mode_parse(cprv_mode_name(CPRV_MODE_TRANSFER)), CPRV_MODE_TRANSFER);
	assert_int_equal(cprv_fault_parse("new-eventfd"), CPRV_FAULT_NEW_EVENTFD);
	assert_string_equal(cprv_fault_name(CPRV_FAULT_NONE), "none");
	assert_int_equal(cprv_mode_parse("cpr-transfer"), -1);
	assert_int_equal(cprv_fault_parse(""), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_v2_keys),
		cmocka_unit_test(test_msi_keys),
		cmocka_unit_test(test_msi_bad),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_bad_fields),
		cmocka_unit_test(test_qemu_kind),
		cmocka_unit_test(test_syntax_error_line),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_repo_scenarios),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Live tests on real BPF and KVM: the canary proves the KVM path, the rig
 * runs real CPR cycles under the probes, and the verdict must equal the
 * rig's ground truth exactly. Needs root and /dev/kvm (tests/run-live.sh
 * runs this inside the nested L1 guest where the host has no /dev/kvm). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <cmocka.h>
#include <json-c/json.h>
#include "groundtruth.h"
#include "kvmvm.h"
#include "liveutil.h"

static char cprv[256], rig[256];

static int setup(void **state)
{
	live_path(cprv, sizeof(cprv), "cpr-verify");
	live_path(rig, sizeof(rig), "cprv-rig");
	if (access("/dev/kvm", R_OK | W_OK)) {
		fprintf(stderr, "live_kvm: /dev/kvm is not usable here (%s): run via tests/run-live.sh, "
				"which uses the nested L1 guest\n", strerror(errno));
		return -1;
	}
	return 0;
}

static struct json_object *hook(struct json_object *plan, const char *name)
{
	struct json_object *hooks = live_get(plan, "hooks"), *h = NULL;

	if (!json_object_object_get_ex(hooks, name, &h))
		fail_msg("plan has no hook %s", name);
	return h;
}

static void probe_proves_the_kvm_path_live(void **state)
{
	char *argv[] = { cprv, "probe", "--json", NULL };
	struct cmd_result r;
	struct json_object *j;
	const char *must_live[] = { "kvm:kvm_msi_set_irq", "kvm:kvm_set_irq", "kvm:kvm_apic_accept_irq",
				    "ioctl(KVM,VFIO)", "write(eventfd)", "eventfd2", "sendmsg(SCM_RIGHTS)",
				    "recvmsg(SCM_RIGHTS)", "sched:sched_process_exec" };

	assert_int_equal(live_run(argv, 300, &r), 0);
	j = live_json(&r);
	assert_int_equal(r.status, 0);
	assert_true(json_object_get_boolean(live_get(j, "verdict_possible")));
	for (size_t i = 0; i < sizeof(must_live) / sizeof(must_live[0]); i++) {
		struct json_object *h = hook(j, must_live[i]);

		if (strcmp(live_str(h, "canary"), "live"))
			fail_msg("%s: canary %s, expected live", must_live[i], live_str(h, "canary"));
		assert_true(live_int(h, "canary_hits") > 0);
	}
	/* a probe that attached and never fired must not stay chosen */
	json_object_object_foreach(live_get(j, "hooks"), name, h) {
		if (!strcmp(live_str(h, "canary"), "dead"))
			fail_msg("%s is dead but still in the plan", name);
	}
	printf("      canary: %s\n", live_str(j, "canary"));
	json_object_put(j);
	live_result_free(&r);
}

static void probe_falls_back_to_classic_tracepoints(void **state)
{
	char *argv[] = { cprv, "probe", "--json", "--deny", "fentry,kprobe,tp_btf", NULL };
	struct cmd_result r;
	struct json_object *j;

	assert_int_equal(live_run(argv, 300, &r), 0);
	j = live_json(&r);
	assert_int_equal(r.status, 0);
	assert_string_equal(live_str(hook(j, "kvm:kvm_msi_set_irq"), "attach"), "tracepoint");
	assert_string_equal(live_str(hook(j, "kvm:kvm_msi_set_irq"), "canary"), "live");
	assert_string_equal(live_str(hook(j, "kvm:kvm_apic_accept_irq"), "attach"), "tracepoint");
	assert_string_equal(live_str(hook(j, "sched:sched_process_fork"), "attach"), "tracepoint");
	assert_string_equal(live_str(hook(j, "irqfd_wakeup"), "attach"), "unavailable");
	json_object_put(j);
	live_result_free(&r);
}

/* Runs the rig scenario under the probes and checks the verdict against
 * the rig's own ground truth, figure by figure. */
static void run_and_compare(const char *tag, char *const extra[], const char *want_verdict,
			    int want_exit, bool want_lost)
{
	char dir[512], gtpath[600], err[256];
	char *argv[24] = { cprv, "run", "--lane", "host", "--json", "-o", dir };
	struct cprv_ground_truth gt;
	struct cmd_result r;
	struct json_object *j, *vecs;
	int n = 7;

	live_tmpdir(dir, sizeof(dir), tag);
	for (int i = 0; extra && extra[i]; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	assert_int_equal(live_run(argv, 900, &r), 0);
	j = live_json(&r);
	if (strcmp(live_str(j, "verdict"), want_verdict) || r.status != want_exit) {
		fprintf(stderr, "--- stderr:\n%s\n--- stdout:\n%s\n", r.err, r.out);
		fail_msg("%s: verdict %s exit %d, expected %s exit %d", tag, live_str(j, "verdict"),
			 r.status, want_verdict, want_exit);
	}
	snprintf(gtpath, sizeof(gtpath), "%s/ground-truth.json", dir);
	if (cprv_gt_load(gtpath, &gt, err, sizeof(err)))
		fail_msg("%s", err);

	/* the tool saw exactly what the rig did */
	assert_int_equal(live_int(j, "fires"), gt.total);
	assert_true(gt.total >= 10000);
	assert_true(gt.blackout > 0);
	assert_int_equal(live_int(j, "lost"), gt.lost);
	assert_int_equal(live_int(j, "duplicates"), gt.duplicates);
	assert_true(json_object_get_boolean(live_get(j, "ground_truth.match")));
	if (want_lost)
		assert_true(gt.lost > 0);
	else
		assert_int_equal(gt.lost, 0);
	vecs = live_get(j, "vectors");
	assert_int_equal(json_object_array_length(vecs), gt.nvectors);
	for (uint32_t v = 0; v < gt.nvectors; v++) {
		struct json_object *vo = json_object_array_get_idx(vecs, v);

		assert_int_equal(live_int(vo, "gsi"), gt.vec[v].gsi);
		assert_int_equal(live_int(vo, "fires"), gt.vec[v].fires);
		assert_int_equal(live_int(vo, "lost"), gt.vec[v].lost);
	}
	assert_true(live_int(j, "cpr.blackout_ns") > 0);
	assert_int_equal(json_object_array_length(live_get(j, "cpr.cycles")), gt.cycles);
	assert_int_equal(live_int(j, "trace.drops"), 0);
	printf("      %s: %s, %lld fires (%llu in the blackout), %lld lost, %lld duplicates, "
	       "%lld coalesced, blackout %.1f ms, %lld events\n",
	       tag, live_str(j, "verdict"), (long long)live_int(j, "fires"),
	       (unsigned long long)gt.blackout, (long long)live_int(j, "lost"),
	       (long long)live_int(j, "duplicates"), (long long)live_int(j, "coalesced"),
	       live_int(j, "cpr.blackout_ns") / 1e6, (long long)live_int(j, "trace.events"));
	cprv_gt_free(&gt);
	json_object_put(j);
	live_result_free(&r);
}

static void run_default_transfer_passes_exactly(void **state)
{
	run_and_compare("transfer", NULL, "pass", 0, false);
}

static void run_exec_passes_exactly(void **state)
{
	char *extra[] = { "--mode", "exec", NULL };

	run_and_compare("exec", extra, "pass", 0, false);
}

static void run_new_eventfd_fault_loses_exactly_the_blackout(void **state)
{
	char *extra[] = { "--fault", "new-eventfd", NULL };

	run_and_compare("new-eventfd", extra, "fail", 1, true);
}

static void run_exec_new_eventfd_fault_loses_exactly_the_blackout(void **state)
{
	char *extra[] = { "--mode", "exec", "--fault", "new-eventfd", NULL };

	run_and_compare("exec-new-eventfd", extra, "fail", 1, true);
}

/* The CI host's situation: no fentry, no kprobes, no BTF tracepoints. The
 * tags on classic tracepoints alone must still attribute every injection. */
static void run_on_classic_tracepoints_only_passes_exactly(void **state)
{
	char *extra[] = { "--deny", "fentry,kprobe,tp_btf", NULL };

	run_and_compare("tracepoints-only", extra, "pass", 0, false);
}

static off_t file_size(const char *p)
{
	struct stat st;

	return stat(p, &st) ? 0 : st.st_size;
}

/* Starts `record -- rig` in its own process group; returns its pid once the
 * trace holds some chunks (the canary is done and events flow). */
static pid_t start_long_recording(const char *trace, const char *gt)
{
	pid_t pid = fork();

	if (pid == 0) {
		setpgid(0, 0);
		execl(cprv, cprv, "record", "-q", "-o", trace, "--", rig, "run", "--duration-ms",
		      "60000", "--cpr-at-ms", "1000", "--ground-truth", gt, (char *)NULL);
		_exit(127);
	}
	assert_true(pid > 0);
	for (int i = 0; i < 600 && file_size(trace) < 64 * 1024; i++) {
		struct timespec ts = { 0, 100000000 };
		int st;

		if (waitpid(pid, &st, WNOHANG) == pid)
			fail_msg("record exited early with status %d", st);
		nanosleep(&ts, NULL);
	}
	assert_true(file_size(trace) >= 64 * 1024);
	return pid;
}

static int wait_exit(pid_t pid, int timeout_s)
{
	for (int i = 0; i < timeout_s * 10; i++) {
		struct timespec ts = { 0, 100000000 };
		int st;

		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		nanosleep(&ts, NULL);
	}
	kill(-pid, SIGKILL);
	fail_msg("process %d did not exit within %d s", pid, timeout_s);
	return -1;
}

static void dump_reads(const char *trace, bool want_complete, long *events)
{
	char *argv[] = { cprv, "dump", (char *)trace, NULL };
	struct cmd_result r;
	long lines = 0;

	assert_int_equal(live_run(argv, 300, &r), 0);
	for (char *p = r.out; *p; p++)
		lines += *p == '\n';
	if (r.status != 0) {
		live_dump(&r);
		fail_msg("dump %s: exit %d (its output above)", trace, r.status);
	}
	assert_true(lines > 1000);
	if (want_complete)
		assert_null(strstr(r.err, "truncated"));
	else
		assert_non_null(strstr(r.err, "truncated"));
	*events = lines;
	live_result_free(&r);
}

/* Records a long rig run, interrupts it (SIGINT to the group as a
 * terminal's ^C, or SIGKILL to the recorder as a crash), then reads the
 * trace back with dump and report. */
static struct json_object *interrupt_recording(const char *tag, bool crash, long *events,
					       struct cmd_result *r)
{
	char dir[512], trace[600], gt[600];
	char *rep[] = { cprv, "report", "--json", trace, NULL };
	pid_t pid;

	live_tmpdir(dir, sizeof(dir), tag);
	snprintf(trace, sizeof(trace), "%s/t.cprv", dir);
	snprintf(gt, sizeof(gt), "%s/gt.json", dir);
	pid = start_long_recording(trace, gt);
	if (crash)
		kill(pid, SIGKILL); /* no END chunk, no last flush */
	kill(-pid, SIGINT);
	assert_int_equal(wait_exit(pid, 120), crash ? 128 + SIGKILL : 0);
	dump_reads(trace, !crash, events);
	assert_int_equal(live_run(rep, 300, r), 0);
	return live_json(r);
}

static void sigint_while_recording_leaves_a_complete_trace(void **state)
{
	struct cmd_result r;
	long events;
	struct json_object *j = interrupt_recording("sigint", false, &events, &r);

	assert_true(!strncmp(live_str(j, "trace.end.stop_reason"), "signal", 6) ||
		    !strcmp(live_str(j, "trace.end.stop_reason"), "command exited"));
	assert_string_equal(live_str(j, "trace.status"), "complete");
	assert_true(live_int(j, "fires") > 0);
	printf("      SIGINT: %ld events kept, stop reason '%s', verdict %s\n", events,
	       live_str(j, "trace.end.stop_reason"), live_str(j, "verdict"));
	json_object_put(j);
	live_result_free(&r);
}

static void killed_recorder_leaves_a_readable_trace_that_cannot_pass(void **state)
{
	struct cmd_result r;
	long events;
	struct json_object *j = interrupt_recording("sigkill", true, &events, &r);

	assert_string_equal(live_str(j, "trace.status"), "truncated");
	assert_string_not_equal(live_str(j, "verdict"), "pass");
	assert_int_not_equal(r.status, 0);
	printf("      SIGKILL: %ld events readable, verdict %s\n", events, live_str(j, "verdict"));
	json_object_put(j);
	live_result_free(&r);
}

/*
 * The write hook has no exit program: an injection takes the write's tag
 * only while its task is still inside that write(fd). The workload (this
 * binary again, --tag-workload) writes its irqfd's eventfd and right after,
 * in the same thread and well inside the tag's 10 ms, sends a KVM_SIGNAL_MSI
 * on another vector: each injection must carry its own cause.
 */
#define TAG_ROUNDS 200
#define TAG_ADDR 0xfee00000u
#define TAG_VEC_WRITE 0x30u
#define TAG_VEC_SIGNAL 0x31u

static int tag_workload(void)
{
	struct cprv_msi_route route = { .gsi = 0, .address = TAG_ADDR, .data = TAG_VEC_WRITE };
	struct cprv_vm vm;
	char err[256];
	uint64_t one = 1;
	int efd;

	if (cprv_vm_create(&vm, err, sizeof(err)) ||
	    cprv_vm_set_routes(&vm, &route, 1, err, sizeof(err))) {
		fprintf(stderr, "tag workload: %s\n", err);
		return 6;
	}
	efd = eventfd(0, EFD_CLOEXEC);
	if (efd < 0 || cprv_vm_irqfd(&vm, efd, 0, false)) {
		fprintf(stderr, "tag workload: eventfd/KVM_IRQFD: %s\n", strerror(errno));
		return 6;
	}
	for (int i = 0; i < TAG_ROUNDS; i++) {
		if (write(efd, &one, sizeof(one)) != sizeof(one) ||
		    cprv_vm_signal_msi(&vm, TAG_ADDR, TAG_VEC_SIGNAL) < 0) {
			fprintf(stderr, "tag workload: round %d: %s\n", i, strerror(errno));
			return 6;
		}
	}
	close(efd);
	cprv_vm_close(&vm);
	return 0;
}

static void injections_after_a_write_keep_their_own_tag(void **state)
{
	char self[512], dir[512], trace[600];
	char *rec[] = { cprv, "record", "-q", "-o", trace, "--", self, "--tag-workload", NULL };
	char *dump[] = { cprv, "dump", trace, "--json", NULL };
	struct cmd_result r;
	long by_write = 0, by_signal = 0, other = 0;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	pid_t pid = 0;

	assert_true(n > 0);
	self[n] = 0;
	live_tmpdir(dir, sizeof(dir), "tags");
	snprintf(trace, sizeof(trace), "%s/trace.cprv", dir);
	assert_int_equal(live_run(rec, 300, &r), 0);
	if (r.status) {
		live_dump(&r);
		fail_msg("record: exit %d (its output above)", r.status);
	}
	live_result_free(&r);
	assert_int_equal(live_run(dump, 300, &r), 0);
	assert_int_equal(r.status, 0);
	/* the workload's pid: the one that sent KVM_SIGNAL_MSI (the canary's
	 * injections are the recorder's); dump prints in file order, where a
	 * run of MSIs comes when it is flushed, so it is found first */
	{
		char *at = strstr(r.out, "\"type\":\"kvm_signal_msi\"");
		char *p = at ? strstr(at, "\"pid\":") : NULL;

		assert_non_null(p);
		pid = (pid_t)strtol(p + 6, NULL, 10);
	}
	for (char *line = strtok(r.out, "\n"); line; line = strtok(NULL, "\n")) {
		struct json_object *e = json_tokener_parse(line), *v;
		const char *type, *tag, *data;

		if (!e)
			fail_msg("dump --json: not JSON: %.200s", line);
		type = json_object_object_get_ex(e, "type", &v) ? json_object_get_string(v) : "";
		if (!strcmp(type, "kvm_msi_set_irq") &&
		    json_object_object_get_ex(e, "pid", &v) && json_object_get_int(v) == pid) {
			tag = json_object_object_get_ex(e, "ctx_tag", &v) ? json_object_get_string(v) : "none";
			data = json_object_object_get_ex(e, "data", &v) ? json_object_get_string(v) : "";
			if (strtoul(data, NULL, 0) == TAG_VEC_WRITE && !strcmp(tag, "eventfd_write"))
				by_write++;
			else if (strtoul(data, NULL, 0) == TAG_VEC_SIGNAL && !strcmp(tag, "signal_msi"))
				by_signal++;
			else if (other++ < 5)
				fprintf(stderr, "      mistagged: %.300s\n", line);
		}
		json_object_put(e);
	}
	live_result_free(&r);
	printf("      %ld injections by write, %ld by KVM_SIGNAL_MSI, %ld mistagged\n", by_write,
	       by_signal, other);
	assert_int_equal(by_write, TAG_ROUNDS);
	assert_int_equal(by_signal, TAG_ROUNDS);
	assert_int_equal(other, 0);
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--tag-workload"))
		return tag_workload();

	const struct CMUnitTest tests[] = {
		cmocka_unit_test(probe_proves_the_kvm_path_live),
		cmocka_unit_test(probe_falls_back_to_classic_tracepoints),
		cmocka_unit_test(run_default_transfer_passes_exactly),
		cmocka_unit_test(run_exec_passes_exactly),
		cmocka_unit_test(run_new_eventfd_fault_loses_exactly_the_blackout),
		cmocka_unit_test(run_exec_new_eventfd_fault_loses_exactly_the_blackout),
		cmocka_unit_test(run_on_classic_tracepoints_only_passes_exactly),
		cmocka_unit_test(injections_after_a_write_keep_their_own_tag),
		cmocka_unit_test(sigint_while_recording_leaves_a_complete_trace),
		cmocka_unit_test(killed_recorder_leaves_a_readable_trace_that_cannot_pass),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}

/* cpr-verify drive-qemu (internal): the workload of a `qemu` scenario.
 * `run` records this process; it starts real QEMU with the project's guest,
 * live-updates it over QMP cycle after cycle (cpr-transfer: a new QEMU
 * takes the fds over a socket; cpr-exec: QEMU execs itself), checks the
 * guest's heartbeat after each, and writes what happened (lib/drive.h).
 * Its marks reach the trace through a uprobe on cprv_drive_mark(). */
#include <errno.h>
#include <ftw.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>

#include "cli.h"
#include "drive.h"
#include "qemu_proc.h"
#include "qmp.h"
#include "scenario.h"

/* The uprobe target: one call per mark, never inlined or merged. */
__attribute__((noinline, used)) void cprv_drive_mark(uint64_t what, uint64_t pid, uint64_t ts)
{
	__asm__ volatile("" : : "r"(what), "r"(pid), "r"(ts) : "memory");
}

struct drv {
	struct qemu_setup qs;
	struct cprv_drive out;
	struct qemu_proc cur, next;
	int timeout;
	bool quiet;
};

static volatile sig_atomic_t stop_sig;

static void on_stop(int sig)
{
	stop_sig = sig;
}

static void say(const struct drv *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const struct drv *d, const char *fmt, ...)
{
	va_list ap;

	if (d->quiet)
		return;
	fputs("cpr-verify: qemu: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void mark(unsigned kind, unsigned phase, unsigned cycle, unsigned flags, pid_t pid,
		 uint64_t ts)
{
	cprv_drive_mark(CPRV_DRIVE_WHAT(kind, phase, cycle, flags), (uint64_t)pid, ts);
}

static void msleep_interruptible(int ms)
{
	for (int t = 0; t < ms && !stop_sig; t += 10) {
		struct timespec ts = { 0, 10000000L };

		nanosleep(&ts, NULL);
	}
}

static struct json_object *unix_addr(const char *path)
{
	struct json_object *a = json_object_new_object();

	json_object_object_add(a, "transport", json_object_new_string("socket"));
	json_object_object_add(a, "type", json_object_new_string("unix"));
	json_object_object_add(a, "path", json_object_new_string(path));
	return a;
}

static struct json_object *channel(const char *type, struct json_object *addr)
{
	struct json_object *c = json_object_new_object();

	json_object_object_add(c, "channel-type", json_object_new_string(type));
	json_object_object_add(c, "addr", addr);
	return c;
}

/* migrate-set-parameters, then migrate with channels (consumed). */
static int start_migration(struct drv *d, struct json_object *params, struct json_object *chans,
			   char *why, size_t len)
{
	struct qemu_proc *o = &d->cur;
	struct json_object *args = json_object_new_object();
	char err[512];
	int rc;

	/* MIGRATION status events are sent only with this capability */
	{
		struct json_object *caps = json_object_new_object(), *arr = json_object_new_array();
		struct json_object *ev = json_object_new_object();

		json_object_object_add(ev, "capability", json_object_new_string("events"));
		json_object_object_add(ev, "state", json_object_new_boolean(1));
		json_object_array_add(arr, ev);
		json_object_object_add(caps, "capabilities", arr);
		cprv_qmp_cmd(o->qmp, "migrate-set-capabilities", caps, d->timeout, NULL, err,
			     sizeof(err));
		json_object_put(caps);
	}
	rc = cprv_qmp_cmd(o->qmp, "migrate-set-parameters", params, d->timeout, NULL, err,
			  sizeof(err));
	json_object_put(params);
	if (rc) {
		snprintf(why, len, "QEMU %s refused the CPR mode (migrate-set-parameters): %s",
			 d->out.qemu_version, err);
		json_object_put(chans);
		json_object_put(args);
		return -1;
	}
	json_object_object_add(args, "channels", chans);
	rc = cprv_qmp_cmd(o->qmp, "migrate", args, d->timeout, NULL, err, sizeof(err));
	json_object_put(args);
	if (rc) {
		snprintf(why, len, "QEMU %s refused to migrate: %s", d->out.qemu_version, err);
		return -1;
	}
	return 0;
}

static const char *mig_status(const struct cprv_qmp_event *ev)
{
	struct json_object *st;

	if (strcmp(ev->name, "MIGRATION") || !ev->data ||
	    !json_object_object_get_ex(ev->data, "status", &st))
		return NULL;
	return json_object_get_string(st);
}

/* query-migrate's status ("active", "completed", ...) and, if it failed,
 * QEMU's words for why (desc, may be NULL); the rc of the call. */
static int migrate_status_desc(struct qemu_proc *o, int timeout_ms, char *st, size_t len,
			       char *desc, size_t dlen)
{
	struct json_object *ret = NULL, *v;
	char err[256];
	int rc = cprv_qmp_cmd(o->qmp, "query-migrate", NULL, timeout_ms, &ret, err, sizeof(err));

	if (!rc && json_object_object_get_ex(ret, "status", &v))
		snprintf(st, len, "%s", json_object_get_string(v));
	if (!rc && desc && json_object_object_get_ex(ret, "error-desc", &v))
		snprintf(desc, dlen, "%s", json_object_get_string(v));
	json_object_put(ret);
	return rc;
}

static int migrate_status(struct qemu_proc *o, int timeout_ms, char *st, size_t len)
{
	return migrate_status_desc(o, timeout_ms, st, len, NULL, 0);
}

/* "the migration failed: <QEMU's error-desc>" */
static void migration_failed(struct qemu_proc *o, int timeout_ms, const char *st, char *why,
			     size_t len)
{
	char st2[32] = "", desc[300] = "";

	migrate_status_desc(o, timeout_ms, st2, sizeof(st2), desc, sizeof(desc));
	if (desc[0])
		snprintf(why, len, "the migration %s: %s", st, desc);
	else
		snprintf(why, len, "the migration %s", st);
}

/* The old QEMU's side of the migration until it completes, fails, or (exec)
 * its QMP socket closes as it execs. Marks setup and stop as they come. */
static int wait_migration(struct drv *d, struct cprv_drive_cycle *cy, bool exec_mode,
			  bool *closed, char *why, size_t len)
{
	uint64_t until = qemu_now_ns() + (uint64_t)d->timeout * 1000000ull;
	struct qemu_proc *o = &d->cur;
	char err[512];

	*closed = false;
	while (qemu_now_ns() < until && !stop_sig) {
		struct cprv_qmp_event ev;
		const char *st;
		int rc = cprv_qmp_next_event(o->qmp, 100, &ev, err, sizeof(err));

		if (rc == CPRV_QMP_ERR_TIMEOUT) {
			/* events can be missed (capability refused): ask */
			char st2[32] = "";

			if (migrate_status(o, d->timeout, st2, sizeof(st2)) == CPRV_QMP_ERR_CLOSED &&
			    exec_mode && qemu_alive(o)) {
				*closed = true;
				return 0;
			}
			if (!strcmp(st2, "completed"))
				return 0;
			if (!strcmp(st2, "failed") || !strcmp(st2, "cancelled")) {
				migration_failed(o, d->timeout, st2, why, len);
				return -1;
			}
			continue;
		}
		if (rc == CPRV_QMP_ERR_CLOSED) {
			*closed = true;
			if (exec_mode && qemu_alive(o))
				return 0; /* the exec closed the socket; the new image comes up */
			snprintf(why, len, "the old QEMU (pid %d) closed QMP mid-migration", (int)o->pid);
			return -1;
		}
		if (rc) {
			snprintf(why, len, "waiting for the migration: %s", err);
			return -1;
		}
		st = mig_status(&ev);
		if (!strcmp(ev.name, "STOP")) {
			cy->stop_ns = ev.mono_ns;
			mark(CPRV_MARK_PHASE, CPRV_PHASE_OLD_STOPPED, cy->cycle, 0, o->pid, ev.mono_ns);
		} else if (st && !strcmp(st, "setup")) {
			mark(CPRV_MARK_PHASE, CPRV_PHASE_SETUP, cy->cycle, 0, o->pid, ev.mono_ns);
		} else if (st && !strcmp(st, "completed")) {
			cprv_qmp_event_free(&ev);
			return 0;
		} else if (st && (!strcmp(st, "failed") || !strcmp(st, "cancelled"))) {
			migration_failed(o, d->timeout, st, why, len);
			cprv_qmp_event_free(&ev);
			return -1;
		}
		cprv_qmp_event_free(&ev);
	}
	snprintf(why, len, stop_sig ? "interrupted" : "the migration did not complete within %d ms",
		 d->timeout);
	return -1;
}

/* Waits for a file (QEMU's listening socket) to appear while pid lives. */
static int wait_path(struct qemu_proc *qp, const char *path, int timeout_ms, char *why,
		     size_t len)
{
	uint64_t until = qemu_now_ns() + (uint64_t)timeout_ms * 1000000ull;
	char how[32];

	while (access(path, F_OK)) {
		if (!qemu_alive(qp)) {
			snprintf(why, len, "the new QEMU (pid %d) ended before listening on %s (%s)",
				 (int)qp->pid, path, qemu_how(qp, how, sizeof(how)));
			return -1;
		}
		if (qemu_now_ns() > until || stop_sig) {
			snprintf(why, len, "the new QEMU did not listen on %s within %d ms", path,
				 timeout_ms);
			return -1;
		}
		msleep_interruptible(5);
	}
	return 0;
}

static void fault_kill(struct drv *d, struct qemu_proc *victim, unsigned cycle)
{
	if (d->qs.s->qemu.kill_new_cycle != cycle || !victim->pid)
		return;
	say(d, "fault: killing the incoming QEMU (pid %d) mid-cycle", (int)victim->pid);
	kill(victim->pid, SIGKILL);
}

static int cycle_transfer(struct drv *d, struct cprv_drive_cycle *cy, char *why, size_t len)
{
	char mainp[512], cprp[512];
	struct json_object *params = json_object_new_object(), *chans = json_object_new_array();
	bool closed;

	if (qemu_start(&d->next, &d->qs, d->cur.gen + 1, QEMU_IN_TRANSFER, why, len))
		return -1;
	cy->new_pid = d->next.pid;
	qemu_path(&d->qs, "main", d->next.gen, mainp, sizeof(mainp));
	qemu_path(&d->qs, "cpr", d->next.gen, cprp, sizeof(cprp));
	if (wait_path(&d->next, cprp, d->timeout, why, len)) {
		json_object_put(params);
		json_object_put(chans);
		return -1;
	}
	json_object_object_add(params, "mode", json_object_new_string("cpr-transfer"));
	json_object_array_add(chans, channel("main", unix_addr(mainp)));
	json_object_array_add(chans, channel("cpr", unix_addr(cprp)));
	if (start_migration(d, params, chans, why, len))
		return -1;
	fault_kill(d, &d->next, cy->cycle);
	return wait_migration(d, cy, false, &closed, why, len);
}

static int cycle_exec(struct drv *d, struct cprv_drive_cycle *cy, char *why, size_t len)
{
	char **argv = qemu_argv(&d->qs, d->cur.gen + 1, QEMU_IN_EXEC), state[512];
	struct json_object *params = json_object_new_object(), *cmd = json_object_new_array();
	struct json_object *chans = json_object_new_array(), *addr = json_object_new_object();
	bool closed;

	for (int i = 0; argv && argv[i]; i++)
		json_object_array_add(cmd, json_object_new_string(argv[i]));
	qemu_argv_free(argv);
	qemu_path(&d->qs, "state", d->cur.gen + 1, state, sizeof(state));
	unlink(state);
	{
		char q[512];

		qemu_path(&d->qs, "qmp", d->cur.gen + 1, q, sizeof(q));
		unlink(q);
	}
	json_object_object_add(params, "mode", json_object_new_string("cpr-exec"));
	json_object_object_add(params, "cpr-exec-command", cmd);
	json_object_object_add(addr, "transport", json_object_new_string("file"));
	json_object_object_add(addr, "filename", json_object_new_string(state));
	json_object_object_add(addr, "offset", json_object_new_int(0));
	json_object_array_add(chans, channel("main", addr));
	if (start_migration(d, params, chans, why, len))
		return -1;
	if (wait_migration(d, cy, true, &closed, why, len))
		return -1;
	/* the same process, a new image with its own QMP socket */
	d->next = d->cur;
	d->next.qmp = NULL;
	d->next.gen = d->cur.gen + 1;
	qemu_path(&d->qs, "qmp", d->next.gen, d->next.qmp_path, sizeof(d->next.qmp_path));
	cprv_qmp_close(d->cur.qmp);
	d->cur.qmp = NULL;
	d->cur.pid = 0; /* now owned by next */
	cy->new_pid = d->next.pid;
	fault_kill(d, &d->next, cy->cycle);
	return 0;
}

/* What became of the old QEMU after a failed cycle. */
static void old_fate(struct drv *d, struct cprv_drive_cycle *cy)
{
	char st[64], err[256], how[32];

	if (!d->cur.pid || !qemu_alive(&d->cur)) {
		snprintf(cy->old_qemu, sizeof(cy->old_qemu), "lost (%s)",
			 d->cur.pid ? qemu_how(&d->cur, how, sizeof(how)) : "gone");
		return;
	}
	if (!d->cur.qmp || qemu_status(&d->cur, d->timeout, st, sizeof(st), err, sizeof(err))) {
		snprintf(cy->old_qemu, sizeof(cy->old_qemu), "alive, QMP unusable");
		return;
	}
	snprintf(cy->old_qemu, sizeof(cy->old_qemu), "%s", st);
}

static int one_cycle(struct drv *d, unsigned c)
{
	struct cprv_drive_cycle *cy = &d->out.cycles[d->out.n_cycles++];
	bool exec_mode = d->qs.s->mode == CPRV_MODE_EXEC;
	char why[512] = "", err[512];
	int rc;

	memset(cy, 0, sizeof(*cy));
	cy->cycle = c;
	cy->old_pid = d->cur.pid;
	if (qemu_heartbeat(&d->cur, d->timeout, &cy->hb_before, err, sizeof(err)))
		snprintf(why, sizeof(why), "reading the heartbeat before the cycle: %s", err);
	cy->begin_ns = qemu_now_ns();
	mark(CPRV_MARK_CPR_BEGIN, 0, c, 0, d->cur.pid, cy->begin_ns);
	say(d, "cycle %u: %s from pid %d (heartbeat %" PRIu64 ")", c,
	    exec_mode ? "cpr-exec" : "cpr-transfer", (int)d->cur.pid, cy->hb_before);
	rc = why[0] ? -1 : exec_mode ? cycle_exec(d, cy, why, sizeof(why)) :
		cycle_transfer(d, cy, why, sizeof(why));
	if (!rc && qemu_connect(&d->next, &d->qs, d->timeout, err, sizeof(err))) {
		snprintf(why, sizeof(why), "the new QEMU's QMP: %s", err);
		rc = -1;
	}
	if (!rc && qemu_wait_running(&d->next, d->timeout, err, sizeof(err))) {
		snprintf(why, sizeof(why), "the new QEMU never ran the guest: %s", err);
		rc = -1;
	}
	if (!rc) {
		cy->running_ns = qemu_now_ns();
		mark(CPRV_MARK_PHASE, CPRV_PHASE_RUNNING, c, 0, d->next.pid, cy->running_ns);
		if (qemu_heartbeat_above(&d->next, cy->hb_before, d->timeout, &cy->hb_after, err,
					 sizeof(err))) {
			snprintf(why, sizeof(why), "after the update: %s", err);
			rc = -1;
		}
	}
	if (rc) {
		char how[32];

		if (d->qs.s->qemu.kill_new_cycle == c && d->next.pid && !d->next.exited &&
		    waitpid(d->next.pid, &d->next.status, 0) == d->next.pid)
			d->next.exited = true; /* we killed it: reap it before saying how it ended */
		if (d->next.pid && !qemu_alive(&d->next) && !strstr(why, "ended")) {
			char last[300];

			snprintf(why + strlen(why), sizeof(why) - strlen(why),
				 "; the new QEMU (pid %d) ended: %s", (int)d->next.pid,
				 qemu_how(&d->next, how, sizeof(how)));
			if (!qemu_last_words(&d->qs, d->next.gen, last, sizeof(last)))
				snprintf(why + strlen(why), sizeof(why) - strlen(why),
					 "; it said: %s", last);
		}
		snprintf(cy->why, sizeof(cy->why), "%s", why);
		if (exec_mode) {
			d->cur = d->next.pid ? d->next : d->cur;
			d->next.pid = 0;
		}
		old_fate(d, cy);
	} else if (exec_mode) {
		d->cur = d->next;
		memset(&d->next, 0, sizeof(d->next));
		snprintf(cy->old_qemu, sizeof(cy->old_qemu), "exec'd");
	} else {
		char e2[256];

		cprv_qmp_cmd(d->cur.qmp, "quit", NULL, d->timeout, NULL, e2, sizeof(e2));
		qemu_end(&d->cur, d->timeout);
		snprintf(cy->old_qemu, sizeof(cy->old_qemu), "quit");
		d->cur = d->next;
		memset(&d->next, 0, sizeof(d->next));
	}
	cy->ok = !rc;
	cy->end_ns = qemu_now_ns();
	mark(CPRV_MARK_CPR_END, 0, c, rc ? CPRV_DRIVE_F_FAILED : 0, d->cur.pid, cy->end_ns);
	if (rc)
		say(d, "cycle %u FAILED: %s; old QEMU: %s", c, cy->why, cy->old_qemu);
	else
		say(d, "cycle %u: new QEMU pid %d runs, heartbeat %" PRIu64 " -> %" PRIu64
		    ", stop->running %.1f ms", c, (int)d->cur.pid, cy->hb_before, cy->hb_after,
		    cy->stop_ns ? (cy->running_ns - cy->stop_ns) / 1e6 : 0.0);
	return rc;
}

static int boot(struct drv *d)
{
	char err[512];
	int maj, min, mic;

	if (qemu_start(&d->cur, &d->qs, 0, QEMU_IN_NONE, err, sizeof(err)) ||
	    qemu_connect(&d->cur, &d->qs, d->timeout, err, sizeof(err))) {
		snprintf(d->out.error, sizeof(d->out.error), "starting QEMU: %s", err);
		return -1;
	}
	cprv_qmp_version(d->cur.qmp, &maj, &min, &mic);
	snprintf(d->out.qemu_version, sizeof(d->out.qemu_version), "%d.%d.%d", maj, min, mic);
	say(d, "QEMU %s pid %d started; waiting for the guest's heartbeat", d->out.qemu_version,
	    (int)d->cur.pid);
	if (qemu_wait_running(&d->cur, d->timeout, err, sizeof(err)) ||
	    qemu_heartbeat_above(&d->cur, 0, d->timeout, &d->out.heartbeat_start, err, sizeof(err))) {
		snprintf(d->out.error, sizeof(d->out.error), "the guest did not come up: %s", err);
		return -1;
	}
	return 0;
}

static void shutdown_all(struct drv *d)
{
	char e[256];

	if (d->next.pid)
		qemu_end(&d->next, 0);
	if (d->cur.pid && qemu_alive(&d->cur)) {
		if (d->cur.qmp)
			cprv_qmp_cmd(d->cur.qmp, "quit", NULL, 2000, NULL, e, sizeof(e));
		qemu_end(&d->cur, 3000);
	} else if (d->cur.qmp) {
		cprv_qmp_close(d->cur.qmp);
		d->cur.qmp = NULL;
	}
}

/* The guest's own MSI counts with the VM stopped: nothing is raised after
 * the read, so the trace and the guest can be held to each other. */
static void final_counts(struct drv *d)
{
	struct guest_counts gc;
	char err[512];

	if (cprv_qmp_cmd(d->cur.qmp, "stop", NULL, d->timeout, NULL, err, sizeof(err)) ||
	    qemu_guest_counts(&d->cur, d->timeout, &gc, err, sizeof(err))) {
		snprintf(d->out.error, sizeof(d->out.error), "reading the guest's MSI counts: %s", err);
		return;
	}
	d->out.has_guest_counts = true;
	d->out.guest_raised = gc.raised;
	d->out.guest_received = gc.received;
	d->out.guest_lost = gc.lost;
	d->out.guest_spurious = gc.spurious;
	d->out.guest_throttled = gc.throttled;
	say(d, "the guest's own count: %" PRIu64 " MSIs raised, %" PRIu64 " received, %" PRIu64
	    " lost, %" PRIu64 " spurious", gc.raised, gc.received, gc.lost, gc.spurious);
}

static int drive(struct drv *d)
{
	const struct cprv_scenario *s = d->qs.s;
	char err[512];

	if (boot(d))
		return -1;
	msleep_interruptible(s->qemu.run_ms);
	for (unsigned c = 1; c <= s->cycles && !stop_sig; c++) {
		if (one_cycle(d, c))
			return 0; /* a failed cycle is a verdict, not a tool error */
		msleep_interruptible(s->qemu.run_ms);
	}
	if (stop_sig) {
		snprintf(d->out.error, sizeof(d->out.error), "interrupted by signal %d", (int)stop_sig);
		return -1;
	}
	if (qemu_heartbeat(&d->cur, d->timeout, &d->out.heartbeat_end, err, sizeof(err)))
		snprintf(d->out.error, sizeof(d->out.error), "reading the final heartbeat: %s", err);
	else if (d->out.device)
		final_counts(d);
	return 0;
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	return remove(p);
}

static const char help[] =
"usage: cpr-verify drive-qemu --scenario FILE --qemu QEMU --guest ELF --dir DIR\n"
"                             --result FILE [--mode transfer|exec] [--aux-ram-share]\n"
"                             [--vfio BDF]\n"
"\n"
"Internal: the workload `cpr-verify run` records for a qemu scenario.\n"
"Starts QEMU with the guest, performs the scenario's CPR cycles over QMP,\n"
"checks the guest heartbeat after each, and writes the outcome to --result.\n"
"exit: 0 outcome written (the verdict comes from it), 4 bad scenario,\n"
"6 the driver could not do its job (outcome written when possible).\n";

int cmd_drive(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "scenario", required_argument, NULL, 's' }, { "qemu", required_argument, NULL, 'q' },
		{ "guest", required_argument, NULL, 'g' },    { "dir", required_argument, NULL, 'd' },
		{ "result", required_argument, NULL, 'r' },   { "mode", required_argument, NULL, 'm' },
		{ "aux-ram-share", no_argument, NULL, 'a' },  { "help", no_argument, NULL, 'h' },
		{ "vfio", required_argument, NULL, 'V' },
		{ 0 } };
	const char *scn = NULL, *result = NULL, *mode = NULL;
	struct cprv_scenario s;
	struct drv d = { 0 };
	char err[512], run_dir[64];
	int o, rc;

	optind = 1;
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 's': scn = optarg; break;
		case 'q': d.qs.wrapper = optarg; break;
		case 'g': d.qs.guest = optarg; break;
		case 'd': d.qs.dir = optarg; break;
		case 'r': result = optarg; break;
		case 'm': mode = optarg; break;
		case 'a': d.qs.aux_ram_share = true; break;
		case 'V': d.qs.vfio_bdf = optarg; break;
		case 'h': fputs(help, stdout); return CPRV_EXIT_PASS;
		default: fputs(help, stderr); return CPRV_EXIT_USAGE;
		}
	}
	if (!scn || !d.qs.wrapper || !d.qs.guest || !d.qs.dir || !result) {
		fputs(help, stderr);
		return CPRV_EXIT_USAGE;
	}
	if (cprv_scenario_load(scn, &s, err, sizeof(err))) {
		cli_err(c, "%s", err);
		return CPRV_EXIT_INPUT;
	}
	if (mode && cprv_mode_parse(mode) >= 0)
		s.mode = cprv_mode_parse(mode);
	d.qs.s = &s;
	d.timeout = (int)s.qemu.timeout_ms;
	d.quiet = c->json;
	snprintf(d.out.qemu, sizeof(d.out.qemu), "%s", d.qs.wrapper);
	snprintf(d.out.mode, sizeof(d.out.mode), "%s", cprv_mode_name(s.mode));
	d.out.cycles_planned = s.cycles;
	d.out.device = d.qs.vfio_bdf || strstr(s.qemu.guest_args, "edu");
	signal(SIGINT, on_stop);
	signal(SIGTERM, on_stop);
	signal(SIGPIPE, SIG_IGN);
	snprintf(run_dir, sizeof(run_dir), "/run/cprv-qemu-XXXXXX");
	if (!mkdtemp(run_dir)) {
		snprintf(run_dir, sizeof(run_dir), "/tmp/cprv-qemu-XXXXXX");
		if (!mkdtemp(run_dir)) {
			cli_err(c, "mkdtemp: %s", strerror(errno));
			return CPRV_EXIT_TOOL;
		}
	}
	d.qs.run_dir = run_dir;
	rc = drive(&d);
	shutdown_all(&d);
	nftw(run_dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	if (cprv_drive_save(result, &d.out, err, sizeof(err))) {
		cli_err(c, "%s", err);
		return CPRV_EXIT_TOOL;
	}
	if (rc)
		cli_err(c, "%s", d.out.error);
	return rc ? CPRV_EXIT_TOOL : CPRV_EXIT_PASS;
}

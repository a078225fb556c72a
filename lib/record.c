/* Recording loop. The ring buffer is read in batches (the BPF side wakes
 * us only when a batch is waiting, we also poll on a short timer), events
 * go to the trace writer, which compresses whole chunks as it goes. The
 * trace is flushed every second, so a crash loses at most that. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include <json-c/json.h>
#include "plan.h"
#include "probes.h"
#include "record.h"
#include "trace.h"
#include "run.h"

#define BATCH 1024

struct rec {
	struct cprv_trace_writer *w;
	struct cprv_event batch[BATCH];
	size_t n;
	uint64_t events;
	int err;
};

uint64_t cprv_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static int flush_batch(struct rec *r)
{
	if (r->n && !r->err) {
		int rc = cprv_trace_write_events(r->w, r->batch, r->n);

		if (rc)
			r->err = rc;
	}
	r->events += r->err ? 0 : r->n;
	r->n = 0;
	return r->err;
}

/* A run, whole and compact: after the events that came before it. */
static int on_run(void *arg, const uint8_t *enc, size_t len)
{
	struct rec *r = arg;
	uint64_t n = cprv_run_encoded_events(enc);

	if (flush_batch(r))
		return 0;
	if (!r->err) {
		int rc = cprv_trace_write_run(r->w, enc, len);

		if (rc)
			r->err = rc;
		else
			r->events += n;
	}
	return 0;
}

static int on_event(void *arg, const struct cprv_event *ev)
{
	struct rec *r = arg;

	r->batch[r->n++] = *ev;
	if (r->n == BATCH)
		flush_batch(r);
	return 0;
}

/* The command waits on a pipe until its pid is in the traced set, so its
 * very first eventfd and KVM calls are recorded. */
static pid_t start_command(struct cprv_probes *p, char *const *argv, char *err, size_t errlen)
{
	int go[2], status[2];
	pid_t pid;
	char c;
	int child_errno = 0;

	if (pipe2(go, O_CLOEXEC) || pipe2(status, O_CLOEXEC)) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		close(go[1]);
		close(status[0]);
		if (read(go[0], &c, 1) != 1)
			_exit(127);
		execvp(argv[0], argv);
		child_errno = errno;
		if (write(status[1], &child_errno, sizeof(child_errno)) < 0)
			_exit(127);
		_exit(127);
	}
	close(go[0]);
	close(status[1]);
	cprv_probes_track(p, pid);
	if (write(go[1], "g", 1) != 1) {
		snprintf(err, errlen, "starting %s: %s", argv[0], strerror(errno));
		close(go[1]);
		close(status[0]);
		return -1;
	}
	close(go[1]);
	/* exec succeeded iff the CLOEXEC pipe closes without a word */
	if (read(status[0], &child_errno, sizeof(child_errno)) == sizeof(child_errno)) {
		snprintf(err, errlen, "cannot run %s: %s", argv[0], strerror(child_errno));
		close(status[0]);
		waitpid(pid, NULL, 0);
		return -1;
	}
	close(status[0]);
	return pid;
}

static bool any_alive(const pid_t *pids, int n)
{
	for (int i = 0; i < n; i++)
		if (kill(pids[i], 0) == 0 || errno == EPERM)
			return true;
	return false;
}

static char *end_json(const struct cprv_record_result *res)
{
	struct json_object *o = json_object_new_object(), *hits = json_object_new_object();
	char *s;

	json_object_object_add(o, "stop_reason", json_object_new_string(res->stop_reason));
	json_object_object_add(o, "events", json_object_new_int64(res->events));
	json_object_object_add(o, "drops", json_object_new_int64(res->drops));
	json_object_object_add(o, "duration_ns", json_object_new_int64(res->duration_ns));
	for (int h = 0; h < CPRV_HOOK_MAX; h++)
		json_object_object_add(hits, cprv_hook_name(h), json_object_new_int64(res->hits[h]));
	json_object_object_add(o, "hits", hits);
	if (res->child_exited)
		json_object_object_add(o, "command_exit",
				       json_object_new_int(WIFEXITED(res->child_status) ?
							   WEXITSTATUS(res->child_status) :
							   128 + WTERMSIG(res->child_status)));
	s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return s;
}

static void progress(const struct rec *r, const struct cprv_trace_writer *w, uint64_t t0,
		     uint64_t drops, uint64_t *last_events, uint64_t *last_ns)
{
	struct cprv_trace_wstats st;
	uint64_t now = cprv_now_ns();
	double dt = (now - *last_ns) / 1e9;

	cprv_trace_writer_stats(w, &st);
	fprintf(stderr, "cpr-verify: recording %.1fs: %llu events (%.0f/s), %llu dropped, %.1f KiB\n",
		(now - t0) / 1e9, (unsigned long long)r->events,
		dt > 0 ? (r->events - *last_events) / dt : 0.0, (unsigned long long)drops,
		st.bytes / 1024.0);
	*last_events = r->events;
	*last_ns = now;
}

int cprv_record(struct cprv_probes *p, const struct cprv_record_opts *o,
		struct cprv_record_result *res, char *err, size_t errlen)
{
	struct rec *r = calloc(1, sizeof(*r));
	uint64_t t0, last_flush, last_events = 0, last_ns;
	int drain_ms = o->drain_ms ? o->drain_ms : 200;
	pid_t child = -1;
	char *endj;
	int rc = 0;

	memset(res, 0, sizeof(*res));
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* Level 1, the writer's default: with runs, deflate is most of the
	 * recorder's CPU, and level 3 costs a third more of it for 7-12% fewer
	 * bytes (paced 100 k MSI/s: 2.3% vs 1.5% of a core, 1.03 vs 1.11
	 * bytes/event; rig-default 2.66 vs 3.03; make bench, 2026-12-07). */
	const struct cprv_trace_opts topts = { .zlevel = 0 };

	r->w = cprv_trace_writer_open(o->path, o->meta_json, &topts, err, errlen);
	if (!r->w) {
		free(r);
		return -1;
	}
	cprv_probes_run_sink(p, on_run, r);
	for (int i = 0; i < o->npids; i++)
		cprv_probes_track(p, o->pids[i]);
	t0 = last_flush = last_ns = cprv_now_ns();
	if (o->argv) {
		child = start_command(p, o->argv, err, errlen);
		if (child < 0) {
			cprv_probes_run_sink(p, NULL, NULL);
			cprv_trace_writer_abandon(r->w);
			free(r);
			return -1;
		}
	}

	for (;;) {
		int n = cprv_probes_poll(p, 50, on_event, r);
		uint64_t now = cprv_now_ns();

		flush_batch(r);
		if (n < 0 && n != -EINTR) {
			snprintf(err, errlen, "reading the ring buffer: %s", strerror(-n));
			rc = -1;
			snprintf(res->stop_reason, sizeof(res->stop_reason), "ring buffer error");
			break;
		}
		if (r->err) {
			snprintf(err, errlen, "writing %s: %s", o->path, cprv_trace_writer_error(r->w));
			rc = -1;
			snprintf(res->stop_reason, sizeof(res->stop_reason), "write error");
			break;
		}
		if (o->stop && *o->stop) {
			snprintf(res->stop_reason, sizeof(res->stop_reason), "signal %d", (int)*o->stop);
			break;
		}
		if (child > 0 && waitpid(child, &res->child_status, WNOHANG) == child) {
			res->child_exited = true;
			snprintf(res->stop_reason, sizeof(res->stop_reason), "command exited");
			break;
		}
		if (child < 0 && !any_alive(o->pids, o->npids) && cprv_probes_tracked_alive(p) == 0) {
			/* the recorded processes may have handed over to others
			 * (cpr-transfer): stop only when those are gone too */
			snprintf(res->stop_reason, sizeof(res->stop_reason), "processes gone");
			break;
		}
		if (now - last_flush >= 1000000000ull) {
			uint64_t st[CPRV_STAT_MAX];

			cprv_trace_flush(r->w);
			cprv_probes_stats(p, st);
			if (o->progress)
				progress(r, r->w, t0, st[CPRV_STAT_DROPS], &last_events, &last_ns);
			last_flush = now;
		}
	}
	/* late events: workqueue replays, exits of the last processes */
	for (uint64_t until = cprv_now_ns() + drain_ms * 1000000ull; cprv_now_ns() < until && !r->err;) {
		cprv_probes_poll(p, 20, on_event, r);
		flush_batch(r);
	}
	cprv_probes_drain(p, on_event, r);
	flush_batch(r);
	if (child > 0 && !res->child_exited) {
		/* stopped by a signal: the command got it from the terminal too;
		 * reap it if it is gone, never leave it behind silently */
		if (waitpid(child, &res->child_status, WNOHANG) == child)
			res->child_exited = true;
	}

	cprv_probes_stats(p, res->hits);
	/* a ring buffer record that was no event and no run is a record lost */
	res->drops = res->hits[CPRV_STAT_DROPS] + cprv_probes_bad_runs(p);
	res->events = r->events;
	res->duration_ns = cprv_now_ns() - t0;
	endj = end_json(res);
	if (cprv_trace_writer_close(r->w, endj) && !rc) {
		snprintf(err, errlen, "closing %s: %s", o->path, strerror(errno));
		rc = -1;
	}
	free(endj);
	{
		FILE *f = fopen(o->path, "r");

		if (f) {
			fseek(f, 0, SEEK_END);
			res->bytes = ftell(f);
			fclose(f);
		}
	}
	cprv_probes_run_sink(p, NULL, NULL);
	free(r);
	return rc;
}

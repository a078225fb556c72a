/* Running real commands for the live tests. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <cmocka.h>
#include "liveutil.h"

/* The build dir this test binary belongs to (<build>/tests/live_*), so a
 * sanitizer build tests its own sanitized tools; $CPRV_BUILD overrides. */
const char *live_build(void)
{
	static char dir[PATH_MAX];
	const char *b = getenv("CPRV_BUILD");
	char exe[PATH_MAX];
	ssize_t n;

	if (b && *b)
		return b;
	if (!dir[0]) {
		n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		if (n <= 0)
			fail_msg("readlink /proc/self/exe: %s", strerror(errno));
		exe[n] = 0;
		snprintf(dir, sizeof(dir), "%s", dirname(dirname(exe)));
	}
	return dir;
}

void live_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", live_build(), name);
}

struct sink {
	char *buf;
	size_t len, cap;
};

static void sink_read(struct sink *s, int fd, bool *open)
{
	char tmp[65536];
	ssize_t n = read(fd, tmp, sizeof(tmp));

	if (n <= 0) {
		*open = false;
		return;
	}
	if (s->len + n + 1 > s->cap) {
		s->cap = (s->len + n + 1) * 2;
		s->buf = realloc(s->buf, s->cap);
	}
	memcpy(s->buf + s->len, tmp, n);
	s->len += n;
	s->buf[s->len] = 0;
}

int live_run(char *const argv[], int timeout_s, struct cmd_result *r)
{
	int out[2], err[2], st;
	struct sink so = { 0 }, se = { 0 };
	bool oo = true, eo = true;
	time_t deadline = time(NULL) + timeout_s;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	if (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(out[1], 1);
		dup2(err[1], 2);
		execv(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	while (oo || eo) {
		struct pollfd p[2] = { { oo ? out[0] : -1, POLLIN, 0 }, { eo ? err[0] : -1, POLLIN, 0 } };

		if (time(NULL) > deadline) {
			fprintf(stderr, "live: %s timed out after %d s, killing it\n", argv[0], timeout_s);
			kill(pid, SIGKILL);
			break;
		}
		if (poll(p, 2, 1000) < 0 && errno != EINTR)
			break;
		if (p[0].revents)
			sink_read(&so, out[0], &oo);
		if (p[1].revents)
			sink_read(&se, err[0], &eo);
	}
	close(out[0]);
	close(err[0]);
	waitpid(pid, &st, 0);
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	r->out = so.buf ? so.buf : strdup("");
	r->err = se.buf ? se.buf : strdup("");
	return 0;
}

void live_result_free(struct cmd_result *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}

void live_dump(const struct cmd_result *r)
{
	fprintf(stderr, "--- stdout:\n%s\n--- stderr:\n%s\n--- end\n", r->out ? r->out : "",
		r->err ? r->err : "");
}

struct json_object *live_json(const struct cmd_result *r)
{
	struct json_object *j = json_tokener_parse(r->out);

	if (!j) {
		live_dump(r);
		fail_msg("output is not JSON (exit %d)", r->status);
	}
	return j;
}

struct json_object *live_get(struct json_object *o, const char *dotted)
{
	char buf[256], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", dotted);
	for (char *k = strtok_r(buf, ".", &save); k && o; k = strtok_r(NULL, ".", &save)) {
		struct json_object *next = NULL;

		if (!json_object_object_get_ex(o, k, &next))
			fail_msg("JSON has no '%s' (looking for %s)", k, dotted);
		o = next;
	}
	return o;
}

int64_t live_int(struct json_object *o, const char *dotted)
{
	return json_object_get_int64(live_get(o, dotted));
}

const char *live_str(struct json_object *o, const char *dotted)
{
	return json_object_get_string(live_get(o, dotted));
}

void live_tmpdir(char *buf, size_t len, const char *tag)
{
	char base[256];

	snprintf(base, sizeof(base), "%s/live-tmp", live_build());
	mkdir(base, 0755);
	snprintf(buf, len, "%s/%s-XXXXXX", base, tag);
	if (!mkdtemp(buf))
		fail_msg("mkdtemp %s: %s", buf, strerror(errno));
}

/* QEMU processes of the `qemu` scenario kind (see qemu_proc.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include <json-c/json.h>

#include "qemu_proc.h"
#include "qmp.h"
#include "../guest/guest_abi.h"

uint64_t qemu_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void msleep(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

void qemu_path(const struct qemu_setup *qs, const char *what, int gen, char *buf, size_t len)
{
	bool log = !strcmp(what, "serial") || !strcmp(what, "qemu");

	snprintf(buf, len, "%s/%s-%d%s", log ? qs->dir : qs->run_dir, what, gen,
		 !strcmp(what, "serial") || !strcmp(what, "qemu") ? ".log" :
		 !strcmp(what, "state") ? ".bin" : ".sock");
}

struct argv_b {
	char **v;
	int n, cap;
};

__attribute__((format(printf, 2, 3)))
static void add(struct argv_b *b, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	if (b->n + 2 > b->cap) {
		int cap = b->cap ? b->cap * 2 : 64;
		char **nv = realloc(b->v, cap * sizeof(*nv));

		if (!nv)
			return;
		b->v = nv;
		b->cap = cap;
	}
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (s)
		b->v[b->n++] = s;
	b->v[b->n] = NULL;
}

char **qemu_argv(const struct qemu_setup *qs, int gen, enum qemu_incoming in)
{
	const struct cprv_qemu_scn *q = &qs->s->qemu;
	const char *accel = getenv("CPRV_QEMU_ACCEL"); /* debugging without KVM: tcg */
	struct argv_b b = { 0 };
	char p[512];

	add(&b, "%s", qs->wrapper);
	add(&b, "-name");
	add(&b, "cprv-g%d", gen);
	add(&b, "-machine");
	add(&b, "q35,accel=%s,memory-backend=ram0%s", accel ? accel : "kvm",
	    qs->aux_ram_share ? ",aux-ram-share=on" : "");
	add(&b, "-object");
	add(&b, "memory-backend-memfd,id=ram0,size=%uM,share=on", q->mem_mb);
	add(&b, "-m");
	add(&b, "%uM", q->mem_mb);
	add(&b, "-smp");
	add(&b, "1");
	add(&b, "-nodefaults");
	add(&b, "-no-user-config");
	add(&b, "-display");
	add(&b, "none");
	if (!strcmp(q->firmware, "qboot")) {
		add(&b, "-bios");
		add(&b, "qboot.rom");
	} else if (q->firmware[0] && strcmp(q->firmware, "seabios")) {
		add(&b, "-bios");
		add(&b, "%s", q->firmware);
	}
	add(&b, "-kernel");
	add(&b, "%s", qs->guest);
	if (q->guest_args[0]) {
		add(&b, "-append");
		add(&b, "%s", q->guest_args);
	}
	qemu_path(qs, "serial", gen, p, sizeof(p));
	add(&b, "-serial");
	add(&b, "file:%s", p);
	qemu_path(qs, "qmp", gen, p, sizeof(p));
	add(&b, "-qmp");
	add(&b, "unix:%s,server=on,wait=off", p);
	for (uint32_t i = 0; i < q->n_args; i++)
		add(&b, "%s", q->args[i]);
	if (qs->vfio_bdf) {
		add(&b, "-device");
		add(&b, "vfio-pci,host=%s,id=cprv-vfio", qs->vfio_bdf);
	}
	if (in == QEMU_IN_TRANSFER) {
		qemu_path(qs, "main", gen, p, sizeof(p));
		add(&b, "-incoming");
		add(&b, "unix:%s", p);
		qemu_path(qs, "cpr", gen, p, sizeof(p));
		add(&b, "-incoming");
		add(&b, "{\"channel-type\":\"cpr\",\"addr\":{\"transport\":\"socket\","
			"\"type\":\"unix\",\"path\":\"%s\"}}", p);
	} else if (in == QEMU_IN_EXEC) {
		qemu_path(qs, "state", gen, p, sizeof(p));
		add(&b, "-incoming");
		add(&b, "file:%s", p);
	}
	return b.v;
}

void qemu_argv_free(char **argv)
{
	for (int i = 0; argv && argv[i]; i++)
		free(argv[i]);
	free(argv);
}

int qemu_start(struct qemu_proc *qp, const struct qemu_setup *qs, int gen,
	       enum qemu_incoming in, char *err, size_t errlen)
{
	char **argv = qemu_argv(qs, gen, in), log[512], p[512];
	int fd;
	pid_t pid;

	if (!argv) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memset(qp, 0, sizeof(*qp));
	qp->gen = gen;
	qemu_path(qs, "qmp", gen, qp->qmp_path, sizeof(qp->qmp_path));
	unlink(qp->qmp_path);
	qemu_path(qs, "cpr", gen, p, sizeof(p));
	unlink(p);
	qemu_path(qs, "main", gen, p, sizeof(p));
	unlink(p);
	qemu_path(qs, "qemu", gen, log, sizeof(log));
	fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", log, strerror(errno));
		qemu_argv_free(argv);
		return -1;
	}
	pid = fork();
	if (pid == 0) {
		dup2(fd, 1);
		dup2(fd, 2);
		execv(argv[0], argv);
		fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(fd);
	qemu_argv_free(argv);
	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		return -1;
	}
	qp->pid = pid;
	return 0;
}

bool qemu_alive(struct qemu_proc *qp)
{
	if (!qp->pid || qp->exited)
		return false;
	if (waitpid(qp->pid, &qp->status, WNOHANG) == qp->pid) {
		qp->exited = true;
		return false;
	}
	return true;
}

const char *qemu_how(const struct qemu_proc *qp, char *buf, size_t len)
{
	if (!qp->exited)
		snprintf(buf, len, "running");
	else if (WIFEXITED(qp->status))
		snprintf(buf, len, "exit %d", WEXITSTATUS(qp->status));
	else if (WIFSIGNALED(qp->status))
		snprintf(buf, len, "signal %d", WTERMSIG(qp->status));
	else
		snprintf(buf, len, "status %#x", qp->status);
	return buf;
}

void qemu_end(struct qemu_proc *qp, int timeout_ms)
{
	if (qp->qmp) {
		cprv_qmp_close(qp->qmp);
		qp->qmp = NULL;
	}
	for (int t = 0; t < timeout_ms && qemu_alive(qp); t += 10)
		msleep(10);
	if (qemu_alive(qp)) {
		kill(qp->pid, SIGKILL);
		if (waitpid(qp->pid, &qp->status, 0) == qp->pid)
			qp->exited = true;
	}
}

int qemu_connect(struct qemu_proc *qp, const struct qemu_setup *qs, int timeout_ms,
		 char *err, size_t errlen)
{
	uint64_t start = qemu_now_ns(), until = start + (uint64_t)timeout_ms * 1000000ull;
	char how[32];

	if (qp->qmp) {
		cprv_qmp_close(qp->qmp);
		qp->qmp = NULL;
	}
	/* Wait for the socket while watching the process; then one connect
	 * with the rest of the time: a handshake abandoned half-way leaves
	 * QEMU answering it on the next connection. */
	while (access(qp->qmp_path, F_OK)) {
		if (!qemu_alive(qp)) {
			snprintf(err, errlen, "QEMU (pid %d) ended before its QMP socket opened (%s); "
				 "see %s/qemu-%d.log", (int)qp->pid, qemu_how(qp, how, sizeof(how)),
				 qs->dir, qp->gen);
			return -1;
		}
		if (qemu_now_ns() >= until) {
			snprintf(err, errlen, "no QMP socket %s after %d ms", qp->qmp_path, timeout_ms);
			return -1;
		}
		msleep(5);
	}
	return cprv_qmp_connect(&qp->qmp, qp->qmp_path,
				(int)((until - qemu_now_ns()) / 1000000ull) + 1, err, errlen) ? -1 : 0;
}

int qemu_status(struct qemu_proc *qp, int timeout_ms, char *buf, size_t len, char *err,
		size_t errlen)
{
	struct json_object *ret = NULL, *st;
	int rc = cprv_qmp_cmd(qp->qmp, "query-status", NULL, timeout_ms, &ret, err, errlen);

	if (rc)
		return -1;
	if (!json_object_object_get_ex(ret, "status", &st)) {
		snprintf(err, errlen, "query-status: reply without 'status'");
		json_object_put(ret);
		return -1;
	}
	snprintf(buf, len, "%s", json_object_get_string(st));
	json_object_put(ret);
	return 0;
}

int qemu_wait_running(struct qemu_proc *qp, int timeout_ms, char *err, size_t errlen)
{
	uint64_t until = qemu_now_ns() + (uint64_t)timeout_ms * 1000000ull;
	char st[64] = "";

	do {
		if (qemu_status(qp, timeout_ms, st, sizeof(st), err, errlen))
			return -1;
		if (!strcmp(st, "running"))
			return 0;
		msleep(5);
	} while (qemu_now_ns() < until);
	snprintf(err, errlen, "QEMU still '%s' after %d ms", st, timeout_ms);
	return -1;
}

/*
 * "0000000000007000: 0x0000000156525043 0x00000000000004d2\r\n
 *  0000000000007010: ..." -> the words in order. Returns how many.
 */
static size_t parse_xp(const char *out, uint64_t *w, size_t max)
{
	size_t n = 0;

	for (const char *c = strchr(out, ':'); c && n < max; c = strchr(c, ':')) {
		const char *eol = strchr(c, '\n');

		c++;
		while (n < max && (!eol || c < eol)) {
			char *end;
			uint64_t v;

			while (*c == ' ')
				c++;
			if (strncmp(c, "0x", 2))
				break;
			v = strtoull(c, &end, 16);
			if (end == c)
				break;
			w[n++] = v;
			c = end;
		}
	}
	return n;
}

int qemu_guest_counts(struct qemu_proc *qp, int timeout_ms, struct guest_counts *gc, char *err,
		      size_t errlen)
{
	struct json_object *args = json_object_new_object(), *ret = NULL;
	char cmd[64];
	uint64_t w[7];
	int rc;

	memset(gc, 0, sizeof(*gc));
	snprintf(cmd, sizeof(cmd), "xp /7xg %#x", CPRV_GUEST_HB_ADDR);
	json_object_object_add(args, "command-line", json_object_new_string(cmd));
	rc = cprv_qmp_cmd(qp->qmp, "human-monitor-command", args, timeout_ms, &ret, err, errlen);
	json_object_put(args);
	if (rc)
		return -1;
	if (parse_xp(json_object_get_string(ret), w, 7) != 7) {
		snprintf(err, errlen, "cannot parse the monitor's answer to '%s': %.80s", cmd,
			 json_object_get_string(ret));
		rc = -1;
	} else if ((uint32_t)w[0] == CPRV_GUEST_MAGIC) {
		/* before the magic (written last at boot) everything reads 0 */
		*gc = (struct guest_counts){ w[1], w[2], w[3], w[4], w[5], w[6] };
	}
	json_object_put(ret);
	return rc;
}

int qemu_heartbeat(struct qemu_proc *qp, int timeout_ms, uint64_t *ticks, char *err,
		   size_t errlen)
{
	struct guest_counts gc;

	if (qemu_guest_counts(qp, timeout_ms, &gc, err, errlen))
		return -1;
	*ticks = gc.ticks;
	return 0;
}

int qemu_heartbeat_above(struct qemu_proc *qp, uint64_t above, int timeout_ms, uint64_t *ticks,
			 char *err, size_t errlen)
{
	uint64_t until = qemu_now_ns() + (uint64_t)timeout_ms * 1000000ull;

	do {
		if (qemu_heartbeat(qp, timeout_ms, ticks, err, errlen))
			return -1;
		if (*ticks > above)
			return 0;
		msleep(20);
	} while (qemu_now_ns() < until);
	snprintf(err, errlen, "the guest's heartbeat stayed at %" PRIu64 " ticks for %d ms",
		 *ticks, timeout_ms);
	return -1;
}

int qemu_last_words(const struct qemu_setup *qs, int gen, char *buf, size_t len)
{
	char path[512], line[512];
	FILE *f;
	int found = -1;

	qemu_path(qs, "qemu", gen, path, sizeof(path));
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = 0;
		/* warnings are not why it died */
		if (!line[0] || strstr(line, "warning:"))
			continue;
		snprintf(buf, len, "%s", line);
		found = 0;
	}
	fclose(f);
	return found;
}

/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The shared control page: phase, lock, handshakes, logging. */
#include "rig.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define RIG_CTL_MAGIC 0x43505256u /* "CPRV" */

/*
 * The recorder's uprobe target: one call per phase change, in whichever
 * process makes it. noinline + used + -rdynamic keep a real, exported
 * symbol; the asm keeps the compiler from dropping the empty body.
 */
__attribute__((noinline, used, visibility("default")))
void cprv_rig_phase(uint32_t cycle, uint32_t phase)
{
	__asm__ volatile("" : : "r"(cycle), "r"(phase) : "memory");
}

uint64_t rig_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void rig_sleep_until(uint64_t t)
{
	struct timespec ts = { .tv_sec = (time_t)(t / 1000000000ull),
			       .tv_nsec = (long)(t % 1000000000ull) };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

void rig_sleep_ms(uint32_t ms)
{
	rig_sleep_until(rig_now() + (uint64_t)ms * 1000000ull);
}

static struct rig_ctl *map_ctl(int fd)
{
	void *p = mmap(NULL, sizeof(struct rig_ctl), PROT_READ | PROT_WRITE,
		       MAP_SHARED, fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

struct rig_ctl *rig_ctl_create(int *fdp)
{
	pthread_mutexattr_t ma;
	struct rig_ctl *c;
	/* No MFD_CLOEXEC: the exec'd new VMM maps the same page. */
	int fd = memfd_create("cprv-rig-ctl", 0);

	if (fd < 0)
		return NULL;
	if (ftruncate(fd, sizeof(*c)) < 0 || !(c = map_ctl(fd))) {
		close(fd);
		return NULL;
	}
	memset(c, 0, sizeof(*c));
	c->magic = RIG_CTL_MAGIC;
	/* Robust: a process killed inside the lock must not hang the rest. */
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(&c->mu, &ma);
	pthread_mutexattr_destroy(&ma);
	*fdp = fd;
	return c;
}

struct rig_ctl *rig_ctl_attach(void)
{
	const char *s = getenv(RIG_ENV_CTL_FD);
	struct rig_ctl *c;
	char *end;
	long fd;

	if (!s) {
		fprintf(stderr, "cprv-rig: %s is not set: this subcommand is started by "
			"'cprv-rig run', not by hand\n", RIG_ENV_CTL_FD);
		return NULL;
	}
	fd = strtol(s, &end, 10);
	if (*end || fd < 0 || fd > 65535 || !(c = map_ctl((int)fd))) {
		fprintf(stderr, "cprv-rig: %s=%s is not a mappable control page\n",
			RIG_ENV_CTL_FD, s);
		return NULL;
	}
	if (c->magic != RIG_CTL_MAGIC) {
		fprintf(stderr, "cprv-rig: %s=%s is not a cprv-rig control page\n",
			RIG_ENV_CTL_FD, s);
		munmap(c, sizeof(*c));
		return NULL;
	}
	return c;
}

int rig_lock(struct rig_ctl *c)
{
	int r = pthread_mutex_lock(&c->mu);

	if (r == EOWNERDEAD) {
		/* Someone died mid-update: the phase may be half-set. Fail the run. */
		pthread_mutex_consistent(&c->mu);
		pthread_mutex_unlock(&c->mu);
		return -1;
	}
	return r ? -1 : 0;
}

void rig_unlock(struct rig_ctl *c)
{
	pthread_mutex_unlock(&c->mu);
}

void rig_add_event(struct rig_ctl *c, uint32_t cycle, const char *event)
{
	struct cprv_gt_phase *p;

	if (c->nphases >= RIG_MAX_PHASES)
		return;
	p = &c->phases[c->nphases++];
	p->cycle = cycle;
	snprintf(p->name, sizeof(p->name), "%s", event);
	p->ts = rig_now();
}

void rig_set_phase(struct rig_ctl *c, uint32_t cycle, uint32_t phase, const char *event)
{
	c->phase = phase;
	c->cycle = cycle;
	if (event)
		rig_add_event(c, cycle, event);
	cprv_rig_phase(cycle, phase);
}

static void vlog(const struct rig_ctl *c, const char *role, const char *tag,
		 const char *fmt, va_list ap)
{
	char msg[512];
	uint64_t dt = c && c->t0 ? rig_now() - c->t0 : 0;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	fprintf(stderr, "cprv-rig [%4llu.%03llus] %s[%d]: %s%s\n",
		(unsigned long long)(dt / 1000000000ull),
		(unsigned long long)(dt / 1000000ull % 1000), role, (int)getpid(), tag, msg);
}

void rig_log(const struct rig_ctl *c, const char *role, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(c, role, "", fmt, ap);
	va_end(ap);
}

void rig_die(struct rig_ctl *c, const char *role, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (c && !c->error[0]) {
		char msg[200];
		va_list aq;

		va_copy(aq, ap);
		vsnprintf(msg, sizeof(msg), fmt, aq);
		va_end(aq);
		snprintf(c->error, sizeof(c->error), "%s[%d]: %s", role, (int)getpid(), msg);
	}
	vlog(c, role, "error: ", fmt, ap);
	va_end(ap);
	exit(RIG_EXIT_FAIL);
}

int rig_wait_flag(struct rig_ctl *c, const uint32_t *flag, uint32_t value, uint32_t timeout_ms)
{
	uint64_t deadline = rig_now() + (uint64_t)timeout_ms * 1000000ull;

	while (RIG_LOAD(flag) < value) {
		if (rig_now() > deadline) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (getppid() != c->launcher_pid && getpid() != c->launcher_pid) {
			errno = ESRCH;
			return -1;
		}
		rig_sleep_ms(1);
	}
	return 0;
}

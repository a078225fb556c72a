// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * irqfd_bench: the MSI path at line rate (or paced), the workload `make
 * bench` runs with and without the recorder. A KVM VM with an irqchip and
 * one LAPIC-enabled vCPU that never runs; one MSI route and one irqfd per
 * writer thread. Each write of 1 to a writer's eventfd injects one MSI
 * synchronously inside that write (irqfd_wakeup -> kvm_set_msi), so writes
 * per second are MSIs per second.
 *
 *   irqfd_bench [-t THREADS] [-d SECONDS] [-r RATE] [--watch-parent]
 *
 * -r paces the writers to RATE MSI/s in total (0: as fast as they can).
 * --watch-parent also reports the CPU the parent process (the recorder,
 * under `cpr-verify record -- irqfd_bench`) used during the measured
 * window, read from /proc, so the recorder's start-up (plan, canary) and
 * drain are not counted.
 *
 * Prints one line of key=value pairs on stdout; exit 0, 3 usage, 5 no KVM,
 * 6 a syscall failed.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/eventfd.h>
#include <sys/resource.h>

#include "kvmvm.h"

#define MAX_THREADS 16
#define MSI_ADDR 0xfee00000ull
#define FIRST_VECTOR 0x30

struct writer {
	pthread_t th;
	int efd;
	double rate;            /* MSI/s for this thread, 0: unpaced */
	const atomic_int *go;   /* 1: start, 2: stop */
	uint64_t t0_ns;         /* common start of the window */
	uint64_t writes, errors;
	uint64_t cpu_ns;        /* CLOCK_THREAD_CPUTIME_ID over the loop */
};

static uint64_t clock_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Sleep until absolute CLOCK_MONOTONIC time t (ns). */
static void sleep_until(uint64_t t)
{
	struct timespec ts = { .tv_sec = (time_t)(t / 1000000000ull),
			       .tv_nsec = (long)(t % 1000000000ull) };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	const uint64_t one = 1;
	/* Pacing in batches of ~1 ms worth of writes: a sleep per write would
	 * cost more than the write at these rates. */
	uint64_t batch = w->rate > 1000 ? (uint64_t)(w->rate / 1000) : 1;
	uint64_t c0;

	while (atomic_load(w->go) == 0)
		;
	c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	while (atomic_load_explicit(w->go, memory_order_relaxed) == 1) {
		if (w->rate > 0) {
			uint64_t now = clock_ns(CLOCK_MONOTONIC);
			uint64_t due = (uint64_t)((double)(now - w->t0_ns) / 1e9 * w->rate);

			if (w->writes >= due) {
				sleep_until(w->t0_ns + (uint64_t)((double)(w->writes + batch) / w->rate * 1e9));
				continue;
			}
			/* behind: catch up, but look at the clock (and the stop
			 * flag) at least once per batch */
			for (uint64_t i = 0; i < batch && w->writes < due; i++) {
				if (write(w->efd, &one, sizeof(one)) == sizeof(one))
					w->writes++;
				else
					w->errors++;
			}
			continue;
		}
		for (int i = 0; i < 256; i++) {
			if (write(w->efd, &one, sizeof(one)) == sizeof(one))
				w->writes++;
			else
				w->errors++;
		}
	}
	w->cpu_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
	return NULL;
}

/* CPU ns of every thread of pid: schedstat (ns), else stat (clock ticks). */
static int64_t proc_cpu_ns(pid_t pid)
{
	char path[64], buf[512];
	int64_t sum = 0;
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		unsigned long long run;
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/schedstat", (int)pid, de->d_name);
		f = fopen(path, "r");
		if (f && fscanf(f, "%llu", &run) == 1) {
			sum += (int64_t)run;
			fclose(f);
			continue;
		}
		if (f)
			fclose(f);
		snprintf(path, sizeof(path), "/proc/%d/task/%s/stat", (int)pid, de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(buf, sizeof(buf), f)) {
			/* fields after the ")" of comm: state is field 3, utime 14, stime 15 */
			char *p = strrchr(buf, ')');
			unsigned long ut = 0, st = 0;

			if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
					&ut, &st) == 2)
				sum += (int64_t)(ut + st) * (1000000000ll / sysconf(_SC_CLK_TCK));
		}
		fclose(f);
	}
	closedir(d);
	return sum;
}

static void comm_of(pid_t pid, char *out, size_t len)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	snprintf(out, len, "?");
	f = fopen(path, "r");
	if (!f)
		return;
	if (fgets(out, (int)len, f))
		out[strcspn(out, "\n")] = 0;
	fclose(f);
}

static const char usage[] =
	"usage: irqfd_bench [-t THREADS] [-d SECONDS] [-r RATE] [--watch-parent]\n"
	"  -t, --threads N     writer threads, one MSI route + irqfd each (1..16; default 1)\n"
	"  -d, --duration S    measured window in seconds (default 2)\n"
	"  -r, --rate R        pace the writers to R MSI/s in total (default 0: line rate)\n"
	"  --watch-parent      report the parent process's CPU over the window\n";

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "threads", required_argument, NULL, 't' }, { "duration", required_argument, NULL, 'd' },
		{ "rate", required_argument, NULL, 'r' },    { "watch-parent", no_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },          { 0 } };
	struct writer w[MAX_THREADS];
	struct cprv_msi_route routes[MAX_THREADS];
	struct cprv_vm vm;
	atomic_int go = 0;
	int nthreads = 1, o;
	double duration = 2, rate = 0;
	bool watch = false;
	char err[256], pcomm[32] = "-";
	pid_t ppid = getppid();
	int64_t p0 = 0, p1 = 0;
	uint64_t t0, t1, writes = 0, errors = 0, cpu = 0;
	struct rusage ru;

	while ((o = getopt_long(argc, argv, "t:d:r:h", opts, NULL)) != -1) {
		switch (o) {
		case 't': nthreads = atoi(optarg); break;
		case 'd': duration = atof(optarg); break;
		case 'r': rate = atof(optarg); break;
		case 'w': watch = true; break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 3;
		}
	}
	if (optind < argc || nthreads < 1 || nthreads > MAX_THREADS || !(duration > 0) || rate < 0) {
		fputs(usage, stderr);
		return 3;
	}
	if (!cprv_kvm_available(err, sizeof(err))) {
		fprintf(stderr, "irqfd_bench: no KVM: %s\n", err);
		return 5;
	}
	if (cprv_vm_create(&vm, err, sizeof(err))) {
		fprintf(stderr, "irqfd_bench: %s\n", err);
		return 6;
	}
	for (int i = 0; i < nthreads; i++)
		routes[i] = (struct cprv_msi_route){ .gsi = (uint32_t)i, .address = MSI_ADDR,
						     .data = FIRST_VECTOR + (uint32_t)i };
	if (cprv_vm_set_routes(&vm, routes, (uint32_t)nthreads, err, sizeof(err))) {
		fprintf(stderr, "irqfd_bench: %s\n", err);
		cprv_vm_close(&vm);
		return 6;
	}
	for (int i = 0; i < nthreads; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].go = &go;
		w[i].rate = rate / nthreads;
		w[i].efd = eventfd(0, EFD_CLOEXEC);
		if (w[i].efd < 0 || cprv_vm_irqfd(&vm, w[i].efd, (uint32_t)i, false)) {
			fprintf(stderr, "irqfd_bench: eventfd/KVM_IRQFD for gsi %d: %s\n", i, strerror(errno));
			cprv_vm_close(&vm);
			return 6;
		}
	}
	for (int i = 0; i < nthreads; i++) {
		if (pthread_create(&w[i].th, NULL, writer_main, &w[i])) {
			fprintf(stderr, "irqfd_bench: pthread_create failed\n");
			return 6;
		}
	}
	if (watch) {
		comm_of(ppid, pcomm, sizeof(pcomm));
		p0 = proc_cpu_ns(ppid);
	}
	t0 = clock_ns(CLOCK_MONOTONIC);
	for (int i = 0; i < nthreads; i++)
		w[i].t0_ns = t0;
	atomic_store(&go, 1);
	sleep_until(t0 + (uint64_t)(duration * 1e9));
	atomic_store(&go, 2);
	t1 = clock_ns(CLOCK_MONOTONIC);
	if (watch)
		p1 = proc_cpu_ns(ppid);
	for (int i = 0; i < nthreads; i++) {
		pthread_join(w[i].th, NULL);
		writes += w[i].writes;
		errors += w[i].errors;
		cpu += w[i].cpu_ns;
	}
	getrusage(RUSAGE_SELF, &ru);
	double secs = (double)(t1 - t0) / 1e9;
	printf("threads=%d duration_s=%.3f target_rate=%.0f msis=%llu errors=%llu msi_per_s=%.0f "
	       "writer_cpu_ns=%llu cpu_ns_per_msi=%.1f proc_cpu_ns=%lld",
	       nthreads, secs, rate, (unsigned long long)writes, (unsigned long long)errors,
	       (double)writes / secs, (unsigned long long)cpu, writes ? (double)cpu / (double)writes : 0.0,
	       (long long)ru.ru_utime.tv_sec * 1000000000ll + ru.ru_utime.tv_usec * 1000ll +
	       ru.ru_stime.tv_sec * 1000000000ll + ru.ru_stime.tv_usec * 1000ll);
	if (watch)
		printf(" parent=%s parent_cpu_ns=%lld", pcomm,
		       p0 >= 0 && p1 >= 0 ? (long long)(p1 - p0) : -1ll);
	printf("\n");
	for (int i = 0; i < nthreads; i++) {
		cprv_vm_irqfd(&vm, w[i].efd, (uint32_t)i, true);
		close(w[i].efd);
	}
	cprv_vm_close(&vm);
	return errors ? 6 : 0;
}

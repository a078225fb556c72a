// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * runstat: run a command, then print what it cost, as /usr/bin/time -v
 * would but in one parsable line and without another package:
 *
 *   runstat [-o FILE] -- COMMAND [ARGS...]
 *   -> wall_s=.. user_s=.. sys_s=.. maxrss_kb=.. exit=..
 *
 * CPU and peak RSS come from wait4, so they include the children the
 * command waited for (cpr-verify record waits for its workload). The line
 * goes to FILE (appended) or stderr, so the command's own stdout stays
 * untouched. Exits with the command's status (128+N if killed by N).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/wait.h>

static double tv_s(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
	const char *out = NULL;
	struct timespec a, b;
	struct rusage ru;
	int i = 1, status, code;
	pid_t pid;
	FILE *f;

	if (i + 1 < argc && !strcmp(argv[i], "-o")) {
		out = argv[i + 1];
		i += 2;
	}
	if (i < argc && !strcmp(argv[i], "--"))
		i++;
	if (i >= argc) {
		fputs("usage: runstat [-o FILE] -- COMMAND [ARGS...]\n", stderr);
		return 3;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	pid = fork();
	if (pid < 0) {
		perror("runstat: fork");
		return 6;
	}
	if (pid == 0) {
		execvp(argv[i], argv + i);
		fprintf(stderr, "runstat: cannot run %s: %s\n", argv[i], strerror(errno));
		_exit(127);
	}
	while (wait4(pid, &status, 0, &ru) < 0) {
		if (errno != EINTR) {
			perror("runstat: wait4");
			return 6;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	f = out ? fopen(out, "a") : stderr;
	if (!f) {
		fprintf(stderr, "runstat: cannot open %s: %s\n", out, strerror(errno));
		return 6;
	}
	fprintf(f, "wall_s=%.3f user_s=%.3f sys_s=%.3f maxrss_kb=%ld exit=%d\n",
		(double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9,
		tv_s(ru.ru_utime), tv_s(ru.ru_stime), ru.ru_maxrss, code);
	if (out)
		fclose(f);
	return code;
}

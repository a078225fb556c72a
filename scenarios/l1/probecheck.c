/* probecheck: which BPF attach kinds work on this kernel, tried for real.
 *
 * For each program in probecheck.bpf.o (path in argv[1]) it opens the object
 * with only that program set to load (one refusal, at load or attach, must
 * not hide the others), attaches it, calls getppid() to fire the getppid
 * probes, and prints one line per program:
 *   <program> <section> load+attach=ok|<error> hits=<n>
 * Exit 0 when every program attached and each getppid probe fired, 1
 * otherwise, 2 when the object cannot be read. */
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "probecheck.h"

#define TRIGGERS 5

static const char *const slot_names[H_MAX] = PROBECHECK_NAMES;

static int quiet_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/* the per-program result line says what failed; libbpf's own dump of
	 * the verifier log would bury it */
	(void)level, (void)fmt, (void)ap;
	return 0;
}

/* Load and attach program `name` alone; fills *hits. Returns 0 or an errno. */
static int try_one(const char *path, const char *name, int slot, const char **sec,
		   unsigned long long *hits)
{
	static char sec_buf[128];
	struct bpf_object *obj = bpf_object__open_file(path, NULL);
	struct bpf_program *prog, *target = NULL;
	struct bpf_link *link = NULL;
	int err = 0;

	*hits = 0;
	if (!obj)
		return errno;
	bpf_object__for_each_program(prog, obj) {
		int me = strcmp(bpf_program__name(prog), name) == 0;
		bpf_program__set_autoload(prog, me);
		if (me)
			target = prog;
	}
	if (!target) {
		err = ENOENT;
		goto out;
	}
	snprintf(sec_buf, sizeof(sec_buf), "%s", bpf_program__section_name(target));
	*sec = sec_buf;
	if (bpf_object__load(obj)) {
		err = errno;
		goto out;
	}
	link = bpf_program__attach(target);
	if (!link) {
		err = errno;
		goto out;
	}
	for (int i = 0; i < TRIGGERS; i++)
		(void)getppid();

	unsigned long long all[H_MAX] = { 0 };
	int key = 0;
	struct bpf_map *bss = bpf_object__find_map_by_name(obj, ".bss");
	if (!bss || bpf_map__lookup_elem(bss, &key, sizeof(key), all, sizeof(all), 0))
		err = errno ? errno : EIO;
	else
		*hits = all[slot];
out:
	bpf_link__destroy(link);
	bpf_object__close(obj);
	return err;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: probecheck PROBECHECK.BPF.O\n");
		return 2;
	}
	if (access(argv[1], R_OK) != 0) {
		fprintf(stderr, "probecheck: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	libbpf_set_print(quiet_libbpf);

	int bad = 0;
	for (int slot = 0; slot < H_MAX; slot++) {
		const char *sec = "?";
		unsigned long long hits;
		int err = try_one(argv[1], slot_names[slot], slot, &sec, &hits);
		int triggered = strstr(sec, "getppid") != NULL;
		int silent = !err && triggered && hits < TRIGGERS;
		printf("%-11s %-38s load+attach=%s hits=%llu%s\n", slot_names[slot], sec,
		       err ? strerror(err) : "ok", hits, silent ? " (DID NOT FIRE)" : "");
		if (err || silent)
			bad = 1;
	}
	return bad;
}

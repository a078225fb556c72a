/* Resolving the plan by trying: what exists (kallsyms, tracefs, the kprobe
 * PMU), what loads and what attaches. Kernels lie in both directions (a
 * symbol that cannot be traced, an fentry that attaches and never fires),
 * so only a real load and attach decide here, and only the canary decides
 * liveness afterwards. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <glob.h>
#include <limits.h>
#include <signal.h>
#include <time.h>
#include <linux/kvm.h>
#include <linux/vfio.h>
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include "probes.h"
#include "record.h"
#include "run.h"
#include "cprv.skel.h"

_Static_assert(CPRV_KVM_CREATE_VM == KVM_CREATE_VM, "ioctl number");
_Static_assert(CPRV_KVM_IRQFD == KVM_IRQFD, "ioctl number");
_Static_assert(CPRV_KVM_SET_GSI_ROUTING == KVM_SET_GSI_ROUTING, "ioctl number");
_Static_assert(CPRV_KVM_SIGNAL_MSI == KVM_SIGNAL_MSI, "ioctl number");
_Static_assert(CPRV_KVM_GET_LAPIC == KVM_GET_LAPIC, "ioctl number");
_Static_assert(CPRV_KVM_SET_LAPIC == KVM_SET_LAPIC, "ioctl number");
_Static_assert(CPRV_VFIO_DEVICE_SET_IRQS == VFIO_DEVICE_SET_IRQS, "ioctl number");
_Static_assert(sizeof(struct kvm_irq_routing_entry) == 48, "route stride used by BPF");

#define MAX_USER_LINKS (CPRV_MAX_BINARIES * CPRV_UFN_MAX)

struct cprv_probes {
	struct cprv *skel;
	struct bpf_link *links[CPRV_HOOK_MAX][CPRV_MAX_PROGS];
	struct bpf_link *user_links[MAX_USER_LINKS];
	size_t n_user_links;
	struct ring_buffer *rb;
	cprv_event_fn fn;
	void *arg;
	cprv_run_fn run_fn;      /* takes encoded runs whole; NULL: expand them */
	void *run_arg;
	bool compact;            /* the BPF side sends runs */
	struct bpf_link *tick_link;
	uint64_t bad_runs;
	uint8_t enc[CPRV_RUN_MAX_ENCODED];
	int ncpu;
	uint64_t polled_bytes;   /* ring buffer bytes the last poll took */
	uint64_t last_poll_ns;
};

/* The ring buffer's epoll is level-triggered: with a trickle of events a
 * poll returns at once, every time, and the reader spins (measured: 38,000
 * polls a second at line rate, each with the runs' tick). A poll that took
 * less than half a wake-up batch waits out the rest of this period first;
 * a real batch (the BPF side woke us) is read at once. */
#define POLL_PERIOD_NS (10ull * 1000 * 1000)

/* libbpf reports through one process-wide print hook; keep its last
 * complaint so a rejected variant can say why in its own words. */
static __thread char last_libbpf_msg[160];
static bool libbpf_verbose;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char buf[512];
	va_list copy;

	va_copy(copy, ap);
	vsnprintf(buf, sizeof(buf), fmt, copy);
	va_end(copy);
	/* the last lines are generic ("failed to load object"): keep the cause */
	if (level <= LIBBPF_WARN && !strstr(buf, "failed to load object") &&
	    !strstr(buf, "failed to load BPF skeleton")) {
		buf[strcspn(buf, "\n")] = 0;
		snprintf(last_libbpf_msg, sizeof(last_libbpf_msg), "%s", buf);
	}
	if (libbpf_verbose)
		fputs(buf, stderr);
	return 0;
}

static const char *tracefs_root(void)
{
	static const char *const roots[] = { "/sys/kernel/tracing", "/sys/kernel/debug/tracing" };

	for (unsigned i = 0; i < 2; i++) {
		char p[128];

		snprintf(p, sizeof(p), "%s/events", roots[i]);
		if (access(p, F_OK) == 0)
			return roots[i];
	}
	return NULL;
}

int cprv_probes_env_check(char *err, size_t errlen)
{
	if (geteuid() != 0) {
		snprintf(err, errlen, "cpr-verify needs root to load BPF probes (run it with sudo)");
		return -EPERM;
	}
	if (!tracefs_root()) {
		/* tracepoint attach reads event ids from tracefs */
		if (mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL) && errno != EBUSY) {
			snprintf(err, errlen, "tracefs is not mounted and mounting it failed: %s",
				 strerror(errno));
			return -errno;
		}
	}
	if (access("/sys/kernel/debug/tracing", F_OK) != 0)
		mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL); /* best effort */
	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
		snprintf(err, errlen, "this kernel has no BTF (/sys/kernel/btf/vmlinux): "
			 "CO-RE probes cannot load (CONFIG_DEBUG_INFO_BTF=y is needed)");
		return -ENOTSUP;
	}
	return 0;
}

/* Looks up the functions the table names in one pass over kallsyms. */
struct ksyms {
	const char *names[CPRV_HOOK_MAX * CPRV_MAX_VARIANTS];
	bool found[CPRV_HOOK_MAX * CPRV_MAX_VARIANTS];
	char module[CPRV_HOOK_MAX * CPRV_MAX_VARIANTS][32];
	int n;
};

static void ksyms_load(struct ksyms *k)
{
	char line[512];
	FILE *f;

	memset(k, 0, sizeof(*k));
	for (int h = 0; h < CPRV_HOOK_MAX; h++)
		for (int v = 0; v < CPRV_MAX_VARIANTS; v++) {
			const struct cprv_variant *var = &cprv_hook_table[h].variants[v];

			if (var->kind == CPRV_ATTACH_FENTRY || var->kind == CPRV_ATTACH_KPROBE)
				k->names[k->n++] = var->target;
		}
	f = fopen("/proc/kallsyms", "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char type, name[256], mod[64] = "";
		unsigned long long addr;

		if (sscanf(line, "%llx %c %255s [%63[^]]]", &addr, &type, name, mod) < 3)
			continue;
		for (int i = 0; i < k->n; i++) {
			if (!k->found[i] && !strcmp(name, k->names[i])) {
				k->found[i] = true;
				snprintf(k->module[i], sizeof(k->module[i]), "%s", mod);
			}
		}
	}
	fclose(f);
}

static bool ksyms_has(const struct ksyms *k, const char *name)
{
	for (int i = 0; i < k->n; i++)
		if (!strcmp(k->names[i], name))
			return k->found[i];
	return false;
}

static bool tracefs_event_exists(const char *target)
{
	const char *root = tracefs_root();
	char p[256];

	if (!root)
		return false;
	if (strchr(target, '/')) {
		snprintf(p, sizeof(p), "%s/events/%s", root, target);
		return access(p, F_OK) == 0;
	} else {
		glob_t g;
		int found;

		snprintf(p, sizeof(p), "%s/events/*/%s", root, target);
		found = glob(p, 0, NULL, &g) == 0 && g.gl_pathc > 0;
		globfree(&g);
		return found;
	}
}

/* Cheap reasons first: a variant whose target does not exist never loads. */
static bool variant_exists(const struct cprv_variant *v, const struct ksyms *k, char *why,
			   size_t len)
{
	switch (v->kind) {
	case CPRV_ATTACH_FENTRY:
		if (!ksyms_has(k, v->target)) {
			snprintf(why, len, "%s not in kallsyms (module not loaded?)", v->target);
			return false;
		}
		return true;
	case CPRV_ATTACH_KPROBE:
		if (access("/sys/bus/event_source/devices/kprobe", F_OK) != 0) {
			snprintf(why, len, "kernel has no kprobes (no kprobe PMU)");
			return false;
		}
		if (!ksyms_has(k, v->target)) {
			snprintf(why, len, "%s not in kallsyms (module not loaded?)", v->target);
			return false;
		}
		return true;
	case CPRV_ATTACH_UPROBE:
		if (access("/sys/bus/event_source/devices/uprobe", F_OK) != 0) {
			snprintf(why, len, "kernel has no uprobes (no uprobe PMU)");
			return false;
		}
		return true;
	case CPRV_ATTACH_TP_BTF:
	case CPRV_ATTACH_TRACEPOINT:
	case CPRV_ATTACH_SYSCALL:
	case CPRV_ATTACH_SYSCALL_BTF:
		if (!tracefs_event_exists(v->target)) {
			snprintf(why, len, "no tracepoint %s in tracefs", v->target);
			return false;
		}
		return true;
	default:
		snprintf(why, len, "unknown attach kind");
		return false;
	}
}

static void set_only(struct cprv *skel, const int *cand)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, skel->obj)
		bpf_program__set_autoload(prog, false);
	for (int h = 0; h < CPRV_HOOK_MAX; h++) {
		if (cand[h] < 0)
			continue;
		for (int i = 0; i < CPRV_MAX_PROGS; i++) {
			const char *name = cprv_hook_table[h].variants[cand[h]].progs[i];

			struct bpf_program *prog;

			if (!name)
				continue;
			prog = bpf_object__find_program_by_name(skel->obj, name);
			bpf_program__set_autoload(prog, true);
			/* CPRV_BPF_LOG=1: the verifier's log for every program */
			if (getenv("CPRV_BPF_LOG"))
				bpf_program__set_log_level(prog, 1);
		}
	}
}

static void fmt_err(char *why, size_t len, const char *what, int err)
{
	if (last_libbpf_msg[0])
		snprintf(why, len, "%s: %s (%s)", what, strerror(-err), last_libbpf_msg);
	else
		snprintf(why, len, "%s: %s", what, strerror(-err));
}

static struct cprv *open_skel(size_t rb_bytes)
{
	struct cprv *skel = cprv__open();

	if (skel)
		bpf_map__set_max_entries(skel->maps.events, rb_bytes);
	return skel;
}

/* The canary calls it; the USER_FN hook's trial attaches to it. Kept out of
 * line and opaque so the call and the symbol survive optimisation. */
__attribute__((noinline, used)) void cprv_uprobe_selftest(void)
{
	__asm__ volatile("" ::: "memory");
}

/* The BPF side's up_runs_tick runs on every call: idle runs (all, with
 * force) go into the ring buffer. Opaque for the same reason as above. */
__attribute__((noinline, used)) void cprv_runs_tick(uint64_t force)
{
	__asm__ volatile("" : : "r"(force) : "memory");
}

static struct bpf_link *attach_ufn(struct bpf_program *prog, const char *binary, int ufn)
{
	LIBBPF_OPTS(bpf_uprobe_opts, o, .func_name = cprv_ufn_symbol(ufn),
		    .bpf_cookie = (uint64_t)ufn | (uint64_t)cprv_ufn_args(ufn) << 16);

	return bpf_program__attach_uprobe_opts(prog, -1, binary, 0, &o);
}

/* Attaches every program of hook h's chosen variant. */
static int attach_hook(struct cprv *skel, int h, int v, struct bpf_link **links, char *why,
		       size_t len)
{
	for (int i = 0; i < CPRV_MAX_PROGS; i++) {
		const char *name = cprv_hook_table[h].variants[v].progs[i];
		struct bpf_program *prog;

		if (!name)
			continue;
		prog = bpf_object__find_program_by_name(skel->obj, name);
		last_libbpf_msg[0] = 0;
		if (cprv_hook_table[h].variants[v].kind == CPRV_ATTACH_UPROBE)
			links[i] = attach_ufn(prog, "/proc/self/exe", CPRV_UFN_SELFTEST);
		else
			links[i] = bpf_program__attach(prog);
		if (!links[i]) {
			int err = -errno;

			fmt_err(why, len, "attach failed", err);
			for (int j = 0; j < i; j++) {
				bpf_link__destroy(links[j]);
				links[j] = NULL;
			}
			return err;
		}
	}
	return 0;
}

/* One trial: load cand[] together and attach each hook. Hooks that fail
 * to attach get their reason in why and are cleared from ok[]. */
static int trial(const int *cand, bool *ok, char why[][160])
{
	struct bpf_link *links[CPRV_HOOK_MAX][CPRV_MAX_PROGS] = {};
	struct cprv *skel = open_skel(4096 * 4);
	int err;

	if (!skel)
		return -errno;
	set_only(skel, cand);
	last_libbpf_msg[0] = 0;
	err = cprv__load(skel);
	if (err) {
		cprv__destroy(skel);
		return err;
	}
	for (int h = 0; h < CPRV_HOOK_MAX; h++) {
		if (cand[h] < 0)
			continue;
		ok[h] = attach_hook(skel, h, cand[h], links[h], why[h], 160) == 0;
	}
	for (int h = 0; h < CPRV_HOOK_MAX; h++)
		for (int i = 0; i < CPRV_MAX_PROGS; i++)
			bpf_link__destroy(links[h][i]);
	cprv__destroy(skel);
	return 0;
}

static int next_variant(const struct cprv_plan *plan, int h, int from, const struct ksyms *k,
			char why[][160])
{
	const struct cprv_hook_def *d = &cprv_hook_table[h];

	for (int v = from; v < CPRV_MAX_VARIANTS && d->variants[v].kind; v++) {
		if (cprv_attach_kind_denied(d->variants[v].kind, plan->deny_kinds)) {
			snprintf(why[v], 160, "not allowed by the command line");
			continue;
		}
		if (variant_exists(&d->variants[v], k, why[v], 160))
			return v;
	}
	return -1;
}

int cprv_plan_resolve(struct cprv_plan *plan, const struct cprv_probe_opts *opts, char *err,
		      size_t errlen)
{
	int cand[CPRV_HOOK_MAX];
	struct ksyms k;
	int any = 0;

	libbpf_verbose = opts && opts->verbose;
	libbpf_set_print(libbpf_print);
	ksyms_load(&k);
	if (opts)
		plan->deny_kinds |= opts->deny_kinds;
	for (int h = 0; h < CPRV_HOOK_MAX; h++) {
		memset(plan->hooks[h].why, 0, sizeof(plan->hooks[h].why));
		cand[h] = next_variant(plan, h, 0, &k, plan->hooks[h].why);
	}

	for (int round = 0; round < CPRV_MAX_VARIANTS + 1; round++) {
		bool ok[CPRV_HOOK_MAX] = {};
		char why[CPRV_HOOK_MAX][160] = {};
		bool changed = false;
		int rc = trial(cand, ok, why);

		if (rc) {
			/* the set does not load: find the culprits one by one */
			for (int h = 0; h < CPRV_HOOK_MAX; h++) {
				int one[CPRV_HOOK_MAX];
				bool ok1[CPRV_HOOK_MAX] = {};
				char why1[CPRV_HOOK_MAX][160] = {};
				int r1;

				if (cand[h] < 0)
					continue;
				for (int j = 0; j < CPRV_HOOK_MAX; j++)
					one[j] = j == h ? cand[h] : -1;
				r1 = trial(one, ok1, why1);
				if (r1)
					fmt_err(why[h], 160, "load refused", r1);
				else if (!ok1[h])
					snprintf(why[h], 160, "%s", why1[h]);
				ok[h] = !r1 && ok1[h];
			}
		}
		for (int h = 0; h < CPRV_HOOK_MAX; h++) {
			if (cand[h] < 0 || ok[h])
				continue;
			snprintf(plan->hooks[h].why[cand[h]], 160, "%s", why[h]);
			cand[h] = next_variant(plan, h, cand[h] + 1, &k, plan->hooks[h].why);
			changed = true;
		}
		if (!changed)
			break;
	}
	for (int h = 0; h < CPRV_HOOK_MAX; h++) {
		plan->hooks[h].chosen = cand[h];
		any += cand[h] >= 0;
	}
	if (!any) {
		snprintf(err, errlen, "no probe could be loaded on this kernel (see `cpr-verify probe -v`)");
		return -ENOTSUP;
	}
	return 0;
}

static int on_sample(void *ctx, void *data, size_t size)
{
	struct cprv_probes *p = ctx;
	struct cprv_run_iter it;
	struct cprv_event ev;
	size_t len;
	char why[128];
	int rc = 0;

	p->polled_bytes += size;
	if (size < sizeof(struct cprv_event) || !p->fn)
		return 0;
	if (size == sizeof(struct cprv_event))
		return p->fn(p->arg, data);
	len = cprv_run_encode(data, size, p->enc);
	if (!len) {
		p->bad_runs++; /* never from our own BPF side; counted, not trusted */
		return 0;
	}
	if (p->run_fn)
		return p->run_fn(p->run_arg, p->enc, len);
	if (!cprv_run_open(p->enc, len, &it, why, sizeof(why))) {
		p->bad_runs++;
		return 0;
	}
	while (!rc && cprv_run_next(&it, &ev))
		rc = p->fn(p->arg, &ev);
	return rc;
}

struct cprv_probes *cprv_probes_load(const struct cprv_plan *plan,
				     const struct cprv_probe_opts *opts, char *err, size_t errlen)
{
	struct cprv_probes *p = calloc(1, sizeof(*p));
	size_t rb = opts && opts->ringbuf_bytes ? opts->ringbuf_bytes : 16u << 20;
	int cand[CPRV_HOOK_MAX];
	int rc;

	if (!p) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	libbpf_verbose = opts && opts->verbose;
	libbpf_set_print(libbpf_print);
	p->ncpu = libbpf_num_possible_cpus();
	p->skel = open_skel(rb);
	if (!p->skel) {
		snprintf(err, errlen, "cannot open the BPF object: %s", strerror(errno));
		free(p);
		return NULL;
	}
	if (opts && opts->wakeup_bytes)
		p->skel->rodata->wakeup_bytes = opts->wakeup_bytes;
	for (int h = 0; h < CPRV_HOOK_MAX; h++)
		cand[h] = plan->hooks[h].chosen;
	set_only(p->skel, cand);
	/* runs wait in a CPU until the recorder's tick (a uprobe on itself)
	 * flushes them: without uprobes every event goes out whole */
	p->compact = !(opts && opts->full_detail) && cand[CPRV_HOOK_USER_FN] >= 0;
	p->skel->rodata->compact = p->compact;
	p->skel->rodata->read_write_value = opts && opts->full_detail;
	p->skel->rodata->nr_cpus = p->ncpu;
	bpf_program__set_autoload(p->skel->progs.up_runs_tick, p->compact);
	last_libbpf_msg[0] = 0;
	rc = cprv__load(p->skel);
	if (rc) {
		fmt_err(err, errlen, "loading the BPF probes failed", rc);
		goto fail;
	}
	for (int h = 0; h < CPRV_HOOK_MAX; h++) {
		char why[160];

		if (cand[h] < 0)
			continue;
		rc = attach_hook(p->skel, h, cand[h], p->links[h], why, sizeof(why));
		if (rc) {
			snprintf(err, errlen, "%s: %s", cprv_hook_name(h), why);
			goto fail;
		}
	}
	if (p->compact) {
		LIBBPF_OPTS(bpf_uprobe_opts, o, .func_name = "cprv_runs_tick");

		last_libbpf_msg[0] = 0;
		p->tick_link = bpf_program__attach_uprobe_opts(p->skel->progs.up_runs_tick, -1,
							       "/proc/self/exe", 0, &o);
		if (!p->tick_link) {
			fmt_err(err, errlen, "the runs' tick (a uprobe on cprv_runs_tick) did not attach; "
				"--full-detail records without runs", -errno);
			goto fail;
		}
	}
	p->rb = ring_buffer__new(bpf_map__fd(p->skel->maps.events), on_sample, p, NULL);
	if (!p->rb) {
		snprintf(err, errlen, "cannot map the ring buffer: %s", strerror(errno));
		goto fail;
	}
	return p;
fail:
	cprv_probes_free(p);
	return NULL;
}

void cprv_probes_free(struct cprv_probes *p)
{
	if (!p)
		return;
	ring_buffer__free(p->rb);
	bpf_link__destroy(p->tick_link);
	for (int h = 0; h < CPRV_HOOK_MAX; h++)
		for (int i = 0; i < CPRV_MAX_PROGS; i++)
			bpf_link__destroy(p->links[h][i]);
	for (size_t i = 0; i < p->n_user_links; i++)
		bpf_link__destroy(p->user_links[i]);
	cprv__destroy(p->skel);
	free(p);
}

int cprv_probes_track(struct cprv_probes *p, pid_t tgid)
{
	__u32 key = tgid;
	__u8 one = 1;

	if (bpf_map_update_elem(bpf_map__fd(p->skel->maps.tracked), &key, &one, BPF_ANY))
		return -errno;
	/* the BPF side caches answers per CPU until this moves */
	__atomic_fetch_add(&p->skel->data->tracked_gen, 1, __ATOMIC_SEQ_CST);
	return 0;
}

int cprv_probes_tracked_alive(struct cprv_probes *p)
{
	int fd = bpf_map__fd(p->skel->maps.tracked), n = 0;
	__u32 key, next;
	__u32 *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		if (kill(next, 0) == 0 || errno == EPERM)
			n++;
		key = next;
		prev = &key;
	}
	return n;
}

static void clear_map(int fd, size_t keysz)
{
	unsigned char key[8], next[8];

	/* deleting while iterating: restart from the first key each time */
	while (bpf_map_get_next_key(fd, NULL, next) == 0) {
		memcpy(key, next, keysz);
		if (bpf_map_delete_elem(fd, key))
			break;
	}
}

void cprv_probes_forget_all(struct cprv_probes *p)
{
	clear_map(bpf_map__fd(p->skel->maps.tracked), sizeof(__u32));
	clear_map(bpf_map__fd(p->skel->maps.known), sizeof(__u64));
	clear_map(bpf_map__fd(p->skel->maps.sent), sizeof(__u64));
	clear_map(bpf_map__fd(p->skel->maps.task_tag), sizeof(__u32));
	clear_map(bpf_map__fd(p->skel->maps.pending), sizeof(__u32));
	__atomic_store_n(&p->skel->bss->task_tags, 0, __ATOMIC_SEQ_CST);
	__atomic_fetch_add(&p->skel->data->tracked_gen, 1, __ATOMIC_SEQ_CST);
}

int cprv_probes_stats(struct cprv_probes *p, uint64_t *out)
{
	int fd = bpf_map__fd(p->skel->maps.stats);
	uint64_t *vals = calloc(p->ncpu, sizeof(uint64_t));

	if (!vals)
		return -ENOMEM;
	for (__u32 k = 0; k < CPRV_STAT_MAX; k++) {
		out[k] = 0;
		if (bpf_map_lookup_elem(fd, &k, vals) == 0)
			for (int c = 0; c < p->ncpu; c++)
				out[k] += vals[c];
	}
	free(vals);
	return 0;
}

int cprv_probes_poll(struct cprv_probes *p, int timeout_ms, cprv_event_fn fn, void *arg)
{
	uint64_t now = cprv_now_ns();
	int n;

	if (p->polled_bytes < p->skel->rodata->wakeup_bytes / 2 &&
	    now - p->last_poll_ns < POLL_PERIOD_NS) {
		uint64_t left = POLL_PERIOD_NS - (now - p->last_poll_ns);
		struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)left };

		nanosleep(&ts, NULL); /* a signal ends it early: fine */
	}
	p->last_poll_ns = cprv_now_ns();
	p->polled_bytes = 0;
	p->fn = fn;
	p->arg = arg;
	if (p->compact)
		cprv_runs_tick(0);
	n = ring_buffer__poll(p->rb, timeout_ms);
	return n == -EINTR ? 0 : n;
}

int cprv_probes_drain(struct cprv_probes *p, cprv_event_fn fn, void *arg)
{
	p->fn = fn;
	p->arg = arg;
	if (p->compact)
		cprv_runs_tick(1);
	return ring_buffer__consume(p->rb);
}

void cprv_probes_run_sink(struct cprv_probes *p, cprv_run_fn fn, void *arg)
{
	p->run_fn = fn;
	p->run_arg = arg;
}

bool cprv_probes_compact(const struct cprv_probes *p)
{
	return p->compact;
}

uint64_t cprv_probes_bad_runs(const struct cprv_probes *p)
{
	return p->bad_runs;
}

int cprv_probes_attach_binary(struct cprv_probes *p, struct cprv_plan *plan, const char *binary,
			      char *err, size_t errlen)
{
	struct bpf_program *prog;
	char real[PATH_MAX];
	int n = 0;

	if (plan->hooks[CPRV_HOOK_USER_FN].chosen < 0) {
		snprintf(err, errlen, "uprobes are not available here: %s",
			 plan->hooks[CPRV_HOOK_USER_FN].why[0]);
		return -ENOTSUP;
	}
	if (!realpath(binary, real)) {
		snprintf(err, errlen, "%s: %s", binary, strerror(errno));
		return -errno;
	}
	for (unsigned i = 0; i < plan->n_binaries; i++)
		if (!strcmp(plan->binaries[i], real))
			return 0;
	if (plan->n_binaries >= CPRV_MAX_BINARIES) {
		snprintf(err, errlen, "more than %d binaries to probe", CPRV_MAX_BINARIES);
		return -E2BIG;
	}
	snprintf(plan->binaries[plan->n_binaries++], sizeof(plan->binaries[0]), "%s", real);
	prog = bpf_object__find_program_by_name(p->skel->obj, "up_fn");
	for (int f = 0; f < CPRV_UFN_MAX; f++) {
		struct bpf_link *l;

		if (f == CPRV_UFN_SELFTEST)
			continue;
		last_libbpf_msg[0] = 0;
		l = attach_ufn(prog, real, f);
		if (!l) {
			fmt_err(plan->ufns[f].why, sizeof(plan->ufns[f].why),
				"not in this binary", -errno);
			continue;
		}
		p->user_links[p->n_user_links++] = l;
		plan->ufns[f].attached++;
		n++;
	}
	return n;
}

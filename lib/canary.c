/* The canary: before anything is recorded, drive every hook of the plan
 * through real kernel objects and see which probes fire. A probe that
 * attached but stayed silent is "dead" (DESIGN section 2: fentry on
 * irqfd_wakeup attaches and never fires on some kernels), and a stage
 * whose probe is not proven live is never reported clean. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/aio_abi.h>
#include <linux/kvm.h>
#include "canary.h"
#include "kvmvm.h"
#include "probes.h"

#define CANARY_GSI    0
#define CANARY_VECTOR 0x41

/* Linux AIO completes with eventfd_signal(): a kernel-side producer just
 * like vfio_msihandler, so the S1 probe and the irqfd wake-up from a
 * kernel signal are exercised without a device. */
static int aio_signal(int efd)
{
	aio_context_t ctx = 0;
	struct iocb cb, *cbs[1] = { &cb };
	struct io_event ev;
	char buf[16];
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC), rc = -1;

	if (fd < 0 || syscall(SYS_io_setup, 1, &ctx) < 0)
		goto out;
	memset(&cb, 0, sizeof(cb));
	cb.aio_lio_opcode = IOCB_CMD_PREAD;
	cb.aio_fildes = fd;
	cb.aio_buf = (uint64_t)(uintptr_t)buf;
	cb.aio_nbytes = sizeof(buf);
	cb.aio_flags = IOCB_FLAG_RESFD;
	cb.aio_resfd = efd;
	if (syscall(SYS_io_submit, ctx, 1, cbs) == 1 &&
	    syscall(SYS_io_getevents, ctx, 1, 1, &ev, NULL) == 1)
		rc = 0;
	syscall(SYS_io_destroy, ctx);
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

static void msleep(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* The KVM path: replay on assign (workqueue), fast path (write), kernel
 * signal (AIO), KVM_SIGNAL_MSI and the LAPIC ioctls. */
static int exercise_kvm(char *why, size_t len)
{
	const struct cprv_msi_route route = { .gsi = CANARY_GSI, .address = 0xfee00000,
					      .data = CANARY_VECTOR };
	struct kvm_msi msi = { .address_lo = 0xfee00000, .data = CANARY_VECTOR };
	const uint32_t none[8] = { 0 };
	struct cprv_vm vm;
	uint32_t irr[8];
	uint64_t one = 1;
	int efd = -1, rc = -1;

	if (cprv_vm_create(&vm, why, len))
		return -1;
	if (cprv_vm_set_routes(&vm, &route, 1, why, len))
		goto out;
	efd = eventfd(0, EFD_CLOEXEC);
	if (efd < 0 || write(efd, &one, 8) != 8 || cprv_vm_irqfd(&vm, efd, CANARY_GSI, false)) {
		snprintf(why, len, "attaching the canary irqfd failed: %s", strerror(errno));
		goto out;
	}
	msleep(20); /* let the workqueue replay the pending count */
	if (write(efd, &one, 8) != 8 || aio_signal(efd) ||
	    ioctl(vm.vm, KVM_SIGNAL_MSI, &msi) < 0 || cprv_vm_read_irr(&vm, irr) ||
	    cprv_vm_merge_irr(&vm, none)) {
		snprintf(why, len, "signalling the canary VM failed: %s", strerror(errno));
		goto out;
	}
	cprv_vm_irqfd(&vm, efd, CANARY_GSI, true);
	rc = 0;
out:
	if (efd >= 0)
		close(efd);
	cprv_vm_close(&vm);
	return rc;
}

/* Processes and fds: eventfd create/write/read, SCM_RIGHTS, fork, exec, exit. */
static int exercise_process(char *why, size_t len)
{
	int sv[2], efd = eventfd(0, EFD_CLOEXEC), got = -1;
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	char byte = 'c';
	struct iovec iov = { &byte, 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *cm;
	uint64_t v = 1;
	pid_t pid;
	int st;

	if (efd < 0 || write(efd, &v, 8) != 8 || read(efd, &v, 8) != 8 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		snprintf(why, len, "eventfd/socketpair failed: %s", strerror(errno));
		return -1;
	}
	cm = CMSG_FIRSTHDR(&m);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &efd, sizeof(int));
	if (sendmsg(sv[0], &m, 0) == 1) {
		m.msg_controllen = sizeof(u.buf);
		if (recvmsg(sv[1], &m, 0) == 1 && (cm = CMSG_FIRSTHDR(&m)))
			memcpy(&got, CMSG_DATA(cm), sizeof(int));
	}
	close(sv[0]);
	close(sv[1]);
	if (got >= 0)
		close(got);
	close(efd);

	cprv_uprobe_selftest();
	pid = fork();
	if (pid == 0) {
		execl("/bin/true", "true", (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid) {
		snprintf(why, len, "fork/exec of /bin/true failed: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static int discard(void *arg, const struct cprv_event *ev)
{
	(*(uint64_t *)arg)++;
	return 0;
}

int cprv_canary_run(struct cprv_probes *p, struct cprv_plan *plan, char *err, size_t errlen)
{
	uint64_t before[CPRV_STAT_MAX], after[CPRV_STAT_MAX], seen = 0;
	char kvm_why[160] = "", proc_why[160] = "";
	bool kvm_ok, proc_ok;
	int live = 0, dead = 0, unproven = 0;

	cprv_probes_forget_all(p);
	if (cprv_probes_track(p, getpid()) || cprv_probes_stats(p, before)) {
		snprintf(err, errlen, "canary: cannot set up the BPF maps: %s", strerror(errno));
		return -1;
	}
	proc_ok = exercise_process(proc_why, sizeof(proc_why)) == 0;
	kvm_ok = exercise_kvm(kvm_why, sizeof(kvm_why)) == 0;
	msleep(50); /* late workqueue and exit events */
	while (cprv_probes_drain(p, discard, &seen) > 0)
		;
	cprv_probes_stats(p, after);
	cprv_probes_forget_all(p);

	for (int h = 0; h < CPRV_HOOK_MAX; h++) {
		struct cprv_hook_state *hs = &plan->hooks[h];
		enum cprv_canary_path path = cprv_hook_table[h].canary;
		bool exercised = (path == CPRV_CANARY_KVM && kvm_ok) ||
				 (path == CPRV_CANARY_PROCESS && proc_ok);

		hs->canary_hits = after[h] - before[h];
		hs->canary_note[0] = 0;
		if (hs->chosen < 0) {
			hs->canary = CPRV_CANARY_UNTESTED;
			continue;
		}
		if (hs->canary_hits > 0) {
			hs->canary = CPRV_CANARY_LIVE;
			live++;
		} else if (exercised) {
			hs->canary = CPRV_CANARY_DEAD;
			snprintf(hs->canary_note, sizeof(hs->canary_note), "attached, exercised, never fired");
			dead++;
		} else {
			hs->canary = CPRV_CANARY_UNPROVEN;
			unproven++;
			snprintf(hs->canary_note, sizeof(hs->canary_note), "%s",
				 path == CPRV_CANARY_KVM ? kvm_why :
				 path == CPRV_CANARY_PROCESS ? proc_why :
				 path == CPRV_CANARY_VFIO ? "needs a vfio device to fire" :
				 path == CPRV_CANARY_VCPU ? "needs a running guest to fire" :
				 "not on the canary path (posted interrupts)");
		}
	}
	plan->canary_ran = true;
	snprintf(plan->canary_summary, sizeof(plan->canary_summary),
		 "%d live, %d dead, %d unproven; KVM path %s; %llu canary events, %llu dropped",
		 live, dead, unproven, kvm_ok ? "exercised" : kvm_why, (unsigned long long)seen,
		 (unsigned long long)(after[CPRV_STAT_DROPS] - before[CPRV_STAT_DROPS]));
	return 0;
}

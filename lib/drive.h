/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What the QEMU driver did and saw (the `qemu` scenario kind): each live
 * update it attempted, how it ended, and the guest's heartbeat before and
 * after. The driver writes it as JSON next to the trace (qemu-run.json);
 * the verdict reads it back, because a QEMU that died or a guest that
 * stopped is a failure the kernel trace alone cannot name.
 *
 *   {"format":"cprv-qemu-run","version":1,"qemu":PATH,"qemu_version":"11.1.0",
 *    "mode":"transfer","cycles_planned":3,"device":false,"error":"",
 *    "heartbeat_start":N,"heartbeat_end":N,
 *    "cycles":[{"cycle":1,"ok":true,"why":"","old_pid":P,"new_pid":P,
 *               "hb_before":N,"hb_after":N,"begin_ns":T,"end_ns":T,
 *               "stop_ns":T,"running_ns":T,"old_qemu":"quit"}],
 *    "guest_msis":{"raised":N,"received":N,"lost":N,"spurious":N,"throttled":N}}
 *   (guest_msis: device scenarios only)
 */
#ifndef CPRV_DRIVE_H
#define CPRV_DRIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CPRV_DRIVE_FORMAT  "cprv-qemu-run"
#define CPRV_DRIVE_VERSION 1
#define CPRV_DRIVE_MAX_CYCLES 100

struct cprv_drive_cycle {
	uint32_t cycle;        /* 1-based */
	bool ok;               /* the new QEMU runs the guest and its heartbeat goes on */
	char why[256];         /* why not */
	int32_t old_pid, new_pid;
	uint64_t hb_before, hb_after;   /* guest timer ticks */
	uint64_t begin_ns, end_ns;      /* CLOCK_MONOTONIC: migrate issued .. verified */
	uint64_t stop_ns, running_ns;   /* QMP: old VM stopped, new VM running (0: not seen) */
	char old_qemu[64];     /* what became of the old QEMU: "quit", "exec'd", "running", "lost" */
};

struct cprv_drive {
	char qemu[256];
	char qemu_version[32];
	char mode[16];
	uint32_t cycles_planned;
	bool device;           /* the guest drives a device that raises MSIs */
	char error[256];       /* the driver could not do its job (tool error), "" if none */
	uint64_t heartbeat_start, heartbeat_end;
	/* the guest's own MSI counts, read with the VM stopped at the end (device
	 * scenarios): raised = MSIs the device had to send, received = handled */
	bool has_guest_counts;
	uint64_t guest_raised, guest_received, guest_lost, guest_spurious, guest_throttled;
	struct cprv_drive_cycle cycles[CPRV_DRIVE_MAX_CYCLES];
	size_t n_cycles;
};

int cprv_drive_save(const char *path, const struct cprv_drive *d, char *err, size_t errlen);
/* 0, or -1 with "PATH: what is wrong" (malformed input). */
int cprv_drive_load(const char *path, struct cprv_drive *d, char *err, size_t errlen);

#endif

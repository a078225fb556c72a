/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A QMP client on json-c: what the CPR driver needs to steer a QEMU through
 * a live update. One connection per QEMU. Every wait has a timeout, because
 * a QEMU that dies or hangs mid-CPR must become a verdict, never a hang of
 * the tool. Asynchronous events that arrive while a command waits for its
 * reply are queued, in order, with the CLOCK_MONOTONIC time they were read.
 */
#ifndef CPRV_QMP_H
#define CPRV_QMP_H

#include <stddef.h>
#include <stdint.h>

struct json_object;
struct cprv_qmp;

/* Results (negative). 0 is success. */
enum cprv_qmp_rc {
	CPRV_QMP_OK = 0,
	CPRV_QMP_ERR_REPLY = -1,   /* QEMU answered {"error":{class,desc}} */
	CPRV_QMP_ERR_TIMEOUT = -2, /* nothing (complete) within the timeout */
	CPRV_QMP_ERR_CLOSED = -3,  /* the peer closed the socket (QEMU died or quit) */
	CPRV_QMP_ERR_PROTO = -4,   /* malformed JSON, wrong shape, bad greeting */
	CPRV_QMP_ERR_IO = -5,      /* connect/read/write failed (errno in message) */
	CPRV_QMP_ERR_NOMEM = -6,
};

struct cprv_qmp_event {
	char name[64];              /* "STOP", "RESUME", "MIGRATION", ... */
	uint64_t mono_ns;           /* CLOCK_MONOTONIC when the line was read */
	int64_t qemu_sec, qemu_usec; /* QEMU's own timestamp (wall clock) */
	struct json_object *data;   /* owned by the event; NULL if absent */
};

/*
 * Connect to a QMP UNIX socket at path, retrying while it does not exist or
 * refuses (QEMU may still be starting) until timeout_ms passes, then read
 * the greeting and negotiate capabilities (qmp_capabilities).
 * On failure returns a CPRV_QMP_ERR_* and a message in err ("qmp
 * PATH: ...").
 */
int cprv_qmp_connect(struct cprv_qmp **out, const char *path, int timeout_ms,
		     char *err, size_t errlen);
/* The same on an already connected stream fd (taken over; closed by close). */
int cprv_qmp_connect_fd(struct cprv_qmp **out, int fd, const char *name,
			int timeout_ms, char *err, size_t errlen);
void cprv_qmp_close(struct cprv_qmp *q);

/* QEMU's version from the greeting. */
void cprv_qmp_version(const struct cprv_qmp *q, int *major, int *minor, int *micro);

/*
 * Execute command with args (NULL: none; borrowed, not consumed) and wait
 * up to timeout_ms for its reply. On success *ret (if ret) gets the
 * "return" value (caller puts it). CPRV_QMP_ERR_REPLY puts "CLASS: desc" in
 * err. Replies are matched by an "id" the client adds.
 */
int cprv_qmp_cmd(struct cprv_qmp *q, const char *cmd, struct json_object *args,
		 int timeout_ms, struct json_object **ret, char *err, size_t errlen);

/*
 * Take the next queued event, reading more for up to timeout_ms if the
 * queue is empty (0: do not wait). The caller owns ev->data afterwards
 * (cprv_qmp_event_free). CPRV_QMP_ERR_TIMEOUT if none came.
 */
int cprv_qmp_next_event(struct cprv_qmp *q, int timeout_ms,
			struct cprv_qmp_event *ev, char *err, size_t errlen);
void cprv_qmp_event_free(struct cprv_qmp_event *ev);

/*
 * Wait up to timeout_ms for event `name` (and, if not NULL, whose
 * data.status equals `status`, as for MIGRATION). Events consumed on the
 * way are passed to `seen` (if not NULL) before being freed, so a caller
 * that waits for "completed" still logs "setup" and "active".
 */
typedef void (*cprv_qmp_seen_fn)(const struct cprv_qmp_event *ev, void *arg);
int cprv_qmp_wait_event(struct cprv_qmp *q, const char *name, const char *status,
			int timeout_ms, cprv_qmp_seen_fn seen, void *arg,
			struct cprv_qmp_event *ev, char *err, size_t errlen);

/* The socket, for poll() by a caller that multiplexes several QEMUs. */
int cprv_qmp_fd(const struct cprv_qmp *q);

/* Name of a result code ("timeout", "closed", ...). */
const char *cprv_qmp_rc_name(int rc);

#endif

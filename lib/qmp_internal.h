/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Shared between qmp.c (commands, events, handshake) and qmp_wire.c (bytes
 * in and out, timeouts, messages). Not part of the public API.
 */
#ifndef CPRV_QMP_INTERNAL_H
#define CPRV_QMP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "qmp.h"

#define QMP_MAX_MSG (16u << 20) /* one QMP line; anything longer is not QEMU */
#define QMP_EXCERPT 60
#define QMP_CLOSED_MSG "QEMU closed the QMP connection (did it exit?)"

struct qmp_evnode {
	struct cprv_qmp_event ev;
	struct qmp_evnode *next;
};

struct cprv_qmp {
	int fd;
	char *name;
	int major, minor, micro;
	bool in_greeting; /* words parse errors as "not a QMP peer" */
	int dead;         /* sticky rc after CLOSED/PROTO/IO, 0 while usable */
	json_tokener *tok;
	size_t cur_len;   /* bytes fed for the value being parsed */
	char excerpt[QMP_EXCERPT + 1];
	size_t exlen;
	char rbuf[65536];
	size_t rpos, rlen;
	uint64_t read_ns; /* CLOCK_MONOTONIC when rbuf was filled */
	int64_t next_id;
	int64_t *late;    /* ids of commands that timed out: their replies may still come */
	size_t nlate, latecap;
	struct qmp_evnode *head, *tail;
};

uint64_t qmp_now_ns(void);
/* Negative timeouts mean "no limit" (UINT64_MAX). */
uint64_t qmp_deadline(int timeout_ms);
int qmp_remaining_ms(uint64_t dl);

/* "qmp NAME: ..." into err; returns rc. qmp_kill also marks q dead. */
__attribute__((format(printf, 5, 6)))
int qmp_fail(const char *name, char *err, size_t errlen, int rc, const char *fmt, ...);
__attribute__((format(printf, 5, 6)))
int qmp_kill(struct cprv_qmp *q, char *err, size_t errlen, int rc, const char *fmt, ...);
/* 0 if q is usable, else its sticky rc with a message. */
int qmp_check_dead(struct cprv_qmp *q, char *err, size_t errlen);
/* A short printable rendering of o for messages. */
void qmp_excerpt_of(const struct json_object *o, char *buf, size_t len);

/*
 * The next complete JSON object from the stream. CPRV_QMP_ERR_TIMEOUT comes
 * back without a message (the caller knows what it waited for).
 */
int qmp_read_obj(struct cprv_qmp *q, uint64_t dl, struct json_object **out,
		 char *err, size_t errlen);
int qmp_send_all(struct cprv_qmp *q, const char *buf, size_t len, uint64_t dl,
		 const char *cmd, char *err, size_t errlen);

#endif

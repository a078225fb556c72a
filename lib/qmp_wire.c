/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * QMP bytes in and out. Input is fed to one json_tokener as it arrives, so
 * an object split across reads, or several in one read, parse alike, and
 * garbage is reported at once instead of waiting for a newline a non-QMP
 * peer may never send. After a protocol or I/O error the stream cannot be
 * trusted, so the connection stays dead (sticky rc); a timeout leaves it
 * usable.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "qmp_internal.h"

uint64_t qmp_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Negative timeouts mean "no limit"; UINT64_MAX stands for that. */
uint64_t qmp_deadline(int timeout_ms)
{
	return timeout_ms < 0 ? UINT64_MAX : qmp_now_ns() + (uint64_t)timeout_ms * 1000000ull;
}

int qmp_remaining_ms(uint64_t dl)
{
	uint64_t n = qmp_now_ns();

	if (dl == UINT64_MAX)
		return -1;
	if (n >= dl)
		return 0;
	return (int)((dl - n + 999999) / 1000000);
}

static int vfail(const char *name, char *err, size_t errlen, int rc,
		 const char *fmt, va_list ap)
{
	if (err && errlen) {
		int n = snprintf(err, errlen, "qmp %s: ", name);

		if (n >= 0 && (size_t)n < errlen)
			vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	}
	return rc;
}

__attribute__((format(printf, 5, 6)))
int qmp_fail(const char *name, char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(name, err, errlen, rc, fmt, ap);
	va_end(ap);
	return rc;
}

/* Fail and mark the connection unusable. */
__attribute__((format(printf, 5, 6)))
int qmp_kill(struct cprv_qmp *q, char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	q->dead = rc;
	va_start(ap, fmt);
	vfail(q->name, err, errlen, rc, fmt, ap);
	va_end(ap);
	return rc;
}

int qmp_check_dead(struct cprv_qmp *q, char *err, size_t errlen)
{
	if (!q->dead)
		return 0;
	if (q->dead == CPRV_QMP_ERR_CLOSED)
		return qmp_fail(q->name, err, errlen, q->dead, QMP_CLOSED_MSG);
	return qmp_fail(q->name, err, errlen, q->dead,
			"connection unusable after an earlier %s error", cprv_qmp_rc_name(q->dead));
}

/* Keep the start of the value being parsed, printable, for error messages. */
static void keep_excerpt(struct cprv_qmp *q, const char *p, size_t n, bool to_eol)
{
	for (size_t i = 0; i < n && q->exlen < QMP_EXCERPT; i++) {
		unsigned char c = (unsigned char)p[i];

		if (to_eol && (c == '\r' || c == '\n') && q->exlen)
			break;
		q->excerpt[q->exlen++] = (c < 0x20 || c >= 0x7f) ? '.' : (char)c;
	}
	q->excerpt[q->exlen] = '\0';
}

void qmp_excerpt_of(const struct json_object *o, char *buf, size_t len)
{
	const char *s = json_object_to_json_string_ext((struct json_object *)o,
						       JSON_C_TO_STRING_PLAIN);
	size_t n = strlen(s);

	snprintf(buf, len, "%.*s%s", QMP_EXCERPT, s, n > QMP_EXCERPT ? "..." : "");
}

static int fill(struct cprv_qmp *q, uint64_t dl, char *err, size_t errlen)
{
	for (;;) {
		struct pollfd pfd = { .fd = q->fd, .events = POLLIN };
		int r = poll(&pfd, 1, qmp_remaining_ms(dl));
		ssize_t n;

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return qmp_kill(q, err, errlen, CPRV_QMP_ERR_IO, "poll: %s", strerror(errno));
		if (r == 0)
			return CPRV_QMP_ERR_TIMEOUT; /* the caller words it */
		n = read(q->fd, q->rbuf, sizeof(q->rbuf));
		if (n > 0) {
			q->rpos = 0;
			q->rlen = (size_t)n;
			q->read_ns = qmp_now_ns();
			return 0;
		}
		if (n == 0 || errno == ECONNRESET)
			return qmp_kill(q, err, errlen, CPRV_QMP_ERR_CLOSED, QMP_CLOSED_MSG);
		if (errno != EINTR && errno != EAGAIN)
			return qmp_kill(q, err, errlen, CPRV_QMP_ERR_IO, "read: %s", strerror(errno));
	}
}

/* The next complete JSON object from the stream. */
int qmp_read_obj(struct cprv_qmp *q, uint64_t dl, struct json_object **out,
		 char *err, size_t errlen)
{
	const char *what = q->in_greeting ? "not a QMP peer: " : "";

	for (;;) {
		while (q->rpos < q->rlen) {
			const char *p = q->rbuf + q->rpos;
			size_t n = q->rlen - q->rpos, used;
			struct json_object *o;
			enum json_tokener_error je;

			if (q->cur_len == 0 && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) {
				q->rpos++;
				continue;
			}
			o = json_tokener_parse_ex(q->tok, p, (int)n);
			je = json_tokener_get_error(q->tok);
			used = json_tokener_get_parse_end(q->tok);
			/* On an error, also quote what follows it, up to the line's end. */
			if (je == json_tokener_success || je == json_tokener_continue)
				keep_excerpt(q, p, used, false);
			else
				keep_excerpt(q, p, n, true);
			q->rpos += used;
			q->cur_len += used;
			if (je == json_tokener_continue) {
				if (q->cur_len > QMP_MAX_MSG)
					return qmp_kill(q, err, errlen, CPRV_QMP_ERR_PROTO,
							"%smessage longer than 16 MiB, starting '%s'",
							what, q->excerpt);
				continue;
			}
			if (je != json_tokener_success)
				return qmp_kill(q, err, errlen, CPRV_QMP_ERR_PROTO,
						"%smalformed JSON (%s) in '%s'", what,
						json_tokener_error_desc(je), q->excerpt);
			json_tokener_reset(q->tok);
			q->cur_len = 0;
			q->exlen = 0;
			if (!json_object_is_type(o, json_type_object)) {
				char ex[QMP_EXCERPT + 4];

				qmp_excerpt_of(o, ex, sizeof(ex));
				json_object_put(o);
				return qmp_kill(q, err, errlen, CPRV_QMP_ERR_PROTO,
						"%sexpected a JSON object, got '%s'", what, ex);
			}
			*out = o;
			return 0;
		}
		int r = fill(q, dl, err, errlen);

		if (r)
			return r;
	}
}

int qmp_send_all(struct cprv_qmp *q, const char *buf, size_t len, uint64_t dl,
		 const char *cmd, char *err, size_t errlen)
{
	size_t sent = 0;

	while (sent < len) {
		ssize_t n = send(q->fd, buf + sent, len - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
		struct pollfd pfd = { .fd = q->fd, .events = POLLOUT };
		int r;

		if (n > 0) {
			sent += (size_t)n;
			continue;
		}
		if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
			return qmp_kill(q, err, errlen, CPRV_QMP_ERR_CLOSED, QMP_CLOSED_MSG);
		if (n < 0 && errno != EINTR && errno != EAGAIN)
			return qmp_kill(q, err, errlen, CPRV_QMP_ERR_IO, "send: %s", strerror(errno));
		if (n < 0 && errno == EINTR)
			continue;
		r = poll(&pfd, 1, qmp_remaining_ms(dl));
		if (r < 0 && errno != EINTR)
			return qmp_kill(q, err, errlen, CPRV_QMP_ERR_IO, "poll: %s", strerror(errno));
		if (r == 0 && sent == 0)
			return qmp_fail(q->name, err, errlen, CPRV_QMP_ERR_TIMEOUT,
					"could not send %s: QEMU does not read its socket", cmd);
		if (r == 0) /* half a request on the wire: the stream is desynced */
			return qmp_kill(q, err, errlen, CPRV_QMP_ERR_TIMEOUT,
					"sending %s stalled halfway", cmd);
	}
	return 0;
}

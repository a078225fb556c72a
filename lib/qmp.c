/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * QMP client: handshake, commands matched to replies by id, and the event
 * queue. Bytes, timeouts and messages are in qmp_wire.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "qmp_internal.h"

#define QMP_RETRY_MS 20

static int enqueue_event(struct cprv_qmp *q, struct json_object *o, char *err, size_t errlen)
{
	struct json_object *name, *ts, *v, *data;
	struct qmp_evnode *node;
	char ex[QMP_EXCERPT + 4];

	if (!json_object_object_get_ex(o, "event", &name) ||
	    !json_object_is_type(name, json_type_string) ||
	    json_object_get_string_len(name) >= (int)sizeof(node->ev.name)) {
		qmp_excerpt_of(o, ex, sizeof(ex));
		return qmp_kill(q, err, errlen, CPRV_QMP_ERR_PROTO, "bad event '%s'", ex);
	}
	node = calloc(1, sizeof(*node));
	if (!node)
		return qmp_fail(q->name, err, errlen, CPRV_QMP_ERR_NOMEM, "out of memory");
	strcpy(node->ev.name, json_object_get_string(name));
	node->ev.mono_ns = q->read_ns;
	if (json_object_object_get_ex(o, "timestamp", &ts)) {
		if (json_object_object_get_ex(ts, "seconds", &v))
			node->ev.qemu_sec = json_object_get_int64(v);
		if (json_object_object_get_ex(ts, "microseconds", &v))
			node->ev.qemu_usec = json_object_get_int64(v);
	}
	if (json_object_object_get_ex(o, "data", &data))
		node->ev.data = json_object_get(data);
	if (q->tail)
		q->tail->next = node;
	else
		q->head = node;
	q->tail = node;
	return 0;
}

/* A late reply to a command that timed out: forget its id, report true. */
static bool take_late(struct cprv_qmp *q, int64_t id)
{
	for (size_t i = 0; i < q->nlate; i++) {
		if (q->late[i] == id) {
			q->late[i] = q->late[--q->nlate];
			return true;
		}
	}
	return false;
}

/*
 * Read one message. Events are queued and late replies dropped (*reply
 * stays NULL); any other reply is handed back in *reply with its id.
 */
static int pump(struct cprv_qmp *q, uint64_t dl, struct json_object **reply, int64_t *id,
		char *err, size_t errlen)
{
	struct json_object *o, *v;
	char ex[QMP_EXCERPT + 4];
	int r;

	*reply = NULL;
	r = qmp_read_obj(q, dl, &o, err, errlen);
	if (r)
		return r;
	if (json_object_object_get_ex(o, "event", NULL)) {
		r = enqueue_event(q, o, err, errlen);
		json_object_put(o);
		return r;
	}
	if (json_object_object_get_ex(o, "return", NULL) || json_object_object_get_ex(o, "error", NULL)) {
		if (json_object_object_get_ex(o, "id", &v) && json_object_is_type(v, json_type_int)) {
			*id = json_object_get_int64(v);
			if (take_late(q, *id)) {
				json_object_put(o);
				return 0;
			}
			*reply = o;
			return 0;
		}
		qmp_excerpt_of(o, ex, sizeof(ex));
		json_object_put(o);
		return qmp_kill(q, err, errlen, CPRV_QMP_ERR_PROTO, "reply without our id: '%s'", ex);
	}
	qmp_excerpt_of(o, ex, sizeof(ex));
	json_object_put(o);
	return qmp_kill(q, err, errlen, CPRV_QMP_ERR_PROTO, "unexpected message '%s'", ex);
}

static int remember_late(struct cprv_qmp *q, int64_t id)
{
	if (q->nlate == q->latecap) {
		size_t cap = q->latecap ? q->latecap * 2 : 8;
		int64_t *n = realloc(q->late, cap * sizeof(*n));

		if (!n)
			return -1;
		q->late = n;
		q->latecap = cap;
	}
	q->late[q->nlate++] = id;
	return 0;
}

/* Turn the reply to our command into a result. Consumes reply. */
static int take_reply(struct cprv_qmp *q, struct json_object *reply, struct json_object **ret,
		      char *err, size_t errlen)
{
	struct json_object *v, *cls, *desc;
	char ex[QMP_EXCERPT + 4];
	int rc = 0;

	if (json_object_object_get_ex(reply, "return", &v)) {
		if (ret)
			*ret = json_object_get(v);
	} else if (json_object_object_get_ex(reply, "error", &v) &&
		   json_object_object_get_ex(v, "class", &cls) &&
		   json_object_object_get_ex(v, "desc", &desc)) {
		rc = qmp_fail(q->name, err, errlen, CPRV_QMP_ERR_REPLY, "%s: %s",
			      json_object_get_string(cls), json_object_get_string(desc));
	} else {
		qmp_excerpt_of(reply, ex, sizeof(ex));
		rc = qmp_kill(q, err, errlen, CPRV_QMP_ERR_PROTO, "malformed error reply '%s'", ex);
	}
	json_object_put(reply);
	return rc;
}

int cprv_qmp_cmd(struct cprv_qmp *q, const char *cmd, struct json_object *args,
		 int timeout_ms, struct json_object **ret, char *err, size_t errlen)
{
	uint64_t dl = qmp_deadline(timeout_ms);
	struct json_object *req, *reply;
	int64_t myid, id = 0;
	const char *text;
	char *line;
	size_t len;
	int r;

	if (ret)
		*ret = NULL;
	if ((r = qmp_check_dead(q, err, errlen)))
		return r;
	req = json_object_new_object();
	if (!req)
		return qmp_fail(q->name, err, errlen, CPRV_QMP_ERR_NOMEM, "out of memory");
	myid = ++q->next_id;
	json_object_object_add(req, "execute", json_object_new_string(cmd));
	if (args)
		json_object_object_add(req, "arguments", json_object_get(args));
	json_object_object_add(req, "id", json_object_new_int64(myid));
	text = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	len = text ? strlen(text) : 0;
	line = text ? malloc(len + 2) : NULL;
	if (!line) {
		json_object_put(req);
		return qmp_fail(q->name, err, errlen, CPRV_QMP_ERR_NOMEM, "out of memory");
	}
	memcpy(line, text, len);
	line[len++] = '\n';
	json_object_put(req);
	r = qmp_send_all(q, line, len, dl, cmd, err, errlen);
	free(line);
	if (r)
		return r;
	for (;;) {
		r = pump(q, dl, &reply, &id, err, errlen);
		if (r == CPRV_QMP_ERR_TIMEOUT) {
			if (remember_late(q, myid))
				return qmp_kill(q, err, errlen, CPRV_QMP_ERR_NOMEM, "out of memory");
			return qmp_fail(q->name, err, errlen, r, "no reply to %s within %d ms", cmd, timeout_ms);
		}
		if (r)
			return r;
		if (!reply)
			continue;
		if (id == myid)
			return take_reply(q, reply, ret, err, errlen);
		json_object_put(reply);
		return qmp_kill(q, err, errlen, CPRV_QMP_ERR_PROTO,
				"reply with id %lld while waiting for %s (id %lld)",
				(long long)id, cmd, (long long)myid);
	}
}

int cprv_qmp_next_event(struct cprv_qmp *q, int timeout_ms, struct cprv_qmp_event *ev,
			char *err, size_t errlen)
{
	uint64_t dl = qmp_deadline(timeout_ms);
	struct json_object *reply;
	struct qmp_evnode *node;
	int64_t id = 0;
	int r;

	while (!q->head) {
		if ((r = qmp_check_dead(q, err, errlen)))
			return r;
		r = pump(q, dl, &reply, &id, err, errlen);
		if (r == CPRV_QMP_ERR_TIMEOUT)
			return qmp_fail(q->name, err, errlen, r, "no event within %d ms", timeout_ms);
		if (r)
			return r;
		if (reply) {
			json_object_put(reply);
			return qmp_kill(q, err, errlen, CPRV_QMP_ERR_PROTO,
					"reply with id %lld but no command is waiting", (long long)id);
		}
	}
	node = q->head;
	q->head = node->next;
	if (!q->head)
		q->tail = NULL;
	if (ev)
		*ev = node->ev;
	else
		json_object_put(node->ev.data);
	free(node);
	return 0;
}

void cprv_qmp_event_free(struct cprv_qmp_event *ev)
{
	if (!ev)
		return;
	json_object_put(ev->data);
	ev->data = NULL;
}

static bool status_is(const struct cprv_qmp_event *ev, const char *status)
{
	struct json_object *v;

	if (!status)
		return true;
	return ev->data && json_object_object_get_ex(ev->data, "status", &v) &&
	       json_object_is_type(v, json_type_string) &&
	       strcmp(json_object_get_string(v), status) == 0;
}

int cprv_qmp_wait_event(struct cprv_qmp *q, const char *name, const char *status,
			int timeout_ms, cprv_qmp_seen_fn seen, void *arg,
			struct cprv_qmp_event *ev, char *err, size_t errlen)
{
	uint64_t dl = qmp_deadline(timeout_ms);

	for (;;) {
		struct cprv_qmp_event e;
		int r = cprv_qmp_next_event(q, qmp_remaining_ms(dl), &e, err, errlen);

		if (r == CPRV_QMP_ERR_TIMEOUT)
			return qmp_fail(q->name, err, errlen, r, "no %s event%s%s within %d ms", name,
					status ? " with status " : "", status ? status : "", timeout_ms);
		if (r)
			return r;
		if (strcmp(e.name, name) == 0 && status_is(&e, status)) {
			if (ev)
				*ev = e;
			else
				cprv_qmp_event_free(&e);
			return 0;
		}
		if (seen)
			seen(&e, arg);
		cprv_qmp_event_free(&e);
	}
}

/* Greeting: {"QMP":{"version":{"qemu":{major,minor,micro},...},"capabilities":[...]}} */
static int read_greeting(struct cprv_qmp *q, uint64_t dl, int timeout_ms, char *err, size_t errlen)
{
	struct json_object *o, *qmp, *ver, *qemu, *caps, *m[3];
	static const char *const keys[3] = { "major", "minor", "micro" };
	char ex[QMP_EXCERPT + 4];
	bool ok;
	int r;

	q->in_greeting = true;
	r = qmp_read_obj(q, dl, &o, err, errlen);
	q->in_greeting = false;
	if (r == CPRV_QMP_ERR_TIMEOUT)
		return qmp_fail(q->name, err, errlen, r, "no QMP greeting within %d ms", timeout_ms);
	if (r)
		return r;
	ok = json_object_object_get_ex(o, "QMP", &qmp) &&
	     json_object_object_get_ex(qmp, "version", &ver) &&
	     json_object_object_get_ex(ver, "qemu", &qemu) &&
	     json_object_object_get_ex(qmp, "capabilities", &caps) &&
	     json_object_is_type(caps, json_type_array);
	for (int i = 0; ok && i < 3; i++)
		ok = json_object_object_get_ex(qemu, keys[i], &m[i]) &&
		     json_object_is_type(m[i], json_type_int);
	if (!ok) {
		qmp_excerpt_of(o, ex, sizeof(ex));
		json_object_put(o);
		return qmp_kill(q, err, errlen, CPRV_QMP_ERR_PROTO,
				"not a QMP peer: unexpected greeting '%s'", ex);
	}
	q->major = json_object_get_int(m[0]);
	q->minor = json_object_get_int(m[1]);
	q->micro = json_object_get_int(m[2]);
	json_object_put(o);
	return 0;
}

int cprv_qmp_connect_fd(struct cprv_qmp **out, int fd, const char *name,
			int timeout_ms, char *err, size_t errlen)
{
	uint64_t dl = qmp_deadline(timeout_ms);
	struct json_object *ret = NULL;
	struct cprv_qmp *q;
	int r, fl;

	*out = NULL;
	q = calloc(1, sizeof(*q));
	if (q) {
		q->fd = fd;
		q->name = strdup(name ? name : "?");
		q->tok = json_tokener_new();
	}
	if (!q || !q->name || !q->tok) {
		cprv_qmp_close(q);
		if (!q)
			close(fd);
		return qmp_fail(name ? name : "?", err, errlen, CPRV_QMP_ERR_NOMEM, "out of memory");
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		r = qmp_fail(q->name, err, errlen, CPRV_QMP_ERR_IO, "fcntl: %s", strerror(errno));
		cprv_qmp_close(q);
		return r;
	}
	r = read_greeting(q, dl, timeout_ms, err, errlen);
	if (!r)
		r = cprv_qmp_cmd(q, "qmp_capabilities", NULL, qmp_remaining_ms(dl), &ret, err, errlen);
	if (!r && !json_object_is_type(ret, json_type_object))
		r = qmp_fail(q->name, err, errlen, CPRV_QMP_ERR_PROTO,
			     "qmp_capabilities returned '%s', not {}", json_object_to_json_string(ret));
	json_object_put(ret);
	if (r) {
		cprv_qmp_close(q);
		return r;
	}
	*out = q;
	return 0;
}

int cprv_qmp_connect(struct cprv_qmp **out, const char *path, int timeout_ms,
		     char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	uint64_t dl = qmp_deadline(timeout_ms);

	*out = NULL;
	if (strlen(path) >= sizeof(sa.sun_path))
		return qmp_fail(path, err, errlen, CPRV_QMP_ERR_IO,
				"socket path too long (max %zu bytes)", sizeof(sa.sun_path) - 1);
	strcpy(sa.sun_path, path);
	for (;;) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), e, left;

		if (fd < 0)
			return qmp_fail(path, err, errlen, CPRV_QMP_ERR_IO, "socket: %s", strerror(errno));
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return cprv_qmp_connect_fd(out, fd, path, qmp_remaining_ms(dl), err, errlen);
		e = errno;
		close(fd);
		if (e == EINTR)
			continue;
		if (e != ENOENT && e != ECONNREFUSED)
			return qmp_fail(path, err, errlen, CPRV_QMP_ERR_IO, "connect: %s", strerror(e));
		left = qmp_remaining_ms(dl);
		if (left == 0)
			return qmp_fail(path, err, errlen, CPRV_QMP_ERR_TIMEOUT,
					"no QMP server after %d ms (connect: %s)", timeout_ms, strerror(e));
		usleep(1000u * (unsigned)(left < 0 || left > QMP_RETRY_MS ? QMP_RETRY_MS : left));
	}
}

void cprv_qmp_close(struct cprv_qmp *q)
{
	if (!q)
		return;
	while (q->head) {
		struct qmp_evnode *n = q->head;

		q->head = n->next;
		json_object_put(n->ev.data);
		free(n);
	}
	if (q->tok)
		json_tokener_free(q->tok);
	if (q->fd >= 0)
		close(q->fd);
	free(q->late);
	free(q->name);
	free(q);
}

void cprv_qmp_version(const struct cprv_qmp *q, int *major, int *minor, int *micro)
{
	if (major)
		*major = q->major;
	if (minor)
		*minor = q->minor;
	if (micro)
		*micro = q->micro;
}

int cprv_qmp_fd(const struct cprv_qmp *q)
{
	return q->fd;
}

const char *cprv_qmp_rc_name(int rc)
{
	switch (rc) {
	case CPRV_QMP_OK: return "ok";
	case CPRV_QMP_ERR_REPLY: return "reply";
	case CPRV_QMP_ERR_TIMEOUT: return "timeout";
	case CPRV_QMP_ERR_CLOSED: return "closed";
	case CPRV_QMP_ERR_PROTO: return "proto";
	case CPRV_QMP_ERR_IO: return "io";
	case CPRV_QMP_ERR_NOMEM: return "nomem";
	}
	return "unknown";
}

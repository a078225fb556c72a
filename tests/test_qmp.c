/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * QMP client. Most tests talk to a scripted peer on a socketpair: a thread
 * writing canned bytes, the only way to get malformed or hostile replies.
 * The last one drives a real qemu-system-x86_64.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "qmp.h"

#define GREETING "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 7}," \
		 " \"package\": \"Debian 1:7.2+dfsg-7\"}, \"capabilities\": [\"oob\"]}}\r\n"
#define CAPS_OK "{\"return\": {}, \"id\": 1}\r\n"

enum step_kind { S_END, S_WRITE, S_BYTES, S_READ, S_SLEEP, S_CLOSE, S_BIG };
struct step {
	enum step_kind k;
	const char *s;
	int ms;
};
#define W(x) { S_WRITE, x, 0 }
#define BYTES(x) { S_BYTES, x, 0 }
#define R { S_READ, NULL, 0 }
#define SLEEP(n) { S_SLEEP, NULL, n }
#define CLOSE { S_CLOSE, NULL, 0 }
#define BIG { S_BIG, NULL, 0 }
#define END { S_END, NULL, 0 }
#define HANDSHAKE W(GREETING), R, W(CAPS_OK)

struct peer {
	int fd;                  /* peer end; stays open after the script unless CLOSEd */
	const struct step *steps;
	const char *listen_path; /* if set: bind there after a delay, accept, then play */
	pthread_t th;
	char got[8][512];        /* lines the client sent */
	int ngot;
};

static void send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w <= 0)
			return; /* client gone: the test decides what that means */
		p += w;
		n -= (size_t)w;
	}
}

static void read_line(struct peer *p)
{
	char *line = p->ngot < 8 ? p->got[p->ngot++] : NULL;
	size_t n = 0;
	char c;

	for (;;) {
		struct pollfd pfd = { .fd = p->fd, .events = POLLIN };

		if (poll(&pfd, 1, 5000) <= 0 || read(p->fd, &c, 1) != 1 || c == '\n')
			break;
		if (line && n < sizeof(p->got[0]) - 1)
			line[n++] = c;
	}
	if (line)
		line[n] = '\0';
}

static void *peer_main(void *arg)
{
	struct peer *p = arg;

	if (p->listen_path) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		int ls;

		usleep(80 * 1000); /* the client must retry meanwhile */
		ls = socket(AF_UNIX, SOCK_STREAM, 0);
		strcpy(sa.sun_path, p->listen_path);
		if (bind(ls, (struct sockaddr *)&sa, sizeof(sa)) || listen(ls, 1))
			return NULL;
		p->fd = accept(ls, NULL, NULL);
		close(ls);
	}
	for (const struct step *s = p->steps; s->k != S_END; s++) {
		switch (s->k) {
		case S_WRITE:
			send_all(p->fd, s->s, strlen(s->s));
			break;
		case S_BYTES:
			for (const char *c = s->s; *c; c++) {
				send_all(p->fd, c, 1);
				usleep(100);
			}
			break;
		case S_READ:
			read_line(p);
			break;
		case S_SLEEP:
			usleep((useconds_t)s->ms * 1000);
			break;
		case S_CLOSE:
			close(p->fd);
			p->fd = -1;
			break;
		case S_BIG: {
			static char chunk[1 << 16];
			const char *head = "{\"return\": \"";

			memset(chunk, 'a', sizeof(chunk));
			send_all(p->fd, head, strlen(head));
			for (int i = 0; i < (17 << 20) / (int)sizeof(chunk); i++)
				send_all(p->fd, chunk, sizeof(chunk));
			break;
		}
		case S_END:
			break;
		}
	}
	return NULL;
}

static void peer_start(struct peer *p, const struct step *steps, int *client_fd)
{
	int sv[2];

	memset(p, 0, sizeof(*p));
	p->steps = steps;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	p->fd = sv[1];
	*client_fd = sv[0];
	assert_int_equal(pthread_create(&p->th, NULL, peer_main, p), 0);
}

/* Call after cprv_qmp_close: a peer blocked on the client then sees EOF. */
static void peer_finish(struct peer *p)
{
	pthread_join(p->th, NULL);
	if (p->fd >= 0)
		close(p->fd);
}

/* Scripted peer + connect_fd; returns the connect rc. */
static int start(struct peer *p, const struct step *steps, struct cprv_qmp **q,
		 char *err, size_t errlen)
{
	int fd;

	peer_start(p, steps, &fd);
	return cprv_qmp_connect_fd(q, fd, "test", 2000, err, errlen);
}

static void test_handshake(void **state)
{
	static const struct step steps[] = { HANDSHAKE, END };
	struct cprv_qmp *q;
	struct peer p;
	char err[256] = "";
	int major, minor, micro;

	assert_int_equal(start(&p, steps, &q, err, sizeof(err)), CPRV_QMP_OK);
	assert_non_null(q);
	cprv_qmp_version(q, &major, &minor, &micro);
	assert_int_equal(major, 7);
	assert_int_equal(minor, 2);
	assert_int_equal(micro, 0);
	assert_true(cprv_qmp_fd(q) >= 0);
	cprv_qmp_close(q);
	peer_finish(&p);
	assert_int_equal(p.ngot, 1);
	assert_string_equal(p.got[0], "{\"execute\":\"qmp_capabilities\",\"id\":1}");
}

static void test_reply_by_id_with_event(void **state)
{
	static const struct step steps[] = {
		HANDSHAKE, R,
		W("{\"timestamp\": {\"seconds\": 1700000000, \"microseconds\": 123456},"
		  " \"event\": \"STOP\"}\r\n"),
		W("{\"return\": {\"status\": \"paused\", \"running\": false}, \"id\": 2}\r\n"),
		R, W("{\"return\": {}, \"id\": 3}\r\n"), END,
	};
	struct json_object *ret, *args = json_object_new_object();
	struct cprv_qmp_event ev;
	struct cprv_qmp *q;
	struct peer p;
	char err[256] = "";
	uint64_t t0;
	struct timespec ts;

	assert_int_equal(start(&p, steps, &q, err, sizeof(err)), CPRV_QMP_OK);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	t0 = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	assert_int_equal(cprv_qmp_cmd(q, "query-status", NULL, 2000, &ret, err, sizeof(err)), 0);
	assert_string_equal(json_object_get_string(json_object_object_get(ret, "status")), "paused");
	json_object_put(ret);

	/* The event that came before the reply waits in the queue. */
	assert_int_equal(cprv_qmp_next_event(q, 0, &ev, err, sizeof(err)), 0);
	assert_string_equal(ev.name, "STOP");
	assert_int_equal(ev.qemu_sec, 1700000000);
	assert_int_equal(ev.qemu_usec, 123456);
	assert_null(ev.data);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	assert_true(ev.mono_ns >= t0);
	assert_true(ev.mono_ns <= (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec);
	cprv_qmp_event_free(&ev);
	assert_int_equal(cprv_qmp_next_event(q, 0, &ev, err, sizeof(err)), CPRV_QMP_ERR_TIMEOUT);

	/* Arguments are borrowed: still ours afterwards. */
	json_object_object_add(args, "device", json_object_new_string("vfio0"));
	assert_int_equal(cprv_qmp_cmd(q, "device_del", args, 2000, NULL, err, sizeof(err)), 0);
	assert_string_equal(json_object_get_string(json_object_object_get(args, "device")), "vfio0");
	assert_int_equal(json_object_put(args), 1); /* 1: this put freed it */
	cprv_qmp_close(q);
	peer_finish(&p);
	assert_string_equal(p.got[1], "{\"execute\":\"query-status\",\"id\":2}");
	assert_string_equal(p.got[2],
			    "{\"execute\":\"device_del\",\"arguments\":{\"device\":\"vfio0\"},\"id\":3}");
}

static void test_error_reply(void **state)
{
	static const struct step steps[] = {
		HANDSHAKE, R,
		W("{\"id\": 2, \"error\": {\"class\": \"CommandNotFound\", "
		  "\"desc\": \"The command nope has not been found\"}}\n"),
		R, W("{\"return\": {\"n\": 3}, \"id\": 3}\n"), END,
	};
	struct json_object *ret = (void *)1;
	struct cprv_qmp *q;
	struct peer p;
	char err[256] = "";

	assert_int_equal(start(&p, steps, &q, err, sizeof(err)), CPRV_QMP_OK);
	assert_int_equal(cprv_qmp_cmd(q, "nope", NULL, 2000, &ret, err, sizeof(err)),
			 CPRV_QMP_ERR_REPLY);
	assert_null(ret);
	assert_string_equal(err, "qmp test: CommandNotFound: The command nope has not been found");
	/* An error reply does not break the connection. */
	assert_int_equal(cprv_qmp_cmd(q, "query-status", NULL, 2000, &ret, err, sizeof(err)), 0);
	assert_int_equal(json_object_get_int(json_object_object_get(ret, "n")), 3);
	json_object_put(ret);
	cprv_qmp_close(q);
	peer_finish(&p);
}

static void test_malformed_json(void **state)
{
	static const struct step steps[] = { HANDSHAKE, R, W("{\"return\": {]}, \"id\": 2}\n"), END };
	struct cprv_qmp *q;
	struct peer p;
	char err[256] = "";

	assert_int_equal(start(&p, steps, &q, err, sizeof(err)), CPRV_QMP_OK);
	assert_int_equal(cprv_qmp_cmd(q, "query-status", NULL, 2000, NULL, err, sizeof(err)),
			 CPRV_QMP_ERR_PROTO);
	assert_non_null(strstr(err, "qmp test: malformed JSON"));
	assert_non_null(strstr(err, "in '{\"return\": {]}, \"id\": 2}'"));
	/* The stream cannot be trusted any more. */
	assert_int_equal(cprv_qmp_cmd(q, "query-status", NULL, 2000, NULL, err, sizeof(err)),
			 CPRV_QMP_ERR_PROTO);
	assert_non_null(strstr(err, "unusable"));
	cprv_qmp_close(q);
	peer_finish(&p);
}

static void test_bad_replies(void **state)
{
	static const struct step wrong_id[] = { HANDSHAKE, R, W("{\"return\": {}, \"id\": 7}\n"), END };
	static const struct step no_id[] = { HANDSHAKE, R, W("{\"return\": {}}\n"), END };
	static const struct step array[] = { HANDSHAKE, R, W("[1, 2]\n"), END };
	static const struct step stray[] = { HANDSHAKE, W("{\"return\": {}, \"id\": 9}\n"), END };
	struct cprv_qmp *q;
	struct cprv_qmp_event ev;
	struct peer p;
	char err[256] = "";

	assert_int_equal(start(&p, wrong_id, &q, err, sizeof(err)), 0);
	assert_int_equal(cprv_qmp_cmd(q, "query-status", NULL, 2000, NULL, err, sizeof(err)),
			 CPRV_QMP_ERR_PROTO);
	assert_string_equal(err, "qmp test: reply with id 7 while waiting for query-status (id 2)");
	cprv_qmp_close(q);
	peer_finish(&p);

	assert_int_equal(start(&p, no_id, &q, err, sizeof(err)), 0);
	assert_int_equal(cprv_qmp_cmd(q, "query-status", NULL, 2000, NULL, err, sizeof(err)),
			 CPRV_QMP_ERR_PROTO);
	assert_string_equal(err, "qmp test: reply without our id: '{\"return\":{}}'");
	cprv_qmp_close(q);
	peer_finish(&p);

	assert_int_equal(start(&p, array, &q, err, sizeof(err)), 0);
	assert_int_equal(cprv_qmp_cmd(q, "query-status", NULL, 2000, NULL, err, sizeof(err)),
			 CPRV_QMP_ERR_PROTO);
	assert_string_equal(err, "qmp test: expected a JSON object, got '[1,2]'");
	cprv_qmp_close(q);
	peer_finish(&p);

	/* A reply while only events are awaited. */
	assert_int_equal(start(&p, stray, &q, err, sizeof(err)), 0);
	assert_int_equal(cprv_qmp_next_event(q, 2000, &ev, err, sizeof(err)), CPRV_QMP_ERR_PROTO);
	assert_string_equal(err, "qmp test: reply with id 9 but no command is waiting");
	cprv_qmp_close(q);
	peer_finish(&p);
}

static void test_not_qmp(void **state)
{
	static const struct step ssh[] = { W("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"), END };
	static const struct step json[] = { W("{\"hello\": \"world\"}\n"), END };
	static const struct step nover[] = { W("{\"QMP\": {\"capabilities\": []}}\n"), END };
	struct cprv_qmp *q = (void *)1;
	struct peer p;
	char err[256] = "";

	assert_int_equal(start(&p, ssh, &q, err, sizeof(err)), CPRV_QMP_ERR_PROTO);
	assert_null(q);
	assert_non_null(strstr(err, "qmp test: not a QMP peer: malformed JSON"));
	assert_non_null(strstr(err, "in 'SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3'"));
	peer_finish(&p);

	assert_int_equal(start(&p, json, &q, err, sizeof(err)), CPRV_QMP_ERR_PROTO);
	assert_string_equal(err, "qmp test: not a QMP peer: unexpected greeting '{\"hello\":\"world\"}'");
	peer_finish(&p);

	assert_int_equal(start(&p, nover, &q, err, sizeof(err)), CPRV_QMP_ERR_PROTO);
	assert_non_null(strstr(err, "unexpected greeting"));
	peer_finish(&p);
}

static void test_closed_mid_reply(void **state)
{
	static const struct step steps[] = { HANDSHAKE, R, W("{\"return\": {\"sta"), CLOSE, END };
	struct cprv_qmp *q;
	struct peer p;
	char err[256] = "";

	assert_int_equal(start(&p, steps, &q, err, sizeof(err)), 0);
	assert_int_equal(cprv_qmp_cmd(q, "query-status", NULL, 2000, NULL, err, sizeof(err)),
			 CPRV_QMP_ERR_CLOSED);
	assert_string_equal(err, "qmp test: QEMU closed the QMP connection (did it exit?)");
	err[0] = '\0';
	assert_int_equal(cprv_qmp_cmd(q, "query-status", NULL, 2000, NULL, err, sizeof(err)),
			 CPRV_QMP_ERR_CLOSED);
	assert_string_equal(err, "qmp test: QEMU closed the QMP connection (did it exit?)");
	cprv_qmp_close(q);
	peer_finish(&p);
}

/* The peer is gone before we send: EPIPE must be an error, not SIGPIPE. */
static void test_peer_gone_no_sigpipe(void **state)
{
	static const struct step steps[] = { HANDSHAKE, CLOSE, END };
	struct cprv_qmp *q;
	struct peer p;
	char err[256] = "";

	signal(SIGPIPE, SIG_DFL);
	assert_int_equal(start(&p, steps, &q, err, sizeof(err)), 0);
	pthread_join(p.th, NULL);
	assert_int_equal(cprv_qmp_cmd(q, "query-status", NULL, 2000, NULL, err, sizeof(err)),
			 CPRV_QMP_ERR_CLOSED);
	cprv_qmp_close(q);
}

static void test_timeout_silent(void **state)
{
	static const struct step mute[] = { END };
	static const struct step steps[] = { HANDSHAKE, END };
	struct cprv_qmp *q;
	struct cprv_qmp_event ev;
	struct peer p;
	char err[256] = "";
	int fd;

	peer_start(&p, mute, &fd);
	assert_int_equal(cprv_qmp_connect_fd(&q, fd, "test", 100, err, sizeof(err)),
			 CPRV_QMP_ERR_TIMEOUT);
	assert_string_equal(err, "qmp test: no QMP greeting within 100 ms");
	peer_finish(&p);

	assert_int_equal(start(&p, steps, &q, err, sizeof(err)), 0);
	assert_int_equal(cprv_qmp_cmd(q, "query-status", NULL, 100, NULL, err, sizeof(err)),
			 CPRV_QMP_ERR_TIMEOUT);
	assert_string_equal(err, "qmp test: no reply to query-status within 100 ms");
	assert_int_equal(cprv_qmp_next_event(q, 100, &ev, err, sizeof(err)), CPRV_QMP_ERR_TIMEOUT);
	assert_int_equal(cprv_qmp_wait_event(q, "STOP", NULL, 100, NULL, NULL, &ev, err, sizeof(err)),
			 CPRV_QMP_ERR_TIMEOUT);
	assert_string_equal(err, "qmp test: no STOP event within 100 ms");
	cprv_qmp_close(q);
	peer_finish(&p);
}

/* The reply to a command that timed out comes later: dropped quietly. */
static void test_late_reply_dropped(void **state)
{
	static const struct step steps[] = {
		HANDSHAKE, R, R,
		W("{\"return\": {\"n\": 2}, \"id\": 2}\n{\"return\": {\"n\": 3}, \"id\": 3}\n"), END,
	};
	struct json_object *ret;
	struct cprv_qmp *q;
	struct peer p;
	char err[256] = "";

	assert_int_equal(start(&p, steps, &q, err, sizeof(err)), 0);
	assert_int_equal(cprv_qmp_cmd(q, "slow", NULL, 100, &ret, err, sizeof(err)),
			 CPRV_QMP_ERR_TIMEOUT);
	assert_int_equal(cprv_qmp_cmd(q, "fast", NULL, 2000, &ret, err, sizeof(err)), 0);
	assert_int_equal(json_object_get_int(json_object_object_get(ret, "n")), 3);
	json_object_put(ret);
	cprv_qmp_close(q);
	peer_finish(&p);
}

static void test_split_bytewise(void **state)
{
	static const struct step steps[] = {
		BYTES(GREETING), R, BYTES(CAPS_OK), R,
		BYTES("{\"event\": \"RESUME\", \"timestamp\": {\"seconds\": 5, \"microseconds\": 6}}\r\n"
		      "{\"return\": {\"status\": \"running\"}, \"id\": 2}\r\n"), END,
	};
	struct json_object *ret;
	struct cprv_qmp_event ev;
	struct cprv_qmp *q;
	struct peer p;
	char err[256] = "";
	int major;

	assert_int_equal(start(&p, steps, &q, err, sizeof(err)), 0);
	cprv_qmp_version(q, &major, NULL, NULL);
	assert_int_equal(major, 7);
	assert_int_equal(cprv_qmp_cmd(q, "query-status", NULL, 2000, &ret, err, sizeof(err)), 0);
	assert_string_equal(json_object_get_string(json_object_object_get(ret, "status")), "running");
	json_object_put(ret);
	assert_int_equal(cprv_qmp_next_event(q, 0, &ev, err, sizeof(err)), 0);
	assert_string_equal(ev.name, "RESUME");
	assert_int_equal(ev.qemu_sec, 5);
	assert_int_equal(ev.qemu_usec, 6);
	cprv_qmp_event_free(&ev);
	cprv_qmp_close(q);
	peer_finish(&p);
}

/* Several objects in one write, events around a reply: FIFO order kept. */
static void test_event_order(void **state)
{
	static const struct step steps[] = {
		HANDSHAKE, R,
		W("{\"event\": \"A\", \"data\": {\"i\": 1}}\n{\"event\": \"B\", \"data\": {\"i\": 2}}\n"
		  "{\"return\": {}, \"id\": 2}\n{\"event\": \"C\", \"data\": {\"i\": 3}}\n"), END,
	};
	static const char *const want[] = { "A", "B", "C" };
	struct cprv_qmp_event ev;
	struct cprv_qmp *q;
	struct peer p;
	char err[256] = "";

	assert_int_equal(start(&p, steps, &q, err, sizeof(err)), 0);
	assert_int_equal(cprv_qmp_cmd(q, "stop", NULL, 2000, NULL, err, sizeof(err)), 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(cprv_qmp_next_event(q, 1000, &ev, err, sizeof(err)), 0);
		assert_string_equal(ev.name, want[i]);
		assert_int_equal(json_object_get_int(json_object_object_get(ev.data, "i")), i + 1);
		cprv_qmp_event_free(&ev);
		assert_null(ev.data);
	}
	assert_int_equal(cprv_qmp_next_event(q, 0, &ev, err, sizeof(err)), CPRV_QMP_ERR_TIMEOUT);
	cprv_qmp_close(q);
	peer_finish(&p);
}

struct seen_log {
	char names[8][80];
	int n;
};

static void log_seen(const struct cprv_qmp_event *ev, void *arg)
{
	struct seen_log *l = arg;
	struct json_object *st = NULL;

	if (l->n < 8) {
		if (ev->data)
			json_object_object_get_ex(ev->data, "status", &st);
		snprintf(l->names[l->n++], sizeof(l->names[0]), "%s%s%s", ev->name,
			 st ? "/" : "", st ? json_object_get_string(st) : "");
	}
}

static void test_wait_event_status(void **state)
{
	static const struct step steps[] = {
		HANDSHAKE,
		W("{\"event\": \"MIGRATION\", \"data\": {\"status\": \"setup\"}}\n"),
		SLEEP(20),
		W("{\"event\": \"STOP\"}\n{\"event\": \"MIGRATION\", \"data\": {\"status\": \"active\"}}\n"),
		W("{\"event\": \"MIGRATION\", \"data\": {\"status\": \"completed\"}}\n"
		  "{\"event\": \"RESUME\"}\n"), END,
	};
	struct cprv_qmp_event ev;
	struct seen_log log = { .n = 0 };
	struct cprv_qmp *q;
	struct peer p;
	char err[256] = "";

	assert_int_equal(start(&p, steps, &q, err, sizeof(err)), 0);
	assert_int_equal(cprv_qmp_wait_event(q, "MIGRATION", "completed", 2000, log_seen, &log,
					     &ev, err, sizeof(err)), 0);
	assert_string_equal(ev.name, "MIGRATION");
	assert_string_equal(json_object_get_string(json_object_object_get(ev.data, "status")),
			    "completed");
	cprv_qmp_event_free(&ev);
	assert_int_equal(log.n, 3);
	assert_string_equal(log.names[0], "MIGRATION/setup");
	assert_string_equal(log.names[1], "STOP");
	assert_string_equal(log.names[2], "MIGRATION/active");
	/* What came after the match stays queued. */
	assert_int_equal(cprv_qmp_next_event(q, 1000, &ev, err, sizeof(err)), 0);
	assert_string_equal(ev.name, "RESUME");
	cprv_qmp_event_free(&ev);
	assert_int_equal(cprv_qmp_wait_event(q, "MIGRATION", "failed", 50, NULL, NULL, &ev, err,
					     sizeof(err)), CPRV_QMP_ERR_TIMEOUT);
	assert_string_equal(err, "qmp test: no MIGRATION event with status failed within 50 ms");
	cprv_qmp_close(q);
	peer_finish(&p);
}

static void test_oversized_line(void **state)
{
	static const struct step steps[] = { HANDSHAKE, BIG, END };
	struct cprv_qmp *q;
	struct peer p;
	char err[256] = "";

	assert_int_equal(start(&p, steps, &q, err, sizeof(err)), 0);
	assert_int_equal(cprv_qmp_cmd(q, "query-status", NULL, 20000, NULL, err, sizeof(err)),
			 CPRV_QMP_ERR_PROTO);
	assert_non_null(strstr(err, "qmp test: message longer than 16 MiB, starting '{\"return\": \"aaa"));
	cprv_qmp_close(q);
	peer_finish(&p);
}

/* By path: the socket appears only after a while (QEMU still starting). */
static void test_connect_path(void **state)
{
	static const struct step steps[] = { HANDSHAKE, END };
	char dir[] = "/tmp/test_qmp.XXXXXX", path[128], err[256] = "";
	struct cprv_qmp *q = (void *)1;
	struct peer p;
	char longpath[200];

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/qmp.sock", dir);
	assert_int_equal(cprv_qmp_connect(&q, path, 100, err, sizeof(err)), CPRV_QMP_ERR_TIMEOUT);
	assert_null(q);
	assert_non_null(strstr(err, "No such file or directory"));
	assert_true(strncmp(err, "qmp /tmp/test_qmp.", 18) == 0);

	memset(&p, 0, sizeof(p));
	p.steps = steps;
	p.listen_path = path;
	assert_int_equal(pthread_create(&p.th, NULL, peer_main, &p), 0);
	assert_int_equal(cprv_qmp_connect(&q, path, 3000, err, sizeof(err)), 0);
	cprv_qmp_close(q);
	peer_finish(&p);
	unlink(path);
	rmdir(dir);

	memset(longpath, 'x', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	assert_int_equal(cprv_qmp_connect(&q, longpath, 100, err, sizeof(err)), CPRV_QMP_ERR_IO);
	assert_non_null(strstr(err, "socket path too long"));
}

static void test_rc_names(void **state)
{
	assert_string_equal(cprv_qmp_rc_name(CPRV_QMP_OK), "ok");
	assert_string_equal(cprv_qmp_rc_name(CPRV_QMP_ERR_REPLY), "reply");
	assert_string_equal(cprv_qmp_rc_name(CPRV_QMP_ERR_TIMEOUT), "timeout");
	assert_string_equal(cprv_qmp_rc_name(CPRV_QMP_ERR_CLOSED), "closed");
	assert_string_equal(cprv_qmp_rc_name(CPRV_QMP_ERR_PROTO), "proto");
	assert_string_equal(cprv_qmp_rc_name(CPRV_QMP_ERR_IO), "io");
	assert_string_equal(cprv_qmp_rc_name(CPRV_QMP_ERR_NOMEM), "nomem");
	assert_string_equal(cprv_qmp_rc_name(42), "unknown");
}

static int find_in_path(const char *bin, char *out, size_t len)
{
	const char *path = getenv("PATH");
	char buf[4096];

	snprintf(buf, sizeof(buf), "%s", path ? path : "/usr/bin:/bin");
	for (char *save, *d = strtok_r(buf, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		snprintf(out, len, "%s/%s", d, bin);
		if (access(out, X_OK) == 0)
			return 0;
	}
	return -1;
}

static int reap(pid_t pid, int timeout_ms)
{
	int st;

	for (int waited = 0; waited < timeout_ms; waited += 10) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return st;
		usleep(10 * 1000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

struct qemu_child {
	pid_t pid;
	char dir[32], sock[64];
};

static int qemu_setup(void **state)
{
	struct qemu_child *c = calloc(1, sizeof(*c));

	if (!c)
		return -1;
	c->pid = -1;
	*state = c;
	return 0;
}

/* Runs even when an assertion failed halfway: no QEMU is left behind. */
static int qemu_teardown(void **state)
{
	struct qemu_child *c = *state;

	if (c->pid > 0)
		reap(c->pid, 0);
	if (c->sock[0])
		unlink(c->sock);
	if (c->dir[0])
		rmdir(c->dir);
	free(c);
	return 0;
}

static void test_real_qemu(void **state)
{
	struct qemu_child *c = *state;
	char arg[160], bin[512], err[256] = "";
	struct json_object *ret;
	struct cprv_qmp_event ev;
	struct cprv_qmp *q;
	const char *status;
	int major, minor, micro, rc, st;

	if (find_in_path("qemu-system-x86_64", bin, sizeof(bin)))
		fail_msg("qemu-system-x86_64 not found in PATH: run scenarios/install-deps.sh");
	strcpy(c->dir, "/tmp/test_qmp.XXXXXX");
	assert_non_null(mkdtemp(c->dir));
	snprintf(c->sock, sizeof(c->sock), "%s/qmp.sock", c->dir);
	snprintf(arg, sizeof(arg), "unix:%s,server=on,wait=off", c->sock);
	c->pid = fork();
	assert_true(c->pid >= 0);
	if (c->pid == 0) {
		char *argv[] = { bin, "-machine", "none", "-display", "none", "-nodefaults",
				 "-S", "-qmp", arg, NULL };

		if (!freopen("/dev/null", "r", stdin))
			_exit(126);
		execv(bin, argv);
		_exit(127);
	}
	rc = cprv_qmp_connect(&q, c->sock, 10000, err, sizeof(err));
	if (rc)
		fail_msg("connect to real QEMU: %s (rc %s)", err, cprv_qmp_rc_name(rc));
	cprv_qmp_version(q, &major, &minor, &micro);
	print_message("real QEMU %d.%d.%d\n", major, minor, micro);
	assert_true(major >= 7);

	assert_int_equal(cprv_qmp_cmd(q, "query-status", NULL, 5000, &ret, err, sizeof(err)), 0);
	status = json_object_get_string(json_object_object_get(ret, "status"));
	assert_non_null(status);
	print_message("status under -S: %s\n", status);
	if (strcmp(status, "prelaunch") && strcmp(status, "paused"))
		fail_msg("query-status with -S: '%s', expected prelaunch or paused", status);
	json_object_put(ret);

	assert_int_equal(cprv_qmp_cmd(q, "cont", NULL, 5000, NULL, err, sizeof(err)), 0);
	rc = cprv_qmp_wait_event(q, "RESUME", NULL, 5000, NULL, NULL, &ev, err, sizeof(err));
	if (rc)
		fail_msg("%s", err);
	assert_true(ev.qemu_sec > 1600000000); /* QEMU's wall clock, not zero */
	assert_true(ev.mono_ns > 0);
	cprv_qmp_event_free(&ev);
	assert_int_equal(cprv_qmp_cmd(q, "stop", NULL, 5000, NULL, err, sizeof(err)), 0);
	assert_int_equal(cprv_qmp_wait_event(q, "STOP", NULL, 5000, NULL, NULL, &ev, err,
					     sizeof(err)), 0);
	cprv_qmp_event_free(&ev);

	assert_int_equal(cprv_qmp_cmd(q, "no-such-command", NULL, 5000, NULL, err, sizeof(err)),
			 CPRV_QMP_ERR_REPLY);
	assert_non_null(strstr(err, ": CommandNotFound: "));

	assert_int_equal(cprv_qmp_cmd(q, "quit", NULL, 5000, NULL, err, sizeof(err)), 0);
	assert_int_equal(cprv_qmp_wait_event(q, "SHUTDOWN", NULL, 5000, NULL, NULL, &ev, err,
					     sizeof(err)), 0);
	cprv_qmp_event_free(&ev);
	assert_int_equal(cprv_qmp_cmd(q, "query-status", NULL, 5000, NULL, err, sizeof(err)),
			 CPRV_QMP_ERR_CLOSED);
	assert_non_null(strstr(err, "QEMU closed the QMP connection (did it exit?)"));
	cprv_qmp_close(q);
	st = reap(c->pid, 10000);
	c->pid = -1;
	assert_true(st != -1 && WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshake),
		cmocka_unit_test(test_reply_by_id_with_event),
		cmocka_unit_test(test_error_reply),
		cmocka_unit_test(test_malformed_json),
		cmocka_unit_test(test_bad_replies),
		cmocka_unit_test(test_not_qmp),
		cmocka_unit_test(test_closed_mid_reply),
		cmocka_unit_test(test_peer_gone_no_sigpipe),
		cmocka_unit_test(test_timeout_silent),
		cmocka_unit_test(test_late_reply_dropped),
		cmocka_unit_test(test_split_bytewise),
		cmocka_unit_test(test_event_order),
		cmocka_unit_test(test_wait_event_status),
		cmocka_unit_test(test_oversized_line),
		cmocka_unit_test(test_connect_path),
		cmocka_unit_test(test_rc_names),
		cmocka_unit_test_setup_teardown(test_real_qemu, qemu_setup, qemu_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Helpers for the live tests: run the real binaries, capture what they say,
 * parse their JSON. No mocks: these tests drive BPF and KVM for real. */
#ifndef CPRV_LIVEUTIL_H
#define CPRV_LIVEUTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <json-c/json.h>

struct cmd_result {
	int status;   /* exit code, or 128+signal */
	char *out;    /* stdout, NUL-terminated */
	char *err;    /* stderr */
};

/* The build dir under test ($CPRV_BUILD, default "build"). */
const char *live_build(void);
/* "$CPRV_BUILD/<name>" in a static buffer per call site. */
void live_path(char *buf, size_t len, const char *name);

/* Runs argv (NULL-terminated) to completion, capturing stdout and stderr.
 * Kills it after timeout_s. Returns 0, or -1 if it could not start. */
int live_run(char *const argv[], int timeout_s, struct cmd_result *r);
void live_result_free(struct cmd_result *r);
/* Both streams of r, whole, on stderr. Show a failed run's output with
 * this, not inside fail_msg: cmocka cuts a message at ~1 KiB, and a run's
 * reason for failing is at the end of what it printed. */
void live_dump(const struct cmd_result *r);

/* Parses r->out as JSON; fails the test (with both streams shown) if not. */
struct json_object *live_json(const struct cmd_result *r);
struct json_object *live_get(struct json_object *o, const char *dotted);
int64_t live_int(struct json_object *o, const char *dotted);
const char *live_str(struct json_object *o, const char *dotted);

/* A fresh directory under the work dir (L1 shares the work dir with the
 * host; /tmp in L1 is its own). */
void live_tmpdir(char *buf, size_t len, const char *tag);

#endif

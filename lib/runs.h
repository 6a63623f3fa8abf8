/*
 * runs.h - prior runs of a sweep, as the offline verbs read them from
 * RUNS.json: a JSON array of
 *   {"name": "...", "state": "finished|running|failed|crashed|killed|
 *    preempted|pending", "params": {...nested...},
 *    "history": [{"loss": 0.5, ...}, ...], "summary": {...}}
 */
#ifndef SWEEP_RUNS_H
#define SWEEP_RUNS_H

#include <jansson.h>
#include <stddef.h>

#define RUN_STATES(X)                  \
    X(RUN_PENDING, "pending")          \
    X(RUN_RUNNING, "running")          \
    X(RUN_FINISHED, "finished")        \
    X(RUN_FAILED, "failed")            \
    X(RUN_CRASHED, "crashed")          \
    X(RUN_KILLED, "killed")            \
    X(RUN_PREEMPTING, "preempting")    \
    X(RUN_PREEMPTED, "preempted")

enum run_state {
#define RUN_X_ENUM(e, s) e,
    RUN_STATES(RUN_X_ENUM)
#undef RUN_X_ENUM
    RUN__STATE_COUNT
};

struct run {
    char *name;
    enum run_state state;
    json_t *params;  /* nested object (owned) */
    json_t *history; /* array of objects (owned) */
    json_t *summary; /* object (owned) */
};

struct runs {
    struct run *v;
    size_t n;
};

/* Parses runs from a JSON array. Returns 0 and *out (free with
 * runs_free()), or SWEEP_EPARSE with errstr naming the element and key
 * ("runs[2].state: ..."), or SWEEP_ENOMEM. */
int runs_from_json(const json_t *arr, struct runs **out, char *errstr,
                   size_t errstr_size);

/* Reads a RUNS.json file ("-" for stdin); errors name file:line:col.
 * Bare NaN, Infinity and -Infinity (Python's json.dumps writes them) are
 * read as null, a value every reader skips. */
int runs_load_file(const char *path, struct runs **out, char *errstr,
                   size_t errstr_size);

/* runs_load_file() on len bytes of buf (no NUL needed); errors name
 * name:line:col. */
int runs_load_buffer(const char *buf, size_t len, const char *name,
                     struct runs **out, char *errstr, size_t errstr_size);

void runs_free(struct runs *r);

const char *run_state_name(enum run_state s);
/* State by name, or -1. */
int run_state_parse(const char *name);

#endif

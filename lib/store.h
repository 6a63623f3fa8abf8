/*
 * store.h - the controller's state in Redis (hiredis), documented in
 * docs/redis.md. Every state change is one Lua script, so it is atomic and
 * checked in the same step: against the leader's fencing token (a deposed
 * controller writes nothing), against the run's attempt (a late message
 * from a worker declared dead changes nothing) and against the per-run
 * sequence number (a redelivered event changes nothing). run_cap and grid
 * points are taken inside the script that creates the run.
 *
 * A lost connection is retried with backoff (100 ms doubling to 2 s) for
 * up to the handle's retry budget; scripts are reloaded when the server
 * forgot them (NOSCRIPT).
 */
#ifndef SWEEP_STORE_H
#define SWEEP_STORE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "msg.h"

struct store;

/* Results of the fenced scripts (>= 0; errors are negative SWEEP_E*). */
enum store_result {
    STORE_OK = 0,
    STORE_IGNORED = 1,     /* stale attempt, old seq, or already terminal */
    STORE_FENCED = 2,      /* our token is no longer the leader's */
    STORE_TAKEN = 3,       /* the grid point has a run already */
    STORE_CAPPED = 4,      /* run_cap reached */
    STORE_NOT_RUNNING = 5, /* the sweep is paused, finished or canceled */
    STORE_EMPTY = 6        /* no requeued run waiting */
};

/* redis://[user:password@]host:port[/db] (also redis://host, port 6379).
 * retry_ms: how long one call keeps retrying a lost connection before it
 * fails with SWEEP_EIO (-1: forever). NULL with errstr on failure. */
struct store *store_connect(const char *url, int retry_ms, char *errstr,
                            size_t errstr_size);
void store_free(struct store *s);
/* While retrying a lost connection, give up (SWEEP_EIO) as soon as fd is
 * readable: a signalfd, so a stop request is not held up by a dead Redis.
 * -1: never. */
void store_set_stop_fd(struct store *s, int fd);
/* Changes the retry budget of later calls (-1: forever). */
void store_set_retry(struct store *s, int retry_ms);
/* The last error message (static until the next call). */
const char *store_errstr(const struct store *s);

/* ---- sweeps (CLI) ---- */

struct store_sweep_new {
    const char *id;
    const char *name;        /* may be NULL */
    const char *config_json; /* the whole config */
    const char *method;
    long long run_cap;       /* 0 none */
    long long grid_size;     /* 0 unless grid */
    int64_t now_ms;
};
/* Returns 0, or SWEEP_EINVAL when the id exists. */
int store_sweep_create(struct store *s, const struct store_sweep_new *n);

/* pause/resume/stop/cancel. Returns 0 and *state (static name of the new
 * state), or SWEEP_ENOENT, or SWEEP_EINVAL with store_errstr() saying why
 * (e.g. "sweep is finished"). */
int store_sweep_control(struct store *s, const char *id,
                        enum control_action a, int64_t now_ms,
                        const char **state);

/* The sweep as an object: id, name, state, method, created_at, run_cap,
 * config (object), runs (counts by state), runs_created. NULL when absent
 * (or on error: check store_errstr()). New reference. */
json_t *store_sweep_get(struct store *s, const char *id);
/* Ids of every sweep, oldest first (new reference). */
json_t *store_sweep_ids(struct store *s);

/* Runs of a sweep in creation order, each {id, params, state, attempt,
 * worker, started_at, ended_at, summary, steps, reason, exit_code}; with
 * history (an array of the metric events) when with_history. */
json_t *store_runs(struct store *s, const char *sweep_id, int with_history);
/* Runs start .. start+count-1 of that order (no history), and *total, the
 * sweep's run count. NULL on error. */
json_t *store_runs_page(struct store *s, const char *sweep_id, long start,
                        long count, long *total);
/* One run as store_runs() has it; NULL when it is not a run of the sweep
 * (store_errstr() empty) or on error (store_errstr() says). */
json_t *store_run_get(struct store *s, const char *sweep_id, const char *run_id,
                      int with_history);

/* ---- the controller: leadership ---- */

/* Takes the lease if free (SET NX PX in a script): 1 and a new fencing
 * token, 0 when another holds it. */
int store_lease_acquire(struct store *s, const char *holder, int ttl_ms,
                        int64_t *token);
/* Extends our lease: 1 when still ours, 0 when lost. */
int store_lease_extend(struct store *s, int64_t token, int ttl_ms);
/* Gives the lease up (orderly shutdown). */
int store_lease_release(struct store *s, int64_t token);

/* Offsets consumed: "topic:partition" -> next offset, written fenced. */
int store_offsets_save(struct store *s, int64_t token, const char *const *keys,
                       const int64_t *offsets, size_t n);
/* Object "topic:partition" -> offset (new reference). */
json_t *store_offsets_load(struct store *s);

/* ---- the controller: runs ---- */

struct store_run_new {
    const char *sweep_id;
    const char *run_id;
    const char *params_json;
    int64_t grid_index;   /* -1 when not a grid point */
    const char *worker_id;
    int64_t now_ms;
    int64_t wseq;         /* the worker's assignment count once it has this */
};
/* Creates a run, pending on worker_id with attempt 1, unless the sweep is
 * not running, run_cap is reached, or the grid point is taken. */
int store_run_create(struct store *s, int64_t token,
                     const struct store_run_new *n);

/* Pops a requeued run of the sweep and gives it to worker_id with
 * attempt + 1. STORE_OK and *run_id, *params_json (caller frees), *attempt;
 * STORE_EMPTY when none waits. */
int store_run_reassign(struct store *s, int64_t token, const char *sweep_id,
                       const char *worker_id, int64_t now_ms, int64_t wseq,
                       char **run_id, char **params_json, int *attempt);

/* Applies a lifecycle event. A preempted run is requeued at once. A
 * "crashed" decision of the controller uses LC_* = -1 through
 * store_run_crash(). */
int store_apply_life(struct store *s, int64_t token,
                     const struct msg_run_lifecycle *e);

/* Marks a run whose worker stopped heartbeating as crashed and requeues it
 * (if its attempt is still `attempt`). */
int store_run_crash(struct store *s, int64_t token, const char *sweep_id,
                    const char *run_id, int attempt, const char *reason,
                    int64_t now_ms);

/* The sweep's metric, for the target check done with each event. */
struct store_target {
    const char *metric; /* NULL: no check */
    int maximize;
    int has_target;
    double target;
};

/* Applies n metric events in one pipeline; results[i] gets each one's
 * result (STORE_OK, STORE_IGNORED, STORE_FENCED) and lost[i] (may be
 * NULL) how many of the run's metric events before it never arrived
 * (seq is one per metric event: a jump is a loss). targets[i] (may be
 * NULL) says when a value finishes the sweep (metric.target). History
 * entries are {"_step": s, "_timestamp": ms, name: value...}, non-finite
 * values as null; the summary keeps the latest finite value of each. */
int store_apply_metrics(struct store *s, int64_t token,
                        const struct msg_metric_event *const *ev,
                        const struct store_target *const *targets, size_t n,
                        int *results, int64_t *lost);

/* The sweep's state name ("running", ...) or NULL if absent (caller
 * frees). */
char *store_sweep_state(struct store *s, const char *sweep_id);

/* The count of assignments the worker has once it got the last one a
 * leader sent it (the `wseq` of its newest run, kept 7 days in
 * sw:w:<worker>:wseq): 0 when none is known or on error. */
int64_t store_worker_wseq(struct store *s, const char *worker_id);

/* Grid points taken, as a bitmap: bit i set when point i has a run
 * (Redis SETBIT order: bit i is byte i/8, mask 0x80 >> i%8). *bits is
 * malloc'd, *nbytes its length. */
int store_grid_taken(struct store *s, const char *sweep_id,
                     unsigned char **bits, size_t *nbytes);

/* Runs of a sweep that are pending or running: array of {id, state,
 * attempt, worker, assigned_at, heartbeat_at} (new reference). */
json_t *store_live_runs(struct store *s, const char *sweep_id);

/* Sets the sweep finished (grid exhausted); no-op unless running. */
int store_sweep_finish(struct store *s, int64_t token, const char *sweep_id,
                       const char *why, int64_t now_ms);

#endif

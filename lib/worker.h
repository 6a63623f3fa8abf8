/*
 * worker.h - the worker's engine: asks the controller for runs over Kafka
 * (it needs no Redis), runs each program as COMPAT.md 5 says, streams its
 * metrics and lifecycle, carries out stop commands within milliseconds,
 * and on SIGTERM stops its run gracefully and reports it preempted so the
 * controller requeues it at once.
 */
#ifndef SWEEP_WORKER_H
#define SWEEP_WORKER_H

#include <stdint.h>

#include "settings.h"

struct worker_opts {
    const struct settings *st;   /* borrowed for the worker's life */
    const char *sweep_id;        /* bound worker; NULL: pool */
    const char *pool;            /* pool name; NULL: "default" */
    long count;                  /* exit after this many runs; 0: no limit */
    int max_initial_failures;    /* within the first initial_window_s; default 3 */
    double initial_window_s;     /* default 60 */
    int max_consecutive_failures; /* default 5 */
    /* --allow-program: files and directories (borrowed), added to the
     * settings' allow_program list; none and an empty list: any. */
    const char *const *allow;
    size_t nallow;
    /* Verifies what the worker acts on (signer_require()); the worker
     * takes ownership, even when worker_new() fails. NULL only with
     * st->insecure_unsigned. */
    struct signer *signer;
};

struct worker;

/* NULL with errstr when the settings do not hold up: no signer without
 * insecure_unsigned, an allowed path that does not exist, Kafka
 * unreachable for 15 s... */
struct worker *worker_new(const struct worker_opts *o, char *errstr,
                          size_t errstr_size);
void worker_free(struct worker *w);
/* Runs until done; returns the exit code (0: sweep finished, --count
 * reached or preempted; 1: too many failures or a fatal error). The
 * caller blocked SIGINT, SIGTERM, SIGHUP and SIGCHLD before any thread
 * was created (kafka makes threads); the worker reads them from a
 * signalfd. */
int worker_run(struct worker *w);
const char *worker_id(const struct worker *w);

/* One turn of worker_run()'s loop, waiting up to max_wait_ms for
 * something to do; returns 0 once the worker is done. For tests and the
 * handler fuzz target, like the two below. */
int worker_step(struct worker *w, int max_wait_ms);
/* One message as if read from the assign topic: verified, decoded and
 * acted on. k and what it points to are borrowed for the call. */
struct kmsg;
void worker_handle(struct worker *w, const struct kmsg *k);

struct worker_stats {
    uint64_t runs_started; /* processes started */
    uint64_t runs_done;
    uint64_t received;     /* assignments addressed to us, taken or given back */
    uint64_t malformed, refused, dropped;
    int running;           /* a run is going */
    int done;              /* 0 going; else worker_run()'s exit code + 1 */
};
void worker_get_stats(const struct worker *w, struct worker_stats *s);

#endif

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
};

struct worker;

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

#endif

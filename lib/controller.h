/*
 * controller.h - the controller's engine: leads every active sweep under a
 * Redis lease, answers idle workers with run assignments generated as late
 * as possible, applies run events and metrics to Redis, requeues runs of
 * dead or preempted workers, and applies pause/resume/stop/cancel.
 *
 * Several controllers may run: one holds the lease (and a fencing token
 * that every Redis write checks); the others wait and take over within the
 * lease TTL, resuming from the Kafka offsets the leader saved in Redis.
 */
#ifndef SWEEP_CONTROLLER_H
#define SWEEP_CONTROLLER_H

#include <signal.h>
#include <stdint.h>

#include "settings.h"

struct controller;

struct controller_opts {
    const struct settings *st; /* borrowed for the controller's life */
    int lease_ttl_ms;          /* 0: 3000 */
    const char *name;          /* holder name in Redis; NULL: host:pid */
    int stop_fd;               /* readable means stop (a signalfd); -1 none */
    /* Signs every run assignment and run command (sign.h); the
     * controller takes ownership, even when controller_new() fails. NULL
     * only with st->insecure_unsigned: they go unsigned. */
    struct signer *signer;
    /* Keep what controller_metrics() renders (and query Redis for it
     * once a second). */
    int metrics;
};

struct controller *controller_new(const struct controller_opts *o,
                                  char *errstr, size_t errstr_size);
void controller_free(struct controller *c);

/* Runs until *stop becomes non-zero; returns 0, or 1 after a fatal error
 * (logged). */
int controller_run(struct controller *c, volatile sig_atomic_t *stop);

/* One turn of controller_run()'s loop, waiting up to max_wait_ms; returns
 * 1 when leading. For tests and the handler fuzz target, like the two
 * below. */
int controller_step(struct controller *c, int max_wait_ms);
/* One message as if read from its topic, applied at once (with the batch
 * of metric events it ends) and idle workers served. Only while leading.
 * k and what it points to are borrowed for the call. */
struct kmsg;
void controller_handle(struct controller *c, const struct kmsg *k);
/* Forgets what is held in memory and stands by, as after a lost lease
 * (the next step tries to lead again). */
void controller_reset(struct controller *c);

struct controller_stats {
    uint64_t messages, malformed, metrics_applied, metrics_ignored,
        metrics_lost, events_applied, assignments, requeues, stops_sent,
        early_stops, fenced_writes;
};
void controller_get_stats(const struct controller *c,
                          struct controller_stats *s);

/* Appends the Prometheus text (prom.h) of the controller's metrics to sb.
 * Safe from any thread while the controller runs: it reads only what the
 * loop publishes under a mutex after each step, never Redis or Kafka.
 * Needs opts.metrics; sb is borrowed for the call. */
struct sbuf;
void controller_metrics(struct controller *c, struct sbuf *sb);

#endif

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
};

struct controller *controller_new(const struct controller_opts *o,
                                  char *errstr, size_t errstr_size);
void controller_free(struct controller *c);

/* Runs until *stop becomes non-zero; returns 0, or 1 after a fatal error
 * (logged). */
int controller_run(struct controller *c, volatile sig_atomic_t *stop);

struct controller_stats {
    uint64_t messages, malformed, metrics_applied, metrics_ignored,
        metrics_lost, events_applied, assignments, requeues, stops_sent,
        early_stops;
};
void controller_get_stats(const struct controller *c,
                          struct controller_stats *s);

#endif

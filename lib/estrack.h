/*
 * estrack.h - the controller's memory of one sweep's metric for early
 * termination: each run's finite values of the sweep's metric in order
 * (what earlystop.h judges), kept up to date from the metric events the
 * controller applies, so that a rule is decided on every event without
 * reading histories back from Redis.
 *
 * Runs are found by id through a hash index: an event costs O(1) plus
 * the append. estrack_judge() runs the rule (earlystop_check(), O(runs +
 * values of the run)) for the running runs that logged since the last
 * judgement, or for every running run.
 */
#ifndef SWEEP_ESTRACK_H
#define SWEEP_ESTRACK_H

#include <jansson.h>
#include <stddef.h>

#include "config.h"

struct estrack;

/* A tracker for cfg's metric under cfg's early_terminate (borrowed: it
 * must outlive the tracker). NULL when cfg has no early_terminate or
 * on allocation failure (*oom set then). */
struct estrack *estrack_new(const struct sweep_config *cfg, int *oom);
void estrack_free(struct estrack *t);

/* Loads runs as store_runs(..., 1) returns them ({id, attempt, history,
 * ...} each): the values of each run's current attempt. 0 or
 * SWEEP_ENOMEM. */
int estrack_load(struct estrack *t, const json_t *runs);

/* A metric event of run `run`, attempt `attempt`, was applied: its value
 * of the metric (if one of names[] and finite) joins the run's list; an
 * attempt above the one known starts the list over. Returns 1 when the
 * run's values changed (the sweep then needs judging), 0 when not, or
 * SWEEP_ENOMEM. */
int estrack_metric(struct estrack *t, const char *run, int attempt,
                   char *const *names, const double *values, size_t n);

/* The run was requeued (preempted, crashed): its values are dropped, as
 * the store dropped its history. */
void estrack_restart(struct estrack *t, const char *run);

/* Whether values changed since the last estrack_judge() (all 0), or since
 * the last estrack_judge() of every run (all 1). */
int estrack_dirty(const struct estrack *t, int all);

/* Says whether `run` at `attempt` is running now (the controller's live
 * table knows). */
typedef int (*estrack_running_fn)(void *arg, const char *run, int attempt);
/* Called for each run to stop, with the reason in words (earlystop.h). */
typedef void (*estrack_stop_fn)(void *arg, const char *run, int attempt,
                                const char *reason);

/* Judges the running runs not already told to stop: those that logged a
 * value since the last call (all 0: what a new value can change at once)
 * or every one (all 1: thresholds also move when other runs log, so a
 * run that is quiet now can become worse than one). Each run to stop is
 * passed to stop() once per attempt. Returns the number of stops, or
 * SWEEP_ENOMEM. */
long estrack_judge(struct estrack *t, int all, estrack_running_fn running,
                   estrack_stop_fn stop, void *arg);

/* Runs tracked (for tests and stats). */
size_t estrack_size(const struct estrack *t);

#endif

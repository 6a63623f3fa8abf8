/*
 * earlystop.h - early termination rules on metric histories: hyperband
 * exactly as COMPAT.md 4, and the median rule and asynchronous successive
 * halving (asha) beyond W&B (docs/early-stop.md). A pure engine: no I/O,
 * nothing kept between calls.
 *
 * A run's "iteration" k is the position of a value in its list of finite,
 * numeric metric values (the first is iteration 1). Values are passed as
 * logged; `maximize` flips every comparison.
 *
 * Cost, with R runs and V values in all:
 *   earlystop_check     one run, as the controller calls it on each metric
 *                       event: O(R + n) expected (a selection, no sort),
 *                       where n is the judged run's value count.
 *   earlystop_evaluate  every running run, as `sweep early-stop` shows it:
 *                       O(R log R + levels + V log V); levels are at most
 *                       HYPERBAND_MAX_BANDS bands or rungs, or the distinct
 *                       value counts of running runs (median), and the
 *                       values gathered over all levels are at most V.
 */
#ifndef SWEEP_EARLYSTOP_H
#define SWEEP_EARLYSTOP_H

#include <jansson.h>
#include <stddef.h>

#include "config.h"
#include "sbuf.h"

/* One run as the rules see it. Everything is borrowed for the call. */
struct es_run {
    const char *name;     /* for messages only; may be NULL */
    int running;          /* only running runs are stopped; every run counts */
    const double *values; /* the metric's finite values in history order */
    size_t n;
};

/* Why a run was judged the way it was. Values are in the metric's units. */
struct es_reason {
    enum et_type type;
    int stop;
    long at;           /* hyperband band, median step, asha rung; 0 when no
                          rule applied (nothing else is then meaningful) */
    int best;          /* value is the run's best so far (hyperband strict
                          false, median), else its value at `at` */
    double value;      /* the run's value that was compared */
    int has_threshold; /* 0 only for asha with fewer than eta values at the
                          rung: promoted without a comparison */
    double threshold;  /* hyperband threshold, median of the other runs, asha
                          cutoff (the worst value still promoted) */
    size_t count;      /* values the threshold came from */
    double eta;        /* asha: promoted are the top 1/eta */
};

/* A band (hyperband), rung (asha) or step (median) with its threshold. */
struct es_level {
    long at;
    size_t count;      /* runs with at least `at` values */
    int has_threshold; /* 0 when no run reached it (asha: fewer than eta) */
    double threshold;  /* median: of every run's value at the step */
};

struct es_verdict {
    int judged;           /* a rule applied: why.at > 0 */
    struct es_reason why; /* why.stop: to be stopped */
};

/* Caller-owned (earlystop_result_init/earlystop_result_release). */
struct es_result {
    struct es_level *levels; /* ascending `at` */
    size_t nlevels;
    struct es_verdict *runs; /* one per input run, in input order */
    size_t nstop;
};

/* The finite numeric values of `metric` in `history` (an array of
 * objects), in order: NaN, infinities, null, booleans, strings, objects
 * and arrays are skipped (COMPAT.md 4). Returns the count and *out (caller
 * frees; NULL when the count is 0), or SWEEP_ENOMEM. */
long earlystop_values(const json_t *history, const char *metric, double **out);

/* 1 and *out when v counts as a metric value (a finite JSON number). */
int earlystop_value(const json_t *v, double *out);

/* Judges runs[i] against all of runs (itself included) under et, as on a
 * metric event of that run. Returns 1 (stop), 0 (keep) or SWEEP_ENOMEM,
 * SWEEP_EINVAL for et->type ET_NONE or i >= n; *why is filled either way
 * (why->at is 0 when no rule applied). A run that is not running is never
 * stopped: a stop for a run that already ended would be ignored anyway. */
int earlystop_check(const struct early_terminate *et, int maximize,
                    const struct es_run *runs, size_t n, size_t i,
                    struct es_reason *why);

void earlystop_result_init(struct es_result *res);
void earlystop_result_release(struct es_result *res);

/* Judges every running run at once, and the threshold of every level.
 * res was initialised; 0, SWEEP_ENOMEM or SWEEP_EINVAL (et->type ET_NONE);
 * res holds nothing on error. The verdicts equal earlystop_check()'s. */
int earlystop_evaluate(const struct early_terminate *et, int maximize,
                       const struct es_run *runs, size_t n,
                       struct es_result *res);

/* Appends the reason in words, as stored with a killed run and shown by
 * `sweep runs` (numbers as Python's repr prints them):
 *   hyperband band 2: value 10.0 is worse than threshold 8.0 (5 runs)
 *   hyperband band 2: best value 9.0 is worse than threshold 8.0 (5 runs)
 *   median step 5: best value 0.8 is worse than median 0.6 (4 other runs)
 *   asha rung 9: value 0.8 is not in the top 1/3 (cutoff 0.5, 7 runs)
 *   asha rung 3: value 0.8 is promoted: 2 runs at the rung, fewer than eta 3
 * and, for a kept run, "is not worse than" / "is in the top". Nothing is
 * appended when why->at is 0. */
void earlystop_reason_format(const struct es_reason *why, struct sbuf *sb);

/* "hyperband", "median", "asha", or "none". */
const char *earlystop_type_name(enum et_type t);

#endif

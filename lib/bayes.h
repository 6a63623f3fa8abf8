/*
 * bayes.h - method: bayes (COMPAT.md section 3) on the GP of gp.h.
 *
 * Every searchable parameter becomes one coordinate of [0,1] on its own
 * scale (log for the log kinds, the CDF for normal, log_normal and beta,
 * cells of equal width for int_uniform), except categoricals, which take
 * one coordinate per value (one-hot, decoded by argmax): a categorical
 * has no order, and the reference's (k+1)/n code invents one, making
 * values that happen to be listed next to each other look alike; with
 * one-hot every pair of values is equally far apart and ARD learns per
 * value how much it matters. Constants (and degenerate laws: min == max,
 * sigma 0, a single value) take no coordinate and are drawn as random
 * does.
 */
#ifndef SWEEP_BAYES_H
#define SWEEP_BAYES_H

#include <gsl/gsl_rng.h>
#include <jansson.h>
#include <stddef.h>

#include "config.h"
#include "runs.h"

/* Observations below which suggestions are random draws: the number of
 * searchable parameters plus one, within [BAYES_MIN_INIT, BAYES_MAX_INIT].
 * Two points are enough for the GP with its hyperparameter priors (the
 * issue's own test starts from two), and more random points only spend
 * budget the model could use; d + 1 gives each dimension one more point
 * than the minimum before the model decides, capped at 10 so big spaces
 * do not wait long. In-flight runs count, so parallel workers do not all
 * draw random points at once. */
#define BAYES_MIN_INIT 2
#define BAYES_MAX_INIT 10

/* Above BAYES_MAX_OBS observations the GP sees the BAYES_KEEP_BEST best
 * plus a random sample of the rest (BAYES_MAX_OBS in all), keeping each
 * fit O(BAYES_MAX_OBS^3) whatever the history. */
#define BAYES_MAX_OBS 300
#define BAYES_KEEP_BEST 100
/* The hyperparameters are fitted on a random BAYES_FIT_OBS of those. */
#define BAYES_FIT_OBS 40

/* Same contract as search_suggest(): appends `count` flat params objects
 * to `out` (borrowed array) and returns how many, or a negative SWEEP_E*
 * code with errstr. prior (borrowed, may be NULL) gives the data:
 * finished runs their best metric over history and summary (imputed as
 * a failed run when neither has it); failed,
 * crashed and killed ones metric.impute; running ones the
 * impute_while_running value when it is set; the other unfinished runs
 * (and each suggestion made here before the next) are in flight and get
 * the GP's mean (kriging believer), so suggestions made together differ.
 * maximize goals are negated. Runs whose values do not fit the config
 * (a value not among a categorical's, a missing parameter) are left out. */
long bayes_suggest(const struct sweep_config *cfg, const struct runs *prior,
                   size_t count, gsl_rng *rng, json_t *out, char *errstr,
                   size_t errstr_size);

/* Forgets the hyperparameters kept between calls (see bayes.c): the next
 * suggestion of every space fits from scratch, as in a new process.
 * Benchmarks and tests call it to make seeds independent. */
void bayes_cache_clear(void);

/* How the hyperparameters were had since the last bayes_cache_clear():
 * multi-start fits, warm-started fits, and reuses of a fit of the very
 * same observations. */
struct bayes_fit_counts {
    unsigned long cold, warm, reused;
};
void bayes_fit_counts(struct bayes_fit_counts *out);

#endif

/*
 * search.h - the next runs a sweep's method produces, given prior runs.
 *
 * grid: the next uncovered points in grid order (a prior run in any state
 * covers its point); random: independent draws. bayes lives in its own
 * module and is dispatched from here when it exists.
 */
#ifndef SWEEP_SEARCH_H
#define SWEEP_SEARCH_H

#include <gsl/gsl_rng.h>
#include <jansson.h>
#include <stddef.h>

#include "config.h"
#include "runs.h"

/* Appends up to `count` new runs to `out` (a JSON array), each a flat
 * params object. count 0 means "every remaining point" for grid and one
 * run for the other methods. run_cap, counted against prior runs, limits
 * the number. Returns how many were appended (0 = the sweep is done), or
 * a negative SWEEP_E* code with errstr. `prior` may be NULL. */
long search_suggest(const struct sweep_config *cfg, const struct runs *prior,
                    size_t count, gsl_rng *rng, json_t *out, char *errstr,
                    size_t errstr_size);

#endif

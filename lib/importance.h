/*
 * importance.h - parameter importance of a sweep's ended runs: Spearman's
 * rank correlation and the linear (Pearson) correlation of each parameter
 * (categorical ones per value, one-hot) with the metric.
 */
#ifndef SWEEP_IMPORTANCE_H
#define SWEEP_IMPORTANCE_H

#include <jansson.h>
#include <stddef.h>

/* Fewer usable runs than this: no importance, and "reason" says why. */
#define IMPORTANCE_MIN_RUNS 5

/* sweep: as store_sweep_get gives it (its "config" has "metric" and
 * "parameters"); runs: as store_runs(s, id, 0). Returns a new object
 * (docs/ui.md, "Parameter importance"), or NULL with errstr when out of
 * memory. Borrowed arguments. */
json_t *importance_compute(const json_t *sweep, const json_t *runs, char *errstr,
                           size_t errlen);

#endif

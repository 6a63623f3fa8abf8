/*
 * space.h - sampling a config's parameters (COMPAT.md section 2) and
 * shaping a run's values between the flat form the search uses
 * ({"opt.lr": 0.01}) and the nested form the program sees
 * ({"opt": {"lr": 0.01}}).
 *
 * Every function returning json_t * returns a new reference the caller
 * must json_decref(), or NULL on allocation failure.
 */
#ifndef SWEEP_SPACE_H
#define SWEEP_SPACE_H

#include <gsl/gsl_rng.h>
#include <jansson.h>

#include "config.h"

/* One draw of p's distribution with rng (borrowed). Integer-valued kinds
 * (int_uniform, q_* with an integer q) give JSON integers, the rest reals;
 * constant and categorical give (a deep copy of) the written value.
 * NULL also when space_draw() would fail: use that to learn why. */
json_t *space_sample_param(const struct param *p, gsl_rng *rng);

/* space_sample_param() that says why it failed. Returns 0 with *out a new
 * reference, else *out = NULL and SWEEP_ENOMEM; SWEEP_ERANGE for a draw
 * JSON cannot hold (inf or nan: exp() overflow, Beta(0, 0)); SWEEP_EINVAL
 * for a parameter config validation rejects (min > max, empty values,
 * sigma < 0, q <= 0, ...). */
int space_draw(const struct param *p, gsl_rng *rng, json_t **out);

/* One independent draw of every parameter: a flat object keyed by the
 * flattened names, in the config's (sorted) order. On failure NULL, and
 * when err/bad are given, the space_draw() code and the parameter whose
 * draw failed (NULL for allocation failures). */
json_t *space_sample(const struct sweep_config *cfg, gsl_rng *rng, int *err,
                     const struct param **bad);

/* Why space_sample() failed, for a user: with bad and SWEEP_ERANGE,
 * "KEY: a draw of DIST is not a finite number (...)". */
void space_draw_strerror(char *errstr, size_t errstr_size,
                         const struct param *bad, int err);

/* base + k*q without visible float drift: the exact sum rounded to the
 * number of decimals that base and q are written with (so 0 + 3*0.1 gives
 * 0.3, not 0.30000000000000004). Values too large for that to be exact
 * (or q, base with more than 15 decimals) get the plain arithmetic. */
double space_qvalue(double base, long long k, double q);

/* round(x / q) * q with round-half-to-even, snapped like space_qvalue().
 * The tie is decided on the computed quotient, as numpy and Python do:
 * 0.25 / 0.1 is 2.5 and gives 0.2, 0.35 / 0.1 is 3.4999999999999996 and
 * gives 0.3. A q that is not finite and > 0 returns x unchanged. */
double space_qround(double x, double q);

/* Flat -> nested, following each parameter's path components. Keys of
 * `flat` that name no parameter of cfg are kept at the top level, after the
 * parameters, unless a parameter group already has that name (the group
 * wins). Values are deep copies: the result shares nothing with `flat`. */
json_t *space_nest(const struct sweep_config *cfg, const json_t *flat);

/* Nested -> flat for cfg's parameters: each parameter is looked up by its
 * path, else by its flattened name as a top-level key; missing ones are
 * left out, and so are keys that are no parameter. Values are deep
 * copies, as for space_nest(). */
json_t *space_flatten(const struct sweep_config *cfg, const json_t *nested);

#endif

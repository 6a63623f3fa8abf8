/*
 * grid.h - W&B grid search (COMPAT.md 3): the cartesian product of every
 * parameter's values, parameters sorted by flattened name, the last one
 * varying fastest; values deduplicated by value; points covered by prior
 * runs (in any state) skipped.
 *
 * Axes are materialised once; points are decoded from an index on demand,
 * so a grid of 10^8 points costs memory only for its axes and the covered
 * set.
 */
#ifndef SWEEP_GRID_H
#define SWEEP_GRID_H

#include <jansson.h>
#include <stddef.h>

#include "config.h"

#define GRID_MAX_AXIS 1000000UL     /* values of one parameter */
#define GRID_MAX_POINTS 100000000UL /* points of the whole grid */

struct grid;

/* Builds the grid of a config whose method is grid. Returns 0 and *out
 * (free with grid_free()), or SWEEP_ERANGE (too large) / SWEEP_EINVAL (a
 * parameter kind grid cannot enumerate) / SWEEP_ENOMEM with errstr. */
int grid_new(const struct sweep_config *cfg, struct grid **out, char *errstr,
             size_t errstr_size);
void grid_free(struct grid *g);

/* Points in the whole grid, and not yet covered. */
size_t grid_size(const struct grid *g);
size_t grid_remaining(const struct grid *g);

/* Marks the point with these flat values as covered, when it is one of the
 * grid's (every parameter present and equal by value to one of its axis
 * values). Returns 1 if newly covered, 0 if not a point or already
 * covered, SWEEP_ENOMEM. `flat` is borrowed. */
int grid_cover(struct grid *g, const json_t *flat);

/* Marks point `index` covered (a run holds it); 1 if newly covered. */
int grid_take(struct grid *g, size_t index);

/* The first uncovered point at or after *cursor, as a new flat object
 * (caller decrefs); *cursor moves past it. NULL when none is left (or on
 * allocation failure: then *cursor is unchanged). Does not cover it. */
json_t *grid_next(struct grid *g, size_t *cursor);

/* The flat object of point `index` (< grid_size()), new reference. */
json_t *grid_point(const struct grid *g, size_t index);

#endif

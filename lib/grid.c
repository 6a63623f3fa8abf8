/*
 * grid.c - grid points by index, and the set of points already covered.
 *
 * A point is identified by its index in the mixed-radix product; covered
 * points live in a bitmap, and a prior run is mapped to its index by
 * looking each of its values up in the axis it belongs to (hash of the
 * value, then value_equal()).
 */
#include "grid.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "space.h"
#include "sweep.h"
#include "value.h"

struct axis {
    const char *name; /* borrowed from the config */
    json_t **vals;    /* owned references */
    uint64_t *hashes;
    size_t n;
    size_t *slots;    /* open addressing over indexes + 1; 0 = empty */
    size_t nslots;
};

struct grid {
    struct axis *axes;
    size_t naxes;
    size_t size;
    size_t covered;
    uint8_t *bits;
};

static size_t axis_find(const struct axis *a, const json_t *v) {
    uint64_t h = value_hash(v);

    for (size_t i = h & (a->nslots - 1);; i = (i + 1) & (a->nslots - 1)) {
        size_t s = a->slots[i];
        if (!s)
            return (size_t)-1;
        if (a->hashes[s - 1] == h && value_equal(a->vals[s - 1], v))
            return s - 1;
    }
}

/* Appends v (stolen) unless an equal value is there: W&B dedupes. */
static int axis_add(struct axis *a, json_t *v, size_t cap) {
    uint64_t h;
    size_t i;

    if (!v)
        return SWEEP_ENOMEM;
    if (axis_find(a, v) != (size_t)-1) {
        json_decref(v);
        return 0;
    }
    if (a->n == cap) {
        json_decref(v);
        return SWEEP_ERANGE;
    }
    h = value_hash(v);
    for (i = h & (a->nslots - 1); a->slots[i]; i = (i + 1) & (a->nslots - 1))
        ;
    a->vals[a->n] = v;
    a->hashes[a->n] = h;
    a->slots[i] = ++a->n;
    return 0;
}

static int axis_alloc(struct axis *a, size_t cap) {
    a->nslots = 16;
    while (a->nslots < cap * 2)
        a->nslots *= 2;
    a->vals = calloc(cap, sizeof(*a->vals));
    a->hashes = calloc(cap, sizeof(*a->hashes));
    a->slots = calloc(a->nslots, sizeof(*a->slots));
    return a->vals && a->hashes && a->slots ? 0 : SWEEP_ENOMEM;
}

/* Number of q_uniform points min + k*q < max (max excluded, like
 * numpy.arange in the reference), on the drift-free grid. */
static size_t q_count(const struct param *p) {
    double est = floor((p->max - p->min) / p->q);
    long long k;

    if (!(est < (double)GRID_MAX_AXIS * 2))
        return GRID_MAX_AXIS + 1;
    k = (long long)est;
    while (k >= 0 && space_qvalue(p->min, k, p->q) >= p->max)
        k--;
    while (space_qvalue(p->min, k + 1, p->q) < p->max)
        k++;
    return (size_t)(k + 1);
}

static size_t axis_cap(const struct param *p) {
    switch (p->dist) {
    case DIST_CONSTANT:
        return 1;
    case DIST_CATEGORICAL:
        return json_array_size(p->values);
    case DIST_INT_UNIFORM:
        if ((double)p->imax - (double)p->imin >= (double)GRID_MAX_AXIS)
            return GRID_MAX_AXIS + 1;
        return (size_t)(p->imax - p->imin + 1);
    case DIST_Q_UNIFORM:
        return q_count(p);
    default:
        return 0;
    }
}

static json_t *q_value(const struct param *p, size_t k) {
    double v = space_qvalue(p->min, (long long)k, p->q);

    /* numpy.arange keeps integers when start and step are integers. */
    if (p->q_is_int && p->min == floor(p->min) && fabs(v) < 9e15)
        return json_integer((json_int_t)v);
    return json_real(v);
}

static int axis_fill(struct axis *a, const struct param *p, size_t cap) {
    int rc = 0;

    for (size_t k = 0; k < cap && !rc; k++) {
        switch (p->dist) {
        case DIST_CONSTANT:
            rc = axis_add(a, json_deep_copy(p->value), cap);
            break;
        case DIST_CATEGORICAL:
            rc = axis_add(a, json_deep_copy(json_array_get(p->values, k)), cap);
            break;
        case DIST_INT_UNIFORM:
            rc = axis_add(a, json_integer(p->imin + (json_int_t)k), cap);
            break;
        default:
            rc = axis_add(a, q_value(p, k), cap);
            break;
        }
    }
    return rc;
}

static int axis_init(struct axis *a, const struct param *p, char *errstr,
                     size_t size) {
    size_t cap = axis_cap(p);

    a->name = p->name;
    if (cap == 0) {
        snprintf(errstr, size,
                 "parameters.%s: method grid cannot enumerate distribution %s",
                 p->name, config_dist_name(p->dist));
        return SWEEP_EINVAL;
    }
    if (cap > GRID_MAX_AXIS) {
        snprintf(errstr, size,
                 "parameters.%s: more than %lu grid values; use random or bayes",
                 p->name, GRID_MAX_AXIS);
        return SWEEP_ERANGE;
    }
    if (axis_alloc(a, cap) || axis_fill(a, p, cap)) {
        snprintf(errstr, size, "out of memory");
        return SWEEP_ENOMEM;
    }
    return 0;
}

int grid_new(const struct sweep_config *cfg, struct grid **out, char *errstr,
             size_t errstr_size) {
    struct grid *g = calloc(1, sizeof(*g));
    int rc = 0;

    *out = NULL;
    if (!g || !(g->axes = calloc(cfg->nparams + 1, sizeof(*g->axes)))) {
        free(g);
        snprintf(errstr, errstr_size, "out of memory");
        return SWEEP_ENOMEM;
    }
    g->size = 1;
    for (size_t i = 0; i < cfg->nparams && !rc; i++) {
        rc = axis_init(&g->axes[i], &cfg->params[i], errstr, errstr_size);
        g->naxes = i + 1;
        if (!rc && g->axes[i].n > GRID_MAX_POINTS / g->size) {
            snprintf(errstr, errstr_size,
                     "the grid has more than %lu points; use random or bayes",
                     GRID_MAX_POINTS);
            rc = SWEEP_ERANGE;
        }
        if (!rc)
            g->size *= g->axes[i].n;
    }
    if (!rc && !(g->bits = calloc(g->size / 8 + 1, 1))) {
        snprintf(errstr, errstr_size, "out of memory");
        rc = SWEEP_ENOMEM;
    }
    if (rc) {
        grid_free(g);
        return rc;
    }
    *out = g;
    return 0;
}

void grid_free(struct grid *g) {
    if (!g)
        return;
    for (size_t i = 0; i < g->naxes; i++) {
        struct axis *a = &g->axes[i];
        for (size_t k = 0; k < a->n; k++)
            json_decref(a->vals[k]);
        free(a->vals);
        free(a->hashes);
        free(a->slots);
    }
    free(g->axes);
    free(g->bits);
    free(g);
}

size_t grid_size(const struct grid *g) { return g->size; }
size_t grid_remaining(const struct grid *g) { return g->size - g->covered; }

static int is_covered(const struct grid *g, size_t idx) {
    return g->bits[idx / 8] & (1u << (idx % 8));
}

int grid_take(struct grid *g, size_t index) {
    if (index >= g->size || is_covered(g, index))
        return 0;
    g->bits[index / 8] |= (uint8_t)(1u << (index % 8));
    g->covered++;
    return 1;
}

int grid_cover(struct grid *g, const json_t *flat) {
    size_t idx = 0;

    for (size_t i = 0; i < g->naxes; i++) {
        const struct axis *a = &g->axes[i];
        const json_t *v = json_object_get(flat, a->name);
        size_t k;
        if (!v || (k = axis_find(a, v)) == (size_t)-1)
            return 0;
        idx = idx * a->n + k;
    }
    return grid_take(g, idx);
}

json_t *grid_point(const struct grid *g, size_t index) {
    json_t *o = json_object();
    size_t place = g->size;

    /* Mixed radix, first axis slowest; keys go in the config's order. */
    for (size_t i = 0; o && i < g->naxes; i++) {
        const struct axis *a = &g->axes[i];
        place /= a->n;
        if (json_object_set(o, a->name, a->vals[(index / place) % a->n]) < 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

json_t *grid_next(struct grid *g, size_t *cursor) {
    size_t i = *cursor;
    json_t *p;

    while (i < g->size && is_covered(g, i))
        i++;
    if (i >= g->size)
        return NULL;
    p = grid_point(g, i);
    if (p)
        *cursor = i + 1;
    return p;
}

/*
 * bayes.c - method: bayes on the GP of gp.c (see bayes.h for the encoding,
 * the initial design and the cost bound).
 */
#include "bayes.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_sort_double.h>

#include "gp.h"
#include "hash.h"
#include "space.h"
#include "sweep.h"

#define BAYES_NCAND 512
#define BAYES_MAX_PENDING 100
#define BAYES_EPS 1e-9

/* Where a parameter lives in the encoded vector: off .. off + width. */
struct bayes_dim {
    const struct param *p;
    size_t off, width; /* width 0: no coordinate */
};

struct bayes {
    const struct sweep_config *cfg;
    struct bayes_dim *dims;
    size_t D, nsearch;
    struct gp_group *groups; /* the categoricals' one-hot coordinates */
    size_t ngroups;
    double *X, *y; /* observations */
    size_t n, cap;
    uint64_t key;  /* the space and metric, for the cache */
    uint64_t data; /* the observations, order-independent */
    int gp_obs;    /* the GP is conditioned on exactly X, y */
    double *P; /* in flight: encoded points */
    size_t np, pcap;
    const struct param *bad; /* whose draw failed, for the message */
};

/* ---- encoding ---- */

static int bayes_is_q(enum param_dist d) {
    return d == DIST_Q_UNIFORM || d == DIST_Q_LOG_UNIFORM_VALUES ||
           d == DIST_Q_LOG_UNIFORM || d == DIST_Q_NORMAL ||
           d == DIST_Q_LOG_NORMAL || d == DIST_Q_BETA;
}

static size_t bayes_width(const struct param *p) {
    switch (p->dist) {
    case DIST_CONSTANT:
        return 0;
    case DIST_CATEGORICAL:
    case DIST_CATEGORICAL_W_PROBS: {
        size_t n = json_array_size(p->values);
        return n > 1 ? n : 0;
    }
    case DIST_INT_UNIFORM:
        return p->imax > p->imin ? 1 : 0;
    case DIST_NORMAL:
    case DIST_Q_NORMAL:
    case DIST_LOG_NORMAL:
    case DIST_Q_LOG_NORMAL:
        return p->sigma > 0 && isfinite(p->sigma) && isfinite(p->mu);
    case DIST_BETA:
    case DIST_Q_BETA:
        return p->a > 0 && p->b > 0 && isfinite(p->a) && isfinite(p->b);
    case DIST_LOG_UNIFORM_VALUES:
    case DIST_INV_LOG_UNIFORM_VALUES:
    case DIST_Q_LOG_UNIFORM_VALUES:
        return p->min > 0 && p->max > p->min && isfinite(p->max);
    default:
        return p->max > p->min && isfinite(p->min) && isfinite(p->max);
    }
}

static double bayes_unit(double u) {
    return isfinite(u) ? fmin(fmax(u, 0), 1) : 0.5;
}

/* Kinds whose min and max are the range's ends in their own units. */
static int bayes_bounded(enum param_dist d) {
    return d == DIST_UNIFORM || d == DIST_Q_UNIFORM ||
           d == DIST_LOG_UNIFORM_VALUES || d == DIST_Q_LOG_UNIFORM_VALUES ||
           d == DIST_INV_LOG_UNIFORM_VALUES;
}

/* x of a real kind -> [0,1]. */
static double bayes_fwd(const struct param *p, double x) {
    double lx = x > 0 ? log(x) : -HUGE_VAL;

    switch (p->dist) {
    case DIST_LOG_UNIFORM_VALUES:
    case DIST_INV_LOG_UNIFORM_VALUES:
    case DIST_Q_LOG_UNIFORM_VALUES:
        return bayes_unit((lx - log(p->min)) / (log(p->max) - log(p->min)));
    case DIST_LOG_UNIFORM:
    case DIST_Q_LOG_UNIFORM:
        return bayes_unit((lx - p->min) / (p->max - p->min));
    case DIST_INV_LOG_UNIFORM:
        return bayes_unit((-lx - p->min) / (p->max - p->min));
    case DIST_NORMAL:
    case DIST_Q_NORMAL:
        return bayes_unit(gsl_cdf_ugaussian_P((x - p->mu) / p->sigma));
    case DIST_LOG_NORMAL:
    case DIST_Q_LOG_NORMAL:
        return x > 0 ? bayes_unit(gsl_cdf_ugaussian_P((lx - p->mu) / p->sigma))
                     : 0;
    case DIST_BETA:
    case DIST_Q_BETA:
        return bayes_unit(gsl_cdf_beta_P(fmin(fmax(x, 0), 1), p->a, p->b));
    default:
        return bayes_unit((x - p->min) / (p->max - p->min));
    }
}

/* [0,1] -> x of a real kind, before q rounding. CDF inverses stay off
 * the open ends, where they are infinite. The ends of a bounded range
 * are its bounds exactly (exp(log(3)) is 2.9999999999999982). */
static double bayes_inv(const struct param *p, double u) {
    double t = fmin(fmax(u, BAYES_EPS), 1 - BAYES_EPS);

    if (bayes_bounded(p->dist) && u <= 0)
        return p->min;
    if (bayes_bounded(p->dist) && u >= 1)
        return p->max;

    switch (p->dist) {
    case DIST_LOG_UNIFORM_VALUES:
    case DIST_INV_LOG_UNIFORM_VALUES:
    case DIST_Q_LOG_UNIFORM_VALUES:
        return fmin(
            fmax(exp(log(p->min) + u * (log(p->max) - log(p->min))), p->min),
            p->max);
    case DIST_LOG_UNIFORM:
    case DIST_Q_LOG_UNIFORM:
        return exp(p->min + u * (p->max - p->min));
    case DIST_INV_LOG_UNIFORM:
        return exp(-(p->min + u * (p->max - p->min)));
    case DIST_NORMAL:
    case DIST_Q_NORMAL:
        return p->mu + p->sigma * gsl_cdf_ugaussian_Pinv(t);
    case DIST_LOG_NORMAL:
    case DIST_Q_LOG_NORMAL:
        return exp(p->mu + p->sigma * gsl_cdf_ugaussian_Pinv(t));
    case DIST_BETA:
    case DIST_Q_BETA:
        return gsl_cdf_beta_Pinv(t, p->a, p->b);
    default:
        return fmin(fmax(p->min + u * (p->max - p->min), p->min), p->max);
    }
}

/* A run's value v of p into u[0 .. width). -1 when v cannot be a value
 * of p (missing, not a number, not one of the values). */
static int bayes_encode(const struct param *p, const json_t *v, double *u) {
    size_t w = bayes_width(p);

    if (p->dist == DIST_CATEGORICAL || p->dist == DIST_CATEGORICAL_W_PROBS) {
        for (size_t k = 0; k < w; k++) {
            if (json_equal(json_array_get(p->values, k), (json_t *)v)) {
                memset(u, 0, w * sizeof(double));
                u[k] = 1;
                return 0;
            }
        }
        return -1;
    }
    if (!json_is_number(v))
        return -1;
    if (p->dist == DIST_INT_UNIFORM) {
        double n = (double)p->imax - (double)p->imin + 1;
        u[0] = bayes_unit((json_number_value(v) - (double)p->imin + 0.5) / n);
        return 0;
    }
    u[0] = bayes_fwd(p, json_number_value(v));
    return 0;
}

static json_t *bayes_real_value(const struct param *p, double x) {
    if (bayes_is_q(p->dist))
        x = space_qround(x, p->q);
    if (!isfinite(x))
        return NULL;
    if (bayes_is_q(p->dist) && p->q_is_int && x >= -0x1p63 && x < 0x1p63)
        return json_integer((json_int_t)nearbyint(x));
    return json_real(x);
}

/* u[0 .. width) -> a new JSON value of p, or NULL. */
static json_t *bayes_decode(const struct param *p, const double *u) {
    if (p->dist == DIST_CATEGORICAL || p->dist == DIST_CATEGORICAL_W_PROBS) {
        size_t w = bayes_width(p), best = 0;
        for (size_t k = 1; k < w; k++)
            if (u[k] > u[best])
                best = k;
        return json_deep_copy(json_array_get(p->values, best));
    }
    if (p->dist == DIST_INT_UNIFORM) {
        double n = (double)p->imax - (double)p->imin + 1;
        double v = (double)p->imin + fmin(floor(bayes_unit(u[0]) * n), n - 1);
        /* compared as doubles: no cast of an out-of-range value */
        if (v >= (double)p->imax)
            return json_integer(p->imax);
        if (v <= (double)p->imin)
            return json_integer(p->imin);
        return json_integer((json_int_t)v);
    }
    return bayes_real_value(p, bayes_inv(p, bayes_unit(u[0])));
}

/* ---- hyperparameter cache ----
 *
 * A sweep's suggestions come one after another with one or a few more
 * observations each time, and its GP hyperparameters barely move between
 * them. So a process-wide table, keyed by the encoded space (names, kinds,
 * widths) and the metric, keeps the last fit's theta:
 * - the same observations as that fit (an order-independent hash of
 *   rows and values; several workers asking while nothing finished):
 *   no fit at all;
 * - more observations: one BFGS start from that theta, at most
 *   BAYES_WARM_ITERS iterations (a few, since it starts near the optimum);
 * - otherwise, while n <= BAYES_COLD_N, and whenever n has doubled since
 *   the last cold fit (so a chain of warm fits cannot stay in a poor
 *   local optimum): the full multi-start gp_fit().
 * An entry only ever gives a starting point, so two sweeps sharing a
 * space share an entry harmlessly. */
#define BAYES_CACHE 16
#define BAYES_WARM_ITERS 6
#define BAYES_COLD_N 20

struct bayes_cached {
    uint64_t key, data;
    size_t n, ncold, m;
    double *theta;
    unsigned long used;
};

static pthread_mutex_t bayes_cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct bayes_cached bayes_cache[BAYES_CACHE];
static unsigned long bayes_cache_clock;
static struct bayes_fit_counts bayes_counts;

void bayes_cache_clear(void) {
    pthread_mutex_lock(&bayes_cache_lock);
    for (size_t i = 0; i < BAYES_CACHE; i++) {
        free(bayes_cache[i].theta);
        memset(&bayes_cache[i], 0, sizeof(bayes_cache[i]));
    }
    memset(&bayes_counts, 0, sizeof(bayes_counts));
    pthread_mutex_unlock(&bayes_cache_lock);
}

void bayes_fit_counts(struct bayes_fit_counts *out) {
    pthread_mutex_lock(&bayes_cache_lock);
    *out = bayes_counts;
    pthread_mutex_unlock(&bayes_cache_lock);
}

static void bayes_count(unsigned long *which) {
    pthread_mutex_lock(&bayes_cache_lock);
    (*which)++;
    pthread_mutex_unlock(&bayes_cache_lock);
}

/* Copies the entry for key out (theta of m doubles); 0 when none. */
static int bayes_cache_get(uint64_t key, size_t m, struct bayes_cached *out,
                           double *theta) {
    int found = 0;

    pthread_mutex_lock(&bayes_cache_lock);
    for (size_t i = 0; i < BAYES_CACHE && !found; i++) {
        struct bayes_cached *e = &bayes_cache[i];
        if (e->theta && e->key == key && e->m == m) {
            e->used = ++bayes_cache_clock;
            *out = *e;
            memcpy(theta, e->theta, m * sizeof(double));
            found = 1;
        }
    }
    pthread_mutex_unlock(&bayes_cache_lock);
    return found;
}

static void bayes_cache_put(uint64_t key, uint64_t data, size_t n,
                            size_t ncold, const double *theta, size_t m) {
    struct bayes_cached *e = NULL;
    double *t = malloc(m * sizeof(double));

    if (!t)
        return; /* a cache: nothing is lost */
    memcpy(t, theta, m * sizeof(double));
    pthread_mutex_lock(&bayes_cache_lock);
    for (size_t i = 0; i < BAYES_CACHE && !e; i++)
        if (bayes_cache[i].theta && bayes_cache[i].key == key)
            e = &bayes_cache[i];
    for (size_t i = 0; i < BAYES_CACHE && !e; i++)
        if (!bayes_cache[i].theta)
            e = &bayes_cache[i];
    if (!e) { /* least recently used */
        e = &bayes_cache[0];
        for (size_t i = 1; i < BAYES_CACHE; i++)
            if (bayes_cache[i].used < e->used)
                e = &bayes_cache[i];
    }
    free(e->theta);
    *e = (struct bayes_cached){key, data, n, ncold, m, t, ++bayes_cache_clock};
    pthread_mutex_unlock(&bayes_cache_lock);
}

/* ---- state ---- */

static int bayes_init(struct bayes *b, const struct sweep_config *cfg) {
    memset(b, 0, sizeof(*b));
    b->cfg = cfg;
    b->key = FNV1A_INIT;
    b->dims = calloc(cfg->nparams ? cfg->nparams : 1, sizeof(*b->dims));
    b->groups = calloc(cfg->nparams ? cfg->nparams : 1, sizeof(*b->groups));
    if (!b->dims || !b->groups)
        return SWEEP_ENOMEM;
    for (size_t i = 0; i < cfg->nparams; i++) {
        b->dims[i].p = &cfg->params[i];
        b->dims[i].off = b->D;
        b->dims[i].width = bayes_width(&cfg->params[i]);
        if (b->dims[i].width && (cfg->params[i].dist == DIST_CATEGORICAL ||
                                 cfg->params[i].dist == DIST_CATEGORICAL_W_PROBS))
            b->groups[b->ngroups++] =
                (struct gp_group){b->D, b->dims[i].width};
        b->D += b->dims[i].width;
        b->nsearch += b->dims[i].width > 0;
        b->key = fnv1a(b->key, cfg->params[i].name,
                            strlen(cfg->params[i].name) + 1);
        b->key = fnv1a(b->key, &cfg->params[i].dist,
                            sizeof(cfg->params[i].dist));
        b->key = fnv1a(b->key, &b->dims[i].width, sizeof(size_t));
    }
    b->key = fnv1a(b->key, cfg->metric.name ? cfg->metric.name : "",
                        cfg->metric.name ? strlen(cfg->metric.name) : 0);
    b->key = fnv1a(b->key, &cfg->metric.maximize,
                        sizeof(cfg->metric.maximize));
    return 0;
}

static void bayes_release(struct bayes *b) {
    free(b->dims);
    free(b->groups);
    free(b->X);
    free(b->y);
    free(b->P);
}

/* Grows a row buffer of width D to hold one more row. */
static int bayes_grow(double **buf, size_t *cap, size_t n, size_t D) {
    double *nb;
    size_t nc;

    if (n < *cap)
        return 0;
    nc = *cap ? 2 * *cap : 16;
    nb = realloc(*buf, nc * (D ? D : 1) * sizeof(double));
    if (!nb)
        return SWEEP_ENOMEM;
    *buf = nb;
    *cap = nc;
    return 0;
}

/* Encodes a flat params object into row; -1 when a value does not fit. */
static int bayes_encode_row(const struct bayes *b, const json_t *flat,
                            double *row) {
    for (size_t i = 0; i < b->cfg->nparams; i++) {
        const struct bayes_dim *dm = &b->dims[i];
        if (dm->width && bayes_encode(dm->p, json_object_get(flat, dm->p->name),
                                      row + dm->off) < 0)
            return -1;
    }
    return 0;
}

static int bayes_add_obs(struct bayes *b, const double *row, double y) {
    double *ny;

    if (bayes_grow(&b->X, &b->cap, b->n, b->D))
        return SWEEP_ENOMEM;
    ny = realloc(b->y, b->cap * sizeof(double));
    if (!ny)
        return SWEEP_ENOMEM;
    b->y = ny;
    memcpy(b->X + b->n * b->D, row, b->D * sizeof(double));
    b->y[b->n++] = y;
    b->data += fnv1a(fnv1a(FNV1A_INIT, row,
                                     b->D * sizeof(double)),
                          &y, sizeof(y));
    return 0;
}

static int bayes_add_pending(struct bayes *b, const double *row) {
    if (b->np >= BAYES_MAX_PENDING)
        return 0;
    if (bayes_grow(&b->P, &b->pcap, b->np, b->D))
        return SWEEP_ENOMEM;
    memcpy(b->P + b->np * b->D, row, b->D * sizeof(double));
    b->np++;
    return 0;
}

/* ---- targets ---- */

/* The best (lowest after the sign) finite value of the metric in obj. */
static void bayes_scan(const json_t *obj, const char *metric, double sign,
                       double *best) {
    json_t *v = json_object_get(obj, metric);

    if (json_is_number(v) && isfinite(json_number_value(v)))
        *best = fmin(*best, sign * json_number_value(v));
}

/* A run's best value over history and summary, or HUGE_VAL. */
static double bayes_run_value(const struct run *r, const struct metric *m) {
    double sign = m->maximize ? -1 : 1, best = HUGE_VAL;
    size_t i;
    json_t *h;

    json_array_foreach(r->history, i, h) bayes_scan(h, m->name, sign, &best);
    bayes_scan(r->summary, m->name, sign, &best);
    return best;
}

static int bayes_terminal(enum run_state s) {
    return s == RUN_FINISHED || s == RUN_FAILED || s == RUN_CRASHED ||
           s == RUN_KILLED;
}

/* The worst, latest and best values over terminal runs (HUGE_VAL when
 * none has a value). */
struct bayes_imp {
    double worst, latest, best;
};

static struct bayes_imp bayes_impute_values(const struct runs *prior,
                                            const struct metric *m) {
    struct bayes_imp im = {HUGE_VAL, HUGE_VAL, HUGE_VAL};
    int any = 0;

    for (size_t i = 0; prior && i < prior->n; i++) {
        double v;
        if (!bayes_terminal(prior->v[i].state))
            continue;
        v = bayes_run_value(&prior->v[i], m);
        if (v == HUGE_VAL)
            continue;
        im.worst = any ? fmax(im.worst, v) : v;
        im.best = any ? fmin(im.best, v) : v;
        im.latest = v;
        any = 1;
    }
    return im;
}

static double bayes_pick(const struct bayes_imp *im, int which) {
    return which == 0 ? im->worst : which == 1 ? im->latest : im->best;
}

/* The value a run joins the data with, HUGE_VAL for none, or -HUGE_VAL
 * for "in flight". */
static double bayes_target(const struct run *r, const struct metric *m,
                           const struct bayes_imp *im) {
    double v;

    switch (r->state) {
    case RUN_FINISHED:
        v = bayes_run_value(r, m);
        return v != HUGE_VAL ? v : bayes_pick(im, (int)m->impute);
    case RUN_FAILED:
    case RUN_CRASHED:
    case RUN_KILLED:
        return bayes_pick(im, (int)m->impute);
    case RUN_RUNNING:
        if (m->impute_while_running != IWR_FALSE)
            return bayes_pick(im, (int)m->impute_while_running - 1);
        return -HUGE_VAL;
    default:
        return -HUGE_VAL;
    }
}

static int bayes_load(struct bayes *b, const struct runs *prior) {
    struct bayes_imp im = bayes_impute_values(prior, &b->cfg->metric);
    double row[b->D ? b->D : 1];
    int rc = 0;

    for (size_t i = 0; !rc && prior && i < prior->n; i++) {
        const struct run *r = &prior->v[i];
        json_t *flat = space_flatten(b->cfg, r->params);
        double t;
        if (!flat)
            return SWEEP_ENOMEM;
        if (bayes_encode_row(b, flat, row) == 0) {
            t = bayes_target(r, &b->cfg->metric, &im);
            if (t == -HUGE_VAL)
                rc = bayes_add_pending(b, row);
            else if (t != HUGE_VAL)
                rc = bayes_add_obs(b, row, t);
        }
        json_decref(flat);
    }
    return rc;
}

/* Above BAYES_MAX_OBS: the BAYES_KEEP_BEST lowest y first, then a random
 * sample of the rest, by partial selection / shuffles in place. */
static void bayes_swap(struct bayes *b, size_t i, size_t j) {
    double t, row[b->D ? b->D : 1];

    if (i == j)
        return;
    t = b->y[i];
    b->y[i] = b->y[j];
    b->y[j] = t;
    memcpy(row, b->X + i * b->D, b->D * sizeof(double));
    memcpy(b->X + i * b->D, b->X + j * b->D, b->D * sizeof(double));
    memcpy(b->X + j * b->D, row, b->D * sizeof(double));
}

static void bayes_subsample(struct bayes *b, gsl_rng *rng) {
    if (b->n <= BAYES_MAX_OBS)
        return;
    for (size_t i = 0; i < BAYES_KEEP_BEST; i++) {
        size_t m = i;
        for (size_t j = i + 1; j < b->n; j++)
            if (b->y[j] < b->y[m])
                m = j;
        bayes_swap(b, i, m);
    }
    for (size_t i = BAYES_KEEP_BEST; i < BAYES_MAX_OBS; i++)
        bayes_swap(b, i, i + gsl_rng_uniform_int(rng, b->n - i));
    b->n = BAYES_MAX_OBS;
}

/* ---- suggestions ---- */

/* The point row as the flat object a run gets. A coordinate that does
 * not decode to a finite value (an inverse CDF that fails, as GSL's beta
 * does for b = 1e20, or one past a double) is drawn from its
 * distribution instead, as random search would: the point that runs is
 * what the model then believes. Only when that draw fails too (the
 * parameter's bounds overflow a double) is it an error, b->bad saying
 * whose. */
static json_t *bayes_decode_row(struct bayes *b, const double *row,
                                gsl_rng *rng, int *err) {
    json_t *obj = json_object();

    *err = obj ? 0 : SWEEP_ENOMEM;
    for (size_t i = 0; !*err && i < b->cfg->nparams; i++) {
        const struct bayes_dim *dm = &b->dims[i];
        json_t *v = dm->width ? bayes_decode(dm->p, row + dm->off) : NULL;
        if (!v && (*err = space_draw(dm->p, rng, &v)) != 0)
            b->bad = dm->p;
        if (!*err && json_object_set_new(obj, dm->p->name, v) < 0)
            *err = SWEEP_ENOMEM;
    }
    if (*err) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}

static size_t bayes_n_init(const struct bayes *b) {
    size_t k = b->nsearch + 1;

    return k < BAYES_MIN_INIT   ? BAYES_MIN_INIT
           : k > BAYES_MAX_INIT ? BAYES_MAX_INIT
                                : k;
}

/* Conditions gp on the observations plus the in-flight points at the
 * obs-only GP's mean (the kriging believer: the mean is unchanged, the
 * variance there collapses, and gp_maximize_acq() then minimises the
 * confidence bound, which moves on from them). *best is the lowest
 * observed value, EI's incumbent when nothing is in flight. */
static int bayes_believe(struct bayes *b, struct gp *gp, double *best) {
    size_t n = b->n + b->np, D = b->D;
    double *X = malloc(n * D * sizeof(double)), *y = malloc(n * sizeof(double));
    double var;
    int rc = X && y ? 0 : SWEEP_ENOMEM;

    if (!rc && !b->gp_obs)
        rc = gp_condition(gp, b->X, b->y, b->n);
    b->gp_obs = !rc;
    if (!rc) {
        memcpy(X, b->X, b->n * D * sizeof(double));
        memcpy(y, b->y, b->n * sizeof(double));
        if (b->np)
            memcpy(X + b->n * D, b->P, b->np * D * sizeof(double));
    }
    for (size_t i = 0; !rc && i < b->np; i++)
        rc = gp_predict(gp, b->P + i * D, &y[b->n + i], &var);
    *best = HUGE_VAL;
    for (size_t i = 0; !rc && i < b->n; i++)
        *best = fmin(*best, y[i]);
    if (!rc && b->np) {
        b->gp_obs = 0;
        rc = gp_condition_fantasy(gp, X, y, n, b->np);
    }
    free(X);
    free(y);
    return rc;
}

/* One model-based suggestion into *obj; its encoding joins the pending. */
static int bayes_one(struct bayes *b, struct gp *gp, gsl_rng *rng,
                     json_t **obj) {
    double x[b->D], best;
    int rc = bayes_believe(b, gp, &best);

    if (!rc)
        rc = gp_maximize_acq(gp, best, BAYES_NCAND, b->groups, b->ngroups,
                             rng, x);
    if (!rc)
        *obj = bayes_decode_row(b, x, rng, &rc);
    /* the decoded (rounded) point is what will run: believe that one */
    if (!rc && bayes_encode_row(b, *obj, x) == 0)
        rc = bayes_add_pending(b, x);
    return rc;
}

static int bayes_random(struct bayes *b, gsl_rng *rng, json_t **obj) {
    int rc;
    double row[b->D ? b->D : 1];

    *obj = space_sample(b->cfg, rng, &rc, &b->bad);
    if (!*obj)
        return rc ? rc : SWEEP_ENOMEM;
    if (b->D && bayes_encode_row(b, *obj, row) == 0)
        return bayes_add_pending(b, row);
    return 0;
}

/* Hyperparameters from a random BAYES_FIT_OBS of the observations (the
 * O(n^3) likelihood is evaluated tens of times; the posterior then
 * conditions on all of them once), cold, warm or not at all as the cache
 * says. */
static int bayes_fit(struct bayes *b, struct gp *gp, gsl_rng *rng) {
    size_t m = b->n < BAYES_FIT_OBS ? b->n : BAYES_FIT_OBS, nt = b->D + 2;
    size_t ncold = b->n;
    double theta[nt];
    struct bayes_cached c;
    int rc, hit = bayes_cache_get(b->key, nt, &c, theta);

    if (m < b->n)
        for (size_t i = 0; i < m; i++)
            bayes_swap(b, i, i + gsl_rng_uniform_int(rng, b->n - i));
    if (hit)
        gp_set_theta(gp, theta); /* the start of any fit below */
    if (hit && c.data == b->data && c.n == b->n) {
        rc = gp_refit(gp, b->X, b->y, m, rng, 0);
        ncold = c.ncold;
        bayes_count(&bayes_counts.reused);
    } else if (hit && b->n > BAYES_COLD_N && b->n >= c.n &&
               b->n < 2 * c.ncold) {
        rc = gp_refit(gp, b->X, b->y, m, rng, BAYES_WARM_ITERS);
        ncold = c.ncold;
        bayes_count(&bayes_counts.warm);
    } else {
        rc = gp_fit(gp, b->X, b->y, m, rng);
        bayes_count(&bayes_counts.cold);
    }
    if (!rc) {
        b->gp_obs = m == b->n; /* a fit conditions on what it fitted */
        gp_get_theta(gp, theta);
        bayes_cache_put(b->key, b->data, b->n, ncold, theta, nt);
    }
    return rc;
}

/* Metric values far from 1 in magnitude (one diverged run at 1e160, a
 * metric in units of 1e-300) overflow or underflow the moments of
 * bayes_warp() and the GP's standardisation, and the suggestion failed.
 * When the largest magnitude is above BAYES_SCALE_LIM or below its
 * inverse, every value is scaled by the same power of two: exact, order
 * kept, and the model is scale-free. Between the two (below 1e100, cubes
 * of differences summed over 300 runs stay finite) nothing changes. */
#define BAYES_SCALE_LIM 1e100

static void bayes_rescale(struct bayes *b) {
    double s = 0;
    int k;

    for (size_t i = 0; i < b->n; i++)
        s = fmax(s, fabs(b->y[i]));
    if (!(s > BAYES_SCALE_LIM) && !(s > 0 && s < 1 / BAYES_SCALE_LIM))
        return;
    k = ilogb(s);
    for (size_t i = 0; i < b->n; i++)
        b->y[i] = ldexp(b->y[i], -k);
}

/* Output warping. A heavy right tail (skewness above 1: a few runs far
 * worse than most, as on rosenbrock or with a loss that diverges) makes
 * the standardised outputs squeeze every good run into a sliver near
 * the bottom, where the GP sees no shape; log(y - min + delta) spreads
 * the good end out again and keeps the order, so the best run and the
 * EI incumbent stay the same runs. delta, the gap from the minimum to
 * the quantile BAYES_WARP_Q (the median), sets how strongly: the log is
 * near-linear above it. Imputed values and fantasies live in the warped
 * space too (they are computed from these y). */
#define BAYES_WARP_SKEW 1.0
#define BAYES_WARP_Q 0.5

static int bayes_warp(struct bayes *b) {
    double m = 0, m2 = 0, m3 = 0, *sorted, lo, delta;
    size_t n = b->n;

    if (n < 5)
        return 0;
    for (size_t i = 0; i < n; i++)
        m += b->y[i];
    m /= (double)n;
    for (size_t i = 0; i < n; i++) {
        double t = b->y[i] - m;
        m2 += t * t;
        m3 += t * t * t;
    }
    m2 /= (double)n;
    m3 /= (double)n;
    if (!(m2 > 0) || !(m3 / (m2 * sqrt(m2)) > BAYES_WARP_SKEW))
        return 0;
    sorted = malloc(n * sizeof(double));
    if (!sorted)
        return SWEEP_ENOMEM;
    memcpy(sorted, b->y, n * sizeof(double));
    gsl_sort(sorted, 1, n);
    lo = sorted[0];
    delta = sorted[(size_t)(BAYES_WARP_Q * (double)(n - 1))] - lo;
    if (!(delta > 1e-12 * (1 + fabs(lo))))
        delta = 1e-12 * (1 + fabs(lo));
    for (size_t i = 0; i < n; i++)
        b->y[i] = log(b->y[i] - lo + delta);
    free(sorted);
    return 0;
}

static int bayes_run(struct bayes *b, size_t count, gsl_rng *rng, json_t *out,
                     long *made) {
    struct gp *gp = NULL;
    int rc = 0, fitted = 0;

    for (size_t i = 0; !rc && i < count; i++) {
        json_t *obj = NULL;
        if (!b->D || b->n < 2 || b->n + b->np < bayes_n_init(b)) {
            rc = bayes_random(b, rng, &obj);
        } else {
            if (!fitted) {
                bayes_rescale(b);
                rc = bayes_warp(b);
                bayes_subsample(b, rng);
                gp = gp_new(b->D);
                rc = rc ? rc : gp ? bayes_fit(b, gp, rng) : SWEEP_ENOMEM;
                fitted = 1;
            }
            if (!rc)
                rc = bayes_one(b, gp, rng, &obj);
        }
        if (!rc && json_array_append_new(out, obj) < 0)
            rc = SWEEP_ENOMEM;
        else if (!rc)
            (*made)++;
    }
    gp_free(gp);
    return rc;
}

/* OpenBLAS, when it is the BLAS (weak: any other links too), runs the
 * suggestion on one thread: the matrices are at most a few hundred wide,
 * and waking its pool for each call cost more than it gave (half the
 * time went to threads spinning in sched_yield). The caller's setting is
 * put back after. */
extern int openblas_get_num_threads(void) __attribute__((weak));
extern void openblas_set_num_threads(int) __attribute__((weak));

long bayes_suggest(const struct sweep_config *cfg, const struct runs *prior,
                   size_t count, gsl_rng *rng, json_t *out, char *errstr,
                   size_t errstr_size) {
    struct bayes b;
    long made = 0;
    int rc, threads = 1;

    if (!cfg->metric.name) {
        snprintf(errstr, errstr_size,
                 "metric.name: method bayes needs a metric to model");
        return SWEEP_EINVAL;
    }
    if (openblas_get_num_threads && openblas_set_num_threads &&
        (threads = openblas_get_num_threads()) > 1)
        openblas_set_num_threads(1);
    rc = bayes_init(&b, cfg);
    if (!rc)
        rc = bayes_load(&b, prior);
    if (!rc)
        rc = bayes_run(&b, count, rng, out, &made);
    bayes_release(&b);
    if (threads > 1)
        openblas_set_num_threads(threads);
    if (rc) {
        char why[256];
        space_draw_strerror(why, sizeof(why), b.bad, rc);
        snprintf(errstr, errstr_size, "bayes: %s", why);
        return rc;
    }
    return made;
}

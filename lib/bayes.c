/*
 * bayes.c - method: bayes on the GP of gp.c (see bayes.h for the encoding,
 * the initial design and the cost bound).
 */
#include "bayes.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>

#include "gp.h"
#include "space.h"
#include "sweep.h"

#define BAYES_NCAND 2000
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
    double *X, *y; /* observations */
    size_t n, cap;
    double *P; /* in flight: encoded points */
    size_t np, pcap;
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
 * the open ends, where they are infinite. */
static double bayes_inv(const struct param *p, double u) {
    double t = fmin(fmax(u, BAYES_EPS), 1 - BAYES_EPS);

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

/* ---- state ---- */

static int bayes_init(struct bayes *b, const struct sweep_config *cfg) {
    memset(b, 0, sizeof(*b));
    b->cfg = cfg;
    b->dims = calloc(cfg->nparams ? cfg->nparams : 1, sizeof(*b->dims));
    if (!b->dims)
        return SWEEP_ENOMEM;
    for (size_t i = 0; i < cfg->nparams; i++) {
        b->dims[i].p = &cfg->params[i];
        b->dims[i].off = b->D;
        b->dims[i].width = bayes_width(&cfg->params[i]);
        b->D += b->dims[i].width;
        b->nsearch += b->dims[i].width > 0;
    }
    return 0;
}

static void bayes_release(struct bayes *b) {
    free(b->dims);
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

static json_t *bayes_decode_row(const struct bayes *b, const double *row,
                                gsl_rng *rng, int *err) {
    json_t *obj = json_object();

    *err = obj ? 0 : SWEEP_ENOMEM;
    for (size_t i = 0; !*err && i < b->cfg->nparams; i++) {
        const struct bayes_dim *dm = &b->dims[i];
        json_t *v = NULL;
        if (dm->width) {
            v = bayes_decode(dm->p, row + dm->off);
            if (!v)
                *err = SWEEP_ERANGE;
        } else {
            *err = space_draw(dm->p, rng, &v);
        }
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
 * variance there collapses, so EI looks elsewhere). *best is the lowest
 * of the observed and believed values: the incumbent includes the
 * fantasies, or a believed point whose mean beats the data would keep
 * its EI (best - mean) and be suggested again. */
static int bayes_believe(struct bayes *b, struct gp *gp, double *best) {
    size_t n = b->n + b->np, D = b->D;
    double *X = malloc(n * D * sizeof(double)), *y = malloc(n * sizeof(double));
    double var;
    int rc = X && y ? 0 : SWEEP_ENOMEM;

    if (!rc)
        rc = gp_condition(gp, b->X, b->y, b->n);
    if (!rc) {
        memcpy(X, b->X, b->n * D * sizeof(double));
        memcpy(y, b->y, b->n * sizeof(double));
        if (b->np)
            memcpy(X + b->n * D, b->P, b->np * D * sizeof(double));
    }
    for (size_t i = 0; !rc && i < b->np; i++)
        rc = gp_predict(gp, b->P + i * D, &y[b->n + i], &var);
    *best = HUGE_VAL;
    for (size_t i = 0; !rc && i < n; i++)
        *best = fmin(*best, y[i]);
    if (!rc)
        rc = gp_condition_exact(gp, X, y, n, b->np);
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
        rc = gp_maximize_ei(gp, best, BAYES_NCAND, rng, x);
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

    *obj = space_sample(b->cfg, rng, &rc, NULL);
    if (!*obj)
        return rc ? rc : SWEEP_ENOMEM;
    if (b->D && bayes_encode_row(b, *obj, row) == 0)
        return bayes_add_pending(b, row);
    return 0;
}

/* Hyperparameters from a random BAYES_FIT_OBS of the observations (the
 * O(n^3) likelihood is evaluated a hundred times or more; the posterior
 * then conditions on all of them once). */
static int bayes_fit(struct bayes *b, struct gp *gp, gsl_rng *rng) {
    size_t m = b->n < BAYES_FIT_OBS ? b->n : BAYES_FIT_OBS;

    if (m < b->n)
        for (size_t i = 0; i < m; i++)
            bayes_swap(b, i, i + gsl_rng_uniform_int(rng, b->n - i));
    return gp_fit(gp, b->X, b->y, m, rng);
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
                bayes_subsample(b, rng);
                gp = gp_new(b->D);
                rc = gp ? bayes_fit(b, gp, rng) : SWEEP_ENOMEM;
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

long bayes_suggest(const struct sweep_config *cfg, const struct runs *prior,
                   size_t count, gsl_rng *rng, json_t *out, char *errstr,
                   size_t errstr_size) {
    struct bayes b;
    long made = 0;
    int rc;

    if (!cfg->metric.name) {
        snprintf(errstr, errstr_size,
                 "metric.name: method bayes needs a metric to model");
        return SWEEP_EINVAL;
    }
    rc = bayes_init(&b, cfg);
    if (!rc)
        rc = bayes_load(&b, prior);
    if (!rc)
        rc = bayes_run(&b, count, rng, out, &made);
    bayes_release(&b);
    if (rc) {
        snprintf(errstr, errstr_size, "bayes: %s", sweep_strerror(rc));
        return rc;
    }
    return made;
}

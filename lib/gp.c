/*
 * gp.c - Gaussian process regression for the bayes search (see gp.h).
 *
 * Everything runs in standardised output units (y minus the prior mean,
 * over the standard deviation); gp_predict() maps back.
 * Cholesky failures are retried with growing jitter; GSL never aborts
 * here because every return is checked and gsl_set_error_handler_off()
 * is the programs' job.
 */
#include "gp.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_blas.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_math.h>
#include <gsl/gsl_multimin.h>
#include <gsl/gsl_qrng.h>
#include <gsl/gsl_randist.h>

#include "sweep.h"

#define GP_SQRT5 2.23606797749978969641

/* Box for theta (logs) and the weak priors' centres and widths. The
 * inputs live in [0,1], so length scales between 0.01 and 20 cover
 * "wiggles at 1% of the range" to "irrelevant"; the outputs are
 * standardised, so sf2 near 1 and noise well below it. */
#define GP_LOG_L_LO (-4.6) /* 0.01 */
#define GP_LOG_L_HI 3.0    /* 20 */
#define GP_LOG_SF_LO (-3.0)
#define GP_LOG_SF_HI 3.0
#define GP_LOG_SN_LO (-13.8) /* 1e-6 */
#define GP_LOG_SN_HI 0.0
#define GP_PRIOR_L_MU (-1.0) /* l ~ 0.37 */
#define GP_PRIOR_L_SD 1.5
#define GP_PRIOR_SF_MU 0.0
#define GP_PRIOR_SF_SD 1.5
#define GP_PRIOR_SN_MU (-6.9) /* 1e-3 */
#define GP_PRIOR_SN_SD 3.0
#define GP_PENALTY 100.0 /* outside the box, per unit squared */
#define GP_JITTER_TRIES 6

struct gp {
    size_t d, n, cap;
    double *theta; /* d + 2 logs */
    double *X;     /* n x d */
    double *y;     /* standardised */
    double ymean, ystd;
    int fitted;        /* standardisation set by a gp_fit() */
    int ready;         /* L and alpha match X, y, theta */
    size_t nfant;      /* the last nfant points are fantasies */
    gsl_matrix *L;     /* cap x cap; the top-left n x n is used */
    gsl_vector *alpha; /* K^-1 y */
    double *kbuf;      /* n: k(x, X) for predictions */
    /* fit scratch, valid for the stored X while d2n == n: the squared
     * coordinate differences of every pair i >= j (n(n+1)/2 x d, they do
     * not depend on theta), each pair's dk/dr factor, and K^-1 */
    double *d2, *pc, *kp; /* kp: each pair's kernel value, no noise */
    size_t d2n;
    gsl_matrix *Kinv;
};

struct gp *gp_new(size_t d) {
    struct gp *gp;

    if (d == 0)
        return NULL;
    gp = calloc(1, sizeof(*gp));
    if (!gp)
        return NULL;
    gp->d = d;
    gp->theta = malloc((d + 2) * sizeof(double));
    if (!gp->theta) {
        free(gp);
        return NULL;
    }
    for (size_t k = 0; k < d; k++)
        gp->theta[k] = GP_PRIOR_L_MU;
    gp->theta[d] = GP_PRIOR_SF_MU;
    gp->theta[d + 1] = GP_PRIOR_SN_MU;
    gp->ymean = 0;
    gp->ystd = 1;
    return gp;
}

static void gp_free_scratch(struct gp *gp) {
    free(gp->d2);
    free(gp->pc);
    free(gp->kp);
    if (gp->Kinv)
        gsl_matrix_free(gp->Kinv);
    gp->d2 = gp->pc = gp->kp = NULL;
    gp->Kinv = NULL;
    gp->d2n = 0;
}

static void gp_release_data(struct gp *gp) {
    free(gp->X);
    free(gp->y);
    free(gp->kbuf);
    gp_free_scratch(gp);
    if (gp->L)
        gsl_matrix_free(gp->L);
    if (gp->alpha)
        gsl_vector_free(gp->alpha);
    gp->X = gp->y = gp->kbuf = NULL;
    gp->L = NULL;
    gp->alpha = NULL;
    gp->n = gp->cap = 0;
    gp->ready = 0;
}

void gp_free(struct gp *gp) {
    if (!gp)
        return;
    gp_release_data(gp);
    free(gp->theta);
    free(gp);
}

size_t gp_nparams(const struct gp *gp) {
    return gp->d + 2;
}

void gp_get_theta(const struct gp *gp, double *theta) {
    memcpy(theta, gp->theta, (gp->d + 2) * sizeof(double));
}

void gp_set_theta(struct gp *gp, const double *theta) {
    memcpy(gp->theta, theta, (gp->d + 2) * sizeof(double));
    gp->ready = 0;
}

/* ---- kernel ---- */

/* il: the d inverse length scales, sf2 the signal variance; computed
 * once per matrix by the callers, since exp() per pair dominated. */
static double gp_kernel_theta(size_t d, const double *il, double sf2,
                              const double *a, const double *b, double *grad) {
    double r2 = 0, r, e, k;

    for (size_t j = 0; j < d; j++) {
        double t = (a[j] - b[j]) * il[j];
        r2 += t * t;
        if (grad)
            grad[j] = t * t;
    }
    r = sqrt(r2);
    e = exp(-GP_SQRT5 * r);
    k = sf2 * (1 + GP_SQRT5 * r + 5.0 / 3.0 * r2) * e;
    if (grad) {
        /* dk/dlog l_j = sf2 * 5/3 (1 + sqrt5 r) e^{-sqrt5 r} (dx_j/l_j)^2 */
        double c = sf2 * 5.0 / 3.0 * (1 + GP_SQRT5 * r) * e;
        for (size_t j = 0; j < d; j++)
            grad[j] *= c;
        grad[d] = k;
    }
    return k;
}

static void gp_inv_l(size_t d, const double *theta, double *il) {
    for (size_t j = 0; j < d; j++)
        il[j] = exp(-theta[j]);
}

double gp_kernel(const struct gp *gp, const double *a, const double *b,
                 double *grad) {
    double il[gp->d];

    gp_inv_l(gp->d, gp->theta, il);
    return gp_kernel_theta(gp->d, il, exp(gp->theta[gp->d]), a, b, grad);
}

/* ---- factorisation ---- */

static int gp_reserve(struct gp *gp, size_t n) {
    if (n <= gp->cap)
        return 0;
    gp_release_data(gp);
    gp->X = malloc(n * gp->d * sizeof(double));
    gp->y = malloc(n * sizeof(double));
    gp->kbuf = malloc(n * sizeof(double));
    gp->L = gsl_matrix_alloc(n, n);
    gp->alpha = gsl_vector_alloc(n);
    if (!gp->X || !gp->y || !gp->kbuf || !gp->L || !gp->alpha) {
        gp_release_data(gp);
        return SWEEP_ENOMEM;
    }
    gp->cap = n;
    return 0;
}

/* L = chol(K(theta) + sn2 I) of the stored X in the n x n view *Lv,
 * retrying with more jitter when K is numerically not positive definite;
 * then alpha = K^-1 y. */
static int gp_factor(struct gp *gp, const double *theta, gsl_matrix_view *Lv,
                     gsl_vector_view *av) {
    size_t n = gp->n, d = gp->d;
    double sn2 = exp(theta[d + 1]), sf2 = exp(theta[d]), jitter = 0, il[d];
    gsl_vector_view yv;

    gp_inv_l(d, theta, il);
    *Lv = gsl_matrix_submatrix(gp->L, 0, 0, n, n);
    *av = gsl_vector_subvector(gp->alpha, 0, n);
    for (int t = 0; t < GP_JITTER_TRIES; t++) {
        for (size_t i = 0; i < n; i++) {
            for (size_t j = 0; j <= i; j++) {
                double k = gp_kernel_theta(d, il, sf2, gp->X + i * d,
                                           gp->X + j * d, NULL);
                gsl_matrix_set(&Lv->matrix, i, j, k);
                gsl_matrix_set(&Lv->matrix, j, i, k);
            }
            *gsl_matrix_ptr(&Lv->matrix, i, i) +=
                sn2 + jitter;
        }
        if (gsl_linalg_cholesky_decomp1(&Lv->matrix) == GSL_SUCCESS) {
            yv = gsl_vector_view_array(gp->y, n);
            if (gsl_linalg_cholesky_solve(&Lv->matrix, &yv.vector,
                                          &av->vector) != GSL_SUCCESS)
                return SWEEP_EINVAL;
            return 0;
        }
        jitter = jitter ? jitter * 100 : 1e-10 * exp(theta[d]);
    }
    return SWEEP_EINVAL;
}

static int gp_store(struct gp *gp, const double *X, const double *y, size_t n) {
    int rc;

    if (n == 0)
        return SWEEP_EINVAL;
    rc = gp_reserve(gp, n);
    if (rc)
        return rc;
    gp->n = n;
    memcpy(gp->X, X, n * gp->d * sizeof(double));
    for (size_t i = 0; i < n; i++)
        gp->y[i] = (y[i] - gp->ymean) / gp->ystd;
    gp->ready = 0;
    gp->d2n = 0;
    return 0;
}

int gp_condition_fantasy(struct gp *gp, const double *X, const double *y,
                         size_t n, size_t nfant) {
    gsl_matrix_view Lv;
    gsl_vector_view av;
    int rc = nfant <= n ? gp_store(gp, X, y, n) : SWEEP_EINVAL;

    if (rc)
        return rc;
    gp->nfant = nfant;
    rc = gp_factor(gp, gp->theta, &Lv, &av);
    gp->ready = rc == 0;
    return rc;
}

int gp_condition(struct gp *gp, const double *X, const double *y, size_t n) {
    return gp_condition_fantasy(gp, X, y, n, 0);
}

/* ---- likelihood ---- */

/* The fit scratch of the stored X (see struct gp). */
static int gp_fit_scratch(struct gp *gp) {
    size_t n = gp->n, d = gp->d, np = n * (n + 1) / 2, p = 0;

    if (gp->d2n == n && gp->d2)
        return 0;
    gp_free_scratch(gp);
    gp->d2 = malloc(np * d * sizeof(double));
    gp->pc = malloc(np * sizeof(double));
    gp->kp = malloc(np * sizeof(double));
    gp->Kinv = gsl_matrix_alloc(n, n);
    if (!gp->d2 || !gp->pc || !gp->kp || !gp->Kinv) {
        gp_free_scratch(gp);
        return SWEEP_ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j <= i; j++, p++)
            for (size_t k = 0; k < d; k++) {
                double t = gp->X[i * d + k] - gp->X[j * d + k];
                gp->d2[p * d + k] = t * t;
            }
    gp->d2n = n;
    return 0;
}

/* The kernel of every pair into kp, from the pair scratch with one exp()
 * per pair, and each pair's c = sf2 5/3 (1 + sqrt5 r) e^{-sqrt5 r} into
 * pc (dk/dlog l_j is c (dx_j / l_j)^2). */
static void gp_fill_pairs(struct gp *gp, const double *theta) {
    size_t n = gp->n, d = gp->d, p = 0;
    double il2[d], sf2 = exp(theta[d]);

    for (size_t k = 0; k < d; k++)
        il2[k] = exp(-2 * theta[k]);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j <= i; j++, p++) {
            const double *dd = gp->d2 + p * d;
            double r2 = 0, r, e;
            for (size_t k = 0; k < d; k++)
                r2 += dd[k] * il2[k];
            r = sqrt(r2);
            e = exp(-GP_SQRT5 * r);
            gp->kp[p] = sf2 * (1 + GP_SQRT5 * r + 5.0 / 3.0 * r2) * e;
            gp->pc[p] = sf2 * 5.0 / 3.0 * (1 + GP_SQRT5 * r) * e;
        }
    }
}

/* 0.5 * sum_ij W_ij dK_ij / dtheta with W = alpha alpha^T - K^-1 (the
 * standard LML gradient) from the pair scratch of gp_fill_pairs();
 * Kinv holds K^-1 in its lower triangle (dK/dlog sf2 is the noise-free
 * kernel itself, dK/dlog sn2 is sn2 I). */
static void gp_lml_grad(struct gp *gp, const double *theta,
                        const gsl_matrix *Kinv, const gsl_vector *alpha,
                        double *grad) {
    size_t n = gp->n, d = gp->d, p = 0;
    double sd[d], il2[d], gsf = 0, gsn = 0;

    memset(sd, 0, sizeof(sd));
    for (size_t i = 0; i < n; i++) {
        double ai = gsl_vector_get(alpha, i);
        for (size_t j = 0; j <= i; j++, p++) {
            double w = ai * gsl_vector_get(alpha, j) -
                       gsl_matrix_get(Kinv, i, j);
            double f = (i == j ? 0.5 : 1.0) * w, fc = f * gp->pc[p];
            const double *dd = gp->d2 + p * d;
            for (size_t k = 0; k < d; k++)
                sd[k] += fc * dd[k];
            gsf += f * gp->kp[p];
            if (i == j)
                gsn += 0.5 * w;
        }
    }
    for (size_t k = 0; k < d; k++) {
        il2[k] = exp(-2 * theta[k]);
        grad[k] = sd[k] * il2[k];
    }
    grad[d] = gsf;
    grad[d + 1] = gsn * exp(theta[d + 1]);
}

/* LML (and gradient) at theta with the fit scratch: one kernel pass,
 * a Cholesky with jitter retries, and K^-1 for the gradient. Leaves L
 * holding theta's factor (gp->ready is cleared). */
static int gp_lml_at(struct gp *gp, const double *theta, double *lml,
                     double *grad) {
    size_t n = gp->n, d = gp->d;
    gsl_matrix_view Lv;
    gsl_vector_view av, yv;
    double q = 0, logdet = 0, jitter = 0;
    int rc = n ? gp_fit_scratch(gp) : SWEEP_EINVAL, ok = 0;

    if (rc)
        return rc;
    gp->ready = 0; /* L now holds theta's factor, maybe not gp->theta's */
    Lv = gsl_matrix_submatrix(gp->L, 0, 0, n, n);
    av = gsl_vector_subvector(gp->alpha, 0, n);
    gp_fill_pairs(gp, theta);
    for (int t = 0; t < GP_JITTER_TRIES && !ok; t++) {
        /* the lower triangle is all decomp1 reads */
        for (size_t i = 0, p = 0; i < n; i++) {
            double *row = gsl_matrix_ptr(&Lv.matrix, i, 0);
            memcpy(row, gp->kp + p, (i + 1) * sizeof(double));
            p += i + 1;
            row[i] += exp(theta[d + 1]) + jitter;
        }
        ok = gsl_linalg_cholesky_decomp1(&Lv.matrix) == GSL_SUCCESS;
        jitter = jitter ? jitter * 100 : 1e-10 * exp(theta[d]);
    }
    yv = gsl_vector_view_array(gp->y, n);
    if (!ok || gsl_linalg_cholesky_solve(&Lv.matrix, &yv.vector,
                                         &av.vector) != GSL_SUCCESS)
        return SWEEP_EINVAL;
    for (size_t i = 0; i < n; i++) {
        logdet += log(gsl_matrix_get(&Lv.matrix, i, i));
        q += gp->y[i] * gsl_vector_get(&av.vector, i);
    }
    *lml = -0.5 * q - logdet - 0.5 * (double)n * log(2 * M_PI);
    if (grad) {
        gsl_matrix_memcpy(gp->Kinv, &Lv.matrix);
        if (gsl_linalg_cholesky_invert(gp->Kinv) != GSL_SUCCESS)
            rc = SWEEP_EINVAL;
        else
            gp_lml_grad(gp, theta, gp->Kinv, &av.vector, grad);
    }
    return rc;
}

int gp_lml(struct gp *gp, const double *theta, double *lml, double *grad) {
    int was_ready = gp->ready, rc = gp_lml_at(gp, theta, lml, grad);
    gsl_matrix_view Lv;
    gsl_vector_view av;

    /* put back the factor of gp->theta so predictions keep working */
    if (was_ready && gp_factor(gp, gp->theta, &Lv, &av) == 0)
        gp->ready = 1;
    return rc;
}

/* ---- fitting ---- */

static void gp_box(size_t d, size_t k, double *lo, double *hi) {
    if (k < d) {
        *lo = GP_LOG_L_LO;
        *hi = GP_LOG_L_HI;
    } else if (k == d) {
        *lo = GP_LOG_SF_LO;
        *hi = GP_LOG_SF_HI;
    } else {
        *lo = GP_LOG_SN_LO;
        *hi = GP_LOG_SN_HI;
    }
}

static void gp_prior(size_t d, size_t k, double *mu, double *sd) {
    *mu = k < d ? GP_PRIOR_L_MU : k == d ? GP_PRIOR_SF_MU : GP_PRIOR_SN_MU;
    *sd = k < d ? GP_PRIOR_L_SD : k == d ? GP_PRIOR_SF_SD : GP_PRIOR_SN_SD;
}

struct gp_obj {
    struct gp *gp;
    double *th, *g; /* d + 2 scratch each */
};

/* The minimised objective: -(LML + log prior) at theta clamped to the
 * box, plus a quadratic penalty for the distance outside it, so the
 * optimiser sees a continuous function and comes back in. */
static void gp_obj_fdf(const gsl_vector *v, void *params, double *f,
                       gsl_vector *df) {
    struct gp_obj *o = params;
    size_t d = o->gp->d, m = d + 2;
    double lml, pen = 0;

    for (size_t k = 0; k < m; k++) {
        double lo, hi, x = gsl_vector_get(v, k);
        gp_box(d, k, &lo, &hi);
        o->th[k] = fmin(fmax(x, lo), hi);
    }
    if (gp_lml_at(o->gp, o->th, &lml, df ? o->g : NULL) != 0) {
        *f = 1e10;
        if (df)
            gsl_vector_set_zero(df);
        return;
    }
    *f = -lml;
    for (size_t k = 0; k < m; k++) {
        double mu, sd, x = gsl_vector_get(v, k), out = x - o->th[k], z;
        gp_prior(d, k, &mu, &sd);
        z = (o->th[k] - mu) / sd;
        *f += 0.5 * z * z;
        pen += 0.5 * GP_PENALTY * out * out;
        if (df) {
            double gk = out != 0 ? 0 : -o->g[k] + z / sd;
            gsl_vector_set(df, k, gk + GP_PENALTY * out);
        }
    }
    *f += pen;
}

static double gp_obj_f(const gsl_vector *v, void *params) {
    double f;

    gp_obj_fdf(v, params, &f, NULL);
    return f;
}

static void gp_obj_df(const gsl_vector *v, void *params, gsl_vector *df) {
    double f;

    gp_obj_fdf(v, params, &f, df);
}

/* One BFGS run from x0; the best point seen is in x0 on return and its
 * objective in *fbest (1e10 or more when nothing factorised). */
static int gp_optimize_from(struct gp_obj *o, gsl_vector *x0, double *fbest,
                            int maxiter) {
    size_t m = x0->size;
    gsl_multimin_function_fdf fn = {gp_obj_f, gp_obj_df, gp_obj_fdf, m, o};
    gsl_multimin_fdfminimizer *s = gsl_multimin_fdfminimizer_alloc(
        gsl_multimin_fdfminimizer_vector_bfgs2, m);

    if (!s)
        return SWEEP_ENOMEM;
    if (gsl_multimin_fdfminimizer_set(s, &fn, x0, 0.1, 0.1) != GSL_SUCCESS) {
        gsl_multimin_fdfminimizer_free(s);
        *fbest = gp_obj_f(x0, o);
        return 0;
    }
    for (int it = 0; it < maxiter; it++) {
        if (gsl_multimin_fdfminimizer_iterate(s) != GSL_SUCCESS)
            break;
        if (gsl_multimin_test_gradient(s->gradient, 1e-3) == GSL_SUCCESS)
            break;
    }
    gsl_vector_memcpy(x0, s->x);
    *fbest = s->f;
    gsl_multimin_fdfminimizer_free(s);
    return 0;
}

/* Start number s: the prior centres, the previous fit, then draws from
 * the priors (clamped to the box). */
static void gp_start(const struct gp *gp, int s, const double *prev,
                     gsl_rng *rng, gsl_vector *x) {
    size_t d = gp->d;

    for (size_t k = 0; k < d + 2; k++) {
        double mu, sd, lo, hi, v;
        gp_prior(d, k, &mu, &sd);
        gp_box(d, k, &lo, &hi);
        if (s == 0)
            v = mu;
        else if (s == 1)
            v = prev[k];
        else
            v = mu + gsl_ran_gaussian(rng, 0.5 * sd);
        gsl_vector_set(x, k, fmin(fmax(v, lo), hi));
    }
}

/* The prior mean, in standard deviations of y above its mean: a
 * pessimistic constant mean. Far from the data the model then expects a
 * poor value rather than an average one, so EI stops paying for the
 * corners and edges of the box (on rosenbrock4, 35% of the suggestions
 * after the 25th had a coordinate on an edge with the plain mean, 24%
 * with this one) and spends those runs near the good points. Over 60
 * seeds, one worker at 50 runs: hartmann6 3.3e-03 -> 8.2e-05,
 * rosenbrock4 6.2 -> 3.5, mixed 0.14 -> 0.10, branin 5.3e-05 either way;
 * 4 workers (EI then): hartmann6 0.013 -> 7.3e-04, rosenbrock4 16 ->
 * 5.3, mixed 0.16 -> 0.10. 2 and 3 did worse on branin and hartmann6
 * (2 better on mixed; docs/bayes.md). */
#define GP_PRIOR_MEAN_SD 1.5

static void gp_standardise(struct gp *gp, const double *y, size_t n) {
    double m = 0, v = 0;

    for (size_t i = 0; i < n; i++)
        m += y[i];
    m /= (double)n;
    for (size_t i = 0; i < n; i++)
        v += (y[i] - m) * (y[i] - m);
    v = n > 1 ? sqrt(v / (double)(n - 1)) : 0;
    if (!(v > 1e-12 * (1 + fabs(m))))
        v = 0; /* constant y: any scale, the mean at the data */
    gp->ystd = v > 0 ? v : 1;
    gp->ymean = m + GP_PRIOR_MEAN_SD * v;
    gp->fitted = 1;
}

/* BFGS from starts s0 .. s1 - 1 of gp_start(), at most maxiter
 * iterations each; keeps the best and conditions on the data. */
static int gp_fit_starts(struct gp *gp, const double *X, const double *y,
                         size_t n, gsl_rng *rng, int s0, int s1,
                         int maxiter) {
    size_t m = gp->d + 2;
    double prev[m], best_f = HUGE_VAL, f;
    gsl_vector *x = gsl_vector_alloc(m), *best = gsl_vector_alloc(m);
    double *th = malloc(2 * m * sizeof(double));
    struct gp_obj o = {gp, th, th ? th + m : NULL};
    int rc = x && best && th ? 0 : SWEEP_ENOMEM;

    if (!rc && n == 0)
        rc = SWEEP_EINVAL;
    if (!rc) {
        gp_standardise(gp, y, n);
        rc = gp_store(gp, X, y, n);
        gp->nfant = 0;
    }
    memcpy(prev, gp->theta, m * sizeof(double));
    for (int s = s0; !rc && s < s1; s++) {
        gp_start(gp, s, prev, rng, x);
        rc = gp_optimize_from(&o, x, &f, maxiter);
        if (!rc && f < best_f) {
            best_f = f;
            gsl_vector_memcpy(best, x);
        }
    }
    if (!rc && best_f < 1e10) {
        for (size_t k = 0; k < m; k++) {
            double lo, hi;
            gp_box(gp->d, k, &lo, &hi);
            gp->theta[k] = fmin(fmax(gsl_vector_get(best, k), lo), hi);
        }
    }
    if (!rc)
        rc = gp_condition(gp, X, y, n);
    gsl_vector_free(x);
    gsl_vector_free(best);
    free(th);
    return rc;
}

int gp_fit(struct gp *gp, const double *X, const double *y, size_t n,
           gsl_rng *rng) {
    return gp_fit_starts(gp, X, y, n, rng, 0, n <= 20 ? 3 : 2, 40);
}

int gp_refit(struct gp *gp, const double *X, const double *y, size_t n,
             gsl_rng *rng, int maxiter) {
    return gp_fit_starts(gp, X, y, n, rng, 1, 2, maxiter);
}

/* ---- prediction and acquisition ---- */

/* Mean and variance in standardised units. */
static int gp_predict_std(struct gp *gp, const double *x, double *mu,
                          double *var) {
    size_t n = gp->n, d = gp->d;
    gsl_matrix_view Lv;
    gsl_vector_view kv;
    double m = 0, v = 0, il[d], sf2 = exp(gp->theta[d]);

    if (!gp->ready)
        return SWEEP_EINVAL;
    gp_inv_l(d, gp->theta, il);
    for (size_t i = 0; i < n; i++) {
        gp->kbuf[i] = gp_kernel_theta(d, il, sf2, x, gp->X + i * d, NULL);
        m += gp->kbuf[i] * gsl_vector_get(gp->alpha, i);
    }
    Lv = gsl_matrix_submatrix(gp->L, 0, 0, n, n);
    kv = gsl_vector_view_array(gp->kbuf, n);
    if (gsl_blas_dtrsv(CblasLower, CblasNoTrans, CblasNonUnit, &Lv.matrix,
                       &kv.vector) != GSL_SUCCESS)
        return SWEEP_EINVAL;
    for (size_t i = 0; i < n; i++)
        v += gp->kbuf[i] * gp->kbuf[i];
    *mu = m;
    *var = fmax(exp(gp->theta[d]) - v, 1e-12);
    return 0;
}

int gp_predict(struct gp *gp, const double *x, double *mu, double *var) {
    int rc = gp_predict_std(gp, x, mu, var);

    if (rc)
        return rc;
    *mu = *mu * gp->ystd + gp->ymean;
    *var *= gp->ystd * gp->ystd;
    return 0;
}

/* log(z Phi(z) + phi(z)); below z = -6 the asymptotic series, since the
 * direct form cancels to 0 there. */
static double gp_log_h(double z) {
    if (z > -6) {
        double h = z * gsl_cdf_ugaussian_P(z) + gsl_ran_ugaussian_pdf(z);
        return log(fmax(h, 1e-300));
    }
    double z2 = z * z;
    return -0.5 * z2 - 0.5 * log(2 * M_PI) - 2 * log(-z) +
           log1p(-3 / z2 + 15 / (z2 * z2));
}

double gp_log_ei(double mu, double var, double best) {
    double s = sqrt(fmax(var, 1e-300));

    return log(s) + gp_log_h((best - mu) / s);
}

/* With runs in flight (fantasies), the lower confidence bound
 * mu - GP_LCB_BETA sigma instead of EI: GP-BUCB (Desautels, Krause and
 * Burdick, JMLR 2014), whose believed points shrink sigma where runs are
 * in flight, so the confidence bound moves on while the mean stays. EI
 * with the same believed points sent most runs in flight to explore far
 * from the best point (4 workers, 60 seeds: 23% of suggestions 10-24
 * within 0.15 of the best on hartmann6, against 50% for one worker);
 * the bound keeps them on the good region. Over 60 seeds with 4 workers,
 * regret at 50: branin 1.2e-05 -> 6.6e-07, rosenbrock4 5.1 -> 4.1,
 * hartmann6 5.4e-04 -> 5.2e-04, mixed 0.11 -> 0.10. beta 0.5, 1.5 and 2
 * were worse; so was the bound for every suggestion (mixed stays on the
 * first good category: 0.10 -> 0.30), so one worker keeps EI. */
#define GP_LCB_BETA 1.0

/* The acquisition to minimise at a point with standardised mean mu and
 * variance var: -log EI below best, or the bound above with runs in
 * flight. */
static double gp_acq_value(const struct gp *gp, double mu, double var,
                           double best) {
    if (gp->nfant)
        return mu - GP_LCB_BETA * sqrt(var);
    return -gp_log_ei(mu, var, best);
}

struct gp_acq {
    struct gp *gp;
    double best;     /* standardised */
    double *x;       /* d scratch */
    const double *base; /* the point refined: its one-hot coordinates */
    size_t *idx;     /* the coordinates refined (not in a group) */
    size_t nidx;
};

/* -log EI at x clamped to [0,1]^d, plus a penalty outside it. */
static double gp_acq_f(const gsl_vector *v, void *params) {
    struct gp_acq *a = params;
    double pen = 0, mu, var;

    memcpy(a->x, a->base, a->gp->d * sizeof(double));
    for (size_t k = 0; k < a->nidx; k++) {
        size_t j = a->idx[k];
        double t = gsl_vector_get(v, k);
        a->x[j] = fmin(fmax(t, 0), 1);
        pen += 1e3 * (t - a->x[j]) * (t - a->x[j]);
    }
    if (gp_predict_std(a->gp, a->x, &mu, &var) != 0)
        return 1e10;
    return gp_acq_value(a->gp, mu, var, a->best) + pen;
}

/* Nelder-Mead from x over its coordinates outside the one-hot groups (in
 * place, clamped to the box on return), until the simplex is
 * GP_REFINE_TOL across (0.01% of a parameter's range: below what
 * rounding to integers, q or a printed float keeps) or after
 * GP_REFINE_ITERS steps (the best candidate is already close: the local
 * candidates of gp_maximize_acq() put it there). */
#define GP_REFINE_ITERS 80
#define GP_REFINE_TOL 1e-4

static int gp_refine(struct gp_acq *a, double *x, double *f) {
    size_t m = a->nidx;
    gsl_multimin_function fn = {gp_acq_f, m, a};
    gsl_multimin_fminimizer *s;
    gsl_vector *x0, *step;
    int rc;

    if (m == 0)
        return 0; /* only categoricals: the candidates were exact */
    s = gsl_multimin_fminimizer_alloc(gsl_multimin_fminimizer_nmsimplex2, m);
    x0 = gsl_vector_alloc(m);
    step = gsl_vector_alloc(m);
    rc = s && x0 && step ? 0 : SWEEP_ENOMEM;
    a->base = x;
    if (!rc) {
        for (size_t k = 0; k < m; k++)
            gsl_vector_set(x0, k, x[a->idx[k]]);
        gsl_vector_set_all(step, 0.05);
        if (gsl_multimin_fminimizer_set(s, &fn, x0, step) == GSL_SUCCESS) {
            for (int it = 0; it < GP_REFINE_ITERS; it++) {
                if (gsl_multimin_fminimizer_iterate(s) != GSL_SUCCESS)
                    break;
                if (gsl_multimin_test_size(gsl_multimin_fminimizer_size(s),
                                           GP_REFINE_TOL) == GSL_SUCCESS)
                    break;
            }
            if (s->fval < *f) {
                *f = s->fval;
                for (size_t k = 0; k < m; k++)
                    x[a->idx[k]] = fmin(fmax(gsl_vector_get(s->x, k), 0), 1);
            }
        }
    }
    if (s)
        gsl_multimin_fminimizer_free(s);
    if (x0)
        gsl_vector_free(x0);
    if (step)
        gsl_vector_free(step);
    return rc;
}

/* Nelder-Mead starts: the best 2 candidates, or 4 with runs in flight,
 * where each believed point carves a dip in sigma and the bound has
 * more local minima (60 seeds, 4 workers: hartmann6 5.2e-04 -> 3.4e-04;
 * 8 starts, or 300 steps each, no better). GP_NREFINE is the most. */
#define GP_NREFINE 4
#define GP_NREFINE_ONE 2
#define GP_NLOCAL_AT 5 /* local candidates around this many best points */

/* What gp_candidate() draws from. */
struct gp_cands {
    gsl_qrng *q;
    int use_q;
    const double *shift;
    const struct gp_group *groups;
    size_t ngroups, ncand;
    size_t at[GP_NLOCAL_AT], nat; /* the best points' indexes */
};
#define GP_BLOCK 128 /* candidates scored together by one triangular solve */

/* -log EI of nb candidates C (nb x d) into f: K* for the block, the means
 * by one gemv and the variances by one trsm (BLAS 3), which beats nb
 * separate trsv by far once n is in the hundreds. */
static int gp_score_block(struct gp *gp, const double *C, size_t nb,
                          double best, double *f) {
    size_t n = gp->n, d = gp->d;
    double il[d], sf2 = exp(gp->theta[d]), mu[GP_BLOCK];
    gsl_matrix *K = gsl_matrix_alloc(n, nb);
    gsl_matrix_view Lv = gsl_matrix_submatrix(gp->L, 0, 0, n, n);
    gsl_vector_view av = gsl_vector_subvector(gp->alpha, 0, n);
    gsl_vector_view mv = gsl_vector_view_array(mu, nb);
    int rc = K ? 0 : SWEEP_ENOMEM;

    gp_inv_l(d, gp->theta, il);
    for (size_t i = 0; !rc && i < n; i++) {
        double *row = gsl_matrix_ptr(K, i, 0);
        for (size_t c = 0; c < nb; c++)
            row[c] = gp_kernel_theta(d, il, sf2, gp->X + i * d, C + c * d, NULL);
    }
    if (!rc &&
        (gsl_blas_dgemv(CblasTrans, 1.0, K, &av.vector, 0.0, &mv.vector) !=
             GSL_SUCCESS ||
         gsl_blas_dtrsm(CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, 1.0,
                        &Lv.matrix, K) != GSL_SUCCESS))
        rc = SWEEP_EINVAL;
    if (!rc) {
        double v[GP_BLOCK] = {0};
        for (size_t i = 0; i < n; i++) {
            const double *row = gsl_matrix_ptr(K, i, 0);
            for (size_t c = 0; c < nb; c++)
                v[c] += row[c] * row[c];
        }
        for (size_t c = 0; c < nb; c++)
            f[c] = gp_acq_value(gp, mu[c], fmax(sf2 - v[c], 1e-12), best);
    }
    gsl_matrix_free(K);
    return rc;
}

/* Keeps the GP_NREFINE lowest f with their points in top[] / topx[]. */
static void gp_keep(double f, const double *x, size_t d, double *top,
                    double *topx) {
    int i = GP_NREFINE - 1;

    if (!(f < top[i]))
        return;
    while (i > 0 && f < top[i - 1]) {
        top[i] = top[i - 1];
        memcpy(topx + i * d, topx + (i - 1) * d, d * sizeof(double));
        i--;
    }
    top[i] = f;
    memcpy(topx + i * d, x, d * sizeof(double));
}

/* Indexes of the (up to) GP_NLOCAL_AT lowest y among the data (fantasies
 * included: around a believed point is where the others in flight
 * should not be, but near it often is), into at[]; returns how many. */
static size_t gp_best_points(const struct gp *gp, size_t *at) {
    size_t k = 0;

    for (size_t i = 0; i < gp->n; i++) {
        size_t j;
        if (k < GP_NLOCAL_AT)
            j = k++;
        else if (gp->y[i] < gp->y[at[GP_NLOCAL_AT - 1]])
            j = GP_NLOCAL_AT - 1;
        else
            continue;
        while (j > 0 && gp->y[i] < gp->y[at[j - 1]]) {
            at[j] = at[j - 1];
            j--;
        }
        at[j] = i;
    }
    return k;
}

/* Whether x is too close to a run to be suggested: two at the same place
 * would be one run twice. Distances are Euclidean in [0,1]^d.
 *
 * Runs in flight (fantasies): within GP_MIN_DIST. Fantasies are data
 * with the fitted noise, which lets the runs in flight cluster where the
 * model is sure (with 4 workers this converged better than noise-free
 * fantasies, which push them apart). 0.001 (0.1% of each range): once
 * the best basin is found, 4 workers refine it at that scale. 0.015
 * -> 0.003 took hartmann6 from 7.3e-04 to 5.4e-04 (60 seeds, EI then);
 * 0.003 -> 0.001, over 180 seeds with the bound: hartmann6 9.0e-04 ->
 * 7.3e-04, branin 5.5e-07 -> 4.6e-07, rosenbrock4 4.3 and mixed 0.10
 * either way (0.0005 down to 1e-6: the same as 0.001).
 *
 * Measured runs, with runs in flight: within GP_SAME_DIST, the same
 * point. The confidence bound's minimum can sit on a measured run (the
 * mean is lowest there and sd does not vanish): `make demo` ran lr=3.0,
 * l2=0.0 four times. Only the same point, since refining the best one
 * needs points close to it (0.003 here took branin with 4 workers from
 * 4e-07 to 3e-04). EI is zero at a measured point anyway. */
#define GP_MIN_DIST 0.001
#define GP_SAME_DIST 1e-6

static int gp_too_close(const struct gp *gp, const double *x) {
    for (size_t i = gp->nfant ? 0 : gp->n; i < gp->n; i++) {
        double r2 = 0;
        double lim = i < gp->n - gp->nfant ? GP_SAME_DIST : GP_MIN_DIST;
        for (size_t j = 0; j < gp->d; j++) {
            double t = x[j] - gp->X[i * gp->d + j];
            r2 += t * t;
        }
        if (r2 < lim * lim)
            return 1;
    }
    return 0;
}

/* Sets group g of x to one-hot at k. */
static void gp_one_hot(const struct gp_group *g, size_t k, double *x) {
    for (size_t j = 0; j < g->width; j++)
        x[g->off + j] = j == k;
}

/* Candidate c of ncand: the first half a randomly shifted Sobol sequence
 * (uniform draws past 40 dimensions) with each one-hot group set at its
 * largest coordinate (so every category is as likely), the second half
 * Gaussian steps around the best observed points (half of them with sd
 * 0.02, half 0.15, clamped), which switch each group to a random
 * category one time in four: EI's maximum is usually near the incumbent,
 * where space-filling points are sparse, and a categorical is explored
 * by trying the other values where the rest is already good. Candidates
 * are real configurations: EI is never judged at a blend of categories. */
static void gp_candidate(const struct gp *gp, struct gp_cands *cs,
                         size_t c, gsl_rng *rng, double *xc) {
    size_t d = gp->d;

    if (c < cs->ncand / 2 || cs->nat == 0) {
        if (cs->use_q && gsl_qrng_get(cs->q, xc) != GSL_SUCCESS)
            cs->use_q = 0; /* cannot happen for d <= 40; fall back anyway */
        for (size_t j = 0; j < d; j++)
            xc[j] = cs->use_q ? fmod(xc[j] + cs->shift[j], 1.0)
                              : gsl_rng_uniform(rng);
        for (size_t g = 0; g < cs->ngroups; g++) {
            const struct gp_group *gr = &cs->groups[g];
            size_t k = 0;
            for (size_t j = 1; j < gr->width; j++)
                if (xc[gr->off + j] > xc[gr->off + k])
                    k = j;
            gp_one_hot(gr, k, xc);
        }
    } else {
        const double *x0 = gp->X + cs->at[c % cs->nat] * d;
        double sd = c % 2 ? 0.02 : 0.15;
        for (size_t j = 0; j < d; j++)
            xc[j] = fmin(fmax(x0[j] + gsl_ran_gaussian(rng, sd), 0), 1);
        for (size_t g = 0; g < cs->ngroups; g++) {
            const struct gp_group *gr = &cs->groups[g];
            memcpy(xc + gr->off, x0 + gr->off, gr->width * sizeof(double));
            if (gsl_rng_uniform(rng) < 0.25)
                gp_one_hot(gr, gsl_rng_uniform_int(rng, gr->width), xc);
        }
    }
}

int gp_maximize_acq(struct gp *gp, double best, size_t ncand,
                    const struct gp_group *groups, size_t ngroups,
                    gsl_rng *rng, double *xout) {
    size_t d = gp->d, idx[d];
    double top[GP_NREFINE], shift[d], bestf = HUGE_VAL, score[GP_BLOCK];
    double anyf = HUGE_VAL, anyx[d];
    double *cand = malloc(GP_BLOCK * d * sizeof(double));
    double *buf = malloc(d * (GP_NREFINE + 2) * sizeof(double));
    double *topx = buf, *x = buf ? buf + GP_NREFINE * d : NULL;
    struct gp_acq a = {gp, (best - gp->ymean) / gp->ystd, buf ? x + d : NULL,
                       NULL, idx, 0};
    struct gp_cands cs = {0};
    int rc, in_group[d], nref = gp->nfant ? GP_NREFINE : GP_NREFINE_ONE;

    cs.q = d <= 40 ? gsl_qrng_alloc(gsl_qrng_sobol, (unsigned)d) : NULL;
    cs.use_q = cs.q != NULL;
    cs.shift = shift;
    cs.groups = groups;
    cs.ngroups = ngroups;
    cs.ncand = ncand;
    rc = buf && cand && (cs.q || d > 40) ? 0 : SWEEP_ENOMEM;
    memset(in_group, 0, sizeof(in_group));
    for (size_t g = 0; g < ngroups; g++)
        for (size_t j = 0; j < groups[g].width; j++)
            if (groups[g].off + j < d)
                in_group[groups[g].off + j] = 1;
            else
                rc = SWEEP_EINVAL;
    for (size_t j = 0; j < d; j++)
        if (!in_group[j])
            idx[a.nidx++] = j;
    if (!rc && !gp->ready)
        rc = SWEEP_EINVAL;
    cs.nat = rc ? 0 : gp_best_points(gp, cs.at);
    for (int i = 0; i < GP_NREFINE; i++)
        top[i] = HUGE_VAL;
    for (size_t j = 0; j < d; j++)
        shift[j] = gsl_rng_uniform(rng);
    for (size_t c0 = 0; !rc && c0 < ncand; c0 += GP_BLOCK) {
        size_t nb = ncand - c0 < GP_BLOCK ? ncand - c0 : GP_BLOCK;
        for (size_t c = 0; c < nb; c++)
            gp_candidate(gp, &cs, c0 + c, rng, cand + c * d);
        rc = gp_score_block(gp, cand, nb, a.best, score);
        for (size_t c = 0; !rc && c < nb; c++) {
            if (!gp_too_close(gp, cand + c * d))
                gp_keep(score[c], cand + c * d, d, top, topx);
            else if (score[c] < anyf) {
                anyf = score[c];
                memcpy(anyx, cand + c * d, d * sizeof(double));
            }
        }
    }
    for (int i = 0; !rc && i < nref && top[i] < HUGE_VAL; i++) {
        double f = top[i];
        memcpy(x, topx + i * d, d * sizeof(double));
        rc = gp_refine(&a, topx + i * d, &f);
        if (!rc && gp_too_close(gp, topx + i * d)) { /* refined into one */
            memcpy(topx + i * d, x, d * sizeof(double));
            f = top[i];
        }
        if (!rc && f < bestf) {
            bestf = f;
            memcpy(xout, topx + i * d, d * sizeof(double));
        }
    }
    /* Every candidate repeats a run (a small discrete space with more
     * workers than configurations left): the best of them, rather than
     * no suggestion. */
    if (!rc && !(bestf < HUGE_VAL) && anyf < HUGE_VAL) {
        bestf = anyf;
        memcpy(xout, anyx, d * sizeof(double));
    }
    if (!rc && !(bestf < HUGE_VAL))
        rc = SWEEP_EINVAL;
    if (cs.q)
        gsl_qrng_free(cs.q);
    free(cand);
    free(buf);
    return rc;
}

/*
 * test_gp.c - the GP of gp.c: kernel values and gradients against finite
 * differences, the likelihood gradient, a fit of a known function, and
 * the expected improvement.
 */
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <stdlib.h>

#include "gp.h"
#include "test.h"

static double relerr(double a, double b) {
    return fabs(a - b) / fmax(1e-8, fmax(fabs(a), fabs(b)));
}

static void test_kernel_values(void) {
    struct gp *gp = gp_new(2);
    double th[4] = {log(0.5), log(2.0), log(1.5), log(1e-3)};
    double a[2] = {0.1, 0.2}, b[2] = {0.4, 0.2}, r, want;

    CHECK(gp != NULL);
    gp_set_theta(gp, th);
    CHECK_DBL(gp_kernel(gp, a, a, NULL), 1.5, 1e-14);
    r = 0.3 / 0.5;
    want = 1.5 * (1 + sqrt(5) * r + 5.0 / 3.0 * r * r) * exp(-sqrt(5) * r);
    CHECK_DBL(gp_kernel(gp, a, b, NULL), want, 1e-14);
    CHECK_DBL(gp_kernel(gp, a, b, NULL), gp_kernel(gp, b, a, NULL), 0);
    /* the second length scale is irrelevant along the first axis */
    th[1] = log(0.01);
    gp_set_theta(gp, th);
    CHECK_DBL(gp_kernel(gp, a, b, NULL), want, 1e-14);
    gp_free(gp);
}

static void test_kernel_gradient(void) {
    struct gp *gp = gp_new(3);
    double th[5] = {log(0.3), log(0.7), log(1.9), log(0.8), log(1e-2)};
    double a[3] = {0.1, 0.5, 0.9}, b[3] = {0.3, 0.45, 0.2}, g[4];
    double h = 1e-6;

    gp_set_theta(gp, th);
    gp_kernel(gp, a, b, g);
    for (int k = 0; k < 4; k++) {
        double t[5], kp, km;
        memcpy(t, th, sizeof(t));
        t[k] += h;
        gp_set_theta(gp, t);
        kp = gp_kernel(gp, a, b, NULL);
        t[k] -= 2 * h;
        gp_set_theta(gp, t);
        km = gp_kernel(gp, a, b, NULL);
        CHECK(relerr(g[k], (kp - km) / (2 * h)) < 1e-4);
    }
    gp_free(gp);
}

static void test_lml_gradient(void) {
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    struct gp *gp = gp_new(2);
    double X[40], y[20], g[4],
        th[4] = {log(0.4), log(0.9), log(1.3), log(0.05)};
    double h = 1e-5, l;

    for (int i = 0; i < 20; i++) {
        X[2 * i] = gsl_rng_uniform(rng);
        X[2 * i + 1] = gsl_rng_uniform(rng);
        y[i] = sin(6 * X[2 * i]) + X[2 * i + 1] * X[2 * i + 1];
    }
    gp_set_theta(gp, th);
    CHECK_INT(gp_condition(gp, X, y, 20), 0);
    CHECK_INT(gp_lml(gp, th, &l, g), 0);
    CHECK(isfinite(l));
    for (int k = 0; k < 4; k++) {
        double t[4], lp, lm;
        memcpy(t, th, sizeof(t));
        t[k] += h;
        CHECK_INT(gp_lml(gp, t, &lp, NULL), 0);
        t[k] -= 2 * h;
        CHECK_INT(gp_lml(gp, t, &lm, NULL), 0);
        if (relerr(g[k], (lp - lm) / (2 * h)) >= 1e-4)
            fprintf(stderr, "  k=%d analytic %g numeric %g\n", k, g[k],
                    (lp - lm) / (2 * h));
        CHECK(relerr(g[k], (lp - lm) / (2 * h)) < 1e-4);
    }
    gp_free(gp);
    gsl_rng_free(rng);
}

/* A fit of sin(2 pi x) from 12 points predicts 200 others closely, with
 * the truth inside the predictive band, and interpolates its data. */
static void test_fit_known_function(void) {
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    struct gp *gp = gp_new(1);
    double X[12], y[12], worst = 0, mu, var, before, after, th[3];
    int outside = 0, bad = 0;

    for (int i = 0; i < 12; i++) {
        X[i] = (i + 0.5) / 12;
        y[i] = 3 + 2 * sin(2 * M_PI * X[i]);
    }
    gp_get_theta(gp, th);
    CHECK_INT(gp_condition(gp, X, y, 12), 0);
    CHECK_INT(gp_lml(gp, th, &before, NULL), 0);
    CHECK_INT(gp_fit(gp, X, y, 12, rng), 0);
    gp_get_theta(gp, th);
    CHECK_INT(gp_lml(gp, th, &after, NULL), 0);
    CHECK(after >= before); /* the fit improved the likelihood */
    for (int i = 0; i < 200; i++) {
        double x = (i + 0.5) / 200, f = 3 + 2 * sin(2 * M_PI * x);
        bad += gp_predict(gp, &x, &mu, &var) != 0;
        worst = fmax(worst, fabs(mu - f));
        outside += fabs(mu - f) > 3 * sqrt(var) + 1e-3;
    }
    CHECK_INT(bad, 0);
    CHECK(worst < 0.05);
    CHECK(outside < 10);
    CHECK_INT(gp_predict(gp, &X[3], &mu, &var), 0);
    CHECK_DBL(mu, y[3], 1e-2);
    CHECK(var < 1e-2);
    gp_free(gp);
    gsl_rng_free(rng);
}

/* A warm refit from the theta of a fit on fewer points is at least as
 * likely as that theta on the new data, and as good as a cold fit
 * (within a small margin); maxiter 0 keeps theta. */
static void test_refit_warm(void) {
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    struct gp *gp = gp_new(2);
    double X[2 * 30], y[30], th[4], th0[4], before, warm, cold;

    gsl_rng_set(rng, 5);
    for (int i = 0; i < 30; i++) {
        X[2 * i] = gsl_rng_uniform(rng);
        X[2 * i + 1] = gsl_rng_uniform(rng);
        y[i] = sin(6 * X[2 * i]) + 0.1 * X[2 * i + 1];
    }
    CHECK_INT(gp_fit(gp, X, y, 25, rng), 0);
    gp_get_theta(gp, th0);
    CHECK_INT(gp_refit(gp, X, y, 30, rng, 0), 0);
    gp_get_theta(gp, th);
    CHECK(!memcmp(th, th0, sizeof(th)));
    CHECK_INT(gp_lml(gp, th0, &before, NULL), 0);
    CHECK_INT(gp_refit(gp, X, y, 30, rng, 10), 0);
    gp_get_theta(gp, th);
    CHECK_INT(gp_lml(gp, th, &warm, NULL), 0);
    CHECK(warm >= before - 1e-9);
    CHECK_INT(gp_fit(gp, X, y, 30, rng), 0);
    gp_get_theta(gp, th);
    CHECK_INT(gp_lml(gp, th, &cold, NULL), 0);
    CHECK(warm >= cold - 1.0);
    gp_free(gp);
    gsl_rng_free(rng);
}

static void test_log_ei(void) {
    /* matches the closed form where EI is representable */
    double mu = 0.3, var = 0.04, best = 0.1, s = 0.2, z = (best - mu) / s;
    double ei = s * (z * gsl_cdf_ugaussian_P(z) + gsl_ran_ugaussian_pdf(z));
    double prev = -HUGE_VAL;

    CHECK(relerr(exp(gp_log_ei(mu, var, best)), ei) < 1e-12);
    /* increasing as the mean drops, finite far into the tail, continuous
     * where the asymptotic form takes over */
    for (double m = 50; m >= -5; m -= 0.01) {
        double l = gp_log_ei(m, 1, 0);
        CHECK(isfinite(l));
        CHECK(l > prev);
        prev = l;
    }
    CHECK(relerr(gp_log_ei(6 - 1e-9, 1, 0), gp_log_ei(6 + 1e-9, 1, 0)) < 1e-3);
    /* more uncertainty, more improvement expected at the same mean */
    CHECK(gp_log_ei(1, 0.5, 0) > gp_log_ei(1, 0.1, 0));
    /* deterministic gain: EI -> best - mu as var -> 0 */
    CHECK(relerr(exp(gp_log_ei(-1, 1e-12, 0)), 1) < 1e-6);
}

static double log_ei_at(struct gp *gp, const double *x, double best) {
    double mu, var;

    if (gp_predict(gp, x, &mu, &var) != 0)
        return -HUGE_VAL;
    return gp_log_ei(mu, var, best);
}

/* 8 random points of the bowl (x - 0.7)^2 + (y - 0.2)^2 on [0,1]^2 into
 * X (8 x 2) and y; returns the lowest y. */
static double bowl(gsl_rng *rng, double *X, double *y) {
    double best = HUGE_VAL;

    for (int i = 0; i < 8; i++) {
        X[2 * i] = gsl_rng_uniform(rng);
        X[2 * i + 1] = gsl_rng_uniform(rng);
        y[i] = pow(X[2 * i] - 0.7, 2) + pow(X[2 * i + 1] - 0.2, 2);
        best = fmin(best, y[i]);
    }
    return best;
}

/* EI maximisation on a quadratic bowl lands in [0,1] and beats the EI of
 * every data point and of 2000 random points. */
static void test_maximize_ei(void) {
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    struct gp *gp = gp_new(2);
    double X[16], y[8], x[2], best;

    best = bowl(rng, X, y);
    CHECK_INT(gp_fit(gp, X, y, 8, rng), 0);
    CHECK_INT(gp_maximize_acq(gp, best, 1000, NULL, 0, rng, x), 0);
    CHECK(x[0] >= 0 && x[0] <= 1 && x[1] >= 0 && x[1] <= 1);
    {
        double top = log_ei_at(gp, x, best);
        int beaten = 0;
        CHECK(isfinite(top));
        for (int i = 0; i < 8; i++)
            beaten += log_ei_at(gp, X + 2 * i, best) > top;
        for (int i = 0; i < 2000; i++) {
            double r[2] = {gsl_rng_uniform(rng), gsl_rng_uniform(rng)};
            beaten += log_ei_at(gp, r, best) > top + 1e-9;
        }
        CHECK_INT(beaten, 0);
    }
    gp_free(gp);
    gsl_rng_free(rng);
}

/* mean - sd at x in the units of y (ranks as the standardised bound). */
static double lcb_at(struct gp *gp, const double *x) {
    double mu, var;

    if (gp_predict(gp, x, &mu, &var) != 0)
        return HUGE_VAL;
    return mu - sqrt(var);
}

/* With a run in flight the acquisition is the confidence bound mean - sd
 * (GP-BUCB): the point returned has a bound no 2000 random points beat
 * (beyond the refinement's tolerance), and keeps its distance from the
 * run in flight, placed where the bound was lowest without it. */
static void test_maximize_lcb_in_flight(void) {
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    struct gp *gp = gp_new(2);
    double X[18], y[9], x[2], best, var;

    gsl_rng_set(rng, 7);
    best = bowl(rng, X, y);
    CHECK_INT(gp_fit(gp, X, y, 8, rng), 0);
    /* the run in flight: where one worker's suggestion went */
    CHECK_INT(gp_maximize_acq(gp, best, 1000, NULL, 0, rng, X + 16), 0);
    CHECK_INT(gp_predict(gp, X + 16, &y[8], &var), 0);
    CHECK_INT(gp_condition_fantasy(gp, X, y, 9, 1), 0);
    CHECK_INT(gp_maximize_acq(gp, best, 1000, NULL, 0, rng, x), 0);
    CHECK(x[0] >= 0 && x[0] <= 1 && x[1] >= 0 && x[1] <= 1);
    CHECK(hypot(x[0] - X[16], x[1] - X[17]) >= 0.001);
    {
        double top = lcb_at(gp, x);
        int beaten = 0;
        CHECK(isfinite(top));
        for (int i = 0; i < 2000; i++) {
            double r[2] = {gsl_rng_uniform(rng), gsl_rng_uniform(rng)};
            if (hypot(r[0] - X[16], r[1] - X[17]) >= 0.001)
                beaten += lcb_at(gp, r) < top - 1e-6;
        }
        CHECK_INT(beaten, 0);
    }
    gp_free(gp);
    gsl_rng_free(rng);
}

/* A fantasy is data: the mean there is the believed value and the
 * variance collapses from what it was without it. */
static void test_condition_fantasy(void) {
    struct gp *gp = gp_new(1);
    double th[3] = {log(0.3), 0, log(1e-4)}, X[3] = {0.1, 0.5, 0.9};
    double y[3] = {1, 2, 3}, mu, var0, var;

    gp_set_theta(gp, th);
    CHECK_INT(gp_condition(gp, X, y, 2), 0);
    CHECK_INT(gp_predict(gp, &X[2], &mu, &var0), 0);
    CHECK_INT(gp_condition_fantasy(gp, X, y, 3, 1), 0);
    CHECK_INT(gp_predict(gp, &X[2], &mu, &var), 0);
    CHECK_DBL(mu, 3, 1e-2);
    CHECK(var < var0 / 100);
    CHECK(gp_condition_fantasy(gp, X, y, 3, 4) != 0);
    gp_free(gp);
}

static void test_errors(void) {
    struct gp *gp = gp_new(1);
    double x = 0.5, mu, var;

    CHECK(gp_new(0) == NULL);
    CHECK(gp_predict(gp, &x, &mu, &var) != 0);
    CHECK(gp_fit(gp, &x, &x, 0, NULL) != 0);
    gp_free(gp);
    gp_free(NULL);
}

int main(void) {
    gsl_set_error_handler_off();
    TEST_RUN(test_kernel_values);
    TEST_RUN(test_kernel_gradient);
    TEST_RUN(test_lml_gradient);
    TEST_RUN(test_fit_known_function);
    TEST_RUN(test_refit_warm);
    TEST_RUN(test_log_ei);
    TEST_RUN(test_maximize_ei);
    TEST_RUN(test_maximize_lcb_in_flight);
    TEST_RUN(test_condition_fantasy);
    TEST_RUN(test_errors);
    return TEST_DONE();
}

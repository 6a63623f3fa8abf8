/*
 * test_space.c - the sampling laws of space.c checked statistically, plus
 * q rounding and the flat <-> nested shapes.
 *
 * Every law test uses a fixed seed, NSAMP draws and rejects only below
 * PMIN, so a right law passes every time and a wrong one (even a 10%
 * wrong sigma) fails every time; test_ks_rejects_wrong_law and
 * test_chisq_rejects_wrong_law prove the tests can fail at all.
 */
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_rng.h>
#include <limits.h>
#include <stdlib.h>

#include "space.h"
#include "sweep.h"
#include "test.h"

#define NSAMP 20000
#define PMIN 1e-4
#define MAXBINS 32

typedef double (*cdf_fn)(double x, const struct param *p);

static char *path_x[] = {"x"};

/* A parameter with COMPAT.md's defaults, named "x". */
static struct param mkparam(enum param_dist dist) {
    struct param p;

    memset(&p, 0, sizeof(p));
    p.name = "x";
    p.path = path_x;
    p.npath = 1;
    p.dist = dist;
    p.sigma = 1;
    p.q = 1;
    p.a = p.b = 1;
    return p;
}

static gsl_rng *rng_new(unsigned long seed) {
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);

    gsl_rng_set(r, seed);
    return r;
}

/* ---- statistics ---- */

static int cmp_dbl(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* P(K > lambda) for the Kolmogorov distribution:
 * 2 sum_{j>=1} (-1)^(j-1) exp(-2 j^2 lambda^2). The alternating series
 * is useless near 0, where the answer is 1 to many digits anyway. */
static double ks_q(double lambda) {
    double sum = 0, sign = 1;

    if (lambda < 0.2)
        return 1;
    for (int j = 1; j <= 200; j++) {
        double t = exp(-2.0 * j * j * lambda * lambda);

        sum += sign * t;
        if (t < 1e-300)
            break;
        sign = -sign;
    }
    return fmin(fmax(2 * sum, 0), 1);
}

/* Kolmogorov-Smirnov p-value of x (sorted here) against F, with
 * Stephens' small-n correction of the statistic. */
static double ks_pvalue(double *x, size_t n, cdf_fn F, const struct param *p) {
    double d = 0, sn = sqrt((double)n);

    qsort(x, n, sizeof(*x), cmp_dbl);
    for (size_t i = 0; i < n; i++) {
        double f = F(x[i], p);

        d = fmax(d, fmax(f - (double)i / n, (double)(i + 1) / n - f));
    }
    return ks_q((sn + 0.12 + 0.11 / sn) * d);
}

/* Pearson chi-square p-value of counts against bin probabilities. */
static double chisq_pvalue(const long *obs, const double *prob, size_t k) {
    double stat = 0;
    long n = 0;

    for (size_t i = 0; i < k; i++)
        n += obs[i];
    for (size_t i = 0; i < k; i++) {
        double e = prob[i] * n;

        stat += (obs[i] - e) * (obs[i] - e) / e;
    }
    return gsl_cdf_chisq_Q(stat, (double)(k - 1));
}

/* n draws of p as doubles; checks every one is a JSON real (or integer
 * when want_int) and returns how many were not. */
static int draw_numbers(const struct param *p, gsl_rng *r, double *x, size_t n,
                        int want_int) {
    int bad = 0;

    for (size_t i = 0; i < n; i++) {
        json_t *v = space_sample_param(p, r);

        if (!v || (want_int ? !json_is_integer(v) : !json_is_real(v)))
            bad++;
        x[i] = json_number_value(v);
        json_decref(v);
    }
    return bad;
}

/* ---- exact CDFs ---- */

static double cdf_uniform(double x, const struct param *p) {
    return gsl_cdf_flat_P(x, p->min, p->max);
}

static double cdf_log_uniform_values(double x, const struct param *p) {
    return gsl_cdf_flat_P(log(x), log(p->min), log(p->max));
}

/* P(exp(-V) <= x) = P(V >= -ln x), V ~ U(-ln max, -ln min) */
static double cdf_inv_log_uniform_values(double x, const struct param *p) {
    return gsl_cdf_flat_Q(-log(x), -log(p->max), -log(p->min));
}

static double cdf_log_uniform(double x, const struct param *p) {
    return gsl_cdf_flat_P(log(x), p->min, p->max);
}

/* P(exp(-V) <= x) = P(V >= -ln x), V ~ U(min, max) */
static double cdf_inv_log_uniform(double x, const struct param *p) {
    return gsl_cdf_flat_Q(-log(x), p->min, p->max);
}

static double cdf_normal(double x, const struct param *p) {
    return gsl_cdf_gaussian_P(x - p->mu, p->sigma);
}

static double cdf_log_normal(double x, const struct param *p) {
    return x <= 0 ? 0 : gsl_cdf_lognormal_P(x, p->mu, p->sigma);
}

static double cdf_beta(double x, const struct param *p) {
    return x <= 0 ? 0 : x >= 1 ? 1 : gsl_cdf_beta_P(x, p->a, p->b);
}

/* ---- continuous laws (KS) ---- */

/* KS-tests p against F and checks every draw lies in [lo, hi]. */
static void check_ks(const char *what, const struct param *p, cdf_fn F,
                     double lo, double hi, unsigned long seed) {
    static double x[NSAMP];
    gsl_rng *r = rng_new(seed);
    size_t out = 0;
    double pv;

    CHECK_INT(draw_numbers(p, r, x, NSAMP, 0), 0);
    for (size_t i = 0; i < NSAMP; i++)
        out += !(x[i] >= lo && x[i] <= hi);
    CHECK_INT(out, 0);
    pv = ks_pvalue(x, NSAMP, F, p);
    if (!(pv > PMIN))
        fprintf(stderr, "  %s: KS p = %g\n", what, pv);
    CHECK(pv > PMIN);
    gsl_rng_free(r);
}

static void test_ks_uniform_kinds(void) {
    struct param p = mkparam(DIST_UNIFORM);

    p.min = -2, p.max = 5;
    check_ks("uniform", &p, cdf_uniform, p.min, p.max, 1);
    p.dist = DIST_LOG_UNIFORM_VALUES, p.min = 1e-4, p.max = 0.1;
    check_ks("log_uniform_values", &p, cdf_log_uniform_values, p.min, p.max, 2);
    p.dist = DIST_INV_LOG_UNIFORM_VALUES, p.min = 1e-3, p.max = 10;
    check_ks("inv_log_uniform_values", &p, cdf_inv_log_uniform_values, p.min,
             p.max, 3);
    p.dist = DIST_LOG_UNIFORM, p.min = -5, p.max = 1;
    check_ks("log_uniform", &p, cdf_log_uniform, exp(p.min), exp(p.max), 4);
    p.dist = DIST_INV_LOG_UNIFORM, p.min = 0, p.max = 3;
    check_ks("inv_log_uniform", &p, cdf_inv_log_uniform, exp(-p.max),
             exp(-p.min), 5);
}

static void test_ks_normal_kinds(void) {
    struct param p = mkparam(DIST_NORMAL);

    p.mu = 1.5, p.sigma = 2;
    check_ks("normal", &p, cdf_normal, -HUGE_VAL, HUGE_VAL, 6);
    p.dist = DIST_LOG_NORMAL, p.mu = -0.5, p.sigma = 0.7;
    check_ks("log_normal", &p, cdf_log_normal, 0, HUGE_VAL, 7);
}

static void test_ks_beta(void) {
    struct param p = mkparam(DIST_BETA);

    p.a = 2, p.b = 5;
    check_ks("beta(2,5)", &p, cdf_beta, 0, 1, 8);
    /* a, b <= 1 take GSL's other algorithm (Johnk's) */
    p.a = 0.5, p.b = 0.5;
    check_ks("beta(0.5,0.5)", &p, cdf_beta, 0, 1, 9);
}

/* The KS machinery must be able to say no: the right samples against a
 * wrong CDF, including one only 10% off in sigma. */
static void test_ks_rejects_wrong_law(void) {
    static double x[NSAMP];
    struct param p = mkparam(DIST_UNIFORM), wrong;
    gsl_rng *r = rng_new(10);

    p.min = 0, p.max = 1;
    wrong = p, wrong.max = 1.05;
    draw_numbers(&p, r, x, NSAMP, 0);
    CHECK(ks_pvalue(x, NSAMP, cdf_uniform, &wrong) < PMIN);
    p.dist = DIST_LOG_UNIFORM, p.min = -5, p.max = 1;
    draw_numbers(&p, r, x, NSAMP, 0);
    CHECK(ks_pvalue(x, NSAMP, cdf_inv_log_uniform, &p) < PMIN);
    p = mkparam(DIST_NORMAL), wrong = p, wrong.sigma = 1.1;
    draw_numbers(&p, r, x, NSAMP, 0);
    CHECK(ks_pvalue(x, NSAMP, cdf_normal, &wrong) < PMIN);
    CHECK(ks_pvalue(x, NSAMP, cdf_normal, &p) > PMIN);
    gsl_rng_free(r);
}

/* ---- discrete laws (chi-square) ---- */

static void check_chisq(const char *what, const long *obs, const double *prob,
                        size_t k) {
    double pv = chisq_pvalue(obs, prob, k);

    if (!(pv > PMIN))
        fprintf(stderr, "  %s: chi-square p = %g\n", what, pv);
    CHECK(pv > PMIN);
}

/* Index of v among the distinct values vals[0..n), or n. */
static size_t value_index(json_t *const *vals, size_t n, const json_t *v) {
    size_t i = 0;

    while (i < n && !json_equal(vals[i], v))
        i++;
    return i;
}

/* Counts NSAMP draws of p into the bins of the distinct values vals;
 * returns how many matched none. */
static long count_values(const struct param *p, json_t *const *vals, size_t n,
                         long *obs, unsigned long seed) {
    gsl_rng *r = rng_new(seed);
    long stray = 0;

    memset(obs, 0, n * sizeof(*obs));
    for (int i = 0; i < NSAMP; i++) {
        json_t *v = space_sample_param(p, r);
        size_t k = value_index(vals, n, v);

        if (k < n)
            obs[k]++;
        else
            stray++;
        json_decref(v);
    }
    gsl_rng_free(r);
    return stray;
}

static void test_categorical(void) {
    struct param p = mkparam(DIST_CATEGORICAL);
    json_t *vals[3];
    const double prob[3] = {0.5, 0.25, 0.25};
    long obs[3];
    json_t *v = NULL, *orig;
    gsl_rng *r = rng_new(11);

    /* "a" is written twice, so it has twice the weight */
    p.values = json_pack("[s s s {s i}]", "a", "b", "a", "c", 1);
    vals[0] = json_string("a"), vals[1] = json_string("b");
    vals[2] = json_pack("{s i}", "c", 1);
    CHECK_INT(count_values(&p, vals, 3, obs, 12), 0);
    check_chisq("categorical", obs, prob, 3);
    /* the object value comes back as a copy, not the config's own */
    orig = json_array_get(p.values, 3);
    for (int i = 0; i < 100 && !json_is_object(v); i++) {
        json_decref(v);
        v = space_sample_param(&p, r);
    }
    CHECK(v && v != orig && json_equal(v, orig));
    json_decref(v);
    for (int i = 0; i < 3; i++)
        json_decref(vals[i]);
    json_decref(p.values);
    gsl_rng_free(r);
}

static void test_categorical_w_probabilities(void) {
    struct param p = mkparam(DIST_CATEGORICAL_W_PROBS);
    double probs[4] = {0.2, 0.5, 0.3, 0.0};
    double sloppy[2] = {0.5, 0.5 - 5e-9}; /* within COMPAT's 1e-8 of 1 */
    json_t *vals[4];
    long obs[4];

    p.values = json_pack("[i s f n]", 1, "two", 3.5);
    p.probs = probs;
    for (size_t i = 0; i < 4; i++)
        vals[i] = json_array_get(p.values, i);
    CHECK_INT(count_values(&p, vals, 4, obs, 13), 0);
    CHECK_INT(obs[3], 0); /* probability 0: never drawn */
    check_chisq("categorical_w_probabilities", obs, probs, 3);
    json_decref(p.values);
    p.values = json_pack("[s s]", "u", "v");
    p.probs = sloppy;
    vals[0] = json_array_get(p.values, 0);
    vals[1] = json_array_get(p.values, 1);
    CHECK_INT(count_values(&p, vals, 2, obs, 14), 0);
    check_chisq("categorical_w_probabilities sloppy", obs, sloppy, 2);
    json_decref(p.values);
}

/* Counts NSAMP int_uniform draws into nbins bins chosen by bin(); checks
 * each is a JSON integer in [imin, imax] and reports both ends seen. */
static void count_ints(const struct param *p, gsl_rng *r, size_t nbins,
                       size_t (*bin)(long long v, const struct param *p),
                       long *obs, int *ends) {
    int bad = 0;

    memset(obs, 0, nbins * sizeof(*obs));
    ends[0] = ends[1] = 0;
    for (int i = 0; i < NSAMP; i++) {
        json_t *v = space_sample_param(p, r);
        long long x = json_integer_value(v);

        bad += !json_is_integer(v) || x < p->imin || x > p->imax;
        ends[0] |= x == p->imin, ends[1] |= x == p->imax;
        obs[bin(x, p)]++;
        json_decref(v);
    }
    CHECK_INT(bad, 0);
}

/* v's offset from imin, exact even across the whole long long range */
static unsigned long long int_offset(long long v, const struct param *p) {
    return (unsigned long long)v - (unsigned long long)p->imin;
}

static size_t bin_small(long long v, const struct param *p) {
    return (size_t)int_offset(v, p);
}

/* which of 16 slices of a range of 2^41 + 1 values (imax itself, one
 * chance in 2^41, joins the last) */
static size_t bin_slice16(long long v, const struct param *p) {
    size_t b = (size_t)(int_offset(v, p) >> 37);

    return b > 15 ? 15 : b;
}

static size_t bin_mod7(long long v, const struct param *p) {
    return (size_t)(int_offset(v, p) % 7);
}

static size_t bin_top4(long long v, const struct param *p) {
    return (size_t)(int_offset(v, p) >> 60);
}

static size_t bin_low4(long long v, const struct param *p) {
    return (size_t)(int_offset(v, p) & 15);
}

static size_t bin_thirds32(long long v, const struct param *p) {
    return (size_t)(int_offset(v, p) >> 32);
}

/* n = 2^64 * 2/3: naive x % n would give the lower half of the range 2/3
 * of the draws */
static size_t bin_halves(long long v, const struct param *p) {
    return int_offset(v, p) < 0xAAAAAAAAAAAAAAAAULL / 2 ? 0 : 1;
}

static void check_int_law(const char *what, const struct param *p, gsl_rng *r,
                          size_t nbins,
                          size_t (*bin)(long long, const struct param *),
                          int want_ends) {
    long obs[MAXBINS];
    double prob[MAXBINS];
    int ends[2];

    for (size_t i = 0; i < nbins; i++)
        prob[i] = 1.0 / nbins;
    count_ints(p, r, nbins, bin, obs, ends);
    check_chisq(what, obs, prob, nbins);
    if (want_ends)
        CHECK(ends[0] && ends[1]);
}

static void test_int_uniform(void) {
    struct param p = mkparam(DIST_INT_UNIFORM);
    gsl_rng *r = rng_new(15);
    json_t *v;

    p.imin = -3, p.imax = 6;
    check_int_law("int_uniform [-3, 6]", &p, r, 10, bin_small, 1);
    p.imin = p.imax = 42;
    v = space_sample_param(&p, r);
    CHECK(json_is_integer(v) && json_integer_value(v) == 42);
    json_decref(v);
    p.imin = -3, p.imax = -4;
    CHECK(space_sample_param(&p, r) == NULL);
    gsl_rng_free(r);
}

/* Ranges past 2^32 need several draws combined, without modulo bias. */
static void test_int_uniform_wide(void) {
    struct param p = mkparam(DIST_INT_UNIFORM);
    gsl_rng *r = rng_new(16), *minstd = gsl_rng_alloc(gsl_rng_minstd);

    p.imin = -(1LL << 40), p.imax = 1LL << 40;
    check_int_law("int_uniform 2^41 slices", &p, r, 16, bin_slice16, 0);
    check_int_law("int_uniform 2^41 mod 7", &p, r, 7, bin_mod7, 0);
    p.imin = 0, p.imax = 3 * (1LL << 32) - 1;
    check_int_law("int_uniform 3*2^32", &p, r, 3, bin_thirds32, 0);
    p.imin = LLONG_MIN;
    p.imax = (long long)(0xAAAAAAAAAAAAAAAAULL - 1 - (1ULL << 63));
    check_int_law("int_uniform 2/3 of 2^64", &p, r, 2, bin_halves, 0);
    p.imin = LLONG_MIN, p.imax = LLONG_MAX;
    check_int_law("int_uniform full top", &p, r, 16, bin_top4, 0);
    check_int_law("int_uniform full low", &p, r, 16, bin_low4, 0);
    /* a generator of 30 bits a draw (minstd spans 2^31 - 3) */
    gsl_rng_set(minstd, 17);
    check_int_law("int_uniform minstd top", &p, minstd, 16, bin_top4, 0);
    check_int_law("int_uniform minstd low", &p, minstd, 16, bin_low4, 0);
    gsl_rng_free(minstd);
    gsl_rng_free(r);
}

/* ---- q kinds (chi-square over multiples of q) ---- */

/* Bins k = kmin..kmax of round(x / q); the end bins take the tails.
 * P(bin k) = F((k + 1/2) q) - F((k - 1/2) q) with F the unrounded CDF. */
static void q_bin_probs(const struct param *p, cdf_fn F, long kmin, long kmax,
                        double *prob) {
    for (long k = kmin; k <= kmax; k++) {
        double lo = k == kmin ? 0 : F((k - 0.5) * p->q, p);
        double hi = k == kmax ? 1 : F((k + 0.5) * p->q, p);

        prob[k - kmin] = hi - lo;
    }
}

/* Draws p NSAMP times: each must be a multiple of q of the right JSON
 * type, within 1e-9 of k*q and exactly space_qvalue(0, k, q). */
static void check_q_law(const char *what, const struct param *p, cdf_fn F,
                        long kmin, long kmax, unsigned long seed) {
    long obs[MAXBINS] = {0};
    double prob[MAXBINS];
    gsl_rng *r = rng_new(seed);
    int bad = 0;

    for (int i = 0; i < NSAMP; i++) {
        json_t *v = space_sample_param(p, r);
        double x = json_number_value(v);
        long k = lround(x / p->q);

        bad += p->q_is_int ? !json_is_integer(v) : !json_is_real(v);
        bad += x != space_qvalue(0, k, p->q) || fabs(x - k * p->q) > 1e-9;
        obs[(k < kmin ? kmin : k > kmax ? kmax : k) - kmin]++;
        json_decref(v);
    }
    if (bad)
        fprintf(stderr, "  %s: %d bad draws\n", what, bad);
    CHECK_INT(bad, 0);
    q_bin_probs(p, F, kmin, kmax, prob);
    check_chisq(what, obs, prob, (size_t)(kmax - kmin + 1));
    gsl_rng_free(r);
}

static void test_q_uniform_kinds(void) {
    struct param p = mkparam(DIST_Q_UNIFORM);

    /* {0, 3, 6, 9} with 0.15, 0.3, 0.3, 0.25 */
    p.min = 0, p.max = 10, p.q = 3, p.q_is_int = 1;
    check_q_law("q_uniform q=3", &p, cdf_uniform, 0, 3, 18);
    p.min = -1, p.max = 2, p.q = 0.1, p.q_is_int = 0;
    check_q_law("q_uniform q=0.1", &p, cdf_uniform, -10, 20, 19);
    p.dist = DIST_Q_LOG_UNIFORM_VALUES, p.min = 1, p.max = 100, p.q = 10,
    p.q_is_int = 1;
    check_q_law("q_log_uniform_values", &p, cdf_log_uniform_values, 0, 10, 20);
    /* exp(U(0, 3)) is in [1, 20.1]: multiples 2..20 of 2 */
    p.dist = DIST_Q_LOG_UNIFORM, p.min = 0, p.max = 3, p.q = 2;
    check_q_law("q_log_uniform", &p, cdf_log_uniform, 1, 10, 21);
}

static void test_q_normal_kinds(void) {
    struct param p = mkparam(DIST_Q_NORMAL);

    p.mu = 0.3, p.sigma = 2, p.q = 0.5, p.q_is_int = 0;
    check_q_law("q_normal q=0.5", &p, cdf_normal, -8, 8, 22);
    p.mu = 0, p.sigma = 3, p.q = 2, p.q_is_int = 1;
    check_q_law("q_normal q=2", &p, cdf_normal, -4, 4, 23);
    p.dist = DIST_Q_LOG_NORMAL, p.mu = 0, p.sigma = 0.5, p.q = 0.5;
    p.q_is_int = 0;
    check_q_law("q_log_normal", &p, cdf_log_normal, 0, 8, 24);
}

static void test_q_beta(void) {
    struct param p = mkparam(DIST_Q_BETA);
    gsl_rng *r = rng_new(26);
    int inexact = 0;

    p.a = 2, p.b = 3, p.q = 0.1;
    check_q_law("q_beta", &p, cdf_beta, 0, 10, 25);
    /* and the draws are the doubles one writes: 0.7, never
     * 0.7000000000000001 (k / 10.0 is the correctly rounded k/10) */
    for (int i = 0; i < 2000; i++) {
        json_t *v = space_sample_param(&p, r);
        double x = json_real_value(v);

        inexact += x != lround(x * 10) / 10.0;
        json_decref(v);
    }
    CHECK_INT(inexact, 0);
    gsl_rng_free(r);
}

/* The chi-square machinery must be able to say no: categorical draws
 * with a doubled value against equal weights. */
static void test_chisq_rejects_wrong_law(void) {
    struct param p = mkparam(DIST_CATEGORICAL);
    json_t *vals[2];
    const double wrong[2] = {0.5, 0.5};
    long obs[2];

    p.values = json_pack("[s s s]", "a", "b", "a");
    vals[0] = json_array_get(p.values, 0);
    vals[1] = json_array_get(p.values, 1);
    count_values(&p, vals, 2, obs, 27);
    CHECK(chisq_pvalue(obs, wrong, 2) < PMIN);
    json_decref(p.values);
}

/* ---- types, errors, reproducibility ---- */

/* The text jansson writes for one draw of p with a fresh rng. */
static char *draw_text(const struct param *p) {
    gsl_rng *r = rng_new(28);
    json_t *v = space_sample_param(p, r);
    char *s =
        v ? json_dumps(v, JSON_ENCODE_ANY | JSON_REAL_PRECISION(17)) : NULL;

    json_decref(v);
    gsl_rng_free(r);
    return s;
}

static void test_json_types(void) {
    struct param p = mkparam(DIST_Q_UNIFORM);
    char *s;

    /* q written 1.0 gives reals like 3.0, q written 1 integers */
    p.min = 0, p.max = 10, p.q = 1, p.q_is_int = 0;
    s = draw_text(&p);
    CHECK_HAS(s, ".0");
    free(s);
    p.q_is_int = 1;
    s = draw_text(&p);
    CHECK(s && !strchr(s, '.'));
    free(s);
    p = mkparam(DIST_CONSTANT);
    p.value = json_pack("{s [i i]}", "layers", 64, 32);
    s = draw_text(&p);
    CHECK_STR(s, "{\"layers\": [64, 32]}");
    free(s);
    json_decref(p.value);
    p = mkparam(DIST_UNIFORM), p.min = 1, p.max = 2;
    s = draw_text(&p);
    CHECK_HAS(s, "1.");
    free(s);
}

static void check_draw_rc(const struct param *p, int want) {
    gsl_rng *r = rng_new(29);
    json_t sentinel, *v = &sentinel; /* must be overwritten */

    CHECK_INT(space_draw(p, r, &v), want);
    CHECK(want == 0 ? v != NULL : v == NULL);
    json_decref(v);
    gsl_rng_free(r);
}

static void test_bad_params(void) {
    struct param p = mkparam(DIST_CATEGORICAL);

    p.values = json_array();
    check_draw_rc(&p, SWEEP_EINVAL);
    json_decref(p.values);
    p = mkparam(DIST_LOG_UNIFORM_VALUES), p.min = 0, p.max = 1;
    check_draw_rc(&p, SWEEP_EINVAL);
    p = mkparam(DIST_Q_UNIFORM), p.max = 1, p.q = 0;
    check_draw_rc(&p, SWEEP_EINVAL);
    p = mkparam(DIST_NORMAL), p.sigma = -1;
    check_draw_rc(&p, SWEEP_EINVAL);
    p = mkparam(DIST_BETA), p.a = -1;
    check_draw_rc(&p, SWEEP_EINVAL);
    /* exp() overflows: JSON has no inf */
    p = mkparam(DIST_LOG_UNIFORM), p.min = 800, p.max = 900;
    check_draw_rc(&p, SWEEP_ERANGE);
    p = mkparam(DIST_BETA), p.a = 0, p.b = 0;
    check_draw_rc(&p, SWEEP_ERANGE);
    /* Beta(0, b) is all at 0: a real, not an error */
    p.b = 2;
    check_draw_rc(&p, 0);
    p = mkparam(DIST_NORMAL), p.sigma = 0, p.mu = 7;
    check_draw_rc(&p, 0);
}

/* One parameter of every kind, named and sorted as config.c would. */
static struct param all_kinds[DIST__COUNT];
static char all_names[DIST__COUNT][16];
static char *all_paths[DIST__COUNT][1];

static void all_kinds_init(struct sweep_config *cfg) {
    static double probs[2] = {0.25, 0.75};

    for (int d = 0; d < DIST__COUNT; d++) {
        struct param *p = &all_kinds[d];

        *p = mkparam((enum param_dist)d);
        snprintf(all_names[d], sizeof(all_names[d]), "p%02d", d);
        all_paths[d][0] = all_names[d];
        p->name = all_names[d], p->path = all_paths[d];
        p->min = 1, p->max = 3, p->imin = -5, p->imax = 5, p->q = 0.5;
        p->a = 2, p->b = 3;
    }
    all_kinds[DIST_CONSTANT].value = json_string("c");
    all_kinds[DIST_CATEGORICAL].values = json_pack("[i i i]", 1, 2, 3);
    all_kinds[DIST_CATEGORICAL_W_PROBS].values = json_pack("[s s]", "u", "v");
    all_kinds[DIST_CATEGORICAL_W_PROBS].probs = probs;
    memset(cfg, 0, sizeof(*cfg));
    cfg->params = all_kinds, cfg->nparams = DIST__COUNT;
}

static void all_kinds_release(void) {
    json_decref(all_kinds[DIST_CONSTANT].value);
    json_decref(all_kinds[DIST_CATEGORICAL].values);
    json_decref(all_kinds[DIST_CATEGORICAL_W_PROBS].values);
}

/* Same seed, same draws; another seed, other draws. */
static void test_reproducible(void) {
    struct sweep_config cfg;
    gsl_rng *r1 = rng_new(30), *r2 = rng_new(30), *r3 = rng_new(31);
    int same = 0, differ = 0, n = 0;

    all_kinds_init(&cfg);
    for (int i = 0; i < 200; i++) {
        json_t *a = space_sample(&cfg, r1, NULL, NULL), *b = space_sample(&cfg, r2, NULL, NULL);
        json_t *c = space_sample(&cfg, r3, NULL, NULL);

        same += a && b && json_equal(a, b);
        differ += a && c && !json_equal(a, c);
        json_decref(a), json_decref(b), json_decref(c);
    }
    CHECK_INT(same, 200);
    CHECK(differ > 190);
    /* keys are the names, in the config's order */
    {
        json_t *s = space_sample(&cfg, r1, NULL, NULL);
        const char *key;
        json_t *v;

        json_object_foreach(s, key, v) {
            CHECK(n < DIST__COUNT && strcmp(key, all_names[n]) == 0);
            n++;
        }
        CHECK_INT(n, DIST__COUNT);
        json_decref(s);
    }
    all_kinds_release();
    gsl_rng_free(r1), gsl_rng_free(r2), gsl_rng_free(r3);
}

/* ---- q rounding without drift ---- */

static void test_qvalue(void) {
    CHECK(space_qvalue(0, 3, 0.1) == 0.3); /* 0.30000000000000004 raw */
    CHECK(space_qvalue(0.1, 2, 0.2) == 0.5);
    CHECK(space_qvalue(1, 7, 0.1) == 1.7);
    CHECK(space_qvalue(-1, 3, 0.1) == -0.7);
    /* decimals of base count too: 0.05 + 0.1 */
    CHECK(space_qvalue(0.05, 1, 0.1) == 0.15);
    CHECK(space_qvalue(0, 1000000, 0.1) == 100000.0);
    CHECK(space_qvalue(0, 4, 2.5e-5) == 0.0001);
    CHECK(space_qvalue(2, 3, 4) == 14);
    /* too big to snap exactly: the plain arithmetic */
    CHECK(space_qvalue(1e17, 3, 0.1) == 1e17 + 3 * 0.1);
    /* more than 15 decimals: plain too */
    CHECK(space_qvalue(0, 3, 1e-20) == 3 * 1e-20);
}

static void test_qround(void) {
    CHECK(space_qround(0.7, 0.1) == 0.7); /* 7 * 0.1 = 0.7000000000000001 */
    CHECK(space_qround(0.9, 0.3) == 0.9); /* 3 * 0.3 = 0.8999999999999999 */
    /* half to even */
    CHECK(space_qround(2.5, 1) == 2);
    CHECK(space_qround(3.5, 1) == 4);
    CHECK(space_qround(-2.5, 1) == -2);
    CHECK(space_qround(7.3, 2) == 8);
    CHECK(space_qround(5, 2) == 4);
    /* the tie is on the computed quotient, as numpy and Python see it:
     * 0.25/0.1 == 2.5 -> 2; 0.45/0.1 == 4.5 -> 4; 0.35/0.1 ==
     * 3.4999999999999996 -> 3; 0.15/0.1 == 1.4999999999999998 -> 1 */
    CHECK(space_qround(0.25, 0.1) == 0.2);
    CHECK(space_qround(0.45, 0.1) == 0.4);
    CHECK(space_qround(0.35, 0.1) == 0.3);
    CHECK(space_qround(0.15, 0.1) == 0.1);
    CHECK(space_qround(123456.7894, 0.001) == 123456.789);
    CHECK(space_qround(1e-4 + 1e-7, 2.5e-5) == 0.0001);
    CHECK_DBL(space_qround(1e20, 0.1), 1e20, 1e5);
    /* q not > 0: x unchanged */
    CHECK(space_qround(0.123, 0) == 0.123);
    CHECK(space_qround(0.123, -1) == 0.123);
}

/* ---- flat <-> nested ---- */

static char *path_ab_top[] = {"a.b"};
static char *path_ab[] = {"a", "b"};
static char *path_ac[] = {"a", "c"};
static char *path_lr[] = {"lr"};
static char *path_xyz[] = {"x", "y", "z"};

static struct param mknamed(char *name, char **path, size_t npath) {
    struct param p = mkparam(DIST_CONSTANT);

    p.name = name, p.path = path, p.npath = npath;
    return p;
}

static char *dump(const json_t *v) {
    return v ? json_dumps(v, JSON_COMPACT) : NULL;
}

static void check_json(const json_t *v, const char *want) {
    char *s = dump(v);

    CHECK_STR(s, want);
    free(s);
}

/* "a.b" as a top-level name containing '.' next to a group "a" */
static void test_nest_dotted_name(void) {
    struct param ps[4] = {mknamed("a.b", path_ab_top, 1),
                          mknamed("a.c", path_ac, 2), mknamed("lr", path_lr, 1),
                          mknamed("x.y.z", path_xyz, 3)};
    struct sweep_config cfg = {.params = ps, .nparams = 4};
    json_t *flat = json_pack("{s i s i s f s {s i} s s}", "a.b", 1, "a.c", 2,
                             "lr", 0.5, "x.y.z", "k", 3, "extra", "e");
    json_t *nested = space_nest(&cfg, flat), *back;

    check_json(nested, "{\"a.b\":1,\"a\":{\"c\":2},\"lr\":0.5,"
                       "\"x\":{\"y\":{\"z\":{\"k\":3}}},\"extra\":\"e\"}");
    /* copies: the input's object is not in the output */
    CHECK(json_object_get(json_object_get(json_object_get(nested, "x"), "y"),
                          "z") != json_object_get(flat, "x.y.z"));
    back = space_flatten(&cfg, nested);
    json_object_del(flat, "extra");
    CHECK(back && json_equal(back, flat));
    json_decref(back), json_decref(nested), json_decref(flat);
}

/* "a.b" as a nested group: same flat name, other shape */
static void test_nest_group(void) {
    struct param ps[2] = {mknamed("a.b", path_ab, 2),
                          mknamed("a.c", path_ac, 2)};
    struct sweep_config cfg = {.params = ps, .nparams = 2};
    json_t *flat = json_pack("{s i s i s i}", "a", 9, "a.b", 1, "a.c", 2);
    json_t *nested = space_nest(&cfg, flat), *back, *mixed;

    /* the stray key "a" loses to the group of that name */
    check_json(nested, "{\"a\":{\"b\":1,\"c\":2}}");
    back = space_flatten(&cfg, nested);
    check_json(back, "{\"a.b\":1,\"a.c\":2}");
    json_decref(back);
    /* a flattened key at the top level is found when the path is not */
    mixed = json_pack("{s i s {s i}}", "a.b", 5, "a", "c", 6);
    back = space_flatten(&cfg, mixed);
    check_json(back, "{\"a.b\":5,\"a.c\":6}");
    json_decref(back), json_decref(mixed);
    /* missing parameters are left out */
    mixed = json_pack("{s {s i}}", "a", "z", 1);
    back = space_flatten(&cfg, mixed);
    check_json(back, "{}");
    json_decref(back), json_decref(mixed);
    json_decref(nested), json_decref(flat);
}

/* A top-level dotted name is not found through a group of that shape. */
static void test_flatten_shape_matters(void) {
    struct param ps[1] = {mknamed("a.b", path_ab_top, 1)};
    struct sweep_config cfg = {.params = ps, .nparams = 1};
    json_t *nested = json_pack("{s {s i}}", "a", "b", 1);
    json_t *back = space_flatten(&cfg, nested);

    check_json(back, "{}");
    json_decref(back), json_decref(nested);
}

/* Nesting what space_sample drew and flattening it back is the identity. */
static void test_sample_round_trip(void) {
    struct param ps[3] = {mknamed("a.b", path_ab, 2),
                          mknamed("a.c", path_ac, 2),
                          mknamed("x.y.z", path_xyz, 3)};
    struct sweep_config cfg = {.params = ps, .nparams = 3};
    gsl_rng *r = rng_new(32);
    json_t *flat, *nested, *back;

    ps[0].dist = DIST_UNIFORM, ps[0].max = 1;
    ps[1].dist = DIST_INT_UNIFORM, ps[1].imax = 9;
    ps[2].value = json_pack("[i]", 1);
    flat = space_sample(&cfg, r, NULL, NULL);
    nested = space_nest(&cfg, flat);
    back = space_flatten(&cfg, nested);
    CHECK(flat && back && json_equal(flat, back));
    CHECK(json_is_real(json_object_get(json_object_get(nested, "a"), "b")));
    json_decref(flat), json_decref(nested), json_decref(back);
    json_decref(ps[2].value);
    gsl_rng_free(r);
}

int main(void) {
    gsl_set_error_handler_off();
    TEST_RUN(test_ks_uniform_kinds);
    TEST_RUN(test_ks_normal_kinds);
    TEST_RUN(test_ks_beta);
    TEST_RUN(test_ks_rejects_wrong_law);
    TEST_RUN(test_categorical);
    TEST_RUN(test_categorical_w_probabilities);
    TEST_RUN(test_int_uniform);
    TEST_RUN(test_int_uniform_wide);
    TEST_RUN(test_q_uniform_kinds);
    TEST_RUN(test_q_normal_kinds);
    TEST_RUN(test_q_beta);
    TEST_RUN(test_chisq_rejects_wrong_law);
    TEST_RUN(test_json_types);
    TEST_RUN(test_bad_params);
    TEST_RUN(test_reproducible);
    TEST_RUN(test_qvalue);
    TEST_RUN(test_qround);
    TEST_RUN(test_nest_dotted_name);
    TEST_RUN(test_nest_group);
    TEST_RUN(test_flatten_shape_matters);
    TEST_RUN(test_sample_round_trip);
    return TEST_DONE();
}

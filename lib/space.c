/*
 * space.c - drawing parameter values (COMPAT.md section 2) and moving a
 * run's values between the flat shape the search uses and the nested shape
 * the program sees.
 *
 * Draws consume only the rng they are given, so one seed replays a sweep.
 * jansson has no inf or nan, so a draw that overflows is an error
 * (SWEEP_ERANGE), never a value.
 */
#include "space.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>

#include "sweep.h"

/* Snapping stops here: past 15 decimals a double has no digit to spare. */
#define SPACE_MAX_DECIMALS 15

/* ---- uniform integers of any width ---- */

/* Bits one draw gives exactly uniformly: the largest b with 2^b - 1 <= the
 * generator's span (32 for mt19937, 24 for ranlux, 30 for minstd). */
static unsigned space_rng_bits(unsigned long span) {
    unsigned b = 1;

    while (b < 32 && (1ULL << (b + 1)) - 1 <= span)
        b++;
    return b;
}

/* b uniform bits from one draw. A span of exactly 2^b - 1 makes the raw
 * output uniform already; otherwise GSL's own rejection trims it. */
static unsigned long long space_rng_chunk(gsl_rng *rng, unsigned long span,
                                          unsigned b) {
    if (span == (unsigned long)((1ULL << b) - 1))
        return gsl_rng_get(rng) - gsl_rng_min(rng);
    return gsl_rng_uniform_int(rng, (unsigned long)(1ULL << b));
}

/* A uniform 64-bit word, whatever the generator's range. */
static unsigned long long space_rng_u64(gsl_rng *rng) {
    unsigned long span = gsl_rng_max(rng) - gsl_rng_min(rng);
    unsigned b = space_rng_bits(span);
    unsigned long long x = 0;

    for (unsigned got = 0; got < 64; got += b)
        x = (x << b) | space_rng_chunk(rng, span, b);
    return x;
}

/* Uniform in [0, n), n >= 1, with no modulo bias. One draw covers most n
 * (GSL rejects internally); wider n take 64-bit words, rejecting the
 * 2^64 mod n lowest so every residue has as many words behind it. */
static unsigned long long space_rng_below(gsl_rng *rng, unsigned long long n) {
    unsigned long long x, skip;

    if (n <= gsl_rng_max(rng) - gsl_rng_min(rng))
        return gsl_rng_uniform_int(rng, (unsigned long)n);
    skip = (0 - n) % n;
    do
        x = space_rng_u64(rng);
    while (x < skip);
    return x % n;
}

/* base + r when the sum fits a long long but r may not (r > LLONG_MAX only
 * when base < 0): split so that no step overflows. */
static long long space_offset(long long base, unsigned long long r) {
    if (r <= (unsigned long long)LLONG_MAX)
        return base + (long long)r;
    return (base + LLONG_MAX + 1) +
           (long long)(r - (unsigned long long)LLONG_MAX - 1);
}

/* ---- q rounding ---- */

/* Decimals x is written with: the fewest digits after the point that
 * round-trip, i.e. those of its shortest repr (0.1 -> 1, 2.5e-05 -> 6,
 * 3.0 -> 0); SPACE_MAX_DECIMALS + 1 means "too many to snap". */
static int space_decimals(double x) {
    char buf[64]; /* non-integral, so |x| < 2^53: at most 33 chars */

    if (!isfinite(x) || x == floor(x))
        return 0;
    for (int d = 1; d <= SPACE_MAX_DECIMALS; d++) {
        snprintf(buf, sizeof(buf), "%.*f", d, x);
        if (strtod(buf, NULL) == x)
            return d;
    }
    return SPACE_MAX_DECIMALS + 1;
}

/*
 * r is in exact arithmetic a multiple of 10^-d, computed with float error;
 * returns the double nearest that multiple (0.7, not 0.7000000000000001).
 * printf("%.*f") rounds the exact binary value and strtod() rounds
 * correctly, so a trip through text is an exact decimal rounding with no
 * table of powers to get wrong (both use the same LC_NUMERIC, so a ','
 * locale still round-trips). It recovers the multiple only while the error
 * (about 5 ulp of mag, the largest operand) stays under half a unit of the
 * d-th decimal: mag * 10^d < 1e14 keeps it below 0.06 units. Beyond that
 * the plain arithmetic is as good as any answer and is returned.
 */
static double space_snap(double r, double mag, int d) {
    char buf[64]; /* |r| < 2e14 and d <= 15: at most 33 chars */

    if (!isfinite(r) || d > SPACE_MAX_DECIMALS || !(mag * pow(10, d) < 1e14))
        return r;
    snprintf(buf, sizeof(buf), "%.*f", d, r);
    return strtod(buf, NULL);
}

double space_qvalue(double base, long long k, double q) {
    double kq = (double)k * q;
    int db = space_decimals(base), dq = space_decimals(q);

    return space_snap(base + kq, fmax(fabs(base), fabs(kq)), db > dq ? db : dq);
}

double space_qround(double x, double q) {
    double r;

    if (!(q > 0) || !isfinite(q))
        return x;
    /* nearbyint() under the default rounding mode is half-to-even, as
     * numpy.round(), which the reference uses */
    r = nearbyint(x / q) * q;
    return space_snap(r, fabs(r), space_decimals(q));
}

/* ---- draws ---- */

/* Hands v to *out; NULL from a jansson constructor means no memory. */
static int space_emit(json_t *v, json_t **out) {
    *out = v;
    return v ? 0 : SWEEP_ENOMEM;
}

static int space_copy(const json_t *v, json_t **out) {
    if (!v)
        return SWEEP_EINVAL;
    return space_emit(json_deep_copy(v), out);
}

static int space_categorical(const struct param *p, gsl_rng *rng,
                             json_t **out) {
    size_t n = json_array_size(p->values);

    if (!n)
        return SWEEP_EINVAL;
    return space_copy(json_array_get(p->values, space_rng_below(rng, n)), out);
}

/* Index of the first weight whose running sum passes u * total. Scaling
 * by the total, not 1, honours weights that sum only within 1e-8 of 1;
 * zero weights never match, and the last positive weight catches a target
 * rounded up to the full sum. */
static int space_weighted_index(const double *w, size_t n, double u,
                                size_t *idx) {
    double total = 0, cum = 0, target;

    for (size_t i = 0; i < n; i++) {
        if (!(w[i] >= 0) || !isfinite(w[i]))
            return SWEEP_EINVAL;
        total += w[i];
    }
    if (!(total > 0))
        return SWEEP_EINVAL;
    target = u * total;
    for (size_t i = 0; i < n; i++) {
        if (w[i] == 0)
            continue;
        cum += w[i];
        *idx = i;
        if (target < cum)
            break;
    }
    return 0;
}

static int space_weighted(const struct param *p, gsl_rng *rng, json_t **out) {
    size_t n = json_array_size(p->values), idx = 0;
    int rc;

    if (!n || !p->probs)
        return SWEEP_EINVAL;
    rc = space_weighted_index(p->probs, n, gsl_rng_uniform(rng), &idx);
    if (rc < 0)
        return rc;
    return space_copy(json_array_get(p->values, idx), out);
}

static int space_int_uniform(const struct param *p, gsl_rng *rng,
                             json_t **out) {
    unsigned long long n, r;

    if (p->imin > p->imax)
        return SWEEP_EINVAL;
    /* how many values; wraps to 0 for the full 2^64 range */
    n = (unsigned long long)p->imax - (unsigned long long)p->imin + 1;
    r = n ? space_rng_below(rng, n) : space_rng_u64(rng);
    return space_emit(json_integer(space_offset(p->imin, r)), out);
}

static int space_is_q(enum param_dist d) {
    return d == DIST_Q_UNIFORM || d == DIST_Q_LOG_UNIFORM_VALUES ||
           d == DIST_Q_LOG_UNIFORM || d == DIST_Q_NORMAL ||
           d == DIST_Q_LOG_NORMAL || d == DIST_Q_BETA;
}

/* Whether p's numbers make a law at all; config validation should have
 * rejected the rest, this keeps a bad struct from giving nan. */
static int space_valid_real(const struct param *p) {
    if (space_is_q(p->dist) && !(p->q > 0 && isfinite(p->q)))
        return 0;
    switch (p->dist) {
    case DIST_LOG_UNIFORM_VALUES:
    case DIST_INV_LOG_UNIFORM_VALUES:
    case DIST_Q_LOG_UNIFORM_VALUES:
        return p->min > 0 && p->min <= p->max && isfinite(p->max);
    case DIST_UNIFORM:
    case DIST_Q_UNIFORM:
    case DIST_LOG_UNIFORM:
    case DIST_INV_LOG_UNIFORM:
    case DIST_Q_LOG_UNIFORM:
        return isfinite(p->min) && isfinite(p->max) && p->min <= p->max;
    case DIST_NORMAL:
    case DIST_Q_NORMAL:
    case DIST_LOG_NORMAL:
    case DIST_Q_LOG_NORMAL:
        return isfinite(p->mu) && isfinite(p->sigma) && p->sigma >= 0;
    case DIST_BETA:
    case DIST_Q_BETA:
        return isfinite(p->a) && isfinite(p->b) && p->a >= 0 && p->b >= 0;
    default:
        return 0;
    }
}

static double space_clamp(double x, double lo, double hi) {
    return fmin(fmax(x, lo), hi);
}

/* The point a fraction u of the way from lo to hi. The second form
 * survives hi - lo overflowing; the clamp undoes a last-bit round-up. */
static double space_lerp(double lo, double hi, double u) {
    double d = hi - lo;

    return space_clamp(isfinite(d) ? lo + u * d : lo * (1 - u) + hi * u, lo,
                       hi);
}

/* One draw of a uniform-based kind, before any q rounding. The *_values
 * kinds are clamped since exp(log(min)) can miss min by an ulp. */
static double space_uniform_kind(const struct param *p, double u) {
    switch (p->dist) {
    case DIST_LOG_UNIFORM_VALUES:
    case DIST_Q_LOG_UNIFORM_VALUES:
        return space_clamp(exp(space_lerp(log(p->min), log(p->max), u)), p->min,
                           p->max);
    case DIST_INV_LOG_UNIFORM_VALUES:
        return space_clamp(exp(-space_lerp(-log(p->max), -log(p->min), u)),
                           p->min, p->max);
    case DIST_LOG_UNIFORM:
    case DIST_Q_LOG_UNIFORM:
        return exp(space_lerp(p->min, p->max, u));
    case DIST_INV_LOG_UNIFORM:
        return exp(-space_lerp(p->min, p->max, u));
    default: /* uniform, q_uniform */
        return space_lerp(p->min, p->max, u);
    }
}

/* One draw of a real-valued kind, before any q rounding. */
static double space_real(const struct param *p, gsl_rng *rng) {
    switch (p->dist) {
    case DIST_NORMAL:
    case DIST_Q_NORMAL:
        return p->mu + gsl_ran_gaussian(rng, p->sigma);
    case DIST_LOG_NORMAL:
    case DIST_Q_LOG_NORMAL:
        return exp(p->mu + gsl_ran_gaussian(rng, p->sigma));
    case DIST_BETA:
    case DIST_Q_BETA:
        return gsl_ran_beta(rng, p->a, p->b);
    default:
        return space_uniform_kind(p, gsl_rng_uniform(rng));
    }
}

/* x as p's JSON value: q kinds rounded, and integers when q is. */
static int space_emit_real(const struct param *p, double x, json_t **out) {
    if (space_is_q(p->dist))
        x = space_qround(x, p->q);
    if (!isfinite(x))
        return SWEEP_ERANGE;
    /* the bounds are exact powers of two, so the cast cannot overflow */
    if (space_is_q(p->dist) && p->q_is_int && x >= -0x1p63 && x < 0x1p63)
        return space_emit(json_integer((json_int_t)nearbyint(x)), out);
    return space_emit(json_real(x), out);
}

int space_draw(const struct param *p, gsl_rng *rng, json_t **out) {
    *out = NULL;
    switch (p->dist) {
    case DIST_CONSTANT:
        return space_copy(p->value, out);
    case DIST_CATEGORICAL:
        return space_categorical(p, rng, out);
    case DIST_CATEGORICAL_W_PROBS:
        return space_weighted(p, rng, out);
    case DIST_INT_UNIFORM:
        return space_int_uniform(p, rng, out);
    default:
        break;
    }
    if (!space_valid_real(p))
        return SWEEP_EINVAL;
    return space_emit_real(p, space_real(p, rng), out);
}

json_t *space_sample_param(const struct param *p, gsl_rng *rng) {
    json_t *v;

    return space_draw(p, rng, &v) == 0 ? v : NULL;
}

void space_draw_strerror(char *errstr, size_t errstr_size,
                         const struct param *bad, int err) {
    if (err == SWEEP_ERANGE && bad)
        snprintf(errstr, errstr_size,
                 "%s: a draw of %s is not a finite number (its bounds "
                 "overflow a double)",
                 bad->key_path ? bad->key_path : bad->name,
                 config_dist_name(bad->dist));
    else
        snprintf(errstr, errstr_size, "%s",
                 err == SWEEP_ENOMEM ? "out of memory" : sweep_strerror(err));
}

json_t *space_sample(const struct sweep_config *cfg, gsl_rng *rng, int *err,
                     const struct param **bad) {
    json_t *obj = json_object();
    int rc = obj ? 0 : SWEEP_ENOMEM;

    if (bad)
        *bad = NULL;
    for (size_t i = 0; !rc && i < cfg->nparams; i++) {
        const struct param *p = &cfg->params[i];
        json_t *v = NULL;

        rc = space_draw(p, rng, &v);
        if (rc && bad)
            *bad = p;
        /* set_new() frees the value on error */
        if (!rc && json_object_set_new(obj, p->name, v) < 0)
            rc = SWEEP_ENOMEM;
    }
    if (err)
        *err = rc;
    if (rc) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}

/* ---- flat <-> nested ---- */

static const struct param *space_find(const struct sweep_config *cfg,
                                      const char *name) {
    for (size_t i = 0; i < cfg->nparams; i++)
        if (strcmp(cfg->params[i].name, name) == 0)
            return &cfg->params[i];
    return NULL;
}

/* The object at obj[key], made if missing. A non-object there (a leaf a
 * broken config also put on this path) is replaced: the group wins. */
static json_t *space_child(json_t *obj, const char *key) {
    json_t *c = json_object_get(obj, key);

    if (json_is_object(c))
        return c;
    c = json_object();
    if (json_object_set_new(obj, key, c) < 0)
        return NULL;
    return c; /* still alive: obj holds the reference */
}

/* Puts a deep copy of v at p's path under root. Copies, not shared
 * references, because later paths write into the objects made here and
 * must never write into the caller's values. */
static int space_put(json_t *root, const struct param *p, const json_t *v) {
    json_t *obj = root;

    if (!p->path || !p->npath)
        return json_object_set_new(root, p->name, json_deep_copy(v));
    for (size_t i = 0; obj && i + 1 < p->npath; i++)
        obj = space_child(obj, p->path[i]);
    if (!obj)
        return -1;
    return json_object_set_new(obj, p->path[p->npath - 1], json_deep_copy(v));
}

/* Keys of flat that are no parameter, at the top level of out unless a
 * parameter group took the name. */
static int space_put_extras(const struct sweep_config *cfg, json_t *out,
                            const json_t *flat) {
    const char *key;
    json_t *v;

    /* json_object_foreach() wants a non-const object; it only reads */
    json_object_foreach((json_t *)flat, key, v) {
        if (space_find(cfg, key) || json_object_get(out, key))
            continue;
        if (json_object_set_new(out, key, json_deep_copy(v)) < 0)
            return -1;
    }
    return 0;
}

json_t *space_nest(const struct sweep_config *cfg, const json_t *flat) {
    json_t *out = json_object();

    if (!out)
        return NULL;
    for (size_t i = 0; i < cfg->nparams; i++) {
        const json_t *v = json_object_get(flat, cfg->params[i].name);

        if (v && space_put(out, &cfg->params[i], v) < 0)
            goto fail;
    }
    if (space_put_extras(cfg, out, flat) < 0)
        goto fail;
    return out;
fail:
    json_decref(out);
    return NULL;
}

/* p's value found by walking its path components; NULL if any is
 * missing or not an object (json_object_get() checks that). */
static const json_t *space_walk(const json_t *obj, const struct param *p) {
    if (!p->path || !p->npath)
        return NULL;
    for (size_t i = 0; obj && i < p->npath; i++)
        obj = json_object_get(obj, p->path[i]);
    return obj;
}

json_t *space_flatten(const struct sweep_config *cfg, const json_t *nested) {
    json_t *out = json_object();

    for (size_t i = 0; out && i < cfg->nparams; i++) {
        const struct param *p = &cfg->params[i];
        const json_t *v = space_walk(nested, p);

        if (!v)
            v = json_object_get(nested, p->name);
        if (v && json_object_set_new(out, p->name, json_deep_copy(v)) < 0) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

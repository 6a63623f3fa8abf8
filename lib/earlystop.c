/*
 * earlystop.c - hyperband (COMPAT.md 4), the median rule and asha on metric
 * histories (docs/early-stop.md).
 *
 * Internally every value is multiplied by `sign` (-1 for maximize), so
 * lower is always better and "worse than" is always ">": ties survive.
 * Two paths compute the same verdicts: earlystop_check() gathers the
 * values of one level and selects the order statistic it needs (linear),
 * earlystop_evaluate() sorts the values of every level once and judges
 * every running run from them (no run costs a pass over the others).
 */
#include "earlystop.h"

#include <math.h>
#include <stdint.h>

#include <gsl/gsl_sort_double.h>
#include <gsl/gsl_statistics_double.h>
#include <stdlib.h>
#include <string.h>

#include "sweep.h"
#include "value.h"

const char *earlystop_type_name(enum et_type t) {
    switch (t) {
    case ET_HYPERBAND:
        return "hyperband";
    case ET_MEDIAN:
        return "median";
    case ET_ASHA:
        return "asha";
    case ET_NONE:
        break;
    }
    return "none";
}

/* ---- values ---- */

int earlystop_value(const json_t *v, double *out) {
    /* jansson has no NaN or infinity, but a value may have come from
     * elsewhere: test anyway. Booleans are not json numbers. */
    if (!json_is_number(v) || !isfinite(json_number_value(v)))
        return 0;
    *out = json_number_value(v);
    return 1;
}

long earlystop_values(const json_t *history, const char *metric, double **out) {
    size_t i, n = 0;
    json_t *h;
    double *v;

    *out = NULL;
    if (!json_is_array(history) || !json_array_size(history))
        return 0;
    v = malloc(json_array_size(history) * sizeof(double));
    if (!v)
        return SWEEP_ENOMEM;
    json_array_foreach(history, i, h) {
        if (earlystop_value(json_object_get(h, metric), &v[n]))
            n++;
    }
    if (!n)
        free(v);
    else
        *out = v;
    return (long)n;
}

/* ---- order statistics ---- */

/* The j-th smallest of v[0..m): sorted ascending, or selected. */
static double order_stat(double *v, size_t m, size_t j, int sorted) {
    return sorted ? v[j] : gsl_stats_select(v, 1, m, j); /* quickselect */
}

/* ---- the rules ---- */

struct es_ctx {
    const struct early_terminate *et;
    double sign;
    const struct es_run *runs;
    size_t n;
};

static double value_at(const struct es_ctx *c, const struct es_run *r, long k) {
    return c->sign * r->values[k - 1];
}

static double best_of(const struct es_ctx *c, const struct es_run *r,
                      size_t upto) {
    double b = HUGE_VAL;

    for (size_t j = 0; j < upto; j++)
        b = fmin(b, c->sign * r->values[j]);
    return b;
}

/* Index of the largest of levels[0..nl) that is <= cnt, or -1. */
static long level_floor(const long *levels, size_t nl, size_t cnt) {
    size_t lo = 0, hi = nl; /* answer: hi - 1 after the search */

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if ((size_t)levels[mid] <= cnt)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (long)lo - 1;
}

/* The iteration at which a running run is judged now, or 0: hyperband,
 * the largest band it reached; asha, its value count when that is a rung
 * (it has just reached it: past it, it was promoted); median, its value
 * count once that is min_iter or more. */
static long judged_at(const struct early_terminate *et,
                      const struct es_run *r) {
    long j;

    if (!r->running || !r->n)
        return 0;
    if (et->type == ET_MEDIAN)
        return r->n >= (size_t)et->min_iter ? (long)r->n : 0;
    j = level_floor(et->bands, et->nbands, r->n);
    if (j < 0)
        return 0;
    if (et->type == ET_ASHA && (size_t)et->bands[j] != r->n)
        return 0;
    return et->bands[j];
}

/* Hyperband and asha thresholds at a level from its m values (sign
 * applied; itself included): hyperband sorted[int(m / eta)], asha the
 * k-th best of k = int(m / eta), none when k is 0. */
static int level_threshold(const struct early_terminate *et, double *v,
                           size_t m, int sorted, double *thr) {
    size_t k = m ? (size_t)((double)m / et->eta) : 0;

    if (et->type == ET_HYPERBAND && m) {
        *thr = order_stat(v, m, k, sorted);
        return 1;
    }
    if (et->type == ET_ASHA && k) {
        *thr = order_stat(v, m, k - 1, sorted);
        return 1;
    }
    return 0;
}

static double median_of(double *v, size_t m, int sorted) {
    double lo = order_stat(v, m, (m - 1) / 2, sorted);

    return m % 2 ? lo : (lo + order_stat(v, m, m / 2, sorted)) / 2;
}

/* The median of sorted s[0..m) without one copy of v (which is in s). */
static double median_without(const double *s, size_t m, double v) {
    size_t lo = 0, hi = m, c = m - 1;
    double a, b;

    while (lo < hi) { /* lo: the first index with s[lo] >= v */
        size_t mid = lo + (hi - lo) / 2;
        if (s[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    a = s[(c - 1) / 2 < lo ? (c - 1) / 2 : (c - 1) / 2 + 1];
    b = s[c / 2 < lo ? c / 2 : c / 2 + 1];
    return (a + b) / 2;
}

/* Fills *why for run r judged at `at` with the threshold (sign applied)
 * and returns whether to stop. */
static int judge(const struct es_ctx *c, const struct es_run *r, long at,
                 int has_thr, double thr, size_t count, struct es_reason *why) {
    const struct early_terminate *et = c->et;
    double v;

    why->at = at;
    why->best =
        et->type == ET_MEDIAN || (et->type == ET_HYPERBAND && !et->strict);
    v = et->type == ET_MEDIAN ? best_of(c, r, (size_t)at)
        : why->best           ? best_of(c, r, r->n)
                              : value_at(c, r, at);
    why->value = c->sign * v;
    why->has_threshold = has_thr;
    why->threshold = has_thr ? c->sign * thr : 0;
    why->count = count;
    why->stop = has_thr && v > thr;
    return why->stop;
}

/* Values at iteration k of every run but `skip`, into out; how many. */
static size_t gather(const struct es_ctx *c, long k, size_t skip, double *out) {
    size_t got = 0;

    for (size_t j = 0; j < c->n; j++)
        if (j != skip && c->runs[j].n >= (size_t)k)
            out[got++] = value_at(c, &c->runs[j], k);
    return got;
}

static void reason_reset(const struct early_terminate *et,
                         struct es_reason *why) {
    memset(why, 0, sizeof(*why));
    why->type = et->type;
    why->eta = et->eta;
}

int earlystop_check(const struct early_terminate *et, int maximize,
                    const struct es_run *runs, size_t n, size_t i,
                    struct es_reason *why) {
    struct es_ctx c = {et, maximize ? -1 : 1, runs, n};
    size_t m;
    double *buf, thr = 0;
    int has_thr;
    long at;

    reason_reset(et, why);
    if (et->type == ET_NONE || i >= n)
        return SWEEP_EINVAL;
    if (!(at = judged_at(et, &runs[i])))
        return 0;
    if (!(buf = malloc(n * sizeof(double))))
        return SWEEP_ENOMEM;
    /* The median compares with the other runs; the others with all. */
    m = gather(&c, at, et->type == ET_MEDIAN ? i : SIZE_MAX, buf);
    if (et->type == ET_MEDIAN) {
        if (!m) { /* nobody else got this far yet: no rule applies */
            free(buf);
            return 0;
        }
        has_thr = 1;
        thr = median_of(buf, m, 0);
    } else {
        has_thr = level_threshold(et, buf, m, 0, &thr);
    }
    free(buf);
    return judge(&c, &runs[i], at, has_thr, thr, m, why);
}

/* ---- every run at once ---- */

void earlystop_result_init(struct es_result *res) {
    memset(res, 0, sizeof(*res));
}

void earlystop_result_release(struct es_result *res) {
    free(res->levels);
    free(res->runs);
    earlystop_result_init(res);
}

struct es_by_n {
    size_t n, i;
};

struct es_eval {
    struct es_ctx c;
    struct es_by_n *byn; /* the runs, most values first */
    long *at;            /* the levels, ascending */
    size_t nat;
    double *vals; /* every level's values, each level sorted */
    size_t *off;  /* level j's values: vals[off[j] .. off[j + 1]) */
};

static int cmp_by_n_desc(const void *a, const void *b) {
    size_t x = ((const struct es_by_n *)a)->n,
           y = ((const struct es_by_n *)b)->n;

    return (x < y) - (x > y);
}

static int cmp_long(const void *a, const void *b) {
    long x = *(const long *)a, y = *(const long *)b;

    return (x > y) - (x < y);
}

/* Hyperband's bands or asha's rungs; for the median, the distinct value
 * counts at which running runs are judged. */
static void eval_levels(struct es_eval *e) {
    const struct es_ctx *c = &e->c;
    size_t k = 0;

    if (c->et->type != ET_MEDIAN) {
        if (c->et->nbands)
            memcpy(e->at, c->et->bands, c->et->nbands * sizeof(long));
        e->nat = c->et->nbands;
        return;
    }
    for (size_t j = 0; j < c->n; j++) {
        long at = judged_at(c->et, &c->runs[j]);
        if (at)
            e->at[k++] = at;
    }
    qsort(e->at, k, sizeof(long), cmp_long);
    e->nat = 0;
    for (size_t j = 0; j < k; j++)
        if (!e->nat || e->at[e->nat - 1] != e->at[j])
            e->at[e->nat++] = e->at[j];
}

/* Gathers and sorts every level's values. The runs with at least `at`
 * values are a prefix of byn, shorter for each higher level, so all the
 * levels together take at most every value once. */
static int eval_gather(struct es_eval *e) {
    const struct es_ctx *c = &e->c;
    size_t p = c->n, total = 0;

    for (size_t j = 0; j < c->n; j++)
        e->byn[j] = (struct es_by_n){c->runs[j].n, j};
    qsort(e->byn, c->n, sizeof(*e->byn), cmp_by_n_desc);
    for (size_t j = 0; j < e->nat; j++) {
        while (p && e->byn[p - 1].n < (size_t)e->at[j])
            p--;
        e->off[j] = total;
        total += p;
    }
    e->off[e->nat] = total;
    if (total && !(e->vals = malloc(total * sizeof(double))))
        return SWEEP_ENOMEM;
    for (size_t j = 0; j < e->nat; j++) {
        size_t m = e->off[j + 1] - e->off[j];
        double *seg = m ? e->vals + e->off[j] : NULL;
        for (size_t q = 0; q < m; q++)
            seg[q] = value_at(c, &c->runs[e->byn[q].i], e->at[j]);
        if (m > 1)
            gsl_sort(seg, 1, m);
    }
    return 0;
}

static void eval_level(const struct es_eval *e, size_t j, struct es_level *l) {
    size_t m = e->off[j + 1] - e->off[j];
    double *seg = m ? e->vals + e->off[j] : NULL, thr = 0;

    l->at = e->at[j];
    l->count = m;
    if (e->c.et->type == ET_MEDIAN) {
        l->has_threshold = m > 0;
        thr = m ? median_of(seg, m, 1) : 0;
    } else {
        l->has_threshold = level_threshold(e->c.et, seg, m, 1, &thr);
    }
    l->threshold = e->c.sign * thr;
}

static void eval_run(const struct es_eval *e, const struct es_level *levels,
                     size_t i, struct es_verdict *v) {
    const struct es_ctx *c = &e->c;
    const struct es_run *r = &c->runs[i];
    long at = judged_at(c->et, r), j;
    const struct es_level *l;
    size_t m;

    reason_reset(c->et, &v->why);
    if (!at)
        return;
    j = level_floor(e->at, e->nat, (size_t)at); /* at is a level */
    l = &levels[j];
    m = l->count;
    if (c->et->type != ET_MEDIAN) {
        judge(c, r, at, l->has_threshold, c->sign * l->threshold, m, &v->why);
    } else if (m > 1) { /* the others: all but itself */
        double thr = median_without(e->vals + e->off[j], m, value_at(c, r, at));
        judge(c, r, at, 1, thr, m - 1, &v->why);
    }
    v->judged = v->why.at != 0;
}

int earlystop_evaluate(const struct early_terminate *et, int maximize,
                       const struct es_run *runs, size_t n,
                       struct es_result *res) {
    struct es_eval e = {
        {et, maximize ? -1 : 1, runs, n}, NULL, NULL, 0, NULL, NULL};
    size_t nat_max = et->type == ET_MEDIAN ? n : et->nbands;
    int rc = SWEEP_ENOMEM;

    earlystop_result_init(res);
    if (et->type == ET_NONE)
        return SWEEP_EINVAL;
    e.byn = malloc((n ? n : 1) * sizeof(*e.byn));
    e.at = malloc((nat_max ? nat_max : 1) * sizeof(long));
    e.off = malloc((nat_max + 1) * sizeof(size_t));
    res->levels = calloc(nat_max ? nat_max : 1, sizeof(*res->levels));
    res->runs = calloc(n ? n : 1, sizeof(*res->runs));
    if (!e.byn || !e.at || !e.off || !res->levels || !res->runs)
        goto out;
    eval_levels(&e);
    if ((rc = eval_gather(&e)) < 0)
        goto out;
    res->nlevels = e.nat;
    for (size_t j = 0; j < e.nat; j++)
        eval_level(&e, j, &res->levels[j]);
    for (size_t i = 0; i < n; i++) {
        eval_run(&e, res->levels, i, &res->runs[i]);
        res->nstop += res->runs[i].why.stop != 0;
    }
out:
    if (rc < 0)
        earlystop_result_release(res);
    free(e.byn);
    free(e.at);
    free(e.vals);
    free(e.off);
    return rc;
}

/* ---- words ---- */

static const char *plural(size_t n) {
    return n == 1 ? "" : "s";
}

void earlystop_reason_format(const struct es_reason *w, struct sbuf *sb) {
    const char *not = w->stop ? "" : "not ";

    if (!w->at)
        return;
    sbuf_addf(sb, "%s %s %ld: %s", earlystop_type_name(w->type),
              w->type == ET_HYPERBAND ? "band"
              : w->type == ET_MEDIAN  ? "step"
                                      : "rung",
              w->at, w->best ? "best value " : "value ");
    value_format_float(sb, w->value);
    if (w->type == ET_ASHA && !w->has_threshold) {
        sbuf_addf(sb, " is promoted: %zu run%s at the rung, fewer than eta %g",
                  w->count, plural(w->count), w->eta);
        return;
    }
    if (w->type == ET_ASHA)
        sbuf_addf(sb, " is %sin the top 1/%g (cutoff ", w->stop ? "not " : "",
                  w->eta);
    else
        sbuf_addf(sb, " is %sworse than %s ", not,
                  w->type == ET_MEDIAN ? "median" : "threshold");
    value_format_float(sb, w->threshold);
    sbuf_addf(sb, "%s%zu %srun%s)", w->type == ET_ASHA ? ", " : " (", w->count,
              w->type == ET_MEDIAN ? "other " : "", plural(w->count));
}

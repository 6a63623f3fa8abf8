/*
 * importance.c - parameter importance: per parameter (nested ones by flat
 * name, "opt.lr"), Spearman's rank correlation with the metric (average
 * ranks for ties) and the linear correlation (Pearson; on log(value) for a
 * log distribution); a categorical parameter also per value (one-hot, so
 * each value's own effect is seen), its own figures being its values' of
 * largest magnitude. "importance" is |Spearman| over the parameters' sum.
 *
 * The metric of a run: finished, its summary value; failed, killed or
 * crashed, metric.impute (worst, the default; best; latest finished value);
 * the others are not used.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "importance.h"

struct param {
    char name[256];
    int is_log;
    int categorical; /* set once a value is not a number */
    const char *type;
};

struct cols {
    struct param *p;
    size_t n, cap;
};

static int add_param(struct cols *c, const char *name, const json_t *spec) {
    const char *dist = json_string_value(json_object_get(spec, "distribution"));
    const json_t *vals = json_object_get(spec, "values");
    struct param *p;

    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 16;
        struct param *np = realloc(c->p, cap * sizeof(*np));
        if (!np)
            return -1;
        c->p = np;
        c->cap = cap;
    }
    p = &c->p[c->n++];
    memset(p, 0, sizeof(*p));
    snprintf(p->name, sizeof(p->name), "%s", name);
    p->is_log = dist && strstr(dist, "log") != NULL;
    p->type = "float";
    if (json_is_array(vals)) {
        size_t i;
        const json_t *v;
        int ints = 1, bools = 1;
        json_array_foreach(vals, i, v) {
            if (!json_is_number(v))
                p->categorical = 1;
            if (!json_is_integer(v))
                ints = 0;
            if (!json_is_boolean(v))
                bools = 0;
        }
        p->type = bools ? "bool" : p->categorical ? "categorical" : ints ? "int" : "float";
        if (bools)
            p->categorical = 1;
    } else if (dist && strstr(dist, "int")) {
        p->type = "int";
    }
    return 0;
}

/* Every parameter of the config, groups ("parameters" inside) flattened. */
static int walk(struct cols *c, const json_t *params, const char *prefix) {
    const char *k;
    const json_t *v;

    json_object_foreach((json_t *)params, k, v) {
        char name[256];
        snprintf(name, sizeof(name), "%s%s%s", prefix, *prefix ? "." : "", k);
        if (json_is_object(json_object_get(v, "parameters"))) {
            if (walk(c, json_object_get(v, "parameters"), name) < 0)
                return -1;
        } else if (json_is_object(v) && !json_object_get(v, "value")) {
            /* a constant ("value") cannot matter */
            if (add_param(c, name, v) < 0)
                return -1;
        }
    }
    return 0;
}

/* The value at a dotted path of the run's nested params. */
static const json_t *lookup(const json_t *params, const char *path) {
    char buf[256], *save = NULL, *tok;

    snprintf(buf, sizeof(buf), "%s", path);
    for (tok = strtok_r(buf, ".", &save); tok && params; tok = strtok_r(NULL, ".", &save))
        params = json_object_get(params, tok);
    return params;
}

static int cmp_idx_val(const void *a, const void *b, void *ctx) {
    const double *v = ctx;
    double x = v[*(const size_t *)a], y = v[*(const size_t *)b];
    return x < y ? -1 : x > y;
}

/* Average ranks of v[0..n) into r. */
static int ranks(const double *v, size_t n, double *r) {
    size_t *idx = malloc(n * sizeof(*idx));

    if (!idx)
        return -1;
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    qsort_r(idx, n, sizeof(*idx), cmp_idx_val, (void *)v);
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j + 1 < n && v[idx[j + 1]] == v[idx[i]])
            j++;
        for (size_t k = i; k <= j; k++)
            r[idx[k]] = (double)(i + j) / 2.0 + 1.0;
        i = j + 1;
    }
    free(idx);
    return 0;
}

/* Pearson's r, or NaN when either side is constant. */
static double pearson(const double *x, const double *y, size_t n) {
    double mx = 0, my = 0, sxy = 0, sxx = 0, syy = 0;

    for (size_t i = 0; i < n; i++) {
        mx += x[i];
        my += y[i];
    }
    mx /= (double)n;
    my /= (double)n;
    for (size_t i = 0; i < n; i++) {
        sxy += (x[i] - mx) * (y[i] - my);
        sxx += (x[i] - mx) * (x[i] - mx);
        syy += (y[i] - my) * (y[i] - my);
    }
    if (sxx <= 0 || syy <= 0)
        return NAN;
    return sxy / sqrt(sxx * syy);
}

static double spearman(const double *x, const double *y, size_t n, double *rx,
                       double *ry) {
    if (ranks(x, n, rx) < 0 || ranks(y, n, ry) < 0)
        return NAN;
    return pearson(rx, ry, n);
}

static json_t *num_or_null(double v) { return isfinite(v) ? json_real(v) : json_null(); }

/* The metric of each run that has one (see the top). */
static size_t metric_values(const json_t *runs, const char *metric, int maximize,
                            const char *impute, const json_t **used, double *y) {
    double worst = NAN, best = NAN, latest = NAN, imp;
    long long latest_at = -1;
    size_t i, n = 0;
    const json_t *r;

    json_array_foreach((json_t *)runs, i, r) {
        const json_t *v = json_object_get(json_object_get(r, "summary"), metric);
        const char *st = json_string_value(json_object_get(r, "state"));
        double x;
        if (!st || strcmp(st, "finished") || !json_is_number(v))
            continue;
        x = json_number_value(v);
        if (!isfinite(x))
            continue;
        if (isnan(worst) || (maximize ? x < worst : x > worst))
            worst = x;
        if (isnan(best) || (maximize ? x > best : x < best))
            best = x;
        if (json_integer_value(json_object_get(r, "ended_at")) >= latest_at) {
            latest_at = json_integer_value(json_object_get(r, "ended_at"));
            latest = x;
        }
    }
    imp = impute && !strcmp(impute, "best") ? best
          : impute && !strcmp(impute, "latest") ? latest
                                                : worst;
    json_array_foreach((json_t *)runs, i, r) {
        const json_t *v = json_object_get(json_object_get(r, "summary"), metric);
        const char *st = json_string_value(json_object_get(r, "state"));
        if (!st)
            continue;
        if (!strcmp(st, "finished") && json_is_number(v) && isfinite(json_number_value(v))) {
            used[n] = r;
            y[n++] = json_number_value(v);
        } else if ((!strcmp(st, "failed") || !strcmp(st, "killed") ||
                    !strcmp(st, "crashed") || !strcmp(st, "finished")) &&
                   isfinite(imp)) {
            used[n] = r;
            y[n++] = imp;
        }
    }
    return n;
}

json_t *importance_compute(const json_t *sweep, const json_t *runs, char *errstr,
                           size_t errlen) {
    const json_t *cfg = json_object_get(sweep, "config");
    const json_t *mobj = json_object_get(cfg, "metric");
    const char *metric = json_string_value(json_object_get(mobj, "name"));
    const char *goal = json_string_value(json_object_get(mobj, "goal"));
    const char *impute = json_string_value(json_object_get(mobj, "impute"));
    int maximize = goal && !strcmp(goal, "maximize");
    size_t nr = json_array_size(runs), n = 0;
    struct cols c = {0};
    const json_t **used = NULL;
    const json_t **pv = NULL; /* each used run's value of the parameter */
    double *y = NULL, *x = NULL, *t = NULL, *rx = NULL, *ry = NULL, sum = 0;
    json_t *out = NULL, *plist = NULL;
    char why[160];

    out = json_pack("{s:{s:s?,s:s},s:I,s:{s:s,s:s,s:s},s:o}", "metric", "name", metric,
                    "goal", maximize ? "maximize" : "minimize", "n_runs",
                    (json_int_t)nr, "methods", "spearman",
                    "Spearman's rank correlation of the parameter with the metric "
                    "(categorical: per value, one-hot)",
                    "linear", "linear (Pearson) correlation, on log(value) for a log "
                    "distribution",
                    "importance", "|Spearman| over the parameters' sum",
                    "parameters", plist = json_array());
    if (!out)
        goto oom;
    if (!metric) {
        json_object_set_new(out, "n_used", json_integer(0));
        json_object_set_new(out, "reason", json_string("the sweep has no metric"));
        return out;
    }
    used = malloc((nr + 1) * sizeof(*used));
    pv = malloc((nr + 1) * sizeof(*pv));
    y = malloc((nr + 1) * sizeof(*y));
    x = malloc((nr + 1) * sizeof(*x));
    t = malloc((nr + 1) * sizeof(*t));
    rx = malloc((nr + 1) * sizeof(*rx));
    ry = malloc((nr + 1) * sizeof(*ry));
    if (!used || !pv || !y || !x || !t || !rx || !ry ||
        walk(&c, json_object_get(cfg, "parameters"), "") < 0)
        goto oom;
    n = metric_values(runs, metric, maximize, impute, used, y);
    json_object_set_new(out, "n_used", json_integer((json_int_t)n));
    if (n < IMPORTANCE_MIN_RUNS) {
        snprintf(why, sizeof(why), "%zu finished runs; importance needs at least %d", n,
                 IMPORTANCE_MIN_RUNS);
        json_object_set_new(out, "reason", json_string(why));
        goto done;
    }
    json_object_set_new(out, "reason", json_null());
    for (size_t j = 0; j < c.n; j++) {
        struct param *p = &c.p[j];
        double sp = NAN, li = NAN;
        json_t *o;

        /* each run's value, looked up once; one that is not a number makes
         * the parameter categorical */
        for (size_t i = 0; i < n; i++) {
            pv[i] = lookup(json_object_get(used[i], "params"), p->name);
            if (pv[i] && !json_is_number(pv[i]) && !p->categorical)
                p->categorical = 1, p->type = "categorical";
        }
        if (!(o = json_pack("{s:s,s:s}", "name", p->name, "type", p->type)))
            goto oom;
        if (!p->categorical) {
            size_t m = 0; /* x, t: value and metric of the runs with the parameter */
            for (size_t i = 0; i < n; i++) {
                if (!json_is_number(pv[i]))
                    continue;
                x[m] = json_number_value(pv[i]);
                if (p->is_log)
                    x[m] = x[m] > 0 ? log(x[m]) : -INFINITY;
                t[m++] = y[i];
            }
            if (m >= IMPORTANCE_MIN_RUNS) {
                li = pearson(x, t, m);
                sp = spearman(x, t, m, rx, ry);
            }
        } else {
            /* one-hot per value */
            json_t *vals = json_array(), *seen = json_array();
            for (size_t i = 0; i < n; i++) {
                size_t k;
                const json_t *v;
                int found = 0;
                if (!pv[i])
                    continue;
                json_array_foreach(seen, k, v) found |= json_equal((json_t *)v, (json_t *)pv[i]);
                if (!found)
                    json_array_append(seen, (json_t *)pv[i]);
            }
            for (size_t k = 0; k < json_array_size(seen); k++) {
                const json_t *val = json_array_get(seen, k);
                double vs, vl;
                size_t cnt = 0;
                for (size_t i = 0; i < n; i++) {
                    x[i] = pv[i] && json_equal((json_t *)pv[i], (json_t *)val);
                    cnt += x[i] > 0;
                }
                vl = pearson(x, y, n);
                vs = spearman(x, y, n, rx, ry);
                json_array_append_new(vals, json_pack("{s:O,s:I,s:o,s:o}", "value", val, "n",
                                                      (json_int_t)cnt, "spearman",
                                                      num_or_null(vs), "linear",
                                                      num_or_null(vl)));
                if (isfinite(vs) && (!isfinite(sp) || fabs(vs) > fabs(sp)))
                    sp = vs;
                if (isfinite(vl) && (!isfinite(li) || fabs(vl) > fabs(li)))
                    li = vl;
            }
            json_decref(seen);
            json_object_set_new(o, "values", vals);
        }
        json_object_set_new(o, "spearman", num_or_null(sp));
        json_object_set_new(o, "linear", num_or_null(li));
        json_object_set_new(o, "fanova", json_null());
        json_object_set_new(o, "random_forest", json_null());
        json_object_set_new(o, "importance", json_real(isfinite(sp) ? fabs(sp) : 0));
        sum += isfinite(sp) ? fabs(sp) : 0;
        json_array_append_new(plist, o);
    }
    {
        size_t i;
        json_t *o;
        json_array_foreach(plist, i, o) {
            double v = json_real_value(json_object_get(o, "importance"));
            json_object_set_new(o, "importance", json_real(sum > 0 ? v / sum : 0));
        }
    }
    /* most important first (insertion sort: a handful of parameters) */
    for (size_t i = 1; i < json_array_size(plist); i++)
        for (size_t k = i; k > 0; k--) {
            json_t *a = json_array_get(plist, k - 1), *b = json_array_get(plist, k);
            if (json_real_value(json_object_get(a, "importance")) >=
                json_real_value(json_object_get(b, "importance")))
                break;
            json_incref(a);
            json_array_set(plist, k - 1, b);
            json_array_set_new(plist, k, a);
        }
    goto done;
oom:
    snprintf(errstr, errlen, "out of memory");
    json_decref(out);
    out = NULL;
done:
    free(c.p);
    free(used);
    free(pv);
    free(y);
    free(x);
    free(t);
    free(rx);
    free(ry);
    return out;
}

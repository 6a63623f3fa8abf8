/* test_earlystop.c - every rule of COMPAT.md 4 (hyperband), the median rule
 * and asha (docs/early-stop.md) on hand-made histories, and their config. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "earlystop.h"
#include "sweep.h"
#include "test.h"

#define NV(...) (sizeof((const double[]){__VA_ARGS__}) / sizeof(double))
/* A run: name, running, values... */
#define RUN(nm, running, ...)                                                  \
    { nm, running, (const double[]){__VA_ARGS__}, NV(__VA_ARGS__) }
#define NRUNS(a) (sizeof(a) / sizeof((a)[0]))

/* A config whose early_terminate is `et` (a YAML flow mapping) and, after
 * fx_eval(), the verdicts on some runs. */
struct fx {
    struct diags d;
    struct sweep_config *c;
    struct es_result res;
};

/* 1 when the config loaded. */
static int fx_load(struct fx *f, const char *et, const char *goal) {
    char yaml[512];

    snprintf(yaml, sizeof(yaml),
             "method: random\nmetric: {name: loss, goal: %s}\n"
             "parameters: {x: {values: [1]}}\nearly_terminate: %s\n",
             goal, et);
    diags_init(&f->d, "t.yaml");
    earlystop_result_init(&f->res);
    f->c = config_load_buffer(yaml, strlen(yaml), "t.yaml", &f->d);
    return f->c != NULL;
}

static void fx_free(struct fx *f) {
    earlystop_result_release(&f->res);
    config_free(f->c);
    diags_release(&f->d);
}

/* Loads, evaluates, and checks that earlystop_check() agrees run by run;
 * 1 when all of it worked. */
static int fx_eval(struct fx *f, const char *et, const char *goal,
                   const struct es_run *runs, size_t n) {
    const struct early_terminate *e;
    int rc, mx;

    if (!fx_load(f, et, goal)) {
        CHECK(f->c != NULL);
        return 0;
    }
    e = &f->c->et;
    mx = f->c->metric.maximize;
    rc = earlystop_evaluate(e, mx, runs, n, &f->res);
    CHECK_INT(rc, 0);
    for (size_t i = 0; !rc && i < n; i++) {
        struct es_reason w;
        const struct es_reason *want = &f->res.runs[i].why;
        CHECK_INT(earlystop_check(e, mx, runs, n, i, &w), want->stop);
        CHECK_INT(w.at, want->at);
        CHECK_INT(w.count, want->count);
        CHECK_DBL(w.value, want->value, 0);
        CHECK_DBL(w.threshold, want->threshold, 0);
        CHECK_INT(f->res.runs[i].judged, want->at != 0);
    }
    return rc == 0;
}

/* Every diagnostic of a config that must not load, one a line. */
static char *load_errors(const char *et) {
    struct fx f;
    struct sbuf sb = SBUF_INIT;

    CHECK(!fx_load(&f, et, "minimize"));
    for (size_t i = 0; i < f.d.n; i++) {
        diags_format(&f.d, i, &sb);
        sbuf_addc(&sb, '\n');
    }
    fx_free(&f);
    return sbuf_detach(&sb);
}

static void check_reason(const struct es_reason *w, const char *want) {
    struct sbuf sb = SBUF_INIT;

    earlystop_reason_format(w, &sb);
    CHECK_STR(sbuf_str(&sb), want);
    sbuf_release(&sb);
}

/* Which runs `et` stops: a string of 0/1, one per run. */
static void check_stops(const char *et, const char *goal,
                        const struct es_run *runs, size_t n, const char *want) {
    struct fx f;
    char got[64] = "";

    if (fx_eval(&f, et, goal, runs, n)) {
        for (size_t i = 0; i < n && i < sizeof(got) - 1; i++)
            got[i] = f.res.runs[i].why.stop ? '1' : '0';
        CHECK_STR(got, want);
    }
    fx_free(&f);
}

/* ---- hyperband, COMPAT.md 4 ---- */

static void test_compat_example(void) {
    const struct es_run runs[] = {RUN("a", 0, 10, 9), RUN("b", 1, 10, 10),
                                  RUN("c", 1, 10, 8, 8), RUN("d", 1, 10, 7, 7),
                                  RUN("e", 0, 10, 6, 6)};
    struct fx f;
    const struct es_result *res = &f.res;

    if (!fx_eval(&f, "{type: hyperband, max_iter: 5, eta: 2, s: 2}", "minimize",
                 runs, NRUNS(runs)))
        goto out;
    CHECK_INT(res->nlevels, 2);
    CHECK_INT(res->levels[0].at, 1);
    CHECK_INT(res->levels[1].at, 2);
    CHECK_DBL(res->levels[0].threshold, 10, 0);
    CHECK_DBL(res->levels[1].threshold, 8, 0);
    CHECK_INT(res->levels[1].count, 5);
    CHECK_INT(res->nstop, 1);
    CHECK(!res->runs[0].judged); /* finished: never stopped */
    CHECK(res->runs[1].why.stop);
    CHECK(!res->runs[2].why.stop); /* 8 == threshold: ties survive */
    CHECK(res->runs[2].judged);
    CHECK(!res->runs[3].why.stop);
    check_reason(
        &res->runs[1].why,
        "hyperband band 2: value 10.0 is worse than threshold 8.0 (5 runs)");
    check_reason(
        &res->runs[2].why,
        "hyperband band 2: value 8.0 is not worse than threshold 8.0 (5 runs)");
out:
    fx_free(&f);
}

static void test_compat_example_maximize(void) {
    const struct es_run runs[] = {
        RUN("a", 0, -10, -9), RUN("b", 1, -10, -10), RUN("c", 1, -10, -8, -8),
        RUN("d", 1, -10, -7, -7), RUN("e", 0, -10, -6, -6)};
    struct fx f;

    if (fx_eval(&f, "{type: hyperband, max_iter: 5, eta: 2, s: 2}", "maximize",
                runs, NRUNS(runs))) {
        CHECK_DBL(f.res.levels[1].threshold, -8, 0);
        CHECK_INT(f.res.nstop, 1);
        CHECK(f.res.runs[1].why.stop);
        check_reason(&f.res.runs[1].why, "hyperband band 2: value -10.0 is "
                                         "worse than threshold -8.0 (5 runs)");
    }
    fx_free(&f);
}

/* threshold = sorted[int(n / eta)], in any state, the judged run included. */
static void test_threshold_index(void) {
    const struct es_run seven[] = {
        RUN("a", 0, 1), RUN("b", 0, 2), RUN("c", 0, 3), RUN("d", 0, 4),
        RUN("e", 0, 5), RUN("f", 1, 3), RUN("g", 1, 4)};
    const struct es_run five[] = {RUN("a", 0, 1), RUN("b", 0, 2),
                                  RUN("c", 1, 3), RUN("d", 1, 4),
                                  RUN("e", 0, 5)};

    /* 7 values 1 2 3 3 4 4 5, eta 3: sorted[2] = 3: f ties, g stops. */
    check_stops("{type: hyperband, min_iter: 1}", "minimize", seven, 7,
                "0000001");
    /* eta 1.5: sorted[int(4.67)] = 4: g ties too. */
    check_stops("{type: hyperband, min_iter: 1, eta: 1.5}", "minimize", seven,
                7, "0000000");
    /* eta 7: sorted[1] = 2: both stop. */
    check_stops("{type: hyperband, min_iter: 1, eta: 7}", "minimize", seven, 7,
                "0000011");
    /* eta 2.5, 5 values: int(2.0) = 2, sorted[2] = 3: c ties, d stops. */
    check_stops("{type: hyperband, min_iter: 1, eta: 2.5}", "minimize", five, 5,
                "00010");
    /* maximize: [2] of 5 4 3 2 1 is 3: c ties, d is better. */
    check_stops("{type: hyperband, min_iter: 1, eta: 2.5}", "maximize", five, 5,
                "00000");
    /* maximize, eta 5: [1] of 5 4 3 2 1 is 4: c stops, d ties. */
    check_stops("{type: hyperband, min_iter: 1, eta: 5}", "maximize", five, 5,
                "00100");
}

/* Pending, failed, crashed, killed and finished runs all count. */
static void test_every_state_counts(void) {
    const struct es_run runs[] = {RUN("killed", 0, 1), RUN("failed", 0, 1),
                                  RUN("pending", 0, 1), RUN("r", 1, 2)};
    const struct es_run alone[] = {RUN("r", 1, 2)};

    /* 4 values, eta 3: sorted[1] = 1, so r (2) stops. */
    check_stops("{type: hyperband, min_iter: 1}", "minimize", runs, 4, "0001");
    /* alone, a run is its own threshold and survives. */
    check_stops("{type: hyperband, min_iter: 1}", "minimize", alone, 1, "0");
}

/* Strict judges the value at the largest band reached; a run short of the
 * first band is not judged. */
static void test_largest_band(void) {
    /* bands 3, 9, 27 (max_iter 81, s 3). */
    const struct es_run runs[] = {
        RUN("early", 1, 9, 9),                        /* no band yet */
        RUN("bad3", 0, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9), /* 10 values */
        RUN("good9", 1, 1, 1, 9, 1, 1, 1, 1, 1, 1),   /* bad at 3, good at 9 */
        RUN("bad9", 1, 1, 1, 1, 1, 1, 1, 1, 1, 5, 1,
            1), /* good at 3, bad at 9 */
        RUN("ok", 0, 2, 2, 2, 2, 2, 2, 2, 2, 2),
        RUN("ok2", 0, 2, 2, 2, 2, 2, 2, 2, 2, 2)};
    struct fx f;

    if (fx_eval(&f, "{type: hyperband, max_iter: 81, s: 3}", "minimize", runs,
                NRUNS(runs))) {
        CHECK_INT(f.res.nlevels, 3);
        CHECK_INT(f.res.levels[2].at, 27);
        CHECK_INT(f.res.levels[2].count, 0);
        CHECK(!f.res.levels[2].has_threshold);
        CHECK(!f.res.runs[0].judged);
        CHECK_INT(f.res.runs[2].why.at, 9);
        CHECK(!f.res.runs[2].why.stop); /* band 9: 1 2 2 5 9, sorted[1] = 2 */
        CHECK_INT(f.res.runs[3].why.at, 9);
        CHECK(f.res.runs[3].why.stop);
        CHECK_DBL(f.res.runs[3].why.value, 5, 0);
        CHECK_DBL(f.res.runs[3].why.threshold, 2, 0);
    }
    fx_free(&f);
}

/* strict false: the best value of the whole history so far. */
static void test_strict_false(void) {
    const struct es_run runs[] = {RUN("p", 0, 1, 1), RUN("q", 0, 1, 2),
                                  RUN("r", 1, 0, 5), RUN("s", 1, 9, 9, 0),
                                  RUN("t", 1, 9, 9)};
    struct fx f;

    /* band 2: 1 2 5 9 9, eta 2: sorted[2] = 5 */
    check_stops("{type: hyperband, max_iter: 5, eta: 2, s: 2}", "minimize",
                runs, 5, "00011");
    if (fx_eval(&f,
                "{type: hyperband, max_iter: 5, eta: 2, s: 2, strict: false}",
                "minimize", runs, NRUNS(runs))) {
        CHECK(!f.res.runs[2].why.stop); /* best 0 */
        CHECK(!f.res.runs[3].why.stop); /* best 0, logged after band 2 */
        CHECK(f.res.runs[4].why.stop);  /* best 9 */
        CHECK(f.res.runs[4].why.best);
        check_reason(&f.res.runs[4].why, "hyperband band 2: best value 9.0 is "
                                         "worse than threshold 5.0 (5 runs)");
    }
    fx_free(&f);
}

static void test_ties_survive(void) {
    const struct es_run runs[] = {RUN("a", 1, 3, 3), RUN("b", 1, 3, 3),
                                  RUN("c", 1, 3, 3), RUN("d", 0, 3, 3)};

    check_stops("{type: hyperband, min_iter: 1, eta: 2}", "minimize", runs, 4,
                "0000");
    check_stops("{type: hyperband, min_iter: 1, eta: 2}", "maximize", runs, 4,
                "0000");
}

/* The min_iter form, and max_iter + s winning over min_iter. */
static void test_band_forms(void) {
    const struct es_run runs[] = {RUN("a", 0, 1, 1, 1, 1),
                                  RUN("b", 0, 1, 1, 1, 1),
                                  RUN("c", 1, 9, 1, 1, 9)};
    struct fx f;

    if (fx_load(&f, "{type: hyperband, min_iter: 2, eta: 2}", "minimize")) {
        CHECK(f.c->et.nbands > 3);
        CHECK_INT(f.c->et.bands[0], 2);
        CHECK_INT(f.c->et.bands[1], 4);
        CHECK_INT(f.c->et.bands[2], 8);
    }
    fx_free(&f);
    if (fx_load(&f, "{type: hyperband, min_iter: 1, max_iter: 9, s: 1}",
                "minimize"))
        CHECK(f.c->et.nbands == 1 && f.c->et.bands[0] == 3);
    fx_free(&f);
    /* c is judged at band 4 (its value 9 stops it), never at band 1. */
    check_stops("{type: hyperband, min_iter: 2, eta: 2}", "minimize", runs, 3,
                "001");
    /* max_iter 9, s 1: band 3 only; c's 1 there is fine. */
    check_stops("{type: hyperband, min_iter: 1, max_iter: 9, s: 1}", "minimize",
                runs, 3, "000");
}

/* Iterations count finite numbers only: NaN, inf, null, booleans, strings,
 * objects and arrays are skipped, and so are events without the metric. */
static void test_invalid_values(void) {
    const char *hist =
        "[{\"loss\": null}, {\"loss\": 4}, {\"loss\": true}, {\"loss\": false},"
        " {\"loss\": \"NaN\"}, {\"loss\": \"Infinity\"}, {\"acc\": 1},"
        " {\"loss\": \"\\u0000NaN\"}, {\"loss\": [1]}, {\"loss\": {\"a\": 1}},"
        " {\"loss\": 2.5}, {\"loss\": \"3\"}, {\"loss\": -1e300}]";
    json_error_t err;
    json_t *h = json_loads(hist, JSON_ALLOW_NUL, &err), *nan = json_real(NAN);
    double *v = NULL, x;
    long n;

    CHECK(h != NULL);
    n = earlystop_values(h, "loss", &v);
    CHECK_INT(n, 3);
    if (n == 3) {
        CHECK_DBL(v[0], 4, 0);
        CHECK_DBL(v[1], 2.5, 0);
        CHECK_DBL(v[2], -1e300, 0);
    }
    free(v);
    CHECK_INT(earlystop_values(h, "nope", &v), 0);
    CHECK(v == NULL);
    CHECK_INT(earlystop_values(NULL, "loss", &v), 0);
    /* jansson refuses non-finite reals; should one ever get through: */
    CHECK(!nan || !earlystop_value(nan, &x));
    CHECK(earlystop_value(json_object_get(json_array_get(h, 1), "loss"), &x) &&
          x == 4);
    CHECK(!earlystop_value(json_object_get(json_array_get(h, 2), "loss"), &x));
    json_decref(nan);
    json_decref(h);
}

/* The filtered positions are the iterations: band 2 is the second number. */
static void test_iterations_after_filtering(void) {
    const char *runs_json =
        "[[{\"loss\": 5}, {\"loss\": 5}],"
        " [{\"loss\": 5}, {\"loss\": 5}],"
        " [{\"loss\": null}, {\"loss\": 5}, {\"loss\": \"x\"}, {\"loss\": 9}]]";
    json_t *all = json_loads(runs_json, 0, NULL);
    struct es_run runs[3];
    double *vals[3] = {NULL, NULL, NULL};

    CHECK(all != NULL);
    for (size_t i = 0; all && i < 3; i++) {
        long n = earlystop_values(json_array_get(all, i), "loss", &vals[i]);
        runs[i] = (struct es_run){"r", i == 2, vals[i], n > 0 ? (size_t)n : 0};
    }
    /* band 2 of the third run is 9, not "x": 5 5 9, eta 2: sorted[1] = 5. */
    if (all)
        check_stops("{type: hyperband, max_iter: 5, eta: 2, s: 2}", "minimize",
                    runs, 3, "001");
    for (size_t i = 0; i < 3; i++)
        free(vals[i]);
    json_decref(all);
}

static void test_check_args(void) {
    const struct es_run runs[] = {RUN("a", 0, 100), RUN("b", 1, 1)};
    struct early_terminate none = {0};
    struct es_reason w;
    struct fx f;

    if (fx_eval(&f, "{type: hyperband, min_iter: 1}", "minimize", NULL, 0)) {
        CHECK_INT(f.res.nstop, 0);
        CHECK_INT(earlystop_check(&f.c->et, 0, runs, 2, 2, &w), SWEEP_EINVAL);
        CHECK_INT(earlystop_check(&f.c->et, 0, runs, 2, 0, &w),
                  0); /* finished */
        CHECK_INT(w.at, 0);
    }
    earlystop_result_release(&f.res);
    CHECK_INT(earlystop_check(&none, 0, runs, 2, 1, &w), SWEEP_EINVAL);
    CHECK_INT(earlystop_evaluate(&none, 0, runs, 2, &f.res), SWEEP_EINVAL);
    CHECK(f.res.runs == NULL);
    fx_free(&f);
}

/* ---- median ---- */

static void test_median(void) {
    const struct es_run runs[] = {
        RUN("a", 0, 5, 4, 3, 2),       RUN("b", 0, 5, 4, 3),
        RUN("bad", 1, 6, 6, 6), /* best 6 > median 3 of a, b (and others) */
        RUN("dip", 1, 6, 2, 6), /* best 2 */
        RUN("short", 1, 9, 9),  /* fewer than min_iter values */
        RUN("ahead", 1, 9, 9, 9, 9, 9)}; /* nobody else has 5 values */
    struct fx f;

    if (fx_eval(&f, "{type: median, min_iter: 3}", "minimize", runs,
                NRUNS(runs))) {
        /* steps judged: 3 (bad, dip) and 5 (ahead) */
        CHECK_INT(f.res.nlevels, 2);
        CHECK_INT(f.res.levels[0].at, 3);
        CHECK_INT(f.res.levels[0].count, 5); /* a b bad dip ahead */
        CHECK(f.res.runs[2].why.stop);
        /* others at step 3: a 3, b 3, dip 6, ahead 9 -> (3 + 6) / 2 */
        CHECK_DBL(f.res.runs[2].why.threshold, 4.5, 0);
        CHECK_INT(f.res.runs[2].why.count, 4);
        CHECK(!f.res.runs[3].why.stop);
        CHECK(!f.res.runs[4].judged);
        CHECK(!f.res.runs[5].judged);
        check_reason(&f.res.runs[2].why,
                     "median step 3: best value 6.0 is worse than median 4.5 "
                     "(4 other runs)");
        check_reason(&f.res.runs[3].why,
                     "median step 3: best value 2.0 is not worse than median "
                     "4.5 (4 other runs)");
    }
    fx_free(&f);
}

/* Others count with their value at the step, not their best; ties survive;
 * a lone run is not judged. */
static void test_median_details(void) {
    const struct es_run raw[] = {RUN("o1", 0, 1, 9), RUN("o2", 0, 1, 3),
                                 RUN("r", 1, 7, 6)};
    const struct es_run tie[] = {RUN("o1", 0, 1, 1), RUN("o2", 0, 3, 3),
                                 RUN("r", 1, 5, 2)};
    const struct es_run low[] = {RUN("o1", 0, 1, 1), RUN("o2", 0, 3, 3),
                                 RUN("r", 1, 1, 0)};
    const struct es_run lone[] = {RUN("r", 1, 9, 9, 9)};

    /* median of o1 9 and o2 3 is 6; r's best is 6: a tie. */
    check_stops("{type: median, min_iter: 1}", "minimize", raw, 3, "000");
    /* r's best 2 equals the median 2 of 1 and 3 */
    check_stops("{type: median, min_iter: 2}", "minimize", tie, 3, "000");
    check_stops("{type: median, min_iter: 2}", "maximize", tie, 3, "000");
    /* maximize: r's best 1 is below the median 2 */
    check_stops("{type: median, min_iter: 2}", "maximize", low, 3, "001");
    check_stops("{type: median, min_iter: 2}", "minimize", low, 3, "000");
    check_stops("{type: median, min_iter: 1}", "minimize", lone, 1, "0");
}

/* ---- asha ---- */

static void test_asha(void) {
    /* rungs 1, 3, 9; at rung 3: 1 2 3 4 5 6 (6 values, eta 3 -> top 2). */
    const struct es_run runs[] = {
        RUN("a", 0, 9, 9, 1), RUN("b", 0, 9, 9, 2, 0), RUN("c", 1, 9, 9, 3),
        RUN("d", 1, 9, 9, 2), RUN("e", 0, 9, 9, 5),    RUN("f", 1, 9, 9, 6, 0)};
    struct fx f;

    if (fx_eval(&f, "{type: asha, max_iter: 27}", "minimize", runs,
                NRUNS(runs))) {
        const struct es_result res = f.res;
        CHECK_INT(f.c->et.min_iter, 1);
        CHECK_DBL(f.c->et.eta, 3, 0);
        CHECK_INT(f.c->et.nbands, 3); /* 1 3 9: 27 is max_iter, no rung */
        CHECK_INT(res.levels[1].at, 3);
        CHECK_DBL(res.levels[1].threshold, 2, 0); /* 1 2 2 3 5 6: 2nd best */
        CHECK(res.runs[2].why.stop);              /* 3 is not in the top 2 */
        CHECK(!res.runs[3].why.stop);             /* 2 ties the cutoff */
        CHECK(!res.runs[5].judged); /* 4 values: promoted at rung 3 already */
        check_reason(&res.runs[2].why, "asha rung 3: value 3.0 is not in the "
                                       "top 1/3 (cutoff 2.0, 6 runs)");
        check_reason(
            &res.runs[3].why,
            "asha rung 3: value 2.0 is in the top 1/3 (cutoff 2.0, 6 runs)");
    }
    fx_free(&f);
}

static void test_asha_few_and_maximize(void) {
    const struct es_run two[] = {RUN("a", 0, 1), RUN("b", 1, 9)};
    const struct es_run four[] = {RUN("a", 0, 1), RUN("b", 0, 2),
                                  RUN("c", 1, 3), RUN("d", 1, 4)};
    struct fx f;
    struct es_reason w;

    if (fx_load(&f, "{type: asha, eta: 3, min_iter: 1}", "minimize")) {
        /* 2 values, eta 3: fewer than eta, promoted without a cutoff */
        CHECK_INT(earlystop_check(&f.c->et, 0, two, 2, 1, &w), 0);
        CHECK_INT(w.has_threshold, 0);
        check_reason(&w,
                     "asha rung 1: value 9.0 is promoted: 2 runs at the rung, "
                     "fewer than eta 3");
    }
    fx_free(&f);
    /* eta 2, 4 values: top 2 go on */
    check_stops("{type: asha, eta: 2}", "minimize", four, 4, "0011");
    check_stops("{type: asha, eta: 2}", "maximize", four, 4, "0000");
}

/* ---- check() and evaluate() agree everywhere ---- */

static uint64_t lcg(uint64_t *s) {
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 33;
}

static void test_check_matches_evaluate(void) {
    static const char *const ets[] = {
        "{type: hyperband, min_iter: 1, eta: 2}",
        "{type: hyperband, max_iter: 30, s: 3, strict: false}",
        "{type: median, min_iter: 2}", "{type: asha, eta: 2}",
        "{type: asha, min_iter: 2, eta: 3}"};
    enum { NR = 60 };
    static double vals[NR][40];
    struct es_run runs[NR];
    uint64_t seed = 7;

    for (size_t i = 0; i < NR; i++) {
        size_t n = lcg(&seed) % 40;
        for (size_t k = 0; k < n; k++)
            vals[i][k] = (double)(i % 7 * 4 + lcg(&seed) % 10); /* many ties */
        runs[i] = (struct es_run){"r", (int)(lcg(&seed) % 3 != 0), vals[i], n};
    }
    for (size_t t = 0; t < sizeof(ets) / sizeof(ets[0]); t++) {
        for (int mx = 0; mx < 2; mx++) {
            struct fx f;
            if (fx_eval(&f, ets[t], mx ? "maximize" : "minimize", runs, NR)) {
                if (!f.res.nstop)
                    fprintf(stderr, "  %s %d: nothing stopped\n", ets[t], mx);
                CHECK(f.res.nstop > 0);
            }
            fx_free(&f);
        }
    }
}

/* ---- config ---- */

static void test_config_types(void) {
    struct fx f;

    CHECK(fx_load(&f, "{type: median, min_iter: 4}", "minimize"));
    CHECK(f.c && f.c->et.type == ET_MEDIAN && f.c->et.min_iter == 4 &&
          !f.c->et.nbands);
    fx_free(&f);
    CHECK(fx_load(&f, "{type: asha, min_iter: 2, eta: 2, max_iter: 16}",
                  "minimize"));
    if (f.c) { /* rungs 2 4 8 */
        CHECK(f.c->et.type == ET_ASHA && f.c->et.nbands == 3);
        CHECK_INT(f.c->et.bands[0], 2);
        CHECK_INT(f.c->et.bands[2], 8);
    }
    fx_free(&f);
    CHECK(fx_load(&f, "{type: asha}", "minimize")); /* rungs 1 3 9 ... capped */
    CHECK(f.c && f.c->et.nbands > 5 && f.c->et.nbands <= HYPERBAND_MAX_BANDS);
    fx_free(&f);
}

static void test_config_errors(void) {
    static const struct {
        const char *et, *want;
    } cases[] = {
        {"{type: median}",
         "t.yaml:4:18: early_terminate: median needs min_iter"},
        {"{type: median, min_iter: 0}",
         "early_terminate.min_iter: must be between 1 and 1000000000, not 0"},
        {"{type: median, min_iter: 2, eta: 3}",
         "t.yaml:4:46: early_terminate.eta: key 'eta' does not apply to "
         "early_terminate type median"},
        {"{type: median, min_iter: 2, strict: false}",
         "early_terminate.strict: key 'strict' does not apply to "
         "early_terminate type median"},
        {"{type: asha, s: 2}", "early_terminate.s: key 's' does not apply to "
                               "early_terminate type asha"},
        {"{type: asha, strict: true}", "key 'strict' does not apply"},
        {"{type: asha, eta: 1}",
         "early_terminate.eta: must be greater than 1, not 1"},
        {"{type: asha, min_iter: 9, max_iter: 9}",
         "early_terminate: gives no rungs: min_iter 9 is not below max_iter 9"},
        {"{type: asha, min_iter: 1.5}",
         "early_terminate.min_iter: must be an integer"},
        {"{type: ashaa}",
         "unknown early_terminate type 'ashaa' (did you mean 'asha'?)"},
        {"{min_iter: 3}",
         "early_terminate: needs 'type' (hyperband, median or asha)"},
        {"{type: hyperband, max_iter: 2, s: 1}",
         "early_terminate: gives no bands"},
        {"{type: hyperband, eta: 3}",
         "hyperband needs min_iter, or max_iter and s"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *text = load_errors(cases[i].et);
        if (!strstr(text, cases[i].want))
            fprintf(stderr, "  case %zu: %s\n", i, cases[i].et);
        CHECK_HAS(text, cases[i].want);
        free(text);
    }
}

int main(void) {
    TEST_RUN(test_compat_example);
    TEST_RUN(test_compat_example_maximize);
    TEST_RUN(test_threshold_index);
    TEST_RUN(test_every_state_counts);
    TEST_RUN(test_largest_band);
    TEST_RUN(test_strict_false);
    TEST_RUN(test_ties_survive);
    TEST_RUN(test_band_forms);
    TEST_RUN(test_invalid_values);
    TEST_RUN(test_iterations_after_filtering);
    TEST_RUN(test_check_args);
    TEST_RUN(test_median);
    TEST_RUN(test_median_details);
    TEST_RUN(test_asha);
    TEST_RUN(test_asha_few_and_maximize);
    TEST_RUN(test_check_matches_evaluate);
    TEST_RUN(test_config_types);
    TEST_RUN(test_config_errors);
    return TEST_DONE();
}

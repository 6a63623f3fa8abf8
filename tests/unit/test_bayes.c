/*
 * test_bayes.c - method: bayes end to end on configs and prior runs:
 * suggestions stay in bounds and respect integers, q and categoricals,
 * nested names survive, in-flight runs make simultaneous suggestions
 * differ, and the property test on (x - 0.3)^2.
 */
#include <gsl/gsl_errno.h>
#include <gsl/gsl_rng.h>
#include <stdlib.h>

#include "bayes.h"
#include "config.h"
#include "runs.h"
#include "space.h"
#include "sweep.h"
#include "test.h"

static struct sweep_config *load(const char *yaml) {
    struct diags d;
    struct sweep_config *cfg;

    diags_init(&d, "t.yaml");
    cfg = config_load_buffer(yaml, strlen(yaml), "t.yaml", &d);
    if (!cfg)
        diags_print(&d, stderr);
    diags_release(&d);
    return cfg;
}

/* Appends a run with `flat` params (nested for the file) and loss. */
static void add_run(const struct sweep_config *cfg, json_t *arr,
                    const json_t *flat, const char *state, double loss) {
    json_t *r = json_pack("{s:s, s:s, s:o, s:[{s:f}], s:{s:f}}", "name", "r",
                          "state", state, "params", space_nest(cfg, flat),
                          "history", "loss", loss + 1, "summary", "loss", loss);
    json_array_append_new(arr, r);
}

static struct runs *to_runs(const json_t *arr) {
    struct runs *r = NULL;
    char err[256];

    if (runs_from_json(arr, &r, err, sizeof(err)) != 0)
        fprintf(stderr, "  runs: %s\n", err);
    return r;
}

static const char *mixed_yaml =
    "method: bayes\n"
    "metric: {name: loss, goal: minimize}\n"
    "parameters:\n"
    "  u: {min: -1.0, max: 3.0}\n"
    "  i: {min: 2, max: 9}\n"
    "  q: {distribution: q_uniform, min: 0.0, max: 2.0, q: 0.25}\n"
    "  qi: {distribution: q_uniform, min: 0, max: 20, q: 4}\n"
    "  lr: {distribution: log_uniform_values, min: 0.0001, max: 0.1}\n"
    "  c: {values: [a, b, c]}\n"
    "  w: {values: [1, 2], probabilities: [0.3, 0.7]}\n"
    "  n: {distribution: normal, mu: 5, sigma: 2}\n"
    "  be: {distribution: beta, a: 2, b: 3}\n"
    "  k: {value: fixed}\n"
    "  opt:\n"
    "    parameters:\n"
    "      mom: {min: 0.5, max: 0.99}\n";

static double mixed_loss(const json_t *f) {
    double u = json_number_value(json_object_get(f, "u"));
    double lr = json_number_value(json_object_get(f, "lr"));
    double m = json_number_value(json_object_get(f, "opt.mom"));
    const char *c = json_string_value(json_object_get(f, "c"));

    return (u - 1) * (u - 1) + fabs(log10(lr) + 2) + (m - 0.9) * (m - 0.9) +
           (c && strcmp(c, "b") == 0 ? 0 : 1);
}

static const struct param *find(const struct sweep_config *cfg,
                                const char *name) {
    for (size_t i = 0; i < cfg->nparams; i++)
        if (strcmp(cfg->params[i].name, name) == 0)
            return &cfg->params[i];
    return NULL;
}

static int is_one_of(const json_t *v, const json_t *values) {
    size_t i;
    json_t *x;

    json_array_foreach(values, i, x) if (json_equal(x, (json_t *)v)) return 1;
    return 0;
}

static void check_mixed(const struct sweep_config *cfg, const json_t *f) {
    json_t *v;
    double q;

    CHECK_INT(json_object_size(f), cfg->nparams);
    v = json_object_get(f, "u");
    CHECK(json_is_real(v) && json_real_value(v) >= -1 &&
          json_real_value(v) <= 3);
    v = json_object_get(f, "i");
    CHECK(json_is_integer(v) && json_integer_value(v) >= 2 &&
          json_integer_value(v) <= 9);
    v = json_object_get(f, "q");
    q = json_number_value(v);
    CHECK(json_is_real(v) && q >= 0 && q <= 2 && fmod(q, 0.25) == 0);
    v = json_object_get(f, "qi");
    CHECK(json_is_integer(v) && json_integer_value(v) % 4 == 0 &&
          json_integer_value(v) >= 0 && json_integer_value(v) <= 20);
    v = json_object_get(f, "lr");
    CHECK(json_is_real(v) && json_real_value(v) >= 0.0001 &&
          json_real_value(v) <= 0.1);
    CHECK(is_one_of(json_object_get(f, "c"), find(cfg, "c")->values));
    v = json_object_get(f, "w");
    CHECK(json_is_integer(v) &&
          (json_integer_value(v) == 1 || json_integer_value(v) == 2));
    CHECK(json_is_real(json_object_get(f, "n")));
    v = json_object_get(f, "be");
    CHECK(json_is_real(v) && json_real_value(v) >= 0 &&
          json_real_value(v) <= 1);
    CHECK_STR(json_string_value(json_object_get(f, "k")), "fixed");
    v = json_object_get(f, "opt.mom");
    CHECK(json_is_real(v) && json_real_value(v) >= 0.5 &&
          json_real_value(v) <= 0.99);
}

/* 15 random finished runs, then 4 suggestions at once: every one valid,
 * and no two alike (the in-flight ones are believed, not repeated). */
static void test_mixed_space(void) {
    struct sweep_config *cfg = load(mixed_yaml);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    json_t *arr = json_array(), *out = json_array();
    struct runs *runs;
    char err[256] = "";
    long got;

    CHECK(cfg != NULL);
    if (!cfg)
        return;
    for (int i = 0; i < 15; i++) {
        json_t *f = space_sample(cfg, rng, NULL, NULL);
        add_run(cfg, arr, f, "finished", mixed_loss(f));
        json_decref(f);
    }
    runs = to_runs(arr);
    CHECK(runs != NULL);
    got = bayes_suggest(cfg, runs, 4, rng, out, err, sizeof(err));
    CHECK_INT(got, 4);
    for (size_t i = 0; i < json_array_size(out); i++) {
        check_mixed(cfg, json_array_get(out, i));
        for (size_t j = 0; j < i; j++)
            CHECK(!json_equal(json_array_get(out, i), json_array_get(out, j)));
    }
    runs_free(runs);
    json_decref(arr);
    json_decref(out);
    gsl_rng_free(rng);
    config_free(cfg);
}

/* Fewer runs than the initial design: random draws, still valid; failed,
 * crashed, pending and running runs are all accepted. */
static void test_initial_and_states(void) {
    struct sweep_config *cfg = load(mixed_yaml);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    json_t *arr = json_array(), *out = json_array();
    const char *states[] = {"finished", "failed", "crashed",  "running",
                            "pending",  "killed", "preempted"};
    struct runs *runs;
    char err[256] = "";

    if (!cfg)
        return;
    CHECK_INT(bayes_suggest(cfg, NULL, 3, rng, out, err, sizeof(err)), 3);
    for (int i = 0; i < 14; i++) {
        json_t *f = space_sample(cfg, rng, NULL, NULL);
        add_run(cfg, arr, f, states[i % 7], mixed_loss(f));
        json_decref(f);
    }
    runs = to_runs(arr);
    CHECK_INT(bayes_suggest(cfg, runs, 3, rng, out, err, sizeof(err)), 3);
    for (size_t i = 0; i < json_array_size(out); i++)
        check_mixed(cfg, json_array_get(out, i));
    runs_free(runs);
    json_decref(arr);
    json_decref(out);
    gsl_rng_free(rng);
    config_free(cfg);
}

static const char *line_yaml =
    "method: bayes\nmetric: {name: loss, goal: minimize}\n"
    "parameters:\n  x: {min: 0.0, max: 1.0}\n";

static double xof(const json_t *out, size_t i) {
    return json_number_value(json_object_get(json_array_get(out, i), "x"));
}

/* In flight: a pending run where the model would go pushes the next
 * suggestion away, and suggestions made together differ: by at least
 * gp.c's GP_MIN_DIST (0.001 of the range), where without the fantasies
 * all three would be the same point. */
static void test_in_flight(void) {
    struct sweep_config *cfg = load(line_yaml);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    json_t *arr = json_array(), *out = json_array();
    struct runs *runs;
    char err[256] = "";
    double x1;

    if (!cfg)
        return;
    for (int i = 0; i < 6; i++) {
        json_t *f = json_pack("{s:f}", "x", i / 5.0);
        add_run(cfg, arr, f, "finished", sin(6 * i / 5.0));
        json_decref(f);
    }
    runs = to_runs(arr);
    CHECK_INT(bayes_suggest(cfg, runs, 1, rng, out, err, sizeof(err)), 1);
    x1 = xof(out, 0);
    runs_free(runs);
    add_run(cfg, arr, json_array_get(out, 0), "pending", 0);
    runs = to_runs(arr);
    CHECK_INT(bayes_suggest(cfg, runs, 1, rng, out, err, sizeof(err)), 1);
    CHECK(fabs(xof(out, 1) - x1) > 0.01);
    runs_free(runs);
    json_array_clear(out);
    json_array_remove(arr, json_array_size(arr) - 1);
    runs = to_runs(arr);
    CHECK_INT(bayes_suggest(cfg, runs, 3, rng, out, err, sizeof(err)), 3);
    for (size_t i = 0; i < 3; i++) {
        for (size_t j = 0; j < i; j++) {
            if (!(fabs(xof(out, i) - xof(out, j)) >= 0.00099))
                fprintf(stderr, "  x %.6f %.6f\n", xof(out, i), xof(out, j));
            CHECK(fabs(xof(out, i) - xof(out, j)) >= 0.00099);
        }
    }
    runs_free(runs);
    json_decref(arr);
    json_decref(out);
    gsl_rng_free(rng);
    config_free(cfg);
}

/* With runs in flight the confidence bound's minimum can sit on a
 * measured run at a bound (loss -x is best at x = 1): the suggestion is
 * never that run again. And a categorical with more workers than values
 * still gets suggestions (repeats then), not an error. */
static void test_in_flight_no_repeat(void) {
    struct sweep_config *cfg = load(line_yaml);
    struct sweep_config *cat = load("method: bayes\n"
                                    "metric: {name: loss, goal: minimize}\n"
                                    "parameters:\n"
                                    "  act: {values: [relu, tanh]}\n");
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    json_t *arr = json_array(), *out = json_array();
    struct runs *runs;
    char err[256] = "";
    int repeats = 0;

    if (!cfg || !cat)
        return;
    for (int i = 0; i <= 4; i++) {
        json_t *f = json_pack("{s:f}", "x", i / 4.0);
        add_run(cfg, arr, f, "finished", -i / 4.0);
        json_decref(f);
    }
    {
        json_t *f = json_pack("{s:f}", "x", 0.6);
        add_run(cfg, arr, f, "running", 0);
        json_decref(f);
    }
    runs = to_runs(arr);
    for (unsigned long seed = 1; seed <= 5; seed++) {
        json_array_clear(out);
        gsl_rng_set(rng, seed);
        CHECK_INT(bayes_suggest(cfg, runs, 1, rng, out, err, sizeof(err)), 1);
        repeats += xof(out, 0) == 1.0;
    }
    CHECK_INT(repeats, 0);
    runs_free(runs);
    json_array_clear(arr);
    json_array_clear(out);
    for (int i = 0; i < 3; i++) {
        json_t *f = json_pack("{s:s}", "act", i % 2 ? "tanh" : "relu");
        add_run(cat, arr, f, "finished", i % 2 ? 2.0 : 1.0);
        json_decref(f);
    }
    runs = to_runs(arr);
    CHECK_INT(bayes_suggest(cat, runs, 4, rng, out, err, sizeof(err)), 4);
    runs_free(runs);
    json_decref(arr);
    json_decref(out);
    gsl_rng_free(rng);
    config_free(cfg);
    config_free(cat);
}

/* Past BAYES_MAX_OBS runs the cost is bounded: 1000 runs on a 2-D space
 * still give a valid suggestion quickly, near the good region. */
static void test_many_runs(void) {
    struct sweep_config *cfg =
        load("method: bayes\nmetric: {name: loss, goal: minimize}\n"
             "parameters:\n  x: {min: 0.0, max: 1.0}\n"
             "  y: {min: 0.0, max: 1.0}\n");
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    json_t *arr = json_array(), *out = json_array();
    struct runs *runs;
    char err[256] = "";
    double x, y;

    if (!cfg)
        return;
    for (int i = 0; i < 1000; i++) {
        json_t *f = space_sample(cfg, rng, NULL, NULL);
        x = json_number_value(json_object_get(f, "x"));
        y = json_number_value(json_object_get(f, "y"));
        add_run(cfg, arr, f, "finished",
                (x - 0.6) * (x - 0.6) + (y - 0.4) * (y - 0.4));
        json_decref(f);
    }
    runs = to_runs(arr);
    CHECK_INT(bayes_suggest(cfg, runs, 2, rng, out, err, sizeof(err)), 2);
    x = json_number_value(json_object_get(json_array_get(out, 0), "x"));
    y = json_number_value(json_object_get(json_array_get(out, 0), "y"));
    CHECK(x >= 0 && x <= 1 && y >= 0 && y <= 1);
    CHECK((x - 0.6) * (x - 0.6) + (y - 0.4) * (y - 0.4) < 0.01);
    runs_free(runs);
    json_decref(arr);
    json_decref(out);
    gsl_rng_free(rng);
    config_free(cfg);
}

static void test_needs_metric(void) {
    struct sweep_config *cfg = load("method: bayes\nmetric: {name: loss}\n"
                                    "parameters:\n  x: {min: 0.0, max: 1.0}\n");
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    json_t *out = json_array();
    char err[256] = "";
    char *saved;

    if (!cfg)
        return;
    saved = cfg->metric.name;
    cfg->metric.name = NULL;
    CHECK(bayes_suggest(cfg, NULL, 1, rng, out, err, sizeof(err)) < 0);
    CHECK_HAS(err, "metric");
    cfg->metric.name = saved;
    json_decref(out);
    gsl_rng_free(rng);
    config_free(cfg);
}

/* Extreme distributions: where GSL's inverse beta CDF fails (b = 1e20,
 * or a = b = 1e-5 at the ends) the value is drawn as random search would,
 * and the suggestion still comes; where no draw is a double (sigma 1e300
 * with q 1e-300) the error names the parameter, as random search does. */
static void test_extreme_distributions(void) {
    struct sweep_config *cfg = load(
        "method: bayes\nmetric: {name: loss}\nparameters:\n"
        "  b: {distribution: beta, a: 0.5, b: 1e20}\n"
        "  qb: {distribution: q_beta, a: 0.5, b: 3e85, q: 0.05}\n"
        "  t: {distribution: beta, a: 0.00001, b: 0.00001}\n"
        "  x: {min: 0.0, max: 1.0}\n");
    struct sweep_config *bad = load(
        "method: bayes\nmetric: {name: loss}\nparameters:\n"
        "  g: {distribution: q_normal, mu: 0, sigma: 1e300, q: 1e-300}\n");
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    json_t *arr = json_array(), *out = json_array();
    struct runs *runs;
    char err[256] = "";

    CHECK(cfg != NULL && bad != NULL);
    if (!cfg || !bad)
        goto out;
    gsl_rng_set(rng, 2);
    for (int i = 0; i < 8; i++) {
        json_t *f = space_sample(cfg, rng, NULL, NULL);
        double x = json_number_value(json_object_get(f, "x"));
        add_run(cfg, arr, f, "finished", (x - 0.3) * (x - 0.3));
        json_decref(f);
    }
    runs = to_runs(arr);
    CHECK_INT(bayes_suggest(cfg, runs, 3, rng, out, err, sizeof(err)), 3);
    if (*err)
        fprintf(stderr, "  suggest: %s\n", err);
    for (size_t i = 0; i < json_array_size(out); i++) {
        const json_t *p = json_array_get(out, i);
        static const char *keys[] = {"b", "qb", "t", "x"};
        for (int k = 0; k < 4; k++) {
            double v = json_number_value(json_object_get(p, keys[k]));
            CHECK(json_is_number(json_object_get(p, keys[k])));
            CHECK(v >= 0 && v <= 1);
        }
    }
    runs_free(runs);
    json_array_clear(out);
    CHECK_INT(bayes_suggest(bad, NULL, 1, rng, out, err, sizeof(err)),
              SWEEP_ERANGE);
    CHECK_HAS(err, "g: a draw of q_normal is not a finite number");
out:
    json_decref(out);
    json_decref(arr);
    gsl_rng_free(rng);
    config_free(cfg);
    config_free(bad);
}

/* The property: from x = 0 and x = 1, six sequential suggestions
 * on (x - 0.3)^2 (or its negation, maximized) reach loss < 0.001; the
 * metric the runs report is the loss times scale. */
static int reaches(const char *yaml, double sign, double scale,
                   unsigned long seed) {
    struct sweep_config *cfg = load(yaml);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    json_t *arr = json_array();
    double best = HUGE_VAL;

    gsl_rng_set(rng, seed);
    for (int i = 0; i < 2; i++) {
        json_t *f = json_pack("{s:f}", "x", (double)i);
        add_run(cfg, arr, f, "finished",
                sign * scale * (i - 0.3) * (i - 0.3));
        json_decref(f);
    }
    for (int s = 0; s < 6; s++) {
        struct runs *runs = to_runs(arr);
        json_t *out = json_array();
        char err[256] = "";
        double x, loss;
        if (bayes_suggest(cfg, runs, 1, rng, out, err, sizeof(err)) != 1) {
            fprintf(stderr, "  suggest: %s\n", err);
            runs_free(runs);
            json_decref(out);
            break;
        }
        x = json_number_value(json_object_get(json_array_get(out, 0), "x"));
        loss = (x - 0.3) * (x - 0.3);
        best = fmin(best, loss);
        add_run(cfg, arr, json_array_get(out, 0), "finished",
                sign * scale * loss);
        runs_free(runs);
        json_decref(out);
    }
    json_decref(arr);
    gsl_rng_free(rng);
    config_free(cfg);
    return best < 0.001;
}

static void test_property_parabola(void) {
    const char *min_yaml =
        "method: bayes\nmetric: {name: loss, goal: minimize}\n"
        "parameters:\n  x: {min: 0.0, max: 1.0}\n";
    const char *max_yaml =
        "method: bayes\nmetric: {name: loss, goal: maximize}\n"
        "parameters:\n  x: {min: 0.0, max: 1.0}\n";
    int ok = 0, okmax = 0;

    for (unsigned long seed = 1; seed <= 5; seed++) {
        ok += reaches(min_yaml, 1, 1, seed);
        okmax += reaches(max_yaml, -1, 1, seed);
    }
    printf("     parabola: %d/5 seeds minimize, %d/5 maximize\n", ok, okmax);
    CHECK(ok >= 4);
    CHECK(okmax >= 4);
}

/* The model is scale-free: a metric in units of 1e-300 or 1e200 (its
 * squares underflow or overflow a double) searches as well as one near
 * 1, and one diverged run (1e300) among ordinary ones does not stop the
 * search. */
static void test_extreme_scales(void) {
    static const double scales[] = {1e-300, 1e200};
    const char *yaml = "method: bayes\nmetric: {name: loss, goal: minimize}\n"
                       "parameters:\n  x: {min: 0.0, max: 1.0}\n";
    struct sweep_config *cfg = load(yaml);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    json_t *arr = json_array(), *out = json_array();
    struct runs *runs;
    char err[256] = "";

    for (size_t k = 0; k < sizeof(scales) / sizeof(*scales); k++) {
        int ok = 0;
        for (unsigned long seed = 1; seed <= 5; seed++)
            ok += reaches(yaml, 1, scales[k], seed);
        printf("     parabola times %g: %d/5 seeds\n", scales[k], ok);
        CHECK(ok >= 4);
    }
    gsl_rng_set(rng, 1);
    for (int i = 0; i < 8; i++) {
        json_t *f = json_pack("{s:f}", "x", i / 8.0);
        add_run(cfg, arr, f, "finished", i == 3 ? 1e300 : i);
        json_decref(f);
    }
    runs = to_runs(arr);
    CHECK_INT(bayes_suggest(cfg, runs, 2, rng, out, err, sizeof(err)), 2);
    if (*err)
        fprintf(stderr, "  suggest: %s\n", err);
    runs_free(runs);
    json_decref(out);
    json_decref(arr);
    gsl_rng_free(rng);
    config_free(cfg);
}

/* The hyperparameter cache: a cold fit first, the same observations
 * again reuse it, one more run warm-starts, a doubled history or a
 * cleared cache fits cold again; and a cleared cache makes a seed
 * reproduce its suggestion exactly. */
static void test_fit_cache(void) {
    struct sweep_config *cfg = load("method: bayes\nmetric: {name: loss}\n"
                                    "parameters:\n  x: {min: 0.0, max: 1.0}\n"
                                    "  y: {min: 0.0, max: 1.0}\n");
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    json_t *arr = json_array(), *out = json_array(), *first = NULL;
    struct bayes_fit_counts fc;
    char err[256];

    CHECK(cfg != NULL);
    if (!cfg)
        return;
    gsl_rng_set(rng, 3);
    for (int i = 0; i < 30; i++) {
        json_t *flat = space_sample(cfg, rng, NULL, NULL);
        double x = json_real_value(json_object_get(flat, "x"));
        add_run(cfg, arr, flat, "finished", (x - 0.3) * (x - 0.3));
        json_decref(flat);
    }
    {
        struct runs *r = to_runs(arr);
        bayes_cache_clear();
        gsl_rng_set(rng, 11);
        CHECK_INT(bayes_suggest(cfg, r, 1, rng, out, err, sizeof(err)), 1);
        first = json_deep_copy(json_array_get(out, 0));
        CHECK_INT(bayes_suggest(cfg, r, 1, rng, out, err, sizeof(err)), 1);
        bayes_fit_counts(&fc);
        CHECK_INT(fc.cold, 1);
        CHECK_INT(fc.reused, 1);
        CHECK_INT(fc.warm, 0);
        bayes_cache_clear();
        gsl_rng_set(rng, 11);
        json_array_clear(out);
        CHECK_INT(bayes_suggest(cfg, r, 1, rng, out, err, sizeof(err)), 1);
        CHECK(json_equal(first, json_array_get(out, 0)));
        runs_free(r);
    }
    for (int k = 0; k < 40; k++) {
        json_t *flat = space_sample(cfg, rng, NULL, NULL);
        struct runs *r;
        add_run(cfg, arr, flat, "finished", 0.5);
        json_decref(flat);
        r = to_runs(arr);
        CHECK_INT(bayes_suggest(cfg, r, 1, rng, out, err, sizeof(err)), 1);
        runs_free(r);
    }
    bayes_fit_counts(&fc);
    /* 31..59 runs warm (29), 60 doubled the cold fit's 30: cold, then warm */
    CHECK_INT(fc.cold, 2);
    CHECK_INT(fc.warm, 39);
    json_decref(first);
    json_decref(out);
    json_decref(arr);
    gsl_rng_free(rng);
    config_free(cfg);
}

int main(void) {
    gsl_set_error_handler_off();
    TEST_RUN(test_fit_cache);
    TEST_RUN(test_mixed_space);
    TEST_RUN(test_initial_and_states);
    TEST_RUN(test_in_flight);
    TEST_RUN(test_in_flight_no_repeat);
    TEST_RUN(test_many_runs);
    TEST_RUN(test_needs_metric);
    TEST_RUN(test_property_parabola);
    TEST_RUN(test_extreme_scales);
    TEST_RUN(test_extreme_distributions);
    return TEST_DONE();
}

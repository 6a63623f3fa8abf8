/*
 * bench_quality.c - search quality of method: bayes (issue 4) on the four
 * functions of shared/bench/FUNCTIONS.md, minimised: regret (best found
 * minus the optimum), median [q1, q3] over seeds 1..N at 25, 50 and 100
 * evaluations, one worker, for random and bayes, next to the anchor rows
 * measured there; then regret at 50 evaluations with 4 workers simulated
 * (every suggestion made with 3 runs in flight), against one worker.
 *
 * Env: BENCH_QUALITY_SEEDS (default 20) for quick runs;
 * BENCH_QUALITY_PAR_SEEDS (default 180; at least the former): the seeds of
 * the second parallel table, on which its goal is judged;
 * BENCH_QUALITY_FUNCTIONS, a comma-separated list of function names
 * (default all), for tests/bench/bench_quality_local.sh.
 */
#include <gsl/gsl_errno.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bayes.h"
#include "config.h"
#include "runs.h"
#include "search.h"
#include "space.h"

#define NCHECK 3  /* regret is read after 25, 50 and 100 evaluations */
#define NANCHOR 4 /* anchor rows per function in FUNCTIONS.md */
#define MAX_EVALS 100
#define PAR_WORKERS 4
#define PAR_EVALS 50
#define MAX_SEEDS 1000

static const int checkpoints[NCHECK] = {25, 50, 100};

/* One row of FUNCTIONS.md, its cells as written there. */
struct anchor {
    const char *method;
    const char *cells[NCHECK];
    double at50; /* the median @50, for the verdict */
};

struct bench_fn {
    const char *name;
    const char *params; /* the config's parameters block */
    double (*f)(const json_t *flat);
    double opt;
    struct anchor anchors[NANCHOR];
};

/* Regrets of one method on one function: [checkpoint][seed]. */
struct regrets {
    double at[NCHECK][MAX_SEEDS];
};

/* Seconds spent in search_suggest(), and how many calls. */
struct clock {
    double secs;
    long calls;
};

static double now_s(void) {
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double num(const json_t *p, const char *key) {
    return json_number_value(json_object_get(p, key));
}

static double branin_f(const json_t *p) {
    double x1 = num(p, "x1"), x2 = num(p, "x2");
    double b = 5.1 / (4 * M_PI * M_PI), c = 5 / M_PI, t = 1 / (8 * M_PI);
    double a = x2 - b * x1 * x1 + c * x1 - 6;

    return a * a + 10 * (1 - t) * cos(x1) + 10;
}

static double hartmann6_f(const json_t *p) {
    static const double alpha[4] = {1.0, 1.2, 3.0, 3.2};
    static const double A[4][6] = {{10, 3, 17, 3.5, 1.7, 8},
                                   {0.05, 10, 17, 0.1, 8, 14},
                                   {3, 3.5, 1.7, 10, 17, 8},
                                   {17, 8, 0.05, 10, 0.1, 14}};
    static const double P[4][6] = {{1312, 1696, 5569, 124, 8283, 5886},
                                   {2329, 4135, 8307, 3736, 1004, 9991},
                                   {2348, 1451, 3522, 2883, 3047, 6650},
                                   {4047, 8828, 8732, 5743, 1091, 381}};
    static const char *keys[6] = {"x1", "x2", "x3", "x4", "x5", "x6"};
    double f = 0;

    for (int i = 0; i < 4; i++) {
        double s = 0;
        for (int j = 0; j < 6; j++) {
            double d = num(p, keys[j]) - 1e-4 * P[i][j];
            s += A[i][j] * d * d;
        }
        f -= alpha[i] * exp(-s);
    }
    return f;
}

static double rosenbrock4_f(const json_t *p) {
    static const char *keys[4] = {"x1", "x2", "x3", "x4"};
    double f = 0;

    for (int i = 0; i < 3; i++) {
        double x = num(p, keys[i]), y = num(p, keys[i + 1]);
        f += 100 * (y - x * x) * (y - x * x) + (1 - x) * (1 - x);
    }
    return f;
}

static double mixed_f(const json_t *p) {
    static const char *acts[] = {"relu", "tanh", "sigmoid", "gelu"};
    static const double shift[] = {1, -2, 3, 0}, off[] = {0, 0.3, 0.8, 0.1};
    double x = num(p, "x"), u = log10(num(p, "lr")), k = num(p, "k");
    const char *a = json_string_value(json_object_get(p, "act"));
    int i = 0;

    while (i < 3 && strcmp(a, acts[i]))
        i++;
    x -= shift[i];
    return x * x + 0.5 * (1 - cos(2 * M_PI * x)) + (u + 2.5) * (u + 2.5) +
           0.05 * (k - 13) * (k - 13) + off[i];
}

#define UNI(name, lo, hi)                                                      \
    "  " name ": {distribution: uniform, min: " lo ", max: " hi "}\n"

static const struct bench_fn fns[] = {
    {"branin",
     UNI("x1", "-5.0", "10.0") UNI("x2", "0.0", "15.0"),
     branin_f,
     0.397887357729739,
     {{"random",
       {"1.437 [0.516, 1.93]", "0.722 [0.375, 1.28]", "0.385 [0.157, 0.66]"},
       0.722},
      {"Optuna 3.1 TPE",
       {"0.582 [0.244, 1.14]", "0.172 [0.109, 0.202]",
        "0.0121 [0.0062, 0.031]"},
       0.172},
      {"W&B-style bayes",
       {"0.0628 [0.034, 0.18]", "0.0065 [0.0033, 0.011]",
        "0.00062 [0.00035, 0.0016]"},
       0.0065},
      {"GP-EI, ARD Matern 5/2 (sklearn)",
       {"0.0153 [0.0087, 0.026]", "0.00088 [0.0003, 0.0015]",
        "0.00027 [0.00016, 0.0005]"},
       0.00088}}},
    {"hartmann6",
     UNI("x1", "0.0", "1.0") UNI("x2", "0.0", "1.0") UNI("x3", "0.0", "1.0")
         UNI("x4", "0.0", "1.0") UNI("x5", "0.0", "1.0")
             UNI("x6", "0.0", "1.0"),
     hartmann6_f,
     -3.32236801141551,
     {{"random", {"2.245", "1.767", "1.46"}, 1.767},
      {"Optuna 3.1 TPE", {"1.388", "0.562", "0.254"}, 0.562},
      {"W&B-style bayes", {"0.666", "0.338", "0.228"}, 0.338},
      {"GP-EI ARD", {"0.838", "0.228", "0.191"}, 0.228}}},
    {"rosenbrock4",
     UNI("x1", "-5.0", "10.0") UNI("x2", "-5.0", "10.0")
         UNI("x3", "-5.0", "10.0") UNI("x4", "-5.0", "10.0"),
     rosenbrock4_f,
     0,
     {{"random", {"8046", "1472", "933"}, 1472},
      {"Optuna 3.1 TPE", {"1209", "322", "61.2"}, 322},
      {"W&B-style bayes", {"885", "391", "141"}, 391},
      {"GP-EI ARD", {"1148", "520", "38.0"}, 520}}},
    {"mixed",
     "  x: {min: -5.0, max: 5.0}\n"
     "  lr: {distribution: log_uniform_values, min: 1e-5, max: 1.0}\n"
     "  k: {min: 1, max: 32}\n"
     "  act: {values: [relu, tanh, sigmoid, gelu]}\n",
     mixed_f,
     0,
     {{"random", {"2.43", "1.536", "1.365"}, 1.536},
      {"Optuna 3.1 TPE", {"1.758", "0.852", "0.207"}, 0.852},
      {"W&B-style bayes", {"0.876", "0.277", "0.214"}, 0.277},
      {"GP-EI ARD", {"1.425", "0.214", "0.0605"}, 0.214}}},
};
#define NFNS (sizeof(fns) / sizeof(fns[0]))

static struct sweep_config *load_config(const struct bench_fn *fn,
                                        const char *method) {
    struct sweep_config *cfg;
    struct diags d;
    char *yaml = NULL;

    if (asprintf(
            &yaml,
            "method: %s\nmetric: {name: loss, goal: minimize}\nparameters:\n%s",
            method, fn->params) < 0)
        return NULL;
    diags_init(&d, fn->name);
    cfg = config_load_buffer(yaml, strlen(yaml), fn->name, &d);
    diags_release(&d);
    free(yaml);
    return cfg;
}

/* One suggestion given the runs so far (a JSON array as RUNS.json holds
 * it); returns its flat params (caller decrefs). Only the library call is
 * timed. */
static json_t *suggest(const struct sweep_config *cfg, const json_t *arr,
                       gsl_rng *rng, struct clock *ck) {
    json_t *out = json_array(), *p;
    struct runs *r = NULL;
    char err[256];
    double t0;
    long n;

    if (runs_from_json(arr, &r, err, sizeof(err))) {
        fprintf(stderr, "bench_quality: %s\n", err);
        exit(1);
    }
    t0 = now_s();
    n = search_suggest(cfg, r, 1, rng, out, err, sizeof(err));
    ck->secs += now_s() - t0;
    ck->calls++;
    runs_free(r);
    if (n != 1) {
        fprintf(stderr, "bench_quality: search_suggest returned %ld: %s\n", n,
                err);
        exit(1);
    }
    p = json_incref(json_array_get(out, 0));
    json_decref(out);
    return p;
}

/* A run in flight: running, no history (the library treats it as pending). */
static json_t *run_running(const struct sweep_config *cfg, const json_t *flat) {
    return json_pack("{s:s,s:o,s:[]}", "state", "running", "params",
                     space_nest(cfg, flat), "history");
}

static void run_finish(json_t *run, double loss) {
    json_object_set_new(run, "state", json_string("finished"));
    json_object_set_new(run, "history", json_pack("[{s:f}]", "loss", loss));
}

/* One worker: evaluations 1..MAX_EVALS, each suggested with all previous
 * runs finished; regret after each checkpoint into out[c][s]. */
static void run_sequential(const struct bench_fn *fn,
                           const struct sweep_config *cfg, unsigned long seed,
                           struct regrets *out, size_t s, struct clock *ck) {
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    json_t *arr = json_array();
    double best = HUGE_VAL;
    int c = 0;

    gsl_rng_set(rng, seed);
    bayes_cache_clear(); /* each seed as in its own process */
    for (int e = 1; e <= MAX_EVALS; e++) {
        json_t *p = suggest(cfg, arr, rng, ck), *run = run_running(cfg, p);
        double v = fn->f(p);
        run_finish(run, v);
        json_array_append_new(arr, run);
        json_decref(p);
        best = fmin(best, v);
        if (c < NCHECK && e == checkpoints[c])
            out->at[c++][s] = best - fn->opt;
    }
    json_decref(arr);
    gsl_rng_free(rng);
}

/* PAR_WORKERS workers: a queue of that many runs in flight; the oldest
 * finishes, then the next is suggested with the others still running.
 * curve[e - 1] gets the regret after e finished runs, e = 1..MAX_EVALS;
 * returns the regret after PAR_EVALS. */
static double run_parallel(const struct bench_fn *fn,
                           const struct sweep_config *cfg, unsigned long seed,
                           struct clock *ck, double *curve) {
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    json_t *arr = json_array();
    double vals[MAX_EVALS], best = HUGE_VAL;
    size_t asked = 0, done = 0;

    gsl_rng_set(rng, seed);
    bayes_cache_clear(); /* each seed as in its own process */
    while (done < MAX_EVALS) {
        while (asked < MAX_EVALS && asked - done < PAR_WORKERS) {
            json_t *p = suggest(cfg, arr, rng, ck);
            vals[asked++] = fn->f(p); /* known to us, hidden from the library */
            json_array_append_new(arr, run_running(cfg, p));
            json_decref(p);
        }
        run_finish(json_array_get(arr, done), vals[done]);
        best = fmin(best, vals[done++]);
        curve[done - 1] = best - fn->opt;
    }
    json_decref(arr);
    gsl_rng_free(rng);
    return curve[PAR_EVALS - 1];
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The p-quantile of sorted v[0..n-1] with linear interpolation between
 * closest ranks: numpy's default (method "linear"). */
static double quantile(const double *v, size_t n, double p) {
    double h = (double)(n - 1) * p;
    size_t lo = (size_t)floor(h);

    return lo + 1 < n ? v[lo] + (h - (double)lo) * (v[lo + 1] - v[lo])
                      : v[n - 1];
}

/* Sorts v in place; q[0..2] = q1, median, q3. */
static void quartiles(double *v, size_t n, double q[3]) {
    qsort(v, n, sizeof(double), cmp_d);
    q[0] = quantile(v, n, 0.25);
    q[1] = quantile(v, n, 0.5);
    q[2] = quantile(v, n, 0.75);
}

/* Three significant digits, or whole numbers from 1000 on (as FUNCTIONS.md
 * writes them). */
static const char *fmt_num(char *buf, size_t size, double v) {
    snprintf(buf, size, fabs(v) >= 1000 ? "%.0f" : "%.3g", v);
    return buf;
}

/* "median [q1, q3]" of v (sorted in place); *median gets the median. */
static const char *fmt_cell(char *buf, size_t size, double *v, size_t n,
                            double *median) {
    double q[3];
    char a[32], b[32], c[32];

    quartiles(v, n, q);
    if (median)
        *median = q[1];
    snprintf(buf, size, "%s [%s, %s]", fmt_num(a, sizeof(a), q[1]),
             fmt_num(b, sizeof(b), q[0]), fmt_num(c, sizeof(c), q[2]));
    return buf;
}

/* One table row of ours; bayes50 (if given) gets the median @50. */
static void print_row(const char *fn, const char *method, struct regrets *r,
                      size_t n, double *bayes50) {
    char cell[128];

    printf("| %s | %s |", fn, method);
    for (int c = 0; c < NCHECK; c++)
        printf(" %s |", fmt_cell(cell, sizeof(cell), r->at[c], n,
                                 c == 1 ? bayes50 : NULL));
    printf("\n");
}

/* "beats all anchors", or the anchors whose median @50 is not above ours. */
static void print_verdict(const struct bench_fn *fn, double bayes50) {
    char a[32];
    int first = 1;

    for (int i = 0; i < NANCHOR; i++) {
        if (bayes50 < fn->anchors[i].at50)
            continue;
        printf("%s%s (%s)", first ? "does not beat: " : ", ",
               fn->anchors[i].method,
               fmt_num(a, sizeof(a), fn->anchors[i].at50));
        first = 0;
    }
    if (first)
        printf("beats all anchors");
}

static size_t seed_count(const char *var, size_t dflt) {
    const char *s = getenv(var);
    char *end;
    long n;

    if (!s || !*s)
        return dflt;
    n = strtol(s, &end, 10);
    if (*end || n < 1 || n > MAX_SEEDS) {
        fprintf(stderr, "bench_quality: %s must be 1 to %d\n", var, MAX_SEEDS);
        exit(2);
    }
    return (size_t)n;
}

/* Everything measured on one function. */
struct result {
    int on; /* selected by BENCH_QUALITY_FUNCTIONS */
    struct regrets rnd, bayes;
    double par[MAX_SEEDS];
    double parcurve[MAX_EVALS][MAX_SEEDS]; /* [evaluations - 1][seed] */
    struct clock seq_ck, par_ck;
};

/* Marks the functions BENCH_QUALITY_FUNCTIONS names (all when unset).
 * Returns how many are marked, or -1 for a name that is no function. */
static int select_functions(struct result *res) {
    const char *s = getenv("BENCH_QUALITY_FUNCTIONS");
    char *list = NULL, *name, *save = NULL;
    int n = 0;

    for (size_t i = 0; i < NFNS; i++)
        res[i].on = !s || !*s;
    if (!s || !*s)
        return (int)NFNS;
    if (!(list = strdup(s)))
        return -1;
    for (name = strtok_r(list, ",", &save); name;
         name = strtok_r(NULL, ",", &save)) {
        size_t i = 0;
        while (i < NFNS && strcmp(fns[i].name, name))
            i++;
        if (i == NFNS) {
            fprintf(
                stderr,
                "bench_quality: BENCH_QUALITY_FUNCTIONS: no function '%s'\n",
                name);
            n = -1;
            break;
        }
        n += !res[i].on;
        res[i].on = 1;
    }
    free(list);
    return n;
}

/* Seeds 1..nseeds: random and bayes with one worker (the quality
 * table); seeds 1..pseeds (pseeds >= nseeds): bayes with one worker and
 * with PAR_WORKERS (the parallel tables). */
static void measure(const struct bench_fn *fn, size_t nseeds, size_t pseeds,
                    struct result *res) {
    struct sweep_config *bayes = load_config(fn, "bayes"),
                        *rnd = load_config(fn, "random");
    struct clock rnd_ck = {0, 0};

    if (!bayes || !rnd) {
        fprintf(stderr, "bench_quality: %s: the config does not load\n",
                fn->name);
        exit(1);
    }
    for (size_t s = 0; s < pseeds; s++) {
        if (s < nseeds)
            run_sequential(fn, rnd, s + 1, &res->rnd, s, &rnd_ck);
        run_sequential(fn, bayes, s + 1, &res->bayes, s, &res->seq_ck);
        double curve[MAX_EVALS];
        res->par[s] = run_parallel(fn, bayes, s + 1, &res->par_ck, curve);
        for (int e = 0; e < MAX_EVALS; e++)
            res->parcurve[e][s] = curve[e];
    }
    config_free(bayes);
    config_free(rnd);
}

static void print_quality(struct result *res, size_t nseeds, double *bayes50) {
    printf("### Search quality: regret (best found minus optimum), median [q1, "
           "q3] over %zu "
           "seeds, one worker\n\n",
           nseeds);
    printf("Quartiles by linear interpolation between closest ranks (numpy's "
           "default).\n\n");
    printf("| function | method | @25 | @50 | @100 |\n|---|---|---|---|---|\n");
    for (size_t i = 0; i < NFNS; i++) {
        const struct bench_fn *fn = &fns[i];
        if (!res[i].on)
            continue;
        print_row(fn->name, "random (ours)", &res[i].rnd, nseeds, NULL);
        print_row(fn->name, "bayes (ours)", &res[i].bayes, nseeds, &bayes50[i]);
        for (int a = 0; a < NANCHOR; a++)
            printf("| %s | %s (anchor, from FUNCTIONS.md) | %s | %s | %s |\n",
                   fn->name, fn->anchors[a].method, fn->anchors[a].cells[0],
                   fn->anchors[a].cells[1], fn->anchors[a].cells[2]);
    }
    printf("\n| function | bayes @50 median | verdict (goal: beat every anchor "
           "@50) | "
           "ms per bayes suggestion, 1 worker | ms, 4 workers "
           "|\n|---|---|---|---|---|\n");
    for (size_t i = 0; i < NFNS; i++) {
        char a[32];
        if (!res[i].on)
            continue;
        printf("| %s | %s | ", fns[i].name, fmt_num(a, sizeof(a), bayes50[i]));
        print_verdict(&fns[i], bayes50[i]);
        printf(" | %.1f | %.1f |\n",
               1000 * res[i].seq_ck.secs / (double)res[i].seq_ck.calls,
               1000 * res[i].par_ck.secs / (double)res[i].par_ck.calls);
    }
}

/* The first evaluation count at which the median (over seeds) of the
 * parallel regret is at most target: how many evaluations 4 workers
 * spend for what one worker reaches in PAR_EVALS. */
static void print_match(double (*curve)[MAX_SEEDS], size_t nseeds,
                        double target) {
    for (int e = 0; e < MAX_EVALS; e++) {
        double q[3];
        quartiles(curve[e], nseeds, q);
        if (q[1] <= target) {
            printf("%d evaluations (%.2fx) |\n", e + 1,
                   (double)(e + 1) / PAR_EVALS);
            return;
        }
    }
    printf("more than %d evaluations |\n", MAX_EVALS);
}

/* The parallel table over seeds 1..nseeds (the quartiles sort each
 * array's first nseeds in place, which keeps the set of any longer
 * prefix, so a table over more seeds can follow). */
static void print_parallel(struct result *res, size_t nseeds) {
    printf("\n### Parallel: bayes regret @%d with %d workers simulated (each "
           "suggestion made "
           "with %d runs in flight), %zu seeds\n\n",
           PAR_EVALS, PAR_WORKERS, PAR_WORKERS - 1, nseeds);
    printf("| function | 1 worker @50 | %d workers @50 | ratio of medians | "
           "goal | %d workers reach the 1-worker @50 median after |\n"
           "|---|---|---|---|---|---|\n",
           PAR_WORKERS, PAR_WORKERS);
    for (size_t i = 0; i < NFNS; i++) {
        char seq[128], par[128];
        double med, seqmed;
        if (!res[i].on)
            continue;
        fmt_cell(seq, sizeof(seq), res[i].bayes.at[1], nseeds, &seqmed);
        fmt_cell(par, sizeof(par), res[i].par, nseeds, &med);
        printf("| %s | %s | %s | ", fns[i].name, seq, par);
        if (seqmed > 0)
            printf("%.2f | <= 1.5 | ", med / seqmed);
        else
            printf("- | <= 1.5 | ");
        print_match(res[i].parcurve, nseeds, seqmed);
    }
}

int main(void) {
    size_t nseeds = seed_count("BENCH_QUALITY_SEEDS", 20);
    size_t pseeds = seed_count("BENCH_QUALITY_PAR_SEEDS", 180);
    struct result *res = calloc(NFNS, sizeof(*res));
    double bayes50[NFNS], t0 = now_s();

    if (!res)
        return 1;
    if (select_functions(res) <= 0) {
        free(res);
        return 2;
    }
    gsl_set_error_handler_off();
    if (pseeds < nseeds)
        pseeds = nseeds;
    for (size_t i = 0; i < NFNS; i++)
        if (res[i].on)
            measure(&fns[i], nseeds, pseeds, &res[i]);
    print_quality(res, nseeds, bayes50);
    print_parallel(res, nseeds);
    if (pseeds > nseeds) {
        printf("\nThe same over %zu seeds: with %zu, one or two seeds move "
               "a median far (hartmann6's between its two minima), so the "
               "goal is judged on this table.\n",
               pseeds, nseeds);
        print_parallel(res, pseeds);
    }
    printf("\nWall time: %.1f s (%zu seeds: random and bayes to %d evaluations "
           "with 1 worker; %zu seeds: bayes to %d with 1 and with %d).\n",
           now_s() - t0, nseeds, MAX_EVALS, pseeds, MAX_EVALS, PAR_WORKERS);
    free(res);
    return 0;
}

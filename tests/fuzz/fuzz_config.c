/*
 * fuzz_config.c - libFuzzer target for the config loader and everything a
 * loaded config feeds: diagnostics formatting, grid enumeration, random
 * sampling and the flat <-> nested reshaping of a point.
 *
 * Besides crashes, leaks and hangs it checks the loader's contract: a
 * config comes back exactly when the file has no errors. A bayes config
 * gets prior runs (random points, every run state, metric values drawn
 * from the input: spread, all equal, from 1e-300 to 1e300, or ties) and
 * must then make every suggestion asked, each a real point of its space.
 *
 * Linked with replay.c instead of libFuzzer it replays tests/fuzz/corpus
 * and tests/fuzz/regressions under the normal (or asan) build.
 */
#include <gsl/gsl_errno.h>
#include <gsl/gsl_rng.h>
#include <jansson.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "diag.h"
#include "fuzz.h"
#include "grid.h"
#include "runs.h"
#include "sbuf.h"
#include "search.h"
#include "space.h"
#include "sweep.h"

#define FUZZ_GRID_POINTS 50
#define FUZZ_RANDOM_RUNS 3
#define FUZZ_SEED 20240611UL
#define FUZZ_BAYES_RUNS 12 /* past the 10 random points at most: the GP */
#define FUZZ_BAYES_COUNT 3

/* What replay.c runs with no arguments. */
const char *const fuzz_replay_paths[] = {"tests/fuzz/corpus",
                                         "tests/fuzz/regressions", NULL};

static void fuzz_diags(const struct diags *d) {
    struct sbuf sb = SBUF_INIT;

    FUZZ_CHECK(d->n <= DIAGS_MAX);
    FUZZ_CHECK(d->n <= d->nerrors + d->nwarnings);
    for (size_t i = 0; i < d->n; i++) {
        sbuf_reset(&sb);
        diags_format(d, i, &sb);
        FUZZ_CHECK(sbuf_oom(&sb) || strlen(sbuf_str(&sb)) == sb.len);
        if (i > 0) /* config_load_buffer() sorts them */
            FUZZ_CHECK(d->v[i - 1].line < d->v[i].line ||
                       (d->v[i - 1].line == d->v[i].line &&
                        d->v[i - 1].col <= d->v[i].col));
    }
    sbuf_release(&sb);
}

/* A point must nest and flatten back to itself. */
static void fuzz_reshape(const struct sweep_config *cfg, const json_t *flat) {
    json_t *nested = space_nest(cfg, flat);
    json_t *back = nested ? space_flatten(cfg, nested) : NULL;

    if (back)
        FUZZ_CHECK(json_equal(back, (json_t *)flat));
    json_decref(back);
    json_decref(nested);
}

static void fuzz_grid(const struct sweep_config *cfg) {
    char errstr[256];
    struct grid *g = NULL;
    size_t cursor = 0, made = 0;

    if (grid_new(cfg, &g, errstr, sizeof(errstr)) < 0)
        return;
    FUZZ_CHECK(grid_size(g) >= 1);
    while (made < FUZZ_GRID_POINTS) {
        json_t *p = grid_next(g, &cursor);
        if (!p)
            break;
        made++;
        FUZZ_CHECK(json_object_size(p) == cfg->nparams);
        if (made == 1) {
            fuzz_reshape(cfg, p);
            FUZZ_CHECK(grid_cover(g, p) == 1); /* a point of the grid */
            FUZZ_CHECK(grid_cover(g, p) == 0); /* and only once */
        }
        json_decref(p);
    }
    FUZZ_CHECK(made <= grid_size(g));
    FUZZ_CHECK(made == FUZZ_GRID_POINTS || made == grid_size(g));
    grid_free(g);
}

static void fuzz_random(const struct sweep_config *cfg) {
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    json_t *out = json_array();
    char errstr[256];
    long n;

    if (!rng || !out)
        goto out;
    gsl_rng_set(rng, FUZZ_SEED);
    n = search_suggest(cfg, NULL, FUZZ_RANDOM_RUNS, rng, out, errstr,
                       sizeof(errstr));
    if (n >= 0) {
        FUZZ_CHECK((size_t)n == json_array_size(out));
        FUZZ_CHECK(n <= FUZZ_RANDOM_RUNS);
    }
    if (json_array_size(out) > 0)
        fuzz_reshape(cfg, json_array_get(out, 0));
out:
    json_decref(out);
    gsl_rng_free(rng);
}

/* A metric value for prior run i, of the kind the input's first byte
 * picks. */
static double fuzz_value(const uint8_t *data, size_t size, size_t i) {
    unsigned h = 2166136261u;
    double u;

    for (size_t k = 0; k < size && k < 64; k++)
        h = (h ^ data[k]) * 16777619u;
    h = (h ^ (unsigned)i) * 16777619u;
    u = (double)(h % 100000) / 100000.0;
    switch (size ? data[0] % 4 : 0) {
    case 0:
        return u * 10 - 5;
    case 1:
        return 0.25;
    case 2:
        return (i % 2 ? -1 : 1) * pow(10, 600 * u - 300);
    default:
        return (double)(h % 3);
    }
}

/* Prior runs for a bayes config: FUZZ_BAYES_RUNS random points, most
 * finished with a history and a summary, the rest in the other states. */
static json_t *fuzz_prior(const struct sweep_config *cfg, gsl_rng *rng,
                          const uint8_t *data, size_t size) {
    static const char *states[] = {"finished", "finished", "finished",
                                   "running",  "failed",   "pending",
                                   "finished", "preempted"};
    json_t *arr = json_array();

    for (size_t i = 0; arr && i < FUZZ_BAYES_RUNS; i++) {
        int err = 0;
        json_t *flat = space_sample(cfg, rng, &err, NULL);
        json_t *nested = flat ? space_nest(cfg, flat) : NULL;
        json_t *run = json_object(), *point = json_object();
        const char *st = states[i % (sizeof(states) / sizeof(*states))];
        if (run && point && nested) {
            json_object_set_new(point, cfg->metric.name,
                                json_real(fuzz_value(data, size, i)));
            json_object_set_new(run, "name", json_sprintf("r%zu", i));
            json_object_set_new(run, "state", json_string(st));
            json_object_set(run, "params", nested);
            json_object_set_new(run, "history", json_pack("[O]", point));
            json_object_set(run, "summary", point);
            json_array_append(arr, run);
        }
        json_decref(run);
        json_decref(point);
        json_decref(nested);
        json_decref(flat);
    }
    return arr;
}

static void fuzz_bayes(const struct sweep_config *cfg, const uint8_t *data,
                       size_t size) {
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    json_t *out = json_array(), *arr = NULL;
    struct runs *prior = NULL;
    char errstr[256];
    long n, want = FUZZ_BAYES_COUNT; /* run_cap permitting */

    if (!rng || !out || !cfg->metric.name)
        goto out;
    gsl_rng_set(rng, FUZZ_SEED);
    arr = fuzz_prior(cfg, rng, data, size);
    if (!arr)
        goto out;
    if (runs_from_json(arr, &prior, errstr, sizeof(errstr)) != 0)
        fprintf(stderr, "fuzz_config: %s\n", errstr);
    FUZZ_CHECK(prior != NULL); /* the runs are points of the space */
    n = search_suggest(cfg, prior, FUZZ_BAYES_COUNT, rng, out, errstr,
                       sizeof(errstr));
    if (cfg->run_cap > 0 && (size_t)cfg->run_cap < prior->n + FUZZ_BAYES_COUNT)
        want = (size_t)cfg->run_cap > prior->n ? cfg->run_cap - prior->n : 0;
    /* A config that loaded, runs of its own space: every suggestion,
     * unless a parameter's draws overflow a double (random fails too). */
    if (n == SWEEP_ERANGE && strstr(errstr, "is not a finite number"))
        goto out;
    if (n < 0)
        fprintf(stderr, "fuzz_config: %s\n", errstr);
    FUZZ_CHECK(n == want);
    FUZZ_CHECK(json_array_size(out) == (size_t)want);
    for (size_t i = 0; i < json_array_size(out); i++) {
        const json_t *p = json_array_get(out, i);
        FUZZ_CHECK(json_object_size(p) == cfg->nparams);
        fuzz_reshape(cfg, p);
    }
out:
    runs_free(prior);
    json_decref(arr);
    json_decref(out);
    gsl_rng_free(rng);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    gsl_set_error_handler_off();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct diags d;
    struct sweep_config *cfg;

    diags_init(&d, "fuzz.yaml");
    cfg = config_load_buffer((const char *)data, size, "fuzz.yaml", &d);
    if (cfg)
        FUZZ_CHECK(d.nerrors == 0 && !d.oom);
    else
        FUZZ_CHECK(d.nerrors > 0 || d.oom);
    fuzz_diags(&d);
    if (cfg && cfg->method == METHOD_GRID)
        fuzz_grid(cfg);
    else if (cfg && cfg->method == METHOD_RANDOM)
        fuzz_random(cfg);
    else if (cfg && cfg->method == METHOD_BAYES)
        fuzz_bayes(cfg, data, size);
    config_free(cfg);
    diags_release(&d);
    return 0;
}

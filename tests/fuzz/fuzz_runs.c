/*
 * fuzz_runs.c - libFuzzer target for prior runs: the RUNS.json of
 * `sweep plan --runs` (read by runs_load_buffer(), the parser behind
 * runs_load_file(), bare NaN and Infinity included) and what bayes makes of them. The input is the file; it is
 * planned against two fixed bayes configs, a minimised mixed space with
 * nested parameters and every kind of coordinate, and a maximised one
 * with impute: best and impute_while_running: latest.
 *
 * Besides crashes, leaks and hangs it checks: a refusal says why, a
 * loaded file plans (any run that does not fit the space is left out,
 * never an error), and every suggestion is a whole point of the space.
 *
 * Linked with replay.c instead of libFuzzer it replays tests/fuzz/runs
 * under the normal (or asan) build.
 */
#include <gsl/gsl_errno.h>
#include <gsl/gsl_rng.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "diag.h"
#include "fuzz.h"
#include "runs.h"
#include "search.h"
#include "space.h"

#define FUZZ_COUNT 2
#define FUZZ_SEED 20261128UL

const char *const fuzz_replay_paths[] = {"tests/fuzz/runs", NULL};

static const char *const yamls[] = {
    "method: bayes\n"
    "metric: {name: loss, goal: minimize}\n"
    "parameters:\n"
    "  u: {min: -1.0, max: 3.0}\n"
    "  i: {min: 2, max: 9}\n"
    "  q: {distribution: q_uniform, min: 0.0, max: 2.0, q: 0.25}\n"
    "  lr: {distribution: log_uniform_values, min: 0.0001, max: 0.1}\n"
    "  c: {values: [a, b, c]}\n"
    "  n: {distribution: normal, mu: 5, sigma: 2}\n"
    "  k: {value: fixed}\n"
    "  opt:\n"
    "    parameters:\n"
    "      mom: {min: 0.5, max: 0.99}\n",
    "method: bayes\n"
    "metric: {name: acc, goal: maximize, impute: best,\n"
    "         impute_while_running: latest}\n"
    "parameters:\n"
    "  w: {values: [1, 2], probabilities: [0.3, 0.7]}\n"
    "  b: {distribution: beta, a: 2, b: 3}\n"
    "  ql: {distribution: q_log_uniform_values, min: 1, max: 1024, q: 1}\n",
};
#define NCONFIGS (sizeof(yamls) / sizeof(*yamls))

static struct sweep_config *cfgs[NCONFIGS];

/* At exit: the leak check at the end then sees only real leaks. */
static void fuzz_runs_done(void) {
    for (size_t i = 0; i < NCONFIGS; i++)
        config_free(cfgs[i]);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    gsl_set_error_handler_off();
    for (size_t i = 0; i < NCONFIGS; i++) {
        struct diags d;
        diags_init(&d, "fuzz.yaml");
        cfgs[i] = config_load_buffer(yamls[i], strlen(yamls[i]), "fuzz.yaml",
                                     &d);
        diags_release(&d);
        FUZZ_CHECK(cfgs[i] != NULL);
    }
    atexit(fuzz_runs_done);
    return 0;
}

static void fuzz_plan(const struct sweep_config *cfg, const struct runs *r) {
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    json_t *out = json_array();
    char errstr[256] = "";
    long n;

    FUZZ_CHECK(rng && out);
    gsl_rng_set(rng, FUZZ_SEED);
    n = search_suggest(cfg, r, FUZZ_COUNT, rng, out, errstr, sizeof(errstr));
    if (n < 0)
        fprintf(stderr, "fuzz_runs: %s\n", errstr);
    FUZZ_CHECK(n == FUZZ_COUNT && json_array_size(out) == FUZZ_COUNT);
    for (size_t i = 0; i < json_array_size(out); i++) {
        const json_t *p = json_array_get(out, i);
        json_t *nested = space_nest(cfg, p);
        FUZZ_CHECK(json_object_size(p) == cfg->nparams);
        FUZZ_CHECK(nested != NULL);
        json_decref(nested);
    }
    json_decref(out);
    gsl_rng_free(rng);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct runs *r = NULL;
    char errstr[512] = "";

    if (runs_load_buffer((const char *)data, size, "RUNS.json", &r, errstr,
                         sizeof(errstr)) != 0) {
        FUZZ_CHECK(r == NULL && errstr[0] != '\0');
        return 0;
    }
    FUZZ_CHECK(r != NULL);
    for (size_t i = 0; i < NCONFIGS; i++)
        fuzz_plan(cfgs[i], r);
    runs_free(r);
    return 0;
}

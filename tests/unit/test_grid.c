/* test_grid.c - grid order, value dedupe, coverage, exhaustion, run_cap,
 * and random reproducibility through search_suggest(). */
#include <gsl/gsl_errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "grid.h"
#include "runs.h"
#include "search.h"
#include "sbuf.h"
#include "test.h"
#include "value.h"

static struct sweep_config *load(const char *yaml) {
    struct diags d;
    struct sweep_config *c;

    diags_init(&d, "t.yaml");
    c = config_load_buffer(yaml, strlen(yaml), "t.yaml", &d);
    diags_print(&d, stderr);
    diags_release(&d);
    return c;
}

/* The points as compact Python-ish text, "a=1 b=x;a=1 b=y;..." */
static char *points_text(const json_t *arr) {
    struct sbuf sb = SBUF_INIT;
    const char *k;
    json_t *p, *v;
    size_t i;

    json_array_foreach(arr, i, p) {
        int first = 1;
        if (i)
            sbuf_addc(&sb, ';');
        json_object_foreach(p, k, v) {
            sbuf_addf(&sb, "%s%s=", first ? "" : " ", k);
            value_repr(&sb, v);
            first = 0;
        }
    }
    return sbuf_detach(&sb);
}

static char *suggest_text(const char *yaml, const char *runs_json,
                          size_t count, long *made) {
    struct sweep_config *c = load(yaml);
    struct runs *r = NULL;
    json_t *out = json_array(), *rj = NULL;
    char err[256] = "", *text = NULL;

    *made = -100;
    if (!c)
        goto out;
    if (runs_json) {
        rj = json_loads(runs_json, 0, NULL);
        if (!rj || runs_from_json(rj, &r, err, sizeof(err))) {
            fprintf(stderr, "  bad runs: %s\n", err);
            goto out;
        }
    }
    *made = search_suggest(c, r, count, NULL, out, err, sizeof(err));
    text = points_text(out);
out:
    json_decref(out);
    json_decref(rj);
    runs_free(r);
    config_free(c);
    return text;
}

static void test_order(void) {
    long n;
    char *t = suggest_text("method: grid\nparameters:\n"
                           "  zz: {values: [1, 2]}\n"
                           "  aa: {values: [x, y]}\n"
                           "  mm: {value: k}\n",
                           NULL, 0, &n);

    CHECK_INT(n, 4);
    /* Sorted by name, the last name varying fastest. */
    CHECK_STR(t, "aa='x' mm='k' zz=1;aa='x' mm='k' zz=2;"
                 "aa='y' mm='k' zz=1;aa='y' mm='k' zz=2");
    free(t);
}

static void test_dedupe(void) {
    long n;
    char *t = suggest_text("method: grid\nparameters:\n"
                           "  a: {values: [1, 1.0, 2, true, 3000000, 3000000.0,"
                           " {p: 1, q: 2}, {q: 2, p: 1}, [1, 2], [2, 1]]}\n",
                           NULL, 0, &n);

    /* 1 == 1.0, 3000000 == 3000000.0, maps regardless of key order; true is
     * not 1, lists keep their order. */
    CHECK_INT(n, 7);
    CHECK_STR(t, "a=1;a=2;a=True;a=3000000;a={'p': 1, 'q': 2};a=[1, 2];a=[2, 1]");
    free(t);
}

static void test_int_and_q(void) {
    long n;
    char *t = suggest_text("method: grid\nparameters:\n"
                           "  i: {min: 1, max: 3}\n",
                           NULL, 0, &n);

    CHECK_INT(n, 3); /* inclusive */
    CHECK_STR(t, "i=1;i=2;i=3");
    free(t);
    t = suggest_text("method: grid\nparameters:\n"
                     "  q: {distribution: q_uniform, min: 0, max: 1, q: 0.1}\n",
                     NULL, 0, &n);
    /* max excluded, no 0.30000000000000004 */
    CHECK_INT(n, 10);
    CHECK_STR(t, "q=0.0;q=0.1;q=0.2;q=0.3;q=0.4;q=0.5;q=0.6;q=0.7;q=0.8;q=0.9");
    free(t);
    t = suggest_text("method: grid\nparameters:\n"
                     "  q: {distribution: q_uniform, min: 0, max: 64, q: 16}\n",
                     NULL, 0, &n);
    CHECK_INT(n, 4);
    CHECK_STR(t, "q=0;q=16;q=32;q=48");
    free(t);
    t = suggest_text("method: grid\nparameters:\n"
                     "  q: {distribution: q_uniform, min: 0.5, max: 2.0}\n",
                     NULL, 0, &n);
    CHECK_STR(t, "q=0.5;q=1.5");
    free(t);
}

static const char *abyaml = "method: grid\nparameters:\n"
                            "  a: {values: [1, 2, 3]}\n"
                            "  b: {values: [{x: 1, y: 2}, s]}\n";

static void test_cover(void) {
    long n;
    /* Every state covers its point; params compare by value. */
    char *t = suggest_text(
        abyaml,
        "[{\"state\": \"failed\", \"params\": {\"a\": 1.0, \"b\": {\"y\": 2, \"x\": 1}}},"
        " {\"state\": \"crashed\", \"params\": {\"a\": 2, \"b\": \"s\"}},"
        " {\"state\": \"running\", \"params\": {\"a\": 3, \"b\": \"s\", \"extra\": 1}},"
        " {\"state\": \"finished\", \"params\": {\"a\": true, \"b\": \"s\"}},"
        " {\"state\": \"pending\", \"params\": {\"a\": 1}}]",
        0, &n);

    CHECK_INT(n, 3);
    CHECK_STR(t, "a=1 b='s';a=2 b={'x': 1, 'y': 2};a=3 b={'x': 1, 'y': 2}");
    free(t);
    t = suggest_text(abyaml, "[{\"state\": \"finished\", \"params\": {\"a\": 1, \"b\": \"s\"}}]",
                     2, &n);
    CHECK_INT(n, 2);
    CHECK_STR(t, "a=1 b={'x': 1, 'y': 2};a=2 b={'x': 1, 'y': 2}");
    free(t);
}

static void test_exhaustion_and_cap(void) {
    long n;
    char *t = suggest_text("method: grid\nparameters: {a: {values: [1, 2]}}\n",
                           "[{\"state\": \"finished\", \"params\": {\"a\": 1}},"
                           " {\"state\": \"killed\", \"params\": {\"a\": 2}}]",
                           0, &n);

    CHECK_INT(n, 0);
    CHECK_STR(t, "");
    free(t);
    t = suggest_text("method: grid\nrun_cap: 3\nparameters: {a: {values: [1, 2, 3, 4]}}\n",
                     "[{\"state\": \"finished\", \"params\": {\"a\": 3}}]", 0, &n);
    CHECK_INT(n, 2); /* cap 3, one prior run */
    CHECK_STR(t, "a=1;a=2");
    free(t);
}

static void test_nested_grid(void) {
    long n;
    char *t = suggest_text("method: grid\nparameters:\n"
                           "  opt:\n    parameters:\n      lr: {values: [0.1, 0.01]}\n"
                           "  e: {value: 3}\n",
                           "[{\"state\": \"finished\", \"params\": {\"e\": 3, \"opt\": {\"lr\": 0.1}}}]",
                           0, &n);

    CHECK_INT(n, 1);
    CHECK_STR(t, "e=3 opt.lr=0.01");
    free(t);
}

static void test_grid_limits(void) {
    struct sweep_config *c = load("method: grid\nparameters:\n"
                                  "  a: {min: 0, max: 10000000}\n");
    struct grid *g = NULL;
    char err[256];

    CHECK(c != NULL);
    if (c) {
        CHECK_INT(grid_new(c, &g, err, sizeof(err)), -7 /* SWEEP_ERANGE */);
        CHECK_HAS(err, "parameters.a: more than");
    }
    grid_free(g);
    config_free(c);
    c = load("method: grid\nparameters:\n"
             "  a: {min: 1, max: 1000}\n  b: {min: 1, max: 1000}\n"
             "  c: {min: 1, max: 1000}\n");
    if (c) {
        CHECK_INT(grid_new(c, &g, err, sizeof(err)), -7);
        CHECK_HAS(err, "more than 100000000 points");
    }
    config_free(c);
}

static void test_random_reproducible(void) {
    struct sweep_config *c = load("method: random\nrun_cap: 5\nparameters:\n"
                                  "  a: {min: 0.0, max: 1.0}\n  b: {values: [1, 2, 3]}\n");
    gsl_rng *r1 = gsl_rng_alloc(gsl_rng_mt19937), *r2 = gsl_rng_alloc(gsl_rng_mt19937);
    json_t *o1 = json_array(), *o2 = json_array(), *o3 = json_array();
    char err[128];

    CHECK(c != NULL);
    if (!c)
        goto out;
    gsl_rng_set(r1, 42);
    gsl_rng_set(r2, 42);
    CHECK_INT(search_suggest(c, NULL, 3, r1, o1, err, sizeof(err)), 3);
    CHECK_INT(search_suggest(c, NULL, 3, r2, o2, err, sizeof(err)), 3);
    CHECK(json_equal(o1, o2));
    gsl_rng_set(r2, 43);
    CHECK_INT(search_suggest(c, NULL, 3, r2, o3, err, sizeof(err)), 3);
    CHECK(!json_equal(o1, o3));
    /* run_cap 5: asking for 10 gives 5. */
    json_array_clear(o3);
    CHECK_INT(search_suggest(c, NULL, 10, r2, o3, err, sizeof(err)), 5);
out:
    json_decref(o1);
    json_decref(o2);
    json_decref(o3);
    gsl_rng_free(r1);
    gsl_rng_free(r2);
    config_free(c);
}

int main(void) {
    gsl_set_error_handler_off();
    TEST_RUN(test_order);
    TEST_RUN(test_dedupe);
    TEST_RUN(test_int_and_q);
    TEST_RUN(test_cover);
    TEST_RUN(test_exhaustion_and_cap);
    TEST_RUN(test_nested_grid);
    TEST_RUN(test_grid_limits);
    TEST_RUN(test_random_reproducible);
    return TEST_DONE();
}

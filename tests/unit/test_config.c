/* test_config.c - loading, inference, defaults and every validation rule. */
#include <gsl/gsl_errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "test.h"

static struct sweep_config *load(const char *yaml, struct diags *d) {
    diags_init(d, "t.yaml");
    return config_load_buffer(yaml, strlen(yaml), "t.yaml", d);
}

/* Every diagnostic of the file, one a line. */
static char *all_diags(const struct diags *d) {
    struct sbuf sb = SBUF_INIT;

    for (size_t i = 0; i < d->n; i++) {
        diags_format(d, i, &sb);
        sbuf_addc(&sb, '\n');
    }
    return sbuf_detach(&sb);
}

static const struct param *find(const struct sweep_config *c, const char *n) {
    for (size_t i = 0; i < c->nparams; i++)
        if (!strcmp(c->params[i].name, n))
            return &c->params[i];
    return NULL;
}

static void test_inference_and_defaults(void) {
    struct diags d;
    struct sweep_config *c = load(
        "method: random\n"
        "parameters:\n"
        "  a: {values: [1, 2]}\n"
        "  b: {values: [x, y], probabilities: [0.25, 0.75]}\n"
        "  c: {value: 3}\n"
        "  d: {min: 1, max: 10}\n"
        "  e: {min: 1, max: 10.0}\n"
        "  f: {distribution: normal}\n"
        "  g: {distribution: beta}\n"
        "  h: {distribution: q_uniform, min: 0, max: 1}\n"
        "  i: {distribution: q_uniform, min: 0, max: 10, q: 2}\n",
        &d);

    CHECK(c != NULL);
    CHECK_INT(d.nerrors, 0);
    if (!c)
        goto out;
    CHECK_INT(c->nparams, 9);
    CHECK_INT(find(c, "a")->dist, DIST_CATEGORICAL);
    CHECK_INT(find(c, "b")->dist, DIST_CATEGORICAL_W_PROBS);
    CHECK_DBL(find(c, "b")->probs[1], 0.75, 0);
    CHECK_INT(find(c, "c")->dist, DIST_CONSTANT);
    CHECK_INT(find(c, "d")->dist, DIST_INT_UNIFORM);
    CHECK_INT(find(c, "d")->imin, 1);
    CHECK_INT(find(c, "d")->imax, 10);
    CHECK_INT(find(c, "e")->dist, DIST_UNIFORM);
    CHECK_DBL(find(c, "f")->mu, 0, 0);
    CHECK_DBL(find(c, "f")->sigma, 1, 0);
    CHECK_DBL(find(c, "g")->a, 1, 0);
    CHECK_DBL(find(c, "g")->b, 1, 0);
    CHECK_DBL(find(c, "h")->q, 1.0, 0);
    CHECK_INT(find(c, "h")->q_is_int, 0);
    CHECK_INT(find(c, "i")->q_is_int, 1);
    CHECK_INT(c->metric.maximize, 0);
    CHECK(c->metric.name == NULL);
    CHECK(c->command == NULL);
out:
    config_free(c);
    diags_release(&d);
}

static void test_yaml12_numbers(void) {
    struct diags d;
    struct sweep_config *c = load(
        "method: random\n"
        "parameters:\n"
        "  lr: {min: 1e-5, max: 1e-1}\n"
        "  x: {values: [1e3, 0x10, 0o17, .5, +2, yes, no, on, ~, 'true']}\n",
        &d);
    const struct param *p;

    CHECK(c != NULL);
    if (!c)
        goto out;
    p = find(c, "lr");
    /* 1e-5 is a float (YAML 1.2), so lr is uniform, not int_uniform. */
    CHECK_INT(p->dist, DIST_UNIFORM);
    CHECK_DBL(p->min, 1e-5, 0);
    p = find(c, "x");
    CHECK(json_is_real(json_array_get(p->values, 0)));
    CHECK_DBL(json_real_value(json_array_get(p->values, 0)), 1000, 0);
    CHECK_INT(json_integer_value(json_array_get(p->values, 1)), 16);
    CHECK_INT(json_integer_value(json_array_get(p->values, 2)), 15);
    CHECK_DBL(json_real_value(json_array_get(p->values, 3)), 0.5, 0);
    CHECK_INT(json_integer_value(json_array_get(p->values, 4)), 2);
    /* YAML 1.1 booleans are plain strings in 1.2. */
    CHECK_STR(json_string_value(json_array_get(p->values, 5)), "yes");
    CHECK_STR(json_string_value(json_array_get(p->values, 6)), "no");
    CHECK_STR(json_string_value(json_array_get(p->values, 7)), "on");
    CHECK(json_is_null(json_array_get(p->values, 8)));
    CHECK(json_is_string(json_array_get(p->values, 9)));
out:
    config_free(c);
    diags_release(&d);
}

static void test_nested_and_sorted(void) {
    struct diags d;
    struct sweep_config *c = load(
        "method: bayes\n"
        "metric: {name: loss, goal: maximize, target: 0.9, impute: best,\n"
        "         impute_while_running: latest}\n"
        "parameters:\n"
        "  zeta: {value: 1}\n"
        "  opt:\n"
        "    parameters:\n"
        "      lr: {min: 0.1, max: 1.0}\n"
        "      deep:\n"
        "        parameters:\n"
        "          k: {values: [1]}\n"
        "  alpha: {values: [a]}\n",
        &d);

    CHECK(c != NULL);
    if (!c)
        goto out;
    CHECK_INT(c->nparams, 4);
    CHECK_STR(c->params[0].name, "alpha");
    CHECK_STR(c->params[1].name, "opt.deep.k");
    CHECK_STR(c->params[2].name, "opt.lr");
    CHECK_STR(c->params[3].name, "zeta");
    CHECK_INT(c->params[1].npath, 3);
    CHECK_STR(c->params[1].path[1], "deep");
    CHECK_INT(c->metric.maximize, 1);
    CHECK_INT(c->metric.has_target, 1);
    CHECK_DBL(c->metric.target, 0.9, 0);
    CHECK_INT(c->metric.impute, IMPUTE_BEST);
    CHECK_INT(c->metric.impute_while_running, IWR_LATEST);
    CHECK(json_is_object(c->raw));
out:
    config_free(c);
    diags_release(&d);
}

static void check_bands(long min_iter, long max_iter, long s, double eta,
                        const long *want, long nwant) {
    long *b = NULL;
    long n = config_hyperband_bands(min_iter, max_iter, s, eta, &b);

    CHECK_INT(n, nwant);
    for (long i = 0; i < n && i < nwant; i++)
        CHECK_INT(b[i], want[i]);
    free(b);
}

static void test_hyperband_bands(void) {
    static const long b81[] = {3, 9, 27}, b5[] = {1, 2}, b9[] = {1, 3};
    static const long bmin[] = {1, 3, 9, 27, 81};
    long *b = NULL, n;

    check_bands(0, 81, 3, 3, b81, 3);
    check_bands(0, 5, 2, 2, b5, 2);
    check_bands(0, 9, 5, 3, b9, 2);
    check_bands(7, 81, 3, 3, b81, 3); /* max_iter wins over min_iter */
    check_bands(0, 2, 1, 3, NULL, 0); /* 2/3 < 1: no band */
    n = config_hyperband_bands(1, 0, 0, 3, &b);
    CHECK(n > 5 && n <= HYPERBAND_MAX_BANDS);
    for (long i = 0; i < 5 && i < n; i++)
        CHECK_INT(b[i], bmin[i]);
    CHECK(b && b[n - 1] <= HYPERBAND_MAX_BAND);
    free(b);
}

static void test_hyperband_config(void) {
    struct diags d;
    struct sweep_config *c = load(
        "method: random\nmetric: {name: loss}\n"
        "parameters: {x: {values: [1]}}\n"
        "early_terminate: {type: hyperband, max_iter: 81, s: 3, strict: false}\n",
        &d);

    CHECK(c != NULL);
    if (c) {
        CHECK_INT(c->et.type, ET_HYPERBAND);
        CHECK_INT(c->et.nbands, 3);
        CHECK_INT(c->et.bands[0], 3);
        CHECK_DBL(c->et.eta, 3, 0);
        CHECK_INT(c->et.strict, 0);
    }
    config_free(c);
    diags_release(&d);
}

/* One config, one expected message (substring of the printed diags). */
struct bad_case {
    const char *yaml;
    const char *want;
};

#define P "method: random\nparameters:\n"
#define M "metric: {name: loss}\n"

static const struct bad_case bad_cases[] = {
    {"parameters: {x: {values: [1]}}\n",
     "t.yaml:1:1: method: missing required key 'method'"},
    {"method: grdi\nparameters: {x: {values: [1]}}\n",
     "t.yaml:1:9: method: unknown method 'grdi' (did you mean 'grid'?)"},
    {"method: custom\nparameters: {x: {values: [1]}}\n", "method custom needs"},
    {"method: random\n", "parameters: missing required key 'parameters'"},
    {"method: random\nparameters: {}\n",
     "t.yaml:2:13: parameters: must define at least one parameter"},
    {"method: random\nmetrc: {name: x}\nparameters: {x: {values: [1]}}\n",
     "t.yaml:2:1: metrc: unknown key 'metrc' in the sweep config (did you mean 'metric'?)"},
    {P "  x: {valuse: [1]}\n",
     "t.yaml:3:7: parameters.x.valuse: unknown key 'valuse' in a parameter (did you mean 'values'?)"},
    {P "  1x: {values: [1]}\n", "parameters.1x: invalid parameter name '1x'"},
    {P "  lr: {min: 0.1, max: 0.01}\n",
     "t.yaml:3:23: parameters.lr.max: min 0.1 is not less than max 0.01"},
    {P "  n: {distribution: int_uniform, min: 5, max: 5}\n",
     "parameters.n.max: min 5 is not less than max 5"},
    {P "  n: {distribution: int_uniform, min: 1.5, max: 5}\n",
     "parameters.n.min: must be an integer, not a float"},
    {P "  lr: {distribution: log_uniform_values, min: 0, max: 1}\n",
     "parameters.lr.min: must be greater than 0 for log_uniform_values"},
    {P "  c: {values: [a, b], probabilities: [1.0]}\n",
     "parameters.c.probabilities: has 1 items but values has 2"},
    {P "  c: {values: [a, b], probabilities: [1.5, -0.5]}\n",
     "probability -0.5 is negative"},
    {P "  c: {values: [a, b], probabilities: [0.5, 0.6]}\n",
     "parameters.c.probabilities: probabilities sum to 1.1, not 1"},
    {P "  n: {distribution: normal, sigma: -1}\n",
     "parameters.n.sigma: must be >= 0, not -1"},
    {P "  n: {distribution: q_uniform, min: 0, max: 1, q: 0}\n",
     "parameters.n.q: must be > 0, not 0"},
    {P "  n: {distribution: beta, a: -1}\n", "parameters.n.a: must be >= 0"},
    {P "  n: {distribution: q_beta, b: -2}\n", "parameters.n.b: must be >= 0"},
    {P "  n: {distribution: unifrom, min: 0, max: 1}\n",
     "unknown distribution 'unifrom' (did you mean 'uniform'?)"},
    {P "  n: {distribution: uniform, min: 0, max: 1, mu: 3}\n",
     "parameters.n.mu: key 'mu' does not apply to distribution uniform"},
    {P "  n: {distribution: constant}\n", "distribution constant needs 'value'"},
    {P "  n: {values: []}\n", "parameters.n.values: must have at least one value"},
    {P "  n: {distribution: categorical, values: 3}\n",
     "parameters.n.values: must be a list, not an integer"},
    {P "  n: {min: 1}\n", "parameters.n: cannot tell the distribution"},
    {P "  n: 3\n", "parameters.n: a parameter must be a mapping"},
    {P "  x: {values: [1]}\nmetric: {goal: minimize}\n",
     "metric: needs 'name'"},
    {P "  x: {values: [1]}\nmetric: {name: l, goal: minimise}\n",
     "metric.goal: unknown goal 'minimise' (did you mean 'minimize'?)"},
    {P "  x: {values: [1]}\nmetric: {name: l, impute: mean}\n",
     "metric.impute: unknown impute 'mean'; expected one of worst, latest, best"},
    {P "  x: {values: [1]}\nmetric: {name: l, impute_while_running: true}\n",
     "metric.impute_while_running: must be one of false, worst, latest, best, not a boolean"},
    {P "  x: {values: [1]}\nmetric: {name: l, traget: 1}\n",
     "metric.traget: unknown key 'traget' in metric (did you mean 'target'?)"},
    {P "  x: {values: [1]}\nmetric: {name: l, target: high}\n",
     "metric.target: must be a number, not a string"},
    {P "  x: {values: [1]}\n" M "early_terminate: {type: medain}\n",
     "early_terminate.type: unknown early_terminate type 'medain' (did you mean 'median'?)"},
    {P "  x: {values: [1]}\n" M "early_terminate: {type: hyperband, eta: 3}\n",
     "early_terminate: hyperband needs min_iter, or max_iter and s"},
    {P "  x: {values: [1]}\n" M "early_terminate: {type: hyperband, max_iter: 9, s: 1.5}\n",
     "early_terminate.s: must be an integer, not a float"},
    {P "  x: {values: [1]}\n" M "early_terminate: {type: hyperband, min_iter: 3, eta: 1}\n",
     "early_terminate.eta: must be greater than 1, not 1"},
    {P "  x: {values: [1]}\n" M "early_terminate: {type: hyperband, max_iter: 2, s: 1}\n",
     "early_terminate: gives no bands"},
    {P "  x: {values: [1]}\n" M "early_terminate: {type: hyperband, min_iter: 3, strict: 1}\n",
     "early_terminate.strict: must be true or false"},
    {P "  x: {values: [1]}\nrun_cap: 0\n", "run_cap: must be greater than 0, not 0"},
    {P "  x: {values: [1]}\nrun_cap: 2.5\n", "run_cap: must be an integer, not a float"},
    {P "  x: {values: [1]}\ncommand: python train.py\n",
     "command: must be a list of strings, not a string"},
    {"method: grid\nparameters:\n  lr: {min: 0.1, max: 1.0}\n",
     "t.yaml:3:3: parameters.lr: method grid cannot enumerate distribution uniform"},
    {"method: bayes\nparameters: {x: {min: 0.1, max: 1.0}}\n",
     "metric: method bayes needs a metric"},
    {P "  x: {values: [1]}\nearly_terminate: {type: hyperband, min_iter: 3}\n",
     "early_terminate: early termination needs a metric"},
    {P "  x: {values: [1]}\n  x: {values: [2]}\n",
     "t.yaml:4:3: syntax error" /* placeholder replaced below */},
    {"method: [random\n", "t.yaml:2:1: syntax error"},
    {"", "the config is empty"},
    {"- a\n- b\n", "the config must be a mapping"},
    {P "  g:\n    values: [1]\n    parameters: {x: {values: [1]}}\n",
     "parameters.g.values: a parameter group (with 'parameters') cannot also have 'values'"},
    {P "  opt.lr: {values: [1]}\n  opt:\n    parameters: {lr: {values: [2]}}\n",
     "two parameters flatten to the same name 'opt.lr'"},
    {P "  x: {values: [1, .nan]}\n", "non-finite number '.nan' cannot be a value"},
    {P "  x: {values: [*nope]}\n", "undefined alias '*nope'"},
    {P "  x: {min: 0, max: .inf}\n", "parameters.x.max: must be a finite number"},
    {P "  x: {values: [!!int abc]}\n", "!!int on a value that is not an integer"},
    {P "  x: {values: [!custom 1]}\n", "unsupported tag"},
    {"{\"method\": \"random\", \"parameters\": {\"x\": {\"min\": 3, \"max\": 1}}}",
     "t.yaml:1:60: parameters.x.max: min 3 is not less than max 1"},
};

static void test_bad_configs(void) {
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        struct diags d;
        struct sweep_config *c = load(bad_cases[i].yaml, &d);
        char *text = all_diags(&d);
        const char *want = bad_cases[i].want;

        if (strstr(bad_cases[i].yaml, "  x: {values: [1]}\n  x:"))
            want = "t.yaml:4:3: duplicate key 'x' (first at line 3)";
        if (c || !strstr(text, want))
            fprintf(stderr, "  case %zu:\n%s", i, bad_cases[i].yaml);
        CHECK(c == NULL);
        CHECK(d.nerrors > 0);
        CHECK_HAS(text, want);
        free(text);
        config_free(c);
        diags_release(&d);
    }
}

static void test_all_errors_at_once(void) {
    struct diags d;
    struct sweep_config *c = load("method: random\n"
                                  "bogus: 1\n"
                                  "parameters:\n"
                                  "  a: {min: 2, max: 1}\n"
                                  "  b: {distribution: normal, sigma: -1}\n"
                                  "run_cap: -3\n",
                                  &d);

    CHECK(c == NULL);
    CHECK_INT(d.nerrors, 4);
    /* Reported in file order. */
    for (size_t i = 1; i < d.n; i++)
        CHECK(d.v[i - 1].line <= d.v[i].line);
    CHECK_INT(d.v[0].line, 2);
    CHECK_INT(d.v[3].line, 6);
    diags_release(&d);
}

static void test_deprecated_warns(void) {
    struct diags d;
    struct sweep_config *c =
        load(P "  lr: {distribution: log_uniform, min: -9.2, max: -2.3}\n", &d);
    char *text = all_diags(&d);

    CHECK(c != NULL);
    CHECK_INT(d.nerrors, 0);
    CHECK_INT(d.nwarnings, 1);
    CHECK_HAS(text, "t.yaml:3:22: warning: parameters.lr.distribution: "
                    "distribution log_uniform is deprecated");
    CHECK_HAS(text, "use log_uniform_values");
    free(text);
    config_free(c);
    diags_release(&d);
}

static void test_aliases_and_bomb(void) {
    struct diags d;
    struct sweep_config *c = load(P "  a: &v {values: [1, 2]}\n  b: *v\n", &d);
    struct sbuf sb = SBUF_INIT;

    CHECK(c != NULL);
    if (c)
        CHECK_INT(json_array_size(find(c, "b")->values), 2);
    config_free(c);
    diags_release(&d);
    /* Nine levels of ten aliases: 10^9 nodes if expanded naively. */
    sbuf_adds(&sb, P "  x: {values: [1]}\nname: &a0 [x]\n");
    for (int i = 1; i < 10; i++)
        sbuf_addf(&sb, "d%d: &a%d [*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d]\n",
                  i, i, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1,
                  i - 1, i - 1);
    c = load(sbuf_str(&sb), &d);
    CHECK(c == NULL);
    CHECK(d.nerrors > 0);
    config_free(c);
    diags_release(&d);
    sbuf_release(&sb);
}

static void test_merge_keys(void) {
    struct diags d;
    struct sweep_config *c = load(
        "method: random\n"
        "base: &base {distribution: uniform, min: 0.0, max: 1.0}\n"
        "parameters:\n"
        "  a: {<<: *base}\n"
        "  b: {<<: *base, max: 2.0}\n"
        "  c:\n    <<: [*base, {mu: 1}]\n    min: 0.5\n",
        &d);

    /* "base" is an unknown top-level key (the anchor holder must still be
     * a known key), and c's merged mu does not apply to uniform. */
    CHECK(c == NULL);
    CHECK_INT(d.nerrors, 2);
    CHECK_INT(d.v[0].line, 2);
    CHECK_INT(d.v[1].line, 7);
    diags_release(&d);
    c = load("method: random\n"
             "parameters:\n"
             "  a: &base {distribution: uniform, min: 0.0, max: 1.0}\n"
             "  b: {<<: *base, max: 2.0}\n"
             "  c: {<<: 3}\n",
             &d);
    CHECK(c == NULL);
    CHECK_INT(d.nerrors, 1);
    CHECK_INT(d.v[0].line, 5);
    diags_release(&d);
    c = load("method: random\n"
             "parameters:\n"
             "  a: &base {distribution: uniform, min: 0.0, max: 1.0}\n"
             "  b: {<<: *base, max: 2.0}\n",
             &d);
    CHECK(c != NULL);
    if (c) {
        CHECK_DBL(find(c, "b")->min, 0.0, 0);
        CHECK_DBL(find(c, "b")->max, 2.0, 0); /* the explicit key wins */
        CHECK_INT(find(c, "b")->dist, DIST_UNIFORM);
    }
    config_free(c);
    diags_release(&d);
}

static void test_command(void) {
    struct diags d;
    struct sweep_config *c = load(P "  x: {values: [1]}\n"
                                    "program: train.py\n"
                                    "command:\n  - ${env}\n  - python3\n"
                                    "  - ${program}\n  - --epochs\n  - 10\n",
                                  &d);

    CHECK(c != NULL);
    if (c) {
        CHECK_INT(c->ncommand, 5);
        CHECK_STR(c->command[4], "10");
        CHECK_STR(c->program, "train.py");
    }
    config_free(c);
    diags_release(&d);
}

int main(void) {
    gsl_set_error_handler_off();
    TEST_RUN(test_inference_and_defaults);
    TEST_RUN(test_yaml12_numbers);
    TEST_RUN(test_nested_and_sorted);
    TEST_RUN(test_hyperband_bands);
    TEST_RUN(test_hyperband_config);
    TEST_RUN(test_bad_configs);
    TEST_RUN(test_all_errors_at_once);
    TEST_RUN(test_deprecated_warns);
    TEST_RUN(test_aliases_and_bomb);
    TEST_RUN(test_merge_keys);
    TEST_RUN(test_command);
    return TEST_DONE();
}

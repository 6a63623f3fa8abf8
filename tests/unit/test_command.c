/* test_command.c - argv expansion of command.c against COMPAT.md section 5
 * and the W&B agent's behaviour. */
#include <stdlib.h>

#include "command.h"
#include "sbuf.h"
#include "sweep.h"
#include "test.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static struct sbuf out = SBUF_INIT;
static size_t last_argc;

static json_t *J(const char *text) {
    json_error_t err;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &err);

    if (!v) {
        fprintf(stderr, "bad test JSON %s: %s\n", text, err.text);
        abort();
    }
    return v;
}

/* Builds the argv and joins it with "|" (so "" elements stay visible);
 * "ERR <code>" on failure. The text is valid until the next call. */
static const char *run(const char *const *tmpl, size_t n,
                       const struct command_ctx *ctx) {
    char **argv = NULL;
    int rc = command_build(tmpl, n, ctx, &argv, &last_argc);

    sbuf_reset(&out);
    if (rc < 0) {
        sbuf_addf(&out, "ERR %d", rc);
        return sbuf_str(&out);
    }
    for (size_t i = 0; i < last_argc; i++)
        sbuf_addf(&out, "%s%s", i ? "|" : "", argv[i]);
    if (argv[last_argc] != NULL)
        sbuf_adds(&out, "|<argv not NULL-terminated>");
    command_argv_free(argv);
    return sbuf_str(&out);
}

/* One template token against args given as JSON text. */
static const char *run1(const char *tok, const char *args_json) {
    const char *tmpl[] = {tok};
    struct command_ctx ctx = {0};
    const char *r;

    ctx.args = args_json ? J(args_json) : NULL;
    r = run(tmpl, 1, &ctx);
    json_decref((json_t *)ctx.args);
    return r;
}

static const char *spec_args =
    "{\"a\": true, \"b\": false, \"c\": 1, \"d\": null}";

static void test_default_command(void) {
    struct command_ctx ctx = {0};

    CHECK_INT(command_default_len, 4);
    CHECK_STR(command_default[0], "${env}");
    CHECK_STR(command_default[1], "${interpreter}");
    CHECK_STR(command_default[2], "${program}");
    CHECK_STR(command_default[3], "${args}");
    ctx.program = "train.py";
    ctx.args = J("{\"lr\": 0.001, \"batch\": 64}");
    CHECK_STR(run(NULL, 0, &ctx),
              "/usr/bin/env|python|train.py|--batch=64|--lr=0.001");
    CHECK_INT(last_argc, 5);
    json_decref((json_t *)ctx.args);
}

static void test_fixed_macros(void) {
    const char *tmpl[] = {"${env}", "${interpreter}", "${program}",
                          "${args_json_file}"};
    struct command_ctx ctx = {0};

    /* Unset program and json file expand to nothing. */
    CHECK_STR(run(tmpl, N(tmpl), &ctx), "/usr/bin/env|python");
    CHECK_INT(last_argc, 2);
    ctx.env = "/bin/env";
    ctx.interpreter = "python3.11";
    ctx.program = "my prog.py";
    ctx.args_json_file = "/tmp/run/args.json";
    CHECK_STR(run(tmpl, N(tmpl), &ctx),
              "/bin/env|python3.11|my prog.py|/tmp/run/args.json");
    CHECK_INT(last_argc, 4);
    /* No ctx at all means every default. */
    CHECK_STR(run(tmpl, N(tmpl), NULL), "/usr/bin/env|python");
}

/* The table of COMPAT.md section 5, row by row. */
static void test_spec_table(void) {
    CHECK_STR(run1("${args}", spec_args), "--a=True|--b=False|--c=1|--d=None");
    CHECK_STR(run1("${args_no_hyphens}", spec_args),
              "a=True|b=False|c=1|d=None");
    CHECK_STR(run1("${args_no_boolean_flags}", spec_args),
              "--a|--c=1|--d=None");
    CHECK_STR(run1("${args_no_equals}", spec_args),
              "--a|True|--b|False|--c|1|--d|None");
    CHECK_INT(last_argc, 8);
    CHECK_STR(run1("${args_json}", spec_args),
              "{\"a\": true, \"b\": false, \"c\": 1, \"d\": null}");
    CHECK_INT(last_argc, 1);
    CHECK_STR(run1("${args_append_hydra}", spec_args),
              "+a=True|+b=False|+c=1|+d=None");
    CHECK_STR(run1("${args_override_hydra}", spec_args),
              "++a=True|++b=False|++c=1|++d=None");
}

static void test_args_sorted(void) {
    const char *args = "{\"b\": 1, \"a_b\": 2, \"a\": 3, \"_x\": 4, \"B\": 5}";

    /* Byte order: 'B' < '_' < 'a', and a prefix sorts first. */
    CHECK_STR(run1("${args}", args), "--B=5|--_x=4|--a=3|--a_b=2|--b=1");
    CHECK_STR(run1("${args_json}", args),
              "{\"B\": 5, \"_x\": 4, \"a\": 3, \"a_b\": 2, \"b\": 1}");
}

static void test_args_values(void) {
    const char *args =
        "{\"lr\": 1e-05, \"n\": 3000000.0, \"h\": [64, 32], \"s\": \"it's x\","
        " \"o\": {\"z\": 1, \"a\": {\"k\": \"v\"}, \"l\": [true, null]},"
        " \"f\": 0.001, \"e\": \"\"}";

    CHECK_STR(run1("${args}", args),
              "--e=|--f=0.001|--h=[64, 32]|--lr=1e-05|--n=3000000.0|"
              "--o={'z': 1, 'a': {'k': 'v'}, 'l': [True, None]}|--s=it's x");
    CHECK_INT(last_argc, 7);
    CHECK_STR(run1("${args_no_equals}", "{\"s\": \"two words\", \"e\": \"\"}"),
              "--e||--s|two words");
    CHECK_INT(last_argc, 4);
    /* Only booleans are flags: 0, "" and null still print a value. */
    CHECK_STR(run1("${args_no_boolean_flags}",
                   "{\"z\": 0, \"y\": \"\", \"x\": false, \"w\": true}"),
              "--w|--y=|--z=0");
}

static void test_args_json(void) {
    /* Top level sorted, nested maps in their own order, real JSON inside. */
    CHECK_STR(run1("${args_json}",
                   "{\"b\": {\"z\": 1.0, \"a\": [1e-05, \"\\u00e9\"]},"
                   " \"a\": \"q\\\"\\n\"}"),
              "{\"a\": \"q\\\"\\n\", \"b\": {\"z\": 1.0, \"a\": [1e-05, "
              "\"\\u00e9\"]}}");
    CHECK_STR(run1("${args_json}", NULL), "{}");
    CHECK_STR(run1("${args_json}", "{}"), "{}");

    char *s = command_args_json(NULL);
    CHECK_STR(s, "{}");
    free(s);
    json_t *a = J("{\"y\": [], \"x\": 2}");
    s = command_args_json(a);
    CHECK_STR(s, "{\"x\": 2, \"y\": []}");
    free(s);
    json_decref(a);
}

static void test_no_args(void) {
    const char *tmpl[] = {"${args}", "${args_no_hyphens}",
                          "${args_no_boolean_flags}", "${args_no_equals}",
                          "${args_append_hydra}", "${args_override_hydra}",
                          "end"};
    struct command_ctx ctx = {0};

    CHECK_STR(run(tmpl, N(tmpl), &ctx), "end");
    ctx.args = J("{}");
    CHECK_STR(run(tmpl, N(tmpl), &ctx), "end");
    json_decref((json_t *)ctx.args);
}

static void test_unknown_and_partial_macros(void) {
    const char *tmpl[] = {"${nope}", "${}",      "${ args}", "${args_dict}",
                          "${args",  "x${env}",  "${env}x",  "$",
                          "",        "${env} ",  "{env}",    "plain"};
    struct command_ctx ctx = {0};

    ctx.args = J("{\"a\": 1}");
    /* Whole-token unknown macros vanish; anything else is literal, and an
     * empty token stays an (empty) element. */
    CHECK_STR(run(tmpl, N(tmpl), &ctx),
              "${args|x${env}|${env}x|$||${env} |{env}|plain");
    CHECK_INT(last_argc, 8);
    json_decref((json_t *)ctx.args);
    /* W&B's test is only "starts with ${ and ends with }". */
    CHECK_STR(run1("${a}${b}", NULL), "");
    CHECK_INT(last_argc, 0);
}

static void test_envvar(void) {
    setenv("SWEEP_T_A", "alpha", 1);
    setenv("SWEEP_T_EMPTY", "", 1);
    unsetenv("SWEEP_T_UNSET");
    CHECK_STR(run1("${envvar:SWEEP_T_A}", NULL), "alpha");
    CHECK_STR(run1("${envvar:SWEEP_T_UNSET}", NULL), "SWEEP_T_UNSET");
    CHECK_STR(run1("--data=${envvar:SWEEP_T_A}/d", NULL), "--data=alpha/d");
    CHECK_STR(run1("${envvar:SWEEP_T_A}-${envvar:SWEEP_T_UNSET}:"
                   "${envvar:SWEEP_T_A}",
                   NULL),
              "alpha-SWEEP_T_UNSET:alpha");
    /* Set but empty is not unset; the element stays, empty. */
    CHECK_STR(run1("${envvar:SWEEP_T_EMPTY}", NULL), "");
    CHECK_INT(last_argc, 1);
    CHECK_STR(run1("${envvar:}", NULL), "");
    CHECK_INT(last_argc, 1);
    /* Unterminated or broken references are plain text. */
    CHECK_STR(run1("${envvar:SWEEP_T_A", NULL), "${envvar:SWEEP_T_A");
    CHECK_STR(run1("$${envvar:SWEEP_T_A}}", NULL), "$alpha}");
    unsetenv("SWEEP_T_A");
    unsetenv("SWEEP_T_EMPTY");
}

/* W&B's NAME pattern is [A-Z0-9_]*: anything else is no reference, so a
 * whole token like that is an unknown macro and vanishes. */
static void test_envvar_name_rule(void) {
    setenv("sweep_t_lower", "low", 1);
    CHECK_STR(run1("${envvar:sweep_t_lower}", NULL), "");
    CHECK_INT(last_argc, 0);
    CHECK_STR(run1("x=${envvar:sweep_t_lower}", NULL),
              "x=${envvar:sweep_t_lower}");
    CHECK_STR(run1("${envvar:A-B}", NULL), "");
    unsetenv("sweep_t_lower");
}

/* Values come from the worker's environment and are never macros or
 * references themselves. */
static void test_envvar_not_rescanned(void) {
    setenv("SWEEP_T_M", "${args}", 1);
    setenv("SWEEP_T_R", "${envvar:SWEEP_T_M}", 1);
    CHECK_STR(run1("${envvar:SWEEP_T_M}", spec_args), "${args}");
    CHECK_INT(last_argc, 1);
    CHECK_STR(run1("${envvar:SWEEP_T_R}", NULL), "${envvar:SWEEP_T_M}");
    unsetenv("SWEEP_T_M");
    unsetenv("SWEEP_T_R");
}

static void test_full_template(void) {
    const char *tmpl[] = {"${env}",  "${interpreter}", "${program}",
                          "--seed",  "${envvar:SWEEP_T_SEED}",
                          "${args}", "${args_json_file}"};
    struct command_ctx ctx = {0};

    setenv("SWEEP_T_SEED", "7", 1);
    ctx.program = "train.py";
    ctx.args_json_file = "cfg.json";
    ctx.args = J("{\"opt\": {\"name\": \"adam\"}, \"lr\": 0.01}");
    CHECK_STR(run(tmpl, N(tmpl), &ctx),
              "/usr/bin/env|python|train.py|--seed|7|--lr=0.01|"
              "--opt={'name': 'adam'}|cfg.json");
    CHECK_INT(last_argc, 8);
    json_decref((json_t *)ctx.args);
    unsetenv("SWEEP_T_SEED");
}

static void test_errors(void) {
    const char *tmpl[] = {"a", NULL};
    struct command_ctx ctx = {0};
    static char *sentinel[] = {NULL};
    char **argv = sentinel; /* must be reset on failure */
    size_t argc = 99;

    ctx.args = J("[1, 2]");
    CHECK_INT(command_build(NULL, 0, &ctx, &argv, &argc), SWEEP_EINVAL);
    CHECK(argv == NULL);
    CHECK_INT(argc, 0);
    json_decref((json_t *)ctx.args);
    ctx.args = J("\"x\"");
    CHECK_STR(run(NULL, 0, &ctx), "ERR -2");
    json_decref((json_t *)ctx.args);
    ctx.args = NULL;
    CHECK_STR(run(tmpl, N(tmpl), &ctx), "ERR -2");
    command_argv_free(NULL);
}

static void test_empty_template(void) {
    const char *tmpl[] = {"${nope}"};

    CHECK_STR(run(tmpl, 0, NULL), "");
    CHECK_INT(last_argc, 0);
    CHECK_STR(run(tmpl, 1, NULL), "");
    CHECK_INT(last_argc, 0);
}

int main(void) {
    TEST_RUN(test_default_command);
    TEST_RUN(test_fixed_macros);
    TEST_RUN(test_spec_table);
    TEST_RUN(test_args_sorted);
    TEST_RUN(test_args_values);
    TEST_RUN(test_args_json);
    TEST_RUN(test_no_args);
    TEST_RUN(test_unknown_and_partial_macros);
    TEST_RUN(test_envvar);
    TEST_RUN(test_envvar_name_rule);
    TEST_RUN(test_envvar_not_rescanned);
    TEST_RUN(test_full_template);
    TEST_RUN(test_errors);
    TEST_RUN(test_empty_template);
    sbuf_release(&out);
    return TEST_DONE();
}

/* test_importance.c - lib/importance.c on synthetic sweeps. */
#include <jansson.h>
#include <stdlib.h>

#include "importance.h"
#include "test.h"

static json_t *sweep_cfg(const char *goal, const char *impute) {
    json_t *m = json_pack("{s:s,s:s}", "name", "loss", "goal", goal);
    if (impute)
        json_object_set_new(m, "impute", json_string(impute));
    return json_pack(
        "{s:{s:o,s:{s:{s:{s:{s:s,s:f,s:f}}},s:{s:f,s:f},s:{s:f,s:f},s:{s:[s,s,s]}}}}",
        "config", "metric", m, "parameters", "opt", "parameters", "lr", "distribution",
        "log_uniform_values", "min", 1e-4, "max", 1e-1, "x2", "min", 0.0, "max", 1.0, "x3",
        "min", 0.0, "max", 1.0, "act", "values", "relu", "tanh", "<script>alert(1)</script>");
}

/* loss = 10*log10(lr) (+5 for relu) + tiny noise; x2, x3 irrelevant. */
static json_t *make_runs(int n, int nfailed) {
    json_t *runs = json_array();
    static const char *acts[] = {"relu", "tanh", "<script>alert(1)</script>"};
    srand(7);
    for (int i = 0; i < n; i++) {
        double lr = pow(10, -4 + 3.0 * rand() / RAND_MAX);
        double x2 = (double)rand() / RAND_MAX, x3 = (double)rand() / RAND_MAX;
        const char *act = acts[i % 3];
        double loss = 10 * log10(lr) + (i % 3 == 0 ? 5 : 0) + 0.01 * rand() / RAND_MAX;
        int failed = i < nfailed;
        json_array_append_new(
            runs, json_pack("{s:{s:{s:f},s:f,s:f,s:s},s:s,s:I,s:o}", "params", "opt", "lr",
                            lr, "x2", x2, "x3", x3, "act", act, "state",
                            failed ? "failed" : "finished", "ended_at", (json_int_t)i,
                            "summary",
                            failed ? json_object() : json_pack("{s:f}", "loss", loss)));
    }
    return runs;
}

static const json_t *param(const json_t *out, const char *name) {
    size_t i;
    const json_t *p;
    json_array_foreach(json_object_get(out, "parameters"), i, p) {
        if (!strcmp(json_string_value(json_object_get(p, "name")), name))
            return p;
    }
    return NULL;
}

static void test_ranks_strong_first(void) {
    json_t *sw = sweep_cfg("minimize", NULL), *runs = make_runs(200, 0);
    char err[128];
    json_t *out = importance_compute(sw, runs, err, sizeof(err));
    const json_t *top, *lr, *act, *x2;

    CHECK(out != NULL);
    CHECK(json_is_null(json_object_get(out, "reason")));
    CHECK_INT(json_integer_value(json_object_get(out, "n_used")), 200);
    top = json_array_get(json_object_get(out, "parameters"), 0);
    CHECK(!strcmp(json_string_value(json_object_get(top, "name")), "opt.lr"));
    lr = param(out, "opt.lr");
    x2 = param(out, "x2");
    act = param(out, "act");
    CHECK(lr && json_real_value(json_object_get(lr, "spearman")) > 0.8);
    CHECK(lr && json_real_value(json_object_get(lr, "linear")) > 0.8);
    CHECK(x2 && fabs(json_real_value(json_object_get(x2, "spearman"))) < 0.25);
    CHECK(act && !strcmp(json_string_value(json_object_get(act, "type")), "categorical"));
    CHECK_INT(json_array_size(json_object_get(act, "values")), 3);
    /* the relu value raises the loss: its one-hot correlation is positive */
    {
        size_t i;
        const json_t *v;
        int seen = 0;
        json_array_foreach(json_object_get(act, "values"), i, v) {
            if (!strcmp(json_string_value(json_object_get(v, "value")), "relu")) {
                seen = 1;
                CHECK(json_real_value(json_object_get(v, "spearman")) > 0.2);
            }
        }
        CHECK(seen);
    }
    /* the last parameters are the irrelevant ones */
    {
        const json_t *ps = json_object_get(out, "parameters");
        const char *last = json_string_value(json_object_get(json_array_get(ps, 3), "name"));
        const char *third = json_string_value(json_object_get(json_array_get(ps, 2), "name"));
        CHECK(!strcmp(last, "x2") || !strcmp(last, "x3"));
        CHECK(!strcmp(third, "x2") || !strcmp(third, "x3"));
    }
    json_decref(out);
    json_decref(runs);
    json_decref(sw);
}

static void test_few_runs_reason(void) {
    json_t *sw = sweep_cfg("minimize", NULL), *runs = make_runs(4, 0);
    char err[128];
    json_t *out = importance_compute(sw, runs, err, sizeof(err));

    CHECK(out != NULL);
    CHECK(strstr(json_string_value(json_object_get(out, "reason")), "at least 5") != NULL);
    CHECK_INT(json_array_size(json_object_get(out, "parameters")), 0);
    json_decref(out);
    json_decref(runs);
    json_decref(sw);
}

static void test_impute_failed(void) {
    /* 50 failed runs imputed worst (the largest loss): they are used */
    json_t *sw = sweep_cfg("minimize", NULL), *runs = make_runs(100, 50);
    json_t *sw_max = sweep_cfg("maximize", "best");
    char err[128];
    json_t *out = importance_compute(sw, runs, err, sizeof(err));
    json_t *out2 = importance_compute(sw_max, runs, err, sizeof(err));

    CHECK_INT(json_integer_value(json_object_get(out, "n_used")), 100);
    CHECK_INT(json_integer_value(json_object_get(out2, "n_used")), 100);
    CHECK(!strcmp(json_string_value(json_object_get(json_object_get(out2, "metric"), "goal")),
                  "maximize"));
    json_decref(out);
    json_decref(out2);
    json_decref(runs);
    json_decref(sw);
    json_decref(sw_max);
}

int main(void) {
    TEST_RUN(test_ranks_strong_first);
    TEST_RUN(test_few_runs_reason);
    TEST_RUN(test_impute_failed);
    return TEST_DONE();
}

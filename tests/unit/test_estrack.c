/*
 * test_estrack.c - the controller's per-sweep metric memory for early
 * termination: values appended from metric events (the metric only, finite
 * only), a newer attempt or a requeue starting a run over, an older
 * attempt ignored, loading from stored runs, and judging: the COMPAT.md 4
 * example stops b once (not again on the next event), only runs the
 * controller says are running are judged.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "estrack.h"
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

static const char *hb_yaml =
    "method: random\n"
    "metric: {name: loss, goal: minimize}\n"
    "early_terminate: {type: hyperband, max_iter: 5, eta: 2, s: 2}\n"
    "parameters:\n  x: {min: 0.0, max: 1.0}\n";

struct seen {
    char runs[8][16];
    char reasons[8][160];
    int n;
    const char *running; /* names of running runs, one char each */
};

static int is_running(void *arg, const char *run, int attempt) {
    struct seen *s = arg;

    (void)attempt;
    return strchr(s->running, run[0]) != NULL;
}

static void on_stop(void *arg, const char *run, int attempt, const char *reason) {
    struct seen *s = arg;

    (void)attempt;
    if (s->n < 8) {
        snprintf(s->runs[s->n], sizeof(s->runs[0]), "%s", run);
        snprintf(s->reasons[s->n], sizeof(s->reasons[0]), "%s", reason);
    }
    s->n++;
}

static void feed(struct estrack *t, const char *run, int attempt, double v) {
    char *names[2] = {"acc", "loss"};
    double values[2] = {0.5, v};

    estrack_metric(t, run, attempt, names, values, 2);
}

/* COMPAT.md 4's example, fed as events: b is stopped, c kept. */
static void test_compat_example(void) {
    struct sweep_config *cfg = load(hb_yaml);
    struct seen s = {.running = "bcd"};
    struct estrack *t;
    int oom;

    CHECK(cfg != NULL);
    if (!cfg)
        return;
    t = estrack_new(cfg, &oom);
    CHECK(t != NULL);
    feed(t, "a", 0, 10), feed(t, "a", 0, 9);
    feed(t, "b", 0, 10), feed(t, "b", 0, 10);
    feed(t, "c", 0, 10), feed(t, "c", 0, 8), feed(t, "c", 0, 8);
    feed(t, "d", 0, 10), feed(t, "d", 0, 7), feed(t, "d", 0, 7);
    feed(t, "e", 0, 10), feed(t, "e", 0, 6), feed(t, "e", 0, 6);
    CHECK_INT(estrack_size(t), 5);
    CHECK(estrack_dirty(t, 0));
    CHECK_INT(estrack_judge(t, 1, is_running, on_stop, &s), 1);
    CHECK_INT(s.n, 1);
    CHECK(!strcmp(s.runs[0], "b"));
    CHECK(strstr(s.reasons[0], "hyperband band 2: value 10.0 is worse than threshold 8.0") != NULL);
    CHECK(!estrack_dirty(t, 0));
    CHECK(!estrack_dirty(t, 1));
    /* b's next value: it was told already, no second stop */
    feed(t, "b", 0, 10);
    CHECK_INT(estrack_judge(t, 1, is_running, on_stop, &s), 0);
    CHECK_INT(s.n, 1);
    /* two new runs lower band 2's threshold to 7: judging only the runs
     * that logged keeps them (1 < 7) and does not see that the quiet c
     * (8) is now worse; judging every run stops c */
    feed(t, "f", 0, 10), feed(t, "f", 0, 1);
    feed(t, "g", 0, 10), feed(t, "g", 0, 1);
    s.running = "cfg";
    CHECK_INT(estrack_judge(t, 0, is_running, on_stop, &s), 0);
    CHECK(estrack_dirty(t, 1));
    CHECK_INT(estrack_judge(t, 1, is_running, on_stop, &s), 1);
    CHECK(s.n == 2 && !strcmp(s.runs[1], "c"));
    /* a run the controller does not see running is never stopped */
    s.running = "";
    feed(t, "c", 0, 100);
    CHECK_INT(estrack_judge(t, 1, is_running, on_stop, &s), 0);
    estrack_free(t);
    config_free(cfg);
}

/* Other metrics and non-finite values are not values; a newer attempt
 * or a requeue starts over; an older attempt is ignored. */
static void test_values_and_attempts(void) {
    struct sweep_config *cfg = load(hb_yaml);
    struct seen s = {.running = "r"};
    char *other[1] = {"acc"}, *loss[1] = {"loss"};
    double one = 1, nan_ = NAN, inf = INFINITY;
    struct estrack *t;
    int oom;

    if (!cfg)
        return;
    t = estrack_new(cfg, &oom);
    CHECK_INT(estrack_metric(t, "r", 1, other, &one, 1), 0);
    CHECK_INT(estrack_metric(t, "r", 1, loss, &nan_, 1), 0);
    CHECK_INT(estrack_metric(t, "r", 1, loss, &inf, 1), 0);
    CHECK_INT(estrack_metric(t, "r", 1, loss, &one, 1), 1);
    CHECK_INT(estrack_metric(t, "r", 0, loss, &one, 1), 0); /* older */
    /* one run alone with 1 value: band 1 threshold is its own: kept */
    CHECK_INT(estrack_judge(t, 1, is_running, on_stop, &s), 0);
    CHECK_INT(estrack_metric(t, "r", 2, loss, &one, 1), 1); /* newer */
    estrack_restart(t, "r");
    CHECK(estrack_dirty(t, 0));
    CHECK_INT(estrack_size(t), 1);
    estrack_free(t);
    config_free(cfg);
}

/* Stored runs load with their current attempt's finite values. */
static void test_load(void) {
    struct sweep_config *cfg = load(hb_yaml);
    struct seen s = {.running = "b"};
    json_t *runs = json_loads(
        "[{\"id\": \"a\", \"attempt\": 0, \"history\": [{\"loss\": 10}, "
        "{\"loss\": null}, {\"loss\": 6}]},"
        " {\"id\": \"b\", \"attempt\": 1, \"history\": [{\"loss\": 10}, "
        "{\"acc\": 3}, {\"loss\": 9}]},"
        " {\"id\": \"c\", \"attempt\": 0, \"history\": [{\"loss\": 10}, "
        "{\"loss\": 7}]}]",
        0, NULL);
    struct sweep_config *none =
        load("method: random\nparameters:\n  x: {min: 0.0, max: 1.0}\n");
    struct estrack *t;
    int oom;

    if (!cfg || !runs || !none)
        return;
    CHECK(estrack_new(none, &oom) == NULL); /* no early_terminate */
    CHECK_INT(oom, 0);
    config_free(none);
    t = estrack_new(cfg, &oom);
    CHECK_INT(estrack_load(t, runs), 0);
    CHECK_INT(estrack_size(t), 3);
    /* band 2 values 6, 9, 7: threshold sorted[int(3/2)] = 7; b's 9 > 7 */
    CHECK_INT(estrack_judge(t, 1, is_running, on_stop, &s), 1);
    CHECK(s.n == 1 && !strcmp(s.runs[0], "b"));
    estrack_free(t);
    json_decref(runs);
    config_free(cfg);
}

int main(void) {
    TEST_RUN(test_compat_example);
    TEST_RUN(test_values_and_attempts);
    TEST_RUN(test_load);
    return TEST_DONE();
}

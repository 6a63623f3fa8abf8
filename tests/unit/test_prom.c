/*
 * test_prom.c - the Prometheus text writer: headers, escaping, values,
 * histograms and concurrent observes.
 */
#include <math.h>
#include <pthread.h>

#include "prom.h"
#include "sweep.h"
#include "test.h"

static void test_counter_gauge(void) {
    struct sbuf sb = SBUF_INIT;

    prom_metric(&sb, "sweep_x_total", "counter", "Things.\nDone \\ twice", 42);
    prom_metric(&sb, "sweep_g", "gauge", "A gauge", 0.25);
    CHECK_STR(sbuf_str(&sb),
              "# HELP sweep_x_total Things.\\nDone \\\\ twice\n"
              "# TYPE sweep_x_total counter\n"
              "sweep_x_total 42\n"
              "# HELP sweep_g A gauge\n"
              "# TYPE sweep_g gauge\n"
              "sweep_g 0.25\n");
    sbuf_release(&sb);
}

static void test_labels_escaped(void) {
    struct sbuf sb = SBUF_INIT;

    prom_sample(&sb, "m", 1, "a", "x\"y\\z\nw", "b", "", (const char *)NULL);
    CHECK_STR(sbuf_str(&sb), "m{a=\"x\\\"y\\\\z\\nw\",b=\"\"} 1\n");
    sbuf_reset(&sb);
    prom_sample(&sb, "m", INFINITY, (const char *)NULL);
    prom_sample(&sb, "m", -INFINITY, (const char *)NULL);
    prom_sample(&sb, "m", NAN, (const char *)NULL);
    prom_sample(&sb, "m", -3, (const char *)NULL);
    prom_sample(&sb, "m", 0.1 + 0.2, (const char *)NULL);
    prom_sample(&sb, "m", 1e300, (const char *)NULL);
    CHECK_STR(sbuf_str(&sb), "m +Inf\nm -Inf\nm NaN\nm -3\n"
                             "m 0.30000000000000004\nm 1e+300\n");
    sbuf_release(&sb);
}

static void test_hist(void) {
    const double b[] = {0.1, 1, 10};
    struct prom_hist h;
    struct sbuf sb = SBUF_INIT;

    CHECK_INT(prom_hist_init(&h, b, 3), 0);
    prom_hist_observe(&h, 0.05);
    prom_hist_observe(&h, 0.1); /* le is inclusive */
    prom_hist_observe(&h, 5);
    prom_hist_observe(&h, 100);
    prom_hist_write(&sb, "lat_seconds", "Latency", &h);
    CHECK_STR(sbuf_str(&sb),
              "# HELP lat_seconds Latency\n"
              "# TYPE lat_seconds histogram\n"
              "lat_seconds_bucket{le=\"0.1\"} 2\n"
              "lat_seconds_bucket{le=\"1\"} 2\n"
              "lat_seconds_bucket{le=\"10\"} 3\n"
              "lat_seconds_bucket{le=\"+Inf\"} 4\n"
              "lat_seconds_sum 105.15\n"
              "lat_seconds_count 4\n");
    prom_hist_release(&h);
    sbuf_release(&sb);
}

static void test_hist_bad_bounds(void) {
    const double down[] = {1, 0.5};
    double many[PROM_HIST_MAX + 1];
    struct prom_hist h;

    for (int i = 0; i <= PROM_HIST_MAX; i++)
        many[i] = i;
    CHECK_INT(prom_hist_init(&h, down, 2), SWEEP_EINVAL);
    CHECK_INT(prom_hist_init(&h, many, PROM_HIST_MAX + 1), SWEEP_EINVAL);
}

static void *observer(void *arg) {
    for (int i = 0; i < 10000; i++)
        prom_hist_observe(arg, 1);
    return NULL;
}

static void test_hist_threads(void) {
    const double b[] = {0.5, 2};
    struct prom_hist h;
    pthread_t t[4];
    struct sbuf sb = SBUF_INIT;

    CHECK_INT(prom_hist_init(&h, b, 2), 0);
    for (int i = 0; i < 4; i++)
        CHECK_INT(pthread_create(&t[i], NULL, observer, &h), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    CHECK_INT(h.count, 40000);
    CHECK_INT(h.counts[1], 40000);
    prom_hist_write(&sb, "h", "H", &h);
    CHECK_HAS(sbuf_str(&sb), "h_sum 40000\nh_count 40000\n");
    prom_hist_release(&h);
    sbuf_release(&sb);
}

int main(void) {
    TEST_RUN(test_counter_gauge);
    TEST_RUN(test_labels_escaped);
    TEST_RUN(test_hist);
    TEST_RUN(test_hist_bad_bounds);
    TEST_RUN(test_hist_threads);
    return TEST_DONE();
}

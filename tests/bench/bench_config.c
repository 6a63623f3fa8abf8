/*
 * bench_config.c - how many configs per second config_load_buffer() loads
 * and validates, against bare libyaml event parsing of the same bytes.
 *
 * The baseline is the floor for any loader built on libyaml: scanning and
 * parsing with no tree, no scalar resolution and no validation. The ratio
 * column is our time per load over libyaml's time per parse, so it says
 * what the tree, the checks and the JSON copy cost on top.
 *
 * Run from the repository root (scripts/run-bench.sh does): the example
 * configs are read from config/.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <yaml.h>

#include "config.h"
#include "diag.h"
#include "sbuf.h"

#define BENCH_MIN_SECONDS 1.0
#define BENCH_LARGE_GROUPS 20
#define BENCH_LARGE_PER_GROUP 10

static double now_s(void) {
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Loads buf once; returns 0 when it is a valid config. */
static int load_once(const char *buf, size_t len, const char *name) {
    struct diags d;
    struct sweep_config *cfg;

    diags_init(&d, name);
    cfg = config_load_buffer(buf, len, name, &d);
    if (!cfg)
        diags_print(&d, stderr);
    config_free(cfg);
    diags_release(&d);
    return cfg ? 0 : -1;
}

/* Parses buf with libyaml events only; returns 0 on success. */
static int parse_once(const char *buf, size_t len) {
    yaml_parser_t parser;
    yaml_event_t ev;
    int done = 0, rc = 0;

    if (!yaml_parser_initialize(&parser))
        return -1;
    yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
    while (!done) {
        if (!yaml_parser_parse(&parser, &ev)) {
            rc = -1;
            break;
        }
        done = ev.type == YAML_STREAM_END_EVENT;
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    return rc;
}

/* Calls fn until BENCH_MIN_SECONDS have passed; returns calls per second,
 * or -1 if a call failed. */
static double rate(int (*fn)(const char *, size_t, const char *),
                   const char *buf, size_t len, const char *name) {
    double start = now_s(), elapsed;
    long n = 0;

    do {
        if (fn(buf, len, name) < 0)
            return -1;
        n++;
        elapsed = now_s() - start;
    } while (elapsed < BENCH_MIN_SECONDS);
    return (double)n / elapsed;
}

static int parse_adapter(const char *buf, size_t len, const char *name) {
    (void)name;
    return parse_once(buf, len);
}

static char *read_file(const char *path, size_t *len) {
    struct sbuf sb = SBUF_INIT;
    FILE *fp = fopen(path, "rb");
    char chunk[8192];
    size_t n;

    if (!fp) {
        fprintf(stderr, "bench_config: cannot open '%s'\n", path);
        return NULL;
    }
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
        sbuf_add(&sb, chunk, n);
    fclose(fp);
    *len = sb.len;
    return sbuf_detach(&sb);
}

/* One leaf parameter of the large config, cycling through the kinds. */
static void large_param(struct sbuf *sb, int i) {
    sbuf_addf(sb, "      p%03d:\n", i);
    switch (i % 8) {
    case 0:
        sbuf_addf(sb, "        values: [%d, %d, %d, %d]\n", i, i + 1, i + 2,
                  i + 3);
        break;
    case 1:
        sbuf_adds(sb, "        distribution: uniform\n"
                      "        min: -1.5\n        max: 2.5\n");
        break;
    case 2:
        sbuf_addf(sb, "        distribution: int_uniform\n"
                      "        min: %d\n        max: %d\n", i, i * 10 + 1);
        break;
    case 3:
        sbuf_adds(sb, "        distribution: log_uniform_values\n"
                      "        min: 1e-5\n        max: 0.1\n");
        break;
    case 4:
        sbuf_adds(sb, "        distribution: q_uniform\n"
                      "        min: 0\n        max: 1\n        q: 0.05\n");
        break;
    case 5:
        sbuf_adds(sb, "        distribution: normal\n"
                      "        mu: 0.5\n        sigma: 0.1\n");
        break;
    case 6:
        sbuf_adds(sb, "        distribution: categorical_w_probabilities\n"
                      "        values: [adam, sgd, rmsprop]\n"
                      "        probabilities: [0.5, 0.3, 0.2]\n");
        break;
    default:
        sbuf_adds(sb, "        value: \"constant text\"\n");
        break;
    }
}

/* A random sweep of BENCH_LARGE_GROUPS * BENCH_LARGE_PER_GROUP parameters
 * in nested groups, with every top-level section filled in. */
static char *large_config(size_t *len) {
    struct sbuf sb = SBUF_INIT;

    sbuf_adds(&sb, "program: train.py\nmethod: random\nrun_cap: 1000\n"
                   "metric:\n  name: val_loss\n  goal: minimize\n"
                   "early_terminate:\n  type: hyperband\n  min_iter: 3\n"
                   "command: [python, train.py]\nparameters:\n");
    for (int g = 0; g < BENCH_LARGE_GROUPS; g++) {
        sbuf_addf(&sb, "  group%02d:\n    parameters:\n", g);
        for (int k = 0; k < BENCH_LARGE_PER_GROUP; k++)
            large_param(&sb, g * BENCH_LARGE_PER_GROUP + k);
    }
    *len = sb.len;
    return sbuf_detach(&sb);
}

/* Measures one config and prints its row; returns -1 on failure. */
static int bench_one(const char *label, const char *buf, size_t len) {
    double ours, base;

    if (load_once(buf, len, label) < 0) {
        fprintf(stderr, "bench_config: %s does not load\n", label);
        return -1;
    }
    ours = rate(load_once, buf, len, label);
    base = rate(parse_adapter, buf, len, label);
    if (ours <= 0 || base <= 0) {
        fprintf(stderr, "bench_config: %s failed while measuring\n", label);
        return -1;
    }
    printf("| %-32s | %7zu | %10.0f | %17.0f | %5.2f |\n", label, len, ours,
           base, base / ours);
    return 0;
}

int main(void) {
    static const char *const files[] = {"config/grid-lr.yaml",
                                        "config/random.yaml",
                                        "config/bayes-hyperband.yaml"};
    char label[64];
    size_t len;
    char *buf;
    int rc = 0;

    printf("config loading: config_load_buffer() vs bare libyaml events "
           "(>= %.0f s each)\n\n", BENCH_MIN_SECONDS);
    printf("| %-32s | %7s | %10s | %17s | %5s |\n", "config", "bytes",
           "loads/s", "baseline parses/s", "ratio");
    printf("|%s|%s|%s|%s|%s|\n", "----------------------------------",
           "---------", "------------", "-------------------", "-------");
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        if (!(buf = read_file(files[i], &len)))
            return 1;
        rc |= bench_one(files[i], buf, len);
        free(buf);
    }
    if (!(buf = large_config(&len))) {
        fprintf(stderr, "bench_config: out of memory\n");
        return 1;
    }
    snprintf(label, sizeof(label), "generated: %d params, %d groups",
             BENCH_LARGE_GROUPS * BENCH_LARGE_PER_GROUP, BENCH_LARGE_GROUPS);
    rc |= bench_one(label, buf, len);
    free(buf);
    printf("\nratio = our time per load / libyaml time per parse\n");
    return rc ? 1 : 0;
}

/*
 * fuzz_metrics.c - libFuzzer target for the metric lines a program
 * prints: metrics_parse_kv() (name=value pairs on stdout and stderr) and
 * metrics_parse_json() (JSON lines on SWEEP_METRICS_FD, bare NaN and
 * Infinity included). Any program's output reaches them.
 *
 * Besides crashes, leaks and hangs it checks their contract: a refused
 * line leaves an empty set; an accepted one has at most
 * METRICS_MAX_PER_LINE distinct, non-empty names that fit their buffer
 * (kv names of the documented characters); and printing what was read
 * back in the same form reads the same set again.
 *
 * Linked with replay.c instead of libFuzzer it replays tests/fuzz/metrics
 * under the normal (or asan) build.
 */
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "metrics.h"
#include "sbuf.h"

const char *const fuzz_replay_paths[] = {"tests/fuzz/metrics", NULL};

/* One metric_set is 33 KiB: static, not on the stack. */
static struct metric_set first, again;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    return 0;
}

static void fuzz_set_ok(const struct metric_set *s, int kv) {
    FUZZ_CHECK(s->n <= METRICS_MAX_PER_LINE);
    for (size_t i = 0; i < s->n; i++) {
        size_t len = strnlen(s->names[i], METRICS_MAX_NAME);
        FUZZ_CHECK(len > 0 && len < METRICS_MAX_NAME);
        for (size_t j = 0; kv && j < len; j++)
            FUZZ_CHECK(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuv"
                              "wxyz_0123456789./-",
                              s->names[i][j]) != NULL);
        for (size_t j = 0; j < i; j++)
            FUZZ_CHECK(strcmp(s->names[i], s->names[j]) != 0);
    }
}

static int same_value(double a, double b) {
    return (isnan(a) && isnan(b)) || a == b;
}

/* first and again hold the same metrics in the same order. */
static void fuzz_same(void) {
    FUZZ_CHECK(again.n == first.n);
    FUZZ_CHECK(again.has_step == first.has_step);
    FUZZ_CHECK(!first.has_step || again.step == first.step);
    for (size_t i = 0; i < first.n && i < again.n; i++) {
        FUZZ_CHECK(strcmp(first.names[i], again.names[i]) == 0);
        FUZZ_CHECK(same_value(first.values[i], again.values[i]));
    }
}

/* A number as the JSON form reads it (bare NaN and Infinity). */
static void json_number(struct sbuf *sb, double v) {
    if (isnan(v))
        sbuf_adds(sb, "NaN");
    else if (isinf(v))
        sbuf_adds(sb, v > 0 ? "Infinity" : "-Infinity");
    else
        sbuf_addf(sb, "%.17g", v);
}

static void fuzz_kv_again(void) {
    struct sbuf sb = SBUF_INIT;

    for (size_t i = 0; i < first.n; i++)
        sbuf_addf(&sb, "%s=%.17g ", first.names[i], first.values[i]);
    if (first.has_step)
        sbuf_addf(&sb, "_step=%" PRId64, first.step);
    if (sb.len == 0) /* only a _step that was no integer */
        return;
    FUZZ_CHECK(!sbuf_oom(&sb));
    FUZZ_CHECK(metrics_parse_kv(sbuf_str(&sb), sb.len, &again) == 1);
    fuzz_same();
    sbuf_release(&sb);
}

static void fuzz_json_again(void) {
    struct sbuf sb = SBUF_INIT;

    sbuf_adds(&sb, "{");
    for (size_t i = 0; i < first.n; i++) {
        json_t *name = json_string(first.names[i]);
        char *q = name ? json_dumps(name, JSON_ENCODE_ANY) : NULL;
        FUZZ_CHECK(q != NULL);
        sbuf_addf(&sb, "%s%s: ", i ? ", " : "", q);
        json_number(&sb, first.values[i]);
        free(q);
        json_decref(name);
    }
    if (first.has_step)
        sbuf_addf(&sb, "%s\"_step\": %" PRId64, first.n ? ", " : "",
                    first.step);
    sbuf_adds(&sb, "}");
    FUZZ_CHECK(!sbuf_oom(&sb));
    FUZZ_CHECK(metrics_parse_json(sbuf_str(&sb), sb.len, &again) == 1);
    fuzz_same();
    sbuf_release(&sb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *line = (const char *)data;

    if (metrics_parse_kv(line, size, &first)) {
        fuzz_set_ok(&first, 1);
        fuzz_kv_again();
    } else {
        FUZZ_CHECK(first.n == 0 && !first.has_step);
    }
    if (metrics_parse_json(line, size, &first)) {
        fuzz_set_ok(&first, 0);
        fuzz_json_again();
    } else {
        FUZZ_CHECK(first.n == 0 && !first.has_step);
    }
    return 0;
}

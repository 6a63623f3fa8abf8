/* test_metrics.c - the name=value and JSON line parsers of metrics.c. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "metrics.h"
#include "sbuf.h"
#include "test.h"

static struct metric_set ms;

static int kv(const char *s) {
    return metrics_parse_kv(s, strlen(s), &ms);
}
static int js(const char *s) {
    return metrics_parse_json(s, strlen(s), &ms);
}

/* Integers as such, else the shortest %g form that reads back as v. */
static void fmt(char *buf, size_t size, double v) {
    int prec;

    if (v == floor(v) && fabs(v) < 1e15) {
        snprintf(buf, size, "%.0f", v);
        return;
    }
    for (prec = 1; prec < 17; prec++) {
        snprintf(buf, size, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            return;
    }
    snprintf(buf, size, "%.17g", v);
}

/* The parsed set as "a=1 b=2 @5" (step last when present). */
static const char *dump(void) {
    static char buf[64 * 1024];
    char num[40];
    size_t i, o = 0;

    buf[0] = '\0';
    for (i = 0; i < ms.n && o < sizeof(buf) - 256; i++) {
        fmt(num, sizeof(num), ms.values[i]);
        o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s=%s", i ? " " : "",
                              ms.names[i], num);
    }
    if (ms.has_step)
        snprintf(buf + o, sizeof(buf) - o, "%s@%lld", o ? " " : "",
                 (long long)ms.step);
    return buf;
}

static void test_kv_valid(void) {
    CHECK_INT(kv("loss=0.31"), 1);
    CHECK_STR(dump(), "loss=0.31");
    CHECK_INT(kv("epoch=3 loss=0.31 acc=0.9"), 1);
    CHECK_STR(dump(), "epoch=3 loss=0.31 acc=0.9");
    CHECK_INT(kv("  \ta=1   b=-2.5e-3\r\n"), 1);
    CHECK_STR(dump(), "a=1 b=-0.0025");
    CHECK_INT(kv("val/loss=1 train.acc=2 x-y=3 _a9=4 A=5"), 1);
    CHECK_STR(dump(), "val/loss=1 train.acc=2 x-y=3 _a9=4 A=5");
    CHECK_INT(kv("h=0x10 p=+7 e=1E3 d=.5"), 1);
    CHECK_STR(dump(), "h=16 p=7 e=1000 d=0.5");
    CHECK_INT(kv("big=1e400 tiny=1e-400"), 1); /* strtod: inf and 0 */
    CHECK(isinf(ms.values[0]) && ms.values[0] > 0);
    CHECK_DBL(ms.values[1], 0, 0);
    CHECK(!ms.has_step);
}

static void test_kv_nonfinite(void) {
    CHECK_INT(kv("a=nan b=NaN c=inf d=-inf e=Infinity f=-INF g=nan(0x1)"), 1);
    CHECK_INT(ms.n, 7);
    CHECK(isnan(ms.values[0]) && isnan(ms.values[1]) && isnan(ms.values[6]));
    CHECK(isinf(ms.values[2]) && ms.values[2] > 0);
    CHECK(isinf(ms.values[3]) && ms.values[3] < 0);
    CHECK(isinf(ms.values[4]) && ms.values[4] > 0);
    CHECK(isinf(ms.values[5]) && ms.values[5] < 0);
    CHECK_INT(kv("a=nanx"), 0);
    CHECK_INT(kv("a=infinit"), 0);
}

static void test_kv_rejected(void) {
    const char *bad[] = {
        "epoch 3 done", "loss: 0.31",    "loss=0.31 done", "loss=",
        "=1",           "loss",          "loss==1",        "loss=1=2",
        "loss=0.31,",   "loss=1e",       "loss=0x",        "3a=1",
        ".a=1",         "-a=1",          "a b=1",          "a=1 b",
        "a=1 =2",       "lo ss=1",       "na\xc3\xa9me=1", "a=1\x01",
        "a=\"1\"",      "a=1 # comment", "a=--1",          "a= 1",
        "a =1",         "{\"a\": 1}",    "a=1;b=2",        "a=1,b=2",
        "a=0.5%",       "a=1_000",
    };
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (kv(bad[i]) != 0 || ms.n != 0 || ms.has_step)
            fprintf(stderr, "  accepted: \"%s\"\n", bad[i]);
        CHECK_INT(kv(bad[i]), 0);
        CHECK_INT(ms.n, 0);
    }
}

static void test_kv_empty(void) {
    CHECK_INT(kv(""), 0);
    CHECK_INT(kv("   \t\r\n"), 0);
    CHECK_INT(metrics_parse_kv(NULL, 0, &ms), 0);
    CHECK_INT(metrics_parse_kv("a=1", 0, &ms), 0); /* len is honoured */
    CHECK_INT(metrics_parse_kv("a=12 junk", 4, &ms), 1);
    CHECK_STR(dump(), "a=12");
}

static void test_kv_step(void) {
    CHECK_INT(kv("loss=1 _step=5"), 1);
    CHECK_STR(dump(), "loss=1 @5");
    CHECK_INT(kv("_step=7 loss=1"), 1);
    CHECK_STR(dump(), "loss=1 @7");
    CHECK_INT(kv("loss=1 _step=5.0"), 1);
    CHECK_STR(dump(), "loss=1 @5");
    CHECK_INT(kv("loss=1 _step=-3"), 1);
    CHECK_STR(dump(), "loss=1 @-3");
    CHECK_INT(kv("loss=1 _step=1e3"), 1);
    CHECK_STR(dump(), "loss=1 @1000");
    /* Not an integer, or beyond int64: ignored, the rest kept. */
    CHECK_INT(kv("loss=1 _step=2.5"), 1);
    CHECK_STR(dump(), "loss=1");
    CHECK_INT(kv("loss=1 _step=nan"), 1);
    CHECK_STR(dump(), "loss=1");
    CHECK_INT(kv("loss=1 _step=inf"), 1);
    CHECK_STR(dump(), "loss=1");
    CHECK_INT(kv("loss=1 _step=1e19"), 1);
    CHECK_STR(dump(), "loss=1");
    CHECK_INT(kv("loss=1 _step=x"), 0); /* still must be a number */
    CHECK_INT(kv("_step=4"), 1);        /* a step alone: no metrics */
    CHECK_INT(ms.n, 0);
    CHECK(ms.has_step && ms.step == 4);
    CHECK_INT(kv("_steps=4"), 1); /* only "_step" itself is special */
    CHECK_STR(dump(), "_steps=4");
}

static void test_kv_duplicates(void) {
    CHECK_INT(kv("a=1 b=2 a=3"), 1);
    CHECK_STR(dump(), "a=3 b=2");
}

static void test_kv_names(void) {
    char line[512];

    memset(line, 'n', METRICS_MAX_NAME - 1);
    strcpy(line + METRICS_MAX_NAME - 1, "=1");
    CHECK_INT(kv(line), 1);
    CHECK_INT(strlen(ms.names[0]), METRICS_MAX_NAME - 1);
    memset(line, 'n', METRICS_MAX_NAME);
    strcpy(line + METRICS_MAX_NAME, "=1");
    CHECK_INT(kv(line), 0);
    memset(line, 'n', 400);
    strcpy(line + 400, "=1 a=2");
    CHECK_INT(kv(line), 0);
}

static void test_kv_many_pairs(void) {
    struct sbuf sb = SBUF_INIT;
    int i;

    for (i = 0; i < METRICS_MAX_PER_LINE; i++)
        sbuf_addf(&sb, "m%d=%d ", i, i);
    sbuf_adds(&sb, "_step=9"); /* not a metric: does not count */
    CHECK_INT(kv(sbuf_str(&sb)), 1);
    CHECK_INT(ms.n, METRICS_MAX_PER_LINE);
    CHECK_STR(ms.names[255], "m255");
    CHECK_DBL(ms.values[255], 255, 0);
    CHECK(ms.has_step && ms.step == 9);
    sbuf_adds(&sb, " one=1");
    CHECK_INT(kv(sbuf_str(&sb)), 0);
    CHECK_INT(ms.n, 0);
    sbuf_reset(&sb);
    for (i = 0; i < 300; i++)
        sbuf_addf(&sb, "m%d=%d ", i, i);
    CHECK_INT(kv(sbuf_str(&sb)), 0);
    CHECK_INT(ms.n, 0);
    /* Many repeats of a few names fit. */
    sbuf_reset(&sb);
    for (i = 0; i < 1000; i++)
        sbuf_addf(&sb, "m%d=%d ", i % 10, i);
    CHECK_INT(kv(sbuf_str(&sb)), 1);
    CHECK_INT(ms.n, 10);
    CHECK_DBL(ms.values[9], 999, 0);
    sbuf_release(&sb);
}

static void test_kv_nul_and_garbage(void) {
    static const char nul1[] = "a=1\0b=2";
    static const char nul2[] = "a=1 \0";
    static const char nul3[] = "a\0=1";
    static const char nul4[] = "a=1\0";
    char buf[4096];
    size_t i;
    unsigned seed = 12345;
    int accepted = 0;

    CHECK_INT(metrics_parse_kv(nul1, sizeof(nul1) - 1, &ms), 0);
    CHECK_INT(metrics_parse_kv(nul2, sizeof(nul2) - 1, &ms), 0);
    CHECK_INT(metrics_parse_kv(nul3, sizeof(nul3) - 1, &ms), 0);
    CHECK_INT(metrics_parse_kv(nul4, sizeof(nul4) - 1, &ms), 0);
    /* Not NUL-terminated: a buffer of '1's right up to its end. */
    memset(buf, '1', sizeof(buf));
    memcpy(buf, "a=", 2);
    CHECK_INT(metrics_parse_kv(buf, 2 + 500, &ms), 1);
    CHECK_INT(metrics_parse_kv(buf, sizeof(buf), &ms), 0); /* too long */
    /* Random pieces of what matters: no crash, and what is accepted is
     * well formed. */
    for (i = 0; i < 20000; i++) {
        static const char *const piece[] = {
            "a",   "b_",  "=",    "1",  ".5",   "e-",     "+",      " ",  "\t",
            "nan", "inf", "\xff", "/x", "a=1 ", "b=2.5 ", "_step=", "0x", "("};
        size_t k = (size_t)(rand_r(&seed) % 8), len = 0, pl;

        while (k--) {
            const char *pc = piece[rand_r(&seed) % 18];

            pl = strlen(pc);
            memcpy(buf + len, pc, pl);
            len += pl;
            if (rand_r(&seed) % 16 == 0)
                buf[len++] = '\0';
        }
        if (metrics_parse_kv(buf, len, &ms)) {
            accepted++; /* possibly only an ignored _step: n == 0 */
            CHECK(ms.n <= METRICS_MAX_PER_LINE);
        } else {
            CHECK_INT(ms.n, 0);
        }
    }
    CHECK(accepted > 0);
}

static void test_kv_overlong_line(void) {
    size_t len = 8 * 1024 * 1024;
    char *big = malloc(len);

    CHECK(big != NULL);
    if (!big)
        return;
    memset(big, 'x', len);
    CHECK_INT(metrics_parse_kv(big, len, &ms), 0); /* one huge name */
    memset(big, ' ', len);
    CHECK_INT(metrics_parse_kv(big, len, &ms), 0); /* blank */
    memcpy(big + len - 3, "a=1", 3);
    CHECK_INT(metrics_parse_kv(big, len, &ms), 1);
    CHECK_STR(dump(), "a=1");
    free(big);
}

static void test_json_valid(void) {
    CHECK_INT(js("{\"loss\": 0.31, \"_step\": 5}"), 1);
    CHECK_STR(dump(), "loss=0.31 @5");
    CHECK_INT(js("{\"a\":1,\"b\":-2.5,\"c\":1e3}"), 1);
    CHECK_STR(dump(), "a=1 b=-2.5 c=1000");
    CHECK_INT(js("  {\"val loss\": 1, \"\xc3\xa9t\xc3\xa9\": 2}\r\n"), 1);
    CHECK_STR(dump(), "val loss=1 \xc3\xa9t\xc3\xa9=2");
    CHECK_INT(js("{}"), 1);
    CHECK_INT(ms.n, 0);
    CHECK(!ms.has_step);
    CHECK_INT(js("{\"a\": 9007199254740993}"), 1); /* integers as double */
    CHECK_DBL(ms.values[0], 9007199254740992.0, 0);
}

static void test_json_skipped_members(void) {
    CHECK_INT(js("{\"a\": 1, \"ok\": true, \"no\": false, \"s\": \"3\", "
                 "\"n\": null, \"o\": {\"x\": 1}, \"l\": [1, 2], \"b\": 2}"),
              1);
    CHECK_STR(dump(), "a=1 b=2");
    CHECK_INT(js("{\"s\": \"NaN\", \"t\": \"inf\"}"), 1); /* strings */
    CHECK_INT(ms.n, 0);
    CHECK_INT(js("{\"\": 1, \"a\": 2}"), 1); /* empty name skipped */
    CHECK_STR(dump(), "a=2");
    /* jansson refuses NUL in a name, so the whole line goes. */
    CHECK_INT(js("{\"a\\u0000b\": 1, \"c\": 2}"), 0);
    CHECK_INT(js("{\"s\": \"x\\u0000y\", \"c\": 2}"), 1); /* NUL in a value */
    CHECK_STR(dump(), "c=2");
    CHECK_INT(js("{\"a\": 1, \"a\": 2}"), 1); /* last wins */
    CHECK_STR(dump(), "a=2");
}

static void test_json_step(void) {
    CHECK_INT(js("{\"_step\": 5.0, \"a\": 1}"), 1);
    CHECK_STR(dump(), "a=1 @5");
    CHECK_INT(js("{\"_step\": -2}"), 1);
    CHECK_STR(dump(), "@-2");
    CHECK_INT(js("{\"_step\": 9223372036854775807}"), 1);
    CHECK(ms.has_step && ms.step == INT64_MAX);
    CHECK_INT(js("{\"_step\": 2.5, \"a\": 1}"), 1);
    CHECK_STR(dump(), "a=1");
    CHECK_INT(js("{\"_step\": \"5\", \"a\": 1}"), 1);
    CHECK_STR(dump(), "a=1");
    CHECK_INT(js("{\"_step\": true, \"a\": 1}"), 1);
    CHECK_STR(dump(), "a=1");
    CHECK_INT(js("{\"_step\": 1e30, \"a\": 1}"), 1);
    CHECK_STR(dump(), "a=1");
    CHECK_INT(js("{\"_step\": NaN, \"a\": 1}"), 1);
    CHECK_STR(dump(), "a=1");
}

static void test_json_nonfinite(void) {
    CHECK_INT(js("{\"loss\": NaN, \"a\": Infinity, \"b\": -Infinity, "
                 "\"_step\": 2}"),
              1);
    CHECK_INT(ms.n, 3);
    CHECK(isnan(ms.values[0]));
    CHECK(isinf(ms.values[1]) && ms.values[1] > 0);
    CHECK(isinf(ms.values[2]) && ms.values[2] < 0);
    CHECK(ms.has_step && ms.step == 2);
    /* Inside strings the words are text and stay so. */
    CHECK_INT(js("{\"NaN\": NaN, \"s\": \"a NaN \\\" Infinity\"}"), 1);
    CHECK_STR(ms.names[0], "NaN");
    CHECK_INT(ms.n, 1);
    CHECK_INT(js("[NaN]"), 0);
    CHECK_INT(js("{\"a\": NaNa}"), 0);
    CHECK_INT(js("{\"a\": xNaN}"), 0);
    CHECK_INT(js("{\"a\": nan}"), 0);
    CHECK_INT(js("{\"a\": 1NaN}"), 0);
    CHECK_INT(js("NaN"), 0);
    CHECK_INT(js("{\"a\": \"\\u0000NaN\"}"), 1); /* no bare word: a string */
    CHECK_INT(ms.n, 0);
}

static void test_json_rejected(void) {
    const char *bad[] = {
        "",
        "   ",
        "1",
        "\"a\"",
        "null",
        "true",
        "[1, 2]",
        "[{\"a\": 1}]",
        "{",
        "{\"a\": 1",
        "{\"a\" 1}",
        "{\"a\": 1} x",
        "{a: 1}",
        "{'a': 1}",
        "{\"a\": 1,}",
        "{\"a\": 01}",
        "loss=1",
        "{\"a\": 1}{}",
        "{\"a\": 1e99999}",
        "{\"a\": 99999999999999999999999}",
        "{\"a\": \"\xff\"}",
    };
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (js(bad[i]) != 0)
            fprintf(stderr, "  accepted: \"%s\"\n", bad[i]);
        CHECK_INT(js(bad[i]), 0);
        CHECK_INT(ms.n, 0);
        CHECK(!ms.has_step);
    }
    CHECK_INT(metrics_parse_json(NULL, 0, &ms), 0);
}

static void test_json_nul_bytes(void) {
    static const char raw[] = "{\"a\": 1}\0{\"b\": 2}";
    static const char inkey[] = "{\"a\0b\": 1}";

    CHECK_INT(metrics_parse_json(raw, sizeof(raw) - 1, &ms), 0);
    CHECK_INT(metrics_parse_json(raw, 8, &ms), 1);
    CHECK_STR(dump(), "a=1");
    CHECK_INT(metrics_parse_json(inkey, sizeof(inkey) - 1, &ms), 0);
}

static void test_json_limits(void) {
    struct sbuf sb = SBUF_INIT;
    char name[300];
    int i;

    sbuf_addc(&sb, '{');
    for (i = 0; i < METRICS_MAX_PER_LINE; i++)
        sbuf_addf(&sb, "\"m%d\": %d, ", i, i);
    sbuf_adds(&sb, "\"s\": \"text\", \"_step\": 1}");
    CHECK_INT(js(sbuf_str(&sb)), 1);
    CHECK_INT(ms.n, METRICS_MAX_PER_LINE);
    sbuf_reset(&sb);
    sbuf_addc(&sb, '{');
    for (i = 0; i < 300; i++)
        sbuf_addf(&sb, "%s\"m%d\": %d", i ? ", " : "", i, i);
    sbuf_addc(&sb, '}');
    CHECK_INT(js(sbuf_str(&sb)), 0);
    CHECK_INT(ms.n, 0);
    /* A name too long for the set is skipped, not the line. */
    memset(name, 'k', sizeof(name));
    name[METRICS_MAX_NAME] = '\0';
    sbuf_reset(&sb);
    sbuf_addf(&sb, "{\"%s\": 1, \"a\": 2}", name);
    CHECK_INT(js(sbuf_str(&sb)), 1);
    CHECK_STR(dump(), "a=2");
    name[METRICS_MAX_NAME - 1] = '\0';
    sbuf_reset(&sb);
    sbuf_addf(&sb, "{\"%s\": 1}", name);
    CHECK_INT(js(sbuf_str(&sb)), 1);
    CHECK_INT(ms.n, 1);
    CHECK_INT(strlen(ms.names[0]), METRICS_MAX_NAME - 1);
    /* Deep nesting is skipped (or refused), never a crash. */
    sbuf_reset(&sb);
    sbuf_adds(&sb, "{\"a\": 1, \"d\": ");
    for (i = 0; i < 100000; i++)
        sbuf_addc(&sb, '[');
    for (i = 0; i < 100000; i++)
        sbuf_addc(&sb, ']');
    sbuf_addc(&sb, '}');
    CHECK(js(sbuf_str(&sb)) == 0 || ms.n == 1);
    sbuf_release(&sb);
}

static void test_json_garbage(void) {
    char buf[256];
    unsigned seed = 777;
    int i, accepted = 0;

    for (i = 0; i < 20000; i++) {
        const char alpha[] = "{}[]\":,1.-eNaInfity \\u0\0\xc3\xa9"
                             "ab_";
        size_t len = (size_t)(rand_r(&seed) % 60), j;

        for (j = 0; j < len; j++)
            buf[j] = alpha[rand_r(&seed) % (sizeof(alpha) - 1)];
        if (rand_r(&seed) % 2 && len > 1) {
            buf[0] = '{';
            buf[len - 1] = '}';
        }
        if (metrics_parse_json(buf, len, &ms)) {
            accepted++;
            CHECK(ms.n <= METRICS_MAX_PER_LINE);
        } else {
            CHECK_INT(ms.n, 0);
        }
    }
    CHECK(accepted > 0);
}

int main(void) {
    TEST_RUN(test_kv_valid);
    TEST_RUN(test_kv_nonfinite);
    TEST_RUN(test_kv_rejected);
    TEST_RUN(test_kv_empty);
    TEST_RUN(test_kv_step);
    TEST_RUN(test_kv_duplicates);
    TEST_RUN(test_kv_names);
    TEST_RUN(test_kv_many_pairs);
    TEST_RUN(test_kv_nul_and_garbage);
    TEST_RUN(test_kv_overlong_line);
    TEST_RUN(test_json_valid);
    TEST_RUN(test_json_skipped_members);
    TEST_RUN(test_json_step);
    TEST_RUN(test_json_nonfinite);
    TEST_RUN(test_json_rejected);
    TEST_RUN(test_json_nul_bytes);
    TEST_RUN(test_json_limits);
    TEST_RUN(test_json_garbage);
    return TEST_DONE();
}

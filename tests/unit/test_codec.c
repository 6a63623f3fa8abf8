/* test_codec.c - codec.c and msg.c: every kind through the Confluent wire
 * format and back, the exact header bytes, and decoding of hostile input
 * (short, truncated, trailing bytes, garbage, huge length prefixes).
 *
 * Two more modes serve tests/integration/test_wire.sh:
 *   test_codec DIR            writes DIR/KIND.bin (every optional field set)
 *                             and DIR/KIND_min.bin (none set), then exits
 *   test_codec --decode FILE  decodes FILE and prints it as one JSON line
 *                             (metric events as codec_metric_json() does)
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>

#include "codec.h"
#include "msg.h"
#include "sweep.h"
#include "test.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define TS 1700000000123LL

static struct codec *C;

/* Both NULL, or equal strings. */
#define CHECK_OPT_STR(a, b)                                                    \
    do {                                                                       \
        const char *x_ = (a), *y_ = (b);                                       \
        if (x_ || y_)                                                          \
            CHECK_STR(x_, y_);                                                 \
    } while (0)

/* ---- sample messages (heap-owned, released with msg_release) ------------ */

static char *S(const char *s) {
    return s ? strdup(s) : NULL;
}

static char **V(const char *const *v, size_t n) {
    char **out = calloc(n + 1, sizeof(*out));

    for (size_t i = 0; i < n; i++)
        out[i] = strdup(v[i]);
    return out;
}

static void sample_run(struct msg_run *r, int full) {
    r->sweep_id = S("sw-1");
    r->run_id = S("run-42");
    r->worker_id = S(full ? "w-7" : "w-\xc3\xa9");
    r->attempt = 3;
    r->seq = 9;
    r->ts_ms = TS;
}

static const char *const sample_cmd[] = {"${env}", "${interpreter}",
                                         "${program}", "${args}"};
static const char *const sample_running[] = {"run-42", "run-43"};
static const char *const sample_names[] = {
    "loss", "acc", "lr", "a\"b\\c", "\xe6\x97\xa5", "nan", "inf"};

/* full: every optional field set; otherwise none. */
static void sample(enum msg_kind k, int full, struct msg *m) {
    memset(m, 0, sizeof(*m));
    m->kind = k;
    switch (k) {
    case MSG_SWEEP_CONTROL:
        m->u.control.sweep_id = S("sw-1");
        m->u.control.action = full ? CTL_CREATE : CTL_CANCEL;
        m->u.control.ts_ms = TS;
        m->u.control.config_json = S(full ? "{\"method\":\"grid\"}" : NULL);
        m->u.control.name = S(full ? "d\xc3\xa9mo \xe2\x9c\x93" : NULL);
        break;
    case MSG_RUN_ASSIGNMENT:
        sample_run(&m->u.assign.r, full);
        if (!full) {
            free(m->u.assign.r.worker_id);
            m->u.assign.r.worker_id = NULL;
        }
        m->u.assign.params_json =
            S("{\"lr\":0.001,\"opt\":{\"name\":\"adam\"}}");
        m->u.assign.program = S(full ? "train.py" : NULL);
        if (full) {
            m->u.assign.command = V(sample_cmd, N(sample_cmd));
            m->u.assign.ncommand = N(sample_cmd);
        }
        break;
    case MSG_RUN_LIFECYCLE:
        sample_run(&m->u.life.r, full);
        m->u.life.event = full ? LC_KILLED : LC_STARTED;
        m->u.life.has_exit_code = full;
        m->u.life.exit_code = full ? 137 : 0;
        m->u.life.signal = full ? 15 : 0;
        m->u.life.reason = S(full ? "stopped by hyperband" : NULL);
        m->u.life.last_metric_seq = full ? 8 : -1;
        break;
    case MSG_METRIC_EVENT:
        sample_run(&m->u.metric.r, full);
        m->u.metric.has_step = full;
        m->u.metric.step = full ? 5 : 0;
        if (full) {
            static const double vals[] = {0.31,  0.9, 1e-05,   -0.0,
                                          3e300, NAN, INFINITY};

            m->u.metric.n = N(sample_names);
            m->u.metric.names = V(sample_names, N(sample_names));
            m->u.metric.values = malloc(sizeof(vals));
            memcpy(m->u.metric.values, vals, sizeof(vals));
        }
        break;
    case MSG_RUN_COMMAND:
        sample_run(&m->u.cmd.r, full);
        m->u.cmd.command = RCMD_STOP;
        m->u.cmd.reason = S(full ? "hyperband band 3" : NULL);
        break;
    case MSG_WORKER_STATUS:
        m->u.worker.worker_id = S("w-7");
        m->u.worker.pool = S(full ? "gpu" : NULL);
        m->u.worker.sweep_id = S(full ? "sw-1" : NULL);
        m->u.worker.state = full ? WS_BUSY : WS_IDLE;
        m->u.worker.seq = 12;
        m->u.worker.ts_ms = TS;
        m->u.worker.host = S("node-1");
        m->u.worker.pid = 4242;
        m->u.worker.received = full ? 7 : 0;
        if (full) {
            m->u.worker.running = V(sample_running, N(sample_running));
            m->u.worker.nrunning = N(sample_running);
        }
        break;
    default:
        break;
    }
}

/* ---- comparison ----------------------------------------------------- */

static void check_strv(char **a, size_t na, char **b, size_t nb) {
    CHECK_INT(na, nb);
    for (size_t i = 0; i < na && i < nb; i++)
        CHECK_STR(a[i], b[i]);
    if (b)
        CHECK(b[nb] == NULL); /* decoded vectors are NULL-terminated */
}

static void check_run(const struct msg_run *a, const struct msg_run *b) {
    CHECK_OPT_STR(a->sweep_id, b->sweep_id);
    CHECK_OPT_STR(a->run_id, b->run_id);
    CHECK_OPT_STR(a->worker_id, b->worker_id);
    CHECK_INT(a->attempt, b->attempt);
    CHECK_INT(a->seq, b->seq);
    CHECK_INT(a->ts_ms, b->ts_ms);
}

static void check_metric(const struct msg_metric_event *a,
                         const struct msg_metric_event *b) {
    check_run(&a->r, &b->r);
    CHECK_INT(a->has_step, b->has_step);
    if (a->has_step)
        CHECK_INT(a->step, b->step);
    CHECK_INT(a->n, b->n);
    for (size_t i = 0; i < a->n && i < b->n; i++) {
        CHECK_STR(a->names[i], b->names[i]);
        /* Bit for bit: NaN, -0.0 and infinities included. */
        CHECK(memcmp(&a->values[i], &b->values[i], sizeof(double)) == 0);
    }
}

static void check_equal(const struct msg *a, const struct msg *b) {
    CHECK_INT(a->kind, b->kind);
    if (a->kind != b->kind)
        return;
    switch (a->kind) {
    case MSG_SWEEP_CONTROL: {
        const struct msg_sweep_control *x = &a->u.control, *y = &b->u.control;

        CHECK_STR(x->sweep_id, y->sweep_id);
        CHECK_INT(x->action, y->action);
        CHECK_INT(x->ts_ms, y->ts_ms);
        CHECK_OPT_STR(x->config_json, y->config_json);
        CHECK_OPT_STR(x->name, y->name);
        break;
    }
    case MSG_RUN_ASSIGNMENT: {
        const struct msg_run_assignment *x = &a->u.assign, *y = &b->u.assign;

        check_run(&x->r, &y->r);
        CHECK_STR(x->params_json, y->params_json);
        CHECK_OPT_STR(x->program, y->program);
        CHECK_INT(x->command != NULL, y->command != NULL);
        if (x->command && y->command)
            check_strv(x->command, x->ncommand, y->command, y->ncommand);
        break;
    }
    case MSG_RUN_LIFECYCLE: {
        const struct msg_run_lifecycle *x = &a->u.life, *y = &b->u.life;

        check_run(&x->r, &y->r);
        CHECK_INT(x->event, y->event);
        CHECK_INT(x->has_exit_code, y->has_exit_code);
        if (x->has_exit_code)
            CHECK_INT(x->exit_code, y->exit_code);
        CHECK_INT(x->signal, y->signal);
        CHECK_OPT_STR(x->reason, y->reason);
        CHECK_INT(x->last_metric_seq, y->last_metric_seq);
        break;
    }
    case MSG_METRIC_EVENT:
        check_metric(&a->u.metric, &b->u.metric);
        break;
    case MSG_RUN_COMMAND:
        check_run(&a->u.cmd.r, &b->u.cmd.r);
        CHECK_INT(a->u.cmd.command, b->u.cmd.command);
        CHECK_OPT_STR(a->u.cmd.reason, b->u.cmd.reason);
        break;
    case MSG_WORKER_STATUS: {
        const struct msg_worker_status *x = &a->u.worker, *y = &b->u.worker;

        CHECK_STR(x->worker_id, y->worker_id);
        CHECK_OPT_STR(x->pool, y->pool);
        CHECK_OPT_STR(x->sweep_id, y->sweep_id);
        CHECK_INT(x->state, y->state);
        CHECK_INT(x->seq, y->seq);
        CHECK_INT(x->ts_ms, y->ts_ms);
        CHECK_STR(x->host, y->host);
        CHECK_INT(x->pid, y->pid);
        check_strv(x->running, x->nrunning, y->running, y->nrunning);
        CHECK_INT(x->received, y->received);
        break;
    }
    default:
        CHECK(!"unexpected kind");
    }
}

/* Encodes m, decodes the bytes and compares; releases m. */
static void roundtrip(struct msg *m) {
    struct msg out;
    char err[256] = "";
    void *buf = NULL;
    size_t len = 0;
    int rc = codec_encode(C, m, &buf, &len);

    CHECK_INT(rc, 0);
    if (rc == 0) {
        rc = codec_decode(C, buf, len, &out, err, sizeof(err));
        if (rc != 0)
            fprintf(stderr, "  decode %s: %s\n", msg_kind_name(m->kind), err);
        CHECK_INT(rc, 0);
        if (rc == 0)
            check_equal(m, &out);
        msg_release(&out);
    }
    free(buf);
    msg_release(m);
}

/* A fresh encoding of sample(k, full); caller frees. */
static unsigned char *encoded(enum msg_kind k, int full, size_t *len) {
    struct msg m;
    void *buf = NULL;

    sample(k, full, &m);
    if (codec_encode(C, &m, &buf, len) != 0) {
        fprintf(stderr, "cannot encode the %s sample\n", msg_kind_name(k));
        abort();
    }
    msg_release(&m);
    return buf;
}

/* Decoding must fail with SWEEP_EPARSE, leave m zeroed, and say why. */
static void check_bad(const void *buf, size_t len, const char *why) {
    struct msg m;
    char err[256] = "";
    int rc = codec_decode(C, buf, len, &m, err, sizeof(err));

    CHECK_INT(rc, SWEEP_EPARSE);
    CHECK_INT(m.kind, MSG_NONE);
    CHECK(err[0] != '\0');
    if (why)
        CHECK_HAS(err, why);
    if (rc == 0)
        msg_release(&m);
}

/* ---- tests ------------------------------------------------------------ */

static void test_roundtrip_full(void) {
    struct msg m;

    for (int k = MSG_SWEEP_CONTROL; k < MSG__KIND_COUNT; k++) {
        sample((enum msg_kind)k, 1, &m);
        roundtrip(&m);
    }
}

static void test_roundtrip_minimal(void) {
    struct msg m;

    for (int k = MSG_SWEEP_CONTROL; k < MSG__KIND_COUNT; k++) {
        sample((enum msg_kind)k, 0, &m);
        roundtrip(&m);
    }
}

static void test_roundtrip_every_enum(void) {
    struct msg m;

    for (int a = CTL_CREATE; a <= CTL_CANCEL; a++) {
        sample(MSG_SWEEP_CONTROL, 0, &m);
        m.u.control.action = (enum control_action)a;
        roundtrip(&m);
    }
    for (int e = LC_STARTED; e <= LC_KILLED; e++) {
        sample(MSG_RUN_LIFECYCLE, 1, &m);
        m.u.life.event = (enum lifecycle_event)e;
        roundtrip(&m);
    }
    for (int c = RCMD_STOP; c <= RCMD_SWEEP_DONE; c++) {
        sample(MSG_RUN_COMMAND, 1, &m);
        m.u.cmd.command = (enum run_command_kind)c;
        roundtrip(&m);
    }
    for (int s = WS_IDLE; s <= WS_LEAVING; s++) {
        sample(MSG_WORKER_STATUS, 1, &m);
        m.u.worker.state = (enum worker_state)s;
        roundtrip(&m);
    }
}

static void test_roundtrip_extremes(void) {
    static const int64_t longs[] = {
        INT64_MIN, INT64_MIN + 1,    -1,       0, 1, 63, 64,
        INT32_MAX, (int64_t)1 << 53, INT64_MAX};
    static const int32_t ints[] = {INT32_MIN, -1, 0, 1, INT32_MAX};
    struct msg m;

    for (size_t i = 0; i < N(longs); i++) {
        sample(MSG_METRIC_EVENT, 1, &m);
        m.u.metric.r.seq = longs[i];
        m.u.metric.r.ts_ms = longs[N(longs) - 1 - i];
        m.u.metric.step = longs[i];
        roundtrip(&m);
        sample(MSG_RUN_LIFECYCLE, 1, &m);
        m.u.life.last_metric_seq = longs[i];
        m.u.life.r.seq = longs[i];
        roundtrip(&m);
        sample(MSG_WORKER_STATUS, 0, &m);
        m.u.worker.seq = longs[i];
        m.u.worker.ts_ms = longs[i];
        roundtrip(&m);
        sample(MSG_SWEEP_CONTROL, 0, &m);
        m.u.control.ts_ms = longs[i];
        roundtrip(&m);
    }
    for (size_t i = 0; i < N(ints); i++) {
        sample(MSG_RUN_LIFECYCLE, 1, &m);
        m.u.life.r.attempt = ints[i];
        m.u.life.exit_code = ints[i];
        m.u.life.signal = ints[i];
        roundtrip(&m);
        sample(MSG_WORKER_STATUS, 1, &m);
        m.u.worker.pid = ints[i];
        roundtrip(&m);
    }
}

static void test_roundtrip_strings(void) {
    /* Empty, 1-4 byte UTF-8 sequences, JSON-looking text, a long one. */
    static const char *const strs[] = {"",
                                       "a",
                                       "d\xc3\xa9j\xc3\xa0",
                                       "\xe2\x9c\x93 \xe6\x97\xa5\xe6\x9c\xac",
                                       "\xf0\x9d\x84\x9e clef",
                                       "{\"k\": [1, 2]}\n\t\x01\x7f",
                                       "?\?=\\"};
    struct msg m;
    char *long_str = malloc(100001);

    memset(long_str, 'x', 100000);
    long_str[100000] = '\0';
    for (size_t i = 0; i < N(strs); i++) {
        sample(MSG_RUN_ASSIGNMENT, 1, &m);
        free(m.u.assign.params_json);
        m.u.assign.params_json = S(strs[i]);
        free(m.u.assign.command[1]);
        m.u.assign.command[1] = S(strs[i]);
        free(m.u.assign.r.run_id);
        m.u.assign.r.run_id = S(strs[i]);
        roundtrip(&m);
    }
    sample(MSG_RUN_LIFECYCLE, 1, &m);
    free(m.u.life.reason);
    m.u.life.reason = long_str;
    roundtrip(&m);
}

/* Empty vectors stay distinct from absent ones (command: default). */
static void test_roundtrip_empty_vectors(void) {
    struct msg m, out;
    char err[256];
    void *buf;
    size_t len;

    sample(MSG_RUN_ASSIGNMENT, 1, &m);
    for (size_t i = 0; i < m.u.assign.ncommand; i++)
        free(m.u.assign.command[i]);
    m.u.assign.ncommand = 0;
    CHECK_INT(codec_encode(C, &m, &buf, &len), 0);
    CHECK_INT(codec_decode(C, buf, len, &out, err, sizeof(err)), 0);
    CHECK(out.u.assign.command != NULL);
    CHECK_INT(out.u.assign.ncommand, 0);
    msg_release(&out);
    free(buf);
    msg_release(&m);

    sample(MSG_RUN_ASSIGNMENT, 0, &m);
    CHECK_INT(codec_encode(C, &m, &buf, &len), 0);
    CHECK_INT(codec_decode(C, buf, len, &out, err, sizeof(err)), 0);
    CHECK(out.u.assign.command == NULL);
    CHECK(out.u.assign.r.worker_id == NULL);
    msg_release(&out);
    free(buf);
    msg_release(&m);
}

static void test_metrics_0_and_200(void) {
    struct msg m, out;
    char err[256], name[32];
    void *buf;
    size_t len;

    sample(MSG_METRIC_EVENT, 0, &m);
    roundtrip(&m);

    sample(MSG_METRIC_EVENT, 0, &m);
    m.u.metric.n = 200;
    m.u.metric.names = calloc(200, sizeof(char *));
    m.u.metric.values = calloc(200, sizeof(double));
    /* Names in an order no hash or sort would give back. */
    for (int i = 0; i < 200; i++) {
        snprintf(name, sizeof(name), "m%03d", (i * 37) % 200);
        m.u.metric.names[i] = S(name);
        m.u.metric.values[i] = i % 7 == 0    ? NAN
                               : i % 11 == 0 ? -INFINITY
                                             : i * 0.1 - 3;
    }
    CHECK_INT(codec_encode(C, &m, &buf, &len), 0);
    CHECK_INT(codec_decode(C, buf, len, &out, err, sizeof(err)), 0);
    check_equal(&m, &out); /* in order, bit for bit */
    msg_release(&out);
    free(buf);
    msg_release(&m);
}

static void test_metric_rejects_duplicate_names(void) {
    struct msg m;
    void *buf = (void *)1;
    size_t len = 1;

    sample(MSG_METRIC_EVENT, 1, &m);
    free(m.u.metric.names[2]);
    m.u.metric.names[2] = S("loss");
    CHECK_INT(codec_encode(C, &m, &buf, &len), SWEEP_EINVAL);
    CHECK(buf == NULL);
    CHECK_INT(len, 0);
    msg_release(&m);
}

/* The encoder only sends what msg.h and the schemas allow. */
static void test_encode_rejects_invalid(void) {
    struct msg m;
    void *buf;
    size_t len;

    memset(&m, 0, sizeof(m));
    CHECK_INT(codec_encode(C, &m, &buf, &len), SWEEP_EINVAL);
    m.kind = MSG__KIND_COUNT;
    CHECK_INT(codec_encode(C, &m, &buf, &len), SWEEP_EINVAL);

    sample(MSG_RUN_LIFECYCLE, 1, &m);
    free(m.u.life.r.run_id);
    m.u.life.r.run_id = NULL; /* required */
    CHECK_INT(codec_encode(C, &m, &buf, &len), SWEEP_EINVAL);
    msg_release(&m);

    sample(MSG_RUN_LIFECYCLE, 1, &m);
    m.u.life.event = (enum lifecycle_event)6;
    CHECK_INT(codec_encode(C, &m, &buf, &len), SWEEP_EINVAL);
    msg_release(&m);

    sample(MSG_SWEEP_CONTROL, 1, &m);
    m.u.control.action = (enum control_action) - 1;
    CHECK_INT(codec_encode(C, &m, &buf, &len), SWEEP_EINVAL);
    msg_release(&m);

    sample(MSG_WORKER_STATUS, 1, &m);
    free(m.u.worker.host);
    m.u.worker.host = S("bad \xff utf-8");
    CHECK_INT(codec_encode(C, &m, &buf, &len), SWEEP_EINVAL);
    msg_release(&m);

    sample(MSG_WORKER_STATUS, 0, &m);
    m.u.worker.nrunning = 2; /* running is NULL */
    CHECK_INT(codec_encode(C, &m, &buf, &len), SWEEP_EINVAL);
    m.u.worker.nrunning = 0;
    msg_release(&m);

    sample(MSG_METRIC_EVENT, 1, &m);
    free(m.u.metric.names[0]);
    m.u.metric.names[0] = S("\xc0\xaf"); /* overlong '/' */
    CHECK_INT(codec_encode(C, &m, &buf, &len), SWEEP_EINVAL);
    msg_release(&m);

    /* And the codec still works after a failed encode. */
    sample(MSG_METRIC_EVENT, 1, &m);
    roundtrip(&m);
}

/* The value of each kind is reused: nothing of one message may leak into
 * the next (a map or array must come back empty). */
static void test_value_reuse(void) {
    struct msg m;

    for (int i = 0; i < 3; i++) {
        sample(MSG_METRIC_EVENT, 1, &m);
        roundtrip(&m);
        sample(MSG_METRIC_EVENT, 0, &m);
        roundtrip(&m);
        sample(MSG_WORKER_STATUS, 1, &m);
        roundtrip(&m);
        sample(MSG_WORKER_STATUS, 0, &m);
        roundtrip(&m);
        sample(MSG_RUN_ASSIGNMENT, 1, &m);
        roundtrip(&m);
        sample(MSG_RUN_ASSIGNMENT, 0, &m);
        roundtrip(&m);
    }
}

static void test_header_bytes(void) {
    for (int k = MSG_SWEEP_CONTROL; k < MSG__KIND_COUNT; k++) {
        size_t len;
        unsigned char *b = encoded((enum msg_kind)k, 1, &len);

        CHECK(len > 5);
        CHECK_INT(b[0], 0x00);
        CHECK_INT(b[1], 0x00);
        CHECK_INT(b[2], 0x00);
        CHECK_INT(b[3], 0x00);
        CHECK_INT(b[4], k);
        free(b);
    }
}

/* The body bytes of a small message, as the Avro spec writes them. */
static void test_body_bytes(void) {
    static const unsigned char want[] = {
        0,    0,    0,   0, 5, /* header, schema id 5 */
        4,    's',  '1',       /* sweep_id "s1": zigzag length 4 */
        4,    'r',  '1',       /* run_id "r1" */
        4,    'w',  '1',       /* worker_id "w1" */
        4,                     /* attempt 2 */
        0x80, 0x01,            /* seq 64 */
        1,                     /* ts_ms -1 */
        0,                     /* command stop */
        0,                     /* reason: null branch */
    };
    struct msg m;
    void *buf;
    size_t len;

    memset(&m, 0, sizeof(m));
    m.kind = MSG_RUN_COMMAND;
    m.u.cmd.r = (struct msg_run){"s1", "r1", "w1", 2, 64, -1};
    CHECK_INT(codec_encode(C, &m, &buf, &len), 0);
    CHECK_INT(len, sizeof(want));
    CHECK(len == sizeof(want) && memcmp(buf, want, len) == 0);
    free(buf);
}

static void test_decode_short(void) {
    static const unsigned char hdr[] = {0, 0, 0, 0, 4};
    static const unsigned char json[] = "{\"loss\": 1}";
    unsigned char b[5];

    check_bad(hdr, 0, "empty");
    check_bad(NULL, 0, "empty");
    for (size_t n = 1; n < 5; n++)
        check_bad(hdr, n, "truncated");
    check_bad(json, sizeof(json) - 1, "magic byte 0x7b is not 0");
    memcpy(b, hdr, 5);
    b[0] = 1;
    check_bad(b, 5, "magic byte 0x01");
    b[0] = 0;
    b[4] = 9;
    check_bad(b, 5, "unknown schema id 9");
    b[4] = 0;
    check_bad(b, 5, "unknown schema id 0");
    b[4] = 7;
    check_bad(b, 5, "unknown schema id 7");
    b[1] = 0x80;
    b[4] = 4;
    check_bad(b, 5, "unknown schema id 2147483652");
    check_bad(hdr, 5, "truncated"); /* header alone: an empty body */
}

/* Every proper prefix of a valid message is truncated. */
static void test_truncated_every_length(void) {
    for (int full = 0; full < 2; full++) {
        for (int k = MSG_SWEEP_CONTROL; k < MSG__KIND_COUNT; k++) {
            size_t len;
            unsigned char *b = encoded((enum msg_kind)k, full, &len);

            for (size_t n = 0; n < len; n++)
                check_bad(b, n, NULL);
            free(b);
        }
    }
}

static void test_trailing_bytes(void) {
    for (int k = MSG_SWEEP_CONTROL; k < MSG__KIND_COUNT; k++) {
        size_t len;
        unsigned char *b = encoded((enum msg_kind)k, 1, &len);
        unsigned char *t = malloc(len + 3);

        memcpy(t, b, len);
        memcpy(t + len, "\0\0\0", 3);
        check_bad(t, len + 1, "1 byte after the end");
        check_bad(t, len + 3, "3 bytes after the end");
        free(t);
        free(b);
    }
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void) { /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dULL;
}

/* Decodes without crashing or leaking (ASan checks both); a success
 * must give a message that encodes again. */
static int decode_any(const unsigned char *b, size_t len) {
    struct msg m;
    char err[256];
    void *again;
    size_t alen;
    int rc = codec_decode(C, b, len, &m, err, sizeof(err));

    if (rc == 0) {
        CHECK_INT(codec_encode(C, &m, &again, &alen), 0);
        free(again);
        msg_release(&m);
        return 1;
    }
    CHECK_INT(rc, SWEEP_EPARSE);
    CHECK_INT(m.kind, MSG_NONE);
    return 0;
}

/* 10,000 random buffers; most get a valid header so that the body
 * parser, not the header check, sees them. */
static void test_random_garbage(void) {
    unsigned char b[300];
    int ok = 0;

    rng_state = 0x9e3779b97f4a7c15ULL;
    for (int i = 0; i < 10000; i++) {
        size_t len = rng() % sizeof(b);

        for (size_t j = 0; j < len; j++)
            b[j] = (unsigned char)rng();
        if (len >= 5 && i % 10 != 0) {
            memset(b, 0, 4);
            b[4] = (unsigned char)(1 + rng() % 6);
        }
        ok += decode_any(b, len);
    }
    printf("     random buffers: %d of 10000 decoded\n", ok);
}

/* Valid messages with 1-4 random bytes changed: garbage that gets deep
 * into the body. */
static void test_mutated_messages(void) {
    int ok = 0, total = 0;

    rng_state = 12345;
    for (int full = 0; full < 2; full++) {
        for (int k = MSG_SWEEP_CONTROL; k < MSG__KIND_COUNT; k++) {
            size_t len;
            unsigned char *b = encoded((enum msg_kind)k, full, &len);
            unsigned char *t = malloc(len);

            for (int i = 0; i < 2000; i++, total++) {
                memcpy(t, b, len);
                for (int n = 1 + (int)(rng() % 4); n > 0; n--)
                    t[5 + rng() % (len - 5)] = (unsigned char)rng();
                ok += decode_any(t, len);
            }
            free(t);
            free(b);
        }
    }
    printf("     mutated messages: %d of %d decoded\n", ok, total);
}

/* Builds a body by hand: the header of kind k, then the bytes. */
static size_t body(unsigned char *out, int k, const unsigned char *bytes,
                   size_t n) {
    out[0] = out[1] = out[2] = out[3] = 0;
    out[4] = (unsigned char)k;
    memcpy(out + 5, bytes, n);
    return n + 5;
}

static void test_hostile_lengths(void) {
    /* A string length of 2^60 (zigzag 2^61): Avro-C alone would try to
     * allocate it. */
    static const unsigned char huge_str[] = {0x80, 0x80, 0x80, 0x80, 0x80,
                                             0x80, 0x80, 0x80, 0x20};
    /* worker_status: worker_id "w", pool null, sweep_id null, idle, seq 0,
     * ts 0, host "h", pid 0, then running's block count. */
    static const unsigned char ws[] = {2, 'w', 0, 0, 0, 0, 0, 2, 'h', 0};
    unsigned char b[64], in[64];
    size_t n;

    n = body(b, MSG_RUN_LIFECYCLE, huge_str, sizeof(huge_str));
    check_bad(b, n, "field 'sweep_id' at byte 5: length 1152921504606846976");

    in[0] = 1; /* length -1 */
    n = body(b, MSG_RUN_LIFECYCLE, in, 1);
    check_bad(b, n, "negative length -1");

    /* varints: 11 bytes, and a 10th byte that overflows 64 bits */
    memset(in, 0xff, 11);
    n = body(b, MSG_SWEEP_CONTROL, in, 11);
    check_bad(b, n, "varint longer than 64 bits");
    in[9] = 0x02;
    n = body(b, MSG_SWEEP_CONTROL, in, 10);
    check_bad(b, n, "varint longer than 64 bits");

    /* running: block counts of 2^60, INT64_MIN, and -1 with a huge size */
    memcpy(in, ws, sizeof(ws));
    memcpy(in + sizeof(ws), huge_str, sizeof(huge_str));
    n = body(b, MSG_WORKER_STATUS, in, sizeof(ws) + sizeof(huge_str));
    check_bad(b, n, "field 'running' at byte 15: block of 1152921504606846976");
    memset(in + sizeof(ws), 0xff, 9);
    in[sizeof(ws) + 9] = 0x01;
    n = body(b, MSG_WORKER_STATUS, in, sizeof(ws) + 10);
    check_bad(b, n, "bad block count");
    in[sizeof(ws)] = 1; /* count -1 */
    memcpy(in + sizeof(ws) + 1, huge_str, sizeof(huge_str));
    n = body(b, MSG_WORKER_STATUS, in, sizeof(ws) + 1 + sizeof(huge_str));
    check_bad(b, n, "block size 1152921504606846976");
    /* count -1, size 3 but the item "r" takes 2 */
    memcpy(in + sizeof(ws), "\x01\x06\x02r\x00", 5);
    n = body(b, MSG_WORKER_STATUS, in, sizeof(ws) + 5);
    check_bad(b, n, "block size 3 but its items take 2 bytes");

    /* enum index and union branch out of range */
    memcpy(in, "\x02s\x0a", 3); /* sweep_id "s", action 5 */
    n = body(b, MSG_SWEEP_CONTROL, in, 3);
    check_bad(b, n, "field 'action' at byte 7: enum index 5 out of range");
    memcpy(in, "\x02s\x02\x00\x04", 5); /* ..., ts 0, config_json branch 2 */
    n = body(b, MSG_SWEEP_CONTROL, in, 5);
    check_bad(b, n, "field 'config_json' at byte 9: union branch 2");
    memcpy(in, "\x02s\x02\x00\x01", 5); /* branch -1 */
    n = body(b, MSG_SWEEP_CONTROL, in, 5);
    check_bad(b, n, "union branch -1");

    /* int out of range: attempt 2^31 */
    memcpy(in, "\x02s\x02r\x02w\x80\x80\x80\x80\x10", 11);
    n = body(b, MSG_RUN_COMMAND, in, 11);
    check_bad(b, n, "field 'attempt' at byte 11: int 2147483648 out of range");

    /* strings: a NUL, bad UTF-8, a surrogate */
    memcpy(in, "\x04s\x00", 3);
    n = body(b, MSG_SWEEP_CONTROL, in, 3);
    check_bad(b, n, "not UTF-8 without NUL");
    memcpy(in, "\x04s\xff", 3);
    n = body(b, MSG_SWEEP_CONTROL, in, 3);
    check_bad(b, n, "not UTF-8 without NUL");
    memcpy(in, "\x06\xed\xa0\x80", 4);
    n = body(b, MSG_SWEEP_CONTROL, in, 4);
    check_bad(b, n, "not UTF-8 without NUL");
}

/* Valid Avro that our encoder never writes but other writers may: a map
 * in two blocks, one with the byte-size form, and a name sent twice. */
static void test_decode_foreign_blocks(void) {
    static const unsigned char in[] = {
        2, 's', 2, 'r', 2, 'w', 2, 2, 2, /* run fields, attempt/seq/ts 1 */
        0,                               /* step null */
        1, 20,                           /* block: count -1, 10 bytes */
        2, 'a', 0, 0,   0, 0,   0, 0, 0xf0, 0x3f, /* "a": 1.0 */
        4,                                        /* block: count 2 */
        2, 'b', 0, 0,   0, 0,   0, 0, 0,    0x40, /* "b": 2.0 */
        2, 'a', 0, 0,   0, 0,   0, 0, 0x08, 0x40, /* "a" again: 3.0 */
        0};
    unsigned char b[128];
    struct msg m;
    char err[256] = "";
    size_t n = body(b, MSG_METRIC_EVENT, in, sizeof(in));
    int rc = codec_decode(C, b, n, &m, err, sizeof(err));

    CHECK_INT(rc, 0);
    if (rc != 0) {
        fprintf(stderr, "  %s\n", err);
        return;
    }
    CHECK_INT(m.u.metric.n, 2);
    if (m.u.metric.n == 2) {
        CHECK_STR(m.u.metric.names[0], "a");
        CHECK_DBL(m.u.metric.values[0], 3.0, 0);
        CHECK_STR(m.u.metric.names[1], "b");
        CHECK_DBL(m.u.metric.values[1], 2.0, 0);
    }
    msg_release(&m);
}

static void test_metric_json(void) {
    struct msg m;
    char *j;

    sample(MSG_METRIC_EVENT, 1, &m);
    j = codec_metric_json(&m.u.metric);
    CHECK_STR(j, "{\"sweep_id\":\"sw-1\",\"run_id\":\"run-42\",\"attempt\":3,"
                 "\"worker_id\":\"w-7\",\"seq\":9,\"ts_ms\":1700000000123,"
                 "\"step\":5,\"metrics\":{\"loss\":0.31,\"acc\":0.9,"
                 "\"lr\":1e-05,\"a\\\"b\\\\c\":-0.0,\"\xe6\x97\xa5\":3e+300,"
                 "\"nan\":null,\"inf\":null}}");
    free(j);
    msg_release(&m);

    sample(MSG_METRIC_EVENT, 0, &m);
    free(m.u.metric.r.worker_id);
    m.u.metric.r.worker_id = S("w\n\x01\xff");
    j = codec_metric_json(&m.u.metric);
    CHECK_STR(j, "{\"sweep_id\":\"sw-1\",\"run_id\":\"run-42\",\"attempt\":3,"
                 "\"worker_id\":\"w\\n\\u0001\\ufffd\",\"seq\":9,"
                 "\"ts_ms\":1700000000123,\"step\":null,\"metrics\":{}}");
    free(j);
    msg_release(&m);
}

static void test_schema_texts(void) {
    static const char *const names[] = {
        NULL,          "SweepControl", "RunAssignment", "RunLifecycle",
        "MetricEvent", "RunCommand",   "WorkerStatus"};
    char want[64];

    CHECK(codec_schema_text(MSG_NONE) == NULL);
    CHECK(codec_schema_text(MSG__KIND_COUNT) == NULL);
    for (int k = MSG_SWEEP_CONTROL; k < MSG__KIND_COUNT; k++) {
        snprintf(want, sizeof(want), "\"name\": \"%s\"", names[k]);
        CHECK_HAS(codec_schema_text((enum msg_kind)k), want);
        CHECK_HAS(codec_schema_text((enum msg_kind)k),
                  "\"namespace\": \"sweep\"");
    }
}

static void test_names(void) {
    struct msg m;

    CHECK_STR(msg_kind_name(MSG_METRIC_EVENT), "metric_event");
    CHECK_STR(msg_kind_name(MSG_WORKER_STATUS), "worker_status");
    CHECK_STR(msg_kind_name((enum msg_kind)99), "unknown");
    CHECK_STR(lifecycle_event_name(LC_PREEMPTED), "preempted");
    CHECK_STR(lifecycle_event_name((enum lifecycle_event) - 1), "unknown");
    CHECK_STR(control_action_name(CTL_CANCEL), "cancel");
    CHECK_STR(control_action_name((enum control_action)5), "unknown");

    memset(&m, 0, sizeof(m));
    msg_release(&m);
    msg_release(NULL);
    sample(MSG_WORKER_STATUS, 1, &m);
    msg_release(&m);
    CHECK_INT(m.kind, MSG_NONE);
    CHECK(m.u.worker.running == NULL);
}

/* ---- modes for tests/integration/test_wire.sh ------------------------ */

static int dump_samples(const char *dir) {
    char path[4096];
    int rc;

    for (int full = 0; full < 2; full++) {
        for (int k = MSG_SWEEP_CONTROL; k < MSG__KIND_COUNT; k++) {
            size_t len;
            unsigned char *b = encoded((enum msg_kind)k, full, &len);
            FILE *f;

            snprintf(path, sizeof(path), "%s/%s%s.bin", dir,
                     msg_kind_name((enum msg_kind)k), full ? "" : "_min");
            f = fopen(path, "wb");
            rc = !f || fwrite(b, 1, len, f) != len;
            if ((f && fclose(f) != 0) || rc) {
                fprintf(stderr, "test_codec: %s: %s\n", path, strerror(errno));
                free(b);
                return 1;
            }
            free(b);
        }
    }
    return 0;
}

static json_t *jstr(const char *s) {
    return s ? json_string(s) : json_null();
}

static json_t *jstrv(char **v, size_t n) {
    json_t *a;

    if (!v)
        return json_null();
    a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

static json_t *jrun(const struct msg_run *r) {
    return json_pack("{s:o,s:o,s:o,s:I,s:I,s:I}", "sweep_id", jstr(r->sweep_id),
                     "run_id", jstr(r->run_id), "worker_id", jstr(r->worker_id),
                     "attempt", (json_int_t)r->attempt, "seq",
                     (json_int_t)r->seq, "ts_ms", (json_int_t)r->ts_ms);
}

static json_t *msg_json(const struct msg *m) {
    static const char *const ws[] = {"idle", "busy", "leaving"};
    static const char *const rc[] = {"stop", "sweep_done"};
    json_t *o;

    switch (m->kind) {
    case MSG_SWEEP_CONTROL:
        return json_pack(
            "{s:o,s:s,s:I,s:o,s:o}", "sweep_id", jstr(m->u.control.sweep_id),
            "action", control_action_name(m->u.control.action), "ts_ms",
            (json_int_t)m->u.control.ts_ms, "config_json",
            jstr(m->u.control.config_json), "name", jstr(m->u.control.name));
    case MSG_RUN_ASSIGNMENT:
        o = jrun(&m->u.assign.r);
        json_object_set_new(o, "params_json", jstr(m->u.assign.params_json));
        json_object_set_new(o, "program", jstr(m->u.assign.program));
        json_object_set_new(o, "command",
                            jstrv(m->u.assign.command, m->u.assign.ncommand));
        return o;
    case MSG_RUN_LIFECYCLE:
        o = jrun(&m->u.life.r);
        json_object_set_new(o, "event",
                            json_string(lifecycle_event_name(m->u.life.event)));
        json_object_set_new(o, "exit_code",
                            m->u.life.has_exit_code
                                ? json_integer(m->u.life.exit_code)
                                : json_null());
        json_object_set_new(o, "signal", json_integer(m->u.life.signal));
        json_object_set_new(o, "reason", jstr(m->u.life.reason));
        json_object_set_new(o, "last_metric_seq",
                            json_integer(m->u.life.last_metric_seq));
        return o;
    case MSG_RUN_COMMAND:
        o = jrun(&m->u.cmd.r);
        json_object_set_new(o, "command", json_string(rc[m->u.cmd.command]));
        json_object_set_new(o, "reason", jstr(m->u.cmd.reason));
        return o;
    case MSG_WORKER_STATUS:
        return json_pack(
            "{s:o,s:o,s:o,s:s,s:I,s:I,s:o,s:i,s:o,s:I}", "worker_id",
            jstr(m->u.worker.worker_id), "pool", jstr(m->u.worker.pool),
            "sweep_id", jstr(m->u.worker.sweep_id), "state",
            ws[m->u.worker.state], "seq", (json_int_t)m->u.worker.seq, "ts_ms",
            (json_int_t)m->u.worker.ts_ms, "host", jstr(m->u.worker.host),
            "pid", (int)m->u.worker.pid, "running",
            jstrv(m->u.worker.running, m->u.worker.nrunning), "received",
            (json_int_t)m->u.worker.received);
    default:
        return NULL;
    }
}

static int decode_file(const char *path) {
    static unsigned char buf[1 << 20];
    FILE *f = fopen(path, "rb");
    struct msg m;
    char err[256];
    size_t len;
    char *text;
    json_t *j;

    if (!f) {
        fprintf(stderr, "test_codec: %s: %s\n", path, strerror(errno));
        return 1;
    }
    len = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    if (codec_decode(C, buf, len, &m, err, sizeof(err)) != 0) {
        fprintf(stderr, "test_codec: %s: %s\n", path, err);
        return 1;
    }
    if (m.kind == MSG_METRIC_EVENT) {
        text = codec_metric_json(&m.u.metric);
    } else {
        j = msg_json(&m);
        text = j ? json_dumps(j, JSON_COMPACT) : NULL;
        json_decref(j);
    }
    printf("{\"kind\":\"%s\",\"msg\":%s}\n", msg_kind_name(m.kind),
           text ? text : "null");
    free(text);
    msg_release(&m);
    return 0;
}

int main(int argc, char **argv) {
    char err[256];
    int rc;

    C = codec_new(err, sizeof(err));
    if (!C) {
        fprintf(stderr, "codec_new: %s\n", err);
        printf("0 passed, 1 failed\n");
        return 1;
    }
    if (argc == 3 && strcmp(argv[1], "--decode") == 0) {
        rc = decode_file(argv[2]);
        codec_free(C);
        return rc;
    }
    if (argc == 2) {
        rc = dump_samples(argv[1]);
        codec_free(C);
        return rc;
    }
    TEST_RUN(test_roundtrip_full);
    TEST_RUN(test_roundtrip_minimal);
    TEST_RUN(test_roundtrip_every_enum);
    TEST_RUN(test_roundtrip_extremes);
    TEST_RUN(test_roundtrip_strings);
    TEST_RUN(test_roundtrip_empty_vectors);
    TEST_RUN(test_metrics_0_and_200);
    TEST_RUN(test_metric_rejects_duplicate_names);
    TEST_RUN(test_encode_rejects_invalid);
    TEST_RUN(test_value_reuse);
    TEST_RUN(test_header_bytes);
    TEST_RUN(test_body_bytes);
    TEST_RUN(test_decode_short);
    TEST_RUN(test_truncated_every_length);
    TEST_RUN(test_trailing_bytes);
    TEST_RUN(test_random_garbage);
    TEST_RUN(test_mutated_messages);
    TEST_RUN(test_hostile_lengths);
    TEST_RUN(test_decode_foreign_blocks);
    TEST_RUN(test_metric_json);
    TEST_RUN(test_schema_texts);
    TEST_RUN(test_names);
    codec_free(C);
    return TEST_DONE();
}

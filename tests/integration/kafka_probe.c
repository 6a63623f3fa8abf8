/*
 * kafka_probe.c - drives lib/kafka.h from the outside for
 * tests/integration/test_kafka.sh, which compiles it against libsweep.a.
 *
 *   kafka_probe [--prop K=V]... [--fetch-wait MS] BOOTSTRAP MODE ARGS...
 *
 *   props                       create the client, queue and deliver one
 *                               message (exit 2 when a property is bad)
 *   roundtrip TOPIC N           N keyed messages, read back from the
 *                               beginning: count, per-key order
 *   latency TOPIC N             N pings, produce -> consume (poll on
 *                               kafka_fd), prints p50/p99 in ms
 *   produce TOPIC KEY VALUE     one message, delivered
 *   consume TOPIC N TIMEOUT_MS  prints N messages "key=value" from the
 *                               beginning, exit 1 on timeout
 *   outage TOPIC SECONDS        produces every 20 ms while the broker may
 *                               vanish: every kafka_produce() must succeed
 *   reconnect                   own embedded broker taken down and up:
 *                               what was queued meanwhile arrives
 *   seek TOPIC                  kafka_seek() before and after kafka_read()
 *   ensure TOPIC                kafka_ensure_topics() answers in time
 *
 * Exit 0 ok, 1 check failed, 2 usage or bad property.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "broker.h"
#include "kafka.h"
#include "log.h"
#include "sweep.h"

#define MAX_PROPS 16
#define BATCH 512

static double now_ms(void) {
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int fetch_wait_ms; /* --fetch-wait; 0: the library's default */

static struct kafka *client(const char *brokers, const char **props,
                            size_t nprops) {
    struct kafka_opts o = {brokers, "kafka_probe", props, nprops, fetch_wait_ms};
    char errstr[512];
    struct kafka *k = kafka_new(&o, errstr, sizeof(errstr));

    if (!k)
        fprintf(stderr, "kafka_probe: %s\n", errstr);
    return k;
}

static int start_read(struct kafka *k, const char *topic, int from) {
    const char *topics[1] = {topic};
    char errstr[512];

    if (kafka_read(k, topics, 1, from, 10000, errstr, sizeof(errstr)) < 0) {
        fprintf(stderr, "kafka_probe: %s\n", errstr);
        return -1;
    }
    return 0;
}

/* Waits on kafka_fd() up to timeout_ms, then drains: the way programs
 * are meant to read. Returns the count of messages in out. */
static size_t wait_msgs(struct kafka *k, struct kmsg *out, size_t max,
                        int timeout_ms) {
    struct pollfd pfd = {kafka_fd(k), POLLIN, 0};
    size_t n;

    if ((n = kafka_consume(k, out, max, 0)) > 0)
        return n;
    if (poll(&pfd, 1, timeout_ms) <= 0)
        return 0;
    return kafka_consume(k, out, max, 0);
}

/* The payload as a string (it is not NUL-terminated). */
static const char *text(const struct kmsg *m, char *buf, size_t size) {
    snprintf(buf, size, "%.*s", (int)(m->len < size ? m->len : size - 1),
             (const char *)m->payload);
    return buf;
}

static int produce(struct kafka *k, const char *topic, const char *key,
                   const char *val) {
    if (kafka_produce(k, topic, key, val, strlen(val)) < 0) {
        fprintf(stderr, "kafka_probe: kafka_produce to '%s' failed\n", topic);
        return -1;
    }
    return 0;
}

static int mode_props(struct kafka *k) {
    struct kafka_stats st;

    if (produce(k, "probe.props", "k", "v") < 0 || kafka_flush(k, 10000) < 0)
        return 1;
    kafka_get_stats(k, &st);
    printf("props: delivered %llu\n", (unsigned long long)st.delivered);
    return st.delivered == 1 ? 0 : 1;
}

#define NKEYS 10

static int mode_roundtrip(struct kafka *k, const char *topic, int n) {
    int next[NKEYS] = {0}, part[NKEYS], got = 0, bad = 0;
    struct kmsg m[BATCH];
    double deadline;
    char key[32], val[64];

    for (int i = 0; i < NKEYS; i++)
        part[i] = -1;
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof(key), "key-%d", i % NKEYS);
        snprintf(val, sizeof(val), "%d:%d", i % NKEYS, i / NKEYS);
        if (produce(k, topic, key, val) < 0)
            return 1;
    }
    if (kafka_flush(k, 10000) < 0 || start_read(k, topic, KAFKA_FROM_BEGINNING) < 0)
        return 1;
    deadline = now_ms() + 20000;
    while (got < n && now_ms() < deadline) {
        size_t c = wait_msgs(k, m, BATCH, 200);

        for (size_t i = 0; i < c; i++) {
            char buf[64];
            int kk, seq;

            got++;
            if (sscanf(text(&m[i], buf, sizeof(buf)), "%d:%d", &kk, &seq) != 2 || kk < 0 ||
                kk >= NKEYS) {
                bad++;
                continue;
            }
            if (seq != next[kk] || (part[kk] >= 0 && part[kk] != m[i].partition)) {
                if (bad++ < 5)
                    fprintf(stderr, "order: key %d seq %d, expected %d (partition %d)\n",
                            kk, seq, next[kk], (int)m[i].partition);
            }
            next[kk] = seq + 1;
            part[kk] = m[i].partition;
        }
        kafka_msgs_release(m, c);
    }
    /* Anything beyond n would be a duplicate. */
    got += (int)wait_msgs(k, m, BATCH, 300);
    printf("roundtrip: %d of %d messages read back, %d out of order\n", got, n, bad);
    return got == n && bad == 0 ? 0 : 1;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* Waits until a message whose payload is `want` arrives. */
static int wait_for(struct kafka *k, const char *want, int timeout_ms) {
    double deadline = now_ms() + timeout_ms;
    struct kmsg m[BATCH];
    int found = 0;

    while (!found && now_ms() < deadline) {
        size_t c = wait_msgs(k, m, BATCH, (int)(deadline - now_ms()) + 1);

        for (size_t i = 0; i < c; i++)
            if (m[i].len == strlen(want) && !memcmp(m[i].payload, want, m[i].len))
                found = 1;
        kafka_msgs_release(m, c);
    }
    return found;
}

static int mode_latency(struct kafka *k, const char *topic, int n) {
    double *lat = calloc((size_t)n, sizeof(*lat));
    char val[64];
    int warm = 0, lost = 0, rc;

    if (!lat || start_read(k, topic, KAFKA_FROM_END) < 0)
        return 1;
    /* Reading from the end starts once the end offsets are known. */
    for (int i = 0; i < 50 && !warm; i++) {
        snprintf(val, sizeof(val), "warm-%d", i);
        if (produce(k, topic, "ping", val) < 0)
            return 1;
        warm = wait_for(k, val, 200);
    }
    if (!warm) {
        fprintf(stderr, "kafka_probe: no warm-up ping came back\n");
        return 1;
    }
    srand((unsigned)getpid());
    for (int i = 0; i < n; i++) {
        struct timespec pause = {0, (rand() % 5000) * 1000L};
        double t0;

        /* Pings at random times, not in step with the reader's fetches. */
        nanosleep(&pause, NULL);
        t0 = now_ms();
        snprintf(val, sizeof(val), "ping-%d", i);
        if (produce(k, topic, "ping", val) < 0)
            return 1;
        if (!wait_for(k, val, 5000)) {
            lost++;
            lat[i] = 5000;
            continue;
        }
        lat[i] = now_ms() - t0;
    }
    qsort(lat, (size_t)n, sizeof(*lat), cmp_double);
    printf("latency: %d pings, p50 %.3f ms, p99 %.3f ms, max %.3f ms, lost %d\n", n,
           lat[n / 2], lat[(int)(n * 0.99) < n ? (int)(n * 0.99) : n - 1],
           lat[n - 1], lost);
    rc = lost == 0 && lat[n - 1] >= 0 ? 0 : 1;
    free(lat);
    return rc;
}

static int mode_produce(struct kafka *k, const char *topic, const char *key,
                        const char *val) {
    struct kafka_stats st;

    if (produce(k, topic, key, val) < 0 || kafka_flush(k, 10000) < 0)
        return 1;
    kafka_get_stats(k, &st);
    return st.delivered == 1 ? 0 : 1;
}

static int mode_consume(struct kafka *k, const char *topic, int n, int timeout_ms) {
    double deadline = now_ms() + timeout_ms;
    struct kmsg m[BATCH];
    int got = 0;

    if (start_read(k, topic, KAFKA_FROM_BEGINNING) < 0)
        return 1;
    while (got < n && now_ms() < deadline) {
        size_t c = wait_msgs(k, m, BATCH, 200);

        for (size_t i = 0; i < c; i++)
            printf("%.*s=%.*s\n", (int)m[i].key_len, (const char *)m[i].key,
                   (int)m[i].len, (const char *)m[i].payload);
        got += (int)c;
        kafka_msgs_release(m, c);
        fflush(stdout);
    }
    return got >= n ? 0 : 1;
}

static int mode_outage(struct kafka *k, const char *topic, int seconds) {
    double end = now_ms() + seconds * 1000.0, next = 0;
    struct kafka_stats st;
    struct kmsg m[BATCH];
    int fails = 0, i = 0;
    char val[32];

    if (start_read(k, topic, KAFKA_FROM_END) < 0)
        return 1;
    printf("outage: reading\n");
    fflush(stdout);
    while (now_ms() < end) {
        size_t c;

        if (now_ms() >= next) {
            next = now_ms() + 20;
            snprintf(val, sizeof(val), "%d", i++);
            if (kafka_produce(k, topic, "o", val, strlen(val)) < 0)
                fails++;
        }
        c = wait_msgs(k, m, BATCH, 20);
        kafka_msgs_release(m, c);
    }
    kafka_get_stats(k, &st);
    printf("outage: produced %llu, delivered %llu, delivery errors %llu, "
           "consumed %llu, kafka_produce failures %d\n",
           (unsigned long long)st.produced, (unsigned long long)st.delivered,
           (unsigned long long)st.delivery_errors, (unsigned long long)st.consumed,
           fails);
    return fails == 0 ? 0 : 1;
}

/* Reads until every value 0..n-1 was seen or the timeout passes. */
static int read_values(struct kafka *k, char *seen, int n, int timeout_ms) {
    double deadline = now_ms() + timeout_ms;
    struct kmsg m[BATCH];
    int count = 0;

    for (int i = 0; i < n; i++)
        count += seen[i];
    while (count < n && now_ms() < deadline) {
        size_t c = wait_msgs(k, m, BATCH, 100);

        for (size_t i = 0; i < c; i++) {
            char buf[32];
            int v = atoi(text(&m[i], buf, sizeof(buf)));

            if (v >= 0 && v < n && !seen[v]) {
                seen[v] = 1;
                count++;
            }
        }
        kafka_msgs_release(m, c);
    }
    return count;
}

static int mode_reconnect(const char **props, size_t nprops) {
    char errstr[512], seen[20] = {0}, val[16];
    struct broker *b = broker_new(errstr, sizeof(errstr));
    struct kafka *k = NULL;
    int rc = 1, got;
    double t;

    if (!b) {
        fprintf(stderr, "kafka_probe: %s\n", errstr);
        return 1;
    }
    if (broker_create_topic(b, "probe.reconnect", 2) < 0 ||
        !(k = client(broker_bootstraps(b), props, nprops)) ||
        start_read(k, "probe.reconnect", KAFKA_FROM_BEGINNING) < 0)
        goto out;
    for (int i = 0; i < 10; i++) {
        snprintf(val, sizeof(val), "%d", i);
        if (produce(k, "probe.reconnect", "r", val) < 0)
            goto out;
    }
    if ((got = read_values(k, seen, 10, 10000)) != 10) {
        fprintf(stderr, "kafka_probe: %d of 10 before the outage\n", got);
        goto out;
    }
    if (broker_set_up(b, 0) < 0)
        goto out;
    for (int i = 10; i < 20; i++) {
        snprintf(val, sizeof(val), "%d", i);
        if (produce(k, "probe.reconnect", "r", val) < 0)
            goto out;
    }
    got = read_values(k, seen, 20, 1500); /* nothing can arrive: down */
    t = now_ms();
    if (broker_set_up(b, 1) < 0)
        goto out;
    got = read_values(k, seen, 20, 30000);
    printf("reconnect: %d of 20 messages, the last 10 %.0f ms after the broker "
           "came back\n", got, now_ms() - t);
    rc = got == 20 ? 0 : 1;
out:
    kafka_free(k);
    broker_free(b);
    return rc;
}

/* Values "0".."9" under one key share a partition; remember their offsets. */
static int mode_seek(struct kafka *k, const char *brokers, const char *topic,
                     const char **props, size_t nprops) {
    char val[16], seen[10] = {0};
    int64_t off[10];
    int part = -1, rc = 1, got;
    struct kafka *k2 = NULL;
    struct kmsg m[BATCH];
    double deadline = now_ms() + 10000;

    for (int i = 0; i < 10; i++) {
        snprintf(val, sizeof(val), "%d", i);
        if (produce(k, topic, "s", val) < 0)
            return 1;
    }
    if (kafka_flush(k, 10000) < 0 || start_read(k, topic, KAFKA_FROM_BEGINNING) < 0)
        return 1;
    for (got = 0; got < 10 && now_ms() < deadline;) {
        size_t c = wait_msgs(k, m, BATCH, 100);

        for (size_t i = 0; i < c; i++) {
            char buf[32];
            int v = atoi(text(&m[i], buf, sizeof(buf)));

            if (v >= 0 && v < 10 && !seen[v]) {
                seen[v] = 1;
                off[v] = m[i].offset;
                part = m[i].partition;
                got++;
            }
        }
        kafka_msgs_release(m, c);
    }
    if (got != 10)
        return 1;
    /* A new reader told to start at value 5, the rest from the end. */
    if (!(k2 = client(brokers, props, nprops)) ||
        kafka_seek(k2, topic, part, off[5]) < 0 ||
        start_read(k2, topic, KAFKA_FROM_END) < 0)
        goto out;
    memset(seen, 0, sizeof(seen));
    got = read_values(k2, seen, 10, 3000);
    if (got != 5 || seen[4] || !seen[5] || !seen[9]) {
        fprintf(stderr, "kafka_probe: seek before read: %d values\n", got);
        goto out;
    }
    /* While reading: back to value 2. */
    if (kafka_seek(k2, topic, part, off[2]) < 0)
        goto out;
    memset(seen, 0, sizeof(seen));
    got = read_values(k2, seen, 10, 3000);
    if (got != 8 || seen[1] || !seen[2]) {
        fprintf(stderr, "kafka_probe: seek after read: %d values\n", got);
        goto out;
    }
    printf("seek: before read from offset %lld, after read back to %lld: ok\n",
           (long long)off[5], (long long)off[2]);
    rc = 0;
out:
    kafka_free(k2);
    return rc;
}

static int mode_ensure(struct kafka *k, const char *topic) {
    const char *topics[1] = {topic};
    char errstr[512] = "";
    double t = now_ms();
    int rc = kafka_ensure_topics(k, topics, 1, 4, 3000, errstr, sizeof(errstr));

    printf("ensure: rc %d (%s) after %.0f ms: %s\n", rc, sweep_strerror(rc),
           now_ms() - t, rc ? errstr : "ok");
    return rc == 0 || rc == SWEEP_EIO ? 0 : 1;
}

static void usage(void) {
    fprintf(stderr, "usage: kafka_probe [--prop K=V]... [--fetch-wait MS] "
                    "BOOTSTRAP MODE ARGS...\n");
}

int main(int argc, char **argv) {
    const char *props[MAX_PROPS];
    size_t nprops = 0;
    struct kafka *k;
    const char *mode, *brokers;
    int i = 1, rc;

    log_init("kafka_probe", getenv("PROBE_DEBUG") ? LOG_DEBUG : LOG_WARN);
    for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
        if (!strcmp(argv[i], "--prop") && nprops < MAX_PROPS)
            props[nprops++] = argv[i + 1];
        else if (!strcmp(argv[i], "--fetch-wait"))
            fetch_wait_ms = atoi(argv[i + 1]);
        else
            break;
    }
    if (argc - i < 2) {
        usage();
        return 2;
    }
    brokers = argv[i];
    mode = argv[i + 1];
    if (!strcmp(mode, "reconnect"))
        return mode_reconnect(props, nprops);
    if (!(k = client(brokers, props, nprops)))
        return 2;
    argv += i + 2;
    argc -= i + 2;
    if (!strcmp(mode, "props"))
        rc = mode_props(k);
    else if (!strcmp(mode, "roundtrip") && argc == 2)
        rc = mode_roundtrip(k, argv[0], atoi(argv[1]));
    else if (!strcmp(mode, "latency") && argc == 2 && atoi(argv[1]) > 0)
        rc = mode_latency(k, argv[0], atoi(argv[1]));
    else if (!strcmp(mode, "produce") && argc == 3)
        rc = mode_produce(k, argv[0], argv[1], argv[2]);
    else if (!strcmp(mode, "consume") && argc == 3)
        rc = mode_consume(k, argv[0], atoi(argv[1]), atoi(argv[2]));
    else if (!strcmp(mode, "outage") && argc == 2)
        rc = mode_outage(k, argv[0], atoi(argv[1]));
    else if (!strcmp(mode, "seek") && argc == 1)
        rc = mode_seek(k, brokers, argv[0], props, nprops);
    else if (!strcmp(mode, "ensure") && argc == 1)
        rc = mode_ensure(k, argv[0]);
    else {
        usage();
        rc = 2;
    }
    kafka_free(k);
    return rc;
}

/*
 * sweep_metrics.h - report metrics from a C or C++ program run by a
 * sweep worker. Header only, no dependencies: copy it next to your code.
 *
 *     #include "sweep_metrics.h"
 *
 *     sweep_log("loss", loss);                  // one metric
 *
 *     struct sweep_line l;                      // several, one step
 *     sweep_line_init(&l);
 *     sweep_line_add(&l, "loss", loss);
 *     sweep_line_add(&l, "acc", acc);
 *     sweep_line_step(&l, epoch);
 *     sweep_line_send(&l);
 *
 * Each send writes one JSON line ({"loss": 0.31, "acc": 0.9, "_step": 5})
 * to the pipe whose number the worker puts in SWEEP_METRICS_FD. Outside a
 * sweep (variable unset, or not a pipe: a stale value inherited by some
 * other program) the calls do nothing and return 0. A line is at most
 * SWEEP_LINE_MAX bytes, which keeps each write atomic on the pipe, so
 * threads may send concurrently (each with its own struct sweep_line).
 * NaN and infinities are written as NaN, Infinity, -Infinity, which the
 * worker reads. If the worker is gone, the write raises SIGPIPE as any
 * write to a closed pipe does.
 */
#ifndef SWEEP_METRICS_CLIENT_H
#define SWEEP_METRICS_CLIENT_H

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SWEEP_LINE_MAX 4096 /* PIPE_BUF on Linux */

struct sweep_line {
    char buf[SWEEP_LINE_MAX];
    size_t len;
    int n;        /* members written */
    int overflow; /* a member did not fit: send fails */
};

/* The metrics descriptor, looked up once; -1 when there is none. */
static inline int sweep_metrics_fd(void) {
    static int fd = -2;
    const char *s;
    char *end;
    struct stat st;
    long v;

    if (fd != -2)
        return fd;
    fd = -1;
    s = getenv("SWEEP_METRICS_FD");
    if (!s || !*s)
        return fd;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *end || v < 0 || v > 1000000 || fstat((int)v, &st) < 0 ||
        !S_ISFIFO(st.st_mode))
        return fd;
    fd = (int)v;
    return fd;
}

static inline void sweep_line_init(struct sweep_line *l) {
    l->buf[0] = '{';
    l->len = 1;
    l->n = 0;
    l->overflow = 0;
}

static inline void sweep_line_put_(struct sweep_line *l, const char *s,
                                   size_t n) {
    if (l->overflow || l->len + n >= SWEEP_LINE_MAX) {
        l->overflow = 1;
        return;
    }
    memcpy(l->buf + l->len, s, n);
    l->len += n;
}

/* A member's name as a JSON string. */
static inline void sweep_line_key_(struct sweep_line *l, const char *name) {
    const unsigned char *p;
    char esc[8];

    if (l->n++ > 0)
        sweep_line_put_(l, ", ", 2);
    sweep_line_put_(l, "\"", 1);
    for (p = (const unsigned char *)name; *p; p++) {
        if (*p == '"' || *p == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*p;
            sweep_line_put_(l, esc, 2);
        } else if (*p < 0x20) {
            snprintf(esc, sizeof(esc), "\\u%04x", *p);
            sweep_line_put_(l, esc, 6);
        } else {
            sweep_line_put_(l, (const char *)p, 1);
        }
    }
    sweep_line_put_(l, "\": ", 3);
}

/* The shortest of %.15g, %.16g, %.17g that reads back as v (0.1, not
 * 0.10000000000000001). */
static inline void sweep_format_(char *buf, size_t size, double v) {
    int prec;

    for (prec = 15; prec < 17; prec++) {
        snprintf(buf, size, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            return;
    }
    snprintf(buf, size, "%.17g", v);
}

static inline void sweep_line_add(struct sweep_line *l, const char *name,
                                  double value) {
    char num[32];
    const char *s = num;

    sweep_line_key_(l, name);
    if (isnan(value))
        s = "NaN";
    else if (isinf(value))
        s = value > 0 ? "Infinity" : "-Infinity";
    else
        sweep_format_(num, sizeof(num), value);
    sweep_line_put_(l, s, strlen(s));
}

static inline void sweep_line_step(struct sweep_line *l, long long step) {
    char num[32];
    int n = snprintf(num, sizeof(num), "%lld", step);

    sweep_line_key_(l, "_step");
    sweep_line_put_(l, num, (size_t)n);
}

/* Writes the line. 0 on success or outside a sweep; -1 with errno
 * (EMSGSIZE: the line was too long and nothing was written). */
static inline int sweep_line_send(struct sweep_line *l) {
    int fd = sweep_metrics_fd();
    size_t off = 0;
    ssize_t w;

    if (fd < 0)
        return 0;
    sweep_line_put_(l, "}\n", 2);
    if (l->overflow) {
        errno = EMSGSIZE;
        return -1;
    }
    while (off < l->len) {
        w = write(fd, l->buf + off, l->len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        off += (size_t)w;
    }
    return 0;
}

/* One metric on its own line. */
static inline int sweep_log(const char *name, double value) {
    struct sweep_line l;

    sweep_line_init(&l);
    sweep_line_add(&l, name, value);
    return sweep_line_send(&l);
}

/* One metric at a step. */
static inline int sweep_log_step(const char *name, double value,
                                 long long step) {
    struct sweep_line l;

    sweep_line_init(&l);
    sweep_line_add(&l, name, value);
    sweep_line_step(&l, step);
    return sweep_line_send(&l);
}

#endif

/*
 * metrics.c - metric values from one output line of a run: name=value
 * pairs (stdout, stderr) or a JSON object (the SWEEP_METRICS_FD pipe).
 *
 * Lines come from programs we do not control, so both parsers take any
 * bytes (NULs, invalid UTF-8, megabytes) and never read past len. A line
 * is taken whole or not at all: one bad token rejects the kv line, so
 * ordinary log output ("epoch 3 done") is never half-read as metrics.
 * In both forms a repeated name keeps its last value (as JSON does).
 */
#include "metrics.h"

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The longest number token tried with strtod; no real number is longer. */
#define METRICS_MAX_NUMBER 512

static void metrics_reset(struct metric_set *out) {
    out->n = 0;
    out->has_step = 0;
    out->step = 0;
}

/* Sets step from v when v is an integer that fits int64_t. */
static void metrics_set_step(struct metric_set *out, double v) {
    if (!isfinite(v) || floor(v) != v || v < -9223372036854775808.0 ||
        v >= 9223372036854775808.0)
        return;
    out->has_step = 1;
    out->step = (int64_t)v;
}

/* Adds or replaces name (len bytes, < METRICS_MAX_NAME). 0 when full. */
static int metrics_put(struct metric_set *out, const char *name, size_t len,
                       double v) {
    size_t i;

    for (i = 0; i < out->n; i++)
        if (strlen(out->names[i]) == len && !memcmp(out->names[i], name, len))
            break;
    if (i == out->n) {
        if (out->n == METRICS_MAX_PER_LINE)
            return 0;
        memcpy(out->names[i], name, len);
        out->names[i][len] = '\0';
        out->n++;
    }
    out->values[i] = v;
    return 1;
}

static int kv_space(unsigned char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' ||
           c == '\f';
}

static int kv_name_start(unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static int kv_name_char(unsigned char c) {
    return kv_name_start(c) || (c >= '0' && c <= '9') || c == '.' || c == '/' ||
           c == '-';
}

/* Length of the valid name at the start of tok (0: none). */
static size_t kv_name_len(const char *tok, size_t len) {
    size_t i = 0;

    if (len == 0 || !kv_name_start((unsigned char)tok[0]))
        return 0;
    while (i < len && kv_name_char((unsigned char)tok[i]))
        i++;
    return i;
}

/* The whole of s (len bytes, no NUL needed) as a strtod number. */
static int kv_number(const char *s, size_t len, double *v) {
    char buf[METRICS_MAX_NUMBER];
    char *end;

    if (len == 0 || len >= sizeof(buf) || memchr(s, '\0', len))
        return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    *v = strtod(buf, &end);
    return end == buf + len;
}

/* One name=number token; 0 rejects the line. */
static int kv_token(const char *tok, size_t len, struct metric_set *out) {
    size_t nlen = kv_name_len(tok, len);
    double v;

    if (nlen == 0 || nlen >= METRICS_MAX_NAME || nlen == len ||
        tok[nlen] != '=' || !kv_number(tok + nlen + 1, len - nlen - 1, &v))
        return 0;
    if (nlen == 5 && !memcmp(tok, "_step", 5)) {
        metrics_set_step(out, v);
        return 1;
    }
    return metrics_put(out, tok, nlen, v);
}

int metrics_parse_kv(const char *line, size_t len, struct metric_set *out) {
    size_t i = 0, start;
    int tokens = 0;

    metrics_reset(out);
    if (!line)
        return 0;
    for (;;) {
        while (i < len && kv_space((unsigned char)line[i]))
            i++;
        if (i == len)
            break;
        start = i;
        while (i < len && !kv_space((unsigned char)line[i]))
            i++;
        if (!kv_token(line + start, i - start, out)) {
            metrics_reset(out);
            return 0;
        }
        tokens++;
    }
    return tokens > 0;
}

/*
 * JSON has no literal for NaN or infinity, but Python's json.dumps (the
 * way most programs will write these lines) prints bare NaN, Infinity and
 * -Infinity, and a diverged run's loss=NaN is a result a sweep must see.
 * When a line does not parse, those bare words (outside strings) become
 * strings with a leading NUL, which no real metric line holds, and the
 * line is parsed again.
 */
static const char *const json_nonfinite[] = {"-Infinity", "Infinity", "NaN"};

static int json_word_char(unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '+' ||
           c == '-';
}

/* Which bare non-finite word starts at line[i] (outside a string); -1. */
static int json_nonfinite_at(const char *line, size_t len, size_t i) {
    size_t k, wl;

    if (i > 0 && json_word_char((unsigned char)line[i - 1]))
        return -1;
    for (k = 0; k < 3; k++) {
        wl = strlen(json_nonfinite[k]);
        if (len - i >= wl && !memcmp(line + i, json_nonfinite[k], wl) &&
            (len - i == wl || !json_word_char((unsigned char)line[i + wl])))
            return (int)k;
    }
    return -1;
}

/* The line with bare non-finite words quoted; caller frees. NULL when there
 * are none (or out of memory). */
static char *json_quote_nonfinite(const char *line, size_t len, size_t *olen) {
    char *buf, *o;
    int in_str = 0, found = 0, k;
    size_t i = 0;

    if (len > (SIZE_MAX - 1) / 4 || !(buf = malloc(len * 4 + 1)))
        return NULL;
    o = buf;
    while (i < len) {
        char c = line[i];

        if (in_str) {
            *o++ = c;
            if (c == '\\' && i + 1 < len)
                *o++ = line[++i];
            else if (c == '"')
                in_str = 0;
            i++;
        } else if ((k = json_nonfinite_at(line, len, i)) >= 0) {
            /* At most 4 output bytes per input byte: "NaN" -> 11. */
            o += sprintf(o, "\"\\u0000%s\"", json_nonfinite[k]);
            i += strlen(json_nonfinite[k]);
            found = 1;
        } else {
            in_str = c == '"';
            *o++ = c;
            i++;
        }
    }
    if (!found) {
        free(buf);
        return NULL;
    }
    *olen = (size_t)(o - buf);
    return buf;
}

/* The number a member's value stands for; 0 when it is not one. */
static int json_member_number(json_t *v, int quoted, double *d) {
    const char *s;
    size_t len;

    if (json_is_number(v)) {
        *d = json_number_value(v);
        return 1;
    }
    if (!quoted || !json_is_string(v))
        return 0;
    s = json_string_value(v);
    len = json_string_length(v);
    if (len < 2 || s[0] != '\0')
        return 0;
    if (!strcmp(s + 1, "NaN"))
        *d = NAN;
    else if (!strcmp(s + 1, "Infinity"))
        *d = INFINITY;
    else if (!strcmp(s + 1, "-Infinity"))
        *d = -INFINITY;
    else
        return 0;
    return 1;
}

static int json_fill(json_t *obj, int quoted, struct metric_set *out) {
    const char *key;
    size_t klen;
    json_t *v;
    double d;

    json_object_keylen_foreach(obj, key, klen, v) {
        if (json_is_integer(v) && klen == 5 && !memcmp(key, "_step", 5)) {
            out->has_step = 1;
            out->step = (int64_t)json_integer_value(v);
            continue;
        }
        if (!json_member_number(v, quoted, &d))
            continue; /* strings, booleans, null, objects, arrays */
        if (klen == 5 && !memcmp(key, "_step", 5))
            metrics_set_step(out, d);
        else if (klen > 0 && klen < METRICS_MAX_NAME &&
                 !memchr(key, '\0', klen) && !metrics_put(out, key, klen, d))
            return 0; /* more than METRICS_MAX_PER_LINE metrics */
    }
    return 1;
}

int metrics_parse_json(const char *line, size_t len, struct metric_set *out) {
    const size_t flags = JSON_ALLOW_NUL; /* objects and arrays only */
    json_error_t err;
    json_t *obj;
    char *quoted = NULL;
    size_t qlen;
    int ok, was_quoted = 0;

    metrics_reset(out);
    if (!line)
        return 0;
    obj = json_loadb(line, len, flags, &err);
    if (!obj && (quoted = json_quote_nonfinite(line, len, &qlen)) != NULL) {
        obj = json_loadb(quoted, qlen, flags, &err);
        free(quoted);
        was_quoted = 1;
    }
    if (!obj)
        return 0;
    ok = json_is_object(obj) && json_fill(obj, was_quoted, out);
    json_decref(obj);
    if (!ok)
        metrics_reset(out);
    return ok;
}

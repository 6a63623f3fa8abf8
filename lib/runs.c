/* runs.c - reading prior runs (RUNS.json) for the offline verbs. */
#include "runs.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sweep.h"

static const char *const state_names[] = {
#define RUN_X_NAME(e, s) s,
    RUN_STATES(RUN_X_NAME)
#undef RUN_X_NAME
};

const char *run_state_name(enum run_state s) {
    return (unsigned)s < RUN__STATE_COUNT ? state_names[s] : "?";
}

int run_state_parse(const char *name) {
    for (int i = 0; i < RUN__STATE_COUNT; i++)
        if (!strcmp(name, state_names[i]))
            return i;
    return -1;
}

static int fail(char *errstr, size_t size, size_t i, const char *key,
                const char *msg) {
    snprintf(errstr, size, "runs[%zu]%s%s: %s", i, key ? "." : "",
             key ? key : "", msg);
    return SWEEP_EPARSE;
}

/* An optional member of the given type; a missing one becomes `dflt`. */
static int take(const json_t *o, const char *key, json_type type,
                json_t *(*dflt)(void), json_t **out) {
    json_t *v = json_object_get(o, key);

    if (!v) {
        *out = dflt();
        return *out ? 0 : SWEEP_ENOMEM;
    }
    if (json_typeof(v) != type)
        return SWEEP_EINVAL;
    *out = json_incref(v);
    return 0;
}

static int parse_run(const json_t *o, size_t i, struct run *r, char *errstr,
                     size_t size) {
    const json_t *name = json_object_get(o, "name");
    const json_t *state = json_object_get(o, "state");
    int s;

    if (!json_is_object(o))
        return fail(errstr, size, i, NULL, "must be an object");
    if (name && !json_is_string(name))
        return fail(errstr, size, i, "name", "must be a string");
    if (!state || !json_is_string(state))
        return fail(errstr, size, i, "state", "missing, or not a string");
    if ((s = run_state_parse(json_string_value(state))) < 0)
        return fail(errstr, size, i, "state",
                    "must be one of pending, running, finished, failed, "
                    "crashed, killed, preempting, preempted");
    r->state = (enum run_state)s;
    if (name)
        r->name = strdup(json_string_value(name));
    else if (asprintf(&r->name, "run-%zu", i + 1) < 0)
        r->name = NULL;
    if (!r->name)
        return SWEEP_ENOMEM;
    if (take(o, "params", JSON_OBJECT, json_object, &r->params))
        return fail(errstr, size, i, "params", "must be an object");
    if (take(o, "history", JSON_ARRAY, json_array, &r->history))
        return fail(errstr, size, i, "history", "must be an array");
    if (take(o, "summary", JSON_OBJECT, json_object, &r->summary))
        return fail(errstr, size, i, "summary", "must be an object");
    for (size_t k = 0; k < json_array_size(r->history); k++)
        if (!json_is_object(json_array_get(r->history, k)))
            return fail(errstr, size, i, "history",
                        "every entry must be an object of metric values");
    return 0;
}

int runs_from_json(const json_t *arr, struct runs **out, char *errstr,
                   size_t errstr_size) {
    struct runs *r;
    int rc = 0;

    *out = NULL;
    if (!json_is_array(arr)) {
        snprintf(errstr, errstr_size, "runs: must be a JSON array of runs");
        return SWEEP_EPARSE;
    }
    r = calloc(1, sizeof(*r));
    if (!r || !(r->v = calloc(json_array_size(arr) + 1, sizeof(struct run)))) {
        free(r);
        snprintf(errstr, errstr_size, "out of memory");
        return SWEEP_ENOMEM;
    }
    for (size_t i = 0; i < json_array_size(arr) && !rc; i++) {
        rc = parse_run(json_array_get(arr, i), i, &r->v[i], errstr, errstr_size);
        r->n = i + 1;
    }
    if (rc) {
        if (rc == SWEEP_ENOMEM)
            snprintf(errstr, errstr_size, "out of memory");
        runs_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

/* Python's json module writes NaN, Infinity and -Infinity (bare), which
 * JSON has not: outside strings they become null, which every reader of
 * runs skips as it skips NaN (COMPAT.md 3 and 4). Infinity keeps its
 * width (null and spaces), so error columns stay right; NaN grows by one.
 * Returns a new NUL-terminated buffer or NULL. */
static char *runs_nan_to_null(const char *in, size_t len, size_t *outlen) {
    static const char *const words[] = {"-Infinity", "Infinity", "NaN"};
    char *out = malloc(len + len / 3 + 2), *o = out;
    int str = 0;

    if (!out)
        return NULL;
    for (size_t i = 0; i < len;) {
        char c = in[i];
        size_t w, k = 0;
        if (str) {
            *o++ = c;
            i++;
            if (c == '\\' && i < len)
                *o++ = in[i++];
            else if (c == '"')
                str = 0;
            continue;
        }
        if (c == '"')
            str = 1;
        for (; k < 3; k++) {
            w = strlen(words[k]);
            if (len - i >= w && !memcmp(in + i, words[k], w) &&
                (i + w == len || !isalnum((unsigned char)in[i + w])) &&
                (i == 0 || !isalnum((unsigned char)in[i - 1])))
                break;
        }
        if (k == 3) {
            *o++ = c;
            i++;
            continue;
        }
        memcpy(o, "null", 4);
        o += 4;
        for (size_t pad = 4; pad < w; pad++)
            *o++ = ' ';
        i += w;
    }
    *o = 0;
    *outlen = (size_t)(o - out);
    return out;
}

/* The whole of fp; NULL with errno on failure. */
static char *runs_slurp(FILE *fp, size_t *len) {
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap), *nb;

    while (buf) {
        n += fread(buf + n, 1, cap - n, fp);
        if (n < cap)
            break;
        nb = realloc(buf, cap * 2);
        if (!nb)
            free(buf);
        buf = nb;
        cap *= 2;
    }
    if (buf && ferror(fp)) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

int runs_load_buffer(const char *buf, size_t len, const char *name,
                     struct runs **out, char *errstr, size_t errstr_size) {
    json_error_t jerr;
    json_t *j;
    char inner[400], *text;
    size_t tlen = 0;
    int rc;

    *out = NULL;
    text = runs_nan_to_null(buf, len, &tlen);
    if (!text)
        return SWEEP_ENOMEM;
    j = json_loadb(text, tlen, JSON_DECODE_ANY, &jerr);
    free(text);
    if (!j) {
        snprintf(errstr, errstr_size, "%s:%d:%d: %s", name, jerr.line,
                 jerr.column, jerr.text);
        return SWEEP_EPARSE;
    }
    rc = runs_from_json(j, out, inner, sizeof(inner));
    if (rc)
        snprintf(errstr, errstr_size, "%s: %s", name, inner);
    json_decref(j);
    return rc;
}

int runs_load_file(const char *path, struct runs **out, char *errstr,
                   size_t errstr_size) {
    char *raw;
    size_t len = 0;
    FILE *fp = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    int rc;

    *out = NULL;
    raw = fp ? runs_slurp(fp, &len) : NULL;
    if (!raw) {
        snprintf(errstr, errstr_size, "%s: %s", path, strerror(errno));
        if (fp && fp != stdin)
            fclose(fp);
        return SWEEP_EIO;
    }
    if (fp != stdin)
        fclose(fp);
    rc = runs_load_buffer(raw, len, path, out, errstr, errstr_size);
    free(raw);
    return rc;
}

void runs_free(struct runs *r) {
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        free(r->v[i].name);
        json_decref(r->v[i].params);
        json_decref(r->v[i].history);
        json_decref(r->v[i].summary);
    }
    free(r->v);
    free(r);
}

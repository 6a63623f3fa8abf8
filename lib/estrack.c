/*
 * estrack.c - per-sweep metric values for early termination (see
 * estrack.h).
 */
#include "estrack.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "earlystop.h"
#include "hash.h"
#include "sbuf.h"
#include "sweep.h"

struct es_track {
    char *id;
    int attempt;
    int stop_sent; /* a stop went out for this attempt */
    int touched;   /* a value came since the last judgement */
    double *v;
    size_t n, cap;
};

struct estrack {
    const struct sweep_config *cfg;
    struct es_track *runs;
    size_t n, cap;
    size_t *index; /* open addressing: run index + 1, 0 = empty */
    size_t nindex; /* a power of two, at least 2 n */
    struct es_run *view; /* earlystop's input, rebuilt per judge */
    int dirty;      /* values changed since the last judgement */
    int stale;      /* ... since the last judgement of every run */
};

struct estrack *estrack_new(const struct sweep_config *cfg, int *oom) {
    struct estrack *t;

    *oom = 0;
    if (cfg->et.type == ET_NONE || !cfg->metric.name)
        return NULL;
    t = calloc(1, sizeof(*t));
    if (!t) {
        *oom = 1;
        return NULL;
    }
    t->cfg = cfg;
    return t;
}

void estrack_free(struct estrack *t) {
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++) {
        free(t->runs[i].id);
        free(t->runs[i].v);
    }
    free(t->runs);
    free(t->index);
    free(t->view);
    free(t);
}

static size_t *es_slot(const struct estrack *t, const char *id) {
    size_t mask = t->nindex - 1, i = (size_t)fnv1a(FNV1A_INIT, id, strlen(id)) & mask;

    while (t->index[i] && strcmp(t->runs[t->index[i] - 1].id, id))
        i = (i + 1) & mask;
    return &t->index[i];
}

static int es_reindex(struct estrack *t, size_t want) {
    size_t n = 16, *ni;

    while (n < 2 * want)
        n *= 2;
    if (n <= t->nindex)
        return 0;
    ni = calloc(n, sizeof(*ni));
    if (!ni)
        return SWEEP_ENOMEM;
    free(t->index);
    t->index = ni;
    t->nindex = n;
    for (size_t i = 0; i < t->n; i++)
        *es_slot(t, t->runs[i].id) = i + 1;
    return 0;
}

/* The run's track, added (empty, at attempt) when absent; NULL on OOM. */
static struct es_track *es_get(struct estrack *t, const char *id, int attempt) {
    size_t *slot;
    struct es_track *r;

    if (es_reindex(t, t->n + 1))
        return NULL;
    slot = es_slot(t, id);
    if (*slot)
        return &t->runs[*slot - 1];
    if (t->n == t->cap) {
        size_t nc = t->cap ? 2 * t->cap : 16;
        struct es_track *nr = realloc(t->runs, nc * sizeof(*nr));
        struct es_run *nv = realloc(t->view, nc * sizeof(*nv));
        if (nr)
            t->runs = nr;
        if (nv)
            t->view = nv;
        if (!nr || !nv)
            return NULL;
        t->cap = nc;
    }
    r = &t->runs[t->n];
    memset(r, 0, sizeof(*r));
    if (!(r->id = strdup(id)))
        return NULL;
    r->attempt = attempt;
    *slot = ++t->n;
    return r;
}

static struct es_track *es_find(const struct estrack *t, const char *id) {
    size_t *slot;

    if (!t->nindex)
        return NULL;
    slot = es_slot(t, id);
    return *slot ? &t->runs[*slot - 1] : NULL;
}

static int es_push(struct es_track *r, double v) {
    if (r->n == r->cap) {
        size_t nc = r->cap ? 2 * r->cap : 8;
        double *nv = realloc(r->v, nc * sizeof(double));
        if (!nv)
            return SWEEP_ENOMEM;
        r->v = nv;
        r->cap = nc;
    }
    r->v[r->n++] = v;
    return 0;
}

/* A newer attempt: what the older one logged is gone. */
static void es_restart(struct es_track *r, int attempt) {
    r->n = 0;
    r->attempt = attempt;
    r->stop_sent = 0;
}

int estrack_load(struct estrack *t, const json_t *runs) {
    const char *metric = t->cfg->metric.name;
    size_t i, k;
    json_t *run, *h;

    json_array_foreach(runs, i, run) {
        const char *id = json_string_value(json_object_get(run, "id"));
        int attempt = (int)json_integer_value(json_object_get(run, "attempt"));
        struct es_track *r;
        if (!id)
            continue;
        if (!(r = es_get(t, id, attempt)))
            return SWEEP_ENOMEM;
        es_restart(r, attempt);
        json_array_foreach(json_object_get(run, "history"), k, h) {
            double v;
            if (earlystop_value(json_object_get(h, metric), &v) &&
                es_push(r, v))
                return SWEEP_ENOMEM;
        }
    }
    t->dirty = t->stale = 1;
    return 0;
}

int estrack_metric(struct estrack *t, const char *run, int attempt,
                   char *const *names, const double *values, size_t n) {
    const char *metric = t->cfg->metric.name;
    struct es_track *r = es_find(t, run);

    if (r && attempt < r->attempt)
        return 0; /* an attempt that is no longer the run's */
    if (!r && !(r = es_get(t, run, attempt)))
        return SWEEP_ENOMEM;
    if (attempt > r->attempt)
        es_restart(r, attempt);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(names[i], metric) || !isfinite(values[i]))
            continue;
        if (es_push(r, values[i]))
            return SWEEP_ENOMEM;
        r->touched = 1;
        t->dirty = t->stale = 1;
        return 1;
    }
    return 0;
}

void estrack_restart(struct estrack *t, const char *run) {
    struct es_track *r = es_find(t, run);

    if (r) {
        es_restart(r, r->attempt);
        t->dirty = t->stale = 1;
    }
}

int estrack_dirty(const struct estrack *t, int all) {
    return all ? t->stale : t->dirty;
}

size_t estrack_size(const struct estrack *t) {
    return t->n;
}

long estrack_judge(struct estrack *t, int all, estrack_running_fn running,
                   estrack_stop_fn stop, void *arg) {
    const struct sweep_config *cfg = t->cfg;
    struct sbuf sb;
    long stops = 0;

    t->dirty = 0;
    if (all)
        t->stale = 0;
    for (size_t i = 0; i < t->n; i++) {
        struct es_track *r = &t->runs[i];
        t->view[i] = (struct es_run){r->id, 0, r->v, r->n};
        t->view[i].running = (all || r->touched) && !r->stop_sent && r->n &&
                             running(arg, r->id, r->attempt);
        r->touched = 0;
    }
    sbuf_init(&sb);
    for (size_t i = 0; i < t->n; i++) {
        struct es_reason why;
        int rc;
        if (!t->view[i].running)
            continue;
        /* every run counts for the thresholds; judged are the flagged */
        rc = earlystop_check(&cfg->et, cfg->metric.maximize, t->view, t->n,
                             i, &why);
        if (rc < 0) {
            stops = rc;
            break;
        }
        if (rc == 0)
            continue;
        sbuf_reset(&sb);
        earlystop_reason_format(&why, &sb);
        if (sbuf_oom(&sb)) {
            stops = SWEEP_ENOMEM;
            break;
        }
        t->runs[i].stop_sent = 1;
        stop(arg, t->runs[i].id, t->runs[i].attempt, sbuf_str(&sb));
        stops++;
    }
    sbuf_release(&sb);
    return stops;
}

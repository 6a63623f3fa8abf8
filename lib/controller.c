/*
 * controller.c - the controller engine (see controller.h).
 *
 * Standby: try the lease every third of its TTL. Leader: read the control,
 * events and metrics topics from the offsets saved in Redis, apply each
 * message with one fenced script, answer idle workers, and every 250 ms
 * extend the lease, look for runs whose worker went silent and save the
 * offsets consumed.
 */
#include "controller.h"

#include <errno.h>
#include <gsl/gsl_rng.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "codec.h"
#include "config.h"
#include "earlystop.h"
#include "estrack.h"
#include "grid.h"
#include "kafka.h"
#include "log.h"
#include "prom.h"
#include "sbuf.h"
#include "sign.h"
#include "search.h"
#include "space.h"
#include "store.h"
#include "sweep.h"
#include "topicadm.h"
#include "topics.h"
#include "value.h"

#define BATCH_MAX 1024
#define TICK_MS 250
#define SWEEP_REFRESH_MS 1000
#define WORKER_STALE_MS 15000  /* status messages older than this are history */
#define ASSIGN_LOST_MS 3000    /* an idle worker this long after: it missed it */

struct ctl_sweep {
    char *id;
    struct sweep_config *cfg;
    struct grid *grid;
    size_t cursor;
    char state[16];
    struct store_target target;
    int warned; /* method without offline support logged once */
    struct estrack *es; /* early_terminate's view of the metric, or NULL */
};

struct ctl_run {
    char *sweep, *run, *worker;
    int attempt;
    int64_t wseq; /* the worker's assignment count once it got this run */
    int64_t assigned_at, last_hb;
    int started;
};

struct ctl_worker {
    char *id, *pool, *sweep;
    int64_t last_seen;
    int idle;
    int64_t received;  /* the most assignments a status said it had */
    int64_t sent;      /* its count once it got the last one sent to it */
    int64_t behind_since; /* since when its statuses are behind sent, 0 */
};

/* The `wseq` of the next assignment to w: its count once it has it. */
static int64_t next_wseq(const struct ctl_worker *w) {
    int64_t n = w->sent > w->received ? w->sent : w->received;

    /* received is what a status claims, any long: INT64_MAX + 1 would
     * overflow (undefined; in practice wseq and sent wrap to INT64_MIN). */
    return n < INT64_MAX ? n + 1 : INT64_MAX;
}

struct offset {
    char key[160];
    char topic[128];
    int32_t partition;
    int64_t next;
};

struct controller {
    const struct settings *st;
    struct signer *signer; /* NULL: insecure_unsigned */
    int stop_fd;
    int ttl_ms;
    char holder[128];
    struct store *store;
    struct kafka *kafka;
    struct codec *codec;
    struct topics topics;
    int64_t token;
    int leader;
    int fenced;   /* a write was refused (or failed): stop, re-read, re-lead */
    int fatal;    /* the cluster refuses us: controller_run() returns 1 */
    struct ctl_sweep *sweeps;
    size_t nsweeps;
    struct ctl_run *runs;
    size_t nruns;
    struct ctl_worker *workers;
    size_t nworkers;
    size_t rr;
    gsl_rng *rng;
    struct offset *offs;
    size_t noffs;
    int offs_dirty;
    int64_t next_lease, next_refresh, next_tick;
    int more; /* the last drain stopped at DRAIN_MAX */
    struct controller_stats stats;
    struct msg metrics[BATCH_MAX];
    struct {
        int32_t partition;
        int64_t offset;
    } mpos[BATCH_MAX]; /* where each came from on the metrics topic */
    size_t nmetrics;
    double batch_t0;  /* monotonic s: the batch's first metric event read */
    int judging_batch; /* judge_sweeps() runs on a batch of metric events */
    /* For controller_metrics(): the loop writes, any thread reads. */
    int metrics_on;
    int64_t next_publish;
    pthread_mutex_t pub_mu;
    struct controller_stats pub_stats; /* under pub_mu */
    int pub_leader;                    /* under pub_mu */
    struct sbuf pub_gauges;            /* under pub_mu: Redis and Kafka ones */
    struct prom_hist h_stop, h_suggest; /* lock themselves */
};

static double mono_s(void) {
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A write the store refused: another controller holds a newer token. */
static void fence(struct controller *c) {
    c->fenced = 1;
    c->stats.fenced_writes++;
}

static int64_t wall_ms(void) {
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *grow(void *arr, size_t n, size_t size) {
    /* capacity doubles at powers of two */
    if (n && (n & (n - 1)))
        return arr;
    return realloc(arr, (n ? n * 2 : 4) * size);
}

/* ---- kafka output ---- */

static int send_msg(struct controller *c, enum topic_id t, const char *key,
                    const struct msg *m) {
    void *buf = NULL;
    size_t len = 0;
    int rc = codec_encode(c->codec, m, &buf, &len);
    char sig[SIGN_VALUE_LEN + 1];

    /* What workers act on is signed: they refuse anything else. */
    if (rc == 0 && t == TOPIC_ASSIGN && c->signer)
        rc = signer_sign(c->signer, c->topics.names[t], key,
                         key ? strlen(key) : 0, buf, len, sig);
    if (rc == 0)
        rc = kafka_produce_signed(c->kafka, c->topics.names[t], key, buf, len,
                                  t == TOPIC_ASSIGN && c->signer ? sig : NULL);
    if (rc)
        LOG(LOG_ERROR, "cannot send %s: %s", msg_kind_name(m->kind),
            sweep_strerror(rc));
    free(buf);
    return rc;
}

static void send_command(struct controller *c, const char *sweep,
                         const char *run, int attempt, const char *worker,
                         enum run_command_kind kind, const char *reason) {
    struct msg m = {.kind = MSG_RUN_COMMAND};

    m.u.cmd.r.sweep_id = (char *)sweep;
    m.u.cmd.r.run_id = (char *)(run ? run : "");
    m.u.cmd.r.worker_id = (char *)worker;
    m.u.cmd.r.attempt = attempt;
    m.u.cmd.r.ts_ms = wall_ms();
    m.u.cmd.command = kind;
    m.u.cmd.reason = (char *)reason;
    if (send_msg(c, TOPIC_ASSIGN, run && *run ? run : worker, &m) == 0 &&
        kind == RCMD_STOP)
        c->stats.stops_sent++;
}

/* ---- in-memory tables ---- */

static struct ctl_sweep *find_sweep(struct controller *c, const char *id) {
    for (size_t i = 0; i < c->nsweeps; i++)
        if (!strcmp(c->sweeps[i].id, id))
            return &c->sweeps[i];
    return NULL;
}

static struct ctl_run *find_run(struct controller *c, const char *sweep,
                                const char *run) {
    for (size_t i = 0; i < c->nruns; i++)
        if (!strcmp(c->runs[i].run, run) && !strcmp(c->runs[i].sweep, sweep))
            return &c->runs[i];
    return NULL;
}

static struct ctl_worker *find_worker(struct controller *c, const char *id) {
    for (size_t i = 0; i < c->nworkers; i++)
        if (!strcmp(c->workers[i].id, id))
            return &c->workers[i];
    return NULL;
}

static void drop_run(struct controller *c, struct ctl_run *r) {
    free(r->sweep);
    free(r->run);
    free(r->worker);
    *r = c->runs[--c->nruns];
}

static struct ctl_run *add_run(struct controller *c, const char *sweep,
                               const char *run, const char *worker,
                               int attempt, int64_t assigned_at) {
    struct ctl_run *nv = grow(c->runs, c->nruns, sizeof(*nv)), *r;

    if (!nv)
        return NULL;
    c->runs = nv;
    r = &c->runs[c->nruns];
    memset(r, 0, sizeof(*r));
    r->sweep = strdup(sweep);
    r->run = strdup(run);
    r->worker = strdup(worker ? worker : "");
    if (!r->sweep || !r->run || !r->worker) {
        free(r->sweep);
        free(r->run);
        free(r->worker);
        return NULL;
    }
    r->attempt = attempt;
    r->assigned_at = r->last_hb = assigned_at;
    c->nruns++;
    return r;
}

static void drop_worker(struct controller *c, struct ctl_worker *w) {
    free(w->id);
    free(w->pool);
    free(w->sweep);
    *w = c->workers[--c->nworkers];
}

static void sweep_release(struct ctl_sweep *s) {
    estrack_free(s->es);
    free(s->id);
    config_free(s->cfg);
    grid_free(s->grid);
}

static void forget_all(struct controller *c) {
    while (c->nruns)
        drop_run(c, &c->runs[c->nruns - 1]);
    while (c->nworkers)
        drop_worker(c, &c->workers[c->nworkers - 1]);
    for (size_t i = 0; i < c->nsweeps; i++)
        sweep_release(&c->sweeps[i]);
    c->nsweeps = 0;
    for (size_t i = 0; i < c->nmetrics; i++)
        msg_release(&c->metrics[i]);
    c->nmetrics = 0;
    c->noffs = 0;
}

/* ---- sweeps ---- */

/* Grid points taken in Redis (SETBIT order: 0x80 is bit 0). */
static void load_grid_taken(struct controller *c, struct ctl_sweep *s) {
    unsigned char *bits = NULL;
    size_t n = 0;

    if (store_grid_taken(c->store, s->id, &bits, &n) < 0)
        return;
    for (size_t i = 0; i < n * 8; i++)
        if (bits[i / 8] & (0x80 >> (i % 8)))
            grid_take(s->grid, i);
    free(bits);
}

/* early_terminate: every run's values so far, judged on each event. */
static int load_estrack(struct controller *c, struct ctl_sweep *s,
                        const char *id) {
    json_t *runs;
    int oom, rc;

    s->es = estrack_new(s->cfg, &oom);
    if (!s->es)
        return oom ? -1 : 0;
    runs = store_runs(c->store, id, 1);
    if (!runs) {
        LOG(LOG_ERROR, "sweep '%s': cannot read its runs: %s", id,
            store_errstr(c->store));
        return -1;
    }
    rc = estrack_load(s->es, runs);
    json_decref(runs);
    if (rc)
        return -1;
    LOG(LOG_INFO, "sweep '%s': %s early termination over %zu runs", id,
        earlystop_type_name(s->cfg->et.type), estrack_size(s->es));
    return 0;
}

static int load_sweep(struct controller *c, const char *id) {
    json_t *o = store_sweep_get(c->store, id);
    struct ctl_sweep s = {0}, *nv;
    struct diags d;
    char *text = NULL, err[256];
    int rc = -1;

    if (!o)
        return -1;
    diags_init(&d, id);
    text = json_dumps(json_object_get(o, "config"), JSON_COMPACT);
    s.cfg = text ? config_load_buffer(text, strlen(text), id, &d) : NULL;
    if (!s.cfg) {
        LOG(LOG_ERROR, "sweep '%s': its stored config does not load", id);
        goto out;
    }
    s.id = strdup(id);
    snprintf(s.state, sizeof(s.state), "%s",
             json_string_value(json_object_get(o, "state")) ?: "running");
    s.target.metric = s.cfg->metric.name;
    s.target.maximize = s.cfg->metric.maximize;
    s.target.has_target = s.cfg->metric.has_target;
    s.target.target = s.cfg->metric.target;
    if (s.cfg->method == METHOD_GRID) {
        if (grid_new(s.cfg, &s.grid, err, sizeof(err)) < 0) {
            LOG(LOG_ERROR, "sweep '%s': %s", id, err);
            goto out;
        }
        load_grid_taken(c, &s);
    }
    if (load_estrack(c, &s, id))
        goto out;
    if (!s.id || !(nv = grow(c->sweeps, c->nsweeps, sizeof(*nv))))
        goto out;
    c->sweeps = nv;
    c->sweeps[c->nsweeps++] = s;
    memset(&s, 0, sizeof(s));
    LOG(LOG_INFO, "leading sweep '%s' (%s, %s)", id,
        config_method_name(c->sweeps[c->nsweeps - 1].cfg->method),
        c->sweeps[c->nsweeps - 1].state);
    rc = 0;
out:
    sweep_release(&s);
    free(text);
    diags_release(&d);
    json_decref(o);
    return rc;
}

/* Live runs of a sweep we just started leading. */
static void load_live_runs(struct controller *c, const char *sweep) {
    json_t *runs = store_live_runs(c->store, sweep), *r;
    size_t i;

    json_array_foreach(runs, i, r) {
        const char *st = json_string_value(json_object_get(r, "state"));
        struct ctl_run *cr;
        if (!st || (strcmp(st, "pending") && strcmp(st, "running")))
            continue;
        cr = add_run(c, sweep, json_string_value(json_object_get(r, "id")),
                     json_string_value(json_object_get(r, "worker")),
                     (int)json_integer_value(json_object_get(r, "attempt")),
                     json_integer_value(json_object_get(r, "assigned_at")));
        if (!cr)
            continue;
        cr->started = !strcmp(st, "running");
        cr->wseq = json_integer_value(json_object_get(r, "wseq"));
        if (json_integer_value(json_object_get(r, "heartbeat_at")) > cr->last_hb)
            cr->last_hb = json_integer_value(json_object_get(r, "heartbeat_at"));
    }
    json_decref(runs);
}

/* One state read per sweep: new active sweeps are loaded, the state of
 * those we lead is brought up to date. */
static void refresh_sweeps(struct controller *c) {
    json_t *ids = store_sweep_ids(c->store), *id;
    size_t i;

    json_array_foreach(ids, i, id) {
        const char *sid = json_string_value(id);
        struct ctl_sweep *sw = find_sweep(c, sid);
        char *st = store_sweep_state(c->store, sid);
        if (sw && st)
            snprintf(sw->state, sizeof(sw->state), "%s", st);
        else if (!sw && st && strcmp(st, "canceled") && load_sweep(c, sid) == 0)
            load_live_runs(c, sid);
        free(st);
    }
    json_decref(ids);
}

/* ---- assignments ---- */

static void random_id(struct controller *c, char *out, size_t n) {
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";

    for (size_t i = 0; i + 1 < n; i++)
        out[i] = alphabet[gsl_rng_uniform_int(c->rng, 36)];
    out[n - 1] = '\0';
}

static int send_assignment(struct controller *c, struct ctl_sweep *s,
                           const char *run, int attempt, const char *params,
                           struct ctl_worker *w, int64_t wseq) {
    struct msg m = {.kind = MSG_RUN_ASSIGNMENT};
    int64_t now = wall_ms();
    struct ctl_run *r;

    m.u.assign.r.sweep_id = s->id;
    m.u.assign.r.run_id = (char *)run;
    m.u.assign.r.worker_id = w->id;
    m.u.assign.r.attempt = attempt;
    m.u.assign.r.ts_ms = now;
    m.u.assign.params_json = (char *)params;
    m.u.assign.program = s->cfg->program;
    m.u.assign.command = s->cfg->command;
    m.u.assign.ncommand = s->cfg->ncommand;
    if (send_msg(c, TOPIC_ASSIGN, run, &m) < 0)
        return -1;
    r = find_run(c, s->id, run);
    if (r) { /* a requeued run we still tracked */
        free(r->worker);
        r->worker = strdup(w->id);
        r->attempt = attempt;
        r->assigned_at = r->last_hb = now;
        r->started = 0;
    } else {
        r = add_run(c, s->id, run, w->id, attempt, now);
    }
    if (r)
        r->wseq = wseq;
    w->sent = wseq;
    w->idle = 0;
    c->stats.assignments++;
    LOG(LOG_DEBUG, "run %s/%s attempt %d -> worker %s", s->id, run, attempt, w->id);
    return 1;
}

/* The next new run of the method: *flat params and *grid_index. */
/* The sweep's runs with their histories, as the offline verbs read them. */
static struct runs *load_prior(struct controller *c, struct ctl_sweep *s) {
    json_t *arr = store_runs(c->store, s->id, 1);
    struct runs *r = NULL;
    char err[256];

    if (arr && runs_from_json(arr, &r, err, sizeof(err)))
        LOG(LOG_ERROR, "sweep '%s': its runs do not read back: %s", s->id, err);
    json_decref(arr);
    return r;
}

static int next_point_(struct controller *c, struct ctl_sweep *s, json_t **flat,
                       int64_t *grid_index) {
    struct runs *prior;
    char err[256];
    json_t *out;
    long n;

    *grid_index = -1;
    if (s->grid) {
        *flat = grid_next(s->grid, &s->cursor);
        *grid_index = (int64_t)s->cursor - 1;
        return *flat ? 0 : SWEEP_EEXHAUSTED;
    }
    out = json_array();
    /* A model-based method sees every run so far, as late as possible. */
    prior = s->cfg->method == METHOD_BAYES ? load_prior(c, s) : NULL;
    n = out ? search_suggest(s->cfg, prior, 1, c->rng, out, err, sizeof(err)) : SWEEP_ENOMEM;
    runs_free(prior);
    if (n == 1)
        *flat = json_incref(json_array_get(out, 0));
    else if (n < 0 && !s->warned++)
        LOG(LOG_ERROR, "sweep '%s': %s", s->id, err);
    json_decref(out);
    return n == 1 ? 0 : (n < 0 ? (int)n : SWEEP_EEXHAUSTED);
}

static int next_point(struct controller *c, struct ctl_sweep *s, json_t **flat,
                      int64_t *grid_index) {
    double t0 = mono_s();
    int rc = next_point_(c, s, flat, grid_index);

    if (c->metrics_on)
        prom_hist_observe(&c->h_suggest, mono_s() - t0);
    return rc;
}

/* A new run for w: 1 assigned, 0 nothing now, -1 the sweep has no more. */
static int assign_new(struct controller *c, struct ctl_sweep *s,
                      struct ctl_worker *w) {
    for (int tries = 0; tries < 1000; tries++) {
        struct store_run_new n = {.sweep_id = s->id, .worker_id = w->id,
                                  .wseq = next_wseq(w)};
        struct sbuf sb = SBUF_INIT;
        json_t *flat = NULL, *nested;
        char run[9];
        int rc = next_point(c, s, &flat, &n.grid_index);

        if (rc == SWEEP_EEXHAUSTED) {
            store_sweep_finish(c->store, c->token, s->id,
                               s->grid ? "grid exhausted" : "no more runs", wall_ms());
            snprintf(s->state, sizeof(s->state), "finished");
            return -1;
        }
        if (rc)
            return 0;
        nested = space_nest(s->cfg, flat);
        value_json(&sb, nested);
        random_id(c, run, sizeof(run));
        n.run_id = run;
        n.params_json = sbuf_str(&sb);
        n.now_ms = wall_ms();
        rc = store_run_create(c->store, c->token, &n);
        if (rc == STORE_OK)
            rc = send_assignment(c, s, run, 1, n.params_json, w, n.wseq) > 0 ? 1 : 0;
        else if (rc == STORE_TAKEN)
            rc = 2; /* another leader's run holds it: next point */
        json_decref(flat);
        json_decref(nested);
        sbuf_release(&sb);
        if (rc == STORE_CAPPED) {
            snprintf(s->state, sizeof(s->state), "finished");
            return -1;
        }
        if (rc == 2)
            continue;
        if (rc == STORE_FENCED)
            fence(c);
        if (rc == STORE_NOT_RUNNING || rc == STORE_FENCED || rc < 0)
            return 0;
        return rc;
    }
    return 0;
}

static int has_live_runs(const struct controller *c, const struct ctl_sweep *s) {
    for (size_t i = 0; i < c->nruns; i++)
        if (!strcmp(c->runs[i].sweep, s->id))
            return 1;
    return 0;
}

static int try_sweep(struct controller *c, struct ctl_sweep *s,
                     struct ctl_worker *w) {
    char *run = NULL, *params = NULL;
    int attempt = 0, rc;

    if (!strcmp(s->state, "paused"))
        return 0;
    if (!strcmp(s->state, "canceled"))
        return -1;
    rc = store_run_reassign(c->store, c->token, s->id, w->id, wall_ms(),
                            next_wseq(w), &run, &params, &attempt);
    if (rc == STORE_OK) {
        c->stats.requeues++;
        rc = send_assignment(c, s, run, attempt, params, w, next_wseq(w));
        free(run);
        free(params);
        return rc > 0;
    }
    if (rc == STORE_FENCED)
        fence(c);
    if (rc != STORE_EMPTY)
        return 0;
    rc = strcmp(s->state, "running") ? -1 : assign_new(c, s, w);
    /* No new run; but a live run may still crash or be preempted and need
     * this worker: it waits until none is left. */
    return rc < 0 && has_live_runs(c, s) ? 0 : rc;
}

static void serve_worker(struct controller *c, struct ctl_worker *w) {
    if (w->sweep && *w->sweep) {
        struct ctl_sweep *s = find_sweep(c, w->sweep);
        if (!s && load_sweep(c, w->sweep) == 0)
            s = find_sweep(c, w->sweep);
        if (!s || try_sweep(c, s, w) < 0) {
            send_command(c, w->sweep, NULL, 0, w->id, RCMD_SWEEP_DONE,
                         s ? "the sweep has no more runs" : "no such sweep");
            w->idle = 0;
        }
        return;
    }
    /* A pool worker: the active sweeps in turn, so each gets its share. */
    for (size_t k = 0; k < c->nsweeps; k++) {
        struct ctl_sweep *s = &c->sweeps[(c->rr + k) % c->nsweeps];
        if (try_sweep(c, s, w) > 0) {
            c->rr = (c->rr + k + 1) % c->nsweeps;
            return;
        }
    }
}

/* A run given to w that has not started yet: w has work coming. */
static int awaits_start(const struct controller *c, const struct ctl_worker *w) {
    for (size_t i = 0; i < c->nruns; i++)
        if (!c->runs[i].started && !strcmp(c->runs[i].worker, w->id))
            return 1;
    return 0;
}

static void serve_idle(struct controller *c) {
    for (size_t i = 0; i < c->nworkers && !c->fenced; i++) {
        struct ctl_worker *w = &c->workers[i];
        if (w->idle && !awaits_start(c, w))
            serve_worker(c, w);
    }
}

/* ---- early termination ---- */

/* A requeued run starts over: the store dropped its history. */
static void requeued(struct controller *c, const struct ctl_run *r) {
    struct ctl_sweep *s = find_sweep(c, r->sweep);

    if (s && s->es)
        estrack_restart(s->es, r->run);
}

struct es_ctx {
    struct controller *c;
    struct ctl_sweep *s;
};

static int es_running(void *arg, const char *run, int attempt) {
    struct es_ctx *x = arg;
    struct ctl_run *r = find_run(x->c, x->s->id, run);

    return r && r->attempt == attempt; /* it logs: it has started */
}

static void es_stop(void *arg, const char *run, int attempt,
                    const char *reason) {
    struct es_ctx *x = arg;
    struct ctl_run *r = find_run(x->c, x->s->id, run);

    if (!r)
        return;
    LOG(LOG_INFO, "run %s/%s: early stop: %s", x->s->id, run, reason);
    x->c->stats.early_stops++;
    send_command(x->c, x->s->id, run, attempt, r->worker, RCMD_STOP, reason);
    if (x->c->metrics_on && x->c->judging_batch)
        prom_hist_observe(&x->c->h_stop, mono_s() - x->c->batch_t0);
}

/* After each batch of metric events, the runs that logged are judged at
 * once: a run is stopped on the event that made it worse than its
 * threshold. Every running run is judged on each tick (all): thresholds
 * also move when other runs log, which a quiet run would not see, and
 * judging them all on every batch would cost running x runs per batch. */
static void judge_sweeps(struct controller *c, int all) {
    for (size_t i = 0; i < c->nsweeps; i++) {
        struct ctl_sweep *s = &c->sweeps[i];
        struct es_ctx x = {c, s};
        if (s->es && estrack_dirty(s->es, all) &&
            estrack_judge(s->es, all, es_running, es_stop, &x) < 0)
            LOG(LOG_ERROR, "sweep '%s': early termination: out of memory",
                s->id);
    }
}

/* ---- incoming messages ---- */

static void on_control(struct controller *c, const struct msg_sweep_control *m) {
    struct ctl_sweep *s = find_sweep(c, m->sweep_id);

    LOG(LOG_INFO, "sweep '%s': %s", m->sweep_id, control_action_name(m->action));
    if (!s) {
        if (load_sweep(c, m->sweep_id) == 0)
            load_live_runs(c, m->sweep_id);
        return;
    }
    {
        char *st = store_sweep_state(c->store, s->id);
        if (st)
            snprintf(s->state, sizeof(s->state), "%s", st);
        free(st);
    }
    /* The message only says "look again": Redis, which the CLI changed,
     * says what the sweep is. A forged cancel stops nothing. */
    if (m->action != CTL_CANCEL || strcmp(s->state, "canceled"))
        return;
    for (size_t i = 0; i < c->nruns; i++) {
        struct ctl_run *r = &c->runs[i];
        if (!strcmp(r->sweep, s->id))
            send_command(c, r->sweep, r->run, r->attempt, r->worker, RCMD_STOP,
                         "sweep canceled");
    }
}

/* An idle status of w that had not every assignment sent to it
 * (received < w->sent): sent before the last one arrived (statuses and
 * assignments travel on different partitions), or read again by a new
 * leader. 1 when it is history; 0 when it is a request after all: the
 * runs it never received were requeued (3 s after they were sent), or it
 * stayed behind for 3 s with no run to explain it (an assignment lost
 * for a run dropped meanwhile), and its count is believed. */
static int status_is_history(struct controller *c, struct ctl_worker *w,
                             int64_t received, int64_t now) {
    for (size_t i = 0; i < c->nruns; i++) {
        struct ctl_run *r = &c->runs[i];
        if (strcmp(r->worker, w->id) || received >= r->wseq)
            continue;
        /* A run that has started was received. */
        if (r->started || now - r->assigned_at <= ASSIGN_LOST_MS)
            return 1;
        LOG(LOG_WARN, "worker %s never received run %s: requeued", w->id, r->run);
        store_run_crash(c->store, c->token, r->sweep, r->run, r->attempt,
                        "assignment not received by the worker", now);
        c->stats.requeues++;
        requeued(c, r);
        drop_run(c, r);
        i--;
        w->sent = received; /* it never will: count from what it has */
    }
    if (received >= w->sent)
        return 0;
    if (!w->behind_since)
        w->behind_since = now;
    if (now - w->behind_since <= ASSIGN_LOST_MS)
        return 1;
    LOG(LOG_WARN, "worker %s: has %lld assignment(s), %lld sent: counting from its figure",
        w->id, (long long)received, (long long)w->sent);
    w->sent = received;
    return 0;
}

static void on_worker(struct controller *c, const struct msg_worker_status *m) {
    struct ctl_worker *w = find_worker(c, m->worker_id), *nv;
    int64_t now = wall_ms();

    if (m->ts_ms < now - WORKER_STALE_MS)
        return; /* replayed history: that request was answered long ago */
    if (!w) {
        if (m->state == WS_LEAVING || !(nv = grow(c->workers, c->nworkers, sizeof(*nv))))
            return;
        c->workers = nv;
        w = &c->workers[c->nworkers];
        memset(w, 0, sizeof(*w));
        if (!(w->id = strdup(m->worker_id)))
            return;
        w->pool = m->pool ? strdup(m->pool) : NULL;
        w->sweep = m->sweep_id ? strdup(m->sweep_id) : NULL;
        /* What the leaders before us sent it: a status of theirs read
         * again must not look like a request. */
        w->sent = store_worker_wseq(c->store, w->id);
        for (size_t i = 0; i < c->nruns; i++)
            if (!strcmp(c->runs[i].worker, w->id) && c->runs[i].wseq > w->sent)
                w->sent = c->runs[i].wseq;
        c->nworkers++;
        LOG(LOG_INFO, "worker %s joined (%s)", m->worker_id,
            m->sweep_id ? m->sweep_id : "pool");
    }
    w->last_seen = now;
    if (m->state == WS_LEAVING) {
        LOG(LOG_INFO, "worker %s left", w->id);
        drop_worker(c, w);
        return;
    }
    if (m->state != WS_IDLE) {
        w->idle = 0;
        return;
    }
    if (m->received > w->received)
        w->received = m->received;
    if (m->received < w->sent && status_is_history(c, w, m->received, now)) {
        w->idle = 0;
        return;
    }
    w->behind_since = 0;
    w->idle = m->nrunning == 0;
}

static void on_life(struct controller *c, const struct msg_run_lifecycle *e) {
    struct ctl_run *r = find_run(c, e->r.sweep_id, e->r.run_id);
    int rc = store_apply_life(c->store, c->token, e);

    if (rc == STORE_FENCED || rc < 0) {
        if (rc == STORE_FENCED)
            c->stats.fenced_writes++;
        c->fenced = 1; /* not applied: must be read again */
        return;
    }
    if (rc == STORE_OK)
        c->stats.events_applied++;
    {
        /* A busy worker sends no status: its runs' events show it alive. */
        struct ctl_worker *ew = find_worker(c, e->r.worker_id);
        if (ew)
            ew->last_seen = wall_ms();
    }
    if ((!r || r->attempt != e->r.attempt) &&
        (e->event == LC_STARTED || e->event == LC_HEARTBEAT) && rc == STORE_IGNORED) {
        /* An attempt that is no longer the run's: it runs twice otherwise. */
        send_command(c, e->r.sweep_id, e->r.run_id, e->r.attempt, e->r.worker_id,
                     RCMD_STOP, "run was reassigned to another worker");
        return;
    }
    if (!r || r->attempt != e->r.attempt)
        return;
    r->last_hb = wall_ms(); /* our clock: workers' clocks may be off */
    if (e->event == LC_STARTED || e->event == LC_HEARTBEAT) {
        r->started = 1;
        return;
    }
    if (e->event == LC_PREEMPTED) {
        LOG(LOG_INFO, "run %s/%s preempted on %s: requeued", r->sweep, r->run, r->worker);
        requeued(c, r);
    }
    drop_run(c, r);
}

static void apply_metrics(struct controller *c) {
    const struct msg_metric_event *ev[BATCH_MAX];
    const struct store_target *tg[BATCH_MAX];
    struct ctl_sweep *sw[BATCH_MAX];
    int results[BATCH_MAX];
    int64_t lost[BATCH_MAX];
    int rc;

    if (!c->nmetrics)
        return;
    for (size_t i = 0; i < c->nmetrics; i++) {
        struct ctl_sweep *s = find_sweep(c, c->metrics[i].u.metric.r.sweep_id);
        struct ctl_run *r = find_run(c, c->metrics[i].u.metric.r.sweep_id,
                                     c->metrics[i].u.metric.r.run_id);
        ev[i] = &c->metrics[i].u.metric;
        tg[i] = s ? &s->target : NULL;
        sw[i] = s;
        if (r && r->attempt == ev[i]->r.attempt)
            r->last_hb = wall_ms();
    }
    rc = store_apply_metrics(c->store, c->token, ev, tg, c->nmetrics, results,
                             lost);
    for (size_t i = 0; rc == 0 && i < c->nmetrics; i++) {
        if (results[i] == STORE_OK && lost[i] > 0) {
            c->stats.metrics_lost += (uint64_t)lost[i];
            LOG(LOG_WARN, "run %s/%s attempt %d: %lld metric event%s lost "
                "before seq %lld (%s [%d] offset %lld): they never arrived",
                ev[i]->r.sweep_id, ev[i]->r.run_id,
                (int)ev[i]->r.attempt, (long long)lost[i],
                lost[i] == 1 ? "" : "s", (long long)ev[i]->r.seq,
                c->topics.names[TOPIC_METRICS], (int)c->mpos[i].partition,
                (long long)c->mpos[i].offset);
        }
        if (results[i] == STORE_OK) {
            c->stats.metrics_applied++;
            if (sw[i] && sw[i]->es &&
                estrack_metric(sw[i]->es, ev[i]->r.run_id, ev[i]->r.attempt,
                               ev[i]->names, ev[i]->values, ev[i]->n) < 0)
                LOG(LOG_ERROR, "sweep '%s': early termination: out of memory",
                    sw[i]->id);
        } else if (results[i] == STORE_FENCED)
            fence(c);
        else
            c->stats.metrics_ignored++;
    }
    if (rc) {
        LOG(LOG_ERROR, "applying %zu metric events: %s", c->nmetrics,
            store_errstr(c->store));
        c->fenced = 1; /* not applied: their offsets must not be saved */
    }
    for (size_t i = 0; i < c->nmetrics; i++)
        msg_release(&c->metrics[i]);
    c->nmetrics = 0;
    if (!c->fenced) {
        c->judging_batch = 1;
        judge_sweeps(c, 0);
        c->judging_batch = 0;
    }
}

static void note_offset(struct controller *c, const struct kmsg *k) {
    struct offset *o = NULL, *nv;

    for (size_t i = 0; i < c->noffs && !o; i++)
        if (c->offs[i].partition == k->partition && !strcmp(c->offs[i].topic, k->topic))
            o = &c->offs[i];
    if (!o) {
        if (!(nv = grow(c->offs, c->noffs, sizeof(*nv))))
            return;
        c->offs = nv;
        o = &c->offs[c->noffs++];
        snprintf(o->topic, sizeof(o->topic), "%s", k->topic);
        o->partition = k->partition;
        snprintf(o->key, sizeof(o->key), "%s:%d", k->topic, (int)k->partition);
    }
    o->next = k->offset + 1;
    c->offs_dirty = 1;
}

static void handle(struct controller *c, const struct kmsg *k) {
    struct msg m = {0};
    char err[256];

    c->stats.messages++;
    note_offset(c, k);
    /* The metrics topic may carry JSON (metrics_format json). */
    if (k->len && *(const char *)k->payload == '{' &&
        !strcmp(k->topic, c->topics.names[TOPIC_METRICS])
            ? codec_decode_metric_json(k->payload, k->len, &m, err, sizeof(err)) < 0
            : codec_decode(c->codec, k->payload, k->len, &m, err, sizeof(err)) < 0) {
        c->stats.malformed++;
        LOG(LOG_WARN, "skipping malformed message at %s [%d] offset %lld: %s",
            k->topic, (int)k->partition, (long long)k->offset, err);
        return;
    }
    switch (m.kind) {
    case MSG_SWEEP_CONTROL:
        on_control(c, &m.u.control);
        break;
    case MSG_WORKER_STATUS:
        on_worker(c, &m.u.worker);
        break;
    case MSG_RUN_LIFECYCLE:
        apply_metrics(c); /* a run's metrics land before its end */
        on_life(c, &m.u.life);
        break;
    case MSG_METRIC_EVENT:
        if (!c->nmetrics)
            c->batch_t0 = mono_s();
        c->mpos[c->nmetrics].partition = k->partition;
        c->mpos[c->nmetrics].offset = k->offset;
        c->metrics[c->nmetrics++] = m;
        if (c->nmetrics == BATCH_MAX)
            apply_metrics(c);
        return; /* owned by the batch now */
    default:
        break;
    }
    msg_release(&m);
}

/* ---- timers ---- */

static void check_runs(struct controller *c, int64_t now) {
    int64_t timeout = (int64_t)(c->st->lease_timeout * 1000);

    for (size_t i = 0; i < c->nruns;) {
        struct ctl_run *r = &c->runs[i];
        if (now - r->last_hb <= timeout) {
            i++;
            continue;
        }
        LOG(LOG_WARN, "run %s/%s: no heartbeat from worker %s for %.0f s: crashed, requeued",
            r->sweep, r->run, r->worker, (double)(now - r->last_hb) / 1000);
        store_run_crash(c->store, c->token, r->sweep, r->run, r->attempt,
                        "worker stopped heartbeating", now);
        c->stats.requeues++;
        requeued(c, r);
        drop_run(c, r);
    }
    for (size_t i = 0; i < c->nworkers;) {
        if (now - c->workers[i].last_seen > timeout)
            drop_worker(c, &c->workers[i]);
        else
            i++;
    }
}

static void save_offsets(struct controller *c) {
    const char *keys[64];
    int64_t offs[64];
    size_t n = 0;

    if (!c->offs_dirty)
        return;
    for (size_t i = 0; i < c->noffs && n < 64; i++, n++) {
        keys[n] = c->offs[i].key;
        offs[n] = c->offs[i].next;
    }
    if (c->fenced)
        return; /* something read was not applied: it must be read again */
    switch (store_offsets_save(c->store, c->token, keys, offs, n)) {
    case STORE_OK:
        break;
    case STORE_FENCED:
        fence(c);
        break;
    default:
        c->fenced = 1;
    }
    c->offs_dirty = 0;
}

/* ---- leadership ---- */

static int open_reader(struct controller *c) {
    const char *topics[] = {c->topics.names[TOPIC_CONTROL],
                            c->topics.names[TOPIC_EVENTS],
                            c->topics.names[TOPIC_METRICS]};
    json_t *saved = store_offsets_load(c->store), *v;
    const char *key;
    char err[256];
    int rc;

    json_object_foreach(saved, key, v) {
        const char *colon = strrchr(key, ':');
        char topic[128];
        if (!colon)
            continue;
        snprintf(topic, sizeof(topic), "%.*s", (int)(colon - key), key);
        kafka_seek(c->kafka, topic, atoi(colon + 1),
                   strtoll(json_string_value(v), NULL, 10));
    }
    json_decref(saved);
    if ((rc = kafka_read(c->kafka, topics, 3, KAFKA_FROM_BEGINNING, 10000, err,
                         sizeof(err)))) {
        LOG(LOG_ERROR, "cannot read the topics: %s", err);
        /* Wrong credentials or ACLs do not get better by waiting. */
        if (rc == SWEEP_EACCES)
            c->fatal = 1;
        return -1;
    }
    return 0;
}

static struct kafka *open_kafka(const struct settings *st, char *errstr,
                                size_t errstr_size) {
    struct kafka_opts ko = {0};

    ko.brokers = st->brokers;
    ko.client_id = "sweep-controller";
    ko.props = (const char *const *)st->kafka;
    ko.nprops = st->nkafka;
    ko.fetch_wait_ms = (int)st->fetch_wait_ms;
    return kafka_new(&ko, errstr, errstr_size);
}

static void step_down(struct controller *c) {
    char err[256];

    LOG(LOG_WARN, "lost the lease: standing by");
    c->leader = 0;
    c->fenced = 0;
    forget_all(c);
    /* A fresh client: the old one still holds its partitions. */
    kafka_free(c->kafka);
    c->kafka = open_kafka(c->st, err, sizeof(err));
    if (!c->kafka)
        LOG(LOG_ERROR, "kafka: %s", err);
}

static void try_lead(struct controller *c, int64_t now) {
    int64_t token;

    if (now < c->next_lease)
        return;
    c->next_lease = now + c->ttl_ms / 3;
    if (store_lease_acquire(c->store, c->holder, c->ttl_ms, &token) != 1)
        return;
    c->token = token;
    c->leader = 1;
    LOG(LOG_INFO, "leading, fencing token %lld", (long long)token);
    {
        const char *out = c->topics.names[TOPIC_ASSIGN];
        kafka_prepare(c->kafka, &out, 1, 5000);
    }
    refresh_sweeps(c);
    if (open_reader(c) < 0)
        step_down(c);
    c->next_refresh = now + SWEEP_REFRESH_MS;
}

static void tick(struct controller *c, int64_t now) {
    if (now >= c->next_lease) {
        c->next_lease = now + c->ttl_ms / 3;
        if (store_lease_extend(c->store, c->token, c->ttl_ms) != 1) {
            step_down(c);
            return;
        }
    }
    if (now >= c->next_refresh) {
        c->next_refresh = now + SWEEP_REFRESH_MS;
        refresh_sweeps(c);
    }
    check_runs(c, now);
    judge_sweeps(c, 1);
    save_offsets(c);
}

/* ---- lifecycle ---- */

/* On a real cluster the topics may not exist yet: create the missing ones
 * (Admin API), check the others; what is wrong is logged with the command
 * that fixes it. The embedded broker has them from `sweep broker`. */
static void ensure_topics(struct controller *c) {
    struct topicadm_report r;
    struct sbuf sb = SBUF_INIT;
    char err[512];
    int rc = topicadm_ensure(c->kafka, &c->topics, (int)c->st->topic_partitions,
                             (int)c->st->topic_replication, 1, 10000, &r, err,
                             sizeof(err));

    if (rc == SWEEP_EIO) {
        LOG(LOG_WARN, "%s; the topics are checked when the cluster answers", err);
        return;
    }
    for (int i = 0; i < TOPIC__COUNT; i++)
        if (r.info[i].state == KT_CREATED)
            LOG(LOG_INFO, "created topic %s (%d partitions, replication factor %d)",
                r.info[i].name, r.info[i].partitions, r.info[i].replicas);
    if (rc == 0)
        return;
    topicadm_describe(&r, c->st->brokers, settings_kafka(c->st, "sasl.username"), &sb);
    LOG(rc == SWEEP_ENOENT ? LOG_ERROR : LOG_WARN, "%s:\n%s",
        rc == SWEEP_ENOENT ? "topics missing (`sweep init-topics` creates them)"
                           : "topics with another partition count than topic_partitions",
        sbuf_str(&sb));
    sbuf_release(&sb);
}

/* Redis may come up after us: retry with backoff, but stop when asked. */
static struct store *connect_store(struct controller *c, char *errstr,
                                   size_t errstr_size) {
    int delay = 100;

    for (;;) {
        struct store *s = store_connect(c->st->redis, 0, errstr, errstr_size);
        struct pollfd p = {c->stop_fd, POLLIN, 0};
        if (s) {
            store_set_stop_fd(s, c->stop_fd);
            store_set_retry(s, -1); /* from now on a lost Redis is waited for */
            return s;
        }
        if (strstr(errstr, "WRONGPASS") || strstr(errstr, "NOAUTH") ||
            strstr(errstr, "NOPERM"))
            return NULL; /* wrong credentials do not get better by waiting */
        LOG(LOG_WARN, "%s; retrying in %d ms", errstr, delay);
        if (poll(&p, c->stop_fd >= 0, delay) > 0)
            return NULL;
        delay = delay * 2 > 2000 ? 2000 : delay * 2;
    }
}

struct controller *controller_new(const struct controller_opts *o,
                                  char *errstr, size_t errstr_size) {
    struct controller *c = calloc(1, sizeof(*c));
    char host[64] = "host";
    unsigned long seed = (unsigned long)time(NULL) ^ ((unsigned long)getpid() << 16);

    if (!c) {
        signer_free(o->signer);
        return NULL;
    }
    c->st = o->st;
    c->signer = o->signer;
    if (!c->signer && !o->st->insecure_unsigned) {
        snprintf(errstr, errstr_size, "controller: no signing key");
        controller_free(c);
        return NULL;
    }
    if (!c->signer)
        LOG(LOG_WARN, "insecure_unsigned: run assignments and commands go "
            "unsigned; workers with a key refuse them");
    if (o->metrics) {
        static const double lat[] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1,
                                     0.25, 0.5, 1, 2.5, 5, 10};
        if (pthread_mutex_init(&c->pub_mu, NULL) ||
            prom_hist_init(&c->h_stop, lat, sizeof(lat) / sizeof(*lat)) ||
            prom_hist_init(&c->h_suggest, lat, sizeof(lat) / sizeof(*lat))) {
            snprintf(errstr, errstr_size, "controller: metrics: out of memory");
            signer_free(c->signer);
            free(c);
            return NULL;
        }
        c->metrics_on = 1;
    }
    c->stop_fd = o->stop_fd;
    c->ttl_ms = o->lease_ttl_ms > 0 ? o->lease_ttl_ms : 3000;
    gethostname(host, sizeof(host) - 1);
    if (o->name)
        snprintf(c->holder, sizeof(c->holder), "%s", o->name);
    else
        snprintf(c->holder, sizeof(c->holder), "%s:%d", host, (int)getpid());
    topics_init(&c->topics, o->st->prefix);
    c->rng = gsl_rng_alloc(gsl_rng_mt19937);
    if (c->rng)
        gsl_rng_set(c->rng, seed);
    if (!c->rng || !(c->codec = codec_new(errstr, errstr_size)) ||
        !(c->store = connect_store(c, errstr, errstr_size)) ||
        !(c->kafka = open_kafka(o->st, errstr, errstr_size))) {
        controller_free(c);
        return NULL;
    }
    {
        char err[512];
        int rc = kafka_check(c->kafka, 10000, err, sizeof(err));
        if (rc == SWEEP_EACCES) {
            snprintf(errstr, errstr_size, "%s", err);
            controller_free(c);
            return NULL;
        }
        if (rc < 0)
            LOG(LOG_WARN, "%s; retrying in the background", err);
    }
    ensure_topics(c);
    return c;
}

void controller_free(struct controller *c) {
    if (!c)
        return;
    if (c->leader && !c->fenced) {
        save_offsets(c);
        store_lease_release(c->store, c->token);
    }
    forget_all(c);
    free(c->sweeps);
    free(c->runs);
    free(c->workers);
    free(c->offs);
    kafka_free(c->kafka);
    codec_free(c->codec);
    store_free(c->store);
    signer_free(c->signer);
    if (c->rng)
        gsl_rng_free(c->rng);
    if (c->metrics_on) {
        pthread_mutex_destroy(&c->pub_mu);
        sbuf_release(&c->pub_gauges);
        prom_hist_release(&c->h_stop);
        prom_hist_release(&c->h_suggest);
    }
    free(c);
}

/* ---- metrics (controller_metrics) ---- */

struct tally {
    char state[32];
    double n;
};

static void tally_add(struct tally *t, size_t *n, size_t max, const char *st,
                      double v) {
    size_t i;

    for (i = 0; i < *n && strcmp(t[i].state, st); i++)
        ;
    if (i == *n) {
        if (*n == max)
            return;
        snprintf(t[i].state, sizeof(t[i].state), "%s", st);
        t[i].n = 0;
        (*n)++;
    }
    t[i].n += v;
}

static void tally_write(struct sbuf *sb, const char *name, const char *help,
                        const struct tally *t, size_t n) {
    prom_header(sb, name, "gauge", help);
    for (size_t i = 0; i < n; i++)
        prom_sample(sb, name, t[i].n, "state", t[i].state, (const char *)NULL);
}

/* Sweeps and runs by state from the sweep hashes (n:<state>), and the lag
 * of each partition read so far; written by the loop, so Redis and Kafka
 * are only touched from its thread. */
static void gauges_build(struct controller *c, struct sbuf *sb) {
    static const char *const sweep_states[] = {"running", "paused",
                                               "finished", "canceled"};
    struct tally sw[32], runs[32];
    size_t nsw = 0, nruns = 0, i;
    json_t *ids = store_sweep_ids(c->store), *id;

    for (i = 0; i < sizeof(sweep_states) / sizeof(*sweep_states); i++)
        tally_add(sw, &nsw, 32, sweep_states[i], 0);
    json_array_foreach(ids, i, id) {
        json_t *o = store_sweep_get(c->store, json_string_value(id)), *v;
        const char *st = json_string_value(json_object_get(o, "state")), *k;
        if (st)
            tally_add(sw, &nsw, 32, st, 1);
        json_object_foreach(json_object_get(o, "runs"), k, v)
            if (json_is_number(v))
                tally_add(runs, &nruns, 32, k, json_number_value(v));
        json_decref(o);
    }
    json_decref(ids);
    tally_write(sb, "sweep_sweeps", "Sweeps by state.", sw, nsw);
    tally_write(sb, "sweep_runs", "Runs by state, summed over every sweep "
                "(the sweep hashes' n:<state> counts).", runs, nruns);
    prom_header(sb, "sweep_consumer_lag", "gauge",
                "Messages behind the high watermark, per partition read.");
    for (i = 0; i < c->noffs; i++) {
        int64_t hi;
        char part[16];
        if (kafka_high_watermark(c->kafka, c->offs[i].topic,
                                 c->offs[i].partition, &hi) < 0)
            continue;
        snprintf(part, sizeof(part), "%d", (int)c->offs[i].partition);
        prom_sample(sb, "sweep_consumer_lag",
                    (double)(hi > c->offs[i].next ? hi - c->offs[i].next : 0),
                    "topic", c->offs[i].topic, "partition", part,
                    (const char *)NULL);
    }
}

/* After each step: counters at once, the gauges once a second. */
static void publish(struct controller *c) {
    struct sbuf g = SBUF_INIT, old;
    int64_t now;
    int rebuild;

    if (!c->metrics_on)
        return;
    now = wall_ms();
    rebuild = now >= c->next_publish;
    if (rebuild) {
        c->next_publish = now + 1000;
        if (c->leader && !c->fenced)
            gauges_build(c, &g);
    }
    pthread_mutex_lock(&c->pub_mu);
    c->pub_stats = c->stats;
    c->pub_leader = c->leader && !c->fenced;
    if (rebuild) {
        old = c->pub_gauges;
        c->pub_gauges = g;
        g = old;
    }
    pthread_mutex_unlock(&c->pub_mu);
    sbuf_release(&g);
}

void controller_metrics(struct controller *c, struct sbuf *sb) {
    struct controller_stats s;

    if (!c->metrics_on)
        return;
    pthread_mutex_lock(&c->pub_mu);
    s = c->pub_stats;
    prom_metric(sb, "sweep_leader", "gauge",
                "1 while this controller holds the lease.", c->pub_leader);
    sbuf_adds(sb, sbuf_str(&c->pub_gauges));
    pthread_mutex_unlock(&c->pub_mu);
    prom_metric(sb, "sweep_messages_total", "counter", "Messages read.",
                (double)s.messages);
    prom_metric(sb, "sweep_malformed_messages_total", "counter",
                "Messages that did not decode, skipped.", (double)s.malformed);
    prom_metric(sb, "sweep_assignments_sent_total", "counter",
                "Run assignments sent (new runs and requeued ones).",
                (double)s.assignments);
    prom_metric(sb, "sweep_metric_events_applied_total", "counter",
                "Metric events applied to Redis.", (double)s.metrics_applied);
    prom_metric(sb, "sweep_requeues_total", "counter", "Runs requeued.",
                (double)s.requeues);
    prom_metric(sb, "sweep_stops_sent_total", "counter",
                "Stop commands sent.", (double)s.stops_sent);
    prom_metric(sb, "sweep_early_stops_total", "counter",
                "Runs stopped by early_terminate.", (double)s.early_stops);
    prom_metric(sb, "sweep_fenced_writes_total", "counter",
                "Redis writes refused because another controller holds a "
                "newer fencing token.", (double)s.fenced_writes);
    prom_hist_write(sb, "sweep_stop_latency_seconds",
                    "From reading the batch of metric events that made "
                    "early_terminate stop a run to producing the stop command.",
                    &c->h_stop);
    prom_hist_write(sb, "sweep_suggestion_seconds",
                    "Time to compute the next run's parameters.",
                    &c->h_suggest);
}

void controller_get_stats(const struct controller *c,
                          struct controller_stats *s) {
    *s = c->stats;
}

/* At most DRAIN_MAX messages, so a backlog never keeps the lease from
 * being extended (tick() runs between drains). */
#define DRAIN_MAX 4096

/* Returns 1 when it stopped at DRAIN_MAX: more is waiting, and the fd
 * will not wake us for it. */
static int drain(struct controller *c) {
    struct kmsg msgs[256];
    size_t n, total = 0;

    do {
        n = kafka_consume(c->kafka, msgs, 256, 0);
        for (size_t i = 0; i < n && !c->fenced; i++)
            handle(c, &msgs[i]);
        kafka_msgs_release(msgs, n);
        total += n;
    } while (n == 256 && !c->fenced && total < DRAIN_MAX);
    if (!c->fenced)
        apply_metrics(c);
    return n == 256;
}

static int stop_requested(struct controller *c, volatile sig_atomic_t *stop) {
    struct pollfd p = {c->stop_fd, POLLIN, 0};

    return (stop && *stop) || (c->stop_fd >= 0 && poll(&p, 1, 0) > 0);
}

int controller_step(struct controller *c, int max_wait_ms) {
    int64_t now = wall_ms();

    if (!c->leader) {
        try_lead(c, now);
        if (!c->leader) {
            struct pollfd p = {c->stop_fd, POLLIN, 0};
            kafka_poll(c->kafka, 0);
            poll(&p, c->stop_fd >= 0, max_wait_ms < 100 ? max_wait_ms : 100);
            publish(c);
            return 0;
        }
    }
    {
        struct pollfd p[2] = {{kafka_fd(c->kafka), POLLIN, 0},
                              {c->stop_fd, POLLIN, 0}};
        int wait = c->more ? 0 : (int)(c->next_tick - now);
        if (wait > max_wait_ms)
            wait = max_wait_ms;
        poll(p, c->stop_fd >= 0 ? 2 : 1,
             wait < 0 ? 0 : (wait > TICK_MS ? TICK_MS : wait));
    }
    c->more = drain(c);
    if (!c->fenced)
        serve_idle(c);
    now = wall_ms();
    if (!c->fenced && now >= c->next_tick) {
        c->next_tick = now + TICK_MS;
        tick(c, now);
    }
    if (c->fenced) /* what was refused is read again after re-leading */
        step_down(c);
    publish(c);
    return c->leader;
}

void controller_handle(struct controller *c, const struct kmsg *k) {
    if (!c->leader || c->fenced)
        return;
    handle(c, k);
    if (!c->fenced)
        apply_metrics(c);
    if (!c->fenced)
        serve_idle(c);
}

void controller_reset(struct controller *c) {
    forget_all(c);
    c->leader = 0;
    c->fenced = 0;
    c->next_lease = 0;
    c->next_tick = 0;
    c->more = 0;
}

int controller_run(struct controller *c, volatile sig_atomic_t *stop) {
    while (!stop_requested(c, stop) && !c->fatal)
        controller_step(c, TICK_MS);
    return c->fatal ? 1 : 0;
}

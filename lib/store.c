/*
 * store.c - Redis access for the controller and the CLI: connection with
 * retry and backoff, the Lua scripts of store_lua.h by EVALSHA, and the
 * read-side queries.
 */
#include "store.h"
#include "secret.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <hiredis.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "sbuf.h"
#include "store_lua.h"
#include "sweep.h"
#include "value.h"

enum script_id {
    S_SWEEP_CREATE, S_SWEEP_CONTROL, S_LEASE_ACQUIRE, S_LEASE_EXTEND,
    S_LEASE_RELEASE, S_OFFSETS_SAVE, S_RUN_CREATE, S_RUN_REASSIGN,
    S_APPLY_LIFE, S_RUN_CRASH, S_APPLY_METRIC, S_SWEEP_FINISH, S__COUNT
};

static const char *const script_src[S__COUNT] = {
    LUA_PRELUDE LUA_SWEEP_CREATE, LUA_PRELUDE LUA_SWEEP_CONTROL,
    LUA_PRELUDE LUA_LEASE_ACQUIRE, LUA_PRELUDE LUA_LEASE_EXTEND,
    LUA_PRELUDE LUA_LEASE_RELEASE, LUA_PRELUDE LUA_OFFSETS_SAVE,
    LUA_PRELUDE LUA_RUN_CREATE, LUA_PRELUDE LUA_RUN_REASSIGN,
    LUA_PRELUDE LUA_APPLY_LIFE, LUA_PRELUDE LUA_RUN_CRASH,
    LUA_PRELUDE LUA_APPLY_METRIC, LUA_PRELUDE LUA_SWEEP_FINISH,
};

struct store {
    redisContext *c;
    char host[256];
    int port;
    char user[128];
    char pass[256];
    int db;
    int retry_ms;
    int stop_fd;
    char sha[S__COUNT][41];
    char err[512];
};

static void set_err(struct store *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void set_err(struct store *s, const char *fmt, ...) {
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(s->err, sizeof(s->err), fmt, ap);
    va_end(ap);
}

const char *store_errstr(const struct store *s) { return s->err; }

static int64_t now_ms(void) {
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* redis://[user:password@]host[:port][/db] */
static int parse_url(struct store *s, const char *url) {
    const char *p = url, *at, *slash, *colon;
    char shown[512]; /* url for messages: never its password */
    size_t hl;

    secret_redact_url(url, shown, sizeof(shown));
    if (strncmp(p, "redis://", 8)) {
        set_err(s, "'%s' is not a redis:// URL", shown);
        return -1;
    }
    p += 8;
    s->port = 6379;
    at = strrchr(p, '@');
    if (at) {
        const char *c = memchr(p, ':', (size_t)(at - p));
        if (c) {
            snprintf(s->user, sizeof(s->user), "%.*s", (int)(c - p), p);
            snprintf(s->pass, sizeof(s->pass), "%.*s", (int)(at - c - 1), c + 1);
        } else {
            snprintf(s->pass, sizeof(s->pass), "%.*s", (int)(at - p), p);
        }
        p = at + 1;
    }
    slash = strchr(p, '/');
    hl = slash ? (size_t)(slash - p) : strlen(p);
    colon = memchr(p, ':', hl);
    if (colon) {
        char *end;
        long port = strtol(colon + 1, &end, 10);
        if (end != p + hl || port <= 0 || port > 65535) {
            set_err(s, "bad port in '%s'", shown);
            return -1;
        }
        s->port = (int)port;
        hl = (size_t)(colon - p);
    }
    if (hl == 0 || hl >= sizeof(s->host)) {
        set_err(s, "no host in '%s'", shown);
        return -1;
    }
    snprintf(s->host, sizeof(s->host), "%.*s", (int)hl, p);
    if (slash && slash[1]) {
        char *end;
        s->db = (int)strtol(slash + 1, &end, 10);
        if (*end || s->db < 0) {
            set_err(s, "bad database number in '%s'", shown);
            return -1;
        }
    }
    return 0;
}

static redisReply *raw_cmd(struct store *s, int argc, const char **argv,
                           const size_t *lens) {
    return s->c ? redisCommandArgv(s->c, argc, argv, lens) : NULL;
}

/* A reply that is an error: message into s->err, reply freed. */
static int reply_error(struct store *s, redisReply *r, const char *what) {
    set_err(s, "%s: %.*s", what, r ? (int)r->len : 5, r ? r->str : "no reply");
    freeReplyObject(r);
    return SWEEP_EIO;
}

static int load_scripts(struct store *s) {
    for (int i = 0; i < S__COUNT; i++) {
        const char *argv[3] = {"SCRIPT", "LOAD", script_src[i]};
        redisReply *r = raw_cmd(s, 3, argv, NULL);
        if (!r || r->type != REDIS_REPLY_STRING || r->len != 40)
            return reply_error(s, r, "SCRIPT LOAD");
        memcpy(s->sha[i], r->str, 40);
        s->sha[i][40] = '\0';
        freeReplyObject(r);
    }
    return 0;
}

static int auth_select(struct store *s) {
    redisReply *r;

    if (s->pass[0]) {
        r = s->user[0] ? redisCommand(s->c, "AUTH %s %s", s->user, s->pass)
                       : redisCommand(s->c, "AUTH %s", s->pass);
        if (!r || r->type == REDIS_REPLY_ERROR)
            return reply_error(s, r, "AUTH");
        freeReplyObject(r);
    }
    if (s->db) {
        r = redisCommand(s->c, "SELECT %d", s->db);
        if (!r || r->type == REDIS_REPLY_ERROR)
            return reply_error(s, r, "SELECT");
        freeReplyObject(r);
    }
    return 0;
}

static int connect_once(struct store *s) {
    struct timeval tv = {2, 0};

    if (s->c)
        redisFree(s->c);
    s->c = redisConnectWithTimeout(s->host, s->port, tv);
    if (!s->c || s->c->err) {
        set_err(s, "cannot connect to redis at %s:%d: %s", s->host, s->port,
                s->c ? s->c->errstr : "out of memory");
        goto fail;
    }
    redisSetTimeout(s->c, (struct timeval){10, 0});
    if (auth_select(s) || load_scripts(s))
        goto fail;
    return 0;
fail:
    if (s->c)
        redisFree(s->c);
    s->c = NULL;
    return SWEEP_EIO;
}

/* Reconnects with backoff until the retry budget is spent. */
static int reconnect(struct store *s) {
    int64_t deadline = now_ms() + s->retry_ms;
    int delay = 100;

    for (;;) {
        if (connect_once(s) == 0) {
            LOG(LOG_INFO, "reconnected to redis at %s:%d", s->host, s->port);
            return 0;
        }
        /* Wrong credentials do not get better by waiting. */
        if (strstr(s->err, "WRONGPASS") || strstr(s->err, "NOAUTH") ||
            strstr(s->err, "invalid password") || strstr(s->err, "NOPERM"))
            return SWEEP_EIO;
        if (s->retry_ms >= 0 && now_ms() + delay > deadline)
            return SWEEP_EIO;
        LOG(LOG_WARN, "%s; retrying in %d ms", s->err, delay);
        {
            struct pollfd p = {s->stop_fd, POLLIN, 0};
            if (poll(&p, s->stop_fd >= 0, delay) > 0)
                return SWEEP_EIO; /* asked to stop */
        }
        delay = delay * 2 > 2000 ? 2000 : delay * 2;
    }
}

/* One command, retried across reconnections (every write we send is a
 * script that is safe to repeat). NULL with s->err on failure. */
static redisReply *cmd_argv(struct store *s, int argc, const char **argv,
                            const size_t *lens) {
    for (int tries = 0; tries < 2; tries++) {
        redisReply *r = raw_cmd(s, argc, argv, lens);
        if (r)
            return r;
        set_err(s, "redis %s:%d: %s", s->host, s->port,
                s->c ? s->c->errstr : "not connected");
        if (reconnect(s) < 0)
            return NULL;
    }
    return NULL;
}

static redisReply *cmd(struct store *s, const char *fmt, ...) {
    for (int tries = 0; tries < 2; tries++) {
        va_list ap;
        redisReply *r = NULL;
        if (s->c) {
            va_start(ap, fmt);
            r = redisvCommand(s->c, fmt, ap);
            va_end(ap);
        }
        if (r)
            return r;
        set_err(s, "redis %s:%d: %s", s->host, s->port,
                s->c ? s->c->errstr : "not connected");
        if (reconnect(s) < 0)
            return NULL;
    }
    return NULL;
}

struct store *store_connect(const char *url, int retry_ms, char *errstr,
                            size_t errstr_size) {
    struct store *s = calloc(1, sizeof(*s));

    if (!s) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    s->retry_ms = retry_ms;
    s->stop_fd = -1;
    if (parse_url(s, url) < 0 || (connect_once(s) < 0 && reconnect(s) < 0)) {
        snprintf(errstr, errstr_size, "%s", s->err);
        store_free(s);
        return NULL;
    }
    return s;
}

void store_set_stop_fd(struct store *s, int fd) { s->stop_fd = fd; }
void store_set_retry(struct store *s, int retry_ms) { s->retry_ms = retry_ms; }

void store_free(struct store *s) {
    if (!s)
        return;
    if (s->c)
        redisFree(s->c);
    free(s);
}

/* EVALSHA of script id with args; reloads the scripts after NOSCRIPT (a
 * restarted server forgot them). */
static redisReply *eval(struct store *s, enum script_id id, int nargs,
                        const char **args) {
    const char *argv[64];
    redisReply *r;

    if (nargs > 60)
        return NULL;
    argv[0] = "EVALSHA";
    argv[1] = s->sha[id];
    argv[2] = "0";
    memcpy(argv + 3, args, (size_t)nargs * sizeof(char *));
    r = cmd_argv(s, nargs + 3, argv, NULL);
    if (r && r->type == REDIS_REPLY_ERROR && !strncmp(r->str, "NOSCRIPT", 8)) {
        freeReplyObject(r);
        if (load_scripts(s) < 0)
            return NULL;
        argv[1] = s->sha[id];
        r = cmd_argv(s, nargs + 3, argv, NULL);
    }
    if (r && r->type == REDIS_REPLY_ERROR) {
        reply_error(s, r, "script");
        return NULL;
    }
    return r;
}

/* Integer result of a script, or a negative error. */
static int eval_int(struct store *s, enum script_id id, int nargs,
                    const char **args, long long *out) {
    redisReply *r = eval(s, id, nargs, args);

    if (!r)
        return SWEEP_EIO;
    if (r->type != REDIS_REPLY_INTEGER)
        return reply_error(s, r, "unexpected script reply");
    *out = r->integer;
    freeReplyObject(r);
    return 0;
}

#define I64(buf, v) (snprintf(buf, sizeof(buf), "%lld", (long long)(v)), buf)

int store_sweep_create(struct store *s, const struct store_sweep_new *n) {
    char cap[24], grid[24], now[24];
    const char *args[] = {n->id, n->name ? n->name : "", n->config_json,
                          n->method, I64(cap, n->run_cap),
                          I64(grid, n->grid_size), I64(now, n->now_ms)};
    long long res;
    int rc = eval_int(s, S_SWEEP_CREATE, 7, args, &res);

    if (rc)
        return rc;
    if (res) {
        set_err(s, "sweep '%s' exists already", n->id);
        return SWEEP_EINVAL;
    }
    return 0;
}

int store_sweep_control(struct store *s, const char *id,
                        enum control_action a, int64_t now,
                        const char **state) {
    static const char *const states[] = {"running", "paused", "finished",
                                         "canceled"};
    char nowb[24];
    const char *args[] = {id, control_action_name(a), I64(nowb, now)};
    redisReply *r = eval(s, S_SWEEP_CONTROL, 3, args);
    int rc = SWEEP_EIO;

    if (!r)
        return SWEEP_EIO;
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 1)
        return reply_error(s, r, "unexpected script reply");
    if (r->element[0]->integer == 2) {
        set_err(s, "no sweep '%s'", id);
        rc = SWEEP_ENOENT;
    } else if (r->element[0]->integer == 1 && r->elements > 1) {
        set_err(s, "cannot %s: %s", control_action_name(a), r->element[1]->str);
        rc = SWEEP_EINVAL;
    } else if (r->elements > 1) {
        for (size_t i = 0; i < 4; i++)
            if (!strcmp(r->element[1]->str, states[i]))
                *state = states[i];
        rc = 0;
    }
    freeReplyObject(r);
    return rc;
}

/* A command whose reply must be an array: NULL (with s->err) otherwise. */
static redisReply *cmd_array(struct store *s, const char *what, redisReply *r) {
    if (r && r->type == REDIS_REPLY_ARRAY)
        return r;
    if (r)
        reply_error(s, r, what);
    return NULL;
}

/* HGETALL reply -> object of strings. */
static json_t *hash_object(const redisReply *r) {
    json_t *o = json_object();

    for (size_t i = 0; o && i + 1 < r->elements; i += 2)
        json_object_set_new(o, r->element[i]->str,
                            json_stringn(r->element[i + 1]->str,
                                         r->element[i + 1]->len));
    return o;
}

static void move_int(json_t *o, const char *key) {
    json_t *v = json_object_get(o, key);

    if (json_is_string(v))
        json_object_set_new(o, key, json_integer(strtoll(json_string_value(v), NULL, 10)));
}

static void move_json(json_t *o, const char *key) {
    json_t *v = json_object_get(o, key);
    json_t *parsed;

    if (!json_is_string(v))
        return;
    parsed = json_loads(json_string_value(v), JSON_DECODE_ANY, NULL);
    if (parsed)
        json_object_set_new(o, key, parsed);
}

json_t *store_sweep_get(struct store *s, const char *id) {
    redisReply *r;
    json_t *o, *counts;
    const char *k;
    json_t *v;
    void *tmp;

    set_err(s, "%s", "");
    if (!(r = cmd_array(s, "HGETALL", cmd(s, "HGETALL sw:s:%s", id))))
        return NULL;
    if (r->elements == 0) {
        freeReplyObject(r);
        return NULL;
    }
    o = hash_object(r);
    freeReplyObject(r);
    counts = json_object();
    json_object_foreach_safe(o, tmp, k, v) {
        if (!strncmp(k, "n:", 2)) {
            json_object_set_new(counts, k + 2,
                                json_integer(strtoll(json_string_value(v), NULL, 10)));
            json_object_del(o, k);
        }
    }
    json_object_set_new(o, "runs", counts);
    move_json(o, "config");
    move_int(o, "created_at");
    move_int(o, "updated_at");
    move_int(o, "run_cap");
    move_int(o, "grid_size");
    move_int(o, "runs_created");
    return o;
}

static json_t *string_array(const redisReply *r) {
    json_t *a = json_array();

    for (size_t i = 0; a && r && i < r->elements; i++)
        json_array_append_new(a, json_stringn(r->element[i]->str, r->element[i]->len));
    return a;
}

json_t *store_sweep_ids(struct store *s) {
    redisReply *r = cmd_array(s, "ZRANGE", cmd(s, "ZRANGE sw:sweeps 0 -1"));
    json_t *a;

    if (!r)
        return NULL;
    a = string_array(r);
    freeReplyObject(r);
    return a;
}

char *store_sweep_state(struct store *s, const char *sweep_id) {
    redisReply *r = cmd(s, "HGET sw:s:%s state", sweep_id);
    char *st = NULL;

    if (r && r->type == REDIS_REPLY_STRING)
        st = strdup(r->str);
    freeReplyObject(r);
    return st;
}

int64_t store_worker_wseq(struct store *s, const char *worker_id) {
    redisReply *r = cmd(s, "GET sw:w:%s:wseq", worker_id);
    int64_t n = 0;

    if (r && r->type == REDIS_REPLY_STRING)
        n = strtoll(r->str, NULL, 10);
    freeReplyObject(r);
    return n;
}

/* metrics_lost: the metric events of the attempt that never arrived.
 * Once the run has ended, the worker's count (metrics_sent) less those
 * applied (steps), which also covers the last ones; before, the gaps
 * in seq seen so far. 0 when nothing is missing. */
static void runs_lost(json_t *o) {
    json_t *sent = json_object_get(o, "metrics_sent");
    json_int_t steps = json_integer_value(json_object_get(o, "steps"));
    json_int_t gaps = 0, lost;
    const char *g = json_string_value(json_object_get(o, "metrics_lost"));

    if (g)
        gaps = strtoll(g, NULL, 10);
    lost = json_is_integer(sent) ? json_integer_value(sent) - steps : gaps;
    json_object_set_new(o, "metrics_lost", json_integer(lost > gaps ? lost : gaps));
}

/* Pipelines the per-run reads: HGETALL, the summary and maybe history. */
static json_t *read_runs(struct store *s, const char *sweep_id,
                         const redisReply *ids, int with_history) {
    json_t *out = json_array();
    size_t per = with_history ? 3 : 2;

    if (!out)
        return NULL;
    for (size_t i = 0; i < ids->elements; i++) {
        const char *run = ids->element[i]->str;
        redisAppendCommand(s->c, "HGETALL sw:r:%s:%s", sweep_id, run);
        redisAppendCommand(s->c, "HGETALL sw:r:%s:%s:sum", sweep_id, run);
        if (with_history)
            redisAppendCommand(s->c, "LRANGE sw:r:%s:%s:hist 0 -1", sweep_id, run);
    }
    for (size_t i = 0; i < ids->elements * per; i++) {
        redisReply *r = NULL;
        if (redisGetReply(s->c, (void **)&r) != REDIS_OK || !r) {
            set_err(s, "redis: %s", s->c->errstr);
            json_decref(out);
            return NULL;
        }
        if (i % per == 0) {
            json_t *o = hash_object(r);
            move_json(o, "params");
            move_int(o, "attempt");
            move_int(o, "steps");
            move_int(o, "created_at");
            move_int(o, "started_at");
            move_int(o, "ended_at");
            move_int(o, "assigned_at");
            move_int(o, "heartbeat_at");
            move_int(o, "exit_code");
            move_int(o, "signal");
            move_int(o, "grid_index");
            move_int(o, "wseq");
            move_int(o, "metrics_sent");
            runs_lost(o);
            json_object_del(o, "last_seq");
            json_array_append_new(out, o);
        } else {
            json_t *o = json_array_get(out, json_array_size(out) - 1);
            if (i % per == 1) {
                json_t *sum = json_object();
                for (size_t k = 0; k + 1 < r->elements; k += 2)
                    json_object_set_new(sum, r->element[k]->str,
                                        json_real(strtod(r->element[k + 1]->str, NULL)));
                json_object_set_new(o, "summary", sum);
            } else {
                json_t *h = json_array();
                for (size_t k = 0; k < r->elements; k++)
                    json_array_append_new(h, json_loads(r->element[k]->str, 0, NULL));
                json_object_set_new(o, "history", h);
            }
        }
        freeReplyObject(r);
    }
    return out;
}

json_t *store_runs_page(struct store *s, const char *sweep_id, long start,
                        long count, long *total) {
    redisReply *n, *ids;
    json_t *out;

    if (!(n = cmd(s, "ZCARD sw:s:%s:runs", sweep_id)))
        return NULL;
    set_err(s, "%s", "");
    *total = n->type == REDIS_REPLY_INTEGER ? (long)n->integer : 0;
    freeReplyObject(n);
    if (count <= 0 || start >= *total)
        return json_array();
    if (!(ids = cmd_array(s, "ZRANGE", cmd(s, "ZRANGE sw:s:%s:runs %ld %ld", sweep_id,
                                            start, start + count - 1))))
        return NULL;
    out = read_runs(s, sweep_id, ids, 0);
    freeReplyObject(ids);
    return out;
}

json_t *store_run_get(struct store *s, const char *sweep_id, const char *run_id,
                      int with_history) {
    redisReply *score, one = {.type = REDIS_REPLY_ARRAY},
                       name = {.type = REDIS_REPLY_STRING};
    redisReply *elems[1] = {&name};
    json_t *out, *r;

    set_err(s, "%s", "");
    if (!(score = cmd(s, "ZSCORE sw:s:%s:runs %s", sweep_id, run_id)))
        return NULL;
    if (score->type != REDIS_REPLY_STRING) { /* nil: not a run of the sweep */
        freeReplyObject(score);
        return NULL;
    }
    freeReplyObject(score);
    name.str = (char *)run_id;
    name.len = strlen(run_id);
    one.elements = 1;
    one.element = elems;
    if (!(out = read_runs(s, sweep_id, &one, with_history)))
        return NULL;
    r = json_incref(json_array_get(out, 0));
    json_decref(out);
    return r;
}

json_t *store_runs(struct store *s, const char *sweep_id, int with_history) {
    redisReply *ids = cmd_array(s, "ZRANGE", cmd(s, "ZRANGE sw:s:%s:runs 0 -1", sweep_id));
    json_t *out;

    if (!ids)
        return NULL;
    out = read_runs(s, sweep_id, ids, with_history);
    freeReplyObject(ids);
    return out;
}

int store_lease_acquire(struct store *s, const char *holder, int ttl_ms,
                        int64_t *token) {
    char ttl[24];
    const char *args[] = {holder, I64(ttl, ttl_ms)};
    long long res;
    int rc = eval_int(s, S_LEASE_ACQUIRE, 2, args, &res);

    if (rc)
        return rc;
    *token = res;
    return res > 0;
}

int store_lease_extend(struct store *s, int64_t token, int ttl_ms) {
    char tok[24], ttl[24];
    const char *args[] = {I64(tok, token), I64(ttl, ttl_ms)};
    long long res;
    int rc = eval_int(s, S_LEASE_EXTEND, 2, args, &res);

    return rc ? rc : (int)res;
}

int store_lease_release(struct store *s, int64_t token) {
    char tok[24];
    const char *args[] = {I64(tok, token)};
    long long res;

    return eval_int(s, S_LEASE_RELEASE, 1, args, &res);
}

int store_offsets_save(struct store *s, int64_t token, const char *const *keys,
                       const int64_t *offsets, size_t n) {
    char tok[24], offs[28][24];
    const char *args[57];
    long long res;
    int rc;

    for (size_t done = 0; done < n; done += 28) {
        size_t m = n - done < 28 ? n - done : 28;
        args[0] = I64(tok, token);
        for (size_t i = 0; i < m; i++) {
            args[1 + 2 * i] = keys[done + i];
            args[2 + 2 * i] = I64(offs[i], offsets[done + i]);
        }
        if ((rc = eval_int(s, S_OFFSETS_SAVE, (int)(1 + 2 * m), args, &res)))
            return rc;
        if (res)
            return STORE_FENCED;
    }
    return STORE_OK;
}

json_t *store_offsets_load(struct store *s) {
    redisReply *r = cmd_array(s, "HGETALL", cmd(s, "HGETALL sw:offsets"));
    json_t *o;

    if (!r)
        return NULL;
    o = hash_object(r);
    freeReplyObject(r);
    return o;
}

int store_run_create(struct store *s, int64_t token,
                     const struct store_run_new *n) {
    char tok[24], gi[24], now[24], ws[24];
    const char *args[] = {I64(tok, token), n->sweep_id, n->run_id,
                          n->params_json, I64(gi, n->grid_index),
                          n->worker_id, I64(now, n->now_ms), I64(ws, n->wseq)};
    long long res;
    int rc = eval_int(s, S_RUN_CREATE, 8, args, &res);

    return rc ? rc : (int)res;
}

int store_run_reassign(struct store *s, int64_t token, const char *sweep_id,
                       const char *worker_id, int64_t now, int64_t wseq,
                       char **run_id, char **params_json, int *attempt) {
    char tok[24], nowb[24], ws[24];
    const char *args[] = {I64(tok, token), sweep_id, worker_id, I64(nowb, now),
                          I64(ws, wseq)};
    redisReply *r = eval(s, S_RUN_REASSIGN, 5, args);
    int rc;

    if (!r)
        return SWEEP_EIO;
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 1)
        return reply_error(s, r, "unexpected script reply");
    rc = (int)r->element[0]->integer;
    if (rc == STORE_OK && r->elements == 4) {
        *run_id = strdup(r->element[1]->str);
        *params_json = strdup(r->element[2]->str);
        *attempt = (int)r->element[3]->integer;
        if (!*run_id || !*params_json) {
            free(*run_id);
            free(*params_json);
            rc = SWEEP_ENOMEM;
        }
    }
    freeReplyObject(r);
    return rc;
}

int store_apply_life(struct store *s, int64_t token,
                     const struct msg_run_lifecycle *e) {
    char tok[24], att[24], ts[24], code[24] = "", sig[24], ms[24] = "";
    const char *args[] = {I64(tok, token), e->r.sweep_id, e->r.run_id,
                          I64(att, e->r.attempt), lifecycle_event_name(e->event),
                          e->r.worker_id ? e->r.worker_id : "",
                          I64(ts, e->r.ts_ms),
                          e->has_exit_code ? I64(code, e->exit_code) : "",
                          I64(sig, e->signal), e->reason ? e->reason : "",
                          e->last_metric_seq > 0 ? I64(ms, e->last_metric_seq) : ""};
    long long res;
    int rc = eval_int(s, S_APPLY_LIFE, 11, args, &res);

    return rc ? rc : (int)res;
}

int store_run_crash(struct store *s, int64_t token, const char *sweep_id,
                    const char *run_id, int attempt, const char *reason,
                    int64_t now) {
    char tok[24], att[24], nowb[24];
    const char *args[] = {I64(tok, token), sweep_id, run_id, I64(att, attempt),
                          reason, I64(nowb, now)};
    long long res;
    int rc = eval_int(s, S_RUN_CRASH, 6, args, &res);

    return rc ? rc : (int)res;
}

int store_sweep_finish(struct store *s, int64_t token, const char *sweep_id,
                       const char *why, int64_t now) {
    char tok[24], nowb[24];
    const char *args[] = {I64(tok, token), sweep_id, why, I64(nowb, now)};
    long long res;
    int rc = eval_int(s, S_SWEEP_FINISH, 4, args, &res);

    return rc ? rc : (int)res;
}

int store_grid_taken(struct store *s, const char *sweep_id,
                     unsigned char **bits, size_t *nbytes) {
    redisReply *r = cmd(s, "GET sw:s:%s:grid", sweep_id);

    *bits = NULL;
    *nbytes = 0;
    if (!r)
        return SWEEP_EIO;
    if (r->type == REDIS_REPLY_STRING && r->len) {
        *bits = malloc(r->len);
        if (!*bits) {
            freeReplyObject(r);
            return SWEEP_ENOMEM;
        }
        memcpy(*bits, r->str, r->len);
        *nbytes = r->len;
    }
    freeReplyObject(r);
    return 0;
}

json_t *store_live_runs(struct store *s, const char *sweep_id) {
    redisReply *ids = cmd_array(s, "SMEMBERS", cmd(s, "SMEMBERS sw:s:%s:live", sweep_id));
    json_t *out;

    if (!ids)
        return NULL;
    out = read_runs(s, sweep_id, ids, 0);
    freeReplyObject(ids);
    return out;
}

/* The history entry of one metric event. */
static char *metric_json(const struct msg_metric_event *e) {
    struct sbuf sb = SBUF_INIT;

    sbuf_adds(&sb, "{");
    if (e->has_step)
        sbuf_addf(&sb, "\"_step\": %lld, ", (long long)e->step);
    sbuf_addf(&sb, "\"_timestamp\": %lld", (long long)e->r.ts_ms);
    for (size_t i = 0; i < e->n; i++) {
        json_t *name = json_string(e->names[i]);
        char *q = name ? json_dumps(name, JSON_ENCODE_ANY) : NULL;
        if (isfinite(e->values[i])) { /* shortest form that reads back */
            sbuf_addf(&sb, ", %s: ", q ? q : "\"?\"");
            value_format_float(&sb, e->values[i]);
        } else
            sbuf_addf(&sb, ", %s: null", q ? q : "\"?\"");
        free(q);
        json_decref(name);
    }
    sbuf_adds(&sb, "}");
    return sbuf_detach(&sb);
}

struct metric_args {
    const char **argv;
    char (*num)[32]; /* number buffers */
    char *json;
    int argc;
};

static int metric_args_build(struct store *s, int64_t token,
                             const struct msg_metric_event *e,
                             const struct store_target *t,
                             struct metric_args *a) {
    size_t cap = 14 + 2 * e->n;
    int k = 0, nb = 0;

    a->argv = calloc(cap, sizeof(char *));
    a->num = calloc(cap, sizeof(*a->num));
    a->json = metric_json(e);
    if (!a->argv || !a->num || !a->json)
        return SWEEP_ENOMEM;
    a->argv[k++] = "EVALSHA";
    a->argv[k++] = s->sha[S_APPLY_METRIC];
    a->argv[k++] = "0";
    a->argv[k++] = I64(a->num[nb], token), nb++;
    a->argv[k++] = e->r.sweep_id;
    a->argv[k++] = e->r.run_id;
    a->argv[k++] = I64(a->num[nb], e->r.attempt), nb++;
    a->argv[k++] = I64(a->num[nb], e->r.seq), nb++;
    a->argv[k++] = a->json;
    a->argv[k++] = t && t->metric ? t->metric : "";
    a->argv[k++] = t && t->maximize ? "maximize" : "minimize";
    if (t && t->has_target)
        snprintf(a->num[nb], 32, "%.17g", t->target), a->argv[k++] = a->num[nb++];
    else
        a->argv[k++] = "";
    a->argv[k++] = I64(a->num[nb], e->r.ts_ms), nb++;
    a->argv[k++] = e->r.worker_id ? e->r.worker_id : "";
    for (size_t i = 0; i < e->n; i++) {
        if (!isfinite(e->values[i]))
            continue;
        a->argv[k++] = e->names[i];
        snprintf(a->num[nb], 32, "%.17g", e->values[i]);
        a->argv[k++] = a->num[nb++];
    }
    a->argc = k;
    return 0;
}

static void metric_args_free(struct metric_args *a) {
    free(a->argv);
    free(a->num);
    free(a->json);
}

/* Sends the whole batch, then reads every reply; -1 on an I/O error (the
 * caller reconnects and sends it again: the scripts are idempotent), -2
 * when the server forgot the scripts. */
static int metrics_roundtrip(struct store *s, struct metric_args *a, size_t n,
                             int *results, int64_t *lost) {
    int rc = 0;

    if (!s->c)
        return -1;
    for (size_t i = 0; i < n; i++) {
        a[i].argv[1] = s->sha[S_APPLY_METRIC];
        if (redisAppendCommandArgv(s->c, a[i].argc, a[i].argv, NULL) != REDIS_OK)
            return -1;
    }
    for (size_t i = 0; i < n; i++) {
        redisReply *r = NULL;
        if (redisGetReply(s->c, (void **)&r) != REDIS_OK || !r)
            return -1;
        if (lost)
            lost[i] = 0;
        if (r->type == REDIS_REPLY_INTEGER)
            results[i] = (int)r->integer;
        else if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
                 r->element[0]->type == REDIS_REPLY_INTEGER &&
                 r->element[1]->type == REDIS_REPLY_INTEGER) {
            results[i] = (int)r->element[0]->integer;
            if (lost)
                lost[i] = r->element[1]->integer;
        } else if (r->type == REDIS_REPLY_ERROR && !strncmp(r->str, "NOSCRIPT", 8))
            rc = -2;
        else {
            set_err(s, "metric script: %.*s", (int)r->len, r->str ? r->str : "");
            results[i] = SWEEP_EIO;
        }
        freeReplyObject(r);
    }
    return rc;
}

int store_apply_metrics(struct store *s, int64_t token,
                        const struct msg_metric_event *const *ev,
                        const struct store_target *const *targets, size_t n,
                        int *results, int64_t *lost) {
    struct metric_args *a = calloc(n ? n : 1, sizeof(*a));
    int rc = 0;

    if (!a)
        return SWEEP_ENOMEM;
    for (size_t i = 0; i < n && !rc; i++)
        rc = metric_args_build(s, token, ev[i], targets ? targets[i] : NULL, &a[i]);
    for (int tries = 0; !rc && tries < 3; tries++) {
        int r = metrics_roundtrip(s, a, n, results, lost);
        if (r == 0)
            break;
        if (r == -2)
            rc = load_scripts(s);
        else if (reconnect(s) < 0)
            rc = SWEEP_EIO;
        if (!rc && tries == 2)
            rc = SWEEP_EIO;
    }
    for (size_t i = 0; i < n; i++)
        metric_args_free(&a[i]);
    free(a);
    return rc;
}

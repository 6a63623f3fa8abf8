/* test_store.c - the controller's Redis state (store.c, store_lua.h)
 * against a real redis-server: URLs and AUTH, the lease and fencing, sweep
 * control, run creation under run_cap and grid points (also raced by
 * several processes), run lifecycle and requeueing, metric events, saved
 * offsets, and reconnection after the server restarts.
 *
 * The test starts its own /usr/bin/redis-server processes on free loopback
 * ports (fork/exec, PR_SET_PDEATHSIG so they die with us) and kills them at
 * exit (atexit, and on SIGINT/SIGTERM). Every check is made from outside
 * too, with a second raw hiredis connection. No mocks.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <hiredis.h>
#include <jansson.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "port.h"
#include "log.h"
#include "msg.h"
#include "store.h"
#include "sweep.h"
#include "test.h"

#define REDIS_BIN "/usr/bin/redis-server"

struct server {
    const char *name;
    pid_t pid;
    int port;
};

static struct server srv = {"main", 0, 0};     /* no auth */
static struct server srv_auth = {"auth", 0, 0}; /* --requirepass */
static pid_t owner_pid;
static char tmpdir[64];
static struct store *st;  /* on srv, db 0 */
static redisContext *raw; /* on srv, db 0: the view from outside */

/* ---- servers ---------------------------------------------------------- */

static int64_t mono_ms(void) {
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}


/* fork/exec redis-server on sv->port; the child first sleeps delay_ms (a
 * restart that comes back later). extra: more arguments, NULL-ended. */
static pid_t spawn_redis(const struct server *sv, int delay_ms,
                         const char *const *extra) {
    char port[16], log[128];
    const char *argv[32] = {REDIS_BIN, "--port", port, "--bind", "127.0.0.1",
                            "--save", "", "--appendonly", "no", "--dir",
                            tmpdir, "--dbfilename", NULL, "--logfile", log};
    char dbfile[64];
    int n = 15;
    pid_t pid;

    snprintf(port, sizeof(port), "%d", sv->port);
    snprintf(log, sizeof(log), "%s/%s.log", tmpdir, sv->name);
    snprintf(dbfile, sizeof(dbfile), "%s.rdb", sv->name);
    argv[12] = dbfile;
    for (size_t i = 0; extra && extra[i] && n < 31; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != owner_pid)
            _exit(127);
        if (null >= 0) {
            dup2(null, 0);
            dup2(null, 1);
            dup2(null, 2);
        }
        if (delay_ms > 0)
            sleep_ms(delay_ms);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

/* Until the server answers (any reply: NOAUTH means it is up), at most
 * timeout_ms. */
static int wait_ready(struct server *sv, int timeout_ms) {
    int64_t deadline = mono_ms() + timeout_ms;

    while (mono_ms() < deadline) {
        redisContext *c = redisConnectWithTimeout("127.0.0.1", sv->port,
                                                  (struct timeval){0, 200000});
        redisReply *r = c && !c->err ? redisCommand(c, "PING") : NULL;
        int up = r != NULL && (r->type != REDIS_REPLY_ERROR ||
                               strncmp(r->str, "LOADING", 7) != 0);
        freeReplyObject(r);
        redisFree(c);
        if (up)
            return 0;
        if (sv->pid > 0 && waitpid(sv->pid, NULL, WNOHANG) == sv->pid) {
            sv->pid = 0;
            return -1;
        }
        sleep_ms(20);
    }
    return -1;
}

static void server_kill(struct server *sv) {
    if (sv->pid <= 0)
        return;
    kill(sv->pid, SIGKILL);
    while (waitpid(sv->pid, NULL, 0) < 0 && errno == EINTR)
        ;
    sv->pid = 0;
}

/* A fresh server on a free port; a few ports are tried (another process
 * may take the one we found). */
static int server_start(struct server *sv, const char *const *extra) {
    for (int tries = 0; tries < 5; tries++) {
        sv->port = port_free_loopback();
        if (sv->port <= 0)
            continue;
        sv->pid = spawn_redis(sv, 0, extra);
        if (sv->pid > 0 && wait_ready(sv, 5000) == 0)
            return 0;
        server_kill(sv);
    }
    fprintf(stderr, "cannot start %s (see %s/%s.log)\n", REDIS_BIN, tmpdir,
            sv->name);
    return -1;
}

static int rm_entry(const char *path, const struct stat *sb, int flag,
                    struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void cleanup(void) {
    if (getpid() != owner_pid)
        return;
    server_kill(&srv);
    server_kill(&srv_auth);
    if (tmpdir[0])
        nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    tmpdir[0] = '\0';
}

static void on_signal(int sig) {
    /* kill(2) and waitpid(2) are async-signal-safe; nftw is not, the
     * files are left behind. */
    if (srv.pid > 0)
        kill(srv.pid, SIGKILL);
    if (srv_auth.pid > 0)
        kill(srv_auth.pid, SIGKILL);
    _exit(128 + sig);
}

/* ---- the view from outside -------------------------------------------- */

static redisContext *raw_connect(int port) {
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port,
                                              (struct timeval){2, 0});

    if (!c || c->err) {
        fprintf(stderr, "raw connection to %d: %s\n", port,
                c ? c->errstr : "out of memory");
        redisFree(c);
        return NULL;
    }
    return c;
}

static redisReply *rcmd(const char *fmt, ...) {
    redisReply *r = NULL;
    va_list ap;

    if (!raw)
        raw = raw_connect(srv.port);
    if (!raw)
        return NULL;
    va_start(ap, fmt);
    r = redisvCommand(raw, fmt, ap);
    va_end(ap);
    if (!r) {
        redisFree(raw);
        raw = NULL;
    }
    return r;
}

/* A string reply (caller frees), or NULL for nil/error. */
static char *rstr(const char *fmt, ...) {
    redisReply *r = NULL;
    char *out = NULL;
    va_list ap;

    if (!raw)
        raw = raw_connect(srv.port);
    if (!raw)
        return NULL;
    va_start(ap, fmt);
    r = redisvCommand(raw, fmt, ap);
    va_end(ap);
    if (r && r->type == REDIS_REPLY_STRING)
        out = strndup(r->str, r->len);
    if (!r) {
        redisFree(raw);
        raw = NULL;
    }
    freeReplyObject(r);
    return out;
}

/* An integer reply; -999 otherwise. */
static long long rint_(const char *fmt, ...) {
    redisReply *r = NULL;
    long long out = -999;
    va_list ap;

    if (!raw)
        raw = raw_connect(srv.port);
    if (!raw)
        return out;
    va_start(ap, fmt);
    r = redisvCommand(raw, fmt, ap);
    va_end(ap);
    if (r && r->type == REDIS_REPLY_INTEGER)
        out = r->integer;
    if (!r) {
        redisFree(raw);
        raw = NULL;
    }
    freeReplyObject(r);
    return out;
}

/* HGET as a number; -999 when absent. */
static long long hnum(const char *key, const char *field) {
    char *v = rstr("HGET %s %s", key, field);
    long long n = v ? strtoll(v, NULL, 10) : -999;

    free(v);
    return n;
}

/* CHECK_STR that frees the malloc'd left side. */
#define CHECK_HSTR(key, field, want)                                     \
    do {                                                                 \
        char *v_ = rstr("HGET %s %s", key, field);                       \
        CHECK_STR(v_, want);                                             \
        free(v_);                                                        \
    } while (0)

/* ---- fixtures ----------------------------------------------------------- */

/* An empty database and a fresh lease: the token. */
static int64_t lead(void) {
    int64_t tok = 0;

    freeReplyObject(rcmd("FLUSHALL"));
    CHECK_INT(store_lease_acquire(st, "test", 30000, &tok), 1);
    return tok;
}

static void mk_sweep(const char *id, long long cap, long long grid) {
    struct store_sweep_new n = {.id = id, .name = "t", .config_json = "{\"method\": \"random\"}",
                                .method = grid ? "grid" : "random", .run_cap = cap,
                                .grid_size = grid, .now_ms = 1000};

    CHECK_INT(store_sweep_create(st, &n), 0);
}

static int mk_run(int64_t tok, const char *sweep, const char *run, int64_t gi,
                  const char *params) {
    struct store_run_new n = {.sweep_id = sweep, .run_id = run,
                              .params_json = params ? params : "{\"lr\": 0.1}",
                              .grid_index = gi, .worker_id = "w1", .now_ms = 2000};

    return store_run_create(st, tok, &n);
}

/* The worker the run is given to now (events name it: those of another
 * worker are ignored), "w1" when it has none; static for 16 more calls. */
static char *holder_of(const char *sweep, const char *run) {
    static char buf[16][64];
    static unsigned k;
    char *w = rstr("HGET sw:r:%s:%s worker", sweep, run), *b = buf[k++ % 16];

    snprintf(b, 64, "%s", w ? w : "w1");
    free(w);
    return b;
}

static struct msg_run_lifecycle life(const char *sweep, const char *run,
                                     int attempt, enum lifecycle_event ev,
                                     int64_t ts) {
    struct msg_run_lifecycle e = {0};

    e.r.sweep_id = (char *)sweep;
    e.r.run_id = (char *)run;
    e.r.worker_id = holder_of(sweep, run);
    e.r.attempt = attempt;
    e.r.ts_ms = ts;
    e.event = ev;
    e.last_metric_seq = -1;
    if (ev == LC_FINISHED || ev == LC_FAILED) {
        e.has_exit_code = 1;
        e.exit_code = ev == LC_FAILED ? 3 : 0;
    }
    return e;
}

static int apply_life(int64_t tok, const char *sweep, const char *run,
                      int attempt, enum lifecycle_event ev, int64_t ts) {
    struct msg_run_lifecycle e = life(sweep, run, attempt, ev, ts);

    return store_apply_life(st, tok, &e);
}

/* A metric event with up to 4 name=value pairs. */
struct mev {
    struct msg_metric_event e;
    char *names[4];
    double values[4];
};

static void mev_init(struct mev *m, const char *sweep, const char *run,
                     int attempt, int64_t seq, int64_t step, int64_t ts,
                     size_t n, const char *const *names, const double *values) {
    memset(m, 0, sizeof(*m));
    m->e.r.sweep_id = (char *)sweep;
    m->e.r.run_id = (char *)run;
    m->e.r.worker_id = holder_of(sweep, run);
    m->e.r.attempt = attempt;
    m->e.r.seq = seq;
    m->e.r.ts_ms = ts;
    m->e.has_step = step >= 0;
    m->e.step = step;
    for (size_t i = 0; i < n && i < 4; i++) {
        m->names[i] = (char *)names[i];
        m->values[i] = values[i];
    }
    m->e.n = n;
    m->e.names = m->names;
    m->e.values = m->values;
}

/* Applies one event; its result (or the call's error). */
static int apply1(int64_t tok, struct mev *m, const struct store_target *t) {
    const struct msg_metric_event *ev[1] = {&m->e};
    const struct store_target *tg[1] = {t};
    int res = -100, rc = store_apply_metrics(st, tok, ev, tg, 1, &res, NULL);

    return rc ? rc : res;
}

/* The history of a run, parsed (new reference; NULL entries kept). */
static json_t *history(const char *sweep, const char *run) {
    redisReply *r = rcmd("LRANGE sw:r:%s:%s:hist 0 -1", sweep, run);
    json_t *a = json_array();

    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++)
        json_array_append_new(a, json_loads(r->element[i]->str, 0, NULL));
    freeReplyObject(r);
    return a;
}

/* ---- URLs and AUTH -------------------------------------------------- */

static void test_url_host_port_db(void) {
    char url[128], err[512] = "";
    struct store *s;
    redisContext *c;
    redisReply *r;
    struct store_sweep_new n = {.id = "indb3", .config_json = "{}",
                                .method = "random", .now_ms = 1};

    freeReplyObject(rcmd("FLUSHALL"));
    snprintf(url, sizeof(url), "redis://127.0.0.1:%d/3", srv.port);
    s = store_connect(url, 0, err, sizeof(err));
    CHECK(s != NULL);
    if (!s) {
        fprintf(stderr, "  %s: %s\n", url, err);
        return;
    }
    CHECK_INT(store_sweep_create(s, &n), 0);
    store_free(s);
    /* In db 3, not in db 0. */
    CHECK_INT(rint_("EXISTS sw:s:indb3"), 0);
    c = raw_connect(srv.port);
    CHECK(c != NULL);
    if (c) {
        freeReplyObject(redisCommand(c, "SELECT 3"));
        r = redisCommand(c, "HGET sw:s:indb3 state");
        CHECK(r && r->type == REDIS_REPLY_STRING);
        if (r && r->type == REDIS_REPLY_STRING)
            CHECK_STR(r->str, "running");
        freeReplyObject(r);
        freeReplyObject(redisCommand(c, "FLUSHDB"));
        redisFree(c);
    }
    /* localhost resolves, and no /db is db 0. */
    snprintf(url, sizeof(url), "redis://localhost:%d", srv.port);
    s = store_connect(url, 0, err, sizeof(err));
    CHECK(s != NULL);
    if (s) {
        n.id = "indb0";
        CHECK_INT(store_sweep_create(s, &n), 0);
        CHECK_INT(rint_("EXISTS sw:s:indb0"), 1);
    }
    store_free(s);
    /* A database the server does not have: SELECT's error. */
    snprintf(url, sizeof(url), "redis://127.0.0.1:%d/99", srv.port);
    err[0] = '\0';
    s = store_connect(url, 0, err, sizeof(err));
    CHECK(s == NULL);
    CHECK_HAS(err, "SELECT");
    CHECK_HAS(err, "out of range");
    store_free(s);
}

static void test_url_default_port(void) {
    char err[512] = "";
    redisContext *c = redisConnectWithTimeout("127.0.0.1", 6379,
                                              (struct timeval){0, 300000});
    int busy = c && !c->err;
    struct store *s;

    redisFree(c);
    if (busy) {
        printf("     (something listens on 6379: default port not checked)\n");
        return;
    }
    s = store_connect("redis://127.0.0.1", 0, err, sizeof(err));
    CHECK(s == NULL);
    CHECK_HAS(err, "127.0.0.1:6379");
    store_free(s);
}

static void test_url_bad(void) {
    static const struct {
        const char *url, *want;
    } bad[] = {
        {"127.0.0.1:6379", "not a redis:// URL"},
        {"http://127.0.0.1:6379", "not a redis:// URL"},
        {"redis://127.0.0.1:abc", "bad port"},
        {"redis://127.0.0.1:", "bad port"},
        {"redis://127.0.0.1:0", "bad port"},
        {"redis://127.0.0.1:70000", "bad port"},
        {"redis://127.0.0.1:12x/0", "bad port"},
        {"redis://:6379", "no host"},
        {"redis://", "no host"},
        {"redis://127.0.0.1:6379/x", "bad database"},
        {"redis://127.0.0.1:6379/-1", "bad database"},
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char err[512] = "";
        struct store *s = store_connect(bad[i].url, 0, err, sizeof(err));
        CHECK(s == NULL);
        CHECK_HAS(err, bad[i].want);
        CHECK_HAS(err, bad[i].url); /* the message names the URL */
        store_free(s);
    }
}

static void test_url_auth(void) {
    static const char *const extra[] = {"--requirepass", "pw0rd", NULL};
    char url[160], err[512];
    redisContext *c;
    redisReply *r;
    struct store *s;

    if (!srv_auth.pid && server_start(&srv_auth, extra) < 0) {
        CHECK(!"auth server started");
        return;
    }
    c = raw_connect(srv_auth.port);
    CHECK(c != NULL);
    if (!c)
        return;
    freeReplyObject(redisCommand(c, "AUTH pw0rd"));
    r = redisCommand(c, "ACL SETUSER alice on >secret ~* +@all");
    CHECK(r && r->type == REDIS_REPLY_STATUS);
    freeReplyObject(r);
    redisFree(c);

    /* Right credentials: password only (both spellings), and an ACL user. */
    {
        const char *creds[] = {"pw0rd@", ":pw0rd@", "default:pw0rd@",
                               "alice:secret@"};
        for (size_t i = 0; i < 4; i++) {
            int64_t tok = 0;
            snprintf(url, sizeof(url), "redis://%s127.0.0.1:%d%s", creds[i],
                     srv_auth.port, i == 3 ? "/2" : "");
            err[0] = '\0';
            s = store_connect(url, 0, err, sizeof(err));
            CHECK(s != NULL);
            if (!s) {
                fprintf(stderr, "  %s: %s\n", url, err);
                continue;
            }
            /* The scripts were loaded, so the connection is usable. */
            CHECK(store_lease_acquire(s, "auth", 100, &tok) >= 0);
            store_free(s);
        }
    }
    /* Wrong ones: refused with a message that says AUTH and why. */
    {
        const char *creds[] = {"nope@", "alice:nope@", "bob:secret@"};
        for (size_t i = 0; i < 3; i++) {
            snprintf(url, sizeof(url), "redis://%s127.0.0.1:%d", creds[i],
                     srv_auth.port);
            err[0] = '\0';
            s = store_connect(url, 0, err, sizeof(err));
            CHECK(s == NULL);
            CHECK_HAS(err, "AUTH");
            CHECK_HAS(err, "WRONGPASS");
            store_free(s);
        }
    }
    /* No credentials at all: the server's NOAUTH, not a hang. */
    snprintf(url, sizeof(url), "redis://127.0.0.1:%d", srv_auth.port);
    err[0] = '\0';
    s = store_connect(url, 0, err, sizeof(err));
    CHECK(s == NULL);
    CHECK_HAS(err, "NOAUTH");
    store_free(s);
}

/* ---- the lease and fencing -------------------------------------------- */

static void test_lease(void) {
    int64_t t1 = 0, t2 = -1, t3 = 0, t4 = 0;

    freeReplyObject(rcmd("FLUSHALL"));
    CHECK_INT(store_lease_acquire(st, "a", 10000, &t1), 1);
    CHECK_INT(t1, 1);
    {
        char *h = rstr("GET sw:lease:holder");
        CHECK_STR(h, "a");
        free(h);
    }
    CHECK_INT(store_lease_acquire(st, "b", 10000, &t2), 0);
    CHECK_INT(t2, 0);
    CHECK_INT(store_lease_extend(st, t1, 10000), 1);
    CHECK_INT(store_lease_extend(st, t1 + 1, 10000), 0);
    CHECK(rint_("PTTL sw:lease") > 5000);
    /* Released by someone else's token: still ours. */
    store_lease_release(st, t1 + 7);
    CHECK_INT(rint_("EXISTS sw:lease"), 1);
    CHECK_INT(store_lease_release(st, t1), 0);
    CHECK_INT(rint_("EXISTS sw:lease"), 0);
    CHECK_INT(rint_("EXISTS sw:lease:holder"), 0);

    /* A short lease runs out; the next holder gets a larger token. */
    CHECK_INT(store_lease_acquire(st, "a", 200, &t3), 1);
    CHECK(t3 > t1);
    sleep_ms(300);
    CHECK_INT(store_lease_extend(st, t3, 10000), 0);
    CHECK_INT(store_lease_acquire(st, "b", 10000, &t4), 1);
    CHECK(t4 > t3);
    CHECK_INT(store_lease_extend(st, t3, 10000), 0);
    CHECK_INT(store_lease_extend(st, t4, 10000), 1);
}

static void test_fenced_writes(void) {
    int64_t old = 0, cur = 0;
    const char *names[] = {"loss"};
    double vals[] = {0.5};
    const char *keys[] = {"sweeps.events:0"};
    int64_t offs[] = {42};
    struct mev m;
    char *run = NULL, *params = NULL;
    int attempt = 0;

    freeReplyObject(rcmd("FLUSHALL"));
    CHECK_INT(store_lease_acquire(st, "old", 200, &old), 1);
    mk_sweep("fs", 0, 4);
    CHECK_INT(mk_run(old, "fs", "r1", 0, NULL), STORE_OK);
    CHECK_INT(apply_life(old, "fs", "r1", 1, LC_STARTED, 5000), STORE_OK);
    CHECK_INT(mk_run(old, "fs", "r2", 1, NULL), STORE_OK);
    CHECK_INT(apply_life(old, "fs", "r2", 1, LC_PREEMPTED, 5000), STORE_OK);
    sleep_ms(300);
    CHECK_INT(store_lease_acquire(st, "new", 30000, &cur), 1);
    CHECK(cur > old);

    /* Every write with the old token: fenced, and nothing changes. */
    CHECK_INT(mk_run(old, "fs", "r3", 2, NULL), STORE_FENCED);
    CHECK_INT(rint_("EXISTS sw:r:fs:r3"), 0);
    CHECK_INT(hnum("sw:s:fs", "runs_created"), 2);
    CHECK_INT(rint_("GETBIT sw:s:fs:grid 2"), 0);
    CHECK_INT(apply_life(old, "fs", "r1", 1, LC_FINISHED, 6000), STORE_FENCED);
    CHECK_HSTR("sw:r:fs:r1", "state", "running");
    CHECK_INT(rint_("HEXISTS sw:r:fs:r1 ended_at"), 0);
    mev_init(&m, "fs", "r1", 1, 1, 0, 6000, 1, names, vals);
    CHECK_INT(apply1(old, &m, NULL), STORE_FENCED);
    CHECK_INT(rint_("LLEN sw:r:fs:r1:hist"), 0);
    CHECK_INT(hnum("sw:r:fs:r1", "steps"), 0);
    CHECK_INT(store_offsets_save(st, old, keys, offs, 1), STORE_FENCED);
    CHECK_INT(rint_("EXISTS sw:offsets"), 0);
    CHECK_INT(store_run_crash(st, old, "fs", "r1", 1, "x", 7000), STORE_FENCED);
    CHECK_HSTR("sw:r:fs:r1", "state", "running");
    CHECK_INT(store_run_reassign(st, old, "fs", "w2", 7000, 1, &run, &params, &attempt),
              STORE_FENCED);
    CHECK_INT(rint_("LLEN sw:s:fs:queue"), 1);
    CHECK_INT(store_sweep_finish(st, old, "fs", "grid exhausted", 7000), STORE_FENCED);
    CHECK_HSTR("sw:s:fs", "state", "running");

    /* The new leader's token works. */
    CHECK_INT(apply_life(cur, "fs", "r1", 1, LC_FINISHED, 6000), STORE_OK);
    CHECK_HSTR("sw:r:fs:r1", "state", "finished");
    CHECK_INT(apply1(cur, &m, NULL), STORE_OK);
    CHECK_INT(store_offsets_save(st, cur, keys, offs, 1), STORE_OK);
}

/* ---- sweeps ------------------------------------------------------------ */

static void test_sweep_create_control(void) {
    struct store_sweep_new n = {.id = "sc", .name = "first",
                                .config_json = "{\"method\": \"random\", \"run_cap\": 3}",
                                .method = "random", .run_cap = 3, .now_ms = 1234};
    const char *state = NULL;
    json_t *o;

    freeReplyObject(rcmd("FLUSHALL"));
    CHECK_INT(store_sweep_create(st, &n), 0);
    n.name = "second";
    CHECK_INT(store_sweep_create(st, &n), SWEEP_EINVAL);
    CHECK_HAS(store_errstr(st), "exists");
    CHECK_HSTR("sw:s:sc", "name", "first"); /* the first one kept */

    o = store_sweep_get(st, "sc");
    CHECK(o != NULL);
    if (o) {
        CHECK_STR(json_string_value(json_object_get(o, "state")), "running");
        CHECK_STR(json_string_value(json_object_get(o, "method")), "random");
        CHECK_INT(json_integer_value(json_object_get(o, "run_cap")), 3);
        CHECK_INT(json_integer_value(json_object_get(o, "created_at")), 1234);
        CHECK_INT(json_integer_value(json_object_get(o, "runs_created")), 0);
        CHECK_INT(json_integer_value(json_object_get(json_object_get(o, "config"),
                                                     "run_cap")), 3);
        CHECK(json_is_object(json_object_get(o, "runs")));
    }
    json_decref(o);
    CHECK(store_sweep_get(st, "nope") == NULL);

#define CONTROL(a, rc_want, state_want)                                  \
    do {                                                                 \
        state = NULL;                                                    \
        CHECK_INT(store_sweep_control(st, "sc", a, 2000, &state), rc_want); \
        if (state_want)                                                  \
            CHECK_STR(state, state_want);                                \
    } while (0)

    CONTROL(CTL_PAUSE, 0, "paused");
    CHECK_HSTR("sw:s:sc", "state", "paused");
    CONTROL(CTL_PAUSE, SWEEP_EINVAL, NULL);
    CHECK_HAS(store_errstr(st), "pause");
    CHECK_HAS(store_errstr(st), "sweep is paused");
    CONTROL(CTL_RESUME, 0, "running");
    CONTROL(CTL_RESUME, SWEEP_EINVAL, NULL);
    CHECK_HAS(store_errstr(st), "sweep is running");
    CONTROL(CTL_STOP, 0, "finished");
    CHECK_HSTR("sw:s:sc", "finish_reason", "stopped");
    CONTROL(CTL_PAUSE, SWEEP_EINVAL, NULL);
    CHECK_HAS(store_errstr(st), "sweep is finished");
    CONTROL(CTL_RESUME, SWEEP_EINVAL, NULL);
    CONTROL(CTL_STOP, SWEEP_EINVAL, NULL);
    CONTROL(CTL_CANCEL, 0, "canceled");
    CHECK_HSTR("sw:s:sc", "finish_reason", "canceled");
    CONTROL(CTL_CANCEL, SWEEP_EINVAL, NULL);
    CHECK_HAS(store_errstr(st), "sweep is canceled");
    CONTROL(CTL_RESUME, SWEEP_EINVAL, NULL);
    /* stop from paused, cancel from running */
    n.id = "sc2";
    CHECK_INT(store_sweep_create(st, &n), 0);
    state = NULL;
    CHECK_INT(store_sweep_control(st, "sc2", CTL_PAUSE, 1, &state), 0);
    CHECK_INT(store_sweep_control(st, "sc2", CTL_STOP, 1, &state), 0);
    CHECK_STR(state, "finished");
    n.id = "sc3";
    CHECK_INT(store_sweep_create(st, &n), 0);
    CHECK_INT(store_sweep_control(st, "sc3", CTL_CANCEL, 1, &state), 0);
    CHECK_STR(state, "canceled");
    CHECK_INT(store_sweep_control(st, "missing", CTL_PAUSE, 1, &state), SWEEP_ENOENT);
    CHECK_HAS(store_errstr(st), "missing");
#undef CONTROL

    /* Listing: oldest first. */
    {
        json_t *ids = store_sweep_ids(st);
        CHECK_INT(json_array_size(ids), 3);
        json_decref(ids);
    }
}

/* ---- runs -------------------------------------------------------------- */

static void test_run_cap(void) {
    int64_t tok = lead();
    char run[16];
    json_t *o;

    mk_sweep("cap", 5, 0);
    for (int i = 0; i < 5; i++) {
        snprintf(run, sizeof(run), "r%d", i);
        CHECK_INT(mk_run(tok, "cap", run, -1, NULL), STORE_OK);
    }
    /* The cap is reached with the 5th: the sweep finishes in that step. */
    CHECK_HSTR("sw:s:cap", "state", "finished");
    CHECK_HSTR("sw:s:cap", "finish_reason", "run_cap reached");
    /* The 6th is refused as capped (so the controller knows at once that
     * the sweep has no more runs), and creates nothing. */
    CHECK_INT(mk_run(tok, "cap", "r5", -1, NULL), STORE_CAPPED);
    CHECK_INT(rint_("EXISTS sw:r:cap:r5"), 0);
    CHECK_INT(hnum("sw:s:cap", "runs_created"), 5);
    CHECK_INT(rint_("ZCARD sw:s:cap:runs"), 5);
    CHECK_INT(rint_("SCARD sw:s:cap:live"), 5);
    CHECK_HSTR("sw:s:cap", "finish_reason", "run_cap reached");
    o = store_sweep_get(st, "cap");
    CHECK_INT(json_integer_value(json_object_get(json_object_get(o, "runs"), "pending")), 5);
    json_decref(o);
}

static void test_run_grid_and_state(void) {
    int64_t tok = lead();
    const char *state;
    unsigned char *bits = NULL;
    size_t nb = 0;

    mk_sweep("g", 0, 4);
    CHECK_INT(mk_run(tok, "g", "a", 2, "{\"x\": 1}"), STORE_OK);
    CHECK_INT(mk_run(tok, "g", "b", 2, "{\"x\": 1}"), STORE_TAKEN);
    CHECK_INT(rint_("EXISTS sw:r:g:b"), 0);
    CHECK_INT(hnum("sw:s:g", "runs_created"), 1);
    CHECK_INT(mk_run(tok, "g", "c", 0, "{\"x\": 0}"), STORE_OK);
    CHECK_INT(store_grid_taken(st, "g", &bits, &nb), 0);
    CHECK_INT(nb, 1);
    if (bits && nb)
        CHECK_INT(bits[0], 0x80 | 0x20); /* bits 0 and 2 */
    free(bits);
    /* The run as stored. */
    CHECK_HSTR("sw:r:g:a", "state", "pending");
    CHECK_HSTR("sw:r:g:a", "attempt", "1");
    CHECK_HSTR("sw:r:g:a", "worker", "w1");
    CHECK_HSTR("sw:r:g:a", "grid_index", "2");
    CHECK_HSTR("sw:r:g:a", "params", "{\"x\": 1}");
    CHECK_INT(rint_("SISMEMBER sw:s:g:live a"), 1);

    /* Not running: paused, finished, canceled. */
    CHECK_INT(store_sweep_control(st, "g", CTL_PAUSE, 1, &state), 0);
    CHECK_INT(mk_run(tok, "g", "d", 1, NULL), STORE_NOT_RUNNING);
    CHECK_INT(rint_("GETBIT sw:s:g:grid 1"), 0); /* the point stays free */
    CHECK_INT(store_sweep_control(st, "g", CTL_RESUME, 1, &state), 0);
    CHECK_INT(mk_run(tok, "g", "d", 1, NULL), STORE_OK);
    CHECK_INT(store_sweep_finish(st, tok, "g", "grid exhausted", 9), STORE_OK);
    CHECK_HSTR("sw:s:g", "finish_reason", "grid exhausted");
    CHECK_INT(mk_run(tok, "g", "e", 3, NULL), STORE_NOT_RUNNING);
    CHECK_INT(mk_run(tok, "nosuch", "e", 3, NULL), STORE_NOT_RUNNING);
    CHECK_INT(hnum("sw:s:g", "runs_created"), 3);
}

/* Child of test_run_race: races for grid points with its own connection;
 * exits with the number of runs it created (100+ on error). */
static void race_child(const char *url, int id, int start_fd, int64_t tok) {
    char err[256], run[32], b;
    struct store *s = store_connect(url, 5000, err, sizeof(err));
    int made = 0;

    if (!s)
        _exit(100);
    if (read(start_fd, &b, 1) < 0) /* EOF: go */
        _exit(101);
    for (int k = 0; k < 20; k++) {
        int gi = (k + id * 7) % 20; /* each child starts elsewhere */
        struct store_run_new n = {.sweep_id = "race", .run_id = run,
                                  .params_json = "{}", .grid_index = gi,
                                  .worker_id = "w", .now_ms = 1};
        int rc;
        snprintf(run, sizeof(run), "c%dg%d", id, gi);
        rc = store_run_create(s, tok, &n);
        if (rc == STORE_OK)
            made++;
        else if (rc < 0 || (rc != STORE_TAKEN && rc != STORE_CAPPED &&
                            rc != STORE_NOT_RUNNING))
            _exit(102);
    }
    store_free(s);
    _exit(made);
}

static void test_run_race(void) {
    int64_t tok = lead();
    char url[64];
    pid_t kids[8];
    int go[2], total = 0, seen[20] = {0};
    json_t *runs, *r;
    size_t i;

    mk_sweep("race", 15, 20);
    snprintf(url, sizeof(url), "redis://127.0.0.1:%d", srv.port);
    CHECK_INT(pipe(go), 0);
    fflush(NULL);
    for (int k = 0; k < 8; k++) {
        kids[k] = fork();
        if (kids[k] == 0) {
            close(go[1]);
            race_child(url, k, go[0], tok);
        }
    }
    close(go[0]);
    sleep_ms(100); /* let them connect */
    close(go[1]);
    for (int k = 0; k < 8; k++) {
        int status = 0;
        if (kids[k] <= 0 || waitpid(kids[k], &status, 0) != kids[k]) {
            CHECK(!"child reaped");
            continue;
        }
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) <= 20);
        if (WIFEXITED(status) && WEXITSTATUS(status) <= 20)
            total += WEXITSTATUS(status);
    }
    CHECK_INT(total, 15);
    runs = store_runs(st, "race", 0);
    CHECK_INT(json_array_size(runs), 15);
    json_array_foreach(runs, i, r) {
        json_int_t gi = json_integer_value(json_object_get(r, "grid_index"));
        CHECK(gi >= 0 && gi < 20);
        if (gi >= 0 && gi < 20) {
            CHECK_INT(seen[gi], 0); /* no grid point twice */
            seen[gi]++;
        }
    }
    json_decref(runs);
    CHECK_INT(hnum("sw:s:race", "runs_created"), 15);
    CHECK_INT(rint_("BITCOUNT sw:s:race:grid"), 15);
    CHECK_HSTR("sw:s:race", "state", "finished");
}

/* ---- lifecycle ------------------------------------------------------- */

/* The counts of store_sweep_get agree with the states of store_runs. */
static void check_counts(const char *sweep) {
    json_t *o = store_sweep_get(st, sweep), *runs = store_runs(st, sweep, 0), *r;
    json_t *want = json_object(), *have = json_object_get(o, "runs"), *v;
    const char *k;
    size_t i;

    json_array_foreach(runs, i, r) {
        const char *s = json_string_value(json_object_get(r, "state"));
        json_int_t n = json_integer_value(json_object_get(want, s ? s : "?"));
        json_object_set_new(want, s ? s : "?", json_integer(n + 1));
    }
    json_object_foreach(want, k, v)
        CHECK_INT(json_integer_value(json_object_get(have, k)), json_integer_value(v));
    json_object_foreach(have, k, v)
        CHECK_INT(json_integer_value(v), json_integer_value(json_object_get(want, k)));
    json_decref(want);
    json_decref(runs);
    json_decref(o);
}

static void test_lifecycle(void) {
    int64_t tok = lead();
    char *run = NULL, *params = NULL;
    int attempt = 0;
    const char *state;
    struct msg_run_lifecycle e;
    json_t *o;

    mk_sweep("lc", 0, 0);
    /* started -> running; a second started is harmless. */
    CHECK_INT(mk_run(tok, "lc", "r1", -1, NULL), STORE_OK);
    CHECK_INT(apply_life(tok, "lc", "r1", 1, LC_STARTED, 1000), STORE_OK);
    CHECK_HSTR("sw:r:lc:r1", "state", "running");
    CHECK_HSTR("sw:r:lc:r1", "started_at", "1000");
    CHECK_INT(apply_life(tok, "lc", "r1", 1, LC_STARTED, 2000), STORE_OK);
    CHECK_HSTR("sw:r:lc:r1", "state", "running");
    CHECK_HSTR("sw:r:lc:r1", "started_at", "1000");
    CHECK_INT(hnum("sw:s:lc", "n:running"), 1);
    CHECK_INT(hnum("sw:s:lc", "n:pending"), 0);
    CHECK_INT(apply_life(tok, "lc", "r1", 1, LC_HEARTBEAT, 3000), STORE_OK);
    CHECK_HSTR("sw:r:lc:r1", "heartbeat_at", "3000");
    /* finished: terminal, not live. */
    CHECK_INT(apply_life(tok, "lc", "r1", 1, LC_FINISHED, 4000), STORE_OK);
    CHECK_HSTR("sw:r:lc:r1", "state", "finished");
    CHECK_HSTR("sw:r:lc:r1", "ended_at", "4000");
    CHECK_HSTR("sw:r:lc:r1", "exit_code", "0");
    CHECK_INT(rint_("SISMEMBER sw:s:lc:live r1"), 0);
    /* Anything after the end: ignored, nothing changes. */
    CHECK_INT(apply_life(tok, "lc", "r1", 1, LC_HEARTBEAT, 5000), STORE_IGNORED);
    CHECK_INT(apply_life(tok, "lc", "r1", 1, LC_FAILED, 5000), STORE_IGNORED);
    CHECK_HSTR("sw:r:lc:r1", "state", "finished");
    CHECK_HSTR("sw:r:lc:r1", "heartbeat_at", "3000");
    CHECK_HSTR("sw:r:lc:r1", "ended_at", "4000");
    CHECK_INT(apply_life(tok, "lc", "nosuch", 1, LC_STARTED, 5000), STORE_IGNORED);
    CHECK_INT(rint_("EXISTS sw:r:lc:nosuch"), 0);

    /* preempted: requeued at once; reassigned with attempt 2. */
    CHECK_INT(mk_run(tok, "lc", "r2", -1, "{\"lr\": 0.2, \"opt\": {\"name\": \"adam\"}}"),
              STORE_OK);
    CHECK_INT(apply_life(tok, "lc", "r2", 1, LC_STARTED, 1000), STORE_OK);
    e = life("lc", "r2", 1, LC_PREEMPTED, 1500);
    e.reason = "worker preempted (SIGTERM)";
    e.signal = 15;
    CHECK_INT(store_apply_life(st, tok, &e), STORE_OK);
    CHECK_HSTR("sw:r:lc:r2", "state", "preempted");
    CHECK_INT(rint_("LLEN sw:s:lc:queue"), 1);
    CHECK_INT(rint_("SISMEMBER sw:s:lc:live r2"), 1);
    CHECK_INT(store_worker_wseq(st, "w2"), 0); /* none yet */
    CHECK_INT(store_run_reassign(st, tok, "lc", "w2", 1600, 1, &run, &params, &attempt),
              STORE_OK);
    CHECK_STR(run, "r2");
    CHECK_INT(attempt, 2);
    /* The assigning scripts keep the worker's count for the next leader. */
    CHECK_INT(store_worker_wseq(st, "w2"), 1);
    CHECK(rint_("PTTL sw:w:w2:wseq") > 6LL * 24 * 3600 * 1000);
    {
        struct store_run_new n = {.sweep_id = "wq", .run_id = "r9",
                                  .params_json = "{\"lr\": 0.9}", .grid_index = -1,
                                  .worker_id = "w9", .now_ms = 1700, .wseq = 7};
        mk_sweep("wq", 0, 0);
        CHECK_INT(store_run_create(st, tok, &n), STORE_OK);
        CHECK_INT(store_worker_wseq(st, "w9"), 7);
        CHECK_HSTR("sw:r:wq:r9", "wseq", "7");
    }
    {
        json_t *p = params ? json_loads(params, 0, NULL) : NULL;
        json_t *want = json_loads("{\"lr\": 0.2, \"opt\": {\"name\": \"adam\"}}", 0, NULL);
        CHECK(p && json_equal(p, want));
        json_decref(p);
        json_decref(want);
    }
    free(run);
    free(params);
    run = params = NULL;
    CHECK_HSTR("sw:r:lc:r2", "state", "pending");
    CHECK_HSTR("sw:r:lc:r2", "attempt", "2");
    CHECK_HSTR("sw:r:lc:r2", "worker", "w2");
    CHECK_INT(rint_("HEXISTS sw:r:lc:r2 started_at"), 0);
    CHECK_INT(rint_("HEXISTS sw:r:lc:r2 ended_at"), 0);
    CHECK_INT(rint_("HEXISTS sw:r:lc:r2 signal"), 0);
    /* The old attempt's reason belongs to the old attempt (else a run
     * that later finishes shows "worker preempted"). */
    CHECK_INT(rint_("HEXISTS sw:r:lc:r2 reason"), 0);
    CHECK_INT(rint_("LLEN sw:s:lc:queue"), 0);
    /* Late messages of attempt 1: ignored, nothing changes. */
    CHECK_INT(apply_life(tok, "lc", "r2", 1, LC_HEARTBEAT, 1700), STORE_IGNORED);
    CHECK_INT(apply_life(tok, "lc", "r2", 1, LC_FINISHED, 1700), STORE_IGNORED);
    CHECK_HSTR("sw:r:lc:r2", "state", "pending");
    CHECK_INT(rint_("HEXISTS sw:r:lc:r2 heartbeat_at"), 0);
    CHECK_INT(rint_("HEXISTS sw:r:lc:r2 ended_at"), 0);
    CHECK_INT(hnum("sw:s:lc", "n:pending"), 1);

    /* Another worker's events for the attempt: ignored (a forged or
     * misdirected event changes nothing). */
    e = life("lc", "r2", 2, LC_STARTED, 1750);
    e.r.worker_id = "intruder";
    CHECK_INT(store_apply_life(st, tok, &e), STORE_IGNORED);
    e.event = LC_FINISHED;
    CHECK_INT(store_apply_life(st, tok, &e), STORE_IGNORED);
    CHECK_HSTR("sw:r:lc:r2", "state", "pending");
    CHECK_HSTR("sw:r:lc:r2", "worker", "w2");
    /* crash: crashed and requeued, once. */
    CHECK_INT(apply_life(tok, "lc", "r2", 2, LC_STARTED, 1800), STORE_OK);
    CHECK_INT(store_run_crash(st, tok, "lc", "r2", 1, "old", 1900), STORE_IGNORED);
    CHECK_INT(store_run_crash(st, tok, "lc", "r2", 2, "worker stopped heartbeating", 1900),
              STORE_OK);
    CHECK_HSTR("sw:r:lc:r2", "state", "crashed");
    CHECK_HSTR("sw:r:lc:r2", "reason", "worker stopped heartbeating");
    CHECK_INT(rint_("LLEN sw:s:lc:queue"), 1);
    CHECK_INT(store_run_crash(st, tok, "lc", "r2", 2, "again", 1950), STORE_IGNORED);
    CHECK_INT(rint_("LLEN sw:s:lc:queue"), 1);
    CHECK_INT(store_run_reassign(st, tok, "lc", "w1", 2000, 1, &run, &params, &attempt),
              STORE_OK);
    CHECK_STR(run, "r2");
    CHECK_INT(attempt, 3);
    free(run);
    free(params);
    run = params = NULL;
    CHECK_INT(store_run_reassign(st, tok, "lc", "w1", 2000, 1, &run, &params, &attempt),
              STORE_EMPTY);
    CHECK(run == NULL);

    /* failed and killed keep their exit code, signal and reason. */
    CHECK_INT(apply_life(tok, "lc", "r2", 3, LC_STARTED, 2100), STORE_OK);
    e = life("lc", "r2", 3, LC_FAILED, 2200);
    e.reason = "exit code 3";
    CHECK_INT(store_apply_life(st, tok, &e), STORE_OK);
    CHECK_HSTR("sw:r:lc:r2", "state", "failed");
    CHECK_HSTR("sw:r:lc:r2", "exit_code", "3");
    CHECK_HSTR("sw:r:lc:r2", "reason", "exit code 3");
    CHECK_INT(mk_run(tok, "lc", "r3", -1, NULL), STORE_OK);
    e = life("lc", "r3", 1, LC_KILLED, 2300);
    e.signal = 9;
    e.reason = "stopped by hyperband";
    CHECK_INT(store_apply_life(st, tok, &e), STORE_OK);
    CHECK_HSTR("sw:r:lc:r3", "state", "killed");
    CHECK_HSTR("sw:r:lc:r3", "signal", "9");
    CHECK_INT(rint_("SISMEMBER sw:s:lc:live r3"), 0);

    /* Reassigning needs a running (or finished) sweep. */
    CHECK_INT(mk_run(tok, "lc", "r4", -1, NULL), STORE_OK);
    CHECK_INT(apply_life(tok, "lc", "r4", 1, LC_PREEMPTED, 2400), STORE_OK);
    CHECK_INT(store_sweep_control(st, "lc", CTL_PAUSE, 2500, &state), 0);
    CHECK_INT(store_run_reassign(st, tok, "lc", "w1", 2600, 1, &run, &params, &attempt),
              STORE_NOT_RUNNING);
    CHECK_INT(rint_("LLEN sw:s:lc:queue"), 1);
    CHECK_HSTR("sw:r:lc:r4", "attempt", "1");

    /* Live runs: what a new leader loads. */
    o = store_live_runs(st, "lc");
    CHECK_INT(json_array_size(o), 1); /* r4, requeued */
    json_decref(o);
    /* Counts by state agree with the runs. */
    o = store_sweep_get(st, "lc");
    CHECK_INT(json_integer_value(json_object_get(json_object_get(o, "runs"), "finished")), 1);
    CHECK_INT(json_integer_value(json_object_get(json_object_get(o, "runs"), "failed")), 1);
    CHECK_INT(json_integer_value(json_object_get(json_object_get(o, "runs"), "killed")), 1);
    CHECK_INT(json_integer_value(json_object_get(json_object_get(o, "runs"), "preempted")), 1);
    CHECK_INT(json_integer_value(json_object_get(json_object_get(o, "runs"), "running")), 0);
    CHECK_INT(json_integer_value(json_object_get(o, "runs_created")), 4);
    json_decref(o);
    check_counts("lc");
}

/* ---- metrics ---------------------------------------------------------- */

static void test_metrics(void) {
    int64_t tok = lead();
    const char *names[] = {"loss", "acc"};
    double v1[] = {0.5, 0.1}, v2[] = {0.4, 0.2}, v3[] = {0.3, 0.3};
    struct mev m[3];
    const struct msg_metric_event *ev[3];
    int res[3] = {-1, -1, -1};
    json_t *h;
    char *sum;

    mk_sweep("m", 0, 0);
    CHECK_INT(mk_run(tok, "m", "r1", -1, NULL), STORE_OK);
    mev_init(&m[0], "m", "r1", 1, 1, 0, 1001, 2, names, v1);
    mev_init(&m[1], "m", "r1", 1, 2, 1, 1002, 2, names, v2);
    mev_init(&m[2], "m", "r1", 1, 3, -1, 1003, 2, names, v3); /* no _step */
    for (int i = 0; i < 3; i++)
        ev[i] = &m[i].e;
    CHECK_INT(store_apply_metrics(st, tok, ev, NULL, 3, res, NULL), 0);
    CHECK_INT(res[0], STORE_OK);
    CHECK_INT(res[1], STORE_OK);
    CHECK_INT(res[2], STORE_OK);
    h = history("m", "r1");
    CHECK_INT(json_array_size(h), 3);
    for (size_t i = 0; i < json_array_size(h) && i < 3; i++) {
        json_t *e = json_array_get(h, i);
        CHECK_INT(json_integer_value(json_object_get(e, "_timestamp")), 1001 + (int)i);
        CHECK_DBL(json_number_value(json_object_get(e, "loss")), 0.5 - 0.1 * (double)i, 1e-12);
        CHECK_DBL(json_number_value(json_object_get(e, "acc")), 0.1 * (double)(i + 1), 1e-12);
    }
    CHECK_INT(json_integer_value(json_object_get(json_array_get(h, 1), "_step")), 1);
    CHECK(json_object_get(json_array_get(h, 2), "_step") == NULL);
    json_decref(h);
    sum = rstr("HGET sw:r:m:r1:sum loss");
    CHECK(sum && fabs(strtod(sum, NULL) - 0.3) < 1e-12);
    free(sum);
    CHECK_INT(hnum("sw:r:m:r1", "steps"), 3);
    CHECK_INT(hnum("sw:r:m:r1", "last_seq"), 3);

    /* Redelivered: ignored, history unchanged. */
    CHECK_INT(apply1(tok, &m[1], NULL), STORE_IGNORED);
    CHECK_INT(rint_("LLEN sw:r:m:r1:hist"), 3);
    CHECK_INT(hnum("sw:r:m:r1", "steps"), 3);
    /* In one batch: the first copy applies, the second is ignored. */
    {
        double v[] = {0.25, 0.35};
        mev_init(&m[0], "m", "r1", 1, 4, 3, 1004, 2, names, v);
        mev_init(&m[1], "m", "r1", 1, 4, 3, 1004, 2, names, v);
        ev[0] = &m[0].e;
        ev[1] = &m[1].e;
        CHECK_INT(store_apply_metrics(st, tok, ev, NULL, 2, res, NULL), 0);
        CHECK_INT(res[0], STORE_OK);
        CHECK_INT(res[1], STORE_IGNORED);
        CHECK_INT(rint_("LLEN sw:r:m:r1:hist"), 4);
    }
    /* Wrong attempt: ignored. */
    mev_init(&m[0], "m", "r1", 2, 9, 9, 1009, 2, names, v1);
    CHECK_INT(apply1(tok, &m[0], NULL), STORE_IGNORED);
    mev_init(&m[0], "m", "nosuch", 1, 9, 9, 1009, 2, names, v1);
    CHECK_INT(apply1(tok, &m[0], NULL), STORE_IGNORED);
    CHECK_INT(rint_("EXISTS sw:r:m:nosuch:hist"), 0);
    CHECK_INT(rint_("LLEN sw:r:m:r1:hist"), 4);

    /* Non-finite: null in the history, the summary keeps the last finite. */
    {
        double v[] = {NAN, INFINITY};
        mev_init(&m[0], "m", "r1", 1, 5, 4, 1005, 2, names, v);
        CHECK_INT(apply1(tok, &m[0], NULL), STORE_OK);
        h = history("m", "r1");
        CHECK_INT(json_array_size(h), 5);
        CHECK(json_is_null(json_object_get(json_array_get(h, 4), "loss")));
        CHECK(json_is_null(json_object_get(json_array_get(h, 4), "acc")));
        json_decref(h);
        sum = rstr("HGET sw:r:m:r1:sum loss");
        CHECK(sum && fabs(strtod(sum, NULL) - 0.25) < 1e-12);
        free(sum);
        sum = rstr("HGET sw:r:m:r1:sum acc");
        CHECK(sum && fabs(strtod(sum, NULL) - 0.35) < 1e-12);
        free(sum);
    }
    /* An old attempt after a requeue: ignored; the new one applies. */
    {
        char *run = NULL, *params = NULL;
        int att = 0;
        CHECK_INT(mk_run(tok, "m", "r2", -1, NULL), STORE_OK);
        CHECK_INT(apply_life(tok, "m", "r2", 1, LC_PREEMPTED, 2000), STORE_OK);
        CHECK_INT(store_run_reassign(st, tok, "m", "w2", 2001, 1, &run, &params, &att),
                  STORE_OK);
        CHECK_INT(att, 2);
        free(run);
        free(params);
        mev_init(&m[0], "m", "r2", 1, 7, 7, 2002, 2, names, v1);
        CHECK_INT(apply1(tok, &m[0], NULL), STORE_IGNORED);
        CHECK_INT(rint_("LLEN sw:r:m:r2:hist"), 0);
        mev_init(&m[0], "m", "r2", 2, 1, 0, 2003, 2, names, v1);
        m[0].e.r.worker_id = "w1"; /* not the attempt's worker: ignored */
        CHECK_INT(apply1(tok, &m[0], NULL), STORE_IGNORED);
        CHECK_INT(rint_("LLEN sw:r:m:r2:hist"), 0);
        mev_init(&m[0], "m", "r2", 2, 1, 0, 2003, 2, names, v1);
        CHECK_INT(apply1(tok, &m[0], NULL), STORE_OK);
        CHECK_INT(rint_("LLEN sw:r:m:r2:hist"), 1);
    }
    /* store_runs shows it all. */
    {
        json_t *runs = store_runs(st, "m", 1), *r1 = json_array_get(runs, 0);
        CHECK_INT(json_array_size(runs), 2);
        CHECK_STR(json_string_value(json_object_get(r1, "id")), "r1");
        CHECK_INT(json_integer_value(json_object_get(r1, "steps")), 5);
        CHECK_INT(json_array_size(json_object_get(r1, "history")), 5);
        CHECK_DBL(json_number_value(json_object_get(json_object_get(r1, "summary"), "loss")),
                  0.25, 1e-12);
        CHECK(json_object_get(r1, "last_seq") == NULL);
        json_decref(runs);
    }
}

/* Metric events count from 1 per attempt: a jump in seq is a loss,
 * counted; the end event's last_metric_seq also counts the last ones;
 * a requeue starts the count over. */
static void test_metrics_lost(void) {
    int64_t tok = lead();
    const char *names[] = {"loss"};
    double v[] = {0.5};
    struct mev m[4];
    const struct msg_metric_event *ev[4];
    int res[4] = {-1, -1, -1, -1};
    int64_t lost[4] = {-1, -1, -1, -1};
    static const int64_t seqs[4] = {2, 3, 6, 5}; /* 1, 4 and 5 lost; 5 late */
    struct msg_run_lifecycle e;
    json_t *runs, *r;
    char *run = NULL, *params = NULL;
    int att = 0;

    mk_sweep("ml", 0, 0);
    CHECK_INT(mk_run(tok, "ml", "r1", -1, NULL), STORE_OK);
    for (int i = 0; i < 4; i++) {
        mev_init(&m[i], "ml", "r1", 1, seqs[i], -1, 3000 + i, 1, names, v);
        ev[i] = &m[i].e;
    }
    CHECK_INT(store_apply_metrics(st, tok, ev, NULL, 4, res, lost), 0);
    CHECK_INT(res[0], STORE_OK);
    CHECK_INT(lost[0], 1);
    CHECK_INT(res[1], STORE_OK);
    CHECK_INT(lost[1], 0);
    CHECK_INT(res[2], STORE_OK);
    CHECK_INT(lost[2], 2);
    CHECK_INT(res[3], STORE_IGNORED); /* behind seq 6: too late */
    CHECK_INT(hnum("sw:r:ml:r1", "metrics_lost"), 3);
    runs = store_runs(st, "ml", 0);
    r = json_array_get(runs, 0);
    CHECK_INT(json_integer_value(json_object_get(r, "steps")), 3);
    CHECK_INT(json_integer_value(json_object_get(r, "metrics_lost")), 3);
    CHECK(json_object_get(r, "metrics_sent") == NULL); /* still running */
    json_decref(runs);
    /* The worker sent 8: 7 and 8 never came. */
    e = life("ml", "r1", 1, LC_FINISHED, 3100);
    e.last_metric_seq = 8;
    CHECK_INT(store_apply_life(st, tok, &e), STORE_OK);
    runs = store_runs(st, "ml", 0);
    r = json_array_get(runs, 0);
    CHECK_INT(json_integer_value(json_object_get(r, "metrics_sent")), 8);
    CHECK_INT(json_integer_value(json_object_get(r, "metrics_lost")), 5);
    json_decref(runs);
    /* Nothing lost: 0, and no metrics_sent without metric events. */
    CHECK_INT(mk_run(tok, "ml", "r2", -1, NULL), STORE_OK);
    mev_init(&m[0], "ml", "r2", 1, 1, -1, 3200, 1, names, v);
    mev_init(&m[1], "ml", "r2", 1, 2, -1, 3201, 1, names, v);
    ev[0] = &m[0].e;
    ev[1] = &m[1].e;
    CHECK_INT(store_apply_metrics(st, tok, ev, NULL, 2, res, lost), 0);
    CHECK_INT(lost[0], 0);
    CHECK_INT(lost[1], 0);
    e = life("ml", "r2", 1, LC_FINISHED, 3300);
    e.last_metric_seq = 2;
    CHECK_INT(store_apply_life(st, tok, &e), STORE_OK);
    CHECK_INT(mk_run(tok, "ml", "r3", -1, NULL), STORE_OK);
    CHECK_INT(apply_life(tok, "ml", "r3", 1, LC_FINISHED, 3400), STORE_OK);
    runs = store_runs(st, "ml", 0);
    CHECK_INT(json_integer_value(json_object_get(json_array_get(runs, 1), "metrics_lost")), 0);
    CHECK_INT(json_integer_value(json_object_get(json_array_get(runs, 1), "metrics_sent")), 2);
    CHECK_INT(json_integer_value(json_object_get(json_array_get(runs, 2), "metrics_lost")), 0);
    CHECK(json_object_get(json_array_get(runs, 2), "metrics_sent") == NULL);
    json_decref(runs);
    /* A requeued run starts over: its new attempt's count alone. */
    CHECK_INT(mk_run(tok, "ml", "r4", -1, NULL), STORE_OK);
    mev_init(&m[0], "ml", "r4", 1, 4, -1, 3500, 1, names, v);
    CHECK_INT(apply1(tok, &m[0], NULL), STORE_OK);
    e = life("ml", "r4", 1, LC_PREEMPTED, 3600);
    e.last_metric_seq = 9;
    CHECK_INT(store_apply_life(st, tok, &e), STORE_OK);
    CHECK_INT(hnum("sw:r:ml:r4", "metrics_lost"), 3);
    CHECK_INT(store_run_reassign(st, tok, "ml", "w2", 3700, 1, &run, &params, &att),
              STORE_OK);
    CHECK_STR(run, "r4");
    CHECK_INT(att, 2);
    free(run);
    free(params);
    mev_init(&m[0], "ml", "r4", 2, 1, -1, 3800, 1, names, v);
    CHECK_INT(apply1(tok, &m[0], NULL), STORE_OK);
    runs = store_runs(st, "ml", 0);
    r = json_array_get(runs, 3);
    CHECK_INT(json_integer_value(json_object_get(r, "metrics_lost")), 0);
    CHECK(json_object_get(r, "metrics_sent") == NULL);
    json_decref(runs);
}

static void test_metric_target(void) {
    int64_t tok = lead();
    const char *names[] = {"loss", "acc"};
    struct store_target tmin = {"loss", 0, 1, 0.1}, tmax = {"acc", 1, 1, 0.9};
    struct store_target tnone = {"loss", 0, 0, 0};
    struct mev m;

    mk_sweep("tmin", 0, 0);
    mk_sweep("tmax", 0, 0);
    CHECK_INT(mk_run(tok, "tmin", "r", -1, NULL), STORE_OK);
    CHECK_INT(mk_run(tok, "tmax", "r", -1, NULL), STORE_OK);
    {
        double v[] = {0.2, 0.95}; /* acc is not tmin's metric */
        mev_init(&m, "tmin", "r", 1, 1, 0, 1, 2, names, v);
        CHECK_INT(apply1(tok, &m, &tmin), STORE_OK);
        CHECK_HSTR("sw:s:tmin", "state", "running");
        mev_init(&m, "tmin", "r", 1, 2, 1, 1, 2, names, v);
        CHECK_INT(apply1(tok, &m, &tnone), STORE_OK); /* no target */
        CHECK_HSTR("sw:s:tmin", "state", "running");
    }
    {
        double v[] = {0.05, 0.5};
        mev_init(&m, "tmin", "r", 1, 3, 2, 1, 2, names, v);
        CHECK_INT(apply1(tok, &m, &tmin), STORE_OK);
        CHECK_HSTR("sw:s:tmin", "state", "finished");
        CHECK_HSTR("sw:s:tmin", "finish_reason", "metric.target reached");
    }
    {
        double v[] = {0.01, 0.85};
        mev_init(&m, "tmax", "r", 1, 1, 0, 1, 2, names, v);
        CHECK_INT(apply1(tok, &m, &tmax), STORE_OK);
        CHECK_HSTR("sw:s:tmax", "state", "running");
    }
    {
        double v[] = {NAN, 0.9}; /* equal counts as reached */
        mev_init(&m, "tmax", "r", 1, 2, 1, 1, 2, names, v);
        CHECK_INT(apply1(tok, &m, &tmax), STORE_OK);
        CHECK_HSTR("sw:s:tmax", "state", "finished");
        CHECK_HSTR("sw:s:tmax", "finish_reason", "metric.target reached");
    }
}

/* ---- offsets -------------------------------------------------------- */

static void test_offsets(void) {
    int64_t tok = lead();
    char keys[40][32];
    const char *kp[40];
    int64_t offs[40];
    json_t *o;

    o = store_offsets_load(st);
    CHECK(o && json_object_size(o) == 0);
    json_decref(o);
    /* More than one script call's worth (store.c sends 28 per call). */
    for (int i = 0; i < 40; i++) {
        snprintf(keys[i], sizeof(keys[i]), "sweeps.metrics:%d", i);
        kp[i] = keys[i];
        offs[i] = 1000 + i;
    }
    CHECK_INT(store_offsets_save(st, tok, kp, offs, 40), STORE_OK);
    offs[3] = 7; /* overwritten */
    CHECK_INT(store_offsets_save(st, tok, kp + 3, offs + 3, 1), STORE_OK);
    o = store_offsets_load(st);
    CHECK_INT(json_object_size(o), 40);
    for (int i = 0; i < 40; i++) {
        const char *v = json_string_value(json_object_get(o, keys[i]));
        CHECK(v != NULL);
        if (v)
            CHECK_INT(strtoll(v, NULL, 10), i == 3 ? 7 : 1000 + i);
    }
    json_decref(o);
    CHECK_INT(store_offsets_save(st, tok, kp, offs, 0), STORE_OK);
}

/* ---- reconnection ---------------------------------------------------- */

static void test_noscript(void) {
    int64_t tok = lead();
    const char *names[] = {"loss"};
    double v[] = {1.0};
    struct mev m;

    mk_sweep("ns", 0, 0);
    /* The server forgets the scripts: EVALSHA answers NOSCRIPT, store.c
     * loads them again and repeats the call. */
    freeReplyObject(rcmd("SCRIPT FLUSH"));
    CHECK_INT(mk_run(tok, "ns", "r", -1, NULL), STORE_OK);
    freeReplyObject(rcmd("SCRIPT FLUSH"));
    mev_init(&m, "ns", "r", 1, 1, 0, 1, 1, names, v);
    CHECK_INT(apply1(tok, &m, NULL), STORE_OK);
    CHECK_INT(rint_("LLEN sw:r:ns:r:hist"), 1);
}

/* Kills the server and starts it again on the same port after delay_ms
 * (with what SAVE wrote, as a restarted server with persistence would). */
static void restart_later(int delay_ms) {
    server_kill(&srv);
    redisFree(raw);
    raw = NULL;
    srv.pid = spawn_redis(&srv, delay_ms, NULL);
}

static void test_reconnect(void) {
    int64_t tok = lead(), t0, took;
    const char *names[] = {"loss"};
    double v[] = {2.0};
    struct mev m;
    const char *state = NULL;

    mk_sweep("rc", 0, 0);
    CHECK_INT(mk_run(tok, "rc", "r", -1, NULL), STORE_OK);
    freeReplyObject(rcmd("SAVE"));

    /* A script call while the server is down. */
    restart_later(400);
    t0 = mono_ms();
    CHECK_INT(apply_life(tok, "rc", "r", 1, LC_STARTED, 10), STORE_OK);
    took = mono_ms() - t0;
    CHECK(took >= 300 && took < 5000);
    CHECK_INT(wait_ready(&srv, 5000), 0);
    CHECK_HSTR("sw:r:rc:r", "state", "running");

    /* The pipelined metric path. */
    freeReplyObject(rcmd("SAVE"));
    restart_later(400);
    mev_init(&m, "rc", "r", 1, 1, 0, 1, 1, names, v);
    CHECK_INT(apply1(tok, &m, NULL), STORE_OK);
    CHECK_INT(wait_ready(&srv, 5000), 0);
    CHECK_INT(rint_("LLEN sw:r:rc:r:hist"), 1);

    /* A plain command (not a script). */
    freeReplyObject(rcmd("SAVE"));
    restart_later(400);
    CHECK_INT(store_sweep_control(st, "rc", CTL_PAUSE, 20, &state), 0);
    CHECK_STR(state, "paused");
    {
        char *s = store_sweep_state(st, "rc");
        CHECK_STR(s, "paused");
        free(s);
    }
    CHECK_INT(wait_ready(&srv, 5000), 0);

    /* Down for longer than the budget: an error, not a hang. */
    {
        char url[64], err[256];
        struct store *s;
        int64_t lt = 0;
        snprintf(url, sizeof(url), "redis://127.0.0.1:%d", srv.port);
        s = store_connect(url, 300, err, sizeof(err));
        CHECK(s != NULL);
        if (s) {
            server_kill(&srv);
            redisFree(raw);
            raw = NULL;
            t0 = mono_ms();
            CHECK(store_lease_acquire(s, "x", 1000, &lt) < 0);
            took = mono_ms() - t0;
            CHECK(took < 2000);
            CHECK_HAS(store_errstr(s), "connect");
            store_free(s);
        }
        srv.pid = spawn_redis(&srv, 0, NULL);
        CHECK_INT(wait_ready(&srv, 5000), 0);
    }
}

int main(void) {
    char url[64], err[512];
    int64_t t0;

    log_init("test", LOG_ERROR);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGHUP, on_signal);
    owner_pid = getpid();
    snprintf(tmpdir, sizeof(tmpdir), "%s", "/tmp/test_store.XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    atexit(cleanup);
    if (access(REDIS_BIN, X_OK) != 0) {
        fprintf(stderr, "%s is not installed\n", REDIS_BIN);
        printf("0 passed, 1 failed\n");
        return 1;
    }
    if (server_start(&srv, NULL) < 0) {
        printf("0 passed, 1 failed\n");
        return 1;
    }
    snprintf(url, sizeof(url), "redis://127.0.0.1:%d", srv.port);
    st = store_connect(url, 5000, err, sizeof(err));
    if (!st) {
        fprintf(stderr, "store_connect %s: %s\n", url, err);
        printf("0 passed, 1 failed\n");
        return 1;
    }
    t0 = mono_ms();

    TEST_RUN(test_url_host_port_db);
    TEST_RUN(test_url_default_port);
    TEST_RUN(test_url_bad);
    TEST_RUN(test_url_auth);
    TEST_RUN(test_lease);
    TEST_RUN(test_fenced_writes);
    TEST_RUN(test_sweep_create_control);
    TEST_RUN(test_run_cap);
    TEST_RUN(test_run_grid_and_state);
    TEST_RUN(test_run_race);
    TEST_RUN(test_lifecycle);
    TEST_RUN(test_metrics);
    TEST_RUN(test_metrics_lost);
    TEST_RUN(test_metric_target);
    TEST_RUN(test_offsets);
    TEST_RUN(test_noscript);
    TEST_RUN(test_reconnect);

    if (mono_ms() - t0 > 10000)
        fprintf(stderr, "warning: took %lld ms\n", (long long)(mono_ms() - t0));
    store_free(st);
    redisFree(raw);
    return TEST_DONE();
}

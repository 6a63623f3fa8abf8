/*
 * fuzz_handlers.c - libFuzzer target for the message handlers of the
 * worker and the controller: schema-valid messages, each field chosen
 * from a dictionary of what the schema allows (null, empty, huge, odd
 * bytes, unknown ids, another sweep's ids, stale and future attempts,
 * every enum symbol, every kind on every topic, good and bad signatures),
 * go through worker_handle() and controller_handle() against a real
 * redis-server and the embedded Kafka broker, and after each one the
 * target checks what changed (Redis, the worker's counters and its run)
 * against what that message may change.
 *
 * An input is a small program:
 *
 *   byte 0      the fixture: bits 0-1 the worker (pool, bound to sweep A,
 *               bound to sweep B, pool "gpu"), bits 2-3 sweep A (running,
 *               paused, finished, running one run short of run_cap), bit
 *               4 sweep B paused, bit 5 run a1 assigned 10 s ago, bit
 *               6 no worker known to the controller
 *   then        up to MSGS_MAX messages, each a byte choosing what (see
 *               enum op: byte % 14, 0xff a deposed leader) and then one
 *               byte per field, every field a choice (byte % number of
 *               choices, 0 the plain valid one)
 *
 * Per input the fixture is rebuilt, so a finding replays alone: Redis is
 * flushed and three sweeps with runs in every state are written through
 * the store API under a lease of our own (fixture_write(); each variant
 * once, then restored from DUMPs), then the controller re-leads and loads
 * them, and learns two busy workers. The worker's runs can only be the
 * ok.sh in a temporary --allow-program directory: it exits 0 at once, or
 * with "hold" in its parameters waits to be stopped; each input ends with
 * the worker idle again (its run stopped and reaped). Run ids sent to the
 * worker carry the input's number (salted()): a worker remembers every
 * assignment it ever took.
 *
 * Invariants: the worker's in deliver_worker() against the expectations
 * worker_assignment(), worker_command() and worker_other() compute; the
 * controller's in check_controller() (every key, sweep and run of Redis
 * before and after each message) and in depose(). A broken one aborts
 * (FUZZ_CHECK) so libFuzzer keeps the input.
 *
 * Regressions (tests/fuzz/regressions/handlers, replayed with the corpus;
 * each fails without its fix, in every build):
 *   controller-run-id-names-hist-list  a run event for run "a5:hist" (its
 *       history list): the script failed with WRONGTYPE and the controller
 *       stepped down, and again on every re-read (store_lua.h)
 *   controller-run-id-names-sum-hash   a metric event naming "a5:sum"
 *       after one that wrote attempt/worker/last_seq there: keys made up
 *       for a run that does not exist (store_lua.h)
 *   controller-metric-5000-values      a metric event with 5000 values:
 *       unpack() failed half-way, summary and target check skipped
 *       (store_lua.h)
 *   controller-next-wseq-overflow      a status claiming INT64_MAX
 *       assignments: signed overflow in next_wseq() (controller.c)
 *
 * FUZZ_HANDLERS_LOG=LEVEL shows the library's log (default: formatted at
 * debug level, so that every message is formatted, but thrown away);
 * FUZZ_HANDLERS_TRACE=1 prints each message, the time of each phase and,
 * at exit, how often each rule of the oracle saw its case.
 * commands[CMD_ENV_PATH] is what found the last bug (allow.c: env's
 * NAME=VALUE words passed the --allow-program check, and "env PATH=DIR
 * sh ok.sh" ran DIR/sh); it is refused now.
 *
 * Linked with replay.c instead of libFuzzer it replays tests/fuzz/handlers
 * and tests/fuzz/regressions/handlers under the normal (or asan) build.
 * Fuzz with -detect_leaks=0 (FUZZ_FLAGS_handlers): libFuzzer's check
 * between inputs takes the buffers Avro-C keeps in the codec's values
 * for leaks; the asan replay checks leaks at exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <hiredis.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "port.h"
#include "broker.h"
#include "codec.h"
#include "config.h"
#include "controller.h"
#include "diag.h"
#include "fuzz.h"
#include "grid.h"
#include "kafka.h"
#include "log.h"
#include "msg.h"
#include "settings.h"
#include "sign.h"
#include "store.h"
#include "sweep.h"
#include "topics.h"
#include "worker.h"

const char *const fuzz_replay_paths[] = {"tests/fuzz/handlers",
                                         "tests/fuzz/regressions/handlers",
                                         NULL};

#define MSGS_MAX 32
#define REDIS_BIN "/usr/bin/redis-server"
#define CTL_PREFIX "fzc"
#define WRK_PREFIX "fzw"
#define HUGE_LEN 100000      /* the huge string: 100 KB */
#define WAIT_RUN_MS 5000     /* a run that should end and does not: a hang */
#define HOUR_MS 3600000LL
/* The worker remembers every assignment it took (its `seen` table) up
 * to 2^20, then starts over; a fresh worker long before that keeps an
 * input's repeats repeats. */
#define WORKER_RECEIVED_MAX 400000

/* Keys: the controller signs with KEY1; the workers hold KEY1 and KEY2
 * (a rotation); KEY3 is a key they do not hold. */
#define KEY1 "fuzz-handlers-key-one-0123456789abcdef0123456789"
#define KEY2 "fuzz-handlers-key-two-0123456789abcdef0123456789"
#define KEY3 "fuzz-handlers-key-three-0123456789abcdef01234567"

/* ---- small things ---- */

static FILE *real_stderr; /* the library's log goes to /dev/null */
static int tracing;        /* FUZZ_HANDLERS_TRACE=1: one line per message */

/* How often each rule of the oracle saw its case (printed at exit when
 * tracing): a rule that never fires checks nothing. */
enum seen_case {
    SC_LIFE, SC_METRIC, SC_REQUEUE, SC_NEW_RUN, SC_CRASH, SC_FIN_TARGET,
    SC_FIN_CAP, SC_FIN_GRID, SC_W_STARTED, SC_W_STOPPED, SC_W_DONE, SC_W_REFUSED,
    SC_W_DROPPED, SC_W_RECEIVED, SC__COUNT
};
static const char *const seen_names[SC__COUNT] = {
    "run event applied", "metric event applied", "run requeued", "run made",
    "run crashed (not received)", "sweep finished: target", "sweep finished: run_cap",
    "sweep finished: grid", "worker run started", "worker run stopped",
    "worker done", "worker refused", "worker dropped", "worker received"};
static unsigned long seen_count[SC__COUNT];

/* Restores stderr first, so that the message of a broken invariant shows. */
#define CHECK(cond)                                                        \
    do {                                                                   \
        if (!(cond)) {                                                     \
            if (real_stderr)                                               \
                stderr = real_stderr;                                      \
            FUZZ_CHECK(cond);                                              \
        }                                                                  \
    } while (0)

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...) {
    va_list ap;

    if (real_stderr)
        stderr = real_stderr;
    va_start(ap, fmt);
    fprintf(stderr, "fuzz_handlers: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    abort();
}

static int64_t wall_ms(void) {
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

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

static char *xstrdup(const char *s) {
    char *p = strdup(s);

    if (!p)
        die("out of memory");
    return p;
}

static char *xprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xprintf(const char *fmt, ...) {
    va_list ap;
    char *p = NULL;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&p, fmt, ap);
    va_end(ap);
    if (n < 0)
        die("out of memory");
    return p;
}

/* Strings made for one message, freed after it. */
static char *scratch[512];
static size_t nscratch;

static char *keep(char *p) {
    if (nscratch == sizeof(scratch) / sizeof(scratch[0]))
        die("scratch full");
    scratch[nscratch++] = p;
    return p;
}

static void scratch_free(void) {
    while (nscratch)
        free(scratch[--nscratch]);
}

static int streq(const char *a, const char *b) {
    return a && b && !strcmp(a, b);
}

/* Both absent, or the same. */
static int same(const char *a, const char *b) {
    return a == b || streq(a, b);
}

/* At most 60 bytes of s, for a trace line. */
static const char *shown(const char *s) {
    static char buf[4][80];
    static int k;
    char *b = buf[k++ % 4];
    size_t n = 0;

    if (!s)
        return "(null)";
    for (; *s && n < 60; s++)
        b[n++] = (unsigned char)*s < 0x20 ? '?' : *s;
    if (*s)
        b[n - 3] = b[n - 2] = b[n - 1] = '.';
    b[n] = '\0';
    return b;
}

static void trace_msg(const char *to, const struct msg *m, const char *topic) {
    const struct msg_run *h = NULL;

    if (!tracing)
        return;
    switch (m->kind) {
    case MSG_RUN_ASSIGNMENT: h = &m->u.assign.r; break;
    case MSG_RUN_LIFECYCLE: h = &m->u.life.r; break;
    case MSG_METRIC_EVENT: h = &m->u.metric.r; break;
    case MSG_RUN_COMMAND: h = &m->u.cmd.r; break;
    default: break;
    }
    fprintf(real_stderr, "trace: %s %s on %s", to, msg_kind_name(m->kind), topic);
    if (h)
        fprintf(real_stderr, " sweep=%s run=%s worker=%s attempt=%d seq=%lld",
                shown(h->sweep_id), shown(h->run_id), shown(h->worker_id),
                (int)h->attempt, (long long)h->seq);
    if (m->kind == MSG_RUN_LIFECYCLE)
        fprintf(real_stderr, " event=%s", lifecycle_event_name(m->u.life.event));
    if (m->kind == MSG_METRIC_EVENT)
        fprintf(real_stderr, " n=%zu first=%s", m->u.metric.n,
                m->u.metric.n ? shown(m->u.metric.names[0]) : "-");
    if (m->kind == MSG_RUN_COMMAND)
        fprintf(real_stderr, " command=%d", (int)m->u.cmd.command);
    if (m->kind == MSG_SWEEP_CONTROL)
        fprintf(real_stderr, " sweep=%s action=%s", shown(m->u.control.sweep_id),
                control_action_name(m->u.control.action));
    if (m->kind == MSG_WORKER_STATUS)
        fprintf(real_stderr, " worker=%s sweep=%s state=%d received=%lld",
                shown(m->u.worker.worker_id), shown(m->u.worker.sweep_id),
                (int)m->u.worker.state, (long long)m->u.worker.received);
    fprintf(real_stderr, "\n");
}

/* ---- the input ---- */

struct rd {
    const uint8_t *p;
    size_t n, i;
};

static unsigned u8(struct rd *r) { return r->i < r->n ? r->p[r->i++] : 0; }
static unsigned pick(struct rd *r, unsigned n) { return u8(r) % n; }

/* ---- the environment: processes, directories ---- */

static char tmpdir[128], allowdir[192], script[256], evildir[192], marker[256];
static char rundir[192];
static pid_t redis_pid, owner_pid;
static int redis_port;
static char redis_url[64];
static char *huge;   /* HUGE_LEN bytes of text */
static const char odd[] = "\xc3\xa9t\xc3\xa9 \x01\x1f\x7f\"\\'%s%n${x}:*?[]"
                          "\xe2\x80\xa8\xef\xbf\xbf\xf0\x9f\x98\x80\t\r\n";

static int rm_entry(const char *path, const struct stat *sb, int flag,
                    struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static void rm_rf(const char *path) {
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void write_exec(const char *path, const char *text) {
    FILE *fp = fopen(path, "w");

    if (!fp || fputs(text, fp) < 0 || fclose(fp) != 0 || chmod(path, 0755) < 0)
        die("cannot write %s: %s", path, strerror(errno));
}


/* Our own redis-server, a child that dies with us (PR_SET_PDEATHSIG):
 * started before any thread exists (never fork after rd_kafka_new()). */
static void redis_start(void) {
    char port[16];
    const char *argv[] = {REDIS_BIN, "--port", port, "--bind", "127.0.0.1",
                          "--save", "", "--appendonly", "no", "--dir", tmpdir,
                          "--logfile", "", NULL};

    redis_port = port_free_loopback();
    if (redis_port < 0)
        die("no free port");
    snprintf(port, sizeof(port), "%d", redis_port);
    snprintf(redis_url, sizeof(redis_url), "redis://127.0.0.1:%d", redis_port);
    owner_pid = getpid();
    redis_pid = fork();
    if (redis_pid < 0)
        die("fork: %s", strerror(errno));
    if (redis_pid == 0) {
        int null = open("/dev/null", O_RDWR);
        sigset_t none;
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != owner_pid)
            _exit(127);
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        if (null >= 0) {
            dup2(null, 0);
            dup2(null, 1);
            dup2(null, 2);
        }
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
}

static redisContext *raw; /* our own view of Redis */

static void redis_wait(void) {
    int64_t until = mono_ms() + 10000;

    while (mono_ms() < until) {
        struct timeval tv = {1, 0};
        redisContext *c = redisConnectWithTimeout("127.0.0.1", redis_port, tv);
        if (c && !c->err) {
            redisReply *r = redisCommand(c, "PING");
            if (r && r->type == REDIS_REPLY_STATUS) {
                freeReplyObject(r);
                raw = c;
                return;
            }
            freeReplyObject(r);
        }
        if (c)
            redisFree(c);
        sleep_ms(20);
    }
    die("redis-server on port %d did not start", redis_port);
}

static redisReply *rcmd(const char *fmt, ...) {
    va_list ap;
    redisReply *r;

    va_start(ap, fmt);
    r = redisvCommand(raw, fmt, ap);
    va_end(ap);
    if (!r || r->type == REDIS_REPLY_ERROR)
        die("redis: %s", r ? r->str : raw->errstr);
    return r;
}

/* ---- the system under test ---- */

static struct broker *broker;
static struct settings cst, wst; /* controller's and workers' settings */
static struct controller *ctl;
static struct store *fx;         /* writes the fixture */
static struct codec *codec;
static struct signer *sig1, *sig2, *sig3;
static struct topics ctopics, wtopics;

enum wmode { WM_POOL, WM_BOUND_A, WM_BOUND_B, WM_POOL_GPU, WM__COUNT };
static struct worker *workers[WM__COUNT];
static struct worker *w;         /* this input's */
static enum wmode wmode;
static const char *wbound;       /* its sweep when bound, else NULL */

#define SWEEP_A "swA1"
#define SWEEP_B "swB2"
#define SWEEP_C "swC3"
static const char *const fixture_sweeps[] = {SWEEP_A, SWEEP_B, SWEEP_C};
#define NSWEEPS 3
#define W1 "fz-w1"
#define W2 "fz-w2"

static void settings_init(struct settings *st, const char *prefix) {
    char err[256];

    if (settings_resolve(st, NULL, err, sizeof(err)) < 0 ||
        settings_set(st, "brokers", broker_bootstraps(broker), err, sizeof(err)) < 0 ||
        settings_set(st, "redis", redis_url, err, sizeof(err)) < 0 ||
        settings_set(st, "prefix", prefix, err, sizeof(err)) < 0 ||
        settings_set(st, "run_dir", rundir, err, sizeof(err)) < 0 ||
        /* sh runs ok.sh: the default command (${env} ${interpreter}
         * ${program}) is then a run too, and no python starts */
        settings_set(st, "interpreter", "sh", err, sizeof(err)) < 0 ||
        settings_set(st, "grace", "1", err, sizeof(err)) < 0 ||
        /* requests one at a time on loopback: Nagle and delayed ACKs
         * would make each metadata request (a new leader, a new worker)
         * take 40 ms */
        settings_set(st, "kafka.socket.nagle.disable", "true", err, sizeof(err)) < 0 ||
        settings_set(st, "fetch_wait_ms", "1", err, sizeof(err)) < 0)
        die("settings: %s", err);
}

static struct signer *signer_of(const char *text) {
    struct signer *s = NULL;
    char err[256];

    if (signer_from_text(text, "fuzz", &s, err, sizeof(err)) < 0)
        die("signer: %s", err);
    return s;
}

/* A worker that exited is freed on a thread of its own: librdkafka
 * takes up to 2 s to destroy a client here. The worker has its own
 * clients, codec, signer and signalfd: nothing is shared with the main
 * thread, which joins these threads at exit. (Workers are made on the
 * main thread: one made on a thread left OpenSSL's state of that thread
 * behind, a leak at exit now and then.) */
static pthread_t reapers[64];
static size_t nreapers;

static void *free_worker_thread(void *arg) {
    worker_free(arg);
    return NULL;
}

static void reapers_join(void) {
    while (nreapers)
        pthread_join(reapers[--nreapers], NULL);
}

static void worker_drop(enum wmode m) {
    struct worker *old = workers[m];

    workers[m] = NULL;
    if (!old)
        return;
    if (nreapers == sizeof(reapers) / sizeof(reapers[0]))
        reapers_join();
    if (pthread_create(&reapers[nreapers], NULL, free_worker_thread, old) == 0)
        nreapers++;
    else
        worker_free(old);
}

static struct worker *worker_make(enum wmode m);

static struct worker *worker_get(enum wmode m) {
    if (!workers[m])
        workers[m] = worker_make(m);
    return workers[m];
}

static struct worker *worker_make(enum wmode m) {
    struct worker_opts o = {0};
    struct worker *nw;
    const char *allow[] = {allowdir};
    char err[512];

    o.st = &wst;
    o.sweep_id = m == WM_BOUND_A ? SWEEP_A : m == WM_BOUND_B ? SWEEP_B : NULL;
    o.pool = m == WM_POOL_GPU ? "gpu" : NULL;
    o.allow = allow;
    o.nallow = 1;
    /* Failures are the runs' business, not the messages': a worker that
     * gave up after five would make an input depend on the ones before. */
    o.max_initial_failures = 1 << 30;
    o.max_consecutive_failures = 1 << 30;
    /* The embedded broker, on a loaded machine, now and then refuses a
     * new client ("Broker transport failure"): that is no finding. */
    for (int tries = 0;; tries++) {
        o.signer = signer_of(KEY1 "," KEY2); /* taken, even on failure */
        if ((nw = worker_new(&o, err, sizeof(err))))
            return nw;
        if (tries == 4)
            die("worker_new: %s", err);
        sleep_ms(200);
    }
}

static void cleanup(void) {
    if (real_stderr)
        stderr = real_stderr;
    for (int i = 0; tracing && i < SC__COUNT; i++)
        fprintf(stderr, "oracle: %-28s %lu\n", seen_names[i], seen_count[i]);
    for (int m = 0; m < WM__COUNT; m++)
        worker_drop((enum wmode)m);
    reapers_join();
    controller_free(ctl);
    ctl = NULL;
    store_free(fx);
    fx = NULL;
    broker_free(broker);
    broker = NULL;
    codec_free(codec);
    signer_free(sig1);
    signer_free(sig2);
    signer_free(sig3);
    sig1 = sig2 = sig3 = NULL;
    settings_release(&cst);
    settings_release(&wst);
    if (raw)
        redisFree(raw);
    raw = NULL;
    if (redis_pid > 0) {
        kill(redis_pid, SIGKILL);
        waitpid(redis_pid, NULL, 0);
        redis_pid = 0;
    }
    free(huge);
    huge = NULL;
    if (tmpdir[0])
        rm_rf(tmpdir);
    tmpdir[0] = '\0';
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    struct controller_opts co = {0};
    const char *lvl = getenv("FUZZ_HANDLERS_LOG");
    sigset_t mask;
    char err[512];

    (void)argc;
    (void)argv;
    tracing = getenv("FUZZ_HANDLERS_TRACE") && *getenv("FUZZ_HANDLERS_TRACE") == '1';
    /* The worker reads these from a signalfd: blocked before any thread. */
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    sigaddset(&mask, SIGHUP);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    snprintf(tmpdir, sizeof(tmpdir), "%s/fuzz-handlers-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmpdir))
        die("mkdtemp: %s", strerror(errno));
    snprintf(allowdir, sizeof(allowdir), "%s/allow", tmpdir);
    snprintf(evildir, sizeof(evildir), "%s/evil", tmpdir);
    snprintf(rundir, sizeof(rundir), "%s/runs", tmpdir);
    snprintf(script, sizeof(script), "%s/ok.sh", allowdir);
    snprintf(marker, sizeof(marker), "%s/evil-ran", tmpdir);
    if (mkdir(allowdir, 0755) < 0 || mkdir(evildir, 0755) < 0 ||
        mkdir(rundir, 0755) < 0)
        die("mkdir: %s", strerror(errno));
    /* The only program a run may start: it exits at once (with "say" in
     * its parameters after two metric lines), or waits to be stopped when
     * they say "hold". */
    write_exec(script, "#!/bin/sh\n"
                       "case \"$SWEEP_PARAMS\" in *'\"hold\"'*) exec sleep 20 ;; esac\n"
                       "case \"$SWEEP_PARAMS\" in *'\"say\"'*)\n"
                       "  echo 'loss=0.25 acc=0.5 _step=3'\n"
                       "  echo '{\"loss\": 0.125, \"x\": \"y\"}' ;;\n"
                       "esac\n"
                       "exit 0\n");
    {
        /* What no run may ever start: a "sh" outside the allowed paths
         * (FUZZ_HANDLERS_KNOWN: env PATH=... sh ok.sh starts it). */
        char *evil = xprintf("%s/sh", evildir),
             *text = xprintf("#!/bin/sh\n: > '%s'\nexit 0\n", marker);
        write_exec(evil, text);
        free(evil);
        free(text);
    }
    if (!(huge = malloc(HUGE_LEN + 1)))
        die("out of memory");
    for (size_t i = 0; i < HUGE_LEN; i++)
        huge[i] = "huge-string-"[i % 12];
    huge[HUGE_LEN] = '\0';
    redis_start();
    atexit(cleanup);
    redis_wait();
    real_stderr = stderr;
    if (lvl && *lvl) {
        int l = log_level_parse(lvl);
        log_init("fuzz_handlers", l < 0 ? LOG_DEBUG : (enum log_level)l);
    } else {
        FILE *null = fopen("/dev/null", "w");
        if (!null)
            die("/dev/null: %s", strerror(errno));
        log_init("fuzz_handlers", LOG_DEBUG);
        stderr = null;
    }
    if (!(codec = codec_new(err, sizeof(err))))
        die("codec: %s", err);
    sig1 = signer_of(KEY1);
    sig2 = signer_of(KEY2);
    sig3 = signer_of(KEY3);
    if (!(broker = broker_new(err, sizeof(err))))
        die("broker: %s", err);
    topics_init(&ctopics, CTL_PREFIX);
    topics_init(&wtopics, WRK_PREFIX);
    for (int i = 0; i < TOPIC__COUNT; i++)
        if (broker_create_topic(broker, ctopics.names[i], 4) < 0 ||
            broker_create_topic(broker, wtopics.names[i], 4) < 0)
            die("cannot create the topics");
    settings_init(&cst, CTL_PREFIX);
    settings_init(&wst, WRK_PREFIX);
    if (!(fx = store_connect(redis_url, 5000, err, sizeof(err))))
        die("store: %s", err);
    co.st = &cst;
    co.lease_ttl_ms = 30000;
    co.name = "fuzz-controller";
    co.stop_fd = -1;
    co.signer = signer_of(KEY1);
    if (!(ctl = controller_new(&co, err, sizeof(err))))
        die("controller_new: %s", err);
    return 0;
}

/* ---- Redis, seen from outside: every key with its content ---- */

enum ktype { K_STRING, K_HASH, K_LIST, K_SET, K_ZSET, K_OTHER };

struct item {
    char *s; /* NUL-terminated copy (values hold no NUL but the grid bitmap) */
    size_t len;
};

struct kv {
    char *key;
    enum ktype type;
    size_t n;        /* items: hash field, value, ...; zset member, score, ... */
    struct item *it;
};

struct snap {
    struct kv *v;
    size_t n;
};

static int item_cmp(const struct item *a, const struct item *b) {
    size_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->s, b->s, n);

    return c ? c : (a->len > b->len) - (a->len < b->len);
}

static int kv_cmp(const void *a, const void *b) {
    return strcmp(((const struct kv *)a)->key, ((const struct kv *)b)->key);
}

static int item_qcmp(const void *a, const void *b) { return item_cmp(a, b); }

/* Hash pairs sorted by field, so that two snapshots compare. */
static int pair_qcmp(const void *a, const void *b) { return item_cmp(a, b); }

static void snap_free(struct snap *s) {
    for (size_t i = 0; i < s->n; i++) {
        for (size_t k = 0; k < s->v[i].n; k++)
            free(s->v[i].it[k].s);
        free(s->v[i].it);
        free(s->v[i].key);
    }
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

static void items_from(struct kv *kv, const redisReply *r) {
    kv->n = r->type == REDIS_REPLY_ARRAY ? r->elements : 1;
    kv->it = calloc(kv->n ? kv->n : 1, sizeof(*kv->it));
    if (!kv->it)
        die("out of memory");
    for (size_t i = 0; i < kv->n; i++) {
        const redisReply *e = r->type == REDIS_REPLY_ARRAY ? r->element[i] : r;
        kv->it[i].len = e->str ? e->len : 0;
        kv->it[i].s = malloc(kv->it[i].len + 1);
        if (!kv->it[i].s)
            die("out of memory");
        if (e->str)
            memcpy(kv->it[i].s, e->str, e->len);
        kv->it[i].s[kv->it[i].len] = '\0';
    }
}

static void snap_take(struct snap *s) {
    redisReply *keys = rcmd("KEYS *");
    const char *argv[2];
    size_t lens[2];

    s->n = keys->elements;
    s->v = calloc(s->n ? s->n : 1, sizeof(*s->v));
    if (!s->v)
        die("out of memory");
    for (size_t i = 0; i < s->n; i++) {
        argv[0] = "TYPE";
        argv[1] = keys->element[i]->str;
        lens[0] = 4;
        lens[1] = keys->element[i]->len;
        redisAppendCommandArgv(raw, 2, argv, lens);
        s->v[i].key = xstrdup(keys->element[i]->str);
    }
    for (size_t i = 0; i < s->n; i++) {
        redisReply *r = NULL;
        if (redisGetReply(raw, (void **)&r) != REDIS_OK || !r)
            die("redis: %s", raw->errstr);
        s->v[i].type = !strcmp(r->str, "string") ? K_STRING
                       : !strcmp(r->str, "hash") ? K_HASH
                       : !strcmp(r->str, "list") ? K_LIST
                       : !strcmp(r->str, "set")  ? K_SET
                       : !strcmp(r->str, "zset") ? K_ZSET : K_OTHER;
        freeReplyObject(r);
    }
    for (size_t i = 0; i < s->n; i++) {
        static const char *const cmds[] = {"GET", "HGETALL", "LRANGE", "SMEMBERS",
                                           "ZRANGE", "TYPE"};
        const char *a[5] = {cmds[s->v[i].type], keys->element[i]->str, "0", "-1",
                            "WITHSCORES"};
        size_t l[5] = {strlen(a[0]), keys->element[i]->len, 1, 2, 10};
        int n = s->v[i].type == K_LIST ? 4 : s->v[i].type == K_ZSET ? 5 : 2;
        redisAppendCommandArgv(raw, n, a, l);
    }
    for (size_t i = 0; i < s->n; i++) {
        redisReply *r = NULL;
        if (redisGetReply(raw, (void **)&r) != REDIS_OK || !r)
            die("redis: %s", raw->errstr);
        items_from(&s->v[i], r);
        freeReplyObject(r);
        if (s->v[i].type == K_SET)
            qsort(s->v[i].it, s->v[i].n, sizeof(struct item), item_qcmp);
        if (s->v[i].type == K_HASH)
            qsort(s->v[i].it, s->v[i].n / 2, 2 * sizeof(struct item), pair_qcmp);
    }
    freeReplyObject(keys);
    qsort(s->v, s->n, sizeof(*s->v), kv_cmp);
}

/* Redis's count of writes (it counts with --save "" too): when it has
 * not moved, nothing changed and the last snapshot still holds. */
static long long redis_dirty(void) {
    redisReply *r = rcmd("INFO persistence");
    const char *p = strstr(r->str, "rdb_changes_since_last_save:");
    long long n = p ? strtoll(p + 28, NULL, 10) : -1;

    freeReplyObject(r);
    if (n < 0)
        die("redis: no rdb_changes_since_last_save in INFO");
    return n;
}

static const struct kv *snap_get(const struct snap *s, const char *key) {
    struct kv k = {.key = (char *)key};

    return bsearch(&k, s->v, s->n, sizeof(*s->v), kv_cmp);
}

static const struct kv *snap_getf(const struct snap *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static const struct kv *snap_getf(const struct snap *s, const char *fmt, ...) {
    va_list ap;
    char *key = NULL;
    const struct kv *kv;

    va_start(ap, fmt);
    if (vasprintf(&key, fmt, ap) < 0)
        die("out of memory");
    va_end(ap);
    kv = snap_get(s, key);
    free(key);
    return kv;
}

static const char *hget(const struct kv *h, const char *field) {
    if (!h || h->type != K_HASH)
        return NULL;
    for (size_t i = 0; i + 1 < h->n; i += 2)
        if (!strcmp(h->it[i].s, field))
            return h->it[i + 1].s;
    return NULL;
}

static long long hget_ll(const struct kv *h, const char *field, long long dflt) {
    const char *v = hget(h, field);

    return v ? strtoll(v, NULL, 10) : dflt;
}

static int kv_equal(const struct kv *a, const struct kv *b) {
    if (!a || !b)
        return a == b;
    if (a->type != b->type || a->n != b->n)
        return 0;
    for (size_t i = 0; i < a->n; i++)
        if (item_cmp(&a->it[i], &b->it[i]))
            return 0;
    return 1;
}

/* A hash equal to another but for the fields in skip (NULL-ended). */
static int hash_equal_but(const struct kv *a, const struct kv *b,
                          const char *const *skip) {
    for (int pass = 0; pass < 2; pass++) {
        const struct kv *x = pass ? b : a, *y = pass ? a : b;
        for (size_t i = 0; x && i + 1 < x->n; i += 2) {
            const char *f = x->it[i].s, *other;
            int skipped = 0;
            for (size_t k = 0; skip && skip[k]; k++)
                skipped |= !strcmp(f, skip[k]) ||
                           (skip[k][strlen(skip[k]) - 1] == '*' &&
                            !strncmp(f, skip[k], strlen(skip[k]) - 1));
            if (skipped)
                continue;
            other = hget(y, f);
            if (!other || strcmp(other, x->it[i + 1].s))
                return 0;
        }
    }
    return 1;
}

static int set_has(const struct kv *s, const char *member) {
    for (size_t i = 0; s && i < s->n; i++)
        if (!strcmp(s->it[i].s, member))
            return 1;
    return 0;
}

/* A zset's members (every other item). */
static int zset_has(const struct kv *z, const char *member) {
    for (size_t i = 0; z && i + 1 < z->n; i += 2)
        if (!strcmp(z->it[i].s, member))
            return 1;
    return 0;
}

static size_t bits_set(const struct kv *k) {
    size_t n = 0;

    for (size_t i = 0; k && k->n == 1 && i < k->it[0].len; i++)
        n += (size_t)__builtin_popcount((unsigned char)k->it[0].s[i]);
    return n;
}

static int bit_is_set(const struct kv *k, long long i) {
    return k && k->n == 1 && i >= 0 && (size_t)(i / 8) < k->it[0].len &&
           ((unsigned char)k->it[0].s[i / 8] & (0x80 >> (i % 8)));
}

/* ---- the fixture ---- */

/* Fixture bits (byte 0). */
#define FX_WORKER(f) ((enum wmode)((f) & 3))
#define FX_A_STATE(f) (((f) >> 2) & 3) /* running, paused, finished, capped */
#define FX_B_PAUSED 0x10
#define FX_A1_OLD 0x20 /* a1 sent 10 s ago */
#define FX_NO_WORKERS 0x40

struct fxrun {
    const char *sweep, *run;
};

/* Every run of the fixture; the controller may add runs of its own. */
static const struct fxrun fxruns[] = {
    {SWEEP_A, "a1"}, /* pending on W1, attempt 1 */
    {SWEEP_A, "a2"}, /* running on W2, attempt 2 (preempted, reassigned), a history */
    {SWEEP_A, "a3"}, /* finished, with a history */
    {SWEEP_A, "a4"}, /* preempted: queued */
    {SWEEP_A, "a5"}, /* running on W1, with a history */
    {SWEEP_B, "b1"}, /* running on W1, grid point 0 */
    {SWEEP_B, "b2"}, /* finished, point 1 */
    {SWEEP_B, "b3"}, /* killed, point 2 */
    {SWEEP_B, "b4"}, /* crashed: queued, point 3 */
    {SWEEP_C, "c1"}, /* running on W2 in the canceled sweep */
};
#define NFXRUNS (sizeof(fxruns) / sizeof(fxruns[0]))

static int64_t fx_token, fx_now;
static char *cfg_json[NSWEEPS]; /* each sweep's config as `sweep create` stores it */
static int a_cap;               /* sweep A's run_cap */

/* Sweep A's metric target (loss <= 0.05) and B's (acc >= 0.99). */
static int reaches_target(const char *sweep, const char *name, double v) {
    if (!isfinite(v))
        return 0;
    if (streq(sweep, SWEEP_A))
        return streq(name, "loss") && v <= 0.05;
    if (streq(sweep, SWEEP_B))
        return streq(name, "acc") && v >= 0.99;
    return 0;
}

static char *config_text(int i, int cap) {
    switch (i) {
    case 0:
        return xprintf("method: random\n"
                       "program: %s\n"
                       "command: [\"${program}\", \"${args}\"]\n"
                       "run_cap: %d\n"
                       "metric: {name: loss, goal: minimize, target: 0.05}\n"
                       "early_terminate: {type: hyperband, min_iter: 2, eta: 2}\n"
                       "parameters:\n"
                       "  lr: {distribution: log_uniform_values, min: 0.00001, max: 0.1}\n"
                       "  bs: {values: [16, 32, 64]}\n"
                       "  opt:\n"
                       "    parameters:\n"
                       "      name: {values: [adam, sgd]}\n",
                       script, cap);
    case 1:
        return xprintf("method: grid\n"
                       "program: %s\n"
                       "metric: {name: acc, goal: maximize, target: 0.99}\n"
                       "parameters:\n"
                       "  lr: {values: [0.1, 0.01]}\n"
                       "  layers: {values: [1, 2, 3]}\n",
                       script);
    default:
        return xprintf("method: random\n"
                       "parameters:\n"
                       "  x: {min: 0.0, max: 1.0}\n");
    }
}

/* As cli_create_sweep(): the config as JSON, the method, run_cap and the
 * grid's size. */
static void fx_sweep(int i, int cap) {
    char *text = config_text(i, cap), err[256];
    struct diags d;
    struct sweep_config *cfg;
    struct grid *g = NULL;
    struct store_sweep_new n = {0};

    diags_init(&d, fixture_sweeps[i]);
    cfg = config_load_buffer(text, strlen(text), fixture_sweeps[i], &d);
    if (!cfg)
        die("fixture config %d does not load", i);
    if (cfg->method == METHOD_GRID && grid_new(cfg, &g, err, sizeof(err)) < 0)
        die("fixture grid: %s", err);
    free(cfg_json[i]);
    cfg_json[i] = json_dumps(cfg->raw, JSON_COMPACT);
    n.id = fixture_sweeps[i];
    n.name = i == 2 ? NULL : fixture_sweeps[i];
    n.config_json = cfg_json[i];
    n.method = config_method_name(cfg->method);
    n.run_cap = cfg->run_cap;
    n.grid_size = g ? (long long)grid_size(g) : 0;
    n.now_ms = fx_now;
    if (store_sweep_create(fx, &n) < 0)
        die("fixture sweep: %s", store_errstr(fx));
    grid_free(g);
    config_free(cfg);
    diags_release(&d);
    free(text);
}

static void fx_run(const char *sweep, const char *run, const char *worker,
                   int64_t gi, int64_t wseq, int64_t now) {
    struct store_run_new n = {sweep, run, "{\"lr\": 0.01}", gi, worker, now, wseq};

    if (store_run_create(fx, fx_token, &n) != STORE_OK)
        die("fixture run %s/%s: %s", sweep, run, store_errstr(fx));
}

static void fx_life(const char *sweep, const char *run, const char *worker,
                    int attempt, enum lifecycle_event ev) {
    struct msg_run_lifecycle e = {0};

    e.r.sweep_id = (char *)sweep;
    e.r.run_id = (char *)run;
    e.r.worker_id = (char *)worker;
    e.r.attempt = attempt;
    e.r.ts_ms = fx_now;
    e.event = ev;
    e.has_exit_code = ev == LC_FINISHED || ev == LC_FAILED;
    e.exit_code = ev == LC_FAILED;
    e.signal = ev == LC_KILLED ? 15 : 0;
    e.reason = ev == LC_KILLED ? "stopped by the controller" : NULL;
    e.last_metric_seq = -1;
    if (store_apply_life(fx, fx_token, &e) != STORE_OK)
        die("fixture event %s/%s: %s", sweep, run, store_errstr(fx));
}

static void fx_metric(const char *sweep, const char *run, const char *worker,
                      int attempt, int64_t seq, const char *name, double v) {
    struct msg_metric_event e = {0};
    const struct msg_metric_event *ev[1] = {&e};
    char *names[1] = {(char *)name};
    double values[1] = {v};
    int res = -1;

    e.r.sweep_id = (char *)sweep;
    e.r.run_id = (char *)run;
    e.r.worker_id = (char *)worker;
    e.r.attempt = attempt;
    e.r.seq = seq;
    e.r.ts_ms = fx_now;
    e.has_step = 1;
    e.step = seq - 1;
    e.n = 1;
    e.names = names;
    e.values = values;
    if (store_apply_metrics(fx, fx_token, ev, NULL, 1, &res, NULL) != 0 ||
        res != STORE_OK)
        die("fixture metric %s/%s: %s", sweep, run, store_errstr(fx));
}

static void fx_reassign(const char *sweep, const char *worker, int64_t wseq,
                        const char *want) {
    char *run = NULL, *params = NULL;
    int attempt = 0;

    if (store_run_reassign(fx, fx_token, sweep, worker, fx_now, wseq, &run, &params,
                           &attempt) != STORE_OK || !streq(run, want))
        die("fixture reassign %s: %s", sweep, store_errstr(fx));
    free(run);
    free(params);
}

static void fx_control(const char *sweep, enum control_action a) {
    const char *st = NULL;

    if (store_sweep_control(fx, sweep, a, fx_now, &st) < 0)
        die("fixture control %s: %s", sweep, store_errstr(fx));
}

/* Each fixture is written through the store API once, then kept as
 * DUMPs and RESTOREd (one round trip instead of forty). The times the
 * controller reasons about are moved to now: what a run's age decides
 * (3 s: an assignment lost; 30 s: a worker dead) stays the same. */
struct fxdump {
    int built;
    int64_t at;          /* fx_now when built */
    size_t n;
    char **keys, **blobs;
    size_t *klens, *blens;
    size_t nt;           /* run times: key index, field, offset from at */
    size_t *tkey;
    const char **tfield;
    int64_t *toff;
};
static struct fxdump fxdumps[128];

static void fx_dump(struct fxdump *d) {
    static const char *const times[] = {"created_at", "assigned_at", "started_at",
                                        "heartbeat_at", "ended_at"};
    redisReply *keys = rcmd("KEYS *");

    d->n = keys->elements;
    d->keys = calloc(d->n, sizeof(char *));
    d->blobs = calloc(d->n, sizeof(char *));
    d->klens = calloc(d->n, sizeof(size_t));
    d->blens = calloc(d->n, sizeof(size_t));
    d->tkey = calloc(d->n * 5, sizeof(size_t));
    d->tfield = calloc(d->n * 5, sizeof(char *));
    d->toff = calloc(d->n * 5, sizeof(int64_t));
    if (!d->keys || !d->blobs || !d->klens || !d->blens || !d->tkey || !d->tfield ||
        !d->toff)
        die("out of memory");
    for (size_t i = 0; i < d->n; i++) {
        redisReply *b = rcmd("DUMP %b", keys->element[i]->str, keys->element[i]->len);
        d->keys[i] = xstrdup(keys->element[i]->str);
        d->klens[i] = keys->element[i]->len;
        if (!(d->blobs[i] = malloc(b->len)))
            die("out of memory");
        memcpy(d->blobs[i], b->str, b->len);
        d->blens[i] = b->len;
        freeReplyObject(b);
        if (strncmp(d->keys[i], "sw:r:", 5) || strstr(d->keys[i] + 5, ":hist") ||
            strstr(d->keys[i] + 5, ":sum"))
            continue;
        for (int t = 0; t < 5; t++) {
            redisReply *v = rcmd("HGET %s %s", d->keys[i], times[t]);
            if (v->type == REDIS_REPLY_STRING) {
                d->tkey[d->nt] = i;
                d->tfield[d->nt] = times[t];
                d->toff[d->nt++] = strtoll(v->str, NULL, 10) - fx_now;
            }
            freeReplyObject(v);
        }
    }
    freeReplyObject(keys);
    d->at = fx_now;
    d->built = 1;
}

static void fx_restore(const struct fxdump *d) {
    size_t sent = 0;

    fx_now = wall_ms();
    redisAppendCommand(raw, "FLUSHALL"), sent++;
    for (size_t i = 0; i < d->n; i++, sent++)
        redisAppendCommand(raw, "RESTORE %b 0 %b", d->keys[i], d->klens[i], d->blobs[i],
                           d->blens[i]);
    for (size_t i = 0; i < d->nt; i++, sent++)
        redisAppendCommand(raw, "HSET %s %s %lld", d->keys[d->tkey[i]], d->tfield[i],
                           (long long)(fx_now + d->toff[i]));
    while (sent--) {
        redisReply *r = NULL;
        if (redisGetReply(raw, (void **)&r) != REDIS_OK || !r || r->type == REDIS_REPLY_ERROR)
            die("fixture restore: %s", r ? r->str : raw->errstr);
        freeReplyObject(r);
    }
}

static void fixture_write(unsigned f);

static void fixture_build(unsigned f) {
    struct fxdump *d = &fxdumps[f & 0x7f];

    a_cap = FX_A_STATE(f) == 3 ? 6 : 1000;
    if (d->built) {
        fx_restore(d);
        return;
    }
    fixture_write(f);
    fx_dump(d);
}

static void fixture_write(unsigned f) {
    redisReply *r = rcmd("FLUSHALL");

    freeReplyObject(r);
    fx_now = wall_ms();
    if (store_lease_acquire(fx, "fuzz-fixture", 30000, &fx_token) != 1)
        die("fixture: no lease");
    /* A: 5 runs; "capped" leaves room for exactly one more. */
    fx_sweep(0, a_cap);
    fx_sweep(1, 0);
    fx_sweep(2, 0);
    /* a1 sent 10 s ago: older than ASSIGN_LOST_MS (3 s), so a status of
     * W1 that is behind it requeues it, younger than lease_timeout (30
     * s), so the controller's own timer leaves it alone */
    fx_run(SWEEP_A, "a1", W1, -1, 1, f & FX_A1_OLD ? fx_now - 10000 : fx_now);
    fx_run(SWEEP_A, "a2", W2, -1, 1, fx_now);
    fx_life(SWEEP_A, "a2", W2, 1, LC_STARTED);
    fx_life(SWEEP_A, "a2", W2, 1, LC_PREEMPTED);
    fx_reassign(SWEEP_A, W2, 2, "a2");
    fx_life(SWEEP_A, "a2", W2, 2, LC_STARTED);
    /* with a3's two values, a third run's bad second value is below
     * hyperband's band-2 threshold (sorted[int(3 / eta)]): stopped */
    fx_metric(SWEEP_A, "a2", W2, 2, 1, "loss", 0.6);
    fx_metric(SWEEP_A, "a2", W2, 2, 2, "loss", 0.5);
    fx_run(SWEEP_A, "a3", W1, -1, 2, fx_now);
    fx_life(SWEEP_A, "a3", W1, 1, LC_STARTED);
    fx_metric(SWEEP_A, "a3", W1, 1, 1, "loss", 0.9);
    fx_metric(SWEEP_A, "a3", W1, 1, 2, "loss", 0.7);
    fx_life(SWEEP_A, "a3", W1, 1, LC_FINISHED);
    fx_run(SWEEP_A, "a4", W2, -1, 3, fx_now);
    fx_life(SWEEP_A, "a4", W2, 1, LC_STARTED);
    fx_life(SWEEP_A, "a4", W2, 1, LC_PREEMPTED);
    fx_run(SWEEP_A, "a5", W1, -1, 3, fx_now);
    fx_life(SWEEP_A, "a5", W1, 1, LC_STARTED);
    fx_metric(SWEEP_A, "a5", W1, 1, 1, "loss", 0.8);
    fx_run(SWEEP_B, "b1", W1, 0, 4, fx_now);
    fx_life(SWEEP_B, "b1", W1, 1, LC_STARTED);
    fx_run(SWEEP_B, "b2", W2, 1, 4, fx_now);
    fx_life(SWEEP_B, "b2", W2, 1, LC_STARTED);
    fx_metric(SWEEP_B, "b2", W2, 1, 1, "acc", 0.5);
    fx_life(SWEEP_B, "b2", W2, 1, LC_FINISHED);
    fx_run(SWEEP_B, "b3", W1, 2, 5, fx_now);
    fx_life(SWEEP_B, "b3", W1, 1, LC_KILLED);
    fx_run(SWEEP_B, "b4", W2, 3, 5, fx_now);
    fx_life(SWEEP_B, "b4", W2, 1, LC_STARTED);
    if (store_run_crash(fx, fx_token, SWEEP_B, "b4", 1, "worker stopped heartbeating",
                        fx_now) != STORE_OK)
        die("fixture crash: %s", store_errstr(fx));
    fx_run(SWEEP_C, "c1", W2, -1, 6, fx_now);
    fx_life(SWEEP_C, "c1", W2, 1, LC_STARTED);
    fx_control(SWEEP_C, CTL_CANCEL);
    if (FX_A_STATE(f) == 1)
        fx_control(SWEEP_A, CTL_PAUSE);
    if (FX_A_STATE(f) == 2)
        fx_control(SWEEP_A, CTL_STOP);
    if (f & FX_B_PAUSED)
        fx_control(SWEEP_B, CTL_PAUSE);
    store_lease_release(fx, fx_token);
}

/* ---- building messages: every field a choice ---- */

static char **many_names; /* m0, m1, ...: metric maps with many names */
static double *many_values;
#define MANY_MAX 5000
static unsigned gen;      /* inputs so far: salts the worker's run ids */
static int64_t offset_next;

static int32_t attempt_choice(struct rd *r, int64_t cur) {
    switch (pick(r, 8)) {
    case 0: return (int32_t)cur;
    case 1: return (int32_t)(cur - 1); /* stale */
    case 2: return (int32_t)(cur + 1); /* future */
    case 3: return 0;
    case 4: return -1;
    case 5: return INT32_MIN;
    case 6: return INT32_MAX;
    default: return 1;
    }
}

static int64_t ts_choice(struct rd *r) {
    int64_t now = wall_ms();

    switch (pick(r, 8)) {
    case 0: return now;
    case 1: return now - HOUR_MS;
    case 2: return now + HOUR_MS;
    case 3: return 0;
    case 4: return INT64_MIN;
    case 5: return INT64_MAX;
    case 6: return now - 14000; /* just fresh for a worker status (15 s) */
    default: return now - 16000; /* just stale */
    }
}

static int64_t seq_choice(struct rd *r, int64_t next) {
    switch (pick(r, 8)) {
    case 0: return next;
    case 1: return 0;
    case 2: return 1;
    case 3: return next + 1000;
    case 4: return INT64_MAX;
    case 5: return -1;
    case 6: return INT64_MIN;
    default: return next - 1; /* the one before again */
    }
}

static const char *reason_choice(struct rd *r) {
    static const char *const v[] = {NULL, "", "exit code 1", NULL, odd};

    unsigned k = pick(r, 5);
    return k == 3 ? huge : v[k];
}

static void metric_map(struct rd *r, struct msg_metric_event *e) {
    static char *n1[] = {"loss"}, *n3[] = {"loss", "acc", "x"},
                *n5[] = {"_step", "_timestamp", "_runtime"},
                *n6[] = {"attempt", "worker", "state", "last_seq", "steps"},
                *n7[] = {"acc"}, *n8[3], *n10[] = {"loss", "acc"};
    static double v0[] = {0.5}, v1[] = {0.01}, v3[3], v5[] = {3, 1, 2},
                  v6[] = {1, 7, 1, -1, 0}, v7[] = {0.995}, v8[3], v10[2],
                  v11[] = {5.0};

    v3[0] = NAN, v3[1] = INFINITY, v3[2] = -INFINITY;
    n8[0] = (char *)odd, n8[1] = "", n8[2] = huge;
    v8[0] = 1e308, v8[1] = -0.0, v8[2] = 5e-324;
    v10[0] = -INFINITY, v10[1] = NAN;
    switch (pick(r, 12)) {
    case 0: e->n = 1, e->names = n1, e->values = v0; break;
    /* worse than the fixture's runs: early termination stops the run */
    case 11: e->n = 1, e->names = n1, e->values = v11; break;
    case 1: e->n = 1, e->names = n1, e->values = v1; break; /* A's target */
    case 2: e->n = 0; break;
    case 3: e->n = 3, e->names = n3, e->values = v3; break;
    case 4: e->n = 300, e->names = many_names, e->values = many_values; break;
    case 5: e->n = 3, e->names = n5, e->values = v5; break;
    /* run-hash field names: the summary hash then looks like a run */
    case 6: e->n = 5, e->names = n6, e->values = v6; break;
    case 7: e->n = 1, e->names = n7, e->values = v7; break; /* B's target */
    case 8: e->n = 3, e->names = n8, e->values = v8; break;
    case 9: e->n = MANY_MAX, e->names = many_names, e->values = many_values; break;
    default: e->n = 2, e->names = n10, e->values = v10; break;
    }
}

/* The run a run-scoped message to the controller is about: one of the
 * fixture's or of the controller's own, as Redis has it now. */
struct subject {
    const char *sweep, *run, *worker;
    int64_t attempt, last_seq, wseq;
};

static void pick_subject(struct rd *r, const struct snap *s, struct subject *sj) {
    const char *sw[64], *rn[64];
    size_t n = 0, k;
    const struct kv *h;

    for (int i = 0; i < NSWEEPS; i++) {
        const struct kv *z = snap_getf(s, "sw:s:%s:runs", fixture_sweeps[i]);
        for (size_t j = 0; z && j + 1 < z->n && n < 64; j += 2) {
            sw[n] = fixture_sweeps[i];
            rn[n++] = z->it[j].s;
        }
    }
    if (!n)
        die("the fixture has no runs");
    k = pick(r, (unsigned)n);
    sj->sweep = sw[k];
    sj->run = keep(xstrdup(rn[k]));
    h = snap_getf(s, "sw:r:%s:%s", sw[k], rn[k]);
    sj->worker = keep(xstrdup(hget(h, "worker") ? hget(h, "worker") : ""));
    sj->attempt = hget_ll(h, "attempt", 1);
    sj->last_seq = hget_ll(h, "last_seq", -1);
    sj->wseq = hget_ll(h, "wseq", 0);
}

static const char *other_sweep(const char *s) {
    return streq(s, SWEEP_A) ? SWEEP_B : SWEEP_A;
}

static const char *ctl_sweep(struct rd *r, const struct subject *sj) {
    switch (pick(r, 9)) {
    case 0: return sj->sweep;
    case 1: return other_sweep(sj->sweep);
    case 2: return SWEEP_C;
    case 3: return "swZZ";
    case 4: return "";
    case 5: return huge;
    case 6: return odd;
    case 7: return keep(xprintf("%s:runs", sj->sweep)); /* another key's name */
    default: return keep(xprintf("%s:%s", sj->sweep, sj->run));
    }
}

static const char *ctl_run(struct rd *r, const struct subject *sj) {
    switch (pick(r, 9)) {
    case 0: return sj->run;
    case 1: return streq(sj->run, "a1") ? "a3" : streq(sj->sweep, SWEEP_B) ? "b2" : "a1";
    case 2: return streq(sj->sweep, SWEEP_A) ? "b1" : "a5"; /* another sweep's */
    case 3: return "rZZ";
    case 4: return "";
    case 5: return huge;
    case 6: return odd;
    case 7: return keep(xprintf("%s:hist", sj->run)); /* the run's list */
    default: return keep(xprintf("%s:sum", sj->run)); /* the run's other hash */
    }
}

static const char *ctl_worker(struct rd *r, const struct subject *sj) {
    switch (pick(r, 9)) {
    case 8: return "7"; /* what metric_map()'s "worker": 7 stores */
    case 0: return sj->worker;
    case 1: return streq(sj->worker, W1) ? W2 : W1;
    case 2: return "fz-w9";
    case 3: return worker_id(w);
    case 4: return "";
    case 5: return huge;
    case 6: return odd;
    default: return keep(xprintf("%s ", sj->worker));
    }
}

static void build_control(struct rd *r, const struct subject *sj, struct msg *m) {
    static const char *const names[] = {NULL, "name", NULL, odd};
    unsigned k;

    m->kind = MSG_SWEEP_CONTROL;
    m->u.control.sweep_id = (char *)ctl_sweep(r, sj);
    m->u.control.action = (enum control_action)pick(r, 5);
    m->u.control.ts_ms = ts_choice(r);
    switch (pick(r, 5)) {
    case 0: m->u.control.config_json = NULL; break;
    case 1: m->u.control.config_json = "{}"; break;
    case 2: m->u.control.config_json = huge; break;
    case 3: m->u.control.config_json = "not json"; break;
    default: m->u.control.config_json = cfg_json[0]; break;
    }
    k = pick(r, 4);
    m->u.control.name = (char *)(k == 2 ? huge : names[k]);
}

static void build_run_hdr(struct rd *r, const struct subject *sj, struct msg_run *h,
                          int64_t next_seq) {
    h->sweep_id = (char *)ctl_sweep(r, sj);
    h->run_id = (char *)ctl_run(r, sj);
    h->worker_id = (char *)ctl_worker(r, sj);
    h->attempt = attempt_choice(r, sj->attempt);
    h->seq = seq_choice(r, next_seq);
    h->ts_ms = ts_choice(r);
}

static void build_life(struct rd *r, const struct subject *sj, struct msg *m) {
    static const int32_t codes[] = {0, 0, 1, -1, INT32_MIN, 127};
    static const int32_t sigs[] = {0, 9, 15, -1, INT32_MAX};
    static const int64_t mseqs[] = {-1, 0, 0, INT64_MAX, INT64_MIN, 1000};
    unsigned k;

    m->kind = MSG_RUN_LIFECYCLE;
    build_run_hdr(r, sj, &m->u.life.r, 1);
    m->u.life.event = (enum lifecycle_event)pick(r, 6);
    k = pick(r, 6);
    m->u.life.has_exit_code = k != 0;
    m->u.life.exit_code = codes[k];
    m->u.life.signal = sigs[pick(r, 5)];
    m->u.life.reason = (char *)reason_choice(r);
    k = pick(r, 6);
    m->u.life.last_metric_seq = k == 2 ? sj->last_seq : mseqs[k];
}

static void build_metric(struct rd *r, const struct subject *sj, struct msg *m) {
    static const int64_t steps[] = {0, 0, 5, -1, INT64_MAX, INT64_MIN};
    unsigned k;

    m->kind = MSG_METRIC_EVENT;
    build_run_hdr(r, sj, &m->u.metric.r, (sj->last_seq > 0 ? sj->last_seq : 0) + 1);
    k = pick(r, 6);
    m->u.metric.has_step = k != 0;
    m->u.metric.step = steps[k];
    metric_map(r, &m->u.metric);
}

static void build_status(struct rd *r, const struct subject *sj, struct msg *m) {
    static const char *const workers_[] = {W1, W2, "fz-w9", NULL, "", NULL, odd, "fz-w8"};
    static const char *const pools[] = {NULL, "default", "gpu", NULL, odd};
    static const char *const sweeps[] = {NULL, SWEEP_A, SWEEP_B, SWEEP_C, "swZZ", "",
                                         NULL, NULL};
    static const char *const hosts[] = {"host", "", NULL, odd};
    static const int32_t pids[] = {1234, 0, -1, INT32_MAX, INT32_MIN};
    static char *one[1], *two[2], *fifty[50];
    struct msg_worker_status *st = &m->u.worker;
    unsigned k;
    int64_t wseq;

    m->kind = MSG_WORKER_STATUS;
    k = pick(r, 8);
    st->worker_id = (char *)(k == 3 ? worker_id(w) : k == 5 ? huge : workers_[k]);
    k = pick(r, 5);
    st->pool = (char *)(k == 3 ? huge : pools[k]);
    k = pick(r, 8);
    st->sweep_id = (char *)(k == 6 ? huge : k == 7 ? keep(xprintf("%s:runs", SWEEP_A))
                                                   : sweeps[k]);
    st->state = (enum worker_state)pick(r, 3);
    st->seq = seq_choice(r, 1);
    st->ts_ms = ts_choice(r);
    k = pick(r, 4);
    st->host = (char *)(k == 2 ? huge : hosts[k]);
    st->pid = pids[pick(r, 5)];
    switch (pick(r, 5)) {
    case 0: st->nrunning = 0; break;
    case 1: one[0] = (char *)sj->run, st->running = one, st->nrunning = 1; break;
    case 2: one[0] = huge, st->running = one, st->nrunning = 1; break;
    case 3:
        for (int i = 0; i < 50; i++)
            fifty[i] = (char *)sj->run;
        st->running = fifty, st->nrunning = 50;
        break;
    default: two[0] = (char *)odd, two[1] = "", st->running = two, st->nrunning = 2; break;
    }
    /* received: what Redis says the leaders sent it, and around it */
    {
        const char *id = st->worker_id;
        redisReply *rr = rcmd("GET sw:w:%s:wseq", id);
        wseq = rr->type == REDIS_REPLY_STRING ? strtoll(rr->str, NULL, 10) : 0;
        freeReplyObject(rr);
    }
    switch (pick(r, 7)) {
    case 0: st->received = wseq; break;
    case 1: st->received = wseq - 1; break;
    case 2: st->received = wseq + 1; break;
    case 3: st->received = 0; break;
    case 4: st->received = INT64_MAX; break;
    case 5: st->received = -1; break;
    default: st->received = INT64_MIN; break;
    }
}

/* The worker-facing kinds, to the controller too (it must ignore them). */
static const char *const commands[][4] = {
    {NULL}, /* 0: null: the default ${env} ${interpreter} ${program} ${args} */
    {"${program}"},
    {"@SCRIPT", "${args}"},
    {"/bin/sh", "-c", "exit 0"},
    {"/bin/sh", "-e", "@SCRIPT"},
    {"/usr/bin/env", "FOO=1", "@SCRIPT"},
    {NULL}, /* 6: an empty array */
    {"${interpreter}", "-c", "exit 0"},
    {"/bin/true"},
    {"@HUGE"},
    {"${args_json_file}"},
    {"sh", "-s"},
    {"/usr/bin/env", "-i", "@SCRIPT"},
    {"${env}", "${interpreter}", "${program}"},
    {"@SCRIPT", "@ODD"},
    /* 15: env's NAME=VALUE words passed the allow check, and PATH= made
     * env run another "sh" than the one checked: refused now */
    {"/usr/bin/env", "@EVILPATH", "sh", "@SCRIPT"},
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))
#define CMD_DEFAULT 0
#define CMD_EMPTY 6
#define CMD_ENV_PATH 15

/* Whether the command (with the program) may run: the allow list holds
 * ok.sh's directory only, and the interpreter is sh. */
static int command_allowed(unsigned c, unsigned p) {
    int prog_ok = p == 0 || p == 1 || p == 3 || p == 5; /* script, null, "", script by another path */
    int prog_is_script = p == 0 || p == 5;

    switch (c) {
    case 0: case 1: case 13: return prog_is_script;
    case 2: case 4: case 14: return prog_ok;
    /* 5, 15: env with variables is refused (PATH=DIR would run DIR/sh) */
    default: return 0;
    }
}

static const char *program_choice(unsigned p) {
    switch (p) {
    case 0: return script;
    case 1: return NULL;
    case 2: return "/bin/true";
    case 3: return "";
    case 4: return huge;
    case 5: return keep(xprintf("%s/../allow/./ok.sh", allowdir));
    default: return odd;
    }
}
#define NPROGRAMS 7

/* Parameters: whether they are an object, and whether the run holds. */
static const char *params_choice(unsigned q, int *object, int *hold) {
    static char *big;

    *object = 1;
    *hold = 0;
    switch (q) {
    case 0: *hold = 1; return "{\"hold\": 1}";
    case 1: return "{\"x\": 1}";
    case 2: *object = 0; return "[1, 2]";
    case 3: *object = 0; return "nope";
    case 4: return "{}";
    case 5:
        if (!big)
            big = xprintf("{\"k\": \"%.*s\"}", 90000, huge);
        return big;
    case 6: return "{\"\xc3\xa9\\u2028\\\"\": \"\\u0001\", \"n\": {\"a\": [1, null, true]}}";
    case 7: *object = 0; return "";
    case 8: *hold = 1; return "{\"hold\": {\"nested\": {\"a\": 1}}, \"lr\": 1e-308}";
    default: return "{\"say\": 1}"; /* it prints metric lines */
    }
}
#define NPARAMS 10

static void build_assignment(struct msg *m, const char *sweep, const char *run,
                             const char *worker, int32_t attempt, unsigned q,
                             unsigned p, unsigned c) {
    static char *cmd[4];
    int object, hold;

    m->kind = MSG_RUN_ASSIGNMENT;
    m->u.assign.r.sweep_id = (char *)sweep;
    m->u.assign.r.run_id = (char *)run;
    m->u.assign.r.worker_id = (char *)worker;
    m->u.assign.r.attempt = attempt;
    m->u.assign.r.seq = 0;
    m->u.assign.r.ts_ms = wall_ms();
    m->u.assign.params_json = (char *)params_choice(q, &object, &hold);
    m->u.assign.program = (char *)program_choice(p);
    m->u.assign.command = NULL;
    m->u.assign.ncommand = 0;
    if (c == CMD_DEFAULT)
        return;
    m->u.assign.command = cmd;
    for (size_t i = 0; c != CMD_EMPTY && i < 4 && commands[c][i]; i++) {
        const char *t = commands[c][i];
        cmd[i] = (char *)(streq(t, "@SCRIPT") ? script : streq(t, "@HUGE") ? huge
                          : streq(t, "@ODD") ? odd
                          : streq(t, "@EVILPATH") ? keep(xprintf("PATH=%s", evildir))
                                                 : t);
        m->u.assign.ncommand = i + 1;
    }
}

/* ---- sending: encode, sign, hand over ---- */

enum sigmode {
    SG_KEY1, SG_KEY2, SG_NONE, SG_BAD_MAC, SG_FOREIGN, SG_MALFORMED,
    SG_OTHER_TOPIC, SG_OTHER_KEY, SG_TRAILING, SG_EMPTY, SG_UPPER,
    SG_OTHER_VALUE, SG__COUNT
};

static int sig_good(enum sigmode s) { return s == SG_KEY1 || s == SG_KEY2; }

struct out {
    struct kmsg k;
    void *buf;
    char sig[SIGN_VALUE_LEN + 2];
};

static void encode(const struct msg *m, struct out *o, int json) {
    size_t len = 0;

    trace_msg(strncmp(o->k.topic, WRK_PREFIX ".", 4) ? "controller" : "worker", m,
              o->k.topic);

    if (json) {
        o->buf = codec_metric_json(&m->u.metric);
        CHECK(o->buf != NULL);
        len = strlen(o->buf);
    } else {
        CHECK(codec_encode(codec, m, &o->buf, &len) == 0);
    }
    keep(o->buf);
    o->k.payload = o->buf;
    o->k.len = len;
    o->k.offset = offset_next++;
}

static void sign_out(struct out *o, enum sigmode s, const char *topic) {
    const struct signer *by = s == SG_KEY2 ? sig2 : s == SG_FOREIGN ? sig3 : sig1;
    const char *t = s == SG_OTHER_TOPIC ? ctopics.names[TOPIC_ASSIGN] : topic;
    const void *key = o->k.key;
    size_t key_len = o->k.key_len;
    const void *val = o->k.payload;
    size_t val_len = o->k.len;

    if (s == SG_OTHER_KEY)
        key = "another key", key_len = 11;
    if (s == SG_OTHER_VALUE) /* a signature of other bytes (one less) */
        val_len = val_len ? val_len - 1 : 0;
    CHECK(signer_sign(by, t, key, key_len, val, val_len, o->sig) == 0);
    o->k.sig = o->sig;
    o->k.sig_len = SIGN_VALUE_LEN;
    switch (s) {
    case SG_NONE: o->k.sig = NULL, o->k.sig_len = 0; break;
    case SG_BAD_MAC: /* our key's id, another (well-formed) MAC */
        o->sig[SIGN_VALUE_LEN - 1] = o->sig[SIGN_VALUE_LEN - 1] == '0' ? '1' : '0';
        break;
    case SG_MALFORMED: memcpy(o->sig, "nope", 5), o->k.sig_len = 4; break;
    case SG_TRAILING: o->sig[SIGN_VALUE_LEN] = 'x', o->k.sig_len++; break;
    case SG_EMPTY: o->k.sig_len = 0; break;
    case SG_UPPER:
        for (size_t i = SIGN_KID_LEN + 1; i < SIGN_VALUE_LEN; i++)
            if (o->sig[i] >= 'a' && o->sig[i] <= 'f')
                o->sig[i] = (char)(o->sig[i] - 'a' + 'A');
        break;
    default: break;
    }
}

static void set_key(struct out *o, const char *key) {
    o->k.key = key;
    o->k.key_len = key ? strlen(key) : 0;
}

/* ---- the controller's invariants ---- */

/* What was handed to the controller: the message, and whether it could
 * decode it (JSON only on the metrics topic). kind MSG_NONE: a step. */
struct sent {
    struct msg m;
    int decoded;
};

static int is_terminal(const char *st) {
    return streq(st, "finished") || streq(st, "failed") || streq(st, "killed");
}

static int is_queued(const char *st) {
    return streq(st, "preempted") || streq(st, "crashed");
}

static int is_live(const char *st) {
    return streq(st, "pending") || streq(st, "running") || is_queued(st);
}

/* A run id the controller makes (random_id(): 8 of [a-z0-9]). */
static int controller_made(const char *run) {
    return strlen(run) == 8 && strspn(run, "abcdefghijklmnopqrstuvwxyz0123456789") == 8;
}

static int is_fixture_run(const char *sweep, const char *run) {
    for (size_t i = 0; i < NFXRUNS; i++)
        if (streq(fxruns[i].sweep, sweep) && streq(fxruns[i].run, run))
            return 1;
    return 0;
}

/* A key the fixture or the controller may have: the sweeps' keys, the
 * keys of their runs (members of sw:s:S:runs), the workers' wseq, the
 * lease and the offsets. Anything else is a key made up from a message. */
static int key_allowed(const struct snap *a, const char *key) {
    static const char *const fixed[] = {"sw:sweeps", "sw:lease", "sw:lease:holder",
                                        "sw:lease:seq", "sw:offsets"};
    size_t kl = strlen(key);

    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        if (!strcmp(key, fixed[i]))
            return 1;
    if (kl >= 10 && !strncmp(key, "sw:w:", 5) && !strcmp(key + kl - 5, ":wseq"))
        return 1;
    for (int i = 0; i < NSWEEPS; i++) {
        const char *s = fixture_sweeps[i];
        size_t sl = strlen(s);
        const struct kv *z;
        if (!strncmp(key, "sw:s:", 5) && !strncmp(key + 5, s, sl) &&
            (!key[5 + sl] || !strcmp(key + 5 + sl, ":runs") ||
             !strcmp(key + 5 + sl, ":grid") || !strcmp(key + 5 + sl, ":queue") ||
             !strcmp(key + 5 + sl, ":live")))
            return 1;
        if (strncmp(key, "sw:r:", 5) || strncmp(key + 5, s, sl) || key[5 + sl] != ':')
            continue;
        z = snap_getf(a, "sw:s:%s:runs", s);
        for (size_t j = 0; z && j + 1 < z->n; j += 2) {
            const char *rest = key + 6 + sl, *run = z->it[j].s;
            size_t rl = strlen(run);
            if (!strncmp(rest, run, rl) &&
                (!rest[rl] || !strcmp(rest + rl, ":hist") || !strcmp(rest + rl, ":sum")))
                return 1;
        }
    }
    return 0;
}

/* m is about run sweep/run with its current attempt and worker (the
 * store's fences: attempt, worker, and for events a live run). */
static int about_run(const struct msg_run *h, const char *sweep, const char *run,
                     const struct kv *rb) {
    return streq(h->sweep_id, sweep) && streq(h->run_id, run) &&
           h->attempt == hget_ll(rb, "attempt", -1) &&
           streq(h->worker_id ? h->worker_id : "", hget(rb, "worker"));
}

static size_t list_len(const struct kv *l) { return l ? l->n : 0; }

/* What the metric event's seq is to the store's script: a Lua number
 * (a double) compared with last_seq. Exact below 2^53. */
static int seq_after(int64_t seq, const struct kv *rb) {
    return (double)seq > (double)hget_ll(rb, "last_seq", -1);
}

/* A metric event the store applies for sure: near 2^63 the count of lost
 * events, a Lua number, no longer reads back as an integer and HINCRBY
 * refuses it, before anything is written (seqs count events: no worker
 * gets there; 1e14 is far below). */
static int metric_applies_surely(const struct msg_metric_event *e) {
    return e->r.seq >= 0 && e->r.seq < 100000000000000LL;
}

/* After an applied event the summary has each finite value (the first
 * 20 and the last: a map may have thousands). */
static void check_summary(const struct msg_metric_event *e, const struct kv *sum) {
    for (size_t i = 0; i < e->n; i++) {
        const char *got;
        if ((i >= 20 && i + 1 < e->n) || !isfinite(e->values[i]))
            continue;
        got = hget(sum, e->names[i]); /* "%.17g": reads back exactly */
        CHECK(got != NULL);
        CHECK(strtod(got, NULL) == e->values[i]);
    }
}

static const char *expected_state(enum lifecycle_event ev) {
    switch (ev) {
    case LC_STARTED:
    case LC_HEARTBEAT: return "running";
    case LC_FINISHED: return "finished";
    case LC_FAILED: return "failed";
    case LC_PREEMPTED: return "preempted";
    default: return "killed";
    }
}

/* One run of a fixture sweep, before (rb) and after (ra) the message. */
static void check_run(const struct snap *b, const struct snap *a, const struct sent *s,
                      const char *sweep, const char *swstate, const char *run) {
    const struct kv *rb = snap_getf(b, "sw:r:%s:%s", sweep, run),
                    *ra = snap_getf(a, "sw:r:%s:%s", sweep, run),
                    *hb = snap_getf(b, "sw:r:%s:%s:hist", sweep, run),
                    *ha = snap_getf(a, "sw:r:%s:%s:hist", sweep, run),
                    *sb = snap_getf(b, "sw:r:%s:%s:sum", sweep, run),
                    *sa = snap_getf(a, "sw:r:%s:%s:sum", sweep, run),
                    *qb = snap_getf(b, "sw:s:%s:queue", sweep);
    const struct msg *m = &s->m;
    const char *stb = hget(rb, "state"), *sta = hget(ra, "state");
    long long atb = hget_ll(rb, "attempt", -1), ata = hget_ll(ra, "attempt", -1);
    int life = 0, metric = 0, crash = 0, requeued, changed;

    CHECK(ra != NULL); /* runs are never deleted */
    if (!rb) {
        /* A run the controller made for an idle worker. */
        seen_count[SC_NEW_RUN]++;
        CHECK(streq(swstate, "running")); /* no new run of a paused, finished... sweep */
        CHECK(controller_made(run) && !is_fixture_run(sweep, run));
        CHECK(streq(sta, "pending") && ata == 1 && hget(ra, "worker"));
        /* the worker's count once it has this run: 1 or more, whatever
         * count its statuses claimed */
        CHECK(hget_ll(ra, "wseq", 0) >= 1);
        CHECK(!ha && !sa);
        return;
    }
    if (s->decoded && m->kind == MSG_RUN_LIFECYCLE)
        life = about_run(&m->u.life.r, sweep, run, rb) &&
               (streq(stb, "pending") || streq(stb, "running"));
    if (s->decoded && m->kind == MSG_METRIC_EVENT)
        metric = about_run(&m->u.metric.r, sweep, run, rb) &&
                 seq_after(m->u.metric.r.seq, rb);
    /* An idle status of the run's worker that is behind a run it was
     * sent 3 s ago and never started: the run is requeued. */
    if (s->decoded && m->kind == MSG_WORKER_STATUS)
        crash = streq(m->u.worker.worker_id, hget(rb, "worker")) &&
                streq(stb, "pending") && m->u.worker.state == WS_IDLE;
    /* Given to an idle worker again: attempt + 1, pending, from the queue. */
    {
        int inq = 0;
        for (size_t i = 0; qb && i < qb->n; i++)
            inq |= !strcmp(qb->it[i].s, run);
        requeued = ata == atb + 1 && streq(sta, "pending") &&
                   (inq || (life && m->u.life.event == LC_PREEMPTED) || crash);
    }
    CHECK(ata >= atb); /* an attempt never goes back */
    if (is_terminal(stb))
        CHECK(streq(sta, stb) && ata == atb); /* the end is the end */
    /* A valid event is applied. */
    if (life && !requeued)
        CHECK(streq(sta, expected_state(m->u.life.event)));
    if (life && requeued)
        CHECK(m->u.life.event == LC_PREEMPTED);
    if (metric && !requeued && metric_applies_surely(&m->u.metric)) {
        CHECK(list_len(ha) == list_len(hb) + 1);
        check_summary(&m->u.metric, sa);
    }
    changed = !kv_equal(rb, ra) || !kv_equal(hb, ha) || !kv_equal(sb, sa);
    if (!changed)
        return;
    if (requeued) {
        seen_count[SC_REQUEUE]++;
        /* a requeued run goes on after a stop, not while paused or canceled */
        CHECK(streq(swstate, "running") || streq(swstate, "finished"));
        CHECK(hget(ra, "worker") && !ha && !sa);
        CHECK(hget_ll(ra, "wseq", 0) >= 1);
        return;
    }
    /* Nothing else changes the attempt; a stale or future attempt, or
     * another worker than the run's, changes nothing at all. */
    CHECK(ata == atb);
    if (life) {
        seen_count[SC_LIFE]++;
        CHECK(streq(hget(ra, "worker"), hget(rb, "worker")));
        CHECK(kv_equal(hb, ha) && kv_equal(sb, sa));
        return;
    }
    if (metric) {
        seen_count[SC_METRIC]++;
        CHECK(streq(sta, stb) && streq(hget(ra, "worker"), hget(rb, "worker")));
        CHECK(list_len(ha) == list_len(hb) + 1);
        return;
    }
    if (crash) {
        seen_count[SC_CRASH]++;
        CHECK(streq(sta, "crashed"));
        CHECK(streq(hget(ra, "reason"), "assignment not received by the worker"));
        return;
    }
    CHECK(!"a run changed that the message may not change");
}

/* Whether the metric event finishes its sweep: applied, a target value. */
static int reached_target(const struct snap *b, const struct snap *a,
                          const struct sent *s, const char *sweep) {
    const struct msg_metric_event *e = &s->m.u.metric;
    const struct kv *rb, *hb, *ha;
    int hit = 0;

    if (!s->decoded || s->m.kind != MSG_METRIC_EVENT || !streq(e->r.sweep_id, sweep))
        return 0;
    rb = snap_getf(b, "sw:r:%s:%s", sweep, e->r.run_id);
    hb = snap_getf(b, "sw:r:%s:%s:hist", sweep, e->r.run_id);
    ha = snap_getf(a, "sw:r:%s:%s:hist", sweep, e->r.run_id);
    if (!rb || !about_run(&e->r, sweep, e->r.run_id, rb) || list_len(ha) != list_len(hb) + 1)
        return 0;
    for (size_t i = 0; i < e->n; i++)
        hit |= reaches_target(sweep, e->names[i], e->values[i]);
    return hit;
}

static void check_sweep(const struct snap *b, const struct snap *a, const struct sent *s,
                        const char *sweep) {
    static const char *const states[] = {"pending", "running", "finished", "failed",
                                         "killed", "preempted", "crashed"};
    static const char *const moving[] = {"n:*", "runs_created", "state", "finish_reason",
                                         "updated_at", NULL};
    const struct kv *hb = snap_getf(b, "sw:s:%s", sweep), *ha = snap_getf(a, "sw:s:%s", sweep),
                    *zb = snap_getf(b, "sw:s:%s:runs", sweep),
                    *za = snap_getf(a, "sw:s:%s:runs", sweep),
                    *gb = snap_getf(b, "sw:s:%s:grid", sweep),
                    *ga = snap_getf(a, "sw:s:%s:grid", sweep),
                    *qa = snap_getf(a, "sw:s:%s:queue", sweep),
                    *la = snap_getf(a, "sw:s:%s:live", sweep);
    const char *stb = hget(hb, "state"), *sta = hget(ha, "state");
    long long counts[7] = {0}, made = 0, made_grid = 0, queued = 0;

    CHECK(hb && ha);
    CHECK(hash_equal_but(hb, ha, moving));
    if (!streq(stb, sta)) {
        /* Only the controller's own reasons, and only from running:
         * control messages change nothing (the CLI writes the state). */
        const char *why = hget(ha, "finish_reason");
        CHECK(streq(stb, "running") && streq(sta, "finished"));
        seen_count[streq(why, "run_cap reached") ? SC_FIN_CAP
                   : streq(why, "grid exhausted") ? SC_FIN_GRID : SC_FIN_TARGET]++;
        if (streq(why, "run_cap reached"))
            CHECK(hget_ll(ha, "run_cap", 0) > 0 &&
                  hget_ll(ha, "runs_created", 0) >= hget_ll(ha, "run_cap", 0));
        else if (streq(why, "grid exhausted"))
            CHECK(hget_ll(ha, "grid_size", 0) > 0 &&
                  (long long)bits_set(ga) == hget_ll(ha, "grid_size", 0));
        else if (streq(why, "metric.target reached"))
            CHECK(reached_target(b, a, s, sweep));
        else
            CHECK(!"the sweep finished for no reason of the controller's");
    } else {
        CHECK(same(hget(hb, "finish_reason"), hget(ha, "finish_reason")) &&
              same(hget(hb, "updated_at"), hget(ha, "updated_at")));
    }
    /* A target reached in a running sweep it leads finishes it. */
    if (streq(stb, "running") && strcmp(sweep, SWEEP_C) && reached_target(b, a, s, sweep))
        CHECK(streq(sta, "finished"));
    /* Runs: only more, counted right, each live or queued as its state. */
    for (size_t i = 0; zb && i + 1 < zb->n; i += 2)
        CHECK(zset_has(za, zb->it[i].s));
    for (size_t i = 0; za && i + 1 < za->n; i += 2) {
        const char *run = za->it[i].s;
        const struct kv *ra = snap_getf(a, "sw:r:%s:%s", sweep, run);
        const char *st = hget(ra, "state");
        int found = 0;
        CHECK(ra != NULL);
        for (int k = 0; k < 7; k++)
            if (streq(st, states[k]))
                counts[k]++, found = 1;
        CHECK(found);
        CHECK(set_has(la, run) == is_live(st));
        if (is_queued(st))
            queued++;
        if (!zset_has(zb, run)) {
            long long gi = hget_ll(ra, "grid_index", -1);
            made++;
            if (gi >= 0) {
                made_grid++;
                CHECK(bit_is_set(ga, gi) && !bit_is_set(gb, gi));
            }
        }
        check_run(b, a, s, sweep, stb, run);
    }
    for (int k = 0; k < 7; k++) {
        char f[24];
        snprintf(f, sizeof(f), "n:%s", states[k]);
        CHECK(hget_ll(ha, f, 0) == counts[k]);
    }
    CHECK(hget_ll(ha, "runs_created", -1) == (long long)(za ? za->n / 2 : 0));
    CHECK(hget_ll(ha, "runs_created", 0) == hget_ll(hb, "runs_created", 0) + made);
    /* The queue holds each preempted or crashed run, once. */
    CHECK((long long)list_len(qa) == queued);
    for (size_t i = 0; qa && i < qa->n; i++) {
        const struct kv *ra = snap_getf(a, "sw:r:%s:%s", sweep, qa->it[i].s);
        CHECK(is_queued(hget(ra, "state")));
    }
    /* Grid points only taken by the runs made now. */
    for (size_t i = 0; gb && gb->n == 1 && i < gb->it[0].len * 8; i++)
        if (bit_is_set(gb, (long long)i))
            CHECK(bit_is_set(ga, (long long)i));
    CHECK(bits_set(ga) == bits_set(gb) + (size_t)made_grid);
}

/* sw:w:X:wseq moves only with a run just given to X. */
static void check_wseq(const struct snap *b, const struct snap *a) {
    for (size_t i = 0; i < a->n; i++) {
        const struct kv *ka = &a->v[i], *kb;
        const char *key = ka->key;
        size_t kl = strlen(key);
        char *worker;
        int ok = 0;
        if (strncmp(key, "sw:w:", 5) || kl < 10 || strcmp(key + kl - 5, ":wseq"))
            continue;
        kb = snap_get(b, key);
        if (kv_equal(kb, ka))
            continue;
        CHECK(ka->type == K_STRING && ka->n == 1);
        CHECK(strtoll(ka->it[0].s, NULL, 10) >= 1);
        worker = keep(strndup(key + 5, kl - 10));
        for (int s = 0; s < NSWEEPS && !ok; s++) {
            const struct kv *za = snap_getf(a, "sw:s:%s:runs", fixture_sweeps[s]);
            for (size_t j = 0; za && j + 1 < za->n && !ok; j += 2) {
                const struct kv *ra = snap_getf(a, "sw:r:%s:%s", fixture_sweeps[s], za->it[j].s),
                                *rb = snap_getf(b, "sw:r:%s:%s", fixture_sweeps[s], za->it[j].s);
                ok = streq(hget(ra, "worker"), worker) && streq(hget(ra, "wseq"), ka->it[0].s) &&
                     (!rb || hget_ll(ra, "attempt", 0) > hget_ll(rb, "attempt", 0));
            }
        }
        CHECK(ok);
    }
}

static void check_controller(const struct snap *b, const struct snap *a,
                             const struct sent *s) {
    for (size_t i = 0; i < a->n; i++) {
        if (!key_allowed(a, a->v[i].key))
            fprintf(real_stderr, "key not allowed: %s\n", shown(a->v[i].key));
        CHECK(key_allowed(a, a->v[i].key));
    }
    CHECK(kv_equal(snap_get(b, "sw:sweeps"), snap_get(a, "sw:sweeps")));
    for (int i = 0; i < NSWEEPS; i++)
        check_sweep(b, a, s, fixture_sweeps[i]);
    check_wseq(b, a);
}

/* ---- the worker: a model of what it must do ---- */

struct wmodel {
    int running;            /* a run that holds is going */
    char *sweep, *run;      /* it */
    int32_t attempt;
    char **seen;            /* "sweep\nrun\nattempt" taken in this input */
    size_t nseen;
    char *fresh;            /* the last fresh run id */
    unsigned nfresh;
    int done;               /* it exited (sweep_done) */
};
static struct wmodel wm;

static void wm_reset(void) {
    for (size_t i = 0; i < wm.nseen; i++)
        free(wm.seen[i]);
    free(wm.seen);
    free(wm.sweep);
    free(wm.run);
    free(wm.fresh);
    memset(&wm, 0, sizeof(wm));
}

/* Whether the worker took (sweep, run, attempt) before; remembers it. */
static int wm_seen(const char *sweep, const char *run, int32_t attempt) {
    char *k = xprintf("%s\n%s\n%d", sweep, run, (int)attempt);
    char **nv;

    for (size_t i = 0; i < wm.nseen; i++)
        if (!strcmp(wm.seen[i], k)) {
            free(k);
            return 1;
        }
    if (!(nv = realloc(wm.seen, (wm.nseen + 1) * sizeof(*nv))))
        die("out of memory");
    wm.seen = nv;
    wm.seen[wm.nseen++] = k;
    return 0;
}

/* Run ids to the worker carry the input's number: the worker remembers
 * what it took in earlier inputs too, and an input must replay alone. */
static const char *salted(const char *id) {
    return *id ? keep(xprintf("%s.g%u", id, gen)) : id;
}

static const char *fresh_run(void) {
    free(wm.fresh);
    wm.fresh = xprintf("f%u.%u", gen, wm.nfresh++);
    return keep(xstrdup(wm.fresh));
}

static void wstats(struct worker_stats *s) { worker_get_stats(w, s); }

/* Steps the worker until its run has ended (it must: a hang otherwise). */
static void wait_run_end(void) {
    struct worker_stats s;
    int64_t until = mono_ms() + WAIT_RUN_MS;

    for (wstats(&s); s.running && mono_ms() < until; wstats(&s))
        worker_step(w, 10);
    CHECK(!s.running);
}

struct wexpect {
    int refused, dropped, received, started, stopped, done;
    int hold;
};

static void deliver_worker(struct out *o, enum sigmode sg, const struct wexpect *e) {
    struct worker_stats s0, s1;

    wstats(&s0);
    sign_out(o, sg, o->k.topic);
    worker_handle(w, &o->k);
    if ((e->started && !e->hold) || e->stopped)
        wait_run_end();
    else
        worker_step(w, 0);
    wstats(&s1);
    seen_count[SC_W_STARTED] += (unsigned long)e->started;
    seen_count[SC_W_STOPPED] += (unsigned long)e->stopped;
    seen_count[SC_W_REFUSED] += (unsigned long)e->refused;
    seen_count[SC_W_DROPPED] += (unsigned long)e->dropped;
    seen_count[SC_W_RECEIVED] += (unsigned long)e->received;
    seen_count[SC_W_DONE] += (unsigned long)(wm.done && !s0.done);
    CHECK(s1.malformed == s0.malformed);
    CHECK(s1.refused == s0.refused + (uint64_t)e->refused);
    CHECK(s1.dropped == s0.dropped + (uint64_t)e->dropped);
    CHECK(s1.received == s0.received + (uint64_t)e->received);
    CHECK(s1.runs_started == s0.runs_started + (uint64_t)e->started);
    CHECK(s1.runs_done == s0.runs_done + (uint64_t)((e->started && !e->hold) || e->stopped));
    CHECK(s1.running == wm.running);
    CHECK((s1.done != 0) == wm.done);
    CHECK(access(marker, F_OK) != 0); /* nothing outside --allow-program ran */
}

static const char *wrk_sweep(struct rd *r) {
    const char *mine = wm.running ? wm.sweep : wbound ? wbound : SWEEP_A;

    switch (pick(r, 6)) {
    case 0: return keep(xstrdup(mine));
    case 1: return other_sweep(mine);
    case 2: return "swZZ";
    case 3: return "";
    case 4: return huge;
    default: return odd;
    }
}

static const char *wrk_worker(struct rd *r, int nullable) {
    switch (pick(r, 7)) {
    case 0: return worker_id(w);
    case 1: return nullable ? NULL : worker_id(w);
    case 2: return W1;
    case 3: return "";
    case 4: return huge;
    case 5: return odd;
    default: return keep(xprintf("%sx", worker_id(w)));
    }
}

static void worker_assignment(struct rd *r) {
    struct msg m = {0};
    struct out o = {0};
    struct wexpect e = {0};
    const char *sweep = wrk_sweep(r), *run, *worker;
    int32_t attempt;
    unsigned k = pick(r, 7), q, p, c;
    enum sigmode sg;
    int object, hold, huge_id;

    switch (k) {
    case 0: run = fresh_run(); break;
    case 1: run = wm.running ? keep(xstrdup(wm.run)) : wm.fresh ? keep(xstrdup(wm.fresh))
                                                                : fresh_run(); break;
    case 2: run = wm.fresh ? keep(xstrdup(wm.fresh)) : fresh_run(); break;
    case 3: run = ""; break;
    case 4: run = salted(huge); break;
    case 5: run = salted(odd); break;
    default: run = salted("a1"); break;
    }
    worker = wrk_worker(r, 1);
    attempt = attempt_choice(r, wm.running && streq(run, wm.run) ? wm.attempt : 1);
    q = pick(r, NPARAMS);
    p = pick(r, NPROGRAMS);
    c = pick(r, NCOMMANDS);
    sg = (enum sigmode)pick(r, SG__COUNT);
    build_assignment(&m, sweep, run, worker, attempt, q, p, c);
    o.k.topic = wtopics.names[TOPIC_ASSIGN];
    o.k.partition = (int32_t)pick(r, 4);
    k = pick(r, 3);
    set_key(&o, k == 0 ? run : k == 1 ? NULL : "other");
    encode(&m, &o, 0);
    params_choice(q, &object, &hold);
    huge_id = strlen(sweep) > 1000 || strlen(run) > 1000; /* no such directory */
    if (!sig_good(sg))
        e.refused = 1;
    else if (!worker)
        e.dropped = 1; /* "any worker": no controller of ours sends that */
    else if (strcmp(worker, worker_id(w)))
        ; /* another worker's */
    else if (wbound && strcmp(sweep, wbound))
        e.dropped = 1;
    else if (!*sweep || !*run || attempt < 1)
        e.dropped = 1;
    else if (!wm_seen(sweep, run, attempt)) {
        e.received = 1;
        if (!wm.running && !wm.done && object && !huge_id && command_allowed(c, p)) {
            e.started = 1;
            e.hold = hold;
        }
    }
    if (e.started && e.hold) {
        wm.running = 1;
        free(wm.sweep);
        free(wm.run);
        wm.sweep = xstrdup(sweep);
        wm.run = xstrdup(run);
        wm.attempt = attempt;
    }
    deliver_worker(&o, sg, &e);
}

static void worker_command(struct rd *r) {
    struct msg m = {.kind = MSG_RUN_COMMAND};
    struct out o = {0};
    struct wexpect e = {0};
    struct msg_run_command *c = &m.u.cmd;
    enum sigmode sg;
    unsigned k;

    c->command = (enum run_command_kind)pick(r, 2);
    c->r.sweep_id = (char *)wrk_sweep(r);
    k = pick(r, 5);
    c->r.run_id = (char *)(k == 0 ? (wm.running ? keep(xstrdup(wm.run))
                                     : wm.fresh ? keep(xstrdup(wm.fresh)) : "")
                           : k == 1 ? "" : k == 2 ? salted("a1") : k == 3 ? huge : odd);
    c->r.worker_id = (char *)wrk_worker(r, 0);
    c->r.attempt = attempt_choice(r, wm.running ? wm.attempt : 1);
    c->r.seq = seq_choice(r, 1);
    c->r.ts_ms = ts_choice(r);
    c->reason = (char *)reason_choice(r);
    sg = (enum sigmode)pick(r, SG__COUNT);
    o.k.topic = wtopics.names[TOPIC_ASSIGN];
    o.k.partition = (int32_t)pick(r, 4);
    k = pick(r, 3);
    set_key(&o, k == 0 ? (*c->r.run_id ? c->r.run_id : c->r.worker_id)
                : k == 1 ? NULL : "other");
    encode(&m, &o, 0);
    if (!sig_good(sg))
        e.refused = 1;
    else if (strcmp(c->r.worker_id, worker_id(w)))
        ;
    else if (c->command == RCMD_SWEEP_DONE) {
        /* A pool worker serves every sweep; a bound one ends with its own
         * once idle. */
        if (!wbound || strcmp(c->r.sweep_id, wbound))
            e.dropped = 1;
        else if (!wm.running)
            wm.done = 1;
    } else if (wm.running && streq(c->r.run_id, wm.run) &&
               streq(c->r.sweep_id, wm.sweep) && c->r.attempt == wm.attempt) {
        e.stopped = 1;
        wm.running = 0;
    }
    deliver_worker(&o, sg, &e);
}

/* A kind that has no business on .assign: dropped when signed. */
static void worker_other(struct rd *r, enum msg_kind kind, const struct snap *now) {
    struct msg m = {0};
    struct out o = {0};
    struct wexpect e = {0};
    struct subject sj;
    enum sigmode sg;

    pick_subject(r, now, &sj);
    if (kind == MSG_SWEEP_CONTROL)
        build_control(r, &sj, &m);
    else if (kind == MSG_RUN_LIFECYCLE)
        build_life(r, &sj, &m);
    else if (kind == MSG_METRIC_EVENT)
        build_metric(r, &sj, &m);
    else
        build_status(r, &sj, &m);
    sg = (enum sigmode)pick(r, SG__COUNT);
    o.k.topic = wtopics.names[TOPIC_ASSIGN];
    set_key(&o, sj.run);
    encode(&m, &o, 0);
    if (sig_good(sg))
        e.dropped = 1;
    else
        e.refused = 1;
    deliver_worker(&o, sg, &e);
}

/* ---- the controller: one message ---- */

static const char *topic_choice(struct rd *r, enum msg_kind kind) {
    switch (pick(r, 6)) {
    case 0:
        return ctopics.names[kind == MSG_SWEEP_CONTROL ? TOPIC_CONTROL
                             : kind == MSG_METRIC_EVENT ? TOPIC_METRICS
                             : kind == MSG_RUN_ASSIGNMENT || kind == MSG_RUN_COMMAND
                                 ? TOPIC_ASSIGN : TOPIC_EVENTS];
    case 1: return ctopics.names[TOPIC_CONTROL];
    case 2: return ctopics.names[TOPIC_EVENTS];
    case 3: return ctopics.names[TOPIC_METRICS];
    case 4: return ctopics.names[TOPIC_ASSIGN];
    default: return "other.topic";
    }
}

static void controller_send(struct rd *r, enum msg_kind kind, int json,
                            const struct snap *now, struct sent *s) {
    struct out o = {0};
    struct subject sj;
    unsigned k;

    memset(s, 0, sizeof(*s));
    pick_subject(r, now, &sj);
    switch (kind) {
    case MSG_SWEEP_CONTROL: build_control(r, &sj, &s->m); break;
    case MSG_RUN_LIFECYCLE: build_life(r, &sj, &s->m); break;
    case MSG_METRIC_EVENT: build_metric(r, &sj, &s->m); break;
    case MSG_WORKER_STATUS: build_status(r, &sj, &s->m); break;
    case MSG_RUN_ASSIGNMENT:
        build_assignment(&s->m, ctl_sweep(r, &sj), ctl_run(r, &sj), ctl_worker(r, &sj),
                         attempt_choice(r, sj.attempt), pick(r, NPARAMS),
                         pick(r, NPROGRAMS), pick(r, NCOMMANDS));
        break;
    default:
        s->m.kind = MSG_RUN_COMMAND;
        build_run_hdr(r, &sj, &s->m.u.cmd.r, 1);
        s->m.u.cmd.command = (enum run_command_kind)pick(r, 2);
        s->m.u.cmd.reason = (char *)reason_choice(r);
        break;
    }
    o.k.topic = topic_choice(r, kind);
    o.k.partition = (int32_t)pick(r, 4);
    k = pick(r, 3);
    set_key(&o, k == 0 ? sj.run : k == 1 ? NULL : huge);
    encode(&s->m, &o, json);
    s->decoded = !json || !strcmp(o.k.topic, ctopics.names[TOPIC_METRICS]);
    controller_handle(ctl, &o.k);
}

static void controller_message(struct rd *r, enum msg_kind kind, int json,
                               const struct snap *now, struct sent *s) {
    controller_send(r, kind, json, now, s);
    /* a step: timers, idle workers served; it must still lead */
    CHECK(controller_step(ctl, 0) == 1);
}



/* ---- one input ---- */

/* Makes the controller lead (the fixture freed the lease). Leading reads
 * the topics' metadata: a refused connection to the embedded broker on a
 * loaded machine is retried here, not taken for a finding. */
static void lead(void) {
    for (int tries = 0; tries < 5; tries++) {
        redisReply *r;
        controller_reset(ctl);
        if (controller_step(ctl, 0) == 1)
            return;
        r = rcmd("DEL sw:lease sw:lease:holder"); /* it may have taken it */
        freeReplyObject(r);
        sleep_ms(200);
    }
    die("the controller does not lead");
}

/* FUZZ_HANDLERS_TRACE: where an input's time goes. */
static int64_t phase_t0;
static void phase(const char *what) {
    struct timespec ts;
    int64_t now;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    now = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    if (tracing && phase_t0)
        fprintf(real_stderr, "phase: %s %lld us\n", what, (long long)(now - phase_t0));
    phase_t0 = now;
}

static void input_begin(unsigned f) {
    struct worker_stats s;

    wmode = FX_WORKER(f);
    wbound = wmode == WM_BOUND_A ? SWEEP_A : wmode == WM_BOUND_B ? SWEEP_B : NULL;
    w = worker_get(wmode);
    wstats(&s);
    if (s.received > WORKER_RECEIVED_MAX) {
        worker_drop(wmode);
        w = worker_get(wmode);
        wstats(&s);
    }
    CHECK(!s.running && !s.done);
    wm_reset();
    phase("worker");
    fixture_build(f);
    phase("fixture");
    lead();
    phase("lead");
    if (!(f & FX_NO_WORKERS)) {
        /* Two workers it knows, busy with their runs. */
        static const char *const ids[] = {W1, W2}, *const runs[] = {"a5", "a2"};
        for (int i = 0; i < 2; i++) {
            struct msg m = {.kind = MSG_WORKER_STATUS};
            struct out o = {0};
            char *running[1] = {(char *)runs[i]};
            m.u.worker.worker_id = (char *)ids[i];
            m.u.worker.state = WS_BUSY;
            m.u.worker.seq = 1;
            m.u.worker.ts_ms = wall_ms();
            m.u.worker.host = "host";
            m.u.worker.pid = 100 + i;
            m.u.worker.running = running;
            m.u.worker.nrunning = 1;
            m.u.worker.received = 5 + i;
            o.k.topic = ctopics.names[TOPIC_EVENTS];
            set_key(&o, ids[i]);
            encode(&m, &o, 0);
            controller_handle(ctl, &o.k);
        }
        CHECK(controller_step(ctl, 0) == 1);
    }
    phase("statuses");
    scratch_free();
}

/* The worker idle again: its run stopped (by a message of ours), its
 * files gone. A worker that exited is made again next time. */
static void input_end(void) {
    struct worker_stats s;

    if (wm.running) {
        struct msg m = {.kind = MSG_RUN_COMMAND};
        struct out o = {0};
        struct wexpect e = {.stopped = 1};
        /* What stops it did not come: it still runs. */
        worker_step(w, 2);
        wstats(&s);
        CHECK(s.running);
        m.u.cmd.r.sweep_id = wm.sweep;
        m.u.cmd.r.run_id = wm.run;
        m.u.cmd.r.worker_id = (char *)worker_id(w);
        m.u.cmd.r.attempt = wm.attempt;
        m.u.cmd.r.ts_ms = wall_ms();
        m.u.cmd.command = RCMD_STOP;
        o.k.topic = wtopics.names[TOPIC_ASSIGN];
        set_key(&o, wm.run);
        encode(&m, &o, 0);
        wm.running = 0;
        deliver_worker(&o, SG_KEY1, &e);
    }
    wstats(&s);
    CHECK(!s.running);
    if (s.done)
        worker_drop(wmode);
    w = NULL;
    rm_rf(rundir);
    if (mkdir(rundir, 0755) < 0)
        die("mkdir %s: %s", rundir, strerror(errno));
    scratch_free();
}

enum op {
    OP_CTL_FIRST = 0,  /* 0-5: a message of kind op + 1 to the controller */
    OP_CTL_JSON = 6,   /* a metric event as JSON to the controller */
    OP_WRK_FIRST = 7,  /* 7-12: a message of kind op - 6 to the worker */
    OP_STEP = 13,      /* both step for a few ms: timers */
    OP_DEPOSE = 14,    /* byte 0xff: another leader takes the lease, then a message */
    OP__COUNT
};

/* The scripts Redis ran so far (EVALSHA calls). */
static long long redis_scripts(void) {
    redisReply *r = rcmd("INFO commandstats");
    const char *p = strstr(r->str, "cmdstat_evalsha:calls=");
    long long n = p ? strtoll(p + 22, NULL, 10) : 0;

    freeReplyObject(r);
    return n;
}

/* A deposed leader: every write it tries is refused (the scripts check
 * the token), so nothing changes; and a refused write makes it stand by
 * at once: it tries a few, not a thousand. Then the lease is freed and
 * it leads again (from Redis, which it did not change). No step while
 * deposed: a step down makes a new Kafka client (0.1 s here), and that
 * is leadership, not message handling. */
#define DEPOSED_SCRIPTS_MAX 16

static void depose(struct rd *r, struct snap *before) {
    static const char *const ignore[] = {"sw:lease", "sw:lease:holder", "sw:offsets"};
    struct sent s;
    struct snap after = {0};
    long long scripts;
    redisReply *rr = rcmd("SET sw:lease 999999999 PX 30000");
    unsigned op;

    freeReplyObject(rr);
    rr = rcmd("SET sw:lease:holder fuzz-other-leader PX 30000");
    freeReplyObject(rr);
    scripts = redis_scripts();
    op = u8(r) % (OP_CTL_JSON + 1);
    controller_send(r, op == OP_CTL_JSON ? MSG_METRIC_EVENT : (enum msg_kind)(op + 1),
                    op == OP_CTL_JSON, before, &s);
    CHECK(redis_scripts() - scripts <= DEPOSED_SCRIPTS_MAX);
    snap_take(&after);
    CHECK(after.n == before->n);
    for (size_t i = 0; i < after.n; i++) {
        int skip = 0;
        for (size_t k = 0; k < 3; k++)
            skip |= !strcmp(after.v[i].key, ignore[k]);
        CHECK(!strcmp(after.v[i].key, before->v[i].key));
        CHECK(skip || kv_equal(&after.v[i], &before->v[i]));
    }
    snap_free(&after);
    rr = rcmd("DEL sw:lease sw:lease:holder");
    freeReplyObject(rr);
    lead();
}

static void init_many(void) {
    if (many_names)
        return;
    many_names = calloc(MANY_MAX, sizeof(*many_names));
    many_values = calloc(MANY_MAX, sizeof(*many_values));
    if (!many_names || !many_values)
        die("out of memory");
    for (int i = 0; i < MANY_MAX; i++) {
        many_names[i] = xprintf("m%d", i);
        many_values[i] = i * 0.5;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct rd r = {data, size, 0};
    struct snap before = {0}, after = {0};
    long long dirty;
    int deposed = 0;

    if (size < 1)
        return 0;
    init_many();
    gen++;
    phase_t0 = 0;
    phase("start");
    input_begin(u8(&r));
    snap_take(&before);
    dirty = redis_dirty();
    phase("snapshot");
    for (int i = 0; i < MSGS_MAX && r.i < r.n; i++) {
        /* 0xff deposes (rare: a step down makes a new Kafka client) */
        unsigned b = u8(&r), op = b == 0xff ? OP_DEPOSE : b % OP_DEPOSE;
        struct sent s = {0};
        if (op >= OP_WRK_FIRST && op < OP_STEP) {
            enum msg_kind kind = (enum msg_kind)(op - OP_WRK_FIRST + 1);
            if (kind == MSG_RUN_ASSIGNMENT)
                worker_assignment(&r);
            else if (kind == MSG_RUN_COMMAND)
                worker_command(&r);
            else
                worker_other(&r, kind, &before);
            phase("worker message");
            scratch_free();
            continue;
        }
        if (op == OP_DEPOSE && deposed++)
            op = b % OP_DEPOSE; /* one per input: a step down costs a Kafka client */
        if (op == OP_DEPOSE) {
            depose(&r, &before);
            snap_free(&before);
            snap_take(&before);
            dirty = redis_dirty();
            phase("depose");
            scratch_free();
            continue;
        }
        if (op == OP_STEP) {
            worker_step(w, 3);
            CHECK(controller_step(ctl, 3) == 1);
            s.m.kind = MSG_NONE;
        } else {
            controller_message(&r, op == OP_CTL_JSON ? MSG_METRIC_EVENT
                                                     : (enum msg_kind)(op + 1),
                               op == OP_CTL_JSON, &before, &s);
        }
        phase("controller message");
        if (redis_dirty() == dirty) {
            /* nothing written: what must have changed did not */
            check_controller(&before, &before, &s);
        } else {
            dirty = redis_dirty();
            snap_take(&after);
            phase("snapshot");
            check_controller(&before, &after, &s);
            snap_free(&before);
            before = after;
            memset(&after, 0, sizeof(after));
        }
        phase("check");
        scratch_free();
    }
    input_end();
    phase("end");
    snap_free(&before);
    return 0;
}

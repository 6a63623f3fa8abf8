/*
 * worker.c - the worker engine (see worker.h).
 *
 * One poll loop over the signalfd, the Kafka reader's fd and the run's
 * pipes. Idle: an idle status every second until an assignment addressed
 * to us arrives. Running: heartbeats, metric events, and the run's end
 * reported with its exit code. The run is the only child: SIGCHLD reaps
 * it with waitpid(-1, WNOHANG).
 */
#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "allow.h"
#include "codec.h"
#include "command.h"
#include "kafka.h"
#include "log.h"
#include "proc.h"
#include "sbuf.h"
#include "sign.h"
#include "sweep.h"
#include "topics.h"
#include "value.h"
#include "hash.h"

#define IDLE_RESEND_MS 1000
#define SEEN_MAX (1u << 20) /* assignments remembered (hashes), then forgotten */

struct wrun {
    char *sweep, *run;
    int attempt;
    int64_t seq;       /* next lifecycle sequence number of this attempt */
    int64_t mseq;      /* the last metric event's seq (its own count), 0 none */
    int64_t steps;     /* metric events sent: the step when none is given */
    int64_t dropped;   /* metric events dropped: the local queue was full */
    struct proc *proc;
    int stopping;      /* SIGTERM sent */
    int64_t kill_at;   /* when SIGKILL follows, 0 none */
    char *stop_reason; /* why we stopped it (killed), or NULL */
    int preempting;
    int64_t started_ms;
};

struct worker {
    struct worker_opts o;
    char id[96];
    char host[64];
    struct kafka *kafka;
    struct codec *codec;
    struct topics topics;
    int sigfd;
    int64_t status_seq;
    int64_t received;     /* assignments addressed to us so far */
    struct wrun *run;     /* NULL when idle */
    long runs_done;
    int failures_in_a_row, early_failures;
    int64_t started_ms;
    int64_t next_status, next_heartbeat;
    int64_t idle_since;   /* when the last run ended (dispatch latency) */
    uint64_t malformed;   /* messages that did not decode, skipped */
    uint64_t refused;     /* unsigned or badly signed, skipped */
    uint64_t dropped;     /* signed, but not something we asked for */
    uint64_t runs_started; /* processes started */
    uint64_t metrics_dropped; /* metric events dropped, queue full */
    struct signer *signer; /* NULL: insecure_unsigned */
    struct allow *allow;  /* NULL: any program */
    FILE *stats;          /* $SWEEP_WORKER_STATS: one line per measure */
    const char *drop;     /* $SWEEP_TEST_DROP_METRICS (tests only) */
    int leaving;          /* preempted: exit once the run is reported */
    int done;             /* exit code + 1 when we should stop */
    uint64_t *seen;       /* hashes of every assignment taken, open addressing */
    size_t seen_cap, nseen;
    char run_dir[512];
};

static int64_t mono_us(void) {
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t wall_ms(void) {
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *worker_id(const struct worker *w) { return w->id; }

/* ---- output ---- */

/* Logs the first few of a kind of refusal or loss, then only at powers of two:
 * someone flooding the topic must not flood the log. */
static int log_this(uint64_t n) {
    return n <= 10 || !(n & (n - 1));
}

static void send_msg(struct worker *w, enum topic_id t, const char *key,
                     const struct msg *m) {
    void *buf = NULL;
    size_t len = 0;
    int rc = codec_encode(w->codec, m, &buf, &len);

    if (rc == 0)
        rc = kafka_produce(w->kafka, w->topics.names[t], key, buf, len);
    if (rc)
        LOG(LOG_ERROR, "cannot send %s: %s", msg_kind_name(m->kind),
            sweep_strerror(rc));
    free(buf);
}

static void send_status(struct worker *w, enum worker_state state) {
    struct msg m = {.kind = MSG_WORKER_STATUS};
    char *running[1];

    m.u.worker.worker_id = w->id;
    m.u.worker.pool = (char *)(w->o.sweep_id ? NULL : w->o.pool);
    m.u.worker.sweep_id = (char *)w->o.sweep_id;
    m.u.worker.state = state;
    m.u.worker.seq = ++w->status_seq;
    m.u.worker.ts_ms = wall_ms();
    m.u.worker.host = w->host;
    m.u.worker.pid = (int32_t)getpid();
    m.u.worker.received = w->received;
    if (w->run) {
        running[0] = w->run->run;
        m.u.worker.running = running;
        m.u.worker.nrunning = 1;
    }
    send_msg(w, TOPIC_EVENTS, w->id, &m);
}

static void fill_run_hdr(struct worker *w, struct msg_run *r, const char *sweep,
                         const char *run, int attempt, int64_t seq) {
    r->sweep_id = (char *)sweep;
    r->run_id = (char *)run;
    r->worker_id = w->id;
    r->attempt = attempt;
    r->seq = seq;
    r->ts_ms = wall_ms();
}

/* mseq: the seq of the run's last metric event sent, 0 none (-1 on the
 * wire): the controller counts what did not arrive (schemas/README.md). */
static void send_life(struct worker *w, const char *sweep, const char *run,
                      int attempt, int64_t seq, int64_t mseq,
                      enum lifecycle_event ev, int wstatus, int have_status,
                      const char *reason) {
    struct msg m = {.kind = MSG_RUN_LIFECYCLE};

    fill_run_hdr(w, &m.u.life.r, sweep, run, attempt, seq);
    m.u.life.event = ev;
    m.u.life.reason = (char *)reason;
    m.u.life.last_metric_seq = mseq > 0 ? mseq : -1;
    if (have_status && WIFEXITED(wstatus)) {
        m.u.life.has_exit_code = 1;
        m.u.life.exit_code = WEXITSTATUS(wstatus);
    } else if (have_status && WIFSIGNALED(wstatus)) {
        m.u.life.signal = WTERMSIG(wstatus);
    }
    send_msg(w, TOPIC_EVENTS, run, &m);
}

/* Whether seq is in list, "3,7,12" ($SWEEP_TEST_DROP_METRICS): the
 * integration tests lose those metric events on purpose, as a broker
 * that dropped them would, to check that the controller counts them. */
static int test_dropped(const char *list, int64_t seq) {
    while (list && *list) {
        char *end;
        long long v = strtoll(list, &end, 10);
        if (end == list)
            return 0;
        if (v == seq)
            return 1;
        list = *end == ',' ? end + 1 : end;
    }
    return 0;
}

static void on_metric(void *ud, const struct metric_set *ms) {
    struct worker *w = ud;
    struct wrun *r = w->run;
    struct msg m = {.kind = MSG_METRIC_EVENT};
    char *names[METRICS_MAX_PER_LINE];
    double values[METRICS_MAX_PER_LINE];

    if (!r || !ms->n)
        return;
    fill_run_hdr(w, &m.u.metric.r, r->sweep, r->run, r->attempt, ++r->mseq);
    m.u.metric.has_step = 1;
    m.u.metric.step = ms->has_step ? ms->step : r->steps;
    r->steps++;
    if (w->drop && test_dropped(w->drop, r->mseq))
        return;
    /* "a=1 a=2" names a twice: the last value wins, as in a JSON object
     * (the encoder refuses duplicate names). */
    for (size_t i = 0; i < ms->n; i++) {
        size_t k = 0;
        while (k < m.u.metric.n && strcmp(names[k], ms->names[i]))
            k++;
        names[k] = (char *)ms->names[i];
        values[k] = ms->values[i];
        if (k == m.u.metric.n)
            m.u.metric.n++;
    }
    m.u.metric.names = names;
    m.u.metric.values = values;
    {
        void *buf = NULL;
        size_t len = 0;
        int rc;

        if (!strcmp(w->o.st->metrics_format, "json")) {
            buf = codec_metric_json(&m.u.metric);
            len = buf ? strlen(buf) : 0;
            rc = buf ? 0 : SWEEP_ENOMEM;
        } else {
            rc = codec_encode(w->codec, &m, &buf, &len);
        }
        /* While the cluster is away, metric events wait in the local
         * queue; when it is 90% full they are dropped rather than hold
         * the program up, counted here and, through the gap in seq, by
         * the controller ("lost" in sweep runs). A cluster that is only
         * slow never gets here: the program waits instead (worker_step). */
        if (rc == 0)
            rc = kafka_produce_opt(w->kafka, w->topics.names[TOPIC_METRICS], r->run,
                                   buf, len, NULL, KAFKA_DROPPABLE);
        if (rc == SWEEP_EFULL) {
            r->dropped++;
            w->metrics_dropped++;
            if (log_this(r->dropped))
                LOG(LOG_WARN, "run %s/%s: the local Kafka queue is full (is the "
                    "cluster away?): metric event seq %lld dropped (%lld so far)",
                    r->sweep, r->run, (long long)r->mseq, (long long)r->dropped);
        } else if (rc) {
            LOG(LOG_ERROR, "cannot send a metric event of run %s: %s", r->run,
                sweep_strerror(rc));
        }
        free(buf);
    }
}

/* ---- starting a run ---- */

static int write_file(const char *path, const char *text) {
    FILE *fp = fopen(path, "w");
    int ok = fp && fputs(text, fp) >= 0;

    if (fp && fclose(fp) != 0)
        ok = 0;
    return ok ? 0 : -1;
}

static int mkdirs(char *path) {
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0755) < 0 && errno != EEXIST) {
            *p = '/';
            return -1;
        }
        *p = '/';
    }
    return mkdir(path, 0755) < 0 && errno != EEXIST ? -1 : 0;
}

/* WANDB_SWEEP_PARAM_PATH: {name: {value: v}} for scripts written for
 * W&B; JSON is YAML, so each value is written as JSON. */
static char *param_yaml(const json_t *params) {
    struct sbuf sb = SBUF_INIT;
    const char *k;
    json_t *v;

    json_object_foreach((json_t *)params, k, v) {
        json_t *ks = json_string(k);
        sbuf_adds(&sb, "");
        value_json(&sb, ks);
        sbuf_adds(&sb, ":\n  value: ");
        value_json(&sb, v);
        sbuf_addc(&sb, '\n');
        json_decref(ks);
    }
    return sbuf_detach(&sb);
}

struct run_files {
    char dir[700], args[760], params[760], log[760];
};

static int prepare_dir(struct worker *w, const struct msg_run_assignment *a,
                       const json_t *params, struct run_files *f) {
    char *yaml = param_yaml(params);
    struct sbuf sb = SBUF_INIT;
    int rc = 0;

    snprintf(f->dir, sizeof(f->dir), "%s/%s/%s-%d", w->run_dir, a->r.sweep_id,
             a->r.run_id, (int)a->r.attempt);
    snprintf(f->args, sizeof(f->args), "%s/args.json", f->dir);
    snprintf(f->params, sizeof(f->params), "%s/params.yaml", f->dir);
    snprintf(f->log, sizeof(f->log), "%s/output.log", f->dir);
    value_json(&sb, params);
    if (mkdirs(f->dir) < 0 || !yaml || write_file(f->args, sbuf_str(&sb)) < 0 ||
        write_file(f->params, yaml) < 0)
        rc = -1;
    free(yaml);
    sbuf_release(&sb);
    return rc;
}

static char **run_env(const struct msg_run_assignment *a, const struct run_files *f) {
    char **env = calloc(12, sizeof(char *));
    int k = 0;

    if (!env)
        return NULL;
    if (asprintf(&env[k++], "WANDB_SWEEP_ID=%s", a->r.sweep_id) < 0 ||
        asprintf(&env[k++], "WANDB_RUN_ID=%s", a->r.run_id) < 0 ||
        asprintf(&env[k++], "WANDB_DIR=%s", f->dir) < 0 ||
        asprintf(&env[k++], "WANDB_SWEEP_PARAM_PATH=%s", f->params) < 0 ||
        asprintf(&env[k++], "SWEEP_ID=%s", a->r.sweep_id) < 0 ||
        asprintf(&env[k++], "SWEEP_RUN_ID=%s", a->r.run_id) < 0 ||
        asprintf(&env[k++], "SWEEP_ATTEMPT=%d", (int)a->r.attempt) < 0 ||
        asprintf(&env[k++], "SWEEP_RUN_DIR=%s", f->dir) < 0 ||
        asprintf(&env[k++], "SWEEP_PARAMS=%s", a->params_json) < 0)
        env[k - 1] = NULL;
    return env;
}

static void free_strv(char **v) {
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

static void run_free(struct wrun *r) {
    if (!r)
        return;
    proc_free(r->proc);
    free(r->sweep);
    free(r->run);
    free(r->stop_reason);
    free(r);
}

/* Reports a run that could not start as failed (exit 127, like a shell). */
static void start_failed(struct worker *w, const struct msg_run_assignment *a,
                         const char *why) {
    LOG(LOG_ERROR, "run %s: %s", a->r.run_id, why);
    send_life(w, a->r.sweep_id, a->r.run_id, a->r.attempt, 0, 0, LC_STARTED, 0, 0,
              NULL);
    send_life(w, a->r.sweep_id, a->r.run_id, a->r.attempt, 1, 0, LC_FAILED,
              127 << 8, 1, why);
    w->failures_in_a_row++;
}

static void start_run(struct worker *w, const struct msg_run_assignment *a) {
    json_t *params = json_loads(a->params_json, 0, NULL);
    struct command_ctx ctx = {0};
    struct proc_opts po = {0};
    struct run_files f;
    char **argv = NULL, **env = NULL, err[1024];
    size_t argc = 0;
    struct wrun *r = calloc(1, sizeof(*r));

    if (!r || !params || !json_is_object(params)) {
        start_failed(w, a, "the assignment's params are not a JSON object");
        goto fail;
    }
    if (prepare_dir(w, a, params, &f) < 0) {
        snprintf(err, sizeof(err), "cannot write the run directory under %.300s: %s",
                 w->run_dir, strerror(errno));
        start_failed(w, a, err);
        goto fail;
    }
    ctx.program = a->program;
    ctx.interpreter = command_interpreter(w->o.st->interpreter);
    ctx.args_json_file = f.args;
    ctx.args = params;
    env = run_env(a, &f);
    if (!env || command_build((const char *const *)a->command, a->ncommand, &ctx,
                              &argv, &argc) < 0 || argc == 0) {
        start_failed(w, a, "the command is empty");
        goto fail;
    }
    if (allow_check(w->allow, argv, a->program, ctx.interpreter, err,
                    sizeof(err)) < 0) {
        start_failed(w, a, err);
        goto fail;
    }
    r->sweep = strdup(a->r.sweep_id);
    r->run = strdup(a->r.run_id);
    r->attempt = a->r.attempt;
    r->seq = 1;
    r->started_ms = wall_ms();
    w->run = r;
    po.argv = argv;
    po.env_add = env;
    po.log_path = f.log;
    po.on_metric = on_metric;
    po.ud = w;
    if (proc_spawn(&po, &r->proc, err, sizeof(err)) < 0) {
        w->run = NULL;
        start_failed(w, a, err);
        goto fail;
    }
    w->runs_started++;
    LOG(LOG_INFO, "run %s/%s attempt %d started: %s ...", r->sweep, r->run,
        r->attempt, argv[0]);
    if (w->stats) /* idle -> process started, for the dispatch benchmark */
        fprintf(w->stats, "dispatch_us %lld\n", (long long)(mono_us() - w->idle_since));
    send_life(w, r->sweep, r->run, r->attempt, 0, 0, LC_STARTED, 0, 0, NULL);
    w->next_heartbeat = wall_ms() + (int64_t)(w->o.st->heartbeat * 1000);
    r = NULL;
fail:
    run_free(r);
    command_argv_free(argv);
    free_strv(env);
    json_decref(params);
}

/* ---- the end of a run ---- */

static int too_many_failures(struct worker *w) {
    int64_t age = wall_ms() - w->started_ms;

    if (age <= (int64_t)(w->o.initial_window_s * 1000) &&
        w->early_failures >= w->o.max_initial_failures) {
        LOG(LOG_ERROR, "%d runs failed within the first %.0f s: giving up",
            w->early_failures, w->o.initial_window_s);
        return 1;
    }
    if (w->failures_in_a_row >= w->o.max_consecutive_failures) {
        LOG(LOG_ERROR, "%d runs failed in a row: giving up", w->failures_in_a_row);
        return 1;
    }
    return 0;
}

static void run_ended(struct worker *w, int wstatus) {
    struct wrun *r = w->run;
    enum lifecycle_event ev;
    const char *reason = r->stop_reason;
    char why[64];

    w->idle_since = mono_us(); /* dispatch latency: from here */
    proc_exited(r->proc, wstatus);
    /* What the run left behind in its group must not outlive it. */
    proc_kill(r->proc, SIGKILL);
    if (r->preempting) {
        ev = LC_PREEMPTED;
        reason = "worker preempted (SIGTERM)";
    } else if (r->stopping) {
        ev = LC_KILLED;
    } else if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) {
        ev = LC_FINISHED;
    } else if (WIFEXITED(wstatus)) {
        ev = LC_FAILED;
        snprintf(why, sizeof(why), "exit code %d", WEXITSTATUS(wstatus));
        reason = why;
    } else { /* a signal we did not send: not a failure (COMPAT.md 5) */
        ev = LC_KILLED;
        snprintf(why, sizeof(why), "killed by signal %d", WTERMSIG(wstatus));
        reason = why;
    }
    send_life(w, r->sweep, r->run, r->attempt, r->seq++, r->mseq, ev, wstatus, 1,
              reason);
    LOG(LOG_INFO, "run %s/%s %s%s%s", r->sweep, r->run, lifecycle_event_name(ev),
        reason ? ": " : "", reason ? reason : "");
    if (r->dropped)
        LOG(LOG_WARN, "run %s/%s: %lld of its %lld metric events were dropped "
            "(the local Kafka queue was full)", r->sweep, r->run,
            (long long)r->dropped, (long long)r->mseq);
    if (ev == LC_FAILED) {
        w->failures_in_a_row++;
        if (wall_ms() - w->started_ms <= (int64_t)(w->o.initial_window_s * 1000))
            w->early_failures++;
    } else if (ev == LC_FINISHED) {
        w->failures_in_a_row = 0;
    }
    run_free(r);
    w->run = NULL;
    w->runs_done++;
    /* No flush: the next run is asked for at once, and what this one
     * sent is delivered meanwhile, in order (idempotent producer); on a
     * real cluster a flush waits a round of acks=all replication. A
     * worker that leaves flushes on its way out (flush_timeout). */
    kafka_poll(w->kafka, 0);
    if (w->leaving)
        w->done = 1;
    else if (too_many_failures(w))
        w->done = 2;
    else if (w->o.count > 0 && w->runs_done >= w->o.count)
        w->done = 1;
    w->next_status = 0; /* ask for the next run at once */
}

static void reap(struct worker *w) {
    int status;
    pid_t pid;

    while ((pid = waitpid(-1, &status, WNOHANG)) > 0 ||
           (pid < 0 && errno == EINTR)) {
        if (pid > 0 && w->run && pid == proc_pid(w->run->proc))
            run_ended(w, status);
    }
}

static void stop_run(struct worker *w, const char *reason, int preempt) {
    struct wrun *r = w->run;

    if (!r || r->stopping)
        return;
    r->stopping = 1;
    r->preempting = preempt;
    free(r->stop_reason);
    r->stop_reason = reason ? strdup(reason) : NULL;
    proc_kill(r->proc, SIGTERM);
    r->kill_at = wall_ms() + (int64_t)(w->o.st->grace * 1000);
    LOG(LOG_INFO, "run %s/%s: SIGTERM (%s)", r->sweep, r->run,
        reason ? reason : "preempted");
}

/* ---- input ---- */

/* Kafka delivers at least once: a producer retry can repeat an
 * assignment, and anyone who can write to the topic can replay one. A
 * repeat is neither run twice nor given back (that would requeue the
 * very run we are running), nor counted: the controller's idea of how
 * many assignments reached us must stay exact. Every assignment taken is
 * remembered (a 64-bit hash of sweep, run and attempt) for the worker's
 * life, up to SEEN_MAX. */
static int seen_before(struct worker *w, const struct msg_run_assignment *a) {
    char att[16];
    uint64_t h = FNV1A_INIT;
    size_t i;

    h = fnv1a(h, a->r.sweep_id, strlen(a->r.sweep_id) + 1);
    h = fnv1a(h, a->r.run_id, strlen(a->r.run_id) + 1);
    snprintf(att, sizeof(att), "%d", (int)a->r.attempt);
    h = fnv1a(h, att, strlen(att));
    h |= 1; /* 0 marks an empty slot */
    if (w->nseen * 2 >= w->seen_cap) {
        size_t cap = w->seen_cap ? w->seen_cap * 2 : 64;
        uint64_t *nt = w->nseen >= SEEN_MAX ? NULL : calloc(cap, sizeof(*nt));
        if (!nt) { /* full (or no memory): start over rather than fail */
            if (w->seen)
                memset(w->seen, 0, w->seen_cap * sizeof(*w->seen));
            w->nseen = 0;
        } else {
            for (size_t k = 0; k < w->seen_cap; k++)
                if (w->seen[k]) {
                    for (i = w->seen[k] & (cap - 1); nt[i]; i = (i + 1) & (cap - 1))
                        ;
                    nt[i] = w->seen[k];
                }
            free(w->seen);
            w->seen = nt;
            w->seen_cap = cap;
        }
    }
    for (i = h & (w->seen_cap - 1); w->seen[i]; i = (i + 1) & (w->seen_cap - 1))
        if (w->seen[i] == h)
            return 1;
    w->seen[i] = h;
    w->nseen++;
    return 0;
}

/* A signed message that is still not ours to act on: dropped, counted,
 * logged (rate-limited) with where it came from. */
static void drop(struct worker *w, const struct kmsg *k, const char *what,
                 const char *why) {
    w->dropped++;
    if (log_this(w->dropped))
        LOG(LOG_WARN, "dropped %s at %s [%d] offset %lld: %s (%llu dropped so far)",
            what, k->topic, (int)k->partition, (long long)k->offset, why,
            (unsigned long long)w->dropped);
}

static void on_assignment(struct worker *w, const struct kmsg *k,
                          const struct msg_run_assignment *a) {
    char why[256];

    if (!a->r.worker_id) {
        /* The schema allows "any worker may take it"; no controller of
         * ours sends that, and taking it would run it on every worker. */
        drop(w, k, "an assignment", "it names no worker");
        return;
    }
    if (strcmp(a->r.worker_id, w->id))
        return; /* another worker's: every worker reads every partition */
    if (w->o.sweep_id && strcmp(a->r.sweep_id, w->o.sweep_id)) {
        snprintf(why, sizeof(why), "run %.40s/%.40s: this worker serves sweep %.40s only",
                 a->r.sweep_id, a->r.run_id, w->o.sweep_id);
        drop(w, k, "an assignment", why);
        return;
    }
    if (!*a->r.sweep_id || !*a->r.run_id || a->r.attempt < 1) {
        snprintf(why, sizeof(why), "sweep '%.40s', run '%.40s', attempt %d is no run",
                 a->r.sweep_id, a->r.run_id, (int)a->r.attempt);
        drop(w, k, "an assignment", why);
        return;
    }
    if (seen_before(w, a)) {
        LOG(LOG_INFO, "run %s/%s attempt %d: assignment delivered again: ignored",
            a->r.sweep_id, a->r.run_id, a->r.attempt);
        return;
    }
    w->received++;
    if (w->run || w->leaving || w->done) {
        /* Not ours to run now: give it back at once. */
        LOG(LOG_INFO, "run %s/%s attempt %d: given back (%s%s)", a->r.sweep_id,
            a->r.run_id, a->r.attempt,
            w->run ? "busy with run " : (w->leaving ? "leaving" : "done"),
            w->run ? w->run->run : "");
        send_life(w, a->r.sweep_id, a->r.run_id, a->r.attempt, 0, 0,
                  LC_PREEMPTED, 0, 0, "worker busy");
        return;
    }
    start_run(w, a);
    w->next_status = wall_ms() + IDLE_RESEND_MS;
}

static void on_command(struct worker *w, const struct kmsg *k,
                       const struct msg_run_command *c) {
    if (strcmp(c->r.worker_id, w->id))
        return;
    if (c->command == RCMD_SWEEP_DONE) {
        /* Only a bound worker ends with its sweep; a pool serves them all. */
        if (!w->o.sweep_id || strcmp(c->r.sweep_id, w->o.sweep_id)) {
            drop(w, k, "a sweep_done command",
                 w->o.sweep_id ? "it is about another sweep"
                               : "a pool worker serves every sweep");
            return;
        }
        if (!w->run) {
            LOG(LOG_INFO, "sweep %s: %s", c->r.sweep_id,
                c->reason ? c->reason : "finished");
            w->done = 1;
        }
        return;
    }
    /* A stop for a run that already ended, or another attempt: ignored. */
    if (w->run && !strcmp(w->run->run, c->r.run_id) &&
        !strcmp(w->run->sweep, c->r.sweep_id) &&
        w->run->attempt == c->r.attempt)
        stop_run(w, c->reason ? c->reason : "stopped by the controller", 0);
}

/* Whether k carries the controller's signature (or signatures are off). */
static int signed_ok(struct worker *w, const struct kmsg *k) {
    enum sign_verdict v;

    if (!w->signer)
        return 1;
    v = signer_verify(w->signer, k->topic, k->key, k->key_len, k->payload,
                      k->len, k->sig, k->sig_len);
    if (v == SIGN_OK)
        return 1;
    w->refused++;
    if (log_this(w->refused))
        LOG(LOG_WARN, "refused a message at %s [%d] offset %lld: %s (%llu refused so far)",
            k->topic, (int)k->partition, (long long)k->offset,
            sign_verdict_str(v), (unsigned long long)w->refused);
    return 0;
}

static void handle_msg(struct worker *w, const struct kmsg *k) {
    struct msg m = {0};
    char err[256];

    /* Unsigned bytes are not even decoded. */
    if (!signed_ok(w, k))
        return;
    if (codec_decode(w->codec, k->payload, k->len, &m, err, sizeof(err)) < 0) {
        w->malformed++;
        if (log_this(w->malformed))
            LOG(LOG_WARN, "skipping malformed message at %s [%d] offset %lld: %s",
                k->topic, (int)k->partition, (long long)k->offset, err);
        return;
    }
    if (m.kind == MSG_RUN_ASSIGNMENT)
        on_assignment(w, k, &m.u.assign);
    else if (m.kind == MSG_RUN_COMMAND)
        on_command(w, k, &m.u.cmd);
    else
        drop(w, k, msg_kind_name(m.kind), "not a kind that belongs on this topic");
    msg_release(&m);
}

static void read_kafka(struct worker *w) {
    struct kmsg msgs[64];
    size_t n;

    while ((n = kafka_consume(w->kafka, msgs, 64, 0)) > 0) {
        for (size_t i = 0; i < n && !w->done; i++)
            handle_msg(w, &msgs[i]);
        kafka_msgs_release(msgs, n);
    }
}

static void read_signals(struct worker *w) {
    struct signalfd_siginfo si;

    while (read(w->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (si.ssi_signo == SIGCHLD) {
            reap(w);
            continue;
        }
        LOG(LOG_INFO, "signal %d: leaving", (int)si.ssi_signo);
        w->leaving = 1;
        if (w->run)
            stop_run(w, NULL, 1);
        else
            w->done = 1;
    }
}

static void timers(struct worker *w, int64_t now) {
    struct wrun *r = w->run;

    if (r && r->kill_at && now >= r->kill_at) {
        LOG(LOG_WARN, "run %s/%s: still alive after the grace period: SIGKILL",
            r->sweep, r->run);
        proc_kill(r->proc, SIGKILL);
        r->kill_at = 0;
    }
    if (r && now >= w->next_heartbeat) {
        send_life(w, r->sweep, r->run, r->attempt, r->seq++, r->mseq,
                  LC_HEARTBEAT, 0, 0, NULL);
        w->next_heartbeat = now + (int64_t)(w->o.st->heartbeat * 1000);
    }
    if (!r && !w->leaving && !w->done && now >= w->next_status) {
        send_status(w, WS_IDLE);
        w->next_status = now + IDLE_RESEND_MS;
    }
}

/* ---- setup ---- */

struct worker *worker_new(const struct worker_opts *o, char *errstr,
                          size_t errstr_size) {
    struct worker *w = calloc(1, sizeof(*w));
    struct kafka_opts ko = {0};
    const char *topic;
    sigset_t mask;
    unsigned rnd = (unsigned)time(NULL) ^ (unsigned)getpid();
    uint32_t rid;

    if (!w) {
        signer_free(o->signer);
        return NULL;
    }
    w->o = *o;
    if (!w->o.pool)
        w->o.pool = "default";
    if (!w->o.max_initial_failures)
        w->o.max_initial_failures = 3;
    if (!(w->o.initial_window_s > 0))
        w->o.initial_window_s = 60;
    if (!w->o.max_consecutive_failures)
        w->o.max_consecutive_failures = 5;
    gethostname(w->host, sizeof(w->host) - 1);
    /* 32 random bits: a later worker with the same host and pid must not
     * get our id, or assignments made for us could be replayed to it. */
    if (getrandom(&rid, sizeof(rid), 0) != (ssize_t)sizeof(rid))
        rid = (uint32_t)rand_r(&rnd) << 16 ^ (uint32_t)rand_r(&rnd);
    snprintf(w->id, sizeof(w->id), "%.40s-%d-%08x", w->host, (int)getpid(),
             (unsigned)rid);
    w->sigfd = -1;
    w->signer = o->signer;
    w->o.signer = NULL;
    if (!w->signer && !o->st->insecure_unsigned) {
        snprintf(errstr, errstr_size, "worker: no signing key");
        goto fail;
    }
    if (!w->signer)
        LOG(LOG_WARN, "insecure_unsigned: running unsigned assignments: anyone "
            "who can write to %s.assign can run programs here",
            o->st->prefix);
    if (allow_add_list(&w->allow, o->st->allow_program, errstr, errstr_size) < 0)
        goto fail;
    for (size_t i = 0; i < o->nallow; i++)
        if (allow_add(&w->allow, o->allow[i], errstr, errstr_size) < 0)
            goto fail;
    if (o->st->run_dir && *o->st->run_dir)
        snprintf(w->run_dir, sizeof(w->run_dir), "%s", o->st->run_dir);
    else
        snprintf(w->run_dir, sizeof(w->run_dir), "%s/sweep-runs",
                 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    topics_init(&w->topics, o->st->prefix);
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGHUP);
    sigaddset(&mask, SIGCHLD);
    w->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    ko.brokers = o->st->brokers;
    ko.client_id = "sweep-worker";
    ko.props = (const char *const *)o->st->kafka;
    ko.nprops = o->st->nkafka;
    ko.fetch_wait_ms = (int)o->st->fetch_wait_ms;
    topic = w->topics.names[TOPIC_ASSIGN];
    if (w->sigfd < 0) {
        snprintf(errstr, errstr_size, "signalfd: %s", strerror(errno));
        goto fail;
    }
    if (!(w->codec = codec_new(errstr, errstr_size)) ||
        !(w->kafka = kafka_new(&ko, errstr, errstr_size)) ||
        kafka_read(w->kafka, &topic, 1, KAFKA_FROM_END, 15000, errstr, errstr_size))
        goto fail;
    {
        const char *out[] = {w->topics.names[TOPIC_EVENTS], w->topics.names[TOPIC_METRICS]};
        kafka_prepare(w->kafka, out, 2, 5000);
    }
    w->started_ms = wall_ms();
    w->idle_since = mono_us();
    w->drop = getenv("SWEEP_TEST_DROP_METRICS");
    if (getenv("SWEEP_WORKER_STATS") && *getenv("SWEEP_WORKER_STATS")) {
        w->stats = fopen(getenv("SWEEP_WORKER_STATS"), "a");
        if (w->stats)
            setvbuf(w->stats, NULL, _IOLBF, 0);
    }
    return w;
fail:
    worker_free(w);
    return NULL;
}

void worker_free(struct worker *w) {
    if (!w)
        return;
    run_free(w->run);
    kafka_free(w->kafka);
    codec_free(w->codec);
    signer_free(w->signer);
    allow_free(w->allow);
    free(w->seen);
    if (w->sigfd >= 0)
        close(w->sigfd);
    if (w->stats)
        fclose(w->stats);
    free(w);
}

int worker_step(struct worker *w, int max_wait_ms) {
    struct pollfd p[5];
    int n = 0, fds[3];
    int64_t now = wall_ms();
    int timeout = max_wait_ms;

    if (w->done)
        return 0;
    p[n++] = (struct pollfd){w->sigfd, POLLIN, 0};
    p[n++] = (struct pollfd){kafka_fd(w->kafka), POLLIN, 0};
    /* While the cluster takes our metric events more slowly than the
     * program prints them, the program waits on its full pipe: nothing is
     * lost. When the cluster is away, it is read on (and what the queue
     * cannot hold is dropped and counted, on_metric). */
    if (w->run && kafka_backlog(w->kafka) == KAFKA_BEHIND) {
        if (timeout > 10)
            timeout = 10;
    } else if (w->run) {
        size_t k = proc_fds(w->run->proc, fds);
        for (size_t i = 0; i < k; i++)
            p[n++] = (struct pollfd){fds[i], POLLIN, 0};
    }
    if (w->run && w->next_heartbeat - now < timeout)
        timeout = (int)(w->next_heartbeat - now);
    if (timeout < 0)
        timeout = 0;
    if (poll(p, (nfds_t)n, timeout) < 0 && errno != EINTR) {
        LOG(LOG_ERROR, "poll: %s", strerror(errno));
        w->done = 2;
        return 0;
    }
    for (int i = 2; i < n && w->run; i++)
        if (p[i].revents)
            proc_read(w->run->proc, p[i].fd);
    if (p[0].revents)
        read_signals(w);
    if (p[1].revents)
        read_kafka(w);
    if (w->run) /* a SIGCHLD is cheap to miss, a waitpid cheap to do */
        reap(w);
    kafka_poll(w->kafka, 0);
    timers(w, wall_ms());
    return !w->done;
}

void worker_handle(struct worker *w, const struct kmsg *k) {
    handle_msg(w, k);
}

void worker_get_stats(const struct worker *w, struct worker_stats *s) {
    s->runs_started = w->runs_started;
    s->runs_done = (uint64_t)w->runs_done;
    s->received = (uint64_t)w->received;
    s->malformed = w->malformed;
    s->refused = w->refused;
    s->dropped = w->dropped;
    s->running = w->run != NULL;
    s->done = w->done;
}

int worker_run(struct worker *w) {
    LOG(LOG_INFO, "worker %s ready (%s %s)", w->id, w->o.sweep_id ? "sweep" : "pool",
        w->o.sweep_id ? w->o.sweep_id : w->o.pool);
    while (worker_step(w, 100))
        ;
    send_status(w, WS_LEAVING);
    /* What the run printed while the cluster was away is still queued:
     * give it the time to arrive (flush_timeout), saying so. */
    kafka_flush_wait(w->kafka, (int)(w->o.st->flush_timeout * 1000));
    LOG(LOG_INFO, "worker %s leaving after %ld runs (%llu malformed messages "
        "skipped, %llu refused as unsigned or badly signed, %llu dropped as "
        "not asked for)",
        w->id, w->runs_done, (unsigned long long)w->malformed,
        (unsigned long long)w->refused, (unsigned long long)w->dropped);
    return w->done - 1;
}

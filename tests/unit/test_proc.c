/* test_proc.c - running programs with proc.c: spawn attributes, output
 * lines, metrics, log file, signals.
 *
 * main() sets the process up the way the worker does (SIGINT, SIGTERM,
 * SIGHUP and SIGCHLD blocked and read from a signalfd, SIGPIPE ignored),
 * and adds traps a careless spawn would fall into: stdin is a pipe nobody
 * writes to, and fd 7 is open without close-on-exec. It is also a child
 * subreaper, so grandchildren that lose their parent are reaped here and
 * their fate can be checked.
 *
 * Run with argv[1] == "child-c-client" it is instead a program that reports
 * metrics with clients/sweep_metrics.h; with "child-list-fds", one that
 * prints its open descriptors.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../clients/sweep_metrics.h"
#include "proc.h"
#include "sbuf.h"
#include "sweep.h"
#include "test.h"

static int sig_fd = -1;     /* SIGCHLD, as in the worker */
static char tmpdir[64];     /* logs of this run */
static char log_path[128];  /* the current test's log */
static char self_exe[4096]; /* for child-c-client */

/* ---- metric collection ---------------------------------------------- */

#define GOT_KEEP 64

struct got {
    char keep[GOT_KEEP][512]; /* the first sets, as "a=1 b=2 @3" */
    size_t n;                 /* callbacks */
    double last_i;            /* metric "i" must rise */
    int out_of_order;
    long long gpid; /* metric "gpid": a grandchild to check on */
};

static void fmt_num(char *buf, size_t size, double v) {
    int prec;

    if (isnan(v)) {
        snprintf(buf, size, "nan");
        return;
    }
    if (v == floor(v) && fabs(v) < 1e15) {
        snprintf(buf, size, "%.0f", v);
        return;
    }
    for (prec = 1; prec < 17; prec++) {
        snprintf(buf, size, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            return;
    }
    snprintf(buf, size, "%.17g", v);
}

static void on_metric(void *ud, const struct metric_set *m) {
    struct got *g = ud;
    char buf[512], num[40];
    size_t i, o = 0;

    buf[0] = '\0';
    for (i = 0; i < m->n && o < sizeof(buf) - 200; i++) {
        fmt_num(num, sizeof(num), m->values[i]);
        o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s=%s", i ? " " : "",
                              m->names[i], num);
        if (!strcmp(m->names[i], "i")) {
            if (g->n > 0 && !(m->values[i] > g->last_i))
                g->out_of_order++;
            g->last_i = m->values[i];
        }
        if (!strcmp(m->names[i], "gpid"))
            g->gpid = (long long)m->values[i];
    }
    if (m->has_step)
        snprintf(buf + o, sizeof(buf) - o, " @%lld", (long long)m->step);
    if (g->n < GOT_KEEP)
        snprintf(g->keep[g->n], sizeof(g->keep[0]), "%s", buf);
    g->n++;
}

/* The kept sets that start (or, with want == 0, do not start) with
 * prefix, joined by " | ". */
static const char *got_filter(const struct got *g, const char *prefix,
                              int want) {
    static char out[8192];
    size_t i, o = 0, pl = strlen(prefix);

    out[0] = '\0';
    for (i = 0; i < g->n && i < GOT_KEEP; i++)
        if ((strncmp(g->keep[i], prefix, pl) == 0) == want)
            o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%s",
                                  o ? " | " : "", g->keep[i]);
    return out;
}

static const char *got_join(const struct got *g, const char *prefix) {
    return got_filter(g, prefix, 1);
}

/* ---- running -------------------------------------------------------- */

static long now_ms(void) {
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Took less than ms since t0 (generous bounds: a loaded 2-core box). */
#define CHECK_FAST(t0, ms)                                                     \
    do {                                                                       \
        long took_ = now_ms() - (t0);                                          \
        if (took_ >= (ms)) {                                                   \
            fprintf(stderr, "  %s:%d: took %ld ms, limit %d\n", __FILE__,      \
                    __LINE__, took_, (ms));                                    \
            test_failed_checks_++;                                             \
        }                                                                      \
    } while (0)

static size_t nfds(const struct proc *p) {
    int fds[3];

    return proc_fds(p, fds);
}

typedef int (*until_fn)(struct proc *p, struct got *g);

/*
 * The worker's loop for one process: poll its pipes and the signalfd,
 * read, reap with waitpid. Returns 0 once the process is done (or until()
 * holds), -1 after timeout_ms.
 *
 * The loop also polls a pidfd of the process: SIGCHLD alone is not
 * enough here. A library may start a thread before main() (OpenBLAS does
 * in the sanitizer build) whose mask blocks nothing, and the kernel then
 * delivers SIGCHLD to that thread, where it is discarded.
 */
static int pump(struct proc *p, struct got *g, long timeout_ms,
                until_fn until) {
    long deadline = now_ms() + timeout_ms;
    struct signalfd_siginfo si;
    struct pollfd pfd[5];
    int fds[3], st, pidfd = pidfd_open(proc_pid(p), 0);
    size_t n, i;

    while (!proc_done(p, NULL)) {
        long left = deadline - now_ms();

        if ((until && until(p, g)) || left <= 0)
            break;
        n = proc_fds(p, fds);
        for (i = 0; i < n; i++)
            pfd[i] = (struct pollfd){.fd = fds[i], .events = POLLIN};
        pfd[n] = (struct pollfd){.fd = sig_fd, .events = POLLIN};
        pfd[n + 1] = (struct pollfd){.fd = pidfd, .events = POLLIN};
        if (poll(pfd, n + 2, (int)left) < 0 && errno != EINTR)
            break;
        for (i = 0; i < n; i++)
            if (pfd[i].revents)
                CHECK(proc_read(p, pfd[i].fd) >= 0);
        while (read(sig_fd, &si, sizeof(si)) > 0)
            ;
        if (waitpid(proc_pid(p), &st, WNOHANG) == proc_pid(p))
            proc_exited(p, st);
    }
    if (pidfd >= 0)
        close(pidfd);
    return proc_done(p, NULL) || (until && until(p, g)) ? 0 : -1;
}

static int until_metric(struct proc *p, struct got *g) {
    (void)p;
    return g->n > 0;
}

static void set_log(const char *name) {
    snprintf(log_path, sizeof(log_path), "%s/%s.log", tmpdir, name);
}

static struct proc *start_opts(struct proc_opts *o, struct got *g) {
    char err[256] = "";
    struct proc *p = NULL;
    int rc;

    memset(g, 0, sizeof(*g));
    o->on_metric = on_metric;
    o->ud = g;
    rc = proc_spawn(o, &p, err, sizeof(err));
    CHECK_STR(err, "");
    CHECK_INT(rc, 0);
    return p;
}

/* sh -c script, logging to log_path. */
static struct proc *start_sh(const char *script, struct got *g) {
    char *argv[] = {"sh", "-c", (char *)script, NULL};
    struct proc_opts o = {.argv = argv, .log_path = log_path};

    return start_opts(&o, g);
}

/* Runs script to the end (3 s at most); returns the wait status. */
static int run_sh(const char *script, struct got *g) {
    struct proc *p = start_sh(script, g);
    int st = -1;

    if (!p)
        return -1;
    CHECK_INT(pump(p, g, 3000, NULL), 0);
    CHECK_INT(proc_done(p, &st), 1);
    CHECK_INT(nfds(p), 0);
    proc_free(p);
    return st;
}

static char *slurp(const char *path, size_t *len) {
    struct sbuf sb = SBUF_INIT;
    char buf[65536];
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return strdup("");
    while ((n = read(fd, buf, sizeof(buf))) > 0)
        sbuf_add(&sb, buf, (size_t)n);
    close(fd);
    if (len)
        *len = sb.len;
    return sb.len ? sbuf_detach(&sb) : strdup("");
}

static size_t count_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    size_t n = 0;

    if (!d)
        return 0;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

/* Waits (1 s at most) for a child or reparented grandchild; its wait
 * status, or -1. */
static int reap_grandchild(pid_t pid) {
    long deadline = now_ms() + 1000;
    int st;

    while (now_ms() < deadline) {
        if (waitpid(pid, &st, WNOHANG) == pid)
            return st;
        usleep(2000);
    }
    return -1;
}

/* Whether a grandchild is gone within 1 s: reaped here (we are a
 * subreaper) after dying of sig, or already reaped by its own parent
 * (a shell reaps a background job that dies before the shell does). */
static int grandchild_gone(pid_t pid, int sig) {
    long deadline = now_ms() + 1000;
    int st;

    while (now_ms() < deadline) {
        if (waitpid(pid, &st, WNOHANG) == pid)
            return WIFSIGNALED(st) && WTERMSIG(st) == sig;
        if (kill(pid, 0) < 0 && errno == ESRCH)
            return 1;
        usleep(2000);
    }
    return 0;
}

/* ---- tests ---------------------------------------------------------- */

static void test_stdout_metrics_and_log(void) {
    struct got g;
    char *log;
    int st;

    set_log("stdout");
    st = run_sh("echo 'a=1 _step=0'; echo 'plain text'; echo 'a=2 b=3';"
                "echo 'a=x'; echo 'epoch 3: loss=1'; echo; printf 'a=4'",
                &g);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK_INT(g.n, 3);
    CHECK_STR(got_join(&g, ""), "a=1 @0 | a=2 b=3 | a=4");
    log = slurp(log_path, NULL);
    CHECK_STR(log, "a=1 _step=0\nplain text\na=2 b=3\na=x\nepoch 3: loss=1\n"
                   "\na=4\n");
    free(log);
}

static void test_stderr_metrics(void) {
    struct got g;
    char *log;
    int st;

    set_log("stderr");
    st = run_sh("echo e=1 >&2; echo o=1; echo e=2 >&2; echo o=2;"
                "echo e=3 >&2; echo 'e=x' >&2",
                &g);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK_INT(g.n, 5);
    CHECK_STR(got_join(&g, "e="), "e=1 | e=2 | e=3");
    CHECK_STR(got_join(&g, "o="), "o=1 | o=2");
    log = slurp(log_path, NULL);
    CHECK_HAS(log, "e=1\n");
    CHECK_HAS(log, "e=2\n");
    CHECK_HAS(log, "e=3\n");
    CHECK_HAS(log, "e=x\n");
    CHECK(strstr(log, "o=1\n") && strstr(log, "o=2\n") &&
          strstr(log, "o=1\n") < strstr(log, "o=2\n"));
    CHECK_INT(strlen(log), 24);
    free(log);
}

static void test_metrics_fd(void) {
    struct got g;
    char *log;
    int st;

    set_log("metricsfd");
    st = run_sh("echo \"fd=$SWEEP_METRICS_FD\";"
                "echo '{\"loss\": 0.5, \"_step\": 3, \"note\": \"x\"}'"
                "  >&\"$SWEEP_METRICS_FD\";"
                "echo '{\"loss\": NaN, \"ok\": true}' >&3;"
                "echo 'not json' >&3; echo 'loss=7' >&3;"
                "printf '{\"loss\": 2}' >&3",
                &g);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK_STR(got_join(&g, "fd="), "fd=3");
    /* Only JSON counts on the metrics fd, in order; the last line has no
     * newline and is taken at end of file. */
    CHECK_STR(got_join(&g, "loss="), "loss=0.5 @3 | loss=nan | loss=2");
    log = slurp(log_path, NULL);
    CHECK_HAS(log, "not json\n");
    CHECK_HAS(log, "{\"loss\": 2}\n");
    free(log);
}

static void test_no_parse_output(void) {
    char *argv[] = {"sh", "-c", "echo a=1; echo b=2 >&2; echo '{\"j\": 2}' >&3",
                    NULL};
    struct proc_opts o = {
        .argv = argv, .log_path = log_path, .no_parse_output = 1};
    struct got g;
    struct proc *p;
    char *log;

    set_log("noparse");
    if (!(p = start_opts(&o, &g)))
        return;
    CHECK_INT(pump(p, &g, 3000, NULL), 0);
    proc_free(p);
    CHECK_STR(got_join(&g, ""), "j=2");
    log = slurp(log_path, NULL);
    CHECK_HAS(log, "a=1\n");
    CHECK_HAS(log, "b=2\n");
    free(log);
}

static void test_no_metrics_fd(void) {
    char *argv[] = {self_exe, "child-list-fds", NULL};
    struct proc_opts o = {
        .argv = argv, .log_path = log_path, .no_metrics_fd = 1};
    struct got g;
    struct proc *p;
    char *log;

    set_log("nometricsfd");
    setenv("SWEEP_METRICS_FD", "9", 1); /* ours from a parent sweep */
    p = start_opts(&o, &g);
    unsetenv("SWEEP_METRICS_FD");
    if (!p)
        return;
    CHECK_INT(nfds(p), 2);
    CHECK_INT(pump(p, &g, 3000, NULL), 0);
    proc_free(p);
    log = slurp(log_path, NULL);
    CHECK_STR(log, "fds 0 1 2\nSWEEP_METRICS_FD unset\n");
    free(log);
}

static void test_stdin_is_dev_null(void) {
    struct got g;
    char *log;
    int st;

    set_log("stdin");
    /* Our stdin is a pipe nobody writes to: inherited, read would hang. */
    st = run_sh("if read x; then echo got; else echo eof=1; fi;"
                "readlink /proc/$$/fd/0",
                &g);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK_STR(got_join(&g, ""), "eof=1");
    log = slurp(log_path, NULL);
    CHECK_HAS(log, "/dev/null\n");
    free(log);
}

static void test_own_session_and_group(void) {
    struct got g;
    struct proc *p;
    char want[128];

    set_log("group");
    p = start_sh("read pid comm state ppid pgrp sid rest < /proc/self/stat;"
                 "echo \"pid=$pid pgrp=$pgrp sid=$sid\"",
                 &g);
    if (!p)
        return;
    snprintf(want, sizeof(want), "pid=%d pgrp=%d sid=%d", (int)proc_pid(p),
             (int)proc_pid(p), (int)proc_pid(p));
    CHECK_INT(pump(p, &g, 3000, NULL), 0);
    CHECK_STR(got_join(&g, ""), want);
    CHECK(getpgrp() != proc_pid(p));
    proc_free(p);
}

static void test_no_fd_leaks(void) {
    char *argv[] = {self_exe, "child-list-fds", NULL};
    struct proc_opts o = {.argv = argv, .log_path = log_path};
    struct got g, g2;
    struct proc *other, *p;
    char *log;

    /* A second run's pipes and log are open here while this one starts. */
    set_log("other");
    other = start_sh("exec sleep 10", &g2);
    set_log("fds");
    if ((p = start_opts(&o, &g))) {
        CHECK_INT(nfds(p), 3);
        CHECK_INT(pump(p, &g, 3000, NULL), 0);
        proc_free(p);
    }
    log = slurp(log_path, NULL);
    /* Not 7, nor anything of `other`. */
    CHECK_STR(log, "fds 0 1 2 3\nSWEEP_METRICS_FD=3\n");
    free(log);
    /* What they are, seen from a shell. */
    set_log("fds_sh");
    run_sh("readlink /proc/$$/fd/0 /proc/$$/fd/1 /proc/$$/fd/2 "
           "/proc/$$/fd/3",
           &g);
    log = slurp(log_path, NULL);
    CHECK(!strncmp(log, "/dev/null\npipe:[", 16));
    CHECK(strstr(log, "\npipe:[") &&
          strstr(strstr(log, "\npipe:[") + 1, "\npipe:[") &&
          strstr(strstr(strstr(log, "\npipe:[") + 1, "\npipe:[") + 1,
                 "\npipe:["));
    free(log);
    if (other) {
        CHECK_INT(proc_kill(other, SIGKILL), 0);
        CHECK_INT(pump(other, &g2, 3000, NULL), 0);
        proc_free(other);
    }
}

/* The hex after "name:\t" in /proc/<pid>/status text. */
static unsigned long long status_mask(const char *status, const char *name) {
    const char *s = strstr(status, name);

    return s ? strtoull(s + strlen(name) + 2, NULL, 16) : ~0ULL;
}

static void test_clean_signal_state(void) {
    /* glibc's posix_spawn leaves its two internal signals (32 and 33,
     * below SIGRTMIN, never used by programs) ignored in every child. */
    const unsigned long long glibc_internal = 3ULL << 31;
    struct got g;
    char *mine, *log;
    int st;

    /* The test itself blocks and ignores signals, as the worker does. */
    mine = slurp("/proc/self/status", NULL);
    CHECK(status_mask(mine, "SigBlk") != 0);
    CHECK(status_mask(mine, "SigIgn") & (1ULL << (SIGPIPE - 1)));
    free(mine);
    set_log("signals");
    /* Read by the shell itself: dash blocks signals around a fork, so a
     * `cat` would see the shell mid-fork. */
    st = run_sh("while read l; do case $l in Sig*) echo \"$l\";; esac;"
                "done < /proc/$$/status",
                &g);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    log = slurp(log_path, NULL);
    CHECK_HAS(log, "SigBlk:\t0000000000000000\n");
    CHECK_INT(status_mask(log, "SigBlk"), 0);
    CHECK_INT(status_mask(log, "SigIgn") & ~glibc_internal, 0);
    CHECK_INT(status_mask(log, "SigPnd"), 0);
    free(log);
}

static void test_sigterm_kills_child(void) {
    struct got g;
    struct proc *p;
    long t0;
    int st = 0;

    set_log("sigterm");
    if (!(p = start_sh("echo ready=1; exec sleep 10", &g)))
        return;
    CHECK_INT(pump(p, &g, 3000, until_metric), 0);
    CHECK_STR(got_join(&g, ""), "ready=1");
    t0 = now_ms();
    CHECK_INT(proc_kill(p, SIGTERM), 0);
    CHECK_INT(pump(p, &g, 3000, NULL), 0);
    CHECK_FAST(t0, 1000);
    CHECK_INT(proc_done(p, &st), 1);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);
    CHECK_INT(proc_kill(p, SIGTERM), 0); /* group gone: not an error */
    proc_free(p);
}

static void test_kill_reaches_grandchildren(void) {
    struct got g;
    struct proc *p;
    int st = 0;

    set_log("grandchildren");
    if (!(p = start_sh("sleep 100 & echo \"gpid=$!\"; sleep 100", &g)))
        return;
    CHECK_INT(pump(p, &g, 3000, until_metric), 0);
    CHECK(g.gpid > 0);
    CHECK_INT(proc_kill(p, SIGTERM), 0);
    CHECK_INT(pump(p, &g, 3000, NULL), 0);
    CHECK_INT(proc_done(p, &st), 1);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);
    proc_free(p);
    if (g.gpid > 0) {
        CHECK(grandchild_gone((pid_t)g.gpid, SIGTERM));
    }
}

static void test_exit_codes(void) {
    struct got g;
    struct proc *p;
    pid_t pid;
    int st;

    set_log("exit");
    st = run_sh("exit 3", &g);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 3);
    st = run_sh("exit 0", &g);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    st = run_sh("kill -KILL $$", &g);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    if (!(p = start_sh("exec sleep 10", &g)))
        return;
    st = 12345;
    CHECK_INT(proc_done(p, &st), 0);
    CHECK_INT(st, 12345);
    CHECK_INT(proc_read(p, 1000), SWEEP_EINVAL); /* not one of its fds */
    CHECK_INT(proc_read(p, -1), SWEEP_EINVAL);
    pid = proc_pid(p);
    proc_free(p); /* SIGKILLs the running group */
    st = reap_grandchild(pid);
    CHECK(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    proc_free(NULL);
}

static void test_free_kills_running(void) {
    struct got g;
    struct proc *p;
    pid_t pid;
    int st;

    set_log("free");
    if (!(p = start_sh("sleep 100 & echo \"gpid=$!\"; exec sleep 100", &g)))
        return;
    CHECK_INT(pump(p, &g, 3000, until_metric), 0);
    pid = proc_pid(p);
    proc_free(p);
    st = reap_grandchild(pid); /* a child here, reaped the same way */
    CHECK(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    if (g.gpid > 0) {
        st = reap_grandchild((pid_t)g.gpid);
        CHECK(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    }
}

static void test_env(void) {
    char *env_add[] = {"SWEEP_TEST_OUTER=inner", "SWEEP_TEST_NEW=a=b",
                       "SWEEP_TEST_GONE",        "SWEEP_TEST_NEW=last",
                       "SWEEP_METRICS_FD=7",     NULL};
    char *argv[] = {"sh", "-c",
                    "echo \"outer=$SWEEP_TEST_OUTER keep=$SWEEP_TEST_KEEP"
                    " gone=${SWEEP_TEST_GONE-unset} new=$SWEEP_TEST_NEW"
                    " fd=$SWEEP_METRICS_FD\";"
                    "echo n=$(env | grep -c '^SWEEP_TEST_\\|^SWEEP_METRICS')",
                    NULL};
    struct proc_opts o = {
        .argv = argv, .env_add = env_add, .log_path = log_path};
    struct got g;
    struct proc *p;
    char *log;

    set_log("env");
    setenv("SWEEP_TEST_OUTER", "outer", 1);
    setenv("SWEEP_TEST_KEEP", "kept", 1);
    setenv("SWEEP_TEST_GONE", "there", 1);
    setenv("SWEEP_METRICS_FD", "9", 1);
    p = start_opts(&o, &g);
    unsetenv("SWEEP_TEST_OUTER");
    unsetenv("SWEEP_TEST_KEEP");
    unsetenv("SWEEP_TEST_GONE");
    unsetenv("SWEEP_METRICS_FD");
    if (!p)
        return;
    CHECK_INT(pump(p, &g, 3000, NULL), 0);
    proc_free(p);
    log = slurp(log_path, NULL);
    CHECK_STR(log, "outer=inner keep=kept gone=unset new=last fd=3\n"
                   "n=4\n");
    CHECK_STR(got_join(&g, ""), "n=4");
    free(log);
}

static void test_cwd(void) {
    char *argv[] = {"sh", "-c", "pwd", NULL};
    struct proc_opts o = {.argv = argv, .cwd = tmpdir, .log_path = log_path};
    struct got g;
    struct proc *p;
    char *log, want[128];

    set_log("cwd");
    if (!(p = start_opts(&o, &g)))
        return;
    CHECK_INT(pump(p, &g, 3000, NULL), 0);
    proc_free(p);
    log = slurp(log_path, NULL);
    snprintf(want, sizeof(want), "%s\n", tmpdir);
    CHECK_STR(log, want);
    free(log);
}

/* proc_spawn(o) must fail with rc and an errstr holding both needles, and
 * leave no descriptor open. */
static void spawn_fails(struct proc_opts *o, int rc, const char *needle1,
                        const char *needle2) {
    size_t before = count_fds();
    struct proc *p = (struct proc *)1;
    char err[256] = "";

    CHECK_INT(proc_spawn(o, &p, err, sizeof(err)), rc);
    CHECK(p == NULL);
    CHECK_HAS(err, needle1);
    CHECK_HAS(err, needle2);
    CHECK_INT(count_fds(), before);
}

static void test_spawn_errors(void) {
    char *missing[] = {"sweep-no-such-program-xyz", "--x", NULL};
    char *notexec[] = {"/etc/passwd", NULL};
    char *ok[] = {"sh", "-c", "exit 0", NULL};
    char *empty[] = {NULL};
    char badlog[160];
    struct proc_opts o = {.argv = missing, .log_path = log_path};

    set_log("errors");
    spawn_fails(&o, SWEEP_EIO, "cannot run 'sweep-no-such-program-xyz'",
                "No such file or directory");
    o.argv = notexec;
    spawn_fails(&o, SWEEP_EIO, "'/etc/passwd'", "Permission denied");
    o.argv = ok;
    o.cwd = "/sweep-no-such-dir";
    spawn_fails(&o, SWEEP_EIO, "'/sweep-no-such-dir'",
                "No such file or directory");
    o.cwd = "/etc/passwd";
    spawn_fails(&o, SWEEP_EIO, "'/etc/passwd'", "Not a directory");
    o.cwd = NULL;
    snprintf(badlog, sizeof(badlog), "%s/no/such/dir.log", tmpdir);
    o.log_path = badlog;
    spawn_fails(&o, SWEEP_EIO, "cannot open log file", "/no/such/dir.log");
    o.argv = empty;
    spawn_fails(&o, SWEEP_EINVAL, "empty argv", "");
}

static int until_stdout_closed(struct proc *p, struct got *g) {
    return g->n > 0 && nfds(p) == 2;
}

static void test_stdout_closed_early(void) {
    struct got g;
    struct proc *p;
    int st = 0;

    set_log("closed");
    if (!(p = start_sh("exec 1>&-; echo closed=1 >&2; exec sleep 10", &g)))
        return;
    /* Stdout reaches end of file while the program runs on. */
    CHECK_INT(pump(p, &g, 3000, until_stdout_closed), 0);
    CHECK_INT(proc_done(p, NULL), 0);
    CHECK_STR(got_join(&g, ""), "closed=1");
    CHECK_INT(proc_kill(p, SIGKILL), 0);
    CHECK_INT(pump(p, &g, 3000, NULL), 0);
    CHECK_INT(proc_done(p, &st), 1);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    proc_free(p);
}

static void test_drain_with_grandchild_holding_pipes(void) {
    struct got g;
    struct proc *p;
    long t0 = now_ms();
    int st = 0;

    set_log("drain");
    /* The leader exits at once; a grandchild keeps every pipe open. */
    if (!(p = start_sh("sleep 10 & echo \"gpid=$!\"; echo x=1 >&2;"
                       "echo '{\"y\": 2}' >&3",
                       &g)))
        return;
    CHECK_INT(pump(p, &g, 3000, NULL), 0);
    CHECK_FAST(t0, 1000);
    CHECK_INT(proc_done(p, &st), 1);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK_INT(nfds(p), 0);
    CHECK_INT(g.n, 3);
    CHECK_STR(got_join(&g, "x="), "x=1");
    CHECK_STR(got_join(&g, "y="), "y=2");
    /* What the leader left behind is still reachable through its group. */
    CHECK_INT(proc_kill(p, SIGKILL), 0);
    proc_free(p);
    if (g.gpid > 0) {
        st = reap_grandchild((pid_t)g.gpid);
        CHECK(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    }
}

static void test_10mb_output(void) {
    struct got g;
    char *log, *s, *nl;
    size_t len = 0, a = 0, b = 0, bad = 0;
    long t0 = now_ms();
    int st;

    set_log("big");
    /* 5 MB on each of stdout and stderr at once: neither may block. */
    st = run_sh("(yes abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLM | head -c 5000000"
                "  >&2) & yes 0123456789abcdefghi | head -c 5000000; wait",
                &g);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK_FAST(t0, 2500);
    CHECK_INT(g.n, 0);
    log = slurp(log_path, &len);
    CHECK_INT(len, 10000000);
    /* Lines of the two streams interleave but are never mixed. */
    for (s = log; (nl = memchr(s, '\n', len - (size_t)(s - log))); s = nl + 1) {
        if (nl - s == 39 &&
            !memcmp(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLM", 39))
            a++;
        else if (nl - s == 19 && !memcmp(s, "0123456789abcdefghi", 19))
            b++;
        else
            bad++;
    }
    CHECK_INT(a, 125000);
    CHECK_INT(b, 250000);
    CHECK_INT(bad, 0);
    free(log);
}

static void test_many_metrics_in_order(void) {
    struct got g;
    int st;

    set_log("many");
    st = run_sh("seq 1 100000 | sed 's/^/i=/'; seq 100001 100100 |"
                "sed 's/^/{\"i\": /; s/$/}/' >&3",
                &g);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK_INT(g.n, 100100);
    CHECK_INT(g.out_of_order, 0);
    CHECK_DBL(g.last_i, 100100, 0);
}

/* Lengths of the log's lines, as "65536 4 7". */
static const char *line_lengths(const char *log, size_t len) {
    static char out[1024];
    const char *s = log, *nl;
    size_t o = 0;

    out[0] = '\0';
    while ((nl = memchr(s, '\n', len - (size_t)(s - log))) &&
           o < sizeof(out) - 32) {
        o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%zu", o ? " " : "",
                              (size_t)(nl - s));
        s = nl + 1;
    }
    return out;
}

static void test_long_lines(void) {
    struct got g;
    char *log;
    size_t len = 0;
    int st;

    set_log("long");
    /* 64 KiB of a's then " x=1": the cut-off rest looks like a metric but
     * belongs to a longer line. b's end exactly at the cut. */
    st = run_sh("head -c 65536 /dev/zero | tr '\\0' a; echo ' x=1';"
                "echo after=1;"
                "head -c 65536 /dev/zero | tr '\\0' b; echo;"
                "head -c 200000 /dev/zero | tr '\\0' c; echo; echo end=1;"
                "head -c 1000 /dev/zero | tr '\\0' e",
                &g);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK_STR(got_join(&g, ""), "after=1 | end=1");
    log = slurp(log_path, &len);
    CHECK_STR(line_lengths(log, len),
              "65536 4 7 65536 65536 65536 65536 3392 5 1000");
    CHECK(len > 0 && log[len - 1] == '\n');
    free(log);
    /* The same on the metrics fd. */
    set_log("long3");
    st = run_sh("head -c 70000 /dev/zero | tr '\\0' d >&3;"
                "echo ' {\"z\": 1}' >&3; echo '{\"w\": 1}' >&3",
                &g);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK_STR(got_join(&g, ""), "w=1");
    log = slurp(log_path, &len);
    CHECK_STR(line_lengths(log, len), "65536 4473 8");
    free(log);
}

static void test_c_client(void) {
    char *argv[] = {self_exe, "child-c-client", NULL};
    struct proc_opts o = {.argv = argv, .log_path = log_path};
    struct got g;
    struct proc *p;

    set_log("cclient");
    if (!(p = start_opts(&o, &g)))
        return;
    CHECK_INT(pump(p, &g, 3000, NULL), 0);
    proc_free(p);
    /* In order on the metrics fd; stdout (rc=) may come first or last. */
    CHECK_INT(g.n, 4);
    CHECK_STR(got_join(&g, "rc="), "rc=0");
    CHECK_STR(got_filter(&g, "rc=", 0), "a=1 | b=0.1 @7 | q\"n=0.3 c=nan "
                                        "d=inf e=-inf f=-1e-300 @-2");
    /* Without the metrics fd the helpers are silent no-ops. */
    o.no_metrics_fd = 1;
    if (!(p = start_opts(&o, &g)))
        return;
    CHECK_INT(pump(p, &g, 3000, NULL), 0);
    proc_free(p);
    CHECK_STR(got_join(&g, ""), "rc=0");
}

static int child_c_client(void) {
    struct sweep_line l;
    int rc = 0;

    rc |= sweep_log("a", 1);
    rc |= sweep_log_step("b", 0.1, 7);
    sweep_line_init(&l);
    sweep_line_add(&l, "q\"n", 0.3);
    sweep_line_add(&l, "c", NAN);
    sweep_line_add(&l, "d", INFINITY);
    sweep_line_add(&l, "e", -INFINITY);
    sweep_line_add(&l, "f", -1e-300);
    sweep_line_step(&l, -2);
    rc |= sweep_line_send(&l);
    /* Too long for one line: refused whole. */
    sweep_line_init(&l);
    while (!l.overflow)
        sweep_line_add(&l, "long_metric_name", 1);
    if (sweep_metrics_fd() >= 0 &&
        !(sweep_line_send(&l) == -1 && errno == EMSGSIZE))
        rc = 1;
    printf("rc=%d\n", rc);
    return 0;
}

/* Prints the descriptors open in this process (but the directory being
 * read) and SWEEP_METRICS_FD. */
static int child_list_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    const char *env = getenv("SWEEP_METRICS_FD");
    int fds[64], n = 0, i, j, t;

    if (!d)
        return 1;
    while ((e = readdir(d)) && n < 64)
        if (e->d_name[0] != '.' && atoi(e->d_name) != dirfd(d))
            fds[n++] = atoi(e->d_name);
    closedir(d);
    for (i = 1; i < n; i++) /* insertion sort */
        for (j = i; j > 0 && fds[j - 1] > fds[j]; j--)
            t = fds[j], fds[j] = fds[j - 1], fds[j - 1] = t;
    printf("fds");
    for (i = 0; i < n; i++)
        printf(" %d", fds[i]);
    if (env)
        printf("\nSWEEP_METRICS_FD=%s\n", env);
    else
        printf("\nSWEEP_METRICS_FD unset\n");
    return 0;
}

static void test_python_client(void) {
    char *script = "import sweep_metrics as m\n"
                   "m.log(step=1, loss=0.5, ok=True)\n"
                   "m.log(loss=float('nan'), acc=float('-inf'))\n";
    char *argv[] = {"python3", "-c", script, NULL};
    char pypath[4200], *env_add[] = {pypath, NULL};
    char dir[4096];
    struct proc_opts o = {
        .argv = argv, .env_add = env_add, .log_path = log_path};
    struct got g;
    struct proc *p;

    if (!realpath("clients", dir) || access("clients/sweep_metrics.py", R_OK)) {
        printf("skip test_python_client: run from the repository root\n");
        return;
    }
    snprintf(pypath, sizeof(pypath), "PYTHONPATH=%s", dir);
    set_log("pyclient");
    if (!(p = start_opts(&o, &g)))
        return;
    CHECK_INT(pump(p, &g, 4000, NULL), 0);
    proc_free(p);
    CHECK_STR(got_join(&g, ""), "loss=0.5 ok=1 @1 | loss=nan acc=-inf");
    /* Outside a sweep it prints name=value lines instead: same metrics. */
    o.no_metrics_fd = 1;
    if (!(p = start_opts(&o, &g)))
        return;
    CHECK_INT(pump(p, &g, 4000, NULL), 0);
    proc_free(p);
    CHECK_STR(got_join(&g, ""), "loss=0.5 ok=1 @1 | loss=nan acc=-inf");
}

/* ---- setup ---------------------------------------------------------- */

static int setup(void) {
    sigset_t set;
    int fd, p[2];

    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGCHLD);
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
        return -1;
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    if ((sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK)) < 0)
        return -1;
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
        return -1;
    /* fd 7 without close-on-exec, and a stdin that never ends. */
    if ((fd = open("/dev/null", O_RDONLY)) < 0 || dup2(fd, 7) < 0)
        return -1;
    close(fd);
    if (pipe(p) < 0 || dup2(p[0], 0) < 0)
        return -1;
    close(p[0]); /* p[1] stays open: a read on fd 0 would block */
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_proc.XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    if (readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1) < 0)
        return -1;
    return 0;
}

static void cleanup(void) {
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    char path[512];

    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.') {
            snprintf(path, sizeof(path), "%s/%s", tmpdir, e->d_name);
            unlink(path);
        }
    if (d)
        closedir(d);
    rmdir(tmpdir);
}

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "child-c-client"))
        return child_c_client();
    if (argc > 1 && !strcmp(argv[1], "child-list-fds"))
        return child_list_fds();
    if (setup() < 0) {
        perror("test_proc: setup");
        printf("0 passed, 1 failed\n");
        return 1;
    }
    TEST_RUN(test_stdout_metrics_and_log);
    TEST_RUN(test_stderr_metrics);
    TEST_RUN(test_metrics_fd);
    TEST_RUN(test_no_parse_output);
    TEST_RUN(test_no_metrics_fd);
    TEST_RUN(test_stdin_is_dev_null);
    TEST_RUN(test_own_session_and_group);
    TEST_RUN(test_no_fd_leaks);
    TEST_RUN(test_clean_signal_state);
    TEST_RUN(test_sigterm_kills_child);
    TEST_RUN(test_kill_reaches_grandchildren);
    TEST_RUN(test_exit_codes);
    TEST_RUN(test_free_kills_running);
    TEST_RUN(test_env);
    TEST_RUN(test_cwd);
    TEST_RUN(test_spawn_errors);
    TEST_RUN(test_stdout_closed_early);
    TEST_RUN(test_drain_with_grandchild_holding_pipes);
    TEST_RUN(test_10mb_output);
    TEST_RUN(test_many_metrics_in_order);
    TEST_RUN(test_long_lines);
    TEST_RUN(test_c_client);
    TEST_RUN(test_python_client);
    cleanup();
    return TEST_DONE();
}

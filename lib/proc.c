/*
 * proc.c - one run's process: posix_spawn in a new session, its output
 * read line by line into the run's log file and the metric callback.
 *
 * The worker blocks SIGINT/SIGTERM/SIGHUP/SIGCHLD (read from a signalfd)
 * and ignores SIGPIPE; a child would inherit both, so every signal is set
 * back to default and the mask emptied in the child (SETSIGDEF and
 * SETSIGMASK). SETSID makes the child leader of its own session and group,
 * so one kill(-pid) reaches everything it started, and a Ctrl-C on the
 * worker's terminal does not reach the run behind the worker's back.
 *
 * Output is handled in whole lines: each log write() is one or more whole
 * lines, so stdout and stderr interleave in the log at line boundaries.
 * A line is cut at PROC_LINE_MAX bytes; the pieces go to the log as lines
 * of their own and are never read as metrics.
 */
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sweep.h"

#define PROC_LINE_MAX (64 * 1024)
/* Reads per proc_read() call, so one chatty run cannot starve the loop. */
#define PROC_READS_PER_CALL 16
/* Bytes proc_exited() takes from a pipe after the process is gone: more
 * than any pipe buffer holds, so only live grandchildren can exceed it. */
#define PROC_DRAIN_MAX (4 * 1024 * 1024)
/* The child's descriptor for the metrics pipe (SWEEP_METRICS_FD). */
#define PROC_METRICS_FD 3

enum proc_kind { PROC_STDOUT, PROC_STDERR, PROC_METRICS, PROC_NSTREAMS };

struct proc_stream {
    int fd;      /* read end; -1 once closed */
    char *buf;   /* the incomplete line so far */
    size_t len;  /* bytes in buf */
    size_t cap;  /* allocated: 0 or PROC_LINE_MAX */
    size_t seen; /* buf[0..seen) holds no newline */
    int cut;     /* the current line was cut: its rest is no metric */
};

struct proc {
    pid_t pid;
    int done;
    int wstatus;
    int log_fd; /* -1: no log */
    int parse_output;
    proc_metric_fn on_metric;
    void *ud;
    struct proc_stream s[PROC_NSTREAMS];
    struct metric_set m; /* handed to on_metric, borrowed for the call */
};

/* ---- spawning ------------------------------------------------------- */

/* Moves fd to a number >= PROC_METRICS_FD + 1 (close-on-exec), so that no
 * pipe end sits on 0-3 where the child's dup2 actions would clobber it
 * (possible when the worker runs with stdin or stdout closed). */
static int proc_fd_high(int *fd) {
    int nfd;

    if (*fd > PROC_METRICS_FD)
        return 0;
    nfd = fcntl(*fd, F_DUPFD_CLOEXEC, PROC_METRICS_FD + 1);
    if (nfd < 0)
        return -1;
    close(*fd);
    *fd = nfd;
    return 0;
}

/* A pipe with both ends close-on-exec and above fd 3; the read end is
 * non-blocking. */
static int proc_pipe(int p[2]) {
    if (pipe2(p, O_CLOEXEC) < 0)
        return -1;
    if (proc_fd_high(&p[0]) < 0 || proc_fd_high(&p[1]) < 0 ||
        fcntl(p[0], F_SETFL, O_NONBLOCK) < 0) {
        close(p[0]);
        close(p[1]);
        return -1;
    }
    return 0;
}

/* Length of the name in a "NAME=value" (or bare "NAME") entry. */
static size_t proc_env_name_len(const char *e) {
    const char *eq = strchr(e, '=');

    return eq ? (size_t)(eq - e) : strlen(e);
}

static int proc_env_same(const char *a, const char *b) {
    size_t n = proc_env_name_len(a);

    return n == proc_env_name_len(b) && !strncmp(a, b, n);
}

/* Whether add (NULL-ended) or a later entry of it sets e's name. */
static int proc_env_overridden(const char *e, char *const *add) {
    for (; add && *add; add++)
        if (proc_env_same(e, *add))
            return 1;
    return 0;
}

/* environ, minus names in env_add and SWEEP_METRICS_FD, plus env_add
 * entries with '=' (last one of a name wins; a bare NAME only removes),
 * plus metrics_var. Pointers are borrowed; caller frees the array. */
static char **proc_envp(char *const *env_add, char *metrics_var) {
    const char *metrics_name = "SWEEP_METRICS_FD";
    size_t n = 0, k = 0, i;
    char **envp;

    for (i = 0; environ && environ[i]; i++)
        n++;
    for (i = 0; env_add && env_add[i]; i++)
        n++;
    envp = calloc(n + 2, sizeof(*envp));
    if (!envp)
        return NULL;
    for (i = 0; environ && environ[i]; i++)
        if (!proc_env_same(environ[i], metrics_name) &&
            !proc_env_overridden(environ[i], env_add))
            envp[k++] = environ[i];
    for (i = 0; env_add && env_add[i]; i++)
        if (strchr(env_add[i], '=') &&
            !proc_env_same(env_add[i], metrics_name) &&
            !proc_env_overridden(env_add[i], env_add + i + 1))
            envp[k++] = env_add[i];
    if (metrics_var)
        envp[k++] = metrics_var;
    envp[k] = NULL;
    return envp;
}

/* The child's stdio and descriptors; wfd[] are the pipes' write ends (the
 * metrics one may be -1). */
static int proc_actions(posix_spawn_file_actions_t *fa, const char *cwd,
                        const int *wfd) {
    int rc;

    if ((rc = posix_spawn_file_actions_init(fa)) != 0)
        return rc;
    if ((cwd && (rc = posix_spawn_file_actions_addchdir_np(fa, cwd)) != 0) ||
        (rc = posix_spawn_file_actions_addopen(fa, 0, "/dev/null", O_RDONLY,
                                               0)) != 0 ||
        (rc = posix_spawn_file_actions_adddup2(fa, wfd[PROC_STDOUT], 1)) != 0 ||
        (rc = posix_spawn_file_actions_adddup2(fa, wfd[PROC_STDERR], 2)) != 0 ||
        (wfd[PROC_METRICS] >= 0 &&
         (rc = posix_spawn_file_actions_adddup2(fa, wfd[PROC_METRICS],
                                                PROC_METRICS_FD)) != 0) ||
        (rc = posix_spawn_file_actions_addclosefrom_np(
             fa, wfd[PROC_METRICS] >= 0 ? PROC_METRICS_FD + 1
                                        : PROC_METRICS_FD)) != 0) {
        posix_spawn_file_actions_destroy(fa);
        return rc;
    }
    return 0;
}

/* Every signal default, nothing blocked, a new session. */
static int proc_attr(posix_spawnattr_t *attr) {
    sigset_t all, none;
    int rc;

    sigfillset(&all);
    sigemptyset(&none);
    if ((rc = posix_spawnattr_init(attr)) != 0)
        return rc;
    if ((rc = posix_spawnattr_setflags(
             attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGDEF |
                       POSIX_SPAWN_SETSIGMASK)) != 0 ||
        (rc = posix_spawnattr_setsigdefault(attr, &all)) != 0 ||
        (rc = posix_spawnattr_setsigmask(attr, &none)) != 0) {
        posix_spawnattr_destroy(attr);
        return rc;
    }
    return 0;
}

static int proc_start(struct proc *p, const struct proc_opts *o, const int *wfd,
                      char *errstr, size_t errstr_size) {
    char metrics_var[] = "SWEEP_METRICS_FD=3";
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    char **envp;
    int rc;

    envp = proc_envp(o->env_add, wfd[PROC_METRICS] >= 0 ? metrics_var : NULL);
    if (!envp) {
        snprintf(errstr, errstr_size, "cannot run '%s': out of memory",
                 o->argv[0]);
        return SWEEP_ENOMEM;
    }
    if ((rc = proc_attr(&attr)) != 0)
        goto out_env;
    if ((rc = proc_actions(&fa, o->cwd, wfd)) != 0)
        goto out_attr;
    rc = posix_spawnp(&p->pid, o->argv[0], &fa, &attr, o->argv, envp);
    posix_spawn_file_actions_destroy(&fa);
out_attr:
    posix_spawnattr_destroy(&attr);
out_env:
    free(envp);
    if (rc == 0)
        return 0;
    p->pid = 0;
    snprintf(errstr, errstr_size, "cannot run '%s': %s", o->argv[0],
             strerror(rc));
    return SWEEP_EIO;
}

/* Errors that are about the options rather than the program, named as
 * such: posix_spawnp reports a missing cwd as a missing program. */
static int proc_check(const struct proc_opts *o, char *errstr,
                      size_t errstr_size) {
    struct stat st;
    int err = 0;

    if (!o || !o->argv || !o->argv[0] || !o->argv[0][0]) {
        snprintf(errstr, errstr_size, "cannot run a process: empty argv");
        return SWEEP_EINVAL;
    }
    if (o->cwd && stat(o->cwd, &st) < 0)
        err = errno;
    else if (o->cwd && !S_ISDIR(st.st_mode))
        err = ENOTDIR;
    if (err) {
        snprintf(errstr, errstr_size, "cannot run '%s' in '%s': %s", o->argv[0],
                 o->cwd, strerror(err));
        return SWEEP_EIO;
    }
    return 0;
}

static struct proc *proc_alloc(const struct proc_opts *o) {
    struct proc *p = calloc(1, sizeof(*p));
    int i;

    if (!p)
        return NULL;
    p->log_fd = -1;
    p->parse_output = !o->no_parse_output;
    p->on_metric = o->on_metric;
    p->ud = o->ud;
    for (i = 0; i < PROC_NSTREAMS; i++)
        p->s[i].fd = -1;
    return p;
}

int proc_spawn(const struct proc_opts *o, struct proc **out, char *errstr,
               size_t errstr_size) {
    int wfd[PROC_NSTREAMS] = {-1, -1, -1}, p2[2], i, rc;
    struct proc *p;

    *out = NULL;
    if ((rc = proc_check(o, errstr, errstr_size)) != 0)
        return rc;
    if (!(p = proc_alloc(o))) {
        snprintf(errstr, errstr_size, "cannot run '%s': out of memory",
                 o->argv[0]);
        return SWEEP_ENOMEM;
    }
    if (o->log_path) {
        p->log_fd =
            open(o->log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (p->log_fd < 0) {
            snprintf(errstr, errstr_size, "cannot open log file '%s': %s",
                     o->log_path, strerror(errno));
            rc = SWEEP_EIO;
            goto out;
        }
    }
    for (i = 0; i < PROC_NSTREAMS; i++) {
        if (i == PROC_METRICS && o->no_metrics_fd)
            break;
        if (proc_pipe(p2) < 0) {
            snprintf(errstr, errstr_size, "cannot run '%s': pipe: %s",
                     o->argv[0], strerror(errno));
            rc = SWEEP_EIO;
            goto out;
        }
        p->s[i].fd = p2[0];
        wfd[i] = p2[1];
    }
    rc = proc_start(p, o, wfd, errstr, errstr_size);
out:
    for (i = 0; i < PROC_NSTREAMS; i++)
        if (wfd[i] >= 0)
            close(wfd[i]);
    if (rc != 0) {
        proc_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

/* ---- output --------------------------------------------------------- */

static void proc_log(struct proc *p, const char *data, size_t len,
                     int add_newline) {
    struct iovec iov[2] = {{(void *)data, len}, {"\n", add_newline ? 1 : 0}};
    int cnt = 2;
    ssize_t n;

    if (p->log_fd < 0 || (len == 0 && !add_newline))
        return;
    /* One writev per batch of lines, so O_APPEND keeps lines whole. */
    while (cnt > 0) {
        n = writev(p->log_fd, iov + 2 - cnt, cnt);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return; /* a full disk must not stop the run */
        while (cnt > 0 && (size_t)n >= iov[2 - cnt].iov_len) {
            n -= (ssize_t)iov[2 - cnt].iov_len;
            cnt--;
        }
        if (cnt > 0) {
            iov[2 - cnt].iov_base = (char *)iov[2 - cnt].iov_base + n;
            iov[2 - cnt].iov_len -= (size_t)n;
        }
    }
}

/* One whole line (no newline) of stream k, for the metric callback. */
static void proc_line(struct proc *p, int k, const char *line, size_t len) {
    int ok;

    if (!p->on_metric)
        return;
    if (k == PROC_METRICS)
        ok = metrics_parse_json(line, len, &p->m);
    else if (p->parse_output)
        ok = metrics_parse_kv(line, len, &p->m);
    else
        return;
    if (ok && p->m.n > 0)
        p->on_metric(p->ud, &p->m);
}

/* Hands every complete line in the buffer on, logs them in one write, and
 * keeps the incomplete rest. */
static void proc_lines(struct proc *p, int k) {
    struct proc_stream *s = &p->s[k];
    size_t log_from = 0, start = 0, from = s->seen;
    char *nl;

    if (s->cut && s->len > 0 && s->buf[0] == '\n') {
        /* The cut line ended right at the cut: no empty line in the log. */
        log_from = start = from = 1;
        s->cut = 0;
    }
    while ((nl = memchr(s->buf + from, '\n', s->len - from))) {
        size_t end = (size_t)(nl - s->buf);

        if (!s->cut)
            proc_line(p, k, s->buf + start, end - start);
        s->cut = 0;
        start = from = end + 1;
    }
    proc_log(p, s->buf + log_from, start - log_from, 0);
    s->len -= start;
    memmove(s->buf, s->buf + start, s->len);
    s->seen = s->len;
}

/* The buffered rest as a line of its own: a line cut at PROC_LINE_MAX
 * (never a metric), or the last unterminated line at end of file. */
static void proc_flush(struct proc *p, int k, int at_eof) {
    struct proc_stream *s = &p->s[k];

    if (s->len == 0)
        return;
    if (at_eof && !s->cut)
        proc_line(p, k, s->buf, s->len);
    proc_log(p, s->buf, s->len, 1);
    s->cut = !at_eof;
    s->len = s->seen = 0;
}

/* Room for the next read: allocates the buffer, or cuts a full line. */
static int proc_room(struct proc *p, int k) {
    struct proc_stream *s = &p->s[k];

    if (!s->buf) {
        if (!(s->buf = malloc(PROC_LINE_MAX)))
            return -1;
        s->cap = PROC_LINE_MAX;
    }
    if (s->len == s->cap)
        proc_flush(p, k, 0);
    return 0;
}

static void proc_close_stream(struct proc *p, int k) {
    struct proc_stream *s = &p->s[k];

    proc_flush(p, k, 1);
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    free(s->buf);
    s->buf = NULL;
    s->len = s->cap = s->seen = 0;
    s->cut = 0;
}

/* Reads stream k until it would block, `budget` bytes went by, or EOF.
 * Returns 1 at EOF or a read error (the stream is then closed), else 0. */
static int proc_read_stream(struct proc *p, int k, size_t budget,
                            int max_reads) {
    struct proc_stream *s = &p->s[k];
    size_t got = 0;
    ssize_t n;
    int reads;

    for (reads = 0; reads < max_reads && got < budget; reads++) {
        if (proc_room(p, k) < 0)
            break; /* out of memory: try again on the next call */
        n = read(s->fd, s->buf + s->len, s->cap - s->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        if (n <= 0) {
            proc_close_stream(p, k);
            return 1;
        }
        s->len += (size_t)n;
        got += (size_t)n;
        proc_lines(p, k);
    }
    return 0;
}

int proc_read(struct proc *p, int fd) {
    int k;

    if (!p || fd < 0)
        return SWEEP_EINVAL;
    for (k = 0; k < PROC_NSTREAMS; k++)
        if (p->s[k].fd == fd)
            return proc_read_stream(p, k, (size_t)-1, PROC_READS_PER_CALL);
    return SWEEP_EINVAL;
}

/* ---- lifetime ------------------------------------------------------- */

pid_t proc_pid(const struct proc *p) {
    return p->pid;
}

size_t proc_fds(const struct proc *p, int *fds) {
    size_t n = 0;
    int k;

    for (k = 0; k < PROC_NSTREAMS; k++)
        if (p->s[k].fd >= 0)
            fds[n++] = p->s[k].fd;
    return n;
}

int proc_kill(struct proc *p, int sig) {
    if (!p || p->pid <= 0)
        return SWEEP_EINVAL;
    if (kill(-p->pid, sig) < 0 && errno != ESRCH)
        return SWEEP_EIO;
    return 0;
}

void proc_exited(struct proc *p, int wstatus) {
    int k;

    p->done = 1;
    p->wstatus = wstatus;
    /* What the process wrote is in the pipes now; a grandchild may keep a
     * pipe open for ever, so read what is there and close. */
    for (k = 0; k < PROC_NSTREAMS; k++)
        if (p->s[k].fd >= 0 &&
            proc_read_stream(p, k, PROC_DRAIN_MAX, 1 << 30) == 0)
            proc_close_stream(p, k);
}

int proc_done(const struct proc *p, int *wstatus) {
    if (p->done && wstatus)
        *wstatus = p->wstatus;
    return p->done;
}

void proc_free(struct proc *p) {
    int k;

    if (!p)
        return;
    if (p->pid > 0 && !p->done)
        kill(-p->pid, SIGKILL);
    for (k = 0; k < PROC_NSTREAMS; k++) {
        /* A partial last line still goes to the log, but to no callback:
         * the caller is tearing down. */
        if (p->s[k].len > 0)
            proc_log(p, p->s[k].buf, p->s[k].len, 1);
        if (p->s[k].fd >= 0)
            close(p->s[k].fd);
        free(p->s[k].buf);
    }
    if (p->log_fd >= 0)
        close(p->log_fd);
    free(p);
}

/*
 * cmd_local.c - `sweep local FILE [--workers N] [--json]`: the whole
 * system on one machine: the embedded broker and a private redis-server
 * (in a temporary directory, on free ports), a controller and N workers as
 * separate processes, live progress, then a summary table and the best
 * run. Everything is stopped and removed on exit and on Ctrl-C.
 */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <glob.h>
#include <libgen.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "port.h"
#include "cli.h"
#include "log.h"
#include "sig.h"
#include "secret.h"
#include "sign.h"
#include "config.h"
#include "store.h"
#include "sweep.h"
#include "value.h"

extern char **environ;

#define MAX_WORKERS 256

struct child {
    pid_t pid;
    char name[32];
    int exited;
    int status;
};

struct local {
    char dir[256];
    char bindir[512];
    char brokers[256];
    char redis_url[256];
    struct child broker, redis, controller, ui, workers[MAX_WORKERS];
    int nworkers;
    int sigfd;
    int keep;
    int json;
    int follow;
    struct tailed {
        char path[700];
        char name[64];
        long off;
    } tails[1024];
    int ntails;
    const char *redis_given;
    int no_ui;
    const char *ui_http; /* NULL: 127.0.0.1:8080, else a free port */
    char ui_url[128];
};

static void local_usage(FILE *fp) {
    fprintf(fp,
            "usage: sweep local FILE [--workers N] [--json] [--redis URL] [--keep] [--follow]\n"
            "                        [--no-ui] [--http ADDR:PORT]\n"
            "\n"
            "Runs the sweep on this machine: the embedded Kafka broker, a private\n"
            "redis-server (or --redis URL), a controller, N workers and the\n"
            "dashboard (sweep ui), each its own process. The dashboard's URL is\n"
            "the first line of output (of stderr with --json). Shows live progress; at the end prints\n"
            "every run and the best one. Ctrl-C stops everything and cleans up.\n"
            "\n"
            "  -w, --workers N   workers (default 2)\n"
            "  -j, --json        at the end print the runs as 'sweep runs --json'\n"
            "      --redis URL   use this Redis instead of a private one\n"
            "      --keep        keep the temporary directory (logs, run files)\n"
            "      --follow      print every run's output lines as they come\n"
            "      --no-ui       no dashboard\n"
            "      --http A:P    the dashboard's address (default 127.0.0.1:8080,\n"
            "                    or a free port when 8080 is taken)\n"
            "  -h, --help        this help\n");
}

static int spawn(struct child *c, const char *name, char *const argv[],
                 const char *log_path, int stdout_fd) {
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t none, all;
    int rc;

    sigemptyset(&none);
    sigfillset(&all);
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&at);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (stdout_fd >= 0)
        posix_spawn_file_actions_adddup2(&fa, stdout_fd, 1);
    else
        posix_spawn_file_actions_addopen(&fa, 1, log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    /* Own process group: Ctrl-C reaches us, and we stop them in order. */
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setpgroup(&at, 0);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &all);
    rc = posix_spawn(&c->pid, argv[0], &fa, &at, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    snprintf(c->name, sizeof(c->name), "%s", name);
    if (rc) {
        fprintf(stderr, "sweep local: cannot start %s: %s\n", argv[0], strerror(rc));
        c->pid = 0;
        return -1;
    }
    return 0;
}


/* The first line a child prints on fd (without its newline) into buf;
 * its length, 0 when nothing came within 15 s. */
static size_t first_line(int fd, char *buf, size_t size) {
    size_t n = 0;

    while (n + 1 < size) {
        struct pollfd p = {fd, POLLIN, 0};
        char ch;
        if (poll(&p, 1, 15000) <= 0 || read(fd, &ch, 1) != 1 || ch == '\n')
            break;
        buf[n++] = ch;
    }
    buf[n] = '\0';
    return n;
}

/* The broker prints its bootstrap list as its first line. */
static int start_broker(struct local *L) {
    char path[600], log[300], prog[600];
    char *argv[] = {prog, "broker", NULL};
    int fds[2];
    size_t n = 0;

    snprintf(prog, sizeof(prog), "%s/sweep", L->bindir);
    snprintf(log, sizeof(log), "%s/broker.log", L->dir);
    snprintf(path, sizeof(path), "%s", log);
    if (pipe2(fds, O_CLOEXEC) < 0 || spawn(&L->broker, "broker", argv, log, fds[1]) < 0)
        return -1;
    close(fds[1]);
    n = first_line(fds[0], L->brokers, sizeof(L->brokers));
    close(fds[0]);
    if (!n) {
        fprintf(stderr, "sweep local: the broker did not start (see %s)\n", path);
        return -1;
    }
    return 0;
}

static int start_redis(struct local *L) {
    char port[16], log[300];
    char *argv[] = {"/usr/bin/redis-server", "--port", port, "--bind", "127.0.0.1",
                    "--dir", L->dir, "--save", "", "--appendonly", "no", NULL};
    int p = port_free_loopback();

    if (L->redis_given) {
        snprintf(L->redis_url, sizeof(L->redis_url), "%s", L->redis_given);
        return 0;
    }
    if (access(argv[0], X_OK) != 0)
        argv[0] = "redis-server";
    snprintf(port, sizeof(port), "%d", p);
    snprintf(log, sizeof(log), "%s/redis.log", L->dir);
    snprintf(L->redis_url, sizeof(L->redis_url), "redis://127.0.0.1:%d", p);
    if (p < 0)
        return -1;
    if (argv[0][0] != '/') {
        fprintf(stderr, "sweep local: redis-server is not installed "
                        "(scripts/install-deps.sh installs it)\n");
        return -1;
    }
    return spawn(&L->redis, "redis", argv, log, -1);
}

/* A fresh signing key for this session, in the private directory, given
 * to the controller and the workers through the environment (a path: the
 * key itself is never on a command line). */
static int make_key(struct local *L) {
    char path[300], key[65];
    int fd;
    ssize_t n;

    snprintf(path, sizeof(path), "%s/signing.key", L->dir);
    if (sign_keygen(key) < 0) {
        fprintf(stderr, "sweep local: no randomness for a signing key\n");
        return -1;
    }
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    key[64] = '\n';
    n = fd >= 0 ? write(fd, key, 65) : -1;
    memset(key, 0, sizeof(key));
    if (fd < 0 || n != 65 || close(fd) < 0) {
        fprintf(stderr, "sweep local: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    unsetenv(SIGN_ENV);
    setenv("SWEEP_SIGNING_KEY_FILE", path, 1);
    return 0;
}

/* The dashboard, `sweep ui`, prints its URL as its first line; it reads
 * the Redis URL from the environment (it may hold a password). Loopback
 * only: no token is needed there. */
static int start_ui_at(struct local *L, const char *http) {
    char log[300], prog[600], addr[128];
    char *argv[] = {prog, "ui", "--http", addr, NULL};
    int fds[2], status;

    snprintf(prog, sizeof(prog), "%s/sweep", L->bindir);
    snprintf(addr, sizeof(addr), "%s", http);
    snprintf(log, sizeof(log), "%s/ui.log", L->dir);
    if (pipe2(fds, O_CLOEXEC) < 0)
        return -1;
    if (spawn(&L->ui, "ui", argv, log, fds[1]) < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    close(fds[1]);
    first_line(fds[0], L->ui_url, sizeof(L->ui_url));
    close(fds[0]);
    if (strncmp(L->ui_url, "http://", 7)) {
        L->ui_url[0] = '\0';
        kill(L->ui.pid, SIGKILL);
        waitpid(L->ui.pid, &status, 0);
        L->ui.pid = 0;
        return -1;
    }
    return 0;
}

static int start_ui(struct local *L) {
    if (L->no_ui)
        return 0;
    setenv("SWEEP_REDIS_URL", L->redis_url, 1);
    if (L->ui_http) {
        if (start_ui_at(L, L->ui_http) == 0)
            return 0;
        fprintf(stderr, "sweep local: the dashboard did not start on %s (see %s/ui.log)\n",
                L->ui_http, L->dir);
        L->keep = 1;
        return -1;
    }
    if (start_ui_at(L, "127.0.0.1:8080") == 0 || start_ui_at(L, "127.0.0.1:0") == 0)
        return 0;
    fprintf(stderr, "sweep local: the dashboard did not start (see %s/ui.log)\n", L->dir);
    L->keep = 1;
    return -1;
}

static int start_programs(struct local *L, const char *sweep_id) {
    char prog[600], log[300], runs[300];
    /* The Redis URL may hold a password: the environment, not argv. */
    char *ctl[] = {prog, "--brokers", L->brokers, "--lease-ttl", "2000", NULL};

    if (make_key(L) < 0)
        return -1;
    setenv("SWEEP_REDIS_URL", L->redis_url, 1);
    snprintf(prog, sizeof(prog), "%s/sweep-controller", L->bindir);
    snprintf(log, sizeof(log), "%s/controller.log", L->dir);
    if (spawn(&L->controller, "controller", ctl, log, -1) < 0)
        return -1;
    snprintf(prog, sizeof(prog), "%s/sweep-worker", L->bindir);
    snprintf(runs, sizeof(runs), "%s/runs", L->dir);
    for (int i = 0; i < L->nworkers; i++) {
        char *wk[] = {prog, "--brokers", L->brokers, "--run-dir", runs,
                      (char *)sweep_id, NULL};
        char name[32];
        snprintf(log, sizeof(log), "%s/worker-%d.log", L->dir, i + 1);
        snprintf(name, sizeof(name), "worker %d", i + 1);
        if (spawn(&L->workers[i], name, wk, log, -1) < 0)
            return -1;
    }
    return 0;
}

static void reap_children(struct local *L) {
    struct child *all[MAX_WORKERS + 4];
    int n = 0, status;
    pid_t pid;

    all[n++] = &L->broker;
    all[n++] = &L->redis;
    all[n++] = &L->controller;
    all[n++] = &L->ui;
    for (int i = 0; i < L->nworkers; i++)
        all[n++] = &L->workers[i];
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (int i = 0; i < n; i++) {
            if (all[i]->pid == pid) {
                all[i]->exited = 1;
                all[i]->status = status;
            }
        }
    }
}

static int workers_left(const struct local *L) {
    int n = 0;

    for (int i = 0; i < L->nworkers; i++)
        n += L->workers[i].pid && !L->workers[i].exited;
    return n;
}

static void stop_child(struct local *L, struct child *c, int wait_ms) {
    if (!c->pid || c->exited)
        return;
    kill(c->pid, SIGTERM);
    for (int t = 0; t < wait_ms / 20 && !c->exited; t++) {
        nanosleep(&(struct timespec){0, 20000000}, NULL);
        reap_children(L);
    }
    if (!c->exited) {
        kill(c->pid, SIGKILL);
        waitpid(c->pid, &c->status, 0);
        c->exited = 1;
    }
}

static int rm_entry(const char *path, const struct stat *sb, int flag,
                    struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void teardown(struct local *L) {
    for (int i = 0; i < L->nworkers; i++)
        stop_child(L, &L->workers[i], 5000);
    stop_child(L, &L->controller, 5000);
    stop_child(L, &L->ui, 3000);
    stop_child(L, &L->broker, 3000);
    stop_child(L, &L->redis, 3000);
    if (L->dir[0] && !L->keep)
        nftw(L->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    else if (L->dir[0])
        fprintf(stderr, "sweep local: kept %s\n", L->dir);
}

static void progress(struct store *s, const char *id, char *last, size_t lastsz) {
    json_t *o = store_sweep_get(s, id);
    struct sbuf sb = SBUF_INIT;
    const char *k;
    json_t *v;

    if (!o)
        return;
    sbuf_addf(&sb, "[%s] %lld created:", json_string_value(json_object_get(o, "state")),
              (long long)json_integer_value(json_object_get(o, "runs_created")));
    json_object_foreach(json_object_get(o, "runs"), k, v)
        if (json_integer_value(v))
            sbuf_addf(&sb, " %lld %s", (long long)json_integer_value(v), k);
    if (strcmp(sbuf_str(&sb), last)) {
        fprintf(stderr, "%s\n", sbuf_str(&sb));
        snprintf(last, lastsz, "%s", sbuf_str(&sb));
    }
    sbuf_release(&sb);
    json_decref(o);
}

/* --follow: new output lines of every run, "<run>: line". */
static void follow_runs(struct local *L, const char *id) {
    char pattern[400];
    glob_t g;

    snprintf(pattern, sizeof(pattern), "%s/runs/%s/*/output.log", L->dir, id);
    if (glob(pattern, 0, NULL, &g) != 0)
        return;
    for (size_t i = 0; i < g.gl_pathc; i++) {
        struct tailed *t = NULL;
        char line[4096];
        FILE *fp;
        for (int k = 0; k < L->ntails && !t; k++)
            if (!strcmp(L->tails[k].path, g.gl_pathv[i]))
                t = &L->tails[k];
        if (!t && L->ntails < 1024) {
            const char *dir = g.gl_pathv[i] + strlen(L->dir) + strlen("/runs/") + strlen(id) + 1;
            t = &L->tails[L->ntails++];
            snprintf(t->path, sizeof(t->path), "%s", g.gl_pathv[i]);
            snprintf(t->name, sizeof(t->name), "%.*s", (int)strcspn(dir, "/"), dir);
            t->off = 0;
        }
        if (!t || !(fp = fopen(t->path, "r")))
            continue;
        fseek(fp, t->off, SEEK_SET);
        while (fgets(line, sizeof(line), fp) && strchr(line, '\n')) {
            fprintf(stderr, "  %s: %s", t->name, line);
            t->off = ftell(fp);
        }
        fclose(fp);
    }
    globfree(&g);
}

/* Waits for the workers to finish (or Ctrl-C), showing progress. */
static int watch(struct local *L, struct store *s, const char *id) {
    char last[512] = "";

    for (;;) {
        struct pollfd p = {L->sigfd, POLLIN, 0};
        if (poll(&p, 1, 500) > 0) {
            struct signalfd_siginfo si;
            if (read(L->sigfd, &si, sizeof(si)) == sizeof(si) && si.ssi_signo != SIGCHLD) {
                fprintf(stderr, "\nsweep local: stopping (%s)\n", strsignal((int)si.ssi_signo));
                return 128 + (int)si.ssi_signo; /* as a shell reports it */
            }
        }
        reap_children(L);
        if (L->follow)
            follow_runs(L, id);
        progress(s, id, last, sizeof(last));
        if (L->controller.exited) {
            fprintf(stderr, "sweep local: the controller exited (see %s/controller.log)\n",
                    L->dir);
            L->keep = 1;
            return EXIT_RUNTIME;
        }
        if (!workers_left(L))
            return 0;
    }
}

/* The workers are gone, but the controller may still be storing the
 * last metric events of the last runs (they travel on another topic
 * than the run's end). Waits, at most SETTLE_MS, until no ended run has
 * fewer stored than its worker sent, so the summary shows them all;
 * what is still missing then is reported as lost by `sweep runs`. */
#define SETTLE_MS 5000

static void settle(struct store *s, const char *id) {
    for (int waited = 0; waited < SETTLE_MS; waited += 20) {
        json_t *runs = store_runs(s, id, 0), *r;
        size_t i, behind = 0;
        json_array_foreach(runs, i, r) {
            if (json_integer_value(json_object_get(r, "metrics_lost")) > 0)
                behind++;
        }
        json_decref(runs);
        if (!runs || behind == 0)
            return;
        nanosleep(&(struct timespec){0, 20000000}, NULL);
    }
}

static void summary(struct local *L, const char *id) {
    char *argv_runs[] = {"runs", (char *)id, L->json ? "--json" : NULL, NULL};
    char *argv_best[] = {"best", (char *)id, NULL};

    setenv("SWEEP_REDIS_URL", L->redis_url, 1);
    optind = 0;
    fflush(stderr);
    cmd_runs(L->json ? 3 : 2, argv_runs);
    if (!L->json) {
        printf("\n");
        optind = 0;
        cmd_best(2, argv_best);
    }
}

static int parse_local(int argc, char **argv, struct local *L, const char **file) {
    static const struct option opts[] = {
        {"workers", required_argument, NULL, 'w'}, {"json", no_argument, NULL, 'j'},
        {"redis", required_argument, NULL, 'r'},   {"keep", no_argument, NULL, 'k'},
        {"follow", no_argument, NULL, 'f'},        {"help", no_argument, NULL, 'h'},
        {"no-ui", no_argument, NULL, 'n'},         {"http", required_argument, NULL, 'H'},
        {NULL, 0, NULL, 0}};
    unsigned long long n;
    int c;

    L->nworkers = 2;
    while ((c = getopt_long(argc, argv, "w:jh", opts, NULL)) != -1) {
        switch (c) {
        case 'w':
            if (cli_parse_count("--workers", optarg, &n) < 0 || n < 1 || n > MAX_WORKERS) {
                fprintf(stderr, "sweep local: --workers takes 1 to %d\n", MAX_WORKERS);
                return EXIT_USAGE;
            }
            L->nworkers = (int)n;
            break;
        case 'j':
            L->json = 1;
            break;
        case 'r':
            if (secret_url_has_password(optarg)) {
                fprintf(stderr, "sweep local: --redis: a password on the command "
                                "line is visible to every user (ps); give the "
                                "URL in $SWEEP_REDIS_URL instead\n");
                return EXIT_USAGE;
            }
            L->redis_given = optarg;
            break;
        case 'k':
            L->keep = 1;
            break;
        case 'f':
            L->follow = 1;
            break;
        case 'n':
            L->no_ui = 1;
            break;
        case 'H':
            L->ui_http = optarg;
            break;
        case 'h':
            local_usage(stdout);
            return 0;
        default:
            local_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        local_usage(stderr);
        return EXIT_USAGE;
    }
    *file = argv[optind];
    return -1;
}

static int find_bindir(struct local *L) {
    char self[512];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

    if (n <= 0)
        return -1;
    self[n] = '\0';
    snprintf(L->bindir, sizeof(L->bindir), "%s", dirname(self));
    return 0;
}

int cmd_local(int argc, char **argv) {
    static struct local L;
    struct sweep_config *cfg = NULL;
    struct settings st = {0};
    struct store *s = NULL;
    const char *file;
    char id[9], err[512];
    sigset_t mask;
    int rc = parse_local(argc, argv, &L, &file);

    if (rc >= 0)
        return rc;
    cfg = cli_load_config(file);
    if (!cfg)
        return EXIT_USAGE;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGHUP);
    sigaddset(&mask, SIGCHLD);
    if (sig_block_and_route(&mask) < 0) /* see sig.h: OpenBLAS threads */
        perror("sigaction");
    L.sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    snprintf(L.dir, sizeof(L.dir), "%s/sweep-local-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    rc = EXIT_RUNTIME;
    if (find_bindir(&L) < 0 || !mkdtemp(L.dir)) {
        fprintf(stderr, "sweep local: cannot make a temporary directory: %s\n", strerror(errno));
        L.dir[0] = '\0';
        goto out;
    }
    if (start_broker(&L) < 0 || start_redis(&L) < 0)
        goto out;
    if (settings_resolve(&st, NULL, err, sizeof(err)) == 0) {
        settings_set(&st, "redis", L.redis_url, err, sizeof(err));
        settings_set(&st, "brokers", L.brokers, err, sizeof(err));
    }
    log_threshold = LOG_ERROR; /* redis-server takes a moment: not news */
    s = store_connect(L.redis_url, 10000, err, sizeof(err));
    log_threshold = LOG_WARN;
    if (!s) {
        fprintf(stderr, "sweep local: %s\n", err);
        goto out;
    }
    cli_random_id(id, sizeof(id));
    if (start_ui(&L))
        goto out;
    if (L.ui_url[0]) { /* the first line of output */
        size_t ul = strlen(L.ui_url);
        if (ul && L.ui_url[ul - 1] == '/')
            L.ui_url[ul - 1] = '\0';
        /* --json keeps stdout JSON: the URL then goes first to stderr */
        fprintf(L.json ? stderr : stdout, "%s/sweeps/%s\n", L.ui_url, id);
        fflush(L.json ? stderr : stdout);
    }
    if (cli_create_sweep(&st, cfg, cfg->name, id))
        goto out;
    fprintf(stderr, "sweep local: sweep %s (%s), broker %s, %s, %d workers, logs in %s\n",
            id, config_method_name(cfg->method), L.brokers,
            secret_redact_url(L.redis_url, err, sizeof(err)), L.nworkers, L.dir);
    if (cfg->method != METHOD_GRID && !cfg->run_cap)
        fprintf(stderr, "sweep local: a %s sweep without run_cap runs until Ctrl-C\n",
                config_method_name(cfg->method));
    if (start_programs(&L, id) < 0)
        goto out;
    rc = watch(&L, s, id);
    if (rc == 0)
        settle(s, id);
    summary(&L, id);
out:
    store_free(s);
    teardown(&L);
    settings_release(&st);
    config_free(cfg);
    close(L.sigfd);
    return rc;
}

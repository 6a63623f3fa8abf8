/* stopme.c - the program of the early-termination benchmark (issue 5) and
 * its baseline.
 *
 *   stopme run DIR [--i=K] ...   the program a worker runs. K < 4 or even:
 *                        a reference run, prints "loss=1.0" twelve times
 *                        and exits 0. Otherwise a bad run: "loss=1.0"
 *                        twice, a pause of $STOPME_PAUSE_MS (default 30)
 *                        so that the pipeline is idle, then t0, prints
 *                        "loss=100.0" and waits up to 5 s for SIGTERM
 *                        (blocked from the start, taken by sigtimedwait:
 *                        no handler latency); t1 when it comes. Writes
 *                        DIR/K: "run R\nprint_us E0\nsig_us E1\nlat_us X\n"
 *                        (E0, E1 epoch microseconds of t0 and t1, X = t1 -
 *                        t0 on CLOCK_MONOTONIC), or "timeout" / "early"
 *                        (SIGTERM already pending before t0) instead of
 *                        lat_us. R is $SWEEP_RUN_ID.
 *   stopme watch N DIR   the baseline: runs "stopme run DIR --i=K" N times
 *                        back to back for bad K, as a worker does
 *                        (posix_spawn in a new session, stdout through a
 *                        pipe read in a poll loop), and sends SIGTERM to
 *                        the process group on reading the "loss=100.0"
 *                        line. No Kafka, no Redis, no controller.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static long long clock_us(clockid_t id) {
    struct timespec ts;

    clock_gettime(id, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int say(const char *line) {
    size_t n = strlen(line);

    return write(1, line, n) == (ssize_t)n ? 0 : -1;
}

static int result(const char *dir, long k, const char *text) {
    char path[4096];
    FILE *fp;

    snprintf(path, sizeof(path), "%s/%ld", dir, k);
    if (!(fp = fopen(path, "w")))
        return 1;
    fprintf(fp, "run %s\n%s", getenv("SWEEP_RUN_ID") ? getenv("SWEEP_RUN_ID") : "-",
            text);
    return fclose(fp) != 0;
}

static int run(const char *dir, long k) {
    sigset_t term, pend;
    struct timespec wait = {5, 0};
    const char *p = getenv("STOPME_PAUSE_MS");
    long pause_ms = p && *p ? atol(p) : 30;
    long long t0, e0, t1, e1;
    char text[256];

    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    sigprocmask(SIG_BLOCK, &term, NULL);
    if (k < 4 || k % 2 == 0) {
        for (int i = 0; i < 12; i++)
            if (say("loss=1.0\n") < 0)
                return 1;
        return 0;
    }
    if (say("loss=1.0\n") < 0 || say("loss=1.0\n") < 0)
        return 1;
    nanosleep(&(struct timespec){pause_ms / 1000, (pause_ms % 1000) * 1000000L}, NULL);
    sigpending(&pend);
    if (sigismember(&pend, SIGTERM))
        return result(dir, k, "early\n");
    e0 = clock_us(CLOCK_REALTIME);
    t0 = clock_us(CLOCK_MONOTONIC);
    if (say("loss=100.0\n") < 0)
        return 1;
    while (sigtimedwait(&term, NULL, &wait) < 0) {
        if (errno != EINTR) {
            snprintf(text, sizeof(text), "print_us %lld\ntimeout\n", e0);
            return result(dir, k, text);
        }
    }
    t1 = clock_us(CLOCK_MONOTONIC);
    e1 = clock_us(CLOCK_REALTIME);
    snprintf(text, sizeof(text), "print_us %lld\nsig_us %lld\nlat_us %lld\n", e0, e1,
             t1 - t0);
    return result(dir, k, text) ? 1 : 143; /* as if SIGTERM had ended it */
}

/* One run under the watcher: 0 ok, -1 a system call failed. */
static int watch_one(const char *self, const char *dir, long k) {
    char arg[32], buf[4096];
    char *argv[] = {(char *)self, "run", (char *)dir, arg, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t none;
    int fds[2], status, sent = 0;
    size_t have = 0;
    pid_t pid;

    snprintf(arg, sizeof(arg), "--i=%ld", k);
    if (pipe(fds) < 0)
        return -1;
    sigemptyset(&none);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    posix_spawn_file_actions_addclose(&fa, fds[1]);
    posix_spawnattr_init(&at);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK);
    posix_spawnattr_setsigmask(&at, &none);
    if (posix_spawn(&pid, self, &fa, &at, argv, environ) != 0)
        return -1;
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    close(fds[1]);
    for (;;) {
        struct pollfd p = {fds[0], POLLIN, 0};
        ssize_t got;

        if (poll(&p, 1, -1) < 0 && errno != EINTR)
            return -1;
        got = read(fds[0], buf + have, sizeof(buf) - 1 - have);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        have += (size_t)got;
        buf[have] = '\0';
        if (!sent && strstr(buf, "loss=100.0\n")) {
            kill(-pid, SIGTERM);
            sent = 1;
        }
        if (have > sizeof(buf) / 2) { /* keep the tail: a line may be split */
            memmove(buf, buf + have - 64, 64);
            have = 64;
        }
    }
    close(fds[0]);
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return 0;
}

static int watch(const char *self, long n, const char *dir) {
    for (long i = 0; i < n; i++) {
        if (watch_one(self, dir, 5 + 2 * i) < 0) {
            fprintf(stderr, "stopme watch: run %ld: %s\n", i, strerror(errno));
            return 1;
        }
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 3 && !strcmp(argv[1], "run")) {
        long k = -1;
        for (int i = 3; i < argc; i++)
            if (!strncmp(argv[i], "--i=", 4))
                k = atol(argv[i] + 4);
        if (k < 0) {
            fprintf(stderr, "stopme run: no --i=K argument\n");
            return 2;
        }
        return run(argv[2], k);
    }
    if (argc == 4 && !strcmp(argv[1], "watch"))
        return watch(argv[0], atol(argv[2]), argv[3]);
    fprintf(stderr, "usage: stopme run DIR --i=K | stopme watch N DIR\n");
    return 2;
}

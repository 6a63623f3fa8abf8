/* spawn_loop.c - the dispatch benchmark's baseline: the same trivial
 * program run N times back to back by a plain loop (posix_spawn, its
 * stdout read to EOF through a pipe as the worker reads it, waitpid), no
 * Kafka, no Redis.
 *
 * usage: spawn_loop N
 * prints: "runs N seconds S per_run_us_p50 X per_run_us_p99 Y"
 */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static long long now_us(void) {
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int cmp(const void *a, const void *b) {
    long long x = *(const long long *)a, y = *(const long long *)b;

    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    char *const args[] = {"/bin/sh", "-c", "echo loss=1", NULL};
    int n = argc > 1 ? atoi(argv[1]) : 500;
    long long *per = calloc(n > 0 ? (size_t)n : 1, sizeof(*per)), t0;

    if (n <= 0 || !per)
        return 2;
    t0 = now_us();
    for (int i = 0; i < n; i++) {
        posix_spawn_file_actions_t fa;
        long long s = now_us();
        char buf[4096];
        int fds[2], status;
        pid_t pid;

        if (pipe(fds) < 0)
            return 1;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
        posix_spawn_file_actions_addclose(&fa, fds[0]);
        posix_spawn_file_actions_addclose(&fa, fds[1]);
        if (posix_spawn(&pid, args[0], &fa, NULL, args, environ) != 0)
            return 1;
        posix_spawn_file_actions_destroy(&fa);
        close(fds[1]);
        while (read(fds[0], buf, sizeof(buf)) > 0)
            ;
        close(fds[0]);
        while (waitpid(pid, &status, 0) < 0)
            ;
        per[i] = now_us() - s;
    }
    {
        double secs = (double)(now_us() - t0) / 1e6;
        qsort(per, (size_t)n, sizeof(*per), cmp);
        printf("runs %d seconds %.6f per_run_us_p50 %lld per_run_us_p99 %lld\n", n,
               secs, per[n / 2], per[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1]);
    }
    free(per);
    return 0;
}

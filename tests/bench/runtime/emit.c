/* emit.c - the programs of the ingest benchmark, run by a worker.
 *
 *   emit flood N STAMP   prints N lines "i=K loss=X" as fast as it can;
 *                        writes "start_us U" (epoch microseconds, just
 *                        before the first line) and "end_us U" (after the
 *                        last was written to the pipe) to the file STAMP.
 *   emit paced N RATE    prints N lines "t=U i=K" at RATE lines per
 *                        second, each flushed at once, U its print time in
 *                        epoch microseconds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long long epoch_us(void) {
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int flood(long n, const char *stamp) {
    static char buf[1 << 16];
    FILE *fp = fopen(stamp, "w");
    long long start;

    if (!fp)
        return 1;
    setvbuf(stdout, buf, _IOFBF, sizeof(buf));
    start = epoch_us();
    for (long i = 0; i < n; i++)
        printf("i=%ld loss=%.6f\n", i, 1.0 / (double)(i + 1));
    fflush(stdout);
    fprintf(fp, "start_us %lld\nend_us %lld\n", start, epoch_us());
    return fclose(fp) != 0;
}

static int paced(long n, double rate) {
    struct timespec next;
    long step_ns = (long)(1e9 / rate);

    clock_gettime(CLOCK_MONOTONIC, &next);
    for (long i = 0; i < n; i++) {
        printf("t=%lld i=%ld\n", epoch_us(), i);
        fflush(stdout);
        next.tv_nsec += step_ns;
        while (next.tv_nsec >= 1000000000L) {
            next.tv_nsec -= 1000000000L;
            next.tv_sec++;
        }
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 4 && !strcmp(argv[1], "flood"))
        return flood(atol(argv[2]), argv[3]);
    if (argc == 4 && !strcmp(argv[1], "paced"))
        return paced(atol(argv[2]), atof(argv[3]));
    fprintf(stderr, "usage: emit flood N STAMP | emit paced N RATE\n");
    return 2;
}

/*
 * bench_grid.c - time and peak memory to plan a 100,000-point grid with
 * search_suggest(count 0), with no prior runs and with 20,000 prior runs
 * covering points, against building the same 100,000 flat JSON objects
 * with plain nested loops.
 *
 * Every measurement runs in a fresh child process (fork), which once set
 * up gives its free heap back (malloc_trim) and resets its peak RSS
 * (/proc/self/clear_refs, "5"), so the peak is what the planning added.
 * The cases run BENCH_REPEAT times, interleaved, and medians are printed.
 */
#include <errno.h>
#include <fcntl.h>
#include <gsl/gsl_errno.h>
#include <jansson.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "diag.h"
#include "runs.h"
#include "search.h"

#define BENCH_REPEAT 9
#define BENCH_POINTS 100000
#define BENCH_PRIOR 20000

/* 10 values x 10 q_uniform x 10 int_uniform x 100 values; parameter
 * names sort in this order, so point index = ((a*10 + b)*10 + c)*100 + d. */
static const char grid_yaml[] =
    "method: grid\n"
    "parameters:\n"
    "  a_opt:\n"
    "    values: [adam, sgd, rmsprop, adagrad, adadelta, adamax, nadam,\n"
    "             ftrl, lamb, lion]\n"
    "  b_dropout:\n"
    "    distribution: q_uniform\n"
    "    min: 0\n"
    "    max: 1\n"
    "    q: 0.1\n"
    "  c_layers:\n"
    "    distribution: int_uniform\n"
    "    min: 1\n"
    "    max: 10\n"
    "  d_seed:\n"
    "    values: [%s]\n";

static const char *const opt_names[10] = {
    "adam", "sgd",   "rmsprop", "adagrad", "adadelta",
    "adamax", "nadam", "ftrl",  "lamb",    "lion"};

enum bench_case { CASE_GRID, CASE_GRID_PRIOR, CASE_BASELINE, CASE__COUNT };

static const char *const case_names[CASE__COUNT] = {
    "search_suggest grid, no prior",
    "search_suggest grid, 20000 prior",
    "baseline: nested loops, jansson",
};

struct result {
    long points;
    double ms;
    double peak_mib;
};

static double now_ms(void) {
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* A field of /proc/self/status in KiB ("VmHWM:", "VmRSS:"), or -1. */
static long status_kib(const char *field) {
    FILE *fp = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;

    if (!fp)
        return -1;
    while (fgets(line, sizeof(line), fp)) {
        if (!strncmp(line, field, strlen(field))) {
            v = strtol(line + strlen(field), NULL, 10);
            break;
        }
    }
    fclose(fp);
    return v;
}

/* Lowers VmHWM to the current RSS (Linux >= 4.0); 0 on success. */
static int reset_peak(void) {
    int fd = open("/proc/self/clear_refs", O_WRONLY);
    int ok;

    if (fd < 0)
        return -1;
    ok = write(fd, "5", 1) == 1;
    close(fd);
    return ok ? 0 : -1;
}

static struct sweep_config *load_grid(void) {
    char seeds[1024], yaml[2048];
    struct sweep_config *cfg;
    struct diags d;
    size_t off = 0;

    for (int i = 0; i < 100; i++)
        off += (size_t)snprintf(seeds + off, sizeof(seeds) - off, "%s%d",
                                i ? ", " : "", 1000 + i);
    snprintf(yaml, sizeof(yaml), grid_yaml, seeds);
    diags_init(&d, "bench-grid.yaml");
    cfg = config_load_buffer(yaml, strlen(yaml), "bench-grid.yaml", &d);
    if (!cfg)
        diags_print(&d, stderr);
    diags_release(&d);
    return cfg;
}

/* The flat object of point idx, built by hand (shared by the baseline and
 * the prior runs). Values compare equal to the grid's own. */
static json_t *point_at(long idx) {
    json_t *o = json_object();
    long d = idx % 100, c = idx / 100 % 10, b = idx / 1000 % 10,
         a = idx / 10000;

    if (!o)
        return NULL;
    if (json_object_set_new(o, "a_opt", json_string(opt_names[a])) < 0 ||
        json_object_set_new(o, "b_dropout", json_real((double)b / 10.0)) < 0 ||
        json_object_set_new(o, "c_layers", json_integer(c + 1)) < 0 ||
        json_object_set_new(o, "d_seed", json_integer(1000 + d)) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* BENCH_PRIOR finished runs on every 5th point. *json (the parsed array)
 * is handed back rather than freed: its holes in the heap would be reused
 * by the case unseen by the peak RSS. */
static struct runs *make_prior(json_t **json) {
    json_t *arr = json_array();
    struct runs *r = NULL;
    char errstr[256];

    for (long i = 0; arr && i < BENCH_PRIOR; i++) {
        json_t *run = json_pack("{s:s, s:s, s:o, s:[], s:{}}", "name",
                                "prior", "state", "finished", "params",
                                point_at(i * (BENCH_POINTS / BENCH_PRIOR)),
                                "history", "summary");
        if (!run || json_array_append_new(arr, run) < 0) {
            json_decref(arr);
            return NULL;
        }
    }
    if (arr && runs_from_json(arr, &r, errstr, sizeof(errstr)) < 0) {
        fprintf(stderr, "bench_grid: prior runs: %s\n", errstr);
        r = NULL;
    }
    *json = arr;
    return r;
}

/* The baseline: the same points with four nested loops. */
static long baseline(json_t *out) {
    long n = 0;

    for (int a = 0; a < 10; a++)
        for (int b = 0; b < 10; b++)
            for (int c = 0; c < 10; c++)
                for (int d = 0; d < 100; d++) {
                    json_t *o = json_object();
                    if (!o ||
                        json_object_set_new(o, "a_opt",
                                            json_string(opt_names[a])) < 0 ||
                        json_object_set_new(o, "b_dropout",
                                            json_real(b / 10.0)) < 0 ||
                        json_object_set_new(o, "c_layers",
                                            json_integer(c + 1)) < 0 ||
                        json_object_set_new(o, "d_seed",
                                            json_integer(1000 + d)) < 0 ||
                        json_array_append_new(out, o) < 0)
                        return -1;
                    n++;
                }
    return n;
}

/* In the child: set up, reset the peak, run the case once. */
static int child_run(enum bench_case which, struct result *res) {
    struct sweep_config *cfg = which == CASE_BASELINE ? NULL : load_grid();
    json_t *prior_json = NULL, *out = json_array();
    struct runs *prior =
        which == CASE_GRID_PRIOR ? make_prior(&prior_json) : NULL;
    char errstr[256];
    long rss0;
    double t0;

    if ((which != CASE_BASELINE && !cfg) ||
        (which == CASE_GRID_PRIOR && !prior) || !out)
        return -1;
    /* the setup's freed heap would otherwise be reused unseen */
    malloc_trim(0);
    rss0 = status_kib("VmRSS:");
    if (reset_peak() < 0 || rss0 < 0)
        return -1;
    t0 = now_ms();
    if (which == CASE_BASELINE)
        res->points = baseline(out);
    else
        res->points = search_suggest(cfg, prior, 0, NULL, out, errstr,
                                     sizeof(errstr));
    res->ms = now_ms() - t0;
    res->peak_mib = (double)(status_kib("VmHWM:") - rss0) / 1024.0;
    if (res->points < 0)
        fprintf(stderr, "bench_grid: %s: %s\n", case_names[which],
                which == CASE_BASELINE ? "out of memory" : errstr);
    /* the process ends here: no teardown to time, nothing to free */
    return res->points < 0 ? -1 : 0;
}

/* One measurement in a fresh process; 0 on success. */
static int measure(enum bench_case which, struct result *res) {
    int fds[2], status;
    ssize_t got;
    pid_t pid;

    if (pipe(fds) < 0)
        return -1;
    fflush(stdout);
    pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        struct result r = {0, 0, 0};
        int rc = child_run(which, &r);
        close(fds[0]);
        if (rc == 0 && write(fds[1], &r, sizeof(r)) != (ssize_t)sizeof(r))
            rc = -1;
        _exit(rc ? 1 : 0);
    }
    close(fds[1]);
    got = read(fds[0], res, sizeof(*res));
    close(fds[0]);
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return -1;
    }
    if (got != (ssize_t)sizeof(*res) || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0)
        return -1;
    return 0;
}

static int cmp_double(const void *pa, const void *pb) {
    double a = *(const double *)pa, b = *(const double *)pb;

    return a < b ? -1 : a > b;
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof(double), cmp_double);
    return v[n / 2];
}

/* BENCH_REPEAT fresh-process runs of every case, interleaved so that a
 * slow spell of the machine hits all cases alike; medians into res. */
static int measure_all(struct result *res) {
    double ms[CASE__COUNT][BENCH_REPEAT], mib[CASE__COUNT][BENCH_REPEAT];
    struct result r;

    for (int i = 0; i < BENCH_REPEAT; i++) {
        for (int c = 0; c < CASE__COUNT; c++) {
            if (measure((enum bench_case)c, &r) < 0) {
                fprintf(stderr, "bench_grid: %s failed\n", case_names[c]);
                return -1;
            }
            ms[c][i] = r.ms;
            mib[c][i] = r.peak_mib;
            res[c].points = r.points;
        }
    }
    for (int c = 0; c < CASE__COUNT; c++) {
        res[c].ms = median(ms[c], BENCH_REPEAT);
        res[c].peak_mib = median(mib[c], BENCH_REPEAT);
    }
    return 0;
}

int main(void) {
    static const long expect[CASE__COUNT] = {
        BENCH_POINTS, BENCH_POINTS - BENCH_PRIOR, BENCH_POINTS};
    struct result res[CASE__COUNT];
    int rc = 0;

    gsl_set_error_handler_off();
    if (measure_all(res) < 0)
        return 1;
    for (int i = 0; i < CASE__COUNT; i++) {
        if (res[i].points != expect[i]) {
            fprintf(stderr, "bench_grid: %s made %ld points, expected %ld\n",
                    case_names[i], res[i].points, expect[i]);
            rc = 1;
        }
    }
    printf("grid planning: 100,000-point grid (10 x 10 x 10 x 100), "
           "median of %d fresh processes per case\n\n", BENCH_REPEAT);
    printf("| %-32s | %6s | %8s | %13s | %10s | %9s |\n", "case", "points",
           "time ms", "peak RSS MiB", "time ratio", "RSS ratio");
    printf("|%s|%s|%s|%s|%s|%s|\n", "----------------------------------",
           "--------", "----------", "---------------", "------------",
           "-----------");
    for (int i = 0; i < CASE__COUNT; i++)
        printf("| %-32s | %6ld | %8.1f | %13.1f | %10.2f | %9.2f |\n",
               case_names[i], res[i].points, res[i].ms, res[i].peak_mib,
               res[i].ms / res[CASE_BASELINE].ms,
               res[i].peak_mib / res[CASE_BASELINE].peak_mib);
    printf("\nratios are against the baseline row; peak RSS is the rise of "
           "VmHWM over VmRSS at the start of the case\n");
    return rc;
}

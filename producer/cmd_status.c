/* cmd_status.c - `sweep status ID [--json] [--watch [--interval S]]`:
 * state and run counts, once or as they change. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "sbuf.h"
#include "store.h"
#include "value.h"

static const char status_help[] =
    "usage: sweep status ID [--json] [--watch [--interval S]] [settings flags]\n"
    "\n"
    "The sweep's state, its runs counted by state, and the metric events\n"
    "that never reached the controller (a broker that dropped them; `sweep\n"
    "runs` says which runs). --json prints one object with \"state\",\n"
    "\"runs\" (counts by state), \"metrics_lost\" and the rest.\n"
    "\n"
    "      --watch        follow the sweep until it is finished or canceled\n"
    "                     and nothing runs: on a terminal a live view (like\n"
    "                     top: state, counts, the best run, the latest runs),\n"
    "                     else one line each time something changed (with\n"
    "                     --json, one object per line)\n"
    "      --interval S   seconds between looks (default 1)\n\n";

static volatile sig_atomic_t stop_watch;

static void on_signal(int sig) {
    (void)sig;
    stop_watch = 1;
}

/* Sums the runs' metrics_lost into o (and how many runs lost any). */
static void add_lost(const json_t *runs, json_t *o) {
    json_int_t lost = 0, nruns = 0;
    const json_t *r;
    size_t i;

    json_array_foreach(runs, i, r) {
        json_int_t l = json_integer_value(json_object_get(r, "metrics_lost"));
        lost += l > 0 ? l : 0;
        nruns += l > 0;
    }
    json_object_set_new(o, "metrics_lost", json_integer(lost));
    json_object_set_new(o, "runs_with_metrics_lost", json_integer(nruns));
}

static void print_text(const char *id, const json_t *o) {
    const char *k;
    json_t *v;

    printf("sweep    %s\nname     %s\nmethod   %s\nstate    %s%s%s%s\n"
           "created  %lld runs\n",
           id, json_string_value(json_object_get(o, "name")) ?: "",
           json_string_value(json_object_get(o, "method")),
           json_string_value(json_object_get(o, "state")),
           json_object_get(o, "finish_reason") ? " (" : "",
           json_string_value(json_object_get(o, "finish_reason")) ?: "",
           json_object_get(o, "finish_reason") ? ")" : "",
           (long long)json_integer_value(json_object_get(o, "runs_created")));
    json_object_foreach(json_object_get(o, "runs"), k, v)
        if (json_integer_value(v))
            printf("  %-10s %lld\n", k, (long long)json_integer_value(v));
    if (json_integer_value(json_object_get(o, "metrics_lost")) > 0)
        printf("lost     %lld metric events in %lld run(s) (sweep runs %s "
               "shows which)\n",
               (long long)json_integer_value(json_object_get(o, "metrics_lost")),
               (long long)json_integer_value(json_object_get(o, "runs_with_metrics_lost")),
               id);
}

/* "state created N finished N ..." on one line: what a watch compares. */
static void summary_line(struct sbuf *sb, const json_t *o) {
    const char *k;
    json_t *v;

    sbuf_addf(sb, "%s created %lld", json_string_value(json_object_get(o, "state")) ?: "?",
              (long long)json_integer_value(json_object_get(o, "runs_created")));
    json_object_foreach(json_object_get(o, "runs"), k, v)
        if (json_integer_value(v))
            sbuf_addf(sb, " %s %lld", k, (long long)json_integer_value(v));
    if (json_integer_value(json_object_get(o, "metrics_lost")) > 0)
        sbuf_addf(sb, " lost %lld",
                  (long long)json_integer_value(json_object_get(o, "metrics_lost")));
}

/* Over: finished or canceled, and nothing pending or running. */
static int sweep_over(const json_t *o) {
    const char *st = json_string_value(json_object_get(o, "state")) ?: "";
    const json_t *n = json_object_get(o, "runs");

    return (!strcmp(st, "finished") || !strcmp(st, "canceled")) &&
           json_integer_value(json_object_get(n, "running")) == 0 &&
           json_integer_value(json_object_get(n, "pending")) == 0;
}

/* The live view: the status, the best run so far, the latest runs. */
static void draw(const char *id, const json_t *o, const json_t *runs) {
    struct metric_goal g;
    const json_t *r, *best;
    size_t i, n = json_array_size(runs);
    time_t now = time(NULL);
    char stamp[32];
    double bv = 0;

    cli_metric_goal(o, &g);
    strftime(stamp, sizeof(stamp), "%H:%M:%S", localtime(&now));
    printf("\033[H\033[J"); /* home, clear */
    printf("sweep status %s  (%s; Ctrl-C to leave)\n\n", id, stamp);
    print_text(id, o);
    if ((best = cli_best_run(runs, &g, &bv)))
        printf("best     %s: %s = %.10g\n",
               json_string_value(json_object_get(best, "id")), g.name, bv);
    printf("\n%-9s %-10s %3s %6s %12s  %s\n", "RUN", "STATE", "ATT", "STEPS",
           g.name ? g.name : "", "REASON");
    for (i = n > 15 ? n - 15 : 0; i < n; i++) {
        const json_t *v;
        char val[32] = "";
        r = json_array_get(runs, i);
        v = g.name ? json_object_get(json_object_get(r, "summary"), g.name) : NULL;
        if (json_is_number(v))
            snprintf(val, sizeof(val), "%.6g", json_number_value(v));
        printf("%-9s %-10s %3lld %6lld %12s  %.40s\n",
               json_string_value(json_object_get(r, "id")) ?: "",
               json_string_value(json_object_get(r, "state")) ?: "?",
               (long long)json_integer_value(json_object_get(r, "attempt")),
               (long long)json_integer_value(json_object_get(r, "steps")), val,
               json_string_value(json_object_get(r, "reason")) ?: "");
    }
    fflush(stdout);
}

/* One look: the sweep with its losses counted, and its runs (without
 * histories) in *runs when runs is not NULL; NULL (after saying why)
 * when it is gone or Redis failed. */
static json_t *look(struct store *s, const char *id, json_t **runs) {
    json_t *o = store_sweep_get(s, id), *rs;

    if (!o) {
        if (*store_errstr(s))
            fprintf(stderr, "sweep status: %s\n", store_errstr(s));
        else
            fprintf(stderr, "sweep status: no sweep '%s'\n", id);
        return NULL;
    }
    rs = store_runs(s, id, 0); /* NULL: counted as no losses */
    add_lost(rs, o);
    if (runs)
        *runs = rs ? rs : json_array();
    else
        json_decref(rs);
    return o;
}

static int watch(struct store *s, const char *id, int json, double interval) {
    int tty = isatty(STDOUT_FILENO);
    struct sbuf last = SBUF_INIT, cur = SBUF_INIT;
    struct sigaction sa;
    int rc = 0;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    for (;;) {
        json_t *runs = NULL, *o = look(s, id, tty && !json ? &runs : NULL);
        int over;
        if (!o) {
            rc = EXIT_RUNTIME;
            break;
        }
        over = sweep_over(o);
        sbuf_reset(&cur);
        summary_line(&cur, o);
        if (runs) {
            draw(id, o, runs);
            json_decref(runs);
        } else if (strcmp(sbuf_str(&cur), sbuf_str(&last))) {
            char stamp[32];
            time_t now = time(NULL);
            strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
            if (json) {
                struct sbuf sb = SBUF_INIT;
                json_object_set_new(o, "at", json_string(stamp));
                value_json(&sb, o);
                printf("%s\n", sbuf_str(&sb));
                sbuf_release(&sb);
            } else {
                printf("%s %s\n", stamp, sbuf_str(&cur));
            }
            fflush(stdout);
        }
        sbuf_reset(&last);
        sbuf_adds(&last, sbuf_str(&cur));
        json_decref(o);
        if (over || stop_watch)
            break;
        {
            struct timespec ts = {(time_t)interval,
                                  (long)((interval - (double)(time_t)interval) * 1e9)};
            while (nanosleep(&ts, &ts) < 0 && !stop_watch)
                ;
        }
        if (stop_watch)
            break;
    }
    sbuf_release(&last);
    sbuf_release(&cur);
    return rc;
}

int cmd_status(int argc, char **argv) {
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
                                         {"watch", no_argument, NULL, 'w'},
                                         {"interval", required_argument, NULL, 'i'},
                                         {"help", no_argument, NULL, 'h'},
                                         SETTINGS_LONG_OPTIONS,
                                         {NULL, 0, NULL, 0}};
    struct settings_flags f = {0};
    struct settings st = {0};
    struct store *s = NULL;
    const char *id;
    json_t *o = NULL;
    int json = 0, watching = 0, c, rc;
    double interval = 1.0;

    while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
        if (settings_flag(&f, c, optarg))
            continue;
        switch (c) {
        case 'j':
            json = 1;
            break;
        case 'w':
            watching = 1;
            break;
        case 'i': {
            char *end;
            interval = strtod(optarg, &end);
            if (end == optarg || *end || !(interval >= 0.05 && interval <= 3600)) {
                fprintf(stderr, "sweep status: --interval: seconds from 0.05 to 3600, "
                                "not '%s'\n", optarg);
                return EXIT_USAGE;
            }
            break;
        }
        case 'h':
            printf("%s%s", status_help, SETTINGS_HELP);
            return 0;
        default:
            fprintf(stderr, "usage: sweep status ID [--json] [--watch [--interval S]] "
                            "(--help)\n");
            return EXIT_USAGE;
        }
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "usage: sweep status ID [--json] [--watch [--interval S]] "
                        "(--help)\n");
        return EXIT_USAGE;
    }
    id = argv[optind];
    if ((rc = cli_settings(&st, &f, "status")))
        return rc < 0 ? 0 : rc;
    rc = EXIT_RUNTIME;
    if (!(s = cli_store(&st, "status")))
        goto out;
    if (watching) {
        rc = watch(s, id, json, interval);
        goto out;
    }
    if (!(o = look(s, id, NULL)))
        goto out;
    if (json) {
        struct sbuf sb = SBUF_INIT;
        value_json(&sb, o);
        printf("%s\n", sbuf_str(&sb));
        sbuf_release(&sb);
    } else {
        print_text(id, o);
    }
    rc = 0;
out:
    json_decref(o);
    store_free(s);
    settings_release(&st);
    return rc;
}

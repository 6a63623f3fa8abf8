/*
 * cmd_importance.c - `sweep importance ID [--json]`: the parameter
 * importance of the dashboard (lib/importance.c), from Redis: a table, or
 * the JSON of /api/sweeps/ID/importance.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "importance.h"
#include "sbuf.h"
#include "store.h"
#include "value.h"

static const char importance_help[] =
    "usage: sweep importance ID [--json] [settings flags]\n"
    "\n"
    "How much each parameter matters to the sweep's metric, over its ended\n"
    "runs (failed, killed and crashed ones as metric.impute says): Spearman's\n"
    "rank correlation and the linear correlation (categorical parameters\n"
    "per value, one-hot), most important first. The same figures as the\n"
    "dashboard's panel (docs/ui.md). Fewer than 5 runs: none, and why.\n"
    "\n"
    "      --json    the JSON of /api/sweeps/ID/importance\n\n";

static void cell(const json_t *v) {
    if (json_is_number(v))
        printf(" %9.3f", json_number_value(v));
    else
        printf(" %9s", "-");
}

static void print_table(const json_t *out) {
    const json_t *ps = json_object_get(out, "parameters"), *p, *v;
    const json_t *m = json_object_get(out, "metric");
    size_t i, k;

    printf("metric %s (%s), %lld of %lld runs used\n",
           json_string_value(json_object_get(m, "name")) ? json_string_value(json_object_get(m, "name")) : "-",
           json_string_value(json_object_get(m, "goal")),
           (long long)json_integer_value(json_object_get(out, "n_used")),
           (long long)json_integer_value(json_object_get(out, "n_runs")));
    if (json_is_string(json_object_get(out, "reason"))) {
        printf("%s\n", json_string_value(json_object_get(out, "reason")));
        return;
    }
    printf("%-32s %9s %9s %9s\n", "PARAMETER", "IMPORT.", "SPEARMAN", "LINEAR");
    json_array_foreach(ps, i, p) {
        printf("%-32.32s", json_string_value(json_object_get(p, "name")));
        cell(json_object_get(p, "importance"));
        cell(json_object_get(p, "spearman"));
        cell(json_object_get(p, "linear"));
        printf("\n");
        json_array_foreach(json_object_get(p, "values"), k, v) {
            struct sbuf sb = SBUF_INIT;
            value_json(&sb, json_object_get(v, "value"));
            printf("  = %-28.28s %9s", sbuf_str(&sb), "");
            cell(json_object_get(v, "spearman"));
            cell(json_object_get(v, "linear"));
            printf("   (%lld runs)\n", (long long)json_integer_value(json_object_get(v, "n")));
            sbuf_release(&sb);
        }
    }
    printf("importance: %s; spearman: %s\n",
           json_string_value(json_object_get(json_object_get(out, "methods"), "importance")),
           json_string_value(json_object_get(json_object_get(out, "methods"), "spearman")));
}

int cmd_importance(int argc, char **argv) {
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         SETTINGS_LONG_OPTIONS,
                                         {NULL, 0, NULL, 0}};
    struct settings_flags f = {0};
    struct settings st = {0};
    struct store *s = NULL;
    json_t *sweep = NULL, *runs = NULL, *out = NULL;
    const char *id;
    char err[256];
    int c, rc, json = 0;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (settings_flag(&f, c, optarg))
            continue;
        if (c == 'j') {
            json = 1;
        } else if (c == 'h') {
            printf("%s%s", importance_help, SETTINGS_HELP);
            return 0;
        } else {
            fprintf(stderr, "usage: sweep importance ID [--json] (--help)\n");
            return EXIT_USAGE;
        }
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "usage: sweep importance ID [--json] (--help)\n");
        return EXIT_USAGE;
    }
    id = argv[optind];
    if ((rc = cli_settings(&st, &f, "importance")))
        return rc < 0 ? 0 : rc;
    rc = EXIT_RUNTIME;
    if (!(s = cli_store(&st, "importance")))
        goto out;
    if (!(sweep = store_sweep_get(s, id))) {
        if (*store_errstr(s))
            fprintf(stderr, "sweep importance: %s\n", store_errstr(s));
        else
            fprintf(stderr, "sweep importance: no sweep '%s'\n", id);
        goto out;
    }
    if (!(runs = store_runs(s, id, 0))) {
        fprintf(stderr, "sweep importance: %s\n", store_errstr(s));
        goto out;
    }
    if (!(out = importance_compute(sweep, runs, err, sizeof(err)))) {
        fprintf(stderr, "sweep importance: %s\n", err);
        goto out;
    }
    if (json) {
        struct sbuf sb = SBUF_INIT;
        json_object_set_new(out, "sweep", json_string(id));
        value_json(&sb, out);
        printf("%s\n", sbuf_str(&sb));
        sbuf_release(&sb);
    } else {
        print_table(out);
    }
    rc = fflush(stdout) == 0 ? 0 : EXIT_RUNTIME;
out:
    json_decref(out);
    json_decref(sweep);
    json_decref(runs);
    store_free(s);
    settings_release(&st);
    return rc;
}

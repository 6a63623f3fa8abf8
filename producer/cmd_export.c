/*
 * cmd_export.c - `sweep export ID [--format csv|json]`: every run of a
 * sweep, its parameters, state and summary metrics, for a spreadsheet or
 * a notebook.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "sbuf.h"
#include "store.h"
#include "value.h"

static const char export_help[] =
    "usage: sweep export ID [--format csv|json] [settings flags]\n"
    "\n"
    "Every run of the sweep in creation order: id, state, attempt, worker,\n"
    "steps, started_at and ended_at (epoch ms), reason, its parameters and\n"
    "its summary metrics (the last value of each).\n"
    "\n"
    "      --format csv   (default) one row per run; nested parameters\n"
    "                     flattened as opt.lr; a metric named like a\n"
    "                     parameter is summary.NAME; RFC 4180 quoting; a\n"
    "                     text cell starting with = + - @ gets a leading '\n"
    "                     so that no spreadsheet runs it as a formula\n"
    "      --format json  an array of objects, parameters nested as in\n"
    "                     the config\n\n";

static const char *const fixed[] = {"id", "state", "attempt", "worker", "steps",
                                    "started_at", "ended_at", "reason"};
#define NFIXED (sizeof(fixed) / sizeof(fixed[0]))

/* Adds the flattened names of v's leaves to names (an object used as an
 * ordered set), prefix.key for nested objects. */
static void leaf_names(json_t *names, const json_t *v, const char *prefix) {
    const char *k;
    json_t *x;

    json_object_foreach((json_t *)v, k, x) {
        struct sbuf sb = SBUF_INIT;
        sbuf_addf(&sb, "%s%s%s", prefix, *prefix ? "." : "", k);
        if (json_is_object(x) && json_object_size(x))
            leaf_names(names, x, sbuf_str(&sb));
        else
            json_object_set_new(names, sbuf_str(&sb), json_true());
        sbuf_release(&sb);
    }
}

/* The leaf at a flattened name ("opt.lr"), or NULL. Keys with dots in
 * them are found too: each split is tried. */
static const json_t *leaf_get(const json_t *v, const char *name) {
    const json_t *x = json_object_get(v, name);
    const char *dot;

    if (x)
        return x;
    for (dot = strchr(name, '.'); dot; dot = strchr(dot + 1, '.')) {
        struct sbuf sb = SBUF_INIT;
        const json_t *sub;
        sbuf_add(&sb, name, (size_t)(dot - name));
        sub = json_object_get(v, sbuf_str(&sb));
        sbuf_release(&sb);
        if (json_is_object(sub) && (x = leaf_get(sub, dot + 1)))
            return x;
    }
    return NULL;
}

/* A text that a spreadsheet would take for a formula. */
static int formula_like(const char *s) {
    return *s && strchr("=+-@\t\r", *s) != NULL;
}

static void csv_cell(struct sbuf *out, const json_t *v) {
    struct sbuf sb = SBUF_INIT;
    const char *s;

    if (!v || json_is_null(v))
        return;
    if (json_is_string(v)) {
        if (formula_like(json_string_value(v)))
            sbuf_addc(&sb, '\'');
        sbuf_adds(&sb, json_string_value(v));
    } else if (json_is_boolean(v)) {
        sbuf_adds(&sb, json_is_true(v) ? "true" : "false");
    } else {
        value_json(&sb, v);
    }
    s = sbuf_str(&sb);
    if (strpbrk(s, ",\"\r\n")) {
        sbuf_addc(out, '"');
        for (; *s; s++) {
            if (*s == '"')
                sbuf_addc(out, '"');
            sbuf_addc(out, *s);
        }
        sbuf_addc(out, '"');
    } else {
        sbuf_adds(out, s);
    }
    sbuf_release(&sb);
}

static void csv_name(struct sbuf *out, const char *name) {
    json_t *v = json_string(name);
    csv_cell(out, v);
    json_decref(v);
}

static void print_csv(const json_t *runs) {
    json_t *params = json_object(), *metrics = json_object(), *r;
    struct sbuf sb = SBUF_INIT;
    const char *k;
    json_t *x;
    size_t i;

    json_array_foreach(runs, i, r) {
        leaf_names(params, json_object_get(r, "params"), "");
        json_object_foreach(json_object_get(r, "summary"), k, x)
            json_object_set_new(metrics, k, json_true());
    }
    for (i = 0; i < NFIXED; i++) {
        if (i)
            sbuf_addc(&sb, ',');
        csv_name(&sb, fixed[i]);
    }
    json_object_foreach(params, k, x) {
        sbuf_addc(&sb, ',');
        csv_name(&sb, k);
    }
    json_object_foreach(metrics, k, x) {
        struct sbuf n = SBUF_INIT;
        int clash = json_object_get(params, k) != NULL;
        for (i = 0; i < NFIXED && !clash; i++)
            clash = !strcmp(k, fixed[i]);
        sbuf_addf(&n, "%s%s", clash ? "summary." : "", k);
        sbuf_addc(&sb, ',');
        csv_name(&sb, sbuf_str(&n));
        sbuf_release(&n);
    }
    printf("%s\r\n", sbuf_str(&sb));
    json_array_foreach(runs, i, r) {
        sbuf_reset(&sb);
        for (size_t f = 0; f < NFIXED; f++) {
            if (f)
                sbuf_addc(&sb, ',');
            csv_cell(&sb, json_object_get(r, fixed[f]));
        }
        json_object_foreach(params, k, x) {
            sbuf_addc(&sb, ',');
            csv_cell(&sb, leaf_get(json_object_get(r, "params"), k));
        }
        json_object_foreach(metrics, k, x) {
            sbuf_addc(&sb, ',');
            csv_cell(&sb, json_object_get(json_object_get(r, "summary"), k));
        }
        printf("%s\r\n", sbuf_str(&sb));
    }
    sbuf_release(&sb);
    json_decref(params);
    json_decref(metrics);
}

static void print_json(const json_t *runs) {
    json_t *out = json_array(), *r;
    struct sbuf sb = SBUF_INIT;
    size_t i;

    json_array_foreach(runs, i, r) {
        json_t *o = json_object();
        for (size_t f = 0; f < NFIXED; f++)
            if (json_object_get(r, fixed[f]))
                json_object_set(o, fixed[f], json_object_get(r, fixed[f]));
        json_object_set(o, "params", json_object_get(r, "params"));
        json_object_set(o, "summary", json_object_get(r, "summary"));
        json_array_append_new(out, o);
    }
    value_json(&sb, out);
    printf("%s\n", sbuf_str(&sb));
    sbuf_release(&sb);
    json_decref(out);
}

int cmd_export(int argc, char **argv) {
    static const struct option opts[] = {{"format", required_argument, NULL, 'f'},
                                         {"help", no_argument, NULL, 'h'},
                                         SETTINGS_LONG_OPTIONS,
                                         {NULL, 0, NULL, 0}};
    struct settings_flags f = {0};
    struct settings st = {0};
    struct store *s = NULL;
    json_t *sweep = NULL, *runs = NULL;
    const char *format = "csv", *id;
    int c, rc;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (settings_flag(&f, c, optarg))
            continue;
        if (c == 'f') {
            format = optarg;
        } else if (c == 'h') {
            printf("%s%s", export_help, SETTINGS_HELP);
            return 0;
        } else {
            fprintf(stderr, "usage: sweep export ID [--format csv|json] (--help)\n");
            return EXIT_USAGE;
        }
    }
    if (strcmp(format, "csv") && strcmp(format, "json")) {
        fprintf(stderr, "sweep export: --format '%s': csv or json\n", format);
        return EXIT_USAGE;
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "usage: sweep export ID [--format csv|json] (--help)\n");
        return EXIT_USAGE;
    }
    id = argv[optind];
    if ((rc = cli_settings(&st, &f, "export")))
        return rc < 0 ? 0 : rc;
    rc = EXIT_RUNTIME;
    if (!(s = cli_store(&st, "export")))
        goto out;
    if (!(sweep = store_sweep_get(s, id))) {
        fprintf(stderr, "sweep export: no sweep '%s'\n", id);
        goto out;
    }
    if (!(runs = store_runs(s, id, 0))) {
        fprintf(stderr, "sweep export: %s\n", store_errstr(s));
        goto out;
    }
    if (!strcmp(format, "csv"))
        print_csv(runs);
    else
        print_json(runs);
    rc = fflush(stdout) == 0 ? 0 : EXIT_RUNTIME;
out:
    json_decref(sweep);
    json_decref(runs);
    store_free(s);
    settings_release(&st);
    return rc;
}

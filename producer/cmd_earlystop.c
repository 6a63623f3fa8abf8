/*
 * cmd_earlystop.c - `sweep early-stop FILE --runs RUNS.json`: which running
 * runs the config's early_terminate would stop now, and why, offline.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "earlystop.h"
#include "runs.h"
#include "sbuf.h"
#include "sweep.h"
#include "value.h"

struct es_opts {
    const char *runs_path;
    int json;
};

static void es_usage(FILE *fp) {
    fprintf(
        fp,
        "usage: sweep early-stop FILE --runs RUNS.json [--json]\n"
        "\n"
        "Judges the running runs in RUNS.json (a JSON array of {name, state,\n"
        "params, history, summary}, as for 'sweep plan') by the config's\n"
        "early_terminate (hyperband, median or asha) and prints the bands,\n"
        "steps or rungs with their thresholds, and every run it would stop\n"
        "with the reason.\n"
        "\n"
        "  -r, --runs FILE       the runs ('-' for stdin)\n"
        "  -j, --json            one JSON object: {\"type\", \"bands\",\n"
        "                        \"thresholds\", \"stop\": [names], "
        "\"reasons\"}\n"
        "  -h, --help            this help\n");
}

static int parse_es_args(int argc, char **argv, struct es_opts *o) {
    static const struct option opts[] = {{"runs", required_argument, NULL, 'r'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         SETTINGS_LONG_OPTIONS,
                                         {NULL, 0, NULL, 0}};
    struct settings_flags f = {0};
    int c;

    while ((c = getopt_long(argc, argv, "r:jh", opts, NULL)) != -1) {
        if (settings_flag(&f, c, optarg))
            continue; /* accepted everywhere; early-stop is offline */
        switch (c) {
        case 'r':
            o->runs_path = optarg;
            break;
        case 'j':
            o->json = 1;
            break;
        case 'h':
            es_usage(stdout);
            return 0;
        default:
            es_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind != argc - 1 || !o->runs_path) {
        fprintf(stderr,
                "sweep early-stop: expected one FILE and --runs RUNS.json\n");
        es_usage(stderr);
        return EXIT_USAGE;
    }
    return -1; /* go on */
}

/* Every run's metric values (runs[i].values owned here). */
static int es_inputs(const struct sweep_config *cfg, const struct runs *rs,
                     struct es_run **out) {
    struct es_run *v = calloc(rs->n ? rs->n : 1, sizeof(*v));

    *out = v;
    if (!v)
        return SWEEP_ENOMEM;
    for (size_t i = 0; i < rs->n; i++) {
        double *vals;
        long n = earlystop_values(rs->v[i].history, cfg->metric.name, &vals);
        if (n < 0)
            return SWEEP_ENOMEM;
        v[i] = (struct es_run){rs->v[i].name, rs->v[i].state == RUN_RUNNING,
                               vals, (size_t)n};
    }
    return 0;
}

static void es_inputs_free(struct es_run *v, size_t n) {
    for (size_t i = 0; v && i < n; i++)
        free((double *)v[i].values);
    free(v);
}

static const char *level_word(enum et_type t) {
    return t == ET_HYPERBAND ? "band" : t == ET_MEDIAN ? "step" : "rung";
}

static void print_header(const struct early_terminate *et,
                         const struct sweep_config *cfg,
                         const struct es_result *res) {
    struct sbuf sb = SBUF_INIT;

    sbuf_addf(&sb, "%s", earlystop_type_name(et->type));
    if (et->type == ET_HYPERBAND)
        sbuf_addf(&sb, ", eta %g, %s", et->eta,
                  et->strict ? "strict" : "not strict");
    else if (et->type == ET_ASHA)
        sbuf_addf(&sb, ", eta %g", et->eta);
    else
        sbuf_addf(&sb, ", min_iter %ld", et->min_iter);
    sbuf_addf(&sb, ", metric %s (%s)\n%ss:", cfg->metric.name,
              cfg->metric.maximize ? "maximize" : "minimize",
              level_word(et->type));
    for (size_t j = 0; j < res->nlevels; j++)
        sbuf_addf(&sb, " %ld", res->levels[j].at);
    if (!res->nlevels)
        sbuf_adds(&sb, " none (no running run has min_iter values)");
    printf("%s\n", sbuf_str(&sb));
    sbuf_release(&sb);
}

static void print_text(const struct early_terminate *et,
                       const struct sweep_config *cfg, const struct runs *rs,
                       const struct es_result *res) {
    struct sbuf sb = SBUF_INIT;
    size_t running = 0;

    print_header(et, cfg, res);
    for (size_t j = 0; j < res->nlevels; j++) {
        const struct es_level *l = &res->levels[j];
        if (!l->count)
            continue; /* nobody got there: not worth a line */
        sbuf_reset(&sb);
        sbuf_addf(&sb, "%s %ld: ", level_word(et->type), l->at);
        if (l->has_threshold) {
            sbuf_adds(&sb, et->type == ET_MEDIAN ? "median "
                           : et->type == ET_ASHA ? "cutoff "
                                                 : "threshold ");
            value_format_float(&sb, l->threshold);
            sbuf_addf(&sb, " (%zu run%s)", l->count, l->count == 1 ? "" : "s");
        } else {
            sbuf_addf(&sb, "no cutoff: %zu run%s, fewer than eta", l->count,
                      l->count == 1 ? "" : "s");
        }
        printf("%s\n", sbuf_str(&sb));
    }
    for (size_t i = 0; i < rs->n; i++) {
        running += rs->v[i].state == RUN_RUNNING;
        if (!res->runs[i].why.stop)
            continue;
        sbuf_reset(&sb);
        earlystop_reason_format(&res->runs[i].why, &sb);
        printf("stop %s: %s\n", rs->v[i].name, sbuf_str(&sb));
    }
    printf("%zu of %zu running run%s to stop\n", res->nstop, running,
           running == 1 ? "" : "s");
    sbuf_release(&sb);
}

static json_t *build_json(const struct early_terminate *et,
                          const struct runs *rs, const struct es_result *res) {
    json_t *bands = json_array(), *thr = json_array(), *stop = json_array(),
           *why = json_object(), *o = NULL;
    struct sbuf sb = SBUF_INIT;
    int bad = !bands || !thr || !stop || !why;

    for (size_t j = 0; !bad && j < res->nlevels; j++) {
        const struct es_level *l = &res->levels[j];
        bad |= json_array_append_new(bands, json_integer(l->at)) < 0;
        bad |= json_array_append_new(thr, l->has_threshold
                                              ? json_real(l->threshold)
                                              : json_null()) < 0;
    }
    for (size_t i = 0; !bad && i < rs->n; i++) {
        if (!res->runs[i].why.stop)
            continue;
        sbuf_reset(&sb);
        earlystop_reason_format(&res->runs[i].why, &sb);
        bad |= json_array_append_new(stop, json_string(rs->v[i].name)) < 0;
        bad |= json_object_set_new(why, rs->v[i].name,
                                   json_string(sbuf_str(&sb))) < 0;
    }
    if (!bad && !sbuf_oom(&sb))
        o = json_pack("{s:s, s:O, s:O, s:O, s:O}", "type",
                      earlystop_type_name(et->type), "bands", bands,
                      "thresholds", thr, "stop", stop, "reasons", why);
    sbuf_release(&sb);
    json_decref(bands);
    json_decref(thr);
    json_decref(stop);
    json_decref(why);
    return o;
}

static int print_json(const struct early_terminate *et, const struct runs *rs,
                      const struct es_result *res) {
    json_t *o = build_json(et, rs, res);
    struct sbuf sb = SBUF_INIT;
    int rc = -1;

    if (o) {
        value_json(&sb, o);
        if (!sbuf_oom(&sb)) {
            printf("%s\n", sbuf_str(&sb));
            rc = 0;
        }
    }
    sbuf_release(&sb);
    json_decref(o);
    return rc;
}

static int es_judge(const struct sweep_config *cfg, const struct runs *rs,
                    const struct es_opts *o) {
    struct es_result res;
    struct es_run *in = NULL;
    int rc = es_inputs(cfg, rs, &in);

    earlystop_result_init(&res);
    if (!rc)
        rc =
            earlystop_evaluate(&cfg->et, cfg->metric.maximize, in, rs->n, &res);
    if (!rc && o->json)
        rc = print_json(&cfg->et, rs, &res);
    else if (!rc)
        print_text(&cfg->et, cfg, rs, &res);
    earlystop_result_release(&res);
    es_inputs_free(in, rs->n);
    if (rc)
        fprintf(stderr, "sweep early-stop: out of memory\n");
    return rc ? EXIT_RUNTIME : 0;
}

static int es_run_file(const char *path, const struct es_opts *o) {
    struct sweep_config *cfg;
    struct runs *rs = NULL;
    char errstr[512];
    int rc = EXIT_USAGE;

    cfg = cli_load_config(path);
    if (!cfg)
        return EXIT_USAGE;
    if (cfg->et.type == ET_NONE)
        fprintf(stderr,
                "sweep early-stop: %s: the config has no early_terminate\n",
                path);
    else if (runs_load_file(o->runs_path, &rs, errstr, sizeof(errstr)))
        fprintf(stderr, "sweep early-stop: %s\n", errstr);
    else
        rc = es_judge(cfg, rs, o);
    runs_free(rs);
    config_free(cfg);
    return rc;
}

int cmd_earlystop(int argc, char **argv) {
    struct es_opts o = {0};
    int rc = parse_es_args(argc, argv, &o);

    if (rc >= 0)
        return rc;
    return es_run_file(argv[argc - 1], &o);
}

/*
 * cmd_plan.c - `sweep plan FILE`: the next runs the sweep's method would
 * produce given prior runs, offline, as text or as one JSON array.
 */
#include <getopt.h>
#include <gsl/gsl_rng.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "command.h"
#include "config.h"
#include "runs.h"
#include "sbuf.h"
#include "search.h"
#include "space.h"
#include "sweep.h"
#include "value.h"

struct plan_opts {
    unsigned long long count;
    unsigned long long seed;
    int has_seed;
    const char *runs_path;
    const char *interpreter;
    int commands;
    int json;
};

static void plan_usage(FILE *fp) {
    fprintf(fp,
            "usage: sweep plan FILE [--count N] [--seed S] [--runs RUNS.json]\n"
            "                       [--commands] [--json] [--interpreter PATH]\n"
            "\n"
            "Prints the next runs the sweep's method would produce, given the\n"
            "prior runs in RUNS.json (a JSON array of {name, state, params,\n"
            "history, summary}). A grid without --count prints every remaining\n"
            "point in order; random prints --count draws (default 1).\n"
            "\n"
            "  -n, --count N         at most N runs\n"
            "  -s, --seed S          seed of the random draws (default: random)\n"
            "  -r, --runs FILE       prior runs ('-' for stdin)\n"
            "  -c, --commands        also print each run's argv\n"
            "  -j, --json            one JSON array: [{\"params\": {...},\n"
            "                        \"argv\": [...]}, ...]\n"
            "      --interpreter P   what ${interpreter} runs (default: $SWEEP_INTERPRETER,\n"
            "                        else python, else python3 when python is absent)\n"
            "  -h, --help            this help\n"
            "\n"
            "${args_json_file} shows as args-N.json: the worker writes that file\n"
            "in the run's own directory.\n");
}

static unsigned long long random_seed(void) {
    unsigned long long s = 0;
    FILE *fp = fopen("/dev/urandom", "rb");

    if (!fp || fread(&s, sizeof(s), 1, fp) != 1)
        s = (unsigned long long)time(NULL) ^ (unsigned long long)getpid();
    if (fp)
        fclose(fp);
    return s;
}

static int parse_plan_args(int argc, char **argv, struct plan_opts *o) {
    static const struct option opts[] = {
        {"count", required_argument, NULL, 'n'},
        {"seed", required_argument, NULL, 's'},
        {"runs", required_argument, NULL, 'r'},
        {"commands", no_argument, NULL, 'c'},
        {"json", no_argument, NULL, 'j'},
        {"interpreter", required_argument, NULL, 'I'},
        {"help", no_argument, NULL, 'h'},
        SETTINGS_LONG_OPTIONS,
        {NULL, 0, NULL, 0}};
    struct settings_flags f = {0};
    int c;

    while ((c = getopt_long(argc, argv, "n:s:r:cjh", opts, NULL)) != -1) {
        if (settings_flag(&f, c, optarg))
            continue; /* accepted everywhere; plan is offline */
        switch (c) {
        case 'n':
            if (cli_parse_count("--count", optarg, &o->count) < 0)
                return EXIT_USAGE;
            break;
        case 's':
            if (cli_parse_count("--seed", optarg, &o->seed) < 0)
                return EXIT_USAGE;
            o->has_seed = 1;
            break;
        case 'r':
            o->runs_path = optarg;
            break;
        case 'c':
            o->commands = 1;
            break;
        case 'j':
            o->json = 1;
            break;
        case 'I':
            o->interpreter = optarg;
            break;
        case 'h':
            plan_usage(stdout);
            return 0;
        default:
            plan_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "sweep plan: expected exactly one FILE\n");
        plan_usage(stderr);
        return EXIT_USAGE;
    }
    return -1; /* go on */
}

static json_t *run_argv(const struct sweep_config *cfg, const json_t *nested,
                        const struct plan_opts *o, size_t k) {
    struct command_ctx ctx = {0};
    char **argv = NULL, file[64];
    size_t argc = 0;
    json_t *arr;

    snprintf(file, sizeof(file), "args-%zu.json", k + 1);
    ctx.program = cfg->program;
    ctx.interpreter = o->interpreter;
    ctx.args_json_file = file;
    ctx.args = nested;
    if (command_build((const char *const *)cfg->command, cfg->ncommand, &ctx,
                      &argv, &argc) < 0)
        return NULL;
    arr = json_array();
    for (size_t i = 0; arr && i < argc; i++)
        if (json_array_append_new(arr, json_string(argv[i])) < 0) {
            json_decref(arr);
            arr = NULL;
        }
    command_argv_free(argv);
    return arr;
}

/* `word` as a POSIX shell would need it written, for display only. */
static void shell_quote(struct sbuf *sb, const char *word) {
    if (*word && strspn(word, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                              "0123456789_-+=/.,:@%") == strlen(word)) {
        sbuf_adds(sb, word);
        return;
    }
    sbuf_addc(sb, '\'');
    for (; *word; word++) {
        if (*word == '\'')
            sbuf_adds(sb, "'\\''");
        else
            sbuf_addc(sb, *word);
    }
    sbuf_addc(sb, '\'');
}

static void print_text_run(const json_t *flat, const json_t *argv, size_t k) {
    struct sbuf sb = SBUF_INIT;
    const char *key;
    json_t *v;
    size_t i;

    sbuf_addf(&sb, "%zu.", k + 1);
    json_object_foreach((json_t *)flat, key, v) {
        sbuf_addf(&sb, " %s=", key);
        value_str(&sb, v);
    }
    if (argv) {
        sbuf_adds(&sb, "\n   ");
        json_array_foreach(argv, i, v) {
            sbuf_addc(&sb, ' ');
            shell_quote(&sb, json_string_value(v));
        }
    }
    printf("%s\n", sbuf_str(&sb));
    sbuf_release(&sb);
}

/* Turns the flat suggestions into the output elements and prints them. */
static int emit(const struct sweep_config *cfg, const json_t *flats,
                const struct plan_opts *o) {
    json_t *out = json_array(), *flat;
    size_t k;
    int rc = 0;

    json_array_foreach(flats, k, flat) {
        json_t *nested = space_nest(cfg, flat);
        json_t *argv = o->commands && nested ? run_argv(cfg, nested, o, k) : NULL;
        json_t *el = json_object();
        if (!nested || !el || (o->commands && !argv) ||
            json_object_set(el, "params", nested) < 0 ||
            (argv && json_object_set(el, "argv", argv) < 0) ||
            json_array_append(out, el) < 0)
            rc = -1;
        if (!rc && !o->json)
            print_text_run(flat, argv, k);
        json_decref(nested);
        json_decref(argv);
        json_decref(el);
    }
    if (!rc && o->json) {
        struct sbuf sb = SBUF_INIT;
        value_json(&sb, out);
        printf("%s\n", sbuf_str(&sb));
        rc = sbuf_oom(&sb) ? -1 : 0;
        sbuf_release(&sb);
    }
    json_decref(out);
    return rc;
}

static int plan_run(const char *path, const struct plan_opts *o) {
    struct sweep_config *cfg;
    struct runs *prior = NULL;
    gsl_rng *rng = NULL;
    json_t *flats = NULL;
    char errstr[512];
    long n;
    int rc = EXIT_RUNTIME;

    cfg = cli_load_config(path);
    if (!cfg)
        return EXIT_USAGE;
    if (o->runs_path &&
        (n = runs_load_file(o->runs_path, &prior, errstr, sizeof(errstr)))) {
        fprintf(stderr, "sweep plan: %s\n", errstr);
        rc = EXIT_USAGE; /* a bad or missing input file, like a bad config */
        goto out;
    }
    rng = gsl_rng_alloc(gsl_rng_mt19937);
    flats = json_array();
    if (!rng || !flats) {
        fprintf(stderr, "sweep plan: out of memory\n");
        goto out;
    }
    gsl_rng_set(rng, (unsigned long)(o->has_seed ? o->seed : random_seed()));
    n = search_suggest(cfg, prior, (size_t)o->count, rng, flats, errstr,
                       sizeof(errstr));
    if (n < 0) {
        fprintf(stderr, "sweep plan: %s: %s\n", path, errstr);
        rc = n == SWEEP_ENOTSUP ? EXIT_USAGE : EXIT_RUNTIME;
        goto out;
    }
    if (n == 0 && !o->json)
        fprintf(stderr, "sweep plan: %s: no run left (%s)\n", path,
                cfg->run_cap > 0 && prior && prior->n >= (size_t)cfg->run_cap
                    ? "run_cap reached"
                    : "every grid point is covered");
    rc = emit(cfg, flats, o) < 0 ? EXIT_RUNTIME : 0;
    if (rc)
        fprintf(stderr, "sweep plan: out of memory\n");
out:
    json_decref(flats);
    gsl_rng_free(rng);
    runs_free(prior);
    config_free(cfg);
    return rc;
}

int cmd_plan(int argc, char **argv) {
    struct plan_opts o = {0};
    int rc = parse_plan_args(argc, argv, &o);

    if (rc >= 0)
        return rc;
    if (!o.interpreter)
        o.interpreter = command_interpreter(getenv("SWEEP_INTERPRETER"));
    return plan_run(argv[argc - 1], &o);
}

/* cmd_runs.c - `sweep runs ID [--json]` and `sweep best ID [--json]`. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "store.h"
#include "value.h"

static const struct cli_verb runs_verb = {
    "runs", "runs ID [--json]",
    "Every run of the sweep in creation order: state, attempt, worker,\n"
    "steps, the sweep's metric, why it ended, its parameters. --json prints\n"
    "an array of {id, params, state, attempt, worker, started_at, ended_at,\n"
    "summary, steps, reason, exit_code, metrics_sent, metrics_lost}.\n"
    "metrics_lost counts the attempt's metric events that never reached the\n"
    "controller (a broker that dropped them); a run with any says so.", 1};

static const struct cli_verb best_verb = {
    "best", "best ID [--json]",
    "The run with the best value of the sweep's metric (over each run's\n"
    "history, as bayes scores runs), its value and parameters.", 1};

static void flat_params(struct sbuf *sb, const json_t *v, const char *prefix) {
    const char *k;
    json_t *x;

    json_object_foreach((json_t *)v, k, x) {
        if (json_is_object(x)) {
            char p[256];
            snprintf(p, sizeof(p), "%s%s.", prefix, k);
            flat_params(sb, x, p);
            continue;
        }
        sbuf_addf(sb, " %s%s=", prefix, k);
        value_str(sb, x);
    }
}

static void print_runs(const json_t *runs, const struct metric_goal *g) {
    const json_t *r;
    size_t i;

    printf("%-9s %-10s %3s %6s %12s  %-28s %s\n", "RUN", "STATE", "ATT", "STEPS",
           g->name ? g->name : "-", "REASON", "PARAMS");
    json_array_foreach(runs, i, r) {
        struct sbuf sb = SBUF_INIT;
        char val[32] = "-";
        double v;
        if (cli_best_value(r, g, &v))
            snprintf(val, sizeof(val), "%.6g", v);
        flat_params(&sb, json_object_get(r, "params"), "");
        const char *reason = json_string_value(json_object_get(r, "reason")) ?: "";
        printf("%-9s %-10s %3lld %6lld %12s  %-28.28s%s\n",
               json_string_value(json_object_get(r, "id")),
               json_string_value(json_object_get(r, "state")) ?: "?",
               (long long)json_integer_value(json_object_get(r, "attempt")),
               (long long)json_integer_value(json_object_get(r, "steps")), val,
               reason, sbuf_str(&sb));
        /* an early stop explains itself at length: whole, on its own line */
        if (strlen(reason) > 28)
            printf("%-9s reason: %s\n", "", reason);
        if (json_integer_value(json_object_get(r, "metrics_lost")) > 0)
            printf("%-9s lost: %lld metric events never arrived (dropped on the "
                   "way: by the broker, or by the worker when the cluster was away "
                   "and its queue full, as its log says); STEPS counts those that "
                   "did\n", "",
                   (long long)json_integer_value(json_object_get(r, "metrics_lost")));
        sbuf_release(&sb);
    }
}

static void print_json(const json_t *v) {
    struct sbuf sb = SBUF_INIT;

    value_json(&sb, v);
    printf("%s\n", sbuf_str(&sb));
    sbuf_release(&sb);
}

static int runs_or_best(int argc, char **argv, const struct cli_verb *v, int best) {
    struct settings_flags f = {0};
    struct settings st = {0};
    struct store *s = NULL;
    struct metric_goal g;
    json_t *sweep = NULL, *runs = NULL;
    const char *id;
    int json = 0, rc = cli_parse(argc, argv, v, &f, &json, &id);

    if (rc >= 0)
        return rc;
    if ((rc = cli_settings(&st, &f, v->name)))
        goto out;
    rc = EXIT_RUNTIME;
    if (!(s = cli_store(&st, v->name)))
        goto out;
    if (!(sweep = store_sweep_get(s, id))) {
        fprintf(stderr, "sweep %s: no sweep '%s'\n", v->name, id);
        goto out;
    }
    cli_metric_goal(sweep, &g);
    if (!(runs = store_runs(s, id, best || !json))) {
        fprintf(stderr, "sweep %s: %s\n", v->name, store_errstr(s));
        goto out;
    }
    rc = 0;
    if (!best) {
        if (json)
            print_json(runs);
        else
            print_runs(runs, &g);
        goto out;
    }
    {
        double bv = 0;
        const json_t *bestr = cli_best_run(runs, &g, &bv);
        if (!bestr) {
            fprintf(stderr, "sweep best: no run has logged %s yet\n",
                    g.name ? g.name : "a metric (the config has none)");
            rc = EXIT_RUNTIME;
        } else if (json) {
            json_t *o = json_deep_copy(bestr);
            json_object_del(o, "history");
            json_object_set_new(o, "value", json_real(bv));
            json_object_set_new(o, "metric", json_string(g.name));
            print_json(o);
            json_decref(o);
        } else {
            struct sbuf sb = SBUF_INIT;
            flat_params(&sb, json_object_get(bestr, "params"), "");
            printf("best run %s: %s = %.10g (%s)\nparams:%s\n",
                   json_string_value(json_object_get(bestr, "id")), g.name, bv,
                   json_string_value(json_object_get(bestr, "state")), sbuf_str(&sb));
            sbuf_release(&sb);
        }
    }
out:
    json_decref(sweep);
    json_decref(runs);
    store_free(s);
    settings_release(&st);
    return rc < 0 ? 0 : rc;
}

int cmd_runs(int argc, char **argv) { return runs_or_best(argc, argv, &runs_verb, 0); }
int cmd_best(int argc, char **argv) { return runs_or_best(argc, argv, &best_verb, 1); }

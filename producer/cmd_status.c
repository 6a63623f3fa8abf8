/* cmd_status.c - `sweep status ID [--json]`: state and run counts. */
#include <stdio.h>

#include "cli.h"
#include "store.h"
#include "value.h"

static const struct cli_verb status_verb = {
    "status", "status ID [--json]",
    "The sweep's state, its runs counted by state, and the metric events\n"
    "that never reached the controller (a broker that dropped them; `sweep\n"
    "runs` says which runs). --json prints one object with \"state\",\n"
    "\"runs\" (counts by state), \"metrics_lost\" and the rest.", 1};

/* Sums the runs' metrics_lost into o (and how many runs lost any);
 * 0 when the runs cannot be read. */
static void add_lost(struct store *s, const char *id, json_t *o) {
    json_t *runs = store_runs(s, id, 0), *r;
    json_int_t lost = 0, nruns = 0;
    size_t i;

    json_array_foreach(runs, i, r) {
        json_int_t l = json_integer_value(json_object_get(r, "metrics_lost"));
        lost += l > 0 ? l : 0;
        nruns += l > 0;
    }
    json_decref(runs);
    json_object_set_new(o, "metrics_lost", json_integer(lost));
    json_object_set_new(o, "runs_with_metrics_lost", json_integer(nruns));
}

int cmd_status(int argc, char **argv) {
    struct settings_flags f = {0};
    struct settings st = {0};
    struct store *s = NULL;
    const char *id;
    json_t *o = NULL;
    int json = 0, rc = cli_parse(argc, argv, &status_verb, &f, &json, &id);

    if (rc >= 0)
        return rc;
    if ((rc = cli_settings(&st, &f, "status")))
        goto out;
    rc = EXIT_RUNTIME;
    if (!(s = cli_store(&st, "status")))
        goto out;
    if (!(o = store_sweep_get(s, id))) {
        fprintf(stderr, "sweep status: no sweep '%s'\n", id);
        goto out;
    }
    add_lost(s, id, o);
    if (json) {
        struct sbuf sb = SBUF_INIT;
        value_json(&sb, o);
        printf("%s\n", sbuf_str(&sb));
        sbuf_release(&sb);
    } else {
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
                   (long long)json_integer_value(
                       json_object_get(o, "runs_with_metrics_lost")),
                   id);
    }
    rc = 0;
out:
    json_decref(o);
    store_free(s);
    settings_release(&st);
    return rc < 0 ? 0 : rc;
}

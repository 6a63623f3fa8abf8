/* cmd_ls.c - `sweep ls [--json]`: every sweep, oldest first. */
#include <stdio.h>
#include <time.h>

#include "cli.h"
#include "store.h"
#include "value.h"

static const struct cli_verb ls_verb = {
    "ls", "ls [--json]", "Lists every sweep: id, name, method, state, runs created.", 0};

static void print_time(int64_t ms) {
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char buf[32];

    localtime_r(&t, &tm);
    strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
    printf("%-20s", buf);
}

int cmd_ls(int argc, char **argv) {
    struct settings_flags f = {0};
    struct settings st = {0};
    struct store *s = NULL;
    json_t *ids = NULL, *all = json_array(), *id;
    int json = 0, rc = cli_parse(argc, argv, &ls_verb, &f, &json, NULL);
    size_t i;

    if (rc >= 0)
        goto out;
    if ((rc = cli_settings(&st, &f, "ls")))
        goto out;
    rc = EXIT_RUNTIME;
    if (!(s = cli_store(&st, "ls")) || !(ids = store_sweep_ids(s)))
        goto out;
    json_array_foreach(ids, i, id) {
        json_t *o = store_sweep_get(s, json_string_value(id));
        if (o) {
            json_object_del(o, "config");
            json_array_append_new(all, o);
        }
    }
    if (json) {
        struct sbuf sb = SBUF_INIT;
        value_json(&sb, all);
        printf("%s\n", sbuf_str(&sb));
        sbuf_release(&sb);
    } else {
        json_t *o;
        printf("%-10s %-20s %-7s %-9s %6s  %s\n", "ID", "NAME", "METHOD", "STATE",
               "RUNS", "CREATED");
        json_array_foreach(all, i, o) {
            printf("%-10s %-20.20s %-7s %-9s %6lld  ",
                   json_string_value(json_object_get(o, "id")),
                   json_string_value(json_object_get(o, "name")) ?: "",
                   json_string_value(json_object_get(o, "method")),
                   json_string_value(json_object_get(o, "state")),
                   (long long)json_integer_value(json_object_get(o, "runs_created")));
            print_time(json_integer_value(json_object_get(o, "created_at")));
            printf("\n");
        }
    }
    rc = 0;
out:
    json_decref(ids);
    json_decref(all);
    store_free(s);
    settings_release(&st);
    return rc < 0 ? 0 : rc;
}

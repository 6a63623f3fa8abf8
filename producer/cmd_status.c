/* cmd_status.c - `sweep status ID [--json]`: state and run counts. */
#include <stdio.h>

#include "cli.h"
#include "store.h"
#include "value.h"

static const struct cli_verb status_verb = {
    "status", "status ID [--json]",
    "The sweep's state and its runs counted by state. --json prints one\n"
    "object with \"state\", \"runs\" (counts by state) and the rest.", 1};

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
    }
    rc = 0;
out:
    json_decref(o);
    store_free(s);
    settings_release(&st);
    return rc < 0 ? 0 : rc;
}

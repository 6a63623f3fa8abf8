/* cmd_control.c - `sweep pause|resume|stop|cancel ID`: the sweep's state in
 * Redis, changed in one script, then the controller told over Kafka. */
#include <stdio.h>

#include "cli.h"
#include "store.h"

static const struct cli_verb verbs[] = {
    {"pause", "pause ID", "No new runs; running runs go on; workers wait.", 1},
    {"resume", "resume ID", "New runs again after a pause.", 1},
    {"stop", "stop ID", "No new runs; running runs finish (state finished).", 1},
    {"cancel", "cancel ID", "No new runs; running runs are killed (state canceled).", 1},
};

static int control(int argc, char **argv, enum control_action a,
                   const struct cli_verb *v) {
    struct settings_flags f = {0};
    struct settings st = {0};
    struct msg m = {.kind = MSG_SWEEP_CONTROL};
    struct store *s = NULL;
    const char *id, *state = "?";
    int rc = cli_parse(argc, argv, v, &f, NULL, &id);

    if (rc >= 0)
        return rc;
    if ((rc = cli_settings(&st, &f, v->name)))
        goto out;
    rc = EXIT_RUNTIME;
    if (!(s = cli_store(&st, v->name)))
        goto out;
    if ((rc = store_sweep_control(s, id, a, cli_now_ms(), &state)) < 0) {
        fprintf(stderr, "sweep %s: %s\n", v->name, store_errstr(s));
        rc = EXIT_RUNTIME;
        goto out;
    }
    m.u.control.sweep_id = (char *)id;
    m.u.control.action = a;
    m.u.control.ts_ms = cli_now_ms();
    cli_publish(&st, &m, id, v->name);
    printf("sweep %s: %s\n", id, state);
out:
    store_free(s);
    settings_release(&st);
    return rc < 0 ? 0 : rc;
}

int cmd_pause(int argc, char **argv) { return control(argc, argv, CTL_PAUSE, &verbs[0]); }
int cmd_resume(int argc, char **argv) { return control(argc, argv, CTL_RESUME, &verbs[1]); }
int cmd_stop(int argc, char **argv) { return control(argc, argv, CTL_STOP, &verbs[2]); }
int cmd_cancel(int argc, char **argv) { return control(argc, argv, CTL_CANCEL, &verbs[3]); }

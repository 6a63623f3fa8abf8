/* msg.c - releasing messages, and the names of their kinds and enums (the
 * same lower-case names as the Avro enum symbols in schemas/). */
#include "msg.h"

#include <stdlib.h>
#include <string.h>

static void msg_free_strv(char **v, size_t n) {
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void msg_run_release(struct msg_run *r) {
    free(r->sweep_id);
    free(r->run_id);
    free(r->worker_id);
}

void msg_release(struct msg *m) {
    if (!m)
        return;
    switch (m->kind) {
    case MSG_SWEEP_CONTROL:
        free(m->u.control.sweep_id);
        free(m->u.control.config_json);
        free(m->u.control.name);
        break;
    case MSG_RUN_ASSIGNMENT:
        msg_run_release(&m->u.assign.r);
        free(m->u.assign.params_json);
        free(m->u.assign.program);
        msg_free_strv(m->u.assign.command, m->u.assign.ncommand);
        break;
    case MSG_RUN_LIFECYCLE:
        msg_run_release(&m->u.life.r);
        free(m->u.life.reason);
        break;
    case MSG_METRIC_EVENT:
        msg_free_strv(m->u.metric.names, m->u.metric.n);
        free(m->u.metric.values);
        msg_run_release(&m->u.metric.r);
        break;
    case MSG_RUN_COMMAND:
        msg_run_release(&m->u.cmd.r);
        free(m->u.cmd.reason);
        break;
    case MSG_WORKER_STATUS:
        free(m->u.worker.worker_id);
        free(m->u.worker.pool);
        free(m->u.worker.sweep_id);
        free(m->u.worker.host);
        msg_free_strv(m->u.worker.running, m->u.worker.nrunning);
        break;
    case MSG_NONE:
    case MSG__KIND_COUNT:
        break;
    }
    memset(m, 0, sizeof(*m));
}

const char *msg_kind_name(enum msg_kind k) {
    static const char *const names[MSG__KIND_COUNT] = {
        [MSG_NONE] = "none",
        [MSG_SWEEP_CONTROL] = "sweep_control",
        [MSG_RUN_ASSIGNMENT] = "run_assignment",
        [MSG_RUN_LIFECYCLE] = "run_lifecycle",
        [MSG_METRIC_EVENT] = "metric_event",
        [MSG_RUN_COMMAND] = "run_command",
        [MSG_WORKER_STATUS] = "worker_status",
    };

    if ((unsigned)k >= MSG__KIND_COUNT)
        return "unknown";
    return names[k];
}

const char *lifecycle_event_name(enum lifecycle_event e) {
    static const char *const names[] = {"started", "heartbeat", "finished",
                                        "failed",  "preempted", "killed"};

    if ((unsigned)e >= sizeof(names) / sizeof(names[0]))
        return "unknown";
    return names[e];
}

const char *control_action_name(enum control_action a) {
    static const char *const names[] = {"create", "pause", "resume", "stop",
                                        "cancel"};

    if ((unsigned)a >= sizeof(names) / sizeof(names[0]))
        return "unknown";
    return names[a];
}

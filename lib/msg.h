/*
 * msg.h - the messages that cross Kafka, as C structs. Each kind has one
 * Avro schema in schemas/ whose Confluent schema id is the kind's number
 * (schemas/README.md). Every string is owned by the message and freed by
 * msg_release(); NULL means an absent optional field.
 *
 * Every run-scoped message carries struct msg_run: sweep id, run id,
 * attempt (epoch: +1 each time a run is requeued), worker id, a per-run
 * sequence number (per attempt, from the sender) and a timestamp.
 */
#ifndef SWEEP_MSG_H
#define SWEEP_MSG_H

#include <stddef.h>
#include <stdint.h>

enum msg_kind {
    MSG_NONE = 0,
    MSG_SWEEP_CONTROL = 1,  /* CLI -> controller, topic <prefix>.control */
    MSG_RUN_ASSIGNMENT = 2, /* controller -> worker, <prefix>.assign */
    MSG_RUN_LIFECYCLE = 3,  /* worker -> controller, <prefix>.events */
    MSG_METRIC_EVENT = 4,   /* worker -> controller, <prefix>.metrics */
    MSG_RUN_COMMAND = 5,    /* controller -> worker, <prefix>.assign */
    MSG_WORKER_STATUS = 6,  /* worker -> controller, <prefix>.events */
    MSG__KIND_COUNT
};

struct msg_run {
    char *sweep_id;
    char *run_id;
    char *worker_id;
    int32_t attempt;
    int64_t seq;
    int64_t ts_ms; /* Unix epoch milliseconds */
};

enum control_action { CTL_CREATE, CTL_PAUSE, CTL_RESUME, CTL_STOP, CTL_CANCEL };

struct msg_sweep_control {
    char *sweep_id;
    enum control_action action;
    int64_t ts_ms;
    char *config_json; /* create: the config as JSON; else NULL */
    char *name;        /* create: the sweep's name, or NULL */
};

struct msg_run_assignment {
    struct msg_run r;
    char *params_json; /* the run's parameters, nested, as JSON */
    char *program;     /* config "program", or NULL */
    char **command;    /* config "command" template, or NULL: default */
    size_t ncommand;
};

enum lifecycle_event {
    LC_STARTED, LC_HEARTBEAT, LC_FINISHED, LC_FAILED, LC_PREEMPTED, LC_KILLED
};

struct msg_run_lifecycle {
    struct msg_run r;
    enum lifecycle_event event;
    int has_exit_code;
    int32_t exit_code;   /* when the process exited */
    int32_t signal;      /* the signal that ended it, 0 if none */
    char *reason;        /* killed / failed / preempted: why, or NULL */
    int64_t last_metric_seq; /* seq of the last metric event sent, -1 none */
};

struct msg_metric_event {
    struct msg_run r;
    int has_step;
    int64_t step;   /* "_step" when the program gave one */
    size_t n;
    char **names;   /* metric names, n of them */
    double *values; /* their values (may be NaN or infinite) */
};

enum run_command_kind {
    RCMD_STOP,       /* stop this run: SIGTERM, SIGKILL after the grace */
    RCMD_SWEEP_DONE  /* to an idle worker: its sweep has no more runs
                        (run_id empty); a bound worker exits */
};

struct msg_run_command {
    struct msg_run r;     /* worker_id: the worker that holds the run */
    enum run_command_kind command;
    char *reason;         /* shown to the user, e.g. "hyperband band 3: ..." */
};

enum worker_state { WS_IDLE, WS_BUSY, WS_LEAVING };

struct msg_worker_status {
    char *worker_id;
    char *pool;      /* pool name, or NULL */
    char *sweep_id;  /* the sweep a bound worker serves, or NULL (pool) */
    enum worker_state state; /* WS_IDLE: "give me a run" */
    int64_t seq;     /* per worker, increasing */
    int64_t ts_ms;
    char *host;
    int32_t pid;
    char **running;  /* run ids it runs now */
    size_t nrunning;
    int64_t received; /* assignments received since the worker started */
};

struct msg {
    enum msg_kind kind;
    union {
        struct msg_sweep_control control;
        struct msg_run_assignment assign;
        struct msg_run_lifecycle life;
        struct msg_metric_event metric;
        struct msg_run_command cmd;
        struct msg_worker_status worker;
    } u;
};

/* Frees every field and zeroes *m; a zeroed msg is a no-op. */
void msg_release(struct msg *m);

const char *msg_kind_name(enum msg_kind k);
const char *lifecycle_event_name(enum lifecycle_event e);
const char *control_action_name(enum control_action a);

#endif

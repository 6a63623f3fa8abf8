/*
 * cli.h - the `sweep` program's subcommands, one file each, dispatched
 * from the table in sweep.c (git's builtin/ layout).
 *
 * Each returns the process exit code: 0 ok, 1 runtime failure, 2 usage
 * or bad config.
 */
#ifndef SWEEP_CLI_H
#define SWEEP_CLI_H

#define EXIT_RUNTIME 1
#define EXIT_USAGE 2

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "msg.h"
#include "settings.h"

struct store;

int cmd_validate(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_earlystop(int argc, char **argv);
int cmd_create(int argc, char **argv);
int cmd_pause(int argc, char **argv);
int cmd_resume(int argc, char **argv);
int cmd_stop(int argc, char **argv);
int cmd_cancel(int argc, char **argv);
int cmd_ls(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_runs(int argc, char **argv);
int cmd_best(int argc, char **argv);
int cmd_broker(int argc, char **argv);
int cmd_local(int argc, char **argv);
int cmd_keygen(int argc, char **argv);
int cmd_init_topics(int argc, char **argv);
int cmd_ui(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_importance(int argc, char **argv);

/* Resolves settings from flags, env and file; 0 ok, EXIT_USAGE after
 * printing the error, -1 after --dump-config printed them (exit 0). When
 * it returns non-zero, st holds nothing to release. */
int cli_settings(struct settings *st, const struct settings_flags *f,
                 const char *verb);
/* The sweep's metric and its direction, from its config. */
struct metric_goal {
    const char *name; /* NULL: the config has none */
    int maximize;
};
void cli_metric_goal(const json_t *sweep, struct metric_goal *g);
/* A run's best finite value of the metric: over its history when it has
 * one, else its summary. 1 and *out, or 0. */
int cli_best_value(const json_t *run, const struct metric_goal *g, double *out);
/* The run of runs with the best such value (and *out), or NULL. */
const json_t *cli_best_run(const json_t *runs, const struct metric_goal *g, double *out);

/* Connects to Redis (retrying 5 s); NULL after printing the error. */
struct store *cli_store(const struct settings *st, const char *verb);
/* Publishes one message on the control topic when brokers are set;
 * a failure is a warning (the controller polls Redis too). */
int cli_publish(const struct settings *st, const struct msg *m,
                const char *key, const char *verb);
int64_t cli_now_ms(void);
/* A verb that takes npos positional arguments, --json (when json is not
 * NULL) and the settings flags. */
struct cli_verb {
    const char *name;
    const char *synopsis;
    const char *help;
    int npos;
};
/* Returns -1 to go on, else the exit code (after --help: 0). */
int cli_parse(int argc, char **argv, const struct cli_verb *v,
              struct settings_flags *f, int *json, const char **pos);

struct sweep_config;
/* Loads and validates a config ("-": stdin), printing every diagnostic on
 * stderr; NULL when it has an error. Free with config_free(). */
struct sweep_config *cli_load_config(const char *path);
/* Stores a validated sweep under id; 0, or an exit code after printing
 * why. */
int cli_create_sweep(const struct settings *st, const struct sweep_config *cfg,
                     const char *name, const char *id);

/* n-1 random [a-z0-9] characters and a NUL. */
void cli_random_id(char *out, size_t n);

/* Parses a non-negative integer option value; prints an error naming the
 * option and returns -1 when it is not one. */
int cli_parse_count(const char *opt, const char *s, unsigned long long *out);

#endif

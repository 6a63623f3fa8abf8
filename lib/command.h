/*
 * command.h - the argv of a run, built from the config's `command` list
 * exactly as the W&B agent builds it (COMPAT.md section 5).
 *
 * A token that is exactly a known macro expands to zero or more argv
 * elements; a token that is exactly an unknown macro (`${...}`) vanishes;
 * `${envvar:NAME}` is replaced anywhere inside a token by the environment
 * value (or by `NAME` when unset). No shell is involved: each resulting
 * element is one argv entry.
 */
#ifndef SWEEP_COMMAND_H
#define SWEEP_COMMAND_H

#include <jansson.h>
#include <stddef.h>

struct command_ctx {
    const char *program;        /* ${program}; NULL expands to nothing */
    const char *interpreter;    /* ${interpreter}; NULL means "python" */
    const char *env;            /* ${env}; NULL means "/usr/bin/env" */
    const char *args_json_file; /* ${args_json_file}; NULL expands to nothing */
    const json_t *args;         /* the run's parameters, nested (an object);
                                   borrowed for the call */
};

/* The default command when the config has none:
 * ${env} ${interpreter} ${program} ${args}. */
extern const char *const command_default[];
extern const size_t command_default_len;

/* Builds the argv for one run. tmpl/ntmpl is the config's command (NULL for
 * the default). On success *argv_out is a NULL-terminated array the caller
 * frees with command_argv_free() and *argc_out its length. Returns 0 or
 * SWEEP_ENOMEM / SWEEP_EINVAL. */
int command_build(const char *const *tmpl, size_t ntmpl,
                  const struct command_ctx *ctx, char ***argv_out,
                  size_t *argc_out);

/* What ${interpreter} runs: `configured` when set (non-empty), else
 * "python" as W&B does, or "python3" when only that is on PATH (Debian 12
 * ships no "python"). Returns configured or a static string. */
const char *command_interpreter(const char *configured);

/* Frees an argv from command_build(); NULL is a no-op. */
void command_argv_free(char **argv);

/* The JSON text of ${args_json} (json.dumps of the args, keys sorted):
 * caller frees. NULL on allocation failure. */
char *command_args_json(const json_t *args);

#endif

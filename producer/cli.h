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

int cmd_validate(int argc, char **argv);
int cmd_plan(int argc, char **argv);

/* Parses a non-negative integer option value; prints an error naming the
 * option and returns -1 when it is not one. */
int cli_parse_count(const char *opt, const char *s, unsigned long long *out);

#endif

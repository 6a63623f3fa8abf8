/*
 * sweep.c - the `sweep` command line: global options, then dispatch to a
 * subcommand from the table below.
 */
#include <errno.h>
#include <gsl/gsl_errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "settings.h"
#include "sweep.h"

struct subcommand {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *help;
};

static const struct subcommand subcommands[] = {
    {"validate", cmd_validate, "check sweep config files and report every error"},
    {"plan", cmd_plan, "print the next runs a sweep would produce (offline)"},
    {"early-stop", cmd_earlystop, "the running runs early_terminate would stop (offline)"},
    {"create", cmd_create, "store a sweep and print its ID"},
    {"pause", cmd_pause, "no new runs until resumed"},
    {"resume", cmd_resume, "resume a paused sweep"},
    {"stop", cmd_stop, "no new runs; running runs finish"},
    {"cancel", cmd_cancel, "no new runs; running runs are killed"},
    {"ls", cmd_ls, "list sweeps"},
    {"status", cmd_status, "a sweep's state and run counts"},
    {"runs", cmd_runs, "a sweep's runs"},
    {"best", cmd_best, "a sweep's best run"},
    {"export", cmd_export, "every run of a sweep as CSV or JSON"},
    {"importance", cmd_importance, "how much each parameter matters to the metric"},
    {"broker", cmd_broker, "run the embedded Kafka-protocol broker"},
    {"init-topics", cmd_init_topics, "create or check the topics on a Kafka cluster"},
    {"local", cmd_local, "run a whole sweep on this machine"},
    {"keygen", cmd_keygen, "print a new key that signs run assignments"},
    {"ui", cmd_ui, "serve the sweeps' JSON API over HTTP (read-only)"},
};

#define NSUB (sizeof(subcommands) / sizeof(subcommands[0]))

static void usage(FILE *fp) {
    fprintf(fp,
            "usage: sweep [--version] [--help] <command> [<args>]\n"
            "\n"
            "Hyperparameter sweeps with W&B-compatible sweep.yaml files.\n"
            "\n"
            "commands:\n");
    for (size_t i = 0; i < NSUB; i++)
        fprintf(fp, "  %-11s %s\n", subcommands[i].name, subcommands[i].help);
    fprintf(fp, "\n'sweep <command> --help' describes a command.\n"
                "Exit codes: 0 ok, 1 runtime failure, 2 usage or bad config.\n");
}

int cli_parse_count(const char *opt, const char *s, unsigned long long *out) {
    char *end;

    errno = 0;
    if (!s || !*s || *s == '-' || (*out = strtoull(s, &end, 10), errno) || *end) {
        fprintf(stderr, "sweep: %s needs a non-negative integer, not '%s'\n", opt,
                s ? s : "");
        return -1;
    }
    return 0;
}

int main(int argc, char **argv) {
    gsl_set_error_handler_off();
    signal(SIGPIPE, SIG_IGN);
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--settings-reference")) { /* docs/settings.md */
        settings_reference(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        printf("sweep %s\n", SWEEP_VERSION);
        return 0;
    }
    for (size_t i = 0; i < NSUB; i++)
        if (!strcmp(argv[1], subcommands[i].name))
            return subcommands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "sweep: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return EXIT_USAGE;
}

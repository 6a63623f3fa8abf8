/* cmd_validate.c - `sweep validate FILE...`: every error of every file. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "config.h"

static void validate_usage(FILE *fp) {
    fprintf(fp,
            "usage: sweep validate [-q] FILE...\n"
            "\n"
            "Loads each sweep config (YAML or JSON, '-' for stdin) and prints\n"
            "'FILE: ok', or every error as FILE:LINE:COL: KEY.PATH: reason.\n"
            "Warnings (deprecated distributions, ...) are printed too.\n"
            "\n"
            "  -q, --quiet   print only errors and warnings\n"
            "  -h, --help    this help\n"
            "\n"
            "Exit status: 0 when every file is valid, 2 otherwise.\n");
}

static int validate_one(const char *path, int quiet) {
    struct diags d;
    struct sweep_config *cfg;

    diags_init(&d, path);
    cfg = config_load_file(path, &d);
    diags_print(&d, stderr);
    if (cfg && !quiet)
        printf("%s: ok (%s, %zu parameter%s)\n", path,
               config_method_name(cfg->method), cfg->nparams,
               cfg->nparams == 1 ? "" : "s");
    diags_release(&d);
    config_free(cfg);
    return cfg ? 0 : -1;
}

int cmd_validate(int argc, char **argv) {
    static const struct option opts[] = {
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        SETTINGS_LONG_OPTIONS,
        {NULL, 0, NULL, 0}};
    struct settings_flags f = {0};
    int quiet = 0, bad = 0, c;

    while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
        if (settings_flag(&f, c, optarg))
            continue; /* accepted everywhere; validate needs none */
        switch (c) {
        case 'q':
            quiet = 1;
            break;
        case 'h':
            validate_usage(stdout);
            return 0;
        default:
            validate_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "sweep validate: no file given\n");
        validate_usage(stderr);
        return EXIT_USAGE;
    }
    for (int i = optind; i < argc; i++)
        bad |= validate_one(argv[i], quiet) < 0;
    return bad ? EXIT_USAGE : 0;
}

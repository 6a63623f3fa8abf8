/* cmd_create.c - `sweep create FILE [--name N]`: validate, store, publish,
 * print the sweep ID as the last line of stdout. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "grid.h"
#include "store.h"
#include "sweep.h"

static void create_usage(FILE *fp) {
    fprintf(fp, "usage: sweep create FILE [--name NAME]\n\n"
                "Validates the sweep config, stores it in Redis, tells the\n"
                "controller, and prints the sweep ID as the last line.\n\n"
                "      --name NAME   the sweep's name (default: the config's name)\n"
                "  -h, --help        this help\n\n%s",
            SETTINGS_HELP);
}

int cli_create_sweep(const struct settings *st, const struct sweep_config *cfg,
                     const char *name, const char *id) {
    struct store_sweep_new n = {0};
    struct store *s = cli_store(st, "create");
    struct grid *g = NULL;
    char *json = json_dumps(cfg->raw, JSON_COMPACT), err[256];
    int rc = EXIT_RUNTIME;

    if (!s || !json)
        goto out;
    if (cfg->method == METHOD_GRID && grid_new(cfg, &g, err, sizeof(err)) < 0) {
        fprintf(stderr, "sweep create: %s\n", err);
        rc = EXIT_USAGE;
        goto out;
    }
    n.id = id;
    n.name = name;
    n.config_json = json;
    n.method = config_method_name(cfg->method);
    n.run_cap = cfg->run_cap;
    n.grid_size = g ? (long long)grid_size(g) : 0;
    n.now_ms = cli_now_ms();
    if (store_sweep_create(s, &n) < 0)
        fprintf(stderr, "sweep create: %s\n", store_errstr(s));
    else
        rc = 0;
out:
    grid_free(g);
    free(json);
    store_free(s);
    return rc;
}

int cmd_create(int argc, char **argv) {
    static const struct option opts[] = {{"name", required_argument, NULL, 'n'},
                                         {"help", no_argument, NULL, 'h'},
                                         SETTINGS_LONG_OPTIONS,
                                         {NULL, 0, NULL, 0}};
    struct settings_flags f = {0};
    struct settings st = {0};
    struct sweep_config *cfg = NULL;
    struct msg m = {.kind = MSG_SWEEP_CONTROL};
    const char *name = NULL;
    char id[9];
    int c, rc;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (settings_flag(&f, c, optarg))
            continue;
        if (c == 'n') {
            name = optarg;
        } else if (c == 'h') {
            create_usage(stdout);
            return 0;
        } else {
            create_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        create_usage(stderr);
        return EXIT_USAGE;
    }
    if ((rc = cli_settings(&st, &f, "create")))
        goto out_settings;
    cfg = cli_load_config(argv[optind]);
    if (!cfg) {
        rc = EXIT_USAGE;
        goto out;
    }
    if (!name)
        name = cfg->name;
    cli_random_id(id, sizeof(id));
    if ((rc = cli_create_sweep(&st, cfg, name, id)))
        goto out;
    m.u.control.sweep_id = id;
    m.u.control.action = CTL_CREATE;
    m.u.control.ts_ms = cli_now_ms();
    m.u.control.name = (char *)name;
    m.u.control.config_json = json_dumps(cfg->raw, JSON_COMPACT);
    cli_publish(&st, &m, id, "create");
    free(m.u.control.config_json);
    fprintf(stderr, "created sweep %s (%s, %zu parameters)\n", id,
            config_method_name(cfg->method), cfg->nparams);
    printf("%s\n", id);
out:
    config_free(cfg);
out_settings:
    settings_release(&st);
    return rc < 0 ? 0 : rc;
}

/*
 * sweep-worker - runs a sweep's programs: args -> settings -> init ->
 * loop -> orderly teardown. The engine is lib/worker.c.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sig.h"
#include "sign.h"
#include "settings.h"
#include "sweep.h"
#include "worker.h"

static void usage(FILE *fp) {
    fprintf(fp,
            "usage: sweep-worker --brokers LIST [SWEEP_ID] [options]\n"
            "\n"
            "Takes run assignments over Kafka, runs the program with the run's\n"
            "parameters and streams its metrics. With SWEEP_ID it serves that\n"
            "sweep and exits 0 when it is finished; without, it joins a pool that\n"
            "serves every active sweep. Needs Kafka only (no Redis).\n"
            "\n"
            "      --count N          exit after N runs\n"
            "      --pool NAME        the pool to join (default: default)\n"
            "      --grace S          seconds between SIGTERM and SIGKILL when a\n"
            "                         run is stopped (default 30)\n"
            "      --max-initial-failures N   give up after N failures within the\n"
            "                         first --initial-window seconds (default 3, 60)\n"
            "      --initial-window S\n"
            "      --max-consecutive-failures N  give up after N failures in a row\n"
            "                         (default 5)\n"
            "      --run-dir DIR      run logs and files (default $TMPDIR/sweep-runs)\n"
            "      --allow-program PATH  run only programs that resolve to this\n"
            "                         file or into this directory (repeatable;\n"
            "                         setting allow_program); others fail\n"
            "      --insecure-unsigned  accept unsigned assignments (a private\n"
            "                         cluster only; setting insecure_unsigned)\n"
            "  -h, --help             this help\n"
            "      --version          the version\n"
            "\n"
            "SIGTERM (a spot instance going away): the run gets SIGTERM, then\n"
            "SIGKILL after the grace, is reported preempted and is requeued at once.\n"
            "\n"
            "Assignments must be signed with the controller's key: signing_key_file\n"
            "FILE in the --config file or $SWEEP_SIGNING_KEY_FILE, or the key itself\n"
            "in $SWEEP_SIGNING_KEY (never a flag). docs/security.md.\n"
            "\n" SETTINGS_HELP);
}

static int parse_long(const char *opt, const char *s, long *out) {
    char *end;

    errno = 0;
    *out = strtol(s, &end, 10);
    if (errno || *end || end == s || *out < 0) {
        fprintf(stderr, "sweep-worker: %s needs a non-negative integer, not '%s'\n",
                opt, s);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv) {
    static const struct option opts[] = {
        {"count", required_argument, NULL, 'c'},
        {"pool", required_argument, NULL, 'p'},
        {"grace", required_argument, NULL, 'g'},
        {"max-initial-failures", required_argument, NULL, 'i'},
        {"initial-window", required_argument, NULL, 'w'},
        {"max-consecutive-failures", required_argument, NULL, 'f'},
        {"run-dir", required_argument, NULL, 'd'},
        {"allow-program", required_argument, NULL, 'a'},
        {"insecure-unsigned", no_argument, NULL, 'u'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        SETTINGS_LONG_OPTIONS,
        {NULL, 0, NULL, 0}};
    struct settings_flags flags = {0};
    struct worker_opts wo = {0};
    /* static: reachable until exit, whichever return ends main */
    static const char **allow;
    size_t nallow = 0;
    struct settings st;
    struct worker *w;
    char errstr[512];
    sigset_t mask;
    long v;
    int c, rc;

    allow = calloc((size_t)argc + 1, sizeof(*allow));
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (settings_flag(&flags, c, optarg))
            continue;
        switch (c) {
        case 'c':
            if (parse_long("--count", optarg, &wo.count) < 0)
                return 2;
            break;
        case 'p':
            wo.pool = optarg;
            break;
        case 'g':
        case 'd':
        case 'u':
            if (settings_flag_set(&flags, c == 'g' ? "grace" : c == 'd' ? "run_dir"
                                                   : "insecure_unsigned",
                                  c == 'u' ? "1" : optarg) < 0) {
                fprintf(stderr, "sweep-worker: too many flags\n");
                return 2;
            }
            break;
        case 'a':
            if (allow)
                allow[nallow++] = optarg;
            break;
        case 'i':
            if (parse_long("--max-initial-failures", optarg, &v) < 0)
                return 2;
            wo.max_initial_failures = (int)v;
            break;
        case 'w': {
            char *end;
            errno = 0;
            wo.initial_window_s = strtod(optarg, &end);
            if (errno || end == optarg || *end || !(wo.initial_window_s > 0)) {
                fprintf(stderr, "sweep-worker: --initial-window needs a positive "
                                "number of seconds, not '%s'\n", optarg);
                return 2;
            }
            break;
        }
        case 'f':
            if (parse_long("--max-consecutive-failures", optarg, &v) < 0)
                return 2;
            wo.max_consecutive_failures = (int)v;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("sweep-worker %s\n", SWEEP_VERSION);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (argc - optind > 1) {
        fprintf(stderr, "sweep-worker: at most one SWEEP_ID\n");
        return 2;
    }
    wo.sweep_id = optind < argc ? argv[optind] : NULL;
    if (settings_resolve(&st, &flags, errstr, sizeof(errstr))) {
        fprintf(stderr, "sweep-worker: %s\n", errstr);
        return 2;
    }
    if (flags.dump) {
        settings_dump(&st, stdout);
        settings_release(&st);
        return 0;
    }
    log_init("sweep-worker", (enum log_level)log_level_parse(st.log_level));
    if (!*st.brokers) {
        fprintf(stderr, "sweep-worker: no brokers: give --brokers or SWEEP_BROKERS\n");
        settings_release(&st);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    /* Before any thread exists (librdkafka makes them): the signals are
     * read from a signalfd in the worker's poll loop. */
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGHUP);
    sigaddset(&mask, SIGCHLD);
    if (sig_block_and_route(&mask) < 0) /* see sig.h: OpenBLAS threads */
        perror("sigaction");
    if (!allow) {
        fprintf(stderr, "sweep-worker: out of memory\n");
        return 1;
    }
    if (signer_require(st.signing_key_file, (int)st.insecure_unsigned,
                       &wo.signer, errstr, sizeof(errstr)) < 0) {
        fprintf(stderr, "sweep-worker: %s\n", errstr);
        settings_release(&st);
        free(allow);
        return 2;
    }
    wo.st = &st;
    wo.allow = allow;
    wo.nallow = nallow;
    w = worker_new(&wo, errstr, sizeof(errstr));
    if (!w) {
        LOG(LOG_ERROR, "%s", errstr);
        settings_release(&st);
        free(allow);
        return 1;
    }
    rc = worker_run(w);
    worker_free(w);
    settings_release(&st);
    free(allow);
    return rc;
}

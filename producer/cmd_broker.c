/*
 * cmd_broker.c - `sweep broker`: the embedded Kafka-protocol broker as a
 * process, for one machine and for tests. Prints its bootstrap list as the
 * first line of stdout, creates the four topics, then serves until SIGINT,
 * SIGTERM or SIGHUP.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "broker.h"
#include "cli.h"
#include "log.h"
#include "sig.h"
#include "sweep.h"
#include "topics.h"

#define BROKER_MAX_PARTITIONS 1000
#define BROKER_MAX_PREFIX 100 /* topics_init() keeps 100 characters */

struct broker_opts {
    int partitions;
    const char *prefix;
};

static void broker_usage(FILE *fp) {
    fprintf(
        fp,
        "usage: sweep broker [--partitions N] [--prefix P]\n"
        "\n"
        "Runs the embedded Kafka-protocol broker (librdkafka's mock cluster)\n"
        "on 127.0.0.1 and a free port, creates the topics P.control,\n"
        "P.assign, P.events and P.metrics, prints the bootstrap list\n"
        "(\"127.0.0.1:PORT\") as the first line of stdout and serves until\n"
        "SIGINT or SIGTERM. Messages live in memory only: each partition\n"
        "keeps its last 100,000 messages or 5 MiB.\n"
        "\n"
        "  -p, --partitions N   partitions per topic, 1-%d (default %d)\n"
        "  -P, --prefix P       topic name prefix (default \"%s\")\n"
        "      --brokers, --redis, --config ARG\n"
        "                       accepted like every command; not used\n"
        "  -h, --help           this help\n",
        BROKER_MAX_PARTITIONS, TOPIC_PARTITIONS_DEFAULT, TOPIC_PREFIX_DEFAULT);
}

/* Kafka topic names are [A-Za-z0-9._-]; the prefix must keep them so. */
static int prefix_ok(const char *p) {
    size_t len = strlen(p);

    return len > 0 && len <= BROKER_MAX_PREFIX &&
           strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                     "0123456789._-") == len;
}

/* Returns an exit code, or -1 to go on. */
static int parse_broker_args(int argc, char **argv, struct broker_opts *o) {
    static const struct option opts[] = {
        {"partitions", required_argument, NULL, 'p'},
        {"prefix", required_argument, NULL, 'P'},
        {"brokers", required_argument, NULL, 'B'},
        {"redis", required_argument, NULL, 'R'},
        {"config", required_argument, NULL, 'C'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    unsigned long long n;
    int c;

    while ((c = getopt_long(argc, argv, "p:P:h", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            if (cli_parse_count("--partitions", optarg, &n) < 0)
                return EXIT_USAGE;
            if (n < 1 || n > BROKER_MAX_PARTITIONS) {
                fprintf(stderr,
                        "sweep broker: --partitions must be 1-%d, not %llu\n",
                        BROKER_MAX_PARTITIONS, n);
                return EXIT_USAGE;
            }
            o->partitions = (int)n;
            break;
        case 'P':
            if (!prefix_ok(optarg)) {
                fprintf(stderr,
                        "sweep broker: --prefix '%s' must be 1-%d characters "
                        "of A-Z a-z 0-9 . _ -\n",
                        optarg, BROKER_MAX_PREFIX);
                return EXIT_USAGE;
            }
            o->prefix = optarg;
            break;
        case 'B':
        case 'R':
        case 'C':
            break;
        case 'h':
            broker_usage(stdout);
            return 0;
        default:
            broker_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "sweep broker: unexpected argument '%s'\n",
                argv[optind]);
        broker_usage(stderr);
        return EXIT_USAGE;
    }
    return -1;
}

static int create_topics(struct broker *b, const struct broker_opts *o) {
    struct topics t;

    topics_init(&t, o->prefix);
    for (int i = 0; i < TOPIC__COUNT; i++)
        if (broker_create_topic(b, t.names[i], o->partitions) < 0)
            return -1;
    LOG(LOG_INFO, "broker: topics %s, %s, %s, %s with %d partitions each",
        t.names[TOPIC_CONTROL], t.names[TOPIC_ASSIGN], t.names[TOPIC_EVENTS],
        t.names[TOPIC_METRICS], o->partitions);
    return 0;
}

/* Blocks until one of `set` arrives; returns it. */
static int wait_signal(const sigset_t *set) {
    int sig;

    while ((sig = sigwaitinfo(set, NULL)) < 0 && errno == EINTR)
        ;
    return sig;
}

int cmd_broker(int argc, char **argv) {
    struct broker_opts o = {TOPIC_PARTITIONS_DEFAULT, TOPIC_PREFIX_DEFAULT};
    struct broker *b = NULL;
    char errstr[512];
    sigset_t set;
    int rc, sig;

    if ((rc = parse_broker_args(argc, argv, &o)) >= 0)
        return rc;
    log_init("sweep-broker", log_threshold);
    /* Before librdkafka starts its threads, so that they inherit the mask
     * and the signals reach sigwaitinfo() below. */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    if (sig_block_and_route(&set) < 0) {
        LOG(LOG_ERROR, "broker: cannot set up signals: %s", strerror(errno));
        return EXIT_RUNTIME;
    }
    if (!(b = broker_new(errstr, sizeof(errstr)))) {
        LOG(LOG_ERROR, "%s", errstr);
        return EXIT_RUNTIME;
    }
    rc = EXIT_RUNTIME;
    if (create_topics(b, &o) < 0)
        goto out;
    if (printf("%s\n", broker_bootstraps(b)) < 0 || fflush(stdout) == EOF) {
        LOG(LOG_ERROR, "broker: cannot write the bootstrap list to stdout: %s",
            strerror(errno));
        goto out;
    }
    LOG(LOG_INFO, "broker: listening on %s; stop with SIGINT or SIGTERM",
        broker_bootstraps(b));
    sig = wait_signal(&set);
    LOG(LOG_INFO, "broker: %s, stopping",
        sig > 0 ? strsignal(sig) : "sigwaitinfo failed");
    rc = sig > 0 ? 0 : EXIT_RUNTIME;
out:
    broker_free(b);
    return rc;
}

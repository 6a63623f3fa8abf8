/*
 * cmd_topics.c - `sweep init-topics [--partitions N] [--replication-factor
 * R] [--check]`: creates the four topics on the cluster with the Admin
 * API, or checks them, and says what an operator must do when we may not.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "kafka.h"
#include "sweep.h"
#include "topicadm.h"

static void topics_usage(FILE *fp) {
    fprintf(fp,
            "usage: sweep init-topics [--partitions N] [--replication-factor R] [--check]\n"
            "\n"
            "Creates the topics P.control, P.assign, P.events and P.metrics (P the\n"
            "prefix) that are missing, with the Admin API, and checks the partition\n"
            "count of those that exist. When this principal may not create topics,\n"
            "prints the command an operator would run for each. Exit 0 when all\n"
            "four exist with N partitions, 1 otherwise. (Controllers do the same\n"
            "at start.)\n"
            "\n"
            "      --partitions N         partitions per topic (setting\n"
            "                             topic_partitions, default 4)\n"
            "      --replication-factor R replication factor (setting\n"
            "                             topic_replication; default -1: the\n"
            "                             cluster's default.replication.factor)\n"
            "      --check                create nothing, only check\n"
            "  -h, --help                 this help\n"
            "\n" SETTINGS_HELP);
}

int cmd_init_topics(int argc, char **argv) {
    static const struct option opts[] = {
        {"partitions", required_argument, NULL, 'p'},
        {"replication-factor", required_argument, NULL, 'r'},
        {"check", no_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        SETTINGS_LONG_OPTIONS,
        {NULL, 0, NULL, 0}};
    struct settings_flags f = {0};
    struct settings st = {0};
    struct kafka_opts ko = {0};
    struct kafka *k = NULL;
    struct topicadm_report r;
    struct topics t;
    struct sbuf sb = SBUF_INIT;
    char err[512];
    int c, check = 0, rc;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (settings_flag(&f, c, optarg))
            continue;
        switch (c) {
        case 'p':
        case 'r':
            if (settings_flag_set(&f, c == 'p' ? "topic_partitions" : "topic_replication",
                                  optarg) < 0)
                return EXIT_USAGE;
            break;
        case 'c':
            check = 1;
            break;
        case 'h':
            topics_usage(stdout);
            return 0;
        default:
            topics_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind != argc) {
        topics_usage(stderr);
        return EXIT_USAGE;
    }
    if ((rc = cli_settings(&st, &f, "init-topics")))
        return rc < 0 ? 0 : rc;
    rc = EXIT_USAGE;
    if (!*st.brokers) {
        fprintf(stderr, "sweep init-topics: no brokers: give --brokers or SWEEP_BROKERS\n");
        goto out;
    }
    ko.brokers = st.brokers;
    ko.client_id = "sweep-init-topics";
    ko.props = (const char *const *)st.kafka;
    ko.nprops = st.nkafka;
    if (!(k = kafka_new(&ko, err, sizeof(err)))) {
        fprintf(stderr, "sweep init-topics: %s\n", err);
        goto out;
    }
    topics_init(&t, st.prefix);
    rc = topicadm_ensure(k, &t, (int)st.topic_partitions, (int)st.topic_replication,
                         !check, 15000, &r, err, sizeof(err));
    if (rc == SWEEP_EIO) {
        fprintf(stderr, "sweep init-topics: %s\n", err);
        rc = EXIT_RUNTIME;
        goto out;
    }
    topicadm_describe(&r, st.brokers, settings_kafka(&st, "sasl.username"), &sb);
    fputs(sbuf_str(&sb), rc ? stderr : stdout);
    rc = rc ? EXIT_RUNTIME : 0;
out:
    sbuf_release(&sb);
    kafka_free(k);
    settings_release(&st);
    return rc;
}

/* cli_common.c - what the runtime verbs share: settings, Redis, Kafka. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "codec.h"
#include "config.h"
#include "kafka.h"
#include "log.h"
#include "store.h"
#include "sweep.h"
#include "topics.h"

int cli_settings(struct settings *st, const struct settings_flags *f,
                 const char *verb) {
    char err[512];

    if (settings_resolve(st, f, err, sizeof(err))) {
        fprintf(stderr, "sweep %s: %s\n", verb, err);
        return EXIT_USAGE;
    }
    log_init("sweep", (enum log_level)log_level_parse(st->log_level));
    if (f->dump) {
        settings_dump(st, stdout);
        settings_release(st);
        return -1;
    }
    return 0;
}

void cli_metric_goal(const json_t *sweep, struct metric_goal *g) {
    const json_t *m = json_object_get(json_object_get(sweep, "config"), "metric");

    g->name = json_string_value(json_object_get(m, "name"));
    g->maximize = !strcmp(json_string_value(json_object_get(m, "goal")) ?: "", "maximize");
}

int cli_best_value(const json_t *run, const struct metric_goal *g, double *out) {
    const json_t *h = json_object_get(run, "history"), *e;
    int found = 0;
    size_t i;

    if (!g->name)
        return 0;
    json_array_foreach(h, i, e) {
        const json_t *v = json_object_get(e, g->name);
        double x;
        if (!json_is_number(v))
            continue;
        x = json_number_value(v);
        if (!found || (g->maximize ? x > *out : x < *out))
            *out = x;
        found = 1;
    }
    if (!found && json_is_number(json_object_get(json_object_get(run, "summary"), g->name))) {
        *out = json_number_value(json_object_get(json_object_get(run, "summary"), g->name));
        found = 1;
    }
    return found && isfinite(*out);
}

const json_t *cli_best_run(const json_t *runs, const struct metric_goal *g, double *out) {
    const json_t *r, *best = NULL;
    double x;
    size_t i;

    json_array_foreach(runs, i, r) {
        if (cli_best_value(r, g, &x) && (!best || (g->maximize ? x > *out : x < *out))) {
            best = r;
            *out = x;
        }
    }
    return best;
}

struct store *cli_store(const struct settings *st, const char *verb) {
    char err[512];
    struct store *s = store_connect(st->redis, 5000, err, sizeof(err));

    if (!s)
        fprintf(stderr, "sweep %s: %s\n", verb, err);
    return s;
}

struct sweep_config *cli_load_config(const char *path) {
    struct diags d;
    struct sweep_config *cfg;

    diags_init(&d, path);
    cfg = config_load_file(path, &d);
    diags_print(&d, stderr);
    diags_release(&d);
    return cfg;
}

int64_t cli_now_ms(void) {
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int cli_publish(const struct settings *st, const struct msg *m, const char *key,
                const char *verb) {
    struct kafka_opts ko = {0};
    struct topics t;
    struct kafka *k;
    struct codec *c;
    void *buf = NULL;
    size_t len = 0;
    char err[512];
    int rc = -1;

    if (!st->brokers || !*st->brokers)
        return 0; /* the controller also finds changes in Redis */
    topics_init(&t, st->prefix);
    ko.brokers = st->brokers;
    ko.client_id = "sweep-cli";
    ko.props = (const char *const *)st->kafka;
    ko.nprops = st->nkafka;
    c = codec_new(err, sizeof(err));
    k = c ? kafka_new(&ko, err, sizeof(err)) : NULL;
    if (k && codec_encode(c, m, &buf, &len) == 0 &&
        kafka_produce(k, t.names[TOPIC_CONTROL], key, buf, len) == 0 &&
        kafka_flush(k, 10000) == 0)
        rc = 0;
    else
        fprintf(stderr, "sweep %s: warning: could not tell the controller over "
                        "Kafka (%s); it will notice within a second from Redis\n",
                verb, k ? "delivery failed" : err);
    free(buf);
    kafka_free(k);
    codec_free(c);
    return rc;
}

void cli_random_id(char *out, size_t n) {
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    unsigned char raw[32];
    FILE *fp = fopen("/dev/urandom", "rb");
    size_t got = fp ? fread(raw, 1, sizeof(raw), fp) : 0;

    if (fp)
        fclose(fp);
    for (size_t i = 0; i + 1 < n && i < sizeof(raw); i++)
        out[i] = alphabet[(i < got ? raw[i] : (unsigned)rand()) % 36];
    out[n - 1] = '\0';
}

int cli_parse(int argc, char **argv, const struct cli_verb *v,
              struct settings_flags *f, int *json, const char **pos) {
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         SETTINGS_LONG_OPTIONS,
                                         {NULL, 0, NULL, 0}};
    int c, n = 0;

    while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
        if (settings_flag(f, c, optarg))
            continue;
        if (c == 'j' && json) {
            *json = 1;
        } else if (c == 'h') {
            printf("usage: sweep %s\n\n%s\n%s", v->synopsis, v->help, SETTINGS_HELP);
            return 0;
        } else {
            fprintf(stderr, "usage: sweep %s\n", v->synopsis);
            return EXIT_USAGE;
        }
    }
    for (; optind < argc; optind++) {
        if (n == v->npos) {
            fprintf(stderr, "sweep %s: unexpected argument '%s'\nusage: sweep %s\n",
                    v->name, argv[optind], v->synopsis);
            return EXIT_USAGE;
        }
        pos[n++] = argv[optind];
    }
    if (n < v->npos) {
        fprintf(stderr, "usage: sweep %s\n", v->synopsis);
        return EXIT_USAGE;
    }
    return -1;
}

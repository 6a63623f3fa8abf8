/*
 * settings.h - runtime settings of every program (not the sweep config):
 * one table {key, type, default, min, max, help} drives the config file,
 * the SWEEP_* environment, the command-line flags, validation,
 * --dump-config and docs/settings.md (after redis' config.c).
 *
 * Precedence: flags, then environment (SWEEP_BROKERS, SWEEP_REDIS_URL,
 * SWEEP_<KEY>), then the config file (--config FILE or SWEEP_CONFIG), then
 * defaults. Config file lines are "key value"; '#' starts a comment.
 * Keys "kafka.<property>" pass to librdkafka unchanged (TLS, SASL...).
 */
#ifndef SWEEP_SETTINGS_H
#define SWEEP_SETTINGS_H

#include <getopt.h>
#include <stddef.h>
#include <stdio.h>

struct settings {
    char *brokers;
    char *redis;
    char *prefix;
    double lease_timeout; /* seconds without heartbeat before a run crashed */
    double grace;         /* seconds between SIGTERM and SIGKILL */
    double heartbeat;     /* seconds between run heartbeats */
    long fetch_wait_ms;
    char *interpreter;
    char *log_level;
    char *run_dir;        /* where workers keep run logs and files */
    char *metrics_format; /* "avro" (Confluent framing) or "json" */
    char *signing_key_file; /* keys that sign / verify .assign (sign.h) */
    long insecure_unsigned; /* 1: no signatures sent or required */
    char *allow_program;  /* worker: comma-separated allowed paths, or "" */
    double flush_timeout;   /* seconds to wait at exit for undelivered messages */
    long topic_partitions;  /* partitions of the topics we create */
    long topic_replication; /* their replication factor; -1 the broker's */
    char **kafka;         /* "property=value", nkafka of them */
    size_t nkafka;
};

/* Long options every program accepts; their values are collected by
 * settings_flag() and applied by settings_resolve(). */
#define SETTINGS_OPT_BASE 1000
#define SETTINGS_LONG_OPTIONS                                          \
    {"brokers", required_argument, NULL, SETTINGS_OPT_BASE + 0},       \
    {"redis", required_argument, NULL, SETTINGS_OPT_BASE + 1},         \
    {"config", required_argument, NULL, SETTINGS_OPT_BASE + 2},        \
    {"kafka", required_argument, NULL, SETTINGS_OPT_BASE + 3},         \
    {"prefix", required_argument, NULL, SETTINGS_OPT_BASE + 4},        \
    {"log-level", required_argument, NULL, SETTINGS_OPT_BASE + 5},     \
    {"dump-config", no_argument, NULL, SETTINGS_OPT_BASE + 6}

#define SETTINGS_HELP                                                     \
    "common settings (flags > SWEEP_* environment > --config file):\n"    \
    "      --brokers LIST     Kafka bootstrap servers ($SWEEP_BROKERS)\n" \
    "      --redis URL        redis://[user:password@]host:port[/db]\n"   \
    "                         ($SWEEP_REDIS_URL)\n"                       \
    "      --config FILE      settings file, 'key value' lines ($SWEEP_CONFIG)\n" \
    "      --kafka PROP=VAL   a librdkafka property, passed unchanged\n"  \
    "      --prefix P         topic prefix (default sweeps)\n"            \
    "      --log-level L      error, warn, info, debug\n"                 \
    "      --dump-config      print the resolved settings and exit\n"

struct settings_flags {
    const char *key[64];
    const char *val[64];
    size_t n;
    const char *config_path;
    int dump;
};

/* Handles one of SETTINGS_LONG_OPTIONS; returns 1 if c was one. */
int settings_flag(struct settings_flags *f, int c, const char *arg);
/* A program's own flag that sets a settings key (--grace S -> "grace").
 * Returns 0, or SWEEP_ERANGE when f is full (64 flags). */
int settings_flag_set(struct settings_flags *f, const char *key,
                      const char *val);

/* Defaults, then file, environment and flags. Returns 0, or a negative
 * SWEEP_E* with errstr ("FILE:LINE: unknown key 'x'", "--grace: not a
 * number"...) and *s released (settings_release() is then a no-op). */
int settings_resolve(struct settings *s, const struct settings_flags *f,
                     char *errstr, size_t errstr_size);
/* Sets one key from text (as the file and flags do). */
int settings_set(struct settings *s, const char *key, const char *value,
                 char *errstr, size_t errstr_size);
void settings_release(struct settings *s);
/* Every key with its value, as a config file would hold it; secrets
 * (kafka.*password*, a Redis URL's password) print as "(secret)". */
void settings_dump(const struct settings *s, FILE *fp);
/* The value of kafka.<prop> (the last one given), or NULL. */
const char *settings_kafka(const struct settings *s, const char *prop);
/* docs/settings.md, generated from the table. */
void settings_reference(FILE *fp);

#endif

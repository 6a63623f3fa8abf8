/* settings.c - the settings table and its four sources. */
#include "settings.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "secret.h"
#include "sweep.h"

enum stype { T_STRING, T_DOUBLE, T_LONG };

struct sdef {
    const char *key;
    enum stype type;
    const char *dflt;
    double min, max;
    size_t off;
    const char *help;
};

#define OFF(f) offsetof(struct settings, f)

static const struct sdef table[] = {
    {"brokers", T_STRING, "", 0, 0, OFF(brokers),
     "Kafka bootstrap servers, host:port,... (env SWEEP_BROKERS)"},
    {"redis", T_STRING, "redis://127.0.0.1:6379", 0, 0, OFF(redis),
     "Redis URL redis://[user:password@]host:port[/db] (env SWEEP_REDIS_URL)"},
    {"prefix", T_STRING, "sweeps", 0, 0, OFF(prefix),
     "topic prefix: <prefix>.control, .assign, .events, .metrics"},
    {"lease_timeout", T_DOUBLE, "30", 1, 86400, OFF(lease_timeout),
     "seconds without a heartbeat before a run is marked crashed and requeued"},
    {"grace", T_DOUBLE, "30", 0, 86400, OFF(grace),
     "seconds between SIGTERM and SIGKILL when a run is stopped"},
    {"heartbeat", T_DOUBLE, "2", 0.05, 3600, OFF(heartbeat),
     "seconds between a worker's run heartbeats"},
    {"fetch_wait_ms", T_LONG, "0", 0, 10000, OFF(fetch_wait_ms),
     "fetch.wait.max.ms of our Kafka readers; 0: 5 on the embedded broker, "
     "500 on a real cluster"},
    {"interpreter", T_STRING, "", 0, 0, OFF(interpreter),
     "what ${interpreter} runs (empty: python, else python3)"},
    {"log_level", T_STRING, "info", 0, 0, OFF(log_level),
     "error, warn, info or debug"},
    {"run_dir", T_STRING, "", 0, 0, OFF(run_dir),
     "where a worker keeps run logs and files (empty: $TMPDIR/sweep-runs)"},
    {"metrics_format", T_STRING, "avro", 0, 0, OFF(metrics_format),
     "encoding of the metrics topic written by workers: avro (Confluent wire "
     "format) or json (one object per event; the controller reads both)"},
    {"signing_key_file", T_STRING, "", 0, 0, OFF(signing_key_file),
     "file with the key that signs run assignments and commands (controller) "
     "and verifies them (worker), one per line, a second accepted during a "
     "rotation; `sweep keygen` makes one. $SWEEP_SIGNING_KEY may hold the "
     "key instead (docs/security.md)"},
    {"insecure_unsigned", T_LONG, "0", 0, 1, OFF(insecure_unsigned),
     "1: run without signatures (controller and worker), on a cluster where "
     "nobody else can write to <prefix>.assign"},
    {"flush_timeout", T_DOUBLE, "30", 0, 3600, OFF(flush_timeout),
     "seconds a worker waits at exit for the Kafka messages "
     "not yet delivered (the cluster may be away); what is left then is "
     "dropped and logged"},
    {"topic_partitions", T_LONG, "4", 1, 10000, OFF(topic_partitions),
     "partitions of each topic that `sweep init-topics` or a controller "
     "creates (existing topics are checked against it)"},
    {"topic_replication", T_LONG, "-1", -1, 32, OFF(topic_replication),
     "replication factor of the topics they create; -1: the cluster's "
     "default.replication.factor"},
    {"allow_program", T_STRING, "", 0, 0, OFF(allow_program),
     "worker: comma-separated files and directories that every program it "
     "runs must resolve into (empty: any)"},
};

#define NDEFS (sizeof(table) / sizeof(table[0]))

static const struct sdef *find_def(const char *key) {
    for (size_t i = 0; i < NDEFS; i++)
        if (!strcmp(table[i].key, key))
            return &table[i];
    return NULL;
}

static int add_kafka(struct settings *s, const char *prop, const char *value) {
    char **nv = realloc(s->kafka, (s->nkafka + 1) * sizeof(char *));

    if (!nv)
        return SWEEP_ENOMEM;
    s->kafka = nv;
    if (asprintf(&s->kafka[s->nkafka], "%s=%s", prop, value) < 0)
        return SWEEP_ENOMEM;
    s->nkafka++;
    return 0;
}

int settings_set(struct settings *s, const char *key, const char *value,
                 char *errstr, size_t errstr_size) {
    const struct sdef *d;
    char *end;
    double v;

    if (!strncmp(key, "kafka.", 6) && key[6])
        return add_kafka(s, key + 6, value);
    if (!(d = find_def(key))) {
        snprintf(errstr, errstr_size, "unknown setting '%s'", key);
        return SWEEP_EINVAL;
    }
    if (d->type == T_STRING) {
        char **slot = (char **)((char *)s + d->off), *copy = strdup(value);
        if (!copy)
            return SWEEP_ENOMEM;
        free(*slot);
        *slot = copy;
        return 0;
    }
    errno = 0;
    v = strtod(value, &end);
    if (errno || end == value || *end || v < d->min || v > d->max ||
        (d->type == T_LONG && v != (double)(long)v)) {
        snprintf(errstr, errstr_size, "%s: '%s' is not a %s from %g to %g", key,
                 value, d->type == T_LONG ? "whole number" : "number", d->min,
                 d->max);
        return SWEEP_EINVAL;
    }
    if (d->type == T_LONG)
        *(long *)((char *)s + d->off) = (long)v;
    else
        *(double *)((char *)s + d->off) = v;
    return 0;
}

static int load_file(struct settings *s, const char *path, char *errstr,
                     size_t errstr_size) {
    FILE *fp = fopen(path, "r");
    char line[4096], err[256];
    int lineno = 0, rc = 0;

    if (!fp) {
        snprintf(errstr, errstr_size, "%s: %s", path, strerror(errno));
        return SWEEP_EIO;
    }
    while (!rc && fgets(line, sizeof(line), fp)) {
        char *p = line, *key, *val, *e;
        lineno++;
        while (isspace((unsigned char)*p))
            p++;
        if (!*p || *p == '#')
            continue;
        key = p;
        while (*p && !isspace((unsigned char)*p))
            p++;
        if (*p)
            *p++ = '\0';
        while (isspace((unsigned char)*p))
            p++;
        val = p;
        e = val + strlen(val);
        while (e > val && isspace((unsigned char)e[-1]))
            *--e = '\0';
        if ((rc = settings_set(s, key, val, err, sizeof(err))))
            snprintf(errstr, errstr_size, "%s:%d: %s", path, lineno, err);
    }
    fclose(fp);
    return rc;
}

static int load_env(struct settings *s, char *errstr, size_t errstr_size) {
    const char *v;
    char name[64], err[256];

    if ((v = getenv("SWEEP_BROKERS")) && *v && settings_set(s, "brokers", v, err, sizeof(err)))
        goto bad;
    if ((v = getenv("SWEEP_REDIS_URL")) && *v && settings_set(s, "redis", v, err, sizeof(err)))
        goto bad;
    for (size_t i = 0; i < NDEFS; i++) {
        size_t k;
        if (!strcmp(table[i].key, "brokers") || !strcmp(table[i].key, "redis"))
            continue;
        for (k = 0; table[i].key[k] && k < 50; k++)
            name[6 + k] = (char)toupper((unsigned char)table[i].key[k]);
        memcpy(name, "SWEEP_", 6);
        name[6 + k] = '\0';
        if ((v = getenv(name)) && *v && settings_set(s, table[i].key, v, err, sizeof(err)))
            goto bad;
    }
    return 0;
bad:
    snprintf(errstr, errstr_size, "environment: %s", err);
    return SWEEP_EINVAL;
}

int settings_flag_set(struct settings_flags *f, const char *key,
                      const char *val) {
    if (f->n >= sizeof(f->key) / sizeof(f->key[0]))
        return SWEEP_ERANGE;
    f->key[f->n] = key;
    f->val[f->n++] = val;
    return 0;
}

int settings_flag(struct settings_flags *f, int c, const char *arg) {
    static const char *const keys[] = {"brokers", "redis", NULL, "kafka",
                                       "prefix", "log_level"};

    if (c < SETTINGS_OPT_BASE || c > SETTINGS_OPT_BASE + 6)
        return 0;
    c -= SETTINGS_OPT_BASE;
    if (c == 2)
        f->config_path = arg;
    else if (c == 6)
        f->dump = 1;
    else if (f->n < 64) {
        f->key[f->n] = keys[c];
        f->val[f->n++] = arg;
    }
    return 1;
}

static int apply_flags(struct settings *s, const struct settings_flags *f,
                       char *errstr, size_t errstr_size) {
    char err[256];

    for (size_t i = 0; i < f->n; i++) {
        int rc;
        if (!strcmp(f->key[i], "kafka")) {
            const char *eq = strchr(f->val[i], '=');
            char prop[256];
            if (!eq || eq == f->val[i]) {
                snprintf(errstr, errstr_size, "--kafka: '%s' is not PROP=VALUE", f->val[i]);
                return SWEEP_EINVAL;
            }
            snprintf(prop, sizeof(prop), "%.*s", (int)(eq - f->val[i]), f->val[i]);
            if (secret_kafka_prop(prop)) {
                /* Every user sees a command line in ps. */
                snprintf(errstr, errstr_size,
                         "--kafka %s: a secret on the command line is visible "
                         "to every user (ps); put 'kafka.%s VALUE' in the "
                         "--config file (chmod 600) instead", prop, prop);
                return SWEEP_EINVAL;
            }
            rc = add_kafka(s, prop, eq + 1);
        } else if (!strcmp(f->key[i], "redis") &&
                   secret_url_has_password(f->val[i])) {
            snprintf(errstr, errstr_size,
                     "--redis: a password on the command line is visible to "
                     "every user (ps); give the URL in $SWEEP_REDIS_URL or as "
                     "'redis URL' in the --config file (chmod 600)");
            return SWEEP_EINVAL;
        } else {
            rc = settings_set(s, f->key[i], f->val[i], err, sizeof(err));
        }
        if (rc) {
            snprintf(errstr, errstr_size, "--%s: %s", f->key[i], err);
            return rc;
        }
    }
    return 0;
}

static int resolve(struct settings *s, const struct settings_flags *f,
                   char *errstr, size_t errstr_size) {
    const char *path = f && f->config_path ? f->config_path : getenv("SWEEP_CONFIG");
    char err[256];
    int rc;

    for (size_t i = 0; i < NDEFS; i++)
        if ((rc = settings_set(s, table[i].key, table[i].dflt, err, sizeof(err))))
            return rc;
    if (path && *path && (rc = load_file(s, path, errstr, errstr_size)))
        return rc;
    if ((rc = load_env(s, errstr, errstr_size)))
        return rc;
    if (f && (rc = apply_flags(s, f, errstr, errstr_size)))
        return rc;
    if (strcmp(s->metrics_format, "avro") && strcmp(s->metrics_format, "json")) {
        snprintf(errstr, errstr_size, "metrics_format: '%s' is not avro or json",
                 s->metrics_format);
        return SWEEP_EINVAL;
    }
    if (log_level_parse(s->log_level) < 0) {
        snprintf(errstr, errstr_size, "log_level: '%s' is not error, warn, info or debug",
                 s->log_level);
        return SWEEP_EINVAL;
    }
    return 0;
}

int settings_resolve(struct settings *s, const struct settings_flags *f,
                     char *errstr, size_t errstr_size) {
    int rc;

    memset(s, 0, sizeof(*s));
    if ((rc = resolve(s, f, errstr, errstr_size)))
        settings_release(s); /* nothing for the caller to free */
    return rc;
}

const char *settings_kafka(const struct settings *s, const char *prop) {
    size_t pl = strlen(prop);
    const char *v = NULL;

    for (size_t i = 0; i < s->nkafka; i++)
        if (!strncmp(s->kafka[i], prop, pl) && s->kafka[i][pl] == '=')
            v = s->kafka[i] + pl + 1;
    return v;
}

void settings_release(struct settings *s) {
    for (size_t i = 0; i < NDEFS; i++)
        if (table[i].type == T_STRING)
            free(*(char **)((char *)s + table[i].off));
    for (size_t i = 0; i < s->nkafka; i++)
        free(s->kafka[i]);
    free(s->kafka);
    memset(s, 0, sizeof(*s));
}

void settings_dump(const struct settings *s, FILE *fp) {
    for (size_t i = 0; i < NDEFS; i++) {
        const struct sdef *d = &table[i];
        const char *p = (const char *)s + d->off;
        if (d->type == T_STRING && secret_url_has_password(*(char *const *)p)) {
            char red[1024];
            fprintf(fp, "%s %s\n", d->key,
                    secret_redact_url(*(char *const *)p, red, sizeof(red)));
        } else if (d->type == T_STRING)
            fprintf(fp, "%s %s\n", d->key, *(char *const *)p);
        else if (d->type == T_LONG)
            fprintf(fp, "%s %ld\n", d->key, *(const long *)p);
        else
            fprintf(fp, "%s %g\n", d->key, *(const double *)p);
    }
    for (size_t i = 0; i < s->nkafka; i++) {
        const char *eq = strchr(s->kafka[i], '=');
        fprintf(fp, "kafka.%.*s %s\n", (int)(eq - s->kafka[i]), s->kafka[i],
                secret_kafka_kv(s->kafka[i]) ? SECRET_MASK : eq + 1);
    }
}

void settings_reference(FILE *fp) {
    fprintf(fp, "| key | default | range | meaning |\n|---|---|---|---|\n");
    for (size_t i = 0; i < NDEFS; i++) {
        const struct sdef *d = &table[i];
        if (d->type == T_STRING)
            fprintf(fp, "| `%s` | `%s` | | %s |\n", d->key, d->dflt, d->help);
        else
            fprintf(fp, "| `%s` | `%s` | %g to %g | %s |\n", d->key, d->dflt,
                    d->min, d->max, d->help);
    }
    fprintf(fp, "| `kafka.<property>` | | | any librdkafka property, passed unchanged "
                "(security.protocol, sasl.mechanisms, ssl.ca.location...) |\n");
}

/*
 * kafka.c - our Kafka client: one librdkafka producer and one consumer
 * handle used without group membership (every partition of the topics is
 * assigned by hand), both tuned for latency, behind one pipe for poll().
 *
 * The consumer type needs a group.id for rd_kafka_assign(); each process
 * uses a unique one and never joins, subscribes or commits, so no member
 * ever waits for a rebalance.
 */
#include "kafka.h"

#include <errno.h>
#include <fcntl.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "secret.h"
#include "sign.h"
#include "sweep.h"

#define KAFKA_BATCH 256 /* messages per rd_kafka_consume_batch_queue */
#define KAFKA_FREE_FLUSH_MS 5000
#define KAFKA_QUEUE_FULL_WAIT_MS 2000
#define KAFKA_AWAY_MS 2000 /* no delivery this long with a backlog: away */

struct kafka {
    rd_kafka_t *prod;
    rd_kafka_conf_t *prod_conf; /* a copy: a fatal error needs a new one */
    int fatal;                  /* the producer hit a fatal error */
    char refused[512];          /* why the cluster refuses us (SASL, TLS):
                                   waiting does not help */
    int drop_at;                /* queued messages past which droppable
                                   ones are dropped (90% of the queue) */
    int slow_at, resume_at;     /* kafka_backlog(): 50% and 25% of it */
    int slowed;                 /* over slow_at, not yet under resume_at */
    int64_t progress_ms;        /* last delivery, or when the queue last
                                   went from empty to not */
    rd_kafka_queue_t *pq;       /* the producer's main queue */
    rd_kafka_t *cons;           /* NULL until kafka_read() */
    rd_kafka_conf_t *cons_conf; /* the consumer's, until it is created */
    rd_kafka_queue_t *cq;       /* the consumer's queue, with its events */
    rd_kafka_topic_partition_list_t *assigned; /* what is being read */
    rd_kafka_topic_partition_list_t *seeks;    /* positions for later */
    int pipefd[2]; /* both queues write a byte when non-empty */
    int fetch_wait_auto; /* fetch.wait.max.ms is the cluster's to choose */
    struct kafka_stats st;
};

static int64_t now_ms(void) {
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int ms_left(int64_t deadline) {
    int64_t left = deadline - now_ms();

    return left < 0 ? 0 : left > 0x7fffffff ? 0x7fffffff : (int)left;
}

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* Called from librdkafka's threads; LOG writes each line at once. */
static void kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac,
                         const char *buf) {
    enum log_level l = log_level_from_syslog(level);

    /* Pass-through properties go to both handles; each ignores the other
     * kind, which is expected. */
    if (!strcmp(fac, "CONFWARN") && strstr(buf, "will be ignored by this"))
        l = LOG_DEBUG;
    /* Connection failures come again through kafka_error_cb(), messages
     * left at exit through kafka_free(). */
    if (!strcmp(fac, "FAIL") || !strcmp(fac, "TERMINATE"))
        l = LOG_DEBUG;
    LOG(l, "kafka %s: %s: %s", rd_kafka_name(rk), fac, buf);
}

/* Errors librdkafka reports, such as every broker being down: it keeps
 * retrying with backoff, so none of them stops us. */
static void kafka_error_cb(rd_kafka_t *rk, int err, const char *reason,
                           void *opaque) {
    struct kafka *k = opaque;
    char fatal[512];

    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        /* Only the idempotent producer has fatal errors (its sequence
         * can no longer be trusted): the next produce makes a new one. */
        rd_kafka_fatal_error(rk, fatal, sizeof(fatal));
        LOG(LOG_ERROR, "kafka %s: fatal error: %s; starting a new producer",
            rd_kafka_name(rk), fatal);
        if (k && rk == k->prod)
            k->fatal = 1;
        return;
    }
    if (k && (err == RD_KAFKA_RESP_ERR__AUTHENTICATION || err == RD_KAFKA_RESP_ERR__SSL)) {
        /* Wrong credentials or certificates: said once, loudly. */
        if (!k->refused[0])
            LOG(LOG_ERROR, "kafka %s: %s: %s (check the kafka.sasl.* and kafka.ssl.* "
                "settings); retrying", rd_kafka_name(rk),
                err == RD_KAFKA_RESP_ERR__SSL ? "TLS handshake failed" : "authentication failed",
                reason);
        snprintf(k->refused, sizeof(k->refused), "%s", reason);
        return;
    }
    LOG(LOG_WARN, "kafka %s: %s (%s); retrying", rd_kafka_name(rk), reason,
        rd_kafka_err2name((rd_kafka_resp_err_t)err));
}

/* Counts; logs the first failures, then only at powers of two. */
static void kafka_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m,
                        void *opaque) {
    struct kafka *k = opaque;
    uint64_t n;

    (void)rk;
    if (!m->err) {
        k->st.delivered++;
        k->progress_ms = now_ms();
        return;
    }
    n = ++k->st.delivery_errors;
    if (n <= 5 || !(n & (n - 1)))
        LOG(LOG_ERROR, "kafka: delivery to '%s' [%d] failed: %s (%llu so far)",
            rd_kafka_topic_name(m->rkt), (int)m->partition,
            rd_kafka_err2str(m->err), (unsigned long long)n);
}

static int conf_set(rd_kafka_conf_t *conf, const char *key, const char *val,
                    char *errstr, size_t errstr_size) {
    char why[512];

    if (rd_kafka_conf_set(conf, key, val, why, sizeof(why)) == RD_KAFKA_CONF_OK)
        return 0;
    snprintf(errstr, errstr_size, "kafka: property '%s=%s': %s", key,
             secret_kafka_prop(key) ? SECRET_MASK : val, why);
    return SWEEP_EINVAL;
}

/* A table of defaults, so each handle's tuning reads in one place. */
struct kv {
    const char *key, *val;
};

static int conf_set_all(rd_kafka_conf_t *conf, const struct kv *kv, size_t n,
                        char *errstr, size_t errstr_size) {
    for (size_t i = 0; i < n; i++)
        if (conf_set(conf, kv[i].key, kv[i].val, errstr, errstr_size) < 0)
            return SWEEP_EINVAL;
    return 0;
}

static rd_kafka_conf_t *conf_common(struct kafka *k, const struct kafka_opts *o,
                                    char *errstr, size_t errstr_size) {
    const struct kv kv[] = {
        {"bootstrap.servers", o->brokers},
        {"client.id", o->client_id && *o->client_id ? o->client_id : "sweep"},
        {"socket.nagle.disable", "true"},
        {"socket.keepalive.enable", "true"},
        /* New partitions and moved leaders show within seconds. */
        {"topic.metadata.refresh.interval.ms", "10000"},
        /* A broker back from an outage is found within a few seconds. */
        {"reconnect.backoff.max.ms", "2000"},
    };
    rd_kafka_conf_t *conf = rd_kafka_conf_new();

    if (!conf) {
        snprintf(errstr, errstr_size, "kafka: out of memory");
        return NULL;
    }
    rd_kafka_conf_set_opaque(conf, k);
    rd_kafka_conf_set_log_cb(conf, kafka_log_cb);
    rd_kafka_conf_set_error_cb(conf, kafka_error_cb);
    if (conf_set_all(conf, kv, sizeof(kv) / sizeof(kv[0]), errstr,
                     errstr_size) < 0) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    return conf;
}

static int conf_producer(rd_kafka_conf_t *conf, char *errstr,
                         size_t errstr_size) {
    const struct kv kv[] = {
        {"linger.ms", "0"},
        /* Idempotent: a retry after a broker failure neither reorders a
         * run's messages nor writes one twice (the broker drops the
         * duplicate by producer id and sequence), with 5 requests in
         * flight. Its rare fatal errors make us start a new producer
         * (kafka_error_cb). acks=all, which idempotence needs anyway:
         * a message is delivered once min.insync.replicas have it. */
        {"enable.idempotence", "true"},
        {"max.in.flight.requests.per.connection", "5"},
        {"acks", "all"},
    };

    rd_kafka_conf_set_dr_msg_cb(conf, kafka_dr_cb);
    return conf_set_all(conf, kv, sizeof(kv) / sizeof(kv[0]), errstr,
                        errstr_size);
}

/* Unique per process: rd_kafka_assign() needs a group.id, but the group
 * is never joined. */
static void reader_group_id(char *buf, size_t size) {
    struct timespec ts;
    char host[64] = "host";

    clock_gettime(CLOCK_REALTIME, &ts);
    gethostname(host, sizeof(host) - 1);
    snprintf(buf, size, "sweep-reader-%.60s-%d-%lx", host, (int)getpid(),
             (unsigned long)(ts.tv_sec * 1000000000L + ts.tv_nsec));
}

static int conf_consumer(rd_kafka_conf_t *conf, const struct kafka_opts *o,
                         char *errstr, size_t errstr_size) {
    char group[128], wait[16];

    reader_group_id(group, sizeof(group));
    /* 0: reader_start() sets it again once it knows the cluster. */
    snprintf(wait, sizeof(wait), "%d",
             o->fetch_wait_ms > 0 ? o->fetch_wait_ms : KAFKA_FETCH_WAIT_MOCK);
    const struct kv kv[] = {
        {"group.id", group},
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
        {"enable.partition.eof", "false"},
        {"fetch.wait.max.ms", wait},
        {"fetch.error.backoff.ms", "10"},
        /* A kafka_seek() position the broker no longer keeps resumes at
         * the oldest message still there. */
        {"auto.offset.reset", "earliest"},
    };
    return conf_set_all(conf, kv, sizeof(kv) / sizeof(kv[0]), errstr,
                        errstr_size);
}

/* "key=value" to both handles. Each accepts producer and consumer
 * properties alike, so UNKNOWN on both means a property that does not
 * exist. */
static int conf_props(rd_kafka_conf_t *pc, rd_kafka_conf_t *cc,
                      const struct kafka_opts *o, char *errstr,
                      size_t errstr_size) {
    for (size_t i = 0; i < o->nprops; i++) {
        const char *p = o->props[i], *eq = p ? strchr(p, '=') : NULL;
        char key[256], why_p[512], why_c[512];
        rd_kafka_conf_res_t rp, rc;

        if (!eq || eq == p || (size_t)(eq - p) >= sizeof(key)) {
            snprintf(errstr, errstr_size,
                     "kafka: property '%.*s': expected key=value",
                     p && secret_kafka_kv(p) ? 0 : 200, p ? p : "");
            return SWEEP_EINVAL;
        }
        snprintf(key, sizeof(key), "%.*s", (int)(eq - p), p);
        rp = rd_kafka_conf_set(pc, key, eq + 1, why_p, sizeof(why_p));
        rc = rd_kafka_conf_set(cc, key, eq + 1, why_c, sizeof(why_c));
        if (rp == RD_KAFKA_CONF_INVALID || rc == RD_KAFKA_CONF_INVALID ||
            (rp == RD_KAFKA_CONF_UNKNOWN && rc == RD_KAFKA_CONF_UNKNOWN)) {
            /* librdkafka's reason names the property, not its value. */
            snprintf(errstr, errstr_size, "kafka: property '%s=%s': %s", key,
                     secret_kafka_prop(key) ? SECRET_MASK : eq + 1,
                     rp != RD_KAFKA_CONF_OK ? why_p : why_c);
            return SWEEP_EINVAL;
        }
    }
    return 0;
}

/* Wakes poll() on pipefd[0] when the queue goes from empty to not. */
static void queue_wake(rd_kafka_queue_t *q, int fd) {
    rd_kafka_queue_io_event_enable(q, fd, "k", 1);
}

/* Makes k->prod from a copy of k->prod_conf. */
static int producer_start(struct kafka *k, char *errstr, size_t errstr_size) {
    rd_kafka_conf_t *pc = rd_kafka_conf_dup(k->prod_conf);
    char why[512], val[32];
    size_t vl = sizeof(val);

    if (!pc) {
        snprintf(errstr, errstr_size, "kafka: out of memory");
        return SWEEP_ENOMEM;
    }
    if (!(k->prod = rd_kafka_new(RD_KAFKA_PRODUCER, pc, why, sizeof(why)))) {
        rd_kafka_conf_destroy(pc);
        snprintf(errstr, errstr_size, "kafka: cannot create the producer: %s",
                 why);
        return SWEEP_EIO;
    }
    k->pq = rd_kafka_queue_get_main(k->prod);
    queue_wake(k->pq, k->pipefd[1]);
    k->drop_at = 90000;
    if (rd_kafka_conf_get(k->prod_conf, "queue.buffering.max.messages", val, &vl) ==
            RD_KAFKA_CONF_OK &&
        atoi(val) > 10)
        k->drop_at = atoi(val) / 10 * 9;
    k->slow_at = k->drop_at / 9 * 5;
    k->resume_at = k->drop_at / 9 * 5 / 2;
    k->fatal = 0;
    return 0;
}

/* After a fatal error: what the old producer still held is lost
 * (counted as delivery errors), a new one takes over. When no new one
 * can be made, the old one stays (its produce calls fail) and the next
 * call tries again. */
static void producer_restart(struct kafka *k) {
    rd_kafka_t *old = k->prod;
    rd_kafka_queue_t *oldq = k->pq;
    char err[512];
    int lost = rd_kafka_outq_len(old);

    if (producer_start(k, err, sizeof(err)) < 0) {
        k->prod = old;
        k->pq = oldq;
        LOG(LOG_ERROR, "%s", err);
        return;
    }
    rd_kafka_queue_io_event_enable(oldq, -1, NULL, 0);
    rd_kafka_queue_destroy(oldq);
    rd_kafka_destroy(old);
    k->st.delivery_errors += (uint64_t)(lost > 0 ? lost : 0);
    LOG(LOG_WARN, "kafka: new producer started; %d queued messages lost", lost);
}

struct kafka *kafka_new(const struct kafka_opts *o, char *errstr,
                        size_t errstr_size) {
    struct kafka *k = calloc(1, sizeof(*k));
    rd_kafka_conf_t *pc = NULL;

    if (!k) {
        snprintf(errstr, errstr_size, "kafka: out of memory");
        return NULL;
    }
    k->pipefd[0] = k->pipefd[1] = -1;
    if (!o->brokers || !*o->brokers) {
        snprintf(errstr, errstr_size, "kafka: no brokers given");
        goto fail;
    }
    if (pipe2(k->pipefd, O_NONBLOCK | O_CLOEXEC) < 0) {
        snprintf(errstr, errstr_size, "kafka: pipe: %s", strerror(errno));
        goto fail;
    }
    if (!(pc = conf_common(k, o, errstr, errstr_size)) ||
        !(k->cons_conf = conf_common(k, o, errstr, errstr_size)) ||
        conf_producer(pc, errstr, errstr_size) < 0 ||
        conf_consumer(k->cons_conf, o, errstr, errstr_size) < 0 ||
        conf_props(pc, k->cons_conf, o, errstr, errstr_size) < 0)
        goto fail;
    k->prod_conf = pc;
    pc = NULL; /* owned by k */
    k->fetch_wait_auto = o->fetch_wait_ms <= 0;
    for (size_t i = 0; i < o->nprops && k->fetch_wait_auto; i++)
        if (o->props[i] && !strncmp(o->props[i], "fetch.wait.max.ms=", 18))
            k->fetch_wait_auto = 0;
    if (producer_start(k, errstr, errstr_size) < 0)
        goto fail;
    return k;

fail:
    if (pc)
        rd_kafka_conf_destroy(pc);
    kafka_free(k);
    return NULL;
}

void kafka_free(struct kafka *k) {
    if (!k)
        return;
    if (k->prod) {
        if (rd_kafka_flush(k->prod, KAFKA_FREE_FLUSH_MS) !=
            RD_KAFKA_RESP_ERR_NO_ERROR)
            LOG(LOG_WARN,
                "kafka: %d messages not delivered after %d ms, dropped",
                rd_kafka_outq_len(k->prod), KAFKA_FREE_FLUSH_MS);
        rd_kafka_queue_io_event_enable(k->pq, -1, NULL, 0);
        rd_kafka_queue_destroy(k->pq);
        rd_kafka_destroy(k->prod);
    }
    if (k->cons) {
        rd_kafka_queue_io_event_enable(k->cq, -1, NULL, 0);
        rd_kafka_queue_destroy(k->cq);
        /* Not a group member: nothing to leave or commit. */
        rd_kafka_destroy_flags(k->cons, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    }
    if (k->cons_conf)
        rd_kafka_conf_destroy(k->cons_conf);
    if (k->prod_conf)
        rd_kafka_conf_destroy(k->prod_conf);
    if (k->assigned)
        rd_kafka_topic_partition_list_destroy(k->assigned);
    if (k->seeks)
        rd_kafka_topic_partition_list_destroy(k->seeks);
    for (int i = 0; i < 2; i++)
        if (k->pipefd[i] >= 0)
            close(k->pipefd[i]);
    free(k);
}

int kafka_produce(struct kafka *k, const char *topic, const char *key,
                  const void *val, size_t len) {
    return kafka_produce_opt(k, topic, key, val, len, NULL, 0);
}

int kafka_produce_signed(struct kafka *k, const char *topic, const char *key,
                         const void *val, size_t len, const char *sig) {
    return kafka_produce_opt(k, topic, key, val, len, sig, 0);
}

int kafka_produce_opt(struct kafka *k, const char *topic, const char *key,
                      const void *val, size_t len, const char *sig, int flags) {
    int64_t deadline = now_ms() + KAFKA_QUEUE_FULL_WAIT_MS;
    rd_kafka_resp_err_t err;

    if (k->fatal)
        producer_restart(k);
    /* Room is kept for what must not be dropped (lifecycle, statuses). */
    if ((flags & KAFKA_DROPPABLE) && rd_kafka_outq_len(k->prod) >= k->drop_at)
        return SWEEP_EFULL;
    if (rd_kafka_outq_len(k->prod) == 0)
        k->progress_ms = now_ms(); /* the wait for a delivery starts now */
    for (;;) {
        rd_kafka_headers_t *h = NULL;

        if (sig) {
            h = rd_kafka_headers_new(1);
            rd_kafka_header_add(h, SIGN_HEADER, -1, sig, (ssize_t)strlen(sig));
        }
        /* On success the message owns h; on failure we still do. */
        err = rd_kafka_producev(
            k->prod, RD_KAFKA_V_TOPIC(topic),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_KEY((void *)key, key ? strlen(key) : 0),
            RD_KAFKA_V_VALUE((void *)val, len),
            RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END);
        if (err && h)
            rd_kafka_headers_destroy(h);
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL && (flags & KAFKA_DROPPABLE))
            return SWEEP_EFULL;
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL || !ms_left(deadline))
            break;
        /* Delivery reports make room; the broker may be away for a while. */
        rd_kafka_poll(k->prod, 50);
    }
    if (err) {
        LOG(LOG_ERROR, "kafka: cannot queue a message for '%s': %s", topic,
            rd_kafka_err2str(err));
        return SWEEP_EIO;
    }
    k->st.produced++;
    rd_kafka_poll(k->prod, 0);
    return 0;
}

int kafka_flush_wait(struct kafka *k, int timeout_ms) {
    int n;

    if (rd_kafka_flush(k->prod, timeout_ms < 1000 ? timeout_ms : 1000) ==
        RD_KAFKA_RESP_ERR_NO_ERROR)
        return 0;
    n = rd_kafka_outq_len(k->prod);
    if (timeout_ms > 1000) {
        LOG(LOG_WARN, "kafka: waiting up to %d s for %d undelivered messages",
            timeout_ms / 1000, n);
        if (rd_kafka_flush(k->prod, timeout_ms - 1000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
            LOG(LOG_INFO, "kafka: all delivered");
            return 0;
        }
    }
    LOG(LOG_ERROR, "kafka: %d messages not delivered after %d ms: dropped",
        rd_kafka_outq_len(k->prod), timeout_ms);
    return SWEEP_EIO;
}

int kafka_flush(struct kafka *k, int timeout_ms) {
    if (rd_kafka_flush(k->prod, timeout_ms) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        LOG(LOG_WARN, "kafka: %d messages still undelivered after %d ms",
            rd_kafka_outq_len(k->prod), timeout_ms);
        return SWEEP_EIO;
    }
    return 0;
}

/* What the cluster says of each topic now: info[i] EXISTS with its
 * counts, or MISSING. Returns 0 or SWEEP_EIO. */
static int topics_lookup(struct kafka *k, const char *const *topics, size_t n,
                         struct kafka_topic_info *info, int timeout_ms,
                         char *errstr, size_t errstr_size) {
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err;

    /* all_topics=1 lists what exists (that we may describe) without
     * asking the broker to create anything. */
    err = rd_kafka_metadata(k->prod, 1, NULL, &md, timeout_ms);
    if (err) {
        snprintf(errstr, errstr_size, "kafka: cannot list the topics: %s",
                 rd_kafka_err2str(err));
        if (md)
            rd_kafka_metadata_destroy(md);
        return SWEEP_EIO;
    }
    for (size_t i = 0; i < n; i++) {
        info[i].state = KT_MISSING;
        info[i].partitions = info[i].replicas = 0;
        for (int t = 0; t < md->topic_cnt; t++) {
            const rd_kafka_metadata_topic_t *mt = &md->topics[t];
            if (strcmp(mt->topic, topics[i]) || mt->err || mt->partition_cnt < 1)
                continue;
            info[i].state = KT_EXISTS;
            info[i].partitions = mt->partition_cnt;
            info[i].replicas = mt->partitions[0].replica_cnt;
        }
    }
    rd_kafka_metadata_destroy(md);
    return 0;
}

/* CreateTopics for the missing ones; marks each CREATED, DENIED or
 * FAILED (or EXISTS when another client was first). */
static void topics_create(struct kafka *k, const char *const *topics, size_t n,
                          int partitions, int replication, int timeout_ms,
                          struct kafka_topic_info *info) {
    rd_kafka_NewTopic_t **nt = calloc(n, sizeof(*nt));
    rd_kafka_AdminOptions_t *ao = NULL;
    rd_kafka_queue_t *q = NULL;
    rd_kafka_event_t *ev = NULL;
    const rd_kafka_CreateTopics_result_t *res;
    const rd_kafka_topic_result_t **tr;
    size_t m = 0, cnt = 0;
    char why[512] = "out of memory";

    if (!nt || !(q = rd_kafka_queue_new(k->prod)) ||
        !(ao = rd_kafka_AdminOptions_new(k->prod, RD_KAFKA_ADMIN_OP_CREATETOPICS)))
        goto out;
    for (size_t i = 0; i < n; i++)
        if (info[i].state == KT_MISSING &&
            !(nt[m++] = rd_kafka_NewTopic_new(topics[i], partitions, replication,
                                              why, sizeof(why))))
            goto out;
    if (m == 0)
        goto out;
    if (rd_kafka_AdminOptions_set_request_timeout(ao, timeout_ms, why, sizeof(why)) ||
        rd_kafka_AdminOptions_set_operation_timeout(ao, timeout_ms, why, sizeof(why)))
        goto out;
    rd_kafka_CreateTopics(k->prod, nt, m, ao, q);
    /* The request times out on its own; the margin covers the lookup of
     * the controller broker. */
    if (!(ev = rd_kafka_queue_poll(q, timeout_ms + 1000))) {
        snprintf(why, sizeof(why), "no answer to CreateTopics within %d ms", timeout_ms);
        goto out;
    }
    if (rd_kafka_event_error(ev)) {
        /* The embedded broker names no controller: CreateTopics times out
         * there (sweep broker creates its topics itself). */
        snprintf(why, sizeof(why), "CreateTopics: %s%s", rd_kafka_event_error_string(ev),
                 rd_kafka_event_error(ev) == RD_KAFKA_RESP_ERR__TIMED_OUT
                     ? " (the cluster is down, or it is the embedded broker, "
                       "which has no Admin API)"
                     : "");
        goto out;
    }
    res = rd_kafka_event_CreateTopics_result(ev);
    tr = res ? rd_kafka_CreateTopics_result_topics(res, &cnt) : NULL;
    for (size_t j = 0; tr && j < cnt; j++) {
        rd_kafka_resp_err_t err = rd_kafka_topic_result_error(tr[j]);
        const char *es = rd_kafka_topic_result_error_string(tr[j]);
        for (size_t i = 0; i < n; i++) {
            if (info[i].state != KT_MISSING ||
                strcmp(topics[i], rd_kafka_topic_result_name(tr[j])))
                continue;
            if (!err) {
                info[i].state = KT_CREATED;
            } else if (err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
                info[i].state = KT_EXISTS;
            } else {
                info[i].state = err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ||
                                        err == RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED
                                    ? KT_DENIED
                                    : KT_FAILED;
                snprintf(info[i].err, sizeof(info[i].err), "%s",
                         es && *es ? es : rd_kafka_err2str(err));
            }
        }
    }
    why[0] = '\0';
out:
    for (size_t i = 0; i < n; i++)
        if (info[i].state == KT_MISSING && why[0]) {
            info[i].state = KT_FAILED;
            snprintf(info[i].err, sizeof(info[i].err), "%.255s", why);
        }
    if (ev)
        rd_kafka_event_destroy(ev);
    for (size_t i = 0; nt && i < m; i++)
        if (nt[i])
            rd_kafka_NewTopic_destroy(nt[i]);
    free(nt);
    if (ao)
        rd_kafka_AdminOptions_destroy(ao);
    if (q)
        rd_kafka_queue_destroy(q);
}

int kafka_topics_check(struct kafka *k, const char *const *topics, size_t n,
                       int partitions, int replication, int create,
                       int timeout_ms, struct kafka_topic_info *info,
                       char *errstr, size_t errstr_size) {
    int64_t deadline = now_ms() + timeout_ms;
    int rc, pending;

    if (n == 0)
        return 0;
    if (partitions < 1 || timeout_ms < 1 || replication == 0 || replication < -1) {
        snprintf(errstr, errstr_size, "kafka: topics: bad arguments");
        return SWEEP_EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        memset(&info[i], 0, sizeof(info[i]));
        snprintf(info[i].name, sizeof(info[i].name), "%s", topics[i]);
    }
    if ((rc = topics_lookup(k, topics, n, info, timeout_ms, errstr, errstr_size)) < 0)
        return rc;
    if (create)
        topics_create(k, topics, n, partitions, replication, ms_left(deadline) + 1, info);
    /* A created topic shows in the metadata a moment later (KRaft
     * answers CreateTopics before every broker knows it), and one that
     * another client created just before us (TOPIC_ALREADY_EXISTS) too. */
    for (;;) {
        struct kafka_topic_info now[TOPIC_CHECK_MAX];
        char e[256];

        pending = 0;
        for (size_t i = 0; i < n; i++)
            pending += (info[i].state == KT_CREATED || info[i].state == KT_EXISTS) &&
                       info[i].partitions == 0;
        if (!pending || n > TOPIC_CHECK_MAX || !ms_left(deadline))
            break;
        sleep_ms(100);
        if (topics_lookup(k, topics, n, now, ms_left(deadline) + 1, e, sizeof(e)) < 0)
            continue;
        for (size_t i = 0; i < n; i++)
            if ((info[i].state == KT_CREATED || info[i].state == KT_EXISTS) &&
                info[i].partitions == 0 && now[i].state == KT_EXISTS) {
                info[i].partitions = now[i].partitions;
                info[i].replicas = now[i].replicas;
            }
    }
    for (size_t i = 0; i < n; i++)
        if (info[i].state != KT_EXISTS && info[i].state != KT_CREATED)
            return SWEEP_ENOENT;
    return 0;
}

int kafka_ensure_topics(struct kafka *k, const char *const *topics, size_t n,
                        int partitions, int timeout_ms, char *errstr,
                        size_t errstr_size) {
    struct kafka_topic_info info[TOPIC_CHECK_MAX];
    int rc;

    if (n > TOPIC_CHECK_MAX) {
        snprintf(errstr, errstr_size, "kafka: more than %d topics", TOPIC_CHECK_MAX);
        return SWEEP_EINVAL;
    }
    rc = kafka_topics_check(k, topics, n, partitions, -1, 1, timeout_ms, info,
                            errstr, errstr_size);
    for (size_t i = 0; rc == SWEEP_ENOENT && i < n; i++)
        if (info[i].state != KT_EXISTS && info[i].state != KT_CREATED) {
            snprintf(errstr, errstr_size, "kafka: cannot create topic '%s': %s",
                     info[i].name, info[i].err);
            return SWEEP_EIO;
        }
    return rc;
}

/* fetch.wait.max.ms by the cluster: librdkafka's mock cluster (`sweep
 * broker`, `sweep local`) names itself "mockCluster..." and answers an
 * empty fetch only when the wait is over; a real broker answers as soon
 * as there is data, so that there a long wait costs no latency and
 * spares the brokers. A cluster that does not answer within TIMEOUT_MS
 * is taken for a real one: the embedded broker always answers at once. */
static void fetch_wait_choose(struct kafka *k, int timeout_ms) {
    int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    char *id, wait[16], why[256];
    int mock;

    /* In short waits: librdkafka waits for a change of its topic cache,
     * which the first metadata, with no topics in it, is not, so that one
     * long wait would last to its end even when the id came at once. */
    while (!(id = rd_kafka_clusterid(k->prod, 0)) && ms_left(deadline) > 0)
        rd_kafka_poll(k->prod, ms_left(deadline) < 20 ? ms_left(deadline) : 20);
    mock = id && !strncmp(id, "mockCluster", 11);

    snprintf(wait, sizeof(wait), "%d",
             mock ? KAFKA_FETCH_WAIT_MOCK : KAFKA_FETCH_WAIT_REAL);
    if (rd_kafka_conf_set(k->cons_conf, "fetch.wait.max.ms", wait, why,
                          sizeof(why)) != RD_KAFKA_CONF_OK)
        LOG(LOG_WARN, "kafka: fetch.wait.max.ms=%s: %s", wait, why);
    LOG(LOG_INFO, "kafka: %s cluster %s: readers wait up to %s ms per fetch "
        "(fetch.wait.max.ms)", mock ? "embedded" : "real", id ? id : "(no answer yet)",
        wait);
    if (id)
        rd_kafka_mem_free(k->prod, id);
}

static int reader_start(struct kafka *k, int timeout_ms, char *errstr,
                        size_t errstr_size) {
    char why[512];

    if (k->cons)
        return 0;
    if (!k->assigned &&
        !(k->assigned = rd_kafka_topic_partition_list_new(16))) {
        snprintf(errstr, errstr_size, "kafka: out of memory");
        return SWEEP_ENOMEM;
    }
    if (k->fetch_wait_auto)
        fetch_wait_choose(k, timeout_ms);
    if (!(k->cons = rd_kafka_new(RD_KAFKA_CONSUMER, k->cons_conf, why,
                                 sizeof(why)))) {
        snprintf(errstr, errstr_size, "kafka: cannot create the reader: %s",
                 why);
        return SWEEP_EIO;
    }
    k->cons_conf = NULL; /* owned by k->cons */
    /* Errors and logs of the consumer come out of the same queue as its
     * messages. */
    rd_kafka_poll_set_consumer(k->cons);
    k->cq = rd_kafka_queue_get_consumer(k->cons);
    queue_wake(k->cq, k->pipefd[1]);
    return 0;
}

/* Partition count of a topic; waits until the deadline for it to exist,
 * or until the cluster refuses our credentials. */
static int topic_partitions(struct kafka *k, const char *topic, int64_t deadline,
                            char *errstr, size_t errstr_size) {
    rd_kafka_t *rk = k->cons;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
    int cnt = 0;

    if (!rkt) {
        snprintf(errstr, errstr_size, "kafka: topic '%s': %s", topic,
                 rd_kafka_err2str(rd_kafka_last_error()));
        return SWEEP_EINVAL;
    }
    for (;;) {
        const struct rd_kafka_metadata *md = NULL;

        /* short asks: between them, the producer says why, if it knows */
        err = rd_kafka_metadata(rk, 0, rkt, &md,
                                ms_left(deadline) < 500 ? ms_left(deadline) + 1 : 500);
        if (!err && md->topic_cnt == 1) {
            err = md->topics[0].err;
            if (!err && md->topics[0].partition_cnt == 0)
                err = RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
            cnt = err ? 0 : md->topics[0].partition_cnt;
        }
        if (md)
            rd_kafka_metadata_destroy(md);
        rd_kafka_poll(k->prod, 0); /* its error_cb says why, if it knows */
        if (cnt > 0 || !ms_left(deadline) || k->refused[0] ||
            err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED)
            break;
        sleep_ms(ms_left(deadline) < 100 ? ms_left(deadline) : 100);
    }
    rd_kafka_topic_destroy(rkt);
    if (cnt > 0)
        return cnt;
    if (k->refused[0]) {
        snprintf(errstr, errstr_size, "kafka: the cluster refuses us: %s (check "
                 "the kafka.sasl.* and kafka.ssl.* settings)", k->refused);
        return SWEEP_EACCES;
    }
    if (err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED) {
        snprintf(errstr, errstr_size, "kafka: topic '%s': not authorized: this "
                 "principal may not read it (its ACLs need Read and Describe on "
                 "the topic; docs/security.md)", topic);
        return SWEEP_EACCES;
    }
    snprintf(errstr, errstr_size,
             "kafka: topic '%s' not available: %s (a cluster that does not "
             "create topics on use needs them created: `sweep init-topics`)",
             topic, rd_kafka_err2str(err));
    return SWEEP_EIO;
}

/* Adds every partition of `topic` at its start position to `add`. */
static int add_topic(struct kafka *k, rd_kafka_topic_partition_list_t *add,
                     const char *topic, int from, int64_t deadline,
                     char *errstr, size_t errstr_size) {
    int cnt = topic_partitions(k, topic, deadline, errstr, errstr_size);

    if (cnt < 0)
        return cnt;
    for (int32_t p = 0; p < cnt; p++) {
        rd_kafka_topic_partition_t *s =
            k->seeks ? rd_kafka_topic_partition_list_find(k->seeks, topic, p)
                     : NULL;
        int64_t off = s ? s->offset : from, lo, hi;

        /* "The end" must be the end now, not when the first fetch happens
         * to resolve it: a worker asks for work right after this returns,
         * and the answer must not land before its starting point. */
        if (off == KAFKA_FROM_END &&
            rd_kafka_query_watermark_offsets(k->cons, topic, p, &lo, &hi,
                                             ms_left(deadline) + 1000) ==
                RD_KAFKA_RESP_ERR_NO_ERROR)
            off = hi;
        rd_kafka_topic_partition_list_add(add, topic, p)->offset = off;
    }
    return 0;
}

int kafka_read(struct kafka *k, const char *const *topics, size_t n, int from,
               int timeout_ms, char *errstr, size_t errstr_size) {
    int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    rd_kafka_topic_partition_list_t *add = NULL;
    rd_kafka_error_t *error;
    int rc;

    if (from != KAFKA_FROM_END && from != KAFKA_FROM_BEGINNING) {
        snprintf(errstr, errstr_size, "kafka: read: bad start position %d",
                 from);
        return SWEEP_EINVAL;
    }
    if ((rc = reader_start(k, ms_left(deadline) < 5000 ? ms_left(deadline) : 5000,
                           errstr, errstr_size)) < 0)
        return rc;
    if (!(add = rd_kafka_topic_partition_list_new((int)n * 4 + 1))) {
        snprintf(errstr, errstr_size, "kafka: out of memory");
        return SWEEP_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        if (rd_kafka_topic_partition_list_find(k->assigned, topics[i], 0) ||
            rd_kafka_topic_partition_list_find(add, topics[i], 0))
            continue; /* already read */
        if ((rc = add_topic(k, add, topics[i], from, deadline, errstr,
                            errstr_size)) < 0)
            goto out;
    }
    /* Incremental: what is read already keeps its position. */
    if (add->cnt > 0 && (error = rd_kafka_incremental_assign(k->cons, add))) {
        snprintf(errstr, errstr_size, "kafka: cannot assign partitions: %s",
                 rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
        rc = SWEEP_EIO;
        goto out;
    }
    for (int i = 0; i < add->cnt; i++)
        rd_kafka_topic_partition_list_add(k->assigned, add->elems[i].topic,
                                          add->elems[i].partition);
    rc = 0;
out:
    rd_kafka_topic_partition_list_destroy(add);
    return rc;
}

int kafka_seek(struct kafka *k, const char *topic, int32_t partition,
               int64_t offset) {
    rd_kafka_topic_partition_list_t *l;
    rd_kafka_topic_partition_t *e;
    rd_kafka_error_t *error;
    rd_kafka_resp_err_t err;

    if (!topic || partition < 0 || offset < KAFKA_FROM_BEGINNING)
        return SWEEP_EINVAL;
    if (!k->assigned ||
        !rd_kafka_topic_partition_list_find(k->assigned, topic, partition)) {
        /* Not read yet: remembered for kafka_read(). */
        if (!k->seeks && !(k->seeks = rd_kafka_topic_partition_list_new(8)))
            return SWEEP_ENOMEM;
        if (!(e = rd_kafka_topic_partition_list_find(k->seeks, topic,
                                                     partition)))
            e = rd_kafka_topic_partition_list_add(k->seeks, topic, partition);
        e->offset = offset;
        return 0;
    }
    if (!(l = rd_kafka_topic_partition_list_new(1)))
        return SWEEP_ENOMEM;
    rd_kafka_topic_partition_list_add(l, topic, partition)->offset = offset;
    error = rd_kafka_seek_partitions(k->cons, l, 5000);
    err = error ? rd_kafka_error_code(error) : l->elems[0].err;
    if (error)
        rd_kafka_error_destroy(error);
    rd_kafka_topic_partition_list_destroy(l);
    if (err) {
        LOG(LOG_ERROR, "kafka: cannot seek '%s' [%d] to %lld: %s", topic,
            (int)partition, (long long)offset, rd_kafka_err2str(err));
        return SWEEP_EIO;
    }
    return 0;
}

int kafka_fd(struct kafka *k) {
    return k->pipefd[0];
}

static void drain_pipe(struct kafka *k) {
    char buf[256];

    while (read(k->pipefd[0], buf, sizeof(buf)) > 0)
        ;
}

/* Errors arrive as messages: none is fatal, librdkafka retries. */
static void skip_error(const rd_kafka_message_t *m) {
    enum log_level l = LOG_WARN;

    switch (m->err) {
    case RD_KAFKA_RESP_ERR__PARTITION_EOF:
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
        l = LOG_DEBUG;
        break;
    default:
        break;
    }
    LOG(l, "kafka: reading '%s' [%d] at offset %lld: %s; skipped",
        m->rkt ? rd_kafka_topic_name(m->rkt) : "", (int)m->partition,
        (long long)m->offset, rd_kafka_message_errstr(m));
}

/* Moves m into out[*n] or skips it when it is an error. */
static void take(struct kafka *k, rd_kafka_message_t *m, struct kmsg *out,
                 size_t *n) {
    struct kmsg *o = &out[*n];

    if (m->err) {
        skip_error(m);
        rd_kafka_message_destroy(m);
        return;
    }
    o->topic = rd_kafka_topic_name(m->rkt);
    o->partition = m->partition;
    o->offset = m->offset;
    o->key = m->key;
    o->key_len = m->key_len;
    o->payload = m->payload;
    o->len = m->len;
    o->sig = NULL;
    o->sig_len = 0;
    {
        rd_kafka_headers_t *h = NULL;
        const void *v;
        size_t vl;

        if (rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR &&
            rd_kafka_header_get_last(h, SIGN_HEADER, &v, &vl) ==
                RD_KAFKA_RESP_ERR_NO_ERROR &&
            v) {
            o->sig = v;
            o->sig_len = vl;
        }
    }
    o->handle_ = m;
    (*n)++;
    k->st.consumed++;
}

size_t kafka_consume(struct kafka *k, struct kmsg *out, size_t max,
                     int timeout_ms) {
    int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    rd_kafka_message_t *batch[KAFKA_BATCH];
    size_t n = 0;

    /* Before reading the queues, so that an event queued meanwhile
     * writes a fresh byte. */
    drain_pipe(k);
    rd_kafka_poll(k->prod, 0);
    if (!k->cons) {
        if (timeout_ms > 0)
            rd_kafka_poll(k->prod, timeout_ms);
        return 0;
    }
    if (max == 0)
        return 0;
    /* rd_kafka_consume_batch_queue() waits for a full batch, so the wait
     * for the first message is a single consume. */
    while (n == 0) {
        rd_kafka_message_t *m =
            rd_kafka_consume_queue(k->cq, ms_left(deadline));

        if (!m)
            return 0;
        take(k, m, out, &n);
        if (n == 0 && !ms_left(deadline))
            return 0;
    }
    while (n < max) {
        size_t want = max - n < KAFKA_BATCH ? max - n : KAFKA_BATCH;
        ssize_t got = rd_kafka_consume_batch_queue(k->cq, 0, batch, want);

        if (got <= 0)
            break;
        for (ssize_t i = 0; i < got; i++)
            take(k, batch[i], out, &n);
    }
    return n;
}

void kafka_msgs_release(struct kmsg *msgs, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (msgs[i].handle_)
            rd_kafka_message_destroy(msgs[i].handle_);
        msgs[i].handle_ = NULL;
    }
}

void kafka_poll(struct kafka *k, int timeout_ms) {
    rd_kafka_poll(k->prod, timeout_ms);
}

int kafka_check(struct kafka *k, int timeout_ms, char *errstr, size_t errstr_size) {
    int64_t deadline = now_ms() + timeout_ms;
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR__TIMED_OUT;

    for (;;) {
        const struct rd_kafka_metadata *md = NULL;
        int left = ms_left(deadline);

        err = rd_kafka_metadata(k->prod, 0, NULL, &md, left < 500 ? left + 1 : 500);
        if (md)
            rd_kafka_metadata_destroy(md);
        rd_kafka_poll(k->prod, 0);
        if (k->refused[0]) {
            snprintf(errstr, errstr_size, "kafka: the cluster refuses us: %s (check "
                     "the kafka.sasl.* and kafka.ssl.* settings)", k->refused);
            return SWEEP_EACCES;
        }
        if (!err)
            return 0;
        if (!ms_left(deadline))
            break;
        sleep_ms(50);
    }
    snprintf(errstr, errstr_size, "kafka: no answer from %s: %s", "the cluster",
             rd_kafka_err2str(err));
    return SWEEP_EIO;
}

enum kafka_backlog kafka_backlog(struct kafka *k) {
    int q = rd_kafka_outq_len(k->prod);

    if (q >= k->slow_at)
        k->slowed = 1;
    else if (q < k->resume_at)
        k->slowed = 0;
    if (!k->slowed)
        return KAFKA_FLOWING;
    /* Nothing delivered for a while with messages waiting: the cluster is
     * away, and waiting for it would hold the sender up for as long. */
    return now_ms() - k->progress_ms > KAFKA_AWAY_MS ? KAFKA_AWAY : KAFKA_BEHIND;
}

void kafka_get_stats(const struct kafka *k, struct kafka_stats *s) {
    *s = k->st;
}

int kafka_prepare(struct kafka *k, const char *const *topics, size_t n,
                  int timeout_ms) {
    int64_t deadline = now_ms() + timeout_ms;
    int rc = 0;

    /* A topic the producer has no metadata for holds its first message
     * until a metadata refresh (about 1 s with librdkafka 2.0.2): ask now. */
    for (size_t i = 0; i < n; i++) {
        rd_kafka_topic_t *t = rd_kafka_topic_new(k->prod, topics[i], NULL);
        const struct rd_kafka_metadata *md = NULL;
        if (!t)
            return SWEEP_EIO;
        if (rd_kafka_metadata(k->prod, 0, t, &md, ms_left(deadline)) != RD_KAFKA_RESP_ERR_NO_ERROR)
            rc = SWEEP_EIO;
        if (md)
            rd_kafka_metadata_destroy(md);
        rd_kafka_topic_destroy(t);
    }
    return rc;
}

int kafka_high_watermark(struct kafka *k, const char *topic,
                         int32_t partition, int64_t *high) {
    int64_t lo = -1, hi = -1;

    if (!k->cons || rd_kafka_get_watermark_offsets(k->cons, topic, partition,
                                                   &lo, &hi) ||
        hi < 0)
        return SWEEP_EINVAL;
    *high = hi;
    return 0;
}

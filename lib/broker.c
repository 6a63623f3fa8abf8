/*
 * broker.c - the embedded Kafka-protocol broker: a one-broker librdkafka
 * mock cluster hosted by an otherwise idle rd_kafka_t. The mock listens on
 * 127.0.0.1 only, on an ephemeral port chosen by the kernel.
 */
#include "broker.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "sweep.h"

#define BROKER_ID 1 /* the mock numbers its brokers from 1 */

struct broker {
    rd_kafka_t *rk;
    rd_kafka_mock_cluster_t *mc;
};

static void broker_log_cb(const rd_kafka_t *rk, int level, const char *fac,
                          const char *buf) {
    enum log_level l = log_level_from_syslog(level);

    /* The host handle has no bootstrap.servers on purpose. */
    if (!strcmp(fac, "CONFWARN") && strstr(buf, "bootstrap.servers"))
        l = LOG_DEBUG;
    LOG(l, "broker %s: %s: %s", rd_kafka_name(rk), fac, buf);
}

struct broker *broker_new(char *errstr, size_t errstr_size) {
    struct broker *b = calloc(1, sizeof(*b));
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char why[512];

    if (!b || !conf) {
        snprintf(errstr, errstr_size, "broker: out of memory");
        goto fail;
    }
    rd_kafka_conf_set_log_cb(conf, broker_log_cb);
    if (rd_kafka_conf_set(conf, "client.id", "sweep-broker", why,
                          sizeof(why)) != RD_KAFKA_CONF_OK) {
        snprintf(errstr, errstr_size, "broker: %s", why);
        goto fail;
    }
    /* The host handle is a producer that never produces: it only owns the
     * mock cluster's thread. */
    if (!(b->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof(why)))) {
        snprintf(errstr, errstr_size,
                 "broker: cannot create the host handle: %s", why);
        goto fail;
    }
    conf = NULL; /* owned by rk now */
    if (!(b->mc = rd_kafka_mock_cluster_new(b->rk, 1))) {
        snprintf(
            errstr, errstr_size,
            "broker: cannot start the mock cluster (no free loopback port?)");
        goto fail;
    }
    LOG(LOG_DEBUG, "broker: mock cluster listening on %s",
        rd_kafka_mock_cluster_bootstraps(b->mc));
    return b;

fail:
    if (conf)
        rd_kafka_conf_destroy(conf);
    broker_free(b);
    return NULL;
}

/*
 * librdkafka 2.0.2's mock thread serves its op queue, then drains its
 * wake-up pipe: an op queued in between (typically right after the reply
 * to the previous op) loses its wake-up and waits for the thread's 1 s
 * poll timeout. Letting the thread finish its loop first avoids that.
 */
static void mock_op_pause(void) {
    struct timespec ts = {0, 1000000};

    nanosleep(&ts, NULL);
}

const char *broker_bootstraps(const struct broker *b) {
    return rd_kafka_mock_cluster_bootstraps(b->mc);
}

int broker_create_topic(struct broker *b, const char *topic, int partitions) {
    rd_kafka_resp_err_t err;

    if (!topic || !*topic || partitions < 1)
        return SWEEP_EINVAL;
    mock_op_pause();
    err = rd_kafka_mock_topic_create(b->mc, topic, partitions, 1);
    if (err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
        return 0;
    if (err) {
        LOG(LOG_ERROR, "broker: cannot create topic '%s' (%d partitions): %s",
            topic, partitions, rd_kafka_err2str(err));
        return SWEEP_EIO;
    }
    return 0;
}

int broker_set_up(struct broker *b, int up) {
    rd_kafka_resp_err_t err;

    mock_op_pause();
    err = up ? rd_kafka_mock_broker_set_up(b->mc, BROKER_ID)
             : rd_kafka_mock_broker_set_down(b->mc, BROKER_ID);
    if (err) {
        LOG(LOG_ERROR, "broker: cannot take the broker %s: %s",
            up ? "up" : "down", rd_kafka_err2str(err));
        return SWEEP_EIO;
    }
    return 0;
}

void broker_free(struct broker *b) {
    if (!b)
        return;
    if (b->mc)
        rd_kafka_mock_cluster_destroy(b->mc);
    if (b->rk)
        rd_kafka_destroy(b->rk);
    free(b);
}

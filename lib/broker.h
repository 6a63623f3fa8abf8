/*
 * broker.h - the embedded Kafka-protocol broker: librdkafka's mock cluster
 * listening on loopback TCP, so that any Kafka client (ours, kcat,
 * kafka-python) can connect to it. Used by `sweep broker`, `sweep local`
 * and the tests.
 *
 * The mock cluster does not implement CreateTopics; topics are created
 * here with rd_kafka_mock_topic_create(). It keeps only the last 5 MiB or
 * 100,000 messages of each partition.
 */
#ifndef SWEEP_BROKER_H
#define SWEEP_BROKER_H

#include <stddef.h>

struct broker;

/* Starts a one-broker mock cluster. NULL with errstr on failure. */
struct broker *broker_new(char *errstr, size_t errstr_size);
/* "127.0.0.1:PORT" (borrowed until broker_free()). */
const char *broker_bootstraps(const struct broker *b);
/* Creates a topic (an existing one is fine, whatever its partition count).
 * Returns 0, SWEEP_EINVAL (empty name, partitions < 1) or SWEEP_EIO. */
int broker_create_topic(struct broker *b, const char *topic, int partitions);
/* Takes the broker down (up = 0: every connection is closed, new ones are
 * refused) or back up, to test how clients ride out an outage. The topics
 * and their messages stay. Returns 0 or SWEEP_EIO. */
int broker_set_up(struct broker *b, int up);
/* Destroys the cluster and its data. NULL is a no-op. */
void broker_free(struct broker *b);

#endif

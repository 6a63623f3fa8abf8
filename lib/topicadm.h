/*
 * topicadm.h - our four topics on a real cluster: missing ones created
 * with the Admin API (partitions and replication factor from the
 * settings), existing ones checked for their partition count, and what is
 * wrong explained with the command an operator with the rights would run.
 * `sweep init-topics` and every controller at start use it.
 */
#ifndef SWEEP_TOPICADM_H
#define SWEEP_TOPICADM_H

#include "kafka.h"
#include "sbuf.h"
#include "topics.h"

struct topicadm_report {
    struct kafka_topic_info info[TOPIC__COUNT];
    int partitions;  /* expected */
    int replication; /* asked for; -1 the broker's default */
    int missing;     /* topics that do not exist after the call */
    int mismatched;  /* topics with another partition count */
};

/* Checks (and when create, creates) the topics of t. Returns 0 when all
 * four exist with `partitions` partitions, SWEEP_ENOENT when some are
 * missing, SWEEP_ERANGE when all exist but some have another partition
 * count (our programs work with any count: a warning), SWEEP_EIO with
 * errstr when the cluster cannot be asked. *r is filled in every case
 * but SWEEP_EIO. */
int topicadm_ensure(struct kafka *k, const struct topics *t, int partitions,
                    int replication, int create, int timeout_ms,
                    struct topicadm_report *r, char *errstr,
                    size_t errstr_size);

/* One line per topic ("sweeps.assign: created, 4 partitions, replication
 * factor 3"), and for each missing or mismatched topic the kafka-topics.sh
 * (and, when denied, kafka-acls.sh) command that fixes it. brokers: the
 * bootstrap list to put in the commands; principal: ours when known (the
 * sasl.username), else NULL. */
void topicadm_describe(const struct topicadm_report *r, const char *brokers,
                       const char *principal, struct sbuf *out);

#endif

/*
 * topics.h - the Kafka topic names, each "<prefix>.<name>" with a
 * configurable prefix (default "sweeps"). schemas/README.md documents
 * what goes on each.
 */
#ifndef SWEEP_TOPICS_H
#define SWEEP_TOPICS_H

#define TOPIC_PREFIX_DEFAULT "sweeps"
#define TOPIC_PARTITIONS_DEFAULT 4

enum topic_id {
    TOPIC_CONTROL, /* sweep control: CLI -> controller */
    TOPIC_ASSIGN,  /* run assignments and run commands -> workers */
    TOPIC_EVENTS,  /* run lifecycle and worker status -> controller */
    TOPIC_METRICS, /* metric events -> controller and pipelines */
    TOPIC__COUNT
};

struct topics {
    char names[TOPIC__COUNT][128];
};

/* Fills the names for a prefix (NULL: the default). */
void topics_init(struct topics *t, const char *prefix);

#endif

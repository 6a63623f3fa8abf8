/* topics.c - topic names from the prefix. */
#include "topics.h"

#include <stdio.h>

void topics_init(struct topics *t, const char *prefix) {
    static const char *const suffix[TOPIC__COUNT] = {"control", "assign",
                                                     "events", "metrics"};

    if (!prefix || !*prefix)
        prefix = TOPIC_PREFIX_DEFAULT;
    for (int i = 0; i < TOPIC__COUNT; i++)
        snprintf(t->names[i], sizeof(t->names[i]), "%.100s.%s", prefix,
                 suffix[i]);
}

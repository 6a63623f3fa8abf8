/* topicadm.c - creating and checking our topics (see topicadm.h). */
#include "topicadm.h"

#include <stdio.h>
#include <string.h>

#include "sweep.h"

int topicadm_ensure(struct kafka *k, const struct topics *t, int partitions,
                    int replication, int create, int timeout_ms,
                    struct topicadm_report *r, char *errstr,
                    size_t errstr_size) {
    const char *names[TOPIC__COUNT];
    int rc;

    memset(r, 0, sizeof(*r));
    r->partitions = partitions;
    r->replication = replication;
    for (int i = 0; i < TOPIC__COUNT; i++)
        names[i] = t->names[i];
    rc = kafka_topics_check(k, names, TOPIC__COUNT, partitions, replication,
                            create, timeout_ms, r->info, errstr, errstr_size);
    if (rc < 0 && rc != SWEEP_ENOENT)
        return rc;
    for (int i = 0; i < TOPIC__COUNT; i++) {
        const struct kafka_topic_info *in = &r->info[i];
        if (in->state != KT_EXISTS && in->state != KT_CREATED)
            r->missing++;
        else if (in->partitions && in->partitions != partitions)
            r->mismatched++;
    }
    return r->missing ? SWEEP_ENOENT : r->mismatched ? SWEEP_ERANGE : 0;
}

static void create_cmd(struct sbuf *out, const char *brokers, const char *topic,
                       int partitions, int replication) {
    sbuf_addf(out, "    kafka-topics.sh --bootstrap-server %s --create --topic %s "
                   "--partitions %d",
              brokers, topic, partitions);
    if (replication > 0)
        sbuf_addf(out, " --replication-factor %d", replication);
    sbuf_adds(out, "\n");
}

void topicadm_describe(const struct topicadm_report *r, const char *brokers,
                       const char *principal, struct sbuf *out) {
    int denied = 0;

    for (int i = 0; i < TOPIC__COUNT; i++) {
        const struct kafka_topic_info *in = &r->info[i];

        switch (in->state) {
        case KT_EXISTS:
        case KT_CREATED:
            sbuf_addf(out, "%s: %s, %d partition%s, replication factor %d\n", in->name,
                      in->state == KT_CREATED ? "created" : "exists", in->partitions,
                      in->partitions == 1 ? "" : "s", in->replicas);
            if (in->partitions && in->partitions < r->partitions) {
                sbuf_addf(out, "  it has fewer partitions than topic_partitions %d; "
                               "to add them:\n",
                          r->partitions);
                sbuf_addf(out, "    kafka-topics.sh --bootstrap-server %s --alter "
                               "--topic %s --partitions %d\n",
                          brokers, in->name, r->partitions);
            } else if (in->partitions > r->partitions) {
                sbuf_addf(out, "  it has more partitions than topic_partitions %d "
                               "(partitions cannot be removed): set topic_partitions "
                               "%d to silence this\n",
                          r->partitions, in->partitions);
            }
            break;
        case KT_MISSING:
            sbuf_addf(out, "%s: missing; to create it:\n", in->name);
            create_cmd(out, brokers, in->name, r->partitions, r->replication);
            break;
        case KT_DENIED:
            denied = 1;
            sbuf_addf(out, "%s: missing, and this principal may not create it (%s); "
                           "an operator would run:\n",
                      in->name, in->err);
            create_cmd(out, brokers, in->name, r->partitions, r->replication);
            break;
        case KT_FAILED:
            sbuf_addf(out, "%s: missing; creating it failed: %s; to create it:\n",
                      in->name, in->err);
            create_cmd(out, brokers, in->name, r->partitions, r->replication);
            break;
        }
    }
    if (denied)
        sbuf_addf(out, "or let %s%s create topics:\n"
                       "    kafka-acls.sh --bootstrap-server %s --add "
                       "--allow-principal %s%s --operation Create --cluster\n",
                  principal ? "User:" : "this principal", principal ? principal : "",
                  brokers, principal ? "User:" : "User:", principal ? principal : "NAME");
}

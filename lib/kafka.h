/*
 * kafka.h - our Kafka client on librdkafka: one producer and one reader per
 * program, tuned for low latency (linger.ms=0, small fetch.wait.max.ms).
 *
 * The reader uses no consumer group: it is assigned every partition of its
 * topics by hand. Group joins take seconds and a member joining a live
 * group can take minutes with the embedded broker, so nothing here churns
 * group membership; who acts on a message is decided by its content (the
 * worker id it is addressed to, the sweep a controller leads).
 */
#ifndef SWEEP_KAFKA_H
#define SWEEP_KAFKA_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define KAFKA_FROM_END (-1)
#define KAFKA_FROM_BEGINNING (-2)

struct kafka_opts {
    const char *brokers;      /* bootstrap list "host:port,..." */
    const char *client_id;    /* shown in broker logs; NULL: "sweep" */
    const char *const *props; /* "key=value" librdkafka properties passed
                                 unchanged (TLS, SASL...), applied last */
    size_t nprops;
    /* fetch.wait.max.ms; 0: chosen by the cluster (kafka_read() asks
     * for its id): KAFKA_FETCH_WAIT_MOCK on the embedded broker, which
     * answers an empty fetch only after this wait, so that there it
     * bounds read latency (p50 1.2 / 3.4 / 8.4 ms for 1 / 5 / 10), and
     * KAFKA_FETCH_WAIT_REAL on a real one, which answers as soon as data
     * arrives: a short wait there only makes every reader ask each
     * broker hundreds of times a second. A kafka.fetch.wait.max.ms
     * property wins over both. */
    int fetch_wait_ms;
};

#define KAFKA_FETCH_WAIT_MOCK 5
#define KAFKA_FETCH_WAIT_REAL 500

struct kmsg {
    const char *topic; /* borrowed until kafka_msgs_release() */
    int32_t partition;
    int64_t offset;
    const void *key;
    size_t key_len;
    const void *payload;
    size_t len;
    /* The value of the "sweep-sig" header (sign.h), or NULL when the
     * message has none; borrowed like the payload. */
    const void *sig;
    size_t sig_len;
    void *handle_; /* the rd_kafka_message_t */
};

struct kafka;

/* Creates the producer (and, lazily, the reader). NULL with errstr when a
 * property is invalid. Connection failures are retried in the background
 * with backoff by librdkafka; they are logged, never fatal. */
struct kafka *kafka_new(const struct kafka_opts *o, char *errstr,
                        size_t errstr_size);
/* Flushes pending messages (up to 5 s; the rest are dropped and
 * logged), then frees. Release every message from kafka_consume() first.
 * NULL is a no-op. */
void kafka_free(struct kafka *k);

/* Queues one message (copied). key may be NULL. Returns 0, or
 * SWEEP_EIO when the local queue is full even after serving delivery
 * reports for 2 s. The producer is idempotent with acks=all: retries
 * after a broker failure keep each key's messages in order and write
 * none twice. */
int kafka_produce(struct kafka *k, const char *topic, const char *key,
                  const void *val, size_t len);
/* The same with a "sweep-sig" header holding sig (a NUL-terminated text,
 * copied); sig NULL: no header. */
int kafka_produce_signed(struct kafka *k, const char *topic, const char *key,
                         const void *val, size_t len, const char *sig);
/* KAFKA_DROPPABLE: the message may be dropped rather than wait when the
 * local queue is 90% full (the cluster is away): SWEEP_EFULL at once,
 * keeping the rest of the queue for messages that must not be dropped. */
#define KAFKA_DROPPABLE 1
int kafka_produce_opt(struct kafka *k, const char *topic, const char *key,
                      const void *val, size_t len, const char *sig, int flags);
/* Fetches the producer's metadata for the topics it will write, so the
 * first message to each is not held for a metadata refresh (about 1 s).
 * Returns 0 or SWEEP_EIO (harmless: the first message is just slower). */
int kafka_prepare(struct kafka *k, const char *const *topics, size_t n,
                  int timeout_ms);

/* Waits until every queued message is delivered or timeout_ms passes;
 * returns 0 or SWEEP_EIO. */
int kafka_flush(struct kafka *k, int timeout_ms);
/* The same at exit: logs how many wait when it takes more than a second,
 * and how many are left (and will be dropped) at the end. */
int kafka_flush_wait(struct kafka *k, int timeout_ms);

/* What kafka_topics_check() found of one topic. */
enum kafka_topic_state {
    KT_EXISTS,  /* there already */
    KT_CREATED, /* created now */
    KT_MISSING, /* not there (and not asked to create it) */
    KT_DENIED,  /* not there, and we may not create it (ACLs) */
    KT_FAILED   /* not there: creating it failed for another reason */
};
#define TOPIC_CHECK_MAX 16
struct kafka_topic_info {
    char name[128];
    enum kafka_topic_state state;
    int partitions, replicas; /* as the cluster has it; 0 unknown */
    char err[256];            /* DENIED, FAILED: why */
};

/* Looks the topics up in the cluster's metadata and, when create, creates
 * the missing ones (Admin API) with `partitions` and `replication` (-1:
 * the broker's default.replication.factor), then waits for them to show.
 * info[i] tells what happened to topics[i] (n <= TOPIC_CHECK_MAX for the
 * wait). Returns 0 when every topic exists now, SWEEP_ENOENT when some do
 * not (see info), SWEEP_EIO with errstr when the cluster cannot be asked,
 * SWEEP_EINVAL. The embedded broker has no Admin API: creating fails
 * there after timeout_ms (it makes its topics itself). */
int kafka_topics_check(struct kafka *k, const char *const *topics, size_t n,
                       int partitions, int replication, int create,
                       int timeout_ms, struct kafka_topic_info *info,
                       char *errstr, size_t errstr_size);

/* kafka_topics_check() with create and the broker's replication factor:
 * 0, or SWEEP_EIO with errstr naming the first topic that is missing. */
int kafka_ensure_topics(struct kafka *k, const char *const *topics, size_t n,
                        int partitions, int timeout_ms, char *errstr,
                        size_t errstr_size);

/* Starts reading every partition of the topics, from `from`
 * (KAFKA_FROM_END or KAFKA_FROM_BEGINNING) unless kafka_seek() set a
 * position for a partition before. Waits up to timeout_ms for the topics'
 * metadata. May be called again with more topics: those already read keep
 * their position. Partitions added to a topic later are not read.
 * Returns 0, SWEEP_EINVAL or SWEEP_EIO with errstr. (The embedded broker
 * creates an unknown topic, with 4 partitions, when asked about it.) */
int kafka_read(struct kafka *k, const char *const *topics, size_t n, int from,
               int timeout_ms, char *errstr, size_t errstr_size);
/* Sets where reading of one partition starts (before kafka_read()) or
 * continues (after; messages already fetched from before are dropped).
 * offset >= 0, KAFKA_FROM_END or KAFKA_FROM_BEGINNING; a position the
 * broker no longer keeps resumes at its oldest message. Returns 0,
 * SWEEP_EINVAL or SWEEP_EIO. */
int kafka_seek(struct kafka *k, const char *topic, int32_t partition,
               int64_t offset);

/* A file descriptor that becomes readable when messages may be waiting,
 * for poll(); drain with kafka_consume(..., 0) until it returns 0. */
int kafka_fd(struct kafka *k);
/* Up to max messages, waiting up to timeout_ms for the first; returns the
 * count (0 on timeout). Release them with kafka_msgs_release(). Also
 * serves the producer's delivery reports. */
size_t kafka_consume(struct kafka *k, struct kmsg *out, size_t max,
                     int timeout_ms);
void kafka_msgs_release(struct kmsg *msgs, size_t n);

/* Serves delivery reports and logs without reading messages. */
void kafka_poll(struct kafka *k, int timeout_ms);

/* Asks the cluster for its brokers until it answers (0), refuses our
 * credentials or certificates (SWEEP_EACCES, with librdkafka's reason:
 * waiting will not help) or timeout_ms passes (SWEEP_EIO: it may come
 * back). */
int kafka_check(struct kafka *k, int timeout_ms, char *errstr, size_t errstr_size);

/* How the producer keeps up. Over half of its local queue waiting, it is
 * BEHIND while deliveries go on (a sender that can should slow down: the
 * worker stops reading its program's output until the queue is back
 * under a quarter, so nothing is lost), or AWAY when nothing was
 * delivered for 2 s (the cluster is down: waiting would hold the program
 * up for as long, so the worker reads on and droppable messages are
 * dropped once the queue is 90% full). */
enum kafka_backlog { KAFKA_FLOWING, KAFKA_BEHIND, KAFKA_AWAY };
enum kafka_backlog kafka_backlog(struct kafka *k);

/* Counters since kafka_new(). */
struct kafka_stats {
    uint64_t produced, delivered, delivery_errors, consumed;
};
void kafka_get_stats(const struct kafka *k, struct kafka_stats *s);

/* The consumer's cached high watermark of topic [partition] (the offset
 * of the next message to be written), as the last fetch reported it; no
 * request is made. SWEEP_EINVAL before kafka_read() or while unknown. */
int kafka_high_watermark(struct kafka *k, const char *topic,
                         int32_t partition, int64_t *high);

#endif

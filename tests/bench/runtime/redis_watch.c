/* redis_watch.c - watches a run's metric history in Redis from outside,
 * for the ingest benchmark (hiredis, loopback).
 *
 *   redis_watch count PORT SWEEP N TIMEOUT_MS
 *       Finds the sweep's first run, then polls LLEN of its history every
 *       millisecond. Prints "first_us U" (epoch microseconds when the
 *       list first had an entry), "done_us U" (when it reached N, else 0),
 *       "last_us U" (its last change) and "len L". Gives up after 20 s
 *       without a new entry.
 *   redis_watch lat PORT SWEEP N TIMEOUT_MS
 *       Subscribes to keyspace notifications of the sweep's histories (no
 *       polling: each RPUSH is seen within microseconds) and, for each new
 *       entry, prints "lat_us D": the time it was seen minus its "t"
 *       metric (the program's print time, epoch microseconds).
 *
 * Both print "ready" once watching, and stop after N entries or
 * TIMEOUT_MS. Exit 0 when N entries were seen, 1 otherwise.
 */
#include <hiredis.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* count: give up after this long without a new entry */
#define STALL_US (20LL * 1000000)

static long long epoch_us(void) {
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void nap_us(long us) {
    struct timespec ts = {0, us * 1000};

    nanosleep(&ts, NULL);
}

static redisContext *conn(int port) {
    redisContext *c = redisConnect("127.0.0.1", port);

    if (!c || c->err) {
        fprintf(stderr, "redis_watch: cannot connect to %d: %s\n", port,
                c ? c->errstr : "out of memory");
        exit(2);
    }
    return c;
}

static int watch_count(int port, const char *sweep, long n, long long deadline) {
    redisContext *c = conn(port);
    long long first = 0, done = 0, len = 0, last = 0;
    char key[512] = "";

    printf("ready\n");
    fflush(stdout);
    while (epoch_us() < deadline && !key[0]) {
        redisReply *r = redisCommand(c, "ZRANGE sw:s:%s:runs 0 0", sweep);
        if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 1)
            snprintf(key, sizeof(key), "sw:r:%s:%s:hist", sweep, r->element[0]->str);
        freeReplyObject(r);
        if (!key[0])
            nap_us(1000);
    }
    long long last_change = epoch_us(), last_len = -1;
    while (key[0] && epoch_us() < deadline) {
        redisReply *r = redisCommand(c, "LLEN %s", key);
        long long now = epoch_us();
        if (r && r->type == REDIS_REPLY_INTEGER)
            len = r->integer;
        freeReplyObject(r);
        if (len != last_len) {
            last_len = len;
            last_change = now;
            last = now;
        } else if (now - last_change > STALL_US) {
            break; /* no progress: it will not get there */
        }
        if (len > 0 && !first)
            first = now;
        if (len >= n) {
            done = now;
            break;
        }
        nap_us(1000);
    }
    printf("first_us %lld\ndone_us %lld\nlast_us %lld\nlen %lld\n", first, done, last,
           len);
    redisFree(c);
    return done ? 0 : 1;
}

/* The "t" metric of a history entry, or -1. */
static long long entry_t(const char *json) {
    const char *p = strstr(json, "\"t\": ");

    return p ? (long long)strtod(p + 5, NULL) : -1;
}

static int watch_lat(int port, const char *sweep, long n, long long deadline) {
    redisContext *sub = conn(port), *c = conn(port);
    redisReply *r;
    long seen = 0;

    r = redisCommand(c, "CONFIG SET notify-keyspace-events Kl");
    freeReplyObject(r);
    r = redisCommand(sub, "PSUBSCRIBE __keyspace@0__:sw:r:%s:*:hist", sweep);
    freeReplyObject(r);
    printf("ready\n");
    fflush(stdout);
    while (seen < n && epoch_us() < deadline) {
        void *reply = NULL;
        struct pollfd p = {sub->fd, POLLIN, 0};
        if (redisReaderGetReply(sub->reader, &reply) != REDIS_OK)
            break;
        if (!reply) {
            if (poll(&p, 1, 100) > 0 && redisBufferRead(sub) != REDIS_OK)
                break;
            continue;
        }
        r = reply;
        /* pmessage, pattern, channel, event */
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 4 &&
            !strcmp(r->element[3]->str, "rpush")) {
            long long now = epoch_us();
            const char *key = strchr(r->element[2]->str, ':') + 1;
            redisReply *e = redisCommand(c, "LRANGE %s %ld -1", key, seen);
            for (size_t i = 0; e && e->type == REDIS_REPLY_ARRAY && i < e->elements; i++) {
                long long t = entry_t(e->element[i]->str);
                if (t > 0)
                    printf("lat_us %lld\n", now - t);
                seen++;
            }
            freeReplyObject(e);
        }
        freeReplyObject(r);
    }
    r = redisCommand(c, "CONFIG SET notify-keyspace-events \"\"");
    freeReplyObject(r);
    printf("seen %ld\n", seen);
    redisFree(sub);
    redisFree(c);
    return seen >= n ? 0 : 1;
}

int main(int argc, char **argv) {
    long long deadline;

    if (argc != 6) {
        fprintf(stderr, "usage: redis_watch count|lat PORT SWEEP N TIMEOUT_MS\n");
        return 2;
    }
    deadline = epoch_us() + atoll(argv[5]) * 1000;
    if (!strcmp(argv[1], "count"))
        return watch_count(atoi(argv[2]), argv[3], atol(argv[4]), deadline);
    if (!strcmp(argv[1], "lat"))
        return watch_lat(atoi(argv[2]), argv[3], atol(argv[4]), deadline);
    return 2;
}

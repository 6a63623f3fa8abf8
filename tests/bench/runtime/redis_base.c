/* redis_base.c - the ingest benchmark's baselines, on a private Redis.
 *
 *   redis_base raw PORT N BATCH
 *       The raw rate of Redis itself: N pipelined RPUSH (a history entry
 *       like the controller's) + HSET (the summary) from one client,
 *       BATCH events per round trip.
 *   redis_base store PORT N BATCH
 *       The controller's Redis step alone: N metric events through
 *       store_apply_metrics() (the fenced Lua script, EVALSHA pipelined),
 *       BATCH per call, as the controller applies them (no Kafka).
 *
 * prints: "events N seconds S"
 */
#include <hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "msg.h"
#include "store.h"

static double now_s(void) {
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int base_raw(int port, long n, long batch) {
    redisContext *c = redisConnect("127.0.0.1", port);
    double t0;

    if (!c || c->err)
        return 1;
    freeReplyObject(redisCommand(c, "DEL bench:hist bench:sum"));
    t0 = now_s();
    for (long done = 0; done < n; done += batch) {
        long m = n - done < batch ? n - done : batch;
        for (long i = done; i < done + m; i++) {
            char json[160], v[32];
            snprintf(json, sizeof(json),
                     "{\"_step\": %ld, \"_timestamp\": %lld, \"i\": %ld, \"loss\": %.17g}", i,
                     1764280000000LL + i, i, 1.0 / (double)(i + 1));
            snprintf(v, sizeof(v), "%.17g", 1.0 / (double)(i + 1));
            redisAppendCommand(c, "RPUSH bench:hist %s", json);
            redisAppendCommand(c, "HSET bench:sum i %ld loss %s", i, v);
        }
        for (long i = 0; i < 2 * m; i++) {
            void *r = NULL;
            if (redisGetReply(c, &r) != REDIS_OK)
                return 1;
            freeReplyObject(r);
        }
    }
    printf("events %ld seconds %.6f\n", n, now_s() - t0);
    freeReplyObject(redisCommand(c, "DEL bench:hist bench:sum"));
    redisFree(c);
    return 0;
}

static int base_store(int port, long n, long batch) {
    char url[64], err[256];
    struct store *s;
    struct store_sweep_new sw = {.id = "benchbase", .config_json = "{}",
                                 .method = "random", .now_ms = 1};
    struct store_run_new rn = {.sweep_id = "benchbase", .run_id = "r1",
                               .params_json = "{}", .grid_index = -1,
                               .worker_id = "w", .now_ms = 1};
    struct msg_metric_event *ev = calloc((size_t)batch, sizeof(*ev));
    const struct msg_metric_event **evp = calloc((size_t)batch, sizeof(*evp));
    int *res = calloc((size_t)batch, sizeof(*res));
    char *names[2] = {"i", "loss"};
    double (*vals)[2] = calloc((size_t)batch, sizeof(*vals));
    int64_t tok = 0;
    double t0;

    snprintf(url, sizeof(url), "redis://127.0.0.1:%d/1", port);
    if (!ev || !evp || !res || !vals || !(s = store_connect(url, 1000, err, sizeof(err)))) {
        fprintf(stderr, "redis_base: %s\n", err);
        return 1;
    }
    if (store_lease_acquire(s, "bench", 60000, &tok) != 1 ||
        store_sweep_create(s, &sw) < 0 || store_run_create(s, tok, &rn) != STORE_OK) {
        fprintf(stderr, "redis_base: setup: %s\n", store_errstr(s));
        return 1;
    }
    t0 = now_s();
    for (long done = 0; done < n; done += batch) {
        long m = n - done < batch ? n - done : batch;
        for (long k = 0; k < m; k++) {
            long i = done + k;
            struct msg_metric_event *e = &ev[k];
            e->r.sweep_id = "benchbase";
            e->r.run_id = "r1";
            e->r.worker_id = "w";
            e->r.attempt = 1;
            e->r.seq = i + 1;
            e->r.ts_ms = 1764280000000LL + i;
            e->has_step = 1;
            e->step = i;
            vals[k][0] = (double)i;
            vals[k][1] = 1.0 / (double)(i + 1);
            e->n = 2;
            e->names = names;
            e->values = vals[k];
            evp[k] = e;
        }
        if (store_apply_metrics(s, tok, evp, NULL, (size_t)m, res, NULL) < 0)
            return 1;
    }
    printf("events %ld seconds %.6f\n", n, now_s() - t0);
    store_free(s);
    {
        redisContext *c = redisConnect("127.0.0.1", port);
        if (c && !c->err) {
            freeReplyObject(redisCommand(c, "SELECT 1"));
            freeReplyObject(redisCommand(c, "FLUSHDB"));
        }
        redisFree(c);
    }
    free(ev);
    free(evp);
    free(res);
    free(vals);
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: redis_base raw|store PORT N BATCH\n");
        return 2;
    }
    log_init("redis_base", LOG_ERROR);
    if (!strcmp(argv[1], "raw"))
        return base_raw(atoi(argv[2]), atol(argv[3]), atol(argv[4]));
    if (!strcmp(argv[1], "store"))
        return base_store(atoi(argv[2]), atol(argv[3]), atol(argv[4]));
    return 2;
}

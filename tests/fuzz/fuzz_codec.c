/*
 * fuzz_codec.c - libFuzzer target for the message decoders: every Kafka
 * message a worker or the controller reads goes through codec_decode()
 * (Avro in the Confluent framing) or codec_decode_metric_json() (the JSON
 * metrics form), and anyone can write to those topics.
 *
 * Besides crashes, leaks and hangs it checks their contract: a refusal
 * says why, and whatever decodes encodes again, decodes again, and then
 * encodes to the same bytes (Avro and JSON alike), so what a decoder
 * accepts is a message our own side can write.
 *
 * Linked with replay.c instead of libFuzzer it replays tests/fuzz/codec
 * under the normal (or asan) build.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "fuzz.h"
#include "msg.h"

const char *const fuzz_replay_paths[] = {"tests/fuzz/codec", NULL};

static struct codec *C;

/* At exit, so that the leak check at the end sees only real leaks. */
static void fuzz_codec_free(void) {
    codec_free(C);
    C = NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    char err[256];

    (void)argc;
    (void)argv;
    C = codec_new(err, sizeof(err));
    if (!C) {
        fprintf(stderr, "fuzz_codec: codec_new: %s\n", err);
        abort();
    }
    atexit(fuzz_codec_free);
    return 0;
}

/* m (decoded) encodes, the bytes decode, and encode to the same bytes. */
static void fuzz_avro_again(const struct msg *m) {
    void *b1 = NULL, *b2 = NULL;
    size_t n1 = 0, n2 = 0;
    struct msg m2;
    char err[256] = "";

    FUZZ_CHECK(codec_encode(C, m, &b1, &n1) == 0);
    FUZZ_CHECK(codec_decode(C, b1, n1, &m2, err, sizeof(err)) == 0);
    FUZZ_CHECK(m2.kind == m->kind);
    FUZZ_CHECK(codec_encode(C, &m2, &b2, &n2) == 0);
    FUZZ_CHECK(n1 == n2 && memcmp(b1, b2, n1) == 0);
    msg_release(&m2);
    free(b1);
    free(b2);
}

/* The same for the JSON form of a metric event. */
static void fuzz_json_again(const struct msg_metric_event *e) {
    char *t1 = codec_metric_json(e), *t2 = NULL, err[256] = "";
    struct msg m2;

    FUZZ_CHECK(t1 != NULL);
    FUZZ_CHECK(codec_decode_metric_json(t1, strlen(t1), &m2, err,
                                        sizeof(err)) == 0);
    FUZZ_CHECK(m2.kind == MSG_METRIC_EVENT);
    t2 = codec_metric_json(&m2.u.metric);
    FUZZ_CHECK(t2 != NULL && strcmp(t1, t2) == 0);
    msg_release(&m2);
    free(t1);
    free(t2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct msg m;
    char err[256] = "";

    if (codec_decode(C, data, size, &m, err, sizeof(err)) == 0) {
        FUZZ_CHECK(m.kind > MSG_NONE && m.kind < MSG__KIND_COUNT);
        fuzz_avro_again(&m);
        if (m.kind == MSG_METRIC_EVENT)
            fuzz_json_again(&m.u.metric);
        msg_release(&m);
    } else {
        FUZZ_CHECK(err[0] != '\0');
    }
    err[0] = '\0';
    if (codec_decode_metric_json(data, size, &m, err, sizeof(err)) == 0) {
        FUZZ_CHECK(m.kind == MSG_METRIC_EVENT);
        fuzz_json_again(&m.u.metric);
        fuzz_avro_again(&m);
        msg_release(&m);
    } else {
        FUZZ_CHECK(err[0] != '\0');
    }
    return 0;
}

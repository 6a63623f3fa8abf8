/*
 * codec.h - messages to and from bytes: Avro binary (Avro-C) framed in the
 * Confluent wire format (magic byte 0, 4-byte big-endian schema id, Avro
 * body), so that existing Kafka pipelines read them; optionally JSON for
 * the metrics topic.
 *
 * Decoders never trust input: truncated, garbage or wrong-schema bytes give
 * SWEEP_EPARSE with a reason, never a crash.
 */
#ifndef SWEEP_CODEC_H
#define SWEEP_CODEC_H

#include <stddef.h>

#include "msg.h"

struct codec;

/* Parses the embedded schemas (schemas/NAME.avsc, compiled in). NULL with
 * errstr on failure. */
struct codec *codec_new(char *errstr, size_t errstr_size);
void codec_free(struct codec *c);

/* Encodes m; *out is malloc'd (caller frees), *len its length. Returns 0,
 * SWEEP_EINVAL (a required field is NULL) or SWEEP_ENOMEM. */
int codec_encode(struct codec *c, const struct msg *m, void **out,
                 size_t *len);

/* Decodes buf into *m (release with msg_release()). Returns 0 or
 * SWEEP_EPARSE with errstr saying what is wrong ("truncated", "unknown
 * schema id 9", "magic byte 0x7b is not 0"...). */
int codec_decode(struct codec *c, const void *buf, size_t len, struct msg *m,
                 char *errstr, size_t errstr_size);

/* The metric event as one JSON object (for pipelines that want JSON):
 * {"sweep_id":..,"run_id":..,"attempt":..,"worker_id":..,"seq":..,
 *  "ts_ms":..,"step":..|null,"metrics":{"loss":0.3,...}}; non-finite
 * values as null. Caller frees; NULL on allocation failure. */
char *codec_metric_json(const struct msg_metric_event *e);

/* Decodes the JSON form of codec_metric_json() (values null mean NaN).
 * Returns 0 or SWEEP_EPARSE with errstr; release *m with msg_release(). */
int codec_decode_metric_json(const void *buf, size_t len, struct msg *m,
                             char *errstr, size_t errstr_size);

/* The schema text of a kind (static), or NULL. */
const char *codec_schema_text(enum msg_kind k);

#endif

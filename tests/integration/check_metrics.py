#!/usr/bin/python3
"""check_metrics.py - the metrics topic read from outside, for test_runtime.sh.

Runs under Debian's /usr/bin/python3 with python3-kafka and python3-avro
(schemas/README.md: Confluent framing, schema id 4 = sweep.MetricEvent).

  check_metrics.py read BROKERS TOPIC SCHEMA_DIR PRINTED_DIR SWEEP_ID
      Reads every partition of TOPIC from the beginning to the end offsets
      taken at start, strips the 5-byte header (magic 0, big-endian id 4),
      decodes each value with metric_event.avsc to the last byte, and
      compares with what the programs printed: PRINTED_DIR/*.jsonl, one
      {"run", "attempt", "channel", "step", "metrics"} object per metric
      line (tests/integration/programs/metrics.py writes them). Checks the
      count, the sweep id, the key (= run id), per run and attempt the
      multiset of metric maps (NaN equal to NaN) and the given _step
      values, that a run's events share one partition and that seq
      counts 1..n per run and attempt in topic order. Exit 0 when all
      hold; one line per problem otherwise.

  check_metrics.py garbage SCHEMA_DIR OUT_DIR
      Writes the messages the garbage scenario sends to every topic, one
      file per message under OUT_DIR/<control|assign|events|metrics>/:
      random bytes, a JSON object, the header alone, a valid record of the
      topic's kind truncated, the same with a byte left over, an unknown
      schema id, a wrong magic byte. None of them may decode. (kcat sends
      no message for an empty file: the test sends the empty and the NULL
      value from stdin.)

  check_metrics.py replay BROKERS TOPIC
      Sends every message of TOPIC again, byte for byte, with its key, to
      its partition: what a producer retry after a lost acknowledgement
      does (Kafka delivers at least once). Prints how many it sent.
"""
import io
import json
import math
import os
import struct
import sys
import time
from collections import Counter

KINDS = ["sweep_control", "run_assignment", "run_lifecycle", "metric_event",
         "run_command", "worker_status"]


def load_schema(schema_dir, kind):
    import avro.schema
    with open(os.path.join(schema_dir, kind + ".avsc")) as f:
        return avro.schema.parse(f.read())


def decode(schema, value):
    """The record in value (Confluent framed), or raises ValueError."""
    import avro.io
    if value is None or len(value) < 5:
        raise ValueError("shorter than the 5-byte header: %r" % (value,))
    magic, sid = struct.unpack(">bI", value[:5])
    if magic != 0 or sid != 4:
        raise ValueError("header magic %d schema id %d, want 0 and 4" % (magic, sid))
    bio = io.BytesIO(value[5:])
    rec = avro.io.DatumReader(schema).read(avro.io.BinaryDecoder(bio))
    if bio.tell() != len(value) - 5:
        raise ValueError("%d bytes left after the record" % (len(value) - 5 - bio.tell()))
    return rec


def assign_all(c, topic, secs=20):
    """Assigns consumer c every partition of topic (waiting up to secs
    for its metadata); the TopicPartitions."""
    from kafka import TopicPartition
    deadline = time.time() + secs
    parts = None
    while time.time() < deadline:
        parts = c.partitions_for_topic(topic)
        if parts:
            break
        time.sleep(0.2)
    if not parts:
        raise SystemExit("topic %s has no partitions" % topic)
    tps = [TopicPartition(topic, p) for p in sorted(parts)]
    c.assign(tps)
    return tps


def read_topic(brokers, topic, headers=False):
    """Every (partition, offset, key, value) of every partition, up to the
    end offsets; with headers, each tuple ends with the message's
    headers (a list of (name, bytes))."""
    from kafka import KafkaConsumer, TopicPartition
    c = KafkaConsumer(bootstrap_servers=brokers, group_id=None,
                      enable_auto_commit=False, consumer_timeout_ms=1000,
                      api_version_auto_timeout_ms=10000)
    deadline = time.time() + 20
    tps = assign_all(c, topic)
    c.seek_to_beginning()
    end = c.end_offsets(tps)
    out = []
    while time.time() < deadline:
        if all(c.position(tp) >= end[tp] for tp in tps):
            break
        for recs in c.poll(timeout_ms=500).values():
            for m in recs:
                if m.offset < end[TopicPartition(m.topic, m.partition)]:
                    out.append((m.partition, m.offset, m.key, m.value) +
                               ((list(m.headers or []),) if headers else ()))
    else:
        raise SystemExit("could not read %s to its end offsets %r" % (topic, end))
    c.close()
    return out, sum(end.values())


def canon(metrics):
    """A metric map as a hashable, NaN-safe value."""
    items = []
    for k, v in metrics.items():
        v = float(v)
        items.append((k, "nan" if math.isnan(v) else repr(v)))
    return tuple(sorted(items))


def cmd_read(brokers, topic, schema_dir, printed_dir, sweep_id):
    schema = load_schema(schema_dir, "metric_event")
    printed = {}
    nprinted = 0
    for name in sorted(os.listdir(printed_dir)):
        if not name.endswith(".jsonl"):
            continue
        with open(os.path.join(printed_dir, name)) as f:
            for line in f:
                p = json.loads(line)
                key = (p["run"], int(p["attempt"]))
                printed.setdefault(key, []).append(p)
                nprinted += 1
    msgs, nend = read_topic(brokers, topic)
    bad = []
    got = {}
    parts = {}
    for part, off, key, value in msgs:
        try:
            rec = decode(schema, value)
        except Exception as e:  # noqa: BLE001 - any decode error is a finding
            bad.append("%s [%d] offset %d: does not decode: %s" % (topic, part, off, e))
            continue
        if rec["sweep_id"] != sweep_id:
            bad.append("offset %d: sweep_id %r, want %r" % (off, rec["sweep_id"], sweep_id))
        if key is None or key.decode("utf-8", "replace") != rec["run_id"]:
            bad.append("offset %d: key %r is not the run id %r" % (off, key, rec["run_id"]))
        got.setdefault((rec["run_id"], rec["attempt"]), []).append(rec)
        parts.setdefault(rec["run_id"], set()).add(part)
    print("# %s: %d messages (end offsets sum %d), %d decoded; the programs "
          "printed %d metric lines in %d runs" %
          (topic, len(msgs), nend, sum(len(v) for v in got.values()),
           nprinted, len(printed)))
    if len(msgs) != nprinted:
        bad.append("%d messages on %s, the programs printed %d metric lines"
                   % (len(msgs), topic, nprinted))
    for key in sorted(set(printed) | set(got)):
        want = printed.get(key, [])
        have = got.get(key, [])
        if sorted(canon(p["metrics"]) for p in want) != \
                sorted(canon(r["metrics"]) for r in have):
            bad.append("run %s attempt %d: printed %d metric lines, topic has %d "
                       "events, or their values differ:\n      printed %r\n      topic   %r"
                       % (key[0], key[1], len(want), len(have),
                          sorted(canon(p["metrics"]) for p in want)[:4],
                          sorted(canon(r["metrics"]) for r in have)[:4]))
        # every _step a program gave is on the topic with its metrics
        missing = Counter((canon(p["metrics"]), p["step"]) for p in want
                          if p.get("step") is not None) - \
            Counter((canon(r["metrics"]), r["step"]) for r in have)
        if missing:
            bad.append("run %s attempt %d: printed with _step but not on the "
                       "topic with that step: %r" % (key[0], key[1], list(missing)))
        seqs = [r["seq"] for r in sorted(have, key=lambda r: r["seq"])]
        if len(set(seqs)) != len(seqs):
            bad.append("run %s attempt %d: repeated seq %r" % (key[0], key[1], seqs))
        # metric events count 1, 2, ... per attempt: a gap means a loss
        elif seqs != list(range(1, len(seqs) + 1)):
            bad.append("run %s attempt %d: seq is not 1..%d: %r"
                       % (key[0], key[1], len(seqs), seqs))
        # one partition per key: the topic order is the send order
        order = [r["seq"] for r in have]
        if order != sorted(order):
            bad.append("run %s attempt %d: seq out of order on the topic: %r"
                       % (key[0], key[1], order))
    split = {r: sorted(p) for r, p in parts.items() if len(p) > 1}
    if split:
        bad.append("runs whose events are on several partitions: %r" % split)
    for b in bad:
        print(b)
    return 1 if bad else 0


def default_datum(schema):
    """A valid datum of schema with every field at its simplest value."""
    t = schema.type
    if t == "record":
        return {f.name: default_datum(f.type) for f in schema.fields}
    if t == "union":
        return None if any(s.type == "null" for s in schema.schemas) \
            else default_datum(schema.schemas[0])
    if t == "enum":
        return schema.symbols[0]
    if t == "string":
        return "x" * 8
    if t in ("int", "long"):
        return 1234567
    if t in ("float", "double"):
        return 1.5
    if t == "boolean":
        return True
    if t == "map":
        return {"loss": 0.5}
    if t == "array":
        return [default_datum(schema.items)]
    if t == "bytes":
        return b"xy"
    if t == "null":
        return None
    raise ValueError("no default for %s" % t)


def cmd_garbage(schema_dir, out_dir):
    import avro.io
    topic_kind = {"control": "sweep_control", "assign": "run_assignment",
                  "events": "run_lifecycle", "metrics": "metric_event"}
    for topic, kind in topic_kind.items():
        sid = KINDS.index(kind) + 1
        schema = load_schema(schema_dir, kind)
        bio = io.BytesIO()
        avro.io.DatumWriter(schema).write(default_datum(schema),
                                          avro.io.BinaryEncoder(bio))
        body = bio.getvalue()
        hdr = struct.pack(">bI", 0, sid)
        msgs = {
            "01-random": b"\x7f" + os.urandom(63),
            "03-json": b'{"sweep_id": "garbage", "hello": [1, 2, 3]}',
            "04-header-only": hdr,
            "05-truncated": hdr + body[:len(body) // 2],
            "06-trailing-byte": hdr + body + b"\x00",
            "07-unknown-schema-id": struct.pack(">bI", 0, 9999) + body,
            "08-bad-magic": b"\x01" + hdr[1:] + body,
        }
        os.makedirs(os.path.join(out_dir, topic), exist_ok=True)
        for name, value in msgs.items():
            with open(os.path.join(out_dir, topic, name), "wb") as f:
                f.write(value)
    return 0


def cmd_replay(brokers, topic):
    from kafka import KafkaProducer
    msgs, _ = read_topic(brokers, topic, headers=True)
    p = KafkaProducer(bootstrap_servers=brokers, acks="all",
                      api_version_auto_timeout_ms=10000)
    # Headers too: a signed assignment sent again is still signed (a
    # producer retry repeats the whole record).
    for part, _off, key, value, hdrs in msgs:
        p.send(topic, key=key, value=value, partition=part, headers=hdrs)
    p.flush(20)
    p.close(5)
    print(len(msgs))
    return 0 if msgs else 1


def main(argv):
    if len(argv) == 4 and argv[1] == "replay":
        return cmd_replay(*argv[2:])
    if len(argv) == 7 and argv[1] == "read":
        return cmd_read(*argv[2:])
    if len(argv) == 4 and argv[1] == "garbage":
        return cmd_garbage(*argv[2:])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))

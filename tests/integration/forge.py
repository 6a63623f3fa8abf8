#!/usr/bin/python3
"""forge.py - what an attacker who can write to the topics would send, for
test_security.sh. Written from the wire format alone (schemas/README.md,
lib/sign.h) with python3-avro and Python's hmac: it shares no code with
the programs it attacks.

  forge.py encode SCHEMA_DIR KIND JSON OUT
      The record JSON (a dict; missing optional fields null) of KIND
      (run_assignment, run_command, sweep_control, ...) as Confluent-framed
      Avro bytes, written to OUT (kcat -P sends a file as one message).

  forge.py sign KEYFILE TOPIC KEY FILE
      Prints the "sweep-sig" header value for FILE's bytes sent to TOPIC
      with record key KEY, signed with the first key of KEYFILE.
      KEYFILE "-": a random key of our own (a forger's).

  forge.py capture BROKERS TOPIC RUN_ID OUTDIR
      Finds the first run assignment for RUN_ID on TOPIC and writes its
      value to OUTDIR/value, its key to OUTDIR/key and its sweep-sig
      header to OUTDIR/sig (to replay it, or to tamper with it).

  forge.py rewrite SCHEMA_DIR IN FIELD VALUE OUT
      Decodes the run assignment in IN, sets FIELD to VALUE (JSON) and
      writes it re-encoded to OUT (the signature no longer matches).
"""
import hashlib
import hmac
import io
import json
import os
import struct
import sys
import time

from check_metrics import KINDS, assign_all, load_schema


def lp(b):
    return struct.pack(">I", len(b)) + b


def signature(key, topic, rkey, value):
    msg = b"sweep-sig-v1\x00" + lp(topic.encode()) + lp(rkey.encode()) + lp(value)
    return hashlib.sha256(key).hexdigest()[:8] + "." + \
        hmac.new(key, msg, hashlib.sha256).hexdigest()


def first_key(path):
    if path == "-":
        return os.urandom(32).hex().encode()
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                return line.split(",")[0].strip().encode()
    raise SystemExit("no key in " + path)


def fill(schema, datum):
    out = {}
    for f in schema.fields:
        if f.name in datum:
            out[f.name] = datum[f.name]
        elif f.has_default:
            out[f.name] = f.default
        else:
            raise SystemExit("field %s is required" % f.name)
    return out


def encode(schema_dir, kind, datum):
    import avro.io
    schema = load_schema(schema_dir, kind)
    bio = io.BytesIO()
    bio.write(struct.pack(">bI", 0, KINDS.index(kind) + 1))
    avro.io.DatumWriter(schema).write(fill(schema, datum), avro.io.BinaryEncoder(bio))
    return bio.getvalue()


def decode(schema_dir, kind, value):
    import avro.io
    schema = load_schema(schema_dir, kind)
    bio = io.BytesIO(value[5:])
    return avro.io.DatumReader(schema).read(avro.io.BinaryDecoder(bio))


def cmd_capture(brokers, topic, run_id, outdir):
    from kafka import KafkaConsumer
    c = KafkaConsumer(bootstrap_servers=brokers, group_id=None,
                      enable_auto_commit=False, consumer_timeout_ms=1000,
                      api_version_auto_timeout_ms=10000)
    assign_all(c, topic)
    c.seek_to_beginning()
    deadline = time.time() + 20
    while time.time() < deadline:
        for recs in c.poll(timeout_ms=500).values():
            for m in recs:
                if m.key == run_id.encode() and m.value[1:5] == b"\x00\x00\x00\x02":
                    sig = dict(m.headers or []).get("sweep-sig", b"")
                    for name, data in (("value", m.value), ("key", m.key), ("sig", sig)):
                        with open(os.path.join(outdir, name), "wb") as f:
                            f.write(data)
                    print("captured %s [%d] offset %d" % (m.topic, m.partition, m.offset))
                    return 0
    raise SystemExit("no assignment for run %s on %s" % (run_id, topic))


def main(argv):
    if len(argv) == 6 and argv[1] == "encode":
        with open(argv[5], "wb") as f:
            f.write(encode(argv[2], argv[3], json.loads(argv[4])))
        return 0
    if len(argv) == 6 and argv[1] == "sign":
        with open(argv[5], "rb") as f:
            print(signature(first_key(argv[2]), argv[3], argv[4], f.read()))
        return 0
    if len(argv) == 6 and argv[1] == "capture":
        return cmd_capture(*argv[2:])
    if len(argv) == 7 and argv[1] == "rewrite":
        with open(argv[3], "rb") as f:
            rec = decode(argv[2], "run_assignment", f.read())
        rec[argv[4]] = json.loads(argv[5])
        with open(argv[6], "wb") as f:
            f.write(encode(argv[2], "run_assignment", rec))
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))

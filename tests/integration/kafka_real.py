#!/usr/bin/python3
"""kafka_real.py - the tests' view of a real Kafka cluster from outside our
programs, with confluent_kafka (Debian python3-confluent-kafka, on
librdkafka like ours) and kafka-python where it is the only one that can.

  kafka_real.py topics BOOT PREFIX
      One line per topic of PREFIX: "NAME PARTITIONS REPLICAS LEADERS"
      (LEADERS: the broker id leading each partition, comma-separated).

  kafka_real.py create BOOT TOPIC PARTITIONS LEADER NODES
      Creates TOPIC with every partition's replicas NODES (e.g. "2,1,3")
      rotated so that LEADER comes first: it leads every partition.

  kafka_real.py pipeline BOOT TOPIC GROUP EXPECT SECS OUT
      A consumer in consumer group GROUP (subscribe, from the earliest
      offset, committing) reads TOPIC until EXPECT messages or SECS; writes
      {"count", "distinct", "duplicates", "committed"} to OUT.

$KR_CONF, when set, is a file of librdkafka "key=value" lines added to the
confluent_kafka clients (SASL_SSL credentials).

  kafka_real.py acls BOOT FILE PREFIX
      Applies the kafka-acls.sh --add commands in FILE (one a line, as
      docs/security.md gives them; "sweeps." there becomes "PREFIX.")
      through BOOT as its super user (kafka-python: no JVM to start).

  kafka_real.py scan BOOT TOPIC OUT
      Reads every partition of TOPIC to its end (no group); for each
      metric event (schema id 4) its (sweep, run, attempt, seq); writes
      {"count", "distinct", "duplicates", "by_run": {run: n}} to OUT.
"""
import json
import struct
import sys
import time


def conf(boot, extra=None):
    import os
    c = {"bootstrap.servers": boot, "socket.timeout.ms": 10000}
    if os.environ.get("KR_CONF"):
        with open(os.environ["KR_CONF"]) as f:
            for line in f:
                line = line.strip()
                if line and not line.startswith("#") and "=" in line:
                    k, v = line.split("=", 1)
                    c[k.strip()] = v.strip()
    c.update(extra or {})
    return c


def zigzag(buf, pos):
    shift = result = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            break
        shift += 7
    return (result >> 1) ^ -(result & 1), pos


def metric_id(value):
    """(sweep, run, attempt, seq) of a Confluent-framed metric event: its
    first fields (schemas/metric_event.avsc), read without an Avro
    library (200,000 of them must not take a minute)."""
    if not value or len(value) < 5 or value[0] != 0 or struct.unpack(">I", value[1:5])[0] != 4:
        return None
    pos, out = 5, []
    for _ in range(3):  # sweep_id, run_id, worker_id
        n, pos = zigzag(value, pos)
        out.append(value[pos:pos + n].decode())
        pos += n
    attempt, pos = zigzag(value, pos)
    seq, pos = zigzag(value, pos)
    return out[0], out[1], attempt, seq


def cmd_topics(boot, prefix):
    from confluent_kafka.admin import AdminClient
    md = AdminClient(conf(boot)).list_topics(timeout=10)
    for name in sorted(md.topics):
        if not name.startswith(prefix + "."):
            continue
        t = md.topics[name]
        parts = [t.partitions[p] for p in sorted(t.partitions)]
        print("%s %d %d %s" % (name, len(parts), len(parts[0].replicas) if parts else 0,
                               ",".join(str(p.leader) for p in parts)))
    return 0


def cmd_create(boot, topic, partitions, leader, nodes):
    from confluent_kafka.admin import AdminClient, NewTopic
    ids = [int(x) for x in nodes.split(",")]
    i = ids.index(int(leader))
    rep = ids[i:] + ids[:i]
    a = AdminClient(conf(boot))  # kept: its futures die with it
    f = a.create_topics(
        [NewTopic(topic, int(partitions), replica_assignment=[rep] * int(partitions))],
        request_timeout=20)
    f[topic].result(30)
    # KRaft answers before every broker knows the topic
    deadline = time.time() + 20
    while time.time() < deadline:
        md = AdminClient(conf(boot)).list_topics(topic, timeout=10)
        t = md.topics.get(topic)
        if t and not t.error and len(t.partitions) == int(partitions) and \
                all(p.leader == int(leader) for p in t.partitions.values()):
            return 0
        time.sleep(0.2)
    raise SystemExit("topic %s: not led by %s after 20 s" % (topic, leader))


def summary(ids):
    seen = {}
    for i in ids:
        seen[i] = seen.get(i, 0) + 1
    by_run = {}
    for (s, r, a, q) in seen:
        by_run[r] = by_run.get(r, 0) + 1
    return {"count": len(ids), "distinct": len(seen),
            "duplicates": sum(n - 1 for n in seen.values()), "by_run": by_run}


def cmd_pipeline(boot, topic, group, expect, secs, out):
    from confluent_kafka import Consumer
    c = Consumer(conf(boot, {"group.id": group, "auto.offset.reset": "earliest",
                             "enable.auto.commit": True, "auto.commit.interval.ms": 500}))
    c.subscribe([topic])
    ids = []
    deadline = time.time() + float(secs)
    while len(ids) < int(expect) and time.time() < deadline:
        for m in c.consume(1000, 0.5):
            if m.error():
                continue
            mid = metric_id(m.value())
            if mid:
                ids.append(mid)
    try:
        c.commit(asynchronous=False)
    except Exception:
        pass  # nothing new since the last auto-commit
    committed = 0
    try:
        parts = c.assignment()
        for tp in c.committed(parts, timeout=10):
            committed += max(tp.offset, 0)
    except Exception as e:  # reported, not fatal
        committed = "error: %s" % e
    c.close()
    res = summary(ids)
    res["committed"] = committed
    with open(out, "w") as f:
        json.dump(res, f)
    return 0


def cmd_acls(boot, path, prefix):
    import shlex
    from kafka.admin import (ACL, ACLOperation, ACLPermissionType,
                             ACLResourcePatternType, KafkaAdminClient,
                             ResourcePattern, ResourceType)
    acls = []
    for line in open(path):
        words = shlex.split(line)
        if not words or words[0] != "kafka-acls.sh" or "--add" not in words:
            continue
        principal, ops, res, name, pattern = None, [], None, None, "literal"
        i = 1
        while i < len(words):
            w = words[i]
            nxt = words[i + 1] if i + 1 < len(words) else None
            if w == "--allow-principal":
                principal = nxt
            elif w == "--operation":
                ops.append(nxt)
            elif w in ("--topic", "--group"):
                res, name = w[2:], nxt
            elif w == "--cluster":
                res, name = "cluster", "kafka-cluster"
                i -= 1
            elif w == "--resource-pattern-type":
                pattern = nxt
            elif w in ("--bootstrap-server", "--command-config"):
                pass
            else:
                i -= 1  # a flag without a value (--add)
            i += 2
        if res == "topic" and name.startswith("sweeps."):
            name = prefix + "." + name[len("sweeps."):]
        if not principal or not ops or not res:
            raise SystemExit("cannot read: " + line)
        for op in ops:
            acls.append(ACL(principal=principal, host="*",
                            operation=getattr(ACLOperation, op.upper()),
                            permission_type=ACLPermissionType.ALLOW,
                            resource_pattern=ResourcePattern(
                                getattr(ResourceType, res.upper()), name,
                                getattr(ACLResourcePatternType, pattern.upper()))))
    a = KafkaAdminClient(bootstrap_servers=boot, api_version_auto_timeout_ms=10000)
    r = a.create_acls(acls)
    a.close()
    if r["failed"] or len(r["succeeded"]) != len(acls):
        raise SystemExit("ACLs failed: %r" % (r["failed"],))
    print("%d ACLs" % len(acls))
    return 0


def cmd_scan(boot, topic, out):
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer(conf(boot, {"group.id": "scan-%d" % time.time(), "enable.auto.commit": False,
                             "enable.partition.eof": True}))
    md = c.list_topics(topic, timeout=10)
    parts = sorted(md.topics[topic].partitions)
    ends = {}
    for p in parts:
        lo, hi = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
        ends[p] = hi
    c.assign([TopicPartition(topic, p, 0) for p in parts])
    ids, pos = [], {p: 0 for p in parts}
    deadline = time.time() + 120
    while any(pos[p] < ends[p] for p in parts) and time.time() < deadline:
        for m in c.consume(1000, 0.5):
            if m.error():
                continue
            pos[m.partition()] = m.offset() + 1
            mid = metric_id(m.value())
            if mid:
                ids.append(mid)
    c.close()
    with open(out, "w") as f:
        json.dump(summary(ids), f)
    return 0


def main(argv):
    cmds = {"topics": (cmd_topics, 2), "create": (cmd_create, 5),
            "pipeline": (cmd_pipeline, 6), "scan": (cmd_scan, 3),
            "acls": (cmd_acls, 3)}
    if len(argv) < 2 or argv[1] not in cmds or len(argv) - 2 != cmds[argv[1]][1]:
        sys.stderr.write(__doc__)
        return 2
    return cmds[argv[1]][0](*argv[2:])


if __name__ == "__main__":
    sys.exit(main(sys.argv))

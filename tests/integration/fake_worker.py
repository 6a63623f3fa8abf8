#!/usr/bin/python3
"""fake_worker.py - a worker written from the wire format alone, for
test_runtime.sh: it speaks to a real sweep-controller over Kafka with
kafka-python and python3-avro (schemas/README.md), runs nothing, and sends
statuses a real worker only sends when the network reorders them.

  fake_worker.py stale BROKERS SCHEMA_DIR SWEEP_ID WORKER_ID
      1. asks for a run (idle, received 0), gets run 1, reports it
         started and finished; the same for run 2 (received 1);
      2. sends an idle status with received 1, as if it had been sent
         before run 2 arrived and delivered late, then the true one
         (received 2), and notes the assignments that follow in 2.5 s:
         one (run 3) is right, two mean the stale status was taken for
         a request;
      3. never starts run 3 and keeps asking with received 2, as a
         worker that lost run 3's assignment would, for 7 s: run 3 is
         requeued and assigned again; what arrives now it reports
         started and finished, and counts.
      Prints one JSON object: {"phase1": [...], "phase2": [...],
      "phase3": [...]}, each a list of [run_id, attempt, sweep_id]
      received.

  fake_worker.py takeover BROKERS SCHEMA_DIR SWEEP_ID WORKER_ID FLAG_DIR
      Runs 2 runs, creates FLAG_DIR/ready and waits for FLAG_DIR/go (the
      test kills the leader meanwhile and waits for the standby to
      lead); then sends the new leader an idle status from before its
      2nd run and notes what follows in 2.5 s (nothing is right), then
      asks truly and runs one more run, and asks once more. Prints
      {"before": [...], "stale": [...], "after": [...], "end": [...]}.
"""
import io
import json
import os
import struct
import sys
import time

from check_metrics import KINDS, assign_all, load_schema


class Wire:
    def __init__(self, brokers, schema_dir, prefix="sweeps"):
        from kafka import KafkaConsumer, KafkaProducer
        self.schemas = {k: load_schema(schema_dir, k) for k in KINDS}
        self.prefix = prefix
        self.prod = KafkaProducer(bootstrap_servers=brokers, acks="all",
                                  linger_ms=0, api_version_auto_timeout_ms=10000)
        self.cons = KafkaConsumer(bootstrap_servers=brokers, group_id=None,
                                  enable_auto_commit=False,
                                  api_version_auto_timeout_ms=10000)
        tps = assign_all(self.cons, prefix + ".assign")
        self.cons.seek_to_end()
        for tp in tps:  # resolve the positions now: nothing sent is missed
            self.cons.position(tp)

    def encode(self, kind, datum):
        import avro.io
        bio = io.BytesIO()
        bio.write(struct.pack(">bI", 0, KINDS.index(kind) + 1))
        avro.io.DatumWriter(self.schemas[kind]).write(datum, avro.io.BinaryEncoder(bio))
        return bio.getvalue()

    def decode(self, kind, value):
        import avro.io
        magic, sid = struct.unpack(">bI", value[:5])
        if magic != 0 or sid != KINDS.index(kind) + 1:
            return None
        bio = io.BytesIO(value[5:])
        return avro.io.DatumReader(self.schemas[kind]).read(avro.io.BinaryDecoder(bio))

    def send(self, topic, key, kind, datum):
        self.prod.send(self.prefix + "." + topic, key=key.encode(),
                       value=self.encode(kind, datum))
        self.prod.flush(10)

    def assignments(self, worker_id, secs, until=None):
        """[run_id, attempt] of the assignments to worker_id in secs
        (returns early once `until` of them arrived)."""
        got = []
        deadline = time.time() + secs
        while time.time() < deadline and (until is None or len(got) < until):
            for recs in self.cons.poll(timeout_ms=100).values():
                for m in recs:
                    try:
                        a = self.decode("run_assignment", m.value)
                    except Exception:
                        a = None
                    if a and a.get("worker_id") == worker_id:
                        got.append([a["run_id"], a["attempt"], a["sweep_id"]])
        return got


class Fake:
    """One worker id: its statuses, its runs' lifecycle events."""

    def __init__(self, wire, sweep_id, worker_id):
        self.w, self.sweep_id, self.worker_id = wire, sweep_id, worker_id
        self.seq = 0
        self.received = 0

    def status(self, received):
        self.seq += 1
        self.w.send("events", self.worker_id, "worker_status", {
            "worker_id": self.worker_id, "pool": None, "sweep_id": self.sweep_id,
            "state": "idle", "seq": self.seq, "ts_ms": int(time.time() * 1000),
            "host": "fake", "pid": os.getpid(), "running": [],
            "received": received})

    def life(self, run, attempt, lseq, event):
        self.w.send("events", run, "run_lifecycle", {
            "sweep_id": self.sweep_id, "run_id": run, "worker_id": self.worker_id,
            "attempt": attempt, "seq": lseq, "ts_ms": int(time.time() * 1000),
            "event": event, "exit_code": 0 if event == "finished" else None,
            "signal": 0, "reason": None, "last_metric_seq": -1})

    def run(self, a):
        """Reports assignment a started and finished."""
        self.life(a[0], a[1], 0, "started")
        self.life(a[0], a[1], 1, "finished")

    def assignments(self, secs, until=None):
        return self.w.assignments(self.worker_id, secs, until)

    def runs(self, n):
        """Asks every second, as a worker does, and runs n runs; their
        [run, attempt, sweep], or None when one did not come in 10 s."""
        out = []
        for _ in range(n):
            got = []
            for _ in range(10):
                self.status(self.received)
                got = self.assignments(1.0, until=1)
                if got:
                    break
            if not got:
                return None
            out += got
            self.received += len(got)
            self.run(got[0])
            time.sleep(0.5)  # the controller applies the end: no run is live
        return out


def done(out, rc=0):
    print(json.dumps(out))
    return rc


def cmd_stale(brokers, schema_dir, sweep_id, worker_id):
    f = Fake(Wire(brokers, schema_dir), sweep_id, worker_id)
    out = {"phase1": f.runs(2), "phase2": [], "phase3": []}
    if out["phase1"] is None:
        return done(dict(out, phase1=[], error="no assignment for the first 2 runs"), 1)
    f.status(f.received - 1)  # stale: sent before run 2 arrived
    time.sleep(0.3)
    f.status(f.received)      # the true one
    out["phase2"] = f.assignments(2.5)
    # Run 3's assignment "lost": it asks every second with the count it
    # had; what comes now it runs (started, finished) and counts.
    deadline = time.time() + 7
    while time.time() < deadline:
        f.status(f.received)
        for a in f.assignments(1.0):
            out["phase3"].append(a)
            f.received += 1
            f.run(a)
    return done(out)


def cmd_takeover(brokers, schema_dir, sweep_id, worker_id, flag_dir):
    f = Fake(Wire(brokers, schema_dir), sweep_id, worker_id)
    out = {"before": f.runs(2), "stale": [], "after": []}
    if out["before"] is None:
        return done(dict(out, before=[], error="no assignment for the first 2 runs"), 1)
    open(os.path.join(flag_dir, "ready"), "w").close()
    deadline = time.time() + 30
    while not os.path.exists(os.path.join(flag_dir, "go")):
        if time.time() > deadline:
            return done(dict(out, error="no go in 30 s"), 1)
        time.sleep(0.05)
    f.status(f.received - 1)  # stale, to the new leader
    out["stale"] = f.assignments(2.5)
    got = f.runs(1)
    out["after"] = got if got is not None else []
    f.status(f.received)  # the grid is done: nothing more, the sweep ends
    out["end"] = f.assignments(2.0)
    return done(out)


def main(argv):
    if len(argv) == 6 and argv[1] == "stale":
        return cmd_stale(*argv[2:])
    if len(argv) == 7 and argv[1] == "takeover":
        return cmd_takeover(*argv[2:])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))

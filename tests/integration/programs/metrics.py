#!/usr/bin/python3
"""metrics.py - a run that reports metrics through all three channels.

Args as ${args} gives them (--n=N, others ignored). Prints, for i = 1..n:
`epoch=i loss=L` on stdout, `val_loss=V` on stderr for odd i, and a JSON
line {"_step": 100 + i, "acc": A} on $SWEEP_METRICS_FD, plus lines that are
not metrics (prose, `loss=abc`, a JSON array) which a worker must ignore;
the last fd line has a NaN (as Python's json writes it). Each metric line
printed is recorded in $IT_PRINTED/<run>-<attempt>.jsonl as
{"run", "attempt", "channel", "step", "metrics"} for check_metrics.py.
"""
import json
import math
import os
import sys

n = 3
for a in sys.argv[1:]:
    if a.startswith("--n="):
        n = int(a[4:])
run = os.environ.get("SWEEP_RUN_ID", "?")
attempt = int(os.environ.get("SWEEP_ATTEMPT", "0"))
pids = os.environ.get("IT_PIDS")
if pids and os.path.isdir(pids):
    open(os.path.join(pids, str(os.getpid())), "w").close()
rec_dir = os.environ.get("IT_PRINTED")
rec = open(os.path.join(rec_dir, "%s-%d.jsonl" % (run, attempt)), "a") \
    if rec_dir and os.path.isdir(rec_dir) else None
fd = int(os.environ["SWEEP_METRICS_FD"]) if os.environ.get("SWEEP_METRICS_FD") else None
seed = sum(map(ord, run)) % 97


def record(channel, step, metrics):
    if rec:
        rec.write(json.dumps({"run": run, "attempt": attempt, "channel": channel,
                              "step": step, "metrics": metrics}) + "\n")
        rec.flush()


def out(stream, line):
    stream.write(line + "\n")
    stream.flush()


out(sys.stdout, "run %s starting with %s" % (run, " ".join(sys.argv[1:])))
out(sys.stdout, "loss=abc")             # not a number: no metric
out(sys.stderr, "epoch 0 warming up")   # prose: no metric
for i in range(1, n + 1):
    loss = round(1.0 / (i + seed), 6)
    out(sys.stdout, "epoch=%d loss=%r" % (i, loss))
    record("stdout", None, {"epoch": float(i), "loss": loss})
    if i % 2:
        val = round(2.0 / (i + seed), 6)
        out(sys.stderr, "val_loss=%r" % val)
        record("stderr", None, {"val_loss": val})
    if fd is not None:
        acc = float("nan") if i == n else round(i / (n + 1.0), 6)
        os.write(fd, (json.dumps({"_step": 100 + i, "acc": acc}) + "\n").encode())
        record("fd", 100 + i, {"acc": acc if not math.isnan(acc) else "nan"})
        if i == 1:
            os.write(fd, b"[1, 2, 3]\n")  # not an object: no metric
out(sys.stdout, "done")

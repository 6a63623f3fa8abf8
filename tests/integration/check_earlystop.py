"""check_earlystop.py - an independent model of the early termination rules
(COMPAT.md 4 for hyperband, docs/early-stop.md for median and asha), written
from the text of those pages, to compare with `sweep early-stop --json`.

  check_earlystop.py gen SEED RUNS.json       random runs, with junk values
  check_earlystop.py stops ET_JSON GOAL RUNS.json
      prints the names the rules stop, one JSON array (ET_JSON: the
      early_terminate mapping as JSON; GOAL: minimize or maximize)
"""
import json
import math
import random
import statistics
import sys

MAX_BANDS = 100
MAX_BAND = 10000000
STATES = ["running", "running", "finished", "failed", "killed", "pending"]
JUNK = [None, "NaN", True, False, "3", [1], {"a": 1}]


def gen(seed, path):
    rnd = random.Random(seed)
    runs = []
    for i in range(40):
        base = rnd.randrange(0, 12)
        hist = []
        for _ in range(rnd.randrange(0, 30)):
            r = rnd.random()
            if r < 0.1:
                hist.append({"loss": rnd.choice(JUNK)})
            elif r < 0.15:
                hist.append({"acc": 1})
            else:
                hist.append({"loss": base + rnd.randrange(0, 10) / 2})
        runs.append({"name": "r%d" % i, "state": rnd.choice(STATES),
                     "params": {}, "history": hist, "summary": {}})
    with open(path, "w") as f:
        json.dump(runs, f)


def values(hist):
    out = []
    for h in hist:
        v = h.get("loss")
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            continue
        if math.isfinite(v):
            out.append(v)
    return out


def geometric(min_iter, eta):
    bands, b = [], float(min_iter)
    while len(bands) < MAX_BANDS and b <= MAX_BAND:
        bands.append(int(b))
        b *= eta
    return bands


def hyperband_bands(et):
    eta = et.get("eta", 3)
    if et.get("max_iter") and et.get("s"):
        bands, b = [], float(et["max_iter"])
        for _ in range(et["s"]):
            b /= eta
            if b < 1:
                break
            bands.append(int(b))
        return sorted(bands)
    return geometric(et["min_iter"], eta)


def hyperband(et, V, running):
    eta, strict = et.get("eta", 3), et.get("strict", True)
    bands = hyperband_bands(et)
    thr = {}
    for b in bands:
        bv = sorted(v[b - 1] for v in V.values() if len(v) >= b)
        if bv:
            thr[b] = bv[int(len(bv) / eta)]
    stop = []
    for name in running:
        v = V[name]
        reached = [b for b in bands if b <= len(v)]
        if reached:
            b = reached[-1]
            x = v[b - 1] if strict else min(v)
            if x > thr[b]:
                stop.append(name)
    return stop


def median(et, V, running):
    stop = []
    for name in running:
        v = V[name]
        s = len(v)
        if s == 0 or s < et["min_iter"]:
            continue
        others = [V[o][s - 1] for o in V if o != name and len(V[o]) >= s]
        if others and min(v) > statistics.median(others):
            stop.append(name)
    return stop


def asha(et, V, running):
    eta = et.get("eta", 3)
    rungs = geometric(et.get("min_iter", 1), eta)
    if et.get("max_iter"):
        rungs = [r for r in rungs if r < et["max_iter"]]
    stop = []
    for name in running:
        v = V[name]
        s = len(v)
        if s not in rungs:
            continue
        at = sorted(V[o][s - 1] for o in V if len(V[o]) >= s)
        k = int(len(at) / eta)
        if k and v[s - 1] > at[k - 1]:
            stop.append(name)
    return stop


def stops(et, goal, path):
    with open(path) as f:
        runs = json.load(f)
    sign = -1 if goal == "maximize" else 1
    V = {r["name"]: [sign * x for x in values(r["history"])] for r in runs}
    running = [r["name"] for r in runs if r["state"] == "running"]
    rule = {"hyperband": hyperband, "median": median, "asha": asha}[et["type"]]
    return rule(et, V, running)


if __name__ == "__main__":
    if sys.argv[1] == "gen":
        gen(int(sys.argv[2]), sys.argv[3])
    else:
        print(json.dumps(stops(json.loads(sys.argv[2]), sys.argv[3], sys.argv[4])))

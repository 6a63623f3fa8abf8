#!/bin/sh
# bench_quality_local.sh - the search-quality benchmark (issue 4) end to
# end: method bayes on branin through the real runtime (`sweep local`: the
# embedded broker, a private redis-server, a controller and 2 workers, a
# Python process per run reporting loss=...), regret (best found minus the
# optimum) after the first 25 and 50 runs created, next to the in-process
# figures of bench_quality (one worker, same function and space).
#
# `sweep local` takes no seed (the controller seeds from the clock and its
# pid), so the sweep is repeated BENCH_LOCAL_REPEATS times instead.
#
# Run from the repository root: sh tests/bench/bench_quality_local.sh
# Env: SWEEP_BIN (programs, default $PWD/bin), O (build dir with
#      bench/bench_quality, default build), BENCH_LOCAL_REPEATS (3),
#      BENCH_QUALITY_SEEDS (20, for the in-process figures), BENCH_KEEP=1
#      keeps the temporary directory (runs, logs).
set -u

ROOT=$(pwd)
SWEEP_BIN=${SWEEP_BIN:-$ROOT/bin}
O=${O:-build}
case $O in /*) ;; *) O=$ROOT/$O ;; esac
PY=/usr/bin/python3
REPEATS=${BENCH_LOCAL_REPEATS:-3}
RUNS=50

if [ ! -x "$SWEEP_BIN/sweep" ] || [ ! -x "$O/bench/bench_quality" ]; then
    echo "bench_quality_local: needs $SWEEP_BIN/sweep and $O/bench/bench_quality" \
        "(run make bench)" >&2
    exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench_quality_local.XXXXXX") || exit 1
if [ -n "${BENCH_KEEP:-}" ]; then
    echo "bench_quality_local: keeping $tmp" >&2
else
    trap 'rm -rf "$tmp"' EXIT
fi
trap 'exit 1' HUP INT TERM

# The program: branin of shared/bench/FUNCTIONS.md at --x1=.. --x2=..
cat >"$tmp/branin.py" <<'EOF'
import math, sys
a = dict(s[2:].split("=", 1) for s in sys.argv[1:] if s.startswith("--"))
x1, x2 = float(a["x1"]), float(a["x2"])
b, c, t = 5.1 / (4 * math.pi ** 2), 5 / math.pi, 1 / (8 * math.pi)
f = (x2 - b * x1 * x1 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10
print(f"loss={f!r}", flush=True)
EOF
cat >"$tmp/branin.yaml" <<EOF
method: bayes
metric: {name: loss, goal: minimize}
run_cap: $RUNS
program: $tmp/branin.py
parameters:
  x1: {distribution: uniform, min: -5.0, max: 10.0}
  x2: {distribution: uniform, min: 0.0, max: 15.0}
command: [$PY, "\${program}", "\${args}"]
EOF

i=1
while [ "$i" -le "$REPEATS" ]; do
    t0=$(date +%s.%N)
    TMPDIR=$tmp timeout 300 "$SWEEP_BIN/sweep" local "$tmp/branin.yaml" --workers 2 --json \
        >"$tmp/runs$i.json" 2>"$tmp/local$i.err"
    rc=$?
    t1=$(date +%s.%N)
    if [ "$rc" -ne 0 ]; then
        echo "bench_quality_local: sweep local failed (exit $rc):" >&2
        tail -n 15 "$tmp/local$i.err" >&2
        exit 1
    fi
    echo "$t0 $t1" >"$tmp/time$i"
    i=$((i + 1))
done

# The in-process figures for the same function.
BENCH_QUALITY_FUNCTIONS=branin BENCH_QUALITY_PAR_SEEDS=1 "$O/bench/bench_quality" >"$tmp/inproc.txt" || {
    echo "bench_quality_local: bench_quality failed" >&2
    exit 1
}

"$PY" - "$tmp" "$REPEATS" "$RUNS" <<'EOF'
import json, statistics, sys

tmp, repeats, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
OPT = 0.397887357729739
CHECKS = (25, 50)


def regret(rs, k):
    vals = [r["summary"]["loss"] for r in rs[:k]
            if r["state"] == "finished" and "loss" in r.get("summary", {})]
    return min(vals) - OPT if vals else float("nan")


print(f"### bayes on branin through `sweep local` (2 workers, run_cap {runs}), "
      f"{repeats} repeats (sweep local takes no seed)\n")
print("| sweep | runs finished | regret @25 | regret @50 | wall s |\n|---|---|---|---|---|")
rows = []
for i in range(1, repeats + 1):
    rs = json.load(open(f"{tmp}/runs{i}.json"))
    rs.sort(key=lambda r: r["created_at"])  # stable: creation order
    t0, t1 = map(float, open(f"{tmp}/time{i}").read().split())
    done = sum(r["state"] == "finished" for r in rs)
    rows.append([regret(rs, k) for k in CHECKS])
    print(f"| local {i} | {done}/{len(rs)} | "
          + " | ".join(f"{v:.3g}" for v in rows[-1]) + f" | {t1 - t0:.1f} |")
print(f"| local, median of {repeats} | | "
      + " | ".join(f"{statistics.median(r[c] for r in rows):.3g}" for c in range(2))
      + " | |")
cells = None
seeds = "?"
for line in open(f"{tmp}/inproc.txt"):
    if line.startswith("| branin | bayes (ours) |"):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
    if line.startswith("### Search quality"):
        seeds = line.split(" over ")[1].split(" seeds")[0]
if cells:
    print(f"| in-process bench_quality, 1 worker, median [q1, q3] of {seeds} seeds | | "
          f"{cells[2]} | {cells[3]} | |")
EOF

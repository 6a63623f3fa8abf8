#!/bin/sh
# The demo: validates config/demo.yaml, plans its grid with `sweep plan`,
# then runs every planned command (the exact argv the worker will run)
# one after the other and reports the best run by val_loss.
set -eu
cd "$(dirname "$0")/.."
SWEEP=${SWEEP_BIN:-bin}/sweep
CFG=config/demo.yaml
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

"$SWEEP" validate "$CFG"
plan=$(mktemp)
trap 'rm -f "$plan"' EXIT INT TERM
SWEEP_INTERPRETER=python3 "$SWEEP" plan "$CFG" --commands --json >"$plan"

"$PY" - "$plan" <<'PYEOF'
import json, subprocess, sys
runs = json.load(open(sys.argv[1]))
best = None
for i, run in enumerate(runs, 1):
    print(f"--- run {i}/{len(runs)}: {json.dumps(run['params'])}", flush=True)
    out = subprocess.run(run["argv"], stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, text=True, check=True).stdout
    last = {}
    for line in out.splitlines():
        print("    " + line)
        last = dict(kv.split("=", 1) for kv in line.split() if "=" in kv)
    v = float(last["val_loss"])
    if best is None or v < best[0]:
        best = (v, run["params"])
print(f"\nbest val_loss {best[0]:.4f} with {json.dumps(best[1])}")
PYEOF

#!/bin/sh
# test_local.sh - `sweep local`: a whole grid sweep on one machine (broker,
# private redis-server, controller, workers as processes) with --json, and
# Ctrl-C (SIGINT) in the middle of a sweep: exit, and nothing left behind.
# Ends with "N passed, N failed".
. tests/integration/lib.sh
it_init test_local
D=$IT_TMP

cat >"$D/grid.yaml" <<'EOF2'
method: grid
metric: {name: loss, goal: minimize}
parameters:
  a: {values: [1, 2, 3]}
  b: {values: [x, y]}
command:
  - /bin/sh
  - -c
  - echo loss=$SWEEP_RUN_ID >/dev/null; echo step=1 loss=0.5; echo step=2 loss=0.25
EOF2
TMPDIR=$D timeout 120 "$SWEEP" local "$D/grid.yaml" --workers 2 --json --no-ui \
    >"$D/local.json" 2>"$D/local.err"
rc=$?
check "sweep local exits 0 when the grid is done (rc $rc)" [ $rc -eq 0 ]
if "$PY" - "$D/local.json" >"$D/check.out" 2>&1 <<'PYEOF'
import json, sys
runs = json.load(open(sys.argv[1]))
points = sorted((r["params"]["a"], r["params"]["b"]) for r in runs)
assert points == sorted((a, b) for a in (1, 2, 3) for b in "xy"), points
assert all(r["state"] == "finished" and r["steps"] == 2 for r in runs), runs
assert all(r["summary"]["loss"] == 0.25 for r in runs), runs
PYEOF
then
    ok "--json: the 6 grid points, each run once, finished, 2 steps, summary loss 0.25"
else
    notok "--json: the 6 grid points, each run once, finished, 2 steps, summary loss 0.25" \
        "$D/check.out" "$D/local.err"
fi
check "--no-ui: no dashboard, no URL" sh -c "! grep -q 'http://' '$D/local.err'"
left=$(ls -d "$D"/sweep-local-* 2>/dev/null | wc -l)
check "its temporary directory is removed ($left left)" [ "$left" -eq 0 ]

# Ctrl-C in the middle of an endless random sweep.
cat >"$D/endless.yaml" <<'EOF2'
method: random
parameters:
  x: {min: 0.0, max: 1.0}
command: [/bin/sh, -c, "sleep 0.3; echo loss=1"]
EOF2
# A shell's background job inherits SIGINT ignored: restore the default, as
# a terminal's foreground job has it.
TMPDIR=$D "$PY" -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execv(sys.argv[1], sys.argv[1:])' "$SWEEP" local "$D/endless.yaml" --workers 2 \
    >"$D/endless.out" 2>"$D/endless.err" &
LP=$!
it_wait 30 grep -q "finished" "$D/endless.err"
dir=$(ls -d "$D"/sweep-local-* 2>/dev/null | head -n 1)
URL=$(head -n 1 "$D/endless.out")
case $URL in
http://127.0.0.1:[0-9]*/sweeps/[a-z0-9]*) ok "the dashboard's URL is the first line ($URL)" ;;
*) notok "the dashboard's URL is the first line (got '$URL')" "$D/endless.out" "$D/endless.err" ;;
esac
LSID=${URL##*/}
ORIGIN=${URL%/sweeps/*}
code=$(curl -s --compressed -o "$D/lpage.html" -w '%{http_code}' "$URL")
check "the URL answers with the dashboard's page (HTTP $code)" \
    sh -c "[ '$code' = 200 ] && grep -q '/assets/app.js' '$D/lpage.html'"
code=$(curl -s -o "$D/lsweep.json" -w '%{http_code}' "$ORIGIN/api/sweeps/$LSID")
check "its API has the running sweep (HTTP $code)" \
    sh -c "[ '$code' = 200 ] && grep -q '\"state\": *\"running\"' '$D/lsweep.json'"
kill -INT $LP
it_wait_exit $LP 30
rc=$?
check "Ctrl-C: sweep local exits 130 (rc $rc)" [ $rc -eq 130 ]
sleep 0.5
stray=$(ps -eo args | grep -F "$dir" | grep -v grep | wc -l)
check "Ctrl-C: no process of it is left ($stray)" [ "$stray" -eq 0 ]
check "Ctrl-C: the summary was printed" grep -q "RUN" "$D/endless.out"
check "Ctrl-C: its temporary directory is removed" [ ! -e "$dir" ]
it_done

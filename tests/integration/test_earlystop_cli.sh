#!/bin/sh
# test_earlystop_cli.sh - `sweep early-stop` as a separate process: the
# COMPAT.md 4 example in words and as JSON, maximize, median and asha, the
# error exits, and every rule against an independent Python model
# (check_earlystop.py) on random runs with junk values.
#
# Run from the repository root: sh tests/integration/test_earlystop_cli.sh
. tests/integration/lib.sh
it_init test_earlystop_cli

T=$IT_TMP
CHK=$ROOT/tests/integration/check_earlystop.py

# cfg NAME GOAL ET: a config with that early_terminate (a YAML flow map).
cfg() {
    printf 'method: random\nmetric: {name: loss, goal: %s}\nparameters: {x: {values: [1]}}\nearly_terminate: %s\n' \
        "$2" "$3" >"$T/$1.yaml"
}

# es ARGS...: stdout in $T/out, stderr in $T/err, status in $rc.
es() {
    timeout 10 "$SWEEP" early-stop "$@" >"$T/out" 2>"$T/err"
    rc=$?
}

# json_is DESC PYEXPR: PYEXPR (on o, the parsed stdout) must be true.
json_is() {
    if "$PY" -c 'import json, sys
o = json.load(open(sys.argv[1]))
sys.exit(0 if eval(sys.argv[2]) else 1)' "$T/out" "$2" 2>"$T/py.err"; then
        ok "$1"
    else
        notok "$1" "$T/out" "$T/err" "$T/py.err"
    fi
}

# judge DESC GOAL ET RUNS PYEXPR: `early-stop --json` of a config with
# that goal and early_terminate on $T/RUNS.json; PYEXPR as for json_is.
judge() {
    cfg j "$2" "$3"
    es "$T/j.yaml" --runs "$T/$4.json" --json
    json_is "$1" "$5"
}

# has DESC TEXT FILE: TEXT is a line of FILE, or part of one.
has() {
    if grep -qF -- "$2" "$3"; then
        ok "$1"
    else
        notok "$1" "$3"
    fi
}

cat >"$T/compat.json" <<'EOF'
[{"name": "a", "state": "finished", "history": [{"loss": 10}, {"loss": 9}]},
 {"name": "b", "state": "running", "history": [{"loss": 10}, {"loss": 10}]},
 {"name": "c", "state": "running", "history": [{"loss": 10}, {"loss": 8}, {"loss": 8}]},
 {"name": "d", "state": "running", "history": [{"loss": 10}, {"loss": 7}, {"loss": 7}]},
 {"name": "e", "state": "finished", "history": [{"loss": 10}, {"loss": 6}, {"loss": 6}]}]
EOF
"$PY" -c 'import json, sys
r = json.load(open(sys.argv[1]))
for x in r:
    x["history"] = [{"loss": -h["loss"]} for h in x["history"]]
json.dump(r, open(sys.argv[2], "w"))' "$T/compat.json" "$T/compat-max.json"

# ---- the COMPAT.md 4 example ------------------------------------------------

cfg hb minimize "{type: hyperband, max_iter: 5, eta: 2, s: 2}"
es "$T/hb.yaml" --runs "$T/compat.json"
if [ "$rc" -eq 0 ] && [ ! -s "$T/err" ]; then ok "example: exit 0"; else notok "example: exit 0" "$T/err"; fi
has "example: bands" "bands: 1 2" "$T/out"
has "example: band 2 threshold" "band 2: threshold 8.0 (5 runs)" "$T/out"
has "example: b stopped with its reason" \
    "stop b: hyperband band 2: value 10.0 is worse than threshold 8.0 (5 runs)" "$T/out"
if grep -q "^stop [acde]:" "$T/out"; then notok "example: only b is stopped" "$T/out"; else ok "example: only b is stopped"; fi
has "example: summary" "1 of 3 running runs to stop" "$T/out"

es "$T/hb.yaml" --runs "$T/compat.json" --json
json_is "example --json: bands, thresholds, stop" \
    'o["bands"] == [1, 2] and o["thresholds"] == [10.0, 8.0] and o["stop"] == ["b"] and o["type"] == "hyperband"'
json_is "example --json: the reason of b" \
    'o["reasons"] == {"b": "hyperband band 2: value 10.0 is worse than threshold 8.0 (5 runs)"}'

judge "example, negated, maximize: b stopped, threshold -8" maximize \
    "{type: hyperband, max_iter: 5, eta: 2, s: 2}" compat-max \
    'o["stop"] == ["b"] and o["thresholds"] == [-10.0, -8.0]'
judge "example, strict false: b's best 10 is still worse" minimize \
    "{type: hyperband, max_iter: 5, eta: 2, s: 2, strict: false}" compat \
    'o["stop"] == ["b"] and "best value 10.0" in o["reasons"]["b"]'
# min_iter form: thresholds for every band, null where nobody got there
judge "min_iter form: bands 1 2 4 ..., null thresholds past the data" minimize \
    "{type: hyperband, min_iter: 1, eta: 2}" compat \
    'o["bands"][:3] == [1, 2, 4] and o["thresholds"][2] is None and o["stop"] == ["b"]'

# ---- median and asha ---------------------------------------------------------

cfg med minimize "{type: median, min_iter: 2}"
es "$T/med.yaml" --runs "$T/compat.json"
has "median: step 2 is judged" "steps: 2" "$T/out"
# step 2, others a 9 c 8 d 7 e 6; step 3, others of c: d 7 e 6; d ties c 8 e 6
has "median: b stopped with its reason" \
    "stop b: median step 2: best value 10.0 is worse than median 7.5 (4 other runs)" "$T/out"
has "median: c stopped at step 3" \
    "stop c: median step 3: best value 8.0 is worse than median 6.5 (2 other runs)" "$T/out"
judge "median --json" minimize "{type: median, min_iter: 2}" compat \
    'o["type"] == "median" and o["bands"] == [2, 3] and o["stop"] == ["b", "c"] and o["thresholds"] == [8.0, 7.0]'

# rung 2: 9 10 8 7 6, top 2 go on (cutoff 7); c and d, past it, were promoted
judge "asha --json: rungs 1 2, b stopped at rung 2" minimize \
    "{type: asha, eta: 2, max_iter: 4}" compat \
    'o["type"] == "asha" and o["bands"] == [1, 2] and o["stop"] == ["b"] and o["thresholds"] == [10.0, 7.0]'
es "$T/j.yaml" --runs "$T/compat.json"
has "asha: the rung 2 cutoff" "rung 2: cutoff 7.0 (5 runs)" "$T/out"

# ---- errors -------------------------------------------------------------------

es --help
if [ "$rc" -eq 0 ] && grep -q "^usage: sweep early-stop" "$T/out"; then ok "--help"; else notok "--help" "$T/out"; fi
es "$T/hb.yaml"
if [ "$rc" -eq 2 ] && grep -q "usage: sweep early-stop" "$T/err"; then ok "no --runs: exit 2"; else notok "no --runs: exit 2" "$T/err"; fi
es --runs "$T/compat.json"
if [ "$rc" -eq 2 ]; then ok "no FILE: exit 2"; else notok "no FILE: exit 2" "$T/err"; fi
es config/random.yaml --runs "$T/compat.json"
if [ "$rc" -eq 2 ] && grep -q "config/random.yaml: the config has no early_terminate" "$T/err"; then
    ok "a config without early_terminate: exit 2"
else
    notok "a config without early_terminate: exit 2" "$T/err"
fi
cfg bad minimize "{type: median, min_iter: 2, eta: 3}"
es "$T/bad.yaml" --runs "$T/compat.json"
if [ "$rc" -eq 2 ] && grep -q "bad.yaml:4:46: early_terminate.eta: key 'eta' does not apply to early_terminate type median" "$T/err"; then
    ok "a bad config: exit 2, file:line:col: key.path: reason"
else
    notok "a bad config: exit 2, file:line:col: key.path: reason" "$T/err"
fi
es "$T/hb.yaml" --runs "$T/nope.json"
if [ "$rc" -eq 2 ] && [ -s "$T/err" ]; then ok "missing RUNS.json: exit 2"; else notok "missing RUNS.json: exit 2" "$T/err"; fi
echo '[{"name": "a", "state": "runing"}]' >"$T/badstate.json"
es "$T/hb.yaml" --runs "$T/badstate.json"
if [ "$rc" -eq 2 ] && grep -q "state" "$T/err"; then ok "a bad run state: exit 2"; else notok "a bad run state: exit 2" "$T/err"; fi

# ---- every rule against the Python model --------------------------------------

n_model=0
bad_model=""
for seed in 1 2 3; do
    "$PY" "$CHK" gen "$seed" "$T/rand.json"
    for spec in \
        'minimize|{"type": "hyperband", "min_iter": 1}' \
        'maximize|{"type": "hyperband", "min_iter": 2, "eta": 2}' \
        'minimize|{"type": "hyperband", "max_iter": 27, "s": 3, "strict": false}' \
        'maximize|{"type": "hyperband", "max_iter": 20, "s": 2, "eta": 2.5}' \
        'minimize|{"type": "median", "min_iter": 3}' \
        'maximize|{"type": "median", "min_iter": 1}' \
        'minimize|{"type": "asha"}' \
        'minimize|{"type": "asha", "eta": 1.5}' \
        'maximize|{"type": "asha", "min_iter": 2, "eta": 2, "max_iter": 20}'; do
        goal=${spec%%|*}
        et=${spec#*|}
        cfg model "$goal" "$et"
        es "$T/model.yaml" --runs "$T/rand.json" --json
        want=$("$PY" "$CHK" stops "$et" "$goal" "$T/rand.json")
        if ! "$PY" -c 'import json, sys
sys.exit(0 if json.load(open(sys.argv[1]))["stop"] == json.loads(sys.argv[2]) else 1)' \
            "$T/out" "$want" 2>/dev/null; then
            bad_model="$bad_model
seed $seed $goal $et: want $want, got $(cat "$T/out" "$T/err")"
        fi
        n_model=$((n_model + 1))
    done
done
if [ -z "$bad_model" ]; then
    ok "$n_model random sweeps: the stops equal the Python model's"
else
    echo "$bad_model" >"$T/model.err"
    notok "random sweeps: the stops equal the Python model's" "$T/model.err"
fi

# Python's json.dumps writes bare NaN and Infinity: read as null (skipped),
# in history and summary, not inside strings.
cfg nan minimize '{"type": "hyperband", "min_iter": 1, "eta": 2}'
cat >"$T/nan.json" <<'EOF2'
[{"name": "a", "state": "finished", "params": {"x": 1},
  "history": [{"loss": NaN}, {"loss": 2.0, "note": "NaN, Infinity"}, {"loss": Infinity}, {"loss": -Infinity}],
  "summary": {"loss": NaN}},
 {"name": "b", "state": "running", "params": {"x": 1}, "history": [{"loss": 10}]},
 {"name": "c", "state": "running", "params": {"x": 1}, "history": [{"loss": 1}]}]
EOF2
es "$T/nan.yaml" --runs "$T/nan.json" --json
check "NaN and Infinity in RUNS.json are read (rc $rc)" [ "$rc" -eq 0 ]
# band 1: a's only value is 2.0, b 10, c 1 -> sorted [1, 2, 10], threshold 2
json_is "NaN and Infinity are skipped: a has one value, b is stopped at band 1" \
    'o["thresholds"][0] == 2.0 and o["stop"] == ["b"]'
it_done

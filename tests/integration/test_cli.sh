#!/bin/sh
# test_cli.sh - the `sweep` CLI as a separate process (COMPAT.md 1-3, 5).
#
# Run from the repository root: sh tests/integration/test_cli.sh
# Env: SWEEP_BIN, absolute directory of the programs (default $PWD/bin).
#
# tests/data/bad/NAME.{yaml,json}: `sweep validate` must exit 2 and print,
# in this order, every line of NAME.expect as a substring of stderr (several
# lines may match the same stderr line). tests/data/warn/: exit 0, the
# .expect lines are warnings. tests/data/good/: exit 0, "ok", no stderr.
# Output is read by /usr/bin/python3's json module, never by grep alone.
set -u

ROOT=$(pwd)
SWEEP_BIN=${SWEEP_BIN:-$ROOT/bin}
SWEEP=$SWEEP_BIN/sweep
PY=/usr/bin/python3
DATA=$ROOT/tests/data

pass=0
fail=0

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_cli.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

# Nothing may hang (the alias bomb in particular): cap every run.
if command -v timeout >/dev/null 2>&1; then
    TO="timeout 10"
else
    TO=""
fi

ok() {
    pass=$((pass + 1))
    echo "ok - $1"
}

# notok DESC [DETAIL...]: details, then rc and the start of stdout/stderr.
notok() {
    fail=$((fail + 1))
    echo "FAIL - $1"
    shift
    for d in "$@"; do
        printf '    %s\n' "$d"
    done
    printf '    exit status: %s\n' "${rc:-?}"
    if [ -s "$tmp/out" ]; then
        echo "    stdout:"
        head -c 1500 "$tmp/out" | sed 's/^/      | /'
        echo
    fi
    if [ -s "$tmp/err" ]; then
        echo "    stderr:"
        head -n 20 "$tmp/err" | cut -c 1-400 | sed 's/^/      | /'
    fi
}

# run CMD...: stdout in $tmp/out, stderr in $tmp/err, status in $rc.
run() {
    $TO "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
}

# expect_lines EXPECTFILE FILE: every line of EXPECTFILE occurs in FILE, in
# order. Prints each line that was not found; returns 1 if any.
expect_lines() {
    el_from=1
    el_bad=0
    while IFS= read -r el_line || [ -n "$el_line" ]; do
        [ -z "$el_line" ] && continue
        el_at=$(PAT=$el_line awk -v from="$el_from" \
            'NR >= from && index($0, ENVIRON["PAT"]) { print NR; exit }' "$2")
        if [ -z "$el_at" ]; then
            if PAT=$el_line awk 'index($0, ENVIRON["PAT"]) { f = 1 } END { exit !f }' "$2"; then
                echo "out of order: $el_line"
            else
                echo "missing: $el_line"
            fi
            el_bad=1
        else
            el_from=$el_at
        fi
    done <"$1"
    return $el_bad
}

# pycheck DESC FILE SCRIPT: SCRIPT reads `data` (FILE parsed as JSON) and
# asserts; the assertion message is the failure detail.
pycheck() {
    pc_desc=$1
    pc_file=$2
    pc_script=$3
    if pc_msg=$($PY -c "
import json, sys
with open(sys.argv[1]) as fp:
    data = json.load(fp)
$pc_script
" "$pc_file" 2>&1); then
        ok "$pc_desc"
    else
        notok "$pc_desc" "$(printf '%s' "$pc_msg" | tail -n 3)"
    fi
}

# plan_ok DESC ARGS...: `sweep plan ARGS` must exit 0; returns 1 (after a
# FAIL) otherwise so the caller skips its JSON checks.
plan_ok() {
    po_desc=$1
    shift
    run "$SWEEP" plan "$@"
    if [ "$rc" -ne 0 ]; then
        notok "$po_desc" "sweep plan $* should exit 0"
        return 1
    fi
    return 0
}

if [ ! -x "$SWEEP" ]; then
    echo "FAIL - $SWEEP is not an executable (build with make, or set SWEEP_BIN)"
    echo "0 passed, 1 failed"
    exit 1
fi

cd "$DATA" || exit 1

# ---- validate: the data files --------------------------------------------

for f in bad/*.yaml bad/*.json; do
    [ -f "$f" ] || continue
    exp=${f%.*}.expect
    desc="validate $f reports its errors"
    if [ ! -f "$exp" ]; then
        rc=
        notok "$desc" "no $exp"
        continue
    fi
    run "$SWEEP" validate "$f"
    if [ "$rc" -ne 2 ]; then
        notok "$desc" "expected exit status 2"
    elif grep -q ': ok' "$tmp/out"; then
        notok "$desc" "a bad file was reported ok"
    elif missing=$(expect_lines "$exp" "$tmp/err"); then
        ok "$desc"
    else
        notok "$desc" "$missing"
    fi
done

for f in warn/*.yaml warn/*.json; do
    [ -f "$f" ] || continue
    exp=${f%.*}.expect
    desc="validate $f warns and accepts"
    if [ ! -f "$exp" ]; then
        rc=
        notok "$desc" "no $exp"
        continue
    fi
    run "$SWEEP" validate "$f"
    if [ "$rc" -ne 0 ]; then
        notok "$desc" "expected exit status 0"
    elif ! grep -q "^$f: ok" "$tmp/out"; then
        notok "$desc" "no '$f: ok' on stdout"
    elif ! grep -q 'warning: ' "$tmp/err"; then
        notok "$desc" "no 'warning: ' on stderr"
    elif missing=$(expect_lines "$exp" "$tmp/err"); then
        ok "$desc"
    else
        notok "$desc" "$missing"
    fi
done

for f in good/*.yaml good/*.json; do
    [ -f "$f" ] || continue
    desc="validate $f is ok"
    run "$SWEEP" validate "$f"
    if [ "$rc" -ne 0 ]; then
        notok "$desc" "expected exit status 0"
    elif ! grep -q "^$f: ok" "$tmp/out"; then
        notok "$desc" "no '$f: ok' on stdout"
    elif [ -s "$tmp/err" ]; then
        notok "$desc" "a valid file should print nothing on stderr"
    else
        ok "$desc"
    fi
done

# ---- validate: several files, quiet, missing, large ------------------------

run "$SWEEP" validate good/grid-lr.yaml bad/run-cap-zero.yaml good/config.json
if [ "$rc" -eq 2 ] && grep -q '^good/grid-lr.yaml: ok' "$tmp/out" &&
    grep -q '^good/config.json: ok' "$tmp/out" &&
    grep -q '^bad/run-cap-zero.yaml:2:10: run_cap:' "$tmp/err"; then
    ok "validate of several files checks every one, exit 2 if any is bad"
else
    notok "validate of several files checks every one, exit 2 if any is bad"
fi

run "$SWEEP" validate -q good/grid-lr.yaml
if [ "$rc" -eq 0 ] && [ ! -s "$tmp/out" ] && [ ! -s "$tmp/err" ]; then
    ok "validate -q prints nothing for a valid file"
else
    notok "validate -q prints nothing for a valid file"
fi

run "$SWEEP" validate "$tmp/no-such-file.yaml"
if [ "$rc" -eq 2 ] && grep -q "no-such-file.yaml" "$tmp/err" &&
    grep -qi "cannot open" "$tmp/err"; then
    ok "validate of a missing file exits 2 and names it"
else
    notok "validate of a missing file exits 2 and names it"
fi

# 150000 values and not one alias: the alias-expansion cap must not count
# the same nodes twice (a grid axis may hold up to 10^6 values).
awk 'BEGIN {
    print "method: grid"; print "parameters:"; print "  x:"; printf "    values: ["
    for (i = 0; i < 150000; i++) printf "%s%d", (i ? ", " : ""), i
    print "]"
}' >"$tmp/many-values.yaml"
run "$SWEEP" validate "$tmp/many-values.yaml"
if [ "$rc" -eq 0 ]; then
    ok "a grid of 150000 literal values (no aliases) validates"
else
    notok "a grid of 150000 literal values (no aliases) validates"
fi

# ---- usage -----------------------------------------------------------------

cd "$ROOT" || exit 1

for args in "--help" "--version" "validate --help" "plan --help"; do
    # shellcheck disable=SC2086 # split on purpose
    run "$SWEEP" $args
    case $args in
    --version) want="^sweep [0-9]" ;;
    *) want="^usage: sweep" ;;
    esac
    if [ "$rc" -eq 0 ] && grep -q "$want" "$tmp/out"; then
        ok "sweep $args exits 0 and prints $(echo "$want" | tr -d '^[]0-9')"
    else
        notok "sweep $args exits 0 and prints $(echo "$want" | tr -d '^[]0-9')"
    fi
done

run "$SWEEP" frobnicate
if [ "$rc" -eq 2 ] && grep -q "unknown command 'frobnicate'" "$tmp/err" &&
    grep -q "^usage:" "$tmp/err"; then
    ok "an unknown command exits 2 with usage on stderr"
else
    notok "an unknown command exits 2 with usage on stderr"
fi

run "$SWEEP"
if [ "$rc" -eq 2 ] && grep -q "^usage:" "$tmp/err"; then
    ok "no command exits 2 with usage"
else
    notok "no command exits 2 with usage"
fi

run "$SWEEP" validate
if [ "$rc" -eq 2 ] && grep -q "no file" "$tmp/err"; then
    ok "validate without a file exits 2"
else
    notok "validate without a file exits 2"
fi

run "$SWEEP" plan
if [ "$rc" -eq 2 ] && grep -q "^usage: sweep plan" "$tmp/err"; then
    ok "plan without a file exits 2"
else
    notok "plan without a file exits 2"
fi

for n in abc -1 1x "" 99999999999999999999999; do
    run "$SWEEP" plan config/grid-lr.yaml --count "$n"
    if [ "$rc" -eq 2 ] && grep -q -- "--count" "$tmp/err" && [ ! -s "$tmp/out" ]; then
        ok "plan --count '$n' exits 2"
    else
        notok "plan --count '$n' exits 2"
    fi
done

run "$SWEEP" plan config/random.yaml --seed nope
if [ "$rc" -eq 2 ] && grep -q -- "--seed" "$tmp/err"; then
    ok "plan --seed nope exits 2"
else
    notok "plan --seed nope exits 2"
fi

run "$SWEEP" plan config/grid-lr.yaml --bogus-flag
if [ "$rc" -eq 2 ]; then
    ok "plan with an unknown option exits 2"
else
    notok "plan with an unknown option exits 2"
fi

run "$SWEEP" plan tests/data/bad/min-not-less-uniform.yaml
if [ "$rc" -eq 2 ] && grep -q "min-not-less-uniform.yaml:6:10: parameters.lr.max:" "$tmp/err"; then
    ok "plan of a bad config exits 2 with the validation errors"
else
    notok "plan of a bad config exits 2 with the validation errors"
fi

# ---- plan: grid order, argv --------------------------------------------------

if plan_ok "grid-lr: 12 points in W&B grid order" config/grid-lr.yaml --json; then
    cp "$tmp/out" "$tmp/grid-lr.json"
    pycheck "grid-lr: 12 points in W&B grid order" "$tmp/grid-lr.json" '
import itertools
assert isinstance(data, list) and len(data) == 12, "want 12 elements, got %r" % data
want = [dict(batch_size=b, learning_rate=l, optimizer=o)
        for b, l, o in itertools.product([32, 64], [0.0001, 0.001, 0.01], ["adam", "sgd"])]
got = [e["params"] for e in data]
assert got == want, "order:\n got %r\nwant %r" % (got, want)
for e in data:
    assert list(e["params"]) == sorted(e["params"]), "keys not sorted: %r" % e
    assert "argv" not in e, "argv without --commands: %r" % e
'
fi

if plan_ok "grid-lr --commands: every element has argv" config/grid-lr.yaml \
    --json --commands --interpreter python; then
    cp "$tmp/out" "$tmp/grid-lr-cmd.json"
    pycheck "grid-lr --commands: every element has argv, the 6th exactly" "$tmp/grid-lr-cmd.json" '
assert len(data) == 12, len(data)
for e in data:
    assert isinstance(e.get("argv"), list) and all(isinstance(a, str) for a in e["argv"]), e
want = ["/usr/bin/env", "python", "train.py", "--batch_size=32",
        "--learning_rate=0.01", "--optimizer=sgd"]
assert data[5]["argv"] == want, "argv[5]:\n got %r\nwant %r" % (data[5]["argv"], want)
assert data[5]["params"] == {"batch_size": 32, "learning_rate": 0.01, "optimizer": "sgd"}, data[5]
'
fi

run env SWEEP_INTERPRETER=/opt/py/bin/python3.12 "$SWEEP" plan config/grid-lr.yaml --json --commands --count 1
if [ "$rc" -eq 0 ] && grep -q '"argv": \["/usr/bin/env", "/opt/py/bin/python3.12", "train.py"' "$tmp/out"; then
    ok "SWEEP_INTERPRETER sets \${interpreter}"
else
    notok "SWEEP_INTERPRETER sets \${interpreter}"
fi

run "$SWEEP" plan config/grid-lr.yaml --commands --count 1 --interpreter python
if [ "$rc" -eq 0 ] && grep -q '^1\. batch_size=32 learning_rate=0.0001 optimizer=adam$' "$tmp/out" &&
    grep -q '/usr/bin/env python train.py --batch_size=32 --learning_rate=0.0001 --optimizer=adam$' "$tmp/out"; then
    ok "plan text output shows the point and its command"
else
    notok "plan text output shows the point and its command"
fi

if plan_ok "nested groups 3 deep re-nest in params" tests/data/good/nested-3-deep.yaml --json; then
    cp "$tmp/out" "$tmp/nested3.json"
    pycheck "nested groups 3 deep re-nest in params" "$tmp/nested3.json" '
assert len(data) == 4, len(data)
want = [{"lr": 0.01, "model": {"encoder": {"attn": {"dropout": 0.1, "heads": h}, "layers": l}}}
        for h in (4, 8) for l in (2, 4)]
got = [e["params"] for e in data]
assert got == want, "\n got %r\nwant %r" % (got, want)
'
fi

cat >"$tmp/runs-nested.json" <<'EOF2'
[{"state": "failed", "params": {"lr": 0.01, "model": {"encoder": {"layers": 4, "attn": {"heads": 4, "dropout": 0.1}}}}}]
EOF2
if plan_ok "a nested prior run covers its point" tests/data/good/nested-3-deep.yaml --json --runs "$tmp/runs-nested.json"; then
    cp "$tmp/out" "$tmp/nested3p.json"
    pycheck "a prior run with nested params covers its point" "$tmp/nested3p.json" '
got = [(e["params"]["model"]["encoder"]["attn"]["heads"], e["params"]["model"]["encoder"]["layers"]) for e in data]
assert got == [(4, 2), (8, 2), (8, 4)], got
'
fi

if plan_ok "anchors and aliases expand" tests/data/good/anchors-aliases.yaml --json; then
    cp "$tmp/out" "$tmp/alias.json"
    pycheck "anchors and aliases expand to the anchored values" "$tmp/alias.json" '
got = [e["params"] for e in data]
assert len(got) == 16, len(got)
assert {p["dec_width"] for p in got} == {64, 128}, got
assert {p["dec_act"] for p in got} == {"relu", "gelu"}, got
'
fi

if plan_ok "YAML 1.2 numbers" tests/data/good/yaml12-numbers.yaml --json; then
    cp "$tmp/out" "$tmp/yaml12.json"
    pycheck "YAML 1.2 numbers: 1e-5 is a float, 0x10 and 0o17 are ints" "$tmp/yaml12.json" '
xs = []
for e in data:
    if e["params"]["x"] not in xs:
        xs.append(e["params"]["x"])
want = [1e-05, 1000.0, 250.0, 0.5, -0.0015, 16, 15, 7]
assert xs == want, xs
types = [type(x).__name__ for x in xs]
assert types == ["float"] * 5 + ["int"] * 3, types
ys = [e["params"]["y"] for e in data[:4]]
assert ys == [0.1, 0.2, 0.3, 0.4], ys
'
    if grep -q '"x": 1e-05' "$tmp/yaml12.json"; then
        ok "1e-5 prints as Python does (1e-05)"
    else
        notok "1e-5 prints as Python does (1e-05)"
    fi
fi

# ---- plan: grid values ------------------------------------------------------

if plan_ok "grid dedupe" tests/data/good/grid-dedupe.yaml --json; then
    cp "$tmp/out" "$tmp/dedupe.json"
    pycheck "grid values [1, 1.0, 2, true]: 1 and 1.0 collapse, true stays (3 points)" "$tmp/dedupe.json" '
got = [(type(e["params"]["v"]).__name__, e["params"]["v"]) for e in data]
assert got == [("int", 1), ("int", 2), ("bool", True)], got
'
fi

printf '[{"state": "finished", "params": {"v": 1.0}}]\n' >"$tmp/runs-1.0.json"
if plan_ok "prior 1.0 covers 1" tests/data/good/grid-dedupe.yaml --json --runs "$tmp/runs-1.0.json"; then
    cp "$tmp/out" "$tmp/dedupe2.json"
    pycheck "a prior run with 1.0 covers the point 1, not true" "$tmp/dedupe2.json" '
got = [(type(e["params"]["v"]).__name__, e["params"]["v"]) for e in data]
assert got == [("int", 2), ("bool", True)], got
'
fi

printf '[{"state": "finished", "params": {"v": true}}]\n' >"$tmp/runs-true.json"
if plan_ok "prior true does not cover 1" tests/data/good/grid-dedupe.yaml --json --runs "$tmp/runs-true.json"; then
    cp "$tmp/out" "$tmp/dedupe3.json"
    pycheck "a prior run with true covers true, not 1" "$tmp/dedupe3.json" '
got = [(type(e["params"]["v"]).__name__, e["params"]["v"]) for e in data]
assert got == [("int", 1), ("int", 2)], got
'
fi

if plan_ok "q_uniform grid" tests/data/good/grid-q-uniform.yaml --json; then
    cp "$tmp/out" "$tmp/q.json"
    pycheck "q_uniform grid 0..1 step 0.1: exactly 0.0..0.9, max excluded" "$tmp/q.json" '
got = [e["params"]["q"] for e in data]
want = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
assert got == want, got
assert all(type(v) is float for v in got), got
'
    if grep -q '"q": 0.3}' "$tmp/q.json" && ! grep -q '0000000000' "$tmp/q.json" &&
        ! grep -q '9999999999' "$tmp/q.json"; then
        ok "q_uniform grid prints 0.3, not 0.30000000000000004"
    else
        notok "q_uniform grid prints 0.3, not 0.30000000000000004"
    fi
fi

cat >"$tmp/q3.yaml" <<'EOF'
method: grid
parameters:
  a:
    distribution: q_uniform
    min: 0
    max: 3
    q: 0.3
  b:
    distribution: q_uniform
    min: 0
    max: 10
    q: 2
EOF
if plan_ok "q_uniform grid, step 0.3 and integer step" "$tmp/q3.yaml" --json; then
    cp "$tmp/out" "$tmp/q3.json"
    pycheck "q_uniform grid: step 0.3 up to 2.7 exactly, integer q gives integers" "$tmp/q3.json" '
a = sorted({e["params"]["a"] for e in data})
b = sorted({e["params"]["b"] for e in data})
assert a == [0.0, 0.3, 0.6, 0.9, 1.2, 1.5, 1.8, 2.1, 2.4, 2.7], a
assert b == [0, 2, 4, 6, 8] and all(type(v) is int for v in b), b
assert len(data) == 50, len(data)
'
fi

if plan_ok "int_uniform grid" tests/data/good/grid-int-uniform.yaml --json; then
    cp "$tmp/out" "$tmp/int.json"
    pycheck "int_uniform grid -2..2 is inclusive" "$tmp/int.json" '
got = [e["params"]["n"] for e in data]
assert got == [-2, -1, 0, 1, 2] and all(type(v) is int for v in got), got
'
fi

# ---- plan: grid with prior runs --------------------------------------------

# Points of grid-priors.yaml, in order:
#   0 (3000000, {a:1,b:2})  1 (3000000, {b:1,a:2})  2 (3000000, "none")
#   3 (7, {a:1,b:2})        4 (7, {b:1,a:2})        5 (7, "none")
cat >"$tmp/runs.json" <<'EOF'
[
  {"name": "r1", "state": "failed", "params": {"big": 3000000.0, "cfg": {"b": 2, "a": 1}}},
  {"name": "r2", "state": "crashed", "params": {"big": 7, "cfg": "none"}},
  {"name": "r3", "state": "running", "params": {"cfg": {"a": 2, "b": 1}, "big": 3000000}},
  {"name": "r4", "state": "finished", "params": {"big": 8, "cfg": "none"}}
]
EOF
PRIORS_PY='
P = [(3000000, {"a": 1, "b": 2}), (3000000, {"b": 1, "a": 2}), (3000000, "none"),
     (7, {"a": 1, "b": 2}), (7, {"b": 1, "a": 2}), (7, "none")]
def points(idx):
    return [{"big": P[i][0], "cfg": P[i][1]} for i in idx]
got = [e["params"] for e in data]
'
if plan_ok "grid with prior runs" tests/data/good/grid-priors.yaml --json --runs "$tmp/runs.json"; then
    cp "$tmp/out" "$tmp/priors.json"
    pycheck "prior runs (failed, crashed, running) cover points; 3000000.0 == 3000000; map keys in any order" \
        "$tmp/priors.json" "$PRIORS_PY"'
assert got == points([2, 3, 4]), got
assert type(got[0]["big"]) is int, got
'
fi

if plan_ok "grid with prior runs, --count 2" tests/data/good/grid-priors.yaml --json --runs "$tmp/runs.json" --count 2; then
    cp "$tmp/out" "$tmp/priors2.json"
    pycheck "grid with prior runs, --count 2 gives the next 2 in order" "$tmp/priors2.json" "$PRIORS_PY"'
assert got == points([2, 3]), got
'
fi

{ cat tests/data/good/grid-priors.yaml; echo "run_cap: 5"; } >"$tmp/cap5.yaml"
if plan_ok "run_cap 5 with 4 prior runs" "$tmp/cap5.yaml" --json --runs "$tmp/runs.json"; then
    cp "$tmp/out" "$tmp/cap5.json"
    pycheck "run_cap 5 with 4 prior runs (one off the grid) leaves 1 run" "$tmp/cap5.json" "$PRIORS_PY"'
assert got == points([2]), got
'
fi

{ cat tests/data/good/grid-priors.yaml; echo "run_cap: 4"; } >"$tmp/cap4.yaml"
run "$SWEEP" plan "$tmp/cap4.yaml" --json --runs "$tmp/runs.json"
if [ "$rc" -eq 0 ] && [ "$(cat "$tmp/out")" = "[]" ]; then
    ok "run_cap reached: plan --json prints [] and exits 0"
else
    notok "run_cap reached: plan --json prints [] and exits 0"
fi

run "$SWEEP" plan "$tmp/cap4.yaml" --runs "$tmp/runs.json"
if [ "$rc" -eq 0 ] && [ ! -s "$tmp/out" ] && grep -q "run_cap" "$tmp/err" &&
    ! grep -q "every grid point is covered" "$tmp/err"; then
    ok "run_cap reached on a grid: the text message says run_cap, not grid exhausted"
else
    notok "run_cap reached on a grid: the text message says run_cap, not grid exhausted"
fi

cat >"$tmp/runs-all.json" <<'EOF'
[
  {"state": "finished", "params": {"big": 3000000, "cfg": {"a": 1, "b": 2}}},
  {"state": "killed", "params": {"big": 3000000, "cfg": {"a": 2, "b": 1}}},
  {"state": "preempted", "params": {"big": 3000000.0, "cfg": "none"}},
  {"state": "pending", "params": {"big": 7, "cfg": {"b": 2, "a": 1}}},
  {"state": "preempting", "params": {"big": 7, "cfg": {"a": 2, "b": 1}}},
  {"state": "failed", "params": {"big": 7.0, "cfg": "none"}}
]
EOF
run "$SWEEP" plan tests/data/good/grid-priors.yaml --json --runs "$tmp/runs-all.json"
if [ "$rc" -eq 0 ] && [ "$(cat "$tmp/out")" = "[]" ]; then
    ok "exhausted grid: plan --json prints [] and exits 0"
else
    notok "exhausted grid: plan --json prints [] and exits 0"
fi

run "$SWEEP" plan tests/data/good/grid-priors.yaml --runs "$tmp/runs-all.json"
if [ "$rc" -eq 0 ] && [ ! -s "$tmp/out" ] && grep -q "every grid point is covered" "$tmp/err"; then
    ok "exhausted grid: text mode says every point is covered, exit 0"
else
    notok "exhausted grid: text mode says every point is covered, exit 0"
fi

run sh -c "\"$SWEEP\" plan tests/data/good/grid-priors.yaml --json --runs - <\"$tmp/runs.json\""
if [ "$rc" -eq 0 ] && cmp -s "$tmp/out" "$tmp/priors.json"; then
    ok "--runs - reads prior runs from stdin"
else
    notok "--runs - reads prior runs from stdin"
fi

# ---- plan: malformed RUNS.json -----------------------------------------------

printf '[\n  {"state": "failed", "params": {"v": 1,}}\n]\n' >"$tmp/bad-runs.json"
run "$SWEEP" plan tests/data/good/grid-dedupe.yaml --runs "$tmp/bad-runs.json"
if [ "$rc" -eq 2 ] && grep -q "$tmp/bad-runs.json:2:41: " "$tmp/err" && [ ! -s "$tmp/out" ]; then
    ok "malformed RUNS.json exits 2 with file:line:col"
else
    notok "malformed RUNS.json exits 2 with file:line:col" "want $tmp/bad-runs.json:2:41: on stderr"
fi

printf '{"runs": []}\n' >"$tmp/obj-runs.json"
run "$SWEEP" plan tests/data/good/grid-dedupe.yaml --runs "$tmp/obj-runs.json"
if [ "$rc" -eq 2 ] && grep -q "obj-runs.json: runs: must be a JSON array" "$tmp/err"; then
    ok "RUNS.json that is not an array exits 2"
else
    notok "RUNS.json that is not an array exits 2"
fi

printf '[{"state": "finished"}, {"state": "done", "params": {}}]\n' >"$tmp/state-runs.json"
run "$SWEEP" plan tests/data/good/grid-dedupe.yaml --runs "$tmp/state-runs.json"
if [ "$rc" -eq 2 ] && grep -q "state-runs.json: runs\[1\].state: " "$tmp/err"; then
    ok "RUNS.json with an unknown state exits 2 naming runs[1].state"
else
    notok "RUNS.json with an unknown state exits 2 naming runs[1].state"
fi

run "$SWEEP" plan tests/data/good/grid-dedupe.yaml --runs "$tmp/missing-runs.json"
if [ "$rc" -eq 2 ] && grep -q "missing-runs.json" "$tmp/err" && ! grep -q -- ":-1:-1" "$tmp/err"; then
    ok "a missing RUNS.json exits 2 naming it (no bogus -1:-1 position)"
else
    notok "a missing RUNS.json exits 2 naming it (no bogus -1:-1 position)"
fi

# ---- plan: random --------------------------------------------------------------

R=tests/data/good/random-nested.yaml
run "$SWEEP" plan $R --json --seed 42 --count 5
cp "$tmp/out" "$tmp/r42a.json"
rc_a=$rc
run "$SWEEP" plan $R --json --seed 42 --count 5
cp "$tmp/out" "$tmp/r42b.json"
rc_b=$rc
run "$SWEEP" plan $R --json --seed 43 --count 5
cp "$tmp/out" "$tmp/r43.json"
if [ "$rc_a" -eq 0 ] && [ "$rc_b" -eq 0 ] && cmp -s "$tmp/r42a.json" "$tmp/r42b.json"; then
    ok "random with --seed 42 is reproducible"
else
    notok "random with --seed 42 is reproducible"
fi
if [ "$rc" -eq 0 ] && ! cmp -s "$tmp/r42a.json" "$tmp/r43.json"; then
    ok "random with --seed 43 differs from --seed 42"
else
    notok "random with --seed 43 differs from --seed 42"
fi
pycheck "random --count 5 gives 5 draws, nested under opt, within bounds" "$tmp/r42a.json" '
assert len(data) == 5, len(data)
for e in data:
    p = e["params"]
    assert sorted(p) == ["bs", "opt"] and sorted(p["opt"]) == ["lr", "name"], p
    assert type(p["bs"]) is int and 1 <= p["bs"] <= 1000000, p
    assert type(p["opt"]["lr"]) is float and 1e-5 <= p["opt"]["lr"] <= 1e-1, p
    assert p["opt"]["name"] in ("adam", "sgd"), p
assert len({json.dumps(e) for e in data}) > 1, "5 identical draws"
'

run "$SWEEP" plan $R --json --seed 42 --count 1
if [ "$rc" -eq 0 ] && $PY -c '
import json, sys
a = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2]))
assert a == b[:1]
' "$tmp/out" "$tmp/r42a.json" 2>/dev/null; then
    ok "random --count 1 is the first draw of --count 5 (same seed)"
else
    notok "random --count 1 is the first draw of --count 5 (same seed)"
fi

run "$SWEEP" plan $R --json --seed 7
if [ "$rc" -eq 0 ] && $PY -c 'import json,sys; assert len(json.load(open(sys.argv[1]))) == 1' "$tmp/out" 2>/dev/null; then
    ok "random without --count gives 1 draw"
else
    notok "random without --count gives 1 draw"
fi

run "$SWEEP" plan config/random.yaml --json --seed 7
if [ "$rc" -eq 0 ] && $PY -c 'import json,sys; assert len(json.load(open(sys.argv[1]))) == 1' "$tmp/out" 2>/dev/null; then
    ok "random with run_cap 20 and no --count gives 1 draw (the documented default)"
else
    notok "random with run_cap 20 and no --count gives 1 draw (the documented default)" \
        "plan --help: 'random prints --count draws (default 1)'"
fi

$PY -c '
import json
print(json.dumps([{"state": "finished", "params": {"learning_rate": 0.01}}] * 18))
' >"$tmp/runs18.json"
run "$SWEEP" plan config/random.yaml --json --seed 7 --count 5 --runs "$tmp/runs18.json"
if [ "$rc" -eq 0 ] && $PY -c 'import json,sys; assert len(json.load(open(sys.argv[1]))) == 2' "$tmp/out" 2>/dev/null; then
    ok "random: run_cap 20 with 18 prior runs allows 2 more"
else
    notok "random: run_cap 20 with 18 prior runs allows 2 more"
fi

if plan_ok "inferred kinds" tests/data/good/inferred-kinds.yaml --json --seed 1 --count 20; then
    cp "$tmp/out" "$tmp/inferred.json"
    pycheck "inferred kinds: int min/max give ints, a float bound gives floats" "$tmp/inferred.json" '
assert len(data) == 20, len(data)
for e in data:
    p = e["params"]
    assert type(p["ints"]) is int and 1 <= p["ints"] <= 10, p
    assert type(p["floats"]) is float and 1 <= p["floats"] <= 10, p
    assert type(p["floats2"]) is float and 0.5 <= p["floats2"] <= 2, p
    assert p["const"] == 3 and p["cat"] in ("adam", "sgd") and p["weighted"] in (1, 2, 3), p
'
fi

cat >"$tmp/bayes.yaml" <<'EOF2'
method: bayes
metric: {name: loss, goal: minimize}
parameters:
  x: {min: 0.0, max: 1.0}
  opt:
    parameters:
      k: {min: 1, max: 8}
EOF2
cat >"$tmp/bayes-runs.json" <<'EOF2'
[{"name": "a", "state": "finished", "params": {"x": 0.0, "opt": {"k": 1}}, "history": [{"loss": 0.09}]},
 {"name": "b", "state": "finished", "params": {"x": 1.0, "opt": {"k": 8}}, "history": [{"loss": 0.49}]},
 {"name": "c", "state": "running", "params": {"x": 0.5, "opt": {"k": 4}}, "history": []}]
EOF2
run "$SWEEP" plan "$tmp/bayes.yaml" --runs "$tmp/bayes-runs.json" --count 3 --seed 5 --json
if [ "$rc" -eq 0 ] && $PY -c '
import json, sys
runs = json.load(open(sys.argv[1]))
assert len(runs) == 3, runs
pts = [(r["params"]["x"], r["params"]["opt"]["k"]) for r in runs]
assert all(0 <= x <= 1 and type(k) is int and 1 <= k <= 8 for x, k in pts), pts
assert len(set(pts)) == 3, pts
' "$tmp/out" 2>"$tmp/py.err"; then
    ok "bayes plans 3 distinct runs in bounds, nested, given prior runs"
else
    notok "bayes plans 3 distinct runs in bounds, nested, given prior runs" "$tmp/py.err"
fi

# ---- commands: ${args} with nested maps, ${envvar:NAME} ------------------------

unset SWEEP_TEST_UNSET_VAR
run env SWEEP_TEST_OUT=/srv/out "$SWEEP" plan \
    tests/data/good/envvar-command.yaml --json --commands --interpreter python
if [ "$rc" -eq 0 ]; then
    cp "$tmp/out" "$tmp/envvar.json"
    pycheck "\${envvar:NAME} substituted inside a token; \${args} prints nested maps as Python reprs" "$tmp/envvar.json" '
assert len(data) == 1, data
want = ["/usr/bin/env", "python", "train.py", "--out=/srv/out/run", "SWEEP_TEST_UNSET_VAR",
        "--flag=True", "--none=None", "--opt={'"'"'betas'"'"': [0.9, 0.999], '"'"'lr'"'"': 0.001}"]
assert data[0]["argv"] == want, "\n got %r\nwant %r" % (data[0]["argv"], want)
assert data[0]["params"] == {"flag": True, "none": None, "opt": {"betas": [0.9, 0.999], "lr": 0.001}}, data[0]
'
else
    notok "\${envvar:NAME} substituted inside a token; \${args} prints nested maps as Python reprs"
fi

if plan_ok "random nested with --commands" $R --json --commands --seed 5 --count 1 --interpreter python; then
    cp "$tmp/out" "$tmp/rn.json"
    pycheck "\${args} of a random nested point matches its params" "$tmp/rn.json" '
e = data[0]
p = e["params"]
opt = "--opt={" + ", ".join("%r: %r" % (k, v) for k, v in p["opt"].items()) + "}"
want = ["/usr/bin/env", "python", "train.py", "--bs=%d" % p["bs"], opt]
assert e["argv"] == want, "\n got %r\nwant %r" % (e["argv"], want)
'
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]

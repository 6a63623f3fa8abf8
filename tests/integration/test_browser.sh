#!/bin/sh
# test_browser.sh - the dashboard in headless Chromium: `sweep local` runs a
# random sweep (nested and categorical parameters, one value
# "<script>alert(1)</script>", runs a few seconds long) and
# tests/browser/dashboard.mjs drives Debian's /usr/bin/chromium with
# playwright-core (npm, pinned in tests/browser/package-lock.json; no
# browser is downloaded) on the page whose URL `sweep local` printed first.
# Screenshots are kept in build/browser-shots/. Ends with "N passed, N failed".
. tests/integration/lib.sh
it_init test_browser
D=$IT_TMP
SHOTS=${O:-build}/browser-shots
mkdir -p "$SHOTS"

if [ ! -x /usr/bin/chromium ] || ! command -v node >/dev/null 2>&1; then
    notok "chromium and node are installed (scripts/install-deps.sh)"
    it_done
fi
if [ ! -d tests/browser/node_modules/playwright-core ]; then
    (cd tests/browser && npm ci --no-audit --no-fund --ignore-scripts) >"$D/npm.log" 2>&1 ||
        { notok "npm ci in tests/browser" "$D/npm.log"; it_done; }
fi

cat >"$D/sweep.yaml" <<'EOF2'
name: browser test
method: random
run_cap: 24
metric: {name: loss, goal: minimize}
parameters:
  opt:
    parameters:
      lr: {distribution: log_uniform_values, min: 0.0001, max: 0.1}
      momentum: {min: 0.0, max: 0.99}
  act: {values: ["<script>alert(1)</script>", relu, tanh]}
  layers: {values: [1, 2, 3, 4]}
command:
  - /usr/bin/python3
  - -c
  - |
    import json, os, time
    p = json.loads(os.environ["SWEEP_PARAMS"])
    for s in range(1, 6):
        loss = 1 / s + 10 * p["opt"]["lr"] + (0.5 if p["act"] == "relu" else 0)
        print(f"step={s} loss={loss}", flush=True)
        time.sleep(0.4)
EOF2
TMPDIR=$D "$SWEEP" local "$D/sweep.yaml" --workers 2 --http 127.0.0.1:0 \
    >"$D/local.out" 2>"$D/local.err" </dev/null &
LP=$!
IT_ALL="$IT_ALL $LP"
it_wait 30 sh -c "head -n 1 '$D/local.out' | grep -q '^http://'"
URL=$(head -n 1 "$D/local.out")
case $URL in
http://127.0.0.1:*/sweeps/*) ok "sweep local printed the page's URL first ($URL)" ;;
*)
    notok "sweep local printed the page's URL first (got '$URL')" "$D/local.err"
    it_done
    ;;
esac
# some runs finished first, so the importance and curves have data
it_wait 30 sh -c "curl -s '${URL%/sweeps/*}/api/sweeps/${URL##*/}' | grep -q '\"finished\": *[6-9]'"
node tests/browser/dashboard.mjs "$URL" "$SHOTS" >"$D/browser.out" 2>&1
while IFS= read -r line; do
    case $line in
    "ok - "*) ok "${line#ok - }" ;;
    "FAIL - "*) notok "${line#FAIL - }" ;;
    "      | "*) echo "$line" ;;
    esac
done <"$D/browser.out"
grep -q -E '^[0-9]+ passed, [0-9]+ failed' "$D/browser.out" ||
    notok "the browser test printed its summary" "$D/browser.out"
check "screenshots saved ($SHOTS)" [ -s "$SHOTS/sweep-page.png" ]
kill -INT $LP 2>/dev/null
it_wait_exit $LP 30
it_done

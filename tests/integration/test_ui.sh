#!/bin/sh
# test_ui.sh - `sweep ui`, the JSON API over HTTP (docs/ui.md), on a real
# stack: `sweep broker`, redis-server, a controller, a worker running a
# sweep with nested and categorical parameters (one of them
# "<script>alert(1)</script>"). Every endpoint, bad and unknown ids, the
# read-only rule, the loopback rule, the token (header, ?token= then
# cookie), and a Redis that goes away (503, JSON) and comes back; and
# `sweep export` (CSV and JSON) and `sweep status --watch` (lines, JSON,
# a terminal's live view).
# Ends with "N passed, N failed".
#
# Run from the repository root: sh tests/integration/test_ui.sh
. tests/integration/lib.sh
it_init test_ui
D=$IT_TMP

it_broker broker || { notok "sweep broker starts" "$D/broker.log"; it_done; }
it_redis redis || { notok "redis-server starts" "$D/redis.log"; it_done; }
it_bg ctl "$CTL" --brokers "$BOOT" --redis "$REDIS_URL"

cat >"$D/sweep.yaml" <<'EOF'
name: ui test
method: grid
metric: {name: loss, goal: minimize}
parameters:
  opt:
    parameters:
      lr: {values: [0.1, 0.01]}
  act: {values: ["<script>alert(1)</script>", relu]}
command: [/bin/sh, -c, "echo loss=2; echo loss=1"]
EOF
SID=$(timeout 30 "$SWEEP" create "$D/sweep.yaml" --brokers "$BOOT" --redis "$REDIS_URL" \
    2>"$D/create.err" | tail -n 1)
[ -n "$SID" ] || notok "sweep create" "$D/create.err"
it_bg w "$WRK" --brokers "$BOOT" --run-dir "$D/runs" "$SID"
it_wait_exit "$IT_PID" 60
check "the worker ran the 4 runs of the grid" [ "$(rcli HGET "sw:s:$SID" n:finished)" = 4 ]

# ui_start NAME ARGS...: `sweep ui` in the background; sets U, its URL.
ui_start() {
    us_name=$1
    shift
    "$SWEEP" ui --redis "$REDIS_URL" "$@" >"$D/$us_name.out" 2>"$D/$us_name.log" </dev/null &
    UIPID=$!
    IT_ALL="$IT_ALL $UIPID"
    U=""
    it_wait 10 sh -c "head -n 1 '$D/$us_name.out' | grep -q '^http://'"
    U=$(head -n 1 "$D/$us_name.out")
    [ -n "$U" ]
}

# get PATH [CURL ARGS]: the body in $D/body.json, the status in $CODE.
get() {
    g_path=$1
    shift
    CODE=$(curl -s -o "$D/body.json" -w '%{http_code}' "$@" "${U%/}$g_path")
}

# jq_py EXPR: EXPR (Python, on the body as b) is true.
jq_py() {
    "$PY" -c "import json,sys; b=json.load(open(sys.argv[1])); sys.exit(0 if ($1) else 1)" \
        "$D/body.json"
}

# api DESC PATH CODE EXPR [CURL ARGS]: one request, its status and body.
api() {
    a_desc=$1 a_path=$2 a_code=$3 a_expr=$4
    shift 4
    get "$a_path" "$@"
    if [ "$CODE" = "$a_code" ] && jq_py "$a_expr" 2>"$D/py.err"; then
        ok "$a_desc"
    else
        echo "HTTP $CODE" >>"$D/body.json"
        notok "$a_desc (HTTP $CODE)" "$D/body.json" "$D/py.err"
    fi
}

if ! ui_start ui; then
    notok "sweep ui prints its URL first" "$D/ui.out" "$D/ui.log"
    it_done
fi
case $U in
http://127.0.0.1:[0-9]*/) ok "sweep ui --http 127.0.0.1:0 prints its URL as its first line ($U)" ;;
*) notok "sweep ui prints http://127.0.0.1:PORT/ first (got '$U')" "$D/ui.out" ;;
esac

api "/api/sweeps: the sweep, its name, method, state and counts" /api/sweeps 200 \
    "[s['id'] for s in b['sweeps']] == ['$SID'] and b['sweeps'][0]['name'] == 'ui test' and b['sweeps'][0]['method'] == 'grid' and b['sweeps'][0]['runs'].get('finished') == 4 and b['sweeps'][0]['metric']['name'] == 'loss'"
api "/api/sweeps/ID: the config as written, with the nested and categorical parameters" \
    "/api/sweeps/$SID" 200 \
    "b['id'] == '$SID' and b['config']['parameters']['opt']['parameters']['lr']['values'] == [0.1, 0.01] and b['config']['parameters']['act']['values'][0] == '<script>alert(1)</script>'"
api "/api/sweeps/ID/runs: the 4 runs, their params nested, each summary's loss 1" \
    "/api/sweeps/$SID/runs" 200 \
    "b['total'] == 4 and b['next'] is None and len(b['runs']) == 4 and sorted((r['params']['opt']['lr'], r['params']['act']) for r in b['runs']) == sorted((l, a) for l in (0.1, 0.01) for a in ('<script>alert(1)</script>', 'relu')) and all(r['summary'].get('loss') == 1 and r['state'] == 'finished' and 'history' not in r for r in b['runs'])"
get "/api/sweeps/$SID/runs"
ALL=$("$PY" -c "import json,sys; print(' '.join(r['id'] for r in json.load(open(sys.argv[1]))['runs']))" "$D/body.json")
RUN=${ALL%% *}
api "runs?limit=3: a page of 3, next cursor '3'" "/api/sweeps/$SID/runs?limit=3" 200 \
    "b['total'] == 4 and len(b['runs']) == 3 and b['next'] == '3' and ' '.join(r['id'] for r in b['runs']) == ' '.join('$ALL'.split()[:3])"
api "runs?after=3&limit=3: the last run, next null" "/api/sweeps/$SID/runs?after=3&limit=3" 200 \
    "len(b['runs']) == 1 and b['next'] is None and b['runs'][0]['id'] == '$ALL'.split()[3]"
api "runs?after=10: past the end, an empty page" "/api/sweeps/$SID/runs?after=10" 200 \
    "b['runs'] == [] and b['total'] == 4 and b['next'] is None"
api "/api/sweeps/ID/runs/RUN: the run, its state, attempt and summary" \
    "/api/sweeps/$SID/runs/$RUN" 200 \
    "b['id'] == '$RUN' and b['state'] == 'finished' and b['attempt'] == 1 and b['summary']['loss'] == 1 and 'history' not in b"
api "/api/sweeps/ID/runs/RUN/history: its 2 metric events in order" \
    "/api/sweeps/$SID/runs/$RUN/history" 200 \
    "b['run'] == '$RUN' and [e['loss'] for e in b['history']] == [2, 1] and [e['_step'] for e in b['history']] == [0, 1]"

# bad and unknown
api "an unknown sweep: 404 with a JSON error" /api/sweeps/nosuch 404 \
    "b['status'] == 404 and 'nosuch' in b['error']"
api "runs of an unknown sweep: 404" /api/sweeps/nosuch/runs 404 "b['status'] == 404"
api "an unknown run: 404 naming it" "/api/sweeps/$SID/runs/nosuchrun" 404 \
    "'nosuchrun' in b['error']"
api "history of an unknown run: 404" "/api/sweeps/$SID/runs/nosuchrun/history" 404 \
    "b['status'] == 404"
api "a run id of another sweep's kind of garbage: 400" "/api/sweeps/$SID/runs/a%20b" 400 \
    "'run id' in b['error']"
api "a sweep id with a quote and angle brackets: 400, JSON" "/api/sweeps/%3Cx%3E%22" 400 \
    "'sweep id' in b['error']"
for q in "limit=0" "limit=1001" "limit=x" "after=-1" "after=1e3"; do
    api "runs?$q: 400 with a JSON error" "/api/sweeps/$SID/runs?$q" 400 \
        "b['status'] == 400 and ('limit' in b['error'] or 'after' in b['error'])"
done
api "an unknown path: 404, JSON" /nope 404 "b['status'] == 404"
api "/api/session without a token: no control, no CSRF token" /api/session 200 \
    "b['auth'] is False and b['control'] is False and 'csrf' not in b"
api "/api/sweeps/ID/other: 404" "/api/sweeps/$SID/other" 404 "b['status'] == 404"
api "POST: 405, read-only" /api/sweeps 405 "'read-only' in b['error']" -X POST -d x=1
api "DELETE: 405" "/api/sweeps/$SID" 405 "b['status'] == 405" -X DELETE
curl -s -D "$D/headers" -o /dev/null "${U%/}/api/sweeps"
if grep -qi '^Content-Type: application/json' "$D/headers" &&
    grep -qi '^X-Content-Type-Options: nosniff' "$D/headers" &&
    grep -qi '^Cache-Control: no-store' "$D/headers"; then
    ok "responses are application/json, nosniff, no-store"
else
    notok "responses are application/json, nosniff, no-store" "$D/headers"
fi
# ---- the pages: compiled in, gzip, cache headers ------------------------------------
for pg in / "/sweeps/$SID" "/sweeps/$SID/runs/$RUN"; do
    code=$(curl -s --compressed -D "$D/pheaders" -o "$D/page.html" -w '%{http_code}' "${U%/}$pg")
    if [ "$code" = 200 ] && grep -qi '^Content-Type: text/html' "$D/pheaders" &&
        grep -qi '^Content-Encoding: gzip' "$D/pheaders" &&
        grep -qi "^Content-Security-Policy: default-src 'none'; script-src 'self'" "$D/pheaders" &&
        grep -q '/assets/app.js' "$D/page.html"; then
        ok "page $pg: the dashboard, gzip, with its CSP"
    else
        notok "page $pg: the dashboard, gzip, with its CSP (HTTP $code)" "$D/pheaders"
    fi
done
code=$(curl -s --compressed -D "$D/aheaders" -o "$D/app.js" -w '%{http_code}' "${U%/}/assets/app.js")
ETAG=$(sed -n 's/^[Ee][Tt][Aa][Gg]: *//p' "$D/aheaders" | tr -d '\r')
if [ "$code" = 200 ] && grep -qi '^Cache-Control: public, max-age=' "$D/aheaders" &&
    [ -n "$ETAG" ] && cmp -s "$D/app.js" producer/ui/app.js; then
    ok "/assets/app.js: the file as in producer/ui, cacheable, with an ETag"
else
    notok "/assets/app.js: the file as in producer/ui, cacheable, with an ETag (HTTP $code)" "$D/aheaders"
fi
code=$(curl -s --compressed -o /dev/null -w '%{http_code}' -H "If-None-Match: $ETAG" "${U%/}/assets/app.js")
check "If-None-Match of its ETag: 304" [ "$code" = 304 ]
api "a page asked without gzip: 406, JSON naming the fix" / 406 "'gzip' in b['error']"
api "an unknown asset: 404" /assets/nope.js 404 "b['status'] == 404"
api "a page of a malformed sweep id: 404" "/sweeps/a%20b" 404 "b['status'] == 404"
api "/api/sweeps/ID/importance with 4 runs: none, and why" "/api/sweeps/$SID/importance" 200 \
    "b['parameters'] == [] and 'at least' in b['reason'] and b['sweep'] == '$SID'"
api "importance of an unknown sweep: 404" /api/sweeps/nosuch/importance 404 "b['status'] == 404"
# ---- sweep importance (CLI) ---------------------------------------------------------
"$SWEEP" importance "$SID" --redis "$REDIS_URL" >"$D/imp.txt" 2>&1
check "sweep importance on 4 runs: none, and why" grep -q "importance needs at least 5" "$D/imp.txt"
"$SWEEP" importance "$SID" --json --redis "$REDIS_URL" >"$D/body.json" 2>"$D/imp.err"
check "sweep importance --json: the API's object" jq_py \
    "b['sweep'] == '$SID' and b['n_runs'] == 4 and b['parameters'] == [] and b['metric']['name'] == 'loss'"
"$SWEEP" importance nosuch --redis "$REDIS_URL" >/dev/null 2>"$D/imp.err"
rc=$?
check "sweep importance of an unknown sweep: exit 1, naming it (rc $rc)" \
    sh -c "[ $rc -eq 1 ] && grep -q nosuch '$D/imp.err'"
"$SWEEP" importance >/dev/null 2>&1
rc=$?
check "sweep importance without an id: exit 2 (rc $rc)" [ $rc -eq 2 ]
# ---- sweep export (CLI) ----------------------------------------------------------
cat >"$D/export.yaml" <<'EOF'
method: grid
metric: {name: loss, goal: minimize}
parameters:
  opt:
    parameters:
      lr: {value: 0.5}
  note: {values: ["=cmd|' /C calc'!A0", "a,b \"q\""]}
command: [/bin/sh, -c, "echo loss=0.25 note=7"]
EOF
SID2=$(timeout 30 "$SWEEP" create "$D/export.yaml" --brokers "$BOOT" --redis "$REDIS_URL" \
    2>"$D/create2.err" | tail -n 1)
it_bg w2 "$WRK" --brokers "$BOOT" --run-dir "$D/runs2" "$SID2"
it_wait_exit "$IT_PID" 60
"$SWEEP" export "$SID2" --redis "$REDIS_URL" >"$D/export.csv" 2>"$D/export.err"
check "sweep export ID: exit 0" [ $? = 0 ]
"$PY" - "$D/export.csv" <<'EOF' >"$D/export.check" 2>&1
import csv, sys
raw = open(sys.argv[1], newline="").read()
assert raw.endswith("\r\n"), "RFC 4180 line ends"
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
assert len(rows) == 2, rows
head = list(rows[0].keys())
assert head[:8] == ["id", "state", "attempt", "worker", "steps", "started_at", "ended_at", "reason"], head
assert "opt.lr" in head and "note" in head and "loss" in head and "summary.note" in head, head
notes = sorted(r["note"] for r in rows)
assert notes == sorted(["'=cmd|' /C calc'!A0", 'a,b "q"']), notes
assert all(r["opt.lr"] == "0.5" and r["state"] == "finished" and float(r["loss"]) == 0.25
           and float(r["summary.note"]) == 7 for r in rows), rows
EOF
if [ $? = 0 ]; then
    ok "--format csv (default): a header, a row per run, opt.lr flattened, summary.note for a metric named like a parameter, quoting, a formula-like value defused with a leading '"
else
    notok "--format csv: header, rows, flattening, quoting, formula guard" "$D/export.check" "$D/export.csv"
fi
"$SWEEP" export "$SID2" --format json --redis "$REDIS_URL" >"$D/body.json" 2>>"$D/export.err"
if jq_py "len(b) == 2 and all(r['params']['opt']['lr'] == 0.5 and r['summary']['loss'] == 0.25 and r['state'] == 'finished' for r in b) and sorted(r['params']['note'] for r in b) == sorted([\"=cmd|' /C calc'!A0\", 'a,b \"q\"'])" 2>"$D/py.err"; then
    ok "--format json: every run, its params nested, its summary"
else
    notok "--format json: every run, its params nested, its summary" "$D/body.json" "$D/py.err"
fi
"$SWEEP" export nosuch --redis "$REDIS_URL" >"$D/export-none.out" 2>&1
rc=$?
if [ $rc = 1 ] && grep -q "no sweep 'nosuch'" "$D/export-none.out"; then
    ok "sweep export of an unknown sweep: exit 1, saying so"
else
    notok "sweep export of an unknown sweep: exit 1, saying so (exit $rc)" "$D/export-none.out"
fi
"$SWEEP" export "$SID2" --format xml --redis "$REDIS_URL" >"$D/export-xml.out" 2>&1
check "sweep export --format xml: exit 2" [ $? = 2 ]

# ---- sweep status --watch (CLI) ---------------------------------------------------
cat >"$D/watch.yaml" <<'EOF'
method: grid
metric: {name: loss, goal: minimize}
parameters:
  x: {values: [1, 2, 3]}
command: [/bin/sh, -c, "sleep 0.4; echo loss=1"]
EOF
SID3=$(timeout 30 "$SWEEP" create "$D/watch.yaml" --brokers "$BOOT" --redis "$REDIS_URL" \
    2>"$D/create3.err" | tail -n 1)
"$SWEEP" status "$SID3" --watch --interval 0.1 --redis "$REDIS_URL" >"$D/watch.out" 2>&1 &
WP=$!
IT_ALL="$IT_ALL $WP"
sleep 0.3
it_bg w3 "$WRK" --brokers "$BOOT" --run-dir "$D/runs3" "$SID3"
it_wait_exit "$IT_PID" 60
it_wait_exit "$WP" 15
rc=$?
last=$(tail -n 1 "$D/watch.out")
nl=$(grep -c "Z running created\|Z finished created" "$D/watch.out")
case $last in
*"Z finished created 3"*"finished 3"*)
    if [ $rc = 0 ] && [ "$nl" -ge 3 ]; then
        ok "status --watch, not a terminal: a line per change ($nl), the last 'finished created 3 ... finished 3', then exit 0 by itself"
    else
        notok "status --watch: $nl lines, exit $rc" "$D/watch.out"
    fi
    ;;
*) notok "status --watch: the last line says finished 3 (exit $rc)" "$D/watch.out" ;;
esac
if awk '{print $2, $3, $4, $5}' "$D/watch.out" | uniq -d | grep -q .; then
    notok "status --watch: no line repeats the one before" "$D/watch.out"
else
    ok "status --watch: no line repeats the one before"
fi
"$SWEEP" status "$SID3" --watch --json --redis "$REDIS_URL" >"$D/watch.json" 2>&1
cp "$D/watch.json" "$D/body.json"
check "status --watch --json on a finished sweep: one object, then exit 0" \
    jq_py "b['state'] == 'finished' and b['runs']['finished'] == 3 and 'at' in b"
# a terminal: the live view (script(1) gives it a pty)
timeout 20 script -qec "$SWEEP status $SID3 --watch --redis $REDIS_URL" /dev/null \
    >"$D/watch.tty" 2>&1 </dev/null
rc=$?
if [ $rc = 0 ] && grep -q "$(printf '\033\[H\033\[J')" "$D/watch.tty" &&
    grep -q "best     [a-z0-9]*: loss = 1$(printf '\r')*$" "$D/watch.tty" &&
    grep -q "^RUN .*STATE .*loss" "$D/watch.tty"; then
    ok "status --watch on a terminal: the screen redrawn, the best run (loss = 1), the runs table"
else
    notok "status --watch on a terminal: the screen redrawn, the best run, the runs table (exit $rc)" \
        "$D/watch.tty"
fi
"$SWEEP" status "$SID3" --watch --interval 0 --redis "$REDIS_URL" >"$D/watch-bad.out" 2>&1
check "status --interval 0: exit 2" [ $? = 2 ]

# Redis away: 503 with a JSON error; back (empty, on the same port): 200.
it_stop "$REDIS_PID"
api "Redis gone: 503 with a JSON error" "/api/sweeps/$SID" 503 \
    "b['status'] == 503 and b['error'].startswith('redis')"
it_bg redis-again "$REDIS_SERVER" --port "$REDIS_PORT" --bind 127.0.0.1 \
    --save "" --appendonly no --dir "$IT_TMP"
it_wait 10 it_redis_up
api "Redis back: /api/sweeps answers again (an empty Redis: no sweeps)" /api/sweeps 200 \
    "b['sweeps'] == []"
check "sweep ui is still running" kill -0 "$UIPID"
kill "$UIPID"
it_wait_exit "$UIPID" 10
check "SIGTERM: sweep ui exits 0" [ $? = 0 ]

# the loopback rule and the token
"$SWEEP" ui --redis "$REDIS_URL" --http 0.0.0.0:0 >"$D/open.out" 2>&1 </dev/null
rc=$?
if [ $rc = 2 ] && grep -q "not a loopback address: give --auth-token-file" "$D/open.out"; then
    ok "--http 0.0.0.0:0 without a token: refused, exit 2"
else
    notok "--http 0.0.0.0:0 without a token: refused, exit 2 (exit $rc)" "$D/open.out"
fi
printf 'short\n' >"$D/short.token"
"$SWEEP" ui --redis "$REDIS_URL" --auth-token-file "$D/short.token" >"$D/short.out" 2>&1 </dev/null
check "a token under 16 characters is refused (exit 2)" [ $? = 2 ]
"$SWEEP" ui --http nonsense >"$D/bad.out" 2>&1 </dev/null
check "--http nonsense: exit 2" [ $? = 2 ]
"$SWEEP" ui --help >"$D/help.out" 2>&1
check "sweep ui --help exits 0 and names --auth-token-file" grep -q -- "--auth-token-file" "$D/help.out"

TOKEN=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')
cat >"$D/ctl.yaml" <<'EOF'
name: controlled
method: grid
parameters:
  x: {values: [1, 2, 3]}
command: [/bin/sh, -c, "echo loss=1"]
EOF
printf '%s\n' "$TOKEN" >"$D/ui.token"
chmod 600 "$D/ui.token"
if ui_start auth --http 0.0.0.0:0 --auth-token-file "$D/ui.token"; then
    U=$(echo "$U" | sed 's#//0\.0\.0\.0:#//127.0.0.1:#')
    api "with a token: no token, 401 with a JSON error" /api/sweeps 401 "b['status'] == 401"
    api "a wrong token: 401" /api/sweeps 401 "b['status'] == 401" \
        -H "Authorization: Bearer x$TOKEN"
    api "Authorization: Bearer TOKEN: 200" /api/sweeps 200 "b['sweeps'] == []" \
        -H "Authorization: Bearer $TOKEN"
    curl -s -c "$D/jar" -o "$D/body.json" "${U%/}/api/sweeps?token=$TOKEN"
    if grep -q "sweep_token" "$D/jar" && grep -q "#HttpOnly_" "$D/jar"; then
        ok "?token=TOKEN: an HttpOnly cookie is set"
    else
        notok "?token=TOKEN: an HttpOnly cookie is set" "$D/jar"
    fi
    api "then the cookie alone: 200" /api/sweeps 200 "'sweeps' in b" -b "$D/jar"
    # control: the token and the CSRF token of /api/session
    api "/api/session with the token: control, and a CSRF token" /api/session 200 \
        "b['auth'] is True and b['control'] is True and len(b['csrf']) == 64" \
        -H "Authorization: Bearer $TOKEN"
    CSRF=$("$PY" -c "import json,sys; print(json.load(open(sys.argv[1]))['csrf'])" "$D/body.json")
    CID=$(timeout 30 "$SWEEP" create "$D/ctl.yaml" --brokers "$BOOT" --redis "$REDIS_URL" \
        2>"$D/ctlcreate.err" | tail -n 1)
    api "POST control without the token: 401" "/api/sweeps/$CID/pause" 401 \
        "b['status'] == 401" -X POST
    api "POST control without X-CSRF-Token: 403" "/api/sweeps/$CID/pause" 403 \
        "'CSRF' in b['error']" -X POST -H "Authorization: Bearer $TOKEN"
    api "POST control with a wrong X-CSRF-Token: 403" "/api/sweeps/$CID/pause" 403 \
        "b['status'] == 403" -X POST -H "Authorization: Bearer $TOKEN" -H "X-CSRF-Token: x$CSRF"
    api "POST control from another Origin: 403" "/api/sweeps/$CID/pause" 403 \
        "'origin' in b['error']" -X POST -H "Authorization: Bearer $TOKEN" \
        -H "X-CSRF-Token: $CSRF" -H "Origin: http://evil.example"
    check "refused control requests changed nothing" [ "$(rcli HGET "sw:s:$CID" state)" = running ]
    api "POST pause with the cookie and the CSRF token: paused" "/api/sweeps/$CID/pause" 200 \
        "b['state'] == 'paused'" -X POST -b "$D/jar" -H "X-CSRF-Token: $CSRF"
    check "the sweep is paused in Redis" [ "$(rcli HGET "sw:s:$CID" state)" = paused ]
    api "POST resume: running" "/api/sweeps/$CID/resume" 200 "b['state'] == 'running'" \
        -X POST -H "Authorization: Bearer $TOKEN" -H "X-CSRF-Token: $CSRF"
    api "POST cancel: canceled" "/api/sweeps/$CID/cancel" 200 "b['state'] == 'canceled'" \
        -X POST -H "Authorization: Bearer $TOKEN" -H "X-CSRF-Token: $CSRF"
    check "the sweep is canceled in Redis" [ "$(rcli HGET "sw:s:$CID" state)" = canceled ]
    api "POST resume of a canceled sweep: 409, why" "/api/sweeps/$CID/resume" 409 \
        "b['status'] == 409" -X POST -H "Authorization: Bearer $TOKEN" -H "X-CSRF-Token: $CSRF"
    api "POST an unknown action: 404" "/api/sweeps/$CID/explode" 404 "b['status'] == 404" \
        -X POST -H "Authorization: Bearer $TOKEN" -H "X-CSRF-Token: $CSRF"
    api "POST control of an unknown sweep: 404" /api/sweeps/nosuch/pause 404 \
        "'nosuch' in b['error']" -X POST -H "Authorization: Bearer $TOKEN" -H "X-CSRF-Token: $CSRF"
    if grep -q "$TOKEN" "$D/auth.log" "$D/auth.out"; then
        notok "the token is in no output of sweep ui" "$D/auth.log"
    else
        ok "the token is in no output of sweep ui"
    fi
    if ps -eo args | grep -v grep | grep -q "$TOKEN"; then
        notok "the token is in no ps output"
    else
        ok "the token is in no ps output"
    fi
else
    notok "sweep ui --http 0.0.0.0:0 --auth-token-file starts" "$D/auth.log"
fi
it_done

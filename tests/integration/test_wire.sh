#!/bin/sh
# test_wire.sh - the wire format checked from outside, with Debian's
# python3-avro and the schemas in schemas/ (schemas/README.md):
#   1. every kind as libsweep encodes it (test_codec DIR writes one sample
#      of each with every optional field set, and one with none) has the
#      Confluent header (magic 0, big-endian schema id = kind number) and a
#      body python3-avro decodes, to the end, to the sample's values;
#   2. messages python3-avro encodes (metric events above all: that topic
#      is the one pipelines share) decode in libsweep (test_codec --decode
#      FILE prints them as JSON) to the same values, metric order kept;
#   3. broken messages from outside make test_codec --decode fail cleanly.
#
# Run from the repository root: sh tests/integration/test_wire.sh
# Env: O, the build directory holding tests/test_codec (default build).
set -u

ROOT=$(pwd)
O=${O:-build}
case $O in
/*) ;;
*) O=$ROOT/$O ;;
esac
CODEC=$O/tests/test_codec
PY=/usr/bin/python3

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_wire.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

if [ ! -x "$CODEC" ]; then
    echo "FAIL - $CODEC is missing: run make unit-bins first"
    echo "0 passed, 1 failed"
    exit 1
fi
if ! "$PY" -c 'import avro.schema, avro.io' 2>"$tmp/err"; then
    echo "FAIL - $PY cannot import avro (apt-get install python3-avro)"
    sed 's/^/    /' "$tmp/err"
    echo "0 passed, 1 failed"
    exit 1
fi
mkdir "$tmp/c" "$tmp/py"
if ! "$CODEC" "$tmp/c" >"$tmp/out" 2>&1; then
    echo "FAIL - $CODEC $tmp/c could not write the samples"
    sed 's/^/    /' "$tmp/out"
    echo "0 passed, 1 failed"
    exit 1
fi

# Python prints one "ok - ..." or "FAIL - ..." line per check; a crash
# counts as one more failure.
"$PY" - "$ROOT/schemas" "$tmp" "$CODEC" >"$tmp/report" 2>&1 <<'PYEOF'
import io
import json
import math
import os
import struct
import subprocess
import sys

import avro.io
import avro.schema

SCHEMAS, TMP, CODEC = sys.argv[1:4]
KINDS = ["sweep_control", "run_assignment", "run_lifecycle", "metric_event",
         "run_command", "worker_status"]
SCHEMA = {}
for i, kind in enumerate(KINDS, 1):
    with open(os.path.join(SCHEMAS, kind + ".avsc")) as f:
        SCHEMA[kind] = (i, avro.schema.parse(f.read()))


def ok(desc):
    print("ok - " + desc)


def fail(desc, *details):
    print("FAIL - " + desc)
    for d in details:
        print("    " + str(d))


def same(a, b):
    """Equal, with NaN equal to NaN and -0.0 distinct from 0.0."""
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) == type(b) and a == b


# What tests/unit/test_codec.c's sample() builds.
TS = 1700000000123
RUN = {"sweep_id": "sw-1", "run_id": "run-42", "worker_id": "w-7",
       "attempt": 3, "seq": 9, "ts_ms": TS}
RUN_MIN = dict(RUN, worker_id="w-\u00e9")
EXPECT = {
    "sweep_control": {"sweep_id": "sw-1", "action": "create", "ts_ms": TS,
                      "config_json": '{"method":"grid"}',
                      "name": "d\u00e9mo \u2713"},
    "sweep_control_min": {"sweep_id": "sw-1", "action": "cancel",
                          "ts_ms": TS, "config_json": None, "name": None},
    "run_assignment": dict(RUN, params_json='{"lr":0.001,"opt":{"name":"adam"}}',
                           program="train.py",
                           command=["${env}", "${interpreter}", "${program}",
                                    "${args}"]),
    "run_assignment_min": dict(RUN_MIN, worker_id=None,
                               params_json='{"lr":0.001,"opt":{"name":"adam"}}',
                               program=None, command=None),
    "run_lifecycle": dict(RUN, event="killed", exit_code=137, signal=15,
                          reason="stopped by hyperband", last_metric_seq=8),
    "run_lifecycle_min": dict(RUN_MIN, event="started", exit_code=None,
                              signal=0, reason=None, last_metric_seq=-1),
    "metric_event": dict(RUN, step=5, metrics={
        "loss": 0.31, "acc": 0.9, "lr": 1e-05, 'a"b\\c': -0.0,
        "\u65e5": 3e300, "nan": float("nan"), "inf": float("inf")}),
    "metric_event_min": dict(RUN_MIN, step=None, metrics={}),
    "run_command": dict(RUN, command="stop", reason="hyperband band 3"),
    "run_command_min": dict(RUN_MIN, command="stop", reason=None),
    "worker_status": {"worker_id": "w-7", "pool": "gpu", "sweep_id": "sw-1",
                      "state": "busy", "seq": 12, "ts_ms": TS,
                      "host": "node-1", "pid": 4242,
                      "running": ["run-42", "run-43"], "received": 7},
    "worker_status_min": {"worker_id": "w-7", "pool": None, "sweep_id": None,
                          "state": "idle", "seq": 12, "ts_ms": TS,
                          "host": "node-1", "pid": 4242, "running": [],
                          "received": 0},
}

# 1. libsweep -> python3-avro
for kind in KINDS:
    sid, schema = SCHEMA[kind]
    for name in (kind, kind + "_min"):
        desc = "python3-avro reads %s.bin" % name
        with open(os.path.join(TMP, "c", name + ".bin"), "rb") as f:
            data = f.read()
        if data[:5] != bytes([0]) + struct.pack(">I", sid):
            fail(desc, "header %r, want magic 0 and schema id %d"
                 % (data[:5], sid))
            continue
        body = io.BytesIO(data[5:])
        try:
            got = avro.io.DatumReader(schema).read(avro.io.BinaryDecoder(body))
        except Exception as e:
            fail(desc, "decode: %r" % e)
            continue
        if body.tell() != len(data) - 5:
            fail(desc, "%d of %d body bytes read" % (body.tell(), len(data) - 5))
        elif not same(got, EXPECT[name]):
            fail(desc, "got:  %r" % got, "want: %r" % EXPECT[name])
        else:
            ok(desc)


def encode(kind, datum, sid=None):
    own_sid, schema = SCHEMA[kind]
    out = io.BytesIO()
    out.write(bytes([0]) + struct.pack(">I", own_sid if sid is None else sid))
    avro.io.DatumWriter(schema).write(datum, avro.io.BinaryEncoder(out))
    return out.getvalue()


def decode_in_c(name, data):
    path = os.path.join(TMP, "py", name + ".bin")
    with open(path, "wb") as f:
        f.write(data)
    return subprocess.run([CODEC, "--decode", path], capture_output=True,
                          text=True, timeout=30)


# 2. python3-avro -> libsweep
names = ["loss", "acc", "val/loss", "\u65e5\u672c", "z", "a", "lr", "ninf",
         "nan", "big", 'q"uote']
values = [0.25, 0.875, 1.5, -2.0, 1e-05, 123456789.0, 3e-07, float("-inf"),
          float("nan"), 1.7976931348623157e308, 0.1]
metrics = dict(zip(names, values))
py_msgs = {
    "metric_event": dict(RUN, step=None, metrics=metrics),
    "metric_event_step": dict(RUN, step=2**62, seq=-2**63, ts_ms=2**63 - 1,
                              attempt=-2**31, metrics={"x": 1.0}),
    "metric_event_empty": dict(RUN, step=0, metrics={}),
    "run_assignment": dict(RUN, worker_id=None, params_json="{}",
                           program=None, command=[]),
    "run_lifecycle": dict(RUN, event="preempted", exit_code=None, signal=15,
                          reason="worker leaving", last_metric_seq=-1),
    "worker_status": {"worker_id": "w-9", "pool": None, "sweep_id": "sw-2",
                      "state": "leaving", "seq": 1, "ts_ms": TS, "host": "h",
                      "pid": 1, "running": ["r1", "r2", "r3"], "received": 3},
    "sweep_control": {"sweep_id": "sw-3", "action": "pause", "ts_ms": 0,
                      "config_json": None, "name": None},
    "run_command": dict(RUN, command="stop", reason=None),
    "run_command_sweep_done": dict(RUN, run_id="", command="sweep_done",
                                   reason=None),
}


def json_metric(d):
    """What codec_metric_json() prints for d: non-finite values as null."""
    m = {k: (v if math.isfinite(v) else None) for k, v in d["metrics"].items()}
    return {"sweep_id": d["sweep_id"], "run_id": d["run_id"],
            "attempt": d["attempt"], "worker_id": d["worker_id"],
            "seq": d["seq"], "ts_ms": d["ts_ms"], "step": d["step"],
            "metrics": m}


for name, datum in py_msgs.items():
    kind = [k for k in KINDS if name.startswith(k)][0]
    desc = "libsweep reads python3-avro's %s" % name
    r = decode_in_c(name, encode(kind, datum))
    if r.returncode != 0:
        fail(desc, "exit %d: %s" % (r.returncode, r.stderr.strip()))
        continue
    try:
        got = json.loads(r.stdout)
    except ValueError as e:
        fail(desc, "output is not JSON (%s): %r" % (e, r.stdout))
        continue
    want = json_metric(datum) if kind == "metric_event" else datum
    if got.get("kind") != kind or not same(got.get("msg"), want):
        fail(desc, "got:  %r" % got, "want: %r" % {"kind": kind, "msg": want})
    else:
        ok(desc)

# 3. broken messages from outside: exit 1 with a reason, never a crash.
good = encode("metric_event", py_msgs["metric_event"])
broken = {
    "truncated": good[:-3],
    "trailing_byte": good + b"\x00",
    "wrong_schema_id": encode("metric_event", py_msgs["metric_event"], sid=3),
    "unknown_schema_id": encode("metric_event", py_msgs["metric_event"],
                                sid=42),
    "no_header": good[5:],
    "json": json.dumps(json_metric(py_msgs["metric_event_empty"])).encode(),
}
for name, data in broken.items():
    desc = "libsweep rejects a metric event with %s" % name.replace("_", " ")
    r = decode_in_c("broken_" + name, data)
    if r.returncode != 1 or not r.stderr.strip():
        fail(desc, "exit %d, stderr %r" % (r.returncode, r.stderr))
    else:
        ok(desc + ": " + r.stderr.strip().split(": ", 2)[-1])
PYEOF
rc=$?
cat "$tmp/report"
pass=$(grep -c '^ok - ' "$tmp/report")
fail=$(grep -c '^FAIL - ' "$tmp/report")
if [ "$rc" -ne 0 ] || [ $((pass + fail)) -eq 0 ]; then
    echo "FAIL - the python checker exited $rc"
    fail=$((fail + 1))
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]

#!/usr/bin/python3
"""bench_runtime.py - the distributed runtime's benchmarks (issue 3):
dispatch, ingest and memory, and early termination's stop latency (issue
5), each on its own private stack (`sweep broker`, redis-server, one
sweep-controller, pool workers), each against a baseline measured in the
same run. Prints markdown tables.

Called by tests/bench/bench_runtime.sh, which compiles the helper programs
of this directory into TMP/helpers and cleans up after us with a trap (it
kills every pid we list in TMP/pids).

usage: bench_runtime.py TMP
env:   SWEEP_BIN (programs, default bin), BENCH_PHASES (default "a b c d"),
       BENCH_DISPATCH_RUNS (500), BENCH_INGEST_LINES (100000),
       BENCH_LATENCY_LINES (500), BENCH_MEMORY_RUNS (10000),
       BENCH_STOP_RUNS (440: the grid of phase d, about half of it stopped)
Every process inherits the environment: SWEEP_FETCH_WAIT_MS=1 or
SWEEP_CONFIG=FILE (kafka.* lines) tune the stacks; phase d prints them.
"""
import calendar
import json
import math
import os
import signal
import socket
import subprocess
import sys
import time

ROOT = os.getcwd()
TMP = sys.argv[1]
HELP = os.path.join(TMP, "helpers")
SWEEP_BIN = os.path.abspath(os.environ.get("SWEEP_BIN", os.path.join(ROOT, "bin")))
PIDFILE = os.path.join(TMP, "pids")
PHASES = os.environ.get("BENCH_PHASES", "a b c d").split()
N_DISPATCH = int(os.environ.get("BENCH_DISPATCH_RUNS", "500"))
N_INGEST = int(os.environ.get("BENCH_INGEST_LINES", "100000"))
N_LATENCY = int(os.environ.get("BENCH_LATENCY_LINES", "500"))
N_MEMORY = int(os.environ.get("BENCH_MEMORY_RUNS", "10000"))
N_STOP = int(os.environ.get("BENCH_STOP_RUNS", "440"))


class BenchError(Exception):
    pass


# ---- helpers -------------------------------------------------------------

def log(msg):
    sys.stderr.write("bench_runtime: %s\n" % msg)
    sys.stderr.flush()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def pct(values, p):
    """Nearest-rank percentile."""
    if not values:
        return float("nan")
    v = sorted(values)
    k = max(0, min(len(v) - 1, int(math.ceil(p / 100.0 * len(v))) - 1))
    return v[k]


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


def wait_until(what, fn, timeout, step=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(step)
    raise BenchError("timed out after %.0f s waiting for %s" % (timeout, what))


class Resp:
    """A minimal Redis client (RESP2 over a socket): enough to read state."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""

    def close(self):
        self.sock.close()

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise BenchError("redis closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _read(self):
        line = self._line()
        t, rest = line[:1], line[1:]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            raise BenchError("redis: " + rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise BenchError("redis closed the connection")
                self.buf += chunk
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return data.decode()
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self._read() for _ in range(n)]
        raise BenchError("redis: bad reply %r" % line)

    def cmd(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.sock.sendall(out)
        return self._read()

    def hgetall(self, key):
        r = self.cmd("HGETALL", key) or []
        return dict(zip(r[0::2], r[1::2]))


def note_pid(pid):
    with open(PIDFILE, "a") as f:
        f.write("%d\n" % pid)


def spawn(argv, log_path, env=None):
    with open(log_path, "ab") as lf:
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=lf,
                             stderr=subprocess.STDOUT, env=env)
    note_pid(p.pid)
    return p


def stop(p, wait=5.0):
    if p is None or p.poll() is not None:
        return
    try:
        p.terminate()
        p.wait(timeout=wait)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait(timeout=5)


# ---- the stack -------------------------------------------------------------

class Stack:
    """`sweep broker`, redis-server, a controller and N pool workers."""

    def __init__(self, name, nworkers):
        self.name = name
        self.dir = os.path.join(TMP, name)
        os.makedirs(self.dir)
        self.nworkers = nworkers
        self.broker = self.redis = self.controller = None
        self.workers = []
        self.stats = []
        self.r = None

    def path(self, f):
        return os.path.join(self.dir, f)

    def start(self):
        self.broker = spawn([os.path.join(SWEEP_BIN, "sweep"), "broker"],
                            self.path("broker.log"))
        # `sweep broker` prints its bootstrap list first, on stdout: the
        # log has stdout and stderr, so read the first 127.0.0.1: line.
        def boot():
            if self.broker.poll() is not None:
                raise BenchError("sweep broker exited")
            with open(self.path("broker.log")) as f:
                for line in f:
                    if line.startswith("127.0.0.1:"):
                        return line.strip()
            return None
        self.brokers = wait_until("sweep broker", boot, 15)
        self.port = free_port()
        self.redis = spawn(["/usr/bin/redis-server", "--port", str(self.port),
                            "--bind", "127.0.0.1", "--save", "", "--appendonly",
                            "no", "--dir", self.dir], self.path("redis.log"))

        def ping():
            try:
                self.r = Resp(self.port)
                return self.r.cmd("PING") == "PONG"
            except OSError:
                return False
        wait_until("redis-server", ping, 10)
        self.url = "redis://127.0.0.1:%d" % self.port
        self.common = ["--brokers", self.brokers, "--redis", self.url]
        self.controller = spawn([os.path.join(SWEEP_BIN, "sweep-controller")] +
                                self.common, self.path("controller.log"))
        for i in range(self.nworkers):
            env = dict(os.environ)
            st = self.path("worker-%d.stats" % (i + 1))
            env["SWEEP_WORKER_STATS"] = st
            self.stats.append(st)
            self.workers.append(spawn(
                [os.path.join(SWEEP_BIN, "sweep-worker"), "--brokers",
                 self.brokers, "--run-dir", self.path("runs-%d" % (i + 1))],
                self.path("worker-%d.log" % (i + 1)), env))
        # Ready: the controller leads and has heard from every worker.
        def joined():
            self.check_alive()
            with open(self.path("controller.log")) as f:
                text = f.read()
            return "leading" in text and text.count(" joined") >= self.nworkers
        wait_until("the controller to see %d workers" % self.nworkers, joined, 30)

    def check_alive(self):
        for name, p in [("broker", self.broker), ("redis-server", self.redis),
                        ("controller", self.controller)] + \
                [("worker %d" % (i + 1), w) for i, w in enumerate(self.workers)]:
            if p is not None and p.poll() is not None:
                raise BenchError("%s exited (%s); logs in %s" % (name, p.returncode, self.dir))

    def stop(self):
        for w in self.workers:
            stop(w)
        stop(self.controller)
        stop(self.broker)
        if self.r:
            self.r.close()
        stop(self.redis)

    def create(self, config, tag):
        path = self.path("%s.yaml" % tag)
        with open(path, "w") as f:
            f.write(config)
        p = subprocess.run([os.path.join(SWEEP_BIN, "sweep"), "create", path] +
                           self.common, capture_output=True, text=True, timeout=60)
        if p.returncode != 0 or not p.stdout.strip():
            raise BenchError("sweep create failed: %s" % p.stderr.strip())
        return p.stdout.strip().splitlines()[-1]

    def sweep(self, sid):
        return self.r.hgetall("sw:s:%s" % sid)

    def terminal(self, sid):
        h = self.sweep(sid)
        return sum(int(h.get("n:" + s, 0)) for s in
                   ("finished", "failed", "killed", "crashed")), h

    def wait_done(self, sid, n, timeout):
        def done():
            self.check_alive()
            t, h = self.terminal(sid)
            return t >= n and h.get("state") in ("finished", "canceled")
        wait_until("%d runs of sweep %s" % (n, sid), done, timeout)

    def runs(self, sid):
        p = subprocess.run([os.path.join(SWEEP_BIN, "sweep"), "runs", sid, "--json"] +
                           self.common, capture_output=True, text=True, timeout=120)
        if p.returncode != 0:
            raise BenchError("sweep runs failed: %s" % p.stderr.strip())
        return json.loads(p.stdout)

    def rss(self):
        out = {"controller": rss_kb(self.controller.pid)}
        for i, w in enumerate(self.workers):
            out["worker %d" % (i + 1)] = rss_kb(w.pid)
        return out


def trivial_config(cap):
    return """method: random
run_cap: %d
metric:
  name: loss
  goal: minimize
parameters:
  x:
    min: 0.0
    max: 1.0
command: [/bin/sh, -c, "echo loss=1"]
""" % cap


def table(head, rows):
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join("---" for _ in head) + "|")
    for r in rows:
        print("| " + " | ".join(str(c) for c in r) + " |")
    print()


def f1(x):
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else "%.1f" % x


def ms(us):
    return "n/a" if us is None or (isinstance(us, float) and math.isnan(us)) else "%.1f" % (us / 1000.0)


def ok(cond):
    return "yes" if cond else "**no**"


# ---- (a) dispatch ---------------------------------------------------------

def bench_dispatch():
    n = N_DISPATCH
    s = Stack("dispatch", 2)
    try:
        s.start()
        t0 = time.time()
        sid = s.create(trivial_config(n), "dispatch")
        s.wait_done(sid, n, max(120, n))
        wall = time.time() - t0
        runs = s.runs(sid)
        states = {}
        for r in runs:
            states[r["state"]] = states.get(r["state"], 0) + 1
        starts = [r["started_at"] for r in runs if r.get("started_at")]
        ends = [r["ended_at"] for r in runs if r.get("ended_at")]
        span = (max(ends) - min(starts)) / 1000.0 if starts and ends else float("nan")
        per_worker, by_worker = {}, {}
        for r in runs:
            per_worker[r.get("worker")] = per_worker.get(r.get("worker"), 0) + 1
            if r.get("started_at") and r.get("ended_at"):
                by_worker.setdefault(r.get("worker"), []).append(
                    (r["started_at"], r["ended_at"]))
        # Where a worker's time goes: its run (started -> ended event) and
        # the gap to its next run's started event.
        durs, gaps, stalls = [], [], []
        for lst in by_worker.values():
            lst.sort()
            durs += [e - b for b, e in lst]
            for i in range(len(lst) - 1):
                gaps.append(lst[i + 1][0] - lst[i][1])
                if gaps[-1] > 200:  # which run of that worker, and how long
                    stalls.append("run %d: %d ms" % (i + 2, gaps[-1]))
        to_first = min(starts) / 1000.0 - t0 if starts else float("nan")
        lat, first = [], []
        for st in s.stats:
            with open(st) as f:
                vals = [int(l.split()[1]) for l in f if l.startswith("dispatch_us ")]
            first += vals[:1]
            lat += vals[1:]  # the first includes the worker's start
    finally:
        s.stop()
    p = subprocess.run([os.path.join(HELP, "spawn_loop"), str(n)], capture_output=True,
                       text=True, timeout=300)
    b = p.stdout.split()
    base_secs = float(b[b.index("seconds") + 1])
    base_p50 = int(b[b.index("per_run_us_p50") + 1])
    rate = len(runs) / span if span > 0 else float("nan")
    base_rate = n / base_secs
    print("### (a) Dispatch: %d runs of `/bin/sh -c 'echo loss=1'` on 2 pool workers" % n)
    print()
    print("Runs/s from the first run's `started_at` to the last run's `ended_at` "
          "(Redis, worker clocks); wall: from `sweep create` to the last run "
          "terminal in Redis. Dispatch latency: worker idle (previous run reaped) "
          "to the next run's process spawned, from `SWEEP_WORKER_STATS` (%d "
          "samples; each worker's first run, which includes its start, left out: "
          "%s ms). Baseline: the same %d programs run back to back by a plain "
          "posix_spawn/waitpid loop reading their stdout (no Kafka, no Redis)."
          % (len(lat), ", ".join(ms(x) for x in first), n))
    print()
    table(["measure", "sweep", "baseline (plain loop)", "ratio", "target", "met"], [
        ["runs/s (first start -> last end)", f1(rate), f1(base_rate),
         "%.2f" % (rate / base_rate), ">= 50", ok(rate >= 50)],
        ["runs/s (wall, create -> all done)", f1(len(runs) / wall), f1(base_rate),
         "%.2f" % (len(runs) / wall / base_rate), "", ""],
        ["dispatch latency p50 (ms)", ms(pct(lat, 50)), "-", "", "<= 20",
         ok(pct(lat, 50) <= 20000)],
        ["dispatch latency p99 (ms)", ms(pct(lat, 99)), "-", "", "<= 100",
         ok(pct(lat, 99) <= 100000)],
        ["dispatch latency max (ms)", ms(max(lat) if lat else None), "-", "", "", ""],
        ["time per run per worker, mean (ms)", ms(2e6 / rate if rate > 0 else None),
         ms(base_p50) + " (p50)", "", "", ""],
        ["  run: started -> ended event, p50 / p99 (ms)",
         "%s / %s" % (f1(pct(durs, 50)), f1(pct(durs, 99))), "", "", "", ""],
        ["  gap: ended -> next started event, p50 / p99 (ms)",
         "%s / %s" % (f1(pct(gaps, 50)), f1(pct(gaps, 99))), "", "", "", ""],
        ["sweep create -> first run started (s)", "%.2f" % to_first, "", "", "", ""],
    ])
    print("Runs by state: %s; by worker: %s. Gaps over 200 ms before a worker's "
          "next run: %s." % (
              ", ".join("%s %d" % kv for kv in sorted(states.items())),
              ", ".join(str(v) for v in sorted(per_worker.values(), reverse=True)),
              "; ".join(stalls) if stalls else "none"))
    print()
    return rate >= 50 and pct(lat, 50) <= 20000 and pct(lat, 99) <= 100000


# ---- (b) ingest ---------------------------------------------------------

def kv_file(path):
    out = {}
    with open(path) as f:
        for line in f:
            k, _, v = line.strip().partition(" ")
            if k:
                out.setdefault(k, []).append(v)
    return out


def ingest_config(cmd):
    return """method: random
run_cap: 1
parameters:
  x:
    min: 0.0
    max: 1.0
command: %s
""" % json.dumps(cmd)


def bench_ingest():
    n = N_INGEST
    s = Stack("ingest", 1)
    try:
        s.start()
        stamp = s.path("flood.stamp")
        sid = s.create(ingest_config([os.path.join(HELP, "emit"), "flood", str(n), stamp]),
                       "flood")
        watch = subprocess.run([os.path.join(HELP, "redis_watch"), "count", str(s.port),
                                sid, str(n), "180000"], capture_output=True, text=True,
                               timeout=200)
        w = dict(l.split(" ", 1) for l in watch.stdout.splitlines() if " " in l)
        st = kv_file(stamp)
        start_us, end_us = int(st["start_us"][0]), int(st["end_us"][0])
        first_us, got = int(w["first_us"]), int(w["len"])
        done_us = int(w["done_us"]) or int(w["last_us"])  # partial: the last entry
        s.wait_done(sid, 1, 60)
        run = s.runs(sid)[0]
        with open(s.path("controller.log")) as f:
            clog = f.read()
        releads = clog.count("leading, fencing token") - 1
        resets = clog.count("offset reset")

        # latency: a paced run, watched through keyspace notifications
        lw = subprocess.Popen([os.path.join(HELP, "redis_watch"), "lat", str(s.port),
                               "*", str(N_LATENCY), "120000"],
                              stdout=subprocess.PIPE, text=True)
        note_pid(lw.pid)
        if lw.stdout.readline().strip() != "ready":
            raise BenchError("redis_watch lat did not start")
        sid2 = s.create(ingest_config([os.path.join(HELP, "emit"), "paced",
                                       str(N_LATENCY), "200"]), "paced")
        out, _ = lw.communicate(timeout=150)
        lat = [int(l.split()[1]) for l in out.splitlines() if l.startswith("lat_us ")]
        s.wait_done(sid2, 1, 60)

        # baselines, on the same redis-server, now idle
        def base(mode, batch):
            p = subprocess.run([os.path.join(HELP, "redis_base"), mode, str(s.port),
                                str(n), str(batch)], capture_output=True, text=True,
                               timeout=300)
            b = p.stdout.split()
            if p.returncode != 0 or "seconds" not in b:
                raise BenchError("redis_base %s: %s" % (mode, p.stderr.strip()))
            return n / float(b[b.index("seconds") + 1])
        raw64 = base("raw", 64)
        store1024 = base("store", 1024)
    finally:
        s.stop()
    # Over the entries that arrived (all of them, unless some were lost).
    e2e = got / ((done_us - start_us) / 1e6) if done_us > start_us else float("nan")
    apply_rate = got / ((done_us - first_us) / 1e6) if done_us > first_us else float("nan")
    print_rate = n / ((end_us - start_us) / 1e6) if end_us > start_us else float("nan")
    print("### (b) Ingest: one controller applying metric events to Redis")
    print()
    print("One run prints %d lines `i=N loss=X` as fast as it can (a C program, "
          "stdout buffered in 64 KiB); the rate is from its first line printed "
          "to the history list `sw:r:<sweep>:<run>:hist` reaching %d entries "
          "(LLEN polled every ms). Latency: a second run prints %d lines "
          "`t=<epoch us> i=N` at 200/s, each flushed; a watcher subscribed to "
          "Redis keyspace notifications reads each entry as it is pushed and "
          "takes seen-time minus t. Baselines on the same redis-server: the raw "
          "rate of pipelined RPUSH+HSET from one client (64 events per round "
          "trip), and the store's own step alone (store_apply_metrics: the "
          "fenced Lua script by EVALSHA, 1024 per pipeline, as the controller "
          "batches them; no Kafka)." % (n, n, N_LATENCY))
    print()
    table(["measure", "value", "baseline", "ratio", "target", "met"], [
        ["events/s, first line printed -> last stored", f1(e2e),
         "%s (raw RPUSH+HSET, P64)" % f1(raw64), "%.3f" % (e2e / raw64), ">= 20000",
         ok(e2e >= 20000)],
        ["events/s, first stored -> last stored", f1(apply_rate),
         "%s (raw RPUSH+HSET, P64)" % f1(raw64), "%.3f" % (apply_rate / raw64), "", ""],
        ["events/s, store_apply_metrics alone", f1(store1024),
         "%s (raw RPUSH+HSET, P64)" % f1(raw64), "%.3f" % (store1024 / raw64), "", ""],
        ["first line printed -> first stored (ms)", ms(first_us - start_us), "", "", "", ""],
        ["lines/s written by the program (pipe drained by the worker)", f1(print_rate),
         "", "", "", ""],
        ["history entries stored (of %d); run state; lost as the controller "
         "counted them" % n,
         "%d; %s, steps %s; %s" % (got, run.get("state"), run.get("steps"),
                                   run.get("metrics_lost")), "", "",
         "all", ok(got == n)],
        ["latency print -> stored p50 (ms)", ms(pct(lat, 50)), "", "", "", ""],
        ["latency print -> stored p99 (ms)", ms(pct(lat, 99)), "", "", "<= 50",
         ok(pct(lat, 99) <= 50000)],
        ["latency print -> stored max (ms), samples", "%s, %d" % (ms(max(lat) if lat else None),
                                                               len(lat)), "", "", "", ""],
    ])
    if got != n or releads or resets:
        print("**%d of %d metric events never reached Redis** (the controller "
              "counted %s lost: `metrics_lost`)." % (n - got, n, run.get("metrics_lost")))
        print("The controller "
              "re-took its own lease %d time(s) (its lease ran out while it "
              "drained the backlog) and the broker reset %d offset(s) it no "
              "longer held (see the report)." % (releads, resets))
        print()
    return e2e >= 20000 and pct(lat, 99) <= 50000 and got == n


# ---- (c) memory --------------------------------------------------------

def bench_memory():
    n = N_MEMORY
    mark = min(1000, n)
    s = Stack("memory", 2)
    try:
        s.start()
        time.sleep(1.0)
        idle = s.rss()
        t0 = time.time()
        sid = s.create(trivial_config(n), "memory")

        def created(k):
            def f():
                s.check_alive()
                return int(s.sweep(sid).get("runs_created", 0)) >= k
            return f
        wait_until("%d runs created" % mark, created(mark), max(120, mark))
        at_mark = s.rss()
        s.wait_done(sid, n, max(300, n // 5))
        wall = time.time() - t0
        at_end = s.rss()
        h = s.sweep(sid)
    finally:
        s.stop()
    print("### (c) Memory: RSS with %d and %d runs in one sweep" % (mark, n))
    print()
    print("A random sweep with run_cap %d of the trivial program on 2 pool "
          "workers (%.0f s, %.1f runs/s); VmRSS from /proc/PID/status when "
          "runs_created reached %d and when all %d were terminal. Baseline: the "
          "same processes idle, 1 s after the controller saw the workers."
          % (n, wall, n / wall, mark, n))
    print()
    rows = []
    for k in idle:
        rows.append([k, "%d" % idle[k], "%d" % at_mark[k], "%d" % at_end[k],
                     "%.2f" % (at_end[k] / idle[k]) if idle[k] > 0 else "n/a",
                     "%.1f" % ((at_end[k] - at_mark[k]) / max(1, (n - mark) / 1000.0))])
    table(["process", "idle kB (baseline)", "%d runs kB" % mark, "%d runs kB" % n,
           "ratio end/idle", "kB per 1,000 runs after %d" % mark], rows)
    print("Runs: %s." % ", ".join("%s %s" % (k[2:], v) for k, v in sorted(h.items())
                                 if k.startswith("n:") and v != "0"))
    print()
    return True


# ---- (d) early termination: stop latency --------------------------------

def stop_config(n, prog, res):
    return """method: grid
metric: {name: loss, goal: minimize}
early_terminate: {type: hyperband, min_iter: 1, eta: 3}
parameters:
  i: {values: [%s]}
command: [%s, run, %s, "${args}"]
""" % (", ".join(str(i) for i in range(n)), json.dumps(prog), json.dumps(res))


def is_bad(k):
    """stopme.c's rule: odd K from 5 on is a run to be stopped."""
    return k >= 4 and k % 2 == 1


def stop_results(d):
    """stopme's files: K -> {"run", "print_us", "sig_us", "lat_us"} or
    {"timeout": 1} / {"early": 1}."""
    out = {}
    for name in os.listdir(d):
        r = {}
        with open(os.path.join(d, name)) as f:
            for line in f:
                k, _, v = line.strip().partition(" ")
                r[k] = v if k == "run" else int(v or 1)
        out[int(name)] = r
    return out


def log_times(path, what):
    """Epoch ms of each '<stamp>Z ... run SWEEP/RUN: WHAT' line, by run."""
    out = {}
    with open(path) as f:
        for line in f:
            k = line.find(": %s" % what)
            if k < 0 or " run " not in line[:k] or not line[:4].isdigit():
                continue
            stamp, ms_ = line[:19], int(line[20:23])
            run = line[:k].rsplit(" run ", 1)[1].rsplit("/", 1)[-1]
            out.setdefault(run, calendar.timegm(
                time.strptime(stamp, "%Y-%m-%dT%H:%M:%S")) * 1000 + ms_)
    return out


def tuned():
    """The SWEEP_* settings of the environment that change what is measured."""
    keys = sorted(k for k in os.environ if k.startswith("SWEEP_") and
                  k not in ("SWEEP_BIN", "SWEEP_WORKER_STATS"))
    out = ["%s=%s" % (k, os.environ[k]) for k in keys]
    cfg = os.environ.get("SWEEP_CONFIG")
    if cfg and os.path.exists(cfg):
        with open(cfg) as f:
            out += [l.strip() for l in f if l.strip() and not l.startswith("#")]
    return out


def bench_earlystop():
    n = N_STOP
    prog = os.path.join(HELP, "stopme")
    res, base_dir = os.path.join(TMP, "stops"), os.path.join(TMP, "stops-base")
    os.makedirs(res)
    os.makedirs(base_dir)
    bad = [k for k in range(n) if is_bad(k)]
    s = Stack("earlystop", 4)
    try:
        s.start()
        t0 = time.time()
        sid = s.create(stop_config(n, prog, res), "earlystop")
        s.wait_done(sid, n, max(300, n))
        wall = time.time() - t0
        runs = s.runs(sid)
        ctl = log_times(s.path("controller.log"), "early stop")
        wrk = {}
        for i in range(s.nworkers):
            wrk.update(log_times(s.path("worker-%d.log" % (i + 1)), "SIGTERM"))
    finally:
        s.stop()
    watcher = subprocess.Popen([prog, "watch", str(len(bad)), base_dir],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    note_pid(watcher.pid)
    err = watcher.communicate(timeout=60 + 6 * len(bad))[1]
    if watcher.returncode != 0:
        raise BenchError("stopme watch: %s" % err.strip())
    got, base = stop_results(res), stop_results(base_dir)

    problems, states = [], {}
    for r in runs:
        k = r["params"]["i"]
        st, why = r.get("state"), r.get("reason") or ""
        states[st] = states.get(st, 0) + 1
        if is_bad(k) and "lat_us" in got.get(k, {}) and not (
                st == "killed" and why.startswith("hyperband band 3")):
            problems.append("run i=%d: %s, reason '%s'" % (k, st, why))
        if not is_bad(k) and st != "finished":
            problems.append("reference run i=%d: %s, reason '%s'" % (k, st, why))
    if len(runs) != n:
        problems.append("%d runs in the sweep, not %d" % (len(runs), n))
    lat = [got[k]["lat_us"] for k in bad if "lat_us" in got.get(k, {})]
    timeouts = [k for k in bad if "timeout" in got.get(k, {})]
    early = [k for k in bad if "early" in got.get(k, {})]
    missing = [k for k in bad if k not in got]
    blat = [base[k]["lat_us"] for k in base if "lat_us" in base[k]]
    if len(blat) != len(bad):
        problems.append("baseline: %d of %d runs signalled" % (len(blat), len(bad)))
    if early or missing:
        problems.append("%d runs stopped before their bad line, %d left no result"
                        % (len(early), len(missing)))
    if len(lat) < min(200, len(bad)):
        problems.append("only %d stops measured" % len(lat))

    # Where the time goes: the controller's "early stop" line and the
    # worker's "SIGTERM" line (log stamps, truncated to the ms).
    seg = [[], [], []]
    for k in bad:
        g = got.get(k, {})
        c, w = ctl.get(g.get("run")), wrk.get(g.get("run"))
        if "lat_us" in g and c is not None and w is not None:
            seg[0].append(c * 1000 - g["print_us"])
            seg[1].append((w - c) * 1000)
            seg[2].append(g["sig_us"] - w * 1000)

    p99, b99 = pct(lat, 99), pct(blat, 99)
    met = p99 <= 50000
    settings = tuned()
    print("### (d) Early termination: metric line printed -> SIGTERM received")
    print()
    print("A grid of %d runs (`i` = 0..%d) on 4 pool workers, `early_terminate: "
          "{type: hyperband, min_iter: 1, eta: 3}` (bands 1, 3, 9). The program "
          "(tests/bench/runtime/stopme.c) for even i (and i < 4) prints "
          "`loss=1.0` 12 times and exits; for odd i >= 5 it prints `loss=1.0` "
          "twice, pauses 30 ms, takes t0 and prints `loss=100.0`: worse than the "
          "band-3 threshold 1.0, so the controller stops it on that line. The "
          "program blocks SIGTERM and waits for it with sigtimedwait (5 s, else "
          "\"timeout\"): latency = t1 - t0 on CLOCK_MONOTONIC. Baseline, same "
          "program, same measure: a plain watcher that runs it in a new session, "
          "reads its stdout through a pipe in a poll loop and sends SIGTERM to "
          "its group on the `loss=100.0` line (no Kafka, Redis or controller), "
          "%d times back to back. Settings: %s."
          % (n, n - 1, len(bad), "; ".join(settings) if settings else
             "the defaults, as `sweep local` runs them"))
    print()
    table(["path", "stops", "timeouts", "p50 ms", "p99 ms", "max ms",
           "ratio p99 vs baseline", "target"], [
        ["sweep: worker -> Kafka -> controller (Redis, judge) -> Kafka -> worker",
         len(lat), len(timeouts), ms(pct(lat, 50)), ms(p99),
         ms(max(lat) if lat else None), "%.0fx" % (p99 / b99) if b99 > 0 else "n/a",
         "p99 <= 50 ms: %s%s" % ("met" if met else "**NOT met**",
                                 "; **%d not stopped**" % len(timeouts) if timeouts else "")],
        ["baseline: pipe watcher, kill(-pgid)", len(blat), 0, "%.3f" % (pct(blat, 50) / 1e3),
         "%.3f" % (b99 / 1e3), "%.3f" % (max(blat) / 1e3 if blat else float("nan")),
         "1x", ""],
    ])
    print("Where the time goes (%d stops; the middle points are log stamps "
          "truncated to the ms, so each segment is +-1 ms):" % len(seg[0]))
    print()
    table(["segment", "p50 ms", "p99 ms", "max ms"], [
        [name, ms(pct(v, 50)), ms(pct(v, 99)), ms(max(v) if v else None)]
        for name, v in (
            ("line printed -> controller decides (worker reads, produces; "
             "controller fetches, applies to Redis, judges)", seg[0]),
            ("controller decides -> worker sends SIGTERM (stop produced, "
             "worker fetches)", seg[1]),
            ("worker sends SIGTERM -> program has it", seg[2]))])
    print("Wall time %.1f s from `sweep create` to the last run terminal; runs "
          "by state (`sweep runs --json`): %s; every stopped run `killed` with a "
          "reason starting \"hyperband band 3\": %s. Timeouts (not stopped "
          "within 5 s): %d%s." % (
              wall, ", ".join("%s %d" % kv for kv in sorted(states.items())),
              "yes" if not problems else "**no**", len(timeouts),
              " (i = %s)" % ", ".join(str(k) for k in timeouts[:20]) if timeouts else ""))
    print()
    if problems:
        raise BenchError("; ".join(problems[:10]))
    return met and not timeouts


def main():
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: sys.exit(1))
    ok_all = True
    phases = {"a": bench_dispatch, "b": bench_ingest, "c": bench_memory,
              "d": bench_earlystop}
    failed = 0
    for ph in PHASES:
        try:
            ok_all = phases[ph]() and ok_all
        except (BenchError, subprocess.TimeoutExpired, OSError, KeyError,
                ValueError, IndexError) as e:
            print("### (%s) failed: %s" % (ph, e))
            print()
            failed += 1
        sys.stdout.flush()
    if not ok_all:
        print("(a target was missed; see the tables)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""bench_runtime.py - the distributed runtime's benchmarks (issue 3):
dispatch, ingest and memory, and early termination's stop latency (issue
5), each on its own private stack (`sweep broker`, redis-server, one
sweep-controller, pool workers), each against a baseline measured in the
same run; and (k) dispatch, ingest and stop latency on a real 3-node Kafka
cluster side by side with the embedded broker. Prints markdown tables.

Called by tests/bench/bench_runtime.sh, which compiles the helper programs
of this directory into TMP/helpers, starts the real cluster for phase k
(scripts/kafka.sh) and cleans up after us with a trap (it kills every pid
we list in TMP/pids, and stops the cluster).

usage: bench_runtime.py TMP
env:   SWEEP_BIN (programs, default bin), BENCH_PHASES (default
       "a b c d k"), BENCH_DISPATCH_RUNS (500), BENCH_INGEST_LINES
       (100000), BENCH_LATENCY_LINES (500), BENCH_MEMORY_RUNS (10000),
       BENCH_STOP_RUNS (440: the grid of phase d, about half of it
       stopped); for phase k BENCH_KAFKA_WARMUP_RUNS (200, untimed, on
       the real cluster before its measures), BENCH_KAFKA_ENV (the cluster.env that
       `scripts/kafka.sh run` writes once its cluster is ready) and, when
       the cluster did not start, BENCH_KAFKA_ERR (why); BENCH_REAL_ENV
       ("K=V ...", e.g. "SWEEP_FETCH_WAIT_MS=500"): more environment for
       the processes of the real-cluster stacks only (phase k prints it).
Every process inherits the environment: SWEEP_FETCH_WAIT_MS=1 or
SWEEP_CONFIG=FILE (kafka.* lines) tune the stacks; phases d and k print
them.
"""
import calendar
import json
import math
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

ROOT = os.getcwd()
TMP = sys.argv[1]
HELP = os.path.join(TMP, "helpers")
SWEEP_BIN = os.path.abspath(os.environ.get("SWEEP_BIN", os.path.join(ROOT, "bin")))
PIDFILE = os.path.join(TMP, "pids")
PHASES = os.environ.get("BENCH_PHASES", "a b c d k").split()
# Every stack has a dashboard (`sweep ui`) open and polling it as the page
# does, once a second: the sweeps, each sweep, and its runs (1000 a page).
# BENCH_UI_POLL=0 runs without it.
UI_POLL = os.environ.get("BENCH_UI_POLL", "1") != "0"
N_DISPATCH = int(os.environ.get("BENCH_DISPATCH_RUNS", "500"))
N_INGEST = int(os.environ.get("BENCH_INGEST_LINES", "100000"))
N_LATENCY = int(os.environ.get("BENCH_LATENCY_LINES", "500"))
N_MEMORY = int(os.environ.get("BENCH_MEMORY_RUNS", "10000"))
N_STOP = int(os.environ.get("BENCH_STOP_RUNS", "440"))
N_WARMUP = int(os.environ.get("BENCH_KAFKA_WARMUP_RUNS", "200"))
REAL_ENV = dict(kv.split("=", 1) for kv in os.environ.get("BENCH_REAL_ENV", "").split()
                if "=" in kv)


class BenchError(Exception):
    pass


# What phases a, b and d measured on the embedded broker, for phase k.
RESULTS = {}


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

class Cluster:
    """The real Kafka cluster of `scripts/kafka.sh run`, from its cluster.env
    (KAFKA_BOOT, KAFKA_DIR, KAFKA_VERSION, ...)."""

    def __init__(self, env_path):
        self.env = self._kv(env_path, "=")
        self.boot = self.env.get("KAFKA_BOOT", "")
        self.dir = self.env.get("KAFKA_DIR", os.path.dirname(env_path))
        self.version = self.env.get("KAFKA_VERSION", "?")
        self.nodes = int(self.env.get("KAFKA_NODES", "0") or 0)
        if not self.boot.startswith("127.0.0.1:"):
            raise BenchError("%s: no KAFKA_BOOT" % env_path)
        try:
            self.props = self._kv(os.path.join(self.dir, "node1.properties"), "=")
        except OSError:
            self.props = {}

    @staticmethod
    def _kv(path, sep):
        out = {}
        with open(path) as f:
            for line in f:
                line = line.strip()
                if not line or line.startswith("#") or sep not in line:
                    continue
                k, v = line.split(sep, 1)
                if len(v) >= 2 and v[0] == v[-1] == "'":
                    v = v[1:-1]
                out[k] = v
        return out

    def pids(self):
        out = []
        for i in range(1, self.nodes + 1):
            try:
                with open(os.path.join(self.dir, "node%d.pid" % i)) as f:
                    out.append(int(f.read().strip()))
            except (OSError, ValueError):
                pass
        return out

    def cpu_secs(self):
        """CPU time (user + system) the nodes' JVMs have used so far."""
        tick, total = os.sysconf("SC_CLK_TCK"), 0
        for pid in self.pids():
            try:
                with open("/proc/%d/stat" % pid) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])
            except (OSError, ValueError, IndexError):
                pass
        return total / float(tick)

    def dead(self):
        """The nodes whose JVM is gone."""
        out = []
        for i in range(1, self.nodes + 1):
            try:
                with open(os.path.join(self.dir, "node%d.pid" % i)) as f:
                    pid = int(f.read().strip())
                with open("/proc/%d/cmdline" % pid, "rb") as f:
                    if b"node%d.properties" % i not in f.read():
                        out.append(i)
            except (OSError, ValueError):
                out.append(i)
        return out


class Stack:
    """`sweep broker` (or a fresh topic prefix on a real cluster),
    redis-server, a controller and N pool workers."""

    def __init__(self, name, nworkers, cluster=None):
        self.name = name
        self.dir = os.path.join(TMP, name)
        os.makedirs(self.dir)
        self.nworkers = nworkers
        self.cluster = cluster
        self.broker = self.redis = self.controller = None
        self.workers = []
        self.stats = []
        self.r = None
        self.ui = None
        self.ui_polls = 0
        self.ui_stop = threading.Event()
        self.pfx = []
        self.env = dict(os.environ)
        if cluster:
            self.env.update(REAL_ENV)

    def path(self, f):
        return os.path.join(self.dir, f)

    def start_broker(self):
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

    def start_topics(self):
        """On the real cluster (no topics made on use): a prefix of our own,
        so the topics start empty and no other stack reads them."""
        self.brokers = self.cluster.boot
        self.prefix = "bench%s.%s" % (os.urandom(4).hex(), self.name)
        self.pfx = ["--prefix", self.prefix]
        p = subprocess.run([os.path.join(SWEEP_BIN, "sweep"), "init-topics",
                            "--brokers", self.brokers] + self.pfx,
                           capture_output=True, text=True, timeout=90, env=self.env)
        with open(self.path("init-topics.log"), "w") as f:
            f.write(p.stdout + p.stderr)
        if p.returncode != 0:
            raise BenchError("sweep init-topics --prefix %s failed (exit %d): %s" % (
                self.prefix, p.returncode, (p.stderr or p.stdout).strip()[-300:]))

    def start(self):
        if self.cluster:
            self.start_topics()
        else:
            self.start_broker()
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
        self.common = ["--brokers", self.brokers, "--redis", self.url] + self.pfx
        self.controller = spawn([os.path.join(SWEEP_BIN, "sweep-controller")] +
                                self.common, self.path("controller.log"), self.env)
        if UI_POLL:
            self.start_ui()
        for i in range(self.nworkers):
            env = dict(self.env)
            st = self.path("worker-%d.stats" % (i + 1))
            env["SWEEP_WORKER_STATS"] = st
            self.stats.append(st)
            self.workers.append(spawn(
                [os.path.join(SWEEP_BIN, "sweep-worker"), "--brokers",
                 self.brokers, "--run-dir", self.path("runs-%d" % (i + 1))] + self.pfx,
                self.path("worker-%d.log" % (i + 1)), env))
        # Ready: the controller leads and has heard from every worker.
        def joined():
            self.check_alive()
            with open(self.path("controller.log")) as f:
                text = f.read()
            return "leading" in text and text.count(" joined") >= self.nworkers
        wait_until("the controller to see %d workers" % self.nworkers, joined, 30)

    def start_ui(self):
        """`sweep ui` on a free port, and a thread polling it as an open
        sweep page does (every second: /api/sweeps, then each sweep and
        every page of its runs)."""
        env = dict(self.env)
        env["SWEEP_REDIS_URL"] = self.url
        self.ui = spawn([os.path.join(SWEEP_BIN, "sweep"), "ui", "--http",
                         "127.0.0.1:0"], self.path("ui.log"), env)

        def url():
            if self.ui.poll() is not None:
                raise BenchError("sweep ui exited")
            with open(self.path("ui.log")) as f:
                for line in f:
                    if line.startswith("http://"):
                        return line.strip().rstrip("/")
            return None
        base = wait_until("sweep ui", url, 15)

        def get(path):
            with urllib.request.urlopen(base + path, timeout=10) as r:
                return json.loads(r.read())

        def poll():
            while not self.ui_stop.wait(1.0):
                try:
                    for sw in get("/api/sweeps")["sweeps"]:
                        get("/api/sweeps/%s" % sw["id"])
                        after = None
                        while True:
                            q = "?limit=1000" + ("&after=%s" % after if after else "")
                            page = get("/api/sweeps/%s/runs%s" % (sw["id"], q))
                            after = page["next"]
                            if not after:
                                break
                    self.ui_polls += 1
                except (OSError, ValueError, KeyError):
                    pass
        self.ui_thread = threading.Thread(target=poll, daemon=True)
        self.ui_thread.start()

    def check_alive(self):
        for name, p in [("broker", self.broker), ("redis-server", self.redis),
                        ("controller", self.controller)] + \
                [("worker %d" % (i + 1), w) for i, w in enumerate(self.workers)]:
            if p is not None and p.poll() is not None:
                raise BenchError("%s exited (%s); logs in %s" % (name, p.returncode, self.dir))
        if self.cluster and self.cluster.dead():
            raise BenchError("Kafka node(s) %s of the real cluster exited; logs in %s" % (
                ", ".join(str(i) for i in self.cluster.dead()), self.cluster.dir))

    def stop(self):
        if self.ui:
            self.ui_stop.set()
            self.ui_thread.join(15)
            stop(self.ui)
            log("%s: the dashboard was polled %d times" % (self.name, self.ui_polls))
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
                           self.common, capture_output=True, text=True, timeout=60,
                           env=self.env)
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
                           self.common, capture_output=True, text=True, timeout=120,
                           env=self.env)
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

def measure_dispatch(cluster=None):
    """Phase a's measure on `sweep broker`, or on CLUSTER (a Cluster)."""
    n = N_DISPATCH
    s = Stack("dispatch-real" if cluster else "dispatch", 2, cluster)
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
    rate = len(runs) / span if span > 0 else float("nan")
    return {"n": n, "runs": runs, "wall": wall, "rate": rate, "states": states,
            "per_worker": per_worker, "durs": durs, "gaps": gaps, "stalls": stalls,
            "to_first": to_first, "lat": lat, "first": first}


def bench_dispatch():
    n = N_DISPATCH
    m = measure_dispatch()
    RESULTS["a"] = m
    runs, wall, rate, lat, first = m["runs"], m["wall"], m["rate"], m["lat"], m["first"]
    states, per_worker, durs, gaps, stalls, to_first = (
        m["states"], m["per_worker"], m["durs"], m["gaps"], m["stalls"], m["to_first"])
    p = subprocess.run([os.path.join(HELP, "spawn_loop"), str(n)], capture_output=True,
                       text=True, timeout=300)
    b = p.stdout.split()
    base_secs = float(b[b.index("seconds") + 1])
    base_p50 = int(b[b.index("per_run_us_p50") + 1])
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


def measure_ingest(cluster=None, baselines=True):
    """Phase b's measure on `sweep broker`, or on CLUSTER; the Redis
    baselines (no Kafka in them) only when BASELINES."""
    n = N_INGEST
    raw64 = store1024 = float("nan")
    s = Stack("ingest-real" if cluster else "ingest", 1, cluster)
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
        if baselines:
            raw64 = base("raw", 64)
            store1024 = base("store", 1024)
    finally:
        s.stop()
    # Over the entries that arrived (all of them, unless some were lost).
    e2e = got / ((done_us - start_us) / 1e6) if done_us > start_us else float("nan")
    apply_rate = got / ((done_us - first_us) / 1e6) if done_us > first_us else float("nan")
    print_rate = n / ((end_us - start_us) / 1e6) if end_us > start_us else float("nan")
    return {"n": n, "e2e": e2e, "apply_rate": apply_rate, "print_rate": print_rate,
            "to_first_us": first_us - start_us, "got": got, "run": run, "lat": lat,
            "releads": releads, "resets": resets, "raw64": raw64,
            "store1024": store1024}


def bench_ingest():
    n = N_INGEST
    m = measure_ingest()
    RESULTS["b"] = m
    e2e, apply_rate, print_rate, got, run, lat = (
        m["e2e"], m["apply_rate"], m["print_rate"], m["got"], m["run"], m["lat"])
    releads, resets, raw64, store1024 = m["releads"], m["resets"], m["raw64"], m["store1024"]
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
        ["first line printed -> first stored (ms)", ms(m["to_first_us"]), "", "", "", ""],
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


def measure_earlystop(cluster=None):
    """Phase d's measure on `sweep broker`, or on CLUSTER. Its problems:
    those of the sweep's runs, then those of the stops."""
    n = N_STOP
    prog = os.path.join(HELP, "stopme")
    res = os.path.join(TMP, "stops-real" if cluster else "stops")
    os.makedirs(res)
    bad = [k for k in range(n) if is_bad(k)]
    s = Stack("earlystop-real" if cluster else "earlystop", 4, cluster)
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
    got = stop_results(res)

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
    stop_problems = []
    if early or missing:
        stop_problems.append("%d runs stopped before their bad line, %d left no result"
                             % (len(early), len(missing)))
    if len(lat) < min(200, len(bad)):
        stop_problems.append("only %d stops measured" % len(lat))

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
    return {"n": n, "bad": bad, "wall": wall, "states": states, "lat": lat,
            "timeouts": timeouts, "seg": seg, "run_problems": problems,
            "stop_problems": stop_problems}


def bench_earlystop():
    n = N_STOP
    prog = os.path.join(HELP, "stopme")
    base_dir = os.path.join(TMP, "stops-base")
    os.makedirs(base_dir)
    m = measure_earlystop()
    RESULTS["d"] = m
    bad, wall, states, lat, timeouts, seg = (
        m["bad"], m["wall"], m["states"], m["lat"], m["timeouts"], m["seg"])
    watcher = subprocess.Popen([prog, "watch", str(len(bad)), base_dir],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    note_pid(watcher.pid)
    err = watcher.communicate(timeout=60 + 6 * len(bad))[1]
    if watcher.returncode != 0:
        raise BenchError("stopme watch: %s" % err.strip())
    base = stop_results(base_dir)
    problems = list(m["run_problems"])
    blat = [base[k]["lat_us"] for k in base if "lat_us" in base[k]]
    if len(blat) != len(bad):
        problems.append("baseline: %d of %d runs signalled" % (len(blat), len(bad)))
    problems += m["stop_problems"]

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


# ---- (k) the real cluster next to the embedded broker ---------------------

FAILURES = (BenchError, subprocess.TimeoutExpired, OSError, KeyError, ValueError,
            IndexError)


def kafka_cluster():
    """The real cluster of this run, or None and why there is none."""
    env = os.environ.get("BENCH_KAFKA_ENV", "")
    if not env:
        return None, ("BENCH_KAFKA_ENV is not set (tests/bench/bench_runtime.sh "
                      "starts the cluster)")
    if not os.path.exists(env):
        return None, "the cluster did not start: %s" % (
            os.environ.get("BENCH_KAFKA_ERR") or "%s is missing" % env)
    try:
        c = Cluster(env)
    except (OSError, BenchError) as e:
        return None, "cannot read %s: %s" % (env, e)
    if c.dead():
        return None, "node(s) %s of the cluster exited before phase k; logs in %s" % (
            ", ".join(str(i) for i in c.dead()), c.dir)
    return c, None


def machine_busy():
    """CPU seconds the machine has been busy, all cores, and those of our
    children (the stacks, waited for, and what they ran)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    t = os.times()
    return ((sum(v) - v[3] - (v[4] if len(v) > 4 else 0)) / float(os.sysconf("SC_CLK_TCK")),
            t.children_user + t.children_system)


def cell(text):
    """TEXT fit for one markdown table cell."""
    return " ".join(str(text).replace("|", "/").split())


def num(x):
    return x is not None and not (isinstance(x, float) and math.isnan(x))


def k_rows(emb, real, absent):
    """The rows of phase k's table: (phase, measure, value of a result, its
    format, target, test of the real value)."""
    def p_ms(key, p):
        return lambda m: pct(m[key], p) / 1000.0

    def seg(i):
        return lambda m: (pct(m["seg"][i], 50) / 1000.0, pct(m["seg"][i], 99) / 1000.0)
    n_lat = len(emb["a"]["lat"]) if emb.get("a") else 0
    specs = [
        ("a", "dispatch latency p50 (ms): worker idle -> next process started",
         p_ms("lat", 50), "%.1f", "", None),
        ("a", "dispatch latency p99 (ms)", p_ms("lat", 99), "%.1f", "<= 50",
         lambda v: v <= 50),
        ("a", "dispatch latency max (ms)", lambda m: max(m["lat"]) / 1000.0 if m["lat"]
         else float("nan"), "%.1f", "", None),
        ("a", "runs/s, first start -> last end (%d runs, 2 workers)" % N_DISPATCH,
         lambda m: m["rate"], "%.1f", "", None),
        ("a", "sweep create -> first run started (s)", lambda m: m["to_first"], "%.2f",
         "", None),
        ("d", "metric line printed -> SIGTERM received p50 (ms)", p_ms("lat", 50), "%.1f",
         "", None),
        ("d", "metric line printed -> SIGTERM received p99 (ms)", p_ms("lat", 99), "%.1f",
         "<= 50", lambda v: v <= 50),
        ("d", "metric line printed -> SIGTERM received max (ms)",
         lambda m: max(m["lat"]) / 1000.0 if m["lat"] else float("nan"), "%.1f", "", None),
        ("d", "  line printed -> controller decides, p50 / p99 (ms)", seg(0), "%.1f", "",
         None),
        ("d", "  controller decides -> worker sends SIGTERM, p50 / p99 (ms)", seg(1),
         "%.1f", "", None),
        ("d", "stops measured; not stopped within 5 s", lambda m: (len(m["lat"]),
                                                                  len(m["timeouts"])),
         "%d", "none missed", lambda v: v[1] == 0),
        ("b", "ingest events/s, first line printed -> last stored (%d lines)" % N_INGEST,
         lambda m: m["e2e"], "%.0f", ">= 20000 (phase b's)", lambda v: v >= 20000),
        ("b", "ingest events/s, first stored -> last stored",
         lambda m: m["apply_rate"], "%.0f", "", None),
        ("b", "ingest: first line printed -> first stored (ms)",
         lambda m: m["to_first_us"] / 1000.0, "%.1f", "", None),
        ("b", "ingest: history entries stored (of %d)" % N_INGEST, lambda m: m["got"],
         "%d", "all", lambda v: v == N_INGEST),
        ("b", "metric line printed -> stored p50 / p99 (ms; %d lines at 200/s)"
         % N_LATENCY, lambda m: (pct(m["lat"], 50) / 1000.0, pct(m["lat"], 99) / 1000.0),
         "%.1f", "", None),
    ]
    rows, met = [], True
    for ph, name, get, fmt, target, test in specs:
        first = not rows
        e = get(emb[ph]) if emb.get(ph) else None
        r = get(real[ph]) if real.get(ph) else None
        pair = isinstance(e, tuple) or isinstance(r, tuple)

        def show(v, side):
            if v is None and side == "real" and absent:
                return cell(absent if first else "not measured (no cluster)")
            if v is None:
                return "failed (see below)"
            if pair:
                return " / ".join("n/a" if not num(x) else fmt % x for x in v)
            return "n/a" if not num(v) else fmt % v
        ratio = ""
        if e is not None and r is not None and fmt != "%d":
            ev, rv = (e, r) if pair else ((e,), (r,))
            ratio = " / ".join("%.2f" % (b / a) if num(a) and num(b) and a > 0 else "n/a"
                               for a, b in zip(ev, rv))
        good = ""
        if test:
            good = ok(bool(test(r))) if r is not None else "not measured"
            met = met and r is not None and bool(test(r))
        rows.append([name, show(e, "emb"), show(r, "real"), ratio, target, good])
    return rows, met


def warm_up(cluster):
    """N_WARMUP trivial runs through a throwaway stack, untimed: a fresh
    cluster's JVMs compile their produce, fetch and replication paths and
    load the transaction coordinator's state on first use (measured: each
    worker's first ~25 dispatches at 40-800 ms instead of ~25), which a
    cluster in service has long done; the embedded broker, plain C, has
    nothing to warm."""
    s = Stack("warmup-real", 2, cluster)
    try:
        s.start()
        sid = s.create(trivial_config(N_WARMUP), "warmup")
        s.wait_done(sid, N_WARMUP, max(120, N_WARMUP))
    finally:
        s.stop()


def bench_kafka():
    t_all = time.time()
    cluster, absent = kafka_cluster()
    measures = (("a", measure_dispatch),
                ("b", lambda c: measure_ingest(c, baselines=False)),
                ("d", measure_earlystop))
    emb, real, errors, secs, reused, jvm_cpu = {}, {}, [], {}, [], {}
    busy_all = ours = warm_secs = 0.0
    if cluster and N_WARMUP > 0:
        t = time.time()
        try:
            warm_up(cluster)
        except FAILURES as e:
            errors.append("real cluster, warm-up: %s" % e)
        warm_secs = time.time() - t
    for ph, fn in measures:
        if ph in RESULTS:
            emb[ph] = RESULTS[ph]
            reused.append(ph)
        else:
            try:
                emb[ph] = fn(None)
            except FAILURES as e:
                errors.append("embedded broker, (%s): %s" % (ph, e))
        if not cluster:
            continue
        t, cpu, busy = time.time(), cluster.cpu_secs(), machine_busy()
        try:
            real[ph] = fn(cluster)
        except FAILURES as e:
            errors.append("real cluster, (%s): %s" % (ph, e))
        secs[ph] = time.time() - t
        jvm_cpu[ph] = cluster.cpu_secs() - cpu
        now = machine_busy()
        busy_all += now[0] - busy[0]
        ours += now[1] - busy[1]
    for side, res in (("embedded broker", emb), ("real cluster", real)):
        for ph in ("d",):
            if res.get(ph) and (res[ph]["run_problems"] or res[ph]["stop_problems"]):
                errors.append("%s, (d): %s" % (side, "; ".join(
                    (res[ph]["run_problems"] + res[ph]["stop_problems"])[:5])))
    rows, met = k_rows(emb, real, "not measured: " + absent if absent else None)
    props = cluster.props if cluster else {}
    settings = tuned()
    def names(phs):
        return " and ".join("(%s)" % p for p in phs)
    fresh = [p for p in "abd" if p not in reused]
    if not fresh:
        src = ("the figures of phases (a), (b) and (d) above, from this same run "
               "(the same functions measured them)")
    elif reused:
        src = ("for %s the figures above, from this same run (the same functions), "
               "for %s measured in this phase, each just before its real-cluster "
               "twin" % (names(reused), names(fresh)))
    else:
        src = "measured in this phase, each just before its real-cluster twin"
    print("### (k) The real 3-node Kafka cluster next to the embedded broker")
    print()
    if absent:
        print("**No real cluster, so no real-cluster figures**: %s." % absent)
        print()
    ncpu = os.cpu_count() or 0
    print("Phases (a), (b) and (d) once more, with the same stacks, programs, "
          "sizes and method, on a real cluster: Apache Kafka %s (`scripts/kafka.sh "
          "run --nodes 3`), %s KRaft nodes on 127.0.0.1 of this machine, each a "
          "broker and a controller in one JVM; replication factor %s, "
          "min.insync.replicas %s. Every stack has a fresh topic prefix whose "
          "topics `sweep init-topics` created (4 partitions each); %d untimed "
          "trivial runs warm the cluster up first (a fresh JVM compiles its "
          "produce, fetch and replication paths on first use). Our producers "
          "are idempotent with acks=all (lib/kafka.c): a message is delivered, "
          "and readers see it, once every in-sync replica has it (all %s while "
          "the nodes keep up; %s is the fewest a write is accepted with). The "
          "embedded broker is `sweep broker` (librdkafka's mock cluster: one "
          "process, no replication); its column is %s." % (
              cluster.version if cluster else os.environ.get("SWEEP_KAFKA_VERSION", "3.9.2"),
              cluster.nodes if cluster else 3,
              props.get("default.replication.factor", "3"),
              props.get("min.insync.replicas", "2"), N_WARMUP,
              props.get("default.replication.factor", "3"),
              props.get("min.insync.replicas", "2"), src))
    print()
    print("Dispatch latency: worker idle (previous run reaped) -> the next run's "
          "process spawned, from `SWEEP_WORKER_STATS` (%d runs of `/bin/sh -c "
          "'echo loss=1'` on 2 pool workers, each worker's first run left out). "
          "Stop: metric line printed -> SIGTERM received by the program "
          "(CLOCK_MONOTONIC; phase d's hyperband grid of %d runs on 4 workers; "
          "the two segments from log stamps, +-1 ms). Ingest: one run prints %d "
          "lines as fast as it can, events/s from its first line printed to the "
          "last stored in Redis; the latency row is phase b's paced run. Ratio: "
          "real / embedded." % (N_DISPATCH, N_STOP, N_INGEST))
    print()
    print("Both columns ran in this same `make bench` on the same machine (%d "
          "cores; the cluster idle while the embedded stacks ran). Absolute "
          "figures vary about twofold between machines here, and from run to "
          "run when something else keeps the cores busy (the CPU line under "
          "the table says how busy they were). Settings: %s%s." % (
              ncpu, "; ".join(settings) if settings else
              "the defaults, as `sweep local` runs them",
              "; on the real cluster only (BENCH_REAL_ENV): %s" % " ".join(
                  "%s=%s" % kv for kv in sorted(REAL_ENV.items())) if REAL_ENV else ""))
    print()
    table(["measure", "embedded broker", "real 3-node cluster", "ratio (real/embedded)",
           "target (real)", "met"], rows)
    if cluster:
        wall = max(1e-9, sum(secs.values()))
        jvm = sum(jvm_cpu.values())
        print("Phase k took %.0f s: %.0f s warming the cluster up, %.0f s "
              "measuring on it ((a) %.0f s, (b) %.0f s, (d) %.0f s)%s. While it "
              "measured, the machine's %d cores were busy %.0f%% of the time: "
              "the 3 Kafka JVMs %.0f s of CPU (%.0f%% of one core), the stacks "
              "and their runs %.0f s, other processes %.0f s." % (
                  time.time() - t_all, warm_secs, wall, secs.get("a", 0),
                  secs.get("b", 0), secs.get("d", 0),
                  "; the cluster had started in %s s, before the first phase" %
                  os.environ["BENCH_KAFKA_START_SECS"]
                  if os.environ.get("BENCH_KAFKA_START_SECS") else "",
                  ncpu, 100.0 * busy_all / wall / max(1, ncpu), jvm,
                  100.0 * jvm / wall, ours, max(0.0, busy_all - jvm - ours)))
        print()
    for e in errors:
        print("**Failed**: %s" % e)
        print()
    if absent or errors:
        raise BenchError(absent or errors[0])
    return met


def main():
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: sys.exit(1))
    ok_all = True
    phases = {"a": bench_dispatch, "b": bench_ingest, "c": bench_memory,
              "d": bench_earlystop, "k": bench_kafka}
    failed = 0
    print("Every stack below ran %s." % (
        "with a dashboard open and polling: `sweep ui` on its Redis, asked once a "
        "second for the sweeps, each sweep and every page of its runs, as an "
        "open sweep page does (BENCH_UI_POLL=0: without)" if UI_POLL else
        "without a dashboard (BENCH_UI_POLL=0)"))
    print()
    for ph in PHASES:
        try:
            ok_all = phases[ph]() and ok_all
        except FAILURES as e:
            print("### (%s) failed: %s" % (ph, e))
            print()
            failed += 1
        sys.stdout.flush()
    if not ok_all:
        print("(a target was missed; see the tables)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""curve.py - a run whose loss is base / step, 0.15 s apart: base 10 for a
--kind=bad* run, 1 otherwise (good runs tie at every step; the bad ones
are 10x worse from the first value on). --steps=N steps (default 12);
other --name=value flags are ignored. Records its pid in $IT_PIDS (the
tests' trap stops orphans)."""
import os
import sys
import time

flags = dict(a[2:].split("=", 1) for a in sys.argv[1:] if a.startswith("--") and "=" in a)
if os.environ.get("IT_PIDS"):
    open(os.path.join(os.environ["IT_PIDS"], str(os.getpid())), "w").close()
base = 10.0 if flags.get("kind", "").startswith("bad") else 1.0
for step in range(1, int(flags.get("steps", "12")) + 1):
    print("loss=%r" % (base / step), flush=True)
    time.sleep(0.15)

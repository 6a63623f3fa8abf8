"""sweep_metrics - report metrics from a Python program run by a sweep worker.

No dependencies beyond the standard library: copy this file next to your
script, or put this directory on PYTHONPATH.

    import sweep_metrics

    for epoch in range(10):
        ...
        sweep_metrics.log(step=epoch, loss=loss, acc=acc)

Under a sweep worker each call writes one JSON line ({"loss": 0.31,
"acc": 0.9, "_step": 5}) to the pipe named by SWEEP_METRICS_FD. Without
one (run by hand, or SWEEP_METRICS_FD is not a pipe here) it prints
"loss=0.31 acc=0.9 _step=5" to stdout, which the worker also reads, so a
script behaves the same either way. NaN and infinities are allowed.

Values must be numbers: int, float, bool (as 0/1) or anything float()
accepts, such as numpy scalars and one-element tensors. Names follow the
rule both forms share: a letter or _, then letters, digits and _ . / -,
at most 127 characters.
"""

import json
import math
import os
import re
import stat
import sys
import threading

__all__ = ["log"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_./-]{0,126}\Z")
_lock = threading.Lock()
_fd = None  # None: not looked up yet; -1: no pipe, use stdout


def _metrics_fd():
    global _fd
    if _fd is None:
        _fd = -1
        try:
            fd = int(os.environ.get("SWEEP_METRICS_FD", ""))
            if stat.S_ISFIFO(os.fstat(fd).st_mode):
                _fd = fd
        except (ValueError, OSError):
            pass
    return _fd


def _number(name, value):
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        # JSON integers beyond 64 bits would make the worker drop the line.
        return value if -2**63 <= value < 2**63 else float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TypeError("sweep_metrics.log: %s=%r is not a number"
                        % (name, value)) from None


def _text(value):
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return repr(value)


def _write(fd, data):
    while data:
        n = os.write(fd, data)
        data = data[n:]


def log(step=None, **metrics):
    """Reports metrics, optionally at an integer step.

    Raises TypeError for a value that is not a number and ValueError for a
    name the worker would not accept. Returns nothing.
    """
    global _fd
    values = {}
    for name, value in metrics.items():
        if not _NAME.match(name) or name == "_step":
            raise ValueError("sweep_metrics.log: bad metric name %r" % name)
        values[name] = _number(name, value)
    if step is not None:
        if isinstance(step, bool) or int(step) != step:
            raise ValueError("sweep_metrics.log: step %r is not an integer"
                             % (step,))
        values["_step"] = int(step)
    if not values:
        return
    with _lock:
        fd = _metrics_fd()
        if fd >= 0:
            line = json.dumps(values, allow_nan=True) + "\n"
            try:
                _write(fd, line.encode("utf-8"))
                return
            except OSError:
                _fd = -1  # the worker is gone: fall back to stdout
        print(" ".join("%s=%s" % (k, _text(v)) for k, v in values.items()),
              flush=True)

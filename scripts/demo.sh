#!/bin/sh
# The demo: a real sweep on this machine with `sweep local`: the embedded
# Kafka broker, a private redis-server, a controller and two workers, each
# its own process, training logistic regression (examples/logreg.py) with
# the bayes search and hyperband of config/demo.yaml, with live progress,
# the runs stopped early and why, and the best run.
set -eu
cd "$(dirname "$0")/.."
SWEEP=${SWEEP_BIN:-bin}/sweep
"$SWEEP" validate config/demo.yaml
exec "$SWEEP" local config/demo.yaml --workers 2 --follow

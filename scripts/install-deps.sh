#!/bin/sh
# Installs, with apt-get, the Debian packages that the build, the tests and
# the demo need: only those missing, so it is a cheap check when all are
# present. Needs root (or sudo) only when something is missing.
set -eu

PKGS="build-essential pkg-config clang libclang-rt-14-dev
      libyaml-dev libjansson-dev libgsl-dev libopenblas-dev
      librdkafka-dev libavro-dev libhiredis-dev libmicrohttpd-dev
      redis-server kcat python3 python3-yaml python3-kafka
      python3-confluent-kafka python3-avro"

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

echo "install-deps: installing:$missing" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || {
        echo "install-deps: need root (or sudo) to install:$missing" >&2
        exit 1
    }
    SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing

#!/bin/sh
# Installs, with apt-get, the Debian packages that the build, the tests and
# the demo need: only those missing, so it is a cheap check when all are
# present; Java 17+ and Maven (for scripts/kafka.sh) only when the commands
# are missing or java is older. Needs root (or sudo) only when something is
# missing.
set -eu

PKGS="build-essential pkg-config clang libclang-rt-14-dev
      libyaml-dev libjansson-dev libgsl-dev libopenblas-dev
      librdkafka-dev libavro-dev libhiredis-dev libmicrohttpd-dev
      redis-server kcat python3 python3-yaml python3-kafka
      python3-confluent-kafka python3-avro libssl-dev openssl
      python3-venv chromium prometheus"

installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

# java_ok: a java on PATH, version 17 or newer (scripts/kafka.sh runs Apache
# Kafka from its jars); "1.8.0" reads as 1.
java_ok() {
    command -v java >/dev/null 2>&1 || return 1
    jv=$(java -version 2>&1 | sed -n 's/.* version "\([0-9][0-9]*\).*/\1/p' | head -n 1)
    [ "${jv:-0}" -ge 17 ] 2>/dev/null
}

missing=""
for p in $PKGS; do
    installed "$p" || missing="$missing $p"
done
# Java and Maven for the real Kafka cluster of the tests; they may come from
# elsewhere than Debian, so the commands are checked, not the packages.
if ! java_ok; then
    if installed openjdk-17-jre-headless; then
        echo "install-deps: the java on PATH is older than 17; put /usr/lib/jvm/java-17-openjdk-*/bin first" >&2
    else
        missing="$missing openjdk-17-jre-headless"
    fi
fi
command -v mvn >/dev/null 2>&1 || missing="$missing maven"
# Node.js and npm for the browser test (Playwright) and the vendored charts;
# Node.js may come from elsewhere than Debian (its own npm then), so the
# commands are checked.
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
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

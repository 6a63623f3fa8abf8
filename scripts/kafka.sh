#!/bin/sh
# kafka.sh - a real Apache Kafka cluster (KRaft, combined broker+controller
# nodes) on 127.0.0.1 for the tests, run from the broker's jars on Maven
# Central: no distribution tarball, no Docker, no scripts of Kafka's own.
# The jars live in a cache outside the repository; once there, `run` works
# offline. `scripts/kafka.sh --help` lists the subcommands.
#
# Why plain `java -cp 'libs/*' kafka.Kafka`: kafka_2.13 and its runtime
# dependencies are a complete broker (StorageTool included), about 45 MB
# against 120 MB for the tarball, and Maven is a Debian package.
set -u

PY=/usr/bin/python3
KCAT=${KCAT:-kcat}
# The newest broker that Debian 12's librdkafka 2.0.2 works with in every
# way the tests use it (produce acks=all + idempotence, fetch, groups with
# commits, Admin API, compression, headers, SASL_SSL SCRAM-SHA-512). Every
# 4.x (4.0.2 to 4.4.0 tried) does all of it but the SCRAM login: librdkafka
# before 2.6.1 repeats the client nonce in its client-final-message
# (librdkafka#4895), which 3.8.1-3.9.x accept and 4.x refuses since the fix
# of CVE-2024-56128 checks it strictly.
DEFAULT_VERSION=3.9.2
CACHE=${SWEEP_KAFKA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sweep/kafka}
case $CACHE in /*) ;; *) CACHE=$PWD/$CACHE ;; esac # the JVMs run elsewhere
START_SECS=${SWEEP_KAFKA_TIMEOUT:-90}
# The whole quorum going at once waits 5 s in each node's raft shutdown
# for a resignation nobody can answer: the data is deleted anyway.
STOP_SECS=3
HEAP=${SWEEP_KAFKA_HEAP:--Xms128m -Xmx384m}
# Measured on 2 cores: C1 only and the serial collector start a node about
# a third faster than the defaults (G1 and C2), and the tests never run a
# broker long enough for C2 to pay off.
JVM_FAST="-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto -XX:-UsePerfData"
JVM_OPTS=${SWEEP_KAFKA_JVM_OPTS:-$JVM_FAST -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true}
USERS="admin controller worker cli pipeline"

usage() {
    cat <<EOF
usage: scripts/kafka.sh fetch [--version V]
       scripts/kafka.sh run [--nodes 1|3] [--version V] [--dir DIR] [--security]
       scripts/kafka.sh node-stop DIR N [--kill]
       scripts/kafka.sh node-start DIR N
       scripts/kafka.sh -h | --help

A real Apache Kafka cluster (KRaft) on 127.0.0.1 for the tests.

fetch       downloads org.apache.kafka:kafka_2.13:V, its runtime
            dependencies and one slf4j binding with Maven into
            \$SWEEP_KAFKA_CACHE/V/libs (default
            \${XDG_CACHE_HOME:-\$HOME/.cache}/sweep/kafka) unless already
            there, and prints that directory. No network once cached.
run         fetches if needed, formats and starts the nodes (combined
            broker+controller, static quorum) on free loopback ports,
            waits until every node is in the cluster metadata, prints the
            bootstrap list "127.0.0.1:P1,..." as the first line of stdout
            (and the directory on stderr), then runs until SIGINT, SIGTERM
            or SIGHUP: stops every node (SIGTERM, SIGKILL after ${STOP_SECS} s)
            and removes the directory (kept when --dir was given and
            SWEEP_KAFKA_KEEP=1). A node that dies is not restarted.
  --nodes N     1 or 3 (default 1); with 3: replication factor 3,
                min.insync.replicas 2
  --version V   Kafka version (default \$SWEEP_KAFKA_VERSION or $DEFAULT_VERSION)
  --dir DIR     the cluster's directory (default a new temporary one)
  --security    adds a SASL_SSL listener per node (SCRAM-SHA-512, a CA and
                certificate made here) and the StandardAuthorizer with no
                ACLs; PLAINTEXT stays open for User:ANONYMOUS, a super user,
                as is User:admin. SCRAM users: $USERS
node-stop   stops node N of the cluster in DIR (SIGTERM, or SIGKILL with
            --kill) and waits for it to exit
node-start  starts node N again with the same properties and data; returns
            once it is back in the metadata (a warning after 60 s)

DIR holds nodeN.properties, nodeN.log (the format tool's and the node's
output), nodeN.pid, dataN/, log4j2.properties and log4j.properties (4.x,
3.9), and once the cluster is ready cluster.env, to source: KAFKA_BOOT,
KAFKA_NODES, KAFKA_NODEn_PORT, KAFKA_DIR, KAFKA_VERSION, KAFKA_RUN_PID...
With --security also ca.pem, KAFKA_SASL_BOOT and KAFKA_CA in cluster.env,
and secrets/ (USER.password, USER.conf for kcat -F, the CA's and the
brokers' keys; mode 0600).

Env: SWEEP_KAFKA_VERSION, SWEEP_KAFKA_CACHE, SWEEP_KAFKA_KEEP,
SWEEP_KAFKA_TIMEOUT (start timeout, default 90 s), SWEEP_KAFKA_HEAP,
SWEEP_KAFKA_JVM_OPTS, SWEEP_KAFKA_CDS=0 (no class-data archive).
EOF
}

die() {
    echo "kafka.sh: $*" >&2
    exit 1
}

usage_error() {
    echo "kafka.sh: $*" >&2
    echo "usage: scripts/kafka.sh fetch|run|node-stop|node-start ... (--help)" >&2
    exit 2
}

# shq VALUE: VALUE single-quoted for the shell.
shq() {
    printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"
}

check_version() {
    case $1 in
    '' | *[!0-9.]* | .* | *..* | *.) usage_error "bad version '$1'" ;;
    esac
}

# need_java: java on PATH and at least 17 (Kafka 4 requires it; 3.9 runs
# on it); sets JAVA_BUILD, which names the class-data archive.
need_java() {
    command -v java >/dev/null 2>&1 ||
        die "java not found: a Java 17+ runtime is needed (scripts/install-deps.sh installs openjdk-17-jre-headless)"
    nj_out=$(java -version 2>&1)
    nj_v=$(echo "$nj_out" | sed -n 's/.* version "\([0-9][0-9.]*\).*/\1/p' | head -n 1)
    nj_major=${nj_v%%.*}
    [ "$nj_major" = 1 ] && nj_major=$(echo "$nj_v" | cut -d. -f2)
    case $nj_major in '' | *[!0-9]*) die "cannot tell the version of java ('$nj_v')" ;; esac
    [ "$nj_major" -ge 17 ] || die "java $nj_v is too old: Kafka needs 17 or newer"
    JAVA_BUILD=$(echo "$nj_out" | sed -n 's/.*Runtime Environment.*(build \([^)]*\)).*/\1/p' |
        head -n 1 | tr -c 'A-Za-z0-9._+\n-' _)
}

# ---------------------------------------------------------------- fetch

# pom_write FILE VERSION [GROUP:ARTIFACT:VERSION...]: a pom whose
# dependencies are the broker and the artifacts named (the slf4j binding).
pom_write() {
    pw_extra=""
    if [ -n "${3:-}" ]; then
        pw_extra=$(echo "$3" | tr ' ' '\n' | awk -F: 'NF == 3 {
            printf "<dependency><groupId>%s</groupId><artifactId>%s</artifactId>", $1, $2
            printf "<version>%s</version></dependency>\n", $3 }')
    fi
    cat >"$1" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>sweep.test</groupId>
  <artifactId>kafka-broker-libs</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>$2</version>
    </dependency>
    $pw_extra
  </dependencies>
</project>
EOF
}

# binding_for TREE: the slf4j binding (artifacts, space-separated) that
# matches the slf4j-api, and the log4j-core when there is one, of a `mvn
# dependency:tree` output. Kafka 4.1+ brings log4j-core (for its dynamic
# log levels) but no binding; 4.0 logs to log4j2 too but leaves it out,
# so the 2.24 line that 4.0 was built with is added; 3.9 uses log4j 1's
# API, which reload4j provides.
binding_for() {
    bf_slf4j=$(sed -n 's/.*org\.slf4j:slf4j-api:jar:\([^:]*\):.*/\1/p' "$1" | head -n 1)
    bf_log4j=$(sed -n 's/.*org\.apache\.logging\.log4j:log4j-core:jar:\([^:]*\):.*/\1/p' "$1" | head -n 1)
    [ -n "$bf_slf4j" ] || return 1
    bf_core=""
    if [ -z "$bf_log4j" ]; then
        case $VERSION in
        [0-3].*)
            # 1.2.25, as Kafka 3.9 builds with, not slf4j's 1.2.19
            echo "org.slf4j:slf4j-reload4j:$bf_slf4j ch.qos.reload4j:reload4j:1.2.25"
            return 0
            ;;
        esac
        bf_log4j=2.24.3
        bf_core=" org.apache.logging.log4j:log4j-core:$bf_log4j"
    fi
    case $bf_slf4j in
    1.*) echo "org.apache.logging.log4j:log4j-slf4j-impl:$bf_log4j${bf_core:-}" ;;
    *) echo "org.apache.logging.log4j:log4j-slf4j2-impl:$bf_log4j${bf_core:-}" ;;
    esac
}

# mvn_quiet ARGS...: mvn on $FETCH_TMP/pom; its output (errors included,
# which Maven prints on stdout, ours) goes to stderr only when it fails,
# without the colour codes that Debian's Maven 3.8 prints even with -B.
mvn_quiet() {
    (cd "$FETCH_TMP/pom" && mvn -B -q "$@") >"$FETCH_TMP/mvn.log" 2>&1 && return 0
    sed 's/\x1b\[[0-9;]*m//g' "$FETCH_TMP/mvn.log" | grep -v '^$' | tail -n 30 >&2
    return 1
}

fetch_cleanup() {
    [ -n "${FETCH_TMP:-}" ] && rm -rf "$FETCH_TMP"
    FETCH_TMP=""
    rmdir "$CACHE/$VERSION" 2>/dev/null # a failed first fetch
    return 0
}

# kafka_fetch: sets LIBS to the cached jars of $VERSION, downloading them
# first when the marker file is missing. The download goes to a temporary
# directory beside the cache entry, renamed into place once complete, so an
# interrupted one never looks complete.
kafka_fetch() {
    LIBS=$CACHE/$VERSION/libs
    [ -f "$LIBS/.complete" ] && return 0
    command -v mvn >/dev/null 2>&1 ||
        die "mvn not found: Maven is needed once to download Kafka $VERSION (scripts/install-deps.sh installs it)"
    need_java
    mkdir -p "$CACHE/$VERSION" || die "cannot create $CACHE/$VERSION"
    for kf_t in "$CACHE/$VERSION"/.fetch.*; do
        [ -d "$kf_t" ] || continue
        kill -0 "${kf_t##*.}" 2>/dev/null || rm -rf "$kf_t"
    done
    FETCH_TMP=$CACHE/$VERSION/.fetch.$$
    rm -rf "$FETCH_TMP"
    mkdir "$FETCH_TMP" || die "cannot create $FETCH_TMP"
    trap 'fetch_cleanup; exit 1' INT TERM HUP
    trap fetch_cleanup EXIT
    echo "kafka.sh: downloading Kafka $VERSION's jars with Maven into $LIBS" >&2
    mkdir "$FETCH_TMP/pom"
    pom_write "$FETCH_TMP/pom/pom.xml" "$VERSION"
    mvn_quiet dependency:tree -DoutputFile="$FETCH_TMP/tree.txt" ||
        die "mvn could not resolve org.apache.kafka:kafka_2.13:$VERSION (no network, or no such version?)"
    kf_bind=$(binding_for "$FETCH_TMP/tree.txt") ||
        die "no slf4j-api in kafka_2.13:$VERSION's dependency tree ($FETCH_TMP/tree.txt)"
    pom_write "$FETCH_TMP/pom/pom.xml" "$VERSION" "$kf_bind"
    mvn_quiet dependency:copy-dependencies -DincludeScope=runtime \
        -DoutputDirectory="$FETCH_TMP/libs" ||
        die "mvn could not download kafka_2.13:$VERSION with $kf_bind"
    [ -f "$FETCH_TMP/libs/kafka_2.13-$VERSION.jar" ] ||
        die "kafka_2.13-$VERSION.jar is missing from the download"
    printf 'org.apache.kafka:kafka_2.13:%s %s\n' "$VERSION" "$kf_bind" \
        >"$FETCH_TMP/libs/.complete" || die "cannot write the marker"
    # A concurrent fetch may have won the race: keep its copy.
    if [ ! -f "$LIBS/.complete" ]; then
        rm -rf "$LIBS"
        mv "$FETCH_TMP/libs" "$LIBS" || die "cannot rename the download to $LIBS"
    fi
    fetch_cleanup
    trap - INT TERM HUP EXIT
    [ -f "$LIBS/.complete" ] || die "$LIBS is incomplete"
}

# cds_prepare: sets KAFKA_CDS to the class-data archive of $VERSION for
# this JVM build, made first if missing (empty when that fails, or with
# SWEEP_KAFKA_CDS=0). Needs LIBS and JAVA_BUILD. It lives beside the jars
# it was made from (the classpath wildcard takes only *.jar), and goes
# with them.
cds_prepare() {
    KAFKA_CDS=""
    [ "${SWEEP_KAFKA_CDS:-1}" = 0 ] && return 0
    cp_jsa=$LIBS/cds-${JAVA_BUILD:-unknown}.jsa
    if [ ! -f "$cp_jsa" ] && [ ! -f "$cp_jsa.failed" ]; then
        echo "kafka.sh: making a class-data archive of Kafka $VERSION for faster starts (once, about 15 s)" >&2
        if ! cds_build "$cp_jsa"; then
            echo "kafka.sh: no class-data archive (see above); nodes start slower" >&2
            : >"$cp_jsa.failed"
        fi
    fi
    [ -f "$cp_jsa" ] && KAFKA_CDS=$cp_jsa
    return 0
}

# cds_build JSA: a static AppCDS archive of the classes that the format
# tool and a starting node load, recorded from one throwaway node. Classes
# mapped from it instead of parsed from 45 jars cut a 3-node start on 2
# cores by about a third (and the format tool's by 0.7 s); the JVM drops
# an archive that no longer matches its jars or build (-Xshare:auto).
cds_build() {
    (
        cb_tmp=$(mktemp -d "${TMPDIR:-/tmp}/sweep-kafka-cds.XXXXXX") || exit 1
        trap 'stop_all "$cb_tmp" 2>/dev/null; rm -rf "$cb_tmp" "$1.tmp.$$"' EXIT
        trap 'exit 1' INT TERM HUP
        DIR=$cb_tmp KAFKA_DIR=$cb_tmp KAFKA_LIBS=$LIBS KAFKA_CDS=""
        KAFKA_JAVA_OPTS="$HEAP $JVM_OPTS" NODES=1 SECURITY=0
        # shellcheck disable=SC2046
        set -- "$1" $(free_ports 2)
        PORTS=$2 CPORTS=$3 VOTERS="1@127.0.0.1:$3" BOOT=127.0.0.1:$2
        CLUSTER_ID=$(cluster_id) || exit 1
        write_log4j
        write_props 1
        KAFKA_CLASSLIST=$cb_tmp/format.classes
        format_all
        KAFKA_CLASSLIST=$cb_tmp/node.classes
        node_launch 1 || exit 1
        cb_left=600
        until [ "$(metadata_ids "$BOOT")" = 1 ]; do
            node_pid "$cb_tmp" 1 >/dev/null && [ $cb_left -gt 0 ] || {
                tail -n 15 "$cb_tmp/node1.log" >&2
                echo "kafka.sh: the archive's node did not start" >&2
                exit 1
            }
            sleep 0.2
            cb_left=$((cb_left - 2))
        done
        stop_all "$cb_tmp"
        awk '!seen[$0]++' "$cb_tmp/format.classes" "$cb_tmp/node.classes" \
            >"$cb_tmp/all.classes" || exit 1
        # shellcheck disable=SC2086
        java $KAFKA_JAVA_OPTS -Xshare:dump -XX:SharedClassListFile="$cb_tmp/all.classes" \
            -XX:SharedArchiveFile="$1.tmp.$$" -cp "$LIBS/*" >"$cb_tmp/dump.log" 2>&1 || {
            tail -n 15 "$cb_tmp/dump.log" >&2
            exit 1
        }
        mv "$1.tmp.$$" "$1"
    )
}

cmd_fetch() {
    while [ $# -gt 0 ]; do
        case $1 in
        --version) [ $# -ge 2 ] || usage_error "--version needs a value"; VERSION=$2; shift ;;
        --version=*) VERSION=${1#*=} ;;
        -h | --help) usage; exit 0 ;;
        *) usage_error "fetch: unknown argument '$1'" ;;
        esac
        shift
    done
    check_version "$VERSION"
    kafka_fetch
    if command -v java >/dev/null 2>&1 && command -v "$KCAT" >/dev/null 2>&1; then
        need_java
        cds_prepare
    fi
    echo "$LIBS"
}

# ---------------------------------------------------------------- nodes

# node_pid DIR N: the pid of node N's JVM when it is running (a pid that
# is gone, a zombie or a recycled one prints nothing).
node_pid() {
    np_p=$(cat "$1/node$2.pid" 2>/dev/null) || return 1
    case $np_p in '' | *[!0-9]*) return 1 ;; esac
    tr '\0' '\n' 2>/dev/null <"/proc/$np_p/cmdline" |
        grep -qxF "$1/node$2.properties" || return 1
    echo "$np_p"
}

# kjava CLASS ARGS...: java on Kafka's jars with the cluster's options:
# KAFKA_JAVA_OPTS (words), KAFKA_CDS (the class-data archive, or empty),
# KAFKA_DIR (the log4j configs), KAFKA_LIBS; KAFKA_CLASSLIST, when set,
# records the classes loaded (to build an archive). It execs: call it as a
# background job, whose $! is then the JVM's pid. The JVM runs in
# KAFKA_DIR, where anything it writes of its own (hs_err files) lands.
kjava() {
    cd "$KAFKA_DIR" || exit 1
    # shellcheck disable=SC2086 # the options are words
    exec java $KAFKA_JAVA_OPTS ${KAFKA_CDS:+"-XX:SharedArchiveFile=$KAFKA_CDS"} \
        ${KAFKA_CLASSLIST:+"-XX:DumpLoadedClassList=$KAFKA_CLASSLIST"} \
        "-Dlog4j2.configurationFile=$KAFKA_DIR/log4j2.properties" \
        "-Dlog4j.configuration=file:$KAFKA_DIR/log4j.properties" \
        "-Dkafka.logs.dir=$KAFKA_DIR" -cp "$KAFKA_LIBS/*" "$@"
}

# pid_write N PID: nodeN.pid, atomically.
pid_write() {
    echo "$2" >"$KAFKA_DIR/node$1.pid.tmp" &&
        mv "$KAFKA_DIR/node$1.pid.tmp" "$KAFKA_DIR/node$1.pid"
}

# node_launch N: starts node N's JVM in the background, its output
# appended to nodeN.log, and writes nodeN.pid.
node_launch() {
    kjava kafka.Kafka "$KAFKA_DIR/node$1.properties" \
        >>"$KAFKA_DIR/node$1.log" 2>&1 </dev/null &
    pid_write "$1" $!
}

# metadata_ids BOOT [KCAT ARGS]: the ids of the brokers that BOOT's
# metadata lists, one a line (KRaft lists only registered, unfenced ones);
# kcat's stderr goes to $MI_ERR (default /dev/null).
metadata_ids() {
    mi_boot=$1
    shift
    # a node not listening yet is tried again in 50 ms, not librdkafka's 100
    # ms doubling up to 10 s
    "$KCAT" "$@" -X reconnect.backoff.ms=50 -X reconnect.backoff.max.ms=100 \
        -b "$mi_boot" -L -J -m 2 2>"${MI_ERR:-/dev/null}" |
        sed -n 's/.*"brokers":\[\([^]]*\)\].*/\1/p' |
        tr '{' '\n' | sed -n 's/^"id":\([0-9]*\),.*/\1/p' | sort -n
}

# pid_alive PID: PID runs (a zombie's cmdline is empty; kill -0 succeeds
# on it).
pid_alive() {
    [ -n "$(tr -d '\0' 2>/dev/null <"/proc/$1/cmdline")" ]
}

# pids_wait SECS PID...: 0 once none of PIDs is running, 1 after SECS.
pids_wait() {
    pw_left=$(($1 * 10))
    shift
    while [ "$pw_left" -gt 0 ]; do
        pw_alive=0
        for pw_p in "$@"; do
            pid_alive "$pw_p" && pw_alive=1
        done
        [ $pw_alive = 0 ] && return 0
        sleep 0.1
        pw_left=$((pw_left - 1))
    done
    return 1
}

# cluster_load DIR: sources DIR/cluster.env (a cluster that `run` started).
cluster_load() {
    [ -d "$1" ] || usage_error "no such directory '$1'"
    cl_dir=$(cd "$1" && pwd -P) || exit 1
    [ -f "$cl_dir/cluster.env" ] || die "$cl_dir/cluster.env not found: not a directory of 'kafka.sh run'"
    # shellcheck disable=SC1091
    . "$cl_dir/cluster.env"
}

check_node() {
    case $1 in '' | *[!0-9]*) usage_error "bad node number '$1'" ;; esac
    [ "$1" -ge 1 ] && [ "$1" -le "$KAFKA_NODES" ] ||
        usage_error "node $1: the cluster has nodes 1 to $KAFKA_NODES"
}

cmd_node_stop() {
    [ $# -ge 2 ] || usage_error "node-stop needs DIR and N"
    ns_sig=TERM
    case ${3:-} in
    '') ;;
    --kill) ns_sig=KILL ;;
    *) usage_error "node-stop: unknown argument '$3'" ;;
    esac
    cluster_load "$1"
    check_node "$2"
    ns_pid=$(node_pid "$KAFKA_DIR" "$2") || {
        echo "kafka.sh: node $2 is not running" >&2
        exit 0
    }
    kill -"$ns_sig" "$ns_pid" 2>/dev/null
    if ! pids_wait 30 "$ns_pid"; then
        echo "kafka.sh: node $2 (pid $ns_pid) did not stop in 30 s after SIG$ns_sig; SIGKILL" >&2
        kill -KILL "$ns_pid" 2>/dev/null
        pids_wait 5 "$ns_pid" || die "node $2 (pid $ns_pid) does not die"
    fi
}

cmd_node_start() {
    [ $# -eq 2 ] || usage_error "node-start needs DIR and N"
    cluster_load "$1"
    check_node "$2"
    if ns_pid=$(node_pid "$KAFKA_DIR" "$2"); then
        die "node $2 is already running (pid $ns_pid)"
    fi
    command -v java >/dev/null 2>&1 || die "java not found"
    echo "# node-start $(date '+%Y-%m-%d %H:%M:%S')" >>"$KAFKA_DIR/node$2.log"
    node_launch "$2" || die "cannot start node $2"
    ns_pid=$(cat "$KAFKA_DIR/node$2.pid")
    # Ask the node itself: the others may still list the old incarnation
    # until its session times out.
    ns_port=$(eval "echo \${KAFKA_NODE$2_PORT:-}")
    ns_left=600
    while [ $ns_left -gt 0 ]; do
        # (not node_pid: until it execs java, the child is a copy of us)
        pid_alive "$ns_pid" || {
            tail -n 20 "$KAFKA_DIR/node$2.log" >&2
            die "node $2 (pid $ns_pid) exited while starting; $KAFKA_DIR/node$2.log"
        }
        metadata_ids "127.0.0.1:$ns_port" | grep -qx "$2" && return 0
        sleep 0.1
        ns_left=$((ns_left - 1))
    done
    echo "kafka.sh: node $2 (pid $ns_pid) runs but is not in the metadata after 60 s" >&2
    return 0
}

# ---------------------------------------------------------------- run

# free_ports N: N distinct free loopback ports, held open together while
# chosen so that none repeats.
free_ports() {
    "$PY" - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

# nth N WORDS...: the Nth of WORDS.
nth() {
    nt_i=$1
    shift
    eval "echo \${$nt_i}"
}

random_hex() {
    od -An -tx1 -N16 /dev/urandom | tr -d ' \n'
}

# cluster_id: a random Kafka Uuid (16 bytes, base64url without padding),
# what `StorageTool random-uuid` prints, without a JVM start; like Kafka's
# Uuid.randomUuid() never one that starts with "-", an option to argparse.
cluster_id() {
    "$PY" -c 'import base64, os
while True:
    u = base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("=")
    if not u.startswith("-"):
        print(u)
        break'
}

write_log4j() {
    cat >"$DIR/log4j2.properties" <<'EOF'
# Kafka 4.x logs through slf4j to log4j2: everything to stdout, which is
# nodeN.log. The authorizer's denials stay at INFO for the ACL tests.
status = warn
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = out
logger.request.name = kafka.request.logger
logger.request.level = WARN
# the ten dumps of every config of every internal client (2,700 lines at
# each start): nodeN.properties says what was set
logger.config.name = org.apache.kafka.common.config.AbstractConfig
logger.config.level = WARN
logger.zk.name = org.apache.zookeeper
logger.zk.level = WARN
EOF
    cat >"$DIR/log4j.properties" <<'EOF'
# Kafka 3.9 logs through log4j 1 (reload4j): everything to stdout.
log4j.rootLogger=INFO, out
log4j.appender.out=org.apache.log4j.ConsoleAppender
log4j.appender.out.layout=org.apache.log4j.PatternLayout
log4j.appender.out.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.org.apache.kafka.common.config.AbstractConfig=WARN
log4j.logger.org.apache.zookeeper=WARN
EOF
}

# make_secrets: the CA, the brokers' certificate (one for all nodes, valid
# for IP:127.0.0.1 and DNS:localhost), a random password per SCRAM user and
# a librdkafka config file per user.
make_secrets() {
    command -v openssl >/dev/null 2>&1 || die "--security needs openssl"
    (umask 077 && mkdir -p "$DIR/secrets") || die "cannot create $DIR/secrets"
    S=$DIR/secrets
    (
        umask 077
        openssl req -x509 -new -newkey rsa:2048 -nodes -sha256 -days 7 \
            -subj "/CN=sweep test CA" -keyout "$S/ca.key" -out "$DIR/ca.pem" \
            -addext basicConstraints=critical,CA:TRUE \
            -addext keyUsage=critical,keyCertSign,cRLSign &&
            openssl req -new -newkey rsa:2048 -nodes -sha256 -subj /CN=localhost \
                -keyout "$S/broker.key" -out "$S/broker.csr" &&
            printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" \
                "basicConstraints=CA:FALSE" \
                "keyUsage=critical,digitalSignature,keyEncipherment" \
                "extendedKeyUsage=serverAuth" >"$S/broker.ext" &&
            openssl x509 -req -sha256 -days 7 -in "$S/broker.csr" \
                -CA "$DIR/ca.pem" -CAkey "$S/ca.key" -CAcreateserial \
                -CAserial "$S/ca.srl" -extfile "$S/broker.ext" -out "$S/broker.crt" &&
            cat "$S/broker.key" "$S/broker.crt" "$DIR/ca.pem" >"$S/broker.pem"
    ) >>"$DIR/openssl.log" 2>&1 || die "openssl failed; $DIR/openssl.log"
    chmod 0644 "$DIR/ca.pem"
    for ms_u in $USERS; do
        (
            umask 077
            random_hex >"$S/$ms_u.password" &&
                printf '%s\n' "security.protocol=SASL_SSL" \
                    "sasl.mechanisms=SCRAM-SHA-512" "sasl.username=$ms_u" \
                    "sasl.password=$(cat "$S/$ms_u.password")" \
                    "ssl.ca.location=$DIR/ca.pem" >"$S/$ms_u.conf"
        ) || die "cannot write $S/$ms_u.password"
    done
}

# write_props N: nodeN.properties.
write_props() {
    wp_n=$1
    wp_port=$(nth "$wp_n" $PORTS)
    wp_cport=$(nth "$wp_n" $CPORTS)
    wp_listeners="PLAINTEXT://127.0.0.1:$wp_port,CONTROLLER://127.0.0.1:$wp_cport"
    wp_adv="PLAINTEXT://127.0.0.1:$wp_port"
    if [ "$SECURITY" = 1 ]; then
        wp_sport=$(nth "$wp_n" $SPORTS)
        wp_listeners="$wp_listeners,SASL_SSL://127.0.0.1:$wp_sport"
        wp_adv="$wp_adv,SASL_SSL://127.0.0.1:$wp_sport"
    fi
    if [ "$NODES" -ge 3 ]; then wp_rf=3 wp_isr=2; else wp_rf=1 wp_isr=1; fi
    mkdir -p "$DIR/data$wp_n" || die "cannot create $DIR/data$wp_n"
    {
        cat <<EOF
# node $wp_n of $NODES, written by scripts/kafka.sh
process.roles=broker,controller
node.id=$wp_n
controller.quorum.voters=$VOTERS
listeners=$wp_listeners
advertised.listeners=$wp_adv
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
log.dirs=$DIR/data$wp_n

# production-like: topics are created on purpose, with full replication
auto.create.topics.enable=false
num.partitions=1
default.replication.factor=$wp_rf
min.insync.replicas=$wp_isr
offsets.topic.replication.factor=$wp_rf
transaction.state.log.replication.factor=$wp_rf
transaction.state.log.min.isr=$wp_isr
unclean.leader.election.enable=false

# test-friendly speed and size
group.initial.rebalance.delay.ms=0
offsets.topic.num.partitions=4
transaction.state.log.num.partitions=4
log.cleaner.dedupe.buffer.size=2097152
log.initial.task.delay.ms=100
num.network.threads=2
num.io.threads=4
background.threads=4
num.recovery.threads.per.data.dir=1
# a killed node is fenced, and its partitions move, after 4 s, not 9
broker.heartbeat.interval.ms=500
broker.session.timeout.ms=4000
EOF
        case $VERSION in
        [0-3].*) ;;
        *)
            # share groups (4.x): their state topic like the others
            printf '%s\n' "share.coordinator.state.topic.replication.factor=$wp_rf" \
                "share.coordinator.state.topic.min.isr=$wp_isr" \
                "share.coordinator.state.topic.num.partitions=4"
            ;;
        esac
        if [ "$SECURITY" = 1 ]; then
            cat <<EOF

# --security: SASL_SSL with SCRAM-SHA-512 for the clients under test;
# PLAINTEXT (inter-broker, and the tests' setup) and CONTROLLER are
# User:ANONYMOUS, a super user like User:admin.
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
ssl.keystore.type=PEM
ssl.keystore.location=$DIR/secrets/broker.pem
ssl.client.auth=none
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:ANONYMOUS;User:admin
EOF
        fi
    } >"$DIR/node$wp_n.properties" || die "cannot write $DIR/node$wp_n.properties"
}

write_env() {
    {
        echo "# the cluster of 'scripts/kafka.sh run' (pid $$); source it"
        echo "KAFKA_BOOT=$BOOT"
        echo "KAFKA_NODES=$NODES"
        we_i=1
        while [ $we_i -le "$NODES" ]; do
            echo "KAFKA_NODE${we_i}_PORT=$(nth $we_i $PORTS)"
            echo "KAFKA_NODE${we_i}_CONTROLLER_PORT=$(nth $we_i $CPORTS)"
            [ "$SECURITY" = 1 ] && echo "KAFKA_NODE${we_i}_SASL_PORT=$(nth $we_i $SPORTS)"
            we_i=$((we_i + 1))
        done
        echo "KAFKA_DIR=$(shq "$DIR")"
        echo "KAFKA_VERSION=$VERSION"
        echo "KAFKA_CLUSTER_ID=$CLUSTER_ID"
        echo "KAFKA_RUN_PID=$$"
        echo "KAFKA_LIBS=$(shq "$LIBS")"
        echo "KAFKA_JAVA_OPTS=$(shq "$KAFKA_JAVA_OPTS")"
        echo "KAFKA_CDS=$(shq "$KAFKA_CDS")"
        if [ "$SECURITY" = 1 ]; then
            echo "KAFKA_SASL_BOOT=$SASL_BOOT"
            echo "KAFKA_CA=$(shq "$DIR/ca.pem")"
            echo "KAFKA_SECRETS=$(shq "$DIR/secrets")"
            echo "KAFKA_USERS='$USERS'"
        fi
    } >"$DIR/cluster.env.tmp" && mv "$DIR/cluster.env.tmp" "$DIR/cluster.env" ||
        die "cannot write $DIR/cluster.env"
}

# format_all: StorageTool format for every node, in parallel, with the same
# cluster id. The SCRAM passwords pass on StorageTool's argv: visible in ps
# for the second or two the tool runs, once, by the user who owns the
# cluster; the alternative (salted hashes computed here) needs a SCRAM
# implementation in sh.
format_all() {
    set --
    if [ "$SECURITY" = 1 ]; then
        for fa_u in $USERS; do
            set -- "$@" --add-scram "SCRAM-SHA-512=[name=$fa_u,password=$(cat "$DIR/secrets/$fa_u.password")]"
        done
    fi
    fa_pids=""
    fa_i=1
    while [ $fa_i -le "$NODES" ]; do
        kjava kafka.tools.StorageTool format -t "$CLUSTER_ID" \
            -c "$DIR/node$fa_i.properties" "$@" \
            >>"$DIR/node$fa_i.log" 2>&1 </dev/null &
        fa_pids="$fa_pids $!"
        # its argv names nodeN.properties too: stop_all stops it as a node
        pid_write $fa_i $!
        fa_i=$((fa_i + 1))
    done
    fa_i=1
    for fa_p in $fa_pids; do
        wait "$fa_p" || {
            tail -n 20 "$DIR/node$fa_i.log" >&2
            die "formatting node $fa_i failed; $DIR/node$fa_i.log"
        }
        fa_i=$((fa_i + 1))
    done
}

# stop_all DIR: SIGTERM to every node that runs (read from the pid files
# now: node-start may have replaced them), SIGKILL after STOP_SECS.
stop_all() {
    sa_pids=""
    for sa_f in "$1"/node*.pid; do
        [ -f "$sa_f" ] || continue
        sa_n=${sa_f##*/node}
        sa_n=${sa_n%.pid}
        sa_p=$(node_pid "$1" "$sa_n") && sa_pids="$sa_pids $sa_p"
    done
    [ -n "$sa_pids" ] || return 0
    # shellcheck disable=SC2086
    kill -TERM $sa_pids 2>/dev/null
    # shellcheck disable=SC2086
    pids_wait "$STOP_SECS" $sa_pids && return 0
    # shellcheck disable=SC2086
    kill -KILL $sa_pids 2>/dev/null
    # shellcheck disable=SC2086
    pids_wait 5 $sa_pids
}

# remove_dir DIR: what run put there, then DIR itself when that leaves it
# empty (a --dir of the caller's with other files in it stays).
remove_dir() {
    for rd_f in "$1"/node*.properties "$1"/node*.log "$1"/node*.pid \
        "$1"/node*.pid.tmp "$1"/data* "$1"/secrets "$1"/ca.pem \
        "$1"/cluster.env "$1"/cluster.env.tmp "$1"/log4j2.properties \
        "$1"/log4j.properties "$1"/openssl.log "$1"/sasl-check.log; do
        [ -e "$rd_f" ] && rm -rf "$rd_f"
    done
    rmdir "$1" 2>/dev/null
    return 0
}

# teardown DIR KEEP: stops the nodes and removes DIR unless KEEP is 1.
teardown() {
    stop_all "$1"
    if [ "$2" = 1 ]; then
        echo "kafka.sh: kept $1" >&2
    else
        remove_dir "$1"
    fi
}

run_cleanup() {
    [ "${CLEANED:-0}" = 1 ] && return
    CLEANED=1
    trap '' INT TERM HUP
    [ -n "${SLEEP_PID:-}" ] && kill "$SLEEP_PID" 2>/dev/null
    [ -n "${DIR:-}" ] && teardown "$DIR" "$KEEP"
    [ "${READY:-0}" = 1 ] || [ "$KEEP" = 1 ] || [ -z "${DIR:-}" ] ||
        echo "kafka.sh: removed $DIR (--dir DIR with SWEEP_KAFKA_KEEP=1 keeps it)" >&2
    # The watcher goes last: if this shell is SIGKILLed half-way, it
    # finishes the job.
    [ -n "${WATCH_PID:-}" ] && kill -USR1 "$WATCH_PID" 2>/dev/null
    wait 2>/dev/null
}

# cmd_watch DIR RUNPID KEEP (internal): waits for the run shell to die and
# tears its cluster down if it did not (SIGKILL, a kill of the process
# group); SIGUSR1 means it did.
cmd_watch() {
    trap '' INT TERM HUP
    trap 'exit 0' USR1
    while kill -0 "$2" 2>/dev/null; do
        sleep 1 &
        wait $! 2>/dev/null
    done
    teardown "$1" "$3" 2>/dev/null
}

start_failed() {
    for sf_i in $(seq 1 "$NODES"); do
        echo "--- $DIR/node$sf_i.log (last lines)" >&2
        tail -n 15 "$DIR/node$sf_i.log" >&2 2>/dev/null
    done
    die "$*"
}

# ports_listen SECS PIDS PORT...: returns once every PORT on 127.0.0.1
# accepts a connection (a broker opens its listener once it is unfenced),
# one of PIDS (comma-separated) has exited, or SECS have passed. Polling
# with kcat alone waits up to a second more, for librdkafka's reconnect.
ports_listen() {
    "$PY" - "$@" <<'EOF'
import socket, sys, time
end = time.time() + float(sys.argv[1])
pids = [p for p in sys.argv[2].split(",") if p]
left = set(int(p) for p in sys.argv[3:])

def alive(pid):
    try:
        with open("/proc/%s/cmdline" % pid) as f:
            return f.read() != ""
    except OSError:
        return False

while left and time.time() < end and all(alive(p) for p in pids):
    for port in list(left):
        s = socket.socket()
        s.settimeout(0.5)
        try:
            s.connect(("127.0.0.1", port))
            left.discard(port)
        except OSError:
            pass
        finally:
            s.close()
    time.sleep(0.05)
EOF
}

# wait_ready: until every node is in the metadata (and, with --security,
# admin logs in over SASL_SSL and sees them all); fails when a node dies.
wait_ready() {
    wr_end=$(($(date +%s) + START_SECS))
    wr_want=$(seq 1 "$NODES" | tr '\n' ' ')
    # shellcheck disable=SC2086
    ports_listen "$START_SECS" "$(cat "$DIR"/node*.pid | tr '\n' ',')" $PORTS
    while :; do
        wr_i=1
        while [ $wr_i -le "$NODES" ]; do
            node_pid "$DIR" $wr_i >/dev/null || start_failed "node $wr_i exited while starting"
            wr_i=$((wr_i + 1))
        done
        # each node asked on its own: one that has just registered may not
        # know of the others yet, and a client may ask any of them first
        wr_ok=1
        for wr_p in $PORTS; do
            [ "$(metadata_ids "127.0.0.1:$wr_p" | tr '\n' ' ')" = "$wr_want" ] ||
                { wr_ok=0; break; }
        done
        [ $wr_ok = 1 ] && break
        [ "$(date +%s)" -lt $wr_end ] ||
            start_failed "not all $NODES nodes in the metadata after $START_SECS s"
        sleep 0.2
    done
    [ "$SECURITY" = 1 ] || return 0
    MI_ERR=$DIR/sasl-check.log
    until [ "$(metadata_ids "$SASL_BOOT" -F "$DIR/secrets/admin.conf" | tr '\n' ' ')" = "$wr_want" ]; do
        if grep -q "Authentication failed" "$MI_ERR"; then
            # librdkafka before 2.6.1 repeats the client nonce in its SCRAM
            # client-final-message (librdkafka#4895), which Kafka 4.x
            # refuses (3.8.1 to 3.9.x accept it).
            grep -m 1 "Authentication failed" "$MI_ERR" >&2
            wr_rdk=$("$KCAT" -V 2>&1 | sed -n 's/.*librdkafka \([0-9.]*\).*/\1/p')
            die "Kafka $VERSION refuses the SCRAM-SHA-512 login of admin by librdkafka $wr_rdk"
        fi
        [ "$(date +%s)" -lt $wr_end ] ||
            start_failed "the SASL_SSL listeners do not answer admin after $START_SECS s; $MI_ERR"
        sleep 0.2
    done
    rm -f "$MI_ERR"
    MI_ERR=""
}

cmd_run() {
    NODES=1
    DIR=""
    SECURITY=0
    user_dir=0
    while [ $# -gt 0 ]; do
        case $1 in
        --nodes) [ $# -ge 2 ] || usage_error "--nodes needs a value"; NODES=$2; shift ;;
        --nodes=*) NODES=${1#*=} ;;
        --version) [ $# -ge 2 ] || usage_error "--version needs a value"; VERSION=$2; shift ;;
        --version=*) VERSION=${1#*=} ;;
        --dir) [ $# -ge 2 ] || usage_error "--dir needs a value"; DIR=$2; user_dir=1; shift ;;
        --dir=*) DIR=${1#*=}; user_dir=1 ;;
        --security) SECURITY=1 ;;
        -h | --help) usage; exit 0 ;;
        *) usage_error "run: unknown argument '$1'" ;;
        esac
        shift
    done
    case $NODES in 1 | 3) ;; *) usage_error "--nodes must be 1 or 3" ;; esac
    check_version "$VERSION"
    command -v "$KCAT" >/dev/null 2>&1 || die "kcat not found (scripts/install-deps.sh installs it)"
    [ -x "$PY" ] || die "$PY not found"
    kafka_fetch
    need_java
    KAFKA_JAVA_OPTS="$HEAP $JVM_OPTS"
    cds_prepare
    KEEP=0
    [ "$user_dir" = 1 ] && [ "${SWEEP_KAFKA_KEEP:-0}" = 1 ] && KEEP=1
    if [ -n "$DIR" ]; then
        mkdir -p "$DIR" || die "cannot create $DIR"
        [ -e "$DIR/node1.properties" ] && die "$DIR already holds a cluster (node1.properties)"
        DIR=$(cd "$DIR" && pwd -P) || exit 1
    else
        DIR=$(mktemp -d "${TMPDIR:-/tmp}/sweep-kafka.XXXXXX") || die "mktemp failed"
        DIR=$(cd "$DIR" && pwd -P) || exit 1
    fi
    # A signal is the normal stop once ready (exit 0), an interrupted start
    # before (1).
    trap 'run_cleanup; [ "${READY:-0}" = 1 ]; exit $?' INT TERM HUP
    trap run_cleanup EXIT
    echo "kafka.sh: Kafka $VERSION, $NODES node(s), in $DIR" >&2
    "$SELF" _watch "$DIR" $$ "$KEEP" >/dev/null 2>&1 </dev/null &
    WATCH_PID=$!

    set -- $(free_ports $((NODES * (2 + SECURITY))))
    [ $# -eq $((NODES * (2 + SECURITY))) ] || die "cannot find free ports"
    PORTS="" CPORTS="" SPORTS="" BOOT="" SASL_BOOT="" VOTERS=""
    i=1
    while [ $i -le "$NODES" ]; do
        PORTS="$PORTS $1" CPORTS="$CPORTS $2"
        BOOT="$BOOT${BOOT:+,}127.0.0.1:$1"
        VOTERS="$VOTERS${VOTERS:+,}$i@127.0.0.1:$2"
        shift 2
        if [ "$SECURITY" = 1 ]; then
            SPORTS="$SPORTS $1"
            SASL_BOOT="$SASL_BOOT${SASL_BOOT:+,}127.0.0.1:$1"
            shift
        fi
        i=$((i + 1))
    done
    CLUSTER_ID=$(cluster_id) || die "cannot make a cluster id"
    KAFKA_DIR=$DIR KAFKA_LIBS=$LIBS
    write_log4j
    [ "$SECURITY" = 1 ] && make_secrets
    i=1
    while [ $i -le "$NODES" ]; do
        write_props $i
        i=$((i + 1))
    done
    format_all
    i=1
    while [ $i -le "$NODES" ]; do
        node_launch $i || die "cannot start node $i"
        i=$((i + 1))
    done
    wait_ready
    # Written once ready, atomically: its presence means a cluster that runs.
    write_env
    READY=1
    echo "$BOOT" || exit 1
    echo "kafka.sh: ready: $BOOT${SASL_BOOT:+ (SASL_SSL $SASL_BOOT)}; stop with SIGINT or SIGTERM" >&2
    # A node that dies (the tests kill some) is left dead: keep waiting.
    while :; do
        sleep 1 &
        SLEEP_PID=$!
        wait $SLEEP_PID
    done
}

SELF=$(cd "$(dirname "$0")" && pwd -P)/$(basename "$0")
VERSION=${SWEEP_KAFKA_VERSION:-$DEFAULT_VERSION}
[ $# -ge 1 ] || usage_error "a subcommand is needed"
cmd=$1
shift
case $cmd in
fetch) cmd_fetch "$@" ;;
run) cmd_run "$@" ;;
node-stop) cmd_node_stop "$@" ;;
node-start) cmd_node_start "$@" ;;
_watch) cmd_watch "$@" ;;
-h | --help | help) usage ;;
*) usage_error "unknown subcommand '$cmd'" ;;
esac

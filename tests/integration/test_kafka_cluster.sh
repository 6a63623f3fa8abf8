#!/bin/sh
# test_kafka_cluster.sh - scripts/kafka.sh: a real 3-node Apache Kafka
# cluster (KRaft) started from the jars, checked from outside with kcat and
# confluent_kafka (both on Debian's librdkafka 2.0.2): all nodes in the
# metadata, a topic of replication factor 3 made with the Admin API, no
# automatic topic creation, idempotent acks=all produce read back, the
# leader of a partition SIGKILLed and restarted with node-stop/node-start,
# and on SIGTERM every JVM gone and the directory removed.
# Ends with "N passed, N failed". Without Java, or Maven and a network for
# the first download of the jars, it fails and says which.
#
# Run from the repository root: sh tests/integration/test_kafka_cluster.sh
# Env: SWEEP_KAFKA_VERSION, SWEEP_KAFKA_CACHE (see scripts/kafka.sh --help).
. tests/integration/lib.sh
it_init test_kafka_cluster
D=$IT_TMP
KAFKA=$ROOT/scripts/kafka.sh
C=$D/cluster

# kpy ARGS... <<EOF: a python3 check with confluent_kafka, 60 s at most.
kpy() {
    timeout 60 "$PY" - "$@"
}

# brokers_are BOOT IDS: kcat's metadata lists exactly the brokers IDS ("1 2 3").
brokers_are() {
    b_got=$(timeout 10 "$KCAT" -b "$1" -L -J -m 3 2>/dev/null |
        "$PY" -c 'import json, sys; print(" ".join(str(b["id"]) for b in sorted(json.load(sys.stdin)["brokers"], key=lambda b: b["id"])))' 2>/dev/null)
    [ "$b_got" = "$2" ]
}

missing=""
command -v java >/dev/null 2>&1 || missing="$missing java (a Java 17+ runtime: scripts/install-deps.sh)"
command -v "$KCAT" >/dev/null 2>&1 || missing="$missing kcat"
"$PY" -c 'import confluent_kafka' 2>/dev/null || missing="$missing python3-confluent-kafka"
if [ -n "$missing" ]; then
    notok "missing:$missing"
    it_done
fi

"$KAFKA" run --nodes 3 --dir "$C" >"$D/kafka.out" 2>"$D/kafka.log" </dev/null &
KPID=$!
IT_ALL="$IT_ALL $KPID"
# The first run downloads the jars (Maven, about 20 s) and makes a class
# archive (about 15 s); later ones start in 5 to 8 s.
BOOT=""
i=0
while [ $i -lt 1500 ]; do
    BOOT=$(head -n 1 "$D/kafka.out" 2>/dev/null)
    case $BOOT in 127.0.0.1:[0-9]*) break ;; esac
    BOOT=""
    kill -0 "$KPID" 2>/dev/null || break
    sleep 0.1
    i=$((i + 1))
done
if [ -z "$BOOT" ]; then
    notok "kafka.sh run --nodes 3 printed no bootstrap list in 150 s (its log says why)" \
        "$D/kafka.log"
    it_done
fi
note "started in $((i / 10)).$((i % 10)) s: $BOOT"
case $BOOT in
127.0.0.1:[0-9]*,127.0.0.1:[0-9]*,127.0.0.1:[0-9]*) ok "the first line is the bootstrap list of 3 nodes" ;;
*) notok "the first line is the bootstrap list of 3 nodes (got '$BOOT')" ;;
esac
if [ -f "$C/cluster.env" ]; then
    . "$C/cluster.env"
    if [ "$KAFKA_BOOT" = "$BOOT" ] && [ "$KAFKA_NODES" = 3 ] && [ "$KAFKA_DIR" -ef "$C" ]; then
        ok "cluster.env: KAFKA_BOOT is the first line, KAFKA_NODES=3, KAFKA_DIR the --dir"
    else
        notok "cluster.env: KAFKA_BOOT is the first line, KAFKA_NODES=3, KAFKA_DIR the --dir" "$C/cluster.env"
    fi
else
    notok "cluster.env written in the --dir" "$D/kafka.log"
fi
PIDS=$(cat "$C"/node*.pid 2>/dev/null)

check "kcat: the metadata lists brokers 1, 2 and 3" brokers_are "$BOOT" "1 2 3"

T=cluster-test
if kpy "$BOOT" "$T" >"$D/create.out" 2>&1 <<'EOF'
import sys, time
from confluent_kafka.admin import AdminClient, NewTopic
boot, topic = sys.argv[1:3]
a = AdminClient({"bootstrap.servers": boot})
a.create_topics([NewTopic(topic, num_partitions=3, replication_factor=3)])[topic].result(30)
# CreateTopics returns before every broker knows the topic; a client that
# asks one that does not yet gets UNKNOWN_TOPIC_OR_PART: ask each.
for b in boot.split(","):
    ab = AdminClient({"bootstrap.servers": b})
    for _ in range(100):
        t = ab.list_topics(topic, timeout=10).topics[topic]
        if t.error is None and len(t.partitions) == 3 and all(
                p.leader > 0 and len(p.isrs) == 3 for p in t.partitions.values()):
            break
        time.sleep(0.1)
    print(b, {i: (p.leader, p.replicas, p.isrs) for i, p in t.partitions.items()})
assert all(sorted(p.replicas) == [1, 2, 3] for p in t.partitions.values()), "replicas"
assert all(sorted(p.isrs) == [1, 2, 3] for p in t.partitions.values()), "isrs"
EOF
then
    ok "Admin API CreateTopics: 3 partitions, each on brokers 1, 2, 3 and all in sync"
else
    notok "Admin API CreateTopics: 3 partitions, each on brokers 1, 2, 3 and all in sync" "$D/create.out"
fi

echo x | timeout 20 "$KCAT" -b "$BOOT" -P -t no-such-topic -X message.timeout.ms=3000 \
    >"$D/auto.out" 2>&1
rc=$?
check "producing to an unknown topic fails (kcat rc $rc)" [ $rc -ne 0 ]
timeout 10 "$KCAT" -b "$BOOT" -L -t no-such-topic >"$D/auto.md" 2>&1
if grep -q "Unknown topic or partition" "$D/auto.md"; then
    ok "auto.create.topics.enable=false: metadata says the topic is unknown, not created"
else
    notok "auto.create.topics.enable=false: metadata says the topic is unknown, not created" \
        "$D/auto.out" "$D/auto.md"
fi

# produce_idem N FROM: N messages "m<FROM+i>" over the 3 partitions,
# acks=all and enable.idempotence, all delivered within 30 s.
produce_idem() {
    kpy "$BOOT" "$T" "$1" "$2" <<'EOF'
import sys
from confluent_kafka import Producer
boot, topic, n, first = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
errors = []
p = Producer({"bootstrap.servers": boot, "acks": "all", "enable.idempotence": True,
              "message.timeout.ms": 30000})
for i in range(first, first + n):
    p.produce(topic, value=b"m%d" % i, partition=i % 3,
              on_delivery=lambda err, msg: err and errors.append(err))
left = p.flush(40)
assert left == 0 and not errors, (left, errors[:3])
EOF
}

# read_back N: kcat reads every partition from the start; exactly m0..m<N-1>.
read_back() {
    timeout 30 "$KCAT" -b "$BOOT" -C -t "$T" -o beginning -e -q -f '%s\n' \
        >"$D/read.out" 2>"$D/read.err" || return 1
    [ "$(sort "$D/read.out" | tr '\n' ' ')" = "$(seq 0 $(($1 - 1)) | sed 's/^/m/' | sort | tr '\n' ' ')" ]
}

check "idempotent acks=all produce of 100 messages" produce_idem 100 0
check "kcat reads the 100 messages back, each once" read_back 100

# The leader of partition 0, SIGKILLed.
leader=$(timeout 10 "$KCAT" -b "$BOOT" -L -t "$T" 2>/dev/null |
    sed -n 's/.*partition 0, leader \([0-9]*\),.*/\1/p')
case $leader in
[123])
    lpid=$(cat "$C/node$leader.pid")
    check "node-stop $leader --kill (the leader of partition 0)" \
        timeout 20 "$KAFKA" node-stop "$C" "$leader" --kill
    check "node $leader's JVM (pid $lpid) is gone" it_wait 5 sh -c "! kill -0 $lpid 2>/dev/null"
    others=$(echo "1 2 3" | tr ' ' '\n' | grep -vx "$leader" | tr '\n' ' ' | sed 's/ $//')
    check "the metadata drops broker $leader (session timeout)" it_wait 20 brokers_are "$BOOT" "$others"
    check "acks=all produce goes on with 2 of 3 in sync (min.insync.replicas 2)" produce_idem 50 100
    check "node-start $leader" timeout 90 "$KAFKA" node-start "$C" "$leader"
    check "the metadata lists brokers 1, 2 and 3 again" it_wait 30 brokers_are "$BOOT" "1 2 3"
    check "node$leader.pid names the new JVM" [ "$(cat "$C/node$leader.pid")" != "$lpid" ]
    check "kcat reads all 150 messages, each once" read_back 150
    PIDS=$(cat "$C"/node*.pid 2>/dev/null)
    ;;
*)
    notok "partition 0 of $T has a leader (got '$leader')"
    ;;
esac

# SIGTERM: every JVM stopped, the directory removed.
kill -TERM "$KPID"
it_wait_exit "$KPID" 20
rc=$?
check "SIGTERM: kafka.sh run exits 0 (rc $rc)" [ $rc -eq 0 ]
alive=""
for p in $PIDS; do
    if tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline" | grep -q kafka.Kafka; then
        alive="$alive $p"
    fi
done
check "every node's JVM is gone (alive:${alive:- none})" [ -z "$alive" ]
check "the cluster directory is removed" [ ! -e "$C" ]
it_done

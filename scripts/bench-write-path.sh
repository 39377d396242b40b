#!/usr/bin/env bash
# Durable messages per second through 1 node and through 3 nodes on one
# PostgreSQL database, where the database round trip dominates: the nodes
# and the load generator run in a network namespace whose link to the host
# (PostgreSQL and NATS, reached through socat) adds DELAY_MS each way.
#
#   scripts/bench-write-path.sh [qiao binary] [qiao-write-bench binary]
#
# Needs root (ip netns, tc netem), PostgreSQL on 127.0.0.1:5432 with trust
# auth for `postgres`, nats-server and socat. Env: DELAY_MS (1, so a 2 ms
# round trip), SECONDS_PER_RUN (15), PAIRS (256), WINDOW (512), NODES ("1 3").
set -euo pipefail
cd "$(dirname "$0")/.."

QIAO=${1:-target/release/qiao}
BENCH=${2:-target/release/qiao-write-bench}
DELAY_MS=${DELAY_MS:-1}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-15}
PAIRS=${PAIRS:-256}
WINDOW=${WINDOW:-512}
NODES=${NODES:-"1 3"}
NS=qiao-bench-nodes
HOST_IP=10.231.0.1
NS_IP=10.231.0.2
PG_PORT=15432
NATS_PORT=14222
WORK=$(mktemp -d)
PIDS=()

cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    ip netns del "$NS" 2>/dev/null || true
    ip link del qiao-bench-h 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

ip netns del "$NS" 2>/dev/null || true
ip netns add "$NS"
ip link add qiao-bench-h type veth peer name qiao-bench-n
ip link set qiao-bench-n netns "$NS"
ip addr add "$HOST_IP/24" dev qiao-bench-h
ip link set qiao-bench-h up
ip netns exec "$NS" ip addr add "$NS_IP/24" dev qiao-bench-n
ip netns exec "$NS" ip link set qiao-bench-n up
ip netns exec "$NS" ip link set lo up
tc qdisc add dev qiao-bench-h root netem delay "${DELAY_MS}ms" limit 100000
ip netns exec "$NS" tc qdisc add dev qiao-bench-n root netem delay "${DELAY_MS}ms" limit 100000

# PostgreSQL and NATS listen on the host's loopback only; socat carries them
# to the namespace's side of the delayed link.
socat "TCP-LISTEN:$PG_PORT,bind=$HOST_IP,fork,reuseaddr" TCP:127.0.0.1:5432 &
PIDS+=($!)
socat "TCP-LISTEN:$NATS_PORT,bind=$HOST_IP,fork,reuseaddr" TCP:127.0.0.1:4222 &
PIDS+=($!)
pgrep -x nats-server >/dev/null || { nats-server -a 127.0.0.1 -p 4222 >"$WORK/nats.log" 2>&1 & PIDS+=($!); }
sleep 0.5
echo "round trip to PostgreSQL from the nodes' namespace:"
ip netns exec "$NS" ping -c 3 -q "$HOST_IP" | tail -1

for nodes in $NODES; do
    db="qiao_write_bench_$$_$nodes"
    psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $db"
    urls=()
    node_pids=()
    for i in $(seq 1 "$nodes"); do
        port=$((18600 + i))
        mkdir -p "$WORK/node$i"
        ip netns exec "$NS" env \
            QIAO_LISTEN="127.0.0.1:$port" \
            QIAO_DATA_DIR="$WORK/node$i" \
            QIAO_DATABASE="postgres://postgres@$HOST_IP:$PG_PORT/$db" \
            QIAO_NATS_URL="nats://$HOST_IP:$NATS_PORT" \
            QIAO_NATS_SUBJECT="qiao.bench.$db" \
            QIAO_ARGON2_MEMORY_KIB=1024 QIAO_ARGON2_ITERATIONS=1 \
            QIAO_PUBLIC_PER_ADDRESS_PER_MINUTE=1000000 QIAO_LOGIN_PER_ADDRESS_PER_MINUTE=1000000 \
            QIAO_MESSAGES_PER_USER_PER_SECOND=1000000 QIAO_MESSAGE_BURST_PER_USER=1000000 \
            RUST_LOG=warn \
            "$QIAO" serve >"$WORK/node$i.log" 2>&1 &
        node_pids+=($!)
        PIDS+=($!)
        urls+=(--url "http://127.0.0.1:$port")
    done
    for i in $(seq 1 "$nodes"); do
        port=$((18600 + i))
        for _ in $(seq 1 100); do
            ip netns exec "$NS" curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break
            sleep 0.2
        done
    done
    ip netns exec "$NS" "$BENCH" "${urls[@]}" --pairs "$PAIRS" --window "$WINDOW" --seconds "$SECONDS_PER_RUN"
    kill "${node_pids[@]}" 2>/dev/null || true
    wait "${node_pids[@]}" 2>/dev/null || true
    psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE $db WITH (FORCE)"
done

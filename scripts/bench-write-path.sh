#!/usr/bin/env bash
# Durable messages per second through 1 node and through 3 nodes on one
# PostgreSQL database, where the database round trip dominates: every node
# reaches PostgreSQL through qiao-delay-proxy, which holds each chunk for
# DELAY_US in each direction (this machine's kernel has no netem qdisc, so
# the latency is added in user space; tokio's timer rounds each hold up to
# the next millisecond tick, so the default of 1 µs gives a round trip of
# about 2.3 ms, which the script measures and prints).
#
#   scripts/bench-write-path.sh [target dir]     (default target/release)
#
# Needs PostgreSQL on 127.0.0.1:5432 with trust auth for `postgres`, and
# nats-server. Env: DELAY_US (1), SECONDS_PER_RUN (15), PAIRS (128),
# WINDOW (64), NODES ("1 3"), QIAO_BIN (the qiao binary, default
# $BIN/qiao: point it at an older build to compare), WHAT ("messages",
# "transfers": in-chat transfers of one cent, each a ledger movement
# into escrow and a chat message, or "top-ups": wallet top-ups of one cent
# from a sandbox card, each a reservation, the bank's answer and a posting).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${1:-target/release}
QIAO_BIN=${QIAO_BIN:-$BIN/qiao}
DELAY_US=${DELAY_US:-1}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-15}
PAIRS=${PAIRS:-128}
WINDOW=${WINDOW:-64}
NODES=${NODES:-"1 3"}
WHAT=${WHAT:-messages}
PROXY_PORT=15432
NATS_PORT=14222
WORK=$(mktemp -d)
PIDS=()

cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

"$BIN/qiao-delay-proxy" --listen "127.0.0.1:$PROXY_PORT" --to 127.0.0.1:5432 --delay-us "$DELAY_US" &
PIDS+=($!)
nats-server -a 127.0.0.1 -p "$NATS_PORT" >"$WORK/nats.log" 2>&1 &
PIDS+=($!)
sleep 0.5

round_trip() {
    printf '\\timing on\n%s\n' "$(for _ in $(seq 1 200); do echo 'SELECT 1;'; done)" \
        | psql -h 127.0.0.1 -p "$1" -U postgres -qAt | awk '/^Time:/ {print $2}' | sort -n | sed -n 100p
}
echo "round trip to PostgreSQL, SELECT 1, median of 200: direct $(round_trip 5432) ms, through the proxy $(round_trip "$PROXY_PORT") ms"

for nodes in $NODES; do
    db="qiao_write_bench_$$_$nodes"
    psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $db"
    urls=()
    node_pids=()
    for i in $(seq 1 "$nodes"); do
        port=$((18600 + i))
        mkdir -p "$WORK/node$i"
        env QIAO_LISTEN="127.0.0.1:$port" \
            QIAO_DATA_DIR="$WORK/node$i" \
            QIAO_DATABASE="postgres://postgres@127.0.0.1:$PROXY_PORT/$db" \
            QIAO_NATS_URL="nats://127.0.0.1:$NATS_PORT" \
            QIAO_ARGON2_MEMORY_KIB=1024 QIAO_ARGON2_ITERATIONS=1 \
            QIAO_PUBLIC_PER_ADDRESS_PER_MINUTE=1000000 QIAO_LOGIN_PER_ADDRESS_PER_MINUTE=1000000 \
            QIAO_MESSAGES_PER_USER_PER_SECOND=1000000 QIAO_MESSAGE_BURST_PER_USER=1000000 \
            RUST_LOG=warn \
            "$QIAO_BIN" serve >"$WORK/node$i.log" 2>&1 &
        node_pids+=($!)
        PIDS+=($!)
        urls+=(--url "http://127.0.0.1:$port")
    done
    for i in $(seq 1 "$nodes"); do
        port=$((18600 + i))
        for _ in $(seq 1 150); do
            curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break
            sleep 0.2
        done
    done
    mode=()
    if [ "$WHAT" = transfers ]; then mode=(--payments --outbox "$WORK/node1/outbox.jsonl"); fi
    if [ "$WHAT" = top-ups ]; then mode=(--top-ups --outbox "$WORK/node1/outbox.jsonl"); fi
    "$BIN/qiao-write-bench" "${urls[@]}" --pairs "$PAIRS" --window "$WINDOW" --seconds "$SECONDS_PER_RUN" "${mode[@]}" \
        || { tail -n 20 "$WORK"/node*.log; ls -la "$WORK/node1"; head -n 3 "$WORK/node1/outbox.jsonl"; exit 1; }
    kill "${node_pids[@]}" 2>/dev/null || true
    wait "${node_pids[@]}" 2>/dev/null || true
    psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE $db WITH (FORCE)"
done

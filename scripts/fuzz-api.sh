#!/usr/bin/env bash
# Schema-driven fuzzing of the HTTP API with schemathesis: every operation in
# /api/openapi.json gets generated requests, signed in as a fresh user, and
# the run fails on any 5xx answer or any answer that does not match the
# schema. Starts its own server on SQLite in a temporary directory. Signing
# out and ending sessions are left out (they would end the run's own
# session), and so is the WebSocket upgrade.
#
#   scripts/fuzz-api.sh [qiao binary]      (default target/debug/qiao)
#
# Env: EXAMPLES (examples per operation, 15), SCHEMATHESIS (the command).
set -euo pipefail
cd "$(dirname "$0")/.."

QIAO=${1:-target/debug/qiao}
EXAMPLES=${EXAMPLES:-15}
SCHEMATHESIS=${SCHEMATHESIS:-schemathesis}
PORT=$((20000 + RANDOM % 10000))
WORK=$(mktemp -d)
trap 'kill $SERVER 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT

QIAO_LISTEN="127.0.0.1:$PORT" QIAO_DATA_DIR="$WORK/data" \
    QIAO_ARGON2_MEMORY_KIB=1024 QIAO_ARGON2_ITERATIONS=1 \
    QIAO_PUBLIC_PER_ADDRESS_PER_MINUTE=1000000 QIAO_LOGIN_PER_ADDRESS_PER_MINUTE=1000000 \
    QIAO_MESSAGES_PER_USER_PER_SECOND=1000000 QIAO_MESSAGE_BURST_PER_USER=1000000 \
    RUST_LOG=warn "$QIAO" serve >"$WORK/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 100); do
    curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null && break
    sleep 0.1
done

TOKEN=$(curl -fs "http://127.0.0.1:$PORT/api/auth/register" -H 'content-type: application/json' \
    -d '{"email":"fuzz@example.com","password":"fuzz-password-1","display_name":"Fuzz","region":"US","language":"en-US"}' \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')

fuzz() {
    "$SCHEMATHESIS" run "http://127.0.0.1:$PORT/api/openapi.json" \
        --checks not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance \
        --header "Authorization: Bearer $TOKEN" \
        --max-examples "$EXAMPLES" --workers 2 --request-timeout 30 \
        --exclude-path-regex '^/api/(ws|auth/logout|sessions/.*)$' \
        2>&1 | tee "$WORK/fuzz.log"
    return "${PIPESTATUS[0]}"
}
status=0
fuzz || status=$?
# CPython 3.11's ast.parse sometimes fails its own recursion-depth check
# ("AST constructor recursion depth mismatch") when hypothesis describes a
# lambda: an error inside the fuzzer, not a finding about the API. Only
# then, and only when no check failed, the run is made once more, and that
# run must pass on its own.
if [ "$status" -ne 0 ] && grep -q "AST constructor recursion depth mismatch" "$WORK/fuzz.log" \
    && ! grep -q "FAILURES" "$WORK/fuzz.log"; then
    echo "schemathesis hit the CPython ast.parse bug in its own code; running it once more"
    status=0
    fuzz || status=$?
fi
if grep -q "panicked" "$WORK/server.log"; then
    echo "the server panicked:"; grep -A5 panicked "$WORK/server.log"; status=1
fi
exit $status

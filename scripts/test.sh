#!/usr/bin/env bash
# The whole test suite, as the README says: formatting, lints, unit, property,
# store-conformance and integration tests on SQLite and PostgreSQL, the browser
# tests in real headless Chromium, and a smoke run of the chat benchmark.
# Installs what it needs when it is missing; needs PostgreSQL on 127.0.0.1:5432.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "PostgreSQL on 127.0.0.1:5432"
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
    for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi
pg_isready -h 127.0.0.1 -p 5432

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

step "cargo test (unit, property, conformance, integration)"
cargo test --workspace

step "browser tests (headless Chromium)"
cargo build -p qiao
QIAO_BIN="$PWD/target/debug/qiao" web/tests/run.sh

step "API fuzzing from the OpenAPI document (schemathesis: no 5xx, answers match the schema)"
scripts/fuzz-api.sh "$PWD/target/debug/qiao"

if [ -f crates/bench/src/main.rs ] && grep -q -- "--smoke\|smoke" crates/bench/src/*.rs 2>/dev/null; then
    step "chat benchmark smoke run"
    cargo run -q -p qiao-bench -- --smoke --server-bin "$PWD/target/debug/qiao"
fi

step "ledger benchmark smoke run (both engines; ends with a reconcile that must pass)"
cargo run -q -p qiao-ledger-bench -- --accounts 200 --seconds 1 --in-flight 64

step "red-packet benchmark smoke run (both engines; every share to exactly one member, then a reconcile)"
cargo run -q -p qiao-red-packet-bench -- --members 50 --packets 2

step "merchant benchmark smoke run (both engines; every payment charged once and notified, then a reconcile)"
cargo run -q -p qiao-merchant-bench -- --users 200 --merchants 5 --clients 8 --seconds 1

printf '\nall tests passed\n'

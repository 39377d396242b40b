#!/usr/bin/env bash
# Browser tests of the web client: real qiao server + headless Chromium.
# Assumes the server binary is built (QIAO_BIN, default ../target/debug/qiao
# relative to web/). Works unattended (CI=true, no stdin).
set -euo pipefail

WEB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$WEB_DIR"

export DEBIAN_FRONTEND=noninteractive

apt_install() {
  local sudo=()
  if [ "$(id -u)" != 0 ]; then sudo=(sudo -n); fi
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq "$@" </dev/null
}

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
# A CJK font, so Chinese renders in screenshots (tests pass without it).
if ! fc-list :lang=zh 2>/dev/null | grep -q .; then missing+=(fonts-wqy-microhei); fi
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing: ${missing[*]}"
  apt_install "${missing[@]}"
fi

if [ -f package-lock.json ]; then
  npm ci --no-audit --no-fund </dev/null
else
  npm install --no-audit --no-fund </dev/null
fi

QIAO_BIN="${QIAO_BIN:-../target/debug/qiao}"
if [ ! -x "$QIAO_BIN" ]; then
  echo "qiao binary not found at $QIAO_BIN (build it with: cargo build -p qiao)" >&2
  exit 1
fi
export QIAO_BIN

node --test tests/

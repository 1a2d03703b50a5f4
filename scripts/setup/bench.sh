#!/usr/bin/env bash
# wrk (Debian) for the benchmark harness in bench/ and its smoke test (idempotent).
set -euo pipefail
if command -v wrk >/dev/null; then
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt_get() { apt-get -o DPkg::Lock::Timeout=600 -qq "$@"; }
apt_get update
apt_get install --no-install-recommends wrk >/dev/null
wrk --version 2>&1 | head -1 || true

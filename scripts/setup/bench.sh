#!/usr/bin/env bash
# wrk (Debian) for the benchmark harness in bench/ and its smoke test (idempotent).
set -euo pipefail
if command -v wrk >/dev/null; then
  exit 0
fi
source "$(dirname "$0")/../lib/apt.sh"
apt_install wrk
wrk --version 2>&1 | head -1 || true

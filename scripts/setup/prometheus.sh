#!/usr/bin/env bash
# Prometheus server and promtool from Debian, for the metrics tests (idempotent).
# The package's service is not started: tests run their own server on a free port.
set -euo pipefail
if command -v prometheus >/dev/null && command -v promtool >/dev/null; then
  exit 0
fi
source "$(dirname "$0")/../lib/apt.sh"
apt_install prometheus
promtool --version | head -1

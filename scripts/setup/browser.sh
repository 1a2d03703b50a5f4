#!/usr/bin/env bash
# Headless Chromium + its WebDriver from Debian, for the Swagger UI browser test (idempotent).
set -euo pipefail
if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt_get() { apt-get -o DPkg::Lock::Timeout=600 -qq "$@"; }
apt_get update
apt_get install --no-install-recommends chromium chromium-driver fonts-liberation >/dev/null
chromium --version

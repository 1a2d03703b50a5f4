#!/usr/bin/env bash
# Headless Chromium + its WebDriver from Debian, for the Swagger UI browser test (idempotent).
set -euo pipefail
if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
  exit 0
fi
source "$(dirname "$0")/../lib/apt.sh"
apt_install chromium chromium-driver fonts-liberation
chromium --version

#!/usr/bin/env bash
# Prometheus server and promtool from Debian, for the metrics tests (idempotent).
# The package's service is not started: tests run their own server on a free port.
set -euo pipefail
if command -v prometheus >/dev/null && command -v promtool >/dev/null; then
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt_get() { apt-get -o DPkg::Lock::Timeout=600 -qq "$@"; }
policy=/usr/sbin/policy-rc.d
added_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && added_policy=1
fi
trap 'if [ "$added_policy" = 1 ]; then rm -f "$policy"; fi' EXIT
apt_get update
apt_get install --no-install-recommends prometheus >/dev/null
promtool --version | head -1

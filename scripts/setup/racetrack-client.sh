#!/usr/bin/env bash
# Racetrack's real client (racetrack-client 2.35.1 from PyPI) in its own venv, for the control plane's
# compatibility tests (tests/server find it at $RACETRACK_CLIENT_VENV, default /opt/racetrack-client-venv). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=${RACETRACK_CLIENT_VENV:-/opt/racetrack-client-venv}
if ! "$venv/bin/racetrack" --help >/dev/null 2>&1 ||
   ! "$venv/bin/pip" show racetrack-client 2>/dev/null | grep -qx 'Version: 2.35.1'; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q 'racetrack-client==2.35.1'
fi
echo "racetrack-client $("$venv/bin/pip" show racetrack-client | sed -n 's/^Version: //p') in $venv"

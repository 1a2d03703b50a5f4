#!/usr/bin/env bash
# Docker engine for the docker tests (idempotent, fast when done): installs Debian's docker.io and starts
# dockerd when no engine answers, then builds racetrack's Debian-based Python image when it is missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
log=/var/log/racetrack-dockerd.log

engine_up() { docker info >/dev/null 2>&1; }

if ! engine_up; then
  if ! command -v dockerd >/dev/null || ! command -v debootstrap >/dev/null; then
    source scripts/lib/apt.sh
    apt_install docker.io debootstrap
  fi
  # No iptables here (containers that need the network use host networking); docker-proxy still
  # publishes ports on 127.0.0.1.
  nohup dockerd --iptables=false >"$log" 2>&1 &
  for _ in $(seq 60); do
    engine_up && break
    sleep 1
  done
  engine_up || { echo "dockerd did not come up; see $log" >&2; tail -20 "$log" >&2; exit 1; }
fi
echo "docker engine $(docker version --format '{{.Server.Version}}')"

# Docker Hub may be unreachable: build the Python base image from Debian packages unless one is configured.
.venv/bin/racetrack images bootstrap --if-missing

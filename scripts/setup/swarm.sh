#!/usr/bin/env bash
# Swarm for the swarm target's tests (runs after docker.sh, which starts the engine): make this engine a
# single-node swarm manager unless it already is one. Idempotent. Without iptables the routing mesh and
# service VIPs do not work; the swarm target needs neither (tasks publish host-mode ports).
set -euo pipefail
state=$(docker info --format '{{.Swarm.LocalNodeState}}')
if [ "$state" != "active" ]; then
  docker swarm init --advertise-addr 127.0.0.1 >/dev/null
fi
echo "swarm: $(docker info --format '{{.Swarm.LocalNodeState}}, manager={{.Swarm.ControlAvailable}}')"

#!/usr/bin/env bash
# PostgreSQL for the control plane's database tests (idempotent): installs Debian's postgresql, starts a
# cluster, and creates the role `racetrack` (password `racetrack`) that may create databases. The tests read
# RACETRACK_TEST_POSTGRES_URL (default postgresql://racetrack:racetrack@127.0.0.1:5432/postgres).
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v pg_ctlcluster >/dev/null || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  source scripts/lib/apt.sh
  apt_install postgresql
fi
version=$(ls /usr/lib/postgresql | sort -V | tail -1)
if ! pg_lsclusters -h | grep -q .; then
  pg_createcluster "$version" main >/dev/null
fi
cluster=$(pg_lsclusters -h | head -1)
read -r cver cname _port status _ <<<"$cluster"
if [ "$status" != "online" ]; then
  pg_ctlcluster "$cver" "$cname" start
fi
for _ in $(seq 30); do
  su postgres -c "psql -qtAc 'select 1'" >/dev/null 2>&1 && break
  sleep 1
done
su postgres -c "psql -qtAc \"select 1 from pg_roles where rolname='racetrack'\"" | grep -q 1 ||
  su postgres -c "psql -qc \"create role racetrack login createdb password 'racetrack'\""
echo "postgresql $cver/$cname online"

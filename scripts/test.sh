#!/usr/bin/env bash
# Runs the whole test suite from a fresh clone (this is what CI runs).
#
#   scripts/test.sh                      # everything
#   scripts/test.sh packages/core        # extra args go to `vitest run`
#
# Bootstrap: npm ci when needed, PostgreSQL and Redis reachable, a 3-master
# Redis Cluster (see scripts/lib.sh), docker-compose for the compose-file check, then build.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

ensure_node_deps
ensure_postgres
ensure_redis
# The Redis Cluster tests (packages/queue/test/redis-cluster.test.ts,
# e2e/redis-cluster.test.ts) run on a 3-master cluster of Debian's redis-server
# on ports of their own; one this script starts is stopped when it ends.
ensure_redis_cluster
trap stop_redis_cluster EXIT
# e2e/compose.test.ts validates docker-compose.yml with docker-compose (v1,
# Debian package); no Docker engine is needed for that.
ensure_apt_package docker-compose docker-compose ||
  warn "docker-compose is missing: e2e/compose.test.ts will fail"
# e2e/studio.test.ts drives Debian's Chromium with playwright-core (which never
# downloads a browser of its own).
ensure_apt_package chromium chromium ||
  warn "chromium is missing: e2e/studio.test.ts will fail"

# packages/db and e2e/pgbouncer.test.ts put Debian's PgBouncer (transaction
# pooling) in front of PostgreSQL; the tests start their own on a free port.
ensure_apt_package pgbouncer pgbouncer ||
  warn "pgbouncer is missing: the PgBouncer tests will fail"

log "building (npm run build)"
npm run --silent build
log "type-checking the tests (tsconfig.tests.json)"
npx --no-install tsc -p tsconfig.tests.json

log "running tests (vitest run $*)"
# Not exec: the EXIT trap stops the Redis Cluster afterwards.
npx --no-install vitest run "$@"
